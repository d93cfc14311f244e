#!/usr/bin/env bash
# Start each service that has a folder under services/ as its own background process, on
# 127.0.0.1 at the port from the table in common.sh and with the environment from stack.env,
# then wait until every one returns 200 to GET /readyz.
# Logs: .stack/logs/<service>.log. Pids: .stack/pids/<service>.pid.
# A service still running from an earlier run is kept, not restarted; down.sh stops them all.
# Start the servers first (infra-up.sh), because a service is ready only once it reaches them.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=stack.env
source "$LOCAL_DIR/stack.env"

# Seconds all the services together get to become ready.
READY_TIMEOUT=60

# Start one service unless it is already running. Prints the reason and returns 1 if it cannot.
start_service() {
    local name=$1
    local port=${SERVICE_PORTS[$name]}
    local command="$VENV_BIN/mga-$name"
    local pid

    pid=$(running_pid "$name")
    if [[ -n $pid ]]; then
        log "$name: already running (pid $pid) on port $port"
        return 0
    fi
    if [[ ! -x $command ]]; then
        printf 'error: %s: %s is missing; run make install (a new service also needs uv lock)\n' \
            "$name" "$command" >&2
        return 1
    fi
    if probe tcp 127.0.0.1 "$port"; then
        printf 'error: %s: port %s on 127.0.0.1 is already used by another program (see: ss -ltnp)\n' \
            "$name" "$port" >&2
        return 1
    fi

    log "$name: starting on http://127.0.0.1:$port"
    # MGA_HTTP_PORT is set here, not in stack.env, because every service needs its own port.
    start_background "$name" "$LOG_DIR/$name.log" env MGA_HTTP_PORT="$port" "$command"
}

# Wait until one service is ready or the shared deadline passes. Prints the reason and
# returns 1 if it does not become ready.
wait_for_service() {
    local name=$1 deadline=$2
    local port=${SERVICE_PORTS[$name]}
    local log_file="$LOG_DIR/$name.log"
    local remaining=$((deadline - SECONDS))
    local status=0

    ((remaining > 0)) || remaining=1
    wait_until_ready "$name" "$remaining" probe http "http://127.0.0.1:$port/readyz" || status=$?
    case $status in
        0)
            log "$name: ready"
            return 0
            ;;
        2) printf 'error: %s exited before it was ready\n' "$name" >&2 ;;
        *) printf 'error: %s did not return 200 to GET http://127.0.0.1:%s/readyz within %s s\n' \
            "$name" "$port" "$READY_TIMEOUT" >&2 ;;
    esac
    show_log_tail "$log_file"
    return 1
}

main() {
    [[ -x $VENV_PYTHON ]] || die "$VENV_PYTHON is missing; run 'make install'"
    mkdir -p "$LOG_DIR" "$PID_DIR"

    local name
    local present=()
    for name in "${SERVICE_NAMES[@]}"; do
        if [[ -d $REPO_ROOT/services/$name ]]; then
            present+=("$name")
        fi
    done
    if ((${#present[@]} == 0)); then
        log "No service folders under services/; nothing to start"
        return 0
    fi

    local started=()
    local failed=()
    for name in "${present[@]}"; do
        if start_service "$name"; then
            started+=("$name")
        else
            failed+=("$name")
        fi
    done

    local deadline=$((SECONDS + READY_TIMEOUT))
    for name in "${started[@]}"; do
        wait_for_service "$name" "$deadline" || failed+=("$name")
    done

    if ((${#failed[@]} > 0)); then
        die "not ready: ${failed[*]}; logs are in $LOG_DIR"
    fi
}

main "$@"

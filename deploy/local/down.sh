#!/usr/bin/env bash
# Stop what infra-up.sh and services-up.sh started: the services, the SMTP catcher, FerretDB or
# mongod, and RabbitMQ. Servers that were already running before the stack reused them are
# left alone. Each process gets SIGTERM, then SIGKILL if it is still running after a timeout.
# Processes that are already gone are skipped. Data in .stack/ is kept.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

# Seconds before SIGKILL. The services' uvicorn gives in-flight requests 20 s to finish.
SERVICE_STOP_TIMEOUT=30
SERVER_STOP_TIMEOUT=30
RABBITMQ_STOP_TIMEOUT=60

stop_services() {
    local index name
    for ((index = ${#SERVICE_NAMES[@]} - 1; index >= 0; index--)); do
        name=${SERVICE_NAMES[index]}
        stop_process "$name" "mga-$name" "$SERVICE_STOP_TIMEOUT"
    done
}

# RabbitMQ runs as the rabbitmq user and has no pid file here, so its OS pid is read from the
# node before `rabbitmqctl stop`, and that pid gets SIGKILL if the node does not stop in time.
# The epmd port mapper that the node started is stopped too, unless other Erlang nodes are
# still registered with it.
stop_rabbitmq() {
    local marker="$PID_DIR/rabbitmq.started"
    [[ -f $marker ]] || return 0

    local stop_log="$LOG_DIR/rabbitmq-stop.log"
    local pid
    if ! pid=$(rabbitmqctl eval 'list_to_integer(os:getpid()).' 2>>"$stop_log") ||
        [[ ! $pid =~ ^[0-9]+$ ]]; then
        log "RabbitMQ: already stopped"
        rm -f -- "$marker"
        return 0
    fi

    log "RabbitMQ: stopping (pid $pid)"
    timeout "$RABBITMQ_STOP_TIMEOUT" rabbitmqctl stop --idempotent >>"$stop_log" 2>&1 ||
        log "RabbitMQ: rabbitmqctl stop failed; see $stop_log"

    local deadline=$((SECONDS + RABBITMQ_STOP_TIMEOUT))
    while is_running "$pid"; do
        if ((SECONDS >= deadline)); then
            log "RabbitMQ: still running after ${RABBITMQ_STOP_TIMEOUT} s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    rm -f -- "$marker"

    local epmd_names
    if ! epmd_names=$(epmd -names 2>/dev/null); then
        return 0
    fi
    if grep -q '^name ' <<<"$epmd_names"; then
        log "epmd: left running because other Erlang nodes are registered"
    elif epmd -kill >>"$stop_log" 2>&1; then
        log "epmd: stopped"
    else
        log "epmd: epmd -kill failed; see $stop_log"
    fi
}

main() {
    if [[ ! -d $PID_DIR ]]; then
        log "Nothing to stop: $PID_DIR does not exist"
        return 0
    fi
    mkdir -p "$LOG_DIR"

    stop_services
    stop_process smtp-catcher smtp_catcher.py "$SERVER_STOP_TIMEOUT"
    stop_process ferretdb ferretdb "$SERVER_STOP_TIMEOUT"
    stop_process mongod mongod "$SERVER_STOP_TIMEOUT"
    stop_rabbitmq
    log "Stopped everything this stack started"
}

main "$@"

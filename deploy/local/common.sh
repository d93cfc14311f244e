# Paths, the service table and helpers shared by the local-stack scripts.
# Source this file from a bash script; it does nothing when run on its own.
# shellcheck shell=bash
# The variables below are used by the scripts that source this file.
# shellcheck disable=SC2034

REPO_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="$REPO_ROOT/deploy/local"
STACK_DIR="$REPO_ROOT/.stack"
LOG_DIR="$STACK_DIR/logs"
PID_DIR="$STACK_DIR/pids"
MAIL_DIR="$STACK_DIR/mail"
VENV_BIN="$REPO_ROOT/.venv/bin"
VENV_PYTHON="$VENV_BIN/python"

# Local servers, all bound to 127.0.0.1. stack.env points the services at these ports.
RABBITMQ_PORT=5672
RABBITMQ_DIST_PORT=25672
MONGODB_PORT=27017
SMTP_PORT=1025

# rabbitmq-server and rabbitmqctl are in /usr/sbin, which is not on PATH for every user, and
# the Go tarball installs into /usr/local/go/bin.
for extra_path in /usr/sbin /sbin /usr/local/go/bin; do
    if [[ -d $extra_path && ":$PATH:" != *":$extra_path:"* ]]; then
        PATH="$PATH:$extra_path"
    fi
done
unset extra_path

FERRETDB_VERSION=v1.24.2
FERRETDB_BIN="$STACK_DIR/bin/ferretdb"

# Service folder under services/ and its HTTP port, in start order. A service runs as
# $VENV_BIN/mga-<folder>.
SERVICE_NAMES=(gateway invitation mailer simulation scoring webhook-dispatcher)
declare -A SERVICE_PORTS=(
    [gateway]=8080
    [invitation]=8081
    [mailer]=8082
    [simulation]=8083
    [scoring]=8084
    [webhook-dispatcher]=8085
)

log() {
    printf '%s\n' "$*"
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Print to stderr, indented, the last 20 lines of LOG_FILE, counting only from the last
# "=== <time>: starting" line that start_background writes, so an earlier run's output is left out.
show_log_tail() {
    local log_file=$1
    if [[ ! -s $log_file ]]; then
        printf '  %s is empty or missing\n' "$log_file" >&2
        return
    fi
    printf '  last lines of %s:\n' "$log_file" >&2
    awk -v max=20 '
        /^=== .*: starting / { count = 0 }
        { count++; ring[count % max] = $0 }
        END {
            first = count > max ? count - max + 1 : 1
            for (i = first; i <= count; i++) print "    " ring[i % max]
        }
    ' "$log_file" >&2
}

# Run deploy/local/probe.py with the project's Python. It succeeds when the server responds.
probe() {
    "$VENV_PYTHON" "$LOCAL_DIR/probe.py" "$@" >/dev/null 2>&1
}

# Succeed if process PID exists. A zombie (exited, not yet reaped by its parent) counts as gone.
is_running() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n $state && $state != Z* ]]
}

# Print the pid stored in the pid file NAME.pid, or nothing if that process is not running.
running_pid() {
    local pid_file="$PID_DIR/$1.pid"
    local pid
    [[ -s $pid_file ]] || return 0
    pid=$(<"$pid_file")
    if [[ $pid =~ ^[0-9]+$ ]] && is_running "$pid"; then
        printf '%s\n' "$pid"
    fi
}

# wait_until_ready NAME TIMEOUT_SECONDS CHECK...
# Run CHECK every half second until it succeeds. Returns 0 when it does, 1 on timeout and
# 2 as soon as the process in NAME.pid has exited. NAME may be empty when there is no pid file.
wait_until_ready() {
    local name=$1 timeout=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    while true; do
        if "$@"; then
            return 0
        fi
        if [[ -n $name && -z $(running_pid "$name") ]]; then
            return 2
        fi
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
}

# start_background NAME LOG_FILE COMMAND...
# Start COMMAND in its own session, detached from the terminal, appending its output to
# LOG_FILE and storing its pid in NAME.pid. setsid execs in place here (the background
# subshell is not a process group leader), so $! is the pid of COMMAND itself.
start_background() {
    local name=$1 log_file=$2
    shift 2
    mkdir -p "$PID_DIR" "$(dirname -- "$log_file")"
    printf '\n=== %s: starting %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" >>"$log_file"
    setsid "$@" >>"$log_file" 2>&1 </dev/null &
    printf '%s\n' "$!" >"$PID_DIR/$name.pid"
}

# stop_process NAME EXPECTED_COMMAND TIMEOUT_SECONDS
# Stop the process in NAME.pid: SIGTERM, then SIGKILL if it is still running after the timeout.
# The process is signalled only if its command line contains EXPECTED_COMMAND, so a pid that
# the system has reused for another program is left alone. A process that leads its own
# process group (everything start_background starts) is stopped together with its children.
stop_process() {
    local name=$1 expected=$2 timeout=$3
    local pid_file="$PID_DIR/$name.pid"
    local pid target command_line

    [[ -f $pid_file ]] || return 0
    pid=$(running_pid "$name")
    if [[ -z $pid ]]; then
        log "$name: already stopped"
        rm -f -- "$pid_file"
        return 0
    fi

    command_line=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    if [[ $command_line != *"$expected"* ]]; then
        log "$name: pid $pid now belongs to another program ($command_line); not stopping it"
        rm -f -- "$pid_file"
        return 0
    fi

    target=$pid
    if [[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]]; then
        target="-$pid"
    fi

    log "$name: stopping (pid $pid)"
    kill -TERM -- "$target" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while is_running "$pid"; do
        if ((SECONDS >= deadline)); then
            log "$name: still running after ${timeout} s; sending SIGKILL"
            kill -KILL -- "$target" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    rm -f -- "$pid_file"
}

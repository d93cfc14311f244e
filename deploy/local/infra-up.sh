#!/usr/bin/env bash
# Start the servers that the services and the tests need, all bound to 127.0.0.1.
# RabbitMQ listens on port 5672, the SMTP catcher on 1025 and a MongoDB-compatible server on
# 27017: mongod when it is on PATH, otherwise FerretDB with its SQLite backend.
# A server that already responds on its port is reused, wherever it came from.
# Run deploy/local/install.sh first. down.sh stops what this script started.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

LOCAL_AMQP_URL="amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/"
LOCAL_MONGODB_URL="mongodb://127.0.0.1:$MONGODB_PORT"

# Seconds each server gets to respond after it is started. RabbitMQ gets the longest because it
# starts an Erlang VM, and the first start of a node also creates the node's database.
RABBITMQ_START_TIMEOUT=120
DATABASE_START_TIMEOUT=60
SMTP_START_TIMEOUT=20

# Exit with an error if PORT is taken by a program that failed the protocol check.
require_free_port() {
    local port=$1 what=$2
    if probe tcp 127.0.0.1 "$port"; then
        die "127.0.0.1:$port accepts connections but does not respond as $what; stop the program that listens there (see: ss -ltnp 'sport = :$port'), then run this script again"
    fi
}

start_rabbitmq() {
    if probe amqp "$LOCAL_AMQP_URL"; then
        log "RabbitMQ: already running on 127.0.0.1:$RABBITMQ_PORT; reusing it"
        return
    fi
    command -v rabbitmq-server >/dev/null || die "rabbitmq-server is not installed; run 'make install'"
    require_free_port "$RABBITMQ_PORT" "RabbitMQ (AMQP login guest/guest)"

    # RabbitMQ writes its own log in /var/log/rabbitmq; this file gets what the start command prints.
    local start_log="$LOG_DIR/rabbitmq-start.log"
    log "RabbitMQ: starting on 127.0.0.1:$RABBITMQ_PORT"
    printf '\n=== %s: rabbitmq-server -detached\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$start_log"
    # AMQP, Erlang distribution and the epmd port mapper all listen on loopback only.
    if ! RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$RABBITMQ_PORT" \
        ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT" \
        RABBITMQ_SERVER_START_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
        rabbitmq-server -detached >>"$start_log" 2>&1; then
        show_log_tail "$start_log"
        die "rabbitmq-server -detached failed"
    fi
    # Marks the node as started by this stack, so that down.sh stops it and only it.
    touch "$PID_DIR/rabbitmq.started"

    if ! wait_until_ready "" "$RABBITMQ_START_TIMEOUT" probe amqp "$LOCAL_AMQP_URL"; then
        show_log_tail "$start_log"
        die "RabbitMQ did not accept an AMQP login on 127.0.0.1:$RABBITMQ_PORT within $RABBITMQ_START_TIMEOUT s; its log is in /var/log/rabbitmq/"
    fi
    log "RabbitMQ: ready"
}

start_mongod() {
    local log_file="$LOG_DIR/mongod.log"
    log "MongoDB: starting $(command -v mongod) on 127.0.0.1:$MONGODB_PORT"
    mkdir -p "$STACK_DIR/mongodb"
    # --fork returns once mongod listens, and mongod writes its own pid file.
    if ! mongod --bind_ip 127.0.0.1 --port "$MONGODB_PORT" --dbpath "$STACK_DIR/mongodb" \
        --fork --logpath "$log_file" --logappend --pidfilepath "$PID_DIR/mongod.pid" >/dev/null; then
        show_log_tail "$log_file"
        die "mongod failed to start"
    fi
    wait_for_database mongod "$log_file"
}

start_ferretdb() {
    local log_file="$LOG_DIR/ferretdb.log"
    local data_dir="$STACK_DIR/ferretdb"
    [[ -x $FERRETDB_BIN ]] || die "$FERRETDB_BIN is missing; run 'make install'"

    log "FerretDB: starting on 127.0.0.1:$MONGODB_PORT (SQLite data in ${data_dir#"$REPO_ROOT"/})"
    mkdir -p "$data_dir"
    start_background ferretdb "$log_file" "$FERRETDB_BIN" \
        --handler=sqlite \
        --sqlite-url="file:$data_dir/" \
        --state-dir="$data_dir" \
        --listen-addr="127.0.0.1:$MONGODB_PORT" \
        --debug-addr=- \
        --telemetry=disable \
        --log-level=WARN
    wait_for_database ferretdb "$log_file"
}

wait_for_database() {
    local name=$1 log_file=$2
    local status=0
    wait_until_ready "$name" "$DATABASE_START_TIMEOUT" probe mongodb "$LOCAL_MONGODB_URL" || status=$?
    case $status in
        0) log "$name: ready" ;;
        2)
            show_log_tail "$log_file"
            die "$name exited during startup; its log is $log_file"
            ;;
        *)
            show_log_tail "$log_file"
            die "$name did not respond to ping on 127.0.0.1:$MONGODB_PORT within $DATABASE_START_TIMEOUT s; its log is $log_file"
            ;;
    esac
}

start_database() {
    if probe mongodb "$LOCAL_MONGODB_URL"; then
        log "Database: a MongoDB-compatible server is already running on 127.0.0.1:$MONGODB_PORT; reusing it"
        return
    fi
    # A server that this stack started earlier may still be starting up.
    if [[ -n $(running_pid mongod) ]]; then
        wait_for_database mongod "$LOG_DIR/mongod.log"
        return
    fi
    if [[ -n $(running_pid ferretdb) ]]; then
        wait_for_database ferretdb "$LOG_DIR/ferretdb.log"
        return
    fi

    require_free_port "$MONGODB_PORT" "a MongoDB-compatible server"
    if command -v mongod >/dev/null; then
        start_mongod
    else
        start_ferretdb
    fi
}

start_smtp_catcher() {
    local log_file="$LOG_DIR/smtp-catcher.log"
    if probe smtp 127.0.0.1 "$SMTP_PORT"; then
        log "SMTP catcher: an SMTP server is already running on 127.0.0.1:$SMTP_PORT; reusing it"
        return
    fi
    if [[ -z $(running_pid smtp-catcher) ]]; then
        require_free_port "$SMTP_PORT" "an SMTP server"
        log "SMTP catcher: starting on 127.0.0.1:$SMTP_PORT (messages in ${MAIL_DIR#"$REPO_ROOT"/})"
        start_background smtp-catcher "$log_file" "$VENV_PYTHON" "$LOCAL_DIR/smtp_catcher.py" \
            --host 127.0.0.1 --port "$SMTP_PORT" --maildir "$MAIL_DIR"
    fi

    local status=0
    wait_until_ready smtp-catcher "$SMTP_START_TIMEOUT" probe smtp 127.0.0.1 "$SMTP_PORT" || status=$?
    case $status in
        0) log "SMTP catcher: ready" ;;
        2)
            show_log_tail "$log_file"
            die "the SMTP catcher exited during startup; its log is $log_file"
            ;;
        *)
            show_log_tail "$log_file"
            die "the SMTP catcher did not respond on 127.0.0.1:$SMTP_PORT within $SMTP_START_TIMEOUT s; its log is $log_file"
            ;;
    esac
}

main() {
    [[ -x $VENV_PYTHON ]] || die "$VENV_PYTHON is missing; run 'make install'"
    mkdir -p "$LOG_DIR" "$PID_DIR"
    start_rabbitmq
    start_database
    start_smtp_catcher
}

main "$@"

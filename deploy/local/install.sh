#!/usr/bin/env bash
# Install what the local stack needs and is missing: uv, the project's Python environment
# (.venv), RabbitMQ, and a MongoDB-compatible server (mongod when it is on PATH, otherwise
# FerretDB built from source into .stack/bin). Each step is skipped when its result is already
# in place, so running this again is cheap. Command output goes to .stack/logs/install.log.
#
# Usage: deploy/local/install.sh [--with-chromium]
#   --with-chromium   also install Debian's chromium for browser tests
#                     (MGA_INSTALL_CHROMIUM=1 does the same)
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

INSTALL_LOG="$LOG_DIR/install.log"
UV=()
APT_UPDATED=false
CLEANUP_PATHS=()

cleanup() {
    if ((${#CLEANUP_PATHS[@]} > 0)); then
        rm -rf -- "${CLEANUP_PATHS[@]}"
    fi
}
trap cleanup EXIT

# run_logged DESCRIPTION COMMAND...
# Run COMMAND with its output appended to install.log. On failure, print DESCRIPTION and the
# end of the log, then exit.
run_logged() {
    local description=$1
    shift
    printf '\n=== %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$INSTALL_LOG"
    if ! "$@" >>"$INSTALL_LOG" 2>&1; then
        printf 'error: %s failed\n' "$description" >&2
        show_log_tail "$INSTALL_LOG"
        exit 1
    fi
}

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "'$*' needs root, and sudo is not installed; run it as root, then run this script again"
    fi
}

# Install Debian packages. The package lists are updated once per run, before the first install.
# A package's init script would start its server on all interfaces, so during the install a
# policy-rc.d that exits 101 (Debian's code for "do not start daemons") stops that. infra-up.sh
# starts the servers on 127.0.0.1 instead. An existing policy-rc.d is left as it is.
apt_install() {
    local policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        CLEANUP_PATHS+=("$policy")
    fi

    if [[ $APT_UPDATED == false ]]; then
        run_logged "apt-get update" as_root apt-get update
        APT_UPDATED=true
    fi
    run_logged "apt-get install $*" \
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

install_uv() {
    if command -v uv >/dev/null; then
        UV=(uv)
        return
    fi

    log "uv: installing with pip"
    run_logged "pip install uv" python3 -m pip install --quiet uv
    # pyenv makes a shim for a new executable only on rehash.
    if command -v pyenv >/dev/null; then
        pyenv rehash
    fi
    hash -r
    if command -v uv >/dev/null; then
        UV=(uv)
    else
        # pip put the uv executable in a folder that is not on PATH, but the uv package
        # also runs as a module.
        UV=(python3 -m uv)
    fi
}

install_python_env() {
    log "Python environment: syncing .venv with uv.lock"
    (cd "$REPO_ROOT" && run_logged "uv sync" "${UV[@]}" sync --all-packages --frozen)
}

install_rabbitmq() {
    if command -v rabbitmq-server >/dev/null; then
        return
    fi
    log "RabbitMQ: installing Debian's rabbitmq-server"
    apt_install rabbitmq-server
}

ferretdb_is_current() {
    local version_output
    [[ -x $FERRETDB_BIN ]] || return 1
    # Captured first: with pipefail, `grep -q` closing the pipe early could fail the check.
    version_output=$("$FERRETDB_BIN" --version 2>/dev/null) || return 1
    grep -qx "version: $FERRETDB_VERSION" <<<"$version_output"
}

# Build FerretDB from the module source. `go install .../cmd/ferretdb@version` is not enough:
# the binary it makes panics at start because build/version/version.txt, which the FerretDB
# build normally generates from git, is empty in the module download.
build_ferretdb() {
    local module="github.com/FerretDB/FerretDB@$FERRETDB_VERSION"
    local module_json module_dir build_dir

    command -v go >/dev/null ||
        die "Go is not installed, and it is needed to build FerretDB; install Go or MongoDB's mongod, then run this script again"

    log "FerretDB: building $FERRETDB_VERSION into ${FERRETDB_BIN#"$REPO_ROOT"/} (about a minute the first time)"
    module_json=$(go mod download -json "$module" 2>>"$INSTALL_LOG") ||
        die "go mod download $module failed: $module_json"
    module_dir=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])' <<<"$module_json")

    build_dir=$(mktemp -d)
    CLEANUP_PATHS+=("$build_dir")
    cp -R "$module_dir/." "$build_dir/"
    # The module cache is read-only.
    chmod -R u+w "$build_dir"
    printf '%s\n' "$FERRETDB_VERSION" >"$build_dir/build/version/version.txt"

    mkdir -p "$(dirname -- "$FERRETDB_BIN")"
    (
        cd "$build_dir"
        run_logged "go build of FerretDB" \
            go build -buildvcs=false -o "$FERRETDB_BIN.partial" ./cmd/ferretdb
    )
    mv -f -- "$FERRETDB_BIN.partial" "$FERRETDB_BIN"

    ferretdb_is_current ||
        die "$FERRETDB_BIN was built but does not report version $FERRETDB_VERSION; see $INSTALL_LOG"
}

install_database() {
    if command -v mongod >/dev/null; then
        return
    fi
    if ferretdb_is_current; then
        return
    fi
    build_ferretdb
}

install_chromium() {
    if command -v chromium >/dev/null; then
        return
    fi
    log "Chromium: installing Debian's chromium"
    apt_install chromium
}

usage() {
    sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

main() {
    local with_chromium=${MGA_INSTALL_CHROMIUM:-0}
    while (($# > 0)); do
        case $1 in
            --with-chromium) with_chromium=1 ;;
            -h | --help)
                usage
                return 0
                ;;
            *)
                usage >&2
                die "unknown option: $1"
                ;;
        esac
        shift
    done

    mkdir -p "$LOG_DIR"
    install_uv
    install_python_env
    install_rabbitmq
    install_database
    if [[ $with_chromium == 1 ]]; then
        install_chromium
    fi
}

main "$@"

#!/usr/bin/env bash
# Follow the logs of the running local stack: every service that has a log file in .stack/logs,
# and the SMTP catcher. Stop with Ctrl-C.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

log_files=()
for name in "${SERVICE_NAMES[@]}" smtp-catcher; do
    if [[ -f $LOG_DIR/$name.log ]]; then
        log_files+=("$LOG_DIR/$name.log")
    fi
done
if ((${#log_files[@]} == 0)); then
    die "no service logs in $LOG_DIR yet; start the stack with 'make up'"
fi
exec tail -n 20 -F -- "${log_files[@]}"

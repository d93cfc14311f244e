#!/usr/bin/env bash
# Create the local developer account (once, its id kept in .stack/account.json), issue a fresh
# test API key for it with the operator CLI (mga-admin), and print how to reach the local stack.
# Run after services-up.sh. The key is printed to the terminal only, never written to a file.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=stack.env
source "$LOCAL_DIR/stack.env"

ADMIN="$VENV_BIN/mga-admin"
ACCOUNT_FILE="$STACK_DIR/account.json"
ACCOUNT_NAME="Local developer"
GATEWAY_URL="http://127.0.0.1:${SERVICE_PORTS[gateway]}"

# Print one top-level string field of the JSON object on stdin; fail if it is missing.
json_field() {
    "$VENV_PYTHON" -c '
import json, sys
value = json.load(sys.stdin).get(sys.argv[1])
if not isinstance(value, str) or not value:
    sys.exit(f"the JSON output has no string field {sys.argv[1]!r}")
print(value)
' "$1"
}

# Create the account, store mga-admin's JSON output in ACCOUNT_FILE and print the account id.
create_account() {
    local output
    output=$("$ADMIN" --json accounts create --name "$ACCOUNT_NAME") ||
        die "mga-admin accounts create failed"
    json_field id <<<"$output" ||
        die "mga-admin accounts create printed unexpected output: $output"
    printf '%s\n' "$output" >"$ACCOUNT_FILE"
}

issue_test_key() {
    "$ADMIN" --json keys create "$1" --mode test
}

# Print the gateway's OpenAPI URL, trying the paths where FastAPI apps usually serve it.
find_openapi_url() {
    local path
    for path in /openapi.json /v1/openapi.json; do
        if probe http "$GATEWAY_URL$path"; then
            printf '%s\n' "$GATEWAY_URL$path"
            return
        fi
    done
    printf '%s\n' "not found at $GATEWAY_URL/openapi.json or $GATEWAY_URL/v1/openapi.json"
}

main() {
    [[ -x $ADMIN ]] || die "$ADMIN is missing; run 'make install'"
    mkdir -p "$STACK_DIR"

    local account_id="" key_output=""
    if [[ -s $ACCOUNT_FILE ]]; then
        account_id=$(json_field id <"$ACCOUNT_FILE") ||
            die "$ACCOUNT_FILE has no account id; delete it to create a new account"
        # The account is gone when the database was wiped since the last run.
        if ! key_output=$(issue_test_key "$account_id"); then
            log "The account $account_id from ${ACCOUNT_FILE#"$REPO_ROOT"/} could not get a key; creating a new account"
            account_id=""
        fi
    fi
    if [[ -z $account_id ]]; then
        account_id=$(create_account)
        key_output=$(issue_test_key "$account_id") ||
            die "mga-admin keys create failed for account $account_id"
    fi

    local secret
    secret=$(json_field secret <<<"$key_output") ||
        die "mga-admin keys create printed unexpected output"

    cat <<EOF

The local stack is running.

  API:       $GATEWAY_URL/v1
  OpenAPI:   $(find_openapi_url)
  Emails:    ${MAIL_DIR#"$REPO_ROOT"/}/ (one .eml file per message; SMTP on 127.0.0.1:$SMTP_PORT)
  Logs:      ${LOG_DIR#"$REPO_ROOT"/}/ (make logs follows the service logs)
  Account:   $account_id
  Test key:  $secret

Try it:
  curl -H "Authorization: Bearer $secret" $GATEWAY_URL/v1/invitations

Stop everything with: make down
EOF
}

main "$@"

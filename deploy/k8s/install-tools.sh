#!/usr/bin/env bash
# Install kustomize into .stack/bin with `go install`, unless that folder already has the
# pinned version. The tests in tests/deploy call this script to find kustomize.
#
# Usage: deploy/k8s/install-tools.sh
#   prints the path of the kustomize binary on its last line
#   KUSTOMIZE_VERSION=v5.x.y selects another release of sigs.k8s.io/kustomize/kustomize/v5
set -euo pipefail

REPO_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="$REPO_ROOT/.stack/bin"
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-v5.8.1}
KUSTOMIZE="$BIN_DIR/kustomize"

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# The Go tarball installs into /usr/local/go/bin, which is not on PATH for every user.
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
    PATH="$PATH:/usr/local/go/bin"
fi

kustomize_is_current() {
    local version_output
    [[ -x $KUSTOMIZE ]] || return 1
    version_output=$("$KUSTOMIZE" version 2>/dev/null) || return 1
    [[ $version_output == "$KUSTOMIZE_VERSION" ]]
}

if ! kustomize_is_current; then
    command -v go >/dev/null ||
        die "Go is not installed, and it is needed to build kustomize; install Go 1.24 or later, then run $0 again"
    mkdir -p "$BIN_DIR"
    printf 'kustomize: building %s into %s (a minute or two the first time)\n' \
        "$KUSTOMIZE_VERSION" "${KUSTOMIZE#"$REPO_ROOT"/}" >&2
    # The module's main package reads its version from the build info that go install records.
    GOBIN="$BIN_DIR" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" ||
        die "go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION failed; see the output above"
    kustomize_is_current ||
        die "$KUSTOMIZE was built but 'kustomize version' does not print $KUSTOMIZE_VERSION"
fi

printf '%s\n' "$KUSTOMIZE"

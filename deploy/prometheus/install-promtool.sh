#!/usr/bin/env bash
# Install promtool, Prometheus's checker for configuration and rule files, and the prometheus
# server binary into .stack/bin, unless .stack/bin or PATH has them already. They come from
# Debian's prometheus package, which is downloaded and unpacked rather than installed, so no
# Prometheus server is set up or started as a system service on this machine. The tests in
# tests/deploy call this script to find promtool; the monitoring test runs the server itself.
#
# Usage: deploy/prometheus/install-promtool.sh
#   prints the path of the promtool binary on its last line
set -euo pipefail

REPO_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="$REPO_ROOT/.stack/bin"
PROMTOOL="$BIN_DIR/promtool"
PROMETHEUS="$BIN_DIR/prometheus"

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "'$*' needs root, and sudo is not installed; run it as root, then run $0 again"
    fi
}

if [[ -x $PROMTOOL && -x $PROMETHEUS ]] && "$PROMTOOL" --version >/dev/null 2>&1; then
    printf '%s\n' "$PROMTOOL"
    exit 0
fi

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    die "apt-get or dpkg-deb is missing, and both are needed to unpack Debian's prometheus package; on another system, put a promtool binary at $PROMTOOL"

work_dir=$(mktemp -d)
trap 'rm -rf -- "$work_dir"' EXIT

printf 'promtool: unpacking it from Debian'\''s prometheus package into %s\n' \
    "${PROMTOOL#"$REPO_ROOT"/}" >&2
# apt-get download needs no root, but it finds the package only once the package lists
# have been downloaded, which apt-get update does.
if ! (cd "$work_dir" && apt-get download prometheus >"$work_dir/download.log" 2>&1); then
    as_root apt-get update >"$work_dir/update.log" 2>&1 ||
        die "apt-get update failed: $(tail -n 5 "$work_dir/update.log")"
    (cd "$work_dir" && apt-get download prometheus >"$work_dir/download.log" 2>&1) ||
        die "apt-get download prometheus failed: $(tail -n 5 "$work_dir/download.log")"
fi

deb_files=("$work_dir"/prometheus_*.deb)
[[ -f ${deb_files[0]} ]] || die "apt-get download prometheus left no prometheus_*.deb in $work_dir"
dpkg-deb -x "${deb_files[0]}" "$work_dir/root"
[[ -x $work_dir/root/usr/bin/promtool ]] ||
    die "${deb_files[0]##*/} contains no usr/bin/promtool"

mkdir -p "$BIN_DIR"
install -m 0755 "$work_dir/root/usr/bin/promtool" "$PROMTOOL.partial"
mv -f -- "$PROMTOOL.partial" "$PROMTOOL"
install -m 0755 "$work_dir/root/usr/bin/prometheus" "$PROMETHEUS.partial"
mv -f -- "$PROMETHEUS.partial" "$PROMETHEUS"
"$PROMTOOL" --version >/dev/null || die "$PROMTOOL was unpacked, but '$PROMTOOL --version' failed"

printf '%s\n' "$PROMTOOL"

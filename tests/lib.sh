# lib.sh - shared helpers for the integration tests (sourced, never run):
# ok/fail bookkeeping, the ferry binary, the harness's env file, a scratch dir.
# Each test ends with `finish`, which prints "N passed, N failed" and sets the
# exit status.
set -u
FERRY=${FERRY_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/ferry}
FERRY_SVC_ENV=${FERRY_SVC_ENV:-/tmp/ferry-svc/env}
T_PASS=0
T_FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-it.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

ok() { T_PASS=$((T_PASS + 1)); printf 'ok   %s\n' "$1"; }
fail() { T_FAIL=$((T_FAIL + 1)); printf 'FAIL %s\n' "$1"; [ $# -gt 1 ] && printf '     | %s\n' "${@:2}"; return 0; }
# check NAME CMD...: passes when CMD exits 0
check() { local name=$1; shift; if "$@" >"$WORK/.out" 2>&1; then ok "$name"; else fail "$name" "$(tail -5 "$WORK/.out")"; fi; }
# expect_code NAME CODE CMD...: passes when CMD exits with CODE
expect_code() {
  local name=$1 want=$2; shift 2
  "$@" >"$WORK/.out" 2>&1; local got=$?
  if [ "$got" = "$want" ]; then ok "$name"; else fail "$name (exit $got, want $want)" "$(tail -5 "$WORK/.out")"; fi
}
load_services_env() {
  [ -s "$FERRY_SVC_ENV" ] || { echo "no $FERRY_SVC_ENV: start the servers with tests/harness/services.sh up"; exit 1; }
  set -a; . "$FERRY_SVC_ENV"; set +a
}
finish() { echo "$T_PASS passed, $T_FAIL failed"; [ "$T_FAIL" = 0 ]; exit $?; }

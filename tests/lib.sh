# lib.sh - shared helpers for the integration tests (sourced, never run):
# ok/fail/skip bookkeeping, the ferry binary, the harness's env file, a
# scratch dir.  Each test ends with `finish`, which prints
# "N passed, N failed, N skipped" and sets the exit status: 1 on a failure,
# 77 when every check was skipped (ctest's SKIP_RETURN_CODE: "Skipped"),
# else 0.  A skipped check is never counted as passed.
set -u
FERRY=${FERRY_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/ferry}
FERRY_SVC_ENV=${FERRY_SVC_ENV:-/tmp/ferry-svc/env}
T_PASS=0
T_FAIL=0
T_SKIP=0
# no test reaches the EC2 metadata address (169.254.169.254): the S3
# credential chain's last source stays off unless a test turns it on
export AWS_EC2_METADATA_DISABLED=true
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-it.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

ok() { T_PASS=$((T_PASS + 1)); printf 'ok   %s\n' "$1"; }
fail() { T_FAIL=$((T_FAIL + 1)); printf 'FAIL %s\n' "$1"; [ $# -gt 1 ] && printf '     | %s\n' "${@:2}"; return 0; }
# skip REASON: a check that cannot run here (a missing tool, a build option)
skip() { T_SKIP=$((T_SKIP + 1)); printf 'skip %s\n' "$1"; }
# skip_all REASON: the whole test cannot run here: exit 77 (ctest: Skipped)
skip_all() { skip "$1"; finish; }
# check NAME CMD...: passes when CMD exits 0
check() { local name=$1; shift; if "$@" >"$WORK/.out" 2>&1; then ok "$name"; else fail "$name" "$(tail -5 "$WORK/.out")"; fi; }
# expect_code NAME CODE CMD...: passes when CMD exits with CODE
expect_code() {
  local name=$1 want=$2; shift 2
  "$@" >"$WORK/.out" 2>&1; local got=$?
  if [ "$got" = "$want" ]; then ok "$name"; else fail "$name (exit $got, want $want)" "$(tail -5 "$WORK/.out")"; fi
}
# urlenc TEXT: TEXT percent-encoded (every reserved byte), for connection URIs
# wait_sigint_ready PID: wait (at most 60 s) until PID, or a child of it that is
# not `timeout`, catches SIGINT.  A job started with & in a script inherits
# SIGINT as ignored until ferry installs its handler, so a SIGINT sent before
# that (a slow start on a loaded machine) is lost.  Returns 1 on timeout.
wait_sigint_ready() {
  local p=$1 c mask _
  for _ in $(seq 1 600); do
    for c in "$p" $(pgrep -P "$p" 2>/dev/null); do
      [ "$(cat /proc/"$c"/comm 2>/dev/null)" = timeout ] && continue
      mask=$(awk '/^SigCgt:/ {print $2}' /proc/"$c"/status 2>/dev/null)
      [ -n "$mask" ] && (( (16#$mask >> 1) & 1 )) && return 0
    done
    sleep 0.1
  done
  return 1
}
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
# The servers' env file into the environment.  Without it the test is
# skipped - a failure under FERRY_REQUIRE_SERVICES=1 (scripts/test.sh).
load_services_env() {
  if [ ! -s "$FERRY_SVC_ENV" ]; then
    local why="no $FERRY_SVC_ENV: start the servers with tests/harness/services.sh up"
    [ "${FERRY_REQUIRE_SERVICES:-0}" = 1 ] && { fail "$why"; finish; }
    skip_all "$why"
  fi
  set -a; . "$FERRY_SVC_ENV"; set +a
}
finish() {
  echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
  [ "$T_FAIL" = 0 ] || exit 1
  [ "$T_PASS" = 0 ] && [ "$T_SKIP" -gt 0 ] && exit 77
  exit 0
}

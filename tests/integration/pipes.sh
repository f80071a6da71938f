#!/usr/bin/env bash
# pipes.sh - a reader that closes ferry's stdout early (`| head`) stops ferry
# quietly, as it stops cat: exit 0 and nothing on stderr (issue #17), with -q,
# under `set -o pipefail`, for cat, copy SRC - and a many-file copy to stdout;
# a real I/O error on stdout (/dev/full: ENOSPC) stays exit 9 with its message.
# Local files only: needs no server.  Every call runs under `timeout`.
. "$(dirname "$0")/../lib.sh"
cd "$WORK"

# ~15 MB, far more than a pipe buffer holds: ferry is still writing when head exits
seq 1 2000000 > big.csv
gzip -c big.csv > big.csv.gz
mkdir many && seq 1 400000 > many/a.csv && seq 1 400000 > many/b.csv

# quiet NAME WANT_STDOUT PIPELINE: runs PIPELINE under bash -o pipefail with
# its stdout in out and ITS stderr (ferry's included) in err; every status of
# the pipeline (PIPESTATUS: ferry's first) must be 0 - what pipefail sees -,
# err empty, and out WANT_STDOUT (when not "-")
quiet() {
  local name=$1 want=$2 pipeline=$3
  rm -f codes
  FERRY="$FERRY" timeout -k 5 60 bash -o pipefail -c "$pipeline"'; echo "${PIPESTATUS[*]}" > codes' \
    </dev/null > out 2> err
  local codes; codes=$(cat codes 2>/dev/null)
  if [ -n "$codes" ] && [ -z "${codes//[0 ]/}" ] && [ ! -s err ] && { [ "$want" = - ] || [ "$(cat out)" = "$want" ]; }; then
    ok "$name"
  else
    fail "$name (statuses '$codes')" "stderr: $(head -c 300 err)" "stdout: $(head -c 100 out | tr '\n' ' ')"
  fi
}

quiet "cat big.csv | head -2: exit 0, no stderr" "$(printf '1\n2')" '"$FERRY" cat big.csv | head -2'
quiet "copy big.csv - | head -c 10: exit 0, no stderr" "$(printf '1\n2\n3\n4\n5')" '"$FERRY" copy big.csv - | head -c 10'
quiet "copy -q big.csv - | head -c 10" - '"$FERRY" copy -q big.csv - | head -c 10'
quiet "cat --decompress big.csv.gz | head -1" 1 '"$FERRY" cat --decompress big.csv.gz | head -1'
quiet "a reader that reads nothing (cat big.csv | true)" - '"$FERRY" cat big.csv | true'
quiet "many files to stdout (copy 'many/*.csv' - | head -2)" - '"$FERRY" copy "many/*.csv" - | head -2'
quiet "--log-level error cat big.csv | head -1: no error line" 1 '"$FERRY" --log-level error cat big.csv | head -1'

# set -o pipefail in a script: the pipeline succeeds, set -e does not stop it
cat > script.sh <<'SH'
set -euo pipefail
"$FERRY" cat big.csv | head -3 > three
"$FERRY" copy big.csv - | head -c 4 > four
echo reached-the-end
SH
out=$(FERRY="$FERRY" timeout -k 5 60 bash script.sh 2> err); rc=$?
if [ $rc = 0 ] && [ "$out" = reached-the-end ] && [ ! -s err ] && [ "$(cat three)" = "$(printf '1\n2\n3')" ]; then
  ok "a set -euo pipefail script with ferry | head runs on, no error line"
else
  fail "set -euo pipefail script (exit $rc)" "stdout: $out" "stderr: $(head -c 300 err)"
fi

# a real local I/O error on stdout is still one: exit 9 and the cause
timeout -k 5 60 "$FERRY" cat big.csv > /dev/full 2> err; rc=$?
if [ $rc = 9 ] && grep -q "No space left on device" err; then
  ok "9: stdout on a full device (cat big.csv > /dev/full) says no space left"
else
  fail "cat > /dev/full (exit $rc, want 9)" "$(head -c 300 err)"
fi
timeout -k 5 60 "$FERRY" copy -q big.csv - > /dev/full 2> err; rc=$?
[ $rc = 9 ] && grep -q "No space left on device" err && ok "9: copy -q big.csv - > /dev/full" \
  || fail "copy -q - > /dev/full (exit $rc, want 9)" "$(head -c 300 err)"

finish

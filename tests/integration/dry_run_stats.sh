#!/usr/bin/env bash
# dry_run_stats.sh - issue #17, points 3 and 4.
# (3) copy --dry-run tells the truth: it exits with the code the real copy
# fails with for what it can know without moving data (an undefined template
# variable, no credentials for an S3 destination, an unreachable endpoint, a
# missing source), follows --retries in its probes, names the file a DIR/
# destination gets, and says what it did not check.
# (4) --stats D prints a line every D on stderr (a JSON object per line under
# --log-format json), for single and multi-file copies; --stats 0 prints
# none; --progress draws the progress line without a terminal.
# Loopback only: the unreachable endpoints are freed loopback ports; no
# server of the harness is needed.  No timings are asserted beyond "at least
# N lines" of a copy slowed down by its writer.
. "$(dirname "$0")/../lib.sh"
cd "$WORK"
seq 1 1000 > a.csv
mkdir -p home dir
# out_has NAME REGEX: the last command's output (lib.sh's $WORK/.out) matches
out_has() { if grep -Eq -- "$2" "$WORK/.out"; then ok "$1"; else fail "$1" "$(tail -5 "$WORK/.out")"; fi; }
# same_code NAME CMD...: the dry run and the real run of CMD exit alike, not 0
same_code() {
  local name=$1; shift
  "$@" --dry-run > dry.out 2> dry.err; local dry=$?
  "$@" > real.out 2> real.err; local real=$?
  if [ "$dry" = "$real" ] && [ "$dry" != 0 ]; then ok "$name (both exit $dry)"
  else fail "$name (dry run exit $dry, real run exit $real)" "$(tail -3 dry.err)" "$(tail -3 real.err)"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# no AWS credentials anywhere: an empty HOME, no AWS_* variables, no IMDS
bare=(env -i PATH="$PATH" HOME="$WORK/home" AWS_EC2_METADATA_DISABLED=true
      ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} ${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS}
      ${LSAN_OPTIONS:+LSAN_OPTIONS=$LSAN_OPTIONS})
PORT=$(free_port)

# --- (3) dry run = real run
same_code "undefined template variable: --dry-run exits as the copy does" \
  "$FERRY" copy a.csv 'out_{{ params.nope }}.csv'
same_code "S3 destination without credentials: --dry-run exits as the copy does" \
  "${bare[@]}" AIRFLOW_CONN_NOKEYS="{\"conn_type\":\"aws\",\"extra\":{\"endpoint_url\":\"http://127.0.0.1:$PORT\"}}" \
  "$FERRY" copy a.csv s3://bucket/k.csv --s3-conn nokeys --retries 1
expect_code "   ... and that code is 3 (configuration)" 3 \
  "${bare[@]}" AIRFLOW_CONN_NOKEYS="{\"conn_type\":\"aws\",\"extra\":{\"endpoint_url\":\"http://127.0.0.1:$PORT\"}}" \
  "$FERRY" copy a.csv s3://bucket/k.csv --s3-conn nokeys --dry-run
out_has "   ... the message says no AWS credentials" 'no AWS credentials'
expect_code "unreachable HTTP destination (a freed loopback port): --dry-run exits 4" 4 \
  "$FERRY" copy a.csv "http://127.0.0.1:$PORT/x.csv" --dry-run --retries 2
same_code "unreachable HTTP destination: the real copy exits alike" \
  "$FERRY" copy a.csv "http://127.0.0.1:$PORT/x.csv" --retries 2
expect_code "unreachable S3 endpoint with keys: --dry-run exits 4" 4 \
  "${bare[@]}" AIRFLOW_CONN_DEAD="{\"conn_type\":\"aws\",\"login\":\"AKIDEXAMPLE\",\"password\":\"dry-s3cr3t\",\"extra\":{\"endpoint_url\":\"http://127.0.0.1:$PORT\"}}" \
  "$FERRY" copy a.csv s3://bucket/k.csv --s3-conn dead --dry-run --retries 2
check "   ... the secret is not in the output" bash -c "! grep -q dry-s3cr3t '$WORK/.out'"
same_code "missing source: --dry-run exits as the copy does (5)" "$FERRY" copy nothere.csv b.csv
mkdir -p many && cp a.csv many/1.csv && cp a.csv many/2.csv
same_code "glob into an S3 prefix without credentials: --dry-run exits as the copy does" \
  "${bare[@]}" AIRFLOW_CONN_NOKEYS="{\"conn_type\":\"aws\",\"extra\":{\"endpoint_url\":\"http://127.0.0.1:$PORT\"}}" \
  "$FERRY" copy 'many/*.csv' s3://bucket/out/ --s3-conn nokeys --retries 1
check "   ... the dry run listed both files and what it did not check" bash -c "grep -qx 1.csv dry.out && grep -qx 2.csv dry.out && grep -q '^not checked:' dry.out"

# --retries: the probes make exactly the attempts the copy would
"$FERRY" copy a.csv "http://127.0.0.1:$PORT/x.csv" --dry-run --retries 3 > r3.out 2> r3.err; code=$?
if [ "$code" = 4 ] && [ "$(grep -c 'retry [0-9]*/2 in' r3.err)" = 2 ] && grep -q 'gave up after 3 attempts' r3.err; then
  ok "--dry-run --retries 3: 2 retries logged, 'gave up after 3 attempts', exit 4"
else fail "--dry-run --retries 3: 2 retries logged, 'gave up after 3 attempts', exit 4 (exit $code)" "$(cat r3.err)"; fi
"$FERRY" copy a.csv "http://127.0.0.1:$PORT/x.csv" --dry-run --retries 1 > r1.out 2> r1.err; code=$?
if [ "$code" = 4 ] && ! grep -q 'retry ' r1.err && grep -q 'gave up after 1 attempt' r1.err; then
  ok "--dry-run --retries 1: no retry, 'gave up after 1 attempt', exit 4"
else fail "--dry-run --retries 1: no retry, exit 4 (exit $code)" "$(cat r1.err)"; fi

# what it checked and what not; DIR/ gets the source's name, as the copy writes it
"$FERRY" copy a.csv dir/ --dry-run > plan.out 2>&1; code=$?
if [ "$code" = 0 ] && grep -q '^destination: dir/a.csv' plan.out && grep -q 'would create' plan.out; then
  ok "--dry-run into an existing DIR/: plans DIR/a.csv, exit 0"
else fail "--dry-run into an existing DIR/: plans DIR/a.csv, exit 0 (exit $code)" "$(cat plan.out)"; fi
check "   ... the plan says what was not checked" grep -q '^not checked: write permission' plan.out
check "   ... and that the source exists" grep -q '^probe: *source exists (3893 bytes)' plan.out
"$FERRY" copy a.csv dir/ -q
expect_code "--dry-run into DIR/ where DIR/a.csv exists: exit 6, as the copy" 6 "$FERRY" copy a.csv dir/ --dry-run
check "--dry-run --replace of an existing DIR/a.csv: exit 0" "$FERRY" copy a.csv dir/ --dry-run --replace

# --- (4) --stats: a copy slowed down by its writer (rows every 0.25 s)
slow() { for i in $(seq 1 "$1"); do printf 'row%d,xxxxxxxxxxxxxxxx\n' "$i"; sleep 0.25; done; }
slow 8 | "$FERRY" copy - s1.csv --stats 0.2s 2> s1.err; code=$?
n=$(grep -c '^ferry: stats: [0-9.]* [KMG]*i*B, .*/s, elapsed [0-9.]*s' s1.err)
if [ "$code" = 0 ] && [ "$n" -ge 2 ]; then ok "--stats 0.2s with stderr to a file: $n stats lines (>= 2)"
else fail "--stats 0.2s: >= 2 stats lines (exit $code, $n lines)" "$(cat s1.err)"; fi
check "   ... and the copy is complete" test "$(wc -l < s1.csv)" = 8
slow 8 | "$FERRY" copy - s2.csv --stats 0.2s --log-format json 2> s2.err; code=$?
n=$(grep -c '"msg":"stats"' s2.err)
if [ "$code" = 0 ] && [ "$n" -ge 2 ] && grep '"msg":"stats"' s2.err | python3 -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    assert o["level"] == "info" and isinstance(o["bytes"], int) and o["elapsed_s"] >= 0 and "bytes_per_s" in o
'; then ok "--stats under --log-format json: $n lines, each one JSON object"
else fail "--stats under --log-format json: >= 2 JSON lines (exit $code, $n lines)" "$(cat s2.err)"; fi
slow 4 | "$FERRY" copy - s3.csv --stats 0.2s --stats 0 --log-level info 2> s3.err; code=$?
if [ "$code" = 0 ] && ! grep -q 'stats' s3.err; then ok "--stats 0 (after --stats 0.2s, at --log-level info): no stats line"
else fail "--stats 0: no stats line (exit $code)" "$(cat s3.err)"; fi
slow 4 | "$FERRY" copy - s4.csv --progress 2> s4.err; code=$?
if [ "$code" = 0 ] && grep -q $'\r' s4.err && grep -q 'B/s' s4.err; then ok "--progress draws the progress line into a file"
else fail "--progress draws the progress line into a file (exit $code)" "$(head -c 300 s4.err)"; fi
check "without --progress no progress line goes to a file" bash -c "slow() { for i in 1 2 3; do echo r\$i; sleep 0.25; done; }; slow | '$FERRY' copy - s5.csv 2> s5.err && ! grep -q \$'\\r' s5.err"

# a multi-file copy (a glob over two named pipes fed slowly): one running sum
mkdir -p m && mkfifo m/a.csv m/b.csv
(timeout 60 bash -c "for i in 1 2 3 4; do echo a\$i; sleep 0.25; done > m/a.csv" &)
(timeout 60 bash -c "for i in 1 2 3 4; do echo b\$i; sleep 0.25; done > m/b.csv" &)
timeout 60 "$FERRY" copy 'm/*.csv' mo/ --stats 0.2s > m.out 2> m.err; code=$?
n=$(grep -c '^ferry: stats: ' m.err)
if [ "$code" = 0 ] && [ "$n" -ge 2 ] && grep -q '^ferry: stats: 24 B in 2 files' m.err; then
  ok "--stats over a glob of 2 files: $n lines, the sum reaches 24 B in 2 files"
else fail "--stats over a glob of 2 files (exit $code, $n lines)" "$(cat m.err)"; fi
# unblock a writer left waiting if the copy failed before opening its pipe
[ "$code" = 0 ] || { timeout 2 cat m/a.csv > /dev/null 2>&1; timeout 2 cat m/b.csv > /dev/null 2>&1; }

check "copy --help names --stats and --progress" bash -c "'$FERRY' copy --help | grep -q -- '--stats D' && '$FERRY' copy --help | grep -q -- '--progress'"
expect_code "--stats 5x is refused (exit 2)" 2 "$FERRY" copy a.csv t.csv --stats 5x
finish

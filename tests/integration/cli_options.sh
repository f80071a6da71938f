#!/usr/bin/env bash
# cli_options.sh - options mean the same everywhere (issue #17, point 5):
# one duration syntax for every option that takes seconds, --retries counting
# attempts (said in help and errors), global options after the command,
# `ferry help COMMAND [SUB]` = `ferry COMMAND [SUB] --help`, and a JSON final
# error line under --log-format json.  Local files only - no server needed.
. "$(dirname "$0")/../lib.sh"
cd "$WORK"
printf 'a,b\n1,2\n' > in.csv
# out_has NAME REGEX: the last command's output (lib.sh's $WORK/.out) matches
out_has() { if grep -Eq -- "$2" "$WORK/.out"; then ok "$1"; else fail "$1" "$(tail -5 "$WORK/.out")"; fi; }
# last_line_json NAME CODE: the last stderr line is one JSON object with exit_code CODE
last_line_json() {
  if tail -1 "$WORK/.out" | python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); sys.exit(0 if o["exit_code"]==int(sys.argv[1]) and o["level"]=="error" and o["msg"] else 1)' "$2" 2>/dev/null; then
    ok "$1"; else fail "$1" "$(tail -3 "$WORK/.out")"; fi
}

# --- (a) durations: one parser for copy --timeout and wait --timeout/--interval
check "copy --timeout 5m is accepted" "$FERRY" copy in.csv t1.csv --timeout 5m -q
check "copy --timeout 1.5h is accepted" "$FERRY" copy in.csv t2.csv --timeout 1.5h -q
check "copy --timeout 90s is accepted" "$FERRY" copy in.csv t3.csv --timeout 90s -q
check "copy --timeout 2.5 (fractional seconds) is accepted" "$FERRY" copy in.csv t4.csv --timeout 2.5 -q
check "copy --timeout 300 (plain seconds) still works" "$FERRY" copy in.csv t5.csv --timeout 300 -q
expect_code "copy --timeout 0 is refused (exit 2)" 2 "$FERRY" copy in.csv t6.csv --timeout 0 -q
expect_code "copy --timeout 5x is refused (exit 2)" 2 "$FERRY" copy in.csv t7.csv --timeout 5x -q
out_has "   ... the message shows the duration syntax" "5m"
expect_code "copy --timeout 1.2.3 is refused (exit 2)" 2 "$FERRY" copy in.csv t8.csv --timeout 1.2.3 -q
expect_code "wait --timeout 0.2s --interval 0.05 on a missing file: exit 10" 10 \
  timeout 20 "$FERRY" wait "$WORK/never-there" --timeout 0.2s --interval 0.05 -q
check "copy --help shows durations for --timeout" bash -c "'$FERRY' copy --help | grep -A1 -- '--timeout D' | grep -q '5m'"

# --- (b) --retries counts attempts, the first included; the help and errors say so
check "copy --help says --retries counts attempts, 1 = no retry" \
  bash -c "'$FERRY' copy --help | grep -A1 -- '--retries N' | tr '\n' ' ' | grep -q 'attempts in all.*1 = no retry'"
check "copy --retries 1 (one attempt, no retry) works" "$FERRY" copy in.csv r1.csv --retries 1 -q
expect_code "copy --retries 0 is refused (exit 2)" 2 "$FERRY" copy in.csv r0.csv --retries 0 -q
out_has "   ... saying it counts attempts and 1 = no retry" "attempts.*1 = no retry"
# a closed loopback port: refused at once, transient, so retried per --retries
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
expect_code "HTTP on a closed port, --retries 1: exit 4" 4 timeout 60 "$FERRY" copy "http://127.0.0.1:$port/x" h1.csv --retries 1
out_has "   ... gave up after 1 attempt (singular, no retry made)" "gave up after 1 attempt[^s]"
cp "$WORK/.out" h1.out
check "   ... and no retry was logged" bash -c "! grep -q 'retry 1/' h1.out"
expect_code "HTTP on a closed port, --retries 2: exit 4" 4 timeout 60 "$FERRY" copy "http://127.0.0.1:$port/x" h2.csv --retries 2
out_has "   ... gave up after 2 attempts" "gave up after 2 attempts"

# --- (c) global options after the command
check "copy a b --log-level debug is accepted" "$FERRY" copy in.csv g1.csv --log-level debug -q
check "copy a b --log-level=info is accepted" "$FERRY" copy in.csv g2.csv --log-level=info -q
check "ls DIR --log-format json is accepted" "$FERRY" ls "$WORK/" --log-format json
expect_code "copy a b --log-level bogus is refused (exit 2)" 2 "$FERRY" copy in.csv g3.csv --log-level bogus -q
expect_code "copy a b --log-level with no value is refused (exit 2)" 2 "$FERRY" copy in.csv g4.csv --log-level
check "a global option after the command takes effect (--log-level debug logs)" \
  bash -c "'$FERRY' copy in.csv g5.csv -q --log-level debug 2>&1 | grep -q 'debug'"

# --- (d) ferry help COMMAND [SUB] = ferry COMMAND [SUB] --help
for c in copy cat ls rm mkdir wait exec manifest conn; do
  "$FERRY" help $c > help.out 2>&1; hc=$?
  "$FERRY" $c --help > opt.out 2>&1
  if [ "$hc" = 0 ] && [ -s help.out ] && cmp -s help.out opt.out; then ok "ferry help $c = ferry $c --help"
  else fail "ferry help $c = ferry $c --help (exit $hc)" "$(head -3 help.out)"; fi
done
"$FERRY" help conn get > help.out 2>&1; hc=$?
"$FERRY" conn get --help > opt.out 2>&1
if [ "$hc" = 0 ] && cmp -s help.out opt.out && grep -q 'conn get' help.out && ! grep -q 'conn test' help.out; then
  ok "ferry help conn get = ferry conn get --help, and is conn get's own help"
else fail "ferry help conn get = ferry conn get --help, and is conn get's own help (exit $hc)" "$(cat help.out)"; fi
check "ferry help (no command) prints the usage" bash -c "'$FERRY' help | grep -q '^usage: ferry'"
expect_code "ferry help nosuch: exit 2" 2 "$FERRY" help nosuch

# --- (e) under --log-format json the final error line is JSON
expect_code "missing source under --log-format json: exit 5" 5 "$FERRY" --log-format json copy nope.csv e1.csv
last_line_json "   ... the final error line is JSON with exit_code 5" 5
expect_code "the same with --log-format json after the command: exit 5" 5 "$FERRY" copy nope.csv e2.csv --log-format json
last_line_json "   ... the final error line is JSON with exit_code 5" 5
expect_code "a usage error under --log-format json: exit 2" 2 "$FERRY" --log-format json copy only-one-arg
last_line_json "   ... the usage error line is JSON with exit_code 2" 2
expect_code "an unknown command under --log-format json: exit 2" 2 "$FERRY" --log-format json nosuch
last_line_json "   ... JSON with exit_code 2" 2
expect_code "text format keeps the text error line: exit 5" 5 "$FERRY" copy nope.csv e3.csv
out_has "   ... 'ferry: error: ...'" "^ferry: error: "

# --- the summary labels its rates (read = source, written = destination) in the progress line's units
head -c 300000 /dev/urandom | base64 > rate.txt
expect_code "copy rate.txt -> rate.txt.gz: exit 0" 0 "$FERRY" copy rate.txt rate.txt.gz
out_has "   ... the summary says 'read X/s, written Y/s' in B/KiB/MiB/GiB" "read [0-9.]+ (B|KiB|MiB|GiB|TiB)/s, written [0-9.]+ (B|KiB|MiB|GiB|TiB)/s"
cp "$WORK/.out" sum.out
check "   ... and no unlabelled MB/s" bash -c "! grep -q 'MB/s' sum.out"
expect_code "copy --json: exit 0" 0 "$FERRY" copy rate.txt rate2.txt.gz --json
cp "$WORK/.out" sum.json
check "   ... JSON has read_bytes_per_s and written_bytes_per_s" python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).read().splitlines()[-1]); sys.exit(0 if o["read_bytes_per_s"] > 0 and o["written_bytes_per_s"] > 0 else 1)' sum.json

# --- conn get of a type no hook serves: shown, with a warning, exit 0
expect_code "conn get of a google_cloud_platform connection: exit 0" 0 env AIRFLOW_CONN_GCPX='google-cloud-platform://x' "$FERRY" conn get gcpx
out_has "   ... warns that no hook serves its type" "no hook serves"
expect_code "conn get of a postgres connection: exit 0" 0 env AIRFLOW_CONN_PGX='postgres://u:p@127.0.0.1/db' "$FERRY" conn get pgx
cp "$WORK/.out" pg.out
check "   ... without that warning" bash -c "! grep -q 'no hook serves' pg.out"
expect_code "copy through a type no hook serves: exit 3" 3 env AIRFLOW_CONN_GCPX='google-cloud-platform://x' "$FERRY" copy gcpx:/a g.csv

finish

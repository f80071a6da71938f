#!/usr/bin/env bash
# local_copy.sh - `ferry copy` between local files and stdin/stdout: gzip on
# the way, replace semantics, atomic publish, spool, SIGTERM mid-copy, bad
# input, and connection masking - no server needed.
. "$(dirname "$0")/../lib.sh"
cd "$WORK"

# --- the README's "done when" line
printf 'a,b\n1,2\n' | "$FERRY" copy - x.csv.gz -q
check "stdin -> .csv.gz is gzip of the input" bash -c 'gzip -dc x.csv.gz | cmp - <(printf "a,b\n1,2\n")'
before=$(sha256sum x.csv.gz)
printf 'c,d\n' | "$FERRY" copy - x.csv.gz -q >out 2>err; code=$?
[ "$code" = 6 ] && ok "second copy without --replace exits 6" || fail "second copy without --replace exits 6 (got $code)" "$(cat err)"
check "existing file left as it was" test "$before" = "$(sha256sum x.csv.gz)"
grep -q "exists" err && ok "message says it exists" || fail "message says it exists" "$(cat err)"
printf 'c,d\n' | "$FERRY" copy - x.csv.gz --replace -q
check "--replace writes the new content" bash -c 'gzip -dc x.csv.gz | cmp - <(printf "c,d\n")'
check "no temp files left beside the target" bash -c '! ls -A | grep -q ferry-tmp'

# --- round trips through gzip, both directions, 40 MB
head -c 20000000 /dev/urandom | base64 -w 100 > big.txt
check "local -> local .gz" "$FERRY" copy big.txt big.txt.gz -q
check "gzip -t accepts ferry's output" gzip -t big.txt.gz
check "local .gz -> local plain" "$FERRY" copy big.txt.gz back.txt -q
check "round trip is byte exact" cmp big.txt back.txt
check ".gz -> stdout decompresses" bash -c "'$FERRY' copy big.txt.gz - -q | cmp - big.txt"
check "stdin -> stdout passes bytes through" bash -c "'$FERRY' copy - - -q < big.txt | cmp - big.txt"
check "--compress none keeps .gz bytes raw" bash -c "'$FERRY' copy big.txt.gz raw.bin --decompress none -q && cmp raw.bin big.txt.gz"
mkdir -p dir
check "a directory destination gets the source's name" bash -c "'$FERRY' copy big.txt dir/ -q && cmp dir/big.txt big.txt"

# --- spool through a temp file
mkdir -p spooltmp
check "--spool disk copy" env TMPDIR="$WORK/spooltmp" "$FERRY" copy big.txt spooled.txt.gz --spool disk -q
check "--spool disk output correct" bash -c "gzip -dc spooled.txt.gz | cmp - big.txt"
check "--spool disk leaves no temp file in TMPDIR" bash -c "[ -z \"\$(ls -A '$WORK/spooltmp')\" ]"
mkdir -p tiny && mount -t tmpfs -o size=1m tmpfs tiny 2>/dev/null && {
  expect_code "--spool disk on a full TMPDIR exits 9" 9 env TMPDIR="$WORK/tiny" "$FERRY" copy big.txt nospace.txt --spool disk -q
  check "full TMPDIR: no destination, tmpfs empty" bash -c "[ ! -e nospace.txt ] && [ -z \"\$(ls -A tiny)\" ]"
  umount tiny
}

# --- special files are written as they are, never renamed over
check "copy to /dev/null works without --replace" "$FERRY" copy big.txt /dev/null -q
check "copy to /dev/null with --replace keeps it a device" bash -c "'$FERRY' copy big.txt /dev/null --replace -q && [ -c /dev/null ]"
mkfifo fifo
( cat fifo > from-fifo.txt ) & rpid=$!
check "copy into a named pipe" "$FERRY" copy big.txt fifo -q
wait $rpid
check "the pipe's reader got every byte" cmp from-fifo.txt big.txt

# --- many files: globs, directories, --recursive, --move
mkdir -p many/sub out1 out2 out3
for i in $(seq 1 25); do printf 'id,v\n%d,x\n' "$i" > "many/f$i.csv"; done
printf 'not csv\n' > many/skip.txt; printf 'deep\n' > many/sub/deep.csv
"$FERRY" copy 'many/*.csv' out1/ > many1.out 2>&1
check "glob copies each matching file" bash -c "[ \$(ls out1 | wc -l) = 25 ] && cmp many/f7.csv out1/f7.csv && [ ! -e out1/skip.txt ]"
check "glob prints one line per file" bash -c "[ \$(grep -c '^ok ' many1.out) = 25 ]"
check "--recursive copies the tree" bash -c "'$FERRY' copy many out2 --recursive -q && cmp many/sub/deep.csv out2/sub/deep.csv && [ \$(find out2 -type f | wc -l) = 27 ]" 
check "gzip on the way for each file" bash -c "'$FERRY' copy 'many/f1*.csv' out3/ --compress gzip -q && gzip -dc out3/f1.csv | cmp - many/f1.csv"
cp -r many moving
"$FERRY" copy 'moving/f2*.csv' out1/ --move -q > move.out 2>&1; code=$?
check "--move onto existing destinations fails (exit 6)" test "$code" = 6
check "--move keeps every source whose destination did not commit" bash -c "[ -e moving/f2.csv ] && [ -e moving/f21.csv ]"
mkdir -p out4
check "--move moves" bash -c "'$FERRY' copy 'moving/f2*.csv' out4/ --move -q && [ ! -e moving/f2.csv ] && [ ! -e moving/f21.csv ] && cmp out4/f2.csv many/f2.csv && [ -e moving/f3.csv ]"
printf 'x\n' > single.txt
check "--move of a single file" bash -c "'$FERRY' copy single.txt single2.txt --move -q && [ ! -e single.txt ] && [ -e single2.txt ]"
expect_code "a glob matching nothing exits 5" 5 "$FERRY" copy 'many/*.parquet' out1/

# --- templates in endpoints
check "{{ ds }} and params in a destination" bash -c "'$FERRY' copy big.txt 'dt={{ ds }}-{{ params.src }}.txt' --logical-date 2026-11-21 --param src=crm -q && cmp dt=2026-11-21-crm.txt big.txt"
check "hourly schedule" bash -c "'$FERRY' copy big.txt 'h={{ ts_nodash }}.txt' --schedule hourly --logical-date 2026-11-21T05:00:00Z -q && [ -e h=20261121T050000.txt ]"
expect_code "an unknown template variable exits 2" 2 "$FERRY" copy big.txt 'x={{ nope }}.txt'
check "an unknown template variable writes nothing" bash -c '! ls | grep -q "^x="'

# --- --dry-run touches nothing
snap() { find . -mindepth 1 -maxdepth 1 ! -name dry.out ! -name .out -printf '%p %s %T@\n' | sort | sha256sum; }; before=$(snap)
"$FERRY" copy big.txt dry.txt.gz --dry-run > dry.out 2>&1
check "--dry-run exits 0 and names the gzip filter" bash -c "grep -q 'filter: *gzip' dry.out && grep -q 'would create' dry.out"
check "--dry-run writes nothing" test "$before" = "$(snap)"
expect_code "--dry-run onto an existing file says exit 6" 6 "$FERRY" copy big.txt back.txt --dry-run
check "--dry-run --replace says it would replace" bash -c "'$FERRY' copy big.txt back.txt --dry-run --replace | grep -q 'would replace'"
check "--dry-run of a glob lists the files" bash -c "[ \$('$FERRY' copy 'many/*.csv' out9/ --dry-run | grep -c '.csv') -ge 25 ] && [ ! -e out9 ]"
AIRFLOW_CONN_DRY='postgresql://u:dry-s3cr3t@127.0.0.1:1/db' "$FERRY" copy big.txt dry2.txt --dry-run --log-level debug > dry2.out 2>&1
check "--dry-run output has no secret" bash -c "! grep -q dry-s3cr3t dry2.out"

# --- JSON summary
"$FERRY" copy big.txt j.txt --json > summary.json 2>err
check "--json prints one JSON object" python3 -c "import json,sys; d=json.load(open('summary.json')); sys.exit(0 if d['ok'] and d['bytes_written']==$(stat -c %s big.txt) else 1)"

# --- SIGTERM in the middle: old destination intact, no temp file
printf 'old content\n' > target.txt
( head -c 30000000 /dev/urandom; sleep 20 ) | "$FERRY" copy - target.txt --replace -q 2>sigterm.err &
fpid=$!
sleep 2
kill -TERM "$fpid"   # $! of a background pipeline is its last process: ferry
wait $fpid; code=$?
[ "$code" = 130 ] && ok "SIGTERM mid-copy exits 130" || fail "SIGTERM mid-copy exits 130 (got $code)" "$(cat sigterm.err)"
check "SIGTERM: old destination intact" bash -c "[ \"\$(cat target.txt)\" = 'old content' ]"
check "SIGTERM: no temp file left" bash -c '! ls -A | grep -q ferry-tmp'

# --- bad input
expect_code "missing source file exits 5" 5 "$FERRY" copy no-such-file.csv out.csv
expect_code "missing destination directory exits 5" 5 "$FERRY" copy big.txt no/such/dir/out.csv
head -c 100000 big.txt.gz > truncated.gz
expect_code "truncated gzip input exits 7" 7 "$FERRY" copy truncated.gz untruncated.txt
check "truncated gzip: no destination, no temp" bash -c '[ ! -e untruncated.txt ] && ! ls -A | grep -q ferry-tmp'
expect_code "unknown option exits 2" 2 "$FERRY" copy --bogus a b
expect_code "missing DEST exits 2" 2 "$FERRY" copy a
expect_code "undefined connection exits 3" 3 "$FERRY" copy nosuchconn_zz:public.t out.csv
# a reader closing the pipe early is no error (issue #17): exit 0, silent (more in pipes.sh)
expect_code "a closed downstream pipe is exit 0 (pipefail)" 0 bash -c "set -o pipefail; '$FERRY' copy big.txt - -q | head -c 10 >/dev/null"
check "   ... and prints nothing on stderr" bash -c "'$FERRY' copy big.txt - -q 2>pipe.err | head -c 10 >/dev/null; [ ! -s pipe.err ]"

# --- connections are masked
export AIRFLOW_CONN_X='postgresql://u:s3cr3t@127.0.0.1:1/db'
"$FERRY" conn get x > get.out 2>&1; code=$?
check "conn get x succeeds" test "$code" = 0
check "conn get x masks the password" bash -c "! grep -q s3cr3t get.out && grep -q '\\*\\*\\*' get.out"
"$FERRY" conn test x > test.out 2>&1; code=$?
check "conn test x fails non-zero" test "$code" != 0
check "conn test x names x and hides the password" bash -c "grep -q \"(x)\\|'x'\" test.out && ! grep -q s3cr3t test.out"
"$FERRY" --log-level debug copy x:public.t out.csv > dbg.out 2>&1
check "debug log of a failing copy hides the password" bash -c "! grep -q s3cr3t dbg.out"
unset AIRFLOW_CONN_X
finish

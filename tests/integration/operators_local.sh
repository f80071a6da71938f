#!/usr/bin/env bash
# operators_local.sh - ls, rm (--dry-run, globs, --recursive), mkdir and the
# wait sensor on local paths: no server needed. The same verbs against S3,
# SFTP, HTTP and SQL are exercised in each hook's own test.
. "$(dirname "$0")/../lib.sh"
cd "$WORK"

check "mkdir -p creates parents" bash -c "'$FERRY' mkdir -p a/b/c && [ -d a/b/c ]"
expect_code "mkdir of an existing dir without -p exits 6" 6 "$FERRY" mkdir a/b
for i in 1 2 3; do echo "$i" > "a/f$i.csv"; done; echo x > a/b/deep.csv; echo y > a/keep.txt
check "ls lists a directory" bash -c "'$FERRY' ls a | sort | tr '\n' ' ' | grep -q 'b/ f1.csv f2.csv f3.csv keep.txt'"
check "ls with a glob" bash -c "[ \"\$('$FERRY' ls 'a/*.csv' | wc -l)\" = 3 ]"
check "ls --recursive --json" bash -c "'$FERRY' ls a --recursive --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if len(d)==5 and all(\"size\" in e for e in d) else 1)'"
check "ls --long shows sizes" bash -c "'$FERRY' ls a --long | grep -q '^ *2 .*f1.csv'"

before=$(find a | sort | sha256sum)
"$FERRY" rm 'a/*.csv' --dry-run > dry.out 2>&1
check "rm --dry-run lists what would go" bash -c "[ \$(grep -c '^would delete' dry.out) = 3 ]"
check "rm --dry-run touches nothing" test "$before" = "$(find a | sort | sha256sum)"
check "rm with a glob" bash -c "'$FERRY' rm 'a/*.csv' -q && [ ! -e a/f1.csv ] && [ -e a/keep.txt ] && [ -e a/b/deep.csv ]"
check "rm --recursive" bash -c "'$FERRY' rm a/ --recursive -q && [ ! -e a/b/deep.csv ] && [ ! -e a/keep.txt ]"
expect_code "rm of a missing file exits 5" 5 "$FERRY" rm a/nope.csv

# --- sensors
expect_code "wait times out with exit 10" 10 "$FERRY" wait a/late.csv --timeout 2s --interval 1s
( sleep 2; echo late > a/late.csv ) &
check "wait returns when the file appears" "$FERRY" wait a/late.csv --timeout 30s --interval 1s
( sleep 2; echo g > a/g1.done ) &
check "wait on a glob" "$FERRY" wait 'a/*.done' --timeout 30s --interval 1s --exponential
expect_code "wait --newer-than a future time times out" 10 "$FERRY" wait a/late.csv --newer-than "$(( $(date +%s) + 3600 ))" --timeout 2s --interval 1s
check "wait --newer-than a past time is met" "$FERRY" wait a/late.csv --newer-than 2001-01-01 --timeout 5s --interval 1s
expect_code "wait with a bad duration exits 2" 2 "$FERRY" wait a/late.csv --timeout soon
"$FERRY" wait a/never --timeout 60s --interval 1s & wpid=$!
sleep 1; kill -TERM $wpid; wait $wpid; code=$?
check "SIGTERM ends a wait with 130" test "$code" = 130
finish

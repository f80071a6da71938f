#!/usr/bin/env bash
# examples_c.sh - the C API examples run: a hook registered from outside the
# library (examples/c/custom_hook.c) receives a decompressed stream, and a SQL
# hook registered from outside (FERRY_HOOK_SQL with open_range_sources) is
# treated as SQL: --query, --parallel and --partition with their --dry-run
# descriptions (naming the split the hook declares).
. "$(dirname "$0")/../lib.sh"
cd "$WORK"
HOOK=${FERRY_EXAMPLE_CUSTOM_HOOK:-$(dirname "$FERRY")/example_custom_hook}
seq 1 100000 > n.txt
"$FERRY" copy n.txt n.txt.gz -q
check "custom hook counts a plain file" bash -c "'$HOOK' n.txt | grep -qx 'count: $(stat -c %s n.txt) bytes, 100000 lines'"
check "custom hook gets the .gz decompressed" bash -c "'$HOOK' n.txt.gz | grep -qx 'count: $(stat -c %s n.txt) bytes, 100000 lines'"
expect_code "custom hook: a missing source exits 5" 5 "$HOOK" missing.txt

# the example's SQL hook "squares": rows (n, n*n), n = 1 .. 10000
{ echo n,square; seq 1 10000 | awk '{ print $1 "," $1 * $1 }'; } > squares.csv
check "external SQL hook: --dry-run --parallel 4 names the hook's split" bash -c \
  "'$HOOK' --dry-run --parallel 4 squares:squares par.csv > dry1.out && grep -qx 'ranges:      4, cut by ranges of n; one session each' dry1.out && grep -q 'into the one destination, in range order' dry1.out"
check "external SQL hook: --dry-run --partition 1/4 names the part and its sidecar" bash -c \
  "'$HOOK' --dry-run --partition 1/4 squares:squares parts/ > dry2.out && grep -qx 'ranges:      4, cut by ranges of n; this run reads one of them' dry2.out && grep -q 'parts/part-00001-of-00004.csv: would create' dry2.out && grep -q 'parts/_parts/part-00001.json' dry2.out"
check "external SQL hook: --parallel 4 gives every row once, in order, one header" bash -c \
  "'$HOOK' --parallel 4 squares:squares par.csv && cmp par.csv squares.csv"
check "external SQL hook: --partition 1/4 writes its range and sidecar" bash -c \
  "'$HOOK' --partition 1/4 squares:squares parts/ && { echo n,square; sed -n '2502,5001p' squares.csv; } | cmp - parts/part-00001-of-00004.csv && python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))[\"range\"] != {\"n\": [2501, 5000]})' parts/_parts/part-00001.json"
check "external SQL hook: --split-output 3 tiles the rows" bash -c \
  "'$HOOK' --split-output --parallel 3 squares:squares split/ && for f in split/part-0000[0-2].csv; do tail -n +2 \"\$f\"; done | cmp - <(tail -n +2 squares.csv)"
check "external SQL hook: --query reaches the hook (--dry-run shows it)" bash -c \
  "'$HOOK' --query 'SELECT * FROM squares LIMIT 5' squares: q.csv && head -6 squares.csv | cmp - q.csv && '$HOOK' --dry-run --query 'SELECT * FROM squares LIMIT 5' squares: q2.csv | grep -qx 'query:       SELECT \* FROM squares LIMIT 5'"
expect_code "external SQL hook: a query it cannot run exits 7" 7 "$HOOK" --query 'DROP TABLE squares' squares: -
expect_code "external SQL hook: --partition into an existing part exits 6" 6 "$HOOK" --partition 1/4 squares:squares parts/
finish

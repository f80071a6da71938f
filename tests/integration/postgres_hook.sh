#!/usr/bin/env bash
# postgres_hook.sh - the PostgreSQL hook end to end through the ferry CLI
# against the harness's real PostgreSQL: a 1,000,000-row hostile table
# exported as CSV / csv.gz / TSV byte for byte equal to psql's \copy, JSONL
# parsed back and compared value by value, failures mapped to exit codes
# (mid-stream error 7, bad password 4, unreachable 4, missing table 5), loads
# (append, atomic --replace, rollback on bad data and on SIGINT), exec and
# conn test, TLS verify-full (the harness CA accepted, another CA or a missing
# CA file refused with exit 4).  Creates its own uniquely named tables and drops them at the end.
. "$(dirname "$0")/../lib.sh"
load_services_env
cd "$WORK"

TMO=${FERRY_TEST_TIMEOUT:-300}
SUFFIX="$$_$RANDOM"
T="ferry_it_pg_hostile_$SUFFIX"        # the 1,000,000-row source
TGT="ferry_it_pg_target_$SUFFIX"       # the load target
SMALL="ferry_it_pg_small_$SUFFIX"      # a small table for exec
CREATED="ferry_it_pg_created_$SUFFIX"  # made by --create
QUOTED="FerryIt Mixed \"Case\" $SUFFIX" # a table name that needs quoting
QUOTED_SQL="\"${QUOTED//\"/\"\"}\""       # ... as SQL writes it
ROWS=1000000
WRONG_PW="Wr0ngPassw0rd_$SUFFIX"

# Unordered table scans must come out in the same order for ferry and psql:
# synchronized seq scans would let one of them start mid-table.  ferry gets it
# through the connection's `options` extra (which also tests extras), psql
# through PGOPTIONS.
export AIRFLOW_CONN_WAREHOUSE="$PG_URI?options=-c%20synchronize_seqscans%3Doff"
export AIRFLOW_CONN_PG_BADPW="postgresql://$PG_USER:$WRONG_PW@$PG_HOST:$PG_PORT/$PG_DATABASE"
export AIRFLOW_CONN_PG_NOWHERE="postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:1/$PG_DATABASE"
unset PGOPTIONS PGCLIENTENCODING

fy() { timeout -k 5 "$TMO" "$FERRY" "$@"; }
pq() { PGOPTIONS="-c synchronize_seqscans=off" timeout -k 5 "$TMO" psql -X -q -v ON_ERROR_STOP=1 "$PG_URI" "$@"; }
pq_value() { pq -Atc "$1"; }
export -f fy pq pq_value
export FERRY TMO PG_URI

drop_tables() {
  timeout 60 psql -X -q "$PG_URI" -c "DROP TABLE IF EXISTS public.\"$T\", public.\"$TGT\", public.\"$SMALL\", public.\"$CREATED\", public.$QUOTED_SQL" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap drop_tables EXIT

# ---------------------------------------------------------------- the data
pq <<SQL || { echo "cannot create the test table"; exit 1; }
CREATE TABLE public."$T" (
  id bigint PRIMARY KEY,
  s text,
  "odd, ""col""" text,
  n numeric(20,4),
  f float8,
  ts timestamptz,
  b boolean
);
INSERT INTO public."$T"
SELECT g,
  CASE g % 20
    WHEN 0 THEN NULL
    WHEN 1 THEN ''
    WHEN 2 THEN 'a,b,c'
    WHEN 3 THEN 'say "hi"'
    WHEN 4 THEN E'line1\nline2'
    WHEN 5 THEN E'cr\rhere\r\n'
    WHEN 6 THEN E'tab\there'
    WHEN 7 THEN E'back\\\\slash\\\\'
    WHEN 8 THEN 'NULL'
    WHEN 9 THEN E'\\\\N'
    WHEN 10 THEN 'ünïcødé – 中文 – Ελληνικά'
    WHEN 11 THEN '😀🚀 emoji 👩‍👩‍👧'
    WHEN 12 THEN E'\\\\.'
    WHEN 13 THEN '  spaces  '
    WHEN 14 THEN E'ctl\x01\x02\x1f\x7f end'
    WHEN 15 THEN E'mix ,"\n\\\\N\t😀\r'
    WHEN 16 THEN '"'
    WHEN 17 THEN '{"json": "like", "x": [1,2]}'
    WHEN 18 THEN repeat('long-', 200)
    ELSE 'plain ' || g
  END,
  CASE g % 7 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN E'\\\\N' WHEN 3 THEN 'NULL' ELSE 'v' || (g % 1000) END,
  CASE WHEN g % 9 = 0 THEN NULL ELSE (g * 1.125 - 500000)::numeric(20,4) END,
  CASE WHEN g % 13 = 0 THEN NULL WHEN g % 13 = 1 THEN 'NaN'::float8 ELSE g / 7.0::float8 END,
  CASE WHEN g % 11 = 0 THEN NULL ELSE timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second 7 milliseconds' END,
  CASE g % 3 WHEN 0 THEN NULL WHEN 1 THEN true ELSE false END
FROM generate_series(1, $ROWS) AS g;
ANALYZE public."$T";
SQL
check "hostile table has $ROWS rows" test "$(pq_value "SELECT count(*) FROM public.\"$T\"")" = "$ROWS"
check "hostile table holds backslashes, \\N, emoji, CR and control bytes" test \
  "$(pq_value "SELECT count(DISTINCT s) FILTER (WHERE strpos(s, chr(92)) > 0 OR s ~ '[😀\r\x01]') FROM public.\"$T\"")" -ge 6

# ---------------------------------------------------------------- conn test
fy conn test warehouse > conntest.out 2>&1; code=$?
if [ "$code" = 0 ] && grep -q "PostgreSQL 1[0-9]" conntest.out && grep -q "$PG_USER@$PG_DATABASE" conntest.out; then
  ok "conn test warehouse: $(tr -d '\n' < conntest.out)"
else
  fail "conn test warehouse (exit $code)" "$(cat conntest.out)"
fi
fy conn test pg_badpw > badpw-test.out 2>&1; code=$?
[ "$code" = 4 ] && ok "conn test with a wrong password exits 4" || fail "conn test with a wrong password exits 4 (got $code)" "$(cat badpw-test.out)"
check "conn test output does not show the password" bash -c "! grep -qF '$WRONG_PW' badpw-test.out"
check "connection extras reach the server (options=-c synchronize_seqscans=off)" \
  bash -c "fy exec warehouse: 'SHOW synchronize_seqscans' -q | tail -1 | grep -qx off"

# ---------------------------------------------------------------- CSV export
pq -c "\\copy public.\"$T\" to stdout csv header" > want.csv
check "psql reference export has $ROWS rows + header" test "$(python3 -c "import csv,sys; print(sum(1 for _ in csv.reader(open('want.csv', newline=''))))")" = $((ROWS + 1))

fy copy "warehouse:public.$T" got.csv --json > summary.json 2> copy.err; code=$?
[ "$code" = 0 ] && ok "table -> .csv exits 0" || fail "table -> .csv exits 0 (got $code)" "$(cat copy.err)"
check "table -> .csv is byte for byte psql's \\copy" cmp got.csv want.csv
check "--json summary counts $ROWS rows" python3 -c "
import json, sys
d = json.load(open('summary.json'))
sys.exit(0 if d['ok'] and d['rows_read'] == $ROWS else 1)"

check "table -> stdout is the same bytes" bash -c "fy copy 'warehouse:public.$T' - -q | cmp - want.csv"

ORDERED="SELECT * FROM public.\"$T\" WHERE id % 3 <> 1 ORDER BY id DESC"
pq -c "\\copy ($ORDERED) to stdout csv header" > want-q.csv
check "--query -> .csv exits 0" fy copy warehouse: got-q.csv --query "$ORDERED" -q
check "--query -> .csv is byte for byte psql's \\copy (query)" cmp got-q.csv want-q.csv
printf '%s;\n-- a trailing comment; and another ;\n' "$ORDERED" > query.sql
check "--query-file with a trailing ';' and comment" bash -c "fy copy warehouse: got-qf.csv --query-file query.sql -q && cmp got-qf.csv want-q.csv"

check "table -> .csv.gz exits 0" fy copy "warehouse:public.$T" got.csv.gz -q
check "csv.gz: gzip -t accepts it" gzip -t got.csv.gz
check "csv.gz decompresses to psql's bytes" bash -c "gzip -dc got.csv.gz | cmp - want.csv"

# ---------------------------------------------------------------- TSV export
pq -c "\\copy public.\"$T\" to stdout (format text, header)" > want.tsv
check "table -> .tsv exits 0" fy copy "warehouse:public.$T" got.tsv -q
check "TSV is byte for byte psql's text format with header" cmp got.tsv want.tsv
check "--format tsv to stdout is the same" bash -c "fy copy 'warehouse:public.$T' - --format tsv -q | cmp - want.tsv"

# ---------------------------------------------------------------- JSONL export
check "table -> .jsonl exits 0" fy copy "warehouse:public.$T" got.jsonl -q
# Reference values from psql: CSV with an unmistakable NULL marker, ts in
# JSON's own ISO form (to_json), compared value by value with the parsed JSONL.
pq -c "\\copy (SELECT id, s, \"odd, \"\"col\"\"\", n, f, to_json(ts)#>>'{}', b FROM public.\"$T\") to stdout (format csv, header, null '<<NULL>>')" > want-json.csv
cat > check_jsonl.py <<'PY'
import csv, json, math, sys
from decimal import Decimal
cols = ["id", "s", 'odd, "col"', "n", "f", "ts", "b"]
want_rows = csv.reader(open("want-json.csv", newline="", encoding="utf-8"))
next(want_rows)
def same(col, got, want):
    if want == "<<NULL>>":
        return got is None
    if col == "id":
        return got == int(want)
    if col == "n":
        return isinstance(got, Decimal) and got == Decimal(want)
    if col == "f":
        if want == "NaN":
            return got == "NaN"
        return float(got) == float(want)
    if col == "b":
        return got is (want == "t")
    return got == want
n = 0
with open("got.jsonl", "rb") as f:
    for raw in f:
        n += 1
        if not raw.endswith(b"\n") or b"\n" in raw[:-1]:
            sys.exit("line %d is not one JSON object and a newline" % n)
        obj = json.loads(raw.decode("utf-8"), parse_float=Decimal)
        if list(obj) != cols:
            sys.exit("line %d: keys %r" % (n, list(obj)))
        want = next(want_rows)
        for col, w in zip(cols, want):
            if not same(col, obj[col], w):
                sys.exit("line %d column %s: got %r want %r" % (n, col, obj[col], w))
if next(want_rows, None) is not None or n != int(sys.argv[1]):
    sys.exit("row count differs: %d" % n)
PY
check "JSONL: one object per line, every value equal to the table's ($ROWS rows)" python3 check_jsonl.py "$ROWS"
check "JSONL: newlines, CR and control bytes are escaped, never raw" bash -c "! LC_ALL=C grep -qaP '[\\x01\\x02\\r]' got.jsonl"

# ---------------------------------------------------------------- small results
EMPTY="SELECT * FROM public.\"$T\" WHERE false"
pq -c "\\copy ($EMPTY) to stdout csv header" > want-empty.csv
check "empty result -> .csv is the header alone" bash -c "fy copy warehouse: got-empty.csv --query '$EMPTY' -q && cmp got-empty.csv want-empty.csv"
check "empty result -> .jsonl is an empty file" bash -c "fy copy warehouse: got-empty.jsonl --query '$EMPTY' -q && [ -e got-empty.jsonl ] && [ ! -s got-empty.jsonl ]"
ONE="SELECT * FROM public.\"$T\" WHERE id = 15"
pq -c "\\copy ($ONE) to stdout csv header" > want-one.csv
check "1-row result -> .csv equals psql" bash -c "fy copy warehouse: got-one.csv --query '$ONE' -q && cmp got-one.csv want-one.csv"
check "1-row result -> .jsonl is one line" bash -c "fy copy warehouse: got-one.jsonl --query '$ONE' -q && [ \$(wc -l < got-one.jsonl) = 1 ] && python3 -c 'import json; json.loads(open(\"got-one.jsonl\").read())'"
check "--no-header csv drops only the header" bash -c "fy copy warehouse: got-nh.csv --query '$ONE' --no-header -q && tail -n +2 want-one.csv | cmp - got-nh.csv"

FIRST="SELECT * FROM public.\"$T\" WHERE id <= 200 ORDER BY id"
pq -c "\\copy ($FIRST) to stdout (format csv, header, null 'NULL')" > want-null.csv
check "--null-string NULL equals psql's null 'NULL'" bash -c "fy copy warehouse: - --query '$FIRST' --null-string NULL -q | cmp - want-null.csv"
pq -c "\\copy ($FIRST) to stdout (format text, header, null '')" > want-null.tsv
check "--null-string '' for tsv equals psql's null ''" bash -c "fy copy warehouse: - --format tsv --query '$FIRST' --null-string '' -q | cmp - want-null.tsv"

# ---------------------------------------------------------------- table names
pq -c "CREATE TABLE public.$QUOTED_SQL (\"Weird, Col\" int, x text); INSERT INTO public.$QUOTED_SQL VALUES (1, 'a'), (2, NULL);"
printf '"Weird, Col",x\n1,a\n2,\n' > want-quoted.csv
check "quoted table name with spaces and quotes: warehouse:public.\"...\"" \
  bash -c "fy copy 'warehouse:public.$QUOTED_SQL' - -q | cmp - want-quoted.csv"
pq -c "CREATE TABLE public.\"$SMALL\" (id int)"
check "unquoted names fold to lower case: warehouse:PUBLIC.${SMALL^^}" \
  bash -c "[ \"\$(fy copy 'warehouse:PUBLIC.${SMALL^^}' - -q)\" = id ]"
expect_code "a malformed table name exits 2" 2 fy copy 'warehouse:a.b.c' x.csv
expect_code "both a table and --query exits 2" 2 fy copy "warehouse:public.$T" x.csv --query "SELECT 1"
expect_code "neither a table nor --query exits 2" 2 fy copy warehouse: x.csv

# ---------------------------------------------------------------- failures
mkdir -p faildir
fy copy warehouse: faildir/out.csv --query "SELECT *, 1/(id - 900000) AS boom FROM public.\"$T\"" > fail.out 2> fail.err; code=$?
[ "$code" = 7 ] && ok "division by zero at row 900,000 exits 7" || fail "division by zero at row 900,000 exits 7 (got $code)" "$(cat fail.err)"
check "failed query: message names the cause" grep -q "division by zero" fail.err
check "failed query: no destination and no temp file" bash -c "[ -z \"\$(ls -A faildir)\" ]"
fy copy warehouse: faildir/out.csv.gz --query "SELECT *, 1/(id - 900000) AS boom FROM public.\"$T\"" > /dev/null 2>&1; code=$?
check "failed query into .csv.gz: exit 7, nothing left" bash -c "[ $code = 7 ] && [ -z \"\$(ls -A faildir)\" ]"

fy copy "pg_badpw:public.$T" faildir/x.csv > badpw.out 2> badpw.err; code=$?
[ "$code" = 4 ] && ok "wrong password exits 4" || fail "wrong password exits 4 (got $code)" "$(cat badpw.err)"
check "wrong password: the password is not in stdout/stderr" bash -c "! grep -qF '$WRONG_PW' badpw.out badpw.err"
check "wrong password: message names host:port and the reason" grep -q "$PG_HOST:$PG_PORT.*password authentication failed" badpw.err
fy copy "pg_nowhere:public.$T" faildir/x.csv > nowhere.out 2>&1; code=$?
[ "$code" = 4 ] && ok "unreachable port exits 4" || fail "unreachable port exits 4 (got $code)" "$(cat nowhere.out)"
fy copy "warehouse:public.no_such_table_$SUFFIX" faildir/x.csv > missing.out 2>&1; code=$?
[ "$code" = 5 ] && ok "missing table exits 5" || fail "missing table exits 5 (got $code)" "$(cat missing.out)"
check "missing table: message quotes the relation" grep -q "relation \"public.no_such_table_$SUFFIX\" does not exist" missing.out
expect_code "missing column exits 5" 5 fy copy warehouse: faildir/x.csv --query "SELECT no_such_column FROM public.\"$T\""
expect_code "SQL syntax error exits 7" 7 fy copy warehouse: faildir/x.csv --query "SELEKT 1"
check "failures left nothing in the directory" bash -c "[ -z \"\$(ls -A faildir)\" ]"

# SIGINT while the server is still computing: exit 130, the query is cancelled on the server
# (timeout, not fy: $! must be the process that forwards the signal to ferry)
timeout -k 5 "$TMO" "$FERRY" copy warehouse: faildir/sleep.csv --query "SELECT pg_sleep(60) AS \"sleep_$SUFFIX\"" > /dev/null 2>&1 &
fpid=$!
wait_sigint_ready "$fpid"
sleep 2
kill -INT "$fpid"
wait "$fpid"; code=$?
[ "$code" = 130 ] && ok "SIGINT during a query exits 130" || fail "SIGINT during a query exits 130 (got $code)"
sleep 1
check "SIGINT during a query: the server stopped it" test "$(pq_value "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%sleep_$SUFFIX%' AND pid <> pg_backend_pid()")" = 0

# ---------------------------------------------------------------- sink
pq -c "CREATE TABLE public.\"$TGT\" (LIKE public.\"$T\" INCLUDING ALL)"
pq -c "\\copy (SELECT * FROM public.\"$T\" ORDER BY id) to stdout csv header" > want-sorted.csv
target_sorted() { pq -c "\\copy (SELECT * FROM public.\"$TGT\" ORDER BY id) to stdout csv header"; }
export -f target_sorted; export T TGT

fy copy got.csv "warehouse:public.$TGT" --json > load.json 2> load.err; code=$?
[ "$code" = 0 ] && ok "local .csv -> table exits 0" || fail "local .csv -> table exits 0 (got $code)" "$(cat load.err)"
check "load: the table now equals the source table exactly" bash -c "target_sorted | cmp - want-sorted.csv"
check "load: --json summary counts $ROWS rows written" python3 -c "
import json, sys
d = json.load(open('load.json'))
sys.exit(0 if d['rows_written'] == $ROWS else 1)"

printf 'id,s,"odd, ""col""",n,f,ts,b\n2000001,appended,,1.5,2.5,2024-01-01 00:00:00+00,t\n2000002,"",x,,,,\n' > append.csv
check "append a 2-row .csv without --replace" fy copy append.csv "warehouse:public.$TGT" -q
check "append: $ROWS + 2 rows, NULL and \"\" kept apart" test \
  "$(pq_value "SELECT count(*) || ':' || count(*) FILTER (WHERE id = 2000002 AND s = '' AND n IS NULL) FROM public.\"$TGT\"")" = "$((ROWS + 2)):1"

printf 'id,s,"odd, ""col""",n,f,ts,b\n2000003,~,"~",~,~,~,~\n' > nullstr.csv
check "load with --null-string '~' exits 0" \
  fy copy nullstr.csv "warehouse:public.$TGT" --null-string '~' -q
check "load with --null-string: the unquoted ~ fields are NULL, the quoted one is text" test \
  "$(pq_value "SELECT (s IS NULL)::text || (\"odd, \"\"col\"\"\" = '~')::text || (n IS NULL AND ts IS NULL AND b IS NULL)::text FROM public.\"$TGT\" WHERE id = 2000003")" = truetruetrue
pq -c "DELETE FROM public.\"$TGT\" WHERE id = 2000003"

checksum() { pq_value "SELECT count(*) || ':' || sum(id) || ':' || md5(string_agg(md5(t::text), '' ORDER BY id)) FROM public.\"$TGT\" t"; }
before=$(checksum)
# a bad value deep in the file (before record 500,001, at physical line L:
# COPY counts lines, and quoted fields hold newlines): the whole --replace
# rolls back
L=$(grep -n -m1 '^500001,' want-sorted.csv | cut -d: -f1)
{ head -n $((L - 1)) want-sorted.csv; printf 'not-a-number,bad,,,,,\n'; tail -n +"$L" want-sorted.csv; } > bad.csv
fy copy bad.csv "warehouse:public.$TGT" --replace > bad.out 2>&1; code=$?
[ "$code" = 7 ] && ok "--replace with a bad row exits 7" || fail "--replace with a bad row exits 7 (got $code)" "$(cat bad.out)"
check "bad row: the message points at the line" grep -q "line $L, column id" bad.out
check "bad row: the table keeps its old content" test "$(checksum)" = "$before"

printf 'id,s,"odd, ""col""",n,f,ts,b\n1,only,row,,,,\n' > replace.csv
check "--replace with good data exits 0" fy copy replace.csv "warehouse:public.$TGT" --replace -q
check "--replace: the table holds exactly the new rows" test "$(pq_value "SELECT count(*) || ':' || min(s) FROM public.\"$TGT\"")" = "1:only"

check "TSV -> table with --replace" fy copy got.tsv "warehouse:public.$TGT" --replace -q
check "TSV load: the table equals the source table exactly" bash -c "target_sorted | cmp - want-sorted.csv"
check "csv.gz -> table with --replace" fy copy got.csv.gz "warehouse:public.$TGT" --replace -q
check "csv.gz load: the table equals the source table exactly" bash -c "target_sorted | cmp - want-sorted.csv"

# --create: a missing table is made from the header, every column text, so
# the values come back exactly as they were written
expect_code "--create from an empty input exits 7" 7 fy copy /dev/null "warehouse:public.$CREATED" --format csv --create
check "--create from an empty input created nothing" test "$(pq_value "SELECT to_regclass('public.$CREATED') IS NULL")" = t
printf 'a,b\n1,2\n3\n' > short-row.csv
expect_code "--create with a short row exits 7" 7 fy copy short-row.csv "warehouse:public.$CREATED" --create
check "--create that failed created nothing" test "$(pq_value "SELECT to_regclass('public.$CREATED') IS NULL")" = t
check "--create of a missing table from got.csv" fy copy got.csv "warehouse:public.$CREATED" --create -q
check "--create: text columns named by the header" test \
  "$(pq_value "SELECT string_agg(column_name || ':' || data_type, '|' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = '$CREATED'")" = \
  'id:text|s:text|odd, "col":text|n:text|f:text|ts:text|b:text'
check "--create: the table exports back byte for byte" bash -c "fy copy 'warehouse:public.$CREATED' - -q | cmp - got.csv"
check "--create on an existing table appends" bash -c "fy copy append.csv 'warehouse:public.$CREATED' --create -q && [ \$(pq_value 'SELECT count(*) FROM public.$CREATED') = $((ROWS + 2)) ]"
pq -c "DROP TABLE public.\"$CREATED\""
printf '1,x\n2,"y\nz"' > noheader.csv
check "--create --no-header exits 0" fy copy noheader.csv "warehouse:public.$CREATED" --create --no-header -q
check "--create --no-header names the columns col1, col2" test \
  "$(pq_value "SELECT string_agg(col1 || '=' || replace(col2, E'\n', '/'), ';' ORDER BY col1) FROM public.\"$CREATED\"")" = '1=x;2=y/z'

expect_code "JSONL -> table exits 2 (not supported yet)" 2 fy copy got-one.jsonl "warehouse:public.$TGT"
expect_code "load into a missing table exits 5" 5 fy copy append.csv "warehouse:public.no_such_table_$SUFFIX"
expect_code "load with no table named exits 2" 2 fy copy append.csv warehouse:

before=$(checksum)
# SIGINT in the middle of a --replace load from a slow stdin
( head -c 60000000 got.csv; sleep 20 ) 2>/dev/null |
  timeout -k 5 "$TMO" "$FERRY" copy - "warehouse:public.$TGT" --format csv --replace -q > sigint.out 2>&1 &
fpid=$!
wait_sigint_ready "$fpid"
sleep 3
kill -INT "$fpid"
wait "$fpid"; code=$?
[ "$code" = 130 ] && ok "SIGINT during a load exits 130" || fail "SIGINT during a load exits 130 (got $code)" "$(cat sigint.out)"
check "SIGINT during a load: no lock left behind" pq -c "SET lock_timeout = '5s'; SELECT count(*) FROM public.\"$TGT\""
check "SIGINT during a load: the table keeps its old content" test "$(checksum)" = "$before"
check "SIGINT during a load: no session holds a lock on the table" test \
  "$(pq_value "SELECT count(*) FROM pg_locks WHERE relation = 'public.\"$TGT\"'::regclass AND pid <> pg_backend_pid()")" = 0

# ---------------------------------------------------------------- exec
cat > exec.sql <<'SQL'
SELECT 1 AS a, NULL AS b, '' AS c, 'x,y' AS d, E'q"\n' AS e, '😀' AS "f ""g"""
SQL
printf 'a,b,c,d,e,"f ""g"""\n1,,"","x,y","q""\n",😀\n' > want-exec.csv
check "exec prints the rows as CSV (NULL empty, \"\" quoted)" bash -c "fy exec warehouse: --file exec.sql -q | cmp - want-exec.csv"
printf 'second\n2\n' > want-last.csv
check "exec: rows of the last statement only" bash -c \
  "fy exec warehouse: 'SELECT 1 AS first; SELECT 2 AS second' -q | cmp - want-last.csv"
cat > want-exec.json <<'JSON'
[{"a":"1","b":null,"c":"","d":"x,y","e":"q\"\n","f \"g\"":"😀"}]
JSON
check "exec --json: the hook writes the rows as JSON (strings, NULL null)" bash -c \
  "fy exec warehouse: --file exec.sql --json -q | cmp - want-exec.json"
cat > want-typed.json <<'JSON'
[{"i":1,"n":2.50,"f":"NaN","t":true,"s":"x","z":null}]
JSON
check "exec --json-typed: numbers, booleans; NaN stays a string" bash -c \
  "fy exec warehouse: \"SELECT 1 AS i, 2.50::numeric AS n, 'NaN'::float8 AS f, true AS t, 'x' AS s, NULL::int AS z\" --json-typed -q | cmp - want-typed.json"
check "exec --json: a statement without rows prints []" bash -c \
  "test \"\$(fy exec warehouse: 'SET LOCAL statement_timeout = 0' --json -q)\" = '[]'"
expect_code "exec: a failing statement exits 7" 7 fy exec warehouse: "INSERT INTO public.\"$SMALL\" VALUES (1); SELECT 1/0"
check "exec: the earlier statement was rolled back" test "$(pq_value "SELECT count(*) FROM public.\"$SMALL\"")" = 0
check "exec: statements commit together" fy exec warehouse: "INSERT INTO public.\"$SMALL\" VALUES (1); INSERT INTO public.\"$SMALL\" VALUES (2)" -q
check "exec: both rows are there" test "$(pq_value "SELECT count(*) FROM public.\"$SMALL\"")" = 2
expect_code "exec: VACUUM inside the transaction exits 7" 7 fy exec warehouse: "VACUUM public.\"$SMALL\""
check "exec --autocommit runs VACUUM" fy exec warehouse: "VACUUM public.\"$SMALL\"" --autocommit -q
expect_code "exec: a missing table exits 5" 5 fy exec warehouse: "SELECT * FROM public.no_such_table_$SUFFIX"
expect_code "exec: wrong password exits 4" 4 fy exec pg_badpw: "SELECT 1"

# --- TLS when the connection asks for it (the harness's server has a
# certificate of its own CA, TLS_CA_FILE): verify-full with that CA is an
# encrypted session; a CA that did not sign the server, or a CA file that is
# not there, is refused before any query (exit 4, the reason named)
export AIRFLOW_CONN_PG_TLS="$PG_TLS_URI"
export AIRFLOW_CONN_PG_OTHERCA="${PG_TLS_URI%%&sslrootcert=*}&sslrootcert=/etc/ssl/certs/ca-certificates.crt"
export AIRFLOW_CONN_PG_NOCA="${PG_TLS_URI%%&sslrootcert=*}&sslrootcert=$WORK/no-such-ca.crt"
check "TLS verify-full with the harness CA: the session is encrypted" \
  bash -c "[ \"\$(fy exec pg_tls: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' -q | tail -1)\" = t ]"
expect_code "TLS verify-full against a CA that did not sign the server exits 4" 4 fy exec pg_otherca: "SELECT 1"
cp "$WORK/.out" "$WORK/otherca.out"
check "... and says why" grep -q "certificate verify failed" "$WORK/otherca.out"
expect_code "TLS verify-full with a missing CA file exits 4" 4 fy exec pg_noca: "SELECT 1"
cp "$WORK/.out" "$WORK/noca.out"
check "... and names the file" grep -q "no-such-ca.crt" "$WORK/noca.out"

finish

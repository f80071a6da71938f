#!/usr/bin/env bash
# pg_to_s3.sh - ferry's main job against real servers: a Postgres table or
# query streamed to a Ceph radosgw object (csv, csv.gz, jsonl), compared byte
# for byte with psql's own \copy; multipart exports; replace semantics (ETag
# unchanged without --replace); a query failing after several parts were
# uploaded and SIGTERM mid-transfer (old object intact, no multipart upload
# left); the error matrix (wrong password, unreachable host, missing table,
# missing bucket, wrong S3 secret); shell pipelines; --spool disk; and the
# way back, S3 -> Postgres.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
cd "$WORK"
load_services_env
B=$CEPH_S3_BUCKET
P="ferry-pg-$$-$RANDOM"
T="it_pg_s3_$$"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
export AIRFLOW_CONN_BADPG="postgresql://$PG_USER:WrongPassw0rd-pg@127.0.0.1:$PG_PORT/$PG_DATABASE"
export AIRFLOW_CONN_DEADPG="postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:1/$PG_DATABASE?connect_timeout=3"
export AIRFLOW_CONN_BADS3="aws://$CEPH_S3_ACCESS_KEY:WrongS3cretKey-xyz@?region_name=$CEPH_S3_REGION&endpoint_url=$(urlenc "$CEPH_S3_ENDPOINT")"
AWS_CLI=/usr/bin/aws   # for awsx (tests/s3_lib.sh)
psqlx() { timeout 600 psql -X -q -v ON_ERROR_STOP=1 "$PG_URI" "$@"; }
fr() { timeout 600 "$FERRY" "$@"; }
etag() { awsx s3api head-object --bucket "$B" --key "$1" --query ETag --output text 2>/dev/null; }
get() { awsx s3 cp "s3://$B/$1" "$2" --only-show-errors; }
cleanup() {
  s3_cleanup   # objects and multipart uploads under $P/
  psqlx -c "DROP TABLE IF EXISTS $T, ${T}_in, ${T}_one" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- a hostile table: 1,200,000 rows (more than 3 parts of 8 MiB as CSV)
psqlx <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS $T;
CREATE TABLE $T (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), created_at timestamptz, note text);
INSERT INTO $T SELECT g,
  (ARRAY['Ann','Bob','Zoë Ünïcode','李雷','O''Brien, Pat','Smith "Smitty"','Émile 🚀'])[(1 + g % 7)::int] || ' #' || (g % 1000),
  CASE WHEN g % 17 = 0 THEN NULL ELSE round(((g * 7919) % 10000000) / 100.0, 2) END,
  timestamptz '2024-01-01 00:00:00+00' + g * interval '6.123456 seconds',
  CASE g % 12 WHEN 0 THEN 'plain ' || g WHEN 1 THEN 'comma, separated' WHEN 2 THEN 'has "double" and ''single'' quotes'
    WHEN 3 THEN E'multi\nline\nnote' WHEN 4 THEN 'unicode: héllo ✓ 日本語 🚀' WHEN 5 THEN E'tab\there, CRLF\r\nend'
    WHEN 6 THEN '' WHEN 7 THEN E'backslash \\\\ and \\\\N literal' WHEN 8 THEN '"starts with quote' WHEN 9 THEN 'NULL'
    WHEN 10 THEN NULL ELSE repeat('x', (g % 50)::int) END
FROM generate_series(1::bigint, 1200000::bigint) g;
SQL
ORDER_Q="SELECT * FROM $T ORDER BY id"
psqlx -c "\\copy ($ORDER_Q) to stdout csv header" > ref.csv
check "reference CSV is larger than 3 parts" test "$(stat -c %s ref.csv)" -gt $((3 * 8 * 1024 * 1024))

# --- table and query exports, byte for byte
fr copy warehouse: --query "$ORDER_Q" "s3://$B/$P/orders.csv" --json > sum.json 2> err.txt
check "query -> s3 csv succeeds" grep -q '"ok":true' sum.json
check "summary counts 1,200,000 rows" python3 -c "import json; d=json.load(open('sum.json')); assert d['rows_read']==1200000, d"
get "$P/orders.csv" got.csv
check "s3 object equals psql \\copy byte for byte" cmp ref.csv got.csv
check "multipart ETag" bash -c "[[ '$(etag "$P/orders.csv")' == *-* ]]"
check "query -> s3 csv.gz" fr copy warehouse: --query "$ORDER_Q" "s3://$B/$P/orders.csv.gz" -q
get "$P/orders.csv.gz" got.csv.gz
check "csv.gz decompresses to psql's bytes" bash -c "gzip -dc got.csv.gz | cmp - ref.csv"
check "table -> stdout -> s3 pipeline" bash -c "set -o pipefail; '$FERRY' copy warehouse: --query '$ORDER_Q' - -q | '$FERRY' copy - 's3://$B/$P/piped.csv' -q"
check "s3 -> stdout equals psql" bash -c "'$FERRY' copy 's3://$B/$P/piped.csv' - -q | cmp - ref.csv"
check "--spool disk export" bash -c "'$FERRY' copy warehouse: --query '$ORDER_Q' 's3://$B/$P/spooled.csv' --spool disk -q && '$FERRY' cat 's3://$B/$P/spooled.csv' | cmp - ref.csv"
check "jsonl export" fr copy warehouse: --query "$ORDER_Q LIMIT 5000" "s3://$B/$P/orders.jsonl" -q
get "$P/orders.jsonl" got.jsonl
psqlx -At -c "SELECT json_agg(t ORDER BY id) FROM ($ORDER_Q LIMIT 5000) t" > ref.json
check "jsonl parses back to the rows" python3 - <<'PY'
import json
rows = [json.loads(l) for l in open('got.jsonl', encoding='utf-8')]
ref = json.load(open('ref.json', encoding='utf-8'))
assert len(rows) == 5000 and rows == ref, (len(rows), rows[:1], ref[:1])
PY
psqlx -c "CREATE TABLE ${T}_one AS SELECT * FROM $T WHERE id = 42" >/dev/null
check "a 1-row table" bash -c "'$FERRY' copy warehouse:public.${T}_one 's3://$B/$P/one.csv' -q && [ \$('$FERRY' cat 's3://$B/$P/one.csv' | wc -l) = 2 ]"
check "an empty result is a header-only object" bash -c "'$FERRY' copy warehouse: --query 'SELECT * FROM $T WHERE false' 's3://$B/$P/empty.csv' -q && [ \"\$('$FERRY' cat 's3://$B/$P/empty.csv')\" = 'id,customer,amount,created_at,note' ]"

# --- replace semantics
before=$(etag "$P/orders.csv")
expect_code "existing key without --replace exits 6" 6 fr copy warehouse:public.${T}_one "s3://$B/$P/orders.csv"
check "ETag unchanged" test "$before" = "$(etag "$P/orders.csv")"
check "--replace writes the new content" bash -c "'$FERRY' copy warehouse:public.${T}_one 's3://$B/$P/orders.csv' --replace -q && [ \$('$FERRY' cat 's3://$B/$P/orders.csv' | wc -l) = 2 ]"

# --- failure after several parts: old object intact, no upload left
fr copy warehouse: --query "$ORDER_Q" "s3://$B/$P/victim.csv" -q
good=$(etag "$P/victim.csv")
fr copy warehouse: --query "SELECT *, 1/(id - 1100000) FROM $T ORDER BY id" "s3://$B/$P/victim.csv" --replace > fail.out 2>&1; code=$?
check "query failing after several parts exits 7" test "$code" = 7
check "the error names postgres(warehouse)" grep -q "postgres(warehouse)" fail.out
check "old object intact after the failure" test "$good" = "$(etag "$P/victim.csv")"
check "no multipart upload left after the failure" test "$(uploads)" = 0
timeout 600 "$FERRY" copy warehouse: --query "SELECT t.*, pg_sleep(CASE WHEN id % 100000 = 0 THEN 1 ELSE 0 END) FROM $T t ORDER BY id" "s3://$B/$P/victim.csv" --replace -q 2> term.out &
fpid=$!; sleep 4; kill -TERM $fpid; wait $fpid; code=$?
check "SIGTERM mid-transfer exits 130" test "$code" = 130
check "old object intact after SIGTERM" test "$good" = "$(etag "$P/victim.csv")"
check "no multipart upload left after SIGTERM" test "$(uploads)" = 0

# --- errors a person can act on; no secret printed
fr copy badpg:public.$T "s3://$B/$P/x.csv" > e1 2>&1; code=$?
check "wrong Postgres password exits 4 and names badpg" bash -c "[ $code = 4 ] && grep -q 'postgres(badpg)' e1 && ! grep -q WrongPassw0rd e1"
expect_code "unreachable Postgres exits 4" 4 fr copy deadpg:public.$T "s3://$B/$P/x.csv"
expect_code "missing table exits 5" 5 fr copy warehouse:public.no_such_table_zz "s3://$B/$P/x.csv"
expect_code "missing bucket exits 5" 5 fr copy warehouse:public.${T}_one "s3://no-such-bucket-$$/x.csv"
fr copy warehouse:public.${T}_one "s3://$B/$P/x.csv" --s3-conn bads3 > e2 2>&1; code=$?
check "wrong S3 secret exits 4, names bads3, hides the secret" bash -c "[ $code = 4 ] && grep -q 's3(bads3)' e2 && ! grep -q WrongS3cretKey e2"
check "no object written by the failed runs" bash -c "! '$FERRY' ls 's3://$B/$P/' | grep -q '^x.csv'"
check "conn test warehouse" bash -c "'$FERRY' conn test warehouse | grep -qi postgres"
check "conn test aws_default" fr conn test aws_default
expect_code "conn test badpg exits 4" 4 fr conn test badpg
expect_code "conn test bads3 exits 4" 4 fr conn test bads3

# --- exec --json: the last statement's rows as JSON, NULL kept apart from ''
check "exec --json" bash -c "'$FERRY' exec warehouse: \"SELECT 1 AS a, NULL::text AS b, 'x,\\\"y' AS c, '' AS d\" --json -q | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r==[{\"a\":\"1\",\"b\":None,\"c\":\"x,\\\"y\",\"d\":\"\"}], r'"

# --- and back: S3 -> Postgres (COPY FROM STDIN, gzip decompressed, header handled)
psqlx -c "CREATE TABLE ${T}_in (LIKE $T)" >/dev/null
check "s3 csv.gz -> postgres table" fr copy "s3://$B/$P/orders.csv.gz" warehouse:public.${T}_in -q
check "loaded table equals the source (checksum in SQL)" bash -c "[ \"\$(psql -X -At '$PG_URI' -c \"SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM $T t\")\" = \"\$(psql -X -At '$PG_URI' -c \"SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM ${T}_in t\")\" ]"
check "--replace reload keeps the row count" bash -c "'$FERRY' copy 's3://$B/$P/orders.csv.gz' warehouse:public.${T}_in --replace -q && [ \$(psql -X -At '$PG_URI' -c 'SELECT count(*) FROM ${T}_in') = 1200000 ]"
finish

#!/usr/bin/env bash
# parquet.sh - Postgres -> Parquet (issue 15) read back by two independent
# readers, DuckDB from npm (@duckdb/node-api, installed here into
# $FERRY_SVC_DIR/npm/duckdb when missing, as scripts/install-deps.sh does)
# and hyparquet (npm, pure JavaScript, into $FERRY_SVC_DIR/npm/hyparquet;
# tests/harness/hyparquet_rows.mjs prints its rows):
# a table with every supported type, NULLs and extremes exported to a local
# .parquet, to S3 and to SFTP; every value compared with Postgres's own
# rendering; the Parquet schema (physical, logical and converted types) and
# the metadata (statistics, created_by, several row groups) checked; every
# codec; values Parquet cannot hold fail with exit 7 naming column and row and
# leave no file; dictionary encoding (RLE_DICTIONARY with its PLAIN fallback
# for high-cardinality columns and at the 1 MiB dictionary limit, all-null
# columns, one row, many row groups) read back by both.  And "a name never lies": a destination named for a format
# ferry cannot produce is refused with exit 2 before anything is written.
. "$(dirname "$0")/../lib.sh"
HYP_JS=$(cd "$(dirname "$0")/../harness" && pwd)/hyparquet_rows.mjs
. "$(dirname "$0")/../s3_lib.sh"
cd "$WORK"
load_services_env
B=$CEPH_S3_BUCKET
P="ferry-parquet-$$-$RANDOM"
T="it_parquet_$$"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
export AIRFLOW_CONN_MARIA="$MYSQL_URI"
export PGOPTIONS="-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=1"
psqlx() { timeout 120 psql -X -q -v ON_ERROR_STOP=1 "$PG_URI" "$@"; }
fr() { timeout 120 "$FERRY" "$@"; }
RD=ferry-parquet-$$
RHOME=${SFTP_HOME:-/nonexistent}/$RD
cleanup() {
  s3_cleanup
  psqlx -c "DROP TABLE IF EXISTS $T, ${T}_big, ${T}_bad, ${T}_dict; DROP TYPE IF EXISTS ${T}_mood" >/dev/null 2>&1
  rm -rf "$RHOME" "$WORK"
}
trap cleanup EXIT

# --- the witness: DuckDB from npm, installed once per machine
DUCKDB_VER=1.5.6-r.1
export DUCKDB_DIR=${FERRY_SVC_DIR:-/tmp/ferry-svc}/npm/duckdb
if ! grep -q "\"version\": \"$DUCKDB_VER\"" "$DUCKDB_DIR/node_modules/@duckdb/node-api/package.json" 2>/dev/null; then
  mkdir -p "$DUCKDB_DIR"
  printf '{"name":"ferry-test-duckdb","private":true,"dependencies":{"@duckdb/node-api":"%s"}}\n' "$DUCKDB_VER" \
    > "$DUCKDB_DIR/package.json"
  (cd "$DUCKDB_DIR" && timeout -k 10 600 npm install --no-audit --no-fund --loglevel=error </dev/null) > npm.log 2>&1 ||
    { fail "npm install @duckdb/node-api@$DUCKDB_VER" "$(tail -5 npm.log)"; finish; }
fi
cat > duck.cjs <<'EOF'
// node duck.cjs SQL...: each statement's rows, one JSON array a line
const { DuckDBInstance } = require(process.env.DUCKDB_DIR + '/node_modules/@duckdb/node-api');
(async () => {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  for (const q of process.argv.slice(2))
    for (const row of (await con.runAndReadAll(q)).getRowsJson()) console.log(JSON.stringify(row));
})().catch(e => { console.error(String(e)); process.exit(1); });
EOF
duck() { timeout 120 node duck.cjs "$@"; }
check "duckdb (npm) runs" duck "SELECT 42"
# --- the second witness: hyparquet + hyparquet-compressors from npm
HYP_VER=1.33.0 HYPC_VER=1.1.2   # scripts/install-deps.sh pins the same
export HYPARQUET_DIR=${FERRY_SVC_DIR:-/tmp/ferry-svc}/npm/hyparquet
if ! grep -q "\"version\": \"$HYP_VER\"" "$HYPARQUET_DIR/node_modules/hyparquet/package.json" 2>/dev/null ||
   ! grep -q "\"version\": \"$HYPC_VER\"" "$HYPARQUET_DIR/node_modules/hyparquet-compressors/package.json" 2>/dev/null; then
  mkdir -p "$HYPARQUET_DIR"
  printf '{"name":"ferry-test-hyparquet","private":true,"dependencies":{"hyparquet":"%s","hyparquet-compressors":"%s"}}\n' \
    "$HYP_VER" "$HYPC_VER" > "$HYPARQUET_DIR/package.json"
  (cd "$HYPARQUET_DIR" && timeout -k 10 600 npm install --no-audit --no-fund --loglevel=error </dev/null) > npm.log 2>&1 ||
    { fail "npm install hyparquet@$HYP_VER" "$(tail -5 npm.log)"; finish; }
fi
hyp() { timeout 120 node "$HYP_JS" "$@"; }

# out_has NAME TEXT: the last expect_code's output holds TEXT
out_has() { cp "$WORK/.out" "$WORK/.last"; check "$1" grep -qF -- "$2" "$WORK/.last"; }

# --- a name never lies (exit 2, nothing written)
printf 'a,b\n1,2\n' > a.csv
expect_code "csv -> .jsonl refused" 2 fr copy a.csv a.jsonl
out_has "  ... the message names both formats" "cannot convert a.csv (csv) to jsonl (a.jsonl)"
check "  ... and no a.jsonl" test ! -e a.jsonl
expect_code "csv -> .parquet refused" 2 fr copy a.csv a.parquet
expect_code "csv --format parquet refused" 2 fr copy a.csv a.out --format parquet
expect_code "--format jsonl into a .csv name refused" 2 fr copy warehouse:public.nothing_$$ x.csv --format jsonl
expect_code "mariadb missing table -> .parquet: not found (typed rows since parquet_mysql.sh)" 5 fr copy maria:nothing_$$ x.parquet
check "  ... and no x.parquet" test ! -e x.parquet
expect_code ".parquet -> .csv refused (no reader yet)" 2 fr copy x.parquet y.csv
expect_code ".parquet.gz refused (pages are compressed)" 2 fr copy warehouse:public.nothing_$$ x.parquet.gz
expect_code "--compress snappy for csv refused" 2 fr copy a.csv b.csv --compress snappy
expect_code "csv -> .csv.gz still works" 0 fr copy a.csv b.csv.gz
check "  ... --dry-run says refused" bash -c "! '$FERRY' copy a.csv a.jsonl --dry-run > dry.txt 2>&1; grep -q refused dry.txt"

# --- every type, NULLs and extremes
psqlx <<SQL
SET client_min_messages = warning;
CREATE TYPE ${T}_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE $T (id int, b bool, i2 smallint, i4 int, i8 bigint, f4 real, f8 double precision,
  n38 numeric(38,10), n52 numeric(5,2), n18 numeric(18,4), nfree numeric, t text, vc varchar(12), bp char(4),
  by bytea, d date, tm time, ts timestamp, tz timestamptz, iv interval, u uuid, j json, jb jsonb,
  mood ${T}_mood, arr int[], "Ünïcode col" text);
INSERT INTO $T VALUES
 (1, true, 12, 345, 6789, 1.5, 2.25, 12.34, 1.5, 7.0001, 3.14159, 'plain', 'var', 'ab', '\x0102',
  '2024-02-29', '12:34:56.789', '2024-01-01 10:00:00', '2024-01-01 10:00:00+02', '1 year 2 mons 3 days 04:05:06.7',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": {"c": null}}', 'happy', '{1,2,3}', 'x'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, false, -32768, -2147483648, -9223372036854775808, -3.4028235e38, -1.7976931348623157e308,
  -9999999999999999999999999999.9999999999, -999.99, -99999999999999.9999,
  '-123456789012345678901234567890.123456789012345678901234567890', '', '', '', '\x',
  '1900-01-01', '00:00:00', '1900-01-01 00:00:00.000001', '1901-12-13 20:45:52.123456+00', '-1 years -2 days',
  '00000000-0000-0000-0000-000000000000', '{}', '[]', 'sad', '{}', ''),
 (4, true, 32767, 2147483647, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308,
  9999999999999999999999999999.9999999999, 999.99, 99999999999999.9999, '0.000000000000000000001',
  E'tab\there\nnew line \u0001 ctl, "quoted" \\\\ back', 'Zoë 李雷 🚀', 'ü', '\xff00fe',
  '9999-12-31', '23:59:59.999999', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00', '00:00:00.000001',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '"just a string"', '{"z": 1, "a": [true, false]}', 'ok', '{-1,NULL}', '🚀'),
 (5, false, 0, 0, 0, 'NaN', '-Infinity', 0, -0.01, 0.0001, 'NaN', ' ', NULL, NULL, '', '1969-12-31', '00:00:00.000001',
  '1969-12-31 23:59:59.999999', '1970-01-01 00:00:00+00', '0', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'null', 'null',
  NULL, NULL, NULL);
SQL
COLS="id b i2 i4 i8 f4 f8 n38 n52 n18 nfree t vc bp by d tm ts tz iv u j jb mood arr uni"
# Postgres's own rendering, one JSON array of texts a row (bpchar keeps its padding via format())
psqlx -At -c "SELECT json_build_array(id::text, b::text, i2::text, i4::text, i8::text, f4::text, f8::text, n38::text,
  n52::text, n18::text, nfree::text, t, vc::text, CASE WHEN bp IS NULL THEN NULL ELSE format('%s', bp) END, encode(by, 'hex'), d::text, tm::text, ts::text,
  (extract(epoch FROM tz) * 1000000)::numeric(30,0)::text, iv::text, u::text, j::text, jb::text, mood::text,
  arr::text, \"Ünïcode col\") FROM $T ORDER BY id" > pg.jsonl
duck_rows() { # FILE: DuckDB's rendering of the same
  duck "SELECT CAST(id AS VARCHAR), CAST(b AS VARCHAR), CAST(i2 AS VARCHAR), CAST(i4 AS VARCHAR), CAST(i8 AS VARCHAR),
    CAST(f4 AS VARCHAR), CAST(f8 AS VARCHAR), CAST(n38 AS VARCHAR), CAST(n52 AS VARCHAR), CAST(n18 AS VARCHAR), nfree,
    t, vc, bp, lower(hex(\"by\")), CAST(d AS VARCHAR), CAST(tm AS VARCHAR), CAST(ts AS VARCHAR), CAST(epoch_us(tz) AS VARCHAR),
    iv, CAST(u AS VARCHAR), CAST(j AS VARCHAR), CAST(jb AS VARCHAR), mood, arr, \"Ünïcode col\"
    FROM read_parquet('$1') ORDER BY id"
}
cat > cmp.py <<'EOF'
# cmp.py PG READER COLS...: every value equal (floats as numbers, f4 as
# float32, NaN = NaN); READER in the environment names the reader (duckdb)
import json, math, os, struct, sys
who = os.environ.get('READER', 'duckdb')
pg = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
dk = [json.loads(l) for l in open(sys.argv[2], encoding='utf-8')]
cols = sys.argv[3:]
assert len(pg) == len(dk), (len(pg), len(dk))
bad = 0
for r, (a, b) in enumerate(zip(pg, dk)):
    for c, (x, y) in enumerate(zip(a, b)):
        same = x == y
        if not same and x is not None and y is not None and cols[c] in ('f4', 'f8'):
            fx, fy = float(x), float(y)
            if cols[c] == 'f4':
                fx, fy = (struct.unpack('f', struct.pack('f', v))[0] for v in (fx, fy))
            same = fx == fy or (math.isnan(fx) and math.isnan(fy))
        if not same:
            bad += 1
            print(f'row {r + 1} column {cols[c]}: postgres {x!r} {who} {y!r}')
sys.exit(1 if bad else 0)
EOF

expect_code "pg table -> local .parquet" 0 fr copy warehouse:public.$T all.parquet --json
out_has "  ... summary counts 5 rows" '"rows_written":5,' 
check "  ... starts and ends with PAR1" bash -c '[ "$(head -c4 all.parquet)" = PAR1 ] && [ "$(tail -c4 all.parquet)" = PAR1 ]'
duck_rows all.parquet > duck.jsonl 2> duck.err
check "duckdb reads every value as postgres renders it" python3 cmp.py pg.jsonl duck.jsonl $COLS
[ -s duck.err ] && cat duck.err
duck "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('all.parquet'))" > types.txt
want_type() { check "  duckdb type of $1 is $2" grep -qxF "[\"$1\",\"$2\"]" types.txt; }
want_type b BOOLEAN; want_type i2 SMALLINT; want_type i4 INTEGER; want_type i8 BIGINT; want_type f4 FLOAT
want_type f8 DOUBLE; want_type n38 "DECIMAL(38,10)"; want_type n52 "DECIMAL(5,2)"; want_type n18 "DECIMAL(18,4)"
want_type nfree VARCHAR; want_type by BLOB; want_type d DATE; want_type tm TIME; want_type ts TIMESTAMP
want_type tz "TIMESTAMP WITH TIME ZONE"; want_type u UUID; want_type "Ünïcode col" VARCHAR
duck "SELECT name, type, type_length, converted_type, logical_type FROM parquet_schema('all.parquet')" > schema.txt
check "  n38 is FIXED_LEN_BYTE_ARRAY(16) DECIMAL" grep -q '^\["n38","FIXED_LEN_BYTE_ARRAY","16","DECIMAL","DecimalType(scale=10, precision=38)"\]' schema.txt
check "  n52 is INT32 DECIMAL(5,2)" grep -q '^\["n52","INT32",null,"DECIMAL","DecimalType(scale=2, precision=5)"\]' schema.txt
check "  n18 is INT64 DECIMAL(18,4)" grep -q '^\["n18","INT64",null,"DECIMAL"' schema.txt
check "  tz is TIMESTAMP(UTC, MICROS)" grep -q '^\["tz","INT64",null,"TIMESTAMP_MICROS","TimestampType(isAdjustedToUTC=1' schema.txt
check "  ts is TIMESTAMP(local, MICROS)" grep -q '^\["ts","INT64",null,null,"TimestampType(isAdjustedToUTC=0' schema.txt
check "  u is FLBA(16) UUID" grep -q '^\["u","FIXED_LEN_BYTE_ARRAY","16",null,"UUIDType()"\]' schema.txt
check "  j and jb are JSON" bash -c "grep -q '^\[\"j\",\"BYTE_ARRAY\",null,\"JSON\"' schema.txt && grep -q '^\[\"jb\",\"BYTE_ARRAY\",null,\"JSON\"' schema.txt"
check "  t is STRING" grep -q '^\["t","BYTE_ARRAY",null,"UTF8","StringType()"\]' schema.txt
duck "SELECT created_by, num_rows, num_row_groups FROM parquet_file_metadata('all.parquet')" > fmeta.txt
check "  created_by is ferry version X (build Y)" grep -q '^\["ferry version [0-9.]* (build [^)]*)","5","1"\]' fmeta.txt
duck "SELECT path_in_schema, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata('all.parquet')" > stats.txt
check "  i8 statistics: min/max int8, 1 null" grep -qxF '["i8","-9223372036854775808","9223372036854775807","1"]' stats.txt
check "  n38 statistics by signed order" grep -qxF '["n38","-9999999999999999999999999999.9999999999","9999999999999999999999999999.9999999999","1"]' stats.txt
check "  f4 statistics skip NaN" grep -qxF '["f4","-3.4028235e+38","3.4028235e+38","1"]' stats.txt
check "  t statistics: empty string is the min" grep -q '^\["t","","tab' stats.txt
check "  ts statistics before 1970" grep -qxF '["ts","1900-01-01 00:00:00.000001","9999-12-31 23:59:59.999999","1"]' stats.txt
# hyparquet's canonical form (decimals exact, DATE in days, TIME/TIMESTAMP in microseconds, bytes in hex)
psqlx -At -c "SELECT json_build_array(id::text, b::text, i2::text, i4::text, i8::text, f4::text, f8::text, n38::text,
  n52::text, n18::text, nfree::text, t, vc::text, CASE WHEN bp IS NULL THEN NULL ELSE format('%s', bp) END, encode(by, 'hex'),
  (d - date '1970-01-01')::text, (extract(epoch FROM tm) * 1000000)::numeric(20,0)::text,
  (extract(epoch FROM ts) * 1000000)::numeric(30,0)::text, (extract(epoch FROM tz) * 1000000)::numeric(30,0)::text,
  iv::text, u::text, j::text, jb::text, mood::text, arr::text, \"Ünïcode col\") FROM $T ORDER BY id" > pg_hy.jsonl
hyp all.parquet > hy.jsonl 2> hy.err
check "hyparquet reads every value as postgres renders it" env READER=hyparquet python3 cmp.py pg_hy.jsonl hy.jsonl $COLS
[ -s hy.err ] && cat hy.err

# --- S3 and SFTP: the same bytes, published atomically by their sinks
expect_code "pg table -> s3 .parquet" 0 fr copy warehouse:public.$T "s3://$B/$P/all.parquet"
awsx s3 cp "s3://$B/$P/all.parquet" s3.parquet --only-show-errors
check "  s3 object equals the local file" cmp all.parquet s3.parquet
duck_rows s3.parquet > duck_s3.jsonl 2>&1
check "  duckdb reads the s3 copy's values" python3 cmp.py pg.jsonl duck_s3.jsonl $COLS
if [ -n "${SFTP_URI:-}" ] && [ -d "${SFTP_HOME:-/nonexistent}" ]; then
  install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"
  export AIRFLOW_CONN_SFTP_PQ="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
  expect_code "pg query -> sftp .parquet" 0 fr copy warehouse: --query "SELECT * FROM $T" "sftp_pq:$RD/q.parquet"
  check "  the sftp file equals the local one" cmp all.parquet "$RHOME/q.parquet"
else
  skip "no SFTP server in the env file"
fi

# --- codecs; many pages and row groups
psqlx -c "CREATE TABLE ${T}_big AS SELECT g AS id, ((g * 7919 % 100000)::numeric(12,2) / 7)::numeric(14,4) AS amount,
  CASE WHEN g % 11 = 0 THEN NULL ELSE 'customer ' || (g % 977) END AS name,
  timestamptz '2020-01-01' + g * interval '1 second' AS at_ts FROM generate_series(1, 200000) g"
psqlx -At -c "SELECT count(*), sum(id), sum(amount), count(name), sum(length(name)), sum(extract(epoch FROM at_ts))::bigint FROM ${T}_big" > big_pg.txt
for codec in snappy zstd gzip none; do
  expect_code "200,000 rows --compress $codec" 0 fr copy warehouse:public.${T}_big "big_$codec.parquet" --compress $codec --row-group-size 1M
  duck "SELECT count(*), sum(id), sum(amount), count(name), sum(length(name)), sum(epoch(at_ts))::BIGINT FROM read_parquet('big_$codec.parquet')" > big_$codec.txt
  check "  duckdb's aggregates equal postgres's ($codec)" python3 -c "
import json; p = open('big_pg.txt').read().strip().split('|'); d = json.loads(open('big_$codec.txt').read())
assert [str(x) for x in p] == [str(x) for x in d], (p, d)"
done
hyp "big_snappy.parquet" > "big_hy_snappy.jsonl"
check "  hyparquet's aggregates equal postgres's (snappy; zstd, gzip and none below)" python3 -c "
import json; from decimal import Decimal
p = open('big_pg.txt').read().strip().split('|')
rows = [json.loads(l) for l in open('big_hy_snappy.jsonl')]
names = [r[2] for r in rows if r[2] is not None]
h = [len(rows), sum(int(r[0]) for r in rows), sum(Decimal(r[1]) for r in rows), len(names),
     sum(len(n) for n in names), sum(int(r[3]) for r in rows) // 1000000]
assert [str(x) for x in p] == [str(x) for x in h], (p, h)"
duck "SELECT DISTINCT compression FROM parquet_metadata('big_zstd.parquet')" > zc.txt
check "  zstd chunks say ZSTD" grep -qx '\["ZSTD"\]' zc.txt
duck "SELECT num_row_groups FROM parquet_file_metadata('big_snappy.parquet')" > rg.txt
check "  --row-group-size 1M gives several row groups" python3 -c "import json; assert int(json.loads(open('rg.txt').read())[0]) > 1"
check "  snappy is smaller than none" test "$(stat -c %s big_snappy.parquet)" -lt "$(stat -c %s big_none.parquet)"

# --- dictionary encoding: low and high cardinality, the 1 MiB limit, all NULL, one row, many row groups
# lim: 400-byte values, each 4 times: the dictionary reaches 1 MiB after ~10,400 rows, the rest is PLAIN
psqlx -c "CREATE TABLE ${T}_dict AS SELECT g AS id,
  CASE WHEN g % 13 = 0 THEN NULL WHEN g % 13 = 1 THEN '' ELSE
    (ARRAY['plain', 'Zoë', '李雷', '🚀 rocket', E'tab\there', 'x'])[1 + g % 6] || (g % 40) END AS low,
  md5(g::text) AS hi, rpad('value number ' || (g / 4), 400, '.') AS lim,
  CASE WHEN g % 3 = 0 THEN NULL ELSE g % 7 - 3 END AS small, NULL::text AS nothing,
  ((g % 50) * 1.25)::numeric(12,2) AS amount, ('00000000-0000-0000-0000-' || lpad((g % 20)::text, 12, '0'))::uuid AS u,
  (g % 9) / 4.0::float8 AS f8, timestamptz '2024-01-01' + (g % 100) * interval '1 hour' AS seen, g % 2 = 0 AS flag
  FROM generate_series(1, 16000) g"
DCOLS="id low hi lim small nothing amount u f8 seen flag"
dict_pg() { # WHERE: postgres's rendering, in hyparquet's and duckdb's canonical form
  psqlx -At -c "SELECT json_build_array(id::text, low, hi, lim, small::text, nothing, amount::text, u::text, f8::text,
    (extract(epoch FROM seen) * 1000000)::numeric(30,0)::text, flag::text) FROM ${T}_dict $1 ORDER BY id"
}
dict_duck() { # FILE
  duck "SELECT CAST(id AS VARCHAR), low, hi, lim, CAST(small AS VARCHAR), nothing, CAST(amount AS VARCHAR),
    CAST(u AS VARCHAR), CAST(f8 AS VARCHAR), CAST(epoch_us(seen) AS VARCHAR), CAST(flag AS VARCHAR)
    FROM read_parquet('$1') ORDER BY id"
}
dict_pg "" > dict_pg.jsonl
expect_code "16,000 rows with repeats -> .parquet (one row group)" 0 fr copy warehouse:public.${T}_dict dict.parquet
dict_duck dict.parquet > dict_duck.jsonl 2>&1
check "  duckdb reads every value" python3 cmp.py dict_pg.jsonl dict_duck.jsonl $DCOLS
hyp dict.parquet > dict_hy.jsonl 2>&1
check "  hyparquet reads every value" env READER=hyparquet python3 cmp.py dict_pg.jsonl dict_hy.jsonl $DCOLS
hyp --meta dict.parquet > dict_meta.jsonl 2>&1
meta_is() { # NAME COLUMN PYTHON-EXPRESSION over m (the chunk) and cs (every chunk of the column)
  check "$1" python3 -c "
import json, sys
cs = [m for m in map(json.loads, open('$HYP_META')) if m['column'] == '$2']
m = cs[0]
assert $3, m"
}
HYP_META=dict_meta.jsonl
meta_is "  low: dictionary page first, every data page RLE_DICTIONARY" low \
  "m['encodings'] == ['PLAIN', 'RLE', 'RLE_DICTIONARY'] and m['encoding_stats'][0] == 'DICTIONARY_PAGE/PLAIN/1' and all(s.startswith('DATA_PAGE/RLE_DICTIONARY/') for s in m['encoding_stats'][1:]) and int(m['dictionary_page_offset']) < int(m['data_page_offset'])"
meta_is "  hi (all distinct): PLAIN, no dictionary page" hi \
  "m['dictionary_page_offset'] is None and m['encodings'] == ['PLAIN', 'RLE'] and all(s.startswith('DATA_PAGE/PLAIN/') for s in m['encoding_stats'])"
meta_is "  lim: dictionary pages, then PLAIN at the 1 MiB limit" lim \
  "m['dictionary_page_offset'] is not None and any(s.startswith('DATA_PAGE/RLE_DICTIONARY/') for s in m['encoding_stats']) and any(s.startswith('DATA_PAGE/PLAIN/') for s in m['encoding_stats'])"
meta_is "  nothing (all NULL): 16000 nulls" nothing "m['null_count'] == '16000'"
meta_is "  flag (BOOLEAN) stays PLAIN" flag "m['dictionary_page_offset'] is None and m['encodings'] == ['PLAIN', 'RLE']"
for col in small amount u f8 seen; do
  meta_is "  $col: RLE_DICTIONARY" $col "'RLE_DICTIONARY' in m['encodings'] and m['dictionary_page_offset'] is not None"
done
duck "SELECT path_in_schema, dictionary_page_offset IS NOT NULL AND dictionary_page_offset < data_page_offset, stats_min_value, stats_max_value, stats_null_count
  FROM parquet_metadata('dict.parquet')" > dict_stats.txt
check "  duckdb: low's dictionary page before its data, statistics min '' max 🚀… and 1230 nulls" \
  grep -qxF '["low",true,"","🚀 rocket9","1230"]' dict_stats.txt
check "  duckdb: amount's statistics over the dictionary-encoded values" grep -qxF '["amount",true,"0.00","61.25","0"]' dict_stats.txt
expect_code "the same, uncompressed" 0 fr copy warehouse:public.${T}_dict dict_none.parquet --compress none
hyp --meta dict_none.parquet > dict_none_meta.jsonl 2>&1
HYP_META=dict_none_meta.jsonl
meta_is "  lim's dictionary page holds between 1 MiB - 404 bytes and 1 MiB (+ its header)" lim \
  "1048576 - 404 <= int(m['data_page_offset']) - int(m['dictionary_page_offset']) <= 1048576 + 32"
expect_code "many row groups (--row-group-size 64K, zstd)" 0 fr copy warehouse:public.${T}_dict dict_rg.parquet --row-group-size 64K --compress zstd
hyp --meta dict_rg.parquet > dict_rg_meta.jsonl 2>&1
HYP_META=dict_rg_meta.jsonl
meta_is "  several row groups, each with its own dictionary for low" low \
  "len(cs) > 2 and all(c['dictionary_page_offset'] is not None for c in cs)"
dict_duck dict_rg.parquet > dict_rg_duck.jsonl 2>&1
check "  duckdb reads every value" python3 cmp.py dict_pg.jsonl dict_rg_duck.jsonl $DCOLS
hyp dict_rg.parquet > dict_rg_hy.jsonl 2>&1
check "  hyparquet reads every value" env READER=hyparquet python3 cmp.py dict_pg.jsonl dict_rg_hy.jsonl $DCOLS
for id in 13 14; do # one row: low NULL, then low ''
  expect_code "one row (id $id) -> .parquet" 0 fr copy warehouse: --query "SELECT * FROM ${T}_dict WHERE id = $id" one_$id.parquet --compress gzip
  dict_pg "WHERE id = $id" > one_pg.jsonl
  dict_duck one_$id.parquet > one_duck.jsonl 2>&1
  check "  duckdb reads it" python3 cmp.py one_pg.jsonl one_duck.jsonl $DCOLS
  hyp one_$id.parquet > one_hy.jsonl 2>&1
  check "  hyparquet reads it" env READER=hyparquet python3 cmp.py one_pg.jsonl one_hy.jsonl $DCOLS
done

# --- what Parquet cannot hold: exit 7 naming column and row, no file
psqlx -c "CREATE TABLE ${T}_bad (id int, n numeric(10,2), ts timestamp); INSERT INTO ${T}_bad VALUES (1, 1, now()), (2, 'NaN', now()), (3, 2, 'infinity')"
expect_code "numeric(10,2) NaN -> exit 7" 7 fr copy warehouse: --query "SELECT id, n FROM ${T}_bad ORDER BY id" bad.parquet
out_has "  ... names column and row" "column n, row 2: NaN cannot be written as DECIMAL(10,2)"
check "  ... and leaves no file" bash -c "! ls -A | grep -q 'bad.parquet'"
expect_code "timestamp infinity -> exit 7" 7 fr copy warehouse: --query "SELECT id, ts FROM ${T}_bad ORDER BY id" bad.parquet
out_has "  ... names column and row" "column ts, row 3: timestamp 'infinity'"
expect_code "the same NaN as text is written" 0 fr copy warehouse: --query "SELECT id, n::text AS n FROM ${T}_bad ORDER BY id" ok.parquet
expect_code "an existing .parquet is refused (exit 6)" 6 fr copy warehouse:public.$T all.parquet

finish

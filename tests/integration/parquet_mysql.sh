#!/usr/bin/env bash
# parquet_mysql.sh - MariaDB -> Parquet with exact types (issue 15): typed rows
# through prepared statements (hooks/mysql/my_typed.c), read back by DuckDB
# from npm (@duckdb/node-api, installed into $FERRY_SVC_DIR/npm/duckdb when
# missing, as in parquet.sh).  A table with every type of the table in
# docs/formats.md, NULLs, extremes, unicode, control characters, empty strings
# and a 100 KB text: DuckDB's column types (DESCRIBE) and every value compared
# with what the mariadb client prints.  Local, S3 (read back) and, when the
# env file has one, SFTP.  A 100,000-row table streamed in several row groups,
# aggregates compared.  What Parquet cannot hold: zero dates and TIME outside
# a day are exit 7 naming column and row (no file), GEOMETRY is exit 2 naming
# column and type.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
cd "$WORK"
load_services_env
B=$CEPH_S3_BUCKET
P="ferry-pqmy-$$-$RANDOM"
T="it_pqmy_$$"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
export AIRFLOW_CONN_MARIA="$MYSQL_URI"
myx() {
  MYSQL_PWD=$MYSQL_PASSWORD timeout 120 mariadb --no-defaults -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" \
    --default-character-set=utf8mb4 "--init-command=SET time_zone = '+00:00'" "$MYSQL_DATABASE" "$@"
}
fr() { timeout 120 "$FERRY" "$@"; }
RD=ferry-pqmy-$$
RHOME=${SFTP_HOME:-/nonexistent}/$RD
cleanup() {
  s3_cleanup
  myx -e "DROP TABLE IF EXISTS $T, ${T}_big, ${T}_bad, ${T}_geo" >/dev/null 2>&1
  rm -rf "$RHOME" "$WORK"
}
trap cleanup EXIT
check "mariadb client reaches the server" myx -e "SELECT 1"

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
// node duck.cjs OUT SQL [OUT SQL]...: each statement's rows into its file, one JSON array a line
const fs = require('fs');
const { DuckDBInstance } = require(process.env.DUCKDB_DIR + '/node_modules/@duckdb/node-api');
(async () => {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const a = process.argv.slice(2);
  for (let i = 0; i + 1 < a.length; i += 2)
    fs.writeFileSync(a[i], (await con.runAndReadAll(a[i + 1])).getRowsJson().map(r => JSON.stringify(r) + '\n').join(''));
})().catch(e => { console.error(String(e)); process.exit(1); });
EOF
duck() { timeout 120 node duck.cjs "$@"; }
out_has() { cp "$WORK/.out" "$WORK/.last"; check "$1" grep -qF -- "$2" "$WORK/.last"; }

# --- every type, NULLs and extremes
myx <<SQL
CREATE TABLE $T (id int PRIMARY KEY, ti tinyint, tu tinyint unsigned, si smallint, su smallint unsigned,
  mi mediumint, mu mediumint unsigned, i int, iu int unsigned, bi bigint, bu bigint unsigned,
  f float, g double, d52 decimal(5,2), d18 decimal(18,4), d38 decimal(38,10), du decimal(10,0) unsigned,
  d65 decimal(65,30), dd date, dt datetime(6), ts timestamp(6) NULL DEFAULT NULL, tm time(6), y year,
  c char(4), v varchar(50), tx text, mt mediumtext, bn binary(4), vb varbinary(10), bl blob,
  b1 bit(1), b12 bit(12), b64 bit(64), e enum('sad','ok','happy'), st set('x','y','z'), j json,
  \`Ünïcode col\` varchar(10)) DEFAULT CHARSET=utf8mb4;
INSERT INTO $T VALUES
 (1, 12, 200, 1234, 50000, 123456, 16000000, 345, 3000000000, 6789, 10000000000000000000,
  1.5, 2.25, 123.45, 7.0001, 12.34, 4294967296, 3.14159, '2024-02-29', '2024-01-01 10:00:00.5',
  '2024-01-01 10:00:00', '12:34:56.789', 2024, 'ab', 'var', 'plain', 'medium', x'01', x'0102', x'00ff',
  b'1', b'101010101010', b'1', 'happy', 'x,z', '{"a": [1, 2]}', 'x'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -3.25, -1.7976931348623157e308, -999.99, -99999999999999.9999, -9999999999999999999999999999.9999999999, 0,
  -99999999999999999999999999999999999.999999999999999999999999999999, '1000-01-01', '1000-01-01 00:00:00',
  '1970-01-01 00:00:01', '00:00:00', 1901, '', '', '', '', x'', x'', x'',
  b'0', b'0', b'0', 'sad', '', '{}', ''),
 (4, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
  16777216, 1.7976931348623157e308, 999.99, 99999999999999.9999, 9999999999999999999999999999.9999999999,
  9999999999, 0.000000000000000000000000000001, '9999-12-31', '9999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07.999999', '23:59:59.999999', 2155, 'ü', 'Zoë 李雷 🚀',
  CONCAT('tab\there', CHAR(10), 'new line ', CHAR(1), ' ctl, "quoted" \\\\ back'), REPEAT('é', 50000),
  x'ffffffff', x'ff00fe', REPEAT(x'ab', 60000), b'1', b'111111111111', b'1111111111111111111111111111111111111111111111111111111111111111',
  'ok', 'x,y,z', '[true, false, null, "🚀"]', '🚀'),
 (5, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0.1, -0.01, 0.0001, 0, 1, -0.5, '1969-12-31', '1969-12-31 23:59:59.999999',
  '2000-02-29 12:00:00.000001', '00:00:00.000001', 2000, ' ', ' ', ' ', NULL, x'00000000', x'00', NULL,
  b'0', b'100000000000', b'1000000000000000000000000000000000000000000000000000000000000000', NULL, NULL,
  'null', NULL);
SQL
COLS="id ti tu si su mi mu i iu bi bu f g d52 d18 d38 du d65 dd dt ts tm y c v tx mt bn vb bl b1 b12 b64 e st j uni"
# The mariadb client's rendering, one JSON array of texts a row
myx -N -B --raw -e "SELECT JSON_ARRAY(CAST(id AS CHAR), CAST(ti AS CHAR), CAST(tu AS CHAR), CAST(si AS CHAR),
  CAST(su AS CHAR), CAST(mi AS CHAR), CAST(mu AS CHAR), CAST(i AS CHAR), CAST(iu AS CHAR), CAST(bi AS CHAR),
  CAST(bu AS CHAR), CAST(CAST(f AS DOUBLE) AS CHAR), CAST(g AS CHAR), CAST(d52 AS CHAR), CAST(d18 AS CHAR),
  CAST(d38 AS CHAR), CAST(du AS CHAR), CAST(d65 AS CHAR), CAST(dd AS CHAR), CAST(dt AS CHAR),
  CAST(UNIX_TIMESTAMP(ts) AS CHAR), CAST(tm AS CHAR), CAST(y AS CHAR), c, v, tx, mt, HEX(bn), HEX(vb), HEX(bl),
  CAST(b1 + 0 AS CHAR), CAST(b12 + 0 AS CHAR), CAST(b64 + 0 AS CHAR), e, st, CONCAT('', j), \`Ünïcode col\`)
  FROM $T ORDER BY id" > my.jsonl
duck_rows() { # FILE: DuckDB's rendering of the same (a query for duck)
  echo "SELECT CAST(id AS VARCHAR), CAST(ti AS VARCHAR), CAST(tu AS VARCHAR), CAST(si AS VARCHAR), CAST(su AS VARCHAR),
    CAST(mi AS VARCHAR), CAST(mu AS VARCHAR), CAST(i AS VARCHAR), CAST(iu AS VARCHAR), CAST(bi AS VARCHAR),
    CAST(bu AS VARCHAR), CAST(CAST(f AS DOUBLE) AS VARCHAR), CAST(g AS VARCHAR), CAST(d52 AS VARCHAR),
    CAST(d18 AS VARCHAR), CAST(d38 AS VARCHAR), CAST(du AS VARCHAR), d65, CAST(dd AS VARCHAR), CAST(dt AS VARCHAR),
    CAST(epoch_us(ts) AS VARCHAR), CAST(tm AS VARCHAR), CAST(y AS VARCHAR), c, v, tx, mt, hex(bn), hex(vb), hex(bl),
    CAST(CAST(b1 AS INTEGER) AS VARCHAR), CAST(b12 AS VARCHAR), CAST(b64 AS VARCHAR), e, st, CAST(j AS VARCHAR),
    \"Ünïcode col\" FROM read_parquet('$1') ORDER BY id"
}
cat > cmp.py <<'EOF'
# cmp.py MY DUCK COLS...: every value equal (floats as numbers, fractions of
# seconds without trailing zeros, TIMESTAMP as epoch microseconds)
import json, sys
from decimal import Decimal
my = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
dk = [json.loads(l) for l in open(sys.argv[2], encoding='utf-8')]
cols = sys.argv[3:]
assert len(my) == len(dk), (len(my), len(dk))
def norm(col, x, duck):
    if x is None:
        return None
    if col in ('f', 'g'):
        return float(x)
    if col == 'ts':
        return int(x) if duck else int(Decimal(x) * 1000000)
    if col in ('dt', 'tm') and '.' in x:
        return x.rstrip('0').rstrip('.')
    return x
bad = 0
for r, (a, b) in enumerate(zip(my, dk)):
    assert len(a) == len(cols) == len(b), (len(a), len(cols), len(b))
    for c, (x, y) in enumerate(zip(a, b)):
        if norm(cols[c], x, False) != norm(cols[c], y, True):
            bad += 1
            print(f'row {r + 1} column {cols[c]}: mariadb {x!r:.80} duckdb {y!r:.80}')
sys.exit(1 if bad else 0)
EOF

expect_code "mariadb table -> local .parquet" 0 fr copy maria:$T all.parquet --json
out_has "  ... summary counts 5 rows" '"rows_written":5,'
check "  ... starts and ends with PAR1" bash -c '[ "$(head -c4 all.parquet)" = PAR1 ] && [ "$(tail -c4 all.parquet)" = PAR1 ]'
duck duck.jsonl "$(duck_rows all.parquet)" \
  types.txt "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('all.parquet'))" \
  schema.txt "SELECT name, type, type_length, converted_type, logical_type FROM parquet_schema('all.parquet')" \
  empty.txt "SELECT count(*) FROM read_parquet('all.parquet') WHERE v = '' AND tx = '' AND c = ''" 2> duck.err
check "duckdb reads every value as the mariadb client prints it" python3 cmp.py my.jsonl duck.jsonl $COLS
[ -s duck.err ] && cat duck.err
want_type() { check "  duckdb type of $1 is $2" grep -qxF "[\"$1\",\"$2\"]" types.txt; }
want_type ti TINYINT; want_type tu UTINYINT; want_type si SMALLINT; want_type su USMALLINT; want_type mi INTEGER
want_type mu UINTEGER; want_type i INTEGER; want_type iu UINTEGER; want_type bi BIGINT; want_type bu UBIGINT
want_type f FLOAT; want_type g DOUBLE; want_type d52 "DECIMAL(5,2)"; want_type d18 "DECIMAL(18,4)"
want_type d38 "DECIMAL(38,10)"; want_type du "DECIMAL(10,0)"; want_type d65 VARCHAR; want_type dd DATE
want_type dt TIMESTAMP; want_type ts "TIMESTAMP WITH TIME ZONE"; want_type tm TIME; want_type y SMALLINT
want_type c VARCHAR; want_type v VARCHAR; want_type tx VARCHAR; want_type mt VARCHAR; want_type bn BLOB
want_type vb BLOB; want_type bl BLOB; want_type b1 BOOLEAN; want_type b12 USMALLINT; want_type b64 UBIGINT
want_type e VARCHAR; want_type st VARCHAR; want_type j JSON; want_type "Ünïcode col" VARCHAR
check "  d38 is FIXED_LEN_BYTE_ARRAY(16) DECIMAL(38,10)" grep -q '^\["d38","FIXED_LEN_BYTE_ARRAY","16","DECIMAL","DecimalType(scale=10, precision=38)"\]' schema.txt
check "  d52 is INT32 DECIMAL(5,2)" grep -q '^\["d52","INT32",null,"DECIMAL","DecimalType(scale=2, precision=5)"\]' schema.txt
check "  d18 is INT64 DECIMAL(18,4)" grep -q '^\["d18","INT64",null,"DECIMAL"' schema.txt
check "  bu is INT64 UINT_64" grep -q '^\["bu","INT64",null,"UINT_64"' schema.txt
check "  ts is TIMESTAMP(UTC, MICROS)" grep -q '^\["ts","INT64",null,"TIMESTAMP_MICROS","TimestampType(isAdjustedToUTC=1' schema.txt
check "  dt is TIMESTAMP(local, MICROS)" grep -q '^\["dt","INT64",null,null,"TimestampType(isAdjustedToUTC=0' schema.txt
check "  j is JSON" grep -q '^\["j","BYTE_ARRAY",null,"JSON"' schema.txt
check "  d65 is STRING (beyond DECIMAL(38))" grep -q '^\["d65","BYTE_ARRAY",null,"UTF8","StringType()"\]' schema.txt
check "  empty strings stay empty strings (not NULL)" grep -qxF '["1"]' empty.txt

# --- S3 (read back), a --query, SFTP
expect_code "mariadb table -> s3 .parquet" 0 fr copy maria:$T "s3://$B/$P/all.parquet"
expect_code "  read back" 0 fr copy "s3://$B/$P/all.parquet" s3.parquet
check "  s3 object equals the local file" cmp all.parquet s3.parquet
expect_code "mariadb --query -> s3 .parquet" 0 fr copy maria: --query "SELECT * FROM $T ORDER BY id" "s3://$B/$P/q.parquet"
expect_code "  read back" 0 fr copy "s3://$B/$P/q.parquet" q.parquet
check "  the query's file equals the table's (same rows, same order)" cmp all.parquet q.parquet
if [ -n "${SFTP_URI:-}" ] && [ -d "${SFTP_HOME:-/nonexistent}" ]; then
  install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"
  export AIRFLOW_CONN_SFTP_PQ="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
  expect_code "mariadb table -> sftp .parquet" 0 fr copy maria:$T "sftp_pq:$RD/t.parquet"
  check "  the sftp file equals the local one" cmp all.parquet "$RHOME/t.parquet"
else
  skip "no SFTP server in the env file"
fi

# --- what Parquet cannot hold: exit 7 naming column and row, no file; GEOMETRY exit 2
myx -e "CREATE TABLE ${T}_bad (id int, d date, dt datetime, tm time);
  SET SESSION sql_mode = '';
  INSERT INTO ${T}_bad VALUES (1, '2024-01-01', '2024-01-01 00:00:00', '01:00:00'),
    (2, '0000-00-00', '0000-00-00 00:00:00', '-01:00:00'), (3, '2024-00-10', '2024-01-01', '25:00:00')"
expect_code "zero date -> exit 7" 7 fr copy maria: --query "SELECT id, d FROM ${T}_bad ORDER BY id" bad.parquet
out_has "  ... names column and row" "column d, row 2: the zero date 0000-00-00"
check "  ... and leaves no file" bash -c "! ls -A | grep -q 'bad.parquet'"
expect_code "zero datetime -> exit 7" 7 fr copy maria: --query "SELECT id, dt FROM ${T}_bad ORDER BY id" bad.parquet
out_has "  ... names column and row" "column dt, row 2: the zero date"
expect_code "a zero month -> exit 7" 7 fr copy maria: --query "SELECT id, d FROM ${T}_bad WHERE id <> 2 ORDER BY id" bad.parquet
out_has "  ... names column and row" "column d, row 2: the zero date 2024-00-10"
expect_code "NULLIF(d, 0) writes them as NULL" 0 fr copy maria: --query "SELECT id, NULLIF(d, '0000-00-00') AS d FROM ${T}_bad WHERE id <= 2 ORDER BY id" nullif.parquet
expect_code "negative TIME -> exit 7" 7 fr copy maria: --query "SELECT id, tm FROM ${T}_bad ORDER BY id" bad.parquet
out_has "  ... names column and row" "column tm, row 2: TIME -1:00:00 is not a time of day"
expect_code "TIME past 24h -> exit 7" 7 fr copy maria: --query "SELECT id, tm FROM ${T}_bad WHERE id <> 2 ORDER BY id" bad.parquet
out_has "  ... names column and row" "column tm, row 2: TIME 25:00:00 is not a time of day"
myx -e "CREATE TABLE ${T}_geo (id int, g geometry); INSERT INTO ${T}_geo VALUES (1, POINT(1, 2))"
expect_code "GEOMETRY -> exit 2" 2 fr copy maria:${T}_geo geo.parquet
out_has "  ... names column and type" "column g: type geometry has no exact parquet type"
check "  ... and leaves no file" bash -c "! ls -A | grep -q 'geo.parquet'"
expect_code "ST_AsText through --query is written" 0 fr copy maria: --query "SELECT id, ST_AsText(g) AS g FROM ${T}_geo" geo.parquet
expect_code "a missing table -> exit 5" 5 fr copy maria:${T}_missing missing.parquet
expect_code "an existing .parquet is refused (exit 6)" 6 fr copy maria:$T all.parquet

# --- 100,000 rows streamed, several row groups
myx -e "CREATE TABLE ${T}_big (id int PRIMARY KEY, amount decimal(14,4), name varchar(40), at_ts timestamp NULL)
  DEFAULT CHARSET=utf8mb4;
  INSERT INTO ${T}_big SELECT seq, (seq * 7919 % 100000) / 7, IF(seq % 11 = 0, NULL, CONCAT('customer ', seq % 977)),
  FROM_UNIXTIME(1577836800 + seq) FROM seq_1_to_100000"
myx -N -B -e "SELECT JSON_ARRAY(CAST(count(*) AS CHAR), CAST(sum(id) AS CHAR), CAST(sum(amount) AS CHAR),
  CAST(count(name) AS CHAR), CAST(sum(char_length(name)) AS CHAR), CAST(sum(unix_timestamp(at_ts)) AS CHAR))
  FROM ${T}_big" > big_my.txt
expect_code "100,000 rows -> .parquet (--row-group-size 1M)" 0 fr copy maria:${T}_big big.parquet --row-group-size 1M
duck big_duck.txt "SELECT CAST(count(*) AS VARCHAR), CAST(sum(id) AS VARCHAR), CAST(sum(amount) AS VARCHAR),
  CAST(count(name) AS VARCHAR), CAST(sum(length(name)) AS VARCHAR), CAST(sum(epoch(at_ts))::BIGINT AS VARCHAR)
  FROM read_parquet('big.parquet')" rg.txt "SELECT num_row_groups FROM parquet_file_metadata('big.parquet')" \
  nullif.txt "SELECT CAST(d AS VARCHAR) FROM read_parquet('nullif.parquet') ORDER BY id"
check "  duckdb's aggregates equal mariadb's" python3 -c "
import json; m = json.loads(open('big_my.txt').read()); d = json.loads(open('big_duck.txt').read())
assert m == d, (m, d)"
check "  several row groups" python3 -c "import json; assert int(json.loads(open('rg.txt').read())[0]) > 1"
check "  the NULLIF file: 2024-01-01 then NULL" bash -c "[ \"\$(tr -d '\n' < nullif.txt)\" = '[\"2024-01-01\"][null]' ]"
finish

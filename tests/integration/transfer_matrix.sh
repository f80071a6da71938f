#!/usr/bin/env bash
# transfer_matrix.sh - the cross-system transfers against the real servers of
# tests/harness/services.sh, over one hostile dataset of ROWS (default
# 120,000) rows built the same way in MariaDB and in PostgreSQL: NULL vs '',
# quotes, commas, LF, CR, CRLF, tabs, backslashes, the strings 'NULL', '\N',
# '\.' and '\x41', unicode, emoji, DECIMAL(20,6), DATETIME(6)/timestamptz
# (1965 and 2024-2054, microseconds), BLOB/bytea (NUL, 0xff, CR/LF, the
# bytes of "\x41"), TINYINT(1)/boolean.
#
#   MySQL -> S3 (csv.gz) -> Postgres, with --create and into an existing table
#   Postgres -> S3 (csv) -> MySQL (Postgres session in +05:30: timestamptz text
#     with an offset, converted to UTC by the MySQL sink)
#   MySQL -> Postgres and Postgres -> MySQL directly (--create with the
#     source's column types, and into existing tables)
#   through a local file and through stdin/stdout, each way
#   --replace on both databases: a load failing at row 50,000 (duplicate key,
#     too-long value) keeps the old rows and leaves no staging table; a good
#     one swaps; a failing append leaves the table unchanged, a good one adds
#   rows read = rows written in --json
#   HTTP -> S3: a 100 MiB response streamed to S3 with peak RSS < 64 MiB,
#     sha256 equal; S3 -> HTTP PUT (nginx WebDAV) read back equal
#
# Tables are compared with checksums computed in SQL on each side: count and
# the sum of the first 60 bits of md5 over a canonical text of each row (NULL
# marker, values prefixed, decimals as text, timestamps in UTC with 6
# decimals, blobs as upper-case hex, flags as 0/1), so a MySQL table and a
# Postgres table holding the same values have the same checksum.  Every client
# call runs under `timeout`; every table, object and upload is removed at the
# end.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
HARNESS=$(cd "$(dirname "$0")/../harness" && pwd)
load_services_env
cd "$WORK"

TMO=${CHECK_TIMEOUT:-600}
ROWS=${MATRIX_ROWS:-120000}
RUN=tm_$$_$RANDOM
B=$CEPH_S3_BUCKET
P="ferry-matrix-$RUN"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE PGTZ
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
export AIRFLOW_CONN_MYDB="$MYSQL_URI"
# two Postgres connections: sessions in UTC, and in Asia/Kolkata (+05:30)
export AIRFLOW_CONN_PG="$PG_URI?options=$(urlenc '-c TimeZone=UTC')"
export AIRFLOW_CONN_PGIST="$PG_URI?options=$(urlenc '-c TimeZone=Asia/Kolkata')"

fy() { timeout -k 5 "$TMO" "$FERRY" "$@"; }
my() { timeout -k 5 "$TMO" mariadb --no-defaults --connect-timeout=5 --default-character-set=utf8mb4 \
         -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" -N -B "$@"; }
pg() { PGTZ=UTC timeout -k 5 "$TMO" psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 "$PG_URI" "$@"; }
AWSX_TIMEOUT="$TMO"   # for awsx (tests/s3_lib.sh)

M=${RUN}_my_src    # MySQL source
PS=${RUN}_pg_src   # Postgres source
ECHO_PID=
cleanup() {
  [ "$BASHPID" = "$$" ] || return 0
  local t
  for t in $(my -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
                    AND TABLE_NAME LIKE '${RUN}%'" 2>/dev/null); do
    my -e "DROP TABLE IF EXISTS \`$t\`" >/dev/null 2>&1
  done
  for t in $(pg -c "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE '${RUN}%'" 2>/dev/null); do
    pg -c "DROP TABLE IF EXISTS \"$t\"" >/dev/null 2>&1
  done
  s3_cleanup   # objects and multipart uploads under $P/
  [ -n "${HTTP_DAV_URL:-}" ] && timeout 30 curl -s -m 20 -o /dev/null -X DELETE "${HTTP_DAV_URL}$RUN/" 2>/dev/null
  [ -n "$ECHO_PID" ] && kill "$ECHO_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# ------------------------------------------------------------------ checksums
# canonical text of a row, MySQL side: dt may be DATETIME or the text of a
# timestamptz in UTC ("...+00", what --create makes of a timestamptz)
MY_ROW="CONCAT_WS('|', id, IFNULL(CONCAT('v', t), 'N'), IFNULL(CONCAT('v', t2), 'N'), IFNULL(CONCAT('v', d), 'N'),
  IFNULL(DATE_FORMAT(IF(CAST(dt AS CHAR) LIKE '%+00', LEFT(dt, LENGTH(dt) - 3), dt), '%Y-%m-%d %H:%i:%s.%f'), 'N'),
  IFNULL(CONCAT('v', HEX(b)), 'N'), IFNULL(CONCAT('v', u), 'N'), IFNULL(CAST(flag AS SIGNED), 'N'))"
# the same, Postgres side (psql runs in UTC); the casts let text columns (a
# --create from a header) render like typed ones
PG_ROW="concat_ws('|', id, coalesce('v' || t, 'N'), coalesce('v' || t2, 'N'), coalesce('v' || d::text, 'N'),
  coalesce(to_char(dt::timestamptz, 'YYYY-MM-DD HH24:MI:SS.US'), 'N'),
  coalesce('v' || upper(encode(b::bytea, 'hex')), 'N'), coalesce('v' || u, 'N'), coalesce(flag::int::text, 'N'))"
# my_ck FROM-CLAUSE / pg_ck FROM-CLAUSE: "<rows>\t<sum>"
my_ck() { my -e "SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(MD5(r), 15), 16, 10) AS UNSIGNED)), 0)
                 FROM (SELECT $MY_ROW AS r FROM $1) x"; }
pg_ck() { pg -c "SELECT count(*), coalesce(sum(('x' || left(md5(r), 15))::bit(60)::bigint), 0)
                 FROM (SELECT $PG_ROW AS r FROM $1) x"; }
myt() { printf '`%s`' "$1"; }
pgt() { printf '"%s"' "$1"; }
# json_rows FILE: "rows_read rows_written" of a --json summary
json_rows() { timeout 30 python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['rows_read'], d['rows_written'])" "$1" 2>/dev/null; }
# said NAME PATTERN: the output of the last expect_code matches PATTERN
said() { cp "$WORK/.out" "$WORK/last.out"; check "$1" grep -qiE "$2" "$WORK/last.out"; }
# okjson NAME J E: the --json summary J says ok (else show the stderr E)
okjson() { if grep -q '"ok":true' "$2"; then ok "$1"; else fail "$1" "$(tail -3 "$3")"; fi; }
# leftovers of a load (staging / old tables) next to table $1
my_leftovers() { my -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
                        AND TABLE_NAME LIKE '${1}\_\_ferry\_%'"; }
pg_leftovers() { pg -c "SELECT count(*) FROM pg_class WHERE relname LIKE '${1}%' AND relname <> '$1'
                        AND relname NOT LIKE '${1}_pkey'"; }

# ------------------------------------------------------------------ the dataset, twice
sed "s/@T@/$M/g; s/@N@/$ROWS/g" > my_src.sql <<'SQL'
CREATE TABLE `@T@` (
  id BIGINT NOT NULL PRIMARY KEY,
  t VARCHAR(255) NULL,
  t2 TEXT NULL,
  d DECIMAL(20,6) NULL,
  dt DATETIME(6) NULL,
  b BLOB NULL,
  u VARCHAR(100) NULL,
  flag TINYINT(1) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO `@T@`
SELECT seq,
  CASE seq % 16
    WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'NULL' WHEN 3 THEN '\\N'
    WHEN 4 THEN CONCAT('say "hi", ''ok'' ', seq) WHEN 5 THEN CONCAT('a,b,c,', seq)
    WHEN 6 THEN CONCAT('line1\nline2 ', seq) WHEN 7 THEN CONCAT('cr\r', seq)
    WHEN 8 THEN CONCAT('crlf\r\n', seq) WHEN 9 THEN CONCAT('tab\t', seq, '\t')
    WHEN 10 THEN CONCAT('back\\slash\\', seq, '\\') WHEN 11 THEN CONCAT(' spaced ', seq, ' ')
    WHEN 12 THEN '\\.' WHEN 13 THEN CONCAT('Zoë Ünïcode 日本語 ', seq)
    WHEN 14 THEN CONCAT('🚀👍🏽 emoji ', seq) ELSE CONCAT('plain', seq) END,
  CASE seq % 9
    WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN ',' WHEN 3 THEN '""' WHEN 4 THEN 'NULL '
    WHEN 5 THEN '\\\\N' WHEN 6 THEN CONCAT(REPEAT('long text, ', 30), seq) WHEN 7 THEN '\n'
    ELSE CONCAT('"', seq, ',"') END,
  IF(seq % 11 = 0, NULL, seq * 1234.567891 - 100000000),
  CASE WHEN seq % 17 = 0 THEN NULL
       WHEN seq % 13 = 0 THEN TIMESTAMP('1965-06-01 12:00:00') + INTERVAL seq SECOND
       ELSE TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq * 7919 SECOND + INTERVAL seq MICROSECOND END,
  CASE seq % 7 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN UNHEX(SHA2(seq, 256))
    WHEN 3 THEN x'000a0d2c22095c4e' WHEN 4 THEN 'NULL' WHEN 5 THEN x'5c783431' ELSE UNHEX(MD5(seq)) END,
  CASE seq % 5 WHEN 0 THEN NULL WHEN 1 THEN CONCAT('Émile 🚀 ', seq) WHEN 2 THEN '李雷'
    WHEN 3 THEN '\\x41' ELSE CONCAT('ü', seq) END,
  CASE seq % 3 WHEN 0 THEN NULL WHEN 1 THEN 1 ELSE 0 END
FROM seq_1_to_@N@;
SQL
sed "s/@T@/$PS/g; s/@N@/$ROWS/g" > pg_src.sql <<'SQL'
SET client_min_messages = warning;
CREATE TABLE "@T@" (id bigint PRIMARY KEY, t varchar(255), t2 text, d numeric(20,6), dt timestamptz,
                    b bytea, u text, flag boolean);
INSERT INTO "@T@" SELECT g,
  CASE g % 16 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'NULL' WHEN 3 THEN E'\\N'
    WHEN 4 THEN 'say "hi", ''ok'' ' || g WHEN 5 THEN 'a,b,c,' || g
    WHEN 6 THEN E'line1\nline2 ' || g WHEN 7 THEN E'cr\r' || g
    WHEN 8 THEN E'crlf\r\n' || g WHEN 9 THEN E'tab\t' || g || E'\t'
    WHEN 10 THEN E'back\\slash\\' || g || E'\\' WHEN 11 THEN ' spaced ' || g || ' '
    WHEN 12 THEN E'\\.' WHEN 13 THEN 'Zoë Ünïcode 日本語 ' || g
    WHEN 14 THEN '🚀👍🏽 emoji ' || g ELSE 'plain' || g END,
  CASE g % 9 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN ',' WHEN 3 THEN '""' WHEN 4 THEN 'NULL '
    WHEN 5 THEN E'\\\\N' WHEN 6 THEN repeat('long text, ', 30) || g WHEN 7 THEN E'\n'
    ELSE '"' || g || ',"' END,
  CASE WHEN g % 11 = 0 THEN NULL ELSE g * 1234.567891 - 100000000 END,
  CASE WHEN g % 17 = 0 THEN NULL
       WHEN g % 13 = 0 THEN timestamptz '1965-06-01 12:00:00+00' + g * interval '1 second'
       ELSE timestamptz '2024-01-01 00:00:00+00' + g * interval '7919 seconds' + g * interval '1 microsecond' END,
  CASE g % 7 WHEN 0 THEN NULL WHEN 1 THEN ''::bytea WHEN 2 THEN sha256(convert_to(g::text, 'UTF8'))
    WHEN 3 THEN '\x000a0d2c22095c4e'::bytea WHEN 4 THEN 'NULL'::bytea WHEN 5 THEN '\x5c783431'::bytea
    ELSE decode(md5(g::text), 'hex') END,
  CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN 'Émile 🚀 ' || g WHEN 2 THEN '李雷' WHEN 3 THEN E'\\x41'
    ELSE 'ü' || g END,
  CASE g % 3 WHEN 0 THEN NULL WHEN 1 THEN true ELSE false END
FROM generate_series(1, @N@) AS g;
SQL
check "MySQL source table ($ROWS hostile rows)" bash -c "$(declare -f my); TMO=$TMO; my < my_src.sql"
check "Postgres source table ($ROWS hostile rows)" bash -c "$(declare -f pg); TMO=$TMO; pg -f pg_src.sql"
REF=$(my_ck "$(myt "$M")")
check "MySQL source checksum counts $ROWS rows" test "${REF%%$'\t'*}" = "$ROWS"
check "the Postgres source holds the same values (checksums in SQL agree)" test "$(pg_ck "$(pgt "$PS")")" = "$REF"
check "the dataset has NULL and '' apart, in both" test \
  "$(my -e "SELECT SUM(t IS NULL), SUM(t = ''), SUM(b IS NULL), SUM(b = '') FROM \`$M\`")" = \
  "$(pg -c "SELECT sum((t IS NULL)::int), sum((t = '')::int), sum((b IS NULL)::int), sum((b = '')::int) FROM \"$PS\"")"

# empty typed tables for the loads "into an existing table"
mk_my() { my -e "CREATE TABLE \`$1\` LIKE \`$M\`"; }
mk_pg() { pg -c "CREATE TABLE \"$1\" (LIKE \"$PS\" INCLUDING ALL)"; }

# ------------------------------------------------------------------ MySQL -> S3 (csv.gz) -> Postgres
fy copy "mydb:$M" "s3://$B/$P/m.csv.gz" --json > j1 2> e1
okjson "MySQL -> S3 csv.gz" j1 e1
check "... --json: $ROWS rows read" test "$(json_rows j1)" = "$ROWS -1"
if awsx s3 cp "s3://$B/$P/m.csv.gz" - 2>/dev/null | gzip -t 2>/dev/null; then ok "... the object is gzip"; else fail "... the object is gzip"; fi
T1=${RUN}_pg_s3_create
fy copy "s3://$B/$P/m.csv.gz" "pg:public.$T1" --create --json > j2 2> e2
okjson "S3 csv.gz -> Postgres --create" j2 e2
check "... --json: $ROWS rows written" test "$(json_rows j2)" = "-1 $ROWS"
check "... (from S3 the columns are the header's, text)" test \
  "$(pg -c "SELECT string_agg(data_type, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = '$T1'")" = \
  "text,text,text,text,text,text,text,text"
check "... table equals the MySQL source (checksums)" test "$(pg_ck "$(pgt "$T1")")" = "$REF"
T2=${RUN}_pg_s3_exist
mk_pg "$T2"
fy copy "s3://$B/$P/m.csv.gz" "pg:public.$T2" --json > j3 2> e3
okjson "S3 csv.gz -> existing Postgres table (timestamptz, bytea, boolean)" j3 e3
check "... --json: $ROWS rows written" test "$(json_rows j3)" = "-1 $ROWS"
check "... table equals the MySQL source (checksums)" test "$(pg_ck "$(pgt "$T2")")" = "$REF"

# ------------------------------------------------------------------ Postgres (+05:30) -> S3 (csv) -> MySQL
fy copy "pgist:public.$PS" "s3://$B/$P/p.csv" --json > j4 2> e4
okjson "Postgres -> S3 csv" j4 e4
check "... --json: $ROWS rows read" test "$(json_rows j4)" = "$ROWS -1"
check "... timestamptz written with the session's +05:30 offset" bash -c \
  "timeout $TMO '$FERRY' cat 's3://$B/$P/p.csv' | head -3 | grep -q '+05:30'"
T3=${RUN}_my_s3_exist
mk_my "$T3"
fy copy "s3://$B/$P/p.csv" "mydb:$T3" --json > j5 2> e5
okjson "S3 csv -> existing MySQL table (DATETIME(6), BLOB, TINYINT(1))" j5 e5
check "... --json: $ROWS rows written" test "$(json_rows j5)" = "-1 $ROWS"
check "... table equals the Postgres source (offsets to UTC, bytea hex to bytes, t/f to 1/0)" \
  test "$(my_ck "$(myt "$T3")")" = "$REF"
check "... no staging table left" test "$(my_leftovers "$T3")" = 0

# ------------------------------------------------------------------ direct, with the source's types
T4=${RUN}_pg_direct
fy copy "mydb:$M" "pg:public.$T4" --create --json > j6 2> e6
okjson "MySQL -> Postgres directly, --create" j6 e6
check "... --json: rows read = rows written = $ROWS" test "$(json_rows j6)" = "$ROWS $ROWS"
check "... typed columns from the MySQL source" test \
  "$(pg -c "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = '\"$T4\"'::regclass AND attnum > 0")" = \
  "bigint,text,text,numeric(20,6),timestamp without time zone,bytea,text,integer"
check "... table equals the MySQL source (checksums)" test "$(pg_ck "$(pgt "$T4")")" = "$REF"
T5=${RUN}_my_direct
fy copy "pg:public.$PS" "mydb:$T5" --create --json > j7 2> e7
okjson "Postgres -> MySQL directly, --create" j7 e7
check "... --json: rows read = rows written = $ROWS" test "$(json_rows j7)" = "$ROWS $ROWS"
check "... typed columns from the Postgres source" test \
  "$(my -e "SELECT GROUP_CONCAT(COLUMN_TYPE ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '$T5'")" = \
  "bigint(20),longtext,longtext,decimal(20,6),varchar(64),longblob,longtext,tinyint(1)"
check "... table equals the Postgres source (checksums)" test "$(my_ck "$(myt "$T5")")" = "$REF"
check "... no staging table left" test "$(my_leftovers "$T5")" = 0
T6=${RUN}_my_direct_exist
mk_my "$T6"
fy copy "pgist:public.$PS" "mydb:$T6" --json > j8 2> e8
okjson "Postgres (+05:30) -> existing MySQL table directly" j8 e8
check "... --json: rows read = rows written = $ROWS" test "$(json_rows j8)" = "$ROWS $ROWS"
check "... table equals the Postgres source (checksums)" test "$(my_ck "$(myt "$T6")")" = "$REF"
T7=${RUN}_pg_direct_exist
mk_pg "$T7"
fy copy "mydb:$M" "pg:public.$T7" --json > j9 2> e9
okjson "MySQL -> existing Postgres table directly" j9 e9
check "... --json: rows read = rows written = $ROWS" test "$(json_rows j9)" = "$ROWS $ROWS"
check "... table equals the MySQL source (checksums)" test "$(pg_ck "$(pgt "$T7")")" = "$REF"

# ------------------------------------------------------------------ local files and pipes
check "MySQL -> local csv file" fy copy "mydb:$M" m.csv -q
check "local csv file -> Postgres (--replace)" fy copy m.csv "pg:public.$T7" --replace -q
check "... table equals the MySQL source (checksums)" test "$(pg_ck "$(pgt "$T7")")" = "$REF"
check "Postgres -> local tsv file" fy copy "pgist:public.$PS" p.tsv -q
check "local tsv file -> MySQL (--replace)" fy copy p.tsv "mydb:$T6" --replace -q
check "... table equals the Postgres source (checksums)" test "$(my_ck "$(myt "$T6")")" = "$REF"
check "MySQL -> stdout | stdin -> Postgres (--replace)" bash -c \
  "set -o pipefail; timeout $TMO '$FERRY' copy 'mydb:$M' - -q | timeout $TMO '$FERRY' copy - 'pg:public.$T2' --replace -q"
check "... table equals the MySQL source (checksums)" test "$(pg_ck "$(pgt "$T2")")" = "$REF"
check "Postgres -> stdout | stdin -> MySQL (--replace)" bash -c \
  "set -o pipefail; timeout $TMO '$FERRY' copy 'pgist:public.$PS' - -q | timeout $TMO '$FERRY' copy - 'mydb:$T3' --replace -q"
check "... table equals the Postgres source (checksums)" test "$(my_ck "$(myt "$T3")")" = "$REF"

# ------------------------------------------------------------------ --replace and append, failing at row 50,000
COLS="t, t2, d, dt, b, u, flag"
check "a file whose row 50,000 repeats the key of row 1" \
  fy copy mydb: bad_dup.csv -q --query "SELECT IF(id = 50000, 1, id) AS id, $COLS FROM \`$M\` AS m ORDER BY m.id"
check "a file whose row 50,000 holds 300 characters for a VARCHAR(255)" \
  fy copy mydb: bad_long.csv -q --query "SELECT id, IF(id = 50000, REPEAT('x', 300), t) AS t, t2, d, dt, b, u, flag FROM \`$M\` AS m ORDER BY m.id"
check "a file of 1,000 good rows" fy copy mydb: small.csv -q --query "SELECT * FROM \`$M\` AS m WHERE m.id <= 1000 ORDER BY m.id"
check "an append file of 20,000 new rows" \
  fy copy mydb: more.csv -q --query "SELECT id + 1000000 AS id, $COLS FROM \`$M\` AS m WHERE m.id <= 20000 ORDER BY m.id"
check "an append file of new rows whose row 50,000 repeats its first key" \
  fy copy mydb: more_dup.csv -q --query "SELECT IF(id = 50000, 1000001, id + 1000000) AS id, $COLS FROM \`$M\` AS m ORDER BY m.id"
SMALL=$(my_ck "(SELECT * FROM \`$M\` WHERE id <= 1000) s")
MORE=$(my_ck "(SELECT id + 1000000 AS id, $COLS FROM \`$M\` WHERE id <= 20000) s")
sum_ck() { python3 -c "import sys; a=[int(x) for x in sys.argv[1].split()]; b=[int(x) for x in sys.argv[2].split()]; print(f'{a[0]+b[0]}\t{a[1]+b[1]}')" "$1" "$2"; }
BOTH=$(sum_ck "$SMALL" "$MORE")

# Postgres: the failing loads
declare -A PG_WHY=([bad_dup]='duplicate key value violates unique constraint' [bad_long]='value too long for type character varying\(255\)')
declare -A MY_WHY=([bad_dup]="Duplicate entry '1' for key" [bad_long]="Data (too long|truncated) for column 't' at row 50000")
for bad in bad_dup bad_long; do
  expect_code "Postgres --replace with $bad.csv (fails at row 50,000) exits 7" 7 fy copy "$bad.csv" "pg:public.$T2" --replace
  said "... because: ${PG_WHY[$bad]}" "${PG_WHY[$bad]}"
  check "... the old rows are all there" test "$(pg_ck "$(pgt "$T2")")" = "$REF"
  check "... no staging table" test "$(pg_leftovers "$T2")" = 0
done
check "Postgres --replace with good rows swaps" fy copy small.csv "pg:public.$T2" --replace -q
check "... the table holds exactly the new rows" test "$(pg_ck "$(pgt "$T2")")" = "$SMALL"
expect_code "Postgres append failing at row 50,000 exits 7" 7 fy copy more_dup.csv "pg:public.$T2"
said "... because of the duplicate key" 'duplicate key value violates unique constraint.*\(id\)=\(1000001\)'
check "... nothing of it was kept (one transaction)" test "$(pg_ck "$(pgt "$T2")")" = "$SMALL"
fy copy more.csv "pg:public.$T2" --json > j10 2> e10
okjson "Postgres append of good rows" j10 e10
check "... --json: 20000 rows written" test "$(json_rows j10)" = "-1 20000"
check "... old and new rows" test "$(pg_ck "$(pgt "$T2")")" = "$BOTH"

# MySQL: the same
for bad in bad_dup bad_long; do
  expect_code "MySQL --replace with $bad.csv (fails at row 50,000) exits 7" 7 fy copy "$bad.csv" "mydb:$T3" --replace
  said "... because: ${MY_WHY[$bad]}" "${MY_WHY[$bad]}"
  check "... the old rows are all there" test "$(my_ck "$(myt "$T3")")" = "$REF"
  check "... no staging table" test "$(my_leftovers "$T3")" = 0
done
check "MySQL --replace with good rows swaps" fy copy small.csv "mydb:$T3" --replace -q
check "... the table holds exactly the new rows" test "$(my_ck "$(myt "$T3")")" = "$SMALL"
check "... no staging or old table left" test "$(my_leftovers "$T3")" = 0
expect_code "MySQL append failing at row 50,000 exits 7" 7 fy copy more_dup.csv "mydb:$T3"
said "... because of the duplicate key" "Duplicate entry '1000001' for key"
check "... nothing of it was kept (one transaction)" test "$(my_ck "$(myt "$T3")")" = "$SMALL"
expect_code "MySQL append of a too-long value at row 50,000 exits 7" 7 fy copy bad_long.csv "mydb:$T3"
check "... nothing of it was kept" test "$(my_ck "$(myt "$T3")")" = "$SMALL"
fy copy more.csv "mydb:$T3" --json > j11 2> e11
okjson "MySQL append of good rows" j11 e11
check "... --json: 20000 rows written" test "$(json_rows j11)" = "-1 20000"
check "... old and new rows" test "$(my_ck "$(myt "$T3")")" = "$BOTH"
# the direct transfer fails the same way: a query source with a duplicate at row 50,000
expect_code "MySQL -> Postgres --replace, duplicate key at row 50,000, exits 7" 7 \
  fy copy mydb: "pg:public.$T7" --replace --query "SELECT IF(id = 50000, 1, id) AS id, $COLS FROM \`$M\` AS m ORDER BY m.id"
check "... the old rows are all there" test "$(pg_ck "$(pgt "$T7")")" = "$REF"
expect_code "Postgres -> MySQL --replace, duplicate key at row 50,000, exits 7" 7 \
  fy copy pg: "mydb:$T6" --replace --query "SELECT CASE WHEN id = 50000 THEN 1 ELSE id END AS id, $COLS FROM \"$PS\" AS p ORDER BY p.id"
check "... the old rows are all there" test "$(my_ck "$(myt "$T6")")" = "$REF"
check "... no staging table" test "$(my_leftovers "$T6")" = 0

# ------------------------------------------------------------------ HTTP -> S3 -> HTTP
# the harness's echo server may predate /stream: a private copy on a free port
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$HARNESS/http_echo.py" --port "$PORT" --quiet </dev/null >echo.log 2>&1 &
ECHO_PID=$!
ECHO=http://127.0.0.1:$PORT
for _ in $(seq 1 50); do timeout 5 curl -sf -m 2 -o /dev/null "$ECHO/health" && break; sleep 0.1; done
check "private echo server answers" timeout 10 curl -sf -m 5 -o /dev/null "$ECHO/health"
N=$((100 * 1024 * 1024 + 12345))
WANT=$(timeout 300 python3 -c "import sys, hashlib; sys.path.insert(0, '$HARNESS'); import http_echo as h
d = hashlib.sha256()
for p in h.det_range(0, $N): d.update(p)
print(d.hexdigest())")
timeout -k 5 "$TMO" /usr/bin/time -f '%M' -o big.rss "$FERRY" copy "$ECHO/stream/$N" "s3://$B/$P/big.bin" -q 2> big.err
code=$?
[ "$code" = 0 ] && ok "HTTP $N bytes -> S3" || fail "HTTP $N bytes -> S3 (exit $code)" "$(tail -3 big.err)"
kb=$(tail -1 big.rss 2>/dev/null)
[ "$code" = 0 ] && [ -n "$kb" ] && [ "$kb" -lt 65536 ] 2>/dev/null && ok "... ferry's peak RSS ${kb} KiB < 64 MiB" \
  || fail "... ferry's peak RSS < 64 MiB (got ${kb:-?} KiB)"
check "... the object's size" test "$(awsx s3api head-object --bucket "$B" --key "$P/big.bin" --query ContentLength --output text)" = "$N"
check "... the object's sha256 equals the response's" test \
  "$(awsx s3 cp "s3://$B/$P/big.bin" - | sha256sum | cut -d' ' -f1)" = "$WANT"
if [ -n "${HTTP_DAV_URL:-}" ]; then
  check "S3 -> HTTP PUT (nginx WebDAV)" fy copy "s3://$B/$P/big.bin" "${HTTP_DAV_URL}$RUN/big.bin" -q
  check "... read back equal" test "$(timeout "$TMO" curl -sf -m "$TMO" "${HTTP_DAV_URL}$RUN/big.bin" | sha256sum | cut -d' ' -f1)" = "$WANT"
else
  skip "WebDAV checks: HTTP_DAV_URL not set"
fi

finish

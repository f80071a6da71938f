#!/usr/bin/env bash
# mysql_hook.sh - the MySQL/MariaDB hook against the real MariaDB started by
# tests/harness/services.sh: a hostile table of 200,000 rows (NULL vs '',
# quotes, commas, CR/LF, tabs, backslashes, the strings 'NULL' and '\N',
# unicode, emoji, DECIMAL, DATETIME(6), BLOB) out to CSV / CSV.gz / TSV / JSONL
# and back in, checked with checksums computed by the servers themselves
# (and by PostgreSQL reading the same CSV/TSV with its own COPY); replace,
# append and create semantics with failures at row N; errors and exit codes;
# KILL of the source query mid-stream; SIGTERM during a load; exec and conn
# test.  Every client call runs under `timeout`; every table is created here
# with a per-run name and dropped at the end.
. "$(dirname "$0")/../lib.sh"
load_services_env
cd "$WORK"

T=${CHECK_TIMEOUT:-300}
RUN=fy_$$_$RANDOM
export AIRFLOW_CONN_MYDB="$MYSQL_URI"
fy() { timeout -k 5 "$T" "$FERRY" "$@"; }
my() { timeout -k 5 "$T" mariadb --no-defaults --connect-timeout=5 --default-character-set=utf8mb4 \
         -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" -N -B "$@"; }
pg() { timeout -k 5 "$T" psql -X -q -At -v ON_ERROR_STOP=1 "$PG_URI" "$@"; }

H=${RUN}_hostile; H2=${RUN}_back; R=${RUN}_rep; A=${RUN}_app; E=${RUN}_exec; C=${RUN}_made
PGT=${RUN}_pg
cleanup() {
  [ "$BASHPID" = "$$" ] || return 0   # not in a background subshell
  local t
  for t in $(my -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
                    AND TABLE_NAME LIKE '${RUN}%'" 2>/dev/null); do
    my -e "DROP TABLE IF EXISTS \`${t//\`/\`\`}\`" >/dev/null 2>&1   # backticks doubled
  done
  pg -c "DROP TABLE IF EXISTS \"$PGT\"" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# leftovers of the replace protocol (staging / old tables) for a table
leftovers() { my -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
                     AND TABLE_NAME LIKE '${1}\_\_ferry\_%'"; }
# checksum of a table shaped like the hostile one, computed by MariaDB:
# COUNT, SUM(CRC32) and SUM(MD5 prefix) of every row with NULL markers and lengths
cksum() {
  my -e "SELECT COUNT(*), COALESCE(SUM(CRC32(r)), 0), COALESCE(SUM(CAST(CONV(LEFT(MD5(r), 12), 16, 10) AS UNSIGNED)), 0)
         FROM (SELECT CONCAT_WS('|', id, ISNULL(t), LENGTH(t), IFNULL(t, ''), ISNULL(t2), LENGTH(t2),
               IFNULL(t2, ''), ISNULL(d), IFNULL(d, ''), ISNULL(dt), IFNULL(dt, ''), ISNULL(b),
               IFNULL(HEX(b), ''), ISNULL(u), IFNULL(u, '')) AS r FROM \`$1\`) x"
}
# the same over the columns PostgreSQL gets (no BLOB), as an MD5 sum
text_cksum_sql='CONCAT_WS(0x7c, id, ISNULL(t), IFNULL(t, ""), ISNULL(t2), IFNULL(t2, ""), ISNULL(d),
                IFNULL(d, ""), ISNULL(dt), IFNULL(dt, ""), ISNULL(u), IFNULL(u, ""))'

# ------------------------------------------------------------------ the hostile table
sed "s/@H@/$H/g" > hostile.sql <<'SQL'
CREATE TABLE `@H@` (
  id INT NOT NULL PRIMARY KEY,
  t VARCHAR(255) NULL,
  t2 TEXT NULL,
  d DECIMAL(20,6) NULL,
  dt DATETIME(6) NULL,
  b BLOB NULL,
  u VARCHAR(100) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO `@H@`
SELECT seq,
  CASE seq % 14
    WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'NULL' WHEN 3 THEN '\\N'
    WHEN 4 THEN CONCAT('quo"te', seq, '"') WHEN 5 THEN CONCAT('a,b,', seq)
    WHEN 6 THEN CONCAT('line1\nline2 ', seq) WHEN 7 THEN CONCAT('cr\rcrlf\r\n', seq)
    WHEN 8 THEN CONCAT('tab\t', seq, '\t') WHEN 9 THEN CONCAT('back\\slash\\', seq, '\\')
    WHEN 10 THEN CONCAT(' spaced ', seq, ' ') WHEN 11 THEN '"'
    WHEN 12 THEN '\\.' ELSE CONCAT('plain', seq) END,
  CASE seq % 9
    WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN ',' WHEN 3 THEN '""' WHEN 4 THEN 'NULL '
    WHEN 5 THEN '\\\\N' WHEN 6 THEN CONCAT(REPEAT('long text ', 30), seq) WHEN 7 THEN '\n'
    ELSE CONCAT('"', seq, ',"') END,
  IF(seq % 11 = 0, NULL, seq * 1234.567891 - 100000000),
  IF(seq % 17 = 0, NULL, TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq * 7919 SECOND
                         + INTERVAL seq MICROSECOND),
  CASE seq % 6 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN UNHEX(SHA2(seq, 256))
    WHEN 3 THEN x'000a0d2c220909' WHEN 4 THEN 'NULL' ELSE UNHEX(MD5(seq)) END,
  CASE seq % 5 WHEN 0 THEN 'héllo wörld' WHEN 1 THEN CONCAT('😀 emoji 🎉 ', seq)
    WHEN 2 THEN '中文字符' WHEN 3 THEN NULL ELSE CONCAT('ü', seq) END
FROM seq_1_to_200000;
SQL
check "create the hostile table (200,000 rows)" bash -c "$(declare -f my); T=$T; my < hostile.sql"
ORIG=$(cksum "$H")
check "hostile table has 200000 rows" test "${ORIG%%$'\t'*}" = 200000
my -e "CREATE TABLE \`$H2\` LIKE \`$H\`"

# ------------------------------------------------------------------ CSV out and back in
check "mysql -> local csv" fy copy "mydb:$H" h.csv -q
check "csv: header + 200000 records (python csv reader)" python3 -c "
import csv, sys
csv.field_size_limit(1 << 20)
rows = list(csv.reader(open('h.csv', newline='', encoding='utf-8', errors='surrogateescape')))
sys.exit(0 if rows[0] == ['id','t','t2','d','dt','b','u'] and len(rows) == 200001 else 1)"
check "csv -> mysql (append into an empty table)" fy copy h.csv "mydb:$H2" -q
check "csv round trip: checksums equal (NULL vs '' kept)" test "$(cksum "$H2")" = "$ORIG"
check "csv: NULL and '' counted apart after the load" test \
  "$(my -e "SELECT SUM(t IS NULL), SUM(t = ''), SUM(t = 'NULL'), SUM(t = '\\\\N'), SUM(b IS NULL), SUM(b = '') FROM \`$H2\`")" = \
  "$(my -e "SELECT SUM(t IS NULL), SUM(t = ''), SUM(t = 'NULL'), SUM(t = '\\\\N'), SUM(b IS NULL), SUM(b = '') FROM \`$H\`")"

check "mysql -> mysql directly (--replace)" fy copy "mydb:$H" "mydb:$H2" --replace -q
check "mysql -> mysql: checksums equal" test "$(cksum "$H2")" = "$ORIG"
check "replace left no staging/old tables" test "$(leftovers "$H2")" = 0

# ------------------------------------------------------------------ other ways to say the same
check "database.table path" fy copy "mydb:$MYSQL_DATABASE.$H" dbt.csv -q
check "... same bytes" cmp dbt.csv h.csv
check "inline mysql:// URI with #table" fy copy "$MYSQL_URI#$H" inline.csv -q
check "... same bytes" cmp inline.csv h.csv
check "--no-header out" fy copy "mydb:$H" nh.csv --no-header -q
check "... first line is a row" test "$(head -c 2 nh.csv)" = "1,"
check "--no-header back in (--replace)" fy copy nh.csv "mydb:$H2" --replace --no-header -q
check "... checksums equal" test "$(cksum "$H2")" = "$ORIG"
check "--null-string '\\N' out" fy copy "mydb:$H" ns.csv --null-string '\N' -q
check "... the string '\\N' is quoted, NULL is bare" test "$(grep -a -E '^(3|14),' ns.csv | cut -c1-6)" = $'3,"\\N"\n14,\\N,'
check "--null-string '\\N' back in (--replace)" fy copy ns.csv "mydb:$H2" --replace --null-string '\N' -q
check "... checksums equal" test "$(cksum "$H2")" = "$ORIG"
ODD="${RUN}_odd\`na.me"
my -e "CREATE TABLE \`${RUN}_odd\`\`na.me\` (id INT PRIMARY KEY, v TEXT); INSERT INTO \`${RUN}_odd\`\`na.me\` VALUES (1, 'x')"
check "\`quoted\`\`name.with.dot\` as source" fy copy "mydb:\`${RUN}_odd\`\`na.me\`" odd.csv -q
check "... its rows" test "$(cat odd.csv)" = $'id,v\n1,x'
printf 'id,v\n2,y\n' > odd2.csv
check "... and as a sink with --replace" fy copy odd2.csv "mydb:\`${RUN}_odd\`\`na.me\`" --replace -q
check "... replaced" test "$(my -e "SELECT GROUP_CONCAT(id, v) FROM \`${RUN}_odd\`\`na.me\`")" = "2y"
check "... no staging table left" test "$(leftovers "$ODD")" = 0

# ------------------------------------------------------------------ csv.gz
check "mysql -> local csv.gz" fy copy "mydb:$H" h.csv.gz -q
check "csv.gz is valid gzip" gzip -t h.csv.gz
check "csv.gz holds the same bytes as the csv" bash -c 'gzip -dc h.csv.gz | cmp - h.csv'
check "csv.gz -> mysql (--replace)" fy copy h.csv.gz "mydb:$H2" --replace -q
check "csv.gz round trip: checksums equal" test "$(cksum "$H2")" = "$ORIG"

# ------------------------------------------------------------------ TSV
check "mysql -> local tsv" fy copy "mydb:$H" h.tsv -q
check "tsv: 200001 lines, 7 tab-separated fields each" python3 -c "
import sys
lines = open('h.tsv', 'rb').read().split(b'\n')
sys.exit(0 if lines[-1] == b'' and len(lines) == 200002 and all(l.count(b'\t') == 6 for l in lines[:-1]) else 1)"
check "tsv -> mysql (--replace)" fy copy h.tsv "mydb:$H2" --replace -q
check "tsv round trip: checksums equal" test "$(cksum "$H2")" = "$ORIG"

# ------------------------------------------------------------------ PostgreSQL reads the same files
MY_TEXT=$(my -e "SELECT COUNT(*), SUM(CAST(CONV(LEFT(MD5($text_cksum_sql), 12), 16, 10) AS UNSIGNED)) FROM \`$H\`")
pg_text_cksum() {
  pg -F $'\t' -c "SELECT count(*), sum(('x' || lpad(left(md5(concat_ws('|', id, (t IS NULL)::int, coalesce(t, ''),
      (t2 IS NULL)::int, coalesce(t2, ''), (d IS NULL)::int, coalesce(d::text, ''), (dt IS NULL)::int,
      coalesce(dt, ''), (u IS NULL)::int, coalesce(u, ''))), 12), 16, '0'))::bit(64)::bigint) FROM \"$PGT\""
}
check "mysql -> csv of the text columns" fy copy mydb: pg.csv --query "SELECT id, t, t2, d, dt, u FROM \`$H\`" -q
check "mysql -> tsv of the text columns" fy copy mydb: pg.tsv --query "SELECT id, t, t2, d, dt, u FROM \`$H\`" -q
pg -c "CREATE TABLE \"$PGT\" (id int, t text, t2 text, d numeric(20,6), dt text, u text)"
check "postgres COPY csv reads ferry's csv" pg -c "\\copy \"$PGT\" FROM 'pg.csv' WITH (FORMAT csv, HEADER true)"
check "postgres sees the same values as mysql (csv)" test "$(pg_text_cksum)" = "$MY_TEXT"
pg -c "TRUNCATE \"$PGT\""
check "postgres COPY text reads ferry's tsv" pg -c "\\copy \"$PGT\" FROM 'pg.tsv' WITH (FORMAT text, HEADER true)"
check "postgres sees the same values as mysql (tsv)" test "$(pg_text_cksum)" = "$MY_TEXT"

# ------------------------------------------------------------------ JSON Lines
check "mysql -> local jsonl" fy copy "mydb:$H" h.jsonl -q
MY_JSON=$(my -e "SELECT COUNT(*), SUM(CAST(CONV(LEFT(MD5(CONCAT_WS(0x7c, id, ISNULL(t), IFNULL(t, ''), ISNULL(t2),
          IFNULL(t2, ''), ISNULL(d), IFNULL(d, ''), ISNULL(dt), IFNULL(dt, ''), ISNULL(b), IFNULL(HEX(b), ''),
          ISNULL(u), IFNULL(u, ''))), 12), 16, 10) AS UNSIGNED)) FROM \`$H\`")
cat > jcheck.py <<'PY'
import base64, decimal, hashlib, json, sys
count, total = 0, 0
for line in open('h.jsonl', encoding='utf-8'):
    o = json.loads(line, parse_float=decimal.Decimal)
    assert list(o) == ['id', 't', 't2', 'd', 'dt', 'b', 'u'], list(o)
    assert type(o['id']) is int
    assert o['d'] is None or type(o['d']) is decimal.Decimal, o['d']   # a number, exact
    assert o['dt'] is None or type(o['dt']) is str
    parts = [str(o['id'])]
    for k in ('t', 't2', 'd', 'dt', 'b', 'u'):
        v = o[k]
        parts.append('1' if v is None else '0')
        if v is None:
            v = ''
        elif k == 'b':
            v = base64.b64decode(v, validate=True).hex().upper()
        parts.append(str(v))
    total += int(hashlib.md5('|'.join(parts).encode('utf-8')).hexdigest()[:12], 16)
    count += 1
print(f'{count}\t{total}')
PY
check "jsonl: parsed by python, types kept, every value equal to mysql's" \
  test "$(timeout "$T" python3 jcheck.py)" = "$MY_JSON"
expect_code "jsonl: loading JSONL into a table is refused (usage, exit 2)" 2 fy copy h.jsonl "mydb:$H2" --replace -q

# ------------------------------------------------------------------ empty and one-row results
check "empty result -> csv" fy copy mydb: empty.csv --query "SELECT * FROM \`$H\` WHERE id < 0" -q
check "empty csv is the header only" test "$(cat empty.csv)" = "id,t,t2,d,dt,b,u"
check "empty result -> jsonl" fy copy mydb: empty.jsonl --query "SELECT * FROM \`$H\` WHERE id < 0" -q
check "empty jsonl is empty" test ! -s empty.jsonl
check "one row -> csv" fy copy mydb: one.csv --query "SELECT id, t, d FROM \`$H\` WHERE id = 4" -q
check "one-row csv" test "$(cat one.csv)" = $'id,t,d\n4,"quo""te4""",-99995061.728436'
check "one row -> jsonl" fy copy mydb: one.jsonl --query "SELECT id, t, d, b FROM \`$H\` WHERE id = 3" -q
check "one-row jsonl" test "$(cat one.jsonl)" = '{"id":3,"t":"\\N","d":-99996296.296327,"b":"AAoNLCIJCQ=="}'
printf 'id,t,t2,d,dt,b,u\n' > header-only.csv
check "header-only csv -> mysql appends nothing" fy copy header-only.csv "mydb:$H2" -q
check "... and the table is unchanged" test "$(cksum "$H2")" = "$ORIG"

# ------------------------------------------------------------------ replace: failure at row N, success
my -e "CREATE TABLE \`$R\` (id INT PRIMARY KEY, v VARCHAR(5)) ENGINE=InnoDB;
       INSERT INTO \`$R\` VALUES (1, 'old1'), (2, 'old2'), (3, NULL)"
rep_sum() { my -e "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, ISNULL(v), IFNULL(v, '')))) FROM \`$1\`"; }
OLD=$(rep_sum "$R")
python3 -c "
print('id,v')
for i in range(1, 3001): print(f'{i},v{i % 1000}')" > good.csv
python3 -c "
print('id,v')
for i in range(1, 3001): print(f'{i},' + ('waytoolong' if i == 1500 else f'v{i % 1000}'))" > long.csv
python3 -c "
print('id,v')
for i in range(1, 3001): print(f'{1 if i == 1500 else i},v')" > dup.csv
expect_code "replace with a too-long value at row 1500 exits 7" 7 fy copy long.csv "mydb:$R" --replace -q
check "... old content kept" test "$(rep_sum "$R")" = "$OLD"
check "... no staging table left" test "$(leftovers "$R")" = 0
fy copy long.csv "mydb:$R" --replace -q 2>long.err
check "... the message names the column and the row" grep -q "column 'v' at row 1500" long.err
expect_code "replace with a duplicate key at row 1500 exits 7" 7 fy copy dup.csv "mydb:$R" --replace -q
check "... old content kept" test "$(rep_sum "$R")" = "$OLD"
check "... no staging table left" test "$(leftovers "$R")" = 0
check "replace with good data" fy copy good.csv "mydb:$R" --replace -q
check "... the table holds exactly the new rows" test "$(my -e "SELECT COUNT(*), MIN(id), MAX(id), SUM(v = 'v999') FROM \`$R\`")" = $'3000\t1\t3000\t3'
check "... no staging or old table left" test "$(leftovers "$R")" = 0

# ------------------------------------------------------------------ append: one transaction
my -e "CREATE TABLE \`$A\` (id INT PRIMARY KEY, v VARCHAR(5)) ENGINE=InnoDB; INSERT INTO \`$A\` VALUES (1, 'a')"
python3 -c "
print('id,v')
for i in range(10001, 13001): print(f'{i},x')" > more.csv
check "append without --replace" fy copy more.csv "mydb:$A" -q
check "... old and new rows are there" test "$(my -e "SELECT COUNT(*) FROM \`$A\`")" = 3001
python3 -c "
print('id,v')
for i in range(20001, 23001): print(f'{10001 if i == 21500 else i},y')" > moredup.csv
expect_code "append with a duplicate key at row 1500 exits 7" 7 fy copy moredup.csv "mydb:$A" -q
check "... nothing of it was kept (one transaction)" test "$(my -e "SELECT COUNT(*) FROM \`$A\`")" = 3001
printf 'id,v\n50000,\n50001,""\n50002,NULL\n50003,"NULL"\n' > nulls.csv
check "NULL vs '' through a small CSV" fy copy nulls.csv "mydb:$A" -q
check "... empty unquoted = NULL, \"\" = '', NULL = 'NULL'" test \
  "$(my -e "SELECT GROUP_CONCAT(CONCAT(id, ':', IFNULL(CONCAT('[', v, ']'), 'null')) ORDER BY id) FROM \`$A\` WHERE id >= 50000")" = \
  "50000:null,50001:[],50002:[NULL],50003:[NULL]"

# ------------------------------------------------------------------ --create
printf 'name,qty\nwidget,3\n,\n"",5\n' > create.csv
check "missing table with --create" fy copy create.csv "mydb:$C" --create -q
check "... created with the header's columns and the rows" test \
  "$(my -e "SELECT GROUP_CONCAT(CONCAT(IFNULL(name, 'null'), '=', IFNULL(qty, 'null')) ORDER BY qty) FROM \`$C\`")" = \
  "null=null,widget=3,=5"
check "... no staging table left" test "$(leftovers "$C")" = 0

# ------------------------------------------------------------------ errors and exit codes
export AIRFLOW_CONN_BADPW="mysql://etl:WrongSecretPw4711@$MYSQL_HOST:$MYSQL_PORT/etl"
expect_code "wrong password: copy exits 4" 4 fy copy "badpw:$H" x.csv -q
fy copy "badpw:$H" x.csv -q >badpw.out 2>&1
check "... the message says access denied" grep -q "Access denied" badpw.out
check "... and never shows the password" bash -c '! grep -q WrongSecretPw4711 badpw.out'
check "... no destination file" test ! -e x.csv
expect_code "missing table as source exits 5" 5 fy copy "mydb:${RUN}_nosuch" x.csv -q
check "... no destination file" test ! -e x.csv
expect_code "missing table as sink exits 5" 5 fy copy good.csv "mydb:${RUN}_nosuch" -q
expect_code "unknown column exits 5" 5 fy copy mydb: x.csv --query "SELECT nosuchcol FROM \`$H\`" -q
expect_code "SQL error exits 7" 7 fy copy mydb: x.csv --query "SELEKT 1" -q
export AIRFLOW_CONN_NOPE="mysql://etl:etlpass@127.0.0.1:1/etl"
expect_code "unreachable server exits 4" 4 fy copy "nope:$H" x.csv -q

# ------------------------------------------------------------------ KILL mid-stream
kill_test() { # NAME KILLSQL
  local marker="kill_${RUN}_$1" out="kill-$1.csv" id="" i
  fy copy mydb: "$out" -q --query "SELECT /* $marker */ h.*, SLEEP(0.001) AS z FROM \`$H\` h" 2>"kill-$1.err" &
  local pid=$!
  for i in $(seq 1 100); do  # wait until rows are flowing into the temp file
    if compgen -G ".$out.ferry-tmp-*" >/dev/null && [ -n "$(find . -maxdepth 1 -name ".$out.ferry-tmp-*" -size +8k)" ]; then
      id=$(my -e "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%/* $marker */%'
                  AND ID <> CONNECTION_ID() LIMIT 1")
      [ -n "$id" ] && break
    fi
    sleep 0.1
  done
  [ -n "$id" ] && my -e "$2 $id"
  wait "$pid"; local code=$?
  # KILL QUERY: the server says why (7); KILL: the connection breaks (8, docs/reliability.md)
  local want=7; [ "$2" = KILL ] && want=8
  if [ -n "$id" ] && [ "$code" = "$want" ]; then ok "$2 of the source query mid-stream exits $want"
  else fail "$2 of the source query mid-stream exits $want (got $code, id '$id')" "$(cat "kill-$1.err")"; fi
  check "... no destination file" test ! -e "$out"
  check "... no temp file left" bash -c "! compgen -G '.$out.ferry-tmp-*'"
}
kill_test query "KILL QUERY"
kill_test conn "KILL"

# ------------------------------------------------------------------ KILL of the sink's LOAD DATA
sink_kill_test() { # NAME TABLE KILLSQL [--replace]
  local fifo="sinkfifo-$1" before id="" i code
  before=$(my -e "SELECT COUNT(*) FROM \`$2\`")
  mkfifo "$fifo"
  ( cat more.csv; exec sleep 60 ) > "$fifo" &   # the data, then a stream that stays open
  local feeder=$!
  fy copy "$fifo" "mydb:$2" ${4:-} -q 2>"sinkkill-$1.err" &
  local pid=$!
  for i in $(seq 1 100); do
    id=$(my -e "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA LOCAL%\`$2%'
                AND ID <> CONNECTION_ID() LIMIT 1")
    [ -n "$id" ] && break
    sleep 0.1
  done
  [ -n "$id" ] && sleep 0.5 && my -e "$3 $id"
  wait "$pid"; code=$?
  kill "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null
  local want=7; [ "$3" = KILL ] && want=8
  if [ -n "$id" ] && [ "$code" = "$want" ]; then ok "$3 of the sink's LOAD DATA ($1) exits $want"
  else fail "$3 of the sink's LOAD DATA ($1) exits $want (got $code, id '$id')" "$(cat "sinkkill-$1.err")"; fi
  check "... the table is unchanged" test "$(my -e "SELECT COUNT(*) FROM \`$2\`")" = "$before"
  check "... no staging table left" test "$(leftovers "$2")" = 0
}
sink_kill_test replace "$R" "KILL QUERY" --replace
sink_kill_test append "$A" "KILL"

# ------------------------------------------------------------------ SIGTERM during a load
OLD=$(rep_sum "$R")
mkfifo slow.csv
( cat good.csv; exec sleep 60 ) > slow.csv &
feeder=$!
timeout -k 5 "$T" "$FERRY" copy slow.csv "mydb:$R" --replace -q 2>sigterm.err &
spid=$!
sleep 2
kill -TERM "$spid"
wait "$spid"; code=$?
kill "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null
[ "$code" = 130 ] && ok "SIGTERM during a load exits 130" || fail "SIGTERM during a load exits 130 (got $code)" "$(cat sigterm.err)"
check "... the table is unchanged" test "$(rep_sum "$R")" = "$OLD"
check "... no staging table left" test "$(leftovers "$R")" = 0

# ------------------------------------------------------------------ conn test
check "conn test ok" fy conn test mydb
fy conn test mydb > conntest.out 2>&1
check "... says MariaDB, the user and no TLS" grep -Eq "ok: mydb: MariaDB [0-9.]+ as etl@% on 127.0.0.1:$MYSQL_PORT \(tls: no\)" conntest.out
export AIRFLOW_CONN_MYTLS="$MYSQL_URI?ssl_ca=$TLS_CA_FILE"
fy conn test mytls > conntls.out 2>&1
check "conn test over TLS verified against the test CA" grep -q "(tls: TLSv1" conntls.out
export AIRFLOW_CONN_BADCA="$MYSQL_URI?ssl_ca=/etc/ssl/certs/ca-certificates.crt"
expect_code "TLS with a CA that did not sign the server cert exits 4" 4 fy conn test badca
expect_code "conn test with a wrong password exits 4" 4 fy conn test badpw
check "TLS copy works" fy copy "mytls:$H" tls.csv -q
check "... same bytes as without TLS" cmp tls.csv h.csv
check "TLS load (--replace)" fy copy h.csv "mytls:$H2" --replace -q
check "... checksums equal" test "$(cksum "$H2")" = "$ORIG"

# ------------------------------------------------------------------ connection fallbacks and extras
mkdir -p home && chmod 700 home
export AIRFLOW_CONN_CNF="mysql://etl@$MYSQL_HOST:$MYSQL_PORT/etl"
expect_code "no password anywhere exits 4" 4 env HOME="$WORK/home" "$FERRY" conn test cnf
printf '[client]\npassword=%s\n' "$MYSQL_PASSWORD" > home/.my.cnf && chmod 600 home/.my.cnf
check "the password comes from ~/.my.cnf [client]" env HOME="$WORK/home" timeout "$T" "$FERRY" conn test cnf
export AIRFLOW_CONN_CNF2='{"conn_type": "mysql", "login": "etl", "schema": "etl"}'
printf '[client]\nhost=%s\nport=%s\npassword=%s\n' "$MYSQL_HOST" "$MYSQL_PORT" "$MYSQL_PASSWORD" > home/.my.cnf
check "host, port and password from ~/.my.cnf" env HOME="$WORK/home" timeout "$T" "$FERRY" conn test cnf2
export AIRFLOW_CONN_SOCK="mysql://etl:etlpass@localhost/etl?unix_socket=$MYSQL_SOCKET"
fy conn test sock > sock.out 2>&1
check "unix_socket extra" grep -qF "on $MYSQL_SOCKET (tls: no)" sock.out
export AIRFLOW_CONN_INIT="$MYSQL_URI?init_command=SET+@ferry_x%3D42"
check "init_command extra runs at connect" test "$(fy copy init: - --query 'SELECT @ferry_x AS x' -q)" = $'x\n42'
export AIRFLOW_CONN_REQ="$MYSQL_URI?ssl_mode=REQUIRED"
fy conn test req > req.out 2>&1
check "ssl_mode=REQUIRED uses TLS" grep -q "(tls: TLSv1" req.out
export AIRFLOW_CONN_OFF="$MYSQL_URI?ssl_mode=DISABLED&ssl_ca=$TLS_CA_FILE"
fy conn test off > off.out 2>&1
check "ssl_mode=DISABLED wins over ssl_ca" grep -q "(tls: no)" off.out
export AIRFLOW_CONN_BADMODE="$MYSQL_URI?ssl_mode=sometimes"
expect_code "unknown ssl_mode exits 3" 3 fy conn test badmode
export AIRFLOW_CONN_NODB="mysql://$MYSQL_ROOT_USER:$MYSQL_ROOT_PASSWORD@$MYSQL_HOST:$MYSQL_PORT/nosuchdb_$RUN"
expect_code "unknown database exits 5" 5 fy conn test nodb

# ------------------------------------------------------------------ exec
check "exec prints the last statement's rows as CSV" test \
  "$(fy exec mydb: "SELECT 0; SELECT 1 AS a, NULL AS b, '' AS c, 'x,y' AS d, 'NULL' AS e" -q)" = \
  $'a,b,c,d,e\n1,,"","x,y",NULL'
cat > want-my.json <<'JSON'
[{"a":"1","b":null,"c":"","d":"x,y","e":"NULL"}]
JSON
fy exec mydb: "SELECT 0; SELECT 1 AS a, NULL AS b, '' AS c, 'x,y' AS d, 'NULL' AS e" --json -q > got-my.json
check "exec --json: the hook writes the rows as JSON (strings, NULL null)" cmp got-my.json want-my.json
cat > want-my-typed.json <<'JSON'
[{"a":1,"n":2.50,"d":3,"s":"x","z":null}]
JSON
fy exec mydb: "SELECT 1 AS a, CAST(2.5 AS DECIMAL(4,2)) AS n, CAST(3 AS DOUBLE) AS d, 'x' AS s, NULL AS z" \
  --json-typed -q > got-my-typed.json
check "exec --json-typed: numeric columns as numbers" cmp got-my-typed.json want-my-typed.json
my -e "CREATE TABLE \`$E\` (id INT PRIMARY KEY) ENGINE=InnoDB"
expect_code "exec: a failing second statement exits 7" 7 fy exec mydb: "INSERT INTO \`$E\` VALUES (1); INSERT INTO \`$E\` VALUES (1)" -q
check "... and the first one was rolled back" test "$(my -e "SELECT COUNT(*) FROM \`$E\`")" = 0
expect_code "exec --autocommit: the same exits 7" 7 fy exec mydb: "INSERT INTO \`$E\` VALUES (1); INSERT INTO \`$E\` VALUES (1)" --autocommit -q
check "... and the first one stays" test "$(my -e "SELECT COUNT(*) FROM \`$E\`")" = 1
expect_code "exec on a missing table exits 5" 5 fy exec mydb: "SELECT * FROM \`${RUN}_nosuch\`" -q

finish

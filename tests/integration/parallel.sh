#!/usr/bin/env bash
# parallel.sh - parallel, snapshot-consistent extraction (issue #8) against
# the real Postgres, MariaDB and Ceph radosgw: a 1,000,000-row table with
# NULL keys and gaps exported with --parallel 1/2/4 (ctid and --split-by
# ranges) to a local file, stdout and S3 gives exactly psql's rows; header
# once; gzip one member per range (gzip -t, Python reads it whole); a
# concurrent UPDATE/INSERT stream during the export keeps the union
# consistent (a sum invariant and no duplicate ids); --split-output;
# --partition 0/3..2/3 then `ferry manifest` (and its refusal when a part is
# missing); failures in one range (a bad --split-by column, FERRY_FAULT in one
# range's read, pg_terminate_backend of one worker, SIGTERM) leave no
# destination, no temp file and no multipart upload; MariaDB key ranges with
# and without FLUSH TABLES WITH READ LOCK.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
cd "$WORK"
load_services_env
B=$CEPH_S3_BUCKET
P="ferry-par-$$-$RANDOM"
T="it_par_$$"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
export AIRFLOW_CONN_SHOP="mysql://$MYSQL_USER:$MYSQL_PASSWORD@127.0.0.1:$MYSQL_PORT/$MYSQL_DATABASE"
export AIRFLOW_CONN_SHOPROOT="mysql://$MYSQL_ROOT_USER:$MYSQL_ROOT_PASSWORD@127.0.0.1:$MYSQL_PORT/$MYSQL_DATABASE"
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"
AWS_CLI=/usr/bin/aws   # for awsx (tests/s3_lib.sh)
psqlx() { timeout 600 psql -X -q -v ON_ERROR_STOP=1 "$PG_URI" "$@"; }
myx() { timeout 600 mysql -h127.0.0.1 -P"$MYSQL_PORT" -u"$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" "$@"; }
fr() { timeout 600 "$FERRY" "$@"; }
s3has() { awsx s3api head-object --bucket "$B" --key "$1" >/dev/null 2>&1; }
digest() { LC_ALL=C sort | sha256sum | cut -d' ' -f1; }
cleanup() {
  s3_cleanup   # objects and multipart uploads under $P/
  psqlx -c "DROP TABLE IF EXISTS $T, ${T}_live, ${T}_grow" >/dev/null 2>&1
  myx -e "DROP TABLE IF EXISTS $T" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1,000,000 rows: id with gaps (ids are 3*g) and NULL ids, awkward text
psqlx <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS $T;
CREATE TABLE $T (id bigint, grp int, amount numeric(12,2), note text);
INSERT INTO $T SELECT CASE WHEN g % 97 = 0 THEN NULL ELSE g * 3 END, (g % 1000)::int,
  CASE WHEN g % 13 = 0 THEN NULL ELSE round(((g::bigint * 7919) % 1000000) / 100.0, 2) END,
  CASE g % 6 WHEN 0 THEN 'plain ' || g WHEN 1 THEN 'comma, "quoted"' WHEN 2 THEN E'multi\nline'
    WHEN 3 THEN 'unicode ✓ 日本語' WHEN 4 THEN '' ELSE NULL END
FROM generate_series(1, 1000000) g;
DELETE FROM $T WHERE id BETWEEN 600000 AND 900000;   -- a gap in the key
ANALYZE $T;
SQL
psqlx -c "\\copy $T to stdout csv header" > ref.csv
REF=$(digest < ref.csv)
ROWS=$(($(psqlx -At -c "SELECT count(*) FROM $T")))
check "reference has the rows (and NULL ids)" test "$ROWS" -gt 800000 -a "$(psqlx -At -c "SELECT count(*) FROM $T WHERE id IS NULL")" -gt 0
HDR=$(head -1 ref.csv)

# --- same rows for 1, 2, 4 ranges; ctid and --split-by; local, stdout, S3
for n in 1 2 4; do
  fr copy warehouse:$T "ctid$n.csv" --parallel $n -q
  check "ctid ranges --parallel $n -> local: same rows as psql" test "$(digest < ctid$n.csv)" = "$REF"
  fr copy warehouse:$T "key$n.csv" --parallel $n --split-by id -q
  check "--split-by id --parallel $n -> local: same rows as psql" test "$(digest < key$n.csv)" = "$REF"
  fr copy warehouse:$T "s3://$B/$P/all$n.csv.gz" --parallel $n --split-by id -q
  fr cat "s3://$B/$P/all$n.csv.gz" > s3_$n.csv.gz
  check "--parallel $n -> S3 csv.gz: same rows as psql" test "$(gzip -dc s3_$n.csv.gz | digest)" = "$REF"
  check "--parallel $n -> S3 csv.gz passes gzip -t" gzip -t s3_$n.csv.gz
done
check "header only once (4 ranges)" test "$(grep -cxF "$HDR" ctid4.csv)" = 1
check "the header is the first line" test "$(head -1 key4.csv)" = "$HDR"
fr copy warehouse:$T - --parallel 3 -q > stdout3.csv
check "--parallel 3 -> stdout (spool fallback): same rows" test "$(digest < stdout3.csv)" = "$REF"
fr copy warehouse:$T "s3://$B/$P/ctid4.csv" --parallel 4 -q
check "ctid ranges --parallel 4 -> S3: same rows" test "$(fr cat "s3://$B/$P/ctid4.csv" | digest)" = "$REF"
check "Python's gzip reads the 4-member object whole" python3 - <<'PY'
import gzip, zlib
raw = open('s3_4.csv.gz', 'rb').read()
data = gzip.decompress(raw)
assert data.count(b'\n') > 800000, len(data)
members, rest = 0, raw
while rest:
    d = zlib.decompressobj(31); d.decompress(rest); rest = d.unused_data; members += 1
assert members >= 4, members
PY
fr copy warehouse:$T "local4.csv.gz" --parallel 4 -q
check "local csv.gz (spool fallback, 4 members) passes gzip -t" gzip -t local4.csv.gz
check "local csv.gz has psql's rows" test "$(gzip -dc local4.csv.gz | digest)" = "$REF"
check "no temp file left in TMPDIR" test -z "$(ls -A "$TMPDIR")"
expect_code "existing destination without --replace exits 6" 6 fr copy warehouse:$T ctid4.csv --parallel 2
check "a parallel query with --split-by" bash -c "'$FERRY' copy warehouse: --query 'SELECT * FROM $T WHERE grp < 500' q.csv --parallel 3 --split-by id -q && [ \$(tail -n +2 q.csv | LC_ALL=C sort | sha256sum | cut -c1-64) = \$(psql -X -q '$PG_URI' -c '\\copy (SELECT * FROM $T WHERE grp < 500) to stdout csv' | LC_ALL=C sort | sha256sum | cut -c1-64) ]"
expect_code "a parallel query without --split-by is a usage error" 2 fr copy warehouse: --query "SELECT 1" q2.csv --parallel 2

# --- a concurrent write stream does not make the union inconsistent.
# Every writer transaction moves 1 between two random rows (the sum stays
# S0) and inserts a pair (+x, -x) of new ids: any mix of two points in time
# across ranges shows as a wrong sum or a duplicated/missing id.
psqlx <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS ${T}_live;
CREATE TABLE ${T}_live (id bigserial PRIMARY KEY, v bigint NOT NULL, pad text);
INSERT INTO ${T}_live (v, pad) SELECT (g % 1000) - 500, repeat('p', 40) FROM generate_series(1, 300000) g;
SQL
S0=$(psqlx -At -c "SELECT sum(v) FROM ${T}_live")
psql -X -q "$PG_URI?application_name=ferry_par_writer" >/dev/null 2>&1 <<SQL &
DO \$\$ DECLARE a bigint; b bigint; x bigint; BEGIN
  FOR i IN 1..2000000 LOOP
    a := 1 + (random() * 299999)::bigint; b := 1 + (random() * 299999)::bigint; x := (random() * 1000)::bigint;
    UPDATE ${T}_live SET v = v - 1 WHERE id = a;
    UPDATE ${T}_live SET v = v + 1 WHERE id = b;
    INSERT INTO ${T}_live (v, pad) VALUES (x, 'new'), (-x, 'new');
    COMMIT;
  END LOOP; END \$\$;
SQL
wpid=$!
sleep 1
consistent() {
  python3 - "$1" "$S0" <<'PY'
import csv, sys, gzip
f = gzip.open(sys.argv[1], 'rt') if sys.argv[1].endswith('.gz') else open(sys.argv[1])
r = csv.reader(f); next(r)
ids, total = set(), 0
for row in r:
    i = int(row[0]); assert i not in ids, ('duplicate id', i); ids.add(i); total += int(row[1])
assert total == int(sys.argv[2]), ('sum', total, sys.argv[2])
assert len(ids) % 2 == 0, ('odd row count', len(ids))
print(len(ids))
PY
}
for mode in ctid key; do
  for round in 1 2; do
    if [ $mode = ctid ]; then fr copy warehouse:${T}_live "live_${mode}_$round.csv" --parallel 4 -q
    else fr copy warehouse:${T}_live "s3://$B/$P/live_${mode}_$round.csv" --parallel 4 --split-by id -q &&
         fr cat "s3://$B/$P/live_${mode}_$round.csv" > "live_${mode}_$round.csv"; fi
    check "concurrent writes, $mode ranges, round $round: sum and ids consistent" consistent "live_${mode}_$round.csv"
  done
done
check "the writer was really writing during the exports" test "$(psqlx -At -c "SELECT count(*) FROM ${T}_live WHERE pad = 'new'")" -gt 0
psqlx -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ferry_par_writer'" >/dev/null
wait $wpid 2>/dev/null

# --- --split-output: one object per range, all or nothing
fr copy warehouse:$T "s3://$B/$P/split" --parallel 3 --split-by id --split-output --compress gzip -q
check "--split-output writes 3 parts" test "$(fr ls "s3://$B/$P/split/" | grep -c '^part-0000[0-2].csv.gz$')" = 3
for k in 0 1 2; do fr cat "s3://$B/$P/split/part-0000$k.csv.gz" > sp$k.csv.gz; done
check "each split part is valid gzip with its own header" bash -c "for k in 0 1 2; do gzip -t sp\$k.csv.gz && [ \"\$(gzip -dc sp\$k.csv.gz | head -1)\" = '$HDR' ] || exit 1; done"
check "the split parts hold psql's rows" test "$( (echo "$HDR"; for k in 0 1 2; do gzip -dc sp$k.csv.gz | tail -n +2; done) | digest)" = "$REF"
fr copy warehouse:$T splitdir --parallel 2 --split-output -q
check "--split-output to a local directory" test "$( (echo "$HDR"; tail -q -n +2 splitdir/part-00000.csv splitdir/part-00001.csv) | digest)" = "$REF"

# --- --partition K/N on three "machines", then the manifest
for k in 0 1 2; do fr copy warehouse:$T "s3://$B/$P/parts" --partition $k/3 --split-by id --compress gzip -q; done
check "three partition objects" test "$(fr ls "s3://$B/$P/parts/" | grep -c '^part-0000[0-2]-of-00003.csv.gz$')" = 3
check "three sidecars" test "$(fr ls "s3://$B/$P/parts/_parts/" | grep -c '^part-0000[0-2].json$')" = 3
check "ferry manifest" fr manifest "s3://$B/$P/parts" -q
fr cat "s3://$B/$P/parts/_manifest.json" > manifest.json
for k in 0 1 2; do fr cat "s3://$B/$P/parts/part-0000$k-of-00003.csv.gz" > pt$k.csv.gz; done
check "manifest: 3 parts, all rows, sha256 of every object" python3 - "$ROWS" <<'PY'
import json, hashlib, sys
m = json.load(open('manifest.json'))
assert m['partitions'] == 3 and m['rows'] == int(sys.argv[1]), m
for p in m['parts']:
    data = open('pt%d.csv.gz' % p['partition'], 'rb').read()
    assert hashlib.sha256(data).hexdigest() == p['sha256'] and len(data) == p['bytes'], p
PY
check "the partitions hold psql's rows" test "$( (echo "$HDR"; for k in 0 1 2; do gzip -dc pt$k.csv.gz | tail -n +2; done) | digest)" = "$REF"
expect_code "manifest again without --replace exits 6" 6 fr manifest "s3://$B/$P/parts"
check "manifest --replace" fr manifest "s3://$B/$P/parts" --replace -q
# --- --partition runs on a table that grows between them: without
# --split-range each run cuts its own bounds and rows fall between; the
# manifest refuses such a set (exit 7). With --split-range every row is in
# exactly one partition.
psqlx -q -c "DROP TABLE IF EXISTS ${T}_grow; CREATE TABLE ${T}_grow AS SELECT g AS id, 'r' || g AS v FROM generate_series(1, 1000) g"
fr copy warehouse:${T}_grow grow1 --partition 0/2 --split-by id -q
psqlx -q -c "INSERT INTO ${T}_grow SELECT g, 'r' || g FROM generate_series(1001, 3000) g"
fr copy warehouse:${T}_grow grow1 --partition 1/2 --split-by id -q
fr manifest grow1 > grow1.out 2>&1; code=$?
check "manifest refuses partitions cut from different bounds (exit 7, names the gap)" bash -c "[ $code = 7 ] &&
  grep -q 'partition 0 ends at id 501 but partition 1 starts at id 1501: the rows between are in no partition' grow1.out"
check "... and writes no manifest" test ! -e grow1/_manifest.json
psqlx -q -c "DELETE FROM ${T}_grow WHERE id > 1000"
fr copy warehouse:${T}_grow grow2 --partition 0/2 --split-by id --split-range 1:1000 -q
psqlx -q -c "INSERT INTO ${T}_grow SELECT g, 'r' || g FROM generate_series(1001, 3000) g"
fr copy warehouse:${T}_grow grow2 --partition 1/2 --split-by id --split-range 1:1000 -q
check "--split-range 1:1000 on both runs: the manifest accepts the set" fr manifest grow2 -q
check "--split-range: every row exactly once (500 + 2500 = 3000 distinct of 3000 lines)" bash -c "
  [ \$(tail -q -n +2 grow2/part-00000-of-00002.csv | wc -l) = 500 ] &&
  [ \$(tail -q -n +2 grow2/part-0000[01]-of-00002.csv | cut -d, -f1 | sort -u | wc -l) = 3000 ] &&
  [ \$(tail -q -n +2 grow2/part-0000[01]-of-00002.csv | wc -l) = 3000 ]"
expect_code "--split-range 9:1 exits 2" 2 fr copy warehouse:${T}_grow grow3 --partition 0/2 --split-range 9:1
fr copy warehouse:${T}_grow grow3 --partition 1/4 --split-range 0:99 --dry-run > grow3.out 2>&1
check "--dry-run shows the pinned range" grep -q '^ranges:      4, cut by ctid page ranges over \[0, 99\] (--split-range)' grow3.out

# --- --dry-run of ranged copies: the ranges and each object, nothing written
fr copy warehouse:$T "s3://$B/$P/parts" --partition 1/3 --split-by id --compress gzip --dry-run > dry1.out 2>&1; code=$?
check "--dry-run --partition onto an existing part exits 6 and names it" bash -c "[ $code = 6 ] &&
  grep -q '^ranges:      3, cut by column id; this run reads one of them' dry1.out &&
  grep -q 'parts/part-00001-of-00003.csv.gz: exists: would refuse (exit 6)' dry1.out"
fr copy warehouse:$T "s3://$B/$P/dry" --parallel 3 --split-output --compress zstd --dry-run > dry2.out 2>&1; code=$?
check "--dry-run --split-output lists the 3 objects it would create" bash -c "[ $code = 0 ] &&
  [ \$(grep -c 'dry/part-0000[0-2].csv.zst: would create' dry2.out) = 3 ] &&
  grep -q '^ranges:      3, cut by ctid page ranges; one session each, one snapshot' dry2.out && grep -q '^filter:      zstd' dry2.out"
check "--dry-run wrote nothing" test -z "$(fr ls "s3://$B/$P/dry/" 2>/dev/null)"
fr copy shop:$T dry3.csv.gz --parallel 2 --dry-run > dry3.out 2>&1; code=$?
check "--dry-run --parallel on MariaDB: key ranges into one destination" bash -c "[ $code = 0 ] &&
  grep -q '^ranges:      2, cut by the primary key; one session each' dry3.out &&
  grep -q 'into the one destination, in range order' dry3.out && grep -q '^outcome:     would create' dry3.out"
check "--dry-run did not create the file" test ! -e dry3.csv.gz
expect_code "--dry-run --split-output from a file source exits 2" 2 fr copy /etc/hostname "dry4/" --split-output --dry-run

for k in 0 2; do fr copy warehouse:$T "miss" --partition $k/3 --split-by id -q; done
fr manifest miss > miss.out 2>&1; code=$?
check "manifest with a missing part exits 5 naming it" bash -c "[ $code = 5 ] && grep -q 'missing: 1' miss.out"
check "no manifest written when a part is missing" test ! -e miss/_manifest.json
expect_code "manifest --partitions 4 with 3 sidecars of 3 exits 7" 7 fr manifest miss --partitions 4

# --- failures: nothing at the destination, no upload, no temp file
expect_code "a bad --split-by column exits 5" 5 fr copy warehouse:$T "s3://$B/$P/bad.csv" --parallel 3 --split-by no_such_col
expect_code "a text --split-by column exits 2" 2 fr copy warehouse:$T "s3://$B/$P/bad.csv" --parallel 3 --split-by note
check "no object after the bad --split-by" bash -c "! '$FERRY' ls 's3://$B/$P/' | grep -q '^bad.csv'"
echo a > probe.csv
FERRY_FAULT=source:open:1:fatal "$FERRY" copy probe.csv probe.out -q >/dev/null 2>&1; probe=$?
if [ "$probe" = 0 ]; then
  skip "the FERRY_FAULT case: ferry built without FERRY_FAULT_INJECTION"
else
  FERRY_FAULT=source:read:7:fatal "$FERRY" copy warehouse:$T fault.csv --parallel 4 -q 2> fault.err; code=$?
  check "an injected fault in one range's read exits 7" test "$code" = 7
  check "the error names the range" grep -q 'range [0-3]' fault.err
  check "no destination after the fault" test ! -e fault.csv
  check "no temp file left after the fault" test -z "$(ls -A "$TMPDIR")"
fi
SLOW="SELECT t.*, pg_sleep(CASE WHEN id % 30000 = 0 THEN 0.2 ELSE 0 END) AS z FROM $T t"
timeout 600 "$FERRY" copy warehouse: --query "$SLOW" "s3://$B/$P/killed.csv" --parallel 3 --split-by id -q 2> killed.err &
fpid=$!
for _ in $(seq 1 50); do
  sleep 0.2
  n=$(psqlx -At -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'COPY%IS NULL%' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()")
  [ "$n" -gt 0 ] && break
done
wait $fpid; code=$?
check "pg_terminate_backend of one worker fails the copy (exit $code)" test "$code" != 0 -a "$code" != 130
check "no object after the killed worker" bash -c "! '$FERRY' ls 's3://$B/$P/' | grep -q '^killed.csv'"
check "no multipart upload left after the killed worker" test "$(uploads)" = 0
timeout 600 "$FERRY" copy warehouse: --query "$SLOW" "s3://$B/$P/term.csv" --parallel 3 --split-by id -q 2> term.err &
fpid=$!; sleep 2; kill -TERM $fpid; wait $fpid; code=$?
check "SIGTERM during a parallel export exits 130" test "$code" = 130
check "no object after SIGTERM" bash -c "! '$FERRY' ls 's3://$B/$P/' | grep -q '^term.csv'"
check "no multipart upload left after SIGTERM" test "$(uploads)" = 0
check "no temp file left in TMPDIR at the end" test -z "$(ls -A "$TMPDIR")"

# --- MariaDB: key ranges, with and without FLUSH TABLES WITH READ LOCK
myx -e "DROP TABLE IF EXISTS $T; CREATE TABLE $T (id bigint PRIMARY KEY, k int NULL, v varchar(40));
        INSERT INTO $T SELECT seq * 2, IF(seq % 7 = 0, NULL, seq), CONCAT('r,', seq) FROM seq_1_to_200000;"
fr copy shop:$T my_ref.csv -q
MYREF=$(digest < my_ref.csv)
for n in 2 4; do
  fr copy shop:$T my$n.csv --parallel $n -q 2> my$n.err
  check "MariaDB --parallel $n (primary key ranges): same rows" test "$(digest < my$n.csv)" = "$MYREF"
done
check "without RELOAD ferry warns that the ranges' snapshots differ" grep -q 'FLUSH TABLES WITH READ LOCK' my4.err
fr copy shoproot:$T myroot.csv --parallel 3 --split-by k -q 2> myroot.err
check "MariaDB with RELOAD, --split-by a nullable column: same rows" test "$(digest < myroot.csv)" = "$MYREF"
check "with RELOAD no warning" test ! -s myroot.err
fr copy shop:$T my_pin --partition 1/2 --split-by id --split-range 1:10 -q 2>/dev/null; code=$?
check "MariaDB --split-range: partition 1 of [1, 10] starts at 6" bash -c "[ $code = 0 ] && grep -q '\"from\":6,' my_pin/_parts/part-00001.json"
fr copy shop:$T "s3://$B/$P/my.csv.gz" --parallel 3 -q 2>/dev/null
check "MariaDB --parallel 3 -> S3 csv.gz" test "$(fr cat "s3://$B/$P/my.csv.gz" | gzip -dc | digest)" = "$MYREF"

expect_code "--max-memory too small for 4 ranges into S3 exits 2" 2 fr copy warehouse:$T "s3://$B/$P/mm.csv" --parallel 4 --max-memory 32M
cp "$WORK/.out" "$WORK/mm.out"
check "... it says what the ranges need" grep -q "too small for 4 ranges" "$WORK/mm.out"
expect_code "--resume with --parallel exits 2" 2 fr copy warehouse:$T "s3://$B/$P/rs.csv" --parallel 2 --resume "$WORK/rs.json"
check "... nothing written" test -z "$(fr ls "s3://$B/$P/" | grep -E '^(mm|rs)\.csv$')"

check "no multipart upload left at the end" test "$(uploads)" = 0
finish

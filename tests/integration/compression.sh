#!/usr/bin/env bash
# compression.sh - gzip in parallel and zstd, end to end, and --max-memory.
#   * parallel gzip (4 MiB and 1 MiB members, ISA-L and zlib): several
#     members, gzip -t and Python's gzip module read the whole file, equal to
#     the input; inline (--compress-threads 1) is one member;
#   * zstd by name (.zst) and by option, inline and with workers: zstd -t,
#     zstd -d equal to the input, ferry reads it back, .gz <-> .zst transcoding;
#     truncated / corrupt / plain input is exit 7 and leaves no destination;
#   * SIGTERM during a parallel gzip: exit 130, no temp file;
#   * real servers: local -> s3://….csv.zst -> Postgres table (round trip equal
#     to psql's \copy), Postgres -> s3://….csv.zst and .csv.gz (compared with
#     psql's output after decompression);
#   * --max-memory 32M: a 200 MiB copy local -> S3 (plain and .gz) keeps its
#     peak RSS within 32 MiB of the baseline of a tiny copy; a bound below the
#     minimum is exit 2 naming the minimum.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
cd "$WORK"
load_services_env
B=$CEPH_S3_BUCKET
P="ferry-cmp-$$-$RANDOM"
T="it_cmp_$$"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
AWS_CLI=/usr/bin/aws   # for awsx (tests/s3_lib.sh)
psqlx() { timeout 600 psql -X -q -v ON_ERROR_STOP=1 "$PG_URI" "$@"; }
fr() { timeout 600 "$FERRY" "$@"; }
cleanup() {
  s3_cleanup   # objects and multipart uploads under $P/
  psqlx -c "DROP TABLE IF EXISTS $T, ${T}_in" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# number of gzip members in a file (Python: restart a decompressor after each)
members() {
  python3 - "$1" <<'PY'
import sys, zlib
data = open(sys.argv[1], 'rb').read()
n = 0
while data:
    d = zlib.decompressobj(31)
    d.decompress(data)
    if not d.eof:
        sys.exit("truncated member")
    n += 1
    data = d.unused_data
print(n)
PY
}
pyeq() { python3 -c 'import gzip,sys; sys.exit(0 if gzip.open(sys.argv[1]).read() == open(sys.argv[2],"rb").read() else 1)' "$1" "$2"; }

# --- 20 MiB of CSV-like text
python3 - <<'PY'
import random
random.seed(7)
with open("in.csv", "w") as f:
    f.write("id,name,amount,note\n")
    i = 0
    while f.tell() < 20 * 1024 * 1024:
        i += 1
        f.write("%d,name %d,%d.%02d,%s\n" % (i, random.randrange(10**6), random.randrange(10**5), i % 100,
                                            random.choice(["a", "b,c", '"q"', "ü ✓"])))
PY

# --- parallel gzip
for engine in isal zlib; do
  envv=(); [ $engine = zlib ] && envv=(FERRY_GZIP_ZLIB=1)
  check "$engine: parallel gzip (2 threads, 4 MiB members)" env "${envv[@]}" "$FERRY" copy in.csv par-$engine.csv.gz --compress-threads 2 -q
  check "$engine: gzip -t accepts the members" gzip -t par-$engine.csv.gz
  check "$engine: gzip -d gives the input" bash -c "gzip -dc par-$engine.csv.gz | cmp - in.csv"
  check "$engine: Python's gzip module reads it whole" pyeq par-$engine.csv.gz in.csv
  check "$engine: 6 members (just over 20 MiB / 4 MiB)" test "$(members par-$engine.csv.gz)" = 6
  check "$engine: ferry reads it back" bash -c "'$FERRY' copy par-$engine.csv.gz - -q | cmp - in.csv"
done
check "1 MiB blocks under --max-memory 24M, 3 threads" bash -c \
  "'$FERRY' copy in.csv small.csv.gz --compress-threads 3 --max-memory 24M -q && gzip -t small.csv.gz && gzip -dc small.csv.gz | cmp - in.csv"
check "... many members" test "$(members small.csv.gz)" -gt 3
check "--compress-threads 1 (inline)" "$FERRY" copy in.csv one.csv.gz --compress-threads 1 -q
check "... is one member" test "$(members one.csv.gz)" = 1
check "empty input: a valid empty gzip file" bash -c ": > empty.csv && '$FERRY' copy empty.csv empty.csv.gz --compress-threads 2 -q && gzip -t empty.csv.gz && test -z \"\$(gzip -dc empty.csv.gz)\""

# --- zstd
check "csv -> .zst (inline)" "$FERRY" copy in.csv in1.csv.zst --compress-threads 1 -q
check "csv -> .zst (2 workers)" "$FERRY" copy in.csv in2.csv.zst --compress-threads 2 -q
for f in in1 in2; do
  check "$f: zstd -t" zstd -q -t $f.csv.zst
  check "$f: zstd -d gives the input" bash -c "zstd -q -dc $f.csv.zst | cmp - in.csv"
  check "$f: ferry reads it back" bash -c "'$FERRY' copy $f.csv.zst back-$f.csv -q && cmp back-$f.csv in.csv"
done
check "--compress zstd to stdout, --decompress zstd from stdin" bash -c \
  "'$FERRY' copy in.csv - --compress zstd -q | '$FERRY' copy - - --decompress zstd -q | cmp - in.csv"
check "zstd(1)'s output is read (multi-frame, level 19)" bash -c \
  "{ head -c 1000000 in.csv | zstd -q -19 -c; tail -c +1000001 in.csv | zstd -q -c; } > tool.zst && '$FERRY' copy tool.zst - --decompress zstd -q | cmp - in.csv"
check ".gz -> .zst transcodes" bash -c "'$FERRY' copy par-isal.csv.gz tr.csv.zst -q && zstd -q -dc tr.csv.zst | cmp - in.csv"
check ".zst -> .gz transcodes" bash -c "'$FERRY' copy in2.csv.zst tr.csv.gz -q && gzip -dc tr.csv.gz | cmp - in.csv"
size=$(stat -c %s in2.csv.zst)
head -c $((size / 2)) in2.csv.zst > cut.csv.zst
expect_code "truncated .zst is exit 7" 7 "$FERRY" copy cut.csv.zst cut.csv
cp "$WORK/.out" last.out
check "... saying truncated" grep -q "truncated zstd input" last.out
check "... and no destination or temp file" bash -c "! ls -a | grep -q 'cut.csv\$\|ferry-tmp'"
python3 -c "import sys; d=bytearray(open('in2.csv.zst','rb').read()); d[len(d)//2]^=0xff; open('bad.csv.zst','wb').write(d)"
expect_code "corrupt .zst is exit 7" 7 "$FERRY" copy bad.csv.zst bad.csv
cp "$WORK/.out" last.out
check "... naming zstd" grep -q "not valid zstd data" last.out
expect_code "plain text named .zst is exit 7" 7 "$FERRY" copy in.csv - --decompress zstd -q

# --- SIGTERM while the gzip workers run: exit 130, nothing left behind
( head -c 12000000 in.csv; sleep 20 ) | "$FERRY" copy - sig.csv.gz --compress-threads 2 -q 2> sig.err &
pid=$!
sleep 2
kill -TERM $pid 2>/dev/null
wait $pid
code=$?
check "SIGTERM during parallel gzip exits 130" test "$code" = 130
check "... no destination, no temp file" bash -c "! ls -a | grep -q 'sig.csv.gz\|ferry-tmp'"

# --- real servers: S3 <-> Postgres through .zst
psqlx <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS $T, ${T}_in;
CREATE TABLE $T (id bigint PRIMARY KEY, name text, amount numeric(12,2), note text);
INSERT INTO $T SELECT g, 'name ' || (g % 1000), (g % 100000) / 100.0,
  CASE g % 4 WHEN 0 THEN 'comma, here' WHEN 1 THEN E'line\nbreak' WHEN 2 THEN 'ü ✓ "q"' ELSE NULL END
FROM generate_series(1, 300000) g;
CREATE TABLE ${T}_in (LIKE $T);
SQL
psqlx -c "\\copy (SELECT * FROM $T ORDER BY id) to stdout csv header" > ref.csv
check "Postgres -> s3 .csv.zst" fr copy warehouse: --query "SELECT * FROM $T ORDER BY id" "s3://$B/$P/t.csv.zst" -q
awsx s3 cp "s3://$B/$P/t.csv.zst" t.csv.zst --only-show-errors
check "... zstd -t on the object" zstd -q -t t.csv.zst
check "... equals psql's \\copy" bash -c "zstd -q -dc t.csv.zst | cmp - ref.csv"
check "Postgres -> s3 .csv.gz (parallel members)" fr copy warehouse: --query "SELECT * FROM $T ORDER BY id" "s3://$B/$P/t.csv.gz" --compress-threads 2 -q
awsx s3 cp "s3://$B/$P/t.csv.gz" t.csv.gz --only-show-errors
check "... gzip -t, equals psql's \\copy" bash -c "gzip -t t.csv.gz && gzip -dc t.csv.gz | cmp - ref.csv"
check "s3 .csv.zst -> Postgres table" fr copy "s3://$B/$P/t.csv.zst" "warehouse:${T}_in" -q
check "... the table equals the source" bash -c \
  "psql -X -q '$PG_URI' -c '\\copy (SELECT * FROM ${T}_in ORDER BY id) to stdout csv header' | cmp - ref.csv"
check "local .zst -> s3 .zst is stored as is" bash -c \
  "'$FERRY' copy in2.csv.zst 's3://$B/$P/in.csv.zst' -q && '$FERRY' cat 's3://$B/$P/in.csv.zst' | cmp - in2.csv.zst"
check "s3 .zst -> stdout decompressed" bash -c "'$FERRY' copy 's3://$B/$P/in.csv.zst' - -q | cmp - in.csv"

# --- --max-memory: peak RSS of a 200 MiB copy local -> S3
seq 1 40000000 | head -c $((200 * 1024 * 1024)) > big.txt
rss() { /usr/bin/time -f %M -o rss.txt "$@" >/dev/null 2>rss.err; local c=$?; cat rss.txt | tail -1; return $c; }
printf 'a,b\n1,2\n' > tiny.csv
base=$(rss "$FERRY" copy tiny.csv "s3://$B/$P/tiny.csv" -q) || fail "tiny copy for the baseline" "$(cat rss.err)"
plain=$(rss "$FERRY" copy big.txt "s3://$B/$P/big.txt" --max-memory 32M -q) || fail "200 MiB -> S3 --max-memory 32M" "$(cat rss.err)"
gz=$(rss "$FERRY" copy big.txt "s3://$B/$P/big.txt.gz" --max-memory 32M --compress-threads 2 -q) || fail "200 MiB -> S3 .gz --max-memory 32M" "$(cat rss.err)"
gzfree=$(rss "$FERRY" copy big.txt "s3://$B/$P/big2.txt.gz" --compress-threads 2 -q) || fail "200 MiB -> S3 .gz default memory" "$(cat rss.err)"
echo "     peak RSS KiB: baseline $base, plain $plain, gz $gz (--max-memory 32M); gz without a bound $gzfree"
limit=$((base + 32 * 1024 + 2048))   # 2 MiB for allocator slack and thread stacks
if grep -qa __asan_init "$FERRY"; then
  # ASan's shadow memory and quarantine of freed blocks say nothing about ferry's buffers
  skip "peak RSS bounds (sanitizer build)"
else
  check "plain: peak RSS <= baseline + 32 MiB" test "$plain" -le "$limit"
  check ".gz: peak RSS <= baseline + 32 MiB" test "$gz" -le "$limit"
  check "the bound matters: .gz without it peaks higher" test "$gzfree" -gt "$limit"
fi
check "the .gz object is right" bash -c "'$FERRY' copy 's3://$B/$P/big.txt.gz' - -q | cmp - big.txt"
check "the plain object is right" bash -c "'$FERRY' cat 's3://$B/$P/big.txt' | cmp - big.txt"
expect_code "--max-memory below the minimum is exit 2" 2 "$FERRY" copy big.txt "s3://$B/$P/no.txt" --max-memory 4M
cp "$WORK/.out" last.out
check "... naming the minimum" grep -q "needs at least 6M" last.out
check "no multipart upload left" test "$(uploads)" = 0
awsx s3 rm "s3://$B/$P/" --recursive >/dev/null 2>&1
rm -f big.txt
finish

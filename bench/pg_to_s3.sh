#!/usr/bin/env bash
# bench/pg_to_s3.sh [ROWS [RSS_ROWS...]] - Postgres -> /dev/null and -> S3
# side by side, in one run, against the harness's Postgres and Ceph radosgw
# (bash tests/harness/services.sh up), on a table of ROWS rows (default
# 5,000,000) of the hostile bench_orders shape (bench/lib.sh seed_pg):
#   /dev/null  psql \copy                      vs ferry, ferry --parallel 2
#   csv        psql \copy | aws s3 cp -        vs ferry, --parallel 2, --parallel 4, the Airflow way
#   csv.gz     psql \copy | gzip | aws s3 cp - vs ferry, --compress-threads 1 and 2, the Airflow way
#   csv.zst    psql \copy | zstd | aws s3 cp - vs ferry, --compress-threads 2  (when ferry has zstd)
#   RSS        ferry csv.gz at each of RSS_ROWS (default: 1000000 and ROWS)
# The Airflow way is bench/baselines/airflow_style.py (Debian's python3-psycopg2
# and python3-boto3; BENCH_SKIP_AIRFLOW=1 leaves it out).  It holds every row in
# memory: about 1.3 GB of RSS per million rows.
#
# ferry options that this build lacks (--parallel, --compress-threads, .zst) are
# probed on a small table first (listed in `ferry copy --help`, exit 0, and the
# output right) and reported as "not available" instead of failing.  The
# "PG sessions" column is the most Postgres sessions seen running the export at
# once (sampled every 0.5 s; BENCH_SAMPLE_SESSIONS=0 turns it off): it shows
# whether --parallel really extracted in parallel.
#
# Each command runs BENCH_RUNS times (default 1; the Airflow way once): wall =
# best, RSS = highest.  Every object is deleted right after its run (radosgw's
# store is RAM).  Tables are kept when BENCH_KEEP_TABLES=1 (a later run reuses
# them), else dropped at the end.  Prints markdown on stdout.
. "$(dirname "$0")/lib.sh"
set -o pipefail
MAIN=${1:-5000000}
shift || true
RSS_ROWS=("$@")
[ ${#RSS_ROWS[@]} -gt 0 ] || RSS_ROWS=(1000000 "$MAIN")
for n in "$MAIN" "${RSS_ROWS[@]}"; do [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench: row counts must be numbers" >&2; exit 2; }; done
[ -x "$FERRY" ] || { echo "bench: no ferry binary at $FERRY (set FERRY_BIN)" >&2; exit 2; }
load_env
PY=/usr/bin/python3
AIRFLOW=$ROOT/bench/baselines/airflow_style.py
KEY=bench/pg_to_s3.$$
T=bench_orders_$MAIN
PSQL=("${PSQL_B[@]}" "$PG_URI")
TMO=${BENCH_TIMEOUT:-1800}
TO=(timeout --foreground -k 10 "$TMO")
declare -A OBJ

cleanup() {
  local rc=$? t
  trap - EXIT INT TERM
  s3_reap "$KEY/"
  if [ "${BENCH_KEEP_TABLES:-0}" != 1 ]; then
    for t in $(printf '%s\n' "$MAIN" "${RSS_ROWS[@]}" | sort -u); do
      timeout 300 "${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_orders_$t" >/dev/null 2>&1
    done
  fi
  timeout 60 "${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_probe" >/dev/null 2>&1
  rm -rf "$BENCH_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# reap NAME: remember the size of what the last run uploaded, then delete it
reap() {
  OBJ[$1]=$(timeout 120 $S3 s3api list-objects-v2 --bucket "$BUCKET" --prefix "$KEY/" \
              --query 'Contents[-1].Size' --output text 2>/dev/null)
  s3_reap "$KEY/"
}
mb() { [ -n "${1:-}" ] || return 0; python3 -c "import sys; v=sys.argv[1]; print(f'{int(v)/1e6:.1f}' if v.isdigit() else '-')" "$1"; }
# par NAME N: a note when a --parallel N run never showed more than one session
par() {
  [ "${WALL[$1]}" = n/a ] && return 0
  [ -n "${SESS[$1]:-}" ] && [ "${SESS[$1]}" -lt 2 ] && echo "; **only ${SESS[$1]} session seen: not extracted in parallel**"
  return 0
}
# bytes_read from the JSON summary of a ferry run (its stdout)
json_bytes() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytes_read'])" "$BENCH_DIR/out.$1" 2>/dev/null || echo "?"; }

# ---------------------------------------------------------------- tables
for n in $(printf '%s\n' "$MAIN" "${RSS_ROWS[@]}" | sort -nu); do
  seed_pg "bench_orders_$n" "$n" >/dev/null || { echo "bench: cannot seed bench_orders_$n" >&2; exit 1; }
done
TABLE_SIZE=$("${PSQL[@]}" -At -c "SELECT pg_size_pretty(pg_total_relation_size('$T'))")

# ---------------------------------------------------------------- what ferry can do
"${PSQL[@]}" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_probe" \
  -c "CREATE TABLE bench_probe AS SELECT * FROM $T LIMIT 20000" >/dev/null
P=$BENCH_DIR/probe
timeout 120 "$FERRY" copy warehouse:public.bench_probe "$P.csv" -q 2>"$P.err" ||
  { echo "bench: ferry cannot export the probe table: $(tail -3 "$P.err")" >&2; exit 1; }
sort "$P.csv" > "$P.sorted"
# probe NAME EXT CHECK OPTS... : "ok" or why not (ferry's own words)
declare -A HAVE
probe() {
  local name=$1 ext=$2 check=$3 out=$P.$1.$2; shift 3
  if ! ferry_has_option "${1%% *}"; then HAVE[$name]="\`${1%% *}\` is not in \`ferry copy --help\`"; return; fi
  if ! timeout 120 "$FERRY" copy warehouse:public.bench_probe "$out" -q "$@" 2>"$P.err"; then
    HAVE[$name]="ferry: $(tail -1 "$P.err" | cut -c1-150)"; return
  fi
  if ! eval "$check" < "$out" 2>/dev/null | sort | cmp -s - "$P.sorted"; then
    HAVE[$name]="\`ferry copy … $*\` exits 0 but its output is wrong"; return
  fi
  HAVE[$name]=ok
}
probe parallel csv cat --parallel 2
probe ct csv.gz "gzip -dc" --compress-threads 2
if command -v zstd >/dev/null; then
  probe zstd csv.zst "zstd -dcq" --compress-level 6
  # the output must be zstd (a build without it may write plain CSV)
  [ -s "$P.zstd.csv.zst" ] && [ "$(head -c 4 "$P.zstd.csv.zst" | od -An -tx1 | tr -d ' \n')" != 28b52ffd ] &&
    HAVE[zstd]="ferry writes \`.csv.zst\` as plain CSV, not zstd"
else HAVE[zstd]="the zstd tool is missing (apt-get install zstd)"; fi
for f in parallel ct zstd; do echo "bench: ferry feature $f: ${HAVE[$f]}" >&2; done
AIRFLOW_OK=ok
if [ "${BENCH_SKIP_AIRFLOW:-0}" = 1 ]; then AIRFLOW_OK="skipped (BENCH_SKIP_AIRFLOW=1)"
elif ! $PY -c 'import psycopg2, boto3' 2>/dev/null; then AIRFLOW_OK="needs Debian's python3-psycopg2 and python3-boto3"; fi

# ---------------------------------------------------------------- runs
if [ "${BENCH_SAMPLE_SESSIONS:-1}" = 1 ]; then
  BENCH_SAMPLE="psql -X -At '$PG_URI' -c \"SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state <> 'idle' AND query ILIKE '%$T%'\"; sleep 0.25"
fi
# psql's fastest export: COPY of the table itself (not of a SELECT)
PCOPY="psql -X -q -v ON_ERROR_STOP=1 '$PG_URI' -c '\\copy public.$T to stdout with (format csv, header)'"
OBJURL="s3://$BUCKET/$KEY"
F=("${TO[@]}" "$FERRY" copy "warehouse:public.$T")
# fer NAME FEATURE DEST OPTS... : a ferry run, or "not available"
fer() {
  local name=$1 feat=$2; shift 2
  if [ -n "$feat" ] && [ "${HAVE[$feat]}" != ok ]; then not_available "$name" "${HAVE[$feat]}"; return; fi
  measure_best "$name" "${F[@]}" "$@" --json
}
air() {
  local name=$1 dest=$2
  if [ "$AIRFLOW_OK" != ok ]; then not_available "$name" "$AIRFLOW_OK"; return; fi
  BENCH_RUNS=1 measure_best "$name" "${TO[@]}" "$PY" "$AIRFLOW" "$PG_URI" "public.$T" "$dest"
}

echo "bench: Postgres -> /dev/null, $MAIN rows ..." >&2
AFTER=
measure_best null_psql "${TO[@]}" bash -c "$PCOPY > /dev/null"
fer null_ferry "" /dev/null --format csv
fer null_ferry_p2 parallel /dev/null --format csv --parallel 2
CSV_BYTES=$(json_bytes null_ferry.1)

echo "bench: Postgres -> S3 csv ..." >&2
AFTER='reap "$name"'
measure_best csv_psql_aws "${TO[@]}" bash -c "set -o pipefail; $PCOPY | $S3 s3 cp - $OBJURL/csv_psql_aws.csv --only-show-errors"
fer csv_ferry "" "$OBJURL/csv_ferry.@RUN@.csv"
fer csv_ferry_p2 parallel "$OBJURL/csv_ferry_p2.@RUN@.csv" --parallel 2
fer csv_ferry_p4 parallel "$OBJURL/csv_ferry_p4.@RUN@.csv" --parallel 4
air csv_airflow "$OBJURL/csv_airflow.csv"

echo "bench: Postgres -> S3 csv.gz ..." >&2
measure_best gz_psql_gzip_aws "${TO[@]}" bash -c "set -o pipefail; $PCOPY | gzip | $S3 s3 cp - $OBJURL/gz_pipe.csv.gz --only-show-errors"
fer gz_ferry "" "$OBJURL/gz_ferry.@RUN@.csv.gz"
fer gz_ferry_ct1 ct "$OBJURL/gz_ferry_ct1.@RUN@.csv.gz" --compress-threads 1
fer gz_ferry_ct2 ct "$OBJURL/gz_ferry_ct2.@RUN@.csv.gz" --compress-threads 2
air gz_airflow "$OBJURL/gz_airflow.csv.gz"

echo "bench: Postgres -> S3 csv.zst ..." >&2
if command -v zstd >/dev/null; then
  measure_best zst_psql_zstd_aws "${TO[@]}" bash -c "set -o pipefail; $PCOPY | zstd -q -c | $S3 s3 cp - $OBJURL/zst_pipe.csv.zst --only-show-errors"
else not_available zst_psql_zstd_aws "the zstd tool is missing"; fi
fer zst_ferry zstd "$OBJURL/zst_ferry.@RUN@.csv.zst"
fer zst_ferry_ct2 zstd "$OBJURL/zst_ferry_ct2.@RUN@.csv.zst" --compress-threads 2

echo "bench: ferry csv.gz peak RSS at ${RSS_ROWS[*]} rows ..." >&2
declare -A RBYTES
for n in "${RSS_ROWS[@]}"; do
  if [ "$n" = "$MAIN" ]; then
    WALL[rss_$n]=${WALL[gz_ferry]} RSS[rss_$n]=${RSS[gz_ferry]} RBYTES[$n]=$CSV_BYTES
    [ -n "${BENCH_RESULTS:-}" ] && echo "${BENCH_SECTION:+$BENCH_SECTION.}rss_$n ${WALL[gz_ferry]} ${RSS[gz_ferry]}" >> "$BENCH_RESULTS"
    continue
  fi
  BENCH_RUNS=1 measure_best "rss_$n" "${TO[@]}" "$FERRY" copy "warehouse:public.bench_orders_$n" "$OBJURL/rss_$n.csv.gz" --json
  RBYTES[$n]=$(json_bytes "rss_$n.1")
done
AFTER=

# ---------------------------------------------------------------- tables
S=$CSV_BYTES
W() { [ "${WALL[$1]}" = NaN ] && echo failed || echo "${WALL[$1]}"; }
R() { echo "${RSS[$1]}"; }
ses() { echo "${SESS[$1]:--}"; }
row() { # LABEL WHAT NAME [RATIO]
  echo "| $1 | $2 | $(W "$3") | $(mbps "$S" "$(W "$3")") | $(R "$3") | $(ses "$3") | $(mb "${OBJ[$3]:-}") | ${4:-} |"
}
na() { # NAME [FEATURE]: " — not available: why" when NAME could not run
  [ "${WALL[$1]}" = n/a ] || return 0
  if [ -n "${2:-}" ]; then echo " — not available: ${HAVE[$2]}"; else echo " — not available: $AIRFLOW_OK"; fi
}
HDR='| run | what | wall s | MB/s | peak RSS MiB | PG sessions | object MB | ratio |
| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |'
R_P2=$(ratio "$(W null_psql)" "$(W csv_ferry_p2)")
R_GZ=$(ratio "$(W gz_psql_gzip_aws)" "$(W gz_ferry)")
R_AF=$(ratio "$(W gz_airflow)" "$(W gz_ferry)")
cat <<EOT
### Postgres → /dev/null and → S3, $MAIN rows ($(date -u +%F), $(machine))

Table \`$T\`: $TABLE_SIZE on disk, $S bytes of CSV; Postgres 15 and Ceph radosgw on the same machine, loopback.
$("$FERRY" version 2>/dev/null | head -1); $($AWS --version 2>&1 | cut -d' ' -f1); $(gzip --version | head -1); zstd $(zstd --version 2>/dev/null | grep -o 'v[0-9.]*[0-9]' | head -1).
MB/s = CSV bytes / wall. Wall: best of $BENCH_RUNS run(s) (the Airflow way: one); peak RSS: the largest process
(for a pipeline, usually aws), highest of the runs. \`psql\` is \`psql \\copy public.$T to stdout (csv, header)\`.

$HDR
| (a) | \`psql > /dev/null\` | $(W null_psql) | $(mbps "$S" "$(W null_psql)") | $(R null_psql) | $(ses null_psql) | | 1.00 (floor) |
$(row "(b)" "\`ferry copy warehouse:public.$T /dev/null --format csv\`" null_ferry "b/a = $(ratio "$(W null_ferry)" "$(W null_psql)")")
$(row "(c)" "(b) with \`--parallel 2\`$(na null_ferry_p2 parallel)" null_ferry_p2 "c/a = $(ratio "$(W null_ferry_p2)" "$(W null_psql)")$(par null_ferry_p2)")
| | **csv** | | | | | | |
$(row "(d)" "\`psql \| aws s3 cp - s3://…\`" csv_psql_aws "d/a = $(ratio "$(W csv_psql_aws)" "$(W null_psql)")")
$(row "(e)" "\`ferry copy … s3://….csv\`" csv_ferry "d/e = $(ratio "$(W csv_psql_aws)" "$(W csv_ferry)")× faster")
$(row "(f)" "(e) with \`--parallel 2\`$(na csv_ferry_p2 parallel)" csv_ferry_p2 "a/f = ${R_P2}× (target > 1: $(verdict "$R_P2" gt 1))$(par csv_ferry_p2)")
$(row "(g)" "(e) with \`--parallel 4\`$(na csv_ferry_p4 parallel)" csv_ferry_p4 "a/g = $(ratio "$(W null_psql)" "$(W csv_ferry_p4)")×$(par csv_ferry_p4)")
$(row "(h)" "the Airflow way, no gzip$(na csv_airflow)" csv_airflow "h/e = $(ratio "$(W csv_airflow)" "$(W csv_ferry)")×")
| | **csv.gz** | | | | | | |
$(row "(i)" "\`psql \| gzip \| aws s3 cp - s3://…\`" gz_psql_gzip_aws "")
$(row "(j)" "\`ferry copy … s3://….csv.gz\`" gz_ferry "i/j = ${R_GZ}× faster (target ≥ 3: $(verdict "$R_GZ" ge 3))")
$(row "(k)" "(j) with \`--compress-threads 1\`$(na gz_ferry_ct1 ct)" gz_ferry_ct1 "i/k = $(ratio "$(W gz_psql_gzip_aws)" "$(W gz_ferry_ct1)")×")
$(row "(l)" "(j) with \`--compress-threads 2\`$(na gz_ferry_ct2 ct)" gz_ferry_ct2 "i/l = $(ratio "$(W gz_psql_gzip_aws)" "$(W gz_ferry_ct2)")×")
$(row "(m)" "the Airflow way (fetchall → csv → gzip -9 → boto3)$(na gz_airflow)" gz_airflow "m/j = ${R_AF}× (target ≥ 10: $(verdict "$R_AF" ge 10))")
| | **csv.zst** | | | | | | |
$(row "(n)" "\`psql \| zstd \| aws s3 cp - s3://…\`" zst_psql_zstd_aws "")
$(row "(o)" "\`ferry copy … s3://….csv.zst\`$(na zst_ferry zstd)" zst_ferry "n/o = $(ratio "$(W zst_psql_zstd_aws)" "$(W zst_ferry)")× faster")
$(row "(p)" "(o) with \`--compress-threads 2\`$(na zst_ferry_ct2 zstd)" zst_ferry_ct2 "n/p = $(ratio "$(W zst_psql_zstd_aws)" "$(W zst_ferry_ct2)")×")

### ferry csv.gz peak RSS by table size (default settings)

| rows | CSV bytes | wall s | MB/s | peak RSS MiB |
| ---: | ---: | ---: | ---: | ---: |
EOT
min=; max=
for n in "${RSS_ROWS[@]}"; do
  echo "| $n | ${RBYTES[$n]} | $(W "rss_$n") | $(mbps "${RBYTES[$n]}" "$(W "rss_$n")") | $(R "rss_$n") |"
done
RS=$(for n in "${RSS_ROWS[@]}"; do R "rss_$n"; done | grep -E '^[0-9]+$' | sort -n)
if [ -n "$RS" ]; then
  FLAT=$(ratio "$(tail -1 <<<"$RS")" "$(head -1 <<<"$RS")")
  echo
  echo "Largest / smallest peak RSS = $FLAT (flat = within 1.10: $(verdict "$FLAT" le 1.10)); largest $(tail -1 <<<"$RS") MiB (target ≤ 64: $(verdict "$(tail -1 <<<"$RS")" le 64))."
fi
echo
echo "zstd: the \`zstd\` tool at its default level 3, one thread; ferry at its default \`--compress-level 6\` mapped onto zstd's levels."
echo "gzip: the \`gzip\` tool at -6; ferry at \`--compress-level 6\`; the Airflow way at Python's (and pandas') default, 9."

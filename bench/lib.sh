# bench/lib.sh - shared helpers for the benchmarks (sourced, never run): run a
# command under GNU time and record wall seconds and peak RSS, the harness's
# env, S3 clean-up, the Postgres bench table, ratios and target verdicts.
# Timings are figures to read, never pass/fail.
#
# Peak RSS is GNU time's %M: ru_maxrss of the waited-for process tree, i.e. the
# largest single process in it (for a pipeline: the max of its processes, not
# their sum; for ferry: the whole process, all threads).
#
# Env: FERRY_BIN (default build/ferry), FERRY_SVC_ENV, BENCH_AWS (default
# Debian's /usr/bin/aws, else the first aws on PATH), BENCH_RUNS (repetitions
# for measure_best, default 1), BENCH_RESULTS (a file: every measurement is
# appended to it as "SECTION.NAME WALL RSS_MIB", see run_all.sh),
# BENCH_SECTION (the SECTION. prefix).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FERRY=${FERRY_BIN:-$ROOT/build/ferry}
FERRY_SVC_ENV=${FERRY_SVC_ENV:-/tmp/ferry-svc/env}
if [ -n "${BENCH_AWS:-}" ]; then AWS=$BENCH_AWS
elif [ -x /usr/bin/aws ]; then AWS=/usr/bin/aws
else AWS=$(command -v aws || echo /usr/bin/aws); fi
BENCH_RUNS=${BENCH_RUNS:-1}
BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")
trap 'rm -rf "$BENCH_DIR"' EXIT

declare -A WALL RSS SESS

# measure NAME CMD... : WALL[NAME] (s) and RSS[NAME] (MiB), NaN when CMD fails
# (its stderr tail is shown).  stdout/stderr go to $BENCH_DIR/{out,err}.NAME.
# With BENCH_SAMPLE set (a shell command printing a number), it is run every
# 0.25 s while CMD runs and SESS[NAME] is the largest number it printed.
measure() {
  local name=$1; shift
  local tf=$BENCH_DIR/time.$RANDOM sp= rc=0
  if [ -n "${BENCH_SAMPLE:-}" ]; then
    ( while :; do eval "$BENCH_SAMPLE" 2>/dev/null; sleep 0.25; done ) > "$BENCH_DIR/sample.$name" &
    sp=$!
  fi
  /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$BENCH_DIR/out.$name" 2>"$BENCH_DIR/err.$name" || rc=$?
  if [ -n "$sp" ]; then
    kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null
    SESS[$name]=$(sort -n "$BENCH_DIR/sample.$name" 2>/dev/null | tail -1)
  fi
  if [ "$rc" != 0 ]; then
    echo "bench: '$name' failed (exit $rc):" >&2; tail -5 "$BENCH_DIR/err.$name" >&2
    WALL[$name]=NaN; RSS[$name]=NaN
  else
    read -r WALL[$name] RSS[$name] < <(tail -1 "$tf")
    RSS[$name]=$(( ${RSS[$name]} / 1024 ))   # KiB -> MiB
  fi
  [ -n "${BENCH_RESULTS:-}" ] && echo "${BENCH_SECTION:+$BENCH_SECTION.}$name ${WALL[$name]} ${RSS[$name]}" >> "$BENCH_RESULTS"
  return "$rc"
}

# measure_best NAME CMD... : measure BENCH_RUNS times (@RUN@ in CMD becomes the
# run number); WALL = the best run, RSS = the highest; NaN when a run failed.
# $AFTER (if set) is evaluated after every run, a failed one too (clean-up).
measure_best() {
  local name=$1 i ok bw=NaN br=0 fails=0; shift
  for ((i = 1; i <= BENCH_RUNS; i++)); do
    BENCH_RESULTS= measure "$name.$i" "${@//@RUN@/$i}"; ok=$?
    [ -n "${AFTER:-}" ] && eval "$AFTER"
    [ "$ok" = 0 ] || { fails=1; break; }
    bw=$(python3 -c "import sys; a,b=sys.argv[1:]; print(a if b=='NaN' or float(a)<float(b) else b)" "${WALL[$name.$i]}" "$bw")
    [ "${RSS[$name.$i]}" -gt "$br" ] && br=${RSS[$name.$i]}
    [ -n "${SESS[$name.$i]:-}" ] && SESS[$name]=${SESS[$name.$i]}
  done
  [ "$fails" = 0 ] || { bw=NaN; br=NaN; }
  WALL[$name]=$bw RSS[$name]=$br
  cp "$BENCH_DIR/out.$name.1" "$BENCH_DIR/out.$name" 2>/dev/null
  [ -n "${BENCH_RESULTS:-}" ] && echo "${BENCH_SECTION:+$BENCH_SECTION.}$name $bw $br" >> "$BENCH_RESULTS"
  echo "bench: $name: $bw s, $br MiB${SESS[$name]:+, $(( SESS[$name] )) sessions}" >&2
  [ "$fails" = 0 ]
}

# not_available NAME WHY : a run that could not be made (an option ferry lacks)
not_available() {
  WALL[$1]=n/a RSS[$1]=n/a
  [ -n "${BENCH_RESULTS:-}" ] && echo "${BENCH_SECTION:+$BENCH_SECTION.}$1 n/a n/a" >> "$BENCH_RESULTS"
  echo "bench: $1: not available ($2)" >&2
}

# ratio A B : A/B with 2 decimals; "-" when either is not a number
ratio() { python3 -c "
import sys
try: a, b = float(sys.argv[1]), float(sys.argv[2])
except ValueError: print('-'); sys.exit()
print('-' if a != a or b != b else (f'{a/b:.2f}' if b else 'inf'))" "$1" "$2"; }

# mbps BYTES WALL : MB/s (10^6 bytes per second), "-" when unknown
mbps() { python3 -c "
import sys
try: n, w = float(sys.argv[1]), float(sys.argv[2])
except ValueError: print('-'); sys.exit()
print(f'{n/1e6/w:.0f}' if w == w and w > 0 else '-')" "$1" "$2"; }

# verdict VALUE OP LIMIT : "met" / "NOT met" / "not measured" (OP: ge gt le lt)
verdict() { python3 -c "
import sys, operator
try: v, lim = float(sys.argv[1]), float(sys.argv[3])
except ValueError: print('not measured'); sys.exit()
ops = dict(ge=operator.ge, gt=operator.gt, le=operator.le, lt=operator.lt)
print('not measured' if v != v else ('met' if ops[sys.argv[2]](v, lim) else '**NOT met**'))" "$1" "$2" "$3"; }

load_env() {
  [ -s "$FERRY_SVC_ENV" ] || { echo "bench: no $FERRY_SVC_ENV (bash tests/harness/services.sh up)" >&2; exit 1; }
  set -a; . "$FERRY_SVC_ENV"; set +a
  enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
  export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
  export AIRFLOW_CONN_AWS_DEFAULT="aws://$(enc "$CEPH_S3_ACCESS_KEY"):$(enc "$CEPH_S3_SECRET_KEY")@?region_name=$CEPH_S3_REGION&endpoint_url=$(enc "$CEPH_S3_ENDPOINT")"
  export AWS_ACCESS_KEY_ID=$CEPH_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$CEPH_S3_SECRET_KEY AWS_DEFAULT_REGION=$CEPH_S3_REGION
  S3="$AWS --endpoint-url $CEPH_S3_ENDPOINT"
  BUCKET=$CEPH_S3_BUCKET
}
machine() { echo "$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr), $(lscpu | sed -n 's/^Model name: *//p' | head -1)"; }

# ---- S3 (after load_env).  The harness's radosgw keeps objects in RAM (an
# 8 GiB memstore shared by everyone; a full store blocks every request), so
# every object is deleted right after its run and no upload is left open.
s3_size() { timeout 120 $S3 s3api head-object --bucket "$BUCKET" --key "$1" --query ContentLength --output text 2>/dev/null || echo "?"; }
# s3_reap PREFIX : delete every object under PREFIX and abort its multipart uploads
s3_reap() {
  local k id
  timeout 300 $S3 s3 rm "s3://$BUCKET/$1" --recursive --only-show-errors >/dev/null 2>&1
  timeout 120 $S3 s3api list-multipart-uploads --bucket "$BUCKET" --prefix "$1" \
      --query 'Uploads[].[Key,UploadId]' --output text 2>/dev/null |
    while read -r k id; do
      [ -n "$id" ] && [ "$k" != None ] &&
        timeout 120 $S3 s3api abort-multipart-upload --bucket "$BUCKET" --key "$k" --upload-id "$id" >/dev/null 2>&1
    done
  store_wait
  return 0
}
# radosgw frees deleted objects in its garbage collector (the harness runs it
# every 15 s), not at once: store_wait waits (up to 5 min) until the OSD holds
# less than BENCH_STORE_LIMIT bytes (default 3 GiB of the 8), so that run after
# run of 1 GiB uploads never fills it.  No ceph CLI / CEPH_CONF: no wait.
store_used() {
  [ -n "${CEPH_CONF:-}" ] && command -v ceph >/dev/null || return 1
  timeout 20 ceph -c "$CEPH_CONF" tell osd.0 perf dump 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["osd"]["stat_bytes_used"])' 2>/dev/null
}
store_wait() {
  local lim=${BENCH_STORE_LIMIT:-3221225472} used i
  for ((i = 0; i < 60; i++)); do
    used=$(store_used) || return 0
    [ "$used" -lt "$lim" ] && return 0
    [ "$i" = 0 ] && echo "bench: radosgw's store holds $((used >> 20)) MiB; waiting for its garbage collector ..." >&2
    sleep 5
  done
  echo "bench: radosgw's store still holds $((used >> 20)) MiB after 5 min; going on" >&2
}

# ---- Postgres (after load_env)
PSQL_B=(psql -X -q -v ON_ERROR_STOP=1)
BENCH_SHAPE=bench-orders-v1    # table comment: bump when the shape below changes
# seed_pg TABLE N : the bench_orders shape (hostile text, numeric, timestamptz,
# NULLs) with N rows; an existing TABLE with this shape and N rows is kept.
seed_pg() {
  local have
  have=$("${PSQL_B[@]}" "$PG_URI" -At -c "SELECT obj_description('public.$1'::regclass) || ' ' || (SELECT count(*) FROM public.$1)" 2>/dev/null)
  if [ "$have" = "$BENCH_SHAPE $2" ]; then echo "bench: $1 ($2 rows) already seeded" >&2; return 0; fi
  echo "bench: seeding $1 ($2 rows)..." >&2
  "${PSQL_B[@]}" "$PG_URI" -v n="$2" -v t="$1" -v shape="$BENCH_SHAPE" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS :t;
CREATE TABLE :t (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                 created_at timestamptz NOT NULL, note text);
INSERT INTO :t SELECT g,
  (ARRAY['Ann','Bob','Zoë Ünïcode','李雷','O''Brien, Pat','Smith "Smitty"','Émile'])[(1 + g % 7)::int] || ' #' || (g % 1000),
  round(((g * 7919) % 10000000) / 100.0, 2) * CASE WHEN g % 13 = 0 THEN -1 ELSE 1 END,
  timestamptz '2024-01-01 00:00:00+00' + g * interval '6.123456 seconds',
  CASE g % 12 WHEN 0 THEN 'plain note ' || g WHEN 1 THEN 'comma, separated, note'
    WHEN 2 THEN 'has "double quotes" and ''single'' quotes' WHEN 3 THEN E'multi\nline\nnote'
    WHEN 4 THEN 'unicode: héllo wörld ✓ 日本語 🚀' WHEN 5 THEN E'tab\there, CRLF\r\nend' WHEN 6 THEN ''
    WHEN 7 THEN E'backslash \\ and \\N literal' WHEN 8 THEN '"starts with quote' WHEN 9 THEN 'NULL'
    WHEN 10 THEN NULL ELSE repeat('x', (g % 50)::int) END
FROM generate_series(1::bigint, :n::bigint) AS g;
COMMENT ON TABLE :t IS :'shape';
VACUUM ANALYZE :t;
SQL
}

# ---- ferry's options: listed in `ferry copy --help`?
ferry_has_option() { "$FERRY" copy --help 2>&1 | grep -q -- "$1"; }

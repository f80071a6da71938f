# bench/lib.sh - shared helpers for the benchmarks (sourced): run a command
# under GNU time and record wall seconds and peak RSS, print aligned tables.
# Timings are figures to read, never pass/fail.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FERRY=${FERRY_BIN:-$ROOT/build/ferry}
FERRY_SVC_ENV=${FERRY_SVC_ENV:-/tmp/ferry-svc/env}
AWS=/usr/bin/aws
BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")
trap 'rm -rf "$BENCH_DIR"' EXIT

declare -A WALL RSS

# measure NAME CMD...   (CMD runs under bash -c when it is one string with a pipe)
measure() {
  local name=$1; shift
  local tf=$BENCH_DIR/time.$RANDOM
  if ! /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$BENCH_DIR/out.$name" 2>"$BENCH_DIR/err.$name"; then
    echo "bench: '$name' failed:" >&2; tail -5 "$BENCH_DIR/err.$name" >&2
    WALL[$name]=NaN; RSS[$name]=NaN; return 1
  fi
  read -r WALL[$name] RSS[$name] < <(tail -1 "$tf")
  RSS[$name]=$(( ${RSS[$name]} / 1024 ))   # KiB -> MiB
}

# peak RSS of ferry alone inside a pipeline: run ferry under time, the rest around it
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'inf')" "$1" "$2"; }

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

#!/usr/bin/env bash
# bench/parquet.sh [ROWS] - Postgres -> Parquet side by side, in one run,
# against the harness's Postgres (bash tests/harness/services.sh up), on a
# table of ROWS rows (default 1,000,000) of the bench_orders shape
# (bench/lib.sh seed_pg: bigint, text with repeats, numeric(12,2),
# timestamptz, a nullable note):
#   floor      psql \copy TO '/dev/null' (CSV)
#   ferry      -> .parquet snappy (default), zstd; -> .csv.gz (for the size)
#   row groups ferry --row-group-size 8M, 32M (the default), 128M
#   pipeline   the way without ferry: psql \copy to a CSV file, then DuckDB
#              (npm @duckdb/node-api, $FERRY_SVC_DIR/npm/duckdb) read_csv ->
#              COPY ... (FORMAT parquet); wall = the sum, RSS = the larger.
#              (DuckDB's postgres extension would need a download: not here;
#              pyarrow is not installed on this machine.)
# Wall seconds, file size and peak RSS (GNU time) for each, and ratios to the
# floor and to the pipeline.  Every file is read back by DuckDB (row count).
# Timings are figures to read, never pass/fail.  Not in ctest.
# Env: BENCH_RUNS (best of, default 1), BENCH_KEEP_TABLES=1 keeps the table.
. "$(dirname "$0")/lib.sh"
set -o pipefail
ROWS=${1:-1000000}
[[ $ROWS =~ ^[1-9][0-9]*$ ]] || { echo "bench: ROWS must be a number" >&2; exit 2; }
[ -x "$FERRY" ] || { echo "bench: no ferry binary at $FERRY (set FERRY_BIN)" >&2; exit 2; }
load_env
T=bench_orders_$ROWS
PSQL=("${PSQL_B[@]}" "$PG_URI")
DUCKDB_DIR=${FERRY_SVC_DIR:-/tmp/ferry-svc}/npm/duckdb
[ -d "$DUCKDB_DIR/node_modules/@duckdb/node-api" ] || { echo "bench: no DuckDB in $DUCKDB_DIR (scripts/install-deps.sh)" >&2; exit 2; }
export DUCKDB_DIR
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ "${BENCH_KEEP_TABLES:-0}" = 1 ] || timeout 300 "${PSQL[@]}" -c "DROP TABLE IF EXISTS $T" >/dev/null 2>&1
  rm -rf "$BENCH_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
seed_pg "$T" "$ROWS"
cd "$BENCH_DIR"
cat > duck.cjs <<'EOF'
const { DuckDBInstance } = require(process.env.DUCKDB_DIR + '/node_modules/@duckdb/node-api');
(async () => {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  for (const q of process.argv.slice(2))
    for (const row of (await con.runAndReadAll(q)).getRowsJson()) console.log(row.join('\t'));
})().catch(e => { console.error(String(e)); process.exit(1); });
EOF
declare -A SIZE
size_of() { stat -c %s "$1" 2>/dev/null || echo NaN; }
rows_of() { node duck.cjs "SELECT count(*) FROM read_parquet('$1')" 2>/dev/null; }

measure_best floor "${PSQL[@]}" -c "\\copy $T TO '/dev/null' WITH (FORMAT csv)"
measure_best ferry_snappy "$FERRY" copy "warehouse:public.$T" "$PWD/snappy.@RUN@.parquet"
SIZE[ferry_snappy]=$(size_of snappy.1.parquet)
measure_best ferry_zstd "$FERRY" copy "warehouse:public.$T" "$PWD/zstd.@RUN@.parquet" --compress zstd
SIZE[ferry_zstd]=$(size_of zstd.1.parquet)
measure_best ferry_csvgz "$FERRY" copy "warehouse:public.$T" "$PWD/orders.@RUN@.csv.gz"
SIZE[ferry_csvgz]=$(size_of orders.1.csv.gz)
for rg in 8M 32M 128M; do
  measure_best "rg_$rg" "$FERRY" copy "warehouse:public.$T" "$PWD/rg_$rg.@RUN@.parquet" --row-group-size "$rg"
  SIZE[rg_$rg]=$(size_of "rg_$rg.1.parquet")
done
measure_best csv_dump "${PSQL[@]}" -c "\\copy $T TO '$PWD/dump.csv' WITH (FORMAT csv)"
measure_best duck_convert node duck.cjs \
  "COPY (SELECT * FROM read_csv('dump.csv', header = false)) TO 'duck.parquet' (FORMAT parquet)"
SIZE[pipeline]=$(size_of duck.parquet) SIZE[duck_convert]=$(size_of duck.parquet)
WALL[pipeline]=$(python3 -c "import sys; print(f'{float(sys.argv[1]) + float(sys.argv[2]):.2f}')" "${WALL[csv_dump]}" "${WALL[duck_convert]}" 2>/dev/null || echo NaN)
RSS[pipeline]=$(( ${RSS[csv_dump]} > ${RSS[duck_convert]} ? ${RSS[csv_dump]} : ${RSS[duck_convert]} )) 2>/dev/null || RSS[pipeline]=NaN

for f in snappy.1.parquet zstd.1.parquet rg_8M.1.parquet rg_128M.1.parquet duck.parquet; do
  n=$(rows_of "$f")
  [ "$n" = "$ROWS" ] || echo "bench: $f holds ${n:-no} rows, not $ROWS" >&2
done
groups() { node duck.cjs "SELECT num_row_groups FROM parquet_file_metadata('$1')" 2>/dev/null; }

echo "## Postgres -> Parquet, $ROWS rows of bench_orders ($(machine))"
echo
echo "| run | wall s | file MiB | peak RSS MiB | wall / floor | wall / pipeline | row groups |"
echo "|---|---:|---:|---:|---:|---:|---:|"
row() { # NAME LABEL FILE
  local mib=-
  [ -n "${SIZE[$1]:-}" ] && [ "${SIZE[$1]}" != NaN ] && mib=$(python3 -c "print(f'{$((SIZE[$1]))/1048576:.1f}')")
  echo "| $2 | ${WALL[$1]} | $mib | ${RSS[$1]} | $(ratio "${WALL[$1]}" "${WALL[floor]}") | $(ratio "${WALL[$1]}" "${WALL[pipeline]}") | ${3:+$(groups "$3")} |"
}
row floor "psql \\copy to /dev/null (the floor)"
row ferry_snappy "ferry -> .parquet (snappy, 32M row groups)" snappy.1.parquet
row ferry_zstd "ferry -> .parquet --compress zstd" zstd.1.parquet
row ferry_csvgz "ferry -> .csv.gz"
row rg_8M "ferry --row-group-size 8M" rg_8M.1.parquet
row rg_32M "ferry --row-group-size 32M" rg_32M.1.parquet
row rg_128M "ferry --row-group-size 128M" rg_128M.1.parquet
row csv_dump "psql \\copy to a .csv file"
row duck_convert "DuckDB read_csv -> COPY (FORMAT parquet)" duck.parquet
row pipeline "the pipeline (psql + DuckDB)" duck.parquet

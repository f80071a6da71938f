#!/usr/bin/env bash
# bench/run_all.sh - the whole benchmark suite of issue #8 in ONE run, one
# command: `bash bench/run_all.sh` (as root, servers up: bash
# tests/harness/services.sh up).  It
#   1. checks the servers (Postgres, MariaDB, radosgw, sshd) it will use;
#   2. installs what it lacks (Debian: python3-psycopg2 python3-boto3 rclone
#      awscli zstd time) and prints the versions of the tools it compares;
#   3. builds ferry (and tests/harness/delay_proxy) in Release into its own
#      directory (not build/);
#   4. runs, side by side on this machine:
#        bench/pg_to_s3.sh  Postgres -> /dev/null, -> S3 csv, csv.gz, csv.zst
#                           (psql, psql|gzip|aws, psql|zstd|aws, the Airflow way
#                           of bench/baselines/airflow_style.py, ferry and its
#                           --parallel / --compress-threads), ferry's peak RSS
#                           at each of BENCH_ROWS;
#        (here)             local file -> S3 and S3 -> /dev/null: aws s3 cp,
#                           rclone, ferry;
#        bench/mysql.sh     MariaDB extraction and loads;
#        bench/sftp_s3.sh   SFTP -> S3, and SFTP at 20 ms RTT;
#   5. prints the targets of issue #8 with "met" / "NOT met" and every table,
#      and writes them into docs/performance.md between the run_all markers
#      (the hand-written text around them is kept).
# Timings are figures to read, never pass/fail; the exit status is 0 unless a
# step could not run at all.  Options a ferry build lacks are reported as "not
# available".  Every S3 object is deleted right after its run (radosgw's store
# is 8 GiB of RAM), tables are dropped at the end.
#
# Knobs (environment):
#   BENCH_ROWS="1000000 5000000 10000000"  Postgres tables for the RSS series
#   BENCH_MAIN_ROWS=5000000       the table of the side-by-side Postgres runs
#   BENCH_MYSQL_ROWS=$BENCH_MAIN_ROWS
#   BENCH_SFTP_MIB=1024           SFTP file (>= 64)
#   BENCH_UPLOAD_MIB=1024         local file -> S3 file
#   BENCH_RUNS=2                  repetitions (best wall); the Airflow way runs once
#   BENCH_SKIP_PG / _UPLOAD / _MYSQL / _SFTP / _AIRFLOW / _INSTALL = 1
#   FERRY_BIN=path                use this ferry instead of building one
#   BENCH_BUILD_DIR=/tmp/ferry-bench-build
#   BENCH_DOC=docs/performance.md BENCH_WRITE_DOC=1 (0: print only)
#   BENCH_OUT=/tmp/ferry-bench-<time>.md   the report (also printed)
# Small smoke run: BENCH_ROWS="100000 200000" BENCH_MAIN_ROWS=200000
#   BENCH_SFTP_MIB=64 BENCH_UPLOAD_MIB=64 BENCH_RUNS=1 BENCH_WRITE_DOC=0 bash bench/run_all.sh
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
START=$(date +%s)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
BENCH_ROWS=${BENCH_ROWS:-1000000 5000000 10000000}
MAIN=${BENCH_MAIN_ROWS:-5000000}
MY_ROWS=${BENCH_MYSQL_ROWS:-$MAIN}
SFTP_MIB=${BENCH_SFTP_MIB:-1024}
UP_MIB=${BENCH_UPLOAD_MIB:-1024}
export BENCH_RUNS=${BENCH_RUNS:-2}
BUILD=${BENCH_BUILD_DIR:-/tmp/ferry-bench-build}
DOC=${BENCH_DOC:-$ROOT/docs/performance.md}
OUT=${BENCH_OUT:-/tmp/ferry-bench-$STAMP.md}
skip() { local v="BENCH_SKIP_$1"; [ "${!v:-0}" = 1 ]; }
say() { echo "run_all: $*" >&2; }
die() { echo "run_all: ERROR: $*" >&2; exit 1; }
for n in $BENCH_ROWS $MAIN $MY_ROWS $SFTP_MIB $UP_MIB $BENCH_RUNS; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "sizes and counts must be positive numbers (got '$n')"
done

# ---------------------------------------------------------------- 1. servers
FERRY_SVC_ENV=${FERRY_SVC_ENV:-/tmp/ferry-svc/env}
[ -s "$FERRY_SVC_ENV" ] || die "no $FERRY_SVC_ENV: start the servers with bash tests/harness/services.sh up"
( set -a; . "$FERRY_SVC_ENV"; set +a
  fail=0
  if ! skip PG; then
    timeout 20 psql -X -At "$PG_URI" -c 'SELECT 1' >/dev/null 2>&1 || { echo "run_all: Postgres at $PG_HOST:$PG_PORT does not answer" >&2; fail=1; }
  fi
  if ! skip MYSQL; then
    timeout 20 mariadb --no-defaults -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" -e 'SELECT 1' >/dev/null 2>&1 ||
      { echo "run_all: MariaDB at $MYSQL_HOST:$MYSQL_PORT does not answer" >&2; fail=1; }
  fi
  if ! skip SFTP; then
    timeout 10 bash -c "exec 3<>/dev/tcp/$SFTP_HOST/$SFTP_PORT" 2>/dev/null || { echo "run_all: sshd at $SFTP_HOST:$SFTP_PORT does not answer" >&2; fail=1; }
  fi
  code=$(timeout 20 curl -s -o /dev/null -w '%{http_code}' "$CEPH_S3_ENDPOINT/" 2>/dev/null)
  case $code in 2??|403) ;; *) echo "run_all: radosgw at $CEPH_S3_ENDPOINT does not answer (HTTP '$code')" >&2; fail=1 ;; esac
  exit $fail ) || die "servers missing (bash tests/harness/services.sh up; BENCH_SKIP_MYSQL=1 / BENCH_SKIP_SFTP=1 leave parts out)"
say "servers: ok"

# ---------------------------------------------------------------- 2. tools
want=(time python3-psycopg2 python3-boto3 rclone zstd gzip curl)
command -v aws >/dev/null || [ -x /usr/bin/aws ] || want+=(awscli)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if skip INSTALL || [ "$(id -u)" != 0 ]; then
    say "missing packages: ${missing[*]} (not installing: BENCH_SKIP_INSTALL=1 or not root); their runs are left out"
  else
    say "installing ${missing[*]} ..."
    export DEBIAN_FRONTEND=noninteractive
    { timeout 900 apt-get update -q && timeout 1800 apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
      > "/tmp/ferry-bench-apt-$STAMP.log" 2>&1 || say "apt-get failed, see /tmp/ferry-bench-apt-$STAMP.log"
  fi
fi
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time, Debian package time) is needed"
if [ -n "${BENCH_AWS:-}" ]; then AWS_BIN=$BENCH_AWS; elif [ -x /usr/bin/aws ]; then AWS_BIN=/usr/bin/aws; else AWS_BIN=$(command -v aws || true); fi
[ -n "$AWS_BIN" ] || die "no aws CLI (apt-get install awscli)"
export BENCH_AWS=$AWS_BIN
TOOLS="$("$AWS_BIN" --version 2>&1 | cut -d' ' -f1,2) ($AWS_BIN)"
TOOLS+="; $(rclone version 2>/dev/null | head -1 || echo 'rclone: not installed')"
TOOLS+="; $(psql --version); $(gzip --version | head -1); zstd $(zstd --version 2>/dev/null | grep -o 'v[0-9.]*[0-9]' | head -1)"
TOOLS+="; python3-boto3 $(/usr/bin/python3 -c 'import boto3; print(boto3.__version__)' 2>/dev/null || echo missing)"
TOOLS+=", python3-psycopg2 $(/usr/bin/python3 -c 'import psycopg2; print(psycopg2.__version__.split()[0])' 2>/dev/null || echo missing)"
say "tools: $TOOLS"

# ---------------------------------------------------------------- 3. ferry
if [ -n "${FERRY_BIN:-}" ]; then
  [ -x "$FERRY_BIN" ] || die "FERRY_BIN=$FERRY_BIN is not executable"
  say "ferry: $FERRY_BIN (FERRY_BIN, not built here)"
else
  say "building ferry (Release) in $BUILD ..."
  # FERRY_TESTS stays on for the delay_proxy target (sftp_s3.sh's 20 ms RTT
  # legs); only ferry and delay_proxy are built
  { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=ON -DFERRY_EXAMPLES=OFF &&
    cmake --build "$BUILD" -j"$(nproc)" --target ferry; } > "$BUILD.log" 2>&1 ||
    { tail -20 "$BUILD.log" >&2; die "the build failed (log: $BUILD.log)"; }
  cmake --build "$BUILD" -j"$(nproc)" --target delay_proxy >> "$BUILD.log" 2>&1 ||
    say "no delay_proxy target: sftp_s3.sh's latency table may be skipped"
  FERRY_BIN=$BUILD/ferry
fi
export FERRY_BIN
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] && REV+=" + uncommitted changes"
FERRY_V=$("$FERRY_BIN" version 2>/dev/null | head -1)
say "ferry: $FERRY_V, commit $REV"

# ---------------------------------------------------------------- 4. runs
. "$HERE/lib.sh"          # measure, measure_best, s3_reap, ... (BENCH_DIR)
load_env
LOGS=/tmp/ferry-bench-$STAMP.logs      # every section's stderr (why a run failed)
mkdir -p "$LOGS"
RES=$LOGS/results
: > "$RES"
export BENCH_RESULTS=$RES
SECTIONS=()
UPKEY=bench/run_all.$$
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  s3_reap "$UPKEY/"
  rm -rf "$BENCH_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# section NAME TITLE CMD... : run a bench script, keep its markdown and log
section() {
  local name=$1 title=$2 t0 rc=0; shift 2
  say "---- $title"
  t0=$(date +%s)
  store_wait
  BENCH_SECTION=$name "$@" > "$BENCH_DIR/md.$name" 2> >(tee "$LOGS/$name.log" >&2) || rc=$?
  wait
  say "---- $title: $(( $(date +%s) - t0 )) s, exit $rc"
  if [ "$rc" != 0 ] && [ ! -s "$BENCH_DIR/md.$name" ]; then
    printf '### %s\n\nNot run: the script failed (exit %s):\n\n```\n%s\n```\n' "$title" "$rc" "$(tail -8 "$LOGS/$name.log")" > "$BENCH_DIR/md.$name"
  fi
  SECTIONS+=("$name")
}

if ! skip PG; then
  section pg "Postgres → S3" bash "$HERE/pg_to_s3.sh" "$MAIN" $BENCH_ROWS
fi

# local file -> S3 and back: the same job for aws, rclone and ferry
upload_section() {
  local bytes=$((UP_MIB * 1048576)) f=$BENCH_DIR/upload.bin RCL=()
  local url="s3://$BUCKET/$UPKEY"
  say "writing $UP_MIB MiB of random data ..."
  head -c "$bytes" /dev/urandom > "$f" || return 1
  export RCLONE_CONFIG_DST_TYPE=s3 RCLONE_CONFIG_DST_PROVIDER=Ceph RCLONE_CONFIG_DST_ENDPOINT=$CEPH_S3_ENDPOINT \
    RCLONE_CONFIG_DST_ACCESS_KEY_ID=$CEPH_S3_ACCESS_KEY RCLONE_CONFIG_DST_SECRET_ACCESS_KEY=$CEPH_S3_SECRET_KEY \
    RCLONE_CONFIG_DST_REGION=$CEPH_S3_REGION RCLONE_CONFIG_DST_NO_CHECK_BUCKET=true
  : > "$BENCH_DIR/rclone.conf"
  command -v rclone >/dev/null && RCL=(env -u AWS_CA_BUNDLE rclone --config "$BENCH_DIR/rclone.conf" -q)
  local TO=(timeout --foreground -k 10 1800) BAD=
  # every upload must land whole; then it is deleted at once
  AFTER='sz=$(s3_size "$UPKEY/$name.@RUN@.bin"); [ "$sz" = "$bytes" ] || BAD+=" $name($sz)"; s3_reap "$UPKEY/"'
  AFTER=${AFTER//@RUN@/'$i'}
  measure_best up_aws "${TO[@]}" $S3 s3 cp "$f" "$url/up_aws.@RUN@.bin" --only-show-errors
  if [ ${#RCL[@]} -gt 0 ]; then measure_best up_rclone "${TO[@]}" "${RCL[@]}" copyto "$f" "dst:$BUCKET/$UPKEY/up_rclone.@RUN@.bin"
  else not_available up_rclone "rclone is not installed"; fi
  measure_best up_ferry "${TO[@]}" "$FERRY" copy "$f" "$url/up_ferry.@RUN@.bin" -q
  # downloads of one object (uploaded by ferry, untimed)
  AFTER=
  "${TO[@]}" "$FERRY" copy "$f" "$url/down.bin" -q || { say "cannot upload the download object"; return 1; }
  measure_best down_aws "${TO[@]}" bash -c "$S3 s3 cp $url/down.bin - > /dev/null"
  if [ ${#RCL[@]} -gt 0 ]; then measure_best down_rclone "${TO[@]}" bash -c "${RCL[*]} cat dst:$BUCKET/$UPKEY/down.bin > /dev/null"
  else not_available down_rclone "rclone is not installed"; fi
  measure_best down_ferry "${TO[@]}" "$FERRY" copy "$url/down.bin" /dev/null -q
  s3_reap "$UPKEY/"
  rm -f "$f"
  local W=WALL R=RSS
  cat <<EOT
### Local file ↔ S3, one $UP_MIB MiB incompressible file (aws, rclone, ferry)

Ceph radosgw on the same machine, loopback. $TOOLS.
Each tool at its defaults (aws: 8 MiB parts, 10 in flight; rclone: 5 MiB chunks, 4 in flight; ferry: 8 MiB parts,
4 in flight). Wall: best of $BENCH_RUNS run(s); peak RSS: highest. MB/s = $bytes bytes / wall.${BAD:+ **Objects with the wrong size:$BAD.**}

| run | what | wall s | MB/s | peak RSS MiB | ratio |
| --- | --- | ---: | ---: | ---: | --- |
| (a) | \`aws s3 cp FILE s3://…\` | ${WALL[up_aws]} | $(mbps $bytes "${WALL[up_aws]}") | ${RSS[up_aws]} | a/c = $(ratio "${WALL[up_aws]}" "${WALL[up_ferry]}") |
| (b) | \`rclone copyto FILE dst:…\` | ${WALL[up_rclone]} | $(mbps $bytes "${WALL[up_rclone]}") | ${RSS[up_rclone]} | b/c = $(ratio "${WALL[up_rclone]}" "${WALL[up_ferry]}") |
| (c) | \`ferry copy FILE s3://…\` | ${WALL[up_ferry]} | $(mbps $bytes "${WALL[up_ferry]}") | ${RSS[up_ferry]} | 1.00 |
| (d) | \`aws s3 cp s3://… - > /dev/null\` | ${WALL[down_aws]} | $(mbps $bytes "${WALL[down_aws]}") | ${RSS[down_aws]} | d/f = $(ratio "${WALL[down_aws]}" "${WALL[down_ferry]}") |
| (e) | \`rclone cat dst:… > /dev/null\` | ${WALL[down_rclone]} | $(mbps $bytes "${WALL[down_rclone]}") | ${RSS[down_rclone]} | e/f = $(ratio "${WALL[down_rclone]}" "${WALL[down_ferry]}") |
| (f) | \`ferry copy s3://… /dev/null\` | ${WALL[down_ferry]} | $(mbps $bytes "${WALL[down_ferry]}") | ${RSS[down_ferry]} | 1.00 |
EOT
}
if ! skip UPLOAD; then
  say "---- local file ↔ S3"
  t0=$(date +%s)
  store_wait
  BENCH_SECTION=up upload_section > "$BENCH_DIR/md.up" 2> >(tee "$LOGS/up.log" >&2) || say "local file ↔ S3: incomplete"
  wait
  say "---- local file ↔ S3: $(( $(date +%s) - t0 )) s"
  SECTIONS+=(up)
fi

if ! skip MYSQL; then
  section my "MySQL/MariaDB" bash "$HERE/mysql.sh" "$MY_ROWS"
fi
if ! skip SFTP; then
  if [ "$(id -u)" != 0 ]; then say "SFTP: needs root, left out"
  else section sftp "SFTP → S3" bash "$HERE/sftp_s3.sh" "$SFTP_MIB"; fi
fi

# ---------------------------------------------------------------- 5. report
ELAPSED=$(( $(date +%s) - START ))
TARGETS=$(python3 - "$RES" <<'PY'
import re, sys
# results: "SECTION.NAME WALL RSS"; sftp_s3.sh records its runs as NAME.N
val = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) != 3: continue
    name, w, r = p
    def f(x):
        try: return float(x)
        except ValueError: return None
    w, r = f(w), f(r)
    m = re.match(r'(sftp\..*)\.(\d+)$', name)
    if m:   # best wall, highest RSS over the runs; a failed run fails the lot
        b = m.group(1); old = val.get(b)
        if old is None: val[b] = (w, r)
        else:
            ow, orr = old
            nw = (float('nan') if (ow != ow or w != w) else min(ow, w)) if ow is not None and w is not None else None
            nr = None if (orr is None or r is None) else max(orr, r)
            val[b] = (nw, nr)
    else:
        val[name] = (w, r)
def W(k):
    v = val.get(k, (None, None))[0]
    return None if v is None or v != v else v
def R(k):
    v = val.get(k, (None, None))[1]
    return None if v is None or v != v else v
def fmt(x, nd=2): return "-" if x is None else f"{x:.{nd}f}"
def ratio(a, b): return None if a is None or b is None or b == 0 else a / b
def verdict(x, ok, *keys):
    if x is not None: return "met" if ok(x) else "**NOT met**"
    bad = [k for k in keys if k in val and val[k][0] is not None and val[k][0] != val[k][0]]
    return f"**failed** ({', '.join(bad)})" if bad else "not measured"
rows = []
r = ratio(W('pg.gz_psql_gzip_aws'), W('pg.gz_ferry'))
rows.append(("Postgres → S3 csv.gz ≥ 3× faster than `psql \\copy \\| gzip \\| aws s3 cp -`",
             f"{fmt(r)}× ({fmt(W('pg.gz_psql_gzip_aws'))} s vs {fmt(W('pg.gz_ferry'))} s)", verdict(r, lambda x: x >= 3, 'pg.gz_psql_gzip_aws', 'pg.gz_ferry')))
r = ratio(W('pg.gz_airflow'), W('pg.gz_ferry'))
rows.append(("Postgres → S3 csv.gz ≥ 10× faster than the Airflow way",
             f"{fmt(r)}× ({fmt(W('pg.gz_airflow'))} s, {fmt(R('pg.gz_airflow'), 0)} MiB vs {fmt(W('pg.gz_ferry'))} s)", verdict(r, lambda x: x >= 10, 'pg.gz_airflow', 'pg.gz_ferry')))
r = ratio(W('pg.null_psql'), W('pg.csv_ferry_p2'))
rows.append(("Postgres → S3 csv with `--parallel 2` faster than `psql \\copy` to /dev/null",
             f"{fmt(r)}× ({fmt(W('pg.csv_ferry_p2'))} s vs {fmt(W('pg.null_psql'))} s)", verdict(r, lambda x: x > 1, 'pg.null_psql', 'pg.csv_ferry_p2')))
r = ratio(W('sftp.d_ferry'), W('sftp.f_ferry'))
r1 = ratio(W('sftp.d1_ferry'), W('sftp.f_ferry'))
rows.append(("SFTP → S3 within 1.1× of ferry's local file → S3",
             f"{fmt(r)} ({fmt(W('sftp.d_ferry'))} s vs {fmt(W('sftp.f_ferry'))} s; read_sessions=1: {fmt(r1)})", verdict(r, lambda x: x <= 1.1, 'sftp.d_ferry', 'sftp.f_ferry')))
# the latency legs: pa/pb (delay proxy) or la/lb (netem), whichever ran
p = 'p' if W('sftp.pa_sftp') is not None else 'l'
r = ratio(W(f'sftp.{p}a_sftp'), W(f'sftp.{p}b_ferry'))
r1 = ratio(W(f'sftp.{p}a_sftp'), W(f'sftp.{p}b1_ferry'))
rows.append(("SFTP at 20 ms RTT ≥ 1.5× faster than OpenSSH `sftp get` (to /dev/null both)",
             f"{fmt(r)}× ({fmt(W(f'sftp.{p}a_sftp'))} s vs {fmt(W(f'sftp.{p}b_ferry'))} s; read_sessions=1: {fmt(r1)}×)", verdict(r, lambda x: x >= 1.5, f'sftp.{p}a_sftp', f'sftp.{p}b_ferry')))
# ferry at default settings: every run without --parallel/--compress-threads/read_sessions
dflt = re.compile(r'^(pg\.(null|csv|gz|zst)_ferry|pg\.rss_\d+|up\.(up|down)_ferry|my\.[a-z]_ferry\w*|sftp\.[pl]?[bdf]_ferry)$')
d = [(R(k), k) for k in val if dflt.match(k) and R(k) is not None]
mx = max(d, default=None)
rows.append(("peak RSS ≤ 64 MiB at default settings, every benchmark",
             "-" if mx is None else f"max {mx[0]:.0f} MiB ({mx[1]}) over {len(d)} ferry runs", verdict(None if mx is None else mx[0], lambda x: x <= 64)))
rs = sorted((int(k.split('_')[1]), R(k)) for k in val if re.match(r'^pg\.rss_\d+$', k) and R(k) is not None)
if len(rs) >= 2:
    fl = max(v for _, v in rs) / min(v for _, v in rs)
    rows.append(("peak RSS flat from the smallest to the largest table (within 1.10)",
                 ", ".join(f"{n:,} rows: {v:.0f} MiB" for n, v in rs) + f" (max/min {fl:.2f})", verdict(fl, lambda x: x <= 1.10)))
else:
    rows.append(("peak RSS flat from the smallest to the largest table (within 1.10)", "-", "not measured"))
print("| target (issue #8) | measured | verdict |")
print("| --- | --- | --- |")
for t, m, v in rows: print(f"| {t} | {m} | {v} |")
PY
)

{
  echo "## Results of \`bash bench/run_all.sh\`, $(date -u '+%F %H:%M') UTC"
  echo
  echo "Machine: $(machine). ferry commit $REV, built in Release ($FERRY_V)."
  echo "Tools: $TOOLS."
  echo "Knobs: BENCH_MAIN_ROWS=$MAIN BENCH_ROWS=\"$BENCH_ROWS\" BENCH_MYSQL_ROWS=$MY_ROWS BENCH_SFTP_MIB=$SFTP_MIB BENCH_UPLOAD_MIB=$UP_MIB BENCH_RUNS=$BENCH_RUNS$(for s in PG UPLOAD MYSQL SFTP AIRFLOW; do skip $s && printf ' BENCH_SKIP_%s=1' $s; done). The whole run took $((ELAPSED / 60)) min $((ELAPSED % 60)) s."
  echo "Peak RSS is GNU time's %M: the largest single process of the tree (for a pipeline the max of its processes, usually aws)."
  echo
  echo "### Targets"
  echo
  echo "$TARGETS"
  for s in "${SECTIONS[@]}"; do echo; cat "$BENCH_DIR/md.$s"; done
  echo
  echo "Analysis: MySQL in [performance-mysql.md](performance-mysql.md), SFTP in [performance-sftp.md](performance-sftp.md)."
} > "$OUT"
cat "$OUT"
say "report: $OUT; logs and raw results: $LOGS/"

if [ "${BENCH_WRITE_DOC:-1}" = 1 ]; then
  python3 - "$DOC" "$OUT" <<'PY' && say "written into $DOC (between the run_all markers)"
import sys
doc, out = sys.argv[1:]
B, E = "<!-- run_all:begin (generated by bench/run_all.sh; edit outside the markers) -->", "<!-- run_all:end -->"
text = open(doc).read() if __import__('os').path.exists(doc) else "# Performance\n"
new = open(out).read().rstrip("\n")
if B in text and E in text:
    head, rest = text.split(B, 1)
    tail = rest.split(E, 1)[1]
    text = head + B + "\n" + new + "\n" + E + tail
else:
    text = text.rstrip("\n") + "\n\n" + B + "\n" + new + "\n" + E + "\n"
open(doc, "w").write(text)
PY
fi

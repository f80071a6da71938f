#!/usr/bin/env bash
# example_nightly.sh - examples/nightly.sh end to end against the harness's
# servers, for a fixed logical date (2024-02-29, a leap day: the interval ends
# on 2024-03-01):
#   1. without the partner's marker file the job stops at the sensor (exit 10
#      after WAIT_TIMEOUT) and moves or exports nothing;
#   2. with the marker, two partner CSVs of the day (plus files of another day
#      and another kind that must stay) and a Postgres orders table with rows
#      inside and outside the day (boundaries, other time zones), the job
#      exits 0; the S3 objects are exactly inbound/acme/dt=2024-02-29/<file>
#      (same bytes) and exports/orders/dt=2024-02-29/orders.csv.gz (exactly
#      the day's rows, UTC, end exclusive); the day's files are gone from SFTP;
#   3. a re-run finds no partner files left: it says so, skips the move,
#      exits 0 and redoes only the export (same rows);
#   4. a real error at the move step (the partner directory unlistable) still
#      fails the job, before the export.
#
# nightly.sh names its SFTP directory (/outbound) and its table
# (public.orders) itself; only the bucket (LAKE) and the date can be set. So:
#   * LAKE is "<bucket>/<unique prefix>" — the script only pastes it after
#     s3://, which makes it a prefix inside the harness's bucket;
#   * the SFTP server (not chrooted) sees the host's /outbound: created here
#     for the SFTP user when absent (and removed again), else only our files
#     are added and removed; runs of this test are serialised with flock;
#   * public.orders lives in a database of our own, created and dropped here.
# Every client call runs under `timeout`.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
SRC=${FERRY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
load_services_env
cd "$WORK"

NIGHTLY=$SRC/examples/nightly.sh
B=$CEPH_S3_BUCKET
P="ferry-nightly-$$-$RANDOM"
LD=2024-02-29
DS=2024-02-29
DSN=20240229
OUT=/outbound                       # fixed in nightly.sh
DB="ferry_nightly_$$"
MADE_OUTBOUND=0
OURS=("$OUT/$DSN.done" "$OUT/acme_$DSN.csv" "$OUT/beta_$DSN.csv" "$OUT/acme_20240228.csv" "$OUT/acme_$DSN.txt")
CREATED=()                          # the files of OURS this run created

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
export AIRFLOW_CONN_PARTNER="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
export AIRFLOW_CONN_WAREHOUSE="postgresql://$PG_USER:$(urlenc "$PG_PASSWORD")@$PG_HOST:$PG_PORT/$DB"

psql_super() { timeout 60 psql -X -q -v ON_ERROR_STOP=1 "$PG_SUPER_URI" "$@"; }
psql_db() { timeout 60 psql -X -q -v ON_ERROR_STOP=1 "$AIRFLOW_CONN_WAREHOUSE" "$@"; }
s3keys() { awsx s3api list-objects-v2 --bucket "$B" --prefix "$P/" --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -v '^None$' | sed "s|^$P/||" | LC_ALL=C sort; }
s3snap() { awsx s3api list-objects-v2 --bucket "$B" --prefix "$P/" --query 'Contents[].[Key,ETag]' --output text | LC_ALL=C sort; }
same() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "want: $2" "got:  $3"; fi; }
# nightly ARGS...: the example, as cron would run it (stdout, stderr, exit code)
nightly() {
  env FERRY="$FERRY" LAKE="$B/$P" LOGICAL_DATE="$LD" WAIT_TIMEOUT="${WAIT_TIMEOUT:-30s}" \
    timeout -k 5 300 bash "$NIGHTLY" > run.out 2> run.err
}

cleanup() {
  local f
  [ -n "${OUT_MODE:-}" ] && chmod "$OUT_MODE" "$OUT"
  for f in "${CREATED[@]}"; do rm -f "$f"; done
  [ "$MADE_OUTBOUND" = 1 ] && rmdir "$OUT" 2>/dev/null
  s3_cleanup   # objects and multipart uploads under $P/
  psql_super -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
  rm -rf "$WORK"
}

# one run at a time: /outbound and the date's file names are shared
exec 9> "${TMPDIR:-/tmp}/ferry-example-nightly.lock"
timeout 600 flock 9 || { echo "could not lock ${TMPDIR:-/tmp}/ferry-example-nightly.lock"; exit 1; }
trap cleanup EXIT

# ---------------------------------------------------------------- fixtures
if [ ! -d "$OUT" ]; then
  install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$OUT" && MADE_OUTBOUND=1
fi
check "$OUT exists and the SFTP user may write there" su -s /bin/sh "$SFTP_USER" -c "test -w '$OUT'"
for f in "${OURS[@]}"; do
  [ -e "$f" ] && { fail "fixture: $f already exists (left by another run?)"; finish; }
done
printf 'order_id,partner,qty\n1,acme,3\n2,acme,"4, or 5"\n' > "acme_$DSN.csv"
{ printf 'order_id,partner,qty\n'; for i in $(seq 1 5000); do printf '%d,beta,%d\n' "$i" $((i % 7)); done; } > "beta_$DSN.csv"
printf 'yesterday\n' > acme_20240228.csv
printf 'not a csv\n' > "acme_$DSN.txt"
for f in "acme_$DSN.csv" "beta_$DSN.csv" acme_20240228.csv "acme_$DSN.txt"; do
  install -o "$SFTP_USER" -g "$SFTP_USER" -m 644 "$f" "$OUT/$f" && CREATED+=("$OUT/$f")
done

psql_super -c "CREATE DATABASE $DB OWNER $PG_USER" >/dev/null
psql_db <<'SQL'
CREATE TABLE public.orders (id int PRIMARY KEY, created_at timestamptz NOT NULL, customer text, amount numeric(10,2));
INSERT INTO public.orders VALUES
  (1,  '2024-02-28 23:59:59.999999+00', 'late yesterday',        1.00),   -- out
  (2,  '2024-02-29 00:00:00+00',        'first instant',         2.00),   -- in (start inclusive)
  (3,  '2024-02-29 12:00:00+00',        'noon, "quoted", comma', 3.50),   -- in
  (4,  '2024-02-29 23:59:59.999999+00', 'last instant',          4.00),   -- in
  (5,  '2024-03-01 00:00:00+00',        'end is exclusive',      5.00),   -- out
  (6,  '2024-02-29 01:30:00+05',        'UTC 2024-02-28 20:30',  6.00),   -- out (UTC!)
  (7,  '2024-02-28 22:00:00-03',        'UTC 2024-02-29 01:00',  7.00),   -- in (UTC!)
  (8,  '2024-03-01 00:30:00+01',        'UTC 2024-02-29 23:30',  8.00),   -- in (UTC!)
  (9,  '2023-02-28 12:00:00+00',        'a year earlier',        9.00),   -- out
  (10, '2024-02-29 06:00:00+00',        E'multi\nline',         10.00);   -- in
SQL
WANT_IDS="2 3 4 7 8 10"

# ---------------------------------------------------------------- 1. no marker: the sensor times out
WAIT_TIMEOUT=3s nightly; code=$?
same "without the marker the job stops at the sensor with exit 10" 10 "$code"
check "   ... after WAIT_TIMEOUT (the sensor's error is in the log)" grep -q "not met after 3 s" run.err
same "   ... nothing was written to S3" "" "$(s3keys | tr '\n' ' ')"
check "   ... the partner files are still there" test -e "$OUT/acme_$DSN.csv" -a -e "$OUT/beta_$DSN.csv"

# ---------------------------------------------------------------- 2. the night's run
install -o "$SFTP_USER" -g "$SFTP_USER" -m 644 /dev/null "$OUT/$DSN.done" && CREATED+=("$OUT/$DSN.done")
nightly; code=$?
if [ "$code" = 0 ]; then ok "nightly.sh exits 0"; else fail "nightly.sh exits 0 (got $code)" "$(tail -8 run.err)"; fi
same "S3 holds exactly the two partner files and the export, under dt=$DS" \
  "exports/orders/dt=$DS/orders.csv.gz inbound/acme/dt=$DS/acme_$DSN.csv inbound/acme/dt=$DS/beta_$DSN.csv" \
  "$(s3keys | tr '\n' ' ' | sed 's/ $//')"
for f in "acme_$DSN.csv" "beta_$DSN.csv"; do
  awsx s3 cp "s3://$B/$P/inbound/acme/dt=$DS/$f" "got_$f" --only-show-errors
  check "the S3 object $f has the partner file's bytes" cmp "$f" "got_$f"
  check "   ... and $f is gone from SFTP" test ! -e "$OUT/$f"
done
check "the other day's file stays on SFTP" cmp acme_20240228.csv "$OUT/acme_20240228.csv"
check "the day's non-CSV file stays on SFTP" cmp "acme_$DSN.txt" "$OUT/acme_$DSN.txt"
check "the marker stays on SFTP" test -e "$OUT/$DSN.done"
check "no ferry temp file left in $OUT" bash -c "! ls -A '$OUT' | grep -q ferry-"

awsx s3 cp "s3://$B/$P/exports/orders/dt=$DS/orders.csv.gz" orders.csv.gz --only-show-errors
check "the export is valid gzip" gzip -t orders.csv.gz
gzip -dc orders.csv.gz > orders.csv
same "the export holds exactly the day's rows (UTC, start inclusive, end exclusive)" "$WANT_IDS" \
  "$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=""))); print(" ".join(x["id"] for x in r))' orders.csv)"
psql_db -c "\\copy (SELECT * FROM public.orders WHERE id IN (${WANT_IDS// /,}) ORDER BY id) TO 'ref.csv' CSV HEADER"
check "   ... byte for byte what psql exports for those rows" cmp ref.csv orders.csv
check "the last step's --json summary on stdout: ok, 6 rows" python3 - run.out <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
d = json.loads(lines[-1])
assert d.get("ok") is True and d.get("rows_read") == 6, d
PY
check "the move step reported both files" bash -c "grep -q '2 files copied' run.err"

# ---------------------------------------------------------------- 3. a re-run: nothing left to move is fine
before=$(s3snap | grep -v /exports/)
gzip -dc orders.csv.gz > export_before.csv
nightly; code=$?
if [ "$code" = 0 ]; then ok "a re-run exits 0 (nothing left to move)"; else fail "a re-run exits 0 (got $code)" "$(tail -8 run.err)"; fi
check "   ... it says so in one clear line" grep -q "no partner file left to move" run.err
check "   ... and did not try the move" bash -c "! grep -q 'files copied' run.err"
same "   ... the moved objects are unchanged (keys and ETags)" "$before" "$(s3snap | grep -v /exports/)"
same "   ... S3 still holds exactly the same keys" \
  "exports/orders/dt=$DS/orders.csv.gz inbound/acme/dt=$DS/acme_$DSN.csv inbound/acme/dt=$DS/beta_$DSN.csv" \
  "$(s3keys | tr '\n' ' ' | sed 's/ $//')"
awsx s3 cp "s3://$B/$P/exports/orders/dt=$DS/orders.csv.gz" orders2.csv.gz --only-show-errors
check "   ... the export ran again (its --json summary: ok, 6 rows)" python3 - run.out <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
d = json.loads(lines[-1])
assert d.get("ok") is True and d.get("rows_read") == 6, d
PY
check "   ... with the same rows" bash -c "gzip -dc orders2.csv.gz | cmp - export_before.csv"
check "   ... the other files stay on SFTP" test -e "$OUT/acme_20240228.csv" -a -e "$OUT/acme_$DSN.txt"

# ---------------------------------------------------------------- 4. a real error still fails
# The partner's directory cannot be listed by the SFTP user (mode 111: the
# sensor still finds the marker by its name, but the listing is refused): ls
# fails (not "nothing matches"), so the job stops before the export.
OUT_MODE=$(stat -c %a "$OUT")
chmod 111 "$OUT"
before=$(s3snap)
nightly; code=$?
chmod "$OUT_MODE" "$OUT"; OUT_MODE=
if [ "$code" != 0 ]; then ok "an unlistable partner directory fails the job (exit $code)"; else fail "an unlistable partner directory fails the job (got 0)"; fi
check "   ... at the move step's listing, not the skip line" bash -c "grep -q 'ferry: error: sftp(partner): opendir' run.err && ! grep -q 'no partner file left' run.err"
check "   ... before the export (no --json summary)" bash -c "! grep -q rows_read run.out"
same "   ... and S3 is unchanged" "$before" "$(s3snap)"

finish

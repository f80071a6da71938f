#!/usr/bin/env bash
# valgrind.sh - a representative set of ferry commands under valgrind's
# memcheck against the harness's real servers, small data: every hook as a
# source or a sink, gzip both ways, a failing copy, and a SIGINT mid-copy.
# Each must end with its usual exit code and memcheck must report no error
# and no definitely/indirectly lost block (--error-exitcode=99 turns any
# into exit 99).  Third-party one-time initialisation is suppressed only
# through tests/valgrind.supp (each entry says why); it may be empty.
# Skips when valgrind is not installed or the binary is a sanitizer build
# (ASan and valgrind cannot share a process).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
load_services_env
SUPP=$(cd "$(dirname "$0")/.." && pwd)/valgrind.supp
cd "$WORK"

if ! command -v valgrind > /dev/null; then skip_all "valgrind: not installed"; fi
if grep -qa __asan_init "$FERRY"; then skip_all "valgrind: $FERRY is a sanitizer build"; fi

B=$CEPH_S3_BUCKET
P="ferry-vg-$$-$RANDOM"
RD="ferry-vg-$$"
RHOME=$SFTP_HOME/$RD
T="ferry_vg_$$"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
export AIRFLOW_CONN_NOWHERE="aws://k:s@?region_name=us-east-1&endpoint_url=$(urlenc http://127.0.0.1:1)"
export AIRFLOW_CONN_MYDB="mysql://$MYSQL_USER:$(urlenc "$MYSQL_PASSWORD")@$MYSQL_HOST:$MYSQL_PORT/$MYSQL_DATABASE"
export AIRFLOW_CONN_PARTNER="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
psqlx() { PGPASSWORD=$PG_PASSWORD timeout 60 psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" -XAtqc "$1"; }
cleanup() {
  s3_cleanup   # objects and multipart uploads under $P/
  psqlx "DROP TABLE IF EXISTS $T" > /dev/null 2>&1
  rm -rf "$RHOME" "$WORK"
}
trap cleanup EXIT

VG=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99
    --track-fds=no --num-callers=30 --suppressions="$SUPP")
N=0
# vg NAME WANT CMD-ARGS...: ferry CMD-ARGS under memcheck must exit WANT with a clean report
vg() {
  local name=$1 want=$2; shift 2
  N=$((N + 1))
  local log="$WORK/vg.$N.log"
  timeout -k 5 180 "${VG[@]}" --log-file="$log" "$FERRY" "$@" > "$WORK/.out" 2>&1; local got=$?
  local lost; lost=$(grep -aE "definitely lost: [1-9]|indirectly lost: [1-9]|ERROR SUMMARY: [1-9]" "$log" | head -3)
  if [ "$got" = "$want" ] && [ -z "$lost" ]; then ok "$name: exit $got, memcheck clean"
  else fail "$name: exit $got (want $want)" "${lost:-$(tail -2 "$WORK/.out")}" "$(grep -a -A12 -m1 -E 'are definitely lost|Invalid|uninitialised|Mismatched' "$log" | head -14)"; fi
}

seq 1 2000 | awk '{print $1 ",row " $1 ",\"q,\"\"x\"\"\""}' | sed '1i id,v,w' > small.csv
install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"
cp small.csv "$RHOME/small.csv"; chown "$SFTP_USER" "$RHOME/small.csv"

vg "local -> local .csv.gz (gzip)" 0 copy small.csv out.csv.gz -q
vg "local .csv.gz -> local (gunzip)" 0 copy out.csv.gz back.csv -q
check "   ... round trip" cmp small.csv back.csv
vg "Postgres -> S3 .csv.gz" 0 copy warehouse: --query "SELECT g, md5(g::text) FROM generate_series(1, 2000) g" "s3://$B/$P/pg.csv.gz" -q
vg "S3 .csv.gz -> Postgres (--create)" 0 copy "s3://$B/$P/pg.csv.gz" "warehouse:public.$T" --create -q
check "   ... 2000 rows" test "$(psqlx "SELECT count(*) FROM $T")" = 2000
vg "MariaDB -> local" 0 copy mydb: --query "SELECT seq, CONCAT('r', seq) FROM seq_1_to_2000" my.csv -q
vg "SFTP -> S3" 0 copy "partner:$RD/small.csv" "s3://$B/$P/from_sftp.csv" -q
vg "local -> SFTP" 0 copy small.csv "partner:$RD/up.csv" -q
vg "HTTP -> local" 0 copy "$HTTP_ECHO_URL/orders.csv" http.csv -q
vg "S3 ls" 0 ls "s3://$B/$P/"
vg "exec on Postgres" 0 exec warehouse: "SELECT count(*) FROM $T"
vg "failing copy: a missing S3 key (exit 5)" 5 copy "s3://$B/$P/nope.csv" nope.csv
vg "failing copy: a Postgres query error mid-export (exit 7)" 7 copy warehouse: --query "SELECT g, 1/(g - 3) FROM generate_series(1, 5) g" bad.csv
vg "failing copy: an S3 endpoint refusing connections (exit 4)" 4 copy small.csv "s3://$B/$P/x.csv" --retries 2 --s3-conn nowhere

# SIGINT in the middle of an HTTP download (the server still thinking)
N=$((N + 1)); log="$WORK/vg.$N.log"
"${VG[@]}" --log-file="$log" "$FERRY" copy "$HTTP_ECHO_URL/delay/10" delayed.json > "$WORK/.out" 2>&1 &
pid=$!
# valgrind catches every signal itself from its start, so "ferry is waiting for
# the answer" is seen from its connection to the echo server; a SIGINT before
# ferry's handler is installed would be ignored (a & job inherits it ignored)
for _ in $(seq 1 600); do
  ss -Htnp "dport = :${HTTP_ECHO_URL##*:}" 2>/dev/null | grep -q "pid=$pid," && break
  sleep 0.1
done
sleep 2
kill -INT "$pid"; wait "$pid"; got=$?
lost=$(grep -aE "definitely lost: [1-9]|indirectly lost: [1-9]|ERROR SUMMARY: [1-9]" "$log" | head -3)
[ "$got" = 130 ] && [ -z "$lost" ] && ok "SIGINT mid-download: exit 130, memcheck clean" ||
  fail "SIGINT mid-download: exit $got (want 130)" "$lost" "$(tail -2 "$WORK/.out")"
check "   ... no destination, no temp file" bash -c "[ ! -e delayed.json ] && ! ls -A . | grep -q ferry-tmp"

finish

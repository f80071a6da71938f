#!/usr/bin/env bash
# bench/sftp_put.sh [MIB] - one large file uploaded to SFTP, side by side:
#   (a)  OpenSSH `sftp -b` (`put FILE DIR/a.N`)
#   (b)  `ferry copy FILE partner:DIR/b.N`, its defaults (write_sessions=3:
#        the upload striped over three sessions, hooks/sftp/sftp_stripe.c)
#   (b1) the same with write_sessions=1 (one session, as before)
#   (b2) the same with write_sessions=2
#   (c)  `rclone copyto FILE src:DIR/c.N` (when rclone is installed)
# and, with the file put in S3 once (SFTP_PUT_S3=0 skips it):
#   (d)  `ferry copy s3://BUCKET/KEY partner:DIR/d.N`
#   (e)  `rclone copyto s3:BUCKET/KEY src:DIR/e.N`
# against the harness's sshd and radosgw (tests/harness/services.sh), with
# wall seconds, MB/s, peak RSS (GNU time %M) and the ratios (> 1: ferry is
# faster).  MIB defaults to 1024 (SFTP_PUT_MIB).  BENCH_RUNS_PUT (default 3)
# runs of each, interleaved (a, b, b1, b2, c, d, e, a, b, ...) so all meet
# the same load; the table shows the median wall and the highest RSS, and the
# load average before and after.  SFTP_PUT_LEGS limits the legs (default all).
# Each upload has its size checked and is removed right after its run.  Root
# (it writes into the SFTP user's home).  Figures to read, never pass/fail.
# Results: docs/performance-sftp.md, "Single large file".
. "$(dirname "$0")/lib.sh"
load_env
MIB=${1:-${SFTP_PUT_MIB:-1024}}
RUNS=${BENCH_RUNS_PUT:-3}
RD=ferry-put.$$
RHOME=$SFTP_HOME/$RD
FILE=$BENCH_DIR/big.bin
KEY=ferry-put-$$/big.bin
S3LEGS=${SFTP_PUT_S3:-1}
cleanup() { rm -rf "$RHOME" "$BENCH_DIR"; [ "$S3LEGS" = 1 ] && s3_reap "ferry-put-$$/" >/dev/null 2>&1; }
trap cleanup EXIT
trap 'exit 130' INT TERM

install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"
head -c $((MIB * 1024 * 1024)) /dev/urandom > "$FILE"
BYTES=$(stat -c %s "$FILE")

PQ="key_file=$(enc "$SFTP_KEY")&known_hosts=$(enc "$SFTP_KNOWN_HOSTS")"
export AIRFLOW_CONN_PARTNER="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?$PQ"
export AIRFLOW_CONN_PARTNER1="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?$PQ&write_sessions=1"
export AIRFLOW_CONN_PARTNER2="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?$PQ&write_sessions=2"
SFTP_OPTS=(-F none -i "$SFTP_KEY" -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes
           -o "UserKnownHostsFile=$SFTP_KNOWN_HOSTS" -P "$SFTP_PORT")
export RCLONE_CONFIG_SRC_TYPE=sftp RCLONE_CONFIG_SRC_HOST=$SFTP_HOST RCLONE_CONFIG_SRC_PORT=$SFTP_PORT \
  RCLONE_CONFIG_SRC_USER=$SFTP_USER RCLONE_CONFIG_SRC_KEY_FILE=$SFTP_KEY \
  RCLONE_CONFIG_SRC_KNOWN_HOSTS_FILE=$SFTP_KNOWN_HOSTS RCLONE_CONFIG_SRC_SHELL_TYPE=none \
  RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Ceph RCLONE_CONFIG_S3_ENDPOINT=$CEPH_S3_ENDPOINT \
  RCLONE_CONFIG_S3_ACCESS_KEY_ID=$CEPH_S3_ACCESS_KEY RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=$CEPH_S3_SECRET_KEY \
  RCLONE_CONFIG_S3_REGION=$CEPH_S3_REGION RCLONE_CONFIG_S3_NO_CHECK_BUCKET=true
RCLONE=$(command -v rclone || true)
RCL=(env -u AWS_CA_BUNDLE "$RCLONE" --config "$BENCH_DIR/rclone.conf" -q copyto)
: > "$BENCH_DIR/rclone.conf"

LEGS=${SFTP_PUT_LEGS:-"a b b1 b2 c d e"}
[ -z "$RCLONE" ] && LEGS=${LEGS//c/} && LEGS=${LEGS//e/}
if [ "$S3LEGS" = 1 ] && [[ " $LEGS " == *" d "* || " $LEGS " == *" e "* ]]; then
  timeout 900 "$FERRY" copy "$FILE" "s3://$BUCKET/$KEY" -q || { echo "bench: cannot put the file in S3" >&2; exit 1; }
else
  LEGS=${LEGS//d/}; LEGS=${LEGS//e/}
fi

# one_run NAME N: one upload of NAME's tool to RD/NAME.N; the size is checked
# and the upload removed
declare -A RUNW BRSS
one_run() {
  local name=$1 n=$2 dst=$RD/$1.$2
  case $name in
    a) printf 'put %s %s\n' "$FILE" "$dst" > "$BENCH_DIR/batch"
       measure "$name.$n" timeout 900 sftp -q -b "$BENCH_DIR/batch" "${SFTP_OPTS[@]}" "$SFTP_USER@$SFTP_HOST" ;;
    b) measure "$name.$n" timeout 900 "$FERRY" copy "$FILE" "partner:$dst" -q ;;
    b1) measure "$name.$n" timeout 900 "$FERRY" copy "$FILE" "partner1:$dst" -q ;;
    b2) measure "$name.$n" timeout 900 "$FERRY" copy "$FILE" "partner2:$dst" -q ;;
    c) measure "$name.$n" timeout 900 "${RCL[@]}" "$FILE" "src:$dst" ;;
    d) measure "$name.$n" timeout 900 "$FERRY" copy "s3://$BUCKET/$KEY" "partner:$dst" -q ;;
    e) measure "$name.$n" timeout 900 "${RCL[@]}" "s3:$BUCKET/$KEY" "src:$dst" ;;
  esac
  local got; got=$(stat -c %s "$SFTP_HOME/$dst" 2>/dev/null || echo missing)
  [ "$got" = "$BYTES" ] || { echo "bench: $name.$n: remote size $got, expected $BYTES" >&2; WALL[$name.$n]=NaN; }
  rm -f "$SFTP_HOME/$dst"
  local w=${WALL[$name.$n]} r=${RSS[$name.$n]}
  RUNW[$name]="${RUNW[$name]:-} $w"
  [ "$r" != NaN ] && [ "$r" -gt "${BRSS[$name]:-0}" ] && BRSS[$name]=$r
  echo "bench: $name run $n: $w s, $r MiB" >&2
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 1; i <= RUNS; i++)); do
  for l in $LEGS; do one_run "$l" "$i"; done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# the median of a leg's runs (NaN when one failed), and every run for the record
W() { python3 -c "
import sys, statistics
v = sys.argv[1].split()
print('n/a' if not v else 'NaN' if 'NaN' in v else f'{statistics.median(map(float, v)):.2f}')" "${RUNW[$1]:-}"; }
ALL() { echo "${RUNW[$1]:- n/a}" | sed 's/^ //; s/ /, /g'; }
R() { echo "${BRSS[$1]:-n/a}"; }
mbps() { python3 -c "import sys; w=sys.argv[1]; print('n/a' if w in ('NaN','n/a') else f'{int(sys.argv[2])/float(w)/1e6:.0f}')" "$1" "$BYTES"; }
ratio() { python3 -c "import sys; a,b=sys.argv[1:]; print('n/a' if 'NaN' in (a,b) or 'n/a' in (a,b) else f'{float(a)/float(b):.2f}')" "$1" "$2"; }
RCLONE_V=$([ -n "$RCLONE" ] && "$RCLONE" version 2>/dev/null | head -1 || echo "rclone not installed")
row() { # LEG WHAT RATIO-TEXT
  echo "| ($1) | $2 | $(W "$1") | $(ALL "$1") | $(mbps "$(W "$1")") | $(R "$1") | $3 |"
}

cat <<EOF
#### 1 file ($MIB MiB, incompressible) -> SFTP ($(date -u +%F\ %H:%M) UTC, $(machine), load $LOAD0 before, $LOAD1 after)

$(ssh -V 2>&1 | cut -d, -f1) client, the harness's sshd (\`internal-sftp\`) and radosgw on loopback;
$RCLONE_V; $("$FERRY" version 2>/dev/null | head -1).
Wall seconds: median of $RUNS runs, interleaved; peak RSS: highest of them. MB/s = $BYTES bytes / median wall.

| run | what | median s | runs s | MB/s | peak RSS MiB | ratio (> 1: ferry faster) |
| --- | --- | ---: | --- | ---: | ---: | --- |
$(row a '`sftp -b` (`put FILE DIR/`)' "a/b = $(ratio "$(W a)" "$(W b)")")
$(row b '`ferry copy FILE partner:DIR/` (write_sessions=3, the default)' "1.00")
$(row b1 '(b) with write_sessions=1' "a/b1 = $(ratio "$(W a)" "$(W b1)")")
$(row b2 '(b) with write_sessions=2' "a/b2 = $(ratio "$(W a)" "$(W b2)")")
$(row c '`rclone copyto FILE src:DIR/`' "c/b = $(ratio "$(W c)" "$(W b)")")
$(row d '`ferry copy s3://BUCKET/KEY partner:DIR/`' "1.00")
$(row e '`rclone copyto s3:BUCKET/KEY src:DIR/`' "e/d = $(ratio "$(W e)" "$(W d)")")
EOF

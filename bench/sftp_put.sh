#!/usr/bin/env bash
# bench/sftp_put.sh [MIB] - one large local file uploaded to SFTP, side by side:
#   (a) OpenSSH `sftp -b` (`put FILE DIR/a.N`)
#   (b) `ferry copy FILE partner:DIR/b.N` (temp file, fsync, rename: the
#       sink's commit protocol, docs/hooks/sftp.md)
#   (c) `rclone copyto FILE src:DIR/c.N` (when rclone is installed)
# against the harness's sshd (tests/harness/services.sh), with wall seconds,
# MB/s, peak RSS (GNU time %M) and the ratios a/b and c/b (> 1: ferry is
# faster).  MIB defaults to 1024 (SFTP_PUT_MIB).  BENCH_RUNS (default 3)
# runs of each, in turn (a, b, c, a, b, c, ...) so all meet the same load;
# the table keeps the best wall time and the highest RSS.  Each upload has
# its size checked and is removed right after its run.  Root (it writes into
# the SFTP user's home to create the remote directory).  Figures to read,
# never pass/fail; bench/many_files.sh may call it for its "single large
# file" line.  Results: docs/performance-sftp.md, "Single large file".
. "$(dirname "$0")/lib.sh"
set -a; . "$FERRY_SVC_ENV"; set +a
MIB=${1:-${SFTP_PUT_MIB:-1024}}
RUNS=${BENCH_RUNS_PUT:-${BENCH_RUNS:-3}}
[ "$BENCH_RUNS" = 1 ] && [ -z "${BENCH_RUNS_PUT:-}" ] && RUNS=3
RD=ferry-put.$$
RHOME=$SFTP_HOME/$RD
FILE=$BENCH_DIR/big.bin
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
cleanup() { rm -rf "$RHOME" "$BENCH_DIR"; }
trap cleanup EXIT INT TERM

install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"
head -c $((MIB * 1024 * 1024)) /dev/urandom > "$FILE"
BYTES=$(stat -c %s "$FILE")

export AIRFLOW_CONN_PARTNER
AIRFLOW_CONN_PARTNER="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(enc "$SFTP_KEY")&known_hosts=$(enc "$SFTP_KNOWN_HOSTS")"
SFTP_OPTS=(-F none -i "$SFTP_KEY" -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes
           -o "UserKnownHostsFile=$SFTP_KNOWN_HOSTS" -P "$SFTP_PORT")
export RCLONE_CONFIG_SRC_TYPE=sftp RCLONE_CONFIG_SRC_HOST=$SFTP_HOST RCLONE_CONFIG_SRC_PORT=$SFTP_PORT \
  RCLONE_CONFIG_SRC_USER=$SFTP_USER RCLONE_CONFIG_SRC_KEY_FILE=$SFTP_KEY \
  RCLONE_CONFIG_SRC_KNOWN_HOSTS_FILE=$SFTP_KNOWN_HOSTS RCLONE_CONFIG_SRC_SHELL_TYPE=none
RCLONE=$(command -v rclone || true)
: > "$BENCH_DIR/rclone.conf"

# one_run NAME N: one upload of FILE to RD/NAME.N by NAME's tool; the size is
# checked and the upload removed
declare -A BEST BRSS
one_run() {
  local name=$1 n=$2 dst=$RD/$1.$2
  case $name in
    a) printf 'put %s %s\n' "$FILE" "$dst" > "$BENCH_DIR/batch"
       measure "$name.$n" timeout 900 sftp -q -b "$BENCH_DIR/batch" "${SFTP_OPTS[@]}" "$SFTP_USER@$SFTP_HOST" ;;
    b) measure "$name.$n" timeout 900 "$FERRY" copy "$FILE" "partner:$dst" -q ;;
    c) measure "$name.$n" timeout 900 "$RCLONE" --config "$BENCH_DIR/rclone.conf" -q copyto "$FILE" "src:$dst" ;;
  esac
  local got; got=$(stat -c %s "$SFTP_HOME/$dst" 2>/dev/null || echo missing)
  [ "$got" = "$BYTES" ] || { echo "bench: $name.$n: remote size $got, expected $BYTES" >&2; WALL[$name.$n]=NaN; }
  rm -f "$SFTP_HOME/$dst"
  local w=${WALL[$name.$n]} r=${RSS[$name.$n]}
  if [ "$w" = NaN ] || [ "${BEST[$name]:-}" = NaN ]; then BEST[$name]=NaN
  elif [ -z "${BEST[$name]:-}" ] || python3 -c "import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))" "$w" "${BEST[$name]}"; then
    BEST[$name]=$w
  fi
  [ "$r" != NaN ] && [ "$r" -gt "${BRSS[$name]:-0}" ] && BRSS[$name]=$r
  echo "bench: $name run $n: $w s, $r MiB" >&2
}

LEGS="a b"
[ -n "$RCLONE" ] && LEGS="a b c"
for ((i = 1; i <= RUNS; i++)); do
  for l in $LEGS; do one_run "$l" "$i"; done
done

W() { echo "${BEST[$1]:-n/a}"; }
R() { echo "${BRSS[$1]:-n/a}"; }
mbps() { python3 -c "import sys; w=sys.argv[1]; print('n/a' if w in ('NaN','n/a') else f'{int(sys.argv[2])/float(w)/1e6:.0f}')" "$1" "$BYTES"; }
ratio() { python3 -c "import sys; a,b=sys.argv[1:]; print('n/a' if 'NaN' in (a,b) or 'n/a' in (a,b) else f'{float(a)/float(b):.2f}')" "$1" "$2"; }
RCLONE_V=$([ -n "$RCLONE" ] && "$RCLONE" version 2>/dev/null | head -1 || echo "rclone not installed")

cat <<EOF
#### 1 local file ($MIB MiB, incompressible) -> SFTP ($(date -u +%F\ %H:%M) UTC, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))

$(ssh -V 2>&1 | cut -d, -f1) client, the harness's sshd (\`internal-sftp\`) on loopback;
$RCLONE_V; $("$FERRY" version 2>/dev/null | head -1).
Wall seconds: best of $RUNS runs (run in turn); peak RSS: highest of them. MB/s = $BYTES bytes / wall.

| run | what | wall s | MB/s | peak RSS MiB | ratio (> 1: ferry faster) |
| --- | --- | ---: | ---: | ---: | --- |
| (a) | \`sftp -b\` (\`put FILE DIR/\`) | $(W a) | $(mbps "$(W a)") | $(R a) | a/b = $(ratio "$(W a)" "$(W b)") |
| (b) | \`ferry copy FILE partner:DIR/\` | $(W b) | $(mbps "$(W b)") | $(R b) | 1.00 |
| (c) | \`rclone copyto FILE src:DIR/\` | $(W c) | $(mbps "$(W c)") | $(R c) | c/b = $(ratio "$(W c)" "$(W b)") |
EOF

#!/usr/bin/env bash
# bench/sftp_s3.sh [MIB] - SFTP -> S3 side by side, against the harness's
# OpenSSH sshd and Ceph radosgw (bash tests/harness/services.sh up), with one
# incompressible file of MIB MiB (default 1024) in the SFTP user's home:
#   (a)  OpenSSH sftp get -> /dev/null                 the SFTP read floor
#   (b)  ferry copy partner:FILE /dev/null              the default: read ahead
#        in threads over 4 sessions (parallel ranged reads; files >= 64 MiB)
#   (b1) the same with the read_sessions=1 extra (one session reading ahead)
#   (c)  sftp get -> local file, then aws s3 cp         what users script today
#   (d)  ferry copy partner:FILE s3://…
#   (d1) the same with read_sessions=1
#   (e)  rclone copyto src:FILE dst:BUCKET/KEY          (Debian's rclone)
#   (f)  ferry copy LOCAL-FILE s3://…                   the S3 upload floor
# then (a), (b), (b1) and (d) again at 20 ms RTT (SFTP_BENCH_DELAY_MS per
# direction, default 10), through tests/harness/delay_proxy (a TCP proxy that
# holds every byte DELAY_MS in each direction) between the clients and the
# harness's sshd; S3 stays on loopback.
#
# Needs root. The delay proxy is built with the ferry binary (cmake target
# delay_proxy; DELAY_PROXY_BIN to point elsewhere). SFTP_BENCH_LATENCY=netem
# uses the kernel's netem qdisc instead (iproute2, network namespaces and
# CONFIG_NET_SCH_NETEM, without which it is skipped with a message) over a veth
# pair whose ends both live in namespaces this script creates (ferrybench-srv
# runs a private sshd from the harness's config, ferrybench runs the
# clients), so nothing is added to the host's own network; radosgw listens on
# 127.0.0.1 only, so that table has the SFTP legs only.
#
# Each timed command runs SFTP_BENCH_RUNS times (default 2): wall = the best
# run, peak RSS = the highest. Everything runs under timeout; everything the
# script creates (file, S3 objects and uploads, namespaces, sshd) is removed
# on every exit path. Environment: FERRY_BIN, SFTP_BENCH_RUNS,
# SFTP_BENCH_DELAY_MS (0 = run the latency legs without added delay, a
# plumbing check), SFTP_BENCH_LATENCY (proxy, the default, or netem),
# DELAY_PROXY_BIN, SFTP_BENCH_TIMEOUT (seconds per command, default 600).
. "$(dirname "$0")/lib.sh"
set -o pipefail
MIB=${1:-1024}
RUNS=${SFTP_BENCH_RUNS:-2}
DELAY_MS=${SFTP_BENCH_DELAY_MS:-10}
TMO=${SFTP_BENCH_TIMEOUT:-600}
# --foreground: the command stays in our process group, so ^C / kill -- -PGID
# reach it and the cleanup below runs at once.
TO=(timeout --foreground -k 10 "$TMO")
TS=(timeout -k 5 120)            # setup and cleanup steps

[ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces, a second sshd)" >&2; exit 2; }
[[ $MIB =~ ^[0-9]+$ ]] && [ "$MIB" -ge 64 ] || { echo "bench: MIB must be a number >= 64 (read_sessions needs 64 MiB files)" >&2; exit 2; }
[ -x "$FERRY" ] || { echo "bench: no ferry binary at $FERRY (set FERRY_BIN)" >&2; exit 2; }
for t in sftp python3; do command -v "$t" >/dev/null || { echo "bench: $t not found" >&2; exit 2; }; done
[ -x "$AWS" ] || { echo "bench: $AWS not found (Debian's awscli)" >&2; exit 2; }
load_env
BYTES=$((MIB * 1048576))
REL=ferry-bench.$$/big.bin                  # relative to the SFTP login directory
RDIR=$SFTP_HOME/ferry-bench.$$
KEY=bench/sftp_s3.$$
NS=ferrybench NS_SRV=ferrybench-srv
VETH_SRV=fbench0 VETH_CLI=fbench1
ADDR_SRV=198.51.100.1 ADDR_CLI=198.51.100.2  # TEST-NET-2, only inside our namespaces
NS_MADE=() SSHD_PID= PROXY_PID= NOTES=()
LATENCY=${SFTP_BENCH_LATENCY:-proxy}
DELAY_PROXY=${DELAY_PROXY_BIN:-$(dirname "$FERRY")/delay_proxy}

cleanup() {
  local rc=$? id k
  trap - EXIT INT TERM
  if [ -n "$SSHD_PID" ]; then kill "$SSHD_PID" 2>/dev/null; wait "$SSHD_PID" 2>/dev/null; fi
  if [ -n "$PROXY_PID" ]; then kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; fi
  for n in "${NS_MADE[@]}"; do "${TS[@]}" ip netns del "$n" 2>/dev/null; done
  # no upload may outlive us (a timed-out aws/rclone/ferry can leave one)
  "${TS[@]}" $S3 s3api list-multipart-uploads --bucket "$BUCKET" --prefix "$KEY/" \
      --query 'Uploads[].[Key,UploadId]' --output text 2>/dev/null |
    while read -r k id; do
      [ -n "$id" ] && [ "$k" != None ] && "${TS[@]}" $S3 s3api abort-multipart-upload --bucket "$BUCKET" --key "$k" --upload-id "$id" >/dev/null 2>&1
    done
  "${TS[@]}" $S3 s3 rm "s3://$BUCKET/$KEY/" --recursive --only-show-errors >/dev/null 2>&1
  rm -rf "$RDIR" "$BENCH_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
mbps() { python3 -c "import sys; w=float(sys.argv[1]); print(f'{$BYTES/1e6/w:.0f}' if w==w and w>0 else '-')" "$1"; }
sftp_conn() { # HOST KNOWN_HOSTS [EXTRA]  (port: $CONN_PORT, else the harness's)
  echo "sftp://$(enc "$SFTP_USER")@$1:${CONN_PORT:-$SFTP_PORT}?key_file=$(enc "$SFTP_KEY")&known_hosts=$(enc "$2")&look_for_keys=false&allow_agent=false${3:+&$3}"
}
SFTP_OPTS=(-F none -i "$SFTP_KEY" -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -P "$SFTP_PORT")

# fold NAME RUNS FAILED : WALL[NAME] = the best wall of NAME.1..RUNS, RSS[NAME]
# = the highest peak RSS; both NaN when FAILED is 1.  Prints the result.
fold() {
  local name=$1 runs=$2 i w r bw=NaN br=0
  if [ "$3" = 1 ]; then br=NaN; else
    for ((i = 1; i <= runs; i++)); do
      w=${WALL[$name.$i]} r=${RSS[$name.$i]}
      if [ "$bw" = NaN ] || python3 -c "import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))" "$w" "$bw"; then bw=$w; fi
      [ "$r" -gt "$br" ] && br=$r
    done
  fi
  WALL[$name]=$bw RSS[$name]=$br
  echo "bench: $name: ${WALL[$name]} s, ${RSS[$name]} MiB" >&2
}

# best NAME CMD... : measure RUNS times (@RUN@ in CMD becomes the run number);
# WALL[NAME] = best wall, RSS[NAME] = highest peak RSS; NaN when a run failed.
# $AFTER (if set) is evaluated after every run, also a failed one.
best() {
  local name=$1 i ok failed=0; shift
  for ((i = 1; i <= RUNS; i++)); do
    measure "$name.$i" "${@//@RUN@/$i}"; ok=$?
    [ -n "${AFTER:-}" ] && eval "$AFTER"
    [ "$ok" = 0 ] || { failed=1; break; }
  done
  fold "$name" "$RUNS" "$failed"
}

# best_pair NAME1 NAME2 : like best for the commands in CMD_<NAME1> and
# CMD_<NAME2> (arrays), but run by run in turn (1, 2, 1, 2, ...), so both
# meet the S3 server in the same state: radosgw's memstore is faster or
# slower depending on what was written and deleted just before (ferry's own
# local file -> S3 alone varied from 3.5 s to 9 s between runs on one day).
best_pair() {
  local i n ok
  for n in "$1" "$2"; do FAILED[$n]=0; done
  for ((i = 1; i <= RUNS; i++)); do
    for n in "$1" "$2"; do
      [ "${FAILED[$n]}" = 1 ] && continue
      local cmd="CMD_$n[@]"
      measure "$n.$i" "${!cmd//@RUN@/$i}"; ok=$?
      [ -n "${AFTER:-}" ] && eval "$AFTER"
      [ "$ok" = 0 ] || FAILED[$n]=1
    done
  done
  for n in "$1" "$2"; do fold "$n" "$RUNS" "${FAILED[$n]}"; done
}
declare -A FAILED=()

# reap: check the size of what the last run uploaded, then delete it at once.
# The harness's radosgw stores objects in RAM (a memstore OSD of 8 GiB in all,
# shared with everyone); a full OSD does not fail, it blocks every write,
# deletes included. So never keep more than one 1 GiB object.
N_OBJ=0 BAD=
reap() {
  local k sz
  while read -r k sz; do
    { [ -z "$k" ] || [ "$k" = None ]; } && continue
    N_OBJ=$((N_OBJ + 1)); [ "$sz" = "$BYTES" ] || BAD+=" $k ($sz bytes)"
  done < <("${TS[@]}" $S3 s3api list-objects-v2 --bucket "$BUCKET" --prefix "$KEY/" \
             --query 'Contents[].[Key,Size]' --output text 2>/dev/null)
  "${TS[@]}" $S3 s3 rm "s3://$BUCKET/$KEY/" --recursive --only-show-errors >/dev/null 2>&1
}

# ---------------------------------------------------------------- the file
echo "bench: writing $MIB MiB of random data to $RDIR/big.bin ..." >&2
mkdir -p "$RDIR" && chmod 755 "$RDIR"
"${TO[@]}" head -c "$BYTES" /dev/urandom > "$RDIR/big.bin" || { echo "bench: cannot write the file" >&2; exit 1; }
chmod 644 "$RDIR/big.bin"

export AIRFLOW_CONN_PARTNER AIRFLOW_CONN_PARTNER1
AIRFLOW_CONN_PARTNER=$(sftp_conn 127.0.0.1 "$SFTP_KNOWN_HOSTS")
AIRFLOW_CONN_PARTNER1=$(sftp_conn 127.0.0.1 "$SFTP_KNOWN_HOSTS" read_sessions=1)
"${TO[@]}" "$FERRY" conn test partner >&2 || { echo "bench: ferry cannot reach the SFTP server" >&2; exit 1; }
printf 'get %s /dev/null\n' "$REL" > "$BENCH_DIR/get-null"
printf 'get %s %s\n' "$REL" "$BENCH_DIR/local.bin" > "$BENCH_DIR/get-local"
SFTP_LO=(sftp "${SFTP_OPTS[@]}" -o "UserKnownHostsFile=$SFTP_KNOWN_HOSTS")

# rclone: remotes from the environment only; shell_type=none (the server runs
# internal-sftp only), no_check_bucket (do not CreateBucket the shared bucket);
# AWS_CA_BUNDLE is unset for it: rclone 1.60 refuses it with its own transport.
export RCLONE_CONFIG_SRC_TYPE=sftp RCLONE_CONFIG_SRC_HOST=127.0.0.1 RCLONE_CONFIG_SRC_PORT=$SFTP_PORT \
  RCLONE_CONFIG_SRC_USER=$SFTP_USER RCLONE_CONFIG_SRC_KEY_FILE=$SFTP_KEY \
  RCLONE_CONFIG_SRC_KNOWN_HOSTS_FILE=$SFTP_KNOWN_HOSTS RCLONE_CONFIG_SRC_SHELL_TYPE=none \
  RCLONE_CONFIG_DST_TYPE=s3 RCLONE_CONFIG_DST_PROVIDER=Ceph RCLONE_CONFIG_DST_ENDPOINT=$CEPH_S3_ENDPOINT \
  RCLONE_CONFIG_DST_ACCESS_KEY_ID=$CEPH_S3_ACCESS_KEY RCLONE_CONFIG_DST_SECRET_ACCESS_KEY=$CEPH_S3_SECRET_KEY \
  RCLONE_CONFIG_DST_REGION=$CEPH_S3_REGION RCLONE_CONFIG_DST_NO_CHECK_BUCKET=true
RCLONE=$(command -v rclone || true)

# ---------------------------------------------------------------- loopback
echo "bench: loopback legs, $RUNS run(s) each ..." >&2
best a_sftp      "${TO[@]}" "${SFTP_LO[@]}" -b "$BENCH_DIR/get-null" "$SFTP_USER@127.0.0.1"
best b_ferry     "${TO[@]}" "$FERRY" copy "partner:$REL" /dev/null -q
best b1_ferry    "${TO[@]}" "$FERRY" copy "partner1:$REL" /dev/null -q
AFTER='rm -f "$BENCH_DIR/local.bin"; reap' \
best c_pipeline  "${TO[@]}" bash -c "${TO[*]} ${SFTP_LO[*]@Q} -b '$BENCH_DIR/get-local' '$SFTP_USER@127.0.0.1' && ${TO[*]} $S3 s3 cp '$BENCH_DIR/local.bin' 's3://$BUCKET/$KEY/c.@RUN@.bin' --only-show-errors"
# (d) and (f) in turn: d/f is the ratio that matters, and radosgw's speed drifts
CMD_d_ferry=("${TO[@]}" "$FERRY" copy "partner:$REL" "s3://$BUCKET/$KEY/d.@RUN@.bin" -q)
CMD_f_ferry=("${TO[@]}" "$FERRY" copy "$RDIR/big.bin" "s3://$BUCKET/$KEY/f.@RUN@.bin" -q)
AFTER=reap best_pair d_ferry f_ferry
AFTER=reap best d1_ferry "${TO[@]}" "$FERRY" copy "partner1:$REL" "s3://$BUCKET/$KEY/d1.@RUN@.bin" -q
N_LEGS=4
if [ -n "$RCLONE" ]; then
  AFTER=reap best e_rclone "${TO[@]}" env -u AWS_CA_BUNDLE "$RCLONE" --config "$BENCH_DIR/rclone.conf" -q copyto "src:$REL" "dst:$BUCKET/$KEY/e.@RUN@.bin"
  RCLONE_V=$("$RCLONE" version 2>/dev/null | head -1); N_LEGS=5
else
  WALL[e_rclone]=NaN RSS[e_rclone]=NaN RCLONE_V="rclone not installed (apt-get install -y rclone)"
  NOTES+=("(e) skipped: rclone is not installed")
fi

# every object must have had the file's size (checked run by run in reap)
if [ -n "$BAD" ]; then NOTES+=("objects with the wrong size:$BAD")
else NOTES+=("each of the $N_OBJ objects uploaded (expected $((N_LEGS * RUNS))) had $BYTES bytes; each was deleted right after its run"); fi

W() { echo "${WALL[$1]}"; }
R() { echo "${RSS[$1]}"; }
cat <<EOT
### SFTP → S3, one $MIB MiB incompressible file ($(date -u +%F), $(machine))

OpenSSH $(ssh -V 2>&1 | sed 's/,.*//') \`internal-sftp\` and Ceph radosgw on the same machine, loopback;
$($AWS --version 2>&1 | cut -d' ' -f1), $RCLONE_V, $("$FERRY" version 2>/dev/null | head -1 | sed -E 's/ \(.*(libssh2 [^,]*).*/, \1/').
Wall seconds: best of $RUNS runs; peak RSS: highest of them (the whole process tree; for (c) its largest process).
MB/s = $BYTES bytes / wall.

| run | what | wall s | MB/s | peak RSS MiB | ratio |
| --- | --- | ---: | ---: | ---: | --- |
| (a) | \`sftp -b\` (\`get FILE /dev/null\`) | $(W a_sftp) | $(mbps "$(W a_sftp)") | $(R a_sftp) | 1.00 (SFTP floor) |
| (b) | \`ferry copy partner:FILE /dev/null\` (default: 4 sessions) | $(W b_ferry) | $(mbps "$(W b_ferry)") | $(R b_ferry) | b/a = $(ratio "$(W b_ferry)" "$(W a_sftp)") (target ≤ 1.00) |
| (b1) | (b) with \`read_sessions=1\` | $(W b1_ferry) | $(mbps "$(W b1_ferry)") | $(R b1_ferry) | b1/a = $(ratio "$(W b1_ferry)" "$(W a_sftp)") |
| (c) | \`sftp get\` to a local file, then \`aws s3 cp\` | $(W c_pipeline) | $(mbps "$(W c_pipeline)") | ($(R c_pipeline)) | |
| (d) | \`ferry copy partner:FILE s3://…\` | $(W d_ferry) | $(mbps "$(W d_ferry)") | $(R d_ferry) | c/d = $(ratio "$(W c_pipeline)" "$(W d_ferry)")× faster (target ≥ 1.8); d/f = $(ratio "$(W d_ferry)" "$(W f_ferry)") (target ≤ 1.15) |
| (d1) | (d) with \`read_sessions=1\` | $(W d1_ferry) | $(mbps "$(W d1_ferry)") | $(R d1_ferry) | c/d1 = $(ratio "$(W c_pipeline)" "$(W d1_ferry)")×; d1/f = $(ratio "$(W d1_ferry)" "$(W f_ferry)") |
| (e) | \`rclone copyto src:FILE dst:BUCKET/KEY\` | $(W e_rclone) | $(mbps "$(W e_rclone)") | $(R e_rclone) | e/d = $(ratio "$(W e_rclone)" "$(W d_ferry)")× (target > 1); e/d1 = $(ratio "$(W e_rclone)" "$(W d1_ferry)")× |
| (f) | \`ferry copy LOCAL-FILE s3://…\` | $(W f_ferry) | $(mbps "$(W f_ferry)") | $(R f_ferry) | 1.00 (S3 upload floor) |

RSS targets: (d), (d1), (f) ≤ 64 + 4 × 8 (\`--concurrency\` × \`--part-size\`, the parts in flight) = 96 MiB;
the SFTP read-ahead rings hold 6 blocks of 4 MiB (24 MiB) with 4 sessions, 3 (12 MiB) with one.
EOT
for n in "${NOTES[@]}"; do echo "Note: $n"; done
echo

# ---------------------------------------------------------------- latency
latency_skip() { echo "### SFTP with $((2 * DELAY_MS)) ms RTT: skipped"; echo; echo "$1"; echo "bench: latency table skipped: $1" >&2; exit 0; }
if [ "$LATENCY" = proxy ]; then
  [ -x "$DELAY_PROXY" ] || latency_skip "no delay proxy at $DELAY_PROXY (cmake --build BUILD --target delay_proxy, or set DELAY_PROXY_BIN)."
  "$DELAY_PROXY" --target "$SFTP_PORT" --delay-ms "$DELAY_MS" > "$BENCH_DIR/proxy.out" 2> "$BENCH_DIR/proxy.err" &
  PROXY_PID=$!
  for _ in $(seq 50); do grep -q port= "$BENCH_DIR/proxy.out" && break; sleep 0.1; done
  PPORT=$(sed -n 's/.*port=//p' "$BENCH_DIR/proxy.out")
  [ -n "$PPORT" ] || latency_skip "the delay proxy did not start: $(cat "$BENCH_DIR/proxy.err")"
  # the known_hosts entries, for the proxy's port
  KH_P=$BENCH_DIR/known_hosts_proxy
  sed "s/^\[127.0.0.1\]:$SFTP_PORT /[127.0.0.1]:$PPORT /" "$SFTP_KNOWN_HOSTS" > "$KH_P"
  export AIRFLOW_CONN_PARTNERP AIRFLOW_CONN_PARTNERP1
  AIRFLOW_CONN_PARTNERP=$(CONN_PORT=$PPORT sftp_conn 127.0.0.1 "$KH_P")
  AIRFLOW_CONN_PARTNERP1=$(CONN_PORT=$PPORT sftp_conn 127.0.0.1 "$KH_P" read_sessions=1)
  # the RTT: median of 20 ping-pongs through a second proxy with the same
  # delay (to an echo server in this python), and the SSH banner's delay
  RTT=$("${TS[@]}" python3 -c '
import socket, subprocess, sys, threading, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def echo():
    c, _ = srv.accept()
    while (d := c.recv(65536)):
        c.sendall(d)
threading.Thread(target=echo, daemon=True).start()
p = subprocess.Popen([sys.argv[1], "--target", str(srv.getsockname()[1]), "--delay-ms", sys.argv[2]],
                     stdout=subprocess.PIPE, text=True)
try:
    port = int(p.stdout.readline().split("port=")[1])
    c = socket.create_connection(("127.0.0.1", port), 5); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for _ in range(20):
        t = time.monotonic(); c.sendall(b"ping"); c.recv(16); rtts.append((time.monotonic() - t) * 1000)
    t = time.monotonic(); s = socket.create_connection(("127.0.0.1", int(sys.argv[3])), 5); s.recv(64)
    print(f"{sorted(rtts)[10]:.1f} ms (median of 20 ping-pongs; the SSH banner came {(time.monotonic() - t) * 1000:.1f} ms after connect)")
finally:
    p.terminate()' "$DELAY_PROXY" "$DELAY_MS" "$PPORT" 2>/dev/null)
  echo "bench: ${DELAY_MS} ms each way through the delay proxy (RTT ${RTT:-?}), $RUNS run(s) each ..." >&2
  SFTP_P=(sftp -F none -i "$SFTP_KEY" -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -P "$PPORT" -o "UserKnownHostsFile=$KH_P")
  best pa_sftp   "${TO[@]}" "${SFTP_P[@]}" -b "$BENCH_DIR/get-null" "$SFTP_USER@127.0.0.1"
  best pb_ferry  "${TO[@]}" "$FERRY" copy "partnerp:$REL" /dev/null -q
  best pb1_ferry "${TO[@]}" "$FERRY" copy "partnerp1:$REL" /dev/null -q
  N_OBJ=0 BAD=
  AFTER=reap best pd_ferry "${TO[@]}" "$FERRY" copy "partnerp:$REL" "s3://$BUCKET/$KEY/pd.@RUN@.bin" -q
  kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=
  cat <<EOT
### SFTP with $((2 * DELAY_MS)) ms RTT, the same $MIB MiB file

\`tests/harness/delay_proxy --delay-ms $DELAY_MS\` between the clients and the harness's sshd holds every byte
$DELAY_MS ms in each direction (measured RTT: ${RTT:-?}). S3 (radosgw) stays on loopback.
Wall seconds: best of $RUNS runs (including connecting: several round trips); peak RSS: highest of them.

| run | what | wall s | MB/s | peak RSS MiB | ratio |
| --- | --- | ---: | ---: | ---: | --- |
| (a) | \`sftp -b\` (\`get FILE /dev/null\`) | $(W pa_sftp) | $(mbps "$(W pa_sftp)") | $(R pa_sftp) | 1.00 |
| (b) | \`ferry copy partner:FILE /dev/null\` (default: 4 sessions) | $(W pb_ferry) | $(mbps "$(W pb_ferry)") | $(R pb_ferry) | a/b = $(ratio "$(W pa_sftp)" "$(W pb_ferry)")× faster (target > 1) |
| (b1) | (b) with \`read_sessions=1\` | $(W pb1_ferry) | $(mbps "$(W pb1_ferry)") | $(R pb1_ferry) | a/b1 = $(ratio "$(W pa_sftp)" "$(W pb1_ferry)")× |
| (d) | \`ferry copy partner:FILE s3://…\` (default) | $(W pd_ferry) | $(mbps "$(W pd_ferry)") | $(R pd_ferry) | d/f = $(ratio "$(W pd_ferry)" "$(W f_ferry)") (f: the loopback table) |
EOT
  if [ -n "$BAD" ]; then echo "Note: objects with the wrong size:$BAD"; else echo "Note: each of the $N_OBJ objects uploaded had $BYTES bytes; each was deleted right after its run"; fi
  exit 0
fi
[ "$LATENCY" = netem ] || latency_skip "SFTP_BENCH_LATENCY must be proxy or netem (is '$LATENCY')."
for t in ip tc; do command -v "$t" >/dev/null || latency_skip "\`$t\` not found (iproute2)."; done
for n in $NS $NS_SRV; do
  ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$n" && latency_skip "network namespace $n already exists (another run? remove it with \`ip netns del $n\`)."
  "${TS[@]}" ip netns add "$n" 2>"$BENCH_DIR/netns.err" || latency_skip "cannot create a network namespace: $(cat "$BENCH_DIR/netns.err")"
  NS_MADE+=("$n")
done
SETUP_ERR=$(
  { "${TS[@]}" ip -n "$NS_SRV" link add "$VETH_SRV" type veth peer name "$VETH_CLI" netns "$NS" &&
    "${TS[@]}" ip -n "$NS_SRV" addr add "$ADDR_SRV/30" dev "$VETH_SRV" &&
    "${TS[@]}" ip -n "$NS" addr add "$ADDR_CLI/30" dev "$VETH_CLI" &&
    for n in $NS $NS_SRV; do "${TS[@]}" ip -n "$n" link set lo up || exit 1; done &&
    "${TS[@]}" ip -n "$NS_SRV" link set "$VETH_SRV" up && "${TS[@]}" ip -n "$NS" link set "$VETH_CLI" up; } 2>&1
) || latency_skip "cannot set up the veth pair: $SETUP_ERR"
if [ "$DELAY_MS" -gt 0 ]; then
  for p in "$NS_SRV $VETH_SRV" "$NS $VETH_CLI"; do
    set -- $p
    E=$("${TS[@]}" ip netns exec "$1" tc qdisc add dev "$2" root netem delay "${DELAY_MS}ms" 2>&1) ||
      latency_skip "cannot add the netem qdisc ($E): this kernel has no netem (CONFIG_NET_SCH_NETEM); SFTP_BENCH_DELAY_MS=0 runs the namespace legs without added delay."
  done
fi

# a private sshd from the harness's config, listening in $NS_SRV only
SRV_CFG=$BENCH_DIR/sshd_config
sed -e "s/^ListenAddress .*/ListenAddress $ADDR_SRV/" -e "s|^PidFile .*|PidFile $BENCH_DIR/sshd.pid|" \
    "$FERRY_SVC_DIR/sftp/sshd_config" > "$SRV_CFG"
"${TS[@]}" /usr/sbin/sshd -t -f "$SRV_CFG" 2>"$BENCH_DIR/sshd-t.err" || latency_skip "private sshd config rejected: $(cat "$BENCH_DIR/sshd-t.err")"
ip netns exec "$NS_SRV" timeout -k 5 $((4 * TMO)) /usr/sbin/sshd -D -f "$SRV_CFG" -E "$BENCH_DIR/sshd-ns.log" &
SSHD_PID=$!
KH_NS=$BENCH_DIR/known_hosts_ns
for k in $(sed -n 's/^HostKey //p' "$SRV_CFG"); do
  echo "[$ADDR_SRV]:$SFTP_PORT $(cut -d' ' -f1,2 "$k.pub")"
done > "$KH_NS"
export AIRFLOW_CONN_PARTNERNS AIRFLOW_CONN_PARTNERNS1
AIRFLOW_CONN_PARTNERNS=$(sftp_conn "$ADDR_SRV" "$KH_NS")
AIRFLOW_CONN_PARTNERNS1=$(sftp_conn "$ADDR_SRV" "$KH_NS" read_sessions=1)
up=
for _ in $(seq 50); do
  "${TS[@]}" ip netns exec "$NS" "$FERRY" conn test partnerns >"$BENCH_DIR/conn-ns" 2>&1 && { up=1; break; }
  kill -0 "$SSHD_PID" 2>/dev/null || break
  sleep 0.2
done
[ -n "$up" ] || latency_skip "the private sshd is not reachable from $NS: $(tail -3 "$BENCH_DIR/conn-ns" "$BENCH_DIR/sshd-ns.log" 2>/dev/null)"
# RTT as the best of 5 TCP connects (SYN -> SYN/ACK) from the client namespace
RTT=$("${TS[@]}" ip netns exec "$NS" python3 -c '
import socket, sys, time
best = 1e9
for _ in range(5):
    t = time.monotonic(); s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
    best = min(best, time.monotonic() - t); s.close()
print(f"{best * 1000:.1f}")' "$ADDR_SRV" "$SFTP_PORT" 2>/dev/null)

echo "bench: ${DELAY_MS} ms each way (TCP connect ${RTT:-?} ms), $RUNS run(s) each ..." >&2
SFTP_NS=(ip netns exec "$NS" sftp "${SFTP_OPTS[@]}" -o "UserKnownHostsFile=$KH_NS")
best la_sftp  "${TO[@]}" "${SFTP_NS[@]}" -b "$BENCH_DIR/get-null" "$SFTP_USER@$ADDR_SRV"
best lb_ferry "${TO[@]}" ip netns exec "$NS" "$FERRY" copy "partnerns:$REL" /dev/null -q
best lb1_ferry "${TO[@]}" ip netns exec "$NS" "$FERRY" copy "partnerns1:$REL" /dev/null -q

if [ "$DELAY_MS" -gt 0 ]; then QDISC="\`tc qdisc … netem delay ${DELAY_MS}ms\` on both ends"
else QDISC="no added delay (SFTP_BENCH_DELAY_MS=0: a plumbing check, not a latency measurement)"; fi
cat <<EOT
### SFTP with $((2 * DELAY_MS)) ms RTT, the same $MIB MiB file (SFTP legs only)

A private sshd (the harness's config, listening on $ADDR_SRV) in one network namespace, the clients in
another, joined by a veth pair with $QDISC (measured RTT:
${RTT:-?} ms, the best of 5 TCP connects). radosgw listens on 127.0.0.1 only, so the S3 legs are not repeated here.
Wall seconds: best of $RUNS runs; peak RSS: highest of them.

| run | what | wall s | MB/s | peak RSS MiB | ratio |
| --- | --- | ---: | ---: | ---: | --- |
| (a) | \`sftp -b\` (\`get FILE /dev/null\`) | $(W la_sftp) | $(mbps "$(W la_sftp)") | $(R la_sftp) | 1.00 |
| (b) | \`ferry copy partner:FILE /dev/null\` | $(W lb_ferry) | $(mbps "$(W lb_ferry)") | $(R lb_ferry) | b/a = $(ratio "$(W lb_ferry)" "$(W la_sftp)") |
| (b1) | (b) with \`read_sessions=1\` | $(W lb1_ferry) | $(mbps "$(W lb1_ferry)") | $(R lb1_ferry) | a/b1 = $(ratio "$(W la_sftp)" "$(W lb1_ferry)")× |
EOT

#!/usr/bin/env bash
# network_faults.sh - ferry against a network that fails: a network namespace
# of its own joined to the root namespace by a veth pair (10.231.X.0/30, never
# a host interface), with tests/harness/netns_proxy.py on the root end
# relaying to the harness's loopback servers (Postgres, radosgw, sshd).
# ferry runs inside the namespace (`ip netns exec`) while the test
#   * takes the link down for 2 s mid-transfer, then up again   -> must succeed
#     (TCP retransmits over the gap; S3 parts that fail are retried);
#   * resets every connection mid-stream (the proxy: RST both sides)
#     -> S3 retries the part / resumes the download and succeeds; SFTP
#     reconnects once and goes on at its offset (else a clean 8); Postgres
#     streams cannot resume: a clean exit 8 with nothing published;
#   * takes the link down for good mid-transfer (--timeout 4 --retries 2)
#     -> a clean failure within a bound (exit 10: no progress; 4 when not even
#     a connection could be made), no hang;
#   * drops 3% of the packets at random both ways (a tc cls_bpf filter:
#     this kernel has no netem and no gact/police)      -> must succeed.
# Each: the destination is complete or untouched, no temp file, no multipart
# upload left (after a link down for good the server cannot be told: the test
# checks ferry said so, then aborts the upload itself).  Links are rate
# limited (tbf, 64 Mbit/s) so a 24 MiB transfer lasts ~3 s.  Namespace, veth,
# proxy and background jobs are removed on every exit path (trap).
# Needs root, iproute2; the loss case needs clang (BPF target) and skips
# without it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
load_services_env
HARNESS=$(cd "$(dirname "$0")/../harness" && pwd)
cd "$WORK"

if [ "$(id -u)" != 0 ] || ! command -v ip > /dev/null || ! command -v tc > /dev/null; then
  skip_all "network_faults: needs root, ip and tc"
fi

N=$(( $$ % 250 + 1 ))
NS="ferry-nf-$$"
VH="nfh$$"; VN="nfn$$"
HOST_IP="10.231.$N.1"; NS_IP="10.231.$N.2"
B=$CEPH_S3_BUCKET
P="ferry-nf-$$-$RANDOM"
RD="ferry-nf-$$"
RHOME=$SFTP_HOME/$RD
PROXY_PID=
BG=()
SIZE=$((24 * 1024 * 1024))

link_up() { ip link set "$VH" up 2>/dev/null; }

cleanup() {
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  ip link del "$VH" 2>/dev/null
  s3_cleanup   # objects and multipart uploads under $P/
  rm -rf "$RHOME" "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the network
ip netns add "$NS"
ip link add "$VH" type veth peer name "$VN"
ip link set "$VN" netns "$NS"
ip addr add "$HOST_IP/30" dev "$VH"
ip link set "$VH" up
ip netns exec "$NS" ip addr add "$NS_IP/30" dev "$VN"
ip netns exec "$NS" ip link set "$VN" up
ip netns exec "$NS" ip link set lo up
tc qdisc add dev "$VH" root tbf rate 64mbit burst 256kb latency 100ms
ip netns exec "$NS" tc qdisc add dev "$VN" root tbf rate 64mbit burst 256kb latency 100ms

PG_P=15432; S3_P=17480; SSH_P=12222
python3 "$HARNESS/netns_proxy.py" --listen "$HOST_IP" --map "$PG_P:$PG_PORT" --map "$S3_P:${CEPH_S3_ENDPOINT##*:}" \
  --map "$SSH_P:$SFTP_PORT" --stats "$WORK/relayed" &
PROXY_PID=$!
for _ in $(seq 50); do ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$HOST_IP/$S3_P" 2>/dev/null && break; sleep 0.1; done

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri "http://$HOST_IP:$S3_P")"
export AIRFLOW_CONN_WAREHOUSE="postgresql://$PG_USER:$(urlenc "$PG_PASSWORD")@$HOST_IP:$PG_P/$PG_DATABASE"
export AIRFLOW_CONN_PARTNER="sftp://$SFTP_USER@$HOST_IP:$SSH_P?key_file=$(urlenc "$SFTP_KEY")&host_key=$(urlenc "$SFTP_HOSTKEY_SHA256")"

# ferry inside the namespace; output in $WORK/nsf.out, exit code in $code, seconds in $secs
nsf() {
  local t0; t0=$(date +%s%N)
  ip netns exec "$NS" timeout -k 5 120 "$FERRY" "$@" > "$WORK/nsf.out" 2>&1; code=$?
  secs=$(( ($(date +%s%N) - t0) / 1000000000 ))
}
relayed() { cat "$WORK/relayed" 2>/dev/null || echo 0; }
# after MIB more MiB went through the proxy, run FAULT... (in the background)
after_mib() {
  local mib=$1; shift
  local base; base=$(relayed)
  ( for _ in $(seq 600); do [ $(( $(relayed) - base )) -ge $(( mib * 1048576 )) ] && break; sleep 0.05; done; "$@" ) &
  BG+=($!)
}
flap() { ip link set "$VH" down; sleep 2; ip link set "$VH" up; }
down() { ip link set "$VH" down; }
reset_all() { kill -USR1 "$PROXY_PID"; }
want() {  # want NAME CODE...: $code is one of CODE...
  local name=$1; shift
  for c in "$@"; do [ "$code" = "$c" ] && { ok "$name (exit $code, ${secs}s)"; return; }; done
  fail "$name (exit $code after ${secs}s, want $*)" "$(grep -av ': debug: ' "$WORK/nsf.out" | tail -3 | cut -c1-300)"
}
no_temp_here() { ! ls -A . | grep -q ferry-tmp; }
s3_same() { awsx s3 cp "s3://$B/$P/$1" got.bin --only-show-errors && cmp -s src.bin got.bin; }
s3_absent() { ! awsx s3api head-object --bucket "$B" --key "$P/$1" > /dev/null 2>&1; }
wait_bg() { for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done; BG=(); link_up; }

head -c "$SIZE" /dev/urandom > src.bin
awsx s3 cp src.bin "s3://$B/$P/src.bin" --only-show-errors
install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"
PGQ="SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 120000) g"   # ~24 MB of CSV
PG_ROWS=120001

# ---------------------------------------------------------------- the path works
nsf copy src.bin "s3://$B/$P/plain.bin" -q
want "through the namespace: local -> S3" 0
nsf ls "partner:$RD/"
want "through the namespace: SFTP ls" 0
nsf exec warehouse: "SELECT 1"
want "through the namespace: Postgres" 0

# ---------------------------------------------------------------- link down 2 s, then up
after_mib 4 flap
nsf copy src.bin "s3://$B/$P/flap.bin" --part-size 5M -q
wait_bg
want "link down 2 s: local -> S3 upload completes" 0
check "   ... the object is complete" s3_same flap.bin
check "   ... no multipart upload left" test "$(uploads)" = 0
after_mib 4 flap
nsf copy "s3://$B/$P/src.bin" flap_dl.bin -q
wait_bg
want "link down 2 s: S3 -> local download completes" 0
check "   ... byte for byte" cmp src.bin flap_dl.bin
after_mib 4 flap
nsf copy warehouse: --query "$PGQ" flap_pg.csv -q
wait_bg
want "link down 2 s: Postgres -> local export completes" 0
check "   ... every row" test "$(wc -l < flap_pg.csv 2>/dev/null)" = "$PG_ROWS"
after_mib 4 flap
nsf copy src.bin "partner:$RD/flap.bin" -q
wait_bg
want "link down 2 s: local -> SFTP upload completes" 0
check "   ... byte for byte, no temp file" bash -c "cmp src.bin '$RHOME/flap.bin' && ! ls -A '$RHOME' | grep -q ferry-tmp"

# ---------------------------------------------------------------- every connection reset mid-stream
after_mib 6 reset_all
nsf --log-level debug copy src.bin "s3://$B/$P/reset.bin" --part-size 5M -q
wait_bg
want "reset mid-stream: local -> S3 upload (the parts are retried)" 0
check "   ... the object is complete" s3_same reset.bin
check "   ... no multipart upload left" test "$(uploads)" = 0
after_mib 6 reset_all
nsf copy "s3://$B/$P/src.bin" reset_dl.bin -q
wait_bg
want "reset mid-stream: S3 -> local download (resumed)" 0
check "   ... byte for byte" cmp src.bin reset_dl.bin
after_mib 4 reset_all
nsf copy warehouse: --query "$PGQ" reset_pg.csv -q
wait_bg
want "reset mid-stream: Postgres -> local (COPY cannot resume: exit 8)" 8
check "   ... no destination, no temp file" bash -c "[ ! -e reset_pg.csv ] && ! ls -A . | grep -q ferry-tmp"
after_mib 4 reset_all
nsf copy warehouse: --query "$PGQ" "s3://$B/$P/reset_pg.csv" -q
wait_bg
want "reset mid-stream: Postgres -> S3 (exit 8)" 8
check "   ... no object" s3_absent reset_pg.csv
check "   ... no multipart upload left" test "$(uploads)" = 0
after_mib 6 reset_all
nsf copy src.bin "partner:$RD/reset.bin" -q
wait_bg
# the sink replaces a lost connection once and goes on at the acknowledged
# offset of its temp file (hooks/sftp/sftp_sink.c): complete, else a clean 8
want "reset mid-stream: local -> SFTP upload (resumed: 0, else a clean 8)" 0 8
if [ "$code" = 0 ]; then check "   ... byte for byte, no temp file" bash -c "cmp src.bin '$RHOME/reset.bin' && ! ls -A '$RHOME' | grep -q ferry-tmp"
else check "   ... no file, no temp file on the server" bash -c "[ ! -e '$RHOME/reset.bin' ] && ! ls -A '$RHOME' | grep -q ferry-tmp"; fi
rm -f "$RHOME/reset.bin"
cp src.bin "$RHOME/src.bin"; chown "$SFTP_USER" "$RHOME/src.bin"
after_mib 6 reset_all
nsf copy "partner:$RD/src.bin" reset_sftp_dl.bin -q
wait_bg
want "reset mid-stream: SFTP -> local download (resumed: 0, else a clean 8)" 0 8
if [ "$code" = 0 ]; then check "   ... byte for byte" cmp src.bin reset_sftp_dl.bin
else check "   ... no destination, no temp file" bash -c "[ ! -e reset_sftp_dl.bin ] && ! ls -A . | grep -q ferry-tmp"; fi

# ---------------------------------------------------------------- link down for good
after_mib 6 down
nsf copy src.bin "s3://$B/$P/down.bin" --part-size 5M --timeout 4 --retries 2 -q
wait_bg
want "link down for good: local -> S3 upload fails cleanly" 10 4
check "   ... within 60 s" test "$secs" -lt 60
check "   ... no object" s3_absent down.bin
if [ "$(uploads)" = 0 ]; then ok "   ... no multipart upload left"
else
  if grep -aq "multipart upload .* may be left behind" "$WORK/nsf.out"; then
    ok "   ... the upload the unreachable server still holds is reported (the test aborts it)"
  else fail "   ... an upload is left and ferry did not say so" "$(tail -3 "$WORK/nsf.out")"; fi
  s3_abort_uploads
fi
after_mib 4 down
nsf copy warehouse: --query "$PGQ" down_pg.csv --timeout 4 --retries 2 -q
wait_bg
want "link down for good: Postgres -> local fails cleanly" 10 8 4
check "   ... within 60 s" test "$secs" -lt 60
check "   ... no destination, no temp file" bash -c "[ ! -e down_pg.csv ] && ! ls -A . | grep -q ferry-tmp"
after_mib 6 down
nsf copy src.bin "partner:$RD/down.bin" --timeout 4 --retries 2 -q
wait_bg
want "link down for good: local -> SFTP upload fails cleanly" 10 8 4
check "   ... within 60 s" test "$secs" -lt 60
check "   ... no destination on the server" test ! -e "$RHOME/down.bin"
if ls -A "$RHOME" | grep -q ferry-tmp; then
  if grep -aq "temp file .*ferry-tmp.* was left on the server" "$WORK/nsf.out"; then ok "   ... the temp file the unreachable server still holds is named in the message"
  else fail "   ... a temp file is left and ferry did not name it" "$(tail -3 "$WORK/nsf.out")"; fi
  rm -f "$RHOME"/.*ferry-tmp*
else ok "   ... no temp file on the server"; fi
down
nsf copy src.bin "s3://$B/$P/never.bin" --timeout 3 --retries 2 -q
link_up
want "link down before the copy: S3 cannot connect (4) or times out (10)" 4 10
check "   ... within 40 s" test "$secs" -lt 40
check "   ... says after 2 attempts" grep -aq "after 2 attempts" "$WORK/nsf.out"

# ---------------------------------------------------------------- random loss (3% both ways)
cat > drop.c <<'EOF'
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
static __u32 (*bpf_get_prandom_u32)(void) = (void *)BPF_FUNC_get_prandom_u32;
__attribute__((section("classifier"), used)) int drop(struct __sk_buff *skb)
{
    return bpf_get_prandom_u32() % 100 < 3 ? TC_ACT_SHOT : TC_ACT_OK;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
if command -v clang > /dev/null && clang -O2 -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c drop.c -o drop.o 2> "$WORK/nsf.out" &&
   tc qdisc add dev "$VH" clsact && tc filter add dev "$VH" egress bpf da obj drop.o sec classifier &&
   ip netns exec "$NS" tc qdisc add dev "$VN" clsact && ip netns exec "$NS" tc filter add dev "$VN" egress bpf da obj drop.o sec classifier; then
  nsf copy src.bin "s3://$B/$P/lossy.bin" --part-size 5M -q
  want "3% packet loss: local -> S3 upload" 0
  check "   ... the object is complete" s3_same lossy.bin
  nsf copy "s3://$B/$P/src.bin" lossy_dl.bin -q
  want "3% packet loss: S3 -> local download" 0
  check "   ... byte for byte" cmp src.bin lossy_dl.bin
  nsf copy warehouse: --query "$PGQ" lossy_pg.csv -q
  want "3% packet loss: Postgres -> local" 0
  check "   ... every row" test "$(wc -l < lossy_pg.csv 2>/dev/null)" = "$PG_ROWS"
  nsf copy src.bin "partner:$RD/lossy.bin" -q
  want "3% packet loss: local -> SFTP" 0
  check "   ... byte for byte" cmp src.bin "$RHOME/lossy.bin"
  check "   ... no multipart upload left" test "$(uploads)" = 0
else
  skip "random loss: cannot load a tc bpf filter ($(tail -1 "$WORK/nsf.out"))"
fi

finish

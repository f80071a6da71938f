#!/usr/bin/env bash
# rgw_restart.sh - an S3 server that stops and comes back in the middle of a
# 256 MiB multipart upload, without touching the shared radosgw: the test
# starts a second radosgw daemon of its own (client.rgw.ferrytest<pid>, its
# own port, pid, log and admin socket) against the same running Ceph cluster
# (tests/harness/ceph_rgw.sh's ceph.conf), uploads through it, and
#   1. SIGSTOPs it for 3 s mid-upload, then SIGCONTs it -> the upload completes;
#   2. SIGKILLs it mid-upload and starts it again on the same port -> the parts
#      that failed are retried (--retries 10) and the upload completes, or, if
#      the restart took longer than the retry window, ferry fails cleanly
#      (exit 4/8, no object, the upload aborted through the restarted daemon);
#   3. SIGKILLs it for good mid-upload -> a clean failure (exit 4: no server
#      to connect to, "gave up after N attempts") within a bound, no object;
#      the multipart upload it could not abort is reported, and the test
#      aborts it through the shared radosgw.
# The object is checked through the shared radosgw (sha256).  The daemon is
# stopped on every exit path (trap).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
load_services_env
cd "$WORK"

if [ -z "${CEPH_CONF:-}" ] || [ ! -s "$CEPH_CONF" ] || ! command -v radosgw > /dev/null; then
  skip_all "rgw_restart: no Ceph cluster from tests/harness/ceph_rgw.sh"
fi
B=$CEPH_S3_BUCKET
P="ferry-rgw-$$-$RANDOM"
NAME="client.rgw.ferrytest$$"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RGW_PID=
FERRY_PID=

s3_absent() { ! awsx s3api head-object --bucket "$B" --key "$P/$1" > /dev/null 2>&1; }
s3_sha() { awsx s3 cp "s3://$B/$P/$1" - 2>/dev/null | sha256sum | cut -d' ' -f1; }

rgw_start() {
  mkdir -p "$WORK/rgw"
  radosgw -f -c "$CEPH_CONF" -n "$NAME" --ms_mon_client_mode=crc \
    --rgw_frontends="beast endpoint=127.0.0.1:$PORT" --rgw_dns_name=127.0.0.1 --rgw_thread_pool_size=16 \
    --rgw_enable_usage_log=false --rgw_keystone_url= --pid_file="$WORK/rgw/pid" --log_file="$WORK/rgw/log" \
    --admin_socket="$WORK/rgw/asok" --rgw_data="$WORK/rgw/data" < /dev/null >> "$WORK/rgw/out" 2>&1 &
  RGW_PID=$!
  for _ in $(seq 240); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0
    kill -0 "$RGW_PID" 2>/dev/null || break
    sleep 0.25
  done
  return 1
}
rgw_kill() { [ -n "$RGW_PID" ] && { kill -CONT "$RGW_PID" 2>/dev/null; kill -KILL "$RGW_PID" 2>/dev/null; wait "$RGW_PID" 2>/dev/null; }; RGW_PID=; }

cleanup() {
  [ -n "$FERRY_PID" ] && kill "$FERRY_PID" 2>/dev/null
  if [ -n "$RGW_PID" ]; then kill -CONT "$RGW_PID" 2>/dev/null; kill -TERM "$RGW_PID" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$RGW_PID" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$RGW_PID" 2>/dev/null; fi
  s3_cleanup   # objects and multipart uploads under $P/
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_RGW2="$(s3_conn_uri "http://127.0.0.1:$PORT")"

if rgw_start; then ok "a second radosgw ($NAME) answers on 127.0.0.1:$PORT (pid $RGW_PID)"
else fail "a second radosgw did not start" "$(tail -5 "$WORK/rgw/out" "$WORK/rgw/log" 2>/dev/null)"; finish; fi

head -c $((256 * 1024 * 1024)) /dev/urandom > big.bin
WANT=$(sha256sum big.bin | cut -d' ' -f1)

# upload KEY EXTRA...: ferry in the background (debug log in up.log), $FERRY_PID
upload() {
  local key=$1; shift
  timeout -k 5 300 "$FERRY" --log-level debug copy big.bin "s3://$B/$P/$key" --s3-conn rgw2 --part-size 8M "$@" > up.log 2>&1 &
  FERRY_PID=$!
}
# wait until N parts are stored (or ferry ended)
parts_stored() {
  for _ in $(seq 600); do
    [ "$(grep -ac ') stored' up.log)" -ge "$1" ] && return 0
    kill -0 "$FERRY_PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
ferry_wait() { wait "$FERRY_PID"; code=$?; FERRY_PID=; }

# ---------------------------------------------------------------- 1: SIGSTOP 3 s
upload stop.bin
parts_stored 6
kill -STOP "$RGW_PID"; sleep 3; kill -CONT "$RGW_PID"
t0=$SECONDS; ferry_wait
[ "$code" = 0 ] && ok "SIGSTOP 3 s mid-upload: the upload completes" || fail "SIGSTOP 3 s mid-upload (exit $code, want 0)" "$(grep -v ': debug: ' up.log | tail -3)"
check "   ... the object is complete (sha256 through the shared radosgw)" test "$(s3_sha stop.bin)" = "$WANT"
check "   ... no multipart upload left" test "$(uploads)" = 0

# ---------------------------------------------------------------- 2: SIGKILL, restart
upload restart.bin --retries 10
parts_stored 6
rgw_kill
t_kill=$SECONDS
if rgw_start; then ok "   radosgw restarted in $((SECONDS - t_kill)) s"; else fail "radosgw did not restart" "$(tail -3 "$WORK/rgw/out")"; fi
ferry_wait
grep -aq "retry\|retrying" up.log && ok "SIGKILL + restart mid-upload: ferry retried the failed requests" ||
  fail "SIGKILL + restart mid-upload: no retry in the log" "$(grep -v ': debug: ' up.log | tail -3)"
if [ "$code" = 0 ]; then
  ok "SIGKILL + restart mid-upload: the upload completes"
  check "   ... the object is complete (sha256)" test "$(s3_sha restart.bin)" = "$WANT"
elif [ "$code" = 4 ] || [ "$code" = 8 ]; then
  ok "SIGKILL + restart mid-upload: the restart outlasted the retries: clean exit $code"
  check "   ... no object" s3_absent restart.bin
else
  fail "SIGKILL + restart mid-upload (exit $code, want 0, or 4/8)" "$(grep -v ': debug: ' up.log | tail -3)"
fi
check "   ... no multipart upload left" test "$(uploads)" = 0

# ---------------------------------------------------------------- 3: SIGKILL for good
upload gone.bin --retries 3
parts_stored 6
rgw_kill
t0=$SECONDS; ferry_wait; took=$((SECONDS - t0))
[ "$code" = 4 ] && ok "SIGKILL for good mid-upload: exit 4 after ${took} s" || fail "SIGKILL for good (exit $code, want 4)" "$(grep -v ': debug: ' up.log | tail -3)"
check "   ... within 60 s" test "$took" -lt 60
check "   ... says gave up after 3 attempts" grep -aq "gave up after 3 attempts" up.log
check "   ... no object" s3_absent gone.bin
if [ "$(uploads)" = 0 ]; then ok "   ... no multipart upload left"
elif grep -aq "may be left behind" up.log; then
  ok "   ... the upload the dead server could not abort is reported (aborted by the test)"
  s3_abort_uploads
else fail "   ... a multipart upload is left and ferry did not say so"; fi
check "   ... none left now" test "$(uploads)" = 0

finish

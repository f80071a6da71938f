#!/usr/bin/env bash
# s3_engine.sh - the S3 upload engine against a real Ceph radosgw: uploads
# go on while the source blocks (uploader thread), per-part checksums
# (--checksum crc32c|md5|none), the final size check, payload signing
# (UNSIGNED-PAYLOAD by default over https through the harness's nginx in
# front of radosgw, signed over http, --signed-payload), TLS with a wrong CA
# refused, and --resume after a SIGTERM.  Everything uploaded lives under a
# unique prefix and is deleted at the end.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
cd "$WORK"

for _ in $(seq 1 300); do [ -s "$FERRY_SVC_ENV" ] && break; sleep 1; done
load_services_env
: "${CEPH_S3_ENDPOINT:?}" "${CEPH_S3_ACCESS_KEY:?}" "${CEPH_S3_SECRET_KEY:?}"
B=${CEPH_S3_BUCKET:-etl-bucket}
REGION=${CEPH_S3_REGION:-us-east-1}
P="ferry-eng-$$-$RANDOM"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
      AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_CA_BUNDLE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/no-credentials AWS_CONFIG_FILE=$WORK/no-config
SECRET_ENC=$(urlenc "$CEPH_S3_SECRET_KEY")
export AIRFLOW_CONN_AWS_DEFAULT="aws://$CEPH_S3_ACCESS_KEY:$SECRET_ENC@?region_name=$REGION&endpoint_url=$(urlenc "$CEPH_S3_ENDPOINT")"
AWSX_TIMEOUT=120 AWS_CLI=/usr/bin/aws   # for awsx (tests/s3_lib.sh)
fr() { timeout 180 "$FERRY" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
obj_sha() { awsx s3 cp "s3://$B/$1" - --only-show-errors | sha256sum | cut -d' ' -f1; }
cleanup() {
  s3_cleanup   # objects and multipart uploads under $P/
  rm -rf "$WORK"
}
trap cleanup EXIT

head -c 20971520 /dev/urandom > r20.bin

# --- 1. the uploader works while the source blocks: the writer sends 9 MiB
# (part 1 is handed off once its 9th MiB shows it is not the last), sleeps,
# and looks at ferry's debug log before sending the rest.
cat > slow_writer.py <<'PY'
import sys, time, os
log, verdict = sys.argv[1], sys.argv[2]
out = sys.stdout.buffer
blob = os.urandom(1 << 20)
for _ in range(9):
    out.write(blob)
out.flush()
seen = False
for _ in range(60):                 # up to 6 s for part 1 to be stored
    time.sleep(0.1)
    with open(log, errors="replace") as f:
        if "part 1 (8388608 bytes) stored" in f.read():
            seen = True
            break
open(verdict, "w").write("stored-while-blocked\n" if seen else "not-stored\n")
out.write(blob)
out.flush()
PY
: > slow.log
python3 slow_writer.py slow.log slow.verdict | fr --log-level debug copy - "s3://$B/$P/slow.bin" 2>slow.log
code=$?
[ "$code" = 0 ] && ok "throttled pipe -> s3" || fail "throttled pipe -> s3 (exit $code)" "$(tail -3 slow.log)"
[ "$(cat slow.verdict 2>/dev/null)" = stored-while-blocked ] && ok "part 1 was stored while the source was blocked" \
  || fail "part 1 was stored while the source was blocked" "$(cat slow.verdict 2>/dev/null)" "$(grep -E 'part|started' slow.log | head -5)"
sz=$(awsx s3api head-object --bucket "$B" --key "$P/slow.bin" --query ContentLength --output text)
[ "$sz" = 10485760 ] && ok "throttled object has 10 MiB" || fail "throttled object size $sz"

# --- 2. per-part checksums and the final size check
for ck in crc32c md5 none; do
  fr --log-level debug copy --checksum "$ck" --part-size 5M "r20.bin" "s3://$B/$P/ck-$ck.bin" 2>ck-$ck.log; code=$?
  [ "$code" = 0 ] && grep -q "checksum $ck" ck-$ck.log && ok "--checksum $ck upload" || fail "--checksum $ck upload (exit $code)" "$(tail -3 ck-$ck.log)"
  [ "$(obj_sha "$P/ck-$ck.bin")" = "$(sha r20.bin)" ] && ok "--checksum $ck object is byte exact" || fail "--checksum $ck object is byte exact"
  grep -q "completed from 4 parts, 20971520 bytes" ck-$ck.log && ok "--checksum $ck: size checked after Complete" || fail "--checksum $ck: size check line" "$(tail -3 ck-$ck.log)"
done
grep -q "x-amz-checksum-crc32c\|checksum crc32c" ck-crc32c.log && ok "crc32c mode announced in the debug log" || fail "crc32c mode announced"
fr --log-level debug copy r20.bin "s3://$B/$P/ck-auto.bin" 2>ck-auto.log
grep -q "payload signed (SHA-256), checksum none" ck-auto.log && ok "auto checksum is none on radosgw over http (the signed SHA-256 covers each part)" ||
  fail "auto checksum on radosgw over http" "$(grep checksum ck-auto.log)"
printf 'tiny\n' > tiny.txt
fr --log-level debug copy --checksum crc32c tiny.txt "s3://$B/$P/tiny.txt" 2>tiny.log; code=$?
[ "$code" = 0 ] && [ "$(awsx s3 cp "s3://$B/$P/tiny.txt" - --only-show-errors)" = tiny ] && ok "single PutObject with crc32c" || fail "single PutObject with crc32c ($code)" "$(tail -3 tiny.log)"

# --- 3. payload signing
grep -q "payload signed (SHA-256)" ck-auto.log && ok "http endpoint: parts are signed by default" || fail "http endpoint: parts signed by default" "$(grep payload ck-auto.log)"
fr --log-level debug copy --unsigned-payload --replace r20.bin "s3://$B/$P/ck-auto.bin" 2>unsigned.log; code=$?
[ "$code" = 0 ] && grep -q "payload UNSIGNED-PAYLOAD" unsigned.log && ok "--unsigned-payload over http" || fail "--unsigned-payload over http ($code)" "$(tail -3 unsigned.log)"
grep -q "payload UNSIGNED-PAYLOAD, checksum md5" unsigned.log && ok "auto checksum is md5 when the payload is unsigned" ||
  fail "auto checksum with an unsigned payload" "$(grep checksum unsigned.log)"
if [ -n "${CEPH_S3_HTTPS_ENDPOINT:-}" ]; then
  export AIRFLOW_CONN_S3TLS="aws://$CEPH_S3_ACCESS_KEY:$SECRET_ENC@?region_name=$REGION&endpoint_url=$(urlenc "$CEPH_S3_HTTPS_ENDPOINT")&ca_bundle=$(urlenc "$TLS_CA_FILE")"
  fr --log-level debug copy --s3-conn s3tls r20.bin "s3://$B/$P/tls.bin" 2>tls.log; code=$?
  [ "$code" = 0 ] && ok "copy over https with the harness CA" || fail "copy over https with the harness CA ($code)" "$(tail -3 tls.log)"
  grep -q "payload UNSIGNED-PAYLOAD, checksum md5" tls.log && ok "https: parts go with UNSIGNED-PAYLOAD and Content-MD5 by default" || fail "https: UNSIGNED-PAYLOAD + md5 by default" "$(grep payload tls.log)"
  [ "$(obj_sha "$P/tls.bin")" = "$(sha r20.bin)" ] && ok "https upload is byte exact" || fail "https upload is byte exact"
  fr --log-level debug copy --s3-conn s3tls --signed-payload r20.bin "s3://$B/$P/tls-signed.bin" 2>tls2.log; code=$?
  [ "$code" = 0 ] && grep -q "payload signed (SHA-256)" tls2.log && ok "https with --signed-payload signs the parts" || fail "https --signed-payload ($code)" "$(tail -3 tls2.log)"
  check "https download is byte exact" bash -c "'$FERRY' copy --s3-conn s3tls 's3://$B/$P/tls.bin' - -q | cmp - r20.bin"
  export AIRFLOW_CONN_S3BADCA="aws://$CEPH_S3_ACCESS_KEY:$SECRET_ENC@?region_name=$REGION&endpoint_url=$(urlenc "$CEPH_S3_HTTPS_ENDPOINT")&ca_bundle=/etc/ssl/certs/ca-certificates.crt"
  fr copy --s3-conn s3badca tiny.txt "s3://$B/$P/badca.txt" 2>badca.log; code=$?
  [ "$code" = 4 ] && grep -qi "certificate" badca.log && ok "https with a wrong CA is refused (exit 4)" || fail "https with a wrong CA (exit $code)" "$(cat badca.log)"
else
  fail "CEPH_S3_HTTPS_ENDPOINT is not in the harness env (tests/harness/services.sh up starts it)"
fi

# --- 5. an interrupted CreateMultipartUpload: the proxy forwards the Create
# to radosgw (which creates the upload) but holds its answer back; SIGTERM
# then; ferry must find that upload and abort it.
cat > hold_proxy.py <<'PY'
import re, socket, sys, threading, time
up_host, up_port, mark = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def pump(src, dst, conn, upstream):
    try:
        while True:
            d = src.recv(65536)
            if not d: break
            if upstream and re.match(rb"POST \S*\?uploads", d):
                conn["hold"] = True
                open(mark, "w").write("create seen\n")
            if not upstream and conn["hold"]:
                continue            # swallow the Create's answer
            dst.sendall(d)
    except OSError: pass
    for s in (src, dst):
        try: s.close()
        except OSError: pass
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(16)
print(srv.getsockname()[1], flush=True)
while True:
    cl, _ = srv.accept()
    up = socket.create_connection((up_host, up_port))
    conn = {"hold": False}
    threading.Thread(target=pump, args=(cl, up, conn, True), daemon=True).start()
    threading.Thread(target=pump, args=(up, cl, conn, False), daemon=True).start()
PY
RGW_HOST=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname)' "$CEPH_S3_ENDPOINT")
RGW_PORT=$(python3 -c 'import sys,urllib.parse; u=urllib.parse.urlsplit(sys.argv[1]); print(u.port or 80)' "$CEPH_S3_ENDPOINT")
python3 hold_proxy.py "$RGW_HOST" "$RGW_PORT" "$WORK/create.seen" > hold.port 2> hold.err &
HOLD_PID=$!
port=""; for _ in $(seq 1 100); do port=$(head -1 hold.port 2>/dev/null); [ -n "$port" ] && break; sleep 0.1; done
export AIRFLOW_CONN_VIA_HOLD="aws://$CEPH_S3_ACCESS_KEY:$SECRET_ENC@?region_name=$REGION&endpoint_url=$(urlenc "http://127.0.0.1:$port")"
timeout 120 "$FERRY" --log-level info copy r20.bin "s3://$B/$P/orphan.bin" --s3-conn via_hold 2>orphan.log &
FPID=$!
for _ in $(seq 1 100); do [ -s create.seen ] && break; sleep 0.1; done
sleep 1    # radosgw has created the upload by now
n_before=$(uploads_under "$P/orphan.bin")
kill -TERM "$FPID"; wait "$FPID"; code=$?
kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null
[ -s create.seen ] && [ "$n_before" = 1 ] && ok "the held-back Create did create an upload" || fail "the held-back Create did create an upload ($n_before)" "$(cat hold.err)"
[ "$code" = 130 ] && ok "SIGTERM during CreateMultipartUpload exits 130" || fail "SIGTERM during Create (exit $code)" "$(tail -3 orphan.log)"
grep -q "left by an interrupted CreateMultipartUpload" orphan.log && ok "the orphan upload was found and aborted" || fail "orphan upload aborted" "$(cat orphan.log)"
check "no upload left by the interrupted Create" test "$(uploads_under "$P/orphan.bin")" = 0

# --- 6. --resume: SIGTERM in the middle of a 64 MiB upload (fed slowly
# through a pipe), then the same copy from the file continues the upload
head -c 67108864 /dev/urandom > r64.bin
cat > throttle.py <<'PY'
import sys, time
f = open(sys.argv[1], "rb"); out = sys.stdout.buffer
while True:
    b = f.read(4 << 20)
    if not b: break
    out.write(b); out.flush(); time.sleep(0.25)
PY
python3 throttle.py r64.bin 2>/dev/null | timeout 120 "$FERRY" --log-level debug copy --resume "$WORK/state.json" --part-size 5M - "s3://$B/$P/resumed.bin" 2>resume1.log &
FPID=$!
for _ in $(seq 1 100); do [ "$(grep -c 'stored, ETag' resume1.log)" -ge 3 ] && break; sleep 0.1; done
kill -TERM "$FPID"; wait "$FPID"; code=$?
sent1=$(grep -c 'stored, ETag' resume1.log)
[ "$code" = 130 ] && ok "SIGTERM with --resume exits 130 after $sent1 parts" || fail "SIGTERM with --resume (exit $code)" "$(tail -3 resume1.log)"
grep -q "kept for --resume.*state.json" resume1.log && ok "stderr says the upload is kept and where the state is" || fail "kept-for-resume message" "$(tail -3 resume1.log)"
[ "$(stat -c %a state.json 2>/dev/null)" = 600 ] && ok "state file exists, mode 0600" || fail "state file 0600 ($(stat -c %a state.json 2>&1))"
check "state file is JSON with the upload id and parts" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["upload_id"] and len(d["parts"]) >= 1 and d["source_bytes"] > 0' state.json
[ "$(uploads_under "$P/resumed.bin")" = 1 ] && ok "the interrupted upload was not aborted" || fail "the interrupted upload was not aborted"
fr --log-level debug copy --resume "$WORK/state.json" --part-size 5M r64.bin "s3://$B/$P/resumed.bin" 2>resume2.log; code=$?
sent2=$(grep -c 'stored, ETag' resume2.log); skipped=$(grep -c 'already stored, not sent again' resume2.log)
[ "$code" = 0 ] && ok "resumed copy succeeds" || fail "resumed copy (exit $code)" "$(tail -3 resume2.log)"
[ "$skipped" -ge 1 ] && [ $((sent2 + skipped)) = 13 ] && [ "$sent2" -lt 13 ] && ok "resume sent $sent2 of 13 parts ($skipped were stored already)" \
  || fail "resume sent $sent2 parts, skipped $skipped" "$(grep -E 'stored|resum' resume2.log | head -5)"
[ "$(obj_sha "$P/resumed.bin")" = "$(sha r64.bin)" ] && ok "resumed object sha256 equals the source" || fail "resumed object sha256"
check "state file removed after success" test ! -e state.json
check "no upload left after the resumed copy" test "$(uploads_under "$P/resumed.bin")" = 0
# the source changed between the runs: exit 7, upload aborted, state removed
python3 throttle.py r64.bin 2>/dev/null | timeout 120 "$FERRY" --log-level debug copy --resume "$WORK/state2.json" --part-size 5M - "s3://$B/$P/changed.bin" 2>changed1.log &
FPID=$!
for _ in $(seq 1 100); do [ "$(grep -c 'stored, ETag' changed1.log)" -ge 2 ] && break; sleep 0.1; done
kill -TERM "$FPID"; wait "$FPID"
printf 'X' | dd of=r64.bin bs=1 seek=100 conv=notrunc status=none
fr copy --resume "$WORK/state2.json" --part-size 5M r64.bin "s3://$B/$P/changed.bin" 2>changed2.log; code=$?
[ "$code" = 7 ] && grep -q "the source changed" changed2.log && ok "changed source on resume: exit 7 with a clear message" || fail "changed source on resume (exit $code)" "$(cat changed2.log)"
check "changed source: state file removed" test ! -e state2.json
check "changed source: upload aborted" test "$(uploads_under "$P/changed.bin")" = 0
fr copy --resume "$WORK/state3.json" tiny.txt "s3://$B/$P/resume-small.txt" -q; code=$?
[ "$code" = 0 ] && [ ! -e state3.json ] && ok "--resume with a one-part object: no state left" || fail "--resume one-part object (exit $code)"

check "no multipart upload left under the test prefix" test "$(uploads_under "$P/")" = 0
finish

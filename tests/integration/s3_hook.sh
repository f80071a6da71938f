#!/usr/bin/env bash
# s3_hook.sh - the S3 hook against a real Ceph radosgw (SigV4 and payload
# hashes verified by the server), with Debian's awscli as the independent
# reference client: single PUT and multipart uploads, downloads to a file and
# to stdout, awkward keys, replace semantics, auth / not-found exit codes,
# SIGTERM in the middle of an upload, `ferry conn test`, the AWS env / profile
# chain, and - through a small fault-injecting proxy in front of radosgw -
# part retries on 503 SlowDown, GET resume after a dropped connection, a
# changed object detected on resume, and a stalled server timing out.
# Everything uploaded lives under a unique prefix and is deleted at the end.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
cd "$WORK"

# --- servers: wait for the harness's env file (services may still be starting)
for _ in $(seq 1 300); do [ -s "$FERRY_SVC_ENV" ] && break; sleep 1; done
if [ ! -s "$FERRY_SVC_ENV" ] && [ -s "${FERRY_SVC_DIR:-/tmp/ferry-svc}/ceph/env" ]; then
  FERRY_SVC_ENV=${FERRY_SVC_DIR:-/tmp/ferry-svc}/ceph/env
fi
load_services_env
: "${CEPH_S3_ENDPOINT:?}" "${CEPH_S3_ACCESS_KEY:?}" "${CEPH_S3_SECRET_KEY:?}"
B=${CEPH_S3_BUCKET:-etl-bucket}
REGION=${CEPH_S3_REGION:-us-east-1}
P="ferry-it-$$-$RANDOM"          # every key of this run starts with this
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
      AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/no-credentials AWS_CONFIG_FILE=$WORK/no-config
SECRET_ENC=$(urlenc "$CEPH_S3_SECRET_KEY")
EP_ENC=$(urlenc "$CEPH_S3_ENDPOINT")
export AIRFLOW_CONN_AWS_DEFAULT="aws://$CEPH_S3_ACCESS_KEY:$SECRET_ENC@?region_name=$REGION&endpoint_url=$EP_ENC"
WRONG_SECRET="Wr0ngSecretKey/ForFerryTest+xyz"
export AIRFLOW_CONN_AWS_WRONG="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$WRONG_SECRET")@?region_name=$REGION&endpoint_url=$EP_ENC"

# the reference client, with its own credentials (never in ferry's environment)
export AWSX_TIMEOUT=120 AWS_CLI=/usr/bin/aws   # for awsx (tests/s3_lib.sh), also in bash -c
fr() { timeout 180 "$FERRY" "$@"; }
etag_of() { awsx s3api head-object --bucket "$B" --key "$1" --query ETag --output text 2>/dev/null; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

PROXY_PIDS=()
cleanup() {
  local p
  for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  s3_cleanup   # objects and multipart uploads under $P/
  awsx s3 rm "s3://$B//$P/" --recursive >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

check "radosgw answers the reference client" awsx s3api head-bucket --bucket "$B"
if "$FERRY" ls "s3://$B/$P/" 2>&1 | grep -qE "without S3 support|no ferry hook serves"; then
  fail "this ferry has no S3 hook registered (core/registry.c must list ferry_hook_s3)"
  finish
fi

# --- conn test
fr conn test aws_default >ct.out 2>&1; code=$?
[ "$code" = 0 ] && grep -q "s3 endpoint $CEPH_S3_ENDPOINT region $REGION as " ct.out &&
  ok "conn test aws_default: $(head -1 ct.out)" || fail "conn test aws_default (exit $code)" "$(cat ct.out)"
fr conn test aws_wrong >ct2.out 2>&1; code=$?
[ "$code" = 4 ] && ok "conn test with a wrong secret exits 4" || fail "conn test with a wrong secret exits 4 (got $code)" "$(cat ct2.out)"
check "conn test output never shows a secret" bash -c "! grep -qF -e '$WRONG_SECRET' -e '$CEPH_S3_SECRET_KEY' ct.out ct2.out"

# --- small object: one PutObject
printf 'id,name\n1,alpha\n2,beta\n' > small.csv
check "local -> s3 (small, single PUT)" fr copy small.csv "s3://$B/$P/small.csv" -q
check "aws reads back the same bytes" bash -c "$(declare -f awsx); awsx s3 cp 's3://$B/$P/small.csv' small.back --only-show-errors && cmp small.csv small.back"
e=$(etag_of "$P/small.csv")
[ "$e" = "\"$(md5sum small.csv | cut -d' ' -f1)\"" ] && ok "small object went as one PutObject (ETag = MD5)" || fail "small object ETag $e"
: > empty.bin
check "empty file -> s3" fr copy empty.bin "s3://$B/$P/empty.bin" -q
check "s3 empty object -> local is empty" bash -c "'$FERRY' copy 's3://$B/$P/empty.bin' empty.back -q && [ -f empty.back ] && [ ! -s empty.back ]"
head -c 8388608 /dev/urandom > onepart.bin
check "exactly one part (8 MiB) -> s3" fr copy onepart.bin "s3://$B/$P/onepart.bin" -q
e=$(etag_of "$P/onepart.bin")
[ "$e" = "\"$(md5sum onepart.bin | cut -d' ' -f1)\"" ] && ok "exactly one part stays a single PutObject" || fail "one-part ETag $e"

# --- 30 MiB: multipart with the default 8 MiB parts, and with 5 MiB parts
head -c 31457280 /dev/urandom > big.bin
check "local -> s3 (30 MiB, multipart)" fr copy big.bin "s3://$B/$P/big.bin" -q
e=$(etag_of "$P/big.bin")
[[ "$e" == *-4\" ]] && ok "30 MiB with 8 MiB parts = 4 parts ($e)" || fail "30 MiB multipart ETag $e"
check "aws download of the multipart object is byte exact" bash -c "$(declare -f awsx); awsx s3 cp 's3://$B/$P/big.bin' big.aws --only-show-errors && cmp big.bin big.aws"
check "--part-size 5M --concurrency 2" fr copy big.bin "s3://$B/$P/big5.bin" --part-size 5M --concurrency 2 -q
e=$(etag_of "$P/big5.bin")
[[ "$e" == *-6\" ]] && ok "30 MiB with 5 MiB parts = 6 parts ($e)" || fail "5 MiB parts ETag $e"
cat big.bin | fr copy - "s3://$B/$P/piped.bin" -q
check "stdin (unknown length) -> s3 is byte exact" bash -c "$(declare -f awsx); awsx s3 cp 's3://$B/$P/piped.bin' - | cmp - big.bin"
check "no multipart upload left after the uploads" test "$(uploads_under "$P/")" = 0

# --- downloads
check "s3 -> local" fr copy "s3://$B/$P/big.bin" big.back -q
[ "$(sha big.back)" = "$(sha big.bin)" ] && ok "s3 -> local sha256 matches" || fail "s3 -> local sha256 matches"
fr copy "s3://$B/$P/big.bin" - -q > big.stdout
[ "$(sha big.stdout)" = "$(sha big.bin)" ] && ok "s3 -> stdout sha256 matches" || fail "s3 -> stdout sha256 matches"
check "s3 -> s3 (streamed through ferry)" fr copy "s3://$B/$P/big.bin" "s3://$B/$P/big-copy.bin" -q
check "s3 -> s3 copy is byte exact" bash -c "$(declare -f awsx); awsx s3 cp 's3://$B/$P/big-copy.bin' - | cmp - big.bin"
head -c 3000000 /dev/urandom | base64 > text.csv
check "gzip on the way up (.gz key)" fr copy text.csv "s3://$B/$P/text.csv.gz" -q
check "aws sees a gzip of the input" bash -c "$(declare -f awsx); awsx s3 cp 's3://$B/$P/text.csv.gz' - | gzip -dc | cmp - text.csv"
check "gunzip on the way down" bash -c "'$FERRY' copy 's3://$B/$P/text.csv.gz' - -q | cmp - text.csv"

# --- awkward keys: round trip byte exact and listed by aws exactly
KEYS=("$P/keys/with space.csv" "$P/keys/ünïcødé €.csv" "$P/keys/a+b=c&d.csv" "$P/keys/100%.csv"
      "$P/keys/%41%2F.csv" "$P/keys/../dots/x.csv" "$P/keys//double.csv"
      "$P/keys/~t;s,c'q\"(x)=1.csv" "$P/keys/tab	here")
i=0; rt_fail=()
for k in "${KEYS[@]}" "/$P/lead/leading.csv"; do
  i=$((i + 1)); printf 'row %d of %s\n' "$i" "$k" > key.in
  if ! fr copy key.in "s3://$B/$k" -q 2>key.err || ! fr copy "s3://$B/$k" - -q 2>>key.err | cmp -s - key.in; then
    rt_fail+=("$k: $(tail -1 key.err)")
  fi
done
[ ${#rt_fail[@]} = 0 ] && ok "10 awkward keys (space, unicode, + % & .. // ' \" tab, leading /) round trip" ||
  fail "awkward keys round trip" "${rt_fail[@]}"
printf '%s\n' "${KEYS[@]}" | sort > keys.want
awsx s3api list-objects-v2 --bucket "$B" --prefix "$P/keys/" --output json --query 'Contents[].Key' |
  python3 -c 'import json,sys; [print(k) for k in json.load(sys.stdin)]' | sort > keys.got
check "aws lists exactly the keys ferry wrote" cmp keys.want keys.got
awsx s3api head-object --bucket "$B" --key "/$P/lead/leading.csv" >/dev/null 2>&1 &&
  ok "a key with a leading '/' is stored as '/...'" || fail "a key with a leading '/' is stored as '/...'"
fr ls --recursive "s3://$B/$P/keys/" > ls.out 2>&1
sed "s|^$P/keys/||" keys.want > ls.want
check "ferry ls --recursive lists them (names relative to the prefix)" bash -c "sort ls.out | cmp - <(sort ls.want)"
fr ls "s3://$B/$P/" > ls2.out 2>&1
check "ferry ls shows prefixes as directories" grep -qx "keys/" ls2.out
check "ferry ls with a glob" bash -c "'$FERRY' ls 's3://$B/$P/keys/*.csv' | grep -qx '100%.csv' && ! '$FERRY' ls 's3://$B/$P/keys/*.csv' | grep -q 'tab'"

# --- replace semantics
before=$(etag_of "$P/small.csv")
printf 'other\n' > other.csv
expect_code "existing object without --replace exits 6" 6 fr copy other.csv "s3://$B/$P/small.csv" -q
[ "$(etag_of "$P/small.csv")" = "$before" ] && ok "existing object untouched (same ETag)" || fail "existing object untouched"
# at_open NAME CODE DEST ARGS...: stdin stays open and silent, so only a check
# made when the sink opens can end the copy quickly
at_open() {
  local name=$1 want=$2 dest=$3; shift 3
  rm -f idle.fifo; mkfifo idle.fifo
  sleep 30 > idle.fifo & local idle=$!
  local start=$SECONDS
  timeout 20 "$FERRY" copy - "$dest" "$@" -q < idle.fifo > at_open.out 2>&1; local code=$?
  local took=$((SECONDS - start)); kill "$idle" 2>/dev/null; wait "$idle" 2>/dev/null
  [ "$code" = "$want" ] && [ "$took" -lt 10 ] && ok "$name" || fail "$name (exit $code after $took s)" "$(cat at_open.out)"
}
at_open "exists is detected at open, before the source is read" 6 "s3://$B/$P/small.csv"
check "--replace overwrites" fr copy other.csv "s3://$B/$P/small.csv" --replace -q
check "new content is there" bash -c "'$FERRY' copy 's3://$B/$P/small.csv' - -q | cmp - other.csv"
expect_code "multipart onto an existing object without --replace exits 6" 6 fr copy big.bin "s3://$B/$P/big5.bin" -q
check "--replace with multipart" fr copy onepart.bin "s3://$B/$P/big5.bin" --replace -q
check "replaced multipart content" bash -c "'$FERRY' copy 's3://$B/$P/big5.bin' - -q | cmp - onepart.bin"

# --- errors and exit codes
fr copy small.csv "s3://$B/$P/x.csv" --s3-conn aws_wrong -q > wrong.out 2>&1; code=$?
[ "$code" = 4 ] && ok "wrong secret exits 4" || fail "wrong secret exits 4 (got $code)" "$(cat wrong.out)"
grep -q "SignatureDoesNotMatch" wrong.out && ok "message names S3's error code" || fail "message names S3's error code" "$(cat wrong.out)"
check "the secret is not in the output" bash -c "! grep -qF -e '$WRONG_SECRET' -e '$(urlenc "$WRONG_SECRET")' -e '$CEPH_S3_SECRET_KEY' wrong.out"
fr copy "s3://$B/$P/nope.csv" nope.out -q > nf.out 2>&1; code=$?
[ "$code" = 5 ] && grep -q NoSuchKey nf.out && ok "missing key exits 5 (NoSuchKey)" || fail "missing key exits 5 (got $code)" "$(cat nf.out)"
check "no local file for a missing key" test ! -e nope.out
fr copy "s3://ferry-no-such-bucket-$$/k.csv" - -q > nb.out 2>&1; code=$?
[ "$code" = 5 ] && grep -q NoSuchBucket nb.out && ok "missing bucket (source) exits 5" || fail "missing bucket (source) exits 5 (got $code)" "$(cat nb.out)"
expect_code "missing bucket (destination) exits 5" 5 fr copy small.csv "s3://ferry-no-such-bucket-$$/k.csv" -q
expect_code "missing bucket (multipart destination) exits 5" 5 fr copy big.bin "s3://ferry-no-such-bucket-$$/k.bin" -q
expect_code "ls of a missing bucket exits 5" 5 fr ls "s3://ferry-no-such-bucket-$$/"
at_open "a missing bucket is detected at open (exit 5)" 5 "s3://ferry-no-such-bucket-$$/k.bin"
at_open "a wrong secret is detected at open (exit 4)" 4 "s3://$B/$P/k.bin" --s3-conn aws_wrong
at_open "a wrong secret with --replace is detected at open (exit 4)" 4 "s3://$B/$P/k.bin" --s3-conn aws_wrong --replace
expect_code "s3://bucket without a key as destination is a usage error" 2 fr copy small.csv "s3://$B" -q

# --- SIGTERM in the middle of a multipart upload from a slow pipe
sigterm_upload() {  # KEY EXTRA_ARGS...: 20 MB arrive at once, then the pipe stalls
  local key=$1; shift
  rm -f slow.fifo; mkfifo slow.fifo
  ( head -c 20000000 /dev/urandom; sleep 60 ) > slow.fifo & local feeder=$!
  "$FERRY" copy - "s3://$B/$key" "$@" -q < slow.fifo > term.out 2>&1 & local fpid=$!
  local n=0
  while [ "$n" -lt 60 ] && [ "$(uploads_under "$key")" = 0 ]; do sleep 0.5; n=$((n + 1)); done
  sleep 1
  kill -TERM "$fpid"; wait "$fpid"; local code=$?
  kill "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null
  return $code
}
sigterm_upload "$P/term.bin"; code=$?
[ "$code" = 130 ] && ok "SIGTERM mid-upload exits 130" || fail "SIGTERM mid-upload exits 130 (got $code)" "$(cat term.out)"
awsx s3api head-object --bucket "$B" --key "$P/term.bin" >/dev/null 2>&1 && fail "no object after SIGTERM" || ok "no object after SIGTERM"
check "no multipart upload in progress after SIGTERM" test "$(uploads_under "$P/term.bin")" = 0
old=$(etag_of "$P/big.bin")
sigterm_upload "$P/big.bin" --replace; code=$?
[ "$code" = 130 ] && ok "SIGTERM during a --replace upload exits 130" || fail "SIGTERM during --replace exits 130 (got $code)" "$(cat term.out)"
[ "$(etag_of "$P/big.bin")" = "$old" ] && ok "the old object is intact after SIGTERM" || fail "the old object is intact after SIGTERM"
check "no multipart upload in progress after the second SIGTERM" test "$(uploads_under "$P/")" = 0

# --- AWS environment and profile chain (no connection defined)
check "env chain: AWS_* variables, no connection" env -u AIRFLOW_CONN_AWS_DEFAULT \
  AWS_ACCESS_KEY_ID="$CEPH_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$CEPH_S3_SECRET_KEY" \
  AWS_DEFAULT_REGION="$REGION" AWS_ENDPOINT_URL_S3="$CEPH_S3_ENDPOINT" \
  bash -c "'$FERRY' copy 's3://$B/$P/other-env.csv' - -q 2>/dev/null; '$FERRY' copy other.csv 's3://$B/$P/env.csv' -q && '$FERRY' copy 's3://$B/$P/env.csv' - -q | cmp - other.csv"
printf '[etl]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$CEPH_S3_ACCESS_KEY" "$CEPH_S3_SECRET_KEY" > prof.credentials
printf '[profile etl]\nregion = %s\nendpoint_url = %s\n' "$REGION" "$CEPH_S3_ENDPOINT" > prof.config
check "profile chain: ~/.aws/credentials + config ([profile etl], endpoint_url)" env -u AIRFLOW_CONN_AWS_DEFAULT \
  AWS_PROFILE=etl AWS_SHARED_CREDENTIALS_FILE="$WORK/prof.credentials" AWS_CONFIG_FILE="$WORK/prof.config" \
  bash -c "'$FERRY' copy 's3://$B/$P/env.csv' - -q | cmp - other.csv"
export AIRFLOW_CONN_AWS_UNSIGNED="{\"conn_type\": \"aws\", \"login\": \"$CEPH_S3_ACCESS_KEY\", \"password\": \"$CEPH_S3_SECRET_KEY\", \"extra\": {\"region_name\": \"$REGION\", \"endpoint_url\": \"$CEPH_S3_ENDPOINT\", \"unsigned_payload\": true}}"
check "unsigned_payload=true connection uploads (multipart)" fr copy big.bin "s3://$B/$P/unsigned.bin" --s3-conn aws_unsigned -q
check "unsigned payload object is byte exact" bash -c "$(declare -f awsx); awsx s3 cp 's3://$B/$P/unsigned.bin' - | cmp - big.bin"

# --- faults, through a proxy in front of radosgw
cat > proxy.py <<'PY'
# proxy.py MODE: forwards TCP to radosgw and misbehaves on purpose.
#   slowdown  answer the first 2 "PUT ...?partNumber=2&..." with 503 SlowDown
#   drop      cut the first response stream after DROP_AT bytes (after running
#             the shell command in DROP_CMD, if any)
#   stall     accept connections and never answer
import os, re, socket, subprocess, sys, threading
mode, up_host, up_port = sys.argv[1], sys.argv[2], int(sys.argv[3])
DROP_AT = int(os.environ.get("DROP_AT", "1048576"))
DROP_CMD = os.environ.get("DROP_CMD", "")
lock = threading.Lock()
state = {"dropped": False, "injected": 0}
def close(*socks):
    for s in socks:
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
        try: s.close()
        except OSError: pass
def downstream(up, cl):
    sent = 0
    try:
        while True:
            d = up.recv(65536)
            if not d: break
            if mode == "drop":
                with lock:
                    cut = not state["dropped"] and sent + len(d) > DROP_AT
                    if cut: state["dropped"] = True
                if cut:
                    cl.sendall(d[:DROP_AT - sent])
                    if DROP_CMD: subprocess.run(DROP_CMD, shell=True)
                    break
            cl.sendall(d); sent += len(d)
    except OSError: pass
    close(up, cl)
def upstream(cl, up):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = cl.recv(65536)
                if not d: raise EOFError
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            clen = 0
            for l in lines[1:]:
                k, _, v = l.partition(b":")
                if k.strip().lower() == b"content-length": clen = int(v.strip())
            while len(buf) < clen:
                d = cl.recv(65536)
                if not d: raise EOFError
                buf += d
            body, buf = buf[:clen], buf[clen:]
            inject = False
            if mode == "slowdown" and re.match(rb"PUT \S*[?&]partNumber=2[& ]", lines[0]):
                with lock:
                    if state["injected"] < 2:
                        state["injected"] += 1; inject = True
            if inject:
                x = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                     b'<Message>Please reduce your request rate.</Message></Error>')
                cl.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                           b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(x) + x)
                raise EOFError
            up.sendall(head + b"\r\n\r\n" + body)
    except (EOFError, OSError, ValueError): pass
    close(cl, up)
def stall(cl):
    try:
        while cl.recv(65536): pass
    except OSError: pass
    close(cl)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(64)
print(srv.getsockname()[1], flush=True)
while True:
    cl, _ = srv.accept()
    if mode == "stall":
        threading.Thread(target=stall, args=(cl,), daemon=True).start(); continue
    up = socket.create_connection((up_host, up_port))
    threading.Thread(target=downstream, args=(up, cl), daemon=True).start()
    threading.Thread(target=upstream, args=(cl, up), daemon=True).start()
PY
RGW_HOST=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname)' "$CEPH_S3_ENDPOINT")
RGW_PORT=$(python3 -c 'import sys,urllib.parse; u=urllib.parse.urlsplit(sys.argv[1]); print(u.port or 80)' "$CEPH_S3_ENDPOINT")
start_proxy() {  # MODE CONN_ID: a proxy and a connection through it
  local mode=$1 id=$2 port="" n=0
  rm -f "proxy-$id.port"   # one file per proxy: never read an older proxy's port
  python3 proxy.py "$mode" "$RGW_HOST" "$RGW_PORT" > "proxy-$id.port" 2> "proxy-$id.err" &
  PROXY_PIDS+=($!)
  while [ -z "$port" ] && [ "$n" -lt 100 ]; do port=$(head -1 "proxy-$id.port" 2>/dev/null); sleep 0.1; n=$((n + 1)); done
  [ -n "$port" ] || fail "proxy $mode did not start" "$(cat "proxy-$id.err")"
  export "AIRFLOW_CONN_${id^^}=aws://$CEPH_S3_ACCESS_KEY:$SECRET_ENC@?region_name=$REGION&endpoint_url=$(urlenc "http://127.0.0.1:$port")"
}

start_proxy slowdown via_slowdown
fr --log-level warn copy big.bin "s3://$B/$P/retried.bin" --s3-conn via_slowdown -q > slow.out 2>&1; code=$?
[ "$code" = 0 ] && ok "part 2 answered 503 SlowDown twice: upload still succeeds" || fail "SlowDown retry (exit $code)" "$(cat slow.out)"
[ "$(grep -c 'SlowDown' slow.out)" -ge 2 ] && ok "each SlowDown was logged as a retry" || fail "SlowDown retries logged" "$(cat slow.out)"
check "retried upload is byte exact" bash -c "$(declare -f awsx); awsx s3 cp 's3://$B/$P/retried.bin' - | cmp - big.bin"
check "no multipart upload left after retries" test "$(uploads_under "$P/retried.bin")" = 0

start_proxy drop via_drop
fr --log-level info copy "s3://$B/$P/big.bin" resumed.bin --s3-conn via_drop -q > drop.out 2>&1; code=$?
[ "$code" = 0 ] && grep -q "resumes at byte" drop.out && ok "dropped GET resumes with Range" || fail "dropped GET resumes (exit $code)" "$(cat drop.out)"
[ "$(sha resumed.bin)" = "$(sha big.bin)" ] && ok "resumed download is byte exact" || fail "resumed download is byte exact"

DROP_CMD="$(declare -f awsx); awsx s3 cp '$WORK/onepart.bin' 's3://$B/$P/changing.bin' --only-show-errors" start_proxy drop via_drop2
fr copy big.bin "s3://$B/$P/changing.bin" -q
fr copy "s3://$B/$P/changing.bin" changed.out --s3-conn via_drop2 -q > changed.err 2>&1; code=$?
[ "$code" = 7 ] && grep -q "changed during the download" changed.err && ok "object replaced mid-download: If-Match stops the resume (exit 7)" ||
  fail "object replaced mid-download exits 7 (got $code)" "$(cat changed.err)"
check "no partial local file after the failed download" test ! -e changed.out

start_proxy stall via_stall
start=$SECONDS
timeout 120 "$FERRY" copy "s3://$B/$P/small.csv" - --s3-conn via_stall --timeout 2 --retries 2 -q > stall.out 2>&1; code=$?
[ "$code" = 8 ] || [ "$code" = 10 ] && [ $((SECONDS - start)) -lt 60 ] &&
  ok "a stalled server fails after the low-speed timeout (exit $code, $((SECONDS - start)) s)" ||
  fail "stalled server (exit $code after $((SECONDS - start)) s)" "$(cat stall.out)"

check "no multipart upload left under the test prefix" test "$(uploads_under "$P/")" = 0
finish

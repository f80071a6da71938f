#!/usr/bin/env bash
# http_hook.sh - the HTTP(S) hook against the real servers of the harness
# (nginx http/https/WebDAV, the python echo server) and a private instance of
# tests/harness/http_echo.py started here for the endpoints that break on
# purpose (/stream with drop/stall, /lie): a 100 MiB download in flat memory,
# status mapping (404, 401, 503), retries with Retry-After, TLS with and
# without the CA, redirects, short bodies, stalls, resume, gzip on the way,
# PUT/POST uploads read back, secrets kept out of every message, conn test,
# SIGTERM.
#
# Every client call runs under `timeout`; names are unique per run; what is
# uploaded is deleted again.  Note: `ferry copy` takes a '?' in SOURCE for a
# glob (transfer/multi.c), so URLs with a query string go through `ferry cat`.
. "$(dirname "$0")/../lib.sh"
load_services_env
cd "$WORK"

HARNESS=$(cd "$(dirname "$0")/../harness" && pwd)
TMO=${CHECK_TIMEOUT:-120}
RUN=http-$$-$RANDOM
T() { timeout -k 5 "$TMO" "$@"; }
SECRET_PW=Wr0ng-Pa55word-$RANDOM

# --- a private echo server for the endpoints that misbehave on purpose
ECHO_PID=
cleanup() {
  [ -n "$ECHO_PID" ] && kill "$ECHO_PID" 2>/dev/null
  [ -n "${HTTP_DAV_URL:-}" ] && curl -s -m 10 -o /dev/null -X DELETE "${HTTP_DAV_URL}$RUN/" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$HARNESS/http_echo.py" --port "$PORT" --quiet </dev/null >echo.log 2>&1 &
ECHO_PID=$!
PRIV=http://127.0.0.1:$PORT
for _ in $(seq 1 50); do curl -sf -m 2 -o /dev/null "$PRIV/health" && break; sleep 0.1; done
check "private echo server answers" curl -sf -m 5 -o /dev/null "$PRIV/health"

# sha256 of the first N bytes of the echo server's deterministic stream, computed here
det_sha() {
  python3 -c "import sys, hashlib; sys.path.insert(0, '$HARNESS'); import http_echo as h
d = hashlib.sha256()
for p in h.det_range(0, $1): d.update(p)
print(d.hexdigest())"
}
# peak RSS in KiB of a command (stdout/stderr to files named by $1)
peak_rss() {
  local tag=$1; shift
  if [ -x /usr/bin/time ]; then
    timeout -k 5 "$TMO" /usr/bin/time -f 'RSS %M' -o "$tag.rss" "$@" >"$tag.out" 2>"$tag.err"
    local rc=$?
    awk '/^RSS/{print $2}' "$tag.rss" > "$tag.kb"
    return $rc
  fi
  "$@" >"$tag.out" 2>"$tag.err" & local pid=$! max=0 v
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^VmHWM/{print $2}' /proc/"$pid"/status 2>/dev/null); [ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
    sleep 0.05
  done
  wait "$pid"; local rc=$?
  echo "$max" > "$tag.kb"
  return $rc
}
# expect NAME CODE CMD...: expect_code, keeping the command's output in last.out
# (check and expect_code overwrite $WORK/.out with each command's own output)
expect() { expect_code "$@"; cp "$WORK/.out" "$WORK/last.out"; }
no_output_has() { ! grep -qF -- "$1" "$WORK/last.out"; }

# --- 100 MiB streamed to a file in flat memory
N=$((100 * 1024 * 1024 + 12345))
peak_rss big "$FERRY" copy "$PRIV/stream/$N" big.bin -q; code=$?
[ "$code" = 0 ] && ok "100 MiB download exits 0" || fail "100 MiB download exits 0 (got $code)" "$(tail -3 big.err)"
check "100 MiB download has every byte" test "$(stat -c %s big.bin 2>/dev/null)" = "$N"
want=$(det_sha "$N")
check "100 MiB download sha256 matches" test "$(sha256sum big.bin | cut -d' ' -f1)" = "$want"
kb=$(cat big.kb)
[ -n "$kb" ] && [ "$kb" -lt 65536 ] && ok "100 MiB download peak RSS ${kb} KiB < 64 MiB" \
  || fail "100 MiB download peak RSS < 64 MiB (got ${kb:-?} KiB)"
rm -f big.bin

# --- statuses
expect "404 exits 5" 5 T "$FERRY" copy "$HTTP_ECHO_URL/status/404" nf.json
check "404: message shows the status and the body" grep -q 'HTTP 404 Not Found: { "status": 404 }' "$WORK/last.out"
check "404: no destination" test ! -e nf.json
expect "410 exits 5" 5 T "$FERRY" copy "$HTTP_ECHO_URL/status/410" - -q
expect "400 exits 7" 7 T "$FERRY" copy "$HTTP_ECHO_URL/status/400" - -q
expect "persistent 503 exits 8 after retries" 8 T "$FERRY" copy "$HTTP_ECHO_URL/status/503" p503.json --retries 3
check "persistent 503: says it gave up after 3 attempts" grep -q 'gave up after 3 attempts' "$WORK/last.out"
check "persistent 503: no destination" test ! -e p503.json
start=$(date +%s%N)
T "$FERRY" cat "$HTTP_ECHO_URL/flaky?key=$RUN&fail=2" > flaky.json 2>flaky.err; code=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$code" = 0 ] && ok "503, 503, then 200 is retried and succeeds" || fail "503, 503, then 200 succeeds (got $code)" "$(cat flaky.err)"
check "the third attempt answered" grep -q '"attempt": 3' flaky.json
[ "$ms" -ge 1900 ] && ok "Retry-After: 1 honoured (${ms} ms for 2 retries)" || fail "Retry-After honoured (only ${ms} ms)"

# --- authentication; the password never shows
export AIRFLOW_CONN_ECHO_BAD="http://etl:$SECRET_PW@127.0.0.1:${HTTP_ECHO_URL##*:}"
expect "wrong password: 401 exits 4" 4 T "$FERRY" copy echo_bad:/auth/basic wrong.json
check "wrong password: not in the output" no_output_has "$SECRET_PW"
check "wrong password: says 401" grep -q 'HTTP 401' "$WORK/last.out"
expect "wrong password inline: exits 4" 4 T "$FERRY" --log-level debug copy \
  "http://etl:$SECRET_PW@127.0.0.1:${HTTP_ECHO_URL##*:}/auth/basic" wrong.json
check "wrong password inline: not in the output (debug log included)" no_output_has "$SECRET_PW"
check "wrong password: basic credential (base64) not in the output either" \
  no_output_has "$(printf 'etl:%s' "$SECRET_PW" | base64)"
export AIRFLOW_CONN_ECHO_OK="http://$HTTP_BASIC_USER:$HTTP_BASIC_PASSWORD@127.0.0.1:${HTTP_ECHO_URL##*:}"
check "right password: basic auth works" T "$FERRY" copy echo_ok:/auth/basic basic.json -q
check "right password: the server says authenticated" grep -q '"authenticated": true' basic.json
export AIRFLOW_CONN_NGINX_AUTH="http://$HTTP_BASIC_USER:$HTTP_BASIC_PASSWORD@${HTTP_BASE_URL#http://}"
check "nginx /private/ with basic auth" bash -c "timeout $TMO '$FERRY' copy nginx_auth:/private/secret.txt - -q | grep -qx secret"
export AIRFLOW_CONN_ECHO_TOKEN="{\"conn_type\":\"http\",\"host\":\"127.0.0.1\",\"port\":${HTTP_ECHO_URL##*:},\"extra\":{\"token\":\"$HTTP_BEARER_TOKEN\"}}"
check "bearer token extra" bash -c "timeout $TMO '$FERRY' copy echo_token:/auth/bearer - -q | grep -q '\"authenticated\": true'"
export AIRFLOW_CONN_ECHO_BADTOKEN="{\"conn_type\":\"http\",\"host\":\"127.0.0.1\",\"port\":${HTTP_ECHO_URL##*:},\"extra\":{\"bearer_token\":\"tok-$SECRET_PW\"}}"
expect "wrong bearer token exits 4" 4 T "$FERRY" copy echo_badtoken:/auth/bearer -
check "wrong bearer token: not in the output" no_output_has "tok-$SECRET_PW"
expect "a header given with --header is sent" 0 T "$FERRY" copy "$HTTP_ECHO_URL/echo" hdr.json -q \
  --header "X-Ferry-Run: $RUN"
check "the echo saw the header" grep -q "\"X-Ferry-Run\": \"$RUN\"" hdr.json
expect "a header with a line break exits 2" 2 T "$FERRY" copy "$HTTP_ECHO_URL/echo" - --header $'X-A: 1\r\nX-B: 2'

# --- TLS
expect "https without the CA is refused (exit 4)" 4 T "$FERRY" copy "$HTTPS_BASE_URL/orders.csv" tls0.csv
check "https without the CA: the message is about the certificate" grep -qi 'certificate' "$WORK/last.out"
check "https without the CA: no destination" test ! -e tls0.csv
export AIRFLOW_CONN_WEB_CA="https://${HTTPS_BASE_URL#https://}/?ca_bundle=$TLS_CA_FILE"
check "https with the CA (ca_bundle extra)" T "$FERRY" copy web_ca:/orders.csv tls1.csv -q
check "https with the CA: the file as nginx has it" cmp tls1.csv "$HTTP_DOCROOT/orders.csv"
export AIRFLOW_CONN_WEB_VERIFY="{\"conn_type\":\"http\",\"host\":\"127.0.0.1\",\"port\":${HTTPS_BASE_URL##*:},\"schema\":\"https\",\"extra\":{\"verify\":\"$TLS_CA_FILE\"}}"
check "https with the CA (verify=<path> extra, JSON form)" T "$FERRY" copy web_verify:/orders.csv tls2.csv -q
export AIRFLOW_CONN_WEB_NOCA="https://${HTTPS_BASE_URL#https://}/"
expect "https connection without the CA exits 4" 4 T "$FERRY" copy web_noca:/orders.csv tls3.csv
export AIRFLOW_CONN_WEB_INSECURE="https://${HTTPS_BASE_URL#https://}/?verify=false"
check "https with verify=false" T "$FERRY" copy web_insecure:/orders.csv tls4.csv -q

# --- redirects
check "3 redirects are followed" bash -c "timeout $TMO '$FERRY' copy '$HTTP_ECHO_URL/redirect/3' - -q | grep -q '\"path\": \"/echo\"'"
expect "11 redirects are too many (exit 7)" 7 T "$FERRY" copy "$HTTP_ECHO_URL/redirect/11" redir.json
check "too many redirects: no destination" test ! -e redir.json

# --- broken bodies: never a short destination
expect "a body shorter than Content-Length fails (exit 7)" 7 T "$FERRY" copy "$PRIV/lie/1000000" lie.bin
check "short body: no destination, no temp file" bash -c '[ ! -e lie.bin ] && ! ls -A | grep -q ferry-tmp'
start=$(date +%s)
expect "a stalled server fails (--timeout 2, exit 10)" 10 T "$FERRY" copy "$HTTP_ECHO_URL/delay/10" stall.json \
  --timeout 2 --retries 2
secs=$(( $(date +%s) - start ))
[ "$secs" -lt 9 ] && ok "stalled server: gave up in ${secs} s, no hang" || fail "stalled server: gave up fast (took ${secs} s)"
check "stalled server: the message says no data moved" grep -q 'no data moved for 2 s' "$WORK/last.out"
check "stalled server: no destination" test ! -e stall.json
M=$((12 * 1024 * 1024))
T "$FERRY" --log-level info cat "$PRIV/stream/$M?drop=5000000&key=$RUN" > drop.bin 2>drop.err; code=$?
[ "$code" = 0 ] && ok "connection dropped mid-body: resumed with Range" || fail "dropped mid-body: resumed (got $code)" "$(tail -3 drop.err)"
check "resumed body is byte exact" test "$(sha256sum < drop.bin | cut -d' ' -f1)" = "$(det_sha $M)"
check "resume was logged at byte 5000000" grep -q 'resuming GET .* at byte 5000000' drop.err
export AIRFLOW_CONN_PRIV_T2="{\"conn_type\":\"http\",\"host\":\"127.0.0.1\",\"port\":$PORT,\"extra\":{\"timeout\":\"2\"}}"
T "$FERRY" cat "priv_t2:/stream/3000000?stall=30&at=1000000" > stallmid.bin 2>stallmid.err; code=$?
[ "$code" = 0 ] && ok "stall mid-body (timeout extra 2 s): resumed" || fail "stall mid-body: resumed (got $code)" "$(tail -3 stallmid.err)"
check "stall mid-body: byte exact" test "$(sha256sum < stallmid.bin | cut -d' ' -f1)" = "$(det_sha 3000000)"

# --- gzip on the way
check "HTTP -> local .gz" T "$FERRY" copy "$HTTP_BASE_URL/orders.csv" orders.csv.gz -q
check "HTTP -> local .gz: gzip of the resource" bash -c "gzip -dc orders.csv.gz | cmp - '$HTTP_DOCROOT/orders.csv'"

# --- uploads: echo /upload (PUT, POST), read back
head -c 3000000 /dev/urandom > up.bin
check "local -> HTTP PUT (echo /upload)" T "$FERRY" copy up.bin "$HTTP_ECHO_URL/upload/$RUN.bin" -q
check "PUT read back with curl is byte exact" bash -c "curl -sf -m 30 '$HTTP_ECHO_URL/upload/$RUN.bin' | cmp - up.bin"
check "PUT read back with ferry is byte exact" bash -c "timeout $TMO '$FERRY' copy '$HTTP_ECHO_URL/upload/$RUN.bin' - -q | cmp - up.bin"
expect "PUT onto an existing resource without --replace exits 6" 6 T "$FERRY" copy up.bin "$HTTP_ECHO_URL/upload/$RUN.bin"
check "exists: the message says so" grep -q 'exists' "$WORK/last.out"
head -c 1000 /dev/urandom > up2.bin
check "PUT --replace replaces" T "$FERRY" copy up2.bin "$HTTP_ECHO_URL/upload/$RUN.bin" --replace -q
check "PUT --replace: new content" bash -c "curl -sf -m 30 '$HTTP_ECHO_URL/upload/$RUN.bin' | cmp - up2.bin"
check "local .csv -> HTTP .csv.gz (PUT)" T "$FERRY" copy "$HTTP_DOCROOT/orders.csv" "$HTTP_ECHO_URL/upload/$RUN.csv.gz" -q
check "HTTP .csv.gz -> local .csv decompresses" bash -c "timeout $TMO '$FERRY' copy '$HTTP_ECHO_URL/upload/$RUN.csv.gz' back.csv -q && cmp back.csv '$HTTP_DOCROOT/orders.csv'"
check "POST upload (--method POST)" T "$FERRY" copy up2.bin "$HTTP_ECHO_URL/upload/$RUN-post.bin" --method POST -q
check "POST read back" bash -c "curl -sf -m 30 '$HTTP_ECHO_URL/upload/$RUN-post.bin' | cmp - up2.bin"
expect "upload to a 4xx endpoint fails (exit 7)" 7 T "$FERRY" copy up2.bin "$HTTP_ECHO_URL/status/400" --replace
expect "source fails mid-upload (exit 7)" 7 T "$FERRY" copy "$PRIV/lie/2000000" "$HTTP_ECHO_URL/upload/$RUN-aborted.bin"
check "aborted upload: the server kept nothing" \
  test "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$HTTP_ECHO_URL/upload/$RUN-aborted.bin")" = 404
for n in "$RUN.bin" "$RUN.csv.gz" "$RUN-post.bin"; do curl -s -m 10 -o /dev/null -X DELETE "$HTTP_ECHO_URL/upload/$n"; done

# --- request bodies for a source
check "--data: POST with a body" T "$FERRY" copy "$HTTP_ECHO_URL/echo" post.json -q --data '{"q":"ferry"}'
check "--data: the echo got the body" grep -q "\"body_sha256\": \"$(printf '{"q":"ferry"}' | sha256sum | cut -d' ' -f1)\"" post.json
check "--data-file: POST the file" T "$FERRY" copy "$HTTP_ECHO_URL/echo" postf.json -q --data-file up2.bin
check "--data-file: the echo got the file" grep -q "\"body_sha256\": \"$(sha256sum < up2.bin | cut -d' ' -f1)\"" postf.json
check "--method PATCH --data" bash -c "timeout $TMO '$FERRY' copy '$HTTP_ECHO_URL/echo' - -q --method PATCH --data x | grep -q '\"method\": \"PATCH\"'"

# --- nginx WebDAV: 100 MiB PUT in flat memory, read back
if [ -n "${HTTP_DAV_URL:-}" ]; then
  head -c $((100 * 1024 * 1024)) /dev/urandom > dav.bin
  peak_rss davput "$FERRY" copy dav.bin "${HTTP_DAV_URL}$RUN/dav.bin" -q; code=$?
  [ "$code" = 0 ] && ok "100 MiB PUT to nginx WebDAV" || fail "100 MiB PUT to nginx WebDAV (got $code)" "$(tail -3 davput.err)"
  kb=$(cat davput.kb)
  [ -n "$kb" ] && [ "$kb" -lt 65536 ] && ok "100 MiB PUT peak RSS ${kb} KiB < 64 MiB" || fail "100 MiB PUT peak RSS < 64 MiB (got ${kb:-?} KiB)"
  check "WebDAV read back with ferry is byte exact" bash -c "timeout $TMO '$FERRY' copy '${HTTP_DAV_URL}$RUN/dav.bin' - -q | cmp - dav.bin"
  rm -f dav.bin
else
  skip "WebDAV checks: HTTP_DAV_URL not set"
fi

# --- ferry conn test
export AIRFLOW_CONN_ECHO_TEST="$HTTP_ECHO_URL"
expect "conn test of the echo server" 0 T "$FERRY" conn test echo_test
check "conn test reports the status and the URL" grep -q "HTTP 200 from $HTTP_ECHO_URL/" "$WORK/last.out"
expect "conn test over TLS with the CA" 0 T "$FERRY" conn test web_ca
check "conn test says TLS verified" grep -q "HTTP 200 from $HTTPS_BASE_URL/ (TLS verified)" "$WORK/last.out"
expect "conn test over TLS without the CA exits 4" 4 T "$FERRY" conn test web_noca
check "conn test without the CA: about the certificate" grep -qi certificate "$WORK/last.out"
export AIRFLOW_CONN_CLOSED="http://127.0.0.1:1"
expect "conn test of a closed port exits 4" 4 T "$FERRY" conn test closed
export AIRFLOW_CONN_PRIVATE_BAD="{\"conn_type\":\"http\",\"host\":\"${HTTP_BASE_URL}/private\",\"login\":\"etl\",\"password\":\"$SECRET_PW\"}"
expect "conn test with a wrong password exits 4" 4 T "$FERRY" conn test private_bad
check "conn test with a wrong password: password not shown" no_output_has "$SECRET_PW"
export AIRFLOW_CONN_BADSCHEMA="http://127.0.0.1:1/ftp"
expect "a schema other than http/https exits 3" 3 T "$FERRY" conn test badschema

# --- SIGTERM in the middle of a download: 130, no destination
timeout -k 5 60 "$FERRY" cat "$PRIV/stream/50000000?stall=30&at=1000000" > /dev/null 2>term.err &
fpid=$!
sleep 1.5
kill -TERM "$fpid"
wait "$fpid"; code=$?
[ "$code" = 130 ] && ok "SIGTERM mid-download exits 130" || fail "SIGTERM mid-download exits 130 (got $code)" "$(cat term.err)"
timeout -k 5 60 "$FERRY" copy "$HTTP_ECHO_URL/delay/10" term.json -q 2>term2.err &
fpid=$!
sleep 1
kill -TERM "$fpid"
wait "$fpid"; code=$?
[ "$code" = 124 ] && code="timeout"
[ "$code" = 130 ] && ok "SIGTERM while waiting for headers exits 130" || fail "SIGTERM while waiting for headers (got $code)" "$(cat term2.err)"
check "SIGTERM: no destination" test ! -e term.json
( head -c 2000000 /dev/urandom; sleep 20 ) | timeout -k 5 60 "$FERRY" copy - "$HTTP_ECHO_URL/upload/$RUN-term.bin" -q 2>term3.err &
fpid=$!   # $! of a background pipeline is its last process
sleep 1.5
kill -TERM "$fpid"
wait "$fpid"; code=$?
[ "$code" = 130 ] && ok "SIGTERM mid-upload exits 130" || fail "SIGTERM mid-upload exits 130 (got $code)" "$(cat term3.err)"
check "SIGTERM mid-upload: the server kept nothing" \
  test "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$HTTP_ECHO_URL/upload/$RUN-term.bin")" = 404

finish

#!/usr/bin/env bash
# exit_codes.sh - every exit code of the README's table, each produced by a
# real situation against the harness's servers (tests/harness/services.sh)
# and checked, together with what the situation must leave behind (no
# destination, no temp file, no multipart upload):
#   0 success · 1 internal (out of memory under an address-space limit)
#   2 usage · 3 configuration · 4 connection/auth · 5 not found
#   6 destination exists · 7 data/query · 8 transient after every retry
#   (4 also for a server that refused every connection attempt: the rule in
#   core/retry.c)
#   9 local I/O (full tmpfs, /dev/full; a closed downstream pipe is 0) · 10 timeout
#   130 SIGINT / SIGTERM
# Every client call runs under `timeout`.
. "$(dirname "$0")/../lib.sh"
load_services_env
. "$(dirname "$0")/../s3_lib.sh"
export AWS_CLI=aws AWSX_TIMEOUT=300   # for awsx (tests/s3_lib.sh)
cd "$WORK"

B=$CEPH_S3_BUCKET
P="ferry-exit-$$-$RANDOM"
RD="ferry-exit-$$"
RHOME=$SFTP_HOME/$RD
MNT=$WORK/full                                 # a 1 MiB tmpfs, when we may mount one
MOUNTED=0

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_AWS_DEFAULT="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?region_name=$CEPH_S3_REGION&endpoint_url=$(urlenc "$CEPH_S3_ENDPOINT")"
export AIRFLOW_CONN_BADS3="aws://$CEPH_S3_ACCESS_KEY:WrongS3cretKey-xyz@?region_name=$CEPH_S3_REGION&endpoint_url=$(urlenc "$CEPH_S3_ENDPOINT")"
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
export AIRFLOW_CONN_BADPG="postgresql://$PG_USER:WrongPassw0rd-pg@127.0.0.1:$PG_PORT/$PG_DATABASE"
export AIRFLOW_CONN_PARTNER="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
: > "$WORK/empty_known_hosts"
export AIRFLOW_CONN_STRANGER="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$WORK/empty_known_hosts")"
export AIRFLOW_CONN_BROKEN='{"conn_type": "postgres", "host": '
export AIRFLOW_CONN_ODD='{"conn_type": "teleport", "host": "x"}'

F() { timeout -k 5 "${FT:-120}" "$FERRY" "$@"; }
s3has() { awsx s3api head-object --bucket "$B" --key "$P/$1" >/dev/null 2>&1; }
out_has() { if grep -q -- "$2" "$WORK/.out"; then ok "$1"; else fail "$1" "$(tail -5 "$WORK/.out")"; fi; }
no_temp_in() { ! ls -A "$1" | grep -q 'ferry-tmp-'; }

cleanup() {
  [ "$MOUNTED" = 1 ] && umount "$MNT" 2>/dev/null
  awsx s3 rm "s3://$B/$P/" --recursive --only-show-errors >/dev/null 2>&1
  rm -rf "$RHOME" "$WORK"
}
trap cleanup EXIT

printf 'id,v\n1,a\n2,b\n' > small.csv
head -c $((4 * 1024 * 1024)) /dev/urandom > big.bin
install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"

# ---------------------------------------------------------------- 0 success
expect_code "0: copy local -> s3" 0 F copy small.csv "s3://$B/$P/small.csv" -q
expect_code "0: ls s3" 0 F ls "s3://$B/$P/"
expect_code "0: copy s3 -> sftp" 0 F copy "s3://$B/$P/small.csv" "partner:$RD/small.csv" -q
check "   ... and the bytes arrived" cmp small.csv "$RHOME/small.csv"
F copy big.bin "s3://$B/$P/big.bin" -q

# ---------------------------------------------------------------- 1 internal
# No bug is known that reaches exit 1, and provoking one honestly is not
# possible. The one real situation that does is memory running out: ferry
# reports a failed allocation as an internal error. Under an address-space
# limit (ulimit -v) smaller than the chunk asked for, a copy fails cleanly
# with exit 1 and "out of memory", and writes nothing. Skipped on sanitizer
# builds, whose shadow memory cannot live under such a limit.
if grep -qa __asan_init "$FERRY"; then
  skip "1: out of memory (sanitizer build: ulimit -v would stop ASan itself)"
else
  ( ulimit -v 400000; exec timeout 60 "$FERRY" copy big.bin out-oom.bin --chunk-size 1G ) > "$WORK/.out" 2>&1; code=$?
  [ "$code" = 1 ] && ok "1: a 1 GiB chunk under a 400 MB address-space limit" || fail "1: out of memory (exit $code, want 1)" "$(tail -3 "$WORK/.out")"
  out_has "   ... says out of memory" "out of memory"
  check "   ... no destination, no temp file" bash -c "[ ! -e out-oom.bin ] && ! ls -A . | grep -q ferry-tmp"
  ( ulimit -v 400000; exec timeout 60 "$FERRY" copy small.csv "s3://$B/$P/oom.csv" --part-size 1G ) > "$WORK/.out" 2>&1; code=$?
  [ "$code" = 1 ] && ok "1: a 1 GiB S3 part under a 400 MB address-space limit" || fail "1: S3 out of memory (exit $code, want 1)" "$(tail -3 "$WORK/.out")"
  if ! s3has oom.csv && [ "$(uploads)" = 0 ]; then ok "   ... no object, no multipart upload"; else fail "   ... no object, no multipart upload"; fi
fi

# ---------------------------------------------------------------- 2 usage
expect_code "2: copy without arguments" 2 F copy
expect_code "2: an unknown command" 2 F frobnicate
expect_code "2: an unknown option" 2 F rm "s3://$B/$P/small.csv" --bogus
check "   ... the refused rm deleted nothing" s3has small.csv
expect_code "2: wait with a bad duration" 2 F wait "s3://$B/$P/x" --timeout soon
expect_code "2: a directory as a single source" 2 F copy "$WORK" out.csv

# ---------------------------------------------------------------- 3 configuration
expect_code "3: an undefined connection id" 3 F copy nosuchconn_zz:/x.csv out.csv
out_has "   ... the message says where it looked" "AIRFLOW_CONN_NOSUCHCONN_ZZ"
expect_code "3: a malformed connection (broken JSON)" 3 F ls broken:public.x
expect_code "3: a connection type no hook serves" 3 F ls odd:/x
expect_code "3: an unreadable key_file" 3 env AIRFLOW_CONN_NOKEY="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=%2Fnonexistent%2Fkey&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")" \
  timeout 60 "$FERRY" ls nokey:/

# ---------------------------------------------------------------- 4 connection / authentication
expect_code "4: a wrong S3 secret" 4 F copy small.csv "s3://$B/$P/x.csv" --s3-conn bads3
check "   ... the secret is not printed" bash -c "! grep -q WrongS3cretKey '$WORK/.out'"
if s3has x.csv; then fail "   ... no object after the refused upload"; else ok "   ... no object after the refused upload"; fi
expect_code "4: a wrong Postgres password" 4 F exec badpg: "SELECT 1"
expect_code "4: an unknown SFTP host key" 4 F ls stranger:/
out_has "   ... the message names the fingerprint" "$SFTP_HOSTKEY_SHA256"
expect_code "4: HTTP 401" 4 F cat "$HTTP_ECHO_URL/auth/basic"
# A server nobody answers for (a closed port: connection refused) is retried
# and then exit 4 "gave up after N attempts", the same for all five network
# hooks (one rule: core/retry.c; curl's codes mapped once in hooks/curl).
# The port is one the kernel just gave out and nothing listens on.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
NOPE=127.0.0.1:$(free_port)
expect_code "4: S3 endpoint refusing connections ($NOPE), --retries 2" 4 env AIRFLOW_CONN_DEADS3="aws://$CEPH_S3_ACCESS_KEY:x@?region_name=$CEPH_S3_REGION&endpoint_url=$(urlenc "http://$NOPE")" \
  timeout 60 "$FERRY" copy small.csv "s3://$B/$P/dead.csv" --s3-conn deads3 --retries 2
out_has "   ... gave up after 2 attempts" "gave up after 2 attempts"
expect_code "4: HTTP server refusing connections, --retries 2" 4 F copy "http://$NOPE/x" out.csv --retries 2
out_has "   ... gave up after 2 attempts" "gave up after 2 attempts"
expect_code "4: SFTP server refusing connections, --retries 2" 4 F copy "sftp://$SFTP_USER@$NOPE/x.csv" out.csv --retries 2
out_has "   ... gave up after 2 attempts" "gave up after 2 attempts"
expect_code "4: Postgres refusing connections, --retries 2" 4 F copy "postgresql://$PG_USER@$NOPE/$PG_DATABASE#public.t" out.csv --retries 2
out_has "   ... gave up after 2 attempts" "gave up after 2 attempts"
expect_code "4: MariaDB refusing connections, --retries 2" 4 F copy small.csv "mysql://$MYSQL_USER@$NOPE/$MYSQL_DATABASE#t" --retries 2
out_has "   ... gave up after 2 attempts" "gave up after 2 attempts"
check "   ... no local destination from any of them" test ! -e out.csv
# A TLS server whose CA file is missing: certificate verification cannot
# happen, exit 4 at once (not retried) from S3, HTTP and Postgres alike.
NOCA=$WORK/no-such-ca.crt
expect_code "4: S3 over TLS with a missing CA file" 4 env AIRFLOW_CONN_NOCAS3="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?region_name=$CEPH_S3_REGION&endpoint_url=$(urlenc "$CEPH_S3_HTTPS_ENDPOINT")&ca_bundle=$(urlenc "$NOCA")" \
  timeout 60 "$FERRY" copy small.csv "s3://$B/$P/noca.csv" --s3-conn nocas3 --retries 2
out_has "   ... names the file" "no-such-ca.crt"
check "   ... not retried" bash -c "! grep -q 'gave up after' '$WORK/.out'"
if s3has noca.csv; then fail "   ... no object"; else ok "   ... no object"; fi
expect_code "4: HTTPS with a missing CA file" 4 env AIRFLOW_CONN_NOCAWEB="https://${HTTPS_BASE_URL#https://}/?ca_bundle=$(urlenc "$NOCA")" \
  timeout 60 "$FERRY" copy nocaweb:/orders.csv out.csv --retries 2
out_has "   ... names the file" "no-such-ca.crt"
check "   ... not retried" bash -c "! grep -q 'gave up after' '$WORK/.out'"
expect_code "4: Postgres verify-full with a missing CA file" 4 env AIRFLOW_CONN_NOCAPG="postgresql://$PG_USER:$(urlenc "$PG_PASSWORD")@127.0.0.1:$PG_PORT/$PG_DATABASE?sslmode=verify-full&sslrootcert=$(urlenc "$NOCA")" \
  timeout 60 "$FERRY" exec nocapg: "SELECT 1"
out_has "   ... names the file" "no-such-ca.crt"
expect_code "4: HTTPS with an untrusted certificate (not retried)" 4 F cat "$HTTPS_BASE_URL/"

# ---------------------------------------------------------------- 5 not found
expect_code "5: a missing S3 key" 5 F copy "s3://$B/$P/nope.csv" out.csv
check "   ... no local file" test ! -e out.csv
expect_code "5: a missing bucket" 5 F ls "s3://no-such-bucket-$$/x/"
expect_code "5: a missing table" 5 F copy warehouse:public.no_such_table_zz out.csv
expect_code "5: a missing SFTP file" 5 F cat "partner:$RD/nope.csv"
expect_code "5: HTTP 404" 5 F cat "$HTTP_ECHO_URL/status/404"
expect_code "5: rm of a missing key" 5 F rm "s3://$B/$P/nope.csv"

# ---------------------------------------------------------------- 6 destination exists
etag_before=$(awsx s3api head-object --bucket "$B" --key "$P/small.csv" --query ETag --output text)
expect_code "6: S3 destination exists, no --replace" 6 F copy big.bin "s3://$B/$P/small.csv"
check "   ... the object is unchanged" test "$etag_before" = "$(awsx s3api head-object --bucket "$B" --key "$P/small.csv" --query ETag --output text)"
echo old > exists.csv
expect_code "6: local destination exists, no --replace" 6 F copy small.csv exists.csv
check "   ... the file is unchanged" test "$(cat exists.csv)" = old
expect_code "6: SFTP destination exists, no --replace" 6 F copy big.bin "partner:$RD/small.csv"
check "   ... the SFTP file is unchanged" cmp small.csv "$RHOME/small.csv"

# ---------------------------------------------------------------- 7 data / query
expect_code "7: a SQL syntax error" 7 F exec warehouse: "SELEC 1"
expect_code "7: a query failing mid-export" 7 F copy warehouse: --query "SELECT g, 1/(g - 3) FROM generate_series(1, 5) g" out.csv
check "   ... no destination" test ! -e out.csv
printf 'this is not gzip' > bad.csv.gz
expect_code "7: corrupt gzip" 7 F copy bad.csv.gz out.csv
check "   ... no destination" test ! -e out.csv
gzip -c big.bin | head -c 100000 > cut.bin.gz
expect_code "7: truncated gzip" 7 F copy cut.bin.gz out.bin
check "   ... no destination, no temp file" bash -c "[ ! -e out.bin ] && ! ls -A . | grep -q ferry-tmp"

# ---------------------------------------------------------------- 8 transient failure after every retry
expect_code "8: HTTP 503 every time, --retries 2" 8 F copy "$HTTP_ECHO_URL/status/503" out.json --retries 2
out_has "   ... gave up after 2 attempts" "gave up after 2 attempts"
check "   ... no destination" test ! -e out.json
expect_code "8: HTTP 429 every time, --retries 2" 8 F copy "$HTTP_ECHO_URL/status/429" out.json --retries 2
check "   ... no destination" test ! -e out.json

# ---------------------------------------------------------------- 9 local I/O
# a reader closing the pipe early is no error: exit 0, nothing on stderr
# (issue #17; more in pipes.sh)
timeout 60 "$FERRY" cat "s3://$B/$P/big.bin" 2> "$WORK/.out" | head -c 10 > /dev/null
code=${PIPESTATUS[0]}
[ "$code" = 0 ] && [ ! -s "$WORK/.out" ] && ok "0: the reader closed the pipe (cat | head -c 10), quietly" || fail "0: closed pipe (exit $code, want 0, no stderr)" "$(cat "$WORK/.out")"
timeout 60 "$FERRY" copy warehouse: --query "SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g" - 2> "$WORK/.out" | head -n 1 > /dev/null
code=${PIPESTATUS[0]}
[ "$code" = 0 ] && [ ! -s "$WORK/.out" ] && ok "0: the reader closed the pipe (postgres -> stdout | head -n 1), quietly" || fail "0: closed pipe from postgres (exit $code, want 0, no stderr)" "$(cat "$WORK/.out")"
expect_code "9: stdout on a full device (cat > /dev/full)" 9 bash -c "timeout 60 '$FERRY' cat 's3://$B/$P/big.bin' > /dev/full"
out_has "   ... says no space left" "No space left on device"
mkdir -p "$MNT"
if mount -t tmpfs -o size=1m,mode=0755 ferry-exit-full "$MNT" 2>/dev/null; then
  MOUNTED=1
  expect_code "9: a full disk (4 MiB into a 1 MiB tmpfs)" 9 F copy "s3://$B/$P/big.bin" "$MNT/big.bin"
  out_has "   ... says no space left" "No space left on device"
  check "   ... no destination, no temp file left on the full disk" bash -c "[ -z \"\$(ls -A '$MNT')\" ]"
  expect_code "9: a full disk with --spool disk (TMPDIR on the tmpfs)" 9 env TMPDIR="$MNT" timeout 60 "$FERRY" copy "s3://$B/$P/big.bin" spooled.bin --spool disk
  check "   ... no destination" test ! -e spooled.bin
  umount "$MNT" && MOUNTED=0
  if mount -t tmpfs -o size=1m,ro ferry-exit-ro "$MNT" 2>/dev/null; then
    MOUNTED=1
    expect_code "9: a read-only file system" 9 F copy small.csv "$MNT/small.csv"
    out_has "   ... says so" "Read-only file system"
    umount "$MNT" && MOUNTED=0
  fi
else
  skip "9: full / read-only tmpfs (this user may not mount a tmpfs)"
fi

# ---------------------------------------------------------------- 10 timeout
expect_code "10: an HTTP server silent for longer than --timeout 2, --retries 2" 10 F copy "$HTTP_ECHO_URL/delay/10" delayed.json --timeout 2 --retries 2
out_has "   ... no data moved for 2 s, gave up after 2 attempts" "gave up after 2 attempts.*no data moved for 2 s"
check "   ... no destination" test ! -e delayed.json
t0=$(date +%s%N)
expect_code "10: wait for a key that never comes (--timeout 2s)" 10 F wait "s3://$B/$P/never.csv" --timeout 2s --interval 1s
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "   ... after about 2 s (took $ms ms)" test "$ms" -ge 1900 -a "$ms" -lt 20000
expect_code "10: wait for an SFTP file that never comes" 10 F wait "partner:$RD/never.csv" --timeout 2s --interval 1s
expect_code "10: wait for a SQL condition that stays false" 10 F wait warehouse: --sql "SELECT false" --timeout 2s --interval 1s

# ---------------------------------------------------------------- 130 SIGINT / SIGTERM
# sig_test NAME SIGNAL DELAY CMD...: CMD in the background (stdin from $IN,
# default /dev/null), SIGNAL after DELAY seconds; it must exit 130 within 3 s
# of the signal. CMD runs under `timeout`, which passes the signal on.
sig_test() {
  local name=$1 sig=$2 delay=$3; shift 3
  "$@" < "${IN:-/dev/null}" > "$WORK/.out" 2>&1 &
  local pid=$!
  sleep "$delay"
  local t0; t0=$(date +%s%N)
  kill "-$sig" "$pid"
  wait "$pid"; local code=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ "$code" = 130 ] && [ "$ms" -lt 3000 ]; then ok "$name (exit 130, $ms ms after the signal)"
  else fail "$name (exit $code after $ms ms, want 130)" "$(tail -3 "$WORK/.out")"; fi
}
# feed BYTES: a FIFO ($WORK/feed) that delivers BYTES random bytes, then
# stalls (the writer sleeps; FEED_PID, stopped with kill after the test)
feed() {
  rm -f "$WORK/feed"; mkfifo "$WORK/feed"
  ( head -c "$1" /dev/urandom; exec sleep 60 ) > "$WORK/feed" &
  FEED_PID=$!
}
sig_test "130: SIGINT ends a wait" INT 1 timeout 60 "$FERRY" wait "s3://$B/$P/never.csv" --timeout 60s --interval 1s
out_has "   ... interrupted by signal 2" "interrupted by signal 2"
sig_test "130: SIGTERM ends a wait" TERM 1 timeout 60 "$FERRY" wait "partner:$RD/never.csv" --timeout 60s --interval 1s
out_has "   ... interrupted by signal 15" "interrupted by signal 15"
sig_test "130: SIGINT during an HTTP download (the server still thinking)" INT 1 timeout 60 "$FERRY" copy "$HTTP_ECHO_URL/delay/10" delayed.json
check "   ... no destination, no temp file" bash -c "[ ! -e delayed.json ] && ! ls -A . | grep -q ferry-tmp"
feed $((12 * 1024 * 1024))    # two 5 MiB parts uploaded, then the source stalls
IN=$WORK/feed sig_test "130: SIGTERM during a multipart upload to S3" TERM 4 timeout 60 "$FERRY" --log-level debug copy - "s3://$B/$P/interrupted.bin" --part-size 5M -q
kill "$FEED_PID" 2>/dev/null; wait "$FEED_PID" 2>/dev/null
out_has "   ... the multipart upload had started" "multipart upload .* started"
out_has "   ... and was aborted" "multipart upload .* aborted"
if s3has interrupted.bin; then fail "   ... no object"; else ok "   ... no object"; fi
check "   ... no multipart upload left" test "$(uploads)" = 0
feed 3000000
IN=$WORK/feed sig_test "130: SIGINT during an SFTP upload from a stalled pipe" INT 3 timeout 60 "$FERRY" copy - "partner:$RD/interrupted.bin" -q
kill "$FEED_PID" 2>/dev/null; wait "$FEED_PID" 2>/dev/null
check "   ... no file, no temp file on the server" bash -c "[ ! -e '$RHOME/interrupted.bin' ] && ! ls -A '$RHOME' | grep -q ferry-tmp"
check "   ... and the other file there is intact" cmp small.csv "$RHOME/small.csv"

finish

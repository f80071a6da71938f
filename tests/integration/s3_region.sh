#!/usr/bin/env bash
# s3_region.sh - a bucket in another region than the connection's: ferry
# learns the bucket's region from the answer, signs the request again for it
# and keeps the region for the rest of the run.  tests/harness/region_proxy.py,
# started here on a free loopback port, sits in front of radosgw (which
# accepts any region in a SigV4 scope) and plays AWS: the bucket "lives" in
# us-east-1, and a request signed for any other region is answered by the
# proxy itself (301 PermanentRedirect + x-amz-bucket-region, or 400
# AuthorizationHeaderMalformed naming the region) and never reaches radosgw.
# The connection says eu-west-1.  Checked from the proxy's log: exactly one
# redirect per run (also with --transfers 4 copying 12 files at once), every
# forwarded request signed for us-east-1; a redirect loop is exit 3 naming
# both regions, with nothing written.  What reached radosgw is read back
# with ferry through a direct connection (the aws CLI costs seconds a call).
HARNESS=$(cd "$(dirname "$0")/../harness" && pwd)
. "$(dirname "$0")/../lib.sh"
load_services_env
cd "$WORK"

B=$CEPH_S3_BUCKET
P="ferry-region-$$-$RANDOM"
PROXY_PID=
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_DIRECT="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?region_name=us-east-1&endpoint_url=$(urlenc "$CEPH_S3_ENDPOINT")"
trap '[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null; "$FERRY" rm -q --recursive "direct:$B/$P/" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

"$FERRY" ls "direct:$B/" >/dev/null 2>&1 || skip_all "radosgw at $CEPH_S3_ENDPOINT does not answer"

# start_proxy MODE: a new proxy (and a new log) in front of radosgw
start_proxy() {
  [ -n "$PROXY_PID" ] && { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }
  LOG=$WORK/proxy-$1.log
  rm -f "$LOG" "$WORK/port"
  : >"$LOG"
  python3 "$HARNESS/region_proxy.py" --port 0 --port-file "$WORK/port" --upstream "${CEPH_S3_ENDPOINT#http://}" \
    --bucket "$B" --region us-east-1 --other-region eu-west-1 --mode "$1" --log "$LOG" &
  PROXY_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
  PPORT=$(cat "$WORK/port")
  export AIRFLOW_CONN_FARAWAY="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?region_name=eu-west-1&endpoint_url=$(urlenc "http://127.0.0.1:$PPORT")"
}
# redirects / forwarded_as REGION: lines of the current log
redirects() { grep -c '^REDIRECT' "$LOG"; }
forwarded_as() { grep -c "^FORWARD .* signed=$1 " "$LOG"; }
# log_is R F: R redirects, F forwarded requests, all of them signed for us-east-1
log_is() {
  local r f w
  r=$(redirects); f=$(grep -c '^FORWARD' "$LOG"); w=$(forwarded_as us-east-1)
  [ "$r" = "$1" ] && [ "$f" -ge "$2" ] && [ "$w" = "$f" ] || { echo "redirects $r (want $1), forwarded $f (want >= $2), signed us-east-1 $w"; cat "$LOG"; return 1; }
}

# absent KEY: no such object in radosgw (exit 5 reading it directly)
absent() { "$FERRY" cat "direct:$B/$1" >/dev/null 2>&1; [ $? = 5 ]; }
# same_as KEY FILE: the object's bytes in radosgw are FILE's
same_as() { "$FERRY" cat "direct:$B/$1" >"$WORK/back" && cmp -s "$WORK/back" "$2"; }

printf 'id,name\n1,alpha\n2,beta\n' >small.csv
mkdir -p many
for i in $(seq -w 1 12); do printf 'id,n\n%s,%s\n' "$i" "$RANDOM" >"many/f$i.csv"; done
head -c $((11 * 1024 * 1024)) /dev/urandom >big.bin

# ------------------------------------------------------------ 301 PermanentRedirect
start_proxy permanent
expect_code "301: a PutObject signed for eu-west-1 is redirected, re-signed for us-east-1, stored" 0 \
  "$FERRY" copy small.csv "s3://$B/$P/one.csv" --s3-conn faraway --log-level debug
cp "$WORK/.out" last
check "   ... the debug log says which region the bucket is in" grep -q "bucket $B is in region us-east-1 (not eu-west-1)" last
check "   ... one redirect, then only requests signed for us-east-1 reach radosgw" log_is 1 1
check "   ... the object is in radosgw" same_as "$P/one.csv" small.csv

: >"$LOG"
expect_code "301 once per run: 12 files with --transfers 4" 0 \
  "$FERRY" copy many/ "s3://$B/$P/many/" --s3-conn faraway --transfers 4
check "   ... exactly one redirect for the 12 files" log_is 1 12
check "   ... all 12 objects stored" test "$("$FERRY" ls "direct:$B/$P/many/" | grep -c '^f[0-9]*\.csv$')" = 12

: >"$LOG"
expect_code "301 on a read: GetObject re-signed" 0 "$FERRY" cat "faraway:$B/$P/one.csv"
cp "$WORK/.out" last
check "   ... the bytes are the file's" cmp -s last small.csv
check "   ... one redirect" log_is 1 1

: >"$LOG"
expect_code "301 on a multipart upload (11 MiB, 5 MiB parts): Create redirected, parts signed right" 0 \
  "$FERRY" copy big.bin "s3://$B/$P/big.bin" --s3-conn faraway --part-size 5M
check "   ... one redirect, the parts all signed for us-east-1" log_is 1 4
check "   ... the object has the file's bytes" same_as "$P/big.bin" big.bin

: >"$LOG"
expect_code "301 to a HEAD (no body, the header alone): rm finds the key and deletes it" 0 \
  "$FERRY" rm "faraway:$B/$P/one.csv"
check "   ... the HEAD was the one redirected" grep -q '^REDIRECT HEAD .* -> 301 us-east-1' "$LOG"
check "   ... one redirect" log_is 1 2
check "   ... the object is gone" absent "$P/one.csv"

# ------------------------------------------------------------ 400 AuthorizationHeaderMalformed
start_proxy malformed
expect_code "400 AuthorizationHeaderMalformed naming us-east-1: re-signed, stored" 0 \
  "$FERRY" copy small.csv "s3://$B/$P/two.csv" --s3-conn faraway
check "   ... one redirect (400), then only us-east-1" log_is 1 1
check "   ... the proxy answered 400" grep -q '^REDIRECT [A-Z]* .* signed=eu-west-1 -> 400 us-east-1' "$LOG"
: >"$LOG"
expect_code "400 once per run: 12 files with --transfers 4" 0 \
  "$FERRY" copy many/ "s3://$B/$P/many2/" --s3-conn faraway --transfers 4
check "   ... exactly one redirect" log_is 1 12
check "   ... a PutObject's 400 with its XML body" grep -q '^REDIRECT PUT .* signed=eu-west-1 -> 400 us-east-1' "$LOG"

# ------------------------------------------------------------ a redirect loop
start_proxy loop
expect_code "a redirect loop (eu-west-1 -> us-east-1 -> eu-west-1): exit 3" 3 \
  "$FERRY" copy small.csv "s3://$B/$P/loop.csv" --s3-conn faraway
cp "$WORK/.out" last
check "   ... the message names both regions" grep -Eq "redirected twice: the bucket was said to be in region us-east-1 \(request signed for eu-west-1\), then, signed for us-east-1, in region eu-west-1" last
check "   ... two answers, nothing forwarded" log_is 2 0
check "   ... no object" absent "$P/loop.csv"

kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=
finish

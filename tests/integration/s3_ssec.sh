#!/usr/bin/env bash
# s3_ssec.sh - SSE-C (customer-provided keys, hooks/s3/s3_ssec.c) against
# radosgw over the harness's TLS endpoint (radosgw takes SSE-C keys only over
# a secure channel): a single PutObject and a multipart upload (forced with
# --part-size) written with a key, read back byte-identical by ferry and,
# independently, by the aws CLI with the key; the aws CLI without the key is
# refused (the objects really are encrypted); ferry without a key or with a
# wrong one is exit 4 with a message naming the system, connection,
# operation and the SSE-C key, and no local file is left; an S3 -> S3 copy
# from one key to another (--sse-c-copy-source-key); the connection extra
# sse_customer_key; a key file of the wrong form is exit 2 naming the file,
# never its content.
# SSEC_S3_ENDPOINT overrides the endpoint (default $CEPH_S3_HTTPS_ENDPOINT).
# Without SSE-C on the server (radosgw behind the TLS proxy needs
# rgw_trust_forwarded_https = true and the proxy's X-Forwarded-Proto: https,
# tests/harness/) the test is skipped, not passed.
. "$(dirname "$0")/../lib.sh"
load_services_env
cd "$WORK"

EP=${SSEC_S3_ENDPOINT:-${CEPH_S3_HTTPS_ENDPOINT:-}}
[ -n "$EP" ] || { fail "CEPH_S3_HTTPS_ENDPOINT is not in the harness env (tests/harness/services.sh up starts it)"; finish; }
B=$CEPH_S3_BUCKET
P="ferry-ssec-$$-$RANDOM"
# the aws CLI on the TLS endpoint (checksums only when required: radosgw 16
# does not take the CLI's streaming trailers)
awss() {
  AWS_ACCESS_KEY_ID=$CEPH_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$CEPH_S3_SECRET_KEY \
    AWS_DEFAULT_REGION=${CEPH_S3_REGION:-us-east-1} AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null \
    AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required \
    timeout -k 5 120 "${AWS_CLI:-aws}" --endpoint-url "$EP" --ca-bundle "$TLS_CA_FILE" "$@"
}
cleanup() {
  [ "$BASHPID" = "$$" ] || return 0
  # ListObjectsV2 + DeleteObjects need no key (ferry aborts its own uploads)
  "$FERRY" rm -q --recursive "ssec:$B/$P/" >/dev/null 2>&1
  rm -rf "$WORK"
}
# kept NAME: the output of the last expect_code, kept as NAME.log (check overwrites .out)
kept() { cp "$WORK/.out" "$WORK/$1.log"; }
trap cleanup EXIT

Q="region_name=${CEPH_S3_REGION:-us-east-1}&endpoint_url=$(urlenc "$EP")&ca_bundle=$(urlenc "$TLS_CA_FILE")"
export AIRFLOW_CONN_SSEC="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?$Q"
head -c 32 /dev/urandom > k1.raw                  # form 1: 32 raw bytes
head -c 32 /dev/urandom > k2.raw
base64 -w0 k2.raw > k2.b64; echo >> k2.b64        # form 2: base64 and a newline
head -c 32 /dev/urandom > wrong.raw
seq 1 40000 | sed 's/$/,row/' > small.csv
head -c $((12 * 1024 * 1024 + 12345)) /dev/urandom > big.bin

# ---- single PutObject
"$FERRY" copy small.csv "ssec:$B/$P/small.csv" --sse-c-key k1.raw > put.log 2>&1; rc=$?
if [ "$rc" != 0 ] && grep -q 'HTTP 400 InvalidRequest' put.log; then
  skip_all "the server refuses SSE-C at $EP (radosgw behind the TLS proxy: rgw_trust_forwarded_https and X-Forwarded-Proto, see tests/harness): $(tail -1 put.log)"
fi
[ "$rc" = 0 ] && ok "PutObject with --sse-c-key (32 raw bytes)" || fail "PutObject with --sse-c-key (exit $rc)" "$(tail -2 put.log)"
expect_code "ferry reads it back with the key" 0 "$FERRY" copy "ssec:$B/$P/small.csv" got-small.csv --sse-c-key k1.raw
check "... byte-identical" cmp small.csv got-small.csv
check "the aws CLI reads it with the key" awss s3api get-object --bucket "$B" --key "$P/small.csv" \
  --sse-customer-algorithm AES256 --sse-customer-key fileb://k1.raw aws-small.csv
check "... byte-identical" cmp small.csv aws-small.csv

# ---- multipart (forced by the part size), key as base64 text
expect_code "multipart upload with --sse-c-key (base64 file) and --part-size 5M" 0 \
  "$FERRY" --log-level debug copy big.bin "ssec:$B/$P/big.bin" --sse-c-key k2.b64 --part-size 5M
kept mp
check "... it was multipart (CreateMultipartUpload and 3 UploadPart)" \
  sh -c "grep -c 'POST .*uploads' mp.log | grep -qx 1 && test \$(grep -c 'PUT .*partNumber=' mp.log) -eq 3"
expect_code "ferry reads it back with the same key given as raw bytes" 0 "$FERRY" copy "ssec:$B/$P/big.bin" got-big.bin --sse-c-key k2.raw
check "... byte-identical" cmp big.bin got-big.bin
expect_code "the aws CLI without the key is refused (the object is encrypted)" 1 \
  awss s3 cp "s3://$B/$P/big.bin" aws-big-nokey.bin --only-show-errors
check "the aws CLI reads it with the key (aws s3 cp --sse-c)" awss s3 cp "s3://$B/$P/big.bin" aws-big.bin --sse-c AES256 --sse-c-key fileb://k2.raw --only-show-errors
check "... byte-identical" cmp big.bin aws-big.bin

# ---- no key, wrong key: exit 4, clear message, no local file
expect_code "ferry without a key: exit 4" 4 "$FERRY" copy "ssec:$B/$P/big.bin" nokey.bin
kept nokey
check "... names the system, connection, operation and the SSE-C key needed" \
  grep -q "s3(ssec): GetObject s3://$B/$P/big.bin failed: .*SSE-C key is needed" nokey.log
expect_code "ferry with a wrong key: exit 4" 4 "$FERRY" copy "ssec:$B/$P/big.bin" wrong.bin --sse-c-key wrong.raw
kept wrong
check "... says the SSE-C key does not match" grep -q "s3(ssec): GetObject .*SSE-C key does not match" wrong.log
check "no local file (nor temp file) is left" sh -c "! ls -a '$WORK' | grep -E '^(\\.)?(nokey|wrong)\\.bin'"

# ---- S3 -> S3 from one key to another
expect_code "S3 -> S3 copy, source key k1, destination key k2" 0 \
  "$FERRY" copy "ssec:$B/$P/small.csv" "ssec:$B/$P/copy.csv" --sse-c-copy-source-key k1.raw --sse-c-key k2.b64
expect_code "the copy reads back with k2" 0 "$FERRY" copy "ssec:$B/$P/copy.csv" got-copy.csv --sse-c-key k2.raw
check "... byte-identical" cmp small.csv got-copy.csv
expect_code "... and not with k1" 4 "$FERRY" copy "ssec:$B/$P/copy.csv" copy-k1.csv --sse-c-key k1.raw

# ---- the connection extra
export AIRFLOW_CONN_SSEC_X="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?$Q&sse_customer_key=$(urlenc "$(base64 -w0 k1.raw)")"
expect_code "the extra sse_customer_key reads the object" 0 "$FERRY" copy "ssec_x:$B/$P/small.csv" got-x.csv
check "... byte-identical" cmp small.csv got-x.csv

# ---- key files that hold no key
printf 'not a key\n' > bad.key
expect_code "a key file of another form: exit 2" 2 "$FERRY" copy small.csv "ssec:$B/$P/bad.csv" --sse-c-key bad.key
kept bad
check "... names the file, not its content" sh -c "grep -q 'bad.key' bad.log && ! grep -q 'not a key' bad.log"
expect_code "no object was written with a bad key file" 5 "$FERRY" copy "ssec:$B/$P/bad.csv" bad.csv
finish

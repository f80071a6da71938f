#!/usr/bin/env bash
# s3_attributes.sh - S3 write attributes (issue 16 item 5) against the
# harness's radosgw, read back with the aws CLI as the independent witness
# (botocore, its library: HeadObject, GetObjectTagging, GetObjectAcl, all in
# one process - tests/harness/s3_witness.py - after every write is done):
#   1. single PutObject with --content-encoding, --metadata, --tags (URL-encoded
#      characters), --acl public-read, --storage-class STANDARD, --requester-pays
#   2. the default Content-Type from DEST's name (.csv, .jsonl, .csv.gz with and
#      without --content-encoding gzip, no known extension)
#   3. multipart (--part-size 5M, 3 parts): the attributes ride on
#      CreateMultipartUpload
#   4. server-side copies: CopyObject keeps the source's metadata and tags
#      (COPY), replaces them when asked (REPLACE); the multipart way
#      (UploadPartCopy, forced by FERRY_S3_COPY_THRESHOLD) carries them over
#   5. storage classes: an unknown name is exit 2 before any request; one
#      radosgw has no placement for (GLACIER) is the server's refusal, exit 7,
#      with a hint; no object either way
#   6. invalid values: exit 2 naming the option (copy and sync)
#   7. the connection's extra_args (Airflow S3Hook extra_args names): used,
#      the CLI wins field by field, unknown keys warned about, bad values exit 2
#   8. --requester-pays is sent and signed on reads too (the http echo server
#      shows the request: x-amz-request-payer among SignedHeaders)
#   9. SSE: with radosgw's testing KMS (tests/harness/ceph_rgw.sh, asked of
#      the running radosgw through its admin socket) SSE-KMS round-trips;
#      without it the server refuses the signed header (InvalidRequest, not a
#      signature error) and the round trip is skipped, never passed
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
WITNESS=$(cd "$(dirname "$0")/../harness" && pwd)/s3_witness.py
cd "$WORK"

load_services_env
: "${CEPH_S3_ENDPOINT:?}" "${CEPH_S3_ACCESS_KEY:?}" "${CEPH_S3_SECRET_KEY:?}"
command -v "${AWS_CLI:-aws}" >/dev/null 2>&1 || skip_all "no aws CLI (the witness)"
B=${CEPH_S3_BUCKET:-etl-bucket}
P=attrs-$$-$RANDOM
export AIRFLOW_CONN_AWS_DEFAULT
AIRFLOW_CONN_AWS_DEFAULT=$(s3_conn_uri)
# cleanup with ferry itself (the aws CLI takes seconds per call on a loaded machine);
# a failed run's uploads are aborted by ferry (the storage-class check counts them)
trap '"$FERRY" rm -q --recursive "s3://$B/$P/" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

printf 'id,name\n1,a\n2,b\n' >small.csv
printf '{"id":1}\n{"id":2}\n' >small.jsonl
head -c 11534336 /dev/urandom >big.bin   # 11 MiB: 3 parts of 5 MiB
# w KEY FIELD: what the witness saw (run `witness KEY...` first)
w() { grep -F -- "$P/$1 $2 " witness.txt | head -1 | cut -d' ' -f3-; }
witness() { local k args=(); for k in "$@"; do args+=("$P/$k"); done
  timeout -k 5 120 python3 "$WITNESS" "$B" --uploads "$P/sc3.bin" "${args[@]}" >witness.txt 2>witness.err || fail "witness" "$(tail -3 witness.err)"; }
absent() { [ "$(w "$1" exists)" = 0 ]; }
# same NAME GOT WANT
same() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got:  $2" "want: $3"; fi; }

# ---- the writes (1-4, 7); the witness reads them all at once below ------------
expect_code "put: every attribute" 0 "$FERRY" copy small.csv "s3://$B/$P/one.csv" -q \
  --content-encoding identity --metadata Owner=ETL --metadata run-id=42 --tags team=data \
  --tags 'env=prod x&y/z' --acl public-read --storage-class STANDARD --requester-pays
"$FERRY" copy small.jsonl "s3://$B/$P/d.jsonl" -q
"$FERRY" copy small.csv "s3://$B/$P/d.csv.gz" -q
"$FERRY" copy small.csv "s3://$B/$P/e.csv.gz" -q --content-encoding gzip
"$FERRY" copy big.bin "s3://$B/$P/d.bin" -q --part-size 5M
expect_code "multipart: attributes" 0 "$FERRY" copy big.bin "s3://$B/$P/big.bin" -q --part-size 5M \
  --content-type application/x-test --content-encoding identity --metadata a=1 --tags t=2 \
  --acl bucket-owner-full-control --storage-class STANDARD
expect_code "copy: CopyObject keeps" 0 "$FERRY" copy "s3://$B/$P/one.csv" "s3://$B/$P/keep.csv" -q
expect_code "copy: CopyObject replaces" 0 "$FERRY" copy "s3://$B/$P/one.csv" "s3://$B/$P/repl.csv" -q \
  --metadata x=1 --tags k=v --storage-class STANDARD
FERRY_S3_COPY_THRESHOLD=1 "$FERRY" --log-level debug copy "s3://$B/$P/one.csv" "s3://$B/$P/mkeep.csv" -q 2>mkeep.log
grep -q 'partNumber=1' mkeep.log && ok "copy: UploadPartCopy used" || fail "copy: UploadPartCopy used" "$(tail -3 mkeep.log)"
grep -q "source tags 'env=prod%20x%26y%2Fz&team=data'" mkeep.log && ok "copy (multipart): the source's tags read and sent on Create" ||
  fail "copy (multipart): source tags" "$(grep 'multipart copy' mkeep.log)"
FERRY_S3_COPY_THRESHOLD=1 "$FERRY" copy "s3://$B/$P/one.csv" "s3://$B/$P/mrepl.csv" -q --content-type text/x-new
conn_with() { printf '%s&extra_args=%s' "$(s3_conn_uri)" "$(urlenc "$1")"; }
AIRFLOW_CONN_AWS_ATTRS=$(conn_with '{"ContentType": "text/x-conn", "Metadata": {"src": "conn"}, "Tagging": "a=1&b=x%20y", "StorageClass": "GLACIER", "ACL": "private", "Foo": 1}') \
  "$FERRY" copy small.csv "aws_attrs:$B/$P/conn.csv" -q --storage-class STANDARD --metadata cli=1 2>conn.err
same "extra_args: copy (the CLI's STANDARD wins over the extra's GLACIER)" "$?" 0
mkdir -p syncdir && cp small.csv syncdir/
expect_code "sync: --metadata and --tags" 0 "$FERRY" sync syncdir/ "s3://$B/$P/sync/" -q --metadata via=sync --tags s=1
witness one.csv d.jsonl d.csv.gz e.csv.gz d.bin big.bin keep.csv repl.csv mkeep.csv mrepl.csv conn.csv sync/small.csv

# ---- 1. single PutObject ----------------------------------------------------
same "put: head-object" "$(w one.csv type) $(w one.csv encoding) $(w one.csv meta.owner) $(w one.csv meta.run-id) $(w one.csv class)" \
  "text/csv identity ETL 42 STANDARD"
same "put: tags" "$(w one.csv tags)" "env=prod x&y/z;team=data;"
same "put: --acl public-read grants AllUsers READ" "$(w one.csv allusers)" "READ"

# ---- 2. default Content-Type from the name -----------------------------------
same "type: .jsonl" "$(w d.jsonl type)" "application/x-ndjson"
same "type: .csv.gz" "$(w d.csv.gz type) $(w d.csv.gz encoding)" "application/gzip None"
same "type: .csv.gz with --content-encoding gzip" "$(w e.csv.gz type) $(w e.csv.gz encoding)" "text/csv gzip"
same "type: .bin (multipart)" "$(w d.bin type)" "application/octet-stream"

# ---- 3. multipart: the attributes go on CreateMultipartUpload -----------------
same "multipart: head-object" "$(w big.bin type) $(w big.bin encoding) $(w big.bin meta.a) $(w big.bin allusers)" \
  "application/x-test identity 1 none"
case $(w big.bin etag) in *-3) ok "multipart: 3 parts" ;; *) fail "multipart: 3 parts" "$(w big.bin etag)" ;; esac
case $(w big.bin class) in STANDARD | None) ok "multipart: storage class STANDARD" ;; *) fail "multipart: storage class" "$(w big.bin class)" ;; esac
if [ "$(w big.bin tags)" = "t=2;" ]; then ok "multipart: tags"
else skip "multipart: tags ('$(w big.bin tags)'): radosgw 16 ignores x-amz-tagging on CreateMultipartUpload (aws s3api create-multipart-upload --tagging gets none either)"; fi

# ---- 4. server-side copies ---------------------------------------------------
same "copy: metadata and type kept" "$(w keep.csv type) $(w keep.csv encoding) $(w keep.csv meta.owner)" "text/csv identity ETL"
same "copy: tags kept" "$(w keep.csv tags)" "env=prod x&y/z;team=data;"
same "copy: metadata replaced" "$(w repl.csv type) $(w repl.csv encoding) $(w repl.csv meta.x) $(w repl.csv meta.owner)" "text/csv None 1 "
case $(w repl.csv tags) in
  "k=v;") ok "copy: tags replaced" ;;
  "env=prod x&y/z;team=data;" | "") skip "copy: tags replaced ('$(w repl.csv tags)'): radosgw 16 ignores x-amz-tagging on CopyObject: the tags follow the metadata directive (aws s3api copy-object --tagging-directive REPLACE --tagging k=v keeps the source's)" ;;
  *) fail "copy: tags replaced" "$(w repl.csv tags)" ;;
esac
same "copy (multipart): metadata and type carried over" "$(w mkeep.csv type) $(w mkeep.csv encoding) $(w mkeep.csv meta.owner) $(w mkeep.csv meta.run-id)" "text/csv identity ETL 42"
if [ "$(w mkeep.csv tags)" = "env=prod x&y/z;team=data;" ]; then ok "copy (multipart): tags carried over"
else skip "copy (multipart): tags ('$(w mkeep.csv tags)'): radosgw 16 ignores x-amz-tagging on CreateMultipartUpload"; fi
same "copy (multipart): replaced" "$(w mrepl.csv type) $(w mrepl.csv encoding) $(w mrepl.csv meta.owner)" "text/x-new None "

# ---- 7. the connection's extra_args (written above) ---------------------------
same "extra_args: head-object" "$(w conn.csv type) $(w conn.csv meta.cli) $(w conn.csv meta.src) $(w conn.csv class)" "text/x-conn 1  STANDARD"
same "extra_args: Tagging" "$(w conn.csv tags)" "a=1;b=x y;"
grep -q "ignoring extra_args key 'Foo'" conn.err && ok "extra_args: unknown key warned about" || fail "extra_args: warning" "$(cat conn.err)"
AIRFLOW_CONN_AWS_ATTRS=$(conn_with '{"ACL": "everyone"}') expect_code "extra_args: bad ACL is exit 2" 2 \
  "$FERRY" copy small.csv "aws_attrs:$B/$P/conn2.csv"
grep -q "extra_args.ACL" "$WORK/.out" && ok "extra_args: the message names extra_args.ACL" || fail "extra_args: message" "$(cat "$WORK/.out")"
same "sync: witness" "$(w sync/small.csv type) $(w sync/small.csv meta.via) $(w sync/small.csv tags)" "text/csv sync s=1;"

# ---- 5. storage classes ------------------------------------------------------
expect_code "storage class: unknown name is exit 2" 2 "$FERRY" copy small.csv "s3://$B/$P/sc1.csv" --storage-class FOO
grep -q -- "--storage-class: unknown storage class 'FOO'" "$WORK/.out" && ok "storage class: the message names the option" ||
  fail "storage class: message" "$(cat "$WORK/.out")"
expect_code "storage class: GLACIER refused by radosgw, exit 7" 7 "$FERRY" copy small.csv "s3://$B/$P/sc2.csv" --storage-class GLACIER
grep -q "storage class GLACIER" "$WORK/.out" && ok "storage class: the refusal names the class" || fail "storage class: hint" "$(cat "$WORK/.out")"
expect_code "storage class: GLACIER refused on multipart too" 7 "$FERRY" copy big.bin "s3://$B/$P/sc3.bin" --storage-class GLACIER --part-size 5M

# ---- 6. invalid values: exit 2 naming the option -----------------------------
bad() { # NAME OPTION-TEXT ARGS...
  local name=$1 want=$2; shift 2
  "$FERRY" copy small.csv "s3://$B/$P/bad.csv" "$@" >bad.out 2>&1; local rc=$?
  if [ $rc = 2 ] && grep -q -- "$want" bad.out; then ok "invalid: $name"; else fail "invalid: $name (exit $rc)" "$(cat bad.out)"; fi
}
bad "--sse" "--sse: 'AES128'" --sse AES128
bad "--sse-kms-key-id without aws:kms" "--sse-kms-key-id needs --sse aws:kms" --sse-kms-key-id k1
bad "--sse-bucket-key without aws:kms" "--sse-bucket-key needs --sse aws:kms" --sse AES256 --sse-bucket-key
bad "--acl" "--acl: unknown canned ACL 'owner'" --acl owner
bad "--metadata without =" "--metadata takes KEY=VALUE" --metadata novalue
bad "--metadata bad key" "--metadata: the key of 'a b=1'" --metadata 'a b=1'
bad "--metadata non-ASCII value" "--metadata: the value of 'k=é'" --metadata 'k=é'
bad "--metadata twice" "given twice" --metadata K=1 --metadata k=2
bad "--tags empty key" "--tags: '=x'" --tags '=x'
bad "--tags more than 10" "more than 10 tags" $(for i in $(seq 1 11); do printf -- '--tags k%s=v ' "$i"; done)
bad "--content-type" "--content-type: 'csv'" --content-type csv
bad "--content-encoding" "--content-encoding: 'g zip;'" --content-encoding 'g zip;'
expect_code "invalid: sync --sse bogus is exit 2" 2 "$FERRY" sync syncdir/ "s3://$B/$P/sync2/" --sse bogus

# ---- 8. requester pays on reads: sent and signed ------------------------------
if [ -n "${HTTP_ECHO_URL:-}" ] && curl -sf -m 5 "$HTTP_ECHO_URL/health" >/dev/null 2>&1; then
  AIRFLOW_CONN_AWS_ECHO=$(s3_conn_uri "$HTTP_ECHO_URL") "$FERRY" copy aws_echo:echo/x.json - --requester-pays >echo.json 2>echo.err
  if grep -qi '"x-amz-request-payer": *"requester"' echo.json && grep -q 'SignedHeaders=[^,"]*x-amz-request-payer' echo.json; then
    ok "requester pays: sent and signed on a GET"
  else fail "requester pays: GET" "$(head -c 600 echo.json)" "$(cat echo.err)"; fi
else
  skip "requester pays on reads: no http echo server (HTTP_ECHO_URL)"
fi
expect_code "requester pays: read back from radosgw" 0 "$FERRY" copy "s3://$B/$P/one.csv" rp.csv --requester-pays
cmp -s rp.csv small.csv && ok "requester pays: bytes" || fail "requester pays: bytes"

# ---- 9. SSE --------------------------------------------------------------------
rgw_conf() { # NAME: the running radosgw's setting, through its admin socket (read-only)
  local sock
  sock=$(ls "$(dirname "${CEPH_CONF:-/nonexistent}")"/run/ceph-client.rgw.a.*.asok 2>/dev/null | head -1)
  [ -n "$sock" ] && timeout 10 ceph --admin-daemon "$sock" config get "$1" 2>/dev/null |
    python3 -c 'import json,sys; print(list(json.load(sys.stdin).values())[0])' 2>/dev/null
}
kms=$(rgw_conf rgw_crypt_s3_kms_backend)
ssl=$(rgw_conf rgw_crypt_require_ssl)
sse=0
if [ "$kms" = testing ] && [ "$ssl" = false ]; then
  sse=1
  expect_code "sse: aws:kms single PUT" 0 "$FERRY" copy small.csv "s3://$B/$P/kms.csv" -q --sse aws:kms --sse-kms-key-id testkey-1
  expect_code "sse: aws:kms multipart" 0 "$FERRY" copy big.bin "s3://$B/$P/kms.bin" -q --part-size 5M --sse aws:kms --sse-kms-key-id testkey-2
  "$FERRY" copy "s3://$B/$P/kms.bin" kms.back -q && cmp -s kms.back big.bin && ok "sse: read back" || fail "sse: read back"
  expect_code "sse: CopyObject into aws:kms" 0 "$FERRY" copy "s3://$B/$P/one.csv" "s3://$B/$P/kmscp.csv" -q --sse aws:kms --sse-kms-key-id testkey-1
  expect_code "sse: AES256 accepted" 0 "$FERRY" copy small.csv "s3://$B/$P/aes.csv" -q --sse AES256
else
  # radosgw refuses any SSE header it cannot honour with 400 InvalidRequest - after
  # checking the signature, so the header arrived signed
  expect_code "sse: refused by radosgw without KMS/TLS (exit 7)" 7 "$FERRY" copy small.csv "s3://$B/$P/kms.csv" --sse aws:kms --sse-kms-key-id testkey-1
  grep -q "HTTP 400 InvalidRequest" "$WORK/.out" && ok "sse: InvalidRequest, not a signature error" || fail "sse: refusal" "$(cat "$WORK/.out")"
  skip "sse: SSE-KMS round trip: the running radosgw has rgw_crypt_s3_kms_backend=${kms:-?} rgw_crypt_require_ssl=${ssl:-?} (restart radosgw with tests/harness/ceph_rgw.sh's settings)"
fi

# ---- the witness of 5, 6 and 9 -------------------------------------------------
witness sc1.csv sc2.csv bad.csv kms.csv kms.bin kmscp.csv
[ "$(w sc3.bin uploads)" = 0 ] && ok "storage class: no upload left" || fail "storage class: an upload was left" "$(w sc3.bin uploads)"
absent sc1.csv && absent sc2.csv && ok "storage class: no object written" || fail "storage class: an object was written"
absent bad.csv && ok "invalid: nothing written" || fail "invalid: an object was written"
if [ $sse = 1 ]; then
  same "sse: head-object (single)" "$(w kms.csv sse) $(w kms.csv kmskey)" "aws:kms testkey-1"
  same "sse: head-object (multipart)" "$(w kms.bin sse) $(w kms.bin kmskey)" "aws:kms testkey-2"
  got="$(w kmscp.csv sse) $(w kmscp.csv meta.owner)"
  if [ "$got" = "aws:kms ETL" ]; then ok "sse: head-object (copy)"
  else
    # radosgw 16 ignores SSE headers on CopyObject: what the aws CLI's own
    # copy-object --server-side-encryption gets decides between skip and fail
    awsx s3api copy-object --bucket "$B" --key "$P/kmsref.csv" --copy-source "$B/$P/one.csv" \
      --server-side-encryption aws:kms --ssekms-key-id testkey-1 > /dev/null 2>&1
    ref=$(awsx s3api head-object --bucket "$B" --key "$P/kmsref.csv" --query ServerSideEncryption --output text 2>/dev/null)
    if [ "$ref" = None ] || [ -z "$ref" ]; then
      skip "sse: head-object (copy) ('$got'): radosgw 16 ignores SSE headers on CopyObject (the aws CLI's copy-object --server-side-encryption aws:kms gets none either)"
    else
      fail "sse: head-object (copy)" "got:  $got" "want: aws:kms ETL (the aws CLI's copy-object got '$ref')"
    fi
  fi
else
  absent kms.csv && ok "sse: no object" || fail "sse: an object was written"
fi

finish

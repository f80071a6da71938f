# s3_lib.sh - the S3 side of the integration tests (sourced after lib.sh and
# load_services_env, never run): the aws CLI against the harness's radosgw,
# ferry's connection URI for it, and counting / removing what a test left
# under its prefix.  The functions read B (the bucket) and P (this run's key
# prefix, without a trailing slash), which the test sets.
#   AWS_CLI       the aws command (default: aws from PATH)
#   AWSX_TIMEOUT  seconds one aws call may take (default 300)

# awsx ARGS...: the aws CLI with the harness's credentials and no user config
awsx() {
  AWS_ACCESS_KEY_ID=$CEPH_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$CEPH_S3_SECRET_KEY \
    AWS_DEFAULT_REGION=${CEPH_S3_REGION:-us-east-1} AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null \
    timeout -k 5 "${AWSX_TIMEOUT:-300}" "${AWS_CLI:-aws}" --endpoint-url "$CEPH_S3_ENDPOINT" "$@"
}
# s3_conn_uri [ENDPOINT]: ferry's aws:// connection URI for the harness's
# credentials at ENDPOINT (default: the radosgw, $CEPH_S3_ENDPOINT)
s3_conn_uri() {
  printf 'aws://%s:%s@?region_name=%s&endpoint_url=%s\n' "$CEPH_S3_ACCESS_KEY" "$(urlenc "$CEPH_S3_SECRET_KEY")" \
    "${CEPH_S3_REGION:-us-east-1}" "$(urlenc "${1:-$CEPH_S3_ENDPOINT}")"
}
# uploads_under PREFIX: how many multipart uploads are in progress under PREFIX
uploads_under() {
  awsx s3api list-multipart-uploads --bucket "$B" --prefix "$1" --query 'length(Uploads || `[]`)' --output text
}
# uploads: how many multipart uploads are in progress under $P/
uploads() { uploads_under "$P/"; }
# s3_abort_uploads: abort every multipart upload under $P/ (quiet)
s3_abort_uploads() {
  awsx s3api list-multipart-uploads --bucket "$B" --prefix "$P/" --query 'Uploads[].[Key,UploadId]' --output text 2>/dev/null |
    while read -r k u; do
      [ -n "$u" ] && [ "$k" != None ] && awsx s3api abort-multipart-upload --bucket "$B" --key "$k" --upload-id "$u" >/dev/null 2>&1
    done
}
# s3_cleanup: remove every object and multipart upload under $P/ (quiet; for traps)
s3_cleanup() {
  awsx s3 rm "s3://$B/$P/" --recursive --only-show-errors >/dev/null 2>&1
  s3_abort_uploads
}

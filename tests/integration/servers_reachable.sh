#!/usr/bin/env bash
# servers_reachable.sh - prove that every real test server started by
# tests/harness/services.sh answers its own standard client, using only the
# connection data of the env file ($FERRY_SVC_ENV, default /tmp/ferry-svc/env).
#
#   bash tests/integration/servers_reachable.sh
#
# Prints one 'ok'/'FAIL' line per check and ends with exactly 'N passed, N failed';
# exits non-zero on any failure. Every client call runs under `timeout` (a stuck
# server fails a check instead of hanging CI). Everything uploaded (S3 objects,
# SFTP files) is deleted again; object and file names are unique per run, so
# concurrent runs do not collide. Unattended: no stdin, no tty.
set -uo pipefail
cd /

ENV_FILE=${FERRY_SVC_ENV:-/tmp/ferry-svc/env}
if [ ! -s "$ENV_FILE" ]; then
  echo "FAIL env file $ENV_FILE missing (run: bash tests/harness/services.sh up)"
  echo "0 passed, 1 failed"
  exit 1
fi
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a

TMO=${CHECK_TIMEOUT:-60}          # per check, seconds
AWS=/usr/bin/aws                  # Debian awscli; NOT whatever 'aws' is first on PATH
# isolate awscli from the caller's profiles/config; fail fast
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=2 AWS_PAGER=''
export PGCONNECT_TIMEOUT=5
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

RUN_ID=reach-$(date +%s)-$$-$RANDOM
W=$(mktemp -d /tmp/ferry-reach.XXXXXX)
chmod 755 "$W"
pass=0; fail=0
ok()  { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$1"; }
# t NAME cmd... : pass when cmd exits 0 within $TMO s
t() {
  local name=$1; shift
  if timeout -k 5 "$TMO" "$@" >"$W/out" 2>&1 </dev/null; then ok "$name"
  else local rc=$?; bad "$name$( [ $rc = 124 ] && echo " (timed out after ${TMO}s)")"; sed 's/^/     | /' "$W/out" | tail -n 8; fi
}
# tsh NAME 'shell snippet' : same, for pipelines (the snippet sees this script's variables)
tsh() { local name=$1; shift; t "$name" bash -c "$1"; }
CK=$RUN_ID/small.txt
export W RUN_ID AWS EMPTY_SHA256 CK

# clients
c3() { AWS_ACCESS_KEY_ID=$CEPH_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$CEPH_S3_SECRET_KEY AWS_DEFAULT_REGION=$CEPH_S3_REGION \
       "$AWS" --endpoint-url "$CEPH_S3_ENDPOINT" --cli-connect-timeout 5 --cli-read-timeout 30 "$@"; }
export -f c3
s4() { AWS_ACCESS_KEY_ID=$S3V4_ACCESS_KEY AWS_SECRET_ACCESS_KEY=${S4_SECRET:-$S3V4_SECRET_KEY} AWS_DEFAULT_REGION=$S3V4_REGION \
       "$AWS" --endpoint-url "$S3V4_ENDPOINT" --cli-connect-timeout 5 --cli-read-timeout 30 "$@"; }
export -f s4
SO="-F /dev/null -P $SFTP_PORT -o UserKnownHostsFile=$SFTP_KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=2 -o LogLevel=ERROR"
export SO

# ---------------------------------------------------------------- cleanup (best effort)
cleanup() {
  timeout -k 5 60 bash -c '
    c3 s3 rm "s3://$CEPH_S3_BUCKET/$RUN_ID/" --recursive --only-show-errors
    s4 s3 rm "s3://$S3V4_BUCKET/$RUN_ID/" --recursive --only-show-errors
    printf "%s\n" "-rm $RUN_ID-key.txt" "-rm $RUN_ID-rsa.txt" > "$W/batch-clean"
    sftp $SO -o IdentitiesOnly=yes -o PasswordAuthentication=no -i "$SFTP_KEY" -b "$W/batch-clean" "$SFTP_USER@$SFTP_HOST"
    printf "%s\n" "-rm $RUN_ID-pw.txt" > "$W/batch-clean-pw"
    SSH_ASKPASS="$SFTP_ASKPASS" SSH_ASKPASS_REQUIRE=force sftp $SO -o BatchMode=no -o PubkeyAuthentication=no \
      -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 -b "$W/batch-clean-pw" "$SFTP_PW_USER@$SFTP_HOST"
  ' >/dev/null 2>&1 </dev/null
  rm -rf "$W"
}
trap 'cleanup; exit 1' INT TERM
trap 'cleanup' EXIT

# ---------------------------------------------------------------- PostgreSQL
tsh "pg: psql select 1 (scram user $PG_USER)" \
  '[ "$(psql -X -At "$PG_URI" -c "select 1")" = 1 ]'
tsh "pg: md5 user login" \
  '[ "$(psql -X -At "$PG_MD5_URI" -c "select current_user")" = etl_md5 ]'
tsh "pg: TLS verify-full with TLS_CA_FILE" \
  '[ "$(psql -X -At "$PG_TLS_URI" -c "select ssl from pg_stat_ssl where pid = pg_backend_pid()")" = t ]'
tsh "pg: superuser login" \
  '[ "$(psql -X -At "$PG_SUPER_URI" -c "select rolsuper from pg_roles where rolname = current_user")" = t ]'
tsh "pg: wrong password rejected" \
  'out=$(psql -X -At "postgresql://$PG_USER:wrong-pass@$PG_HOST:$PG_PORT/$PG_DATABASE" -c "select 1" 2>&1); rc=$?
   echo "$out"; [ $rc != 0 ] && echo "$out" | grep -q "password authentication failed"'

# ---------------------------------------------------------------- MariaDB
my() { mariadb --no-defaults --connect-timeout=5 -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" "$@"; }
export -f my
tsh "mysql: select 1 over TCP" \
  '[ "$(my -N -B "$MYSQL_DATABASE" -e "select 1")" = 1 ]'
tsh "mysql: server local_infile = 1" \
  '[ "$(my -N -B -e "select @@global.local_infile")" = 1 ]'
tsh "mysql: LOAD DATA LOCAL INFILE" \
  'printf "1,a\n2,b\n3,c\n" > "$W/my.csv"
   [ "$(my --local-infile=1 -N -B "$MYSQL_DATABASE" -e "
      create temporary table reach_t (id int, v text);
      load data local infile '"'"'$W/my.csv'"'"' into table reach_t fields terminated by '"'"','"'"';
      select count(*) from reach_t")" = 3 ]'
tsh "mysql: TLS with server cert verified against TLS_CA_FILE" \
  'my --ssl --ssl-ca="$TLS_CA_FILE" --ssl-verify-server-cert -N -B -e "show session status like '"'"'Ssl_version'"'"'" | grep -q TLS'
tsh "mysql: wrong password rejected" \
  'out=$(mariadb --no-defaults --connect-timeout=5 -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -pwrong-pass -e "select 1" 2>&1); rc=$?
   echo "$out"; [ $rc != 0 ] && echo "$out" | grep -q "Access denied"'

# ---------------------------------------------------------------- S3: Ceph radosgw
printf 'hello from ferry %s\n' "$RUN_ID" > "$W/small.txt"
tsh "ceph s3: aws put object" 'c3 s3 cp "$W/small.txt" "s3://$CEPH_S3_BUCKET/$CK" --only-show-errors'
tsh "ceph s3: aws get object (content matches)" \
  'c3 s3 cp "s3://$CEPH_S3_BUCKET/$CK" "$W/small.ceph" --only-show-errors && cmp "$W/small.txt" "$W/small.ceph"'
tsh "ceph s3: aws list prefix" \
  'c3 s3api list-objects-v2 --bucket "$CEPH_S3_BUCKET" --prefix "$RUN_ID/" --query "Contents[].Key" --output text | grep -qx "$CK"'
tsh "ceph s3: curl --aws-sigv4 GET with the right secret" \
  'curl -sf -m 20 --aws-sigv4 "aws:amz:$CEPH_S3_REGION:s3" --user "$CEPH_S3_ACCESS_KEY:$CEPH_S3_SECRET_KEY" \
     -H "x-amz-content-sha256: $EMPTY_SHA256" "$CEPH_S3_ENDPOINT/$CEPH_S3_BUCKET/$CK" | cmp - "$W/small.txt"'
tsh "ceph s3: curl --aws-sigv4 with a wrong secret -> 403 SignatureDoesNotMatch" \
  'out=$(curl -s -m 20 -w "\nHTTP %{http_code}" --aws-sigv4 "aws:amz:$CEPH_S3_REGION:s3" --user "$CEPH_S3_ACCESS_KEY:wrong-secret" \
     -H "x-amz-content-sha256: $EMPTY_SHA256" "$CEPH_S3_ENDPOINT/$CEPH_S3_BUCKET?list-type=2"); echo "$out"
   echo "$out" | grep -q SignatureDoesNotMatch && echo "$out" | grep -q "HTTP 403"'
tsh "ceph s3: PUT with a wrong x-amz-content-sha256 -> XAmzContentSHA256Mismatch" \
  'out=$(curl -s -m 20 -X PUT --data-binary @"$W/small.txt" --aws-sigv4 "aws:amz:$CEPH_S3_REGION:s3" \
     --user "$CEPH_S3_ACCESS_KEY:$CEPH_S3_SECRET_KEY" -H "x-amz-content-sha256: $EMPTY_SHA256" \
     "$CEPH_S3_ENDPOINT/$CEPH_S3_BUCKET/$RUN_ID/bad-hash.txt"); echo "$out"
   echo "$out" | grep -q XAmzContentSHA256Mismatch'
tsh "ceph s3: aws delete object" 'c3 s3 rm "s3://$CEPH_S3_BUCKET/$CK" --only-show-errors'
tsh "ceph s3: prefix empty after delete" \
  'out=$(c3 s3api list-objects-v2 --bucket "$CEPH_S3_BUCKET" --prefix "$RUN_ID/" --output json) || exit 1
   echo "$out"; ! echo "$out" | grep -q "\"Key\""'

# ---------------------------------------------------------------- S3: @20minutes/s3rver (SigV4)
tsh "s3v4: aws put/get/list/delete" \
  'c() { s4 s3 "$@" --only-show-errors; }
   c cp "$W/small.txt" "s3://$S3V4_BUCKET/$CK" && c cp "s3://$S3V4_BUCKET/$CK" "$W/small.s3v4" && cmp "$W/small.txt" "$W/small.s3v4" &&
   s4 s3 ls "s3://$S3V4_BUCKET/$RUN_ID/" | grep -q small.txt && c rm "s3://$S3V4_BUCKET/$CK"'
tsh "s3v4: wrong secret rejected (SignatureDoesNotMatch)" \
  'out=$(S4_SECRET=wrong-secret s4 s3api list-objects-v2 --bucket "$S3V4_BUCKET" 2>&1); rc=$?; echo "$out"
   [ $rc != 0 ] && echo "$out" | grep -q SignatureDoesNotMatch'

# ---------------------------------------------------------------- SFTP
sftp_batch() { # FILE REMOTE_NAME LOCAL_BACK
  printf 'put %s %s\nls -l %s\nget %s %s\nrm %s\n' "$W/small.txt" "$2" "$2" "$2" "$3" "$2" > "$1"
}
sftp_batch "$W/batch-key" "$RUN_ID-key.txt" "$W/sftp-key.back"
sftp_batch "$W/batch-rsa" "$RUN_ID-rsa.txt" "$W/sftp-rsa.back"
sftp_batch "$W/batch-pw" "$RUN_ID-pw.txt" "$W/sftp-pw.back"
tsh "sftp: key auth (ed25519, strict known_hosts) put/get/rm" \
  'sftp $SO -o IdentitiesOnly=yes -o PasswordAuthentication=no -i "$SFTP_KEY" -b "$W/batch-key" "$SFTP_USER@$SFTP_HOST" &&
   cmp "$W/small.txt" "$W/sftp-key.back"'
tsh "sftp: key auth (RSA PEM key) put/get/rm" \
  'sftp $SO -o IdentitiesOnly=yes -o PasswordAuthentication=no -i "$SFTP_KEY_RSA_PEM" -b "$W/batch-rsa" "$SFTP_USER@$SFTP_HOST" &&
   cmp "$W/small.txt" "$W/sftp-rsa.back"'
tsh "sftp: password auth put/get/rm" \
  'SSH_ASKPASS="$SFTP_ASKPASS" SSH_ASKPASS_REQUIRE=force sftp $SO -o BatchMode=no -o PubkeyAuthentication=no \
     -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 -b "$W/batch-pw" "$SFTP_PW_USER@$SFTP_HOST" &&
   cmp "$W/small.txt" "$W/sftp-pw.back"'
tsh "sftp: unknown host key refused (strict checking)" \
  ': > "$W/empty_known_hosts"   # ssh keeps the FIRST value of an option: override before $SO
   out=$(sftp -o UserKnownHostsFile="$W/empty_known_hosts" $SO -o IdentitiesOnly=yes -i "$SFTP_KEY" -b /dev/null "$SFTP_USER@$SFTP_HOST" 2>&1); rc=$?
   echo "$out"; [ $rc != 0 ] && echo "$out" | grep -q "Host key verification failed"'
tsh "sftp: host key fingerprint equals SFTP_HOSTKEY_SHA256" \
  'ssh-keyscan -T 5 -p "$SFTP_PORT" -t ed25519 "$SFTP_HOST" 2>/dev/null | ssh-keygen -lf - | grep -qF "$SFTP_HOSTKEY_SHA256"'

# ---------------------------------------------------------------- HTTP
tsh "nginx: http GET" \
  '[ "$(curl -s -m 10 -o /dev/null -w "%{http_code}" "$HTTP_BASE_URL/orders.csv")" = 200 ]'
tsh "nginx: https GET verified with TLS_CA_FILE" \
  'curl -sf -m 10 --cacert "$TLS_CA_FILE" -o "$W/orders.json" "$HTTPS_BASE_URL/orders.json" && grep -q orders "$W/orders.json"'
tsh "nginx: https without the CA is refused (cert really verified)" \
  '! curl -s -m 10 --cacert /etc/ssl/certs/ca-certificates.crt -o /dev/null "$HTTPS_BASE_URL/orders.json"'
tsh "nginx: basic auth (401 without, 200 with)" \
  '[ "$(curl -s -m 10 -o /dev/null -w "%{http_code}" "$HTTP_BASE_URL/private/secret.txt")" = 401 ] &&
   [ "$(curl -s -m 10 -o /dev/null -w "%{http_code}" -u "$HTTP_BASIC_USER:$HTTP_BASIC_PASSWORD" "$HTTP_BASE_URL/private/secret.txt")" = 200 ]'
tsh "echo: POST body sha256 echoed" \
  'curl -sf -m 10 --data-binary @"$W/small.txt" "$HTTP_ECHO_URL/echo" | grep -q "$(sha256sum "$W/small.txt" | cut -c1-64)"'
tsh "echo: /status/503" \
  '[ "$(curl -s -m 10 -o /dev/null -w "%{http_code}" "$HTTP_ECHO_URL/status/503")" = 503 ]'

# ---------------------------------------------------------------- loopback only
tsh "all test servers listen on 127.0.0.1 only" \
  'ports=$(for u in "$PG_PORT" "$MYSQL_PORT" "${CEPH_S3_ENDPOINT##*:}" "${S3V4_ENDPOINT##*:}" "$SFTP_PORT" \
            "${HTTP_BASE_URL##*:}" "${HTTPS_BASE_URL##*:}" "${HTTP_ECHO_URL##*:}"; do printf "%s|" "$u"; done)
   bad=$(ss -Hltn | awk "{print \$4}" | grep -E ":(${ports%|})\$" | grep -v "^127\.0\.0\.1:"); echo "$bad"; [ -z "$bad" ]'

trap - EXIT INT TERM; cleanup

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

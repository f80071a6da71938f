#!/usr/bin/env bash
# s3_credentials.sh - the AWS credential chain against the harness's Ceph
# radosgw, which serves STS: role arn:aws:iam:::role/etlwriter
# ($CEPH_S3_ROLE_ARN) may write only under role-ok/ in the bucket, and the
# base user etl may assume it.  The base user may write anywhere, so a
# refusal outside role-ok/ proves ferry signed as the role.
#   1. an Airflow aws connection with role_arn (keys as login/password, and
#      keys from the environment): role-ok/ written, elsewhere exit 4
#      (AccessDenied is documented as 4: permission denied) and no object
#      and no multipart upload left; `conn test` names the source
#   2. assume_role_kwargs RoleSessionName, ExternalId, DurationSeconds, Tags
#   3. a profile with role_arn + source_profile, the source profile's keys
#      coming from credential_process (temp AWS_CONFIG_FILE)
#   4. a refresh forced during a multipart upload (DurationSeconds=900 and
#      FERRY_S3_REFRESH_WINDOW=900: every request renews), object complete
#   5. IMDSv2, container credentials and SSO from tests/harness/imds_server.py
#      (AWS's documented protocol on loopback; the credentials it hands out
#      are an STS triple of the role, so real objects are written); a refresh
#      that fails mid-upload: exit 4, the multipart upload aborted
#   6. web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, and Airflow's
#      assume_role_with_web_identity) against the harness's STS endpoint (the
#      request path; radosgw itself with an OIDC issuer: s3_web_identity.sh);
#      the AssumeRole request as sent (ExternalId, Tags, DurationSeconds), which
#      radosgw 16 accepts without using ExternalId and Tags
#   7. a slow and a missing IMDS / container endpoint: no hang, the chain
#      moves on, "no AWS credentials found (tried: ...)" exit 3
#   8. an unknown extra is a warning naming it
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
IMDS_SERVER=$(cd "$(dirname "$0")/../harness" && pwd)/imds_server.py
cd "$WORK"

load_services_env
: "${CEPH_S3_ENDPOINT:?}" "${CEPH_S3_ACCESS_KEY:?}" "${CEPH_S3_SECRET_KEY:?}"
[ -n "${CEPH_S3_ROLE_ARN:-}" ] && [ -n "${CEPH_S3_STS_ENDPOINT:-}" ] ||
  skip_all "no CEPH_S3_ROLE_ARN / CEPH_S3_STS_ENDPOINT in the env file (radosgw without STS)"
# every request of this test (S3 and STS) goes to the harness's second radosgw,
# the one that serves STS (same cluster, users, bucket and role as the main one)
CEPH_S3_ENDPOINT=$CEPH_S3_STS_ENDPOINT
B=${CEPH_S3_BUCKET:-etl-bucket}
REGION=${CEPH_S3_REGION:-us-east-1}
ROLE=$CEPH_S3_ROLE_ARN
R="$$-$RANDOM"
P="role-ok/ferry-cred-$R"          # allowed to the role; s3_cleanup removes it
D="ferry-cred-deny-$R"             # outside role-ok/: refused to the role
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
      AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_STS AWS_CA_BUNDLE \
      AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_SESSION_NAME AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
      AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \
      AWS_EC2_METADATA_SERVICE_ENDPOINT FERRY_S3_REFRESH_WINDOW FERRY_CONNECTIONS_FILE AIRFLOW_CONN_AWS_DEFAULT
export AWS_EC2_METADATA_DISABLED=true
export AWS_SHARED_CREDENTIALS_FILE=$WORK/no-credentials AWS_CONFIG_FILE=$WORK/no-config
AWSX_TIMEOUT=120 AWS_CLI=/usr/bin/aws   # for awsx (tests/s3_lib.sh)
fr() { timeout -k 5 120 "$FERRY" "$@"; }
EP=$(urlenc "$CEPH_S3_ENDPOINT")
KEYS="$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")"
RA=$(urlenc "$ROLE")
SRV_PIDS=()
export AIRFLOW_CONN_BASE="aws://$KEYS@?region_name=$REGION&endpoint_url=$EP"   # the base user, for checks
cleanup() {
  for p in "${SRV_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  "$FERRY" rm --recursive "base:$B/$P/" >/dev/null 2>&1
  "$FERRY" rm --recursive "base:$B/$D/" >/dev/null 2>&1
  if [ "$T_FAIL" != 0 ]; then s3_abort_uploads; P=$D s3_abort_uploads; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

printf 'id,name\n1,alpha\n2,beta\n' > small.csv
head -c 16777216 /dev/urandom > r16.bin
R16_SHA=$(sha256sum r16.bin | cut -d' ' -f1)
# the object's SHA-256, read as the base user; the witness that nothing was
# left where a write was refused is the aws CLI, once at the end (section 9)
obj_sha() { "$FERRY" cat "base:$B/$1" | sha256sum | cut -d' ' -f1; }
REFUSED=()   # keys that must not exist

# ---- 1. Airflow connection with role_arn -----------------------------------------
export AIRFLOW_CONN_ROLE="aws://$KEYS@?region_name=$REGION&endpoint_url=$EP&role_arn=$RA&bucket_name=$B"
fr conn test role > ct.out 2>&1
if grep -q "credentials from assume role $ROLE (base: connection role)" ct.out; then
  ok "conn test names the source: assume role (base: connection role)"
else fail "conn test names the source" "$(cat ct.out)"; fi
export AIRFLOW_CONN_ROLENB="aws://$KEYS@?region_name=$REGION&endpoint_url=$EP&role_arn=$RA"
fr conn test rolenb > ct2.out 2>&1; rc=$?
[ "$rc" = 4 ] && grep -q "AccessDenied (credentials from assume role $ROLE" ct2.out &&
  ok "conn test refused (the role may not ListBuckets): exit 4 naming the source" || fail "conn test refused (exit $rc)" "$(cat ct2.out)"
expect_code "role_arn: write under role-ok/" 0 fr copy small.csv "role:$B/$P/a.csv"
[ "$(obj_sha "$P/a.csv")" = "$(sha256sum small.csv | cut -d' ' -f1)" ] && ok "role_arn: the object is there" ||
  fail "role_arn: the object is there"
fr copy small.csv "role:$B/$D/a.csv" > deny.out 2>&1; rc=$?
[ "$rc" = 4 ] && grep -q AccessDenied deny.out && ok "role_arn: write outside role-ok/ refused, exit 4 AccessDenied" ||
  fail "role_arn: write outside role-ok/ refused (exit $rc, want 4)" "$(cat deny.out)"
fr copy --part-size 5M r16.bin "role:$B/$D/big.bin" > deny2.out 2>&1; rc=$?
[ "$rc" = 4 ] && ok "role_arn: multipart outside role-ok/ refused, exit 4" ||
  fail "role_arn: multipart outside role-ok/ refused (exit $rc)" "$(tail -3 deny2.out)"
REFUSED+=("$D/a.csv" "$D/big.bin")
# the issue's case: keys in the environment, role_arn in the connection - never ignored
export AIRFLOW_CONN_ROLEENV="aws://?region_name=$REGION&endpoint_url=$EP&role_arn=$RA"
expect_code "role_arn over environment keys: outside role-ok/ refused (role not ignored)" 4 \
  env AWS_ACCESS_KEY_ID="$CEPH_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$CEPH_S3_SECRET_KEY" \
  "$FERRY" copy small.csv "roleenv:$B/$D/env.csv"
expect_code "role_arn over environment keys: under role-ok/ written" 0 \
  env AWS_ACCESS_KEY_ID="$CEPH_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$CEPH_S3_SECRET_KEY" \
  "$FERRY" copy small.csv "roleenv:$B/$P/env.csv"
REFUSED+=("$D/env.csv")

# ---- 2. assume_role_kwargs ---------------------------------------------------------
KW=$(urlenc '{"RoleSessionName":"ferry-it-session","ExternalId":"ferry-ext-42","DurationSeconds":900,"Tags":[{"Key":"team","Value":"etl"}]}')
export AIRFLOW_CONN_ROLEKW="aws://$KEYS@?region_name=$REGION&endpoint_url=$EP&role_arn=$RA&assume_role_method=assume_role&assume_role_kwargs=$KW"
fr --log-level debug copy small.csv "rolekw:$B/$P/kw.csv" > kw.out 2>&1; rc=$?
[ "$rc" = 0 ] && ok "assume_role_kwargs: written" || fail "assume_role_kwargs: written (exit $rc)" "$(grep error kw.out)"
grep -q "as session ferry-it-session" kw.out && ok "assume_role_kwargs: RoleSessionName sent" ||
  fail "assume_role_kwargs: RoleSessionName" "$(grep -i sts kw.out)"
# DurationSeconds=900 honoured: the session expires in about 900 s (the default is 3600;
# a second of slack for the server's clock)
exp=$(sed -n 's/.*credentials obtained from assume role.*expire in \([0-9]*\) s.*/\1/p' kw.out | head -1)
[ -n "$exp" ] && [ "$exp" -le 910 ] && [ "$exp" -gt 800 ] && ok "assume_role_kwargs: DurationSeconds=900 ($exp s left)" ||
  fail "assume_role_kwargs: DurationSeconds=900 (got '$exp')"
expect_code "assume_role_kwargs: still the role (outside role-ok/ refused)" 4 fr copy small.csv "rolekw:$B/$D/kw.csv"
REFUSED+=("$D/kw.csv")

# ---- 3. profile role_arn + source_profile (source keys from credential_process) -------
cat > creds-proc.sh <<EOF
#!/bin/sh
# credential_process: argv[1] must arrive as one word (no shell splitting)
[ "\$1" = "one word" ] || { echo "argv split wrong: \$1" >&2; exit 3; }
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}\n' "$CEPH_S3_ACCESS_KEY" "$CEPH_S3_SECRET_KEY"
EOF
chmod +x creds-proc.sh
cat > aws-config <<EOF
[profile base]
credential_process = $WORK/creds-proc.sh "one word"
[profile writer]
role_arn = $ROLE
source_profile = base
role_session_name = ferry-profile
region = $REGION
[profile statics]
role_arn = $ROLE
source_profile = statics
EOF
cat > aws-credentials <<EOF
[statics]
aws_access_key_id = $CEPH_S3_ACCESS_KEY
aws_secret_access_key = $CEPH_S3_SECRET_KEY
EOF
prof() { env AWS_CONFIG_FILE="$WORK/aws-config" AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-credentials" \
           AWS_ENDPOINT_URL="$CEPH_S3_ENDPOINT" AWS_PROFILE="$1" timeout -k 5 120 "$FERRY" "${@:2}"; }
prof writer --log-level debug copy small.csv "s3://$B/$P/prof.csv" > prof.out 2>&1; rc=$?
[ "$rc" = 0 ] && ok "profile role_arn + source_profile (credential_process): written" ||
  fail "profile role_arn + source_profile: written (exit $rc)" "$(grep -v debug prof.out)"
grep -q "credentials from profile writer: assume role $ROLE (base: profile base: credential_process)" prof.out &&
  ok "profile: the source is named in the debug log" || fail "profile: source named" "$(grep 'credentials from' prof.out)"
expect_code "profile role_arn: outside role-ok/ refused" 4 prof writer copy small.csv "s3://$B/$D/prof.csv"
expect_code "profile role_arn with source_profile = itself (static keys): written" 0 \
  prof statics copy small.csv "s3://$B/$P/statics.csv"
expect_code "profile role_arn with source_profile = itself: outside role-ok/ refused" 4 \
  prof statics copy small.csv "s3://$B/$D/statics.csv"
REFUSED+=("$D/prof.csv" "$D/statics.csv")

# ---- 4. refresh during a multipart upload ----------------------------------------------
KW9=$(urlenc '{"DurationSeconds":900}')
export AIRFLOW_CONN_ROLE900="aws://$KEYS@?region_name=$REGION&endpoint_url=$EP&role_arn=$RA&assume_role_kwargs=$KW9"
FERRY_S3_REFRESH_WINDOW=900 fr --log-level debug copy --part-size 5M r16.bin "role900:$B/$P/r16.bin" > ref.out 2>&1; rc=$?
n=$(grep -c "credentials refreshed from assume role" ref.out)
[ "$rc" = 0 ] && [ "$n" -ge 2 ] && ok "refresh during a multipart upload: $n refreshes, exit 0" ||
  fail "refresh during a multipart upload (exit $rc, $n refreshes)" "$(grep -i 'error\|refresh' ref.out | tail -3)"
grep -q "UploadPart\|partNumber" ref.out && ok "refresh: the upload was multipart" || fail "refresh: no parts in the log"
[ "$(obj_sha "$P/r16.bin")" = "$R16_SHA" ] && ok "refresh: the object is complete (SHA-256)" || fail "refresh: object differs"

# ---- 5. IMDSv2, container, SSO (harness endpoint, real STS credentials) ---------------------
awsx sts assume-role --role-arn "$ROLE" --role-session-name "ferry-imds-$R" --duration-seconds 900 \
  --query Credentials --output json > assumed.json
python3 - assumed.json creds.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
json.dump({"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
           "Token": c["SessionToken"], "Expiration": c["Expiration"]}, open(sys.argv[2], "w"))
PY
start_srv() {   # start_srv NAME ARGS...: the harness endpoint; sets PORT
  local name=$1; shift
  python3 "$IMDS_SERVER" --port-file "$WORK/$name.port" --creds "$WORK/creds.json" "$@" \
    2> "$WORK/$name.log" &
  SRV_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.1; done
  PORT=$(cat "$WORK/$name.port" 2>/dev/null)
  [ -n "$PORT" ] || { fail "the harness endpoint $name did not start" "$(cat "$WORK/$name.log")"; finish; }
}
if [ ! -s creds.json ]; then
  fail "aws sts assume-role (witness) gave no credentials"
else
  start_srv imds --container-token "Bearer ctok-$R" --sso-token "ssotok-$R" --web-token "wit-$R" --count-file "$WORK/imds.count" \
    --record "$WORK/sts.rec"
  IP=$PORT
  export AIRFLOW_CONN_PLAIN="aws://?region_name=$REGION&endpoint_url=$EP"
  imds() { env -u AWS_EC2_METADATA_DISABLED AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$IP" "$@"; }
  imds env FERRY_S3_REFRESH_WINDOW=3600 timeout -k 5 120 "$FERRY" --log-level debug copy --part-size 5M r16.bin \
    "plain:$B/$P/imds.bin" > imds.out 2>&1; rc=$?
  [ "$rc" = 0 ] && grep -q "credentials from EC2 instance metadata (IMDSv2 at http://127.0.0.1:$IP)" imds.out &&
    ok "IMDSv2: written with the instance's credentials" || fail "IMDSv2 (exit $rc)" "$(grep -i 'error\|credentials' imds.out | tail -3)"
  n=$(grep -c "credentials refreshed from EC2 instance metadata" imds.out)
  [ "$n" -ge 2 ] && ok "IMDSv2: credentials renewed during the upload ($n times)" || fail "IMDSv2: renewed $n times"
  grep -q "PUT /latest/api/token" imds.log && ok "IMDSv2: the session token was PUT" || fail "IMDSv2: no token PUT"
  [ "$(obj_sha "$P/imds.bin")" = "$R16_SHA" ] && ok "IMDSv2: object complete" || fail "IMDSv2: object differs"
  # IMDS without a token is refused (401), as documented: the server checks what ferry relies on
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IP/latest/meta-data/iam/security-credentials/")
  [ "$code" = 401 ] && ok "harness IMDS: 401 without a session token" || fail "harness IMDS: $code without a token"

  # a refresh that fails mid-upload: exit 4, the multipart upload aborted, no object
  start_srv imdsfail --fail-after 6
  FP=$PORT
  env -u AWS_EC2_METADATA_DISABLED AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$FP" FERRY_S3_REFRESH_WINDOW=3600 \
    timeout -k 5 120 "$FERRY" --log-level debug copy --part-size 5M r16.bin "plain:$B/$P/fail.bin" > fail.out 2>&1; rc=$?
  [ "$rc" = 4 ] && grep -q "refreshing the credentials from EC2 instance metadata.* failed" fail.out &&
    ok "failed refresh: exit 4 naming the source" || fail "failed refresh (exit $rc, want 4)" "$(grep error fail.out)"
  grep -q "POST .*uploads.* -> 200" fail.out && grep -q "DELETE .*uploadId=.* -> 204" fail.out &&
    ok "failed refresh: the multipart upload was created, then aborted" ||
    fail "failed refresh: create/abort not seen" "$(grep -E 'POST|DELETE' fail.out | cut -c1-160)"
  REFUSED+=("$P/fail.bin")

  # container credentials (ECS / EKS Pod Identity), token from a file
  printf 'Bearer ctok-%s\n' "$R" > ctok
  expect_code "container credentials (FULL_URI on loopback, AUTHORIZATION_TOKEN_FILE): written" 0 \
    env AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$IP/container/credentials" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$WORK/ctok" "$FERRY" copy small.csv "plain:$B/$P/container.csv"
  env AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$IP/container/credentials" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer wrong" timeout -k 5 60 "$FERRY" copy small.csv "plain:$B/$P/c2.csv" > c2.out 2>&1; rc=$?
  [ "$rc" = 3 ] && grep -q "no AWS credentials found" c2.out && grep -q "container credentials.*HTTP 401" c2.out &&
    ok "container credentials with a wrong token: 401, the chain moves on, exit 3" || fail "container wrong token (exit $rc)" "$(cat c2.out)"
  expect_code "container FULL_URI over http to a non-loopback host refused (exit 3)" 3 \
    env AWS_CONTAINER_CREDENTIALS_FULL_URI="http://192.0.2.1/creds" "$FERRY" copy small.csv "plain:$B/$P/c3.csv"

  # SSO: the cached token of `aws sso login`, GetRoleCredentials from the portal
  mkdir -p home/.aws/sso/cache
  cache=$(printf 'ferry-sso' | sha1sum | cut -d' ' -f1)
  printf '{"startUrl": "https://example.awsapps.com/start", "region": "us-east-1", "accessToken": "ssotok-%s", "expiresAt": "2099-01-01T00:00:00Z"}\n' \
    "$R" > "home/.aws/sso/cache/$cache.json"
  cat > sso-config <<EOF
[profile sso]
sso_session = ferry-sso
sso_account_id = 111122223333
sso_role_name = EtlWriter
[sso-session ferry-sso]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
EOF
  expect_code "SSO profile (cached token, GetRoleCredentials): written" 0 \
    env HOME="$WORK/home" AWS_CONFIG_FILE="$WORK/sso-config" AWS_PROFILE=sso AWS_ENDPOINT_URL="$CEPH_S3_ENDPOINT" \
    AWS_ENDPOINT_URL_SSO="http://127.0.0.1:$IP" "$FERRY" copy small.csv "s3://$B/$P/sso.csv"

  # ---- 6. web identity (EKS IRSA variables; Airflow's assume_role_with_web_identity) ----------
  printf 'wit-%s' "$R" > wit
  printf 'not-the-token' > badwit
  expect_code "web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE): written" 0 \
    env AWS_ROLE_ARN="$ROLE" AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/wit" AWS_ROLE_SESSION_NAME=irsa \
    AWS_ENDPOINT_URL_STS="http://127.0.0.1:$IP/sts/" "$FERRY" copy small.csv "plain:$B/$P/wit.csv"
  env AWS_ROLE_ARN="$ROLE" AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/badwit" AWS_ENDPOINT_URL_STS="http://127.0.0.1:$IP/sts/" \
    timeout -k 5 60 "$FERRY" copy small.csv "plain:$B/$P/wit2.csv" > wit2.out 2>&1; rc=$?
  [ "$rc" = 4 ] && grep -q "AssumeRoleWithWebIdentity.*AccessDenied" wit2.out && ok "web identity: a bad token is exit 4 AccessDenied" ||
    fail "web identity bad token (exit $rc)" "$(cat wit2.out)"
  export AIRFLOW_CONN_WIT="aws://?region_name=$REGION&endpoint_url=$EP&role_arn=$RA&assume_role_method=assume_role_with_web_identity&assume_role_with_web_identity_token_file=$(urlenc "$WORK/wit")&sts_endpoint_url=$(urlenc "http://127.0.0.1:$IP/sts/")"
  expect_code "Airflow assume_role_with_web_identity: written" 0 fr copy small.csv "wit:$B/$P/wit3.csv"
  REFUSED+=("$P/wit2.csv" "$P/c2.csv" "$P/c3.csv")

  # ---- 6b. the AssumeRole request as sent: radosgw 16 takes ExternalId and Tags but
  # does not use them (no sts:ExternalId condition key, no session tags), so section 2
  # cannot show they arrive; the harness endpoint records the form instead
  export AIRFLOW_CONN_ROLEREC="aws://$KEYS@?region_name=$REGION&endpoint_url=$EP&role_arn=$RA&assume_role_kwargs=$KW&sts_endpoint_url=$(urlenc "http://127.0.0.1:$IP/sts/")"
  expect_code "assume_role_kwargs through the recording STS endpoint: written" 0 fr copy small.csv "rolerec:$B/$P/rec.csv"
  if python3 - "$WORK/sts.rec" "$ROLE" "$CEPH_S3_ACCESS_KEY" "$REGION" > rec.out 2>&1 <<'PY'
import json, sys
rec, role, akid, region = sys.argv[1:]
reqs = [json.loads(l) for l in open(rec)]
ar = [r for r in reqs if r["form"].get("Action") == "AssumeRole"]
assert ar, "no AssumeRole request recorded (%d requests)" % len(reqs)
f, auth = ar[-1]["form"], ar[-1]["authorization"]
want = {"Version": "2011-06-15", "RoleArn": role, "RoleSessionName": "ferry-it-session", "ExternalId": "ferry-ext-42",
        "DurationSeconds": "900", "Tags.member.1.Key": "team", "Tags.member.1.Value": "etl"}
bad = {k: (f.get(k), v) for k, v in want.items() if f.get(k) != v}
assert not bad, "form fields (got, want): %r" % bad
assert auth.startswith("AWS4-HMAC-SHA256 Credential=%s/" % akid) and auth.split(",")[0].endswith("/%s/sts/aws4_request" % region), auth[:120]
w = [r for r in reqs if r["form"].get("Action") == "AssumeRoleWithWebIdentity"]
assert w and all(r["authorization"] == "" for r in w), "AssumeRoleWithWebIdentity must be unsigned"
print("AssumeRole form: " + " ".join("%s=%s" % (k, f[k]) for k in sorted(want)))
PY
  then ok "AssumeRole request: ExternalId, DurationSeconds, RoleSessionName and Tags in the form, SigV4 for sts; web identity unsigned"
    sed 's/^/     /' rec.out
  else fail "AssumeRole request as recorded" "$(cat rec.out)"; fi
fi

# ---- 7. slow and missing endpoints: bounded, the chain moves on ------------------------------
start_srv slow --slow 60
SP=$PORT
python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' > closed.port
CP=$(cat closed.port)
for what in "slow:$SP" "missing:$CP"; do
  name=${what%%:*} port=${what#*:}
  env -u AWS_EC2_METADATA_DISABLED AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$port" \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$port/container/credentials" \
    timeout -k 2 20 "$FERRY" copy small.csv "plain:$B/$P/$name.csv" > "$name.out" 2>&1; rc=$?
  if [ "$rc" = 3 ] && grep -q "no AWS credentials found (tried: connection login/password" "$name.out" &&
     grep -q "container credentials (http://127.0.0.1:$port/container/credentials)" "$name.out" &&
     grep -q "EC2 instance metadata (IMDSv2 at http://127.0.0.1:$port)" "$name.out"; then
    ok "$name IMDS and container endpoints: no hang, both tried, exit 3 naming every source"
  else fail "$name endpoints (exit $rc; 124 = hung)" "$(cat "$name.out")"; fi
done

# ---- 8. an unknown extra is named in a warning -----------------------------------------------
export AIRFLOW_CONN_ODD="aws://$KEYS@?region_name=$REGION&endpoint_url=$EP&rol_arn=$RA"
fr ls "odd:$B/$P/" > odd.out 2>&1
grep -q "ignoring extra 'rol_arn'" odd.out && ok "unknown extra rol_arn: warned" || fail "unknown extra not named" "$(cat odd.out)"

# ---- 9. the witness: nothing where a write was refused, no multipart upload left -------------
# (the aws CLI takes seconds per call here: two calls cover everything)
dk=$(awsx s3api list-objects-v2 --bucket "$B" --prefix "$D/" --query 'length(Contents || `[]`)' --output text)
pk=$("$FERRY" ls --recursive "base:$B/$P/" 2>&1)
left=
for k in "${REFUSED[@]}"; do   # ferry ls prints keys relative to the prefix
  case $k in "$P/"*) printf '%s\n' "$pk" | grep -qxF "${k#"$P/"}" && left="$left $k" ;; esac
done
[ "$dk" = 0 ] && [ -z "$left" ] && ok "aws CLI witness: nothing under $D/ (and none of the ${#REFUSED[@]} refused keys exists)" ||
  fail "left behind: $dk object(s) under $D/;$left"
printf '%s\n' "$pk" | grep -qxF "r16.bin" && ok "the role's objects are listed" || fail "$P/r16.bin not listed" "$pk"
u=$(awsx s3api list-multipart-uploads --bucket "$B" --query "length(Uploads[?contains(Key, '$R')] || \`[]\`)" --output text)
[ "$u" = 0 ] && ok "aws CLI witness: no multipart upload left" || fail "multipart uploads left: $u"
finish

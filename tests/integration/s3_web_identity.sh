#!/usr/bin/env bash
# s3_web_identity.sh - STS AssumeRoleWithWebIdentity against the harness's
# radosgw 16 (the second one, CEPH_S3_STS_ENDPOINT, which serves STS), with
# an OpenID Connect issuer this test runs on loopback
# (tests/harness/oidc_issuer.py: discovery document and JWKS over HTTPS with
# the harness's certificate, tokens RS256-signed with a key made for the run).
#   1. IAM on radosgw: CreateOpenIDConnectProvider (the issuer, its client id
#      and thumbprint), CreateRole trusting that provider (condition on
#      HOST:PORT:app_id), PutRolePolicy: the role may write only under
#      role-ok/ of the bucket
#   2. EKS IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE -> written under
#      role-ok/; radosgw fetched the issuer's discovery document and JWKS;
#      refused outside role-ok/ (exit 4, no object)
#   3. Airflow's connection: role_arn + assume_role_method=
#      assume_role_with_web_identity + assume_role_with_web_identity_federation=
#      file + assume_role_with_web_identity_token_file: written, refused
#      outside, `conn test` names the source; federation=google is exit 3
#   4. renewal during a multipart upload (every request renews: each renewal
#      is a new AssumeRoleWithWebIdentity, the token file read again)
#   5. radosgw refuses a token signed by a key not in the JWKS, an expired
#      token and a token for another audience: exit 4 AccessDenied, no object
#   6. the aws CLI as witness (as the base user): the role's objects are there
#      with the ETags of what was sent (multipart: MD5 of part MD5s), nothing
#      outside role-ok/; the token never appears in ferry's output
# Skipped (77) when the STS radosgw cannot fetch the issuer over HTTPS (it must
# trust the harness CA: tests/harness/ceph_rgw.sh start_rgw_sts) or the etl
# user may not create OIDC providers (ensure_caps there).
# FERRY_TEST_OIDC_SCHEME=http serves the issuer over plain http instead (for a
# radosgw started before the harness trusted its CA).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
ISSUER=$(cd "$(dirname "$0")/../harness" && pwd)/oidc_issuer.py
cd "$WORK"

load_services_env
[ -n "${CEPH_S3_STS_ENDPOINT:-}" ] || skip_all "no CEPH_S3_STS_ENDPOINT in the env file (radosgw without STS)"
: "${CEPH_S3_ACCESS_KEY:?}" "${CEPH_S3_SECRET_KEY:?}"
EP=$CEPH_S3_STS_ENDPOINT
B=${CEPH_S3_BUCKET:-etl-bucket}
REGION=${CEPH_S3_REGION:-us-east-1}
SCHEME=${FERRY_TEST_OIDC_SCHEME:-https}
R="$$-$RANDOM"
P="role-ok/ferry-wit-$R"           # the role may write here
D="role-ok-not/ferry-wit-$R"       # and not here (role-ok-not/ is not role-ok/; one listing
                                   # of prefix "role-ok" shows both to the aws CLI)
ROLE_NAME="ferry-wit-$R"
ROLE="arn:aws:iam:::role/$ROLE_NAME"
AUD="ferry-wit-aud-$R"
SUB=ferry-etl-job                  # fixed: radosgw keeps a shadow user per subject
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_REGION \
      AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_STS AWS_ROLE_ARN \
      AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_SESSION_NAME AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
      AWS_CONTAINER_CREDENTIALS_FULL_URI FERRY_S3_REFRESH_WINDOW FERRY_CONNECTIONS_FILE AIRFLOW_CONN_AWS_DEFAULT
export AWS_EC2_METADATA_DISABLED=true
export AWS_SHARED_CREDENTIALS_FILE=$WORK/no-credentials AWS_CONFIG_FILE=$WORK/no-config
AWSX_TIMEOUT=120 AWS_CLI=/usr/bin/aws   # for awsx (tests/s3_lib.sh)
CEPH_S3_ENDPOINT=$EP                    # awsx talks to the STS radosgw too
fr() { timeout -k 5 120 "$FERRY" "$@"; }
enc() { urlenc "$1"; }

# IAM Query API on radosgw, signed by curl (an independent SigV4 signer) as the
# etl user; prints the body, returns 0 on HTTP 200
iam() {
  local body="Version=2010-05-08&$1" h code
  h=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
  code=$(curl -s -m 30 -o "$WORK/iam.out" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:iam" \
    --user "$CEPH_S3_ACCESS_KEY:$CEPH_S3_SECRET_KEY" -H "x-amz-content-sha256: $h" \
    -H 'Content-Type: application/x-www-form-urlencoded; charset=utf-8' --data-binary "$body" "$EP/")
  cat "$WORK/iam.out"
  [ "$code" = 200 ]
}

# ---- preconditions -----------------------------------------------------------------
TLSD=$(dirname "${TLS_CA_FILE:-/nonexistent/ca.crt}")
if [ "$SCHEME" = https ]; then
  [ -r "$TLSD/server.crt" ] && [ -r "$TLSD/server.key" ] ||
    skip_all "the harness's TLS certificate and key ($TLSD/server.{crt,key}) are not readable here"
  CEPH_DIR=$(dirname "${CEPH_CONF:-/nonexistent/ceph.conf}")
  RGWPID=$(head -n1 "$CEPH_DIR/run/client.rgw.sts.pid" 2>/dev/null | tr -dc 0-9)
  # radosgw fetches the JWKS with libcurl, verifying against the system CA bundle
  # as its own mount namespace sees it (/proc/PID/root)
  [ -n "$RGWPID" ] && openssl verify -CAfile "/proc/$RGWPID/root/etc/ssl/certs/ca-certificates.crt" \
    "$TLSD/server.crt" >/dev/null 2>&1 ||
    skip_all "radosgw (sts, pid ${RGWPID:-?}) does not trust the harness CA, so it cannot fetch an issuer's JWKS over https: restart it through tests/harness/ceph_rgw.sh (start_rgw_sts runs it with the harness CA in its trust store), or set FERRY_TEST_OIDC_SCHEME=http"
fi
# (radosgw 16 answers an empty list 404 NoSuchEntity)
iam "Action=ListOpenIDConnectProviders" > /dev/null || ! grep -q AccessDenied iam.out ||
  skip_all "the etl user may not manage OIDC providers on radosgw (caps oidc-provider=*: tests/harness/ceph_rgw.sh ensure_caps): $(cat iam.out | head -c 200)"

# ---- 1. the issuer, the provider and the role -----------------------------------------
TLSARGS=()
[ "$SCHEME" = https ] && TLSARGS=(--tls-cert "$TLSD/server.crt" --tls-key "$TLSD/server.key")
# (the tokens: one radosgw must take, one signed by a key not in the JWKS, an
# expired one and one for another audience)
python3 "$ISSUER" serve --dir "$WORK/oidc" --port-file "$WORK/oidc.port" "${TLSARGS[@]}" --sub "$SUB" \
  --token "$WORK/token.jwt:$AUD" --token "$WORK/token-otherkey.jwt:$AUD:3600:other" \
  --token "$WORK/token-expired.jwt:$AUD:-120" --token "$WORK/token-otheraud.jwt:someone-else-$R" 2> "$WORK/issuer.log" &
ISSUER_PID=$!
PROVIDER_ARN= ROLE_MADE=
cleanup() {
  kill "$ISSUER_PID" 2>/dev/null
  "$FERRY" rm --recursive "base:$B/$P/" >/dev/null 2>&1
  "$FERRY" rm --recursive "base:$B/$D/" >/dev/null 2>&1
  if [ -n "$ROLE_MADE" ]; then
    iam "Action=DeleteRolePolicy&RoleName=$ROLE_NAME&PolicyName=write-role-ok" >/dev/null
    iam "Action=DeleteRole&RoleName=$ROLE_NAME" >/dev/null
  fi
  [ -n "$PROVIDER_ARN" ] && iam "Action=DeleteOpenIDConnectProvider&OpenIDConnectProviderArn=$(enc "$PROVIDER_ARN")" >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
export AIRFLOW_CONN_BASE="aws://$CEPH_S3_ACCESS_KEY:$(enc "$CEPH_S3_SECRET_KEY")@?region_name=$REGION&endpoint_url=$(enc "$EP")"
printf 'id,name\n1,alpha\n2,beta\n' > small.csv
head -c 12582912 /dev/urandom > r12.bin
for _ in $(seq 300); do [ -s oidc.port ] && break; sleep 0.1; done   # makes two RSA keys first
PORT=$(cat oidc.port 2>/dev/null)
[ -n "$PORT" ] || { fail "the OIDC issuer did not start" "$(cat issuer.log)"; finish; }
ISS=$(cat oidc/issuer)
HOSTPORT=127.0.0.1:$PORT            # radosgw names the provider by the issuer URL without its scheme
code=$(curl -s -m 10 --cacert "$TLSD/ca.crt" -o disc.json -w '%{http_code}' "$ISS/.well-known/openid-configuration")
[ "$code" = 200 ] && grep -q "\"jwks_uri\": \"$ISS/jwks.json\"" disc.json && ok "issuer $ISS serves its discovery document" ||
  fail "issuer discovery document (HTTP $code)" "$(cat disc.json)"

if iam "Action=CreateOpenIDConnectProvider&Url=$(enc "$ISS")&ClientIDList.member.1=$AUD&ThumbprintList.member.1=$(cat oidc/thumbprint)" > prov.xml; then
  PROVIDER_ARN=$(sed -n 's:.*<OpenIDConnectProviderArn>\(.*\)</OpenIDConnectProviderArn>.*:\1:p' prov.xml)
fi
[ "$PROVIDER_ARN" = "arn:aws:iam:::oidc-provider/$HOSTPORT" ] && ok "IAM CreateOpenIDConnectProvider: $PROVIDER_ARN" ||
  { fail "IAM CreateOpenIDConnectProvider" "$(cat prov.xml)"; finish; }
TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":["'$PROVIDER_ARN'"]},"Action":["sts:AssumeRoleWithWebIdentity"],"Condition":{"StringEquals":{"'$HOSTPORT':app_id":"'$AUD'"}}}]}'
POLICY='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::'$B'","arn:aws:s3:::'$B'/role-ok/*"]}]}'
if iam "Action=CreateRole&RoleName=$ROLE_NAME&Path=%2F&AssumeRolePolicyDocument=$(enc "$TRUST")" > role.xml; then
  ROLE_MADE=1
  iam "Action=PutRolePolicy&RoleName=$ROLE_NAME&PolicyName=write-role-ok&PolicyDocument=$(enc "$POLICY")" > pol.xml &&
    ok "IAM CreateRole $ROLE trusting the provider, PutRolePolicy (role-ok/ only)" ||
    { fail "IAM PutRolePolicy" "$(cat pol.xml)"; finish; }
else
  fail "IAM CreateRole" "$(cat role.xml)"; finish
fi

# read back through the role: the objects belong to the web identity's shadow
# user on radosgw, which the bucket owner may list and delete but not read
obj_sha() { TOKEN=token.jwt irsa cat "plain:$B/$1" | sha256sum | cut -d' ' -f1; }
fetches() { grep -c "GET /jwks.json" issuer.log; }

# ---- 2. EKS IRSA variables -----------------------------------------------------------
export AIRFLOW_CONN_PLAIN="aws://?region_name=$REGION&endpoint_url=$(enc "$EP")"
irsa() { env AWS_ROLE_ARN="$ROLE" AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/${TOKEN:-token.jwt}" AWS_ROLE_SESSION_NAME=irsa-job \
           timeout -k 5 120 "$FERRY" "$@"; }
n0=$(fetches)
irsa --log-level debug copy small.csv "plain:$B/$P/irsa.csv" > irsa.out 2>&1; rc=$?
n1=$(fetches)
[ "$rc" = 0 ] && grep -q "credentials from web identity $ROLE (AWS_WEB_IDENTITY_TOKEN_FILE $WORK/token.jwt)" irsa.out &&
  ok "IRSA variables: written under role-ok/, source named in the debug log" ||
  fail "IRSA variables: write under role-ok/ (exit $rc)" "$(grep -i 'error\|credentials' irsa.out | tail -3)"
grep -q "STS AssumeRoleWithWebIdentity $ROLE as session irsa-job" irsa.out &&
  ok "STS AssumeRoleWithWebIdentity on radosgw, session irsa-job" || fail "no AssumeRoleWithWebIdentity in the log" "$(grep -i sts irsa.out)"
[ $((n1 - n0)) -ge 1 ] && grep -q "GET /.well-known/openid-configuration" issuer.log &&
  ok "radosgw fetched the issuer's discovery document and JWKS over $SCHEME ($((n1 - n0)) JWKS fetch(es))" ||
  fail "radosgw did not fetch the JWKS" "$(cat issuer.log)"
[ "$(obj_sha "$P/irsa.csv")" = "$(sha256sum small.csv | cut -d' ' -f1)" ] && ok "IRSA: the object is there (SHA-256, read back)" ||
  fail "IRSA: object differs or missing"
irsa copy small.csv "plain:$B/$D/irsa.csv" > deny.out 2>&1; rc=$?
[ "$rc" = 4 ] && grep -q AccessDenied deny.out && ok "IRSA: write outside role-ok/ refused, exit 4 AccessDenied" ||
  fail "IRSA: write outside role-ok/ (exit $rc, want 4)" "$(cat deny.out)"

# ---- 3. Airflow connection -------------------------------------------------------------
WQ="region_name=$REGION&endpoint_url=$(enc "$EP")&role_arn=$(enc "$ROLE")&assume_role_method=assume_role_with_web_identity"
export AIRFLOW_CONN_WIT="aws://?$WQ&assume_role_with_web_identity_federation=file&assume_role_with_web_identity_token_file=$(enc "$WORK/token.jwt")&bucket_name=$B"
fr conn test wit > ct.out 2>&1; rc=$?
# (the extra's value is shown as *** : its name holds "token", core/mask.c)
[ "$rc" = 0 ] && grep -q "bucket $B reachable (credentials from web identity role $ROLE (token file " ct.out &&
  ! grep -q "ignoring extra" ct.out && ok "Airflow connection: conn test passes, names the source, no extra ignored" ||
  fail "Airflow connection: conn test (exit $rc)" "$(cat ct.out)"
fr --log-level debug copy small.csv "wit:$B/$P/airflow.csv" > af.out 2>&1; rc=$?
[ "$rc" = 0 ] && grep -q "as session Airflow_wit" af.out && ok "Airflow connection: written, session Airflow_wit" ||
  fail "Airflow connection: write (exit $rc)" "$(grep -i 'error\|session' af.out | tail -3)"
expect_code "Airflow connection: write outside role-ok/ refused" 4 fr copy small.csv "wit:$B/$D/airflow.csv"
export AIRFLOW_CONN_WITG="aws://?$WQ&assume_role_with_web_identity_federation=google"
fr copy small.csv "witg:$B/$P/google.csv" > g.out 2>&1; rc=$?
[ "$rc" = 3 ] && grep -q "assume_role_with_web_identity_federation 'google' is not supported" g.out &&
  ok "federation=google: exit 3 saying so" || fail "federation=google (exit $rc, want 3)" "$(cat g.out)"

# ---- 4. renewal during a multipart upload ----------------------------------------------
n0=$(fetches)
TOKEN=token.jwt FERRY_S3_REFRESH_WINDOW=100000 irsa --log-level debug copy --part-size 5M r12.bin "plain:$B/$P/r12.bin" > mp.out 2>&1; rc=$?
n1=$(fetches)
k=$(grep -c "credentials refreshed from web identity" mp.out)
[ "$rc" = 0 ] && [ "$k" -ge 2 ] && ok "multipart upload renewing at every request: exit 0, $k renewals" ||
  fail "multipart with renewals (exit $rc, $k renewals)" "$(grep -i 'error\|refresh' mp.out | tail -3)"
[ $((n1 - n0)) -ge "$k" ] && ok "each renewal was validated by radosgw against the JWKS ($((n1 - n0)) fetches)" ||
  fail "JWKS fetches during the upload: $((n1 - n0)), renewals $k"

# ---- 5. tokens radosgw must refuse ---------------------------------------------------------
for t in otherkey:"signed by a key not in the JWKS" expired:"expired" otheraud:"for another audience"; do
  name=${t%%:*} why=${t#*:}
  TOKEN=token-$name.jwt irsa copy small.csv "plain:$B/$P/$name.csv" > "$name.out" 2>&1; rc=$?
  [ "$rc" = 4 ] && grep -q "AssumeRoleWithWebIdentity of $ROLE .*AccessDenied" "$name.out" &&
    ok "token $why: refused by radosgw, exit 4 AccessDenied" || fail "token $why (exit $rc, want 4)" "$(cat "$name.out")"
done

# ---- 6. witnesses ---------------------------------------------------------------------------
# one aws CLI call (as the base user) lists both prefixes with the ETags: radosgw's
# ETag is the MD5 of a single PUT and MD5-of-part-MD5s-N of a multipart upload
awsx s3api list-objects-v2 --bucket "$B" --prefix role-ok --output json \
  --query "Contents[?contains(Key, 'ferry-wit-$R/')].[Key, ETag]" > listing.json
if python3 - listing.json "$P" "$D" small.csv r12.bin > witness.out 2>&1 <<'PY'
import hashlib, json, sys
listing, p, d, small, big = sys.argv[1:]
got = {k: e.strip('"') for k, e in json.load(open(listing)) or []}
data = open(big, "rb").read()
parts = [hashlib.md5(data[i:i + 5242880]).digest() for i in range(0, len(data), 5242880)]
want = {p + "/irsa.csv": hashlib.md5(open(small, "rb").read()).hexdigest(),
        p + "/airflow.csv": hashlib.md5(open(small, "rb").read()).hexdigest(),
        p + "/r12.bin": "%s-%d" % (hashlib.md5(b"".join(parts)).hexdigest(), len(parts))}
assert got == want, "listing %r, want %r" % (got, want)
print("%d objects under %s/ with the expected ETags (r12.bin %s), none under %s/" % (len(got), p, want[p + "/r12.bin"], d))
PY
then ok "aws CLI: $(cat witness.out)"
else fail "aws CLI witness" "$(cat witness.out)"; fi
SIG=$(cut -d. -f3 token.jwt)
if cat ./*.out issuer.log | grep -qF -e "$SIG" -e "$(cut -d. -f3 token-otherkey.jwt)"; then
  fail "a web identity token appears in ferry's output" "$(cat ./*.out | grep -lF "$SIG")"
else ok "no web identity token (signature part) in any output of ferry"; fi
finish

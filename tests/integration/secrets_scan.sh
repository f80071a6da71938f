#!/usr/bin/env bash
# secrets_scan.sh - no secret ever leaves ferry.  Runs a broad set of ferry
# commands at --log-level debug (text and JSON log format, --json summaries)
# with every test secret in play: the Postgres and MariaDB passwords of the
# harness (etl, postgres, root), the S3 secret key (in URI form, lower-case
# percent-encoded, JSON form, and the AWS environment chain), the SFTP
# password user's password, an encrypted key's passphrase, an HTTP bearer
# token (extra and Authorization header) and basic password - and wrong
# secrets too: wrong credentials, unreachable hosts with the right ones,
# malformed URIs and JSON with the password inside, inline endpoints, conn
# list / get / test, ls, cat, exec, --dry-run, successes and failures.
# Every byte on stdout and stderr is kept; each secret is then searched in
# all of it raw, percent-encoded (upper and lower case hex), JSON-escaped
# and, for basic-auth passwords, as the base64 "user:password" of the
# Authorization header: zero hits, each checked.  Temporary credentials too:
# an STS session of the harness's role (session token, secret key), a web
# identity token and a container authorization token.
# Runs as root (it plants a public key for the SFTP key user and takes it out
# again).  Every client call runs under `timeout`.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
load_services_env
cd "$WORK"

TMO=${CHECK_TIMEOUT:-120}
R="$$$RANDOM"
P="ferry-sec-$R"                         # S3 prefix
TBL="sec_$R"                             # table (Postgres and MariaDB)
SFD=$(dirname "$SFTP_KNOWN_HOSTS")
AUTH_KEYS=$SFD/authorized_keys/$SFTP_USER
PLANTED_KEY=
ECHO_PORT=${HTTP_ECHO_URL##*:}
OUT=$WORK/out
mkdir -p "$OUT"

enc_lower() { python3 -c 'import re, sys, urllib.parse; print(re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(sys.argv[1], safe="")))' "$1"; }
jstr() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
AWSX_TIMEOUT=120 AWS_CLI=/usr/bin/aws   # for awsx (tests/s3_lib.sh)
psqlx() { timeout -k 5 60 psql -X -q -At -v ON_ERROR_STOP=1 "$PG_URI" "$@"; }
my() { timeout -k 5 60 mariadb --no-defaults --connect-timeout=5 -h "$MYSQL_HOST" -P "$MYSQL_PORT" \
         -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" -N -B "$@"; }

cleanup() {
  [ "$BASHPID" = "$$" ] || return 0
  if [ -n "$PLANTED_KEY" ]; then   # take out exactly the line we added
    grep -vxF -- "$PLANTED_KEY" "$AUTH_KEYS" > "$WORK/.ak"; cat "$WORK/.ak" > "$AUTH_KEYS"
  fi
  awsx s3 rm "s3://$CEPH_S3_BUCKET/$P/" --recursive >/dev/null 2>&1
  psqlx -c "DROP TABLE IF EXISTS $TBL" >/dev/null 2>&1
  my -e "DROP TABLE IF EXISTS \`$TBL\`" >/dev/null 2>&1
  rm -f "$SFTP_PW_HOME/$P.csv" "$SFTP_PW_HOME/$P-2.csv" "$SFTP_HOME/$P-enc.csv"
  curl -s -m 10 -o /dev/null -X DELETE "$HTTP_ECHO_URL/upload/$P.csv" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- the secrets
PASSPHRASE="Pass phr4se/$R+enc"
WRONG_PG="WrongPg-$R-pw"
WRONG_PG_SPECIAL="Sp\"ec\\ial:@/%$R"        # needs escaping in URIs and JSON
WRONG_MY="WrongMy-$R-pw"
WRONG_S3="WrongS3/$R+secretKey"
WRONG_ENV_S3="WrongEnvS3/$R+secretKey"
WRONG_SFTP="WrongSftp-$R-pw"
WRONG_PASSPHRASE="wrong phrase $R"
WRONG_TOKEN="WrongToken-$R"
WRONG_BASIC="WrongBasic-$R-pw"
WRONG_PGPASSWORD="WrongPgEnv-$R"
HEADER_TOKEN="HdrToken-$R-xyz"
API_KEY="ApiKey-$R-hdr"
MAL=(MalUriPort-$R MalJson-$R MalMyHost-$R MalSftpPort-$R "MalPct%ZZ-$R" MalS3Url-$R MalType-$R
     MalInlinePg-$R MalInlineMy-$R MalInlineHttp-$R MalInlineSftp-$R MalFile-$R)
NUMERIC_PW=987654321987$$
# label|value|basic-auth login (for the base64 form) -- the scan list
SECRETS=(
  "Postgres/MariaDB etl password = HTTP basic password (env file)|$PG_PASSWORD|$HTTP_BASIC_USER"
  "postgres superuser password (env file)|$PG_SUPER_PASSWORD|"
  "mariadb root password (env file)|$MYSQL_ROOT_PASSWORD|"
  "S3 secret key (env file)|$CEPH_S3_SECRET_KEY|"
  "SFTP password user's password (env file)|$SFTP_PW_PASSWORD|"
  "encrypted key's passphrase|$PASSPHRASE|"
  "HTTP bearer token (env file)|$HTTP_BEARER_TOKEN|"
  "wrong Postgres password|$WRONG_PG|"
  "wrong Postgres password with quotes, backslash, @, /, %|$WRONG_PG_SPECIAL|"
  "wrong MariaDB password|$WRONG_MY|"
  "wrong S3 secret key|$WRONG_S3|"
  "wrong S3 secret key from AWS_SECRET_ACCESS_KEY|$WRONG_ENV_S3|"
  "wrong SFTP password|$WRONG_SFTP|"
  "wrong key passphrase|$WRONG_PASSPHRASE|"
  "wrong bearer token|$WRONG_TOKEN|"
  "wrong basic password|$WRONG_BASIC|$HTTP_BASIC_USER"
  "wrong PGPASSWORD|$WRONG_PGPASSWORD|"
  "token in a --header / headers extra|$HEADER_TOKEN|"
  "X-Api-Key in a headers extra|$API_KEY|"
  "numeric JSON password|$NUMERIC_PW|"
)
[ "$MYSQL_PASSWORD" = "$PG_PASSWORD" ] || SECRETS+=("MariaDB etl password (env file)|$MYSQL_PASSWORD|")
[ "$HTTP_BASIC_PASSWORD" = "$PG_PASSWORD" ] || SECRETS+=("HTTP basic password (env file)|$HTTP_BASIC_PASSWORD|$HTTP_BASIC_USER")
for m in "${MAL[@]}"; do SECRETS+=("password inside a malformed connection ($m)|$m|"); done

# ---------------------------------------------------------------- connections
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE PGPASSWORD FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
S3Q="region_name=$CEPH_S3_REGION&endpoint_url=$(urlenc "$CEPH_S3_ENDPOINT")"
KHQ="known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
# right secrets
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
export AIRFLOW_CONN_PGSUPER="$PG_SUPER_URI"
export AIRFLOW_CONN_PG_JSON="{\"conn_type\":\"postgres\",\"host\":\"$PG_HOST\",\"port\":$PG_PORT,\"login\":\"$PG_USER\",\"password\":$(jstr "$PG_PASSWORD"),\"schema\":\"$PG_DATABASE\"}"
export AIRFLOW_CONN_MYDB="$MYSQL_URI"
export AIRFLOW_CONN_MYROOT="$MYSQL_ROOT_URI"
export AIRFLOW_CONN_AWS_DEFAULT="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?$S3Q"
export AIRFLOW_CONN_AWS_LOWER="aws://$CEPH_S3_ACCESS_KEY:$(enc_lower "$CEPH_S3_SECRET_KEY")@?$S3Q"
export AIRFLOW_CONN_AWS_JSON="{\"conn_type\":\"aws\",\"login\":\"$CEPH_S3_ACCESS_KEY\",\"password\":$(jstr "$CEPH_S3_SECRET_KEY"),\"extra\":{\"region_name\":\"$CEPH_S3_REGION\",\"endpoint_url\":\"$CEPH_S3_ENDPOINT\"}}"
export AIRFLOW_CONN_SFTP_PW="sftp://$SFTP_PW_USER:$(urlenc "$SFTP_PW_PASSWORD")@$SFTP_HOST:$SFTP_PORT?$KHQ"
export AIRFLOW_CONN_HTTP_BASIC="http://$HTTP_BASIC_USER:$(urlenc "$HTTP_BASIC_PASSWORD")@127.0.0.1:$ECHO_PORT"
export AIRFLOW_CONN_NGINX_AUTH="http://$HTTP_BASIC_USER:$(urlenc "$HTTP_BASIC_PASSWORD")@${HTTP_BASE_URL#http://}"
export AIRFLOW_CONN_HTTP_TOKEN="{\"conn_type\":\"http\",\"host\":\"127.0.0.1\",\"port\":$ECHO_PORT,\"extra\":{\"token\":$(jstr "$HTTP_BEARER_TOKEN")}}"
export AIRFLOW_CONN_HTTP_HDR="{\"conn_type\":\"http\",\"host\":\"127.0.0.1\",\"port\":$ECHO_PORT,\"extra\":{\"headers\":{\"Authorization\":\"Bearer $HEADER_TOKEN\"}}}"
# masking by field (issue 17): a password equal to the login, the type and the
# database; a password that is part of an extra's name; an X-Api-Key header
export AIRFLOW_CONN_PGSAME='postgres://postgres:postgres@localhost:5432/postgres'
export AIRFLOW_CONN_PGSAMEDEAD="postgres://postgres:postgres@127.0.0.1:1/postgres?connect_timeout=3"
export AIRFLOW_CONN_AWS_SECRETWORD="{\"conn_type\":\"aws\",\"login\":\"AKIDEXAMPLE\",\"password\":\"secret\",\"extra\":{\"aws_secret_access_key\":\"zz$R\",\"region_name\":\"us-east-1\"}}"
export AIRFLOW_CONN_HTTP_APIKEY="{\"conn_type\":\"http\",\"host\":\"127.0.0.1\",\"port\":$ECHO_PORT,\"extra\":{\"headers\":{\"X-Api-Key\":\"$API_KEY\",\"Accept\":\"text/csv\"}}}"
# wrong secrets
export AIRFLOW_CONN_BADPG="postgresql://$PG_USER:$(urlenc "$WRONG_PG")@127.0.0.1:$PG_PORT/$PG_DATABASE"
export AIRFLOW_CONN_BADPG_SPECIAL="postgresql://$PG_USER:$(urlenc "$WRONG_PG_SPECIAL")@127.0.0.1:$PG_PORT/$PG_DATABASE"
export AIRFLOW_CONN_BADPG_JSON="{\"conn_type\":\"postgres\",\"host\":\"127.0.0.1\",\"port\":$PG_PORT,\"login\":\"$PG_USER\",\"password\":$(jstr "$WRONG_PG_SPECIAL"),\"schema\":\"$PG_DATABASE\"}"
export AIRFLOW_CONN_BADMY="mysql://$MYSQL_USER:$(urlenc "$WRONG_MY")@127.0.0.1:$MYSQL_PORT/$MYSQL_DATABASE"
export AIRFLOW_CONN_BADS3="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$WRONG_S3")@?$S3Q"
export AIRFLOW_CONN_BADSFTP="sftp://$SFTP_PW_USER:$(urlenc "$WRONG_SFTP")@$SFTP_HOST:$SFTP_PORT?$KHQ"
export AIRFLOW_CONN_BADTOKEN="{\"conn_type\":\"http\",\"host\":\"127.0.0.1\",\"port\":$ECHO_PORT,\"extra\":{\"bearer_token\":$(jstr "$WRONG_TOKEN")}}"
export AIRFLOW_CONN_BADBASIC="http://$HTTP_BASIC_USER:$(urlenc "$WRONG_BASIC")@127.0.0.1:$ECHO_PORT"
export AIRFLOW_CONN_BADNGINX="http://$HTTP_BASIC_USER:$(urlenc "$WRONG_BASIC")@${HTTP_BASE_URL#http://}"
# right secrets, nobody listening
export AIRFLOW_CONN_DEADPG="postgresql://$PG_USER:$(urlenc "$PG_PASSWORD")@127.0.0.1:1/$PG_DATABASE?connect_timeout=3"
export AIRFLOW_CONN_DEADMY="mysql://$MYSQL_ROOT_USER:$(urlenc "$MYSQL_ROOT_PASSWORD")@127.0.0.1:1/$MYSQL_DATABASE?connect_timeout=3"
export AIRFLOW_CONN_DEADS3="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?region_name=$CEPH_S3_REGION&endpoint_url=$(urlenc http://127.0.0.1:1)"
export AIRFLOW_CONN_DEADSFTP="sftp://$SFTP_PW_USER:$(urlenc "$SFTP_PW_PASSWORD")@127.0.0.1:1?$KHQ&conn_timeout=3"
export AIRFLOW_CONN_DEADHTTP="http://$HTTP_BASIC_USER:$(urlenc "$HTTP_BASIC_PASSWORD")@127.0.0.1:1"
# malformed, with the password inside
export AIRFLOW_CONN_MAL1="postgresql://$PG_USER:${MAL[0]}@127.0.0.1:notaport/$PG_DATABASE"
export AIRFLOW_CONN_MAL2="{\"conn_type\": \"postgres\", \"login\": \"etl\", \"password\": \"${MAL[1]}\", \"host\": "
export AIRFLOW_CONN_MAL3="mysql://$MYSQL_USER:${MAL[2]}@[127.0.0.1/$MYSQL_DATABASE"
export AIRFLOW_CONN_MAL4="sftp://$SFTP_PW_USER:${MAL[3]}@127.0.0.1:99999999/"
export AIRFLOW_CONN_MAL5="postgresql://$PG_USER:${MAL[4]}@127.0.0.1:$PG_PORT/$PG_DATABASE"
export AIRFLOW_CONN_MAL6="aws://$CEPH_S3_ACCESS_KEY:${MAL[5]}@?region_name=us-east-1&endpoint_url=not%20a%20url"
export AIRFLOW_CONN_MAL7="{\"conn_type\":\"nosuchtype\",\"host\":\"h\",\"password\":\"${MAL[6]}\"}"
export AIRFLOW_CONN_MAL8="{\"conn_type\":\"postgres\",\"host\":\"127.0.0.1\",\"port\":$PG_PORT,\"login\":\"etl\",\"password\":$NUMERIC_PW}"
# a connections file: one good, one malformed with a password
python3 - "$WORK/connections.json" "$PG_URI" "${MAL[11]}" <<'PY'
import json, sys
json.dump({"file_pg": sys.argv[2], "file_bad": "postgresql://etl:%s@127.0.0.1:x/etl" % sys.argv[3]}, open(sys.argv[1], "w"))
PY
chmod 600 "$WORK/connections.json"

# the encrypted key of the SFTP key user, planted for this run
ssh-keygen -q -t ed25519 -N "$PASSPHRASE" -C "ferry-secrets-$R" -f enc_key
PLANTED_KEY=$(cat enc_key.pub); cat enc_key.pub >> "$AUTH_KEYS"
export AIRFLOW_CONN_SFTP_ENC="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$WORK/enc_key")&private_key_passphrase=$(urlenc "$PASSPHRASE")&$KHQ"
export AIRFLOW_CONN_BADPASS="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$WORK/enc_key")&private_key_passphrase=$(urlenc "$WRONG_PASSPHRASE")&$KHQ"

# ---------------------------------------------------------------- data
printf 'id,name\n1,alpha\n2,beta\n3,"gamma, delta"\n' > data.csv
psqlx -c "CREATE TABLE $TBL (id int PRIMARY KEY, name text); INSERT INTO $TBL VALUES (1, 'alpha'), (2, 'beta')" >/dev/null
my -e "CREATE TABLE \`$TBL\` (id INT PRIMARY KEY, name VARCHAR(50))" >/dev/null

# ---------------------------------------------------------------- the commands
N=0
# run NAME WANT CMD...: stdout and stderr kept under $OUT; WANT is the exit
# code (a check) or "any" (the run only feeds the scan)
run() {
  local name=$1 want=$2; shift 2
  N=$((N + 1))
  local f; f=$OUT/$(printf '%03d' "$N")
  printf '%s\n' "$name" > "$f.name"
  case $1 in   # D: ferry at debug level; J: the same with JSON log lines
    D) shift; set -- "$FERRY" --log-level debug "$@" ;;
    J) shift; set -- "$FERRY" --log-level debug --log-format json "$@" ;;
  esac
  timeout -k 5 "$TMO" "$@" > "$f.out" 2> "$f.err" < /dev/null; local rc=$?
  echo "$rc" > "$f.rc"
  [ "$want" = any ] && return 0
  if [ "$rc" = "$want" ]; then ok "$name: exit $rc"; else fail "$name: exit $rc, want $want" "$(tail -3 "$f.err")"; fi
}
S3=s3://$CEPH_S3_BUCKET/$P

# listings and connections
run "conn list" 0 D conn list
run "conn list --json (json log)" 0 J conn list --json
run "conn list with a connections file holding a malformed entry" any env FERRY_CONNECTIONS_FILE="$WORK/connections.json" "$FERRY" --log-level debug conn list
for id in warehouse pgsuper pg_json mydb myroot aws_default aws_lower aws_json sftp_pw sftp_enc http_basic nginx_auth \
          http_token http_hdr badpg badpg_special badpg_json badmy bads3 badsftp badpass badtoken badbasic badnginx \
          deadpg deadmy deads3 deadsftp deadhttp; do
  run "conn get $id" 0 D conn get "$id"
done
# masking by field: each conn get checked member by member
# last_out [err]: the stdout (or stderr) file of the last run
last_out() { printf '%s/%03d.%s' "$OUT" "$N" "${1:-out}"; }
# json_is FILE PY_EXPR: the JSON in FILE (as j) makes PY_EXPR true
json_is() { python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }
run "conn get pgsame (password = login = type = database)" 0 D conn get pgsame
check "conn get pgsame: conn_type, login and schema readable, password ***" json_is "$(last_out)" \
  'j["conn_type"] == "postgres" and j["login"] == "postgres" and j["schema"] == "postgres" and j["password"] == "***" and j["host"] == "localhost"'
run "copy from pgsamedead (password = login, nobody listening)" 4 D copy pgsamedead:public.t - --retries 1
check "its error names the system and the connection: postgres(pgsamedead)" grep -q "error: .*postgres(pgsamedead): " "$(last_out err)"
absent() { ! grep -qF -- "$1" "$2"; }
check "... and masks nothing of it" absent "***(" "$(last_out err)"
run "conn get aws_secretword (password 'secret', extra aws_secret_access_key)" 0 D conn get aws_secretword
check "conn get aws_secretword: the extra's name intact, its value and the password ***" json_is "$(last_out)" \
  'j["extra"] == {"aws_secret_access_key": "***", "region_name": "us-east-1"} and j["password"] == "***" and j["login"] == "AKIDEXAMPLE"'
run "conn get http_apikey (headers extra with X-Api-Key)" 0 D conn get http_apikey
check "conn get http_apikey: X-Api-Key is ***, Accept readable" json_is "$(last_out)" \
  'json.loads(j["extra"]["headers"]) == {"X-Api-Key": "***", "Accept": "text/csv"}'
run "conn list --json with them" 0 J conn list --json
run "http X-Api-Key header extra (the echo lands in a file)" 0 D copy http_apikey:/echo got8.json --json
for id in mal1 mal2 mal3 mal4 mal5 mal6 mal7 mal8; do
  run "conn get $id (malformed)" any D conn get "$id"
  run "conn test $id (malformed)" any J conn test "$id"
done
run "conn get file_bad (malformed, connections file)" any env FERRY_CONNECTIONS_FILE="$WORK/connections.json" "$FERRY" --log-level debug conn get file_bad
run "conn test file_pg (connections file)" 0 env FERRY_CONNECTIONS_FILE="$WORK/connections.json" "$FERRY" --log-level debug conn test file_pg
for id in warehouse pgsuper pg_json mydb myroot aws_default aws_lower aws_json sftp_pw sftp_enc nginx_auth; do
  run "conn test $id" 0 D conn test "$id"
done
run "conn test warehouse --json (json log)" 0 J conn test warehouse --json
for id in badpg badpg_special badpg_json badmy bads3 badsftp badpass; do
  run "conn test $id (wrong secret)" 4 D conn test "$id"
done
run "conn test badbasic --json (json log)" any J conn test badbasic --json
run "conn test badnginx (tests the base URL, no auth there)" any D conn test badnginx
for id in deadpg deadmy deads3 deadsftp deadhttp; do
  run "conn test $id (unreachable)" any D conn test "$id"
done

# copies that work
run "local -> s3 --json" 0 D copy data.csv "$S3/a.csv" --json
run "s3 -> local (lower-case percent-encoded secret)" 0 D copy "$S3/a.csv" got1.csv --s3-conn aws_lower
run "s3 -> stdout (JSON connection)" 0 J copy "$S3/a.csv" - --s3-conn aws_json --json
run "postgres -> s3 --json" 0 D copy "warehouse:public.$TBL" "$S3/pg.csv" --json
run "postgres (JSON conn) -> local" 0 J copy "pg_json:public.$TBL" got2.csv
run "postgres superuser query -> stdout" 0 D copy pgsuper: --query "SELECT 1 AS one" -
run "s3 -> mariadb" 0 D copy "$S3/pg.csv" "mydb:$TBL" --json
run "mariadb (root) -> local" 0 D copy myroot: --query "SELECT id, name FROM $MYSQL_DATABASE.\`$TBL\`" got3.csv
run "local -> sftp (password)" 0 D copy data.csv "sftp_pw:$P.csv" --json
run "local -> sftp (encrypted key)" 0 D copy data.csv "sftp_enc:$P-enc.csv" --json
run "sftp (encrypted key) -> local" 0 D copy "sftp_enc:$P-enc.csv" got4.csv
run "http basic auth -> local" 0 D copy http_basic:/auth/basic got5.json
run "nginx /private/ basic auth -> stdout" 0 J copy nginx_auth:/private/secret.txt -
run "http bearer token -> stdout" 0 D copy http_token:/auth/bearer -
run "http Authorization header extra (the echo lands in a file)" 0 D copy http_hdr:/echo got7.json
run "--header Authorization on the command line" 0 D copy "$HTTP_ECHO_URL/echo" got6.json --header "Authorization: Bearer $HEADER_TOKEN"
run "local -> http PUT with basic auth" 0 D copy data.csv "http_basic:/upload/$P.csv" --replace --json
run "inline postgresql:// URI with the password" 0 D copy "postgresql://$PG_USER:$(urlenc "$PG_PASSWORD")@127.0.0.1:$PG_PORT/$PG_DATABASE#public.$TBL" - --json
run "inline sftp:// URI with the password" 0 D copy data.csv "sftp://$SFTP_PW_USER:$(urlenc "$SFTP_PW_PASSWORD")@$SFTP_HOST:$SFTP_PORT$SFTP_PW_HOME/$P-2.csv?$KHQ" --json
run "inline http:// URI with the basic password" 0 D copy "http://$HTTP_BASIC_USER:$(urlenc "$HTTP_BASIC_PASSWORD")@127.0.0.1:$ECHO_PORT/auth/basic" -
run "ls s3" 0 D ls "$S3/" --long --json
run "ls sftp (password)" 0 D ls "sftp_pw:" --long
run "cat s3" 0 J cat "$S3/a.csv"
run "exec postgres" 0 D exec warehouse: "SELECT count(*) FROM $TBL"
run "exec mariadb root" 0 D exec myroot: "SELECT 1"
run "dry-run with an inline password" 0 D copy --dry-run "postgresql://$PG_USER:$(urlenc "$PG_PASSWORD")@127.0.0.1:$PG_PORT/$PG_DATABASE#public.$TBL" "$S3/dry.csv"
run "dry-run to sftp" 0 J copy --dry-run data.csv "sftp_pw:$P.csv" --replace
run "rm --dry-run s3" 0 D rm --dry-run "$S3/a.csv"
run "AWS environment chain" 0 env -u AIRFLOW_CONN_AWS_DEFAULT AWS_ACCESS_KEY_ID="$CEPH_S3_ACCESS_KEY" \
  AWS_SECRET_ACCESS_KEY="$CEPH_S3_SECRET_KEY" AWS_REGION="$CEPH_S3_REGION" AWS_ENDPOINT_URL="$CEPH_S3_ENDPOINT" \
  "$FERRY" --log-level debug ls "$S3/"

# copies that fail: wrong secrets
run "copy from badpg" 4 D copy "badpg:public.$TBL" "$S3/x.csv"
run "copy from badpg_special" 4 J copy "badpg_special:public.$TBL" "$S3/x.csv" --json
run "exec on badpg_json" 4 D exec badpg_json: "SELECT 1"
run "copy to badmy" 4 D copy data.csv "badmy:$TBL" --replace
run "copy to s3 with the wrong secret" 4 D copy data.csv "$S3/x.csv" --s3-conn bads3
run "ls s3 with the wrong secret" 4 env AIRFLOW_CONN_AWS_DEFAULT="$AIRFLOW_CONN_BADS3" "$FERRY" --log-level debug --log-format json ls "$S3/"
run "AWS environment chain, wrong secret" 4 env -u AIRFLOW_CONN_AWS_DEFAULT AWS_ACCESS_KEY_ID="$CEPH_S3_ACCESS_KEY" \
  AWS_SECRET_ACCESS_KEY="$WRONG_ENV_S3" AWS_REGION="$CEPH_S3_REGION" AWS_ENDPOINT_URL="$CEPH_S3_ENDPOINT" \
  "$FERRY" --log-level debug copy data.csv "$S3/x.csv"
run "PGPASSWORD wrong" 4 env PGPASSWORD="$WRONG_PGPASSWORD" "$FERRY" --log-level debug copy \
  "postgresql://$PG_USER@127.0.0.1:$PG_PORT/$PG_DATABASE#public.$TBL" -
run "copy to badsftp" 4 D copy data.csv "badsftp:$P-x.csv"
run "copy from badpass (wrong passphrase)" 4 D copy "badpass:$P-enc.csv" x.csv
run "copy from badtoken" 4 D copy badtoken:/auth/bearer -
run "copy from badbasic" 4 J copy badbasic:/auth/basic -
run "copy from badnginx" 4 D copy badnginx:/private/secret.txt -
run "PUT with badbasic" any D copy data.csv "badbasic:/auth/basic" --replace
run "inline http URI with a wrong password" 4 D copy "http://$HTTP_BASIC_USER:$(urlenc "$WRONG_BASIC")@127.0.0.1:$ECHO_PORT/auth/basic" -
run "inline postgresql URI with a wrong special password" 4 D copy "postgresql://$PG_USER:$(urlenc "$WRONG_PG_SPECIAL")@127.0.0.1:$PG_PORT/$PG_DATABASE#public.$TBL" -
run "dry-run with badpg" any D copy --dry-run "badpg:public.$TBL" "$S3/x.csv"
# unreachable hosts with the right secrets
run "copy from deadpg" 4 D copy "deadpg:public.$TBL" - --retries 1
run "copy from deadmy" any D copy deadmy: --query "SELECT 1" - --retries 1
run "copy to deads3" any D copy data.csv "s3://$CEPH_S3_BUCKET/x.csv" --s3-conn deads3 --retries 1 --timeout 5
run "copy to deadsftp" any D copy data.csv "deadsftp:x.csv" --retries 1
run "copy from deadhttp" any J copy deadhttp:/x - --retries 1
# malformed connections and endpoints with the password inside
for id in mal1 mal2 mal3 mal4 mal5 mal6 mal7 mal8; do
  run "copy from $id: (malformed)" any D copy "$id:x" - --retries 1
done
run "inline postgresql URI, bad port" any D copy "postgresql://$PG_USER:${MAL[7]}@127.0.0.1:notaport/$PG_DATABASE#t" -
run "inline mysql URI, bad port" any J copy "mysql://$MYSQL_USER:${MAL[8]}@127.0.0.1:99999999/$MYSQL_DATABASE#t" -
run "inline http URI, bad host" any D copy "http://$HTTP_BASIC_USER:${MAL[9]}@[::1/x" -
run "inline sftp URI, bad port" any D copy data.csv "sftp://$SFTP_PW_USER:${MAL[10]}@127.0.0.1:notaport/x.csv"
run "dry-run, inline URI with a bad port" any D copy --dry-run "postgresql://$PG_USER:${MAL[7]}@127.0.0.1:notaport/$PG_DATABASE#t" x.csv
run "exec on a malformed inline URI" any D exec "postgresql://$PG_USER:${MAL[7]}@127.0.0.1:notaport/$PG_DATABASE" "SELECT 1"
run "conn test file_bad (malformed, connections file)" any env FERRY_CONNECTIONS_FILE="$WORK/connections.json" "$FERRY" --log-level debug conn test file_bad
run "usage error with a password in an argument" any D copy "postgresql://$PG_USER:${MAL[7]}@127.0.0.1/$PG_DATABASE#t"
run "unknown option next to a password" any D copy --no-such-option "postgresql://$PG_USER:${MAL[7]}@127.0.0.1/$PG_DATABASE#t" x.csv

# temporary credentials: a real STS session of the harness's role (its secret
# key and session token, from the environment and from extras), a web
# identity token and a container authorization token
WEBID_TOKEN="WebIdTok-$R-jwt.x.y"
CTR_TOKEN="CtrTok-$R-abc"
SECRETS+=("web identity token|$WEBID_TOKEN|" "container authorization token|$CTR_TOKEN|")
printf '%s' "$WEBID_TOKEN" > webid.jwt
if [ -n "${CEPH_S3_ROLE_ARN:-}" ]; then
  # STS is served by the harness's second radosgw (CEPH_S3_STS_ENDPOINT), same cluster
  S3Q_MAIN=$S3Q
  S3Q="region_name=$CEPH_S3_REGION&endpoint_url=$(urlenc "${CEPH_S3_STS_ENDPOINT:?}")"
  CEPH_S3_ENDPOINT=$CEPH_S3_STS_ENDPOINT awsx sts assume-role --role-arn "$CEPH_S3_ROLE_ARN" --role-session-name "sec-$R" --query Credentials --output json > sts.json 2>/dev/null
  read -r TAK TSK TST < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])' sts.json 2>/dev/null)
  if [ -n "${TST:-}" ]; then
    SECRETS+=("STS session token (role)|$TST|" "STS secret key (role)|$TSK|")
    export AIRFLOW_CONN_STS_ENV="aws://?$S3Q"
    export AIRFLOW_CONN_STS_EXTRA="aws://?$S3Q&aws_access_key_id=$TAK&aws_secret_access_key=$(urlenc "$TSK")&aws_session_token=$(urlenc "$TST")"
    export AIRFLOW_CONN_STS_ROLE="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?$S3Q&role_arn=$(urlenc "$CEPH_S3_ROLE_ARN")&bucket_name=$CEPH_S3_BUCKET"
    run "role session from the environment -> s3" 0 env AWS_ACCESS_KEY_ID="$TAK" AWS_SECRET_ACCESS_KEY="$TSK" AWS_SESSION_TOKEN="$TST" \
      "$FERRY" --log-level debug copy data.csv "sts_env:$CEPH_S3_BUCKET/role-ok/$P-sts.csv" --replace
    run "role session from extras -> stdout (json log)" 0 J copy "sts_extra:$CEPH_S3_BUCKET/role-ok/$P-sts.csv" -
    run "conn get sts_extra" 0 D conn get sts_extra
    run "conn test sts_role (role_arn, json log)" 0 J conn test sts_role
    run "role session refused outside role-ok/" 4 D copy data.csv "sts_extra:$CEPH_S3_BUCKET/$P/sts-denied.csv"
    run "rm the role's object (renewing at every request)" 0 env FERRY_S3_REFRESH_WINDOW=100000 \
      "$FERRY" --log-level debug rm "sts_role:$CEPH_S3_BUCKET/role-ok/$P-sts.csv"
  else
    fail "aws sts assume-role gave no session (the STS runs did not happen)"
  fi
  S3Q=$S3Q_MAIN
fi
export AIRFLOW_CONN_NOKEYS="aws://?$S3Q"
run "web identity token refused by STS" any env AWS_ROLE_ARN="${CEPH_S3_ROLE_ARN:-arn:aws:iam:::role/x}" \
  AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/webid.jwt" "$FERRY" --log-level debug copy data.csv "nokeys:$CEPH_S3_BUCKET/$P/w.csv"
run "container token, endpoint closed" 3 env AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:1/creds \
  AWS_CONTAINER_AUTHORIZATION_TOKEN="$CTR_TOKEN" "$FERRY" --log-level debug --log-format json copy data.csv "nokeys:$CEPH_S3_BUCKET/$P/c.csv"

# SSE-C customer keys (hooks/s3/s3_ssec.c) over the harness's TLS endpoint:
# a key file of 32 raw (printable, so the scan can search it) bytes, another
# as the base64 extra sse_customer_key; the headers carry their base64.  The
# server may refuse SSE-C (radosgw without rgw_trust_forwarded_https behind the
# TLS proxy): the error paths are scanned all the same.
SSEC_RAW=$(printf 'SseCRaw%s%s' "$R" 0123456789abcdefghijklmnopqrstuv | cut -c1-32)
SSEC_X_RAW=$(printf 'SseCExtra%s%s' "$R" 0123456789abcdefghijklmnopqrstuv | cut -c1-32)
printf '%s' "$SSEC_RAW" > ssec.key
SSEC_B64=$(base64 -w0 ssec.key)
SSEC_X_B64=$(printf '%s' "$SSEC_X_RAW" | base64 -w0)
printf 'WrongSseC%s%s' "$R" 0123456789abcdefghijklmnopqrstuv | cut -c1-32 | tr -d '\n' > ssec_wrong.key
SSEC_WRONG_B64=$(base64 -w0 ssec_wrong.key)
SECRETS+=("SSE-C key (file, raw bytes)|$SSEC_RAW|" "SSE-C key (file, base64)|$SSEC_B64|"
          "SSE-C key (extra, raw bytes)|$SSEC_X_RAW|" "SSE-C key (extra, base64)|$SSEC_X_B64|"
          "wrong SSE-C key (base64)|$SSEC_WRONG_B64|")
SSEC_Q="region_name=$CEPH_S3_REGION&endpoint_url=$(urlenc "$CEPH_S3_HTTPS_ENDPOINT")&ca_bundle=$(urlenc "$TLS_CA_FILE")"
export AIRFLOW_CONN_SSEC_TLS="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?$SSEC_Q"
export AIRFLOW_CONN_SSEC_EXTRA="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?$SSEC_Q&sse_customer_key=$(urlenc "$SSEC_X_B64")"
SB=$CEPH_S3_BUCKET/$P
run "sse-c: conn get with the extra sse_customer_key" 0 D conn get ssec_extra
check "sse-c: conn get shows sse_customer_key as ***" json_is "$(last_out)" 'j["extra"]["sse_customer_key"] == "***"'
run "sse-c: local -> s3 with --sse-c-key --json" any D copy data.csv "ssec_tls:$SB/ssec.csv" --sse-c-key ssec.key --json
head -c 6000000 /dev/zero > ssec-mp.bin
run "sse-c: multipart with --sse-c-key (json log)" any J copy ssec-mp.bin "ssec_tls:$SB/ssec-mp.bin" --sse-c-key ssec.key --part-size 5M --json
run "sse-c: s3 -> stdout with --sse-c-key" any D copy "ssec_tls:$SB/ssec.csv" - --sse-c-key ssec.key
run "sse-c: s3 -> local without a key" any D copy "ssec_tls:$SB/ssec.csv" ssec-nokey.csv --json
run "sse-c: s3 -> local with a wrong key (json log)" any J copy "ssec_tls:$SB/ssec.csv" ssec-wrong.csv --sse-c-key ssec_wrong.key --json
run "sse-c: server-side copy with a copy-source key" any D copy "ssec_tls:$SB/ssec.csv" "ssec_tls:$SB/ssec2.csv" \
  --sse-c-copy-source-key ssec.key --sse-c-key ssec_wrong.key --json
run "sse-c: the extra's key, write and read back" any D copy data.csv "ssec_extra:$SB/ssec-x.csv" --json
run "sse-c: cat with the extra's key" any J cat "ssec_extra:$SB/ssec-x.csv"
run "sse-c: a file that holds no key (exit 2, not its content)" 2 D copy data.csv "ssec_tls:$SB/ssec-bad.csv" --sse-c-key data.csv

# ---------------------------------------------------------------- the scan
total=$(cat "$OUT"/*.out "$OUT"/*.err | wc -c)
check "$N commands ran, $total bytes of output collected" test "$total" -gt 10000
grep -q "Bearer $HEADER_TOKEN" got6.json 2>/dev/null && grep -q "Bearer $HEADER_TOKEN" got7.json 2>/dev/null &&
  grep -q -- "$API_KEY" got8.json 2>/dev/null && ok "the headers reached the echo server (its reply is data, kept out of the scan)" ||
  fail "the headers reached the echo server"
grep -q 'authenticated": true' "$OUT"/*.out && ok "the authenticated runs did authenticate" || fail "the authenticated runs did authenticate"
bad=$(for f in "$OUT"/*.rc; do rc=$(cat "$f"); case $rc in 0|[2-9]|10) ;; *) echo "$(cat "${f%.rc}.name"): exit $rc";; esac; done)
[ -z "$bad" ] && ok "no run crashed, timed out or hit an internal error (exit 0, 2-10 only)" || fail "runs with exit 1 or a signal" "$bad"
printf '%s\n' "${SECRETS[@]}" > secrets.txt
python3 - "$OUT" secrets.txt > scan.txt <<'PY'
import base64, glob, json, os, re, sys, urllib.parse
out_dir, secrets_file = sys.argv[1], sys.argv[2]
files = {}
for path in sorted(glob.glob(os.path.join(out_dir, '*.out')) + glob.glob(os.path.join(out_dir, '*.err'))):
    files[path] = open(path, 'rb').read()
def forms(value, login):
    f = {'raw': value}
    up = urllib.parse.quote(value, safe='')
    f['percent-encoded'] = up
    f['percent-encoded, lower-case hex'] = re.sub('%[0-9A-F]{2}', lambda m: m.group(0).lower(), up)
    f['percent-encoded, RFC 3986 sub-delims kept'] = urllib.parse.quote(value, safe="!$&'()*+,;=:@")
    f['JSON-escaped'] = json.dumps(value)[1:-1]
    if login:
        f['base64 user:password'] = base64.b64encode(('%s:%s' % (login, value)).encode()).decode()
    return f
# the libpq password file is named .pgpass: that word is not a leak of a password "pgpass"
allowed = [b'.pgpass', b'PGPASSFILE', b'pgpassfile']
for line in open(secrets_file, encoding='utf-8'):
    label, value, login = line.rstrip('\n').split('|', 2) if line.count('|') >= 2 else (line.strip(), '', '')
    if len(value) < 3:
        continue
    seen = set()
    for form, s in forms(value, login).items():
        if s in seen:
            continue
        seen.add(s)
        needle = s.encode()
        hits = []
        for path, data in files.items():
            masked = data
            for a in allowed:
                if needle in a:
                    masked = masked.replace(a, b'')
            if needle in masked:
                cmd = open(path.rsplit('.', 1)[0] + '.name', encoding='utf-8').read().strip()
                where = [l.decode('utf-8', 'replace')[:200] for l in masked.splitlines() if needle in l][:2]
                hits.append('%s (%s): %s' % (cmd, os.path.basename(path), ' || '.join(where)))
        print('%s\t%s\t%d\t%s' % (label, form, len(hits), ' ## '.join(hits[:3])))
PY
while IFS=$'\t' read -r label form nhits where; do
  if [ "$nhits" = 0 ]; then ok "not in any output: $label ($form)"; else fail "LEAK: $label ($form) in $nhits output(s)" "$where"; fi
done < scan.txt
finish

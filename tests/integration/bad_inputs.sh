#!/usr/bin/env bash
# bad_inputs.sh - the bad-input corpus in one table: every case is a command,
# the exit code it must end with, and an extended regex its message must
# match; where data is involved, a check that the destination is untouched
# (or, for data that is merely odd, that it round-trips exactly).  Against
# the harness's real servers (tests/harness/services.sh); the S3 error-body
# cases put tests/harness/bad_body_proxy.py (a fault injector) in front of
# radosgw.  Cheap cases that exit_codes.sh also has are repeated here so the
# table is complete; slow ones (SIGINT, full disks, OOM) stay there.
HARNESS=$(cd "$(dirname "$0")/../harness" && pwd)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
load_services_env
cd "$WORK"

B=$CEPH_S3_BUCKET
P="ferry-bad-$$-$RANDOM"
RD="ferry-bad-$$"
RHOME=$SFTP_HOME/$RD
PT="ferry_bad_$$"                               # SQL table names
PROXY_PID=

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
S3CONN="aws://$CEPH_S3_ACCESS_KEY:$(urlenc "$CEPH_S3_SECRET_KEY")@?region_name=$CEPH_S3_REGION"
export AIRFLOW_CONN_AWS_DEFAULT="$S3CONN&endpoint_url=$(urlenc "$CEPH_S3_ENDPOINT")"
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
export AIRFLOW_CONN_MYDB="mysql://$MYSQL_USER:$(urlenc "$MYSQL_PASSWORD")@$MYSQL_HOST:$MYSQL_PORT/$MYSQL_DATABASE"
export AIRFLOW_CONN_PARTNER="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
export AIRFLOW_CONN_BROKEN='{"conn_type": "postgres", "host": '
export AIRFLOW_CONN_NOTOBJ='["postgres"]'
export AIRFLOW_CONN_BADTYPE='{"conn_type": 42, "host": "x"}'

F() { timeout -k 5 "${FT:-120}" "$FERRY" "$@"; }
psqlx() { PGPASSWORD=$PG_PASSWORD timeout 60 psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" -XAtqc "$1"; }
myx() { timeout 60 mysql -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" -N -e "$1"; }

# bad NAME CODE REGEX CMD...: CMD must exit CODE and print a line matching REGEX
bad() {
  local name=$1 want=$2 re=$3; shift 3
  "$@" > "$WORK/.out" 2>&1; local got=$?
  if [ "$got" != "$want" ]; then fail "$name (exit $got, want $want)" "$(tail -3 "$WORK/.out" | cut -c1-300)"
  elif ! grep -Eq -- "$re" "$WORK/.out"; then fail "$name (exit $got, but no /$re/)" "$(tail -3 "$WORK/.out" | cut -c1-300)"
  else ok "$name: exit $got"; fi
}

cleanup() {
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
  s3_cleanup   # objects and multipart uploads under $P/
  psqlx "DROP TABLE IF EXISTS ${PT}_u, ${PT}_big" >/dev/null 2>&1
  myx "DROP TABLE IF EXISTS ${PT}_u, ${PT}_big" >/dev/null 2>&1
  rm -rf "$RHOME" "$WORK"
}
trap cleanup EXIT

printf 'id,v\n1,a\n2,b\n' > small.csv
echo old > dest.csv

# ------------------------------------------------ connection URIs and ids
bad "URI: bad percent-encoding in the password" 3 "bad percent-encoding" F ls "postgresql://u:%zz@127.0.0.1:1/db"
bad "URI: a truncated percent-escape at the end" 3 "bad percent-encoding" F copy "postgresql://u@127.0.0.1:1/db%" dest.csv
check "   ... dest.csv untouched" test "$(cat dest.csv)" = old
bad "URI: no host (sftp)" 3 "no host" F ls "sftp:///x"
bad "URI: unknown scheme" 3 "unknown scheme 'gopher://'" F copy "gopher://x/y" out.csv
bad "URI: unknown scheme as destination" 3 "unknown scheme" F copy small.csv "s4://bucket/k.csv"
for port in 0 65536 -1 99999999999; do
  bad "URI: port $port" 3 "invalid port .*1 to 65535" F ls "sftp://u@127.0.0.1:$port/x"
done
bad "URI: 120 KiB on the command line" 3 "longer than 65536 bytes" F ls "sftp://u@h/$(head -c 120000 /dev/zero | tr '\0' a)"
python3 -c 'import json; print(json.dumps({"huge": "postgresql://u@" + "h" * (1 << 20) + "/db", "badjson": "{\"conn_type\": 1"}))' > conns.json
chmod 600 conns.json
bad "URI: 1 MiB in the connections file" 3 "connection 'huge'.*longer than 65536 bytes" env FERRY_CONNECTIONS_FILE=conns.json timeout 60 "$FERRY" exec huge: "SELECT 1"
bad "an unknown connection id" 3 "connection 'nosuchconn_zz' is not defined" F copy nosuchconn_zz:/x.csv out.csv
bad "malformed JSON connection (env)" 3 "AIRFLOW_CONN_BROKEN|invalid JSON|malformed" F ls broken:public.x
bad "malformed JSON connection (file)" 3 "connection 'badjson'.*invalid JSON" env FERRY_CONNECTIONS_FILE=conns.json timeout 60 "$FERRY" ls badjson:/x
bad "JSON connection that is not an object" 3 "." F ls notobj:public.x
bad "JSON connection with a non-string conn_type" 3 "." F ls badtype:/x
check "   ... no out.csv from any of them" test ! -e out.csv

# ------------------------------------------------ options
bad "--null-string with a comma (csv)" 2 "null-string may not hold" F copy small.csv out.csv --null-string "a,b"
bad "--null-string with a quote (csv)" 2 "null-string may not hold" F copy small.csv out.csv --null-string 'a"b'
bad "--null-string with a line end (csv)" 2 "null-string may not hold" F copy small.csv out.csv --null-string $'a\nb'
bad "--null-string with a tab (tsv)" 2 "null-string may not hold a tab" F copy warehouse: --query "SELECT 1" out.tsv --null-string $'a\tb'
bad "--null-string with a CR (tsv)" 2 "null-string may not hold" F copy warehouse: --query "SELECT 1" out.tsv --null-string $'\r'
check "   ... nothing written" bash -c "[ ! -e out.csv ] && [ ! -e out.tsv ]"

# ------------------------------------------------ failing queries, missing things
bad "Postgres: a syntax error" 7 "syntax error" F copy warehouse: --query "SELEC 1" out.csv
bad "Postgres: division by zero mid-export" 7 "division by zero" F copy warehouse: --query "SELECT g, 1/(g - 3) FROM generate_series(1, 5) g" out.csv
bad "MariaDB: a syntax error" 7 "SQL syntax" F copy mydb: --query "SELEC 1" out.csv
check "   ... no destination" test ! -e out.csv
bad "Postgres: a missing table" 5 "does not exist" F copy warehouse:public.no_such_table_zz out.csv
bad "MariaDB: a missing table" 5 "doesn't exist" F copy mydb:no_such_table_zz out.csv
bad "S3: a missing bucket" 5 "NoSuchBucket|does not exist" F ls "s3://no-such-bucket-$$/x/"
bad "S3: a missing key" 5 "NoSuchKey|Not Found|404" F copy "s3://$B/$P/nope.csv" out.csv
bad "SFTP: a missing file" 5 "no such file|not found|No such" F cat "partner:$RD-nope/x.csv"
bad "local: a missing file" 5 "No such file" F copy ./no/such/file.csv out.csv
bad "HTTP: 404" 5 "HTTP 404" F cat "$HTTP_ECHO_URL/status/404"
check "   ... no destination" test ! -e out.csv

# ------------------------------------------------ S3 keys that need care: exact round trip
keys=("sp ace.csv" "uni-é-日本-😀.csv" "plus+sign.csv" "pct%20x%.csv" "a/../b.csv" "/leading.csv" "//two.csv"
      "./dot.csv" "tab	x.csv" "q?x=1#frag.csv" 'all !"#$&'"'"'()*,:;<=>?@[\]^`{|}~.csv')
rt_ok=1
for k in "${keys[@]}"; do
  printf 'k,%s\n' "$k" > key.csv
  if ! F copy key.csv "s3://$B/$P/keys/$k" -q > "$WORK/.out" 2>&1; then rt_ok=0; fail "S3 key [$k]: upload" "$(tail -2 "$WORK/.out")"; continue; fi
  if ! F cat "s3://$B/$P/keys/$k" > got.csv 2> "$WORK/.out" || ! cmp -s key.csv got.csv; then rt_ok=0; fail "S3 key [$k]: cat gives the bytes back"; fi
done
[ "$rt_ok" = 1 ] && ok "S3 keys with spaces, unicode, +, %, .., leading slashes, every reserved character: upload + cat round-trip (${#keys[@]} keys)"
printf '%s\n' "${keys[@]}" | sed "s|^|$P/keys/|" | sort > want_keys
awsx s3api list-objects-v2 --bucket "$B" --prefix "$P/keys/" --query 'Contents[].Key' --output json |
  python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin))))' > have_keys
check "   ... the server holds exactly those key names (aws s3api)" cmp want_keys have_keys
F ls --recursive "s3://$B/$P/keys/" 2> "$WORK/.out" | sed "s|^|$P/keys/|" | sort > ls_keys
check "   ... ferry ls --recursive names them exactly" cmp want_keys ls_keys

# ------------------------------------------------ SFTP: '..' and symlinks
install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME" "$RHOME/dir" "$RHOME/dir/sub" "$RHOME/outside"
echo a > "$RHOME/dir/a.csv"; echo s > "$RHOME/dir/sub/s.csv"; echo secret > "$RHOME/outside/secret.csv"
ln -s ../outside "$RHOME/dir/link"; chown -h "$SFTP_USER" "$RHOME/dir/link" "$RHOME"/dir/*.csv "$RHOME"/outside/*
bad "SFTP: a glob with '..' components" 2 "may not contain '\.\.'" F ls "partner:$RD/dir/../outside/*"
bad "SFTP: a glob in a middle component" 2 "only allowed in the last path component" F ls "partner:$RD/dir/*/*.csv"
F ls --recursive "partner:$RD/dir/" > rls 2> "$WORK/.out"
check "SFTP: ls --recursive does not follow a symlinked directory out of dir" bash -c "! grep -q secret rls && grep -q 'sub/s.csv' rls"
mkdir -p dl
F copy --recursive "partner:$RD/dir/" dl/ > "$WORK/.out" 2>&1
check "SFTP: copy --recursive of dir/ stays inside it (no secret.csv)" bash -c "[ -e dl/a.csv ] && [ -e dl/sub/s.csv ] && ! find dl | grep -q secret"

# ------------------------------------------------ oversized fields (64 MiB in one field)
big=$((64 * 1024 * 1024))
psqlx "CREATE TABLE ${PT}_big (id int, v text)" && myx "CREATE TABLE ${PT}_big (id INT, v LONGTEXT)"
bad "a 64 MiB field: Postgres -> S3" 0 "1 rows" F copy warehouse: --query "SELECT 1 AS id, repeat('x', $big) AS v" "s3://$B/$P/big.csv"
bad "a 64 MiB field: S3 -> MariaDB" 0 "1 rows" F copy "s3://$B/$P/big.csv" "mydb:${PT}_big"
check "   ... MariaDB holds all 64 MiB" test "$(myx "SELECT LENGTH(v) FROM ${PT}_big")" = "$big"
bad "a 64 MiB field: MariaDB -> Postgres" 0 "1 rows" F copy "mydb:${PT}_big" "warehouse:public.${PT}_big"
check "   ... Postgres holds all 64 MiB" test "$(psqlx "SELECT length(v) FROM ${PT}_big")" = "$big"
F cat "s3://$B/$P/big.csv" 2>/dev/null | sha256sum > a.sum
F copy "mydb:${PT}_big" - 2>/dev/null | sha256sum > b.sum
check "   ... and it reads back byte for byte" cmp a.sum b.sum
psqlx "DROP TABLE ${PT}_big"; myx "DROP TABLE ${PT}_big"

# ------------------------------------------------ invalid UTF-8, NUL bytes
psqlx "CREATE TABLE ${PT}_u (id int, v text); INSERT INTO ${PT}_u VALUES (0, 'old')"
myx "CREATE TABLE ${PT}_u (id INT, v TEXT) CHARSET utf8mb4; INSERT INTO ${PT}_u VALUES (0, 'old')"
printf 'id,v\n1,ok\n2,bad\xff\xfe\n' > inv.csv
printf 'id,v\n1,ok\n2,nul\0x\n' > nul.csv
bad "invalid UTF-8 into Postgres" 7 "invalid byte sequence" F copy inv.csv "warehouse:public.${PT}_u" --replace
bad "a NUL byte into Postgres" 7 "0x00" F copy nul.csv "warehouse:public.${PT}_u" --replace
check "   ... the Postgres table is untouched" test "$(psqlx "SELECT id || v FROM ${PT}_u")" = 0old
bad "invalid UTF-8 into MariaDB (utf8mb4)" 7 "Incorrect string value" F copy inv.csv "mydb:${PT}_u" --replace
check "   ... the MariaDB table is untouched" test "$(myx "SELECT CONCAT(id, v) FROM ${PT}_u")" = 0old
bad "a NUL byte into MariaDB (TEXT holds it)" 0 "2 rows" F copy nul.csv "mydb:${PT}_u" --replace
F copy "mydb:${PT}_u" nul_back.csv > "$WORK/.out" 2>&1
check "   ... and it comes back byte for byte" cmp nul.csv nul_back.csv
bad "invalid UTF-8 and NUL through S3 as bytes" 0 "copied" F copy inv.csv "s3://$B/$P/inv.csv"
check "   ... byte for byte" bash -c "'$FERRY' cat 's3://$B/$P/inv.csv' 2>/dev/null | cmp - inv.csv"

# ------------------------------------------------ broken compressed data, lying servers
head -c 3000000 /dev/urandom > rnd.bin
gzip -c rnd.bin | head -c 100000 > cut.bin.gz
bad "truncated gzip" 7 "gzip|truncated|unexpected end" F copy cut.bin.gz dest.csv --replace
check "   ... dest.csv untouched, no temp file" bash -c "[ \"\$(cat dest.csv)\" = old ] && ! ls -A . | grep -q ferry-tmp"
printf 'this is not gzip' > notgz.csv.gz
bad "not gzip at all" 7 "gzip|header" F copy notgz.csv.gz out.csv
bad "truncated gzip from S3" 7 "gzip|truncated|unexpected end" bash -c "'$FERRY' copy cut.bin.gz 's3://$B/$P/cut.bin.gz' -q && '$FERRY' copy 's3://$B/$P/cut.bin.gz' out.bin"
bad "HTTP: Content-Length says more than is sent" 7 "body ended before its announced length|remaining" F copy "$HTTP_ECHO_URL/lie/100000" out.bin
check "   ... no destination, no temp file" bash -c "[ ! -e out.bin ] && [ ! -e out.csv ] && ! ls -A . | grep -q ferry-tmp"

# ------------------------------------------------ S3 error bodies that are not S3's
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$HARNESS/bad_body_proxy.py" --port "$PPORT" --upstream "${CEPH_S3_ENDPOINT#http://}" &
PROXY_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PPORT") 2>/dev/null && break; sleep 0.1; done
export AIRFLOW_CONN_VIAPROXY="$S3CONN&endpoint_url=$(urlenc "http://127.0.0.1:$PPORT")"
bad "S3 through the proxy: a normal upload still works" 0 "copied" F copy small.csv "s3://$B/$P/via.csv" --s3-conn viaproxy
bad "S3 500 with XML cut mid-tag: retried, exit 8, body shown" 8 "gave up after 2 attempts.*HTTP 500.*<Error><Code>SlowDo" \
  F copy "s3://$B/$P/badbody-truncxml-500.csv" out.csv --s3-conn viaproxy --retries 2
bad "S3 502 with an HTML page: retried, exit 8" 8 "gave up after 2 attempts.*HTTP 502.*Bad Gateway" \
  F copy "s3://$B/$P/badbody-html-502.csv" out.csv --s3-conn viaproxy --retries 2
bad "S3 403 with an empty body" 4 "HTTP 403" F copy "s3://$B/$P/badbody-empty-403.csv" out.csv --s3-conn viaproxy
bad "S3 404 with binary garbage" 5 "HTTP 404" F copy "s3://$B/$P/badbody-binary-404.csv" out.csv --s3-conn viaproxy
bad "S3 400 with an HTML page" 7 "HTTP 400" F copy "s3://$B/$P/badbody-html-400.csv" out.csv --s3-conn viaproxy
bad "S3 upload answered 503 + HTML: exit 8" 8 "gave up after 2 attempts.*HTTP 503" \
  F copy small.csv "s3://$B/$P/badbody-html-503.csv" --s3-conn viaproxy --retries 2
check "   ... no local destination" test ! -e out.csv
check "   ... no multipart upload left" test "$(uploads)" = 0
kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=

finish

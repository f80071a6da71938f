#!/usr/bin/env bash
# operators_servers.sh - the operator and sensor verbs against the harness's
# real servers (tests/harness/services.sh): ls (glob, --recursive, --long,
# --json) on S3 (radosgw) and SFTP (OpenSSH); rm on S3 (one key, a prefix with
# --recursive, a glob, --dry-run compared with the server's own listing before
# and after, 1,100+ keys in DeleteObjects batches, an aws connection id) and on
# SFTP (a file, a glob, --dry-run); mkdir -p on SFTP; cat (a bare
# --decompress, or copy's --decompress MODE) from S3 and SFTP; s3 -> s3
# server-side copy and --dry-run copies; and the sensors: S3 key / prefix /
# glob, SFTP file / glob / --newer-than, HTTP 2xx / 404 / --match, SQL on
# Postgres and MariaDB — each met by something a background process creates
# after ~3 s, and each timing out with exit 10.
# Server state is always checked with the servers' own clients (aws, the SFTP
# home seen locally, psql, mysql). Every client call runs under `timeout`.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
load_services_env
cd "$WORK"

B=$CEPH_S3_BUCKET
P="ferry-ops-$$-$RANDOM"                    # our S3 prefix
RD="ferry-ops-$$"                           # our SFTP dir, relative to the home
RHOME=$SFTP_HOME/$RD                        # the same dir as seen locally
T="it_ops_$$"                               # our SQL table (Postgres and MariaDB)
UP="ferry-ops-$$-$RANDOM"                   # our echo server upload name
BG=()                                       # background helpers still running

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
export AIRFLOW_CONN_LAKE=$AIRFLOW_CONN_AWS_DEFAULT
export AIRFLOW_CONN_PARTNER="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
export AIRFLOW_CONN_WAREHOUSE="$PG_URI"
export AIRFLOW_CONN_SHOP="$MYSQL_URI"

# F ARGS...: the ferry CLI under a timeout (FT seconds, default 120)
F() { timeout -k 5 "${FT:-120}" "$FERRY" "$@"; }
psqlx() { timeout 60 psql -X -q -v ON_ERROR_STOP=1 "$PG_URI" "$@"; }
mysqlx() { timeout 60 mysql -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" "-p$MYSQL_PASSWORD" "$MYSQL_DATABASE" "$@"; }
# s3keys SUB: the keys under $P/SUB (relative to it), sorted, as the server lists them
s3keys() {
  awsx s3api list-objects-v2 --bucket "$B" --prefix "$P/$1" --query 'Contents[].Key' --output json |
    python3 -c 'import json, sys; [print(k[len(sys.argv[1]):]) for k in json.load(sys.stdin) or []]' "$P/$1" | LC_ALL=C sort
}
# s3snap: every key, ETag and size under $P (the server's view)
s3snap() { awsx s3api list-objects-v2 --bucket "$B" --prefix "$P/" --query 'Contents[].[Key,ETag,Size]' --output text | LC_ALL=C sort; }
s3has() { awsx s3api head-object --bucket "$B" --key "$P/$1" >/dev/null 2>&1; }
sftpsnap() { (cd "$RHOME" && find . -printf '%p %y %s %T@\n' | LC_ALL=C sort); }
as_user() { chown -R "$SFTP_USER:$SFTP_USER" "$@"; }
lines() { tr '\n' ' ' | sed 's/ $//'; }
# same NAME WANT GOT
same() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "want: $2" "got:  $3"; fi; }
out_has() { if grep -q -- "$2" "$WORK/.out"; then ok "$1"; else fail "$1" "$(tail -5 "$WORK/.out")"; fi; }

# later CMD...: run CMD in the background after 3 s (LATER_PID)
later() { ( sleep 3; "$@" ) > "$WORK/.later" 2>&1 & LATER_PID=$!; BG+=("$LATER_PID"); }
# later_ok NAME: the background command succeeded
later_ok() { if wait "$LATER_PID"; then :; else fail "$1: the background creator failed" "$(cat "$WORK/.later")"; fi; }
# timed CMD...: run CMD, output in $WORK/.out, milliseconds in ELAPSED
timed() {
  local t0; t0=$(date +%s%N)
  "$@" > "$WORK/.out" 2>&1; local rc=$?
  ELAPSED=$(( ($(date +%s%N) - t0) / 1000000 ))
  return $rc
}
# wait_met NAME ENDPOINT [ARGS...]: the sensor is met once the background
# creator (started with `later`) has done its work, i.e. after >= 2 s
wait_met() {
  local name=$1; shift
  timed F wait "$@" --interval 1s --timeout 40s; local rc=$?
  later_ok "$name"
  if [ "$rc" = 0 ] && [ "$ELAPSED" -ge 2000 ] && grep -q 'condition met' "$WORK/.out"; then
    ok "$name (met after $ELAPSED ms)"
  else
    fail "$name (exit $rc after $ELAPSED ms)" "$(tail -3 "$WORK/.out")"
  fi
}
# wait_times_out NAME ENDPOINT [ARGS...]: --timeout 2s ends with exit 10 after about 2 s
wait_times_out() {
  local name=$1; shift
  timed F wait "$@" --interval 1s --timeout 2s; local rc=$?
  if [ "$rc" = 10 ] && [ "$ELAPSED" -ge 1900 ] && [ "$ELAPSED" -lt 20000 ] && grep -q 'not met after' "$WORK/.out"; then
    ok "$name (exit 10 after $ELAPSED ms)"
  else
    fail "$name (exit $rc after $ELAPSED ms, want 10 after ~2 s)" "$(tail -3 "$WORK/.out")"
  fi
}

cleanup() {
  local p
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
  s3_cleanup   # objects and multipart uploads under $P/
  rm -rf "$RHOME"
  psqlx -c "DROP TABLE IF EXISTS $T" >/dev/null 2>&1
  mysqlx -e "DROP TABLE IF EXISTS $T" >/dev/null 2>&1
  timeout 10 curl -s -o /dev/null -X DELETE "$HTTP_ECHO_URL/upload/$UP"
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- fixtures
mkdir -p tree/sub/deep
printf 'id,v\n1,a\n' > tree/a.csv
printf 'id,v\n1,a\n2,b\n' > tree/b.csv
printf 'text\n' > tree/c.txt
printf 'id\n4\n' > tree/sub/d.csv
printf 'id\n5\n' > tree/sub/deep/e.csv
seq 1 5000 | sed 's/^/row,/' > plain.csv
gzip -c plain.csv > plain.csv.gz
awsx s3 cp --recursive tree "s3://$B/$P/ls/" --only-show-errors
awsx s3 cp plain.csv.gz "s3://$B/$P/cat/plain.csv.gz" --only-show-errors
install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"
cp -r tree "$RHOME/ls"; cp plain.csv.gz "$RHOME/plain.csv.gz"; as_user "$RHOME"
check "fixtures: 5 keys under the S3 prefix" test "$(s3keys ls/ | wc -l)" = 5

# ---------------------------------------------------------------- ls on S3
F ls "s3://$B/$P/ls" > o 2> e
same "s3 ls: one level, common prefix as a dir" "a.csv b.csv c.txt sub/" "$(LC_ALL=C sort o | lines)"
F ls "s3://$B/$P/ls/*.csv" > o 2> e
same "s3 ls: glob" "a.csv b.csv" "$(LC_ALL=C sort o | lines)"
F ls "s3://$B/$P/ls/" --recursive > o 2> e
same "s3 ls --recursive: every key, relative names" "a.csv b.csv c.txt sub/d.csv sub/deep/e.csv" "$(LC_ALL=C sort o | lines)"
same "s3 ls --recursive lists what aws lists" "$(s3keys ls/ | lines)" "$(LC_ALL=C sort o | lines)"
F ls "s3://$B/$P/ls/*.csv" --recursive > o 2> e
same "s3 ls --recursive with a glob: the leaf matches at every depth" "a.csv b.csv sub/d.csv sub/deep/e.csv" "$(LC_ALL=C sort o | lines)"
F ls "s3://$B/$P/ls" --long > o 2> e
check "s3 ls --long: size and UTC time" grep -Eq '^ +13  20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z +b\.csv$' o
F ls "s3://$B/$P/ls" --json > o 2> e
check "s3 ls --json: sizes and times agree with the server, sub is a dir" python3 - "$P" o <<'PY'
import json, subprocess, sys, time
p, f = sys.argv[1], sys.argv[2]
d = {e["name"]: e for e in json.load(open(f))}
assert sorted(d) == ["a.csv", "b.csv", "c.txt", "sub"], d
assert d["sub"]["is_dir"] is True and d["sub"]["size"] == -1, d["sub"]
sizes = {"a.csv": 9, "b.csv": 13, "c.txt": 5}
for n, s in sizes.items():
    assert d[n]["size"] == s and d[n]["is_dir"] is False, d[n]
    assert abs(d[n]["mtime"] - time.time()) < 3600, d[n]
PY
expect_code "s3 ls of a missing bucket exits 5" 5 F ls "s3://no-such-bucket-$$/x/"

# ---------------------------------------------------------------- ls on SFTP
F ls "partner:$RD/ls" > o 2> e
same "sftp ls: one directory" "a.csv b.csv c.txt sub/" "$(LC_ALL=C sort o | lines)"
F ls "partner:$RD/ls/*.csv" > o 2> e
same "sftp ls: glob" "a.csv b.csv" "$(LC_ALL=C sort o | lines)"
F ls "partner:$RD/ls" --recursive > o 2> e
same "sftp ls --recursive: files only, relative names" "a.csv b.csv c.txt sub/d.csv sub/deep/e.csv" "$(LC_ALL=C sort o | lines)"
F ls "partner:$RD/ls" --long > o 2> e
check "sftp ls --long: size and UTC time" grep -Eq '^ +13  20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z +b\.csv$' o
F ls "partner:$RD/ls" --json > o 2> e
check "sftp ls --json: sizes and mtimes are the server's" python3 - "$RHOME/ls" o <<'PY'
import json, os, sys
root, f = sys.argv[1], sys.argv[2]
d = {e["name"]: e for e in json.load(open(f))}
assert sorted(d) == ["a.csv", "b.csv", "c.txt", "sub"], d
assert d["sub"]["is_dir"] is True, d["sub"]
for n in ("a.csv", "b.csv", "c.txt"):
    st = os.stat(os.path.join(root, n))
    assert d[n]["size"] == st.st_size and d[n]["mtime"] == int(st.st_mtime) and not d[n]["is_dir"], (d[n], st)
PY
expect_code "sftp ls of a missing directory exits 5" 5 F ls "partner:$RD/nope"

# ---------------------------------------------------------------- cat
F cat "s3://$B/$P/cat/plain.csv.gz" --decompress > got 2> e
check "s3 cat --decompress gives the original bytes" cmp got plain.csv
F cat "s3://$B/$P/cat/plain.csv.gz" > got 2> e
check "s3 cat without --decompress gives the object as stored" cmp got plain.csv.gz
F cat "partner:$RD/plain.csv.gz" --decompress > got 2> e
check "sftp cat --decompress gives the original bytes" cmp got plain.csv
F cat "partner:$RD/plain.csv.gz" > got 2> e
check "sftp cat without --decompress gives the file as stored" cmp got plain.csv.gz
F cat "s3://$B/$P/cat/plain.csv.gz" --decompress gzip > got 2> e
check "s3 cat --decompress gzip (copy's value form) gives the original bytes" cmp got plain.csv
F cat --decompress=gzip "partner:$RD/plain.csv.gz" > got 2> e
check "sftp cat --decompress=gzip gives the original bytes" cmp got plain.csv
F cat "s3://$B/$P/cat/plain.csv.gz" --decompress none > got 2> e
check "s3 cat --decompress none gives the object as stored" cmp got plain.csv.gz
expect_code "cat --decompress=bogus is a usage error (exit 2)" 2 F cat "s3://$B/$P/cat/plain.csv.gz" --decompress=bogus
expect_code "cat of a missing key exits 5" 5 F cat "s3://$B/$P/cat/nope.csv"

# ---------------------------------------------------------------- mkdir on SFTP
check "sftp mkdir -p creates every level" F mkdir -p "partner:$RD/m/n/o"
check "the directories exist on the server" test -d "$RHOME/m/n/o"
check "sftp mkdir -p of an existing directory is fine" F mkdir -p "partner:$RD/m/n/o"
expect_code "sftp mkdir (no -p) of an existing directory exits 6" 6 F mkdir "partner:$RD/m/n"
expect_code "sftp mkdir (no -p) with a missing parent exits 5" 5 F mkdir "partner:$RD/x/y/z"
check "sftp mkdir (no -p) of one new level" F mkdir "partner:$RD/m/n2"
check "  ... exists" test -d "$RHOME/m/n2"

# ---------------------------------------------------------------- rm on S3
awsx s3 cp --recursive tree "s3://$B/$P/rm/" --only-show-errors
before=$(s3snap)
F rm "s3://$B/$P/rm/" --recursive --dry-run > o 2> e; code=$?
same "s3 rm --recursive --dry-run: exit 0, lists the 5 keys" "0 5" "$code $(grep -c '^would delete s3://' o)"
check "s3 rm --dry-run: says what it would do" grep -q 'dry run: would delete 5 entries' e
same "s3 rm --dry-run: server state unchanged (keys, ETags, sizes)" "$before" "$(s3snap)"
F rm "s3://$B/$P/rm/*.csv" --dry-run > o 2> e
same "s3 rm glob --dry-run: lists exactly the matches" "would delete s3://$B/$P/rm/a.csv would delete s3://$B/$P/rm/b.csv" "$(LC_ALL=C sort o | lines)"
same "s3 rm glob --dry-run: server state unchanged" "$before" "$(s3snap)"
F rm "s3://$B/$P/rm/c.txt" --dry-run > o 2> e
same "s3 rm key --dry-run: server state unchanged" "$before" "$(s3snap)"
expect_code "s3 rm --dry-run of a missing key exits 5" 5 F rm "s3://$B/$P/rm/nope.txt" --dry-run

check "s3 rm one key" F rm "s3://$B/$P/rm/c.txt"
same "  ... only that key is gone" "a.csv b.csv sub/d.csv sub/deep/e.csv" "$(s3keys rm/ | lines)"
expect_code "s3 rm of a missing key exits 5" 5 F rm "s3://$B/$P/rm/c.txt"
check "s3 rm with a glob" F rm "s3://$B/$P/rm/*.csv"
same "  ... the matches at that level are gone, the sub-prefix stays" "sub/d.csv sub/deep/e.csv" "$(s3keys rm/ | lines)"
check "s3 rm of a prefix with --recursive" F rm "s3://$B/$P/rm/" --recursive
same "  ... nothing is left under the prefix" "" "$(s3keys rm/ | lines)"
check "  ... and the other prefixes are untouched" test "$(s3keys ls/ | wc -l)" = 5

# --- 1,100+ keys: DeleteObjects batches of up to 1000 keys, not one DELETE per key
mkdir many; for i in $(seq 1 1100); do echo "$i" > "many/k$i.txt"; done
mkdir many/sub; echo deep > many/sub/deep.txt
awsx s3 cp --recursive many "s3://$B/$P/many/" --only-show-errors
check "1,101 keys uploaded" test "$(s3keys many/ | wc -l)" = 1101
before=$(s3snap)
F rm "s3://$B/$P/many/" --recursive --dry-run > o 2> e
same "s3 rm --dry-run of 1,101 keys: lists them all" 1101 "$(grep -c '^would delete ' o)"
same "s3 rm --dry-run of 1,101 keys: server state unchanged" "$before" "$(s3snap)"
timed F --log-level debug rm "s3://$B/$P/many/" --recursive; code=$?
same "s3 rm --recursive of 1,101 keys: exit 0, every key reported" "0 1101" "$code $(grep -c '^delete s3://' "$WORK/.out")"
out_has "  ... says it deleted 1101 entries" "deleted 1101 entries"
same "  ... two DeleteObjects requests (1000 + 101 keys)" 2 "$(grep -c 'POST [^ ]*?delete -> 2' "$WORK/.out")"
same "  ... and no single-key DELETE or HEAD" 0 "$(grep -c 's3: \(DELETE\|HEAD\) ' "$WORK/.out")"
same "  ... nothing is left on the server" 0 "$(s3keys many/ | wc -l)"
echo "     (1,101 keys deleted in $ELAPSED ms)"

# --- several keys through an aws connection id, keys XML and URLs must escape;
# a key with a control character XML cannot carry is deleted on its own
mkdir odd; for n in 'a&b.csv' 'sp ace.csv' 'ü-é.csv' 'lt<gt>.csv' "q'uote\".csv" $'tab\there.csv'; do echo x > "odd/$n"; done
awsx s3 cp --recursive odd "s3://$B/$P/odd/" --only-show-errors
echo x | F copy - "s3://$B/$P/odd/ctl"$'\x01'"key.csv" -q
check "7 keys with XML/URL special characters uploaded" test "$(s3keys odd/ | wc -l)" = 7
timed F --log-level debug rm "lake:$B/$P/odd/" --recursive; code=$?
same "rm through connection id lake: exit 0, one DeleteObjects, one DELETE (the control-character key)" "0 1 1" \
  "$code $(grep -c 'POST [^ ]*?delete -> 2' "$WORK/.out") $(grep -c 's3: DELETE [^ ]*ctl%01key.csv -> 2' "$WORK/.out")"
out_has "  ... says it deleted 7 entries" "deleted 7 entries"
same "  ... the special keys are gone" 0 "$(s3keys odd/ | wc -l)"

# ---------------------------------------------------------------- rm on SFTP
cp -r tree "$RHOME/rm"; as_user "$RHOME/rm"
before=$(sftpsnap)
F rm "partner:$RD/rm/*.csv" --dry-run > o 2> e
same "sftp rm glob --dry-run: lists the matches" "would delete partner:$RD/rm/a.csv would delete partner:$RD/rm/b.csv" "$(LC_ALL=C sort o | lines)"
F rm "partner:$RD/rm/" --recursive --dry-run > o 2> e
same "sftp rm --recursive --dry-run: lists the 5 files" 5 "$(grep -c '^would delete ' o)"
same "sftp rm --dry-run: server state unchanged" "$before" "$(sftpsnap)"
check "sftp rm one file" F rm "partner:$RD/rm/c.txt"
check "  ... gone, the others stay" bash -c "[ ! -e '$RHOME/rm/c.txt' ] && [ -e '$RHOME/rm/a.csv' ]"
expect_code "sftp rm of a missing file exits 5" 5 F rm "partner:$RD/rm/c.txt"
check "sftp rm with a glob" F rm "partner:$RD/rm/*.csv"
same "  ... only the matches are gone" "./sub/d.csv ./sub/deep/e.csv" "$(cd "$RHOME/rm" && find . -type f | LC_ALL=C sort | lines)"
check "sftp rm --recursive" F rm "partner:$RD/rm/" --recursive
same "  ... no file is left" "" "$(cd "$RHOME/rm" && find . -type f | lines)"

# ---------------------------------------------------------------- copy: server-side and dry runs
head -c $((3 * 1024 * 1024 + 7)) /dev/urandom > big.bin
F copy big.bin "s3://$B/$P/cp/big.bin" -q
F --log-level info copy "s3://$B/$P/cp/big.bin" "s3://$B/$P/cp/big-copy.bin" > o 2> e; code=$?
same "s3 -> s3 copy exits 0" 0 "$code"
check "  ... logs a server-side CopyObject" grep -q "server-side CopyObject s3://$B/$P/cp/big.bin -> s3://$B/$P/cp/big-copy.bin" e
awsx s3 cp "s3://$B/$P/cp/big-copy.bin" big-copy.bin --only-show-errors
check "  ... the copy holds the same bytes" cmp big.bin big-copy.bin
expect_code "s3 -> s3 copy onto an existing key without --replace exits 6" 6 F copy "s3://$B/$P/cp/big.bin" "s3://$B/$P/cp/big-copy.bin"
before=$(s3snap)
F copy "s3://$B/$P/cp/big.bin" "s3://$B/$P/cp/dry.bin" --dry-run > o 2> e; code=$?
same "s3 -> s3 copy --dry-run exits 0 and plans a create" "0 1" "$code $(grep -c 'would create the destination' o)"
same "  ... server state unchanged" "$before" "$(s3snap)"
F copy "s3://$B/$P/cp/big.bin" "s3://$B/$P/cp/big-copy.bin" --replace --dry-run > o 2> e
same "s3 -> s3 copy --replace --dry-run: server state unchanged" "$before" "$(s3snap)"
F copy plain.csv "s3://$B/$P/cp/up.csv.gz" --dry-run > o 2> e
same "local -> s3 copy --dry-run: server state unchanged" "$before" "$(s3snap)"

# ---------------------------------------------------------------- sensors: S3
later F copy plain.csv "s3://$B/$P/w/key.csv" -q
wait_met "wait for an S3 key" "s3://$B/$P/w/key.csv"
later F copy plain.csv "s3://$B/$P/w/pre/dt=1/part-0.csv" -q
wait_met "wait for an S3 prefix (the key lands in a sub-prefix)" "s3://$B/$P/w/pre/"
later F copy plain.csv "s3://$B/$P/w/g/_SUCCESS.done" -q
F copy plain.csv "s3://$B/$P/w/g/data.csv" -q
wait_met "wait for an S3 glob" "s3://$B/$P/w/g/*.done"
wait_times_out "S3 key that never comes" "s3://$B/$P/w/never.csv"
wait_times_out "S3 prefix that stays empty" "s3://$B/$P/w/empty/"
wait_times_out "S3 glob that matches nothing" "s3://$B/$P/w/g/*.nope"
wait_times_out "S3 key not newer than --newer-than" "s3://$B/$P/w/key.csv" --newer-than "$(( $(date +%s) + 3600 ))"
check "S3 key newer than a past --newer-than" F wait "s3://$B/$P/w/key.csv" --newer-than 2001-01-01 --timeout 10s --interval 1s

# ---------------------------------------------------------------- sensors: SFTP
mkdir -p "$RHOME/w"; as_user "$RHOME/w"
plant() { printf 'x\n' > "$RHOME/w/.$1.tmp" && chown "$SFTP_USER:$SFTP_USER" "$RHOME/w/.$1.tmp" && mv "$RHOME/w/.$1.tmp" "$RHOME/w/$1"; }
later plant file.csv
wait_met "wait for an SFTP file" "partner:$RD/w/file.csv"
later F copy plain.csv "partner:$RD/w/20261121.done" -q
wait_met "wait for an SFTP glob (created over SFTP)" "partner:$RD/w/*.done"
wait_times_out "SFTP file that never comes" "partner:$RD/w/never.csv"
wait_times_out "SFTP glob that matches nothing" "partner:$RD/w/*.nope"
wait_times_out "SFTP glob in a missing directory" "partner:$RD/nodir/*.csv"
touch -d '2020-06-01 00:00:00Z' "$RHOME/w/file.csv"
wait_times_out "SFTP file older than --newer-than" "partner:$RD/w/file.csv" --newer-than 2021-01-01
later touch "$RHOME/w/file.csv"
wait_met "SFTP file touched after --newer-than" "partner:$RD/w/file.csv" --newer-than 2021-01-01
touch -d '2020-06-01 00:00:00Z' "$RHOME/w/file.csv" "$RHOME/w/20261121.done"
later touch "$RHOME/w/20261121.done"
wait_met "SFTP glob with --newer-than (a match touched later)" "partner:$RD/w/*.done" --newer-than 2021-01-01T00:00:00Z

# ---------------------------------------------------------------- sensors: HTTP
check "HTTP 2xx is met at once" F wait "$HTTP_ECHO_URL/health" --timeout 10s --interval 1s
wait_times_out "HTTP 404 is not met" "$HTTP_ECHO_URL/status/404"
check "HTTP --match on the body ('^ok$' against \"ok\\n\": ^ and \$ match at line ends)" F wait "$HTTP_ECHO_URL/health" --match '^ok$' --timeout 10s --interval 1s
timed F wait "$HTTP_ECHO_URL/status/404" --match '(' --timeout 30s --interval 1s; code=$?
same "HTTP --match with a bad regex exits 2 before the first check" "2 fast" "$code $([ "$ELAPSED" -lt 5000 ] && echo fast || echo "slow ($ELAPSED ms)")"
wait_times_out "HTTP --match that never matches" "$HTTP_ECHO_URL/health" --match '^ready'
timeout 10 curl -sf -o /dev/null -X PUT --data 'state=pending' "$HTTP_ECHO_URL/upload/$UP"
later timeout 10 curl -sf -o /dev/null -X PUT --data 'state=ready' "$HTTP_ECHO_URL/upload/$UP"
wait_met "HTTP --match becomes true (body changes from pending to ready)" "$HTTP_ECHO_URL/upload/$UP" --match 'state=(ready|done)'
timeout 10 curl -sf -o /dev/null -X DELETE "$HTTP_ECHO_URL/upload/$UP"
later timeout 10 curl -sf -o /dev/null -X PUT --data 'ok' "$HTTP_ECHO_URL/upload/$UP"
wait_met "HTTP 404 that turns 2xx" "$HTTP_ECHO_URL/upload/$UP"
expect_code "HTTP 401 is permanent: exit 4 at once, not a timeout" 4 F wait "$HTTP_ECHO_URL/auth/basic" --timeout 30s --interval 1s

# ---------------------------------------------------------------- sensors: SQL
psqlx -c "CREATE TABLE $T (id int)"
later psqlx -c "INSERT INTO $T VALUES (1)"
wait_met "Postgres: SELECT count(*) > 0 becomes true after an insert" warehouse: --sql "SELECT count(*) > 0 FROM $T"
wait_times_out "Postgres: a query that stays false" warehouse: --sql "SELECT count(*) > 1 FROM $T"
wait_times_out "Postgres: no rows at all is not met" warehouse: --sql "SELECT 1 FROM $T WHERE false"
check "Postgres: --sql with a template ({{ ds }}) quoted as a literal" F --logical-date 2026-11-21 wait warehouse: --sql "SELECT {{ ds }}::date = date '2026-11-21'" --timeout 10s --interval 1s
expect_code "Postgres: a bad query ends the wait at once (exit 5)" 5 F wait warehouse: --sql "SELECT count(*) FROM no_such_table_$T" --timeout 30s --interval 1s
mysqlx -e "CREATE TABLE $T (id int)"
later mysqlx -e "INSERT INTO $T VALUES (1)"
wait_met "MariaDB: SELECT count(*) > 0 becomes true after an insert" shop: --sql "SELECT count(*) > 0 FROM $T"
wait_times_out "MariaDB: a query that stays false" shop: --sql "SELECT count(*) > 1 FROM $T"
expect_code "a SQL connection without --sql exits 2" 2 F wait warehouse: --timeout 5s --interval 1s

finish

#!/usr/bin/env bash
# many_files.sh - copies of many small files with --transfers (issue 14)
# against the real radosgw and sshd: 300 files whose names hold spaces,
# unicode and glob characters, local -> S3, S3 -> local and SFTP -> S3 with
# --transfers 8, byte-identical (sha256 of every file against the aws CLI's
# download); the pooled curl connections (the debug log counts the new
# ones: a handful, not one per file); small files take one PutObject and an
# existing object still fails (If-None-Match, exit 6); --move with 8
# transfers deletes exactly the sources whose destination committed; keys
# that cannot be destination names ('../../../x', '//abs', 'a/./../../b',
# './dot', made with the aws CLI) are failed files with their reason and
# exit 7, or warnings with --skip-unsafe-names, and nothing lands outside
# the destination; SFTP names with a backslash or a leading '-' copy like
# any other (a '/' or '..' name cannot be made on SFTP); --json gives one
# parseable record per file; --fail-fast stops after the files in flight and
# leaves no temp file; sync takes the same names, options and records
# (exit 7 with the reasons, --skip-unsafe-names, --dry-run, --fail-fast);
# peak RSS with --transfers 16 stays under 128 MiB, and under 64 MiB for
# 2,000 files (a resource check, no timing).  Larger runs and timings: bench/many_files.sh.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
cd "$WORK"
load_services_env
B=$CEPH_S3_BUCKET
P="ferry-mf-$$-$RANDOM"
RD=ferry-mf-$$                  # our SFTP dir, relative to the home
RHOME=$SFTP_HOME/$RD
N=300
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/none AWS_CONFIG_FILE=$WORK/none
export AIRFLOW_CONN_AWS_DEFAULT="$(s3_conn_uri)"
export AIRFLOW_CONN_SFTP_MF="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
cleanup() { s3_cleanup; rm -rf "$RHOME" "$WORK"; }
trap cleanup EXIT

F() { timeout -k 5 300 "$FERRY" "$@"; }
# sums DIR: "sha256  relative/name" of every file under DIR, sorted
sums() { (cd "$1" && find . -type f ! -name '.*ferry-tmp*' -print0 | sort -z | xargs -0 sha256sum); }
same_tree() { diff <(sums "$1") <(sums "$2") >"$WORK/.diff" 2>&1; }
# name I: the I-th file's name (spaces, unicode, glob characters; some in a sub-directory)
name() {
  case $(($1 % 4)) in
    0) printf 'plain %03d.csv' "$1" ;;
    1) printf 'ünï cødé 日本 %03d.txt' "$1" ;;
    2) printf 'glob*?[x] %03d.dat' "$1" ;;
    3) printf 'sub dir/inner é %03d.bin' "$1" ;;
  esac
}
mkdir -p src "src/sub dir"
for i in $(seq 1 $N); do head -c $((1000 + i * 7)) /dev/urandom > "src/$(name "$i")"; done

# ---- local -> S3 -> local, 8 transfers, pooled connections ------------------------
expect_code "local -> S3: $N files, --transfers 8, exit 0" 0 \
  F --log-level debug copy src/ "s3://$B/$P/up/" --recursive --transfers 8 -q
cp "$WORK/.out" up.log
conns=$(grep -c 'curl: new connection' up.log)
if [ "$conns" -ge 1 ] && [ "$conns" -le 16 ]; then ok "   ... $conns new HTTP connections for $N files (pooled, at most 2 per transfer)"
else fail "   ... pooled connections: $conns new connections for $N files"; fi
puts=$(grep -c 's3: PUT ' up.log); heads=$(grep -c 's3: HEAD ' up.log); mp=$(grep -c 'uploads' up.log)
if [ "$puts" = "$N" ] && [ "$heads" = 0 ] && [ "$mp" = 0 ]; then ok "   ... one PutObject per small file, no HEAD, no multipart"
else fail "   ... one request per file: $puts PUT, $heads HEAD, $mp multipart lines"; fi
mkdir -p witness; awsx s3 cp "s3://$B/$P/up/" witness/ --recursive --only-show-errors >/dev/null 2>&1
if same_tree src witness; then ok "   ... byte-identical (sha256 of every file, read back with the aws CLI)"
else fail "   ... byte-identical" "$(head -5 "$WORK/.diff")"; fi
expect_code "   ... again without --replace: every file exists, exit 6 (If-None-Match)" 6 \
  F copy src/ "s3://$B/$P/up/" --recursive --transfers 8 -q

expect_code "S3 -> local: $N files, --transfers 8, exit 0" 0 F copy "s3://$B/$P/up/" down/ --recursive --transfers 8 -q
if same_tree src down; then ok "   ... byte-identical, no temp file left"; else fail "   ... byte-identical" "$(head -5 "$WORK/.diff")"; fi

# ---- SFTP -> S3 ----------------------------------------------------------------------
install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"
cp -r src "$RHOME/tree"
mkdir -p "$RHOME/odd"
for d in tree odd; do printf 'back' > "$RHOME/$d/back\\slash.txt"; printf 'dash' > "$RHOME/$d/-leading dash.txt"; done
chown -R "$SFTP_USER:$SFTP_USER" "$RHOME"
expect_code "SFTP -> S3: $((N + 2)) files (also a backslash and a leading '-'), --transfers 8, exit 0" 0 \
  F copy "sftp_mf:$RD/tree/" "s3://$B/$P/fromsftp/" --recursive --transfers 8 -q
mkdir -p witness2; awsx s3 cp "s3://$B/$P/fromsftp/" witness2/ --recursive --only-show-errors >/dev/null 2>&1
if same_tree "$RHOME/tree" witness2; then ok "   ... byte-identical (aws CLI read back)"; else fail "   ... byte-identical" "$(head -5 "$WORK/.diff")"; fi
# and back the other way: S3 -> SFTP, the same names (spaces, unicode, glob characters, '\', '-')
expect_code "S3 -> SFTP: $((N + 2)) files, --transfers 8, exit 0" 0 \
  F copy "s3://$B/$P/fromsftp/" "sftp_mf:$RD/back/" --recursive --transfers 8 -q
if same_tree "$RHOME/tree" "$RHOME/back"; then ok "   ... byte-identical, no temp file left"; else fail "   ... S3 -> SFTP byte-identical" "$(head -5 "$WORK/.diff")"; fi
expect_code "SFTP -> local: the backslash and '-' names, exit 0" 0 \
  F copy "sftp_mf:$RD/odd/" sftpnames/ --transfers 4 -q
[ "$(cat 'sftpnames/back\slash.txt' 2>/dev/null)" = back ] && [ "$(cat 'sftpnames/-leading dash.txt' 2>/dev/null)" = dash ] \
  && ok "   ... both arrived as they are named" || fail "   ... both arrived as they are named" "$(ls sftpnames | head -5)"

# ---- --move with 8 transfers -----------------------------------------------------------
cp -r src mv
mkdir -p pre; for i in 4 8 12; do printf 'old' > "pre/$(name "$i")"; done
F copy pre/ "s3://$B/$P/mv/" -q >/dev/null 2>&1
expect_code "--move, --transfers 8, 3 destinations exist: exit 6" 6 F copy mv/ "s3://$B/$P/mv/" --recursive --move --transfers 8 -q
left=$(find mv -type f | wc -l)
kept_ok=1; for i in 4 8 12; do [ -f "mv/$(name "$i")" ] || kept_ok=0; done
[ "$left" = 3 ] && [ "$kept_ok" = 1 ] && ok "   ... exactly the 3 sources whose destination existed are kept" \
  || fail "   ... sources kept: $left (want the 3 refused ones)"
nfail=$(grep -c '^FAIL ' "$WORK/.out")
F copy "s3://$B/$P/mv/" witness3/ --recursive -q >/dev/null 2>&1   # S3 -> local is checked above
nobj=$(find witness3 -type f | wc -l)
[ "$nfail" = 3 ] && [ "$nobj" = "$N" ] && [ $((N - left)) = $((N - 3)) ] \
  && ok "   ... the counts match: 3 failed, $((N - 3)) sources gone, $N objects (3 kept + $((N - 3)) moved)" \
  || fail "   ... counts: $nfail FAIL lines, $nobj objects, $left sources left"
for i in 4 8 12; do rm -f "witness3/$(name "$i")"; done
cp -r src src4move; for i in 4 8 12; do rm -f "src4move/$(name "$i")"; done
if same_tree src4move witness3; then ok "   ... every moved file is in S3, byte-identical"; else fail "   ... moved files in S3" "$(head -5 "$WORK/.diff")"; fi

# ---- names that cannot be destination names -------------------------------------------
printf 'ok' > ok.txt
for k in ok.txt ../../../x /abs a/./../../b ./dot; do
  awsx s3api put-object --bucket "$B" --key "$P/unsafe/$k" --body ok.txt >/dev/null 2>&1 &
done
wait
keys=$(awsx s3api list-objects-v2 --bucket "$B" --prefix "$P/unsafe/" --query 'length(Contents || `[]`)' --output text)
[ "$keys" = 5 ] && ok "radosgw keeps the keys '../../../x', '//abs', 'a/./../../b', './dot' as they are" \
  || fail "radosgw keeps the unsafe keys (listed $keys of 5)"
mkdir -p jail/in
(cd jail && F copy "s3://$B/$P/unsafe/" in/ --recursive --transfers 4 >"$WORK/unsafe.out" 2>&1); rc=$?
[ "$rc" = 7 ] && ok "unsafe keys, --recursive: exit 7" || fail "unsafe keys, --recursive: exit 7 (got $rc)" "$(tail -3 "$WORK/unsafe.out")"
n_fail=$(grep -c '^FAIL .*so it has no safe destination name' "$WORK/unsafe.out")
[ "$n_fail" = 4 ] && grep -q '1 files copied, 4 failed' "$WORK/unsafe.out" && ok "   ... 4 failed files with their reason, counted in the summary" \
  || fail "   ... 4 failed files counted ($n_fail)" "$(cat "$WORK/unsafe.out")"
grep -q "'../../../x' has a '..' component" "$WORK/unsafe.out" && grep -q "'/abs' is absolute" "$WORK/unsafe.out" \
  && ok "   ... the reasons name the traversal and the absolute name" || fail "   ... reasons" "$(cat "$WORK/unsafe.out")"
others=$(cd jail && find . -mindepth 1 ! -path ./in ! -path ./in/ok.txt | wc -l)
[ "$others" = 0 ] && [ "$(cat jail/in/ok.txt)" = ok ] && [ ! -e "$WORK/x" ] && [ ! -e x ] && [ ! -e /abs ] \
  && ok "   ... ok.txt copied, nothing written anywhere else" || fail "   ... nothing outside in/" "$(cd jail && find .)"
(cd jail && F copy "s3://$B/$P/unsafe/" in2/ >"$WORK/unsafe2.out" 2>&1); rc=$?
[ "$rc" = 7 ] && grep -q "name '..' has a '..' component" "$WORK/unsafe2.out" && grep -q "name '' is empty" "$WORK/unsafe2.out" \
  && ok "   ... without --recursive the prefixes '..' and '' are failed entries too (exit 7)" \
  || fail "   ... without --recursive (exit $rc)" "$(cat "$WORK/unsafe2.out")"
(cd jail && F copy "s3://$B/$P/unsafe/" in3/ --recursive --skip-unsafe-names >"$WORK/unsafe3.out" 2>&1); rc=$?
w=$(grep -c 'warn: skipped .*no safe destination name' "$WORK/unsafe3.out")
[ "$rc" = 0 ] && [ "$w" = 4 ] && [ -f jail/in3/ok.txt ] && ok "   ... --skip-unsafe-names: exit 0, one warning per entry" \
  || fail "   ... --skip-unsafe-names (exit $rc, $w warnings)" "$(cat "$WORK/unsafe3.out")"

# ---- --json records ---------------------------------------------------------------------
(cd jail && F copy "s3://$B/$P/unsafe/" in4/ --recursive --json >"$WORK/j.out" 2>"$WORK/j.err"); rc=$?
if [ "$rc" = 7 ] && python3 - "$WORK/j.out" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(recs) == 5, len(recs)
for r in recs:
    for k in ("source", "destination", "bytes", "seconds", "status", "error"):
        assert k in r, (k, r)
good = [r for r in recs if r["status"] == "ok"]
bad = [r for r in recs if r["status"] == "failed"]
assert len(good) == 1 and good[0]["bytes"] == 2 and good[0]["error"] is None, good
assert len(bad) == 4 and all(r["error"]["exit_code"] == 7 and r["error"]["message"] for r in bad), bad
EOF
then ok "--json: one parseable record per file (source, destination, bytes, seconds, status, error), exit 7"
else fail "--json records (exit $rc)" "$(head -3 "$WORK/j.out")"; fi

# ---- sync: the same names, the same options, the same records (cli/many.c) ----------------
(cd jail && F sync "s3://$B/$P/unsafe/" sy1/ --json >"$WORK/sy1.out" 2>"$WORK/sy1.err"); rc=$?
if [ "$rc" = 7 ] && python3 - "$WORK/sy1.out" <<'EOF2'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
files, close = [r for r in recs if "command" not in r], [r for r in recs if "command" in r]
assert len(files) == 5 and len(close) == 1, recs
for r in files:
    for k in ("source", "destination", "bytes", "seconds", "status", "error", "action", "name"):
        assert k in r, (k, r)
good = [r for r in files if r["status"] == "ok"]
bad = [r for r in files if r["status"] == "failed"]
assert len(good) == 1 and good[0]["name"] == "ok.txt" and good[0]["bytes"] == 2 and good[0]["error"] is None, good
assert len(bad) == 4 and all(r["error"]["exit_code"] == 7 and "no safe destination name" in r["error"]["message"]
                             for r in bad), bad
assert sorted(r["name"] for r in bad) == sorted(["../../../x", "/abs", "a/./../../b", "./dot"]), bad
assert close[0]["copied"] == 1 and close[0]["failed"] == 4, close
EOF2
then ok "sync over the unsafe keys: exit 7, the 4 names failed with their reason, copy's --json record fields"
else fail "sync over the unsafe keys (exit $rc)" "$(head -3 "$WORK/sy1.out")" "$(tail -2 "$WORK/sy1.err")"; fi
(cd jail && F sync "s3://$B/$P/unsafe/" sy2/ --skip-unsafe-names >"$WORK/sy2.out" 2>&1); rc=$?
w=$(grep -c 'warn: skipped .*no safe destination name' "$WORK/sy2.out")
[ "$rc" = 0 ] && [ "$w" = 4 ] && [ "$(cat jail/sy2/ok.txt)" = ok ] && ok "   ... sync --skip-unsafe-names: exit 0, one warning per entry" \
  || fail "   ... sync --skip-unsafe-names (exit $rc, $w warnings)" "$(cat "$WORK/sy2.out")"
(cd jail && F sync "s3://$B/$P/unsafe/" sy3/ --dry-run >"$WORK/sy3.out" 2>&1); rc=$?
n=$(grep -c '^FAIL .*no safe destination name.*would not be copied' "$WORK/sy3.out")
[ "$rc" = 7 ] && [ "$n" = 4 ] && grep -q '^copy   ok.txt' "$WORK/sy3.out" && [ ! -e jail/sy3 ] \
  && ok "   ... sync --dry-run: the same 4 failures listed, exit 7, nothing written" \
  || fail "   ... sync --dry-run (exit $rc, $n FAIL lines)" "$(cat "$WORK/sy3.out")"
# keys list in byte order: '../../../x' comes first, so --fail-fast takes no other file
(cd jail && F sync "s3://$B/$P/unsafe/" sy4/ --fail-fast --transfers 1 >"$WORK/sy4.out" 2>&1); rc=$?
n=$(grep -c '^FAIL ' "$WORK/sy4.out")
[ "$rc" = 7 ] && [ "$n" = 1 ] && [ ! -e jail/sy4/ok.txt ] && ok "   ... sync --fail-fast: stops at the first refused name (exit 7, ok.txt not taken)" \
  || fail "   ... sync --fail-fast (exit $rc, $n FAIL lines)" "$(cat "$WORK/sy4.out")"

# ---- --fail-fast -----------------------------------------------------------------------------
expect_code "--fail-fast over $N existing destinations: exit 6" 6 F copy src/ down/ --recursive --transfers 4 --fail-fast
nf=$(grep -c '^FAIL ' "$WORK/.out")
[ "$nf" -ge 1 ] && [ "$nf" -le 4 ] && ok "   ... stopped after the files in flight ($nf failed, not $N)" \
  || fail "   ... stopped early ($nf FAIL lines)"
! find down -name '*ferry-tmp*' | grep -q . && ok "   ... no temp file left" || fail "   ... temp files left"

# ---- SIGTERM mid-batch ---------------------------------------------------------------------
"$FERRY" copy "s3://$B/$P/up/" sig/ --recursive --transfers 4 >sig.out 2>&1 & fp=$!
for _ in $(seq 1 200); do [ -s sig.out ] && break; sleep 0.05; done   # the first file is done
kill -TERM "$fp" 2>/dev/null; wait "$fp"; rc=$?
if [ "$rc" = 0 ]; then skip "SIGTERM mid-batch: the copy finished before the signal"
elif [ "$rc" = 130 ] && ! find sig -name '*ferry-tmp*' 2>/dev/null | grep -q .; then
  ok "SIGTERM mid-batch, 4 transfers: exit 130, no temp file ($(find sig -type f 2>/dev/null | wc -l) files complete)"
else fail "SIGTERM mid-batch: exit $rc (want 130), temp files: $(find sig -name '*ferry-tmp*' 2>/dev/null | wc -l)"; fi
if [ "$rc" != 0 ] && ! diff <(sums sig | grep -v '^$') <(sums src | grep -F -f <(sums sig | cut -c67-)) >/dev/null 2>&1; then
  fail "   ... the files that arrived are whole"; else ok "   ... the files that arrived are whole"; fi

# ---- memory with 16 transfers (a resource check) -------------------------------------------
rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
# the sanitizer build's quarantine and shadow memory grow with every
# allocation (up to 256 MiB): its bound is 512 MiB, the release build's 128
LIM=131072; ldd "$FERRY" 2>/dev/null | grep -q libasan && LIM=524288
/usr/bin/time -v -o t1 "$FERRY" copy src/ "s3://$B/$P/mem/" --recursive --transfers 16 -q >/dev/null 2>&1; rc=$?
r1=$(rss t1)
[ "$rc" = 0 ] && [ "${r1:-999999}" -lt "$LIM" ] && ok "local -> S3, --transfers 16: peak RSS ${r1} KiB < $((LIM / 1024)) MiB" \
  || fail "local -> S3, --transfers 16 (exit $rc, peak RSS ${r1} KiB)"
/usr/bin/time -v -o t2 "$FERRY" copy "s3://$B/$P/mem/" mem/ --recursive --transfers 16 --max-memory 64M -q >/dev/null 2>&1; rc=$?
r2=$(rss t2)
[ "$rc" = 0 ] && [ "${r2:-999999}" -lt "$LIM" ] && same_tree src mem && ok "S3 -> local, --transfers 16 --max-memory 64M: peak RSS ${r2} KiB, byte-identical" \
  || fail "S3 -> local, --transfers 16 --max-memory 64M (exit $rc, peak RSS ${r2} KiB)"

# 2,000 small files with --transfers 16 at the default settings: the issue's bound, 64 MiB
LIM64=65536; ldd "$FERRY" 2>/dev/null | grep -q libasan && LIM64=524288
mkdir -p m2k/a m2k/b
for i in $(seq 1 1000); do head -c 1024 /dev/urandom > "m2k/a/f $i"; head -c 1024 /dev/urandom > "m2k/b/g $i"; done
/usr/bin/time -v -o t3 "$FERRY" copy m2k/ "s3://$B/$P/m2k/" --recursive --transfers 16 -q >/dev/null 2>&1; rc=$?
r3=$(rss t3)
[ "$rc" = 0 ] && [ "${r3:-999999}" -lt "$LIM64" ] && ok "2,000 files local -> S3, --transfers 16: peak RSS ${r3} KiB < $((LIM64 / 1024)) MiB" \
  || fail "2,000 files local -> S3, --transfers 16 (exit $rc, peak RSS ${r3} KiB, bound $((LIM64 / 1024)) MiB)"

finish

#!/usr/bin/env bash
# sync.sh - `ferry sync` and the file selection of multi-file copies (issue 14
# item 4) against the real radosgw and sshd, local -> S3 and local -> SFTP:
# the first sync copies every file (names with spaces and unicode, byte
# exact), a second one copies nothing (the --json counts), a changed size and
# a changed mtime are copied again (and on SFTP the copy carries the source's
# mtime), --include/--exclude in order, --delete under --dry-run lists the
# deletions first and deletes nothing, then for real deletes only files absent
# from the source (not excluded ones), `copy --ignore-existing` re-runs exit 0
# where a plain re-run exits 6, and --min-age leaves a file just written.
# Unique S3 prefix and SFTP directory per run, removed at the end.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../s3_lib.sh"
load_services_env
cd "$WORK"
command -v python3 >/dev/null || skip_all "python3 is needed to read the --json records"

B=${CEPH_S3_BUCKET:-etl-bucket}
P="ferry-it-sync-$$-$RANDOM"                    # our S3 prefix
RD=ferry-it-sync-$$-$RANDOM                     # our SFTP dir, relative to the home
RHOME=$SFTP_HOME/$RD                            # the same dir as seen locally
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE FERRY_CONNECTIONS_FILE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/no-credentials AWS_CONFIG_FILE=$WORK/no-config
export AIRFLOW_CONN_AWS_DEFAULT; AIRFLOW_CONN_AWS_DEFAULT=$(s3_conn_uri)
export AIRFLOW_CONN_SYNC_SFTP
AIRFLOW_CONN_SYNC_SFTP="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
export AWSX_TIMEOUT=60

# ferry rm (DeleteObjects) rather than the aws CLI, which takes seconds a call on a busy machine
cleanup() { timeout -k 5 60 "$FERRY" rm "s3://$B/$P/" --recursive -q >/dev/null 2>&1; rm -rf "$RHOME" "$WORK"; }
trap cleanup EXIT
install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"

F() { timeout -k 5 "${FT:-120}" "$FERRY" "$@"; }
# tally FILE: "copied=N skipped=N deleted=N failed=N" from the closing --json record
tally() {
  python3 -c 'import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
t = [x for x in r if "command" in x]
print("copied=%(copied)d skipped=%(skipped)d deleted=%(deleted)d failed=%(failed)d" % t[-1] if t else "no closing record")' "$1"
}
# names FILE ACTION: the names of the ACTION (copy/skip/delete) records, sorted, one line
names() {
  python3 -c 'import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(" ".join(sorted(x["name"] for x in r if x.get("action") == sys.argv[2])))' "$1" "$2"
}
# is NAME GOT WANT
is() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got:  $2" "want: $3"; fi; }

# The source tree: 6 files at 3 depths, with old mtimes (well before any upload).
make_tree() {
  rm -rf src; mkdir -p src/sub/deep src/tmp
  printf 'a,1\n' > src/a.csv
  printf 'b,22\n' > src/b.csv
  printf 'c,333\n' > "src/sub/with space é.csv"
  printf 'd,4444\n' > src/sub/deep/d.csv
  printf 'log\n' > src/sub/notes.txt
  printf 'scratch\n' > src/tmp/x.tmp
  find src -type f -exec touch -d '2024-01-02 03:04:05' {} +
}
ALL="a.csv b.csv sub/deep/d.csv sub/notes.txt sub/with space é.csv tmp/x.tmp"

# suite LABEL DEST LIST_CMD CAT_CMD KEEPS_MTIME
#   LIST_CMD DIR: the files under DEST/DIR, relative, sorted, one line
#   CAT_CMD NAME: the bytes of DEST/NAME on stdout
suite() {
  local L=$1 D=$2 list=$3 cat=$4 keeps_mtime=$5
  make_tree

  # first sync: everything; second: nothing
  F sync src "$D/main" --json > s1.json 2> s1.err
  is "$L: first sync copies all 6 files" "$(tally s1.json)" "copied=6 skipped=0 deleted=0 failed=0"
  is "$L: ... and DEST holds exactly them" "$($list main)" "$ALL"
  if $cat "main/sub/with space é.csv" | cmp -s - "src/sub/with space é.csv"; then
    ok "$L: ... byte exact (a name with a space and unicode)"
  else fail "$L: ... byte exact"; fi
  F sync src "$D/main" --json > s2.json 2> s2.err; local rc=$?
  is "$L: a second sync copies nothing (exit $rc)" "$rc $(tally s2.json)" "0 copied=0 skipped=6 deleted=0 failed=0"
  grep -q '"reason":"unchanged' s2.json && ok "$L: ... each skip says unchanged" || fail "$L: skips say unchanged" "$(head -2 s2.json)"

  # a changed size and a changed mtime are copied again
  printf 'a,1,grown\n' > src/a.csv
  touch -d '2024-01-02 03:04:05' src/a.csv             # same time, other size
  if [ "$keeps_mtime" = 1 ]; then
    touch -d '2023-05-06 07:08:09' src/b.csv           # any other time: DEST kept the old one
  else
    sleep 1; touch src/b.csv                           # newer than the object's LastModified
  fi
  F sync src "$D/main" --json > s3.json 2> s3.err
  is "$L: a changed size and a changed mtime are copied again" "$(tally s3.json) $(names s3.json copy)" \
     "copied=2 skipped=4 deleted=0 failed=0 a.csv b.csv"
  is "$L: ... the new a.csv arrived" "$($cat main/a.csv)" "a,1,grown"
  F sync src "$D/main" --json > s4.json 2> s4.err
  is "$L: ... and the next sync copies nothing again" "$(tally s4.json)" "copied=0 skipped=6 deleted=0 failed=0"

  # --include / --exclude, in the order given; an --include excludes the rest
  F sync src "$D/filtered" --exclude '/sub/deep/**' --include '*.csv' --include '*.txt' --json \
    > f1.json 2> f1.err
  is "$L: --exclude /sub/deep/** --include *.csv --include *.txt" "$($list filtered)" \
     "a.csv b.csv sub/notes.txt sub/with space é.csv"
  grep -q "excluded by --exclude '/sub/deep/\*\*'" f1.json && grep -q '"name":"tmp/x.tmp".*matched by no --include' f1.json &&
    ok "$L: ... the skips name the rule" || fail "$L: skips name the rule" "$(grep skip f1.json)"

  # --delete: the dry run lists the deletions first and deletes nothing
  rm src/a.csv
  printf 'stray\n' | F copy - "$D/main/stray.txt" -q
  F sync src "$D/main" --delete --exclude '*.tmp' --dry-run > d1.out 2> d1.err; rc=$?
  is "$L: --delete --dry-run lists the deletions first" "$rc $(head -2 d1.out | cut -c1-6 | tr -d ' ' | tr '\n' ' ')" \
     "0 delete delete "
  grep -q '^delete a.csv (absent from the source)' d1.out && grep -q '^delete stray.txt' d1.out &&
    ! grep '^delete' d1.out | grep -q 'x.tmp' && ok "$L: ... a.csv and stray.txt, not the excluded tmp/x.tmp" ||
    fail "$L: dry-run deletions" "$(cat d1.out)"
  grep -q 'dry run: 0 to copy, 5 to skip, 2 to delete; nothing changed' d1.err && ok "$L: ... with the counts" ||
    fail "$L: dry-run counts" "$(cat d1.err)"
  is "$L: ... and deletes nothing" "$($list main)" "a.csv b.csv stray.txt sub/deep/d.csv sub/notes.txt sub/with space é.csv tmp/x.tmp"
  F sync src "$D/main" --delete --exclude '*.tmp' --json > d2.json 2> d2.err
  is "$L: --delete deletes only the files absent from the source" "$(tally d2.json) $(names d2.json delete)" \
     "copied=0 skipped=5 deleted=2 failed=0 a.csv stray.txt"
  is "$L: ... the excluded tmp/x.tmp stays" "$($list main)" "b.csv sub/deep/d.csv sub/notes.txt sub/with space é.csv tmp/x.tmp"

  # copy --ignore-existing: a re-run exits 0 where a plain one exits 6
  check "$L: copy of a glob" F copy 'src/*.csv' "$D/once/" -q
  expect_code "$L: ... its plain re-run fails every file: exit 6" 6 F copy 'src/*.csv' "$D/once/" -q
  printf 'e,5\n' > src/e.csv
  F copy 'src/*.csv' "$D/once/" --ignore-existing > i1.out 2> i1.err; rc=$?
  is "$L: ... with --ignore-existing exits 0 and copies only the new file" "$rc $(grep -c '^ok ' i1.out) $(tail -1 i1.err)" \
     "0 1 ferry: 1 files copied, 1 skipped, 0 failed"
  is "$L: ... which arrived" "$($list once)" "b.csv e.csv"

  # --min-age leaves a file just written
  printf 'fresh\n' > src/fresh.csv
  F sync src "$D/main" --min-age 1h --json > m1.json 2> m1.err
  grep -q '"name":"fresh.csv".*younger than --min-age 3600s' m1.json && ok "$L: --min-age 1h skips the file just written" ||
    fail "$L: --min-age skips fresh.csv" "$(grep fresh m1.json)"
  ! $list main | grep -q fresh.csv && ok "$L: ... it is not at DEST" || fail "$L: fresh.csv was copied"
  F sync src "$D/main" --json > m2.json 2> m2.err
  is "$L: ... without it, it is copied" "$(names m2.json copy)" "e.csv fresh.csv"
}

# ---------------------------------------------------------------- local -> S3
# the keys under DEST/DIR by ferry's listing (the aws CLI checks the end state)
s3_list() { F ls "s3://$B/$P/$1/" --recursive | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'; }
s3_cat() { F cat "s3://$B/$P/$1"; }
suite "local -> S3" "s3://$B/$P" s3_list s3_cat 0
got=$(awsx s3api list-objects-v2 --bucket "$B" --prefix "$P/main/" --output json --query 'Contents[].Key' |
  python3 -c 'import json,sys; k=json.load(sys.stdin) or []; print(" ".join(sorted(x.split("/", 2)[2] for x in k)))')
is "local -> S3: the aws CLI lists the same end state" "$got" "$(s3_list main)"

# ---------------------------------------------------------------- local -> SFTP
sftp_list() { [ -d "$RHOME/$1" ] && (cd "$RHOME/$1" && find . -type f ! -name '.*' | sed 's|^\./||' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'); }
sftp_cat() { cat "$RHOME/$1"; }
suite "local -> SFTP" "sync_sftp:$RD" sftp_list sftp_cat 1
is "local -> SFTP: a copied file carries the source's mtime" "$(stat -c %Y "$RHOME/main/b.csv")" "$(stat -c %Y src/b.csv)"
is "local -> SFTP: ... also one copied again for its time" "$(date -u -d @"$(stat -c %Y "$RHOME/main/b.csv")" +%F)" "2023-05-06"

# ---------------------------------------------------------------- usage
expect_code "sync of a glob is a usage error" 2 F sync 'src/*.csv' "$WORK/x"
expect_code "a bad glob is a usage error" 2 F sync src "$WORK/x" --include 'a[b'
expect_code "copy --include of one file is a usage error" 2 F copy src/b.csv "$WORK/x.csv" --include '*.csv'
mkdir -p empty x && printf 'keep\n' > x/keep.txt
F sync "$WORK/missing-$$" x --delete > /dev/null 2> e.err; rc1=$?
F sync empty x --delete > /dev/null 2> e.err; rc2=$?
is "a missing or empty SOURCE is exit 5 and --delete deletes nothing" "$rc1 $rc2 $(ls x)" "5 5 keep.txt"

finish

#!/usr/bin/env bash
# bench/sync_unchanged.sh [N] - `ferry sync` over an unchanged tree of N files
# (default 1000) of 12 KiB, against the harness's radosgw and sshd (issue 14:
# "a sync over an unchanged 1,000-file tree finishes in under 2 s and
# transfers nothing"):
#   (a) local -> S3, first sync (copies N files; one request each today)
#   (b) local -> S3, again: lists both sides, copies nothing
#   (c) SFTP -> S3, the same tree in the SFTP user's home (cp -p: same mtimes)
#   (d) local -> SFTP, the same two trees
#   (e) aws s3 sync local -> S3 over the unchanged tree, for reference
# Each of (b)-(e) checks that nothing was copied (ferry's --json counts; aws
# prints nothing).  Timings are figures to read, never pass/fail.  Everything
# it creates (local tree, SFTP dir, S3 prefix) is removed on every exit path.
# Environment: FERRY_BIN, BENCH_RUNS (repetitions of the unchanged runs,
# default 3: the best wall is shown, the highest RSS).
BENCH_RUNS=${BENCH_RUNS:-3}
. "$(dirname "$0")/lib.sh"
N=${1:-1000}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] || { echo "bench: N must be a number >= 1" >&2; exit 2; }
[ -x "$FERRY" ] || { echo "bench: no ferry binary at $FERRY (set FERRY_BIN)" >&2; exit 2; }
load_env
PFX=bench/sync.$$
RD=ferry-bench-sync.$$
RDIR=$SFTP_HOME/$RD
TREE=$BENCH_DIR/tree
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
export AIRFLOW_CONN_BENCH_SFTP="sftp://$(enc "$SFTP_USER")@$SFTP_HOST:$SFTP_PORT?key_file=$(enc "$SFTP_KEY")&known_hosts=$(enc "$SFTP_KNOWN_HOSTS")"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  timeout -k 5 300 "$FERRY" rm "s3://$BUCKET/$PFX/" --recursive -q >/dev/null 2>&1
  rm -rf "$RDIR" "$BENCH_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: $N files of 12 KiB in 10 directories ..." >&2
python3 - "$TREE" "$N" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "file %05d.csv" % i), "wb") as f:
        f.write(os.urandom(12 * 1024))
EOF
find "$TREE" -type f -exec touch -d '2024-01-02 03:04:05' {} +
cp -rp "$TREE" "$RDIR" && chown -R "$SFTP_USER:$SFTP_USER" "$RDIR"

# copied FILE: the closing --json record's copied count, "?" without one
copied() { python3 -c 'import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"ok\"")]
print(r[-1]["copied"] if r else "?")' "$1"; }

measure first "$FERRY" sync "$TREE" "s3://$BUCKET/$PFX/" --json
C_first=$(copied "$BENCH_DIR/out.first")
measure_best local_s3 "$FERRY" sync "$TREE" "s3://$BUCKET/$PFX/" --json
C_local_s3=$(copied "$BENCH_DIR/out.local_s3")
measure_best sftp_s3 "$FERRY" sync "bench_sftp:$RD" "s3://$BUCKET/$PFX/" --json
C_sftp_s3=$(copied "$BENCH_DIR/out.sftp_s3")
measure_best local_sftp "$FERRY" sync "$TREE" "bench_sftp:$RD" --json
C_local_sftp=$(copied "$BENCH_DIR/out.local_sftp")
if [ -x "$AWS" ]; then
  measure_best aws_sync timeout 300 $S3 s3 sync "$TREE" "s3://$BUCKET/$PFX/" --only-show-errors
  C_aws=$(grep -c . "$BENCH_DIR/out.aws_sync" || true)
else
  not_available aws_sync "no aws CLI"; C_aws=-
fi

echo
echo "Sync over an unchanged tree of $N files of 12 KiB ($(machine)); best of $BENCH_RUNS:"
echo
echo "| run | wall s | peak RSS MiB | files copied | under 2 s |"
echo "| --- | --- | --- | --- | --- |"
echo "| ferry sync local -> S3, first run | ${WALL[first]} | ${RSS[first]} | $C_first | - |"
echo "| ferry sync local -> S3, unchanged | ${WALL[local_s3]} | ${RSS[local_s3]} | $C_local_s3 | $(verdict "${WALL[local_s3]}" lt 2) |"
echo "| ferry sync SFTP -> S3, unchanged | ${WALL[sftp_s3]} | ${RSS[sftp_s3]} | $C_sftp_s3 | $(verdict "${WALL[sftp_s3]}" lt 2) |"
echo "| ferry sync local -> SFTP, unchanged | ${WALL[local_sftp]} | ${RSS[local_sftp]} | $C_local_sftp | $(verdict "${WALL[local_sftp]}" lt 2) |"
echo "| aws s3 sync local -> S3, unchanged | ${WALL[aws_sync]} | ${RSS[aws_sync]} | $C_aws (lines printed) | - |"

#!/usr/bin/env bash
# bench/many_files.sh - many small files side by side, against the harness's
# OpenSSH sshd and Ceph radosgw (bash tests/harness/services.sh up): for each
# set (default 1,000 x 12 KB and 10,000 x 1 KB of incompressible data),
#   SFTP -> S3, S3 -> SFTP, local -> S3, S3 -> local
# with ferry (`copy DIR/ DEST/`, --transfers default), `rclone copy`
# (Debian's rclone, remotes from RCLONE_CONFIG_* variables, its defaults) and
# `aws s3 cp --recursive` (local <-> S3 only), in one run; wall seconds, files
# per second, peak RSS and the ratio to ferry.  Then the --transfers sweep
# that chose ferry's default (1, 4, 8, 16 on local -> S3 and SFTP -> S3 with
# the first set).  Prints markdown tables (the "Many small files" section of
# docs/performance-sftp.md) on stdout, progress on stderr.
#
# Needs root (writes into the SFTP user's home).  Environment: FERRY_BIN,
# MANY_BENCH_SETS (default "1000x12288 10000x1024": COUNTxBYTES),
# MANY_BENCH_SWEEP (default "1 4 8 16"; empty = no sweep), MANY_BENCH_LEGS
# (default "sftp_s3 s3_sftp local_s3 s3_local": the jobs to run), BENCH_RUNS
# (default 1; wall = best run, RSS = highest), MANY_BENCH_TIMEOUT (seconds a
# command may take, default 1200).  Everything the script creates (local
# files, SFTP directories, S3 objects) is removed on every exit path; every
# destination is checked for its file count after each run.
. "$(dirname "$0")/lib.sh"
set -o pipefail
SETS=${MANY_BENCH_SETS:-"1000x12288 10000x1024"}
SWEEP=${MANY_BENCH_SWEEP-"1 4 8 16"}
LEGS=" ${MANY_BENCH_LEGS:-sftp_s3 s3_sftp local_s3 s3_local} "
leg() { [[ $LEGS == *" $1 "* ]]; }
TMO=${MANY_BENCH_TIMEOUT:-1200}
TO=(timeout -k 10 "$TMO")
load_env
[ "$(id -u)" = 0 ] || { echo "bench: needs root (files in the SFTP user's home)" >&2; exit 1; }
RCLONE=$(command -v rclone || true)
TAG=ferry-many-$$
RD=$TAG                                     # SFTP dir, relative to the home
RHOME=$SFTP_HOME/$RD
PFX=$TAG                                    # S3 prefix
cleanup() {
  rm -rf "$RHOME"
  s3_reap "$PFX/" >/dev/null 2>&1
  rm -rf "$BENCH_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export AIRFLOW_CONN_PARTNER="sftp://$SFTP_USER@127.0.0.1:$SFTP_PORT?key_file=$(enc "$SFTP_KEY")&known_hosts=$(enc "$SFTP_KNOWN_HOSTS")"
# rclone: remotes from the environment only; shell_type=none (internal-sftp),
# no_check_bucket (the shared bucket exists); AWS_CA_BUNDLE unset for it
export RCLONE_CONFIG_SFTP_TYPE=sftp RCLONE_CONFIG_SFTP_HOST=127.0.0.1 RCLONE_CONFIG_SFTP_PORT=$SFTP_PORT \
  RCLONE_CONFIG_SFTP_USER=$SFTP_USER RCLONE_CONFIG_SFTP_KEY_FILE=$SFTP_KEY \
  RCLONE_CONFIG_SFTP_KNOWN_HOSTS_FILE=$SFTP_KNOWN_HOSTS RCLONE_CONFIG_SFTP_SHELL_TYPE=none \
  RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Ceph RCLONE_CONFIG_S3_ENDPOINT=$CEPH_S3_ENDPOINT \
  RCLONE_CONFIG_S3_ACCESS_KEY_ID=$CEPH_S3_ACCESS_KEY RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=$CEPH_S3_SECRET_KEY \
  RCLONE_CONFIG_S3_REGION=$CEPH_S3_REGION RCLONE_CONFIG_S3_NO_CHECK_BUCKET=true
RC=(env -u AWS_CA_BUNDLE "$RCLONE" --config "$BENCH_DIR/rclone.conf" -q copy)
: > "$BENCH_DIR/rclone.conf"

# count_s3 PREFIX / count_dir DIR: files there (checked after every run)
count_s3() { timeout 300 $S3 s3 ls "s3://$BUCKET/$1" --recursive 2>/dev/null | wc -l; }
count_dir() { find "$1" -type f ! -name '.*ferry-tmp*' 2>/dev/null | wc -l; }
BAD=
# run NAME KIND DEST CMD... : measure_best; KIND s3|dir says how DEST (an S3
# prefix or a local/SFTP-home directory, @RUN@ = the run) is counted and removed
run() {
  local name=$1 kind=$2 dest=$3; shift 3
  AFTER="check_and_clear $kind '$dest' $name" measure_best "$name" "$@"
}
check_and_clear() {
  local kind=$1 dest=${2//@RUN@/$i} name=$3 n
  if [ "$kind" = s3 ]; then n=$(count_s3 "$dest"); s3_reap "$dest" >/dev/null 2>&1
  else n=$(count_dir "$dest"); rm -rf "$dest"; fi
  [ "$n" = "$COUNT" ] || { BAD+=" $name:$n/$COUNT"; echo "bench: $name left $n of $COUNT files" >&2; }
}

W() { echo "${WALL[$1]:-n/a}"; }
R() { echo "${RSS[$1]:-n/a}"; }
fps() { python3 -c "
import sys
try: n, w = float(sys.argv[1]), float(sys.argv[2])
except ValueError: print('-'); sys.exit()
print(f'{n/w:.0f}' if w == w and w > 0 else '-')" "$COUNT" "$1"; }
row() { # LABEL NAME REF
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$(W "$2")" "$(fps "$(W "$2")")" "$(R "$2")" \
    "$( [ "$2" = "$3" ] && echo 1.00 || ratio "$(W "$2")" "$(W "$3")")"
}

OUT=$BENCH_DIR/tables.md
{
echo "#### Many small files ($(date -u +%Y-%m-%d), $(machine))"
echo
echo "ferry $("$FERRY" --version 2>/dev/null | head -1), $("$RCLONE" version 2>/dev/null | head -1), $($AWS --version 2>&1 | head -1)."
echo "Wall seconds (best of $BENCH_RUNS), files/s, peak RSS (MiB, highest), and the tool's wall / ferry's (above 1: ferry is faster)."
} > "$OUT"

for set in $SETS; do
  COUNT=${set%x*} BYTES=${set#*x}
  echo "bench: set $COUNT x $BYTES bytes: writing the files ..." >&2
  SRC=$BENCH_DIR/src-$set
  mkdir -p "$SRC"
  python3 - "$SRC" "$COUNT" "$BYTES" <<'EOF'
import os, sys
d, n, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
        f.write(os.urandom(b))
EOF
  install -d -o "$SFTP_USER" -g "$SFTP_USER" "$RHOME"
  cp -r "$SRC" "$RHOME/src-$set"; chown -R "$SFTP_USER:$SFTP_USER" "$RHOME"
  "${TO[@]}" "$FERRY" copy "$SRC/" "s3://$BUCKET/$PFX/src-$set/" --transfers 16 -q ||
    { echo "bench: cannot stage the S3 source" >&2; exit 1; }
  S3SRC="s3://$BUCKET/$PFX/src-$set/"
  L=$BENCH_DIR/l-$set                       # local destinations
  D="$PFX/d-$set"                            # S3 destinations (prefix)
  H=$RHOME/h-$set                            # SFTP destinations (as seen locally)

  if leg sftp_s3; then echo "bench: SFTP -> S3 ..." >&2
  run sftp_s3_ferry s3 "$D/a@RUN@/" "${TO[@]}" "$FERRY" copy "partner:$RD/src-$set/" "s3://$BUCKET/$D/a@RUN@/" -q
  [ -n "$RCLONE" ] && run sftp_s3_rclone s3 "$D/b@RUN@/" "${TO[@]}" "${RC[@]}" "sftp:$RD/src-$set" "s3:$BUCKET/$D/b@RUN@"
  fi
  if leg s3_sftp; then echo "bench: S3 -> SFTP ..." >&2
  run s3_sftp_ferry dir "$H/a@RUN@" "${TO[@]}" "$FERRY" copy "$S3SRC" "partner:$RD/h-$set/a@RUN@/" -q
  [ -n "$RCLONE" ] && run s3_sftp_rclone dir "$H/b@RUN@" "${TO[@]}" "${RC[@]}" "s3:$BUCKET/$PFX/src-$set" "sftp:$RD/h-$set/b@RUN@"
  fi
  if leg local_s3; then echo "bench: local -> S3 ..." >&2
  run local_s3_ferry s3 "$D/c@RUN@/" "${TO[@]}" "$FERRY" copy "$SRC/" "s3://$BUCKET/$D/c@RUN@/" -q
  [ -n "$RCLONE" ] && run local_s3_rclone s3 "$D/d@RUN@/" "${TO[@]}" "${RC[@]}" "$SRC" "s3:$BUCKET/$D/d@RUN@"
  run local_s3_aws s3 "$D/e@RUN@/" "${TO[@]}" $S3 s3 cp "$SRC/" "s3://$BUCKET/$D/e@RUN@/" --recursive --only-show-errors
  fi
  if leg s3_local; then echo "bench: S3 -> local ..." >&2
  run s3_local_ferry dir "$L/f@RUN@" "${TO[@]}" "$FERRY" copy "$S3SRC" "$L/f@RUN@/" -q
  [ -n "$RCLONE" ] && run s3_local_rclone dir "$L/g@RUN@" "${TO[@]}" "${RC[@]}" "s3:$BUCKET/$PFX/src-$set" "$L/g@RUN@"
  run s3_local_aws dir "$L/h@RUN@" "${TO[@]}" $S3 s3 cp "$S3SRC" "$L/h@RUN@/" --recursive --only-show-errors
  fi

  {
  echo
  echo "$COUNT files x $BYTES bytes:"
  echo
  echo "| job | wall s | files/s | peak RSS MiB | tool / ferry |"
  echo "| --- | --- | --- | --- | --- |"
  row "SFTP → S3, ferry" sftp_s3_ferry sftp_s3_ferry
  row "SFTP → S3, rclone copy" sftp_s3_rclone sftp_s3_ferry
  row "S3 → SFTP, ferry" s3_sftp_ferry s3_sftp_ferry
  row "S3 → SFTP, rclone copy" s3_sftp_rclone s3_sftp_ferry
  row "local → S3, ferry" local_s3_ferry local_s3_ferry
  row "local → S3, rclone copy" local_s3_rclone local_s3_ferry
  row "local → S3, aws s3 cp --recursive" local_s3_aws local_s3_ferry
  row "S3 → local, ferry" s3_local_ferry s3_local_ferry
  row "S3 → local, rclone copy" s3_local_rclone s3_local_ferry
  row "S3 → local, aws s3 cp --recursive" s3_local_aws s3_local_ferry
  } >> "$OUT"

  if [ -n "$SWEEP" ] && [ "$set" = "${SETS%% *}" ]; then
    {
    echo
    echo "--transfers sweep, $COUNT files x $BYTES bytes (wall s / peak RSS MiB):"
    echo
    echo "| --transfers | local → S3 | SFTP → S3 |"
    echo "| --- | --- | --- |"
    } >> "$OUT"
    for t in $SWEEP; do
      echo "bench: --transfers $t ..." >&2
      run "sw_local_$t" s3 "$D/s$t-@RUN@/" "${TO[@]}" "$FERRY" copy "$SRC/" "s3://$BUCKET/$D/s$t-@RUN@/" --transfers "$t" -q
      run "sw_sftp_$t" s3 "$D/t$t-@RUN@/" "${TO[@]}" "$FERRY" copy "partner:$RD/src-$set/" "s3://$BUCKET/$D/t$t-@RUN@/" --transfers "$t" -q
      echo "| $t | $(W "sw_local_$t") / $(R "sw_local_$t") | $(W "sw_sftp_$t") / $(R "sw_sftp_$t") |" >> "$OUT"
    done
  fi
  rm -rf "$SRC" "$L" "$RHOME/src-$set" "$H"; s3_reap "$PFX/" >/dev/null 2>&1
done
[ -n "$BAD" ] && { echo; echo "Runs that did not leave every file:$BAD"; } >> "$OUT"
[ -z "$RCLONE" ] && { echo; echo "rclone is not installed (apt-get install -y rclone): its rows are n/a."; } >> "$OUT"
cat "$OUT"

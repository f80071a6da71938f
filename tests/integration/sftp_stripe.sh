#!/usr/bin/env bash
# sftp_stripe.sh - a large upload to SFTP written by several sessions at once
# (hooks/sftp/sftp_stripe.c, the write_sessions extra) against the harness's
# OpenSSH server: byte-identical with helpers that provably wrote segments
# (stdin paused after 9 MiB, so they are connected when the rest arrives),
# the default path from a local file, a failure injected mid-upload under
# --replace (FERRY_FAULT, test builds) leaving the old file intact and no
# temp file, and a bad write_sessions refused.  About 20 MiB per copy; no
# timings.  Runs as root (it reads the SFTP user's home to check the files).
. "$(dirname "$0")/../lib.sh"
load_services_env
cd "$WORK"

RD=ferry-stripe-$$
RHOME=$SFTP_HOME/$RD
cleanup() { rm -rf "$RHOME" "$WORK"; }
trap cleanup EXIT
install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"

F() { timeout -k 5 120 "$FERRY" "$@"; }
sha() { sha256sum < "$1" | cut -d' ' -f1; }
no_temp_in() { ! ls -A "$1" | grep -q 'ferry-\(tmp\|old\)-'; }
URI="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
export AIRFLOW_CONN_STRIPE_IT="$URI&write_sessions=2"
export AIRFLOW_CONN_STRIPE_DEF="$URI"

SIZE=$((20 * 1024 * 1024 + 12345))     # 5 segments and a short last one
head -c "$SIZE" /dev/urandom > big.bin
FIRST=$((9 * 1024 * 1024))             # striping starts at 8 MiB
# paused: the first 9 MiB, 2 s for the helpers to connect, the rest
paused() { head -c "$FIRST" big.bin; sleep 2; tail -c +$((FIRST + 1)) big.bin; }

# ---------------------------------------------------------------- helpers write
paused | F --log-level debug copy - "stripe_it:$RD/a.bin" > log.a 2>&1; code=$?
if [ "$code" = 0 ] && [ "$(sha "$RHOME/a.bin" 2>/dev/null)" = "$(sha big.bin)" ]; then
  ok "2 write sessions: byte-identical ($SIZE bytes)"
else
  fail "2 write sessions: byte-identical (exit $code)" "$(tail -5 log.a)"
fi
n=$(sed -n 's/.* \([0-9][0-9]*\) segments of .* were written by the other sessions.*/\1/p' log.a | tail -1)
if grep -q "is written by 1 more session" log.a && [ "${n:-0}" -ge 1 ]; then
  ok "helper sessions wrote $n of the segments"
else
  fail "helper sessions wrote segments" "$(grep -i 'session\|segment' log.a | tail -5)"
fi
no_temp_in "$RHOME" && ok "no temp file after a striped upload" || fail "no temp file after a striped upload" "$(ls -A "$RHOME")"
[ "$(stat -c %a "$RHOME/a.bin" 2>/dev/null)" = 644 ] && ok "published with mode 644" \
  || fail "published with mode 644" "$(stat -c %a "$RHOME/a.bin" 2>&1)"

# ---------------------------------------------------------------- default, local file
F --log-level debug copy big.bin "stripe_def:$RD/b.bin" > log.b 2>&1; code=$?
if [ "$code" = 0 ] && [ "$(sha "$RHOME/b.bin" 2>/dev/null)" = "$(sha big.bin)" ]; then
  ok "default write_sessions, local file: byte-identical"
else
  fail "default write_sessions, local file: byte-identical (exit $code)" "$(tail -5 log.b)"
fi
# write_sessions defaults to 1 (striping is opt-in, docs/performance-sftp.md)
! grep -q "is written by [0-9]* more session" log.b && ok "default: one session, no helpers" \
  || fail "default: one session, no helpers" "$(grep -i 'session' log.b | tail -3)"

# ---------------------------------------------------------------- failure mid-upload, --replace
# the old destination stays whole; the temp file goes, helpers' writes too
head -c 1000 /dev/urandom > old.bin
cp old.bin "$RHOME/c.bin"; chown "$SFTP_USER:$SFTP_USER" "$RHOME/c.bin"
FAULT_AT=$((16 * 1024 * 1024))
printf 'x' > probe.txt
FERRY_FAULT=source:open:1:fatal "$FERRY" copy probe.txt probe.out -q > /dev/null 2>&1
if [ $? != 7 ]; then
  skip "failure mid-upload: ferry built without FERRY_FAULT_INJECTION"
else
  paused | FERRY_FAULT="sink:write:@$FAULT_AT:fatal" F --log-level debug copy - "stripe_it:$RD/c.bin" --replace \
    > log.c 2>&1; code=$?
  grep -q "is written by" log.c && ok "failure mid-upload: striping had started" \
    || fail "failure mid-upload: striping had started" "$(tail -5 log.c)"
  [ "$code" = 7 ] && ok "failure injected mid-upload under --replace: exit 7" \
    || fail "failure injected mid-upload under --replace: exit 7 (got $code)" "$(tail -5 log.c)"
fi
[ "$(sha "$RHOME/c.bin" 2>/dev/null)" = "$(sha old.bin)" ] && ok "the old destination is intact" \
  || fail "the old destination is intact" "$(ls -la "$RHOME")"
sleep 0.5   # a helper's abandoned connection may still be closing on the server
no_temp_in "$RHOME" && ok "no temp file after the failure" || fail "no temp file after the failure" "$(ls -A "$RHOME")"

# ---------------------------------------------------------------- bad extra
expect_code "write_sessions=0 is refused (exit 3)" 3 \
  env AIRFLOW_CONN_STRIPE_BAD="$URI&write_sessions=0" "$FERRY" copy big.bin "stripe_bad:$RD/d.bin" -q
[ ! -e "$RHOME/d.bin" ] && ok "nothing written with a bad write_sessions" || fail "nothing written with a bad write_sessions"

finish

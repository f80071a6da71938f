#!/usr/bin/env bash
# sftp_hook.sh - the SFTP hook against the harness's OpenSSH server
# (tests/harness/services.sh): round trips up to 1 GiB (SFTP_IT_BIG_MIB),
# read-ahead over 0, 1 and 4 sessions (also at 10 ms RTT through
# tests/harness/delay_proxy), stdout, gzip on the way, host key policy
# (unknown, changed, revoked, hashed, pinned, disabled), every authentication method, --replace and its absence, permission denied,
# missing paths, SIGTERM mid-upload, a connection dropped and a server killed
# mid-upload (on a private sshd started here), listings, multi-file copies,
# 200 small files both ways over a few cached sessions (and an sshd child killed
# mid-batch), the session cache's threads (test_sftp_pool),
# the hook's slots through test_sftp_live, and secrets never printed.
# Runs as root (it plants files in the SFTP user's home to check the hook
# against the server's view).  Every client call runs under `timeout`.
. "$(dirname "$0")/../lib.sh"
load_services_env
cd "$WORK"

SFD=$(dirname "$SFTP_KNOWN_HOSTS")              # the harness's sftp dir
AUTH_KEYS=$SFD/authorized_keys/$SFTP_USER       # the key user's authorized_keys
RD=ferry-it-$$                                  # our remote dir, relative to the home
RHOME=$SFTP_HOME/$RD                            # the same dir as seen locally
BUILD_DIR=${FERRY_BUILD_DIR:-$(dirname "$FERRY")}
SSHD2_PID= PROXY_PID=
AGENT_PID=
PLANTED_KEYS=()

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
# F ARGS...: the ferry CLI under a timeout (FT seconds, default 120)
F() { timeout -k 5 "${FT:-120}" "$FERRY" "$@"; }
sha() { sha256sum < "$1" | cut -d' ' -f1; }
as_user() { chown -R "$SFTP_USER:$SFTP_USER" "$@"; }
no_temp_in() { ! ls -A "$1" | grep -q 'ferry-\(tmp\|old\)-'; }
# out_has NAME PATTERN: the last check/expect_code output holds PATTERN
out_has() { if grep -q -- "$2" "$WORK/.out"; then ok "$1"; else fail "$1" "$(tail -5 "$WORK/.out")"; fi; }
descendants() { local p; for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$p"; descendants "$p"; done; }
conn_uri() { # USER PORT QUERY
  printf 'sftp://%s@%s:%s?%s' "$1" "$SFTP_HOST" "$2" "$3"
}
KEYQ="key_file=$(enc "$SFTP_KEY")"
KHQ="known_hosts=$(enc "$SFTP_KNOWN_HOSTS")"

cleanup() {
  if [ -n "$SSHD2_PID" ] && kill -0 "$SSHD2_PID" 2>/dev/null; then
    local d; d=$(descendants "$SSHD2_PID"); kill -9 "$SSHD2_PID" $d 2>/dev/null
  fi
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
  local k
  for k in "${PLANTED_KEYS[@]}"; do   # take out exactly the lines we added
    grep -vxF -- "$k" "$AUTH_KEYS" > "$WORK/.ak" ; cat "$WORK/.ak" > "$AUTH_KEYS"
  done
  rm -rf "$RHOME" "$WORK"
}
trap cleanup EXIT

install -d -o "$SFTP_USER" -g "$SFTP_USER" -m 755 "$RHOME"
export AIRFLOW_CONN_SFTP_IT; AIRFLOW_CONN_SFTP_IT=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&$KHQ")

# ---------------------------------------------------------------- connection test
check "conn test: key user" F conn test sftp_it
out_has "conn test names the verified host key" "host key ssh-ed25519 $SFTP_HOSTKEY_SHA256 verified against $SFTP_KNOWN_HOSTS"
AIRFLOW_CONN_SFTP_DEAD=$(conn_uri "$SFTP_USER" 1 "$KEYQ&$KHQ&conn_timeout=5") \
  expect_code "conn test: nothing listening -> fails after retries, still a connect failure (4)" 4 F conn test sftp_dead
grep -q "Connection refused" "$WORK/.out" && ok "conn test: says connection refused" || fail "conn test: says connection refused" "$(cat "$WORK/.out")"

# ---------------------------------------------------------------- round trips
round_trip() { # SIZE LABEL
  head -c "$1" /dev/urandom > rt.in
  local want; want=$(sha rt.in)
  if F copy rt.in "sftp_it:$RD/rt.bin" -q 2> rt.err && [ "$(sha "$RHOME/rt.bin")" = "$want" ] \
     && [ "$(stat -c %a "$RHOME/rt.bin")" = 644 ] && F copy "sftp_it:$RD/rt.bin" rt.out -q 2>> rt.err \
     && [ "$(sha rt.out)" = "$want" ] && no_temp_in "$RHOME"; then
    ok "round trip local -> sftp -> local: $2 (sha256 equal at both ends, mode 644)"
  else
    fail "round trip local -> sftp -> local: $2" "$(cat rt.err)"
  fi
  rm -f rt.in rt.out "$RHOME/rt.bin"
}
round_trip 0 "empty file"
round_trip 1 "1 byte"
round_trip $((10 * 1024 * 1024 + 1)) "10 MiB + 1 byte"
# SFTP_IT_BIG_MIB: the large round trip's size (default 1024; smaller under ASan)
BIG=${SFTP_IT_BIG_MIB:-1024}
FT=900 round_trip $((BIG * 1024 * 1024)) "$BIG MiB"

# ---------------------------------------------------------------- stdout, stdin, gzip, sftp -> sftp
printf 'id,name\n1,"Ann, A."\n2,Bob\n' > a.csv
for i in $(seq 1 20000); do printf '%d,row %d\n' "$i" "$i"; done >> a.csv
check "local -> sftp" F copy a.csv "sftp_it:$RD/a.csv" -q
check "sftp -> stdout" bash -c "timeout 60 '$FERRY' copy 'sftp_it:$RD/a.csv' - -q | cmp - a.csv"
check "stdin -> sftp" bash -c "timeout 60 '$FERRY' copy - 'sftp_it:$RD/stdin.csv' -q < a.csv && cmp '$RHOME/stdin.csv' a.csv"
check "gzip on the way: a.csv -> sftp a.csv.gz" F copy a.csv "sftp_it:$RD/a.csv.gz" -q
check "the remote .gz is valid gzip of a.csv" bash -c "gzip -t '$RHOME/a.csv.gz' && gzip -dc '$RHOME/a.csv.gz' | cmp - a.csv"
check "and back: sftp a.csv.gz -> local csv (gunzip)" bash -c "timeout 60 '$FERRY' copy 'sftp_it:$RD/a.csv.gz' back.csv -q && cmp back.csv a.csv"
check "sftp -> sftp (two connections)" bash -c "timeout 60 '$FERRY' copy 'sftp_it:$RD/a.csv' 'sftp_it:$RD/copy.csv' -q && cmp '$RHOME/copy.csv' a.csv"
check "sftp -> local with --spool disk" bash -c "timeout 60 '$FERRY' copy 'sftp_it:$RD/a.csv' spooled.csv --spool disk -q && cmp spooled.csv a.csv"

# ---------------------------------------------------------------- one large file over several sessions
# (also: read ahead in a thread by default, the defaults per file size, and
# the same over tests/harness/delay_proxy with 10 ms RTT)
head -c $((100 * 1024 * 1024 + 12345)) /dev/urandom > "$RHOME/par.bin"; as_user "$RHOME/par.bin"
export AIRFLOW_CONN_SFTP_PAR; AIRFLOW_CONN_SFTP_PAR=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&$KHQ&read_sessions=4")
check "read_sessions=4: 100 MiB file read over 4 sessions, sha256 equal" bash -c \
  "timeout 120 '$FERRY' --log-level debug copy sftp_par:$RD/par.bin par.out -q 2> par.err && grep -q 'over 4 sessions' par.err && cmp par.out '$RHOME/par.bin'"
check "read_sessions=4: to stdout" bash -c \
  "timeout 120 '$FERRY' copy sftp_par:$RD/par.bin - -q | cmp - '$RHOME/par.bin'"
rm -f par.out
mkfifo par.fifo
( sleep 4; cat > /dev/null ) < par.fifo &
reader=$!
timeout -k 5 60 "$FERRY" copy "sftp_par:$RD/par.bin" - -q > par.fifo 2> par.err &
pid=$!
sleep 1; kill -TERM "$pid"; wait "$pid"; code=$?
[ "$code" = 130 ] && ok "read_sessions=4: SIGTERM while the workers wait -> 130" || fail "read_sessions=4: SIGTERM -> 130 (got $code)" "$(cat par.err)"
wait "$reader" 2>/dev/null; rm -f par.fifo
AIRFLOW_CONN_SFTP_PAR=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&$KHQ&read_sessions=many") \
  expect_code "read_sessions=many -> 3" 3 F copy "sftp_par:$RD/par.bin" -
AIRFLOW_CONN_SFTP_PAR=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&$KHQ&read_sessions=3&read_block_kib=5000") \
  check "read_block_kib=5000 with 3 sessions: sha256 equal, ring of 4 blocks of 5000 KiB" bash -c \
  "timeout 120 '$FERRY' --log-level debug copy sftp_par:$RD/par.bin - -q 2> par.err | cmp - '$RHOME/par.bin' && grep -q 'read-ahead ring: 4 blocks of 5000 KiB' par.err"
AIRFLOW_CONN_SFTP_PAR=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&$KHQ&read_block_kib=7") \
  expect_code "read_block_kib=7 -> 3" 3 F copy "sftp_par:$RD/par.bin" -
check "default: a 100 MiB file is read ahead over 4 sessions" bash -c \
  "timeout 120 '$FERRY' --log-level debug copy sftp_it:$RD/par.bin par.out -q 2> par.err && grep -q 'ahead over 4 sessions' par.err && cmp par.out '$RHOME/par.bin'"
check "4 sessions: a ring of 5 blocks of 1536 KiB by default" grep -q 'read-ahead ring: 5 blocks of 1536 KiB' par.err
AIRFLOW_CONN_SFTP_PAR=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&$KHQ&read_sessions=1") \
  check "read_sessions=1: one session reading ahead in a thread" bash -c \
  "timeout 120 '$FERRY' --log-level debug copy sftp_par:$RD/par.bin - -q 2> par.err | cmp - '$RHOME/par.bin' && grep -q 'ahead over 1 session\$' par.err"
AIRFLOW_CONN_SFTP_PAR=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&$KHQ&read_sessions=0") \
  check "read_sessions=0: read in the caller's thread" bash -c \
  "timeout 120 '$FERRY' --log-level debug copy sftp_par:$RD/par.bin - -q 2> par.err | cmp - '$RHOME/par.bin' && ! grep -q 'ahead over' par.err"
head -c $((20 * 1024 * 1024 + 7)) "$RHOME/par.bin" > "$RHOME/mid.bin"; as_user "$RHOME/mid.bin"
check "default: a 20 MiB file is read ahead over 1 session (below 64 MiB)" bash -c \
  "timeout 120 '$FERRY' --log-level debug copy sftp_it:$RD/mid.bin - -q 2> par.err | cmp - '$RHOME/mid.bin' && grep -q 'ahead over 1 session\$' par.err"
check "a 3 MiB file is read in the caller's thread" bash -c \
  "head -c 3145728 '$RHOME/par.bin' > '$RHOME/small.bin' && timeout 60 '$FERRY' --log-level debug copy sftp_it:$RD/small.bin - -q 2> par.err | cmp - '$RHOME/small.bin' && ! grep -q 'ahead over' par.err"
if [ -x "$BUILD_DIR/delay_proxy" ]; then
  "$BUILD_DIR/delay_proxy" --target "$SFTP_PORT" --delay-ms 5 > proxy.out 2> proxy.err &
  PROXY_PID=$!
  for _ in $(seq 50); do grep -q port= proxy.out && break; sleep 0.1; done
  PPORT=$(sed -n 's/.*port=//p' proxy.out)
  # the server speaks first: its banner arrives one delay (5 ms) after connect
  check "delay_proxy: the SSH banner arrives >= 5 ms after connect" python3 -c '
import socket, sys, time
t = time.monotonic(); s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
b = s.recv(100); d = (time.monotonic() - t) * 1000
print(f"banner after {d:.1f} ms: {b[:20]!r}"); sys.exit(not (b.startswith(b"SSH-") and 5 <= d < 500))' "$PPORT"
  sed "s/^\[127.0.0.1\]:$SFTP_PORT /[127.0.0.1]:$PPORT /" "$SFTP_KNOWN_HOSTS" > kh_proxy
  AIRFLOW_CONN_SFTP_PAR=$(conn_uri "$SFTP_USER" "$PPORT" "$KEYQ&known_hosts=$(enc "$WORK/kh_proxy")") \
    check "10 ms RTT (delay_proxy): 100 MiB over 4 sessions, bytes equal" bash -c \
    "timeout 120 '$FERRY' copy sftp_par:$RD/par.bin - -q | cmp - '$RHOME/par.bin'"
  AIRFLOW_CONN_SFTP_PAR=$(conn_uri "$SFTP_USER" "$PPORT" "$KEYQ&known_hosts=$(enc "$WORK/kh_proxy")&read_sessions=1") \
    check "10 ms RTT (delay_proxy): 100 MiB over 1 session, bytes equal" bash -c \
    "timeout 120 '$FERRY' copy sftp_par:$RD/par.bin - -q | cmp - '$RHOME/par.bin'"
  kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=
else
  fail "delay_proxy: $BUILD_DIR/delay_proxy not built (cmake --build … --target delay_proxy)"
fi
rm -f par.out "$RHOME/mid.bin" "$RHOME/small.bin"

# ---------------------------------------------------------------- exists / --replace
echo old > "$RHOME/t.csv"; as_user "$RHOME/t.csv"
echo new > new.csv
expect_code "existing target without --replace -> 6" 6 F copy new.csv "sftp_it:$RD/t.csv"
grep -q "exists (use --replace" "$WORK/.out" && ok "message says it exists" || fail "message says it exists" "$(cat "$WORK/.out")"
check "existing target unchanged" bash -c "[ \"\$(cat '$RHOME/t.csv')\" = old ]"
expect_code "existing target with --spool disk -> 6" 6 F copy new.csv "sftp_it:$RD/t.csv" --spool disk
check "--replace replaces" bash -c "timeout 60 '$FERRY' copy new.csv 'sftp_it:$RD/t.csv' --replace -q && [ \"\$(cat '$RHOME/t.csv')\" = new ]"
check "--replace leaves no temp or old file" no_temp_in "$RHOME"
check "--replace of an absent target" bash -c "timeout 60 '$FERRY' copy new.csv 'sftp_it:$RD/t2.csv' --replace -q && cmp '$RHOME/t2.csv' new.csv"
check "--replace keeps mode 644" test "$(stat -c %a "$RHOME/t.csv")" = 644

# ---------------------------------------------------------------- missing paths, permissions
expect_code "missing source file -> 5" 5 F copy "sftp_it:$RD/nope.csv" -
grep -q "open '$RD/nope.csv' failed: no such file" "$WORK/.out" && ok "missing file message names the path and the SFTP status" \
  || fail "missing file message names the path and the SFTP status" "$(cat "$WORK/.out")"
expect_code "missing destination directory -> 5" 5 F copy a.csv "sftp_it:$RD/nodir/a.csv"
expect_code "source is a directory -> 2" 2 F copy "sftp_it:$RD" out.csv
install -d -o root -g root -m 755 "$RHOME/rootonly"
echo secret > "$RHOME/rootonly/ro.txt"; chmod 600 "$RHOME/rootonly/ro.txt"
expect_code "write into a root-owned dir -> 4" 4 F copy a.csv "sftp_it:$RD/rootonly/a.csv"
grep -q "permission denied" "$WORK/.out" && ok "says permission denied" || fail "says permission denied" "$(cat "$WORK/.out")"
expect_code "read a file the user may not read -> 4" 4 F copy "sftp_it:$RD/rootonly/ro.txt" -
check "nothing left in the root-owned dir" test "$(ls -A "$RHOME/rootonly")" = ro.txt

# ---------------------------------------------------------------- host keys
: > kh_empty
export AIRFLOW_CONN_SFTP_HK; AIRFLOW_CONN_SFTP_HK=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&known_hosts=$(enc "$WORK/kh_empty")")
expect_code "unknown host key -> 4" 4 F conn test sftp_hk
grep -q "unknown: the server presented ssh-ed25519 $SFTP_HOSTKEY_SHA256, which is not in $WORK/kh_empty" "$WORK/.out" \
  && ok "unknown key message: type, SHA256 fingerprint, known_hosts path" || fail "unknown key message" "$(cat "$WORK/.out")"
ssh-keygen -q -t ed25519 -N '' -f other_key
printf '[%s]:%s %s\n' "$SFTP_HOST" "$SFTP_PORT" "$(cut -d' ' -f1,2 other_key.pub)" > kh_changed
AIRFLOW_CONN_SFTP_HK=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&known_hosts=$(enc "$WORK/kh_changed")")
expect_code "changed host key -> 4" 4 F conn test sftp_hk
grep -q "has CHANGED: the server presented ssh-ed25519 $SFTP_HOSTKEY_SHA256" "$WORK/.out" && ok "changed key message" \
  || fail "changed key message" "$(cat "$WORK/.out")"
{ printf '@revoked [%s]:%s %s\n' "$SFTP_HOST" "$SFTP_PORT" "$(cut -d' ' -f1,2 "$SFD/ssh_host_ed25519_key.pub")"; cat "$SFTP_KNOWN_HOSTS"; } > kh_revoked
AIRFLOW_CONN_SFTP_HK=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&known_hosts=$(enc "$WORK/kh_revoked")")
expect_code "revoked host key -> 4" 4 F conn test sftp_hk
grep -q "REVOKED" "$WORK/.out" && ok "revoked key message" || fail "revoked key message" "$(cat "$WORK/.out")"
cp "$SFTP_KNOWN_HOSTS" kh_hashed; ssh-keygen -q -H -f kh_hashed >/dev/null 2>&1; rm -f kh_hashed.old
{ echo '# comment'; echo '@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAfiSt195VERX1M9ZMOdpDCbqsTgKhkYK1Z8EtN9F8HE'; cat kh_hashed; } > kh_hashed2
AIRFLOW_CONN_SFTP_HK=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&known_hosts=$(enc "$WORK/kh_hashed2")")
check "hashed known_hosts (|1|…) with comments and @cert-authority lines" F conn test sftp_hk
AIRFLOW_CONN_SFTP_HK=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&host_key=$(enc "$(cut -d' ' -f1,2 other_key.pub)")")
expect_code "wrong pinned host_key -> 4" 4 F conn test sftp_hk
grep -q "does not match the pinned host_key: the server presented ssh-ed25519 $SFTP_HOSTKEY_SHA256" "$WORK/.out" \
  && ok "wrong pin message shows the server's key" || fail "wrong pin message" "$(cat "$WORK/.out")"
AIRFLOW_CONN_SFTP_HK=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&host_key=$(enc "$(cat "$SFD/ssh_host_ed25519_key.pub")")")
check "right pin (ssh-ed25519 AAAA…) accepted" F conn test sftp_hk
out_has "right pin: info says so" "matches the pinned host_key"
AIRFLOW_CONN_SFTP_HK=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&host_key=$(enc "$SFTP_HOSTKEY_SHA256")")
check "right pin (SHA256:…) accepted" F conn test sftp_hk
AIRFLOW_CONN_SFTP_HK=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&host_key=$(enc "SHA256:AAAAlzFCzGvUbnjKMluLOpDeQmJtaWMHIFPRQcpOyDo")")
expect_code "wrong pin (SHA256:…) -> 4" 4 F conn test sftp_hk
AIRFLOW_CONN_SFTP_HK=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "$KEYQ&known_hosts=$(enc "$WORK/kh_empty")&no_host_key_check=true")
check "no_host_key_check=true connects despite an empty known_hosts" F conn test sftp_hk
grep -q "warn: sftp(sftp_hk): host key checking is disabled (no_host_key_check=true): accepting ssh-ed25519 $SFTP_HOSTKEY_SHA256" "$WORK/.out" \
  && ok "no_host_key_check=true warns with the fingerprint" || fail "no_host_key_check=true warns" "$(cat "$WORK/.out")"
check "no_host_key_check=true warns on every connection" bash -c \
  "timeout 60 '$FERRY' copy a.csv sftp_hk:$RD/nocheck.csv -q 2>&1 | grep -c 'host key checking is disabled' | grep -qx 1"

# ~/.ssh: default known_hosts and default key, no extras at all
mkdir -p home/.ssh; cp "$SFTP_KNOWN_HOSTS" home/.ssh/known_hosts; cp "$SFTP_KEY" home/.ssh/id_ed25519
AIRFLOW_CONN_SFTP_BARE="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT" HOME="$WORK/home" \
  check "no extras: ~/.ssh/known_hosts and ~/.ssh/id_ed25519" F conn test sftp_bare
out_has "default key named in the info" "key $WORK/home/.ssh/id_ed25519"
AIRFLOW_CONN_SFTP_TILDE="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=~%2F.ssh%2Fid_ed25519&look_for_keys=false" HOME="$WORK/home" \
  check "key_file=~/.ssh/id_ed25519 expands ~" F conn test sftp_tilde
INLINE="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT$RHOME/a.csv"
HOME="$WORK/home" check "inline sftp:// URI source (~/.ssh defaults)" bash -c "timeout 60 '$FERRY' copy '$INLINE' - -q | cmp - a.csv"
HOME="$WORK/home" check "inline ssh:// URI sink" bash -c "timeout 60 '$FERRY' copy a.csv 'ssh://$SFTP_USER@$SFTP_HOST:$SFTP_PORT$RHOME/inline-sink.csv' -q && cmp '$RHOME/inline-sink.csv' a.csv"
rm home/.ssh/id_ed25519
AIRFLOW_CONN_SFTP_BARE="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT" HOME="$WORK/home" \
  expect_code "no key anywhere -> 4" 4 F conn test sftp_bare
if command -v ssh-agent >/dev/null; then
  eval "$(ssh-agent -s -a "$WORK/agent.sock")" >/dev/null; AGENT_PID=$SSH_AGENT_PID
  ssh-add -q "$SFTP_KEY" 2>/dev/null
  AIRFLOW_CONN_SFTP_BARE="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT" HOME="$WORK/home" \
    check "ssh-agent authentication" F conn test sftp_bare
  out_has "ssh-agent named in the info" "ssh-agent key"
  kill "$AGENT_PID" 2>/dev/null; AGENT_PID=; unset SSH_AUTH_SOCK SSH_AGENT_PID
else
  skip "ssh-agent authentication: ssh-agent not installed"
fi

# ---------------------------------------------------------------- authentication
AIRFLOW_CONN_SFTP_RSA=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "key_file=$(enc "$SFTP_KEY_RSA_PEM")&$KHQ") \
  expect_code "RSA PEM key on OpenSSH 9 (ssh-rsa signatures off) -> 4" 4 F conn test sftp_rsa
grep -q "ssh-rsa/SHA-1" "$WORK/.out" && ok "RSA refusal explains libssh2 1.10's ssh-rsa signatures" \
  || fail "RSA refusal explains libssh2 1.10's ssh-rsa signatures" "$(cat "$WORK/.out")"
export AIRFLOW_CONN_SFTP_PW="sftp://$SFTP_PW_USER:$(enc "$SFTP_PW_PASSWORD")@$SFTP_HOST:$SFTP_PORT?$KHQ"
check "password authentication" F conn test sftp_pw
check "password user: upload" F copy a.csv sftp_pw:pw-$$.csv -q
check "password user: the file is in its home" cmp "$SFTP_PW_HOME/pw-$$.csv" a.csv
rm -f "$SFTP_PW_HOME/pw-$$.csv"
BADPW="Wr0ng-Passw0rd-$$"
AIRFLOW_CONN_SFTP_BADPW="sftp://$SFTP_PW_USER:$BADPW@$SFTP_HOST:$SFTP_PORT?$KHQ" \
  expect_code "wrong password -> 4" 4 F conn test sftp_badpw
grep -q "password refused" "$WORK/.out" && ok "wrong password: says refused" || fail "wrong password: says refused" "$(cat "$WORK/.out")"
grep -q "$BADPW" "$WORK/.out" && fail "wrong password is not printed" "$(cat "$WORK/.out")" || ok "wrong password is not printed"
AIRFLOW_CONN_SFTP_BADPW="sftp://$SFTP_PW_USER:$BADPW@$SFTP_HOST:$SFTP_PORT?$KHQ" \
  bash -c "timeout 60 '$FERRY' --log-level debug copy a.csv sftp_badpw:x.csv > pwdebug.out 2>&1"
grep -q "$BADPW" pwdebug.out && fail "nor logged at debug level" "$(cat pwdebug.out)" || ok "nor logged at debug level"

PASSPHRASE="corr3ct horse $$"
ssh-keygen -q -t ed25519 -N "$PASSPHRASE" -C ferry-it-enc -f enc_key
PLANTED_KEYS+=("$(cat enc_key.pub)"); cat enc_key.pub >> "$AUTH_KEYS"
AIRFLOW_CONN_SFTP_ENC=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "key_file=$(enc "$WORK/enc_key")&private_key_passphrase=$(enc "$PASSPHRASE")&$KHQ") \
  check "encrypted key with private_key_passphrase" F conn test sftp_enc
AIRFLOW_CONN_SFTP_ENC=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "key_file=$(enc "$WORK/enc_key")&private_key_passphrase=wrong-$$&$KHQ") \
  expect_code "encrypted key, wrong passphrase -> 4" 4 F conn test sftp_enc
grep -q "wrong or missing passphrase" "$WORK/.out" && ok "wrong passphrase: says why" || fail "wrong passphrase: says why" "$(cat "$WORK/.out")"
grep -q "wrong-$$" "$WORK/.out" && fail "wrong passphrase is not printed" "$(cat "$WORK/.out")" || ok "wrong passphrase is not printed"
AIRFLOW_CONN_SFTP_ENC=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "key_file=$(enc "$WORK/enc_key")&$KHQ") \
  expect_code "encrypted key without passphrase -> 4" 4 F conn test sftp_enc
# Airflow JSON form with the key inline (private_key + passphrase)
export FERRY_CONN_SFTP_INLINE; FERRY_CONN_SFTP_INLINE=$(python3 -c '
import json, sys
print(json.dumps({"conn_type": "sftp", "host": sys.argv[1], "port": int(sys.argv[2]), "login": sys.argv[3],
                  "extra": {"private_key": open(sys.argv[4]).read(), "private_key_passphrase": sys.argv[5],
                            "known_hosts": sys.argv[6]}}))' "$SFTP_HOST" "$SFTP_PORT" "$SFTP_USER" "$WORK/enc_key" "$PASSPHRASE" "$SFTP_KNOWN_HOSTS")
check "inline private_key (Airflow JSON form)" F conn test sftp_inline
check "inline private_key: upload" F copy a.csv "sftp_inline:$RD/inline.csv" -q
check "conn get masks private_key and passphrase" bash -c "timeout 10 '$FERRY' conn get sftp_inline | grep -q '\"private_key\": *\"\\*\\*\\*\"' && ! timeout 10 '$FERRY' conn get sftp_inline | grep -q 'corr3ct'"
AIRFLOW_CONN_SFTP_NOKEY=$(conn_uri "$SFTP_USER" "$SFTP_PORT" "key_file=$(enc "$WORK/no-such-key")&$KHQ") \
  expect_code "unreadable key_file -> 3" 3 F conn test sftp_nokey

# ---------------------------------------------------------------- listings
mkdir -p "$RHOME/ls/sub"; for f in a.csv b.csv c.txt .hidden.csv sub/d.csv; do echo "$f" > "$RHOME/ls/$f"; done; as_user "$RHOME/ls"
check "ls with a glob" bash -c "[ \"\$(timeout 30 '$FERRY' ls 'sftp_it:$RD/ls/*.csv')\" = \"\$(printf 'a.csv\nb.csv')\" ]"
check "ls --recursive with a glob: relative names" bash -c "[ \"\$(timeout 30 '$FERRY' ls 'sftp_it:$RD/ls/*.csv' --recursive)\" = \"\$(printf 'a.csv\nb.csv\nsub/d.csv')\" ]"
check "ls of a directory: everything, sorted" bash -c "[ \"\$(timeout 30 '$FERRY' ls 'sftp_it:$RD/ls')\" = \"\$(printf '.hidden.csv\na.csv\nb.csv\nc.txt\nsub/')\" ]"
check "ls --long: size and time" bash -c "timeout 30 '$FERRY' ls 'sftp_it:$RD/ls/a*' --long | grep -Eq '^ +6  20[0-9-]+T[0-9:]+Z  a.csv$'"
echo partial > "$RHOME/ls/.a.csv.ferry-tmp-0123456789abcdef"; as_user "$RHOME/ls"
check "ls hides ferry's in-flight temp files" bash -c "! timeout 30 '$FERRY' ls 'sftp_it:$RD/ls' --recursive | grep -q ferry-tmp"
check "  ... unless the glob asks for dot files" bash -c "timeout 30 '$FERRY' ls 'sftp_it:$RD/ls/.*' | grep -qx '.a.csv.ferry-tmp-0123456789abcdef'"
rm -f "$RHOME/ls/.a.csv.ferry-tmp-0123456789abcdef"
expect_code "a glob with '..' -> 2" 2 F ls "sftp_it:$RD/ls/../ls/*.csv"
expect_code "a glob in a missing directory -> 5" 5 F ls "sftp_it:$RD/nodir/*.csv"
check "glob copy sftp -> local dir (one line per file)" bash -c "mkdir -p multi && timeout 60 '$FERRY' copy 'sftp_it:$RD/ls/*.csv' multi/ > multi.out 2>&1 && [ \"\$(ls multi)\" = \"\$(printf 'a.csv\nb.csv')\" ]"
check "--move from sftp deletes each source after its copy" bash -c "mkdir -p moved && timeout 60 '$FERRY' copy 'sftp_it:$RD/ls/*.csv' moved/ --move -q && [ ! -e '$RHOME/ls/a.csv' ] && [ ! -e '$RHOME/ls/b.csv' ] && cmp moved/a.csv multi/a.csv"
check "--recursive local tree -> sftp (mkdir -p on the way)" bash -c "mkdir -p tree/x/y && echo deep > tree/x/y/z.csv && echo top > tree/top.csv && timeout 60 '$FERRY' copy tree 'sftp_it:$RD/tree' --recursive -q && cmp '$RHOME/tree/x/y/z.csv' tree/x/y/z.csv"

# ---------------------------------------------------------------- many files over one cached session
# 200 small files (names with spaces, unicode, glob characters, a subdirectory)
# both ways: byte-identical, and with --transfers 4 at most 5 SSH handshakes for
# each batch, one per file in flight and one for the streamed listing, not one
# per file (the session cache, hooks/sftp/sftp_pool.c; "connected to" is
# logged once per handshake)
python3 - many <<'PYEOF'
import os, random, sys
root = sys.argv[1]; os.makedirs(os.path.join(root, "sub dir"), exist_ok=True)
kinds = ["file {} .csv", "ünï cødé {}.txt", "glob [{}] *?.bin", "sub dir/déjà vu {}.dat"]
for i in range(200):
    with open(os.path.join(root, kinds[i % 4].format(i)), "wb") as f:
        f.write(os.urandom(random.randint(0, 24000)))
PYEOF
handshakes() { grep -c "): connected to " "$1"; }
few_handshakes() { local n; n=$(handshakes "$1"); [ "$n" -ge 1 ] && [ "$n" -le 5 ]; }
check "200 files local -> sftp: byte-identical" bash -c \
  "timeout 120 '$FERRY' --log-level debug copy many 'sftp_it:$RD/many' --recursive --transfers 4 -q 2> many_up.log && diff -r many '$RHOME/many'"
check "  ... over 1 to 5 SSH handshakes (got $(handshakes many_up.log))" few_handshakes many_up.log
# each destination directory is made once for the batch (a set the 4
# transfers share, transfer/multi.c), not once per file or per transfer:
# 'many' and 'many/sub dir', one "mkdir -p" each (the hook logs every call)
mk=$(grep -c "): mkdir -p '" many_up.log)
check "  ... 2 directories, 2 mkdir calls for 200 files and 4 transfers (got $mk)" test "$mk" = 2
check "200 files sftp -> local: byte-identical" bash -c \
  "timeout 120 '$FERRY' --log-level debug copy 'sftp_it:$RD/many/' many_back/ --recursive --transfers 4 -q 2> many_down.log && diff -r many many_back"
check "  ... over 1 to 5 SSH handshakes (got $(handshakes many_down.log))" few_handshakes many_down.log
rm -rf many_back
if [ -x "$BUILD_DIR/test_sftp_pool" ]; then
  timeout 120 "$BUILD_DIR/test_sftp_pool" > pool.out 2>&1
  if [ $? = 0 ] && grep -q ' 0 failed' pool.out && ! grep -q skipped pool.out; then ok "test_sftp_pool: $(tail -1 pool.out)"
  else fail "test_sftp_pool" "$(tail -15 pool.out)"; fi
else
  fail "test_sftp_pool not built in $BUILD_DIR"
fi

# the sshd child serving the batch's session killed mid-batch: the session is
# replaced, the file it was on goes on (or is repeated), the batch completes
# and nothing is left behind.  Only that child is killed: found by the
# connection's source port, it serves nobody else.
SSHD_MAIN=$(cat "$SFD/sshd.pid" 2>/dev/null)
# --transfers 1: one session, found by its port, as in a sequential batch
timeout -k 5 120 "$FERRY" --log-level debug copy many "sftp_it:$RD/kb" --recursive --transfers 1 -q 2> kb.log &
kbt=$!
kbf=; for _ in $(seq 50); do kbf=$(ps -o pid= --ppid "$kbt" | tr -d ' '); [ -n "$kbf" ] && break; sleep 0.02; done
for _ in $(seq 400); do [ "$(find "$RHOME/kb" -type f 2>/dev/null | wc -l)" -ge 40 ] && break; sleep 0.02; done
lport=$(ss -Htnp state established "( dport = :$SFTP_PORT )" 2>/dev/null | grep "pid=$kbf," | awk '{print $3}' | sed 's/.*://' | head -1)
victims=
[ -n "$lport" ] && victims=$(ss -Htnp state established "( sport = :$SFTP_PORT and dport = :$lport )" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | grep -vx "${SSHD_MAIN:-none}")
if [ -n "$victims" ] && kill -0 "$kbf" 2>/dev/null; then
  kill -9 $victims
  wait "$kbt"; code=$?
  [ "$code" = 0 ] && ok "sshd child killed mid-batch: the batch completes (exit 0)" \
    || fail "sshd child killed mid-batch: the batch completes (got $code)" "$(grep -v debug: kb.log | tail -5)"
  check "  ... all 200 files byte-identical" diff -r many "$RHOME/kb"
  check "  ... no temp file left" bash -c "! find '$RHOME/kb' -name '.*.ferry-*' | grep -q ."
  check "  ... the session was replaced (a second handshake)" test "$(handshakes kb.log)" -ge 2
else
  fail "sshd child mid-batch: no connection or child found (port '$lport', ferry pid '$kbf')" "$(tail -3 kb.log)"
  wait "$kbt"
fi

# --transfers 4: four sessions at once; one of them is ours to kill: the
# first ferry connection `ss` shows, by its source port, and only the sshd
# processes on the other end of that one connection (per-connection
# children of the harness's sshd, never the listener).  The file that
# session was on fails over to a new session (or is retried), the batch
# completes with exit 0, byte for byte, without a temp file.
# A quiet machine may finish the 200 files before the kill lands: then that
# attempt proves nothing and is made again (at most 3 times), never passed.
killed=
for attempt in 1 2 3; do
  rm -rf "$RHOME/kb"
  timeout -k 5 120 "$FERRY" --log-level debug copy many "sftp_it:$RD/kb" --recursive --transfers 4 -q 2> kb4.log &
  kbt=$!
  kbf=; for _ in $(seq 50); do kbf=$(ps -o pid= --ppid "$kbt" | tr -d ' '); [ -n "$kbf" ] && break; sleep 0.02; done
  for _ in $(seq 400); do [ "$(find "$RHOME/kb" -type f 2>/dev/null | wc -l)" -ge 3 ] && break; sleep 0.01; done
  lport=$(ss -Htnp state established "( dport = :$SFTP_PORT )" 2>/dev/null | grep "pid=$kbf," | awk '{print $3}' | sed 's/.*://' | head -1)
  victims=
  [ -n "$lport" ] && victims=$(ss -Htnp state established "( sport = :$SFTP_PORT and dport = :$lport )" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | grep -vx "${SSHD_MAIN:-none}")
  if [ -n "$victims" ] && kill -0 "$kbf" 2>/dev/null && [ "$(find "$RHOME/kb" -type f 2>/dev/null | wc -l)" -lt 200 ]; then
    kill -9 $victims
    wait "$kbt"; code=$?
    killed=$attempt
    break
  fi
  wait "$kbt"
done
if [ -n "$killed" ]; then
  [ "$code" = 0 ] && ok "--transfers 4, one session's sshd child killed mid-batch: the batch completes (exit 0, attempt $killed)" \
    || fail "--transfers 4, sshd child killed mid-batch: the batch completes (got $code)" "$(grep -v debug: kb4.log | tail -5)"
  check "  ... all 200 files byte-identical" diff -r many "$RHOME/kb"
  check "  ... no temp file left" bash -c "! find '$RHOME/kb' -name '.*.ferry-*' | grep -q ."
  check "  ... the dead session was noticed and replaced (log)" grep -qE "is gone|closed by the|retry [0-9]|over a new connection" kb4.log
else
  fail "--transfers 4 kill: in 3 attempts no connection or child found before the batch was done (port '$lport', ferry pid '$kbf')" "$(tail -3 kb4.log)"
fi
check "shared sshd still up after the child was killed" bash -c "kill -0 '$SSHD_MAIN' && timeout 30 '$FERRY' conn test sftp_it"
rm -rf "$RHOME/kb" "$RHOME/many"

# ---------------------------------------------------------------- the hook's slots (stat, list, mkdir, remove, races)
if [ -x "$BUILD_DIR/test_sftp_live" ]; then
  timeout 300 "$BUILD_DIR/test_sftp_live" > live.out 2>&1
  if [ $? = 0 ] && grep -q ' 0 failed' live.out && ! grep -q skipped live.out; then ok "test_sftp_live: $(tail -1 live.out)"
  else fail "test_sftp_live" "$(tail -15 live.out)"; fi
else
  fail "test_sftp_live not built in $BUILD_DIR"
fi

# ---------------------------------------------------------------- SIGTERM mid-upload from a slow pipe
echo "old content" > "$RHOME/slow.bin"; as_user "$RHOME/slow.bin"
# wait_temp NAME DIR: until DIR holds a non-empty .NAME.ferry-tmp-* (10 s)
wait_temp() {
  local i f
  for i in $(seq 1 100); do
    f=$(ls -A "$2" 2>/dev/null | grep "^\.$1\.ferry-tmp-" | head -1)
    [ -n "$f" ] && [ -s "$2/$f" ] && return 0
    sleep 0.1
  done
  return 1
}
mkfifo slow.fifo
( head -c $((6 * 1024 * 1024)) /dev/urandom; exec sleep 60 ) > slow.fifo &
producer=$!
timeout -k 5 120 "$FERRY" copy --replace - "sftp_it:$RD/slow.bin" -q < slow.fifo 2> sigterm.err &
pid=$!
if wait_temp slow.bin "$RHOME"; then
  kill -TERM "$pid"; wait "$pid"; code=$?
  [ "$code" = 130 ] && ok "SIGTERM mid-upload -> 130" || fail "SIGTERM mid-upload -> 130 (got $code)" "$(cat sigterm.err)"
  check "SIGTERM: the old target is intact" bash -c "[ \"\$(cat '$RHOME/slow.bin')\" = 'old content' ]"
  check "SIGTERM: no .ferry-tmp- file left in the remote dir" no_temp_in "$RHOME"
  grep -q interrupted sigterm.err && ok "SIGTERM: says interrupted" || fail "SIGTERM: says interrupted" "$(cat sigterm.err)"
else
  fail "SIGTERM: the upload never started" "$(cat sigterm.err)"; kill "$pid" 2>/dev/null; wait "$pid"
fi
kill "$producer" 2>/dev/null; wait "$producer" 2>/dev/null

# ---------------------------------------------------------------- a private sshd: more key types, drops, kills
PORT2=
for p in 52223 52224 52225 52226; do ss -Hltn "sport = :$p" | grep -q . || { PORT2=$p; break; }; done
ssh-keygen -q -t ecdsa -N '' -f hk_ecdsa
# the harness's config, on our own port and pid file, plus an ECDSA host key (which
# libssh2 prefers) and ssh-rsa signatures (the only RSA ones libssh2 1.10 makes)
{ echo "HostKey $WORK/hk_ecdsa"; echo "HostKeyAlgorithms +ssh-rsa"; echo "PubkeyAcceptedAlgorithms +ssh-rsa"
  sed -e "s/^Port .*/Port $PORT2/" -e "s|^PidFile .*|PidFile $WORK/sshd2.pid|" "$SFD/sshd_config"; } > sshd2_config
if [ -n "$PORT2" ] && /usr/sbin/sshd -t -f sshd2_config 2> sshd2.log; then
  /usr/sbin/sshd -D -f "$WORK/sshd2_config" -E "$WORK/sshd2.log" < /dev/null &
  SSHD2_PID=$!
  for i in $(seq 1 100); do ss -Hltn "sport = :$PORT2" | grep -q . && break; sleep 0.1; done
  { for k in "$SFD/ssh_host_ed25519_key.pub" "$SFD/ssh_host_rsa_key.pub" hk_ecdsa.pub; do
      printf '[%s]:%s %s\n' "$SFTP_HOST" "$PORT2" "$(cut -d' ' -f1,2 "$k")"; done; } > kh2
  printf '[%s]:%s %s\n' "$SFTP_HOST" "$PORT2" "$(cut -d' ' -f1,2 "$SFD/ssh_host_ed25519_key.pub")" > kh2_ed
  export AIRFLOW_CONN_SFTP2; AIRFLOW_CONN_SFTP2=$(conn_uri "$SFTP_USER" "$PORT2" "$KEYQ&known_hosts=$(enc "$WORK/kh2")")
  check "private sshd on $PORT2: conn test" F conn test sftp2
  AIRFLOW_CONN_SFTP2X=$(conn_uri "$SFTP_USER" "$PORT2" "$KEYQ&known_hosts=$(enc "$WORK/kh2_ed")") \
    check "known_hosts with only the ed25519 key: asked for first" F conn test sftp2x
  AIRFLOW_CONN_SFTP2X=$(conn_uri "$SFTP_USER" "$PORT2" "$KEYQ&host_key=$(enc "$SFTP_HOSTKEY_SHA256")") \
    check "SHA256 pin of ed25519 while the server presents ecdsa first" F conn test sftp2x
  out_has "  ... and the ed25519 key is the one verified" "host key ssh-ed25519 $SFTP_HOSTKEY_SHA256 matches"
  AIRFLOW_CONN_SFTP2X=$(conn_uri "$SFTP_USER" "$PORT2" "$KEYQ&host_key=$(enc "$SFTP_HOSTKEY_RSA_SHA256")") \
    check "SHA256 pin of the RSA host key" F conn test sftp2x
  AIRFLOW_CONN_SFTP2X=$(conn_uri "$SFTP_USER" "$PORT2" "$KEYQ&host_key=$(enc "$(cat hk_ecdsa.pub)")") \
    check "ecdsa public key pin" F conn test sftp2x
  AIRFLOW_CONN_SFTP2X=$(conn_uri "$SFTP_USER" "$PORT2" "key_file=$(enc "$SFTP_KEY_RSA_PEM")&known_hosts=$(enc "$WORK/kh2")") \
    check "RSA PEM key auth where the server accepts ssh-rsa" F conn test sftp2x

  # connections dropped during a parallel read
  AIRFLOW_CONN_SFTP2P=$(conn_uri "$SFTP_USER" "$PORT2" "$KEYQ&known_hosts=$(enc "$WORK/kh2")&read_sessions=3")
  export AIRFLOW_CONN_SFTP2P
  mkfifo par2.fifo
  ( sleep 3; cat > /dev/null ) < par2.fifo &
  reader=$!
  timeout -k 5 60 "$FERRY" copy "sftp2p:$RD/par.bin" - -q > par2.fifo 2> par2.err &
  pid=$!
  sleep 1; kill -9 $(descendants "$SSHD2_PID") 2>/dev/null
  wait "$pid"; code=$?
  [ "$code" != 0 ] && [ "$code" != 124 ] && ok "read_sessions=3: connections killed mid-read -> non-zero ($code)" \
    || fail "read_sessions=3: connections killed mid-read -> non-zero (got $code)" "$(cat par2.err)"
  wait "$reader" 2>/dev/null; rm -f par2.fifo

  # the connection drops mid-upload, the server stays up: the sink connects
  # again, opens its temp file again and goes on at the last acknowledged
  # offset (hooks/sftp/sftp_sink.c); the upload completes, byte-identical
  head -c $((6 * 1024 * 1024)) /dev/urandom > drop.src
  ( cat drop.src; exec sleep 60 ) > slow.fifo &
  producer=$!
  timeout -k 5 120 "$FERRY" --log-level debug copy - "sftp2:$RD/dropped.bin" -q < slow.fifo 2> drop.err &
  pid=$!
  if wait_temp dropped.bin "$RHOME"; then
    kill -9 $(descendants "$SSHD2_PID") 2>/dev/null
    kill "$producer" 2>/dev/null   # end of input once the 6 MiB are through
    wait "$pid"; code=$?
    [ "$code" = 0 ] && ok "connection killed mid-upload: resumed over a new connection (exit 0)" \
      || fail "connection killed mid-upload: resumed over a new connection (got $code)" "$(grep -v 'debug: .*connected' drop.err | tail -5)"
    check "  ... the file at the final name is byte-identical" cmp drop.src "$RHOME/dropped.bin"
    out_has_file() { grep -q -- "$2" "$1" && ok "$3" || fail "$3" "$(tail -5 "$1")"; }
    out_has_file drop.err "over a new connection" "  ... the log says it went on over a new connection"
    check "  ... no temp file left" no_temp_in "$RHOME"
  else
    fail "drop: the upload never started" "$(cat drop.err)"; kill "$pid" "$producer" 2>/dev/null; wait "$pid"
  fi
  wait "$producer" 2>/dev/null; rm -f drop.src "$RHOME/dropped.bin"

  # sshd itself killed mid-upload
  ( head -c $((6 * 1024 * 1024)) /dev/urandom; exec sleep 60 ) > slow.fifo &
  producer=$!
  timeout -k 5 120 "$FERRY" copy - "sftp2:$RD/killed.bin" -q < slow.fifo 2> kill.err &
  pid=$!
  if wait_temp killed.bin "$RHOME"; then
    d=$(descendants "$SSHD2_PID"); kill -9 "$SSHD2_PID" $d 2>/dev/null; wait "$SSHD2_PID" 2>/dev/null; SSHD2_PID=
    kill "$producer" 2>/dev/null
    wait "$pid"; code=$?
    [ "$code" != 0 ] && ok "sshd killed mid-upload -> non-zero ($code)" || fail "sshd killed mid-upload -> non-zero" "$(cat kill.err)"
    check "  ... no file at the final name" test ! -e "$RHOME/killed.bin"
    grep -q "was left on the server" kill.err && ok "  ... warns that the temp file was left" || fail "  ... warns that the temp file was left" "$(cat kill.err)"
    rm -f "$RHOME"/.killed.bin.ferry-tmp-*
  else
    fail "kill: the upload never started" "$(cat kill.err)"; kill "$pid" "$producer" 2>/dev/null; wait "$pid"
  fi
  wait "$producer" 2>/dev/null
  check "shared sshd untouched" bash -c "kill -0 \$(cat '$SFD/sshd.pid') && timeout 30 '$FERRY' conn test sftp_it"
else
  fail "private sshd: no free port or invalid config" "$(cat sshd2.log)"
fi

# ---------------------------------------------------------------- nothing left behind
check "no temp or set-aside files anywhere in the remote dir" bash -c "! find '$RHOME' -name '.*.ferry-*' | grep -q ."
finish

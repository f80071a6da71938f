#!/usr/bin/env bash
# sftp_rsa_keys.sh - an RSA key refused by the harness's OpenSSH (>= 8.8, no
# ssh-rsa signatures) is named as such: libssh2 1.10 signs with RSA keys only
# as ssh-rsa/SHA-1, and the message says what works (an ed25519 or ECDSA key,
# or the server allowing it with 'PubkeyAcceptedAlgorithms +ssh-rsa'); exit 4
# as every authentication failure.  The RSA keys are made here in every
# format libssh2 reads (OpenSSH, PKCS#8, encrypted OpenSSH, encrypted PKCS#8
# with its .pub next to it, and the key text as the private_key extra; one key
# in each form) and its public key planted in the key user's authorized_keys
# (taken out again on exit), so the server knows it.  The kind is read from the key, so
# ed25519 and ECDSA keys refused by the server (not planted) get no RSA hint,
# nor does an encrypted PKCS#8 key without its .pub (its type cannot be read).
# The server side (an sshd allowing ssh-rsa accepts the key) is in
# sftp_hook.sh.  Runs as root (it writes the key user's authorized_keys).
. "$(dirname "$0")/../lib.sh"
load_services_env
cd "$WORK"
command -v ssh-keygen >/dev/null || skip_all "ssh-keygen not installed"
[ -w "$(dirname "$SFTP_KNOWN_HOSTS")/authorized_keys/$SFTP_USER" ] || skip_all "cannot write the key user's authorized_keys"

AUTH_KEYS=$(dirname "$SFTP_KNOWN_HOSTS")/authorized_keys/$SFTP_USER
PLANTED=()
cleanup() {
  local k
  for k in "${PLANTED[@]}"; do   # take out exactly the lines we added
    grep -vxF -- "$k" "$AUTH_KEYS" > "$WORK/.ak"; cat "$WORK/.ak" > "$AUTH_KEYS"
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

F() { timeout -k 5 60 "$FERRY" "$@"; }
KHQ="known_hosts=$(urlenc "$SFTP_KNOWN_HOSTS")"
PASS="rsa-pass-$$"
RSA_WORDS=("ssh-rsa/SHA-1" "OpenSSH 8.8 and later refuse" "an ed25519 or ECDSA key" "PubkeyAcceptedAlgorithms +ssh-rsa")

# one RSA key (2048 bits: generating more is slow on a loaded machine), then
# the same key rewritten in each format (ssh-keygen -p); its public key planted
ssh-keygen -q -t rsa -b 2048 -N '' -C "ferry-rsa-test-$$" -f rsa_openssh </dev/null || fail "ssh-keygen rsa"
PLANTED+=("$(cat rsa_openssh.pub)"); cat rsa_openssh.pub >> "$AUTH_KEYS"
# as NAME FORMAT PASSPHRASE: a copy of the RSA key (and its .pub) in that form
as() {
  cp rsa_openssh "$1"; cp rsa_openssh.pub "$1.pub"
  ssh-keygen -q -p ${2:+-m "$2"} -P '' -N "$3" -f "$1" >/dev/null </dev/null || fail "ssh-keygen -p $1"
}
as rsa_pkcs8 PKCS8 ""
as rsa_enc "" "$PASS"
as rsa_pkcs8_enc PKCS8 "$PASS"
as rsa_pkcs8_enc_nopub PKCS8 "$PASS"
rm rsa_pkcs8_enc_nopub.pub
ssh-keygen -q -t ed25519 -N '' -f ed_unknown </dev/null
ssh-keygen -q -t ecdsa -m PKCS8 -N '' -f ecdsa_unknown </dev/null
grep -q "BEGIN ENCRYPTED PRIVATE KEY" rsa_pkcs8_enc && grep -q "BEGIN PRIVATE KEY" rsa_pkcs8 &&
  grep -q "BEGIN OPENSSH PRIVATE KEY" rsa_openssh && grep -q "BEGIN OPENSSH PRIVATE KEY" rsa_enc &&
  grep -q "BEGIN PRIVATE KEY" ecdsa_unknown && ok "keys made in OpenSSH, PKCS#8 and encrypted PKCS#8 form" ||
  fail "keys made in OpenSSH, PKCS#8 and encrypted PKCS#8 form"

# auth NAME QUERY: conn test with that connection query; output in $WORK/.out
auth() { AIRFLOW_CONN_RSA_T="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?$2&$KHQ" expect_code "$1: exit 4" 4 F conn test rsa_t; }
has_hint() {
  local w missing=
  for w in "${RSA_WORDS[@]}"; do grep -qF -- "$w" "$WORK/.out" || missing="$missing '$w'"; done
  [ -z "$missing" ] && ok "$1: the message names ssh-rsa/SHA-1 and what works" || fail "$1: the message lacks$missing" "$(cat "$WORK/.out")"
}
no_hint() {
  grep -q "refused" "$WORK/.out" && ! grep -qF "ssh-rsa" "$WORK/.out" && ok "$1: refused, no RSA hint" ||
    fail "$1: refused, no RSA hint" "$(cat "$WORK/.out")"
}

# the harness's own key works: the server and the path are fine
AIRFLOW_CONN_RSA_T="sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT?key_file=$(urlenc "$SFTP_KEY")&$KHQ" \
  check "the harness's ed25519 key authenticates" F conn test rsa_t

auth "the harness's RSA key (PEM)" "key_file=$(urlenc "$SFTP_KEY_RSA_PEM")"; has_hint "the harness's RSA key (PEM)"
for k in rsa_openssh rsa_pkcs8; do
  auth "RSA key file ($k)" "key_file=$(urlenc "$WORK/$k")"; has_hint "RSA key file ($k)"
  auth "RSA key as the private_key extra ($k)" "private_key=$(urlenc "$(cat "$k")")"; has_hint "RSA private_key extra ($k)"
done
auth "encrypted RSA key file (OpenSSH)" "key_file=$(urlenc "$WORK/rsa_enc")&private_key_passphrase=$PASS"
has_hint "encrypted RSA key file (OpenSSH)"
auth "encrypted PKCS#8 RSA key file with its .pub" "key_file=$(urlenc "$WORK/rsa_pkcs8_enc")&private_key_passphrase=$PASS"
has_hint "encrypted PKCS#8 RSA key with its .pub"
auth "encrypted PKCS#8 key file without a .pub" "key_file=$(urlenc "$WORK/rsa_pkcs8_enc_nopub")&private_key_passphrase=$PASS"
no_hint "encrypted PKCS#8 key without a .pub (its type cannot be read)"
auth "ed25519 key the server does not know" "key_file=$(urlenc "$WORK/ed_unknown")"
no_hint "ed25519 key the server does not know"
auth "ECDSA key the server does not know" "key_file=$(urlenc "$WORK/ecdsa_unknown")"
no_hint "ECDSA key the server does not know"
finish

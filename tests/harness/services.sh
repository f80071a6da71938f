#!/usr/bin/env bash
# services.sh - start the REAL servers ferry's integration tests talk to, on
# 127.0.0.1 only, and write their connection data to an env file.
#
#   tests/harness/services.sh up      install missing dependencies (scripts/install-deps.sh),
#                                     init data dirs once, start whatever is not running,
#                                     write $FERRY_SVC_DIR/env. Idempotent; fast when warm.
#   tests/harness/services.sh down    stop everything by recorded PIDs (data dirs kept)
#   tests/harness/services.sh status  PID / ports / memory of each service (exit 1 if any is down)
#   tests/harness/services.sh env     print the env file
#   tests/harness/services.sh wipe    down + delete all data (the npm download is kept)
#
# Use the env file with:  set -a; . /tmp/ferry-svc/env; set +a
#
# Runs as root, unattended (no stdin, CI). Services and default ports:
#   PostgreSQL 15      127.0.0.1:55432  users etl (scram) / etl_md5 (md5), db etl, TLS on
#   MariaDB 10.11      127.0.0.1:53306  user etl, db etl, local_infile=1, TLS on
#   Ceph radosgw       127.0.0.1:57480  main S3 server: SigV4 + payload hash verified
#                                       (mon 53300/56789, osd 56800-56899; see ceph_rgw.sh)
#   @20minutes/s3rver  127.0.0.1:54570  second S3 server, verifies SigV4 signatures only
#   OpenSSH sshd       127.0.0.1:52222  SFTP only; key user + password user
#   nginx              127.0.0.1:58080 http, 58443 https (cert from the harness CA)
#   nginx (s3tls)      127.0.0.1:57443  https (harness CA) in front of radosgw, own instance
#   http_echo.py       127.0.0.1:58081  echo / status / auth / paging test endpoints
#
# Env knobs: FERRY_SVC_DIR (/tmp/ferry-svc), CEPH_MGR (0; 1 also runs ceph-mgr),
#   MEMSTORE_BYTES (Ceph RAM cap, 8 GiB), SKIP_INSTALL=1 (do not run install-deps.sh),
#   PG_PORT MY_PORT S3V4_PORT RGW_PORT SFTP_PORT HTTP_PORT HTTPS_PORT ECHO_PORT.
set -euo pipefail
umask 022
HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$HARNESS_DIR/../.." && pwd)
cd /   # runuser'd commands must not inherit an unreadable cwd (e.g. /root)
export FERRY_SVC_DIR=${FERRY_SVC_DIR:-/tmp/ferry-svc}
SVC_DIR=$FERRY_SVC_DIR
ENV_FILE=$SVC_DIR/env
export DEBIAN_FRONTEND=noninteractive

PG_PORT=${PG_PORT:-55432}
MY_PORT=${MY_PORT:-53306}
S3V4_PORT=${S3V4_PORT:-54570}
RGW_PORT=${RGW_PORT:-57480}
SFTP_PORT=${SFTP_PORT:-52222}
HTTP_PORT=${HTTP_PORT:-58080}
HTTPS_PORT=${HTTPS_PORT:-58443}
ECHO_PORT=${ECHO_PORT:-58081}
S3TLS_PORT=${S3TLS_PORT:-57443}
CEPH_MGR=${CEPH_MGR:-0}

PG_SUPER_PASS=pgpass
DB_USER=etl; DB_PASS=etlpass; DB_NAME=etl
MY_ROOT_PASS=rootpass
S3_BUCKET=etl-bucket
S3V4_ACCESS_KEY=AKIAETLTEST000000001
S3V4_SECRET_KEY='etl/Secret+Key/0123456789abcdefghijklmn'
SFTP_USER=etlsftp; SFTP_PW_USER=etlpw; SFTP_PW_PASS=sftppass
HTTP_USER=etl; HTTP_PASS=etlpass; HTTP_TOKEN=etl-token

PG_BIN=/usr/lib/postgresql/15/bin
PGD=$SVC_DIR/pg; MYD=$SVC_DIR/mysql; S3V4D=$SVC_DIR/s3v4; CEPHD=$SVC_DIR/ceph
SFD=$SVC_DIR/sftp; HTD=$SVC_DIR/http; TLSD=$SVC_DIR/tls; NPMD=$SVC_DIR/npm
PY=/usr/bin/python3; [ -x $PY ] || PY=$(command -v python3)
export PGCONNECT_TIMEOUT=5

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
t_start=$(now_ms)
log() { local d=$(( $(now_ms) - t_start )); printf '[services %3d.%02ds] %s\n' $((d / 1000)) $((d % 1000 / 10)) "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# fail NAME LOGFILE MSG: a service did not start -> show the end of its log, exit 1
fail() {
  log "ERROR: $1: $3"
  if [ -s "$2" ]; then echo "---- tail $2" >&2; tail -n 25 "$2" >&2; echo "----" >&2; fi
  # who holds the harness's ports (listening or as a client's local port)
  echo "---- sockets on harness ports" >&2
  ss -Htanp 2>/dev/null | grep -E ":($PG_PORT|$MY_PORT|$S3V4_PORT|$RGW_PORT|$SFTP_PORT|$HTTP_PORT|$HTTPS_PORT|$ECHO_PORT|$S3TLS_PORT) " | head -20 >&2
  exit 1
}

pid_of() { [ -s "$1" ] && head -n1 "$1" | tr -dc '0-9'; }
# running PID: alive and not a zombie (our daemons are re-parented to PID 1, which
# may reap them late, so 'kill -0' alone keeps succeeding on a zombie)
running() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)" != Z ]; }
# alive PIDFILE REGEX: pid in file is running AND its command line matches REGEX
# (REGEX always contains a path under $SVC_DIR, so only OUR instances match)
alive() {
  local p; p=$(pid_of "$1") || return 1; [ -n "$p" ] || return 1
  running "$p" || return 1
  tr '\0' ' ' < /proc/"$p"/cmdline 2>/dev/null | grep -q -- "$2"
}
port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
wait_until() { # TIMEOUT_S cmd...   (each cmd must bound itself, e.g. curl -m)
  local end=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.1; done
}
check_port_free() { # PORT NAME
  if port_busy "$1"; then
    die "port $1 ($2) is taken by a process this script did not start: $(ss -Hltnp "sport = :$1" | head -1)"
  fi
}
# stop_pid PIDFILE REGEX NAME [SIGNAL] : by recorded PID only, verify cmdline, wait, escalate
stop_pid() {
  local f=$1 re=$2 name=$3 sig=${4:-TERM} p
  if alive "$f" "$re"; then
    p=$(pid_of "$f"); kill -s "$sig" "$p" 2>/dev/null || true
    for _ in $(seq 1 150); do running "$p" || break; sleep 0.1; done
    if running "$p"; then log "$name ($p) still running after 15 s: SIGKILL"; kill -9 "$p" 2>/dev/null || true; fi
    log "stopped $name (pid $p)"
  fi
  rm -f "$f"
}
# write_if_changed FILE: stdin -> FILE; returns 0 when the content changed
write_if_changed() {
  local new; new=$(cat)
  if [ -f "$1" ] && [ "$(cat "$1")" = "$new" ]; then return 1; fi
  printf '%s\n' "$new" > "$1"
}

# All daemons are started with '9>&-': fd 9 holds the harness lock, a daemon that
# inherited it would keep every later 'up'/'down' waiting.
lock() {
  mkdir -p "$SVC_DIR"; chmod 755 "$SVC_DIR"
  exec 9>"$SVC_DIR/.lock"
  flock -w 300 9 || die "another services.sh is still running after 300 s (lock $SVC_DIR/.lock)"
}

# ---------------------------------------------------------------- TLS: CA + server cert
ensure_tls() {
  [ -s "$TLSD/ca.crt" ] && [ -s "$TLSD/server.crt" ] && [ -s "$TLSD/server.key" ] && return 0
  log "tls: new CA + server cert for 127.0.0.1/localhost"
  rm -rf "$TLSD"; mkdir -p "$TLSD"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ferry test CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$TLSD/ca.key" -out "$TLSD/ca.crt"
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
      -keyout "$TLSD/server.key" -out "$TLSD/server.csr"
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=critical,CA:FALSE' \
      'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
      'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' > "$TLSD/server.ext"
    openssl x509 -req -in "$TLSD/server.csr" -CA "$TLSD/ca.crt" -CAkey "$TLSD/ca.key" \
      -set_serial "0x$(openssl rand -hex 8)" -days 3650 -extfile "$TLSD/server.ext" -out "$TLSD/server.crt"
  } >"$TLSD/openssl.log" 2>&1 </dev/null || fail tls "$TLSD/openssl.log" "openssl failed"
  chmod 600 "$TLSD/ca.key" "$TLSD/server.key"
}

# ---------------------------------------------------------------- PostgreSQL
pg_super() { # psql as superuser over TCP (the role setup below)
  PGPASSWORD=$PG_SUPER_PASS timeout -k 5 60 psql -X -q -v ON_ERROR_STOP=1 \
    "host=127.0.0.1 port=$PG_PORT user=postgres dbname=${1:-postgres} sslmode=disable connect_timeout=5" "${@:2}"
}
pg_up() {
  if [ ! -s "$PGD/data/PG_VERSION" ]; then
    log "pg: initdb"
    rm -rf "$PGD"; install -d -o postgres -g postgres -m 700 "$PGD" "$PGD/run"
    install -o postgres -g postgres -m 600 /dev/null "$PGD/pwfile"
    printf '%s\n' "$PG_SUPER_PASS" > "$PGD/pwfile"
    timeout -k 5 120 runuser -u postgres -- "$PG_BIN/initdb" -D "$PGD/data" -U postgres --pwfile="$PGD/pwfile" \
      --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PGD/initdb.log" 2>&1 </dev/null \
      || fail postgres "$PGD/initdb.log" "initdb failed"
    rm -f "$PGD/pwfile"
    install -o postgres -g postgres -m 644 "$TLSD/server.crt" "$PGD/server.crt"
    install -o postgres -g postgres -m 600 "$TLSD/server.key" "$PGD/server.key"
    cat >> "$PGD/data/postgresql.conf" <<EOF
# ---- ferry tests/harness/services.sh (test server: durability deliberately off for speed)
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGD/run'
ssl = on
ssl_cert_file = '$PGD/server.crt'
ssl_key_file = '$PGD/server.key'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
maintenance_work_mem = 256MB
max_wal_size = 4GB
max_connections = 100
EOF
    cat > "$PGD/data/pg_hba.conf" <<EOF
local all all peer
host  all etl_md5 127.0.0.1/32 md5
host  all all     127.0.0.1/32 scram-sha-256
EOF
  fi
  if alive "$PGD/data/postmaster.pid" "postgres.*$PGD/data"; then log "pg: already running"; else
    check_port_free "$PG_PORT" postgres
    : > "$PGD/server.log"; chown postgres:postgres "$PGD/server.log"
    timeout -k 5 90 runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w -t 60 start \
      >/dev/null </dev/null 9>&- || fail postgres "$PGD/server.log" "did not start"
    log "pg: started pid $(pid_of "$PGD/data/postmaster.pid")"
  fi
  pg_super postgres -v pass="$DB_PASS" -v db="$DB_NAME" >/dev/null <<'SQL' || fail postgres "$PGD/server.log" "role setup failed"
SELECT format('CREATE ROLE etl LOGIN PASSWORD %L', :'pass') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname='etl')\gexec
ALTER ROLE etl PASSWORD :'pass';
SET password_encryption = 'md5';
SELECT format('CREATE ROLE etl_md5 LOGIN PASSWORD %L', :'pass') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname='etl_md5')\gexec
ALTER ROLE etl_md5 PASSWORD :'pass';
RESET password_encryption;
SELECT format('CREATE DATABASE %I OWNER etl', :'db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname=:'db')\gexec
SQL
  pg_super "$DB_NAME" -c "GRANT ALL ON SCHEMA public TO etl_md5" >/dev/null </dev/null \
    || fail postgres "$PGD/server.log" "grant failed"
}
pg_down() {
  if alive "$PGD/data/postmaster.pid" "postgres.*$PGD/data"; then
    local p; p=$(pid_of "$PGD/data/postmaster.pid")
    timeout -k 5 90 runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGD/data" -m fast -w -t 60 stop >/dev/null </dev/null \
      || stop_pid "$PGD/data/postmaster.pid" "postgres.*$PGD/data" postgres INT
    log "stopped postgres (pid $p)"
  fi
}

# ---------------------------------------------------------------- MariaDB
MY_SOCK=$MYD/run/mysqld.sock
MY_RE="mariadbd.*--datadir=$MYD/data"
# -h localhost: libmariadb honours $MYSQL_HOST from the environment (e.g. after
# sourcing the env file) and then goes TCP even with --protocol=socket
# shellcheck disable=SC2120  # callers feed SQL on stdin; "$@" is for ad-hoc use
my_cli() { timeout -k 5 60 mariadb --no-defaults --connect-timeout=5 -h localhost --protocol=socket --socket="$MY_SOCK" -uroot "$@"; }
my_ping() { timeout -k 2 5 mariadb-admin --no-defaults --connect-timeout=2 -h localhost --protocol=socket --socket="$MY_SOCK" ping; }
my_up() {
  if [ ! -d "$MYD/data/mysql" ]; then
    log "mariadb: mariadb-install-db"
    rm -rf "$MYD"; install -d -o mysql -g mysql "$MYD" "$MYD/data" "$MYD/run" "$MYD/tls"
    timeout -k 5 180 mariadb-install-db --no-defaults --user=mysql --datadir="$MYD/data" \
      --auth-root-authentication-method=socket --skip-test-db \
      >"$MYD/install-db.log" 2>&1 </dev/null || fail mariadb "$MYD/install-db.log" "mariadb-install-db failed"
    install -o mysql -g mysql -m 644 "$TLSD/server.crt" "$MYD/tls/cert.pem"
    install -o mysql -g mysql -m 600 "$TLSD/server.key" "$MYD/tls/key.pem"
    install -o mysql -g mysql -m 644 "$TLSD/ca.crt" "$MYD/tls/ca.pem"
  fi
  if alive "$MYD/run/mysqld.pid" "$MY_RE"; then log "mariadb: already running"; else
    check_port_free "$MY_PORT" mariadb
    # --no-defaults: ignore /etc/mysql/*.cnf entirely (bind-address, socket, etc.)
    setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$MYD/data" \
      --socket="$MY_SOCK" --pid-file="$MYD/run/mysqld.pid" --log-error="$MYD/error.log" \
      --port="$MY_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
      --local-infile=1 --max-allowed-packet=256M \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
      --innodb-buffer-pool-size=512M --innodb-log-file-size=512M --innodb-flush-log-at-trx-commit=2 \
      --ssl-cert="$MYD/tls/cert.pem" --ssl-key="$MYD/tls/key.pem" --ssl-ca="$MYD/tls/ca.pem" \
      </dev/null >/dev/null 2>&1 9>&- &
    wait_until 60 my_ping || fail mariadb "$MYD/error.log" "did not start within 60 s"
    wait_until 10 test -s "$MYD/run/mysqld.pid"
    log "mariadb: started pid $(pid_of "$MYD/run/mysqld.pid")"
  fi
  my_cli >/dev/null <<EOF || fail mariadb "$MYD/error.log" "user setup failed"
DROP USER IF EXISTS ''@'localhost', ''@'$(hostname)';
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'%' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'%';
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '$MY_ROOT_PASS';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$MY_ROOT_PASS';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
EOF
}
my_down() { stop_pid "$MYD/run/mysqld.pid" "$MY_RE" mariadb TERM; }

# ---------------------------------------------------------------- S3: Ceph radosgw (main)
ceph_env() { env CEPH_DIR="$CEPHD" RGW_PORT="$RGW_PORT" CEPH_MGR="$CEPH_MGR" CEPH_S3_BUCKET="$S3_BUCKET" \
                 RGW_STS_TRUST_CA="$TLSD/ca.crt" "$@"; }
ceph_up() {
  if ceph_env "$HARNESS_DIR/ceph_rgw.sh" up >"$SVC_DIR/ceph-up.log" 2>&1 </dev/null 9>&-; then
    log "ceph rgw: up ($(grep -c ' up pid' "$SVC_DIR/ceph-up.log") daemons; $(grep -o 'already running\|starting daemons of the existing cluster\|bootstrap new cluster\|not shut down cleanly.*' "$SVC_DIR/ceph-up.log" | head -1 || true))"
  else
    fail "ceph radosgw" "$SVC_DIR/ceph-up.log" "did not start (daemon logs: $CEPHD/log/)"
  fi
}
ceph_down() { [ -d "$CEPHD" ] && ceph_env "$HARNESS_DIR/ceph_rgw.sh" down </dev/null 9>&- || true; }

# ---------------------------------------------------------------- S3: @20minutes/s3rver (SigV4)
S3V4_RE="s3v4.js.*$S3V4D/data"
s3v4_up() {
  mkdir -p "$S3V4D/data"
  [ -f "$NPMD/s3v4/node_modules/@20minutes/s3rver/lib/cli.js" ] || die "s3v4: npm package missing (run scripts/install-deps.sh)"
  if alive "$S3V4D/pid" "$S3V4_RE"; then log "s3v4: already running"; else
    check_port_free "$S3V4_PORT" s3v4
    S3V4_MODULE_DIR="$NPMD/s3v4" S3_ACCESS_KEY="$S3V4_ACCESS_KEY" S3_SECRET_KEY="$S3V4_SECRET_KEY" \
      setsid node "$HARNESS_DIR/s3v4.js" -d "$S3V4D/data" -a 127.0.0.1 -p "$S3V4_PORT" \
      --no-vhost-buckets --configure-bucket "$S3_BUCKET" </dev/null >>"$S3V4D/s3v4.log" 2>&1 9>&- &
    echo $! > "$S3V4D/pid"
    wait_until 30 curl -s -m 2 -o /dev/null "http://127.0.0.1:$S3V4_PORT/" || fail s3v4 "$S3V4D/s3v4.log" "did not start within 30 s"
    log "s3v4: started pid $(pid_of "$S3V4D/pid")"
  fi
}
s3v4_down() { stop_pid "$S3V4D/pid" "$S3V4_RE" s3v4; }

# ---------------------------------------------------------------- SFTP (own sshd instance)
SSHD_RE="sshd.*-f $SFD/sshd_config"
sftp_up() {
  mkdir -p "$SFD/home" "$SFD/authorized_keys" "$SFD/client"
  install -d -m 755 /run/sshd     # privilege separation dir; missing on a fresh box
  local u
  for u in "$SFTP_USER" "$SFTP_PW_USER"; do
    id "$u" >/dev/null 2>&1 || useradd -M -d "$SFD/home/$u" -s /usr/sbin/nologin "$u"
    [ "$(getent passwd "$u" | cut -d: -f6)" = "$SFD/home/$u" ] || usermod -d "$SFD/home/$u" "$u"
    install -d -o "$u" -g "$u" -m 755 "$SFD/home/$u"
  done
  # UsePAM no => sshd itself refuses LOCKED accounts ('!' in shadow, useradd's default)
  # even for pubkey auth; '*' = no password but not locked.
  [ "$(getent shadow "$SFTP_USER" | cut -d: -f2)" = '*' ] || usermod -p '*' "$SFTP_USER"
  echo "$SFTP_PW_USER:$SFTP_PW_PASS" | chpasswd
  local k
  for k in ed25519 rsa; do
    [ -s "$SFD/ssh_host_${k}_key" ] || ssh-keygen -q -t $k -N '' -C ferry-sftp-host -f "$SFD/ssh_host_${k}_key" </dev/null
  done
  [ -s "$SFD/client/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$SFTP_USER" -f "$SFD/client/id_ed25519" </dev/null
  # RSA key in classic PEM format for older libssh2-style loaders
  [ -s "$SFD/client/id_rsa_pem" ] || ssh-keygen -q -t rsa -b 3072 -m PEM -N '' -C "$SFTP_USER" -f "$SFD/client/id_rsa_pem" </dev/null
  cat "$SFD/client/id_ed25519.pub" "$SFD/client/id_rsa_pem.pub" > "$SFD/authorized_keys/$SFTP_USER"
  chmod 644 "$SFD/authorized_keys/$SFTP_USER"
  { printf '[127.0.0.1]:%s %s\n' "$SFTP_PORT" "$(cut -d' ' -f1,2 "$SFD/ssh_host_ed25519_key.pub")"
    printf '[127.0.0.1]:%s %s\n' "$SFTP_PORT" "$(cut -d' ' -f1,2 "$SFD/ssh_host_rsa_key.pub")"; } > "$SFD/known_hosts"
  printf '#!/bin/sh\necho %s\n' "$SFTP_PW_PASS" > "$SFD/client/askpass.sh"; chmod 700 "$SFD/client/askpass.sh"
  local changed=0
  write_if_changed "$SFD/sshd_config" <<EOF && changed=1
# generated by ferry tests/harness/services.sh
Port $SFTP_PORT
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $SFD/ssh_host_ed25519_key
HostKey $SFD/ssh_host_rsa_key
PidFile $SFD/sshd.pid
AuthorizedKeysFile $SFD/authorized_keys/%u
StrictModes no
UsePAM no
UseDNS no
PermitRootLogin no
AllowUsers $SFTP_USER $SFTP_PW_USER
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
MaxStartups 100:30:200
Subsystem sftp internal-sftp
ForceCommand internal-sftp
Match User $SFTP_PW_USER
    PasswordAuthentication yes
EOF
  timeout 10 /usr/sbin/sshd -t -f "$SFD/sshd_config" >"$SFD/sshd-t.log" 2>&1 </dev/null \
    || fail sshd "$SFD/sshd-t.log" "sshd config invalid"
  if alive "$SFD/sshd.pid" "$SSHD_RE"; then
    if [ $changed = 1 ]; then kill -HUP "$(pid_of "$SFD/sshd.pid")"; log "sftp: already running (config reloaded)"
    else log "sftp: already running"; fi
  else
    check_port_free "$SFTP_PORT" sshd
    rm -f "$SFD/sshd.pid"
    timeout -k 5 20 /usr/sbin/sshd -f "$SFD/sshd_config" -E "$SFD/sshd.log" </dev/null 9>&- \
      || fail sshd "$SFD/sshd.log" "failed to start"
    wait_until 10 port_busy "$SFTP_PORT" || fail sshd "$SFD/sshd.log" "not listening on $SFTP_PORT"
    wait_until 10 test -s "$SFD/sshd.pid" || fail sshd "$SFD/sshd.log" "no pid file"
    log "sftp: started pid $(pid_of "$SFD/sshd.pid")"
  fi
}
sftp_down() { stop_pid "$SFD/sshd.pid" "$SSHD_RE" sshd; }

# ---------------------------------------------------------------- HTTP (nginx + python echo)
NGINX_RE="nginx.*$HTD/nginx.conf"
ECHO_RE="http_echo.py.*--pidfile $HTD/echo.pid"
http_up() {
  mkdir -p "$HTD/www/dav" "$HTD/www/private" "$HTD/tmp"
  if [ ! -s "$HTD/www/random10m.bin" ]; then
    echo '<html><body>ferry test server</body></html>' > "$HTD/www/index.html"
    printf 'id,customer,amount,note\r\n1,"Ann, A.",10.50,"say ""hi""\nline2 ünï ✓"\r\n2,Bob,0.00,\r\n' > "$HTD/www/orders.csv"
    printf '{"orders":[{"id":1,"amount":"10.50"},{"id":2,"amount":"0.00"}]}\n' > "$HTD/www/orders.json"
    echo secret > "$HTD/www/private/secret.txt"
    head -c 10485760 /dev/urandom > "$HTD/www/random10m.bin.tmp" && mv "$HTD/www/random10m.bin.tmp" "$HTD/www/random10m.bin"
  fi
  chown -R www-data:www-data "$HTD/www/dav" "$HTD/tmp"
  [ -s "$HTD/htpasswd" ] || printf '%s:%s\n' "$HTTP_USER" "$(openssl passwd -apr1 "$HTTP_PASS")" > "$HTD/htpasswd"
  chmod 644 "$HTD/htpasswd"
  local changed=0
  write_if_changed "$HTD/nginx.conf" <<EOF && changed=1
# generated by ferry tests/harness/services.sh
user www-data www-data;
worker_processes 1;
daemon on;
pid $HTD/nginx.pid;
error_log $HTD/error.log warn;
events { worker_connections 512; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log $HTD/access.log;
  sendfile on;
  client_max_body_size 0;
  client_body_temp_path $HTD/tmp/body;
  proxy_temp_path $HTD/tmp/proxy;
  fastcgi_temp_path $HTD/tmp/fastcgi;
  uwsgi_temp_path $HTD/tmp/uwsgi;
  scgi_temp_path $HTD/tmp/scgi;
  gzip on; gzip_types text/csv application/json text/plain;
  server {
    listen 127.0.0.1:$HTTP_PORT;
    listen 127.0.0.1:$HTTPS_PORT ssl;
    ssl_certificate $TLSD/server.crt;
    ssl_certificate_key $TLSD/server.key;
    root $HTD/www;
    location / { autoindex on; }
    location /dav/ { dav_methods PUT DELETE MKCOL COPY MOVE; create_full_put_path on; autoindex on; }
    location /private/ { auth_basic "etl"; auth_basic_user_file $HTD/htpasswd; }
    location = /nginx_status { stub_status; }
  }
}
EOF
  # -e: otherwise nginx first opens /var/log/nginx/error.log
  timeout 10 nginx -t -q -c "$HTD/nginx.conf" -e "$HTD/error.log" >"$HTD/nginx-t.log" 2>&1 </dev/null \
    || fail nginx "$HTD/nginx-t.log" "nginx config invalid"
  if alive "$HTD/nginx.pid" "$NGINX_RE"; then
    if [ $changed = 1 ]; then kill -HUP "$(pid_of "$HTD/nginx.pid")"; log "nginx: already running (reloaded)"
    else log "nginx: already running"; fi
  else
    check_port_free "$HTTP_PORT" nginx; check_port_free "$HTTPS_PORT" nginx
    timeout -k 5 20 nginx -c "$HTD/nginx.conf" -e "$HTD/error.log" </dev/null 9>&- || fail nginx "$HTD/error.log" "failed to start"
    wait_until 10 curl -sf -m 2 -o /dev/null "http://127.0.0.1:$HTTP_PORT/" || fail nginx "$HTD/error.log" "not answering"
    log "nginx: started pid $(pid_of "$HTD/nginx.pid")"
  fi
  if alive "$HTD/echo.pid" "$ECHO_RE"; then log "echo: already running"; else
    check_port_free "$ECHO_PORT" http_echo
    HTTP_BASIC_USER=$HTTP_USER HTTP_BASIC_PASS=$HTTP_PASS HTTP_BEARER_TOKEN=$HTTP_TOKEN setsid "$PY" "$HARNESS_DIR/http_echo.py" \
      --host 127.0.0.1 --port "$ECHO_PORT" --pidfile "$HTD/echo.pid" --quiet </dev/null >>"$HTD/echo.log" 2>&1 9>&- &
    wait_until 10 curl -sf -m 2 -o /dev/null "http://127.0.0.1:$ECHO_PORT/health" || fail http_echo "$HTD/echo.log" "not answering"
    log "echo: started pid $(pid_of "$HTD/echo.pid")"
  fi
}
http_down() { stop_pid "$HTD/echo.pid" "$ECHO_RE" http_echo; stop_pid "$HTD/nginx.pid" "$NGINX_RE" nginx QUIT; }

# ---------------------------------------------------------------- S3 over https (nginx -> radosgw)
# A separate nginx instance (own conf and pid) terminating TLS with the
# harness CA's certificate and streaming to radosgw unbuffered; Host is passed
# through unchanged, so SigV4 signatures made for 127.0.0.1:$S3TLS_PORT verify.
S3TLS_RE="nginx.*$HTD/s3tls.conf"
s3tls_up() {
  mkdir -p "$HTD/s3tls-tmp"
  chown www-data:www-data "$HTD/s3tls-tmp"
  local changed=0
  write_if_changed "$HTD/s3tls.conf" <<EOF && changed=1
# generated by ferry tests/harness/services.sh
user www-data www-data;
worker_processes 1;
daemon on;
pid $HTD/s3tls.pid;
error_log $HTD/s3tls-error.log warn;
events { worker_connections 512; }
http {
  access_log $HTD/s3tls-access.log;
  client_body_temp_path $HTD/s3tls-tmp/body;
  proxy_temp_path $HTD/s3tls-tmp/proxy;
  fastcgi_temp_path $HTD/s3tls-tmp/fastcgi;
  uwsgi_temp_path $HTD/s3tls-tmp/uwsgi;
  scgi_temp_path $HTD/s3tls-tmp/scgi;
  server {
    listen 127.0.0.1:$S3TLS_PORT ssl;
    ssl_certificate $TLSD/server.crt;
    ssl_certificate_key $TLSD/server.key;
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:$RGW_PORT;
      proxy_http_version 1.1;
      proxy_set_header Host \$http_host;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-Proto https;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 600s;
      proxy_send_timeout 600s;
    }
  }
}
EOF
  timeout 10 nginx -t -q -c "$HTD/s3tls.conf" -e "$HTD/s3tls-error.log" >"$HTD/s3tls-t.log" 2>&1 </dev/null \
    || fail s3tls "$HTD/s3tls-t.log" "nginx config invalid"
  if alive "$HTD/s3tls.pid" "$S3TLS_RE"; then
    if [ $changed = 1 ]; then kill -HUP "$(pid_of "$HTD/s3tls.pid")"; log "s3tls: already running (reloaded)"
    else log "s3tls: already running"; fi
  else
    check_port_free "$S3TLS_PORT" s3tls
    timeout -k 5 20 nginx -c "$HTD/s3tls.conf" -e "$HTD/s3tls-error.log" </dev/null 9>&- || fail s3tls "$HTD/s3tls-error.log" "failed to start"
    wait_until 10 curl -s -m 2 --cacert "$TLSD/ca.crt" -o /dev/null "https://127.0.0.1:$S3TLS_PORT/" || fail s3tls "$HTD/s3tls-error.log" "not answering"
    log "s3tls: started pid $(pid_of "$HTD/s3tls.pid")"
  fi
}
s3tls_down() { stop_pid "$HTD/s3tls.pid" "$S3TLS_RE" s3tls QUIT; }

# ---------------------------------------------------------------- env file
write_env() {
  local fp fp_rsa; fp=$(ssh-keygen -lf "$SFD/ssh_host_ed25519_key.pub" | awk '{print $2}')
  fp_rsa=$(ssh-keygen -lf "$SFD/ssh_host_rsa_key.pub" | awk '{print $2}')
  [ -s "$CEPHD/env" ] || die "ceph env $CEPHD/env missing"
  local tmp=$ENV_FILE.tmp.$$
  {
    cat <<EOF
# generated by ferry tests/harness/services.sh on $(date -u +%FT%TZ)
# use:  set -a; . $ENV_FILE; set +a
FERRY_SVC_DIR='$SVC_DIR'
TLS_CA_FILE='$TLSD/ca.crt'
AWS_EC2_METADATA_DISABLED=true
# ---- PostgreSQL 15 (TLS on: add ?sslmode=verify-full&sslrootcert=\$TLS_CA_FILE)
PG_URI='postgresql://$DB_USER:$DB_PASS@127.0.0.1:$PG_PORT/$DB_NAME'
PG_TLS_URI='postgresql://$DB_USER:$DB_PASS@127.0.0.1:$PG_PORT/$DB_NAME?sslmode=verify-full&sslrootcert=$TLSD/ca.crt'
PG_MD5_URI='postgresql://etl_md5:$DB_PASS@127.0.0.1:$PG_PORT/$DB_NAME'
PG_SUPER_URI='postgresql://postgres:$PG_SUPER_PASS@127.0.0.1:$PG_PORT/postgres'
PG_HOST=127.0.0.1
PG_PORT=$PG_PORT
PG_USER=$DB_USER
PG_PASSWORD=$DB_PASS
PG_DATABASE=$DB_NAME
PG_MD5_USER=etl_md5
PG_SUPER_USER=postgres
PG_SUPER_PASSWORD=$PG_SUPER_PASS
PG_SOCKET_DIR='$PGD/run'
# ---- MariaDB (local_infile=1, TLS on)
MYSQL_URI='mysql://$DB_USER:$DB_PASS@127.0.0.1:$MY_PORT/$DB_NAME'
MYSQL_ROOT_URI='mysql://root:$MY_ROOT_PASS@127.0.0.1:$MY_PORT/'
MYSQL_HOST=127.0.0.1
MYSQL_PORT=$MY_PORT
MYSQL_TCP_PORT=$MY_PORT
MYSQL_USER=$DB_USER
MYSQL_PASSWORD=$DB_PASS
MYSQL_DATABASE=$DB_NAME
MYSQL_ROOT_USER=root
MYSQL_ROOT_PASSWORD=$MY_ROOT_PASS
MYSQL_SOCKET='$MY_SOCK'
# ---- S3 #1, the main one: Ceph radosgw (verifies SigV4 and x-amz-content-sha256)
EOF
    cat "$CEPHD/env"
    # S3_* = the main S3 server, same values as CEPH_S3_* (literal, for non-shell readers)
    sed -n 's/^CEPH_\(S3_[A-Z_]*=\)/\1/p' "$CEPHD/env"
    echo "# radosgw over https: nginx with the harness CA's cert (TLS_CA_FILE) in front of it"
    echo "CEPH_S3_HTTPS_ENDPOINT='https://127.0.0.1:$S3TLS_PORT'"
    cat <<EOF
# ---- S3 #2: @20minutes/s3rver 4.0.4 (verifies SigV4 signatures, not payload hashes)
S3V4_ENDPOINT='http://127.0.0.1:$S3V4_PORT'
S3V4_ACCESS_KEY='$S3V4_ACCESS_KEY'
S3V4_SECRET_KEY='$S3V4_SECRET_KEY'
S3V4_REGION=us-east-1
S3V4_BUCKET=$S3_BUCKET
# ---- SFTP (OpenSSH, sftp only)
SFTP_HOST=127.0.0.1
SFTP_PORT=$SFTP_PORT
SFTP_USER=$SFTP_USER
SFTP_KEY='$SFD/client/id_ed25519'
SFTP_KEY_PUB='$SFD/client/id_ed25519.pub'
SFTP_KEY_RSA_PEM='$SFD/client/id_rsa_pem'
SFTP_KNOWN_HOSTS='$SFD/known_hosts'
SFTP_HOSTKEY_SHA256='$fp'
SFTP_HOSTKEY_RSA_SHA256='$fp_rsa'
SFTP_URI='sftp://$SFTP_USER@127.0.0.1:$SFTP_PORT/'
SFTP_HOME='$SFD/home/$SFTP_USER'
SFTP_PW_USER=$SFTP_PW_USER
SFTP_PW_PASSWORD=$SFTP_PW_PASS
SFTP_PW_URI='sftp://$SFTP_PW_USER:$SFTP_PW_PASS@127.0.0.1:$SFTP_PORT/'
SFTP_PW_HOME='$SFD/home/$SFTP_PW_USER'
SFTP_ASKPASS='$SFD/client/askpass.sh'
# ---- HTTP
HTTP_BASE_URL='http://127.0.0.1:$HTTP_PORT'
HTTPS_BASE_URL='https://127.0.0.1:$HTTPS_PORT'
HTTP_ECHO_URL='http://127.0.0.1:$ECHO_PORT'
HTTP_DAV_URL='http://127.0.0.1:$HTTP_PORT/dav/'
HTTP_BASIC_USER=$HTTP_USER
HTTP_BASIC_PASSWORD=$HTTP_PASS
HTTP_BEARER_TOKEN=$HTTP_TOKEN
HTTP_DOCROOT='$HTD/www'
EOF
  } > "$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------- status / memory
pss_kb() { # sum of Pss over PIDs given
  local p s=0 v
  for p in "$@"; do v=$(awk '/^Pss:/{print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || echo 0); s=$((s + ${v:-0})); done
  echo $s
}
tree_pids() { local p=$1; echo "$p"; ps -o pid= --ppid "$p" 2>/dev/null | tr -d ' '; }
show() { # NAME PIDFILE REGEX PORTS
  local name=$1 f=$2 re=$3 ports=$4
  if alive "$f" "$re"; then
    local p; p=$(pid_of "$f")
    # shellcheck disable=SC2046
    printf '%-10s up    pid=%-7s ports=%-12s mem(PSS)=%5d MiB\n' "$name" "$p" "$ports" $(( $(pss_kb $(tree_pids "$p")) / 1024 ))
  else
    printf '%-10s DOWN  ports=%s\n' "$name" "$ports"; return 1
  fi
}
cmd_status() {
  local rc=0
  show postgres "$PGD/data/postmaster.pid" "postgres.*$PGD/data" "$PG_PORT" || rc=1
  show mariadb "$MYD/run/mysqld.pid" "$MY_RE" "$MY_PORT" || rc=1
  show s3v4 "$S3V4D/pid" "$S3V4_RE" "$S3V4_PORT" || rc=1
  show sshd "$SFD/sshd.pid" "$SSHD_RE" "$SFTP_PORT" || rc=1
  show nginx "$HTD/nginx.pid" "$NGINX_RE" "$HTTP_PORT,$HTTPS_PORT" || rc=1
  show http_echo "$HTD/echo.pid" "$ECHO_RE" "$ECHO_PORT" || rc=1
  show s3tls "$HTD/s3tls.pid" "$S3TLS_RE" "$S3TLS_PORT" || rc=1
  if [ -d "$CEPHD" ]; then
    local st; st=$(ceph_env "$HARNESS_DIR/ceph_rgw.sh" status)
    printf '%s\n' "$st" | sed 's/^/ceph /'
    case $st in *DOWN*) rc=1 ;; esac
  else
    echo "ceph       DOWN  (not initialised)"; rc=1
  fi
  return $rc
}

# The harness's fixed ports lie inside Linux's ephemeral range (32768-60999):
# a client socket (e.g. radosgw's connection to its OSD) can be handed one of
# them as its local port before the server that owns it starts, and that
# server then fails with EADDRINUSE (seen: s3v4 on 54570 taken by radosgw).
# Reserving them keeps the kernel from giving them out; the reservation is
# per network namespace, only affects automatic port choice, and is left in
# place by `down` (harmless; `sysctl net.ipv4.ip_local_reserved_ports` shows it).
reserve_ports() {
  local f=/proc/sys/net/ipv4/ip_local_reserved_ports cur want
  want="$PG_PORT,$MY_PORT,$S3V4_PORT,$RGW_PORT,$((RGW_PORT + 1)),$SFTP_PORT,$HTTP_PORT,$HTTPS_PORT,$ECHO_PORT,$S3TLS_PORT,53300,56789,56800-56899"
  if [ ! -w "$f" ]; then log "note: $f is not writable: harness ports are not reserved"; return 0; fi
  cur=$(cat "$f")
  echo "${cur:+$cur,}$want" > "$f" 2>/dev/null || log "note: could not reserve the harness ports in $f"
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  lock
  reserve_ports
  if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    local out
    out=$("$REPO_DIR/scripts/install-deps.sh" </dev/null 9>&-) || die "scripts/install-deps.sh failed"
    log "$out"
  fi
  ensure_tls
  pg_up; my_up; ceph_up; s3v4_up; sftp_up; http_up; s3tls_up
  write_env
  log "all services up; env file: $ENV_FILE"
  cmd_status
}
cmd_down() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  lock
  ceph_down; s3tls_down; http_down; sftp_down; s3v4_down; my_down; pg_down
  log "all services down"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) [ -s "$ENV_FILE" ] || die "no $ENV_FILE: run $0 up"; cat "$ENV_FILE" ;;
  wipe) cmd_down
        rm -rf "$PGD" "$MYD" "$S3V4D" "$CEPHD" "$SFD" "$HTD" "$TLSD" "$ENV_FILE" "$SVC_DIR"/ceph-up.log
        log "wiped $SVC_DIR (kept $NPMD)" ;;
  *) echo "usage: $0 up|down|status|env|wipe   (env: FERRY_SVC_DIR, CEPH_MGR=1, SKIP_INSTALL=1)" >&2; exit 2 ;;
esac

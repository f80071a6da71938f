#!/usr/bin/env bash
# install-deps.sh - install everything ferry needs to build and to run its
# real-server tests, on Debian 12 (bookworm), as root, unattended (no stdin).
#
#   scripts/install-deps.sh               build + test dependencies + npm S3 server
#   scripts/install-deps.sh --build-only  only what is needed to compile ferry
#   scripts/install-deps.sh --print-build-packages  print that list (one a line), install nothing
#
# The build packages are listed once, in scripts/build-packages.txt (also read
# by the build stage of examples/kubernetes/Dockerfile).
#
# Idempotent: packages are checked with dpkg-query and only missing ones are
# installed (one `apt-get update`, then one `apt-get install`); when everything is
# present it is a fast no-op. While apt runs, a temporary /usr/sbin/policy-rc.d
# (exit 101) stops package post-install scripts from starting the SYSTEM sshd,
# nginx, PostgreSQL or MariaDB (they would listen on 0.0.0.0); it is removed
# afterwards only if this script created it.
#
# The SigV4-verifying S3 test server (npm @20minutes/s3rver@4.0.4) is installed
# into $FERRY_SVC_DIR/npm/s3v4 (default /tmp/ferry-svc/npm/s3v4), never globally;
# DuckDB (npm @duckdb/node-api, the independent Parquet reader of
# tests/integration/parquet.sh) into $FERRY_SVC_DIR/npm/duckdb, and the second
# reader there, hyparquet + hyparquet-compressors (pure JavaScript), into
# $FERRY_SVC_DIR/npm/hyparquet.
#
# Env: FERRY_SVC_DIR (/tmp/ferry-svc), APT_TIMEOUT (1800 s), NPM_TIMEOUT (600 s).
# Prints one summary line on stdout; logs go to $FERRY_SVC_DIR/install-*.log.
set -euo pipefail
umask 022
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd /
export DEBIAN_FRONTEND=noninteractive

FERRY_SVC_DIR=${FERRY_SVC_DIR:-/tmp/ferry-svc}
NPM_DIR=$FERRY_SVC_DIR/npm
S3V4_PKG=@20minutes/s3rver
S3V4_VER=4.0.4
DUCKDB_PKG=@duckdb/node-api
DUCKDB_VER=1.5.6-r.1   # tests/integration/parquet.sh pins the same
HYP_VER=1.33.0         # hyparquet; tests/integration/parquet.sh pins the same
HYPC_VER=1.1.2         # hyparquet-compressors (snappy, zstd, gzip)
APT_TIMEOUT=${APT_TIMEOUT:-1800}
NPM_TIMEOUT=${NPM_TIMEOUT:-600}

# the build set is scripts/build-packages.txt, shared with examples/kubernetes/Dockerfile
BUILD_PKGS_FILE=$SCRIPT_DIR/build-packages.txt
[ -r "$BUILD_PKGS_FILE" ] || { echo "install-deps: ERROR: cannot read $BUILD_PKGS_FILE" >&2; exit 1; }
mapfile -t BUILD_PKGS < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$BUILD_PKGS_FILE")
TEST_PKGS=(postgresql mariadb-server mariadb-client openssh-server openssh-client nginx-light
           awscli curl openssl procps iproute2 python3
           ceph-mon ceph-mgr ceph-osd radosgw ceph-common valgrind time python3-psycopg2 python3-boto3 zstd gzip
           rclone zsh file)   # rclone: bench/many_files.sh and bench/sftp_s3.sh compare with it; zsh: completion.sh parses the zsh completion; file: cpack's dpkg-shlibdeps

build_only=0
for a in "$@"; do
  case $a in
    --build-only) build_only=1 ;;
    --print-build-packages) printf '%s\n' "${BUILD_PKGS[@]}"; exit 0 ;;
    -h|--help) sed -n '2,24p' "$SCRIPT_DIR/${0##*/}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

die() { echo "install-deps: ERROR: $*" >&2; exit 1; }

pkgs=("${BUILD_PKGS[@]}")
if [ $build_only = 0 ]; then
  pkgs+=("${TEST_PKGS[@]}")
  # Debian's nodejs/npm only when no node/npm at all (e.g. NodeSource's nodejs
  # already ships npm and conflicts with Debian's npm package)
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

# one dpkg-query for all packages; unknown packages are simply absent from the output
declare -A have=()
while read -r name status; do
  [ "$status" = "install ok installed" ] && have[$name]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do [ -n "${have[$p]:-}" ] || missing+=("$p"); done

summary=()
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run as root"
  mkdir -p "$FERRY_SVC_DIR"
  made_policy=0
  cleanup_policy() { if [ $made_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; made_policy=0; fi; }
  trap cleanup_policy EXIT
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, by ferry scripts/install-deps.sh: do not start services\nexit 101\n' \
      > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  echo "install-deps: apt-get install ${missing[*]}" >&2
  timeout -k 10 "$APT_TIMEOUT" apt-get update -q </dev/null >"$FERRY_SVC_DIR/install-apt-update.log" 2>&1 \
    || echo "install-deps: apt-get update failed (continuing), see $FERRY_SVC_DIR/install-apt-update.log" >&2
  if ! timeout -k 10 "$APT_TIMEOUT" apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null >"$FERRY_SVC_DIR/install-apt.log" 2>&1; then
    tail -n 25 "$FERRY_SVC_DIR/install-apt.log" >&2
    die "apt-get install failed (log: $FERRY_SVC_DIR/install-apt.log)"
  fi
  cleanup_policy
  trap - EXIT
  summary+=("${#missing[@]} apt packages (${missing[*]})")
fi

if [ $build_only = 0 ]; then
  d=$NPM_DIR/s3v4
  if [ ! -f "$d/node_modules/$S3V4_PKG/lib/cli.js" ] ||
     ! grep -q "\"version\": \"$S3V4_VER\"" "$d/node_modules/$S3V4_PKG/package.json" 2>/dev/null; then
    command -v npm >/dev/null 2>&1 || die "npm not found after apt install"
    echo "install-deps: npm install $S3V4_PKG@$S3V4_VER into $d" >&2
    mkdir -p "$d"
    printf '{"name":"ferry-test-s3v4","private":true,"dependencies":{"%s":"%s"}}\n' \
      "$S3V4_PKG" "$S3V4_VER" > "$d/package.json"
    if ! (cd "$d" && timeout -k 10 "$NPM_TIMEOUT" npm install --no-audit --no-fund \
            --loglevel=error </dev/null >"$FERRY_SVC_DIR/install-npm.log" 2>&1); then
      tail -n 25 "$FERRY_SVC_DIR/install-npm.log" >&2
      die "npm install $S3V4_PKG@$S3V4_VER failed (log: $FERRY_SVC_DIR/install-npm.log)"
    fi
    [ -f "$d/node_modules/$S3V4_PKG/lib/cli.js" ] || die "npm install did not produce $S3V4_PKG/lib/cli.js"
    summary+=("npm $S3V4_PKG@$S3V4_VER")
  fi
  d=$NPM_DIR/duckdb
  if ! grep -q "\"version\": \"$DUCKDB_VER\"" "$d/node_modules/$DUCKDB_PKG/package.json" 2>/dev/null; then
    echo "install-deps: npm install $DUCKDB_PKG@$DUCKDB_VER into $d" >&2
    mkdir -p "$d"
    printf '{"name":"ferry-test-duckdb","private":true,"dependencies":{"%s":"%s"}}\n' \
      "$DUCKDB_PKG" "$DUCKDB_VER" > "$d/package.json"
    if ! (cd "$d" && timeout -k 10 "$NPM_TIMEOUT" npm install --no-audit --no-fund \
            --loglevel=error </dev/null >"$FERRY_SVC_DIR/install-npm-duckdb.log" 2>&1); then
      tail -n 25 "$FERRY_SVC_DIR/install-npm-duckdb.log" >&2
      die "npm install $DUCKDB_PKG@$DUCKDB_VER failed (log: $FERRY_SVC_DIR/install-npm-duckdb.log)"
    fi
    summary+=("npm $DUCKDB_PKG@$DUCKDB_VER")
  fi
  d=$NPM_DIR/hyparquet
  if ! grep -q "\"version\": \"$HYP_VER\"" "$d/node_modules/hyparquet/package.json" 2>/dev/null ||
     ! grep -q "\"version\": \"$HYPC_VER\"" "$d/node_modules/hyparquet-compressors/package.json" 2>/dev/null; then
    echo "install-deps: npm install hyparquet@$HYP_VER hyparquet-compressors@$HYPC_VER into $d" >&2
    mkdir -p "$d"
    printf '{"name":"ferry-test-hyparquet","private":true,"dependencies":{"hyparquet":"%s","hyparquet-compressors":"%s"}}\n' \
      "$HYP_VER" "$HYPC_VER" > "$d/package.json"
    if ! (cd "$d" && timeout -k 10 "$NPM_TIMEOUT" npm install --no-audit --no-fund \
            --loglevel=error </dev/null >"$FERRY_SVC_DIR/install-npm-hyparquet.log" 2>&1); then
      tail -n 25 "$FERRY_SVC_DIR/install-npm-hyparquet.log" >&2
      die "npm install hyparquet@$HYP_VER failed (log: $FERRY_SVC_DIR/install-npm-hyparquet.log)"
    fi
    summary+=("npm hyparquet@$HYP_VER")
  fi
fi

what=build; [ $build_only = 1 ] || what="build+test"
if [ ${#summary[@]} -eq 0 ]; then
  echo "install-deps: all $what dependencies already present (${#pkgs[@]} packages), nothing installed"
else
  s=$(printf '%s; ' "${summary[@]}")
  echo "install-deps: installed ${s%; }"
fi

#!/usr/bin/env bash
# scripts/fuzz.sh - build and run ferry's libFuzzer targets (tests/fuzz/).
#
#   scripts/fuzz.sh build                  compile every target into tests/fuzz/out/
#   scripts/fuzz.sh run SECONDS [TARGET…]  fuzz each target (all by default) for
#                                          SECONDS, one after the other
#   scripts/fuzz.sh regress [TARGET…]      replay tests/fuzz/regressions/<t>/ and the
#                                          seeds tests/fuzz/corpus/<t>/ once (no fuzzing)
#   scripts/fuzz.sh build-gcc              build tests/fuzz/regress_main.c drivers
#                                          with gcc -Werror + ASan/UBSan (the ctest path)
#   scripts/fuzz.sh list                   the targets
#
# Targets: tests/fuzz/fuzz_<target>.c.  Each is linked with libFuzzer and an
# archive of every library source (core/ transfer/ hooks/ operators/) compiled
# with -fsanitize=fuzzer-no-link,address,undefined, so the linker takes only
# the objects a target needs (a hook file that does not compile yet only
# disables the targets that need it).  UBSan findings abort
# (-fno-sanitize-recover), so they count as crashes.
#
# run: corpus tests/fuzz/out/corpus/<t> (seeded from tests/fuzz/corpus/<t>/),
# dictionary tests/fuzz/dict/<t>.dict when present, crash files in
# tests/fuzz/out/artifacts/<t>/, log in tests/fuzz/out/logs/<t>.log.  One
# in-process fuzzer at a time (no -jobs/-fork: one process, one thread).
# Prints per target: seconds, runs, exec/s, coverage, features, crashes;
# ends with "N passed, N failed" (a target passes when it ran the whole time
# without a crash) and exits non-zero when one failed.
#
# Env: FUZZ_CC (clang), FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (10 s per input),
#      FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
FUZZ_DIR=$ROOT/tests/fuzz
OUT=$FUZZ_DIR/out
CC=${FUZZ_CC:-clang}
RSS_MB=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-10}

all_targets() {
  local f
  for f in "$FUZZ_DIR"/fuzz_*.c; do
    f=${f##*/fuzz_}
    echo "${f%.c}"
  done
}

die() { echo "fuzz.sh: $*" >&2; exit 2; }

# ferry/version.h as CMake generates it (include/ferry/version.h.in), from
# the one version in CMakeLists.txt's project()
version=$(sed -n 's/^project(ferry VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
version=${version:-0.0.0}
IFS=. read -r v_major v_minor v_patch <<<"$version"
mkdir -p "$OUT/include/ferry"
sed -e "s/@PROJECT_VERSION@/$version/; s/@PROJECT_VERSION_MAJOR@/$v_major/; s/@PROJECT_VERSION_MINOR@/$v_minor/" \
    -e "s/@PROJECT_VERSION_PATCH@/${v_patch:-0}/" include/ferry/version.h.in >"$OUT/include/ferry/version.h.new"
cmp -s "$OUT/include/ferry/version.h.new" "$OUT/include/ferry/version.h" 2>/dev/null ||
  mv "$OUT/include/ferry/version.h.new" "$OUT/include/ferry/version.h"
rm -f "$OUT/include/ferry/version.h.new"
PKG_CFLAGS=$(pkg-config --cflags jansson libcurl libssh2 libmariadb zlib expat)
LIBS="$(pkg-config --libs jansson libcurl libssh2 libmariadb zlib expat libzstd snappy) -lpq -lcrypto -lpthread -lm"
BASE_CFLAGS=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
             -Iinclude "-I$OUT/include" -I. -I/usr/include/postgresql $PKG_CFLAGS)
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
# ISA-L gzip, as CMakeLists.txt does it: when its header and library are there
if [ -f /usr/include/isa-l/igzip_lib.h ] && echo 'int main(void){return 0;}' |
     ${FUZZ_CC:-clang} -x c - -lisal -o /dev/null 2>/dev/null; then
  BASE_CFLAGS+=(-DFERRY_HAVE_ISAL)
  LIBS="$LIBS -lisal"
fi

lib_sources() {
  ls core/*.c transfer/*.c hooks/*.c hooks/*/*.c operators/*.c 2>/dev/null | sort
}

# The newest header: objects older than it are rebuilt.
newest_header() {
  ls -t include/ferry/*.h hooks/*/*.h transfer/*.h 2>/dev/null | head -n 1
}

# compile_lib OBJDIR ARCHIVE CC FLAGS... : every library source into OBJDIR, then ARCHIVE.
compile_lib() {
  local objdir=$1 archive=$2 cc=$3
  shift 3
  local hdr src obj failed=0 objs=() pids=() srcs=()
  hdr=$(newest_header)
  mkdir -p "$objdir"
  # other flags than last time (e.g. ISA-L appeared): start over
  if [ "$(cat "$objdir/.flags" 2>/dev/null)" != "$cc $*" ]; then
    rm -rf "$objdir"
    mkdir -p "$objdir"
    printf '%s' "$cc $*" >"$objdir/.flags"
  fi
  for src in $(lib_sources); do
    obj=$objdir/${src%.c}.o
    objs+=("$obj")
    if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && { [ -z "$hdr" ] || [ "$obj" -nt "$hdr" ]; }; then
      continue
    fi
    mkdir -p "$(dirname "$obj")"
    rm -f "$obj"
    ( "$cc" "$@" -c "$src" -o "$obj" 2>"$obj.err" || { echo "  skipped $src (does not compile: see $obj.err)"; rm -f "$obj"; } ) &
    pids+=($!)
    if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  done
  wait
  local present=()
  for obj in "${objs[@]}"; do [ -f "$obj" ] && present+=("$obj"); done
  rm -f "$archive"
  ar rcs "$archive" "${present[@]}"
}

cmd_build() {
  command -v "$CC" >/dev/null || die "$CC not found (apt-get install clang libclang-rt-14-dev)"
  mkdir -p "$OUT"
  echo "== library sources (fuzzer-no-link, ASan, UBSan)"
  compile_lib "$OUT/obj" "$OUT/libferry_fuzz.a" "$CC" "${BASE_CFLAGS[@]}" -fsanitize=fuzzer-no-link "${SAN[@]}"
  local t built=0 failed=0
  for t in $(all_targets); do
    if "$CC" "${BASE_CFLAGS[@]}" -fsanitize=fuzzer "${SAN[@]}" "$FUZZ_DIR/fuzz_$t.c" \
         "$OUT/libferry_fuzz.a" $LIBS -o "$OUT/fuzz_$t" 2>"$OUT/fuzz_$t.err"; then
      echo "  built tests/fuzz/out/fuzz_$t"
      built=$((built + 1))
    else
      echo "  NOT built: fuzz_$t (see tests/fuzz/out/fuzz_$t.err)"
      sed -n '1,8p' "$OUT/fuzz_$t.err" | sed 's/^/    /'
      failed=$((failed + 1))
    fi
  done
  echo "$built built, $failed not built"
  [ "$failed" = 0 ]
}

cmd_build_gcc() {
  local gout=$OUT/gcc
  local flags=(-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter -Werror
               -Iinclude "-I$OUT/include" -I. -I/usr/include/postgresql $PKG_CFLAGS
               -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  echo "== library sources (gcc, ASan, UBSan)"
  compile_lib "$gout/obj" "$gout/libferry.a" gcc "${flags[@]}"
  local t rc=0
  for t in $(all_targets); do
    if gcc "${flags[@]}" "$FUZZ_DIR/regress_main.c" "$FUZZ_DIR/fuzz_$t.c" "$gout/libferry.a" $LIBS \
         -o "$gout/regress_$t" 2>"$gout/regress_$t.err"; then
      echo "  built tests/fuzz/out/gcc/regress_$t"
    else
      echo "  NOT built: regress_$t"; sed -n '1,12p' "$gout/regress_$t.err" | sed 's/^/    /'; rc=1
    fi
  done
  for t in $(all_targets); do
    [ -x "$gout/regress_$t" ] || continue
    "$gout/regress_$t" "$FUZZ_DIR/corpus/$t" "$FUZZ_DIR/regressions/$t" || rc=1
  done
  return $rc
}

targets_or_all() {
  if [ $# -gt 0 ]; then printf '%s\n' "$@"; else all_targets; fi
}

cmd_regress() {
  local t rc=0 n bad=0
  for t in $(targets_or_all "$@"); do
    [ -x "$OUT/fuzz_$t" ] || { echo "fuzz_$t: not built (scripts/fuzz.sh build)"; rc=1; continue; }
    mapfile -t files < <(find "$FUZZ_DIR/regressions/$t" "$FUZZ_DIR/corpus/$t" -type f 2>/dev/null | sort)
    n=${#files[@]}
    if [ "$n" = 0 ]; then echo "fuzz_$t: no inputs"; continue; fi
    if "$OUT/fuzz_$t" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" "${files[@]}" >"$OUT/regress_$t.log" 2>&1; then
      echo "fuzz_$t: $n inputs ok"
    else
      echo "fuzz_$t: CRASH (see tests/fuzz/out/regress_$t.log)"
      grep -E "^Running:" "$OUT/regress_$t.log" | tail -n 1 | sed 's/^/  /'
      grep -m 2 -E -A1 "INVARIANT|ERROR: |runtime error" "$OUT/regress_$t.log" | sed 's/^/  /'
      rc=1; bad=$((bad + 1))
    fi
  done
  return $rc
}

# The last "cov:" line and the final stats of a libFuzzer log.
summarize() {
  local log=$1 secs=$2 crashes=$3 t=$4
  local runs execs cov ft
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | awk '{print $2}')
  if [ -z "$runs" ]; then runs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#'); fi
  printf '%-12s seconds %5s  runs %10s  exec/s %7s  cov %6s  ft %7s  crashes %s\n' \
    "$t" "$secs" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes"
}

cmd_run() {
  [ $# -ge 1 ] || die "usage: scripts/fuzz.sh run SECONDS [TARGET…]"
  local secs=$1
  shift
  [[ "$secs" =~ ^[0-9]+$ ]] || die "SECONDS must be a number"
  local t passed=0 failed=0 summary=()
  mkdir -p "$OUT/logs"
  for t in $(targets_or_all "$@"); do
    local bin=$OUT/fuzz_$t corpus=$OUT/corpus/$t art=$OUT/artifacts/$t/ log=$OUT/logs/$t.log
    if [ ! -x "$bin" ]; then
      summary+=("$(printf '%-12s not built' "$t")")
      failed=$((failed + 1))
      continue
    fi
    mkdir -p "$corpus" "$art"
    if [ -d "$FUZZ_DIR/corpus/$t" ]; then cp -n "$FUZZ_DIR/corpus/$t"/* "$corpus"/ 2>/dev/null || true; fi
    local dict=()
    [ -f "$FUZZ_DIR/dict/$t.dict" ] && dict=(-dict="$FUZZ_DIR/dict/$t.dict")
    local before after start end rc=0 listed_before
    listed_before=$(ls "$art" 2>/dev/null | sort)
    before=$(find "$art" -type f | wc -l)
    echo "== fuzz_$t for $secs s (log tests/fuzz/out/logs/$t.log)"
    start=$(date +%s)
    "$bin" -max_total_time="$secs" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" \
      -print_final_stats=1 -artifact_prefix="$art" "${dict[@]}" ${FUZZ_ARGS:-} \
      "$corpus" >"$log" 2>&1 || rc=$?
    end=$(date +%s)
    after=$(find "$art" -type f | wc -l)
    local crashes=$((after - before))
    if [ "$rc" != 0 ] && [ "$crashes" = 0 ]; then crashes="1 (exit $rc)"; fi
    local line
    line=$(summarize "$log" $((end - start)) "$crashes" "$t")
    echo "$line"
    summary+=("$line")
    if [ "$rc" = 0 ] && [ "$crashes" = 0 ] && [ $((end - start)) -ge $((secs - 1)) ]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      grep -m 1 -E "INVARIANT|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|ERROR: libFuzzer" "$log" | sed 's/^/  /' || true
      comm -13 <(printf '%s\n' "$listed_before") <(ls "$art" 2>/dev/null | sort) | head -n 3 |
        sed "s|^|  artifact: tests/fuzz/out/artifacts/$t/|" || true
    fi
  done
  echo "== summary"
  printf '%s\n' "${summary[@]}"
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
}

case ${1:-} in
  build) cmd_build ;;
  build-gcc) cmd_build_gcc ;;
  run) shift; cmd_run "$@" ;;
  regress) shift; cmd_regress "$@" ;;
  list) all_targets ;;
  -h|--help|'') sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$1' (build, run, regress, build-gcc, list)" ;;
esac

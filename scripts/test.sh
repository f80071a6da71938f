#!/usr/bin/env bash
# scripts/test.sh - THE test command (README, .ci/run): installs every
# dependency, builds with -Werror, starts the real servers on 127.0.0.1,
# runs every test (unit + integration) with ctest, then again on an
# AddressSanitizer/UndefinedBehaviorSanitizer build, and stops the servers
# on every path.  Exits non-zero on any failure.
#   FERRY_SKIP_ASAN=1      skip the sanitizer pass (local iterations)
#   FERRY_KEEP_SERVICES=1  leave the servers running afterwards
#   FERRY_TEST_JOBS=N      tests run at once (default 2; tests that restart a
#                          server are RUN_SERIAL in CMakeLists.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)
TEST_JOBS=${FERRY_TEST_JOBS:-2}

bash scripts/install-deps.sh

echo "== build (release, -Werror, test build: fault injection compiled in)"
cmake -S . -B build -DFERRY_WERROR=ON -DFERRY_FAULT_INJECTION=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"

echo "== start the test servers"
# Servers this run started are stopped on every path; servers that were already
# running (a developer's session) are left running.  FERRY_KEEP_SERVICES=1 keeps them.
already_up=0
if bash tests/harness/services.sh status >/dev/null 2>&1; then already_up=1; fi
stop_servers() {
  if [ "$already_up" = 1 ] || [ "${FERRY_KEEP_SERVICES:-0}" = 1 ]; then return 0; fi
  bash "$ROOT/tests/harness/services.sh" down || true
}
trap stop_servers EXIT
bash tests/harness/services.sh up

export FERRY_REQUIRE_SERVICES=1   # live unit tests fail (not skip) without their server
echo "== ctest (release build)"
ctest --test-dir build --output-on-failure --timeout 1500 -j"$TEST_JOBS"

if [ "${FERRY_SKIP_ASAN:-0}" != 1 ]; then
  echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
  cmake -S . -B build-asan -DFERRY_WERROR=ON -DFERRY_SANITIZE=ON -DFERRY_FAULT_INJECTION=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-asan -j"$JOBS"
  echo "== ctest (sanitizer build)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 2400 -j"$TEST_JOBS"
fi
echo "== all tests passed"

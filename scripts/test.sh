#!/usr/bin/env bash
# scripts/test.sh - THE test command (README, .ci/run): installs every
# dependency, builds with -Werror, starts the real servers on 127.0.0.1,
# runs every test (unit + integration) with ctest, then again on an
# AddressSanitizer/UndefinedBehaviorSanitizer build, and stops the servers
# on every path.  Exits non-zero on any failure.
#   FERRY_SKIP_ASAN=1  skip the sanitizer pass (local iterations)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

bash scripts/install-deps.sh

echo "== build (release, -Werror)"
cmake -S . -B build -DFERRY_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"

echo "== start the test servers"
stop_servers() { bash "$ROOT/tests/harness/services.sh" down || true; }
trap stop_servers EXIT
bash tests/harness/services.sh up

echo "== ctest (release build)"
ctest --test-dir build --output-on-failure --timeout 1500

if [ "${FERRY_SKIP_ASAN:-0}" != 1 ]; then
  echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
  cmake -S . -B build-asan -DFERRY_WERROR=ON -DFERRY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-asan -j"$JOBS"
  echo "== ctest (sanitizer build)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 2400
fi
echo "== all tests passed"

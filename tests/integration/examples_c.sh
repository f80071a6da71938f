#!/usr/bin/env bash
# examples_c.sh - the C API examples run: a hook registered from outside the
# library (examples/c/custom_hook.c) receives a decompressed stream.
. "$(dirname "$0")/../lib.sh"
cd "$WORK"
HOOK=${FERRY_EXAMPLE_CUSTOM_HOOK:-$(dirname "$FERRY")/example_custom_hook}
seq 1 100000 > n.txt
"$FERRY" copy n.txt n.txt.gz -q
check "custom hook counts a plain file" bash -c "'$HOOK' n.txt | grep -qx 'count: $(stat -c %s n.txt) bytes, 100000 lines'"
check "custom hook gets the .gz decompressed" bash -c "'$HOOK' n.txt.gz | grep -qx 'count: $(stat -c %s n.txt) bytes, 100000 lines'"
expect_code "custom hook: a missing source exits 5" 5 "$HOOK" missing.txt
finish

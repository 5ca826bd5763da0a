#!/usr/bin/env bash
# run.sh — the one runner of the shell tests; ctest calls it for each
# tests/shell/NAME.sh (tests/CMakeLists.txt):
#
#   KAFU=build/bin/kafu KAFU_SRC=. KAFU_BUILD=build bash tests/shell/lib/run.sh tests/shell/NAME.sh
#
# It gives the test a private, empty directory $TEST_TMP (removed afterwards;
# KAFU_KEEP_TEST_TMP=1 keeps it and says where), a shared engine cache
# ($KAFU_CACHE_DIR, default $KAFU_BUILD/test-cache, so each module compiles to
# native code once per build tree), and passes the test's status on:
# 0 passed, 77 skipped (ctest's SKIP_RETURN_CODE), anything else failed.
# The test itself sources lib/common.sh (fail-fast helpers, see there).
set -u
test=${1:?usage: run.sh tests/shell/NAME.sh}
: "${KAFU:?KAFU must point at the kafu binary}"
: "${KAFU_SRC:?KAFU_SRC must point at the source tree}"
: "${KAFU_BUILD:?KAFU_BUILD must point at the build tree}"
export KAFU KAFU_SRC KAFU_BUILD
export KAFU_CACHE_DIR="${KAFU_CACHE_DIR:-$KAFU_BUILD/test-cache}"
name=$(basename "$test" .sh)
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kafu-$name.XXXXXX") || { echo "run.sh: mktemp failed" >&2; exit 1; }
export TEST_TMP
bash "$test"
rc=$?
if [ "${KAFU_KEEP_TEST_TMP:-0}" = 1 ]; then
  echo "run.sh: kept $TEST_TMP"
else
  chmod -R u+rwx "$TEST_TMP" 2>/dev/null
  rm -rf "$TEST_TMP"
fi
exit $rc

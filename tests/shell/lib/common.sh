# common.sh — the helpers every tests/shell/*.sh sources first (not run):
#
#   source "$KAFU_SRC/tests/shell/lib/common.sh"
#
# One style for all shell tests: fail-fast. `fail` prints why (and whatever
# `fail_context` shows: logs of the nodes, stderr of the last command) and ends
# the test with status 1; a test that reaches its end passed. A check that
# cannot run here says so: `skip` ends the whole test as skipped (exit 77,
# ctest's SKIP_RETURN_CODE), `skip_part` notes that one part was not run and the
# test then ends as skipped instead of passed — never a silent pass.
#
# Provided: $T (the test's private directory: $TEST_TMP from lib/run.sh, or a
# fresh one when the test is run directly), PIDS (background processes to kill
# at exit: PIDS+=($!)), fail, ok, skip, skip_part, need, run + expect_rc /
# expect_err / expect_out, free_ports, node_run.
set -u

: "${KAFU:?KAFU must point at the kafu binary}"
: "${KAFU_SRC:?KAFU_SRC must point at the source tree}"
export KAFU_CACHE_DIR="${KAFU_CACHE_DIR:-${KAFU_BUILD:-/tmp}/test-cache}"
SHELL_LIB="$KAFU_SRC/tests/shell/lib"

if [ -n "${TEST_TMP:-}" ]; then
  T=$TEST_TMP
  OWN_T=0
else
  T=$(mktemp -d "${TMPDIR:-/tmp}/kafu-test.XXXXXX")
  OWN_T=1
fi
PIDS=()
SKIPPED=()

common_exit() {
  local rc=$? p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ "$OWN_T" = 1 ]; then
    chmod -R u+rwx "$T" 2>/dev/null
    rm -rf "$T"
  fi
  if [ "$rc" = 0 ] && [ "${#SKIPPED[@]}" -gt 0 ]; then
    echo "SKIPPED PARTS (the rest passed):"
    printf '  %s\n' "${SKIPPED[@]}"
    exit 77
  fi
  exit "$rc"
}
trap common_exit EXIT

# fail_context: redefined by libraries/tests to print what explains a failure
fail_context() { :; }
fail() {
  echo "FAIL: $*" >&2
  fail_context >&2
  exit 1
}
ok() { echo "ok: $*"; }
skip() {
  echo "SKIP: $*"
  exit 77
}
skip_part() {
  echo "SKIP (part): $*"
  SKIPPED+=("$*")
}
# need COMMAND [DEBIAN-PACKAGE] -> skip the whole test unless COMMAND is in PATH
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed${2:+ (Debian package $2)}"; }
# have COMMAND -> is it in PATH?
have() { command -v "$1" >/dev/null 2>&1; }

# tail_logs FILE... -> the last 25 lines of each non-empty file
tail_logs() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "---- ${f##*/} (last 25 lines)"
    tail -n 25 "$f"
  done
}

# run CMD... -> sets $rc, $out, $err (stdout/stderr also in $T/out, $T/err)
run() {
  "$@" >"$T/out" 2>"$T/err"
  rc=$?
  out=$(cat "$T/out")
  err=$(cat "$T/err")
}
# expect_rc WANT WHAT -> the last `run` exited WANT
expect_rc() { [ "$rc" -eq "$1" ] || fail "$2: exit $rc, want $1; stderr: $err"; }
# expect_err TEXT WHAT -> its stderr contains TEXT
expect_err() { grep -qF -- "$1" "$T/err" || fail "$2: stderr lacks '$1': $err"; }
# expect_out LINE WHAT -> its stdout has the line LINE
expect_out() { grep -qxF -- "$1" "$T/out" || fail "$2: stdout lacks line '$1': $out"; }

# free_ports N -> N distinct free TCP ports on 127.0.0.1, space separated
# (bound to port 0, so tests running in parallel never collide)
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# node_run WASM [ARGS...] -> run a wasm32-wasi module under Node.js (an
# independent engine; kafu.migration_point is a no-op there)
node_run() { node --no-warnings "$SHELL_LIB/run-wasi.js" "$@"; }
# is_wasm FILE -> does it start with the wasm magic?
is_wasm() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '\0asm' ]; }

# xisa.sh — helpers for tests/shell/xisa_*.sh (sourced, not run): the cluster
# helpers (lib/cluster.sh) plus an aarch64 kafu run under qemu-user.
#
# The aarch64 kafu is built by the ctest fixture xisa/build-aarch64
# (scripts/build-aarch64.sh into $KAFU_BUILD/aarch64) or given as
# $KAFU_AARCH64. Without qemu-aarch64, the arm64 C library or that binary the
# tests exit 77 (skip) and say what is missing: `make deps-cross` installs it.
source "$KAFU_SRC/tests/shell/lib/cluster.sh" || exit 1
XPROGS="$KAFU_SRC/tests/programs/xisa"

need_aarch64() {
  KAFU_A64=${KAFU_AARCH64:-${KAFU_BUILD:-}/aarch64/bin/kafu}
  QEMU=$(command -v qemu-aarch64 || true)
  [ -n "$QEMU" ] || skip "qemu-aarch64 not found (make deps-cross installs qemu-user)"
  [ -e /lib/ld-linux-aarch64.so.1 ] || skip "no arm64 C library (make deps-cross installs the arm64 libraries)"
  [ -x "$KAFU_A64" ] || skip "no aarch64 kafu at $KAFU_A64 (make deps-cross, then the xisa/build-aarch64 test or make build-aarch64)"
  "$QEMU" -L / "$KAFU_A64" --version >/dev/null 2>&1 || fail "$KAFU_A64 does not run under $QEMU"
}

# a64 ARGS... — the aarch64 kafu, emulated. -L /: the arm64 multiarch libc
# and its loader (docs/heterogeneous.md explains why not /usr/aarch64-linux-gnu).
a64() { "$QEMU" -L / "$KAFU_A64" "$@"; }

# serve_on ARCH NODE CONFIG [extra args] — like serve(), with this kafu
# (ARCH x86_64) or the aarch64 one under qemu (ARCH aarch64, its environment
# changed by $A64_ENV, e.g. "PATH=/nowhere KAFU_CACHE_DIR=..."). stdout is
# appended to ${OUT_OF[NODE]} (default $T/NODE.out, truncated first), stderr
# to ${ERR_OF[NODE]} (default $T/NODE.err, truncated).
declare -A OUT_OF=() ERR_OF=()
serve_on() {
  local arch=$1 node=$2 cfg=$3
  shift 3
  local out=${OUT_OF[$node]:-$T/$node.out} err=${ERR_OF[$node]:-$T/$node.err} cmd=("$KAFU")
  # shellcheck disable=SC2206  # A64_ENV is a list of NAME=VALUE words
  [ "$arch" = aarch64 ] && cmd=(env ${A64_ENV:-} "$QEMU" -L / "$KAFU_A64")
  [ -n "${OUT_OF[$node]:-}" ] || : >"$out"
  : >"$err"
  "${cmd[@]}" serve --node-id "$node" "$@" "$cfg" >>"$out" 2>>"$err" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
serve_a64() { serve_on aarch64 "$@"; }
serve_x86() { serve_on x86_64 "$@"; }

# ms_of EVENTS.jsonl — median sender-side time of its node's migrations
# (unwind + encode + transfer until the receiver acknowledged), ms
ms_of() {
  python3 - "$1" <<'PY'
import json, statistics, sys
ms = [e["unwind_ms"] + e["encode_ms"] + e["transfer_ms"] for e in map(json.loads, open(sys.argv[1]))
      if e.get("type") == "migration"]
print("%.2f" % statistics.median(ms) if ms else "-")
PY
}

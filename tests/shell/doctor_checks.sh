#!/usr/bin/env bash
# doctor_checks.sh — `kafu doctor` passes on this (fully provisioned) machine,
# and each probe override makes exactly its piece MISSING, with the Debian
# package named and a non-zero exit; an optional piece (node) missing keeps
# exit 0; usage errors exit 2.
source "$KAFU_SRC/tests/shell/lib/common.sh"
export KAFU_CACHE_DIR="$T/cache"

if "$KAFU" doctor > "$T/out" 2>&1; then
  grep -q "all required checks passed" "$T/out" && ! grep -q MISSING "$T/out" &&
    ok "doctor passes ($(grep -c '^  OK' "$T/out") checks OK)" || fail "doctor output: $(cat "$T/out")"
  for name in clang wasm-ld "wasi sysroot" "compiler-rt builtins" "libc++ (wasm32)" "libc++abi" libbinaryen \
              wasm2c "wasm-rt-impl.c" "C compiler for AOT" "cache directory" node kafu.h kafu_rt.c; do
    grep -qF "$name" "$T/out" || fail "doctor does not check $name"
  done
  [ -d "$T/cache" ] || fail "cache directory not created"
else
  fail "doctor fails on this machine: $(cat "$T/out")"
fi

# VAR=value  piece-name  package  -> MISSING line naming piece and package, exit 1
check_missing() {
  local assign=$1 piece=$2 pkg=$3
  env "$assign" "$KAFU" doctor > "$T/out" 2>&1; local rc=$?
  local line
  line=$(grep -F "MISSING  $piece" "$T/out")
  if [ "$rc" = 1 ] && [ -n "$line" ] && { [ -z "$pkg" ] || echo "$line" | grep -qF "[Debian package: $pkg]"; } &&
     [ "$(grep -c MISSING "$T/out")" -ge 1 ]; then
    ok "$assign -> $(echo "$line" | tr -s ' ' | cut -c1-110)"
  else
    fail "$assign: rc=$rc, expected MISSING $piece ($pkg): $(cat "$T/out")"
  fi
}
check_missing KAFU_CLANG=/nonexistent/clang clang clang
check_missing KAFU_WASM_LD=/nonexistent/wasm-ld wasm-ld lld
check_missing KAFU_WASI_SYSROOT=/nonexistent "wasi sysroot" wasi-libc
check_missing KAFU_WASI_SYSROOT=/nonexistent "libc++ (wasm32)" libc++-14-dev-wasm32
check_missing KAFU_CLANG_RT_BUILTINS=/nonexistent/rt.a "compiler-rt builtins (wasm32)" libclang-rt-14-dev-wasm32
check_missing KAFU_BINARYEN_LIB=/nonexistent/libbinaryen.so libbinaryen binaryen
check_missing KAFU_WASM2C=/nonexistent/wasm2c wasm2c wabt
check_missing KAFU_WASM_RT_IMPL=/nonexistent/wasm-rt-impl.c "wasm2c runtime" wabt
check_missing KAFU_CC=/nonexistent/cc "C compiler for AOT" gcc
check_missing KAFU_CACHE_DIR=/proc/kafu-cache "cache directory" ""
check_missing KAFU_SHARE_DIR=/nonexistent kafu_rt.c ""
touch "$T/file"
check_missing KAFU_CACHE_DIR="$T/file/sub" "cache directory" ""
# one missing piece: only it is MISSING, and the summary names the install command
KAFU_CLANG=/nonexistent/clang "$KAFU" doctor > "$T/out" 2>&1
[ "$(grep -c MISSING "$T/out")" = 1 ] && grep -q "apt-get install clang " "$T/out" &&
  ok "summary: $(tail -1 "$T/out" | cut -c1-100)" || fail "summary/extra MISSING: $(cat "$T/out")"

# optional piece missing: reported, but exit 0
if KAFU_NODE=/nonexistent/node "$KAFU" doctor > "$T/out" 2>&1; then
  grep -q "MISSING  node (optional)" "$T/out" && ok "missing node is reported but optional" ||
    fail "node not reported: $(cat "$T/out")"
else
  fail "missing optional node made doctor fail"
fi
KAFU_NODE=/nonexistent/node "$KAFU" doctor --quiet > "$T/out" 2>&1 && [ "$(wc -l < "$T/out")" = 1 ] &&
  ok "--quiet prints only what is missing" || fail "--quiet: $(cat "$T/out")"

KAFU_LLVM_AR=/nonexistent/llvm-ar "$KAFU" doctor > "$T/out" 2>&1 && grep -q "MISSING  llvm-ar.*\[Debian package: llvm\]" "$T/out" &&
  ok "missing llvm-ar is reported but optional" || fail "llvm-ar: $(cat "$T/out")"

# a config: its unsafe settings are WARN lines (issue 16: no token was silent)
"$KAFU" doctor --quiet "$KAFU_SRC/tests/data/config/original.yaml" > "$T/out" 2>&1 &&
  grep -q "WARN     config .*no cluster token" "$T/out" && ok "doctor CONFIG warns about a missing token" ||
  fail "doctor CONFIG: $(cat "$T/out")"
"$KAFU" doctor --quiet "$KAFU_SRC/tests/data/config/three.yaml" > "$T/out" 2>&1 && ! grep -q "WARN" "$T/out" ||
  fail "doctor CONFIG with a token: $(cat "$T/out")"

# usage
"$KAFU" doctor --help > "$T/out" && grep -q "Usage: kafu doctor" "$T/out" && ok "--help" || fail "--help"
"$KAFU" help doctor > "$T/out" && grep -q "Usage: kafu doctor" "$T/out" || fail "kafu help doctor"
"$KAFU" doctor --bogus > /dev/null 2> "$T/out"; rc=$?
[ "$rc" = 2 ] && grep -q "unknown option '--bogus'" "$T/out" && ok "unknown option -> exit 2" || fail "unknown option rc=$rc"

echo "doctor_checks: all passed"

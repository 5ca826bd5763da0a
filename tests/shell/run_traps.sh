#!/usr/bin/env bash
# run_traps.sh — a trapping program ends `kafu run` with exit code 134 and a
# message naming the trap kind and the wasm function (one case per kind).
source "$KAFU_SRC/tests/shell/lib/common.sh"
export KAFU_CACHE_DIR=$T/cache
clang --target=wasm32-wasi --sysroot=/usr -O2 -c "$KAFU_SRC/tests/programs/engine/traps.c" -o "$T/traps.o" &&
  clang --target=wasm32-wasi --sysroot=/usr "$T/traps.o" -o "$T/traps.wasm" || fail "clang traps.c"

check() { # kind expected-message-regex
  err=$("$KAFU" run "$T/traps.wasm" "$1" 2>&1 >/dev/null); rc=$?
  [ $rc = 134 ] || fail "$1: exit code $rc, expected 134 ($err)"
  echo "$err" | grep -Eq "kafu run: error: traps.wasm: wasm trap: $2" || fail "$1: message '$err'"
}
check unreachable "unreachable instruction executed in function 'main'"
check div0 "integer divide by zero in function 'divide'"
check overflow "integer overflow in function 'divide'"
check nan "invalid conversion to integer in function 'to_int'"
check oob "out of bounds memory access in function 'load_far'"
check stack "call stack exhausted in function 'recurse'"
check indirect-type "indirect call type mismatch in function 'call_wrong_type'"
check indirect-null "indirect call to undefined table element in function 'call_null_slot'"
# recursion that gcc -O2 would otherwise turn into an endless loop
wat2wasm "$KAFU_SRC/tests/programs/engine/recurse_forever.wat" -o "$T/rf.wasm" || fail "wat2wasm recurse_forever"
for a in "" plus1; do
  err=$(timeout 60 "$KAFU" run "$T/rf.wasm" $a 2>&1 >/dev/null); rc=$?
  [ $rc = 134 ] && echo "$err" | grep -q "call stack exhausted" || fail "endless recursion ($a): rc=$rc '$err'"
done
err=$("$KAFU" run "$T/traps.wasm" div0 2>&1 >/dev/null)
echo "$err" | grep -q "wasm backtrace: divide <- main" || fail "backtrace missing: $err"
out=$("$KAFU" run "$T/traps.wasm" ok); rc=$?
[ $rc = 0 ] && [ "$out" = "no trap: ok" ] || fail "ok case: rc=$rc out=$out"
echo "run_traps: ok"

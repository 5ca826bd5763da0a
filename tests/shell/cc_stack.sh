#!/usr/bin/env bash
# cc_stack.sh — the program's own C stack (issue 16: wasm-ld's 64 KiB, after
# the data, with no guard: an overflow silently overwrote data and gave wrong
# results). `kafu cc` links the stack first in memory, 1 MiB by default: an
# overflow runs below address 0 and traps, and the trap names the cause;
# --kafu-c-stack-size (or the user's own -Wl,-z,stack-size) sets the size.
source "$KAFU_SRC/tests/shell/lib/common.sh"
need wasm-objdump wabt
export KAFU_CACHE_DIR=$T/cache
SRC=$KAFU_SRC/tests/programs/cc/deep.c

"$KAFU" cc -O1 "$SRC" -o "$T/deep.wasm" 2>"$T/cc.log" || fail "kafu cc deep.c: $(cat "$T/cc.log")"
sp=$(wasm-objdump -x "$T/deep.wasm" | sed -n 's/.*<__stack_pointer> - init i32=\([0-9]*\).*/\1/p')
[ "$sp" = 1048576 ] || fail "the stack is not first in memory with 1 MiB (stack pointer starts at '$sp')"
out=$("$KAFU" run "$T/deep.wasm" 5000 2>"$T/err") || fail "5000 levels: $(cat "$T/err")"
[ "$out" = "sum 12502500" ] || fail "5000 levels: $out"
ok "stack first, 1 MiB: 5000 levels give the right sum"

"$KAFU" run "$T/deep.wasm" 120000 >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" = 134 ] || fail "120000 levels in 1 MiB: exit $rc, expected a trap (134): $(cat "$T/out" "$T/err")"
grep -q "wasm trap: C stack overflow in function 'sum'.*--kafu-c-stack-size=BYTES" "$T/err" ||
  fail "the trap does not name the stack overflow: $(cat "$T/err")"
! grep -q '^sum' "$T/out" || fail "a result was printed after a stack overflow"
ok "120000 levels in 1 MiB: exit 134, 'C stack overflow in function sum'"

"$KAFU" cc -O1 --kafu-c-stack-size=64M "$SRC" -o "$T/deep64.wasm" 2>"$T/cc.log" || fail "kafu cc --kafu-c-stack-size"
out=$("$KAFU" run "$T/deep64.wasm" 120000 2>"$T/err") || fail "120000 levels in 64 MiB: $(cat "$T/err")"
[ "$out" = "sum 7200060000" ] || fail "120000 levels in 64 MiB: $out"
"$KAFU" cc -O1 -Wl,-z,stack-size=65536 "$SRC" -o "$T/deep64k.wasm" 2>"$T/cc.log" || fail "kafu cc -Wl,-z,stack-size"
sp=$(wasm-objdump -x "$T/deep64k.wasm" | sed -n 's/.*<__stack_pointer> - init i32=\([0-9]*\).*/\1/p')
[ "$sp" = 65536 ] || fail "-Wl,-z,stack-size=65536 not honoured (stack pointer starts at '$sp')"
"$KAFU" cc --kafu-c-stack-size=12 "$SRC" -o "$T/x.wasm" 2>"$T/err" && fail "--kafu-c-stack-size=12 accepted"
grep -q "invalid --kafu-c-stack-size '12'" "$T/err" || fail "bad size message: $(cat "$T/err")"
ok "--kafu-c-stack-size=64M and -Wl,-z,stack-size set the size"

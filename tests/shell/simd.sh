#!/usr/bin/env bash
# simd.sh — Wasm SIMD is refused by name, never with "wasm2c rejected ...:
# (no output)": Kafu's engine (wasm2c of wabt 1.0.32) aborts on any SIMD
# instruction, so `kafu cc -msimd128` stops after linking and loading a SIMD
# module fails before wasm2c runs, both naming the first SIMD instruction and
# its function. The same test set without -msimd128 builds and runs, and
# prints what native code prints. (Measurements: bench/simd.sh.)
source "$KAFU_SRC/tests/shell/lib/common.sh"
SRC=$KAFU_SRC/tests/programs/cc/simd_set.c
cd "$T"

# kafu cc -msimd128: refused after the link, naming the instruction; no output file
err=$("$KAFU" cc -O2 -msimd128 "$SRC" -o simd.wasm 2>&1); rc=$?
[ $rc = 1 ] || fail "kafu cc -msimd128 exited $rc: $err"
grep -q "kafu cc: error: simd.wasm uses Wasm SIMD (first: instruction [a-z0-9_.]* in function '[a-z_]*' at offset 0x" <<<"$err" ||
  fail "message: $err"
grep -q "build without -msimd128" <<<"$err" || fail "no advice: $err"
[ -e simd.wasm ] && fail "a refused build must not write its output"
ok "kafu cc -msimd128 refused: $(sed 's/.*(first: \([^)]*\)).*/\1/' <<<"$err")"

# the scalar build of the same set runs, with native's result
"$KAFU" cc -O2 "$SRC" -o scalar.wasm || fail "kafu cc simd_set.c (scalar)"
gcc -O2 -w "$SRC" -o native || fail "gcc simd_set.c"
want=$(./native)
[ "$("$KAFU" run scalar.wasm)" = "$want" ] || fail "scalar build prints '$("$KAFU" run scalar.wasm)', native '$want'"
ok "without -msimd128: $want"

# a SIMD module from elsewhere (plain clang, or kafu cc -- ...) is refused at load, by name
"$KAFU" cc -- -O2 -msimd128 "$SRC" -o raw.wasm || fail "kafu cc -- -msimd128 (plain clang)"
err=$("$KAFU" run raw.wasm 2>&1); rc=$?
[ $rc = 1 ] || fail "kafu run of a SIMD module exited $rc: $err"
grep -Eq "raw.wasm uses Wasm SIMD \(first: instruction [a-z0-9_.]+ in function ('[a-z_]+'|#[0-9]+) at offset 0x" <<<"$err" ||
  fail "load message: $err"
grep -q "no output\|wasm2c rejected" <<<"$err" && fail "wasm2c's failure leaked: $err"
ok "kafu run of a SIMD module refused at load"

# v128 in a signature only, no SIMD instruction
cat >sig.wat <<'WAT'
(module
  (import "spectest" "print" (func))
  (func $f (param v128))
  (func (export "_start") (call 0)))
WAT
wat2wasm sig.wat -o sig.wasm || fail "wat2wasm"
err=$("$KAFU" run sig.wasm 2>&1); rc=$?
[ $rc = 1 ] && grep -q "sig.wasm uses Wasm SIMD (first: v128 in the signature of function " <<<"$err" ||
  fail "v128 signature: rc $rc, $err"
ok "v128 in a signature refused"

#!/usr/bin/env bash
# cc_c.sh — `kafu cc` on a C program: a valid module that runs (under node's
# WASI, with a no-op kafu.migration_point import), Kafu's custom sections kept,
# the KAFU_DEST function still a separate function called from main at -O2
# (clang's link-time wasm-opt would inline it), DWARF stripped unless -g,
# default output a.out, --kafu-stack-size reaches the guest support object.
source "$KAFU_SRC/tests/shell/lib/common.sh"
need node nodejs
need wasm-objdump wabt
need wasm-validate wabt
validate() { wasm-validate "$1"; }

cat > "$T/main.c" <<'EOF'
#include <stdio.h>
#include <kafu.h>

KAFU_DEST(f, "edge")
KAFU_EXPORT(f)
void f() { printf("Hello, from edge!\n"); }

int main() {
  printf("Hello, from cloud!\n");
  f();
  return 0;
}
EOF
cd "$T"

# 1. a runnable, valid module
if "$KAFU" cc -O2 main.c -o main.wasm 2> cc.err; then
  validate main.wasm && ok "-O2 build is a valid module" || fail "main.wasm does not validate"
  out=$(node_run main.wasm); rc=$?
  [ "$rc" = 0 ] && [ "$out" = $'Hello, from cloud!\nHello, from edge!' ] && ok "module runs" ||
    fail "run: rc=$rc output: $out"
else
  fail "kafu cc -O2 main.c: $(cat cc.err)"
fi

# 2. structure checks on the module as linked (Snapify may rename/restructure)
"$KAFU" cc -O2 --no-snapify main.c -o plain.wasm || fail "--no-snapify build"
grep -q "Snapify" cc.err 2>/dev/null && [ "$(grep -c . cc.err)" -gt 1 ] && fail "more than one line of warnings: $(cat cc.err)"
wasm-objdump -h plain.wasm | grep -q '"\.kafu_dest\.f\.edge"' && ok "custom section .kafu_dest.f.edge kept" ||
  fail "custom section .kafu_dest.f.edge missing"
# calls of <f> from functions other than wasm-ld's export thunk f.command_export
calls_of_f() {
  wasm-objdump -d "$1" | awk '/^[0-9a-f]+ func\[/ { fn = $0; sub(/.*</, "", fn); sub(/>.*/, "", fn) }
    / call [0-9]+ <f>$/ && fn != "f.command_export" { n++ } END { print n + 0 }'
}
n=$(calls_of_f plain.wasm)
[ "$n" -ge 1 ] && ok "KAFU_DEST function f is called from main at -O2 ($n call)" ||
  fail "f was inlined away at -O2 (no call of <f> outside its export thunk)"
wasm-objdump -d plain.wasm | grep -q 'func\[[0-9]*\] <f>:' || fail "function f not present"
# the detector is meaningful: plain clang -O2 with wasm-opt on PATH does inline f
if command -v wasm-opt >/dev/null; then
  clang --target=wasm32-wasi --sysroot=/usr -I"$KAFU_SRC/include" -O2 main.c -o pitfall.wasm 2>/dev/null &&
    [ "$(calls_of_f pitfall.wasm)" = 0 ] && ok "control: plain clang -O2 link inlines f (pitfall reproduced)" ||
    echo "note: control build with plain clang did not reproduce the inlining"
else
  skip_part "wasm-opt not installed (Debian package binaryen): the inlining control build was not run"
fi
wasm-objdump -x plain.wasm | grep -q '"__kafu_asyncify_buf"' && ok "__kafu_asyncify_buf exported" ||
  fail "__kafu_asyncify_buf not exported"

# 3. DWARF: stripped by default, kept with -g; custom section kept both ways
wasm-objdump -h plain.wasm | grep -q '\.debug_' && fail "DWARF present without -g" || ok "no DWARF without -g"
"$KAFU" cc -g -O1 --no-snapify main.c -o dbg.wasm || fail "-g build"
wasm-objdump -h dbg.wasm | grep -q '"\.debug_info"' && ok "DWARF kept with -g" || fail "-g lost .debug_info"
wasm-objdump -h dbg.wasm | grep -q '"\.kafu_dest\.f\.edge"' || fail "custom section lost with -g"
"$KAFU" cc -g -c main.c -o dbg.o && "$KAFU" cc --no-snapify dbg.o -o dbg2.wasm || fail "-g -c then link"
wasm-objdump -h dbg2.wasm | grep -q '\.debug_' && fail "link without -g kept DWARF of a -g object" ||
  ok "link without -g strips DWARF of -g objects"

# 4. default output name a.out
mkdir d && (cd d && "$KAFU" cc ../main.c) && is_wasm d/a.out && [ -x d/a.out ] && ok "default output a.out" ||
  fail "no executable wasm a.out without -o"

# 5. --kafu-stack-size: the Asyncify region lives in .bss, so it shows in the memory size
pages() { wasm-objdump -x "$1" | sed -n 's/.*memory\[0\] pages: initial=\([0-9]*\).*/\1/p'; }
"$KAFU" cc --no-snapify --kafu-stack-size=64K main.c -o small.wasm || fail "--kafu-stack-size=64K"
"$KAFU" cc --no-snapify --kafu-stack-size=4M main.c -o big.wasm || fail "--kafu-stack-size=4M"
ps=$(pages small.wasm) pd=$(pages plain.wasm) pb=$(pages big.wasm)
[ -n "$ps" ] && [ $((pd - ps)) -ge 15 ] && [ $((pb - pd)) -ge 48 ] &&
  ok "stack size reaches kafu_rt.c (pages: 64K=$ps 1M=$pd 4M=$pb)" || fail "memory pages 64K=$ps 1M=$pd 4M=$pb"

# 6. -O flags still reach compilation: -O0 and -O2 objects differ
"$KAFU" cc -O0 -c main.c -o o0.o && "$KAFU" cc -O2 -c main.c -o o2.o && ! cmp -s o0.o o2.o &&
  ok "-O reaches the compile step" || fail "-O0 and -O2 objects are identical"

echo "cc_c: all passed"

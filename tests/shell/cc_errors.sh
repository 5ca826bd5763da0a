#!/usr/bin/env bash
# cc_errors.sh — every bad input of `kafu cc`: missing source, syntax error
# (clang's message, clang's exit status), unknown flag (clang decides), link
# error (old output untouched), unwritable output path (clear error before any
# work), bad kafu options (exit 2), missing toolchain pieces (message pointing
# at `kafu doctor`), and no temporary files left behind.
source "$KAFU_SRC/tests/shell/lib/common.sh"
cd "$T"
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
cat > good.c <<'EOF'
int main(void) { return 0; }
EOF
cat > bad.c <<'EOF'
int main(void) {
  return 0
}
EOF
cat > undef.c <<'EOF'
int nowhere(void);
int main(void) { return nowhere(); }
EOF

# expect CODE PATTERN CMD...: exit status CODE (or "nz" for non-zero) and PATTERN in stderr
expect() {
  local code=$1 pat=$2; shift 2
  "$@" > out.txt 2> err.txt; local rc=$?
  if { [ "$code" = nz ] && [ "$rc" != 0 ]; } || [ "$rc" = "$code" ]; then
    if grep -qE -- "$pat" err.txt; then ok "$* -> $rc: $(grep -m1 -E -- "$pat" err.txt | cut -c1-100)"; return 0; fi
    fail "$*: stderr lacks /$pat/: $(cat err.txt)"
  else
    fail "$*: exit $rc, expected $code; stderr: $(cat err.txt)"
  fi
  return 1
}

# missing source (clang's message names it)
expect nz "no such file or directory: 'missing.c'" "$KAFU" cc missing.c -o m.wasm
expect nz "no such file or directory: 'missing.c'" "$KAFU" cc -c missing.c
[ -e m.wasm ] && fail "output written for a missing source"

# syntax error: clang's diagnostic untouched, clang's exit status
clang --target=wasm32-wasi --sysroot=/usr -c bad.c -o /dev/null 2> clang.err; crc=$?
expect "$crc" "^bad.c:2:11: error: expected ';' after return statement" "$KAFU" cc bad.c -o b.wasm
diff <(grep -v '^kafu' err.txt) clang.err > /dev/null && ok "diagnostics identical to clang's" ||
  fail "diagnostics differ from clang's: $(diff <(grep -v '^kafu' err.txt) clang.err)"
expect "$crc" "expected ';'" "$KAFU" cc -c bad.c -o b.o
[ -e b.wasm ] && fail "output written for a syntax error"

# unknown flags go to clang, which decides
expect nz "unknown argument: '-fbogus-flag-zzz'|unsupported option '-fbogus-flag-zzz'" "$KAFU" cc -fbogus-flag-zzz good.c -o g.wasm
"$KAFU" cc -Wno-unused-command-line-argument -fno-builtin good.c -o g.wasm 2> err.txt && ok "flags clang accepts pass" ||
  fail "accepted flags: $(cat err.txt)"

# link error: clang's status, the previous output is left alone
echo "old" > keep.wasm
expect nz "undefined symbol: nowhere" "$KAFU" cc undef.c -o keep.wasm
[ "$(cat keep.wasm)" = old ] && ok "failed link leaves the old output untouched" || fail "keep.wasm was overwritten"

# a static library made by GNU ar has no symbol index for wasm objects: the
# link error gets a hint naming the archive and llvm-ar (an indexed one links)
printf 'int nowhere(void) { return 0; }\n' > lib.c
"$KAFU" cc -c lib.c -o lib.o || fail "compiling lib.c"
if have ar; then
  mkdir -p libs && ar rcs libs/libnw.a lib.o
  expect nz "hint: libs/libnw.a has no symbol index: GNU ar .* llvm-ar" "$KAFU" cc undef.c -Llibs -lnw -o u.wasm
  expect nz "hint: libs/libnw.a has no symbol index" "$KAFU" cc undef.c libs/libnw.a -o u.wasm
else
  skip_part "GNU ar not installed (Debian package binutils): the unindexed-archive hint"
fi
LLVM_AR=$(command -v llvm-ar || command -v llvm-ar-14 || true)
if [ -n "$LLVM_AR" ]; then
  "$LLVM_AR" rcs libok.a lib.o
  "$KAFU" cc undef.c libok.a -o u.wasm 2> err.txt || fail "an llvm-ar archive must link: $(cat err.txt)"
  grep -q hint err.txt && fail "hint for an indexed archive: $(cat err.txt)"
  ok "an llvm-ar archive links, without a hint"
else
  skip_part "llvm-ar not installed (Debian package llvm)"
fi

# a module Snapify rejects (a reactor has no _start): clear message naming the
# output (not a temporary file), no output written, and --no-snapify builds it
cat > lib.c <<'EOF'
#include <kafu.h>
KAFU_DEST(g, "edge")
KAFU_EXPORT(g) int g(int x) { return x + 1; }
EOF
if "$KAFU" cc -mexec-model=reactor lib.c -o r.wasm 2> err.txt; then
  echo "note: Snapify accepted a reactor module"
else
  grep -q "^kafu cc: error: snapify r.wasm: .*(--no-snapify" err.txt && ! grep -q "kafu-cc-" err.txt && [ ! -e r.wasm ] &&
    ok "Snapify rejection: $(cut -c1-100 err.txt)" || fail "snapify failure report: $(cat err.txt)"
fi
"$KAFU" cc -mexec-model=reactor --no-snapify lib.c -o r.wasm && [ -s r.wasm ] && ok "--no-snapify reactor builds" ||
  fail "--no-snapify reactor"

# unwritable output paths: our message, exit 1, before clang runs (bad.c would
# produce clang's syntax error if it did)
expect 1 "cannot write output 'nodir/x.wasm': directory 'nodir' does not exist" "$KAFU" cc bad.c -o nodir/x.wasm
grep -q "expected ';'" err.txt && fail "clang ran before the output check"
mkdir adir
expect 1 "cannot write output 'adir': it is a directory" "$KAFU" cc bad.c -o adir
expect 1 "cannot write output '/proc/kafu-x.wasm'" "$KAFU" cc bad.c -o /proc/kafu-x.wasm
expect 1 "cannot write output 'good.c/x.o'" "$KAFU" cc -c bad.c -o good.c/x.o
grep -q "expected ';'" err.txt && fail "clang ran before the output check (-c)"
if [ "$(id -u)" != 0 ]; then
  mkdir ro && chmod 555 ro
  expect 1 "cannot create files in directory 'ro'" "$KAFU" cc good.c -o ro/x.wasm
fi

# bad kafu options: usage error, exit 2
expect 2 "invalid --kafu-stack-size 'lots'" "$KAFU" cc --kafu-stack-size=lots good.c
expect 2 "invalid --kafu-stack-size '12'" "$KAFU" cc --kafu-stack-size=12 good.c
expect 2 "unknown kafu option '--kafu-frob'" "$KAFU" cc --kafu-frob good.c

# missing toolchain pieces: a message naming the piece, its package and `kafu doctor`
expect 1 "clang missing: KAFU_CLANG=/nonexistent/clang.*kafu doctor" env KAFU_CLANG=/nonexistent/clang "$KAFU" cc good.c
expect 1 "wasi sysroot missing.*wasi-libc.*kafu doctor" env KAFU_WASI_SYSROOT=/nonexistent "$KAFU" cc good.c
expect 1 "wasi sysroot missing.*kafu doctor" env KAFU_WASI_SYSROOT=/nonexistent "$KAFU" cc -c good.c
expect 1 "compiler-rt builtins \(wasm32\) missing.*libclang-rt-14-dev-wasm32.*kafu doctor" \
  env KAFU_CLANG_RT_BUILTINS=/nonexistent/rt.a "$KAFU" cc good.c
expect 1 "wasm-ld missing.*lld.*kafu doctor" env KAFU_WASM_LD=/nonexistent/wasm-ld "$KAFU" cc good.c
expect 1 "kafu_rt.c missing.*kafu doctor" env KAFU_SHARE_DIR=/nonexistent "$KAFU" cc good.c
# libc++ missing for C++ only: a fake sysroot with wasi-libc but no libc++
mkdir -p fake/include fake/lib
mkdir -p fake/include/wasm32-wasi fake/lib/wasm32-wasi
cp /usr/include/wasm32-wasi/stdio.h fake/include/wasm32-wasi/
for f in crt1-command.o libc.a; do ln -s "/usr/lib/wasm32-wasi/$f" fake/lib/wasm32-wasi/$f; done
expect 1 "libc\+\+ \(wasm32\) missing.*libc\+\+-14-dev-wasm32.*kafu doctor" env KAFU_WASI_SYSROOT="$T/fake" "$KAFU" c++ good.c

# a feature Snapify cannot transform is an error, not a warning (and no output)
rm -f tail.wasm
expect 1 "tail calls.*-mtail-call" "$KAFU" cc -O2 -mtail-call "$KAFU_SRC/tests/programs/cc/tailcall.c" -o tail.wasm
[ ! -e tail.wasm ] && ok "no module left behind" || fail "tail.wasm was written"

# no input: clang's own message
expect nz "no input files" "$KAFU" cc

# --help is ours, on stdout
"$KAFU" cc --help > out.txt && grep -q -- "--kafu-stack-size" out.txt && ok "kafu cc --help" || fail "--help"
"$KAFU" help c++ > out.txt && grep -q "kafu c++" out.txt && ok "kafu help c++" || fail "kafu help c++"

# nothing left in TMPDIR by any of the above
left=$(ls -A "$TMPDIR")
[ -z "$left" ] && ok "no temporary files left" || fail "left in TMPDIR: $left"

echo "cc_errors: all passed"

#!/usr/bin/env bash
# cc_multi.sh — the usual compiler command lines through `kafu cc`: -c then
# link, several sources at once, .o and .a inputs with -L/-l, -D/-I/-std=/-W,
# -Wl,..., -x, -MD/-MF (build-system dependency files), -E, -S, @response
# files, --version passthrough, the kafu-cc entry point, -o - (stdout).
source "$KAFU_SRC/tests/shell/lib/common.sh"
need node nodejs
need wasm-objdump wabt
cd "$T"
mkdir -p inc lib
cat > inc/calc.h <<'EOF'
int add(int a, int b);
int mul(int a, int b);
double root(double x);
EOF
cat > add.c <<'EOF'
#include "calc.h"
int add(int a, int b) { return a + b; }
EOF
cat > mul.c <<'EOF'
#include "calc.h"
int mul(int a, int b) { return a * b; }
EOF
cat > root.c <<'EOF'
#include <math.h>
#include "calc.h"
double root(double x) { return sqrt(x); }
EOF
cat > main.c <<'EOF'
#include <stdio.h>
#include <kafu.h>
#include "calc.h"
#ifndef GREETING
#error GREETING not defined
#endif
KAFU_DEST(compute, "edge")
KAFU_EXPORT(compute)
int compute(int x) { return mul(add(x, 1), 2); }
int main(void) {
  printf("%s %d %.1f\n", GREETING, compute(20), root(81.0));
  return 0;
}
EOF
want="hi 42 9.0"
CF=(-O2 -std=c11 -Wall -Werror -Iinc '-DGREETING="hi"')

# -c then link
"$KAFU" cc "${CF[@]}" -c main.c -o main.o && "$KAFU" cc "${CF[@]}" -c add.c && "$KAFU" cc "${CF[@]}" -c mul.c &&
  "$KAFU" cc "${CF[@]}" -c root.c && is_wasm add.o ||
  fail "-c steps"
"$KAFU" cc -O2 main.o add.o mul.o root.o -lm -o app1.wasm && [ "$(node_run app1.wasm)" = "$want" ] &&
  ok "-c then link" || fail "link of objects"

# several sources in one command, mixed with an object
"$KAFU" cc "${CF[@]}" main.c add.c mul.c root.o -lm -o app2.wasm && [ "$(node_run app2.wasm)" = "$want" ] &&
  ok "several sources + .o in one command" || fail "several sources"
ls "$T"/*.o | grep -qv -e main.o -e add.o -e mul.o -e root.o && fail "temporary objects left in the working directory"

# static library (llvm-ar: GNU ar writes no symbol index for wasm objects)
AR=$(command -v llvm-ar || command -v llvm-ar-14 || true)
if [ -n "$AR" ]; then
  "$AR" rcs lib/libcalc.a add.o mul.o root.o &&
    "$KAFU" cc "${CF[@]}" main.c -Llib -lcalc -lm -o app3.wasm && [ "$(node_run app3.wasm)" = "$want" ] &&
    ok ".a via -L/-l ($AR)" || fail ".a via -L/-l"
  "$KAFU" cc "${CF[@]}" main.c lib/libcalc.a -lm -o app4.wasm && [ "$(node_run app4.wasm)" = "$want" ] &&
    ok ".a as an input file" || fail ".a as input"
else
  skip_part "llvm-ar not installed (Debian package llvm; GNU ar cannot index wasm objects): .a cases not run"
fi

# -Wl,... reaches the linker
"$KAFU" cc "${CF[@]}" main.c add.c mul.c root.c -Wl,--export=add -o app5.wasm &&
  wasm-objdump -x app5.wasm | grep -q -- '-> "add"' && ok "-Wl,--export=add" || fail "-Wl,--export=add not applied"

# -x: a source with an unusual extension
cp add.c add.txt
"$KAFU" cc "${CF[@]}" main.c -x c add.txt -x none mul.o root.o -o app6.wasm && [ "$(node_run app6.wasm)" = "$want" ] &&
  ok "-x c / -x none" || fail "-x"

# dependency files: -MD -MF with -c (CMake/Make style) and -MMD in a compile+link
"$KAFU" cc "${CF[@]}" -MD -MT main.o -MF main.o.d -c main.c -o main.o && grep -q 'inc/calc.h' main.o.d &&
  grep -q 'kafu.h' main.o.d && ok "-MD -MF -MT with -c" || fail "-MD -MF: $(cat main.o.d 2>&1 | head -3)"
mkdir -p out
"$KAFU" cc "${CF[@]}" -MMD main.c add.c mul.c root.c -o out/app7.wasm && [ -f out/app7.d ] &&
  head -1 out/app7.d | grep -q '^out/app7.wasm:' && ok "-MMD in a link: out/app7.d, target out/app7.wasm" ||
  fail "-MMD link deps: $(ls out; head -2 out/app7.d 2>&1)"

# -E, -S, -fsyntax-only: one clang call, no module
"$KAFU" cc "${CF[@]}" -E main.c -o main.i && grep -q '__attribute__((used, export_name("compute")' main.i &&
  ok "-E (kafu.h expanded)" || fail "-E"
"$KAFU" cc -O2 -S add.c -Iinc -o add.s && grep -q 'add:' add.s && ok "-S" || fail "-S"
"$KAFU" cc "${CF[@]}" -fsyntax-only main.c && ok "-fsyntax-only" || fail "-fsyntax-only"

# @response file (Ninja/CMake use them for long command lines)
cat > args.rsp <<'EOF'
-O2 -std=c11 -Wall -Werror -Iinc '-DGREETING="hi"'
main.c add.c mul.c root.c -o "app 8.wasm"
EOF
"$KAFU" cc @args.rsp && [ "$(node_run 'app 8.wasm')" = "$want" ] && ok "@response file" || fail "@response file"

# --version passes through to clang
v=$("$KAFU" cc --version) && echo "$v" | grep -q 'clang version' && echo "$v" | grep -q 'wasm32-unknown-wasi' &&
  ok "--version passthrough ($(echo "$v" | head -1))" || fail "--version: $v"

# the single-path entry point
CCBIN="$(dirname "$KAFU")/kafu-cc"
"$CCBIN" "${CF[@]}" main.c add.c mul.c root.c -o app9.wasm && [ "$(node_run app9.wasm)" = "$want" ] &&
  ok "kafu-cc entry point" || fail "kafu-cc"

# -o - writes the module to stdout
"$KAFU" cc "${CF[@]}" main.c add.c mul.c root.c -o - > app10.wasm && is_wasm app10.wasm && ok "-o -" || fail "-o -"

echo "cc_multi: all passed"

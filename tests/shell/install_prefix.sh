#!/usr/bin/env bash
# install_prefix.sh — `make install PREFIX=DIR` into a temporary prefix, then
# use the installed kafu from another directory: `kafu cc hello.c -o
# hello.wasm` yields a valid module that runs, built from the prefix's own
# kafu.h and kafu_rt.c (found relative to the executable, also after moving
# the prefix); kafu-cc / kafu-c++ entry points; `kafu doctor`; a CMake project
# (examples/cmake-app) with the installed toolchain file; DESTDIR staging; the
# original SDK layout (libexec/kafu_*, its guest headers) used by an
# original-style Makefile with KAFU_SDK_PATH=<prefix>.
source "$KAFU_SRC/tests/shell/lib/common.sh"
need node nodejs
need wasm-validate wabt
P="$T/prefix"

if ! make -s -C "$KAFU_SRC" install BUILD="$KAFU_BUILD" PREFIX="$P" JOBS=2 > "$T/install.log" 2>&1; then
  echo "FAIL: make install: $(tail -20 "$T/install.log")"; exit 1
fi
for f in bin/kafu bin/kafu-cc bin/kafu-c++ include/kafu.h share/kafu/guest/kafu_rt.c \
         share/kafu/cmake/kafu-toolchain.cmake share/kafu/cmake/Platform/WASI.cmake \
         include/spectest.h include/kafu_helper.h include/wasi_nn_types.h include/wasi_nn_backend.h; do
  [ -e "$P/$f" ] || fail "missing after install: $f"
done
for n in kafu_clang kafu_clang++ kafu_serve kafu_singlenode kafu_kustomize; do
  [ "$(readlink "$P/libexec/$n")" = ../bin/kafu ] || fail "libexec/$n is not a link to ../bin/kafu"
done
[ "$(readlink "$P/bin/kafu-cc")" = kafu ] && [ "$(readlink "$P/bin/kafu-c++")" = kafu ] &&
  ok "installed: bin/kafu (+kafu-cc, kafu-c++), include/kafu.h, share/kafu/{guest,cmake}" ||
  fail "kafu-cc/kafu-c++ are not symlinks to kafu"

# use it from another directory, with the source and build trees out of reach of PATH
mkdir -p "$T/work" && cd "$T/work"
cat > hello.c <<'EOF'
#include <stdio.h>
#include <kafu.h>
KAFU_DEST(greet, "edge")
KAFU_EXPORT(greet)
void greet(void) { printf("hello from the installed kafu\n"); }
int main(void) { greet(); return 0; }
EOF
if "$P/bin/kafu" cc --kafu-verbose hello.c -o hello.wasm 2> verbose.txt; then
  is_wasm hello.wasm && ok "installed kafu cc hello.c -o hello.wasm: \\0asm magic" || fail "hello.wasm is not wasm"
  wasm-validate hello.wasm && ok "wasm-validate hello.wasm" || fail "hello.wasm does not validate"
  [ "$(node_run hello.wasm)" = "hello from the installed kafu" ] && ok "hello.wasm runs" || fail "hello.wasm output"
  grep -q -- "-idirafter $P/include " verbose.txt && grep -q "$P/share/kafu/guest/kafu_rt.c" verbose.txt &&
    ok "kafu.h and kafu_rt.c come from the prefix" || fail "prefix files not used: $(cat verbose.txt)"
  grep -q "$KAFU_SRC" verbose.txt && fail "installed kafu used the source tree"
else
  fail "installed kafu cc: $(cat verbose.txt)"
fi

# the prefix is relocatable: files are found relative to the executable
mv "$P" "$T/moved"
"$T/moved/bin/kafu" cc --kafu-verbose hello.c -o moved.wasm 2> verbose.txt && is_wasm moved.wasm &&
  grep -q -- "-idirafter $T/moved/include " verbose.txt && ok "moved prefix still works" ||
  fail "moved prefix: $(cat verbose.txt)"
mv "$T/moved" "$P"

# single-path entry points from PATH
cat > hello.cpp <<'EOF'
#include <cstdio>
#include <string>
#include <vector>
int main() { std::vector<std::string> v{"a", "b"}; std::printf("%zu %s\n", v.size(), (v[0] + v[1]).c_str()); }
EOF
PATH="$P/bin:$PATH" kafu-cc -O2 hello.c -o h2.wasm && [ "$(node_run h2.wasm)" = "hello from the installed kafu" ] &&
  ok "kafu-cc from PATH" || fail "kafu-cc from PATH"
PATH="$P/bin:$PATH" kafu-c++ -std=c++17 -O2 hello.cpp -o h3.wasm && [ "$(node_run h3.wasm)" = "2 ab" ] &&
  ok "kafu-c++ from PATH" || fail "kafu-c++ from PATH"

# the original SDK layout: an original-style Makefile with KAFU_SDK_PATH=<prefix>
cp -r "$KAFU_SRC/tests/programs/sdk/basic" "$T/sdk-basic"
if (cd "$T/sdk-basic" && KAFU_SDK_PATH="$P" make > make.log 2>&1); then
  out=$(cd "$T/sdk-basic" && KAFU_SDK_PATH="$P" "$P/libexec/kafu_singlenode" serve kafu-config.yaml 2>/dev/null)
  [ "$out" = $'main starts on cloud1\nstep 1 on cloud1\nstep 8 on edge1\n-8: i64\n2: f64\n8: i32' ] &&
    ok "KAFU_SDK_PATH=<prefix> make (libexec/kafu_clang, spectest.h) + libexec/kafu_singlenode" ||
    fail "sdk basic output: $out"
  grep -q "^$P/libexec/kafu_clang main.c" "$T/sdk-basic/make.log" || fail "make did not call $P/libexec/kafu_clang"
else
  fail "KAFU_SDK_PATH=<prefix> make: $(cat "$T/sdk-basic/make.log")"
fi
[ "$(KAFU_SDK_PATH="$P" "$P/bin/kafu" list)" = $'clang\nclang++\nkustomize\nserve\nsinglenode' ] &&
  [ "$(env -u KAFU_SDK_PATH "$P/bin/kafu" list -l | head -1)" = "clang	$P/libexec/kafu_clang" ] &&
  ok "kafu list (KAFU_SDK_PATH or the prefix of kafu)" || fail "installed kafu list: $("$P/bin/kafu" list -l 2>&1)"

# doctor from the prefix
"$P/bin/kafu" doctor > doctor.txt 2>&1 && grep -q "kafu_rt.c *$P/share/kafu/guest/kafu_rt.c" doctor.txt &&
  ok "installed kafu doctor passes" || fail "installed doctor: $(cat doctor.txt)"

# CMake project with the installed toolchain file (compilers found relative to it)
cp -r "$KAFU_SRC/examples/cmake-app" "$T/cmake-app"
rm -rf "$T/cmake-app/build"
if cmake -S "$T/cmake-app" -B "$T/cmake-app/build" \
     -DCMAKE_TOOLCHAIN_FILE="$P/share/kafu/cmake/kafu-toolchain.cmake" > "$T/cmake.log" 2>&1 &&
   cmake --build "$T/cmake-app/build" >> "$T/cmake.log" 2>&1; then
  out=$(node_run "$T/cmake-app/build/app.wasm" 100)
  [ "$out" = $'edge: summed 100 squares\ncloud: sum of squares 1..100 = 338350' ] &&
    ok "examples/cmake-app with the installed toolchain file" || fail "cmake-app output: $out"
  grep -q "CMAKE_C_COMPILER:FILEPATH=$P/bin/kafu-cc" "$T/cmake-app/build/CMakeCache.txt" ||
    grep -q "$P/bin/kafu-cc" "$T/cmake-app/build/CMakeFiles/"*/CMakeCCompiler.cmake || fail "not built with $P/bin/kafu-cc"
else
  fail "cmake-app: $(tail -30 "$T/cmake.log")"
fi

# DESTDIR staging (packagers): everything, symlinks included, lands under DESTDIR
if DESTDIR="$T/stage" cmake --install "$KAFU_BUILD" --prefix /opt/kafu > "$T/stage.log" 2>&1; then
  [ -x "$T/stage/opt/kafu/bin/kafu" ] && [ -L "$T/stage/opt/kafu/bin/kafu-cc" ] &&
    [ -L "$T/stage/opt/kafu/libexec/kafu_clang" ] && [ -f "$T/stage/opt/kafu/include/spectest.h" ] &&
    ok "DESTDIR install" || fail "DESTDIR install layout: $(find "$T/stage" | head)"
else
  fail "DESTDIR install: $(cat "$T/stage.log")"
fi

echo "install_prefix: all passed"

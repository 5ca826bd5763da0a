#!/usr/bin/env bash
# cc_buildsys.sh — the driver as a build system's compiler: a Makefile project
# with CC=kafu-cc (implicit rules, a static library via AR=llvm-ar, -MMD
# dependency files, incremental rebuild), examples/basic's Makefile, and a
# CMake project (C + C++, a static library) configured with
# cmake/kafu-toolchain.cmake from the build tree (KAFU_BIN_DIR).
source "$KAFU_SRC/tests/shell/lib/common.sh"
need node nodejs
need wasm-objdump wabt
BIN=$(cd "$(dirname "$KAFU")" && pwd)
AR=$(command -v llvm-ar || command -v llvm-ar-14 || true)

# ---- 1. a Makefile project, CC=kafu-cc from PATH -----------------------------
P="$T/make"
mkdir -p "$P"
cat > "$P/util.h" <<'EOF'
int triple(int x);
EOF
cat > "$P/util.c" <<'EOF'
#include "util.h"
int triple(int x) { return 3 * x; }
EOF
cat > "$P/main.c" <<'EOF'
#include <stdio.h>
#include <kafu.h>
#include "util.h"
KAFU_DEST(work, "edge")
KAFU_EXPORT(work)
int work(int x) { return triple(x) + 1; }
int main(void) { printf("work=%d\n", work(TEN)); return 0; }
EOF
cat > "$P/Makefile" <<'EOF'
CC = kafu-cc
CFLAGS = -O2 -Wall -MMD -DTEN=10
app.wasm: main.o libutil.a
	$(CC) $(CFLAGS) $(LDFLAGS) main.o -L. -lutil -o $@
libutil.a: util.o
	$(AR) rcs $@ $^
clean:
	rm -f *.o *.d *.a app.wasm
-include *.d
EOF
if [ -z "$AR" ]; then
  skip_part "llvm-ar not installed (Debian package llvm): the Makefile project links util.o instead of libutil.a"
  sed -i 's/main.o libutil.a/main.o util.o/; s/main.o -L. -lutil/main.o util.o/' "$P/Makefile"
fi
if PATH="$BIN:$PATH" make -s -C "$P" AR="${AR:-ar}" > "$T/make.log" 2>&1; then
  [ "$(node_run "$P/app.wasm")" = "work=31" ] && ok "Makefile project with CC=kafu-cc" || fail "make app: $(node_run "$P/app.wasm")"
  grep -q util.h "$P/main.d" && ok "Make dependency files (-MMD)" || fail "main.d lacks util.h"
  touch "$P/util.h"; sleep 0.01
  PATH="$BIN:$PATH" make -C "$P" AR="${AR:-ar}" 2>&1 | grep -q 'kafu-cc .*-c -o main.o main.c' &&
    ok "header change rebuilds main.o" || fail "no rebuild after touching util.h"
else
  fail "make project: $(cat "$T/make.log")"
fi

# ---- 2. examples/basic's Makefile ---------------------------------------------
mkdir -p "$T/basic"
cp "$KAFU_SRC"/examples/basic/{main.c,Makefile,kafu-config.yaml} "$T/basic/"
if make -s -C "$T/basic" KAFU="$KAFU" > "$T/basic.log" 2>&1; then
  [ "$(node_run "$T/basic/main.wasm")" = $'Hello, from cloud!\nHello, from edge!' ] &&
    ok "examples/basic builds with its Makefile and runs" || fail "basic output: $(node_run "$T/basic/main.wasm")"
  wasm-objdump -h "$T/basic/main.wasm" | grep -q '"\.kafu_dest\.f\.edge"' || fail "basic: .kafu_dest.f.edge missing"
else
  fail "examples/basic make: $(cat "$T/basic.log")"
fi

# ---- 3. a CMake project with the toolchain file (build tree) -----------------
C="$T/cmake"
mkdir -p "$C"
cat > "$C/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(kafu_cmake_test C CXX)
add_library(shapes STATIC shapes.cpp)
target_compile_features(shapes PUBLIC cxx_std_17)
add_executable(app main.c)
target_link_libraries(app PRIVATE shapes)
set_target_properties(app PROPERTIES LINKER_LANGUAGE CXX)
if(NOT WASI)
  message(FATAL_ERROR "WASI not set by the platform file")
endif()
EOF
cat > "$C/shapes.cpp" <<'EOF'
#include <string>
#include <vector>
extern "C" int total_len(void) {
  std::vector<std::string> v{"circle", "square", "triangle"};
  int n = 0;
  for (const auto &s : v) n += (int)s.size();
  return n;
}
EOF
cat > "$C/main.c" <<'EOF'
#include <stdio.h>
#include <kafu.h>
int total_len(void);
KAFU_DEST(measure, "edge")
KAFU_EXPORT(measure)
int measure(void) { return total_len(); }
int main(void) { printf("len=%d\n", measure()); return 0; }
EOF
if cmake -S "$C" -B "$C/build" -DCMAKE_TOOLCHAIN_FILE="$KAFU_SRC/cmake/kafu-toolchain.cmake" \
     -DKAFU_BIN_DIR="$BIN" -DCMAKE_BUILD_TYPE=Release > "$T/cmake.log" 2>&1 &&
   cmake --build "$C/build" -j2 >> "$T/cmake.log" 2>&1; then
  [ "$(node_run "$C/build/app.wasm")" = "len=20" ] && ok "CMake project (C + C++ static lib) -> app.wasm" ||
    fail "cmake app output: $(node_run "$C/build/app.wasm")"
  grep -q "CMAKE_C_COMPILER:.*kafu-cc\|kafu-cc" "$C/build/CMakeCache.txt" || fail "CMake did not use kafu-cc"
  grep -qi "System is unknown to cmake" "$T/cmake.log" && fail "CMake warns about the WASI platform"
  [ -f "$C/build/libshapes.a" ] && ok "static library archived ($(grep '^CMAKE_AR:' "$C/build/CMakeCache.txt" | cut -d= -f2))"
else
  fail "cmake project: $(tail -30 "$T/cmake.log")"
fi

echo "cc_buildsys: all passed"

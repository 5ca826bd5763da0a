#!/usr/bin/env bash
# Cross-build kafu for aarch64-linux-gnu into DIR (default build-aarch64):
# a node build (KAFU_WITH_BINARYEN=OFF, no tests). Incremental when DIR exists.
# Exits 77 (ctest's skip status) when the cross toolchain or the arm64
# libraries are missing: install them with `make deps-cross`.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build-aarch64}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
  echo "build-aarch64: SKIP: aarch64-linux-gnu-gcc not found (make deps-cross installs it)" >&2
  exit 77
fi
for pc in yaml-0.1 libmicrohttpd libcurl liblz4 libzstd libxxhash libcrypto libpng libjpeg; do
  if [ ! -e "/usr/lib/aarch64-linux-gnu/pkgconfig/$pc.pc" ]; then
    echo "build-aarch64: SKIP: the arm64 build of $pc is missing (make deps-cross installs it)" >&2
    exit 77
  fi
done
if [ ! -e /usr/lib/aarch64-linux-gnu/libopencv_dnn.so ]; then
  echo "build-aarch64: SKIP: the arm64 build of OpenCV's DNN module is missing (make deps-cross installs it)" >&2
  exit 77
fi
t0=$(date +%s%N)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/aarch64-linux-gnu.cmake" \
    -DKAFU_BUILD_TESTS=OFF >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log" >&2; exit 1; }
  rm -f "$dir.configure.log"
fi
cmake --build "$dir" -j "$jobs" --target kafu
ms=$((($(date +%s%N) - t0) / 1000000))
echo "build-aarch64: $dir/bin/kafu up to date ($((ms / 1000)).$((ms % 1000 / 100)) s)"

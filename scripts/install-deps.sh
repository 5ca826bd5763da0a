#!/usr/bin/env bash
# Install every Debian package Kafu's build, tests and guest toolchain need.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config make
  # guest toolchain: clang -> wasm32-wasi
  clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32
  llvm  # llvm-ar: GNU ar cannot index wasm objects (static libraries for kafu cc)
  # Snapify + AOT engine
  binaryen wabt
  # libraries
  libyaml-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev liblz4-dev libzstd-dev libxxhash-dev libssl-dev
  # wasi-nn: OpenCV's DNN module (not imgcodecs: it drags in GDAL); image decoding
  libopencv-dnn-dev libjpeg62-turbo-dev libpng-dev
  # tests
  libcmocka-dev nodejs curl python3
  openssl  # cluster.tls tests: certificates made by the test
  # wasi-nn tests: ONNX backend node tests; the example model's generator
  # (examples/image-classification/make-model.py) and its JPEG fixtures
  libonnx-testdata python3-onnx python3-numpy libjpeg-turbo-progs
  # benchmarks: plots
  gnuplot-nox
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: error: apt-get not found; install these Debian packages by hand: ${missing[*]}" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: error: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# wait for another apt/dpkg run (e.g. a parallel build) instead of failing
APT_OPTS=(-o DPkg::Lock::Timeout=900)
$SUDO apt-get "${APT_OPTS[@]}" update -qq
$SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"

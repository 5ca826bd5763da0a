#!/usr/bin/env bash
# Install what building Kafu for aarch64 and running it under emulation needs
# (docs/heterogeneous.md): Debian's aarch64-linux-gnu cross toolchain, qemu-user
# and the arm64 multiarch -dev libraries a node links. Idempotent: when
# everything is present it only runs dpkg-query and exits.
#
# Not installed for arm64: binaryen (not Multi-Arch: co-installing it would
# remove the host's). The aarch64 build is a node build without the Snapify
# pass and `kafu cc` (KAFU_WITH_SNAPIFY=OFF): modules are compiled on an x86-64
# machine and only run on aarch64. wabt's wasm-rt.h is a header and comes from
# the host's wabt package (scripts/install-deps.sh).
set -euo pipefail

ARCH=arm64
PKGS=(
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  libyaml-dev:$ARCH libmicrohttpd-dev:$ARCH libcurl4-openssl-dev:$ARCH liblz4-dev:$ARCH
  libzstd-dev:$ARCH libxxhash-dev:$ARCH libssl-dev:$ARCH
  libopencv-dnn-dev:$ARCH libjpeg62-turbo-dev:$ARCH libpng-dev:$ARCH # wasi-nn (src/nn)
  libcmocka-dev:$ARCH # unit tests of the aarch64 build under qemu
)

if ! command -v dpkg >/dev/null 2>&1; then
  echo "install-deps-cross: error: not a Debian system (no dpkg); install an aarch64-linux-gnu cross" \
    "toolchain, qemu-user and arm64 builds of: libyaml libmicrohttpd libcurl lz4 zstd xxhash openssl" \
    "opencv-dnn libjpeg libpng" >&2
  exit 1
fi

missing=()
have_arch=0
if dpkg --print-foreign-architectures | grep -qx "$ARCH" || [ "$(dpkg --print-architecture)" = "$ARCH" ]; then
  have_arch=1
  for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
else
  missing=("${PKGS[@]}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps-cross: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps-cross: error: not root and no sudo; run as root: dpkg --add-architecture $ARCH &&" \
      "apt-get update && apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
if [ $have_arch -eq 0 ]; then
  echo "install-deps-cross: enabling the $ARCH architecture (dpkg --add-architecture $ARCH)"
  $SUDO dpkg --add-architecture "$ARCH"
fi
echo "install-deps-cross: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=900)
$SUDO apt-get "${APT_OPTS[@]}" update -qq
$SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps-cross: done"

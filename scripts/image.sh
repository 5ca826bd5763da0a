#!/usr/bin/env bash
# Build both container images from the Dockerfile without any image registry
# (`make image`, docs/kubernetes.md):
#
#   1. a Debian bookworm base image made locally: debootstrap --variant=minbase
#      from the Debian mirror, then `docker import` (tag $BASE, default
#      kafu-base:bookworm; skipped when it exists);
#   2. kafu-server:latest (full: compiler, wasm2c, binaryen) and
#      kafu-server-slim:latest (node only, no compiler) from it;
#   3. their sizes, printed and written to $OUT (default build/images.txt).
#
# Needs a running Docker daemon and, for step 1, root and debootstrap (the
# Debian packages docker.io and debootstrap; as root this script installs
# them when missing). Exits 77 (skip) with the reason when no daemon can be
# reached, so it can run where Docker is optional.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
BASE=${BASE:-kafu-base:bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
FULL=${FULL:-kafu-server:latest}
SLIM=${SLIM:-kafu-server-slim:latest}
OUT=${OUT:-$src/build/images.txt}

say() { echo "image: $*"; }
need_pkg() { # COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $2"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "$2" >/dev/null
  fi
  command -v "$1" >/dev/null 2>&1 || { say "SKIP: $1 not found (Debian package $2)"; exit 77; }
}

need_pkg docker docker.io
if ! docker info >/dev/null 2>&1; then
  say "SKIP: no Docker daemon answers ($(docker info 2>&1 | grep -m1 -i 'cannot\|error' || echo 'docker info failed'));" \
    "start one as root (dockerd &, or systemctl start docker) and run make image again"
  exit 77
fi

mkdir -p "$src/build"
t0=$(date +%s)
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { say "error: making the base image $BASE needs root (debootstrap)"; exit 1; }
  need_pkg debootstrap debootstrap
  root=$(mktemp -d "${TMPDIR:-/tmp}/kafu-base.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  say "debootstrap bookworm from $MIRROR (minbase) ..."
  debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 ||
    { tail -20 "$root.log"; say "error: debootstrap failed (log above)"; exit 1; }
  rm -f "$root.log"
  # what a Dockerfile's apt-get needs; nothing the images do not use
  echo "deb $MIRROR bookworm main" >"$root/etc/apt/sources.list"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*
  say "docker import -> $BASE"
  tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$root"
  trap - EXIT
fi

# the build uses the host's network: no bridge/NAT needed for apt inside it
say "docker build $FULL and $SLIM (base $BASE) ..."
docker build --network host --build-arg BASE="$BASE" -t "$FULL" "$src" >"$src/build/image-full.log" 2>&1 ||
  { tail -30 "$src/build/image-full.log"; say "error: building $FULL failed"; exit 1; }
docker build --network host --build-arg BASE="$BASE" --target slim -t "$SLIM" "$src" \
  >"$src/build/image-slim.log" 2>&1 ||
  { tail -30 "$src/build/image-slim.log"; say "error: building $SLIM failed"; exit 1; }
mkdir -p "$(dirname "$OUT")"
{
  for img in "$BASE" "$FULL" "$SLIM"; do
    printf '%-28s %6d MB\n' "$img" "$(($(docker image inspect -f '{{.Size}}' "$img") / 1000000))"
  done
} | tee "$OUT"
say "done in $(($(date +%s) - t0)) s; sizes in $OUT"

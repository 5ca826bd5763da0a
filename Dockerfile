# Kafu server images: `kafu serve` and what a node needs at run time.
#
#   docker build -t kafu-server:latest .                     # full node (default)
#   docker build --target slim -t kafu-server-slim:latest .  # node without a compiler
#   make image                                               # both, from a local base image
#
# Stages: `build` compiles kafu from this source tree with CMake, twice: the
# full kafu, and a node-only kafu without libbinaryen (KAFU_WITH_BINARYEN=OFF).
#
#   full (the last stage, the default): the shared libraries kafu links,
#     OpenCV's DNN module (wasi-nn), binaryen (libbinaryen.so, for kafu cc /
#     kafu snapify), and the wasm2c AOT toolchain — wabt (wasm2c, wasm-rt.h)
#     plus gcc and libc6-dev — so a node can compile a module it has not
#     seen. To skip that compile at start-up, bake a precompiled cache into an
#     app image: `RUN kafu aot /app/app.wasm` (see docs/kubernetes.md); the
#     cache lives in $KAFU_CACHE_DIR=/var/cache/kafu.
#   slim: only the node-only kafu and the libraries it links: no compiler, no
#     wasm2c, no binaryen, no OpenCV (wasi-nn is unavailable there). It runs
#     precompiled code: bake it into an app image (`kafu aot --target
#     aarch64-linux-gnu --target x86_64-linux-gnu --cache-dir /app` writes
#     /app/aot/...; `kafu kustomize build --slim` sets app.aot_dir: /app), or
#     let it fetch the code from a full peer (GET /aot, docs/heterogeneous.md).
#
# BASE is the Debian bookworm image everything starts from. No registry is
# needed: `make image` makes one locally with debootstrap (scripts/image.sh).
# Everything comes from Debian bookworm packages; nothing else is downloaded.
# `kafu kustomize build` uses kafu-server:latest (kafu-server-slim:latest with
# --slim) unless told --image.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      binaryen wabt \
      libyaml-dev libmicrohttpd-dev libcurl4-openssl-dev liblz4-dev libzstd-dev libxxhash-dev libssl-dev \
      libopencv-dnn-dev libjpeg62-turbo-dev libpng-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DKAFU_BUILD_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build --prefix /usr/local \
 && kafu --version
RUN cmake -S . -B /build-node -DCMAKE_BUILD_TYPE=Release -DKAFU_BUILD_TESTS=OFF -DKAFU_WITH_BINARYEN=OFF \
 && cmake --build /build-node -j"$(nproc)" --target kafu \
 && install -D -s /build-node/bin/kafu /opt/kafu-node/bin/kafu

# What both node images share: the libraries kafu links, the directories and
# the unprivileged user.
# /app: modules (app.path in the generated ConfigMap is /app/<file name>) and
#       precompiled code (/app/aot/<sha256>/<arch>-*.so; app.aot_dir: /app)
# /var/lib/kafu/data: app.preopened_dir in Kubernetes (an emptyDir volume)
# /etc/kafu: the ConfigMap with kafu-config.yaml is mounted here
# User and group 65532 (kafu), not root: the uid `kafu kustomize build` puts in
# the Pod's securityContext (runAsNonRoot, runAsUser/runAsGroup/fsGroup).
FROM ${BASE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libyaml-0-2 libmicrohttpd12 libcurl4 liblz4-1 libzstd1 libxxhash0 libssl3 ca-certificates \
      libjpeg62-turbo libpng16-16 \
 && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /usr/share/doc/* /usr/share/man/* \
 && groupadd --system --gid 65532 kafu \
 && useradd --system --uid 65532 --gid 65532 --home-dir /var/lib/kafu --shell /usr/sbin/nologin kafu \
 && mkdir -p /app/aot /var/cache/kafu /var/lib/kafu/data /etc/kafu \
 && chown kafu:kafu /var/cache/kafu /var/lib/kafu /var/lib/kafu/data
ENV KAFU_CACHE_DIR=/var/cache/kafu \
    KAFU_LOG=info
WORKDIR /var/lib/kafu
ENTRYPOINT ["kafu"]
CMD ["--help"]

# `kafu doctor --node` fails the build if a node could not run here (e.g. no
# writable cache, guard-page faults not delivered).
FROM runtime AS slim
COPY --from=build /opt/kafu-node/bin/kafu /usr/local/bin/kafu
RUN KAFU_CACHE_DIR=/tmp/kafu-doctor kafu doctor --node && rm -rf /tmp/kafu-doctor
USER 65532:65532

FROM runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends binaryen wabt gcc libc6-dev libopencv-dnn406 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/ /usr/local/
RUN kafu --version
USER 65532:65532

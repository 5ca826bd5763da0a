# Kafu server image: `kafu serve` and everything a node needs at run time.
#
#   docker build -t kafu-server:latest .
#
# Two stages: `build` compiles kafu from this source tree with CMake; the final
# stage holds only the runtime: the shared libraries kafu links, binaryen
# (libbinaryen.so), and the wasm2c AOT toolchain — wabt (wasm2c, wasm-rt.h,
# wasm-rt-impl.c) plus gcc and libc6-dev — so a node can compile a module it
# has not seen. To skip that compile at start-up, bake a precompiled cache into
# an app image: `RUN kafu aot /app/app.wasm` (see docs/kubernetes.md); the cache
# lives in $KAFU_CACHE_DIR=/var/cache/kafu.
#
# Everything comes from Debian bookworm packages; nothing else is downloaded.
# `kafu kustomize build` uses kafu-server:latest unless told --image.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      binaryen wabt \
      libyaml-dev libmicrohttpd-dev libcurl4-openssl-dev liblz4-dev libzstd-dev libxxhash-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DKAFU_BUILD_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build --prefix /usr/local \
 && kafu --version

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libyaml-0-2 libmicrohttpd12 libcurl4 liblz4-1 libzstd1 libxxhash0 libssl3 ca-certificates \
      binaryen wabt gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/ /usr/local/
# /app: modules (app.path in the generated ConfigMap is /app/<file name>)
# /var/lib/kafu/data: app.preopened_dir in Kubernetes (an emptyDir volume)
# /etc/kafu: the ConfigMap with kafu-config.yaml is mounted here
RUN useradd --system --uid 10001 --home-dir /var/lib/kafu --shell /usr/sbin/nologin kafu \
 && mkdir -p /app /var/cache/kafu /var/lib/kafu/data /etc/kafu \
 && chown kafu:kafu /var/cache/kafu /var/lib/kafu /var/lib/kafu/data \
 && kafu --version
ENV KAFU_CACHE_DIR=/var/cache/kafu \
    KAFU_LOG=info
USER 10001
WORKDIR /var/lib/kafu
ENTRYPOINT ["kafu"]
CMD ["--help"]

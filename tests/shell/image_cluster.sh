#!/usr/bin/env bash
# Two containers on a user-defined Docker network: node a runs the full image
# (kafu-server:latest, with a C compiler), node b the slim one
# (kafu-server-slim:latest, no compiler, no wasm2c). b gets its native code
# from a (GET /aot, authenticated with the cluster token), then the program
# migrates a -> b -> a as on one machine. Skipped (77) unless a Docker daemon
# answers and both images exist: `make image` builds them (scripts/image.sh).
source "$KAFU_SRC/tests/shell/lib/cluster.sh" || exit 1
need docker docker.io
docker info >/dev/null 2>&1 || skip "no Docker daemon answers (start dockerd; make image builds the images)"
for img in kafu-server:latest kafu-server-slim:latest; do
  docker image inspect "$img" >/dev/null 2>&1 || skip "image $img not built (make image)"
done

# both images run as the non-root uid/gid the generated Pods require
# (runAsNonRoot, runAsUser 65532: src/kube/kube.c)
for img in kafu-server:latest kafu-server-slim:latest; do
  u=$(docker image inspect --format '{{.Config.User}}' "$img")
  [ "$u" = 65532:65532 ] || fail "$img runs as user '$u', want 65532:65532 (kafu kustomize build's runAsUser/runAsGroup)"
  u=$(docker run --rm --entrypoint id "$img" -u) || fail "docker run $img id"
  [ "$u" = 65532 ] || fail "$img: id -u says $u"
done

build pingpong
id=kafu-test-$$-$RANDOM
net=$id-net
mkdir -p "$T/app" "$T/etc"
cp "$T/pingpong.wasm" "$T/app/pp.wasm"
cat >"$T/etc/kafu-config.yaml" <<EOF
name: image-test
app:
  path: /app/pp.wasm
  args: ["3"]
  preopened_dir: /var/lib/kafu/data
nodes:
  a:
    address: $id-a
    port: 50051
  b:
    address: $id-b
    port: 50052
cluster:
  token: image-test-token
  startup_timeout_ms: 60000
EOF
chmod 755 "$T" "$T/app" "$T/etc"
chmod 644 "$T/app/pp.wasm" "$T/etc/kafu-config.yaml"
cleanup_docker() {
  docker rm -f "$id-a" "$id-b" >/dev/null 2>&1
  docker network rm "$net" >/dev/null 2>&1
}
fail_context() {
  for c in a b; do
    echo "---- container $c"
    docker logs "$id-$c" 2>&1 | tail -25
  done
}
trap 'rc=$?; cleanup_docker; (exit $rc); common_exit' EXIT
docker network create "$net" >/dev/null || fail "docker network create"
run_node() { # NODE IMAGE
  docker run -d --name "$id-$1" --network "$net" --network-alias "$id-$1" \
    -v "$T/app:/app:ro" -v "$T/etc:/etc/kafu:ro" "$2" serve --node-id "$1" /etc/kafu/kafu-config.yaml >/dev/null ||
    fail "docker run $1 ($2)"
}
run_node b kafu-server-slim:latest
run_node a kafu-server:latest
rc=$(timeout 180 docker wait "$id-a") || fail "node a did not finish within 180 s"
[ "$rc" = 0 ] || fail "node a exited $rc"
rcb=$(timeout 30 docker wait "$id-b") || fail "node b did not finish"
[ "$rcb" = 0 ] || fail "node b exited $rcb"
out=$( (docker logs "$id-a" 2>/dev/null; docker logs "$id-b" 2>/dev/null) | grep -E '^(ping|pong|sum) ' | sort)
want=$(printf 'ping 0\nping 1\nping 2\npong 0\npong 1\npong 2\nsum 6\n' | sort)
[ "$out" = "$want" ] || fail "program output: $out"
docker logs "$id-b" 2>&1 | grep -q "got compiled code x86_64-.* from node a" || fail "b did not fetch its code from a"
docker run --rm --entrypoint sh kafu-server-slim:latest -c 'command -v cc gcc wasm2c' >/dev/null 2>&1 &&
  fail "the slim image has a compiler or wasm2c"
ok "full + slim containers on network $net: b fetched its code from a, the program ran across both"

#!/usr/bin/env bash
# kustomize_build.sh — `kafu kustomize build` end to end: golden manifests on
# stdout, usage errors, bad node ids / instance ids / unreadable configs, the
# app.path warning, and the -o DIR kustomize base (rendered by `kubectl
# kustomize` when kubectl is installed). Object-level checks live in
# tests/unit/test_kube.c.
source "$KAFU_SRC/tests/shell/lib/common.sh"
DATA=$KAFU_SRC/tests/data/config GOLD=$KAFU_SRC/tests/golden/kustomize

# ---- goldens (same cases as test_kube.c) ----
golden() { # golden-file config args...
  local g=$1 cfg=$2; shift 2
  run "$KAFU" kustomize build "$DATA/$cfg" "$@"
  expect_rc 0 "golden $g"
  diff -u "$GOLD/$g" "$T/out" >"$T/diff" || fail "golden $g differs: $(head -40 "$T/diff")"
}
# configs without a token get a random one; the goldens hold this one (test_kube.c)
printf 'golden-token-0123456789abcdef\n' >"$T/golden-token"
GT=(--token-file "$T/golden-token")
golden one-node.yaml minimal.yaml "${GT[@]}"
golden one-node-instance.yaml minimal.yaml --instance-id blue "${GT[@]}"
golden two-node-original.yaml original.yaml "${GT[@]}"
golden three-node.yaml three.yaml
golden three-node-instance-image.yaml three.yaml --instance-id demo --image registry.example.com/kafu-pipeline:1.0 --namespace kafu
golden three-node-instance-image.yaml three.yaml --namespace=kafu --image=registry.example.com/kafu-pipeline:1.0 --instance-id=demo
golden two-node-url.yaml url.yaml --image kafu-server:0.1.0 "${GT[@]}"
golden two-node-listen.yaml listen.yaml "${GT[@]}"
golden two-node-resources.yaml resources.yaml "${GT[@]}"
golden two-node-tls.yaml tls.yaml "${GT[@]}"
expect_err "mount the Secret kafu-tls (keys tls.crt, tls.key, ca.crt; not generated); its certificate must name every node's Service: kafu-server-edge kafu-server-cloud" "cluster.tls note"
run "$KAFU" kustomize build "$DATA/tls.yaml" --tls-secret my-certs --instance-id blue "${GT[@]}"; expect_rc 0 "--tls-secret"
grep -q 'secretName: my-certs' "$T/out" || fail "--tls-secret: $(grep -n secretName "$T/out")"
expect_err "Secret my-certs (keys" "--tls-secret note"
expect_err "blue-kafu-server-edge blue-kafu-server-cloud" "--tls-secret note names the instance's Services"
golden two-node-slim.yaml original.yaml --slim "${GT[@]}"

# ---- the token (issue 16: it was in the ConfigMap, and without one there was none) ----
run "$KAFU" kustomize build "$DATA/minimal.yaml"; expect_rc 0 "random token"
tok1=$(sed -n -E 's/^  token: "?([0-9a-f]{64})"?$/\1/p' "$T/out")
[ ${#tok1} = 64 ] || fail "no random 64-hex token in the Secret: $(grep -n token "$T/out")"
run "$KAFU" kustomize build "$DATA/minimal.yaml"
tok2=$(sed -n -E 's/^  token: "?([0-9a-f]{64})"?$/\1/p' "$T/out")
[ "$tok1" != "$tok2" ] || fail "the same token twice"
python3 - "$T/out" <<'PY' || fail "token placement"
import sys
docs = open(sys.argv[1]).read().split("\n---\n")
cm = [d for d in docs if "kind: ConfigMap" in d][0]
assert "token_file: /etc/kafu/token/token" in cm and "token:" not in cm, cm
assert any("kind: Secret" in d for d in docs)
PY
run "$KAFU" kustomize build "$DATA/three.yaml"
grep -q 's3cret' "$T/out" && ! sed -n '/kind: ConfigMap/,/^---/p' "$T/out" | grep -q s3cret ||
  fail "the config's token must go to the Secret, not the ConfigMap"
run "$KAFU" kustomize build "$DATA/minimal.yaml" --token-secret my-token; expect_rc 0 "--token-secret"
! grep -q 'kind: Secret' "$T/out" && grep -q 'secretName: my-token' "$T/out" || fail "--token-secret: $(cat "$T/out")"
run "$KAFU" kustomize build "$DATA/minimal.yaml" --token-secret x --token-file "$T/golden-token"; expect_rc 2 "both token options"

# ---- warnings ----
run "$KAFU" kustomize build "$DATA/original.yaml"
expect_err "the Pods read the module from /app/main.wasm" "app.path warning"
expect_err "must be inside the image kafu-server:latest" "app.path warning names the image"
run "$KAFU" kustomize build "$DATA/url.yaml"
[ "$err" = "kafu kustomize: warning: the module's KAFU_DEST destinations were not checked against the nodes (app.url https://example.com/modules/app.wasm is not on this machine); name a local copy with --module FILE" ] ||
  fail "app.url config: only the unchecked-module note is expected: $err"
run "$KAFU" kustomize build -q "$DATA/url.yaml"
[ -z "$err" ] || fail "kustomize -q: $err"
run "$KAFU" kustomize build "$DATA/original.yaml" --slim
expect_err "must be inside the image kafu-server-slim:latest" "--slim names the slim image"
expect_err "precompiled code in /app/aot (app.aot_dir)" "--slim says where the code goes"

# ---- usage ----
run "$KAFU" kustomize --help; expect_rc 0 "--help"
grep -q "kafu-server:latest" "$T/out" || fail "--help should name the default image"
run "$KAFU" kustomize; expect_rc 2 "no subcommand"
run "$KAFU" kustomize bild "$DATA/minimal.yaml"; expect_rc 2 "unknown subcommand"
run "$KAFU" kustomize build --bogus "$DATA/minimal.yaml"; expect_rc 2 "unknown option"
expect_err "unknown option '--bogus'" "unknown option"
run "$KAFU" kustomize build "$DATA/minimal.yaml" --image; expect_rc 2 "missing value"
expect_err "option '--image' needs a value" "missing value"
run "$KAFU" kustomize build "$DATA/minimal.yaml" "$DATA/three.yaml"; expect_rc 2 "two configs"

# ---- bad input ----
cat >"$T/upper.yaml" <<'YAML'
name: demo
app:
  url: https://example.com/a.wasm
nodes:
  cloud:
    address: h
    port: 50051
  Edge_1:
    address: h
    port: 50052
YAML
run "$KAFU" kustomize build "$T/upper.yaml"; expect_rc 1 "uppercase node id"
expect_err "kafu kustomize: error: $T/upper.yaml:8:3: nodes.Edge_1: node id \"Edge_1\" is not a valid Kubernetes name: it contains uppercase letters and '_'" "uppercase node id"
[ -s "$T/out" ] && fail "nothing may be printed on error"
# ... while the same config is fine for everything else
run "$KAFU" config check -q "$T/upper.yaml"; expect_rc 0 "config check accepts Edge_1"

sed 's/port: 50052/port: 70000/; s/Edge_1/edge/' "$T/upper.yaml" >"$T/port.yaml"
run "$KAFU" kustomize build "$T/port.yaml"; expect_rc 1 "port out of range"
expect_err "$T/port.yaml:10:5: nodes.edge.port: must be an integer 1..65535, got 70000" "port out of range"

for id in Blue blue_1 -blue "a.b" ""; do
  run "$KAFU" kustomize build "$DATA/minimal.yaml" --instance-id "$id"; expect_rc 1 "instance id '$id'"
  expect_err "--instance-id \"$id\" is not a valid name prefix" "instance id '$id'"
done
run "$KAFU" kustomize build "$DATA/minimal.yaml" --namespace Bad_NS; expect_rc 1 "namespace"
expect_err "is not a valid namespace" "namespace"

run "$KAFU" kustomize build "$T/nope.yaml"; expect_rc 1 "missing config"
expect_err "kafu kustomize: error: cannot read config: $T/nope.yaml: No such file or directory" "missing config"
run "$KAFU" kustomize build "$T"; expect_rc 1 "directory as config"
expect_err "is a directory" "directory as config"
printf 'name: x\napp: [\n' >"$T/broken.yaml"
run "$KAFU" kustomize build "$T/broken.yaml"; expect_rc 1 "broken YAML"
expect_err "$T/broken.yaml:3:1: YAML syntax error" "broken YAML"

# default file name in the current directory
(cd "$DATA" && "$KAFU" kustomize build >/dev/null 2>&1) && fail "no ./kafu-config.yaml in tests/data/config: should fail"
cp "$DATA/url.yaml" "$T/kafu-config.yaml"
(cd "$T" && "$KAFU" kustomize build --image kafu-server:0.1.0 --token-file "$T/golden-token" >"$T/def.yaml" 2>/dev/null) || fail "default config file"
cmp -s "$T/def.yaml" "$GOLD/two-node-url.yaml" || fail "default config file output differs from golden"

# ---- -o DIR ----
run "$KAFU" kustomize build "$DATA/three.yaml" --instance-id demo -o "$T/base"; expect_rc 0 "-o DIR"
for f in kustomization.yaml configmap.yaml kafu-server-edge.yaml kafu-server-cloud.yaml kafu-server-storage.yaml; do
  [ -s "$T/base/$f" ] || fail "-o DIR: missing $f"
done
[ -s "$T/out" ] && fail "-o DIR should print nothing on stdout"
if command -v kubectl >/dev/null 2>&1; then
  if timeout 120 kubectl kustomize "$T/base" >"$T/k.yaml" 2>"$T/kerr"; then
    [ "$(grep -c '^kind: ' "$T/k.yaml")" -eq 8 ] || fail "kubectl kustomize: want 8 objects"
    for n in demo-kafu-server-edge demo-kafu-server-cloud demo-kafu-server-storage kafu-config-demo; do
      grep -q "name: $n\$" "$T/k.yaml" || fail "kubectl kustomize output lacks $n"
    done
    echo "kubectl kustomize: rendered $(grep -c '^kind: ' "$T/k.yaml") objects"
  else
    fail "kubectl kustomize failed: $(cat "$T/kerr")"
  fi
else
  skip_part "kubectl not installed (Debian package kubernetes-client): the -o DIR base was not rendered"
fi

# ---- the images run as the user the Pods ask for ----
# (runAsNonRoot with runAsUser/runAsGroup: every USER line of the Dockerfile,
# full and slim stage, must be that uid:gid, or the Pods run as another user
# than the one owning the image's directories)
uid=$(sed -n 's/^ *runAsUser: //p' "$T/def.yaml" | sort -u)
gid=$(sed -n 's/^ *runAsGroup: //p' "$T/def.yaml" | sort -u)
[ -n "$uid" ] && [ "$uid" != 0 ] && [ -n "$gid" ] || fail "generated manifests: runAsUser '$uid' runAsGroup '$gid'"
users=$(sed -n 's/^USER //p' "$KAFU_SRC/Dockerfile" | sort -u)
[ "$(grep -c '^USER ' "$KAFU_SRC/Dockerfile")" -ge 2 ] || fail "Dockerfile: want a USER line in the slim and the full stage"
[ "$users" = "$uid:$gid" ] || fail "Dockerfile USER '$users' differs from the manifests' runAsUser:runAsGroup $uid:$gid"
grep -q -- "--uid $uid --gid $gid" "$KAFU_SRC/Dockerfile" || fail "Dockerfile does not create user $uid:$gid"

echo "kustomize_build: all checks passed"

#!/usr/bin/env bash
# nn_migrate.sh — wasi-nn state follows the program. A graph loaded and an
# input set on node edge, computed on node cloud (twice) and back home, with
# outputs bit-identical to a native OpenCV run of the same model on the same
# tensor: under `kafu run`, `singlenode --verify` and a real two-node cluster.
# The model's bytes travel to cloud once. Named models resolve per node; a
# node lacking one is named in the error. Bad guest calls are error codes.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
FIX=$KAFU_SRC/examples/image-classification/fixture
APP=$T/app
mkdir -p "$APP/models" "$APP/images"
cp "$FIX/models/shapes-cnn.onnx" "$APP/models/a.onnx"
cp "$FIX/images/cross.jpg" "$FIX/images/square.jpg" "$APP/images/"
# a second model: the same network with every logit doubled (another digest)
/usr/bin/python3 - "$APP/models/a.onnx" "$APP/models/b.onnx" <<'PY' || fail "making the second model"
import sys, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
for t in m.graph.initializer:
    if t.name in ("wf", "bf"):
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * 2, t.name))
onnx.save(m, sys.argv[2])
PY
"$KAFU" cc -O2 "$KAFU_SRC/tests/programs/nn/migrate.c" -o "$APP/migrate.wasm" >"$T/cc.log" 2>&1 || fail "kafu cc migrate.c"
cd "$APP"
native_a=$("$KAFU_BUILD/tests/nn_infer" models/a.onnx images/cross.jpg | sed -n "s/^native: //p")
native_b=$("$KAFU_BUILD/tests/nn_infer" models/b.onnx images/cross.jpg | sed -n "s/^native: //p")
[ -n "$native_a" ] && [ "$native_a" != "$native_b" ] || fail "native reference runs"

expect_all() { # file expected-payload what
  for w in "cloud#1" "cloud#2" home; do
    grep -qxF "$w: $2" "$1" || fail "$3: $w differs from the native run: $(grep "^$w" "$1") vs $2"
  done
}

# 1. one process, no migration
"$KAFU" run --dir . migrate.wasm models/a.onnx images/cross.jpg >"$T/run.out" 2>"$T/run.err" || fail "kafu run"
expect_all "$T/run.out" "$native_a" "kafu run"
grep -qx "stale context: 1" "$T/run.out" || fail "a stale handle must give invalid_argument (1)"
grep -q "unknown execution context handle 100" "$T/run.err" || fail "no log line for the stale handle"
ok "kafu run: outputs equal the native OpenCV run; stale handle -> invalid_argument + log"

# 2. singlenode --verify: a real checkpoint/restore into a fresh instance per hop
read -r PE PC <<<"$(free_ports 2)"
cat >"$APP/kafu-config.yaml" <<YAML
name: nn-migrate
app:
  path: ./migrate.wasm
  args: [models/a.onnx, images/cross.jpg]
  preopened_dir: .
nodes:
  edge: {address: 127.0.0.1, port: $PE}
  cloud: {address: 127.0.0.1, port: $PC}
YAML
timeout 120 "$KAFU" singlenode serve --verify kafu-config.yaml >"$T/verify.out" 2>"$T/verify.err" ||
  fail "singlenode --verify"
expect_all "$T/verify.out" "$native_a" "singlenode --verify"
ok "singlenode --verify: graph, context and input survive 4 checkpoint/restores"

# 3. a real two-node cluster: the model goes to cloud once, outputs equal native
timeout 120 "$KAFU" launch kafu-config.yaml >"$T/launch.out" 2>"$T/launch.err" || fail "kafu launch"
sed -i 's/^\[[a-z]*\] //' "$T/launch.out"
expect_all "$T/launch.out" "$native_a" "launch"
n=$(grep -c "wasi-nn model .* goes to cloud" "$T/launch.err")
[ "$n" = 1 ] || fail "the model should travel to cloud once over two migrations, log says $n times"
grep -q "wasi-nn model .* goes to edge" "$T/launch.err" && fail "edge loaded the model itself: nothing to send back"
ok "launch: computed on cloud with handles from edge, equal to native; model bytes sent once"

# 4. named models: one name, a different model on each node
cat >"$APP/named.yaml" <<YAML
name: nn-named
app:
  path: ./migrate.wasm
  args: ["name:shapes", images/cross.jpg]
  preopened_dir: .
nodes:
  edge: {address: 127.0.0.1, port: $PE, models: {shapes: models/a.onnx}}
  cloud: {address: 127.0.0.1, port: $PC, models: {shapes: models/b.onnx}}
YAML
timeout 120 "$KAFU" launch named.yaml >"$T/named.out" 2>"$T/named.err" || fail "launch with named models"
sed -i 's/^\[[a-z]*\] //' "$T/named.out"
grep -qxF "cloud#1: $native_b" "$T/named.out" || fail "cloud must compute with its own 'shapes' (b.onnx)"
grep -qxF "home: $native_a" "$T/named.out" || fail "edge must compute with its own 'shapes' (a.onnx)"
grep -q "goes to" "$T/named.err" && fail "named models must not be sent"
timeout 120 "$KAFU" singlenode serve --verify named.yaml >"$T/named-v.out" 2>&1 || fail "singlenode --verify, named"
grep -qxF "cloud#2: $native_b" "$T/named-v.out" && grep -qxF "home: $native_a" "$T/named-v.out" ||
  fail "singlenode --verify must resolve names per node"
ok "named models: the same name is each node's own model (launch and --verify)"

# 5. a node lacking the named model: a clear error naming model and node
sed -e 's/, models: {shapes: models\/b.onnx}//' named.yaml >missing.yaml
timeout 120 "$KAFU" launch missing.yaml >"$T/missing.out" 2>"$T/missing.err" && fail "launch must fail"
grep -q "model 'shapes' is not on node 'cloud'" "$T/missing.err" ||
  fail "no error naming model and node: $(grep -i error "$T/missing.err" | head -3)"
ok "a node without the named model: error names model 'shapes' and node 'cloud'"

# 6. kafu run --nn-preload
"$KAFU" run --dir . --nn-preload shapes:models/b.onnx migrate.wasm name:shapes images/cross.jpg >"$T/pre.out" 2>&1 ||
  fail "kafu run --nn-preload"
expect_all "$T/pre.out" "$native_b" "--nn-preload"
"$KAFU" run --dir . --nn-preload shapes migrate.wasm x y >/dev/null 2>&1
[ $? = 2 ] || fail "--nn-preload without a path must be a usage error"
"$KAFU" run --dir . migrate.wasm name:nope images/cross.jpg >"$T/nope.out" 2>&1 && fail "an unknown name must fail"
grep -q "model 'nope' is not on this node" "$T/nope.out" || fail "unknown name: $(cat "$T/nope.out")"
ok "kafu run --nn-preload NAME:PATH; unknown names are not_found with a message"

#!/usr/bin/env bash
# nn_bad_input.sh — hostile input to wasi-nn and kafu_helper through a real
# guest: pointers outside memory, unknown handles, wrong tensor types/shapes,
# huge dimensions, non-models, other encodings/targets, paths outside the
# sandbox (tests/programs/nn/bad_calls.wat checks 43 error codes); truncated
# and oversized models by name; a malformed wasi-nn state in a snapshot. Each
# is an error code and a log line; the node never crashes.
source "$KAFU_SRC/tests/shell/lib/common.sh"
P=$KAFU_SRC/tests/programs/nn
RELU=$KAFU_SRC/tests/fuzz/corpus/fuzz_nn_model/relu.onnx
MODEL=$KAFU_SRC/examples/image-classification/fixture/models/shapes-cnn.onnx
mkdir -p "$T/empty"
wat2wasm "$P/bad_calls.wat" -o "$T/bad.wasm" || fail "wat2wasm"

"$KAFU" run --dir "$T/empty::/" --nn-preload "m:$RELU" "$T/bad.wasm" 2>"$T/bad.err"
rc=$?
[ $rc = 0 ] || fail "check $rc of bad_calls.wat got another result (see the .wat): $(tail -3 "$T/bad.err")"
for msg in "the graph builder array is outside guest memory" "graph encoding 'tensorflow' is not supported" \
  "execution target 'gpu' is not supported" "unknown graph handle 7" "input 'x' has shape [2,3], got [3,2]" \
  "input 'x' is float (wasi-nn fp32), got a i32 tensor" "rank 99 is over the limit" \
  "'../../../etc/passwd': outside the program's preopened directories" "model 'nope' is not on this node"; do
  grep -qF "$msg" "$T/bad.err" || fail "no log line '$msg'"
done
ok "43 hostile wasi-nn / kafu_helper calls give error codes and log lines"

# a truncated model and one over the configured limit, loaded by name
head -c 5000 "$MODEL" >"$T/trunc.onnx"
cat >"$T/byname.wat" <<'WAT'
(module
  (import "wasi_ephemeral_nn" "load_by_name" (func $l (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "m")
  (func (export "_start") (call $exit (call $l (i32.const 16) (i32.const 1) (i32.const 32)))))
WAT
wat2wasm "$T/byname.wat" -o "$T/byname.wasm" || fail "wat2wasm byname"
"$KAFU" run --nn-preload "m:$T/trunc.onnx" "$T/byname.wasm" 2>"$T/trunc.err"
[ $? = 2 ] || fail "a truncated model must be invalid_encoding (2)"
grep -q "invalid_encoding: model 'm' ($T/trunc.onnx): not an ONNX model" "$T/trunc.err" || fail "truncated: $(cat "$T/trunc.err")"
"$KAFU" run --nn-max-model-bytes 100000 --nn-preload "m:$MODEL" "$T/byname.wasm" 2>"$T/big.err"
[ $? = 7 ] || fail "a model over --nn-max-model-bytes must be too_large (7)"
grep -q "too_large: model 'm' .* over the limit of 100000" "$T/big.err" || fail "limit: $(cat "$T/big.err")"
"$KAFU" run --nn-max-model-bytes 0 "$T/byname.wasm" >/dev/null 2>&1
[ $? = 2 ] || fail "--nn-max-model-bytes 0 must be a usage error"
ok "truncated model -> invalid_encoding, model over the limit -> too_large"

# the limit from kafu-config.yaml (cluster.wasi_nn.max_model_bytes), on a node
cat >"$T/byname.c" <<'C'
#include <string.h>
#include "kafu.h"
#include "wasi_nn_backend.h"
KAFU_DEST(f, "b")
KAFU_EXPORT(f)
int f(void) {
  graph g;
  return wasi_nn_load_by_name("m", 1, &g);
}
int main(void) { return f(); }
C
"$KAFU" cc -O2 "$T/byname.c" -o "$T/byname-c.wasm" >"$T/cc.log" 2>&1 || fail "kafu cc byname.c: $(cat "$T/cc.log")"
cat >"$T/lim.yaml" <<YAML
name: lim
app: {path: ./byname-c.wasm}
nodes:
  a: {address: 127.0.0.1, port: 1}
  b: {address: 127.0.0.1, port: 2, models: {m: $MODEL}}
cluster: {wasi_nn: {max_model_bytes: 1000}}
YAML
"$KAFU" config check "$T/lim.yaml" 2>/dev/null | grep -q "max_model_bytes: 1000" || fail "the config must keep cluster.wasi_nn"
(cd "$T" && timeout 60 "$KAFU" singlenode serve --verify lim.yaml >"$T/lim.out" 2>"$T/lim.err")
[ $? = 7 ] || fail "node b must refuse the model over cluster.wasi_nn.max_model_bytes: $(tail -3 "$T/lim.err")"
grep -q "node 'b': too_large: model 'm'" "$T/lim.err" || fail "the log must name node b and model m: $(cat "$T/lim.err")"
printf 'name: x\napp: {path: a.wasm}\nnodes:\n  a: {address: 1.2.3.4, port: 1}\ncluster: {wasi_nn: {max_model_bytes: -1}}\n' >"$T/neg.yaml"
"$KAFU" config check "$T/neg.yaml" >/dev/null 2>"$T/neg.err" && fail "a negative limit must be refused"
grep -q "cluster.wasi_nn.max_model_bytes" "$T/neg.err" || fail "the error must name the key: $(cat "$T/neg.err")"
ok "cluster.wasi_nn limits from the config, applied on the node"

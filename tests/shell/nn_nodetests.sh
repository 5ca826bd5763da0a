#!/usr/bin/env bash
# nn_nodetests.sh — the ONNX backend node tests of Debian's libonnx-testdata
# through kafu_nn (OpenCV DNN): natively, and through wasi-nn from a guest
# program under `kafu run` once the wasi_ephemeral_nn host module exists. Both
# runs must pass the same tests; the count is a floor that catches regressions
# of the shim (OpenCV 4.6 itself cannot run the rest: scripts/nn-nodetests.sh).
source "$KAFU_SRC/tests/shell/lib/common.sh"
DATA=/usr/share/libonnx-testdata/data/node
[ -d "$DATA" ] || skip "libonnx-testdata is not installed (Debian package libonnx-testdata)"
NATIVE=$KAFU_BUILD/tests/nn_nodetests

"$NATIVE" -v "$DATA" > "$T/native.txt" || fail "native runner exited $?"
tail -n 1 "$T/native.txt"
pass=$(sed -n 's/^nodetests: \([0-9]*\) of \([0-9]*\) pass.*/\1/p' "$T/native.txt")
total=$(sed -n 's/^nodetests: \([0-9]*\) of \([0-9]*\) pass.*/\2/p' "$T/native.txt")
[ -n "$pass" ] || fail "no summary line from the native runner"
[ "$total" -gt 900 ] || fail "only $total node tests found in $DATA"
[ "$pass" -ge 300 ] || fail "only $pass of $total node tests pass natively (306 with OpenCV 4.6)"
for t in test_relu test_conv_with_strides_padding test_maxpool_2d_pads test_softmax_example test_matmul_4d \
         test_argmax_default_axis_example test_add_uint8; do
  grep -qx "ok   $t" "$T/native.txt" || fail "$t must pass: $(grep " $t " "$T/native.txt")"
done
echo "ok: $pass of $total node tests pass natively"

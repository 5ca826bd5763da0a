#!/usr/bin/env bash
# nn_nodetests.sh — the ONNX backend node tests of Debian's libonnx-testdata
# through kafu_nn (OpenCV DNN): natively, and through wasi-nn from a guest
# program under `kafu run` once the wasi_ephemeral_nn host module exists. Both
# runs must pass exactly the same tests (graphs that use outputs OpenCV does not
# compute, such as Dropout's mask, are refused at load, so nothing depends on
# uninitialised memory); the count is a floor that catches regressions of the
# shim (OpenCV 4.6 itself cannot run the rest: scripts/nn-nodetests.sh lists why).
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
[ "$pass" -ge 300 ] || fail "only $pass of $total node tests pass natively (309 with OpenCV 4.6)"
for t in test_relu test_conv_with_strides_padding test_maxpool_2d_pads test_softmax_example test_matmul_4d \
         test_argmax_default_axis_example test_add_uint8; do
  grep -qx "ok   $t" "$T/native.txt" || fail "$t must pass: $(grep " $t " "$T/native.txt")"
done
ok "$pass of $total node tests pass natively"

# the same runner as a guest program, through wasi_ephemeral_nn under kafu run
"$KAFU" cc -O2 -DNODETEST_WASI_NN -I"$KAFU_SRC/src/nn" "$KAFU_SRC/tests/programs/nn/nodetests.c" \
  "$KAFU_SRC/src/nn/onnx_pb.c" -o "$T/nodetests.wasm" -lm >"$T/cc.log" 2>&1 || { cat "$T/cc.log"; fail "kafu cc nodetests.c"; }
"$KAFU" run --dir "$DATA" "$T/nodetests.wasm" -v "$DATA" >"$T/guest.txt" 2>"$T/guest.err" ||
  fail "the guest runner exited $?: $(tail -3 "$T/guest.err")"
tail -n 1 "$T/guest.txt"
gpass=$(sed -n 's/^nodetests: \([0-9]*\) of .*/\1/p' "$T/guest.txt")
[ -n "$gpass" ] || fail "no summary line from the guest runner"
diff <(grep '^ok' "$T/native.txt") <(grep '^ok' "$T/guest.txt") >"$T/diff.txt" ||
  fail "native and wasi-nn runs pass different tests: $(head -5 "$T/diff.txt")"
grep -q "wasi-nn load on this node: invalid_encoding: .*Trilu" "$T/guest.err" ||
  fail "an operator OpenCV lacks must be logged with its name"
ok "$gpass of $total node tests pass through wasi-nn from a guest (same set as native)"

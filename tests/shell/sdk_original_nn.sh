#!/usr/bin/env bash
# sdk_original_nn.sh — the original Kafu repository's image-classification
# example, copied out of a local mirror unchanged (Makefile, main.c,
# kafu-config.yaml, its image and labels), with this repository's
# ImageNet-shaped model put at its model path: built with
# `KAFU_SDK_PATH=<build> make` and run with `kafu singlenode serve`, `--verify`
# and `kafu launch` (two real nodes; only the ports in a copy of the config
# are changed). The label it prints must be the native OpenCV run's arg max on
# the same image (build/tests/nn_infer). Nothing of the original is stored in
# this repository: without the mirror the test is skipped (exit 77).
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
REPO=${KAFU_ORIGINAL_REPO:-/work/.mirror/tamaroning+kafu/repo}
if ! git -C "$REPO" cat-file -e HEAD:examples/image-classification/main.c 2>/dev/null; then
  skip "no mirror of the original Kafu repository at $REPO (set KAFU_ORIGINAL_REPO)"
fi
export KAFU_SDK_PATH=$KAFU_BUILD
D=$T/image-classification
for f in $(git -C "$REPO" ls-tree -r --name-only HEAD examples/image-classification); do
  case "$f" in */fixture/models/*) continue ;; esac # the original's model: ours goes there instead
  mkdir -p "$T/$(dirname "${f#examples/}")"
  git -C "$REPO" show "HEAD:$f" >"$T/${f#examples/}" || fail "git show $f"
done
mkdir -p "$D/fixture/models"
cp "$KAFU_SRC/examples/image-classification/fixture/models/shapes-cnn.onnx" "$D/fixture/models/squeezenet1.1-7.onnx"
(cd "$D" && make >"$T/make.out" 2>"$T/make.err") || fail "make (KAFU_SDK_PATH=$KAFU_SDK_PATH)"

k=$("$KAFU_BUILD/tests/nn_infer" "$D/fixture/models/squeezenet1.1-7.onnx" "$D/fixture/images/dog.jpg" |
  sed -n 's/^argmax: //p')
[ -n "$k" ] || fail "native reference run"
want="Inference result: $(sed -n "$((k + 1))p" "$D/fixture/labels/squeezenet1.1-7.txt")"

(cd "$D" && timeout 120 "$KAFU" singlenode serve kafu-config.yaml >"$T/sn.out" 2>"$T/sn.err") || fail "singlenode"
grep -qxF "$want" "$T/sn.out" || fail "singlenode: $(grep Inference "$T/sn.out") vs native '$want'"
(cd "$D" && timeout 120 "$KAFU" singlenode serve --verify kafu-config.yaml >"$T/verify.out" 2>"$T/verify.err") ||
  fail "singlenode --verify"
grep -qxF "$want" "$T/verify.out" || fail "--verify: $(grep Inference "$T/verify.out")"
read -r pe pc <<<"$(free_ports 2)"
sed -i "s/port: 50052/port: $pe/; s/port: 50053/port: $pc/" "$D/kafu-config.yaml"
(cd "$D" && timeout 120 "$KAFU" launch --no-prefix kafu-config.yaml >"$T/launch.out" 2>"$T/launch.err") ||
  fail "launch"
grep -qxF "$want" "$T/launch.out" || fail "launch: $(grep Inference "$T/launch.out")"
grep -q "node cloud: received a snapshot" "$T/launch.err" || fail "no migration to cloud"
ok "original examples/image-classification, unchanged, our model at its path: make, singlenode, --verify, launch; '$want' = native OpenCV"

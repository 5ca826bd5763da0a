#!/usr/bin/env bash
# sdk_original_examples.sh — the original Kafu repository's own examples
# `basic` and `basic-cpp`, copied out of a local mirror of it unchanged
# (Makefile, sources, kafu-config.yaml), build with `KAFU_SDK_PATH=<build> make`
# and run with `kafu singlenode serve`, `--verify` and `kafu launch` (two real
# nodes; only the ports in a copy of the config are changed to free ones).
# Nothing of the original is stored in this repository: without the mirror
# ($KAFU_ORIGINAL_REPO, a git directory; default the workspace's mirror) the
# test is skipped (exit 77).
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
REPO=${KAFU_ORIGINAL_REPO:-/work/.mirror/tamaroning+kafu/repo}
if ! git -C "$REPO" cat-file -e HEAD:examples/basic/Makefile 2>/dev/null; then
  skip "no mirror of the original Kafu repository at $REPO (set KAFU_ORIGINAL_REPO)"
fi
export KAFU_SDK_PATH=$KAFU_BUILD

# extract DIR: the example's files at the mirror's HEAD into $T/DIR
extract() {
  local f
  for f in $(git -C "$REPO" ls-tree -r --name-only HEAD "examples/$1"); do
    mkdir -p "$T/$(dirname "${f#examples/}")"
    git -C "$REPO" show "HEAD:$f" >"$T/${f#examples/}" || fail "git show $f"
  done
}

check() {
  local dir=$1 want=$2 out node pa pb
  extract "$dir"
  (cd "$T/$dir" && make >"$T/$dir-make.out" 2>"$T/$dir-make.err") || fail "$dir: make"
  out=$(cd "$T/$dir" && "$KAFU" singlenode serve kafu-config.yaml 2>"$T/$dir-sn.err") || fail "$dir: singlenode exited $?"
  [ "$out" = "$want" ] || fail "$dir: singlenode printed '$out', expected '$want'"
  out=$(cd "$T/$dir" && "$KAFU" singlenode serve --verify kafu-config.yaml 2>"$T/$dir-verify.err") ||
    fail "$dir: --verify exited $?"
  [ "$out" = "$want" ] || fail "$dir: --verify printed '$out'"
  read -r pa pb <<<"$(free_ports 2)"
  sed -i "s/port: 50051/port: $pa/; s/port: 50052/port: $pb/" "$T/$dir/kafu-config.yaml"
  out=$(cd "$T/$dir" && timeout 120 "$KAFU" launch --no-prefix kafu-config.yaml 2>"$T/$dir-launch.err") ||
    fail "$dir: launch exited $?"
  [ "$(sort <<<"$out")" = "$(sort <<<"$want")" ] || fail "$dir: launch printed '$out'"
  grep -q "node edge1: received a snapshot" "$T/$dir-launch.err" || fail "$dir: no migration to edge1"
  ok "original examples/$dir: make, singlenode, --verify, launch"
}

check basic $'Hello, from cloud\nHello, from edge'
check basic-cpp $'1: i32\n2: i32\n3: i32'

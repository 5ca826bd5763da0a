#!/usr/bin/env bash
# singlenode_examples.sh — examples/basic (C) and examples/basic-cpp (C++) run
# in both singlenode modes with the output their READMEs promise, identical to
# `kafu run`, with exactly 2 migrations (cloud -> edge -> cloud); and both
# READMEs show the two singlenode commands.
source "$KAFU_SRC/tests/shell/lib/singlenode.sh"
EX=$KAFU_SRC/examples

example() { # DIR SOURCE DRIVER FUNCTION EXPECTED
  local dir=$1 src=$2 drv=$3 fn=$4 expected=$5
  "$KAFU" $drv -O2 "$EX/$dir/$src" -o "$T/$dir.wasm" >"$T/cc-$dir.log" 2>&1 || { cat "$T/cc-$dir.log"; fail "kafu $drv $dir"; }
  [ -s "$T/cc-$dir.log" ] && fail "$dir: kafu $drv warned: $(cat "$T/cc-$dir.log")"
  # the example's own config, with app.path pointing at the module built here
  sed "s#path: ./main.wasm#path: $T/$dir.wasm#; s#preopened_dir: .#preopened_dir: $T/data#" \
    "$EX/$dir/kafu-config.yaml" >"$T/$dir.yaml"
  grep -q "path: $T/$dir.wasm" "$T/$dir.yaml" || fail "$dir: kafu-config.yaml has no 'path: ./main.wasm'"
  LABEL=$dir.
  (cd "$T" && "$KAFU" run "$dir.wasm" >"$T/$dir.ref.out" 2>"$T/$dir.ref.err") || fail "$dir: kafu run exit $?"
  local v
  for v in emu ver; do
    "$KAFU" singlenode serve $([ $v = ver ] && echo --verify) --events "$T/$dir.$v.jsonl" "$T/$dir.yaml" \
      >"$T/$dir.$v.out" 2>"$T/$dir.$v.err" || fail "$dir ($v): exit $?"
    cmp -s "$T/$dir.ref.out" "$T/$dir.$v.out" || fail "$dir ($v): output differs from kafu run"
    [ "$(cat "$T/$dir.$v.out")" = "$expected" ] || fail "$dir ($v): output '$(cat "$T/$dir.$v.out")'"
    grep -qF "INFO Migration cloud -> edge (Entering $fn)" "$T/$dir.$v.err" || fail "$dir ($v): no enter log"
    grep -qF "INFO Migration edge -> cloud (Returning from $fn)" "$T/$dir.$v.err" || fail "$dir ($v): no return log"
  done
  expect_walk "$dir" "cloud>edge:enter:$fn edge>cloud:exit:$fn"
  # the README shows both modes, run from the example's directory
  grep -qF "kafu singlenode serve kafu-config.yaml" "$EX/$dir/README.md" || fail "$dir/README.md lacks the emulate command"
  grep -qF "kafu singlenode serve --verify kafu-config.yaml" "$EX/$dir/README.md" ||
    fail "$dir/README.md lacks the --verify command"
  ok "examples/$dir: both modes print the README's output, 2 migrations"
}

example basic main.c cc f $'Hello, from cloud!\nHello, from edge!'
example basic-cpp main.cpp c++ summarize $'Hello, from cloud!\nHello, from edge! 4 readings\nback on cloud: s1=10 s2=20 s3=30 s4=40 total=100'

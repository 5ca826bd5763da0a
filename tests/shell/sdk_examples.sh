#!/usr/bin/env bash
# sdk_examples.sh — applications written for the original Kafu SDK build and
# run unchanged: tests/programs/sdk/{basic,basic-cpp} are in the shape of its
# examples (a Makefile with CC = $(KAFU_SDK_PATH)/libexec/kafu_clang at -O3,
# spectest.h prints, KAFU_DEST on two nodes). Each is built by `make` with
# KAFU_SDK_PATH pointing at the build tree (its libexec/ holds the kafu_*
# links), then run with `kafu singlenode serve`, `singlenode serve --verify`
# (a real checkpoint/restore per migration) and `kafu launch` (a real
# two-node cluster on free loopback ports). Output must be exactly the
# expected lines, in order; under launch each line carries its node's prefix
# (and is in order among the lines of its node).
# Also: annotated functions an optimizer would delete (pure, empty, result
# unused) still migrate at -O0..-O3, -Os and with LTO.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
export KAFU_SDK_PATH=$KAFU_BUILD
[ -x "$KAFU_SDK_PATH/libexec/kafu_clang" ] || fail "$KAFU_SDK_PATH/libexec/kafu_clang missing (build the kafu target)"

# run_three DIR EXPECTED EXPECTED_LAUNCH: make, then the three modes
run_three() {
  local dir=$1 want=$2 want_launch=$3 out
  cp -r "$KAFU_SRC/tests/programs/sdk/$dir" "$T/$dir"
  (cd "$T/$dir" && make >"$T/$dir-make.out" 2>"$T/$dir-make.err") || fail "$dir: make"
  grep -q "^$KAFU_SDK_PATH/libexec/kafu_clang main" "$T/$dir-make.out" || fail "$dir: make did not use kafu_clang"
  "$KAFU" inspect "$T/$dir/main.wasm" | grep -q '^snapified: *yes' || fail "$dir: main.wasm is not Snapified"
  out=$(cd "$T/$dir" && "$KAFU" singlenode serve kafu-config.yaml 2>"$T/$dir-sn.err") || fail "$dir: singlenode exited $?"
  [ "$out" = "$want" ] || fail "$dir: singlenode printed '$out', expected '$want'"
  out=$(cd "$T/$dir" && "$KAFU" singlenode serve --verify kafu-config.yaml 2>"$T/$dir-verify.err") ||
    fail "$dir: singlenode --verify exited $?"
  [ "$out" = "$want" ] || fail "$dir: singlenode --verify printed '$out'"
  grep -q "Migration cloud1 -> edge1" "$T/$dir-verify.err" || fail "$dir: no migration to edge1 under --verify"
  local pa pb
  read -r pa pb <<<"$(free_ports 2)"
  sed -i "s/port: 50051/port: $pa/; s/port: 50052/port: $pb/" "$T/$dir/kafu-config.yaml"
  out=$(cd "$T/$dir" && timeout 120 "$KAFU" launch kafu-config.yaml 2>"$T/$dir-launch.err") ||
    fail "$dir: launch exited $?"
  # lines of different nodes travel through different pipes: compare per node
  local node
  for node in cloud1 edge1; do
    [ "$(grep "^\[$node\] " <<<"$out")" = "$(grep "^\[$node\] " <<<"$want_launch")" ] ||
      fail "$dir: launch printed '$out', expected (per node, in order) '$want_launch'"
  done
  [ "$(wc -l <<<"$out")" = "$(wc -l <<<"$want_launch")" ] || fail "$dir: launch printed '$out'"
  grep -q "\[edge1\].*received a snapshot" "$T/$dir-launch.err" || fail "$dir: edge1 never received a snapshot"
  ok "$dir: make with KAFU_SDK_PATH, singlenode, --verify, launch (2 nodes)"
}

run_three basic $'main starts on cloud1\nstep 1 on cloud1\nstep 8 on edge1\n-8: i64\n2: f64\n8: i32' \
  $'[cloud1] main starts on cloud1\n[cloud1] step 1 on cloud1\n[edge1] step 8 on edge1\n[edge1] -8: i64\n[cloud1] 2: f64\n[cloud1] 8: i32'
run_three basic-cpp $'10: i32\n15: i32\n0.5: f32\n15: i32' \
  $'[cloud1] 10: i32\n[edge1] 15: i32\n[edge1] 0.5: f32\n[cloud1] 15: i32'

# calls an optimizer would delete still migrate (kafu.h makes KAFU_EXPORT weak)
cat >"$T/pure.yaml" <<YAML
name: pure
app:
  path: ./pure.wasm
nodes:
  cloud: {address: 127.0.0.1, port: 1}
  edge: {address: 127.0.0.1, port: 2}
YAML
for opt in -O0 -O2 -O3 -Os "-O3 -flto"; do
  # shellcheck disable=SC2086
  "$KAFU" cc $opt "$KAFU_SRC/tests/programs/cc/pure_dest.c" -o "$T/pure.wasm" 2>"$T/pure-cc.err" || fail "pure_dest.c $opt"
  out=$("$KAFU" singlenode serve --events "$T/pure.events" "$T/pure.yaml" 2>"$T/pure.err") || fail "pure $opt: exit $?"
  [ "$out" = "10 13" ] || fail "pure $opt: printed '$out'"
  n=$(grep -c '"type":"migration"' "$T/pure.events")
  [ "$n" = 8 ] || fail "pure_dest.c $opt: $n migrations, expected 8 (4 calls, there and back)"
done
ok "pure, empty and unused-result annotated functions migrate at -O0, -O2, -O3, -Os, -O3 -flto"

# an annotated function that is not weak (a KAFU_EXPORT like the original
# kafu.h's): kafu cc says so at -O2, where clang deletes calls to the pure ones,
# and the migrations that vanished are an error, unless explicitly allowed
mkdir -p "$T/strong"
cat >"$T/strong/kafu.h" <<'EOF'
#include_next <kafu.h>
#undef KAFU_EXPORT
#define KAFU_EXPORT(fn) __attribute__((used, export_name(#fn), noinline))
EOF
"$KAFU" cc -O0 -I"$T/strong" "$KAFU_SRC/tests/programs/cc/pure_dest.c" -o "$T/strong0.wasm" 2>"$T/strong.err" ||
  fail "strong -O0: $(cat "$T/strong.err")"
grep -q "weak" "$T/strong.err" && fail "strong -O0 warned: $(cat "$T/strong.err")"
"$KAFU" cc -O2 -I"$T/strong" "$KAFU_SRC/tests/programs/cc/pure_dest.c" -o "$T/strong.wasm" 2>"$T/strong.err" &&
  fail "strong -O2: calls were deleted, yet kafu cc succeeded"
grep -q "warning: .*pure_dest.c: KAFU_DEST functions 'twice', 'nothing', 'tiny' are not weak definitions" "$T/strong.err" ||
  fail "strong -O2: no build-time warning: $(cat "$T/strong.err")"
grep -q "error: snapify .*annotated function 'nothing' is never called inside the module.*--kafu-allow-unused-annotations" \
  "$T/strong.err" || fail "strong -O2: no error naming the vanished migration: $(cat "$T/strong.err")"
[ -e "$T/strong.wasm" ] && fail "strong -O2: output written"
"$KAFU" cc -O2 --kafu-allow-unused-annotations -I"$T/strong" "$KAFU_SRC/tests/programs/cc/pure_dest.c" \
  -o "$T/strong.wasm" 2>"$T/strong.err" || fail "strong -O2 --kafu-allow-unused-annotations: $(cat "$T/strong.err")"
grep -q "WARN snapify: annotated function 'nothing' is never called" "$T/strong.err" ||
  fail "allowed: no warning: $(cat "$T/strong.err")"
ok "non-weak annotated functions at -O2: a build-time warning, vanished migrations an error (opt-out flag)"

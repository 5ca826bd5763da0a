#!/usr/bin/env bash
# snapify_proof.sh — proof by execution: every program in tests/programs/snapify
# is compiled (clang, -O2 compile, link WITHOUT -O), Snapified, checked by an
# independent validator (wabt's wasm-validate), and run twice with the
# test-only wasm2c host tests/tools/snapify_harness.c:
#   1. the ORIGINAL module, uninterrupted;
#   2. the Snapified module, checkpointed and restored into a FRESH instance at
#      EVERY migration point.
# Both runs must print the same stdout and exit with the same code, and the
# number of migrations must be exactly 2 x the annotated calls the program
# counts itself (entry + exit of each call). Also: deep recursion near the
# Asyncify buffer limit works, and past it fails with the clear error.
source "$KAFU_SRC/tests/shell/lib/common.sh"
: "${KAFU_BUILD:?KAFU_BUILD must point at the build tree}"
need wasm-validate wabt
HARNESS="$KAFU_BUILD/tests/snapify_harness"
PROGS="$KAFU_SRC/tests/programs/snapify"

[ -x "$HARNESS" ] || skip "$HARNESS not built (CMake found no wasm-rt-impl.c: Debian package wabt)"
CFLAGS=(--target=wasm32-wasi --sysroot=/usr -O2 -I"$KAFU_SRC/include")
LDFLAGS=(--target=wasm32-wasi --sysroot=/usr)

# compile NAME: tests/programs/snapify/NAME.{c,cpp}[+ NAME_asm.s] -> $T/NAME.wasm
# extra link args after the name (e.g. the guest support object)
compile() {
  local name=$1; shift
  local objs=()
  if [ -f "$PROGS/$name.cpp" ]; then
    clang++ "${CFLAGS[@]}" -fno-exceptions -c "$PROGS/$name.cpp" -o "$T/$name.o" || return 1
    objs+=("$T/$name.o")
    clang++ "${LDFLAGS[@]}" "${objs[@]}" "$@" -o "$T/$name.wasm" || return 1
    return 0
  fi
  clang "${CFLAGS[@]}" -c "$PROGS/$name.c" -o "$T/$name.o" || return 1
  objs+=("$T/$name.o")
  if [ -f "$PROGS/${name}_asm.s" ]; then
    clang --target=wasm32-wasi -c "$PROGS/${name}_asm.s" -o "$T/${name}_asm.o" || return 1
    objs+=("$T/${name}_asm.o")
  fi
  clang "${LDFLAGS[@]}" "${objs[@]}" "$@" -o "$T/$name.wasm"
}

# guest support object (what kafu cc links): reserves the buffer in .bss
guest_rt() { # SIZE -> $T/kafu_rt_SIZE.o
  clang "${CFLAGS[@]}" -DKAFU_ASYNCIFY_BUF_SIZE="$1" -c "$KAFU_SRC/guest/kafu_rt.c" -o "$T/kafu_rt_$1.o"
}

# prove NAME SNAPIFY_ARGS... : run original vs snapified-with-migrations
prove() {
  local name=$1; shift
  local in="$T/$name.wasm" out="$T/$name.snap.wasm"
  if ! "$KAFU" snapify "$in" -o "$out" "$@" 2>"$T/$name.snapify.err"; then
    fail "$name: kafu snapify failed: $(cat "$T/$name.snapify.err")"
  fi
  wasm-validate "$out" 2>"$T/$name.validate.err" || fail "$name: output does not validate: $(cat "$T/$name.validate.err")"
  "$HARNESS" --no-migrate "$in" >"$T/$name.plain.out" 2>"$T/$name.plain.err"
  local plain_rc=$?
  "$HARNESS" "$out" >"$T/$name.snap.out" 2>"$T/$name.snap.err"
  local snap_rc=$?
  if ! cmp -s "$T/$name.plain.out" "$T/$name.snap.out"; then
    fail "$name: stdout differs after migrations: $(diff "$T/$name.plain.out" "$T/$name.snap.out" | head -20)
$(tail -20 "$T/$name.snap.err")"
  fi
  [ "$plain_rc" = "$snap_rc" ] || fail "$name: exit code $snap_rc after migrations, $plain_rc uninterrupted"
  [ "$plain_rc" -lt 100 ] || fail "$name: uninterrupted run failed ($plain_rc): $(cat "$T/$name.plain.err")"
  local calls points migrations
  calls=$(sed -n 's/^annotated calls: \([0-9]*\)$/\1/p' "$T/$name.plain.out")
  points=$(sed -n 's/^snapify_harness: migration points \([0-9]*\), migrations \([0-9]*\)$/\1/p' "$T/$name.snap.err")
  migrations=$(sed -n 's/^snapify_harness: migration points \([0-9]*\), migrations \([0-9]*\)$/\2/p' "$T/$name.snap.err")
  if [ -z "$calls" ] || [ -z "$points" ]; then
    fail "$name: missing counts (calls='$calls' points='$points'): $(cat "$T/$name.snap.err")"
  fi
  [ "$points" -eq $((2 * calls)) ] || fail "$name: $points migration points for $calls annotated calls (want $((2 * calls)))"
  [ "$migrations" -eq "$points" ] || fail "$name: $migrations migrations at $points points"
  [ "$calls" -gt 0 ] || fail "$name: the program made no annotated call"
  local isz osz
  isz=$(stat -c %s "$in"); osz=$(stat -c %s "$out")
  printf 'ok   %-10s rc=%s annotated calls=%-4s migrations=%-4s %s\n' "$name" "$snap_rc" "$calls" "$migrations" \
    "$("$KAFU" inspect "$out" | sed -n 's/^functions: *//p')"
}

guest_rt 1048576 || fail "cannot build guest/kafu_rt.c"
compile nested || fail "compile nested"
prove nested
compile recursion "$T/kafu_rt_1048576.o" -Wl,--export=__kafu_asyncify_buf || fail "compile recursion"
prove recursion
compile funcptr || fail "compile funcptr"
prove funcptr
compile globals "$T/kafu_rt_1048576.o" -Wl,--export=__kafu_asyncify_buf || fail "compile globals"
prove globals
compile shapes || fail "compile shapes (C++)"
prove shapes
grep -q 'migrations [1-9]' "$T/shapes.snap.err" || fail "shapes: no migration happened"
"$KAFU" snapify "$T/funcptr.wasm" -o "$T/fp2.wasm" -v 2>&1 | grep -q "can reach one (only-list)" ||
  fail "funcptr: indirect calls reaching an annotated function were not detected"
"$KAFU" snapify "$T/nested.wasm" -o "$T/n2.wasm" -v 2>&1 | grep -q "asyncify-ignore-indirect" ||
  fail "nested: expected asyncify-ignore-indirect"

# globals: the extra wasm globals must really be exported and carried
n=$("$KAFU" inspect "$T/globals.snap.wasm" | sed -n 's/^globals: *\([0-9]*\) mutable.*/\1/p')
[ "$n" = 4 ] || fail "globals: expected 4 exported mutable globals, inspect says '$n'"

# deep recursion: a 4 KiB buffer reserved by the guest object holds ~125 levels
guest_rt 4096 || fail "cannot build guest/kafu_rt.c with a 4 KiB buffer"
compile deep "$T/kafu_rt_4096.o" -Wl,--export=__kafu_asyncify_buf || fail "compile deep"
"$KAFU" snapify "$T/deep.wasm" -o "$T/deep.snap.wasm" --kafu-stack-size=4096 || fail "snapify deep"
"$HARNESS" --no-migrate "$T/deep.wasm" 110 >"$T/deep.plain.out" 2>/dev/null
"$HARNESS" "$T/deep.snap.wasm" 110 >"$T/deep.out" 2>"$T/deep.err"
rc=$?
[ $rc = 0 ] && cmp -s "$T/deep.plain.out" "$T/deep.out" || fail "deep 110 (near the limit) failed rc=$rc: $(cat "$T/deep.err")"
grep -q "migration points 222, migrations 222" "$T/deep.err" || fail "deep 110: wrong migration count: $(cat "$T/deep.err")"
echo "ok   deep recursion, 110 levels in a 4 KiB buffer: $(tail -1 "$T/deep.err")"
"$HARNESS" "$T/deep.snap.wasm" 300 >"$T/deep.out" 2>"$T/deep.err"
rc=$?
[ $rc != 0 ] || fail "deep 300 (past the limit) should fail"
grep -q "Asyncify buffer overflow (4112 bytes needed, 4096 available): rebuild with --kafu-stack-size=BYTES" "$T/deep.err" ||
  fail "deep 300: no clear overflow error: $(cat "$T/deep.err")"
echo "ok   deep recursion past the limit: $(head -1 "$T/deep.err")"
# same, with the buffer allocated by the runtime at the end of memory (no guest object)
compile deep || fail "compile deep (no guest object)"
"$KAFU" snapify "$T/deep.wasm" -o "$T/deep2.snap.wasm" --kafu-stack-size=4096 || fail "snapify deep (grow)"
"$HARNESS" "$T/deep2.snap.wasm" 110 >"$T/deep.out" 2>"$T/deep.err" && cmp -s "$T/deep.plain.out" "$T/deep.out" ||
  fail "deep 110 with a runtime-allocated buffer failed: $(cat "$T/deep.err")"
"$HARNESS" "$T/deep2.snap.wasm" 300 >"$T/deep.out" 2>"$T/deep.err"
rc=$?
[ $rc != 0 ] && grep -q "Asyncify buffer overflow" "$T/deep.err" ||
  fail "deep 300 with a runtime-allocated buffer: rc=$rc, no clear overflow error: $(cat "$T/deep.err")"
echo "ok   runtime-allocated buffer: near and past the limit"

echo "snapify_proof: all passed"

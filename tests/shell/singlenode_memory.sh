#!/usr/bin/env bash
# singlenode_memory.sh — three nodes, memory changed (and grown) on every node:
# the checksums each node prints, and the program's own replay of all
# mutations, must equal a native build and an uninterrupted `kafu run`, in both
# singlenode modes; --verify moves the whole (8 MiB+) memory through every
# snapshot. Then mutable wasm globals and a deep stack across migrations.
source "$KAFU_SRC/tests/shell/lib/singlenode.sh"
build memory3
cc -O2 -I"$KAFU_SRC/include" "$PROGS/memory3.c" -o "$T/memory3-native" || fail "native build of memory3.c"

modes mem memory3.wasm 8 3
[ "$RC" = 0 ] || fail "mem: exit $RC"
"$T/memory3-native" 8 3 >"$T/mem.native.out" || fail "native memory3 failed"
cmp -s "$T/mem.native.out" "$T/mem.ver.out" || fail "mem: output differs from native: $(diff "$T/mem.native.out" "$T/mem.ver.out" | head -4)"
grep -qx "replay ok" "$T/mem.ver.out" || fail "mem: the program's replay did not match"
grep -q "cloud>edge" <<<"$(walk "$T/mem.ver.jsonl")" || fail "mem: no migration"
expect_walk mem "$(for r in 1 2 3; do printf '%s ' cloud\>edge:enter:work_edge edge\>fog:enter:work_fog \
  fog\>edge:exit:work_fog edge\>cloud:exit:work_edge; done | sed 's/ $//')"
# every --verify migration carried the whole memory, which grew on edge and fog
python3 - "$T/mem.ver.jsonl" <<'PY' || fail "mem: memory sizes in the events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"migration"' in l]
sizes = [e["memory_bytes"] for e in ev]
assert all(s >= 8 << 20 for s in sizes), sizes
assert sizes[-1] > sizes[0], sizes  # grown on edge/fog
assert all(e["raw_bytes"] == e["memory_bytes"] for e in ev), "VERIFY transfers full images"
PY
ok "three nodes, 8 MiB mutated on each: $(tail -1 "$T/mem.ver.out"), 12 migrations, same as native"

# mutable wasm globals (i32, i64, f64 beside __stack_pointer) changed on both nodes
"$KAFU" cc -O2 "$PROGS/gvars.c" "$KAFU_SRC/tests/programs/snapify/globals_asm.s" -o "$T/gvars.wasm" >"$T/cc-gvars.log" 2>&1 ||
  { cat "$T/cc-gvars.log"; fail "kafu cc gvars"; }
n=$("$KAFU" inspect "$T/gvars.wasm" | sed -n 's/^globals: *\([0-9]*\) mutable.*/\1/p')
[ "$n" = 4 ] || fail "gvars: expected 4 exported mutable globals, inspect says '$n'"
modes gvars gvars.wasm 6
expect_count gvars 24
grep -q "^final counter=" "$T/gvars.ver.out" || fail "gvars: no final line"
ok "4 mutable globals across 24 migrations: $(tail -1 "$T/gvars.ver.out")"

# a deep stack: 3000 levels of plain recursion (1 KiB frames on the shadow
# stack) inside an annotated call, migrating at the bottom and returning
build deepstack -Wl,-z,stack-size=8388608
modes deep deepstack.wasm 3000
[ "$RC" = 0 ] || fail "deep: exit $RC"
expect_walk deep "cloud>edge:enter:deep_edge edge>cloud:enter:bottom_cloud cloud>edge:exit:bottom_cloud \
edge>cloud:exit:deep_edge"
ok "3000-level recursion inside an annotated call: $(tail -1 "$T/deep.ver.out")"

# the Asyncify region too small for that stack: a clear error in --verify mode
build deepstack -Wl,-z,stack-size=8388608 --kafu-stack-size=16K
config "$T/small.yaml" "$T/deepstack.wasm" 3000
"$KAFU" singlenode serve --verify "$T/small.yaml" >"$T/small.out" 2>"$T/small.err"
rc=$?
[ "$rc" = 134 ] || fail "small Asyncify buffer: exit $rc, expected 134"
grep -q "node edge: the call stack did not fit in the Asyncify buffer (16384 bytes).*--kafu-stack-size" \
  "$T/small.err" || fail "small Asyncify buffer: message: $(cat "$T/small.err")"
ok "Asyncify buffer overflow -> exit 134, message names the node and --kafu-stack-size"

# a module Snapified without kafu cc's guest support object (plain clang, then
# `kafu snapify`): the runtime reserves the Asyncify region by growing memory at
# the first checkpoint; the program keeps growing its heap past it
clang --target=wasm32-wasi --sysroot=/usr -O2 -I"$KAFU_SRC/include" -c "$PROGS/memory3.c" -o "$T/m3.o" &&
  clang --target=wasm32-wasi --sysroot=/usr "$T/m3.o" -o "$T/m3plain.wasm" || fail "clang memory3.c"
"$KAFU" snapify "$T/m3plain.wasm" -o "$T/m3snap.wasm" >"$T/snapify.log" 2>&1 || fail "kafu snapify: $(cat "$T/snapify.log")"
"$KAFU" inspect "$T/m3snap.wasm" | grep -q "allocated by the runtime at the first checkpoint" || fail "m3snap: buffer reserved by the guest?"
modes m3snap m3snap.wasm 2 3
cmp -s "$T/m3snap.ver.out" <("$T/memory3-native" 2 3) || fail "m3snap: output differs from native"
expect_count m3snap 12
ok "Asyncify region reserved by the runtime: same output as native, 12 migrations"

# ... and too small for the stack at a checkpoint: the region is the last
# thing in memory, so the unwind runs past the end of memory; that is the
# Asyncify overflow too (issue 16: it was reported as an out-of-bounds access
# in the user's function)
clang --target=wasm32-wasi --sysroot=/usr -O2 -I"$KAFU_SRC/include" -c "$PROGS/deepstack.c" -o "$T/ds.o" &&
  clang --target=wasm32-wasi --sysroot=/usr -Wl,-z,stack-size=8388608 "$T/ds.o" -o "$T/dsplain.wasm" ||
  fail "clang deepstack.c"
"$KAFU" snapify --kafu-stack-size=16K "$T/dsplain.wasm" -o "$T/dssnap.wasm" >"$T/snapify2.log" 2>&1 ||
  fail "kafu snapify: $(cat "$T/snapify2.log")"
config "$T/dssnap.yaml" "$T/dssnap.wasm" 3000
"$KAFU" singlenode serve --verify "$T/dssnap.yaml" >"$T/dssnap.out" 2>"$T/dssnap.err"
rc=$?
[ "$rc" = 134 ] || fail "runtime-reserved Asyncify region overflow: exit $rc, expected 134"
grep -q "the call stack did not fit in the Asyncify buffer (16384 bytes).*--kafu-stack-size" "$T/dssnap.err" ||
  fail "runtime-reserved Asyncify region overflow: message: $(cat "$T/dssnap.err")"
ok "an unwind past the end of memory: the Asyncify overflow message, exit 134"

#!/usr/bin/env bash
# singlenode_nesting.sh — the migration stack (docs/migration.md) is exact for nested
# and recursive annotated calls: a function annotated for the node it is
# already on does not migrate, and every return goes back to the node that
# made the matching call. Each case compares emulate and --verify with an
# uninterrupted `kafu run` (same stdout and exit code) and checks the exact
# migration sequence (from>to:kind:function) from the --events file.
source "$KAFU_SRC/tests/shell/lib/singlenode.sh"
build nest

# rep N WORDS -> WORDS repeated N times (space separated)
rep() {
  local n=$1 out="" i
  for ((i = 0; i < n; i++)); do out+="${out:+ }$2"; done
  echo "$out"
}

# cloud -> edge -> cloud-annotated -> edge-annotated, and all the way back
modes nested nest.wasm ECE
[ "$RC" = 0 ] || fail "nested: exit $RC"
expect_walk nested "cloud>edge:enter:at_edge edge>cloud:enter:at_cloud cloud>edge:enter:at_edge \
edge>cloud:exit:at_edge cloud>edge:exit:at_cloud edge>cloud:exit:at_edge"
ok "cloud -> edge -> cloud -> edge and back: 6 migrations, each return to its caller"

# annotated for the node it is already on: no migration, also when reached
# through a plain function; only the real node changes migrate
modes same nest.wasm C CC EE EnE CEC
expect_walk same "cloud>edge:enter:at_edge edge>cloud:exit:at_edge \
cloud>edge:enter:at_edge edge>cloud:exit:at_edge \
cloud>edge:enter:at_edge edge>cloud:enter:at_cloud cloud>edge:exit:at_cloud edge>cloud:exit:at_edge"
ok "same-node annotated calls do not migrate (8 migrations for C CC EE EnE CEC)"

# three nodes: the return path retraces edge -> fog -> edge -> cloud exactly;
# and a call through a function pointer migrates like a direct one
modes three nest.wasm EFEC FpE
expect_walk three "cloud>edge:enter:at_edge edge>fog:enter:at_fog fog>edge:enter:at_edge \
edge>cloud:enter:at_cloud cloud>edge:exit:at_cloud edge>fog:exit:at_edge fog>edge:exit:at_fog \
edge>cloud:exit:at_edge cloud>fog:enter:at_fog fog>edge:enter:at_edge edge>fog:exit:at_edge fog>cloud:exit:at_fog"
ok "three nodes, nested 4 deep, and an indirect call: 12 migrations"

# recursion through one annotated function: only the outermost call migrates
modes rec nest.wasm rec:60
grep -q '^rec_edge(60) = ' "$T/rec.ver.out" || fail "rec: no result line"
expect_walk rec "cloud>edge:enter:rec_edge edge>cloud:exit:rec_edge"
ok "recursion 60 deep through rec_edge: 2 migrations"

# mutual recursion across nodes: every call migrates, returns unwind in reverse
modes ping nest.wasm ping:5
want="$(rep 3 "cloud>edge:enter:ping edge>cloud:enter:pong") $(rep 3 "cloud>edge:exit:pong edge>cloud:exit:ping")"
expect_walk ping "$want"
modes ping40 nest.wasm ping:40
expect_count ping40 82
ok "ping/pong recursion: 12 migrations for depth 5, 82 for depth 40"

# a loop of round trips
modes loop nest.wasm loop:7
expect_walk loop "$(rep 7 "cloud>edge:enter:at_edge edge>cloud:exit:at_edge")"
ok "7 round trips: 14 migrations"

# the guest's monotonic clock across a checkpoint (the snapshot carries it)
modes clock nest.wasm clock
grep -qx "clock: elapsed 0 s, monotonic" "$T/clock.ver.out" || fail "clock: $(cat "$T/clock.ver.out")"
grep -qx "cpu: elapsed 0 s, monotonic" "$T/clock.ver.out" || fail "cpu clock: $(cat "$T/clock.ver.out")"
expect_walk clock "cloud>edge:enter:clock_edge edge>cloud:exit:clock_edge"
ok "CLOCK_MONOTONIC continues across the migration"

# random call paths against an independent model of the migration stack
for seed in 1 2 3; do
  mapfile -t paths < <(python3 - "$seed" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
for _ in range(5):
    p = ""
    for _ in range(r.randint(1, 9)):
        c = r.choice("CCEEFFn" + ("p" if p[-1:] != "p" else ""))
        p += c
    if p[-1] in "np":
        p += r.choice("CEF")
    print(p)
PY
  )
  want=$(python3 - "${paths[@]}" <<'PY'
import sys
node = {"C": "cloud", "E": "edge", "F": "fog"}
fn = {"C": "at_cloud", "E": "at_edge", "F": "at_fog"}
out, cur = [], ["cloud"]
def call(p):
    if not p:
        return
    c = p[0]
    if c in "np":
        return call(p[1:])
    caller, dest = cur[0], node[c]
    if dest != caller:
        out.append(f"{caller}>{dest}:enter:{fn[c]}")
        cur[0] = dest
    call(p[1:])
    if dest != caller:
        out.append(f"{dest}>{caller}:exit:{fn[c]}")
        cur[0] = caller
for p in sys.argv[1:]:
    call(p)
print(" ".join(out))
PY
  )
  modes "random$seed" nest.wasm "${paths[@]}"
  expect_walk "random$seed" "$want"
  ok "random paths (seed $seed: ${paths[*]}): $(migrations "$T/random$seed.ver.jsonl") migrations as modelled"
done

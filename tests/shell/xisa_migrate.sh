#!/usr/bin/env bash
# Cross-ISA migration: node a is x86-64 (this kafu), node b is aarch64 (the
# cross-built kafu under qemu-user). tests/programs/xisa/xisa.c crosses twice
# per round — floats, a growing heap, a FILE* written on both sides — and
# exits with a code from inside a function on b. The output of both nodes,
# the log file and the exit codes must equal an uninterrupted `kafu run`.
# Then the program state in every snapshot must be bit-identical to a run where
# both nodes are x86-64 (same memory image ids, globals, stack, files): nothing
# host-specific leaks into a snapshot. Finally the golden snapshots
# (tests/golden/snapshot) decode to the same thing on both architectures.
source "$KAFU_SRC/tests/shell/lib/xisa.sh" || exit 1
need_aarch64
ROUNDS=5 CODE=7

"$KAFU" cc -O2 -I"$KAFU_SRC/include" "$XPROGS/xisa.c" -o "$T/xisa.wasm" >"$T/cc.log" 2>&1 ||
  { cat "$T/cc.log" >&2; fail "kafu cc xisa.c"; }
# the aarch64 code, built here natively (cross compiler) rather than by the emulated node
"$KAFU" aot --target aarch64-linux-gnu "$T/xisa.wasm" >/dev/null 2>"$T/aot.err" || fail "kafu aot --target: $(cat "$T/aot.err")"

mkdir "$T/ref"
(cd "$T/ref" && "$KAFU" run --dir . ../xisa.wasm $ROUNDS $CODE >../ref.out 2>../ref.err)
rc=$?
[ $rc = $CODE ] || fail "reference run exited $rc: $(cat "$T/ref.err")"
[ "$(grep -c '^round' "$T/ref.out")" = $ROUNDS ] || fail "reference output: $(cat "$T/ref.out")"

# run NAME BARCH: a cluster of a (x86-64) and b (BARCH: aarch64 or x86_64)
run() {
  local name=$1 barch=$2 pa pb
  read -r pa pb <<<"$(free_ports 2)"
  mkdir -p "$T/$name/snaps"
  config "$T/$name/c.yaml" ../xisa.wasm "[\"$ROUNDS\", \"$CODE\"]" a="$pa" b="$pb"
  : >"$T/$name.out"
  OUT_OF=([a]="$T/$name.out" [b]="$T/$name.out")
  ERR_OF=([a]="$T/$name-a.err" [b]="$T/$name-b.err")
  serve_on "$barch" b "$T/$name/c.yaml" --save-snapshots "$T/$name/snaps" --events "$T/$name-b.jsonl"
  local pidb=$LAST_PID
  serve_x86 a "$T/$name/c.yaml" --save-snapshots "$T/$name/snaps" --events "$T/$name-a.jsonl"
  local pida=$LAST_PID
  wait_exit "$pida" 120
  local rca=$EXIT_CODE
  wait_exit "$pidb" 30
  local rcb=$EXIT_CODE
  [ $rca = $CODE ] || fail "$name: node a exited $rca, want $CODE"
  [ $rcb = $CODE ] || fail "$name: node b exited $rcb, want $CODE"
  diff "$T/ref.out" "$T/$name.out" >"$T/$name.diff" || fail "$name: output differs from kafu run: $(head -5 "$T/$name.diff")"
  cmp -s "$T/ref/xisa.log" "$T/$name/xisa.log" || fail "$name: xisa.log differs from kafu run's"
}

run mixed aarch64
grep -q "node b: listening on .*aarch64" "$T/mixed-b.err" || fail "node b is not the aarch64 kafu: $(head -2 "$T/mixed-b.err")"
n=$(migrations_in "$T/mixed-a.jsonl")
[ "$n" -ge $ROUNDS ] || fail "expected >= $ROUNDS migrations a -> b, saw $n"
grep -q '"delta":true' "$T/mixed-a.jsonl" && grep -q '"delta":true' "$T/mixed-b.jsonl" ||
  fail "no delta transfer in one direction"
ok "x86-64 <-> aarch64: $((2 * ROUNDS + 1)) migrations, output, log file and exit code $CODE equal kafu run's"

# the same run with two x86-64 nodes: every snapshot's program state must match
run x86only x86_64
# (--save-snapshots writes a full copy next to each delta; the events must
# still describe the delta that was sent)
grep -q '"delta":true' "$T/x86only-a.jsonl" && grep -q '"delta":true' "$T/x86only-b.jsonl" ||
  fail "x86-only run: the events report no delta transfer"
state() { # snapshot -> its program state as JSON (host clocks and the
  # per-process generation of a homed fd's registry left out: both differ per run)
  "$KAFU" inspect --json "$1" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["valid"], s["error"]
fds = [{k: v for k, v in f.items() if k != "home_gen"} for f in s["fds"]]
print(json.dumps({"resume": s["resume"], "stack": s["stack"], "fds": fds,
                  "globals": [g for g in s["globals"] if not g["name"].startswith("kafu:")],
                  "memory": [s["memory"][k] for k in ("size", "image_id")]}, sort_keys=True))'
}
nsnap=0
for f in "$T/mixed/snaps"/*.kafusnap; do
  g="$T/x86only/snaps/${f##*/}"
  [ -f "$g" ] || fail "x86-only run has no ${f##*/}"
  [ "$(state "$f")" = "$(state "$g")" ] || fail "${f##*/}: program state differs between the aarch64 and x86-64 runs"
  nsnap=$((nsnap + 1))
done
[ $nsnap -ge $((2 * ROUNDS)) ] || fail "only $nsnap snapshots saved"
ok "$nsnap snapshots: the same memory image, globals, stack and files whether b is aarch64 or x86-64"

for f in "$KAFU_SRC"/tests/golden/snapshot/*.kafusnap; do
  x=$("$KAFU" inspect --json "$f") || fail "x86-64 kafu inspect ${f##*/}"
  y=$(a64 inspect --json "$f") || fail "aarch64 kafu inspect ${f##*/}"
  [ "$x" = "$y" ] || fail "${f##*/} decodes differently on aarch64"
  echo "$x" | grep -q '"image_verified":true' || fail "${f##*/}: image not verified"
done
ok "golden snapshots decode identically on x86-64 and aarch64"
to_b=$(ms_of "$T/mixed-a.jsonl")
to_a=$(ms_of "$T/mixed-b.jsonl")
echo "info: median migration (unwind + encode + transfer until acknowledged): x86-64 -> aarch64 (emulated)" \
  "${to_b} ms, aarch64 -> x86-64 ${to_a} ms"

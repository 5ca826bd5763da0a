#!/usr/bin/env bash
# singlenode_snapshots.sh — what `kafu singlenode` shows about migrations:
# --save-snapshots DIR writes every --verify snapshot as NNNN-<from>-<to>.kafusnap,
# each accepted by `kafu inspect` (text and --json, which must parse as JSON)
# with the right nodes and migration stack; the --events JSON Lines (every line
# JSON; --verify migrations carry bytes and per-phase milliseconds); the info
# logs "Migration cloud -> edge (Entering f)" / "(Returning from f)".
source "$KAFU_SRC/tests/shell/lib/singlenode.sh"
build nest
config "$T/n.yaml" "$T/nest.wasm" EFEC

"$KAFU" singlenode serve --save-snapshots "$T/snaps" --events "$T/n.jsonl" "$T/n.yaml" >"$T/n.out" 2>"$T/n.err" ||
  fail "--save-snapshots run failed"
want="0001-cloud-edge 0002-edge-fog 0003-fog-edge 0004-edge-cloud 0005-cloud-edge 0006-edge-fog 0007-fog-edge 0008-edge-cloud"
got=$(cd "$T/snaps" && ls | sed 's/\.kafusnap$//' | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] || fail "snapshot files: '$got', expected '$want'"
# --save-snapshots implies --verify: the events carry the real checkpoint's numbers
grep -q '"wire_bytes"' "$T/n.jsonl" || fail "--save-snapshots did not imply --verify"
depths="1 2 3 4 3 2 1 0"
k=0
for f in "$T"/snaps/*.kafusnap; do
  k=$((k + 1))
  name=${f##*/}
  from=$(echo "$name" | cut -d- -f2)
  to=$(echo "$name" | cut -d- -f3 | sed 's/\.kafusnap//')
  "$KAFU" inspect "$f" >"$T/i.txt" 2>&1 || fail "kafu inspect $name: exit $?: $(cat "$T/i.txt")"
  grep -q "^kafu snapshot (format version 1), [0-9]* bytes: valid" "$T/i.txt" || fail "inspect $name: $(head -1 "$T/i.txt")"
  grep -q "from node $from to node $to" "$T/i.txt" || fail "inspect $name: nodes: $(grep 'from node' "$T/i.txt")"
  "$KAFU" inspect --json "$f" >"$T/i.json" || fail "kafu inspect --json $name"
  python3 -m json.tool "$T/i.json" >/dev/null || fail "inspect --json $name is not JSON"
  python3 - "$T/i.json" "$from" "$to" "$(echo $depths | cut -d' ' -f$k)" "$(stat -c %s "$f")" <<'PY' ||
import json, sys
j = json.load(open(sys.argv[1]))
assert j["valid"] is True and j["error"] is None, j["error"]
assert (j["source_node"], j["target_node"]) == (sys.argv[2], sys.argv[3]), (j["source_node"], j["target_node"])
assert len(j["stack"]) == int(sys.argv[4]), ("stack depth", len(j["stack"]), sys.argv[4])
assert j["bytes"] == int(sys.argv[5]), ("bytes", j["bytes"])
PY
    fail "inspect --json $name: wrong content"
done
ok "--save-snapshots: 8 files named NNNN-from-to, each valid for kafu inspect (text, JSON), stack depths $depths"

# events: every line is JSON; --verify migrations have bytes and per-phase ms
python3 - "$T/n.jsonl" <<'PY' || fail "events of --verify"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["type"] == "start" and ev[0]["node"] == "cloud", ev[0]
assert ev[-1]["type"] == "finish" and ev[-1]["status"] == "finished" and ev[-1]["exit_code"] == 0, ev[-1]
mig = [e for e in ev if e["type"] == "migration"]
assert len(mig) == 8, len(mig)
for e in mig:
    for k in ("from", "to", "kind", "function", "fn_id"):
        assert k in e, (k, e)
    assert e["node"] == e["from"], e
    assert e["kind"] in ("enter", "exit"), e
    for k in ("unwind_ms", "encode_ms", "transfer_ms", "decode_ms", "restore_ms", "rewind_ms"):
        assert isinstance(e[k], (int, float)) and e[k] >= 0, (k, e)
    assert e["raw_bytes"] > 0 and 0 < e["wire_bytes"] < e["raw_bytes"] and e["memory_bytes"] >= e["raw_bytes"], e
    assert e["delta"] is False, e
assert any(e["encode_ms"] > 0 for e in mig) and any(e["decode_ms"] > 0 for e in mig)
assert all(a["time_ns"] <= b["time_ns"] for a, b in zip(ev, ev[1:])), "events out of order"
PY
"$KAFU" singlenode serve --events "$T/e.jsonl" "$T/n.yaml" >"$T/e.out" 2>"$T/e.err" || fail "emulate run"
python3 - "$T/e.jsonl" <<'PY' || fail "events of emulate mode"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
mig = [e for e in ev if e["type"] == "migration"]
assert len(mig) == 8 and all("wire_bytes" not in e for e in mig), mig
PY
ok "events: JSON Lines; --verify migrations carry raw/wire/memory bytes and 6 phase timings"

# info logs
for line in "INFO Program is starting on cloud" "INFO Migration cloud -> edge (Entering at_edge)" \
  "INFO Migration edge -> fog (Entering at_fog)" "INFO Migration cloud -> edge (Returning from at_cloud)" \
  "INFO Migration edge -> cloud (Returning from at_edge)" "INFO Program finished on cloud (exit code 0)"; do
  for f in n e; do grep -qF "$line" "$T/$f.err" || fail "log of $f lacks '$line'"; done
done
"$KAFU" singlenode serve -q --verify "$T/n.yaml" >"$T/q.out" 2>"$T/q.err" || fail "-q run"
[ -s "$T/q.err" ] && fail "-q still logs: $(head -3 "$T/q.err")"
cmp -s "$T/q.out" "$T/e.out" || fail "-q changed the output"
ok "info logs name every migration; -q silences them"

# --save-snapshots into something that cannot be a directory
: >"$T/afile"
"$KAFU" singlenode serve --save-snapshots "$T/afile/sub" "$T/n.yaml" >"$T/x.out" 2>"$T/x.err"
rc=$?
[ "$rc" = 1 ] || fail "--save-snapshots under a file: exit $rc"
grep -q "kafu singlenode: error: --save-snapshots $T/afile/sub" "$T/x.err" || fail "--save-snapshots error: $(cat "$T/x.err")"
[ -s "$T/x.out" ] && fail "the program ran although --save-snapshots failed"
ok "--save-snapshots DIR that cannot be created -> exit 1 before the program runs"

# the config's compression reaches the snapshots --verify makes
for c in "memory_compression: false|none" "compression: zstd|zstd" "compression: lz4|lz4"; do
  EXTRA_YAML=$'cluster:\n  migration:\n    '"${c%|*}" config "$T/c.yaml" "$T/nest.wasm" E
  rm -rf "$T/cs"
  "$KAFU" singlenode serve -q --save-snapshots "$T/cs" "$T/c.yaml" >"$T/c.out" 2>"$T/c.err" || fail "${c%|*}: exit $?"
  "$KAFU" inspect "$T/cs/0001-cloud-edge.kafusnap" | grep -q "full image, ${c#*|}," ||
    fail "${c%|*}: snapshot is not ${c#*|}: $("$KAFU" inspect "$T/cs/0001-cloud-edge.kafusnap" | grep memory:)"
done
ok "cluster.migration compression none/zstd/lz4 used by --verify snapshots"

#!/usr/bin/env bash
# trace_timeline.sh — `kafu trace`: the structure of the SVG drawn for a known
# events file (tests/data/trace/cluster.jsonl: lanes, where the program was,
# migrations as arrows between the right lanes with their bytes and phases,
# failures marked), the HTML page, bad input; and on real runs: a cluster's
# migration and restore records share a migration_id, and the picture of a
# `kafu launch` and a `kafu singlenode --verify` run shows every migration.
source "$KAFU_SRC/tests/shell/lib/common.sh"
need python3 python3
DATA=$KAFU_SRC/tests/data/trace

# check_svg FILE LANES MIGRATIONS FAILURES -> structural checks with an XML parser
check_svg() {
  python3 - "$@" <<'PY' || fail "$1: the picture's structure is wrong"
import sys, xml.etree.ElementTree as ET
path, lanes, migs, fails = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(path).getroot()
def die(msg):
    print(msg); sys.exit(1)
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
g = lambda cls: [e for e in root.iter("{http://www.w3.org/2000/svg}g") if e.get("class") == cls]
lane_nodes = [e.get("data-node") for e in g("lane")]
if lane_nodes != lanes: die("lanes %s, want %s" % (lane_nodes, lanes))
ys = {}
for e in g("lane"):
    line = e.find("s:line", ns)
    ys[e.get("data-node")] = float(line.get("y1"))
    if not e.findall("s:rect[@class='span']", ns): die("lane %s: no span of the program" % e.get("data-node"))
m = g("migration")
if len(m) != migs: die("%d migrations drawn, want %d" % (len(m), migs))
for e in m:
    a = e.find("s:line[@class='arrow']", ns)
    if a is None: die("migration without an arrow")
    y1, y2 = float(a.get("y1")), float(a.get("y2"))
    f, t = e.get("data-from"), e.get("data-to")
    if abs(y1 - ys[f]) > 10 or abs(y2 - ys[t]) > 10: die("arrow %s->%s drawn from y %s to %s" % (f, t, y1, y2))
    if float(a.get("x2")) < float(a.get("x1")): die("arrow goes back in time")
    if e.find("s:title", ns) is None: die("migration without a tooltip")
    ph = e.findall(".//s:rect", ns)
    if ph and [r.get("class").split()[-1] for r in ph] != ["phase-" + p for p in
            ("unwind", "encode", "transfer", "decode", "restore", "rewind")][:len(ph)]:
        die("phases out of order: %s" % [r.get("class") for r in ph])
    if ph:
        tot = sum(float(r.get("data-ms")) for r in ph)
        if abs(tot - float(e.get("data-ms"))) > 0.01 * max(1, tot): die("phases add up to %s, not %s" % (tot, e.get("data-ms")))
if len(g("failure")) != fails: die("%d failures marked, want %d" % (len(g("failure")), fails))
print("svg ok: %d lanes, %d migrations, %d failures" % (len(lane_nodes), len(m), fails))
PY
}

# 1. a known events file
run "$KAFU" trace "$DATA/cluster.jsonl" -o "$T/known.svg"
expect_rc 0 "kafu trace"
expect_err "2 migrations between 3 nodes, events marked -> $T/known.svg" "kafu trace says where"
check_svg "$T/known.svg" cloud,edge,fog 2 2
grep -q 'data-id="cloud.1.1"[^>]*data-wire-bytes="1048576"' "$T/known.svg" || fail "migration 1: id and bytes"
grep -q 'detect 1.0 MiB full, 8.5 ms' "$T/known.svg" || fail "migration 1: label"
grep -q 'node fog at 127.0.0.1:50053 died during execution' "$T/known.svg" || fail "the failure's message"
run "$KAFU" trace "$DATA/cluster.jsonl" -o "$T/known.html"
expect_rc 0 "kafu trace -o .html"
[ "$(grep -c '<tr class="migration">' "$T/known.html")" = 2 ] || fail "html: migration table"
grep -q '<svg ' "$T/known.html" || fail "html: no picture"
grep -q '<td class="l">full, zstd-1</td>' "$T/known.html" || fail "html: the codec of migration 1"
cp "$DATA/cluster.jsonl" "$T/copy.jsonl"
run "$KAFU" trace -q "$T/copy.jsonl"; expect_rc 0 "default output"
[ -s "$T/copy.svg" ] && [ -z "$err" ] || fail "default output next to the events, -q: $err"
run "$KAFU" trace --format html "$DATA/cluster.jsonl" -o -; expect_rc 0 "--format html -o -"
grep -q '^<!DOCTYPE html>' "$T/out" || fail "--format html to stdout"
ok "the picture of a known events file: lanes, spans, arrows between the right lanes, phases, failures"

# 2. bad input and usage
run "$KAFU" trace "$DATA/bad.jsonl" -o "$T/bad.svg"; expect_rc 1 "bad events"
expect_err "kafu trace: error: $DATA/bad.jsonl:2: not an event" "bad events name file:line"
[ -e "$T/bad.svg" ] && fail "a picture of bad events"
run "$KAFU" trace "$T/none.jsonl"; expect_rc 1 "missing file"
expect_err "none.jsonl" "missing file named"
run "$KAFU" trace; expect_rc 2 "no events file"
run "$KAFU" trace "$DATA/cluster.jsonl" --format png; expect_rc 2 "--format png"
ok "bad events: file:line, nothing written; usage errors exit 2"

# 3. real runs: a two-node cluster and singlenode --verify
EX=$T/basic
cp -r "$KAFU_SRC/examples/basic" "$EX"
"$KAFU" cc -O2 "$EX/main.c" -o "$EX/main.wasm" || fail "kafu cc examples/basic"
read -r P <<<"$(python3 -c 'import socket
for b in range(20000, 60000, 89):
    try:
        ss=[socket.socket() for _ in range(2)]
        [s.bind(("127.0.0.1", b+i)) for i, s in enumerate(ss)]
        print(b); break
    except OSError: pass
    finally: [s.close() for s in ss]')"
run "$KAFU" launch -q --port-base "$P" --events "$T/launch.jsonl" "$EX/kafu-config.yaml"
expect_rc 0 "launch"
python3 - "$T/launch.jsonl" <<'PY' || fail "migration/restore records of the cluster run: $(cat "$T/launch.jsonl")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
mig = {e["migration_id"]: e for e in ev if e["type"] == "migration"}
res = [e for e in ev if e["type"] == "restore"]
assert len(mig) == 2 and len(res) == 2, (len(mig), len(res))
for r in res:
    m = mig[r["migration_id"]]                       # the restore names its migration
    assert m["to"] == r["node"] and m["from"] == r["from"], (m, r)
    assert "rewind_ms" in r and "decode_ms" not in m, (m, r)  # each side writes its own phases
PY
run "$KAFU" trace "$T/launch.jsonl" -o "$T/launch.svg"; expect_rc 0 "trace of launch"
check_svg "$T/launch.svg" cloud,edge 2 0
[ "$(grep -o 'class="phase phase-' "$T/launch.svg" | wc -l)" = 12 ] || fail "launch: every migration shows six phases"
# a call and its return between the same lanes, a few ms apart: their labels
# (text over phase bar, 20 px) must not cover each other
python3 - "$T/launch.svg" <<'PY' || fail "launch: the labels of the call and its return overlap"
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
ys = [float(t.get("y")) for t in ET.parse(sys.argv[1]).iter(ns + "text") if t.get("class") == "mig-label"]
sys.exit(0 if len(ys) == 2 and abs(ys[0] - ys[1]) >= 20 else 1)
PY
run "$KAFU" singlenode --verify -q --events "$T/verify.jsonl" "$EX/kafu-config.yaml"; expect_rc 0 "singlenode --verify"
run "$KAFU" trace "$T/verify.jsonl" -o "$T/verify.svg"; expect_rc 0 "trace of singlenode"
check_svg "$T/verify.svg" cloud,edge 2 0
ok "real runs: restore records name their migration; launch and singlenode --verify drawn"

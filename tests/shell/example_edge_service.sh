#!/usr/bin/env bash
# example_edge_service.sh — examples/edge-service on two real nodes: an HTTP
# server on "edge" (nodes.edge.listen) whose request handler runs on "cloud",
# reading and writing the edge's connections from there. Its answers are
# byte for byte those of the same program under `kafu run --tcplisten` (no
# migration); then the faults: clients that break off mid-body, reset right
# after sending (while the program migrates), or never send (the cloud waits
# at the edge without spinning), and a thousand short connections with no fd
# left open on either node.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
EX="$KAFU_SRC/examples/edge-service"
CLIENT="python3 $EX/client.py"

"$KAFU" cc -O2 "$EX/service.c" -o "$T/service.wasm" > "$T/cc.log" 2>&1 || { cat "$T/cc.log"; fail "kafu cc"; }
"$KAFU" aot "$T/service.wasm" > /dev/null || fail "kafu aot"

# ---- reference: the same program without migration ----
read -r PREF P1 P2 PSVC <<< "$(free_ports 4)"
"$KAFU" run --tcplisten "127.0.0.1:$PREF" "$T/service.wasm" 0 > "$T/run.out" 2> "$T/run.err" &
PIDS+=($!)
$CLIENT "$PREF" wait || fail "kafu run service did not answer"
$CLIENT "$PREF" check "$T/ref.bin" > /dev/null || fail "check against kafu run"
ok "kafu run --tcplisten answered $(stat -c %s "$T/ref.bin") bytes"

# ---- edge (coordinator, the socket's home) + cloud (the handler) ----
config "$T/c.yaml" service.wasm '["0"]' edge="$P1" cloud="$P2"
python3 - "$T/c.yaml" "$PSVC" <<'PY'
import sys
p, port = sys.argv[1], sys.argv[2]
s = open(p).read().replace("  cloud:\n", "    listen: [\"127.0.0.1:%s\"]\n  cloud:\n" % port, 1)
open(p, "w").write(s)
PY
# one process playing both nodes, a real checkpoint and restore per migration
"$KAFU" singlenode serve --verify --events "$T/sn.jsonl" "$T/c.yaml" > "$T/sn.out" 2> "$T/sn.err" &
SN=$!
PIDS+=("$SN")
$CLIENT "$PSVC" wait || fail "singlenode service did not answer"
$CLIENT "$PSVC" check "$T/sn.bin" > /dev/null || fail "check against singlenode --verify"
cmp -s "$T/ref.bin" "$T/sn.bin" || fail "singlenode --verify answers differ from kafu run's"
ok "singlenode --verify answers = kafu run's ($(migrations_in "$T/sn.jsonl") migrations)"
kill9 "$SN"

serve edge "$T/c.yaml" --events "$T/ev.jsonl"
EDGE=$LAST_PID
serve cloud "$T/c.yaml" --events "$T/ev.jsonl"
CLOUD=$LAST_PID
$CLIENT "$PSVC" wait || fail "cluster service did not answer"
$CLIENT "$PSVC" check "$T/got.bin" > /dev/null || fail "check against the cluster"
cmp -s "$T/ref.bin" "$T/got.bin" || fail "the cluster's answers differ from kafu run's"
n=$(migrations_in "$T/ev.jsonl")
[ "$n" -ge 18 ] || fail "only $n migrations: the handler did not run on cloud"
grep -q '"from":"edge","to":"cloud"' "$T/ev.jsonl" || fail "no edge -> cloud migration"
ok "cluster answers = kafu run's, byte for byte ($n migrations)"

fwd() { get "$P2" /metrics | sed -n 's/^kafu_forwarded_calls_total{node="cloud",direction="out"} //p'; }
fds() { ls "/proc/$1/fd" | wc -l; }

# ---- faults ----
$CLIENT "$PSVC" fault partial 0.3 || fail "partial client"
$CLIENT "$PSVC" fault rst || fail "resetting client"
$CLIENT "$PSVC" short 1 > /dev/null || fail "service broken after clients that broke off"
ok "clients breaking off mid-body and right after sending: the service goes on"

# a client that never sends: the handler waits on cloud for the edge's
# connection; the home holds each forwarded read up to a 1 s slice (no spinning)
before=$(fwd)
$CLIENT "$PSVC" fault idle 2.5 &
IDLE=$!
sleep 0.5
$CLIENT "$PSVC" short 1 > /dev/null & # queued behind the idle one
QUEUED=$!
wait "$IDLE" || fail "idle client"
wait "$QUEUED" || fail "a client queued behind an idle one was not served"
after=$(fwd)
[ $((after - before)) -le 12 ] || fail "$((after - before)) forwarded calls while a client idled 2.5 s (spinning?)"
ok "a client that never sends: cloud waited at home ($((after - before)) forwarded calls in 2.5 s)"

# thousands of short connections: no fd left open on either node
$CLIENT "$PSVC" short 20 > /dev/null || fail "warm-up"
e0=$(fds "$EDGE") c0=$(fds "$CLOUD")
$CLIENT "$PSVC" short 1500 > "$T/short.out" || fail "1500 short connections"
sleep 0.3
e1=$(fds "$EDGE") c1=$(fds "$CLOUD")
[ "$e1" -le $((e0 + 2)) ] || fail "edge: $e0 fds before 1500 connections, $e1 after"
[ "$c1" -le $((c0 + 2)) ] || fail "cloud: $c0 fds before 1500 connections, $c1 after"
ok "1500 short connections, each handled on cloud: fds edge $e0 -> $e1, cloud $c0 -> $c1"

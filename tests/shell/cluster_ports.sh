#!/usr/bin/env bash
# Start-up errors of `kafu serve` / `kafu launch`: port already in use,
# non-local address or duplicate port for launch, unknown node id, usage
# errors, an unreachable peer (start-up timeout naming it), and --listen.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build pingpong

read -r PA PB <<<"$(free_ports 2)"
config "$T/c.yaml" pingpong.wasm '["1"]' a="$PA" b="$PB"

# port in use: a second `kafu serve` for the same node
serve b "$T/c.yaml"; PID_B=$LAST_PID
wait_ready "$PB"
"$KAFU" serve --node-id b "$T/c.yaml" >"$T/dup.out" 2>"$T/dup.err"
rc=$?
[ $rc = 1 ] || fail "second serve on a busy port exited $rc, expected 1"
grep -q "kafu serve: error: node b: cannot listen on 127.0.0.1:$PB: address already in use" "$T/dup.err" ||
  fail "port-in-use message: $(cat "$T/dup.err")"
ok "serve: port in use names address:port"

# launch: the same busy port is found before anything starts
"$KAFU" launch "$T/c.yaml" >"$T/l.out" 2>"$T/l.err"
rc=$?
[ $rc = 1 ] || fail "launch with a busy port exited $rc"
grep -q "kafu launch: error: node b: cannot listen on 127.0.0.1:$PB: address already in use" "$T/l.err" ||
  fail "launch port-in-use message: $(cat "$T/l.err")"
kill "$PID_B"; wait_exit "$PID_B" 10
[ "$EXIT_CODE" = 143 ] || fail "SIGTERM'd serve exited $EXIT_CODE, expected 143"
ok "launch: busy port found up front; SIGTERM -> 143"

# launch: non-local address, duplicate ports
awk '/address: 127.0.0.1/ && ++n == 2 { sub(/127.0.0.1/, "10.1.2.3") } 1' "$T/c.yaml" >"$T/remote.yaml"
"$KAFU" launch "$T/remote.yaml" >/dev/null 2>"$T/r.err" && fail "launch accepted a non-local address"
grep -q "node 'b' has address '10.1.2.3'.*must be local" "$T/r.err" || fail "non-local message: $(cat "$T/r.err")"
# same port, different spellings of this machine: only launch can tell they collide
awk -v pa="$PA" -v pb="$PB" '/address: 127.0.0.1/ && ++n == 2 { sub(/127.0.0.1/, "localhost") }
  { sub("port: " pb, "port: " pa) } 1' "$T/c.yaml" >"$T/dupport.yaml"
"$KAFU" launch "$T/dupport.yaml" >/dev/null 2>"$T/d.err" && fail "launch accepted two nodes on one port"
grep -q "nodes 'a' and 'b' both use port $PA" "$T/d.err" || fail "duplicate-port message: $(cat "$T/d.err")"
ok "launch: non-local address and duplicate port rejected, naming the node"

# usage errors
"$KAFU" serve --node-id x "$T/c.yaml" >/dev/null 2>"$T/u.err"; rc=$?
[ $rc = 1 ] && grep -q "no node 'x' in \`nodes\` (nodes: a, b)" "$T/u.err" || fail "unknown node id: rc $rc: $(cat "$T/u.err")"
"$KAFU" serve "$T/c.yaml" >/dev/null 2>&1; [ $? = 2 ] || fail "serve without --node-id should exit 2"
"$KAFU" serve --bogus "$T/c.yaml" >/dev/null 2>&1; [ $? = 2 ] || fail "serve --bogus should exit 2"
(cd "$T" && "$KAFU" launch >/dev/null 2>"$T/noconf.err"; [ $? = 1 ] && grep -q "kafu-config.yaml: No such file" "$T/noconf.err") ||
  fail "launch without CONFIG reads ./kafu-config.yaml: $(cat "$T/noconf.err")"
"$KAFU" launch --bogus "$T/c.yaml" >/dev/null 2>&1; [ $? = 2 ] || fail "launch --bogus should exit 2"
"$KAFU" serve --help | grep -q 'Usage: kafu serve --node-id ID' || fail "serve --help"
"$KAFU" launch --help | grep -q 'Usage: kafu launch' || fail "launch --help"
"$KAFU" serve --node-id b "$T/missing.yaml" >/dev/null 2>"$T/m.err"; [ $? = 1 ] || fail "missing config should exit 1"
ok "usage errors"

# a peer that never comes up: the coordinator gives up naming it
read -r PA PB <<<"$(free_ports 2)"
config "$T/t.yaml" pingpong.wasm '["1"]' a="$PA" b="$PB"
sed -i 's/startup_timeout_ms: 20000/startup_timeout_ms: 1500/' "$T/t.yaml"
serve a "$T/t.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 30
[ "$EXIT_CODE" = 1 ] || fail "coordinator without its peer exited $EXIT_CODE"
grep -q "node b at 127.0.0.1:$PB did not become ready within 1500 ms.*refused\|node b at 127.0.0.1:$PB did not become ready within 1500 ms.*connect" "$T/a.err" ||
  fail "start-up timeout message: $(tail -3 "$T/a.err")"
ok "start-up timeout names the unreachable node and its address"

# --listen overrides where a node listens
read -r PA PB PX <<<"$(free_ports 3)"
config "$T/li.yaml" pingpong.wasm '["1"]' a="$PA" b="$PB"
serve b "$T/li.yaml" --listen "127.0.0.1:$PX"; PID_B=$LAST_PID
wait_ready "$PX"
[ "$(get "$PX" /status | json_get node)" = b ] || fail "--listen: /status on the override port"
kill "$PID_B"; wait_exit "$PID_B" 10
ok "--listen"

#!/usr/bin/env bash
# cluster_netio.sh — stdin and sockets used from a node that is not their home
# (tests/programs/cluster/netio.c; "cloud" is the coordinator and stdin's
# home, "edge" has the listening socket):
#   - a stdin stream (arriving in pieces) read partly on cloud, partly on edge
#     and the rest on cloud again: the output equals a native run fed the same
#     stdin;
#   - poll_oneoff from cloud on edge's sockets: a timeout with only remote
#     fds, a remote fd becoming ready, stdin (local) mixed with a remote fd;
#   - the home of a connection killed while the program uses it from another
#     node: a WASI error at once (not a hang), and the log names fd, home and
#     cause.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build netio
cc -O2 -I"$KAFU_SRC/include" "$PROGS/netio.c" -o "$T/native" || fail "native build"

# netio_config FILE ARGS HB_MS -> cloud + edge (with a listening socket on $PSVC)
read -r P1 P2 PSVC <<< "$(free_ports 3)"
netio_config() {
  HB_MS=$3 config "$1" netio.wasm "$2" cloud="$P1" edge="$P2"
  python3 - "$1" "$PSVC" <<'PY'
import sys
p, port = sys.argv[1], sys.argv[2]
lines = open(p).read().split("\n")
out, in_edge = [], False
for l in lines:
    out.append(l)
    if l == "  edge:":
        in_edge = True
    elif in_edge and l.startswith("    port:"):
        out.append('    listen: ["127.0.0.1:%s"]' % port)
        in_edge = False
open(p, "w").write("\n".join(out))
PY
}

# ---- stdin across nodes ----
python3 -c '
import random
random.seed(7)
for i in range(4000): print("line %d %s" % (i, "abcdefghij" * random.randint(0, 9)))' > "$T/in.txt"
"$T/native" stdin 25 2500 < "$T/in.txt" > "$T/native.out" || fail "native run"
netio_config "$T/stdin.yaml" '["stdin", "25", "2500"]' 200
# the stream arrives in pieces, with pauses: reads wait for it at home
feed() {
  local total=$(wc -c < "$T/in.txt") at=0 step=70000
  while [ "$at" -lt "$total" ]; do
    tail -c +$((at + 1)) "$T/in.txt" | head -c "$step"
    at=$((at + step))
    sleep 0.15
  done
}
feed | timeout 120 "$KAFU" launch --no-prefix --events "$T/stdin.jsonl" "$T/stdin.yaml" > "$T/stdin.out" 2> "$T/stdin.err" ||
  fail "launch (stdin)"
cmp -s "$T/native.out" "$T/stdin.out" || fail "output differs from the native run fed the same stdin: $(diff "$T/native.out" "$T/stdin.out" | head -5)"
grep -q '"from":"cloud","to":"edge"' "$T/stdin.jsonl" || fail "the program never went to edge"
b=$(grep -c '^B ' "$T/stdin.out")
[ "$b" = 2500 ] || fail "edge read $b lines, want 2500"
ok "stdin read on cloud, edge (forwarded) and cloud again = native ($(wc -l < "$T/stdin.out") lines)"

# ---- poll_oneoff on remote fds ----
netio_config "$T/poll.yaml" '["poll"]' 200
mkfifo "$T/stdin.fifo"
timeout 120 "$KAFU" launch --no-prefix "$T/poll.yaml" < "$T/stdin.fifo" > "$T/poll.out" 2> "$T/poll.err" &
LAUNCH=$!
PIDS+=("$LAUNCH")
exec 3> "$T/stdin.fifo"
wait_line() { # wait_line TEXT -> until the program printed it
  local i
  for ((i = 0; i < 400; i++)); do grep -q "$1" "$T/poll.out" && return 0; sleep 0.05; done
  fail "the program never printed '$1'"
}
wait_line "connect now"
python3 - "$PSVC" "$T/poll.out" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for _ in range(400):
    if "write conn now" in open(sys.argv[2]).read():
        break
    time.sleep(0.05)
s.sendall(b"hello conn\n")
time.sleep(3)
PY
CLIENT=$!
PIDS+=("$CLIENT")
wait_line "write stdin now"
sleep 0.2
echo "hello stdin" >&3
wait "$LAUNCH" || fail "launch (poll) exited $?"
exec 3>&-
cat > "$T/poll.want" <<'EOF'
timeout: poll=0 after >=400ms
connect now
ready: poll=1 revents=POLLIN in time=yes
write stdin now
mixed 1: poll=1 stdin=in conn=-
stdin: hello stdin
write conn now
mixed 2: poll=1 stdin=- conn=in
conn: hello conn
mixed timeout: poll=0 after >=300ms
EOF
diff -u "$T/poll.want" "$T/poll.out" > "$T/poll.diff" || fail "poll: $(cat "$T/poll.diff")"
ok "poll_oneoff: remote-only timeout, remote ready, local stdin mixed with a remote fd, mixed timeout"

# ---- the home dies while the program uses its connection ----
netio_config "$T/kill.yaml" '["kill"]' 10000 # liveness would notice only after 30 s
serve edge "$T/kill.yaml"
EDGE=$LAST_PID
serve cloud "$T/kill.yaml"
CLOUD=$LAST_PID
python3 - "$PSVC" <<'PY' &
import socket, sys, time
for _ in range(300):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        break
    except OSError:
        time.sleep(0.1)
time.sleep(60)
PY
PIDS+=($!)
for ((i = 0; i < 300; i++)); do grep -q "^accepted" "$T/cloud.out" && break; sleep 0.1; done
grep -q "^accepted" "$T/cloud.out" || fail "cloud never accepted through edge"
sleep 0.3 # cloud is in recv(), forwarded to edge
kill9 "$EDGE"
t0=$(date +%s%N)
wait_exit "$CLOUD" 20
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$EXIT_CODE" = 3 ] || fail "cloud exited $EXIT_CODE, want the program's 3"
grep -q "^recv failed: I/O error" "$T/cloud.out" || fail "recv did not fail with EIO: $(cat "$T/cloud.out")"
grep -q "^send after that: I/O error" "$T/cloud.out" || fail "send after a lost home: $(cat "$T/cloud.out")"
grep -qE "WARN node cloud: fd [0-9]+ \(connection homed on node edge\): node edge cannot be reached: .*127.0.0.1:$P2/io" "$T/cloud.err" ||
  fail "no log line naming fd, home and cause: $(grep WARN "$T/cloud.err")"
ok "home killed: EIO in ${ms} ms, logged with fd, home and cause"

# ---- kafu launch checks the program's ports before starting anything ----
netio_config "$T/clash.yaml" '["poll"]' 200
sed -i "s/127.0.0.1:$PSVC/127.0.0.1:$P1/" "$T/clash.yaml" # edge's socket on cloud's port
run "$KAFU" launch "$T/clash.yaml"
[ "$rc" -ne 0 ] || fail "launch with a clashing listen port succeeded"
expect_err "nodes.edge.listen[0] uses port $P1, the port of node 'cloud'" "listen port clash"
ok "kafu launch refuses a program socket on another node's port"

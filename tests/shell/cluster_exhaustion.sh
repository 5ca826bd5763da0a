#!/usr/bin/env bash
# Connection exhaustion (issue 16): slow clients that never finish their
# request headers ("slowloris") — 70 from the very address the peers and
# probes use, and 300 more from 300 other addresses — must neither make
# /healthz unreachable nor keep the cluster from starting and running. Before,
# one thread per connection with a 60 s idle timeout and 64 connections per
# address let them take every slot. The clients reconnect whatever the node
# closes, for a bounded time.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build ending

read -r PA PB <<<"$(free_ports 2)"
config "$T/x.yaml" ending.wasm '["slow", "3", "200"]' a="$PA" b="$PB" -- "  token: exhaustion-test-token"
serve b "$T/x.yaml"; PID_B=$LAST_PID
wait_ready "$PB"

# slowloris PORT SECONDS SRC... : keep one connection per source (address:count),
# one header byte per second each, reopening closed ones; prints what it held
cat >"$T/slow.py" <<'PY'
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
srcs = []
for a in sys.argv[3:]:
    ip, n = a.split(":")
    srcs += [ip] * int(n)
socks = [None] * len(srcs)
def connect(i):
    s = socket.socket()
    s.setblocking(False)
    s.bind((srcs[i], 0))
    try: s.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    socks[i] = [s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: " + b"a" * 10000, 0]
end, opened, peak = time.time() + secs, 0, 0
while time.time() < end:
    alive = 0
    for i in range(len(srcs)):
        if socks[i] is None:
            try: connect(i); opened += 1
            except OSError: socks[i] = None; continue
        s, data, pos = socks[i]
        try:
            s.send(data[pos:pos + 1]); socks[i][2] += 1; alive += 1
        except (BlockingIOError, InterruptedError):
            alive += 1
        except OSError:
            s.close(); socks[i] = None
    peak = max(peak, alive)
    time.sleep(1)
print(f"opened {opened} connections, at most {peak} open at once")
PY
others=$(for i in $(seq 1 300); do echo "127.0.$((1 + i / 250)).$((1 + i % 250)):1"; done)
python3 "$T/slow.py" "$PB" 14 127.0.0.1:70 >"$T/slow1.out" 2>&1 &
S1=$!
python3 "$T/slow.py" "$PB" 14 $others >"$T/slow2.out" 2>&1 &
S2=$!
PIDS+=("$S1" "$S2")
sleep 3
# probes from the attackers' own address keep working
for i in 1 2 3 4 5; do
  code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PB/healthz")
  [ "$code" = 200 ] || fail "GET /healthz under slowloris (probe $i): HTTP '$code'"
  sleep 0.5
done
# and the cluster starts and runs
serve a "$T/x.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 60
[ "$EXIT_CODE" = 0 ] || fail "the run under slowloris exited $EXIT_CODE: $(tail -3 "$T/a.err")"
[ "$(grep -c 'on b (3)' "$T/b.out")" = 3 ] || fail "the run under slowloris: $(cat "$T/b.out")"
wait_exit "$PID_B" 20
kill -0 "$S1" 2>/dev/null || kill -0 "$S2" 2>/dev/null || fail "the slow clients stopped before the run ended (nothing tested)"
wait "$S1" "$S2" 2>/dev/null
ok "70 + 300 slow clients: /healthz answers, the cluster runs ($(cat "$T/slow1.out"); $(cat "$T/slow2.out"))"

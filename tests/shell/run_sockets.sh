#!/usr/bin/env bash
# run_sockets.sh — `kafu run --tcplisten HOST:PORT`: the guest accepts a real TCP
# connection on 127.0.0.1 and echoes (sock_accept/recv/send/shutdown); a bad
# address and a port in use are clear errors.
source "$KAFU_SRC/tests/shell/lib/common.sh"
fail_context() { tail_logs "$T"/*.txt; }
clang --target=wasm32-wasi --sysroot=/usr -O2 "$KAFU_SRC/tests/programs/engine/echo.c" -o "$T/echo.wasm" ||
  fail "clang echo.c"
"$KAFU" aot "$T/echo.wasm" > /dev/null || fail "kafu aot"
P=$(free_ports 1)
"$KAFU" run --tcplisten "127.0.0.1:$P" "$T/echo.wasm" > "$T/out.txt" 2> "$T/err.txt" &
PID=$!
PIDS+=("$PID")
got=""
for _ in $(seq 100); do
  got=$(python3 - "$P" <<'PY' 2>/dev/null) && break
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"hello kafu")
print(s.recv(100).decode())
PY
  sleep 0.1
done
wait "$PID"; rc=$?
[ "$rc" = 0 ] || fail "kafu run exited $rc"
[ "$got" = "HELLO KAFU" ] || fail "echo answered '$got'"
grep -qx "served 10 bytes" "$T/out.txt" || fail "program output"
echo "ok: guest served a TCP connection"

# the port is taken now by a listener of ours: clear error, exit 1
python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' > "$T/port.txt" &
HOLD=$!
PIDS+=("$HOLD")
for _ in $(seq 50); do [ -s "$T/port.txt" ] && break; sleep 0.1; done
BUSY=$(cat "$T/port.txt")
"$KAFU" run --tcplisten "127.0.0.1:$BUSY" "$T/echo.wasm" > /dev/null 2> "$T/busy.txt"; rc=$?
kill "$HOLD" 2>/dev/null
[ "$rc" = 1 ] && grep -q "127.0.0.1:$BUSY: Address already in use" "$T/busy.txt" || fail "port in use: rc=$rc"
"$KAFU" run --tcplisten nonsense "$T/echo.wasm" > /dev/null 2> "$T/bad.txt"; rc=$?
[ "$rc" = 1 ] && grep -q "expected HOST:PORT" "$T/bad.txt" || fail "bad address: rc=$rc"
echo "ok: bad --tcplisten values are clear errors"

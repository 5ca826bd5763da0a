#!/usr/bin/env bash
# edge-service.sh — examples/edge-service under a bounded load on loopback:
# the same program without migration (`kafu run --tcplisten`) and on two
# nodes, with every request handled on "cloud" over the edge's connection
# (two migrations and a few forwarded calls per request); then the cost of one
# forwarded call (bench/programs/fwdcall.c), local vs forwarded.
#
#   bench/edge-service.sh [-n REQUESTS] [-b BODY_BYTES] [-r ROUNDS]
#
# Each round runs both setups back to back (interleaved, so machine load hits
# both alike); the table shows the median over rounds. The client is
# examples/edge-service/client.py: REQUESTS sequential POST /count on one
# keep-alive connection, then REQUESTS/4 with a new connection each; latency
# is per request as the client sees it. Writes edge-service.csv (every round)
# to $KAFU_BENCH_OUT (default build/bench-results), draws edge-service.png
# when gnuplot is installed, and ends with
#   edge-service rps_local=X rps_migrating=Y p50_ms_local=.. p50_ms_migrating=.. forwarded_call_us=Z
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
N=1000
BODY=100
ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift 2 ;;
    -b) BODY=$2; shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "edge-service.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$KAFU" ] || { echo "edge-service.sh: $KAFU not built (run make, or set KAFU=...)" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/cache}
OUT=${KAFU_BENCH_OUT:-${KAFU_BUILD:-$ROOT/build}/bench-results}
mkdir -p "$OUT"
CLIENT="python3 $ROOT/examples/edge-service/client.py"
"$KAFU" cc -O2 "$ROOT/examples/edge-service/service.c" -o "$WORK/service.wasm"
"$KAFU" cc -O2 "$ROOT/bench/programs/fwdcall.c" -o "$WORK/fwdcall.wasm"
"$KAFU" aot "$WORK/service.wasm" > /dev/null
"$KAFU" aot "$WORK/fwdcall.wasm" > /dev/null
free_ports() {
  python3 -c 'import socket,sys
ss=[socket.socket() for _ in range(int(sys.argv[1]))]
[s.bind(("127.0.0.1",0)) for s in ss]
print(*[s.getsockname()[1] for s in ss])' "$1"
}
# config FILE WASM ARGS FIRST SECOND LISTENER PORT...: two nodes, LISTENER has the socket
config() {
  local f=$1 wasm=$2 args=$3 a=$4 b=$5 l=$6 pa=$7 pb=$8 ps=$9
  {
    echo "name: bench-edge-service"
    echo "app: {path: $wasm, args: $args}"
    echo "nodes:"
    for n in "$a:$pa" "$b:$pb"; do
      echo "  ${n%%:*}:"
      echo "    address: 127.0.0.1"
      echo "    port: ${n#*:}"
      if [ "${n%%:*}" = "$l" ]; then echo "    listen: [\"127.0.0.1:$ps\"]"; fi
    done
  } > "$f"
}
stop() { for p in "$@"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }

# loads SETUP: both loads against the service on $PS, one CSV row each
loads() {
  $CLIENT "$PS" wait
  for mode in keepalive close; do
    local n=$N extra=""
    if [ $mode = close ]; then n=$((N / 4)) extra=--close; fi
    line=$($CLIENT "$PS" load "$n" --body "$BODY" $extra)
    echo "$r,$1,$mode,$(echo "$line" | sed 's/[a-z_0-9]*=//g; s/ /,/g')" >> "$OUT/edge-service.csv"
  done
}
echo "round,setup,mode,requests,seconds,rps,p50_ms,p99_ms" > "$OUT/edge-service.csv"
for ((r = 1; r <= ROUNDS; r++)); do
  read -r PA PB PS <<< "$(free_ports 3)"
  # without migration
  "$KAFU" run --tcplisten "127.0.0.1:$PS" "$WORK/service.wasm" 0 > /dev/null 2> "$WORK/run.err" &
  RP=$!
  PIDS+=("$RP")
  loads local
  stop "$RP"
  # handler on cloud
  config "$WORK/c.yaml" service.wasm '["0"]' edge cloud edge "$PA" "$PB" "$PS"
  KAFU_LOG=warn "$KAFU" serve --node-id edge "$WORK/c.yaml" > /dev/null 2> "$WORK/edge.err" &
  EP=$!
  KAFU_LOG=warn "$KAFU" serve --node-id cloud "$WORK/c.yaml" > /dev/null 2> "$WORK/cloud.err" &
  CP=$!
  PIDS+=("$EP" "$CP")
  loads migrating
  stop "$EP" "$CP"
done

# the cost of one forwarded call: fwdcall on cloud, the socket edge's; and the same calls local
read -r PA PB PS <<< "$(free_ports 3)"
echo_client() { # PORT: connect, echo 1 KiB blocks until the program closes
  python3 - "$1" <<'PY'
import socket, sys, time
for _ in range(600):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        break
    except OSError:
        time.sleep(0.05)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
    while len(buf) >= 1024:
        s.sendall(buf[:1024])
        buf = buf[1024:]
PY
}
"$KAFU" run --tcplisten "127.0.0.1:$PS" "$WORK/fwdcall.wasm" 2000 > "$WORK/fwd-local.out" &
RP=$!
echo_client "$PS"
wait "$RP"
config "$WORK/f.yaml" fwdcall.wasm '["2000"]' cloud edge edge "$PA" "$PB" "$PS"
KAFU_LOG=warn "$KAFU" launch --no-prefix "$WORK/f.yaml" > "$WORK/fwd-remote.out" 2> "$WORK/fwd.err" &
LP=$!
echo_client "$PS"
wait "$LP"

python3 - "$OUT" "$WORK/fwd-local.out" "$WORK/fwd-remote.out" "$N" "$BODY" <<'PY'
import csv, os, statistics, sys
out, floc, frem, n, body = sys.argv[1:]
rows = list(csv.DictReader(open(os.path.join(out, "edge-service.csv"))))
def med(setup, mode, key):
    return statistics.median(float(r[key]) for r in rows if r["setup"] == setup and r["mode"] == mode)
def fwd(path):
    line = [l for l in open(path) if l.startswith("fdstat_us=")][0]
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split())}
loc, rem = fwd(floc), fwd(frem)
print("\nexamples/edge-service, %s requests (POST /count, %s-byte body), loopback, median of %d rounds"
      % (n, body, len(set(r["round"] for r in rows))))
print("%-26s %-22s %9s %9s %9s" % ("connections", "handler", "req/s", "p50 ms", "p99 ms"))
for mode, what in (("keepalive", "one, kept alive"), ("close", "one per request")):
    for setup, name in (("local", "local (kafu run)"), ("migrating", "on cloud (2 nodes)")):
        print("%-26s %-22s %9.0f %9.3f %9.3f" % (what, name, med(setup, mode, "rps"), med(setup, mode, "p50_ms"),
                                                med(setup, mode, "p99_ms")))
print("\none call (us, median of 10 batches):   local  forwarded")
for d in (loc, rem):
    d["echo_us"] = d["send_us"] + d["recv_us"]
for k, name in (("fdstat_us", "fd_fdstat_get"), ("send_us", "sock_send 1 KiB"),
                ("echo_us", "1 KiB echo (send, client, recv)")):
    print("  %-32s %8.2f %10.2f" % (name, loc[k], rem[k]))
with open(os.path.join(out, "edge-service-calls.csv"), "w") as f:
    f.write("call,local_us,forwarded_us\n")
    for k in ("fdstat_us", "send_us", "echo_us"):
        f.write("%s,%.2f,%.2f\n" % (k[:-3], loc[k], rem[k]))
print("edge-service rps_local=%.0f rps_migrating=%.0f p50_ms_local=%.3f p50_ms_migrating=%.3f "
      "p99_ms_local=%.3f p99_ms_migrating=%.3f forwarded_call_us=%.1f"
      % (med("local", "keepalive", "rps"), med("migrating", "keepalive", "rps"),
         med("local", "keepalive", "p50_ms"), med("migrating", "keepalive", "p50_ms"),
         med("local", "keepalive", "p99_ms"), med("migrating", "keepalive", "p99_ms"), rem["fdstat_us"]))
PY
if command -v gnuplot > /dev/null; then
  awk -F, 'NR > 1 && $3 == "keepalive" {print $2, $6, $7, $8}' "$OUT/edge-service.csv" > "$WORK/plot.dat"
  gnuplot <<GP 2> /dev/null || true
set terminal png size 700,400
set output "$OUT/edge-service.png"
set title "edge-service: latency per request (keep-alive), loopback"
set ylabel "ms"
set key top left
set xrange [-0.5:$ROUNDS - 0.5]
set xtics 1
set xlabel "round"
set style data histograms
set style fill solid 0.6
plot "< grep '^local' $WORK/plot.dat" using 3 title "no migration, p50", \
     "< grep '^local' $WORK/plot.dat" using 4 title "no migration, p99", \
     "< grep '^migrating' $WORK/plot.dat" using 3 title "handler on cloud, p50", \
     "< grep '^migrating' $WORK/plot.dat" using 4 title "handler on cloud, p99"
GP
fi

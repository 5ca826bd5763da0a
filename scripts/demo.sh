#!/usr/bin/env bash
# demo.sh BUILD_DIR — what `make demo` shows: examples/basic compiled with the
# freshly built `kafu cc`, inspected, then run as a real two-node cluster on
# loopback with `kafu launch` (two `kafu serve` processes; the program starts on
# "cloud", migrates to "edge" for f() and back), and its events drawn as a
# timeline (kafu trace -> BUILD/demo/timeline.svg). Nothing is faked: every step
# runs the real binary, and the demo fails if the cluster run fails.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
KAFU="$BUILD/bin/kafu"
EX="$ROOT/examples/basic"

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B='' N=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
show() { printf '$ %s\n' "$*"; }

[ -x "$KAFU" ] || { echo "demo: $KAFU not found; build first (make)" >&2; exit 1; }

step "1/5 Compile examples/basic with kafu cc (clang -> wasm32-wasi, then Snapify)"
sed -n '/^KAFU_DEST/,$p' "$EX/main.c"
show "cd examples/basic && kafu cc -O2 main.c -o main.wasm"
if ! (cd "$EX" && "$KAFU" cc -O2 main.c -o main.wasm); then
  echo "demo: compiling examples/basic failed (run \`$KAFU doctor\` to check the toolchain)" >&2
  exit 1
fi

step "2/5 Inspect: what is annotated, and where it runs"
show "kafu inspect examples/basic/main.wasm"
"$KAFU" inspect "$EX/main.wasm" | sed -n '1,12p' || exit 1

step "3/5 Compile to native code once (AOT cache), so the cluster starts fast"
show "kafu aot examples/basic/main.wasm"
"$KAFU" aot "$EX/main.wasm" || exit 1

step "4/5 Run it as a two-node cluster on 127.0.0.1 (kafu launch: one kafu serve per node)"
# The example's config uses ports 50051/50052; if they are taken, --port-base
# moves the whole cluster to two free ports next to each other.
CFG="$EX/kafu-config.yaml"
BASE=$(python3 - <<'PY'
import socket
for b in [50051] + list(range(20000, 60000, 97)):
    ss = [socket.socket() for _ in range(2)]
    try:
        for i, s in enumerate(ss):
            s.bind(("127.0.0.1", b + i))
        print(b)
        break
    except OSError:
        pass
    finally:
        for s in ss:
            s.close()
PY
)
PORTS=()
if [ "$BASE" != 50051 ]; then
  PORTS=(--port-base "$BASE")
  echo "(ports 50051/50052 are busy; moving the cluster with --port-base $BASE)"
fi
OUT="$BUILD/demo"
mkdir -p "$OUT"
show "kafu launch ${PORTS[*]} --events $OUT/events.jsonl examples/basic/kafu-config.yaml"
"$KAFU" launch "${PORTS[@]}" --events "$OUT/events.jsonl" "$CFG"
rc=$?
if [ "$rc" != 0 ]; then
  echo "demo: the cluster run failed with exit code $rc" >&2
  exit 1
fi

step "5/5 A picture of the run, from the nodes' --events (JSON Lines)"
show "kafu trace $OUT/events.jsonl -o $OUT/timeline.svg"
"$KAFU" trace "$OUT/events.jsonl" -o "$OUT/timeline.svg" --title "make demo (examples/basic)" || exit 1
"$KAFU" trace -q "$OUT/events.jsonl" -o "$OUT/timeline.html" --title "make demo (examples/basic)" || exit 1
python3 - "$OUT/events.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
res = {e.get("migration_id"): e for e in ev if e.get("type") == "restore"}
for e in ev:
    if e.get("type") == "migration":
        r = res.get(e.get("migration_id"), {})
        print("  %s -> %s (%s %s): %d bytes on the wire (%s%s); unwind %.2f, encode %.2f, transfer %.2f, "
              "decode %.2f, restore %.2f, rewind %.2f ms" % (
                  e["from"], e["to"], e["kind"], e["function"], e.get("wire_bytes", 0),
                  "delta" if e.get("delta") else "full",
                  ", " + e["compression"] if e.get("compression") else "", e.get("unwind_ms", 0), e.get("encode_ms", 0),
                  e.get("transfer_ms", 0), r.get("decode_ms", 0), r.get("restore_ms", 0), r.get("rewind_ms", 0)))
PY
cat <<EOF

"Hello, from cloud!" was printed by the cloud node; f() ran on the edge node after
a live migration (linear memory, globals and the unwound call stack shipped over
HTTP), and execution came back to cloud when f() returned.

The timeline of this run: $OUT/timeline.svg
  (open it in a browser; $OUT/timeline.html adds a table of the migrations)
Try also:
    kafu singlenode serve --verify examples/basic/kafu-config.yaml
EOF

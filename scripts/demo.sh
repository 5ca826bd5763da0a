#!/usr/bin/env bash
# demo.sh BUILD_DIR — what `make demo` shows: examples/basic compiled with the
# freshly built `kafu cc`, inspected, then run as a real two-node cluster on
# loopback with `kafu launch` (two `kafu serve` processes; the program starts on
# "cloud", migrates to "edge" for f() and back). Nothing is faked: every step
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
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step "1/4 Compile examples/basic with kafu cc (clang -> wasm32-wasi, then Snapify)"
sed -n '/^KAFU_DEST/,$p' "$EX/main.c"
show "cd examples/basic && kafu cc -O2 main.c -o main.wasm"
if ! (cd "$EX" && "$KAFU" cc -O2 main.c -o main.wasm); then
  echo "demo: compiling examples/basic failed (run \`$KAFU doctor\` to check the toolchain)" >&2
  exit 1
fi

step "2/4 Inspect: what is annotated, and where it runs"
show "kafu inspect examples/basic/main.wasm"
"$KAFU" inspect "$EX/main.wasm" | sed -n '1,12p' || exit 1

step "3/4 Compile to native code once (AOT cache), so the cluster starts fast"
show "kafu aot examples/basic/main.wasm"
"$KAFU" aot "$EX/main.wasm" || exit 1

step "4/4 Run it as a two-node cluster on 127.0.0.1 (kafu launch: one kafu serve per node)"
# The example's config uses ports 50051/50052; if they are taken, run a copy on free ports.
CFG="$EX/kafu-config.yaml"
if ! python3 - <<'PY'
import socket, sys
for p in (50051, 50052):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
then
  ports=$(python3 -c 'import socket
ss=[socket.socket() for _ in range(2)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))')
  set -- $ports
  sed -e "s/50051/$1/; s/50052/$2/" -e "s|path: ./main.wasm|path: $EX/main.wasm|" -e "s|preopened_dir: .|preopened_dir: $EX|" "$CFG" > "$WORK/kafu-config.yaml"
  CFG="$WORK/kafu-config.yaml"
  echo "(ports 50051/50052 are busy; using $1/$2)"
fi
show "kafu launch --events events.jsonl examples/basic/kafu-config.yaml"
"$KAFU" launch --events "$WORK/events.jsonl" "$CFG"
rc=$?
if [ "$rc" != 0 ]; then
  echo "demo: the cluster run failed with exit code $rc" >&2
  exit 1
fi
step "Migrations (from the nodes' --events JSON Lines)"
python3 - "$WORK/events.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("type") == "migration":
        extra = ""
        if "wire_bytes" in e:
            extra = "  %d bytes on the wire (%s), unwind %.2f ms, encode+send %.2f ms" % (
                e["wire_bytes"], "delta" if e.get("delta") else "full", e.get("unwind_ms", 0),
                e.get("encode_ms", 0) + e.get("transfer_ms", 0))
        print("  %s -> %s (%s %s)%s" % (e["from"], e["to"], e["kind"], e["function"], extra))
PY
cat <<'EOF'

"Hello, from cloud!" was printed by the cloud node; f() ran on the edge node after
a live migration (linear memory, globals and the unwound call stack shipped over
HTTP), and execution came back to cloud when f() returned. Try also:
    kafu singlenode serve --verify examples/basic/kafu-config.yaml
EOF

#!/usr/bin/env bash
# nn-nodetests.sh [RUNNER...] — run the ONNX backend node tests of Debian's
# libonnx-testdata through kafu_nn and summarise what OpenCV cannot run.
#   RUNNER defaults to the native runner, build/tests/nn_nodetests --fork;
#   pass e.g. "build/bin/kafu run --dir /usr/share/libonnx-testdata nodetests.wasm"
#   to run them through wasi-nn from a guest.
# Prints the runner's per-test failures grouped by cause and the pass count.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=/usr/share/libonnx-testdata/data/node
[ -d "$DATA" ] || { echo "nn-nodetests: $DATA missing (apt-get install libonnx-testdata)" >&2; exit 1; }
if [ $# -eq 0 ]; then set -- "$ROOT/build/tests/nn_nodetests" --fork; fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" "$DATA" >"$out"
grep '^FAIL' "$out" | /usr/bin/python3 -c '
import re, sys, collections
groups = collections.defaultdict(list)
for line in sys.stdin:
    m = re.match(r"FAIL (\S+) \[(\w+)\] (.*)", line.rstrip("\n"))
    if not m:
        continue
    name, stage, msg = m.groups()
    op = re.search(r"of type \"(?:ai\.onnx\.[a-z.]+\.)?(\w+)\"", msg)
    const = re.search(r"Blob (\w+) not found in const blobs|constBlobs\.find", msg)
    node = re.search(r"Node \[(\w+)@", msg)
    if op:
        key = "operator not implemented by OpenCV: " + op.group(1)
    elif const:
        key = "needs a constant (initializer) where the test feeds an input: " + (node.group(1) if node else "?")
    elif "no wasi-nn tensor type" in msg or "string tensors" in msg:
        key = "tensor type wasi-nn cannot carry (string, bfloat16, uint16/32/64, int16)"
    elif stage == "compare":
        key = "runs, but the result differs: " + re.sub(r"_expanded$", "", name[5:]).split("_")[0]
    elif node:
        key = "OpenCV rejects the graph at import: " + node.group(1)
    elif stage == "compute":
        key = "OpenCV fails at compute (broadcast/shape limits)"
    else:
        key = "other: " + msg[:80]
    groups[key].append(name[5:])
for key in sorted(groups, key=lambda k: (-len(groups[k]), k)):
    tests = groups[key]
    more = ", ..." if len(tests) > 4 else ""
    print("%4d  %s  (%s%s)" % (len(tests), key, ", ".join(tests[:4]), more))
'
tail -n 1 "$out"

#!/usr/bin/env bash
# wasi-testsuite.sh — run the WASI preview1 conformance suite
# (WebAssembly/wasi-testsuite, prebuilt-binaries branch) against `kafu run`.
#
#   scripts/wasi-testsuite.sh SUITE_DIR [NAME_FILTER]
#
# SUITE_DIR is either one suite directory (containing manifest.json and *.wasm,
# e.g. tests/c/testsuite/wasm32-wasip1) or a checkout of the whole repository,
# in which case every tests/*/testsuite/wasm32-wasip1 suite is run (C, Rust,
# AssemblyScript: 72 tests). NAME_FILTER (a bash pattern) limits the tests.
#
# Each test runs the way the suite's own runner does it: in the suite
# directory, as `kafu run [--env K=V]... [--dir ROOT::/] test.wasm ARGS...`,
# with stdin a pipe, comparing the exit code (default 0) and the expected
# stdout. Files named *.cleanup under ROOT are removed before and after.
# Prints PASS/FAIL per test and "N passed, M failed"; exits 1 on any failure.
#
# Environment: KAFU (default: kafu in PATH, else build/bin/kafu),
# TEST_TIMEOUT seconds per test (default 120: the first run compiles).
set -uo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  usage
  [[ $# -lt 1 ]] && exit 2 || exit 0
fi
SUITE=$(cd "$1" 2>/dev/null && pwd) || { echo "wasi-testsuite: error: no such directory: $1" >&2; exit 2; }
FILTER=${2:-*}
here=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$(command -v kafu || echo "$here/build/bin/kafu")}
[[ -x "$KAFU" ]] || { echo "wasi-testsuite: error: kafu binary not found ($KAFU); set KAFU=" >&2; exit 2; }
command -v python3 >/dev/null || { echo "wasi-testsuite: error: python3 is needed to read the test configs" >&2; exit 2; }
TIMEOUT=${TEST_TIMEOUT:-120}

suites=()
if [[ -f "$SUITE/manifest.json" ]]; then
  suites=("$SUITE")
else
  for d in "$SUITE"/tests/*/testsuite/wasm32-wasip1; do
    [[ -f "$d/manifest.json" ]] && suites+=("$d")
  done
fi
[[ ${#suites[@]} -gt 0 ]] || { echo "wasi-testsuite: error: no wasm32-wasip1 suite under $SUITE" >&2; exit 2; }

# Emit the test's config as NUL-separated fields:
#   exit_code, root, has_stdout, stdout, nargs, args..., nenv, K=V...
read_config() {
  python3 - "$1" <<'PY'
import json, os, sys
path = sys.argv[1]
cfg = {}
if os.path.exists(path):
    with open(path) as f:
        cfg = json.load(f)
out = [str(cfg.get("exit_code", 0)), cfg.get("root", "") or "",
       "1" if "stdout" in cfg else "0", cfg.get("stdout", "")]
args = cfg.get("args", [])
out.append(str(len(args))); out += args
env = cfg.get("env", {})
out.append(str(len(env))); out += ["%s=%s" % (k, v) for k, v in env.items()]
sys.stdout.write("".join(s + "\0" for s in out))
PY
}

cleanup_root() { [[ -n "$1" && -d "$1" ]] && find "$1" -name '*.cleanup' ! -type l -prune -exec rm -rf {} + 2>/dev/null; true; }

pass=0
fail=0
failed=()
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in "${suites[@]}"; do
  suite_name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$dir/manifest.json" 2>/dev/null ||
               basename "$(dirname "$(dirname "$dir")")")
  echo "== $suite_name"
  for wasm in "$dir"/*.wasm; do
    name=$(basename "$wasm" .wasm)
    # shellcheck disable=SC2053
    [[ $name == $FILTER ]] || continue
    mapfile -d '' F < <(read_config "$dir/$name.json")
    want_code=${F[0]}; root=${F[1]}; has_out=${F[2]}; want_out=${F[3]}
    i=4; nargs=${F[$i]}; args=("${F[@]:$((i + 1)):$nargs}")
    i=$((i + 1 + nargs)); nenv=${F[$i]}; envs=("${F[@]:$((i + 1)):$nenv}")
    cmd=("$KAFU" run)
    for kv in "${envs[@]}"; do cmd+=(--env "$kv"); done
    if [[ -n "$root" ]]; then
      cmd+=(--dir "$root::/")
      cleanup_root "$dir/$root"
    fi
    cmd+=("$wasm" "${args[@]}")
    # stdin: a pipe (closed at once, like the suite runner's communicate())
    (cd "$dir" && : | timeout "$TIMEOUT" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err")
    code=$?
    [[ -n "$root" ]] && cleanup_root "$dir/$root"
    why=""
    if [[ "$code" != "$want_code" ]]; then
      why="exit code $code, expected $want_code"
      [[ $code == 124 ]] && why="timed out after ${TIMEOUT}s"
    elif [[ "$has_out" == 1 && "$(cat "$tmp/out"; echo x)" != "${want_out}x" ]]; then
      why="stdout '$(head -c 200 "$tmp/out")', expected '$want_out'"
    fi
    if [[ -z "$why" ]]; then
      pass=$((pass + 1))
      echo "PASS $name"
    else
      fail=$((fail + 1))
      failed+=("$name")
      echo "FAIL $name: $why"
      sed 's/^/     | /' "$tmp/err" | head -n 15
    fi
  done
done
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]

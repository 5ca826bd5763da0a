#!/usr/bin/env bash
# overhead.sh — execution overhead of Kafu's engine (wasm2c AOT, `kafu run`)
# on compute kernels, against the same C compiled natively (gcc -O2) and the
# same wasm under Node.js (node:wasi, V8).
#
#   bench/overhead.sh [-r REPS] [-k "matmul nbody ..."] [-a NAME:VAR=VAL[;VAR=VAL]]...
#                     [--no-node] [--no-snapify] [--cpu]
#
# -a adds a variant of `kafu run` with its own environment, e.g. the AOT
# compiler's flags: -a 'O3:KAFU_AOT_CFLAGS=-O3' -a 'generic:KAFU_AOT_NATIVE=0'
# (repeatable; columns NAME_s, NAME_vs_native and NAME_vs_native_geomean).
# --cpu measures user + system CPU time instead of wall time: steadier on a
# busy machine (it does not count time spent waiting for a core).
# --kafu-cc builds the kernels' wasm with `kafu cc -O2` (what a user's
# program is built with: no annotation, so no Snapify) instead of plain
# clang -O2; the two give different code for some loops (matmul).
# A variant's environment may name another kafu binary, KAFU_BIN=/path: that
# variant then runs (and compiles) with it, e.g. a build from before a change:
# -a 'before:KAFU_BIN=/tmp/old/build/bin/kafu'.
#
# Every kernel (bench/kernels/*.c) prints a checksum; the outputs of all
# variants must agree (a mismatch is reported, e.g. a wasm32 `long` bug). Times
# are wall-clock, best of REPS runs, compile excluded (`kafu aot` first; the
# engine cache is a private temp dir unless KAFU_CACHE_DIR is set). The
# variants run interleaved (native, kafu, each -a, node, snapified, then again
# REPS times), so a busy machine slows them alike.
#
# Snapified column (hook): when `kafu cc` (or clang + `kafu snapify`) can build
# a kernel with its entry function annotated (-DKAFU_BENCH_ANNOTATE, see
# bench/kernels/bench.h), that variant runs too and adds snapified_s and
# snapified_vs_native_geomean; otherwise the column is "-" and skipped.
#
# Prints a table, writes overhead.csv to $KAFU_BENCH_OUT (default
# build/bench-results; bench/results/ holds the curated copies), and ends with
#   overhead plain_vs_native_geomean=X node_vs_native_geomean=Z [snapified_vs_native_geomean=Y]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
REPS=3
KERNELS="matmul nbody sha256 sieve quicksort mandelbrot crc32"
USE_NODE=1
USE_SNAP=1
CPU=0
KAFU_CC=0
VARS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -r) REPS=$2; shift 2 ;;
    -k) KERNELS=$2; shift 2 ;;
    -a) case "$2" in
          native:*|kafu:*|node:*|snapified:*) echo "overhead.sh: -a: the name ${2%%:*} is taken by a column" >&2; exit 2 ;;
          [A-Za-z]*:*=*) VARS+=("$2") ;;
          *) echo "overhead.sh: -a wants NAME:VAR=VALUE[;VAR=VALUE], got '$2'" >&2; exit 2 ;;
        esac
        shift 2 ;;
    --no-node) USE_NODE=0; shift ;;
    --no-snapify) USE_SNAP=0; shift ;;
    --cpu) CPU=1; shift ;;
    --kafu-cc) KAFU_CC=1; shift ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "overhead.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$KAFU" ] || { echo "overhead.sh: $KAFU not built (set KAFU=...)" >&2; exit 1; }
command -v node >/dev/null || USE_NODE=0

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/cache}
K=$ROOT/bench/kernels
OUTDIR=${KAFU_BENCH_OUT:-${KAFU_BUILD:-$ROOT/build}/bench-results}
mkdir -p "$OUTDIR"
WASI_CC=(clang --target=wasm32-wasi --sysroot=/usr -O2)

# wall time (microseconds) of one run of "$@"; stdout -> $WORK/out
one_time() {
  local s e
  if [ $CPU = 1 ]; then # user + system CPU time of the command and its children
    local TIMEFORMAT='%3U %3S' t
    t=$( { time "$@" > "$WORK/out"; } 2>&1 | tail -1)
    awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%d", (a[1] + a[2]) * 1e6 }'
    return
  fi
  s=$(date +%s%N)
  "$@" > "$WORK/out"
  e=$(date +%s%N)
  echo $(( (e - s) / 1000 ))
}

# env assignments of variant $1 ("NAME:A=x;B=y") as words for env(1)
var_name() { echo "${1%%:*}"; }
var_env() { local IFS=';'; local -a a; read -r -a a <<< "${1#*:}"; printf '%s\n' "${a[@]}"; }
run_var() { # variant, command... ($KAFU as the command: the variant's KAFU_BIN if it names one)
  local v=$1; shift
  local -a e; mapfile -t e < <(var_env "$v")
  local x
  for x in "${e[@]}"; do case "$x" in KAFU_BIN=*) [ "$1" = "$KAFU" ] && set -- "${x#KAFU_BIN=}" "${@:2}" ;; esac; done
  env "${e[@]}" "$@"
}

# Snapified variant builder: prints the module path, or fails
build_snapified() { # kernel
  local k=$1 out=$WORK/$1.snap.wasm
  if "$KAFU" cc -O2 -DKAFU_BENCH_ANNOTATE -I"$ROOT/include" "$K/$k.c" -o "$out" -lm >/dev/null 2>&1; then
    echo "$out"; return 0
  fi
  "${WASI_CC[@]}" -DKAFU_BENCH_ANNOTATE -I"$ROOT/include" "$K/$k.c" -o "$WORK/$k.annot.wasm" -lm &&
    "$KAFU" snapify "$WORK/$k.annot.wasm" -o "$out" >/dev/null 2>&1 && echo "$out"
}

CSV=$OUTDIR/overhead.csv
hdr_s="" hdr_r="" 
for v in "${VARS[@]}"; do n=$(var_name "$v"); hdr_s="$hdr_s,${n}_s"; hdr_r="$hdr_r,${n}_vs_native"; done
echo "kernel,native_s,kafu_s,node_s,snapified_s,kafu_vs_native,node_vs_native,snapified_vs_native$hdr_s$hdr_r" > "$CSV"
printf "%-11s %9s %9s %9s %9s %8s %8s %8s" kernel native_s kafu_s node_s snap_s kafu/nat node/nat snap/nat
for v in "${VARS[@]}"; do printf " %12s" "$(var_name "$v")/nat"; done
echo " check"
best() { [ -z "$1" ] || [ "$2" -lt "$1" ] && echo "$2" || echo "$1"; }
secs() { [ -z "$1" ] && echo - || awk -v us="$1" 'BEGIN { printf "%.4f", us / 1e6 }'; }
for k in $KERNELS; do
  gcc -O2 "$K/$k.c" -o "$WORK/$k" -lm
  if [ $KAFU_CC = 1 ]; then
    "$KAFU" cc -O2 "$K/$k.c" -o "$WORK/$k.wasm" -lm 2> "$WORK/cc.log" || { cat "$WORK/cc.log" >&2; exit 1; }
  else
    "${WASI_CC[@]}" "$K/$k.c" -o "$WORK/$k.wasm" -lm
  fi
  "$KAFU" aot "$WORK/$k.wasm" > /dev/null 2> "$WORK/aot.log" || { cat "$WORK/aot.log" >&2; exit 1; }
  for v in "${VARS[@]}"; do
    run_var "$v" "$KAFU" aot "$WORK/$k.wasm" > /dev/null 2> "$WORK/aot.log" || { cat "$WORK/aot.log" >&2; exit 1; }
  done
  snap=""
  if [ $USE_SNAP = 1 ] && snap=$(build_snapified "$k") && "$KAFU" aot "$snap" > /dev/null 2>&1; then :; else snap=""; fi
  "$WORK/$k" > "$WORK/$k.expected"
  check=ok bn="" bk="" bj="" bs=""
  declare -A bv=()
  for _ in $(seq "$REPS"); do
    bn=$(best "$bn" "$(one_time "$WORK/$k")")
    bk=$(best "$bk" "$(one_time "$KAFU" run "$WORK/$k.wasm")")
    cmp -s "$WORK/out" "$WORK/$k.expected" || check="kafu-MISMATCH"
    for v in "${VARS[@]}"; do
      n=$(var_name "$v")
      bv[$n]=$(best "${bv[$n]:-}" "$(one_time run_var "$v" "$KAFU" run "$WORK/$k.wasm")")
      cmp -s "$WORK/out" "$WORK/$k.expected" || check="$check $n-MISMATCH"
    done
    if [ $USE_NODE = 1 ]; then
      bj=$(best "$bj" "$(one_time node --no-warnings "$ROOT/bench/run-node.mjs" "$WORK/$k.wasm")")
      cmp -s "$WORK/out" "$WORK/$k.expected" || check="$check node-MISMATCH"
    fi
    if [ -n "$snap" ]; then
      bs=$(best "$bs" "$(one_time "$KAFU" run "$snap")")
      cmp -s "$WORK/out" "$WORK/$k.expected" || check="$check snap-MISMATCH"
    fi
  done
  tn=$(secs "$bn"); tk=$(secs "$bk"); tj=$(secs "$bj"); ts=$(secs "$bs")
  ratio() { [ "$1" = - ] && echo - || awk -v a="$1" -v b="$tn" 'BEGIN { printf "%.3f", a / b }'; }
  rk=$(ratio "$tk"); rj=$(ratio "$tj"); rs=$(ratio "$ts")
  vs="" vr="" vp=""
  for v in "${VARS[@]}"; do
    n=$(var_name "$v"); t=$(secs "${bv[$n]}"); r=$(ratio "$t")
    vs="$vs,$t"; vr="$vr,$r"; vp="$vp $(printf "%12s" "$r")"
  done
  unset bv
  printf "%-11s %9s %9s %9s %9s %8s %8s %8s%s %s\n" "$k" "$tn" "$tk" "$tj" "$ts" "$rk" "$rj" "$rs" "$vp" "$check"
  echo "$k,$tn,$tk,$tj,$ts,$rk,$rj,$rs$vs$vr" >> "$CSV"
done

geo() { # column number of the ratio in the CSV
  awk -F, -v c="$1" 'NR > 1 && $c != "-" { s += log($c); n++ } END { if (n) printf "%.3f", exp(s / n); else printf "-" }' "$CSV"
}
gk=$(geo 6); gj=$(geo 7); gs=$(geo 8)
echo "results: $CSV"
line="overhead plain_vs_native_geomean=$gk node_vs_native_geomean=$gj"
[ "$gs" != - ] && line="$line snapified_vs_native_geomean=$gs"
nv=${#VARS[@]}
for i in "${!VARS[@]}"; do line="$line $(var_name "${VARS[$i]}")_vs_native_geomean=$(geo $((9 + nv + i)))"; done
echo "$line"

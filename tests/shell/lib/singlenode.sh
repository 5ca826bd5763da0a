# singlenode.sh — helpers for tests/shell/singlenode_*.sh (sourced, not run).
#
# The core check is `modes`: run a module uninterrupted with `kafu run`, then
# with `kafu singlenode` in both modes (emulate, --verify); stdout and exit
# code must be identical in all three, and the migration events of the two
# singlenode modes must describe the same walk. Tests then assert the exact
# number and sequence of migrations from the JSON Lines events.
#
# The program's preopened directory is $T/data, reset from $T/data.init (if it
# exists) before every run, so all three runs see the same files. On failure
# the stderr of the current case ($LABEL) is shown.
source "$KAFU_SRC/tests/shell/lib/common.sh"
PROGS="$KAFU_SRC/tests/programs/singlenode"
mkdir -p "$T/data"

fail_context() { tail_logs "$T/${LABEL:-}"*.err; }

# build NAME [kafu cc args...] -> $T/NAME.wasm from $PROGS/NAME.c (or .cpp with
# kafu c++), checked to be Snapified
build() {
  local name=$1 src drv=cc
  shift
  src="$PROGS/$name.c"
  [ -f "$src" ] || { src="$PROGS/$name.cpp"; drv=c++; }
  "$KAFU" $drv -O2 "$src" "$@" -o "$T/$name.wasm" >"$T/cc-$name.log" 2>&1 ||
    { cat "$T/cc-$name.log" >&2; fail "kafu $drv $name"; }
  "$KAFU" inspect "$T/$name.wasm" 2>&1 | grep -q '^snapified: *yes' || fail "$name.wasm is not Snapified"
}

# config FILE WASM [ARGS...] -> a kafu-config.yaml for $NODES (default
# "cloud edge fog"; the first is the coordinator), preopened dir $T/data,
# then the lines of $EXTRA_YAML (e.g. a cluster: section) if set
config() {
  local file=$1 wasm=$2 port=50051 n a
  shift 2
  {
    echo "name: singlenode-test"
    echo "app:"
    echo "  path: $wasm"
    printf '  args: ['
    local sep=""
    for a in "$@"; do printf '%s"%s"' "$sep" "$a"; sep=", "; done
    printf ']\n'
    echo "  preopened_dir: $T/data"
    echo "nodes:"
    for n in ${NODES:-cloud edge fog}; do
      echo "  $n:"
      echo "    address: 127.0.0.1"
      echo "    port: $port"
      port=$((port + 1))
    done
    [ -z "${EXTRA_YAML:-}" ] || printf '%s\n' "$EXTRA_YAML"
  } >"$file"
}

reset_data() {
  if [ -d "$T/data.init" ]; then
    rm -rf "$T/data"
    cp -a "$T/data.init" "$T/data"
  fi
}

# modes LABEL WASM [ARGS...] — the three runs. Afterwards:
#   $T/LABEL.{ref,emu,ver}.{out,err}  stdout/stderr of kafu run / emulate / verify
#   $T/LABEL.{emu,ver}.jsonl          events; RC = the common exit code
# stdin of all three runs: the file $STDIN (default /dev/null).
# Fails unless stdout and exit code agree and both event files describe the
# same migrations (from, to, kind, function).
modes() {
  local label=$1 wasm=$2
  shift 2
  LABEL=$label.
  config "$T/$label.yaml" "$T/$wasm" "$@"
  reset_data
  (cd "$T" && "$KAFU" run --dir "$T/data::." "$wasm" "$@" <"${STDIN:-/dev/null}" >"$T/$label.ref.out" 2>"$T/$label.ref.err")
  local ref=$?
  reset_data
  "$KAFU" singlenode serve --events "$T/$label.emu.jsonl" "$T/$label.yaml" <"${STDIN:-/dev/null}" >"$T/$label.emu.out" 2>"$T/$label.emu.err"
  local emu=$?
  reset_data
  "$KAFU" singlenode serve --verify --events "$T/$label.ver.jsonl" "$T/$label.yaml" <"${STDIN:-/dev/null}" \
    >"$T/$label.ver.out" 2>"$T/$label.ver.err"
  local ver=$?
  [ "$emu" = "$ref" ] || fail "$label: emulate exited $emu, kafu run $ref"
  [ "$ver" = "$ref" ] || fail "$label: --verify exited $ver, kafu run $ref"
  cmp -s "$T/$label.ref.out" "$T/$label.emu.out" ||
    fail "$label: emulate stdout differs from kafu run: $(diff "$T/$label.ref.out" "$T/$label.emu.out" | head -5)"
  cmp -s "$T/$label.ref.out" "$T/$label.ver.out" ||
    fail "$label: --verify stdout differs from kafu run: $(diff "$T/$label.ref.out" "$T/$label.ver.out" | head -5)"
  [ "$(walk "$T/$label.emu.jsonl")" = "$(walk "$T/$label.ver.jsonl")" ] ||
    fail "$label: emulate and --verify migrated differently: $(walk "$T/$label.emu.jsonl") / $(walk "$T/$label.ver.jsonl")"
  RC=$ref
}

# migrations FILE -> number of "type":"migration" events
migrations() { grep -c '"type":"migration"' "$1" || true; }

# walk FILE -> the migrations as "from>to:kind:function" words, in order
walk() {
  grep '"type":"migration"' "$1" |
    sed 's/.*"from":"\([^"]*\)","to":"\([^"]*\)","kind":"\([a-z]*\)","function":"\([^"]*\)".*/\1>\2:\3:\4/' |
    tr '\n' ' ' | sed 's/ $//'
}

# expect_walk LABEL "from>to:kind:fn ..." — exact sequence (and so exact count)
expect_walk() {
  local got
  got=$(walk "$T/$1.ver.jsonl")
  [ "$got" = "$2" ] || fail "$1: migrations
  got:  $got
  want: $2"
}

# expect_count LABEL N — exact number of migrations (both modes)
expect_count() {
  local e v
  e=$(migrations "$T/$1.emu.jsonl")
  v=$(migrations "$T/$1.ver.jsonl")
  [ "$e" = "$2" ] && [ "$v" = "$2" ] || fail "$1: $e (emulate) / $v (--verify) migrations, expected $2"
}

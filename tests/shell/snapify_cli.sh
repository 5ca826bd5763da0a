#!/usr/bin/env bash
# snapify_cli.sh — `kafu snapify` and `kafu inspect` from the command line:
# options, every bad input of the Snapify issue (each must exit non-zero with
# a message naming the function/section, never crash), idempotence, and what
# `kafu inspect` reports (text and --json).
source "$KAFU_SRC/tests/shell/lib/common.sh"
need wasm-validate wabt
CC=(clang --target=wasm32-wasi --sysroot=/usr)

# expect CODE NEEDLE CMD... : exit status CODE and NEEDLE in stderr+stdout
expect() {
  local code=$1 needle=$2; shift 2
  "$@" >"$T/out" 2>&1
  local rc=$?
  if [ "$rc" != "$code" ] || ! grep -qF -- "$needle" "$T/out"; then
    fail "'$*' -> rc=$rc (want $code and '$needle'), output: $(cat "$T/out")"
  elif [ "$rc" -ge 128 ]; then
    fail "'$*' crashed ($rc)"
  else
    echo "ok   rc=$rc $needle"
  fi
}

# c_module NAME <<< source : compile (-O2) and link (no -O) a C program
c_module() {
  cat >"$T/$1.c"
  "${CC[@]}" -O2 -I"$KAFU_SRC/include" -c "$T/$1.c" -o "$T/$1.o" && "${CC[@]}" "$T/$1.o" -o "$T/$1.wasm" "${@:2}"
}

# add_custom FILE NAME : append an empty custom section named NAME
add_custom() {
  local n=${#2}
  printf "\\x00\\x$(printf %02x $((n + 1)))\\x$(printf %02x "$n")%s" "$2" >>"$1"
}

# --- options -----------------------------------------------------------------
expect 0 "Usage: kafu snapify IN.wasm -o OUT.wasm" "$KAFU" snapify --help
expect 0 "Usage: kafu inspect FILE [--json]" "$KAFU" inspect --help
expect 2 "unknown option '--frobnicate'" "$KAFU" snapify --frobnicate x.wasm -o y.wasm
expect 2 "missing -o OUT.wasm" "$KAFU" snapify x.wasm
expect 2 "missing input module" "$KAFU" snapify -o y.wasm
expect 2 "unknown option '--bogus'" "$KAFU" inspect --bogus x.wasm
expect 1 "No such file" "$KAFU" snapify "$T/missing.wasm" -o "$T/o.wasm"

# --- a good program ---------------------------------------------------------
c_module good <<'EOF' || fail "compile good"
#include <kafu.h>
#include <stdio.h>
KAFU_DEST(work, "cloud")
KAFU_EXPORT(work)
int work(int x) { return x * 2; }
KAFU_DEST(other, "edge")
KAFU_EXPORT(other)
int other(int x) { return work(x) + 1; }
int main(void) { printf("%d\n", other(20)); return 0; }
EOF
expect 1 "--kafu-stack-size: 'lots' is not a size" "$KAFU" snapify "$T/good.wasm" -o "$T/g.wasm" --kafu-stack-size=lots
expect 1 "--kafu-stack-size=100: must be a multiple of 8 between 256" "$KAFU" snapify "$T/good.wasm" -o "$T/g.wasm" --kafu-stack-size=100
"$KAFU" snapify "$T/good.wasm" -o "$T/good.snap.wasm" --kafu-stack-size=64K || fail "snapify good"
wasm-validate "$T/good.snap.wasm" || fail "good.snap.wasm does not validate"
"$KAFU" snapify -v "$T/good.wasm" -o "$T/good.v.wasm" 2>"$T/v.err" || fail "snapify -v"
grep -q "instrumented [0-9]* of [0-9]* functions; code [0-9]* -> [0-9]* bytes" "$T/v.err" || fail "-v summary: $(cat "$T/v.err")"
grep -q "id 0  other -> edge" "$T/v.err" || fail "-v annotation list: $(cat "$T/v.err")"

# idempotent: Snapify of a Snapified module copies it unchanged
expect 0 "is already Snapified; copied unchanged" "$KAFU" snapify "$T/good.snap.wasm" -o "$T/again.wasm"
cmp -s "$T/good.snap.wasm" "$T/again.wasm" || fail "re-snapify changed the module"
expect 1 "already Snapified with --kafu-stack-size=65536" "$KAFU" snapify "$T/good.snap.wasm" -o "$T/again.wasm" --kafu-stack-size=1M

# --- kafu inspect ---------------------------------------------------------------
"$KAFU" inspect "$T/good.snap.wasm" >"$T/i.txt" || fail "inspect snapified"
grep -q "^snapified:   yes" "$T/i.txt" || fail "inspect: snapified yes"
grep -q "^buffer:      65536 bytes" "$T/i.txt" || fail "inspect: buffer size"
# function ids are assigned in alphabetical order of the function names
grep -Eq "^  0 +other +edge$" "$T/i.txt" || fail "inspect: id 0 other edge"
grep -Eq "^  1 +work +cloud$" "$T/i.txt" || fail "inspect: id 1 work cloud"
grep -Eq "^functions:   [0-9]+ defined, [0-9]+ instrumented by Asyncify" "$T/i.txt" || fail "inspect: functions"
grep -q "kafu.migration_point (i32, i32) -> ()" "$T/i.txt" || fail "inspect: import signature"
"$KAFU" inspect "$T/good.wasm" | grep -q "^snapified:   no" || fail "inspect: unsnapified"
"$KAFU" inspect --json "$T/good.snap.wasm" >"$T/i.json" || fail "inspect --json"
python3 - "$T/i.json" <<'EOF' || fail "inspect --json content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "wasm-module" and d["snapified"] is True, d
assert d["asyncify_buf_size"] == 65536
assert [(a["id"], a["function"], a["destination"]) for a in d["annotated"]] == [(0, "other", "edge"), (1, "work", "cloud")]
assert 0 < d["functions_instrumented"] <= d["functions_total"]
assert any(i["module"] == "kafu" and i["name"] == "migration_point" and i["type"] == "(i32, i32) -> ()" for i in d["imports"])
assert {"asyncify_start_unwind", "kafu_global_0", "kafu_asyncify_buf_addr"} <= {e["name"] for e in d["exports"]}
EOF
printf 'KSNP\1\2\3\4' >"$T/snap.bin"
expect 1 "unknown file type (first bytes 4b 53 4e 50)" "$KAFU" inspect "$T/snap.bin"

# --- bad input -----------------------------------------------------------------------
echo "just text" >"$T/text.wasm"
expect 1 "not a WebAssembly module (bad magic number)" "$KAFU" snapify "$T/text.wasm" -o "$T/x.wasm"
head -c 300 "$T/good.wasm" >"$T/trunc.wasm"
expect 1 "extends past the end of the module" "$KAFU" snapify "$T/trunc.wasm" -o "$T/x.wasm"
expect 1 "extends past the end of the module" "$KAFU" inspect "$T/trunc.wasm"
"${CC[@]}" -O2 -I"$KAFU_SRC/include" -c "$T/good.c" -o "$T/good_obj.wasm"
expect 1 "relocatable object file" "$KAFU" snapify "$T/good_obj.wasm" -o "$T/x.wasm"

# annotation of a static function the compiler kept / inlined away
c_module static_kept <<'EOF' || fail "compile static_kept"
#include <kafu.h>
KAFU_DEST(helper, "cloud")
__attribute__((noinline)) static int helper(int x) { return x * 3 + 1; }
int main(int argc, char **argv) { return helper(argc) & 1; }
EOF
expect 1 "annotated function 'helper' (section '.kafu_dest.helper.cloud') exists but is not exported" \
  "$KAFU" snapify "$T/static_kept.wasm" -o "$T/x.wasm"
expect 1 "annotated function 'helper' (section '.kafu_dest.helper.cloud') exists but is not exported" \
  "$KAFU" inspect "$T/static_kept.wasm"
c_module static_gone <<'EOF' || fail "compile static_gone"
#include <kafu.h>
KAFU_DEST(helper, "cloud")
static int helper(int x) { return x + 1; }
int main(int argc, char **argv) { return helper(argc); }
EOF
expect 1 "section '.kafu_dest.helper.cloud' names function 'helper', but the module exports no function of that name" \
  "$KAFU" snapify "$T/static_gone.wasm" -o "$T/x.wasm"
c_module two <<'EOF' || fail "compile two"
#include <kafu.h>
KAFU_DEST(work, "cloud")
KAFU_DEST(work, "edge")
KAFU_EXPORT(work)
int work(int x) { return x; }
int main(int argc, char **argv) { return work(argc); }
EOF
expect 1 "function 'work' has two destinations: '" \
  "$KAFU" snapify "$T/two.wasm" -o "$T/x.wasm"
c_module plain <<'EOF' || fail "compile plain"
#include <kafu.h>
KAFU_EXPORT(work)
int work(int x) { return x; }
int main(int argc, char **argv) { return work(argc); }
EOF
cp "$T/plain.wasm" "$T/empty_node.wasm"
add_custom "$T/empty_node.wasm" ".kafu_dest.work."
expect 1 "custom section '.kafu_dest.work.': empty destination node for function 'work'" \
  "$KAFU" snapify "$T/empty_node.wasm" -o "$T/x.wasm"
cp "$T/plain.wasm" "$T/bad_node.wasm"
add_custom "$T/bad_node.wasm" ".kafu_dest.work.my node!"
expect 1 "invalid destination node 'my node!' for function 'work'" "$KAFU" snapify "$T/bad_node.wasm" -o "$T/x.wasm"
cp "$T/plain.wasm" "$T/missing.wasm"
add_custom "$T/missing.wasm" ".kafu_dest.wrok.cloud"
expect 1 "names function 'wrok', but the module exports no function of that name (did you mean 'work'?)" \
  "$KAFU" snapify "$T/missing.wasm" -o "$T/x.wasm"
# reactor module: no _start
"${CC[@]}" -O2 -I"$KAFU_SRC/include" -mexec-model=reactor -c "$T/plain.c" -o "$T/reactor.o" &&
  "${CC[@]}" -mexec-model=reactor "$T/reactor.o" -o "$T/reactor.wasm" || fail "compile reactor"
add_custom "$T/reactor.wasm" ".kafu_dest.work.cloud"
expect 1 "the module has no '_start' export" "$KAFU" snapify "$T/reactor.wasm" -o "$T/x.wasm"
# features Binaryen 108 cannot handle
cat >"$T/tail.wat" <<'EOF'
(module (memory 1)
  (func $work (param i32) (result i32) local.get 0 return_call $id)
  (func $id (param i32) (result i32) local.get 0)
  (func $s (drop (call $work (i32.const 1))))
  (export "_start" (func $s)) (export "work" (func $work)))
EOF
wat2wasm --enable-tail-call "$T/tail.wat" -o "$T/tail.wasm" && add_custom "$T/tail.wasm" ".kafu_dest.work.cloud"
expect 1 "uses tail calls (return_call), which Binaryen 108's Asyncify cannot transform" \
  "$KAFU" snapify "$T/tail.wasm" -o "$T/x.wasm"
cat >"$T/mm.wat" <<'EOF'
(module (memory 1) (memory 1) (func $s) (export "_start" (func $s)))
EOF
wat2wasm --enable-multi-memory "$T/mm.wat" -o "$T/mm.wasm"
expect 1 "multi-memory is not supported by Binaryen 108" "$KAFU" snapify "$T/mm.wasm" -o "$T/x.wasm"
[ ! -e "$T/x.wasm" ] || fail "a failed snapify left an output file"

# linked with -O (clang runs wasm-opt): the annotated function was inlined and
# its migrations vanished; an error, unless annotations may be unused
c_module inlined -O2 <<'EOF' || fail "compile inlined"
#include <kafu.h>
#include <stdio.h>
KAFU_DEST(work, "cloud")
KAFU_EXPORT(work)
int work(int x) { return x * 2; }
int main(int argc, char **argv) { (void)argv; printf("%d\n", work(argc + 20)); return 0; }
EOF
if "$KAFU" inspect --json "$T/inlined.wasm" >/dev/null 2>&1 && ! wasm-objdump -d "$T/inlined.wasm" 2>/dev/null | grep -q 'call .*<work>'; then
  expect 1 "annotated function 'work' is never called inside the module" "$KAFU" snapify "$T/inlined.wasm" -o "$T/x.wasm"
  expect 1 "--allow-unused-annotations" "$KAFU" snapify "$T/inlined.wasm" -o "$T/x.wasm"
  [ ! -e "$T/x.wasm" ] || fail "snapify wrote a module whose migrations vanished"
  expect 0 "WARN snapify: annotated function 'work' is never called" \
    "$KAFU" snapify --allow-unused-annotations "$T/inlined.wasm" -o "$T/inl.snap.wasm"
  rm -f "$T/inl.snap.wasm"
else
  skip_part "clang -O2 at link time kept the call to work (no wasm-opt in PATH?): vanished-migration error"
fi

echo "snapify_cli: all passed"

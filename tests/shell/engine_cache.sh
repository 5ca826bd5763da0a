#!/usr/bin/env bash
# engine_cache.sh — the AOT cache: reuse (second run does not compile), `kafu
# aot`, recovery from corrupt entries, concurrent compiles of one module (one
# compile, all runs succeed), unwritable cache, missing C compiler / wasm2c, and
# bad modules rejected before any compile.
source "$KAFU_SRC/tests/shell/lib/common.sh"
P=$KAFU_SRC/tests/programs/engine
export KAFU_CACHE_DIR=$T/cache
clang --target=wasm32-wasi --sysroot=/usr -O2 "$P/basics.c" -o "$T/basics.wasm" || fail "clang basics.c"
wat2wasm "$P/mp_noop.wat" -o "$T/small.wasm" || fail "wat2wasm"
cd "$T"
sha=$(sha256sum basics.wasm | cut -d' ' -f1)

# 1. first run compiles, second is a cache hit
KAFU_LOG=debug "$KAFU" run basics.wasm > out1 2> log1 || fail "first run: $(cat log1)"
grep -q "compiled and cached" log1 || fail "first run did not compile: $(cat log1)"
KAFU_LOG=debug "$KAFU" run basics.wasm > out2 2> log2 || fail "second run"
grep -q "engine: cache hit" log2 || fail "second run was not a cache hit: $(cat log2)"
grep -q "compiled" log2 && fail "second run compiled again"
cmp -s out1 out2 || fail "outputs differ"
n=$(ls cache/aot/$sha/*.so | wc -l)
[ "$n" = 1 ] || fail "expected one artifact under cache/aot/$sha, found $n"
so=$(ls cache/aot/$sha/*.so)

# 2. kafu aot prints the artifact; a second aot does not compile
p=$(KAFU_LOG=debug "$KAFU" aot basics.wasm 2> log3) || fail "kafu aot: $(cat log3)"
[ "$p" = "$T/$so" ] || fail "kafu aot printed '$p', expected $T/$so"
grep -q "compiled" log3 && fail "kafu aot recompiled a cached module"
p2=$("$KAFU" aot --cache-dir "$T/other" small.wasm) || fail "kafu aot --cache-dir"
case "$p2" in "$T/other/aot/"*.so) [ -f "$p2" ] || fail "aot path missing" ;; *) fail "aot --cache-dir path: $p2" ;; esac
"$KAFU" aot >/dev/null 2>&1; [ $? = 2 ] || fail "kafu aot without module must be a usage error"

# 3. corrupt entries are detected and rebuilt
printf 'garbage' | dd of="$so" bs=1 seek=5000 conv=notrunc status=none
KAFU_LOG=debug "$KAFU" run basics.wasm > out4 2> log4 || fail "run after corruption: $(cat log4)"
grep -q "unusable (checksum mismatch" log4 || fail "corruption not reported: $(cat log4)"
grep -q "compiled and cached" log4 || fail "corrupt entry not rebuilt"
cmp -s out1 out4 || fail "output after rebuild differs"
head -c 3000 "$so" > trunc && cat trunc > "$so"
KAFU_LOG=debug "$KAFU" run basics.wasm > /dev/null 2> log5 || fail "run after truncation: $(cat log5)"
grep -q "compiled and cached" log5 || fail "truncated entry not rebuilt"
echo "not an ELF" > "$so"
"$KAFU" run basics.wasm > /dev/null 2>&1 || fail "run after replacing the entry with junk"
KAFU_LOG=debug "$KAFU" run basics.wasm 2>&1 >/dev/null | grep -q "cache hit" || fail "no cache hit after rebuild"

# 4. concurrent compiles of one module: all succeed, exactly one compiles
export KAFU_CACHE_DIR=$T/cc
for i in 1 2 3 4; do
  (KAFU_LOG=debug "$KAFU" run basics.wasm args $i > cout$i 2> clog$i; echo $? > crc$i) &
done
wait
for i in 1 2 3 4; do
  [ "$(cat crc$i)" = 0 ] || fail "concurrent run $i failed: $(cat clog$i)"
  grep -qx "argv\[2\]=$i" cout$i || fail "concurrent run $i output: $(cat cout$i)"
done
n=$(cat clog* | grep -c "compiled and cached")
[ "$n" = 1 ] || fail "concurrent runs compiled $n times, expected 1"
[ "$(ls cc/aot/$sha/*.so | wc -l)" = 1 ] || fail "concurrent runs left several artifacts"
[ -z "$(ls cc/tmp)" ] || fail "temporary build directories left behind: $(ls cc/tmp)"

# 5. unwritable cache: run compiles privately with a warning, aot fails
echo file > notadir
export KAFU_CACHE_DIR=$T/notadir/cache
mkdir tmpd
out=$(TMPDIR=$T/tmpd "$KAFU" run basics.wasm 2> log6); rc=$?
[ $rc = 0 ] && [ "$out" = "hello, world" ] || fail "run with unwritable cache: rc=$rc $(cat log6)"
grep -q "not writable" log6 || fail "no warning about the unwritable cache: $(cat log6)"
"$KAFU" aot basics.wasm > /dev/null 2> log7; rc=$?
[ $rc = 1 ] || fail "aot with unwritable cache: exit $rc"
grep -q "kafu aot: error: engine cache directory $T/notadir/cache is not writable" log7 || fail "aot message: $(cat log7)"
[ -z "$(ls tmpd)" ] || fail "private compile directory not removed: $(ls tmpd)"

# 6. no C compiler / no wasm2c: named Debian packages; cached modules still run
mkdir bin-nocc bin-now2c
ln -s "$(command -v wasm2c)" bin-nocc/wasm2c
for t in cc gcc; do ln -s "$(command -v $t)" bin-now2c/$t; done
export KAFU_CACHE_DIR=$T/cache
err=$(PATH=$T/bin-nocc "$KAFU" run small.wasm 2>&1); rc=$?
[ $rc = 1 ] || fail "no compiler: exit $rc"
echo "$err" | grep -q "no C compiler for x86_64-linux-gnu found.*install the Debian package gcc" || fail "no compiler message: $err"
out=$(PATH=$T/bin-nocc "$KAFU" run basics.wasm) || fail "cached module must run without a compiler"
[ "$out" = "hello, world" ] || fail "cached run without compiler: $out"
err=$(PATH=$T/bin-now2c "$KAFU" run small.wasm 2>&1); rc=$?
[ $rc = 1 ] || fail "no wasm2c: exit $rc"
echo "$err" | grep -q "wasm2c not found.*Debian package wabt" || fail "no wasm2c message: $err"
err=$(KAFU_CC=/nonexistent/cc "$KAFU" run small.wasm 2>&1)
echo "$err" | grep -q "KAFU_CC=/nonexistent/cc was not found" || fail "bad KAFU_CC message: $err"

# 7. bad modules are rejected before compiling
export KAFU_CACHE_DIR=$T/bad
echo "hello" > junk.wasm
err=$("$KAFU" run junk.wasm 2>&1); [ $? = 1 ] || fail "junk module exit code"
echo "$err" | grep -q "junk.wasm: not a WebAssembly module" || fail "junk message: $err"
head -c 2000 basics.wasm > trunc.wasm
err=$("$KAFU" run trunc.wasm 2>&1); [ $? = 1 ] || fail "truncated module exit code"
echo "$err" | grep -q "trunc.wasm: .*offset" || fail "truncated message: $err"
wat2wasm "$P/bad_imports.wat" -o imports.wasm || fail "wat2wasm"
err=$("$KAFU" run imports.wasm 2>&1); [ $? = 1 ] || fail "bad imports exit code"
echo "$err" | grep -q "env.get_time (function), env.table (table), which kafu does not provide" ||
  fail "bad imports message: $err"
[ -d bad/aot ] && fail "a bad module must not reach the compiler"
# 8. a module split into several translation units (parallel compile of large
#    modules; forced here) behaves exactly like the single-unit build
export KAFU_CACHE_DIR=$T/split
out=$(KAFU_AOT_JOBS=3 KAFU_LOG=debug "$KAFU" run basics.wasm args x 2> log8) || fail "split build: $(cat log8)"
grep -q "3 units" log8 || fail "module was not split: $(grep compiled log8)"
[ "$out" = "$(KAFU_CACHE_DIR=$T/cache "$KAFU" run basics.wasm args x)" ] || fail "split build output differs"
"$KAFU" run basics.wasm exit 9 > /dev/null; [ $? = 9 ] || fail "split build exit code"
# 9. code is only loaded from private places: an entry directory others can
#    write is not used (private compile + warning); a file owned by another
#    user is replaced
export KAFU_CACHE_DIR=$T/cache
d=$(dirname "$T/$so")
chmod o+w "$d"
out=$("$KAFU" run basics.wasm 2> log9) || fail "run with a world-writable entry dir: $(cat log9)"
grep -q "not private" log9 || fail "no warning about the world-writable entry dir: $(cat log9)"
"$KAFU" aot basics.wasm > /dev/null 2> log10 && fail "aot must refuse a world-writable entry dir"
grep -q "not private" log10 || fail "aot message: $(cat log10)"
chmod o-w "$d"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  chown nobody "$T/$so"
  KAFU_LOG=debug "$KAFU" run basics.wasm > /dev/null 2> log11 || fail "run with a foreign-owned entry"
  grep -q "refusing to load code" log11 || fail "foreign-owned artifact was not refused: $(cat log11)"
  [ "$(stat -c %u "$T/$so")" = 0 ] || fail "foreign-owned artifact not replaced"
fi
# 10. code for this CPU (KAFU_AOT_CFLAGS=-march=native) has its own cache key
#     naming the CPU, so a cache shared with another machine never hands it
#     out there; generic code (the default) names none; both run alike
export KAFU_CACHE_DIR=$T/nat
KAFU_LOG=debug "$KAFU" run basics.wasm > out12 2> log12 || fail "default run: $(cat log12)"
grep -q "^cpu=" log12 && fail "generic code keyed by the CPU: $(grep cpu= log12)"
if cc -march=native -fsyntax-only -x c /dev/null 2>/dev/null; then
  KAFU_AOT_CFLAGS="-O3 -march=native" KAFU_LOG=debug "$KAFU" run basics.wasm > out13 2> log13 ||
    fail "-march=native run: $(cat log13)"
  grep -q "compiled and cached" log13 || fail "-march=native reused the generic artifact"
  grep -q "^cpu=[0-9a-f]\{16\}" log13 || fail "-march=native code not keyed by the CPU: $(grep -A3 cflags= log13)"
  cmp -s out12 out13 && cmp -s out1 out12 || fail "outputs differ between generic and -march=native code"
  [ "$(ls "$T"/nat/aot/$sha/*.so | wc -l)" = 2 ] || fail "expected two artifacts (generic and -march=native)"
fi
echo "engine_cache: ok"

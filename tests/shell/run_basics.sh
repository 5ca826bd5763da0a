#!/usr/bin/env bash
# run_basics.sh — `kafu run` like `wasmtime run`: output, argv (argv[0] = module
# as given), --env, exit codes from main / exit() / proc_exit, stdin, --dir,
# no-op migration points, and the usage/bad-input errors.
source "$KAFU_SRC/tests/shell/lib/common.sh"
export KAFU_CACHE_DIR=$T/cache
P=$KAFU_SRC/tests/programs/engine
want_rc() { # expected actual what
  [ "$1" = "$2" ] || fail "$3: exit code $2, expected $1"
}

clang --target=wasm32-wasi --sysroot=/usr -O2 "$P/basics.c" -o "$T/basics.wasm" || fail "clang basics.c"
cd "$T"

out=$("$KAFU" run basics.wasm); rc=$?
want_rc 0 $rc "hello"
[ "$out" = "hello, world" ] || fail "hello: got '$out'"

out=$("$KAFU" run basics.wasm args "a b" -v --flag -- x); rc=$?
want_rc 0 $rc "args"
exp=$'argc=7\nargv[0]=basics.wasm\nargv[1]=args\nargv[2]=a b\nargv[3]=-v\nargv[4]=--flag\nargv[5]=--\nargv[6]=x'
[ "$out" = "$exp" ] || fail "args: got '$out'"
out=$("$KAFU" run -- "$T/basics.wasm" args); rc=$?
echo "$out" | grep -qx "argv\[0\]=$T/basics.wasm" || fail "argv[0] should be the module path as given: $out"

out=$(FROMHOST=hv "$KAFU" run --env FOO=bar --env=EMPTY= --env FROMHOST --env NOTSET basics.wasm env FOO EMPTY FROMHOST NOTSET PATH)
exp=$'FOO=bar\nEMPTY=\nFROMHOST=hv\nNOTSET unset\nPATH unset'
[ "$out" = "$exp" ] || fail "env: got '$out'"
out=$("$KAFU" run basics.wasm environ)
[ -z "$out" ] || fail "the environment must be empty without --env, got '$out'"

"$KAFU" run basics.wasm return 3 >/dev/null; want_rc 3 $? "main returns 3"
out=$("$KAFU" run basics.wasm exit 42); want_rc 42 $? "exit(42)"
[ "$out" = "exiting with 42" ] || fail "stdio must be flushed by exit(): '$out'"
"$KAFU" run basics.wasm proc_exit 7; want_rc 7 $? "proc_exit(7)"
"$KAFU" run basics.wasm proc_exit 0; want_rc 0 $? "proc_exit(0)"

out=$(printf 'line1\nline2\n' | "$KAFU" run basics.wasm cat)
[ "$out" = $'line1\nline2' ] || fail "stdin: got '$out'"

mkdir -p data/sub && echo "file content" > data/sub/f.txt
out=$("$KAFU" run --dir "$T/data::/mnt" basics.wasm read /mnt/sub/f.txt); rc=$?
want_rc 0 $rc "--dir HOST::GUEST"
[ "$out" = "file content" ] || fail "--dir HOST::GUEST read: '$out'"
out=$("$KAFU" run --dir data basics.wasm read data/sub/f.txt)
[ "$out" = "file content" ] || fail "--dir HOST read: '$out'"
"$KAFU" run basics.wasm read /mnt/sub/f.txt >/dev/null 2>&1 && fail "a file outside any preopen must not be readable"
touch data/b data/a
out=$("$KAFU" run --dir "$T/data::/mnt" basics.wasm ls /mnt)
[ "$out" = $'a\nb\nsub' ] || fail "--dir listing: '$out'"

# a module that imports kafu.migration_point: the points are no-ops
wat2wasm "$P/mp_noop.wat" -o mp.wasm || fail "wat2wasm"
"$KAFU" run mp.wasm; want_rc 8 $? "migration points must be no-ops"

# bad input
err=$("$KAFU" run --dir "$T/nope" basics.wasm 2>&1); rc=$?
want_rc 1 $rc "missing preopen dir"
echo "$err" | grep -q "kafu run: error: .*nope" || fail "missing preopen dir not named: $err"
err=$("$KAFU" run missing.wasm 2>&1); rc=$?
want_rc 1 $rc "missing module"
echo "$err" | grep -q "kafu run: error: missing.wasm: No such file or directory" || fail "missing module: $err"
err=$("$KAFU" run --bogus basics.wasm 2>&1); want_rc 2 $? "unknown option"
echo "$err" | grep -q "unknown option '--bogus'" || fail "unknown option message: $err"
"$KAFU" run >/dev/null 2>&1; want_rc 2 $? "no module"
"$KAFU" run --env =x basics.wasm >/dev/null 2>&1; want_rc 2 $? "bad --env"
"$KAFU" run --dir >/dev/null 2>&1; want_rc 2 $? "--dir without value"
out=$("$KAFU" run --help); want_rc 0 $? "--help"
echo "$out" | grep -q "Usage: kafu run" || fail "--help text"
echo "run_basics: ok"

#!/usr/bin/env bash
# cc_progress.sh — `kafu cc` says what a long step is doing (compiling a
# source, the guest support, linking, Snapify), so a large build is not
# silent: nothing for quick steps, a line once a step takes longer than
# KAFU_PROGRESS_MS (default 2 s on a terminal; 0 = every step at once) and
# when it is done; nothing when stderr is not a terminal and the variable is
# unset; KAFU_LOG=warn silences it.
source "$KAFU_SRC/tests/shell/lib/common.sh"
cd "$T"
cp "$KAFU_SRC/examples/basic/main.c" main.c
"$KAFU" cc -O2 main.c -o quiet.wasm 2>err.txt || fail "kafu cc: $(cat err.txt)"
[ -s err.txt ] && fail "a build into a log printed progress: $(cat err.txt)"
if have script; then # on a terminal (util-linux' script gives one): quick steps stay silent
  env -u KAFU_PROGRESS_MS script -qec "test -t 2 && echo on-a-tty; '$KAFU' cc -O2 main.c -o tty.wasm" /dev/null \
    >tty.txt 2>&1 || fail "kafu cc on a terminal: $(cat tty.txt)"
  grep -q "^on-a-tty" tty.txt || skip_part "script(1) gave no terminal"
  grep -q "kafu cc:" tty.txt && fail "quick steps printed progress on a terminal: $(cat tty.txt)"
else
  skip_part "script(1) not installed (Debian package bsdutils): kafu cc on a terminal"
fi
KAFU_PROGRESS_MS=0 "$KAFU" cc -O2 main.c -o app.wasm 2>err.txt || fail "kafu cc: $(cat err.txt)"
for line in "kafu cc: compiling main.c ..." "kafu cc: linking ..." "kafu cc: Snapify app.wasm (making it migratable) ..."; do
  grep -qxF "$line" err.txt || fail "no '$line' line: $(cat err.txt)"
done
grep -q "^kafu cc: compiling main.c: done in [0-9.]* s$" err.txt || fail "no done line: $(cat err.txt)"
grep -q "^kafu cc: Snapify app.wasm (making it migratable): done in [0-9.]* s$" err.txt || fail "snapify done: $(cat err.txt)"
cmp -s quiet.wasm app.wasm || fail "progress changed the module"
KAFU_LOG=warn KAFU_PROGRESS_MS=0 "$KAFU" cc -O2 main.c -o app.wasm 2>err.txt || fail "kafu cc: $(cat err.txt)"
[ -s err.txt ] && fail "KAFU_LOG=warn still printed progress: $(cat err.txt)"
ok "progress lines for long steps (KAFU_PROGRESS_MS), silent for quick ones and with KAFU_LOG=warn"

#!/usr/bin/env bash
# cc_progress.sh — `kafu cc` says what a long step is doing (compiling a
# source, the guest support, linking, Snapify), so a large build is not
# silent: nothing for quick steps, a line once a step takes longer than
# KAFU_PROGRESS_MS (default 2 s; 0 = every step at once) and when it is done;
# KAFU_LOG=warn silences it.
source "$KAFU_SRC/tests/shell/lib/common.sh"
cd "$T"
cp "$KAFU_SRC/examples/basic/main.c" main.c
"$KAFU" cc -O2 main.c -o quiet.wasm 2>err.txt || fail "kafu cc: $(cat err.txt)"
[ -s err.txt ] && fail "a quick build printed progress: $(cat err.txt)"
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

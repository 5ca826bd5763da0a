#!/usr/bin/env bash
# singlenode_files.sh — open files and directories travel with the program
# (docs/migration.md, "Files"): files opened on one node are read, written and seeked on
# another at the right offsets (FILE*, raw fds, O_APPEND, O_EXCL, O_TRUNC not
# re-applied, pread/pwrite, a directory stream, fds closed and reused on the
# other node, stdin), identical to an uninterrupted `kafu run`. A file that cannot
# be reopened (deleted while open; moved out of the preopened directory with a
# different file put at its path) is a clear error naming fd and path, exit 1,
# and never a silently different file. A file renamed while open follows.
source "$KAFU_SRC/tests/shell/lib/singlenode.sh"
NODES="cloud edge"
build files
mkdir -p "$T/data.init/dir"
printf 'alpha-beta-gamma-delta\n' >"$T/data.init/input.txt"
for i in $(seq 1 300); do : >"$T/data.init/dir/entry-number-$i-with-a-rather-long-name"; done

modes off files.wasm offsets
[ "$RC" = 0 ] || fail "offsets: exit $RC"
expect_walk off "cloud>edge:enter:edge_io edge>cloud:exit:edge_io cloud>edge:enter:edge_more edge>cloud:exit:edge_more"
# every entry of dir/ exactly once (order-independent sum of FNV-1a hashes)
dirhash=$(python3 - "$T/data.init/dir" <<'PY'
import os, sys
def fnv(s):
    h = 1469598103934665603
    for c in s.encode():
        h = ((h ^ c) * 1099511628211) % 2**64
    return h
print("%016x" % (sum(fnv(n) for n in os.listdir(sys.argv[1])) % 2**64))
PY
)
# the offsets themselves (the same in all runs; spelled out so a shared bug cannot hide)
for line in \
  "edge: log at 11, raw at 8, in at 5, app at 3" \
  "edge: read input [-beta-], now at 11" \
  "edge: log bytes 3..6 [3456], at 7" \
  "edge: raw at 4 after pwrite" \
  "edge: opened edge.txt as fd 8" \
  "cloud: log at 21, raw at 4, edge.txt at 10" \
  "cloud: raw bytes 4..7 [EFGZ]" \
  "edge again: raw at 1, edge.txt at 27" \
  "cloud: dir entries 300 hash $dirhash" \
  "cloud: raw.bin = [ABxyEFGZ]" \
  "cloud: excl.txt = [cloud-excl|edge-excl|]" \
  "cloud: append.txt = [c1|e1|]" \
  "cloud: edge.txt = [from edge|cloud wrote this|]"; do
  grep -qxF "$line" "$T/off.ver.out" || fail "offsets: missing line '$line'"
done
[ "$(grep -c '^cloud: log line' "$T/off.ver.out")" = 3 ] || fail "offsets: log.txt must have 3 lines"
ok "files across 4 migrations: offsets, appends, pread/pwrite, readdir, fd reuse as in kafu run"

# stdin across migrations: in one process every "node" reads the same host
# stdin, so the offset continues (on real nodes each has its own stdin)
seq -f "stdin line %g: 0123456789012345678901234567890123456789" 1 300 >"$T/stdin.txt"
STDIN=$T/stdin.txt modes stdin files.wasm stdin
expect_count stdin 14
[ "$(grep -c '^edge: stdin line' "$T/stdin.ver.out")" = 66 ] || fail "stdin: edge should read 66 lines"
grep -q '^edge raw: 10 ' "$T/stdin.ver.out" || fail "stdin: raw read on edge"
[ "$(grep -c 'stdin line' "$T/stdin.ver.out")" -ge 290 ] || fail "stdin: lines lost"
ok "stdin read alternately on both nodes (stdio buffer in memory, host offset shared)"

# renamed while open (also with a different file or a directory put at the old
# path): the open file follows the rename, like a local program's fd does
for how in rename shorter dir; do
  modes "$how" files.wasm vanish "$how"
  [ "$RC" = 0 ] || fail "$how: exit $RC"
  expect_count "$how" 2
  grep -qx "edge wrote" "$T/$how.ver.out" || fail "$how: edge did not write"
  [ "$(cat "$T/data/moved.txt")" = $'twenty bytes, cloud\nwritten on edge at offset 20' ] ||
    fail "$how: moved.txt is '$(cat "$T/data/moved.txt")'"
  [ "$how" != shorter ] || [ "$(cat "$T/data/doomed.txt")" = new ] || fail "shorter: the new doomed.txt was written to"
done
ok "a file renamed while open is reopened under its new name (3 variants)"

# deleted while open: --verify refuses to checkpoint it (emulate and kafu run,
# which never reopen, continue like a local program)
modes_err() { # LABEL NEEDLE... : --verify fails with exit 1 and every NEEDLE in stderr
  local label=$1
  shift
  [ "$(cat "$T/$label.out")" = "cloud: doomed.txt is fd 4 at 20; ${label#v-}" ] ||
    fail "$label: stdout must stop before the migration: $(cat "$T/$label.out")"
  local n
  for n in "$@"; do grep -qF -- "$n" "$T/$label.err" || fail "$label: stderr lacks '$n': $(cat "$T/$label.err")"; done
  grep -q '"type":"migration"' "$T/$label.jsonl" && fail "$label: a migration event for a failed checkpoint"
  return 0
}
config "$T/unlink.yaml" "$T/files.wasm" vanish unlink
reset_data
"$KAFU" singlenode serve --verify --events "$T/v-unlink.jsonl" "$T/unlink.yaml" >"$T/v-unlink.out" 2>"$T/v-unlink.err"
rc=$?
[ "$rc" = 1 ] || fail "unlink: --verify exit $rc, expected 1"
modes_err v-unlink "kafu singlenode: error: node cloud: saving open files" "fd 4 (./doomed.txt) was deleted while open"
reset_data
"$KAFU" singlenode serve "$T/unlink.yaml" >"$T/e-unlink.out" 2>"$T/e-unlink.err" || fail "unlink: emulate failed"
grep -qx "edge wrote" "$T/e-unlink.out" || fail "unlink: emulate: edge did not write"
ok "deleted while open -> --verify: exit 1, 'fd 4 (./doomed.txt) was deleted while open'"

# moved out of the preopened directory by someone else, a different file put
# at its path: must not silently continue with the new file
config "$T/wait.yaml" "$T/files.wasm" vanish wait
reset_data
mkdir -p "$T/outside"
"$KAFU" singlenode serve --verify --events "$T/v-wait.jsonl" "$T/wait.yaml" >"$T/v-wait.out" 2>"$T/v-wait.err" &
pid=$!
for ((i = 0; i < 400; i++)); do [ -e "$T/data/ready.txt" ] && break; sleep 0.05; done
[ -e "$T/data/ready.txt" ] || { kill "$pid"; fail "wait: the program never got ready"; }
mv "$T/data/doomed.txt" "$T/outside/doomed.txt"
echo "impostor" >"$T/data/doomed.txt"
: >"$T/data/go.txt"
wait "$pid"
rc=$?
[ "$rc" = 1 ] || fail "wait: --verify exit $rc, expected 1"
modes_err v-wait "fd 4 (./doomed.txt) is no longer inside preopened directory '.'"
[ "$(cat "$T/data/doomed.txt")" = "impostor" ] || fail "wait: the impostor file was written to"
[ "$(cat "$T/outside/doomed.txt")" = "twenty bytes, cloud" ] || fail "wait: the moved file changed"
ok "moved out of the preopen, impostor at its path -> exit 1 naming fd 4 and the path; impostor untouched"

#!/usr/bin/env bash
# Files across nodes (app.preopened_dir): a FILE* opened on "a" is written on
# "b" and again on "a" (reopened at the same offset each time), a file read
# partly on "a" is read on to its end on "b", and a file created on "b" is
# read and removed on "a".
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build files
read -r PA PB <<<"$(free_ports 2)"
config "$T/files.yaml" files.wasm '[]' a="$PA" b="$PB"
timeout 60 "$KAFU" launch --no-prefix --events "$T/ev.jsonl" "$T/files.yaml" >"$T/files.out" 2>"$T/files.err"
rc=$?
[ $rc -eq 0 ] || fail "launch exited $rc"
expected='a read: 1 written on a
b read: 2 written on b
b read: 3 written on a after b
a read scratch: made on b
done'
[ "$(cat "$T/files.out")" = "$expected" ] || fail "output: $(cat "$T/files.out")"
[ "$(cat "$T/log.txt")" = $'1 written on a\n2 written on b\n3 written on a after b' ] || fail "log.txt: $(cat "$T/log.txt")"
[ -e "$T/scratch.txt" ] && fail "scratch.txt was not removed"
[ "$(migrations_in "$T/ev.jsonl")" = 4 ] || fail "expected 4 migrations, got $(migrations_in "$T/ev.jsonl")"
ok "files written and read across nodes"

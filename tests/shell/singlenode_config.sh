#!/usr/bin/env bash
# singlenode_config.sh — what `kafu singlenode` refuses before anything runs:
# destinations missing from the config (all named), a bad config (file:line:col),
# a missing or un-Snapified module; and its command line (help, usage errors,
# the original's `kafu singlenode serve CONFIG` and the shorter form, app.args).
source "$KAFU_SRC/tests/shell/lib/singlenode.sh"
build unknown

# expect RC NEEDLE CMD... : exit code RC, NEEDLE in stderr, nothing on stdout
expect() {
  local want=$1 needle=$2
  shift 2
  "$@" >"$T/x.out" 2>"$T/x.err"
  local rc=$?
  [ "$rc" = "$want" ] || fail "'$*': exit $rc, expected $want; stderr: $(cat "$T/x.err")"
  grep -qF -- "$needle" "$T/x.err" || fail "'$*': stderr lacks '$needle': $(cat "$T/x.err")"
}

# destinations not in the config: one error listing every unknown name, and the
# program never starts (no "started" on stdout), in both modes
NODES="cloud edge" config "$T/unk.yaml" "$T/unknown.wasm"
for v in "" --verify; do
  expect 1 "kafu singlenode: error: $T/unk.yaml: the module migrates to nodes not in \`nodes\`: \"mars\" (KAFU_DEST of f), \"venus\" (KAFU_DEST of g) (nodes: cloud, edge)" \
    "$KAFU" singlenode serve $v "$T/unk.yaml"
  [ -s "$T/x.out" ] && fail "unknown destinations: the program ran: $(cat "$T/x.out")"
done
grep -q '"edge"' "$T/x.err" && fail "unknown destinations: 'edge' exists and must not be listed"
# with every node present it runs
NODES="cloud edge mars venus" config "$T/all.yaml" "$T/unknown.wasm"
"$KAFU" singlenode serve -q --events "$T/all.jsonl" "$T/all.yaml" >"$T/all.out" 2>"$T/all.err" ||
  fail "all nodes present: exit $?"
[ "$(migrations "$T/all.jsonl")" = 6 ] || fail "all nodes present: $(migrations "$T/all.jsonl") migrations, expected 6"
ok "unknown destinations listed before anything runs; 6 migrations once they exist"

# a bad config: file:line:col and the key, exit 1 (details: tests/unit/test_config.c)
cat >"$T/bad.yaml" <<YAML
name: bad
app:
  path: $T/unknown.wasm
nodes:
  cloud:
    address: 127.0.0.1
    port: 70000
YAML
expect 1 "kafu singlenode: error: $T/bad.yaml:7:5: nodes.cloud.port: must be an integer 1..65535, got 70000" \
  "$KAFU" singlenode serve "$T/bad.yaml"
sed 's/port: 70000/port: 7/; s/^app:/app:\n  argz: []/' "$T/bad.yaml" >"$T/bad2.yaml"
expect 1 "bad2.yaml:3:3: app.argz: unknown key (did you mean \`args\`?)" "$KAFU" singlenode serve "$T/bad2.yaml"
expect 1 "cannot read config: $T/nope.yaml" "$KAFU" singlenode serve "$T/nope.yaml"
ok "bad config -> exit 1 with file:line:col"

# the module: missing, not Snapified
NODES="cloud edge" config "$T/missing.yaml" "$T/missing.wasm"
expect 1 "missing.wasm" "$KAFU" singlenode serve "$T/missing.yaml"
printf 'int main(void) { return 0; }\n' >"$T/plain.c"
clang --target=wasm32-wasi --sysroot=/usr -O2 "$T/plain.c" -o "$T/plain.wasm" || fail "clang plain.c"
NODES="cloud edge" config "$T/plain.yaml" "$T/plain.wasm"
expect 1 "module is not Snapified (no kafu.meta section); build it with \`kafu cc\`" "$KAFU" singlenode serve "$T/plain.yaml"
ok "missing and un-Snapified modules -> exit 1"

# command line
"$KAFU" singlenode --help >"$T/help.out" 2>&1 || fail "--help: exit $?"
grep -q "Usage: kafu singlenode serve \[--verify\]" "$T/help.out" || fail "--help: $(cat "$T/help.out")"
grep -q -- "--save-snapshots DIR" "$T/help.out" || fail "--help lacks --save-snapshots"
expect 2 "unknown option '--frobnicate'" "$KAFU" singlenode serve --frobnicate "$T/all.yaml"
(cd "$T" && expect 1 "cannot read config: kafu-config.yaml: No such file" "$KAFU" singlenode serve) # the default file
expect 2 "unexpected argument" "$KAFU" singlenode serve "$T/all.yaml" "$T/all.yaml"
expect 2 "option '--events' needs a value" "$KAFU" singlenode serve "$T/all.yaml" --events
expect 1 "cannot write events" "$KAFU" singlenode serve --events "$T/no/such/dir/e.jsonl" "$T/all.yaml"
# `kafu singlenode CONFIG` (no "serve") and options after CONFIG work too
"$KAFU" singlenode "$T/all.yaml" --events="$T/short.jsonl" -q >"$T/short.out" 2>&1 || fail "short form: exit $?"
[ "$(migrations "$T/short.jsonl")" = 6 ] || fail "short form: wrong migrations"
ok "help, usage errors (exit 2), short form"

# app.args reach the program as argv[1..] (argv[0]: singlenode_env.sh)
build nest
NODES="cloud edge fog" config "$T/args.yaml" "$T/nest.wasm" "E" "a b" "rec:3"
"$KAFU" singlenode serve --verify "$T/args.yaml" >"$T/args.out" 2>"$T/args.err"
rc=$?
[ "$rc" = 2 ] || fail "args: exit $rc, expected the program's 2"
grep -q "bad path letter 'a'" "$T/args.err" || fail "args: argv[2] should be 'a b': $(cat "$T/args.err")"
head -1 "$T/args.out" | grep -qx "path E:" || fail "args: argv[1]"
ok "app.args passed in order"

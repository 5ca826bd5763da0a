#!/usr/bin/env bash
# cli_sdk.sh — the original Kafu CLI's small pieces: the libexec/kafu_<cmd>
# entry points (act as `kafu <cmd>`), `kafu list [-l]`, plug-ins run as
# `kafu NAME`, `kafu doctor -v`, `--version` on subcommands, and
# `kafu clang -- ARGS` (one plain clang call, no Snapify).
source "$KAFU_SRC/tests/shell/lib/common.sh"
B=$KAFU_BUILD

# kafu list: the kafu_* of the SDK's libexec (KAFU_SDK_PATH, else next to bin/)
want=$'clang\nclang++\nkustomize\nserve\nsinglenode'
[ "$("$KAFU" list)" = "$want" ] || fail "kafu list: $("$KAFU" list 2>&1)"
[ "$(KAFU_SDK_PATH=$B "$KAFU" list)" = "$want" ] || fail "kafu list with KAFU_SDK_PATH"
[ "$("$KAFU" list -l | head -1)" = "clang	$B/libexec/kafu_clang" ] || fail "kafu list -l: $("$KAFU" list -l)"
[ "$("$KAFU" list --long | wc -l)" = 5 ] || fail "kafu list --long"
err=$(KAFU_SDK_PATH=$T/nope "$KAFU" list 2>&1); rc=$?
[ $rc = 1 ] && grep -q "cannot read $T/nope/libexec" <<<"$err" || fail "bad KAFU_SDK_PATH: rc $rc, $err"
"$KAFU" list --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "kafu list --bogus must exit 2"
ok "kafu list [-l]"

# a plug-in: any other kafu_NAME in libexec runs as `kafu NAME`, exit status passed on
mkdir -p "$T/sdk/libexec"
printf '#!/bin/sh\necho "hello plug-in: $#: $1|$2"\nexit 3\n' >"$T/sdk/libexec/kafu_hello"
chmod +x "$T/sdk/libexec/kafu_hello"
ln -s "$B/bin/kafu" "$T/sdk/libexec/kafu_self"
out=$(KAFU_SDK_PATH=$T/sdk "$KAFU" hello a "b c"); rc=$?
[ $rc = 3 ] && [ "$out" = "hello plug-in: 2: a|b c" ] || fail "plug-in: rc $rc, '$out'"
[ "$(KAFU_SDK_PATH=$T/sdk "$KAFU" list)" = $'hello\nself' ] || fail "kafu list with a plug-in"
KAFU_SDK_PATH=$T/sdk "$KAFU" self >/dev/null 2>&1; [ $? = 2 ] || fail "a link to kafu itself is not a plug-in"
"$KAFU" hello >/dev/null 2>&1; [ $? = 2 ] || fail "no plug-in: unknown command, exit 2"
ok "plug-ins: kafu NAME runs libexec/kafu_NAME"

# the libexec entry points are the commands
"$B/libexec/kafu_singlenode" --help | head -1 | grep -q '^Usage: kafu singlenode' || fail "kafu_singlenode --help"
"$B/libexec/kafu_serve" --help | head -1 | grep -q '^Usage: kafu serve' || fail "kafu_serve --help"
cat >"$T/k.yaml" <<'YAML'
name: sdk-cli
app:
  url: https://example.com/main.wasm
nodes:
  cloud1: {address: kafu-server-cloud1, port: 50051}
  edge1: {address: kafu-server-edge1, port: 50051}
cluster:
  token: sdk-cli-token  # else each build makes a random one
YAML
a=$("$B/libexec/kafu_kustomize" build "$T/k.yaml" --image img:1) || fail "kafu_kustomize build"
b=$("$KAFU" kustomize build "$T/k.yaml" --image img:1)
[ -n "$a" ] && [ "$a" = "$b" ] || fail "kafu_kustomize build differs from kafu kustomize build"
"$B/libexec/kafu_serve" 2>/dev/null; [ $? = 2 ] || fail "kafu_serve without arguments must exit 2"
ok "libexec/kafu_{singlenode,serve,kustomize} act as the commands"

# --version on subcommands (clap style: "<name> <version>")
v=$(sed -n 's/^#define KAFU_VERSION "\(.*\)"/\1/p' "$KAFU_SRC/include/kafu/util.h")
[ "$("$KAFU" serve --version)" = "kafu serve $v" ] || fail "kafu serve --version: $("$KAFU" serve --version)"
[ "$("$KAFU" singlenode -V)" = "kafu singlenode $v" ] || fail "kafu singlenode -V"
[ "$("$KAFU" list --version)" = "kafu list $v" ] || fail "kafu list --version"
[ "$("$B/libexec/kafu_serve" --version)" = "kafu_serve $v" ] || fail "kafu_serve --version"
[ "$("$B/libexec/kafu_singlenode" --version)" = "kafu_singlenode $v" ] || fail "kafu_singlenode --version"
for c in snapify run aot inspect launch kustomize config doctor; do
  [ "$("$KAFU" $c --version)" = "kafu $c $v" ] || fail "kafu $c --version: $("$KAFU" $c --version 2>&1)"
done
out=$("$KAFU" cc --version) || fail "kafu cc --version"
head -1 <<<"$out" | grep -q 'clang version' || fail "kafu cc --version must start with clang's: $out"
[ "$(tail -1 <<<"$out")" = "kafu cc $v (Kafu's wasm32-wasi driver around clang)" ] || fail "kafu cc --version: $out"
[ "$("$B/libexec/kafu_clang" --version | tail -1 | cut -d' ' -f1-2)" = "kafu_clang $v" ] || fail "kafu_clang --version"
ok "--version on subcommands"

# kafu doctor -v lists the installed subcommands; a bad KAFU_SDK_PATH fails it
out=$("$KAFU" doctor -v) || fail "kafu doctor -v: $out"
grep -q "^  OK .*SDK layout (libexec/kafu_\*) *$B/libexec: 5 subcommands" <<<"$out" || fail "doctor -v: $out"
grep -q "^installed subcommands ($B/libexec):" <<<"$out" &&
  grep -q "^  - clang++ ($B/libexec/kafu_clang++)" <<<"$out" || fail "doctor -v list: $out"
"$KAFU" doctor | grep -q "^installed subcommands" && fail "doctor without -v must not list subcommands"
out=$(KAFU_SDK_PATH=$T/nope "$KAFU" doctor); rc=$?
[ $rc = 1 ] && grep -q "MISSING  SDK layout.*$T/nope/libexec" <<<"$out" || fail "doctor with a bad KAFU_SDK_PATH: $rc $out"
[ "$(KAFU_SDK_PATH=$B "$KAFU" doctor --verbose | grep -c '^  - ')" = 5 ] || fail "doctor --verbose"
ok "kafu doctor -v"

# kafu clang -- ARGS: one plain clang call (no Snapify), as the original
cat >"$T/x.c" <<'EOF2'
#include <stdio.h>
#include <kafu.h>
KAFU_DEST(f, "edge")
KAFU_EXPORT(f)
int f(int x) { return x + 1; }
int main(void) { printf("%d\n", f(41)); return 0; }
EOF2
"$KAFU" clang -- "$T/x.c" -O2 -o "$T/raw.wasm" || fail "kafu clang -- ARGS"
"$KAFU" inspect "$T/raw.wasm" | grep -q '^snapified: *no' || fail "kafu clang -- must not Snapify"
[ "$("$KAFU" run "$T/raw.wasm" 2>/dev/null)" = 42 ] || fail "the plain module runs"
"$B/libexec/kafu_clang" "$T/x.c" -O2 -o "$T/snap.wasm" || fail "kafu_clang"
"$KAFU" inspect "$T/snap.wasm" | grep -q '^snapified: *yes' || fail "kafu_clang must Snapify"
ok "kafu clang -- ARGS (plain clang) vs kafu_clang (Snapified)"
echo "cli_sdk: all passed"

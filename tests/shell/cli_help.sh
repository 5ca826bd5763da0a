#!/usr/bin/env bash
# cli_help.sh — every command answers --help (stdout, exit 0, a Usage line) and
# `kafu help CMD` the same; unknown commands/options exit 2; docs/cli.md holds
# each command's current --help text verbatim (so the reference never drifts).
source "$KAFU_SRC/tests/shell/lib/common.sh"
for c in snapify run aot inspect singlenode serve launch restore checkpoint kustomize config trace doctor list version help; do
  "$KAFU" "$c" --help > "$T/h" 2> "$T/e" || fail "kafu $c --help exited $?"
  grep -q '^Usage: kafu' "$T/h" || fail "kafu $c --help: no Usage line"
  "$KAFU" help "$c" > "$T/h2" || fail "kafu help $c exited $?"
  cmp -s "$T/h" "$T/h2" || fail "kafu help $c differs from kafu $c --help"
  case "$c" in doctor) ;; *)
    python3 - "$KAFU_SRC/docs/cli.md" "$T/h" "$c" <<'PY' || fail "docs/cli.md lacks the current 'kafu $c --help' text (regenerate that section)"
import sys
doc, helptext = open(sys.argv[1]).read(), open(sys.argv[2]).read()
sys.exit(0 if helptext.strip() in doc else 1)
PY
  esac
done
for c in snapify run aot inspect singlenode serve launch restore checkpoint kustomize config trace doctor list; do
  "$KAFU" "$c" --no-such-option > /dev/null 2>&1
  rc=$?
  [ "$rc" = 2 ] || fail "kafu $c --no-such-option exited $rc, want 2"
done
# an option whose value is missing: exit 2 and one message, whatever the command
while read -r opt cmd; do
  # shellcheck disable=SC2086  # cmd is one or two words
  "$KAFU" $cmd "$opt" > /dev/null 2> "$T/e"
  rc=$?
  [ "$rc" = 2 ] || fail "kafu $cmd $opt (no value) exited $rc, want 2"
  grep -q "option '$opt' needs a value" "$T/e" || fail "kafu $cmd $opt: message: $(cat "$T/e")"
done <<'EOF2'
--dir run
--cache-dir run
--cache-dir aot
-o snapify
--kafu-stack-size snapify
--save-snapshots singlenode
--node-id serve
--events launch
--node-id restore
--timeout-ms checkpoint
--env launch
--port-base serve
--module kustomize build
-o trace
-n kustomize build
EOF2
"$KAFU" no-such-command > /dev/null 2>&1; [ $? = 2 ] || fail "unknown command must exit 2"
"$KAFU" --bogus > /dev/null 2>&1; [ $? = 2 ] || fail "unknown global option must exit 2"
"$KAFU" --version | grep -q '^kafu [0-9]' || fail "--version"
echo "cli_help: ok"

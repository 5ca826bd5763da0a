#!/usr/bin/env bash
# singlenode_env.sh — what a program run from a config sees: argv[0] is
# "program" (as the original Kafu gives it), argv[1..] are app.args, the
# environment is app.env plus --env NAME=VALUE / --env NAME of the command line
# (nothing else of kafu's own), and it travels with the program; bad app.env
# entries are config errors naming file:line:col; kafu run keeps argv[0] as
# written; the config argument defaults to ./kafu-config.yaml.
source "$KAFU_SRC/tests/shell/lib/singlenode.sh"
build show_env
NODES="cloud edge"
EXTRA_YAML=$'  # (app.env is added below)'
config "$T/kafu-config.yaml" "$T/show_env.wasm" A B C SECRET_HOME
# app.env goes into the app mapping
sed -i 's|^  preopened_dir:|  env: {A: from-config, B: 42}\n  preopened_dir:|' "$T/kafu-config.yaml"
export SECRET_HOME=never-passed C=kafus-own

want_start='start: argc=5 argv0=program A=from-config B=42 C=(unset) SECRET_HOME=(unset)'
for mode in "" --verify; do
  # shellcheck disable=SC2086
  run "$KAFU" singlenode serve $mode -q "$T/kafu-config.yaml"
  expect_rc 0 "singlenode $mode"
  expect_out "$want_start" "singlenode $mode: argv and app.env"
  expect_out "${want_start/start:/edge:}" "singlenode $mode: the environment travels"
done
ok "argv[0] is 'program', app.args, app.env; kafu's own environment is not passed"

# --env adds (NAME=VALUE), replaces app.env's NAME, and passes kafu's own (NAME)
run "$KAFU" singlenode -q --env B=override --env C --env NOT_SET_ANYWHERE --env D=x "$T/kafu-config.yaml"
expect_rc 0 "--env"
expect_out "start: argc=5 argv0=program A=from-config B=override C=kafus-own SECRET_HOME=(unset)" "--env"
run "$KAFU" singlenode --env =x "$T/kafu-config.yaml"
expect_rc 2 "--env =x"
expect_err "--env '=x': expected NAME=VALUE or NAME" "--env =x"
ok "--env NAME=VALUE replaces app.env, --env NAME passes kafu's value, an unset NAME is left out"

# the config shows app.env; bad entries are errors with file:line:col
run "$KAFU" config check -q "$T/kafu-config.yaml"; expect_rc 0 "config check"
"$KAFU" config check "$T/kafu-config.yaml" 2>/dev/null | grep -A2 '^  env:' | grep -q 'B: "42"' ||
  fail "config check does not show app.env: $("$KAFU" config check "$T/kafu-config.yaml" 2>&1)"
for bad in '{"": x}|must be non-empty' '{"A=B": x}|contain no' '[A, B]|must be a mapping' '{A: [1]}|must be a string' \
  '{A: x, A: y}|duplicate'; do
  sed "s|^  env: .*|  env: ${bad%%|*}|" "$T/kafu-config.yaml" >"$T/bad.yaml"
  run "$KAFU" config check -q "$T/bad.yaml"
  expect_rc 1 "app.env ${bad%%|*}"
  grep -q "bad.yaml:[0-9]*:[0-9]*: app.env.*${bad#*|}" "$T/err" || fail "app.env ${bad%%|*}: $err"
done
ok "bad app.env entries: file:line:col errors"

# kafu run: argv[0] as written (like wasmtime run); no environment unless --env
run "$KAFU" run "$T/show_env.wasm" A C; expect_rc 0 "kafu run"
expect_out "start: argc=3 argv0=$T/show_env.wasm A=(unset) C=(unset)" "kafu run argv[0]"
run "$KAFU" run --env A=1 --env C "$T/show_env.wasm" A C; expect_rc 0 "kafu run --env"
expect_out "start: argc=3 argv0=$T/show_env.wasm A=1 C=kafus-own" "kafu run --env"

# no CONFIG: ./kafu-config.yaml, as kustomize and config check
(cd "$T" && "$KAFU" singlenode -q) >"$T/out" 2>"$T/err" || fail "singlenode without CONFIG: $(cat "$T/err")"
expect_out "$want_start" "singlenode without CONFIG"
(cd / && "$KAFU" singlenode -q) >"$T/out" 2>"$T/err" && fail "singlenode in / found a config"
grep -q "kafu-config.yaml" "$T/err" || fail "missing default config: $(cat "$T/err")"
ok "the default config file is ./kafu-config.yaml"

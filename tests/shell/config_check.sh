#!/usr/bin/env bash
# config_check.sh — `kafu config check` end to end: normalized output (a fixed
# point), precise errors with exit 1, usage errors with exit 2, token
# redaction, and `--app`: the module fetched from app.path, file:// and
# http:// URLs with app.sha256 checked (match and mismatch). The schema itself
# is covered in detail by tests/unit/test_config.c.
source "$KAFU_SRC/tests/shell/lib/common.sh"
DATA=$KAFU_SRC/tests/data/config
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

# ---- normalized output ----
run "$KAFU" config check "$DATA/original.yaml"; expect_rc 0 "original example"
DIR=$(cd "$DATA" && pwd -P)
expect_out "  path: $DIR/main.wasm" "relative app.path resolved"
expect_out "  preopened_dir: $DIR" "preopened_dir resolved"
expect_out '  - "960"' "numeric args become strings"
expect_out "    follower_on_coordinator_lost: shutdown_self" "defaults"
expect_out "    compression: lz4" "compression default"
expect_out "  startup_timeout_ms: 30000" "startup timeout default"
expect_err "warning: app.path $DIR/main.wasm does not exist" "missing module is a warning"
# fixed point: the normalized config, checked from elsewhere, prints itself
cp "$T/out" "$T/norm.yaml"
run "$KAFU" config check "$T/norm.yaml"; expect_rc 0 "normalized config"
cmp -s "$T/out" "$T/norm.yaml" || fail "normalized output is not a fixed point"
# node order kept
[ "$(grep -nE '^  (cloud1|edge1):' "$T/norm.yaml" | cut -d: -f2 | tr '\n' ' ')" = "  cloud1   edge1 " ] \
  || fail "node order"

run "$KAFU" config check "$DATA/three.yaml"; expect_rc 0 "three"
expect_out "  token: <redacted>" "token redacted"
grep -q s3cret "$T/out" && fail "token printed without --show-token"
run "$KAFU" config check --show-token "$DATA/three.yaml"; expect_out "  token: s3cret" "--show-token"
run "$KAFU" config check -q "$DATA/three.yaml"; expect_rc 0 "-q"
[ -s "$T/out" ] && fail "-q prints nothing"

# app.preopened_dir "/" (issue 16: accepted silently): refused unless allowed, then warned
printf 'name: x\napp:\n  path: a.wasm\n  preopened_dir: /\nnodes:\n  a: {address: 127.0.0.1, port: 1}\n' >"$T/root.yaml"
run "$KAFU" config check "$T/root.yaml"; expect_rc 1 "preopened_dir /"
expect_err "root.yaml:4:3: app.preopened_dir: \"/\" is the host's root directory" "preopened_dir /"
printf 'name: x\napp:\n  path: a.wasm\n  preopened_dir: /usr/..\nnodes:\n  a: {address: 127.0.0.1, port: 1}\n' >"$T/root2.yaml"
run "$KAFU" config check "$T/root2.yaml"; expect_rc 1 "preopened_dir /usr/.."
mkdir -p "$T/links" && ln -sfn / "$T/links/top"
printf 'name: x\napp:\n  path: a.wasm\n  preopened_dir: links/top\nnodes:\n  a: {address: 127.0.0.1, port: 1}\n' >"$T/root3.yaml"
run "$KAFU" config check "$T/root3.yaml"; expect_rc 1 "preopened_dir: a link to /"
printf 'name: x\napp:\n  path: a.wasm\n  preopened_dir: /\n  allow_root_preopen: true\nnodes:\n  a: {address: 127.0.0.1, port: 1}\n' >"$T/root-ok.yaml"
run "$KAFU" config check "$T/root-ok.yaml"; expect_rc 0 "preopened_dir / allowed"
expect_err "warning: app.preopened_dir is / (allowed by app.allow_root_preopen)" "preopened_dir / warned"
expect_out "  allow_root_preopen: true" "allow_root_preopen kept"

# default file name
cp "$DATA/minimal.yaml" "$T/kafu-config.yaml"
(cd "$T" && "$KAFU" config check >"$T/out" 2>/dev/null) || fail "default ./kafu-config.yaml"
expect_out "  path: $(cd "$T" && pwd -P)/app.wasm" "default file resolves against its dir"

# ---- errors ----
cat >"$T/bad.yaml" <<'YAML'
name: demo
app:
  path: main.wasm
nodes:
  cloud:
    address: 10.0.0.1
    port: 50051
  edge:
    address: 10.0.0.2
    port: x
YAML
run "$KAFU" config check "$T/bad.yaml"; expect_rc 1 "bad port"
[ "$err" = "kafu config: error: $T/bad.yaml:10:5: nodes.edge.port: must be an integer 1..65535, got \"x\"" ] \
  || fail "bad port message: $err"
sed 's/port: x/port: 1\n    placment: gpu/' "$T/bad.yaml" >"$T/typo.yaml"
run "$KAFU" config check "$T/typo.yaml"; expect_rc 1 "typo"
expect_err "$T/typo.yaml:11:5: nodes.edge.placment: unknown key (did you mean \`placement\`?)" "typo hint"
run "$KAFU" config check "$T/missing.yaml"; expect_rc 1 "missing file"
expect_err "cannot read config: $T/missing.yaml: No such file or directory" "missing file"

# ---- usage ----
run "$KAFU" config --help; expect_rc 0 "--help"
run "$KAFU" help config; expect_rc 0 "help config"
run "$KAFU" config; expect_rc 2 "no subcommand"
run "$KAFU" config chek "$DATA/minimal.yaml"; expect_rc 2 "unknown subcommand"
run "$KAFU" config check --frob "$DATA/minimal.yaml"; expect_rc 2 "unknown option"
expect_err "unknown option '--frob'" "unknown option"

# ---- --app: module from path / file:// / http:// with sha256 ----
# a real module: --app checks it as a node would (Snapified, destinations)
printf 'int main(void) { return 0; }\n' >"$T/app.c"
"$KAFU" cc "$T/app.c" -o "$T/app.wasm" 2>/dev/null || fail "kafu cc app.c"
NBYTES=$(stat -c %s "$T/app.wasm")
SHA=$(sha256sum "$T/app.wasm" | cut -d' ' -f1)
ZERO=$(printf '0%.0s' $(seq 64))
cfg() { # file location-line sha
  { echo "name: fetch"; echo "app:"; echo "  $2"; [ -n "$3" ] && echo "  sha256: $3"
    printf 'nodes:\n  a:\n    address: 127.0.0.1\n    port: 50051\n'; } >"$T/$1"
}
cfg p-ok.yaml "path: app.wasm" "$SHA"
run "$KAFU" config check -q --app "$T/p-ok.yaml"; expect_rc 0 "path + sha ok"
expect_err "sha256 $SHA (matches app.sha256)" "path + sha ok"
cfg p-bad.yaml "path: app.wasm" "$ZERO"
run "$KAFU" config check -q --app "$T/p-bad.yaml"; expect_rc 1 "path + sha mismatch"
expect_err "app.sha256 mismatch for $T/app.wasm: expected $ZERO, got $SHA" "path + sha mismatch"
cfg f-ok.yaml "url: file://$T/app.wasm" "$SHA"
run "$KAFU" config check -q --app "$T/f-ok.yaml"; expect_rc 0 "file:// ok"
cfg f-bad.yaml "url: file://$T/app.wasm" "sha256:$ZERO"
run "$KAFU" config check -q --app "$T/f-bad.yaml"; expect_rc 1 "file:// mismatch"
expect_err "expected $ZERO, got $SHA" "file:// mismatch"
cfg f-missing.yaml "url: file://$T/gone.wasm" ""
run "$KAFU" config check -q --app "$T/f-missing.yaml"; expect_rc 1 "file:// missing"
expect_err "cannot fetch file://$T/gone.wasm" "file:// missing"
# without --app the module is not read (a URL need not be reachable to validate)
run "$KAFU" config check -q "$T/f-missing.yaml"; expect_rc 0 "no --app, no fetch"

if command -v python3 >/dev/null 2>&1; then
  mkdir -p "$T/www"; cp "$T/app.wasm" "$T/www/"
  python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 &
  PIDS+=($!)
  PORT=
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$T/http.log" | head -1)
    [ -n "$PORT" ] && break; sleep 0.1
  done
  if [ -z "$PORT" ]; then fail "http server did not start: $(cat "$T/http.log")"; else
    cfg h-ok.yaml "url: http://127.0.0.1:$PORT/app.wasm" "$SHA"
    run "$KAFU" config check -q --app "$T/h-ok.yaml"; expect_rc 0 "http:// ok"
    expect_err "module http://127.0.0.1:$PORT/app.wasm: $NBYTES bytes, sha256 $SHA (matches app.sha256)" "http:// ok"
    cfg h-bad.yaml "url: http://127.0.0.1:$PORT/app.wasm" "$ZERO"
    run "$KAFU" config check -q --app "$T/h-bad.yaml"; expect_rc 1 "http:// mismatch"
    expect_err "expected $ZERO, got $SHA" "http:// mismatch"
    cfg h-404.yaml "url: http://127.0.0.1:$PORT/nope.wasm" ""
    run "$KAFU" config check -q --app "$T/h-404.yaml"; expect_rc 1 "http:// 404"
    expect_err "404" "http:// 404"
  fi
else
  skip_part "python3 not installed (Debian package python3): http:// fetch not tested"
fi

echo "config_check: all checks passed"

#!/usr/bin/env bash
# Compiled code that travels (docs/heterogeneous.md): `kafu aot --target`
# cross-compiles; an aarch64 node with no compiler on PATH serves from a
# shipped artifact (app.aot_dir) or fetches one from a peer (cluster token,
# sha256 + HMAC); a tampered or foreign artifact is refused with a message
# naming the file and the reason, and nothing runs.
source "$KAFU_SRC/tests/shell/lib/xisa.sh" || exit 1
need_aarch64
build pingpong
mkdir "$T/nobin" "$T/run"
cp "$T/pingpong.wasm" "$T/run/pp.wasm"
expected=$'ping 0\npong 0\nping 1\npong 1\nping 2\npong 2\nsum 6'

# 1. kafu aot --target: one artifact per architecture, ELF for that machine
"$KAFU" aot --target aarch64-linux-gnu --target x86_64 --cache-dir "$T/ship" "$T/run/pp.wasm" >"$T/aot.out" 2>"$T/aot.err" ||
  fail "kafu aot --target: $(cat "$T/aot.err")"
a64so=$(grep '/aarch64-[0-9a-f]*-[0-9a-f]*\.so$' "$T/aot.out") || fail "no aarch64 artifact: $(cat "$T/aot.out")"
x86so=$(grep '/x86_64-[0-9a-f]*-[0-9a-f]*\.so$' "$T/aot.out") || fail "no x86_64 artifact: $(cat "$T/aot.out")"
python3 - "$a64so" "$x86so" <<'PY' || fail "artifacts are not ELF shared objects for their machines"
import struct, sys
for path, machine in ((sys.argv[1], 183), (sys.argv[2], 62)):
    h = open(path, "rb").read(20)
    assert h[:4] == b"\x7fELF" and struct.unpack("<H", h[18:20])[0] == machine, path
PY
"$KAFU" aot --target sparc64 "$T/run/pp.wasm" >/dev/null 2>"$T/e"
[ $? = 2 ] && grep -q "unsupported --target 'sparc64'" "$T/e" || fail "unknown target: $(cat "$T/e")"
sha=$(basename "$(dirname "$a64so")")

# single-node configs with app.aot_dir for the refusals (no cluster needed)
single() { # FILE AOT_DIR
  printf 'name: t\napp:\n  path: pp.wasm\n  args: ["1"]\n  preopened_dir: .\n  aot_dir: %s\nnodes:\n  a:\n    address: 127.0.0.1\n    port: 1\n  b:\n    address: 127.0.0.1\n    port: 2\n' "$2" >"$1"
}
nocc() { env PATH="$T/nobin" KAFU_CACHE_DIR="$T/empty-cache" "$@"; }

# 2. tampered: one flipped byte in the shipped aarch64 code
cp -r "$T/ship" "$T/bad"
bad=$T/bad/aot/$sha/${a64so##*/}
python3 - "$bad" <<'PY'
import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[len(d) // 2] ^= 0x40; open(p, "wb").write(d)
PY
single "$T/run/bad.yaml" "$T/bad"
nocc "$QEMU" -L / "$KAFU_A64" singlenode serve "$T/run/bad.yaml" >"$T/bad.out" 2>"$T/bad.err"
rc=$?
[ $rc = 1 ] || fail "tampered artifact: exit $rc"
grep -q "refused: checksum mismatch" "$T/bad.err" && grep -q "${a64so##*/}" "$T/bad.err" ||
  fail "tampered artifact: message: $(cat "$T/bad.err")"
[ -s "$T/bad.out" ] && fail "tampered artifact: the program ran"
ok "a tampered artifact is refused (checksum mismatch, named in the error)"

# 3. foreign: x86-64 code under an aarch64 name (the trailer is intact)
mkdir -p "$T/foreign/aot/$sha"
cp "$x86so" "$T/foreign/aot/$sha/${a64so##*/}"
single "$T/run/foreign.yaml" "$T/foreign"
nocc "$QEMU" -L / "$KAFU_A64" singlenode serve "$T/run/foreign.yaml" >"$T/foreign.out" 2>"$T/foreign.err"
rc=$?
[ $rc = 1 ] && grep -q "built for x86-64, not for aarch64" "$T/foreign.err" ||
  fail "foreign artifact: exit $rc, $(cat "$T/foreign.err")"
ok "an artifact for another machine is refused: built for x86-64, not for aarch64"

# 4. a shipped directory someone else can write is not trusted
cp -r "$T/ship" "$T/open"
chmod 0777 "$T/open/aot/$sha"
single "$T/run/open.yaml" "$T/open"
nocc "$QEMU" -L / "$KAFU_A64" singlenode serve "$T/run/open.yaml" >/dev/null 2>"$T/open.err"
rc=$?
[ $rc = 1 ] && grep -q "writable by others" "$T/open.err" || fail "world-writable aot_dir: exit $rc, $(cat "$T/open.err")"
ok "a world-writable artifact directory is not used"

# 5. cluster: x86-64 a (with compilers) and aarch64 b without any compiler on PATH
cluster() { # NAME B_AOT_DIR A_AOT_DIR [extra cluster yaml]
  local name=$1 bdir=$2 adir=$3 pa pb
  shift 3
  read -r pa pb <<<"$(free_ports 2)"
  config "$T/run/$name.yaml" pp.wasm '["3"]' a="$pa" b="$pb" -- "$@"
  cp "$T/run/$name.yaml" "$T/run/$name-b.yaml"
  [ -n "$adir" ] && sed -i "s|^  preopened_dir: .|&\n  aot_dir: $adir|" "$T/run/$name.yaml"
  [ -n "$bdir" ] && sed -i "s|^  preopened_dir: .|&\n  aot_dir: $bdir|" "$T/run/$name-b.yaml"
  OUT_OF=([a]="$T/$name.out" [b]="$T/$name.out")
  ERR_OF=([a]="$T/$name-a.err" [b]="$T/$name-b.err")
  : >"$T/$name.out"
  A64_ENV="PATH=$T/nobin KAFU_CACHE_DIR=$T/cache-$name" serve_a64 b "$T/run/$name-b.yaml"
  local pidb=$LAST_PID
  serve_x86 a "$T/run/$name.yaml"
  wait_exit "$LAST_PID" 120
  [ $EXIT_CODE = 0 ] || fail "$name: node a exited $EXIT_CODE"
  wait_exit "$pidb" 30
  [ $EXIT_CODE = 0 ] || fail "$name: node b exited $EXIT_CODE"
  [ "$(cat "$T/$name.out")" = "$expected" ] || fail "$name: output: $(cat "$T/$name.out")"
}

cluster shipped "$T/ship" ""
grep -q "using the precompiled artifact $T/ship/aot/$sha/aarch64-" "$T/shipped-b.err" ||
  fail "b did not use the shipped artifact: $(cat "$T/shipped-b.err")"
grep -q "kafu: compil" "$T/shipped-b.err" && fail "b compiled although it has no compiler"
ok "an aarch64 node without a compiler serves from app.aot_dir"

# 6. no artifact on b at all: it gets the code from a (a serves its app.aot_dir), token-authenticated
cluster fetched "" "$T/ship" "  token: xisa-s3cret"
grep -q "got compiled code aarch64-.*\.so ([0-9]* bytes) from node a" "$T/fetched-b.err" ||
  fail "b did not fetch its code from a: $(cat "$T/fetched-b.err")"
grep -q "handed compiled code aarch64-" "$T/fetched-a.err" || fail "a did not hand out code: $(cat "$T/fetched-a.err")"
ls "$T/cache-fetched/aot/$sha/"aarch64-*.so >/dev/null 2>&1 || fail "the fetched code is not in b's cache"
ok "an aarch64 node without a compiler fetches its code from a peer"

# 7. GET /aot needs the token; a "peer" that does not know the token cannot
#    hand out code (its HMAC is wrong), even with the right bytes and sha256
read -r pa pb <<<"$(free_ports 2)"
config "$T/run/tok.yaml" pp.wasm '["1"]' a="$pa" b="$pb" -- "  token: right"
sed "s|^  preopened_dir: .|&\n  aot_dir: $T/ship|" "$T/run/tok.yaml" >"$T/run/tok-a.yaml"
ERR_OF=() OUT_OF=()
serve_x86 a "$T/run/tok-a.yaml"
pida=$LAST_PID
for _ in $(seq 400); do [ "$(status_of "$pa" /healthz)" = 200 ] && break; sleep 0.05; done
[ "$(status_of "$pa" "/aot/$sha/aarch64")" = 401 ] || fail "GET /aot without the token: not 401"
for _ in $(seq 400); do
  st=$(curl -s -o "$T/art.bin" -w '%{http_code}' -H "Authorization: Bearer right" "127.0.0.1:$pa/aot/$sha/aarch64")
  [ "$st" = 503 ] || break
  sleep 0.05
done
[ "$st" = 200 ] || fail "GET /aot with the token: $st"
python3 - "$T/art.bin" "$a64so" <<'PY' || fail "GET /aot body is not a header line + the artifact"
import json, sys, hashlib
d = open(sys.argv[1], "rb").read(); i = d.index(b"\n"); h = json.loads(d[:i]); body = d[i + 1:]
assert body == open(sys.argv[2], "rb").read() and h["size"] == len(body), "body"
assert h["sha256"] == hashlib.sha256(body).hexdigest() and len(h["mac"]) == 64, "header"
PY
kill9 "$pida"
# the impostor: same bytes, same sha256, a mac made with another token
python3 - "$T/art.bin" "$pa" <<'PY' &
import http.server, json, sys, hashlib, hmac
d = open(sys.argv[1], "rb").read(); i = d.index(b"\n"); h = json.loads(d[:i]); body = d[i + 1:]
h["mac"] = hmac.new(b"wrong", b"whatever", hashlib.sha256).hexdigest()
answer = json.dumps(h).encode() + b"\n" + body
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", str(len(answer))); self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
PY
PIDS+=($!)
sleep 0.5
A64_ENV="PATH=$T/nobin KAFU_CACHE_DIR=$T/cache-impostor" serve_a64 b "$T/run/tok.yaml"
wait_exit "$LAST_PID" 60
[ $EXIT_CODE != 0 ] || fail "b accepted code from a peer without the token"
grep -q "not authenticated with the cluster token (mac mismatch): refused" "$T/b.err" ||
  fail "impostor: $(cat "$T/b.err")"
ls "$T/cache-impostor/aot/$sha/"*.so >/dev/null 2>&1 && fail "the impostor's code was stored"
ok "code from a peer that does not know cluster.token is refused"

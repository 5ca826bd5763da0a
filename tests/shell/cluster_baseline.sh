#!/usr/bin/env bash
# The "baseline" conflict (docs/cluster.md, "Migration protocol"), both sides:
#  - receiver: a delta against an image the node does not hold is refused
#    with 409 {"error":"baseline"} before memory is touched; the node stays
#    idle and takes a full snapshot next;
#  - sender: answered 409 "baseline", it retries at once with a full image
#    (here against a fake node that claims to hold the sender's own image,
#    which makes the sender try an empty delta first).
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build pingpong

# capture a full (0001) and a delta (0002) snapshot a -> b
read -r PA PB <<<"$(free_ports 2)"
config "$T/cap.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB"
serve b "$T/cap.yaml"
serve a "$T/cap.yaml" --save-snapshots "$T/snaps"
wait_exit "$LAST_PID" 30
[ "$EXIT_CODE" = 0 ] || fail "capture run exited $EXIT_CODE"
snapinfo() { "$KAFU" inspect --json "$1" | python3 -c 'import json,sys; m=json.load(sys.stdin)["memory"]; print(sys.argv[1] and m[sys.argv[1]])' "$2"; }
[ "$(snapinfo "$T/snaps/0001-a-b.kafusnap" mode)" = full ] || fail "first snapshot is not a full image"
[ "$(snapinfo "$T/snaps/0002-a-b.kafusnap" mode)" = delta ] || fail "second snapshot is not a delta"

# receiver side
read -r PA PB <<<"$(free_ports 2)"
config "$T/r.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB"
serve b "$T/r.yaml"; PID_B=$LAST_PID
wait_ready "$PB"
http POST "$PB" /migrate --data-binary @"$T/snaps/0002-a-b.kafusnap"
[ "$HTTP_STATUS" = 409 ] && [ "$(json_get error <<<"$HTTP_BODY")" = baseline ] || fail "delta to a fresh node: $HTTP_STATUS $HTTP_BODY"
[ "$(get "$PB" /status | json_get state)" = idle ] || fail "b not idle after the baseline conflict"
http POST "$PB" /migrate --data-binary @"$T/snaps/0001-a-b.kafusnap"
[ "$HTTP_STATUS" = 200 ] || fail "full snapshot after the conflict: $HTTP_STATUS $HTTP_BODY"
# the receiver says how long it worked on it (compression: auto tells a busy
# receiver from a slow link by it)
busy=$(json_get busy_us <<<"$HTTP_BODY")
[[ "$busy" =~ ^[0-9]+$ ]] || fail "no busy_us in the 200: $HTTP_BODY"
for ((i = 0; i < 100; i++)); do grep -q 'pong 0' "$T/b.out" && break; sleep 0.05; done
grep -q 'pong 0' "$T/b.out" || fail "b did not resume the full snapshot"
http POST "$PB" /shutdown --data-binary '{"exit_code": 0}'
wait_exit "$PID_B" 10
ok "receiver: delta against a missing baseline -> 409 baseline; full accepted after"

# sender side, against a fake b
read -r PA PB <<<"$(free_ports 2)"
config "$T/s.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB"
own_image=$(snapinfo "$T/snaps/0001-a-b.kafusnap" image_id)
sha=$(sha256sum "$T/pingpong.wasm" | cut -d' ' -f1)
mkdir -p "$T/fake"
python3 - "$PB" "$sha" "$own_image" "$T/fake" >"$T/fake.out" 2>"$T/fake.err" <<'PY' &
import http.server, json, sys
port, sha, image, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
posts = []
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))
    def do_GET(self):
        if self.path == "/baseline":
            return self.reply(200, {"node": "b", "image_id": image})
        self.reply(200, {"ready": True, "status": "ok", "node": "b", "module_sha256": sha})
    def do_POST(self):
        data = self.body()
        if self.path != "/migrate":
            return self.reply(200, {"ok": True})
        posts.append(data)
        open(f"{out}/post-{len(posts)}.snap", "wb").write(data)
        if len(posts) == 1:
            return self.reply(409, {"error": "baseline", "message": "fake: that is not the image held here"})
        self.reply(200, {"ok": True, "node": "b"})
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PIDS+=($!)
for ((i = 0; i < 100; i++)); do [ "$(status_of "$PB" /healthz)" = 200 ] && break; sleep 0.05; done
serve a "$T/s.yaml"; PID_A=$LAST_PID
for ((i = 0; i < 200; i++)); do [ -s "$T/fake/post-2.snap" ] && break; sleep 0.05; done
[ -s "$T/fake/post-2.snap" ] || fail "the sender did not retry after 409 baseline"
for ((i = 0; i < 100; i++)); do [ "$(get "$PA" /status | json_get state)" = idle ] && break; sleep 0.05; done
[ "$(get "$PA" /status | json_get state)" = idle ] || fail "a not idle after the acknowledged retry"
[ "$(snapinfo "$T/fake/post-1.snap" mode)" = delta ] || fail "first attempt was not a delta"
[ "$(snapinfo "$T/fake/post-2.snap" mode)" = full ] || fail "retry was not a full image"
grep -q 'node a: b does not hold the delta.s baseline; sending the full image' "$T/a.err" || fail "retry not logged"
http POST "$PA" /shutdown --data-binary '{"exit_code": 0}'
wait_exit "$PID_A" 10
[ "$EXIT_CODE" = 0 ] || fail "a exited $EXIT_CODE"
ok "sender: 409 baseline -> immediate retry with the full image"

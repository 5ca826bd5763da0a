#!/usr/bin/env bash
# cluster.token: every POST needs `Authorization: Bearer <token>` (401 + JSON
# otherwise); GETs stay open (probes); a cluster whose nodes share the token
# runs normally; nodes with different tokens find out at start-up, before
# anything runs (issue 16). cluster.token_file and `kafu serve --token-file`.
# `kafu launch` makes a token for its run: nobody else can end it (issue 16:
# POST /shutdown {"exit_code":0} from anyone ended a run). Without a token a
# node warns at start and takes POSTs only from the nodes' addresses.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build pingpong
build ending

read -r PA PB <<<"$(free_ports 2)"
config "$T/tok.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  token: s3cret-token"
serve b "$T/tok.yaml"; PID_B=$LAST_PID
wait_ready "$PB"
for path in /migrate /shutdown /heartbeat; do
  http POST "$PB" $path --data-binary '{"exit_code":0}'
  [ "$HTTP_STATUS" = 401 ] || fail "POST $path without token: HTTP $HTTP_STATUS"
  [ "$(json_get error <<<"$HTTP_BODY")" = unauthorized ] || fail "POST $path without token: $HTTP_BODY"
  http POST "$PB" $path -H 'Authorization: Bearer wrong' --data-binary '{"exit_code":0}'
  [ "$HTTP_STATUS" = 401 ] || fail "POST $path with a wrong token: HTTP $HTTP_STATUS"
done
http POST "$PB" /heartbeat -H 'Authorization: Bearer s3cret-token' --data-binary '{"node":"a"}'
[ "$HTTP_STATUS" = 200 ] || fail "heartbeat with the token: HTTP $HTTP_STATUS $HTTP_BODY"
[ "$(status_of "$PB" /healthz)" = 200 ] && [ "$(status_of "$PB" /status)" = 200 ] || fail "GETs need no token"
kill -0 "$PID_B" || fail "node died from unauthorized requests"
grep -q 'refused POST /shutdown from 127.0.0.1:[0-9]*: missing cluster token' "$T/b.err" || fail "refusal not logged"
http GET "$PB" /status -H 'Authorization: Bearer wrong'
[ "$HTTP_STATUS" = 401 ] || fail "GET with a wrong token: HTTP $HTTP_STATUS (a wrong token is refused everywhere)"
ok "401 without/with a wrong token; GETs open"

# the real run with the token
serve a "$T/tok.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 30
[ "$EXIT_CODE" = 0 ] || fail "run with a token exited $EXIT_CODE"
[ "$(cat "$T/a.out")" = $'ping 0\nping 1\nsum 2' ] || fail "run with a token: $(cat "$T/a.out")"
wait_exit "$PID_B" 10
ok "a cluster sharing the token runs"

# nodes with different tokens: found at start-up (the coordinator's GET
# /readyz carries its token), nothing runs, both sides say why
read -r PA PB <<<"$(free_ports 2)"
config "$T/b.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  token: token-of-b"
config "$T/a.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  token: token-of-a"
serve b "$T/b.yaml"; PID_B=$LAST_PID
wait_ready "$PB"
serve a "$T/a.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 30
[ "$EXIT_CODE" = 1 ] || fail "coordinator with a wrong token exited $EXIT_CODE"
grep -q "node b at 127.0.0.1:$PB refused this node's cluster token" "$T/a.err" ||
  fail "coordinator-side message: $(tail -3 "$T/a.err") // b: $(tail -3 "$T/b.err")"
! grep -q 'Program is starting' "$T/a.err" || fail "the program started despite the token mismatch"
grep -q "refused GET /readyz from 127.0.0.1:[0-9]*: wrong cluster token" "$T/b.err" ||
  fail "follower-side message: $(tail -3 "$T/b.err")"
# the follower ends too: its heartbeat was refused, or (when the coordinator
# was gone before that) the coordinator is lost
kill "$PID_B" 2>/dev/null; wait_exit "$PID_B" 30
ok "different tokens: found at start-up, before anything runs"

# one node with a token, one without: also found at start-up
config "$T/none.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB"
serve b "$T/b.yaml"; PID_B=$LAST_PID
wait_ready "$PB"
serve a "$T/none.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 30
[ "$EXIT_CODE" = 1 ] || fail "coordinator without a token exited $EXIT_CODE"
grep -q "node b at 127.0.0.1:$PB requires a cluster token but this node has none" "$T/a.err" ||
  fail "coordinator-side message: $(tail -3 "$T/a.err") // b: $(tail -3 "$T/b.err")"
kill "$PID_B"; wait_exit "$PID_B" 10
ok "token on one node only: found at start-up"

# cluster.token_file (0600) and --token-file; a readable token file is warned about
printf 'file-token-123\n' >"$T/token"; chmod 600 "$T/token"
read -r PA PB <<<"$(free_ports 2)"
config "$T/tf.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  token_file: token"
printf 'file-token-123' >"$T/token2"; chmod 644 "$T/token2"
config "$T/plain.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB"
serve b "$T/plain.yaml" --token-file "$T/token2"; PID_B=$LAST_PID
wait_ready "$PB"
grep -q "token file $T/token2 is readable by every user" "$T/b.err" || fail "no warning about a readable token file"
http POST "$PB" /heartbeat -H 'Authorization: Bearer file-token-123' --data-binary '{"node":"a"}'
[ "$HTTP_STATUS" = 200 ] || fail "--token-file: heartbeat with its token: HTTP $HTTP_STATUS"
serve a "$T/tf.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 30
[ "$EXIT_CODE" = 0 ] || fail "run with token files exited $EXIT_CODE: $(tail -3 "$T/a.err")"
! grep -q 'no cluster token' "$T/a.err" || fail "a node with a token file warned about a missing token"
wait_exit "$PID_B" 10
"$KAFU" config check "$T/tf.yaml" >"$T/tf.out" 2>&1 || fail "config check of a token_file config"
grep -q "token_file: $T/token" "$T/tf.out" && ! grep -q 'file-token-123' "$T/tf.out" ||
  fail "config check shows the token or loses token_file: $(cat "$T/tf.out")"
printf 'two words\n' >"$T/bad-token"
config "$T/badtf.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  token_file: bad-token"
! "$KAFU" config check "$T/badtf.yaml" >"$T/badtf.out" 2>&1 || fail "a token with a space was accepted"
grep -q 'cluster.token_file: token file .*bad-token: unusable token' "$T/badtf.out" || fail "bad token: $(cat "$T/badtf.out")"
ok "cluster.token_file and --token-file"

# no token at all: a warning at start; POSTs only from the nodes' addresses
read -r PA PB <<<"$(free_ports 2)"
config "$T/open.yaml" ending.wasm '["slow", "2", "300"]' a="$PA" b="$PB"
serve b "$T/open.yaml"; PID_B=$LAST_PID
wait_ready "$PB"
grep -q 'node b: no cluster token' "$T/b.err" || fail "no warning about the missing token"
"$KAFU" config check "$T/open.yaml" 2>&1 >/dev/null | grep -q 'warning: no cluster token' || fail "config check does not warn"
code=$(curl -s -o "$T/forbidden.json" -w '%{http_code}' --interface 127.0.0.2 -X POST \
  --data-binary '{"exit_code":0}' "http://127.0.0.1:$PB/shutdown")
[ "$code" = 403 ] || fail "POST /shutdown from 127.0.0.2 to a node without a token: HTTP $code"
kill -0 "$PID_B" || fail "b ended on a stranger's /shutdown"
serve a "$T/open.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 30
[ "$EXIT_CODE" = 0 ] || fail "run without a token exited $EXIT_CODE"
wait_exit "$PID_B" 10
ok "no token: warned; a stranger's POST /shutdown is refused (403)"

# kafu launch makes a token for its run: a POST /shutdown from anyone is 401,
# and the run ends as the program says
read -r PA PB <<<"$(free_ports 2)"
config "$T/launch.yaml" ending.wasm '["slow", "3", "700"]' a="$PA" b="$PB"
"$KAFU" launch --no-prefix "$T/launch.yaml" >"$T/launch.out" 2>"$T/launch.err" &
PID_L=$!
PIDS+=("$PID_L")
for ((i = 0; i < 400; i++)); do grep -q 'on b (3)' "$T/launch.out" && break; sleep 0.05; done
for port in "$PA" "$PB"; do
  http POST "$port" /shutdown --data-binary '{"exit_code":0,"reason":"attack"}'
  [ "$HTTP_STATUS" = 401 ] || fail "kafu launch node on $port: POST /shutdown without the run's token: HTTP $HTTP_STATUS"
done
wait_exit "$PID_L" 60
[ "$EXIT_CODE" = 0 ] || fail "kafu launch exited $EXIT_CODE: $(tail -3 "$T/launch.err")"
[ "$(grep -c 'on b (3)' "$T/launch.out")" = 3 ] || fail "the run was cut short: $(cat "$T/launch.out")"
! grep -q 'no cluster token' "$T/launch.err" || fail "kafu launch nodes run without a token"
ok "kafu launch: a per-run token; nobody else ends the run"

#!/usr/bin/env bash
# cluster.token: every POST needs `Authorization: Bearer <token>` (401 + JSON
# otherwise); GETs stay open (probes); a cluster whose nodes share the token
# runs normally; a sender with the wrong token is refused and says so.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build pingpong

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
grep -q 'refused POST /shutdown from 127.0.0.1:[0-9]*: missing or wrong cluster token' "$T/b.err" || fail "refusal not logged"
ok "401 without/with a wrong token; GETs open"

# the real run with the token
serve a "$T/tok.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 30
[ "$EXIT_CODE" = 0 ] || fail "run with a token exited $EXIT_CODE"
[ "$(cat "$T/a.out")" = $'ping 0\nping 1\nsum 2' ] || fail "run with a token: $(cat "$T/a.out")"
wait_exit "$PID_B" 10
ok "a cluster sharing the token runs"

# a coordinator with another token: its snapshot is refused, and it says so
read -r PA PB <<<"$(free_ports 2)"
config "$T/b.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  token: token-of-b"
config "$T/a.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  token: token-of-a"
serve b "$T/b.yaml"; PID_B=$LAST_PID
serve a "$T/a.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 30
[ "$EXIT_CODE" = 1 ] || fail "coordinator with a wrong token exited $EXIT_CODE"
grep -q "kafu serve: error: node a: the program cannot continue: snapshot for node b at 127.0.0.1:$PB rejected: node b answered HTTP 401 unauthorized" "$T/a.err" ||
  fail "sender-side message: $(tail -3 "$T/a.err")"
grep -q 'refused POST /migrate' "$T/b.err" || fail "receiver did not log the refusal"
# (b may never have reached a before it left, so it would wait for the start-up timeout)
kill "$PID_B"
wait_exit "$PID_B" 10
ok "wrong token: refused (401), logged on both sides"

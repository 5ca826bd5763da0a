#!/usr/bin/env bash
# cluster.tls: mutual TLS between nodes (issue 16). Certificates are made here
# with openssl: a cluster CA, one node certificate for 127.0.0.1 (server and
# client use), and a second CA with a certificate of its own (a stranger).
# A node serves HTTPS only; GETs stay open over TLS (probes have no client
# certificate); a POST without a client certificate, or with one the cluster
# CA did not sign, is refused with 403 and changes nothing; two nodes with the
# cluster's certificates run a program with migrations; unusable files are
# named (config check for a missing key, kafu serve for a missing or non-PEM file).
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
need openssl openssl
build pingpong

# ca NAME -> $T/NAME-ca.pem/.key; cert NAME CA -> $T/NAME.pem/.key signed by CA
ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1 test CA" \
    -keyout "$T/$1-ca.key" -out "$T/$1-ca.pem" 2>"$T/openssl.log" || fail "openssl: CA $1: $(cat "$T/openssl.log")"
}
cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$T/$1.key" -out "$T/$1.csr" 2>"$T/openssl.log" || fail "openssl: request $1: $(cat "$T/openssl.log")"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$T/$1.ext"
  openssl x509 -req -in "$T/$1.csr" -CA "$T/$2-ca.pem" -CAkey "$T/$2-ca.key" -CAcreateserial -days 2 \
    -extfile "$T/$1.ext" -out "$T/$1.pem" 2>"$T/openssl.log" || fail "openssl: sign $1: $(cat "$T/openssl.log")"
  chmod 600 "$T/$1.key"
}
ca cluster
cert node cluster
ca other
cert stranger other

read -r PA PB <<<"$(free_ports 2)"
TLS=("  tls:" "    cert: node.pem" "    key: node.key" "    ca: cluster-ca.pem")
config "$T/tls.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "${TLS[@]}"

# https PORT METHOD PATH [curl args] -> $HTTP_STATUS ("000": no HTTP answer), $HTTP_BODY
https() {
  local port=$1 m=$2 path=$3 out
  shift 3
  out=$(curl -s -X "$m" --cacert "$T/cluster-ca.pem" -w '\n%{http_code}' "$@" "https://127.0.0.1:$port$path")
  HTTP_STATUS=${out##*$'\n'}
  HTTP_BODY=${out%$'\n'*}
}

serve b "$T/tls.yaml"; PID_B=$LAST_PID
for ((i = 0; i < 600; i++)); do
  https "$PB" GET /readyz
  [ "$HTTP_STATUS" = 200 ] && break
  kill -0 "$PID_B" 2>/dev/null || fail "node b ended: $(tail -3 "$T/b.err")"
  sleep 0.05
done
[ "$HTTP_STATUS" = 200 ] || fail "node b not ready over HTTPS: $HTTP_STATUS $HTTP_BODY"
! grep -q 'no cluster token' "$T/b.err" || fail "a node with cluster.tls warned about having no token"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PB/healthz")" != 200 ] || fail "plain HTTP answered"
https "$PB" GET /healthz
[ "$HTTP_STATUS" = 200 ] || fail "GET /healthz over TLS without a client certificate: $HTTP_STATUS"
ok "HTTPS only; GETs need no client certificate"

for path in /shutdown /migrate /heartbeat; do
  https "$PB" POST $path --data-binary '{"exit_code":0}'
  [ "$HTTP_STATUS" = 403 ] || fail "POST $path without a client certificate: HTTP $HTTP_STATUS $HTTP_BODY"
  [ "$(json_get error <<<"$HTTP_BODY")" = certificate ] || fail "POST $path without a certificate: $HTTP_BODY"
  https "$PB" POST $path --cert "$T/stranger.pem" --key "$T/stranger.key" --data-binary '{"exit_code":0}'
  [ "$HTTP_STATUS" = 403 ] || fail "POST $path with another CA's certificate: HTTP $HTTP_STATUS $HTTP_BODY"
done
grep -q 'refused POST /shutdown from 127.0.0.1:[0-9]*: no valid client certificate' "$T/b.err" ||
  fail "refusal not logged"
kill -0 "$PID_B" || fail "node b ended after refused POSTs"
https "$PB" GET /readyz
[ "$HTTP_STATUS" = 200 ] || fail "node b not ready after refused POSTs: $HTTP_STATUS $HTTP_BODY"
ok "POSTs without a certificate of the cluster CA: 403, nothing changed"

serve a "$T/tls.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 60
[ "$EXIT_CODE" = 0 ] || fail "run over TLS exited $EXIT_CODE"
[ "$(cat "$T/a.out")" = $'ping 0\nping 1\nsum 2' ] || fail "run over TLS: $(cat "$T/a.out")"
wait_exit "$PID_B" 20
[ "$EXIT_CODE" = 0 ] || fail "node b exited $EXIT_CODE"
grep -q 'refused' "$T/a.err" && fail "the coordinator refused something: $(grep refused "$T/a.err")"
ok "two nodes with the cluster's certificates run the program (migrations over mutual TLS)"

# a coordinator whose certificate another CA signed: node b refuses its POSTs,
# and it does not trust b's certificate either; the run fails, never hangs
read -r PA PB <<<"$(free_ports 2)"
HB_MS=2000 config "$T/tls.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "${TLS[@]}" "  startup_timeout_ms: 3000"
sed -i '/startup_timeout_ms: 20000/d' "$T/tls.yaml"
sed 's/node\.pem/stranger.pem/; s/node\.key/stranger.key/; s/cluster-ca\.pem/other-ca.pem/' "$T/tls.yaml" >"$T/stranger.yaml"
serve b "$T/tls.yaml"; PID_B=$LAST_PID
serve a "$T/stranger.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 60
[ "$EXIT_CODE" != 0 ] || fail "a coordinator of another CA ran the program"
! grep -q '^ping' "$T/a.out" || fail "the program ran with a stranger's certificate: $(cat "$T/a.out")"
grep -qi 'certificate' "$T/a.err" || fail "the coordinator does not say why: $(tail -3 "$T/a.err")"
kill "$PID_B" 2>/dev/null; wait_exit "$PID_B" 20
ok "a node of another CA: nothing runs, the error names the certificate"

# unusable files: a missing key named by config check; a missing file and one
# that is not PEM named by kafu serve
config "$T/nokey.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  tls:" "    cert: node.pem" "    ca: cluster-ca.pem"
run "$KAFU" config check "$T/nokey.yaml"
expect_rc 1 "config check without a key"
expect_err 'cluster.tls: missing `key`' "config check without a key"
config "$T/gone.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  tls:" "    cert: node.pem" "    key: node.key" "    ca: gone.pem"
run "$KAFU" serve --node-id b "$T/gone.yaml"
expect_rc 1 "serve, CA file missing"
expect_err "cluster.tls.ca: $T/gone.pem: No such file or directory" "serve, CA file missing"
echo "not a certificate" >"$T/junk.pem"
config "$T/junk.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB" -- "  tls:" "    cert: junk.pem" "    key: node.key" "    ca: cluster-ca.pem"
run "$KAFU" serve --node-id b "$T/junk.yaml"
expect_rc 1 "serve with a certificate that is not PEM"
expect_err "cluster.tls: certificate $T/junk.pem with key $T/node.key" "serve with a certificate that is not PEM"
ok "a missing key, a missing file, a file that is not a certificate: named"

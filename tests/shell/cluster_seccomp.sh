#!/usr/bin/env bash
# Under a seccomp profile that refuses userfaultfd (as Kubernetes' RuntimeDefault
# usually does; kafu kustomize sets it), nodes fall back to finding dirty
# pages by hashing: the run is the same, deltas included.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build pingpong
cc -O2 "$PROGS/noufd.c" -o "$T/noufd" || fail "cannot build noufd"
read -r PA PB <<<"$(free_ports 2)"
config "$T/s.yaml" pingpong.wasm '["20"]' a="$PA" b="$PB"
KAFU_LOG=debug timeout 120 "$T/noufd" "$KAFU" launch --no-prefix --events "$T/ev.jsonl" "$T/s.yaml" \
  >"$T/out" 2>"$T/err" || fail "run under the seccomp filter: $(tail -3 "$T/err")"
[ "$(tail -1 "$T/out")" = "sum 380" ] || fail "run under the seccomp filter: $(tail -2 "$T/out")"
grep -q 'dirty pages found by hashing (dirty tracking: userfaultfd: Operation not permitted)' "$T/err" ||
  fail "no fallback to hashing logged: $(grep -i dirty "$T/err" | head -3)"
grep -q '"delta":true' "$T/ev.jsonl" || fail "no delta transfers after the fallback"
ok "userfaultfd refused by seccomp: dirty pages by hashing, deltas, the same output"

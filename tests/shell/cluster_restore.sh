#!/usr/bin/env bash
# kafu restore / kafu checkpoint (docs/migration.md, "Resuming a saved
# snapshot"): snapshots that --save-snapshots wrote on real nodes resume on a
# fresh cluster (other ports), as a loopback cluster, as one node of a
# cluster (--node-id) and in one process (--singlenode); a delta resumes
# through its full companion; a corrupted, foreign or incomplete snapshot is
# refused before anything starts; `kafu checkpoint` takes one from a running
# cluster at its next migration point, and it resumes too; both take -q and
# default CONFIG to ./kafu-config.yaml.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build failover
build pingpong

restore() { # name args... -> $rc, $T/name.out, $T/name.err
  local name=$1
  shift
  timeout 60 "$KAFU" restore "$@" >"$T/$name.out" 2>"$T/$name.err"
  rc=$?
}

# 1. a run that saves its snapshots on both nodes
touch "$T/go-work"
fo_config "$T/save.yaml" '["plain"]'
serve c "$T/save.yaml"; PID_C=$LAST_PID
serve b "$T/save.yaml" --save-snapshots "$T/snaps-b"; PID_B=$LAST_PID
serve a "$T/save.yaml" --save-snapshots "$T/snaps-a"; PID_A=$LAST_PID
fo_done 7 "saving run"
ENTER="$T/snaps-a/0001-a-b.kafusnap" EXIT="$T/snaps-b/0001-b-a.kafusnap"
[ -s "$ENTER" ] && [ -s "$EXIT" ] || fail "snapshots not saved: $(ls "$T"/snaps-*)"
"$KAFU" inspect --json "$EXIT" | grep -q '"mode":"delta"' || fail "b's return was expected to be a delta"
[ -s "$T/snaps-b/0001-b-a.full.kafusnap" ] || fail "no full companion next to the delta"
ok "saved: $(basename "$ENTER") (full), $(basename "$EXIT") (delta) + full companion"

# 2. resume the call's entry on a fresh loopback cluster (other ports)
rm -f "$T/effects.log"
fo_config "$T/fresh.yaml" '["plain"]'
restore enter --no-prefix "$ENTER" "$T/fresh.yaml"
[ "$rc" = 7 ] || fail "restore of the entry: exit $rc: $(tail -5 "$T/enter.err")"
[ "$(cat "$T/enter.out")" = 'result 42' ] || fail "restore of the entry: output $(cat "$T/enter.out")"
[ "$(work_runs)" = 1 ] || fail "restore of the entry: work did not run once"
grep -q 'node a: restoring .*0001-a-b.kafusnap: the program resumes on b (entering work)' "$T/enter.err" ||
  fail "restore not logged: $(grep restor "$T/enter.err")"
ok "kafu restore (loopback cluster): the call runs from its entry on b, exit 7"

# 3. resume the return (a delta: its full companion is used), one node by hand
rm -f "$T/effects.log"
fo_config "$T/fresh2.yaml" '["plain"]'
serve b "$T/fresh2.yaml"; PID_B=$LAST_PID
serve c "$T/fresh2.yaml"; PID_C=$LAST_PID
restore exit --node-id a -q "$EXIT" "$T/fresh2.yaml"
[ "$rc" = 7 ] || fail "restore of the return: exit $rc: $(tail -5 "$T/exit.err")"
[ "$(cat "$T/exit.out")" = 'result 42' ] || fail "restore of the return: output $(cat "$T/exit.out")"
[ ! -e "$T/effects.log" ] || fail "restore of the return ran work again"
grep -q 'is a delta; resuming its full companion .*0001-b-a.full.kafusnap' "$T/exit.err" || fail "companion not announced"
grep -q INFO "$T/exit.err" && fail "restore -q: info logs: $(cat "$T/exit.err")"
wait_exit "$PID_B" 10; wait_exit "$PID_C" 10
ok "kafu restore --node-id a -q (a delta, through its full companion): exit 7, no info logs"

# 4. in one process
rm -f "$T/effects.log"
restore single --singlenode "$ENTER" "$T/fresh.yaml"
[ "$rc" = 7 ] && [ "$(cat "$T/single.out")" = 'result 42' ] || fail "--singlenode: exit $rc, $(cat "$T/single.out") $(tail -3 "$T/single.err")"
restore singlev --singlenode --verify "$ENTER" "$T/fresh.yaml"
[ "$rc" = 7 ] && [ "$(cat "$T/singlev.out")" = 'result 42' ] || fail "--singlenode --verify: exit $rc"
# CONFIG defaults to ./kafu-config.yaml, as for the commands that start a program
cp "$T/fresh.yaml" "$T/kafu-config.yaml"
(cd "$T" && timeout 60 "$KAFU" restore --singlenode "$ENTER") >"$T/dflt.out" 2>"$T/dflt.err"
rc=$?
[ "$rc" = 7 ] && [ "$(cat "$T/dflt.out")" = 'result 42' ] || fail "restore without CONFIG: exit $rc $(cat "$T/dflt.err")"
ok "kafu restore --singlenode [--verify] [CONFIG]: exit 7"

# 5. refused before anything starts
size=$(stat -c %s "$ENTER")
python3 - "$ENTER" "$T/corrupt.kafusnap" $((size / 2)) <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[int(sys.argv[3])] ^= 0x20
open(sys.argv[2], "wb").write(b)
PY
head -c $((size - 20)) "$ENTER" >"$T/cut.kafusnap"
cp "$EXIT" "$T/lone-delta.kafusnap"
read -r QA QB <<<"$(free_ports 2)"
config "$T/pp.yaml" pingpong.wasm '["1"]' a="$QA" b="$QB"
"$KAFU" singlenode --save-snapshots "$T/snaps-pp" "$T/pp.yaml" >/dev/null 2>&1 || fail "pingpong snapshots"
refused() { # name file expect-regex [config]
  restore "$1" "$2" "${4:-$T/fresh.yaml}"
  [ "$rc" = 1 ] || fail "$1: exit $rc, expected 1"
  grep -q "kafu restore: error: .*$3" "$T/$1.err" || fail "$1: message: $(cat "$T/$1.err")"
  grep -q 'listening on' "$T/$1.err" && fail "$1: a node was started"
  echo "  $1: $(grep 'error' "$T/$1.err" | cut -c1-150)"
}
refused corrupt "$T/corrupt.kafusnap" 'snapshot: section [A-Z]* (#'
refused truncated "$T/cut.kafusnap" 'snapshot'
refused foreign "$T/snaps-pp/0001-a-b.kafusnap" 'the snapshot is of another program than'
refused delta "$T/lone-delta.kafusnap" 'delta against an image only its receiver held'
restore coord --node-id b "$ENTER" "$T/fresh.yaml"
[ "$rc" = 1 ] && grep -q 'restored by the coordinator (node a' "$T/coord.err" || fail "--node-id b: $rc $(cat "$T/coord.err")"
ok "corrupted, truncated, foreign and lone-delta snapshots refused (exit 1), nothing started"

# 6. kafu checkpoint from a running cluster, resumed afterwards
rm -f "$T/go-work" "$T/in-work" "$T/effects.log"
fo_config "$T/ck.yaml" '["plain"]'
fo_start "$T/ck.yaml"
await in-work
"$KAFU" checkpoint --timeout-ms 20000 -o "$T/ck.kafusnap" "$T/ck.yaml" >"$T/ckcmd.out" 2>"$T/ckcmd.err" &
CK=$!
PIDS+=("$CK")
for ((i = 0; i < 1000; i++)); do [ "$(get "$PB" /status | json_get checkpoint_requested)" = true ] && break; sleep 0.01; done
[ "$(get "$PB" /status | json_get checkpoint_requested)" = true ] || fail "the checkpoint request did not reach b"
touch "$T/go-work" # work returns: its migration point takes the checkpoint
wait_exit "$CK" 30
[ "$EXIT_CODE" = 0 ] || fail "kafu checkpoint: exit $EXIT_CODE: $(cat "$T/ckcmd.err")"
grep -q 'taken on node b' "$T/ckcmd.err" || fail "kafu checkpoint: $(cat "$T/ckcmd.err")"
fo_done 7 "the checkpointed run"
"$KAFU" inspect "$T/ck.kafusnap" | grep -q 'from node b to node a, resume at fn [0-9]* (exit)' ||
  fail "checkpoint content: $("$KAFU" inspect "$T/ck.kafusnap" | head -4)"
restore ckrun --singlenode "$T/ck.kafusnap" "$T/fresh.yaml"
[ "$rc" = 7 ] && [ "$(cat "$T/ckrun.out")" = 'result 42' ] || fail "restore of the checkpoint: $rc $(cat "$T/ckrun.out")"
cp "$T/ck.yaml" "$T/kafu-config.yaml" # CONFIG defaults to ./kafu-config.yaml
(cd "$T" && "$KAFU" checkpoint --timeout-ms 500 -o none.kafusnap) >/dev/null 2>"$T/none.err"
[ $? = 1 ] && grep -q 'no node runs the program' "$T/none.err" || fail "checkpoint without a cluster: $(cat "$T/none.err")"
ok "kafu checkpoint at the next migration point; the checkpoint resumes (exit 7)"

#!/usr/bin/env bash
# singlenode_exit.sh — the exit code of `kafu singlenode` is the program's, in
# both modes and equal to `kafu run`: main's return value, exit(n) and
# proc_exit(n) — also called inside an annotated function on a non-first node,
# nested two nodes deep, or after a nested call came back. A trap on any node
# ends the run with 134 and a message naming that node. The "finish" event
# names the node where the program ended.
source "$KAFU_SRC/tests/shell/lib/singlenode.sh"
build ending

# finish_node LABEL -> node of the finish event (--verify run)
finish_of() { sed -n 's/.*"type":"finish".*"node":"\([^"]*\)".*"exit_code":\([0-9]*\).*/\1 \2/p' "$T/$1.ver.jsonl"; }

# case LABEL MODE N RC MIGRATIONS FINISH_NODE
case_() {
  modes "$1" ending.wasm "$2" "$3"
  [ "$RC" = "$4" ] || fail "$1: exit code $RC, expected $4"
  expect_count "$1" "$5"
  [ "$(finish_of "$1")" = "$6 $4" ] || fail "$1: finish event '$(finish_of "$1")', expected '$6 $4'"
  ok "$1: exit $RC on $6 after $5 migrations (both modes = kafu run)"
}
case_ ret return 3 3 2 cloud
case_ ret0 return 0 0 2 cloud
case_ exit_edge exit_edge 42 42 1 edge
grep -qx "exit(42) on edge, unflushed" "$T/exit_edge.ver.out" || fail "exit_edge: exit() must flush stdio"
case_ exit_edge0 exit_edge 0 0 1 edge
case_ exit_fog exit_fog 7 7 2 fog
grep -q "exit(7) on fog, unflushed$" "$T/exit_fog.ver.out" || fail "exit_fog: exit() must flush stdio"
expect_walk exit_fog "cloud>edge:enter:at_edge edge>fog:enter:at_fog"
case_ exit_back exit_back 5 5 3 edge
grep -qx "back on edge with 7" "$T/exit_back.ver.out" || fail "exit_back: no 'back on edge'"
case_ exit_cloud exit_cloud 9 9 0 cloud
case_ proc_exit proc_exit 13 13 1 edge
case_ exit255 exit_edge 255 255 1 edge

# traps: 134 and a message naming the node and the cause
trap_case() { # LABEL MODE NODE NEEDLE MIGRATIONS
  modes "$1" ending.wasm "$2"
  [ "$RC" = 134 ] || fail "$1: exit $RC, expected 134"
  expect_count "$1" "$5"
  local f
  for f in emu ver; do
    grep -q "kafu singlenode: error: node $3: .*$4" "$T/$1.$f.err" ||
      fail "$1 ($f): message should name node $3 and '$4': $(grep -i error "$T/$1.$f.err")"
  done
  grep -q '"type":"finish".*"node":"'"$3"'","status":"trapped","exit_code":134' "$T/$1.ver.jsonl" ||
    fail "$1: finish event: $(grep finish "$T/$1.ver.jsonl")"
  ok "$1: trap on $3 -> 134, '$(grep -o "node $3: .*" "$T/$1.ver.err" | head -1 | cut -c1-90)'"
}
trap_case trap_edge trap_edge edge "integer divide by zero" 1
trap_case trap_fog trap_fog fog "unreachable" 2
trap_case oob_edge oob_edge edge "out of bounds" 1
trap_case trap_cloud trap_cloud cloud "integer divide by zero" 2

#!/usr/bin/env bash
# scripts/events-migrations.py, which the cluster tests and bench/peers.sh use
# to list a run's migrations in the order they happened. A sender writes its
# record only once the 200 has arrived; a sender preempted after that writes
# it after the receiver already resumed and sent the program on (this made
# cluster_peers fail under load: "s2 hub" listed after the next "hub s1").
# The order comes from each migration's restore record instead.
source "$KAFU_SRC/tests/shell/lib/common.sh"
EM="$KAFU_SRC/scripts/events-migrations.py"

ms() { echo $((1800000000000000000 + $1 * 1000000)); }
mig() { # id from to time_ms transfer_ms delta
  printf '{"type":"migration","time_ns":%s,"node":"%s","migration_id":"%s","from":"%s","to":"%s","kind":"enter","transfer_ms":%s,"wire_bytes":100,"delta":%s}\n' \
    "$(ms "$4")" "$2" "$1" "$2" "$3" "$5" "$6"
}
restore() { # id node from time_ms
  printf '{"type":"restore","time_ns":%s,"node":"%s","migration_id":"%s","from":"%s","decode_ms":0.1,"restore_ms":0.1}\n' \
    "$(ms "$4")" "$2" "$1" "$3"
}
# in the order the nodes wrote them: m4's sender (s2) wrote its record at 46
# ms, after the hub had restored m4 (41) and sent m5 (acknowledged at 43)
{
  mig m1 hub s1 10 2 false; restore m1 s1 hub 11
  mig m2 s1 hub 20 2 true; restore m2 hub s1 21
  mig m3 hub s2 30 2 false; restore m3 s2 hub 31
  restore m4 hub s2 41
  mig m5 hub s1 43 1 true; restore m5 s1 hub 44
  mig m4 s2 hub 46 2 true
  mig m6 s1 hub 60 2 true # no restore record (another file has it): its start, 58 ms
} >"$T/ev.jsonl"
"$EM" "$T/ev.jsonl" from to delta >"$T/got" 2>"$T/err" || fail "exit $?: $(cat "$T/err")"
printf '%s\n' "hub s1 false" "s1 hub true" "hub s2 false" "s2 hub true" "hub s1 true" "s1 hub true" >"$T/want"
diff "$T/want" "$T/got" >"$T/diff" || fail "wrong order: $(tr '\n' ';' <"$T/diff")"
ok "migrations in the order they happened, not the order their records were written"

"$EM" "$T/ev.jsonl" to nosuchfield | head -1 | grep -qx 's1 -' || fail "a missing field is not shown as -"

# bad input: a clear error naming the line, non-zero exit
{ mig m1 hub s1 10 2 false; echo '{"type":'; } >"$T/bad.jsonl"
"$EM" "$T/bad.jsonl" from >"$T/out" 2>"$T/err" && fail "accepted a line that is not JSON"
grep -q 'line 2 is not JSON' "$T/err" || fail "error does not name the line: $(cat "$T/err")"
{ mig m1 hub s1 10 2 false; echo '[1]'; echo '{"type":"restore"}'; } >"$T/bad2.jsonl"
"$EM" "$T/bad2.jsonl" from >"$T/out" 2>"$T/err" && fail "accepted a line that is not an event record"
grep -q 'line 2 is not an event record' "$T/err" || fail "error does not name the line: $(cat "$T/err")"
"$EM" "$T/nosuch.jsonl" from 2>"$T/err" && fail "accepted a missing file"
grep -q 'nosuch.jsonl' "$T/err" || fail "error does not name the file: $(cat "$T/err")"
"$EM" 2>/dev/null && fail "no arguments: exit 0"
"$EM" --help >"$T/help" || fail "--help: exit $?"
grep -q 'EVENTS.jsonl FIELD' "$T/help" || fail "--help does not show the usage"
ok "bad input refused with a clear error"

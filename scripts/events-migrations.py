#!/usr/bin/python3
"""events-migrations.py EVENTS.jsonl FIELD... -- the migrations of a run, in
the order they happened, one line per migration with the named fields of its
`migration` record separated by spaces (booleans as true/false; a missing
field as -).

An events file (`--events FILE`) is in the order its records were written,
and a sender writes a migration's record only once the receiver's 200 has
arrived: by then the receiver may have resumed the program and written the
record of its own next migration. So the order is taken from the receiver's
`restore` record of each migration (same migration_id), written once the
program is rewound there and before it runs on: a migration's restore comes
before anything the program does next, on any node. A migration without a
restore record (the receiver wrote none, or another file has it) is placed
by its start as the sender saw it: time_ns - transfer_ms.

Used by tests/shell (cluster_peers, cluster_baseline_cache, perf_dirty) and
bench/peers.sh. Records are documented in docs/migration.md, "Events".
"""
import json
import sys


def migrations_in_order(lines):
    mig, restored = [], {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
        except ValueError as x:
            raise SystemExit("events-migrations.py: line %d is not JSON: %s" % (n, x))
        if not isinstance(e, dict) or not isinstance(e.get("time_ns"), (int, float)):
            raise SystemExit("events-migrations.py: line %d is not an event record (an object with time_ns)" % n)
        if e.get("type") == "migration":
            mig.append(e)
        elif e.get("type") == "restore" and "migration_id" in e:
            restored[e["migration_id"]] = e["time_ns"]

    def when(e):
        t = restored.get(e.get("migration_id"))
        ms = e.get("transfer_ms", 0)
        return t if t is not None else e["time_ns"] - (ms if isinstance(ms, (int, float)) else 0) * 1e6

    return sorted(mig, key=when)


def field(e, name):
    v = e.get(name, "-")
    return str(v).lower() if isinstance(v, bool) else str(v)


def main(argv):
    if len(argv) >= 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) < 3:
        print("usage: events-migrations.py EVENTS.jsonl FIELD... (--help)", file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            lines = f.readlines()
    except OSError as x:
        print("events-migrations.py: %s: %s" % (argv[1], x.strerror), file=sys.stderr)
        return 1
    for e in migrations_in_order(lines):
        print(" ".join(field(e, name) for name in argv[2:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

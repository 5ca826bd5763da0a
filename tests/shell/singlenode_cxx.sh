#!/usr/bin/env bash
# singlenode_cxx.sh — C++ state (std::vector, std::string, std::map,
# std::unique_ptr to virtual classes, std::function, a static-constructor
# global) changed on three nodes across 16 migrations: both singlenode modes
# print exactly what an uninterrupted `kafu run` prints.
source "$KAFU_SRC/tests/shell/lib/singlenode.sh"
build cxxstate
modes cxx cxxstate.wasm 4
[ "$RC" = 0 ] || fail "cxx: exit $RC"
expect_walk cxx "$(for r in 1 2 3 4; do printf '%s ' cloud\>edge:enter:on_edge edge\>fog:enter:on_fog \
  fog\>edge:exit:on_fog edge\>cloud:exit:on_edge; done | sed 's/ $//')"
[ "$(grep -c '^cloud [0-3]: area' "$T/cxx.ver.out")" = 4 ] || fail "cxx: expected 4 cloud lines"
grep -q '^cloud 3: .* fog-3$' "$T/cxx.ver.out" || fail "cxx: global map entry made on fog missing"
ok "C++ containers, virtual objects, std::function across 16 migrations: $(tail -1 "$T/cxx.ver.out" | cut -c1-70)..."

/* bench.h — shared by the compute kernels of bench/overhead.sh.
 *
 * Every kernel is one program: `kernel [SIZE]` runs its work and prints one
 * checksum line, so native, wasm (kafu run) and Node.js outputs can be compared.
 * Only fixed-width integer types are used: wasm32 has a 32-bit `long`.
 *
 * BENCH_ENTRY(fn) marks the kernel's entry function. Built with
 * -DKAFU_BENCH_ANNOTATE (the Snapified variant of the benchmark) it becomes a
 * KAFU_DEST function, so Snapify gives it migration points; otherwise it only
 * keeps the function out of line, identically for every variant.
 */
#ifndef BENCH_H
#define BENCH_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef KAFU_BENCH_ANNOTATE
#include "kafu.h"
#define BENCH_ENTRY(fn) KAFU_DEST(fn, "cloud") KAFU_EXPORT(fn)
#else
#define BENCH_ENTRY(fn) __attribute__((noinline))
#endif

static inline int bench_arg(int argc, char **argv, int def) { return argc > 1 ? atoi(argv[1]) : def; }

/* xorshift: same pseudo-random stream everywhere */
static inline uint32_t bench_rand(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}
#endif

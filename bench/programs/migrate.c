/*
 * migrate.c — migration micro-benchmark guest.
 *
 * usage: migrate MEM_MIB DIRTY_PCT ITERATIONS
 *
 * Allocates MEM_MIB MiB, then ITERATIONS times: dirties DIRTY_PCT % (may be
 * fractional, e.g. 0.3) of its 4 KiB pages on node "a" and calls hop(),
 * annotated for node "b" (one migration a->b on entry, one b->a on return).
 * The program timestamps (CLOCK_REALTIME, the same clock on every node of one
 * host) right before the call and as the first statement inside hop(), so the
 * printed latency is the whole one-way migration as the program sees it:
 * unwind, encode, transfer, decode, restore, rewind. Output: one line
 * "lat_ms <i> <ms>" per iteration, then a summary.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double g_sent_ms;
static double g_lat[4096];

KAFU_DEST(hop, "b")
KAFU_EXPORT(hop)
void hop(int i) {
  double t = now_ms();
  if (i < 4096) g_lat[i] = t - g_sent_ms;
}

static uint32_t rng(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: migrate MEM_MIB DIRTY_PCT ITERATIONS\n");
    return 2;
  }
  size_t mib = (size_t)atoi(argv[1]);
  double pct = atof(argv[2]); /* may be fractional: 0.3 */
  int iters = atoi(argv[3]);
  if (iters > 4096) iters = 4096;
  size_t size = mib << 20, pages = size / 4096;
  uint8_t *buf = malloc(size);
  if (!buf) {
    fprintf(stderr, "cannot allocate %zu MiB\n", mib);
    return 1;
  }
  uint32_t seed = 12345;
  /* initial content: half random, half structured (compressible like real data) */
  for (size_t p = 0; p < pages; p++)
    for (size_t j = 0; j < 4096; j += 4) {
      uint32_t v = j < 2048 ? rng(&seed) : (uint32_t)(p * 4096 + j);
      memcpy(buf + p * 4096 + j, &v, 4);
    }
  size_t ndirty = (size_t)((double)pages * pct / 100);
  if (ndirty == 0 && pct > 0) ndirty = 1;
  for (int i = 0; i < iters; i++) {
    /* dirty a contiguous-but-rotating window plus scattered pages: half each */
    for (size_t k = 0; k < ndirty; k++) {
      size_t p = k < ndirty / 2 ? (k + (size_t)i * 7919) % pages : rng(&seed) % pages;
      uint8_t *pg = buf + p * 4096;
      for (size_t j = 0; j < 2048; j += 4) {
        uint32_t v = rng(&seed);
        memcpy(pg + j, &v, 4);
      }
    }
    g_sent_ms = now_ms();
    hop(i);
  }
  double sum = 0;
  for (int i = 0; i < iters; i++) {
    printf("lat_ms %d %.3f\n", i, g_lat[i]);
    sum += g_lat[i];
  }
  uint32_t check = 0;
  for (size_t p = 0; p < pages; p++) check = check * 31 + buf[p * 4096 + (p % 4096)];
  printf("mean_ms %.3f check %08x\n", iters ? sum / iters : 0.0, check);
  return 0;
}

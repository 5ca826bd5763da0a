/*
 * spokes.c — a hub and its spokes, for deltas against every peer
 * (docs/cluster.md, "Deltas against every peer").
 *
 * The program starts on "hub" and visits the spokes "s1".."sN" in a
 * deterministic order (N = SPOKES: build with -DSPOKES=2 for three nodes, 3
 * for four). Every visit rewrites a few pages of a 1 MiB array, on the hub
 * before the call and on the spoke inside it, and sometimes grows the heap;
 * each prints a checksum of everything. After the first round, the hub can
 * send each spoke a delta against the image that spoke sent back last.
 *
 * With NESTED = 1, spoke s1 sometimes calls s2 itself: s2's image then changes
 * while the hub does not have the program; the hub learns it from the
 * snapshot that brings the program back, and sends s2 its full image next.
 *
 * The same source built natively prints the same lines.
 * Usage: spokes ROUNDS [NESTED]   (default 6 0)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

#ifndef SPOKES
#define SPOKES 2
#endif
#define BIG (1u << 20)
#define BLOCK (64u << 10)
#define MAXBLOCKS 16

static unsigned char big[BIG];
static unsigned char *blocks[MAXBLOCKS];
static int nblocks, nested;
static uint32_t rng = 7;

static uint32_t next(void) {
  rng = rng * 1103515245u + 12345u;
  return rng >> 8;
}

static uint32_t checksum(void) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < BIG; i++) h = (h ^ big[i]) * 16777619u;
  for (int b = 0; b < nblocks; b++)
    for (uint32_t i = 0; i < BLOCK; i++) h = (h ^ blocks[b][i]) * 16777619u;
  return h;
}

static void touch(const char *who, int round) {
  uint32_t pages = 2 + next() % 12;
  for (uint32_t k = 0; k < pages; k++) {
    uint32_t page = next() % (BIG / 4096);
    uint32_t off = page * 4096 + next() % 3900;
    for (int j = 0; j < 128; j++) big[off + (uint32_t)j] = (unsigned char)next();
  }
  if (next() % 4 == 0 && nblocks < MAXBLOCKS) {
    unsigned char *b = malloc(BLOCK);
    if (!b) abort();
    for (uint32_t i = 0; i < BLOCK; i++) b[i] = (unsigned char)(i * 7 + (uint32_t)round);
    blocks[nblocks++] = b;
  }
  printf("%s round %d: %08x\n", who, round, checksum());
  fflush(stdout);
}

void on_s2(int round);

KAFU_DEST(on_s1, "s1")
KAFU_EXPORT(on_s1)
void on_s1(int round) {
  touch("s1", round);
  if (nested && round % 3 == 1) on_s2(round);
}

KAFU_DEST(on_s2, "s2")
KAFU_EXPORT(on_s2)
void on_s2(int round) { touch("s2", round); }

#if SPOKES >= 3
KAFU_DEST(on_s3, "s3")
KAFU_EXPORT(on_s3)
void on_s3(int round) { touch("s3", round); }
#endif

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 6;
  nested = argc > 2 ? atoi(argv[2]) : 0;
  for (int r = 0; r < rounds; r++) {
    touch("hub", r);
    on_s1(r);
    touch("hub", r);
    on_s2(r);
#if SPOKES >= 3
    touch("hub", r);
    on_s3(r);
#endif
  }
  printf("done %08x\n", checksum());
  return 0;
}

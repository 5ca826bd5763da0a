/*
 * walk3.c — a deterministic random walk over three nodes (a, b, c) that
 * changes memory on every node, for delta-transfer correctness (docs/snapshot-format.md).
 *
 * Each visit rewrites a few random pages of a 2 MiB static array, sometimes
 * allocates a new heap block (memory.grow on the way), and prints a checksum
 * of everything. The walk nests (a -> b -> c -> a -> ... and back out) and
 * then does the sequential tour a -> b -> a -> c -> a. The program also
 * counts the migrations the runtime must make (a call to a function of
 * another node and its return are one migration each), so the same source
 * built natively gives the expected output, migration count included.
 * Only fixed-width integer arithmetic and one next() per statement: native
 * and wasm32 builds agree.
 * Usage: walk3 [STEPS [SEED]]   (default 12 1)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

#define BIG (2u << 20)
#define BLOCK (96u << 10)
#define MAXBLOCKS 24

static unsigned char big[BIG];
static unsigned char *blocks[MAXBLOCKS];
static int nblocks;
static uint32_t rng = 1;
static char where = 'a';
static int migrations, max_steps = 12;

static uint32_t next(void) {
  rng = rng * 1103515245u + 12345u;
  return rng >> 8;
}

static uint32_t fnv(uint32_t h, const unsigned char *p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static uint32_t checksum(void) {
  uint32_t h = fnv(2166136261u, big, BIG);
  for (int i = 0; i < nblocks; i++) h = fnv(h, blocks[i], BLOCK);
  return h;
}

static void touch(char node, int depth) {
  uint32_t pages = 1 + next() % 24;
  for (uint32_t k = 0; k < pages; k++) {
    uint32_t page = next() % (BIG / 4096); /* one next() per statement: evaluation order is unspecified */
    uint32_t off = page * 4096 + next() % 4000;
    for (int j = 0; j < 64; j++) big[off + (uint32_t)j] = (unsigned char)(next() ^ (uint32_t)node);
  }
  if (next() % 3 == 0 && nblocks < MAXBLOCKS) {
    unsigned char *b = calloc(1, BLOCK);
    if (!b) abort();
    for (uint32_t i = 0; i < BLOCK; i += 512) b[i] = (unsigned char)(next() + (uint32_t)node);
    blocks[nblocks++] = b;
  }
  if (nblocks && next() % 2) {
    uint32_t which = next() % (uint32_t)nblocks;
    uint32_t at = next() % BLOCK;
    blocks[which][at] ^= 0x5a;
  }
  printf("%c depth %d checksum %08x\n", node, depth, checksum());
  fflush(stdout);
}

int on_a(int depth);
int on_b(int depth);
int on_c(int depth);

/* Call the function of node `node`, counting the migrations that implies. */
static int call_on(char node, int depth) {
  char prev = where;
  if (prev != node) migrations++;
  where = node;
  int r = node == 'a' ? on_a(depth) : node == 'b' ? on_b(depth) : on_c(depth);
  if (prev != node) migrations++;
  where = prev;
  return r;
}

static int step(int depth) {
  if (depth >= max_steps) return 0;
  return 1 + call_on("abc"[next() % 3], depth + 1);
}

KAFU_DEST(on_a, "a")
KAFU_EXPORT(on_a)
int on_a(int depth) {
  touch('a', depth);
  int r = step(depth);
  touch('a', depth);
  return r;
}

KAFU_DEST(on_b, "b")
KAFU_EXPORT(on_b)
int on_b(int depth) {
  touch('b', depth);
  int r = step(depth);
  touch('b', depth);
  return r;
}

KAFU_DEST(on_c, "c")
KAFU_EXPORT(on_c)
int on_c(int depth) {
  touch('c', depth);
  int r = step(depth);
  touch('c', depth);
  return r;
}

int main(int argc, char **argv) {
  if (argc > 1) max_steps = atoi(argv[1]);
  if (argc > 2) rng = (uint32_t)atoi(argv[2]);
  touch('a', 0);
  int steps = step(0);
  /* the tour that breaks "delta against some baseline": a -> b -> a -> c -> a */
  int save = max_steps;
  max_steps = 0;
  call_on('b', 0);
  call_on('c', 0);
  call_on('b', 0);
  max_steps = save;
  printf("steps %d migrations %d checksum %08x\n", steps, migrations, checksum());
  return 0;
}

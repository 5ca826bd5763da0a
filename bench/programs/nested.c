/*
 * nested.c — nested ping-pong guest for bench/failover.sh: what keeping entry
 * checkpoints costs when calls come back into a node that sent the program
 * into an outer call.
 *
 * usage: nested MEM_MIB DEPTH ROUNDS
 *
 * Allocates MEM_MIB MiB of incompressible data on node "a", then ROUNDS times
 * calls ping(DEPTH) (annotated for "b"), which calls pong (annotated for "a"),
 * which calls ping ... DEPTH levels deep, dirtying one page per call: every
 * call and every return is a migration, and every call into a node that sent
 * an outer call makes that node copy its entry checkpoint (unless
 * cluster.failover.checkpoint_memory_mb is 0). Prints "hop_ms <ms>" per round
 * (the round's wall time divided by its migrations, CLOCK_REALTIME).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kafu.h"

int ping(int depth);
int pong(int depth);

static uint8_t *buf;
static size_t pages;
static uint32_t seed = 12345;

static uint32_t rng(void) {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return seed;
}

static void dirty(void) { buf[(rng() % pages) * 4096] ^= 1; }

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

KAFU_DEST(ping, "b")
KAFU_EXPORT(ping)
int ping(int depth) {
  dirty();
  return depth ? pong(depth - 1) + 1 : 0;
}

KAFU_DEST(pong, "a")
KAFU_EXPORT(pong)
int pong(int depth) {
  dirty();
  return depth ? ping(depth - 1) + 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: nested MEM_MIB DEPTH ROUNDS\n");
    return 2;
  }
  size_t mib = (size_t)atoi(argv[1]);
  int depth = atoi(argv[2]), rounds = atoi(argv[3]);
  pages = (mib << 20) / 4096;
  buf = malloc(mib << 20);
  if (!buf || !pages) return 1;
  for (size_t i = 0; i < (mib << 20); i++) buf[i] = (uint8_t)(rng() >> 7);
  for (int r = 0; r < rounds; r++) {
    double t0 = now_ms();
    int got = ping(depth);
    double ms = now_ms() - t0;
    /* depth + 1 calls, each a migration in and a migration back */
    printf("hop_ms %.4f\n", ms / (2.0 * (got + 1)));
  }
  return 0;
}

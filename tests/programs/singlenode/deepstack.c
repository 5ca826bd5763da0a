/*
 * deepstack.c — a deep call stack inside an annotated call: deep_edge (edge)
 * recurses N levels through a plain function whose frames hold 1 KiB arrays on
 * the shadow stack (linear memory) and many live locals (wasm locals, saved by
 * Asyncify); at the bottom it calls bottom_cloud (cloud), so the migration
 * unwinds and rewinds all N frames, and so does the return. Every level checks
 * its array after the migration. Usage: deepstack.wasm [N]
 * (link with -Wl,-z,stack-size=8388608: the default 64 KiB shadow stack is too
 * small.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

uint64_t deep_edge(int n);
uint64_t bottom_cloud(int n);

static int bad;

KAFU_DEST(bottom_cloud, "cloud")
KAFU_EXPORT(bottom_cloud)
uint64_t bottom_cloud(int n) {
  printf("bottom reached at depth %d\n", n);
  fflush(stdout);
  return 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
}

__attribute__((noinline)) static uint64_t level(int i, int n, uint64_t acc) {
  volatile uint8_t frame[1024];
  for (int k = 0; k < 1024; k++) frame[k] = (uint8_t)(i * 31 + k);
  uint64_t a = acc * 6364136223846793005ULL + (uint64_t)i, b = a ^ (a >> 29), c = b * 3 + (uint64_t)n;
  uint64_t r = i == n ? bottom_cloud(n) : level(i + 1, n, c);
  for (int k = 0; k < 1024; k++) bad += frame[k] != (uint8_t)(i * 31 + k);
  return (r ^ a) + b * 7 + c;
}

KAFU_DEST(deep_edge, "edge")
KAFU_EXPORT(deep_edge)
uint64_t deep_edge(int n) { return level(0, n, 1); }

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  uint64_t r = deep_edge(n);
  printf("depth %d result %016llx frames %s\n", n, (unsigned long long)r, bad ? "CORRUPT" : "intact");
  return bad ? 1 : 0;
}

/* sieve.c — sieve of Eratosthenes (one byte per number), repeated. */
#include <string.h>

#include "bench.h"

BENCH_ENTRY(sieve)
uint32_t sieve(uint8_t *composite, uint32_t n) {
  memset(composite, 0, n + 1);
  uint32_t count = 0;
  for (uint32_t i = 2; i <= n; i++) {
    if (composite[i]) continue;
    count++;
    for (uint64_t j = (uint64_t)i * i; j <= n; j += i) composite[j] = 1;
  }
  return count;
}

int main(int argc, char **argv) {
  uint32_t n = (uint32_t)bench_arg(argc, argv, 50000000);
  uint8_t *c = malloc(n + 1);
  uint32_t total = 0;
  for (int r = 0; r < 4; r++) total += sieve(c, n - (uint32_t)r * 1000);
  printf("sieve %u: %u\n", n, total);
  return 0;
}

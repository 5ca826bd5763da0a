/* quicksort.c — recursive quicksort (median of three, insertion sort for small
 * ranges) of pseudo-random 32-bit integers. */
#include "bench.h"

static void insertion(uint32_t *a, int lo, int hi) {
  for (int i = lo + 1; i <= hi; i++) {
    uint32_t v = a[i];
    int j = i - 1;
    while (j >= lo && a[j] > v) a[j + 1] = a[j], j--;
    a[j + 1] = v;
  }
}

static void qs(uint32_t *a, int lo, int hi) {
  while (hi - lo > 16) {
    int mid = lo + (hi - lo) / 2;
    uint32_t x = a[lo], y = a[mid], z = a[hi];
    uint32_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    int i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        uint32_t t = a[i];
        a[i] = a[j], a[j] = t;
        i++, j--;
      }
    }
    if (j - lo < hi - i) qs(a, lo, j), lo = i;
    else qs(a, i, hi), hi = j;
  }
  insertion(a, lo, hi);
}

BENCH_ENTRY(sort_round)
uint64_t sort_round(uint32_t *a, int n, uint32_t seed) {
  for (int i = 0; i < n; i++) a[i] = bench_rand(&seed);
  qs(a, 0, n - 1);
  uint64_t h = 0;
  for (int i = 0; i < n; i += 97) h = h * 31 + a[i];
  for (int i = 1; i < n; i++)
    if (a[i - 1] > a[i]) return 0;
  return h;
}

int main(int argc, char **argv) {
  int n = bench_arg(argc, argv, 2000000);
  uint32_t *a = malloc(sizeof(uint32_t) * (size_t)n);
  uint64_t h = 0;
  for (int r = 0; r < 3; r++) h ^= sort_round(a, n, 1234567u + (uint32_t)r);
  printf("quicksort %d: %llu\n", n, (unsigned long long)h);
  return 0;
}

/*
 * xisa.c — what must not change when a program moves between an x86-64 and
 * an aarch64 node (tests/shell/xisa_migrate.sh). Node "a" runs main(); each
 * round calls work_b() on node "b" and comes back, so with two architectures
 * every round crosses twice. Per round:
 *   - float arithmetic where fused multiply-add or another rounding would show
 *     (Horner's rule, sqrt, libm's exp/sin in wasm), printed with 17 digits;
 *   - memory that changes a little (delta transfers) and grows (full pages);
 *   - one FILE* written on both nodes (reopened at the same offset each time);
 *   - 64-bit integer mixing, a pointer-heavy linked list in linear memory.
 * At the end the log file is read back on b, and the program exits with
 * EXIT_CODE from inside a function running on b.
 * Usage: xisa ROUNDS EXIT_CODE
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

#define N 4096

static double v[N];
static uint64_t h = 0xcbf29ce484222325ull;
static FILE *log_f;
struct node {
  struct node *next;
  uint32_t value;
};
static struct node *list;
static unsigned char *grown;
static size_t grown_len;

static void mix(uint64_t x) {
  h ^= x;
  h *= 0x100000001b3ull;
  h ^= h >> 29;
}

static double horner(double x) {
  double p = 0;
  for (int k = 0; k < 40; k++) p = p * x + 1.0 / (k + 1);
  return p;
}

int work_b(int round);
void finish_b(int code);

KAFU_DEST(work_b, "b")
KAFU_EXPORT(work_b)
int work_b(int round) {
  double s = 0;
  for (int i = round; i < N; i += 7) {
    v[i] = horner(v[i] * 0.999 + 1e-3) - sqrt(fabs(v[i])) + sin(v[i]) * exp(-fabs(v[i]));
    s += v[i];
  }
  for (int i = 0; i < 50; i++) {
    struct node *n = malloc(sizeof *n);
    n->value = (uint32_t)(round * 1000 + i);
    n->next = list;
    list = n;
  }
  grown = realloc(grown, grown_len + 100000);
  memset(grown + grown_len, round + 1, 100000);
  grown_len += 100000;
  fprintf(log_f, "round %d on b: %.17g\n", round, s);
  fflush(log_f);
  mix((uint64_t)(s * 1e6));
  return (int)(h % 1000);
}

KAFU_DEST(finish_b, "b")
KAFU_EXPORT(finish_b)
void finish_b(int code) {
  fclose(log_f);
  FILE *f = fopen("xisa.log", "r");
  char line[200];
  int lines = 0;
  uint64_t fh = 0;
  while (f && fgets(line, sizeof line, f)) {
    lines++;
    for (char *c = line; *c; c++) fh = fh * 31 + (unsigned char)*c;
  }
  if (f) fclose(f);
  printf("log: %d lines, hash %016llx\n", lines, (unsigned long long)fh);
  fflush(stdout);
  exit(code);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 4, code = argc > 2 ? atoi(argv[2]) : 0;
  for (int i = 0; i < N; i++) v[i] = (i % 97) * 0.0103 - 0.5;
  log_f = fopen("xisa.log", "w");
  if (!log_f) {
    perror("xisa.log");
    return 1;
  }
  for (int r = 0; r < rounds; r++) {
    fprintf(log_f, "round %d on a\n", r);
    int k = work_b(r);
    uint64_t lsum = 0;
    for (struct node *n = list; n; n = n->next) lsum = lsum * 3 + n->value;
    uint64_t gsum = 0;
    for (size_t i = 0; i < grown_len; i += 4093) gsum += grown[i];
    double vs = 0;
    for (int i = 0; i < N; i++) vs += v[i];
    printf("round %d: k=%d h=%016llx list=%016llx grown=%zu/%llu sum(v)=%.17g\n", r, k, (unsigned long long)h,
           (unsigned long long)lsum, grown_len, (unsigned long long)gsum, vs);
    fflush(stdout);
  }
  finish_b(code);
  return 99; /* not reached */
}

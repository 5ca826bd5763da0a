/*
 * gvars.c — mutable wasm globals besides __stack_pointer (an i32, an i64 and
 * an f64, defined in ../snapify/globals_asm.s) changed on both nodes and read back on the
 * other: a restore that dropped or mistyped any kafu_global_<N> shows here.
 * Each round: cloud -> edge (bump_edge) -> cloud (bump_cloud, nested) and back,
 * 4 migrations. Usage: gvars.wasm [rounds]
 */
#include <stdio.h>
#include <stdlib.h>

#include "kafu.h"

int get_counter(void);
void set_counter(int);
long long get_big(void);
void set_big(long long);
double get_real(void);
void set_real(double);

void bump_edge(int k);
void bump_cloud(int k);

KAFU_DEST(bump_cloud, "cloud")
KAFU_EXPORT(bump_cloud)
void bump_cloud(int k) {
  set_counter(get_counter() * 2 + k);
  set_real(get_real() * 1.25 - k);
}

KAFU_DEST(bump_edge, "edge")
KAFU_EXPORT(bump_edge)
void bump_edge(int k) {
  set_counter(get_counter() + k);
  set_big(get_big() * 3 + k);
  set_real(get_real() / 2 + k);
  bump_cloud(k);
  printf("  edge after cloud: counter=%d big=%lld real=%.9g\n", get_counter(), get_big(), get_real());
  fflush(stdout);
  set_big(get_big() - 7);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 3;
  set_counter(1);
  set_big(1000000000000LL);
  set_real(1.5);
  for (int i = 1; i <= rounds; i++) {
    bump_edge(i);
    printf("after round %d: counter=%d big=%lld real=%.9g\n", i, get_counter(), get_big(), get_real());
    fflush(stdout);
  }
  printf("final counter=%d big=%lld real=%.9g\n", get_counter(), get_big(), get_real());
  return 0;
}

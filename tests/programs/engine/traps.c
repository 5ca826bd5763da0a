/* traps.c — one wasm trap per argument, for tests/shell/run_traps.sh and the
 * engine unit tests:  traps.wasm KIND  with KIND one of
 *   unreachable div0 overflow nan oob stack indirect-type indirect-null ok */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) int divide(int a, int b) { return a / b; }

/* (int)d is compiled with a range guard; the builtin is the trapping instruction */
__attribute__((noinline)) int to_int(double d) { return __builtin_wasm_trunc_s_i32_f64(d); }

__attribute__((noinline)) int load_far(unsigned addr) { return *(volatile int *)(uintptr_t)addr; }

/* two recursive calls (no loop transformation possible), no shadow-stack use:
 * only the native call stack grows, 2^30 deep */
__attribute__((noinline)) int recurse(int n) {
  if (n < 2) return n;
  return recurse(n - 1) + recurse(n - 2);
}

__attribute__((noinline)) int takes_int(int x) { return x + 1; }

typedef int (*two_ints)(int, int);
typedef void (*no_args)(void);

__attribute__((noinline)) int call_wrong_type(void *fp) { return ((two_ints)fp)(1, 2); }

__attribute__((noinline)) void call_null_slot(unsigned idx) { ((no_args)(uintptr_t)idx)(); }

int main(int argc, char **argv) {
  const char *k = argc > 1 ? argv[1] : "ok";
  volatile int zero = 0, minus1 = -1, big = INT_MIN, deep = 1 << 30;
  volatile double nan = NAN;
  if (!strcmp(k, "unreachable")) __builtin_trap();
  if (!strcmp(k, "div0")) printf("%d\n", divide(1, zero));
  if (!strcmp(k, "overflow")) printf("%d\n", divide(big, minus1));
  if (!strcmp(k, "nan")) printf("%d\n", to_int(nan));
  if (!strcmp(k, "oob")) printf("%d\n", load_far(0xfffffff0u));
  if (!strcmp(k, "stack")) printf("%d\n", recurse(deep));
  if (!strcmp(k, "indirect-type")) printf("%d\n", call_wrong_type((void *)takes_int));
  if (!strcmp(k, "indirect-null")) call_null_slot(100000);
  printf("no trap: %s\n", k);
  return 0;
}

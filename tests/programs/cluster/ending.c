/*
 * ending.c — how a run ends. argv[1] selects:
 *   return N      main returns N on the coordinator "a" after a round trip to "b"
 *   exit_b N      proc_exit(N) (exit()) on "b"
 *   trap_b        a trap (integer division by zero) on "b"
 *   slow N MS     N round trips, "b" sleeps MS ms per call (for kill tests)
 *   slow_a N MS   N round trips, "a" sleeps MS ms between them ("b" mostly idle)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu.h"

int on_b(int what, int arg);

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static volatile int zero = 0;

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "return";
  int arg = argc > 2 ? atoi(argv[2]) : 0;
  printf("start %s\n", mode);
  fflush(stdout);
  if (!strcmp(mode, "return")) {
    on_b(0, arg);
    printf("returning %d on a\n", arg);
    return arg;
  }
  if (!strcmp(mode, "exit_b")) on_b(1, arg);
  if (!strcmp(mode, "trap_b")) on_b(2, arg);
  if (!strcmp(mode, "slow") || !strcmp(mode, "slow_a")) {
    int ms = argc > 3 ? atoi(argv[3]) : 100;
    bool on_a = !strcmp(mode, "slow_a");
    for (int i = 0; i < arg; i++) {
      printf("round %d\n", i);
      fflush(stdout);
      if (on_a) sleep_ms(ms);
      on_b(3, on_a ? 0 : ms);
    }
    return 0;
  }
  printf("not reached\n");
  return 99;
}

KAFU_DEST(on_b, "b")
KAFU_EXPORT(on_b)
int on_b(int what, int arg) {
  printf("on b (%d)\n", what);
  fflush(stdout);
  if (what == 1) exit(arg);
  if (what == 2) return arg / zero;
  if (what == 3) sleep_ms(arg);
  return 0;
}

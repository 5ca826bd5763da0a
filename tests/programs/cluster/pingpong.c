/*
 * pingpong.c — two-node ping-pong: main() runs on the coordinator "a", each
 * pong() call migrates to "b" and back. N calls = 2N migrations.
 * Usage: pingpong [N]   (default 5)
 */
#include <stdio.h>
#include <stdlib.h>

#include "kafu.h"

int pong(int i);

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5;
  int sum = 0;
  for (int i = 0; i < n; i++) {
    printf("ping %d\n", i);
    fflush(stdout);
    sum += pong(i);
  }
  printf("sum %d\n", sum);
  return 0;
}

KAFU_DEST(pong, "b")
KAFU_EXPORT(pong)
int pong(int i) {
  printf("pong %d\n", i);
  fflush(stdout);
  return 2 * i;
}

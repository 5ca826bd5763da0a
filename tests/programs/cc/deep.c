/* deep.c — a deep C recursion whose frames live on the program's stack in
 * linear memory (a local array the compiler cannot keep in registers). */
#include <stdio.h>
#include <stdlib.h>

static long long sum(int n) {
  volatile char pad[96];
  pad[0] = (char)n;
  if (n == 0) return pad[0];
  return n + sum(n - 1) + pad[0] - (char)n;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5000;
  printf("sum %lld\n", sum(n));
  return 0;
}

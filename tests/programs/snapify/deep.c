/* deep.c — deep recursion through an annotated function: descend(n) recurses
 * n levels, every level annotated, so the deepest migration point has to
 * save n+1 nested frames in the Asyncify buffer. The tests pick n near and
 * past what a small --kafu-stack-size can hold. Usage: deep.wasm [n] */
#include <kafu.h>
#include <stdio.h>
#include <stdlib.h>

static int calls;

KAFU_DEST(descend, "cloud")
KAFU_EXPORT(descend)
long long descend(int depth, long long acc) {
  calls++;
  if (depth == 0) return acc;
  return descend(depth - 1, acc * 3 + depth) % 1000000007LL + 1;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 50;
  printf("descend(%d) = %lld\n", n, descend(n, 1));
  printf("annotated calls: %d\n", calls);
  return 0;
}

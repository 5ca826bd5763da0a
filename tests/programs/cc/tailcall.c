/* tailcall.c — a KAFU_DEST module with a guaranteed tail call (-mtail-call +
 * musttail): Binaryen 108 cannot Asyncify return_call, so `kafu cc` must fail
 * (it once only warned and produced a module that could never migrate). */
#include <stdio.h>
#include "kafu.h"
int g(int n);
__attribute__((noinline)) int h(int n) {
  if (n <= 0) return 0;
  __attribute__((musttail)) return g(n - 1);
}
KAFU_DEST(g, "edge")
KAFU_EXPORT(g)
int g(int n) { return h(n); }
int main(int argc, char **argv) { printf("%d\n", g(argc * 3)); return 0; }

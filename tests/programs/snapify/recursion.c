/* recursion.c — recursion through an annotated function: fib() is annotated
 * and calls itself, and ping()/pong() recurse mutually with only ping()
 * annotated, so migration points fire at many depths of the same function. */
#include <kafu.h>
#include <stdio.h>

static int calls;
static int pong(int n);

KAFU_DEST(fib, "cloud")
KAFU_EXPORT(fib)
int fib(int n) {
  calls++;
  if (n < 2) return n;
  /* not a plain sum, so clang cannot turn one of the calls into a loop */
  int a = fib(n - 1);
  int b = fib(n - 2);
  return a ^ (b * 3);
}

KAFU_DEST(ping, "edge2")
KAFU_EXPORT(ping)
int ping(int n) {
  calls++;
  return n <= 0 ? 0 : 1 + pong(n - 1);
}

__attribute__((noinline)) static int pong(int n) { return n <= 0 ? 100 : 2 + ping(n - 1); }

int main(void) {
  printf("fib-ish(10) = %d\n", fib(10));
  printf("ping(7) = %d\n", ping(7));
  printf("annotated calls: %d\n", calls);
  return 3; /* a non-zero exit code must survive migrations too */
}

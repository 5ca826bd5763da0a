/* pure_dest.c — annotated functions an optimizer would love to delete: a pure
 * function whose result is unused, one whose result is a constant, an empty
 * one, and one that is small enough to inline. Each call must still migrate
 * at every optimization level (kafu.h makes KAFU_EXPORT functions weak). */
#include <stdio.h>

#include "kafu.h"

int twice(int x);
void nothing(void);
int tiny(int a, int b);

int main(void) {
  twice(21);               /* result unused */
  int c = twice(5);        /* result foldable to 10 */
  nothing();               /* empty body */
  int t = tiny(c, 3);      /* one instruction */
  printf("%d %d\n", c, t); /* "10 13" */
  return 0;
}

KAFU_DEST(twice, "edge")
KAFU_EXPORT(twice)
int twice(int x) { return 2 * x; }

KAFU_DEST(nothing, "edge")
KAFU_EXPORT(nothing)
void nothing(void) {}

KAFU_DEST(tiny, "edge")
KAFU_EXPORT(tiny)
int tiny(int a, int b) { return a + b; }

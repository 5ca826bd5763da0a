/* other.c — a different module with the same node names (for wrong-module snapshots). */
#include <stdio.h>

#include "kafu.h"

int twice(int x);

int main(void) {
  printf("other %d\n", twice(21));
  return 0;
}

KAFU_DEST(twice, "b")
KAFU_EXPORT(twice)
int twice(int x) { return 2 * x; }

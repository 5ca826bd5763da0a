/* nested.c — annotated functions calling annotated functions (edge -> cloud ->
 * gpu -> cloud), with work on the shadow stack and the heap in between, so a
 * restore must bring back the C stack, the heap and several Asyncify frames.
 * Prints deterministic output and its own count of annotated calls. */
#include <kafu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int calls;

KAFU_DEST(leaf, "gpu")
KAFU_EXPORT(leaf)
int leaf(int x) {
  calls++;
  char buf[64];
  snprintf(buf, sizeof buf, "leaf(%d)", x);
  return (int)strlen(buf) + x * 3;
}

KAFU_DEST(middle, "cloud")
KAFU_EXPORT(middle)
int middle(int x) {
  calls++;
  int *tmp = malloc(sizeof(int) * 16);
  for (int i = 0; i < 16; i++) tmp[i] = leaf(x + i % 2);
  int s = 0;
  for (int i = 0; i < 16; i++) s += tmp[i];
  free(tmp);
  return s;
}

KAFU_DEST(outer, "cloud")
KAFU_EXPORT(outer)
void outer(int n, int *out) {
  calls++;
  for (int i = 0; i < n; i++) out[i] = middle(i) + leaf(-i);
}

int main(void) {
  int vals[4];
  outer(4, vals);
  for (int i = 0; i < 4; i++) printf("vals[%d] = %d\n", i, vals[i]);
  printf("middle(10) = %d\n", middle(10));
  printf("annotated calls: %d\n", calls);
  return 0;
}

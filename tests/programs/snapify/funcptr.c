/* funcptr.c — annotated functions reached through function pointers: a
 * dispatch table holding an annotated function, a callback that calls an
 * annotated function, and qsort() (libc calls through a pointer that never
 * reaches a migration point). Asyncify must instrument the indirect calls on
 * the way, so Snapify cannot use asyncify-ignore-indirect here. */
#include <kafu.h>
#include <stdio.h>
#include <stdlib.h>

static int calls;

KAFU_DEST(square, "cloud")
KAFU_EXPORT(square)
int square(int x) {
  calls++;
  return x * x;
}

KAFU_DEST(apply, "edge")
KAFU_EXPORT(apply)
int apply(int (*f)(int), int x) {
  calls++;
  return f(x) + 1;
}

static int twice(int x) { return 2 * x; }
static int via_square(int x) { return square(x + 1); }
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

typedef int (*op_fn)(int);
static op_fn table[] = {square, twice, via_square};

int main(void) {
  int results[9];
  int k = 0;
  for (int i = 0; i < 3; i++) {
    volatile int which = i; /* keep the indirect call indirect */
    results[k++] = table[which](i + 2);
    results[k++] = apply(table[which], i);
    results[k++] = apply(square, -i);
  }
  qsort(results, 9, sizeof results[0], cmp);
  for (int i = 0; i < 9; i++) printf("%d%c", results[i], i == 8 ? '\n' : ' ');
  printf("annotated calls: %d\n", calls);
  return 0;
}

/*
 * A Kafu app built with CMake: the sum of squares is computed on "edge", the
 * result is printed on "cloud". The program is ordinary C; the KAFU_DEST
 * annotation is all Kafu needs.
 */
#include <stdio.h>
#include <stdlib.h>

#include <kafu.h>

KAFU_DEST(sum_squares, "edge")
KAFU_EXPORT(sum_squares)
long long sum_squares(const int *v, int n) {
  long long s = 0;
  for (int i = 0; i < n; i++) s += (long long)v[i] * v[i];
  printf("edge: summed %d squares\n", n);
  fflush(stdout); /* stdio buffers travel with the program: flush where it prints */
  return s;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100;
  if (n < 1) n = 1;
  int *v = malloc(sizeof *v * (size_t)n);
  if (!v) return 1;
  for (int i = 0; i < n; i++) v[i] = i + 1;
  long long s = sum_squares(v, n);
  printf("cloud: sum of squares 1..%d = %lld\n", n, s);
  fflush(stdout);
  free(v);
  return 0;
}

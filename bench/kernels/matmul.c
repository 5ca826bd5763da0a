/* matmul.c — dense double-precision matrix multiply (i-k-j loop order), N x N. */
#include "bench.h"

BENCH_ENTRY(matmul)
double matmul(const double *a, const double *b, double *c, int n) {
  for (int i = 0; i < n * n; i++) c[i] = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < n; k++) {
      double aik = a[i * n + k];
      for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  double s = 0;
  for (int i = 0; i < n * n; i++) s += c[i] * (double)(i % 7);
  return s;
}

int main(int argc, char **argv) {
  int n = bench_arg(argc, argv, 800);
  double *a = malloc(sizeof(double) * (size_t)n * (size_t)n), *b = malloc(sizeof(double) * (size_t)n * (size_t)n),
         *c = malloc(sizeof(double) * (size_t)n * (size_t)n);
  uint32_t s = 12345;
  for (int i = 0; i < n * n; i++) {
    a[i] = (double)(bench_rand(&s) % 1000) / 100.0;
    b[i] = (double)(bench_rand(&s) % 1000) / 100.0;
  }
  double r = 0;
  for (int rep = 0; rep < 2; rep++) r += matmul(a, b, c, n);
  printf("matmul %d: %.6e\n", n, r);
  return 0;
}

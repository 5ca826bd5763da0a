/* mandelbrot.c — escape-time Mandelbrot set, W x W pixels, 200 iterations. */
#include "bench.h"

BENCH_ENTRY(mandel_rows)
uint64_t mandel_rows(int w, int y0, int y1) {
  uint64_t sum = 0;
  for (int y = y0; y < y1; y++)
    for (int x = 0; x < w; x++) {
      double cr = 2.5 * x / w - 2.0, ci = 2.0 * y / w - 1.0, zr = 0, zi = 0;
      int it = 0;
      while (it < 200 && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        it++;
      }
      sum += (uint64_t)it * (uint64_t)(x + 1);
    }
  return sum;
}

int main(int argc, char **argv) {
  int w = bench_arg(argc, argv, 1600);
  uint64_t sum = 0;
  for (int band = 0; band < 8; band++) sum += mandel_rows(w, band * w / 8, (band + 1) * w / 8);
  printf("mandelbrot %d: %llu\n", w, (unsigned long long)sum);
  return 0;
}

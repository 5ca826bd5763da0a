/*
 * nn_compute.c — wasi-nn inference time as a guest sees it (bench/nn.sh):
 * load MODEL, image_to_tensor(IMAGE) at 224x224, set_input once, then REPEAT
 * computes, each timed with CLOCK_MONOTONIC around compute().
 *
 *   nn_compute.wasm MODEL IMAGE REPEAT
 *
 * Prints "wasi-nn: B bytes: v0 ... v7" (%a, as build/tests/nn_infer prints
 * the native run) and "wasi_ms_per_compute: X".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu_helper.h"
#include "wasi_nn_backend.h"
#include "wasi_nn_types.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: nn_compute.wasm MODEL IMAGE REPEAT\n");
    return 2;
  }
  static uint8_t model[64 << 20], x[224 * 224 * 3 * 4];
  static float out[1 << 16];
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 1;
  size_t n = fread(model, 1, sizeof model, f);
  fclose(f);
  graph g;
  graph_execution_context ctx;
  graph_builder b = {model, (uint32_t)n};
  uint32_t nw = 0, got = 0, dims[] = {1, 3, 224, 224};
  if (wasi_nn_load(&b, 1, onnx, cpu, &g) != success || wasi_nn_init_execution_context(g, &ctx) != success ||
      image_to_tensor(argv[2], (int)strlen(argv[2]), 224, 224, x, &nw) != kafu_success)
    return 1;
  tensor t = {.dimensions = {dims, 4}, .type = fp32, .data = {x, nw}};
  if (wasi_nn_set_input(ctx, 0, &t) != success || wasi_nn_compute(ctx) != success ||
      wasi_nn_get_output(ctx, 0, (uint8_t *)out, sizeof out, &got) != success)
    return 1;
  printf("wasi-nn: %u bytes:", got);
  for (int i = 0; i < 8 && i * 4 < (int)got; i++) printf(" %a", out[i]);
  printf("\n");
  int repeat = atoi(argv[3]);
  double t0 = now_ms();
  for (int i = 0; i < repeat; i++)
    if (wasi_nn_compute(ctx) != success) return 1;
  printf("wasi_ms_per_compute: %.4f\n", (now_ms() - t0) / (repeat > 0 ? repeat : 1));
  return 0;
}

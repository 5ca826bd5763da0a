/*
 * nn_infer.c — native inference on kafu_nn, the reference for wasi-nn runs
 * (tests/shell/nn_migrate.sh, bench/nn.sh): the same model, the same
 * image_to_tensor preprocessing, OpenCV called directly.
 *
 *   nn_infer [--repeat N] MODEL IMAGE
 *
 * Prints "native: B bytes: v0 ... v7" (%a, like tests/programs/nn/migrate.c),
 * "argmax: K" (fp32 outputs) and, with --repeat, "native_ms_per_compute: X"
 * (mean of N computes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/nn.h"

int main(int argc, char **argv) {
  int repeat = 0, a = 1;
  if (a + 1 < argc && !strcmp(argv[a], "--repeat")) repeat = atoi(argv[a + 1]), a += 2;
  if (argc - a != 2) {
    fprintf(stderr, "usage: nn_infer [--repeat N] MODEL IMAGE\n");
    return 2;
  }
  kafu_err err;
  uint8_t *model, *img;
  size_t mlen, ilen;
  if (kafu_read_file(argv[a], &model, &mlen, &err) || kafu_read_file(argv[a + 1], &img, &ilen, &err)) {
    fprintf(stderr, "nn_infer: %s\n", err.msg);
    return 1;
  }
  kafu_nn_model *m;
  kafu_nn_exec *e;
  static float x[3 * 224 * 224];
  if (kafu_nn_model_load(KAFU_NN_ENC_ONNX, KAFU_NN_TARGET_CPU, model, mlen, NULL, &m, &err) ||
      kafu_nn_exec_new(m, &e, &err) || kafu_nn_image_to_tensor(img, ilen, 224, 224, x, &err)) {
    fprintf(stderr, "nn_infer: %s\n", err.msg);
    return 1;
  }
  kafu_nn_tensor t = {
      .type = KAFU_NN_FP32, .rank = 4, .dims = {1, 3, 224, 224}, .data = (uint8_t *)x, .len = sizeof x};
  const kafu_nn_tensor *out;
  if (kafu_nn_exec_set_input(e, 0, &t, &err) || kafu_nn_exec_compute(e, &err) ||
      kafu_nn_exec_get_output(e, 0, &out, &err)) {
    fprintf(stderr, "nn_infer: %s\n", err.msg);
    return 1;
  }
  printf("native: %zu bytes:", out->len);
  for (int i = 0; i < 8 && (size_t)i * 4 < out->len; i++) printf(" %a", ((const float *)out->data)[i]);
  printf("\n");
  size_t best = 0, n = out->len / 4;
  for (size_t i = 1; i < n; i++)
    if (((const float *)out->data)[i] > ((const float *)out->data)[best]) best = i;
  printf("argmax: %zu\n", best);
  if (repeat > 0) {
    uint64_t t0 = kafu_now_ns();
    for (int i = 0; i < repeat; i++)
      if (kafu_nn_exec_compute(e, &err)) return 1;
    printf("native_ms_per_compute: %.4f\n", kafu_ms_since(t0) / repeat);
  }
  kafu_nn_exec_free(e);
  kafu_nn_model_unref(m);
  free(model);
  free(img);
  return 0;
}

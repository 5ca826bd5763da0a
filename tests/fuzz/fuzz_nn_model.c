/* fuzz_nn_model.c — wasi-nn model loading on hostile bytes: our ONNX reader,
 * then OpenCV's importer through the shim; a model that loads gets zero
 * inputs of its declared shape (when static and small) and one compute.
 * Nothing may crash; every refusal is a status and a message. */
#include <stdint.h>
#include <stdlib.h>

#include "kafu/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kafu_nn_limits lim;
  kafu_nn_limits_default(&lim);
  lim.max_model_bytes = 1 << 20;
  lim.max_tensor_bytes = 1 << 22;
  kafu_nn_model *m = NULL;
  kafu_err err;
  if (kafu_nn_model_load(KAFU_NN_ENC_ONNX, KAFU_NN_TARGET_CPU, data, size, &lim, &m, &err) != KAFU_NN_OK)
    return 0;
  kafu_nn_exec *e;
  if (kafu_nn_exec_new(m, &e, &err) == KAFU_NN_OK) {
    int ok = 1;
    for (size_t i = 0; ok && i < kafu_nn_model_input_count(m); i++) {
      kafu_nn_io io;
      kafu_nn_model_input(m, i, &io);
      kafu_nn_tensor t = {.type = KAFU_NN_FP32, .rank = io.rank};
      size_t n = 1;
      for (uint32_t d = 0; ok && d < io.rank && d < KAFU_NN_MAX_RANK; d++) {
        ok = io.dims[d] > 0 && io.dims[d] <= 4096;
        t.dims[d] = ok ? (uint32_t)io.dims[d] : 0;
        n *= ok ? (size_t)io.dims[d] : 0;
      }
      ok = ok && io.has_shape && io.onnx_type == 1 && n <= (1u << 20);
      if (!ok) break;
      void *buf = calloc(n, 4);
      t.data = buf;
      t.len = n * 4;
      ok = kafu_nn_exec_set_input(e, (uint32_t)i, &t, &err) == KAFU_NN_OK;
      free(buf);
    }
    if (ok) {
      const kafu_nn_tensor *out;
      if (kafu_nn_exec_compute(e, &err) == KAFU_NN_OK) kafu_nn_exec_get_output(e, 0, &out, &err);
    }
    kafu_nn_exec_free(e);
  }
  kafu_nn_model_unref(m);
  return 0;
}

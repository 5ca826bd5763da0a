/*
 * wasi_nn_backend.h — the wasi-nn functions (witx "preview1" version), imported
 * from the host module "wasi_ephemeral_nn", as the original Kafu SDK declares
 * them. Types are in wasi_nn_types.h. Every function returns a wasi_nn_error.
 *
 *   wasi_nn_load                  a model from memory: an array of `builder_array_size`
 *                                 buffers in `encoding`, for `target` -> *g
 *   wasi_nn_load_by_name          a model the host knows by name (namelen bytes) -> *g
 *   wasi_nn_load_by_name_with_config   same, with a backend configuration string
 *   wasi_nn_init_execution_context     an inference session on g -> *exec_ctx
 *   wasi_nn_set_input             input tensor number `index` of the session
 *   wasi_nn_compute               run the inference
 *   wasi_nn_get_output            copy output tensor `index` (its bytes) into
 *                                 output_buffer (capacity output_buffer_max_size);
 *                                 *output_buffer_size = bytes written
 */
#ifndef WASI_NN_BACKEND_H
#define WASI_NN_BACKEND_H

#include "wasi_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__wasm__)
#define KAFU_WASI_NN_FN(fn) \
  __attribute__((import_module("wasi_ephemeral_nn"), import_name(#fn), visibility("default")))
#else
#define KAFU_WASI_NN_FN(fn)
#endif

KAFU_WASI_NN_FN(load)
wasi_nn_error wasi_nn_load(graph_builder *builder_array_buf, int builder_array_size, graph_encoding encoding,
                           execution_target target, graph *g);

KAFU_WASI_NN_FN(load_by_name)
wasi_nn_error wasi_nn_load_by_name(const char *name, uint32_t namelen, graph *g);

KAFU_WASI_NN_FN(load_by_name_with_config)
wasi_nn_error wasi_nn_load_by_name_with_config(const char *name, uint32_t namelen, const char *config,
                                               uint32_t config_len, graph *g);

KAFU_WASI_NN_FN(init_execution_context)
wasi_nn_error wasi_nn_init_execution_context(graph g, graph_execution_context *exec_ctx);

KAFU_WASI_NN_FN(set_input)
wasi_nn_error wasi_nn_set_input(graph_execution_context exec_ctx, uint32_t index, tensor *input_tensor);

KAFU_WASI_NN_FN(compute)
wasi_nn_error wasi_nn_compute(graph_execution_context exec_ctx);

KAFU_WASI_NN_FN(get_output)
wasi_nn_error wasi_nn_get_output(graph_execution_context exec_ctx, uint32_t index, uint8_t *output_buffer,
                                 uint32_t output_buffer_max_size, uint32_t *output_buffer_size);

#undef KAFU_WASI_NN_FN

#ifdef __cplusplus
}
#endif

#endif /* WASI_NN_BACKEND_H */

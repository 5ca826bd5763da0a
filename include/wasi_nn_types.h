/*
 * wasi_nn_types.h — the types of the wasi-nn API (witx "preview1" version,
 * import module "wasi_ephemeral_nn"), as the original Kafu SDK declares them.
 * The functions are in wasi_nn_backend.h.
 *
 * Names carry no prefix (graph, tensor, onnx, cpu, ...); the *_NAME macros
 * exist so programs can spell them portably, e.g. WASI_NN_ERROR_NAME(success).
 * Enum values and struct layouts are the wasm ABI the host implements: every
 * enum is passed as an i32, pointers are 32-bit guest addresses.
 */
#ifndef WASI_NN_TYPES_H
#define WASI_NN_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WASI_NN_NAME(name) name
#define WASI_NN_ERROR_NAME(name) name
#define WASI_NN_TYPE_NAME(name) name
#define WASI_NN_ENCODING_NAME(name) name
#define WASI_NN_TARGET_NAME(name) name
#define WASI_NN_ERROR_TYPE wasi_nn_error

/* Result of every wasi-nn call. 0..8 are wasi-nn's own; 100..103 are the
 * extension codes WasmEdge defined for language models. */
typedef enum {
  WASI_NN_ERROR_NAME(success) = 0,
  WASI_NN_ERROR_NAME(invalid_argument) = 1,
  WASI_NN_ERROR_NAME(invalid_encoding) = 2,
  WASI_NN_ERROR_NAME(missing_memory) = 3,
  WASI_NN_ERROR_NAME(busy) = 4,
  WASI_NN_ERROR_NAME(runtime_error) = 5,
  WASI_NN_ERROR_NAME(unsupported_operation) = 6,
  WASI_NN_ERROR_NAME(too_large) = 7,
  WASI_NN_ERROR_NAME(not_found) = 8,
  WASI_NN_ERROR_NAME(end_of_sequence) = 100,
  WASI_NN_ERROR_NAME(context_full) = 101,
  WASI_NN_ERROR_NAME(prompt_tool_long) = 102,
  WASI_NN_ERROR_NAME(model_not_found) = 103,
} WASI_NN_ERROR_TYPE;

/* Shape of a tensor: `size` dimensions, outermost first ([1, 3, 224, 224]). */
typedef struct {
  uint32_t *buf;
  uint32_t size;
} WASI_NN_NAME(tensor_dimensions);

/* Element type of a tensor. */
typedef enum {
  WASI_NN_TYPE_NAME(fp16) = 0,
  WASI_NN_TYPE_NAME(fp32) = 1,
  WASI_NN_TYPE_NAME(fp64) = 2,
  WASI_NN_TYPE_NAME(u8) = 3,
  WASI_NN_TYPE_NAME(i32) = 4,
  WASI_NN_TYPE_NAME(i64) = 5,
} WASI_NN_NAME(tensor_type);

/* Tensor contents: the elements in row-major order, as bytes (little-endian);
 * size = product of the dimensions x the element size. */
typedef struct {
  uint8_t *buf;
  uint32_t size;
} WASI_NN_NAME(tensor_data);

/* A tensor as passed to set_input (20 bytes in wasm32: type at offset 8,
 * data at offset 12). `type` holds a tensor_type value. */
typedef struct {
  WASI_NN_NAME(tensor_dimensions) dimensions;
  uint8_t type;
  uint8_t _pad[3];
  WASI_NN_NAME(tensor_data) data;
} WASI_NN_NAME(tensor);

/* One buffer of a serialized model; load() takes an array of them (some
 * formats keep the graph and its weights in separate parts). */
typedef struct {
  uint8_t *buf;
  uint32_t size;
} WASI_NN_NAME(graph_builder);

typedef struct {
  WASI_NN_NAME(graph_builder) * buf;
  uint32_t size;
} WASI_NN_NAME(graph_builder_array);

/* Handle of a loaded model. */
typedef uint32_t WASI_NN_NAME(graph);

/* Serialization format of a model. */
typedef enum {
  WASI_NN_ENCODING_NAME(openvino) = 0,
  WASI_NN_ENCODING_NAME(onnx) = 1,
  WASI_NN_ENCODING_NAME(tensorflow) = 2,
  WASI_NN_ENCODING_NAME(pytorch) = 3,
  WASI_NN_ENCODING_NAME(tensorflowlite) = 4,
  WASI_NN_ENCODING_NAME(ggml) = 5,
  WASI_NN_ENCODING_NAME(autodetect) = 6,
  WASI_NN_ENCODING_NAME(unknown_backend) = 7,
} WASI_NN_NAME(graph_encoding);

/* Device a model should run on. */
typedef enum WASI_NN_NAME(execution_target) {
  WASI_NN_TARGET_NAME(cpu) = 0,
  WASI_NN_TARGET_NAME(gpu) = 1,
  WASI_NN_TARGET_NAME(tpu) = 2,
} WASI_NN_NAME(execution_target);

/* Handle of an inference session on a graph (inputs, outputs). */
typedef uint32_t WASI_NN_NAME(graph_execution_context);

#ifdef __cplusplus
}
#endif

#endif /* WASI_NN_TYPES_H */

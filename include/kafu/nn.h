/*
 * nn.h — neural-network inference behind wasi-nn (stage src/nn, library kafu_nn).
 *
 *   kafu_nn_model   a loaded graph: the model's bytes, their sha256, its
 *                   declared inputs/outputs, and the backend's network. Models
 *                   are immutable and reference counted; one model may serve
 *                   several execution contexts (and several guests).
 *   kafu_nn_exec    an execution context: the inputs set so far and the
 *                   outputs of the last compute.
 *
 * Encoding onnx runs on OpenCV's DNN module through a thin C++ shim that
 * catches every exception (src/nn/cv_shim.cpp); the ONNX protobuf is first
 * read by our own bounds-checked reader (src/nn/onnx_pb.c) for the graph's
 * inputs, outputs and operators, so bad shapes and types are refused before
 * the backend sees them. Other encodings and targets are refused with
 * KAFU_NN_UNSUPPORTED and a message naming what was asked.
 *
 * Error convention: functions return a kafu_nn_status — 0 on success, else the
 * wasi-nn error code it stands for (invalid_argument, too_large, ...) — and
 * put a message into err (err->code is the matching negative KAFU_E* value).
 *
 * Also here: kafu_nn_image_to_tensor, the image preprocessing behind the
 * kafu_helper.image_to_tensor import (JPEG/PNG via libjpeg-turbo/libpng).
 */
#ifndef KAFU_NN_H
#define KAFU_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes: the wasi-nn `nn_errno` values (witx preview1). */
typedef enum kafu_nn_status {
  KAFU_NN_OK = 0,
  KAFU_NN_INVALID_ARGUMENT = 1,
  KAFU_NN_INVALID_ENCODING = 2,
  KAFU_NN_MISSING_MEMORY = 3,
  KAFU_NN_BUSY = 4,
  KAFU_NN_RUNTIME_ERROR = 5,
  KAFU_NN_UNSUPPORTED = 6,
  KAFU_NN_TOO_LARGE = 7,
  KAFU_NN_NOT_FOUND = 8,
} kafu_nn_status;
/* "invalid_argument", ... */
const char *kafu_nn_status_name(int status);

/* Tensor element types: the wasi-nn `tensor_type` values. */
typedef enum kafu_nn_type {
  KAFU_NN_FP16 = 0,
  KAFU_NN_FP32 = 1,
  KAFU_NN_FP64 = 2,
  KAFU_NN_U8 = 3,
  KAFU_NN_I32 = 4,
  KAFU_NN_I64 = 5,
} kafu_nn_type;
/* "fp32", ...; NULL for an unknown value */
const char *kafu_nn_type_name(uint32_t type);
/* bytes per element, 0 for an unknown value */
size_t kafu_nn_type_size(uint32_t type);

/* wasi-nn `graph_encoding` and `execution_target` values. */
enum {
  KAFU_NN_ENC_OPENVINO = 0,
  KAFU_NN_ENC_ONNX = 1,
  KAFU_NN_ENC_TENSORFLOW = 2,
  KAFU_NN_ENC_PYTORCH = 3,
  KAFU_NN_ENC_TENSORFLOWLITE = 4,
  KAFU_NN_ENC_GGML = 5,
  KAFU_NN_ENC_AUTODETECT = 6,
};
enum { KAFU_NN_TARGET_CPU = 0, KAFU_NN_TARGET_GPU = 1, KAFU_NN_TARGET_TPU = 2 };
/* "onnx", "gpu", ...; "encoding 42" style text (static buffer) when unknown */
const char *kafu_nn_encoding_name(uint32_t encoding);
const char *kafu_nn_target_name(uint32_t target);

#define KAFU_NN_MAX_RANK 16 /* hard upper bound of kafu_nn_limits.max_rank */

typedef struct kafu_nn_limits {
  uint64_t max_model_bytes;  /* a model larger than this is refused (too_large); default 512 MiB */
  uint32_t max_rank;         /* tensor rank limit (<= KAFU_NN_MAX_RANK); default 8 */
  uint64_t max_tensor_bytes; /* one input or output tensor; default 256 MiB */
} kafu_nn_limits;
void kafu_nn_limits_default(kafu_nn_limits *lim);

typedef struct kafu_nn_tensor {
  uint32_t type; /* kafu_nn_type */
  uint32_t rank;
  uint32_t dims[KAFU_NN_MAX_RANK];
  const uint8_t *data; /* rank 0 = one element */
  size_t len;          /* bytes: product(dims) * kafu_nn_type_size(type) */
} kafu_nn_tensor;

/* One declared graph input or output. */
typedef struct kafu_nn_io {
  const char *name;
  int32_t onnx_type; /* ONNX element type (1 float, 7 int64, ...), 0 when not declared */
  bool has_shape;    /* false: any shape */
  uint32_t rank;
  const int64_t *dims; /* -1 = symbolic dimension */
} kafu_nn_io;

/* ---- models ---------------------------------------------------------------- */

typedef struct kafu_nn_model kafu_nn_model;

/* Load a graph from its serialized bytes (wasi-nn `load` with one builder).
 * lim may be NULL (defaults). Checks, in this order: encoding (only onnx) and
 * target (only cpu) -> unsupported; size -> too_large; the ONNX protobuf,
 * external-data references and the backend's import -> invalid_encoding (a
 * model the backend cannot build, e.g. an operator OpenCV lacks, names it). */
int kafu_nn_model_load(uint32_t encoding, uint32_t target, const uint8_t *bytes, size_t len,
                       const kafu_nn_limits *lim, kafu_nn_model **out, kafu_err *err);
kafu_nn_model *kafu_nn_model_ref(kafu_nn_model *m);
void kafu_nn_model_unref(kafu_nn_model *m);

uint32_t kafu_nn_model_encoding(const kafu_nn_model *m);
uint32_t kafu_nn_model_target(const kafu_nn_model *m);
const uint8_t *kafu_nn_model_sha256(const kafu_nn_model *m); /* of the bytes, 32 bytes */
const char *kafu_nn_model_sha256_hex(const kafu_nn_model *m);
size_t kafu_nn_model_size(const kafu_nn_model *m);
/* The model's bytes (kept so the model can be sent to a peer). */
const uint8_t *kafu_nn_model_bytes(const kafu_nn_model *m);
size_t kafu_nn_model_input_count(const kafu_nn_model *m);
size_t kafu_nn_model_output_count(const kafu_nn_model *m);
/* false when i is out of range */
bool kafu_nn_model_input(const kafu_nn_model *m, size_t i, kafu_nn_io *out);
bool kafu_nn_model_output(const kafu_nn_model *m, size_t i, kafu_nn_io *out);
/* Operators the model uses, comma separated ("Conv,Relu,Gemm"). */
const char *kafu_nn_model_ops(const kafu_nn_model *m);

/* The node's model cache, keyed by sha256: models stay loaded while a
 * program uses them and, past that, while the cache holds under 2 GiB.
 * kafu_nn_cache_load = kafu_nn_model_load through the cache (a hit skips the
 * import); kafu_nn_cache_get = the cached model with that digest (a new
 * reference) or NULL. */
int kafu_nn_cache_load(uint32_t encoding, uint32_t target, const uint8_t *bytes, size_t len,
                       const kafu_nn_limits *lim, kafu_nn_model **out, kafu_err *err);
kafu_nn_model *kafu_nn_cache_get(const uint8_t sha256[KAFU_SHA256_LEN]);

/* ---- execution contexts ----------------------------------------------------- */

typedef struct kafu_nn_exec kafu_nn_exec;

int kafu_nn_exec_new(kafu_nn_model *m, kafu_nn_exec **out, kafu_err *err);
void kafu_nn_exec_free(kafu_nn_exec *e);
kafu_nn_model *kafu_nn_exec_model(const kafu_nn_exec *e);

/* Copy t in as input `index`. Refused (invalid_argument) when index is not a
 * graph input, the type does not match the input's declared type, the rank or
 * a fixed dimension differs from the declared shape, or len does not match
 * the dims; too_large past the limits. */
int kafu_nn_exec_set_input(kafu_nn_exec *e, uint32_t index, const kafu_nn_tensor *t, kafu_err *err);
/* The input set at index, or NULL (used to carry inputs across a migration). */
const kafu_nn_tensor *kafu_nn_exec_input(const kafu_nn_exec *e, uint32_t index);

/* Run the graph on the inputs set (all must be set: invalid_argument names
 * the first missing one); a backend failure is runtime_error. */
int kafu_nn_exec_compute(kafu_nn_exec *e, kafu_err *err);

/* Output `index` of the last compute, converted to the graph's declared
 * output type where that is a wasi-nn type (int64 outputs come back as i64,
 * bool/int8 as one byte each, undeclared as fp32). */
int kafu_nn_exec_get_output(const kafu_nn_exec *e, uint32_t index, const kafu_nn_tensor **out, kafu_err *err);

/* ---- the wasi-nn host: a program's graphs and execution contexts ------------- */

/* One named model of this node (kafu-config.yaml nodes.<id>.models, or
 * `kafu run --nn-preload name:path`): load_by_name(name) loads the file at path
 * (a host path, read by the node, not by the guest). */
typedef struct kafu_nn_named {
  const char *name;
  const char *path;
} kafu_nn_named;

typedef struct kafu_nn_host_opts {
  const char *node; /* this node's id, for messages ("model 'x' is not on node 'edge'"); NULL = "this node" */
  const kafu_nn_named *models;
  size_t nmodels;
  const kafu_nn_limits *limits; /* NULL = defaults */
} kafu_nn_host_opts;

/* The host state behind one program's wasi_ephemeral_nn imports: graph and
 * execution-context handles. Bind it to the instance (kafu_host.bindings,
 * module "wasi_ephemeral_nn"); see kafu_hostmod_wasi_nn (kafu/hostmod.h). */
typedef struct kafu_nn_host kafu_nn_host;

int kafu_nn_host_new(const kafu_nn_host_opts *opts, kafu_nn_host **out, kafu_err *err);
void kafu_nn_host_free(kafu_nn_host *h);
/* How many graphs / execution contexts the program holds. */
size_t kafu_nn_host_graph_count(const kafu_nn_host *h);
size_t kafu_nn_host_exec_count(const kafu_nn_host *h);

/* The wasi-nn calls with host-side arguments (the host module's handlers
 * check guest memory and call these; also used by tests and benchmarks).
 * Each returns a kafu_nn_status; failures are also logged with the call. */
int kafu_nn_host_load(kafu_nn_host *h, const uint8_t *const *builders, const size_t *sizes, size_t nbuilders,
                      uint32_t encoding, uint32_t target, uint32_t *graph, kafu_err *err);
int kafu_nn_host_load_by_name(kafu_nn_host *h, const char *name, size_t name_len, uint32_t *graph,
                              kafu_err *err);
int kafu_nn_host_init_exec(kafu_nn_host *h, uint32_t graph, uint32_t *ctx, kafu_err *err);
/* The context behind a handle (NULL and invalid_argument for an unknown or stale one). */
kafu_nn_exec *kafu_nn_host_exec(kafu_nn_host *h, uint32_t ctx, kafu_err *err);

/* ---- the wasi-nn host across a migration ------------------------------------- */

/* What a snapshot carries of h (docs/snapshot-format.md, HOST section entry
 * "wasi_ephemeral_nn"): per graph its handle, encoding, target, model sha256
 * and size, and the model name when it was loaded by name; per execution
 * context its graph and the inputs set so far (type, dims, bytes). Model
 * bytes are not in it: see kafu_nn_host_graph_model. Appends to out. */
int kafu_nn_host_save(const kafu_nn_host *h, kafu_buf *out, kafu_err *err);
/* Rebuild graphs and contexts into h (which must hold none) from a save, with
 * the same handles. A graph loaded by name is loaded by that name on this
 * node (an edge and a cloud node may hold different models under one name;
 * not found names model and node); any other graph must be in this node's
 * model cache (kafu_nn_cache_load the bytes the snapshot carried first), else
 * not_found names its digest. Inputs a rebuilt graph refuses are dropped with
 * a warning (compute then reports them unset). h is unchanged on failure. */
int kafu_nn_host_restore(kafu_nn_host *h, const uint8_t *state, size_t len, kafu_err *err);
/* Graph i's model, and whether it was loaded by name (then a receiving node
 * uses its own model of that name and needs no bytes). */
const kafu_nn_model *kafu_nn_host_graph_model(const kafu_nn_host *h, size_t i, bool *by_name);

/* ---- image preprocessing (kafu_helper.image_to_tensor) ---------------------- */

#define KAFU_NN_IMAGE_MAX_PIXELS (64u * 1024 * 1024) /* decoded source image limit */

/* Decode a JPEG or PNG file image (bytes), resize it to exactly width x height
 * with a triangle (bilinear) filter, take RGB (gray is replicated, alpha
 * dropped), normalise each channel with the ImageNet mean (0.485, 0.456,
 * 0.406) and std (0.229, 0.224, 0.225) and write planar NCHW float32 (R plane,
 * then G, then B; native endianness) into out, which must hold
 * 3 * width * height floats. Errors (kafu_nn_status): invalid_argument
 * (zero or too large size), invalid_encoding (not a JPEG/PNG, corrupt data),
 * too_large (source over KAFU_NN_IMAGE_MAX_PIXELS). */
int kafu_nn_image_to_tensor(const uint8_t *file, size_t len, uint32_t height, uint32_t width, float *out,
                            kafu_err *err);

/* Decode only (exposed for tests and tools): malloc'd RGB8 pixels, row major. */
int kafu_nn_image_decode_rgb(const uint8_t *file, size_t len, uint8_t **rgb, uint32_t *width,
                             uint32_t *height, kafu_err *err);
/* The resize + normalise half of kafu_nn_image_to_tensor on RGB8 pixels. */
int kafu_nn_rgb_to_tensor(const uint8_t *rgb, uint32_t src_w, uint32_t src_h, uint32_t height, uint32_t width,
                          float *out, kafu_err *err);

/* IEEE half <-> single precision (round to nearest even). */
float kafu_nn_half_to_float(uint16_t h);
uint16_t kafu_nn_float_to_half(float f);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_NN_H */

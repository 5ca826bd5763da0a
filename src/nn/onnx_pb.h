/*
 * onnx_pb.h — a small, bounds-checked reader for the parts of ONNX's protobuf
 * messages Kafu needs: a model's graph inputs/outputs (names, element types,
 * shapes), the operators it uses, and serialized TensorProto files (the ONNX
 * backend node tests' input_N.pb / output_N.pb).
 *
 * Plain C11 with no dependency beyond libc: the host (src/nn) and guest test
 * programs (compiled to wasm32-wasi by `kafu cc`) share this one reader.
 * Every function validates lengths before reading and never recurses, so
 * hostile bytes produce an error message, never an out-of-bounds access.
 */
#ifndef KAFU_ONNX_PB_H
#define KAFU_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ONNX TensorProto.DataType values */
enum {
  KAFU_ONNX_UNDEFINED = 0,
  KAFU_ONNX_FLOAT = 1,
  KAFU_ONNX_UINT8 = 2,
  KAFU_ONNX_INT8 = 3,
  KAFU_ONNX_UINT16 = 4,
  KAFU_ONNX_INT16 = 5,
  KAFU_ONNX_INT32 = 6,
  KAFU_ONNX_INT64 = 7,
  KAFU_ONNX_STRING = 8,
  KAFU_ONNX_BOOL = 9,
  KAFU_ONNX_FLOAT16 = 10,
  KAFU_ONNX_DOUBLE = 11,
  KAFU_ONNX_UINT32 = 12,
  KAFU_ONNX_UINT64 = 13,
  KAFU_ONNX_COMPLEX64 = 14,
  KAFU_ONNX_COMPLEX128 = 15,
  KAFU_ONNX_BFLOAT16 = 16,
};

#define KAFU_ONNX_MAX_RANK 32     /* deeper shapes are refused */
#define KAFU_ONNX_MAX_VALUES 4096 /* graph inputs/outputs/initializers counted */
#define KAFU_ONNX_MAX_OPTYPES 256 /* distinct operator types remembered */

/* "float", "int64", ... ("type 42" style for unknown values: static buffer) */
const char *kafu_onnx_type_name(int32_t t);
/* bytes per element of a fixed-size type, 0 for string/unknown */
size_t kafu_onnx_type_size(int32_t t);

typedef struct kafu_onnx_value {
  char *name;        /* malloc'd, NUL-terminated */
  int32_t elem_type; /* KAFU_ONNX_*; 0 when not a tensor or not stated */
  int has_shape;     /* 0: shape not stated (any rank) */
  uint32_t rank;
  int64_t dims[KAFU_ONNX_MAX_RANK]; /* -1 for a symbolic/unknown dimension */
} kafu_onnx_value;

typedef struct kafu_onnx_info {
  int64_t ir_version;
  int64_t opset;            /* default-domain opset version, 0 when absent */
  size_t ninputs, noutputs; /* graph inputs (initializers excluded) and outputs */
  kafu_onnx_value *inputs, *outputs;
  size_t nops;
  char *ops[KAFU_ONNX_MAX_OPTYPES]; /* distinct op types ("Conv", "com.x:Op"), malloc'd */
  int ops_overflow;                 /* the graph has more distinct op types than that */
  /* per op type (parallel to ops): how many outputs the graph uses of its
   * nodes of that type, the most over those nodes: 1 + the highest output
   * position whose name is a graph output or another node's input (0: none);
   * op_use names that output and node ("output #2 'mask' of node 'drop1'",
   * malloc'd, NULL while op_outputs is 0) */
  uint32_t op_outputs[KAFU_ONNX_MAX_OPTYPES];
  char *op_use[KAFU_ONNX_MAX_OPTYPES];
  size_t nnodes, ninitializers;
  int external_data; /* some initializer refers to external data files */
} kafu_onnx_info;

/* Parse a serialized ModelProto. Returns 0, or -1 with a message in errbuf.
 * On success free info with kafu_onnx_info_free. */
int kafu_onnx_model_info(const uint8_t *buf, size_t len, kafu_onnx_info *info, char *errbuf, size_t errlen);
void kafu_onnx_info_free(kafu_onnx_info *info);

typedef struct kafu_onnx_tensor {
  char *name;        /* malloc'd, "" when absent */
  int32_t data_type; /* KAFU_ONNX_* */
  uint32_t rank;
  int64_t dims[KAFU_ONNX_MAX_RANK];
  uint64_t count; /* number of elements (product of dims; 1 for rank 0) */
  uint8_t *data;  /* count * kafu_onnx_type_size(data_type) bytes, little endian, malloc'd */
  size_t nbytes;
} kafu_onnx_tensor;

/* Parse a serialized TensorProto into dense little-endian bytes of its own type
 * (raw_data, or the typed repeated fields, e.g. float16 from int32_data).
 * max_bytes bounds the decoded size. Returns 0 or -1 with a message. */
int kafu_onnx_tensor_decode(const uint8_t *buf, size_t len, size_t max_bytes, kafu_onnx_tensor *t,
                            char *errbuf, size_t errlen);
void kafu_onnx_tensor_free(kafu_onnx_tensor *t);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_ONNX_PB_H */

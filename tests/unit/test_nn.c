/* test_nn.c — unit tests for src/nn: the OpenCV shim behind kafu_nn (golden
 * tensors from Debian's ONNX node tests and this repository's example model),
 * every refusal of bad input, the ONNX protobuf reader, half floats, and
 * image_to_tensor against golden tensors (tests/data/nn/make-golden.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "kafu/nn.h"
#include "nn/onnx_pb.h"

#define NODE_DIR "/usr/share/libonnx-testdata/data/node"

static char *src_path(const char *rel) {
  const char *src = getenv("KAFU_SRC");
  return kafu_path_join(src ? src : KAFU_SOURCE_DIR, rel);
}

static uint8_t *slurp(const char *path, size_t *len) {
  uint8_t *data;
  kafu_err err;
  if (kafu_read_file(path, &data, len, &err)) fail_msg("%s", err.msg);
  return data;
}

static kafu_nn_model *load_model(const char *path) {
  size_t len;
  uint8_t *bytes = slurp(path, &len);
  kafu_nn_model *m = NULL;
  kafu_err err;
  int st = kafu_nn_model_load(KAFU_NN_ENC_ONNX, KAFU_NN_TARGET_CPU, bytes, len, NULL, &m, &err);
  free(bytes);
  if (st) fail_msg("%s: %s", path, err.msg);
  return m;
}

static const char *example_model(void) {
  static char *p;
  if (!p) p = src_path("examples/image-classification/fixture/models/shapes-cnn.onnx");
  return p;
}

static kafu_onnx_tensor read_pb(const char *path) {
  size_t len;
  uint8_t *b = slurp(path, &len);
  kafu_onnx_tensor t;
  char eb[256];
  if (kafu_onnx_tensor_decode(b, len, 1 << 26, &t, eb, sizeof eb)) fail_msg("%s: %s", path, eb);
  free(b);
  return t;
}

/* ---- the shim on ONNX node tests: inputs, compute, outputs vs golden ------------- */

static void run_node_test(const char *name, uint32_t ninputs, float tol) {
  char path[512];
  snprintf(path, sizeof path, NODE_DIR "/%s/model.onnx", name);
  kafu_nn_model *m = load_model(path);
  kafu_nn_exec *e;
  kafu_err err;
  assert_int_equal(kafu_nn_exec_new(m, &e, &err), KAFU_NN_OK);
  assert_int_equal(kafu_nn_model_input_count(m), ninputs);
  for (uint32_t i = 0; i < ninputs; i++) {
    snprintf(path, sizeof path, NODE_DIR "/%s/test_data_set_0/input_%u.pb", name, i);
    kafu_onnx_tensor t = read_pb(path);
    assert_int_equal(t.data_type, KAFU_ONNX_FLOAT);
    kafu_nn_tensor in = {.type = KAFU_NN_FP32, .rank = t.rank, .data = t.data, .len = t.nbytes};
    for (uint32_t d = 0; d < t.rank; d++) in.dims[d] = (uint32_t)t.dims[d];
    if (kafu_nn_exec_set_input(e, i, &in, &err)) fail_msg("%s: %s", name, err.msg);
    kafu_onnx_tensor_free(&t);
  }
  if (kafu_nn_exec_compute(e, &err)) fail_msg("%s: %s", name, err.msg);
  snprintf(path, sizeof path, NODE_DIR "/%s/test_data_set_0/output_0.pb", name);
  kafu_onnx_tensor want = read_pb(path);
  const kafu_nn_tensor *got;
  assert_int_equal(kafu_nn_exec_get_output(e, 0, &got, &err), KAFU_NN_OK);
  assert_int_equal(got->type, KAFU_NN_FP32);
  assert_int_equal(got->len, want.nbytes);
  assert_int_equal(got->rank, want.rank);
  for (uint32_t d = 0; d < want.rank; d++) assert_int_equal(got->dims[d], want.dims[d]);
  const float *g = (const float *)got->data, *w = (const float *)want.data;
  for (size_t i = 0; i < want.count; i++)
    if (fabsf(g[i] - w[i]) > tol * (1 + fabsf(w[i]))) fail_msg("%s: [%zu] %g != %g", name, i, g[i], w[i]);
  kafu_onnx_tensor_free(&want);
  kafu_nn_exec_free(e);
  kafu_nn_model_unref(m);
}

static void test_node_goldens(void **s) {
  run_node_test("test_relu", 1, 0);
  run_node_test("test_conv_with_strides_padding", 2, 1e-5f);
  run_node_test("test_maxpool_2d_pads", 1, 0);
  run_node_test("test_matmul_3d", 2, 1e-5f);
  run_node_test("test_softmax_example", 1, 1e-5f);
  run_node_test("test_globalaveragepool", 1, 1e-5f);
  run_node_test("test_add", 2, 0);
}

/* int64 output (ArgMax) comes back as i64, as the graph declares */
static void test_output_types(void **s) {
  kafu_nn_model *m = load_model(NODE_DIR "/test_argmax_default_axis_example/model.onnx");
  kafu_nn_io io;
  assert_true(kafu_nn_model_output(m, 0, &io));
  assert_int_equal(io.onnx_type, KAFU_ONNX_INT64);
  kafu_nn_exec *e;
  kafu_err err;
  assert_int_equal(kafu_nn_exec_new(m, &e, &err), 0);
  kafu_onnx_tensor t = read_pb(NODE_DIR "/test_argmax_default_axis_example/test_data_set_0/input_0.pb");
  kafu_nn_tensor in = {.type = KAFU_NN_FP32, .rank = t.rank, .data = t.data, .len = t.nbytes};
  for (uint32_t d = 0; d < t.rank; d++) in.dims[d] = (uint32_t)t.dims[d];
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &in, &err), 0);
  kafu_onnx_tensor_free(&t);
  assert_int_equal(kafu_nn_exec_compute(e, &err), 0);
  const kafu_nn_tensor *out;
  assert_int_equal(kafu_nn_exec_get_output(e, 0, &out, &err), 0);
  kafu_onnx_tensor want = read_pb(NODE_DIR "/test_argmax_default_axis_example/test_data_set_0/output_0.pb");
  assert_int_equal(out->type, KAFU_NN_I64);
  assert_int_equal(out->len, want.nbytes);
  assert_memory_equal(out->data, want.data, want.nbytes);
  kafu_onnx_tensor_free(&want);
  kafu_nn_exec_free(e);
  kafu_nn_model_unref(m);
}

/* ---- the example model ------------------------------------------------------------- */

static void test_example_model(void **s) {
  kafu_nn_model *m = load_model(example_model());
  assert_int_equal(kafu_nn_model_input_count(m), 1);
  assert_int_equal(kafu_nn_model_output_count(m), 1);
  kafu_nn_io io;
  assert_true(kafu_nn_model_input(m, 0, &io));
  assert_string_equal(io.name, "data");
  assert_int_equal(io.onnx_type, KAFU_ONNX_FLOAT);
  assert_int_equal(io.rank, 4);
  assert_int_equal(io.dims[1], 3);
  assert_int_equal(io.dims[3], 224);
  assert_false(kafu_nn_model_input(m, 1, &io));
  assert_non_null(strstr(kafu_nn_model_ops(m), "Conv"));
  assert_int_equal(strlen(kafu_nn_model_sha256_hex(m)), 64);

  /* each fixture image is classified as its own class */
  static const char *classes[] = {"circle", "square", "triangle", "cross"};
  float *x = malloc(3 * 224 * 224 * sizeof(float));
  kafu_nn_exec *e;
  kafu_err err;
  assert_int_equal(kafu_nn_exec_new(m, &e, &err), 0);
  for (int c = 0; c < 4; c++) {
    char rel[128];
    snprintf(rel, sizeof rel, "examples/image-classification/fixture/images/%s.jpg", classes[c]);
    char *p = src_path(rel);
    size_t len;
    uint8_t *jpg = slurp(p, &len);
    assert_int_equal(kafu_nn_image_to_tensor(jpg, len, 224, 224, x, &err), 0);
    kafu_nn_tensor in = {.type = KAFU_NN_FP32,
                         .rank = 4,
                         .dims = {1, 3, 224, 224},
                         .data = (uint8_t *)x,
                         .len = 3 * 224 * 224 * 4};
    assert_int_equal(kafu_nn_exec_set_input(e, 0, &in, &err), 0);
    assert_int_equal(kafu_nn_exec_compute(e, &err), 0);
    const kafu_nn_tensor *out;
    assert_int_equal(kafu_nn_exec_get_output(e, 0, &out, &err), 0);
    assert_int_equal(out->len, 4000);
    assert_int_equal(out->rank, 2);
    const float *logit = (const float *)out->data;
    int best = 0;
    for (int i = 1; i < 1000; i++)
      if (logit[i] > logit[best]) best = i;
    if (best != c) fail_msg("%s.jpg classified as %d", classes[c], best);
    free(jpg);
    free(p);
  }
  /* the context keeps a copy of its input */
  const kafu_nn_tensor *kept = kafu_nn_exec_input(e, 0);
  assert_non_null(kept);
  assert_int_equal(kept->len, 3 * 224 * 224 * 4);
  assert_memory_equal(kept->data, x, kept->len);
  assert_null(kafu_nn_exec_input(e, 1));
  free(x);
  kafu_nn_exec_free(e);
  kafu_nn_model_unref(m);
}

/* ---- bad models ----------------------------------------------------------------------- */

static void test_bad_models(void **s) {
  size_t len;
  uint8_t *bytes = slurp(example_model(), &len);
  kafu_nn_model *m = NULL;
  kafu_err err;
  /* encodings and targets other than onnx/cpu */
  assert_int_equal(kafu_nn_model_load(KAFU_NN_ENC_TENSORFLOW, 0, bytes, len, NULL, &m, &err),
                   KAFU_NN_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "tensorflow"));
  assert_int_equal(kafu_nn_model_load(KAFU_NN_ENC_OPENVINO, 0, bytes, len, NULL, &m, &err),
                   KAFU_NN_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "openvino"));
  assert_int_equal(kafu_nn_model_load(99, 0, bytes, len, NULL, &m, &err), KAFU_NN_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "encoding 99"));
  assert_int_equal(kafu_nn_model_load(KAFU_NN_ENC_ONNX, KAFU_NN_TARGET_GPU, bytes, len, NULL, &m, &err),
                   KAFU_NN_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "gpu"));
  /* over the size limit */
  kafu_nn_limits lim;
  kafu_nn_limits_default(&lim);
  lim.max_model_bytes = len - 1;
  assert_int_equal(kafu_nn_model_load(KAFU_NN_ENC_ONNX, 0, bytes, len, &lim, &m, &err), KAFU_NN_TOO_LARGE);
  assert_non_null(strstr(err.msg, "limit"));
  /* empty, garbage */
  assert_int_equal(kafu_nn_model_load(KAFU_NN_ENC_ONNX, 0, bytes, 0, NULL, &m, &err),
                   KAFU_NN_INVALID_ARGUMENT);
  assert_int_equal(
      kafu_nn_model_load(KAFU_NN_ENC_ONNX, 0, (const uint8_t *)"hello world", 11, NULL, &m, &err),
      KAFU_NN_INVALID_ENCODING);
  /* every truncation is refused cleanly (never a crash, never a model) */
  for (size_t cut = 1; cut < len; cut += 1 + len / 97) {
    int st = kafu_nn_model_load(KAFU_NN_ENC_ONNX, 0, bytes, cut, NULL, &m, &err);
    if (st == KAFU_NN_OK) fail_msg("a model truncated to %zu of %zu bytes loaded", cut, len);
    assert_int_equal(st, KAFU_NN_INVALID_ENCODING);
    assert_null(m);
  }
  /* bit flips: refused or loaded, never a crash; loaded ones still compute or fail cleanly */
  uint8_t *copy = malloc(len);
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 60; i++) {
    memcpy(copy, bytes, len);
    for (int k = 0; k < 4; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      copy[(x >> 8) % 512] ^= (uint8_t)(1u << (x % 8)); /* the graph structure lives near the start */
    }
    if (kafu_nn_model_load(KAFU_NN_ENC_ONNX, 0, copy, len, NULL, &m, &err) == KAFU_NN_OK)
      kafu_nn_model_unref(m);
  }
  free(copy);
  free(bytes);
}

/* a model that points at external weight files is refused: those files would be host files */
static void test_external_data_refused(void **s) {
  /* ModelProto{ir_version=7, graph{initializer{dims=1, data_type=1, name="w", data_location=EXTERNAL}}} */
  static const uint8_t model[] = {0x08, 0x07, 0x3a, 0x0b, 0x2a, 0x09, 0x08, 0x01,
                                  0x10, 0x01, 0x42, 0x01, 0x77, 0x70, 0x01};
  kafu_nn_model *m = NULL;
  kafu_err err;
  assert_int_equal(kafu_nn_model_load(KAFU_NN_ENC_ONNX, 0, model, sizeof model, NULL, &m, &err),
                   KAFU_NN_INVALID_ENCODING);
  assert_non_null(strstr(err.msg, "external data"));
}

/* an operator OpenCV lacks: invalid_encoding naming it */
static void test_unsupported_operator(void **s) {
  size_t len;
  uint8_t *bytes = slurp(NODE_DIR "/test_tril/model.onnx", &len);
  kafu_nn_model *m = NULL;
  kafu_err err;
  assert_int_equal(kafu_nn_model_load(KAFU_NN_ENC_ONNX, 0, bytes, len, NULL, &m, &err),
                   KAFU_NN_INVALID_ENCODING);
  assert_non_null(strstr(err.msg, "Trilu"));
  assert_null(strstr(err.msg, "./modules/")); /* OpenCV's source paths are trimmed */
  free(bytes);
}

/* ---- graphs OpenCV 4.6 would run unsafely ------------------------------------------------ */

/* A tiny ONNX writer for the graphs below: protobuf fields appended to a kafu_buf. */
static void pb_varint(kafu_buf *b, uint64_t v) {
  do {
    uint8_t c = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) c |= 0x80;
    kafu_buf_append(b, &c, 1);
  } while (v);
}
static void pb_int(kafu_buf *b, uint32_t field, uint64_t v) {
  pb_varint(b, (uint64_t)field << 3);
  pb_varint(b, v);
}
static void pb_bytes(kafu_buf *b, uint32_t field, const void *p, size_t n) {
  pb_varint(b, (uint64_t)field << 3 | 2);
  pb_varint(b, n);
  kafu_buf_append(b, p, n);
}
static void pb_str(kafu_buf *b, uint32_t field, const char *s) { pb_bytes(b, field, s, strlen(s)); }
static void pb_msg(kafu_buf *b, uint32_t field, kafu_buf *sub) {
  pb_bytes(b, field, sub->data, sub->len);
  kafu_buf_free(sub);
}

/* ValueInfoProto of a float tensor; rank < 0: no shape */
static void pb_value(kafu_buf *g, uint32_t field, const char *name, int32_t type, int rank,
                     const int64_t *dims) {
  kafu_buf v = {0}, t = {0}, tt = {0}, sh = {0};
  pb_int(&tt, 1, (uint64_t)type);
  if (rank >= 0) {
    for (int i = 0; i < rank; i++) {
      kafu_buf d = {0};
      pb_int(&d, 1, (uint64_t)dims[i]);
      pb_msg(&sh, 1, &d);
    }
    if (!sh.len)
      pb_bytes(&tt, 2, "", 0);
    else
      pb_msg(&tt, 2, &sh);
  }
  pb_msg(&t, 1, &tt);
  pb_str(&v, 1, name);
  pb_msg(&v, 2, &t);
  pb_msg(g, field, &v);
}

/* NodeProto: inputs and outputs NULL-terminated; attribute int `attr` = attr_v when attr */
static void pb_node(kafu_buf *g, const char *op, const char *const *in, const char *const *out,
                    const char *attr, int64_t attr_v) {
  kafu_buf n = {0};
  for (; *in; in++) pb_str(&n, 1, *in);
  for (; *out; out++) pb_str(&n, 2, *out);
  pb_str(&n, 4, op);
  if (attr) {
    kafu_buf a = {0};
    pb_str(&a, 1, attr);
    pb_int(&a, 3, (uint64_t)attr_v);
    pb_int(&a, 20, 2); /* INT */
    pb_msg(&n, 5, &a);
  }
  pb_msg(g, 1, &n);
}

/* ModelProto (IR 8, opset 13) around graph g (consumed) */
static kafu_buf pb_model(kafu_buf *g) {
  kafu_buf m = {0}, o = {0};
  pb_int(&m, 1, 8);
  pb_str(g, 2, "g");
  pb_msg(&m, 7, g);
  pb_int(&o, 2, 13);
  pb_msg(&m, 8, &o);
  return m;
}

static int load_bytes(const kafu_buf *b, kafu_nn_model **m, kafu_err *err) {
  return kafu_nn_model_load(KAFU_NN_ENC_ONNX, KAFU_NN_TARGET_CPU, (const uint8_t *)b->data, b->len, NULL, m,
                            err);
}

/* A node's outputs past those the backend computes are refused when the graph
 * uses them. OpenCV's Identity layer (Identity, Dropout, Cast, ...) copied input
 * i to output i for every output: the Dropout mask read past its one input and
 * crashed `kafu run` on the ONNX node tests. */
static void test_unused_outputs_only(void **s) {
  kafu_nn_model *m = NULL;
  kafu_err err;
  size_t len;
  uint8_t *bytes = slurp(NODE_DIR "/test_dropout_default_mask/model.onnx", &len);
  assert_int_equal(kafu_nn_model_load(KAFU_NN_ENC_ONNX, 0, bytes, len, NULL, &m, &err), KAFU_NN_UNSUPPORTED);
  assert_null(m);
  assert_non_null(strstr(err.msg, "output #2 'z' of node #0 (Dropout)"));
  assert_non_null(strstr(err.msg, "computes only 1 output of Dropout"));
  free(bytes);
  static const int64_t d34[] = {3, 4};
  static const char *x[] = {"x", NULL}, *y_mask[] = {"y", "mask", NULL}, *y_y2[] = {"y", "y2", NULL},
                    *mask[] = {"mask", NULL}, *m2[] = {"m2", NULL};
  /* Identity with a second output, a graph output: refused, naming both */
  kafu_buf g = {0};
  pb_node(&g, "Identity", x, y_y2, NULL, 0);
  pb_value(&g, 11, "x", KAFU_ONNX_FLOAT, 2, d34);
  pb_value(&g, 12, "y", KAFU_ONNX_FLOAT, 2, d34);
  pb_value(&g, 12, "y2", KAFU_ONNX_FLOAT, 2, d34);
  kafu_buf b = pb_model(&g);
  assert_int_equal(load_bytes(&b, &m, &err), KAFU_NN_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "output #2 'y2'"));
  kafu_buf_free(&b);
  /* a Dropout mask another node consumes: refused */
  pb_node(&g, "Dropout", x, y_mask, NULL, 0);
  pb_node(&g, "Identity", mask, m2, NULL, 0);
  pb_value(&g, 11, "x", KAFU_ONNX_FLOAT, 2, d34);
  pb_value(&g, 12, "y", KAFU_ONNX_FLOAT, 2, d34);
  b = pb_model(&g);
  assert_int_equal(load_bytes(&b, &m, &err), KAFU_NN_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "'mask'"));
  kafu_buf_free(&b);
  /* a named mask nothing uses: the model loads and computes */
  pb_node(&g, "Dropout", x, y_mask, NULL, 0);
  pb_value(&g, 11, "x", KAFU_ONNX_FLOAT, 2, d34);
  pb_value(&g, 12, "y", KAFU_ONNX_FLOAT, 2, d34);
  b = pb_model(&g);
  assert_int_equal(load_bytes(&b, &m, &err), KAFU_NN_OK);
  kafu_buf_free(&b);
  kafu_nn_exec *e;
  assert_int_equal(kafu_nn_exec_new(m, &e, &err), 0);
  float v[12];
  for (int i = 0; i < 12; i++) v[i] = (float)i - 5.5f;
  kafu_nn_tensor in = {
      .type = KAFU_NN_FP32, .rank = 2, .dims = {3, 4}, .data = (uint8_t *)v, .len = sizeof v};
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &in, &err), 0);
  assert_int_equal(kafu_nn_exec_compute(e, &err), 0);
  const kafu_nn_tensor *out;
  assert_int_equal(kafu_nn_exec_get_output(e, 0, &out, &err), 0);
  assert_int_equal(out->len, sizeof v);
  assert_memory_equal(out->data, v, sizeof v);
  kafu_nn_exec_free(e);
  kafu_nn_model_unref(m);
  /* Split computes all its outputs */
  static const char *abc[] = {"a", "b", "c", NULL};
  static const int64_t d64[] = {6, 4}, d24[] = {2, 4};
  pb_node(&g, "Split", x, abc, "axis", 0);
  pb_value(&g, 11, "x", KAFU_ONNX_FLOAT, 2, d64);
  for (int i = 0; i < 3; i++) pb_value(&g, 12, abc[i], KAFU_ONNX_FLOAT, 2, d24);
  b = pb_model(&g);
  assert_int_equal(load_bytes(&b, &m, &err), KAFU_NN_OK);
  kafu_buf_free(&b);
  kafu_nn_model_unref(m);
}

/* run a CumSum graph on x [rows, cols] (axis a constant, or an int32 input when
 * axis_input) and return output 0 (malloc'd) */
static float *cumsum(uint32_t rows, uint32_t cols, const float *x, int64_t axis, bool axis_input,
                     const char *flag) {
  static const char *in2[] = {"x", "axis", NULL}, *y[] = {"y", NULL};
  const int64_t d[] = {rows, cols};
  kafu_buf g = {0};
  pb_node(&g, "CumSum", in2, y, flag, 1);
  if (!axis_input) {
    kafu_buf t = {0};
    int32_t a = (int32_t)axis;
    pb_int(&t, 2, KAFU_ONNX_INT32);
    pb_str(&t, 8, "axis");
    pb_bytes(&t, 9, &a, 4);
    pb_msg(&g, 5, &t);
  }
  pb_value(&g, 11, "x", KAFU_ONNX_FLOAT, 2, d);
  if (axis_input) pb_value(&g, 11, "axis", KAFU_ONNX_INT32, 0, NULL);
  pb_value(&g, 12, "y", KAFU_ONNX_FLOAT, 2, d);
  kafu_buf b = pb_model(&g);
  kafu_nn_model *m = NULL;
  kafu_err err;
  if (load_bytes(&b, &m, &err)) fail_msg("CumSum model: %s", err.msg);
  kafu_buf_free(&b);
  kafu_nn_exec *e;
  assert_int_equal(kafu_nn_exec_new(m, &e, &err), 0);
  kafu_nn_tensor in = {.type = KAFU_NN_FP32,
                       .rank = 2,
                       .dims = {rows, cols},
                       .data = (uint8_t *)x,
                       .len = (size_t)rows * cols * 4};
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &in, &err), 0);
  if (axis_input) {
    int32_t a = (int32_t)axis;
    kafu_nn_tensor ai = {.type = KAFU_NN_I32, .rank = 1, .dims = {1}, .data = (uint8_t *)&a, .len = 4};
    assert_int_equal(kafu_nn_exec_set_input(e, 1, &ai, &err), 0);
  }
  if (kafu_nn_exec_compute(e, &err)) fail_msg("CumSum compute: %s", err.msg);
  const kafu_nn_tensor *out;
  assert_int_equal(kafu_nn_exec_get_output(e, 0, &out, &err), 0);
  assert_int_equal(out->len, in.len);
  float *r = malloc(out->len);
  memcpy(r, out->data, out->len);
  kafu_nn_exec_free(e);
  kafu_nn_model_unref(m);
  return r;
}

/* OpenCV 4.6's CumSum layer read and wrote past its tensors whenever a
 * dimension after the axis was over 1 (a 1024x1024 input crashed the process);
 * the shim's own layer computes it */
static void test_cumsum(void **s) {
  const uint32_t n = 1024;
  float *ones = malloc((size_t)n * n * 4);
  for (size_t i = 0; i < (size_t)n * n; i++) ones[i] = 1;
  float *r = cumsum(n, n, ones, 0, false, NULL);
  for (size_t i = 0; i < (size_t)n * n; i++)
    if (r[i] != (float)(i / n + 1)) fail_msg("cumsum axis 0 [%zu] = %g", i, r[i]);
  free(r);
  free(ones);
  /* [[1,2,3],[4,5,6]] along each axis, given as a constant or as an input, exclusive, reverse */
  static const float x[] = {1, 2, 3, 4, 5, 6};
  static const struct {
    int64_t axis;
    bool input;
    const char *flag;
    float want[6];
  } cases[] = {
      {0, false, NULL, {1, 2, 3, 5, 7, 9}},        {1, false, NULL, {1, 3, 6, 4, 9, 15}},
      {-1, true, NULL, {1, 3, 6, 4, 9, 15}},       {0, true, NULL, {1, 2, 3, 5, 7, 9}},
      {1, false, "exclusive", {0, 1, 3, 0, 4, 9}}, {1, false, "reverse", {6, 5, 3, 15, 11, 6}},
      {0, true, "reverse", {5, 7, 9, 4, 5, 6}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    r = cumsum(2, 3, x, cases[c].axis, cases[c].input, cases[c].flag);
    for (int i = 0; i < 6; i++)
      if (r[i] != cases[c].want[i])
        fail_msg("cumsum case %zu [%d] = %g, want %g", c, i, r[i], cases[c].want[i]);
    free(r);
  }
}

/* ---- bad tensors ------------------------------------------------------------------------- */

static void test_bad_tensors(void **s) {
  kafu_nn_model *m = load_model(example_model());
  kafu_nn_exec *e;
  kafu_err err;
  assert_int_equal(kafu_nn_exec_new(m, &e, &err), 0);
  size_t n = 3 * 224 * 224;
  float *x = calloc(n, sizeof(float));
  kafu_nn_tensor t = {
      .type = KAFU_NN_FP32, .rank = 4, .dims = {1, 3, 224, 224}, .data = (uint8_t *)x, .len = n * 4};
  const kafu_nn_tensor *out;
  /* compute / get_output before inputs */
  assert_int_equal(kafu_nn_exec_compute(e, &err), KAFU_NN_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "'data'"));
  assert_int_equal(kafu_nn_exec_get_output(e, 0, &out, &err), KAFU_NN_INVALID_ARGUMENT);
  /* index */
  assert_int_equal(kafu_nn_exec_set_input(e, 1, &t, &err), KAFU_NN_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "out of range"));
  /* wrong type */
  kafu_nn_tensor bad = t;
  bad.type = KAFU_NN_I32;
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &bad, &err), KAFU_NN_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "float"));
  bad.type = 77;
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &bad, &err), KAFU_NN_INVALID_ARGUMENT);
  /* wrong shape (same byte count), wrong rank */
  bad = t;
  bad.dims[2] = 448, bad.dims[3] = 112;
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &bad, &err), KAFU_NN_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "[1,3,224,224]"));
  bad = t;
  bad.rank = 3, bad.dims[0] = 3, bad.dims[1] = 224, bad.dims[2] = 224;
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &bad, &err), KAFU_NN_INVALID_ARGUMENT);
  /* data length does not match the dims */
  bad = t;
  bad.len -= 4;
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &bad, &err), KAFU_NN_INVALID_ARGUMENT);
  /* huge dimensions: overflow, over the tensor limit, over the rank limit */
  bad = t;
  bad.dims[0] = bad.dims[1] = bad.dims[2] = bad.dims[3] = 0xffffffffu;
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &bad, &err), KAFU_NN_TOO_LARGE);
  bad.rank = 2, bad.dims[0] = 1u << 20, bad.dims[1] = 1u << 20;
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &bad, &err), KAFU_NN_TOO_LARGE);
  bad.rank = KAFU_NN_MAX_RANK;
  for (int i = 0; i < KAFU_NN_MAX_RANK; i++) bad.dims[i] = 1;
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &bad, &err), KAFU_NN_TOO_LARGE);
  assert_null(kafu_nn_exec_input(e, 0)); /* nothing refused was kept */
  /* the right tensor still works afterwards */
  assert_int_equal(kafu_nn_exec_set_input(e, 0, &t, &err), 0);
  assert_int_equal(kafu_nn_exec_compute(e, &err), 0);
  assert_int_equal(kafu_nn_exec_get_output(e, 0, &out, &err), 0);
  assert_int_equal(kafu_nn_exec_get_output(e, 1, &out, &err), KAFU_NN_INVALID_ARGUMENT);
  free(x);
  kafu_nn_exec_free(e);
  kafu_nn_model_unref(m);
}

/* OpenCV's own runtime failures come back as runtime_error, never a crash */
static void test_backend_runtime_error(void **s) {
  kafu_nn_model *m = load_model(NODE_DIR "/test_add_bcast/model.onnx");
  kafu_nn_exec *e;
  kafu_err err;
  assert_int_equal(kafu_nn_exec_new(m, &e, &err), 0);
  for (uint32_t i = 0; i < 2; i++) {
    char path[256];
    snprintf(path, sizeof path, NODE_DIR "/test_add_bcast/test_data_set_0/input_%u.pb", i);
    kafu_onnx_tensor t = read_pb(path);
    kafu_nn_tensor in = {.type = KAFU_NN_FP32, .rank = t.rank, .data = t.data, .len = t.nbytes};
    for (uint32_t d = 0; d < t.rank; d++) in.dims[d] = (uint32_t)t.dims[d];
    assert_int_equal(kafu_nn_exec_set_input(e, i, &in, &err), 0);
    kafu_onnx_tensor_free(&t);
  }
  assert_int_equal(kafu_nn_exec_compute(e, &err), KAFU_NN_RUNTIME_ERROR);
  assert_non_null(strstr(err.msg, "OpenCV"));
  const kafu_nn_tensor *out;
  assert_int_equal(kafu_nn_exec_get_output(e, 0, &out, &err), KAFU_NN_INVALID_ARGUMENT);
  kafu_nn_exec_free(e);
  kafu_nn_model_unref(m);
}

/* ---- onnx_pb ------------------------------------------------------------------------------ */

static void test_onnx_tensor_decode(void **s) {
  kafu_onnx_tensor t;
  char eb[256];
  /* dims [2,3] (packed), int32 via int32_data (packed varints, one negative) */
  static const uint8_t packed[] = {0x0a, 0x02, 0x02, 0x03, 0x10, 0x06, 0x2a, 0x0f, 0x01, 0x02, 0x03, 0x04,
                                   0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  assert_int_equal(kafu_onnx_tensor_decode(packed, sizeof packed, 1024, &t, eb, sizeof eb), 0);
  assert_int_equal(t.rank, 2);
  assert_int_equal(t.count, 6);
  int32_t v[6];
  memcpy(v, t.data, sizeof v);
  assert_int_equal(v[0], 1);
  assert_int_equal(v[5], -1);
  kafu_onnx_tensor_free(&t);
  /* too few values for the shape */
  assert_int_equal(kafu_onnx_tensor_decode(packed, sizeof packed - 10, 1024, &t, eb, sizeof eb), -1);
  /* raw_data of the wrong size */
  static const uint8_t raw[] = {0x08, 0x02, 0x10, 0x01, 0x4a, 0x04, 0, 0, 0x80, 0x3f};
  assert_int_equal(kafu_onnx_tensor_decode(raw, sizeof raw, 1024, &t, eb, sizeof eb), -1);
  assert_non_null(strstr(eb, "raw_data"));
  /* over the byte limit */
  static const uint8_t big[] = {0x08, 0x80, 0x80, 0x80, 0x80, 0x08, 0x10, 0x01};
  assert_int_equal(kafu_onnx_tensor_decode(big, sizeof big, 1024, &t, eb, sizeof eb), -1);
  assert_non_null(strstr(eb, "limit"));
  /* every truncation of a real file is refused or decoded, never read past */
  size_t len;
  uint8_t *b = slurp(NODE_DIR "/test_relu/test_data_set_0/input_0.pb", &len);
  for (size_t cut = 0; cut < len; cut++) {
    if (kafu_onnx_tensor_decode(b, cut, 1 << 20, &t, eb, sizeof eb) == 0) kafu_onnx_tensor_free(&t);
  }
  free(b);
}

static void test_onnx_model_info(void **s) {
  size_t len;
  uint8_t *b = slurp(NODE_DIR "/test_gemm_default_zero_bias/model.onnx", &len);
  kafu_onnx_info info;
  char eb[256];
  assert_int_equal(kafu_onnx_model_info(b, len, &info, eb, sizeof eb), 0);
  assert_int_equal(info.ninputs, 3);
  assert_string_equal(info.inputs[1].name, "b");
  assert_int_equal(info.inputs[1].elem_type, KAFU_ONNX_FLOAT);
  assert_int_equal(info.inputs[1].rank, 2);
  assert_int_equal(info.noutputs, 1);
  assert_int_equal(info.nops, 1);
  assert_string_equal(info.ops[0], "Gemm");
  assert_true(info.opset > 0);
  kafu_onnx_info_free(&info);
  for (size_t cut = 0; cut < len; cut++)
    if (kafu_onnx_model_info(b, cut, &info, eb, sizeof eb) == 0) kafu_onnx_info_free(&info);
  free(b);
}

static void test_half(void **s) {
  assert_true(kafu_nn_half_to_float(0x3c00) == 1.0f);
  assert_true(kafu_nn_half_to_float(0xc000) == -2.0f);
  assert_true(kafu_nn_half_to_float(0x0001) == ldexpf(1, -24));
  assert_true(isinf(kafu_nn_half_to_float(0x7c00)));
  assert_true(isnan(kafu_nn_half_to_float(0x7e00)));
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaNs */
    assert_int_equal(kafu_nn_float_to_half(kafu_nn_half_to_float((uint16_t)h)), h);
  }
  assert_int_equal(kafu_nn_float_to_half(1.0f + ldexpf(1, -11)), 0x3c00); /* tie to even */
  assert_int_equal(kafu_nn_float_to_half(70000.0f), 0x7c00);
}

/* ---- image_to_tensor ------------------------------------------------------------------------ */

static void check_golden(const char *png, const char *golden_prefix, uint32_t w, uint32_t h) {
  char rel[256];
  snprintf(rel, sizeof rel, "tests/data/nn/%s", png);
  char *p = src_path(rel);
  size_t len;
  uint8_t *file = slurp(p, &len);
  free(p);
  snprintf(rel, sizeof rel, "tests/data/nn/%s_%ux%u.f32", golden_prefix, w, h);
  p = src_path(rel);
  size_t glen;
  uint8_t *golden = slurp(p, &glen);
  free(p);
  assert_int_equal(glen, (size_t)w * h * 3 * 4);
  float *out = malloc(glen);
  kafu_err err;
  if (kafu_nn_image_to_tensor(file, len, h, w, out, &err)) fail_msg("%s: %s", png, err.msg);
  if (memcmp(out, golden, glen) != 0) {
    const float *g = (const float *)golden;
    for (size_t i = 0; i < glen / 4; i++)
      if (out[i] != g[i])
        fail_msg("%s -> %ux%u: element %zu is %.9g, golden %.9g", png, w, h, i, out[i], g[i]);
  }
  free(out);
  free(golden);
  free(file);
}

static void test_image_goldens(void **s) {
  static const uint32_t sizes[][2] = {{16, 12}, {50, 40}, {37, 29}, {37, 10}, {1, 1}};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    check_golden("rgb.png", "rgb", sizes[i][0], sizes[i][1]);
    check_golden("rgba.png", "rgb", sizes[i][0], sizes[i][1]); /* alpha is dropped, not composed */
    check_golden("gray.png", "gray", sizes[i][0], sizes[i][1]);
  }
}

static uint8_t *encode_jpeg(const uint8_t *rgb, uint32_t w, uint32_t h, unsigned long *len) {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr jerr;
  c.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&c);
  unsigned char *buf = NULL;
  jpeg_mem_dest(&c, &buf, len);
  c.image_width = w, c.image_height = h, c.input_components = 3, c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < h) {
    JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return buf;
}

static void test_image_jpeg(void **s) {
  uint32_t w = 64, h = 48;
  uint8_t *rgb = malloc((size_t)w * h * 3);
  for (uint32_t i = 0; i < w * h; i++)
    rgb[i * 3] = (uint8_t)(i % w * 4), rgb[i * 3 + 1] = (uint8_t)(i / w * 5), rgb[i * 3 + 2] = 128;
  unsigned long len = 0;
  uint8_t *jpg = encode_jpeg(rgb, w, h, &len);
  uint8_t *dec;
  uint32_t dw, dh;
  kafu_err err;
  assert_int_equal(kafu_nn_image_decode_rgb(jpg, len, &dec, &dw, &dh, &err), 0);
  assert_int_equal(dw, w);
  assert_int_equal(dh, h);
  for (size_t i = 0; i < (size_t)w * h * 3; i++)
    if (abs(dec[i] - rgb[i]) > 12) fail_msg("JPEG round trip: byte %zu is %d, was %d", i, dec[i], rgb[i]);
  /* decode + resize == resize of the decoded pixels */
  float *a = malloc(224 * 224 * 3 * 4), *b = malloc(224 * 224 * 3 * 4);
  assert_int_equal(kafu_nn_image_to_tensor(jpg, len, 224, 224, a, &err), 0);
  assert_int_equal(kafu_nn_rgb_to_tensor(dec, dw, dh, 224, 224, b, &err), 0);
  assert_memory_equal(a, b, 224 * 224 * 3 * 4);
  /* truncations are refused or decoded (libjpeg pads a truncated scan), never a crash */
  for (unsigned long cut = 0; cut < len; cut += 7) kafu_nn_image_to_tensor(jpg, cut, 16, 16, a, &err);
  assert_int_equal(kafu_nn_image_to_tensor(jpg, 100, 16, 16, a, &err), KAFU_NN_INVALID_ENCODING);
  assert_non_null(strstr(err.msg, "JPEG"));
  free(a), free(b), free(dec), free(rgb), free(jpg);
}

static void test_image_bad(void **s) {
  float out[48];
  kafu_err err;
  assert_int_equal(kafu_nn_image_to_tensor((const uint8_t *)"GIF89a....", 10, 4, 4, out, &err),
                   KAFU_NN_INVALID_ENCODING);
  assert_non_null(strstr(err.msg, "not a JPEG or PNG"));
  char *p = src_path("tests/data/nn/rgb.png");
  size_t len;
  uint8_t *png = slurp(p, &len);
  free(p);
  assert_int_equal(kafu_nn_image_to_tensor(png, len, 0, 4, out, &err), KAFU_NN_INVALID_ARGUMENT);
  assert_int_equal(kafu_nn_image_to_tensor(png, len, 100000, 100000, out, &err), KAFU_NN_TOO_LARGE);
  for (size_t cut = 0; cut < len; cut++) {
    int st = kafu_nn_image_to_tensor(png, cut, 4, 4, out, &err);
    assert_int_not_equal(st, KAFU_NN_OK);
  }
  png[len / 2] ^= 0x55; /* CRC mismatch inside IDAT */
  assert_int_equal(kafu_nn_image_to_tensor(png, len, 4, 4, out, &err), KAFU_NN_INVALID_ENCODING);
  assert_non_null(strstr(err.msg, "PNG"));
  /* a PNG header claiming 2^30 x 2^30 pixels */
  static const uint8_t huge[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0,    0,    0,
                                 13,   'I', 'H', 'D', 'R',  0x40, 0,    0,    0,    0x40, 0,
                                 0,    0,   8,   2,   0,    0,    0,    0x5d, 0x2d, 0x7c, 0x95};
  assert_int_not_equal(kafu_nn_image_to_tensor(huge, sizeof huge, 4, 4, out, &err), KAFU_NN_OK);
  free(png);
}

/* ---- the wasi-nn host state across a migration ------------------------------------- */

static void test_host_save_restore(void **s) {
  size_t len;
  uint8_t *bytes = slurp(example_model(), &len);
  kafu_nn_named named[] = {{"shapes", example_model()}};
  kafu_nn_host_opts o = {.node = "edge", .models = named, .nmodels = 1};
  kafu_nn_host *h, *h2;
  kafu_err err;
  assert_int_equal(kafu_nn_host_new(&o, &h, &err), 0);
  const uint8_t *b[] = {bytes};
  size_t sz[] = {len};
  uint32_t g0, g1, c0, c1;
  assert_int_equal(kafu_nn_host_load(h, b, sz, 1, KAFU_NN_ENC_ONNX, KAFU_NN_TARGET_CPU, &g0, &err), 0);
  assert_int_equal(kafu_nn_host_load_by_name(h, "shapes", 6, &g1, &err), 0);
  assert_int_equal(kafu_nn_host_init_exec(h, g0, &c0, &err), 0);
  assert_int_equal(kafu_nn_host_init_exec(h, g1, &c1, &err), 0);
  /* one model, cached by digest: both graphs share it */
  assert_ptr_equal(kafu_nn_host_graph_model(h, 0, NULL), kafu_nn_host_graph_model(h, 1, NULL));
  static float x[3 * 224 * 224];
  for (size_t i = 0; i < sizeof x / 4; i++) x[i] = (float)(i % 17) / 17.0f;
  kafu_nn_tensor t = {
      .type = KAFU_NN_FP32, .rank = 4, .dims = {1, 3, 224, 224}, .data = (uint8_t *)x, .len = sizeof x};
  assert_int_equal(kafu_nn_exec_set_input(kafu_nn_host_exec(h, c1, &err), 0, &t, &err), 0);
  kafu_buf st = {0};
  assert_int_equal(kafu_nn_host_save(h, &st, &err), 0);
  /* restore on "cloud": same handles, the input came along */
  o.node = "cloud";
  assert_int_equal(kafu_nn_host_new(&o, &h2, &err), 0);
  assert_int_equal(kafu_nn_host_restore(h2, st.data, st.len, &err), 0);
  assert_int_equal(kafu_nn_host_graph_count(h2), 2);
  assert_int_equal(kafu_nn_host_exec_count(h2), 2);
  kafu_nn_exec *e2 = kafu_nn_host_exec(h2, c1, &err);
  assert_non_null(e2);
  assert_memory_equal(kafu_nn_exec_input(e2, 0)->data, x, sizeof x);
  assert_null(kafu_nn_exec_input(kafu_nn_host_exec(h2, c0, &err), 0));
  assert_int_equal(kafu_nn_exec_compute(e2, &err), 0);
  assert_null(kafu_nn_host_exec(h2, 2, &err));
  assert_int_equal(kafu_nn_host_restore(h2, st.data, st.len, &err), KAFU_NN_INVALID_ARGUMENT);
  kafu_nn_host_free(h2);
  /* every truncation and some corruptions are refused, leaving an empty host */
  for (size_t cut = 0; cut < st.len; cut += 1 + (cut > 200 ? 4099 : 0)) {
    assert_int_equal(kafu_nn_host_new(&o, &h2, &err), 0);
    int rc = kafu_nn_host_restore(h2, st.data, cut, &err);
    if (rc == KAFU_NN_OK) fail_msg("a wasi-nn state cut to %zu of %zu bytes was accepted", cut, st.len);
    assert_int_equal(kafu_nn_host_graph_count(h2), 0);
    kafu_nn_host_free(h2);
  }
  /* a node without the named model: not_found naming model and node */
  kafu_nn_host_opts bare = {.node = "cloud"};
  assert_int_equal(kafu_nn_host_new(&bare, &h2, &err), 0);
  assert_int_equal(kafu_nn_host_restore(h2, st.data, st.len, &err), KAFU_NN_NOT_FOUND);
  assert_non_null(strstr(err.msg, "model 'shapes' is not on node 'cloud'"));
  assert_int_equal(kafu_nn_host_graph_count(h2), 0);
  kafu_nn_host_free(h2);
  /* a model this node never saw (digest unknown): not_found naming it */
  uint8_t *bad = malloc(st.len);
  memcpy(bad, st.data, st.len);
  bad[4 + 4 + 8] ^= 0xff; /* first byte of graph 0's sha256 */
  assert_int_equal(kafu_nn_host_new(&o, &h2, &err), 0);
  assert_int_equal(kafu_nn_host_restore(h2, bad, st.len, &err), KAFU_NN_NOT_FOUND);
  assert_non_null(strstr(err.msg, "does not carry it"));
  kafu_nn_host_free(h2);
  free(bad);
  kafu_buf_free(&st);
  kafu_nn_host_free(h);
  free(bytes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node_goldens),
      cmocka_unit_test(test_output_types),
      cmocka_unit_test(test_example_model),
      cmocka_unit_test(test_bad_models),
      cmocka_unit_test(test_external_data_refused),
      cmocka_unit_test(test_unsupported_operator),
      cmocka_unit_test(test_unused_outputs_only),
      cmocka_unit_test(test_cumsum),
      cmocka_unit_test(test_bad_tensors),
      cmocka_unit_test(test_backend_runtime_error),
      cmocka_unit_test(test_onnx_tensor_decode),
      cmocka_unit_test(test_onnx_model_info),
      cmocka_unit_test(test_half),
      cmocka_unit_test(test_image_goldens),
      cmocka_unit_test(test_image_jpeg),
      cmocka_unit_test(test_image_bad),
      cmocka_unit_test(test_host_save_restore),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

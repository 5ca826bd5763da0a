/*
 * nn.c — models and execution contexts for wasi-nn (see include/kafu/nn.h).
 *
 * Everything a guest hands us is checked here, against the graph's declared
 * inputs (read by onnx_pb.c) and the limits, before the OpenCV shim sees it.
 * The backend computes in float32: inputs are converted to float on the way
 * in, outputs to the graph's declared output type on the way out.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv_shim.h"
#include "kafu/nn.h"
#include "nn_internal.h"
#include "onnx_pb.h"

struct kafu_nn_model {
  atomic_int refs;
  uint32_t encoding, target;
  uint8_t *bytes;
  size_t len;
  uint8_t sha[KAFU_SHA256_LEN];
  char sha_hex[2 * KAFU_SHA256_LEN + 1];
  kafu_onnx_info info;
  char *ops; /* "Conv,Relu" */
  kafu_nn_limits lim;
  kafu_cv_net *net;
  pthread_mutex_t lock; /* one forward at a time per network */
};

typedef struct owned_tensor {
  bool set;
  kafu_nn_tensor t; /* t.data points at buf */
  uint8_t *buf;
} owned_tensor;

struct kafu_nn_exec {
  kafu_nn_model *m;
  owned_tensor *in, *out; /* ninputs / noutputs entries */
  bool computed;
};

/* ---- names ------------------------------------------------------------------ */

const char *kafu_nn_status_name(int s) {
  static const char *n[] = {"success",  "invalid_argument", "invalid_encoding",      "missing_memory",
                            "busy",     "runtime_error",    "unsupported_operation", "too_large",
                            "not_found"};
  return s >= 0 && s < (int)(sizeof n / sizeof *n) ? n[s] : "unknown_error";
}

const char *kafu_nn_type_name(uint32_t t) {
  static const char *n[] = {"fp16", "fp32", "fp64", "u8", "i32", "i64"};
  return t < sizeof n / sizeof *n ? n[t] : NULL;
}

size_t kafu_nn_type_size(uint32_t t) {
  static const size_t s[] = {2, 4, 8, 1, 4, 8};
  return t < sizeof s / sizeof *s ? s[t] : 0;
}

const char *kafu_nn_encoding_name(uint32_t e) {
  static const char *n[] = {"openvino",       "onnx", "tensorflow", "pytorch",
                            "tensorflowlite", "ggml", "autodetect"};
  static _Thread_local char buf[32];
  if (e < sizeof n / sizeof *n) return n[e];
  snprintf(buf, sizeof buf, "encoding %u", e);
  return buf;
}

const char *kafu_nn_target_name(uint32_t t) {
  static const char *n[] = {"cpu", "gpu", "tpu"};
  static _Thread_local char buf[32];
  if (t < sizeof n / sizeof *n) return n[t];
  snprintf(buf, sizeof buf, "target %u", t);
  return buf;
}

void kafu_nn_limits_default(kafu_nn_limits *l) {
  l->max_model_bytes = 512ull << 20;
  l->max_rank = 8;
  l->max_tensor_bytes = 256ull << 20;
}

int kafu_nn_status_code(int status) {
  switch (status) {
    case KAFU_NN_OK:
      return 0;
    case KAFU_NN_UNSUPPORTED:
      return KAFU_EUNSUP;
    case KAFU_NN_INVALID_ENCODING:
      return KAFU_EFORMAT;
    case KAFU_NN_MISSING_MEMORY:
    case KAFU_NN_TOO_LARGE:
      return KAFU_ENOMEM;
    case KAFU_NN_NOT_FOUND:
      return KAFU_ENOENT;
    case KAFU_NN_RUNTIME_ERROR:
      return KAFU_EIO;
    default:
      return KAFU_EINVAL;
  }
}

/* ---- the backend plug-in -------------------------------------------------------- */

/* cv_shim.cpp is built as libkafu_nn_opencv.so and loaded on first use, so a
 * kafu process that never loads a model never starts OpenCV. Looked for at
 * $KAFU_NN_BACKEND, <exe>/../lib/kafu/ (install and build tree), then the
 * build tree's absolute path. */
typedef struct cv_api {
  int (*load_onnx)(const uint8_t *, size_t, kafu_cv_net **, char *, size_t);
  int (*forward)(kafu_cv_net *, size_t, const char *const *, const kafu_cv_blob *, size_t,
                 const char *const *, kafu_cv_blob *, char *, size_t);
  void (*free)(kafu_cv_net *);
  const char *(*version)(void);
} cv_api;

static pthread_once_t g_cv_once = PTHREAD_ONCE_INIT;
static cv_api g_cv;
static bool g_cv_ok;
static char g_cv_err[768];

static void cv_open(void) {
  char exe_rel[4096];
  snprintf(exe_rel, sizeof exe_rel, "%s/../lib/kafu/libkafu_nn_opencv.so", kafu_exe_dir());
  const char *cands[] = {getenv("KAFU_NN_BACKEND"), exe_rel,
#ifdef KAFU_NN_BACKEND_BUILD_PATH
                         KAFU_NN_BACKEND_BUILD_PATH
#else
                         NULL
#endif
  };
  kafu_buf tried = {0};
  for (size_t i = 0; i < sizeof cands / sizeof *cands; i++) {
    if (!cands[i] || !cands[i][0]) continue;
    void *h = dlopen(cands[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      kafu_buf_printf(&tried, "%s%s", tried.len ? "; " : "", dlerror());
      continue;
    }
    g_cv.load_onnx =
        (int (*)(const uint8_t *, size_t, kafu_cv_net **, char *, size_t))dlsym(h, "kafu_cv_load_onnx");
    g_cv.forward = (int (*)(kafu_cv_net *, size_t, const char *const *, const kafu_cv_blob *, size_t,
                            const char *const *, kafu_cv_blob *, char *, size_t))dlsym(h, "kafu_cv_forward");
    g_cv.free = (void (*)(kafu_cv_net *))dlsym(h, "kafu_cv_free");
    g_cv.version = (const char *(*)(void))dlsym(h, "kafu_cv_version");
    if (g_cv.load_onnx && g_cv.forward && g_cv.free && g_cv.version) {
      g_cv_ok = true;
      kafu_debug("wasi-nn backend: %s (%s)", cands[i], g_cv.version());
      break;
    }
    kafu_buf_printf(&tried, "%s%s: not a kafu ONNX backend", tried.len ? "; " : "", cands[i]);
    dlclose(h);
  }
  if (!g_cv_ok)
    snprintf(g_cv_err, sizeof g_cv_err, "the ONNX backend libkafu_nn_opencv.so could not be loaded (%s)",
             tried.len ? kafu_buf_cstr(&tried) : "no candidate path");
  kafu_buf_free(&tried);
}

static const cv_api *cv(void) {
  pthread_once(&g_cv_once, cv_open);
  return g_cv_ok ? &g_cv : NULL;
}

/* ---- half precision ------------------------------------------------------------ */

float kafu_nn_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man) { /* subnormal: normalise */
    int e = -1;
    do {
      man <<= 1;
      e++;
    } while (!(man & 0x400));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
  } else {
    bits = sign;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t kafu_nn_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t exp = (x >> 23) & 0xff, man = x & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000;
    int shift = 14 - e;
    uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into the exponent: correct */
  return (uint16_t)(sign | half);
}

/* ---- models --------------------------------------------------------------------- */

/* How many outputs OpenCV's layer for an ONNX operator computes, where that is
 * not 1. A model that uses more outputs of a node is refused before OpenCV sees
 * it: the layer behind Identity, Dropout, Cast, a one-input Sum, ... copies
 * input i to output i for every output and so reads past its inputs (a heap
 * over-read that crashed `kafu run` on the Dropout-mask node tests), and other
 * layers leave an output they do not compute as uninitialised memory. */
static uint32_t backend_outputs(const char *op) {
  static const struct {
    const char *op;
    uint32_t n;
  } multi[] = {{"Split", UINT32_MAX}, {"LSTM", 3}, {"GRU", 2}, {"MaxPool", 2}};
  for (size_t i = 0; i < sizeof multi / sizeof *multi; i++)
    if (strcmp(op, multi[i].op) == 0) return multi[i].n;
  return 1;
}

/* KAFU_NN_OK, or a status + err when the backend cannot run the graph safely */
static int check_graph(const kafu_onnx_info *info, kafu_err *err) {
  if (info->ops_overflow)
    return NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "the graph uses more than %d operator types",
                   KAFU_ONNX_MAX_OPTYPES);
  for (size_t i = 0; i < info->nops; i++) {
    uint32_t n = backend_outputs(info->ops[i]);
    if (info->op_outputs[i] > n)
      return NN_FAIL(err, KAFU_NN_UNSUPPORTED,
                     "the graph uses %s (%s), but the ONNX backend computes only %u output%s of %s",
                     info->op_use[i], info->ops[i], n, n == 1 ? "" : "s", info->ops[i]);
  }
  return KAFU_NN_OK;
}

static const char *dims_str(char *buf, size_t n, uint32_t rank, const uint32_t *d32, const int64_t *d64) {
  size_t k = 0;
  k += (size_t)snprintf(buf + k, n - k, "[");
  for (uint32_t i = 0; i < rank && k < n; i++) {
    long long v = d32 ? (long long)d32[i] : (long long)d64[i];
    if (v < 0)
      k += (size_t)snprintf(buf + k, n - k, "%s?", i ? "," : "");
    else
      k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", v);
  }
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

int kafu_nn_model_load(uint32_t encoding, uint32_t target, const uint8_t *bytes, size_t len,
                       const kafu_nn_limits *lim, kafu_nn_model **out, kafu_err *err) {
  *out = NULL;
  kafu_nn_limits L;
  if (lim)
    L = *lim;
  else
    kafu_nn_limits_default(&L);
  if (L.max_rank > KAFU_NN_MAX_RANK) L.max_rank = KAFU_NN_MAX_RANK;
  if (encoding != KAFU_NN_ENC_ONNX)
    return NN_FAIL(err, encoding <= KAFU_NN_ENC_AUTODETECT ? KAFU_NN_UNSUPPORTED : KAFU_NN_INVALID_ARGUMENT,
                   "graph encoding '%s' is not supported (this node runs onnx only)",
                   kafu_nn_encoding_name(encoding));
  if (target != KAFU_NN_TARGET_CPU)
    return NN_FAIL(err, target <= KAFU_NN_TARGET_TPU ? KAFU_NN_UNSUPPORTED : KAFU_NN_INVALID_ARGUMENT,
                   "execution target '%s' is not supported (this node runs on cpu only)",
                   kafu_nn_target_name(target));
  if (!bytes || len == 0) return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "empty model");
  if (len > L.max_model_bytes)
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "model of %zu bytes is over the limit of %llu bytes", len,
                   (unsigned long long)L.max_model_bytes);

  kafu_nn_model *m = calloc(1, sizeof *m);
  if (!m) return NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
  char eb[512] = "";
  if (kafu_onnx_model_info(bytes, len, &m->info, eb, sizeof eb)) {
    free(m);
    return NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "%s", eb);
  }
  int st = KAFU_NN_OK;
  kafu_buf ops = {0};
  for (size_t i = 0; i < m->info.nops; i++) kafu_buf_printf(&ops, "%s%s", i ? "," : "", m->info.ops[i]);
  m->ops = ops.data ? kafu_buf_cstr(&ops) : strdup("");
  if (m->info.external_data) {
    st = NN_FAIL(err, KAFU_NN_INVALID_ENCODING,
                 "the model refers to external data files, which are never opened: embed the weights");
    goto fail;
  }
  if ((st = check_graph(&m->info, err)) != KAFU_NN_OK) goto fail;
  if (!m->ops || !(m->bytes = malloc(len))) {
    st = NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
    goto fail;
  }
  memcpy(m->bytes, bytes, len);
  m->len = len;
  if (!cv()) {
    st = NN_FAIL(err, KAFU_NN_RUNTIME_ERROR, "%s", g_cv_err);
    goto fail;
  }
  st = cv()->load_onnx(bytes, len, &m->net, eb, sizeof eb);
  if (st != KAFU_NN_OK) {
    st = NN_FAIL(err, st, "%s (operators: %s)", eb, m->ops);
    goto fail;
  }
  atomic_init(&m->refs, 1);
  m->encoding = encoding;
  m->target = target;
  m->lim = L;
  kafu_sha256(bytes, len, m->sha);
  kafu_hex(m->sha, KAFU_SHA256_LEN, m->sha_hex);
  pthread_mutex_init(&m->lock, NULL);
  *out = m;
  return KAFU_NN_OK;
fail:
  kafu_onnx_info_free(&m->info);
  free(m->ops);
  free(m->bytes);
  free(m);
  return st;
}

kafu_nn_model *kafu_nn_model_ref(kafu_nn_model *m) {
  if (m) atomic_fetch_add(&m->refs, 1);
  return m;
}

int kafu_nn_model_refs(const kafu_nn_model *m) { return atomic_load(&((kafu_nn_model *)m)->refs); }

void kafu_nn_model_unref(kafu_nn_model *m) {
  if (!m || atomic_fetch_sub(&m->refs, 1) != 1) return;
  if (m->net) cv()->free(m->net);
  kafu_onnx_info_free(&m->info);
  pthread_mutex_destroy(&m->lock);
  free(m->ops);
  free(m->bytes);
  free(m);
}

uint32_t kafu_nn_model_encoding(const kafu_nn_model *m) { return m->encoding; }
uint32_t kafu_nn_model_target(const kafu_nn_model *m) { return m->target; }
const uint8_t *kafu_nn_model_sha256(const kafu_nn_model *m) { return m->sha; }
const char *kafu_nn_model_sha256_hex(const kafu_nn_model *m) { return m->sha_hex; }
size_t kafu_nn_model_size(const kafu_nn_model *m) { return m->len; }
const uint8_t *kafu_nn_model_bytes(const kafu_nn_model *m) { return m->bytes; }
size_t kafu_nn_model_input_count(const kafu_nn_model *m) { return m->info.ninputs; }
size_t kafu_nn_model_output_count(const kafu_nn_model *m) { return m->info.noutputs; }
const char *kafu_nn_model_ops(const kafu_nn_model *m) { return m->ops; }

static void fill_io(const kafu_onnx_value *v, kafu_nn_io *o) {
  o->name = v->name;
  o->onnx_type = v->elem_type;
  o->has_shape = v->has_shape;
  o->rank = v->rank;
  o->dims = v->dims;
}

bool kafu_nn_model_input(const kafu_nn_model *m, size_t i, kafu_nn_io *out) {
  if (i >= m->info.ninputs) return false;
  fill_io(&m->info.inputs[i], out);
  return true;
}

bool kafu_nn_model_output(const kafu_nn_model *m, size_t i, kafu_nn_io *out) {
  if (i >= m->info.noutputs) return false;
  fill_io(&m->info.outputs[i], out);
  return true;
}

/* ---- execution contexts ----------------------------------------------------------- */

int kafu_nn_exec_new(kafu_nn_model *m, kafu_nn_exec **out, kafu_err *err) {
  *out = NULL;
  kafu_nn_exec *e = calloc(1, sizeof *e);
  if (e) e->in = calloc(m->info.ninputs + 1, sizeof *e->in);
  if (e) e->out = calloc(m->info.noutputs + 1, sizeof *e->out);
  if (!e || !e->in || !e->out) {
    if (e) free(e->in), free(e->out);
    free(e);
    return NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
  }
  e->m = kafu_nn_model_ref(m);
  *out = e;
  return KAFU_NN_OK;
}

static void owned_clear(owned_tensor *o) {
  free(o->buf);
  memset(o, 0, sizeof *o);
}

void kafu_nn_exec_free(kafu_nn_exec *e) {
  if (!e) return;
  for (size_t i = 0; i < e->m->info.ninputs; i++) owned_clear(&e->in[i]);
  for (size_t i = 0; i < e->m->info.noutputs; i++) owned_clear(&e->out[i]);
  free(e->in);
  free(e->out);
  kafu_nn_model_unref(e->m);
  free(e);
}

kafu_nn_model *kafu_nn_exec_model(const kafu_nn_exec *e) { return e->m; }

/* The wasi-nn tensor type that carries an ONNX element type; -1 when none does. */
static int wasi_type_for(int32_t onnx) {
  switch (onnx) {
    case KAFU_ONNX_FLOAT:
      return KAFU_NN_FP32;
    case KAFU_ONNX_FLOAT16:
      return KAFU_NN_FP16;
    case KAFU_ONNX_DOUBLE:
      return KAFU_NN_FP64;
    case KAFU_ONNX_UINT8:
    case KAFU_ONNX_INT8:
    case KAFU_ONNX_BOOL:
      return KAFU_NN_U8;
    case KAFU_ONNX_INT32:
      return KAFU_NN_I32;
    case KAFU_ONNX_INT64:
      return KAFU_NN_I64;
    default:
      return -1;
  }
}

int kafu_nn_exec_set_input(kafu_nn_exec *e, uint32_t index, const kafu_nn_tensor *t, kafu_err *err) {
  const kafu_onnx_info *info = &e->m->info;
  if (index >= info->ninputs)
    return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "input index %u out of range: the graph has %zu input%s",
                   index, info->ninputs, info->ninputs == 1 ? "" : "s");
  const kafu_onnx_value *decl = &info->inputs[index];
  size_t esz = kafu_nn_type_size(t->type);
  if (!esz)
    return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "input '%s': unknown tensor type %u", decl->name, t->type);
  if (t->rank > e->m->lim.max_rank)
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "input '%s': rank %u is over the limit of %u", decl->name, t->rank,
                   e->m->lim.max_rank);
  uint64_t count = 1;
  for (uint32_t i = 0; i < t->rank; i++) {
    if (t->dims[i] && count > UINT64_MAX / t->dims[i])
      return NN_FAIL(err, KAFU_NN_TOO_LARGE, "input '%s': dimensions overflow", decl->name);
    count *= t->dims[i];
  }
  char a[256], b[256];
  if (count > e->m->lim.max_tensor_bytes / esz)
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "input '%s': %s %s tensor is over the limit of %llu bytes",
                   decl->name, dims_str(a, sizeof a, t->rank, t->dims, NULL), kafu_nn_type_name(t->type),
                   (unsigned long long)e->m->lim.max_tensor_bytes);
  if (t->len != count * esz)
    return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "input '%s': %zu data bytes, but a %s %s tensor has %llu",
                   decl->name, t->len, dims_str(a, sizeof a, t->rank, t->dims, NULL),
                   kafu_nn_type_name(t->type), (unsigned long long)(count * esz));
  if (decl->elem_type) {
    int want = wasi_type_for(decl->elem_type);
    if (want < 0)
      return NN_FAIL(err, KAFU_NN_UNSUPPORTED, "input '%s' is %s, which no wasi-nn tensor type carries",
                     decl->name, kafu_onnx_type_name(decl->elem_type));
    if ((uint32_t)want != t->type)
      return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "input '%s' is %s (wasi-nn %s), got a %s tensor",
                     decl->name, kafu_onnx_type_name(decl->elem_type), kafu_nn_type_name((uint32_t)want),
                     kafu_nn_type_name(t->type));
  }
  if (decl->has_shape) {
    bool scalar_as_1 = decl->rank == 0 && t->rank == 1 && t->dims[0] == 1; /* wasi-nn writes scalars as [1] */
    bool ok = scalar_as_1 || decl->rank == t->rank;
    for (uint32_t i = 0; ok && !scalar_as_1 && i < t->rank; i++)
      if (decl->dims[i] >= 0 && (uint64_t)decl->dims[i] != t->dims[i]) ok = false;
    if (!ok)
      return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "input '%s' has shape %s, got %s", decl->name,
                     dims_str(a, sizeof a, decl->rank, NULL, decl->dims),
                     dims_str(b, sizeof b, t->rank, t->dims, NULL));
  }
  uint8_t *copy = malloc(t->len ? t->len : 1);
  if (!copy)
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "input '%s': out of memory for %zu bytes", decl->name, t->len);
  if (t->len) memcpy(copy, t->data, t->len);
  owned_tensor *o = &e->in[index];
  owned_clear(o);
  o->set = true;
  o->buf = copy;
  o->t = *t;
  o->t.data = copy;
  return KAFU_NN_OK;
}

const kafu_nn_tensor *kafu_nn_exec_input(const kafu_nn_exec *e, uint32_t index) {
  if (index >= e->m->info.ninputs || !e->in[index].set) return NULL;
  return &e->in[index].t;
}

static float elem_to_float(const uint8_t *p, uint32_t type, int32_t onnx) {
  switch (type) {
    case KAFU_NN_FP16: {
      uint16_t h;
      memcpy(&h, p, 2);
      return kafu_nn_half_to_float(h);
    }
    case KAFU_NN_FP32: {
      float f;
      memcpy(&f, p, 4);
      return f;
    }
    case KAFU_NN_FP64: {
      double d;
      memcpy(&d, p, 8);
      return (float)d;
    }
    case KAFU_NN_U8:
      return onnx == KAFU_ONNX_INT8 ? (float)(int8_t)*p : (float)*p;
    case KAFU_NN_I32: {
      int32_t v;
      memcpy(&v, p, 4);
      return (float)v;
    }
    default: {
      int64_t v;
      memcpy(&v, p, 8);
      return (float)v;
    }
  }
}

static double clampd(double v, double lo, double hi) { return v != v ? 0 : v < lo ? lo : v > hi ? hi : v; }

/* The wasi-nn type an output of this declared ONNX type is returned as. */
static uint32_t out_type_for(int32_t onnx) {
  int t = wasi_type_for(onnx);
  return t < 0 ? KAFU_NN_FP32 : (uint32_t)t;
}

/* Integers truncate toward zero, as ONNX Cast and integer Div do. */
static void float_to_elem(float f, uint8_t *p, uint32_t type, int32_t onnx) {
  switch (type) {
    case KAFU_NN_FP16: {
      uint16_t h = kafu_nn_float_to_half(f);
      memcpy(p, &h, 2);
      break;
    }
    case KAFU_NN_FP32:
      memcpy(p, &f, 4);
      break;
    case KAFU_NN_FP64: {
      double d = f;
      memcpy(p, &d, 8);
      break;
    }
    case KAFU_NN_U8:
      if (onnx == KAFU_ONNX_BOOL)
        *p = f != 0;
      else if (onnx == KAFU_ONNX_INT8)
        *p = (uint8_t)(int8_t)clampd(trunc(f), -128, 127);
      else
        *p = (uint8_t)clampd(trunc(f), 0, 255);
      break;
    case KAFU_NN_I32: {
      int32_t v = (int32_t)clampd(trunc(f), -2147483648.0, 2147483647.0);
      memcpy(p, &v, 4);
      break;
    }
    default: {
      int64_t v = (int64_t)clampd(trunc(f), -9.2233720368547758e18, 9.2233720368547748e18);
      memcpy(p, &v, 8);
      break;
    }
  }
}

int kafu_nn_exec_compute(kafu_nn_exec *e, kafu_err *err) {
  const kafu_onnx_info *info = &e->m->info;
  for (size_t i = 0; i < info->ninputs; i++)
    if (!e->in[i].set)
      return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "input #%zu '%s' was not set before compute", i,
                     info->inputs[i].name);
  if (info->noutputs == 0) return NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "the graph has no outputs");
  size_t nin = info->ninputs, nout = info->noutputs;
  kafu_cv_blob *ins = calloc(nin + 1, sizeof *ins), *outs = calloc(nout, sizeof *outs);
  const char **in_names = calloc(nin + 1, sizeof *in_names), **out_names = calloc(nout, sizeof *out_names);
  int st = KAFU_NN_OK;
  if (!ins || !outs || !in_names || !out_names) {
    st = NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < nin; i++) {
    const kafu_nn_tensor *t = &e->in[i].t;
    size_t esz = kafu_nn_type_size(t->type), count = t->len / esz;
    in_names[i] = info->inputs[i].name;
    ins[i].rank = t->rank;
    for (uint32_t d = 0; d < t->rank; d++) {
      if (t->dims[d] > INT32_MAX) {
        st =
            NN_FAIL(err, KAFU_NN_TOO_LARGE, "input '%s': dimension %u is too large", in_names[i], t->dims[d]);
        goto done;
      }
      ins[i].dims[d] = (int)t->dims[d];
    }
    ins[i].count = count;
    ins[i].data = malloc(count ? count * sizeof(float) : sizeof(float));
    if (!ins[i].data) {
      st = NN_FAIL(err, KAFU_NN_TOO_LARGE, "out of memory converting input '%s'", in_names[i]);
      goto done;
    }
    for (size_t k = 0; k < count; k++)
      ins[i].data[k] = elem_to_float(t->data + k * esz, t->type, info->inputs[i].elem_type);
  }
  for (size_t i = 0; i < nout; i++) out_names[i] = info->outputs[i].name;
  char msg[768] = "";
  pthread_mutex_lock(&e->m->lock);
  st = cv()->forward(e->m->net, nin, in_names, ins, nout, out_names, outs, msg, sizeof msg);
  pthread_mutex_unlock(&e->m->lock);
  if (st != KAFU_NN_OK) {
    st = NN_FAIL(err, st, "compute failed: %s", msg);
    goto done;
  }
  for (size_t i = 0; i < nout; i++) owned_clear(&e->out[i]);
  e->computed = false;
  for (size_t i = 0; i < nout; i++) {
    const kafu_onnx_value *decl = &info->outputs[i];
    owned_tensor *o = &e->out[i];
    uint32_t type = out_type_for(decl->elem_type);
    size_t esz = kafu_nn_type_size(type);
    if (outs[i].count > e->m->lim.max_tensor_bytes / esz) {
      st = NN_FAIL(err, KAFU_NN_TOO_LARGE, "output '%s' of %zu elements is over the limit of %llu bytes",
                   decl->name, outs[i].count, (unsigned long long)e->m->lim.max_tensor_bytes);
      goto done;
    }
    o->buf = malloc(outs[i].count ? outs[i].count * esz : 1);
    if (!o->buf) {
      st = NN_FAIL(err, KAFU_NN_TOO_LARGE, "out of memory for output '%s'", decl->name);
      goto done;
    }
    for (size_t k = 0; k < outs[i].count; k++)
      float_to_elem(outs[i].data[k], o->buf + k * esz, type, decl->elem_type);
    o->set = true;
    o->t.type = type;
    o->t.data = o->buf;
    o->t.len = outs[i].count * esz;
    /* the declared shape when it is static and holds the same elements (OpenCV
     * stores rank-1 tensors as [n,1]), else what the backend produced */
    uint64_t decl_count = 1;
    bool static_shape = decl->has_shape && decl->rank <= KAFU_NN_MAX_RANK;
    for (uint32_t d = 0; static_shape && d < decl->rank; d++) {
      if (decl->dims[d] < 0 || decl->dims[d] > UINT32_MAX)
        static_shape = false;
      else
        decl_count *= (uint64_t)decl->dims[d];
    }
    if (static_shape && decl_count == outs[i].count) {
      o->t.rank = decl->rank;
      for (uint32_t d = 0; d < decl->rank; d++) o->t.dims[d] = (uint32_t)decl->dims[d];
    } else {
      o->t.rank = outs[i].rank > KAFU_NN_MAX_RANK ? KAFU_NN_MAX_RANK : outs[i].rank;
      for (uint32_t d = 0; d < o->t.rank; d++) o->t.dims[d] = (uint32_t)outs[i].dims[d];
    }
  }
  e->computed = true;
done:
  if (st != KAFU_NN_OK)
    for (size_t i = 0; i < nout; i++) owned_clear(&e->out[i]);
  for (size_t i = 0; ins && i < nin; i++) free(ins[i].data);
  for (size_t i = 0; outs && i < nout; i++) free(outs[i].data);
  free(ins);
  free(outs);
  free(in_names);
  free(out_names);
  return st;
}

int kafu_nn_exec_get_output(const kafu_nn_exec *e, uint32_t index, const kafu_nn_tensor **out,
                            kafu_err *err) {
  *out = NULL;
  if (index >= e->m->info.noutputs)
    return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "output index %u out of range: the graph has %zu output%s",
                   index, e->m->info.noutputs, e->m->info.noutputs == 1 ? "" : "s");
  if (!e->computed || !e->out[index].set)
    return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "output '%s' is not available: compute has not succeeded",
                   e->m->info.outputs[index].name);
  *out = &e->out[index].t;
  return KAFU_NN_OK;
}

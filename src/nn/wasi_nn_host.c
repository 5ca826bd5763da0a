/*
 * wasi_nn_host.c — the wasi_ephemeral_nn and kafu_helper host modules.
 *
 * wasi_ephemeral_nn is the witx "preview1" wasi-nn API as the original Kafu's
 * guest headers (include/wasi_nn_backend.h) import it; every function returns
 * a wasi-nn error code (nn.h kafu_nn_status):
 *
 *   load(builders, nbuilders, encoding, target, *graph)
 *   load_by_name(name, name_len, *graph)
 *   load_by_name_with_config(name, name_len, config, config_len, *graph)
 *   init_execution_context(graph, *ctx)
 *   set_input(ctx, index, *tensor)
 *   compute(ctx)
 *   get_output(ctx, index, out, out_max, *out_size)
 *
 * Guest structures (wasm32, little endian): graph_builder {u32 buf, u32 size}
 * (8 bytes); tensor {u32 dims_buf, u32 dims_len, u8 type, 3 pad, u32 data_buf,
 * u32 data_len} (20 bytes), dims u32 each.
 *
 * Handles index the host's tables (kafu_nn_host); they stay valid for the
 * program's life and, through the snapshot, on every node it migrates to.
 * Models are shared through a process-wide cache keyed by their sha256, so a
 * model loaded again (by the same or another program, or rebuilt after a
 * migration) is imported by OpenCV once per node.
 *
 * kafu_helper.image_to_tensor(path, path_len, height, width, out, *nwritten)
 * reads the image through the WASI sandbox (kafu_wasi_read_guest_file).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kafu/hostmod.h"
#include "kafu/nn.h"
#include "nn_internal.h"

#define MAX_GRAPHS 4096
#define MAX_EXECS 16384
#define MAX_BUILDERS 16
#define MAX_NAME 4096
#define IMAGE_MAX_FILE (256u << 20)

/* ---- the process-wide model cache -------------------------------------------------- */

typedef struct cache_ent {
  kafu_nn_model *m; /* one reference held by the cache */
} cache_ent;

static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static cache_ent *g_cache;
static size_t g_ncache;
static uint64_t g_cache_bytes;
#define CACHE_BUDGET (2ull << 30) /* models no program uses are dropped past this */

/* The cached model with this digest (a new reference) or NULL. */
kafu_nn_model *kafu_nn_cache_get(const uint8_t sha[KAFU_SHA256_LEN]) {
  kafu_nn_model *m = NULL;
  pthread_mutex_lock(&g_cache_mu);
  for (size_t i = 0; i < g_ncache && !m; i++)
    if (memcmp(kafu_nn_model_sha256(g_cache[i].m), sha, KAFU_SHA256_LEN) == 0)
      m = kafu_nn_model_ref(g_cache[i].m);
  pthread_mutex_unlock(&g_cache_mu);
  return m;
}

/* Keep m (takes its own reference); drops models nobody uses while over budget. */
static void cache_put(kafu_nn_model *m) {
  pthread_mutex_lock(&g_cache_mu);
  bool have = false;
  for (size_t i = 0; i < g_ncache && !have; i++) have = g_cache[i].m == m;
  cache_ent *a = have ? NULL : realloc(g_cache, (g_ncache + 1) * sizeof *g_cache);
  if (a) {
    g_cache = a;
    g_cache[g_ncache++].m = kafu_nn_model_ref(m);
    g_cache_bytes += kafu_nn_model_size(m);
  }
  for (size_t i = 0; i < g_ncache && g_cache_bytes > CACHE_BUDGET;) {
    if (kafu_nn_model_refs(g_cache[i].m) == 1 && g_cache[i].m != m) {
      g_cache_bytes -= kafu_nn_model_size(g_cache[i].m);
      kafu_nn_model_unref(g_cache[i].m);
      g_cache[i] = g_cache[--g_ncache];
    } else {
      i++;
    }
  }
  pthread_mutex_unlock(&g_cache_mu);
}

int kafu_nn_cache_load(uint32_t encoding, uint32_t target, const uint8_t *bytes, size_t len,
                       const kafu_nn_limits *lim, kafu_nn_model **out, kafu_err *err) {
  *out = NULL;
  if (encoding == KAFU_NN_ENC_ONNX && target == KAFU_NN_TARGET_CPU && bytes && len &&
      (!lim || len <= lim->max_model_bytes)) {
    uint8_t sha[KAFU_SHA256_LEN];
    kafu_sha256(bytes, len, sha);
    if ((*out = kafu_nn_cache_get(sha))) return KAFU_NN_OK;
  }
  int st = kafu_nn_model_load(encoding, target, bytes, len, lim, out, err);
  if (st == KAFU_NN_OK) cache_put(*out);
  return st;
}

/* ---- host state ------------------------------------------------------------------- */

typedef struct nn_graph {
  kafu_nn_model *m;
  char *name; /* load_by_name: the model name (resolved on each node), else NULL */
} nn_graph;

typedef struct nn_ctx {
  uint32_t graph;
  kafu_nn_exec *e;
} nn_ctx;

struct kafu_nn_host {
  char node[128];
  kafu_nn_named *models;
  size_t nmodels;
  kafu_nn_limits lim;
  nn_graph *graphs;
  size_t ngraphs;
  nn_ctx *ctxs;
  size_t nctxs;
};

int kafu_nn_host_new(const kafu_nn_host_opts *o, kafu_nn_host **out, kafu_err *err) {
  *out = NULL;
  kafu_nn_host *h = calloc(1, sizeof *h);
  if (!h) return NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
  snprintf(h->node, sizeof h->node, "%s", o && o->node ? o->node : "");
  if (o && o->limits)
    h->lim = *o->limits;
  else
    kafu_nn_limits_default(&h->lim);
  if (o && o->nmodels) {
    h->models = calloc(o->nmodels, sizeof *h->models);
    if (!h->models) {
      free(h);
      return NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < o->nmodels; i++) {
      h->models[i].name = strdup(o->models[i].name);
      h->models[i].path = strdup(o->models[i].path);
      h->nmodels++;
      if (!h->models[i].name || !h->models[i].path) {
        kafu_nn_host_free(h);
        return NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
      }
    }
  }
  *out = h;
  return KAFU_NN_OK;
}

void kafu_nn_host_free(kafu_nn_host *h) {
  if (!h) return;
  for (size_t i = 0; i < h->nctxs; i++) kafu_nn_exec_free(h->ctxs[i].e);
  for (size_t i = 0; i < h->ngraphs; i++) {
    kafu_nn_model_unref(h->graphs[i].m);
    free(h->graphs[i].name);
  }
  for (size_t i = 0; i < h->nmodels; i++) {
    free((char *)h->models[i].name);
    free((char *)h->models[i].path);
  }
  free(h->models);
  free(h->graphs);
  free(h->ctxs);
  free(h);
}

size_t kafu_nn_host_graph_count(const kafu_nn_host *h) { return h->ngraphs; }
size_t kafu_nn_host_exec_count(const kafu_nn_host *h) { return h->nctxs; }

static const char *node_of(const kafu_nn_host *h) { return h->node[0] ? h->node : "this node"; }

/* Log a failed call the way every wasi-nn failure is reported (warn level). */
static int logged(const kafu_nn_host *h, const char *call, int st, const kafu_err *err) {
  if (st != KAFU_NN_OK)
    kafu_warn("wasi-nn %s on %s%s%s: %s: %s", call, h->node[0] ? "node '" : "", node_of(h),
              h->node[0] ? "'" : "", kafu_nn_status_name(st), err->msg);
  return st;
}

static int add_graph(kafu_nn_host *h, kafu_nn_model *m, const char *name, uint32_t *graph, kafu_err *err) {
  if (h->ngraphs >= MAX_GRAPHS) {
    kafu_nn_model_unref(m);
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "the program already holds %d graphs", MAX_GRAPHS);
  }
  nn_graph *a = realloc(h->graphs, (h->ngraphs + 1) * sizeof *a);
  char *nm = name ? strdup(name) : NULL;
  if (!a || (name && !nm)) {
    if (a) h->graphs = a;
    free(nm);
    kafu_nn_model_unref(m);
    return NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
  }
  h->graphs = a;
  h->graphs[h->ngraphs].m = m;
  h->graphs[h->ngraphs].name = nm;
  *graph = (uint32_t)h->ngraphs++;
  return KAFU_NN_OK;
}

int kafu_nn_host_load(kafu_nn_host *h, const uint8_t *const *builders, const size_t *sizes, size_t nbuilders,
                      uint32_t encoding, uint32_t target, uint32_t *graph, kafu_err *err) {
  int st;
  kafu_nn_model *m = NULL;
  if (encoding == KAFU_NN_ENC_ONNX && nbuilders != 1)
    st = NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "an onnx graph is one builder, got %zu", nbuilders);
  else
    st = kafu_nn_cache_load(encoding, target, nbuilders ? builders[0] : NULL, nbuilders ? sizes[0] : 0,
                            &h->lim, &m, err);
  if (st == KAFU_NN_OK) st = add_graph(h, m, NULL, graph, err);
  return logged(h, "load", st, err);
}

/* Load the named model of this node (not cached by name: by digest). */
static int load_named(kafu_nn_host *h, const char *name, kafu_nn_model **out, kafu_err *err) {
  *out = NULL;
  const kafu_nn_named *nm = NULL;
  for (size_t i = 0; i < h->nmodels && !nm; i++)
    if (strcmp(h->models[i].name, name) == 0) nm = &h->models[i];
  if (!nm) {
    kafu_buf names = {0};
    for (size_t i = 0; i < h->nmodels; i++)
      kafu_buf_printf(&names, "%s'%s'", i ? ", " : "", h->models[i].name);
    int st =
        NN_FAIL(err, KAFU_NN_NOT_FOUND, "model '%s' is not on %s%s%s (%s%s)", name,
                h->node[0] ? "node '" : "", node_of(h), h->node[0] ? "'" : "",
                h->nmodels ? "its models: " : "it has no named models; add nodes.<id>.models or --nn-preload",
                h->nmodels ? kafu_buf_cstr(&names) : "");
    kafu_buf_free(&names);
    return st;
  }
  struct stat st;
  if (stat(nm->path, &st) != 0)
    return NN_FAIL(err, KAFU_NN_NOT_FOUND, "model '%s' on %s: %s: %s", name, node_of(h), nm->path,
                   strerror(errno));
  if ((uint64_t)st.st_size > h->lim.max_model_bytes)
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "model '%s' (%s) has %lld bytes, over the limit of %llu", name,
                   nm->path, (long long)st.st_size, (unsigned long long)h->lim.max_model_bytes);
  uint8_t *bytes;
  size_t len;
  kafu_err e2;
  if (kafu_read_file(nm->path, &bytes, &len, &e2))
    return NN_FAIL(err, KAFU_NN_NOT_FOUND, "model '%s' on %s: %s", name, node_of(h), e2.msg);
  int rc = kafu_nn_cache_load(KAFU_NN_ENC_ONNX, KAFU_NN_TARGET_CPU, bytes, len, &h->lim, out, err);
  free(bytes);
  if (rc) kafu_err_prefix(err, "model '%s' (%s)", name, nm->path);
  return rc;
}

int kafu_nn_host_load_by_name(kafu_nn_host *h, const char *name, size_t name_len, uint32_t *graph,
                              kafu_err *err) {
  int st;
  if (name_len == 0 || name_len > MAX_NAME || memchr(name, 0, name_len)) {
    st = NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "bad model name (%zu bytes)", name_len);
  } else {
    char *nm = strndup(name, name_len);
    kafu_nn_model *m = NULL;
    st = nm ? load_named(h, nm, &m, err) : NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
    if (st == KAFU_NN_OK) st = add_graph(h, m, nm, graph, err);
    free(nm);
  }
  return logged(h, "load_by_name", st, err);
}

int kafu_nn_host_init_exec(kafu_nn_host *h, uint32_t graph, uint32_t *ctx, kafu_err *err) {
  int st = KAFU_NN_OK;
  if (graph >= h->ngraphs)
    st = NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "unknown graph handle %u (the program holds %zu)", graph,
                 h->ngraphs);
  else if (h->nctxs >= MAX_EXECS)
    st = NN_FAIL(err, KAFU_NN_TOO_LARGE, "the program already holds %d execution contexts", MAX_EXECS);
  kafu_nn_exec *e = NULL;
  if (st == KAFU_NN_OK) st = kafu_nn_exec_new(h->graphs[graph].m, &e, err);
  if (st == KAFU_NN_OK) {
    nn_ctx *a = realloc(h->ctxs, (h->nctxs + 1) * sizeof *a);
    if (!a) {
      kafu_nn_exec_free(e);
      st = NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
    } else {
      h->ctxs = a;
      h->ctxs[h->nctxs].graph = graph;
      h->ctxs[h->nctxs].e = e;
      *ctx = (uint32_t)h->nctxs++;
    }
  }
  return logged(h, "init_execution_context", st, err);
}

kafu_nn_exec *kafu_nn_host_exec(kafu_nn_host *h, uint32_t ctx, kafu_err *err) {
  if (ctx < h->nctxs) return h->ctxs[ctx].e;
  (void)NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "unknown execution context handle %u (the program holds %zu)",
                ctx, h->nctxs);
  return NULL;
}

/* ---- the wasi_ephemeral_nn handlers --------------------------------------------------- */

static uint32_t ld32(const kafu_mem *m, uint32_t p) {
  uint32_t v;
  memcpy(&v, m->base + p, 4);
  return v;
}

static void st32(const kafu_mem *m, uint32_t p, uint32_t v) { memcpy(m->base + p, &v, 4); }

static uint32_t bad_mem(kafu_nn_host *h, const char *call, const char *what) {
  kafu_err err;
  return (uint32_t)logged(h, call,
                          NN_FAIL(&err, KAFU_NN_INVALID_ARGUMENT, "%s is outside guest memory", what), &err);
}

static uint32_t nn_load(void *ctx, const kafu_mem *m, uint32_t arr, uint32_t n, uint32_t enc, uint32_t target,
                        uint32_t graph_out) {
  kafu_nn_host *h = ctx;
  kafu_err err;
  if (n > MAX_BUILDERS)
    return (uint32_t)logged(h, "load", NN_FAIL(&err, KAFU_NN_INVALID_ARGUMENT, "%u graph builders", n), &err);
  if (!kafu_mem_ok(m, arr, (uint64_t)n * 8)) return bad_mem(h, "load", "the graph builder array");
  if (!kafu_mem_ok(m, graph_out, 4)) return bad_mem(h, "load", "the graph result pointer");
  const uint8_t *bufs[MAX_BUILDERS];
  size_t sizes[MAX_BUILDERS];
  for (uint32_t i = 0; i < n; i++) {
    uint32_t p = ld32(m, arr + 8 * i), len = ld32(m, arr + 8 * i + 4);
    if (!kafu_mem_ok(m, p, len)) return bad_mem(h, "load", "a graph builder's bytes");
    bufs[i] = m->base + p;
    sizes[i] = len;
  }
  uint32_t g;
  int st = kafu_nn_host_load(h, bufs, sizes, n, enc, target, &g, &err);
  if (st == KAFU_NN_OK) st32(m, graph_out, g);
  return (uint32_t)st;
}

static uint32_t nn_load_by_name(void *ctx, const kafu_mem *m, uint32_t name, uint32_t len,
                                uint32_t graph_out) {
  kafu_nn_host *h = ctx;
  kafu_err err;
  if (!kafu_mem_ok(m, name, len)) return bad_mem(h, "load_by_name", "the model name");
  if (!kafu_mem_ok(m, graph_out, 4)) return bad_mem(h, "load_by_name", "the graph result pointer");
  uint32_t g;
  int st = kafu_nn_host_load_by_name(h, (const char *)m->base + name, len, &g, &err);
  if (st == KAFU_NN_OK) st32(m, graph_out, g);
  return (uint32_t)st;
}

static uint32_t nn_load_by_name_with_config(void *ctx, const kafu_mem *m, uint32_t name, uint32_t len,
                                            uint32_t config, uint32_t config_len, uint32_t graph_out) {
  kafu_nn_host *h = ctx;
  if (!kafu_mem_ok(m, config, config_len)) return bad_mem(h, "load_by_name_with_config", "the config");
  if (config_len)
    kafu_info("wasi-nn load_by_name_with_config: the %u-byte config is not used by the onnx backend",
              config_len);
  return nn_load_by_name(ctx, m, name, len, graph_out);
}

static uint32_t nn_init_execution_context(void *ctx, const kafu_mem *m, uint32_t graph, uint32_t ctx_out) {
  kafu_nn_host *h = ctx;
  kafu_err err;
  if (!kafu_mem_ok(m, ctx_out, 4)) return bad_mem(h, "init_execution_context", "the context result pointer");
  uint32_t c;
  int st = kafu_nn_host_init_exec(h, graph, &c, &err);
  if (st == KAFU_NN_OK) st32(m, ctx_out, c);
  return (uint32_t)st;
}

static uint32_t nn_set_input(void *ctx, const kafu_mem *m, uint32_t c, uint32_t index, uint32_t tensor) {
  kafu_nn_host *h = ctx;
  kafu_err err;
  kafu_nn_exec *e = kafu_nn_host_exec(h, c, &err);
  if (!e) return (uint32_t)logged(h, "set_input", KAFU_NN_INVALID_ARGUMENT, &err);
  if (!kafu_mem_ok(m, tensor, 20)) return bad_mem(h, "set_input", "the tensor");
  uint32_t dims = ld32(m, tensor), rank = ld32(m, tensor + 4), data = ld32(m, tensor + 12),
           len = ld32(m, tensor + 16);
  kafu_nn_tensor t = {.type = m->base[tensor + 8], .rank = rank, .len = len};
  if (rank > KAFU_NN_MAX_RANK)
    return (uint32_t)logged(
        h, "set_input",
        NN_FAIL(&err, KAFU_NN_TOO_LARGE, "tensor rank %u is over the limit of %u", rank, KAFU_NN_MAX_RANK),
        &err);
  if (!kafu_mem_ok(m, dims, (uint64_t)rank * 4)) return bad_mem(h, "set_input", "the tensor dimensions");
  if (!kafu_mem_ok(m, data, len)) return bad_mem(h, "set_input", "the tensor data");
  for (uint32_t i = 0; i < rank; i++) t.dims[i] = ld32(m, dims + 4 * i);
  t.data = m->base + data;
  return (uint32_t)logged(h, "set_input", kafu_nn_exec_set_input(e, index, &t, &err), &err);
}

static uint32_t nn_compute(void *ctx, const kafu_mem *m, uint32_t c) {
  kafu_nn_host *h = ctx;
  kafu_err err;
  kafu_nn_exec *e = kafu_nn_host_exec(h, c, &err);
  if (!e) return (uint32_t)logged(h, "compute", KAFU_NN_INVALID_ARGUMENT, &err);
  return (uint32_t)logged(h, "compute", kafu_nn_exec_compute(e, &err), &err);
}

static uint32_t nn_get_output(void *ctx, const kafu_mem *m, uint32_t c, uint32_t index, uint32_t out,
                              uint32_t out_max, uint32_t size_out) {
  kafu_nn_host *h = ctx;
  kafu_err err;
  kafu_nn_exec *e = kafu_nn_host_exec(h, c, &err);
  if (!e) return (uint32_t)logged(h, "get_output", KAFU_NN_INVALID_ARGUMENT, &err);
  if (!kafu_mem_ok(m, out, out_max)) return bad_mem(h, "get_output", "the output buffer");
  if (!kafu_mem_ok(m, size_out, 4)) return bad_mem(h, "get_output", "the output size pointer");
  const kafu_nn_tensor *t;
  int st = kafu_nn_exec_get_output(e, index, &t, &err);
  if (st == KAFU_NN_OK && t->len > out_max)
    st = NN_FAIL(&err, KAFU_NN_TOO_LARGE, "output %u has %zu bytes, the buffer %u", index, t->len, out_max);
  if (st != KAFU_NN_OK) return (uint32_t)logged(h, "get_output", st, &err);
  memcpy(m->base + out, t->data, t->len);
  st32(m, size_out, (uint32_t)t->len);
  return KAFU_NN_OK;
}

static const kafu_hostfn g_nn_fns[] = {
    {"load", "iiiii", "i", (const void *)nn_load, 0},
    {"load_by_name", "iii", "i", (const void *)nn_load_by_name, 0},
    {"load_by_name_with_config", "iiiii", "i", (const void *)nn_load_by_name_with_config, 0},
    {"init_execution_context", "ii", "i", (const void *)nn_init_execution_context, 0},
    {"set_input", "iii", "i", (const void *)nn_set_input, 0},
    {"compute", "i", "i", (const void *)nn_compute, 0},
    {"get_output", "iiiii", "i", (const void *)nn_get_output, 0},
};

const kafu_hostmod kafu_hostmod_wasi_nn = {
    .name = "wasi_ephemeral_nn",
    .summary = "wasi-nn (witx preview1): ONNX inference on OpenCV",
    .ctx = KAFU_HOSTCTX_BOUND,
    .ctx_required = true,
    .fns = g_nn_fns,
    .nfns = sizeof g_nn_fns / sizeof *g_nn_fns,
};

/* ---- kafu_helper ------------------------------------------------------------------------ */

static uint32_t helper_image_to_tensor(void *ctx, const kafu_mem *m, uint32_t path, uint32_t path_len,
                                       uint32_t height, uint32_t width, uint32_t out, uint32_t nwritten_out) {
  kafu_wasi *w = ctx;
  kafu_err err;
  int st = KAFU_NN_OK;
  uint64_t bytes = (uint64_t)height * width * 3 * sizeof(float);
  if (!kafu_mem_ok(m, path, path_len) || !kafu_mem_ok(m, nwritten_out, 4))
    st = NN_FAIL(&err, KAFU_NN_INVALID_ARGUMENT, "the path or nwritten pointer is outside guest memory");
  else if (!height || !width || (uint64_t)height * width > KAFU_NN_IMAGE_MAX_PIXELS)
    st = NN_FAIL(&err, height && width ? KAFU_NN_TOO_LARGE : KAFU_NN_INVALID_ARGUMENT, "bad size %ux%u",
                 width, height);
  else if (!kafu_mem_ok(m, out, bytes))
    st = NN_FAIL(&err, KAFU_NN_INVALID_ARGUMENT, "the %llu-byte output buffer is outside guest memory",
                 (unsigned long long)bytes);
  else if (!w)
    st = NN_FAIL(&err, KAFU_NN_NOT_FOUND, "the program has no WASI context, so no files");
  char shown[256] = "";
  if (st == KAFU_NN_OK) {
    snprintf(shown, sizeof shown, "%.*s", (int)(path_len < 200 ? path_len : 200),
             (const char *)m->base + path);
    uint8_t *file;
    size_t len;
    uint32_t e =
        kafu_wasi_read_guest_file(w, (const char *)m->base + path, path_len, IMAGE_MAX_FILE, &file, &len);
    if (e) {
      st = NN_FAIL(&err,
                   e == KAFU_WASI_EFBIG         ? KAFU_NN_TOO_LARGE
                   : e == KAFU_WASI_ENOTCAPABLE ? KAFU_NN_INVALID_ARGUMENT
                                                : KAFU_NN_NOT_FOUND,
                   "'%s': %s", shown,
                   e == KAFU_WASI_ENOENT        ? "no such file in the program's directories"
                   : e == KAFU_WASI_ENOTCAPABLE ? "outside the program's preopened directories"
                   : e == KAFU_WASI_EFBIG       ? "file too large"
                                                : "cannot be read");
    } else {
      float *tmp = malloc(bytes);
      st = tmp ? kafu_nn_image_to_tensor(file, len, height, width, tmp, &err)
               : NN_FAIL(&err, KAFU_NN_TOO_LARGE, "out of memory");
      if (st == KAFU_NN_OK) {
        memcpy(m->base + out, tmp, bytes);
        st32(m, nwritten_out, (uint32_t)bytes);
      } else {
        kafu_err_prefix(&err, "'%s'", shown);
      }
      free(tmp);
      free(file);
    }
  }
  if (st != KAFU_NN_OK) {
    kafu_warn("kafu_helper image_to_tensor: %s: %s", kafu_nn_status_name(st), err.msg);
    if (kafu_mem_ok(m, nwritten_out, 4)) st32(m, nwritten_out, 0);
  }
  return (uint32_t)st;
}

static const kafu_hostfn g_helper_fns[] = {
    {"image_to_tensor", "iiiiii", "i", (const void *)helper_image_to_tensor, 0},
};

const kafu_hostmod kafu_hostmod_kafu_helper = {
    .name = "kafu_helper",
    .summary = "Kafu's helpers: image_to_tensor (JPEG/PNG -> ImageNet-normalised NCHW float32)",
    .ctx = KAFU_HOSTCTX_WASI,
    .ctx_required = false,
    .fns = g_helper_fns,
    .nfns = sizeof g_helper_fns / sizeof *g_helper_fns,
};

/* ---- migration: save and restore ------------------------------------------------------ */

#define STATE_MAGIC "KNN1"

const kafu_nn_model *kafu_nn_host_graph_model(const kafu_nn_host *h, size_t i, bool *by_name) {
  if (i >= h->ngraphs) return NULL;
  if (by_name) *by_name = h->graphs[i].name != NULL;
  return h->graphs[i].m;
}

static void put_u32(kafu_buf *b, uint32_t v) { kafu_buf_append(b, &v, 4); }
static void put_u64(kafu_buf *b, uint64_t v) { kafu_buf_append(b, &v, 8); }

int kafu_nn_host_save(const kafu_nn_host *h, kafu_buf *out, kafu_err *err) {
  size_t start = out->len;
  int bad = kafu_buf_append(out, STATE_MAGIC, 4);
  put_u32(out, (uint32_t)h->ngraphs);
  for (size_t i = 0; i < h->ngraphs; i++) {
    const nn_graph *g = &h->graphs[i];
    put_u32(out, kafu_nn_model_encoding(g->m));
    put_u32(out, kafu_nn_model_target(g->m));
    kafu_buf_append(out, kafu_nn_model_sha256(g->m), KAFU_SHA256_LEN);
    put_u64(out, kafu_nn_model_size(g->m));
    size_t nl = g->name ? strlen(g->name) : 0;
    put_u32(out, (uint32_t)nl);
    if (nl) kafu_buf_append(out, g->name, nl);
  }
  put_u32(out, (uint32_t)h->nctxs);
  for (size_t i = 0; i < h->nctxs; i++) {
    const nn_ctx *c = &h->ctxs[i];
    put_u32(out, c->graph);
    uint32_t nin = (uint32_t)kafu_nn_model_input_count(kafu_nn_exec_model(c->e)), nset = 0;
    for (uint32_t k = 0; k < nin; k++) nset += kafu_nn_exec_input(c->e, k) != NULL;
    put_u32(out, nset);
    for (uint32_t k = 0; k < nin; k++) {
      const kafu_nn_tensor *t = kafu_nn_exec_input(c->e, k);
      if (!t) continue;
      put_u32(out, k);
      put_u32(out, t->type);
      put_u32(out, t->rank);
      for (uint32_t d = 0; d < t->rank; d++) put_u32(out, t->dims[d]);
      put_u64(out, t->len);
      kafu_buf_append(out, t->data, t->len);
    }
  }
  if (bad || !out->data || out->len < start + 12)
    return NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory");
  return KAFU_NN_OK;
}

typedef struct rdr {
  const uint8_t *p;
  size_t n, pos;
  bool bad;
} rdr;

static uint32_t get_u32(rdr *r) {
  uint32_t v = 0;
  if (r->n - r->pos < 4) r->bad = true;
  if (r->bad) return 0;
  memcpy(&v, r->p + r->pos, 4);
  r->pos += 4;
  return v;
}

static uint64_t get_u64(rdr *r) {
  uint64_t v = 0;
  if (r->n - r->pos < 8) r->bad = true;
  if (r->bad) return 0;
  memcpy(&v, r->p + r->pos, 8);
  r->pos += 8;
  return v;
}

static const uint8_t *get_bytes(rdr *r, uint64_t n) {
  if (r->bad || n > r->n - r->pos) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = r->p + r->pos;
  r->pos += (size_t)n;
  return p;
}

int kafu_nn_host_restore(kafu_nn_host *h, const uint8_t *state, size_t len, kafu_err *err) {
  if (h->ngraphs || h->nctxs) return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "wasi-nn state restored twice");
  rdr r = {state, len, 0, false};
  const uint8_t *magic = get_bytes(&r, 4);
  if (!magic || memcmp(magic, STATE_MAGIC, 4) != 0)
    return NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "wasi-nn state: bad magic");
  uint32_t ng = get_u32(&r);
  if (ng > MAX_GRAPHS) return NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "wasi-nn state: %u graphs", ng);
  int st = KAFU_NN_OK;
  for (uint32_t i = 0; i < ng && st == KAFU_NN_OK; i++) {
    uint32_t enc = get_u32(&r), target = get_u32(&r);
    const uint8_t *sha = get_bytes(&r, KAFU_SHA256_LEN);
    uint64_t size = get_u64(&r);
    uint32_t nl = get_u32(&r);
    const uint8_t *name = nl <= MAX_NAME ? get_bytes(&r, nl) : NULL;
    if (r.bad || (nl && (!name || memchr(name, 0, nl))) || nl > MAX_NAME) {
      st = NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "wasi-nn state: graph %u is malformed", i);
      break;
    }
    uint32_t handle;
    if (nl) {
      kafu_err e2;
      st = kafu_nn_host_load_by_name(h, (const char *)name, nl, &handle, &e2);
      if (st != KAFU_NN_OK) st = NN_FAIL(err, st, "graph %u: %s", i, e2.msg);
    } else {
      kafu_nn_model *m = kafu_nn_cache_get(sha);
      if (!m) {
        char hex[2 * KAFU_SHA256_LEN + 1];
        kafu_hex(sha, KAFU_SHA256_LEN, hex);
        st = NN_FAIL(
            err, KAFU_NN_NOT_FOUND,
            "graph %u: model sha256 %.16s... (%llu bytes, %s) is not on %s%s%s and the snapshot does not "
            "carry it",
            i, hex, (unsigned long long)size, kafu_nn_encoding_name(enc), h->node[0] ? "node '" : "",
            node_of(h), h->node[0] ? "'" : "");
      } else if (kafu_nn_model_encoding(m) != enc || kafu_nn_model_target(m) != target) {
        kafu_nn_model_unref(m);
        st = NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "graph %u: encoding/target differ from the cached model",
                     i);
      } else {
        st = add_graph(h, m, NULL, &handle, err);
      }
    }
    if (st == KAFU_NN_OK && handle != i)
      st = NN_FAIL(err, KAFU_NN_RUNTIME_ERROR, "graph %u rebuilt as handle %u", i, handle);
  }
  uint32_t nc = st == KAFU_NN_OK ? get_u32(&r) : 0;
  if (st == KAFU_NN_OK && (r.bad || nc > MAX_EXECS))
    st = NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "wasi-nn state: bad context count");
  for (uint32_t i = 0; i < nc && st == KAFU_NN_OK; i++) {
    uint32_t graph = get_u32(&r), nset = get_u32(&r), c;
    if (r.bad || graph >= h->ngraphs) {
      st = NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "wasi-nn state: context %u is malformed", i);
      break;
    }
    kafu_err e2;
    st = kafu_nn_host_init_exec(h, graph, &c, &e2);
    if (st != KAFU_NN_OK) {
      st = NN_FAIL(err, st, "context %u: %s", i, e2.msg);
      break;
    }
    for (uint32_t k = 0; k < nset && !r.bad; k++) {
      kafu_nn_tensor t = {0};
      uint32_t index = get_u32(&r);
      t.type = get_u32(&r);
      t.rank = get_u32(&r);
      if (t.rank > KAFU_NN_MAX_RANK) r.bad = true;
      for (uint32_t d = 0; d < t.rank && !r.bad; d++) t.dims[d] = get_u32(&r);
      t.len = (size_t)get_u64(&r);
      t.data = get_bytes(&r, t.len);
      if (r.bad) break;
      if (kafu_nn_exec_set_input(h->ctxs[c].e, index, &t, &e2) != KAFU_NN_OK)
        kafu_warn("wasi-nn: context %u: input %u set before the migration is dropped on %s: %s", i, index,
                  node_of(h), e2.msg);
    }
    if (r.bad)
      st = NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "wasi-nn state: inputs of context %u are malformed", i);
  }
  if (st == KAFU_NN_OK && r.pos != r.n)
    st = NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "wasi-nn state: %zu trailing bytes", r.n - r.pos);
  if (st != KAFU_NN_OK) {
    /* back to empty */
    for (size_t i = 0; i < h->nctxs; i++) kafu_nn_exec_free(h->ctxs[i].e);
    for (size_t i = 0; i < h->ngraphs; i++) {
      kafu_nn_model_unref(h->graphs[i].m);
      free(h->graphs[i].name);
    }
    h->nctxs = h->ngraphs = 0;
  }
  return st;
}

/*
 * nodetests.c — run the ONNX backend node tests (Debian's libonnx-testdata,
 * /usr/share/libonnx-testdata/data/node/<test>/{model.onnx,test_data_set_N/})
 * through an inference API and compare every output with the expected one.
 *
 * One source, two builds:
 *   native  (tests/CMakeLists.txt: nn_nodetests) calls kafu_nn directly;
 *   guest   (kafu cc -DNODETEST_WASI_NN) calls the wasi_ephemeral_nn imports,
 *           so the same tests go through the wasi-nn host of `kafu run`.
 *
 * usage: nodetests [-v] [--fork] DATA_DIR [NAME_PREFIX...]
 * Prints one line per failing test (name, stage, reason) and ends with
 * "nodetests: P of N pass (F fail)" (exit 0 whatever the counts: the caller
 * decides what is expected). --fork (native only) runs each test in a child
 * so a backend crash is reported as such instead of ending the run.
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx_pb.h"

#ifdef NODETEST_WASI_NN
#include "wasi_nn_backend.h"
#include "wasi_nn_types.h"
#else
#include <sys/wait.h>
#include <unistd.h>

#include "kafu/nn.h"
#endif

#if defined(__GNUC__) && !defined(__clang__)
/* messages and paths are cut at their buffer size on purpose (a cut path only fails to open) */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define MAX_IO 16
#define MAX_TENSOR_BYTES (64u << 20)

static int verbose;

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf) break;
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    uint8_t *nb = realloc(buf, cap * 2);
    if (!nb) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* wasi-nn tensor type for an ONNX element type, -1 when none */
static int wasi_type(int32_t onnx) {
  switch (onnx) {
    case KAFU_ONNX_FLOAT:
      return 1;
    case KAFU_ONNX_FLOAT16:
      return 0;
    case KAFU_ONNX_DOUBLE:
      return 2;
    case KAFU_ONNX_UINT8:
    case KAFU_ONNX_INT8:
    case KAFU_ONNX_BOOL:
      return 3;
    case KAFU_ONNX_INT32:
      return 4;
    case KAFU_ONNX_INT64:
      return 5;
    default:
      return -1;
  }
}

/* ---- the backend: a graph, one context, inputs, compute, outputs ------------- */

typedef struct be {
#ifdef NODETEST_WASI_NN
  graph g;
  graph_execution_context ctx;
#else
  kafu_nn_model *m;
  kafu_nn_exec *e;
#endif
  char msg[512];
} be;

static int be_load(be *b, const uint8_t *model, size_t len) {
#ifdef NODETEST_WASI_NN
  graph_builder gb = {(uint8_t *)model, (uint32_t)len};
  wasi_nn_error r = wasi_nn_load(&gb, 1, onnx, cpu, &b->g);
  if (r == success) r = wasi_nn_init_execution_context(b->g, &b->ctx);
  if (r != success) snprintf(b->msg, sizeof b->msg, "wasi-nn error %d", (int)r);
  return r == success ? 0 : -1;
#else
  kafu_err err;
  if (kafu_nn_model_load(KAFU_NN_ENC_ONNX, KAFU_NN_TARGET_CPU, model, len, NULL, &b->m, &err) ||
      kafu_nn_exec_new(b->m, &b->e, &err)) {
    snprintf(b->msg, sizeof b->msg, "%s", err.msg);
    return -1;
  }
  return 0;
#endif
}

static int be_set_input(be *b, uint32_t idx, int type, const kafu_onnx_tensor *t) {
  uint32_t dims[KAFU_ONNX_MAX_RANK];
  for (uint32_t i = 0; i < t->rank; i++) dims[i] = (uint32_t)t->dims[i];
#ifdef NODETEST_WASI_NN
  tensor in = {.dimensions = {dims, t->rank}, .type = (uint8_t)type, .data = {t->data, (uint32_t)t->nbytes}};
  wasi_nn_error r = wasi_nn_set_input(b->ctx, idx, &in);
  if (r != success) snprintf(b->msg, sizeof b->msg, "wasi-nn error %d", (int)r);
  return r == success ? 0 : -1;
#else
  kafu_nn_tensor in = {.type = (uint32_t)type, .rank = t->rank, .data = t->data, .len = t->nbytes};
  if (t->rank > KAFU_NN_MAX_RANK) return -1;
  memcpy(in.dims, dims, sizeof(uint32_t) * t->rank);
  kafu_err err;
  if (kafu_nn_exec_set_input(b->e, idx, &in, &err)) {
    snprintf(b->msg, sizeof b->msg, "%s", err.msg);
    return -1;
  }
  return 0;
#endif
}

static int be_compute(be *b) {
#ifdef NODETEST_WASI_NN
  wasi_nn_error r = wasi_nn_compute(b->ctx);
  if (r != success) snprintf(b->msg, sizeof b->msg, "wasi-nn error %d", (int)r);
  return r == success ? 0 : -1;
#else
  kafu_err err;
  if (kafu_nn_exec_compute(b->e, &err)) {
    snprintf(b->msg, sizeof b->msg, "%s", err.msg);
    return -1;
  }
  return 0;
#endif
}

/* copies output idx into buf (cap bytes); *len = its size */
static int be_get_output(be *b, uint32_t idx, uint8_t *buf, size_t cap, size_t *len) {
#ifdef NODETEST_WASI_NN
  uint32_t n = 0;
  wasi_nn_error r = wasi_nn_get_output(b->ctx, idx, buf, (uint32_t)cap, &n);
  if (r != success) snprintf(b->msg, sizeof b->msg, "wasi-nn error %d", (int)r);
  *len = n;
  return r == success ? 0 : -1;
#else
  kafu_err err;
  const kafu_nn_tensor *t;
  if (kafu_nn_exec_get_output(b->e, idx, &t, &err)) {
    snprintf(b->msg, sizeof b->msg, "%s", err.msg);
    return -1;
  }
  if (t->len > cap) {
    snprintf(b->msg, sizeof b->msg, "output of %zu bytes does not fit", t->len);
    return -1;
  }
  memcpy(buf, t->data, t->len);
  *len = t->len;
  return 0;
#endif
}

static void be_close(be *b) {
#ifndef NODETEST_WASI_NN
  kafu_nn_exec_free(b->e);
  kafu_nn_model_unref(b->m);
  b->e = NULL;
  b->m = NULL;
#else
  (void)b; /* witx preview1 wasi-nn has no way to drop a graph */
#endif
}

/* ---- comparison ------------------------------------------------------------------ */

static double elem(const uint8_t *p, int32_t t, size_t i) {
  switch (t) {
    case KAFU_ONNX_FLOAT: {
      float f;
      memcpy(&f, p + 4 * i, 4);
      return f;
    }
    case KAFU_ONNX_DOUBLE: {
      double d;
      memcpy(&d, p + 8 * i, 8);
      return d;
    }
    case KAFU_ONNX_FLOAT16: {
      uint16_t h;
      memcpy(&h, p + 2 * i, 2);
      int e = (h >> 10) & 0x1f, m = h & 0x3ff;
      double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
      return (h & 0x8000) ? -v : v;
    }
    case KAFU_ONNX_UINT8:
    case KAFU_ONNX_BOOL:
      return p[i];
    case KAFU_ONNX_INT8:
      return (int8_t)p[i];
    case KAFU_ONNX_INT32: {
      int32_t v;
      memcpy(&v, p + 4 * i, 4);
      return v;
    }
    default: {
      int64_t v;
      memcpy(&v, p + 8 * i, 8);
      return (double)v;
    }
  }
}

/* 0 equal within rtol 1e-3 / atol 1e-5 (the ONNX backend tests use rtol 1e-3) */
static int compare(const kafu_onnx_tensor *exp, const uint8_t *got, size_t got_len, char *msg,
                   size_t msglen) {
  if (got_len != exp->nbytes) {
    snprintf(msg, msglen, "output '%s': %zu bytes, expected %zu", exp->name, got_len, exp->nbytes);
    return -1;
  }
  for (size_t i = 0; i < exp->count; i++) {
    double e = elem(exp->data, exp->data_type, i), g = elem(got, exp->data_type, i);
    if (isnan(e) && isnan(g)) continue;
    if (isinf(e) && e == g) continue;
    if (!(fabs(g - e) <= 1e-5 + 1e-3 * fabs(e))) {
      snprintf(msg, msglen, "output '%s'[%zu] = %.6g, expected %.6g", exp->name, i, g, e);
      return -1;
    }
  }
  return 0;
}

/* ---- one test ------------------------------------------------------------------- */

/* 0 pass, -1 fail (reason printed) */
static int run_test(const char *dir, const char *name) {
  char path[4096], msg[600] = "";
  const char *stage = "load";
  int rc = -1;
  be b;
  memset(&b, 0, sizeof b);
  snprintf(path, sizeof path, "%s/%s/model.onnx", dir, name);
  size_t mlen;
  uint8_t *model = slurp(path, &mlen);
  uint8_t *outbuf = malloc(MAX_TENSOR_BYTES);
  int sets = 0;
  if (!model || !outbuf) {
    snprintf(msg, sizeof msg, "cannot read %s", path);
    goto done;
  }
  if (be_load(&b, model, mlen)) {
    snprintf(msg, sizeof msg, "%s", b.msg);
    goto done;
  }
  for (int set = 0;; set++) {
    char sdir[4096];
    snprintf(sdir, sizeof sdir, "%s/%s/test_data_set_%d", dir, name, set);
    struct stat st;
    if (stat(sdir, &st) != 0) break;
    sets++;
    for (uint32_t k = 0; k < MAX_IO; k++) {
      snprintf(path, sizeof path, "%s/input_%u.pb", sdir, k);
      size_t len;
      uint8_t *buf = slurp(path, &len);
      if (!buf) break;
      kafu_onnx_tensor t;
      char eb[256];
      stage = "input";
      int bad = kafu_onnx_tensor_decode(buf, len, MAX_TENSOR_BYTES, &t, eb, sizeof eb);
      free(buf);
      if (bad) {
        snprintf(msg, sizeof msg, "input_%u.pb: %s", k, eb);
        goto done;
      }
      int wt = wasi_type(t.data_type);
      if (wt < 0) {
        snprintf(msg, sizeof msg, "input '%s' is %s, which no wasi-nn tensor type carries", t.name,
                 kafu_onnx_type_name(t.data_type));
        kafu_onnx_tensor_free(&t);
        goto done;
      }
      bad = be_set_input(&b, k, wt, &t);
      kafu_onnx_tensor_free(&t);
      if (bad) {
        snprintf(msg, sizeof msg, "%s", b.msg);
        goto done;
      }
    }
    stage = "compute";
    if (be_compute(&b)) {
      snprintf(msg, sizeof msg, "%s", b.msg);
      goto done;
    }
    for (uint32_t k = 0; k < MAX_IO; k++) {
      snprintf(path, sizeof path, "%s/output_%u.pb", sdir, k);
      size_t len;
      uint8_t *buf = slurp(path, &len);
      if (!buf) break;
      kafu_onnx_tensor exp;
      char eb[256];
      stage = "output";
      int bad = kafu_onnx_tensor_decode(buf, len, MAX_TENSOR_BYTES, &exp, eb, sizeof eb);
      free(buf);
      if (bad) {
        snprintf(msg, sizeof msg, "output_%u.pb: %s", k, eb);
        goto done;
      }
      if (wasi_type(exp.data_type) < 0) {
        snprintf(msg, sizeof msg, "output '%s' is %s, which no wasi-nn tensor type carries", exp.name,
                 kafu_onnx_type_name(exp.data_type));
        kafu_onnx_tensor_free(&exp);
        goto done;
      }
      size_t got;
      bad = be_get_output(&b, k, outbuf, MAX_TENSOR_BYTES, &got);
      if (bad) {
        snprintf(msg, sizeof msg, "%s", b.msg);
        kafu_onnx_tensor_free(&exp);
        goto done;
      }
      stage = "compare";
      bad = compare(&exp, outbuf, got, msg, sizeof msg);
      kafu_onnx_tensor_free(&exp);
      if (bad) goto done;
    }
  }
  if (sets == 0) {
    snprintf(msg, sizeof msg, "no test_data_set_0");
    goto done;
  }
  rc = 0;
done:
  if (rc)
    printf("FAIL %s [%s] %s\n", name, stage, msg);
  else if (verbose)
    printf("ok   %s\n", name);
  fflush(stdout);
  be_close(&b);
  free(model);
  free(outbuf);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  int use_fork = 0, argi = 1;
  for (; argi < argc && argv[argi][0] == '-'; argi++) {
    if (strcmp(argv[argi], "-v") == 0)
      verbose = 1;
    else if (strcmp(argv[argi], "--fork") == 0)
      use_fork = 1;
    else {
      fprintf(stderr, "usage: nodetests [-v] [--fork] DATA_DIR [NAME_PREFIX...]\n");
      return 2;
    }
  }
  if (argi >= argc) {
    fprintf(stderr, "usage: nodetests [-v] [--fork] DATA_DIR [NAME_PREFIX...]\n");
    return 2;
  }
  const char *dir = argv[argi++];
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "nodetests: cannot open %s\n", dir);
    return 1;
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strncmp(de->d_name, "test_", 5) != 0) continue;
    int want = argi >= argc;
    for (int i = argi; i < argc && !want; i++) want = strncmp(de->d_name, argv[i], strlen(argv[i])) == 0;
    if (!want) continue;
    char **nn = realloc(names, (n + 1) * sizeof *names);
    if (!nn) return 1;
    names = nn;
    names[n++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  size_t pass = 0, fail = 0;
  for (size_t i = 0; i < n; i++) {
    int ok;
#ifndef NODETEST_WASI_NN
    if (use_fork) {
      fflush(stdout);
      pid_t pid = fork();
      if (pid == 0) _exit(run_test(dir, names[i]) == 0 ? 0 : 1);
      int st = 0;
      waitpid(pid, &st, 0);
      if (WIFSIGNALED(st)) printf("FAIL %s [crash] signal %d\n", names[i], WTERMSIG(st));
      ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    } else
#endif
      ok = run_test(dir, names[i]) == 0;
    if (ok)
      pass++;
    else
      fail++;
    free(names[i]);
  }
  free(names);
  (void)use_fork;
  printf("nodetests: %zu of %zu pass (%zu fail)\n", pass, pass + fail, fail);
  return 0;
}

/*
 * tunables.c — the KAFU_* environment variables, read once into one
 * structure (kafu_tunables, util.h; listed for users in docs/tunables.md).
 * Nothing else in the library calls getenv("KAFU_..."): a knob read on every
 * send costs a scan of the environment each time, and a knob read in one
 * place is a knob that can be documented in one place.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/util.h"

/* While the process copy is read (under g_mu), strings are copied and kept
 * here, so it does not point into an environment that may change later. */
static bool g_copying;
static char **g_owned;
static size_t g_nowned, g_capowned;

static const char *str(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) return NULL;
  if (!g_copying) return v;
  if (g_nowned == g_capowned) {
    size_t cap = g_capowned ? 2 * g_capowned : 32;
    char **o = realloc(g_owned, cap * sizeof *o);
    if (!o) return NULL;
    g_owned = o, g_capowned = cap;
  }
  char *c = strdup(v);
  if (c) g_owned[g_nowned++] = c;
  return c;
}

/* set, non-empty and not "0" */
static bool flag(const char *name) {
  const char *v = str(name);
  return v && strcmp(v, "0") != 0;
}

static uint64_t number(const char *name, uint64_t dflt, uint64_t max, kafu_buf *warn) {
  const char *v = str(name);
  if (!v) return dflt;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || end == v || *end || v[0] == '-' || x > max) {
    if (warn)
      kafu_buf_printf(warn, "%s='%s' is not a number from 0 to %llu; using the default %llu\n", name, v,
                      (unsigned long long)max, (unsigned long long)dflt);
    return dflt;
  }
  return x;
}

void kafu_tunables_read(kafu_tunables *t, kafu_buf *warn) {
  memset(t, 0, sizeof *t);
  t->log = str("KAFU_LOG");
  t->progress_ms = number("KAFU_PROGRESS_MS", UINT64_MAX, 86400000, warn);
  t->share_dir = str("KAFU_SHARE_DIR");
  t->include_dir = str("KAFU_INCLUDE_DIR");
  t->sdk_path = str("KAFU_SDK_PATH");
  t->cache_dir = str("KAFU_CACHE_DIR");

  t->clang = str("KAFU_CLANG");
  t->wasm_ld = str("KAFU_WASM_LD");
  t->wasi_sysroot = str("KAFU_WASI_SYSROOT");
  if (!t->wasi_sysroot) t->wasi_sysroot = "/usr";
  t->clang_rt_builtins = str("KAFU_CLANG_RT_BUILTINS");

  t->snapify_inprocess = flag("KAFU_SNAPIFY_INPROCESS");

  t->cc = str("KAFU_CC");
  t->wasm2c = str("KAFU_WASM2C");
  t->wasm_rt_include = str("KAFU_WASM_RT_INCLUDE");
  t->aot_cflags = str("KAFU_AOT_CFLAGS");
  if (str("KAFU_AOT_JOBS")) { /* set: at least 1, at most 32 (atoi-like, as before) */
    int j = atoi(str("KAFU_AOT_JOBS"));
    t->aot_jobs = j < 1 ? 1 : j > 32 ? 32 : j;
  }
  t->aot_keep = flag("KAFU_AOT_KEEP");
  t->no_addr2line = flag("KAFU_NO_ADDR2LINE");

  t->wasi_no_openat2 = flag("KAFU_WASI_NO_OPENAT2");

  t->dirty_tracking = str("KAFU_DIRTY_TRACKING");
  if (!t->dirty_tracking) t->dirty_tracking = "auto";
  const char *rel = str("KAFU_WP_RELEASE");
  t->wp_release_bulk = rel && !strcmp(rel, "bulk");
  t->wp_gap = (uint32_t)number("KAFU_WP_GAP", KAFU_TUNE_WP_GAP, UINT32_MAX, warn);
  t->wp_min = (uint32_t)number("KAFU_WP_MIN", KAFU_TUNE_WP_MIN, UINT32_MAX, warn);

  t->send_buffer_max = number("KAFU_SEND_BUFFER_MAX", KAFU_TUNE_SEND_BUFFER_MAX, 1ull << 40, warn);
  t->send_stream_rate = number("KAFU_SEND_STREAM_RATE", KAFU_TUNE_SEND_STREAM_RATE, 1ull << 40, warn);
  const char *bq = str("KAFU_BASELINE_QUERY");
  t->baseline_query = bq && bq[0] == '1';
  const char *ei = str("KAFU_ENGINE_INLINE");
  t->engine_inline = !(ei && !strcmp(ei, "0"));
  const char *ex = getenv("KAFU_HTTP_EXPECT"); /* set but empty = on, as before */
  t->http_expect = !ex ? -1 : ex[0] == '0' ? 0 : 1;

  t->binaryen_lib = str("KAFU_BINARYEN_LIB");
  t->wasm_rt_impl = str("KAFU_WASM_RT_IMPL");
  t->llvm_ar = str("KAFU_LLVM_AR");
  t->node = str("KAFU_NODE");
}

/* ---- the process's copy ------------------------------------------------------ */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static kafu_tunables g_t;
static bool g_loaded;
/* Read under the lock unless already loaded (or force); warnings are logged
 * after the lock is released, by the thread that read. */
static void load(bool force) {
  kafu_buf warn = {0};
  pthread_mutex_lock(&g_mu);
  if (force || !g_loaded) {
    size_t old = g_nowned; /* the previous copy's strings, freed once replaced */
    kafu_tunables t;
    g_copying = true;
    kafu_tunables_read(&t, &warn);
    g_copying = false;
    g_t = t;
    if (old) {
      for (size_t i = 0; i < old; i++) free(g_owned[i]);
      memmove(g_owned, g_owned + old, (g_nowned - old) * sizeof *g_owned);
      g_nowned -= old;
    }
    __atomic_store_n(&g_loaded, true, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&g_mu);
  if (warn.len) kafu_log_lines(NULL, KAFU_LOG_WARN, (const char *)warn.data, warn.len);
  kafu_buf_free(&warn);
}

const kafu_tunables *kafu_tunables_get(void) {
  if (!__atomic_load_n(&g_loaded, __ATOMIC_ACQUIRE)) load(false);
  return &g_t;
}

void kafu_tunables_reload(void) { load(true); }

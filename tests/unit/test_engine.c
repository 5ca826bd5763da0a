/* test_engine.c — unit tests for src/engine (the engine.h API on the wasm2c AOT
 * backend). Modules are built at test time from tests/programs/engine/ (.wat)
 * with wat2wasm (and wasm-opt --asyncify), then compiled for real by the
 * engine into a private cache directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kafu/engine.h"
#include "kafu/hostmod.h"
#include "kafu/util.h"
#include "kafu/wasi.h"

static char g_tmp[256];
static char g_cache[300];

static const char *src_dir(void) {
  const char *s = getenv("KAFU_SRC");
  return s && s[0] ? s : KAFU_SOURCE_DIR;
}

/* wat2wasm tests/programs/engine/<name>.wat [| wasm-opt asyncify] -> bytes */
static uint8_t *build_wat(const char *name, bool asyncify, size_t *len) {
  char cmd[2048], out[512];
  snprintf(out, sizeof out, "%s/%s%s.wasm", g_tmp, name, asyncify ? "-async" : "");
  snprintf(cmd, sizeof cmd, "wat2wasm --debug-names %s/tests/programs/engine/%s.wat -o %s/%s.wasm", src_dir(),
           name, g_tmp, name);
  assert_int_equal(system(cmd), 0);
  if (asyncify) {
    snprintf(cmd, sizeof cmd,
             "wasm-opt --enable-mutable-globals --asyncify --pass-arg=asyncify-imports@kafu.migration_point "
             "%s/%s.wasm -o %s",
             g_tmp, name, out);
    assert_int_equal(system(cmd), 0);
  }
  uint8_t *d;
  assert_int_equal(kafu_read_file(out, &d, len, NULL), 0);
  return d;
}

static kafu_engine_opts opts(const char *name) {
  kafu_engine_opts o = {.cache_dir = g_cache, .name = name, .progress = 0};
  return o;
}

static kafu_module *load_wat(const char *name, bool asyncify) {
  size_t len;
  uint8_t *d = build_wat(name, asyncify, &len);
  kafu_engine_opts o = opts(name);
  kafu_module *m = NULL;
  kafu_err err = {0};
  int rc = kafu_module_load(d, len, &o, &m, &err);
  if (rc) fprintf(stderr, "load %s: %s\n", name, err.msg);
  assert_int_equal(rc, 0);
  free(d);
  return m;
}

static kafu_module *g_api;

static int setup(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/kafu-test-engine-XXXXXX");
  if (!mkdtemp(g_tmp)) return -1;
  snprintf(g_cache, sizeof g_cache, "%s/cache", g_tmp);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  kafu_module_free(g_api);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
  return system(cmd) == 0 ? 0 : -1;
}

static kafu_module *api(void) {
  if (!g_api) g_api = load_wat("api", false);
  return g_api;
}

static kafu_instance *new_inst(kafu_module *m, const kafu_host *h) {
  kafu_instance *inst = NULL;
  kafu_err err = {0};
  int rc = kafu_instance_new(m, h, &inst, &err);
  if (rc) fprintf(stderr, "instantiate: %s\n", err.msg);
  assert_int_equal(rc, 0);
  return inst;
}

/* ---- bad input ------------------------------------------------------------------ */

static void test_invalid_modules(void **s) {
  (void)s;
  kafu_engine_opts o = opts("junk.wasm");
  kafu_module *m = NULL;
  kafu_err err = {0};
  const uint8_t junk[] = "definitely not wasm";
  assert_int_equal(kafu_module_load(junk, sizeof junk, &o, &m, &err), KAFU_EFORMAT);
  assert_null(m);
  assert_non_null(strstr(err.msg, "junk.wasm"));
  assert_non_null(strstr(err.msg, "not a WebAssembly module"));

  /* a real module cut in half */
  size_t len;
  uint8_t *d = build_wat("api", false, &len);
  o.name = "half.wasm";
  assert_true(kafu_module_load(d, len / 2, &o, &m, &err) < 0);
  assert_null(m);
  assert_non_null(strstr(err.msg, "half.wasm"));
  assert_non_null(strstr(err.msg, "offset"));
  /* empty */
  assert_int_equal(kafu_module_load(d, 0, &o, &m, &err), KAFU_EFORMAT);
  /* header only: valid, empty module (no exports) */
  assert_int_equal(kafu_module_load(d, 8, &o, &m, &err), 0);
  assert_int_equal(kafu_module_export_count(m), 0);
  kafu_module_free(m);
  free(d);
}

static void test_unknown_imports(void **s) {
  (void)s;
  size_t len;
  uint8_t *d = build_wat("bad_imports", false, &len);
  kafu_engine_opts o = opts("bad_imports.wasm");
  kafu_module *m = NULL;
  kafu_err err = {0};
  assert_int_equal(kafu_module_load(d, len, &o, &m, &err), KAFU_EINVAL);
  assert_non_null(strstr(err.msg, "env.get_time (function)"));
  assert_non_null(strstr(err.msg, "env.table (table)"));
  assert_non_null(strstr(err.msg, "kafu does not provide"));
  /* the hint lists the host modules there are */
  assert_non_null(strstr(err.msg, "wasi_snapshot_preview1, spectest, "));
  assert_non_null(strstr(err.msg, "kafu.migration_point"));
  free(d);

  d = build_wat("bad_wasi_sig", false, &len);
  o.name = "bad_wasi_sig.wasm";
  assert_int_equal(kafu_module_load(d, len, &o, &m, &err), KAFU_EINVAL);
  assert_non_null(strstr(err.msg, "wasi_snapshot_preview1.fd_write"));
  assert_non_null(strstr(err.msg, "(i32, i32) -> (i32)"));
  free(d);
}

/* ---- calls, values, globals, memory --------------------------------------------- */

static void test_calls(void **s) {
  (void)s;
  kafu_module *m = api();
  kafu_instance *inst = new_inst(m, NULL);
  kafu_err err = {0};
  uint64_t a[2], r[2];
  a[0] = kafu_val_i32(-1); /* 0xffffffff zero-extended by the function */
  a[1] = kafu_val_i64(-10);
  assert_int_equal(kafu_instance_call(inst, "add", a, 2, r, 1, NULL, &err), 0);
  assert_int_equal((int64_t)r[0], 0xffffffffll - 10);
  a[0] = kafu_val_f32(0.25f);
  a[1] = kafu_val_f64(2.5);
  assert_int_equal(kafu_instance_call(inst, "fmix", a, 2, r, 1, NULL, &err), 0);
  assert_true(kafu_val_as_f64(r[0]) == 2.75);
  assert_int_equal(kafu_instance_call(inst, "two", NULL, 0, r, 2, NULL, &err), 0);
  assert_int_equal(r[0], 1);
  assert_int_equal((int64_t)r[1], -2);
  /* misuse */
  assert_int_equal(kafu_instance_call(inst, "nope", NULL, 0, NULL, 0, NULL, &err), KAFU_EINVAL);
  assert_non_null(strstr(err.msg, "no export named 'nope'"));
  assert_int_equal(kafu_instance_call(inst, "add", a, 1, r, 1, NULL, &err), KAFU_EINVAL);
  assert_non_null(strstr(err.msg, "takes 2 arguments"));
  assert_int_equal(kafu_instance_call(inst, "g32", NULL, 0, NULL, 0, NULL, &err), KAFU_EINVAL);
  assert_int_equal(kafu_instance_run_start(inst, NULL, &err), KAFU_EINVAL);
  assert_non_null(strstr(err.msg, "no _start"));
  kafu_instance_free(inst);
}

static void test_exports_and_globals(void **s) {
  (void)s;
  kafu_module *m = api();
  const kafu_export *e = kafu_module_find_export(m, "g64");
  assert_non_null(e);
  assert_int_equal(e->kind, KAFU_EXTERN_GLOBAL);
  assert_int_equal(e->type, KAFU_VAL_I64);
  assert_true(e->is_mutable);
  e = kafu_module_find_export(m, "const32");
  assert_false(e->is_mutable);
  e = kafu_module_find_export(m, "fmix");
  assert_int_equal(e->kind, KAFU_EXTERN_FUNC);
  assert_int_equal(e->nparams, 2);
  assert_int_equal(e->params[0], KAFU_VAL_F32);
  assert_int_equal(e->results[0], KAFU_VAL_F64);
  assert_int_equal(kafu_module_find_export(m, "memory")->kind, KAFU_EXTERN_MEMORY);
  assert_null(kafu_module_find_export(m, "missing"));
  assert_true(kafu_module_is_snapified(m));

  kafu_instance *inst = new_inst(m, NULL);
  kafu_err err = {0};
  uint64_t v;
  assert_int_equal(kafu_instance_global_get(inst, "g32", &v, &err), 0);
  assert_int_equal(v, 7);
  assert_int_equal(kafu_instance_global_get(inst, "g64", &v, &err), 0);
  assert_int_equal((int64_t)v, -5);
  assert_int_equal(kafu_instance_global_get(inst, "gf64", &v, &err), 0);
  assert_true(kafu_val_as_f64(v) == 1.5);
  assert_int_equal(kafu_instance_global_set(inst, "g32", 0xdeadbeef, &err), 0);
  assert_int_equal(kafu_instance_global_get(inst, "g32", &v, &err), 0);
  assert_int_equal(v, 0xdeadbeef);
  assert_int_equal(kafu_instance_global_set(inst, "gf64", kafu_val_f64(-0.5), &err), 0);
  assert_int_equal(kafu_instance_global_get(inst, "gf64", &v, &err), 0);
  assert_true(kafu_val_as_f64(v) == -0.5);
  assert_int_equal(kafu_instance_global_set(inst, "const32", 1, &err), KAFU_EINVAL);
  assert_non_null(strstr(err.msg, "immutable"));
  assert_int_equal(kafu_instance_global_get(inst, "add", &v, &err), KAFU_EINVAL);
  /* by index: every exported global of the module */
  int nglob = 0;
  for (size_t i = 0; i < kafu_module_export_count(m); i++)
    if (kafu_module_export_at(m, i)->kind == KAFU_EXTERN_GLOBAL) {
      assert_int_equal(kafu_instance_global_get_at(inst, i, &v, &err), 0);
      nglob++;
    }
  assert_int_equal(nglob, 5);
  kafu_instance_free(inst);
}

static void test_memory(void **s) {
  (void)s;
  kafu_module *m = api();
  kafu_instance *inst = new_inst(m, NULL);
  kafu_err err = {0};
  uint64_t size;
  uint8_t *mem = kafu_instance_memory(inst, &size);
  assert_non_null(mem);
  assert_int_equal(size, 65536);
  assert_int_equal(kafu_instance_memory_pages(inst), 1);
  assert_int_equal(kafu_instance_memory_max_pages(inst), 4);
  uint32_t x = 0x12345678;
  memcpy(mem + 100, &x, 4);
  uint64_t a[2] = {100}, r[1];
  assert_int_equal(kafu_instance_call(inst, "load32", a, 1, r, 1, NULL, &err), 0);
  assert_int_equal(r[0], 0x12345678);
  a[0] = 200;
  a[1] = 0xcafe;
  assert_int_equal(kafu_instance_call(inst, "store32", a, 2, NULL, 0, NULL, &err), 0);
  memcpy(&x, mem + 200, 4);
  assert_int_equal(x, 0xcafe);
  /* host grow, then wasm sees it; new pages are zero */
  uint32_t old;
  assert_int_equal(kafu_instance_memory_grow(inst, 2, &old, &err), 0);
  assert_int_equal(old, 1);
  mem = kafu_instance_memory(inst, &size);
  assert_int_equal(size, 3 * 65536);
  assert_int_equal(mem[3 * 65536 - 1], 0);
  assert_int_equal(kafu_instance_call(inst, "size", NULL, 0, r, 1, NULL, &err), 0);
  assert_int_equal(r[0], 3);
  /* past the maximum (4 pages) */
  assert_int_equal(kafu_instance_memory_grow(inst, 2, NULL, &err), KAFU_ENOMEM);
  a[0] = 2;
  assert_int_equal(kafu_instance_call(inst, "grow", a, 1, r, 1, NULL, &err), 0);
  assert_int_equal((uint32_t)r[0], UINT32_MAX);
  a[0] = 1;
  assert_int_equal(kafu_instance_call(inst, "grow", a, 1, r, 1, NULL, &err), 0);
  assert_int_equal(r[0], 3);
  /* instances are independent */
  kafu_instance *other = new_inst(m, NULL);
  assert_int_equal(kafu_instance_memory_pages(other), 1);
  uint8_t *om = kafu_instance_memory(other, NULL);
  assert_int_equal(om[200], 0);
  kafu_instance_free(other);
  kafu_instance_free(inst);
}

/* ---- traps -------------------------------------------------------------------- */

static void expect_trap(kafu_instance *inst, const char *fn, const uint64_t *args, size_t nargs, size_t nres,
                        kafu_trap_kind kind, const char *function) {
  kafu_outcome oc;
  kafu_err err = {0};
  uint64_t r[2];
  int rc = kafu_instance_call(inst, fn, args, nargs, r, nres, &oc, &err);
  if (rc != KAFU_ETRAP || oc.trap != kind)
    fprintf(stderr, "%s: rc=%d trap=%d: %s\n", fn, rc, oc.trap, err.msg);
  assert_int_equal(rc, KAFU_ETRAP);
  assert_int_equal(oc.status, KAFU_ETRAP);
  assert_int_equal(oc.trap, kind);
  assert_non_null(strstr(err.msg, kafu_trap_kind_str(kind)));
  if (function) {
    if (strcmp(oc.function, function) != 0) fprintf(stderr, "%s: function '%s'\n", fn, oc.function);
    assert_string_equal(oc.function, function);
    char want[300];
    snprintf(want, sizeof want, "in function '%s'", function);
    assert_non_null(strstr(err.msg, want));
  }
}

static void test_traps(void **s) {
  (void)s;
  kafu_module *m = api();
  kafu_instance *inst = new_inst(m, NULL);
  uint64_t a[1];
  expect_trap(inst, "t_unreachable", NULL, 0, 0, KAFU_TRAP_UNREACHABLE, "do_unreachable");
  a[0] = 0;
  expect_trap(inst, "t_div0", a, 1, 1, KAFU_TRAP_INT_DIV_BY_ZERO, "do_div");
  a[0] = kafu_val_i32(-1);
  expect_trap(inst, "t_overflow", a, 1, 1, KAFU_TRAP_INT_OVERFLOW, "do_overflow");
  a[0] = kafu_val_f64(NAN);
  expect_trap(inst, "t_conv", a, 1, 1, KAFU_TRAP_INVALID_CONVERSION, "do_conv");
  a[0] = kafu_val_f64(1e12);
  expect_trap(inst, "t_conv", a, 1, 1, KAFU_TRAP_INT_OVERFLOW, "do_conv");
  a[0] = 65536 - 2; /* straddles the end of memory */
  expect_trap(inst, "t_oob", a, 1, 1, KAFU_TRAP_OUT_OF_BOUNDS, "do_oob");
  a[0] = 0xffffffffu; /* address + offset near 8 GiB: still inside the guard region */
  expect_trap(inst, "t_oob_far", a, 1, 1, KAFU_TRAP_OUT_OF_BOUNDS, "do_oob_far");
  /* loads whose value is dropped trap too (the C compiler must not delete them) */
  a[0] = 65536 + 4096;
  expect_trap(inst, "t_dead_i32", a, 1, 0, KAFU_TRAP_OUT_OF_BOUNDS, "do_dead_i32");
  expect_trap(inst, "t_dead_f32", a, 1, 0, KAFU_TRAP_OUT_OF_BOUNDS, "do_dead_f32");
  expect_trap(inst, "t_dead_f64", a, 1, 0, KAFU_TRAP_OUT_OF_BOUNDS, "do_dead_f64");
  expect_trap(inst, "t_ci_type", NULL, 0, 1, KAFU_TRAP_INDIRECT_CALL_TYPE, "do_ci_type");
  a[0] = 3; /* uninitialised element */
  expect_trap(inst, "t_ci_null", a, 1, 0, KAFU_TRAP_INDIRECT_CALL_NULL, "do_ci_null");
  a[0] = 1000; /* past the table */
  expect_trap(inst, "t_ci_null", a, 1, 0, KAFU_TRAP_INDIRECT_CALL_NULL, "do_ci_null");
  a[0] = 0;
  expect_trap(inst, "t_stack", a, 1, 1, KAFU_TRAP_STACK_EXHAUSTED, "rec");
  /* the instance stays usable after traps */
  uint64_t r[1];
  kafu_err err = {0};
  a[0] = 0;
  assert_int_equal(kafu_instance_call(inst, "load32", a, 1, r, 1, NULL, &err), 0);
  kafu_instance_free(inst);
}

/* ---- migration-point hook, re-entry ------------------------------------------------ */

typedef struct hook_state {
  int calls;
  uint32_t last_fn, last_kind;
  const char *action; /* NULL, "nested", "trap", "abort" */
  bool executing;
  int nested_rc;
  uint64_t nested_result;
} hook_state;

static void hook(void *ctx, kafu_instance *inst, uint32_t fn_id, uint32_t kind) {
  hook_state *h = ctx;
  h->calls++;
  h->last_fn = fn_id;
  h->last_kind = kind;
  h->executing = kafu_instance_executing(inst);
  kafu_err err = {0};
  uint64_t v;
  kafu_instance_global_get(inst, "hook_calls", &v, &err);
  kafu_instance_global_set(inst, "hook_calls", v + 1, &err);
  if (!h->action) return;
  if (!strcmp(h->action, "nested")) {
    uint64_t a[2] = {40, 2};
    h->nested_rc = kafu_instance_call(inst, "add", a, 2, &h->nested_result, 1, NULL, &err);
  } else if (!strcmp(h->action, "trap")) {
    kafu_instance_call(inst, "t_unreachable", NULL, 0, NULL, 0, NULL, &err);
    fail_msg("a trap inside a nested call must not return to the hook");
  } else if (!strcmp(h->action, "abort")) {
    kafu_instance_abort(inst, "peer %s unreachable", "cloud");
  }
}

static void test_migration_hook(void **s) {
  (void)s;
  kafu_module *m = api();
  hook_state h = {0};
  kafu_host host = {.wasi = NULL, .migration_point = hook, .ctx = &h};
  kafu_instance *inst = new_inst(m, &host);
  kafu_err err = {0};
  kafu_outcome oc;
  uint64_t a[1] = {5}, r[1];
  assert_false(kafu_instance_executing(inst));
  assert_int_equal(kafu_instance_call(inst, "with_mp", a, 1, r, 1, &oc, &err), 0);
  assert_int_equal(h.calls, 2);
  assert_int_equal(h.last_fn, 5);
  assert_int_equal(h.last_kind, 1);
  assert_true(h.executing);
  assert_int_equal(r[0], 2); /* the hook's global writes are visible to wasm */
  assert_false(kafu_instance_executing(inst));

  /* a call back into the instance from inside the hook */
  h.action = "nested";
  assert_int_equal(kafu_instance_call(inst, "with_mp", a, 1, r, 1, &oc, &err), 0);
  assert_int_equal(h.nested_rc, 0);
  assert_int_equal(h.nested_result, 42);
  assert_int_equal(r[0], 4);

  /* a trap in a nested call unwinds to the outermost call */
  h.action = "trap";
  assert_int_equal(kafu_instance_call(inst, "with_mp", a, 1, r, 1, &oc, &err), KAFU_ETRAP);
  assert_int_equal(oc.trap, KAFU_TRAP_UNREACHABLE);
  assert_string_equal(oc.function, "do_unreachable");
  assert_false(kafu_instance_executing(inst));

  /* the host aborts execution */
  h.action = "abort";
  assert_int_equal(kafu_instance_call(inst, "with_mp", a, 1, r, 1, &oc, &err), KAFU_ETRAP);
  assert_int_equal(oc.trap, KAFU_TRAP_HOST);
  assert_non_null(strstr(err.msg, "peer cloud unreachable"));

  /* no hook: migration points are no-ops */
  h.action = NULL;
  h.calls = 0;
  kafu_instance_set_host(inst, NULL);
  assert_int_equal(kafu_instance_call(inst, "with_mp", a, 1, r, 1, &oc, &err), 0);
  assert_int_equal(h.calls, 0);
  assert_false(kafu_instance_has_asyncify(inst));
  assert_int_equal(kafu_instance_asyncify_state(inst), KAFU_EUNSUP);
  kafu_instance_free(inst);
}

/* ---- the Asyncify migration loop ------------------------------------------------------ */

#define ABUF 1024u
#define ABUF_SIZE 4096u

typedef struct mig {
  int migrations, rewinds;
  bool fail;
} mig;

static void mig_hook(void *ctx, kafu_instance *inst, uint32_t fn_id, uint32_t kind) {
  mig *g = ctx;
  (void)fn_id, (void)kind;
  int st = kafu_instance_asyncify_state(inst);
  if (st == 2) { /* rewinding into the fresh instance: this call is where we left */
    g->rewinds++;
    if (kafu_instance_asyncify_stop_rewind(inst) != 0) g->fail = true;
    return;
  }
  if (st != 0) g->fail = true;
  uint8_t *mem = kafu_instance_memory(inst, NULL);
  uint32_t hdr[2] = {ABUF + 8, ABUF + ABUF_SIZE};
  memcpy(mem + ABUF, hdr, 8);
  if (kafu_instance_asyncify_start_unwind(inst, ABUF) != 0) g->fail = true;
}

static void test_asyncify_loop(void **s) {
  (void)s;
  kafu_module *m = load_wat("asyncify", true);
  kafu_wasi_config wc = {0};
  kafu_wasi *w = NULL;
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_new(&wc, &w, &err), 0);
  mig g = {0};
  kafu_host host = {.wasi = w, .migration_point = mig_hook, .ctx = &g};
  kafu_instance *inst = new_inst(m, &host);
  assert_true(kafu_instance_has_asyncify(inst));
  kafu_outcome oc;
  int rc;
  while ((rc = kafu_instance_run_start(inst, &oc, &err)) == 0) {
    /* _start returned: either the end, or an unwind at a migration point */
    if (kafu_instance_asyncify_state(inst) != 1) break;
    assert_int_equal(kafu_instance_asyncify_stop_unwind(inst), 0);
    g.migrations++;
    /* move everything into a fresh instance: memory + the exported mutable global */
    kafu_instance *fresh = new_inst(m, &host);
    uint64_t size, v;
    uint8_t *src = kafu_instance_memory(inst, &size);
    uint32_t pages = kafu_instance_memory_pages(inst);
    if (kafu_instance_memory_pages(fresh) < pages)
      assert_int_equal(
          kafu_instance_memory_grow(fresh, pages - kafu_instance_memory_pages(fresh), NULL, &err), 0);
    memcpy(kafu_instance_memory(fresh, NULL), src, size);
    assert_int_equal(kafu_instance_global_get(inst, "kafu_global_0", &v, &err), 0);
    assert_int_equal(kafu_instance_global_set(fresh, "kafu_global_0", v, &err), 0);
    kafu_instance_free(inst);
    inst = fresh;
    assert_int_equal(kafu_instance_asyncify_start_rewind(inst, ABUF), 0);
  }
  if (rc != KAFU_EEXIT) fprintf(stderr, "asyncify loop: rc=%d %s\n", rc, err.msg);
  assert_int_equal(rc, KAFU_EEXIT);
  assert_int_equal(oc.exit_code, 33);
  assert_int_equal(g.migrations, 6);
  assert_int_equal(g.rewinds, 6);
  assert_false(g.fail);
  uint32_t code;
  assert_true(kafu_wasi_exited(w, &code));
  assert_int_equal(code, 33);
  kafu_instance_free(inst);
  kafu_wasi_free(w);
  kafu_module_free(m);
}

/* ---- cache ------------------------------------------------------------------------ */

static void test_cache(void **s) {
  (void)s;
  size_t len;
  uint8_t *d = build_wat("api", false, &len);
  char dir[400];
  snprintf(dir, sizeof dir, "%s/cache2", g_tmp);
  kafu_engine_opts o = {.cache_dir = dir, .name = "api.wasm", .progress = 0};
  kafu_module *m = NULL;
  kafu_err err = {0};
  assert_int_equal(kafu_module_load(d, len, &o, &m, &err), 0);
  assert_true(kafu_module_compiled(m));
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", kafu_module_artifact(m));
  assert_true(strncmp(path, dir, strlen(dir)) == 0);
  assert_non_null(strstr(path, kafu_module_sha256_hex(m)));
  kafu_module_free(m);
  /* second load: cache hit */
  assert_int_equal(kafu_module_load(d, len, &o, &m, &err), 0);
  assert_false(kafu_module_compiled(m));
  assert_string_equal(kafu_module_artifact(m), path);
  kafu_module_free(m);
  /* corrupt the entry (flip one byte in the middle): detected, rebuilt */
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  fseek(f, 4096, SEEK_SET);
  int c = fgetc(f);
  fseek(f, 4096, SEEK_SET);
  fputc(c ^ 0xff, f);
  fclose(f);
  assert_int_equal(kafu_module_load(d, len, &o, &m, &err), 0);
  assert_true(kafu_module_compiled(m));
  kafu_instance *inst = new_inst(m, NULL);
  uint64_t a[2] = {1, 2}, r[1];
  assert_int_equal(kafu_instance_call(inst, "add", a, 2, r, 1, NULL, &err), 0);
  assert_int_equal(r[0], 3);
  kafu_instance_free(inst);
  kafu_module_free(m);
  /* truncated entry */
  assert_int_equal(truncate(path, 1000), 0);
  assert_int_equal(kafu_module_load(d, len, &o, &m, &err), 0);
  assert_true(kafu_module_compiled(m));
  kafu_module_free(m);
  /* force */
  o.force_compile = true;
  assert_int_equal(kafu_module_load(d, len, &o, &m, &err), 0);
  assert_true(kafu_module_compiled(m));
  kafu_module_free(m);
  free(d);
  /* the cache dir resolution */
  char buf[PATH_MAX];
  kafu_engine_opts none = {0};
  setenv("KAFU_CACHE_DIR", "/x/y", 1);
  kafu_tunables_reload();
  assert_int_equal(kafu_engine_cache_dir(&none, buf, sizeof buf, NULL), 0);
  assert_string_equal(buf, "/x/y");
  unsetenv("KAFU_CACHE_DIR");
  kafu_tunables_reload();
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  assert_int_equal(kafu_engine_cache_dir(&none, buf, sizeof buf, NULL), 0);
  assert_string_equal(buf, "/xdg/kafu");
  unsetenv("XDG_CACHE_HOME");
  char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
  setenv("HOME", "/home/u", 1);
  assert_int_equal(kafu_engine_cache_dir(&none, buf, sizeof buf, NULL), 0);
  assert_string_equal(buf, "/home/u/.cache/kafu");
  if (home) setenv("HOME", home, 1);
  free(home);
  assert_int_equal(kafu_engine_cache_dir(&o, buf, sizeof buf, NULL), 0);
  assert_string_equal(buf, dir);
}

/* ---- threads: traps and execution are per thread ---------------------------------------- */

typedef struct thr {
  kafu_module *m;
  int ok;
} thr;

static void *thread_main(void *arg) {
  thr *t = arg;
  kafu_instance *inst = NULL;
  kafu_err err = {0};
  if (kafu_instance_new(t->m, NULL, &inst, &err) != 0) return NULL;
  for (int i = 0; i < 50; i++) {
    uint64_t a[2] = {(uint64_t)i, 1}, r[1];
    kafu_outcome oc;
    if (kafu_instance_call(inst, "add", a, 2, r, 1, NULL, &err) != 0 || r[0] != (uint64_t)i + 1) goto out;
    a[0] = 1u << 20; /* out of bounds: 1 page */
    if (kafu_instance_call(inst, "t_oob", a, 1, r, 1, &oc, &err) != KAFU_ETRAP ||
        oc.trap != KAFU_TRAP_OUT_OF_BOUNDS)
      goto out;
  }
  uint64_t a[1] = {0}, r[1];
  kafu_outcome oc;
  if (kafu_instance_call(inst, "t_stack", a, 1, r, 1, &oc, &err) == KAFU_ETRAP &&
      oc.trap == KAFU_TRAP_STACK_EXHAUSTED)
    t->ok = 1;
out:
  kafu_instance_free(inst);
  return NULL;
}

static void test_threads(void **s) {
  (void)s;
  kafu_module *m = api();
  pthread_t th[3];
  thr t[3];
  for (int i = 0; i < 3; i++) {
    t[i].m = m;
    t[i].ok = 0;
    assert_int_equal(pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
  }
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(t[i].ok, 1);
  }
}

/* ---- host modules (kafu/hostmod.h) ------------------------------------------------ */

typedef struct bound_ctx {
  double bias;
  int calls;
} bound_ctx;

static double hm_mix(void *ctx, const kafu_mem *m, uint32_t a, uint64_t b, float c, double d) {
  bound_ctx *bc = ctx;
  bc->calls++;
  return (int32_t)a + (double)(int64_t)b + c + d + bc->bias;
}
static uint64_t hm_add64(void *ctx, const kafu_mem *m, uint64_t a, uint64_t b) { return a + b; }
static float hm_half(void *ctx, const kafu_mem *m, float x) { return x / 2; }
/* a guest pointer, bounds-checked against the memory view of this call */
static uint32_t hm_peek(void *ctx, const kafu_mem *m, uint32_t p) {
  return kafu_mem_ok(m, p, 1) ? m->base[p] : 0xffffffffu;
}
static void hm_stop(void *ctx, const kafu_mem *m, uint32_t code) {
  kafu_instance *inst = ctx;
  assert_ptr_equal(kafu_instance_host(inst)->ctx, (void *)&hm_stop); /* the host is reachable */
  kafu_instance_abort(inst, "stopped by the host with %u", code);
}

static const kafu_hostfn bound_fns[] = {
    {"mix", "iIfF", "F", (const void *)hm_mix, 0},
    {"add64", "II", "I", (const void *)hm_add64, 0},
    {"half", "f", "f", (const void *)hm_half, 0},
    {"peek", "i", "i", (const void *)hm_peek, 0},
};
static const kafu_hostmod bound_mod = {
    "test_bound", "test module with a bound context", KAFU_HOSTCTX_BOUND, true, bound_fns, 4};
static const kafu_hostfn inst_fns[] = {{"stop", "i", "", (const void *)hm_stop, 0}};
static const kafu_hostmod inst_mod = {"test_inst", "test module", KAFU_HOSTCTX_INSTANCE, false, inst_fns, 1};

static void test_host_modules(void **s) {
  (void)s;
  kafu_err err = {0};
  assert_int_equal(kafu_hostmod_register(&bound_mod, &err), 0);
  assert_int_equal(kafu_hostmod_register(&inst_mod, &err), 0);
  assert_int_equal(kafu_hostmod_register(&bound_mod, &err), KAFU_EINVAL); /* name taken */
  assert_non_null(strstr(err.msg, "exists"));
  kafu_hostmod bad = {.name = "kafu", .fns = inst_fns, .nfns = 1};
  assert_int_equal(kafu_hostmod_register(&bad, &err), KAFU_EINVAL); /* the engine's own */
  kafu_hostfn badfn = {"x", "iv", "", (const void *)hm_stop, 0};
  bad = (kafu_hostmod){.name = "test_badsig", .fns = &badfn, .nfns = 1};
  assert_int_equal(kafu_hostmod_register(&bad, &err), KAFU_EINVAL);

  kafu_module *m = load_wat("hostmods", false);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  kafu_wasi *w;
  assert_int_equal(kafu_wasi_new(&(kafu_wasi_config){.stdout_fd = fds[1]}, &w, &err), 0);

  /* a module that needs a bound context gets none: instance creation fails */
  kafu_instance *inst = NULL;
  kafu_host h = {.wasi = w, .ctx = (void *)&hm_stop};
  assert_int_equal(kafu_instance_new(m, &h, &inst, &err), KAFU_EINVAL);
  assert_non_null(strstr(err.msg, "test_bound"));
  assert_null(inst);

  bound_ctx bc = {.bias = 0.5};
  kafu_host_binding b = {"test_bound", &bc};
  h.bindings = &b;
  h.nbindings = 1;
  inst = new_inst(m, &h);
  uint64_t a[4], r[1];
  kafu_outcome o;
  a[0] = kafu_val_i32(-3), a[1] = kafu_val_i64(-4000000000LL), a[2] = kafu_val_f32(0.25f),
  a[3] = kafu_val_f64(1e9);
  assert_int_equal(kafu_instance_call(inst, "mix", a, 4, r, 1, &o, &err), 0);
  assert_true(kafu_val_as_f64(r[0]) == -3.0 - 4e9 + 0.25 + 1e9 + 0.5);
  assert_int_equal(bc.calls, 1);
  a[0] = kafu_val_i64(INT64_MAX), a[1] = kafu_val_i64(2);
  assert_int_equal(kafu_instance_call(inst, "add64", a, 2, r, 1, &o, &err), 0);
  assert_true(r[0] == (uint64_t)INT64_MAX + 2);
  a[0] = kafu_val_f32(-3.0f);
  assert_int_equal(kafu_instance_call(inst, "half", a, 1, r, 1, &o, &err), 0);
  assert_true(kafu_val_as_f32(r[0]) == -1.5f);
  a[0] = kafu_val_i32(100);
  assert_int_equal(kafu_instance_call(inst, "peek", a, 1, r, 1, &o, &err), 0);
  assert_int_equal((uint32_t)r[0], 0x2a);
  a[0] = kafu_val_i32(65536);
  assert_int_equal(kafu_instance_call(inst, "peek", a, 1, r, 1, &o, &err), 0);
  assert_int_equal((uint32_t)r[0], 0xffffffffu);

  /* spectest writes to the WASI context's stdout */
  assert_int_equal(kafu_instance_call(inst, "prints", NULL, 0, NULL, 0, &o, &err), 0);
  close(fds[1]);
  char out[256];
  ssize_t n = read(fds[0], out, sizeof out - 1);
  assert_true(n > 0);
  out[n] = 0;
  assert_string_equal(out, "-5: i32\n0.1: f64\n-0: f64\n3: i32\n10000000000: f32\n");
  close(fds[0]);

  /* an INSTANCE-context handler can stop the program with a trap */
  assert_int_equal(kafu_instance_call(inst, "stop", NULL, 0, NULL, 0, &o, &err), KAFU_ETRAP);
  assert_int_equal(o.trap, KAFU_TRAP_HOST);
  assert_non_null(strstr(err.msg, "stopped by the host with 9"));
  kafu_instance_free(inst);
  kafu_wasi_free(w);
  kafu_module_free(m);

  /* a wrong signature for a known host function names both types */
  char cmd[1024], path[600];
  snprintf(path, sizeof path, "%s/badsig.wat", g_tmp);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(
      "(module (import \"spectest\" \"print_i32\" (func (param i64))) (import \"spectest\" \"global_i32\" "
      "(global i32)) (func (export \"_start\")))",
      f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "wat2wasm %s -o %s/badsig.wasm", path, g_tmp);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof path, "%s/badsig.wasm", g_tmp);
  kafu_engine_opts eo = opts("badsig.wasm");
  assert_int_equal(kafu_module_load_file(path, &eo, &m, &err), KAFU_EINVAL);
  assert_non_null(strstr(err.msg, "spectest.print_i32 has type (i64) -> (), but kafu's spectest"));
  assert_non_null(strstr(err.msg, "has type (i32) -> ()"));
}

int main(void) {
  kafu_log_init_from_env();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_invalid_modules), cmocka_unit_test(test_unknown_imports),
      cmocka_unit_test(test_calls),           cmocka_unit_test(test_exports_and_globals),
      cmocka_unit_test(test_memory),          cmocka_unit_test(test_traps),
      cmocka_unit_test(test_migration_hook),  cmocka_unit_test(test_asyncify_loop),
      cmocka_unit_test(test_cache),           cmocka_unit_test(test_threads),
      cmocka_unit_test(test_host_modules),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

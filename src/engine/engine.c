/*
 * engine.c — the public engine API (engine.h), written against the backend
 * seam (kafu_engine_backend, engine_internal.h) and so the same for every
 * backend: module loading (parse, import check against the host modules,
 * the export model), instances and their host-module contexts, argument
 * checks, globals, linear memory and Asyncify control. The one backend today
 * is wasm2c AOT (aot_backend.c).
 *
 * Loading checks the module's imports against what we provide BEFORE the
 * backend gets the module (a wrong import should cost milliseconds, not a
 * compiler run).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

const kafu_log_ctx kafu_engine_log = {"engine"};

/* The backend that runs a module, chosen here from the options and what the
 * node has, in order of preference: the precompiled-code loader when there is
 * shipped code for the module or no C compiler (docs/heterogeneous.md), else
 * wasm2c AOT, which finds the code in the cache or builds it. (A portable
 * interpreter would be one more entry.) */
static const kafu_engine_backend *const backends[] = {&kafu_aot_prebuilt_backend, &kafu_aot_backend};

static const kafu_engine_backend *backend_for(const kafu_module *m, const kafu_engine_opts *opts) {
  for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
    if (!backends[i]->wanted || backends[i]->wanted(m, opts)) return backends[i];
  return &kafu_aot_backend;
}

static const char *kind_name(uint8_t k) {
  switch (k) {
    case WI_EXT_FUNC:
      return "function";
    case WI_EXT_TABLE:
      return "table";
    case WI_EXT_MEMORY:
      return "memory";
    case WI_EXT_GLOBAL:
      return "global";
    default:
      return "tag";
  }
}

static void sig_str(const wi_functype *ft, char *out, size_t cap) {
  static const char *tn[] = {"i32", "i64", "f32", "f64", "v128", "ref"};
  size_t n = 0;
  n += (size_t)snprintf(out + n, cap - n, "(");
  for (uint32_t i = 0; i < ft->nparams && n < cap; i++)
    n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", tn[ft->types[i]]);
  if (n < cap) n += (size_t)snprintf(out + n, cap - n, ") -> (");
  for (uint32_t i = 0; i < ft->nresults && n < cap; i++)
    n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", tn[ft->types[ft->nparams + i]]);
  if (n < cap) snprintf(out + n, cap - n, ")");
}

/* ---- host modules ------------------------------------------------------------ */

/* kafu.migration_point(fn_id, kind): the engine's own host module, the hook of
 * the migration protocol (docs/abi.md); forwards to kafu_host.migration_point. */
static void hm_migration_point(void *ctx, const kafu_mem *m, uint32_t fn_id, uint32_t kind) {
  (void)m;
  kafu_instance *inst = ctx;
  if (inst->host.migration_point) inst->host.migration_point(inst->host.ctx, inst, fn_id, kind);
}
static const kafu_hostfn kafu_fns[] = {
    {"migration_point", "ii", "", (const void *)hm_migration_point, 0},
};
static const kafu_hostmod kafu_mod = {
    .name = "kafu",
    .summary = "the migration hook added by Snapify (migration_point)",
    .ctx = KAFU_HOSTCTX_INSTANCE,
    .fns = kafu_fns,
    .nfns = 1,
};

const kafu_hostmod *kafu_engine_hostmod(const char *module) {
  return !strcmp(module, kafu_mod.name) ? &kafu_mod : kafu_hostmod_find(module);
}

static char sig_letter(kafu_valtype t) {
  switch (t) {
    case KAFU_VAL_I32:
      return 'i';
    case KAFU_VAL_I64:
      return 'I';
    case KAFU_VAL_F32:
      return 'f';
    case KAFU_VAL_F64:
      return 'F';
    default:
      return '?';
  }
}

static bool sig_matches(const wi_functype *ft, const kafu_hostfn *hf) {
  if (ft->nparams != strlen(hf->params) || ft->nresults != strlen(hf->results)) return false;
  for (uint32_t i = 0; i < ft->nparams; i++)
    if (sig_letter(ft->types[i]) != hf->params[i]) return false;
  for (uint32_t i = 0; i < ft->nresults; i++)
    if (sig_letter(ft->types[ft->nparams + i]) != hf->results[i]) return false;
  return true;
}

/* a host function's signature in sig_str's words */
static void hostfn_sig_str(const kafu_hostfn *hf, char *out, size_t cap) {
  kafu_valtype t[64];
  size_t np = strlen(hf->params), nr = strlen(hf->results);
  if (np + nr > 64) np = 64 - (nr = 0);
  for (size_t i = 0; i < np + nr; i++) {
    char c = i < np ? hf->params[i] : hf->results[i - np];
    t[i] = c == 'i' ? KAFU_VAL_I32 : c == 'I' ? KAFU_VAL_I64 : c == 'f' ? KAFU_VAL_F32 : KAFU_VAL_F64;
  }
  wi_functype ft = {(uint32_t)np, (uint32_t)nr, t};
  sig_str(&ft, out, cap);
}

/* Every import must be a function of a host module we provide, with its
 * signature; records each import module's host module in m->hostmods. */
static int check_imports(kafu_module *m, kafu_err *err) {
  const wasm_info *wi = &m->wi;
  m->hostmods = calloc(wi->nimport_mods ? wi->nimport_mods : 1, sizeof *m->hostmods);
  if (!m->hostmods) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  kafu_buf missing = {0};
  int nmissing = 0;
  for (uint32_t i = 0; i < wi->nimports; i++) {
    const wi_import *im = &wi->imports[i];
    const kafu_hostmod *hm = kafu_engine_hostmod(im->module);
    const kafu_hostfn *hf = im->kind == WI_EXT_FUNC ? kafu_hostmod_fn(hm, im->name) : NULL;
    if (hf) {
      if (!sig_matches(&wi->types[im->type], hf)) {
        char got[256], want[256];
        sig_str(&wi->types[im->type], got, sizeof got);
        hostfn_sig_str(hf, want, sizeof want);
        kafu_buf_free(&missing);
        return kafu_err_set(err, KAFU_EINVAL, "%s: import %s.%s has type %s, but kafu's %s (%s) has type %s",
                            m->name, im->module, im->name, got, hm->name, hm->summary, want);
      }
      m->hostmods[im->mod] = hm;
      continue;
    }
    if (nmissing < 8) {
      kafu_buf_printf(&missing, "%s%s.%s (%s)", nmissing ? ", " : "", im->module, im->name,
                      kind_name(im->kind));
    }
    nmissing++;
  }
  if (!nmissing) return 0;
  kafu_buf hint = {0};
  kafu_buf_printf(&hint, "kafu provides the functions of ");
  for (size_t i = 0; kafu_hostmod_at(i); i++) kafu_buf_printf(&hint, "%s, ", kafu_hostmod_at(i)->name);
  kafu_buf_printf(&hint, "and kafu.migration_point");
  for (uint32_t i = 0; i < wi->nimports; i++) {
    const char *alt = NULL;
    if (!strcmp(wi->imports[i].module, "wasi_unstable"))
      alt = "wasi_unstable is the legacy WASI snapshot 0; rebuild with a current wasi-libc (WASI preview1)";
    else if (wi->imports[i].kind == WI_EXT_MEMORY)
      alt = "imported memory is not supported: link without --import-memory so the module defines its own";
    if (alt) {
      kafu_buf_free(&hint);
      kafu_buf_printf(&hint, "%s", alt);
      break;
    }
  }
  int rc = kafu_err_set(err, KAFU_EINVAL, "%s: %s %s%s, which kafu does not provide: %s", m->name,
                        nmissing == 1 ? "imports" : "has imports", kafu_buf_cstr(&missing),
                        nmissing > 8 ? " ..." : "", kafu_buf_cstr(&hint));
  kafu_buf_free(&missing);
  kafu_buf_free(&hint);
  return rc;
}

static int build_exports(kafu_module *m, kafu_err *err) {
  const wasm_info *wi = &m->wi;
  m->nexports = wi->nexports;
  m->exports = calloc(wi->nexports ? wi->nexports : 1, sizeof *m->exports);
  if (!m->exports) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  m->memory_export = -1;
  for (uint32_t i = 0; i < wi->nexports; i++) {
    const wi_export *we = &wi->exports[i];
    kafu_export *e = &m->exports[i];
    e->name = we->name;
    switch (we->kind) {
      case WI_EXT_FUNC: {
        const wi_functype *ft = &wi->types[wi->func_type[we->index]];
        e->kind = KAFU_EXTERN_FUNC;
        e->nparams = ft->nparams;
        e->nresults = ft->nresults;
        e->params = ft->types;
        e->results = ft->types + ft->nparams;
        break;
      }
      case WI_EXT_GLOBAL:
        e->kind = KAFU_EXTERN_GLOBAL;
        e->type = wi->globals[we->index].type;
        e->is_mutable = wi->globals[we->index].is_mutable;
        break;
      case WI_EXT_MEMORY:
        e->kind = KAFU_EXTERN_MEMORY;
        if (m->memory_export < 0 || !strcmp(we->name, "memory")) m->memory_export = (int)i;
        break;
      default:
        e->kind = KAFU_EXTERN_TABLE;
        break;
    }
  }
  return 0;
}

int kafu_engine_module_prepare(const uint8_t *wasm, size_t len, const kafu_engine_opts *opts, kafu_module **out,
                               kafu_err *err) {
  *out = NULL;
  kafu_module *m = calloc(1, sizeof *m);
  if (!m) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  snprintf(m->name, sizeof m->name, "%s", opts && opts->name ? opts->name : "module");
  kafu_sha256(wasm, len, m->sha);
  kafu_hex(m->sha, sizeof m->sha, m->sha_hex);
  int rc = kafu_wasm_info_parse(wasm, len, &m->wi, err);
  if (rc) {
    kafu_err_prefix(err, "%s", m->name);
    free(m);
    return rc;
  }
  for (uint32_t i = 0; i < m->wi.nimports; i++)
    if (!strcmp(m->wi.imports[i].module, "kafu") && !strcmp(m->wi.imports[i].name, "migration_point"))
      m->snapified = true;
  if ((rc = check_imports(m, err)) || (rc = build_exports(m, err))) {
    kafu_module_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

int kafu_module_load(const uint8_t *wasm, size_t len, const kafu_engine_opts *opts, kafu_module **out,
                     kafu_err *err) {
  kafu_module *m;
  int rc = kafu_engine_module_prepare(wasm, len, opts, &m, err);
  *out = NULL;
  if (rc) return rc;
  uint64_t t0 = kafu_now_ns();
  m->be = backend_for(m, opts);
  if ((rc = m->be->module_load(m, wasm, len, opts, err))) goto fail;
  kafu_debugc(&kafu_engine_log, "loaded %s (sha256 %.16s, %s, %s) in %.1f ms", m->name, m->sha_hex,
              m->be->name, m->be->module_compiled(m) ? "compiled" : "cache hit", kafu_ms_since(t0));
  *out = m;
  return 0;
fail:
  kafu_module_free(m);
  return rc;
}

int kafu_module_load_file(const char *path, const kafu_engine_opts *opts, kafu_module **out, kafu_err *err) {
  uint8_t *d;
  size_t len;
  *out = NULL;
  int rc = kafu_read_file(path, &d, &len, err);
  if (rc) return rc;
  kafu_engine_opts o = opts ? *opts : (kafu_engine_opts){.progress = -1};
  if (!o.name) o.name = kafu_path_basename(path);
  rc = kafu_module_load(d, len, &o, out, err);
  free(d);
  return rc;
}

void kafu_module_free(kafu_module *m) {
  if (!m) return;
  if (m->be) m->be->module_free(m);
  free(m->exports);
  free(m->hostmods);
  kafu_wasm_info_free(&m->wi);
  free(m);
}

const uint8_t *kafu_module_sha256(const kafu_module *m) { return m->sha; }
const char *kafu_module_sha256_hex(const kafu_module *m) { return m->sha_hex; }
const char *kafu_module_artifact(const kafu_module *m) { return m->be->module_artifact(m); }
bool kafu_module_compiled(const kafu_module *m) { return m->be->module_compiled(m); }
bool kafu_module_is_snapified(const kafu_module *m) { return m->snapified; }
size_t kafu_module_export_count(const kafu_module *m) { return m->nexports; }
const kafu_export *kafu_module_export_at(const kafu_module *m, size_t i) {
  return i < m->nexports ? &m->exports[i] : NULL;
}

static int find_export(const kafu_module *m, const char *name) {
  for (size_t i = 0; i < m->nexports; i++)
    if (!strcmp(m->exports[i].name, name)) return (int)i;
  return -1;
}

const kafu_export *kafu_module_find_export(const kafu_module *m, const char *name) {
  int i = find_export(m, name);
  return i < 0 ? NULL : &m->exports[i];
}

/* ---- instances ---------------------------------------------------------------- */

static int func_export(kafu_module *m, const char *name, uint32_t np, uint32_t nr) {
  int i = find_export(m, name);
  if (i < 0 || m->exports[i].kind != KAFU_EXTERN_FUNC || m->exports[i].nparams != np ||
      m->exports[i].nresults != nr || !m->be->export_usable(m, (size_t)i))
    return -1;
  return i;
}

/* The context each import module's handlers get (kafu/hostmod.h); with err,
 * a missing required context is an error, else it is left NULL. */
static int bind_host(kafu_instance *inst, kafu_err *err) {
  const kafu_module *m = inst->m;
  for (uint32_t k = 0; k < m->wi.nimport_mods; k++) {
    const kafu_hostmod *hm = m->hostmods[k];
    void *c = NULL;
    switch (hm->ctx) {
      case KAFU_HOSTCTX_WASI:
        c = inst->host.wasi;
        break;
      case KAFU_HOSTCTX_INSTANCE:
        c = inst;
        break;
      case KAFU_HOSTCTX_BOUND:
        for (size_t i = 0; i < inst->host.nbindings; i++)
          if (inst->host.bindings[i].module && !strcmp(inst->host.bindings[i].module, hm->name))
            c = inst->host.bindings[i].ctx;
        break;
      default:
        break;
    }
    if (!c && hm->ctx_required && err)
      return kafu_err_set(err, KAFU_EINVAL, "%s imports %s functions (%s) but the host gave no %s context",
                          m->name, hm->name, hm->summary, hm->ctx == KAFU_HOSTCTX_WASI ? "WASI" : hm->name);
    inst->hctx[k] = c;
  }
  return 0;
}

void kafu_instance_set_host(kafu_instance *inst, const kafu_host *host) {
  inst->host = host ? *host : (kafu_host){0};
  if (inst->host.wasi) kafu_wasi_set_exit_hook(inst->host.wasi, inst->m->be->proc_exit, inst);
  bind_host(inst, NULL);
  inst->m->be->host_changed(inst);
}

int kafu_instance_new(kafu_module *m, const kafu_host *host, kafu_instance **out, kafu_err *err) {
  *out = NULL;
  kafu_instance *inst = calloc(1, sizeof *inst);
  if (!inst) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  inst->m = m;
  inst->host = host ? *host : (kafu_host){0};
  inst->hctx = calloc(m->wi.nimport_mods ? m->wi.nimport_mods : 1, sizeof *inst->hctx);
  int rc = !inst->hctx ? kafu_err_set(err, KAFU_ENOMEM, "out of memory") : bind_host(inst, err);
  if (rc) {
    free(inst->hctx);
    free(inst);
    return rc;
  }
  if (inst->host.wasi) kafu_wasi_set_exit_hook(inst->host.wasi, m->be->proc_exit, inst);
  kafu_outcome o;
  rc = m->be->instance_new(inst, &o, err);
  if (rc) {
    if (rc == KAFU_ETRAP || rc == KAFU_EEXIT) kafu_err_prefix(err, "%s: instantiation failed", m->name);
    free(inst->hctx);
    free(inst);
    return rc;
  }
  inst->ex_start = func_export(m, "_start", 0, 0);
  inst->ex_unwind_start = func_export(m, "asyncify_start_unwind", 1, 0);
  inst->ex_unwind_stop = func_export(m, "asyncify_stop_unwind", 0, 0);
  inst->ex_rewind_start = func_export(m, "asyncify_start_rewind", 1, 0);
  inst->ex_rewind_stop = func_export(m, "asyncify_stop_rewind", 0, 0);
  inst->ex_state = func_export(m, "asyncify_get_state", 0, 1);
  inst->ex_buf_size = find_export(m, "kafu_asyncify_buf_size");
  if (inst->ex_buf_size >= 0 && (m->exports[inst->ex_buf_size].kind != KAFU_EXTERN_GLOBAL ||
                                 m->exports[inst->ex_buf_size].type != KAFU_VAL_I32))
    inst->ex_buf_size = -1;
  *out = inst;
  return 0;
}

void kafu_instance_free(kafu_instance *inst) {
  if (!inst) return;
  inst->m->be->instance_free(inst);
  free(inst->hctx);
  free(inst);
}

kafu_module *kafu_instance_module(const kafu_instance *inst) { return inst->m; }
const kafu_host *kafu_instance_host(const kafu_instance *inst) { return &inst->host; }

static int call_index(kafu_instance *inst, int idx, const uint64_t *args, uint64_t *results, const char *what,
                      kafu_outcome *out, kafu_err *err) {
  return inst->m->be->call(inst, (size_t)idx, args, results, what, out, err);
}

int kafu_instance_run_start(kafu_instance *inst, kafu_outcome *out, kafu_err *err) {
  if (inst->ex_start < 0) {
    const kafu_export *e = kafu_module_find_export(inst->m, "_start");
    return kafu_err_set(err, KAFU_EINVAL,
                        e ? "%s: export _start is not a function of type () -> ()"
                          : "%s: module has no _start export (it is not a WASI command module)",
                        inst->m->name);
  }
  return call_index(inst, inst->ex_start, NULL, NULL, "_start", out, err);
}

int kafu_instance_call(kafu_instance *inst, const char *name, const uint64_t *args, size_t nargs,
                       uint64_t *results, size_t nresults, kafu_outcome *out, kafu_err *err) {
  int i = find_export(inst->m, name);
  if (i < 0) return kafu_err_set(err, KAFU_EINVAL, "%s: no export named '%s'", inst->m->name, name);
  const kafu_export *e = &inst->m->exports[i];
  if (e->kind != KAFU_EXTERN_FUNC)
    return kafu_err_set(err, KAFU_EINVAL, "%s: export '%s' is not a function", inst->m->name, name);
  if (e->nparams != nargs || e->nresults != nresults)
    return kafu_err_set(err, KAFU_EINVAL,
                        "%s: function '%s' takes %u arguments and returns %u results (called "
                        "with %zu and %zu)",
                        inst->m->name, name, e->nparams, e->nresults, nargs, nresults);
  if (!inst->m->be->export_usable(inst->m, (size_t)i))
    return kafu_err_set(err, KAFU_EUNSUP,
                        "%s: function '%s' has v128/reference parameters or results, which "
                        "cannot be passed through the engine API",
                        inst->m->name, name);
  return call_index(inst, i, args, results, name, out, err);
}

/* ---- globals ---------------------------------------------------------------------- */

static void *global_addr(kafu_instance *inst, size_t i, kafu_err *err) {
  if (i >= inst->m->nexports || inst->m->exports[i].kind != KAFU_EXTERN_GLOBAL) {
    kafu_err_set(err, KAFU_EINVAL, "%s: export #%zu is not a global", inst->m->name, i);
    return NULL;
  }
  void *p = inst->m->be->export_usable(inst->m, i) ? inst->m->be->global_addr(inst, i) : NULL;
  if (!p) {
    kafu_err_set(err, KAFU_EUNSUP, "%s: global '%s' has a v128/reference type", inst->m->name,
                 inst->m->exports[i].name);
    return NULL;
  }
  return p;
}

int kafu_instance_global_get_at(kafu_instance *inst, size_t i, uint64_t *val, kafu_err *err) {
  void *p = global_addr(inst, i, err);
  if (!p) return err ? err->code : KAFU_EINVAL;
  kafu_valtype t = inst->m->exports[i].type;
  if (t == KAFU_VAL_I32 || t == KAFU_VAL_F32) {
    uint32_t v;
    memcpy(&v, p, 4);
    *val = v;
  } else {
    memcpy(val, p, 8);
  }
  return 0;
}

int kafu_instance_global_set_at(kafu_instance *inst, size_t i, uint64_t val, kafu_err *err) {
  void *p = global_addr(inst, i, err);
  if (!p) return err ? err->code : KAFU_EINVAL;
  if (!inst->m->exports[i].is_mutable)
    return kafu_err_set(err, KAFU_EINVAL, "%s: global '%s' is immutable", inst->m->name,
                        inst->m->exports[i].name);
  kafu_valtype t = inst->m->exports[i].type;
  if (t == KAFU_VAL_I32 || t == KAFU_VAL_F32) {
    uint32_t v = (uint32_t)val;
    memcpy(p, &v, 4);
  } else {
    memcpy(p, &val, 8);
  }
  return 0;
}

int kafu_instance_global_get(kafu_instance *inst, const char *name, uint64_t *val, kafu_err *err) {
  int i = find_export(inst->m, name);
  if (i < 0) return kafu_err_set(err, KAFU_EINVAL, "%s: no global export named '%s'", inst->m->name, name);
  return kafu_instance_global_get_at(inst, (size_t)i, val, err);
}

int kafu_instance_global_set(kafu_instance *inst, const char *name, uint64_t val, kafu_err *err) {
  int i = find_export(inst->m, name);
  if (i < 0) return kafu_err_set(err, KAFU_EINVAL, "%s: no global export named '%s'", inst->m->name, name);
  return kafu_instance_global_set_at(inst, (size_t)i, val, err);
}

/* ---- memory -------------------------------------------------------------------------- */

uint8_t *kafu_instance_memory(kafu_instance *inst, uint64_t *size) {
  uint64_t sz;
  uint32_t pages, max;
  uint8_t *base = inst->m->be->memory(inst, &sz, &pages, &max);
  if (size) *size = sz;
  return base;
}

uint32_t kafu_instance_memory_pages(kafu_instance *inst) {
  uint64_t sz;
  uint32_t pages, max;
  inst->m->be->memory(inst, &sz, &pages, &max);
  return pages;
}

uint32_t kafu_instance_memory_max_pages(kafu_instance *inst) {
  uint64_t sz;
  uint32_t pages, max;
  inst->m->be->memory(inst, &sz, &pages, &max);
  return max;
}

int kafu_instance_memory_grow(kafu_instance *inst, uint32_t delta, uint32_t *old_pages, kafu_err *err) {
  uint64_t sz;
  uint32_t cur, max;
  if (!inst->m->be->memory(inst, &sz, &cur, &max))
    return kafu_err_set(err, KAFU_EINVAL, "%s: module exports no memory", inst->m->name);
  uint32_t r = inst->m->be->memory_grow(inst, delta);
  if (r == UINT32_MAX)
    return kafu_err_set(err, KAFU_ENOMEM, "%s: cannot grow memory from %u by %u pages (maximum %u pages)",
                        inst->m->name, cur, delta, max);
  if (old_pages) *old_pages = r;
  return 0;
}

int kafu_instance_memory_shrink(kafu_instance *inst, uint32_t pages, kafu_err *err) {
  uint64_t sz;
  uint32_t cur, max;
  if (!inst->m->be->memory(inst, &sz, &cur, &max))
    return kafu_err_set(err, KAFU_EINVAL, "%s: module exports no memory", inst->m->name);
  if (kafu_instance_executing(inst))
    return kafu_err_set(err, KAFU_EINVAL, "%s: memory cannot shrink while wasm runs", inst->m->name);
  if (pages > cur || inst->m->be->memory_shrink(inst, pages))
    return kafu_err_set(err, KAFU_EIO, "%s: cannot shrink memory from %u to %u pages", inst->m->name, cur,
                        pages);
  return 0;
}

/* ---- Asyncify -------------------------------------------------------------------------- */

bool kafu_instance_has_asyncify(const kafu_instance *inst) {
  return inst->ex_unwind_start >= 0 && inst->ex_unwind_stop >= 0 && inst->ex_rewind_start >= 0 &&
         inst->ex_rewind_stop >= 0 && inst->ex_state >= 0;
}

static int asyncify_call(kafu_instance *inst, int idx, const uint64_t *arg, uint64_t *res, const char *what) {
  if (idx < 0) return KAFU_EUNSUP;
  return call_index(inst, idx, arg, res, what, NULL, NULL);
}

int kafu_instance_asyncify_start_unwind(kafu_instance *inst, uint32_t addr) {
  uint64_t a = addr;
  return asyncify_call(inst, inst->ex_unwind_start, &a, NULL, "asyncify_start_unwind");
}
int kafu_instance_asyncify_stop_unwind(kafu_instance *inst) {
  return asyncify_call(inst, inst->ex_unwind_stop, NULL, NULL, "asyncify_stop_unwind");
}
int kafu_instance_asyncify_start_rewind(kafu_instance *inst, uint32_t addr) {
  uint64_t a = addr;
  return asyncify_call(inst, inst->ex_rewind_start, &a, NULL, "asyncify_start_rewind");
}
int kafu_instance_asyncify_stop_rewind(kafu_instance *inst) {
  return asyncify_call(inst, inst->ex_rewind_stop, NULL, NULL, "asyncify_stop_rewind");
}
int kafu_instance_asyncify_state(kafu_instance *inst) {
  uint64_t r = 0;
  int rc = asyncify_call(inst, inst->ex_state, NULL, &r, "asyncify_get_state");
  return rc ? rc : (int)(uint32_t)r;
}

/* ---- execution state ---------------------------------------------------------------------- */

bool kafu_instance_executing(const kafu_instance *inst) { return inst->m->be->executing(inst); }

void kafu_instance_abort(kafu_instance *inst, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  inst->m->be->abort(inst, msg);
}

const char *kafu_trap_kind_str(kafu_trap_kind k) {
  switch (k) {
    case KAFU_TRAP_NONE:
      return "no trap";
    case KAFU_TRAP_OUT_OF_BOUNDS:
      return "out of bounds memory access";
    case KAFU_TRAP_UNREACHABLE:
      return "unreachable instruction executed";
    case KAFU_TRAP_INT_DIV_BY_ZERO:
      return "integer divide by zero";
    case KAFU_TRAP_INT_OVERFLOW:
      return "integer overflow";
    case KAFU_TRAP_INVALID_CONVERSION:
      return "invalid conversion to integer";
    case KAFU_TRAP_STACK_EXHAUSTED:
      return "call stack exhausted";
    case KAFU_TRAP_INDIRECT_CALL_TYPE:
      return "indirect call type mismatch";
    case KAFU_TRAP_INDIRECT_CALL_NULL:
      return "indirect call to undefined table element";
    case KAFU_TRAP_UNCAUGHT_EXCEPTION:
      return "uncaught wasm exception";
    case KAFU_TRAP_ASYNCIFY_OVERFLOW:
      return "Asyncify buffer overflow";
    case KAFU_TRAP_RESOURCE:
      return "out of resources";
    case KAFU_TRAP_HOST:
      return "aborted by the host";
    case KAFU_TRAP_C_STACK_OVERFLOW:
      return "C stack overflow";
  }
  return "unknown trap";
}

/*
 * aot_glue.c — the generated "glue" C file that turns any wasm2c output into
 * the same C interface (kafu_aot_module, aot_internal.h).
 *
 * wasm2c (-n app) emits one C API per module: Z_app_instantiate with one
 * pointer per imported module, exports as Z_appZ_<mangled name>, imports as
 * functions the embedder must define. The glue is compiled in the SAME
 * translation unit (it #includes module.c), which lets the C compiler inline the
 * import forwarders and keeps every symbol but one hidden:
 *
 *   - wasm-rt functions the generated code calls (wasm_rt_trap, memory, tables,
 *     func types) forward to kafu's runtime through a table (kafu_aot_rt)
 *     handed over at init. No runtime state lives in the .so, so any number of
 *     modules and threads share one trap handler and one fault handler in kafu.
 *   - each function import forwards to its host module's handler
 *     (kafu/hostmod.h), looked up by name once at init (rt->host_fn), passing
 *     the context of its import module and a (base, size) view of memory;
 *   - one invoker per exported function converts u64-encoded arguments, one
 *     accessor per exported global/memory returns its address.
 *
 * The only exported symbol is the kafu_aot_module descriptor (KAFU_AOT_SYMBOL),
 * which carries the cache key so a stale or foreign .so is never used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot_internal.h"

/* Bump when the per-module code below changes shape (part of the cache key). */
#define GLUE_REVISION "glue-6"

static const char prelude[] =
    "#include <stdarg.h>\n"
    "#include <stddef.h>\n"
    "#include <stdint.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "#include <setjmp.h>\n"
    "#include \"wasm-rt.h\"\n"
    "#if !WASM_RT_MEMCHECK_SIGNAL_HANDLER\n"
    "#error \"kafu AOT needs wasm2c's guard-page memory checks (64-bit host)\"\n"
    "#endif\n";

static const char prelude2[] =
    "#define KAFU_HIDDEN __attribute__((visibility(\"hidden\")))\n"
    /* shared by the parts of a split module (aot_split.c): defined in the glue's
       translation unit, extern in the others */
    "#ifdef KAFU_SPLIT_WORKER\n"
    "#define KAFU_SHARED extern\n"
    "#else\n"
    "#define KAFU_SHARED\n"
    "#endif\n"
    "KAFU_SHARED const struct kafu_aot_rt *kafu_rt;\n"
    /* `site` is unique per trap site (aot_cache.c patches TRAP to pass
       __COUNTER__) and kept alive by the asm, so the compiler cannot merge the
       trap calls of different wasm code and misname the trapping function */
    "__attribute__((noinline, noreturn, cold)) static void kafu_trap_here(uint32_t code, uint32_t site) {\n"
    "  __asm__ volatile(\"\" ::\"r\"(site));\n"
    "  kafu_rt->trap(code, __builtin_return_address(0));\n"
    "}\n"
    /* distinguishes the two call_indirect failures wasm2c merges into one */
    "#define KAFU_CI_TRAP(table, x) \\\n"
    "  kafu_trap_here(((x) < (table).size && (table).data[x].func) ? 100u : 101u, __COUNTER__)\n";

static const char runtime_part[] =
    "/* ---- wasm-rt API, forwarded to kafu ---- */\n"
    "void wasm_rt_trap(wasm_rt_trap_t c) { kafu_rt->trap((uint32_t)c, __builtin_return_address(0)); }\n"
    "bool wasm_rt_is_initialized(void) { return true; }\n"
    "void wasm_rt_init(void) {}\n"
    "void wasm_rt_free(void) {}\n"
    "const char *wasm_rt_strerror(wasm_rt_trap_t t) { (void)t; return \"trap\"; }\n"
    "typedef struct { uint32_t np, nr; int *t; } kafu_functype;\n"
    "static kafu_functype *kafu_fts;\n"
    "static uint32_t kafu_nfts;\n"
    "uint32_t wasm_rt_register_func_type(uint32_t np, uint32_t nr, ...) {\n"
    "  int t[np + nr + 1];\n"
    "  va_list ap;\n"
    "  va_start(ap, nr);\n"
    "  for (uint32_t i = 0; i < np + nr; i++) t[i] = va_arg(ap, int);\n"
    "  va_end(ap);\n"
    "  for (uint32_t i = 0; i < kafu_nfts; i++)\n"
    "    if (kafu_fts[i].np == np && kafu_fts[i].nr == nr && !memcmp(kafu_fts[i].t, t, (np + nr) * "
    "sizeof(int)))\n"
    "      return i + 1;\n"
    "  kafu_functype *n = realloc(kafu_fts, (kafu_nfts + 1) * sizeof *n);\n"
    "  if (!n) kafu_trap_here(102u, 0);\n"
    "  kafu_fts = n;\n"
    "  n[kafu_nfts].t = malloc((np + nr + 1) * sizeof(int));\n"
    "  if (!n[kafu_nfts].t) kafu_trap_here(102u, 0);\n"
    "  memcpy(n[kafu_nfts].t, t, (np + nr) * sizeof(int));\n"
    "  n[kafu_nfts].np = np;\n"
    "  n[kafu_nfts].nr = nr;\n"
    "  return ++kafu_nfts;\n"
    "}\n"
    /* runs at dlclose: the registry lives as long as the loaded code */
    "__attribute__((destructor)) static void kafu_functypes_free(void) {\n"
    "  for (uint32_t i = 0; i < kafu_nfts; i++) free(kafu_fts[i].t);\n"
    "  free(kafu_fts);\n"
    "  kafu_fts = NULL;\n"
    "  kafu_nfts = 0;\n"
    "}\n"
    "uint32_t wasm_rt_register_tag(uint32_t size) { static uint32_t n; (void)size; return n++; }\n"
    "static uint32_t kafu_exc_tag, kafu_exc_size;\n"
    "static uint8_t kafu_exc[65536];\n"
    "static jmp_buf *kafu_unwind;\n"
    "void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void *v) {\n"
    "  if (size > sizeof kafu_exc) kafu_trap_here(WASM_RT_TRAP_EXHAUSTION, 0);\n"
    "  kafu_exc_tag = tag; kafu_exc_size = size; if (size) memcpy(kafu_exc, v, size);\n"
    "}\n"
    "void wasm_rt_throw(void) {\n"
    "  if (!kafu_unwind) kafu_trap_here(WASM_RT_TRAP_UNCAUGHT_EXCEPTION, 0);\n"
    "  siglongjmp(*kafu_unwind, WASM_RT_TRAP_UNCAUGHT_EXCEPTION);\n"
    "}\n"
    "jmp_buf *wasm_rt_get_unwind_target(void) { return kafu_unwind; }\n"
    "void wasm_rt_set_unwind_target(jmp_buf *t) { kafu_unwind = t; }\n"
    "uint32_t wasm_rt_exception_tag(void) { return kafu_exc_tag; }\n"
    "uint32_t wasm_rt_exception_size(void) { return kafu_exc_size; }\n"
    "void *wasm_rt_exception(void) { return kafu_exc; }\n"
    "void wasm_rt_allocate_memory(wasm_rt_memory_t *m, uint32_t i, uint32_t x) { kafu_rt->alloc_memory(m, i, "
    "x); }\n"
    "uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint32_t d) { return kafu_rt->grow_memory(m, d); }\n"
    "void wasm_rt_free_memory(wasm_rt_memory_t *m) { kafu_rt->free_memory(m); }\n"
    "#define KAFU_TABLE_OPS(type)                                                                    \\\n"
    "  void wasm_rt_allocate_##type##_table(wasm_rt_##type##_table_t *t, uint32_t n, uint32_t max) { \\\n"
    "    t->data = calloc(n ? n : 1, sizeof *t->data);                                              \\\n"
    "    if (!t->data) kafu_trap_here(102u, 0);                                                         \\\n"
    "    t->size = n;                                                                                \\\n"
    "    t->max_size = max;                                                                          \\\n"
    "  }                                                                                             \\\n"
    "  void wasm_rt_free_##type##_table(wasm_rt_##type##_table_t *t) { free(t->data); t->data = 0; } \\\n"
    "  uint32_t wasm_rt_grow_##type##_table(wasm_rt_##type##_table_t *t, uint32_t d,                \\\n"
    "                                       wasm_rt_##type##_t init) {                               \\\n"
    "    uint32_t old = t->size;                                                                     \\\n"
    "    uint64_t n = (uint64_t)old + d;                                                             \\\n"
    "    if (n > t->max_size) return (uint32_t)-1;                                                   \\\n"
    "    if (!d) return old;                                                                         \\\n"
    "    void *p = realloc(t->data, n * sizeof *t->data);                                            \\\n"
    "    if (!p) return (uint32_t)-1;                                                                \\\n"
    "    t->data = p;                                                                                \\\n"
    "    for (uint64_t i = old; i < n; i++) t->data[i] = init;                                       \\\n"
    "    t->size = (uint32_t)n;                                                                      \\\n"
    "    return old;                                                                                 \\\n"
    "  }\n"
    "KAFU_TABLE_OPS(funcref)\n"
    "KAFU_TABLE_OPS(externref)\n"
    "typedef struct { uint8_t *base; uint64_t size; } kafu_glue_mem;\n"
    "typedef struct kafu_glue_inst { void *owner; void *const *hctx; Z_app_instance_t app; } "
    "kafu_glue_inst;\n"
    "static inline f32 kafu_f32(uint64_t v) { uint32_t u = (uint32_t)v; f32 f; memcpy(&f, &u, 4); return f; "
    "}\n"
    "static inline f64 kafu_f64(uint64_t v) { f64 d; memcpy(&d, &v, 8); return d; }\n"
    "static inline uint64_t kafu_of32(f32 f) { uint32_t u; memcpy(&u, &f, 4); return u; }\n"
    "static inline uint64_t kafu_of64(f64 d) { uint64_t u; memcpy(&u, &d, 8); return u; }\n";

static char glue_version_hex[2 * KAFU_SHA256_LEN + 1];

static void glue_version_init(void) {
  kafu_buf b = {0};
  kafu_buf_printf(&b, "%s\n%s\n%s\n%s\n%s\n%s\n", KAFU_ENGINE_VERSION, GLUE_REVISION, prelude, prelude2,
                  runtime_part, KAFU_STR(KAFU_AOT_ABI_DEFS));
  uint8_t h[KAFU_SHA256_LEN];
  kafu_sha256(b.data, b.len, h);
  kafu_hex(h, sizeof h, glue_version_hex);
  kafu_buf_free(&b);
}

const char *kafu_aot_glue_version(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, glue_version_init);
  return glue_version_hex;
}

/* wasm2c's import/export name mangling: [A-Za-z0-9_] except 'Z' stay, every
 * other byte becomes Z<2 hex digits>. */
static void mangle(kafu_buf *b, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char c = *p;
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Y') || (c >= '0' && c <= '9') || c == '_';
    if (keep)
      kafu_buf_putc(b, (char)c);
    else
      kafu_buf_printf(b, "Z%02X", c);
  }
}

/* s as a C string literal, every byte octal-escaped (names are arbitrary bytes) */
static void cstring(kafu_buf *b, const char *s) {
  kafu_buf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) kafu_buf_printf(b, "\\%03o", *p);
  kafu_buf_putc(b, '"');
}

void kafu_aot_mangle(const char *in, char *out, size_t cap) {
  kafu_buf b = {0};
  mangle(&b, in);
  snprintf(out, cap, "%s", b.data ? kafu_buf_cstr(&b) : "");
  kafu_buf_free(&b);
}

void kafu_aot_legalize(const char *in, char *out, size_t cap) {
  size_t i = 0;
  for (; in[i] && i + 1 < cap; i++) {
    char c = in[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out[i] = ok ? c : '_';
  }
  out[i] = 0;
}

static const char *ctype(kafu_valtype t) {
  switch (t) {
    case KAFU_VAL_I32:
      return "u32";
    case KAFU_VAL_I64:
      return "u64";
    case KAFU_VAL_F32:
      return "f32";
    case KAFU_VAL_F64:
      return "f64";
    default:
      return NULL;
  }
}

static char multi_letter(kafu_valtype t) {
  switch (t) {
    case KAFU_VAL_I32:
      return 'i';
    case KAFU_VAL_I64:
      return 'j';
    case KAFU_VAL_F32:
      return 'f';
    default:
      return 'd';
  }
}

static void arg_expr(kafu_buf *b, kafu_valtype t, uint32_t k) {
  switch (t) {
    case KAFU_VAL_I32:
      kafu_buf_printf(b, "(u32)a[%u]", k);
      break;
    case KAFU_VAL_I64:
      kafu_buf_printf(b, "(u64)a[%u]", k);
      break;
    case KAFU_VAL_F32:
      kafu_buf_printf(b, "kafu_f32(a[%u])", k);
      break;
    default:
      kafu_buf_printf(b, "kafu_f64(a[%u])", k);
      break;
  }
}

static void res_stmt(kafu_buf *b, kafu_valtype t, uint32_t k, const char *expr) {
  switch (t) {
    case KAFU_VAL_I32:
      kafu_buf_printf(b, "  r[%u] = (uint64_t)(u32)(%s);\n", k, expr);
      break;
    case KAFU_VAL_I64:
      kafu_buf_printf(b, "  r[%u] = (uint64_t)(%s);\n", k, expr);
      break;
    case KAFU_VAL_F32:
      kafu_buf_printf(b, "  r[%u] = kafu_of32(%s);\n", k, expr);
      break;
    default:
      kafu_buf_printf(b, "  r[%u] = kafu_of64(%s);\n", k, expr);
      break;
  }
}

static bool simple_types(const wi_functype *ft) {
  for (uint32_t i = 0; i < ft->nparams + ft->nresults; i++)
    if (!ctype(ft->types[i])) return false;
  return true;
}

void kafu_aot_write_worker_prelude(kafu_buf *b) {
  kafu_buf_printf(
      b, "/* Generated by kafu (%s, %s): one part of a split module. */\n#define KAFU_SPLIT_WORKER 1\n",
      KAFU_ENGINE_VERSION, GLUE_REVISION);
  kafu_buf_printf(b, "%s\n%s\n%s\n", prelude, KAFU_STR(KAFU_AOT_ABI_DEFS), prelude2);
}

int kafu_aot_write_glue(const wasm_info *wi, const char *key, const char *sha_hex, kafu_buf *b,
                        kafu_err *err) {
  kafu_buf_printf(b, "/* Generated by kafu (%s, %s) for module sha256 %s. Do not edit. */\n",
                  KAFU_ENGINE_VERSION, GLUE_REVISION, sha_hex);
  kafu_buf_printf(b, "%s\n%s\n%s\n", prelude, KAFU_STR(KAFU_AOT_ABI_DEFS), prelude2);
  kafu_buf_printf(b, "#include \"module.c\"\n\n%s\n", runtime_part);

  /* primary memory: export "memory", else the first exported memory */
  const char *memname = NULL;
  for (uint32_t i = 0; i < wi->nexports; i++)
    if (wi->exports[i].kind == WI_EXT_MEMORY && (!memname || !strcmp(wi->exports[i].name, "memory")))
      memname = wi->exports[i].name;
  kafu_buf_printf(b, "static wasm_rt_memory_t *kafu_memory(void *g) {\n");
  if (memname) {
    kafu_buf_printf(b, "  return Z_appZ_");
    mangle(b, memname);
    kafu_buf_printf(b, "(&((kafu_glue_inst *)g)->app);\n}\n");
  } else {
    kafu_buf_printf(b, "  (void)g;\n  return NULL;\n}\n");
  }

  /* import forwarders (each (module, name) once): handler from kafu_imp[j]
   * (filled by kafu_init), context from the instance's hctx[module index] */
  uint32_t *uniq = calloc(wi->nimports ? wi->nimports : 1, sizeof *uniq), nuniq = 0;
  if (!uniq) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < wi->nimports; i++) {
    const wi_import *im = &wi->imports[i];
    bool seen = false;
    for (uint32_t j = 0; j < nuniq && !seen; j++)
      seen = wi->imports[uniq[j]].mod == im->mod && !strcmp(wi->imports[uniq[j]].name, im->name);
    if (im->kind == WI_EXT_FUNC && !seen) uniq[nuniq++] = i;
  }
  kafu_buf_printf(b, "static const void *kafu_imp[%u];\n", nuniq ? nuniq : 1);
  for (uint32_t j = 0; j < nuniq; j++) {
    const wi_import *im = &wi->imports[uniq[j]];
    const kafu_hostmod *hm = kafu_engine_hostmod(im->module);
    const kafu_hostfn *hf = kafu_hostmod_fn(hm, im->name);
    if (!hf) {
      free(uniq);
      return kafu_err_set(err, KAFU_EINVAL, "internal: unchecked import %s.%s", im->module, im->name);
    }
    const wi_functype *ft = &wi->types[im->type];
    const char *ret = ft->nresults ? ctype(ft->types[ft->nparams]) : "void";
    kafu_buf_printf(b, "%s Z_", ret);
    mangle(b, im->module);
    kafu_buf_printf(b, "Z_");
    mangle(b, im->name);
    kafu_buf_printf(b, "(struct Z_");
    mangle(b, im->module);
    kafu_buf_printf(b, "_instance_t *p");
    for (uint32_t k = 0; k < ft->nparams; k++) kafu_buf_printf(b, ", %s a%u", ctype(ft->types[k]), k);
    kafu_buf_printf(b, ") {\n  kafu_glue_inst *gi = (kafu_glue_inst *)p;\n");
    kafu_buf_printf(b, "  wasm_rt_memory_t *m = kafu_memory(gi);\n");
    kafu_buf_printf(b, "  kafu_glue_mem v = {m ? m->data : NULL, m ? m->size : 0};\n");
    kafu_buf_printf(b, "  %s((%s (*)(void *, const kafu_glue_mem *", ft->nresults ? "return " : "", ret);
    for (uint32_t k = 0; k < ft->nparams; k++) kafu_buf_printf(b, ", %s", ctype(ft->types[k]));
    kafu_buf_printf(b, "))kafu_imp[%u])(gi->hctx[%u], &v", j, im->mod);
    for (uint32_t k = 0; k < ft->nparams; k++) kafu_buf_printf(b, ", a%u", k);
    kafu_buf_printf(b, ");\n");
    if ((hf->flags & KAFU_HOSTFN_EXITS) && ft->nparams && ft->types[0] == KAFU_VAL_I32)
      kafu_buf_printf(b, "  kafu_rt->proc_exit_returned(gi->owner, a0);\n");
    kafu_buf_printf(b, "}\n");
  }

  /* exports */
  for (uint32_t i = 0; i < wi->nexports; i++) {
    const wi_export *ex = &wi->exports[i];
    if (ex->kind == WI_EXT_FUNC) {
      const wi_functype *ft = &wi->types[wi->func_type[ex->index]];
      if (!simple_types(ft)) continue;
      kafu_buf_printf(b, "static void kafu_inv_%u(void *g, const uint64_t *a, uint64_t *r) {\n", i);
      kafu_buf_printf(b, "  (void)a; (void)r;\n");
      kafu_buf b2 = {0};
      kafu_buf_printf(&b2, "Z_appZ_");
      mangle(&b2, ex->name);
      kafu_buf_printf(&b2, "(&((kafu_glue_inst *)g)->app");
      for (uint32_t k = 0; k < ft->nparams; k++) {
        kafu_buf_printf(&b2, ", ");
        arg_expr(&b2, ft->types[k], k);
      }
      kafu_buf_printf(&b2, ")");
      const char *call = kafu_buf_cstr(&b2);
      if (ft->nresults == 0) {
        kafu_buf_printf(b, "  %s;\n", call);
      } else if (ft->nresults == 1) {
        res_stmt(b, ft->types[ft->nparams], 0, call);
      } else {
        kafu_buf_printf(b, "  struct wasm_multi_");
        for (uint32_t k = 0; k < ft->nresults; k++)
          kafu_buf_putc(b, multi_letter(ft->types[ft->nparams + k]));
        kafu_buf_printf(b, " x = %s;\n", call);
        for (uint32_t k = 0; k < ft->nresults; k++) {
          char field[32];
          snprintf(field, sizeof field, "x.%c%u", multi_letter(ft->types[ft->nparams + k]), k);
          res_stmt(b, ft->types[ft->nparams + k], k, field);
        }
      }
      kafu_buf_free(&b2);
      kafu_buf_printf(b, "}\n");
    } else if (ex->kind == WI_EXT_GLOBAL) {
      if (!ctype(wi->globals[ex->index].type)) continue;
      kafu_buf_printf(b, "static void *kafu_glob_%u(void *g) { return Z_appZ_", i);
      mangle(b, ex->name);
      kafu_buf_printf(b, "(&((kafu_glue_inst *)g)->app); }\n");
    } else if (ex->kind == WI_EXT_MEMORY) {
      kafu_buf_printf(b, "static void *kafu_mem_%u(void *g) { return Z_appZ_", i);
      mangle(b, ex->name);
      kafu_buf_printf(b, "(&((kafu_glue_inst *)g)->app); }\n");
    }
  }
  kafu_buf_printf(b, "static const kafu_aot_export kafu_exports[] = {\n");
  for (uint32_t i = 0; i < wi->nexports; i++) {
    const wi_export *ex = &wi->exports[i];
    const char *fn = "NULL";
    char nm[32] = "";
    if (ex->kind == WI_EXT_FUNC && simple_types(&wi->types[wi->func_type[ex->index]]))
      snprintf(nm, sizeof nm, "(void *)kafu_inv_%u", i);
    else if (ex->kind == WI_EXT_GLOBAL && ctype(wi->globals[ex->index].type))
      snprintf(nm, sizeof nm, "(void *)kafu_glob_%u", i);
    else if (ex->kind == WI_EXT_MEMORY)
      snprintf(nm, sizeof nm, "(void *)kafu_mem_%u", i);
    if (nm[0]) fn = nm;
    kafu_buf_printf(b, "  {");
    cstring(b, ex->name);
    kafu_buf_printf(b, ", %u, %s},\n", ex->kind, fn);
  }
  kafu_buf_printf(b, "  {NULL, 0, NULL}\n};\n");

  kafu_buf_printf(b, "static uint32_t kafu_init(const kafu_aot_rt *rt) {\n  static int done;\n");
  kafu_buf_printf(b, "  if (done) return 0;\n  kafu_rt = rt;\n");
  for (uint32_t j = 0; j < nuniq; j++) {
    const wi_import *im = &wi->imports[uniq[j]];
    kafu_buf_printf(b, "  if (!(kafu_imp[%u] = rt->host_fn(", j);
    cstring(b, im->module);
    kafu_buf_printf(b, ", ");
    cstring(b, im->name);
    kafu_buf_printf(b, "))) return %u;\n", uniq[j] + 1);
  }
  kafu_buf_printf(b, "  Z_app_init_module();\n  done = 1;\n  return 0;\n}\n");
  free(uniq);
  kafu_buf_printf(b, "static void kafu_instantiate(void *g, void *owner, void *const *hctx) {\n");
  kafu_buf_printf(b, "  kafu_glue_inst *gi = g;\n  gi->owner = owner;\n  gi->hctx = hctx;\n");
  kafu_buf_printf(b, "  Z_app_instantiate(&gi->app");
  for (uint32_t k = 0; k < wi->nimport_mods; k++) kafu_buf_printf(b, ", (void *)gi");
  kafu_buf_printf(b, ");\n}\n");
  kafu_buf_printf(b,
                  "static void kafu_free_instance(void *g) { Z_app_free(&((kafu_glue_inst *)g)->app); }\n");
  kafu_buf_printf(b,
                  "__attribute__((visibility(\"default\"))) const kafu_aot_module %s = {\n"
                  "  {'K', 'A', 'F', 'U', 'A', 'O', 'T', 0}, %d, \"%s\", \"%s\",\n"
                  "  sizeof(wasm_rt_memory_t), sizeof(wasm_rt_funcref_table_t),\n"
                  "  offsetof(wasm_rt_memory_t, size), sizeof(kafu_glue_inst),\n"
                  "  kafu_init, kafu_instantiate, kafu_free_instance, kafu_memory,\n"
                  "  %u, kafu_exports};\n",
                  KAFU_AOT_SYMBOL, KAFU_AOT_ABI, key, sha_hex, wi->nexports);
  return 0;
}

/*
 * wasm_info.c — the few facts the engine needs about a module, taken from the
 * shared wasm reader (kafu/wasm.h).
 *
 * The engine checks imports and records the export list with types before it
 * compiles anything (a wrong import should cost milliseconds, not a compiler
 * run), and keeps the "name" section's function names for trap messages. The
 * reader's model points into the input bytes, which the engine does not keep,
 * so the facts are copied into a small owned structure (wasm_info) and the
 * reader's model is freed right away. Full validation is wasm2c's job.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "kafu/wasm.h"

static kafu_valtype vt(uint8_t code) {
  switch (code) {
    case KAFU_WASM_I32:
      return KAFU_VAL_I32;
    case KAFU_WASM_I64:
      return KAFU_VAL_I64;
    case KAFU_WASM_F32:
      return KAFU_VAL_F32;
    case KAFU_WASM_F64:
      return KAFU_VAL_F64;
    case KAFU_WASM_V128:
      return KAFU_VAL_V128;
    default:
      return KAFU_VAL_REF;
  }
}

static char *dup(const char *s) { return s ? strdup(s) : NULL; }

#define ALLOC(p, n) ((p) = calloc((n) ? (n) : 1, sizeof *(p)))

int kafu_wasm_info_parse(const uint8_t *p, size_t len, wasm_info *wi, kafu_err *err) {
  memset(wi, 0, sizeof *wi);
  kafu_wasm_module m;
  uint32_t *first_use = NULL;
  int rc = kafu_wasm_parse(p, len, &m, err);
  if (rc) return rc;
  rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  wi->ntypes = m.ntypes;
  if (!ALLOC(wi->types, m.ntypes)) goto fail;
  for (uint32_t i = 0; i < m.ntypes; i++) {
    const kafu_wasm_functype *t = &m.types[i];
    wi_functype *o = &wi->types[i];
    if (!ALLOC(o->types, t->nparams + t->nresults)) goto fail;
    o->nparams = t->nparams;
    o->nresults = t->nresults;
    for (uint32_t k = 0; k < t->nparams; k++) o->types[k] = vt(t->params[k]);
    for (uint32_t k = 0; k < t->nresults; k++) o->types[t->nparams + k] = vt(t->results[k]);
  }
  wi->nimports = m.nimports;
  if (!ALLOC(wi->imports, m.nimports) || !ALLOC(first_use, m.nimports)) goto fail;
  for (uint32_t i = 0; i < m.nimports; i++) {
    const kafu_wasm_import *im = &m.imports[i];
    wi_import *o = &wi->imports[i];
    o->kind = (uint8_t)im->kind;
    if (!(o->module = dup(im->module)) || !(o->name = dup(im->name))) goto fail;
    /* distinct modules are few (first_use holds the first import of each) */
    for (o->mod = 0; o->mod < wi->nimport_mods; o->mod++)
      if (!strcmp(wi->imports[first_use[o->mod]].module, o->module)) break;
    if (o->mod == wi->nimport_mods) {
      if (o->mod == 1024) { /* a real module imports from a handful */
        rc = kafu_err_set(err, KAFU_EFORMAT, "imports from more than 1024 different modules");
        goto fail;
      }
      first_use[wi->nimport_mods++] = i;
    }
    switch (im->kind) {
      case KAFU_WASM_EXT_FUNC:
        o->type = im->type_index;
        break;
      case KAFU_WASM_EXT_GLOBAL:
        o->type = (uint32_t)vt(im->valtype) | (im->mutable_ ? 0x100u : 0);
        break;
      case KAFU_WASM_EXT_MEMORY:
        wi->nmemory_imports++;
        break;
      case KAFU_WASM_EXT_TABLE:
        wi->ntable_imports++;
        break;
      default:
        break;
    }
  }
  wi->nfunc_imports = m.nfunc_imports;
  wi->nfuncs = m.nfuncs - m.nfunc_imports;
  if (!ALLOC(wi->func_type, m.nfuncs)) goto fail;
  bool any_name = false;
  for (uint32_t i = 0; i < m.nfuncs; i++) {
    wi->func_type[i] = m.funcs[i].type_index;
    any_name |= m.funcs[i].name != NULL;
  }
  if (any_name) {
    if (!ALLOC(wi->func_names, m.nfuncs)) goto fail;
    for (uint32_t i = 0; i < m.nfuncs; i++)
      if (m.funcs[i].name && !(wi->func_names[i] = dup(m.funcs[i].name))) goto fail;
  }
  wi->nglobal_imports = m.nglobal_imports;
  wi->nglobals = m.nglobals;
  if (!ALLOC(wi->globals, m.nglobals)) goto fail;
  for (uint32_t i = 0; i < m.nglobals; i++) {
    wi->globals[i].type = vt(m.globals[i].valtype);
    wi->globals[i].is_mutable = m.globals[i].mutable_;
  }
  for (uint32_t i = 0; i < m.nmemories; i++) wi->nmemories += !m.memories[i].imported;
  wi->nexports = m.nexports;
  if (!ALLOC(wi->exports, m.nexports)) goto fail;
  for (uint32_t i = 0; i < m.nexports; i++) {
    wi->exports[i].kind = (uint8_t)m.exports[i].kind;
    wi->exports[i].index = m.exports[i].index;
    if (!(wi->exports[i].name = dup(m.exports[i].name))) goto fail;
  }
  wi->has_start = m.has_start;
  free(first_use);
  kafu_wasm_module_free(&m);
  if (err) err->code = 0, err->msg[0] = 0;
  return 0;
fail:
  free(first_use);
  kafu_wasm_module_free(&m);
  kafu_wasm_info_free(wi);
  return rc;
}

void kafu_wasm_info_free(wasm_info *wi) {
  if (!wi) return;
  for (uint32_t i = 0; i < wi->ntypes && wi->types; i++) free(wi->types[i].types);
  free(wi->types);
  for (uint32_t i = 0; i < wi->nimports && wi->imports; i++) {
    free(wi->imports[i].module);
    free(wi->imports[i].name);
  }
  free(wi->imports);
  free(wi->func_type);
  free(wi->globals);
  for (uint32_t i = 0; i < wi->nexports && wi->exports; i++) free(wi->exports[i].name);
  free(wi->exports);
  if (wi->func_names) {
    uint32_t total = wi_nfuncs_total(wi);
    for (uint32_t i = 0; i < total; i++) free(wi->func_names[i]);
    free(wi->func_names);
  }
  memset(wi, 0, sizeof *wi);
}

int kafu_engine_explain_wasm2c_crash(const uint8_t *p, size_t len, const char *name, kafu_err *err) {
  kafu_wasm_module m;
  uint32_t f = 0;
  char feats[256] = "";
  if (kafu_wasm_parse(p, len, &m, NULL) == 0) {
    if (kafu_wasm_detect_features(&m, &f, NULL) == 0) kafu_wasm_format_features(f, feats, sizeof feats);
    kafu_wasm_module_free(&m);
  }
  return kafu_err_set(err, KAFU_EUNSUP,
                      "wasm2c crashed on %s without a message (it cannot compile every WebAssembly proposal); "
                      "the module uses: %s",
                      name, feats[0] ? feats : "nothing beyond the MVP");
}

/*
 * wasm_info.c — the engine's own minimal reader of a wasm binary.
 *
 * The engine needs only a few facts before it compiles a module: the import
 * list with signatures (to reject imports we do not provide before spending
 * seconds in the C compiler), the export list with types (for the uniform call
 * interface and global access), and the function names of the "name" section
 * (for trap messages). Full validation is wasm2c's job; this reader only checks
 * structure (every length within bounds, LEBs well formed) so that truncated or
 * garbage input gets a precise message with the byte offset.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

typedef struct rd {
  const uint8_t *p;
  size_t pos, end;
  kafu_err *err;
  const char *where; /* section being read, for messages */
} rd;

static int rd_fail(rd *r, const char *what) {
  return kafu_err_set(r->err, KAFU_EFORMAT, "invalid wasm module: %s in %s at offset 0x%zx", what, r->where,
                      r->pos);
}

static int rd_u8(rd *r, uint8_t *v) {
  if (r->pos >= r->end) return rd_fail(r, "unexpected end");
  *v = r->p[r->pos++];
  return 0;
}

static int rd_leb(rd *r, uint64_t *v, int maxbits) {
  uint64_t x = 0;
  for (int shift = 0;; shift += 7) {
    if (shift >= maxbits + 7 || shift > 63) return rd_fail(r, "malformed LEB128 integer");
    uint8_t b;
    if (rd_u8(r, &b)) return r->err ? r->err->code : KAFU_EFORMAT;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if (maxbits < 64 && (x >> maxbits)) return rd_fail(r, "integer too large");
  *v = x;
  return 0;
}

static int rd_u32(rd *r, uint32_t *v) {
  uint64_t x;
  int rc = rd_leb(r, &x, 32);
  if (rc) return rc;
  *v = (uint32_t)x;
  return 0;
}

/* A count of items that each take at least min_bytes: bounded by what is left,
 * so a corrupt count cannot make us allocate gigabytes. */
static int rd_count(rd *r, uint32_t *n, size_t min_bytes) {
  int rc = rd_u32(r, n);
  if (rc) return rc;
  if ((uint64_t)*n * min_bytes > r->end - r->pos) return rd_fail(r, "item count exceeds section size");
  return 0;
}

static int rd_name(rd *r, char **out) {
  uint32_t n;
  int rc = rd_u32(r, &n);
  if (rc) return rc;
  if (n > r->end - r->pos) return rd_fail(r, "name runs past the end");
  char *s = malloc((size_t)n + 1);
  if (!s) return kafu_err_set(r->err, KAFU_ENOMEM, "out of memory");
  memcpy(s, r->p + r->pos, n);
  s[n] = 0;
  r->pos += n;
  *out = s;
  return 0;
}

static int rd_skip(rd *r, size_t n) {
  if (n > r->end - r->pos) return rd_fail(r, "unexpected end");
  r->pos += n;
  return 0;
}

static int rd_valtype(rd *r, kafu_valtype *t) {
  uint8_t b;
  int rc = rd_u8(r, &b);
  if (rc) return rc;
  switch (b) {
    case 0x7f: *t = KAFU_VAL_I32; return 0;
    case 0x7e: *t = KAFU_VAL_I64; return 0;
    case 0x7d: *t = KAFU_VAL_F32; return 0;
    case 0x7c: *t = KAFU_VAL_F64; return 0;
    case 0x7b: *t = KAFU_VAL_V128; return 0;
    case 0x70: case 0x6f: *t = KAFU_VAL_REF; return 0;
    default: r->pos--; return rd_fail(r, "unknown value type");
  }
}

static int rd_limits(rd *r) {
  uint8_t flags;
  uint64_t x;
  int rc = rd_u8(r, &flags);
  if (!rc) rc = rd_leb(r, &x, 64);
  if (!rc && (flags & 1)) rc = rd_leb(r, &x, 64);
  return rc;
}

/* skip a constant expression (global initialisers): read opcodes up to `end` */
static int rd_skip_const_expr(rd *r) {
  for (;;) {
    uint8_t op;
    int rc = rd_u8(r, &op);
    if (rc) return rc;
    uint64_t x;
    switch (op) {
      case 0x0b: return 0;
      case 0x41: case 0x42: case 0x23: case 0xd2: rc = rd_leb(r, &x, 64); break; /* i32/i64.const, global.get, ref.func */
      case 0x43: rc = rd_skip(r, 4); break;
      case 0x44: rc = rd_skip(r, 8); break;
      case 0xd0: rc = rd_skip(r, 1); break; /* ref.null t */
      case 0x6a: case 0x6b: case 0x6c: case 0x7c: case 0x7d: case 0x7e: break; /* extended-const */
      case 0xfd: rc = rd_leb(r, &x, 32); if (!rc) rc = rd_skip(r, 16); break; /* v128.const */
      default: r->pos--; return rd_fail(r, "unsupported opcode in constant expression");
    }
    if (rc) return rc;
  }
}

static int parse_types(rd *r, wasm_info *wi) {
  int rc = rd_count(r, &wi->ntypes, 3);
  if (rc) return rc;
  wi->types = calloc(wi->ntypes ? wi->ntypes : 1, sizeof *wi->types);
  if (!wi->types) return kafu_err_set(r->err, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < wi->ntypes; i++) {
    uint8_t form;
    if ((rc = rd_u8(r, &form))) return rc;
    if (form != 0x60) return rd_fail(r, "function type expected");
    wi_functype *t = &wi->types[i];
    uint32_t np, nr;
    if ((rc = rd_count(r, &np, 1))) return rc;
    size_t at = r->pos;
    if ((rc = rd_skip(r, np))) return rc;
    if ((rc = rd_count(r, &nr, 1))) return rc;
    t->types = malloc(((size_t)np + nr + 1) * sizeof *t->types);
    if (!t->types) return kafu_err_set(r->err, KAFU_ENOMEM, "out of memory");
    size_t after = r->pos;
    r->pos = at;
    for (uint32_t k = 0; k < np; k++)
      if ((rc = rd_valtype(r, &t->types[k]))) return rc;
    r->pos = after;
    for (uint32_t k = 0; k < nr; k++)
      if ((rc = rd_valtype(r, &t->types[np + k]))) return rc;
    t->nparams = np;
    t->nresults = nr;
  }
  return 0;
}

static int parse_imports(rd *r, wasm_info *wi) {
  int rc = rd_count(r, &wi->nimports, 4);
  if (rc) return rc;
  wi->imports = calloc(wi->nimports ? wi->nimports : 1, sizeof *wi->imports);
  if (!wi->imports) return kafu_err_set(r->err, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < wi->nimports; i++) {
    wi_import *im = &wi->imports[i];
    if ((rc = rd_name(r, &im->module)) || (rc = rd_name(r, &im->name)) || (rc = rd_u8(r, &im->kind))) return rc;
    uint8_t b;
    switch (im->kind) {
      case WI_EXT_FUNC:
        if ((rc = rd_u32(r, &im->type))) return rc;
        if (im->type >= wi->ntypes) return rd_fail(r, "import uses an unknown type index");
        wi->nfunc_imports++;
        break;
      case WI_EXT_TABLE:
        if ((rc = rd_u8(r, &b)) || (rc = rd_limits(r))) return rc;
        wi->ntable_imports++;
        break;
      case WI_EXT_MEMORY:
        if ((rc = rd_limits(r))) return rc;
        wi->nmemory_imports++;
        break;
      case WI_EXT_GLOBAL: {
        kafu_valtype t;
        if ((rc = rd_valtype(r, &t)) || (rc = rd_u8(r, &b))) return rc;
        im->type = (uint32_t)t | (b ? 0x100u : 0);
        wi->nglobal_imports++;
        break;
      }
      case WI_EXT_TAG:
        if ((rc = rd_u8(r, &b)) || (rc = rd_u32(r, &im->type))) return rc;
        break;
      default: return rd_fail(r, "unknown import kind");
    }
  }
  return 0;
}

static int parse_functions(rd *r, wasm_info *wi) {
  int rc = rd_count(r, &wi->nfuncs, 1);
  if (rc) return rc;
  uint32_t total = wi->nfunc_imports + wi->nfuncs;
  wi->func_type = calloc(total ? total : 1, sizeof *wi->func_type);
  if (!wi->func_type) return kafu_err_set(r->err, KAFU_ENOMEM, "out of memory");
  uint32_t k = 0;
  for (uint32_t i = 0; i < wi->nimports; i++)
    if (wi->imports[i].kind == WI_EXT_FUNC) wi->func_type[k++] = wi->imports[i].type;
  for (uint32_t i = 0; i < wi->nfuncs; i++) {
    if ((rc = rd_u32(r, &wi->func_type[k + i]))) return rc;
    if (wi->func_type[k + i] >= wi->ntypes) return rd_fail(r, "function uses an unknown type index");
  }
  return 0;
}

static int parse_globals(rd *r, wasm_info *wi) {
  uint32_t n;
  int rc = rd_count(r, &n, 3);
  if (rc) return rc;
  wi->nglobals = wi->nglobal_imports + n;
  wi->globals = calloc(wi->nglobals ? wi->nglobals : 1, sizeof *wi->globals);
  if (!wi->globals) return kafu_err_set(r->err, KAFU_ENOMEM, "out of memory");
  uint32_t k = 0;
  for (uint32_t i = 0; i < wi->nimports; i++)
    if (wi->imports[i].kind == WI_EXT_GLOBAL) {
      wi->globals[k].type = (kafu_valtype)(wi->imports[i].type & 0xff);
      wi->globals[k].is_mutable = (wi->imports[i].type & 0x100) != 0;
      k++;
    }
  for (uint32_t i = 0; i < n; i++) {
    uint8_t mut;
    if ((rc = rd_valtype(r, &wi->globals[k + i].type)) || (rc = rd_u8(r, &mut))) return rc;
    wi->globals[k + i].is_mutable = mut != 0;
    if ((rc = rd_skip_const_expr(r))) return rc;
  }
  return 0;
}

static int parse_exports(rd *r, wasm_info *wi) {
  int rc = rd_count(r, &wi->nexports, 3);
  if (rc) return rc;
  wi->exports = calloc(wi->nexports ? wi->nexports : 1, sizeof *wi->exports);
  if (!wi->exports) return kafu_err_set(r->err, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < wi->nexports; i++) {
    wi_export *ex = &wi->exports[i];
    if ((rc = rd_name(r, &ex->name)) || (rc = rd_u8(r, &ex->kind)) || (rc = rd_u32(r, &ex->index))) return rc;
    if (ex->kind > WI_EXT_TAG) return rd_fail(r, "unknown export kind");
  }
  return 0;
}

/* "name" custom section, subsection 1 (function names). Errors here are not
 * fatal: names are only for messages. */
static void parse_names(rd *r, wasm_info *wi) {
  uint32_t total = wi_nfuncs_total(wi);
  if (!total || wi->func_names) return;
  while (r->pos < r->end) {
    uint8_t id;
    uint32_t size;
    if (rd_u8(r, &id) || rd_u32(r, &size) || size > r->end - r->pos) return;
    size_t next = r->pos + size;
    if (id == 1) {
      wi->func_names = calloc(total, sizeof(char *));
      if (!wi->func_names) return;
      uint32_t n;
      if (rd_u32(r, &n)) return;
      for (uint32_t i = 0; i < n; i++) {
        uint32_t idx;
        char *nm;
        if (rd_u32(r, &idx) || rd_name(r, &nm)) return;
        if (idx < total && !wi->func_names[idx]) wi->func_names[idx] = nm;
        else free(nm);
      }
    }
    r->pos = next;
  }
}

static const char *section_name(uint8_t id) {
  static const char *names[] = {"custom", "type",   "import", "function", "table",     "memory", "global",
                                "export", "start",  "element", "code",    "data",      "datacount", "tag"};
  return id < sizeof names / sizeof names[0] ? names[id] : "unknown";
}

int kafu_wasm_info_parse(const uint8_t *p, size_t len, wasm_info *wi, kafu_err *err) {
  memset(wi, 0, sizeof *wi);
  rd r = {p, 0, len, err, "header"};
  static const uint8_t magic[4] = {0, 'a', 's', 'm'};
  if (len < 8 || memcmp(p, magic, 4) != 0) {
    if (len >= 4 && memcmp(p, magic, 4) == 0)
      return kafu_err_set(err, KAFU_EFORMAT, "invalid wasm module: truncated header (%zu bytes)", len);
    return kafu_err_set(err, KAFU_EFORMAT, "not a wasm module (no \\0asm magic at offset 0)");
  }
  uint32_t version = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
  if (version != 1)
    return kafu_err_set(err, KAFU_EFORMAT, "unsupported wasm binary version %u (expected 1%s)", version,
                        version == 0x1000d ? "; this is a component, not a core module" : "");
  r.pos = 8;
  bool have_funcs = false;
  int rc = 0;
  while (r.pos < len) {
    uint8_t id;
    uint32_t size;
    r.where = "section header";
    if ((rc = rd_u8(&r, &id)) || (rc = rd_u32(&r, &size))) goto fail;
    r.where = section_name(id);
    if (size > len - r.pos) {
      rc = kafu_err_set(err, KAFU_EFORMAT,
                        "invalid wasm module: %s section at offset 0x%zx claims %u bytes but only %zu remain "
                        "(truncated file?)",
                        section_name(id), r.pos, size, len - r.pos);
      goto fail;
    }
    rd s = {p, r.pos, r.pos + size, err, section_name(id)};
    switch (id) {
      case 0: {
        char *nm = NULL;
        if ((rc = rd_name(&s, &nm))) goto fail;
        if (!strcmp(nm, "name")) parse_names(&s, wi);
        free(nm);
        rc = 0;
        break;
      }
      case 1: rc = parse_types(&s, wi); break;
      case 2: rc = parse_imports(&s, wi); break;
      case 3: rc = parse_functions(&s, wi); have_funcs = true; break;
      case 5: rc = rd_u32(&s, &wi->nmemories); break;
      case 6: rc = parse_globals(&s, wi); break;
      case 7: rc = parse_exports(&s, wi); break;
      case 8: wi->has_start = true; break;
      case 4: case 9: case 10: case 11: case 12: case 13: break;
      default:
        rc = kafu_err_set(err, KAFU_EFORMAT, "invalid wasm module: unknown section id %u at offset 0x%zx", id,
                          r.pos - 1);
        break;
    }
    if (rc) goto fail;
    r.pos += size;
  }
  if (!have_funcs) {
    /* no function section: still give imported functions their types */
    rd s = {(const uint8_t *)"\0", 0, 1, err, "function"};
    if ((rc = parse_functions(&s, wi))) goto fail;
  }
  if (!wi->globals && wi->nglobal_imports) {
    rd s = {(const uint8_t *)"\0", 0, 1, err, "global"};
    if ((rc = parse_globals(&s, wi))) goto fail;
  }
  /* export indices must refer to something that exists */
  for (uint32_t i = 0; i < wi->nexports; i++) {
    const wi_export *ex = &wi->exports[i];
    if ((ex->kind == WI_EXT_FUNC && ex->index >= wi_nfuncs_total(wi)) ||
        (ex->kind == WI_EXT_GLOBAL && ex->index >= wi->nglobals)) {
      rc = kafu_err_set(err, KAFU_EFORMAT, "invalid wasm module: export '%s' refers to a missing %s #%u",
                        ex->name, ex->kind == WI_EXT_FUNC ? "function" : "global", ex->index);
      goto fail;
    }
  }
  return 0;
fail:
  kafu_wasm_info_free(wi);
  return rc ? rc : KAFU_EFORMAT;
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

/*
 * reader.c — module structure: sections in order, each decoded into the flat
 * arrays of kafu_wasm_module. Bodies stay undecoded (see code.c).
 *
 * Robustness rules: every section is read through a cursor limited to that
 * section's payload, every vector count is checked against the remaining
 * bytes before allocating, every index is checked against its index space,
 * and a section must be consumed exactly. Errors carry "wasm: <section>
 * section at offset 0x..: <what>". The name section is advisory: a malformed
 * one is ignored (names_invalid) rather than failing the module, as the spec
 * requires for custom sections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_internal.h"

typedef struct {
  kafu_wasm_module *m;
  kafu_err *err;
  uint32_t nfunc_decls; /* function section count */
  bool seen_code;
  uint32_t datacount;
  bool has_datacount;
} parser;

static int section_rank(uint8_t id) {
  /* the order the spec requires; tag (13) sits between memory and global,
   * datacount (12) between element and code */
  switch (id) {
    case KAFU_WASM_SEC_TYPE:
      return 1;
    case KAFU_WASM_SEC_IMPORT:
      return 2;
    case KAFU_WASM_SEC_FUNCTION:
      return 3;
    case KAFU_WASM_SEC_TABLE:
      return 4;
    case KAFU_WASM_SEC_MEMORY:
      return 5;
    case KAFU_WASM_SEC_TAG:
      return 6;
    case KAFU_WASM_SEC_GLOBAL:
      return 7;
    case KAFU_WASM_SEC_EXPORT:
      return 8;
    case KAFU_WASM_SEC_START:
      return 9;
    case KAFU_WASM_SEC_ELEMENT:
      return 10;
    case KAFU_WASM_SEC_DATACOUNT:
      return 11;
    case KAFU_WASM_SEC_CODE:
      return 12;
    case KAFU_WASM_SEC_DATA:
      return 13;
    default:
      return -1;
  }
}

const char *kafu_wasm_section_name(uint8_t id) {
  static const char *names[] = {"custom", "type",  "import",  "function", "table", "memory",    "global",
                                "export", "start", "element", "code",     "data",  "datacount", "tag"};
  return id < sizeof names / sizeof names[0] ? names[id] : "unknown";
}

/* ---- limits / types ------------------------------------------------------- */

static int read_limits(kw_rd *r, kafu_wasm_limits *l, bool memory, uint32_t *features) {
  uint8_t flags;
  if (kw_u8(r, &flags, "limits flags") < 0) return r->failed;
  memset(l, 0, sizeof *l);
  uint8_t allowed = memory ? 0x07 : 0x01;
  if (flags & ~allowed) return kw_fail(r, KAFU_EFORMAT, "invalid limits flags 0x%02x", flags);
  l->has_max = flags & 1;
  l->shared = (flags & 2) != 0;
  l->is64 = (flags & 4) != 0;
  if (l->shared) *features |= KAFU_WASM_FEAT_THREADS;
  if (l->is64) *features |= KAFU_WASM_FEAT_MEMORY64;
  if (l->is64) {
    if (kw_u64(r, &l->min, "limits minimum") < 0) return r->failed;
    if (l->has_max && kw_u64(r, &l->max, "limits maximum") < 0) return r->failed;
  } else {
    uint32_t v;
    if (kw_u32(r, &v, "limits minimum") < 0) return r->failed;
    l->min = v;
    if (l->has_max) {
      if (kw_u32(r, &v, "limits maximum") < 0) return r->failed;
      l->max = v;
    }
  }
  if (l->has_max && l->max < l->min)
    return kw_fail(r, KAFU_EFORMAT, "limits maximum %llu below minimum %llu", (unsigned long long)l->max,
                   (unsigned long long)l->min);
  if (memory && !l->is64 && (l->min > 65536 || (l->has_max && l->max > 65536)))
    return kw_fail(r, KAFU_EFORMAT, "memory size exceeds 65536 pages");
  if (l->shared && !l->has_max) return kw_fail(r, KAFU_EFORMAT, "shared memory without a maximum");
  return 0;
}

static int read_reftype(kw_rd *r, uint8_t *out) {
  if (kw_valtype(r, out, "table element type") < 0) return r->failed;
  if (*out != KAFU_WASM_FUNCREF && *out != KAFU_WASM_EXTERNREF)
    return kw_fail(r, KAFU_EFORMAT, "table element type 0x%02x is not a reference type", *out);
  return 0;
}

static int read_types(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 1, "type count") < 0) return r->failed;
  m->types = calloc(n ? n : 1, sizeof *m->types);
  if (!m->types) return kw_fail(r, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    uint8_t form;
    if (kw_u8(r, &form, "type form") < 0) return r->failed;
    if (form != 0x60) {
      r->pos--;
      return kw_fail(r,
                     form == 0x5e || form == 0x5f || form == 0x4e || form == 0x50 || form == 0x4f
                         ? KAFU_EUNSUP
                         : KAFU_EFORMAT,
                     "type %u: form 0x%02x is not a function type%s", i, form,
                     form == 0x5e || form == 0x5f || form == 0x4e || form == 0x50 || form == 0x4f
                         ? " (GC proposal types are not supported)"
                         : "");
    }
    kafu_wasm_functype *t = &m->types[i];
    if (kw_count(r, &t->nparams, 1, "parameter count") < 0) return r->failed;
    t->params = r->p + r->pos;
    for (uint32_t k = 0; k < t->nparams; k++) {
      uint8_t vt;
      if (kw_valtype(r, &vt, "parameter type") < 0) return r->failed;
    }
    if (kw_count(r, &t->nresults, 1, "result count") < 0) return r->failed;
    t->results = r->p + r->pos;
    for (uint32_t k = 0; k < t->nresults; k++) {
      uint8_t vt;
      if (kw_valtype(r, &vt, "result type") < 0) return r->failed;
    }
    if (t->nresults > 1) m->structural_features |= KAFU_WASM_FEAT_MULTI_VALUE;
    m->ntypes = i + 1;
  }
  return 0;
}

static int check_type_index(kw_rd *r, const kafu_wasm_module *m, uint32_t ti) {
  if (ti >= m->ntypes)
    return kw_fail(r, KAFU_EFORMAT, "type index %u out of range (%u types)", ti, m->ntypes);
  return 0;
}

/* Grow-by-one helpers: counts are bounded by the input size (kw_count), so
 * arrays are sized up front per section; imports add to several spaces. */
static int read_imports(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 4, "import count") < 0) return r->failed;
  m->imports = calloc(n ? n : 1, sizeof *m->imports);
  /* worst case every import is of one kind */
  m->funcs = calloc(n ? n : 1, sizeof *m->funcs);
  m->tables = calloc(n ? n : 1, sizeof *m->tables);
  m->memories = calloc(n ? n : 1, sizeof *m->memories);
  m->globals = calloc(n ? n : 1, sizeof *m->globals);
  m->tags = calloc(n ? n : 1, sizeof *m->tags);
  if (!m->imports || !m->funcs || !m->tables || !m->memories || !m->globals || !m->tags)
    return kw_fail(r, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    kafu_wasm_import *im = &m->imports[i];
    m->nimports = i + 1;
    if (kw_name(r, &im->module, "import module name") < 0) return r->failed;
    if (kw_name(r, &im->name, "import field name") < 0) return r->failed;
    uint8_t kind;
    if (kw_u8(r, &kind, "import kind") < 0) return r->failed;
    im->kind = kind;
    switch (kind) {
      case KAFU_WASM_EXT_FUNC:
        if (kw_u32(r, &im->type_index, "import type index") < 0) return r->failed;
        if (check_type_index(r, m, im->type_index) < 0) return r->failed;
        im->index = m->nfuncs;
        m->funcs[m->nfuncs].type_index = im->type_index;
        m->funcs[m->nfuncs].imported = true;
        m->nfuncs++;
        m->nfunc_imports++;
        break;
      case KAFU_WASM_EXT_TABLE:
        if (read_reftype(r, &im->valtype) < 0) return r->failed;
        if (read_limits(r, &im->limits, false, &m->structural_features) < 0) return r->failed;
        im->index = m->ntables;
        m->tables[m->ntables].elemtype = im->valtype;
        m->tables[m->ntables].limits = im->limits;
        m->tables[m->ntables].imported = true;
        m->ntables++;
        break;
      case KAFU_WASM_EXT_MEMORY:
        if (read_limits(r, &im->limits, true, &m->structural_features) < 0) return r->failed;
        im->index = m->nmemories;
        m->memories[m->nmemories].limits = im->limits;
        m->memories[m->nmemories].imported = true;
        m->nmemories++;
        break;
      case KAFU_WASM_EXT_GLOBAL: {
        uint8_t mut;
        if (kw_valtype(r, &im->valtype, "imported global type") < 0) return r->failed;
        if (kw_u8(r, &mut, "imported global mutability") < 0) return r->failed;
        if (mut > 1) return kw_fail(r, KAFU_EFORMAT, "invalid mutability flag %u", mut);
        im->mutable_ = mut;
        if (mut) m->structural_features |= KAFU_WASM_FEAT_MUTABLE_GLOBALS;
        im->index = m->nglobals;
        kafu_wasm_global *g = &m->globals[m->nglobals++];
        g->valtype = im->valtype;
        g->mutable_ = im->mutable_;
        g->imported = true;
        g->init_kind = KAFU_WASM_INIT_OTHER;
        m->nglobal_imports++;
        break;
      }
      case KAFU_WASM_EXT_TAG: {
        uint8_t attr;
        if (kw_u8(r, &attr, "tag attribute") < 0) return r->failed;
        if (attr != 0) return kw_fail(r, KAFU_EFORMAT, "invalid tag attribute %u", attr);
        if (kw_u32(r, &im->type_index, "tag type index") < 0) return r->failed;
        if (check_type_index(r, m, im->type_index) < 0) return r->failed;
        im->index = m->ntags;
        m->tags[m->ntags++] = im->type_index;
        m->structural_features |= KAFU_WASM_FEAT_EXCEPTIONS;
        break;
      }
      default:
        r->pos--;
        return kw_fail(r, KAFU_EFORMAT, "import %u (%s.%s): invalid kind 0x%02x", i, im->module, im->name,
                       kind);
    }
  }
  return 0;
}

/* Append room for `extra` more entries after `have` in *arr of elem size sz. */
static int grow(void **arr, size_t have, size_t extra, size_t sz) {
  void *p = realloc(*arr, (have + extra + 1) * sz);
  if (!p) return KAFU_ENOMEM;
  memset((char *)p + have * sz, 0, (extra + 1) * sz);
  *arr = p;
  return 0;
}

static int read_functions(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 1, "function count") < 0) return r->failed;
  if (grow((void **)&m->funcs, m->nfuncs, n, sizeof *m->funcs) < 0)
    return kw_fail(r, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    uint32_t ti;
    if (kw_u32(r, &ti, "function type index") < 0) return r->failed;
    if (check_type_index(r, m, ti) < 0) return r->failed;
    m->funcs[m->nfuncs].type_index = ti;
    m->nfuncs++;
  }
  ps->nfunc_decls = n;
  return 0;
}

static int read_tables(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 2, "table count") < 0) return r->failed;
  if (grow((void **)&m->tables, m->ntables, n, sizeof *m->tables) < 0)
    return kw_fail(r, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    kafu_wasm_table *t = &m->tables[m->ntables];
    if (read_reftype(r, &t->elemtype) < 0) return r->failed;
    if (read_limits(r, &t->limits, false, &m->structural_features) < 0) return r->failed;
    m->ntables++;
  }
  if (m->ntables > 1) m->structural_features |= KAFU_WASM_FEAT_REFERENCE_TYPES;
  return 0;
}

static int read_memories(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 2, "memory count") < 0) return r->failed;
  if (grow((void **)&m->memories, m->nmemories, n, sizeof *m->memories) < 0)
    return kw_fail(r, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    if (read_limits(r, &m->memories[m->nmemories].limits, true, &m->structural_features) < 0)
      return r->failed;
    m->nmemories++;
  }
  if (m->nmemories > 1) m->structural_features |= KAFU_WASM_FEAT_MULTI_MEMORY;
  return 0;
}

static int read_tags(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 2, "tag count") < 0) return r->failed;
  if (grow((void **)&m->tags, m->ntags, n, sizeof *m->tags) < 0)
    return kw_fail(r, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    uint8_t attr;
    uint32_t ti;
    if (kw_u8(r, &attr, "tag attribute") < 0) return r->failed;
    if (attr != 0) return kw_fail(r, KAFU_EFORMAT, "invalid tag attribute %u", attr);
    if (kw_u32(r, &ti, "tag type index") < 0) return r->failed;
    if (check_type_index(r, m, ti) < 0) return r->failed;
    m->tags[m->ntags++] = ti;
  }
  if (n) m->structural_features |= KAFU_WASM_FEAT_EXCEPTIONS;
  return 0;
}

static int read_globals(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 3, "global count") < 0) return r->failed;
  if (grow((void **)&m->globals, m->nglobals, n, sizeof *m->globals) < 0)
    return kw_fail(r, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    kafu_wasm_global *g = &m->globals[m->nglobals];
    uint8_t mut;
    if (kw_valtype(r, &g->valtype, "global type") < 0) return r->failed;
    if (kw_u8(r, &mut, "global mutability") < 0) return r->failed;
    if (mut > 1) return kw_fail(r, KAFU_EFORMAT, "global %u: invalid mutability flag %u", m->nglobals, mut);
    g->mutable_ = mut;
    /* constant expressions may only refer to globals declared before (imports
     * in the MVP; earlier globals with extended-const/GC) */
    if (kw_const_expr(m, r, &g->init_kind, &g->init_value, m->nglobals, &m->structural_features) < 0)
      return r->failed;
    m->nglobals++;
  }
  return 0;
}

static int read_exports(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 3, "export count") < 0) return r->failed;
  m->exports = calloc(n ? n : 1, sizeof *m->exports);
  if (!m->exports) return kw_fail(r, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    kafu_wasm_export *e = &m->exports[i];
    uint8_t kind;
    m->nexports = i + 1;
    if (kw_name(r, &e->name, "export name") < 0) return r->failed;
    if (kw_u8(r, &kind, "export kind") < 0) return r->failed;
    if (kw_u32(r, &e->index, "export index") < 0) return r->failed;
    e->kind = kind;
    uint32_t limit;
    switch (kind) {
      case KAFU_WASM_EXT_FUNC:
        limit = m->nfuncs;
        break;
      case KAFU_WASM_EXT_TABLE:
        limit = m->ntables;
        break;
      case KAFU_WASM_EXT_MEMORY:
        limit = m->nmemories;
        break;
      case KAFU_WASM_EXT_GLOBAL:
        limit = m->nglobals;
        break;
      case KAFU_WASM_EXT_TAG:
        limit = m->ntags;
        break;
      default:
        return kw_fail(r, KAFU_EFORMAT, "export '%s': invalid kind 0x%02x", e->name, kind);
    }
    if (e->index >= limit)
      return kw_fail(r, KAFU_EFORMAT, "export '%s': %s index %u out of range (%u)", e->name,
                     kafu_wasm_kind_name(e->kind), e->index, limit);
    if (kind == KAFU_WASM_EXT_GLOBAL && m->globals[e->index].mutable_)
      m->structural_features |= KAFU_WASM_FEAT_MUTABLE_GLOBALS;
    for (uint32_t k = 0; k < i; k++)
      if (!strcmp(m->exports[k].name, e->name))
        return kw_fail(r, KAFU_EFORMAT, "duplicate export name '%s'", e->name);
  }
  return 0;
}

static int read_start(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  if (kw_u32(r, &m->start_func, "start function") < 0) return r->failed;
  if (m->start_func >= m->nfuncs)
    return kw_fail(r, KAFU_EFORMAT, "start function %u out of range (%u functions)", m->start_func,
                   m->nfuncs);
  m->has_start = true;
  return 0;
}

static int add_elem_func(kafu_wasm_module *m, kw_rd *r, uint32_t fi, uint32_t *cap) {
  if (fi >= m->nfuncs)
    return kw_fail(r, KAFU_EFORMAT, "element refers to function %u, out of range (%u)", fi, m->nfuncs);
  if (m->nelem_funcs == *cap) {
    uint32_t nc = *cap ? *cap * 2 : 64;
    uint32_t *p = realloc(m->elem_funcs, (size_t)nc * sizeof *p);
    if (!p) return kw_fail(r, KAFU_ENOMEM, "out of memory");
    m->elem_funcs = p;
    *cap = nc;
  }
  m->elem_funcs[m->nelem_funcs++] = fi;
  return 0;
}

static int read_elements(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n, cap = 0;
  if (kw_count(r, &n, 1, "element segment count") < 0) return r->failed;
  for (uint32_t s = 0; s < n; s++) {
    uint32_t flags, table = 0, count;
    if (kw_u32(r, &flags, "element segment flags") < 0) return r->failed;
    if (flags > 7) return kw_fail(r, KAFU_EFORMAT, "element segment %u: invalid flags %u", s, flags);
    if (flags != 0) m->structural_features |= KAFU_WASM_FEAT_REFERENCE_TYPES | KAFU_WASM_FEAT_BULK_MEMORY;
    bool passive_or_decl = flags & 1;
    bool explicit_table = (flags & 3) == 2;
    bool exprs = flags & 4;
    if (explicit_table && kw_u32(r, &table, "element table index") < 0) return r->failed;
    if (!passive_or_decl) {
      kafu_wasm_init_kind k;
      uint64_t v;
      if (table >= m->ntables)
        return kw_fail(r, KAFU_EFORMAT, "element segment %u: table %u out of range (%u)", s, table,
                       m->ntables);
      if (kw_const_expr(m, r, &k, &v, m->nglobals, &m->structural_features) < 0) return r->failed;
    }
    if (flags & 3) { /* elemkind byte (flags 1-3) or reftype (5-7) */
      uint8_t kind;
      if (exprs) {
        if (read_reftype(r, &kind) < 0) return r->failed;
      } else {
        if (kw_u8(r, &kind, "element kind") < 0) return r->failed;
        if (kind != 0)
          return kw_fail(r, KAFU_EFORMAT, "element segment %u: invalid element kind %u", s, kind);
      }
    }
    if (kw_count(r, &count, 1, "element count") < 0) return r->failed;
    for (uint32_t i = 0; i < count; i++) {
      if (!exprs) {
        uint32_t fi;
        if (kw_u32(r, &fi, "element function index") < 0) return r->failed;
        if (add_elem_func(m, r, fi, &cap) < 0) return r->failed;
      } else {
        kafu_wasm_init_kind k;
        uint64_t v;
        if (kw_const_expr(m, r, &k, &v, m->nglobals, &m->structural_features) < 0) return r->failed;
        if (k == KAFU_WASM_INIT_REF && v != UINT64_MAX && add_elem_func(m, r, (uint32_t)v, &cap) < 0)
          return r->failed;
      }
    }
    m->nelem_segments = s + 1;
  }
  return 0;
}

static int read_datacount(parser *ps, kw_rd *r) {
  if (kw_u32(r, &ps->datacount, "data count") < 0) return r->failed;
  ps->has_datacount = true;
  ps->m->structural_features |= KAFU_WASM_FEAT_BULK_MEMORY;
  return 0;
}

static int read_code(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 2, "code entry count") < 0) return r->failed;
  if (n != ps->nfunc_decls)
    return kw_fail(r, KAFU_EFORMAT, "%u code entries but the function section declares %u functions", n,
                   ps->nfunc_decls);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t size;
    uint32_t fi = m->nfunc_imports + i;
    if (kw_u32(r, &size, "function body size") < 0) return r->failed;
    if (size == 0) return kw_fail(r, KAFU_EFORMAT, "function %u: empty body", fi);
    m->funcs[fi].body_offset = r->pos;
    m->funcs[fi].body_len = size;
    if (kw_skip(r, size, "function body") < 0) return r->failed;
  }
  ps->seen_code = true;
  return 0;
}

static int read_data(parser *ps, kw_rd *r) {
  kafu_wasm_module *m = ps->m;
  uint32_t n;
  if (kw_count(r, &n, 2, "data segment count") < 0) return r->failed;
  if (ps->has_datacount && n != ps->datacount)
    return kw_fail(r, KAFU_EFORMAT, "%u data segments but the datacount section says %u", n, ps->datacount);
  m->data = calloc(n ? n : 1, sizeof *m->data);
  if (!m->data) return kw_fail(r, KAFU_ENOMEM, "out of memory");
  for (uint32_t s = 0; s < n; s++) {
    kafu_wasm_data *d = &m->data[s];
    uint32_t flags, len;
    m->ndata = s + 1;
    if (kw_u32(r, &flags, "data segment flags") < 0) return r->failed;
    if (flags > 2) return kw_fail(r, KAFU_EFORMAT, "data segment %u: invalid flags %u", s, flags);
    d->passive = flags == 1;
    if (d->passive) m->structural_features |= KAFU_WASM_FEAT_BULK_MEMORY;
    if (flags == 2 && kw_u32(r, &d->memory, "data memory index") < 0) return r->failed;
    if (!d->passive) {
      kafu_wasm_init_kind k;
      uint64_t v;
      if (d->memory >= m->nmemories)
        return kw_fail(r, KAFU_EFORMAT, "data segment %u: memory %u out of range (%u)", s, d->memory,
                       m->nmemories);
      if (kw_const_expr(m, r, &k, &v, m->nglobals, &m->structural_features) < 0) return r->failed;
      d->offset_known = k == KAFU_WASM_INIT_CONST;
      d->offset = v;
    }
    if (kw_u32(r, &len, "data segment size") < 0) return r->failed;
    d->bytes = r->p + r->pos;
    d->len = len;
    if (kw_skip(r, len, "data segment bytes") < 0) return r->failed;
  }
  return 0;
}

/* ---- custom sections ------------------------------------------------------- */

/* The "name" section: module name (0), function names (1), global names (7).
 * Other subsections are skipped. Any error discards all names. */
static void read_names(kafu_wasm_module *m, const kafu_wasm_custom *c) {
  kafu_err scratch;
  kw_rd r = {.p = m->bytes,
             .pos = (size_t)(c->data - m->bytes),
             .end = (size_t)(c->data - m->bytes) + c->len,
             .ctx = "name section",
             .err = &scratch};
  char **fnames = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *fnames);
  char **gnames = calloc(m->nglobals ? m->nglobals : 1, sizeof *gnames);
  char *modname = NULL;
  if (!fnames || !gnames) goto bad;
  while (r.pos < r.end) {
    uint8_t sub;
    uint32_t size;
    if (kw_u8(&r, &sub, "subsection id") < 0 || kw_u32(&r, &size, "subsection size") < 0) goto bad;
    if (size > r.end - r.pos) goto bad;
    size_t sub_end = r.pos + size;
    kw_rd s = r;
    s.end = sub_end;
    if (sub == 0) {
      free(modname);
      if (kw_name(&s, &modname, "module name") < 0) goto bad;
    } else if (sub == 1 || sub == 7) {
      char **arr = sub == 1 ? fnames : gnames;
      uint32_t limit = sub == 1 ? m->nfuncs : m->nglobals;
      uint32_t cnt;
      if (kw_count(&s, &cnt, 2, "name count") < 0) goto bad;
      for (uint32_t i = 0; i < cnt; i++) {
        uint32_t idx;
        char *nm;
        if (kw_u32(&s, &idx, "name index") < 0 || kw_name(&s, &nm, "name") < 0) goto bad;
        if (idx >= limit) {
          free(nm);
          goto bad;
        }
        free(arr[idx]);
        arr[idx] = nm;
      }
    } else {
      s.pos = sub_end;
    }
    if (s.pos != sub_end) goto bad;
    r.pos = sub_end;
  }
  for (uint32_t i = 0; i < m->nfuncs; i++) m->funcs[i].name = fnames[i];
  for (uint32_t i = 0; i < m->nglobals; i++) m->globals[i].name = gnames[i];
  free(fnames);
  free(gnames);
  m->module_name = modname;
  return;
bad:
  if (fnames)
    for (uint32_t i = 0; i < m->nfuncs; i++) free(fnames[i]);
  if (gnames)
    for (uint32_t i = 0; i < m->nglobals; i++) free(gnames[i]);
  free(fnames);
  free(gnames);
  free(modname);
  m->names_invalid = true;
}

static int read_custom(parser *ps, kw_rd *r, size_t section_offset) {
  kafu_wasm_module *m = ps->m;
  char *name;
  if (kw_name(r, &name, "custom section name") < 0) return r->failed;
  kafu_wasm_custom *arr = realloc(m->customs, (m->ncustoms + 1) * sizeof *arr);
  if (!arr) {
    free(name);
    return kw_fail(r, KAFU_ENOMEM, "out of memory");
  }
  m->customs = arr;
  kafu_wasm_custom *c = &arr[m->ncustoms++];
  c->name = name;
  c->data = r->p + r->pos;
  c->len = r->end - r->pos;
  c->section_offset = section_offset;
  c->section_end = r->end;
  r->pos = r->end;
  return 0;
}

/* ---- driver ---------------------------------------------------------------- */

int kafu_wasm_parse(const uint8_t *bytes, size_t len, kafu_wasm_module *m, kafu_err *err) {
  memset(m, 0, sizeof *m);
  m->bytes = bytes;
  m->len = len;
  static const uint8_t magic[4] = {0, 'a', 's', 'm'};
  if (!bytes || len < 8 || memcmp(bytes, magic, 4) != 0) {
    if (bytes && len >= 4 && memcmp(bytes, magic, 4) == 0)
      return kafu_err_set(err, KAFU_EFORMAT, "wasm: truncated header (%zu bytes)", len);
    return kafu_err_set(err, KAFU_EFORMAT, "not a WebAssembly module (bad magic number)");
  }
  uint32_t version = bytes[4] | bytes[5] << 8 | bytes[6] << 16 | (uint32_t)bytes[7] << 24;
  if (version != 1) {
    if (version == 0x0001000du || (version & 0xffff) == 0x000d)
      return kafu_err_set(err, KAFU_EUNSUP, "wasm: this is a component-model binary, not a core module");
    return kafu_err_set(err, KAFU_EFORMAT, "wasm: unsupported binary version %u", version);
  }
  parser ps = {.m = m, .err = err};
  int last_rank = 0;
  size_t pos = 8;
  int rc = 0;
  while (pos < len) {
    kw_rd hdr = {.p = bytes, .pos = pos, .end = len, .ctx = "section header", .err = err};
    uint8_t id;
    uint32_t size;
    if (kw_u8(&hdr, &id, "section id") < 0 || kw_u32(&hdr, &size, "section size") < 0) {
      rc = hdr.failed;
      goto fail;
    }
    char ctx[64];
    snprintf(ctx, sizeof ctx, "wasm: %s section (id %u)", kafu_wasm_section_name(id), id);
    if (size > len - hdr.pos) {
      rc = kafu_err_set(err, KAFU_EFORMAT,
                        "%s at offset 0x%zx: size %u extends past the end of the module (%zu bytes left)",
                        ctx, pos, size, len - hdr.pos);
      goto fail;
    }
    kw_rd r = {.p = bytes, .pos = hdr.pos, .end = hdr.pos + size, .ctx = ctx, .err = err};
    if (id != KAFU_WASM_SEC_CUSTOM) {
      int rank = section_rank(id);
      if (rank < 0) {
        rc = kafu_err_set(err, KAFU_EFORMAT, "wasm: unknown section id %u at offset 0x%zx", id, pos);
        goto fail;
      }
      if (rank <= last_rank) {
        rc = kafu_err_set(err, KAFU_EFORMAT, "%s at offset 0x%zx: duplicate or out of order", ctx, pos);
        goto fail;
      }
      last_rank = rank;
    }
    kafu_wasm_section *sa = realloc(m->sections, (m->nsections + 1) * sizeof *sa);
    if (!sa) {
      rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
      goto fail;
    }
    m->sections = sa;
    sa[m->nsections++] = (kafu_wasm_section){id, pos, hdr.pos, size};
    switch (id) {
      case KAFU_WASM_SEC_CUSTOM:
        read_custom(&ps, &r, pos);
        break;
      case KAFU_WASM_SEC_TYPE:
        read_types(&ps, &r);
        break;
      case KAFU_WASM_SEC_IMPORT:
        read_imports(&ps, &r);
        break;
      case KAFU_WASM_SEC_FUNCTION:
        read_functions(&ps, &r);
        break;
      case KAFU_WASM_SEC_TABLE:
        read_tables(&ps, &r);
        break;
      case KAFU_WASM_SEC_MEMORY:
        read_memories(&ps, &r);
        break;
      case KAFU_WASM_SEC_TAG:
        read_tags(&ps, &r);
        break;
      case KAFU_WASM_SEC_GLOBAL:
        read_globals(&ps, &r);
        break;
      case KAFU_WASM_SEC_EXPORT:
        read_exports(&ps, &r);
        break;
      case KAFU_WASM_SEC_START:
        read_start(&ps, &r);
        break;
      case KAFU_WASM_SEC_ELEMENT:
        read_elements(&ps, &r);
        break;
      case KAFU_WASM_SEC_DATACOUNT:
        read_datacount(&ps, &r);
        break;
      case KAFU_WASM_SEC_CODE:
        read_code(&ps, &r);
        break;
      case KAFU_WASM_SEC_DATA:
        read_data(&ps, &r);
        break;
    }
    if (r.failed) {
      rc = r.failed;
      goto fail;
    }
    if (r.pos != r.end) {
      rc = kafu_err_set(err, KAFU_EFORMAT, "%s at offset 0x%zx: %zu unread bytes at the end of the section",
                        ctx, pos, r.end - r.pos);
      goto fail;
    }
    pos = r.end;
  }
  if (ps.nfunc_decls && !ps.seen_code) {
    rc = kafu_err_set(err, KAFU_EFORMAT,
                      "wasm: function section declares %u functions but there is no code section",
                      ps.nfunc_decls);
    goto fail;
  }
  for (uint32_t i = 0; i < m->ncustoms; i++)
    if (!strcmp(m->customs[i].name, "name")) {
      read_names(m, &m->customs[i]);
      break;
    }
  return 0;
fail:
  kafu_wasm_module_free(m);
  return rc ? rc : KAFU_EFORMAT;
}

void kafu_wasm_module_free(kafu_wasm_module *m) {
  if (!m) return;
  for (uint32_t i = 0; i < m->nimports; i++) {
    free(m->imports[i].module);
    free(m->imports[i].name);
  }
  for (uint32_t i = 0; i < m->nexports; i++) free(m->exports[i].name);
  for (uint32_t i = 0; i < m->ncustoms; i++) free(m->customs[i].name);
  if (m->funcs)
    for (uint32_t i = 0; i < m->nfuncs; i++) free((char *)m->funcs[i].name);
  if (m->globals)
    for (uint32_t i = 0; i < m->nglobals; i++) free((char *)m->globals[i].name);
  free(m->sections);
  free(m->types);
  free(m->imports);
  free(m->funcs);
  free(m->tables);
  free(m->memories);
  free(m->globals);
  free(m->tags);
  free(m->exports);
  free(m->elem_funcs);
  free(m->data);
  free(m->customs);
  free(m->module_name);
  memset(m, 0, sizeof *m);
}

/* ---- lookups and formatting --------------------------------------------------- */

const kafu_wasm_export *kafu_wasm_find_export(const kafu_wasm_module *m, const char *name, int kind) {
  for (uint32_t i = 0; i < m->nexports; i++)
    if ((kind < 0 || (int)m->exports[i].kind == kind) && !strcmp(m->exports[i].name, name))
      return &m->exports[i];
  return NULL;
}

const kafu_wasm_import *kafu_wasm_find_import(const kafu_wasm_module *m, const char *module,
                                              const char *name) {
  for (uint32_t i = 0; i < m->nimports; i++)
    if (!strcmp(m->imports[i].module, module) && !strcmp(m->imports[i].name, name)) return &m->imports[i];
  return NULL;
}

const kafu_wasm_custom *kafu_wasm_find_custom(const kafu_wasm_module *m, const char *name) {
  for (uint32_t i = 0; i < m->ncustoms; i++)
    if (!strcmp(m->customs[i].name, name)) return &m->customs[i];
  return NULL;
}

const kafu_wasm_functype *kafu_wasm_func_type(const kafu_wasm_module *m, uint32_t fi) {
  if (fi >= m->nfuncs || m->funcs[fi].type_index >= m->ntypes) return NULL;
  return &m->types[m->funcs[fi].type_index];
}

int64_t kafu_wasm_find_func_by_name(const kafu_wasm_module *m, const char *name) {
  for (uint32_t i = 0; i < m->nfuncs; i++)
    if (m->funcs[i].name && !strcmp(m->funcs[i].name, name)) return i;
  return -1;
}

bool kafu_wasm_functype_equal(const kafu_wasm_functype *a, const kafu_wasm_functype *b) {
  return a->nparams == b->nparams && a->nresults == b->nresults &&
         !memcmp(a->params, b->params, a->nparams) && !memcmp(a->results, b->results, a->nresults);
}

const char *kafu_wasm_valtype_name(uint8_t vt) {
  switch (vt) {
    case KAFU_WASM_I32:
      return "i32";
    case KAFU_WASM_I64:
      return "i64";
    case KAFU_WASM_F32:
      return "f32";
    case KAFU_WASM_F64:
      return "f64";
    case KAFU_WASM_V128:
      return "v128";
    case KAFU_WASM_FUNCREF:
      return "funcref";
    case KAFU_WASM_EXTERNREF:
      return "externref";
    default:
      return "?";
  }
}

const char *kafu_wasm_kind_name(kafu_wasm_extern_kind k) {
  switch (k) {
    case KAFU_WASM_EXT_FUNC:
      return "func";
    case KAFU_WASM_EXT_TABLE:
      return "table";
    case KAFU_WASM_EXT_MEMORY:
      return "memory";
    case KAFU_WASM_EXT_GLOBAL:
      return "global";
    case KAFU_WASM_EXT_TAG:
      return "tag";
  }
  return "?";
}

char *kafu_wasm_format_functype(const kafu_wasm_functype *t, char *buf, size_t n) {
  size_t o = 0;
  if (!n) return buf;
  buf[0] = 0;
#define PUT(...)                                                 \
  do {                                                           \
    int k_ = snprintf(buf + o, o < n ? n - o : 0, __VA_ARGS__);  \
    if (k_ > 0) o = o + (size_t)k_ < n ? o + (size_t)k_ : n - 1; \
  } while (0)
  PUT("(");
  for (uint32_t i = 0; i < t->nparams; i++) PUT("%s%s", i ? ", " : "", kafu_wasm_valtype_name(t->params[i]));
  PUT(") -> ");
  if (t->nresults == 0) PUT("()");
  if (t->nresults > 1) PUT("(");
  for (uint32_t i = 0; i < t->nresults; i++)
    PUT("%s%s", i ? ", " : "", kafu_wasm_valtype_name(t->results[i]));
  if (t->nresults > 1) PUT(")");
#undef PUT
  return buf;
}

char *kafu_wasm_format_features(uint32_t f, char *buf, size_t n) {
  static const char *names[] = {
      "sign-ext", "nontrapping-fptoint", "bulk-memory",   "reference-types", "simd",
      "threads",  "multivalue",          "tail-call",     "exceptions",      "mutable-globals",
      "memory64", "multi-memory",        "extended-const"};
  size_t o = 0;
  if (!n) return buf;
  buf[0] = 0;
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (!(f & (1u << i))) continue;
    int k = snprintf(buf + o, n - o, "%s%s", o ? ", " : "", names[i]);
    if (k < 0 || (size_t)k >= n - o) break;
    o += (size_t)k;
  }
  if (!o) snprintf(buf, n, "mvp");
  return buf;
}

/*
 * plan.c — Snapify's analysis, done on our own reader so it is testable
 * without Binaryen and so every bad input gets a message naming the section
 * or function at fault.
 *
 * 1. Annotations: custom sections ".kafu_dest.<fn>.<node>" (emitted by
 *    kafu.h, empty) name the function and its destination. <fn> must be
 *    exported under that name (KAFU_EXPORT); in a command module the export
 *    is wasm-ld's thunk "call fn; call __wasm_call_dtors", while internal
 *    calls go to fn itself, so the thunk is resolved to its callee.
 * 2. Reachability: after the transform every annotated function calls the
 *    import kafu.migration_point. A function can be on the stack at a
 *    migration point iff it can reach an annotated function through direct
 *    calls or through indirect calls. An indirect call with signature S can
 *    reach every address-taken function (table element, ref.func) of
 *    signature S. Only those functions need Asyncify instrumentation.
 * 3. If no reaching function is address-taken, indirect calls never lead to
 *    a migration point and Asyncify may ignore them (asyncify-ignore-indirect);
 *    otherwise the transform passes the computed set as an only-list.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapify_internal.h"

/* ---- small helpers ----------------------------------------------------------- */

static void notev(kafu_buf *to, const char *fmt, va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  kafu_buf_printf(to, "%s\n", msg);
}

static void warnf(ks_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(ks_plan *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  notev(&p->warnings, fmt, ap);
  va_end(ap);
}

/* An annotated function whose migrations cannot happen (ks_plan.vanished). */
static void vanishedf(ks_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vanishedf(ks_plan *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  notev(&p->vanished, fmt, ap);
  va_end(ap);
}

static bool valid_c_identifier(const char *s, size_t n) {
  if (n == 0 || isdigit((unsigned char)s[0])) return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_') return false;
  return true;
}

static const char *func_label(const kafu_wasm_module *m, uint32_t fi, char *buf, size_t n) {
  if (fi < m->nfuncs && m->funcs[fi].name)
    snprintf(buf, n, "%u (%s)", fi, m->funcs[fi].name);
  else
    snprintf(buf, n, "%u", fi);
  return buf;
}

/* ---- per-function summaries (one scan of each body) ---------------------------- */

typedef struct {
  uint32_t *v;
  uint32_t n, cap;
} u32vec;

static int vpush(u32vec *a, uint32_t x) {
  if (a->n == a->cap) {
    uint32_t nc = a->cap ? a->cap * 2 : 256;
    uint32_t *p = realloc(a->v, (size_t)nc * sizeof *p);
    if (!p) return KAFU_ENOMEM;
    a->v = p;
    a->cap = nc;
  }
  a->v[a->n++] = x;
  return 0;
}

typedef struct {
  const kafu_wasm_module *m;
  uint32_t cur;              /* function being scanned */
  const uint32_t *canon;     /* type index -> canonical type index */
  u32vec call_from, call_to; /* direct call edges */
  u32vec ind_from, ind_sig;  /* indirect call sites (canonical sig) */
  uint8_t *address_taken;
  uint32_t *func_features;
  int oom;
} graph;

static int on_instr(void *ud, const kafu_wasm_instr *in) {
  graph *g = ud;
  int rc = 0;
  switch (in->op) {
    case KAFU_WASM_OP_CALL:
    case KAFU_WASM_OP_RETURN_CALL:
      rc = vpush(&g->call_from, g->cur) | vpush(&g->call_to, (uint32_t)in->a);
      break;
    case KAFU_WASM_OP_CALL_INDIRECT:
    case KAFU_WASM_OP_RETURN_CALL_INDIRECT:
      rc = vpush(&g->ind_from, g->cur) | vpush(&g->ind_sig, g->canon[in->a]);
      break;
    case KAFU_WASM_OP_REF_FUNC:
      g->address_taken[in->a] = 1;
      break;
    default:
      break;
  }
  if (rc) g->oom = 1;
  return rc ? KAFU_ENOMEM : 0;
}

/* CSR adjacency: for each key k, the values of all pairs (k, v). */
typedef struct {
  uint32_t *start; /* nkeys + 1 */
  uint32_t *vals;
} csr;

static int csr_build(csr *c, uint32_t nkeys, const u32vec *keys, const u32vec *vals) {
  c->start = calloc((size_t)nkeys + 1, sizeof *c->start);
  c->vals = malloc((keys->n ? keys->n : 1) * sizeof *c->vals);
  uint32_t *fill = calloc((size_t)nkeys + 1, sizeof *fill);
  if (!c->start || !c->vals || !fill) {
    free(fill);
    return KAFU_ENOMEM;
  }
  for (uint32_t i = 0; i < keys->n; i++) c->start[keys->v[i] + 1]++;
  for (uint32_t k = 0; k < nkeys; k++) c->start[k + 1] += c->start[k];
  for (uint32_t i = 0; i < keys->n; i++) {
    uint32_t k = keys->v[i];
    c->vals[c->start[k] + fill[k]++] = vals->v[i];
  }
  free(fill);
  return 0;
}

static void csr_free(csr *c) {
  free(c->start);
  free(c->vals);
}

/* ---- annotations ------------------------------------------------------------------ */

static int parse_annotations(const kafu_wasm_module *m, ks_plan *p, kafu_err *err) {
  size_t plen = strlen(KS_DEST_PREFIX);
  uint32_t cap = 0;
  for (uint32_t i = 0; i < m->ncustoms; i++) {
    const char *sec = m->customs[i].name;
    if (strncmp(sec, KS_DEST_PREFIX, plen) != 0) continue;
    const char *fn = sec + plen;
    const char *dot = strchr(fn, '.');
    if (!dot)
      return kafu_err_set(err, KAFU_EINVAL,
                          "custom section '%s': no destination node (expected .kafu_dest.<function>.<node>)",
                          sec);
    size_t fnlen = (size_t)(dot - fn);
    if (!valid_c_identifier(fn, fnlen))
      return kafu_err_set(err, KAFU_EINVAL, "custom section '%s': '%.*s' is not a valid function name", sec,
                          (int)fnlen, fn);
    const char *node = dot + 1;
    if (!*node)
      return kafu_err_set(err, KAFU_EINVAL, "custom section '%s': empty destination node for function '%.*s'",
                          sec, (int)fnlen, fn);
    const char *why;
    if (!kafu_node_id_valid(node, &why))
      return kafu_err_set(err, KAFU_EINVAL,
                          "custom section '%s': invalid destination node '%s' for function '%.*s': %s (node "
                          "ids are 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit)",
                          sec, node, (int)fnlen, fn, why);
    /* same function twice? */
    bool dup = false;
    for (uint32_t k = 0; k < p->nannots; k++) {
      ks_annot *a = &p->annots[k];
      if (strlen(a->name) != fnlen || strncmp(a->name, fn, fnlen) != 0) continue;
      if (!strcmp(a->dest, node)) {
        dup = true; /* identical annotation from two objects: harmless */
        break;
      }
      return kafu_err_set(err, KAFU_EINVAL,
                          "function '%s' has two destinations: '%s' (section '%s') and '%s' (section '%s'); "
                          "keep one KAFU_DEST per function",
                          a->name, a->dest, a->section, node, sec);
    }
    if (dup) continue;
    if (p->nannots == cap) {
      cap = cap ? cap * 2 : 8;
      ks_annot *na = realloc(p->annots, cap * sizeof *na);
      if (!na) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
      p->annots = na;
    }
    ks_annot *a = &p->annots[p->nannots++];
    memset(a, 0, sizeof *a);
    a->name = strndup(fn, fnlen);
    a->dest = strdup(node);
    a->section = strdup(sec);
    if (!a->name || !a->dest || !a->section) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  /* function ids: alphabetical by function name, so they do not depend on the
   * order in which the linker happened to emit the sections */
  for (uint32_t i = 1; i < p->nannots; i++)
    for (uint32_t k = i; k > 0 && strcmp(p->annots[k - 1].name, p->annots[k].name) > 0; k--) {
      ks_annot t = p->annots[k];
      p->annots[k] = p->annots[k - 1];
      p->annots[k - 1] = t;
    }
  return 0;
}

/* Is export function ef a wasm-ld command-export thunk? Pattern:
 *   [call __wasm_call_ctors;] local.get 0 .. local.get n-1; call X; call D; end
 * with D of type () -> () (named __wasm_call_dtors when names exist) and X of
 * the same signature as the export. Returns X or -1. *ends_in_dtors reports a
 * body that ends with "call __wasm_call_dtors; end" but is not a pure thunk:
 * the real function was inlined into it. */
typedef struct {
  kafu_wasm_instr ins[16];
  uint32_t n;
  bool too_long;
  kafu_wasm_instr last2[2]; /* the two instructions before the final end */
  uint32_t total;
} thunk_scan;

static int on_thunk_instr(void *ud, const kafu_wasm_instr *in) {
  thunk_scan *t = ud;
  if (t->n < 16)
    t->ins[t->n++] = *in;
  else
    t->too_long = true;
  if (in->op != KAFU_WASM_OP_END || in->depth != 0) {
    t->last2[0] = t->last2[1];
    t->last2[1] = *in;
  }
  t->total++;
  return 0;
}

/* __wasm_call_dtors: by name when the module has names; without names any
 * () -> () function qualifies for the exact thunk pattern, but not for the
 * looser "inlined thunk" heuristic (strict). */
static bool is_dtors(const kafu_wasm_module *m, uint32_t fi, bool strict) {
  const kafu_wasm_functype *t = kafu_wasm_func_type(m, fi);
  if (!t || t->nparams || t->nresults) return false;
  if (m->funcs[fi].name) return !strcmp(m->funcs[fi].name, "__wasm_call_dtors");
  return !strict;
}

/* __wasm_call_ctors: by name when the module has names, else any () -> (). */
static bool is_ctors(const kafu_wasm_module *m, uint32_t fi) {
  const kafu_wasm_functype *t = kafu_wasm_func_type(m, fi);
  if (!t || t->nparams || t->nresults) return false;
  return !m->funcs[fi].name || !strcmp(m->funcs[fi].name, "__wasm_call_ctors");
}

static int64_t resolve_thunk(const kafu_wasm_module *m, uint32_t ef, bool *ends_in_dtors, kafu_err *err) {
  thunk_scan t = {0};
  *ends_in_dtors = false;
  if (kafu_wasm_scan_code(m, ef, on_thunk_instr, &t, NULL, err) < 0) return -2;
  const kafu_wasm_functype *et = kafu_wasm_func_type(m, ef);
  /* a module with constructors (e.g. wasi-libc's preopen setup, C++ statics)
   * gets "call __wasm_call_ctors" first in every thunk */
  uint32_t o = t.n > 0 && t.ins[0].op == KAFU_WASM_OP_CALL && is_ctors(m, (uint32_t)t.ins[0].a) ? 1 : 0;
  if (!t.too_long && t.n == et->nparams + 3 + o) {
    bool ok = true;
    for (uint32_t i = 0; i < et->nparams; i++)
      if (t.ins[o + i].op != KAFU_WASM_OP_LOCAL_GET || t.ins[o + i].a != i) ok = false;
    const kafu_wasm_instr *c1 = &t.ins[o + et->nparams], *c2 = &t.ins[o + et->nparams + 1];
    if (ok && c1->op == KAFU_WASM_OP_CALL && c2->op == KAFU_WASM_OP_CALL && c1->a != c2->a && c1->a != ef &&
        is_dtors(m, (uint32_t)c2->a, false)) {
      const kafu_wasm_functype *xt = kafu_wasm_func_type(m, (uint32_t)c1->a);
      if (xt && kafu_wasm_functype_equal(xt, et)) return (int64_t)c1->a;
    }
  }
  if (t.last2[1].op == KAFU_WASM_OP_CALL && is_dtors(m, (uint32_t)t.last2[1].a, true)) *ends_in_dtors = true;
  return -1;
}

static int resolve_annotations(const kafu_wasm_module *m, ks_plan *p, kafu_err *err) {
  for (uint32_t i = 0; i < p->nannots; i++) {
    ks_annot *a = &p->annots[i];
    const kafu_wasm_export *e = kafu_wasm_find_export(m, a->name, -1);
    if (e && e->kind != KAFU_WASM_EXT_FUNC)
      return kafu_err_set(err, KAFU_EINVAL,
                          "annotated function '%s' (section '%s'): the export '%s' is a %s, not a function",
                          a->name, a->section, a->name, kafu_wasm_kind_name(e->kind));
    if (!e) {
      if (kafu_wasm_find_func_by_name(m, a->name) >= 0)
        return kafu_err_set(
            err, KAFU_EINVAL,
            "annotated function '%s' (section '%s') exists but is not exported: it must not be "
            "static and needs KAFU_EXPORT(%s)",
            a->name, a->section, a->name);
      const char *best = NULL;
      int bestd = 4;
      for (uint32_t k = 0; k < m->nexports; k++) {
        if (m->exports[k].kind != KAFU_WASM_EXT_FUNC) continue;
        int d = kafu_edit_distance(a->name, m->exports[k].name);
        if (d < bestd) bestd = d, best = m->exports[k].name;
      }
      return kafu_err_set(
          err, KAFU_EINVAL,
          "section '%s' names function '%s', but the module exports no function of that name%s%s%s "
          "(is it defined, non-static, and marked KAFU_EXPORT(%s)?)",
          a->section, a->name, best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "", a->name);
    }
    a->export_func = e->index;
    if (m->funcs[e->index].imported)
      return kafu_err_set(err, KAFU_EINVAL,
                          "annotated function '%s' is an import of the module, not a function defined in it",
                          a->name);
    bool ends_in_dtors;
    int64_t real = resolve_thunk(m, e->index, &ends_in_dtors, err);
    if (real == -2) return err ? err->code : KAFU_EFORMAT;
    if (real >= 0) {
      a->func = (uint32_t)real;
      a->via_thunk = true;
    } else {
      a->func = e->index;
      if (ends_in_dtors)
        vanishedf(p,
              "annotated function '%s': its export is a command-export thunk that contains more than a call "
              "(the body of '%s' was inlined into it, probably because clang ran wasm-opt when -O was passed "
              "at "
              "link time); link without -O so calls of '%s' stay calls",
              a->name, a->name, a->name);
    }
    for (uint32_t k = 0; k < i; k++)
      if (p->annots[k].func == a->func)
        return kafu_err_set(err, KAFU_EINVAL, "annotated functions '%s' and '%s' are the same function (%u)",
                            p->annots[k].name, a->name, a->func);
    if (m->funcs[a->func].imported)
      return kafu_err_set(err, KAFU_EINVAL, "annotated function '%s' resolves to an imported function",
                          a->name);
  }
  return 0;
}

/* ---- module checks ------------------------------------------------------------ */

static int check_module(const kafu_wasm_module *m, ks_plan *p, kafu_err *err) {
  if (kafu_wasm_find_custom(m, "linking"))
    return kafu_err_set(
        err, KAFU_EINVAL,
        "this is a relocatable object file (it has a 'linking' section), not a linked module: "
        "snapify the linked program");
  if (kafu_wasm_find_import(m, "kafu", "migration_point"))
    return kafu_err_set(
        err, KAFU_EINVAL,
        "the module already imports kafu.migration_point but has no kafu.meta section: it was "
        "not produced by kafu snapify; snapify the original module instead");
  static const char *reserved[] = {"asyncify_start_unwind", "asyncify_stop_unwind", "asyncify_start_rewind",
                                   "asyncify_stop_rewind",  "asyncify_get_state",   "kafu_asyncify_buf_addr",
                                   "kafu_asyncify_buf_size"};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (kafu_wasm_find_export(m, reserved[i], -1))
      return kafu_err_set(
          err, KAFU_EINVAL,
          "the module already exports '%s' (was it already run through Asyncify?): snapify the "
          "original module instead",
          reserved[i]);
  for (uint32_t i = 0; i < m->nexports; i++)
    if (!strncmp(m->exports[i].name, "kafu_global_", 12))
      return kafu_err_set(err, KAFU_EINVAL, "the module already exports '%s', a name Snapify reserves",
                          m->exports[i].name);
  const kafu_wasm_export *st = kafu_wasm_find_export(m, "_start", KAFU_WASM_EXT_FUNC);
  if (!st)
    return kafu_err_set(err, KAFU_EINVAL,
                        "the module has no '_start' export: Kafu runs command modules (programs with a main "
                        "function), not reactors or libraries");
  if (m->nmemories == 0)
    return kafu_err_set(err, KAFU_EINVAL, "the module has no linear memory (Asyncify keeps its data there)");
  if (m->nmemories > 1)
    return kafu_err_set(err, KAFU_EUNSUP,
                        "the module has %u memories: multi-memory is not supported by Binaryen 108",
                        m->nmemories);
  if (m->memories[0].limits.is64)
    return kafu_err_set(err, KAFU_EUNSUP,
                        "the module uses a 64-bit memory (memory64), which Kafu does not support");
  if (m->memories[0].limits.shared)
    return kafu_err_set(
        err, KAFU_EUNSUP,
        "the module uses a shared memory (threads): a migration cannot capture other threads");
  if (p->features & KAFU_WASM_FEAT_TAIL_CALL)
    return kafu_err_set(err, KAFU_EUNSUP,
                        "the module uses tail calls (return_call), which Binaryen 108's Asyncify cannot "
                        "transform; build without -mtail-call");
  /* the guest support object's buffer (guest/kafu_rt.c) */
  const kafu_wasm_export *gb = kafu_wasm_find_export(m, "__kafu_asyncify_buf", -1);
  if (gb) {
    const kafu_wasm_global *g = gb->kind == KAFU_WASM_EXT_GLOBAL ? &m->globals[gb->index] : NULL;
    if (!g || g->imported || g->mutable_ || g->valtype != KAFU_WASM_I32 ||
        g->init_kind != KAFU_WASM_INIT_CONST)
      return kafu_err_set(
          err, KAFU_EINVAL,
          "export '__kafu_asyncify_buf' is not a constant i32 address (expected the data symbol "
          "of guest/kafu_rt.c)");
    uint64_t addr = (uint32_t)g->init_value;
    uint64_t mem = m->memories[0].limits.min * 65536ull;
    /* optional: the size kafu_rt.c reserved, as a const u32 it exports the
     * address of (__kafu_asyncify_buf_size); read it from the data segments */
    const kafu_wasm_export *se = kafu_wasm_find_export(m, "__kafu_asyncify_buf_size", KAFU_WASM_EXT_GLOBAL);
    if (se && m->globals[se->index].init_kind == KAFU_WASM_INIT_CONST) {
      uint64_t sa = (uint32_t)m->globals[se->index].init_value;
      bool found = false;
      uint32_t reserved = 0;
      for (uint32_t i = 0; i < m->ndata && !found; i++) {
        const kafu_wasm_data *d = &m->data[i];
        if (d->passive || !d->offset_known || d->memory != 0) continue;
        uint64_t off = (uint32_t)d->offset;
        if (sa >= off && sa + 4 <= off + d->len) {
          const uint8_t *q = d->bytes + (sa - off);
          reserved = q[0] | q[1] << 8 | q[2] << 16 | (uint32_t)q[3] << 24;
          found = true;
        }
      }
      if (found && p->buf_size_explicit && reserved != p->buf_size)
        return kafu_err_set(err, KAFU_EINVAL,
                            "--kafu-stack-size=%u does not match the %u bytes guest/kafu_rt.c reserved "
                            "(__kafu_asyncify_buf_size); rebuild with the same size for both",
                            p->buf_size, reserved);
      if (found && reserved >= KS_MIN_BUF_SIZE) p->buf_size = reserved;
    }
    if (addr == 0 || addr % 4 != 0 || (p->check_buf_size && addr + p->buf_size > mem))
      return kafu_err_set(
          err, KAFU_EINVAL,
          "__kafu_asyncify_buf at 0x%llx with %u bytes does not lie inside the initial memory "
          "(%llu bytes): was kafu_rt.c built with a smaller KAFU_ASYNCIFY_BUF_SIZE than "
          "--kafu-stack-size?",
          (unsigned long long)addr, p->buf_size, (unsigned long long)mem);
    p->guest_buf = true;
    p->buf_addr = (uint32_t)addr;
  }
  return 0;
}

/* ---- the plan ------------------------------------------------------------------ */

int ks_plan_build(const kafu_wasm_module *m, uint32_t buf_size, bool buf_size_explicit, ks_plan *p,
                  kafu_err *err) {
  memset(p, 0, sizeof *p);
  int rc = 0;
  graph g = {.m = m};
  csr callers = {0}, ind_users = {0};
  uint32_t *canon = NULL, *stack = NULL;
  uint8_t *sig_reached = NULL;
  char lbl[160];

  /* buf_size 0: unknown (analysis only, e.g. kafu inspect): skip the size checks */
  bool check_size = buf_size != 0;
  if (!buf_size) buf_size = KAFU_DEFAULT_ASYNCIFY_BUF_SIZE, buf_size_explicit = false;
  p->buf_size = buf_size;
  p->buf_size_explicit = buf_size_explicit;
  p->check_buf_size = check_size;
  p->nfuncs = m->nfuncs;
  p->nfunc_imports = m->nfunc_imports;
  if (buf_size < KS_MIN_BUF_SIZE || buf_size > KS_MAX_BUF_SIZE || buf_size % 8)
    return kafu_err_set(err, KAFU_EINVAL,
                        "--kafu-stack-size=%u: must be a multiple of 8 between %u and %u bytes", buf_size,
                        KS_MIN_BUF_SIZE, KS_MAX_BUF_SIZE);

  /* canonical signature per type index: the first structurally equal type */
  canon = malloc((m->ntypes ? m->ntypes : 1) * sizeof *canon);
  p->reach = calloc(m->nfuncs ? m->nfuncs : 1, 1);
  p->address_taken = calloc(m->nfuncs ? m->nfuncs : 1, 1);
  g.func_features = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *g.func_features);
  if (!canon || !p->reach || !p->address_taken || !g.func_features) goto oom;
  for (uint32_t i = 0; i < m->ntypes; i++) {
    canon[i] = i;
    for (uint32_t k = 0; k < i; k++)
      if (canon[k] == k && kafu_wasm_functype_equal(&m->types[k], &m->types[i])) {
        canon[i] = k;
        break;
      }
  }
  g.canon = canon;
  g.address_taken = p->address_taken;

  /* one pass over all bodies: call graph, ref.func, features */
  p->features = m->structural_features;
  for (uint32_t fi = m->nfunc_imports; fi < m->nfuncs; fi++) {
    g.cur = fi;
    rc = kafu_wasm_scan_code(m, fi, on_instr, &g, &g.func_features[fi], err);
    if (g.oom) goto oom;
    if (rc < 0) goto out;
    p->features |= g.func_features[fi];
  }
  for (uint32_t i = 0; i < m->nelem_funcs; i++) p->address_taken[m->elem_funcs[i]] = 1;
  /* a table the host can see may receive any exported function */
  bool table_visible = false;
  for (uint32_t i = 0; i < m->ntables; i++) table_visible |= m->tables[i].imported;
  for (uint32_t i = 0; i < m->nexports; i++) table_visible |= m->exports[i].kind == KAFU_WASM_EXT_TABLE;
  if (table_visible)
    for (uint32_t i = 0; i < m->nexports; i++)
      if (m->exports[i].kind == KAFU_WASM_EXT_FUNC) p->address_taken[m->exports[i].index] = 1;

  if ((rc = check_module(m, p, err)) < 0) goto out;
  if ((rc = parse_annotations(m, p, err)) < 0) goto out;
  if ((rc = resolve_annotations(m, p, err)) < 0) goto out;

  /* reverse graphs */
  if (csr_build(&callers, m->nfuncs, &g.call_to, &g.call_from) < 0) goto oom;
  if (csr_build(&ind_users, m->ntypes, &g.ind_sig, &g.ind_from) < 0) goto oom;

  /* backwards reachability from the annotated functions */
  stack = malloc((m->nfuncs ? m->nfuncs : 1) * sizeof *stack);
  sig_reached = calloc(m->ntypes ? m->ntypes : 1, 1);
  if (!stack || !sig_reached) goto oom;
  uint32_t sp = 0;
  for (uint32_t i = 0; i < p->nannots; i++)
    if (!p->reach[p->annots[i].func]) {
      p->reach[p->annots[i].func] = 1;
      stack[sp++] = p->annots[i].func;
    }
  while (sp) {
    uint32_t f = stack[--sp];
    for (uint32_t k = callers.start[f]; k < callers.start[f + 1]; k++) {
      uint32_t h = callers.vals[k];
      if (!p->reach[h]) p->reach[h] = 1, stack[sp++] = h;
    }
    if (p->address_taken[f]) {
      p->indirect_needed = true;
      uint32_t s = canon[m->funcs[f].type_index];
      if (!sig_reached[s]) {
        sig_reached[s] = 1;
        for (uint32_t k = ind_users.start[s]; k < ind_users.start[s + 1]; k++) {
          uint32_t h = ind_users.vals[k];
          if (!p->reach[h]) p->reach[h] = 1, stack[sp++] = h;
        }
      }
    }
  }
  for (uint32_t fi = m->nfunc_imports; fi < m->nfuncs; fi++) {
    if (!p->reach[fi]) continue;
    p->nreach++;
    if (g.func_features[fi] & KAFU_WASM_FEAT_EXCEPTIONS) {
      rc = kafu_err_set(err, KAFU_EUNSUP,
                        "function %s can be on the stack at a migration point and uses exception handling "
                        "(try/catch/throw), which Binaryen 108's Asyncify cannot instrument; build with "
                        "-fno-exceptions",
                        func_label(m, fi, lbl, sizeof lbl));
      goto out;
    }
  }

  /* does each annotated body reach a migration point itself (nesting, recursion)? */
  for (uint32_t i = 0; i < p->nannots; i++) {
    ks_annot *a = &p->annots[i];
    for (uint32_t k = 0; k < g.call_from.n && !a->inner_reaches; k++)
      if (g.call_from.v[k] == a->func && p->reach[g.call_to.v[k]]) a->inner_reaches = true;
    for (uint32_t k = 0; k < g.ind_from.n && !a->inner_reaches; k++)
      if (g.ind_from.v[k] == a->func && sig_reached[g.ind_sig.v[k]]) a->inner_reaches = true;
    /* called from anywhere but its own thunk? */
    bool called = p->address_taken[a->func];
    for (uint32_t k = callers.start[a->func]; k < callers.start[a->func + 1] && !called; k++)
      if (callers.vals[k] != a->export_func || !a->via_thunk) called = true;
    if (!called)
      vanishedf(
          p,
          "annotated function '%s' is never called inside the module (only through its export), so no "
          "migration "
          "will happen at its calls; if it was inlined into its callers (clang runs wasm-opt when -O reaches "
          "the link step), link without -O",
          a->name);
  }
  if (p->nannots == 0)
    warnf(p, "no KAFU_DEST annotations (custom sections '%s<fn>.<node>'): the module will never migrate",
          KS_DEST_PREFIX);

  /* mutable globals to export */
  p->mutable_globals = malloc((m->nglobals ? m->nglobals : 1) * sizeof *p->mutable_globals);
  if (!p->mutable_globals) goto oom;
  for (uint32_t i = 0; i < m->nglobals; i++)
    if (m->globals[i].mutable_) p->mutable_globals[p->nmutable_globals++] = i;
  rc = 0;
  goto out;
oom:
  rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
out:
  free(canon);
  free(stack);
  free(sig_reached);
  free(g.call_from.v);
  free(g.call_to.v);
  free(g.ind_from.v);
  free(g.ind_sig.v);
  free(g.func_features);
  csr_free(&callers);
  csr_free(&ind_users);
  if (rc < 0) ks_plan_free(p);
  return rc;
}

void ks_plan_free(ks_plan *p) {
  if (!p) return;
  for (uint32_t i = 0; i < p->nannots; i++) {
    free(p->annots[i].name);
    free(p->annots[i].dest);
    free(p->annots[i].section);
  }
  free(p->annots);
  free(p->reach);
  free(p->address_taken);
  free(p->mutable_globals);
  kafu_buf_free(&p->warnings);
  kafu_buf_free(&p->vanished);
  memset(p, 0, sizeof *p);
}

/*
 * code.c — instruction decoder for function bodies and constant expressions.
 *
 * It knows the immediates of every opcode of the MVP and of the proposals
 * clang/wasm-ld can emit (sign-ext, saturating truncation, bulk memory,
 * reference types, SIMD, threads, tail calls, exceptions, multi-value), so it
 * can walk any body instruction by instruction and report calls, indirect
 * calls, global accesses and ref.func — all Snapify needs for its call graph.
 * It does not type-check; it checks encodings, index ranges of the index
 * spaces it knows, block nesting, and that a body ends exactly at its `end`.
 * Unknown opcodes are errors naming the function and offset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_internal.h"

typedef struct {
  const kafu_wasm_module *m;
  kw_rd *r;
  uint32_t *features;
  uint32_t nlocals; /* 0 in constant expressions */
  bool const_expr;
} dec;

static int blocktype(dec *d) {
  kw_rd *r = d->r;
  if (r->failed) return r->failed;
  if (r->pos >= r->end) return kw_fail(r, KAFU_EFORMAT, "block type: unexpected end");
  uint8_t b = r->p[r->pos];
  if (b == 0x40) {
    r->pos++;
    return 0;
  }
  if (b == KAFU_WASM_I32 || b == KAFU_WASM_I64 || b == KAFU_WASM_F32 || b == KAFU_WASM_F64 ||
      b == KAFU_WASM_V128 || b == KAFU_WASM_FUNCREF || b == KAFU_WASM_EXTERNREF) {
    r->pos++;
    return 0;
  }
  /* s33 type index (multi-value) */
  int64_t v;
  size_t start = r->pos;
  if (kafu_leb_s64(r->p, r->end, &r->pos, &v) < 0 || r->pos - start > 5 || v < 0)
    return kw_fail(r, KAFU_EFORMAT, "invalid block type");
  if ((uint64_t)v >= d->m->ntypes)
    return kw_fail(r, KAFU_EFORMAT, "block type index %lld out of range (%u types)", (long long)v,
                   d->m->ntypes);
  *d->features |= KAFU_WASM_FEAT_MULTI_VALUE;
  return 0;
}

static int memarg(dec *d, kafu_wasm_instr *in) {
  uint32_t align;
  uint64_t offset;
  if (kw_u32(d->r, &align, "memarg alignment") < 0) return d->r->failed;
  if (align & 0x40) { /* multi-memory: memory index follows */
    uint32_t mem;
    if (kw_u32(d->r, &mem, "memarg memory index") < 0) return d->r->failed;
    if (mem >= d->m->nmemories) return kw_fail(d->r, KAFU_EFORMAT, "memory index %u out of range", mem);
    *d->features |= KAFU_WASM_FEAT_MULTI_MEMORY;
    align &= ~0x40u;
  } else if (d->m->nmemories == 0) {
    return kw_fail(d->r, KAFU_EFORMAT, "memory access but the module has no memory");
  }
  if (align > 16) return kw_fail(d->r, KAFU_EFORMAT, "memarg alignment 2^%u too large", align);
  if (kw_u64(d->r, &offset, "memarg offset") < 0) return d->r->failed;
  in->a = offset;
  in->b = align;
  return 0;
}

static int memidx(dec *d) {
  uint32_t mem;
  if (kw_u32(d->r, &mem, "memory index") < 0) return d->r->failed;
  if (mem >= d->m->nmemories)
    return kw_fail(d->r, KAFU_EFORMAT, "memory index %u out of range (%u)", mem, d->m->nmemories);
  if (mem) *d->features |= KAFU_WASM_FEAT_MULTI_MEMORY;
  return 0;
}

static int u32imm(dec *d, uint64_t *out, const char *what) {
  uint32_t v;
  if (kw_u32(d->r, &v, what) < 0) return d->r->failed;
  *out = v;
  return 0;
}

static int idx(dec *d, uint64_t *out, uint32_t limit, const char *what) {
  uint32_t v;
  if (kw_u32(d->r, &v, what) < 0) return d->r->failed;
  if (v >= limit) return kw_fail(d->r, KAFU_EFORMAT, "%s %u out of range (%u)", what, v, limit);
  *out = v;
  return 0;
}

/* Decode one instruction at r->pos into *in (op, immediates, offset). */
static int decode(dec *d, kafu_wasm_instr *in) {
  kw_rd *r = d->r;
  const kafu_wasm_module *m = d->m;
  uint8_t op;
  in->offset = r->pos;
  in->a = in->b = 0;
  if (kw_u8(r, &op, "opcode") < 0) return r->failed;
  in->op = op;
  if (d->const_expr) {
    /* constant expressions: consts, global.get, ref.null/func, end, and the
     * extended-const arithmetic */
    switch (op) {
      case 0x41:
      case 0x42:
      case 0x43:
      case 0x44:
      case 0x23:
      case 0xd0:
      case 0xd2:
      case 0x0b:
        break;
      case 0x6a:
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        *d->features |= KAFU_WASM_FEAT_EXTENDED_CONST;
        break;
      case 0xfd:
        break; /* v128.const checked below */
      default:
        r->pos--;
        return kw_fail(r, KAFU_EFORMAT, "opcode 0x%02x is not allowed in a constant expression", op);
    }
  }
  switch (op) {
    case 0x00:
    case 0x01:
    case 0x05:
    case 0x0b:
    case 0x0f:
    case 0x19:
    case 0x1a:
    case 0x1b:
    case 0xd1:
      return 0;
    case 0x02:
    case 0x03:
    case 0x04:
      return blocktype(d);
    case 0x06:
      *d->features |= KAFU_WASM_FEAT_EXCEPTIONS;
      return blocktype(d);
    case 0x07:
    case 0x08:
      *d->features |= KAFU_WASM_FEAT_EXCEPTIONS;
      return idx(d, &in->a, m->ntags, "tag index");
    case 0x09:
    case 0x18:
      *d->features |= KAFU_WASM_FEAT_EXCEPTIONS;
      return u32imm(d, &in->a, "label depth");
    case 0x0c:
    case 0x0d:
      return u32imm(d, &in->a, "label depth");
    case 0x0e: {
      uint32_t n, v;
      if (kw_count(r, &n, 1, "br_table size") < 0) return r->failed;
      for (uint32_t i = 0; i <= n; i++)
        if (kw_u32(r, &v, "br_table label") < 0) return r->failed;
      return 0;
    }
    case 0x10:
      return idx(d, &in->a, m->nfuncs, "function index");
    case 0x12:
      *d->features |= KAFU_WASM_FEAT_TAIL_CALL;
      return idx(d, &in->a, m->nfuncs, "function index");
    case 0x11:
    case 0x13:
      if (op == 0x13) *d->features |= KAFU_WASM_FEAT_TAIL_CALL;
      if (idx(d, &in->a, m->ntypes, "type index") < 0) return r->failed;
      if (idx(d, &in->b, m->ntables, "table index") < 0) return r->failed;
      if (in->b) *d->features |= KAFU_WASM_FEAT_REFERENCE_TYPES;
      return 0;
    case 0x1c: {
      uint32_t n;
      uint8_t vt;
      *d->features |= KAFU_WASM_FEAT_REFERENCE_TYPES;
      if (kw_count(r, &n, 1, "select type count") < 0) return r->failed;
      if (n != 1) return kw_fail(r, KAFU_EFORMAT, "typed select with %u types", n);
      return kw_valtype(r, &vt, "select type");
    }
    case 0x20:
    case 0x21:
    case 0x22:
      if (d->const_expr) return kw_fail(r, KAFU_EFORMAT, "local access in a constant expression");
      return idx(d, &in->a, d->nlocals, "local index");
    case 0x23:
    case 0x24:
      return idx(d, &in->a, m->nglobals, "global index");
    case 0x25:
    case 0x26:
      *d->features |= KAFU_WASM_FEAT_REFERENCE_TYPES;
      return idx(d, &in->a, m->ntables, "table index");
    case 0x3f:
    case 0x40:
      return memidx(d);
    case 0x41: {
      int32_t v;
      if (kw_s32(r, &v, "i32.const") < 0) return r->failed;
      in->a = (uint64_t)(int64_t)v;
      return 0;
    }
    case 0x42: {
      int64_t v;
      if (kw_s64(r, &v, "i64.const") < 0) return r->failed;
      in->a = (uint64_t)v;
      return 0;
    }
    case 0x43: {
      size_t at = r->pos;
      if (kw_skip(r, 4, "f32.const") < 0) return r->failed;
      uint32_t bits;
      memcpy(&bits, r->p + at, 4);
      in->a = bits;
      return 0;
    }
    case 0x44: {
      size_t at = r->pos;
      if (kw_skip(r, 8, "f64.const") < 0) return r->failed;
      memcpy(&in->a, r->p + at, 8);
      return 0;
    }
    case 0xd0: {
      uint8_t t;
      *d->features |= KAFU_WASM_FEAT_REFERENCE_TYPES;
      if (kw_u8(r, &t, "ref.null type") < 0) return r->failed;
      if (t != KAFU_WASM_FUNCREF && t != KAFU_WASM_EXTERNREF)
        return kw_fail(r, KAFU_EUNSUP, "ref.null of unsupported heap type 0x%02x", t);
      in->a = UINT64_MAX;
      return 0;
    }
    case 0xd2:
      *d->features |= KAFU_WASM_FEAT_REFERENCE_TYPES;
      return idx(d, &in->a, m->nfuncs, "function index");
    default:
      break;
  }
  if (op >= 0x28 && op <= 0x3e) return memarg(d, in);
  if (op >= 0x45 && op <= 0xc4) {
    if (op >= 0xc0) *d->features |= KAFU_WASM_FEAT_SIGN_EXT;
    return 0;
  }
  if (op == 0xfc || op == 0xfd || op == 0xfe) {
    uint32_t sub;
    if (kw_u32(r, &sub, "prefixed opcode") < 0) return r->failed;
    if (sub > 0xffff) return kw_fail(r, KAFU_EFORMAT, "prefixed opcode 0x%02x %u out of range", op, sub);
    in->op = (uint32_t)op << 16 | sub;
    if (d->const_expr && !(op == 0xfd && sub == 12))
      return kw_fail(r, KAFU_EFORMAT, "opcode 0x%02x %u is not allowed in a constant expression", op, sub);
    if (op == 0xfc) {
      uint64_t x;
      if (sub <= 7) {
        *d->features |= KAFU_WASM_FEAT_SAT_TRUNC;
        return 0;
      }
      if (sub <= 11)
        *d->features |= KAFU_WASM_FEAT_BULK_MEMORY;
      else if (sub <= 17)
        *d->features |= KAFU_WASM_FEAT_REFERENCE_TYPES | KAFU_WASM_FEAT_BULK_MEMORY;
      switch (sub) {
        case 8: /* memory.init data mem */
          if (u32imm(d, &x, "data index") < 0) return r->failed;
          return memidx(d);
        case 9:
          return u32imm(d, &x, "data index");
        case 10:
          if (memidx(d) < 0) return r->failed;
          return memidx(d);
        case 11:
          return memidx(d);
        case 12: /* table.init elem table */
          if (u32imm(d, &x, "element index") < 0) return r->failed;
          return idx(d, &x, m->ntables, "table index");
        case 13:
          return u32imm(d, &x, "element index");
        case 14:
          if (idx(d, &x, m->ntables, "table index") < 0) return r->failed;
          return idx(d, &x, m->ntables, "table index");
        case 15:
        case 16:
        case 17:
          return idx(d, &x, m->ntables, "table index");
        default:
          break;
      }
    } else if (op == 0xfd) {
      *d->features |= KAFU_WASM_FEAT_SIMD;
      if (sub <= 11 || sub == 92 || sub == 93) return memarg(d, in);
      if (sub == 12 || sub == 13) return kw_skip(r, 16, sub == 12 ? "v128.const" : "i8x16.shuffle");
      if (sub >= 21 && sub <= 34) {
        uint8_t lane;
        return kw_u8(r, &lane, "lane index");
      }
      if (sub >= 84 && sub <= 91) {
        uint8_t lane;
        if (memarg(d, in) < 0) return r->failed;
        return kw_u8(r, &lane, "lane index");
      }
      if (sub <= 0x113) return 0; /* the rest of SIMD (and relaxed SIMD) has no immediates */
    } else {
      *d->features |= KAFU_WASM_FEAT_THREADS;
      if (sub == 3) {
        uint8_t z;
        if (kw_u8(r, &z, "atomic.fence flags") < 0) return r->failed;
        if (z != 0) return kw_fail(r, KAFU_EFORMAT, "atomic.fence flags must be 0");
        return 0;
      }
      if (sub <= 2 || (sub >= 0x10 && sub <= 0x4e)) return memarg(d, in);
    }
    r->pos = in->offset;
    return kw_fail(r, KAFU_EUNSUP, "unknown opcode 0x%02x %u", op, sub);
  }
  r->pos = in->offset;
  return kw_fail(r, KAFU_EUNSUP, "unknown opcode 0x%02x", op);
}

int kw_const_expr(const kafu_wasm_module *m, kw_rd *r, kafu_wasm_init_kind *kind, uint64_t *value,
                  uint32_t nglobals_visible, uint32_t *features) {
  kafu_wasm_module view = *m; /* restrict global.get to the globals visible so far */
  view.nglobals = nglobals_visible;
  dec d = {.m = &view, .r = r, .features = features, .const_expr = true};
  kafu_wasm_instr first = {0}, in;
  int n = 0;
  *kind = KAFU_WASM_INIT_OTHER;
  *value = 0;
  for (;;) {
    if (decode(&d, &in) < 0) return r->failed;
    if (in.op == KAFU_WASM_OP_END) break;
    if (n++ == 0) first = in;
    if (n > 10000) return kw_fail(r, KAFU_EFORMAT, "constant expression too long");
  }
  if (n == 1) {
    switch (first.op) {
      case 0x41:
      case 0x42:
      case 0x43:
      case 0x44:
        *kind = KAFU_WASM_INIT_CONST;
        break;
      case 0x23:
        *kind = KAFU_WASM_INIT_GLOBAL;
        break;
      case 0xd0:
      case 0xd2:
        *kind = KAFU_WASM_INIT_REF;
        break;
      default:
        break;
    }
    *value = first.a;
  }
  return 0;
}

int kafu_wasm_scan_code(const kafu_wasm_module *m, uint32_t fi, kafu_wasm_instr_fn fn, void *ud,
                        uint32_t *features, kafu_err *err) {
  char ctx[96];
  uint32_t scratch = 0;
  if (fi >= m->nfuncs || m->funcs[fi].imported)
    return kafu_err_set(err, KAFU_EINVAL, "wasm: function %u has no body", fi);
  const kafu_wasm_func *f = &m->funcs[fi];
  if (f->name)
    snprintf(ctx, sizeof ctx, "wasm: code of function %u (%.40s)", fi, f->name);
  else
    snprintf(ctx, sizeof ctx, "wasm: code of function %u", fi);
  kw_rd r = {
      .p = m->bytes, .pos = f->body_offset, .end = f->body_offset + f->body_len, .ctx = ctx, .err = err};
  const kafu_wasm_functype *t = kafu_wasm_func_type(m, fi);
  if (!t || r.end > m->len) return kw_fail(&r, KAFU_EFORMAT, "bad function record");
  /* local declarations: groups of (count, type); the total is bounded so a
   * fuzzed count cannot claim billions of locals */
  uint32_t ngroups;
  uint64_t nlocals = t->nparams;
  if (kw_count(&r, &ngroups, 2, "local group count") < 0) return r.failed;
  for (uint32_t i = 0; i < ngroups; i++) {
    uint32_t cnt;
    uint8_t vt;
    if (kw_u32(&r, &cnt, "local count") < 0 || kw_valtype(&r, &vt, "local type") < 0) return r.failed;
    nlocals += cnt;
    if (nlocals > 50000) return kw_fail(&r, KAFU_EFORMAT, "more than 50000 locals");
  }
  dec d = {.m = m, .r = &r, .features = features ? features : &scratch, .nlocals = (uint32_t)nlocals};
  uint32_t depth = 0;
  kafu_wasm_instr in;
  for (;;) {
    if (r.pos >= r.end) return kw_fail(&r, KAFU_EFORMAT, "body ends without its final 'end'");
    if (decode(&d, &in) < 0) return r.failed;
    in.depth = depth;
    switch (in.op) {
      case 0x02:
      case 0x03:
      case 0x04:
      case 0x06:
        if (++depth > 100000) return kw_fail(&r, KAFU_EFORMAT, "blocks nested too deeply");
        break;
      case 0x0b:
        if (depth == 0) {
          if (fn) {
            int rc = fn(ud, &in);
            if (rc) return rc;
          }
          if (r.pos != r.end)
            return kw_fail(&r, KAFU_EFORMAT, "%zu bytes after the body's final 'end'", r.end - r.pos);
          return 0;
        }
        depth--;
        break;
      case 0x18: /* delegate closes a try */
        if (depth == 0) return kw_fail(&r, KAFU_EFORMAT, "delegate outside a block");
        depth--;
        break;
      default:
        break;
    }
    if (fn) {
      int rc = fn(ud, &in);
      if (rc) return rc;
    }
  }
}

int kafu_wasm_detect_features(const kafu_wasm_module *m, uint32_t *features, kafu_err *err) {
  uint32_t f = m->structural_features;
  for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
    int rc = kafu_wasm_scan_code(m, i, NULL, NULL, &f, err);
    if (rc < 0) return rc;
  }
  *features = f;
  return 0;
}

/* ---- SIMD ------------------------------------------------------------------- */

static int simd_instr(void *ud, const kafu_wasm_instr *in) {
  if (in->op >> 16 != 0xfd) return 0;
  kafu_wasm_simd_use *u = ud;
  u->op = in->op;
  u->offset = in->offset;
  return 1;
}

static void func_label(const kafu_wasm_module *m, uint32_t fi, char *out, size_t cap) {
  if (fi < m->nfuncs && m->funcs[fi].name)
    snprintf(out, cap, "function '%.80s'", m->funcs[fi].name);
  else
    snprintf(out, cap, "function #%u", fi);
}

static bool has_v128(const kafu_wasm_functype *t) {
  for (uint32_t i = 0; i < t->nparams; i++)
    if (t->params[i] == KAFU_WASM_V128) return true;
  for (uint32_t i = 0; i < t->nresults; i++)
    if (t->results[i] == KAFU_WASM_V128) return true;
  return false;
}

int kafu_wasm_find_simd(const kafu_wasm_module *m, kafu_wasm_simd_use *use, kafu_err *err) {
  memset(use, 0, sizeof *use);
  use->func = -1;
  char fn[128];
  for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
    int rc = kafu_wasm_scan_code(m, i, simd_instr, use, NULL, err);
    if (rc < 0) return rc;
    if (rc > 0) {
      use->func = i;
      func_label(m, i, fn, sizeof fn);
      const char *name = kafu_wasm_opcode_name(use->op);
      if (name)
        snprintf(use->what, sizeof use->what, "instruction %s in %s", name, fn);
      else
        snprintf(use->what, sizeof use->what, "instruction 0xfd %u in %s", use->op & 0xffff, fn);
      return 1;
    }
  }
  for (uint32_t i = 0; i < m->nfuncs; i++) {
    const kafu_wasm_functype *t = kafu_wasm_func_type(m, i);
    if (t && has_v128(t)) {
      use->func = i;
      func_label(m, i, fn, sizeof fn);
      snprintf(use->what, sizeof use->what, "v128 in the signature of %s", fn);
      return 1;
    }
  }
  for (uint32_t i = 0; i < m->nglobals; i++)
    if (m->globals[i].valtype == KAFU_WASM_V128) {
      snprintf(use->what, sizeof use->what, "v128 global #%u", i);
      return 1;
    }
  return 0;
}

int kafu_wasm_refuse_simd(const uint8_t *p, size_t len, const char *name, kafu_err *err) {
  kafu_wasm_module m;
  kafu_wasm_simd_use use;
  int rc = kafu_wasm_parse(p, len, &m, err);
  if (rc == 0) {
    rc = kafu_wasm_find_simd(&m, &use, err);
    kafu_wasm_module_free(&m);
  }
  if (rc < 0) kafu_err_prefix(err, "%s", name);
  if (rc <= 0) return rc;
  char at[40] = "";
  if (use.offset) snprintf(at, sizeof at, " at offset 0x%zx", use.offset);
  return kafu_err_set(err, KAFU_EUNSUP,
                      "%s uses Wasm SIMD (first: %s%s): Kafu's engine (wasm2c of Debian 12's wabt 1.0.32) "
                      "cannot compile Wasm SIMD; build without -msimd128 and without wasm_simd128.h "
                      "intrinsics",
                      name, use.what, at);
}

/*
 * onnx_pb.c — bounds-checked reader for ONNX protobuf messages (see onnx_pb.h).
 *
 * Protobuf wire format: a message is a sequence of (tag, value); tag =
 * field_number << 3 | wire_type, wire types 0 varint, 1 fixed64, 2
 * length-delimited, 5 fixed32 (3/4, deprecated groups, are refused). Unknown
 * fields are skipped. Field numbers are those of onnx.proto (IR version 3+).
 */
#include "onnx_pb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pb_rd {
  const uint8_t *p, *end;
} pb_rd;

typedef struct pb_field {
  uint32_t num, wt;
  uint64_t v; /* varint / fixed value */
  pb_rd sub;  /* wire type 2: the payload */
} pb_field;

static int fail(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *errbuf, size_t errlen, const char *fmt, ...) {
  if (errbuf && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static int pb_varint(pb_rd *r, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (r->p >= r->end) return -1;
    uint8_t b = *r->p++;
    if (shift == 63 && (b & 0x7e)) return -1; /* more than 64 bits */
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

/* Next field of r: 1 = got one, 0 = end of message, -1 = malformed. */
static int pb_next(pb_rd *r, pb_field *f) {
  if (r->p >= r->end) return 0;
  uint64_t tag;
  if (pb_varint(r, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return -1;
  f->num = (uint32_t)(tag >> 3);
  f->wt = (uint32_t)(tag & 7);
  f->v = 0;
  f->sub.p = f->sub.end = NULL;
  switch (f->wt) {
    case 0:
      return pb_varint(r, &f->v) ? -1 : 1;
    case 1:
      if (r->end - r->p < 8) return -1;
      memcpy(&f->v, r->p, 8);
      r->p += 8;
      return 1;
    case 5: {
      if (r->end - r->p < 4) return -1;
      uint32_t x;
      memcpy(&x, r->p, 4);
      f->v = x;
      r->p += 4;
      return 1;
    }
    case 2: {
      uint64_t n;
      if (pb_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return -1;
      f->sub.p = r->p;
      f->sub.end = r->p + n;
      r->p += n;
      return 1;
    }
    default:
      return -1;
  }
}

static char *pb_strdup(const pb_field *f) {
  size_t n = (size_t)(f->sub.end - f->sub.p);
  char *s = malloc(n + 1);
  if (!s) return NULL;
  if (n) memcpy(s, f->sub.p, n);
  s[n] = 0;
  return s;
}

static int pb_streq(const pb_field *f, const char *s) {
  size_t n = strlen(s);
  return (size_t)(f->sub.end - f->sub.p) == n && memcmp(f->sub.p, s, n) == 0;
}

const char *kafu_onnx_type_name(int32_t t) {
  static const char *names[] = {"undefined", "float",  "uint8",     "int8",       "uint16",  "int16",
                                "int32",     "int64",  "string",    "bool",       "float16", "double",
                                "uint32",    "uint64", "complex64", "complex128", "bfloat16"};
  if (t >= 0 && t < (int32_t)(sizeof names / sizeof *names)) return names[t];
  return "unknown type";
}

size_t kafu_onnx_type_size(int32_t t) {
  switch (t) {
    case KAFU_ONNX_UINT8:
    case KAFU_ONNX_INT8:
    case KAFU_ONNX_BOOL:
      return 1;
    case KAFU_ONNX_UINT16:
    case KAFU_ONNX_INT16:
    case KAFU_ONNX_FLOAT16:
    case KAFU_ONNX_BFLOAT16:
      return 2;
    case KAFU_ONNX_FLOAT:
    case KAFU_ONNX_INT32:
    case KAFU_ONNX_UINT32:
      return 4;
    case KAFU_ONNX_INT64:
    case KAFU_ONNX_DOUBLE:
    case KAFU_ONNX_UINT64:
    case KAFU_ONNX_COMPLEX64:
      return 8;
    case KAFU_ONNX_COMPLEX128:
      return 16;
    default:
      return 0;
  }
}

/* ---- model ---------------------------------------------------------------- */

/* TensorShapeProto { repeated Dimension dim = 1 }, Dimension { int64 dim_value = 1; string dim_param = 2 } */
static int parse_shape(pb_rd r, kafu_onnx_value *v, char *eb, size_t el) {
  pb_field f;
  int rc;
  v->has_shape = 1;
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.num != 1 || f.wt != 2) continue;
    if (v->rank >= KAFU_ONNX_MAX_RANK)
      return fail(eb, el, "input/output '%s' has more than %d dimensions", v->name, KAFU_ONNX_MAX_RANK);
    int64_t d = -1;
    pb_rd dr = f.sub;
    pb_field g;
    int rc2;
    while ((rc2 = pb_next(&dr, &g)) == 1)
      if (g.num == 1 && g.wt == 0) d = (int64_t)g.v < 0 ? -1 : (int64_t)g.v;
    if (rc2 < 0) return fail(eb, el, "malformed dimension of '%s'", v->name);
    v->dims[v->rank++] = d;
  }
  return rc < 0 ? fail(eb, el, "malformed shape of '%s'", v->name) : 0;
}

/* ValueInfoProto { string name = 1; TypeProto type = 2 }
 * TypeProto { Tensor tensor_type = 1; ... } Tensor { int32 elem_type = 1; TensorShapeProto shape = 2 } */
static int parse_value_info(pb_rd r, kafu_onnx_value *v, char *eb, size_t el) {
  pb_field f;
  int rc;
  pb_rd type = {NULL, NULL};
  memset(v, 0, sizeof *v);
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.num == 1 && f.wt == 2) {
      free(v->name);
      if (!(v->name = pb_strdup(&f))) return fail(eb, el, "out of memory");
    } else if (f.num == 2 && f.wt == 2) {
      type = f.sub;
    }
  }
  if (rc < 0) return fail(eb, el, "malformed graph input/output");
  if (!v->name && !(v->name = strdup(""))) return fail(eb, el, "out of memory");
  if (!type.p) return 0;
  pb_rd tensor = {NULL, NULL};
  while ((rc = pb_next(&type, &f)) == 1)
    if (f.num == 1 && f.wt == 2) tensor = f.sub;
  if (rc < 0) return fail(eb, el, "malformed type of '%s'", v->name);
  if (!tensor.p) return 0;
  while ((rc = pb_next(&tensor, &f)) == 1) {
    if (f.num == 1 && f.wt == 0) {
      v->elem_type = (int32_t)f.v;
    } else if (f.num == 2 && f.wt == 2) {
      v->rank = 0;
      if (parse_shape(f.sub, v, eb, el)) return -1;
    }
  }
  return rc < 0 ? fail(eb, el, "malformed tensor type of '%s'", v->name) : 0;
}

/* The index of the op type (domain, op) in info->ops, added when new; -1 out
 * of memory, -2 when the table is full (info->ops_overflow is set). */
static int add_op(kafu_onnx_info *info, const pb_field *domain, const pb_field *op) {
  size_t dn = domain ? (size_t)(domain->sub.end - domain->sub.p) : 0;
  size_t on = (size_t)(op->sub.end - op->sub.p);
  if (dn == 7 && memcmp(domain->sub.p, "ai.onnx", 7) == 0) dn = 0;
  char *s = malloc(dn + on + 2);
  if (!s) return -1;
  size_t k = 0;
  if (dn) {
    memcpy(s, domain->sub.p, dn);
    s[dn] = ':';
    k = dn + 1;
  }
  memcpy(s + k, op->sub.p, on);
  s[k + on] = 0;
  for (size_t i = 0; i < info->nops; i++)
    if (strcmp(info->ops[i], s) == 0) {
      free(s);
      return (int)i;
    }
  if (info->nops >= KAFU_ONNX_MAX_OPTYPES) {
    free(s);
    info->ops_overflow = 1;
    return -2;
  }
  info->ops[info->nops] = s;
  return (int)info->nops++;
}

/* The names a graph consumes (graph outputs, node inputs): a hash set of
 * slices of the model bytes, open addressing. */
typedef struct name_set {
  pb_rd *slot; /* slot[i].p == NULL: empty */
  size_t cap;  /* a power of two, more than twice the names */
} name_set;

static size_t name_hash(const uint8_t *p, size_t n) {
  uint64_t h = 14695981039346656037ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return (size_t)h;
}

static int name_eq(pb_rd a, pb_rd b) {
  return a.end - a.p == b.end - b.p && memcmp(a.p, b.p, (size_t)(a.end - a.p)) == 0;
}

static int name_set_has(const name_set *s, pb_rd name) {
  if (!s->cap || name.p == name.end) return 0;
  for (size_t i = name_hash(name.p, (size_t)(name.end - name.p)) & (s->cap - 1);;
       i = (i + 1) & (s->cap - 1)) {
    if (!s->slot[i].p) return 0;
    if (name_eq(s->slot[i], name)) return 1;
  }
}

static void name_set_add(name_set *s, pb_rd name) {
  if (name.p == name.end) return;
  for (size_t i = name_hash(name.p, (size_t)(name.end - name.p)) & (s->cap - 1);;
       i = (i + 1) & (s->cap - 1)) {
    if (!s->slot[i].p) {
      s->slot[i] = name;
      return;
    }
    if (name_eq(s->slot[i], name)) return;
  }
}

/* Visit every consumed name of graph g: each node's inputs (NodeProto field 1)
 * and each graph output's name (ValueInfoProto field 1). With set NULL only
 * counts them. Returns the count, or -1 when malformed. */
static long consumed_names(pb_rd g, name_set *set) {
  pb_field f, h;
  long n = 0;
  int rc, rc2;
  while ((rc = pb_next(&g, &f)) == 1) {
    if (f.wt != 2 || (f.num != 1 && f.num != 12)) continue;
    pb_rd sub = f.sub;
    while ((rc2 = pb_next(&sub, &h)) == 1)
      if (h.num == 1 && h.wt == 2) {
        n++;
        if (set) name_set_add(set, h.sub);
      }
    if (rc2 < 0) return -1;
  }
  return rc < 0 ? -1 : n;
}

/* NodeProto { repeated string input = 1, output = 2; string name = 3; string op_type = 4; string domain = 7
 * }: record in op type `op` how many of the node's outputs the graph uses. */
static int note_node_outputs(kafu_onnx_info *info, int op, pb_rd node, size_t index, const name_set *used) {
  pb_field g;
  pb_rd name = {NULL, NULL}, out = {NULL, NULL};
  uint32_t pos = 0, uses = 0;
  while (pb_next(&node, &g) == 1) {
    if (g.num == 3 && g.wt == 2) name = g.sub;
    if (g.num != 2 || g.wt != 2) continue;
    pos++;
    if (name_set_has(used, g.sub)) uses = pos, out = g.sub;
  }
  if (uses <= info->op_outputs[op]) return 0;
  char buf[320];
  int on = (int)(out.end - out.p), nn = (int)(name.end - name.p);
  if (nn)
    snprintf(buf, sizeof buf, "output #%u '%.*s' of node '%.*s'", uses, on > 100 ? 100 : on,
             (const char *)out.p, nn > 100 ? 100 : nn, (const char *)name.p);
  else
    snprintf(buf, sizeof buf, "output #%u '%.*s' of node #%zu", uses, on > 100 ? 100 : on,
             (const char *)out.p, index);
  char *s = strdup(buf);
  if (!s) return -1;
  free(info->op_use[op]);
  info->op_use[op] = s;
  info->op_outputs[op] = uses;
  return 0;
}

static int grow(kafu_onnx_value **arr, size_t n) {
  if (n >= KAFU_ONNX_MAX_VALUES) return -1;
  kafu_onnx_value *a = realloc(*arr, (n + 1) * sizeof **arr);
  if (!a) return -1;
  *arr = a;
  return 0;
}

/* GraphProto { repeated NodeProto node = 1; repeated TensorProto initializer = 5;
 *              repeated ValueInfoProto input = 11, output = 12 } */
static int parse_graph(pb_rd r, kafu_onnx_info *info, char *eb, size_t el) {
  pb_field f;
  int rc, st = 0;
  /* initializer names, to drop them from the inputs (IR < 4 lists them there) */
  size_t ninit = 0;
  pb_rd *init_names = NULL;
  name_set used = {NULL, 0};
  pb_rd scan = r;
  while ((rc = pb_next(&scan, &f)) == 1) {
    if (f.num != 5 || f.wt != 2) continue;
    pb_rd t = f.sub;
    pb_field g;
    int rc2;
    pb_rd name = {NULL, NULL};
    while ((rc2 = pb_next(&t, &g)) == 1) {
      if (g.num == 8 && g.wt == 2) name = g.sub;
      if (g.num == 14 && g.wt == 0 && g.v == 1) info->external_data = 1;
      if (g.num == 13 && g.wt == 2) info->external_data = 1;
    }
    if (rc2 < 0) {
      st = fail(eb, el, "malformed initializer #%zu", ninit);
      goto out;
    }
    if (ninit >= 1000000) {
      st = fail(eb, el, "too many initializers");
      goto out;
    }
    pb_rd *a = realloc(init_names, (ninit + 1) * sizeof *a);
    if (!a) {
      st = fail(eb, el, "out of memory");
      goto out;
    }
    init_names = a;
    init_names[ninit++] = name;
  }
  info->ninitializers = ninit;
  long nused = rc < 0 ? -1 : consumed_names(r, NULL);
  if (nused < 0) {
    st = fail(eb, el, "malformed graph");
    goto out;
  }
  used.cap = 16;
  while (used.cap <= 2 * (size_t)nused) used.cap *= 2;
  if (!(used.slot = calloc(used.cap, sizeof *used.slot))) {
    st = fail(eb, el, "out of memory");
    goto out;
  }
  consumed_names(r, &used);
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.wt != 2) continue;
    if (f.num == 1) {
      info->nnodes++;
      pb_rd n = f.sub;
      pb_field g, op = {0}, domain = {0};
      int have_op = 0, have_domain = 0, rc2;
      while ((rc2 = pb_next(&n, &g)) == 1) {
        if (g.num == 4 && g.wt == 2) op = g, have_op = 1;
        if (g.num == 7 && g.wt == 2) domain = g, have_domain = 1;
      }
      if (rc2 < 0 || !have_op) {
        st = fail(eb, el, "malformed node #%zu%s", info->nnodes - 1, rc2 < 0 ? "" : " (no op_type)");
        goto out;
      }
      int k = add_op(info, have_domain ? &domain : NULL, &op);
      if (k == -1 || (k >= 0 && note_node_outputs(info, k, f.sub, info->nnodes - 1, &used))) {
        st = fail(eb, el, "out of memory");
        goto out;
      }
    } else if (f.num == 11 || f.num == 12) {
      kafu_onnx_value v;
      if (parse_value_info(f.sub, &v, eb, el)) {
        free(v.name);
        st = -1;
        goto out;
      }
      int is_init = 0;
      if (f.num == 11)
        for (size_t i = 0; i < ninit && !is_init; i++) {
          size_t n = (size_t)(init_names[i].end - init_names[i].p);
          is_init = init_names[i].p && strlen(v.name) == n && memcmp(v.name, init_names[i].p, n) == 0;
        }
      if (is_init) {
        free(v.name);
        continue;
      }
      kafu_onnx_value **arr = f.num == 11 ? &info->inputs : &info->outputs;
      size_t *cnt = f.num == 11 ? &info->ninputs : &info->noutputs;
      if (grow(arr, *cnt)) {
        free(v.name);
        st = fail(eb, el, "too many graph %s", f.num == 11 ? "inputs" : "outputs");
        goto out;
      }
      (*arr)[(*cnt)++] = v;
    }
  }
  if (rc < 0) st = fail(eb, el, "malformed graph");
out:
  free(init_names);
  free(used.slot);
  return st;
}

int kafu_onnx_model_info(const uint8_t *buf, size_t len, kafu_onnx_info *info, char *eb, size_t el) {
  memset(info, 0, sizeof *info);
  if (!buf || len == 0) return fail(eb, el, "empty model");
  pb_rd r = {buf, buf + len};
  pb_field f;
  int rc, have_graph = 0;
  pb_rd graph = {NULL, NULL};
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.num == 1 && f.wt == 0) {
      info->ir_version = (int64_t)f.v;
    } else if (f.num == 7 && f.wt == 2) {
      graph = f.sub;
      have_graph = 1;
    } else if (f.num == 8 && f.wt == 2) {
      /* OperatorSetIdProto { string domain = 1; int64 version = 2 } */
      pb_rd o = f.sub;
      pb_field g;
      int rc2, default_domain = 1;
      int64_t ver = 0;
      while ((rc2 = pb_next(&o, &g)) == 1) {
        if (g.num == 1 && g.wt == 2 && g.sub.end != g.sub.p && !pb_streq(&g, "ai.onnx")) default_domain = 0;
        if (g.num == 2 && g.wt == 0) ver = (int64_t)g.v;
      }
      if (rc2 < 0) return fail(eb, el, "not an ONNX model: malformed opset_import");
      if (default_domain) info->opset = ver;
    }
  }
  if (rc < 0) return fail(eb, el, "not an ONNX model (malformed or truncated protobuf)");
  if (!have_graph) return fail(eb, el, "not an ONNX model: no graph");
  if (info->ir_version <= 0) return fail(eb, el, "not an ONNX model: no ir_version");
  if (parse_graph(graph, info, eb, el)) {
    kafu_onnx_info_free(info);
    return -1;
  }
  return 0;
}

void kafu_onnx_info_free(kafu_onnx_info *info) {
  if (!info) return;
  for (size_t i = 0; i < info->ninputs; i++) free(info->inputs[i].name);
  for (size_t i = 0; i < info->noutputs; i++) free(info->outputs[i].name);
  for (size_t i = 0; i < info->nops; i++) free(info->ops[i]), free(info->op_use[i]);
  free(info->inputs);
  free(info->outputs);
  memset(info, 0, sizeof *info);
}

/* ---- tensors ------------------------------------------------------------- */

/* Which repeated field carries elements of type t (0 = none). */
static uint32_t typed_field(int32_t t) {
  switch (t) {
    case KAFU_ONNX_FLOAT:
    case KAFU_ONNX_COMPLEX64:
      return 4;
    case KAFU_ONNX_INT32:
    case KAFU_ONNX_INT16:
    case KAFU_ONNX_INT8:
    case KAFU_ONNX_UINT16:
    case KAFU_ONNX_UINT8:
    case KAFU_ONNX_BOOL:
    case KAFU_ONNX_FLOAT16:
    case KAFU_ONNX_BFLOAT16:
      return 5;
    case KAFU_ONNX_INT64:
      return 7;
    case KAFU_ONNX_DOUBLE:
    case KAFU_ONNX_COMPLEX128:
      return 10;
    case KAFU_ONNX_UINT32:
    case KAFU_ONNX_UINT64:
      return 11;
    default:
      return 0;
  }
}

/* Append one element value v (from field `field`) as type t at out[*n]. */
static int put_elem(kafu_onnx_tensor *t, uint32_t field, uint64_t v, size_t *n, size_t cap_elems) {
  size_t comp = (t->data_type == KAFU_ONNX_COMPLEX64 || t->data_type == KAFU_ONNX_COMPLEX128) ? 2 : 1;
  if (*n >= cap_elems * comp) return -1;
  size_t sz = kafu_onnx_type_size(t->data_type) / comp;
  uint8_t *dst = t->data + *n * sz;
  if (field == 4) {
    uint32_t x = (uint32_t)v;
    memcpy(dst, &x, 4);
  } else if (field == 10) {
    memcpy(dst, &v, 8);
  } else {
    memcpy(dst, &v, sz); /* little endian: the low bytes */
  }
  (*n)++;
  return 0;
}

int kafu_onnx_tensor_decode(const uint8_t *buf, size_t len, size_t max_bytes, kafu_onnx_tensor *t, char *eb,
                            size_t el) {
  memset(t, 0, sizeof *t);
  pb_rd r = {buf, buf + len}, raw = {NULL, NULL};
  pb_field f;
  int rc, have_raw = 0;
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.num == 1) {
      if (f.wt == 0) {
        if (t->rank >= KAFU_ONNX_MAX_RANK)
          return fail(eb, el, "tensor has more than %d dimensions", KAFU_ONNX_MAX_RANK);
        t->dims[t->rank++] = (int64_t)f.v;
      } else if (f.wt == 2) {
        pb_rd p = f.sub;
        while (p.p < p.end) {
          uint64_t d;
          if (pb_varint(&p, &d)) return fail(eb, el, "malformed tensor dims");
          if (t->rank >= KAFU_ONNX_MAX_RANK)
            return fail(eb, el, "tensor has more than %d dimensions", KAFU_ONNX_MAX_RANK);
          t->dims[t->rank++] = (int64_t)d;
        }
      }
    } else if (f.num == 2 && f.wt == 0) {
      t->data_type = (int32_t)f.v;
    } else if (f.num == 9 && f.wt == 2) {
      raw = f.sub;
      have_raw = 1;
    } else if (f.num == 6) {
      return fail(eb, el, "string tensors are not supported");
    } else if ((f.num == 13 && f.wt == 2) || (f.num == 14 && f.wt == 0 && f.v == 1)) {
      return fail(eb, el, "tensors with external data are not supported");
    } else if (f.num == 8 && f.wt == 2 && !t->name) {
      if (!(t->name = pb_strdup(&f))) return fail(eb, el, "out of memory");
    }
  }
  if (rc < 0) {
    kafu_onnx_tensor_free(t);
    return fail(eb, el, "not a TensorProto (malformed or truncated protobuf)");
  }
  if (!t->name && !(t->name = strdup(""))) return fail(eb, el, "out of memory");
  size_t esz = kafu_onnx_type_size(t->data_type);
  if (!esz) {
    int32_t dt = t->data_type;
    kafu_onnx_tensor_free(t);
    return fail(eb, el, "unsupported tensor element type %s (%d)", kafu_onnx_type_name(dt), (int)dt);
  }
  uint64_t count = 1;
  for (uint32_t i = 0; i < t->rank; i++) {
    if (t->dims[i] < 0 || (t->dims[i] && count > UINT64_MAX / (uint64_t)t->dims[i])) {
      kafu_onnx_tensor_free(t);
      return fail(eb, el, "bad tensor dimension %lld", (long long)t->dims[i]);
    }
    count *= (uint64_t)t->dims[i];
  }
  if (count > max_bytes / esz) {
    kafu_onnx_tensor_free(t);
    return fail(eb, el, "tensor of %llu elements is over the %zu-byte limit", (unsigned long long)count,
                max_bytes);
  }
  t->count = count;
  t->nbytes = (size_t)count * esz;
  t->data = malloc(t->nbytes ? t->nbytes : 1);
  if (!t->data) {
    kafu_onnx_tensor_free(t);
    return fail(eb, el, "out of memory");
  }
  if (have_raw) {
    if ((size_t)(raw.end - raw.p) != t->nbytes) {
      size_t got = (size_t)(raw.end - raw.p), want = t->nbytes;
      kafu_onnx_tensor_free(t);
      return fail(eb, el, "raw_data has %zu bytes, shape and type need %zu", got, want);
    }
    if (t->nbytes) memcpy(t->data, raw.p, t->nbytes);
    return 0;
  }
  /* typed repeated fields, packed or not, possibly split over several records */
  uint32_t want = typed_field(t->data_type);
  size_t n = 0;
  r.p = buf;
  r.end = buf + len;
  while (pb_next(&r, &f) == 1) {
    if (f.num != want) continue;
    int bad = 0;
    if (f.wt == 2) {
      pb_rd p = f.sub;
      while (p.p < p.end && !bad) {
        uint64_t v = 0;
        if (want == 4) {
          if (p.end - p.p < 4)
            bad = 1;
          else {
            uint32_t x;
            memcpy(&x, p.p, 4);
            v = x;
            p.p += 4;
          }
        } else if (want == 10) {
          if (p.end - p.p < 8)
            bad = 1;
          else {
            memcpy(&v, p.p, 8);
            p.p += 8;
          }
        } else if (pb_varint(&p, &v)) {
          bad = 1;
        }
        if (!bad && put_elem(t, want, v, &n, (size_t)count)) bad = 2;
      }
    } else if ((want == 4 && f.wt == 5) || (want == 10 && f.wt == 1) ||
               (want != 4 && want != 10 && f.wt == 0)) {
      if (put_elem(t, want, f.v, &n, (size_t)count)) bad = 2;
    }
    if (bad) {
      kafu_onnx_tensor_free(t);
      return fail(eb, el, bad == 2 ? "more values than the shape holds" : "malformed tensor data");
    }
  }
  size_t comp = (t->data_type == KAFU_ONNX_COMPLEX64 || t->data_type == KAFU_ONNX_COMPLEX128) ? 2 : 1;
  if (n != count * comp) {
    kafu_onnx_tensor_free(t);
    return fail(eb, el, "tensor has %zu values, its shape needs %llu", n, (unsigned long long)(count * comp));
  }
  return 0;
}

void kafu_onnx_tensor_free(kafu_onnx_tensor *t) {
  if (!t) return;
  free(t->name);
  free(t->data);
  memset(t, 0, sizeof *t);
}

/*
 * meta.c — the `kafu.meta` custom section (docs/abi.md): Snapify writes it,
 * runtimes and `kafu inspect` read it. Little-endian u32 fields and
 * length-prefixed strings; the decoder checks every length against the
 * payload, rejects unknown versions, and requires names/destinations to be
 * NUL-free so they can be handed around as C strings.
 */
#include <stdlib.h>
#include <string.h>

#include "kafu/wasm.h"

typedef struct {
  const uint8_t *p;
  size_t len, pos;
} mrd;

static int get_u32(mrd *r, uint32_t *v) {
  if (r->len - r->pos < 4) return -1;
  const uint8_t *q = r->p + r->pos;
  *v = q[0] | q[1] << 8 | q[2] << 16 | (uint32_t)q[3] << 24;
  r->pos += 4;
  return 0;
}

static int get_str(mrd *r, char **out) {
  uint32_t n;
  if (get_u32(r, &n) < 0 || n > r->len - r->pos || n > 4096) return -1;
  if (memchr(r->p + r->pos, 0, n)) return -1;
  char *s = malloc((size_t)n + 1);
  if (!s) return -1;
  memcpy(s, r->p + r->pos, n);
  s[n] = 0;
  r->pos += n;
  *out = s;
  return 0;
}

int kafu_meta_parse(const uint8_t *data, size_t len, kafu_meta *out, kafu_err *err) {
  mrd r = {data, len, 0};
  uint32_t magic;
  memset(out, 0, sizeof *out);
  if (get_u32(&r, &magic) < 0 || magic != KAFU_META_MAGIC)
    return kafu_err_set(err, KAFU_EFORMAT, "kafu.meta: bad magic");
  if (get_u32(&r, &out->version) < 0 || out->version != KAFU_META_VERSION)
    return kafu_err_set(err, KAFU_EFORMAT, "kafu.meta: unsupported version %u (this kafu reads version %u)",
                        out->version, KAFU_META_VERSION);
  if (get_u32(&r, &out->flags) < 0 || get_u32(&r, &out->asyncify_buf_size) < 0 ||
      get_u32(&r, &out->nfuncs) < 0)
    goto trunc;
  /* each entry is at least 12 bytes: bounds the allocation by the payload */
  if ((uint64_t)out->nfuncs * 12 > len - r.pos) goto trunc;
  out->funcs = calloc(out->nfuncs ? out->nfuncs : 1, sizeof *out->funcs);
  if (!out->funcs) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < out->nfuncs; i++) {
    kafu_meta_func *f = &out->funcs[i];
    if (get_u32(&r, &f->fn_id) < 0 || get_str(&r, &f->name) < 0 || get_str(&r, &f->dest) < 0) goto trunc;
    if (f->fn_id != i) {
      uint32_t id = f->fn_id;
      kafu_meta_free(out);
      return kafu_err_set(err, KAFU_EFORMAT,
                          "kafu.meta: entry %u has function id %u (ids must be 0..n-1 in order)", i, id);
    }
  }
  if (get_u32(&r, &out->instrumented_functions) < 0 || get_u32(&r, &out->total_functions) < 0) goto trunc;
  if (r.pos != len) {
    kafu_meta_free(out);
    return kafu_err_set(err, KAFU_EFORMAT, "kafu.meta: %zu trailing bytes", len - r.pos);
  }
  return 0;
trunc:
  kafu_meta_free(out);
  return kafu_err_set(err, KAFU_EFORMAT, "kafu.meta: truncated or malformed at byte %zu", r.pos);
}

static int put_u32(kafu_buf *b, uint32_t v) {
  uint8_t q[4] = {v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24 & 0xff};
  return kafu_buf_append(b, q, 4);
}

static int put_str(kafu_buf *b, const char *s) {
  size_t n = strlen(s);
  if (put_u32(b, (uint32_t)n) < 0) return KAFU_ENOMEM;
  return kafu_buf_append(b, s, n);
}

int kafu_meta_encode(const kafu_meta *meta, kafu_buf *b) {
  int rc = put_u32(b, KAFU_META_MAGIC);
  rc |= put_u32(b, KAFU_META_VERSION);
  rc |= put_u32(b, meta->flags);
  rc |= put_u32(b, meta->asyncify_buf_size);
  rc |= put_u32(b, meta->nfuncs);
  for (uint32_t i = 0; i < meta->nfuncs; i++) {
    rc |= put_u32(b, meta->funcs[i].fn_id);
    rc |= put_str(b, meta->funcs[i].name);
    rc |= put_str(b, meta->funcs[i].dest);
  }
  rc |= put_u32(b, meta->instrumented_functions);
  rc |= put_u32(b, meta->total_functions);
  return rc ? KAFU_ENOMEM : 0;
}

void kafu_meta_free(kafu_meta *meta) {
  if (!meta) return;
  if (meta->funcs)
    for (uint32_t i = 0; i < meta->nfuncs; i++) {
      free(meta->funcs[i].name);
      free(meta->funcs[i].dest);
    }
  free(meta->funcs);
  memset(meta, 0, sizeof *meta);
}

int kafu_wasm_read_meta(const kafu_wasm_module *m, kafu_meta *out, kafu_err *err) {
  const kafu_wasm_custom *c = kafu_wasm_find_custom(m, KAFU_META_SECTION);
  memset(out, 0, sizeof *out);
  if (!c) return 0;
  int rc = kafu_meta_parse(c->data, c->len, out, err);
  return rc < 0 ? rc : 1;
}

int kafu_wasm_append_custom(kafu_buf *b, const char *name, const void *payload, size_t len) {
  size_t nlen = strlen(name);
  kafu_buf hdr = {0};
  int rc = kafu_leb_put_u32(&hdr, (uint32_t)nlen);
  rc |= kafu_buf_append(&hdr, name, nlen);
  if (rc || hdr.len + len > UINT32_MAX) {
    kafu_buf_free(&hdr);
    return KAFU_ENOMEM;
  }
  uint8_t id = 0;
  rc = kafu_buf_append(b, &id, 1);
  rc |= kafu_leb_put_u32(b, (uint32_t)(hdr.len + len));
  rc |= kafu_buf_append(b, hdr.data, hdr.len);
  rc |= kafu_buf_append(b, payload, len);
  kafu_buf_free(&hdr);
  return rc ? KAFU_ENOMEM : 0;
}

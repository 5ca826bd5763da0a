/*
 * leb.c — LEB128 decoding with the spec's strictness (no more bytes than the
 * type allows, unused high bits must be zero/sign bits) and the bounded
 * cursor helpers of wasm_internal.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_internal.h"

static int leb_unsigned(const uint8_t *p, size_t len, size_t *pos, unsigned bits, uint64_t *out) {
  uint64_t v = 0;
  unsigned shift = 0;
  size_t i = *pos;
  unsigned maxbytes = (bits + 6) / 7;
  for (unsigned n = 0; n < maxbytes; n++) {
    if (i >= len) return KAFU_EFORMAT;
    uint8_t b = p[i++];
    if (n == maxbytes - 1) {
      /* last allowed byte: no continuation, no bits beyond `bits` */
      unsigned used = bits - shift;
      if (b & 0x80) return KAFU_EFORMAT;
      if (used < 7 && (b >> used) != 0) return KAFU_EFORMAT;
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) {
      *pos = i;
      *out = v;
      return 0;
    }
  }
  return KAFU_EFORMAT;
}

static int leb_signed(const uint8_t *p, size_t len, size_t *pos, unsigned bits, int64_t *out) {
  uint64_t v = 0;
  unsigned shift = 0;
  size_t i = *pos;
  unsigned maxbytes = (bits + 6) / 7;
  for (unsigned n = 0; n < maxbytes; n++) {
    if (i >= len) return KAFU_EFORMAT;
    uint8_t b = p[i++];
    if (n == maxbytes - 1) {
      if (b & 0x80) return KAFU_EFORMAT;
      /* the unused bits of the last byte must all equal the sign bit */
      unsigned used = bits - shift; /* 1..7 */
      if (used < 7) {
        int sign = (b >> (used - 1)) & 1;
        uint8_t rest = (uint8_t)((b & 0x7f) >> used);
        uint8_t want = sign ? (uint8_t)(0x7f >> used) : 0;
        if (rest != want) return KAFU_EFORMAT;
      }
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) {
      if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
      *pos = i;
      *out = (int64_t)v;
      return 0;
    }
  }
  return KAFU_EFORMAT;
}

int kafu_leb_u32(const uint8_t *p, size_t len, size_t *pos, uint32_t *out) {
  uint64_t v;
  int rc = leb_unsigned(p, len, pos, 32, &v);
  if (rc == 0) *out = (uint32_t)v;
  return rc;
}

int kafu_leb_u64(const uint8_t *p, size_t len, size_t *pos, uint64_t *out) {
  return leb_unsigned(p, len, pos, 64, out);
}

int kafu_leb_s32(const uint8_t *p, size_t len, size_t *pos, int32_t *out) {
  int64_t v;
  int rc = leb_signed(p, len, pos, 32, &v);
  if (rc == 0) *out = (int32_t)v;
  return rc;
}

int kafu_leb_s64(const uint8_t *p, size_t len, size_t *pos, int64_t *out) {
  return leb_signed(p, len, pos, 64, out);
}

int kafu_leb_put_u32(kafu_buf *b, uint32_t v) {
  uint8_t tmp[5];
  size_t n = 0;
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v) byte |= 0x80;
    tmp[n++] = byte;
  } while (v);
  return kafu_buf_append(b, tmp, n);
}

/* ---- bounded cursor --------------------------------------------------------- */

int kw_fail(kw_rd *r, int code, const char *fmt, ...) {
  if (r->failed) return r->failed;
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  r->failed = code;
  kafu_err_set(r->err, code, "%s at offset 0x%zx: %s", r->ctx ? r->ctx : "module", r->pos, what);
  return code;
}

#define KW_LEB(fn, T, bits)                                                                           \
  int kw_##fn(kw_rd *r, T *out, const char *what) {                                                   \
    if (r->failed) return r->failed;                                                                  \
    size_t start = r->pos;                                                                            \
    if (kafu_leb_##fn(r->p, r->end, &r->pos, out) < 0) {                                              \
      r->pos = start;                                                                                 \
      return kw_fail(r, KAFU_EFORMAT, "%s: %s %s", what, start >= r->end ? "truncated" : "malformed", \
                     bits "-bit LEB128");                                                             \
    }                                                                                                 \
    return 0;                                                                                         \
  }
KW_LEB(u32, uint32_t, "unsigned 32")
KW_LEB(u64, uint64_t, "unsigned 64")
KW_LEB(s32, int32_t, "signed 32")
KW_LEB(s64, int64_t, "signed 64")

int kw_u8(kw_rd *r, uint8_t *out, const char *what) {
  if (r->failed) return r->failed;
  if (r->pos >= r->end) return kw_fail(r, KAFU_EFORMAT, "%s: unexpected end", what);
  *out = r->p[r->pos++];
  return 0;
}

int kw_skip(kw_rd *r, size_t n, const char *what) {
  if (r->failed) return r->failed;
  if (n > r->end - r->pos)
    return kw_fail(r, KAFU_EFORMAT, "%s: %zu bytes needed, only %zu left", what, n, r->end - r->pos);
  r->pos += n;
  return 0;
}

int kw_count(kw_rd *r, uint32_t *out, size_t min_elem_size, const char *what) {
  if (kw_u32(r, out, what) < 0) return r->failed;
  size_t left = r->end - r->pos;
  if (min_elem_size && (uint64_t)*out * min_elem_size > left)
    return kw_fail(r, KAFU_EFORMAT, "%s: count %u does not fit in the %zu remaining bytes", what, *out, left);
  return 0;
}

int kw_name(kw_rd *r, char **out, const char *what) {
  uint32_t n;
  *out = NULL;
  if (kw_u32(r, &n, what) < 0) return r->failed;
  size_t at = r->pos;
  if (kw_skip(r, n, what) < 0) return r->failed;
  if (memchr(r->p + at, 0, n)) {
    r->pos = at;
    return kw_fail(r, KAFU_EFORMAT, "%s: name contains a NUL byte", what);
  }
  char *s = malloc((size_t)n + 1);
  if (!s) return kw_fail(r, KAFU_ENOMEM, "%s: out of memory", what);
  memcpy(s, r->p + at, n);
  s[n] = 0;
  *out = s;
  return 0;
}

int kw_valtype(kw_rd *r, uint8_t *out, const char *what) {
  if (kw_u8(r, out, what) < 0) return r->failed;
  switch (*out) {
    case KAFU_WASM_I32:
    case KAFU_WASM_I64:
    case KAFU_WASM_F32:
    case KAFU_WASM_F64:
    case KAFU_WASM_V128:
    case KAFU_WASM_FUNCREF:
    case KAFU_WASM_EXTERNREF:
      return 0;
    default:
      r->pos--;
      return kw_fail(r, KAFU_EUNSUP,
                     "%s: unsupported value type 0x%02x (GC/typed-reference types are not "
                     "supported)",
                     what, *out);
  }
}

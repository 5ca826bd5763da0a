/*
 * wasm_internal.h — the bounded byte cursor shared by the reader and the code
 * scanner. Every read checks `pos < end`; a failed read records a message
 * naming the context ("code section, function 12") and the offset, and every
 * later read fails too, so callers can check once after a group of reads.
 */
#ifndef KAFU_WASM_INTERNAL_H
#define KAFU_WASM_INTERNAL_H

#include "kafu/wasm.h"

typedef struct kw_rd {
  const uint8_t *p; /* whole module */
  size_t pos, end;  /* cursor and limit (absolute offsets) */
  const char *ctx;  /* e.g. "import section" */
  kafu_err *err;
  int failed; /* 0 or the first error code */
} kw_rd;

/* Record an error (first one wins) and return its code. */
int kw_fail(kw_rd *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int kw_u8(kw_rd *r, uint8_t *out, const char *what);
int kw_u32(kw_rd *r, uint32_t *out, const char *what);
int kw_u64(kw_rd *r, uint64_t *out, const char *what);
int kw_s32(kw_rd *r, int32_t *out, const char *what);
int kw_s64(kw_rd *r, int64_t *out, const char *what);
/* Skip n bytes (checked). */
int kw_skip(kw_rd *r, size_t n, const char *what);
/* A vector count whose elements take at least min_elem_size bytes each: the
 * count is rejected when the remaining bytes cannot hold it, which bounds every
 * allocation by the input size. */
int kw_count(kw_rd *r, uint32_t *out, size_t min_elem_size, const char *what);
/* Length-prefixed UTF-8 name, returned as a malloc'd NUL-terminated copy.
 * Embedded NULs are rejected (they would silently truncate names). */
int kw_name(kw_rd *r, char **out, const char *what);
/* A value type byte; rejects unknown codes. */
int kw_valtype(kw_rd *r, uint8_t *out, const char *what);

/* Decode one constant expression (up to and including its `end`). Sets the
 * global's init fields (for globals) or reports the i32/i64 offset. */
int kw_const_expr(const kafu_wasm_module *m, kw_rd *r, kafu_wasm_init_kind *kind, uint64_t *value,
                  uint32_t nglobals_visible, uint32_t *features);

#endif

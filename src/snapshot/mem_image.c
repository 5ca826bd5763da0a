/*
 * mem_image.c — identities of linear-memory images (docs/snapshot-format.md,
 * "Memory images and delta correctness").
 *
 * A delta is only valid against the exact image the receiver holds, so every
 * image gets an id: xxh3-64 over its 4 KiB page hashes, seeded with its size.
 * A node keeps the page hashes of the image it last held (sent or received).
 * The sender finds dirty pages by rehashing the current memory and comparing
 * with those hashes (xxh3 runs at memory bandwidth), or — when the caller has a
 * written-page bitmap (e.g. userfaultfd write-protect) — rehashes only those.
 * The receiver rebuilds the id from its cached hashes plus the received pages
 * and compares it with the sender's, so a stale baseline is caught, not resumed.
 *
 * Hash equality stands for page equality (xxh3-64: a collision between a page
 * and its older content is ~2^-64 per changed page); docs/snapshot-format.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap_internal.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t kafu_mem_page_hash(const uint8_t *page) { return XXH3_64bits(page, KAFU_SNAP_PAGE); }

uint64_t kafu_snap_zero_page_hash(void) {
  static uint64_t cached; /* benign race: every thread computes the same value */
  uint64_t h = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (!h) {
    static const uint8_t zero[KAFU_SNAP_PAGE];
    h = kafu_mem_page_hash(zero);
    __atomic_store_n(&cached, h, __ATOMIC_RELAXED);
  }
  return h;
}

uint64_t kafu_mem_image_id_of(uint64_t size, const uint64_t *hashes, uint64_t npages) {
  uint64_t id = XXH3_64bits_withSeed(hashes, npages * sizeof(uint64_t), size);
  return id ? id : 1; /* 0 is reserved for "no image" */
}

void kafu_mem_image_init(kafu_mem_image *img) { memset(img, 0, sizeof *img); }

void kafu_mem_image_free(kafu_mem_image *img) {
  free(img->hashes);
  memset(img, 0, sizeof *img);
}

void kafu_mem_image_clear(kafu_mem_image *img) {
  img->size = img->npages = 0;
  img->id = 0;
}

static int check_size(uint64_t size, kafu_err *err) {
  if (size % KAFU_SNAP_PAGE)
    return kafu_err_set(err, KAFU_EINVAL, "memory image: size %" PRIu64 " is not a multiple of %u", size,
                        KAFU_SNAP_PAGE);
  if (size > KAFU_SNAP_MAX_MEMORY)
    return kafu_err_set(err, KAFU_EINVAL, "memory image: size %" PRIu64 " exceeds 4 GiB", size);
  return 0;
}

static int reserve_hashes(kafu_mem_image *img, uint64_t npages, kafu_err *err) {
  if (npages <= img->cap) return 0;
  uint64_t cap = img->cap ? img->cap : 256;
  while (cap < npages) cap *= 2;
  uint64_t *h = realloc(img->hashes, cap * sizeof *h);
  if (!h)
    return kafu_err_set(err, KAFU_ENOMEM, "memory image: out of memory for %" PRIu64 " page hashes", npages);
  img->hashes = h;
  img->cap = cap;
  return 0;
}

int kafu_mem_image_compute(kafu_mem_image *img, const uint8_t *mem, uint64_t size, kafu_err *err) {
  int rc = check_size(size, err);
  if (rc) return rc;
  uint64_t np = size / KAFU_SNAP_PAGE;
  if ((rc = reserve_hashes(img, np, err))) return rc;
  for (uint64_t i = 0; i < np; i++) img->hashes[i] = kafu_mem_page_hash(mem + i * KAFU_SNAP_PAGE);
  img->size = size;
  img->npages = np;
  img->id = kafu_mem_image_id_of(size, img->hashes, np);
  return 0;
}

int kafu_mem_image_copy(kafu_mem_image *dst, const kafu_mem_image *src, kafu_err *err) {
  int rc = reserve_hashes(dst, src->npages, err);
  if (rc) return rc;
  if (src->npages) memcpy(dst->hashes, src->hashes, src->npages * sizeof(uint64_t));
  dst->size = src->size;
  dst->npages = src->npages;
  dst->id = src->id;
  return 0;
}

static int reserve_bits(kafu_mem_delta *d, uint64_t npages, kafu_err *err) {
  uint64_t words = (npages + 63) / 64;
  if (words > d->cap) {
    uint64_t *b = realloc(d->bits, words * sizeof *b);
    if (!b)
      return kafu_err_set(err, KAFU_ENOMEM, "memory delta: out of memory for %" PRIu64 " pages", npages);
    d->bits = b;
    d->cap = words;
  }
  if (words) memset(d->bits, 0, words * sizeof(uint64_t));
  return 0;
}

int kafu_mem_image_update(kafu_mem_image *img, const uint8_t *mem, uint64_t size, const uint64_t *written,
                          kafu_mem_delta *delta, kafu_err *err) {
  int rc = check_size(size, err);
  if (rc) return rc;
  uint64_t np = size / KAFU_SNAP_PAGE;
  bool had = img->id != 0;
  uint64_t old_np = had ? img->npages : 0, old_size = had ? img->size : 0, old_id = img->id;
  if ((rc = reserve_hashes(img, np, err))) return rc;
  uint64_t *bits = NULL;
  if (delta) {
    if ((rc = reserve_bits(delta, np, err))) return rc;
    bits = delta->bits;
  }
  uint64_t ndirty = 0, common = old_np < np ? old_np : np;
  uint64_t *hs = img->hashes;
  /* Pages the previous image had: rehash (all, or only the possibly-written
   * ones) and compare. Walk the hint a word at a time to skip clean ranges. */
  for (uint64_t w = 0; w * 64 < common; w++) {
    uint64_t mask = written ? written[w] : ~0ull;
    uint64_t end = (w + 1) * 64 < common ? (w + 1) * 64 : common;
    if (end - w * 64 < 64) mask &= (1ull << (end - w * 64)) - 1;
    while (mask) {
      uint64_t i = w * 64 + (uint64_t)__builtin_ctzll(mask);
      mask &= mask - 1;
      uint64_t h = kafu_mem_page_hash(mem + i * KAFU_SNAP_PAGE);
      if (h != hs[i]) {
        hs[i] = h;
        ndirty++;
        if (bits) bits[i / 64] |= 1ull << (i % 64);
      }
    }
  }
  /* Pages beyond the previous image: new. All-zero ones need not travel in a
   * delta because the receiver's grown memory is zero too. */
  uint64_t zh = kafu_snap_zero_page_hash();
  for (uint64_t i = common; i < np; i++) {
    uint64_t h = kafu_mem_page_hash(mem + i * KAFU_SNAP_PAGE);
    hs[i] = h;
    if (!had || h != zh) {
      ndirty++;
      if (bits) bits[i / 64] |= 1ull << (i % 64);
    }
  }
  img->size = size;
  img->npages = np;
  img->id = kafu_mem_image_id_of(size, hs, np);
  if (delta) {
    delta->base_id = old_id;
    delta->base_size = old_size;
    delta->new_id = img->id;
    delta->npages = np;
    delta->ndirty = ndirty;
  }
  return 0;
}

int kafu_mem_delta_between(const kafu_mem_image *base, const kafu_mem_image *cur, kafu_mem_delta *delta,
                           kafu_err *err) {
  if (!base->id || !cur->id)
    return kafu_err_set(err, KAFU_EINVAL, "memory delta: %s image missing", base->id ? "current" : "base");
  if (cur->npages < base->npages)
    return kafu_err_set(err, KAFU_EINVAL,
                        "memory delta: the image shrank from %" PRIu64 " to %" PRIu64 " pages", base->npages,
                        cur->npages);
  int rc = reserve_bits(delta, cur->npages, err);
  if (rc) return rc;
  uint64_t n = 0, zh = kafu_snap_zero_page_hash();
  const uint64_t *a = base->hashes, *b = cur->hashes;
  for (uint64_t i = 0; i < cur->npages; i++)
    if (i < base->npages ? a[i] != b[i] : b[i] != zh) {
      delta->bits[i / 64] |= 1ull << (i % 64);
      n++;
    }
  delta->base_id = base->id;
  delta->base_size = base->size;
  delta->new_id = cur->id;
  delta->npages = cur->npages;
  delta->ndirty = n;
  return 0;
}

void kafu_mem_image_id_str(uint64_t id, char out[17]) { snprintf(out, 17, "%016" PRIx64, id); }

int kafu_mem_image_id_parse(const char *s, uint64_t *id) {
  uint64_t v = 0;
  size_t n = 0;
  if (!s) return KAFU_EINVAL;
  for (; s[n]; n++) {
    char c = s[n];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0 || n >= 16) return KAFU_EINVAL;
    v = v << 4 | (uint64_t)d;
  }
  if (n == 0) return KAFU_EINVAL;
  *id = v;
  return 0;
}

void kafu_mem_delta_free(kafu_mem_delta *d) {
  free(d->bits);
  memset(d, 0, sizeof *d);
}

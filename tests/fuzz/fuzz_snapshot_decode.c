/*
 * fuzz_snapshot_decode.c — libFuzzer target for the push-based snapshot decoder.
 *
 * Each input is fed to a receiver that holds a fixed baseline image (so delta
 * snapshots reach the page-applying code), in chunk sizes drawn from a PRNG
 * seeded by the input's hash (the same input always splits the same way, and
 * the input bytes stay pure snapshot), then to kafu_snap_describe (inspection
 * mode, text and JSON). Invariants checked on top of "no crash / no leak":
 *  - a decode that succeeds leaves memory whose recomputed image id equals the
 *    receiver's new held image (never a wrong resume);
 *  - without memory_undo, a decode that fails after memory was handed out
 *    leaves no held image;
 *  - with memory_undo (every other input), a decode that fails, or succeeds
 *    and is then undone, leaves the receiver's memory, its size and the held
 *    image exactly as they were.
 * Seeds: tests/fuzz/corpus/fuzz_snapshot_decode (regenerate with
 * KAFU_WRITE_SEEDS=<dir> build/tests/test_snapshot).
 *
 * Speed: the receiver's baseline memory and its image are built once; each
 * input starts from a copy, and "as before" is a memcmp against it (byte loops
 * here ran at a few ms per input under coverage instrumentation and made the
 * target crawl at ~40 executions/s). The receiver offers at most 1 MiB: a
 * larger declared memory is refused by the memory callback, like a receiver
 * out of memory, which is a path worth fuzzing, not a cost worth paying per
 * input (the decoder's limits are the same for 1 MiB and for 4 GiB).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/snapshot.h"

/* Must match make_seeds() in tests/unit/test_snapshot.c. */
#define BASE_SIZE (2 * 65536)
#define MAX_DEST (1u << 20) /* the fuzz receiver refuses larger memories */

typedef struct recv {
  uint8_t *mem;
  uint64_t size, size_before;
  int calls, undos;
} recv_t;

static uint8_t *dest(void *ctx, uint64_t size, kafu_err *err) {
  recv_t *r = ctx;
  r->calls++;
  r->size_before = r->size;
  if (size > MAX_DEST) {
    kafu_err_set(err, KAFU_ENOMEM, "fuzz receiver: %llu bytes is more than it offers",
                 (unsigned long long)size);
    return NULL;
  }
  if (size > r->size) {
    uint8_t *m = realloc(r->mem, size);
    if (!m) return NULL;
    memset(m + r->size, 0, size - r->size);
    r->mem = m, r->size = size;
  }
  return r->mem;
}

static void undo(void *ctx) {
  recv_t *r = ctx;
  r->undos++;
  r->size = r->size_before; /* dest() zeroes anything above it when growing again */
}

/* The receiver's memory before every input, and its image. */
static uint8_t *g_base;
static kafu_mem_image g_base_img;

static void base_init(void) {
  if (g_base) return;
  g_base = malloc(BASE_SIZE);
  for (uint32_t i = 0; i < BASE_SIZE; i++) g_base[i] = (uint8_t)((i * 7) ^ (i >> 9));
  kafu_mem_image_init(&g_base_img);
  kafu_mem_image_compute(&g_base_img, g_base, BASE_SIZE, NULL);
}

/* With undo: the receiver is exactly as before the decode. */
static void check_untouched(const recv_t *r, const kafu_mem_image *held, uint64_t held_id, const char *when) {
  bool same = r->size == BASE_SIZE && held->id == held_id && held->size == BASE_SIZE &&
              held->npages == g_base_img.npages &&
              !memcmp(held->hashes, g_base_img.hashes, held->npages * sizeof *held->hashes) &&
              !memcmp(r->mem, g_base, BASE_SIZE);
  if (!same || (r->calls && r->undos != 1)) {
    fprintf(stderr, "%s: receiver changed (size %llu, held %016llx, undo calls %d)\n", when,
            (unsigned long long)r->size, (unsigned long long)held->id, r->undos);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  base_init();
  recv_t r = {.size = BASE_SIZE};
  r.mem = malloc(BASE_SIZE);
  memcpy(r.mem, g_base, BASE_SIZE);
  kafu_mem_image held;
  kafu_mem_image_init(&held);
  kafu_mem_image_copy(&held, &g_base_img, NULL); /* the decoder swaps its hashes */
  uint64_t held_id = held.id;
  uint64_t rng = kafu_hash64(data, size) | 1;
  bool with_undo = rng & 2;

  kafu_snap_decoder_opts o = {.memory = dest,
                              .memory_undo = with_undo ? undo : NULL,
                              .memory_ctx = &r,
                              .held = &held,
                              .verify_full = size % 2};
  kafu_snap_decoder *d;
  kafu_err e;
  if (kafu_snap_decoder_new(&d, &o, &e) == 0) {
    size_t pos = 0;
    int rc = 0;
    while (!rc && pos < size) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      size_t n = 1 + (rng % 4 == 0 ? rng % 7 : rng % 1024);
      if (n > size - pos) n = size - pos;
      rc = kafu_snap_decoder_feed(d, data + pos, n, &e);
      pos += n;
    }
    kafu_snapshot out = {0};
    if (!rc) rc = kafu_snap_decoder_finish(d, &out, NULL, &e);
    if (rc == 0 && with_undo && rng & 4) { /* e.g. the receiver's restore failed */
      kafu_snap_decoder_undo(d);
      kafu_snap_decoder_free(d);
      check_untouched(&r, &held, held_id, "undone decode");
      kafu_snapshot_clear(&out);
      goto describe;
    }
    kafu_snap_decoder_free(d);
    if (rc != 0 && with_undo) check_untouched(&r, &held, held_id, "failed decode");
    if (rc == 0 && out.memory_size) {
      kafu_mem_image check;
      kafu_mem_image_init(&check);
      kafu_mem_image_compute(&check, out.memory, out.memory_size, NULL);
      if (check.id != held.id) {
        fprintf(stderr, "accepted snapshot rebuilt a memory that differs from its image\n");
        abort();
      }
      kafu_mem_image_free(&check);
    }
    if (rc != 0 && !with_undo && r.calls && held.id != 0) {
      fprintf(stderr, "failed decode kept a held image after touching memory: %s\n", e.msg);
      abort();
    }
    kafu_snapshot_clear(&out);
  }
describe:;
  kafu_buf t = {0};
  kafu_snap_describe(data, size, &t, false, NULL);
  t.len = 0;
  kafu_snap_describe(data, size, &t, true, NULL);
  kafu_buf_free(&t);
  kafu_mem_image_free(&held);
  free(r.mem);
  return 0;
}

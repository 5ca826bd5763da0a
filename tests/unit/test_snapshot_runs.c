/*
 * test_snapshot_runs.c — two encoder/decoder details of the migration fast
 * path (docs/benchmarks.md, round 2):
 *  - LZ4 single-page runs: a random-looking page is stored raw (bit 31)
 *    after a cheap probe, a compressible one is still compressed, and the
 *    delta decodes to the sender's memory either way;
 *  - the decoder's on_runs hook announces exactly the chunk's runs, in
 *    order, before their pages are written (the receiver drops the write
 *    protection of those pages), and is not called when inspecting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/snapshot.h"

#define PG 4096u
#define NPAGES 32u
#define SIZE (NPAGES * PG)

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return rs;
}
static void fill_random(uint8_t *pg) {
  for (unsigned i = 0; i < PG; i += 8) {
    uint64_t v = rnd();
    memcpy(pg + i, &v, 8);
  }
}
static void fill_text(uint8_t *pg, unsigned salt) {
  for (unsigned i = 0; i < PG; i++) pg[i] = "kafu moves programs "[(i + salt) % 20];
}
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static const uint8_t module[32] = {7};

typedef struct dst {
  uint8_t *mem;
  uint32_t seen[2 * NPAGES];
  uint32_t nseen, calls;
  bool written_before; /* a page of an announced run already held the new content */
  const uint8_t *want;
} dst;

static uint8_t *dst_memory(void *ctx, uint64_t size, kafu_err *err) {
  (void)err;
  dst *d = ctx;
  assert_int_equal(size, SIZE);
  return d->mem;
}
static void dst_runs(void *ctx, const uint32_t *runs, uint32_t n) {
  dst *d = ctx;
  d->calls++;
  for (uint32_t i = 0; i < n; i++) {
    assert_true(d->nseen < NPAGES);
    d->seen[2 * d->nseen] = runs[2 * i];
    d->seen[2 * d->nseen + 1] = runs[2 * i + 1];
    d->nseen++;
    /* announced before the decoder wrote them: the destination still differs */
    if (!memcmp(d->mem + (size_t)runs[2 * i] * PG, d->want + (size_t)runs[2 * i] * PG, PG))
      d->written_before = true;
  }
}

static void test_single_page_runs(void **st_) {
  (void)st_;
  uint8_t *a = malloc(SIZE), *b = malloc(SIZE);
  assert_non_null(a);
  assert_non_null(b);
  for (unsigned p = 0; p < NPAGES; p++) p % 2 ? fill_text(a + p * PG, p) : fill_random(a + p * PG);
  memcpy(b, a, SIZE);
  kafu_err e = {0};
  kafu_mem_image img, held;
  kafu_mem_image_init(&img);
  kafu_mem_image_init(&held);
  assert_int_equal(kafu_mem_image_compute(&img, b, SIZE, &e), 0);
  assert_int_equal(kafu_mem_image_copy(&held, &img, &e), 0);
  uint64_t base = img.id;
  /* the program writes: random pages 2 and 12, text pages 5 and 9, and a
   * two-page run 20-21 (isolated pages = single-page runs) */
  fill_random(b + 2 * PG);
  fill_random(b + 12 * PG);
  fill_text(b + 5 * PG, 3);
  fill_text(b + 9 * PG, 11);
  fill_text(b + 20 * PG, 1);
  fill_random(b + 21 * PG);
  kafu_mem_delta delta = {0};
  assert_int_equal(kafu_mem_image_update(&img, b, SIZE, NULL, &delta, &e), 0);
  assert_int_equal(delta.ndirty, 6);

  kafu_snapshot s = {0};
  memcpy(s.module_sha256, module, 32);
  s.source_node = "a";
  s.target_node = "b";
  s.memory = b;
  s.memory_size = SIZE;
  kafu_snap_encode_opts o = {
      .compression = KAFU_SNAP_COMP_LZ4, .image = &img, .delta = &delta, .receiver_image_id = base};
  kafu_buf out = {0};
  kafu_snap_stats st;
  assert_int_equal(kafu_snap_encode_buf(&s, &o, &out, &st, &e), 0);
  assert_true(st.delta);

  /* walk the sections to the one MEMCHUNK and check each run's storage */
  size_t off = 24;
  const uint8_t *tab = NULL;
  uint32_t nruns = 0;
  while (off + 16 <= out.len) {
    uint32_t type = get32(out.data + off);
    uint64_t len = get64(out.data + off + 8);
    if (type == 6) {
      nruns = get32(out.data + off + 16);
      tab = out.data + off + 20;
    }
    off += 16 + len + 8;
  }
  assert_non_null(tab);
  assert_int_equal(nruns, 5);
  const uint32_t first[] = {2, 5, 9, 12, 20}, npg[] = {1, 1, 1, 1, 2};
  const bool raw[] = {true, false, false, true, false};
  for (uint32_t i = 0; i < nruns; i++) {
    assert_int_equal(get32(tab + 12 * i), first[i]);
    assert_int_equal(get32(tab + 12 * i + 4), npg[i]);
    uint32_t stored = get32(tab + 12 * i + 8);
    if (raw[i]) {
      assert_int_equal(stored, 0x80000000u | PG);
    } else {
      assert_false(stored & 0x80000000u);
      /* text pages shrink a lot; the two-page run (text + random) still shrinks */
      assert_true(npg[i] == 1 ? stored < PG / 2 : stored < npg[i] * PG);
    }
  }

  /* the receiver holds a: the delta rebuilds b, each run announced first */
  dst d = {.mem = malloc(SIZE), .want = b};
  assert_non_null(d.mem);
  memcpy(d.mem, a, SIZE);
  kafu_snap_decoder_opts dop = {.expected_module_sha256 = module,
                                .memory = dst_memory,
                                .memory_ctx = &d,
                                .held = &held,
                                .on_runs = dst_runs,
                                .on_runs_ctx = &d};
  assert_int_equal(kafu_snap_decode_buf(out.data, out.len, &dop, NULL, NULL, &e), 0);
  assert_memory_equal(d.mem, b, SIZE);
  assert_int_equal(held.id, img.id);
  assert_int_equal(d.calls, 1);
  assert_int_equal(d.nseen, 5);
  for (uint32_t i = 0; i < 5; i++) {
    assert_int_equal(d.seen[2 * i], first[i]);
    assert_int_equal(d.seen[2 * i + 1], npg[i]);
  }
  assert_false(d.written_before);

  /* inspection (no destination): no announcement */
  dst d2 = {.mem = NULL, .want = b};
  kafu_snap_decoder_opts iop = {.on_runs = dst_runs, .on_runs_ctx = &d2};
  assert_int_equal(kafu_snap_decode_buf(out.data, out.len, &iop, NULL, NULL, &e), 0);
  assert_int_equal(d2.calls, 0);

  kafu_buf_free(&out);
  kafu_mem_delta_free(&delta);
  kafu_mem_image_free(&img);
  kafu_mem_image_free(&held);
  free(d.mem);
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_single_page_runs)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_dirty.c — userfaultfd write-protect dirty tracking (src/runtime/dirty.c)
 * against ground truth, and kafu_mem_image_update with its written-page hint
 * against a full rehash: same image id, same dirty set. Skips (not fails) when
 * the kernel or privileges do not offer asynchronous write-protection — the
 * runtime then falls back to hashing, which test_snapshot_delta covers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "kafu/runtime.h"
#include "kafu/snapshot.h"

#define PG 4096u
#define RES (64u << 20) /* reservation (like the engine's, smaller) */
#define SIZE (4u << 20) /* committed at first */

typedef struct {
  uint8_t *base;
  kafu_dirty *d;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->base = mmap(NULL, RES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  assert_true(f->base != MAP_FAILED);
  assert_int_equal(mprotect(f->base, SIZE, PROT_READ | PROT_WRITE), 0);
  for (size_t i = 0; i < SIZE; i += 64) f->base[i] = (uint8_t)(i * 7 / 64 + 1);
  kafu_err e = {0};
  if (kafu_dirty_open(f->base, RES, &f->d, &e)) f->d = NULL;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  kafu_dirty_close(f->d);
  munmap(f->base, RES);
  free(f);
  return 0;
}

static uint64_t bitcount(const uint64_t *b, size_t words) {
  uint64_t n = 0;
  for (size_t i = 0; i < words; i++) n += (uint64_t)__builtin_popcountll(b[i]);
  return n;
}
static int bit(const uint64_t *b, size_t i) { return (int)(b[i / 64] >> (i % 64) & 1); }

static void test_written_set(void **state) {
  fx *f = *state;
  if (!f->d) skip();
  kafu_err e = {0};
  size_t np = SIZE / PG, words = (np + 63) / 64;
  uint64_t *bits = calloc(words * 2, sizeof *bits);
  assert_int_equal(kafu_dirty_collect(f->d, SIZE, NULL, &e), 0); /* arm */
  assert_int_equal(kafu_dirty_collect(f->d, SIZE, bits, &e), 0);
  assert_int_equal(bitcount(bits, words), 0); /* nothing written since */
  size_t want[] = {0, 3, 17, 63, 64, 65, 200, 201, 202, 1023};
  for (size_t k = 0; k < sizeof want / sizeof *want; k++) f->base[want[k] * PG + 100] ^= 0x5a;
  for (size_t p = 400; p < 480; p++) f->base[p * PG] = 1; /* a run */
  /* a write by the kernel (read(2) into memory) counts too */
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], "kernel", 6), 6);
  assert_int_equal(read(fds[0], f->base + 777 * PG + 5, 6), 6);
  close(fds[0]), close(fds[1]);
  assert_int_equal(kafu_dirty_collect(f->d, SIZE, bits, &e), 0);
  for (size_t k = 0; k < sizeof want / sizeof *want; k++) assert_true(bit(bits, want[k]));
  for (size_t p = 400; p < 480; p++) assert_true(bit(bits, p));
  assert_true(bit(bits, 777));
  assert_int_equal(bitcount(bits, words), sizeof want / sizeof *want + 80 + 1);
  /* collected = re-armed */
  assert_int_equal(kafu_dirty_collect(f->d, SIZE, bits, &e), 0);
  assert_int_equal(bitcount(bits, words), 0);
  /* memory grown in place: the new part is tracked as well */
  assert_int_equal(mprotect(f->base + SIZE, SIZE, PROT_READ | PROT_WRITE), 0);
  f->base[SIZE + 5 * PG] = 9;
  f->base[10 * PG] = 9;
  assert_int_equal(kafu_dirty_collect(f->d, 2 * SIZE, bits, &e), 0);
  assert_true(bit(bits, np + 5) && bit(bits, 10));
  /* the armed part is exact; never-touched pages of the new part may count as
   * written the first time (the kernel reports holes so: a superset is fine) */
  assert_int_equal(bitcount(bits, words), 1);
  f->base[SIZE + 6 * PG] = 9;
  assert_int_equal(kafu_dirty_collect(f->d, 2 * SIZE, bits, &e), 0);
  assert_true(bit(bits, np + 6));
  assert_int_equal(bitcount(bits, 2 * words), 1); /* from now on exact there too */
  /* release: everything populated counts as written, then re-arms */
  assert_int_equal(kafu_dirty_release(f->d, SIZE, &e), 0);
  f->base[11 * PG] = 1;
  assert_int_equal(kafu_dirty_collect(f->d, SIZE, bits, &e), 0);
  assert_int_equal(bitcount(bits, words), np);
  assert_int_equal(kafu_dirty_collect(f->d, SIZE, bits, &e), 0);
  assert_int_equal(bitcount(bits, words), 0);
  /* bad sizes are refused, not walked */
  assert_true(kafu_dirty_collect(f->d, RES + PG, bits, &e) < 0);
  assert_true(kafu_dirty_collect(f->d, 100, bits, &e) < 0);
  free(bits);
}

/* The hint gives exactly what a full rehash gives (ids and delta bits). */
static void test_update_with_hint(void **state) {
  fx *f = *state;
  if (!f->d) skip();
  kafu_err e = {0};
  size_t np = SIZE / PG, words = (np + 63) / 64;
  uint64_t *bits = calloc(words, sizeof *bits);
  kafu_mem_image a, b;
  kafu_mem_delta da = {0}, db = {0};
  kafu_mem_image_init(&a);
  kafu_mem_image_init(&b);
  assert_int_equal(kafu_dirty_collect(f->d, SIZE, NULL, &e), 0);
  assert_int_equal(kafu_mem_image_compute(&a, f->base, SIZE, &e), 0);
  assert_int_equal(kafu_mem_image_copy(&b, &a, &e), 0);
  uint32_t seed = 7;
  for (int round = 0; round < 5; round++) {
    for (int k = 0; k < 50 + round * 40; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t p = (seed >> 8) % np;
      f->base[p * PG + (seed & 4095)] ^= (uint8_t)(seed >> 24 | 1);
      if (k % 7 == 0) f->base[p * PG] = f->base[p * PG]; /* written, same content */
    }
    assert_int_equal(kafu_dirty_collect(f->d, SIZE, bits, &e), 0);
    assert_int_equal(kafu_mem_image_update(&a, f->base, SIZE, NULL, &da, &e), 0);
    assert_int_equal(kafu_mem_image_update(&b, f->base, SIZE, bits, &db, &e), 0);
    assert_true(a.id == b.id);
    assert_true(da.ndirty == db.ndirty && da.ndirty > 0);
    assert_memory_equal(da.bits, db.bits, words * sizeof(uint64_t));
  }
  kafu_mem_image_free(&a), kafu_mem_image_free(&b);
  kafu_mem_delta_free(&da), kafu_mem_delta_free(&db);
  free(bits);
}

static void test_bad_range(void **state) {
  (void)state;
  kafu_dirty *d = NULL;
  kafu_err e = {0};
  assert_true(kafu_dirty_open(NULL, RES, &d, &e) < 0);
  assert_true(kafu_dirty_open((uint8_t *)4097, RES, &d, &e) < 0);
  assert_null(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_written_set, setup, teardown),
      cmocka_unit_test_setup_teardown(test_update_with_hint, setup, teardown),
      cmocka_unit_test(test_bad_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

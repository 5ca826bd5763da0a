/* test_snapshot_golden.c — the snapshot is architecture-neutral
 * (docs/snapshot-format.md, "Architecture neutrality"): golden snapshots
 * checked into tests/golden/snapshot/ must decode to exactly this model, and
 * encoding the model must give exactly the uncompressed golden bytes. The
 * cross-ISA test (tests/shell/xisa_migrate.sh) also decodes the same files with
 * the aarch64 kafu under qemu (`kafu inspect --json`), so a host-dependent
 * field (a struct written with memcpy, a size_t, a pointer, host byte order)
 * fails here or there.
 *
 * Files are named by format version: v1.0-* (no RUN section) and v1.1-* (fd
 * entries without a home) must still decode as they did; the newest (v1.2-*)
 * must also come out of the encoder byte for byte. KAFU_WRITE_GOLDEN=DIR writes the newest files (after a deliberate
 * format change: bump the minor version, keep the older files, add the new
 * ones, review the diff).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/snapshot.h"

#define MEM_SIZE 65536

static uint8_t golden_mem[MEM_SIZE];

/* Deterministic memory: zero pages, a text page, little-endian integer arrays,
 * floats and a page of pseudo-random bytes. */
static void golden_memory(void) {
  memset(golden_mem, 0, sizeof golden_mem);
  for (int i = 0; i < 4096; i++) golden_mem[4096 + i] = (uint8_t) "kafu is architecture-neutral\n"[i % 29];
  for (uint32_t i = 0; i < 1024; i++) { /* u32 LE, as wasm stores them */
    uint32_t v = 0x01020304u * (i + 1);
    for (int b = 0; b < 4; b++) golden_mem[2 * 4096 + 4 * i + (uint32_t)b] = (uint8_t)(v >> (8 * b));
  }
  for (uint32_t i = 0; i < 512; i++) { /* f64 bit patterns, LE */
    uint64_t v = 0x3ff0000000000000ull + (uint64_t)i * 0x0000100000000001ull;
    for (int b = 0; b < 8; b++) golden_mem[3 * 4096 + 8 * i + (uint32_t)b] = (uint8_t)(v >> (8 * b));
  }
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 4096; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    golden_mem[12 * 4096 + i] = (uint8_t)x;
  }
  memcpy(golden_mem + MEM_SIZE - 16, "end of memory!!", 16);
}

static kafu_snap_frame frames[3] = {
    {.fn_id = 0, .caller_node = "x86", .migrated = false},
    {.fn_id = 3, .caller_node = "arm", .migrated = true},
    {.fn_id = 4294967295u, .caller_node = NULL, .migrated = true},
};
static kafu_snap_global globals[6] = {
    {"kafu_global_0", KAFU_SNAP_VAL_I32, 0x00010000},
    {"kafu_global_1", KAFU_SNAP_VAL_I64, 0x8000000000000001ull},
    {"kafu_global_2", KAFU_SNAP_VAL_F32, 0x7fc00001},            /* a NaN with a payload */
    {"kafu_global_3", KAFU_SNAP_VAL_F64, 0xfff0000000000000ull}, /* -inf */
    {"kafu:monotonic_ns", KAFU_SNAP_VAL_I64, 123456789012345ull},
    {"kafu:cputime_ns", KAFU_SNAP_VAL_I64, 9876543210ull},
};
static kafu_fd_entry fds[6] = {
    /* minor 2: stdin homed on node x86 with bytes read ahead */
    {.fd = 0,
     .kind = KAFU_FD_STDIO,
     .filetype = 2,
     .index = 0,
     .home = "x86",
     .home_gen = 0x8877665544332211ull,
     .handle = 1,
     .pending = (uint8_t *)"typed ahead\n",
     .npending = 12},
    {.fd = 1, .kind = KAFU_FD_STDIO, .filetype = 2, .index = 1},
    {.fd = 3,
     .kind = KAFU_FD_PREOPEN,
     .filetype = 3,
     .preopen = ".",
     .path = ".",
     .rights_base = KAFU_WASI_RIGHTS_ALL,
     .rights_inheriting = KAFU_WASI_RIGHTS_ALL},
    {.fd = 7,
     .kind = KAFU_FD_FILE,
     .filetype = 4,
     .preopen = ".",
     .path = "data/log.txt",
     .oflags = KAFU_WASI_O_CREAT,
     .rights_base = 0x1f,
     .fdflags = KAFU_WASI_FDFLAG_APPEND,
     .offset = 0x100000002ull},
    {.fd = 8, .kind = KAFU_FD_LISTEN, .filetype = 6, .index = 2},
    /* minor 2: an accepted connection homed on node arm */
    {.fd = 9, .kind = KAFU_FD_SOCKET, .filetype = 6, .home = "arm", .home_gen = 3, .handle = 4294967297ull},
};

/* The model a file of format minor `minor` holds: v1.0 files have no RUN
 * section; v1.1 ones carry this run identity; v1.2 ones also homed fds (stdin,
 * a socket), which earlier formats could not hold. */
static void model(kafu_snapshot *s, int minor) {
  golden_memory();
  memset(s, 0, sizeof *s);
  if (minor >= 1) {
    s->run_id = 0x0123456789abcdefull;
    s->hop = (2ull << 32) | 7; /* failover epoch 2, sequence 7 */
    s->sender = "x86-standby";
    s->sender_incarnation = 0xfedcba9876543210ull;
  }
  for (int i = 0; i < 32; i++) s->module_sha256[i] = (uint8_t)(0xa0 + i);
  s->source_node = "x86";
  s->target_node = "arm";
  s->resume_fn_id = 3;
  s->resume_kind = KAFU_MIG_EXIT;
  s->frames = frames, s->nframes = 3;
  s->globals = globals, s->nglobals = 6;
  if (minor >= 2)
    s->fds = fds, s->nfds = 6;
  else
    s->fds = fds + 1, s->nfds = 4; /* no homed entries */
  s->memory = golden_mem;
  s->memory_size = MEM_SIZE;
}

static char *golden_path(const char *name) {
  const char *src = getenv("KAFU_SRC");
  char *p = malloc(4096);
  snprintf(p, 4096, "%s/tests/golden/snapshot/%s", src ? src : KAFU_SOURCE_DIR, name);
  return p;
}

static void encode(kafu_snap_comp comp, kafu_buf *out) {
  kafu_snapshot s;
  model(&s, 2);
  kafu_snap_encode_opts o = {.compression = comp, .chunk_size = 8 * 4096};
  kafu_err e = {0};
  if (kafu_snap_encode_buf(&s, &o, out, NULL, &e)) fail_msg("encode: %s", e.msg);
}

static uint8_t *dest;
static uint8_t *dest_cb(void *ctx, uint64_t size, kafu_err *err) {
  (void)ctx;
  (void)err;
  dest = realloc(dest, size);
  memset(dest, 0, size);
  return dest;
}

static void check_decoded(const char *name, int minor) {
  char *p = golden_path(name);
  uint8_t *d;
  size_t len;
  kafu_err e = {0};
  if (kafu_read_file(p, &d, &len, &e)) fail_msg("%s: %s", p, e.msg);
  kafu_snapshot want, got;
  model(&want, minor);
  kafu_snap_decoder_opts o = {.expected_module_sha256 = want.module_sha256, .memory = dest_cb};
  kafu_snap_stats st;
  if (kafu_snap_decode_buf(d, len, &o, &got, &st, &e)) fail_msg("%s: %s", name, e.msg);
  assert_int_equal(got.version, KAFU_SNAP_VERSION);
  assert_memory_equal(got.module_sha256, want.module_sha256, 32);
  assert_string_equal(got.source_node, "x86");
  assert_string_equal(got.target_node, "arm");
  assert_int_equal(got.resume_fn_id, 3);
  assert_int_equal(got.resume_kind, KAFU_MIG_EXIT);
  assert_true(got.run_id == want.run_id && got.hop == want.hop);
  assert_true(got.sender_incarnation == want.sender_incarnation);
  if (want.sender)
    assert_string_equal(got.sender, want.sender);
  else
    assert_null(got.sender);
  assert_int_equal(got.nframes, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(got.frames[i].fn_id, frames[i].fn_id);
    assert_int_equal(got.frames[i].migrated, frames[i].migrated);
    if (frames[i].caller_node)
      assert_string_equal(got.frames[i].caller_node, frames[i].caller_node);
    else
      assert_null(got.frames[i].caller_node);
  }
  assert_int_equal(got.nglobals, 6);
  for (int i = 0; i < 6; i++) {
    assert_string_equal(got.globals[i].name, globals[i].name);
    assert_int_equal(got.globals[i].type, globals[i].type);
    assert_true(got.globals[i].bits == globals[i].bits);
  }
  assert_int_equal(got.nfds, want.nfds);
  for (size_t i = 0; i < want.nfds; i++) {
    const kafu_fd_entry *a = &got.fds[i], *b = &want.fds[i];
    assert_int_equal(a->fd, b->fd);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->filetype, b->filetype);
    assert_int_equal(a->oflags, b->oflags);
    assert_true(a->rights_base == b->rights_base && a->rights_inheriting == b->rights_inheriting);
    assert_int_equal(a->fdflags, b->fdflags);
    assert_true(a->offset == b->offset);
    assert_int_equal(a->index, b->index);
    if (b->path) assert_string_equal(a->path, b->path);
    if (b->home)
      assert_string_equal(a->home, b->home);
    else
      assert_null(a->home);
    assert_true(a->home_gen == b->home_gen && a->handle == b->handle);
    assert_int_equal(a->npending, b->npending);
    if (b->npending) assert_memory_equal(a->pending, b->pending, b->npending);
  }
  assert_true(got.memory_size == MEM_SIZE);
  assert_memory_equal(got.memory, golden_mem, MEM_SIZE);
  /* the image id the file declares is the one this host computes */
  kafu_mem_image img;
  kafu_mem_image_init(&img);
  assert_int_equal(kafu_mem_image_compute(&img, golden_mem, MEM_SIZE, &e), 0);
  assert_true(img.id == st.image_id);
  kafu_mem_image_free(&img);
  kafu_snapshot_clear(&got);
  free(d);
  free(p);
}

/* The golden files of format 1.<minor>, one per compression, all decode. */
static void check_version(int minor) {
  static const char *const comps[] = {"none", "lz4", "zstd"};
  for (size_t i = 0; i < sizeof comps / sizeof *comps; i++) {
    char name[64];
    snprintf(name, sizeof name, "v1.%d-%s.kafusnap", minor, comps[i]);
    check_decoded(name, minor);
  }
}

/* format 1.0 (written before the RUN section existed): still decodes */
static void test_decode_golden_v1_0(void **st) {
  (void)st;
  check_version(0);
}

/* format 1.1 (fd entries without a home): still decodes */
static void test_decode_golden_v1_1(void **st) {
  (void)st;
  check_version(1);
}

static void test_decode_golden_v1_2(void **st) {
  (void)st;
  check_version(2);
}

/* Byte for byte: the encoder's output for the model has not changed. (Only
 * the uncompressed form: compressed bytes may change with the compression
 * library's version, and decode is what matters for them.) */
static void test_encode_matches_golden(void **st) {
  (void)st;
  kafu_buf b = {0};
  encode(KAFU_SNAP_COMP_NONE, &b);
  char *p = golden_path("v1.2-none.kafusnap");
  uint8_t *d;
  size_t len;
  kafu_err e = {0};
  if (kafu_read_file(p, &d, &len, &e)) fail_msg("%s: %s", p, e.msg);
  if (b.len != len) fail_msg("encoded snapshot has %zu bytes, %s %zu", b.len, p, len);
  size_t i = 0;
  while (i < len && b.data[i] == d[i]) i++;
  if (i < len) fail_msg("encoded snapshot differs from %s at byte %zu", p, i);
  free(d);
  free(p);
  kafu_buf_free(&b);
}

static int write_golden(const char *dir) {
  const struct {
    const char *name;
    kafu_snap_comp comp;
  } g[] = {{"v1.2-none.kafusnap", KAFU_SNAP_COMP_NONE},
           {"v1.2-lz4.kafusnap", KAFU_SNAP_COMP_LZ4},
           {"v1.2-zstd.kafusnap", KAFU_SNAP_COMP_ZSTD}};
  for (size_t i = 0; i < 3; i++) {
    kafu_buf b = {0};
    encode(g[i].comp, &b);
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, g[i].name);
    kafu_err e = {0};
    if (kafu_write_file_atomic(p, b.data, b.len, &e)) {
      fprintf(stderr, "%s\n", e.msg);
      return 1;
    }
    printf("wrote %s (%zu bytes)\n", p, b.len);
    kafu_buf_free(&b);
  }
  return 0;
}

int main(void) {
  const char *w = getenv("KAFU_WRITE_GOLDEN");
  if (w && *w) return write_golden(w);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode_golden_v1_0),
      cmocka_unit_test(test_decode_golden_v1_1),
      cmocka_unit_test(test_decode_golden_v1_2),
      cmocka_unit_test(test_encode_matches_golden),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  free(dest);
  return rc;
}

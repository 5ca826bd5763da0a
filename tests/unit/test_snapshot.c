/* test_snapshot.c — snapshot wire format: round trips, streaming with arbitrary
 * chunk boundaries, and rejection of every kind of bad input (truncation at
 * every offset, flipped bits, wrong magic/version/module, oversized counts and
 * lengths with valid checksums, misplaced sections, trailing bytes). Also
 * writes/checks the fuzz seed corpus (KAFU_WRITE_SEEDS=dir regenerates it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/snapshot.h"
#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---- fixtures ----------------------------------------------------------------- */

typedef struct sample {
  kafu_snapshot s;
  kafu_snap_frame fr[3];
  kafu_snap_global gl[4];
  kafu_fd_entry fd[4];
  uint8_t *mem;
} sample;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  return rng_state = x;
}

/* Memory with zero pages, text-like pages and random pages, like a real heap. */
static void fill_mem(uint8_t *m, uint64_t size, unsigned seed) {
  rng_state = 0x1234567ull + seed;
  for (uint64_t p = 0; p < size / 4096; p++) {
    uint8_t *pg = m + p * 4096;
    switch (rnd() % 3) {
      case 0:
        memset(pg, 0, 4096);
        break;
      case 1:
        for (int i = 0; i < 4096; i++) pg[i] = "kafu snapshot page "[(i + p) % 19];
        break;
      default:
        for (int i = 0; i < 4096; i += 8) {
          uint64_t v = rnd();
          memcpy(pg + i, &v, 8);
        }
    }
  }
}

static void sample_init(sample *x, uint64_t memsize, unsigned seed) {
  memset(x, 0, sizeof *x);
  for (int i = 0; i < 32; i++) x->s.module_sha256[i] = (uint8_t)(i * 7 + 1);
  x->s.source_node = "edge";
  x->s.target_node = "cloud";
  x->s.resume_fn_id = 2;
  x->s.resume_kind = KAFU_MIG_ENTER;
  x->fr[0] = (kafu_snap_frame){.fn_id = 0, .caller_node = "edge", .migrated = false};
  x->fr[1] = (kafu_snap_frame){.fn_id = 1, .caller_node = "cloud", .migrated = true};
  x->fr[2] = (kafu_snap_frame){.fn_id = 7, .caller_node = NULL, .migrated = true};
  x->s.frames = x->fr, x->s.nframes = 3;
  x->gl[0] = (kafu_snap_global){"kafu_global_0", KAFU_SNAP_VAL_I32, 0x10000};
  x->gl[1] = (kafu_snap_global){"kafu_global_1", KAFU_SNAP_VAL_I64, 0xfedcba9876543210ull};
  x->gl[2] = (kafu_snap_global){"kafu_global_2", KAFU_SNAP_VAL_F32, 0x3f800000};
  x->gl[3] = (kafu_snap_global){"kafu_global_5", KAFU_SNAP_VAL_F64, 0x400921fb54442d18ull};
  x->s.globals = x->gl, x->s.nglobals = 4;
  /* stdin homed on cloud with bytes read ahead; the listening socket edge's */
  x->fd[0] = (kafu_fd_entry){.fd = 0,
                             .kind = KAFU_FD_STDIO,
                             .filetype = 2,
                             .index = 0,
                             .home = "cloud",
                             .home_gen = 0x1234567890abcdefull,
                             .handle = 0x10001,
                             .pending = (uint8_t *)"abc",
                             .npending = 3};
  x->fd[1] = (kafu_fd_entry){.fd = 3,
                             .kind = KAFU_FD_PREOPEN,
                             .filetype = 3,
                             .preopen = "/data",
                             .path = ".",
                             .rights_base = KAFU_WASI_RIGHTS_ALL,
                             .rights_inheriting = KAFU_WASI_RIGHTS_ALL};
  x->fd[2] = (kafu_fd_entry){.fd = 4,
                             .kind = KAFU_FD_FILE,
                             .filetype = 4,
                             .preopen = "/data",
                             .path = "out/log.txt",
                             .oflags = KAFU_WASI_O_CREAT,
                             .rights_base = 0x7f,
                             .rights_inheriting = 0,
                             .fdflags = KAFU_WASI_FDFLAG_APPEND,
                             .offset = 123456789012ull};
  x->fd[3] = (kafu_fd_entry){.fd = 9, .kind = KAFU_FD_LISTEN, .filetype = 6, .index = 1, .home = "edge", .handle = 0x101};
  x->s.fds = x->fd, x->s.nfds = 4;
  x->mem = memsize ? malloc(memsize) : NULL;
  if (memsize) fill_mem(x->mem, memsize, seed);
  x->s.memory = x->mem;
  x->s.memory_size = memsize;
}

/* A destination memory, grown like wasm memory (zero-filled). */
typedef struct dest {
  uint8_t *mem;
  uint64_t size;
  int calls;
  bool refuse;
} dest;

static uint8_t *dest_cb(void *ctx, uint64_t size, kafu_err *err) {
  dest *d = ctx;
  d->calls++;
  if (d->refuse) {
    kafu_err_set(err, KAFU_EINVAL, "test refuses %" PRIu64 " bytes", size);
    return NULL;
  }
  if (size > d->size) {
    d->mem = realloc(d->mem, size);
    memset(d->mem + d->size, 0, size - d->size);
    d->size = size;
  }
  return d->mem;
}

static kafu_snap_decoder_opts dec_opts(const sample *x, dest *d, kafu_mem_image *held) {
  return (kafu_snap_decoder_opts){
      .expected_module_sha256 = x->s.module_sha256, .memory = dest_cb, .memory_ctx = d, .held = held};
}

static void encode(const sample *x, kafu_snap_comp comp, uint32_t chunk, kafu_buf *out) {
  kafu_snap_encode_opts o = {.compression = comp, .chunk_size = chunk};
  kafu_err e;
  out->len = 0;
  int rc = kafu_snap_encode_buf(&x->s, &o, out, NULL, &e);
  if (rc) fail_msg("encode: %s", e.msg);
}

static void assert_same_meta(const kafu_snapshot *a, const kafu_snapshot *b) {
  assert_memory_equal(a->module_sha256, b->module_sha256, 32);
  assert_string_equal(a->source_node, b->source_node);
  assert_string_equal(a->target_node, b->target_node);
  assert_int_equal(a->resume_fn_id, b->resume_fn_id);
  assert_int_equal(a->resume_kind, b->resume_kind);
  assert_int_equal(a->nframes, b->nframes);
  for (uint32_t i = 0; i < a->nframes; i++) {
    assert_int_equal(a->frames[i].fn_id, b->frames[i].fn_id);
    assert_int_equal(a->frames[i].migrated, b->frames[i].migrated);
    if (a->frames[i].caller_node)
      assert_string_equal(a->frames[i].caller_node, b->frames[i].caller_node);
    else
      assert_null(b->frames[i].caller_node);
  }
  assert_int_equal(a->nglobals, b->nglobals);
  for (uint32_t i = 0; i < a->nglobals; i++) {
    assert_string_equal(a->globals[i].name, b->globals[i].name);
    assert_int_equal(a->globals[i].type, b->globals[i].type);
    assert_true(a->globals[i].bits == b->globals[i].bits);
  }
  assert_int_equal(a->nfds, b->nfds);
  for (uint32_t i = 0; i < a->nfds; i++) {
    const kafu_fd_entry *f = &a->fds[i], *g = &b->fds[i];
    assert_int_equal(f->fd, g->fd);
    assert_int_equal(f->kind, g->kind);
    assert_int_equal(f->filetype, g->filetype);
    if (f->preopen)
      assert_string_equal(f->preopen, g->preopen);
    else
      assert_null(g->preopen);
    if (f->path)
      assert_string_equal(f->path, g->path);
    else
      assert_null(g->path);
    assert_int_equal(f->oflags, g->oflags);
    assert_true(f->rights_base == g->rights_base && f->rights_inheriting == g->rights_inheriting);
    assert_int_equal(f->fdflags, g->fdflags);
    assert_true(f->offset == g->offset);
    assert_int_equal(f->index, g->index);
    if (f->home)
      assert_string_equal(f->home, g->home);
    else
      assert_null(g->home);
    assert_true(f->home_gen == g->home_gen && f->handle == g->handle);
    assert_int_equal(f->npending, g->npending);
    if (f->npending) assert_memory_equal(f->pending, g->pending, f->npending);
  }
}

/* Decode in pieces of random size (1..maxpiece). */
static int decode_pieces(const kafu_buf *b, const kafu_snap_decoder_opts *o, size_t maxpiece,
                         kafu_snapshot *out, kafu_snap_stats *st, kafu_err *e) {
  kafu_snap_decoder *d;
  int rc = kafu_snap_decoder_new(&d, o, e);
  if (rc) return rc;
  size_t pos = 0;
  while (!rc && pos < b->len) {
    size_t n = 1 + rnd() % maxpiece;
    if (n > b->len - pos) n = b->len - pos;
    rc = kafu_snap_decoder_feed(d, b->data + pos, n, e);
    pos += n;
  }
  if (!rc) rc = kafu_snap_decoder_finish(d, out, st, e);
  kafu_snap_decoder_free(d);
  return rc;
}

/* ---- round trips ---------------------------------------------------------------- */

static void test_roundtrip_all_compressions(void **st_) {
  const kafu_snap_comp comps[] = {KAFU_SNAP_COMP_NONE, KAFU_SNAP_COMP_LZ4, KAFU_SNAP_COMP_ZSTD,
                                  KAFU_SNAP_COMP_DEFAULT};
  const uint32_t chunks[] = {0, 4096, 3 * 4096, 64 * 1024};
  const size_t pieces[] = {1, 7, 4096, 1 << 20};
  for (size_t c = 0; c < 4; c++)
    for (size_t k = 0; k < 4; k++) {
      sample x;
      sample_init(&x, 5 * 65536, (unsigned)(c * 4 + k));
      kafu_buf b = {0};
      encode(&x, comps[c], chunks[k], &b);
      dest d = {0};
      kafu_mem_image held;
      kafu_mem_image_init(&held);
      kafu_snap_decoder_opts o = dec_opts(&x, &d, &held);
      kafu_snapshot out;
      kafu_snap_stats st;
      kafu_err e;
      int rc = decode_pieces(&b, &o, pieces[k], &out, &st, &e);
      if (rc) fail_msg("comp %zu chunk %zu: %s", c, k, e.msg);
      assert_same_meta(&x.s, &out);
      assert_int_equal(out.version, KAFU_SNAP_VERSION);
      assert_true(out.memory == d.mem && out.memory_size == x.s.memory_size);
      assert_memory_equal(d.mem, x.mem, x.s.memory_size);
      assert_int_equal(d.calls, 1);
      assert_false(st.delta);
      assert_true(st.pages == x.s.memory_size / 4096 && st.wire_bytes == b.len);
      assert_int_equal(st.compression, comps[c] == KAFU_SNAP_COMP_DEFAULT ? KAFU_SNAP_COMP_LZ4 : comps[c]);
      /* the receiver now holds exactly the sender's image */
      kafu_mem_image ref;
      kafu_mem_image_init(&ref);
      assert_int_equal(kafu_mem_image_compute(&ref, x.mem, x.s.memory_size, NULL), 0);
      assert_true(held.id == ref.id && held.size == ref.size && held.id == st.image_id);
      if (comps[c] != KAFU_SNAP_COMP_NONE) assert_true(b.len < x.s.memory_size);
      kafu_mem_image_free(&ref);
      kafu_mem_image_free(&held);
      kafu_snapshot_clear(&out);
      kafu_buf_free(&b);
      free(d.mem);
      free(x.mem);
    }
}

static void test_roundtrip_empty(void **st_) {
  /* no memory, no frames, no globals, no fds */
  kafu_snapshot s = {.target_node = "n1"};
  kafu_buf b = {0};
  kafu_err e;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &b, NULL, &e), 0);
  dest d = {0};
  kafu_snap_decoder_opts o = {.memory = dest_cb, .memory_ctx = &d};
  kafu_snapshot out;
  assert_int_equal(kafu_snap_decode_buf(b.data, b.len, &o, &out, NULL, &e), 0);
  assert_string_equal(out.target_node, "n1");
  assert_null(out.source_node);
  assert_true(out.nframes == 0 && out.nglobals == 0 && out.nfds == 0 && out.memory_size == 0);
  assert_int_equal(d.calls, 0);
  kafu_snapshot_clear(&out);
  kafu_buf_free(&b);
}

static void test_incompressible_stored_raw(void **st_) {
  sample x;
  sample_init(&x, 65536, 1);
  rng_state = 99;
  for (uint64_t i = 0; i < 65536; i += 8) {
    uint64_t v = rnd();
    memcpy(x.mem + i, &v, 8);
  }
  for (int c = 0; c < 2; c++) {
    kafu_buf b = {0};
    encode(&x, c ? KAFU_SNAP_COMP_ZSTD : KAFU_SNAP_COMP_LZ4, 0, &b);
    assert_true(b.len < 65536 + 1024); /* stored raw: no expansion beyond headers */
    dest d = {0};
    kafu_snap_decoder_opts o = dec_opts(&x, &d, NULL);
    kafu_err e;
    assert_int_equal(kafu_snap_decode_buf(b.data, b.len, &o, NULL, NULL, &e), 0);
    assert_memory_equal(d.mem, x.mem, 65536);
    free(d.mem);
    kafu_buf_free(&b);
  }
  free(x.mem);
}

/* ---- bad input -------------------------------------------------------------------- */

typedef struct secref {
  size_t off; /* header offset */
  uint32_t type;
  uint64_t len;
} secref;
static secref find(const kafu_buf *b, uint32_t type);

/* Expect decode of b to fail with code and a message containing needle. */
static void expect_fail(const kafu_buf *b, const sample *x, int code, const char *needle) {
  dest d = {0};
  kafu_snap_decoder_opts o = dec_opts(x, &d, NULL);
  kafu_err e = {0};
  kafu_snapshot out = {0};
  int rc = kafu_snap_decode_buf(b->data, b->len, &o, &out, NULL, &e);
  if (rc != code || !strstr(e.msg, needle))
    fail_msg("expected %d containing '%s', got %d: %s", code, needle, rc, e.msg);
  assert_null(out.target_node); /* nothing handed out */
  free(d.mem);
}

/* The HOST section: host modules' state blobs round trip; every truncation of
 * a snapshot carrying one is refused. */
static void test_host_section(void **st_) {
  static const uint8_t model[] = "model bytes \0 with a NUL";
  kafu_snap_blob blobs[] = {{"wasi_ephemeral_nn", (const uint8_t *)"KNN1state", 9},
                            {"wasi_ephemeral_nn/model", model, sizeof model},
                            {"empty", (const uint8_t *)"", 0}};
  kafu_snapshot s = {.target_node = "n1", .host = blobs, .nhost = 3};
  kafu_buf b = {0};
  kafu_err e;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &b, NULL, &e), 0);
  dest d = {0};
  kafu_snap_decoder_opts o = {.memory = dest_cb, .memory_ctx = &d};
  kafu_snapshot out;
  assert_int_equal(kafu_snap_decode_buf(b.data, b.len, &o, &out, NULL, &e), 0);
  assert_int_equal(out.nhost, 3);
  for (int i = 0; i < 3; i++) {
    assert_string_equal(out.host[i].name, blobs[i].name);
    assert_int_equal(out.host[i].len, blobs[i].len);
    assert_memory_equal(out.host[i].data, blobs[i].data, blobs[i].len);
  }
  kafu_snapshot_clear(&out);
  kafu_buf t = {0};
  assert_int_equal(kafu_snap_describe(b.data, b.len, &t, false, &e), 0);
  assert_non_null(strstr(kafu_buf_cstr(&t), "host state: 3"));
  assert_non_null(strstr(kafu_buf_cstr(&t), "wasi_ephemeral_nn/model 25 bytes"));
  t.len = 0;
  assert_int_equal(kafu_snap_describe(b.data, b.len, &t, true, &e), 0);
  assert_non_null(strstr(kafu_buf_cstr(&t), "\"host\":[{\"name\":\"wasi_ephemeral_nn\",\"bytes\":9}"));
  kafu_buf_free(&t);
  for (size_t cut = 0; cut < b.len; cut++) {
    int rc = kafu_snap_decode_buf(b.data, cut, &o, NULL, NULL, &e);
    if (rc != KAFU_EFORMAT) fail_msg("cut %zu: rc %d %s", cut, rc, e.msg);
  }
  /* a snapshot without host state has none */
  kafu_snapshot s2 = {.target_node = "n1"};
  kafu_buf b2 = {0};
  assert_int_equal(kafu_snap_encode_buf(&s2, NULL, &b2, NULL, &e), 0);
  assert_true(b2.len < b.len);
  assert_int_equal(kafu_snap_decode_buf(b2.data, b2.len, &o, &out, NULL, &e), 0);
  assert_int_equal(out.nhost, 0);
  kafu_snapshot_clear(&out);
  kafu_buf_free(&b2);
  kafu_buf_free(&b);
}

static void test_truncated_every_offset(void **st_) {
  for (int c = 0; c < 2; c++) {
    sample x;
    sample_init(&x, 65536, 3);
    kafu_buf b = {0};
    encode(&x, c ? KAFU_SNAP_COMP_NONE : KAFU_SNAP_COMP_LZ4, 16384, &b);
    size_t step = c ? 61 : 1; /* the raw one is ~66 KB: sample it */
    kafu_mem_image held;
    kafu_mem_image_init(&held);
    for (size_t cut = 0; cut < b.len; cut += step) {
      dest d = {0};
      assert_int_equal(kafu_mem_image_compute(&held, x.mem, 65536, NULL), 0); /* a held image to be cleared */
      kafu_snap_decoder_opts o = dec_opts(&x, &d, &held);
      kafu_err e = {0};
      int rc = kafu_snap_decode_buf(b.data, cut, &o, NULL, NULL, &e);
      if (rc != KAFU_EFORMAT || !strstr(e.msg, "truncated")) fail_msg("cut %zu: rc %d %s", cut, rc, e.msg);
      /* memory touched -> the held image is forgotten; untouched -> kept */
      assert_true(d.calls ? held.id == 0 : held.id != 0);
      free(d.mem);
    }
    kafu_mem_image_free(&held);
    kafu_buf_free(&b);
    free(x.mem);
  }
}

/* Every flipped bit is rejected, except a flip inside compressed data that
 * decodes to the very same pages (e.g. an LZ4 match offset within a run of
 * zeros): the checksum covers the decoded pages, so such a snapshot is accepted
 * only if what it rebuilds is bit-identical. Metadata flips are always caught. */
static void test_flipped_bits(void **st_) {
  for (int c = 0; c < 3; c++) {
    const kafu_snap_comp comp[] = {KAFU_SNAP_COMP_LZ4, KAFU_SNAP_COMP_ZSTD, KAFU_SNAP_COMP_NONE};
    sample x;
    sample_init(&x, 65536, 4);
    kafu_buf b = {0};
    encode(&x, comp[c], 8192, &b);
    secref first_chunk = find(&b, 6);
    int harmless = 0;
    for (size_t i = 0; i < b.len; i += c == 2 ? 7 : 1) {
      for (int bit = 0; bit < 8; bit += 3) {
        b.data[i] ^= (uint8_t)(1u << bit);
        dest d = {0};
        kafu_mem_image held;
        kafu_mem_image_init(&held);
        kafu_snap_decoder_opts o = dec_opts(&x, &d, &held);
        kafu_err e = {0};
        kafu_snapshot out = {0};
        int rc = kafu_snap_decode_buf(b.data, b.len, &o, &out, NULL, &e);
        if (rc == 0) {
          if (i < first_chunk.off + 16 + 4)
            fail_msg("flip of bit %d at metadata offset %zu accepted", bit, i);
          assert_same_meta(&x.s, &out);
          if (memcmp(d.mem, x.mem, 65536)) fail_msg("flip at %zu accepted with different memory", i);
          harmless++;
        }
        kafu_snapshot_clear(&out);
        kafu_mem_image_free(&held);
        b.data[i] ^= (uint8_t)(1u << bit);
        free(d.mem);
      }
    }
    if (c == 2) assert_int_equal(harmless, 0); /* raw pages: every flip changes a page */
    kafu_buf_free(&b);
    free(x.mem);
  }
}

static void test_magic_version_module(void **st_) {
  sample x;
  sample_init(&x, 65536, 5);
  kafu_buf b = {0};
  encode(&x, KAFU_SNAP_COMP_LZ4, 0, &b);
  b.data[0] = 'X';
  expect_fail(&b, &x, KAFU_EFORMAT, "bad magic");
  b.data[0] = 'K';
  b.data[8] = 2; /* version 2 (header checksum deliberately left: the version is reported first) */
  expect_fail(&b, &x, KAFU_EUNSUP, "unsupported format version 2");
  b.data[8] = 1;
  uint8_t minor = b.data[10];
  b.data[10] = 0x7f; /* a minor bump needs a valid header checksum */
  expect_fail(&b, &x, KAFU_EFORMAT, "file header checksum");
  b.data[10] = minor;
  const char *plain = "just some text that is not a snapshot at all, longer than a header";
  kafu_buf t = {0};
  kafu_buf_append(&t, plain, strlen(plain));
  expect_fail(&t, &x, KAFU_EFORMAT, "bad magic");
  kafu_buf_free(&t);

  /* wrong module: rejected before the destination memory is asked for */
  sample y = x;
  y.s.module_sha256[5] ^= 1;
  dest d = {0};
  kafu_mem_image held;
  kafu_mem_image_init(&held);
  assert_int_equal(kafu_mem_image_compute(&held, x.mem, 65536, NULL), 0);
  uint64_t id = held.id;
  kafu_snap_decoder_opts o = dec_opts(&y, &d, &held);
  kafu_err e;
  assert_int_equal(kafu_snap_decode_buf(b.data, b.len, &o, NULL, NULL, &e), KAFU_EMODULE);
  assert_non_null(strstr(e.msg, "module sha256"));
  assert_int_equal(d.calls, 0);
  assert_true(held.id == id); /* untouched memory: image still held */
  kafu_mem_image_free(&held);
  kafu_buf_free(&b);
  free(x.mem);
}

/* ---- crafted sections with valid checksums ---------------------------------------- */

#define FILE_HDR 24

static int sections(const kafu_buf *b, secref *out, int max) {
  size_t off = FILE_HDR;
  int n = 0;
  while (off + 16 <= b->len && n < max) {
    uint32_t t;
    uint64_t l;
    memcpy(&t, b->data + off, 4);
    memcpy(&l, b->data + off + 8, 8);
    out[n++] = (secref){off, t, l};
    off += 16 + l + 8;
  }
  return n;
}
static void resum(kafu_buf *b, const secref *s) {
  uint64_t h = XXH3_64bits(b->data + s->off, 16 + s->len);
  memcpy(b->data + s->off + 16 + s->len, &h, 8);
}
static secref find(const kafu_buf *b, uint32_t type) {
  secref s[4096];
  int n = sections(b, s, 4096);
  for (int i = 0; i < n; i++)
    if (s[i].type == type) return s[i];
  fail_msg("section %u not found", type);
  return s[0];
}
static void put32at(kafu_buf *b, size_t off, uint32_t v) { memcpy(b->data + off, &v, 4); }
static void put64at(kafu_buf *b, size_t off, uint64_t v) { memcpy(b->data + off, &v, 8); }

/* Copy b, patch a u32/u64 at payload offset `at` of section `type`, fix its checksum. */
static void patched(const kafu_buf *b, kafu_buf *o, uint32_t type, size_t at, uint64_t v, int width) {
  o->len = 0;
  kafu_buf_append(o, b->data, b->len);
  secref s = find(o, type);
  if (width == 4)
    put32at(o, s.off + 16 + at, (uint32_t)v);
  else if (width == 8)
    put64at(o, s.off + 16 + at, v);
  else
    o->data[s.off + 16 + at] = (uint8_t)v;
  resum(o, &s);
}

enum { T_META = 1, T_STACK = 2, T_GLOBALS = 3, T_FDS = 4, T_MEMORY = 5, T_CHUNK = 6, T_END = 15 };

static void test_oversized_and_inconsistent(void **st_) {
  sample x;
  sample_init(&x, 4 * 65536, 6);
  kafu_buf b = {0}, o = {0};
  encode(&x, KAFU_SNAP_COMP_LZ4, 65536, &b);
  /* META: target node length beyond the limit, and beyond the section */
  patched(&b, &o, T_META, 32 + 4 + 4, 5000, 4); /* after sha + "edge" string (4+4) */
  expect_fail(&o, &x, KAFU_EFORMAT, "target node: length 5000 exceeds 4096");
  patched(&b, &o, T_META, 32 + 4 + 4, 100, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "target node: truncated");
  patched(&b, &o, T_META, 32 + 4 + 4 + 4 + 5 + 4, 7, 1); /* resume kind 7 */
  expect_fail(&o, &x, KAFU_EFORMAT, "resume kind 7");
  /* counts beyond the remaining data */
  patched(&b, &o, T_STACK, 0, 1000000000u, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "frame count 1000000000 exceeds");
  patched(&b, &o, T_GLOBALS, 0, 0xffffffffu, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "global count 4294967295 exceeds");
  patched(&b, &o, T_FDS, 0, 50, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "fd count 50 exceeds");
  /* fd 0's read-ahead length: u32 count, u32 entry length, 48 bytes of minor-0
   * fields, "cloud" (4 + 5), generation, handle */
  patched(&b, &o, T_FDS, 4 + 4 + 48 + 9 + 16, KAFU_WASI_READAHEAD_MAX + 1, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "read-ahead bytes exceed");
  patched(&b, &o, T_FDS, 4 + 4 + 48 + 9 + 16, 4000, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "fd read-ahead bytes: truncated");
  patched(&b, &o, T_GLOBALS, 4 + 4 + 13, 9, 1); /* first global's type */
  expect_fail(&o, &x, KAFU_EFORMAT, "invalid type 9");
  patched(&b, &o, T_FDS, 4, 3, 4); /* first fd entry length too small */
  expect_fail(&o, &x, KAFU_EFORMAT, "fd entry 0: length 3 out of range");
  /* MEMORY: absurd sizes and counts */
  patched(&b, &o, T_MEMORY, 0, 8ull << 30, 8);
  expect_fail(&o, &x, KAFU_EFORMAT, "exceeds the limit");
  patched(&b, &o, T_MEMORY, 0, 65536 + 4096, 8);
  expect_fail(&o, &x, KAFU_EFORMAT, "not a multiple of 64 KiB");
  patched(&b, &o, T_MEMORY, 8, 7, 1);
  expect_fail(&o, &x, KAFU_EFORMAT, "unknown memory mode 7");
  patched(&b, &o, T_MEMORY, 9, 9, 1);
  expect_fail(&o, &x, KAFU_EUNSUP, "unknown compression 9");
  patched(&b, &o, T_MEMORY, 12, 65536, 4);
  expect_fail(&o, &x, KAFU_EUNSUP, "page size 65536");
  patched(&b, &o, T_MEMORY, 16, 64u << 20, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "chunk size 67108864");
  patched(&b, &o, T_MEMORY, 44, 1ull << 40, 8);
  expect_fail(&o, &x, KAFU_EFORMAT, "declares 1099511627776 pages");
  patched(&b, &o, T_MEMORY, 52, 1000000, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "1000000 chunks cannot carry");
  patched(&b, &o, T_MEMORY, 52, 3, 4); /* 3 chunks of 16 pages cannot carry 64 */
  expect_fail(&o, &x, KAFU_EFORMAT, "3 chunks cannot carry 64 pages");
  patched(&b, &o, T_MEMORY, 36, 0, 8); /* image id 0 */
  expect_fail(&o, &x, KAFU_EFORMAT, "image id is 0");
  patched(&b, &o, T_MEMORY, 36, 12345, 8); /* wrong image id: everything else fine */
  expect_fail(&o, &x, KAFU_EFORMAT, "differs from the declared");
  /* MEMCHUNK: run counts/pages out of range */
  patched(&b, &o, T_CHUNK, 0, 1000, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "run count 1000 out of range");
  patched(&b, &o, T_CHUNK, 4, 60, 4); /* first run starts at page 60: 60+16 > 64 */
  expect_fail(&o, &x, KAFU_EFORMAT, "past the memory size");
  patched(&b, &o, T_CHUNK, 8, 17, 4); /* 17 pages > 16 per chunk */
  expect_fail(&o, &x, KAFU_EFORMAT, "exceed the chunk size");
  kafu_buf_free(&o);
  kafu_buf_free(&b);
  free(x.mem);
}

static void test_run_rules(void **st_) {
  sample x;
  sample_init(&x, 4 * 65536, 7);
  kafu_buf b = {0}, o = {0};
  encode(&x, KAFU_SNAP_COMP_NONE, 65536, &b);
  patched(&b, &o, T_CHUNK, 8, 17, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "exceed the chunk size");
  patched(&b, &o, T_CHUNK, 8, 0, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "run 0 is empty");
  patched(&b, &o, T_CHUNK, 12, 4095, 4);
  expect_fail(&o, &x, KAFU_EFORMAT, "stored length 4095 invalid");
  /* second chunk going back to page 0: overlap */
  {
    secref s[64];
    int n = sections(&b, s, 64), seen = 0;
    o.len = 0;
    kafu_buf_append(&o, b.data, b.len);
    for (int i = 0; i < n; i++)
      if (s[i].type == T_CHUNK && ++seen == 2) {
        put32at(&o, s[i].off + 16 + 4, 0);
        resum(&o, &s[i]);
      }
    expect_fail(&o, &x, KAFU_EFORMAT, "overlaps or precedes page 16");
  }
  /* section length that disagrees with the run table */
  {
    o.len = 0;
    kafu_buf_append(&o, b.data, b.len);
    secref s = find(&o, T_CHUNK);
    put64at(&o, s.off + 8, s.len + 8); /* claims 8 more bytes: table check fails first */
    expect_fail(&o, &x, KAFU_EFORMAT, "run table accounts for");
  }
  kafu_buf_free(&o);
  kafu_buf_free(&b);
  free(x.mem);
}

static void test_section_order_unknown_trailing(void **st_) {
  sample x;
  sample_init(&x, 65536, 8);
  kafu_buf b = {0}, o = {0};
  encode(&x, KAFU_SNAP_COMP_LZ4, 0, &b);
  secref s[16];
  int n = sections(&b, s, 16);
  assert_int_equal(n, 7); /* META STACK GLOBALS FDS MEMORY MEMCHUNK END */

  /* an unknown optional section after META is skipped; an unknown required one is rejected */
  for (int req = 0; req < 2; req++) {
    o.len = 0;
    kafu_buf_append(&o, b.data, s[1].off);
    uint8_t hdr[16 + 5 + 8];
    uint32_t t = 77, fl = req ? 0 : 1;
    uint64_t l = 5;
    memcpy(hdr, &t, 4), memcpy(hdr + 4, &fl, 4), memcpy(hdr + 8, &l, 8), memcpy(hdr + 16, "hello", 5);
    uint64_t h = XXH3_64bits(hdr, 21);
    memcpy(hdr + 21, &h, 8);
    kafu_buf_append(&o, hdr, sizeof hdr);
    kafu_buf_append(&o, b.data + s[1].off, b.len - s[1].off);
    /* END counts sections and records its own offset: patch them */
    secref e = find(&o, T_END);
    put64at(&o, e.off + 16, e.off);
    put32at(&o, e.off + 24, 7);
    resum(&o, &e);
    if (req) {
      expect_fail(&o, &x, KAFU_EUNSUP, "unknown required section type 77");
    } else {
      dest d = {0};
      kafu_snap_decoder_opts op = dec_opts(&x, &d, NULL);
      kafu_err er;
      if (kafu_snap_decode_buf(o.data, o.len, &op, NULL, NULL, &er)) fail_msg("%s", er.msg);
      free(d.mem);
    }
  }
  /* swapped STACK and GLOBALS */
  o.len = 0;
  kafu_buf_append(&o, b.data, s[1].off);
  kafu_buf_append(&o, b.data + s[2].off, s[3].off - s[2].off);
  kafu_buf_append(&o, b.data + s[1].off, s[2].off - s[1].off);
  kafu_buf_append(&o, b.data + s[3].off, b.len - s[3].off);
  expect_fail(&o, &x, KAFU_EFORMAT, "out of order: expected section STACK");
  /* a duplicated chunk */
  o.len = 0;
  kafu_buf_append(&o, b.data, s[6].off);
  kafu_buf_append(&o, b.data + s[5].off, s[6].off - s[5].off);
  kafu_buf_append(&o, b.data + s[6].off, b.len - s[6].off);
  expect_fail(&o, &x, KAFU_EFORMAT, "more chunks than the 1 declared");
  /* END missing the chunk */
  o.len = 0;
  kafu_buf_append(&o, b.data, s[5].off);
  kafu_buf_append(&o, b.data + s[6].off, b.len - s[6].off);
  {
    secref e = find(&o, T_END);
    put64at(&o, e.off + 16, e.off);
    put32at(&o, e.off + 24, 5);
    resum(&o, &e);
  }
  expect_fail(&o, &x, KAFU_EFORMAT, "memory incomplete: 0 of 1 chunks");
  /* trailing garbage after END */
  o.len = 0;
  kafu_buf_append(&o, b.data, b.len);
  kafu_buf_append(&o, "xyz", 3);
  expect_fail(&o, &x, KAFU_EFORMAT, "3 unexpected bytes after the END section");
  /* flags on a known section */
  patched(&b, &o, T_STACK, 0, 0, 0);
  put32at(&o, s[1].off + 4, 2);
  resum(&o, &s[1]);
  expect_fail(&o, &x, KAFU_EFORMAT, "flags 0x2");
  kafu_buf_free(&o);
  kafu_buf_free(&b);
  free(x.mem);
}

/* The RUN section (format 1.1): written right after META, flagged OPTIONAL
 * (so a 1.0 reader skips it), round-trips, is optional, and is refused
 * anywhere else or without its flag. */
static void test_run_section(void **st_) {
  sample x;
  sample_init(&x, 65536, 11);
  x.s.run_id = 0x0123456789abcdefull;
  x.s.hop = (2ull << 32) | 7;
  x.s.sender = "cloud-b";
  x.s.sender_incarnation = 0xfeedfacecafebeefull;
  kafu_buf b = {0}, o = {0};
  encode(&x, KAFU_SNAP_COMP_LZ4, 0, &b);
  secref s[16];
  int n = sections(&b, s, 16);
  assert_int_equal(n, 8); /* META RUN STACK GLOBALS FDS MEMORY MEMCHUNK END */
  assert_int_equal(s[1].type, 8);
  uint32_t fl;
  memcpy(&fl, b.data + s[1].off + 4, 4);
  assert_int_equal(fl, 1); /* OPTIONAL */
  dest d = {0};
  kafu_snap_decoder_opts op = dec_opts(&x, &d, NULL);
  kafu_snapshot out = {0};
  kafu_err er = {0};
  if (kafu_snap_decode_buf(b.data, b.len, &op, &out, NULL, &er)) fail_msg("%s", er.msg);
  assert_same_meta(&x.s, &out);
  assert_true(out.run_id == x.s.run_id && out.hop == x.s.hop);
  assert_true(out.sender_incarnation == x.s.sender_incarnation);
  assert_string_equal(out.sender, "cloud-b");
  kafu_snapshot_clear(&out);
  /* described by kafu inspect */
  kafu_buf txt = {0};
  assert_int_equal(kafu_snap_describe(b.data, b.len, &txt, false, &er), 0);
  assert_non_null(
      strstr(kafu_buf_cstr(&txt), "run 0123456789abcdef, hop 8589934599 (epoch 2, #7), sent by cloud-b"));
  txt.len = 0;
  assert_int_equal(kafu_snap_describe(b.data, b.len, &txt, true, &er), 0);
  assert_non_null(strstr(kafu_buf_cstr(&txt), "\"run\":{\"id\":\"0123456789abcdef\",\"hop\":8589934599"));
  kafu_buf_free(&txt);
  /* without the flag: refused */
  o.len = 0;
  kafu_buf_append(&o, b.data, b.len);
  put32at(&o, s[1].off + 4, 0);
  resum(&o, &s[1]);
  expect_fail(&o, &x, KAFU_EFORMAT, "flags 0x0 on the RUN section");
  /* after STACK: refused */
  o.len = 0;
  kafu_buf_append(&o, b.data, s[1].off);
  kafu_buf_append(&o, b.data + s[2].off, s[3].off - s[2].off);
  kafu_buf_append(&o, b.data + s[1].off, s[2].off - s[1].off);
  kafu_buf_append(&o, b.data + s[3].off, b.len - s[3].off);
  expect_fail(&o, &x, KAFU_EFORMAT, "RUN section not right after META");
  /* run id 0: refused */
  o.len = 0;
  kafu_buf_append(&o, b.data, b.len);
  put64at(&o, s[1].off + 16, 0);
  resum(&o, &s[1]);
  expect_fail(&o, &x, KAFU_EFORMAT, "run id 0");
  /* no run id: no section, decodes with run_id 0 */
  x.s.run_id = 0;
  encode(&x, KAFU_SNAP_COMP_LZ4, 0, &b);
  assert_int_equal(sections(&b, s, 16), 7);
  if (kafu_snap_decode_buf(b.data, b.len, &op, &out, NULL, &er)) fail_msg("%s", er.msg);
  assert_true(out.run_id == 0 && out.sender == NULL);
  kafu_snapshot_clear(&out);
  free(d.mem);
  kafu_buf_free(&o);
  kafu_buf_free(&b);
  free(x.mem);
}

static int reject_meta(void *ctx, const kafu_snapshot *m, kafu_err *err) {
  int *calls = ctx;
  (*calls)++;
  if (strcmp(m->target_node, "me"))
    return kafu_err_set(err, KAFU_EINVAL, "target node %s is not me", m->target_node);
  return 0;
}

static void test_callbacks_reject(void **st_) {
  sample x;
  sample_init(&x, 65536, 9);
  kafu_buf b = {0};
  encode(&x, KAFU_SNAP_COMP_ZSTD, 0, &b);
  int calls = 0;
  dest d = {0};
  kafu_mem_image held;
  kafu_mem_image_init(&held);
  kafu_mem_image_compute(&held, x.mem, 65536, NULL);
  kafu_snap_decoder_opts o = dec_opts(&x, &d, &held);
  o.on_meta = reject_meta, o.on_meta_ctx = &calls;
  kafu_err e;
  assert_int_equal(kafu_snap_decode_buf(b.data, b.len, &o, NULL, NULL, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "target node cloud is not me"));
  assert_true(calls == 1 && d.calls == 0 && held.id != 0);
  /* the destination refuses the memory: error names it, held image forgotten */
  o.on_meta = NULL;
  d.refuse = true;
  assert_int_equal(kafu_snap_decode_buf(b.data, b.len, &o, NULL, NULL, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "test refuses 65536 bytes"));
  assert_true(held.id == 0);
  /* sticky failure: later feeds return the same error */
  kafu_snap_decoder *dec;
  assert_int_equal(kafu_snap_decoder_new(&dec, &o, &e), 0);
  assert_int_equal(kafu_snap_decoder_feed(dec, "XXXXXXXXXXXXXXXXXXXXXXXXXXXX", 28, &e), KAFU_EFORMAT);
  assert_int_equal(kafu_snap_decoder_feed(dec, b.data, b.len, &e), KAFU_EFORMAT);
  assert_int_equal(kafu_snap_decoder_finish(dec, NULL, NULL, &e), KAFU_EFORMAT);
  assert_non_null(strstr(e.msg, "bad magic"));
  kafu_snap_decoder_free(dec);
  kafu_mem_image_free(&held);
  kafu_buf_free(&b);
  free(x.mem);
}

static int failing_write(void *ctx, const void *p, size_t n) {
  int *budget = ctx;
  if (*budget <= 0) return -1;
  (*budget)--;
  return 0;
}

static void test_encode_errors(void **st_) {
  sample x;
  sample_init(&x, 65536, 10);
  kafu_err e;
  kafu_buf b = {0};
  kafu_snapshot s = x.s;
  s.memory_size = 65536 + 4096;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &b, NULL, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "multiple of 64 KiB"));
  s = x.s;
  s.target_node = NULL;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &b, NULL, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "target node is missing"));
  s = x.s;
  kafu_fd_entry fds[2] = {x.fd[2], x.fd[1]};
  s.fds = fds, s.nfds = 2;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &b, NULL, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "not sorted"));
  assert_int_equal(b.len, 0); /* nothing written for an invalid snapshot */
  s = x.s;
  kafu_fd_entry big[1] = {x.fd[0]};
  big[0].npending = KAFU_WASI_READAHEAD_MAX + 1;
  s.fds = big, s.nfds = 1;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &b, NULL, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "read-ahead"));
  kafu_snap_encode_opts o = {.compression = KAFU_SNAP_COMP_ZSTD, .level = 99};
  assert_int_equal(kafu_snap_encode_buf(&x.s, &o, &b, NULL, &e), KAFU_EINVAL);
  o = (kafu_snap_encode_opts){.chunk_size = 5000};
  assert_int_equal(kafu_snap_encode_buf(&x.s, &o, &b, NULL, &e), KAFU_EINVAL);
  /* a failing write callback aborts with an error at every point */
  /* header, META, STACK, GLOBALS, FDS, MEMORY, 1 chunk, END = 8 writes */
  for (int budget = 0; budget < 8; budget++) {
    int left = budget;
    assert_int_equal(kafu_snap_encode(&x.s, NULL, failing_write, &left, NULL, &e), KAFU_EIO);
    assert_non_null(strstr(e.msg, "write of"));
  }
  int left = 8;
  assert_int_equal(kafu_snap_encode(&x.s, NULL, failing_write, &left, NULL, &e), 0);
  kafu_buf_free(&b);
  free(x.mem);
}

/* Parallel compression writes exactly the bytes the single-threaded encoder
 * writes, for any thread count and chunk size, and stops cleanly when the
 * write callback fails mid-way. */
static void test_threads_identical(void **st_) {
  sample x;
  sample_init(&x, 24 * 65536, 12);
  const kafu_snap_comp comps[] = {KAFU_SNAP_COMP_LZ4, KAFU_SNAP_COMP_ZSTD, KAFU_SNAP_COMP_NONE};
  const uint32_t chunks[] = {4096, 5 * 4096, 65536, 0};
  for (int c = 0; c < 3; c++)
    for (int k = 0; k < 4; k++) {
      kafu_buf ref = {0};
      kafu_snap_encode_opts o = {.compression = comps[c], .chunk_size = chunks[k]};
      kafu_snap_stats s1, s2;
      assert_int_equal(kafu_snap_encode_buf(&x.s, &o, &ref, &s1, NULL), 0);
      for (int t = 2; t <= 5; t += 3) {
        kafu_buf b = {0};
        o.threads = t;
        assert_int_equal(kafu_snap_encode_buf(&x.s, &o, &b, &s2, NULL), 0);
        assert_int_equal(b.len, ref.len);
        assert_memory_equal(b.data, ref.data, ref.len);
        assert_true(s1.chunks == s2.chunks && s1.pages == s2.pages && s1.mem_wire_bytes == s2.mem_wire_bytes);
        kafu_buf_free(&b);
      }
      kafu_buf_free(&ref);
    }
  kafu_err e;
  for (int budget = 0; budget < 40; budget += 3) {
    int left = budget;
    kafu_snap_encode_opts o = {.chunk_size = 4096 * 8, .threads = 3};
    int rc = kafu_snap_encode(&x.s, &o, failing_write, &left, NULL, &e);
    assert_true(rc == KAFU_EIO || (rc == 0 && budget >= 6 + 48 + 1));
  }
  kafu_snap_encode_opts o = {.threads = -1};
  kafu_buf b = {0};
  assert_int_equal(kafu_snap_encode_buf(&x.s, &o, &b, NULL, &e), KAFU_EINVAL);
  free(x.mem);
}

static void test_describe(void **st_) {
  sample x;
  sample_init(&x, 2 * 65536, 11);
  kafu_buf b = {0}, t = {0};
  encode(&x, KAFU_SNAP_COMP_LZ4, 0, &b);
  kafu_err e;
  assert_int_equal(kafu_snap_describe(b.data, b.len, &t, false, &e), 0);
  const char *txt = kafu_buf_cstr(&t);
  assert_non_null(strstr(txt, ": valid"));
  assert_non_null(strstr(txt, "from node edge to node cloud, resume at fn 2 (enter)"));
  assert_non_null(strstr(txt, "#1 fn 1 called from cloud (migrated)"));
  assert_non_null(strstr(txt, "kafu_global_1 i64 0xfedcba9876543210"));
  assert_non_null(strstr(txt, "fd 4 file preopen=/data path=out/log.txt offset=123456789012"));
  assert_non_null(strstr(txt, "131072 bytes (2 wasm pages), full image, lz4"));
  assert_non_null(strstr(txt, "(verified)"));
  t.len = 0;
  assert_int_equal(kafu_snap_describe(b.data, b.len, &t, true, &e), 0);
  txt = kafu_buf_cstr(&t);
  assert_non_null(strstr(txt, "{\"valid\":true,\"error\":null,\"version\":1"));
  assert_non_null(strstr(txt, "\"target_node\":\"cloud\""));
  assert_non_null(strstr(txt, "\"mode\":\"full\",\"compression\":\"lz4\""));
  assert_non_null(strstr(txt, "\"image_verified\":true,\"pages\":32"));
  /* invalid: truncated -> error plus what was readable */
  t.len = 0;
  assert_int_equal(kafu_snap_describe(b.data, b.len - 20, &t, false, &e), KAFU_EFORMAT);
  txt = kafu_buf_cstr(&t);
  assert_non_null(strstr(txt, "INVALID: snapshot:"));
  assert_non_null(strstr(txt, "truncated"));
  assert_non_null(strstr(txt, "module sha256"));
  t.len = 0;
  assert_int_equal(kafu_snap_describe(b.data, 3, &t, true, &e), KAFU_EFORMAT);
  assert_non_null(strstr(kafu_buf_cstr(&t), "\"valid\":false"));
  kafu_buf_free(&t);
  kafu_buf_free(&b);
  free(x.mem);
}

static void test_comp_names_and_ids(void **st_) {
  kafu_snap_comp c;
  assert_int_equal(kafu_snap_comp_parse("LZ4", &c), 0);
  assert_int_equal(c, KAFU_SNAP_COMP_LZ4);
  assert_int_equal(kafu_snap_comp_parse("zstd", &c), 0);
  assert_int_equal(kafu_snap_comp_parse("none", &c), 0);
  assert_int_equal(c, KAFU_SNAP_COMP_NONE);
  assert_int_equal(kafu_snap_comp_parse("gzip", &c), KAFU_EINVAL);
  assert_string_equal(kafu_snap_comp_name(KAFU_SNAP_COMP_DEFAULT), "lz4");
  char s[17];
  uint64_t v;
  kafu_mem_image_id_str(0x00ab00000000cdefull, s);
  assert_string_equal(s, "00ab00000000cdef");
  assert_int_equal(kafu_mem_image_id_parse(s, &v), 0);
  assert_true(v == 0x00ab00000000cdefull);
  assert_int_equal(kafu_mem_image_id_parse("xyz", &v), KAFU_EINVAL);
  assert_int_equal(kafu_mem_image_id_parse("12345678901234567", &v), KAFU_EINVAL);
  assert_int_equal(kafu_mem_image_id_parse("", &v), KAFU_EINVAL);
}

/* ---- fuzz seed corpus ----------------------------------------------------------------- */
/* Must match tests/fuzz/fuzz_snapshot_decode.c: the receiver there holds this image. */
#define SEED_BASE_SIZE (2 * 65536)
static void seed_baseline(uint8_t *m) {
  for (uint32_t i = 0; i < SEED_BASE_SIZE; i++) m[i] = (uint8_t)((i * 7) ^ (i >> 9));
}

static int make_seeds(kafu_buf *seeds, int max) {
  int n = 0;
  sample x;
  /* full images, each compression */
  const kafu_snap_comp comps[] = {KAFU_SNAP_COMP_LZ4, KAFU_SNAP_COMP_ZSTD};
  for (int c = 0; c < 2; c++) {
    sample_init(&x, 65536, 20 + c);
    for (int p = 0; p < 16; p++) memset(x.mem + p * 4096, 0, p % 3 ? 4096 : 100); /* keep seeds small */
    kafu_snap_encode_opts o = {.compression = comps[c], .chunk_size = 4 * 4096};
    kafu_snap_encode_buf(&x.s, &o, &seeds[n++], NULL, NULL);
    free(x.mem);
  }
  /* deltas against the fuzz target's baseline, each compression */
  uint8_t *base = malloc(SEED_BASE_SIZE), *cur = malloc(3 * 65536);
  seed_baseline(base);
  const kafu_snap_comp dc[] = {KAFU_SNAP_COMP_NONE, KAFU_SNAP_COMP_LZ4, KAFU_SNAP_COMP_ZSTD};
  for (int c = 0; c < 3 && n < max; c++) {
    kafu_mem_image img;
    kafu_mem_delta dl = {0};
    kafu_mem_image_init(&img);
    kafu_mem_image_compute(&img, base, SEED_BASE_SIZE, NULL);
    uint64_t size = c == 2 ? 3 * 65536 : SEED_BASE_SIZE; /* the zstd one also grows memory */
    memset(cur, 0, 3 * 65536);
    memcpy(cur, base, SEED_BASE_SIZE);
    memset(cur + 4096 * 3, 0xab, 100);
    memcpy(cur + 4096 * 4, "changed page", 12);
    cur[4096 * 20 + 7] ^= 1;
    if (size > SEED_BASE_SIZE) memcpy(cur + SEED_BASE_SIZE + 4096 * 5, "grown", 5);
    kafu_mem_image_update(&img, cur, size, NULL, &dl, NULL);
    sample_init(&x, 0, 0);
    x.s.memory = cur, x.s.memory_size = size;
    kafu_snap_encode_opts o = {.compression = dc[c],
                               .image = &img,
                               .delta = &dl,
                               .receiver_image_id = dl.base_id,
                               .chunk_size = 2 * 4096};
    kafu_snap_encode_buf(&x.s, &o, &seeds[n++], NULL, NULL);
    kafu_mem_image_free(&img);
    kafu_mem_delta_free(&dl);
  }
  free(base);
  free(cur);
  /* no memory at all */
  kafu_snapshot s = {.target_node = "n", .source_node = "m"};
  kafu_snap_encode_buf(&s, NULL, &seeds[n++], NULL, NULL);
  return n;
}

static void test_seed_corpus(void **st_) {
  kafu_buf seeds[8] = {{0}};
  int n = make_seeds(seeds, 8);
  assert_int_equal(n, 6);
  const char *dir = getenv("KAFU_WRITE_SEEDS");
  for (int i = 0; i < n; i++) {
    assert_true(seeds[i].len > 0 && seeds[i].len < 20000);
    kafu_buf t = {0};
    kafu_err e;
    if (kafu_snap_describe(seeds[i].data, seeds[i].len, &t, false, &e)) fail_msg("seed %d: %s", i, e.msg);
    kafu_buf_free(&t);
    /* and applies on the fuzz receiver (which holds the seed baseline) */
    dest dd = {0};
    dest_cb(&dd, SEED_BASE_SIZE, NULL);
    seed_baseline(dd.mem);
    kafu_mem_image held;
    kafu_mem_image_init(&held);
    kafu_mem_image_compute(&held, dd.mem, SEED_BASE_SIZE, NULL);
    kafu_snap_decoder_opts o = {.memory = dest_cb, .memory_ctx = &dd, .held = &held, .verify_full = true};
    if (kafu_snap_decode_buf(seeds[i].data, seeds[i].len, &o, NULL, NULL, &e))
      fail_msg("seed %d: %s", i, e.msg);
    kafu_mem_image_free(&held);
    free(dd.mem);
    if (dir) {
      char p[4096];
      snprintf(p, sizeof p, "%s/seed-%d.bin", dir, i);
      assert_int_equal(kafu_write_file_atomic(p, seeds[i].data, seeds[i].len, NULL), 0);
    }
  }
  /* the committed corpus still decodes with this format version */
  const char *src = getenv("KAFU_SRC");
  char cdir[4096];
  snprintf(cdir, sizeof cdir, "%s/tests/fuzz/corpus/fuzz_snapshot_decode", src ? src : KAFU_SOURCE_DIR);
  DIR *d = opendir(cdir);
  int checked = 0;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (strncmp(de->d_name, "seed-", 5)) continue;
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", cdir, de->d_name);
    uint8_t *data;
    size_t len;
    assert_int_equal(kafu_read_file(p, &data, &len, NULL), 0);
    kafu_buf t = {0};
    kafu_err e;
    if (kafu_snap_describe(data, len, &t, false, &e)) fail_msg("%s: %s", p, e.msg);
    kafu_buf_free(&t);
    free(data);
    checked++;
  }
  if (d) closedir(d);
  if (!dir) assert_true(checked >= 6);
  for (int i = 0; i < n; i++) kafu_buf_free(&seeds[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_all_compressions),
      cmocka_unit_test(test_roundtrip_empty),
      cmocka_unit_test(test_incompressible_stored_raw),
      cmocka_unit_test(test_truncated_every_offset),
      cmocka_unit_test(test_flipped_bits),
      cmocka_unit_test(test_magic_version_module),
      cmocka_unit_test(test_oversized_and_inconsistent),
      cmocka_unit_test(test_run_rules),
      cmocka_unit_test(test_section_order_unknown_trailing),
      cmocka_unit_test(test_run_section),
      cmocka_unit_test(test_callbacks_reject),
      cmocka_unit_test(test_encode_errors),
      cmocka_unit_test(test_threads_identical),
      cmocka_unit_test(test_describe),
      cmocka_unit_test(test_comp_names_and_ids),
      cmocka_unit_test(test_seed_corpus),
      cmocka_unit_test(test_host_section),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

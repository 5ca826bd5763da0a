/* test_snapshot_delta.c — delta transfer is correct in every topology (docs/snapshot-format.md).
 *
 * Simulated nodes each keep a linear memory and the image they last held. The
 * program runs on one node at a time, mutates memory (page writes, single-byte
 * flips, rewrites with identical content, growth), and migrates to another
 * node chosen at random; every hop encodes against whatever image the receiver
 * claims, with a random compression, chunk size and feed chunking, optionally
 * with a written-page hint. After every hop the receiver's memory must equal
 * the sender's byte for byte. Stale or lying baselines must be detected
 * (KAFU_EBASELINE), after which a full transfer succeeds. Receivers that can
 * undo (memory_undo, with an undo area reused across their receives) get
 * snapshots cut short at random, which must leave them exactly as before. */
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

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return rs;
}

typedef struct node {
  uint8_t *mem;
  uint64_t size, size_before;
  kafu_mem_image img;
  kafu_snap_undo_area area; /* reused by every receive with undo */
  int received_full, received_delta;
  uint64_t last_pages; /* pages the last received snapshot carried */
} node;

static uint8_t *grow_cb(void *ctx, uint64_t size, kafu_err *err) {
  node *n = ctx;
  n->size_before = n->size;
  if (size > n->size) { /* memory.grow: new bytes are zero */
    n->mem = realloc(n->mem, size);
    memset(n->mem + n->size, 0, size - n->size);
    n->size = size;
  }
  return n->mem;
}

/* memory_undo: back to the size before grow_cb (the bytes above it are zeroed
 * again by the next grow) */
static void undo_cb(void *ctx) {
  node *n = ctx;
  n->size = n->size_before;
}

/* Receives with undo, reusing the receiver's undo area: g_undo 1 = one
 * receive in two, and one in four of those gets a cut-short copy of the
 * snapshot first; 2 = every receive, cut short first when g_cut. A refused
 * copy is checked to change nothing. */
static int g_undo;
static bool g_cut;
static int g_cut_refused;

static const uint8_t module[32] = {1, 2, 3};

/* The program runs on n: mutate its memory; record written pages in hint. */
static void run_program(node *n, uint64_t *hint, uint64_t max_size) {
  uint64_t np = n->size / 4096;
  int kind = (int)(rnd() % 10);
  if (kind == 0 && n->size + 65536 * 2 <= max_size) { /* memory.grow by 1-2 wasm pages, some written */
    uint64_t add = 65536 * (1 + rnd() % 2);
    grow_cb(n, n->size + add, NULL);
    uint64_t nnp = n->size / 4096;
    for (uint64_t p = np; p < nnp; p++)
      if (rnd() % 3 == 0) {
        n->mem[p * 4096 + rnd() % 4096] = (uint8_t)(1 + rnd() % 255);
        hint[p / 64] |= 1ull << (p % 64);
      }
    np = nnp;
  }
  int writes = (int)(rnd() % 40);
  for (int w = 0; w < writes; w++) {
    uint64_t p = rnd() % np;
    uint8_t *pg = n->mem + p * 4096;
    switch (rnd() % 4) {
      case 0:
        memset(pg, (int)(rnd() & 0xff), 4096);
        break; /* whole page */
      case 1:
        pg[rnd() % 4096] ^= (uint8_t)(1 + rnd() % 255);
        break; /* one byte */
      case 2:
        memcpy(pg + rnd() % 4000, &rs, 8);
        break; /* a word */
      case 3: {
        uint8_t c = pg[5];
        pg[5] = c;
      } break; /* same content */
    }
    hint[p / 64] |= 1ull << (p % 64);
  }
  if (rnd() % 5 == 0) { /* a contiguous run of pages (e.g. a big memcpy) */
    uint64_t p0 = rnd() % np, len = 1 + rnd() % 300;
    for (uint64_t p = p0; p < np && p < p0 + len; p++) {
      n->mem[p * 4096 + (p * 13) % 4096] += 1;
      hint[p / 64] |= 1ull << (p % 64);
    }
  }
}

typedef struct hop_result {
  int rc;
  bool delta;
  kafu_err err;
} hop_result;

/* Migrate the memory of `from` to `to`, with the receiver claiming `claim`.
 * peer (optional): an image the sender kept of what some peer holds; when the
 * claim is that image, the delta is made against it (kafu_mem_delta_between). */
static hop_result hop_peer(node *from, node *to, uint64_t claim, const uint64_t *hint, kafu_mem_delta *dl,
                           bool verify_full, const kafu_mem_image *peer) {
  hop_result r = {0};
  kafu_err e;
  if (kafu_mem_image_update(&from->img, from->mem, from->size, hint, dl, &e)) fail_msg("update: %s", e.msg);
  kafu_mem_delta pd = {0};
  if (peer && peer->id && claim == peer->id && claim != dl->base_id) {
    if (kafu_mem_delta_between(peer, &from->img, &pd, &e)) fail_msg("delta between: %s", e.msg);
    dl = &pd;
  }
  kafu_snapshot s = {
      .target_node = "to", .source_node = "from", .memory = from->mem, .memory_size = from->size};
  memcpy(s.module_sha256, module, 32);
  static const kafu_snap_comp comps[] = {KAFU_SNAP_COMP_NONE, KAFU_SNAP_COMP_LZ4, KAFU_SNAP_COMP_ZSTD};
  kafu_snap_encode_opts o = {.compression = comps[rnd() % 3],
                             .level = 1 + (int)(rnd() % 3),
                             .chunk_size = (uint32_t)(4096 * (1 + rnd() % 64)),
                             .image = &from->img,
                             .delta = dl,
                             .receiver_image_id = claim};
  if (rnd() % 4 == 0) o.chunk_size = 0;
  o.threads = (int)(rnd() % 4);
  kafu_buf b = {0};
  kafu_snap_stats st;
  kafu_snap_mem_plan plan;
  kafu_snap_plan_memory(&o, &from->img, &plan);
  if (kafu_snap_encode_buf(&s, &o, &b, &st, &e)) fail_msg("encode: %s", e.msg);
  /* what a sender is told ahead of encoding is what the encoder does */
  assert_true(plan.delta == st.delta && plan.pages == st.pages && plan.base_id == st.base_id);
  r.delta = st.delta;
  kafu_snap_decoder_opts dopt = {.expected_module_sha256 = module,
                                 .memory = grow_cb,
                                 .memory_ctx = to,
                                 .held = &to->img,
                                 .verify_full = verify_full};
  bool undo = g_undo == 2 || (g_undo == 1 && rnd() % 2);
  if (undo) {
    dopt.memory_undo = undo_cb;
    dopt.undo_area = &to->area;
  }
  if (undo && (g_undo == 2 ? g_cut : rnd() % 4 == 0)) { /* refused: cut short (END missing) */
    uint64_t size0 = to->size, id0 = to->img.id;
    uint8_t *mem0 = malloc(size0 ? size0 : 1);
    if (size0) memcpy(mem0, to->mem, size0); /* a receiver with no memory yet has none to copy */
    kafu_snap_decoder *c;
    assert_int_equal(kafu_snap_decoder_new(&c, &dopt, &e), 0);
    size_t cut = b.len / 2 + rnd() % (b.len / 2);
    int rc = kafu_snap_decoder_feed(c, b.data, cut, &e);
    if (!rc) rc = kafu_snap_decoder_finish(c, NULL, NULL, &e);
    assert_int_not_equal(rc, 0);
    kafu_snap_decoder_free(c);
    assert_true(to->size == size0 && to->img.id == id0);
    if (size0 && memcmp(to->mem, mem0, size0)) fail_msg("a refused snapshot changed the receiver's memory");
    free(mem0);
    g_cut_refused++;
  }
  kafu_snap_decoder *d;
  assert_int_equal(kafu_snap_decoder_new(&d, &dopt, &e), 0);
  size_t pos = 0, maxp = rnd() % 2 ? 1 + rnd() % 100 : 1 + rnd() % 300000;
  while (!r.rc && pos < b.len) {
    size_t n = 1 + rnd() % maxp;
    if (n > b.len - pos) n = b.len - pos;
    r.rc = kafu_snap_decoder_feed(d, b.data + pos, n, &r.err);
    pos += n;
  }
  kafu_snapshot out = {0};
  if (!r.rc) r.rc = kafu_snap_decoder_finish(d, &out, NULL, &r.err);
  kafu_snap_decoder_free(d);
  if (!r.rc) {
    assert_string_equal(out.target_node, "to");
    assert_true(out.memory == to->mem && out.memory_size == from->size);
    if (st.delta)
      to->received_delta++;
    else
      to->received_full++;
    to->last_pages = st.pages;
  }
  kafu_snapshot_clear(&out);
  kafu_buf_free(&b);
  kafu_mem_delta_free(&pd);
  return r;
}

static hop_result hop(node *from, node *to, uint64_t claim, const uint64_t *hint, kafu_mem_delta *dl,
                      bool verify_full) {
  return hop_peer(from, to, claim, hint, dl, verify_full, NULL);
}

static void assert_same(const node *a, const node *b) {
  assert_true(a->size == b->size);
  if (memcmp(a->mem, b->mem, a->size)) fail_msg("memory differs after hop");
  assert_true(a->img.id == b->img.id && a->img.id != 0);
}

static void init_nodes(node *nodes, int n, uint64_t size) {
  for (int i = 0; i < n; i++) {
    memset(&nodes[i], 0, sizeof nodes[i]);
    kafu_mem_image_init(&nodes[i].img);
  }
  /* node 0 starts the program: its memory is the module's initial memory */
  grow_cb(&nodes[0], size, NULL);
  for (uint64_t i = 0; i < size; i += 8) {
    uint64_t v = i % 3 ? 0 : rnd();
    memcpy(nodes[0].mem + i, &v, 8);
  }
}
static void free_nodes(node *nodes, int n) {
  for (int i = 0; i < n; i++)
    free(nodes[i].mem), kafu_mem_image_free(&nodes[i].img), kafu_snap_undo_area_free(&nodes[i].area);
}

static void no_shrink(void *ctx) { (void)ctx; /* memory never grows in test_undo_area_reused */ }

/* A's memory as a delta against what B holds (B's image), into b. */
static void encode_delta(node *a, const node *b, kafu_mem_delta *dl, kafu_buf *out) {
  kafu_err e;
  if (kafu_mem_image_update(&a->img, a->mem, a->size, NULL, dl, &e)) fail_msg("update: %s", e.msg);
  kafu_mem_delta pd = {0};
  if (kafu_mem_delta_between(&b->img, &a->img, &pd, &e)) fail_msg("delta between: %s", e.msg);
  kafu_snapshot s = {.target_node = "to", .source_node = "from", .memory = a->mem, .memory_size = a->size};
  memcpy(s.module_sha256, module, 32);
  kafu_snap_encode_opts o = {
      .compression = KAFU_SNAP_COMP_LZ4, .image = &a->img, .delta = &pd, .receiver_image_id = b->img.id};
  kafu_snap_stats st;
  out->len = 0;
  if (kafu_snap_encode_buf(&s, &o, out, &st, &e)) fail_msg("encode: %s", e.msg);
  assert_true(st.delta && st.pages > 0);
  kafu_mem_delta_free(&pd);
}

/* The receiver's undo copies live in one mapping reused decode after decode
 * (opts.undo_area): refused and broken-off deltas still put back exactly the
 * pages they overwrote, whatever an earlier decode left in the mapping, and a
 * second live decoder never shares it. */
static void test_undo_area_reused(void **st_) {
  (void)st_;
  node n[2];
  uint64_t size = 16 * 65536;
  init_nodes(n, 2, size);
  kafu_mem_delta dl = {0};
  hop_result r = hop(&n[0], &n[1], 0, NULL, &dl, false); /* B gets A's image in full */
  assert_int_equal(r.rc, 0);
  kafu_snap_undo_area area = {0};
  kafu_snap_decoder_opts o = {.expected_module_sha256 = module,
                              .memory = grow_cb,
                              .memory_undo = no_shrink,
                              .memory_ctx = &n[1],
                              .held = &n[1].img,
                              .undo_area = &area};
  uint8_t *before = malloc(size);
  kafu_buf b = {0};
  kafu_err e;
  int applied = 0, undone = 0;
  for (int i = 0; i < 24; i++) {
    uint64_t hint[16 * 65536 / 4096 / 64 + 1] = {0};
    run_program(&n[0], hint, size);
    encode_delta(&n[0], &n[1], &dl, &b);
    memcpy(before, n[1].mem, size);
    uint64_t held = n[1].img.id;
    kafu_snap_decoder *d, *d2 = NULL;
    assert_int_equal(kafu_snap_decoder_new(&d, &o, &e), 0);
    if (i % 3 == 0) { /* applied */
      assert_int_equal(kafu_snap_decoder_feed(d, b.data, b.len, &e), 0);
      assert_int_equal(kafu_snap_decoder_finish(d, NULL, NULL, &e), 0);
      kafu_snap_decoder_free(d);
      assert_same(&n[0], &n[1]);
      applied++;
      continue;
    }
    /* broken off after its pages were written (the trailer is missing) */
    assert_int_equal(kafu_snap_decoder_feed(d, b.data, b.len - 16, &e), 0);
    if (i % 3 == 2) { /* meanwhile a second decoder of the same delta: its own undo mapping */
      assert_true(area.busy);
      assert_int_equal(kafu_snap_decoder_new(&d2, &o, &e), 0);
      assert_int_equal(kafu_snap_decoder_feed(d2, b.data, b.len - 16, &e), 0);
      kafu_snap_decoder_free(d2); /* puts back what it overwrote: the first decode's pages */
    }
    kafu_snap_decoder_free(d);
    undone++;
    if (memcmp(before, n[1].mem, size)) fail_msg("round %d: undo did not restore the receiver's memory", i);
    assert_true(n[1].img.id == held && !area.busy && area.p);
  }
  assert_true(applied > 0 && undone > 0);
  kafu_snap_undo_area_free(&area);
  assert_null(area.p);
  kafu_buf_free(&b);
  free(before);
  kafu_mem_delta_free(&dl);
  free_nodes(n, 2);
}

/* Random walks over 3-4 nodes, receivers claiming what they really hold. */
static void test_random_walks(void **st_) {
  int deltas = 0, fulls = 0, hinted = 0;
  g_undo = 1; /* receivers that undo: only pages that differ are written */
  g_cut_refused = 0;
  for (int walk = 0; walk < 6; walk++) {
    int nn = 3 + walk % 2;
    node nodes[4];
    uint64_t max_size = 24 * 65536;
    init_nodes(nodes, nn, (4 + walk) * 65536);
    uint64_t *hint = calloc(max_size / 4096 / 64 + 1, 8);
    kafu_mem_delta dl = {0};
    int cur = 0;
    for (int h = 0; h < 60; h++) {
      memset(hint, 0, (max_size / 4096 / 64 + 1) * 8);
      run_program(&nodes[cur], hint, max_size);
      int next = (cur + 1 + (int)(rnd() % (nn - 1))) % nn;
      bool use_hint = rnd() % 2;
      hinted += use_hint;
      hop_result r =
          hop(&nodes[cur], &nodes[next], nodes[next].img.id, use_hint ? hint : NULL, &dl, rnd() % 2);
      if (r.rc) fail_msg("walk %d hop %d %d->%d: %s", walk, h, cur, next, r.err.msg);
      assert_same(&nodes[cur], &nodes[next]);
      r.delta ? deltas++ : fulls++;
      cur = next;
    }
    kafu_mem_delta_free(&dl);
    free(hint);
    free_nodes(nodes, nn);
  }
  g_undo = 0;
  print_message("random walks: %d delta hops, %d full hops, %d with a written-page hint, %d refused\n",
                deltas, fulls, hinted, g_cut_refused);
  /* both paths exercised (ping-pong hops are deltas, others full) */
  assert_true(deltas > 40 && fulls > 40 && hinted > 0 && g_cut_refused > 10);
}

/* One receiver whose undo area is reused by every receive: full images with
 * most pages unchanged, one with every page changed, a grown memory, and a
 * delta, each refused once (cut short) after the area held an earlier
 * decode's pages; the receiver keeps its memory, size and baseline, so the
 * delta still applies afterwards. */
static void test_undo_full_images(void **st_) {
  (void)st_;
  node n[2];
  init_nodes(n, 2, 8 * 65536);
  kafu_mem_delta dl = {0};
  g_undo = 2;
  g_cut = false;
  hop_result r = hop(&n[0], &n[1], 0, NULL, &dl, false); /* n[1] holds nothing yet */
  assert_int_equal(r.rc, 0);
  assert_same(&n[0], &n[1]);
  g_cut = true;
  g_cut_refused = 0;
  for (int round = 0; round < 6; round++) {
    uint64_t np = n[0].size / 4096;
    /* a third of the pages; in round 3 all of them (the decoder then keeps
     * whole runs and decodes in place instead of comparing page by page) */
    for (uint64_t p = round % 3; p < np; p += round == 3 ? 1 : 3) n[0].mem[p * 4096 + round] ^= 0x5a;
    if (round == 2) { /* memory.grow, some new pages written */
      grow_cb(&n[0], n[0].size + 2 * 65536, NULL);
      n[0].mem[n[0].size - 4096] = 7;
    }
    /* rounds 0-3: the receiver claims nothing (full image); 4-5: a delta */
    r = hop(&n[0], &n[1], round < 4 ? 0 : n[1].img.id, NULL, &dl, round % 2);
    if (r.rc) fail_msg("round %d: %s", round, r.err.msg);
    assert_true(r.delta == (round >= 4));
    assert_same(&n[0], &n[1]);
  }
  assert_int_equal(g_cut_refused, 6);
  g_undo = 0;
  g_cut = false;
  kafu_mem_delta_free(&dl);
  free_nodes(n, 2);
}

/* A hub and three spokes; the hub keeps the image each spoke holds (a copy of
 * its own image after a send to it or a receive from it) and makes a delta
 * against it. Every hop after a spoke's first visit must be a delta, memory
 * must arrive byte for byte, and the carried pages must be exactly the pages
 * whose content differs from what the receiver holds. */
static void test_delta_between_peers(void **st_) {
  (void)st_;
  enum { NN = 4 };
  uint64_t max_size = 24 * 65536;
  node n[NN];
  init_nodes(n, NN, 6 * 65536);
  kafu_mem_image known[NN]; /* the hub's copies: known[s] = what spoke s holds */
  for (int i = 0; i < NN; i++) kafu_mem_image_init(&known[i]);
  uint64_t *hint = calloc(max_size / 4096 / 64 + 1, 8);
  kafu_mem_delta dl = {0};
  int deltas = 0, fulls = 0;
  kafu_err e;
  for (int round = 0; round < 30; round++) {
    int s = 1 + (int)(rnd() % (NN - 1));
    memset(hint, 0, (max_size / 4096 / 64 + 1) * 8);
    run_program(&n[0], hint, max_size);
    /* the pages a delta must carry: those differing from what s holds */
    uint64_t differ = 0;
    if (n[s].size)
      for (uint64_t p = 0; p < n[0].size / 4096; p++)
        differ += p * 4096 >= n[s].size ? !!memcmp(n[0].mem + p * 4096, (uint8_t[4096]){0}, 4096)
                                        : !!memcmp(n[0].mem + p * 4096, n[s].mem + p * 4096, 4096);
    hop_result r = hop_peer(&n[0], &n[s], n[s].img.id, rnd() % 2 ? hint : NULL, &dl, rnd() % 2, &known[s]);
    if (r.rc) fail_msg("round %d hub->%d: %s", round, s, r.err.msg);
    assert_same(&n[0], &n[s]);
    assert_true(r.delta == (n[s].received_full + n[s].received_delta > 1));
    if (r.delta) assert_true(n[s].received_delta > 0 && differ == n[s].last_pages);
    assert_int_equal(kafu_mem_image_copy(&known[s], &n[0].img, &e), 0);
    r.delta ? deltas++ : fulls++;
    /* the spoke runs and sends back: a delta against what the hub holds */
    memset(hint, 0, (max_size / 4096 / 64 + 1) * 8);
    run_program(&n[s], hint, max_size);
    r = hop(&n[s], &n[0], n[0].img.id, hint, &dl, false);
    if (r.rc) fail_msg("round %d %d->hub: %s", round, s, r.err.msg);
    assert_true(r.delta);
    assert_same(&n[s], &n[0]);
    assert_int_equal(kafu_mem_image_copy(&known[s], &n[0].img, &e), 0);
  }
  print_message("hub and spokes: %d delta hops out of the hub, %d full (first visits)\n", deltas, fulls);
  assert_true(fulls <= NN - 1 && deltas >= 30 - (NN - 1));
  /* no delta from a larger image to a smaller one, nor against nothing */
  kafu_mem_image small, none;
  kafu_mem_image_init(&small);
  kafu_mem_image_init(&none);
  assert_int_equal(kafu_mem_image_compute(&small, n[0].mem, 65536, &e), 0);
  assert_int_equal(kafu_mem_delta_between(&n[0].img, &small, &dl, &e), KAFU_EINVAL);
  assert_int_equal(kafu_mem_delta_between(&none, &n[0].img, &dl, &e), KAFU_EINVAL);
  /* growth: new zero pages need not travel, written ones do */
  assert_int_equal(kafu_mem_delta_between(&small, &n[0].img, &dl, &e), 0);
  uint64_t want = 0;
  for (uint64_t p = 0; p < n[0].size / 4096; p++)
    want += p < 16 ? 0 : !!memcmp(n[0].mem + p * 4096, (uint8_t[4096]){0}, 4096);
  assert_true(dl.ndirty == want && dl.base_id == small.id && dl.new_id == n[0].img.id);
  kafu_mem_image_free(&small);
  for (int i = 0; i < NN; i++) kafu_mem_image_free(&known[i]);
  kafu_mem_delta_free(&dl);
  free(hint);
  free_nodes(n, NN);
}

/* A -> B -> C -> A: the original's bug. A holds image 1, C's dirty set is
 * relative to image 2, so A must get a full image, and the result must be right. */
static void test_abca(void **st_) {
  node n[3];
  init_nodes(n, 3, 8 * 65536);
  uint64_t hint[64] = {0};
  kafu_mem_delta dl = {0};
  hop_result r = hop(&n[0], &n[1], n[1].img.id, NULL, &dl, true); /* A->B: full (B holds nothing) */
  assert_int_equal(r.rc, 0);
  assert_false(r.delta);
  run_program(&n[1], hint, 8 * 65536);
  n[1].mem[100] ^= 0x55;
  r = hop(&n[1], &n[2], n[2].img.id, NULL, &dl, true); /* B->C: full */
  assert_int_equal(r.rc, 0);
  assert_false(r.delta);
  run_program(&n[2], hint, 8 * 65536);
  n[2].mem[5000] ^= 0x55;
  uint64_t a_holds = n[0].img.id;
  r = hop(&n[2], &n[0], a_holds, NULL, &dl, true); /* C->A: A holds image 1, not image 2 */
  assert_int_equal(r.rc, 0);
  assert_false(r.delta);
  assert_same(&n[2], &n[0]);
  run_program(&n[0], hint, 8 * 65536);
  n[0].mem[9000] ^= 0x55;
  r = hop(&n[0], &n[2], n[2].img.id, NULL, &dl, true); /* A->C: C holds what it sent: delta */
  assert_int_equal(r.rc, 0);
  assert_true(r.delta);
  assert_same(&n[0], &n[2]);
  kafu_mem_delta_free(&dl);
  free_nodes(n, 3);
}

/* The receiver (or the cluster's baseline query) reports an image it does not
 * hold: the delta is refused before memory is touched; a full transfer works. */
static void test_stale_claim_detected(void **st_) {
  for (int trial = 0; trial < 20; trial++) {
    node n[3];
    init_nodes(n, 3, 4 * 65536);
    uint64_t hint[64] = {0};
    kafu_mem_delta dl = {0};
    assert_int_equal(hop(&n[0], &n[1], 0, NULL, &dl, false).rc, 0); /* A->B full */
    assert_int_equal(hop(&n[0], &n[2], 0, NULL, &dl, false).rc, 0); /* (A also seeds C) */
    run_program(&n[0], hint, 4 * 65536);
    n[0].mem[77] ^= 1;
    assert_int_equal(hop(&n[0], &n[2], n[2].img.id, NULL, &dl, false).rc, 0); /* A->C delta: C moves on */
    /* B ran nothing; B now claims the image C holds (stale cluster info) */
    run_program(&n[2], hint, 4 * 65536);
    n[2].mem[4096 * 2 + 1] ^= 1;
    uint64_t before = n[1].img.id;
    uint8_t *snapshot_of_b = malloc(n[1].size);
    memcpy(snapshot_of_b, n[1].mem, n[1].size);
    hop_result r = hop(&n[2], &n[1], n[0].img.id /* lie: B does not hold this */, NULL, &dl, false);
    assert_true(r.delta);
    assert_int_equal(r.rc, KAFU_EBASELINE);
    assert_non_null(strstr(r.err.msg, "a full transfer is needed"));
    assert_true(n[1].img.id == before); /* refused before touching memory */
    assert_memory_equal(snapshot_of_b, n[1].mem, n[1].size);
    free(snapshot_of_b);
    /* the sender retries with a full transfer */
    r = hop(&n[2], &n[1], 0, NULL, &dl, false);
    assert_int_equal(r.rc, 0);
    assert_false(r.delta);
    assert_same(&n[2], &n[1]);
    kafu_mem_delta_free(&dl);
    free_nodes(n, 3);
  }
}

/* The receiver's recorded image is inconsistent with what it really holds:
 * (a) the id claims image X but the page hashes are of another image -> the
 *     rebuilt id differs at finish(); (b) hashes and id are right but memory was
 *     modified behind the image's back -> caught by verify_full. Both fail with
 *     KAFU_EBASELINE, clear the held image, and a full transfer then works. */
static void test_wrong_baseline_detected(void **st_) {
  for (int variant = 0; variant < 2; variant++) {
    node n[2];
    init_nodes(n, 2, 6 * 65536);
    uint64_t hint[64] = {0};
    kafu_mem_delta dl = {0};
    assert_int_equal(hop(&n[0], &n[1], 0, NULL, &dl, false).rc, 0); /* A->B full */
    run_program(&n[1], hint, 6 * 65536);
    n[1].mem[10] ^= 1;
    assert_int_equal(hop(&n[1], &n[0], n[0].img.id, NULL, &dl, false).rc, 0); /* B->A delta */
    run_program(&n[0], hint, 6 * 65536);
    n[0].mem[4096 * 3] ^= 1;
    /* now A sends to B, which holds what it sent (same as A's previous image) */
    if (variant == 0) {
      n[1].img.hashes[1] ^= 0x1234; /* B's hashes no longer describe its image, id unchanged */
      n[1].mem[4096 * 1 + 3] ^= 0xff;
    } else {
      n[1].mem[4096 * 5 + 9] ^= 0xff; /* memory changed behind the image's back */
      if (n[0].mem[4096 * 5 + 9] == n[1].mem[4096 * 5 + 9]) n[1].mem[4096 * 5 + 9] ^= 1;
    }
    hop_result r = hop(&n[0], &n[1], n[1].img.id, NULL, &dl, variant == 1);
    assert_true(r.delta);
    if (r.rc != KAFU_EBASELINE) fail_msg("variant %d: rc %d %s", variant, r.rc, r.err.msg);
    assert_true(n[1].img.id == 0); /* memory was touched: image forgotten */
    r = hop(&n[0], &n[1], n[1].img.id, NULL, &dl, true);
    assert_int_equal(r.rc, 0);
    assert_false(r.delta);
    assert_same(&n[0], &n[1]);
    kafu_mem_delta_free(&dl);
    free_nodes(n, 2);
  }
}

/* kafu_mem_image_update: dirty set = exactly the changed pages; the hint limits hashing. */
static void test_update_dirty_set(void **st_) {
  uint64_t size = 64 * 4096 * 4; /* 256 pages */
  uint8_t *m = calloc(1, size + 65536);
  for (uint64_t i = 0; i < size; i++) m[i] = (uint8_t)(i * 31);
  kafu_mem_image img;
  kafu_mem_image_init(&img);
  kafu_mem_delta dl = {0};
  assert_int_equal(kafu_mem_image_update(&img, m, size, NULL, &dl, NULL), 0);
  assert_true(dl.base_id == 0 && dl.ndirty == 256 && dl.new_id == img.id);
  uint64_t id1 = img.id;
  m[5 * 4096] ^= 1, m[64 * 4096 + 100] ^= 1, m[255 * 4096 + 4095] ^= 1;
  m[7 * 4096] = m[7 * 4096]; /* written, same content */
  assert_int_equal(kafu_mem_image_update(&img, m, size + 65536, NULL, &dl, NULL), 0); /* + grown zero pages */
  assert_true(dl.base_id == id1 && dl.base_size == size && dl.ndirty == 3 && dl.npages == 272);
  assert_true(dl.bits[0] == 1ull << 5 && dl.bits[1] == 1 && dl.bits[3] == 1ull << 63 && dl.bits[4] == 0);
  uint64_t id2 = img.id;
  assert_true(id2 != id1);
  /* hint: only page 9 may have changed; a change on page 10 is (by contract) not looked at */
  uint64_t hint[5] = {1ull << 9};
  m[9 * 4096] ^= 1, m[10 * 4096] ^= 1;
  assert_int_equal(kafu_mem_image_update(&img, m, size + 65536, hint, &dl, NULL), 0);
  assert_true(dl.ndirty == 1 && dl.bits[0] == 1ull << 9 && dl.base_id == id2);
  /* same content again: no dirty pages, same id */
  m[10 * 4096] ^= 1;
  kafu_mem_image ref;
  kafu_mem_image_init(&ref);
  assert_int_equal(kafu_mem_image_compute(&ref, m, size + 65536, NULL), 0);
  assert_true(ref.id == img.id);
  uint64_t id3 = img.id;
  assert_int_equal(kafu_mem_image_update(&img, m, size + 65536, NULL, &dl, NULL), 0);
  assert_true(dl.ndirty == 0 && img.id == id3);
  /* the copy is equal; bad sizes are rejected */
  kafu_mem_image cp;
  kafu_mem_image_init(&cp);
  assert_int_equal(kafu_mem_image_copy(&cp, &img, NULL), 0);
  assert_true(cp.id == img.id && cp.npages == img.npages && !memcmp(cp.hashes, img.hashes, img.npages * 8));
  kafu_err e;
  assert_int_equal(kafu_mem_image_update(&img, m, 1000, NULL, &dl, &e), KAFU_EINVAL);
  assert_int_equal(kafu_mem_image_compute(&img, m, 8ull << 30, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "exceeds 4 GiB"));
  kafu_mem_image_free(&cp);
  kafu_mem_image_free(&ref);
  kafu_mem_image_free(&img);
  kafu_mem_delta_free(&dl);
  free(m);
}

/* A retried send after the receiver already applied it (lost ack) is an empty delta. */
static void test_resend_same_image(void **st_) {
  node n[2];
  init_nodes(n, 2, 2 * 65536);
  kafu_mem_delta dl = {0};
  assert_int_equal(hop(&n[0], &n[1], 0, NULL, &dl, false).rc, 0);
  hop_result r = hop(&n[0], &n[1], n[1].img.id, NULL, &dl, true);
  assert_int_equal(r.rc, 0);
  assert_true(r.delta);
  assert_same(&n[0], &n[1]);
  /* force_full is honoured even when a delta is possible */
  kafu_snapshot s = {.target_node = "x", .memory = n[0].mem, .memory_size = n[0].size};
  kafu_snap_encode_opts o = {
      .image = &n[0].img, .delta = &dl, .receiver_image_id = n[1].img.id, .force_full = true};
  kafu_buf b = {0};
  kafu_snap_stats st;
  assert_int_equal(kafu_snap_encode_buf(&s, &o, &b, &st, NULL), 0);
  assert_false(st.delta);
  assert_true(st.pages == n[0].size / 4096);
  /* an image that does not describe the memory is refused */
  s.memory_size = 65536;
  kafu_err e;
  assert_int_equal(kafu_snap_encode_buf(&s, &o, &b, &st, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "does not describe memory"));
  kafu_buf_free(&b);
  kafu_mem_delta_free(&dl);
  free_nodes(n, 2);
}

/* The plan a sender asks for ahead of encoding (kafu_snap_plan_memory) and
 * what the encoder then does agree in every case of the delta-versus-full
 * rule, including a delta whose page count does not match the image (the
 * runtime's estimate once skipped that check and announced a delta the
 * encoder then sent in full). */
static void test_plan_agrees_with_encoder(void **st_) {
  node n[1];
  init_nodes(n, 1, 4 * 65536);
  kafu_mem_image base;
  kafu_mem_image_init(&base);
  kafu_err e;
  assert_int_equal(kafu_mem_image_compute(&base, n[0].mem, n[0].size, &e), 0);
  assert_int_equal(kafu_mem_image_copy(&n[0].img, &base, &e), 0);
  for (int p = 3; p < 64; p += 7) n[0].mem[p * 4096] ^= 0x5a; /* 9 pages change */
  kafu_mem_delta dl = {0};
  assert_int_equal(kafu_mem_image_update(&n[0].img, n[0].mem, n[0].size, NULL, &dl, &e), 0);
  assert_true(dl.base_id == base.id && dl.new_id == n[0].img.id && dl.ndirty == 9);
  kafu_mem_delta diverged = dl; /* same ids, another page count */
  diverged.npages = dl.npages - 16;
  kafu_mem_delta nobits = dl;
  nobits.bits = NULL;
  struct {
    const char *what;
    const kafu_mem_delta *delta;
    uint64_t rid;
    bool force_full, want_delta;
    uint64_t want_pages;
  } cases[] = {
      {"delta against the receiver's image", &dl, base.id, false, true, 9},
      {"receiver holds nothing", &dl, 0, false, false, 64},
      {"receiver holds another image", &dl, 12345, false, false, 64},
      {"receiver holds the sender's image", &dl, n[0].img.id, false, true, 0},
      {"no delta known", NULL, base.id, false, false, 64},
      {"force_full", &dl, base.id, true, false, 64},
      {"delta of another page count", &diverged, base.id, false, false, 64},
      {"delta without its bitmap", &nobits, base.id, false, false, 64},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    kafu_snapshot s = {.target_node = "to", .memory = n[0].mem, .memory_size = n[0].size};
    kafu_snap_encode_opts o = {.compression = KAFU_SNAP_COMP_NONE,
                               .image = &n[0].img,
                               .delta = cases[i].delta,
                               .receiver_image_id = cases[i].rid,
                               .force_full = cases[i].force_full};
    kafu_snap_mem_plan plan;
    kafu_snap_plan_memory(&o, &n[0].img, &plan);
    kafu_buf b = {0};
    kafu_snap_stats st;
    assert_int_equal(kafu_snap_encode_buf(&s, &o, &b, &st, &e), 0);
    kafu_buf_free(&b);
    if (plan.delta != cases[i].want_delta || plan.pages != cases[i].want_pages)
      fail_msg("%s: plan %s of %" PRIu64 " pages, want %s of %" PRIu64, cases[i].what,
               plan.delta ? "delta" : "full", plan.pages, cases[i].want_delta ? "delta" : "full",
               cases[i].want_pages);
    if (st.delta != plan.delta || st.raw_bytes != plan.pages * KAFU_SNAP_PAGE)
      fail_msg("%s: encoder sent %s of %" PRIu64 " bytes, plan said %s of %" PRIu64, cases[i].what,
               st.delta ? "delta" : "full", st.raw_bytes, plan.delta ? "delta" : "full",
               plan.pages * KAFU_SNAP_PAGE);
  }
  kafu_mem_delta_free(&dl);
  kafu_mem_image_free(&base);
  free_nodes(n, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_update_dirty_set),     cmocka_unit_test(test_abca),
      cmocka_unit_test(test_delta_between_peers),  cmocka_unit_test(test_random_walks),
      cmocka_unit_test(test_undo_area_reused),     cmocka_unit_test(test_undo_full_images),
      cmocka_unit_test(test_stale_claim_detected), cmocka_unit_test(test_wrong_baseline_detected),
      cmocka_unit_test(test_resend_same_image),    cmocka_unit_test(test_plan_agrees_with_encoder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_runtime.c — the runtime API as a cluster node server drives it
 * (KAFU_RT_NODE), with three runtimes in one process handing snapshots to each
 * other through kafu_runtime_encode / kafu_runtime_decoder /
 * kafu_runtime_finish_receive / kafu_runtime_resume, exactly like the HTTP
 * transport does but without sockets. Checks: the walk and output equal
 * `kafu run`, deltas are used and correct in a three-node topology, and a
 * snapshot a node must refuse (addressed to another node; a migration stack
 * naming a node or function that does not exist) is refused before anything
 * runs, leaving the node ready for the genuine one; the guest's monotonic
 * clock continues from the sender's.
 *
 * The module is tests/programs/singlenode/nest.c built with the real `kafu cc`
 * ($KAFU, set by ctest); without $KAFU the tests are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafu/runtime.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

static const char *NODES[3] = {"cloud", "edge", "fog"};

typedef struct world {
  char dir[256];
  kafu_config *cfg;
  uint8_t *wasm;
  size_t wasm_len;
  int out_fd;
  kafu_runtime *rt[3];
  char walk[2048];
  int hops, deltas;
} world;

static int node_ix(const char *id) {
  for (int i = 0; i < 3; i++)
    if (!strcmp(NODES[i], id)) return i;
  return -1;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
  if (b) b[n] = 0;
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* One temp dir per process with nest.wasm built by $KAFU cc (group setup);
 * removed by the group teardown, also when a test failed. "" = no $KAFU. */
static char g_dir[256];

static int group_setup(void **state) {
  (void)state;
  const char *kafu = getenv("KAFU");
  if (!kafu) return 0;
  snprintf(g_dir, sizeof g_dir, "%s/kafu-test-runtime.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(g_dir)) return -1;
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "'%s' cc -O2 '%s/tests/programs/singlenode/nest.c' -o '%s/nest.wasm' 2>'%s/cc.log'", kafu,
           KAFU_SOURCE_DIR, g_dir, g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  if (g_dir[0]) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    (void)!system(cmd);
  }
  return 0;
}

/* Node i's runtime (a node process starting). */
static void node_new(world *w, int i) {
  kafu_runtime_opts o = {.cfg = w->cfg,
                         .wasm = w->wasm,
                         .wasm_len = w->wasm_len,
                         .self = NODES[i],
                         .mode = KAFU_RT_NODE,
                         .stdout_fd = w->out_fd};
  kafu_err err = {0};
  int rc = kafu_runtime_new(&o, &w->rt[i], &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
}

static void world_init(world *w, const char *args) {
  memset(w, 0, sizeof *w);
  if (!g_dir[0]) skip();
  snprintf(w->dir, sizeof w->dir, "%s", g_dir);
  char yaml[1024], path[512];
  snprintf(yaml, sizeof yaml,
           "name: t\napp:\n  path: nest.wasm\n  args: [%s]\nnodes:\n"
           "  cloud: {address: 127.0.0.1, port: 1}\n  edge: {address: 127.0.0.1, port: 2}\n"
           "  fog: {address: 127.0.0.1, port: 3}\n",
           args);
  kafu_err err = {0};
  assert_int_equal(kafu_config_load_string(yaml, strlen(yaml), "test.yaml", w->dir, &w->cfg, &err), 0);
  assert_int_equal(kafu_config_load_app(w->cfg, &w->wasm, &w->wasm_len, &err), 0);
  snprintf(path, sizeof path, "%s/out.txt", w->dir);
  w->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(w->out_fd > 0);
  for (int i = 0; i < 3; i++) node_new(w, i);
}

static void world_free(world *w) {
  for (int i = 0; i < 3; i++) kafu_runtime_free(w->rt[i]);
  if (w->out_fd > 0) close(w->out_fd);
  free(w->wasm);
  kafu_config_free(w->cfg);
}

static int buf_write(void *ctx, const void *p, size_t n) { return kafu_buf_append(ctx, p, n); }

/* Feed bytes to node `to`; returns finish_receive's result. */
static int deliver(world *w, int to, const kafu_buf *b, kafu_err *err) {
  kafu_snap_decoder *dec = NULL;
  int rc = kafu_runtime_decoder(w->rt[to], &dec, err);
  if (rc) return rc;
  rc = kafu_snap_decoder_feed(dec, b->data, b->len, err);
  if (rc) {
    kafu_snap_decoder_free(dec);
    return rc;
  }
  return kafu_runtime_finish_receive(w->rt[to], dec, err);
}

/* One hop: encode on `from` for node res->target, deliver, resume there. */
static void hop(world *w, kafu_rt_result *res) {
  int from = node_ix(res->node), to = node_ix(res->target);
  assert_true(from >= 0 && to >= 0);
  kafu_buf b = {0};
  kafu_snap_stats st;
  kafu_err err = {0};
  uint64_t estimate = 0;
  assert_int_equal(kafu_runtime_send_estimate(w->rt[from], kafu_runtime_image_id(w->rt[to]), &estimate, &err),
                   0);
  assert_int_equal(
      kafu_runtime_encode(w->rt[from], kafu_runtime_image_id(w->rt[to]), buf_write, &b, &st, &err), 0);
  assert_int_equal(estimate, st.raw_bytes); /* the estimate announces what the encoder sends */
  kafu_runtime_sent(w->rt[from], 0.0);
  w->deltas += st.delta;
  int rc = deliver(w, to, &b, &err);
  if (rc) fprintf(stderr, "deliver: %s\n", err.msg);
  assert_int_equal(rc, 0);
  kafu_buf_free(&b);
  size_t l = strlen(w->walk);
  snprintf(w->walk + l, sizeof w->walk - l, "%s%s>%s", l ? " " : "", res->node, res->target);
  w->hops++;
  assert_int_equal(kafu_runtime_resume(w->rt[to], res, &err), 0);
}

/* The program's stdout under `kafu run` (migration points are no-ops there). */
static char *reference_output(const world *w, const char *args_shell) {
  char cmd[2048], path[512];
  snprintf(path, sizeof path, "%s/ref.txt", w->dir);
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run nest.wasm %s >ref.txt 2>/dev/null", w->dir, getenv("KAFU"),
           args_shell);
  assert_int_equal(system(cmd), 0);
  size_t n;
  return slurp(path, &n);
}

static char *program_output(const world *w) {
  char path[512];
  size_t n;
  snprintf(path, sizeof path, "%s/out.txt", w->dir);
  return slurp(path, &n);
}

static void test_three_nodes_walk(void **state) {
  (void)state;
  world w;
  world_init(&w, "\"EFEC\", \"FCE\", \"loop:3\"");
  kafu_rt_result res;
  kafu_err err = {0};
  assert_int_equal(kafu_runtime_run(w.rt[0], &res, &err), 0);
  while (res.status == KAFU_RT_MIGRATED) hop(&w, &res);
  assert_int_equal(res.status, KAFU_RT_FINISHED);
  assert_int_equal(res.exit_code, 0);
  assert_string_equal(res.node, "cloud");
  assert_string_equal(w.walk,
                      "cloud>edge edge>fog fog>edge edge>cloud cloud>edge edge>fog fog>edge edge>cloud "
                      "cloud>fog fog>cloud cloud>edge edge>cloud cloud>fog fog>cloud "
                      "cloud>edge edge>cloud cloud>edge edge>cloud cloud>edge edge>cloud");
  assert_int_equal(w.hops, 20);
  /* every node held an image after its first visit: later hops are deltas */
  assert_true(w.deltas >= 10);
  char *ref = reference_output(&w, "EFEC FCE loop:3"), *out = program_output(&w);
  assert_non_null(ref);
  assert_non_null(out);
  assert_string_equal(out, ref);
  free(ref);
  free(out);
  assert_int_equal(kafu_runtime_migrations_out(w.rt[0]) + kafu_runtime_migrations_out(w.rt[1]) +
                       kafu_runtime_migrations_out(w.rt[2]),
                   20);
  world_free(&w);
}

/* ---- entry checkpoints and failover ------------------------------------------------------ */

/* The node that keeps the innermost entry checkpoint of a call sent to `to`. */
static int entry_holder(world *w, const char *to, kafu_rt_entry_info *out) {
  int best = -1;
  uint64_t hop = 0;
  for (int i = 0; i < 3; i++) {
    size_t n = w->rt[i] ? kafu_runtime_entry_count(w->rt[i]) : 0;
    if (!n) continue;
    kafu_rt_entry_info e;
    kafu_runtime_entry_get(w->rt[i], n - 1, &e);
    if (!strcmp(e.target, to) && e.hop >= hop) best = i, hop = e.hop, *out = e;
  }
  return best;
}

/* Replace node i's runtime by a fresh one: the process died and restarted. */
static void restart(world *w, int i) {
  kafu_runtime_free(w->rt[i]);
  node_new(w, i);
}

static const char *last_line(char *s) {
  size_t n = strlen(s);
  while (n && s[n - 1] == '\n') s[--n] = 0;
  char *l = strrchr(s, '\n');
  return l ? l + 1 : s;
}

/* A walk in which the node receiving hop `kill_at` dies before it resumes:
 * the caller that kept the call's entry checkpoint re-arms it and sends it
 * to the restarted node, and the program runs on. Returns how the re-armed
 * entry was kept (live / materialized). */
static bool walk_with_kill(world *w, int kill_at, char **out) {
  kafu_rt_result res;
  kafu_err err = {0};
  bool live = false;
  int hops = 0;
  assert_int_equal(kafu_runtime_run(w->rt[0], &res, &err), 0);
  while (res.status == KAFU_RT_MIGRATED) {
    if (++hops != kill_at) {
      hop(w, &res);
      continue;
    }
    int from = node_ix(res.node), to = node_ix(res.target);
    kafu_buf b = {0};
    assert_int_equal(kafu_runtime_encode(w->rt[from], 0, buf_write, &b, NULL, &err), 0);
    kafu_runtime_sent(w->rt[from], 0.0);
    assert_int_equal(deliver(w, to, &b, &err), 0); /* taken, then the node dies before running */
    kafu_buf_free(&b);
    restart(w, to);
    kafu_rt_entry_info e = {0};
    int h = entry_holder(w, NODES[to], &e);
    assert_true(h >= 0);
    live = e.live;
    assert_int_equal(kafu_runtime_rearm_entry(w->rt[h], NODES[to], &err), 0);
    kafu_rt_pending_info pi;
    assert_true(kafu_runtime_pending(w->rt[h], &pi));
    assert_string_equal(pi.target, NODES[to]);
    res.status = KAFU_RT_MIGRATED;
    snprintf(res.node, sizeof res.node, "%s", NODES[h]);
    snprintf(res.target, sizeof res.target, "%s", NODES[to]);
    hop(w, &res);
  }
  assert_int_equal(res.status, KAFU_RT_FINISHED);
  *out = program_output(w);
  return live;
}

static void test_entry_checkpoints(void **state) {
  (void)state;
  world w;
  world_init(&w, "\"EFEC\"");
  char *ref = reference_output(&w, "EFEC");
  kafu_rt_result res;
  kafu_err err = {0};
  /* kept after a call left, materialized when a nested call comes back in,
   * resolved by the return */
  assert_int_equal(kafu_runtime_run(w.rt[0], &res, &err), 0);
  hop(&w, &res); /* cloud > edge (at_edge) */
  kafu_rt_entry_info e;
  assert_int_equal(kafu_runtime_entry_count(w.rt[0]), 1);
  kafu_runtime_entry_get(w.rt[0], 0, &e);
  assert_true(e.live && e.depth == 1 && e.bytes == 0);
  assert_string_equal(e.target, "edge");
  assert_string_equal(e.function, "at_edge");
  hop(&w, &res); /* edge > fog (at_fog) */
  hop(&w, &res); /* fog > edge (at_edge, nested): edge's at_fog entry is encoded */
  assert_int_equal(kafu_runtime_entry_count(w.rt[1]), 1);
  kafu_runtime_entry_get(w.rt[1], 0, &e);
  assert_true(!e.live && e.bytes > 0 && e.bytes == kafu_runtime_entry_bytes(w.rt[1]));
  hop(&w, &res); /* edge > cloud (at_cloud) */
  assert_int_equal(kafu_runtime_entry_count(w.rt[1]), 2);
  /* a return that breaks off (its sender died mid-upload) leaves memory and
   * the live entry as they were: the genuine return still applies as a delta */
  {
    kafu_buf b = {0};
    uint64_t held = kafu_runtime_image_id(w.rt[1]);
    assert_int_equal(kafu_runtime_encode(w.rt[0], 0, buf_write, &b, NULL, &err),
                     0); /* full: overwrites all */
    kafu_snap_decoder *dec = NULL;
    assert_int_equal(kafu_runtime_decoder(w.rt[1], &dec, &err), 0);
    assert_int_equal(kafu_snap_decoder_feed(dec, b.data, b.len - 100, &err), 0);
    kafu_snap_decoder_free(dec); /* the decoder's undo puts memory back */
    assert_true(kafu_runtime_image_id(w.rt[1]) == held);
    kafu_buf_free(&b);
  }
  while (res.status == KAFU_RT_MIGRATED) hop(&w, &res);
  assert_int_equal(res.status, KAFU_RT_FINISHED);
  for (int i = 0; i < 3; i++) assert_int_equal(kafu_runtime_entry_count(w.rt[i]), 0);
  char *out = program_output(&w);
  assert_string_equal(out, ref);
  free(out);
  world_free(&w);

  /* the node entering at_cloud dies: edge re-runs the call from its live entry */
  world_init(&w, "\"EFEC\"");
  assert_true(walk_with_kill(&w, 4, &out));
  assert_string_equal(out, ref); /* nothing of the lost attempt ran */
  free(out);
  world_free(&w);

  /* fog dies holding the program inside at_fog after the nested calls came
   * back: edge re-runs at_fog from its materialized entry; the call tree
   * printed by the lost attempt shows twice, the final checksum is exact */
  world_init(&w, "\"EFEC\"");
  assert_false(walk_with_kill(&w, 7 - 1, &out)); /* hop 6: edge returns to fog */
  char *r2 = strdup(ref);
  assert_string_equal(last_line(out), last_line(r2));
  free(r2);
  free(out);
  world_free(&w);
  free(ref);

  /* ping(edge) <-> pong(cloud), 6 deep: cloud keeps one entry per ping it
   * sent; each call coming back copies the newest, the first whole, the
   * others as the few pages that differ from the one before */
  world_init(&w, "\"ping:6\"");
  ref = reference_output(&w, "ping:6");
  assert_int_equal(kafu_runtime_run(w.rt[0], &res, &err), 0);
  for (int k = 0; k < 6; k++) hop(&w, &res);
  assert_int_equal(kafu_runtime_entry_count(w.rt[0]), 3);
  kafu_rt_entry_info e0, e1, e2;
  kafu_runtime_entry_get(w.rt[0], 0, &e0);
  kafu_runtime_entry_get(w.rt[0], 1, &e1);
  kafu_runtime_entry_get(w.rt[0], 2, &e2);
  assert_true(!e0.live && !e1.live && !e2.live);
  assert_true(e1.bytes > 0 && e1.bytes * 8 < e0.bytes && e2.bytes * 8 < e0.bytes);
  while (res.status == KAFU_RT_MIGRATED) hop(&w, &res);
  out = program_output(&w);
  assert_string_equal(out, ref);
  free(out);
  world_free(&w);
  /* edge dies as pong(1) returns to it: cloud re-runs ping(2) from its
   * entry, a diff rebuilt on the whole copy and the diff before it */
  world_init(&w, "\"ping:6\"");
  assert_false(walk_with_kill(&w, 9, &out));
  assert_string_equal(out, ref);
  free(out);
  world_free(&w);
  free(ref);
}

/* Decode a snapshot into malloc'd memory so a test can alter and re-encode it. */
static uint8_t *scratch_memory(void *ctx, uint64_t size, kafu_err *err) {
  (void)err;
  uint8_t **p = ctx;
  *p = calloc(1, size);
  return *p;
}

static void test_refuses_bad_snapshots(void **state) {
  (void)state;
  world w;
  world_init(&w, "\"E\"");
  kafu_rt_result res;
  kafu_err err = {0};
  assert_int_equal(kafu_runtime_run(w.rt[0], &res, &err), 0);
  assert_int_equal(res.status, KAFU_RT_MIGRATED);
  assert_string_equal(res.target, "edge");
  kafu_buf good = {0};
  assert_int_equal(kafu_runtime_encode(w.rt[0], 0, buf_write, &good, NULL, &err), 0);

  /* addressed to edge, delivered to fog */
  assert_int_not_equal(deliver(&w, 2, &good, &err), 0);
  assert_non_null(strstr(err.msg, "addressed to node 'edge', this is node 'fog'"));

  /* the same snapshot with a migration stack that names an unknown node, and
   * one with an unknown function id */
  uint8_t *mem = NULL;
  kafu_snap_decoder_opts dopts = {.memory = scratch_memory, .memory_ctx = &mem};
  kafu_snapshot s;
  assert_int_equal(kafu_snap_decode_buf(good.data, good.len, &dopts, &s, NULL, &err), 0);
  assert_int_equal(s.nframes, 1);
  char *saved = s.frames[0].caller_node;
  s.frames[0].caller_node = "mars";
  kafu_buf bad = {0};
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &bad, NULL, &err), 0);
  assert_int_not_equal(deliver(&w, 1, &bad, &err), 0);
  assert_non_null(strstr(err.msg, "called from node 'mars', which is not in the config"));
  s.frames[0].caller_node = saved;
  s.frames[0].fn_id = 99;
  bad.len = 0;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &bad, NULL, &err), 0);
  assert_int_not_equal(deliver(&w, 1, &bad, &err), 0);
  assert_non_null(strstr(err.msg, "unknown function id 99"));
  s.frames[0].fn_id = 0;
  s.resume_fn_id = 7;
  bad.len = 0;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &bad, NULL, &err), 0);
  assert_int_not_equal(deliver(&w, 1, &bad, &err), 0);
  assert_non_null(strstr(err.msg, "resumes at unknown function id 7"));
  s.resume_fn_id = 0;
  /* globals (review finding): a wrong type, a missing one, a duplicate and an
   * unknown name are all refused before anything changes */
  uint32_t gi = 0;
  while (gi < s.nglobals && strncmp(s.globals[gi].name, "kafu_global_", 12)) gi++;
  assert_true(gi < s.nglobals);
  uint8_t saved_type = s.globals[gi].type;
  s.globals[gi].type = saved_type == KAFU_SNAP_VAL_I64 ? KAFU_SNAP_VAL_I32 : KAFU_SNAP_VAL_I64;
  bad.len = 0;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &bad, NULL, &err), 0);
  assert_int_not_equal(deliver(&w, 1, &bad, &err), 0);
  assert_non_null(strstr(err.msg, "has type"));
  kafu_buf badtype = {0};
  assert_int_equal(kafu_buf_append(&badtype, bad.data, bad.len), 0);
  s.globals[gi].type = saved_type;
  char *saved_name = s.globals[gi].name;
  s.globals[gi].name = "kafu_global_999";
  bad.len = 0;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &bad, NULL, &err), 0);
  assert_int_not_equal(deliver(&w, 1, &bad, &err), 0);
  assert_non_null(strstr(err.msg, "not a mutable global of this module"));
  s.globals[gi].name = saved_name;
  /* one wasm global missing: swap it to the end and leave it out */
  kafu_snap_global tmp = s.globals[gi];
  s.globals[gi] = s.globals[s.nglobals - 1];
  s.globals[s.nglobals - 1] = tmp;
  s.nglobals--;
  bad.len = 0;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &bad, NULL, &err), 0);
  assert_int_not_equal(deliver(&w, 1, &bad, &err), 0);
  assert_non_null(strstr(err.msg, "mutable globals"));
  s.nglobals++;
  s.globals[s.nglobals - 1] = s.globals[gi];
  s.globals[gi] = tmp;
  kafu_buf_free(&bad);
  kafu_snapshot_clear(&s);
  free(mem);

  /* nothing ran; edge still takes the genuine snapshot and the program completes */
  assert_int_equal(deliver(&w, 1, &good, &err), 0);
  kafu_buf_free(&good);
  kafu_runtime_sent(w.rt[0], 0.0);
  assert_int_equal(kafu_runtime_resume(w.rt[1], &res, &err), 0);
  while (res.status == KAFU_RT_MIGRATED) hop(&w, &res);
  assert_int_equal(res.status, KAFU_RT_FINISHED);
  char *ref = reference_output(&w, "E"), *out = program_output(&w);
  assert_string_equal(out, ref);
  free(ref);
  free(out);
  /* edge now holds the image it sent back; a refused snapshot must not touch
   * its memory, so that baseline survives (it was lost when globals were only
   * checked after the memory had been decoded) */
  uint64_t held = kafu_runtime_image_id(w.rt[1]);
  assert_true(held != 0);
  assert_int_not_equal(deliver(&w, 1, &badtype, &err), 0);
  assert_non_null(strstr(err.msg, "has type"));
  assert_true(kafu_runtime_image_id(w.rt[1]) == held);
  kafu_buf_free(&badtype);
  world_free(&w);
}

/* Offset of the first section of type `type` in an encoded snapshot (its
 * 16-byte header), or 0. */
static size_t find_section(const kafu_buf *b, uint32_t type, uint64_t *len) {
  size_t off = 24;
  while (off + 16 <= b->len) {
    uint32_t t;
    uint64_t l;
    memcpy(&t, b->data + off, 4);
    memcpy(&l, b->data + off + 8, 8);
    if (t == type) {
      *len = l;
      return off;
    }
    off += 16 + l + 8;
  }
  return 0;
}

/* Issue 16, defect 2: a refused snapshot changes nothing on the receiver — not
 * its memory size (a MEMORY section declaring 1 GiB, cut off right after, grew
 * the instance for good, and every later snapshot was "smaller than the
 * instance's"), not its memory (a full image whose END never came overwrote
 * it), not its baseline (the genuine delta that follows must still apply). */
static void test_refused_snapshot_changes_nothing(void **state) {
  (void)state;
  world w;
  world_init(&w, "\"loop:3\"");
  kafu_rt_result res;
  kafu_err err = {0};
  assert_int_equal(kafu_runtime_run(w.rt[0], &res, &err), 0);
  hop(&w, &res); /* cloud>edge */
  hop(&w, &res); /* edge>cloud: edge keeps what it sent as its baseline */
  assert_int_equal(res.status, KAFU_RT_MIGRATED);
  assert_string_equal(res.target, "edge");
  uint64_t held = kafu_runtime_image_id(w.rt[1]);
  assert_true(held != 0);
  kafu_buf good = {0}, full = {0};
  kafu_snap_stats st;
  assert_int_equal(kafu_runtime_encode(w.rt[0], held, buf_write, &good, &st, &err), 0);
  assert_true(st.delta);
  assert_int_equal(kafu_runtime_encode(w.rt[0], 0, buf_write, &full, &st, &err), 0);
  assert_false(st.delta);

  /* 1. MEMORY declares 1 GiB (checksum fixed up), the stream ends right after */
  uint64_t mlen = 0;
  size_t mo = find_section(&good, 5, &mlen);
  assert_true(mo > 0 && mlen == 56);
  kafu_buf bad = {0};
  assert_int_equal(kafu_buf_append(&bad, good.data, mo + 16 + mlen + 8), 0);
  uint64_t gib = 1ull << 30;
  memcpy(bad.data + mo + 16, &gib, 8);
  uint64_t sum = XXH3_64bits(bad.data + mo, 16 + mlen);
  memcpy(bad.data + mo + 16 + mlen, &sum, 8);
  assert_int_not_equal(deliver(&w, 1, &bad, &err), 0);
  assert_non_null(strstr(err.msg, "truncated"));
  assert_true(kafu_runtime_image_id(w.rt[1]) == held);

  /* 2. a full image of other memory (every page rewritten) without its END */
  uint8_t *mem = NULL;
  kafu_snap_decoder_opts dopts = {.memory = scratch_memory, .memory_ctx = &mem};
  kafu_snapshot s;
  assert_int_equal(kafu_snap_decode_buf(full.data, full.len, &dopts, &s, NULL, &err), 0);
  memset(s.memory, 0x5a, s.memory_size);
  bad.len = 0;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &bad, NULL, &err), 0);
  bad.len -= 10;
  assert_int_not_equal(deliver(&w, 1, &bad, &err), 0);
  assert_non_null(strstr(err.msg, "truncated"));
  assert_true(kafu_runtime_image_id(w.rt[1]) == held);
  kafu_snapshot_clear(&s);
  free(mem);
  kafu_buf_free(&bad);
  kafu_buf_free(&full);

  /* the genuine delta still applies, and the run ends as under `kafu run` */
  int rc = deliver(&w, 1, &good, &err);
  if (rc) fprintf(stderr, "deliver: %s\n", err.msg);
  assert_int_equal(rc, 0);
  kafu_buf_free(&good);
  kafu_runtime_sent(w.rt[0], 0.0);
  assert_int_equal(kafu_runtime_resume(w.rt[1], &res, &err), 0);
  while (res.status == KAFU_RT_MIGRATED) hop(&w, &res);
  assert_int_equal(res.status, KAFU_RT_FINISHED);
  char *ref = reference_output(&w, "loop:3"), *out = program_output(&w);
  assert_string_equal(out, ref);
  free(ref);
  free(out);
  world_free(&w);
}

/* The guest's monotonic clock travels as host state: a receiver continues from
 * the saved value plus the wall-clock time the migration took. With the saved
 * clock moved 1000 s ahead and the send time 500 s back (as if the transfer had
 * taken 500 s), the program on edge sees 1500 s elapsed since it read the
 * clock on cloud. */
static void test_clock_continues(void **state) {
  (void)state;
  world w;
  world_init(&w, "\"clock\"");
  kafu_rt_result res;
  kafu_err err = {0};
  assert_int_equal(kafu_runtime_run(w.rt[0], &res, &err), 0);
  assert_int_equal(res.status, KAFU_RT_MIGRATED);
  kafu_buf b = {0};
  assert_int_equal(kafu_runtime_encode(w.rt[0], 0, buf_write, &b, NULL, &err), 0);
  uint8_t *mem = NULL;
  kafu_snap_decoder_opts dopts = {.memory = scratch_memory, .memory_ctx = &mem};
  kafu_snapshot s;
  assert_int_equal(kafu_snap_decode_buf(b.data, b.len, &dopts, &s, NULL, &err), 0);
  kafu_snap_global *mono = NULL, *sent = NULL, *cpu = NULL;
  for (uint32_t i = 0; i < s.nglobals; i++) {
    if (!strcmp(s.globals[i].name, "kafu:monotonic_ns")) mono = &s.globals[i];
    if (!strcmp(s.globals[i].name, "kafu:realtime_ns")) sent = &s.globals[i];
    if (!strcmp(s.globals[i].name, "kafu:cputime_ns")) cpu = &s.globals[i];
  }
  assert_non_null(mono);
  assert_non_null(sent);
  assert_non_null(cpu);
  assert_int_equal(mono->type, KAFU_SNAP_VAL_I64);
  mono->bits += 1000ull * 1000000000ull;
  sent->bits -= 500ull * 1000000000ull;
  /* as if the sending node's process had used 300 s more CPU than this one:
   * the guest's CPU clock continues from the saved value, not this process's */
  cpu->bits += 300ull * 1000000000ull;
  b.len = 0;
  assert_int_equal(kafu_snap_encode_buf(&s, NULL, &b, NULL, &err), 0);
  kafu_snapshot_clear(&s);
  free(mem);
  assert_int_equal(deliver(&w, 1, &b, &err), 0);
  kafu_buf_free(&b);
  kafu_runtime_sent(w.rt[0], 0.0);
  assert_int_equal(kafu_runtime_resume(w.rt[1], &res, &err), 0);
  while (res.status == KAFU_RT_MIGRATED) hop(&w, &res);
  assert_int_equal(res.status, KAFU_RT_FINISHED);
  char *out = program_output(&w);
  assert_non_null(strstr(out, "clock: elapsed 1500 s, monotonic"));
  assert_non_null(strstr(out, "cpu: elapsed 300 s, monotonic"));
  free(out);
  world_free(&w);
}

int main(void) {
  kafu_log_set_level(KAFU_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_three_nodes_walk),
      cmocka_unit_test(test_refuses_bad_snapshots),
      cmocka_unit_test(test_refused_snapshot_changes_nothing),
      cmocka_unit_test(test_clock_continues),
      cmocka_unit_test(test_entry_checkpoints),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

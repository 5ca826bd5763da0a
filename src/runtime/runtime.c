/*
 * runtime.c — one node's migration logic (see include/kafu/runtime.h).
 *
 * The whole protocol lives in on_migration_point(): it keeps the migration
 * stack exact for every annotated call (so nesting and recursion return to the
 * node that made the matching call), and when execution must move it starts an
 * Asyncify unwind. Everything else is capture (after `_start` returned with the
 * unwind complete) and restore (memory + globals + fds, then a rewind).
 *
 * Invariant that makes deltas safe in NODE mode: while this node is not
 * running the program, its instance memory is exactly the image recorded in
 * rt->image (the image it last sent or received). Only kafu_runtime_encode()
 * and the decoder change either, and they change both together.
 */
#include "kafu/runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu/wasm.h"

/* Host state travels in the snapshot's globals list under names no wasm export
 * of Snapify's can have (':'): the guest's monotonic clock at the checkpoint
 * and the sender's wall clock then (ns). The receiver continues the guest's
 * monotonic clock from the saved value plus the wall-clock time the migration
 * took (kafu_wasi_monotonic_resume), so it neither jumps to this host's clock
 * nor hides the migration's duration. */
#define HOST_STATE_PREFIX "kafu:"
#define HOST_MONOTONIC "kafu:monotonic_ns"
#define HOST_REALTIME "kafu:realtime_ns"

static uint64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* share of memory pages (%) a received snapshot must write before the write
 * protection is dropped in bulk (see dirty_before_decode) */
#define DIRTY_RELEASE_PCT 15
/* receiving: runs this many pages apart share one UFFDIO_WRITEPROTECT; shorter
 * ranges than WP_MIN_PAGES are left to fault (see decoder_runs) */
#define WP_GAP_PAGES 4
#define WP_MIN_PAGES 2

#define ASYNCIFY_NORMAL 0
#define ASYNCIFY_UNWINDING 1
#define ASYNCIFY_REWINDING 2

struct kafu_runtime {
  kafu_runtime_opts o;
  const kafu_config *cfg;
  kafu_engine_opts eopts;
  kafu_module *mod;
  kafu_meta meta;
  char **argv; /* guest argv: module name + app.args */
  int argc;
  kafu_preopen preopen;
  kafu_wasi *wasi;
  kafu_instance *inst;
  char self[64]; /* this node (NODE mode) */
  char cur[64];  /* node the program currently runs on */

  /* migration stack, bottom first */
  kafu_snap_frame *frames;
  uint32_t nframes, cap;

  /* the pending migration (set by the hook, consumed by capture) */
  bool pending;
  char target[64];
  uint32_t pend_fn, pend_kind;
  uint64_t t_unwind;
  double unwind_ms;
  uint32_t asy_addr, asy_size; /* Asyncify region of the pending unwind */

  /* checkpoint for NODE mode sends */
  bool have_ckpt, image_fresh;
  kafu_snap_global *globals;
  uint32_t nglobals;
  kafu_fd_entry *fds;
  size_t nfds;
  kafu_mem_image image;
  kafu_mem_delta delta;
  double encode_ms;
  kafu_snap_stats last_stats;

  /* dirty-page tracking (NODE mode): NULL = rehash all of memory per send */
  kafu_dirty *dirty;
  uint64_t *written; /* bitmap from kafu_dirty_collect */
  /* receiving: how the decoder's pages lose their write protection (see decoder_runs) */
  bool wp_bulk;            /* $KAFU_WP_RELEASE=bulk: the old 15 % all-or-nothing rule */
  double refresh_ms;       /* image update done ahead of encoding (kafu_runtime_send_estimate) */
  uint32_t wp_gap, wp_min; /* coalesce runs this close; leave shorter ranges to fault */
  size_t written_cap; /* words */
  /* the last migration this node took part in, for kafu_runtime_last_stats */
  kafu_rt_migration_stats last;
  bool last_rewind_pending; /* receiver: rewind_ms still to be filled */
  /* the decoder kafu_runtime_decoder made last: the only one that can call
   * decoder_memory in NODE mode (the server runs one receive at a time) */
  kafu_snap_decoder *recv_dec;

  /* receive side */
  kafu_snapshot recv;
  bool have_recv;
  double decode_ms, restore_ms;
  uint64_t t_rewind;

  uint64_t mig_in, mig_out;
  bool rewound; /* the hook saw the rewind complete */

  /* VERIFY: the event of the hop being rewound, written once the rewind is
   * done (so it carries rewind_ms) */
  bool ev_pending;
  kafu_rt_migration_stats ev_stats;
  char ev_from[64];
};

/* ---- small helpers ---------------------------------------------------------- */

/* config.h's compression setting in snapshot.h's terms */
static kafu_snap_comp snap_compression(const kafu_config *cfg) {
  switch (cfg->migration.compression) {
    case KAFU_COMPRESSION_NONE: return KAFU_SNAP_COMP_NONE;
    case KAFU_COMPRESSION_ZSTD: return KAFU_SNAP_COMP_ZSTD;
    default: return KAFU_SNAP_COMP_LZ4;
  }
}

static const kafu_meta_func *meta_func(const kafu_runtime *rt, uint32_t fn_id) {
  for (uint32_t i = 0; i < rt->meta.nfuncs; i++)
    if (rt->meta.funcs[i].fn_id == fn_id) return &rt->meta.funcs[i];
  return NULL;
}

static const char *fn_name(const kafu_runtime *rt, uint32_t fn_id) {
  const kafu_meta_func *f = meta_func(rt, fn_id);
  return f && f->name ? f->name : "?";
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void event_head_at(kafu_runtime *rt, const char *type, const char *node);
static void event_head(kafu_runtime *rt, const char *type) {
  event_head_at(rt, type, rt->o.mode == KAFU_RT_NODE ? rt->self : rt->cur);
}

static void event_head_at(kafu_runtime *rt, const char *type, const char *node) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  fprintf(rt->o.events, "{\"type\":\"%s\",\"time_ns\":%" PRIu64 ",\"node\":", type,
          (uint64_t)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec));
  json_str(rt->o.events, node);
}

/* A migration event is recorded by (and names as "node") the sending node. */
static void event_migration(kafu_runtime *rt, const char *from, const char *to, uint32_t fn_id, uint32_t kind,
                            const kafu_rt_migration_stats *st) {
  if (!rt->o.events) return;
  event_head_at(rt, "migration", from);
  fputs(",\"from\":", rt->o.events);
  json_str(rt->o.events, from);
  fputs(",\"to\":", rt->o.events);
  json_str(rt->o.events, to);
  fprintf(rt->o.events, ",\"kind\":\"%s\",\"function\":", kind == KAFU_MIG_ENTER ? "enter" : "exit");
  json_str(rt->o.events, fn_name(rt, fn_id));
  fprintf(rt->o.events, ",\"fn_id\":%u", fn_id);
  if (st)
    fprintf(
        rt->o.events,
        ",\"unwind_ms\":%.3f,\"encode_ms\":%.3f,\"transfer_ms\":%.3f,\"decode_ms\":%.3f,\"restore_ms\":%.3f,"
        "\"rewind_ms\":%.3f,\"raw_bytes\":%" PRIu64 ",\"wire_bytes\":%" PRIu64 ",\"memory_bytes\":%" PRIu64
        ",\"delta\":%s",
        st->unwind_ms, st->encode_ms, st->transfer_ms, st->decode_ms, st->restore_ms, st->rewind_ms,
        st->raw_bytes, st->wire_bytes, st->memory_size, st->delta ? "true" : "false");
  fputs("}\n", rt->o.events);
  fflush(rt->o.events);
}

static void event_simple(kafu_runtime *rt, const char *type, const kafu_rt_result *res) {
  if (!rt->o.events) return;
  event_head(rt, type);
  if (res) {
    static const char *names[] = {"finished", "exited", "trapped", "migrated", "failed"};
    fprintf(rt->o.events, ",\"status\":\"%s\",\"exit_code\":%d", names[res->status], res->exit_code);
    if (res->message[0]) {
      fputs(",\"message\":", rt->o.events);
      json_str(rt->o.events, res->message);
    }
  }
  fputs("}\n", rt->o.events);
  fflush(rt->o.events);
}

static void frames_clear(kafu_runtime *rt) {
  for (uint32_t i = 0; i < rt->nframes; i++) free(rt->frames[i].caller_node);
  rt->nframes = 0;
}

static void ckpt_clear(kafu_runtime *rt) {
  for (uint32_t i = 0; i < rt->nglobals; i++) free(rt->globals[i].name);
  free(rt->globals);
  rt->globals = NULL;
  rt->nglobals = 0;
  kafu_fd_entries_free(rt->fds, rt->nfds);
  rt->fds = NULL;
  rt->nfds = 0;
  rt->have_ckpt = false;
  rt->image_fresh = false;
}

/* ---- WASI + instance ---------------------------------------------------------- */

static void on_migration_point(void *ctx, kafu_instance *inst, uint32_t fn_id, uint32_t kind);

static int make_wasi(kafu_runtime *rt, kafu_wasi **out, kafu_err *err) {
  kafu_wasi_config wc = {0};
  wc.argc = rt->argc;
  wc.argv = rt->argv;
  wc.preopens = rt->preopen.host_path ? &rt->preopen : NULL;
  wc.npreopens = rt->preopen.host_path ? 1 : 0;
  wc.stdout_fd = rt->o.stdout_fd;
  wc.stderr_fd = rt->o.stderr_fd;
  return kafu_wasi_new(&wc, out, err);
}

static kafu_host host_of(kafu_runtime *rt, kafu_wasi *w) {
  kafu_host h = {.wasi = w, .migration_point = on_migration_point, .ctx = rt};
  return h;
}

/* A fresh instance with a fresh WASI context (replacing the current ones). */
static int fresh_instance(kafu_runtime *rt, kafu_err *err) {
  kafu_wasi *w = NULL;
  kafu_instance *inst = NULL;
  int rc = make_wasi(rt, &w, err);
  if (rc) return rc;
  kafu_host h = host_of(rt, w);
  rc = kafu_instance_new(rt->mod, &h, &inst, err);
  if (rc) {
    kafu_wasi_free(w);
    return rc;
  }
  if (rt->inst) kafu_instance_free(rt->inst);
  if (rt->wasi) kafu_wasi_free(rt->wasi);
  rt->inst = inst;
  rt->wasi = w;
  return 0;
}

/* ---- dirty-page tracking ---------------------------------------------------------- */

/* NODE mode keeps one instance (and one memory reservation) for its whole
 * life, so the tracker is registered once. Any failure = hashing fallback. */
static void dirty_open(kafu_runtime *rt) {
  const char *mode = kafu_dirty_env_mode();
  if (!strcmp(mode, "hash")) {
    kafu_debug("node %s: dirty pages found by hashing ($KAFU_DIRTY_TRACKING=hash)", rt->self);
    return;
  }
  uint64_t size = 0;
  uint8_t *base = kafu_instance_memory(rt->inst, &size);
  uint64_t span = (uint64_t)kafu_instance_memory_max_pages(rt->inst) * KAFU_WASM_PAGE;
  kafu_err e = {0};
  if (!base || !span || kafu_dirty_open(base, span, &rt->dirty, &e)) {
    rt->dirty = NULL;
    kafu_debug("node %s: dirty pages found by hashing (%s)", rt->self, base ? e.msg : "no memory");
    return;
  }
  kafu_debug("node %s: dirty pages tracked with userfaultfd write-protection", rt->self);
  /* receive side; the environment overrides are for benchmarking only */
  const char *v = getenv("KAFU_WP_RELEASE");
  rt->wp_bulk = v && !strcmp(v, "bulk");
  rt->wp_gap = (v = getenv("KAFU_WP_GAP")) && *v ? (uint32_t)atoi(v) : WP_GAP_PAGES;
  rt->wp_min = (v = getenv("KAFU_WP_MIN")) && *v ? (uint32_t)atoi(v) : WP_MIN_PAGES;
}

/* Collect the pages written since the last collect into rt->written (NULL on
 * return = unknown: hash everything). Re-arms the tracking. */
static const uint64_t *dirty_collect(kafu_runtime *rt, uint64_t size) {
  if (!rt->dirty) return NULL;
  size_t words = (size_t)((size / KAFU_SNAP_PAGE + 63) / 64);
  if (words > rt->written_cap) {
    uint64_t *w = realloc(rt->written, words * sizeof *w);
    if (!w) goto off;
    rt->written = w;
    rt->written_cap = words;
  }
  kafu_err e = {0};
  if (kafu_dirty_collect(rt->dirty, size, rt->written, &e) == 0) return rt->written;
  kafu_warn("node %s: %s; finding dirty pages by hashing from now on", rt->self, e.msg);
off:
  kafu_dirty_close(rt->dirty);
  rt->dirty = NULL;
  return NULL;
}

const char *kafu_runtime_dirty_tracking(const kafu_runtime *rt) { return rt->dirty ? "uffd" : "hash"; }

void kafu_runtime_last_stats(const kafu_runtime *rt, kafu_rt_migration_stats *out) { *out = rt->last; }

/* ---- creation ------------------------------------------------------------------ */

int kafu_runtime_new(const kafu_runtime_opts *opts, kafu_runtime **out, kafu_err *err) {
  *out = NULL;
  if (!opts || !opts->cfg || !opts->wasm)
    return kafu_err_set(err, KAFU_EINVAL, "runtime: missing config or module");
  const kafu_config *cfg = opts->cfg;
  if (cfg->nnodes == 0) return kafu_err_set(err, KAFU_EINVAL, "%s: no nodes", cfg->config_path);
  kafu_runtime *rt = calloc(1, sizeof *rt);
  if (!rt) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  rt->o = *opts;
  rt->cfg = cfg;
  kafu_mem_image_init(&rt->image);
  const char *self = opts->self ? opts->self : cfg->nodes[0].id;
  if (kafu_config_node_index(cfg, self) < 0) {
    kafu_err_set(err, KAFU_EINVAL, "%s: node '%s' is not in the config", cfg->config_path, self);
    goto fail;
  }
  snprintf(rt->self, sizeof rt->self, "%s", self);
  snprintf(rt->cur, sizeof rt->cur, "%s", cfg->nodes[0].id);

  /* what Snapify recorded: function ids -> names -> destinations */
  kafu_wasm_module wm;
  int rc = kafu_wasm_parse(opts->wasm, opts->wasm_len, &wm, err);
  if (rc) {
    kafu_err_prefix(err, "%s", kafu_config_app_location(cfg));
    goto fail;
  }
  rc = kafu_wasm_read_meta(&wm, &rt->meta, err);
  kafu_wasm_module_free(&wm);
  if (rc < 0) {
    kafu_err_prefix(err, "%s", kafu_config_app_location(cfg));
    goto fail;
  }
  if (rc == 0 || !(rt->meta.flags & KAFU_META_FLAG_SNAPIFIED)) {
    kafu_err_set(err, KAFU_EINVAL,
                 "%s: module is not Snapified (no kafu.meta section); build it with `kafu cc` or run "
                 "`kafu snapify` on it",
                 kafu_config_app_location(cfg));
    goto fail;
  }
  if (rt->meta.nfuncs) {
    const char **dests = calloc(rt->meta.nfuncs, sizeof *dests);
    const char **fns = calloc(rt->meta.nfuncs, sizeof *fns);
    for (uint32_t i = 0; dests && fns && i < rt->meta.nfuncs; i++) {
      dests[i] = rt->meta.funcs[i].dest;
      fns[i] = rt->meta.funcs[i].name;
    }
    rc = dests && fns ? kafu_config_check_destinations_fn(cfg, dests, fns, rt->meta.nfuncs, err)
                      : kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    free(dests);
    free(fns);
    if (rc) goto fail;
  }

  /* guest argv: module name, then app.args */
  const char *loc = kafu_config_app_location(cfg);
  rt->argc = (int)cfg->app.nargs + 1;
  rt->argv = calloc((size_t)rt->argc + 1, sizeof *rt->argv);
  if (!rt->argv) {
    kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    goto fail;
  }
  rt->argv[0] = strdup(kafu_path_basename(loc));
  for (size_t i = 0; i < cfg->app.nargs; i++) rt->argv[i + 1] = strdup(cfg->app.args[i]);
  if (cfg->app.preopened_dir) {
    rt->preopen.host_path = cfg->app.preopened_dir;
    rt->preopen.guest_path = ".";
  }

  rt->eopts = opts->engine ? *opts->engine : (kafu_engine_opts){.progress = -1};
  if (!rt->eopts.name) rt->eopts.name = kafu_path_basename(loc);
  rc = kafu_module_load(opts->wasm, opts->wasm_len, &rt->eopts, &rt->mod, err);
  if (rc) goto fail;
  rc = fresh_instance(rt, err);
  if (rc) {
    kafu_err_prefix(err, "node %s", rt->self);
    goto fail;
  }
  if (rt->o.mode == KAFU_RT_NODE && rt->cfg->migration.mode != KAFU_MEMORY_MIGRATION_FULL) dirty_open(rt);
  *out = rt;
  return 0;
fail:
  kafu_runtime_free(rt);
  return err ? err->code : -1;
}

void kafu_runtime_free(kafu_runtime *rt) {
  if (!rt) return;
  ckpt_clear(rt);
  frames_clear(rt);
  free(rt->frames);
  if (rt->have_recv) kafu_snapshot_clear(&rt->recv);
  kafu_mem_image_free(&rt->image);
  kafu_mem_delta_free(&rt->delta);
  kafu_dirty_close(rt->dirty);
  free(rt->written);
  if (rt->inst) kafu_instance_free(rt->inst);
  if (rt->wasi) kafu_wasi_free(rt->wasi);
  if (rt->mod) kafu_module_free(rt->mod);
  kafu_meta_free(&rt->meta);
  for (int i = 0; rt->argv && i < rt->argc; i++) free(rt->argv[i]);
  free(rt->argv);
  free(rt);
}

const char *kafu_runtime_self(const kafu_runtime *rt) { return rt->self; }
const kafu_module *kafu_runtime_module(const kafu_runtime *rt) { return rt->mod; }
uint64_t kafu_runtime_image_id(const kafu_runtime *rt) { return rt->image.id; }
const char *kafu_runtime_received_from(const kafu_runtime *rt) {
  return rt->have_recv ? rt->recv.source_node : NULL;
}
uint64_t kafu_runtime_migrations_in(const kafu_runtime *rt) { return rt->mig_in; }
uint64_t kafu_runtime_migrations_out(const kafu_runtime *rt) { return rt->mig_out; }

/* ---- the migration point ---------------------------------------------------------- */

/* Address of the Asyncify data region; reserves it by growing memory when the
 * module has none (docs/abi.md). Returns 0 on failure (after aborting). */
static uint32_t asyncify_region(kafu_runtime *rt, kafu_instance *inst, uint32_t *size) {
  uint64_t v = 0, sz = 0;
  kafu_err e;
  if (kafu_instance_global_get(inst, "kafu_asyncify_buf_size", &sz, &e) ||
      kafu_instance_global_get(inst, "kafu_asyncify_buf_addr", &v, &e))
    kafu_instance_abort(inst, "node %s: module lacks Snapify exports: %s", rt->cur, e.msg);
  if (sz < 64)
    kafu_instance_abort(inst, "node %s: Asyncify buffer too small (%u bytes)", rt->cur, (unsigned)sz);
  if (v == 0) {
    uint32_t old = 0;
    uint32_t pages = (uint32_t)((sz + 65535) / 65536);
    if (kafu_instance_memory_grow(inst, pages, &old, &e))
      kafu_instance_abort(inst, "node %s: cannot reserve the Asyncify buffer: %s", rt->cur, e.msg);
    v = (uint64_t)old * 65536;
    if (kafu_instance_global_set(inst, "kafu_asyncify_buf_addr", v, &e))
      kafu_instance_abort(inst, "node %s: %s", rt->cur, e.msg);
  }
  *size = (uint32_t)sz;
  return (uint32_t)v;
}

static void on_migration_point(void *ctx, kafu_instance *inst, uint32_t fn_id, uint32_t kind) {
  kafu_runtime *rt = ctx;
  int st = kafu_instance_asyncify_state(inst);
  if (st == ASYNCIFY_REWINDING) {
    /* resumed: this is the same call that unwound on the other side */
    kafu_instance_asyncify_stop_rewind(inst);
    rt->rewound = true;
    if (rt->last_rewind_pending) {
      rt->last.rewind_ms = kafu_ms_since(rt->t_rewind);
      rt->last_rewind_pending = false;
    }
    if (rt->ev_pending) {
      rt->ev_stats.rewind_ms = kafu_ms_since(rt->t_rewind);
      rt->ev_pending = false;
      event_migration(rt, rt->ev_from, rt->cur, fn_id, kind, &rt->ev_stats);
    }
    return;
  }
  const kafu_meta_func *f = meta_func(rt, fn_id);
  if (!f) kafu_instance_abort(inst, "node %s: migration point with unknown function id %u", rt->cur, fn_id);
  const char *target = NULL;
  if (kind == KAFU_MIG_ENTER) {
    if (rt->nframes == rt->cap) {
      uint32_t nc = rt->cap ? rt->cap * 2 : 16;
      kafu_snap_frame *nf = realloc(rt->frames, nc * sizeof *nf);
      if (!nf) kafu_instance_abort(inst, "node %s: out of memory (migration stack)", rt->cur);
      rt->frames = nf;
      rt->cap = nc;
    }
    bool migrate = strcmp(f->dest, rt->cur) != 0;
    rt->frames[rt->nframes++] = (kafu_snap_frame){fn_id, strdup(rt->cur), migrate};
    if (migrate) target = f->dest;
  } else if (kind == KAFU_MIG_EXIT) {
    if (rt->nframes == 0 || rt->frames[rt->nframes - 1].fn_id != fn_id)
      kafu_instance_abort(inst, "node %s: migration stack mismatch at exit of %s", rt->cur, f->name);
    kafu_snap_frame fr = rt->frames[--rt->nframes];
    if (fr.migrated) {
      snprintf(rt->target, sizeof rt->target, "%s", fr.caller_node);
      target = rt->target;
    }
    free(fr.caller_node);
  } else {
    kafu_instance_abort(inst, "node %s: migration point with bad kind %u", rt->cur, kind);
  }
  if (!target) return;

  kafu_info("Migration %s -> %s (%s %s)", rt->cur, target,
            kind == KAFU_MIG_ENTER ? "Entering" : "Returning from", f->name);
  if (rt->o.mode == KAFU_RT_EMULATE) {
    event_migration(rt, rt->cur, target, fn_id, kind, NULL);
    snprintf(rt->cur, sizeof rt->cur, "%s", target);
    return;
  }
  if (target != rt->target) snprintf(rt->target, sizeof rt->target, "%s", target);
  rt->pending = true;
  rt->pend_fn = fn_id;
  rt->pend_kind = kind;
  rt->t_unwind = kafu_now_ns();
  uint32_t size = 0;
  uint32_t addr = asyncify_region(rt, inst, &size);
  uint64_t msize = 0;
  uint8_t *mem = kafu_instance_memory(inst, &msize);
  if ((uint64_t)addr + size > msize)
    kafu_instance_abort(inst, "node %s: Asyncify buffer [%u, +%u) outside memory", rt->cur, addr, size);
  uint32_t hdr[2] = {addr + 8, addr + size};
  memcpy(mem + addr, hdr, sizeof hdr);
  rt->asy_addr = addr;
  rt->asy_size = size;
  kafu_instance_asyncify_start_unwind(inst, addr);
}

/* ---- capture / restore -------------------------------------------------------------- */

static int capture(kafu_runtime *rt, kafu_err *err) {
  ckpt_clear(rt);
  size_t n = kafu_module_export_count(rt->mod);
  rt->globals = calloc(n + 2, sizeof *rt->globals); /* + the host-state entries below */
  if (!rt->globals) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const kafu_export *x = kafu_module_export_at(rt->mod, i);
    if (x->kind != KAFU_EXTERN_GLOBAL || !x->is_mutable) continue;
    uint64_t v;
    int rc = kafu_instance_global_get_at(rt->inst, i, &v, err);
    if (rc) return rc;
    kafu_snap_global *g = &rt->globals[rt->nglobals++];
    g->name = strdup(x->name);
    g->type = (uint8_t)x->type; /* engine and snapshot share the i32/i64/f32/f64 numbering */
    g->bits = v;
  }
  /* host state carried as pseudo-globals (HOST_STATE_PREFIX) */
  kafu_snap_global *h = &rt->globals[rt->nglobals];
  h[0] = (kafu_snap_global){strdup(HOST_MONOTONIC), KAFU_SNAP_VAL_I64, kafu_wasi_monotonic_now(rt->wasi)};
  h[1] = (kafu_snap_global){strdup(HOST_REALTIME), KAFU_SNAP_VAL_I64, realtime_ns()};
  rt->nglobals += 2;
  int rc = kafu_wasi_fd_export(rt->wasi, &rt->fds, &rt->nfds, err);
  if (rc) return kafu_err_prefix(err, "node %s: saving open files", rt->cur);
  rt->have_ckpt = true;
  return 0;
}

static void fill_snapshot(kafu_runtime *rt, kafu_snapshot *s) {
  memset(s, 0, sizeof *s);
  memcpy(s->module_sha256, kafu_module_sha256(rt->mod), KAFU_SHA256_LEN);
  s->source_node = rt->cur;
  s->target_node = rt->target;
  s->resume_fn_id = rt->pend_fn;
  s->resume_kind = (uint8_t)rt->pend_kind;
  s->frames = rt->frames;
  s->nframes = rt->nframes;
  s->globals = rt->globals;
  s->nglobals = rt->nglobals;
  s->fds = rt->fds;
  s->nfds = (uint32_t)rt->nfds;
  s->memory = kafu_instance_memory(rt->inst, &s->memory_size);
}

/* Before the decoder writes a large share of memory, drop the write
 * protection in one walk: each protected page would otherwise cost a fault
 * (~0.7 us here) against ~0.1 us per page for the walk (measured: the walk
 * costs more than it saves below ~15 % of the pages). Tracking re-arms after
 * decoding either way. */
static void dirty_before_decode(kafu_runtime *rt, uint64_t cur) {
  if (!rt->dirty || !rt->wp_bulk || !rt->recv_dec || !cur) return;
  uint64_t pages = kafu_snap_decoder_pages(rt->recv_dec, NULL);
  if (pages * 100 < (cur / KAFU_SNAP_PAGE) * DIRTY_RELEASE_PCT) return;
  kafu_err e = {0};
  if (kafu_dirty_release(rt->dirty, cur, &e)) {
    kafu_warn("node %s: %s; finding dirty pages by hashing from now on", rt->self, e.msg);
    kafu_dirty_close(rt->dirty);
    rt->dirty = NULL;
  }
}

static void wp_release(kafu_runtime *rt, uint64_t first, uint64_t n) {
  if (!rt->dirty || n < rt->wp_min) return;
  kafu_err e = {0};
  if (kafu_dirty_release_range(rt->dirty, first, n, &e)) {
    kafu_warn("node %s: %s; finding dirty pages by hashing from now on", rt->self, e.msg);
    kafu_dirty_close(rt->dirty);
    rt->dirty = NULL;
  }
}

/* Before the decoder writes a chunk's runs, drop the write protection of
 * exactly those pages, one UFFDIO_WRITEPROTECT per coalesced range, instead
 * of taking a fault (~0.7 us) per page. Runs at most wp_gap pages apart are
 * merged: the gap pages just count as written at the next collect, which
 * finish_receive discards anyway. Ranges shorter than wp_min pages are left
 * to fault: one ioctl costs about as much as a fault or two. */
static void decoder_runs(void *ctx, const uint32_t *runs, uint32_t n) {
  kafu_runtime *rt = ctx;
  if (!rt->dirty || rt->wp_bulk || !n) return;
  uint64_t f = runs[0], e = f + runs[1];
  for (uint32_t i = 1; i < n; i++) {
    uint64_t rf = runs[2 * i], rn = runs[2 * i + 1];
    if (rf - e <= rt->wp_gap) {
      e = rf + rn;
      continue;
    }
    wp_release(rt, f, e - f);
    f = rf, e = rf + rn;
  }
  wp_release(rt, f, e - f);
}

static uint8_t *decoder_memory(void *ctx, uint64_t size, kafu_err *err) {
  kafu_runtime *rt = ctx;
  uint64_t cur = 0;
  uint8_t *base = kafu_instance_memory(rt->inst, &cur);
  dirty_before_decode(rt, cur);
  if (size < cur) {
    kafu_err_set(err, KAFU_EINVAL,
                 "snapshot memory (%" PRIu64 " bytes) is smaller than the instance's (%" PRIu64 ")", size,
                 cur);
    return NULL;
  }
  if (size > cur) {
    if (kafu_instance_memory_grow(rt->inst, (uint32_t)((size - cur) / 65536), NULL, err)) return NULL;
    base = kafu_instance_memory(rt->inst, &cur);
  }
  return base;
}

static int decoder_on_meta(void *ctx, const kafu_snapshot *meta, kafu_err *err) {
  kafu_runtime *rt = ctx;
  if (rt->o.mode == KAFU_RT_NODE && (!meta->target_node || strcmp(meta->target_node, rt->self) != 0))
    return kafu_err_set(err, KAFU_EINVAL, "snapshot is addressed to node '%s', this is node '%s'",
                        meta->target_node ? meta->target_node : "", rt->self);
  return 0;
}

static int validate_state(kafu_runtime *rt, const kafu_snapshot *s, const char *here, kafu_err *err,
                          bool *have_mono, uint64_t *mono, uint64_t *sent_at);

static int decoder_on_state(void *ctx, const kafu_snapshot *state, kafu_err *err) {
  kafu_runtime *rt = ctx;
  bool hm;
  uint64_t m, t;
  return validate_state(rt, state, rt->o.mode == KAFU_RT_NODE ? rt->self : rt->cur, err, &hm, &m, &t);
}

static int new_decoder(kafu_runtime *rt, kafu_mem_image *held, kafu_snap_decoder **out, kafu_err *err) {
  kafu_snap_decoder_opts d = {0};
  d.expected_module_sha256 = kafu_module_sha256(rt->mod);
  d.on_meta = decoder_on_meta;
  d.on_meta_ctx = rt;
  d.on_state = decoder_on_state;
  d.on_state_ctx = rt;
  d.memory = decoder_memory;
  d.memory_ctx = rt;
  d.held = held;
  d.on_runs = decoder_runs;
  d.on_runs_ctx = rt;
  return kafu_snap_decoder_new(out, &d, err);
}

/* The migration stack and resume point of a decoded snapshot must make sense
 * for this module and config: every frame a function of kafu.meta called from
 * a node of the config (an exit goes back there), the resume point a known
 * function. Checked before anything is restored. */
static int check_stack(kafu_runtime *rt, const kafu_snapshot *s, const char *here, kafu_err *err) {
  if (!meta_func(rt, s->resume_fn_id) || s->resume_kind > KAFU_MIG_EXIT)
    return kafu_err_set(err, KAFU_EFORMAT, "node %s: snapshot resumes at unknown function id %u (kind %u)",
                        here, s->resume_fn_id, s->resume_kind);
  for (uint32_t i = 0; i < s->nframes; i++) {
    const kafu_snap_frame *f = &s->frames[i];
    if (!meta_func(rt, f->fn_id))
      return kafu_err_set(err, KAFU_EFORMAT,
                          "node %s: snapshot's migration stack frame %u has unknown function id %u", here, i,
                          f->fn_id);
    if (!f->caller_node || kafu_config_node_index(rt->cfg, f->caller_node) < 0)
      return kafu_err_set(
          err, KAFU_EFORMAT,
          "node %s: snapshot's migration stack frame %u (%s) was called from node '%s', which is not "
          "in the config",
          here, i, fn_name(rt, f->fn_id), f->caller_node ? f->caller_node : "");
  }
  return 0;
}

/* Everything in a decoded snapshot except memory must make sense for this
 * module and config before anything is restored (check_stack + globals).
 * Called by the decoder before it touches memory, and again by restore. */
static int validate_state(kafu_runtime *rt, const kafu_snapshot *s, const char *here, kafu_err *err,
                          bool *have_mono, uint64_t *mono, uint64_t *sent_at) {
  int vrc = check_stack(rt, s, here, err);
  if (vrc) return vrc;
  /* Validate every global before changing anything: each one a mutable
   * exported global of this module with the same type, each exactly once, and
   * all of them present — a snapshot that would leave a global at this node's
   * stale value, or cut an i64 to 32 bits, is refused. */
  size_t nexp = kafu_module_export_count(rt->mod), want = 0;
  for (size_t i = 0; i < nexp; i++) {
    const kafu_export *x = kafu_module_export_at(rt->mod, i);
    want += x->kind == KAFU_EXTERN_GLOBAL && x->is_mutable;
  }
  size_t got = 0;
  for (uint32_t i = 0; i < s->nglobals; i++) {
    const kafu_snap_global *g = &s->globals[i];
    if (!strncmp(g->name, HOST_STATE_PREFIX, strlen(HOST_STATE_PREFIX))) {
      if (g->type == KAFU_SNAP_VAL_I64 && !strcmp(g->name, HOST_MONOTONIC)) {
        *have_mono = true;
        *mono = g->bits;
      } else if (g->type == KAFU_SNAP_VAL_I64 && !strcmp(g->name, HOST_REALTIME)) {
        *sent_at = g->bits;
      } else {
        return kafu_err_set(err, KAFU_EFORMAT, "node %s: snapshot carries unknown host state '%s'", here,
                            g->name);
      }
      continue;
    }
    const kafu_export *x = kafu_module_find_export(rt->mod, g->name);
    if (!x || x->kind != KAFU_EXTERN_GLOBAL || !x->is_mutable)
      return kafu_err_set(err, KAFU_EFORMAT, "node %s: snapshot carries global '%s', not a mutable global of "
                          "this module", here, g->name);
    if ((unsigned)x->type != g->type)
      return kafu_err_set(err, KAFU_EFORMAT, "node %s: snapshot global '%s' has type %u, the module's has %u",
                          here, g->name, g->type, (unsigned)x->type);
    for (uint32_t j = 0; j < i; j++)
      if (!strcmp(s->globals[j].name, g->name))
        return kafu_err_set(err, KAFU_EFORMAT, "node %s: snapshot carries global '%s' twice", here, g->name);
    got++;
  }
  if (got != want)
    return kafu_err_set(err, KAFU_EFORMAT,
                        "node %s: snapshot carries %zu of the module's %zu mutable globals", here, got, want);
  return 0;
}

/* After a successful decode into rt->inst: restore globals, fds, stack. */
static int restore_state(kafu_runtime *rt, kafu_snapshot *s, kafu_err *err) {
  uint64_t t0 = kafu_now_ns();
  const char *here = rt->o.mode == KAFU_RT_NODE ? rt->self : rt->cur;
  bool have_mono = false;
  uint64_t mono = 0, sent_at = 0;
  int vrc = validate_state(rt, s, here, err, &have_mono, &mono, &sent_at);
  if (vrc) return vrc;
  /* a fresh WASI context, then the program's open files reopened by path */
  kafu_wasi *w = NULL;
  int rc = make_wasi(rt, &w, err);
  if (rc) return rc;
  /* the guest's CLOCK_MONOTONIC continues from where it was on the sender plus
   * the migration's wall-clock duration (0 if the clocks disagree), whatever
   * this host's monotonic clock says; it never goes backwards */
  if (have_mono) {
    uint64_t now = realtime_ns();
    kafu_wasi_monotonic_resume(w, mono + (sent_at && now > sent_at ? now - sent_at : 0));
  }
  rc = kafu_wasi_fd_restore(w, s->fds, s->nfds, err);
  if (rc) {
    kafu_wasi_free(w);
    return kafu_err_prefix(err, "node %s: restoring open files", here);
  }
  for (uint32_t i = 0; i < s->nglobals; i++) {
    const kafu_snap_global *g = &s->globals[i];
    if (!strncmp(g->name, HOST_STATE_PREFIX, strlen(HOST_STATE_PREFIX))) continue;
    rc = kafu_instance_global_set(rt->inst, g->name, g->bits, err);
    if (rc) {
      kafu_wasi_free(w);
      return kafu_err_prefix(err, "node %s: restoring global %s", here, g->name);
    }
  }
  kafu_host h = host_of(rt, w);
  kafu_instance_set_host(rt->inst, &h);
  kafu_wasi_free(rt->wasi);
  rt->wasi = w;
  frames_clear(rt);
  for (uint32_t i = 0; i < s->nframes; i++) {
    if (rt->nframes == rt->cap) {
      uint32_t nc = rt->cap ? rt->cap * 2 : 16;
      while (nc < s->nframes) nc *= 2;
      kafu_snap_frame *nf = realloc(rt->frames, nc * sizeof *nf);
      if (!nf) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
      rt->frames = nf;
      rt->cap = nc;
    }
    rt->frames[rt->nframes++] = (kafu_snap_frame){
        s->frames[i].fn_id, strdup(s->frames[i].caller_node ? s->frames[i].caller_node : ""),
        s->frames[i].migrated};
  }
  rt->restore_ms = kafu_ms_since(t0);
  return 0;
}

/* ---- running ------------------------------------------------------------------------------ */

static void set_result(kafu_rt_result *res, kafu_rt_status st, int code, const char *node, const char *msg) {
  memset(res, 0, sizeof *res);
  res->status = st;
  res->exit_code = code;
  snprintf(res->node, sizeof res->node, "%s", node);
  if (msg) snprintf(res->message, sizeof res->message, "%s", msg);
}

/* After an unwind: did the saved frames run past the region's end? *used gets
 * the bytes the unwind needed (header included). */
static bool unwind_overflowed(kafu_runtime *rt, uint32_t *used) {
  uint64_t msize = 0;
  const uint8_t *mem = kafu_instance_memory(rt->inst, &msize);
  uint32_t hdr[2] = {0, 0};
  if ((uint64_t)rt->asy_addr + sizeof hdr > msize) return true;
  memcpy(hdr, mem + rt->asy_addr, sizeof hdr);
  *used = hdr[0] - rt->asy_addr;
  return hdr[0] > hdr[1] || hdr[1] != rt->asy_addr + rt->asy_size;
}

/* Begin a rewind of rt->inst and run `_start` until the program ends or leaves. */
static int run_loop(kafu_runtime *rt, bool rewind, kafu_rt_result *res, kafu_err *err);

/* VERIFY mode: checkpoint -> encode -> fresh instance -> decode -> restore. */
static int verify_hop(kafu_runtime *rt, kafu_err *err) {
  kafu_rt_migration_stats st = {.unwind_ms = rt->unwind_ms};
  int rc = capture(rt, err);
  if (rc) return rc;
  kafu_snapshot s;
  fill_snapshot(rt, &s);
  kafu_buf wire = {0};
  kafu_snap_stats es;
  kafu_snap_encode_opts eo = {0};
  eo.compression = snap_compression(rt->cfg);
  eo.force_full = true;
  uint64_t t0 = kafu_now_ns();
  rc = kafu_snap_encode_buf(&s, &eo, &wire, &es, err);
  st.encode_ms = kafu_ms_since(t0);
  ckpt_clear(rt);
  if (rc) {
    kafu_buf_free(&wire);
    return kafu_err_prefix(err, "node %s: encoding snapshot", rt->cur);
  }
  char from_copy[64];
  snprintf(from_copy, sizeof from_copy, "%s", s.source_node);
  if (rt->o.snapshot_dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%04" PRIu64 "-%s-%s.kafusnap", rt->o.snapshot_dir, rt->mig_out + 1,
             from_copy, rt->target);
    rc = kafu_write_file_atomic(path, wire.data, wire.len, err);
    if (rc) {
      kafu_buf_free(&wire);
      return kafu_err_prefix(err, "node %s: saving the snapshot", rt->cur);
    }
  }

  /* the old instance is gone from here on: only the snapshot carries state */
  rc = fresh_instance(rt, err);
  if (rc) {
    kafu_buf_free(&wire);
    return kafu_err_prefix(err, "node %s", rt->target);
  }
  kafu_snap_decoder *dec;
  t0 = kafu_now_ns();
  rc = new_decoder(rt, NULL, &dec, err);
  kafu_snapshot got = {0};
  kafu_snap_stats ds;
  if (!rc) rc = kafu_snap_decoder_feed(dec, wire.data, wire.len, err);
  if (!rc) rc = kafu_snap_decoder_finish(dec, &got, &ds, err);
  if (dec) kafu_snap_decoder_free(dec);
  st.decode_ms = kafu_ms_since(t0);
  kafu_buf_free(&wire);
  if (rc) return kafu_err_prefix(err, "node %s: snapshot rejected", rt->target);
  snprintf(rt->cur, sizeof rt->cur, "%s", got.target_node ? got.target_node : rt->target);
  rc = restore_state(rt, &got, err);
  kafu_snapshot_clear(&got);
  if (rc) return rc;
  st.restore_ms = rt->restore_ms;
  st.raw_bytes = es.raw_bytes;
  st.wire_bytes = es.wire_bytes;
  st.memory_size = es.memory_size;
  st.delta = es.delta;
  rt->ev_stats = st;
  snprintf(rt->ev_from, sizeof rt->ev_from, "%s", from_copy);
  rt->ev_pending = true; /* written by the hook when the rewind reaches it */
  rt->mig_out++;
  rt->mig_in++;
  return 0;
}

static int run_loop(kafu_runtime *rt, bool rewind, kafu_rt_result *res, kafu_err *err) {
  for (;;) {
    uint64_t asy = 0;
    kafu_err e = {0};
    if (rewind) {
      if (kafu_instance_global_get(rt->inst, "kafu_asyncify_buf_addr", &asy, &e)) {
        set_result(res, KAFU_RT_FAILED, 1, rt->cur, e.msg);
        return 0;
      }
      rt->rewound = false;
      rt->t_rewind = kafu_now_ns();
      int rc = kafu_instance_asyncify_start_rewind(rt->inst, (uint32_t)asy);
      if (rc) {
        set_result(res, KAFU_RT_FAILED, 1, rt->cur, "cannot start the rewind");
        return 0;
      }
    }
    rt->pending = false;
    kafu_outcome oc = {0};
    int rc = kafu_instance_run_start(rt->inst, &oc, &e);
    const char *node = rt->o.mode == KAFU_RT_NODE ? rt->self : rt->cur;
    if (rt->ev_pending) { /* the rewind never reached the migration point: still record the hop */
      rt->ev_pending = false;
      event_migration(rt, rt->ev_from, rt->cur, rt->pend_fn, rt->pend_kind, &rt->ev_stats);
    }
    if (rc == 0 && rt->pending) {
      if (kafu_instance_asyncify_state(rt->inst) != ASYNCIFY_UNWINDING) {
        set_result(res, KAFU_RT_FAILED, 1, node, "internal error: unwind did not reach _start");
        return 0;
      }
      /* Binaryen's unwind does not bound-check each saved frame: a stack that
       * did not fit shows only as current > end afterwards (and stop_unwind
       * traps). Memory past the region is then damaged: never ship it. */
      uint32_t used = 0;
      if (unwind_overflowed(rt, &used) || kafu_instance_asyncify_stop_unwind(rt->inst)) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "node %s: the call stack did not fit in the Asyncify buffer (%u bytes) while checkpointing "
                 "at %s %s (needs %u bytes); rebuild with a larger --kafu-stack-size=BYTES",
                 node, rt->asy_size, rt->pend_kind == KAFU_MIG_ENTER ? "the call of" : "the return from",
                 fn_name(rt, rt->pend_fn), used);
        set_result(res, KAFU_RT_TRAPPED, KAFU_EXIT_TRAP, node, msg);
        return 0;
      }
      rt->unwind_ms = kafu_ms_since(rt->t_unwind);
      if (rt->o.mode == KAFU_RT_NODE) {
        int crc = capture(rt, err);
        if (crc) {
          set_result(res, KAFU_RT_FAILED, 1, node, err->msg);
          return 0;
        }
        set_result(res, KAFU_RT_MIGRATED, 0, node, NULL);
        snprintf(res->target, sizeof res->target, "%s", rt->target);
        return 0;
      }
      int vrc = verify_hop(rt, err);
      if (vrc) {
        set_result(res, KAFU_RT_FAILED, 1, node, err->msg);
        return 0;
      }
      rewind = true;
      continue;
    }
    if (rc == 0) {
      set_result(res, KAFU_RT_FINISHED, 0, node, NULL);
      return 0;
    }
    if (rc == KAFU_EEXIT) {
      set_result(res, KAFU_RT_EXITED, (int)oc.exit_code, node, NULL);
      return 0;
    }
    if (rc == KAFU_ETRAP) {
      char msg[1024];
      if (oc.trap == KAFU_TRAP_ASYNCIFY_OVERFLOW || (rt->pending && oc.trap == KAFU_TRAP_UNREACHABLE))
        snprintf(msg, sizeof msg,
                 "node %s: the call stack did not fit in the Asyncify buffer (%u bytes) while checkpointing; "
                 "rebuild with a larger --kafu-stack-size=BYTES",
                 node, rt->meta.asyncify_buf_size);
      else
        snprintf(msg, sizeof msg, "node %s: %.900s", node, e.msg);
      set_result(res, KAFU_RT_TRAPPED, KAFU_EXIT_TRAP, node, msg);
      return 0;
    }
    set_result(res, KAFU_RT_FAILED, 1, node, e.msg);
    return 0;
  }
}

static void log_end(kafu_runtime *rt, const kafu_rt_result *res) {
  switch (res->status) {
    case KAFU_RT_FINISHED:
    case KAFU_RT_EXITED:
      kafu_info("Program finished on %s (exit code %d)", res->node, res->exit_code);
      break;
    case KAFU_RT_TRAPPED:
    case KAFU_RT_FAILED:
      kafu_error("%s", res->message);
      break;
    case KAFU_RT_MIGRATED:
      return;
  }
  event_simple(rt, "finish", res);
}

int kafu_runtime_run(kafu_runtime *rt, kafu_rt_result *res, kafu_err *err) {
  kafu_info("Program is starting on %s", rt->cur);
  event_simple(rt, "start", NULL);
  int rc = run_loop(rt, false, res, err);
  if (!rc) log_end(rt, res);
  return rc;
}

/* ---- NODE mode: send ---------------------------------------------------------------------- */

/* Bring the image (and the delta) up to date with memory, once per checkpoint. */
static int image_refresh(kafu_runtime *rt, kafu_err *err) {
  if (rt->image_fresh) return 0;
  uint64_t msize = 0;
  uint8_t *mem = kafu_instance_memory(rt->inst, &msize);
  bool full = rt->cfg->migration.mode == KAFU_MEMORY_MIGRATION_FULL;
  /* the written-page set is only a hint for an image we still hold; it must
   * be collected (re-armed) right before the update either way */
  const uint64_t *written = full ? NULL : dirty_collect(rt, msize);
  int rc = kafu_mem_image_update(&rt->image, mem, msize, written, full ? NULL : &rt->delta, err);
  if (rc) return rc;
  rt->image_fresh = true;
  return 0;
}

int kafu_runtime_send_estimate(kafu_runtime *rt, uint64_t receiver_image_id, uint64_t *raw_bytes,
                               kafu_err *err) {
  if (!rt->have_ckpt) return kafu_err_set(err, KAFU_EINVAL, "node %s: no pending checkpoint", rt->self);
  uint64_t t0 = kafu_now_ns();
  int rc = image_refresh(rt, err);
  rt->refresh_ms = kafu_ms_since(t0); /* counted in the encode phase */
  if (rc) return rc;
  /* the encoder's choice (src/snapshot/encode.c): a delta only against the
   * image the dirty set is relative to, an empty one against our own */
  const kafu_mem_delta *d = &rt->delta;
  bool full = rt->cfg->migration.mode == KAFU_MEMORY_MIGRATION_FULL;
  if (!full && receiver_image_id && d->base_id && receiver_image_id == d->base_id &&
      d->new_id == rt->image.id && d->bits)
    *raw_bytes = d->ndirty * KAFU_SNAP_PAGE;
  else if (!full && receiver_image_id && receiver_image_id == rt->image.id)
    *raw_bytes = 0;
  else
    *raw_bytes = rt->image.size;
  return 0;
}

int kafu_runtime_encode(kafu_runtime *rt, uint64_t receiver_image_id, kafu_snap_write_fn write, void *ctx,
                        kafu_snap_stats *stats, kafu_err *err) {
  if (!rt->have_ckpt) return kafu_err_set(err, KAFU_EINVAL, "node %s: no pending checkpoint", rt->self);
  uint64_t t0 = kafu_now_ns();
  bool full = rt->cfg->migration.mode == KAFU_MEMORY_MIGRATION_FULL;
  bool refreshed = !rt->image_fresh;
  int rc0 = image_refresh(rt, err);
  if (rc0) return rc0;
  if (!refreshed) t0 -= (uint64_t)(rt->refresh_ms * 1e6); /* done by kafu_runtime_send_estimate */
  rt->refresh_ms = 0;
  kafu_snapshot s;
  fill_snapshot(rt, &s);
  s.source_node = rt->self;
  kafu_snap_encode_opts eo = {0};
  eo.compression = snap_compression(rt->cfg);
  eo.image = &rt->image;
  eo.delta = full ? NULL : &rt->delta;
  eo.receiver_image_id = receiver_image_id;
  eo.force_full = full;
  int rc = kafu_snap_encode(&s, &eo, write, ctx, &rt->last_stats, err);
  rt->encode_ms = kafu_ms_since(t0);
  if (stats) *stats = rt->last_stats;
  return rc;
}

void kafu_runtime_sent(kafu_runtime *rt, double transfer_ms) {
  kafu_rt_migration_stats st = {
      .unwind_ms = rt->unwind_ms, .encode_ms = rt->encode_ms, .transfer_ms = transfer_ms};
  st.raw_bytes = rt->last_stats.raw_bytes;
  st.wire_bytes = rt->last_stats.wire_bytes;
  st.memory_size = rt->last_stats.memory_size;
  st.delta = rt->last_stats.delta;
  rt->last = st;
  rt->last_rewind_pending = false;
  event_migration(rt, rt->self, rt->target, rt->pend_fn, rt->pend_kind, &st);
  ckpt_clear(rt);
  frames_clear(rt);
  rt->mig_out++;
}

/* ---- NODE mode: receive ------------------------------------------------------------------- */

int kafu_runtime_decoder(kafu_runtime *rt, kafu_snap_decoder **out, kafu_err *err) {
  rt->t_rewind = kafu_now_ns(); /* decode timing starts with the body */
  int rc = new_decoder(rt, &rt->image, out, err);
  rt->recv_dec = rc ? NULL : *out;
  return rc;
}

int kafu_runtime_finish_receive(kafu_runtime *rt, kafu_snap_decoder *dec, kafu_err *err) {
  if (rt->have_recv) {
    kafu_snapshot_clear(&rt->recv);
    rt->have_recv = false;
  }
  kafu_snap_stats ds;
  int rc = kafu_snap_decoder_finish(dec, &rt->recv, &ds, err);
  kafu_snap_decoder_free(dec);
  rt->recv_dec = NULL;
  if (rc) {
    kafu_snapshot_clear(&rt->recv);
    return rc;
  }
  rt->decode_ms = kafu_ms_since(rt->t_rewind);
  /* memory now equals the received image: what the decoder wrote is not a
   * change to send back; only the program's writes from here on are */
  uint64_t msize = 0;
  kafu_instance_memory(rt->inst, &msize);
  dirty_collect(rt, msize);
  rc = restore_state(rt, &rt->recv, err);
  if (rc) {
    /* memory holds the rejected snapshot's image: forget it as a baseline so
     * the next transfer to this node is a full one */
    kafu_mem_image_clear(&rt->image);
    kafu_snapshot_clear(&rt->recv);
    return rc;
  }
  rt->last = (kafu_rt_migration_stats){.decode_ms = rt->decode_ms,
                                       .restore_ms = rt->restore_ms,
                                       .raw_bytes = ds.raw_bytes,
                                       .wire_bytes = ds.wire_bytes,
                                       .memory_size = ds.memory_size,
                                       .delta = ds.delta};
  rt->last_rewind_pending = true;
  rt->have_recv = true;
  rt->mig_in++;
  return 0;
}

int kafu_runtime_resume(kafu_runtime *rt, kafu_rt_result *res, kafu_err *err) {
  if (!rt->have_recv) return kafu_err_set(err, KAFU_EINVAL, "node %s: nothing received to resume", rt->self);
  snprintf(rt->cur, sizeof rt->cur, "%s", rt->self);
  if (rt->o.events) {
    event_head(rt, "restore");
    fprintf(rt->o.events, ",\"from\":");
    json_str(rt->o.events, rt->recv.source_node ? rt->recv.source_node : "");
    fprintf(rt->o.events, ",\"decode_ms\":%.3f,\"restore_ms\":%.3f}\n", rt->decode_ms, rt->restore_ms);
    fflush(rt->o.events);
  }
  kafu_snapshot_clear(&rt->recv);
  rt->have_recv = false;
  int rc = run_loop(rt, true, res, err);
  if (!rc) log_end(rt, res);
  return rc;
}

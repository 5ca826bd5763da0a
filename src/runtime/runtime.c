/*
 * runtime.c — one node's runtime (include/kafu/runtime.h): creation, accessors,
 * and the run loop that runs `_start` until the program ends or leaves.
 *
 * The protocol itself lives in the hook (hook.c): it keeps the migration stack
 * exact for every annotated call and starts an Asyncify unwind when execution
 * must move. The run loop below sees `_start` return with the unwind complete,
 * checks it, and either captures the checkpoint for the server (NODE mode) or
 * makes the hop itself and rewinds (VERIFY mode, verify.c). The rest of the
 * runtime is split by job: see runtime_internal.h.
 */
#include "runtime_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------------- */

kafu_snap_comp rt_snap_compression(const kafu_config *cfg) {
  switch (cfg->migration.compression) {
    case KAFU_COMPRESSION_NONE:
      return KAFU_SNAP_COMP_NONE;
    case KAFU_COMPRESSION_ZSTD:
      return KAFU_SNAP_COMP_ZSTD;
    default:
      return KAFU_SNAP_COMP_LZ4;
  }
}

const kafu_meta_func *rt_meta_func(const kafu_runtime *rt, uint32_t fn_id) {
  for (uint32_t i = 0; i < rt->meta.nfuncs; i++)
    if (rt->meta.funcs[i].fn_id == fn_id) return &rt->meta.funcs[i];
  return NULL;
}

const char *rt_fn_name(const kafu_runtime *rt, uint32_t fn_id) {
  const kafu_meta_func *f = rt_meta_func(rt, fn_id);
  return f && f->name ? f->name : "?";
}

const char *rt_here(const kafu_runtime *rt) { return rt->o.mode == KAFU_RT_NODE ? rt->self : rt->cur; }

void rt_set_cur(kafu_runtime *rt, const char *node) {
  if (node != rt->cur) snprintf(rt->cur, sizeof rt->cur, "%s", node);
  kafu_log_ctx_init(&rt->log, "node %s", rt_here(rt));
}

/* ---- WASI + instance ---------------------------------------------------------- */

int rt_make_wasi(kafu_runtime *rt, kafu_wasi **out, kafu_err *err) {
  kafu_wasi_config wc = {0};
  wc.argc = rt->argc;
  wc.argv = rt->argv;
  wc.envc = (int)rt->cfg->app.nenv;
  wc.envp = rt->cfg->app.env;
  wc.preopens = rt->preopen.host_path ? &rt->preopen : NULL;
  wc.npreopens = rt->preopen.host_path ? 1 : 0;
  wc.stdout_fd = rt->o.stdout_fd;
  wc.stderr_fd = rt->o.stderr_fd;
  wc.home = rt->o.home;
  wc.self = rt->o.mode == KAFU_RT_NODE ? rt->self : rt->cfg->nodes[0].id;
  wc.listens = rt->listens;
  wc.nlistens = rt->nlistens;
  wc.link = rt->o.link;
  wc.log = &rt->log;
  return kafu_wasi_new(&wc, out, err);
}

void rt_nn_limits(const kafu_runtime *rt, kafu_nn_limits *lim) {
  kafu_nn_limits_default(lim);
  if (rt->cfg->wasi_nn.max_model_bytes) lim->max_model_bytes = rt->cfg->wasi_nn.max_model_bytes;
  if (rt->cfg->wasi_nn.max_tensor_bytes) lim->max_tensor_bytes = rt->cfg->wasi_nn.max_tensor_bytes;
}

int rt_make_nn(kafu_runtime *rt, const char *node, kafu_nn_host **out, kafu_err *err) {
  const kafu_config_node *n = kafu_config_node_find(rt->cfg, node);
  kafu_nn_named named[64];
  size_t nm = 0;
  for (size_t i = 0; n && i < n->nmodels && nm < sizeof named / sizeof *named; i++)
    named[nm++] = (kafu_nn_named){n->models[i].name, n->models[i].path};
  kafu_nn_limits lim;
  rt_nn_limits(rt, &lim);
  kafu_nn_host_opts o = {.node = node, .models = named, .nmodels = nm, .limits = &lim};
  return kafu_nn_host_new(&o, out, err) ? kafu_err_prefix(err, "node %s: wasi-nn", node) : 0;
}

kafu_host rt_host_of(kafu_runtime *rt, kafu_wasi *w) {
  rt->nn_bind[0] = (kafu_host_binding){"wasi_ephemeral_nn", rt->nn};
  kafu_host h = {.wasi = w,
                 .migration_point = rt_on_migration_point,
                 .ctx = rt,
                 .bindings = rt->nn_bind,
                 .nbindings = 1};
  return h;
}

int rt_fresh_instance(kafu_runtime *rt, kafu_err *err) {
  kafu_wasi *w = NULL;
  kafu_instance *inst = NULL;
  int rc = rt->nn ? 0 : rt_make_nn(rt, rt_here(rt), &rt->nn, err);
  if (rc) return rc;
  rc = rt_make_wasi(rt, &w, err);
  if (rc) return rc;
  kafu_host h = rt_host_of(rt, w);
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

/* ---- creation ------------------------------------------------------------------ */

/* The module's kafu.meta, checked against cfg: Snapified, and every KAFU_DEST
 * destination a node. where names the module in messages. */
static int module_meta(const kafu_config *cfg, const uint8_t *wasm, size_t len, const char *where,
                       kafu_meta *meta, kafu_err *err) {
  memset(meta, 0, sizeof *meta);
  kafu_wasm_module wm;
  int rc = kafu_wasm_parse(wasm, len, &wm, err);
  if (rc) return kafu_err_prefix(err, "%s", where), rc;
  rc = kafu_wasm_read_meta(&wm, meta, err);
  kafu_wasm_module_free(&wm);
  if (rc < 0) return kafu_err_prefix(err, "%s", where), rc;
  if (rc == 0 || !(meta->flags & KAFU_META_FLAG_SNAPIFIED)) {
    kafu_meta_free(meta);
    return kafu_err_set(err, KAFU_EINVAL,
                        "%s: module is not Snapified (no kafu.meta section); build it with `kafu cc` or run "
                        "`kafu snapify` on it",
                        where);
  }
  if (!meta->nfuncs) return 0;
  const char **dests = calloc(meta->nfuncs, sizeof *dests);
  const char **fns = calloc(meta->nfuncs, sizeof *fns);
  for (uint32_t i = 0; dests && fns && i < meta->nfuncs; i++) {
    dests[i] = meta->funcs[i].dest;
    fns[i] = meta->funcs[i].name;
  }
  rc = dests && fns ? kafu_config_check_destinations_fn(cfg, dests, fns, meta->nfuncs, err)
                    : kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  free(dests);
  free(fns);
  if (rc) kafu_meta_free(meta);
  return rc;
}

int kafu_runtime_check_module(const kafu_config *cfg, const uint8_t *wasm, size_t len, const char *where,
                              kafu_err *err) {
  kafu_meta meta;
  int rc = module_meta(cfg, wasm, len, where ? where : kafu_config_app_location(cfg), &meta, err);
  if (rc == 0) kafu_meta_free(&meta);
  return rc;
}

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
  pthread_mutex_init(&rt->ck.mu, NULL);
  atomic_init(&rt->ck.wanted, false);
  const char *self = opts->self ? opts->self : cfg->nodes[0].id;
  if (kafu_config_node_index(cfg, self) < 0) {
    kafu_err_set(err, KAFU_EINVAL, "%s: node '%s' is not in the config", cfg->config_path, self);
    goto fail;
  }
  snprintf(rt->self, sizeof rt->self, "%s", self);
  rt_set_cur(rt, cfg->nodes[0].id);

  /* what Snapify recorded: function ids -> names -> destinations */
  int rc = module_meta(cfg, opts->wasm, opts->wasm_len, kafu_config_app_location(cfg), &rt->meta, err);
  if (rc) goto fail;

  /* guest argv: "program" (as the original's Wasmtime WASI context gives it,
   * whatever the module's name), then app.args */
  const char *loc = kafu_config_app_location(cfg);
  rt->argc = (int)cfg->app.nargs + 1;
  rt->argv = calloc((size_t)rt->argc + 1, sizeof *rt->argv);
  if (!rt->argv) {
    kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    goto fail;
  }
  rt->argv[0] = strdup(KAFU_RT_ARGV0);
  for (size_t i = 0; i < cfg->app.nargs; i++) rt->argv[i + 1] = strdup(cfg->app.args[i]);
  if (cfg->app.preopened_dir) {
    rt->preopen.host_path = cfg->app.preopened_dir;
    rt->preopen.guest_path = ".";
  }
  size_t nl = 0;
  for (size_t i = 0; opts->home && i < cfg->nnodes; i++) nl += cfg->nodes[i].nlisten;
  if (nl && !(rt->listens = calloc(nl, sizeof *rt->listens))) {
    kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    goto fail;
  }
  for (size_t i = 0; nl && i < cfg->nnodes; i++)
    for (size_t j = 0; j < cfg->nodes[i].nlisten; j++)
      rt->listens[rt->nlistens++] = (kafu_wasi_listen_spec){cfg->nodes[i].id, (uint32_t)j};

  rt->eopts = opts->engine ? *opts->engine : (kafu_engine_opts){.progress = -1};
  if (!rt->eopts.name) rt->eopts.name = kafu_path_basename(loc);
  if (!rt->eopts.artifact_dir) rt->eopts.artifact_dir = opts->cfg->app.aot_dir; /* app.aot_dir */
  rc = kafu_module_load(opts->wasm, opts->wasm_len, &rt->eopts, &rt->mod, err);
  if (rc) goto fail;
  rc = rt_fresh_instance(rt, err);
  if (rc) {
    kafu_err_prefix(err, "%s", rt->log.prefix);
    goto fail;
  }
  if (rt->o.mode == KAFU_RT_NODE && !(rt->peers = calloc(cfg->nnodes, sizeof *rt->peers))) {
    kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    goto fail;
  }
  if (rt->o.mode == KAFU_RT_NODE && rt->cfg->migration.mode != KAFU_MEMORY_MIGRATION_FULL) rt_dirty_open(rt);
  *out = rt;
  return 0;
fail:
  kafu_runtime_free(rt);
  return err ? err->code : -1;
}

void kafu_runtime_free(kafu_runtime *rt) {
  if (!rt) return;
  rt_ckpt_clear(rt);
  rt_entries_free(rt);
  rt_source_clear(rt);
  pthread_mutex_destroy(&rt->ck.mu);
  rt_stack_clear(&rt->stack);
  free(rt->stack.frames);
  if (rt->recv.have) kafu_snapshot_clear(&rt->recv.snap);
  kafu_snap_undo_area_free(&rt->recv.undo);
  kafu_mem_image_free(&rt->image);
  kafu_mem_delta_free(&rt->send.delta);
  kafu_mem_delta_free(&rt->send.peer_delta);
  for (size_t i = 0; rt->peers && i < rt->cfg->nnodes; i++) kafu_mem_image_free(&rt->peers[i].img);
  free(rt->codec.sample_bits);
  free(rt->peers);
  rt_dirty_close(rt);
  if (rt->inst) kafu_instance_free(rt->inst);
  if (rt->wasi) kafu_wasi_free(rt->wasi);
  kafu_nn_host_free(rt->nn);
  free(rt->nn_sent);
  if (rt->mod) kafu_module_free(rt->mod);
  kafu_meta_free(&rt->meta);
  for (int i = 0; rt->argv && i < rt->argc; i++) free(rt->argv[i]);
  free(rt->argv);
  free(rt->listens);
  free(rt);
}

const char *kafu_runtime_self(const kafu_runtime *rt) { return rt->self; }
const kafu_module *kafu_runtime_module(const kafu_runtime *rt) { return rt->mod; }
uint64_t kafu_runtime_image_id(const kafu_runtime *rt) { return rt->image.id; }
static rt_peer *peer_of(const kafu_runtime *rt, const char *node) {
  int i = rt->peers && node ? kafu_config_node_index(rt->cfg, node) : -1;
  return i < 0 ? NULL : &rt->peers[i];
}
uint64_t kafu_runtime_peer_image(const kafu_runtime *rt, const char *node) {
  const rt_peer *p = peer_of(rt, node);
  return p && p->believed ? p->id : 0;
}
void kafu_runtime_peer_unknown(kafu_runtime *rt, const char *node) {
  rt_peer *p = peer_of(rt, node);
  if (p) p->believed = false;
}
void kafu_runtime_peer_holds_mine(kafu_runtime *rt, const char *node) { rt_peer_learn(rt, node); }
void rt_peer_learn(kafu_runtime *rt, const char *node) {
  rt_peer *p = peer_of(rt, node);
  if (!p || !strcmp(node, rt->self)) return;
  p->id = rt->image.id;
  p->believed = p->id != 0;
  kafu_err e;
  if (rt->cfg->nnodes < 3 || !p->id || kafu_mem_image_copy(&p->img, &rt->image, &e))
    kafu_mem_image_clear(&p->img); /* deltas against it then only as this node's last image */
}
const kafu_snapshot *kafu_runtime_received(const kafu_runtime *rt) {
  return rt->recv.have ? &rt->recv.snap : NULL;
}
uint64_t kafu_runtime_migrations_in(const kafu_runtime *rt) { return rt->stats.mig_in; }
uint64_t kafu_runtime_migrations_out(const kafu_runtime *rt) { return rt->stats.mig_out; }
void kafu_runtime_last_stats(const kafu_runtime *rt, kafu_rt_migration_stats *out) { *out = rt->stats.last; }

void kafu_runtime_set_run(kafu_runtime *rt, uint64_t run_id, uint64_t incarnation) {
  rt->run.id = run_id;
  rt->run.incarnation = incarnation;
}
void kafu_runtime_set_hop(kafu_runtime *rt, uint64_t hop) { rt->pend.hop = hop; }

bool kafu_runtime_pending(const kafu_runtime *rt, kafu_rt_pending_info *out) {
  if (!rt->ckpt.have && !rt->src.active) return false;
  *out = (kafu_rt_pending_info){.target = rt->pend.target,
                                .from = rt->pend.from,
                                .fn_id = rt->pend.fn,
                                .kind = (uint8_t)rt->pend.kind,
                                .function = rt_fn_name(rt, rt->pend.fn)};
  return true;
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
  if ((uint64_t)rt->pend.asy_addr + sizeof hdr > msize) return true;
  memcpy(hdr, mem + rt->pend.asy_addr, sizeof hdr);
  *used = hdr[0] - rt->pend.asy_addr;
  return hdr[0] > hdr[1] || hdr[1] != rt->pend.asy_addr + rt->pend.asy_size;
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
      rt->stats.t_rewind = kafu_now_ns();
      int rc = kafu_instance_asyncify_start_rewind(rt->inst, (uint32_t)asy);
      if (rc) {
        set_result(res, KAFU_RT_FAILED, 1, rt->cur, "cannot start the rewind");
        return 0;
      }
    }
    rt->pend.active = false;
    kafu_outcome oc = {0};
    int rc = kafu_instance_run_start(rt->inst, &oc, &e);
    const char *node = rt_here(rt);
    if (rt->ev.pending) { /* the rewind never reached the migration point: still record the hop */
      rt->ev.pending = false;
      rt_event_migration(rt, rt->ev.from, rt->cur, rt->pend.fn, rt->pend.kind, &rt->ev.stats);
    }
    rt_event_restore_done(rt, -1); /* the same for a restore (no rewind time) */
    if (rc == 0 && rt->pend.active) {
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
                 "%s: the call stack did not fit in the Asyncify buffer (%u bytes) while checkpointing "
                 "at %s %s (needs %u bytes); rebuild with a larger --kafu-stack-size=BYTES",
                 rt->log.prefix, rt->pend.asy_size,
                 rt->pend.kind == KAFU_MIG_ENTER ? "the call of" : "the return from",
                 rt_fn_name(rt, rt->pend.fn), used);
        set_result(res, KAFU_RT_TRAPPED, KAFU_EXIT_TRAP, node, msg);
        return 0;
      }
      rt->pend.unwind_ms = kafu_ms_since(rt->pend.t_unwind);
      if (rt->o.mode == KAFU_RT_NODE) {
        int crc = rt_capture(rt, err);
        if (crc) {
          set_result(res, KAFU_RT_FAILED, 1, node, err->msg);
          return 0;
        }
        if (rt_checkpoint_wanted(rt)) rt_checkpoint_serve(rt);
        if (rt->pend.ckpt_only) { /* taken on request: carry on right here */
          rt_ckpt_clear(rt);
          rewind = true;
          continue;
        }
        set_result(res, KAFU_RT_MIGRATED, 0, node, NULL);
        snprintf(res->target, sizeof res->target, "%s", rt->pend.target);
        return 0;
      }
      int vrc = rt_verify_hop(rt, err);
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
      if (oc.trap == KAFU_TRAP_ASYNCIFY_OVERFLOW || (rt->pend.active && oc.trap == KAFU_TRAP_UNREACHABLE))
        snprintf(msg, sizeof msg,
                 "%s: the call stack did not fit in the Asyncify buffer (%u bytes) while checkpointing; "
                 "rebuild with a larger --kafu-stack-size=BYTES",
                 rt->log.prefix, rt->meta.asyncify_buf_size);
      else
        snprintf(msg, sizeof msg, "%s: %.900s", rt->log.prefix, e.msg);
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
  rt_event_simple(rt, "finish", res);
}

int rt_run(kafu_runtime *rt, bool rewind, kafu_rt_result *res, kafu_err *err) {
  int rc = run_loop(rt, rewind, res, err);
  if (!rc) log_end(rt, res);
  return rc;
}

int kafu_runtime_run(kafu_runtime *rt, kafu_rt_result *res, kafu_err *err) {
  kafu_info("Program is starting on %s", rt->cur);
  rt_event_simple(rt, "start", NULL);
  return rt_run(rt, false, res, err);
}

/*
 * state.c — the program state a snapshot carries besides memory: capture it
 * after an unwind, validate a received one, and restore it.
 *
 * That is: every mutable exported global (Snapify exports them as
 * kafu_global_*), the WASI fd table (files are reopened by path), the
 * migration stack and resume point, and host state carried as pseudo-globals.
 *
 * Host state travels in the snapshot's globals list under names no wasm export
 * of Snapify's can have (':'): the guest's monotonic clock at the checkpoint
 * and the sender's wall clock then (ns). The receiver continues the guest's
 * monotonic clock from the saved value plus the wall-clock time the migration
 * took (kafu_wasi_monotonic_resume), so it neither jumps to this host's clock
 * nor hides the migration's duration. The guest's process CPU-time clock
 * travels too (kafu:cputime_ns) and continues from the saved value: clock
 * bases are per host (per node process), never part of the program state.
 * *
 * NODE mode also sends which memory image each node holds, as far as the
 * sender knows ("kafu:holds:<node>" = image id; rt_holds_put, rt_holds_take).
 * A node's image changes only when the program arrives or leaves, so the
 * node that has the program knows exactly what everyone holds if the
 * program carries that knowledge along; a sender then never guesses stale
 * (docs/cluster.md, deltas against every peer).
 */
#include "runtime_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOST_STATE_PREFIX "kafu:"
#define HOST_MONOTONIC "kafu:monotonic_ns"
#define HOST_REALTIME "kafu:realtime_ns"
#define HOST_HOLDS "kafu:holds:"
#define HOST_CPUTIME "kafu:cputime_ns"

static uint64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool is_host_state(const char *name) {
  return !strncmp(name, HOST_STATE_PREFIX, strlen(HOST_STATE_PREFIX));
}

/* The engine's value type of a global in the snapshot's terms; false for
 * types a snapshot cannot carry (v128, references). */
static bool snap_val_type(kafu_valtype t, uint8_t *out) {
  switch (t) {
    case KAFU_VAL_I32:
      *out = KAFU_SNAP_VAL_I32;
      return true;
    case KAFU_VAL_I64:
      *out = KAFU_SNAP_VAL_I64;
      return true;
    case KAFU_VAL_F32:
      *out = KAFU_SNAP_VAL_F32;
      return true;
    case KAFU_VAL_F64:
      *out = KAFU_SNAP_VAL_F64;
      return true;
    default:
      return false;
  }
}

void rt_ckpt_clear(kafu_runtime *rt) {
  rt_ckpt *c = &rt->ckpt;
  for (uint32_t i = 0; i < c->nglobals; i++) free(c->globals[i].name);
  free(c->globals);
  c->globals = NULL;
  c->nglobals = 0;
  kafu_fd_entries_free(c->fds, c->nfds);
  c->fds = NULL;
  c->nfds = 0;
  kafu_buf_free(&c->nn_state);
  free(c->host);
  c->host = NULL;
  c->nhost = 0;
  for (uint32_t i = 0; i < c->nmodels; i++) kafu_nn_model_unref(c->models[i]);
  free(c->models);
  c->models = NULL;
  c->nmodels = 0;
  c->have = false;
  rt->send.image_fresh = false;
}

/* Does peer already have the model with this digest (sent to it before)? */
static bool nn_peer_has(const kafu_runtime *rt, const char *peer, const uint8_t *sha) {
  for (size_t i = 0; i < rt->nn_nsent; i++)
    if (!strcmp(rt->nn_sent[i].peer, peer) && !memcmp(rt->nn_sent[i].sha, sha, KAFU_SHA256_LEN)) return true;
  return false;
}

/* The wasi-nn state into the checkpoint's HOST entries: "wasi_ephemeral_nn"
 * (graphs, contexts, inputs set), then "wasi_ephemeral_nn/model" with the
 * bytes of each model loaded from bytes that the target has not been sent
 * yet (NODE mode; in one process the model cache already holds them). */
static int capture_nn(kafu_runtime *rt, kafu_err *err) {
  rt_ckpt *c = &rt->ckpt;
  size_t ng = rt->nn ? kafu_nn_host_graph_count(rt->nn) : 0;
  if (!ng) return 0;
  if (kafu_nn_host_save(rt->nn, &c->nn_state, err))
    return kafu_err_prefix(err, "%s: saving wasi-nn state", rt->log.prefix);
  c->host = calloc(ng + 1, sizeof *c->host);
  if (!c->host) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  c->host[c->nhost++] = (kafu_snap_blob){(char *)"wasi_ephemeral_nn", c->nn_state.data, c->nn_state.len};
  for (size_t i = 0; i < ng && rt->o.mode == KAFU_RT_NODE; i++) {
    bool by_name;
    const kafu_nn_model *m = kafu_nn_host_graph_model(rt->nn, i, &by_name);
    if (by_name || nn_peer_has(rt, rt->pend.target, kafu_nn_model_sha256(m))) continue;
    bool dup = false;
    for (uint32_t k = 1; k < c->nhost && !dup; k++) dup = c->host[k].data == kafu_nn_model_bytes(m);
    if (!dup)
      kafu_info("node %s: wasi-nn model %.16s (%zu bytes) goes to %s with this migration", rt->cur,
                kafu_nn_model_sha256_hex(m), kafu_nn_model_size(m), rt->pend.target);
    if (!dup)
      c->host[c->nhost++] =
          (kafu_snap_blob){(char *)"wasi_ephemeral_nn/model", kafu_nn_model_bytes(m), kafu_nn_model_size(m)};
  }
  return 0;
}

int rt_capture(kafu_runtime *rt, kafu_err *err) {
  rt_ckpt_clear(rt);
  rt_ckpt *c = &rt->ckpt;
  size_t n = kafu_module_export_count(rt->mod);
  /* + the host-state entries below, and room for rt_holds_put's */
  c->globals = calloc(n + 3 + (rt->peers ? rt->cfg->nnodes : 0), sizeof *c->globals);
  if (!c->globals) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const kafu_export *x = kafu_module_export_at(rt->mod, i);
    if (x->kind != KAFU_EXTERN_GLOBAL || !x->is_mutable) continue;
    uint64_t v;
    int rc = kafu_instance_global_get_at(rt->inst, i, &v, err);
    if (rc) return rc;
    uint8_t type;
    if (!snap_val_type(x->type, &type))
      return kafu_err_setc(&rt->log, err, KAFU_EUNSUP,
                           "mutable global '%s' has a type a snapshot cannot carry", x->name);
    kafu_snap_global *g = &c->globals[c->nglobals++];
    g->name = strdup(x->name);
    g->type = type;
    g->bits = v;
  }
  /* host state carried as pseudo-globals (HOST_STATE_PREFIX) */
  kafu_snap_global *h = &c->globals[c->nglobals];
  h[0] = (kafu_snap_global){strdup(HOST_MONOTONIC), KAFU_SNAP_VAL_I64, kafu_wasi_monotonic_now(rt->wasi)};
  h[1] = (kafu_snap_global){strdup(HOST_REALTIME), KAFU_SNAP_VAL_I64, realtime_ns()};
  h[2] = (kafu_snap_global){strdup(HOST_CPUTIME), KAFU_SNAP_VAL_I64, kafu_wasi_cputime_now(rt->wasi)};
  c->nglobals += 3;
  int rc = kafu_wasi_fd_export(rt->wasi, &c->fds, &c->nfds, err);
  if (rc) return kafu_err_prefix(err, "%s: saving open files", rt->log.prefix);
  rc = capture_nn(rt, err);
  if (rc) return rc;
  c->have = true;
  return 0;
}

/* Remember that peer holds the model with digest sha (forgetting only means
 * sending it again). */
static void nn_note_peer_has(kafu_runtime *rt, const char *peer, const uint8_t *sha) {
  if (!peer || nn_peer_has(rt, peer, sha)) return;
  rt_nn_sent *a = realloc(rt->nn_sent, (rt->nn_nsent + 1) * sizeof *a);
  if (!a) return;
  rt->nn_sent = a;
  snprintf(a[rt->nn_nsent].peer, sizeof a->peer, "%s", peer);
  memcpy(a[rt->nn_nsent].sha, sha, KAFU_SHA256_LEN);
  rt->nn_nsent++;
}

void rt_nn_mark_sent(kafu_runtime *rt) {
  const rt_ckpt *c = &rt->ckpt;
  for (uint32_t i = 1; i < c->nhost; i++) { /* host[0] is the state, then model bytes */
    uint8_t sha[KAFU_SHA256_LEN];
    kafu_sha256(c->host[i].data, c->host[i].len, sha);
    nn_note_peer_has(rt, rt->pend.target, sha);
  }
}

void rt_holds_put(kafu_runtime *rt) {
  rt_ckpt *c = &rt->ckpt;
  if (!rt->peers || !c->have) return;
  uint32_t k = 0; /* drop the entries of an earlier attempt */
  for (uint32_t i = 0; i < c->nglobals; i++) {
    if (!strncmp(c->globals[i].name, HOST_HOLDS, strlen(HOST_HOLDS)))
      free(c->globals[i].name);
    else
      c->globals[k++] = c->globals[i];
  }
  c->nglobals = k;
  for (size_t i = 0; i < rt->cfg->nnodes; i++) {
    const char *node = rt->cfg->nodes[i].id;
    /* the sender keeps the image it sends (the receiver knows its own) */
    uint64_t id = !strcmp(node, rt->self) ? rt->image.id : rt->peers[i].believed ? rt->peers[i].id : 0;
    char name[128];
    snprintf(name, sizeof name, HOST_HOLDS "%s", node);
    char *dup = id ? strdup(name) : NULL;
    if (dup) c->globals[c->nglobals++] = (kafu_snap_global){dup, KAFU_SNAP_VAL_I64, id};
  }
}

void rt_holds_take(kafu_runtime *rt, const kafu_snapshot *s) {
  if (!rt->peers) return;
  for (size_t i = 0; i < rt->cfg->nnodes; i++) rt->peers[i].believed = false;
  for (uint32_t i = 0; i < s->nglobals; i++) {
    const kafu_snap_global *g = &s->globals[i];
    if (strncmp(g->name, HOST_HOLDS, strlen(HOST_HOLDS))) continue;
    int k = kafu_config_node_index(rt->cfg, g->name + strlen(HOST_HOLDS));
    if (k < 0 || !strcmp(rt->cfg->nodes[k].id, rt->self)) continue;
    rt->peers[k].id = g->bits;
    rt->peers[k].believed = true;
  }
}

void rt_fill_snapshot(kafu_runtime *rt, kafu_snapshot *s) {
  memset(s, 0, sizeof *s);
  memcpy(s->module_sha256, kafu_module_sha256(rt->mod), KAFU_SHA256_LEN);
  s->source_node = rt->cur;
  s->target_node = rt->pend.target;
  s->resume_fn_id = rt->pend.fn;
  s->resume_kind = (uint8_t)rt->pend.kind;
  s->frames = rt->stack.frames;
  s->nframes = rt->stack.n;
  s->globals = rt->ckpt.globals;
  s->nglobals = rt->ckpt.nglobals;
  s->fds = rt->ckpt.fds;
  s->nfds = (uint32_t)rt->ckpt.nfds;
  s->host = rt->ckpt.host;
  s->nhost = rt->ckpt.nhost;
  s->memory = kafu_instance_memory(rt->inst, &s->memory_size);
}

/* The migration stack and resume point of a decoded snapshot must make sense
 * for this module and config: every frame a function of kafu.meta called from
 * a node of the config (an exit goes back there), the resume point a known
 * function. Checked before anything is restored. */
static int check_stack(kafu_runtime *rt, const kafu_snapshot *s, kafu_err *err) {
  if (!rt_meta_func(rt, s->resume_fn_id) || s->resume_kind > KAFU_MIG_EXIT)
    return kafu_err_setc(&rt->log, err, KAFU_EFORMAT, "snapshot resumes at unknown function id %u (kind %u)",
                         s->resume_fn_id, s->resume_kind);
  for (uint32_t i = 0; i < s->nframes; i++) {
    const kafu_snap_frame *f = &s->frames[i];
    if (!rt_meta_func(rt, f->fn_id))
      return kafu_err_setc(&rt->log, err, KAFU_EFORMAT,
                           "snapshot's migration stack frame %u has unknown function id %u", i, f->fn_id);
    if (!f->caller_node || kafu_config_node_index(rt->cfg, f->caller_node) < 0)
      return kafu_err_setc(&rt->log, err, KAFU_EFORMAT,
                           "snapshot's migration stack frame %u (%s) was called from node '%s', which is not "
                           "in the config",
                           i, rt_fn_name(rt, f->fn_id), f->caller_node ? f->caller_node : "");
  }
  return 0;
}

/* Everything in a decoded snapshot except memory must make sense for this
 * module and config before anything is restored (check_stack + globals).
 * Called by the decoder before it touches memory, and again by restore, which
 * gets the host clocks. */
static int validate(kafu_runtime *rt, const kafu_snapshot *s, kafu_err *err, bool *have_mono, uint64_t *mono,
                    uint64_t *sent_at, bool *have_cpu, uint64_t *cpu) {
  int vrc = check_stack(rt, s, err);
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
  for (uint32_t i = 0; i < s->nhost; i++)
    if (strcmp(s->host[i].name, "wasi_ephemeral_nn") && strcmp(s->host[i].name, "wasi_ephemeral_nn/model"))
      return kafu_err_set(err, KAFU_EFORMAT, "%s: snapshot carries unknown host state '%s'", rt->log.prefix,
                          s->host[i].name);
  size_t got = 0;
  for (uint32_t i = 0; i < s->nglobals; i++) {
    const kafu_snap_global *g = &s->globals[i];
    if (is_host_state(g->name)) {
      if (g->type == KAFU_SNAP_VAL_I64 && !strcmp(g->name, HOST_MONOTONIC)) {
        *have_mono = true;
        *mono = g->bits;
      } else if (g->type == KAFU_SNAP_VAL_I64 && !strcmp(g->name, HOST_REALTIME)) {
        *sent_at = g->bits;
      } else if (g->type == KAFU_SNAP_VAL_I64 && !strcmp(g->name, HOST_CPUTIME)) {
        *have_cpu = true;
        *cpu = g->bits;
      } else if (g->type == KAFU_SNAP_VAL_I64 && !strncmp(g->name, HOST_HOLDS, strlen(HOST_HOLDS)) &&
                 kafu_config_node_index(rt->cfg, g->name + strlen(HOST_HOLDS)) >= 0) {
        /* which image a node holds (rt_holds_take) */
      } else {
        return kafu_err_setc(&rt->log, err, KAFU_EFORMAT, "snapshot carries unknown host state '%s'",
                             g->name);
      }
      continue;
    }
    const kafu_export *x = kafu_module_find_export(rt->mod, g->name);
    if (!x || x->kind != KAFU_EXTERN_GLOBAL || !x->is_mutable)
      return kafu_err_setc(&rt->log, err, KAFU_EFORMAT,
                           "snapshot carries global '%s', not a mutable global of "
                           "this module",
                           g->name);
    uint8_t want_type;
    if (!snap_val_type(x->type, &want_type) || want_type != g->type)
      return kafu_err_setc(&rt->log, err, KAFU_EFORMAT,
                           "snapshot global '%s' has type %s, the module's has %s", g->name,
                           kafu_snap_val_name(g->type),
                           snap_val_type(x->type, &want_type) ? kafu_snap_val_name(want_type) : "another");
    for (uint32_t j = 0; j < i; j++)
      if (!strcmp(s->globals[j].name, g->name))
        return kafu_err_setc(&rt->log, err, KAFU_EFORMAT, "snapshot carries global '%s' twice", g->name);
    got++;
  }
  if (got != want)
    return kafu_err_setc(&rt->log, err, KAFU_EFORMAT,
                         "snapshot carries %zu of the module's %zu mutable globals", got, want);
  return 0;
}

int rt_validate_state(kafu_runtime *rt, const kafu_snapshot *s, kafu_err *err) {
  bool hm, hc;
  uint64_t m, t, c;
  return validate(rt, s, err, &hm, &m, &t, &hc, &c);
}

int rt_restore_state(kafu_runtime *rt, const kafu_snapshot *s, double *ms, kafu_err *err) {
  uint64_t t0 = kafu_now_ns();
  bool have_mono = false, have_cpu = false;
  uint64_t mono = 0, sent_at = 0, cpu = 0;
  int vrc = validate(rt, s, err, &have_mono, &mono, &sent_at, &have_cpu, &cpu);
  if (vrc) return vrc;
  /* the wasi-nn graphs and contexts, rebuilt for this node: models that came
   * with the snapshot go into the node's cache first */
  kafu_nn_host *nn = NULL;
  int rc = rt_make_nn(rt, rt_here(rt), &nn, err);
  if (rc) return rc;
  for (uint32_t i = 0; i < s->nhost && !rc; i++) {
    if (strcmp(s->host[i].name, "wasi_ephemeral_nn/model")) continue;
    kafu_nn_model *m = NULL;
    if (kafu_nn_cache_load(KAFU_NN_ENC_ONNX, KAFU_NN_TARGET_CPU, s->host[i].data, s->host[i].len, NULL, &m,
                           err))
      rc = kafu_err_prefix(err, "%s: a wasi-nn model the snapshot carries", rt->log.prefix);
    kafu_nn_model_unref(m);
  }
  for (uint32_t i = 0; i < s->nhost && !rc; i++)
    if (!strcmp(s->host[i].name, "wasi_ephemeral_nn") &&
        kafu_nn_host_restore(nn, s->host[i].data, s->host[i].len, err))
      rc = kafu_err_prefix(err, "%s: restoring wasi-nn state", rt->log.prefix);
  if (rc) {
    kafu_nn_host_free(nn);
    return rc < 0 ? rc : KAFU_EINVAL;
  }
  /* a fresh WASI context, then the program's open files reopened by path */
  kafu_wasi *w = NULL;
  rc = rt_make_wasi(rt, &w, err);
  if (rc) {
    kafu_nn_host_free(nn);
    return rc;
  }
  /* the guest's CLOCK_MONOTONIC continues from where it was on the sender plus
   * the migration's wall-clock duration (0 if the clocks disagree), whatever
   * this host's monotonic clock says; it never goes backwards */
  if (have_mono) {
    uint64_t now = realtime_ns();
    kafu_wasi_monotonic_resume(w, mono + (sent_at && now > sent_at ? now - sent_at : 0));
  }
  if (have_cpu) kafu_wasi_cputime_resume(w, cpu); /* the transfer took no guest CPU time */
  rc = kafu_wasi_fd_restore(w, s->fds, s->nfds, err);
  if (rc) {
    kafu_wasi_free(w);
    kafu_nn_host_free(nn);
    return kafu_err_prefix(err, "%s: restoring open files", rt->log.prefix);
  }
  for (uint32_t i = 0; i < s->nglobals; i++) {
    const kafu_snap_global *g = &s->globals[i];
    if (is_host_state(g->name)) continue;
    rc = kafu_instance_global_set(rt->inst, g->name, g->bits, err);
    if (rc) {
      kafu_wasi_free(w);
      kafu_nn_host_free(nn);
      return kafu_err_prefix(err, "%s: restoring global %s", rt->log.prefix, g->name);
    }
  }
  kafu_nn_host_free(rt->nn);
  rt->nn = nn;
  /* the sender holds every model it had graphs of: never send them back */
  for (size_t i = 0; rt->o.mode == KAFU_RT_NODE && i < kafu_nn_host_graph_count(nn); i++) {
    bool by_name;
    const kafu_nn_model *m = kafu_nn_host_graph_model(nn, i, &by_name);
    if (!by_name) nn_note_peer_has(rt, s->source_node, kafu_nn_model_sha256(m));
  }
  kafu_host h = rt_host_of(rt, w);
  kafu_instance_set_host(rt->inst, &h);
  kafu_wasi_free(rt->wasi);
  rt->wasi = w;
  rt_stack *st = &rt->stack;
  rt_stack_clear(st);
  if (rt_stack_reserve(st, s->nframes)) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < s->nframes; i++)
    st->frames[st->n++] = (kafu_snap_frame){s->frames[i].fn_id,
                                            strdup(s->frames[i].caller_node ? s->frames[i].caller_node : ""),
                                            s->frames[i].migrated};
  *ms = kafu_ms_since(t0);
  return 0;
}

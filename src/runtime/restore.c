/*
 * restore.c — snapshots the runtime reads back itself:
 *
 *  - kafu restore: a snapshot saved by --save-snapshots (or `kafu checkpoint`)
 *    is validated in full for this module and config and resumed here
 *    (kafu_runtime_restore), or, in NODE mode, becomes the pending checkpoint
 *    to be sent to the node it is addressed to (kafu_runtime_arm_snapshot);
 *  - an entry checkpoint kept as a copy, re-armed for failover (entry.c);
 *  - the on-demand checkpoint: at the next migration point, a full snapshot
 *    that resumes right there (POST /checkpoint).
 *
 * A snapshot that is not resumed here is decoded into scratch memory (the
 * source, rt->src) and encoded from there when sent: the instance and its
 * memory image stay as they are.
 */
#include "runtime_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void rt_source_clear(kafu_runtime *rt) {
  rt_source *s = &rt->src;
  kafu_snapshot_clear(&s->snap);
  free(s->mem);
  kafu_buf_free(&s->nn_state);
  for (uint32_t i = 0; i < s->nmodels; i++) kafu_nn_model_unref(s->models[i]);
  free(s->models);
  free(s->host);
  memset(s, 0, sizeof *s);
}

static uint8_t *scratch_memory(void *ctx, uint64_t size, kafu_err *err) {
  rt_source *s = ctx;
  free(s->mem);
  s->mem = calloc(1, size ? size : 1);
  if (!s->mem) kafu_err_set(err, KAFU_ENOMEM, "out of memory for %" PRIu64 " bytes of snapshot memory", size);
  return s->mem;
}

static int validate_cb(void *ctx, const kafu_snapshot *s, kafu_err *err) {
  return rt_validate_state(ctx, s, err);
}

/* The decoder's verdict on a snapshot to restore, in words for the user. */
static int explain(kafu_runtime *rt, int rc, kafu_err *err) {
  if (rc == KAFU_EBASELINE)
    return kafu_err_set(err, KAFU_EINVAL,
                        "the snapshot carries memory as a delta against an image only its receiver held, so "
                        "it cannot be resumed on its own (kafu serve/launch/singlenode --save-snapshots and "
                        "kafu checkpoint write full snapshots)");
  if (rc == KAFU_EMODULE)
    return kafu_err_prefix(err, "the snapshot is of another program than %s",
                           kafu_config_app_location(rt->cfg));
  return rc;
}

static int check_target(kafu_runtime *rt, const kafu_snapshot *s, kafu_err *err) {
  if (!s->target_node || kafu_config_node_index(rt->cfg, s->target_node) < 0)
    return kafu_err_set(err, KAFU_EINVAL, "the snapshot resumes on node '%s', which is not in %s",
                        s->target_node ? s->target_node : "", rt->cfg->config_path);
  return 0;
}

int rt_source_load(kafu_runtime *rt, const uint8_t *bytes, size_t len, kafu_err *err) {
  rt_source_clear(rt);
  rt_source *src = &rt->src;
  kafu_snap_decoder_opts d = {.expected_module_sha256 = kafu_module_sha256(rt->mod),
                              .on_state = validate_cb,
                              .on_state_ctx = rt,
                              .memory = scratch_memory,
                              .memory_ctx = src};
  kafu_snapshot snap = {0};
  int rc = kafu_snap_decode_buf(bytes, len, &d, &snap, NULL, err);
  if (!rc) rc = check_target(rt, &snap, err);
  if (rc) {
    kafu_snapshot_clear(&snap);
    free(src->mem);
    src->mem = NULL;
    return explain(rt, rc, err);
  }
  src->snap = snap;
  src->snap.memory = src->mem;
  src->active = true;
  return 0;
}

int kafu_runtime_arm_snapshot(kafu_runtime *rt, const uint8_t *bytes, size_t len, kafu_err *err) {
  if (rt->ckpt.have || rt->src.active)
    return kafu_err_set(err, KAFU_EINVAL, "node %s: a checkpoint is already pending", rt->self);
  int rc = rt_source_load(rt, bytes, len, err);
  if (rc) return rc;
  const kafu_snapshot *s = &rt->src.snap;
  rt_pending *p = &rt->pend;
  snprintf(p->target, sizeof p->target, "%s", s->target_node);
  snprintf(p->from, sizeof p->from, "%s", s->source_node ? s->source_node : s->target_node);
  p->fn = s->resume_fn_id;
  p->kind = s->resume_kind;
  p->hop = 0;
  p->unwind_ms = 0;
  p->ckpt_only = false;
  return 0;
}

int kafu_runtime_restore(kafu_runtime *rt, const uint8_t *bytes, size_t len, kafu_rt_result *res,
                         kafu_err *err) {
  int rc;
  if (rt->o.mode == KAFU_RT_NODE) {
    /* the receive path, minus admission: our own snapshot, not a peer's */
    kafu_snap_decoder *dec = NULL;
    rt->recv_internal = true;
    rc = kafu_runtime_decoder(rt, &dec, err);
    if (!rc && (rc = kafu_snap_decoder_feed(dec, bytes, len, err))) {
      kafu_snap_decoder_free(dec);
      rt->recv.dec = NULL;
    }
    if (!rc) rc = kafu_runtime_finish_receive(rt, dec, err);
    rt->recv_internal = false;
    if (rc) return explain(rt, rc, err);
    return kafu_runtime_resume(rt, res, err);
  }
  /* singlenode: the instance is fresh; the snapshot's target node becomes the current one */
  kafu_snap_decoder *dec = NULL;
  rt->recv_internal = true;
  uint64_t t0 = kafu_now_ns();
  rc = rt_new_decoder(rt, NULL, &dec, err);
  kafu_snapshot got = {0};
  if (!rc) rc = kafu_snap_decoder_feed(dec, bytes, len, err);
  if (!rc) rc = kafu_snap_decoder_finish(dec, &got, NULL, err);
  if (dec) kafu_snap_decoder_free(dec);
  rt->recv_internal = false;
  if (!rc) rc = check_target(rt, &got, err);
  double decode_ms = kafu_ms_since(t0), restore_ms = 0;
  if (!rc) {
    snprintf(rt->cur, sizeof rt->cur, "%s", got.target_node);
    rc = rt_restore_state(rt, &got, &restore_ms, err);
  }
  if (rc) {
    kafu_snapshot_clear(&got);
    return explain(rt, rc, err);
  }
  kafu_info("Program is resuming on %s from a snapshot (%s %s)", rt->cur,
            got.resume_kind == KAFU_MIG_ENTER ? "entering" : "returning from",
            rt_fn_name(rt, got.resume_fn_id));
  /* a restore record without a migration_id (a saved snapshot, not a
   * migration), written after the rewind like every restore record */
  rt->ev.mig_id[0] = 0;
  rt->ev.restore_pending = true;
  snprintf(rt->ev.restore_from, sizeof rt->ev.restore_from, "%s", got.source_node ? got.source_node : "");
  rt->ev.decode_ms = decode_ms;
  rt->ev.restore_ms = restore_ms;
  kafu_snapshot_clear(&got);
  return rt_run(rt, true, res, err);
}

void kafu_runtime_discard_pending(kafu_runtime *rt) {
  rt_ckpt_clear(rt);
  rt_source_clear(rt);
  rt_stack_clear(&rt->stack);
  rt->pend.active = false;
}

bool kafu_runtime_has_role(const kafu_runtime *rt, const char *role) {
  if (!role) return false;
  if (!strcmp(role, rt->self)) return true;
  const kafu_config_node *n = kafu_config_node_find(rt->cfg, role);
  for (size_t i = 0; n && i < n->nstandby; i++)
    if (!strcmp(n->standby[i], rt->self)) return true;
  return false;
}

/* ---- on-demand checkpoint -------------------------------------------------------------- */

void kafu_runtime_request_checkpoint(kafu_runtime *rt, kafu_rt_checkpoint_fn on_ready, void *ctx) {
  pthread_mutex_lock(&rt->ck.mu);
  rt->ck.fn = on_ready;
  rt->ck.ctx = ctx;
  atomic_store(&rt->ck.wanted, true);
  pthread_mutex_unlock(&rt->ck.mu);
}

bool kafu_runtime_cancel_checkpoint(kafu_runtime *rt) {
  pthread_mutex_lock(&rt->ck.mu);
  bool had = atomic_exchange(&rt->ck.wanted, false);
  rt->ck.fn = NULL;
  rt->ck.ctx = NULL;
  pthread_mutex_unlock(&rt->ck.mu);
  return had;
}

bool rt_checkpoint_wanted(kafu_runtime *rt) {
  return rt->o.mode == KAFU_RT_NODE && atomic_load(&rt->ck.wanted);
}

void rt_checkpoint_serve(kafu_runtime *rt) {
  pthread_mutex_lock(&rt->ck.mu);
  kafu_rt_checkpoint_fn fn = rt->ck.fn;
  void *ctx = rt->ck.ctx;
  bool wanted = atomic_exchange(&rt->ck.wanted, false);
  rt->ck.fn = NULL;
  rt->ck.ctx = NULL;
  pthread_mutex_unlock(&rt->ck.mu);
  if (!wanted || !fn) return;
  kafu_snapshot s;
  rt_fill_snapshot(rt, &s);
  s.source_node = rt->cur;
  s.target_node = rt->pend.ckpt_only ? rt->cur : rt->pend.target;
  s.run_id = rt->run.id;
  s.hop = rt->pend.hop;
  s.sender = rt->self;
  s.sender_incarnation = rt->run.incarnation;
  kafu_snap_encode_opts eo = {.compression = rt_snap_compression(rt->cfg), .force_full = true};
  kafu_buf out = {0};
  kafu_err e = {0};
  int rc = kafu_snap_encode_buf(&s, &eo, &out, NULL, &e);
  if (!rc)
    kafu_info("node %s: took a checkpoint on request at %s %s (%zu bytes)", rt->self,
              rt->pend.kind == KAFU_MIG_ENTER ? "the call of" : "the return from",
              rt_fn_name(rt, rt->pend.fn), out.len);
  fn(ctx, out.data, out.len, rc ? e.msg : NULL);
  kafu_buf_free(&out);
}

/*
 * send.c — NODE mode, sender side: after the run loop returned
 * KAFU_RT_MIGRATED, bring this node's memory image up to date with memory
 * (once per checkpoint), tell the server how much a snapshot for a given
 * receiver will carry, encode it (as often as the server retries), and drop
 * the checkpoint once the receiver acknowledged. Whether a snapshot is a delta
 * is the snapshot stage's decision (kafu_snap_plan_memory), asked the same way
 * by the estimate and by the encoder.
 */
#include "runtime_internal.h"

/* Bring the image (and the delta) up to date with memory, once per checkpoint. */
static int image_refresh(kafu_runtime *rt, kafu_err *err) {
  if (rt->send.image_fresh) return 0;
  uint64_t msize = 0;
  uint8_t *mem = kafu_instance_memory(rt->inst, &msize);
  bool full = rt->cfg->migration.mode == KAFU_MEMORY_MIGRATION_FULL;
  /* the written-page set is only a hint for an image we still hold; it must
   * be collected (re-armed) right before the update either way */
  const uint64_t *written = full ? NULL : rt_dirty_collect(rt, msize);
  int rc = kafu_mem_image_update(&rt->image, mem, msize, written, full ? NULL : &rt->send.delta, err);
  if (rc) return rc;
  rt->send.image_fresh = true;
  return 0;
}

/* The delta for a receiver holding image rid: the refresh's (against the
 * image this node held last), or one against the image of a peer this node
 * kept the page hashes of (three or more nodes: the receiver last had the
 * program before this node's last exchange with someone else). Otherwise the
 * refresh's, which the plan then ignores: the full image goes. */
static const kafu_mem_delta *delta_for(kafu_runtime *rt, uint64_t rid) {
  kafu_mem_delta *pd = &rt->send.peer_delta;
  if (!rid || rid == rt->send.delta.base_id || rid == rt->image.id || !rt->peers) return &rt->send.delta;
  if (pd->base_id == rid && pd->new_id == rt->image.id && pd->npages == rt->image.npages) return pd;
  for (size_t i = 0; i < rt->cfg->nnodes; i++) {
    const kafu_mem_image *base = &rt->peers[i].img;
    kafu_err e;
    if (base->id != rid) continue;
    if (kafu_mem_delta_between(base, &rt->image, pd, &e) == 0) return pd;
    pd->base_id = 0;
    break;
  }
  return &rt->send.delta;
}

/* How the pending checkpoint is encoded for a receiver holding receiver_image_id. */
static void encode_opts(kafu_runtime *rt, uint64_t receiver_image_id, kafu_snap_encode_opts *eo) {
  bool full = rt->cfg->migration.mode == KAFU_MEMORY_MIGRATION_FULL;
  *eo = (kafu_snap_encode_opts){0};
  eo->compression = rt_snap_compression(rt->cfg);
  eo->image = &rt->image;
  eo->delta = full ? NULL : delta_for(rt, receiver_image_id);
  eo->receiver_image_id = receiver_image_id;
  eo->force_full = full;
}

/* The identity fields every snapshot this node sends carries (RUN section). */
static void set_identity(kafu_runtime *rt, kafu_snapshot *s) {
  s->source_node = rt->pend.from[0] ? rt->pend.from : rt->self;
  s->target_node = rt->pend.target;
  s->run_id = rt->run.id;
  s->hop = rt->pend.hop;
  s->sender = rt->self;
  s->sender_incarnation = rt->run.incarnation;
}

/* A pending checkpoint held as a decoded snapshot (rt->src): always a full image. */
static int encode_source(kafu_runtime *rt, kafu_snap_write_fn write, void *ctx, kafu_snap_stats *stats,
                         kafu_err *err) {
  uint64_t t0 = kafu_now_ns();
  kafu_snapshot s = rt->src.snap; /* borrowed */
  set_identity(rt, &s);
  s.memory = rt->src.mem;
  if (rt->src.nhost) s.host = rt->src.host, s.nhost = rt->src.nhost; /* a re-armed entry's host state */
  kafu_snap_encode_opts eo = {.compression = rt_snap_compression(rt->cfg), .force_full = true};
  int rc = kafu_snap_encode(&s, &eo, write, ctx, &rt->send.stats, err);
  rt->send.encode_ms = kafu_ms_since(t0);
  if (stats) *stats = rt->send.stats;
  return rc;
}

int kafu_runtime_send_estimate(kafu_runtime *rt, uint64_t receiver_image_id, uint64_t *raw_bytes,
                               kafu_err *err) {
  if (rt->src.active) {
    *raw_bytes = rt->src.snap.memory_size;
    return 0;
  }
  if (!rt->ckpt.have) return kafu_err_setc(&rt->log, err, KAFU_EINVAL, "no pending checkpoint");
  uint64_t t0 = kafu_now_ns();
  int rc = image_refresh(rt, err);
  rt->send.refresh_ms = kafu_ms_since(t0); /* counted in the encode phase */
  if (rc) return rc;
  kafu_snap_encode_opts eo;
  encode_opts(rt, receiver_image_id, &eo);
  kafu_snap_mem_plan plan;
  kafu_snap_plan_memory(&eo, &rt->image, &plan);
  *raw_bytes = plan.pages * KAFU_SNAP_PAGE;
  return 0;
}

int kafu_runtime_encode(kafu_runtime *rt, uint64_t receiver_image_id, kafu_snap_write_fn write, void *ctx,
                        kafu_snap_stats *stats, kafu_err *err) {
  if (rt->src.active) return encode_source(rt, write, ctx, stats, err);
  if (!rt->ckpt.have) return kafu_err_setc(&rt->log, err, KAFU_EINVAL, "no pending checkpoint");
  uint64_t t0 = kafu_now_ns();
  bool refreshed = !rt->send.image_fresh;
  int rc0 = image_refresh(rt, err);
  if (rc0) return rc0;
  if (!refreshed) t0 -= (uint64_t)(rt->send.refresh_ms * 1e6); /* done by kafu_runtime_send_estimate */
  rt->send.refresh_ms = 0;
  rt_holds_put(rt);
  kafu_snapshot s;
  rt_fill_snapshot(rt, &s);
  set_identity(rt, &s);
  kafu_snap_encode_opts eo;
  encode_opts(rt, receiver_image_id, &eo);
  int k = -1; /* compression: auto's choice */
  if (rt->cfg->migration.compression == KAFU_COMPRESSION_AUTO) {
    kafu_snap_mem_plan plan;
    kafu_snap_plan_memory(&eo, &rt->image, &plan);
    k = rt_codec_choose(rt, rt->pend.target, &plan);
    eo.compression = rt_codecs[k].comp;
    eo.level = rt_codecs[k].level;
  }
  int rc = kafu_snap_encode(&s, &eo, write, ctx, &rt->send.stats, err);
  rt->send.encode_ms = kafu_ms_since(t0);
  rt->send.codec = k >= 0 ? rt_codecs[k].name : kafu_snap_comp_name(eo.compression);
  rt->send.codec_k = k;
  if (!rc && k >= 0) rt_codec_learn(rt, k, &rt->send.stats);
  if (stats) *stats = rt->send.stats;
  return rc;
}

void kafu_runtime_sent(kafu_runtime *rt, double transfer_ms) {
  kafu_rt_migration_stats st = {
      .unwind_ms = rt->pend.unwind_ms, .encode_ms = rt->send.encode_ms, .transfer_ms = transfer_ms};
  st.raw_bytes = rt->send.stats.raw_bytes;
  st.wire_bytes = rt->send.stats.wire_bytes;
  st.memory_size = rt->send.stats.memory_size;
  st.delta = rt->send.stats.delta;
  st.compression = rt->send.codec;
  rt->stats.last = st;
  rt->stats.last_rewind_pending = false;
  if (rt->send.codec_k >= 0) rt_codec_measured(rt, rt->pend.target, transfer_ms / 1e3);
  rt_event_migration(rt, rt->self, rt->pend.target, rt->pend.fn, rt->pend.kind, &st);
  rt_nn_mark_sent(rt);
  /* into a call: keep the checkpoint until the call returns (entry.c) */
  kafu_err e = {0};
  if (rt->pend.kind == KAFU_MIG_ENTER && rt_entry_push(rt, &e))
    kafu_warnc(&rt->log, "cannot keep the entry checkpoint of %s: %s; that call cannot fail over",
               rt_fn_name(rt, rt->pend.fn), e.msg);
  rt_ckpt_clear(rt);
  rt_source_clear(rt);
  rt_stack_clear(&rt->stack);
  rt->stats.mig_out++;
}

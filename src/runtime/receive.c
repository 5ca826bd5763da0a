/*
 * receive.c — NODE mode, receiver side, and the decoder every restore goes
 * through (VERIFY mode's too).
 *
 * The decoder writes straight into this node's instance memory. Before it
 * touches memory it checks the module, that the snapshot is addressed to this
 * node, and the whole non-memory state (rt_validate_state). Whatever is
 * refused later (a truncated body, a bad checksum, a file that cannot be
 * reopened) is undone: the decoder puts back the pages of the held image it
 * overwrote and decoder_memory_undo shrinks memory back to its old size, so the
 * node is exactly as before, baseline included. Once finished, the globals,
 * fds and migration stack are restored; kafu_runtime_resume() then rewinds.
 */
#include "runtime_internal.h"

#include <stdio.h>

#include <inttypes.h>
#include <string.h>

static uint8_t *decoder_memory(void *ctx, uint64_t size, kafu_err *err) {
  kafu_runtime *rt = ctx;
  uint64_t cur = 0;
  uint8_t *base = kafu_instance_memory(rt->inst, &cur);
  rt_dirty_before_decode(rt, cur);
  if (size < cur) {
    kafu_err_set(err, KAFU_EINVAL,
                 "snapshot memory (%" PRIu64 " bytes) is smaller than the instance's (%" PRIu64 ")", size,
                 cur);
    return NULL;
  }
  rt->recv.pages_before = kafu_instance_memory_pages(rt->inst);
  rt->recv.grown = size > cur;
  if (size > cur) {
    if (kafu_instance_memory_grow(rt->inst, (uint32_t)((size - cur) / 65536), NULL, err)) return NULL;
    base = kafu_instance_memory(rt->inst, &cur);
  }
  return base;
}

/* The decode was refused: memory grown for it goes back (the program never saw
 * the larger size; wasm's "memory never shrinks" is about the program's view). */
static void decoder_memory_undo(void *ctx) {
  kafu_runtime *rt = ctx;
  if (!rt->recv.grown) return;
  rt->recv.grown = false;
  kafu_err e = {0};
  if (kafu_instance_memory_shrink(rt->inst, rt->recv.pages_before, &e)) {
    /* cannot happen with this engine; never leave a wrong baseline behind */
    kafu_warnc(&rt->log, "%s", e.msg);
    kafu_mem_image_clear(&rt->image);
  }
}

static int decoder_on_meta(void *ctx, const kafu_snapshot *meta, kafu_err *err) {
  kafu_runtime *rt = ctx;
  /* a node takes snapshots addressed to it, or to a node it stands by for */
  if (rt->o.mode == KAFU_RT_NODE && !kafu_runtime_has_role(rt, meta->target_node))
    return kafu_err_set(err, KAFU_EINVAL, "snapshot is addressed to node '%s', this is node '%s'",
                        meta->target_node ? meta->target_node : "", rt->self);
  return 0;
}

static int decoder_on_state(void *ctx, const kafu_snapshot *state, kafu_err *err) {
  kafu_runtime *rt = ctx;
  bool peer = rt->o.mode == KAFU_RT_NODE && !rt->recv_internal;
  int rc = peer && rt->o.admit ? rt->o.admit(rt->o.admit_ctx, state, err) : 0;
  if (!rc) rc = rt_validate_state(rt, state, err);
  /* memory is about to change: an entry checkpoint that stays outstanding
   * must not lose the memory it lives in */
  if (!rc && rt->o.mode == KAFU_RT_NODE) rt_entries_before_receive(rt, state);
  return rc;
}

int rt_new_decoder(kafu_runtime *rt, kafu_mem_image *held, kafu_snap_decoder **out, kafu_err *err) {
  kafu_snap_decoder_opts d = {.expected_module_sha256 = kafu_module_sha256(rt->mod),
                              .on_meta = decoder_on_meta,
                              .on_meta_ctx = rt,
                              .on_state = decoder_on_state,
                              .on_state_ctx = rt,
                              .memory = decoder_memory,
                              .memory_undo = decoder_memory_undo,
                              .memory_ctx = rt,
                              .held = held,
                              .on_runs = rt_dirty_on_runs,
                              .on_runs_ctx = rt,
                              /* only receives have a held image: one at a time */
                              .undo_area = held ? &rt->recv.undo : NULL};
  return kafu_snap_decoder_new(out, &d, err);
}

int kafu_runtime_decoder(kafu_runtime *rt, kafu_snap_decoder **out, kafu_err *err) {
  rt->recv.t_start = kafu_now_ns();
  int rc = rt_new_decoder(rt, &rt->image, out, err);
  rt->recv.dec = rc ? NULL : *out;
  return rc;
}

int kafu_runtime_finish_receive(kafu_runtime *rt, kafu_snap_decoder *dec, kafu_err *err) {
  rt_recv *r = &rt->recv;
  if (r->have) {
    kafu_snapshot_clear(&r->snap);
    r->have = false;
  }
  kafu_snap_stats ds;
  int rc = kafu_snap_decoder_finish(dec, &r->snap, &ds, err);
  r->dec = NULL;
  if (rc) {
    kafu_snap_decoder_free(dec); /* undoes the decode */
    kafu_snapshot_clear(&r->snap);
    return rc;
  }
  r->decode_ms = kafu_ms_since(r->t_start);
  /* memory now equals the received image: what the decoder wrote is not a
   * change to send back; only the program's writes from here on are */
  uint64_t msize = 0;
  kafu_instance_memory(rt->inst, &msize);
  rt_dirty_collect(rt, msize);
  rc = rt_restore_state(rt, &r->snap, &r->restore_ms, err);
  if (rc) {
    /* refused after all (e.g. a file that cannot be reopened here): memory,
     * its size and the baseline go back to what they were */
    kafu_snap_decoder_undo(dec);
    kafu_snap_decoder_free(dec);
    kafu_snapshot_clear(&r->snap);
    return rc;
  }
  kafu_snap_decoder_free(dec);
  rt->stats.last = (kafu_rt_migration_stats){.decode_ms = r->decode_ms,
                                             .restore_ms = r->restore_ms,
                                             .raw_bytes = ds.raw_bytes,
                                             .wire_bytes = ds.wire_bytes,
                                             .memory_size = ds.memory_size,
                                             .delta = ds.delta};
  rt->stats.last_rewind_pending = true;
  rt_entries_after_receive(rt, &r->snap);
  r->have = true;
  rt->stats.mig_in++;
  /* what the others hold, and the sender keeps the image it sent */
  rt_holds_take(rt, &r->snap);
  rt_peer_learn(rt, r->snap.sender ? r->snap.sender : r->snap.source_node);
  return 0;
}

int kafu_runtime_resume(kafu_runtime *rt, kafu_rt_result *res, kafu_err *err) {
  rt_recv *r = &rt->recv;
  if (!r->have) return kafu_err_setc(&rt->log, err, KAFU_EINVAL, "nothing received to resume");
  /* as the node it was addressed to: a standby runs the program as the node it stands in for */
  rt_set_cur(rt, r->snap.target_node ? r->snap.target_node : rt->self);
  /* the restore record waits for the rewind (hook.c), so it carries rewind_ms */
  rt->ev.restore_pending = true;
  snprintf(rt->ev.restore_from, sizeof rt->ev.restore_from, "%s", r->snap.source_node ? r->snap.source_node : "");
  rt->ev.decode_ms = r->decode_ms;
  rt->ev.restore_ms = r->restore_ms;
  kafu_snapshot_clear(&r->snap);
  r->have = false;
  return rt_run(rt, true, res, err);
}

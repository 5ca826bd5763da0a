/*
 * verify.c — VERIFY mode (`kafu singlenode serve --verify`): every migration
 * is a real checkpoint -> encode -> fresh instance -> decode -> restore inside
 * one process, so a single-node run proves the program survives migration.
 * The old instance is dropped before decoding: only the snapshot carries state.
 * With --save-snapshots each encoded snapshot is also written to a file.
 */
#include "runtime_internal.h"

#include <inttypes.h>

int rt_verify_hop(kafu_runtime *rt, kafu_err *err) {
  kafu_rt_migration_stats st = {.unwind_ms = rt->pend.unwind_ms};
  int rc = rt_capture(rt, err);
  if (rc) return rc;
  kafu_snapshot s;
  rt_fill_snapshot(rt, &s);
  kafu_buf wire = {0};
  kafu_snap_stats es;
  kafu_snap_encode_opts eo = {0};
  eo.compression = rt_snap_compression(rt->cfg);
  eo.force_full = true;
  uint64_t t0 = kafu_now_ns();
  rc = kafu_snap_encode_buf(&s, &eo, &wire, &es, err);
  st.encode_ms = kafu_ms_since(t0);
  rt_ckpt_clear(rt);
  if (rc) {
    kafu_buf_free(&wire);
    return kafu_err_prefix(err, "%s: encoding snapshot", rt->log.prefix);
  }
  char from_copy[64];
  snprintf(from_copy, sizeof from_copy, "%s", s.source_node);
  if (rt->o.snapshot_dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%04" PRIu64 "-%s-%s.kafusnap", rt->o.snapshot_dir, rt->stats.mig_out + 1,
             from_copy, rt->pend.target);
    rc = kafu_write_file_atomic(path, wire.data, wire.len, err);
    if (rc) {
      kafu_buf_free(&wire);
      return kafu_err_prefix(err, "%s: saving the snapshot", rt->log.prefix);
    }
  }

  /* the old instance is gone from here on: only the snapshot carries state */
  rc = rt_fresh_instance(rt, err);
  if (rc) {
    kafu_buf_free(&wire);
    return kafu_err_prefix(err, "node %s", rt->pend.target);
  }
  kafu_snap_decoder *dec = NULL;
  t0 = kafu_now_ns();
  rc = rt_new_decoder(rt, NULL, &dec, err);
  kafu_snapshot got = {0};
  kafu_snap_stats ds;
  if (!rc) rc = kafu_snap_decoder_feed(dec, wire.data, wire.len, err);
  if (!rc) rc = kafu_snap_decoder_finish(dec, &got, &ds, err);
  if (dec) kafu_snap_decoder_free(dec);
  st.decode_ms = kafu_ms_since(t0);
  kafu_buf_free(&wire);
  if (rc) return kafu_err_prefix(err, "node %s: snapshot rejected", rt->pend.target);
  rt_set_cur(rt, got.target_node ? got.target_node : rt->pend.target);
  rc = rt_restore_state(rt, &got, &st.restore_ms, err);
  kafu_snapshot_clear(&got);
  if (rc) return rc;
  st.raw_bytes = es.raw_bytes;
  st.wire_bytes = es.wire_bytes;
  st.memory_size = es.memory_size;
  st.delta = es.delta;
  rt->ev.stats = st;
  snprintf(rt->ev.from, sizeof rt->ev.from, "%s", from_copy);
  rt->ev.pending = true; /* written by the hook when the rewind reaches it */
  rt->stats.mig_out++;
  rt->stats.mig_in++;
  return 0;
}

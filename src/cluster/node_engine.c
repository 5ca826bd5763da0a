/*
 * node_engine.c — the node's engine thread: it creates the runtime, runs the
 * program (coordinator: after every peer is ready), resumes it after each
 * received snapshot, and decides what a run's result means for the cluster
 * (send the snapshot on, or end the run). HTTP threads get runtime work done
 * through its one-slot mailbox (kafu_node_engine_call).
 *
 * Only the engine thread calls into the runtime, with one exception: the HTTP
 * thread of POST /migrate feeds body pieces to the decoder (kafu_snap_decoder_
 * feed) while the state is `receiving`, i.e. while the engine thread is
 * parked. Decoder set-up, final validation + restore, and discarding a failed
 * decoder are run by the engine thread on the HTTP thread's behalf through the
 * mailbox (or, while it is parked, by the HTTP thread itself: call_inline), so
 * the runtime is never used concurrently.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"

static void set_state(kafu_node *n, kafu_node_state s) {
  pthread_mutex_lock(&n->mu);
  if (n->state != KAFU_NODE_FINISHED) n->state = s;
  kafu_node_refresh_cache(n);
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

/* What kafu_runtime_run/resume returned: leave, or end the run. */
static void after_run(kafu_node *n, int rc, kafu_rt_result *res, kafu_err *err) {
  char reason[1200];
  if (rc < 0) {
    snprintf(reason, sizeof reason, "%s: %s", n->log.prefix, err->msg);
    kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
    return;
  }
  switch (res->status) {
    case KAFU_RT_MIGRATED: {
      set_state(n, KAFU_NODE_SENDING);
      kafu_err serr = {0};
      if (kafu_node_send_snapshot(n, res->target, &serr) == 0) {
        set_state(n, KAFU_NODE_IDLE);
        return;
      }
      pthread_mutex_lock(&n->mu);
      bool done = n->done;
      pthread_mutex_unlock(&n->mu);
      if (done) return; /* shut down while sending: nothing to report */
      snprintf(reason, sizeof reason, "%s: the program cannot continue: %s", n->log.prefix, serr.msg);
      kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
      return;
    }
    case KAFU_RT_FINISHED:
    case KAFU_RT_EXITED:
      snprintf(reason, sizeof reason, "program %s on node %s with exit code %d",
               res->status == KAFU_RT_FINISHED ? "finished" : "exited (proc_exit)", n->self, res->exit_code);
      kafu_node_end_cluster(n, n->eng_cl, res->exit_code,
                            res->status == KAFU_RT_FINISHED ? "finished" : "exited", false, reason);
      return;
    case KAFU_RT_TRAPPED:
    case KAFU_RT_FAILED: {
      /* the runtime's message may already start with "node <self>: " */
      const char *msg = res->message[0] ? res->message : "(no message)";
      char own[sizeof n->log.prefix + 2];
      snprintf(own, sizeof own, "%s: ", n->log.prefix);
      if (!strncmp(msg, own, strlen(own))) msg += strlen(own);
      snprintf(reason, sizeof reason, "program %s on node %s: %s",
               res->status == KAFU_RT_TRAPPED ? "trapped" : "failed", n->self, msg);
      kafu_node_end_cluster(n, n->eng_cl, res->exit_code ? res->exit_code : KAFU_EXIT_CLUSTER,
                            res->status == KAFU_RT_TRAPPED ? "trapped" : "failed", true, reason);
      return;
    }
  }
}

static void set_in_wasm(kafu_node *n, bool v) {
  pthread_mutex_lock(&n->mu);
  n->engine_in_wasm = v;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

static int create_runtime(kafu_node *n, kafu_err *err) {
  uint8_t *wasm = NULL;
  size_t len = 0;
  int rc = kafu_config_load_app(n->cfg, &wasm, &len, err);
  if (rc) return rc;
  kafu_runtime_opts ro = {0};
  ro.cfg = n->cfg;
  ro.wasm = wasm;
  ro.wasm_len = len;
  ro.self = n->self;
  ro.mode = KAFU_RT_NODE;
  ro.events = n->events;
  ro.engine = n->o.engine;
  rc = kafu_runtime_new(&ro, &n->rt, err);
  free(wasm);
  if (rc) return rc;
  pthread_mutex_lock(&n->mu);
  snprintf(n->module_sha, sizeof n->module_sha, "%s", kafu_module_sha256_hex(kafu_runtime_module(n->rt)));
  pthread_mutex_unlock(&n->mu);
  return 0;
}

/* The runtime work of one call, n->mu NOT held: on the engine thread, or on
 * an HTTP thread while it borrows the parked engine (see call_inline). */
static int do_call(kafu_node *n, kafu_call_kind kind, kafu_snap_decoder **decp, kafu_err *err) {
  int rc = 0;
  switch (kind) {
    case KAFU_CALL_DECODER:
      *decp = NULL;
      rc = kafu_runtime_decoder(n->rt, decp, err);
      break;
    case KAFU_CALL_FINISH:
      rc = kafu_runtime_finish_receive(n->rt, *decp, err);
      *decp = NULL;
      break;
    case KAFU_CALL_ABORT:
      kafu_snap_decoder_free(*decp);
      *decp = NULL;
      break;
    case KAFU_CALL_NONE:
      break;
  }
  if (kind == KAFU_CALL_FINISH && rc == 0) {
    kafu_rt_migration_stats ls;
    kafu_runtime_last_stats(n->rt, &ls);
    kafu_metrics_observe_decode(&n->metrics, &ls);
    /* the sender keeps the image it sent as its baseline: remember it, so our
     * next send to it needs no GET /baseline */
    const char *from = kafu_runtime_received_from(n->rt);
    int fi = from ? kafu_config_node_index(n->cfg, from) : -1;
    if (fi >= 0 && fi != n->self_idx) n->tx.peer_image[fi] = kafu_runtime_image_id(n->rt);
    kafu_logc(&n->log, kafu_metrics_note(&n->metrics, &n->log, true, n->recv_bytes) ? KAFU_LOG_INFO : KAFU_LOG_DEBUG,
              "received a snapshot (%" PRIu64 " bytes, %.2f ms), validated and restored; resuming", n->recv_bytes,
              n->recv_ms);
  }
  return rc;
}

/* The state change after a call, n->mu held. */
static void after_call_locked(kafu_node *n, kafu_call_kind kind, int rc) {
  if (kind == KAFU_CALL_FINISH && rc == 0) {
    if (n->state != KAFU_NODE_FINISHED) n->state = KAFU_NODE_RUNNING;
    n->mbox.resume = true;
  } else if (kind != KAFU_CALL_DECODER || rc != 0) {
    if (n->state == KAFU_NODE_RECEIVING) n->state = KAFU_NODE_IDLE;
  }
  kafu_node_refresh_cache(n);
}

/* Serve one mailbox call (engine thread, n->mu NOT held). */
static void serve_call(kafu_node *n) {
  kafu_err err = {0};
  kafu_snap_decoder *dec = n->mbox.dec;
  int rc = do_call(n, n->mbox.kind, &dec, &err);
  pthread_mutex_lock(&n->mu);
  after_call_locked(n, n->mbox.kind, rc);
  n->mbox.dec = dec;
  n->mbox.rc = rc;
  n->mbox.err = err;
  n->mbox.done = true;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

void *kafu_node_engine_main(void *arg) {
  kafu_node *n = arg;
  kafu_err err = {0};
  char reason[1200];
  if (create_runtime(n, &err)) {
    snprintf(reason, sizeof reason, "%s: cannot load the program: %s", n->log.prefix, err.msg);
    pthread_mutex_lock(&n->mu);
    snprintf(n->not_ready, sizeof n->not_ready, "%s", reason);
    pthread_mutex_unlock(&n->mu);
    kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
    goto out;
  }
  pthread_mutex_lock(&n->mu);
  n->ready = true;
  n->not_ready[0] = 0;
  if (n->state == KAFU_NODE_STARTING && !n->coordinator) n->state = KAFU_NODE_IDLE;
  kafu_node_refresh_cache(n);
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  kafu_infoc(&n->log, "ready on %s (module %.12s)", n->hostport, n->module_sha);

  if (n->coordinator) {
    if (kafu_node_wait_peers(n, &err)) {
      pthread_mutex_lock(&n->mu);
      bool done = n->done;
      pthread_mutex_unlock(&n->mu);
      if (!done) {
        snprintf(reason, sizeof reason, "%s: %s", n->log.prefix, err.msg);
        kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
      }
      goto out;
    }
    pthread_mutex_lock(&n->mu);
    if (n->done) {
      pthread_mutex_unlock(&n->mu);
      goto out;
    }
    n->started = true;
    n->state = KAFU_NODE_RUNNING;
    for (size_t i = 0; i < n->cfg->nnodes; i++) n->last_seen[i] = kafu_now_ns();
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    kafu_rt_result res;
    set_in_wasm(n, true);
    int rc = kafu_runtime_run(n->rt, &res, &err);
    set_in_wasm(n, false);
    after_run(n, rc, &res, &err);
  }

  pthread_mutex_lock(&n->mu);
  for (;;) {
    n->engine_parked = true;
    while (!n->done && !(n->mbox.kind != KAFU_CALL_NONE && !n->mbox.done) && !n->mbox.resume)
      pthread_cond_wait(&n->cv, &n->mu);
    n->engine_parked = false;
    if (n->mbox.kind != KAFU_CALL_NONE && !n->mbox.done) {
      pthread_mutex_unlock(&n->mu);
      serve_call(n);
      pthread_mutex_lock(&n->mu);
      continue;
    }
    if (n->done) break;
    if (n->mbox.resume) {
      n->mbox.resume = false;
      pthread_mutex_unlock(&n->mu);
      kafu_rt_result res;
      set_in_wasm(n, true);
      int rc = kafu_runtime_resume(n->rt, &res, &err);
      set_in_wasm(n, false);
      kafu_rt_migration_stats ls;
      kafu_runtime_last_stats(n->rt, &ls); /* still this receive's: nothing was sent yet */
      kafu_metrics_observe_rewind(&n->metrics, &ls);
      after_run(n, rc, &res, &err);
      pthread_mutex_lock(&n->mu);
    }
  }
  pthread_mutex_unlock(&n->mu);
out:
  pthread_mutex_lock(&n->mu);
  n->engine_running = false;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  return NULL;
}

/* A call made while the engine thread is parked with nothing to do runs
 * right here on the HTTP thread instead of through the mailbox. For decoder
 * set-up that saves two thread wake-ups (each up to ~0.1 ms on a loaded
 * machine) before the first body byte is decoded; for the final validation
 * and restore, the 200 goes out at once from the thread that is already
 * running, while the engine thread wakes to resume (before, the engine
 * resumed first and the HTTP thread had to be woken to answer, which the
 * sender waits for). n->mbox.borrowed keeps every other mailbox user out
 * meanwhile; the parked engine thread wakes only for a call, a resume or the
 * end, and none of those can start while this call has not returned (the
 * end makes it leave without touching the runtime). Nothing in a call runs
 * guest code. $KAFU_ENGINE_INLINE=0 always uses the mailbox (for comparison). */
static bool call_inline(kafu_node *n) {
  return kafu_tunables_get()->engine_inline && n->engine_running && n->engine_parked && !n->mbox.borrowed &&
         n->mbox.kind == KAFU_CALL_NONE && !n->mbox.resume && !n->done && n->rt;
}

int kafu_node_engine_call(kafu_node *n, kafu_call_kind kind, kafu_snap_decoder **dec, kafu_err *err) {
  pthread_mutex_lock(&n->mu);
  while ((n->mbox.kind != KAFU_CALL_NONE || n->mbox.borrowed) && n->engine_running)
    pthread_cond_wait(&n->cv, &n->mu);
  if (call_inline(n)) {
    n->mbox.borrowed = true;
    pthread_mutex_unlock(&n->mu);
    kafu_err e = {0};
    int rc = do_call(n, kind, dec, &e);
    pthread_mutex_lock(&n->mu);
    after_call_locked(n, kind, rc);
    n->mbox.borrowed = false;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    if (rc && err) *err = e;
    return rc;
  }
  if (!n->engine_running) {
    pthread_mutex_unlock(&n->mu);
    if (kind != KAFU_CALL_DECODER && *dec) kafu_snap_decoder_free(*dec);
    return kafu_err_setc(&n->log, err, KAFU_EIO, "shutting down");
  }
  n->mbox.kind = kind;
  n->mbox.dec = *dec;
  n->mbox.done = false;
  pthread_cond_broadcast(&n->cv);
  while (!n->mbox.done && n->engine_running) pthread_cond_wait(&n->cv, &n->mu);
  int rc;
  if (!n->mbox.done) {
    /* the engine thread exited without taking the call: the decoder handed in
     * for FINISH/ABORT was never consumed */
    if (kind != KAFU_CALL_DECODER && *dec) {
      kafu_snap_decoder_free(*dec);
      *dec = NULL;
    }
    rc = kafu_err_setc(&n->log, err, KAFU_EIO, "shutting down");
  } else {
    rc = n->mbox.rc;
    if (rc && err) *err = n->mbox.err;
    *dec = n->mbox.dec;
  }
  n->mbox.kind = KAFU_CALL_NONE;
  n->mbox.dec = NULL;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  return rc;
}

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
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>

#include "node_internal.h"

/* The longest a restored program waits for its 200 to be written (normally
 * microseconds; see kafu_node_answered). */
#define ANSWER_WAIT_MS 50

/* park: the engine thread touches the runtime no more before it waits in its
 * loop (idle after the send of a run's result), so it counts as parked from
 * here on. A peer that sends the program straight back (ping-pong) then gets
 * its decoder from the HTTP thread itself (call_inline) instead of waking the
 * engine thread through the mailbox, which it has not reached yet. */
static void set_state_park(kafu_node *n, kafu_node_state s, bool park) {
  pthread_mutex_lock(&n->mu);
  if (n->state != KAFU_NODE_FINISHED) n->state = s;
  kafu_node_refresh_cache(n);
  if (park) n->engine_parked = true;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}
static void set_state(kafu_node *n, kafu_node_state s) { set_state_park(n, s, false); }

/* Send the pending checkpoint to node id target (hop 0 = the next one);
 * park: the caller returns to the engine loop right after (set_state_park).
 * Returns true when it was delivered. A checkpoint the cluster has moved past
 * (a receiver saw a later hop: this copy was superseded by a failover) is
 * dropped; any other failure ends the run, explained by `what` (NULL: "the
 * program cannot continue"). */
static bool send_pending(kafu_node *n, const char *target, uint64_t hop, const char *what, bool park) {
  char reason[1600];
  set_state(n, KAFU_NODE_SENDING);
  kafu_err serr = {0};
  int rc = kafu_node_send_snapshot(n, target, hop, &serr);
  if (rc == 0) {
    set_state_park(n, KAFU_NODE_IDLE, park);
    return true;
  }
  if (rc == KAFU_ESTALE) {
    kafu_warnc(&n->log, "dropped this copy of the program: %s (the run went on without it)", serr.msg);
    kafu_runtime_discard_pending(n->rt);
    set_state(n, KAFU_NODE_IDLE);
    return false;
  }
  pthread_mutex_lock(&n->mu);
  bool done = n->done;
  pthread_mutex_unlock(&n->mu);
  if (done) return false; /* shut down while sending: nothing to report */
  snprintf(reason, sizeof reason, "node %s: %.500s: %.1000s", n->self,
           what ? what : "the program cannot continue", serr.msg);
  kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
  return false;
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
    case KAFU_RT_MIGRATED:
      send_pending(n, res->target, 0, NULL, true);
      return;
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
  if (n->done) pthread_cond_broadcast(&n->cv); /* only kafu_node_free waits for this, once done */
  pthread_mutex_unlock(&n->mu);
}

static int create_runtime(kafu_node *n, kafu_err *err) {
  uint8_t *wasm = NULL;
  size_t len = 0;
  int rc = kafu_config_load_app(n->cfg, &wasm, &len, err);
  if (rc) return rc;
  uint8_t sha[KAFU_SHA256_LEN];
  char sha_hex[2 * KAFU_SHA256_LEN + 1];
  kafu_sha256(wasm, len, sha);
  kafu_hex(sha, sizeof sha, sha_hex);
  pthread_mutex_lock(&n->mu);
  if (n->cfg->nnodes > 1 && !n->app_wasm && (n->app_wasm = malloc(len ? len : 1))) {
    memcpy(n->app_wasm, wasm, len);
    n->app_wasm_len = len;
  }
  snprintf(n->module_sha, sizeof n->module_sha, "%s", sha_hex); /* peers may ask for its code now */
  pthread_mutex_unlock(&n->mu);
  kafu_runtime_opts ro = {0};
  ro.cfg = n->cfg;
  ro.wasm = wasm;
  ro.wasm_len = len;
  ro.self = n->self;
  ro.mode = KAFU_RT_NODE;
  ro.events = n->events;
  ro.engine = n->o.engine;
  ro.admit = kafu_node_admit;
  ro.admit_ctx = n;
  ro.home = n->home;
  ro.link = (kafu_wasi_link){kafu_node_io_call, n};
  rc = kafu_runtime_new(&ro, &n->rt, err);
  if (rc == KAFU_ENOCODE && n->cfg->nnodes > 1) {
    /* no compiler here: a peer may have (or build) code for this machine */
    kafu_infoc(&n->log, "%s; asking the peers for compiled code for %s", err->msg, kafu_engine_arch());
    pthread_mutex_lock(&n->mu);
    snprintf(n->not_ready, sizeof n->not_ready, "fetching compiled code for %s from peers", kafu_engine_arch());
    pthread_mutex_unlock(&n->mu);
    rc = kafu_node_fetch_artifact(n, sha_hex, err);
    if (!rc) rc = kafu_runtime_new(&ro, &n->rt, err);
  }
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
      kafu_runtime_set_migration_id(n->rt, n->recv_id);
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
    const kafu_snapshot *got = kafu_runtime_received(n->rt);
    /* the node process that sent it (a standby may send for another id) */
    const char *sender = got->sender ? got->sender : got->source_node;
    int si = sender ? kafu_config_node_index(n->cfg, sender) : -1;
    int fi = got->source_node ? kafu_config_node_index(n->cfg, got->source_node) : -1;
    pthread_mutex_lock(&n->mu);
    if (got->run_id) kafu_node_learn_locked(n, si, got->sender_incarnation, got->run_id, got->hop);
    if (fi >= 0 && si >= 0) n->run.route[fi] = si; /* who serves that node id now */
    pthread_mutex_unlock(&n->mu);
    kafu_logc(&n->log,
              kafu_metrics_note(&n->metrics, &n->log, true, n->recv_bytes) ? KAFU_LOG_INFO : KAFU_LOG_DEBUG,
              "received a snapshot (%" PRIu64 " bytes, %.2f ms), validated and restored; resuming",
              n->recv_bytes, n->recv_ms);
  }
  return rc;
}

/* The state change after a call, n->mu held. */
static void after_call_locked(kafu_node *n, kafu_call_kind kind, int rc) {
  if (kind == KAFU_CALL_FINISH && rc == 0) {
    if (n->state != KAFU_NODE_FINISHED) n->state = KAFU_NODE_RUNNING;
    n->mbox.answer_pending = true;
    n->mbox.answer_deadline = kafu_now_ns() + ANSWER_WAIT_MS * 1000000ull;
  } else if (kind != KAFU_CALL_DECODER || rc != 0) {
    if (n->state == KAFU_NODE_RECEIVING) n->state = KAFU_NODE_IDLE;
  }
  kafu_node_refresh_cache(n);
}

void kafu_node_answered(kafu_node *n) {
  pthread_mutex_lock(&n->mu);
  if (n->mbox.answer_pending) {
    n->mbox.answer_pending = false;
    n->mbox.resume = true;
    pthread_cond_broadcast(&n->cv);
  }
  pthread_mutex_unlock(&n->mu);
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

/* --events: one failover record (engine thread: the runtime's events are
 * written from here too, so lines never mix). */
static void event_failover(kafu_node *n, const kafu_rt_entry_info *e, const char *lost, const char *to,
                           uint64_t hop, double recover_ms, bool ok, const char *message) {
  if (!n->events) return;
  flock(fileno(n->events), LOCK_EX); /* the file stays in time order (src/runtime/events.c) */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  kafu_buf b = {0};
  kafu_buf_printf(&b, "{\"type\":\"failover\",\"time_ns\":%" PRIu64 ",\"node\":",
                  (uint64_t)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec));
  kafu_json_quote(&b, n->self);
  kafu_buf_printf(&b, ",\"lost\":");
  kafu_json_quote(&b, lost);
  kafu_buf_printf(&b, ",\"function\":");
  kafu_json_quote(&b, e->function);
  kafu_buf_printf(&b, ",\"fn_id\":%u,\"target\":", e->fn_id);
  kafu_json_quote(&b, e->target);
  kafu_buf_printf(&b, ",\"to\":");
  kafu_json_quote(&b, to ? to : "");
  kafu_buf_printf(&b, ",\"hop\":%" PRIu64 ",\"entry_hop\":%" PRIu64 ",\"recover_ms\":%.3f,\"ok\":%s", hop,
                  e->hop, recover_ms, ok ? "true" : "false");
  if (message) {
    kafu_buf_printf(&b, ",\"message\":");
    kafu_json_quote(&b, message);
  }
  kafu_buf_printf(&b, "}\n");
  fwrite(b.data, 1, b.len, n->events);
  fflush(n->events);
  flock(fileno(n->events), LOCK_UN);
  kafu_buf_free(&b);
}

/* Failover (engine thread, node idle): the node running the call of our
 * innermost entry checkpoint was lost and nobody holds the program. Send the
 * entry again, in a new hop epoch, to the call's node id (waiting for it to
 * come back) or its standbys, and the call runs again from its entry. */
static void failover(kafu_node *n) {
  pthread_mutex_lock(&n->mu);
  bool go = n->fo.requested && !n->done && n->state == KAFU_NODE_IDLE && n->ent.n &&
            n->ent.inner_hop == n->fo.entry_hop;
  n->fo.requested = false;
  uint64_t hop = n->fo.hop, t_lost = n->fo.t_lost;
  char lost[64], why[1000];
  snprintf(lost, sizeof lost, "%s", n->fo.lost);
  snprintf(why, sizeof why, "%s", n->fo.why);
  if (go) n->state = KAFU_NODE_SENDING;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  if (!go) return;
  kafu_rt_entry_info e;
  kafu_runtime_entry_get(n->rt, kafu_runtime_entry_count(n->rt) - 1, &e);
  char fn[128], target[64];
  snprintf(fn, sizeof fn, "%s", e.function);
  snprintf(target, sizeof target, "%s", e.target);
  kafu_metrics_add(&n->metrics, &n->metrics.failover_attempts, 1);
  int li = kafu_config_node_index(n->cfg, lost);
  if (li >= 0) kafu_runtime_peer_unknown(n->rt, lost); /* whatever it held is gone */
  kafu_err err = {0};
  char reason[1600];
  if (kafu_runtime_rearm_entry(n->rt, target, &err)) {
    event_failover(n, &e, lost, NULL, hop, 0, false, err.msg);
    snprintf(reason, sizeof reason, "node %s: %.500s while running %s, and %s cannot run again: %.600s",
             n->self, why, fn, fn, err.msg);
    kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
    return;
  }
  kafu_infoc(&n->log, "re-running %s from its entry checkpoint (hop %" PRIu64 "): sending it to %s%s", fn,
             hop, target,
             n->cfg->nodes[kafu_config_node_index(n->cfg, target)].nstandby ? " or its standbys" : "");
  snprintf(reason, sizeof reason, "%.500s while running %s, and %s could not run again", why, fn, fn);
  kafu_rt_entry_info e0 = e;
  e0.function = fn, e0.target = target;
  if (!send_pending(n, target, hop, reason, false)) {
    event_failover(n, &e0, lost, NULL, hop, kafu_ms_since(t_lost), false, reason);
    return;
  }
  double ms = kafu_ms_since(t_lost);
  pthread_mutex_lock(&n->mu);
  int ti = kafu_config_node_index(n->cfg, target);
  const char *to = n->cfg->nodes[n->run.route[ti]].id;
  pthread_mutex_unlock(&n->mu);
  pthread_mutex_lock(&n->metrics.mu);
  n->metrics.failover_successes++;
  n->metrics.failover_recover_sum += ms / 1000.0;
  pthread_mutex_unlock(&n->metrics.mu);
  if (strcmp(to, target))
    kafu_warnc(&n->log, "%s runs again from its entry on %s, standby for %s (%.0f ms after %s was lost)", fn,
               to, target, ms, lost);
  else
    kafu_warnc(&n->log, "%s runs again from its entry on %s (%.0f ms after %s was lost)", fn, to, ms, lost);
  event_failover(n, &e0, lost, to, hop, ms, true, NULL);
}

/* Followers, and a coordinator that finds a run in progress: ask the peers
 * what run they take part in before taking any snapshot (a restarted node
 * must not accept a replay of what it had seen before it died). */
static void join(kafu_node *n) {
  kafu_peer_view *v = calloc(n->cfg->nnodes, sizeof *v);
  if (v) kafu_node_survey(n, n->eng_cl, v, 1000);
  free(v);
  pthread_mutex_lock(&n->mu);
  n->run.joined = true;
  uint64_t run = n->run.id, hop = n->run.hop;
  if (run) kafu_runtime_set_run(n->rt, run, n->incarnation);
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  (void)hop; /* kafu_node_learn_locked said which run it joined */
}

/* POST /run to every follower: the run that starts. A follower that takes
 * part in another run makes the coordinator join that one (returns 1). */
static int announce_run(kafu_node *n) {
  kafu_buf body = {0};
  kafu_node_identity_body(n, &body);
  int found = 0;
  for (size_t i = 0; i < n->cfg->nnodes; i++) {
    if ((int)i == n->self_idx) continue;
    kafu_err e = {0};
    long st = 0;
    kafu_buf resp = {0};
    kafu_http_client *c = kafu_node_client(n, n->eng_cl, i, &e);
    int rc = c ? kafu_http_post(c, "/run", body.data, body.len, 2000, &st, &resp, &e) : -1;
    if (rc == 0 && st == 409) {
      char hex[40] = "";
      uint64_t other = 0;
      long long hop = 0;
      kafu_json_get_str((const char *)resp.data, resp.len, "message", hex, sizeof hex);
      kafu_warnc(&n->log, "node %s takes part in another run: %.*s", n->cfg->nodes[i].id, (int)resp.len,
                 resp.data ? (const char *)resp.data : "");
      (void)other, (void)hop;
      found = 1;
    } else if (rc || st != 200) {
      kafu_warnc(&n->log, "could not tell node %s that the run starts (%s); it learns it from heartbeats",
                 n->cfg->nodes[i].id, rc ? e.msg : "unexpected answer");
    }
    kafu_buf_free(&resp);
  }
  kafu_buf_free(&body);
  return found;
}

/* The coordinator: join a run in progress (it restarted), or start one:
 * `_start`, or the snapshot of kafu restore. */
static void coordinator_start(kafu_node *n) {
  kafu_err err = {0};
  char reason[1600];
  /* a restarted coordinator must not start the program again */
  join(n);
  pthread_mutex_lock(&n->mu);
  bool in_run = n->run.id != 0;
  if (in_run) n->started = true, n->state = KAFU_NODE_IDLE;
  for (size_t i = 0; i < n->cfg->nnodes; i++) n->last_seen[i] = kafu_now_ns();
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  if (in_run) {
    kafu_warnc(&n->log, "not starting the program: it is running already (this node restarted)");
    return;
  }
  /* kafu restore: the snapshot is checked before anything starts */
  uint8_t *snap = NULL;
  size_t snap_len = 0;
  bool local = false;
  if (n->o.restore_path) {
    if (kafu_read_file(n->o.restore_path, &snap, &snap_len, &err) ||
        kafu_runtime_arm_snapshot(n->rt, snap, snap_len, &err)) {
      snprintf(reason, sizeof reason, "node %s: cannot restore %s: %s", n->self, n->o.restore_path, err.msg);
      free(snap);
      kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
      return;
    }
    kafu_rt_pending_info pi;
    kafu_runtime_pending(n->rt, &pi);
    local = kafu_runtime_has_role(n->rt, pi.target);
    kafu_infoc(&n->log, "restoring %s: the program resumes on %s (%s %s)", n->o.restore_path, pi.target,
               pi.kind == KAFU_MIG_ENTER ? "entering" : "returning from", pi.function);
    if (local) kafu_runtime_discard_pending(n->rt);
  }
  int wp = kafu_node_wait_peers(n, &err);
  uint64_t run = 0;
  while (!run)
    if (getrandom(&run, sizeof run, 0) != sizeof run) run = kafu_now_ns();
  pthread_mutex_lock(&n->mu);
  bool done = n->done;
  if (!done && !wp && !n->run.id) {
    n->run.id = run;
    n->run.hop = 0;
    kafu_runtime_set_run(n->rt, run, n->incarnation);
  }
  pthread_mutex_unlock(&n->mu);
  if (!done && !wp && announce_run(n)) wp = 1;
  if (wp < 0 || done) {
    if (!done) {
      snprintf(reason, sizeof reason, "node %s: %s", n->self, err.msg);
      kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
    }
    free(snap);
    return;
  }
  if (wp == 1) { /* a peer takes part in a run already */
    free(snap);
    kafu_runtime_discard_pending(n->rt);
    join(n);
    pthread_mutex_lock(&n->mu);
    n->started = true;
    n->state = KAFU_NODE_IDLE;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    kafu_warnc(&n->log, "not starting the program: a peer takes part in a run in progress");
    return;
  }
  char id[17];
  kafu_id_str(run, id);
  kafu_infoc(&n->log, "run %s starts", id);
  pthread_mutex_lock(&n->mu);
  n->started = true;
  n->state = n->o.restore_path && !local ? KAFU_NODE_SENDING : KAFU_NODE_RUNNING;
  for (size_t i = 0; i < n->cfg->nnodes; i++) n->last_seen[i] = kafu_now_ns();
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  kafu_rt_result res;
  int rc;
  if (n->o.restore_path && !local) {
    kafu_rt_pending_info pi;
    kafu_runtime_pending(n->rt, &pi);
    char target[64];
    snprintf(target, sizeof target, "%s", pi.target);
    free(snap);
    send_pending(n, target, 0, "cannot hand the restored program over", false);
    return;
  }
  set_in_wasm(n, true);
  if (n->o.restore_path)
    rc = kafu_runtime_restore(n->rt, snap, snap_len, &res, &err);
  else
    rc = kafu_runtime_run(n->rt, &res, &err);
  set_in_wasm(n, false);
  free(snap);
  after_run(n, rc, &res, &err);
}

void *kafu_node_engine_main(void *arg) {
  kafu_node *n = arg;
  kafu_err err = {0};
  char reason[1200];
  if (create_runtime(n, &err)) {
    /* err already names this node when the runtime said it */
    size_t pl = strlen(n->log.prefix);
    const char *why =
        !strncmp(err.msg, n->log.prefix, pl) && !strncmp(err.msg + pl, ": ", 2) ? err.msg + pl + 2 : err.msg;
    snprintf(reason, sizeof reason, "%s: cannot load the program: %s", n->log.prefix, why);
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

  if (n->coordinator)
    coordinator_start(n);
  else
    join(n);

  pthread_mutex_lock(&n->mu);
  for (;;) {
    n->engine_parked = true;
    while (!n->done && !(n->mbox.kind != KAFU_CALL_NONE && !n->mbox.done) && !n->mbox.resume &&
           !(n->fo.requested && !n->mbox.borrowed)) {
      if (!n->mbox.answer_pending) {
        pthread_cond_wait(&n->cv, &n->mu);
      } else if (kafu_now_ns() < n->mbox.answer_deadline) {
        kafu_node_wait_until(n, &n->cv, n->mbox.answer_deadline);
      } else { /* the answer's completion was not reported: resume anyway */
        n->mbox.answer_pending = false;
        n->mbox.resume = true;
      }
    }
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
      continue;
    }
    if (n->fo.requested) {
      pthread_mutex_unlock(&n->mu);
      failover(n);
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
         n->mbox.kind == KAFU_CALL_NONE && !n->mbox.resume && !n->mbox.answer_pending && !n->fo.requested &&
         !n->done && n->rt;
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

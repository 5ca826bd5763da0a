/*
 * node.c — one node of a Kafu cluster (`kafu serve`): its state machine,
 * lifecycle (start, wait, stop, free) and the end of a run. The engine thread
 * and its mailbox are in node_engine.c, the send transport in node_send.c,
 * the endpoints in endpoints.c, liveness (heartbeats, peer monitoring) in
 * liveness.c; docs/cluster.md has the protocol.
 *
 * States (n->state, guarded by n->mu):
 *
 *   starting  -> module loading/compiling; coordinator: waiting for peers
 *   idle      -> the program runs elsewhere (or not yet); POST /migrate welcome
 *   receiving -> a POST /migrate body is streaming into the decoder
 *   running   -> this node executes the program
 *   sending   -> the program left: its snapshot is being delivered
 *   finished  -> the run is over (here or elsewhere)
 *
 * Only the engine thread calls into the runtime, with the exceptions
 * node_engine.c describes (the decoder fed by the HTTP thread while the engine
 * is parked, and calls made on its behalf through the mailbox).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node_internal.h"

/* ---- small helpers ---------------------------------------------------------------------- */

const char *kafu_node_state_name(kafu_node_state s) {
  static const char *const names[] = {"starting", "idle", "receiving", "running", "sending", "finished"};
  return names[s];
}

void kafu_node_wait_until(kafu_node *n, pthread_cond_t *cv, uint64_t deadline_ns) {
  struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000ull),
                        .tv_nsec = (long)(deadline_ns % 1000000000ull)};
  pthread_cond_timedwait(cv, &n->mu, &ts);
}

void kafu_node_timed_wait(kafu_node *n, uint64_t ms) {
  kafu_node_wait_until(n, &n->cv, kafu_now_ns() + ms * 1000000ull);
}

bool kafu_node_sleep(kafu_node *n, uint64_t ms) {
  uint64_t end = kafu_now_ns() + ms * 1000000ull;
  pthread_mutex_lock(&n->mu);
  while (!n->done && kafu_now_ns() < end) kafu_node_wait_until(n, &n->done_cv, end);
  bool done = n->done;
  pthread_mutex_unlock(&n->mu);
  return !done;
}

kafu_http_client *kafu_node_client(kafu_node *n, kafu_http_client *set, size_t i, kafu_err *err) {
  kafu_http_client *c = &set[i];
  if (!c->curl && kafu_http_client_init(c, n->cfg->nodes[i].address, n->cfg->nodes[i].port, n->cfg->token,
                                        &n->cfg->tls, err) < 0)
    return NULL;
  return c;
}

/* Refresh what other threads may read about the runtime (engine thread only). */
void kafu_node_refresh_cache(kafu_node *n) {
  if (!n->rt) return;
  n->image_id = kafu_runtime_image_id(n->rt);
  n->mig_in = kafu_runtime_migrations_in(n->rt);
  n->mig_out = kafu_runtime_migrations_out(n->rt);
  n->ent.n = kafu_runtime_entry_count(n->rt);
  n->ent.bytes = kafu_runtime_entry_bytes(n->rt);
  n->ent.dropped = kafu_runtime_entries_dropped(n->rt);
  if (n->ent.n) {
    kafu_rt_entry_info e;
    kafu_runtime_entry_get(n->rt, n->ent.n - 1, &e);
    n->ent.inner_hop = e.hop;
    snprintf(n->ent.inner_fn, sizeof n->ent.inner_fn, "%s", e.function);
    snprintf(n->ent.inner_target, sizeof n->ent.inner_target, "%s", e.target);
    snprintf(n->ent.inner_to, sizeof n->ent.inner_to, "%s", e.delivered_to ? e.delivered_to : e.target);
    n->ent.inner_inc = e.delivered_incarnation;
  } else {
    n->ent.inner_hop = 0;
    n->ent.inner_fn[0] = n->ent.inner_target[0] = n->ent.inner_to[0] = 0;
    n->ent.inner_inc = 0;
  }
  pthread_mutex_lock(&n->metrics.mu);
  n->metrics.entries = n->ent.n;
  n->metrics.entry_bytes = n->ent.bytes;
  n->metrics.entries_dropped = n->ent.dropped;
  pthread_mutex_unlock(&n->metrics.mu);
}

/* ---- run identity ---------------------------------------------------------------------------- */

void kafu_id_str(uint64_t id, char out[17]) { snprintf(out, 17, "%016" PRIx64, id); }

uint64_t kafu_next_epoch(uint64_t hop) { return ((hop >> 32) + 1) << 32 | 1; }

void kafu_node_learn_locked(kafu_node *n, int peer, uint64_t inc, uint64_t run, uint64_t hop) {
  if (peer >= 0 && (size_t)peer < n->cfg->nnodes && inc) n->run.peer_inc[peer] = inc;
  if (!run) return;
  if (!n->run.id) {
    n->run.id = run; /* the runtime gets it before its next send (engine thread) */
    char id[17];
    kafu_id_str(run, id);
    kafu_infoc(&n->log, "joined run %s (learnt from node %s)", id, peer >= 0 ? n->cfg->nodes[peer].id : "?");
  }
  if (run == n->run.id && hop > n->run.hop) n->run.hop = hop;
}

void kafu_node_identity_body(kafu_node *n, kafu_buf *b) {
  pthread_mutex_lock(&n->mu);
  kafu_buf_printf(b, "{\"node\":");
  kafu_json_quote(b, n->self);
  kafu_node_json_identity(n, b);
  pthread_mutex_unlock(&n->mu);
  kafu_buf_printf(b, "}");
}

void kafu_node_json_identity(kafu_node *n, kafu_buf *b) {
  char inc[17], run[17];
  kafu_id_str(n->incarnation, inc);
  kafu_id_str(n->run.id, run);
  kafu_buf_printf(b, ",\"incarnation\":\"%s\",\"run\":\"%s\",\"hop\":%" PRIu64, inc, run, n->run.hop);
}

/* The current incarnation of node i (GET /healthz), 0 when it does not answer. */
static uint64_t ask_incarnation(kafu_node *n, int i) {
  kafu_http_client c = {0};
  kafu_err e = {0};
  long st = 0;
  kafu_buf resp = {0};
  uint64_t inc = 0;
  char hex[40] = "";
  if (!kafu_http_client_init(&c, n->cfg->nodes[i].address, n->cfg->nodes[i].port, n->cfg->token, &n->cfg->tls,
                             &e) &&
      !kafu_http_get(&c, "/healthz", 1000, &st, &resp, &e) && st == 200 &&
      !kafu_json_get_str((const char *)resp.data, resp.len, "incarnation", hex, sizeof hex))
    kafu_mem_image_id_parse(hex, &inc);
  kafu_buf_free(&resp);
  kafu_http_client_free(&c);
  return inc;
}

int kafu_node_admit(void *ctx, const kafu_snapshot *s, kafu_err *err) {
  kafu_node *n = ctx;
  int si = s->sender ? kafu_config_node_index(n->cfg, s->sender) : -1;
  pthread_mutex_lock(&n->mu);
  uint64_t run = n->run.id, hop = n->run.hop, known = si >= 0 ? n->run.peer_inc[si] : 0;
  pthread_mutex_unlock(&n->mu);
  char a[17], b[17];
  kafu_id_str(run, a);
  kafu_id_str(s->run_id, b);
  if (!s->run_id) {
    if (!run) return 0; /* no run known here either: e.g. a snapshot posted by hand to a lone node */
    return kafu_err_set(
        err, KAFU_ERUN,
        "the snapshot names no run (written by an older kafu?); this node takes part in run %s", a);
  }
  if (run && s->run_id != run)
    return kafu_err_set(err, KAFU_ERUN, "the snapshot belongs to run %s; this node takes part in run %s", b,
                        a);
  if (run && s->hop <= hop)
    return kafu_err_set(err, KAFU_ESTALE,
                        "the snapshot is hop %" PRIu64 " of run %s, but this node has seen hop %" PRIu64
                        " already: a replay of an earlier migration, or a copy the run has moved past",
                        s->hop, b, hop);
  if (si >= 0 && si != n->self_idx && s->sender_incarnation && known && known != s->sender_incarnation) {
    /* the sender may have restarted since we last heard of it: ask it */
    uint64_t now = ask_incarnation(n, si);
    if (now != s->sender_incarnation) {
      kafu_id_str(s->sender_incarnation, a);
      kafu_id_str(now, b);
      return kafu_err_set(
          err, KAFU_ESTALE,
          "the snapshot was sent by incarnation %s of node %s, which is now %s%s: a snapshot of a "
          "process that is gone",
          a, s->sender, now ? "incarnation " : "unreachable", now ? b : "");
    }
  }
  return 0;
}

/* The node that ends a run under `kafu launch` tells it the exit code
 * (--report-fd, a pipe launch reads), so launch exits with it even when the
 * coordinator is gone. */
static void report_to_launch(kafu_node *n, int code) {
  if (n->o.report_fd <= 2) return;
  char line[32];
  int len = snprintf(line, sizeof line, "exit %d\n", code);
  if (write(n->o.report_fd, line, (size_t)len) < 0) { /* launch is gone: nothing to tell */
  }
}

static void finish(kafu_node *n, int code, bool failure, bool elsewhere, const char *reason) {
  pthread_mutex_lock(&n->mu);
  if (elsewhere && n->ending && !n->done) {
    /* this node is ending the run for a cause of its own and says it itself
     * once its peers are told (kafu_node_end_cluster): a peer's report that
     * arrives meanwhile must not replace it (two nodes failing at once would
     * each end as "said elsewhere", and nobody would say why) */
    pthread_mutex_unlock(&n->mu);
    return;
  }
  if (!n->done) {
    n->failure_elsewhere = failure && elsewhere;
    kafu_metrics_note_end(&n->metrics, &n->log);
    n->done = true;
    n->exit_code = code;
    n->failure = failure;
    snprintf(n->reason, sizeof n->reason, "%s", reason ? reason : "");
  }
  n->state = KAFU_NODE_FINISHED;
  pthread_cond_broadcast(&n->cv);
  pthread_cond_broadcast(&n->done_cv);
  pthread_mutex_unlock(&n->mu);
}

void kafu_node_finish(kafu_node *n, int code, bool failure, const char *reason) {
  finish(n, code, failure, false, reason);
}

void kafu_node_finish_for_peer(kafu_node *n, int code, bool failure, const char *reason) {
  finish(n, code, failure, true, reason);
}

/* POST /shutdown to every other node: followers first, the coordinator last,
 * so that by the time the coordinator (whose exit ends `kafu launch`) leaves,
 * the others were told too. */
void kafu_node_broadcast_shutdown(kafu_node *n, kafu_http_client *set, int code, const char *status,
                                  const char *reason) {
  kafu_buf body = {0};
  kafu_buf_printf(&body, "{\"exit_code\":%d,\"status\":", code);
  kafu_json_quote(&body, status);
  kafu_buf_printf(&body, ",\"node\":");
  kafu_json_quote(&body, n->self);
  kafu_buf_printf(&body, ",\"reason\":");
  kafu_json_quote(&body, reason);
  kafu_buf_printf(&body, "}");
  for (size_t k = 0; k < n->cfg->nnodes; k++) {
    size_t i = (k + 1) % n->cfg->nnodes; /* 1, 2, ..., N-1, then 0 */
    if ((int)i == n->self_idx) continue;
    kafu_err err = {0};
    long st = 0;
    kafu_http_client *c = kafu_node_client(n, set, i, &err);
    if (c && !kafu_http_post(c, "/shutdown", body.data, body.len, 2000, &st, NULL, &err) && st == 200) {
      kafu_debugc(&n->log, "told node %s to shut down", n->cfg->nodes[i].id);
      continue;
    }
    if (c && st) kafu_err_set(&err, KAFU_EIO, "HTTP %ld", st);
    /* under kafu launch, which sees every node end, that is no news */
    kafu_logc(&n->log, n->o.report_fd > 2 ? KAFU_LOG_DEBUG : KAFU_LOG_INFO,
              "could not tell node %s to shut down (%s)", n->cfg->nodes[i].id, err.msg);
  }
  kafu_buf_free(&body);
}

/* The run is over for the whole cluster: tell everyone, then finish here. */
void kafu_node_end_cluster(kafu_node *n, kafu_http_client *set, int code, const char *status, bool failure,
                           const char *reason) {
  pthread_mutex_lock(&n->mu);
  bool already = n->done || n->ending;
  n->ending = true;
  pthread_mutex_unlock(&n->mu);
  if (already) return;
  /* no log here: `kafu serve` prints the reason as its final error */
  report_to_launch(n, code);
  kafu_node_broadcast_shutdown(n, set, code, status, reason);
  kafu_node_finish(n, code, failure, reason);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int kafu_node_start(const kafu_node_opts *opts, kafu_node **out, kafu_err *err) {
  *out = NULL;
  const kafu_config *cfg = opts->cfg;
  if (!cfg || !opts->self) return kafu_err_set(err, KAFU_EINVAL, "node options need a config and a node id");
  if (opts->restore_path && cfg->nnodes && strcmp(opts->self, cfg->nodes[0].id))
    return kafu_err_set(
        err, KAFU_EINVAL,
        "a run is restored by the coordinator (node %s, the first in `nodes`), not by node %s",
        cfg->nodes[0].id, opts->self);
  int idx = kafu_config_node_index(cfg, opts->self);
  if (idx < 0) {
    kafu_buf names = {0};
    const char *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < cfg->nnodes; i++) {
      kafu_buf_printf(&names, "%s%s", i ? ", " : "", cfg->nodes[i].id);
      int d = kafu_edit_distance(opts->self, cfg->nodes[i].id);
      if (d < bestd) bestd = d, best = cfg->nodes[i].id;
    }
    kafu_err_set(err, KAFU_EINVAL, "%s: no node '%s' in `nodes` (nodes: %s)%s%s%s", cfg->config_path,
                 opts->self, kafu_buf_cstr(&names), best ? "; did you mean '" : "", best ? best : "",
                 best ? "'?" : "");
    kafu_buf_free(&names);
    return err->code;
  }
  const kafu_config_node *me = &cfg->nodes[idx];
  char host[256];
  uint16_t port = me->port;
  snprintf(host, sizeof host, "%s", kafu_addr_is_loopback(me->address) ? me->address : "");
  if (opts->listen) {
    char h[256];
    uint16_t p;
    int rc = kafu_parse_listen(opts->listen, h, sizeof h, &p, err);
    if (rc) return rc;
    if (h[0]) snprintf(host, sizeof host, "%s", h);
    if (p) port = p;
  }
  if (opts->save_snapshots_dir && kafu_mkdirs(opts->save_snapshots_dir, 0755, err))
    return kafu_err_prefix(err, "--save-snapshots");

  kafu_node *n = calloc(1, sizeof *n);
  if (!n) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  n->o = *opts;
  n->o.listen = dup_or_null(opts->listen);
  n->o.events_path = dup_or_null(opts->events_path);
  n->o.save_snapshots_dir = dup_or_null(opts->save_snapshots_dir);
  n->o.restore_path = dup_or_null(opts->restore_path);
  n->cfg = cfg;
  n->self_idx = idx;
  n->coordinator = idx == 0;
  snprintf(n->self, sizeof n->self, "%s", me->id);
  kafu_log_ctx_init(&n->log, "node %s", n->self);
  n->start_ns = kafu_now_ns();
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  n->start_wall_ns = (uint64_t)wall.tv_sec * 1000000000ull + (uint64_t)wall.tv_nsec;
  pthread_mutex_init(&n->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&n->cv, &ca);
  pthread_cond_init(&n->done_cv, &ca);
  pthread_condattr_destroy(&ca);
  kafu_metrics_init(&n->metrics);
  n->state = KAFU_NODE_STARTING;
  snprintf(n->not_ready, sizeof n->not_ready, "loading and compiling the module");
  n->last_seen = calloc(cfg->nnodes, sizeof *n->last_seen);
  n->eng_cl = calloc(cfg->nnodes, sizeof *n->eng_cl);
  n->live_cl = calloc(cfg->nnodes, sizeof *n->live_cl);
  n->run.peer_inc = calloc(cfg->nnodes, sizeof *n->run.peer_inc);
  n->run.route = calloc(cfg->nnodes, sizeof *n->run.route);
  if (!n->last_seen || !n->eng_cl || !n->live_cl || !n->run.peer_inc || !n->run.route) {
    kafu_node_free(n);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < cfg->nnodes; i++) n->run.route[i] = (int)i;
  if (n->o.report_fd > 2) fcntl(n->o.report_fd, F_SETFD, FD_CLOEXEC); /* not for our own children */
  while (!n->incarnation)
    if (getrandom(&n->incarnation, sizeof n->incarnation, 0) != sizeof n->incarnation)
      n->incarnation = kafu_now_ns() ^ ((uint64_t)getpid() << 32);
  n->run.peer_inc[idx] = n->incarnation;
  kafu_http_global_init();

  if (n->o.events_path) {
    int fd = open(n->o.events_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    n->events = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!n->events) {
      kafu_err_set(err, KAFU_EIO, "--events %s: %s", n->o.events_path, strerror(errno));
      if (fd >= 0) close(fd);
      kafu_node_free(n);
      return err->code;
    }
    /* one write(2) per event line: several nodes append to the same file */
    setvbuf(n->events, NULL, _IOFBF, 1 << 16);
  }

  int fd = kafu_listen_socket(host, port, &n->port, err);
  if (fd < 0) {
    kafu_err_prefix(err, "%s", n->log.prefix);
    kafu_node_free(n);
    return err->code;
  }
  kafu_hostport(host[0] ? host : "0.0.0.0", n->port, n->hostport, sizeof n->hostport);
  if (kafu_node_io_init(n, err)) { /* the program's sockets (nodes.<id>.listen) */
    close(fd);
    kafu_err_prefix(err, "%s", n->log.prefix);
    kafu_node_free(n);
    return err->code;
  }
  kafu_http_handlers h = kafu_node_handlers(n);
  int rc = kafu_http_server_start(fd, &h, &n->cfg->tls, &n->srv, err);
  if (rc) {
    kafu_node_free(n);
    return rc;
  }
  char inc[17], emu[128];
  kafu_id_str(n->incarnation, inc);
  kafu_engine_emulator(emu, sizeof emu);
  kafu_infoc(&n->log, "listening on %s (%s, %s%s%s, incarnation %s)", n->hostport,
             n->coordinator ? "coordinator" : "follower", kafu_engine_arch(), emu[0] ? " under " : "", emu, inc);

  n->engine_running = true;
  if (pthread_create(&n->engine_thr, NULL, kafu_node_engine_main, n)) {
    n->engine_running = false;
    kafu_node_free(n);
    return kafu_err_set(err, KAFU_EIO, "cannot start the engine thread");
  }
  n->engine_started = true;
  if (n->cfg->nnodes > 1) {
    if (pthread_create(&n->live_thr, NULL, kafu_node_liveness_main, n) == 0)
      n->live_started = true;
    else
      kafu_warnc(&n->log, "cannot start the liveness thread: heartbeats disabled");
  }
  *out = n;
  return 0;
}

uint16_t kafu_node_port(const kafu_node *n) { return n->port; }

int kafu_node_wait(kafu_node *n, kafu_err *why) {
  pthread_mutex_lock(&n->mu);
  while (!n->done) pthread_cond_wait(&n->done_cv, &n->mu);
  int code = n->exit_code;
  if (why) {
    memset(why, 0, sizeof *why);
    /* under kafu launch a failure a peer reported is said once, by that peer */
    if (n->failure && !(n->failure_elsewhere && n->o.report_fd > 2)) {
      why->code = KAFU_EIO;
      snprintf(why->msg, sizeof why->msg, "%.1000s", n->reason);
    }
  }
  pthread_mutex_unlock(&n->mu);
  return code;
}

void kafu_node_stop(kafu_node *n, int exit_code, const char *reason) {
  kafu_node_finish(n, exit_code, true, reason);
}

int kafu_node_free(kafu_node *n) {
  if (!n) return 0;
  pthread_mutex_lock(&n->mu);
  if (!n->done) {
    n->done = true;
    n->state = KAFU_NODE_FINISHED;
  }
  pthread_cond_broadcast(&n->cv);
  pthread_cond_broadcast(&n->done_cv);
  pthread_mutex_unlock(&n->mu);
  if (n->live_started) pthread_join(n->live_thr, NULL);
  if (n->srv) kafu_http_server_stop(n->srv, 500);
  int left_running = 0;
  if (n->engine_started) {
    /* An engine thread that is not executing the program (e.g. it just got
     * the 200 of its last send) finishes within moments: let it, so its
     * bookkeeping and events are complete. One inside wasm may never return. */
    pthread_mutex_lock(&n->mu);
    uint64_t until = kafu_now_ns() + 2000ull * 1000000ull;
    while (n->engine_running && !n->engine_parked && !n->engine_in_wasm && kafu_now_ns() < until)
      kafu_node_timed_wait(n, 20);
    bool joinable = !n->engine_running || n->engine_parked;
    pthread_mutex_unlock(&n->mu);
    if (joinable) {
      pthread_join(n->engine_thr, NULL);
    } else {
      pthread_detach(n->engine_thr);
      left_running = 1;
    }
  }
  if (left_running) return 1; /* the engine thread still uses everything below */
  if (n->rt) kafu_runtime_free(n->rt);
  kafu_node_io_free(n);
  kafu_wasi_home_free(n->home); /* the run is over: close what the program left open here */
  for (size_t i = 0; n->eng_cl && i < n->cfg->nnodes; i++) kafu_http_client_free(&n->eng_cl[i]);
  for (size_t i = 0; n->live_cl && i < n->cfg->nnodes; i++) kafu_http_client_free(&n->live_cl[i]);
  free(n->eng_cl);
  free(n->live_cl);
  free(n->last_seen);
  free(n->app_wasm);
  free(n->run.peer_inc);
  free(n->run.route);
  kafu_buf_free(&n->ck.bytes);
  kafu_buf_free(&n->tx.buf);
  free(n->tx.ring);
  if (n->events) fclose(n->events);
  kafu_metrics_destroy(&n->metrics);
  pthread_cond_destroy(&n->cv);
  pthread_cond_destroy(&n->done_cv);
  pthread_mutex_destroy(&n->mu);
  free((char *)n->o.listen);
  free((char *)n->o.events_path);
  free((char *)n->o.save_snapshots_dir);
  free((char *)n->o.restore_path);
  free(n);
  return 0;
}

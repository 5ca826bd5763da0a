/*
 * liveness.c — who is alive, and is it still the process that holds the run.
 *
 * Every node process has an incarnation (random at start) that /healthz,
 * /status, heartbeats and snapshots carry, so a peer that restarted under the
 * same node id is told apart from the one that held the run at once, not
 * merely found "alive".
 *
 * Start-up: the coordinator polls every peer's GET /readyz until all are
 * ready (cluster.startup_timeout_ms), checking that each answers as the node
 * the config says and runs the same module, then starts the program.
 *
 * During the run one thread per node, every cluster.heartbeat.interval_ms:
 *  - a follower POSTs /heartbeat to the coordinator (or the standby serving
 *    it), with its incarnation and what it knows of the run, and learns the
 *    coordinator's. After KAFU_HEARTBEAT_MISSES failures in a row (or none
 *    ever within the start-up timeout) it has lost the coordinator; an idle
 *    follower (not holding the program, no entry checkpoint) then follows
 *    follower_on_coordinator_lost, one with a stake keeps serving;
 *  - the coordinator watches when it last heard from each follower and says
 *    so when one goes silent (confirmed by GET /healthz) or comes back;
 *  - a node that keeps an entry checkpoint (it sent the program into a call
 *    that has not returned) and is idle probes the node process running that
 *    call (GET /healthz). Refused (the process is gone), KAFU_HEARTBEAT_MISSES
 *    other failures, or another incarnation (it restarted and lost the run)
 *    make it ask every peer (twice) whether the program still lives somewhere
 *    or a deeper call's entry is kept elsewhere; if not, the engine thread
 *    re-runs the call from its entry (node_engine.c, failover).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static uint64_t parse_id(const char *body, size_t len, const char *key) {
  char hex[40] = "";
  uint64_t v = 0;
  if (kafu_json_get_str(body, len, key, hex, sizeof hex) || kafu_mem_image_id_parse(hex, &v)) return 0;
  return v;
}

/* ---- what the peers say --------------------------------------------------------------------- */

void kafu_node_survey(kafu_node *n, kafu_http_client *set, kafu_peer_view *out, long timeout_ms) {
  for (size_t i = 0; i < n->cfg->nnodes; i++) {
    kafu_peer_view *v = &out[i];
    memset(v, 0, sizeof *v);
    if ((int)i == n->self_idx) continue;
    kafu_err err = {0};
    long st = 0;
    kafu_buf resp = {0};
    kafu_http_client *c = kafu_node_client(n, set, i, &err);
    if (c && kafu_http_get(c, "/status", timeout_ms, &st, &resp, &err) == 0 && st == 200) {
      const char *b = resp.data ? (const char *)resp.data : "";
      long long h = 0, eh = 0;
      v->ok = true;
      v->inc = parse_id(b, resp.len, "incarnation");
      v->run = parse_id(b, resp.len, "run");
      if (!kafu_json_get_int(b, resp.len, "hop", &h) && h > 0) v->hop = (uint64_t)h;
      if (!kafu_json_get_int(b, resp.len, "entry_hop", &eh) && eh > 0) v->entry_hop = (uint64_t)eh;
      kafu_json_get_str(b, resp.len, "state", v->state, sizeof v->state);
      v->holds =
          !strcmp(v->state, "running") || !strcmp(v->state, "sending") || !strcmp(v->state, "receiving");
      pthread_mutex_lock(&n->mu);
      kafu_node_learn_locked(n, (int)i, v->inc, v->run, v->hop);
      pthread_mutex_unlock(&n->mu);
    }
    kafu_buf_free(&resp);
  }
}

/* ---- follower: heartbeats ------------------------------------------------------------------- */

typedef struct hb_state {
  bool had_ok, lost, warned, told_stake;
  int fails;
  uint64_t t_start;
} hb_state;

/* One heartbeat to node i; 0 when it answered 200. */
static int heartbeat_to(kafu_node *n, size_t i, long timeout, long *st, kafu_err *err) {
  kafu_buf body = {0};
  kafu_node_identity_body(n, &body);
  kafu_buf resp = {0};
  kafu_http_client *c = kafu_node_client(n, n->live_cl, i, err);
  int rc = c ? kafu_http_post(c, "/heartbeat", body.data, body.len, timeout, st, &resp, err) : -1;
  kafu_buf_free(&body);
  if (rc == 0 && *st == 200) {
    long long h = 0;
    const char *b = resp.data ? (const char *)resp.data : "";
    if (kafu_json_get_int(b, resp.len, "hop", &h) || h < 0) h = 0;
    pthread_mutex_lock(&n->mu);
    kafu_node_learn_locked(n, (int)i, parse_id(b, resp.len, "incarnation"), parse_id(b, resp.len, "run"),
                           (uint64_t)h);
    pthread_mutex_unlock(&n->mu);
  } else if (rc == 0 && !*st) {
    rc = -1;
  }
  if (rc == 0 && *st != 200) { /* it answered, so it is alive; but something is misconfigured */
    size_t bl = resp.len > 300 ? 300 : resp.len;
    while (bl && (resp.data[bl - 1] == '\n' || resp.data[bl - 1] == '\r')) bl--;
    kafu_err_set(err, KAFU_EINVAL, "HTTP %ld: %.*s", *st, (int)bl, resp.data ? (char *)resp.data : "");
  }
  kafu_buf_free(&resp);
  return rc;
}

static bool heartbeat_once(kafu_node *n, hb_state *s) {
  const kafu_config_node *co = &n->cfg->nodes[0];
  uint64_t iv = n->cfg->heartbeat.interval_ms;
  long timeout = (long)max_u64(2 * iv, 500);
  kafu_err err = {0};
  long st = 0;
  /* the coordinator's node id is served by the coordinator, or by the standby
   * that took its place; any of them answering means it is reachable */
  pthread_mutex_lock(&n->mu);
  int first = n->run.route[0];
  bool in_run = n->run.id != 0;
  pthread_mutex_unlock(&n->mu);
  /* a run in progress was started by the coordinator: it has been heard
   * from, even if no heartbeat got through yet (this node started first, the
   * run began between two heartbeats), so from now on failures count, not
   * the start-up timeout (those before the run do not) */
  if (in_run && !s->had_ok) {
    s->had_ok = true;
    s->fails = 0;
  }
  int rc = first == n->self_idx ? -1 : heartbeat_to(n, (size_t)first, timeout, &st, &err);
  for (size_t k = 0; rc < 0 && k < co->nstandby; k++) {
    int si = kafu_config_node_index(n->cfg, co->standby[k]);
    if (si < 0 || si == first || si == n->self_idx) continue;
    kafu_err e2 = {0};
    long st2 = 0;
    if (heartbeat_to(n, (size_t)si, timeout, &st2, &e2) == 0) rc = 0, st = st2, err = e2;
  }
  if (rc == 0 && (st == 401 || st == 403)) { /* a configuration error: waiting cannot fix it */
    char reason[600];
    snprintf(reason, sizeof reason,
             st == 401 ? "the coordinator %s refused this node's cluster token (cluster.token / token_file "
                         "differ between the nodes)"
                       : "the coordinator %s refused this node's heartbeat: it has no cluster token and does "
                         "not know this node's address; give every node the same cluster.token_file",
             co->id);
    /* stay up a moment: the coordinator's own start-up check of this node
     * then sees the mismatch too and says so, instead of "not ready" */
    kafu_errorc(&n->log, "%s; exiting", reason);
    kafu_node_sleep(n, 2000);
    kafu_node_finish(n, KAFU_EXIT_CLUSTER, true, reason);
    return false;
  }
  if (rc == 0 && st == 200) {
    if (s->lost) kafu_infoc(&n->log, "coordinator %s is reachable again", co->id);
    s->had_ok = true;
    s->lost = s->told_stake = false;
    s->fails = 0;
    return true;
  }
  if (rc == 0) {
    if (!s->warned) kafu_warnc(&n->log, "coordinator %s answered a heartbeat with %s", co->id, err.msg);
    s->warned = true;
    s->had_ok = true;
    s->fails = 0;
    return true;
  }
  s->fails++;
  kafu_metrics_add(&n->metrics, &n->metrics.heartbeat_failures, 1);
  kafu_debugc(&n->log, "heartbeat %d to %s failed: %s", s->fails, co->id, err.msg);
  /* a coordinator never heard from is given cluster.startup_timeout_ms from
   * this node's readiness: compiling the module (seconds, minutes on a small
   * board) is not time spent waiting for it */
  pthread_mutex_lock(&n->mu);
  bool ready = n->ready;
  pthread_mutex_unlock(&n->mu);
  if (!ready) s->t_start = kafu_now_ns();
  bool is_lost = s->had_ok ? s->fails >= KAFU_HEARTBEAT_MISSES
                           : kafu_ms_since(s->t_start) > (double)n->cfg->startup_timeout_ms;
  if (!is_lost) return true;
  /* a follower that holds the program or an entry checkpoint is part of a
   * run in progress: it keeps serving (the program may come back to it) */
  pthread_mutex_lock(&n->mu);
  bool stake = n->state == KAFU_NODE_RUNNING || n->state == KAFU_NODE_SENDING ||
               n->state == KAFU_NODE_RECEIVING || n->ent.n > 0;
  pthread_mutex_unlock(&n->mu);
  /* a standby may have to take over (the coordinator's calls, too) */
  for (size_t i = 0; !stake && i < n->cfg->nnodes; i++)
    for (size_t k = 0; k < n->cfg->nodes[i].nstandby; k++)
      stake |= !strcmp(n->cfg->nodes[i].standby[k], n->self);
  char hp[300], reason[1200];
  kafu_hostport(co->address, co->port, hp, sizeof hp);
  if (stake) {
    if (!s->told_stake)
      kafu_warnc(&n->log,
                 "lost the coordinator %s at %s (%d heartbeats failed, last: %.300s); this node takes "
                 "part in the run in progress (or stands by for a node), so it keeps serving",
                 co->id, hp, s->fails, err.msg);
    s->told_stake = true;
    return true;
  }
  if (s->lost) return true;
  s->lost = true;
  bool shut = n->cfg->heartbeat.on_coordinator_lost == KAFU_ON_COORDINATOR_LOST_SHUTDOWN_SELF;
  snprintf(reason, sizeof reason,
           "lost the coordinator %s at %s (%d heartbeats failed, last: %.400s); %s "
           "(cluster.heartbeat.follower_on_coordinator_lost: %s)",
           co->id, hp, s->fails, err.msg, shut ? "shutting down" : "continuing",
           kafu_on_coordinator_lost_name(n->cfg->heartbeat.on_coordinator_lost));
  if (shut) {
    kafu_node_finish(n, KAFU_EXIT_CLUSTER, true, reason);
    return false;
  }
  kafu_warnc(&n->log, "%s", reason);
  return true;
}

/* ---- coordinator: silent followers ---------------------------------------------------------- */

static void monitor_once(kafu_node *n, bool *down) {
  uint64_t iv = n->cfg->heartbeat.interval_ms;
  uint64_t threshold_ms = max_u64(KAFU_HEARTBEAT_MISSES * iv, KAFU_SILENCE_MIN_MS);
  for (size_t i = 1; i < n->cfg->nnodes; i++) {
    pthread_mutex_lock(&n->mu);
    bool watch = n->started && !n->done && !n->ending;
    uint64_t seen = n->last_seen[i];
    pthread_mutex_unlock(&n->mu);
    if (!watch) return;
    double silent_ms = (double)(kafu_now_ns() - seen) / 1e6;
    if (silent_ms <= (double)threshold_ms) {
      if (down[i]) kafu_infoc(&n->log, "node %s is back", n->cfg->nodes[i].id);
      down[i] = false;
      continue;
    }
    if (down[i]) continue;
    kafu_err err = {0};
    long st = 0;
    kafu_http_client *c = kafu_node_client(n, n->live_cl, i, &err);
    int rc = c ? kafu_http_get(c, "/healthz", (long)max_u64(iv, 500), &st, NULL, &err) : -1;
    if (rc == 0 && st == 200) {
      kafu_debugc(&n->log, "node %s is alive but its heartbeats are late (%.0f ms)", n->cfg->nodes[i].id,
                  silent_ms);
      pthread_mutex_lock(&n->mu);
      n->last_seen[i] = kafu_now_ns();
      pthread_mutex_unlock(&n->mu);
      continue;
    }
    if (rc == 0) kafu_err_set(&err, KAFU_EIO, "HTTP %ld", st);
    kafu_metrics_add(&n->metrics, &n->metrics.heartbeat_failures, 1);
    char hp[300];
    kafu_hostport(n->cfg->nodes[i].address, n->cfg->nodes[i].port, hp, sizeof hp);
    /* not the end of the run: whoever kept the entry checkpoint of a call
     * that node was running re-runs it (failover) */
    kafu_warnc(&n->log, "node %s at %s is down: no heartbeat for %.1f s and GET /healthz failed (%.400s)",
               n->cfg->nodes[i].id, hp, silent_ms / 1000.0, err.msg);
    down[i] = true;
  }
}

/* ---- entry checkpoints: is the call still running somewhere? --------------------------------- */

typedef struct watch_state {
  uint64_t hop; /* the entry being watched */
  int fails;
  uint64_t t_first; /* first failed probe */
} watch_state;

/* Ask every peer, twice: does the program still live anywhere (a node runs,
 * sends or receives it), or does someone keep the entry of a deeper call
 * (that node re-runs its own call)? *maxhop gets the highest hop anyone saw.
 * The second round catches a program in flight between two nodes the first
 * round asked at the wrong moments (its hop moves). */
static bool program_lost(kafu_node *n, uint64_t my_hop, uint64_t *maxhop) {
  size_t nn = n->cfg->nnodes;
  kafu_peer_view *v = calloc(nn, sizeof *v);
  if (!v) return false;
  uint64_t prev = 0;
  bool lost = true;
  long timeout = (long)max_u64(n->cfg->heartbeat.interval_ms, 500);
  for (int round = 0; round < 2 && lost; round++) {
    if (round && !kafu_node_sleep(n, max_u64(n->cfg->heartbeat.interval_ms / 2, 20))) {
      lost = false;
      break;
    }
    kafu_node_survey(n, n->live_cl, v, timeout);
    uint64_t mh = 0;
    pthread_mutex_lock(&n->mu);
    uint64_t run = n->run.id;
    mh = n->run.hop;
    bool busy = n->state != KAFU_NODE_IDLE || n->done;
    pthread_mutex_unlock(&n->mu);
    if (busy) lost = false;
    for (size_t i = 0; i < nn && lost; i++) {
      if (!v[i].ok) continue;
      mh = max_u64(mh, v[i].hop);
      if (v[i].run && v[i].run != run) continue; /* another run: not ours to worry about */
      if (v[i].holds) {
        kafu_debugc(&n->log, "node %s holds the program (%s)", n->cfg->nodes[i].id, v[i].state);
        lost = false;
      } else if (v[i].entry_hop > my_hop) {
        kafu_debugc(&n->log, "node %s keeps a deeper call's entry (hop %" PRIu64 ")", n->cfg->nodes[i].id,
                    v[i].entry_hop);
        lost = false;
      }
    }
    if (round && mh != prev) lost = false; /* the program moved meanwhile */
    prev = mh;
  }
  *maxhop = prev;
  free(v);
  return lost;
}

static void watch_once(kafu_node *n, watch_state *w) {
  uint64_t iv = n->cfg->heartbeat.interval_ms;
  pthread_mutex_lock(&n->mu);
  bool idle = n->state == KAFU_NODE_IDLE && n->run.joined && !n->done && !n->ending;
  bool have = n->ent.n > 0 && n->ent.inner_to[0];
  uint64_t hop = n->ent.inner_hop, want = n->ent.inner_inc;
  if (n->fo.entry_hop == hop && n->fo.accepted_inc) want = n->fo.accepted_inc;
  char to[64], fn[128];
  snprintf(to, sizeof to, "%s", n->ent.inner_to);
  snprintf(fn, sizeof fn, "%s", n->ent.inner_fn);
  bool requested = n->fo.requested;
  pthread_mutex_unlock(&n->mu);
  if (!idle || !have || requested) {
    w->fails = 0;
    return;
  }
  if (w->hop != hop) *w = (watch_state){.hop = hop};
  int ti = kafu_config_node_index(n->cfg, to);
  if (ti < 0 || ti == n->self_idx) return;
  kafu_err err = {0};
  long st = 0;
  kafu_buf resp = {0};
  kafu_http_client *c = kafu_node_client(n, n->live_cl, (size_t)ti, &err);
  int rc = c ? kafu_http_get(c, "/healthz", (long)max_u64(iv, 500), &st, &resp, &err) : -1;
  uint64_t inc = rc == 0 && st == 200 ? parse_id((const char *)resp.data, resp.len, "incarnation") : 0;
  kafu_buf_free(&resp);
  char why[1000];
  char hp[300];
  kafu_hostport(n->cfg->nodes[ti].address, n->cfg->nodes[ti].port, hp, sizeof hp);
  bool gone = false;
  if (rc == 0 && st == 200) {
    if (!want || !inc || inc == want) {
      w->fails = 0;
      return;
    }
    char a[17], b[17];
    kafu_id_str(want, a);
    kafu_id_str(inc, b);
    snprintf(why, sizeof why,
             "node %s at %s restarted (incarnation %s, the call went to %s) and lost the run", to, hp, b, a);
    gone = true;
  } else {
    if (!w->fails) w->t_first = kafu_now_ns();
    w->fails++;
    if (rc == 0) kafu_err_set(&err, KAFU_EIO, "HTTP %ld", st);
    snprintf(why, sizeof why, "node %s at %s %s (%.400s)", to, hp,
             rc == KAFU_EREFUSED ? "is gone" : "does not answer", err.msg);
    gone = rc == KAFU_EREFUSED || w->fails >= KAFU_HEARTBEAT_MISSES;
  }
  if (!gone) return;
  uint64_t t_lost = w->fails ? w->t_first : kafu_now_ns();
  uint64_t maxhop = 0;
  if (!program_lost(n, hop, &maxhop)) {
    /* the program lives on (e.g. it moved deeper, to a node that is fine):
     * a restarted node is harmless now; a dead one matters once the program
     * tries to go there, and the sender deals with it */
    pthread_mutex_lock(&n->mu);
    if (inc) {
      n->fo.entry_hop = hop;
      n->fo.accepted_inc = inc;
    }
    pthread_mutex_unlock(&n->mu);
    kafu_debugc(&n->log, "%s, but the program lives on elsewhere", why);
    w->fails = 0;
    return;
  }
  kafu_warnc(&n->log,
             "%s while running %s (called from here, hop %" PRIu64
             "); no node holds the program any more: re-running the call from its entry checkpoint",
             why, fn, hop);
  pthread_mutex_lock(&n->mu);
  if (!n->fo.requested && n->ent.inner_hop == hop) {
    n->fo.requested = true;
    n->fo.entry_hop = hop;
    n->fo.accepted_inc = 0;
    n->fo.hop = kafu_next_epoch(max_u64(maxhop, n->run.hop));
    n->fo.t_lost = t_lost;
    snprintf(n->fo.lost, sizeof n->fo.lost, "%s", to);
    snprintf(n->fo.why, sizeof n->fo.why, "%s", why);
    pthread_cond_broadcast(&n->cv);
  }
  pthread_mutex_unlock(&n->mu);
  *w = (watch_state){.hop = hop};
}

void *kafu_node_liveness_main(void *arg) {
  kafu_node *n = arg;
  uint64_t iv = n->cfg->heartbeat.interval_ms;
  hb_state hb = {.t_start = kafu_now_ns()};
  watch_state w = {0};
  bool *down = calloc(n->cfg->nnodes, sizeof *down);
  for (bool first = true; kafu_node_sleep(n, first ? 0 : iv); first = false) {
    if (!n->coordinator) {
      if (!heartbeat_once(n, &hb)) break;
    } else if (down) {
      monitor_once(n, down);
    }
    watch_once(n, &w);
  }
  free(down);
  return NULL;
}

/* While the coordinator waits, it says every few seconds which peers it
 * still waits for and why (a quarter of the start-up timeout, 0.5..5 s). */
static void report_waiting(kafu_node *n, size_t i, const char *hostport, const char *last, double waited_ms) {
  kafu_buf rest = {0};
  for (size_t k = i + 1; k < n->cfg->nnodes; k++)
    if ((int)k != n->self_idx) kafu_buf_printf(&rest, "%s%s", rest.len ? ", " : "", n->cfg->nodes[k].id);
  kafu_infoc(&n->log, "still waiting for node %s at %s (%s)%s%s; %.0f of %u s (cluster.startup_timeout_ms)",
             n->cfg->nodes[i].id, hostport, last, rest.len ? "; then for " : "",
             rest.len ? kafu_buf_cstr(&rest) : "", waited_ms / 1000.0, n->cfg->startup_timeout_ms / 1000);
  kafu_buf_free(&rest);
}

/* 0 when every peer is ready; 1 when a peer already takes part in a run (a
 * restarted coordinator must join it, not start another). */
int kafu_node_wait_peers(kafu_node *n, kafu_err *err) {
  uint64_t t0 = kafu_now_ns();
  double limit = (double)n->cfg->startup_timeout_ms;
  double every = limit / 4 < 500 ? 500 : limit / 4 > 5000 ? 5000 : limit / 4, next_report = every;
  if (n->cfg->nnodes > 1) kafu_infoc(&n->log, "waiting for %zu peer(s) to be ready", n->cfg->nnodes - 1);
  for (size_t i = 0; i < n->cfg->nnodes; i++) {
    if ((int)i == n->self_idx) continue;
    const kafu_config_node *p = &n->cfg->nodes[i];
    kafu_http_client *c = kafu_node_client(n, n->eng_cl, i, err);
    if (!c) return err->code;
    char last[1100] = "no answer yet";
    for (;;) {
      kafu_err e = {0};
      long st = 0;
      kafu_buf resp = {0};
      int rc = kafu_http_get(c, "/readyz", 1000, &st, &resp, &e);
      const char *b = resp.data ? (const char *)resp.data : "";
      if (rc == 0 && st == 401) {
        kafu_buf_free(&resp);
        return kafu_err_set(err, KAFU_EINVAL,
                            "node %s at %s refused this node's cluster token: cluster.token / token_file differ "
                            "between the nodes",
                            p->id, c->hostport);
      }
      if (rc == 0 && st == 200) {
        char who[128] = "", sha[80] = "";
        bool peer_token = false;
        kafu_json_get_str(b, resp.len, "node", who, sizeof who);
        kafu_json_get_str(b, resp.len, "module_sha256", sha, sizeof sha);
        bool told = kafu_json_get_bool(b, resp.len, "token", &peer_token) == 0;
        uint64_t run = parse_id(b, resp.len, "run"), inc = parse_id(b, resp.len, "incarnation");
        long long hop = 0;
        if (kafu_json_get_int(b, resp.len, "hop", &hop) || hop < 0) hop = 0;
        kafu_buf_free(&resp);
        if (told && peer_token != (n->cfg->token != NULL))
          return kafu_err_set(err, KAFU_EINVAL,
                              "node %s at %s %s a cluster token but this node %s: give every node the same "
                              "cluster.token_file",
                              p->id, c->hostport, peer_token ? "requires" : "has no",
                              peer_token ? "has none" : "has one");
        if (strcmp(who, p->id))
          return kafu_err_set(
              err, KAFU_EINVAL,
              "%s (configured for node %s) answered as node '%s': check the nodes' ports in %s", c->hostport,
              p->id, who, n->cfg->config_path);
        pthread_mutex_lock(&n->mu);
        bool same = !strcmp(sha, n->module_sha);
        if (same) kafu_node_learn_locked(n, (int)i, inc, run, (uint64_t)hop);
        pthread_mutex_unlock(&n->mu);
        if (!same)
          return kafu_err_set(err, KAFU_EINVAL,
                              "node %s at %s runs a different module (sha256 %.16s..., here %.16s...)", p->id,
                              c->hostport, sha, n->module_sha);
        if (run) return 1;
        break;
      }
      if (rc)
        snprintf(last, sizeof last, "%s", e.msg);
      else {
        char why[800] = "";
        kafu_json_get_str(b, resp.len, "reason", why, sizeof why);
        snprintf(last, sizeof last, "HTTP %ld%s%s", st, why[0] ? ": " : "", why);
      }
      kafu_buf_free(&resp);
      if (kafu_ms_since(t0) > limit)
        return kafu_err_set(
            err, KAFU_EIO, "node %s at %s did not become ready within %u ms (cluster.startup_timeout_ms): %s",
            p->id, c->hostport, n->cfg->startup_timeout_ms, last);
      if (kafu_ms_since(t0) >= next_report) {
        report_waiting(n, i, c->hostport, last, kafu_ms_since(t0));
        while (next_report <= kafu_ms_since(t0)) next_report += every;
      }
      if (!kafu_node_sleep(n, 50))
        return kafu_err_set(err, KAFU_EIO, "shut down while waiting for node %s", p->id);
    }
  }
  if (n->cfg->nnodes > 1) kafu_infoc(&n->log, "all nodes ready after %.0f ms", kafu_ms_since(t0));
  return 0;
}

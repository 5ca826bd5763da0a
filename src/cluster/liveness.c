/*
 * liveness.c — who is alive.
 *
 * Start-up: the coordinator polls every peer's GET /readyz until all are
 * ready (cluster.startup_timeout_ms), checking that each answers as the node
 * the config says and runs the same module, then starts the program.
 *
 * During the run, followers POST /heartbeat to the coordinator every
 * cluster.heartbeat.interval_ms. One mechanism serves both directions:
 *  - a follower whose heartbeats fail KAFU_HEARTBEAT_MISSES times in a row
 *    (or never succeeded within the start-up timeout) has lost the
 *    coordinator and follows follower_on_coordinator_lost (shutdown_self |
 *    ignore);
 *  - the coordinator watches when it last heard from each follower. A
 *    follower silent for KAFU_HEARTBEAT_MISSES intervals is probed with GET
 *    /healthz; only when that fails too is it declared dead, and the
 *    coordinator ends the run (exit non-zero, naming the node). A killed
 *    process refuses the connection at once, so detection takes ~3 intervals;
 *    a merely slow one (busy machine) answers the probe and is left alone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "node_internal.h"

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static void heartbeat_loop(kafu_node *n) {
  const kafu_config_node *co = &n->cfg->nodes[0];
  uint64_t iv = n->cfg->heartbeat.interval_ms;
  long timeout = (long)max_u64(2 * iv, 500);
  bool had_ok = false, lost = false, warned = false;
  int fails = 0;
  uint64_t t_start = kafu_now_ns();
  kafu_buf body = {0};
  kafu_buf_printf(&body, "{\"node\":");
  kafu_json_quote(&body, n->self);
  kafu_buf_printf(&body, "}");
  for (bool first = true; kafu_node_sleep(n, first ? 0 : iv); first = false) {
    kafu_err err = {0};
    long st = 0;
    kafu_buf resp = {0};
    kafu_http_client *c = kafu_node_client(n, n->live_cl, 0, &err);
    int rc = c ? kafu_http_post(c, "/heartbeat", body.data, body.len, timeout, &st, &resp, &err) : -1;
    if (rc == 0 && st == 200) {
      if (lost) kafu_infoc(&n->log, "coordinator %s is reachable again", co->id);
      had_ok = true;
      lost = false;
      fails = 0;
    } else if (rc == 0 && (st == 401 || st == 403)) { /* a configuration error: waiting cannot fix it */
      char reason[600];
      snprintf(reason, sizeof reason,
               st == 401 ? "the coordinator %s refused this node's cluster token (cluster.token / token_file "
                           "differ between the nodes)"
                         : "the coordinator %s refused this node's heartbeat: it has no cluster token and does "
                           "not know this node's address; give every node the same cluster.token_file",
               co->id);
      kafu_buf_free(&resp);
      /* stay up a moment: the coordinator's own start-up check of this node
       * then sees the mismatch too and says so, instead of "not ready" */
      kafu_errorc(&n->log, "%s; exiting", reason);
      kafu_node_sleep(n, 2000);
      kafu_node_finish(n, KAFU_EXIT_CLUSTER, true, reason);
      break;
    } else if (rc == 0) { /* it answered, so it is alive; but something is misconfigured */
      size_t bl = resp.len > 300 ? 300 : resp.len;
      while (bl && (resp.data[bl - 1] == '\n' || resp.data[bl - 1] == '\r')) bl--;
      if (!warned)
        kafu_warnc(&n->log, "coordinator %s answered a heartbeat with HTTP %ld: %.*s", co->id, st, (int)bl,
                   resp.data ? (char *)resp.data : "");
      warned = true;
      had_ok = true;
      fails = 0;
    } else {
      fails++;
      kafu_metrics_add(&n->metrics, &n->metrics.heartbeat_failures, 1);
      kafu_debugc(&n->log, "heartbeat %d to %s failed: %s", fails, co->id, err.msg);
      bool is_lost = had_ok ? fails >= KAFU_HEARTBEAT_MISSES
                            : kafu_ms_since(t_start) > (double)n->cfg->startup_timeout_ms;
      if (is_lost && !lost) {
        lost = true;
        char hp[300], reason[1200];
        kafu_hostport(co->address, co->port, hp, sizeof hp);
        bool shut = n->cfg->heartbeat.on_coordinator_lost == KAFU_ON_COORDINATOR_LOST_SHUTDOWN_SELF;
        snprintf(reason, sizeof reason,
                 "lost the coordinator %s at %s (%d heartbeats failed, last: %.400s); %s "
                 "(cluster.heartbeat.follower_on_coordinator_lost: %s)",
                 co->id, hp, fails, err.msg, shut ? "shutting down" : "continuing",
                 kafu_on_coordinator_lost_name(n->cfg->heartbeat.on_coordinator_lost));
        if (shut) {
          kafu_buf_free(&resp);
          kafu_node_finish(n, KAFU_EXIT_CLUSTER, true, reason);
          break;
        }
        kafu_warnc(&n->log, "%s", reason);
      }
    }
    kafu_buf_free(&resp);
  }
  kafu_buf_free(&body);
}

static void monitor_loop(kafu_node *n) {
  uint64_t iv = n->cfg->heartbeat.interval_ms;
  uint64_t threshold_ms = max_u64(KAFU_HEARTBEAT_MISSES * iv, KAFU_SILENCE_MIN_MS);
  while (kafu_node_sleep(n, iv)) {
    for (size_t i = 1; i < n->cfg->nnodes; i++) {
      pthread_mutex_lock(&n->mu);
      bool watch = n->started && !n->done && !n->ending;
      uint64_t seen = n->last_seen[i];
      pthread_mutex_unlock(&n->mu);
      if (!watch) break;
      double silent_ms = (double)(kafu_now_ns() - seen) / 1e6;
      if (silent_ms <= (double)threshold_ms) continue;
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
      char hp[300], reason[1200];
      kafu_hostport(n->cfg->nodes[i].address, n->cfg->nodes[i].port, hp, sizeof hp);
      snprintf(
          reason, sizeof reason,
          "node %s at %s died during execution: no heartbeat for %.1f s and GET /healthz failed (%.400s); "
          "shutting the cluster down",
          n->cfg->nodes[i].id, hp, silent_ms / 1000.0, err.msg);
      kafu_node_end_cluster(n, n->live_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
      return;
    }
  }
}

void *kafu_node_liveness_main(void *arg) {
  kafu_node *n = arg;
  if (n->coordinator)
    monitor_loop(n);
  else
    heartbeat_loop(n);
  return NULL;
}

int kafu_node_wait_peers(kafu_node *n, kafu_err *err) {
  uint64_t t0 = kafu_now_ns();
  double limit = (double)n->cfg->startup_timeout_ms;
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
        kafu_buf_free(&resp);
        if (told && peer_token != (n->cfg->token != NULL))
          return kafu_err_set(err, KAFU_EINVAL,
                              "node %s at %s %s a cluster token but this node %s: give every node the same "
                              "cluster.token_file",
                              p->id, c->hostport, peer_token ? "requires" : "has no", peer_token ? "has none" : "has one");
        if (strcmp(who, p->id))
          return kafu_err_set(
              err, KAFU_EINVAL,
              "%s (configured for node %s) answered as node '%s': check the nodes' ports in %s", c->hostport,
              p->id, who, n->cfg->config_path);
        pthread_mutex_lock(&n->mu);
        bool same = !strcmp(sha, n->module_sha);
        pthread_mutex_unlock(&n->mu);
        if (!same)
          return kafu_err_set(err, KAFU_EINVAL,
                              "node %s at %s runs a different module (sha256 %.16s..., here %.16s...)", p->id,
                              c->hostport, sha, n->module_sha);
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
      if (!kafu_node_sleep(n, 50))
        return kafu_err_set(err, KAFU_EIO, "shut down while waiting for node %s", p->id);
    }
  }
  if (n->cfg->nnodes > 1) kafu_infoc(&n->log, "all nodes ready after %.0f ms", kafu_ms_since(t0));
  return 0;
}

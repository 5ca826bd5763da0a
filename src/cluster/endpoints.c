/*
 * endpoints.c — the HTTP API of a node (docs/cluster.md):
 *
 *   GET  /healthz    liveness: the process answers
 *   GET  /readyz     module loaded + compiled, runtime ready (503 otherwise)
 *   GET  /status     JSON: node, state, module sha256, engine, counters, image id
 *   GET  /metrics    Prometheus text
 *   GET  /baseline   the memory image id this node holds (delta baseline)
 *   POST /migrate    streamed snapshot body -> decoder -> validate -> resume
 *   POST /heartbeat  follower -> coordinator liveness (both learn each other's incarnation and run)
 *   POST /run        coordinator -> followers: the run that starts (its id)
 *   POST /checkpoint a full snapshot at the program's next migration point on this node
 *   POST /shutdown   {exit_code, reason}: the run is over
 *   POST /io         a forwarded call on a socket or stdin this node is home to (node_io.c)
 *   GET  /aot/<sha>/<arch>  compiled code of the module for a peer (artifacts.c)
 *
 * With a cluster token, every POST needs `Authorization: Bearer <token>`, and
 * any request carrying a wrong token gets 401 (so a peer with another token
 * is found at start-up, on its first GET /readyz). Without one, POSTs are
 * accepted only from the nodes' own addresses (403 otherwise).
 * Errors are JSON {"error": kind, "message": text, "node": id}.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/snapshot.h"
#include "node_internal.h"

#define SENDING_WAIT_MS 5000 /* a peer may answer our POST and call back before we saw the answer */
#define KAFU_RECV_STALL_S 5  /* a snapshot body that sends nothing this long is dropped */

typedef struct migrate_req {
  char id[128]; /* X-Kafu-Migration-Id, "" when absent */
  kafu_snap_decoder *dec;
  int rc; /* first decoder error */
  kafu_err err;
  bool released; /* the decoder was discarded and the node released at the error */
  uint64_t busy_ns; /* spent decoding the body as it came (told to the sender) */
} migrate_req;

static void peer_name(kafu_http_request *r, char *out, size_t cap) {
  snprintf(out, cap, "?");
  if (!r->conn) return;
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr) return;
  char ip[INET6_ADDRSTRLEN] = "?";
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
    kafu_hostport(ip, ntohs(s4->sin_port), out, cap);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
    kafu_hostport(ip, ntohs(s6->sin6_port), out, cap);
  }
}

typedef enum {
  AUTH_NO_TOKEN, /* this node has no cluster token */
  AUTH_MISSING,  /* it has one; the request carries none */
  AUTH_WRONG,    /* ... another one */
  AUTH_OK,
} auth_state;

/* Constant-time comparison of the Authorization header with "Bearer <token>". */
static auth_state auth_of(kafu_node *n, kafu_http_request *r) {
  const char *tok = n->cfg->token;
  if (!tok || !*tok) return AUTH_NO_TOKEN;
  const char *h = kafu_http_header(r, "Authorization");
  if (!h) return AUTH_MISSING;
  if (strncmp(h, "Bearer ", 7)) return AUTH_WRONG;
  h += 7;
  size_t a = strlen(h), b = strlen(tok);
  unsigned char diff = (unsigned char)(a != b);
  for (size_t i = 0; i < b; i++) diff |= (unsigned char)(h[i < a ? i : 0] ^ tok[i]);
  return diff == 0 ? AUTH_OK : AUTH_WRONG;
}

/* No token: is the client one of the nodes? */
static bool from_a_node(kafu_node *n, kafu_http_request *r) {
  if (!r->conn) return false;
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  return ci && kafu_addr_is_node(n->cfg, ci->client_addr);
}

static void ok_json(kafu_http_response *resp, int status) {
  resp->status = status;
  resp->content_type = "application/json";
}

/* With n->mu held: a peer that just got our snapshot may call back before our
 * engine thread processed its 200; wait for that (briefly) instead of saying 409. */
static void wait_not_sending(kafu_node *n) {
  uint64_t end = kafu_now_ns() + SENDING_WAIT_MS * 1000000ull;
  while (n->state == KAFU_NODE_SENDING && !n->done && kafu_now_ns() < end) kafu_node_timed_wait(n, 50);
}

static void get_status(kafu_node *n, kafu_http_response *resp) {
  char img[17];
  pthread_mutex_lock(&n->mu);
  kafu_mem_image_id_str(n->image_id, img);
  kafu_buf *b = &resp->body;
  kafu_buf_printf(b, "{\"node\":");
  kafu_json_quote(b, n->self);
  kafu_buf_printf(
      b, ",\"coordinator\":%s,\"state\":\"%s\",\"ready\":%s,\"address\":", n->coordinator ? "true" : "false",
      kafu_node_state_name(n->state), n->ready ? "true" : "false");
  kafu_json_quote(b, n->hostport);
  kafu_buf_printf(b, ",\"module_sha256\":");
  kafu_json_quote(b, n->module_sha);
  kafu_buf_printf(b, ",\"engine\":");
  kafu_json_quote(b, KAFU_ENGINE_VERSION);
  kafu_buf_printf(
      b, ",\"migrations\":{\"in\":%" PRIu64 ",\"out\":%" PRIu64 "},\"image_id\":\"%s\",\"uptime_s\":%.3f",
      n->mig_in, n->mig_out, img, kafu_ms_since(n->start_ns) / 1000.0);
  kafu_node_json_identity(n, b);
  kafu_buf_printf(b,
                  ",\"joined\":%s,\"entries\":%zu,\"entry_hop\":%" PRIu64 ",\"entry_bytes\":%" PRIu64
                  ",\"checkpoint_requested\":%s,\"version\":\"%s\"}\n",
                  n->run.joined ? "true" : "false", n->ent.n, n->ent.inner_hop, n->ent.bytes,
                  n->ck.waiting ? "true" : "false", KAFU_VERSION);
  pthread_mutex_unlock(&n->mu);
  ok_json(resp, 200);
}

static kafu_http_mode begin_migrate(kafu_node *n, kafu_http_request *r, kafu_http_response *resp) {
  const char *id = kafu_http_header(r, KAFU_MIGRATION_ID_HEADER);
  pthread_mutex_lock(&n->mu);
  if (id && *id && !strcmp(id, n->last_mig_id)) {
    /* we accepted this one already; the sender missed our 200 and retries */
    pthread_mutex_unlock(&n->mu);
    kafu_infoc(&n->log, "migration %s was already received; acknowledging again", id);
    ok_json(resp, 200);
    kafu_buf_printf(&resp->body, "{\"ok\":true,\"duplicate\":true,\"node\":");
    kafu_json_quote(&resp->body, n->self);
    kafu_buf_printf(&resp->body, "}\n");
    return KAFU_HTTP_RESPOND;
  }
  wait_not_sending(n);
  const char *busy = NULL;
  int code = 409;
  if (n->done || n->state == KAFU_NODE_FINISHED)
    busy = "the run is over on this node", code = 409;
  else if (!n->ready)
    busy = "the module is not loaded yet", code = 503;
  else if (!n->run.joined)
    busy = "this node is still asking its peers about a run in progress", code = 503;
  else if (n->state == KAFU_NODE_RUNNING)
    busy = "this node is running the program";
  else if (n->state == KAFU_NODE_RECEIVING)
    busy = "this node is already receiving a snapshot";
  else if (n->state == KAFU_NODE_SENDING)
    busy = "this node is still sending a snapshot";
  else if (n->state != KAFU_NODE_IDLE)
    busy = "this node is starting the program";
  if (busy) {
    kafu_node_state st = n->state;
    pthread_mutex_unlock(&n->mu);
    char peer[80];
    peer_name(r, peer, sizeof peer);
    kafu_warnc(&n->log, "refused a snapshot from %s: %s (state %s)", peer, busy, kafu_node_state_name(st));
    kafu_metrics_add(&n->metrics, &n->metrics.rejected, 1);
    kafu_http_error(resp, code, n->self, code == 503 ? "not_ready" : "busy", "%s", busy);
    return KAFU_HTTP_RESPOND;
  }
  n->state = KAFU_NODE_RECEIVING;
  pthread_mutex_unlock(&n->mu);

  migrate_req *m = calloc(1, sizeof *m);
  kafu_err err = {0};
  int rc = m ? kafu_node_engine_call(n, KAFU_CALL_DECODER, &m->dec, &err) : KAFU_ENOMEM;
  if (rc) {
    pthread_mutex_lock(&n->mu);
    if (n->state == KAFU_NODE_RECEIVING) n->state = KAFU_NODE_IDLE;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    free(m);
    kafu_http_error(resp, 503, n->self, "unavailable", "cannot take a snapshot now: %s",
                    rc == KAFU_ENOMEM ? "out of memory" : err.msg);
    return KAFU_HTTP_RESPOND;
  }
  snprintf(m->id, sizeof m->id, "%s", id ? id : "");
  r->user = m;
  /* an upload that stalls must not hold the node in `receiving` for long */
  kafu_http_set_idle_timeout(r, KAFU_RECV_STALL_S);
  return KAFU_HTTP_STREAM;
}

static int data_migrate(kafu_node *n, kafu_http_request *r, const uint8_t *p, size_t len) {
  migrate_req *m = r->user;
  if (!m || m->rc) return -1;
  uint64_t t0 = kafu_now_ns();
  m->rc = kafu_snap_decoder_feed(m->dec, p, len, &m->err);
  m->busy_ns += kafu_now_ns() - t0;
  if (!m->rc) return 0;
  /* refused: release the node now (the decode is undone), not when the rest
   * of the body has been read and dropped, which a sender may drag out */
  kafu_err ignore;
  kafu_node_engine_call(n, KAFU_CALL_ABORT, &m->dec, &ignore);
  m->released = true;
  char peer[80];
  peer_name(r, peer, sizeof peer);
  kafu_logc(&n->log, m->rc == KAFU_EBASELINE ? KAFU_LOG_DEBUG : KAFU_LOG_WARN,
            "rejected a snapshot from %s (after %" PRIu64 " bytes; the rest is dropped): %s", peer,
            r->body_bytes, m->err.msg);
  return -1;
}

static void complete_migrate(kafu_node *n, kafu_http_request *r, kafu_http_response *resp) {
  migrate_req *m = r->user;
  r->user = NULL;
  kafu_http_set_idle_timeout(r, KAFU_HTTP_IDLE_S); /* the body is in: a kept-alive connection again */
  double recv_ms = kafu_ms_since(r->start_ns);
  int rc = m->rc;
  kafu_err err = m->err;
  uint64_t busy_ns = m->busy_ns;
  if (!rc) {
    uint64_t t0 = kafu_now_ns();
    pthread_mutex_lock(&n->mu);
    n->recv_bytes = r->body_bytes; /* for the engine thread's log line */
    snprintf(n->recv_id, sizeof n->recv_id, "%s", m->id);
    n->recv_ms = recv_ms;
    pthread_mutex_unlock(&n->mu);
    rc = kafu_node_engine_call(n, KAFU_CALL_FINISH, &m->dec, &err);
    if (!rc) {
      /* before our 200 goes out: the sender can only retry after that */
      pthread_mutex_lock(&n->mu);
      snprintf(n->last_mig_id, sizeof n->last_mig_id, "%s", m->id);
      pthread_mutex_unlock(&n->mu);
      kafu_metrics_observe(&n->metrics, KAFU_PHASE_RECEIVE, recv_ms);
      kafu_metrics_observe(&n->metrics, KAFU_PHASE_RESTORE, kafu_ms_since(t0));
      kafu_metrics_add(&n->metrics, &n->metrics.migrations_in, 1);
    }
    busy_ns += kafu_now_ns() - t0;
  } else if (!m->released) {
    kafu_err ignore;
    kafu_node_engine_call(n, KAFU_CALL_ABORT, &m->dec, &ignore);
  }
  bool logged = m->released;
  free(m);
  if (!rc) {
    ok_json(resp, 200);
    char inc[17];
    kafu_id_str(n->incarnation, inc);
    kafu_buf_printf(&resp->body, "{\"ok\":true,\"node\":");
    kafu_json_quote(&resp->body, n->self);
    /* busy_us: this node's own work on the snapshot (decoding, restoring),
     * so the sender can tell a slow link from a busy receiver */
    kafu_buf_printf(&resp->body, ",\"incarnation\":\"%s\",\"bytes\":%" PRIu64 ",\"busy_us\":%" PRIu64 "}\n", inc,
                    r->body_bytes, busy_ns / 1000);
    return;
  }
  char peer[80];
  peer_name(r, peer, sizeof peer);
  kafu_metrics_add(&n->metrics, &n->metrics.rejected, 1);
  if (rc == KAFU_ESTALE || rc == KAFU_ERUN) {
    /* not malformed: not the snapshot this node expects (a replay, or a copy
     * the run has moved past); the sender must not retry it */
    kafu_metrics_add(&n->metrics, &n->metrics.stale, 1);
    kafu_warnc(&n->log, "refused a snapshot from %s: %s", peer, err.msg);
    kafu_http_error(resp, 409, n->self, rc == KAFU_ERUN ? "run" : "stale", "%s", err.msg);
    return;
  }
  if (rc == KAFU_EBASELINE) {
    kafu_debugc(&n->log, "snapshot from %s is a delta against an image this node does not hold: %s", peer,
                err.msg);
    kafu_http_error(resp, 409, n->self, "baseline", "%s", err.msg);
    return;
  }
  if (!logged) kafu_warnc(&n->log, "rejected a snapshot from %s (%" PRIu64 " bytes): %s", peer, r->body_bytes, err.msg);
  if (rc == KAFU_EMODULE)
    kafu_http_error(resp, 400, n->self, "module", "%s", err.msg);
  else
    kafu_http_error(resp, 400, n->self, "invalid", "%s", err.msg);
}

static void aborted_migrate(kafu_node *n, kafu_http_request *r) {
  migrate_req *m = r->user;
  r->user = NULL;
  if (!m) return;
  char peer[80];
  peer_name(r, peer, sizeof peer);
  kafu_warnc(&n->log, "snapshot upload from %s broke off (or stalled %u s) after %" PRIu64 " bytes; discarded",
             peer, KAFU_RECV_STALL_S, r->body_bytes);
  kafu_err ignore;
  if (!m->released) kafu_node_engine_call(n, KAFU_CALL_ABORT, &m->dec, &ignore);
  free(m);
}

static void complete_heartbeat(kafu_node *n, kafu_http_request *r, kafu_http_response *resp) {
  char from[128] = "";
  if (kafu_json_get_str((char *)r->body.data, r->body.len, "node", from, sizeof from)) {
    kafu_http_error(resp, 400, n->self, "invalid", "heartbeat body must be {\"node\": \"<id>\"}");
    return;
  }
  int i = kafu_config_node_index(n->cfg, from);
  if (i < 0) {
    kafu_http_error(resp, 400, n->self, "unknown_node", "heartbeat from '%s', which is not a node of %s",
                    from, n->cfg->name);
    return;
  }
  const char *b = (const char *)r->body.data;
  char hex[40] = "";
  uint64_t inc = 0, run = 0;
  long long hop = 0;
  if (!kafu_json_get_str(b, r->body.len, "incarnation", hex, sizeof hex)) kafu_mem_image_id_parse(hex, &inc);
  if (!kafu_json_get_str(b, r->body.len, "run", hex, sizeof hex)) kafu_mem_image_id_parse(hex, &run);
  if (kafu_json_get_int(b, r->body.len, "hop", &hop) || hop < 0) hop = 0;
  ok_json(resp, 200);
  pthread_mutex_lock(&n->mu);
  n->last_seen[i] = kafu_now_ns();
  kafu_node_learn_locked(n, i, inc, run, (uint64_t)hop);
  kafu_buf_printf(&resp->body, "{\"node\":");
  kafu_json_quote(&resp->body, n->self);
  kafu_buf_printf(&resp->body, ",\"state\":\"%s\"", kafu_node_state_name(n->state));
  kafu_node_json_identity(n, &resp->body);
  pthread_mutex_unlock(&n->mu);
  kafu_buf_printf(&resp->body, "}\n");
}

/* POST /run {"run","hop","node","incarnation"}: the coordinator announces the
 * run it starts. A node in another run refuses (409 run), unless nothing has
 * happened in that one yet (no hop, no entry: a start that was superseded). */
static void complete_run(kafu_node *n, kafu_http_request *r, kafu_http_response *resp) {
  const char *b = (const char *)r->body.data;
  char hex[40] = "", from[128] = "";
  uint64_t run = 0, inc = 0;
  long long hop = 0;
  if (kafu_json_get_str(b, r->body.len, "run", hex, sizeof hex) || kafu_mem_image_id_parse(hex, &run) ||
      !run) {
    kafu_http_error(resp, 400, n->self, "invalid",
                    "body must be {\"run\": \"<16 hex>\", \"node\": \"<id>\", ...}");
    return;
  }
  kafu_json_get_str(b, r->body.len, "node", from, sizeof from);
  if (!kafu_json_get_str(b, r->body.len, "incarnation", hex, sizeof hex)) kafu_mem_image_id_parse(hex, &inc);
  if (kafu_json_get_int(b, r->body.len, "hop", &hop) || hop < 0) hop = 0;
  int i = kafu_config_node_index(n->cfg, from);
  pthread_mutex_lock(&n->mu);
  if (n->run.id && n->run.id != run) {
    if (n->run.hop == 0 && n->ent.n == 0 && n->state == KAFU_NODE_IDLE) {
      n->run.id = 0; /* nothing happened in it: take the new one */
    } else {
      char a[17];
      kafu_id_str(n->run.id, a);
      uint64_t h = n->run.hop;
      pthread_mutex_unlock(&n->mu);
      kafu_http_error(resp, 409, n->self, "run", "this node takes part in run %s (hop %" PRIu64 ")", a, h);
      return;
    }
  }
  kafu_node_learn_locked(n, i, inc, run, (uint64_t)hop);
  ok_json(resp, 200);
  kafu_buf_printf(&resp->body, "{\"ok\":true,\"node\":");
  kafu_json_quote(&resp->body, n->self);
  kafu_node_json_identity(n, &resp->body);
  pthread_mutex_unlock(&n->mu);
  kafu_buf_printf(&resp->body, "}\n");
}

/* The runtime hands over an on-demand checkpoint (engine thread). */
static void checkpoint_ready(void *ctx, const uint8_t *bytes, size_t len, const char *err) {
  kafu_node *n = ctx;
  pthread_mutex_lock(&n->mu);
  n->ck.bytes.len = 0;
  n->ck.err[0] = 0;
  if (err)
    snprintf(n->ck.err, sizeof n->ck.err, "%s", err);
  else if (kafu_buf_append(&n->ck.bytes, bytes, len))
    snprintf(n->ck.err, sizeof n->ck.err, "out of memory");
  n->ck.ready = true;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

/* POST /checkpoint [{"timeout_ms": N}]: wait (up to N ms, default 30 s) for
 * the program to reach a migration point on this node, answer the full
 * snapshot taken there (application/octet-stream). */
static void complete_checkpoint(kafu_node *n, kafu_http_request *r, kafu_http_response *resp) {
  long long timeout = 30000;
  if (r->body.len && !kafu_json_get_int((const char *)r->body.data, r->body.len, "timeout_ms", &timeout) &&
      (timeout < 1 || timeout > 86400000)) {
    kafu_http_error(resp, 400, n->self, "invalid", "timeout_ms must be 1..86400000");
    return;
  }
  pthread_mutex_lock(&n->mu);
  if (n->state != KAFU_NODE_RUNNING || !n->rt) {
    kafu_node_state st = n->state;
    pthread_mutex_unlock(&n->mu);
    kafu_http_error(resp, 409, n->self, "not_running", "the program is not running on this node (state %s)",
                    kafu_node_state_name(st));
    return;
  }
  if (n->ck.waiting) {
    pthread_mutex_unlock(&n->mu);
    kafu_http_error(resp, 409, n->self, "busy", "a checkpoint is being taken already");
    return;
  }
  n->ck.waiting = true;
  n->ck.ready = false;
  pthread_mutex_unlock(&n->mu);
  kafu_runtime_request_checkpoint(n->rt, checkpoint_ready, n);
  uint64_t end = kafu_now_ns() + (uint64_t)timeout * 1000000ull;
  pthread_mutex_lock(&n->mu);
  while (!n->ck.ready && !n->done && kafu_now_ns() < end) kafu_node_timed_wait(n, 50);
  bool ready = n->ck.ready;
  if (!ready && kafu_runtime_cancel_checkpoint(n->rt)) {
    n->ck.waiting = false;
    bool done = n->done;
    pthread_mutex_unlock(&n->mu);
    if (done)
      kafu_http_error(resp, 409, n->self, "finished",
                      "the run ended before the program reached a migration point");
    else
      kafu_http_error(resp, 504, n->self, "timeout", "the program reached no migration point within %lld ms",
                      timeout);
    return;
  }
  while (!n->ck.ready) kafu_node_timed_wait(n, 50); /* taken meanwhile: being handed over */
  n->ck.waiting = false;
  if (n->ck.err[0]) {
    kafu_http_error(resp, 500, n->self, "checkpoint", "%s", n->ck.err);
  } else {
    resp->status = 200;
    resp->content_type = "application/octet-stream";
    resp->body = n->ck.bytes;
    n->ck.bytes = (kafu_buf){0};
  }
  pthread_mutex_unlock(&n->mu);
}

static void complete_shutdown(kafu_node *n, kafu_http_request *r, kafu_http_response *resp) {
  const char *b = (const char *)r->body.data;
  long long code;
  char reason[1024] = "", from[128] = "", status[32] = "";
  if (kafu_json_get_int(b, r->body.len, "exit_code", &code) || code < 0 || code > 255) {
    kafu_http_error(resp, 400, n->self, "invalid",
                    "shutdown body must be {\"exit_code\": 0..255, \"reason\": \"...\"}");
    return;
  }
  kafu_json_get_str(b, r->body.len, "reason", reason, sizeof reason);
  kafu_json_get_str(b, r->body.len, "node", from, sizeof from);
  kafu_json_get_str(b, r->body.len, "status", status, sizeof status);
  bool failure = !strcmp(status, "trapped") || !strcmp(status, "failed") || (!status[0] && code != 0);
  char peer[80];
  peer_name(r, peer, sizeof peer);
  /* a peer that failed says why itself; under kafu launch, which shows every
   * node's output, repeating it here would only add noise */
  bool peers = failure && from[0] && n->o.report_fd > 2;
  kafu_logc(&n->log, peers ? KAFU_LOG_DEBUG : KAFU_LOG_INFO, "shutdown requested by %s%s (exit code %lld)%s%s",
            from[0] ? "node " : "", from[0] ? from : peer, code, reason[0] ? ": " : "", reason);
  ok_json(resp, 200);
  kafu_buf_printf(&resp->body, "{\"ok\":true}\n");
  if (!reason[0]) snprintf(reason, sizeof reason, "shut down by %s", from[0] ? from : peer);
  if (from[0])
    kafu_node_finish_for_peer(n, (int)code, failure, reason);
  else
    kafu_node_finish(n, (int)code, failure, reason);
}

static kafu_http_mode begin(void *ctx, kafu_http_request *r, kafu_http_response *resp) {
  kafu_node *n = ctx;
  const char *u = r->url;
  bool get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
  bool post = !strcmp(r->method, "POST");
  static const char *const gets[] = {"/healthz", "/readyz", "/status", "/metrics", "/baseline"};
  static const char *const posts[] = {"/migrate", "/heartbeat", "/shutdown", "/run", "/checkpoint", "/io"};
  bool is_get = false, is_post = false;
  for (size_t i = 0; i < sizeof gets / sizeof *gets; i++) is_get |= !strcmp(u, gets[i]);
  for (size_t i = 0; i < sizeof posts / sizeof *posts; i++) is_post |= !strcmp(u, posts[i]);
  bool is_art = kafu_node_is_artifact_path(u);
  is_get |= is_art;
  if (!is_get && !is_post) {
    kafu_http_error(resp, 404, n->self, "not_found", "no endpoint %s (see docs/cluster.md)", u);
    return KAFU_HTTP_RESPOND;
  }
  if ((is_get && !get) || (is_post && !post)) {
    kafu_http_error(resp, 405, n->self, "method", "%s needs %s", u, is_get ? "GET" : "POST");
    resp->header_name = "Allow";
    resp->header_value = is_get ? "GET, HEAD" : "POST";
    return KAFU_HTTP_RESPOND;
  }
  /* cluster.tls: a POST needs a client certificate signed by the cluster CA
   * (GETs stay open: probes and scrapers have none) */
  bool tls = n->cfg->tls.cert != NULL;
  if (tls && is_post && !r->peer_cert) {
    char peer[80];
    peer_name(r, peer, sizeof peer);
    kafu_warnc(&n->log, "refused POST %s from %s: no valid client certificate (cluster.tls)", u, peer);
    kafu_http_error(resp, 403, n->self, "certificate",
                    "POST %s needs a client certificate signed by this cluster's CA (cluster.tls.ca)", u);
    return KAFU_HTTP_RESPOND;
  }
  auth_state auth = auth_of(n, r);
  if (auth == AUTH_WRONG || ((is_post || is_art) && auth == AUTH_MISSING)) {
    char peer[80];
    peer_name(r, peer, sizeof peer);
    kafu_warnc(&n->log, "refused %s %s from %s: %s cluster token", r->method, u, peer,
               auth == AUTH_WRONG ? "wrong" : "missing");
    kafu_http_error(resp, 401, n->self, "unauthorized",
                    auth == AUTH_WRONG ? "the cluster token does not match this node's"
                                       : "%s %s needs the header 'Authorization: Bearer <cluster token>'",
                    r->method, u);
    resp->header_name = "WWW-Authenticate";
    resp->header_value = "Bearer";
    return KAFU_HTTP_RESPOND;
  }
  /* without a token, the certificate (cluster.tls) or else the address says
   * that a POST (or a GET /aot) comes from a node */
  bool cert = tls && r->peer_cert;
  bool node_addr = (is_post || is_art) && auth == AUTH_NO_TOKEN && !cert && from_a_node(n, r);
  r->trusted = auth == AUTH_OK || node_addr || cert;
  if ((is_post || is_art) && auth == AUTH_NO_TOKEN && !node_addr && !cert) {
    char peer[80];
    peer_name(r, peer, sizeof peer);
    kafu_warnc(&n->log, "refused %s %s from %s: not a node of the config (no cluster token is set)", r->method,
               u, peer);
    kafu_http_error(resp, 403, n->self, "forbidden",
                    "%s %s is accepted only from the nodes of %s (this node has no cluster token)", r->method,
                    u, n->cfg->name);
    return KAFU_HTTP_RESPOND;
  }
  if (!strcmp(u, "/healthz")) {
    ok_json(resp, 200);
    char inc[17];
    kafu_id_str(n->incarnation, inc);
    kafu_buf_printf(&resp->body, "{\"status\":\"ok\",\"node\":");
    kafu_json_quote(&resp->body, n->self);
    kafu_buf_printf(&resp->body, ",\"incarnation\":\"%s\"}\n", inc);
  } else if (!strcmp(u, "/readyz")) {
    pthread_mutex_lock(&n->mu);
    /* ready to take a snapshot: loaded, and it asked its peers about a run in progress */
    bool ready = n->ready && n->run.joined && !n->done;
    ok_json(resp, ready ? 200 : 503);
    kafu_buf_printf(&resp->body, "{\"ready\":%s,\"node\":", ready ? "true" : "false");
    kafu_json_quote(&resp->body, n->self);
    kafu_buf_printf(&resp->body, ",\"state\":\"%s\",\"module_sha256\":", kafu_node_state_name(n->state));
    kafu_json_quote(&resp->body, n->module_sha);
    /* whether this node needs the token: a coordinator without one finds out here */
    kafu_buf_printf(&resp->body, ",\"token\":%s", n->cfg->token ? "true" : "false");
    kafu_node_json_identity(n, &resp->body);
    if (!ready) {
      kafu_buf_printf(&resp->body, ",\"reason\":");
      kafu_json_quote(&resp->body, n->done      ? "the run is over"
                                   : n->ready ? "asking the peers about a run in progress"
                                              : n->not_ready);
    }
    kafu_buf_printf(&resp->body, "}\n");
    pthread_mutex_unlock(&n->mu);
  } else if (!strcmp(u, "/status")) {
    get_status(n, resp);
  } else if (!strcmp(u, "/metrics")) {
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    kafu_metrics_render(&n->metrics, n->self, &resp->body);
    pthread_mutex_lock(&n->mu);
    bool here = n->state == KAFU_NODE_RUNNING || n->state == KAFU_NODE_SENDING;
    pthread_mutex_unlock(&n->mu);
    kafu_metrics_render_process(n->self, here, &resp->body);
  } else if (!strcmp(u, "/baseline")) {
    char img[17];
    pthread_mutex_lock(&n->mu);
    wait_not_sending(n);
    kafu_mem_image_id_str(n->image_id, img);
    pthread_mutex_unlock(&n->mu);
    ok_json(resp, 200);
    kafu_buf_printf(&resp->body, "{\"node\":");
    kafu_json_quote(&resp->body, n->self);
    kafu_buf_printf(&resp->body, ",\"image_id\":\"%s\"}\n", img);
  } else if (is_art) {
    kafu_node_serve_artifact(n, r, resp);
  } else if (!strcmp(u, "/migrate")) {
    return begin_migrate(n, r, resp);
  } else if (!strcmp(u, "/io")) {
    r->body_limit = KAFU_WASI_HOME_IO_MAX + 4096; /* a write of IO_MAX bytes and its header */
    return KAFU_HTTP_BUFFER;
  } else {
    return KAFU_HTTP_BUFFER; /* /heartbeat, /shutdown, /run, /checkpoint: small JSON bodies */
  }
  return KAFU_HTTP_RESPOND;
}

static int data(void *ctx, kafu_http_request *r, const uint8_t *p, size_t len) {
  return data_migrate(ctx, r, p, len);
}

static void complete(void *ctx, kafu_http_request *r, kafu_http_response *resp) {
  kafu_node *n = ctx;
  if (!strcmp(r->url, "/migrate"))
    complete_migrate(n, r, resp);
  else if (!strcmp(r->url, "/heartbeat"))
    complete_heartbeat(n, r, resp);
  else if (!strcmp(r->url, "/run"))
    complete_run(n, r, resp);
  else if (!strcmp(r->url, "/checkpoint"))
    complete_checkpoint(n, r, resp);
  else if (!strcmp(r->url, "/io"))
    kafu_node_io_answer(n, r, resp);
  else
    complete_shutdown(n, r, resp);
}

static void aborted(void *ctx, kafu_http_request *r) {
  if (!strcmp(r->url, "/migrate")) aborted_migrate(ctx, r);
}

static void answered(void *ctx, kafu_http_request *r) {
  if (!strcmp(r->url, "/migrate")) kafu_node_answered(ctx);
}

kafu_http_handlers kafu_node_handlers(kafu_node *n) {
  kafu_http_handlers h = {
      .ctx = n, .begin = begin, .data = data, .complete = complete, .aborted = aborted, .answered = answered};
  return h;
}

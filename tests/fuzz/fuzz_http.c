/*
 * fuzz_http.c — libFuzzer target for a node's HTTP request handlers
 * (src/cluster/endpoints.c: begin / data / complete / aborted), the code that
 * answers whatever a network peer sends.
 *
 * The handlers run on a real kafu_node (config, state, metrics, log, locks)
 * without sockets: the request comes with kafu_http_request.test_headers
 * instead of a connection, and the body is handed over in pieces the way
 * src/cluster/http_server.c does (streamed to data(), or buffered up to the
 * limit). No engine thread runs, so POST /migrate ends in 503 where it would
 * need one (the snapshot decoder has its own target); everything before that
 * — routing, methods, the token check, states, heartbeat and shutdown JSON —
 * is exercised, and POST /shutdown really ends the node (reset after each
 * input).
 *
 * Input: byte 0 = flags (bit 0: the node has a cluster token; bits 1-2: its
 * state; bit 3: ready; bit 4: the body breaks off (aborted) instead of
 * completing; bit 5: coordinator), then "METHOD PATH\n", header lines
 * "Name: value\n" up to an empty line, then the body. Piece sizes come from
 * the input's hash. Invariants on top of "no crash, no leak": every request
 * gets exactly one answer with a status in 100..599 and a JSON body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/node_internal.h"
#include "kafu/config.h"

#define MAX_HEADERS 16

static const char *const k_yaml[2] = {
    "name: fuzz\napp:\n  path: /nonexistent/app.wasm\nnodes:\n"
    "  a: {address: 127.0.0.1, port: 1}\n  b: {address: 127.0.0.1, port: 2}\n",
    "name: fuzz\napp:\n  path: /nonexistent/app.wasm\nnodes:\n"
    "  a: {address: 127.0.0.1, port: 1}\n  b: {address: 127.0.0.1, port: 2}\n"
    "cluster:\n  token: fuzz-token\n",
};
static kafu_config *g_cfg[2];
static kafu_node g_node;

static void setup(void) {
  kafu_log_set_level(KAFU_LOG_ERROR);
  for (int i = 0; i < 2; i++) {
    kafu_err e = {0};
    if (kafu_config_load_string(k_yaml[i], strlen(k_yaml[i]), "fuzz.yaml", "/", &g_cfg[i], &e)) {
      fprintf(stderr, "fuzz_http: config: %s\n", e.msg);
      abort();
    }
  }
  kafu_node *n = &g_node;
  pthread_mutex_init(&n->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&n->cv, &ca);
  pthread_condattr_destroy(&ca);
  kafu_metrics_init(&n->metrics);
  n->last_seen = calloc(2, sizeof *n->last_seen);
  snprintf(n->module_sha, sizeof n->module_sha, "%064d", 0);
}

static void reset(uint8_t flags) {
  kafu_node *n = &g_node;
  static const kafu_node_state states[4] = {KAFU_NODE_IDLE, KAFU_NODE_RUNNING, KAFU_NODE_RECEIVING,
                                            KAFU_NODE_FINISHED};
  n->cfg = g_cfg[flags & 1];
  n->coordinator = flags & 32;
  n->self_idx = n->coordinator ? 0 : 1;
  snprintf(n->self, sizeof n->self, "%s", n->coordinator ? "a" : "b");
  kafu_log_ctx_init(&n->log, "node %s", n->self);
  n->state = states[(flags >> 1) & 3];
  n->ready = flags & 8;
  n->done = n->state == KAFU_NODE_FINISHED;
  n->ending = n->failure = false;
  n->exit_code = 0;
  n->reason[0] = n->last_mig_id[0] = 0;
  snprintf(n->not_ready, sizeof n->not_ready, "fuzzing");
}

/* One line of src (up to '\n' or the end) into out (NUL-terminated, cut). */
static size_t line(const uint8_t *p, size_t n, char *out, size_t cap) {
  size_t i = 0;
  while (i < n && p[i] != '\n') i++;
  size_t k = i < cap - 1 ? i : cap - 1;
  memcpy(out, p, k);
  out[k] = 0;
  return i < n ? i + 1 : i;
}

static void check_answer(const kafu_http_response *resp) {
  if (resp->status < 100 || resp->status > 599) {
    fprintf(stderr, "fuzz_http: status %d\n", resp->status);
    abort();
  }
  bool json = !resp->content_type || !strcmp(resp->content_type, "application/json");
  if (json && (!resp->body.len || resp->body.data[0] != '{')) {
    fprintf(stderr, "fuzz_http: a JSON answer that is not an object\n");
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool once;
  if (!once) setup(), once = true;
  if (size < 1) return 0;
  uint8_t flags = data[0];
  const uint8_t *p = data + 1;
  size_t n = size - 1, used;
  reset(flags);
  kafu_http_handlers h = kafu_node_handlers(&g_node);

  kafu_http_request *r = calloc(1, sizeof *r);
  char first[300];
  used = line(p, n, first, sizeof first);
  p += used, n -= used;
  char *sp = strchr(first, ' ');
  if (sp) *sp = 0;
  /* cut to the fields' sizes on purpose, as the server's are ("%.*s": no
   * -Wformat-truncation) */
  snprintf(r->method, sizeof r->method, "%.*s", (int)sizeof r->method - 1, first);
  snprintf(r->url, sizeof r->url, "%.*s", (int)sizeof r->url - 1, sp ? sp + 1 : "/");
  /* headers */
  char hbuf[MAX_HEADERS][2][512];
  const char *hv[2 * MAX_HEADERS + 2] = {0};
  int nh = 0;
  while (n) {
    char l[512];
    used = line(p, n, l, sizeof l);
    p += used, n -= used;
    if (!l[0]) break;
    char *c = strchr(l, ':');
    if (!c || nh == MAX_HEADERS) continue;
    *c++ = 0;
    while (*c == ' ') c++;
    snprintf(hbuf[nh][0], sizeof hbuf[nh][0], "%s", l);
    snprintf(hbuf[nh][1], sizeof hbuf[nh][1], "%s", c);
    hv[2 * nh] = hbuf[nh][0];
    hv[2 * nh + 1] = hbuf[nh][1];
    nh++;
  }
  r->test_headers = hv;
  r->start_ns = kafu_now_ns();

  kafu_http_response resp = {0};
  r->mode = h.begin(h.ctx, r, &resp);
  if (r->mode == KAFU_HTTP_RESPOND) {
    check_answer(&resp);
  } else {
    /* the body in pieces, as libmicrohttpd hands it over */
    uint64_t rng = kafu_hash64(data, size) | 1;
    bool too_large = false, discarding = false;
    size_t lim = r->body_limit ? r->body_limit : 64 * 1024;
    while (n) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      size_t k = 1 + rng % 4096;
      if (k > n) k = n;
      r->body_bytes += k;
      if (r->mode == KAFU_HTTP_STREAM) {
        if (!discarding && h.data(h.ctx, r, p, k) < 0) discarding = true;
      } else if (!too_large) {
        if (r->body.len + k > lim || kafu_buf_append(&r->body, p, k)) {
          too_large = true;
          kafu_buf_free(&r->body);
        }
      }
      p += k, n -= k;
    }
    if (flags & 16) {
      h.aborted(h.ctx, r);
    } else if (!(r->mode == KAFU_HTTP_BUFFER && too_large)) {
      r->completed = true;
      h.complete(h.ctx, r, &resp);
      check_answer(&resp);
    }
  }
  kafu_buf_free(&resp.body);
  kafu_buf_free(&r->body);
  free(r);
  return 0;
}

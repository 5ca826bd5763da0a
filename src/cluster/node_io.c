/*
 * node_io.c — sockets and stdin across nodes, the cluster's part: the node's
 * own nodes.<id>.listen sockets, the link that carries the WASI host's
 * forwarded calls to a resource's home node (POST /io through the same HTTP
 * client as every other node-to-node call: token, keep-alive, and whatever
 * transport security that client has), and the endpoint that answers them.
 *
 * The requests themselves are the WASI host's (src/wasi/wasi_remote.c builds
 * them, src/wasi/wasi_home.c answers them); here they are opaque bytes.
 * Calls come from the engine thread, and from poll helper threads while the
 * engine waits on several nodes at once, so each peer has a small pool of
 * clients (one libcurl handle and connection each).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"

/* A forwarded call waits at its home for at most a slice; past this the home
 * is stuck or unreachable, and the call fails instead of hanging. */
#define IO_TIMEOUT_MS (KAFU_WASI_HOME_SLICE_MS + 10000L)

int kafu_cluster_bind_listen(const kafu_config *cfg, const char *node, kafu_wasi_home *home, kafu_err *err) {
  const kafu_config_node *nd = kafu_config_node_find(cfg, node);
  if (!nd) return kafu_err_set(err, KAFU_EINVAL, "no node '%s' in the config", node);
  int rc = kafu_wasi_home_serve(home, node, err);
  if (rc) return rc;
  for (size_t i = 0; i < nd->nlisten; i++) {
    const kafu_config_listen *l = &nd->listen[i];
    int fd = kafu_listen_socket(l->host, l->port, NULL, err);
    if (fd < 0) return kafu_err_prefix(err, "%s: nodes.%s.listen[%zu]", cfg->config_path, node, i);
    if ((rc = kafu_wasi_home_add_listen(home, node, (uint32_t)i, fd, err))) return rc;
    char hp[300];
    kafu_config_listen_str(l, hp, sizeof hp);
    kafu_debug("node %s: listening on %s for the program (nodes.%s.listen[%zu])", node, hp, node, i);
  }
  return 0;
}

/* ---- the link (client side) ------------------------------------------------------------ */

static kafu_http_client *acquire(kafu_node *n, size_t peer, kafu_err *err) {
  pthread_mutex_lock(&n->io.mu);
  kafu_http_client *c = NULL;
  for (size_t k = 0; k < KAFU_IO_CLIENTS && !c; k++)
    if (!n->io.busy[peer][k]) {
      c = &n->io.cl[peer][k];
      n->io.busy[peer][k] = true;
    }
  pthread_mutex_unlock(&n->io.mu);
  if (!c) {
    kafu_err_setc(&n->log, err, KAFU_EIO, "too many concurrent calls to node %s", n->cfg->nodes[peer].id);
    return NULL;
  }
  const kafu_config_node *nd = &n->cfg->nodes[peer];
  if (!c->curl && kafu_http_client_init(c, nd->address, nd->port, n->cfg->token, &n->cfg->tls, err) < 0) {
    pthread_mutex_lock(&n->io.mu);
    n->io.busy[peer][c - n->io.cl[peer]] = false;
    pthread_mutex_unlock(&n->io.mu);
    return NULL;
  }
  return c;
}

static void release(kafu_node *n, size_t peer, kafu_http_client *c) {
  pthread_mutex_lock(&n->io.mu);
  n->io.busy[peer][c - n->io.cl[peer]] = false;
  pthread_mutex_unlock(&n->io.mu);
}

int kafu_node_io_call(void *ctx, const char *home, const uint8_t *req, size_t len, kafu_buf *resp,
                      kafu_err *err) {
  kafu_node *n = ctx;
  int peer = kafu_config_node_index(n->cfg, home);
  if (peer < 0 || peer == n->self_idx)
    return kafu_err_set(err, KAFU_EINVAL, "node '%s' is not another node of the config", home);
  pthread_mutex_lock(&n->mu);
  bool done = n->done;
  pthread_mutex_unlock(&n->mu);
  if (done) return kafu_err_set(err, KAFU_EIO, "this node is shutting down");
  kafu_http_client *c = acquire(n, (size_t)peer, err);
  if (!c) return err->code;
  long status = 0;
  size_t before = resp->len;
  int rc = kafu_http_post_bin(c, "/io", req, len, IO_TIMEOUT_MS, &status, resp, err);
  release(n, (size_t)peer, c);
  if (rc) return rc;
  if (status != 200) {
    char msg[300] = "";
    if (resp->data)
      kafu_json_get_str((const char *)resp->data + before, resp->len - before, "message", msg, sizeof msg);
    resp->len = before;
    return kafu_err_set(err, KAFU_EIO, "POST %s/io answered HTTP %ld%s%s", c->hostport, status,
                        msg[0] ? ": " : "", msg);
  }
  kafu_metrics_add(&n->metrics, &n->metrics.io_out, 1);
  return 0;
}

void kafu_node_io_free(kafu_node *n) {
  for (size_t i = 0; n->io.cl && i < n->cfg->nnodes; i++)
    for (size_t k = 0; k < KAFU_IO_CLIENTS; k++) kafu_http_client_free(&n->io.cl[i][k]);
  free(n->io.cl);
  free(n->io.busy);
  n->io.cl = NULL;
  n->io.busy = NULL;
  if (n->io.mu_init) pthread_mutex_destroy(&n->io.mu);
  n->io.mu_init = false;
}

int kafu_node_io_init(kafu_node *n, kafu_err *err) {
  pthread_mutex_init(&n->io.mu, NULL);
  n->io.mu_init = true;
  n->io.cl = calloc(n->cfg->nnodes, sizeof *n->io.cl);
  n->io.busy = calloc(n->cfg->nnodes, sizeof *n->io.busy);
  if (!n->io.cl || !n->io.busy) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  int rc = kafu_wasi_home_new(&n->log, &n->home, err);
  if (rc) return rc;
  return kafu_cluster_bind_listen(n->cfg, n->self, n->home, err);
}

/* ---- POST /io (the home's side) -------------------------------------------------------- */

/* Runs on the connection's HTTP thread and may block there for up to a slice
 * (KAFU_WASI_HOME_SLICE_MS) while a blocking call waits for its fd: fine with
 * a thread per connection; an event-driven server would have to hand it to a
 * worker and resume the connection when the answer is ready. */

void kafu_node_io_answer(kafu_node *n, kafu_http_request *r, kafu_http_response *resp) {
  kafu_err err = {0};
  resp->content_type = "application/octet-stream";
  if (kafu_wasi_home_handle(n->home, r->body.data, r->body.len, &resp->body, &err) < 0) {
    kafu_warnc(&n->log, "refused a forwarded call: %s", err.msg);
    kafu_http_error(resp, 400, n->self, "invalid", "%s", err.msg);
    return;
  }
  kafu_metrics_add(&n->metrics, &n->metrics.io_in, 1);
  resp->status = 200;
}

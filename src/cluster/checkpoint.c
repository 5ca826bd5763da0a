/*
 * checkpoint.c — `kafu checkpoint`: the client side of POST /checkpoint. The
 * node running the program is found by asking each node's GET /status; it
 * answers the snapshot once the program reaches a migration point there
 * (endpoints.c, runtime restore.c). A program moving between nodes at that
 * moment is looked for again until the timeout.
 */
#include <stdio.h>
#include <string.h>

#include "cluster_internal.h"

int kafu_cluster_checkpoint(const kafu_config *cfg, const char *node, long timeout_ms, kafu_buf *out,
                            char *taken_on, kafu_err *err) {
  kafu_http_global_init();
  if (node && kafu_config_node_index(cfg, node) < 0)
    return kafu_err_set(err, KAFU_EINVAL, "%s: no node '%s' in `nodes`", cfg->config_path, node);
  uint64_t t0 = kafu_now_ns();
  kafu_buf seen = {0};
  int rc = KAFU_EIO;
  for (;;) {
    seen.len = 0;
    for (size_t i = 0; i < cfg->nnodes; i++) {
      const kafu_config_node *nd = &cfg->nodes[i];
      if (node && strcmp(node, nd->id)) continue;
      kafu_http_client c = {0};
      kafu_err e = {0};
      long st = 0;
      kafu_buf resp = {0};
      char state[32] = "";
      if (kafu_http_client_init(&c, nd->address, nd->port, cfg->token, &cfg->tls, &e) ||
          kafu_http_get(&c, "/status", 2000, &st, &resp, &e) || st != 200) {
        kafu_buf_printf(&seen, "%s%s: %s", seen.len ? "; " : "", nd->id, e.msg[0] ? e.msg : "no status");
        kafu_buf_free(&resp);
        kafu_http_client_free(&c);
        continue;
      }
      kafu_json_get_str((const char *)resp.data, resp.len, "state", state, sizeof state);
      kafu_buf_printf(&seen, "%s%s: %s", seen.len ? "; " : "", nd->id, state);
      resp.len = 0;
      if (strcmp(state, "running")) {
        kafu_buf_free(&resp);
        kafu_http_client_free(&c);
        continue;
      }
      long left = timeout_ms - (long)kafu_ms_since(t0);
      char body[64];
      int bl = snprintf(body, sizeof body, "{\"timeout_ms\":%ld}", left > 1 ? left : 1);
      /* no client timeout: the node answers within timeout_ms */
      rc = kafu_http_post(&c, "/checkpoint", body, (size_t)bl, 0, &st, &resp, &e);
      if (rc == 0 && st == 200) {
        *out = resp;
        snprintf(taken_on, 64, "%s", nd->id);
        kafu_http_client_free(&c);
        kafu_buf_free(&seen);
        return 0;
      }
      char msg[600] = "";
      if (rc == 0) kafu_json_get_str((const char *)resp.data, resp.len, "message", msg, sizeof msg);
      kafu_buf_printf(&seen, " (POST /checkpoint: %s%s%s)", rc ? e.msg : "", rc ? "" : "HTTP ",
                      rc       ? ""
                      : msg[0] ? msg
                               : "error");
      if (rc == 0 && st != 409) { /* a definite answer: timeout, failure */
        kafu_err_set(err, KAFU_EIO, "node %s: %s", nd->id, msg[0] ? msg : "checkpoint failed");
        kafu_buf_free(&resp);
        kafu_http_client_free(&c);
        kafu_buf_free(&seen);
        return err->code;
      }
      kafu_buf_free(&resp);
      kafu_http_client_free(&c);
    }
    if (kafu_ms_since(t0) > (double)timeout_ms) break;
    struct timespec ts = {0, 100 * 1000000L}; /* the program may be between nodes */
    nanosleep(&ts, NULL);
  }
  kafu_err_set(err, KAFU_EIO, "no node runs the program (%s)", seen.len ? kafu_buf_cstr(&seen) : "no nodes");
  kafu_buf_free(&seen);
  return err->code;
}

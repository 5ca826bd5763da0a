/*
 * artifacts.c — compiled code that travels between nodes (docs/cluster.md,
 * "Compiled code from peers"; docs/heterogeneous.md).
 *
 * A node that has no native code for the module and cannot build it (no C
 * compiler for its architecture, no wasm2c: the engine says KAFU_ENOCODE) asks
 * its peers, in config order, with
 *
 *   GET /aot/<module sha256>/<arch>
 *
 * A peer answers from its engine cache or app.aot_dir, or, when it has a C
 * compiler for that architecture (e.g. gcc-aarch64-linux-gnu on an x86-64
 * node), compiles it on the spot. The body is one JSON line
 *   {"name":"<arch>-<engine>-<toolchain>.so","size":N,"sha256":"<hex>","mac":"<hex>|"}
 * followed by the N bytes of the artifact. The receiver checks the size and
 * sha256 of the bytes, and, when cluster.token is set, the mac: HMAC-SHA256
 * keyed with the token over "kafu-artifact-1", module sha, arch, name and the
 * bytes' sha256 — so code is only taken from a node that knows the token, the
 * same trust as a snapshot (which the token also guards). The engine then
 * checks it like a cache entry (kafu trailer, ELF machine, descriptor naming
 * the module) before it is loaded.
 *
 * Requests need the token like every POST. Peers that are not up yet, not
 * ready, or without the code are asked again until cluster.startup_timeout_ms.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/engine.h"
#include "node_internal.h"

#define ART_PREFIX "/aot/"
#define ART_MAC_LABEL "kafu-artifact-1"
#define FETCH_TIMEOUT_MS 120000 /* a peer may compile for us */

static void art_mac(const char *token, const char *sha, const char *arch, const char *name,
                    const char *digest_hex, char out[65]) {
  out[0] = 0;
  if (!token || !*token) return;
  kafu_buf m = {0};
  kafu_buf_printf(&m, "%s\n%s\n%s\n%s\n%s", ART_MAC_LABEL, sha, arch, name, digest_hex);
  uint8_t mac[32];
  unsigned int ml = 0;
  HMAC(EVP_sha256(), token, (int)strlen(token), m.data, m.len, mac, &ml);
  kafu_buf_free(&m);
  kafu_hex(mac, ml < 32 ? ml : 32, out);
}

static bool is_hex64(const char *s) {
  if (strlen(s) != 64) return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return false;
  return true;
}

bool kafu_node_is_artifact_path(const char *url) { return !strncmp(url, ART_PREFIX, strlen(ART_PREFIX)); }

/* The engine options of this node, with app.aot_dir. */
static kafu_engine_opts engine_opts(kafu_node *n) {
  kafu_engine_opts eo = n->o.engine ? *n->o.engine : (kafu_engine_opts){.progress = -1};
  if (!eo.artifact_dir) eo.artifact_dir = n->cfg->app.aot_dir;
  eo.progress = 0;
  return eo;
}

void kafu_node_serve_artifact(kafu_node *n, kafu_http_request *r, kafu_http_response *resp) {
  char sha[80] = "", arch[40] = "";
  const char *p = r->url + strlen(ART_PREFIX), *slash = strchr(p, '/');
  if (slash && (size_t)(slash - p) < sizeof sha && strlen(slash + 1) < sizeof arch) {
    memcpy(sha, p, (size_t)(slash - p));
    sha[slash - p] = 0;
    snprintf(arch, sizeof arch, "%s", slash + 1);
  }
  const char *want = kafu_engine_target_arch(arch);
  if (!is_hex64(sha) || !want) {
    kafu_http_error(resp, 404, n->self, "not_found", "expected /aot/<module sha256>/<arch>, got %s", r->url);
    return;
  }
  pthread_mutex_lock(&n->mu);
  char mine[65];
  snprintf(mine, sizeof mine, "%s", n->module_sha);
  pthread_mutex_unlock(&n->mu);
  if (!mine[0]) {
    kafu_http_error(resp, 503, n->self, "not_ready", "node %s has not loaded its module yet", n->self);
    return;
  }
  if (strcmp(mine, sha) != 0) {
    kafu_http_error(resp, 404, n->self, "module", "node %s runs module %.12s, not %.12s", n->self, mine, sha);
    return;
  }
  kafu_engine_opts eo = engine_opts(n);
  uint8_t *data = NULL;
  size_t len = 0;
  char name[256];
  kafu_err err = {0};
  int rc = kafu_engine_artifact_get(&eo, sha, want, &data, &len, name, sizeof name, &err);
  if (rc == KAFU_ENOENT && n->app_wasm) {
    /* none at hand: build one if this node has a compiler for that machine */
    char path[4096];
    kafu_err cerr = {0};
    kafu_infoc(&n->log, "compiling module %.12s for %s on behalf of a peer", sha, want);
    eo.require_cache = true;
    if (kafu_engine_compile_for(n->app_wasm, n->app_wasm_len, want, &eo, path, sizeof path, NULL, &cerr) == 0)
      rc = kafu_engine_artifact_get(&eo, sha, want, &data, &len, name, sizeof name, &err);
    else
      kafu_err_set(&err, KAFU_ENOENT, "no compiled code of module %.12s for %s here, and none can be built: %s",
                   sha, want, cerr.msg);
  }
  if (rc) {
    kafu_http_error(resp, rc == KAFU_ENOENT ? 404 : 500, n->self, "no_artifact", "node %s: %s", n->self,
                    err.msg);
    return;
  }
  uint8_t dg[KAFU_SHA256_LEN];
  char dhex[65], mac[65];
  kafu_sha256(data, len, dg);
  kafu_hex(dg, sizeof dg, dhex);
  art_mac(n->cfg->token, sha, want, name, dhex, mac);
  resp->status = 200;
  resp->content_type = "application/x-kafu-artifact";
  kafu_buf_printf(&resp->body, "{\"name\":");
  kafu_json_quote(&resp->body, name);
  kafu_buf_printf(&resp->body, ",\"size\":%zu,\"sha256\":\"%s\",\"mac\":\"%s\"}\n", len, dhex, mac);
  kafu_buf_append(&resp->body, data, len);
  free(data);
  kafu_infoc(&n->log, "handed compiled code %s (%zu bytes) to a peer", name, len);
}

/* One GET to peer i: 0 stored, 1 the peer has none (or is not up/ready yet:
 * ask again later), < 0 a bad answer (err). */
static int fetch_from(kafu_node *n, size_t i, const char *sha, char *why, size_t cap, kafu_err *err) {
  const char *arch = kafu_engine_arch();
  kafu_err e = {0};
  kafu_http_client *c = kafu_node_client(n, n->eng_cl, i, &e);
  const char *peer = n->cfg->nodes[i].id;
  if (!c) {
    snprintf(why, cap, "%s: %.300s", peer, e.msg);
    return 1;
  }
  char path[200];
  snprintf(path, sizeof path, ART_PREFIX "%s/%s", sha, arch);
  long st = 0;
  kafu_buf body = {0};
  if (kafu_http_get(c, path, FETCH_TIMEOUT_MS, &st, &body, &e) < 0) {
    snprintf(why, cap, "%s: %.300s", peer, e.msg);
    kafu_buf_free(&body);
    return 1;
  }
  int rc = 1;
  const char *b = body.data ? (const char *)body.data : "";
  const char *nl = body.len ? memchr(b, '\n', body.len) : NULL;
  if (st != 200) {
    char msg[300] = "";
    kafu_json_get_str(b, body.len, "message", msg, sizeof msg);
    snprintf(why, cap, "%s: HTTP %ld %s", peer, st, msg);
    if (st == 401) rc = kafu_err_set(err, KAFU_EIO, "node %s refused to hand out compiled code: %s", peer, msg);
  } else if (!nl) {
    rc = kafu_err_set(err, KAFU_EFORMAT, "node %s: malformed compiled-code answer (no header line)", peer);
  } else {
    size_t hl = (size_t)(nl - b);
    char name[256] = "", dhex[80] = "", mac[80] = "", want_mac[65];
    long long size = -1;
    kafu_json_get_str(b, hl, "name", name, sizeof name);
    kafu_json_get_str(b, hl, "sha256", dhex, sizeof dhex);
    kafu_json_get_str(b, hl, "mac", mac, sizeof mac);
    kafu_json_get_int(b, hl, "size", &size);
    const uint8_t *data = (const uint8_t *)nl + 1;
    size_t len = body.len - hl - 1;
    uint8_t dg[KAFU_SHA256_LEN];
    char got[65];
    kafu_sha256(data, len, dg);
    kafu_hex(dg, sizeof dg, got);
    art_mac(n->cfg->token, sha, arch, name, got, want_mac);
    if (size < 0 || (size_t)size != len)
      rc = kafu_err_set(err, KAFU_EFORMAT, "node %s: compiled code %s arrived with %zu of %lld bytes", peer, name,
                        len, size);
    else if (strcmp(got, dhex) != 0)
      rc = kafu_err_set(err, KAFU_EFORMAT, "node %s: compiled code %s does not match its sha256 (%.16s, got %.16s)",
                        peer, name, dhex, got);
    else if (strcmp(want_mac, mac) != 0)
      rc = kafu_err_set(err, KAFU_EFORMAT,
                        "node %s: compiled code %s is not authenticated with the cluster token (mac mismatch): "
                        "refused",
                        peer, name);
    else {
      kafu_engine_opts eo = engine_opts(n);
      rc = kafu_engine_artifact_put(&eo, sha, name, data, len, err);
      if (rc) {
        kafu_err_prefix(err, "node %s: compiled code from node %s", n->self, peer);
      } else {
        kafu_infoc(&n->log, "got compiled code %s (%zu bytes) from node %s", name, len, peer);
        rc = 0;
      }
    }
  }
  kafu_buf_free(&body);
  return rc;
}

int kafu_node_fetch_artifact(kafu_node *n, const char *sha, kafu_err *err) {
  if (n->cfg->nnodes < 2) return kafu_err_set(err, KAFU_ENOENT, "no peers to ask");
  if (!n->cfg->token || !*n->cfg->token)
    kafu_warnc(&n->log, "taking compiled code from peers without cluster.token: any host that can answer on a "
                        "peer's address could supply code; set cluster.token");
  uint64_t t0 = kafu_now_ns();
  kafu_buf whys = {0};
  for (int round = 0;; round++) {
    whys.len = 0;
    for (size_t i = 0; i < n->cfg->nnodes; i++) {
      if ((int)i == n->self_idx) continue;
      char why[400] = "";
      int rc = fetch_from(n, i, sha, why, sizeof why, err);
      if (rc <= 0) {
        kafu_buf_free(&whys);
        return rc;
      }
      kafu_buf_printf(&whys, "%s%s", whys.len ? "; " : "", why);
    }
    if (kafu_ms_since(t0) > (double)n->cfg->startup_timeout_ms) break;
    if (round == 0) kafu_infoc(&n->log, "no peer has compiled code for it yet (%s); asking again",
                              kafu_buf_cstr(&whys));
    if (!kafu_node_sleep(n, 250)) break;
  }
  int rc = kafu_err_set(err, KAFU_ENOCODE, "no peer provided compiled code within %u ms (cluster.startup_timeout_ms): %s",
                        n->cfg->startup_timeout_ms, whys.len ? kafu_buf_cstr(&whys) : "no answer");
  kafu_buf_free(&whys);
  return rc;
}

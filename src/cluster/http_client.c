/*
 * http_client.c — libcurl client for node-to-node calls.
 *
 * One easy handle per peer and per calling thread, kept for the node's
 * lifetime: libcurl then reuses the TCP connection (keep-alive), so a
 * migration costs no handshake. Every request sets its own method, body and
 * timeout on the same handle. A streamed POST uses chunked transfer encoding
 * with a read callback, so the snapshot is produced while it is sent; instead
 * of a total timeout (which would cap the size) it aborts when the transfer
 * stalls. With cluster.tls the same goes over HTTPS, both sides presenting a
 * certificate of the cluster's CA (the TLS session is kept with the
 * connection, so the handshake is paid once per peer and thread).
 */
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cluster_internal.h"

#define CONNECT_TIMEOUT_MS 2000L
#define STALL_SECONDS 15L /* streamed upload: abort below 1 byte/s for this long */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }
void kafu_http_global_init(void) { pthread_once(&g_once, global_init); }

double kafu_http_client_rtt(kafu_http_client *c) {
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (!c->curl || curl_easy_getinfo(c->curl, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
    return 0;
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return 0;
  return ti.tcpi_rtt / 1e6;
}

int kafu_http_client_init(kafu_http_client *c, const char *host, uint16_t port, const char *token,
                          const kafu_config_tls *tls, kafu_err *err) {
  memset(c, 0, sizeof *c);
  kafu_http_global_init();
  kafu_hostport(host, port, c->hostport, sizeof c->hostport);
  c->tls = tls && tls->cert ? tls : NULL;
  snprintf(c->base, sizeof c->base, "%s://%s", c->tls ? "https" : "http", c->hostport);
  CURL *h = curl_easy_init();
  if (!h) return kafu_err_set(err, KAFU_ENOMEM, "cannot create a libcurl handle for %s", c->hostport);
  c->curl = h;
  struct curl_slist *hd = NULL;
  if (token && *token) {
    char auth[1100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    hd = curl_slist_append(hd, auth);
  }
  c->headers = hd;
  return 0;
}

void kafu_http_client_free(kafu_http_client *c) {
  if (c->curl) curl_easy_cleanup(c->curl);
  if (c->headers) curl_slist_free_all(c->headers);
  memset(c, 0, sizeof *c);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ctx) {
  kafu_buf *b = ctx;
  size_t len = sz * n;
  if (b && b->len + len <= (1u << 20) && kafu_buf_append(b, p, len)) return 0;
  return len; /* responses are small; anything past 1 MiB is dropped */
}

typedef struct {
  kafu_http_read_fn fn; /* NULL: body/len below, sent with a length */
  void *ctx;
  const char *extra_header;
  const void *body;
  size_t len;
  bool expect; /* "Expect: 100-continue" (streams that ask for it) */
} reader;

static size_t on_read(char *buf, size_t sz, size_t n, void *ctx) {
  reader *r = ctx;
  long got = r->fn(r->ctx, (uint8_t *)buf, sz * n);
  if (got < 0) return CURL_READFUNC_ABORT;
  return (size_t)got;
}

/* Common set-up; body == NULL && !rd: GET. */
static int perform(kafu_http_client *c, const char *path, const void *body, size_t len, reader *rd,
                   long timeout_ms, long *status, kafu_buf *resp, kafu_err *err) {
  CURL *h = c->curl;
  char url[600];
  snprintf(url, sizeof url, "%s%s", c->base, path);
  curl_easy_reset(h); /* keeps the connection cache */
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   timeout_ms && timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
  if (c->tls) { /* mutual TLS: our certificate, and the peer's checked against the cluster CA */
    curl_easy_setopt(h, CURLOPT_SSLCERT, c->tls->cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, c->tls->key);
    curl_easy_setopt(h, CURLOPT_CAINFO, c->tls->ca);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  c->errbuf[0] = 0;
  struct curl_slist *hd = c->headers;
  struct curl_slist *extra = NULL;
  if (rd) {
    /* copy the shared headers: the extra ones below must not leak into them */
    for (struct curl_slist *i = c->headers; i; i = i->next) extra = curl_slist_append(extra, i->data);
    extra = curl_slist_append(extra, "Content-Type: application/octet-stream");
    if (rd->fn) extra = curl_slist_append(extra, "Transfer-Encoding: chunked");
    /* A body of known size (a snapshot small enough to be encoded first) goes
     * without "Expect: 100-continue": waiting for the interim answer costs a
     * round trip per migration (20 ms on a 20 ms link), and an early rejection
     * (409/401/...) comes after the server drained the body (http_server.c).
     * A stream asks for it when its caller says so (a snapshot too big to
     * buffer: a rejection should not cost the whole upload).
     * $KAFU_HTTP_EXPECT=1 / =0 forces it on / off. */
    int ex = kafu_tunables_get()->http_expect;
    if (ex >= 0 ? ex == 0 : !rd->expect) extra = curl_slist_append(extra, "Expect:");
    if (rd->extra_header) extra = curl_slist_append(extra, rd->extra_header);
    hd = extra;
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    if (rd->fn) {
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, rd);
    } else {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, rd->body);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rd->len);
    }
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024); /* fewer callbacks and send() calls */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
  } else if (body) {
    for (struct curl_slist *i = c->headers; i; i = i->next) extra = curl_slist_append(extra, i->data);
    extra = curl_slist_append(extra, "Content-Type: application/json");
    hd = extra;
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  if (hd) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  CURLcode cc = curl_easy_perform(h);
  if (extra) curl_slist_free_all(extra);
  if (cc != CURLE_OK) {
    *status = 0;
    return kafu_err_set(err, cc == CURLE_COULDNT_CONNECT ? KAFU_EREFUSED : KAFU_EIO, "%s %s%s: %s",
                        rd || body ? "POST" : "GET", c->hostport, path,
                        c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
  return 0;
}

int kafu_http_get(kafu_http_client *c, const char *path, long timeout_ms, long *status, kafu_buf *resp,
                  kafu_err *err) {
  return perform(c, path, NULL, 0, NULL, timeout_ms, status, resp, err);
}

int kafu_http_post(kafu_http_client *c, const char *path, const void *body, size_t len, long timeout_ms,
                   long *status, kafu_buf *resp, kafu_err *err) {
  return perform(c, path, body ? body : "", len, NULL, timeout_ms, status, resp, err);
}

int kafu_http_post_stream(kafu_http_client *c, const char *path, const char *extra_header,
                          kafu_http_read_fn read, void *ctx, bool expect, long *status, kafu_buf *resp,
                          kafu_err *err) {
  reader rd = {read, ctx, extra_header, NULL, 0, expect};
  return perform(c, path, NULL, 0, &rd, 0, status, resp, err);
}

int kafu_http_post_bin(kafu_http_client *c, const char *path, const void *body, size_t len, long timeout_ms,
                       long *status, kafu_buf *resp, kafu_err *err) {
  reader rd = {NULL, NULL, NULL, body ? body : "", len, false};
  return perform(c, path, NULL, 0, &rd, timeout_ms, status, resp, err);
}

int kafu_http_post_octets(kafu_http_client *c, const char *path, const char *extra_header, const void *body,
                          size_t len, long *status, kafu_buf *resp, kafu_err *err) {
  reader rd = {NULL, NULL, extra_header, body ? body : "", len, false};
  return perform(c, path, NULL, 0, &rd, 0, status, resp, err);
}

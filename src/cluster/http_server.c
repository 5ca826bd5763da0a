/*
 * http_server.c — a thin layer over libmicrohttpd for the node endpoints.
 *
 * MHD calls one access handler several times per request: once when the
 * headers are in, once per piece of the body, and once more with no data when
 * the body is complete. This layer turns that into begin / data / complete /
 * aborted callbacks and three modes: answer at once (GETs, and early
 * rejections — with `Expect: 100-continue` the client then never sends its
 * body), buffer a small body, or stream the body piece by piece (POST
 * /migrate: pieces go straight into the snapshot decoder, so no request is
 * ever held whole and there is no size cap).
 *
 * Threading: thread per connection. A handler may wait (e.g. for the engine
 * thread to set up a decoder) without stalling heartbeats on other
 * connections. A rejected stream keeps reading and dropping its body so the
 * client gets a clean response instead of a reset connection.
 *
 * Admission (a bounded pool; issue 16: 70 slow connections from one address
 * made /healthz unreachable, 256 from other addresses locked the peers out).
 * A connection is *trusted* once one of its requests was authenticated (the
 * begin handler sets r->trusted: the cluster token, or without one a POST
 * from a node's address); all others are anonymous. Anonymous connections
 * get at most ANON_MAX of the CONN_MAX slots (the rest is reserved for
 * trusted ones), at most ANON_PER_IP per client address, and HEADER_S
 * seconds to send a request's headers (counted from the accept, or from the
 * end of their previous request); the reaper thread closes the ones that
 * take longer. A new connection that would exceed a limit evicts the oldest
 * anonymous connection of its address (per-address limit) or of anyone
 * (global limit) that is not inside a request, so probes and peers always get
 * in and a slow client only ever fills its own share. Eviction and the reaper
 * shut the socket down (a dup of it we hold, so its number is never reused
 * under us); its MHD thread then sees the end of the stream and closes it.
 *
 * Mutual TLS (cluster.tls): MHD with GnuTLS serves HTTPS only, with the
 * node's certificate, and asks every client for one (MHD's trust option: a
 * request, not a requirement, so probes without a certificate still get GETs
 * answered). Each request says whether its client presented a valid
 * certificate signed by the cluster CA (r->peer_cert, checked with GnuTLS on
 * the connection's session); the endpoints refuse POSTs without one.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cluster_internal.h"

#define CONN_MAX 256   /* connections, i.e. threads */
#define ANON_MAX 192   /* of them anonymous (not yet authenticated) */
#define ANON_PER_IP 16 /* anonymous ones per client address */
#define HEADER_S 5     /* an anonymous connection's time to send a request's headers */

/* One TCP connection (MHD's socket context). */
typedef struct conn {
  struct conn *prev, *next;
  int fd; /* our dup of the socket, for shutdown() */
  struct sockaddr_storage addr;
  uint64_t since_ns; /* accepted, or its last request ended */
  bool in_request;   /* headers in, response not yet sent */
  bool trusted;      /* a request on it was authenticated */
  bool evicted;      /* shut down by us; gone soon */
  int8_t cert;       /* TLS: its client certificate, checked once: 1 valid, -1 not, 0 unknown */
} conn;

struct kafu_http_server {
  struct MHD_Daemon *d;
  kafu_http_handlers h;
  int listen_fd;
  pthread_mutex_t mu;
  int active;
  /* admission (mu) */
  conn *conns;
  int nanon;
  pthread_t reaper;
  bool reaper_started, stopping;
  pthread_cond_t cv;
  /* cluster.tls: PEM texts handed to MHD (kept while it runs) */
  bool tls;
  uint8_t *tls_cert, *tls_key, *tls_ca;
};

#define DEFAULT_BODY_LIMIT (64u * 1024u)

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = 0;
  kafu_debug("http server: %s", msg);
}

/* ---- admission ------------------------------------------------------------------- */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b) {
  if (a->ss_family != b->sa_family) return false;
  if (b->sa_family == AF_INET)
    return !memcmp(&((const struct sockaddr_in *)a)->sin_addr, &((const struct sockaddr_in *)b)->sin_addr, 4);
  if (b->sa_family == AF_INET6)
    return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                   16);
  return false;
}

/* With s->mu held: close c (its MHD thread notices and cleans up). */
static void evict_locked(kafu_http_server *s, conn *c, const char *why) {
  c->evicted = true;
  if (!c->trusted) s->nanon--;
  kafu_debug("http server: closing an anonymous connection: %s", why);
  shutdown(c->fd, SHUT_RDWR);
}

/* With s->mu held: the oldest anonymous connection between requests (from addr
 * when addr != NULL), or NULL. */
static conn *oldest_idle_anon(kafu_http_server *s, const struct sockaddr *addr) {
  conn *best = NULL;
  for (conn *c = s->conns; c; c = c->next)
    if (!c->trusted && !c->evicted && !c->in_request && (!addr || same_addr(&c->addr, addr)) &&
        (!best || c->since_ns < best->since_ns))
      best = c;
  return best;
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len) {
  (void)len;
  kafu_http_server *s = cls;
  pthread_mutex_lock(&s->mu);
  int same = 0;
  for (conn *c = s->conns; c; c = c->next) same += !c->trusted && !c->evicted && same_addr(&c->addr, addr);
  bool ok = true;
  if (same >= ANON_PER_IP) {
    conn *v = oldest_idle_anon(s, addr);
    if (v)
      evict_locked(s, v, "too many from one address");
    else
      ok = false; /* all of that address's connections are inside requests */
  }
  if (ok && s->nanon >= ANON_MAX) {
    conn *v = oldest_idle_anon(s, NULL);
    if (v)
      evict_locked(s, v, "too many anonymous connections");
    else
      ok = false;
  }
  pthread_mutex_unlock(&s->mu);
  if (!ok) kafu_debug("http server: refused a connection (anonymous connections all busy)");
  return ok ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  kafu_http_server *s = cls;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    conn *c = calloc(1, sizeof *c);
    const union MHD_ConnectionInfo *fi = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!c) return;
    c->fd = fi ? fcntl(fi->connect_fd, F_DUPFD_CLOEXEC, 3) : -1;
    if (ai && ai->client_addr) {
      size_t l = ai->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
      memcpy(&c->addr, ai->client_addr, l);
    }
    c->since_ns = kafu_now_ns();
    pthread_mutex_lock(&s->mu);
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nanon++;
    pthread_mutex_unlock(&s->mu);
    *socket_context = c;
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    conn *c = *socket_context;
    if (!c) return;
    pthread_mutex_lock(&s->mu);
    if (c->prev)
      c->prev->next = c->next;
    else
      s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    if (!c->trusted && !c->evicted) s->nanon--;
    pthread_mutex_unlock(&s->mu);
    if (c->fd >= 0) close(c->fd);
    free(c);
    *socket_context = NULL;
  }
}

static conn *conn_of(struct MHD_Connection *mc) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

/* A request begins (trusted: it was authenticated) or ends on c. */
static void conn_mark(kafu_http_server *s, conn *c, bool begin, bool trusted) {
  if (!c) return;
  pthread_mutex_lock(&s->mu);
  c->in_request = begin;
  if (!begin) c->since_ns = kafu_now_ns();
  if (trusted && !c->trusted) {
    c->trusted = true;
    if (!c->evicted) s->nanon--;
  }
  pthread_mutex_unlock(&s->mu);
}

/* Closes anonymous connections that take too long to send their headers. */
static void *reaper_main(void *arg) {
  kafu_http_server *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->stopping) {
    uint64_t now = kafu_now_ns();
    for (conn *c = s->conns; c; c = c->next)
      if (!c->trusted && !c->evicted && !c->in_request && now - c->since_ns > HEADER_S * 1000000000ull)
        evict_locked(s, c, "no complete request headers in time");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 250 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static enum MHD_Result send_response(kafu_http_request *r, kafu_http_response *resp) {
  if (!resp->status) kafu_http_error(resp, 500, NULL, "internal", "handler gave no response");
  struct MHD_Response *m = MHD_create_response_from_buffer(
      resp->body.len, resp->body.data ? resp->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
  if (!m) {
    kafu_buf_free(&resp->body);
    return MHD_NO;
  }
  MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE,
                          resp->content_type ? resp->content_type : "application/json");
  if (resp->header_name && resp->header_value)
    MHD_add_response_header(m, resp->header_name, resp->header_value);
  enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)resp->status, m);
  MHD_destroy_response(m);
  kafu_buf_free(&resp->body);
  return rc;
}

/* A body is on its way that the client sends without waiting for "100
 * Continue". MHD stops reading a request once a response is queued, and
 * closes the connection after it: the unread body then resets the connection
 * and the client may see "broken pipe" instead of the answer. So an early
 * answer to such a request waits until the body was read (and dropped).
 * With "Expect: 100-continue" the answer goes out at once and the client
 * never sends the body. */
static bool body_follows(struct MHD_Connection *conn) {
  const char *ex = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
  if (ex && !strcasecmp(ex, "100-continue")) return false;
  const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
  if (te && strcasestr(te, "chunked")) return true;
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  return cl && strtoull(cl, NULL, 10) > 0;
}

/* TLS: did the client present a certificate that the cluster CA signed (and
 * that is in its validity period)? */
static bool peer_cert_valid(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  gnutls_session_t ts = ci ? (gnutls_session_t)ci->tls_session : NULL;
  unsigned status = 0;
  if (!ts || gnutls_certificate_type_get(ts) != GNUTLS_CRT_X509) return false;
  return gnutls_certificate_verify_peers2(ts, &status) == GNUTLS_E_SUCCESS && status == 0;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls) {
  (void)version;
  kafu_http_server *s = cls;
  kafu_http_request *r = *con_cls;
  kafu_http_response resp = {0};
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    r->conn = conn;
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->url, sizeof r->url, "%s", url);
    r->start_ns = kafu_now_ns();
    if (s->tls) { /* a connection's certificate cannot change: checked once */
      struct conn *c = conn_of(conn);
      if (!c || !c->cert) {
        int8_t v = peer_cert_valid(conn) ? 1 : -1;
        if (c) c->cert = v;
        r->peer_cert = v > 0;
      } else {
        r->peer_cert = c->cert > 0;
      }
    }
    *con_cls = r;
    pthread_mutex_lock(&s->mu);
    s->active++;
    pthread_mutex_unlock(&s->mu);
    r->mode = s->h.begin(s->h.ctx, r, &resp);
    conn_mark(s, conn_of(conn), true, r->trusted);
    if (r->mode == KAFU_HTTP_RESPOND) {
      r->completed = true;
      if (body_follows(conn) && (r->deferred = malloc(sizeof *r->deferred))) {
        *r->deferred = resp;
        return MHD_YES;
      }
      return send_response(r, &resp);
    }
    return MHD_YES; /* MHD now sends "100 Continue" if asked and starts on the body */
  }
  if (r->completed) { /* answered early: drop whatever body still arrives */
    if (*upload_data_size) {
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (r->deferred) {
      kafu_http_response d = *r->deferred;
      free(r->deferred);
      r->deferred = NULL;
      return send_response(r, &d);
    }
    return MHD_YES;
  }
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    r->body_bytes += n;
    if (r->mode == KAFU_HTTP_STREAM) {
      if (!r->discarding && s->h.data(s->h.ctx, r, (const uint8_t *)upload_data, n) < 0) r->discarding = true;
    } else if (!r->too_large) {
      size_t lim = r->body_limit ? r->body_limit : DEFAULT_BODY_LIMIT;
      if (r->body.len + n > lim) {
        r->too_large = true;
        kafu_buf_free(&r->body);
      } else if (kafu_buf_append(&r->body, upload_data, n)) {
        r->too_large = true;
      }
    }
    return MHD_YES;
  }
  /* end of body */
  r->completed = true;
  if (r->mode == KAFU_HTTP_BUFFER && r->too_large)
    kafu_http_error(&resp, 413, NULL, "too_large", "request body larger than %zu bytes",
                    r->body_limit ? r->body_limit : (size_t)DEFAULT_BODY_LIMIT);
  else
    s->h.complete(s->h.ctx, r, &resp);
  return send_response(r, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  kafu_http_server *s = cls;
  kafu_http_request *r = *con_cls;
  if (!r) return;
  if (!r->completed && s->h.aborted) {
    kafu_debug("http server: %s %s ended before its body was complete (termination code %d, %llu bytes)",
               r->method, r->url, (int)toe, (unsigned long long)r->body_bytes);
    s->h.aborted(s->h.ctx, r);
  }
  if (s->h.answered) s->h.answered(s->h.ctx, r);
  kafu_buf_free(&r->body);
  if (r->deferred) {
    kafu_buf_free(&r->deferred->body);
    free(r->deferred);
  }
  free(r);
  *con_cls = NULL;
  conn_mark(s, conn_of(conn), false, false);
  pthread_mutex_lock(&s->mu);
  s->active--;
  pthread_mutex_unlock(&s->mu);
}

/* Read one PEM file of cluster.tls (NUL-terminated for MHD). */
static int read_pem(const char *path, const char *what, uint8_t **out, kafu_err *err) {
  size_t len;
  kafu_err e = {0};
  if (kafu_read_file(path, out, &len, &e))
    return kafu_err_set(err, KAFU_EIO, "cluster.tls.%s: %s", what, e.msg);
  return 0;
}

/* Check what MHD will load, so that a bad file is named (MHD only says that
 * it could not start). */
static int check_tls(kafu_http_server *s, const kafu_config_tls *t, kafu_err *err) {
  gnutls_certificate_credentials_t cr;
  if (gnutls_certificate_allocate_credentials(&cr) < 0)
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  gnutls_datum_t cert = {s->tls_cert, (unsigned)strlen((char *)s->tls_cert)};
  gnutls_datum_t key = {s->tls_key, (unsigned)strlen((char *)s->tls_key)};
  gnutls_datum_t ca = {s->tls_ca, (unsigned)strlen((char *)s->tls_ca)};
  int rc = gnutls_certificate_set_x509_key_mem(cr, &cert, &key, GNUTLS_X509_FMT_PEM);
  if (rc < 0)
    kafu_err_set(err, KAFU_EINVAL, "cluster.tls: certificate %s with key %s: %s", t->cert, t->key,
                 gnutls_strerror(rc));
  else if ((rc = gnutls_certificate_set_x509_trust_mem(cr, &ca, GNUTLS_X509_FMT_PEM)) <= 0)
    kafu_err_set(err, KAFU_EINVAL, "cluster.tls.ca %s: %s", t->ca,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
  gnutls_certificate_free_credentials(cr);
  return rc <= 0 ? err->code : 0;
}

static void server_free(kafu_http_server *s) {
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s->tls_cert), free(s->tls_key), free(s->tls_ca);
  free(s);
}

int kafu_http_server_start(int listen_fd, const kafu_http_handlers *h, const kafu_config_tls *tls,
                           kafu_http_server **out, kafu_err *err) {
  kafu_http_server *s = calloc(1, sizeof *s);
  if (!s) {
    close(listen_fd);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  s->h = *h;
  s->listen_fd = listen_fd;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  struct MHD_OptionItem tlsopt[4] = {{MHD_OPTION_END, 0, NULL}};
  unsigned flags = 0;
  if (tls && tls->cert) {
    s->tls = true;
    if (read_pem(tls->cert, "cert", &s->tls_cert, err) || read_pem(tls->key, "key", &s->tls_key, err) ||
        read_pem(tls->ca, "ca", &s->tls_ca, err) || check_tls(s, tls, err)) {
      close(listen_fd);
      server_free(s);
      return err->code;
    }
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
      close(listen_fd);
      server_free(s);
      return kafu_err_set(err, KAFU_EUNSUP, "cluster.tls: this libmicrohttpd was built without TLS");
    }
    flags = MHD_USE_TLS;
    tlsopt[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
    tlsopt[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
    tlsopt[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca}; /* asks for client certs */
    tlsopt[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  }
  /* Connection memory bounds the read buffer, i.e. the size of the pieces a
   * streamed body arrives in: bigger pieces = fewer decoder calls. */
  s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                              MHD_USE_ITC | MHD_USE_ERROR_LOG | flags,
                          0, on_accept, s, on_access, s, MHD_OPTION_LISTEN_SOCKET, listen_fd,
                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
                          on_connection, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(512 * 1024),
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KAFU_HTTP_IDLE_S,
                          /* one thread per connection: bounded, with admission control (see the top) */
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_MAX, MHD_OPTION_EXTERNAL_LOGGER,
                          mhd_log, NULL, MHD_OPTION_ARRAY, tlsopt, MHD_OPTION_END);
  if (!s->d) {
    close(listen_fd);
    server_free(s);
    return kafu_err_set(err, KAFU_EIO, "cannot start the HTTP%s server (libmicrohttpd)",
                        tls && tls->cert ? "S" : "");
  }
  s->reaper_started = pthread_create(&s->reaper, NULL, reaper_main, s) == 0;
  *out = s;
  return 0;
}

int kafu_http_server_active(kafu_http_server *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->active;
  pthread_mutex_unlock(&s->mu);
  return n;
}

void kafu_http_server_stop(kafu_http_server *s, int grace_ms) {
  if (!s) return;
  int fd = MHD_quiesce_daemon(s->d);
  if (fd >= 0) close(fd);
  /* let answers already queued (e.g. to POST /shutdown) reach their clients */
  for (int waited = 0; waited < grace_ms && kafu_http_server_active(s) > 0; waited += 5) usleep(5000);
  if (s->reaper_started) {
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->reaper, NULL);
  }
  MHD_stop_daemon(s->d); /* closes what is left: every conn is freed by on_connection */
  server_free(s);
}

void kafu_http_set_idle_timeout(kafu_http_request *r, unsigned secs) {
  if (r->conn) MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, secs);
}

const char *kafu_http_header(kafu_http_request *r, const char *name) {
  if (!r->conn) {
    for (const char *const *h = r->test_headers; h && h[0] && h[1]; h += 2)
      if (!strcasecmp(h[0], name)) return h[1];
    return NULL;
  }
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void kafu_http_error(kafu_http_response *resp, int status, const char *node, const char *kind,
                     const char *fmt, ...) {
  char msg[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  resp->status = status;
  resp->content_type = "application/json";
  kafu_buf_free(&resp->body);
  kafu_buf_printf(&resp->body, "{\"error\":");
  kafu_json_quote(&resp->body, kind);
  kafu_buf_printf(&resp->body, ",\"message\":");
  kafu_json_quote(&resp->body, msg);
  if (node) {
    kafu_buf_printf(&resp->body, ",\"node\":");
    kafu_json_quote(&resp->body, node);
  }
  kafu_buf_printf(&resp->body, "}\n");
}

/*
 * cluster_internal.h — pieces of the cluster stage shared between its files
 * (and its unit tests): a tiny JSON reader, the HTTP server (libmicrohttpd)
 * and client (libcurl) wrappers, metrics, addresses, and the line prefixer
 * used by `kafu launch`. The public API is include/kafu/cluster.h.
 */
#ifndef KAFU_CLUSTER_INTERNAL_H
#define KAFU_CLUSTER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/cluster.h"
#include "kafu/runtime.h"
#include "kafu/util.h"

/* ---- addresses ---------------------------------------------------------------------- */

/* Whether a client address is one of the config's node addresses (resolved
 * now; v4-mapped IPv6 clients compare as IPv4). How a node without a cluster
 * token tells its peers from anyone else. */
struct sockaddr;
bool kafu_addr_is_node(const kafu_config *cfg, const struct sockaddr *client);
/* "host:port" for messages and URLs, with IPv6 literals bracketed. */
void kafu_hostport(const char *host, uint16_t port, char *out, size_t cap);
/* Parse --listen: "HOST", "HOST:PORT", ":PORT", "[V6]", "[V6]:PORT" or a bare IPv6
 * literal. host_out gets the host ("" = keep default), *port 0 when absent. */
int kafu_parse_listen(const char *s, char *host_out, size_t cap, uint16_t *port, kafu_err *err);
/* Bind + listen a TCP socket (SO_REUSEADDR; "::" is dual-stack, falling back to
 * 0.0.0.0). Errors name host:port and say when the port is already in use.
 * *bound_port gets the actual port (useful with port 0). Returns the fd or < 0. */
int kafu_listen_socket(const char *host, uint16_t port, uint16_t *bound_port, kafu_err *err);

/* ---- HTTP server ------------------------------------------------------------------ */

typedef struct kafu_http_server kafu_http_server;

typedef enum {
  KAFU_HTTP_RESPOND = 0, /* begin() filled the response: answer without reading a body */
  KAFU_HTTP_BUFFER = 1,  /* collect the body (up to body_limit, else 413), then complete() */
  KAFU_HTTP_STREAM = 2,  /* hand each piece of the body to data(), then complete() */
} kafu_http_mode;

typedef struct kafu_http_request {
  struct MHD_Connection *conn;
  char method[16]; /* "GET", "POST", ... */
  char url[256];   /* path, query string removed by MHD (longer paths are cut: they match nothing) */
  kafu_http_mode mode;
  size_t body_limit;   /* BUFFER mode; 0 = 64 KiB */
  kafu_buf body;       /* BUFFER mode */
  uint64_t body_bytes; /* bytes received so far (both modes) */
  uint64_t start_ns;
  bool discarding; /* STREAM: data() rejected; the rest of the body is dropped */
  bool completed;  /* complete() was called */
  bool too_large;  /* BUFFER: limit exceeded */
  bool trusted;    /* begin() found the request authenticated: its connection leaves the
                      anonymous pool (admission in http_server.c) */
  bool peer_cert;  /* TLS: the client presented a valid certificate signed by cluster.tls.ca */
  void *user;      /* handler's per-request state */
  /* an early answer held back until the body is drained (http_server.c) */
  struct kafu_http_response *deferred;
  /* conn == NULL: a request without a connection (tests/fuzz/fuzz_http.c
   * drives the handlers directly): its headers, NULL-terminated name/value
   * pairs; no client address */
  const char *const *test_headers;
} kafu_http_request;

typedef struct kafu_http_response {
  int status;               /* 0 = not filled */
  const char *content_type; /* NULL = application/json */
  kafu_buf body;
  const char *header_name, *header_value; /* one optional extra header (e.g. Allow) */
} kafu_http_response;

typedef struct kafu_http_handlers {
  void *ctx;
  /* Headers are in. Fill resp and return KAFU_HTTP_RESPOND, or return BUFFER/STREAM. */
  kafu_http_mode (*begin)(void *ctx, kafu_http_request *r, kafu_http_response *resp);
  /* STREAM: next piece of the body. Return < 0 to stop taking it: the rest of the
   * body is read and dropped, and complete() still answers. */
  int (*data)(void *ctx, kafu_http_request *r, const uint8_t *p, size_t n);
  /* The whole body arrived (BUFFER/STREAM): fill resp. */
  void (*complete)(void *ctx, kafu_http_request *r, kafu_http_response *resp);
  /* STREAM/BUFFER: the connection ended before complete() (client gone, timeout). */
  void (*aborted)(void *ctx, kafu_http_request *r);
  /* Optional: the request is over and its answer was written to the socket
   * (or the connection ended); called on the connection's thread. */
  void (*answered)(void *ctx, kafu_http_request *r);
} kafu_http_handlers;

/* Serve on an already listening socket (kafu_listen_socket); takes the fd.
 * Thread per connection, so a handler that waits blocks only its connection. */
/* tls: cluster.tls, or NULL / cert NULL for plain HTTP. With it the server
 * speaks HTTPS only and asks every client for a certificate; a request's
 * peer_cert says whether it presented one that tls->ca signed. Errors name
 * the file that cannot be used. */
int kafu_http_server_start(int listen_fd, const kafu_http_handlers *h, const kafu_config_tls *tls,
                           kafu_http_server **out, kafu_err *err);
/* Requests currently being handled (begin() called, response not yet sent). */
int kafu_http_server_active(kafu_http_server *s);
/* Stop accepting, give in-flight requests up to grace_ms to finish, stop. */
void kafu_http_server_stop(kafu_http_server *s, int grace_ms);
/* Close the connection when it stays silent this long (from now on; the server's
 * default is longer). For a streamed body that stalls. */
void kafu_http_set_idle_timeout(kafu_http_request *r, unsigned secs);
#define KAFU_HTTP_IDLE_S 60 /* the server's idle timeout of a connection */
/* Request header (case-insensitive) or NULL. */
const char *kafu_http_header(kafu_http_request *r, const char *name);
/* Convenience: JSON error body {"error": kind, "message": msg, "node": node}. */
void kafu_http_error(kafu_http_response *resp, int status, const char *node, const char *kind,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- HTTP client --------------------------------------------------------------------- */

/* One persistent libcurl easy handle to one peer (keep-alive). Not thread-safe:
 * each thread that talks to a peer owns its own client. */
typedef struct kafu_http_client {
  void *curl;     /* CURL* */
  void *headers;  /* struct curl_slist* */
  char base[300]; /* "http://host:port" or "https://host:port" */
  char hostport[280];
  char errbuf[256];
  const kafu_config_tls *tls; /* cluster.tls (borrowed), or NULL: plain HTTP */
} kafu_http_client;

/* Pulls the next bytes of a streamed request body into buf: returns bytes written,
 * 0 at the end, or < 0 to abort the transfer. */
typedef long (*kafu_http_read_fn)(void *ctx, uint8_t *buf, size_t cap);

void kafu_http_global_init(void);
/* The kernel's smoothed round-trip time of the client's connection to its
 * peer (seconds), 0 when there is none (TCP_INFO). */
double kafu_http_client_rtt(kafu_http_client *c);
/* tls: cluster.tls (borrowed, must outlive c), or NULL / cert NULL for plain
 * HTTP. With it, requests go over HTTPS presenting tls->cert/key, and the
 * peer's certificate must be signed by tls->ca and name host. */
int kafu_http_client_init(kafu_http_client *c, const char *host, uint16_t port, const char *token,
                          const kafu_config_tls *tls, kafu_err *err);
void kafu_http_client_free(kafu_http_client *c);
/* All return 0 when a response arrived (*status set, resp body appended when
 * resp != NULL), or negative + err for a transport failure (refused, timeout,
 * reset): KAFU_EREFUSED when nothing listens there (the process is gone),
 * KAFU_EIO otherwise. timeout_ms 0 = none (stream: stalls are still detected). */
#define KAFU_EREFUSED (-1210)
int kafu_http_get(kafu_http_client *c, const char *path, long timeout_ms, long *status, kafu_buf *resp,
                  kafu_err *err);
int kafu_http_post(kafu_http_client *c, const char *path, const void *body, size_t len, long timeout_ms,
                   long *status, kafu_buf *resp, kafu_err *err);
/* extra_header: one more "Name: value" header line, or NULL. expect: send
 * "Expect: 100-continue" and the body only after the server's interim answer,
 * so an early rejection costs a round trip instead of the upload (and an
 * accepted body costs that round trip too); $KAFU_HTTP_EXPECT overrides. */
int kafu_http_post_stream(kafu_http_client *c, const char *path, const char *extra_header,
                          kafu_http_read_fn read, void *ctx, bool expect, long *status, kafu_buf *resp,
                          kafu_err *err);
/* The same with the whole body at hand (application/octet-stream, with a
 * length): no read callback, so no second thread is needed. */
int kafu_http_post_octets(kafu_http_client *c, const char *path, const char *extra_header, const void *body,
                          size_t len, long *status, kafu_buf *resp, kafu_err *err);

/* An application/octet-stream POST of a body at hand with a total timeout (the
 * forwarded calls of node_io.c). */
int kafu_http_post_bin(kafu_http_client *c, const char *path, const void *body, size_t len, long timeout_ms,
                       long *status, kafu_buf *resp, kafu_err *err);

/* ---- metrics (Prometheus text exposition) ----------------------------------------- */

typedef enum {
  KAFU_PHASE_BASELINE = 0, /* sender: GET /baseline */
  KAFU_PHASE_TRANSFER,     /* sender: encode + POST /migrate until acknowledged */
  KAFU_PHASE_RECEIVE,      /* receiver: body streamed into the decoder */
  KAFU_PHASE_RESTORE,      /* receiver: final validation + restore of globals/fds/stack */
  KAFU_PHASE_UNWIND,       /* sender: Asyncify unwind to _start */
  KAFU_PHASE_ENCODE,       /* sender: dirty pages + encoding (streams while it is sent) */
  KAFU_PHASE_DECODE,       /* receiver: first body byte to decoded + validated snapshot */
  KAFU_PHASE_REWIND,       /* receiver: Asyncify rewind back to the migration point */
  KAFU_PHASE_COUNT
} kafu_phase;

#define KAFU_HIST_BUCKETS 14
typedef struct kafu_metrics {
  pthread_mutex_t mu;
  uint64_t migrations_in, migrations_out;
  uint64_t raw_bytes, wire_bytes;
  uint64_t heartbeat_failures;
  uint64_t rejected;                                      /* POST /migrate answered 4xx */
  uint64_t retries;                                       /* send attempts beyond the first */
  uint64_t stale; /* incoming snapshots refused as replays/other runs */
  /* failover (docs/migration.md): re-runs of a lost call, and their time to recover */
  uint64_t failover_attempts, failover_successes;
  double failover_recover_sum; /* seconds, successes only */
  /* entry checkpoints held (gauges, from the runtime) */
  uint64_t entries, entry_bytes, entries_dropped;
  uint64_t io_out, io_in; /* forwarded calls sent to a home / answered as a home (node_io.c) */
  uint64_t hist[KAFU_PHASE_COUNT][KAFU_HIST_BUCKETS + 1]; /* last = +Inf */
  double hist_sum[KAFU_PHASE_COUNT];
  uint64_t hist_count[KAFU_PHASE_COUNT];
  /* the log summary (kafu_metrics_note): migrations since the last INFO line */
  uint64_t win_n, win_in, win_wire, win_t0, win_last;
} kafu_metrics;

void kafu_metrics_init(kafu_metrics *m);
void kafu_metrics_destroy(kafu_metrics *m);
void kafu_metrics_observe(kafu_metrics *m, kafu_phase p, double ms);
/* The runtime's per-phase timings of its last migration (kafu_runtime_last_stats):
 * sender = unwind + encode; receiver = decode, or rewind once known. */
void kafu_metrics_observe_sender(kafu_metrics *m, const kafu_rt_migration_stats *st);
void kafu_metrics_observe_decode(kafu_metrics *m, const kafu_rt_migration_stats *st);
void kafu_metrics_observe_rewind(kafu_metrics *m, const kafu_rt_migration_stats *st);
void kafu_metrics_add(kafu_metrics *m, uint64_t *counter, uint64_t v);
void kafu_metrics_render(kafu_metrics *m, const char *node, kafu_buf *out);
/* kafu_build_info, kafu_program_here (program_here: it runs here, or its
 * checkpoint is being sent from here) and the standard process_* metrics. */
void kafu_metrics_render_process(const char *node, bool program_here, kafu_buf *o);
/* Log volume: a node in a migration loop must not write a line per migration
 * at INFO. Call once per migration (in = received; wire = its bytes): returns
 * true when the caller's own line about it should be INFO — the first after a
 * quiet spell — and false during a burst (log it at debug), for which an INFO
 * summary ("N migrations in T s ...") comes every KAFU_LOG_SUMMARY_S seconds
 * and once more from kafu_metrics_note_end when the run ends. */
#define KAFU_LOG_SUMMARY_S 10
bool kafu_metrics_note(kafu_metrics *m, const kafu_log_ctx *log, bool in, uint64_t wire);
void kafu_metrics_note_end(kafu_metrics *m, const kafu_log_ctx *log);

/* ---- launch: line prefixer ----------------------------------------------------------- */

/* Splits a byte stream into lines and writes each, with a prefix, to fd with one
 * write(2) per line (so lines from several children never mix). */
typedef struct kafu_line_prefixer {
  char prefix[80];
  int fd;
  kafu_buf pending; /* incomplete last line */
  /* optional: a line (without its newline) is written only when keep says so */
  bool (*keep)(void *ctx, const char *prefix, const uint8_t *line, size_t n);
  void *keep_ctx;
} kafu_line_prefixer;

#define KAFU_LINE_MAX 65536 /* a longer line is cut into pieces of this size */

void kafu_line_prefixer_init(kafu_line_prefixer *p, const char *prefix, int fd);
int kafu_line_prefixer_feed(kafu_line_prefixer *p, const void *data, size_t n);
/* End of stream: write the incomplete last line (a newline is added). */
int kafu_line_prefixer_flush(kafu_line_prefixer *p);
void kafu_line_prefixer_free(kafu_line_prefixer *p);

/* write(2) all of it, retrying on EINTR/short writes. */
int kafu_write_all(int fd, const void *p, size_t n);

#endif

/*
 * node.c — one node of a Kafu cluster (`kafu serve`): state machine, engine
 * thread, migration send/receive, end of run. Endpoints are in endpoints.c,
 * liveness (heartbeats, peer monitoring) in liveness.c; docs/cluster.md has
 * the protocol.
 *
 * States (n->state, guarded by n->mu):
 *
 *   starting  -> module loading/compiling; coordinator: waiting for peers
 *   idle      -> the program runs elsewhere (or not yet); POST /migrate welcome
 *   receiving -> a POST /migrate body is streaming into the decoder
 *   running   -> this node executes the program
 *   sending   -> the program left: its snapshot is being delivered
 *   finished  -> the run is over (here or elsewhere)
 *
 * Only the engine thread calls into the runtime, with one exception: the HTTP
 * thread of POST /migrate feeds body pieces to the decoder (kafu_snap_decoder_
 * feed) while the state is `receiving`, i.e. while the engine thread is
 * parked. Decoder set-up, final validation + restore, and discarding a failed
 * decoder are run by the engine thread on the HTTP thread's behalf through a
 * one-slot mailbox (engine_call), so the runtime is never used concurrently.
 *
 * The sender keeps its checkpoint until the receiver answered 200 (which the
 * receiver only does after full validation and restore); only then
 * kafu_runtime_sent() drops it. Transient failures (connection refused,
 * reset, 5xx, 409 busy) are retried with exponential backoff; a 409
 * "baseline" (delta against an image the receiver no longer holds) is retried
 * at once as a full transfer.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kafu/snapshot.h"
#include "node_internal.h"

/* ---- small helpers ---------------------------------------------------------------------- */

const char *kafu_node_state_name(kafu_node_state s) {
  static const char *const names[] = {"starting", "idle", "receiving", "running", "sending", "finished"};
  return names[s];
}

void kafu_node_timed_wait(kafu_node *n, uint64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t ns = (uint64_t)ts.tv_nsec + (ms % 1000) * 1000000ull;
  ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000ull);
  ts.tv_nsec = (long)(ns % 1000000000ull);
  pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

bool kafu_node_sleep(kafu_node *n, uint64_t ms) {
  uint64_t end = kafu_now_ns() + ms * 1000000ull;
  pthread_mutex_lock(&n->mu);
  while (!n->done) {
    uint64_t now = kafu_now_ns();
    if (now >= end) break;
    kafu_node_timed_wait(n, (end - now) / 1000000ull + 1);
  }
  bool done = n->done;
  pthread_mutex_unlock(&n->mu);
  return !done;
}

kafu_http_client *kafu_node_client(kafu_node *n, kafu_http_client *set, size_t i, kafu_err *err) {
  kafu_http_client *c = &set[i];
  if (!c->curl &&
      kafu_http_client_init(c, n->cfg->nodes[i].address, n->cfg->nodes[i].port, n->cfg->token, err) < 0)
    return NULL;
  return c;
}

/* Refresh what other threads may read about the runtime (engine thread only). */
static void refresh_cache(kafu_node *n) {
  if (!n->rt) return;
  n->image_id = kafu_runtime_image_id(n->rt);
  n->mig_in = kafu_runtime_migrations_in(n->rt);
  n->mig_out = kafu_runtime_migrations_out(n->rt);
}

void kafu_node_finish(kafu_node *n, int code, bool failure, const char *reason) {
  pthread_mutex_lock(&n->mu);
  if (!n->done) {
    n->done = true;
    n->exit_code = code;
    n->failure = failure;
    snprintf(n->reason, sizeof n->reason, "%s", reason ? reason : "");
  }
  n->state = KAFU_NODE_FINISHED;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

/* POST /shutdown to every other node: followers first, the coordinator last,
 * so that by the time the coordinator (whose exit ends `kafu launch`) leaves,
 * the others were told too. */
void kafu_node_broadcast_shutdown(kafu_node *n, kafu_http_client *set, int code, const char *status,
                                  const char *reason) {
  kafu_buf body = {0};
  kafu_buf_printf(&body, "{\"exit_code\":%d,\"status\":", code);
  kafu_json_str(&body, status);
  kafu_buf_printf(&body, ",\"node\":");
  kafu_json_str(&body, n->self);
  kafu_buf_printf(&body, ",\"reason\":");
  kafu_json_str(&body, reason);
  kafu_buf_printf(&body, "}");
  for (size_t k = 0; k < n->cfg->nnodes; k++) {
    size_t i = (k + 1) % n->cfg->nnodes; /* 1, 2, ..., N-1, then 0 */
    if ((int)i == n->self_idx) continue;
    kafu_err err = {0};
    long st = 0;
    kafu_http_client *c = kafu_node_client(n, set, i, &err);
    if (c && !kafu_http_post(c, "/shutdown", body.data, body.len, 2000, &st, NULL, &err) && st == 200) {
      kafu_debug("node %s: told node %s to shut down", n->self, n->cfg->nodes[i].id);
      continue;
    }
    if (c && st) kafu_err_set(&err, KAFU_EIO, "HTTP %ld", st);
    kafu_info("node %s: could not tell node %s to shut down (%s)", n->self, n->cfg->nodes[i].id, err.msg);
  }
  kafu_buf_free(&body);
}

/* The run is over for the whole cluster: tell everyone, then finish here. */
void kafu_node_end_cluster(kafu_node *n, kafu_http_client *set, int code, const char *status, bool failure,
                           const char *reason) {
  pthread_mutex_lock(&n->mu);
  bool already = n->done || n->ending;
  n->ending = true;
  pthread_mutex_unlock(&n->mu);
  if (already) return;
  /* no log here: `kafu serve` prints the reason as its final error */
  kafu_node_broadcast_shutdown(n, set, code, status, reason);
  kafu_node_finish(n, code, failure, reason);
}

/* ---- sending: encoder -> bounded pipe -> libcurl ------------------------------------------ */

/* The encoder pushes bytes (engine thread); libcurl pulls them (transfer
 * thread). A ring of PIPE_CAP bytes between them keeps both busy without
 * holding the snapshot whole. */
#define PIPE_CAP (1u << 20)
#define PIPE_WAKE (64u << 10)

typedef struct snap_pipe {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint8_t *buf;
  size_t head, len;
  bool wdone, werr;   /* encoder finished (with an error) */
  bool rdone;         /* transfer ended: further writes are refused */
  bool write_refused; /* the encoder saw a refused write (its error is the transport's) */
  bool rwait, wwait;  /* reader (writer) sleeps on cv: wake it only when it has work */
  FILE *tee;          /* --save-snapshots */
} snap_pipe;

static void tee_write(snap_pipe *sp, const void *p, size_t n) {
  if (sp->tee && fwrite(p, 1, n, sp->tee) != n) {
    fclose(sp->tee);
    sp->tee = NULL;
  }
}

static int pipe_push(snap_pipe *sp, const void *p, size_t n) {
  const uint8_t *b = p;
  pthread_mutex_lock(&sp->mu);
  while (n) {
    while (sp->len == PIPE_CAP && !sp->rdone) {
      sp->wwait = true;
      pthread_cond_wait(&sp->cv, &sp->mu);
    }
    sp->wwait = false;
    if (sp->rdone) {
      sp->write_refused = true;
      pthread_mutex_unlock(&sp->mu);
      return KAFU_EIO;
    }
    size_t tail = (sp->head + sp->len) % PIPE_CAP;
    size_t chunk = PIPE_CAP - sp->len;
    if (chunk > PIPE_CAP - tail) chunk = PIPE_CAP - tail;
    if (chunk > n) chunk = n;
    memcpy(sp->buf + tail, b, chunk);
    sp->len += chunk;
    b += chunk;
    n -= chunk;
    /* a page-sized write (compression none: one per run) must not wake the
     * transfer thread for a tiny send(): wake it once PIPE_WAKE bytes wait
     * (or the ring is full, or the encoder is done: see send_once) */
    if (sp->rwait && (sp->len >= PIPE_WAKE || sp->len == PIPE_CAP)) pthread_cond_broadcast(&sp->cv);
  }
  pthread_mutex_unlock(&sp->mu);
  return 0;
}

static int pipe_write(void *ctx, const void *p, size_t n) {
  tee_write(ctx, p, n);
  return pipe_push(ctx, p, n);
}

static long pipe_read(void *ctx, uint8_t *out, size_t cap) {
  snap_pipe *sp = ctx;
  pthread_mutex_lock(&sp->mu);
  while (sp->len < PIPE_WAKE && !sp->wdone) {
    sp->rwait = true;
    pthread_cond_wait(&sp->cv, &sp->mu);
  }
  sp->rwait = false;
  if (sp->len == 0) {
    long r = sp->werr ? -1 : 0;
    pthread_mutex_unlock(&sp->mu);
    return r;
  }
  size_t chunk = sp->len;
  if (chunk > cap) chunk = cap;
  if (chunk > PIPE_CAP - sp->head) chunk = PIPE_CAP - sp->head;
  memcpy(out, sp->buf + sp->head, chunk);
  sp->head = (sp->head + chunk) % PIPE_CAP;
  sp->len -= chunk;
  if (sp->wwait) pthread_cond_broadcast(&sp->cv);
  pthread_mutex_unlock(&sp->mu);
  return (long)chunk;
}

typedef struct xfer {
  kafu_http_client *cl;
  const char *header;
  snap_pipe *sp;
  long status;
  kafu_buf resp;
  int rc;
  kafu_err err;
} xfer;

static void *xfer_main(void *arg) {
  xfer *x = arg;
  x->rc =
      kafu_http_post_stream(x->cl, "/migrate", x->header, pipe_read, x->sp, &x->status, &x->resp, &x->err);
  pthread_mutex_lock(&x->sp->mu);
  x->sp->rdone = true;
  pthread_cond_broadcast(&x->sp->cv);
  pthread_mutex_unlock(&x->sp->mu);
  return NULL;
}

typedef enum { ATTEMPT_OK, ATTEMPT_BASELINE, ATTEMPT_TRANSIENT, ATTEMPT_FATAL } attempt_result;

static FILE *open_tee(kafu_node *n, const char *target) {
  if (!n->o.save_snapshots_dir) return NULL;
  char path[4200];
  snprintf(path, sizeof path, "%s/%04u-%s-%s.kafusnap", n->o.save_snapshots_dir, n->snap_seq, n->self, target);
  FILE *f = fopen(path, "w");
  if (!f) kafu_warn("node %s: --save-snapshots: cannot write %s: %s", n->self, path, strerror(errno));
  return f;
}

/* A snapshot that stays below send_buffer_max() bytes is encoded into memory
 * first and POSTed with its length from the engine thread itself: no transfer
 * thread to create, no ring, no wake-ups between encoder and libcurl, the
 * receiver gets large unchunked pieces, and the 200 wakes the engine thread
 * directly. Measured on loopback this beats overlapping encode and send at
 * every size up to 64 MiB (docs/benchmarks.md, round 2). Beyond that the
 * encoder switches to streaming on the fly (transfer thread + ring, the
 * buffered bytes first), so memory stays bounded. The buffer is kept between
 * sends (its pages stay mapped: up to 64 MiB of resident memory on a node
 * that sent that much). $KAFU_SEND_BUFFER_MAX (bytes, 0 = always stream) is
 * for benchmarking. */
#define SEND_BUFFER_MAX (16u << 20)

static size_t send_buffer_max(void) {
  const char *v = getenv("KAFU_SEND_BUFFER_MAX");
  return v && *v ? (size_t)strtoull(v, NULL, 10) : SEND_BUFFER_MAX;
}

typedef struct send_ctx {
  snap_pipe sp;
  xfer x;
  pthread_t th;
  bool streaming, start_failed;
  kafu_buf *buf; /* n->send_buf */
  size_t cap;
  uint64_t t_first, rate; /* first write (ns); stream below rate bytes/ns */
} send_ctx;

static int start_stream(send_ctx *sc) {
  if (!sc->sp.buf || pthread_create(&sc->th, NULL, xfer_main, &sc->x)) {
    sc->start_failed = true;
    return KAFU_EIO;
  }
  sc->streaming = true;
  int rc = sc->buf->len ? pipe_push(&sc->sp, sc->buf->data, sc->buf->len) : 0;
  sc->buf->len = 0;
  return rc;
}

/* Buffering loses the overlap of encoding with sending. That costs little
 * while the encoder produces bytes faster than loopback TCP carries them
 * (pages stored raw: a memcpy), and a lot when it is slow (LZ4 on compressible
 * pages: the image pipeline's frames). So after SEND_PROBE_NS of encoding, an
 * encoder that produced less than SEND_STREAM_RATE bytes per ns switches to
 * streaming. Measured both ways in docs/benchmarks.md (round 2). */
#define SEND_PROBE_NS 300000ull
#define SEND_STREAM_RATE 2 /* bytes per ns = 2 GB/s */

static int send_write(void *ctx, const void *p, size_t n) {
  send_ctx *sc = ctx;
  if (!sc->streaming) {
    uint64_t now = kafu_now_ns();
    if (!sc->t_first) sc->t_first = now;
    bool slow = now - sc->t_first > SEND_PROBE_NS && sc->buf->len < (now - sc->t_first) * sc->rate;
    if (!slow && sc->buf->len + n <= sc->cap) {
      tee_write(&sc->sp, p, n);
      return kafu_buf_append(sc->buf, p, n) ? KAFU_ENOMEM : 0;
    }
    int rc = start_stream(sc);
    if (rc) return rc;
  }
  return pipe_write(&sc->sp, p, n);
}

/* One POST /migrate with the snapshot encoded against receiver_id. */
static attempt_result send_once(kafu_node *n, kafu_http_client *cl, const char *target, uint64_t receiver_id,
                                kafu_snap_stats *stats, bool *duplicate, kafu_err *err) {
  send_ctx sc = {0};
  snap_pipe *sp = &sc.sp;
  pthread_mutex_init(&sp->mu, NULL);
  pthread_cond_init(&sp->cv, NULL);
  if (!n->send_ring) n->send_ring = malloc(PIPE_CAP);
  sp->buf = n->send_ring;
  sc.buf = &n->send_buf;
  sc.buf->len = 0;
  sp->tee = open_tee(n, target);
  sc.cap = send_buffer_max();
  const char *rv = getenv("KAFU_SEND_STREAM_RATE"); /* benchmarking: 0 = never switch */
  sc.rate = rv && *rv ? strtoull(rv, NULL, 10) : SEND_STREAM_RATE;
  if (sc.buf->cap < sc.cap) kafu_buf_reserve(sc.buf, sc.cap); /* once; pages stay mapped */
  char header[200];
  snprintf(header, sizeof header, KAFU_MIGRATION_ID_HEADER ": %s", n->mig_id);
  sc.x = (xfer){.cl = cl, .header = header, .sp = sp};
  xfer *x = &sc.x;
  attempt_result ar;
  /* known too big to buffer: stream from the start (switching later would
   * have encoded the first 64 MiB before sending anything) */
  uint64_t raw = 0;
  kafu_err xerr = {0};
  if (kafu_runtime_send_estimate(n->rt, receiver_id, &raw, &xerr) == 0 && raw + (1u << 20) > sc.cap)
    sc.cap = 0;
  if (!sc.cap && start_stream(&sc)) {
    kafu_err_set(err, KAFU_EIO, "cannot start the transfer thread");
    ar = ATTEMPT_FATAL;
    goto out;
  }
  kafu_err eerr = {0};
  int erc = kafu_runtime_encode(n->rt, receiver_id, send_write, &sc, stats, &eerr);
  bool refused = false;
  if (sc.streaming) {
    pthread_mutex_lock(&sp->mu);
    sp->wdone = true;
    sp->werr = erc != 0;
    pthread_cond_broadcast(&sp->cv);
    refused = sp->write_refused;
    pthread_mutex_unlock(&sp->mu);
    pthread_join(sc.th, NULL);
  } else if (sc.start_failed) {
    kafu_err_set(err, KAFU_EIO, "cannot start the transfer thread");
    ar = ATTEMPT_FATAL;
    goto out;
  } else if (!erc) {
    x->rc = kafu_http_post_octets(cl, "/migrate", header, sc.buf->data, sc.buf->len, &x->status, &x->resp,
                                  &x->err);
  }

  char body[600] = "";
  if (x->resp.len)
    snprintf(body, sizeof body, "%.*s", (int)(x->resp.len < 590 ? x->resp.len : 590), x->resp.data);
  if (erc && !refused) { /* the encoder itself failed: retrying would not help */
    *err = eerr;
    kafu_err_prefix(err, "encoding the snapshot");
    ar = ATTEMPT_FATAL;
  } else if (x->rc < 0) {
    *err = x->err;
    ar = ATTEMPT_TRANSIENT;
  } else if (x->status == 200) {
    ar = ATTEMPT_OK;
    *duplicate = strstr(body, "\"duplicate\":true") != NULL;
  } else {
    char kind[64] = "", msg[1024] = "";
    kafu_json_get_str(body, strlen(body), "error", kind, sizeof kind);
    kafu_json_get_str(body, strlen(body), "message", msg, sizeof msg);
    kafu_err_set(err, KAFU_EIO, "node %s answered HTTP %ld%s%s%s%s", target, x->status, kind[0] ? " " : "",
                 kind, msg[0] ? ": " : "", msg);
    if (x->status == 409 && !strcmp(kind, "baseline"))
      ar = ATTEMPT_BASELINE;
    else if (x->status == 409 || x->status >= 500)
      ar = ATTEMPT_TRANSIENT;
    else
      ar = ATTEMPT_FATAL; /* 400 invalid, 401 token, ...: the same bytes would fail again */
  }
out:
  if (sp->tee) fclose(sp->tee);
  kafu_buf_free(&x->resp);
  sc.buf->len = 0;
  pthread_cond_destroy(&sp->cv);
  pthread_mutex_destroy(&sp->mu);
  return ar;
}

/* GET /baseline: the memory image the target holds (0 = none). */
static int query_baseline(kafu_node *n, kafu_http_client *cl, uint64_t *id, kafu_err *err) {
  uint64_t t0 = kafu_now_ns();
  kafu_buf resp = {0};
  long st = 0;
  int rc = kafu_http_get(cl, "/baseline", 5000, &st, &resp, err);
  if (!rc && st != 200) rc = kafu_err_set(err, KAFU_EIO, "GET %s/baseline: HTTP %ld", cl->hostport, st);
  char hex[40] = "";
  if (!rc && (kafu_json_get_str((char *)resp.data, resp.len, "image_id", hex, sizeof hex) ||
              kafu_mem_image_id_parse(hex, id)))
    rc = kafu_err_set(err, KAFU_EFORMAT, "GET %s/baseline: malformed answer", cl->hostport);
  kafu_buf_free(&resp);
  if (!rc) kafu_metrics_observe(&n->metrics, KAFU_PHASE_BASELINE, kafu_ms_since(t0));
  return rc;
}

/* Deliver the pending checkpoint to target; 0 once acknowledged. */
static int send_snapshot(kafu_node *n, const char *target, kafu_err *err) {
  int ti = kafu_config_node_index(n->cfg, target);
  if (ti < 0) return kafu_err_set(err, KAFU_EINVAL, "migration to unknown node '%s'", target);
  kafu_http_client *cl = kafu_node_client(n, n->eng_cl, (size_t)ti, err);
  if (!cl) return err->code;
  n->snap_seq++;
  snprintf(n->mig_id, sizeof n->mig_id, "%s.%" PRIu64 ".%u", n->self, n->start_wall_ns, n->snap_seq);
  bool full_only = n->cfg->migration.mode == KAFU_MEMORY_MIGRATION_FULL;
  uint64_t start = kafu_now_ns();
  uint64_t wait_ms = KAFU_SEND_RETRY_FIRST_MS;
  bool full_next = false; /* after a 409 "baseline": send the full image */
  /* $KAFU_BASELINE_QUERY=1: always ask (the pre-cache behaviour, for comparison) */
  bool always_query = getenv("KAFU_BASELINE_QUERY") && *getenv("KAFU_BASELINE_QUERY") == '1';
  for (int attempt = 1;; attempt++) {
    if (attempt > 1) kafu_metrics_add(&n->metrics, &n->metrics.retries, 1);
    uint64_t rid = 0;
    /* the cached guess saves the GET /baseline round trip before every POST */
    uint64_t guess = full_only || full_next || always_query ? 0 : n->peer_image[ti];
    n->peer_image[ti] = 0; /* until this attempt is acknowledged */
    if (guess) rid = guess;
    if (full_only || full_next || guess || query_baseline(n, cl, &rid, err) == 0) {
      uint64_t t0 = kafu_now_ns();
      kafu_snap_stats st = {0};
      bool dup = false;
      attempt_result ar = send_once(n, cl, target, rid, &st, &dup, err);
      if (ar == ATTEMPT_OK) {
        double ms = kafu_ms_since(t0);
        kafu_runtime_sent(n->rt, ms);
        /* the receiver now holds our image, unless it had taken this migration
         * earlier (duplicate) and may have moved on since */
        n->peer_image[ti] = dup ? 0 : kafu_runtime_image_id(n->rt);
        kafu_metrics_observe(&n->metrics, KAFU_PHASE_TRANSFER, ms);
        kafu_rt_migration_stats ls;
        kafu_runtime_last_stats(n->rt, &ls);
        kafu_metrics_observe_sender(&n->metrics, &ls);
        pthread_mutex_lock(&n->metrics.mu);
        n->metrics.migrations_out++;
        n->metrics.raw_bytes += st.raw_bytes;
        n->metrics.wire_bytes += st.wire_bytes;
        pthread_mutex_unlock(&n->metrics.mu);
        kafu_info("node %s: migrated to %s: %" PRIu64 " bytes on the wire (%s, %" PRIu64 " pages), %.2f ms%s",
                  n->self, target, st.wire_bytes, st.delta ? "delta" : "full", st.pages, ms,
                  attempt > 1 ? " (after retries)" : "");
        return 0;
      }
      if (ar == ATTEMPT_FATAL)
        return kafu_err_prefix(err, "snapshot for node %s at %s rejected", target, cl->hostport);
      if (ar == ATTEMPT_BASELINE && !full_next) {
        /* the receiver no longer holds the image the delta was against (e.g. a
         * rejected upload overwrote its memory): receiver_image_id 0 = full image */
        kafu_info("node %s: %s does not hold the delta's baseline; sending the full image", n->self, target);
        full_next = true;
        continue;
      }
      if (ar == ATTEMPT_BASELINE)
        return kafu_err_prefix(err, "node %s refused even a full snapshot as a delta", target);
    }
    double elapsed = kafu_ms_since(start);
    if (elapsed + (double)wait_ms > KAFU_SEND_RETRY_TOTAL_MS)
      return kafu_err_prefix(err, "could not deliver the snapshot to node %s at %s (%d attempts in %.1f s)",
                             target, cl->hostport, attempt, elapsed / 1000.0);
    kafu_warn("node %s: sending to %s failed (%s); retrying in %" PRIu64 " ms", n->self, target, err->msg,
              wait_ms);
    if (!kafu_node_sleep(n, wait_ms)) return kafu_err_set(err, KAFU_EIO, "node %s is shutting down", n->self);
    wait_ms = wait_ms * 2 > KAFU_SEND_RETRY_MAX_WAIT_MS ? KAFU_SEND_RETRY_MAX_WAIT_MS : wait_ms * 2;
  }
}

/* ---- engine thread ---------------------------------------------------------------------- */

static void set_state(kafu_node *n, kafu_node_state s) {
  pthread_mutex_lock(&n->mu);
  if (n->state != KAFU_NODE_FINISHED) n->state = s;
  refresh_cache(n);
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

/* What kafu_runtime_run/resume returned: leave, or end the run. */
static void after_run(kafu_node *n, int rc, kafu_rt_result *res, kafu_err *err) {
  char reason[1200];
  if (rc < 0) {
    snprintf(reason, sizeof reason, "node %s: %s", n->self, err->msg);
    kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
    return;
  }
  switch (res->status) {
    case KAFU_RT_MIGRATED: {
      set_state(n, KAFU_NODE_SENDING);
      kafu_err serr = {0};
      if (send_snapshot(n, res->target, &serr) == 0) {
        set_state(n, KAFU_NODE_IDLE);
        return;
      }
      pthread_mutex_lock(&n->mu);
      bool done = n->done;
      pthread_mutex_unlock(&n->mu);
      if (done) return; /* shut down while sending: nothing to report */
      snprintf(reason, sizeof reason, "node %s: the program cannot continue: %s", n->self, serr.msg);
      kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
      return;
    }
    case KAFU_RT_FINISHED:
    case KAFU_RT_EXITED:
      snprintf(reason, sizeof reason, "program %s on node %s with exit code %d",
               res->status == KAFU_RT_FINISHED ? "finished" : "exited (proc_exit)", n->self, res->exit_code);
      kafu_node_end_cluster(n, n->eng_cl, res->exit_code,
                            res->status == KAFU_RT_FINISHED ? "finished" : "exited", false, reason);
      return;
    case KAFU_RT_TRAPPED:
    case KAFU_RT_FAILED: {
      /* the runtime's message may already start with "node <self>: " */
      const char *msg = res->message[0] ? res->message : "(no message)";
      char own[80];
      snprintf(own, sizeof own, "node %s: ", n->self);
      if (!strncmp(msg, own, strlen(own))) msg += strlen(own);
      snprintf(reason, sizeof reason, "program %s on node %s: %s",
               res->status == KAFU_RT_TRAPPED ? "trapped" : "failed", n->self, msg);
      kafu_node_end_cluster(n, n->eng_cl, res->exit_code ? res->exit_code : KAFU_EXIT_CLUSTER,
                            res->status == KAFU_RT_TRAPPED ? "trapped" : "failed", true, reason);
      return;
    }
  }
}

static void set_in_wasm(kafu_node *n, bool v) {
  pthread_mutex_lock(&n->mu);
  n->engine_in_wasm = v;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

static int create_runtime(kafu_node *n, kafu_err *err) {
  uint8_t *wasm = NULL;
  size_t len = 0;
  int rc = kafu_config_load_app(n->cfg, &wasm, &len, err);
  if (rc) return rc;
  kafu_runtime_opts ro = {0};
  ro.cfg = n->cfg;
  ro.wasm = wasm;
  ro.wasm_len = len;
  ro.self = n->self;
  ro.mode = KAFU_RT_NODE;
  ro.events = n->events;
  ro.engine = n->o.engine;
  rc = kafu_runtime_new(&ro, &n->rt, err);
  free(wasm);
  if (rc) return rc;
  pthread_mutex_lock(&n->mu);
  snprintf(n->module_sha, sizeof n->module_sha, "%s", kafu_module_sha256_hex(kafu_runtime_module(n->rt)));
  pthread_mutex_unlock(&n->mu);
  return 0;
}

/* The runtime work of one call, n->mu NOT held: on the engine thread, or on
 * an HTTP thread while it borrows the parked engine (see call_inline). */
static int do_call(kafu_node *n, kafu_call_kind kind, kafu_snap_decoder **decp, kafu_err *err) {
  int rc = 0;
  switch (kind) {
    case KAFU_CALL_DECODER:
      *decp = NULL;
      rc = kafu_runtime_decoder(n->rt, decp, err);
      break;
    case KAFU_CALL_FINISH:
      rc = kafu_runtime_finish_receive(n->rt, *decp, err);
      *decp = NULL;
      break;
    case KAFU_CALL_ABORT:
      kafu_snap_decoder_free(*decp);
      *decp = NULL;
      break;
    case KAFU_CALL_NONE:
      break;
  }
  if (kind == KAFU_CALL_FINISH && rc == 0) {
    kafu_rt_migration_stats ls;
    kafu_runtime_last_stats(n->rt, &ls);
    kafu_metrics_observe_decode(&n->metrics, &ls);
    /* the sender keeps the image it sent as its baseline: remember it, so our
     * next send to it needs no GET /baseline */
    const char *from = kafu_runtime_received_from(n->rt);
    int fi = from ? kafu_config_node_index(n->cfg, from) : -1;
    if (fi >= 0 && fi != n->self_idx) n->peer_image[fi] = kafu_runtime_image_id(n->rt);
    kafu_info("node %s: received a snapshot (%" PRIu64 " bytes, %.2f ms), validated and restored; resuming",
              n->self, n->recv_bytes, n->recv_ms);
  }
  return rc;
}

/* The state change after a call, n->mu held. */
static void after_call_locked(kafu_node *n, kafu_call_kind kind, int rc) {
  if (kind == KAFU_CALL_FINISH && rc == 0) {
    if (n->state != KAFU_NODE_FINISHED) n->state = KAFU_NODE_RUNNING;
    n->resume = true;
  } else if (kind != KAFU_CALL_DECODER || rc != 0) {
    if (n->state == KAFU_NODE_RECEIVING) n->state = KAFU_NODE_IDLE;
  }
  refresh_cache(n);
}

/* Serve one mailbox call (engine thread, n->mu NOT held). */
static void serve_call(kafu_node *n) {
  kafu_err err = {0};
  kafu_snap_decoder *dec = n->call_dec;
  int rc = do_call(n, n->call, &dec, &err);
  pthread_mutex_lock(&n->mu);
  after_call_locked(n, n->call, rc);
  n->call_dec = dec;
  n->call_rc = rc;
  n->call_err = err;
  n->call_done = true;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

static void *engine_main(void *arg) {
  kafu_node *n = arg;
  kafu_err err = {0};
  char reason[1200];
  if (create_runtime(n, &err)) {
    snprintf(reason, sizeof reason, "node %s: cannot load the program: %s", n->self, err.msg);
    pthread_mutex_lock(&n->mu);
    snprintf(n->not_ready, sizeof n->not_ready, "%s", reason);
    pthread_mutex_unlock(&n->mu);
    kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
    goto out;
  }
  pthread_mutex_lock(&n->mu);
  n->ready = true;
  n->not_ready[0] = 0;
  if (n->state == KAFU_NODE_STARTING && !n->coordinator) n->state = KAFU_NODE_IDLE;
  refresh_cache(n);
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  kafu_info("node %s: ready on %s (module %.12s)", n->self, n->hostport, n->module_sha);

  if (n->coordinator) {
    if (kafu_node_wait_peers(n, &err)) {
      pthread_mutex_lock(&n->mu);
      bool done = n->done;
      pthread_mutex_unlock(&n->mu);
      if (!done) {
        snprintf(reason, sizeof reason, "node %s: %s", n->self, err.msg);
        kafu_node_end_cluster(n, n->eng_cl, KAFU_EXIT_CLUSTER, "failed", true, reason);
      }
      goto out;
    }
    pthread_mutex_lock(&n->mu);
    if (n->done) {
      pthread_mutex_unlock(&n->mu);
      goto out;
    }
    n->started = true;
    n->state = KAFU_NODE_RUNNING;
    for (size_t i = 0; i < n->cfg->nnodes; i++) n->last_seen[i] = kafu_now_ns();
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    kafu_rt_result res;
    set_in_wasm(n, true);
    int rc = kafu_runtime_run(n->rt, &res, &err);
    set_in_wasm(n, false);
    after_run(n, rc, &res, &err);
  }

  pthread_mutex_lock(&n->mu);
  for (;;) {
    n->engine_parked = true;
    while (!n->done && !(n->call != KAFU_CALL_NONE && !n->call_done) && !n->resume)
      pthread_cond_wait(&n->cv, &n->mu);
    n->engine_parked = false;
    if (n->call != KAFU_CALL_NONE && !n->call_done) {
      pthread_mutex_unlock(&n->mu);
      serve_call(n);
      pthread_mutex_lock(&n->mu);
      continue;
    }
    if (n->done) break;
    if (n->resume) {
      n->resume = false;
      pthread_mutex_unlock(&n->mu);
      kafu_rt_result res;
      set_in_wasm(n, true);
      int rc = kafu_runtime_resume(n->rt, &res, &err);
      set_in_wasm(n, false);
      kafu_rt_migration_stats ls;
      kafu_runtime_last_stats(n->rt, &ls); /* still this receive's: nothing was sent yet */
      kafu_metrics_observe_rewind(&n->metrics, &ls);
      after_run(n, rc, &res, &err);
      pthread_mutex_lock(&n->mu);
    }
  }
  pthread_mutex_unlock(&n->mu);
out:
  pthread_mutex_lock(&n->mu);
  n->engine_running = false;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  return NULL;
}

/* A call made while the engine thread is parked with nothing to do runs
 * right here on the HTTP thread instead of through the mailbox. For decoder
 * set-up that saves two thread wake-ups (each up to ~0.1 ms on a loaded
 * machine) before the first body byte is decoded; for the final validation
 * and restore, the 200 goes out at once from the thread that is already
 * running, while the engine thread wakes to resume (before, the engine
 * resumed first and the HTTP thread had to be woken to answer, which the
 * sender waits for). n->borrowed keeps every other mailbox user out
 * meanwhile; the parked engine thread wakes only for a call, a resume or the
 * end, and none of those can start while this call has not returned (the
 * end makes it leave without touching the runtime). Nothing in a call runs
 * guest code. $KAFU_ENGINE_INLINE=0 always uses the mailbox (for comparison). */
static bool call_inline(kafu_node *n) {
  static int enabled = -1;
  if (enabled < 0) enabled = !(getenv("KAFU_ENGINE_INLINE") && !strcmp(getenv("KAFU_ENGINE_INLINE"), "0"));
  return enabled && n->engine_running && n->engine_parked && !n->borrowed && n->call == KAFU_CALL_NONE &&
         !n->resume && !n->done && n->rt;
}

int kafu_node_engine_call(kafu_node *n, kafu_call_kind kind, kafu_snap_decoder **dec, kafu_err *err) {
  pthread_mutex_lock(&n->mu);
  while ((n->call != KAFU_CALL_NONE || n->borrowed) && n->engine_running) pthread_cond_wait(&n->cv, &n->mu);
  if (call_inline(n)) {
    n->borrowed = true;
    pthread_mutex_unlock(&n->mu);
    kafu_err e = {0};
    int rc = do_call(n, kind, dec, &e);
    pthread_mutex_lock(&n->mu);
    after_call_locked(n, kind, rc);
    n->borrowed = false;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    if (rc && err) *err = e;
    return rc;
  }
  if (!n->engine_running) {
    pthread_mutex_unlock(&n->mu);
    if (kind != KAFU_CALL_DECODER && *dec) kafu_snap_decoder_free(*dec);
    return kafu_err_set(err, KAFU_EIO, "node %s is shutting down", n->self);
  }
  n->call = kind;
  n->call_dec = *dec;
  n->call_done = false;
  pthread_cond_broadcast(&n->cv);
  while (!n->call_done && n->engine_running) pthread_cond_wait(&n->cv, &n->mu);
  int rc;
  if (!n->call_done) {
    /* the engine thread exited without taking the call: the decoder handed in
     * for FINISH/ABORT was never consumed */
    if (kind != KAFU_CALL_DECODER && *dec) {
      kafu_snap_decoder_free(*dec);
      *dec = NULL;
    }
    rc = kafu_err_set(err, KAFU_EIO, "node %s is shutting down", n->self);
  } else {
    rc = n->call_rc;
    if (rc && err) *err = n->call_err;
    *dec = n->call_dec;
  }
  n->call = KAFU_CALL_NONE;
  n->call_dec = NULL;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int kafu_node_start(const kafu_node_opts *opts, kafu_node **out, kafu_err *err) {
  *out = NULL;
  const kafu_config *cfg = opts->cfg;
  if (!cfg || !opts->self) return kafu_err_set(err, KAFU_EINVAL, "node options need a config and a node id");
  int idx = kafu_config_node_index(cfg, opts->self);
  if (idx < 0) {
    kafu_buf names = {0};
    const char *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < cfg->nnodes; i++) {
      kafu_buf_printf(&names, "%s%s", i ? ", " : "", cfg->nodes[i].id);
      int d = kafu_edit_distance(opts->self, cfg->nodes[i].id);
      if (d < bestd) bestd = d, best = cfg->nodes[i].id;
    }
    kafu_err_set(err, KAFU_EINVAL, "%s: no node '%s' in `nodes` (nodes: %s)%s%s%s", cfg->config_path,
                 opts->self, kafu_buf_cstr(&names), best ? "; did you mean '" : "", best ? best : "",
                 best ? "'?" : "");
    kafu_buf_free(&names);
    return err->code;
  }
  const kafu_config_node *me = &cfg->nodes[idx];
  char host[256];
  uint16_t port = me->port;
  snprintf(host, sizeof host, "%s", kafu_addr_is_loopback(me->address) ? me->address : "");
  if (opts->listen) {
    char h[256];
    uint16_t p;
    int rc = kafu_parse_listen(opts->listen, h, sizeof h, &p, err);
    if (rc) return rc;
    if (h[0]) snprintf(host, sizeof host, "%s", h);
    if (p) port = p;
  }
  if (opts->save_snapshots_dir && kafu_mkdirs(opts->save_snapshots_dir, 0755, err))
    return kafu_err_prefix(err, "--save-snapshots");

  kafu_node *n = calloc(1, sizeof *n);
  if (!n) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  n->o = *opts;
  n->o.listen = dup_or_null(opts->listen);
  n->o.events_path = dup_or_null(opts->events_path);
  n->o.save_snapshots_dir = dup_or_null(opts->save_snapshots_dir);
  n->cfg = cfg;
  n->self_idx = idx;
  n->coordinator = idx == 0;
  snprintf(n->self, sizeof n->self, "%s", me->id);
  n->start_ns = kafu_now_ns();
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  n->start_wall_ns = (uint64_t)wall.tv_sec * 1000000000ull + (uint64_t)wall.tv_nsec;
  pthread_mutex_init(&n->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&n->cv, &ca);
  pthread_condattr_destroy(&ca);
  kafu_metrics_init(&n->metrics);
  n->state = KAFU_NODE_STARTING;
  snprintf(n->not_ready, sizeof n->not_ready, "loading and compiling the module");
  n->last_seen = calloc(cfg->nnodes, sizeof *n->last_seen);
  n->eng_cl = calloc(cfg->nnodes, sizeof *n->eng_cl);
  n->live_cl = calloc(cfg->nnodes, sizeof *n->live_cl);
  n->peer_image = calloc(cfg->nnodes, sizeof *n->peer_image);
  if (!n->last_seen || !n->eng_cl || !n->live_cl || !n->peer_image) {
    kafu_node_free(n);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  kafu_http_global_init();

  if (n->o.events_path) {
    int fd = open(n->o.events_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    n->events = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!n->events) {
      kafu_err_set(err, KAFU_EIO, "--events %s: %s", n->o.events_path, strerror(errno));
      if (fd >= 0) close(fd);
      kafu_node_free(n);
      return err->code;
    }
    /* one write(2) per event line: several nodes append to the same file */
    setvbuf(n->events, NULL, _IOFBF, 1 << 16);
  }

  int fd = kafu_listen_socket(host, port, &n->port, err);
  if (fd < 0) {
    kafu_err_prefix(err, "node %s", n->self);
    kafu_node_free(n);
    return err->code;
  }
  kafu_hostport(host[0] ? host : "0.0.0.0", n->port, n->hostport, sizeof n->hostport);
  kafu_http_handlers h = kafu_node_handlers(n);
  int rc = kafu_http_server_start(fd, &h, &n->srv, err);
  if (rc) {
    kafu_node_free(n);
    return rc;
  }
  kafu_info("node %s: listening on %s (%s)", n->self, n->hostport,
            n->coordinator ? "coordinator" : "follower");

  n->engine_running = true;
  if (pthread_create(&n->engine_thr, NULL, engine_main, n)) {
    n->engine_running = false;
    kafu_node_free(n);
    return kafu_err_set(err, KAFU_EIO, "cannot start the engine thread");
  }
  n->engine_started = true;
  if (n->cfg->nnodes > 1) {
    if (pthread_create(&n->live_thr, NULL, kafu_node_liveness_main, n) == 0)
      n->live_started = true;
    else
      kafu_warn("node %s: cannot start the liveness thread: heartbeats disabled", n->self);
  }
  *out = n;
  return 0;
}

uint16_t kafu_node_port(const kafu_node *n) { return n->port; }

int kafu_node_wait(kafu_node *n, kafu_err *why) {
  pthread_mutex_lock(&n->mu);
  while (!n->done) pthread_cond_wait(&n->cv, &n->mu);
  int code = n->exit_code;
  if (why) {
    memset(why, 0, sizeof *why);
    if (n->failure) {
      why->code = KAFU_EIO;
      snprintf(why->msg, sizeof why->msg, "%.1000s", n->reason);
    }
  }
  pthread_mutex_unlock(&n->mu);
  return code;
}

void kafu_node_stop(kafu_node *n, int exit_code, const char *reason) {
  kafu_node_finish(n, exit_code, true, reason);
}

int kafu_node_free(kafu_node *n) {
  if (!n) return 0;
  pthread_mutex_lock(&n->mu);
  if (!n->done) {
    n->done = true;
    n->state = KAFU_NODE_FINISHED;
  }
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
  if (n->live_started) pthread_join(n->live_thr, NULL);
  if (n->srv) kafu_http_server_stop(n->srv, 500);
  int left_running = 0;
  if (n->engine_started) {
    /* An engine thread that is not executing the program (e.g. it just got
     * the 200 of its last send) finishes within moments: let it, so its
     * bookkeeping and events are complete. One inside wasm may never return. */
    pthread_mutex_lock(&n->mu);
    uint64_t until = kafu_now_ns() + 2000ull * 1000000ull;
    while (n->engine_running && !n->engine_parked && !n->engine_in_wasm && kafu_now_ns() < until)
      kafu_node_timed_wait(n, 20);
    bool joinable = !n->engine_running || n->engine_parked;
    pthread_mutex_unlock(&n->mu);
    if (joinable) {
      pthread_join(n->engine_thr, NULL);
    } else {
      pthread_detach(n->engine_thr);
      left_running = 1;
    }
  }
  if (left_running) return 1; /* the engine thread still uses everything below */
  if (n->rt) kafu_runtime_free(n->rt);
  for (size_t i = 0; n->eng_cl && i < n->cfg->nnodes; i++) kafu_http_client_free(&n->eng_cl[i]);
  for (size_t i = 0; n->live_cl && i < n->cfg->nnodes; i++) kafu_http_client_free(&n->live_cl[i]);
  free(n->eng_cl);
  free(n->live_cl);
  free(n->last_seen);
  free(n->peer_image);
  kafu_buf_free(&n->send_buf);
  free(n->send_ring);
  if (n->events) fclose(n->events);
  kafu_metrics_destroy(&n->metrics);
  pthread_cond_destroy(&n->cv);
  pthread_mutex_destroy(&n->mu);
  free((char *)n->o.listen);
  free((char *)n->o.events_path);
  free((char *)n->o.save_snapshots_dir);
  free(n);
  return 0;
}

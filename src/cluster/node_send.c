/*
 * node_send.c — delivering the pending checkpoint to the target node (engine
 * thread): POST /migrate with the snapshot, either encoded into a buffer and
 * sent with its length, or streamed through a bounded ring to a transfer
 * thread when it is large or the encoder is slow; retries with exponential
 * backoff; and the receiver's baseline (cached per peer, else GET /baseline).
 *
 * The sender keeps its checkpoint until the receiver answered 200 (which the
 * receiver only does after full validation and restore); only then
 * kafu_runtime_sent() drops it. Transient failures (connection refused,
 * reset, 5xx, 409 busy) are retried with exponential backoff; a 409
 * "baseline" (delta against an image the receiver no longer holds) is retried
 * at once as a full transfer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafu/snapshot.h"
#include "node_internal.h"

/* ---- encoder -> bounded pipe -> libcurl ------------------------------------------------- */

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
  bool wblocked;      /* the writer waited for room at least once: the link was the bottleneck */
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
      sp->wwait = sp->wblocked = true;
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
  bool expect; /* Expect: 100-continue (a snapshot known too big to buffer) */
  snap_pipe *sp;
  long status;
  kafu_buf resp;
  int rc;
  kafu_err err;
} xfer;

static void *xfer_main(void *arg) {
  xfer *x = arg;
  x->rc = kafu_http_post_stream(x->cl, "/migrate", x->header, pipe_read, x->sp, x->expect, &x->status,
                                &x->resp, &x->err);
  pthread_mutex_lock(&x->sp->mu);
  x->sp->rdone = true;
  pthread_cond_broadcast(&x->sp->cv);
  pthread_mutex_unlock(&x->sp->mu);
  return NULL;
}

typedef enum { ATTEMPT_OK, ATTEMPT_BASELINE, ATTEMPT_TRANSIENT, ATTEMPT_FATAL, ATTEMPT_STALE } attempt_result;

static int buf_append_cb(void *ctx, const void *p, size_t n) {
  return kafu_buf_append(ctx, p, n) ? KAFU_ENOMEM : 0;
}

static FILE *open_tee(kafu_node *n, const char *target) {
  if (!n->o.save_snapshots_dir) return NULL;
  char path[4200];
  snprintf(path, sizeof path, "%s/%04u-%s-%s.kafusnap", n->o.save_snapshots_dir, n->tx.seq, n->self, target);
  FILE *f = fopen(path, "w");
  if (!f) kafu_warnc(&n->log, "--save-snapshots: cannot write %s: %s", path, strerror(errno));
  return f;
}

/* A snapshot that stays below send_buffer_max() bytes is encoded into memory
 * first and POSTed with its length from the engine thread itself: no transfer
 * thread to create, no ring, no wake-ups between encoder and libcurl, the
 * receiver gets large unchunked pieces, and the 200 wakes the engine thread
 * directly. Measured on loopback this beats overlapping encode and send up
 * to the 16 MiB cap (docs/benchmarks.md, round 2; a 64 MiB cap lost on full
 * images). Beyond the cap, or when the encoder is slower than the link, it
 * switches to streaming on the fly (transfer thread + ring, the buffered
 * bytes first), so memory stays bounded. The buffer is kept between sends
 * (its pages stay mapped: up to 16 MiB of resident memory on a node that sent
 * that much). The cap is KAFU_TUNE_SEND_BUFFER_MAX; $KAFU_SEND_BUFFER_MAX
 * (bytes, 0 = always stream) overrides it for benchmarking (docs/tunables.md). */

static size_t send_buffer_max(void) { return (size_t)kafu_tunables_get()->send_buffer_max; }

typedef struct send_ctx {
  snap_pipe sp;
  xfer x;
  pthread_t th;
  bool streaming, start_failed;
  kafu_buf *buf; /* n->tx.buf */
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
 * encoder that produced less than KAFU_TUNE_SEND_STREAM_RATE bytes per ns
 * (2 GB/s; $KAFU_SEND_STREAM_RATE) switches to streaming. Measured both ways
 * in docs/benchmarks.md (round 2). */
#define SEND_PROBE_NS 300000ull

static int send_write(void *ctx, const void *p, size_t n) {
  send_ctx *sc = ctx;
  if (!sc->t_first) sc->t_first = kafu_now_ns();
  if (!sc->streaming) {
    uint64_t now = kafu_now_ns();
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

/* One POST /migrate with the snapshot encoded against receiver_id. *inc gets
 * the receiver's incarnation from its 200. */
static attempt_result send_once(kafu_node *n, kafu_http_client *cl, const char *target, uint64_t receiver_id,
                                kafu_snap_stats *stats, bool *duplicate, uint64_t *inc, kafu_err *err) {
  send_ctx sc = {0};
  snap_pipe *sp = &sc.sp;
  pthread_mutex_init(&sp->mu, NULL);
  pthread_cond_init(&sp->cv, NULL);
  if (!n->tx.ring) n->tx.ring = malloc(PIPE_CAP);
  sp->buf = n->tx.ring;
  sc.buf = &n->tx.buf;
  sc.buf->len = 0;
  sp->tee = open_tee(n, target);
  sc.cap = send_buffer_max();
  sc.rate = kafu_tunables_get()->send_stream_rate;            /* benchmarking: 0 = never switch */
  if (sc.buf->cap < sc.cap) kafu_buf_reserve(sc.buf, sc.cap); /* once; pages stay mapped */
  char header[200];
  snprintf(header, sizeof header, KAFU_MIGRATION_ID_HEADER ": %s", n->tx.mig_id);
  sc.x = (xfer){.cl = cl, .header = header, .sp = sp};
  xfer *x = &sc.x;
  attempt_result ar;
  /* known too big to buffer: stream from the start (switching later would
   * have encoded the first 64 MiB before sending anything) */
  uint64_t raw = 0;
  kafu_err xerr = {0};
  if (kafu_runtime_send_estimate(n->rt, receiver_id, &raw, &xerr) == 0 && raw + (1u << 20) > sc.cap)
    sc.cap = 0;
  /* only those ask first (Expect: 100-continue): a stream that starts because
   * the encoder is slow (compression on a slow link) carries little, and the
   * round trip would cost more than a rejected upload */
  x->expect = !sc.cap;
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
    sc.t_first = kafu_now_ns(); /* the wire's part starts now */
    x->rc = kafu_http_post_octets(cl, "/migrate", header, sc.buf->data, sc.buf->len, &x->status, &x->resp,
                                  &x->err);
  }
  /* what the link did, for compression: auto: a streamed snapshot whose
   * encoder never waited for the link, or one the receiver was busy with for
   * more than half of the time (decoding is what held it up, as on
   * loopback), only shows that the link is at least that fast */
  if (!erc && x->rc >= 0 && x->status == 200 && sc.t_first) {
    double secs = kafu_ms_since(sc.t_first) / 1e3, rtt = kafu_http_client_rtt(cl);
    long long busy_us = 0;
    if (!x->resp.len || kafu_json_get_int((const char *)x->resp.data, x->resp.len, "busy_us", &busy_us) ||
        busy_us < 0)
      busy_us = 0;
    bool receiver_bound = (double)busy_us * 1e-6 > 0.5 * (secs - rtt);
    kafu_runtime_link_sample(n->rt, target, stats->wire_bytes, secs, (sc.streaming && !sp->wblocked) || receiver_bound,
                             rtt);
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
    char hex[40] = "";
    if (kafu_json_get_str(body, strlen(body), "incarnation", hex, sizeof hex) ||
        kafu_mem_image_id_parse(hex, inc))
      *inc = 0;
  } else {
    char kind[64] = "", msg[1024] = "";
    kafu_json_get_str(body, strlen(body), "error", kind, sizeof kind);
    kafu_json_get_str(body, strlen(body), "message", msg, sizeof msg);
    kafu_err_set(err, KAFU_EIO, "node %s answered HTTP %ld%s%s%s%s", target, x->status, kind[0] ? " " : "",
                 kind, msg[0] ? ": " : "", msg);
    if (x->status == 409 && !strcmp(kind, "baseline"))
      ar = ATTEMPT_BASELINE;
    else if (x->status == 409 && (!strcmp(kind, "stale") || !strcmp(kind, "run")))
      ar = ATTEMPT_STALE; /* the run went on without this checkpoint */
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

/* --save-snapshots: a delta needs the receiver's baseline to mean anything,
 * so next to a snapshot that went out as a delta a full one is written too
 * (NNNN-<from>-<to>.full.kafusnap), which `kafu restore` can resume. It is
 * encoded before the send (path: where it went; the caller removes it when the
 * send was full anyway): kafu_runtime_sent reports the stats of the last
 * encode, which must be the send's own (events, metrics). */
static void save_full(kafu_node *n, const char *target, char *path, size_t cap) {
  snprintf(path, cap, "%s/%04u-%s-%s.full.kafusnap", n->o.save_snapshots_dir, n->tx.seq, n->self, target);
  kafu_buf b = {0};
  kafu_err e = {0};
  if (kafu_runtime_encode(n->rt, 0, buf_append_cb, &b, NULL, &e) ||
      kafu_write_file_atomic(path, b.data, b.len, &e))
    kafu_warnc(&n->log, "--save-snapshots: cannot write %s: %s", path, e.msg);
  kafu_buf_free(&b);
}

/* The node processes that may take a snapshot for node id ti, in order: the
 * one serving it now, the node itself, its standbys. Never this process. */
static size_t candidates(kafu_node *n, int ti, int *out) {
  size_t k = 0;
  int first = n->run.route[ti];
  int all[66];
  size_t na = 0;
  all[na++] = first;
  all[na++] = ti;
  const kafu_config_node *t = &n->cfg->nodes[ti];
  for (size_t i = 0; i < t->nstandby && na < 66; i++)
    all[na++] = kafu_config_node_index(n->cfg, t->standby[i]);
  for (size_t i = 0; i < na; i++) {
    bool dup = all[i] < 0 || all[i] == n->self_idx;
    for (size_t j = 0; j < k && !dup; j++) dup = out[j] == all[i];
    if (!dup) out[k++] = all[i];
  }
  return k;
}

/* Deliver the pending checkpoint to one node process (ci) for node id
 * target; 0 once acknowledged. Transient failures are retried for up to
 * cluster.failover.wait_ms. */
static int send_to(kafu_node *n, const char *target, int ci, bool *stale, kafu_err *err) {
  const char *cid = n->cfg->nodes[ci].id;
  kafu_http_client *cl = kafu_node_client(n, n->eng_cl, (size_t)ci, err);
  if (!cl) return err->code;
  bool full_only = n->cfg->migration.mode == KAFU_MEMORY_MIGRATION_FULL;
  uint64_t start = kafu_now_ns();
  uint64_t wait_ms = KAFU_SEND_RETRY_FIRST_MS;
  bool full_next = false; /* after a 409 "baseline": send the full image */
  /* $KAFU_BASELINE_QUERY=1: always ask (the pre-cache behaviour, for comparison) */
  bool always_query = kafu_tunables_get()->baseline_query;
  for (int attempt = 1;; attempt++) {
    if (attempt > 1) kafu_metrics_add(&n->metrics, &n->metrics.retries, 1);
    uint64_t rid = 0;
    /* the cached guess saves the GET /baseline round trip before every POST */
    uint64_t guess = full_only || full_next || always_query ? 0 : kafu_runtime_peer_image(n->rt, cid);
    kafu_runtime_peer_unknown(n->rt, cid); /* until this attempt is acknowledged */
    if (guess) rid = guess;
    if (full_only || full_next || guess || query_baseline(n, cl, &rid, err) == 0) {
      kafu_snap_stats st = {0};
      bool dup = false;
      uint64_t inc = 0;
      char fullp[4200] = "";
      if (n->o.save_snapshots_dir) save_full(n, cid, fullp, sizeof fullp);
      uint64_t t0 = kafu_now_ns(); /* the send's own time: not the --save-snapshots copy's */
      attempt_result ar = send_once(n, cl, cid, rid, &st, &dup, &inc, err);
      if (fullp[0] && !(ar == ATTEMPT_OK && st.delta)) unlink(fullp);
      if (ar == ATTEMPT_OK) {
        double ms = kafu_ms_since(t0);
        kafu_runtime_sent(n->rt, ms);
        kafu_runtime_entry_note(n->rt, cid, inc);
        /* the receiver now holds our image, unless it had taken this migration
         * earlier (duplicate) and may have moved on since */
        if (!dup) kafu_runtime_peer_holds_mine(n->rt, cid);
        kafu_metrics_observe(&n->metrics, KAFU_PHASE_TRANSFER, ms);
        kafu_rt_migration_stats ls;
        kafu_runtime_last_stats(n->rt, &ls);
        kafu_metrics_observe_sender(&n->metrics, &ls);
        pthread_mutex_lock(&n->metrics.mu);
        n->metrics.migrations_out++;
        n->metrics.raw_bytes += st.raw_bytes;
        n->metrics.wire_bytes += st.wire_bytes;
        pthread_mutex_unlock(&n->metrics.mu);
        pthread_mutex_lock(&n->mu);
        if (inc) n->run.peer_inc[ci] = inc;
        pthread_mutex_unlock(&n->mu);
        bool standby = strcmp(cid, target) != 0; /* always worth a line */
        kafu_logc(&n->log,
                  kafu_metrics_note(&n->metrics, &n->log, false, st.wire_bytes) || standby ? KAFU_LOG_INFO
                                                                                            : KAFU_LOG_DEBUG,
                  "migrated to %s%s%s: %" PRIu64 " bytes on the wire (%s, %" PRIu64 " pages), %.2f ms%s", target,
                  standby ? " on its standby " : "", standby ? cid : "", st.wire_bytes, st.delta ? "delta" : "full",
                  st.pages, ms, attempt > 1 ? " (after retries)" : "");
        return 0;
      }
      if (ar == ATTEMPT_STALE) {
        *stale = true;
        return kafu_err_prefix(err, "node %s at %s", cid, cl->hostport);
      }
      if (ar == ATTEMPT_FATAL)
        return kafu_err_prefix(err, "snapshot for node %s at %s rejected", cid, cl->hostport);
      if (ar == ATTEMPT_BASELINE && !full_next) {
        /* the receiver no longer holds the image the delta was against (e.g. a
         * rejected upload overwrote its memory): receiver_image_id 0 = full image */
        kafu_infoc(&n->log, "%s does not hold the delta's baseline; sending the full image", cid);
        full_next = true;
        continue;
      }
      if (ar == ATTEMPT_BASELINE)
        return kafu_err_prefix(err, "node %s refused even a full snapshot as a delta", cid);
    }
    double elapsed = kafu_ms_since(start);
    if (elapsed + (double)wait_ms > (double)n->cfg->failover.wait_ms)
      return kafu_err_prefix(err,
                             "could not deliver the snapshot to node %s at %s (%d attempt%s in %.1f s, "
                             "cluster.failover.wait_ms %u)",
                             cid, cl->hostport, attempt, attempt == 1 ? "" : "s", elapsed / 1000.0,
                             n->cfg->failover.wait_ms);
    kafu_warnc(&n->log, "sending to %s failed (%s); retrying in %" PRIu64 " ms", cid, err->msg, wait_ms);
    if (!kafu_node_sleep(n, wait_ms)) return kafu_err_setc(&n->log, err, KAFU_EIO, "shutting down");
    wait_ms = wait_ms * 2 > KAFU_SEND_RETRY_MAX_WAIT_MS ? KAFU_SEND_RETRY_MAX_WAIT_MS : wait_ms * 2;
  }
}

int kafu_node_send_snapshot(kafu_node *n, const char *target, uint64_t hop, kafu_err *err) {
  int ti = kafu_config_node_index(n->cfg, target);
  if (ti < 0) return kafu_err_set(err, KAFU_EINVAL, "migration to unknown node '%s'", target);
  n->tx.seq++;
  snprintf(n->tx.mig_id, sizeof n->tx.mig_id, "%s.%" PRIu64 ".%u", n->self, n->start_wall_ns, n->tx.seq);
  kafu_runtime_set_migration_id(n->rt, n->tx.mig_id); /* for the events */
  pthread_mutex_lock(&n->mu);
  /* counted as seen once acknowledged: peers learn hops from each other
   * (heartbeats, status), and one still in flight must not look like a replay
   * to its own receiver */
  if (!hop) hop = n->run.hop + 1;
  kafu_runtime_set_run(n->rt, n->run.id, n->incarnation);
  pthread_mutex_unlock(&n->mu);
  kafu_runtime_set_hop(n->rt, hop);
  int cand[66];
  size_t nc = candidates(n, ti, cand);
  if (!nc)
    return kafu_err_set(err, KAFU_EINVAL,
                        "node %s cannot take the program: it is this node's own id or a standby "
                        "of it only",
                        target);
  kafu_buf why = {0};
  int rc = 0;
  for (size_t k = 0; k < nc; k++) {
    bool stale = false;
    kafu_err e = {0};
    rc = send_to(n, target, cand[k], &stale, &e);
    if (!rc) {
      pthread_mutex_lock(&n->mu);
      n->run.route[ti] = cand[k];
      if (hop > n->run.hop) n->run.hop = hop;
      pthread_mutex_unlock(&n->mu);
      kafu_buf_free(&why);
      return 0;
    }
    if (stale) {
      kafu_buf_free(&why);
      *err = e;
      return KAFU_ESTALE;
    }
    kafu_buf_printf(&why, "%s%s", why.len ? "; " : "", e.msg);
    pthread_mutex_lock(&n->mu);
    bool done = n->done;
    pthread_mutex_unlock(&n->mu);
    if (done) break;
    if (k + 1 < nc)
      kafu_warnc(&n->log, "%s; trying %s (standby for %s)", e.msg, n->cfg->nodes[cand[k + 1]].id, target);
  }
  kafu_err_set(err, rc ? rc : KAFU_EIO, "%s", kafu_buf_cstr(&why));
  kafu_buf_free(&why);
  return err->code;
}

/*
 * codec.c — `compression: auto`: which codec (none, LZ4, zstd and its level)
 * a snapshot for a given peer is encoded with (docs/config.md).
 *
 * The choice minimises a migration's predicted time from three measurements:
 *
 *   - the link to the peer: throughput B (bytes/s) and round-trip time, from
 *     the node's own transfers to it (kafu_runtime_link_sample; a transfer
 *     whose encoder was slower than the link only says "B is at least");
 *   - each codec's ratio on this program's pages: from the real encodes (exact)
 *     and from samples;
 *   - each codec's speed on them: from samples — a few of the pages the
 *     snapshot will carry, runs kept, encoded by the real encoder into a
 *     counting sink. Sampling may take at most SAMPLE_SHARE of the time the
 *     transfer is predicted to take uncompressed, or of the fastest transfer
 *     measured toward the peer when that is less, so on a fast link
 *     (loopback) it costs little and the estimates of earlier migrations
 *     are used.
 *
 * Codec c with ratio r, encode speed e and decode speed d takes about
 *   R / e + R * r / B + R / d + R * r / COPY
 * for R raw bytes (COPY: the sender's copies of what it sends), and no
 * compression R / B + R / COPY. The terms add up rather than overlap: a
 * compressed snapshot does stream (encoding, wire and decoding overlap), but
 * on a fast link the CPUs that encode, copy and decode are the same few
 * (measured: on loopback LZ4 loses to none even on the pipeline's frames),
 * and on a slow link the wire term dominates either way. Decode speeds are
 * not measured per codec (the receiver reports only its total busy time,
 * used below to tell a busy receiver from a slow link); the table's figures
 * are conservative. Before the first transfer to a peer nothing is known
 * about the link: LZ4.
 *
 * A transfer measures the link only when the link was its bottleneck: one
 * whose raw bytes went at half the codec's speed or more was the codec's, and
 * one the receiver spent more than half of its time on (it answers how long
 * it decoded and restored: busy_us) was the receiver's; either only says the
 * link is at least that fast (otherwise a slow codec or a busy receiver would
 * make the link look slow and call for more compression). While nothing but
 * such lower bounds is known, none — whose prediction is all link — is
 * counted as if the wire cost nothing until it has been measured once.
 *
 * The model is then checked against what transfers took. On a fast link it
 * is wrong in a way no sample shows: the measured "throughput" includes the
 * receiver's decoding and restoring, so the link looks slower than it is and
 * compression better than it is (measured on loopback: the model picked LZ4
 * for every image-pipeline frame, 1.5x slower than none). So per peer and
 * candidate the node keeps what the transfers made with it took per raw byte
 * (encoding, wire, the receiver's decoding and restoring: until its 200; a
 * moving average), and compares candidates by that where it was measured
 * and by the model's prediction where not. A candidate that was never
 * measured toward the peer, or not in the last EXPLORE_EVERY measured
 * transfers, is tried once when its time is within EXPLORE_WITHIN of the
 * best's (a codec predicted far slower is not worth a trial); one measured
 * fewer than TRUST_AFTER times is tried again after RETRY_SOON transfers
 * (on a shared machine one transfer can take twice its time), and a
 * measurement more than twice the estimate counts as twice. Only transfers
 * of at least LEARN_MIN raw bytes are measured: below that the fixed cost of
 * a migration, the same for every codec, is all a measurement would show.
 */
#include "runtime_internal.h"

#include <stdlib.h>
#include <string.h>

#define SAMPLE_SHARE 0.03    /* of the predicted uncompressed transfer time */
#define SAMPLE_MAX_PAGES 64  /* per codec and migration */
#define SAMPLE_RUN 8         /* pages kept together from one run of the snapshot */
#define COPY_BPS 4e9         /* uncompressed: the sender's copies, bytes/s */
#define EWMA 0.5             /* weight of a new measurement */
#define SMALL_TRANSFER 16384 /* wire bytes below which a transfer says nothing about B */
#define LEARN_MIN (256 * 1024) /* raw bytes below which a transfer is not measured against the model */
#define EXPLORE_EVERY 32       /* measured transfers after which a candidate is tried again */
#define EXPLORE_WITHIN 2.5     /* ... if its time is within this factor of the best's */
#define TRUST_AFTER 3          /* measurements before one is trusted: until then tried again soon */
#define RETRY_SOON 3           /* "soon": after this many measured transfers */

const rt_codec_candidate rt_codecs[RT_NCODECS] = {
    {KAFU_SNAP_COMP_NONE, 0, "none", 0, 0},
    {KAFU_SNAP_COMP_LZ4, 1, "lz4", 2e9, 2500},
    {KAFU_SNAP_COMP_ZSTD, 1, "zstd-1", 0.8e9, 10000},
    {KAFU_SNAP_COMP_ZSTD, 3, "zstd-3", 0.7e9, 20000},
};

static double ewma(double old, double v) { return old > 0 ? (1 - EWMA) * old + EWMA * v : v; }

static rt_peer *peer_named(kafu_runtime *rt, const char *node) {
  int i = rt->peers && node ? kafu_config_node_index(rt->cfg, node) : -1;
  return i < 0 ? NULL : &rt->peers[i];
}

void kafu_runtime_link_sample(kafu_runtime *rt, const char *node, uint64_t wire_bytes, double seconds,
                              bool at_least, double rtt_seconds) {
  rt_peer *p = peer_named(rt, node);
  if (!p) return;
  /* did the codec of this transfer bound it? */
  int k = rt->send.codec_k;
  if (k > 0 && k < RT_NCODECS && seconds > 0 && rt->codec.est[k].ns_per_page > 0) {
    double e = KAFU_SNAP_PAGE / (rt->codec.est[k].ns_per_page * 1e-9), d = rt_codecs[k].decode_bps;
    double raw_rate = (double)rt->send.stats.raw_bytes / seconds;
    if (raw_rate > 0.5 * (e < d ? e : d)) at_least = true;
  }
  rt_link_observe(p, wire_bytes, seconds, at_least, rtt_seconds);
}

void rt_link_observe(rt_peer *p, uint64_t wire_bytes, double seconds, bool at_least, double rtt_seconds) {
  if (seconds <= 0) return;
  if (rtt_seconds > 0 && (p->rtt <= 0 || rtt_seconds < p->rtt))
    p->rtt = rtt_seconds; /* the least seen: no queueing */
  if (wire_bytes < SMALL_TRANSFER) return;
  /* the round trip is in every transfer: what remains is the wire's */
  double t = seconds - p->rtt;
  if (t < 0.2 * seconds) t = 0.2 * seconds;
  double bw = (double)wire_bytes / t;
  if (at_least) {
    p->bw = bw > p->bw ? bw : p->bw;
  } else {
    p->bw = ewma(p->bw, bw);
    p->bw_exact = true;
  }
}

/* Up to max pages of those the snapshot carries (plan bits; NULL = all),
 * spread over them, SAMPLE_RUN consecutive pages at a time, into bits. */
static uint64_t pick_sample(const kafu_snap_mem_plan *plan, uint64_t npages, uint64_t max, uint64_t *bits) {
  uint64_t total = plan->pages, stride = total / (max / SAMPLE_RUN ? max / SAMPLE_RUN : 1), got = 0, seen = 0;
  if (stride < SAMPLE_RUN) stride = SAMPLE_RUN;
  memset(bits, 0, (npages + 63) / 64 * sizeof *bits);
  for (uint64_t i = 0; i < npages && got < max; i++) {
    if (plan->bits && !(plan->bits[i / 64] >> (i % 64) & 1)) continue;
    if (seen++ % stride < SAMPLE_RUN) {
      bits[i / 64] |= 1ull << (i % 64);
      got++;
    }
  }
  return got;
}

static int count_sink(void *ctx, const void *p, size_t n) {
  (void)p;
  *(uint64_t *)ctx += n;
  return 0;
}

/* Encode the sample pages with codec k (the real encoder, a counting sink) and
 * fold its ratio and speed into the estimates. */
static void sample_codec(kafu_runtime *rt, int k, const kafu_mem_delta *d) {
  kafu_snapshot s = {.target_node = "sample"};
  s.memory = kafu_instance_memory(rt->inst, &s.memory_size);
  kafu_snap_encode_opts o = {.compression = rt_codecs[k].comp,
                             .level = rt_codecs[k].level,
                             .image = &rt->image,
                             .delta = d,
                             .receiver_image_id = d->base_id};
  uint64_t n = 0, t0 = kafu_now_ns();
  kafu_snap_stats st;
  kafu_err e;
  if (kafu_snap_encode(&s, &o, count_sink, &n, &st, &e) || !st.delta || !st.pages) return;
  rt_codec_est *x = &rt->codec.est[k];
  x->ratio = ewma(x->ratio, (double)st.mem_wire_bytes / (double)st.raw_bytes);
  x->ns_per_page = ewma(x->ns_per_page, (double)(kafu_now_ns() - t0) / (double)st.pages);
}

/* Sample the codecs whose sample fits the budget (seconds), cheapest first. */
static void sample(kafu_runtime *rt, const kafu_snap_mem_plan *plan, double budget) {
  rt_codec *c = &rt->codec;
  double lz4_ns = c->est[1].ns_per_page > 0 ? c->est[1].ns_per_page : rt_codecs[1].guess_ns_per_page;
  uint64_t want = (uint64_t)(budget * 1e9 / lz4_ns);
  if (want > SAMPLE_MAX_PAGES) want = SAMPLE_MAX_PAGES;
  if (want < SAMPLE_RUN) return;
  uint64_t np = rt->image.npages, words = (np + 63) / 64;
  if (words > c->sample_cap) {
    uint64_t *b = realloc(c->sample_bits, words * sizeof *b);
    if (!b) return;
    c->sample_bits = b;
    c->sample_cap = words;
  }
  uint64_t got = pick_sample(plan, np, want, c->sample_bits);
  /* a delta against a made-up base carrying exactly the sample pages */
  kafu_mem_delta d = {.base_id = rt->image.id ^ 0x5a5a5a5a5a5a5a5aull,
                      .base_size = rt->image.size,
                      .new_id = rt->image.id,
                      .npages = np,
                      .bits = c->sample_bits,
                      .ndirty = got};
  if (!d.base_id || !got) return;
  double left = budget * 1e9;
  for (int k = 1; k < RT_NCODECS; k++) {
    double per = c->est[k].ns_per_page > 0 ? c->est[k].ns_per_page : rt_codecs[k].guess_ns_per_page;
    if (per * (double)got > left) continue;
    uint64_t t0 = kafu_now_ns();
    sample_codec(rt, k, &d);
    left -= (double)(kafu_now_ns() - t0);
  }
}

void rt_codec_predict(const rt_codec_est est[RT_NCODECS], double raw, double bw, double rtt,
                      double pred[RT_NCODECS]) {
  pred[0] = raw / bw + raw / COPY_BPS + rtt;
  for (int k = 1; k < RT_NCODECS; k++) {
    const rt_codec_est *x = &est[k];
    pred[k] = -1;
    if (x->ratio <= 0 || x->ns_per_page <= 0) continue; /* never measured */
    pred[k] = raw * (x->ns_per_page * 1e-9) / KAFU_SNAP_PAGE + raw * x->ratio / bw +
              raw / rt_codecs[k].decode_bps + raw * x->ratio / COPY_BPS + rtt;
  }
}

void rt_codec_predict_peer(const rt_peer *p, const rt_codec_est est[RT_NCODECS], double raw,
                           double pred[RT_NCODECS]) {
  rt_codec_predict(est, raw, p->bw, p->rtt, pred);
  /* while every transfer to the peer was held up by a CPU (the receiver's
   * decoding, as on loopback, or the encoder), bw is only a lower bound and
   * none's prediction may be many times too long, so none would never be
   * tried: until it is measured, it is counted with no wire time at all */
  if (!p->bw_exact && !p->obs[0].n) pred[0] = raw / COPY_BPS + p->rtt;
}

int rt_codec_pick(const double pred[RT_NCODECS], double raw, const rt_codec_obs obs[RT_NCODECS], uint32_t now,
                  bool may_explore) {
  double t[RT_NCODECS];
  int best = 0;
  for (int k = 0; k < RT_NCODECS; k++) {
    t[k] = pred[k] < 0 ? -1 : obs[k].cost > 0 ? obs[k].cost * raw : pred[k];
    if (t[k] >= 0 && t[k] < t[best]) best = k;
  }
  int trial = -1;
  for (int k = 0; k < RT_NCODECS && may_explore; k++) {
    bool stale = obs[k].cost <= 0 || now - obs[k].at >= (obs[k].n < TRUST_AFTER ? RETRY_SOON : EXPLORE_EVERY);
    if (k == best || t[k] < 0 || !stale || t[k] > EXPLORE_WITHIN * t[best]) continue;
    if (trial < 0 || t[k] < t[trial]) trial = k;
  }
  return trial < 0 ? best : trial;
}

void rt_codec_observe(rt_peer *p, int k, double seconds, double raw) {
  if (k < 0 || k >= RT_NCODECS || seconds <= 0 || raw <= 0) return;
  p->nobs++;
  rt_codec_obs *o = &p->obs[k];
  double c = seconds / raw;
  /* a transfer stretched by the machine (a preempted thread, a busy core)
   * says little about the codec: once it is known, outliers count at most 2x */
  if (o->n >= 2 && c > 2 * o->cost) c = 2 * o->cost;
  o->cost = ewma(o->cost, c);
  o->at = p->nobs;
  o->n++;
}

/* What sampling's budget is a share of: the predicted time of an uncompressed
 * transfer of R bytes, or the best time measured toward the peer if less (on a
 * fast link the link estimate includes the receiver's work, so the prediction
 * can be ten times too long: sampling took 0.1-0.3 ms of each loopback
 * migration of the image pipeline). */
static double sample_base(const rt_peer *p, double R) {
  double t = R / p->bw + R / COPY_BPS + p->rtt;
  for (int k = 0; k < RT_NCODECS; k++)
    if (p->obs[k].cost > 0 && p->obs[k].cost * R < t) t = p->obs[k].cost * R;
  return t;
}

int rt_codec_choose(kafu_runtime *rt, const char *target, const kafu_snap_mem_plan *plan) {
  rt->send.codec_measure = false;
  rt->send.codec_pred_s = 0;
  rt_peer *p = peer_named(rt, target);
  if (!p || p->bw <= 0) return 1; /* nothing known about the link yet: LZ4 */
  double R = (double)plan->pages * KAFU_SNAP_PAGE;
  if (R <= 0) return 0;
  sample(rt, plan, SAMPLE_SHARE * sample_base(p, R));
  double pred[RT_NCODECS];
  rt_codec_predict_peer(p, rt->codec.est, R, pred);
  /* below LEARN_MIN: what is known, no trials and no measuring (too small to tell codecs apart) */
  bool big = R >= LEARN_MIN;
  int k = rt_codec_pick(pred, R, p->obs, p->nobs, big);
  rt->send.codec_measure = big;
  rt->send.codec_pred_s = pred[k] > 0 ? pred[k] : 0;
  return k;
}

void rt_codec_measured(kafu_runtime *rt, const char *target, double seconds) {
  int k = rt->send.codec_k;
  rt_peer *p = peer_named(rt, target);
  if (p && k >= 0 && rt->send.codec_measure) {
    rt_codec_observe(p, k, seconds, (double)rt->send.stats.raw_bytes);
    /* what the model said next to what it took: how to see why auto chose */
    kafu_debugc(&rt->log, "compression auto: %s to %s took %.3f ms (model: %.3f ms)", rt_codecs[k].name, target,
                seconds * 1e3, rt->send.codec_pred_s * 1e3);
  }
  rt->send.codec_measure = false;
}

void rt_codec_learn(kafu_runtime *rt, int k, const kafu_snap_stats *st) {
  if (k <= 0 || k >= RT_NCODECS || !st->raw_bytes) return;
  rt_codec_est *x = &rt->codec.est[k];
  x->ratio = ewma(x->ratio, (double)st->mem_wire_bytes / (double)st->raw_bytes);
}

/*
 * dirty_policy.c — how the runtime uses the dirty-page tracker (dirty.c) in
 * NODE mode: register the instance's memory once, collect the written pages
 * before each image refresh (the sender's delta), and, while a snapshot is
 * decoded into memory, drop the write protection of the pages it writes in as
 * few calls as pays off. Any tracker failure falls back to hashing for good.
 *
 * The receive-side knobs ($KAFU_WP_RELEASE, $KAFU_WP_GAP, $KAFU_WP_MIN) and
 * $KAFU_DIRTY_TRACKING=hash are for benchmarking (docs/benchmarks.md).
 */
#include "runtime_internal.h"

#include <stdlib.h>
#include <string.h>

/* share of memory pages (%) a received snapshot must write before the write
 * protection is dropped in bulk (see rt_dirty_before_decode) */
#define DIRTY_RELEASE_PCT 15

/* NODE mode keeps one instance (and one memory reservation) for its whole
 * life, so the tracker is registered once. Any failure = hashing fallback. */
void rt_dirty_open(kafu_runtime *rt) {
  rt_dirty *d = &rt->dirty;
  const char *mode = kafu_dirty_env_mode();
  if (!strcmp(mode, "hash")) {
    kafu_debugc(&rt->log, "dirty pages found by hashing ($KAFU_DIRTY_TRACKING=hash)");
    return;
  }
  uint64_t size = 0;
  uint8_t *base = kafu_instance_memory(rt->inst, &size);
  uint64_t span = (uint64_t)kafu_instance_memory_max_pages(rt->inst) * KAFU_WASM_PAGE;
  kafu_err e = {0};
  if (!base || !span) return; /* no memory: nothing to track */
  if (kafu_dirty_probe(&e) || kafu_dirty_open(base, span, &d->tracker, &e)) {
    d->tracker = NULL;
    /* a fallback worth knowing about (e.g. under qemu-user: no userfaultfd) */
    kafu_infoc(&rt->log, "dirty pages found by hashing (%s)", e.msg);
    return;
  }
  kafu_debugc(&rt->log, "dirty pages tracked with userfaultfd write-protection");
  /* receive side: runs this many pages apart share one UFFDIO_WRITEPROTECT,
   * shorter ranges are left to fault (rt_dirty_on_runs); the overrides are
   * for benchmarking only (defaults KAFU_TUNE_WP_GAP, KAFU_TUNE_WP_MIN) */
  const kafu_tunables *t = kafu_tunables_get();
  d->wp_bulk = t->wp_release_bulk;
  d->wp_gap = t->wp_gap;
  d->wp_min = t->wp_min;
}

void rt_dirty_close(kafu_runtime *rt) {
  kafu_dirty_close(rt->dirty.tracker);
  rt->dirty.tracker = NULL;
  free(rt->dirty.written);
  rt->dirty.written = NULL;
  rt->dirty.written_cap = 0;
}

/* The tracker failed: hash from now on. */
static void fall_back(kafu_runtime *rt, const kafu_err *e) {
  kafu_warnc(&rt->log, "%s; finding dirty pages by hashing from now on", e->msg);
  kafu_dirty_close(rt->dirty.tracker);
  rt->dirty.tracker = NULL;
}

const uint64_t *rt_dirty_collect(kafu_runtime *rt, uint64_t size) {
  rt_dirty *d = &rt->dirty;
  if (!d->tracker) return NULL;
  size_t words = (size_t)((size / KAFU_SNAP_PAGE + 63) / 64);
  if (words > d->written_cap) {
    uint64_t *w = realloc(d->written, words * sizeof *w);
    if (!w) {
      kafu_dirty_close(d->tracker);
      d->tracker = NULL;
      return NULL;
    }
    d->written = w;
    d->written_cap = words;
  }
  kafu_err e = {0};
  if (kafu_dirty_collect(d->tracker, size, d->written, &e) == 0) return d->written;
  fall_back(rt, &e);
  return NULL;
}

const char *kafu_runtime_dirty_tracking(const kafu_runtime *rt) {
  return rt->dirty.tracker ? "uffd" : "hash";
}

/* Before the decoder writes a large share of memory, drop the write
 * protection in one walk: each protected page would otherwise cost a fault
 * (~0.7 us here) against ~0.1 us per page for the walk (measured: the walk
 * costs more than it saves below ~15 % of the pages). Tracking re-arms after
 * decoding either way. Only with $KAFU_WP_RELEASE=bulk. */
void rt_dirty_before_decode(kafu_runtime *rt, uint64_t cur) {
  rt_dirty *d = &rt->dirty;
  if (!d->tracker || !d->wp_bulk || !rt->recv.dec || !cur) return;
  uint64_t pages = kafu_snap_decoder_pages(rt->recv.dec, NULL);
  if (pages * 100 < (cur / KAFU_SNAP_PAGE) * DIRTY_RELEASE_PCT) return;
  kafu_err e = {0};
  if (kafu_dirty_release(d->tracker, cur, &e)) fall_back(rt, &e);
}

static void wp_release(kafu_runtime *rt, uint64_t first, uint64_t n) {
  if (!rt->dirty.tracker || n < rt->dirty.wp_min) return;
  kafu_err e = {0};
  if (kafu_dirty_release_range(rt->dirty.tracker, first, n, &e)) fall_back(rt, &e);
}

/* Before the decoder writes a chunk's runs, drop the write protection of
 * exactly those pages, one UFFDIO_WRITEPROTECT per coalesced range, instead
 * of taking a fault (~0.7 us) per page. Runs at most wp_gap pages apart are
 * merged: the gap pages just count as written at the next collect, which
 * finish_receive discards anyway. Ranges shorter than wp_min pages are left
 * to fault: one ioctl costs about as much as a fault or two. */
void rt_dirty_on_runs(void *ctx, const uint32_t *runs, uint32_t n) {
  kafu_runtime *rt = ctx;
  if (!rt->dirty.tracker || rt->dirty.wp_bulk || !n) return;
  uint64_t f = runs[0], e = f + runs[1];
  for (uint32_t i = 1; i < n; i++) {
    uint64_t rf = runs[2 * i], rn = runs[2 * i + 1];
    if (rf - e <= rt->dirty.wp_gap) {
      e = rf + rn;
      continue;
    }
    wp_release(rt, f, e - f);
    f = rf, e = rf + rn;
  }
  wp_release(rt, f, e - f);
}

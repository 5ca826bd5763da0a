/*
 * encode.c — streaming snapshot encoder (format: docs/snapshot-format.md).
 *
 * Sections are written one at a time through the caller's write callback; only
 * one small metadata section or one memory chunk is ever buffered. Memory goes
 * out in chunks of at most chunk_size raw bytes, each a list of page runs:
 *  - compressed: every run is compressed straight from guest memory into the
 *    chunk's output buffer (independent blocks, so runs need no gathering copy
 *    and a decoder can decompress each straight into its destination), then the
 *    chunk is written with one call;
 *  - none: the header and run table are written, then the runs themselves
 *    directly from guest memory (no copy at all).
 * The delta-versus-full decision is made here, once (kafu_snap_plan_memory),
 * from the receiver's stated image id and the sender's image/delta
 * (kafu_mem_image_update), so a delta is never sent against an image the
 * receiver does not hold; senders ask the same function ahead of encoding.
 */
#include <inttypes.h>
#include <lz4.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "snap_internal.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct enc {
  kafu_snap_write_fn write;
  void *ctx;
  kafu_err *err;
  uint64_t wire;      /* bytes written so far */
  uint32_t nsections; /* sections written so far */
  kafu_buf sec;       /* builder for small sections */
  bool oom;           /* an append to sec failed */
} enc;

static int emit(enc *e, const void *p, size_t n) {
  if (!n) return 0;
  int rc = e->write(e->ctx, p, n);
  if (rc < 0)
    return kafu_err_set(e->err, KAFU_EIO,
                        "snapshot encode: write of %zu bytes at offset %" PRIu64 " failed (%d)", n, e->wire,
                        rc);
  e->wire += n;
  return 0;
}

/* ---- small sections, built in e->sec ------------------------------------------ */

static void b_raw(enc *e, const void *p, size_t n) { e->oom |= kafu_buf_append(&e->sec, p, n) != 0; }
static void b_u8(enc *e, uint8_t v) { b_raw(e, &v, 1); }
static void b_u16(enc *e, uint16_t v) { b_raw(e, &v, 2); }
static void b_u32(enc *e, uint32_t v) { b_raw(e, &v, 4); }
static void b_u64(enc *e, uint64_t v) { b_raw(e, &v, 8); }
static void b_str(enc *e, const char *s) {
  if (!s) {
    b_u32(e, SNAP_NULL_STR);
    return;
  }
  uint32_t n = (uint32_t)strlen(s);
  b_u32(e, n);
  b_raw(e, s, n);
}

static void sec_begin(enc *e) {
  e->sec.len = 0;
  uint8_t hdr[SNAP_SEC_HDR] = {0};
  b_raw(e, hdr, sizeof hdr);
}
static int sec_end_flags(enc *e, uint32_t type, uint32_t flags) {
  kafu_buf *b = &e->sec;
  if (e->oom || !b->data || b->len < SNAP_SEC_HDR)
    return kafu_err_set(e->err, KAFU_ENOMEM, "snapshot encode: out of memory");
  put32(b->data, type);
  put32(b->data + 4, flags);
  put64(b->data + 8, b->len - SNAP_SEC_HDR);
  uint64_t sum = XXH3_64bits(b->data, b->len);
  b_raw(e, &sum, 8);
  if (e->oom) return kafu_err_set(e->err, KAFU_ENOMEM, "snapshot encode: out of memory");
  e->nsections++;
  return emit(e, b->data, b->len);
}
static int sec_end(enc *e, uint32_t type) { return sec_end_flags(e, type, 0); }

/* ---- validation: refuse to write what a decoder would reject ------------------- */

static int check_str(const char *s, bool nullable, const char *what, kafu_err *err) {
  if (!s) return nullable ? 0 : kafu_err_set(err, KAFU_EINVAL, "snapshot encode: %s is missing", what);
  if (strlen(s) > KAFU_SNAP_MAX_NAME)
    return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: %s longer than %u bytes", what,
                        KAFU_SNAP_MAX_NAME);
  return 0;
}

static int validate(const kafu_snapshot *s, kafu_err *err) {
  int rc;
  if ((rc = check_str(s->target_node, false, "target node", err))) return rc;
  if (!s->target_node[0]) return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: target node is empty");
  if ((rc = check_str(s->source_node, true, "source node", err))) return rc;
  if ((rc = check_str(s->sender, true, "sender", err))) return rc;
  if (s->resume_kind > KAFU_MIG_EXIT)
    return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: resume kind %u is not enter/exit",
                        s->resume_kind);
  if ((s->nframes && !s->frames) || (s->nglobals && !s->globals) || (s->nfds && !s->fds))
    return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: count without array");
  for (uint32_t i = 0; i < s->nframes; i++)
    if ((rc = check_str(s->frames[i].caller_node, true, "frame caller node", err))) return rc;
  for (uint32_t i = 0; i < s->nglobals; i++) {
    if ((rc = check_str(s->globals[i].name, false, "global name", err))) return rc;
    if (s->globals[i].type > KAFU_SNAP_VAL_F64)
      return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: global %s has invalid type %u",
                          s->globals[i].name, s->globals[i].type);
  }
  for (uint32_t i = 0; i < s->nfds; i++) {
    const kafu_fd_entry *f = &s->fds[i];
    if ((rc = check_str(f->preopen, true, "fd preopen", err)) ||
        (rc = check_str(f->path, true, "fd path", err)) || (rc = check_str(f->home, true, "fd home", err)))
      return kafu_err_prefix(err, "fd %u", f->fd), rc;
    if (f->npending > KAFU_WASI_READAHEAD_MAX || (f->npending && !f->pending))
      return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: fd %u carries %u read-ahead bytes (at most %u)",
                          f->fd, f->npending, KAFU_WASI_READAHEAD_MAX);
    if (i && f->fd <= s->fds[i - 1].fd)
      return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: fd table not sorted/unique at fd %u", f->fd);
  }
  if (s->memory_size % KAFU_WASM_PAGE || s->memory_size > KAFU_SNAP_MAX_MEMORY)
    return kafu_err_set(err, KAFU_EINVAL,
                        "snapshot encode: memory size %" PRIu64 " is not a multiple of 64 KiB <= 4 GiB",
                        s->memory_size);
  if (s->memory_size && !s->memory) return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: memory is NULL");
  return 0;
}

/* ---- metadata sections ------------------------------------------------------------ */

static int write_meta(enc *e, const kafu_snapshot *s) {
  kafu_buf *b = &e->sec;
  sec_begin(e);
  b_raw(e, s->module_sha256, KAFU_SHA256_LEN);
  b_str(e, s->source_node);
  b_str(e, s->target_node);
  b_u32(e, s->resume_fn_id);
  b_u8(e, s->resume_kind);
  int rc;
  if ((rc = sec_end(e, SEC_META))) return rc;

  if (s->run_id) { /* OPTIONAL: a 1.0 reader skips it */
    sec_begin(e);
    b_u64(e, s->run_id);
    b_u64(e, s->hop);
    b_str(e, s->sender);
    b_u64(e, s->sender_incarnation);
    if ((rc = sec_end_flags(e, SEC_RUN, SEC_FLAG_OPTIONAL))) return rc;
  }

  sec_begin(e);
  b_u32(e, s->nframes);
  for (uint32_t i = 0; i < s->nframes; i++) {
    b_u32(e, s->frames[i].fn_id);
    b_u8(e, s->frames[i].migrated ? 1 : 0);
    b_str(e, s->frames[i].caller_node);
  }
  if ((rc = sec_end(e, SEC_STACK))) return rc;

  sec_begin(e);
  b_u32(e, s->nglobals);
  for (uint32_t i = 0; i < s->nglobals; i++) {
    const kafu_snap_global *g = &s->globals[i];
    uint64_t bits =
        g->type == KAFU_SNAP_VAL_I32 || g->type == KAFU_SNAP_VAL_F32 ? (uint32_t)g->bits : g->bits;
    b_str(e, g->name);
    b_u8(e, g->type);
    b_u64(e, bits);
  }
  if ((rc = sec_end(e, SEC_GLOBALS))) return rc;

  sec_begin(e);
  b_u32(e, s->nfds);
  for (uint32_t i = 0; i < s->nfds; i++) {
    const kafu_fd_entry *f = &s->fds[i];
    size_t at = b->len;
    b_u32(e, 0); /* entry length, patched below: lets later versions append fields */
    b_u32(e, f->fd);
    b_u8(e, f->kind);
    b_u8(e, f->filetype);
    b_str(e, f->preopen);
    b_str(e, f->path);
    b_u32(e, f->oflags);
    b_u64(e, f->rights_base);
    b_u64(e, f->rights_inheriting);
    b_u16(e, f->fdflags);
    b_u64(e, f->offset);
    b_u32(e, f->index);
    /* minor 2: where a socket or stdin lives (absent home = not homed) */
    b_str(e, f->home);
    b_u64(e, f->home_gen);
    b_u64(e, f->handle);
    b_u32(e, f->npending);
    if (f->npending) b_raw(e, f->pending, f->npending);
    if (b->data) put32(b->data + at, (uint32_t)(b->len - at - 4));
  }
  if ((rc = sec_end(e, SEC_FDS))) return rc;
  if (s->nhost) {
    sec_begin(e);
    b_u32(e, s->nhost);
    for (uint32_t i = 0; i < s->nhost; i++) {
      b_str(e, s->host[i].name);
      b_u64(e, s->host[i].len);
      b_raw(e, s->host[i].data, s->host[i].len);
    }
    if ((rc = sec_end(e, SEC_HOST))) return rc;
  }
  return 0;
}

/* ---- memory: page runs and chunks --------------------------------------------------- */

typedef struct run {
  uint64_t first, n; /* pages */
} run;

/* Iterates the runs of set bits of a page bitmap (bits NULL = every page). */
typedef struct runit {
  const uint64_t *bits;
  uint64_t np, pos;
  uint64_t rf, rn; /* the part of the current run not yet placed in a chunk */
} runit;

static bool runit_next(runit *it, uint64_t *first, uint64_t *n) {
  uint64_t np = it->np, i = it->pos;
  if (!it->bits) {
    if (i >= np) return false;
    *first = i, *n = np - i, it->pos = np;
    return true;
  }
  while (i < np) {
    uint64_t w = it->bits[i / 64] >> (i % 64);
    if (w) {
      i += (uint64_t)__builtin_ctzll(w);
      break;
    }
    i = (i / 64 + 1) * 64;
  }
  if (i >= np) {
    it->pos = np;
    return false;
  }
  uint64_t j = i;
  while (j < np) {
    uint64_t w = ~it->bits[j / 64] >> (j % 64);
    if (w) {
      j += (uint64_t)__builtin_ctzll(w);
      break;
    }
    j = (j / 64 + 1) * 64;
  }
  if (j > np) j = np;
  *first = i, *n = j - i, it->pos = j;
  return true;
}

/* Next chunk: up to cap pages, as runs (a long run is split across chunks). */
static uint32_t chunk_fill(runit *it, uint64_t cap, run *out) {
  uint32_t nr = 0;
  uint64_t used = 0;
  while (used < cap) {
    if (!it->rn && !runit_next(it, &it->rf, &it->rn)) break;
    uint64_t take = it->rn < cap - used ? it->rn : cap - used;
    out[nr].first = it->rf, out[nr].n = take, nr++;
    it->rf += take, it->rn -= take, used += take;
  }
  return nr;
}

/* What every chunk of one memory section shares. */
typedef struct memw {
  int wire_comp, level;
  uint64_t chunk_pages;
  size_t out_cap;         /* size of a compressed chunk buffer */
  const uint8_t *mem;     /* guest memory */
  const uint64_t *hashes; /* the image's page hashes: they stand for the data in the checksum */
} memw;

/* One compressor's private state (one per thread). */
typedef struct compressor {
  void *lz4_state;
  ZSTD_CCtx *zc;
} compressor;

/* A chunk on its way out: its runs, and its encoded section once compressed. */
typedef struct slot {
  run *runs;
  uint32_t nr;
  uint8_t *out;
  size_t len;
  int rc;
  kafu_err err;
  bool done;
} slot;

/* MEMCHUNK checksum: header, run table, then the xxh3-64 of every carried page
 * (the receiver computes those anyway for the image id), so no pass over the
 * page data itself is needed on either side. */
static uint64_t chunk_sum(const memw *m, const uint8_t *hdr_and_table, size_t n, const run *runs,
                          uint32_t nr) {
  XXH3_state_t hs;
  XXH3_64bits_reset(&hs);
  XXH3_64bits_update(&hs, hdr_and_table, n);
  for (uint32_t r = 0; r < nr; r++)
    XXH3_64bits_update(&hs, m->hashes + runs[r].first, runs[r].n * sizeof(uint64_t));
  return XXH3_64bits_digest(&hs);
}

static int compressor_init(compressor *c, int wire_comp) {
  memset(c, 0, sizeof *c);
  if (wire_comp == WIRE_COMP_LZ4) c->lz4_state = malloc((size_t)LZ4_sizeofState());
  if (wire_comp == WIRE_COMP_ZSTD) c->zc = ZSTD_createCCtx();
  return (wire_comp == WIRE_COMP_LZ4 && !c->lz4_state) || (wire_comp == WIRE_COMP_ZSTD && !c->zc)
             ? KAFU_ENOMEM
             : 0;
}
static void compressor_free(compressor *c) {
  free(c->lz4_state);
  ZSTD_freeCCtx(c->zc);
}

/* LZ4 on a single page: compress it first with a high acceleration; if even
 * that does not shrink it by 1/16, store it raw. LZ4 gets fast on
 * incompressible input only as its skip step ramps up, which a 4 KiB block
 * is too short for: at acceleration 1 a random-looking page costs ~0.7 us,
 * at 16 about half, and a delta of scattered pages is mostly single-page
 * runs. Longer runs need no probe (measured: 1.6 MiB of such data compresses
 * at ~20 GB/s as one block). A compressible page pays the probe on top. */
#define PROBE_LZ4_ACCEL 16
static bool probe_incompressible(const memw *m, compressor *c, const uint8_t *src, uint8_t *out, size_t cap) {
  if (m->wire_comp != WIRE_COMP_LZ4) return false;
  int k = LZ4_compress_fast_extState(c->lz4_state, (const char *)src, (char *)out, KAFU_SNAP_PAGE, (int)cap,
                                     m->level > PROBE_LZ4_ACCEL ? m->level : PROBE_LZ4_ACCEL);
  return k <= 0 ? false /* let the real attempt report it */
                : (size_t)k >= KAFU_SNAP_PAGE - KAFU_SNAP_PAGE / 16;
}

/* Build slot s's whole MEMCHUNK section (header, table, independent blocks
 * compressed straight from guest memory, trailer) in s->out. */
static int compress_chunk(const memw *m, compressor *c, slot *s) {
  uint8_t *o = s->out;
  const run *runs = s->runs;
  uint32_t nr = s->nr;
  size_t table = SNAP_SEC_HDR + 4, pos = table + (size_t)nr * SNAP_RUN_ENTRY;
  put32(o + SNAP_SEC_HDR, nr);
  for (uint32_t r = 0; r < nr; r++) {
    const uint8_t *src = m->mem + runs[r].first * KAFU_SNAP_PAGE;
    size_t n = (size_t)runs[r].n * KAFU_SNAP_PAGE, cap = m->out_cap - SNAP_TRAILER - pos;
    size_t got;
    if (runs[r].n == 1 && probe_incompressible(m, c, src, o + pos, cap)) {
      got = n; /* stored raw below */
    } else if (m->wire_comp == WIRE_COMP_LZ4) {
      int k = LZ4_compress_fast_extState(c->lz4_state, (const char *)src, (char *)o + pos, (int)n, (int)cap,
                                         m->level);
      if (k <= 0)
        return kafu_err_set(&s->err, KAFU_EIO, "snapshot encode: LZ4 failed on pages %" PRIu64 "+%" PRIu64,
                            runs[r].first, runs[r].n);
      got = (size_t)k;
    } else {
      got = ZSTD_compressCCtx(c->zc, o + pos, cap, src, n, m->level);
      if (ZSTD_isError(got))
        return kafu_err_set(&s->err, KAFU_EIO,
                            "snapshot encode: zstd failed on pages %" PRIu64 "+%" PRIu64 ": %s",
                            runs[r].first, runs[r].n, ZSTD_getErrorName(got));
    }
    uint32_t stored = (uint32_t)got;
    if (got >= n) { /* incompressible: store raw (flag bit 31) so decoding is a copy */
      memcpy(o + pos, src, n);
      got = n;
      stored = (uint32_t)n | 0x80000000u;
    }
    uint8_t *t = o + table + (size_t)r * SNAP_RUN_ENTRY;
    put32(t, (uint32_t)runs[r].first);
    put32(t + 4, (uint32_t)runs[r].n);
    put32(t + 8, stored);
    pos += got;
  }
  put32(o, SEC_MEMCHUNK);
  put32(o + 4, 0);
  put64(o + 8, pos - SNAP_SEC_HDR);
  put64(o + pos, chunk_sum(m, o, table + (size_t)nr * SNAP_RUN_ENTRY, runs, nr));
  s->len = pos + SNAP_TRAILER;
  return 0;
}

static int emit_slot(enc *e, slot *s, kafu_snap_stats *st) {
  if (s->rc) {
    if (e->err) *e->err = s->err;
    return s->rc;
  }
  for (uint32_t r = 0; r < s->nr; r++) st->pages += s->runs[r].n;
  e->nsections++;
  st->mem_wire_bytes += s->len;
  st->chunks++;
  return emit(e, s->out, s->len);
}

/* Uncompressed chunk: header and run table, then the runs straight from guest
 * memory (no copy at all). */
static int write_chunk_raw(enc *e, const memw *m, uint8_t *o, const run *runs, uint32_t nr,
                           kafu_snap_stats *st) {
  size_t hl = SNAP_SEC_HDR + 4 + (size_t)nr * SNAP_RUN_ENTRY;
  uint64_t payload = 4 + (uint64_t)nr * SNAP_RUN_ENTRY;
  put32(o + SNAP_SEC_HDR, nr);
  for (uint32_t r = 0; r < nr; r++) {
    uint8_t *t = o + SNAP_SEC_HDR + 4 + (size_t)r * SNAP_RUN_ENTRY;
    put32(t, (uint32_t)runs[r].first);
    put32(t + 4, (uint32_t)runs[r].n);
    put32(t + 8, (uint32_t)(runs[r].n * KAFU_SNAP_PAGE));
    payload += runs[r].n * KAFU_SNAP_PAGE;
  }
  put32(o, SEC_MEMCHUNK);
  put32(o + 4, 0);
  put64(o + 8, payload);
  uint64_t sum = chunk_sum(m, o, hl, runs, nr);
  int rc = emit(e, o, hl);
  for (uint32_t r = 0; r < nr && !rc; r++) {
    rc = emit(e, m->mem + runs[r].first * KAFU_SNAP_PAGE, (size_t)runs[r].n * KAFU_SNAP_PAGE);
    st->pages += runs[r].n;
  }
  if (rc) return rc;
  e->nsections++;
  st->mem_wire_bytes += SNAP_SEC_HDR + payload + SNAP_TRAILER;
  st->chunks++;
  return emit(e, &sum, 8);
}

/* ---- parallel compression ------------------------------------------------------------ */
/* The calling thread plans chunks into a ring of slots and writes finished ones
 * in order; workers compress queued slots. Chunk k uses slot k % nslots, which
 * is refilled only after chunk k - nslots was written. */

typedef struct pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  const memw *m;
  slot *slots;
  uint32_t nslots;
  uint64_t queued, taken; /* chunks handed out / picked up by workers */
  bool stop;
} pool;

static void *worker(void *arg) {
  pool *p = arg;
  compressor c;
  int init = compressor_init(&c, p->m->wire_comp);
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->taken >= p->queued) pthread_cond_wait(&p->cv, &p->mu);
    if (p->stop) break;
    slot *s = &p->slots[p->taken++ % p->nslots];
    pthread_mutex_unlock(&p->mu);
    s->rc = init ? kafu_err_set(&s->err, KAFU_ENOMEM, "snapshot encode: out of memory for a compressor")
                 : compress_chunk(p->m, &c, s);
    pthread_mutex_lock(&p->mu);
    s->done = true;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  compressor_free(&c);
  return NULL;
}

static int write_chunks_parallel(enc *e, const memw *m, runit *it, uint32_t nchunks, int threads, slot *slots,
                                 uint32_t nslots, kafu_snap_stats *st) {
  pool p = {.m = m, .slots = slots, .nslots = nslots};
  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.cv, NULL);
  pthread_t tids[KAFU_SNAP_MAX_THREADS];
  int started = 0, rc = 0;
  for (; started < threads; started++)
    if (pthread_create(&tids[started], NULL, worker, &p)) break;
  if (!started) rc = kafu_err_set(e->err, KAFU_ENOMEM, "snapshot encode: cannot start compression threads");
  uint64_t produced = 0, written = 0;
  while (!rc && written < nchunks) {
    while (produced < nchunks && produced < written + nslots) {
      slot *s = &slots[produced % nslots];
      s->nr = chunk_fill(it, m->chunk_pages, s->runs);
      s->done = false, s->rc = 0;
      pthread_mutex_lock(&p.mu);
      p.queued = ++produced;
      pthread_cond_broadcast(&p.cv);
      pthread_mutex_unlock(&p.mu);
    }
    slot *s = &slots[written % nslots];
    pthread_mutex_lock(&p.mu);
    while (!s->done) pthread_cond_wait(&p.cv, &p.mu);
    pthread_mutex_unlock(&p.mu);
    rc = emit_slot(e, s, st);
    written++;
  }
  pthread_mutex_lock(&p.mu);
  p.stop = true;
  pthread_cond_broadcast(&p.cv);
  pthread_mutex_unlock(&p.mu);
  for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
  pthread_mutex_destroy(&p.mu);
  pthread_cond_destroy(&p.cv);
  return rc;
}

/* Delta only against an image the receiver is known to hold. */
void kafu_snap_plan_memory(const kafu_snap_encode_opts *o, const kafu_mem_image *img,
                           kafu_snap_mem_plan *out) {
  *out = (kafu_snap_mem_plan){.pages = img->npages};
  uint64_t rid = o->receiver_image_id;
  if (o->force_full || !rid) return;
  const kafu_mem_delta *d = o->delta;
  if (d && d->base_id && rid == d->base_id && d->new_id == img->id && d->npages == img->npages && d->bits)
    *out = (kafu_snap_mem_plan){true, d->bits, d->base_id, d->base_size, d->ndirty};
  else if (rid == img->id)
    *out = (kafu_snap_mem_plan){true, NULL, img->id, img->size, 0};
}

static int write_memory(enc *e, const kafu_snapshot *s, const kafu_snap_encode_opts *o,
                        const kafu_mem_image *img, kafu_snap_stats *st) {
  uint32_t chunk = o->chunk_size ? o->chunk_size : KAFU_SNAP_DEFAULT_CHUNK;
  uint64_t np = s->memory_size / KAFU_SNAP_PAGE;
  memw m = {.wire_comp = kafu_snap_wire_comp(o->compression),
            .level = o->level,
            .chunk_pages = chunk / KAFU_SNAP_PAGE,
            .mem = s->memory,
            .hashes = img->hashes};

  kafu_snap_mem_plan plan;
  kafu_snap_plan_memory(o, img, &plan);
  const uint64_t *bits = plan.bits;
  bool delta = plan.delta, empty = plan.delta && plan.pages == 0;
  uint64_t base_id = plan.base_id, base_size = plan.base_size, pages = plan.pages;
  st->delta = delta, st->base_id = base_id, st->image_id = img->id;

  /* First pass over the plan: count chunks (the MEMORY section declares them). */
  run *scratch = malloc(m.chunk_pages * sizeof(run));
  if (!scratch) return kafu_err_set(e->err, KAFU_ENOMEM, "snapshot encode: out of memory");
  uint32_t nchunks = 0;
  if (!empty) {
    runit it = {.bits = bits, .np = np};
    while (chunk_fill(&it, m.chunk_pages, scratch)) nchunks++;
  }
  free(scratch);

  sec_begin(e);
  b_u64(e, s->memory_size);
  b_u8(e, delta ? MEM_DELTA : MEM_FULL);
  b_u8(e, (uint8_t)m.wire_comp);
  b_u16(e, 0);
  b_u32(e, KAFU_SNAP_PAGE);
  b_u32(e, chunk);
  b_u64(e, base_id);
  b_u64(e, base_size);
  b_u64(e, img->id);
  b_u64(e, pages);
  b_u32(e, nchunks);
  int rc = sec_end(e, SEC_MEMORY);
  if (rc || !nchunks) return rc;

  /* Threads pay off only with several chunks to share. */
  int threads = o->threads > KAFU_SNAP_MAX_THREADS ? KAFU_SNAP_MAX_THREADS : o->threads;
  /* (measured: starting workers for a 2-chunk delta costs more than it saves) */
  if (m.wire_comp == WIRE_COMP_NONE || nchunks < 2 * (uint32_t)(threads > 0 ? threads : 1)) threads = 0;
  uint32_t nslots = threads > 1 ? 2 * (uint32_t)threads : 1;
  m.out_cap = SNAP_SEC_HDR + 4 + m.chunk_pages * SNAP_RUN_ENTRY + SNAP_TRAILER;
  if (m.wire_comp != WIRE_COMP_NONE)
    m.out_cap += kafu_snap_stored_bound(m.wire_comp, chunk) + m.chunk_pages * 128;
  slot *slots = calloc(nslots, sizeof *slots);
  if (!slots) return kafu_err_set(e->err, KAFU_ENOMEM, "snapshot encode: out of memory for chunk buffers");
  for (uint32_t i = 0; i < nslots && !rc; i++) {
    slots[i].runs = malloc(m.chunk_pages * sizeof(run));
    slots[i].out = malloc(m.out_cap);
    if (!slots[i].runs || !slots[i].out)
      rc = kafu_err_set(e->err, KAFU_ENOMEM, "snapshot encode: out of memory for chunk buffers");
  }
  runit it = {.bits = bits, .np = np};
  if (!rc && threads > 1) {
    rc = write_chunks_parallel(e, &m, &it, nchunks, threads, slots, nslots, st);
  } else if (!rc) {
    compressor c;
    if (compressor_init(&c, m.wire_comp))
      rc = kafu_err_set(e->err, KAFU_ENOMEM, "snapshot encode: out of memory");
    slot *sl = &slots[0];
    while (!rc && (sl->nr = chunk_fill(&it, m.chunk_pages, sl->runs))) {
      if (m.wire_comp == WIRE_COMP_NONE) {
        rc = write_chunk_raw(e, &m, sl->out, sl->runs, sl->nr, st);
      } else {
        sl->rc = compress_chunk(&m, &c, sl);
        rc = emit_slot(e, sl, st);
      }
    }
    compressor_free(&c);
  }
  for (uint32_t i = 0; i < nslots; i++) free(slots[i].runs), free(slots[i].out);
  free(slots);
  st->raw_bytes = st->pages * KAFU_SNAP_PAGE;
  return rc;
}

int kafu_snap_encode(const kafu_snapshot *snap, const kafu_snap_encode_opts *opts, kafu_snap_write_fn write,
                     void *ctx, kafu_snap_stats *stats, kafu_err *err) {
  kafu_snap_encode_opts o = opts ? *opts : (kafu_snap_encode_opts){0};
  kafu_snap_stats st = {0};
  int rc = validate(snap, err);
  if (rc) return rc;
  if (o.compression < KAFU_SNAP_COMP_DEFAULT || o.compression > KAFU_SNAP_COMP_ZSTD)
    return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: unknown compression %d", (int)o.compression);
  if (o.compression == KAFU_SNAP_COMP_ZSTD) {
    if (!o.level) o.level = 1;
    if (o.level < 1 || o.level > ZSTD_maxCLevel())
      return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: zstd level %d out of range 1..%d", o.level,
                          ZSTD_maxCLevel());
  } else if (o.compression != KAFU_SNAP_COMP_NONE) {
    if (!o.level) o.level = 1;
    if (o.level < 1 || o.level > 65537)
      return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: lz4 acceleration %d out of range", o.level);
  }
  if (o.threads < 0)
    return kafu_err_set(err, KAFU_EINVAL, "snapshot encode: negative thread count %d", o.threads);
  if (o.chunk_size && (o.chunk_size % KAFU_SNAP_PAGE || o.chunk_size > KAFU_SNAP_MAX_CHUNK))
    return kafu_err_set(err, KAFU_EINVAL,
                        "snapshot encode: chunk size %u is not a multiple of 4096 <= 16 MiB", o.chunk_size);

  kafu_mem_image tmp;
  kafu_mem_image_init(&tmp);
  const kafu_mem_image *img = o.image;
  if (img) {
    if (!img->id || img->size != snap->memory_size)
      return kafu_err_set(err, KAFU_EINVAL,
                          "snapshot encode: memory image (%" PRIu64
                          " bytes%s) does not describe memory (%" PRIu64
                          " bytes): call kafu_mem_image_update first",
                          img->size, img->id ? "" : ", none", snap->memory_size);
  } else {
    if ((rc = kafu_mem_image_compute(&tmp, snap->memory, snap->memory_size, err))) return rc;
    img = &tmp;
  }

  enc e = {.write = write, .ctx = ctx, .err = err};
  uint8_t hdr[SNAP_FILE_HDR];
  memcpy(hdr, SNAP_MAGIC, SNAP_MAGIC_LEN);
  put16(hdr + 8, KAFU_SNAP_VERSION);
  put16(hdr + 10, SNAP_VERSION_MINOR);
  put32(hdr + 12, 0);
  put64(hdr + 16, XXH3_64bits(hdr, 16));
  st.memory_size = snap->memory_size;
  st.compression = o.compression == KAFU_SNAP_COMP_DEFAULT ? KAFU_SNAP_COMP_LZ4 : o.compression;
  if (!(rc = emit(&e, hdr, sizeof hdr)) && !(rc = write_meta(&e, snap)) &&
      !(rc = write_memory(&e, snap, &o, img, &st))) {
    uint64_t before = e.wire;
    uint32_t nsec = e.nsections;
    sec_begin(&e);
    b_u64(&e, before);
    b_u32(&e, nsec);
    rc = sec_end(&e, SEC_END);
  }
  st.wire_bytes = e.wire;
  if (stats) *stats = st;
  kafu_buf_free(&e.sec);
  kafu_mem_image_free(&tmp);
  return rc;
}

static int buf_write(void *ctx, const void *p, size_t n) {
  return kafu_buf_append(ctx, p, n) ? KAFU_ENOMEM : 0;
}

int kafu_snap_encode_buf(const kafu_snapshot *snap, const kafu_snap_encode_opts *opts, kafu_buf *out,
                         kafu_snap_stats *stats, kafu_err *err) {
  return kafu_snap_encode(snap, opts, buf_write, out, stats, err);
}

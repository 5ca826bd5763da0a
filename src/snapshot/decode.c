/*
 * decode.c — push-based streaming snapshot decoder (docs/snapshot-format.md).
 *
 * The transport calls feed() with whatever bytes arrived, cut anywhere; the
 * decoder is a byte-driven state machine that keeps at most one small
 * metadata section, one run table and one compressed block that straddles a
 * feed boundary. Memory pages go straight to the destination: raw runs are
 * copied from the input as it arrives, compressed blocks are decompressed from
 * the input (or, when split across feeds, from a small holding buffer) directly
 * into place. Each applied page is hashed into the new image.
 *
 * Validation order is chosen so that bad input is rejected as early and as
 * cheaply as possible: magic and version first, then META (module hash) before
 * any memory is asked for, every length and count against the declared sizes
 * and against what the section can still hold, and each section's checksum
 * before the section counts. Memory is modified before its chunk's checksum is
 * checked, so nothing is "accepted" until finish() has seen END, matched every
 * count, and recomputed the image id from the held page hashes plus the
 * received pages. If anything fails after memory was touched, the decode is
 * undone when the caller can give memory back (opts.memory_undo): every page
 * of the held image is copied aside (into opts.undo_area's mapping, kept
 * between decodes) before it is overwritten and put back, the destination
 * returns to its old size, and the held image stays — a refused snapshot
 * changes nothing. A full image's pages that equal the held image's are not
 * overwritten, so not copied either (run_setup). Without memory_undo the held image is cleared, so
 * the next transfer to this node is a full one.
 */
#include <inttypes.h>
#include <lz4.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zstd.h>

#include "snap_internal.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

/* Fuzzing builds skip checksum comparison (as libpng does with CRCs) so the
 * fuzzer reaches the parsers behind them; never defined in real builds. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CHECKSUM_BAD(a, b) ((void)(a), (void)(b), false)
#else
#define CHECKSUM_BAD(a, b) ((a) != (b))
#endif

enum {
  S_FILEHDR,
  S_SECHDR,
  S_BODY,    /* small section payload -> body */
  S_SKIP,    /* unknown optional section payload */
  S_NRUNS,   /* MEMCHUNK: u32 run count */
  S_RUNTAB,  /* MEMCHUNK: run table */
  S_BLOCK,   /* MEMCHUNK: run data */
  S_TRAILER, /* section checksum */
  S_DONE,
};

/* the required order of known sections */
static const uint32_t seq[] = {SEC_META, SEC_STACK, SEC_GLOBALS, SEC_FDS, SEC_MEMORY};
#define NSEQ (sizeof seq / sizeof seq[0])

struct kafu_snap_decoder {
  kafu_snap_decoder_opts o;
  int state;
  int failed; /* error code once failed */
  kafu_err ferr;
  bool finished; /* finish() succeeded */
  uint64_t off;  /* bytes consumed */

  uint8_t hold[SNAP_FILE_HDR]; /* fixed-size pieces (headers, trailer, counts) */
  size_t hold_len;

  /* current section */
  uint32_t sec_type, sec_flags, sec_index;
  uint64_t sec_len, sec_left, sec_off;
  XXH3_state_t *xs;
  bool skipping; /* current section is an unknown optional one */
  kafu_buf body;
  size_t nseq; /* known sections seen, in seq order */
  bool saw_memory;
  bool saw_host; /* the optional HOST section came (once) */

  kafu_snapshot snap;
  bool have_meta, have_run;

  /* memory */
  uint64_t mem_size, npages, base_id, base_size, image_id, decl_pages;
  uint32_t chunk_size, decl_chunks;
  int mode, comp;
  uint8_t *dest;
  bool touched, inspect;
  uint64_t *hashes; /* the new image's page hashes */
  uint64_t next_page, pages_got;
  uint32_t chunks_got;

  /* current chunk */
  uint32_t nruns, run_i, chunk_pages_got;
  uint8_t *runtab;
  size_t runtab_len, runtab_got;
  uint32_t *runpairs; /* on_runs: (first, npages) of the chunk's runs */
  uint32_t runpairs_cap;
  uint64_t blk_got;
  uint32_t blk_hashed; /* pages of the current run already hashed */
  kafu_buf cbuf;       /* a compressed block split across feeds */
  uint8_t *scratch;    /* inspection and RUN_SCRATCH: a run's pages decompressed here first */
  size_t scratch_cap;
  ZSTD_DCtx *zd;

  kafu_snap_stats stats;
  bool image_verified;

  /* undo (opts.memory_undo): the held image's pages this decode overwrote */
  uint64_t undo_pages; /* pages [0, undo_pages) are the held image's: kept before being overwritten */
  uint8_t *undo;       /* their copies, in decode order (mapped before memory(), undo_pages pages) */
  uint64_t undo_used;  /* pages copied */
  uint64_t undo_high;  /* most pages ever copied (what is resident in the undo mapping) */
  uint32_t *undo_runs; /* (first, n) of each copied run */
  size_t undo_nruns, undo_runs_cap;
  const uint64_t *held_hashes; /* the held image's page hashes (undo_pages of them) */
  /* how the current run's pages of the held image are applied (run_setup):
   * RUN_SCRATCH (decoded aside, only changed pages kept and written) or
   * RUN_DIRECT (kept whole, decoded in place); RUN_UNSET before its first bytes */
  enum { RUN_UNSET, RUN_PLAIN, RUN_SCRATCH, RUN_DIRECT } run_mode;
  uint64_t guard_seen, guard_changed; /* held image's pages decoded so far, and how many changed */
  kafu_mem_image held_before; /* held as it was, for an undo after finish() */
  bool swapped;               /* finish() installed the new image in held */
  bool undone;
};

static const char *state_name(int s) {
  switch (s) {
    case S_FILEHDR:
      return "file header";
    case S_SECHDR:
      return "section header";
    case S_BODY:
    case S_SKIP:
      return "section payload";
    case S_NRUNS:
      return "chunk run count";
    case S_RUNTAB:
      return "chunk run table";
    case S_BLOCK:
      return "page data";
    case S_TRAILER:
      return "section checksum";
  }
  return "end";
}

static void discard(kafu_snap_decoder *d);

/* Record a failure (sticky). Messages name the section, its index and offset. */
__attribute__((format(printf, 3, 4))) static int fail(kafu_snap_decoder *d, int code, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (d->state == S_FILEHDR || d->state == S_DONE)
    kafu_err_set(&d->ferr, code, "snapshot: %s", msg);
  else
    kafu_err_set(&d->ferr, code, "snapshot: section %s (#%u at offset %" PRIu64 "): %s",
                 kafu_snap_section_name(d->sec_type), d->sec_index, d->sec_off, msg);
  d->failed = code;
  discard(d);
  return code;
}

/* Put back what this decode changed: the held image's pages it overwrote, the
 * held image itself (after finish()), and the destination's size. */
static void undo(kafu_snap_decoder *d) {
  if (d->swapped) {
    uint64_t *mine = d->o.held->hashes;
    *d->o.held = d->held_before;
    d->hashes = mine;
    d->swapped = false;
  }
  if (!d->touched || d->undone) return;
  d->undone = true;
  uint64_t off = 0;
  for (size_t i = 0; i < d->undo_nruns; i++) {
    uint64_t first = d->undo_runs[2 * i], n = d->undo_runs[2 * i + 1];
    memcpy(d->dest + first * KAFU_SNAP_PAGE, d->undo + off * KAFU_SNAP_PAGE, n * KAFU_SNAP_PAGE);
    off += n;
  }
  d->undo_nruns = 0;
  d->undo_used = 0;
  d->o.memory_undo(d->o.memory_ctx);
}

/* The destination no longer holds what it held: undo, or forget the held image. */
static void discard(kafu_snap_decoder *d) {
  if (!d->touched) return;
  if (d->o.memory_undo)
    undo(d);
  else if (d->o.held)
    kafu_mem_image_clear(d->o.held); /* memory no longer equals it */
}

static int copy_err(kafu_snap_decoder *d, kafu_err *err) {
  if (err) *err = d->ferr;
  return d->failed;
}

int kafu_snap_decoder_new(kafu_snap_decoder **out, const kafu_snap_decoder_opts *opts, kafu_err *err) {
  kafu_snap_decoder *d = calloc(1, sizeof *d);
  if (!d || !(d->xs = XXH3_createState())) {
    free(d);
    return kafu_err_set(err, KAFU_ENOMEM, "snapshot: out of memory for decoder");
  }
  if (opts) d->o = *opts;
  if (!d->o.max_memory || d->o.max_memory > KAFU_SNAP_MAX_MEMORY) d->o.max_memory = KAFU_SNAP_MAX_MEMORY;
  d->inspect = !d->o.memory;
  *out = d;
  return 0;
}

void kafu_snap_undo_area_free(kafu_snap_undo_area *a) {
  if (a && a->p) munmap(a->p, a->pages * KAFU_SNAP_PAGE);
  if (a) free(a->scratch), a->p = a->scratch = NULL, a->pages = 0, a->scratch_cap = 0;
}

/* Room for undo_pages copies: opts.undo_area's mapping (grown if needed)
 * unless another decoder uses it, else a mapping of our own. */
static int undo_map(kafu_snap_decoder *d) {
  kafu_snap_undo_area *a = d->o.undo_area;
  if (a && a->busy) a = d->o.undo_area = NULL; /* another decoder's */
  if (a && a->p && a->pages >= d->undo_pages) {
    a->busy = true;
    d->undo = a->p;
    return 0;
  }
  void *p = mmap(NULL, d->undo_pages * KAFU_SNAP_PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    d->o.undo_area = NULL;
    return -1;
  }
  d->undo = p;
  if (a) {
    kafu_snap_undo_area_free(a);
    a->p = p, a->pages = d->undo_pages, a->busy = true;
  }
  return 0;
}

void kafu_snap_decoder_free(kafu_snap_decoder *d) {
  if (!d) return;
  if (!d->finished) discard(d);
  if (d->undo && d->o.undo_area && d->undo == d->o.undo_area->p) {
    /* kept for the next decode; what a big one made resident goes back */
    if (d->undo_high > KAFU_SNAP_UNDO_KEEP)
      madvise(d->undo + (size_t)KAFU_SNAP_UNDO_KEEP * KAFU_SNAP_PAGE,
              (size_t)(d->undo_high - KAFU_SNAP_UNDO_KEEP) * KAFU_SNAP_PAGE, MADV_DONTNEED);
    d->o.undo_area->busy = false;
  } else if (d->undo) {
    munmap(d->undo, d->undo_pages * KAFU_SNAP_PAGE);
  }
  free(d->undo_runs);
  kafu_snapshot_clear(&d->snap);
  XXH3_freeState(d->xs);
  kafu_buf_free(&d->body);
  kafu_buf_free(&d->cbuf);
  free(d->hashes);
  free(d->runtab);
  free(d->runpairs);
  free(d->scratch);
  ZSTD_freeDCtx(d->zd);
  free(d);
}

/* ---- small-section parsing (after the checksum matched) ----------------------- */

typedef struct rd {
  kafu_snap_decoder *d;
  const uint8_t *p;
  size_t n, pos;
} rd;

static bool need(rd *r, size_t k, const char *what) {
  if (r->n - r->pos >= k) return true;
  fail(r->d, KAFU_EFORMAT, "%s: truncated (needs %zu bytes, %zu left)", what, k, r->n - r->pos);
  return false;
}
static bool r_u8(rd *r, uint8_t *v, const char *w) { return need(r, 1, w) && (*v = r->p[r->pos++], true); }
static bool r_u16(rd *r, uint16_t *v, const char *w) {
  return need(r, 2, w) && (*v = get16(r->p + r->pos), r->pos += 2, true);
}
static bool r_u32(rd *r, uint32_t *v, const char *w) {
  return need(r, 4, w) && (*v = get32(r->p + r->pos), r->pos += 4, true);
}
static bool r_u64(rd *r, uint64_t *v, const char *w) {
  return need(r, 8, w) && (*v = get64(r->p + r->pos), r->pos += 8, true);
}
static bool r_str(rd *r, char **out, bool nullable, const char *w) {
  uint32_t n;
  if (!r_u32(r, &n, w)) return false;
  if (n == SNAP_NULL_STR) {
    if (nullable) return *out = NULL, true;
    fail(r->d, KAFU_EFORMAT, "%s: missing (null) string", w);
    return false;
  }
  if (n > KAFU_SNAP_MAX_NAME) {
    fail(r->d, KAFU_EFORMAT, "%s: length %u exceeds %u", w, n, KAFU_SNAP_MAX_NAME);
    return false;
  }
  if (!need(r, n, w)) return false;
  if (memchr(r->p + r->pos, 0, n)) {
    fail(r->d, KAFU_EFORMAT, "%s: contains a NUL byte", w);
    return false;
  }
  char *s = malloc((size_t)n + 1);
  if (!s) return fail(r->d, KAFU_ENOMEM, "out of memory"), false;
  memcpy(s, r->p + r->pos, n);
  s[n] = 0;
  r->pos += n;
  *out = s;
  return true;
}
/* A count of entries of at least min_size bytes each must fit what is left. */
static bool r_count(rd *r, uint32_t *n, size_t min_size, const char *w) {
  if (!r_u32(r, n, w)) return false;
  if ((uint64_t)*n * min_size > r->n - r->pos) {
    fail(r->d, KAFU_EFORMAT, "%s %u exceeds what the section holds (%zu bytes left, >= %zu per entry)", w, *n,
         r->n - r->pos, min_size);
    return false;
  }
  return true;
}
static int r_end(rd *r) {
  if (r->d->failed) return r->d->failed;
  if (r->pos != r->n) return fail(r->d, KAFU_EFORMAT, "%zu unexpected bytes at the end", r->n - r->pos);
  return 0;
}

static int parse_meta(kafu_snap_decoder *d, rd *r) {
  kafu_snapshot *s = &d->snap;
  if (!need(r, KAFU_SHA256_LEN, "module sha256")) return d->failed;
  memcpy(s->module_sha256, r->p, KAFU_SHA256_LEN);
  r->pos += KAFU_SHA256_LEN;
  if (!r_str(r, &s->source_node, true, "source node") || !r_str(r, &s->target_node, false, "target node") ||
      !r_u32(r, &s->resume_fn_id, "resume fn id") || !r_u8(r, &s->resume_kind, "resume kind"))
    return d->failed;
  if (r_end(r)) return d->failed;
  if (!s->target_node[0]) return fail(d, KAFU_EFORMAT, "empty target node");
  if (s->resume_kind > KAFU_MIG_EXIT)
    return fail(d, KAFU_EFORMAT, "resume kind %u is not enter/exit", s->resume_kind);
  s->version = KAFU_SNAP_VERSION;
  const uint8_t *want = d->o.expected_module_sha256;
  if (want && memcmp(want, s->module_sha256, KAFU_SHA256_LEN)) {
    char got[65], exp[65];
    kafu_hex(s->module_sha256, KAFU_SHA256_LEN, got);
    kafu_hex(want, KAFU_SHA256_LEN, exp);
    return fail(d, KAFU_EMODULE, "snapshot is of module sha256 %s but this node runs %s", got, exp);
  }
  d->have_meta = true;
  if (d->o.on_meta) {
    kafu_err e = {0};
    int rc = d->o.on_meta(d->o.on_meta_ctx, s, &e);
    if (rc < 0) return fail(d, rc, "rejected: %s", e.msg[0] ? e.msg : "by the receiver");
  }
  return 0;
}

static int parse_stack(kafu_snap_decoder *d, rd *r) {
  kafu_snapshot *s = &d->snap;
  uint32_t n;
  if (!r_count(r, &n, 9, "frame count")) return d->failed;
  if (n && !(s->frames = calloc(n, sizeof *s->frames))) return fail(d, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    kafu_snap_frame *f = &s->frames[i];
    uint8_t mig;
    if (!r_u32(r, &f->fn_id, "frame fn id") || !r_u8(r, &mig, "frame migrated flag")) return d->failed;
    if (mig > 1) return fail(d, KAFU_EFORMAT, "frame %u: migrated flag %u is not 0/1", i, mig);
    f->migrated = mig;
    s->nframes = i + 1; /* owned from here on */
    if (!r_str(r, &f->caller_node, true, "frame caller node")) return d->failed;
  }
  return r_end(r);
}

static int parse_globals(kafu_snap_decoder *d, rd *r) {
  kafu_snapshot *s = &d->snap;
  uint32_t n;
  if (!r_count(r, &n, 13, "global count")) return d->failed;
  if (n && !(s->globals = calloc(n, sizeof *s->globals))) return fail(d, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    kafu_snap_global *g = &s->globals[i];
    s->nglobals = i + 1;
    if (!r_str(r, &g->name, false, "global name") || !r_u8(r, &g->type, "global type") ||
        !r_u64(r, &g->bits, "global value"))
      return d->failed;
    if (g->type > KAFU_SNAP_VAL_F64)
      return fail(d, KAFU_EFORMAT, "global %s: invalid type %u", g->name, g->type);
    if ((g->type == KAFU_SNAP_VAL_I32 || g->type == KAFU_SNAP_VAL_F32) && g->bits >> 32)
      return fail(d, KAFU_EFORMAT, "global %s: 32-bit value with high bits set", g->name);
  }
  return r_end(r);
}

#define FD_ENTRY_MIN 48 /* fixed fields of an fd entry with two empty strings */

static int parse_fds(kafu_snap_decoder *d, rd *r) {
  kafu_snapshot *s = &d->snap;
  uint32_t n;
  if (!r_count(r, &n, 4 + FD_ENTRY_MIN, "fd count")) return d->failed;
  if (n && !(s->fds = calloc(n, sizeof *s->fds))) return fail(d, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    kafu_fd_entry *f = &s->fds[i];
    uint32_t elen;
    if (!r_u32(r, &elen, "fd entry length")) return d->failed;
    if (elen < FD_ENTRY_MIN || elen > r->n - r->pos)
      return fail(d, KAFU_EFORMAT, "fd entry %u: length %u out of range [%d, %zu]", i, elen, FD_ENTRY_MIN,
                  r->n - r->pos);
    rd er = {.d = d, .p = r->p + r->pos, .n = elen};
    s->nfds = i + 1;
    if (!r_u32(&er, &f->fd, "fd number") || !r_u8(&er, &f->kind, "fd kind") ||
        !r_u8(&er, &f->filetype, "fd filetype") || !r_str(&er, &f->preopen, true, "fd preopen") ||
        !r_str(&er, &f->path, true, "fd path") || !r_u32(&er, &f->oflags, "fd oflags") ||
        !r_u64(&er, &f->rights_base, "fd rights") ||
        !r_u64(&er, &f->rights_inheriting, "fd inheriting rights") || !r_u16(&er, &f->fdflags, "fd flags") ||
        !r_u64(&er, &f->offset, "fd offset") || !r_u32(&er, &f->index, "fd index"))
      return d->failed;
    if (er.pos < er.n) { /* minor 2: the home of a socket or stdin */
      if (!r_str(&er, &f->home, true, "fd home") || !r_u64(&er, &f->home_gen, "fd home generation") ||
          !r_u64(&er, &f->handle, "fd handle") || !r_u32(&er, &f->npending, "fd read-ahead length"))
        return d->failed;
      if (f->npending > KAFU_WASI_READAHEAD_MAX)
        return fail(d, KAFU_EFORMAT, "fd entry %u: %u read-ahead bytes exceed %u", i, f->npending,
                    KAFU_WASI_READAHEAD_MAX);
      if (f->npending) {
        if (!need(&er, f->npending, "fd read-ahead bytes")) return d->failed;
        if (!(f->pending = malloc(f->npending))) return fail(d, KAFU_ENOMEM, "out of memory");
        memcpy(f->pending, er.p + er.pos, f->npending);
        er.pos += f->npending;
      }
    }
    /* bytes after the known fields belong to a later minor version: skipped */
    r->pos += elen;
    if (i && f->fd <= s->fds[i - 1].fd)
      return fail(d, KAFU_EFORMAT, "fd entry %u: fd %u not after fd %u (table must be sorted, unique)", i,
                  f->fd, s->fds[i - 1].fd);
  }
  return r_end(r);
}

static int parse_host(kafu_snap_decoder *d, rd *r) {
  kafu_snapshot *s = &d->snap;
  uint32_t n;
  if (!r_count(r, &n, 4 + 8, "host state count")) return d->failed;
  if (n && !(s->host = calloc(n, sizeof *s->host))) return fail(d, KAFU_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    kafu_snap_blob *b = &s->host[i];
    s->nhost = i + 1;
    if (!r_str(r, &b->name, false, "host state name") || !r_u64(r, &b->len, "host state length"))
      return d->failed;
    if (b->len > r->n - r->pos)
      return fail(d, KAFU_EFORMAT, "host state '%s': length %" PRIu64 " exceeds the section", b->name,
                  b->len);
    uint8_t *copy = malloc(b->len ? b->len : 1);
    if (!copy) return fail(d, KAFU_ENOMEM, "out of memory for host state '%s'", b->name);
    memcpy(copy, r->p + r->pos, b->len);
    b->data = copy;
    r->pos += b->len;
  }
  return r_end(r);
}

static int parse_memory(kafu_snap_decoder *d, rd *r) {
  uint8_t mode, comp;
  uint16_t rsv;
  uint32_t psize;
  if (!r_u64(r, &d->mem_size, "memory size") || !r_u8(r, &mode, "memory mode") ||
      !r_u8(r, &comp, "compression") || !r_u16(r, &rsv, "reserved") || !r_u32(r, &psize, "page size") ||
      !r_u32(r, &d->chunk_size, "chunk size") || !r_u64(r, &d->base_id, "baseline id") ||
      !r_u64(r, &d->base_size, "baseline size") || !r_u64(r, &d->image_id, "image id") ||
      !r_u64(r, &d->decl_pages, "page count") || !r_u32(r, &d->decl_chunks, "chunk count") || r_end(r))
    return d->failed;
  uint64_t size = d->mem_size;
  if (size % KAFU_WASM_PAGE)
    return fail(d, KAFU_EFORMAT, "memory size %" PRIu64 " is not a multiple of 64 KiB", size);
  if (size > d->o.max_memory)
    return fail(d, KAFU_EFORMAT, "memory size %" PRIu64 " exceeds the limit %" PRIu64, size, d->o.max_memory);
  if (mode > MEM_DELTA) return fail(d, KAFU_EFORMAT, "unknown memory mode %u", mode);
  if (comp > WIRE_COMP_ZSTD) return fail(d, KAFU_EUNSUP, "unknown compression %u", comp);
  if (rsv) return fail(d, KAFU_EFORMAT, "reserved field is %u, not 0", rsv);
  if (psize != KAFU_SNAP_PAGE)
    return fail(d, KAFU_EUNSUP, "page size %u (only %u is supported)", psize, KAFU_SNAP_PAGE);
  if (!d->chunk_size || d->chunk_size % KAFU_SNAP_PAGE || d->chunk_size > KAFU_SNAP_MAX_CHUNK)
    return fail(d, KAFU_EFORMAT, "chunk size %u is not a multiple of 4096 in [4096, %u]", d->chunk_size,
                KAFU_SNAP_MAX_CHUNK);
  if (!d->image_id) return fail(d, KAFU_EFORMAT, "image id is 0");
  d->mode = mode, d->comp = comp;
  uint64_t np = d->npages = size / KAFU_SNAP_PAGE;
  if (mode == MEM_FULL) {
    if (d->base_id || d->base_size) return fail(d, KAFU_EFORMAT, "full image with a baseline");
    if (d->decl_pages != np)
      return fail(d, KAFU_EFORMAT, "full image of %" PRIu64 " pages declares %" PRIu64 " pages", np,
                  d->decl_pages);
  } else {
    if (!d->base_id) return fail(d, KAFU_EFORMAT, "delta without a baseline id");
    if (d->base_size % KAFU_SNAP_PAGE || d->base_size > d->o.max_memory)
      return fail(d, KAFU_EFORMAT, "baseline size %" PRIu64 " invalid", d->base_size);
    if (d->base_size > size) /* wasm memory never shrinks */
      return fail(d, KAFU_EFORMAT,
                  "delta memory of %" PRIu64 " bytes is smaller than its baseline (%" PRIu64 ")", size,
                  d->base_size);
    if (d->decl_pages > np)
      return fail(d, KAFU_EFORMAT, "delta declares %" PRIu64 " pages, memory has %" PRIu64, d->decl_pages,
                  np);
  }
  uint64_t cp = d->chunk_size / KAFU_SNAP_PAGE;
  if (d->decl_chunks > d->decl_pages || (uint64_t)d->decl_chunks * cp < d->decl_pages)
    return fail(d, KAFU_EFORMAT, "%u chunks cannot carry %" PRIu64 " pages of at most %" PRIu64 " per chunk",
                d->decl_chunks, d->decl_pages, cp);

  /* A delta must apply to exactly the image held here (docs/snapshot-format.md,
   * "Memory images and delta correctness"). */
  const kafu_mem_image *held = d->o.held;
  if (mode == MEM_DELTA && !d->inspect) {
    char want[17], have[17];
    kafu_mem_image_id_str(d->base_id, want);
    kafu_mem_image_id_str(held ? held->id : 0, have);
    if (!held || !held->id || held->id != d->base_id || held->size != d->base_size)
      return fail(d, KAFU_EBASELINE,
                  "delta against memory image %s (%" PRIu64 " bytes) but this node holds %s (%" PRIu64
                  " bytes): a full transfer is needed",
                  want, d->base_size, held && held->id ? have : "none", held && held->id ? held->size : 0);
  }
  if (np && !(d->hashes = malloc(np * sizeof(uint64_t))))
    return fail(d, KAFU_ENOMEM, "out of memory for page hashes");
  if (mode == MEM_DELTA && !d->inspect) {
    uint64_t keep = held->npages < np ? held->npages : np, zh = kafu_snap_zero_page_hash();
    if (keep) memcpy(d->hashes, held->hashes, keep * sizeof(uint64_t));
    for (uint64_t i = keep; i < np; i++) d->hashes[i] = zh;
  }
  d->saw_memory = true;
  d->stats.memory_size = size;
  d->stats.delta = mode == MEM_DELTA;
  d->stats.compression = kafu_snap_api_comp(comp);
  d->stats.base_id = d->base_id;
  d->stats.image_id = d->image_id;
  if (d->o.on_state) {
    kafu_err e = {0};
    int rc = d->o.on_state(d->o.on_state_ctx, &d->snap, &e);
    if (rc < 0) return fail(d, rc, "rejected: %s", e.msg[0] ? e.msg : "by the receiver");
  }
  if (d->o.memory && size) {
    kafu_err e = {0};
    /* with undo, the held image's pages are copied aside before they are
     * overwritten (a node without an image has nothing worth keeping); the
     * room for them is mapped now, so that a failure changes nothing */
    if (d->o.memory_undo && held && held->id) {
      d->undo_pages = held->npages < np ? held->npages : np;
      d->held_hashes = held->hashes;
      if (d->undo_pages && undo_map(d))
        return fail(d, KAFU_ENOMEM, "out of memory for the undo copy of %" PRIu64 " pages", d->undo_pages);
    }
    d->touched = true; /* the callback may already have grown/changed memory */
    d->dest = d->o.memory(d->o.memory_ctx, size, &e);
    if (!d->dest)
      return fail(d, e.code < 0 ? e.code : KAFU_ENOMEM, "destination memory of %" PRIu64 " bytes: %s", size,
                  e.msg[0] ? e.msg : "refused");
  }
  return 0;
}

static int parse_end(kafu_snap_decoder *d, rd *r) {
  uint64_t before;
  uint32_t nsec;
  if (!r_u64(r, &before, "END offset") || !r_u32(r, &nsec, "END section count") || r_end(r)) return d->failed;
  if (before != d->sec_off)
    return fail(d, KAFU_EFORMAT, "END records offset %" PRIu64 ", found at %" PRIu64, before, d->sec_off);
  if (nsec != d->sec_index)
    return fail(d, KAFU_EFORMAT, "END records %u sections, saw %u", nsec, d->sec_index);
  if (d->chunks_got != d->decl_chunks || d->pages_got != d->decl_pages)
    return fail(d, KAFU_EFORMAT, "memory incomplete: %u of %u chunks, %" PRIu64 " of %" PRIu64 " pages",
                d->chunks_got, d->decl_chunks, d->pages_got, d->decl_pages);
  return 0;
}

static int parse_run(kafu_snap_decoder *d, rd *r) {
  kafu_snapshot *s = &d->snap;
  if (!r_u64(r, &s->run_id, "run id") || !r_u64(r, &s->hop, "hop") || !r_str(r, &s->sender, true, "sender") ||
      !r_u64(r, &s->sender_incarnation, "sender incarnation"))
    return d->failed;
  if (r_end(r)) return d->failed;
  if (!s->run_id) return fail(d, KAFU_EFORMAT, "run id 0");
  d->have_run = true;
  return 0;
}

static int parse_body(kafu_snap_decoder *d) {
  rd r = {.d = d, .p = d->body.data, .n = d->body.len};
  switch (d->sec_type) {
    case SEC_META:
      return parse_meta(d, &r);
    case SEC_RUN:
      return parse_run(d, &r);
    case SEC_STACK:
      return parse_stack(d, &r);
    case SEC_GLOBALS:
      return parse_globals(d, &r);
    case SEC_FDS:
      return parse_fds(d, &r);
    case SEC_HOST:
      return parse_host(d, &r);
    case SEC_MEMORY:
      return parse_memory(d, &r);
    case SEC_END:
      return parse_end(d, &r);
  }
  return 0;
}

/* ---- section headers ----------------------------------------------------------- */

static uint64_t chunk_len_bound(const kafu_snap_decoder *d) {
  uint64_t cp = d->chunk_size / KAFU_SNAP_PAGE;
  return 4 + cp * SNAP_RUN_ENTRY + kafu_snap_stored_bound(d->comp, d->chunk_size) + cp * 128;
}

static int section_header(kafu_snap_decoder *d, const uint8_t *h) {
  d->sec_type = get32(h);
  d->sec_flags = get32(h + 4);
  d->sec_len = d->sec_left = get64(h + 8);
  XXH3_64bits_reset(d->xs);
  XXH3_64bits_update(d->xs, h, SNAP_SEC_HDR);
  uint32_t t = d->sec_type;
  bool known = t == SEC_MEMCHUNK || t == SEC_END || t == SEC_HOST;
  for (size_t i = 0; i < NSEQ; i++) known |= seq[i] == t;
  if (t == SEC_RUN) { /* known since 1.1; flagged OPTIONAL for 1.0 readers; only right after META */
    if (d->sec_flags != SEC_FLAG_OPTIONAL)
      return fail(d, KAFU_EFORMAT, "flags 0x%x on the RUN section (must be 0x%x)", d->sec_flags,
                  SEC_FLAG_OPTIONAL);
    if (d->nseq != 1 || d->have_run) return fail(d, KAFU_EFORMAT, "RUN section not right after META");
    if (d->sec_len > SNAP_MAX_META_SECTION)
      return fail(d, KAFU_EFORMAT, "length %" PRIu64 " exceeds %u", d->sec_len, SNAP_MAX_META_SECTION);
    d->body.len = 0;
    d->state = d->sec_len ? S_BODY : S_TRAILER;
    return 0;
  }
  if (!known) {
    if (!(d->sec_flags & SEC_FLAG_OPTIONAL))
      return fail(d, KAFU_EUNSUP, "unknown required section type %u (written by a newer kafu?)", t);
    d->skipping = true;
    d->state = d->sec_len ? S_SKIP : S_TRAILER;
    return 0;
  }
  if (d->sec_flags) return fail(d, KAFU_EFORMAT, "flags 0x%x set on a known section", d->sec_flags);
  if (t == SEC_HOST) {
    /* optional, once, right after FDS */
    if (d->nseq != NSEQ - 1 || d->saw_host)
      return fail(d, KAFU_EFORMAT, "HOST section out of order or repeated");
    d->saw_host = true;
    if (d->sec_len > KAFU_SNAP_MAX_HOST)
      return fail(d, KAFU_EFORMAT, "HOST length %" PRIu64 " exceeds %llu", d->sec_len, KAFU_SNAP_MAX_HOST);
    d->body.len = 0;
    d->state = d->sec_len ? S_BODY : S_TRAILER;
    return 0;
  }
  if (d->nseq < NSEQ) {
    if (t != seq[d->nseq])
      return fail(d, KAFU_EFORMAT, "out of order: expected section %s", kafu_snap_section_name(seq[d->nseq]));
    d->nseq++;
  } else if (t == SEC_MEMCHUNK) {
    if (d->chunks_got >= d->decl_chunks)
      return fail(d, KAFU_EFORMAT, "more chunks than the %u declared", d->decl_chunks);
    if (d->sec_len < 4 + SNAP_RUN_ENTRY || d->sec_len > chunk_len_bound(d))
      return fail(d, KAFU_EFORMAT, "length %" PRIu64 " out of range [16, %" PRIu64 "]", d->sec_len,
                  chunk_len_bound(d));
    d->chunk_pages_got = 0;
    d->state = S_NRUNS;
    return 0;
  } else if (t != SEC_END) {
    return fail(d, KAFU_EFORMAT, "duplicate or out-of-order section");
  }
  uint64_t want = t == SEC_MEMORY ? SNAP_MEMORY_PAYLOAD : t == SEC_END ? 12 : 0;
  if (want && d->sec_len != want)
    return fail(d, KAFU_EFORMAT, "length %" PRIu64 " (must be %" PRIu64 ")", d->sec_len, want);
  if (d->sec_len > SNAP_MAX_META_SECTION)
    return fail(d, KAFU_EFORMAT, "length %" PRIu64 " exceeds %u", d->sec_len, SNAP_MAX_META_SECTION);
  d->body.len = 0;
  d->state = d->sec_len ? S_BODY : S_TRAILER;
  return 0;
}

/* ---- memory chunks ----------------------------------------------------------------- */

static uint32_t run_first(const kafu_snap_decoder *d, uint32_t i) {
  return get32(d->runtab + (size_t)i * SNAP_RUN_ENTRY);
}
static uint32_t run_n(const kafu_snap_decoder *d, uint32_t i) {
  return get32(d->runtab + (size_t)i * SNAP_RUN_ENTRY + 4);
}
static uint32_t run_stored(const kafu_snap_decoder *d, uint32_t i) {
  return get32(d->runtab + (size_t)i * SNAP_RUN_ENTRY + 8) & 0x7fffffffu;
}
static bool run_raw(const kafu_snap_decoder *d, uint32_t i) {
  return d->comp == WIRE_COMP_NONE || (get32(d->runtab + (size_t)i * SNAP_RUN_ENTRY + 8) & 0x80000000u);
}

static int check_runs(kafu_snap_decoder *d) {
  uint64_t cp = d->chunk_size / KAFU_SNAP_PAGE, pages = 0, bytes = 4 + (uint64_t)d->nruns * SNAP_RUN_ENTRY;
  for (uint32_t i = 0; i < d->nruns; i++) {
    uint64_t first = run_first(d, i), n = run_n(d, i), stored = run_stored(d, i);
    uint32_t flagged = get32(d->runtab + (size_t)i * SNAP_RUN_ENTRY + 8) >> 31;
    if (!n) return fail(d, KAFU_EFORMAT, "run %u is empty", i);
    if (first < d->next_page)
      return fail(d, KAFU_EFORMAT, "run %u at page %" PRIu64 " overlaps or precedes page %" PRIu64, i, first,
                  d->next_page);
    if (first + n > d->npages)
      return fail(d, KAFU_EFORMAT,
                  "run %u (pages %" PRIu64 "..%" PRIu64 ") past the memory size (%" PRIu64 " pages)", i,
                  first, first + n - 1, d->npages);
    pages += n;
    if (pages > cp) return fail(d, KAFU_EFORMAT, "runs exceed the chunk size (%" PRIu64 " pages)", cp);
    uint64_t raw = n * KAFU_SNAP_PAGE;
    if (d->comp == WIRE_COMP_NONE ? (flagged || stored != raw)
        : flagged                 ? stored != raw
                                  : (!stored || stored > kafu_snap_stored_bound(d->comp, raw)))
      return fail(d, KAFU_EFORMAT, "run %u: stored length %" PRIu64 " invalid for %" PRIu64 " raw bytes", i,
                  stored, raw);
    bytes += stored;
    d->next_page = first + n;
  }
  if (bytes != d->sec_len)
    return fail(d, KAFU_EFORMAT, "run table accounts for %" PRIu64 " bytes, section has %" PRIu64, bytes,
                d->sec_len);
  if (d->pages_got + pages > d->decl_pages)
    return fail(d, KAFU_EFORMAT, "more pages than the %" PRIu64 " declared", d->decl_pages);
  return 0;
}

/* Keep pages [first, first + n) of the destination (the held image's) in the
 * undo mapping before they are overwritten: each at most once (runs ascend),
 * so undo_pages pages are room enough. */
static int keep_pages(kafu_snap_decoder *d, uint64_t first, uint64_t n) {
  size_t r = d->undo_nruns;
  if (r && d->undo_runs[2 * r - 2] + d->undo_runs[2 * r - 1] == first) {
    d->undo_runs[2 * r - 1] += (uint32_t)n;
  } else {
    if (r == d->undo_runs_cap) {
      size_t cap = r ? 2 * r : 64;
      uint32_t *p = realloc(d->undo_runs, cap * 2 * sizeof *p);
      if (!p) return fail(d, KAFU_ENOMEM, "out of memory");
      d->undo_runs = p, d->undo_runs_cap = cap;
    }
    d->undo_runs[2 * r] = (uint32_t)first;
    d->undo_runs[2 * r + 1] = (uint32_t)n;
    d->undo_nruns++;
  }
  memcpy(d->undo + d->undo_used * KAFU_SNAP_PAGE, d->dest + first * KAFU_SNAP_PAGE, n * KAFU_SNAP_PAGE);
  d->undo_used += n;
  if (d->undo_used > d->undo_high) d->undo_high = d->undo_used;
  return 0;
}

/* Tell opts.on_runs which pages this chunk is about to write. */
static int announce_runs(kafu_snap_decoder *d) {
  if (d->nruns > d->runpairs_cap) {
    uint32_t *p = realloc(d->runpairs, (size_t)d->nruns * 2 * sizeof *p);
    if (!p) return fail(d, KAFU_ENOMEM, "out of memory");
    d->runpairs = p, d->runpairs_cap = d->nruns;
  }
  for (uint32_t i = 0; i < d->nruns; i++) {
    d->runpairs[2 * i] = run_first(d, i);
    d->runpairs[2 * i + 1] = run_n(d, i);
  }
  d->o.on_runs(d->o.on_runs_ctx, d->runpairs, d->nruns);
  return 0;
}

/* Before run i's first bytes: how its pages are applied. Pages past the held
 * image go straight to the destination (RUN_PLAIN). A run over the held
 * image's pages (with memory_undo) is either
 *   RUN_SCRATCH: decoded into scratch and hashed; a page whose hash equals
 *     the held image's is not written at all, a changed one is kept in the
 *     undo mapping and then copied over (apply_page). Cheap when most pages
 *     are unchanged (a full image of a memory that changed a little).
 *   RUN_DIRECT: the run's old pages are kept first, then it is decoded in
 *     place. Cheap when most pages change: one copy per page instead of two.
 * A delta carries changed pages only: direct. A full image starts with
 * scratch and turns direct while more than half of the held image's pages
 * decoded so far changed (counted in both modes, so it turns back). */
static int run_setup(kafu_snap_decoder *d, uint32_t i) {
  uint64_t first = run_first(d, i), n = run_n(d, i);
  if (!d->dest || first >= d->undo_pages) {
    d->run_mode = RUN_PLAIN;
    return 0;
  }
  if (d->mode == MEM_DELTA || d->guard_changed * 2 > d->guard_seen) {
    d->run_mode = RUN_DIRECT;
    return keep_pages(d, first, first + n <= d->undo_pages ? n : d->undo_pages - first);
  }
  d->run_mode = RUN_SCRATCH;
  return 0;
}

/* Where run i's pages are decoded: the destination, or scratch when
 * inspecting or RUN_SCRATCH. NULL when out of memory. */
static uint8_t *run_dst(kafu_snap_decoder *d, uint32_t i) {
  size_t raw = (size_t)run_n(d, i) * KAFU_SNAP_PAGE;
  if (d->dest && d->run_mode != RUN_SCRATCH) return d->dest + (size_t)run_first(d, i) * KAFU_SNAP_PAGE;
  /* the undo area's scratch when this decoder has the area (kept between
   * decodes: no page faults per decode), else its own */
  kafu_snap_undo_area *a = d->undo && d->o.undo_area && d->undo == d->o.undo_area->p ? d->o.undo_area : NULL;
  uint8_t **sp = a ? &a->scratch : &d->scratch;
  size_t *cap = a ? &a->scratch_cap : &d->scratch_cap;
  if (raw > *cap) {
    uint8_t *p = realloc(*sp, raw);
    if (!p) return NULL;
    *sp = p, *cap = raw;
  }
  return *sp;
}

/* Page pg of a RUN_SCRATCH run, with hash h, decoded at src: the destination
 * holds the held image there. Same content (same hash): nothing to write.
 * Else the old page is kept, then overwritten. */
static int apply_page(kafu_snap_decoder *d, uint64_t pg, const uint8_t *src, uint64_t h) {
  if (pg < d->undo_pages) {
    d->guard_seen++;
    if (d->held_hashes[pg] == h) return 0;
    d->guard_changed++;
    if (keep_pages(d, pg, 1)) return d->failed;
  }
  memcpy(d->dest + pg * KAFU_SNAP_PAGE, src, KAFU_SNAP_PAGE);
  return 0;
}

/* Hash the run's pages [d->blk_hashed, upto), decoded at dst, into the new
 * image; a RUN_SCRATCH run's pages then go to the destination. */
static int settle_pages(kafu_snap_decoder *d, const uint8_t *dst, uint32_t upto) {
  uint32_t first = run_first(d, d->run_i);
  for (uint32_t k = d->blk_hashed; k < upto; k++) {
    const uint8_t *src = dst + (size_t)k * KAFU_SNAP_PAGE;
    uint64_t pg = (uint64_t)first + k, h = d->hashes[pg] = kafu_mem_page_hash(src);
    if (d->run_mode == RUN_SCRATCH) {
      if (apply_page(d, pg, src, h)) return d->failed;
    } else if (d->run_mode == RUN_DIRECT && pg < d->undo_pages) {
      d->guard_seen++;
      d->guard_changed += d->held_hashes[pg] != h;
    }
  }
  d->blk_hashed = upto;
  return 0;
}

static int block_done(kafu_snap_decoder *d, uint8_t *dst) {
  uint32_t n = run_n(d, d->run_i);
  if (settle_pages(d, dst, n)) return d->failed;
  /* the chunk checksum covers the decoded pages' hashes, not the stored bytes */
  XXH3_64bits_update(d->xs, d->hashes + run_first(d, d->run_i), (size_t)n * sizeof(uint64_t));
  d->pages_got += n;
  d->blk_got = 0;
  d->blk_hashed = 0;
  d->cbuf.len = 0;
  d->run_mode = RUN_UNSET;
  if (++d->run_i == d->nruns) d->state = S_TRAILER;
  return 0;
}

static int decompress(kafu_snap_decoder *d, const uint8_t *src, size_t n, uint8_t *dst) {
  size_t raw = (size_t)run_n(d, d->run_i) * KAFU_SNAP_PAGE;
  if (d->comp == WIRE_COMP_LZ4) {
    int got = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)raw);
    if (got < 0 || (size_t)got != raw)
      return fail(d, KAFU_EFORMAT, "run %u: corrupt LZ4 block (%d of %zu bytes)", d->run_i, got, raw);
  } else {
    if (!d->zd && !(d->zd = ZSTD_createDCtx())) return fail(d, KAFU_ENOMEM, "out of memory for zstd");
    size_t got = ZSTD_decompressDCtx(d->zd, dst, raw, src, n);
    if (ZSTD_isError(got))
      return fail(d, KAFU_EFORMAT, "run %u: corrupt zstd block: %s", d->run_i, ZSTD_getErrorName(got));
    if (got != raw)
      return fail(d, KAFU_EFORMAT, "run %u: zstd block has %zu of %zu bytes", d->run_i, got, raw);
  }
  return block_done(d, dst);
}

/* Consume page data of the current run; returns bytes used or negative. */
static int64_t feed_block(kafu_snap_decoder *d, const uint8_t *p, size_t avail) {
  uint32_t i = d->run_i;
  uint64_t stored = run_stored(d, i);
  if (d->run_mode == RUN_UNSET && run_setup(d, i)) return d->failed;
  uint8_t *dst = run_dst(d, i);
  if (!dst) return fail(d, KAFU_ENOMEM, "out of memory for decoding scratch");
  if (run_raw(d, i)) {
    size_t take = stored - d->blk_got < avail ? (size_t)(stored - d->blk_got) : avail;
    memcpy(dst + d->blk_got, p, take);
    d->blk_got += take;
    /* hash pages as they complete, while they are still in cache */
    if (settle_pages(d, dst, (uint32_t)(d->blk_got / KAFU_SNAP_PAGE))) return d->failed;
    if (d->blk_got == stored && block_done(d, dst)) return d->failed;
    return (int64_t)take;
  }
  if (d->blk_got == 0 && avail >= stored) { /* whole block in this feed: no copy */
    if (decompress(d, p, stored, dst)) return d->failed;
    return (int64_t)stored;
  }
  size_t take = stored - d->blk_got < avail ? (size_t)(stored - d->blk_got) : avail;
  if (kafu_buf_append(&d->cbuf, p, take)) return fail(d, KAFU_ENOMEM, "out of memory");
  d->blk_got += take;
  if (d->blk_got == stored && decompress(d, d->cbuf.data, stored, dst)) return d->failed;
  return (int64_t)take;
}

/* ---- the state machine ---------------------------------------------------------------- */

/* Collect a fixed-size piece into hold; true when complete. */
static bool gather(kafu_snap_decoder *d, const uint8_t **p, size_t *n, size_t want) {
  size_t take = want - d->hold_len < *n ? want - d->hold_len : *n;
  memcpy(d->hold + d->hold_len, *p, take);
  d->hold_len += take, *p += take, *n -= take, d->off += take;
  if (d->hold_len < want) return false;
  d->hold_len = 0;
  return true;
}

static int trailer(kafu_snap_decoder *d, const uint8_t *h) {
  uint64_t want = XXH3_64bits_digest(d->xs), got = get64(h);
  if (CHECKSUM_BAD(want, got))
    return fail(d, KAFU_EFORMAT, "checksum mismatch (stored %016" PRIx64 ", computed %016" PRIx64 ")", got,
                want);
  bool skipped = d->skipping;
  d->skipping = false;
  if (skipped) {
    /* unknown optional section: verified and ignored */
  } else if (d->sec_type == SEC_MEMCHUNK) {
    d->chunks_got++;
    d->stats.chunks++;
    d->stats.mem_wire_bytes += SNAP_SEC_HDR + d->sec_len + SNAP_TRAILER;
  } else {
    int rc = parse_body(d);
    if (rc) return rc;
  }
  d->sec_index++;
  d->state = !skipped && d->sec_type == SEC_END ? S_DONE : S_SECHDR;
  return 0;
}

int kafu_snap_decoder_feed(kafu_snap_decoder *d, const void *data, size_t len, kafu_err *err) {
  if (d->failed) return copy_err(d, err);
  const uint8_t *p = data;
  while (len) {
    switch (d->state) {
      case S_FILEHDR:
        if (!gather(d, &p, &len, SNAP_FILE_HDR)) {
          /* refuse a wrong magic with its first wrong byte, not after 24 */
          size_t have = d->hold_len < SNAP_MAGIC_LEN ? d->hold_len : SNAP_MAGIC_LEN;
          if (memcmp(d->hold, SNAP_MAGIC, have))
            return fail(d, KAFU_EFORMAT, "not a kafu snapshot (bad magic)"), copy_err(d, err);
          break;
        }
        if (memcmp(d->hold, SNAP_MAGIC, SNAP_MAGIC_LEN))
          return fail(d, KAFU_EFORMAT, "not a kafu snapshot (bad magic)"), copy_err(d, err);
        if (get16(d->hold + 8) != KAFU_SNAP_VERSION)
          return fail(d, KAFU_EUNSUP, "unsupported format version %u.%u (this kafu reads version %u)",
                      get16(d->hold + 8), get16(d->hold + 10), KAFU_SNAP_VERSION),
                 copy_err(d, err);
        if (CHECKSUM_BAD(get64(d->hold + 16), XXH3_64bits(d->hold, 16)))
          return fail(d, KAFU_EFORMAT, "file header checksum mismatch"), copy_err(d, err);
        if (get32(d->hold + 12))
          return fail(d, KAFU_EUNSUP, "unknown header flags 0x%x", get32(d->hold + 12)), copy_err(d, err);
        d->state = S_SECHDR;
        break;
      case S_SECHDR:
        if (!gather(d, &p, &len, SNAP_SEC_HDR)) break;
        d->sec_off = d->off - SNAP_SEC_HDR;
        if (section_header(d, d->hold)) return copy_err(d, err);
        break;
      case S_BODY:
      case S_SKIP: {
        size_t take = d->sec_left < len ? (size_t)d->sec_left : len;
        if (d->state == S_BODY && kafu_buf_append(&d->body, p, take))
          return fail(d, KAFU_ENOMEM, "out of memory"), copy_err(d, err);
        XXH3_64bits_update(d->xs, p, take);
        p += take, len -= take, d->off += take, d->sec_left -= take;
        if (!d->sec_left) d->state = S_TRAILER;
        break;
      }
      case S_NRUNS: {
        if (!gather(d, &p, &len, 4)) break;
        XXH3_64bits_update(d->xs, d->hold, 4);
        d->sec_left -= 4;
        d->nruns = get32(d->hold);
        uint64_t cp = d->chunk_size / KAFU_SNAP_PAGE;
        if (!d->nruns || d->nruns > cp || (uint64_t)d->nruns * SNAP_RUN_ENTRY > d->sec_left)
          return fail(d, KAFU_EFORMAT, "run count %u out of range [1, %" PRIu64 "] for %" PRIu64 " bytes",
                      d->nruns, cp, d->sec_left),
                 copy_err(d, err);
        d->runtab_len = (size_t)d->nruns * SNAP_RUN_ENTRY;
        d->runtab_got = 0;
        uint8_t *t = realloc(d->runtab, d->runtab_len);
        if (!t) return fail(d, KAFU_ENOMEM, "out of memory"), copy_err(d, err);
        d->runtab = t;
        d->state = S_RUNTAB;
        break;
      }
      case S_RUNTAB: {
        size_t take = d->runtab_len - d->runtab_got < len ? d->runtab_len - d->runtab_got : len;
        memcpy(d->runtab + d->runtab_got, p, take);
        XXH3_64bits_update(d->xs, p, take);
        p += take, len -= take, d->off += take, d->runtab_got += take, d->sec_left -= take;
        if (d->runtab_got < d->runtab_len) break;
        if (check_runs(d)) return copy_err(d, err);
        if (d->dest && d->o.on_runs && announce_runs(d)) return copy_err(d, err);
        d->run_i = 0;
        d->run_mode = RUN_UNSET;
        d->blk_got = 0;
        d->cbuf.len = 0;
        d->state = S_BLOCK;
        break;
      }
      case S_BLOCK: {
        int64_t used = feed_block(d, p, len);
        if (used < 0) return copy_err(d, err);
        p += used, len -= (size_t)used, d->off += (uint64_t)used, d->sec_left -= (uint64_t)used;
        break;
      }
      case S_TRAILER:
        if (!gather(d, &p, &len, SNAP_TRAILER)) break;
        if (trailer(d, d->hold)) return copy_err(d, err);
        break;
      case S_DONE:
        return fail(d, KAFU_EFORMAT, "%zu unexpected bytes after the END section", len), copy_err(d, err);
    }
  }
  return 0;
}

int kafu_snap_decoder_finish(kafu_snap_decoder *d, kafu_snapshot *out, kafu_snap_stats *stats,
                             kafu_err *err) {
  if (d->failed) return copy_err(d, err);
  if (d->state != S_DONE) {
    if (d->state == S_FILEHDR || d->state == S_SECHDR) {
      uint32_t last = d->sec_type;
      bool none = d->state == S_FILEHDR || d->sec_index == 0;
      const char *where = d->state == S_FILEHDR ? "in the file header"
                          : none                ? "before the first section"
                                                : "after section ";
      d->state = S_DONE; /* between sections: no section to name in the prefix */
      fail(d, KAFU_EFORMAT, "truncated at offset %" PRIu64 " (%s%s; the END section never arrived)", d->off,
           where, none ? "" : kafu_snap_section_name(last));
    } else if (d->state == S_TRAILER) {
      fail(d, KAFU_EFORMAT, "truncated at offset %" PRIu64 " (in the section checksum)", d->off);
    } else {
      fail(d, KAFU_EFORMAT, "truncated at offset %" PRIu64 " (in %s, %" PRIu64 " payload bytes missing)",
           d->off, state_name(d->state), d->sec_left);
    }
    return copy_err(d, err);
  }
  bool verify = !(d->inspect && d->mode == MEM_DELTA);
  if (verify) {
    uint64_t id = kafu_mem_image_id_of(d->mem_size, d->hashes, d->npages);
    if (id != d->image_id) {
      char a[17], b[17];
      kafu_mem_image_id_str(id, a);
      kafu_mem_image_id_str(d->image_id, b);
      if (d->mode == MEM_DELTA)
        fail(d, KAFU_EBASELINE,
             "rebuilt memory image %s differs from the sender's %s: the baseline held here was not the one "
             "the "
             "delta was made against; a full transfer is needed",
             a, b);
      else
        fail(d, KAFU_EFORMAT, "rebuilt memory image %s differs from the declared %s", a, b);
      return copy_err(d, err);
    }
    d->image_verified = true;
  }
  if (d->o.verify_full && d->dest) {
    for (uint64_t i = 0; i < d->npages; i++)
      if (kafu_mem_page_hash(d->dest + i * KAFU_SNAP_PAGE) != d->hashes[i]) {
        fail(d, d->mode == MEM_DELTA ? KAFU_EBASELINE : KAFU_EFORMAT,
             "memory page %" PRIu64 " (offset 0x%" PRIx64 ") does not match the image after applying the %s",
             i, i * KAFU_SNAP_PAGE,
             d->mode == MEM_DELTA
                 ? "delta: the memory here differed from its recorded image; a full transfer is needed"
                 : "snapshot");
        return copy_err(d, err);
      }
  }
  kafu_mem_image *held = d->o.held;
  if (held && !d->inspect) { /* the new image is what this node now holds */
    d->held_before = *held;
    d->swapped = true;
    uint64_t *old = held->hashes;
    held->hashes = d->hashes;
    held->cap = d->npages;
    held->size = d->mem_size;
    held->npages = d->npages;
    held->id = d->image_id;
    d->hashes = old;
  }
  d->stats.wire_bytes = d->off;
  d->stats.pages = d->pages_got;
  d->stats.raw_bytes = d->pages_got * KAFU_SNAP_PAGE;
  if (stats) *stats = d->stats;
  d->snap.memory = d->dest;
  d->snap.memory_size = d->mem_size;
  if (out) {
    *out = d->snap;
    memset(&d->snap, 0, sizeof d->snap);
  }
  d->finished = true;
  return 0;
}

int kafu_snap_decode_buf(const void *data, size_t len, const kafu_snap_decoder_opts *opts, kafu_snapshot *out,
                         kafu_snap_stats *stats, kafu_err *err) {
  kafu_snap_decoder *d;
  int rc = kafu_snap_decoder_new(&d, opts, err);
  if (rc) return rc;
  if (!(rc = kafu_snap_decoder_feed(d, data, len, err))) rc = kafu_snap_decoder_finish(d, out, stats, err);
  kafu_snap_decoder_free(d);
  return rc;
}

void kafu_snap_decoder_undo(kafu_snap_decoder *d) {
  if (!d->finished) {
    discard(d);
    return;
  }
  d->finished = false; /* nothing is accepted any more */
  if (d->o.memory_undo)
    undo(d);
  else if ((d->touched || d->swapped) && d->o.held)
    kafu_mem_image_clear(d->o.held);
}

uint64_t kafu_snap_decoder_pages(const kafu_snap_decoder *d, bool *delta) {
  if (delta) *delta = d->saw_memory && d->mode == MEM_DELTA;
  return d->saw_memory ? d->decl_pages : 0;
}

void kafu_snap_decoder_view_get(const kafu_snap_decoder *d, kafu_snap_decoder_view *v) {
  memset(v, 0, sizeof *v);
  v->snap = &d->snap;
  v->have_meta = d->have_meta;
  v->have_memory = d->saw_memory;
  v->done = d->finished;
  v->mem_mode = d->mode;
  v->wire_comp = d->comp;
  v->base_id = d->base_id;
  v->base_size = d->base_size;
  v->image_id = d->image_id;
  v->declared_pages = d->decl_pages;
  v->declared_chunks = d->decl_chunks;
  v->chunk_size = d->chunk_size;
  v->image_verified = d->image_verified;
  v->stats = d->stats;
  v->stats.wire_bytes = d->off;
  v->stats.pages = d->pages_got;
  v->stats.raw_bytes = d->pages_got * KAFU_SNAP_PAGE;
  v->offset = d->off;
}

/*
 * snapshot.h — Kafu's engine-independent program snapshot: the model, the
 * streamed wire format (docs/snapshot-format.md), and memory-image tracking for
 * correct delta transfer in every topology (docs/snapshot-format.md).
 *
 * Pure library: no engine, no HTTP. The single-process checkpoint/restore and
 * the cluster transport build on three pieces:
 *
 *  1. kafu_mem_image — the identity of a linear-memory image: one xxh3-64 hash per
 *     4 KiB page plus an id = hash(size, page hashes). Every node keeps the image
 *     it last held (sent or received). The sender refreshes its image from the
 *     current memory (kafu_mem_image_update) and gets the dirty pages against the
 *     previous one; the receiver states the id it holds (the cluster's "baseline"
 *     query); the encoder emits a delta only when the receiver holds exactly the
 *     image the dirty set is relative to, else the full image.
 *
 *  2. The encoder writes a snapshot through a callback, section by section, with
 *     memory in chunks (default 1 MiB of raw pages) compressed straight from
 *     guest memory (LZ4 default, zstd 1-3, or none). Nothing is built whole.
 *
 *  3. The decoder is push-based: feed() it bytes with arbitrary boundaries (as an
 *     HTTP server receives a body). Pages are decompressed straight into the
 *     destination memory as they arrive. finish() succeeds only when every section
 *     was complete, every checksum matched and the rebuilt image id equals the one
 *     the sender declared. A delta against an image the receiver does not hold
 *     fails with KAFU_EBASELINE (the caller then asks for a full transfer) — never
 *     a wrong resume.
 *
 * Ownership: a kafu_snapshot filled by the caller for encoding only borrows its
 * pointers (memory is never copied). A snapshot returned by the decoder owns its
 * arrays and strings (free with kafu_snapshot_clear) but not its memory, which is
 * the buffer the caller's memory callback provided.
 */
#ifndef KAFU_SNAPSHOT_H
#define KAFU_SNAPSHOT_H
/* Names here are prefixed kafu_snap_/KAFU_SNAP_ (kafu_snap_comp, KAFU_SNAP_COMP_*,
 * KAFU_SNAP_VAL_*) so this header can be included together with config.h
 * (kafu_compression) and engine.h (KAFU_VAL_*). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/util.h"
#include "kafu/wasi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KAFU_SNAP_VERSION 1                /* wire format major version written/read */
#define KAFU_SNAP_PAGE 4096u               /* dirty-tracking / transfer granularity */
#define KAFU_WASM_PAGE 65536u              /* memory sizes are multiples of this */
#define KAFU_SNAP_MAX_MEMORY (4ull << 30)  /* wasm32 limit: 4 GiB */
#define KAFU_SNAP_MAX_NAME 4096u           /* longest string field (node ids, names, paths) */
#define KAFU_SNAP_DEFAULT_CHUNK (1u << 20) /* raw bytes of pages per memory chunk */
#define KAFU_SNAP_MAX_CHUNK (16u << 20)    /* largest chunk a decoder accepts */
#define KAFU_SNAP_MAX_THREADS 64           /* cap on kafu_snap_encode_opts.threads */

/* Error codes beyond util.h's (negative, distinct ranges). */
enum {
  KAFU_EBASELINE = -1100, /* delta does not apply to the memory image held here: retry with a full transfer */
  KAFU_EMODULE = -1101,   /* snapshot is of a different module (sha256 mismatch) */
};

/* ---- the model ----------------------------------------------------------------- */

typedef enum {
  KAFU_SNAP_VAL_I32 = 0,
  KAFU_SNAP_VAL_I64 = 1,
  KAFU_SNAP_VAL_F32 = 2,
  KAFU_SNAP_VAL_F64 = 3
} kafu_snap_val_type;
/* "i32", "i64", "f32", "f64"; "?" for anything else. */
const char *kafu_snap_val_name(uint8_t t);
typedef enum { KAFU_MIG_ENTER = 0, KAFU_MIG_EXIT = 1 } kafu_mig_kind;

/* One entry of the migration stack (docs/migration.md), bottom (outermost) first. */
typedef struct kafu_snap_frame {
  uint32_t fn_id;    /* index into kafu.meta's function table */
  char *caller_node; /* node the annotated function was called from */
  bool migrated;     /* the call migrated: its exit goes back to caller_node */
} kafu_snap_frame;

/* A mutable global (exported by Snapify as kafu_global_<N>). */
typedef struct kafu_snap_global {
  char *name;    /* export name, e.g. "kafu_global_0" */
  uint8_t type;  /* kafu_snap_val_type */
  uint64_t bits; /* raw bits (i32/f32 in the low 32 bits) */
} kafu_snap_global;

/* Host state a host module carries across a migration (the HOST section):
 * an opaque blob named by its owner, e.g. "wasi_ephemeral_nn". */
typedef struct kafu_snap_blob {
  char *name;
  const uint8_t *data; /* encoder: borrowed; decoder: owned (freed by kafu_snapshot_clear) */
  uint64_t len;
} kafu_snap_blob;
#define KAFU_SNAP_MAX_HOST (1ull << 30) /* HOST section payload limit (model bytes may ride in it) */

typedef struct kafu_snapshot {
  uint8_t module_sha256[KAFU_SHA256_LEN];
  uint32_t version; /* set by the decoder (format major version) */

  /* where to resume: the pending migration point */
  char *source_node; /* node that took the snapshot (informational; may be NULL) */
  char *target_node; /* node that must resume it */
  uint32_t resume_fn_id;
  uint8_t resume_kind; /* kafu_mig_kind */

  /* the run it belongs to (RUN section, format 1.1; all zero/NULL when absent):
   * run_id is chosen when a run starts, hop numbers its migrations (high 32
   * bits: failover epoch, low 32 bits: sequence), sender is the node process
   * that sent it (a standby sends for another node id), identified by its
   * incarnation (random per process start). docs/snapshot-format.md, RUN. */
  uint64_t run_id; /* 0 = no RUN section */
  uint64_t hop;
  char *sender; /* may be NULL */
  uint64_t sender_incarnation;

  kafu_snap_frame *frames; /* migration stack, bottom first */
  uint32_t nframes;
  kafu_snap_global *globals;
  uint32_t nglobals;
  kafu_fd_entry *fds; /* WASI fd table (include/kafu/wasi.h) */
  uint32_t nfds;
  kafu_snap_blob *host; /* host modules' state (HOST section, absent when 0) */
  uint32_t nhost;

  /* linear memory: size is a multiple of KAFU_WASM_PAGE (0 = no memory). Encoder:
   * the guest memory itself (borrowed, never copied). Decoder: the destination
   * buffer returned by the memory callback. */
  uint8_t *memory;
  uint64_t memory_size;
} kafu_snapshot;

/* Free what a decoder allocated (strings, arrays; not memory) and zero *s. Do not
 * call on a caller-built snapshot whose pointers are borrowed. */
void kafu_snapshot_clear(kafu_snapshot *s);

/* ---- memory images --------------------------------------------------------------- */

/* The identity of one linear-memory image. id 0 means "no image held". */
typedef struct kafu_mem_image {
  uint64_t size;    /* bytes (multiple of KAFU_SNAP_PAGE) */
  uint64_t npages;  /* size / KAFU_SNAP_PAGE */
  uint64_t *hashes; /* xxh3-64 of each 4 KiB page */
  uint64_t cap;     /* allocated entries of hashes */
  uint64_t id;      /* kafu_mem_image_id_of(size, hashes); 0 = none */
} kafu_mem_image;

/* Pages that changed between image base_id and the image an update produced. */
typedef struct kafu_mem_delta {
  uint64_t base_id;   /* image the set is relative to (0: there was none -> full only) */
  uint64_t base_size; /* its size in bytes */
  uint64_t new_id;    /* image after the update */
  uint64_t npages;    /* pages of the new image; bits has (npages + 63) / 64 words */
  uint64_t *bits;     /* bit i set = page i must be sent for a delta against base_id */
  uint64_t ndirty;    /* number of set bits */
  uint64_t cap;       /* allocated words */
} kafu_mem_delta;

void kafu_mem_image_init(kafu_mem_image *img);
void kafu_mem_image_free(kafu_mem_image *img);
/* Forget the image (id = 0) but keep the allocation. */
void kafu_mem_image_clear(kafu_mem_image *img);
/* Hash every page of mem and make img describe it. size must be a multiple of
 * KAFU_SNAP_PAGE and <= KAFU_SNAP_MAX_MEMORY. */
int kafu_mem_image_compute(kafu_mem_image *img, const uint8_t *mem, uint64_t size, kafu_err *err);
/* Sender side: make img describe mem (current memory) and, when delta != NULL,
 * fill it with the pages that differ from img's previous image.
 *   written: optional bitmap ((size/4096 + 63)/64 words) of pages that may have
 *   been written since img was recorded (e.g. from userfaultfd write-protect);
 *   a clear bit promises the page is unchanged and skips hashing it. NULL = hash
 *   every page. Pages beyond the previous size are always examined; grown pages
 *   that are all zero are not dirty (a receiver's memory.grow yields zeros).
 * If img held no image, every page is hashed and delta->base_id = 0. */
int kafu_mem_image_update(kafu_mem_image *img, const uint8_t *mem, uint64_t size, const uint64_t *written,
                          kafu_mem_delta *delta, kafu_err *err);
/* Copy src into dst (dst's old content is replaced). */
int kafu_mem_image_copy(kafu_mem_image *dst, const kafu_mem_image *src, kafu_err *err);
/* The pages a delta from image base to image cur must carry: those whose
 * hashes differ, and pages beyond base's size that are not all zero (a
 * receiver's grown memory is zero). For a sender that keeps the images its
 * peers hold (not only the one it last held), so a migration to any of them
 * can be a delta. Memory never shrinks: a cur smaller than base, or either
 * image missing (id 0), is KAFU_EINVAL (send the full image). */
int kafu_mem_delta_between(const kafu_mem_image *base, const kafu_mem_image *cur, kafu_mem_delta *delta,
                           kafu_err *err);
/* id of an image from its size and page hashes (never 0). */
uint64_t kafu_mem_image_id_of(uint64_t size, const uint64_t *hashes, uint64_t npages);
/* Hash of one 4 KiB page (what the image stores). */
uint64_t kafu_mem_page_hash(const uint8_t *page);
/* "0123456789abcdef" form of an id (out: 17 bytes), and its parser (returns 0/KAFU_EINVAL). */
void kafu_mem_image_id_str(uint64_t id, char out[17]);
int kafu_mem_image_id_parse(const char *s, uint64_t *id);
void kafu_mem_delta_free(kafu_mem_delta *d);

/* ---- encoding ---------------------------------------------------------------------- */

typedef enum {
  KAFU_SNAP_COMP_DEFAULT = 0, /* = LZ4 */
  KAFU_SNAP_COMP_NONE = 1,
  KAFU_SNAP_COMP_LZ4 = 2,
  KAFU_SNAP_COMP_ZSTD = 3,
} kafu_snap_comp;

/* "none" | "lz4" | "zstd" (DEFAULT prints as "lz4"). */
const char *kafu_snap_comp_name(kafu_snap_comp c);
/* Parses "none", "lz4", "zstd" (case-insensitive); KAFU_EINVAL otherwise. */
int kafu_snap_comp_parse(const char *s, kafu_snap_comp *out);

/* Write callback: consume n bytes at p; return 0, or negative to abort encoding.
 * p may point into guest memory: consume (send/copy) it before returning. */
typedef int (*kafu_snap_write_fn)(void *ctx, const void *p, size_t n);

typedef struct kafu_snap_encode_opts {
  kafu_snap_comp compression; /* DEFAULT = LZ4 */
  int level;                  /* zstd: 1..3 (0 -> 1); lz4: acceleration >= 1 (0 -> 1); none: ignored */
  uint32_t chunk_size;        /* raw bytes per memory chunk; multiple of 4096, <= 16 MiB; 0 -> 1 MiB */
  /* The sender's image of snap->memory (after kafu_mem_image_update). NULL: the
   * encoder hashes the memory itself (full transfers only need no tracking). */
  const kafu_mem_image *image;
  /* Dirty pages since delta->base_id (from kafu_mem_image_update); NULL = none known. */
  const kafu_mem_delta *delta;
  uint64_t receiver_image_id; /* what the receiver says it holds (0 = nothing) */
  bool force_full;            /* memory_migration: full */
  /* Compression threads (LZ4/zstd only): 0 or 1 = compress on the calling
   * thread; N > 1 = N workers compress chunks in parallel while the calling
   * thread writes them in order (used only with >= 2 chunks per thread).
   * Output is byte-identical either way. */
  int threads;
} kafu_snap_encode_opts;

/* What was encoded / decoded. */
typedef struct kafu_snap_stats {
  uint64_t wire_bytes;     /* whole snapshot as written/read */
  uint64_t mem_wire_bytes; /* bytes of the memory chunk sections */
  uint64_t memory_size;    /* linear memory size */
  uint64_t pages;          /* 4 KiB pages carried */
  uint64_t raw_bytes;      /* pages * 4096 */
  uint32_t chunks;
  bool delta; /* memory was a delta against base_id */
  kafu_snap_comp compression;
  uint64_t base_id;  /* delta baseline image (0 when full) */
  uint64_t image_id; /* image id of the snapshot's memory */
} kafu_snap_stats;

/* The delta-versus-full rule, in one place: what the memory part of a snapshot
 * encoded with opts carries, given the sender's image of the memory (img,
 * after kafu_mem_image_update). Unless force_full, a delta when the receiver
 * holds exactly the image opts->delta is relative to (and the delta describes
 * img, page count included): the changed pages; an empty delta when the
 * receiver already holds img itself; otherwise the full image. The encoder
 * follows this plan, and a sender may ask it ahead of encoding (e.g. to choose
 * how to send) and get the same answer. */
typedef struct kafu_snap_mem_plan {
  bool delta;           /* a delta against base_id, else the full image */
  const uint64_t *bits; /* delta: the pages carried (NULL = every page; for a delta: none) */
  uint64_t base_id, base_size;
  uint64_t pages; /* 4 KiB pages carried (raw bytes = pages * KAFU_SNAP_PAGE) */
} kafu_snap_mem_plan;
void kafu_snap_plan_memory(const kafu_snap_encode_opts *opts, const kafu_mem_image *img,
                           kafu_snap_mem_plan *out);

/* Encode snap through write(ctx, ...); the memory goes as kafu_snap_plan_memory
 * says. opts NULL = defaults (LZ4, full). stats may be NULL. */
int kafu_snap_encode(const kafu_snapshot *snap, const kafu_snap_encode_opts *opts, kafu_snap_write_fn write,
                     void *ctx, kafu_snap_stats *stats, kafu_err *err);
/* Convenience: encode into a growable buffer (appends to out). */
int kafu_snap_encode_buf(const kafu_snapshot *snap, const kafu_snap_encode_opts *opts, kafu_buf *out,
                         kafu_snap_stats *stats, kafu_err *err);

/* ---- decoding ------------------------------------------------------------------------ */

typedef struct kafu_snap_decoder kafu_snap_decoder;

typedef struct kafu_snap_decoder_opts {
  /* Reject a snapshot of another module before touching memory (KAFU_EMODULE).
   * NULL = accept any (inspection only). */
  const uint8_t *expected_module_sha256;
  /* Optional early look, called once right after the META section validated:
   * meta has module_sha256, version, source/target node and the resume point set
   * (nothing else yet). Return negative + err to reject (e.g. "target node is not
   * me"); the decoder then fails with that error before touching memory. */
  int (*on_meta)(void *ctx, const kafu_snapshot *meta, kafu_err *err);
  void *on_meta_ctx;
  /* Optional look at the whole program state before any memory is touched:
   * called once when the memory section starts, after META, STACK, GLOBALS and
   * FDS validated, with those fields of the snapshot set (memory not yet).
   * Return negative + err to reject: nothing has been written then. */
  int (*on_state)(void *ctx, const kafu_snapshot *state, kafu_err *err);
  void *on_state_ctx;
  /* Destination memory, asked once when the memory section starts (after META,
   * stack, globals and fds validated). Return a buffer of >= size bytes (e.g. the
   * engine memory grown to size) or NULL + err to reject. For a delta, its first
   * held->size bytes must be the held image and bytes in [held->size, size) must be
   * zero (memory.grow semantics). NULL callback = inspection mode: pages are
   * decompressed into scratch, checked, and dropped. */
  uint8_t *(*memory)(void *ctx, uint64_t size, kafu_err *err);
  void *memory_ctx;
  /* Optional: give the destination back (ctx = memory_ctx). Called once when a
   * decode that had called memory() is refused or undone: the destination must
   * return to the size it had before memory() (e.g. an engine memory grown for
   * the snapshot shrinks back). With it set, the decoder copies every page of
   * the held image aside before overwriting it and puts it back before calling
   * this, and the held image stays: a refused snapshot changes nothing. A page
   * of a full image whose content the held image already records is not
   * written at all, so the destination's first held->size bytes must be the
   * held image also for a full snapshot (as for a delta). */
  void (*memory_undo)(void *ctx);
  /* The receiver's image (its delta baseline). On success it becomes the new
   * image. On a failure after memory was touched it stays when memory_undo is
   * set (see there), else it is cleared (id 0), since the memory no longer
   * equals it. NULL = this node tracks nothing: deltas rejected. */
  kafu_mem_image *held;
  /* Rehash the whole destination at finish() and compare with the image: catches
   * a destination that did not actually hold the claimed baseline. Costs one
   * xxh3 pass over memory. */
  bool verify_full;
  uint64_t max_memory; /* 0 = KAFU_SNAP_MAX_MEMORY */
  /* Optional, called once per memory chunk after its run table validated and
   * before any of its pages is written into the destination (not in inspection
   * mode): runs[2k] = first page, runs[2k+1] = page count, ascending, n runs.
   * E.g. to make exactly those pages writable in as few calls as possible. */
  void (*on_runs)(void *ctx, const uint32_t *runs, uint32_t n);
  void *on_runs_ctx;
  /* Optional: where the copies memory_undo needs are kept, reused by the next
   * decoder given the same area instead of a fresh mapping per decode (a
   * fresh one costs a page fault per copied page and an unmap). A decoder that
   * finds the area in use by another maps its own. Not thread-safe: decoders
   * sharing an area are created and freed by one thread. The owner frees it
   * with kafu_snap_undo_area_free. */
  struct kafu_snap_undo_area *undo_area;
} kafu_snap_decoder_opts;

/* A reusable undo mapping (opts.undo_area): {0} is an empty one. Up to
 * KAFU_SNAP_UNDO_KEEP pages of it stay resident between decodes, and the
 * scratch full images are decoded into before they are compared with the
 * held image (one run's pages). */
typedef struct kafu_snap_undo_area {
  uint8_t *p;
  uint64_t pages; /* mapped */
  bool busy;      /* a live decoder uses it */
  uint8_t *scratch; /* where a full image's runs are decoded first, kept too */
  size_t scratch_cap;
} kafu_snap_undo_area;
#define KAFU_SNAP_UNDO_KEEP 2048 /* 8 MiB */
void kafu_snap_undo_area_free(kafu_snap_undo_area *a);

/* opts is copied (the pointers it holds must outlive the decoder). */
int kafu_snap_decoder_new(kafu_snap_decoder **out, const kafu_snap_decoder_opts *opts, kafu_err *err);
/* Push the next len bytes of the stream. Returns 0 or negative + err; after an
 * error every later call returns the same error. */
int kafu_snap_decoder_feed(kafu_snap_decoder *dec, const void *data, size_t len, kafu_err *err);
/* End of stream: succeeds only if the END section was reached with every section
 * complete and valid and the rebuilt memory image id equals the declared one.
 * out (may be NULL) receives the snapshot (owns its strings/arrays: free with
 * kafu_snapshot_clear); stats may be NULL. */
int kafu_snap_decoder_finish(kafu_snap_decoder *dec, kafu_snapshot *out, kafu_snap_stats *stats,
                             kafu_err *err);
/* Undo a decode, also one that finished successfully (before it is freed):
 * with opts.memory_undo the destination and the held image are put back as
 * they were before (for a receiver whose restore failed after the decode);
 * without it the held image is cleared. */
void kafu_snap_decoder_undo(kafu_snap_decoder *dec);
/* Pages of memory the stream will write, as its MEMORY section declared them
 * (0 before that section was read, e.g. from inside the memory callback it is
 * known); *delta (may be NULL) = the memory is a delta. */
uint64_t kafu_snap_decoder_pages(const kafu_snap_decoder *dec, bool *delta);
/* Safe on any state; a decoder freed before a successful finish() undoes what
 * it wrote (opts.memory_undo) or clears opts->held if it had touched memory. */
void kafu_snap_decoder_free(kafu_snap_decoder *dec);
/* Convenience: new + feed(all) + finish + free. */
int kafu_snap_decode_buf(const void *data, size_t len, const kafu_snap_decoder_opts *opts, kafu_snapshot *out,
                         kafu_snap_stats *stats, kafu_err *err);

/* ---- inspection -------------------------------------------------------------------------- */

/* Validate bytes as a snapshot (every checksum; the memory image id when the
 * snapshot is a full image) and append a human-readable description (or one JSON
 * object when json) to out. Returns 0, or negative + err for an invalid snapshot
 * (out then holds what was readable). */
int kafu_snap_describe(const uint8_t *bytes, size_t len, kafu_buf *out, bool json, kafu_err *err);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_SNAPSHOT_H */

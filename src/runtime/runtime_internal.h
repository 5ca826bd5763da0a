/*
 * runtime_internal.h — struct kafu_runtime and what its files share (src/runtime
 * only; the API is include/kafu/runtime.h). One file per job:
 *
 *   runtime.c       creation, accessors, and the run loop (run until the program
 *                   ends or leaves; VERIFY mode hops inside it)
 *   hook.c          the migration point: the migration stack and when to unwind
 *   state.c         capture, validation and restore of everything but memory
 *                   (globals, host clocks, open files, migration stack)
 *   verify.c        VERIFY mode: one checkpoint -> encode -> fresh instance ->
 *                   decode -> restore hop inside one process
 *   send.c          NODE mode, sender: memory image refresh, estimate, encode
 *   receive.c       NODE mode, receiver; the decoder every restore goes through
 *   dirty_policy.c  how the runtime uses the dirty-page tracker (dirty.c): open,
 *                   collect, and dropping write protection ahead of the decoder
 *   dirty.c         the tracker itself (userfaultfd write-protect, PAGEMAP_SCAN)
 *   events.c        the JSON Lines event writer (--events)
 *   entry.c         NODE mode: entry checkpoints kept until a call returns, and
 *                   turning one back into the pending checkpoint (failover)
 *   restore.c       resuming a saved snapshot (kafu restore), the on-demand
 *                   checkpoint, and a snapshot decoded into scratch memory as
 *                   the pending checkpoint (rt_source)
 *
 * Invariant that makes deltas safe in NODE mode: while this node is not
 * running the program, its instance memory is exactly the image recorded in
 * rt->image (the image it last sent or received). Only the sender's encode
 * (send.c) and the decoder (receive.c) change either, and they change both
 * together.
 */
#ifndef KAFU_RUNTIME_INTERNAL_H
#define KAFU_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kafu/nn.h"
#include "kafu/runtime.h"
#include "kafu/wasm.h"

#define ASYNCIFY_NORMAL 0
#define ASYNCIFY_UNWINDING 1
#define ASYNCIFY_REWINDING 2

/* The migration stack, bottom first (hook.c pushes and pops; state.c saves and
 * restores it). */
typedef struct rt_stack {
  kafu_snap_frame *frames;
  uint32_t n, cap;
} rt_stack;

/* The migration the hook decided on (hook.c sets it; the run loop, capture and
 * the send path consume it). */
typedef struct rt_pending {
  bool active;
  char target[64];
  char from[64];  /* the node id the program leaves (rt->cur then; a standby runs as another id) */
  uint64_t hop;   /* kafu_runtime_set_hop */
  bool ckpt_only; /* on-demand checkpoint at a point that does not migrate: rewind after */
  uint32_t fn, kind;
  uint64_t t_unwind;
  double unwind_ms;
  uint32_t asy_addr, asy_size; /* Asyncify region of the unwind */
} rt_pending;

/* The checkpoint taken after the unwind, memory aside (state.c fills it; send.c
 * and verify.c encode it). */
typedef struct rt_ckpt {
  bool have;
  kafu_snap_global *globals;
  uint32_t nglobals;
  kafu_fd_entry *fds;
  size_t nfds;
  /* host modules' state (HOST section): the wasi-nn state, then the bytes of
   * models the target may lack (borrowed from the models) */
  kafu_buf nn_state;
  kafu_snap_blob *host;
  uint32_t nhost;
  /* a re-armed entry checkpoint: the models its graphs were loaded from
   * (held, so their bytes can ride in host[]) */
  kafu_nn_model **models;
  uint32_t nmodels;
} rt_ckpt;

/* wasi-nn models whose bytes a peer has been sent (so they travel once per node). */
typedef struct rt_nn_sent {
  char peer[64];
  uint8_t sha[KAFU_SHA256_LEN];
} rt_nn_sent;

#define RT_NCODECS 4 /* `compression: auto`: none, LZ4, zstd-1, zstd-3 (rt_codecs) */

/* `compression: auto`: what a codec's transfers to one peer took (codec.c). */
typedef struct rt_codec_obs {
  double cost; /* moving average of measured seconds per raw byte; 0 = never measured */
  uint32_t at; /* the peer's count of measured transfers when last measured */
  uint32_t n;  /* transfers measured */
} rt_codec_obs;

/* What this node knows about the image one peer holds (NODE mode, per config
 * node; send.c and receive.c record it, send.c makes deltas against it), and
 * about the link to it (codec.c). */
typedef struct rt_peer {
  uint64_t id;    /* the image it holds; 0 = unknown */
  bool believed;  /* false: id is not to be trusted any more (see kafu_runtime_peer_unknown) */
  double bw, rtt; /* the link to it: throughput (bytes/s, 0 = unknown), round trip (s) (codec.c) */
  bool bw_exact;  /* bw was measured on a transfer the link held up (else it is a lower bound) */
  /* page hashes of image id (its id field 0 when not kept). Two-node clusters
   * keep none: there the peer always holds the image this node held last,
   * which the delta of every send is made against anyway. */
  kafu_mem_image img;
  rt_codec_obs obs[RT_NCODECS]; /* per rt_codecs candidate */
  uint32_t nobs;                /* transfers measured */
} rt_peer;

/* `compression: auto` (codec.c): the candidates, and what is known of each on
 * this program's pages. */
typedef struct rt_codec_candidate {
  kafu_snap_comp comp;
  int level;
  const char *name;
  double decode_bps;        /* assumed decode speed, raw bytes/s (0: none) */
  double guess_ns_per_page; /* encode cost assumed before the first sample */
} rt_codec_candidate;
extern const rt_codec_candidate rt_codecs[RT_NCODECS];
typedef struct rt_codec_est {
  double ratio;       /* wire / raw bytes of the memory; 0 = not measured */
  double ns_per_page; /* encode time per 4 KiB page; 0 = not measured */
} rt_codec_est;
typedef struct rt_codec {
  rt_codec_est est[RT_NCODECS];
  uint64_t *sample_bits; /* the sample's page bitmap (reused) */
  uint64_t sample_cap;   /* words */
} rt_codec;

/* NODE mode sender (send.c). */
typedef struct rt_send {
  kafu_mem_delta delta; /* pages changed since the image before the last refresh */
  /* pages changed since a peer's image (rt->peers), when the receiver holds
   * that one rather than the image this node held last; computed once per
   * checkpoint and receiver image */
  kafu_mem_delta peer_delta;
  bool image_fresh;  /* rt->image describes the pending checkpoint's memory */
  double refresh_ms; /* image update done ahead of encoding (kafu_runtime_send_estimate) */
  double encode_ms;
  kafu_snap_stats stats; /* of the last encode */
  const char *codec;     /* what the last encode used ("lz4", "zstd-1", ...) */
  int codec_k;           /* compression: auto: its rt_codecs index; -1 = a fixed codec */
  bool codec_measure;    /* compression: auto: the transfer is to be measured (rt_codec_measured) */
  double codec_pred_s;   /* compression: auto: the model's prediction of it (0: none) */
} rt_send;

/* NODE mode receiver (receive.c). */
typedef struct rt_recv {
  /* the decoder kafu_runtime_decoder made last: the only one that can call
   * decoder_memory in NODE mode (the server runs one receive at a time) */
  kafu_snap_decoder *dec;
  uint64_t t_start;   /* decode timing starts with the body */
  kafu_snapshot snap; /* received, validated and restored; not yet resumed */
  bool have;
  double decode_ms, restore_ms;
  /* memory as the decoder found it, to shrink back to if the snapshot is refused */
  uint32_t pages_before;
  bool grown;
  kafu_snap_undo_area undo; /* the decoders' undo copies, kept between receives */
} rt_recv;

/* Dirty-page tracking, NODE mode (dirty_policy.c). */
typedef struct rt_dirty {
  kafu_dirty *tracker; /* NULL = rehash all of memory per send */
  uint64_t *written;   /* bitmap from kafu_dirty_collect */
  size_t written_cap;  /* words */
  /* receiving: how the decoder's pages lose their write protection */
  bool wp_bulk;            /* $KAFU_WP_RELEASE=bulk: the old 15 % all-or-nothing rule */
  uint32_t wp_gap, wp_min; /* coalesce runs this close; leave shorter ranges to fault */
} rt_dirty;

/* What this node reports: counters and the last migration's timings
 * (kafu_runtime_last_stats). */
typedef struct rt_stats {
  uint64_t mig_in, mig_out;
  kafu_rt_migration_stats last;
  bool last_rewind_pending; /* receiver: last.rewind_ms still to be filled */
  uint64_t t_rewind;        /* the rewind started (run loop) */
} rt_stats;

/* VERIFY mode: the event of the hop being rewound, written once the rewind is
 * done so it carries rewind_ms (events.c writes it; verify.c, hook.c, the run
 * loop decide when). */
typedef struct rt_event {
  bool pending;
  kafu_rt_migration_stats stats;
  char from[64];
  /* the migration's id in both records: NODE mode gets it from the cluster
   * (kafu_runtime_set_migration_id), the singlenode modes number their hops */
  char mig_id[128];
  uint64_t seq;
  /* NODE mode receiver: the restore record, written once the rewind is done */
  bool restore_pending;
  char restore_from[64];
  double decode_ms, restore_ms;
} rt_event;

/* An entry checkpoint (entry.c; docs in runtime.h). Its memory is either
 * the instance's (live: image_id), or a copy: the whole memory (full), or
 * only the pages that differ from the entry before it (a chain that starts
 * at a full one; consecutive nesting levels differ in few pages). */
typedef struct rt_entry {
  uint64_t hop;
  char target[64], from[64];
  uint32_t fn, kind, depth;
  bool live, full;
  uint64_t image_id;
  uint64_t mem_size; /* bytes of its memory */
  uint64_t *hashes;  /* page hashes of its memory (mem_size / 4 KiB pages) */
  /* the state besides memory */
  kafu_snap_frame *frames;
  uint32_t nframes;
  kafu_snap_global *globals;
  uint32_t nglobals;
  kafu_fd_entry *fds;
  size_t nfds;
  /* host modules' state: the wasi-nn state (owned), the models its graphs
   * were loaded from (held: their bytes go with a re-run, whatever node takes
   * it), and, for an entry from a restored snapshot, its HOST entries (owned) */
  kafu_buf nn_state;
  kafu_nn_model **models;
  uint32_t nmodels;
  kafu_snap_blob *host;
  uint32_t nhost;
  /* a copy: full = mem_size bytes; else ndiff pages listed in diff_pages */
  uint8_t *data;
  uint32_t *diff_pages;
  size_t ndiff;
  char delivered_to[64];
  uint64_t delivered_inc;
} rt_entry;

typedef struct rt_entries {
  rt_entry *v; /* outermost first */
  size_t n, cap;
  uint64_t dropped;
  /* the buffer of the last whole copy, kept when its entry went, with its
   * page hashes: the next whole copy only copies the pages that changed */
  uint8_t *spare;
  uint64_t spare_size, *spare_hashes;
} rt_entries;

/* A program state in scratch memory standing in for the instance as the
 * pending checkpoint (restore.c): a re-armed copied entry, or a restored
 * snapshot bound elsewhere. */
typedef struct rt_source {
  bool active;
  kafu_snapshot snap; /* owns its strings and arrays; memory = mem */
  uint8_t *mem;       /* malloc'd, snap.memory_size bytes */
  /* a re-armed entry's host state: as rt_ckpt's (host[] borrows) */
  kafu_buf nn_state;
  kafu_nn_model **models;
  uint32_t nmodels;
  kafu_snap_blob *host;
  uint32_t nhost;
} rt_source;

/* An on-demand checkpoint request (restore.c). */
typedef struct rt_ckreq {
  pthread_mutex_t mu;
  atomic_bool wanted;
  kafu_rt_checkpoint_fn fn;
  void *ctx;
} rt_ckreq;

struct kafu_runtime {
  /* set up by kafu_runtime_new, fixed afterwards (runtime.c) */
  kafu_runtime_opts o;
  const kafu_config *cfg;
  kafu_engine_opts eopts;
  kafu_module *mod;
  kafu_meta meta;
  char **argv; /* guest argv: module name + app.args */
  int argc;
  kafu_preopen preopen;
  char self[64]; /* this node (NODE mode) */
  kafu_wasi_listen_spec *listens; /* every node's nodes.<id>.listen, in guest fd order (with a home) */
  int nlistens;

  /* the program */
  kafu_wasi *wasi;
  kafu_instance *inst;
  kafu_nn_host *nn; /* its wasi-nn graphs and contexts (state.c carries them) */
  kafu_host_binding nn_bind[1];
  rt_nn_sent *nn_sent; /* NODE mode sender: models each peer has */
  size_t nn_nsent;
  char cur[64];     /* node the program currently runs on (rt_set_cur) */
  kafu_log_ctx log; /* "node <rt_here()>": the prefix of this runtime's logs and errors */
  rt_stack stack;
  rt_pending pend;
  rt_ckpt ckpt;
  kafu_mem_image image; /* this node's delta baseline (see the invariant above) */
  rt_peer *peers;       /* per config node (NODE mode; NULL otherwise) */

  rt_send send;
  rt_codec codec;
  rt_recv recv;
  rt_dirty dirty;
  rt_stats stats;
  rt_event ev;

  /* NODE mode: the run and this process (kafu_runtime_set_run), entry
   * checkpoints, a snapshot standing in as the pending checkpoint */
  struct {
    uint64_t id, incarnation;
  } run;
  rt_entries ent;
  rt_source src;
  rt_ckreq ck;
  bool recv_internal; /* decoding our own snapshot: no admission, no entry bookkeeping */
};

/* ---- runtime.c ------------------------------------------------------------------------ */

/* After a successful send: the models that went with it are on the target now. */
void rt_nn_mark_sent(kafu_runtime *rt);
/* The wasi-nn limits of the config (cluster.wasi_nn), defaults elsewhere. */
void rt_nn_limits(const kafu_runtime *rt, kafu_nn_limits *lim);
/* A wasi-nn host for node `node` (its named models from the config). */
int rt_make_nn(kafu_runtime *rt, const char *node, kafu_nn_host **out, kafu_err *err);

/* The kafu.meta entry of fn_id (NULL = unknown) and its name ("?" when unknown). */
const kafu_meta_func *rt_meta_func(const kafu_runtime *rt, uint32_t fn_id);
const char *rt_fn_name(const kafu_runtime *rt, uint32_t fn_id);
/* The node messages speak for: this node in NODE mode, else the current one. */
const char *rt_here(const kafu_runtime *rt);
/* The program now runs on `node` (rt->cur; in singlenode modes also rt->log). */
void rt_set_cur(kafu_runtime *rt, const char *node);
/* config.h's compression setting in snapshot.h's terms. */
kafu_snap_comp rt_snap_compression(const kafu_config *cfg);
/* A fresh WASI context for the guest (argv, preopen, stdio of the options). */
int rt_make_wasi(kafu_runtime *rt, kafu_wasi **out, kafu_err *err);
/* The host imports of an instance of this runtime with WASI context w. */
kafu_host rt_host_of(kafu_runtime *rt, kafu_wasi *w);
/* A fresh instance with a fresh WASI context (replacing the current ones). */
int rt_fresh_instance(kafu_runtime *rt, kafu_err *err);
/* Begin a rewind of rt->inst (when rewind) and run `_start` until the program
 * ends or leaves; then log the end. */
int rt_run(kafu_runtime *rt, bool rewind, kafu_rt_result *res, kafu_err *err);

/* ---- hook.c --------------------------------------------------------------------------- */

/* The kafu.migration_point import (kafu_host.migration_point). */
void rt_on_migration_point(void *ctx, kafu_instance *inst, uint32_t fn_id, uint32_t kind);
/* Room for n frames (0 or KAFU_ENOMEM). */
int rt_stack_reserve(rt_stack *s, uint32_t n);
void rt_stack_clear(rt_stack *s);

/* ---- state.c -------------------------------------------------------------------------- */

/* After a complete unwind: save globals, host clocks and open files into rt->ckpt. */
int rt_capture(kafu_runtime *rt, kafu_err *err);
void rt_ckpt_clear(kafu_runtime *rt);
/* NODE mode: record in the checkpoint which image every node holds (as far as
 * this node knows; this node: the image it sends), replacing what an earlier
 * attempt recorded. */
void rt_holds_put(kafu_runtime *rt);
/* NODE mode, a snapshot was accepted: what it says every other node holds. */
void rt_holds_take(kafu_runtime *rt, const kafu_snapshot *s);
/* The pending checkpoint as a snapshot (borrows everything, memory included). */
void rt_fill_snapshot(kafu_runtime *rt, kafu_snapshot *s);
/* Everything in a decoded snapshot but memory must make sense for this module
 * and config before anything is restored. */
int rt_validate_state(kafu_runtime *rt, const kafu_snapshot *s, kafu_err *err);
/* After a successful decode into rt->inst: restore globals, fds and the
 * migration stack; *ms gets the time it took. */
int rt_restore_state(kafu_runtime *rt, const kafu_snapshot *s, double *ms, kafu_err *err);

/* ---- verify.c ------------------------------------------------------------------------- */

/* VERIFY mode, after an unwind: checkpoint -> encode -> fresh instance ->
 * decode -> restore; the caller then rewinds. */
int rt_verify_hop(kafu_runtime *rt, kafu_err *err);

/* This node's image is now what node holds (after a send to it or a receive
 * from it). A copy of the page hashes; failures only lose the knowledge. */
void rt_peer_learn(kafu_runtime *rt, const char *node);

/* ---- codec.c -------------------------------------------------------------------------- */

/* `compression: auto`: the candidate (rt_codecs index) that sends what plan
 * carries to target fastest, sampling codecs on the way when it is cheap. */
int rt_codec_choose(kafu_runtime *rt, const char *target, const kafu_snap_mem_plan *plan);
/* A snapshot was encoded with candidate k: its exact ratio. */
void rt_codec_learn(kafu_runtime *rt, int k, const kafu_snap_stats *st);
/* The model's time (s) for each candidate to move raw bytes (pred[k] < 0: not
 * a candidate, never measured; none always is). */
void rt_codec_predict(const rt_codec_est est[RT_NCODECS], double raw, double bw, double rtt,
                      double pred[RT_NCODECS]);
/* The same toward peer p, with what is known of its link: while p->bw is only
 * a lower bound (no transfer was held up by the link), none counts as free of
 * wire time until it has been measured. */
void rt_codec_predict_peer(const rt_peer *p, const rt_codec_est est[RT_NCODECS], double raw,
                           double pred[RT_NCODECS]);
/* The candidate to use for raw bytes given the model's predictions and what
 * the peer's transfers measured (obs; now = the peer's nobs): the least time,
 * measured where it was (per byte, times raw), predicted otherwise; unless
 * another candidate within reach was not measured lately and may be tried.
 * With nothing measured and no trials it is the model's own choice. */
int rt_codec_pick(const double pred[RT_NCODECS], double raw, const rt_codec_obs obs[RT_NCODECS], uint32_t now,
                  bool may_explore);
/* A transfer of raw bytes with candidate k took seconds. */
void rt_codec_observe(rt_peer *p, int k, double seconds, double raw);
/* The snapshot just sent to target (encoded by rt_codec_choose's choice) took
 * seconds, encoding included: measured against the model when it was chosen
 * for a transfer big enough (rt->send.codec_measure). */
void rt_codec_measured(kafu_runtime *rt, const char *target, double seconds);
/* Fold one transfer into what is known of a link (kafu_runtime_link_sample). */
void rt_link_observe(rt_peer *p, uint64_t wire_bytes, double seconds, bool at_least, double rtt_seconds);

/* ---- receive.c ------------------------------------------------------------------------ */

/* A decoder writing into rt->inst's memory, checking module, address and state
 * before memory is touched. held: the image to rebuild (NODE mode) or NULL. */
int rt_new_decoder(kafu_runtime *rt, kafu_mem_image *held, kafu_snap_decoder **out, kafu_err *err);

/* ---- dirty_policy.c ------------------------------------------------------------------- */

/* NODE mode with deltas: register the instance's memory reservation (once; any
 * failure = the hashing fallback). */
void rt_dirty_open(kafu_runtime *rt);
void rt_dirty_close(kafu_runtime *rt);
/* Pages written since the last collect (NULL = unknown: hash everything).
 * Re-arms the tracking. */
const uint64_t *rt_dirty_collect(kafu_runtime *rt, uint64_t size);
/* Decoder callbacks: before memory is written in bulk (cur = its size), and
 * before each chunk's page runs are written (kafu_snap_decoder_opts.on_runs). */
void rt_dirty_before_decode(kafu_runtime *rt, uint64_t cur);
void rt_dirty_on_runs(void *ctx, const uint32_t *runs, uint32_t n);

/* ---- entry.c -------------------------------------------------------------------------- */

/* After kafu_runtime_sent of an ENTER: keep the checkpoint as an entry. */
int rt_entry_push(kafu_runtime *rt, kafu_err *err);
/* A received snapshot with this state (stack) is about to overwrite memory:
 * materialize a live entry that stays outstanding. */
void rt_entries_before_receive(kafu_runtime *rt, const kafu_snapshot *s);
/* A received snapshot was restored: drop the entries it resolves. */
void rt_entries_after_receive(kafu_runtime *rt, const kafu_snapshot *s);
void rt_entries_free(kafu_runtime *rt);
/* Copy a migration stack (strings duplicated); NULL + count 0 on ENOMEM. */
kafu_snap_frame *rt_frames_dup(const kafu_snap_frame *f, uint32_t n);
void rt_frames_free(kafu_snap_frame *f, uint32_t n);

/* ---- restore.c ------------------------------------------------------------------------ */

/* Decode a full snapshot (all checks for this module and config) into
 * scratch memory as rt->src. */
int rt_source_load(kafu_runtime *rt, const uint8_t *bytes, size_t len, kafu_err *err);
void rt_source_clear(kafu_runtime *rt);
/* The run loop after a capture: serve a pending on-demand checkpoint request. */
void rt_checkpoint_serve(kafu_runtime *rt);
/* The hook: is an on-demand checkpoint wanted? */
bool rt_checkpoint_wanted(kafu_runtime *rt);

/* ---- events.c ------------------------------------------------------------------------- */

/* A migration event is recorded by (and names as "node") the sending node. */
void rt_event_migration(kafu_runtime *rt, const char *from, const char *to, uint32_t fn_id, uint32_t kind,
                        const kafu_rt_migration_stats *st);
/* "start" (res NULL) and "finish" events. */
void rt_event_simple(kafu_runtime *rt, const char *type, const kafu_rt_result *res);
/* NODE mode receiver: the snapshot from `from` was restored (and, when
 * rewind_ms >= 0, the program rewound to its migration point). */
void rt_event_restore(kafu_runtime *rt, const char *from, double decode_ms, double restore_ms, double rewind_ms);
/* The pending restore record (kafu_runtime_resume), once the rewind ended
 * (rewind_ms) or could not be timed (< 0). */
void rt_event_restore_done(kafu_runtime *rt, double rewind_ms);

#endif

/*
 * runtime.h — one node's view of a running Kafu program: the migration logic.
 *
 * A kafu_runtime owns the loaded module, this node's WASI context and engine
 * instance, the migration stack (docs/migration.md) and the memory image this node
 * last held (its delta baseline, docs/snapshot-format.md). It is driven by a front end:
 *
 *   kafu singlenode  — one runtime plays every node: kafu_runtime_run() loops
 *                      until the program ends. EMULATE switches the "current
 *                      node" in place; VERIFY makes every migration a real
 *                      checkpoint -> encode -> fresh instance -> decode -> rewind.
 *   kafu serve       — a runtime per node process: kafu_runtime_run() returns
 *                      KAFU_RT_MIGRATED when execution must continue elsewhere;
 *                      the server then streams kafu_runtime_encode() to the
 *                      target, and on the target feeds the HTTP body into
 *                      kafu_runtime_decoder() and calls kafu_runtime_resume().
 *
 * How a migration point works (docs/abi.md): the guest calls
 * kafu.migration_point(fn_id, kind). ENTER pushes a frame {fn_id, caller node,
 * migrated}; EXIT pops it. When the decision is "run elsewhere", the hook starts
 * an Asyncify unwind; `_start` returns; the runtime stops the unwind and the
 * program state (memory, kafu_global_*, fd table, migration stack) is the
 * snapshot. Resuming = memory + globals + fds restored, asyncify_start_rewind,
 * `_start` again; the hook sees the rewinding state, stops it, and returns.
 *
 * Not thread-safe: one thread drives a runtime (the server serialises).
 */
#ifndef KAFU_RUNTIME_H
#define KAFU_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kafu/config.h"
#include "kafu/engine.h"
#include "kafu/snapshot.h"
#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kafu_runtime kafu_runtime;

typedef enum {
  KAFU_RT_EMULATE = 0, /* singlenode: switch the current node, no checkpoint */
  KAFU_RT_VERIFY = 1,  /* singlenode: real checkpoint/restore into a fresh instance */
  KAFU_RT_NODE = 2,    /* cluster node: return KAFU_RT_MIGRATED to the server */
} kafu_rt_mode;

typedef enum {
  KAFU_RT_FINISHED = 0, /* _start returned: exit code 0 */
  KAFU_RT_EXITED = 1,   /* proc_exit(code) */
  KAFU_RT_TRAPPED = 2,  /* trap (message names node and cause) */
  KAFU_RT_MIGRATED = 3, /* NODE mode: execution continues on result.target */
  KAFU_RT_FAILED = 4,   /* host-side failure (restore, reopen of a file, ...) */
} kafu_rt_status;

typedef struct kafu_rt_result {
  kafu_rt_status status;
  int exit_code;       /* FINISHED/EXITED: the program's; TRAPPED/FAILED: non-zero */
  char node[64];       /* node where it ended / where it left from */
  char target[64];     /* MIGRATED: node to continue on */
  char message[1024];  /* TRAPPED/FAILED: full message */
} kafu_rt_result;

/* Timing and size of one migration (also written as a JSON event). */
typedef struct kafu_rt_migration_stats {
  double unwind_ms, encode_ms, transfer_ms, decode_ms, restore_ms, rewind_ms;
  uint64_t raw_bytes, wire_bytes, memory_size;
  bool delta;
  const char *compression; /* sender: "none", "lz4", "zstd", or auto's choice ("zstd-3"); NULL otherwise */
} kafu_rt_migration_stats;

/* argv[0] of a program run from a config (the original Kafu's too); the
 * environment is app.env (kafu_config_add_env adds a command line's --env). */
#define KAFU_RT_ARGV0 "program"

typedef struct kafu_runtime_opts {
  const kafu_config *cfg;  /* required; borrowed for the runtime's lifetime */
  const uint8_t *wasm;     /* module bytes (borrowed during kafu_runtime_new only) */
  size_t wasm_len;
  const char *self;        /* this node's id; NULL = the coordinator (nodes[0]) */
  kafu_rt_mode mode;
  FILE *events;            /* JSON Lines sink for events, or NULL */
  const kafu_engine_opts *engine; /* NULL = defaults */
  /* Host fds behind guest stdio (0 = inherit 0/1/2). */
  int stdout_fd, stderr_fd;
  /* VERIFY mode: also write every encoded snapshot to
   * DIR/NNNN-<from>-<to>.kafusnap (NNNN = migration number from 0001), for
   * `kafu inspect`. NULL = don't. The directory must exist. */
  const char *snapshot_dir;
  /* NODE mode: called for every received snapshot before it touches memory,
   * with its META, RUN, stack, globals and fds decoded (memory not yet); return
   * negative + err to refuse it (a stale hop, another run, ...). NULL = all
   * snapshots addressed to this node are taken. Not called for the runtime's
   * own snapshots (kafu_runtime_restore, entry checkpoints). */
  int (*admit)(void *ctx, const kafu_snapshot *s, kafu_err *err);
  void *admit_ctx;
  /* Sockets and stdin with a home (kafu/wasi.h, docs/migration.md): the
   * registry of the resources this process is home to (borrowed; it must
   * outlive the runtime; NULL = none, sockets cannot leave the node), and the
   * link that forwards operations on other nodes' resources to them. With a
   * home, every node's nodes.<id>.listen sockets are guest fds, local where
   * the registry has them. */
  kafu_wasi_home *home;
  kafu_wasi_link link;
} kafu_runtime_opts;

/* The checks on a module before anything runs, as every node makes them
 * (kafu_runtime_new does): it is Snapified, and every node its KAFU_DEST
 * annotations name is a node of cfg (the error lists the unknown names, their
 * functions and the nodes). Pre-flight for `kafu launch`, `kafu config check
 * --app`, `kafu kustomize build`. where names the module in messages (NULL =
 * app.path / app.url). */
int kafu_runtime_check_module(const kafu_config *cfg, const uint8_t *wasm, size_t len, const char *where,
                              kafu_err *err);

/* Load + compile the module, read kafu.meta, check every destination is a node
 * of the config (error lists unknown names), create the WASI context and a
 * ready instance. */
int kafu_runtime_new(const kafu_runtime_opts *opts, kafu_runtime **out, kafu_err *err);
void kafu_runtime_free(kafu_runtime *rt);

const char *kafu_runtime_self(const kafu_runtime *rt);
const kafu_module *kafu_runtime_module(const kafu_runtime *rt);
/* Id of the memory image this node holds (its delta baseline); 0 = none. */
uint64_t kafu_runtime_image_id(const kafu_runtime *rt);
/* The snapshot received and not yet resumed (NULL otherwise): its META and RUN
 * fields (memory aside). */
const kafu_snapshot *kafu_runtime_received(const kafu_runtime *rt);
/* NODE mode: the memory image node holds as far as this node knows (0 =
 * unknown): the image this node sent it (acknowledged) or received from it
 * last. This node keeps the page hashes of each, so a snapshot for any peer
 * whose image it knows is a delta against that image, not only for the peer
 * it last exchanged the program with. A wrong belief costs the receiver's
 * refusal (it checks the delta's baseline) and a full retry, never a wrong
 * memory. */
uint64_t kafu_runtime_peer_image(const kafu_runtime *rt, const char *node);
/* Stop believing what node holds (a send to it is under way, failed, or was
 * answered as a duplicate; the node was lost). Its page hashes stay: a
 * receiver that reports the same image id (GET /baseline) still gets a delta
 * against it. */
void kafu_runtime_peer_unknown(kafu_runtime *rt, const char *node);
/* Node (the process a snapshot went to: the target or one of its standbys)
 * acknowledged it: it now holds this node's image. */
void kafu_runtime_peer_holds_mine(kafu_runtime *rt, const char *node);
/* Counters for status/metrics. */
uint64_t kafu_runtime_migrations_in(const kafu_runtime *rt);
uint64_t kafu_runtime_migrations_out(const kafu_runtime *rt);

/* Start the program from `_start` on this node and run until it ends or (NODE
 * mode) leaves this node. */
int kafu_runtime_run(kafu_runtime *rt, kafu_rt_result *res, kafu_err *err);

/* Bring the pending checkpoint's memory image up to date (kafu_runtime_encode
 * then skips that step) and tell how many raw page bytes a snapshot encoded
 * for a receiver holding receiver_image_id will carry: the dirty pages of a
 * delta, 0 for an empty delta, else the whole memory. Lets the caller choose
 * how to send before encoding. */
int kafu_runtime_send_estimate(kafu_runtime *rt, uint64_t receiver_image_id, uint64_t *raw_bytes,
                               kafu_err *err);

/* NODE mode, sender side, after kafu_runtime_run returned KAFU_RT_MIGRATED:
 * encode the pending checkpoint through write(). receiver_image_id is what the
 * target said it holds (0 = nothing). May be called again (retry) until
 * kafu_runtime_sent() confirms the receiver acknowledged. */
int kafu_runtime_encode(kafu_runtime *rt, uint64_t receiver_image_id, kafu_snap_write_fn write, void *ctx,
                        kafu_snap_stats *stats, kafu_err *err);
/* NODE mode, sender side: what a transfer of wire_bytes to node took, from
 * the first byte sent to the answer (seconds), and the connection's round-trip
 * time (0 = unknown). at_least: the encoder, not the link, was the bottleneck,
 * so the link is at least that fast. `compression: auto` chooses from these. */
void kafu_runtime_link_sample(kafu_runtime *rt, const char *node, uint64_t wire_bytes, double seconds,
                              bool at_least, double rtt_seconds);
/* NODE mode: the id of the migration this node is about to send or has just
 * received (the cluster's X-Kafu-Migration-Id); the `migration` and `restore`
 * events carry it as "migration_id", so the two records of one migration can be
 * joined. Call before kafu_runtime_sent (sender) / kafu_runtime_resume
 * (receiver). NULL = none. */
void kafu_runtime_set_migration_id(kafu_runtime *rt, const char *id);

/* The receiver acknowledged: drop the pending checkpoint; this node now holds
 * the image it sent (its new baseline; the caller says which process got it:
 * kafu_runtime_peer_holds_mine). transfer_ms is reported in events. */
void kafu_runtime_sent(kafu_runtime *rt, double transfer_ms);

/* NODE mode, receiver side: a decoder that writes straight into this node's
 * instance memory (rejects another module's snapshot or one not addressed to
 * this node). Feed it the body, then kafu_runtime_finish_receive() and
 * kafu_runtime_resume(); freeing it instead (a body that broke off) undoes
 * what it wrote: memory, its size and the baseline are as before. */
int kafu_runtime_decoder(kafu_runtime *rt, kafu_snap_decoder **out, kafu_err *err);
/* Finish the decoder (validates everything), restore globals, fds and the
 * migration stack, rewind and run until the program ends or leaves again.
 * The decoder is consumed (freed) in all cases. If validation or the restore
 * fails nothing runs: returns negative + err, the node's memory, memory size
 * and baseline are as before, and it stays ready for another attempt. */
int kafu_runtime_finish_receive(kafu_runtime *rt, kafu_snap_decoder *dec, kafu_err *err);
int kafu_runtime_resume(kafu_runtime *rt, kafu_rt_result *res, kafu_err *err);

/* ---- run identity, entry checkpoints, failover (NODE mode; docs/migration.md) --------- */

/* The run and this process's incarnation, written into the RUN section of
 * every snapshot this runtime sends (0 = no run: no RUN section). */
void kafu_runtime_set_run(kafu_runtime *rt, uint64_t run_id, uint64_t incarnation);
/* The hop number the pending checkpoint goes out with (set before encoding it;
 * retries of the same checkpoint keep it). */
void kafu_runtime_set_hop(kafu_runtime *rt, uint64_t hop);

/* The pending checkpoint: where it goes (a node id), which call. */
typedef struct kafu_rt_pending_info {
  const char *target, *from; /* node ids: destination, and where the program is now */
  uint32_t fn_id;
  uint8_t kind; /* kafu_mig_kind */
  const char *function;
} kafu_rt_pending_info;
/* false when there is no pending checkpoint. */
bool kafu_runtime_pending(const kafu_runtime *rt, kafu_rt_pending_info *out);

/* Entry checkpoints. When the program migrates *into* an annotated call
 * (ENTER) and the receiver acknowledged, the sender keeps that checkpoint
 * until the call's return comes back: one per nesting level that left this
 * node, outermost first. The newest one is "live": its memory is this node's
 * instance memory (unchanged while the program is elsewhere) and costs
 * nothing extra. Before a received snapshot overwrites memory while a live
 * entry stays outstanding, that entry's memory is copied (the pages that
 * differ from the copy before it, or all of it); above
 * cluster.failover.checkpoint_memory_mb of copies, the outermost ones are
 * dropped (their calls can then no longer fail over). A received snapshot
 * whose migration stack no longer holds an entry's frame resolves (drops) it. */
typedef struct kafu_rt_entry_info {
  uint64_t hop;         /* hop of the send into the call */
  const char *target;   /* node id the call went to */
  const char *from;     /* node id it was called from */
  const char *function; /* the annotated function */
  uint32_t fn_id, depth;
  bool live;
  uint64_t bytes; /* held beyond the instance memory */
  /* kafu_runtime_entry_note: the node process that acknowledged it */
  const char *delivered_to; /* NULL until noted */
  uint64_t delivered_incarnation;
} kafu_rt_entry_info;
size_t kafu_runtime_entry_count(const kafu_runtime *rt);
/* i = 0 is the outermost; the strings live until the entries change. */
void kafu_runtime_entry_get(const kafu_runtime *rt, size_t i, kafu_rt_entry_info *out);
/* Bytes all entries hold, and how many were dropped over the limit so far. */
uint64_t kafu_runtime_entry_bytes(const kafu_runtime *rt);
uint64_t kafu_runtime_entries_dropped(const kafu_runtime *rt);
/* Record which node process took the newest entry (after kafu_runtime_sent). */
void kafu_runtime_entry_note(kafu_runtime *rt, const char *delivered_to, uint64_t incarnation);
/* Failover: the innermost entry becomes the pending checkpoint again, to be
 * sent to target (the call's node id; its standby may receive it) and run
 * from its entry. Then kafu_runtime_send_estimate/encode/sent as for any
 * migration (the acknowledgement makes it an entry again). */
int kafu_runtime_rearm_entry(kafu_runtime *rt, const char *target, kafu_err *err);
/* Drop the pending checkpoint unsent (the program went on elsewhere). */
void kafu_runtime_discard_pending(kafu_runtime *rt);

/* Resume a saved snapshot (kafu restore): validate it fully for this module
 * and config (format, checksums, module sha256, state, full image), then
 *  - kafu_runtime_restore: run it here (singlenode modes: as its target node;
 *    NODE mode: its target must be this node or one it stands by for), until
 *    the program ends or leaves, as kafu_runtime_resume;
 *  - kafu_runtime_arm_snapshot (NODE mode): make it the pending checkpoint, to
 *    be sent to its target node (kafu_runtime_pending tells which). */
int kafu_runtime_restore(kafu_runtime *rt, const uint8_t *bytes, size_t len, kafu_rt_result *res,
                         kafu_err *err);
int kafu_runtime_arm_snapshot(kafu_runtime *rt, const uint8_t *bytes, size_t len, kafu_err *err);
/* Whether this node may resume a snapshot addressed to node id `role`: its
 * own id, or a node it is a standby for (nodes.<id>.standby). */
bool kafu_runtime_has_role(const kafu_runtime *rt, const char *role);

/* On-demand checkpoint (POST /checkpoint): at the next migration point the
 * program reaches on this node, a full snapshot that resumes right there is
 * encoded and handed to on_ready (on the engine thread); the program goes on
 * (or migrates, as it was about to). Thread-safe. */
typedef void (*kafu_rt_checkpoint_fn)(void *ctx, const uint8_t *bytes, size_t len, const char *err);
void kafu_runtime_request_checkpoint(kafu_runtime *rt, kafu_rt_checkpoint_fn on_ready, void *ctx);
/* Forget a request not served yet (returns true when there was one). Thread-safe. */
bool kafu_runtime_cancel_checkpoint(kafu_runtime *rt);

/* Timing and size of this node's last migration, every phase it saw: a sender
 * fills unwind/encode/transfer (after kafu_runtime_sent), a receiver decode/
 * restore (after kafu_runtime_finish_receive) and rewind (once the resumed
 * program reached its migration point again; 0 until then). Fields of the
 * other side are 0. */
void kafu_runtime_last_stats(const kafu_runtime *rt, kafu_rt_migration_stats *out);
/* How this node finds the pages a delta must carry: "uffd" (userfaultfd
 * write-protect tracking) or "hash" (rehash all of memory). */
const char *kafu_runtime_dirty_tracking(const kafu_runtime *rt);

/* ---- dirty-page tracking (src/runtime/dirty.c) ------------------------------------- */
/* Pages written in [base, base + span) since they were last collected, found
 * with userfaultfd asynchronous write-protection + PAGEMAP_SCAN (Linux >= 6.7)
 * instead of comparing memory. The runtime uses it for NODE-mode deltas unless
 * $KAFU_DIRTY_TRACKING=hash; when unavailable it falls back to hashing. */
typedef struct kafu_dirty kafu_dirty;
/* $KAFU_DIRTY_TRACKING, or "auto" when unset: "hash" forces the fallback. */
const char *kafu_dirty_env_mode(void);
/* Register [base, base + span) (page aligned; may include PROT_NONE parts that
 * are made accessible later). Fails (negative + err) when the kernel or the
 * privileges do not allow it. No page counts as written until the first
 * kafu_dirty_collect() arms the tracking. */
int kafu_dirty_open(uint8_t *base, uint64_t span, kafu_dirty **out, kafu_err *err);
/* Fill bits ((size/4096 + 63)/64 words; NULL = just re-arm) with the pages of
 * [base, base + size) written since the previous collect (or, the first time,
 * every populated page), and write-protect them again in the same walk. The set
 * may hold pages that were written with their old content; never misses one. */
int kafu_dirty_collect(kafu_dirty *d, uint64_t size, uint64_t *bits, kafu_err *err);
/* Drop the write protection of [base, base + size) in one page-table walk, so
 * that a bulk writer (the snapshot decoder) takes no fault per page; every page
 * then counts as written at the next collect. */
int kafu_dirty_release(kafu_dirty *d, uint64_t size, kafu_err *err);
/* The same for the pages [first, first + npages) only (one UFFDIO_WRITEPROTECT). */
int kafu_dirty_release_range(kafu_dirty *d, uint64_t first, uint64_t npages, kafu_err *err);
void kafu_dirty_close(kafu_dirty *d);
/* Does userfaultfd write-protection really track writes here? Registers a few
 * scratch pages, writes one, and checks that exactly that one is reported
 * (once per process; the result is remembered). 0, or < 0 with err naming what
 * is missing — e.g. under qemu-user, which has no userfaultfd. */
int kafu_dirty_probe(kafu_err *err);

#ifdef __cplusplus
}
#endif
#endif

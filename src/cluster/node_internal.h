/*
 * node_internal.h — struct kafu_node, shared by the files of one cluster node:
 *
 *   node.c          state machine, lifecycle, end of a run
 *   node_engine.c   the engine thread and its mailbox
 *   node_send.c     the send transport (buffer or stream, retries, baselines)
 *   endpoints.c     the HTTP handlers
 *   node_io.c       sockets and stdin across nodes: the home registry, the
 *                   link for forwarded calls, POST /io
 *   liveness.c      heartbeats, peer monitoring, start-up readiness wait
 */
#ifndef KAFU_NODE_INTERNAL_H
#define KAFU_NODE_INTERNAL_H

#include <pthread.h>
#include <stdio.h>

#include "cluster_internal.h"
#include "kafu/runtime.h"

/* Clients per peer for forwarded calls: the engine thread's, and poll helper
 * threads' while it waits on several nodes (node_io.c). */
#define KAFU_IO_CLIENTS 8

typedef enum {
  KAFU_NODE_STARTING = 0,
  KAFU_NODE_IDLE,
  KAFU_NODE_RECEIVING,
  KAFU_NODE_RUNNING,
  KAFU_NODE_SENDING,
  KAFU_NODE_FINISHED,
} kafu_node_state;

/* Work the engine thread does for an HTTP thread (see node_engine.c). */
typedef enum {
  KAFU_CALL_NONE = 0,
  KAFU_CALL_DECODER, /* kafu_runtime_decoder -> *dec */
  KAFU_CALL_FINISH,  /* kafu_runtime_finish_receive(dec); on success the engine resumes */
  KAFU_CALL_ABORT,   /* kafu_snap_decoder_free(dec) */
} kafu_call_kind;

struct kafu_node {
  kafu_node_opts o; /* strings owned (copied) */
  const kafu_config *cfg;
  int self_idx;
  bool coordinator;
  char self[64];
  kafu_log_ctx log;   /* "node <self>": the prefix of this node's logs and errors */
  char hostport[300]; /* where we listen */
  uint16_t port;
  uint64_t start_ns, start_wall_ns;
  FILE *events;
  kafu_http_server *srv;
  kafu_metrics metrics;

  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC; broadcast on every change below */
  /* CLOCK_MONOTONIC; broadcast only when done becomes true: threads that wait
   * for the end alone (kafu_node_wait, kafu_node_sleep) wait here, so the
   * state changes of every migration do not wake them */
  pthread_cond_t done_cv;
  kafu_node_state state;
  bool ready; /* runtime created */
  char not_ready[1200];
  bool started; /* coordinator: the program was started */
  bool ending;  /* telling the peers that the run is over */
  bool done;
  bool failure; /* done because something failed (reason says what) */
  /* ... on a peer, which says so itself: under kafu launch this node then
   * ends without repeating the reason (kafu_node_wait gives no message) */
  bool failure_elsewhere;
  int exit_code;
  char reason[1200];
  bool engine_running, engine_parked;
  bool engine_in_wasm; /* inside kafu_runtime_run/resume (may never return) */
  /* the engine thread's mailbox, one call at a time (node_engine.c) */
  struct {
    kafu_call_kind kind;
    bool done;
    kafu_snap_decoder *dec;
    int rc;
    kafu_err err;
    bool resume; /* a snapshot was restored: run the program */
    /* a snapshot was restored and its 200 is on its way: the engine resumes
     * once the answer was written (kafu_node_answered), so the sender gets
     * it before the program competes for the CPU; at the latest at
     * answer_deadline (monotonic ns) */
    bool answer_pending;
    uint64_t answer_deadline;
    bool borrowed; /* an HTTP thread runs a call itself while the engine is parked */
  } mbox;
  uint64_t incarnation; /* random per process start: tells a restarted node from the one that held the run */
  /* the run (docs/migration.md, "Run identity"): guarded by mu */
  struct {
    uint64_t id;        /* 0 = no run known yet */
    uint64_t hop;       /* highest hop seen: sent, received, or learnt from a peer */
    bool joined;        /* asked the peers about a run in progress (snapshots wait for it) */
    uint64_t *peer_inc; /* per node: its incarnation as last seen (0 = unknown) */
    int *route;         /* per node id: the node process that serves it now (a standby after failover) */
  } run;
  /* copies of the runtime's entry checkpoints for other threads (refresh_cache) */
  struct {
    size_t n;
    uint64_t bytes, dropped;
    uint64_t inner_hop; /* the innermost entry */
    char inner_fn[128], inner_target[64], inner_to[64];
    uint64_t inner_inc;
  } ent;
  /* failover of the innermost entry (liveness decides, the engine thread acts) */
  struct {
    bool requested;
    uint64_t hop;       /* the hop (new epoch) the re-sent entry goes out with */
    uint64_t entry_hop; /* the entry it is for */
    char lost[64];      /* the node process that was lost */
    char why[1000];
    uint64_t t_lost;       /* when the loss was detected */
    uint64_t accepted_inc; /* a changed incarnation found harmless (the program lives on) */
  } fo;
  /* POST /checkpoint: one waiting request at a time */
  struct {
    bool waiting, ready;
    kafu_buf bytes;
    char err[600];
  } ck;
  char last_mig_id[128]; /* X-Kafu-Migration-Id of the last snapshot accepted here */
  uint64_t recv_bytes;   /* the snapshot being finished (for the log) */
  char recv_id[128];     /* ... its X-Kafu-Migration-Id (for the events) */
  double recv_ms;
  /* copies of runtime facts for other threads (written by the engine thread) */
  uint64_t image_id, mig_in, mig_out;
  char module_sha[65]; /* set as soon as the module's bytes are loaded */
  /* the module's bytes, kept to compile it for a peer of another
   * architecture (artifacts.c); set before module_sha, never changed after */
  uint8_t *app_wasm;
  size_t app_wasm_len;
  uint64_t *last_seen; /* per node: last heartbeat (coordinator), monotonic ns */

  kafu_runtime *rt;
  /* sockets and stdin with a home (node_io.c): the registry of what this node
   * is home to (outlives rt), and the clients forwarded calls go through */
  kafu_wasi_home *home;
  struct {
    pthread_mutex_t mu;
    bool mu_init;
    kafu_http_client (*cl)[KAFU_IO_CLIENTS]; /* per node */
    bool (*busy)[KAFU_IO_CLIENTS];
  } io;
  pthread_t engine_thr, live_thr;
  bool engine_started, live_started;
  kafu_http_client *eng_cl;  /* per node: engine thread's clients */
  kafu_http_client *live_cl; /* per node: liveness thread's clients */
  /* the send transport (node_send.c; engine thread only) */
  struct {
    /* reused across sends, so no migration pays fresh-page faults for
     * megabytes of new buffers (send_once) */
    kafu_buf buf;
    uint8_t *ring;
    unsigned seq;
    char mig_id[128]; /* id of the outgoing migration: "<self>.<start time>.<seq>" */
  } tx;
};

/* Refusals of a snapshot that is not the one this node expects (409). */
enum {
  KAFU_ESTALE = -1200, /* a hop this node has already seen, or from a replaced sender: a replay */
  KAFU_ERUN = -1201,   /* another run */
};

/* Header naming a migration, so a retry after a lost acknowledgement is
 * answered "already have it" instead of 409 by a receiver that resumed. */
#define KAFU_MIGRATION_ID_HEADER "X-Kafu-Migration-Id"

const char *kafu_node_state_name(kafu_node_state s);
/* With n->mu held: wait on n->cv for at most ms. */
void kafu_node_timed_wait(kafu_node *n, uint64_t ms);
/* With n->mu held: wait on cv until the monotonic time deadline_ns. */
void kafu_node_wait_until(kafu_node *n, pthread_cond_t *cv, uint64_t deadline_ns);
/* Sleep ms unless the node finishes first; returns false when it did. */
bool kafu_node_sleep(kafu_node *n, uint64_t ms);
/* set[i], initialised on first use (the peer's address and the cluster token). */
kafu_http_client *kafu_node_client(kafu_node *n, kafu_http_client *set, size_t i, kafu_err *err);
/* Mark the node done (first caller wins). */
void kafu_node_finish(kafu_node *n, int code, bool failure, const char *reason);
/* The same, for a failure a peer reported (POST /shutdown): see failure_elsewhere. */
void kafu_node_finish_for_peer(kafu_node *n, int code, bool failure, const char *reason);
/* Tell every peer (POST /shutdown), then finish. Once per node. */
void kafu_node_end_cluster(kafu_node *n, kafu_http_client *set, int code, const char *status, bool failure,
                           const char *reason);
void kafu_node_broadcast_shutdown(kafu_node *n, kafu_http_client *set, int code, const char *status,
                                  const char *reason);
/* Refresh the copies of runtime facts other threads read (engine thread, or
 * an HTTP thread borrowing it). */
void kafu_node_refresh_cache(kafu_node *n);

/* node_engine.c */
void *kafu_node_engine_main(void *arg);
/* Run kind on the engine thread and wait for it. */
int kafu_node_engine_call(kafu_node *n, kafu_call_kind kind, kafu_snap_decoder **dec, kafu_err *err);
/* The answer to a POST /migrate went out: resume a restored program now. */
void kafu_node_answered(kafu_node *n);

/* node_send.c */
/* Deliver the pending checkpoint to node id target: its current node process,
 * the node itself (waiting up to cluster.failover.wait_ms for it), then its
 * standbys in order. hop 0 = the next hop of the run. 0 once acknowledged;
 * KAFU_ESTALE when a receiver says the program has moved on without us (the
 * checkpoint is then obsolete). */
int kafu_node_send_snapshot(kafu_node *n, const char *target, uint64_t hop, kafu_err *err);

/* node.c: run identity */
/* "%016llx" of an id. */
void kafu_id_str(uint64_t id, char out[17]);
/* Learn what a peer says about the run (status, heartbeat): adopt its run when
 * none is known, raise the hop. n->mu held. */
void kafu_node_learn_locked(kafu_node *n, int peer, uint64_t inc, uint64_t run, uint64_t hop);
/* The hop after every hop seen, in a new failover epoch (high 32 bits). */
uint64_t kafu_next_epoch(uint64_t hop);
/* Append the node's identity fields to a JSON object being written:
 * ,"incarnation":"..","run":"..","hop":N (n->mu held). */
void kafu_node_json_identity(kafu_node *n, kafu_buf *b);
/* {"node":"<self>",<identity>}: what heartbeats and POST /run carry (takes n->mu). */
void kafu_node_identity_body(kafu_node *n, kafu_buf *b);

/* liveness.c: what the peers say (GET /status of each) */
typedef struct kafu_peer_view {
  bool ok;
  uint64_t inc, run, hop, entry_hop;
  bool holds; /* running, sending or receiving the program */
  char state[16];
} kafu_peer_view;
void kafu_node_survey(kafu_node *n, kafu_http_client *set, kafu_peer_view *out, long timeout_ms);

/* node_io.c */
/* The home registry (and this node's nodes.<id>.listen sockets in it). */
int kafu_node_io_init(kafu_node *n, kafu_err *err);
void kafu_node_io_free(kafu_node *n);
/* kafu_wasi_link.call: one forwarded call to node `home`. Thread-safe. */
int kafu_node_io_call(void *ctx, const char *home, const uint8_t *req, size_t len, kafu_buf *resp,
                      kafu_err *err);
/* POST /io: answer a forwarded call as the home. */
void kafu_node_io_answer(kafu_node *n, kafu_http_request *r, kafu_http_response *resp);
/* artifacts.c: GET /aot/<sha>/<arch>, and asking peers for compiled code */
bool kafu_node_is_artifact_path(const char *url);
void kafu_node_serve_artifact(kafu_node *n, kafu_http_request *r, kafu_http_response *resp);
int kafu_node_fetch_artifact(kafu_node *n, const char *sha_hex, kafu_err *err);

/* endpoints.c */
kafu_http_handlers kafu_node_handlers(kafu_node *n);
/* liveness.c */
void *kafu_node_liveness_main(void *arg);
/* 0 when every peer is ready; 1 when a peer takes part in a run already. */
int kafu_node_wait_peers(kafu_node *n, kafu_err *err);
/* The runtime's admission hook (kafu_runtime_opts.admit): a snapshot is taken
 * only for this node's run and a hop it has not seen, from the current
 * incarnation of its sender; else KAFU_ERUN / KAFU_ESTALE. */
int kafu_node_admit(void *ctx, const kafu_snapshot *s, kafu_err *err);

#endif

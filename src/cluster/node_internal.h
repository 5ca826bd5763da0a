/*
 * node_internal.h — struct kafu_node, shared by the files of one cluster node:
 *
 *   node.c          state machine, lifecycle, end of a run
 *   node_engine.c   the engine thread and its mailbox
 *   node_send.c     the send transport (buffer or stream, retries, baselines)
 *   endpoints.c     the HTTP handlers
 *   liveness.c      heartbeats, peer monitoring, start-up readiness wait
 */
#ifndef KAFU_NODE_INTERNAL_H
#define KAFU_NODE_INTERNAL_H

#include <pthread.h>
#include <stdio.h>

#include "cluster_internal.h"
#include "kafu/runtime.h"

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
  kafu_node_state state;
  bool ready; /* runtime created */
  char not_ready[1200];
  bool started; /* coordinator: the program was started */
  bool ending;  /* telling the peers that the run is over */
  bool done;
  bool failure; /* done because something failed (reason says what) */
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
    bool resume;   /* a snapshot was restored: run the program */
    bool borrowed; /* an HTTP thread runs a call itself while the engine is parked */
  } mbox;
  char last_mig_id[128]; /* X-Kafu-Migration-Id of the last snapshot accepted here */
  uint64_t recv_bytes;   /* the snapshot being finished (for the log) */
  double recv_ms;
  /* copies of runtime facts for other threads (written by the engine thread) */
  uint64_t image_id, mig_in, mig_out;
  char module_sha[65];
  uint64_t *last_seen; /* per node: last heartbeat (coordinator), monotonic ns */

  kafu_runtime *rt;
  pthread_t engine_thr, live_thr;
  bool engine_started, live_started;
  kafu_http_client *eng_cl;  /* per node: engine thread's clients */
  kafu_http_client *live_cl; /* per node: liveness thread's clients */
  /* the send transport (node_send.c; engine thread only) */
  struct {
    /* per node: the memory image it is believed to hold, learnt from our
     * last acknowledged send to it or our last receive from it; 0 = unknown:
     * ask with GET /baseline. A stale guess costs a 409 "baseline" and a full
     * retry, never a wrong memory (the receiver checks). */
    uint64_t *peer_image;
    /* reused across sends, so no migration pays fresh-page faults for
     * megabytes of new buffers (send_once) */
    kafu_buf buf;
    uint8_t *ring;
    unsigned seq;
    char mig_id[128]; /* id of the outgoing migration: "<self>.<start time>.<seq>" */
  } tx;
};

/* Header naming a migration, so a retry after a lost acknowledgement is
 * answered "already have it" instead of 409 by a receiver that resumed. */
#define KAFU_MIGRATION_ID_HEADER "X-Kafu-Migration-Id"

const char *kafu_node_state_name(kafu_node_state s);
/* With n->mu held: wait on n->cv for at most ms. */
void kafu_node_timed_wait(kafu_node *n, uint64_t ms);
/* Sleep ms unless the node finishes first; returns false when it did. */
bool kafu_node_sleep(kafu_node *n, uint64_t ms);
/* set[i], initialised on first use (the peer's address and the cluster token). */
kafu_http_client *kafu_node_client(kafu_node *n, kafu_http_client *set, size_t i, kafu_err *err);
/* Mark the node done (first caller wins). */
void kafu_node_finish(kafu_node *n, int code, bool failure, const char *reason);
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

/* node_send.c */
/* Deliver the pending checkpoint to target; 0 once acknowledged. */
int kafu_node_send_snapshot(kafu_node *n, const char *target, kafu_err *err);

/* endpoints.c */
kafu_http_handlers kafu_node_handlers(kafu_node *n);
/* liveness.c */
void *kafu_node_liveness_main(void *arg);
int kafu_node_wait_peers(kafu_node *n, kafu_err *err);

#endif

/*
 * cluster.h — a Kafu cluster over HTTP: one node (`kafu serve`) and the local
 * launcher (`kafu launch`). The protocol and endpoints are in docs/cluster.md.
 *
 * A node is three kinds of threads around one kafu_runtime (runtime.h):
 *
 *   engine thread   the only thread that drives the runtime: creates it (load +
 *                   compile), runs the program, encodes outgoing snapshots, and
 *                   performs decoder set-up / final validation / restore on
 *                   behalf of the HTTP threads (a one-slot mailbox), then resumes;
 *   HTTP threads    libmicrohttpd, one per connection: endpoints; POST /migrate
 *                   pushes the body straight into the runtime's decoder as it
 *                   arrives (nothing is buffered whole, no size cap);
 *   liveness        followers POST /heartbeat to the coordinator every
 *                   cluster.heartbeat.interval_ms; the coordinator notices a
 *                   silent follower (and says so); a node that kept the entry
 *                   checkpoint of a call probes the node running it (its
 *                   incarnation) and re-runs the call when it was lost.
 *
 * The node's state (starting, idle, receiving, running, sending, finished) is
 * guarded by one mutex; the runtime itself is only touched while the state
 * says whose turn it is, so it never needs to be thread-safe.
 */
#ifndef KAFU_CLUSTER_H
#define KAFU_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "kafu/config.h"
#include "kafu/engine.h"
#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit status of a node (and of `kafu launch`) when the cluster, not the
 * program, failed: a call could not run again after its node died, a snapshot
 * could not be delivered, start-up timed out. The program's own exit code is
 * used otherwise. */
#define KAFU_EXIT_CLUSTER 1

/* Transient send failures are retried with exponential backoff (first delay,
 * doubling, capped per wait), for at most cluster.failover.wait_ms in total
 * per node process tried. */
#define KAFU_SEND_RETRY_FIRST_MS 50
#define KAFU_SEND_RETRY_MAX_WAIT_MS 2000

/* Heartbeats: a follower declares the coordinator lost after this many
 * consecutive failed heartbeats; the coordinator probes a follower silent for
 * this many intervals (and at least KAFU_SILENCE_MIN_MS). */
#define KAFU_HEARTBEAT_MISSES 3
#define KAFU_SILENCE_MIN_MS 300

typedef struct kafu_node kafu_node;

typedef struct kafu_node_opts {
  const kafu_config *cfg; /* required; borrowed, must outlive the node */
  const char *self;       /* this node's id (required, must be in cfg->nodes) */
  /* Listen address: "HOST", "HOST:PORT", ":PORT", "[V6]:PORT". NULL = the
   * node's port, on its address when that is a loopback address, else on all
   * interfaces (the config address may be a name only peers can resolve). */
  const char *listen;
  const char *events_path;        /* append JSON Lines events here (O_APPEND), or NULL */
  const char *save_snapshots_dir; /* debug: also write each outgoing snapshot (full) here, or NULL */
  /* coordinator only: start the run from this saved snapshot instead of
   * `_start` (kafu restore); it is validated before anything starts */
  const char *restore_path;
  /* `kafu launch`: when this node ends the run, it writes "exit <code>\n" to
   * this descriptor (a pipe launch reads), so launch exits with the program's
   * code even when the coordinator is gone. 0 = none. */
  int report_fd;
  const kafu_engine_opts *engine; /* NULL = defaults */
} kafu_node_opts;

/* Bind the port and start the HTTP server (errors: port in use, bad --listen,
 * unknown node), then load + compile the module on the engine thread in the
 * background (/readyz answers 503 until done). */
int kafu_node_start(const kafu_node_opts *opts, kafu_node **out, kafu_err *err);
/* Block until the node is done. Returns the exit code of this process: the
 * program's exit code when it ended (here or on a peer), KAFU_EXIT_CLUSTER or
 * another non-zero code on failure. why (may be NULL) gets the reason when the
 * run failed (trap, peer lost, signal, ...: node and cause named), and "" when
 * the program simply ended, whatever its exit code. */
int kafu_node_wait(kafu_node *n, kafu_err *why);
/* Ask the node to end with this exit code (e.g. a signal). Thread-safe and
 * async-signal-unsafe: call from a normal thread. Does not tell the peers. */
void kafu_node_stop(kafu_node *n, int exit_code, const char *reason);
/* Port the server listens on. */
uint16_t kafu_node_port(const kafu_node *n);
/* Stop the server and the threads, free everything. Returns 0 after a clean
 * teardown, 1 when the engine thread was still executing the program and was
 * left running (the caller should then _exit() without running atexit code). */
int kafu_node_free(kafu_node *n);

/* ---- kafu checkpoint ------------------------------------------------------------------ */

/* Ask the cluster of cfg for a checkpoint of its program: find the node
 * running it (GET /status of each node, or only `node` when not NULL) and
 * POST /checkpoint there; the node answers a full snapshot taken at the
 * program's next migration point, within timeout_ms. *out gets the snapshot,
 * taken_on (64 bytes) the node id. Errors name the nodes and why. */
int kafu_cluster_checkpoint(const kafu_config *cfg, const char *node, long timeout_ms, kafu_buf *out,
                            char *taken_on, kafu_err *err);

/* ---- kafu launch ---------------------------------------------------------------------- */

/* kafu_addr_is_loopback: kafu/util.h */

/* Bind node `node`'s nodes.<id>.listen sockets and register them in `home`,
 * which then serves that node (a cluster node does this for itself; `kafu
 * singlenode` for every node). Errors name the config key and the address. */
int kafu_cluster_bind_listen(const kafu_config *cfg, const char *node, kafu_wasi_home *home, kafu_err *err);

typedef struct kafu_launch_opts {
  const kafu_config *cfg;  /* required */
  const char *config_path; /* passed to each `kafu serve` (required) */
  const char *exe;         /* kafu executable; NULL = /proc/self/exe */
  bool no_prefix;          /* children write straight to out_fd/err_fd */
  const char *events_path; /* every node appends its events here (truncated first), or NULL */
  int out_fd, err_fd;      /* where output goes; 0 = 1 and 2 */
  const char *restore_path; /* the coordinator starts the run from this snapshot (kafu restore), or NULL */
  char *const *env;        /* "NAME=VALUE" for the program, passed on as --env (n_env of them) */
  size_t n_env;
  unsigned port_base;      /* 0, or passed on as --port-base (cfg must have it applied already) */
  bool quiet;              /* pass -q on: the nodes log only warnings and errors */
} kafu_launch_opts;

/* Every node must be local and every address:port distinct and free. Errors name
 * the node. */
int kafu_launch_check(const kafu_config *cfg, kafu_err *err);
/* Start one `kafu serve --node-id ID CONFIG` per node, relay their output (line
 * by line, "[id] " prefixed unless no_prefix), forward SIGINT/SIGTERM, and wait.
 * Returns the exit code of the run, as the node where it ended reports it
 * (kafu serve --report-fd), else the coordinator's exit status (128+N when
 * killed by signal N), or KAFU_EXIT_CLUSTER with err set when a node failed
 * before the program ended. A node killed by a signal launch did not send
 * (the coordinator too) does not end the run: the others may fail over.
 * Negative + err when nothing could be started. */
int kafu_launch_run(const kafu_launch_opts *opts, kafu_err *err);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_CLUSTER_H */

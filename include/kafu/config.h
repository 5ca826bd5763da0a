/*
 * config.h — kafu-config.yaml: load, validate, normalize, emit.
 *
 * The schema is the original Kafu's plus additive extensions; the
 * full reference is docs/config.md. Parsing uses libyaml's document API so every
 * key keeps its line and column: every error names "file:line:col: key.path: what
 * is wrong" (e.g. `kafu-config.yaml:7:5: nodes.edge.port: must be an integer
 * 1..65535, got "x"`). Unknown keys, duplicate keys and wrong YAML types are
 * errors; unknown keys get a "did you mean" hint.
 *
 * A loaded kafu_config is immutable plain data owned by the caller (free it with
 * kafu_config_free); all strings are malloc'd and NUL-terminated. Relative paths
 * (app.path, app.preopened_dir) are already resolved against the directory of
 * the config file, so consumers never see a relative path.
 */
#ifndef KAFU_CONFIG_H
#define KAFU_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults (documented in docs/config.md). */
#define KAFU_CONFIG_DEFAULT_INTERVAL_MS 1000u
#define KAFU_CONFIG_DEFAULT_STARTUP_TIMEOUT_MS 30000u
#define KAFU_CONFIG_DEFAULT_FAILOVER_WAIT_MS 10000u
#define KAFU_CONFIG_DEFAULT_CHECKPOINT_MEMORY_MB 1024u
/* The config file commands read when none is named (as the original's kustomize). */
#define KAFU_CONFIG_DEFAULT_FILE "kafu-config.yaml"
/* Node ids: kafu_node_id_valid (kafu/util.h), the one rule shared with Snapify. */

typedef enum {
  KAFU_ON_COORDINATOR_LOST_SHUTDOWN_SELF = 0, /* default: follower exits */
  KAFU_ON_COORDINATOR_LOST_IGNORE = 1,        /* follower keeps running */
} kafu_on_coordinator_lost;

typedef enum {
  KAFU_COMPRESSION_NONE = 0,
  KAFU_COMPRESSION_LZ4 = 1, /* the original's memory_compression: true */
  KAFU_COMPRESSION_ZSTD = 2,
  /* chosen per migration (none, LZ4 or zstd and its level) from the measured
   * link throughput and the codecs' measured speed and ratio on the program's
   * pages (docs/config.md); cluster nodes only, elsewhere LZ4. The default
   * when the config names neither memory_compression nor compression. */
  KAFU_COMPRESSION_AUTO = 3,
} kafu_compression;

typedef enum {
  KAFU_MEMORY_MIGRATION_DELTA = 0, /* default: changed pages vs. a baseline the peer holds */
  KAFU_MEMORY_MIGRATION_FULL = 1,  /* always the whole linear memory */
} kafu_memory_migration;

/* A named model of a node (extension: nodes.<id>.models: {name: path}), what
 * wasi-nn load_by_name(name) loads on that node. */
typedef struct kafu_config_model {
  char *name;
  char *path; /* absolute (resolved against the config's directory) */
  int line;   /* of the name in the file */
} kafu_config_model;

/* A listening socket the program gets on a node (nodes.<id>.listen). */
typedef struct kafu_config_listen {
  char *host;    /* IPv4/IPv6 literal (without brackets) or host name */
  uint16_t port; /* 1..65535 */
} kafu_config_listen;

#define KAFU_CONFIG_MAX_LISTEN 16 /* per node */

/* (extension) Kubernetes resource requests and limits of a node's Pod
 * (`kafu kustomize build`): quantities as Kubernetes writes them ("500m",
 * "2", "256Mi", "1G"); "" = not set. Ignored by the runtime. */
#define KAFU_CONFIG_QUANTITY_MAX 32
typedef struct kafu_config_resources {
  char requests_cpu[KAFU_CONFIG_QUANTITY_MAX], requests_memory[KAFU_CONFIG_QUANTITY_MAX];
  char limits_cpu[KAFU_CONFIG_QUANTITY_MAX], limits_memory[KAFU_CONFIG_QUANTITY_MAX];
} kafu_config_resources;

typedef struct kafu_config_node {
  char *id;                  /* key in `nodes` */
  char *address;             /* host name or IP, non-empty */
  uint16_t port;             /* 1..65535 */
  char *placement;           /* NULL when absent (tools then use id) */
  kafu_config_model *models; /* nodes.<id>.models, file order */
  size_t nmodels;
  /* (extension) node ids that take this node's calls when it is down, tried in
   * order (docs/migration.md, "Failover"); each a node of `nodes`, not this one */
  char **standby;
  size_t nstandby;
  int line, col; /* 1-based position of the node's key in the file */
  /* nodes.<id>.listen (extension): sockets bound on this node and given to
   * the program as preopened listening sockets, homed here (guest fds after
   * the preopen, in node order, then list order) */
  kafu_config_listen *listen;
  size_t nlisten;
  kafu_config_resources resources; /* nodes.<id>.resources: overrides cluster.resources per value */
} kafu_config_node;

typedef struct kafu_config_app {
  char *path; /* absolute path of the module, or NULL when url is set */
  char *url;  /* http://, https:// or file:// URL, or NULL when path is set */
  bool has_sha256;
  uint8_t sha256[KAFU_SHA256_LEN]; /* expected module digest when has_sha256 */
  char **args;                     /* argv[1..] for the guest (not including argv[0]) */
  size_t nargs;
  char **env; /* app.env (extension) as "NAME=VALUE", file order, then kafu_config_add_env's */
  size_t nenv;
  char *preopened_dir; /* absolute directory, or NULL when absent */
  bool allow_root_preopen; /* app.allow_root_preopen: preopened_dir may be "/" */
  char *aot_dir;       /* (extension) absolute directory of precompiled artifacts, or NULL */
} kafu_config_app;

/* cluster.tls: every node serves HTTPS with cert/key and accepts a POST only
 * from a client presenting a certificate that ca signed; its own requests
 * present cert/key and check the peer's certificate against ca. Absolute PEM
 * file paths; cert == NULL = plain HTTP. */
typedef struct kafu_config_tls {
  char *cert, *key, *ca;
} kafu_config_tls;

typedef struct kafu_config {
  char *name;
  kafu_config_app app;
  kafu_config_node *nodes; /* file order; nodes[0] is the coordinator */
  size_t nnodes;
  struct {
    uint32_t interval_ms; /* > 0 */
    kafu_on_coordinator_lost on_coordinator_lost;
  } heartbeat;
  struct {
    kafu_compression compression; /* memory_compression:false == NONE */
    kafu_memory_migration mode;
  } migration;
  struct {
    uint64_t max_model_bytes;  /* cluster.wasi_nn.max_model_bytes, 0 = default (kafu/nn.h) */
    uint64_t max_tensor_bytes; /* cluster.wasi_nn.max_tensor_bytes, 0 = default */
  } wasi_nn;
  struct {
    uint32_t wait_ms;              /* how long a send waits for one node to come back before the next */
    uint32_t checkpoint_memory_mb; /* entry checkpoints kept per node (MiB); the outermost go first */
  } failover;
  char *token;                 /* cluster.token shared secret (or read from token_file), or NULL */
  char *token_file;            /* cluster.token_file (absolute), or NULL */
  kafu_config_tls tls;         /* cluster.tls: mutual TLS between nodes (all NULL = plain HTTP) */
  kafu_config_resources resources; /* cluster.resources: every node's Pod, unless the node says otherwise */
  uint32_t startup_timeout_ms; /* coordinator waits this long for peers */
  char *config_path;           /* absolute path of the file ("<string>" when loaded from memory) */
  char *config_dir;            /* absolute directory relative paths resolved against */
  char *raw;                   /* the file's text as read, NUL-terminated */
  size_t raw_len;
} kafu_config;

/* Load and validate a config file. On success *out is owned by the caller.
 * Errors: KAFU_ENOENT/KAFU_EIO (unreadable), KAFU_EFORMAT (YAML syntax),
 * KAFU_EINVAL (schema); err->msg starts with "path:line:col: key: ". */
int kafu_config_load(const char *path, kafu_config **out, kafu_err *err);

/* Same from memory: `display_name` is used in messages, `base_dir` for relative
 * paths (NULL = current directory). */
int kafu_config_load_string(const char *text, size_t len, const char *display_name, const char *base_dir,
                            kafu_config **out, kafu_err *err);

void kafu_config_free(kafu_config *c);

/* Index of node `id` in c->nodes, or -1. */
int kafu_config_node_index(const kafu_config *c, const char *id);
/* The node or NULL. */
const kafu_config_node *kafu_config_node_find(const kafu_config *c, const char *id);

/* "http://<address>:<port>" for a node (IPv6 addresses bracketed), malloc'd;
 * NULL on ENOMEM. The base URL peers use for the node's endpoints. */
char *kafu_config_node_url(const kafu_config_node *n);
/* A Kubernetes resource quantity ("500m", "1.5", "256Mi", "2G", "1e9") as a
 * number (cores or bytes): 0, or KAFU_EINVAL when it is not one. */
int kafu_config_quantity(const char *q, double *out);
/* Node n's resources: each value from nodes.<id>.resources, else from
 * cluster.resources. */
void kafu_config_node_resources(const kafu_config *c, const kafu_config_node *n, kafu_config_resources *out);

/* Every destination (KAFU_DEST node name from the module) must be a node of the
 * config. On failure: KAFU_EINVAL and a message listing every unknown name
 * (with a "did you mean" hint) and the config's nodes. */
int kafu_config_check_destinations(const kafu_config *c, const char *const *dests, size_t n, kafu_err *err);
/* Same, naming the annotated function of each destination in the message
 * (fns[i] is the function annotated with dests[i]; fns may be NULL). */
int kafu_config_check_destinations_fn(const kafu_config *c, const char *const *dests, const char *const *fns,
                                      size_t n, kafu_err *err);

/* Read the module: app.path, or fetch app.url with libcurl (http, https, file;
 * redirects followed, HTTP >= 400 is an error). When app.sha256 is set the
 * digest is checked before returning; a mismatch is KAFU_EINVAL with both
 * digests in the message. *bytes is malloc'd (caller frees). */
int kafu_config_load_app(const kafu_config *c, uint8_t **bytes, size_t *len, kafu_err *err);

/* Fetch any http/https/file URL into memory (used by load_app). */
int kafu_config_fetch_url(const char *url, uint8_t **bytes, size_t *len, kafu_err *err);

/* "host:port" of a listening socket (IPv6 bracketed), as the config writes it. */
void kafu_config_listen_str(const kafu_config_listen *l, char *out, size_t cap);

/* Human-readable location of the module: the path or the URL. */
const char *kafu_config_app_location(const kafu_config *c);

/* Emit c as normalized YAML (libyaml emitter; every default spelled out, nodes
 * in order, absolute paths). Appends to *out. Loading the output again (from
 * any directory) gives an equal config. */
#define KAFU_CONFIG_YAML_REDACT_TOKEN 1u /* write cluster.token as "<redacted>" */
int kafu_config_to_yaml(const kafu_config *c, unsigned flags, kafu_buf *out, kafu_err *err);

/* Set one variable of the program's environment, as a command line's `--env`
 * does: "NAME=VALUE" replaces app.env's NAME (keeping its place) or is added
 * after the others. An empty NAME or one without "=" is KAFU_EINVAL. */
int kafu_config_add_env(kafu_config *c, const char *name_value, kafu_err *err);

/* `--port-base N`: node i of `nodes` (0 = the coordinator) gets port N + i,
 * whatever the file says, so a whole loopback cluster moves off ports in
 * use. KAFU_EINVAL (naming N) when N + nnodes - 1 is not a port. */
int kafu_config_set_port_base(kafu_config *c, long long base, kafu_err *err);

/* Read the cluster token from a file (cluster.token_file, `kafu serve
 * --token-file`): trailing whitespace is dropped; the token must be 1..4096
 * visible ASCII characters (it travels in an HTTP header). Replaces c->token
 * and sets c->token_file (absolute). Errors name the file. */
int kafu_config_set_token_file(kafu_config *c, const char *path, kafu_err *err);
/* Why a token is unusable ("" when fine): empty, too long, or a character that
 * is not visible ASCII. */
const char *kafu_config_token_problem(const char *token, char *why, size_t cap);
#define KAFU_CONFIG_TOKEN_MAX 4096

/* Settings that are legal but unsafe, one message each (no prefix, no newline):
 * no cluster token, app.preopened_dir "/", a token file others can read.
 * Nodes log them at start; `kafu config check` and `kafu doctor CONFIG` print
 * them. Returns how many were reported. */
int kafu_config_warnings(const kafu_config *c, void (*emit)(void *ctx, const char *msg), void *ctx);

/* Deep copy (kustomize rewrites addresses/paths in a copy). NULL on ENOMEM. */
kafu_config *kafu_config_dup(const kafu_config *c);

/* Names used in YAML and logs: "lz4", "delta", "shutdown_self", ... */
const char *kafu_compression_name(kafu_compression v);
const char *kafu_memory_migration_name(kafu_memory_migration v);
const char *kafu_on_coordinator_lost_name(kafu_on_coordinator_lost v);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_CONFIG_H */

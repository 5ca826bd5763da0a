/*
 * kube.h — Kubernetes manifests for a Kafu cluster (`kafu kustomize build`).
 *
 * For a config with nodes n1..nk this produces one ConfigMap holding the
 * config, and per node a headless Service and a Pod, all named and labelled as
 * the original Kafu did (docs/kubernetes.md):
 *
 *   ConfigMap  kafu-config                  (kafu-config-<instance-id> with an instance id)
 *   Service    [<instance-id>-]kafu-server-<node-id>   headless, port = the node's port
 *   Pod        [<instance-id>-]kafu-server-<node-id>   kafu serve --node-id <node-id>
 * /etc/kafu/kafu-config.yaml labels     component: kafu-server, kafu-service-name: <name>, kafu-node-id:
 * <id>, kafu-instance: <instance-id> (only with an instance id, as in the original) nodeSelector  kafu-node:
 * <placement, or the node id>
 *
 * The config inside the ConfigMap is the normalized config with each node's
 * address replaced by its Service name, app.path replaced by
 * /app/<basename of app.path> (the module must be baked into the image there),
 * and app.preopened_dir replaced by /var/lib/kafu/data (an emptyDir volume).
 * Everything is written through libyaml's emitter. See docs/kubernetes.md.
 */
#ifndef KAFU_KUBE_H
#define KAFU_KUBE_H

#include "kafu/config.h"
#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KAFU_KUBE_DEFAULT_IMAGE "kafu-server:latest"
#define KAFU_KUBE_DEFAULT_SLIM_IMAGE "kafu-server-slim:latest" /* the Dockerfile's slim stage */
#define KAFU_KUBE_CONFIG_DIR "/etc/kafu"
#define KAFU_KUBE_CONFIG_FILE "/etc/kafu/kafu-config.yaml"
#define KAFU_KUBE_APP_DIR "/app"
/* app.aot_dir in the Pods: precompiled code baked into the image as
 * /app/aot/<sha256>/<arch>-*.so (kafu aot --target T --cache-dir /app) */
#define KAFU_KUBE_AOT_DIR "/app"
#define KAFU_KUBE_DATA_DIR "/var/lib/kafu/data"
#define KAFU_KUBE_HEALTH_PATH "/healthz" /* liveness: the node process answers */
#define KAFU_KUBE_READY_PATH "/readyz"   /* readiness: the node can take a migration */
#define KAFU_KUBE_TOKEN_DIR "/etc/kafu/token"        /* the token Secret, mounted */
#define KAFU_KUBE_TOKEN_KEY "token"                  /* its key: the file in KAFU_KUBE_TOKEN_DIR */
#define KAFU_KUBE_TOKEN_FILE "/etc/kafu/token/token" /* cluster.token_file in the ConfigMap */
#define KAFU_KUBE_CACHE_DIR "/var/cache/kafu"        /* writable (emptyDir): the AOT cache */
#define KAFU_KUBE_TLS_DIR "/etc/kafu/tls"            /* cluster.tls: the certificate Secret, mounted */
#define KAFU_KUBE_UID 65532                          /* runAsUser/runAsGroup/fsGroup: not root */

typedef struct kafu_kube_opts {
  const char *image;       /* NULL = KAFU_KUBE_DEFAULT_IMAGE */
  const char *instance_id; /* NULL = none; else a DNS label used as name prefix */
  const char *ns;          /* NULL = no metadata.namespace (kubectl's current one) */
  /* The cluster token. token_secret: the name of an existing Secret (key
   * "token") to mount, none generated. Else a Secret is generated holding
   * token, or the config's token, or a fresh random one. Never in the ConfigMap. */
  const char *token_secret;
  const char *token;
  /* With cluster.tls: the existing Secret (keys tls.crt, tls.key, ca.crt, as
   * cert-manager writes them) mounted at KAFU_KUBE_TLS_DIR; NULL =
   * "kafu-tls[-<instance-id>]". Never generated. */
  const char *tls_secret;
  /* the slim image (no C compiler): default image KAFU_KUBE_DEFAULT_SLIM_IMAGE,
   * and app.aot_dir: KAFU_KUBE_AOT_DIR in the Pods' config */
  bool slim;
} kafu_kube_opts;

/* The image the Pods run: o->image, else the (slim) default. */
const char *kafu_kube_image(const kafu_kube_opts *o);

/* Check that the config and options can become Kubernetes objects: node ids
 * are lowercase RFC 1123 labels, names fit in 63 characters, placements are
 * valid label values, instance id / namespace / image are well formed. The
 * message says which value, where it is defined, and why. KAFU_EINVAL. */
int kafu_kube_check(const kafu_config *c, const kafu_kube_opts *o, kafu_err *err);

/* "[<instance-id>-]kafu-server-<node-id>" (malloc'd). */
char *kafu_kube_server_name(const kafu_kube_opts *o, const char *node_id);
/* The token Secret: --token-secret's name, else "kafu-token[-<instance-id>]" (malloc'd). */
char *kafu_kube_secret_name(const kafu_kube_opts *o);
/* cluster.tls's Secret: --tls-secret's name, else "kafu-tls[-<instance-id>]" (malloc'd). */
char *kafu_kube_tls_secret_name(const kafu_kube_opts *o);
/* "kafu-config" or "kafu-config-<instance-id>" (malloc'd). */
char *kafu_kube_configmap_name(const kafu_kube_opts *o);
/* Label value for kafu-service-name derived from config name (malloc'd). */
char *kafu_kube_label_value(const char *s);

/* The config as Pods see it (addresses -> Service names, app.path ->
 * /app/<basename>, preopened_dir -> KAFU_KUBE_DATA_DIR). Caller frees. */
kafu_config *kafu_kube_pod_config(const kafu_config *c, const kafu_kube_opts *o, kafu_err *err);

/* All objects as one multi-document YAML stream (ConfigMap, then per node in
 * config order its Service and Pod), appended to out. Calls kafu_kube_check. */
int kafu_kube_build(const kafu_config *c, const kafu_kube_opts *o, kafu_buf *out, kafu_err *err);

/* Write a kustomize base into dir (created if needed): kustomization.yaml,
 * configmap.yaml, and kafu-server-<node-id>.yaml (Service + Pod) per node.
 * `kubectl kustomize dir` renders the same objects kafu_kube_build prints.
 * Existing files with those names are replaced; nothing else is touched. */
int kafu_kube_write_dir(const kafu_config *c, const kafu_kube_opts *o, const char *dir, kafu_err *err);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_KUBE_H */

/*
 * kube.c — Kubernetes objects for a Kafu config (see include/kafu/kube.h).
 *
 * Objects are built as small YAML trees (include/kafu/yaml.h) and written
 * by libyaml's emitter, so quoting is always right. The -o DIR form writes the
 * very same trees into files plus a kustomization.yaml that only lists them:
 * `kubectl kustomize DIR` therefore renders identical objects, and users can
 * layer their own overlays (resources, tolerations, ...) on top of that base.
 *
 * Design decisions (documented in docs/kubernetes.md):
 *  - Services are headless with publishNotReadyAddresses: nodes must resolve
 *    each other while starting (the coordinator health-checks its peers before
 *    anyone is "ready"), so DNS must not wait for readiness.
 *  - restartPolicy: Never — a Kafu program runs to completion; restarting a
 *    node would re-run the program from `_start` (coordinator) or leave a
 *    follower waiting for a migration that never comes.
 *  - Node addresses in the ConfigMap are the short Service names: all objects
 *    live in one namespace, so they resolve whatever the namespace is.
 *  - The cluster token lives in a Secret mounted at /etc/kafu/token (the
 *    ConfigMap's config names it as cluster.token_file), never in the
 *    ConfigMap: generated at random unless the config or --token-file has one,
 *    or an existing Secret named by --token-secret.
 *  - Pods run as a non-root user with a read-only root file system, no
 *    capabilities, no privilege escalation and the runtime's default seccomp
 *    profile (userfaultfd is usually refused there: the node then finds dirty
 *    pages by hashing); the AOT cache and /tmp are emptyDir volumes.
 */
#include "kafu/kube.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/yaml.h"

/* ---- names and validation ------------------------------------------------- */

/* Why `s` is not an RFC 1123 label (lowercase), or NULL when it is one. */
static const char *label_problem(const char *s, char *why, size_t cap) {
  size_t n = strlen(s);
  bool upper = false, under = false, other = false;
  char bad = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (isupper(ch))
      upper = true;
    else if (ch == '_')
      under = true;
    else if (!(islower(ch) || isdigit(ch) || ch == '-')) {
      if (!other) bad = (char)ch;
      other = true;
    }
  }
  if (n == 0) return snprintf(why, cap, "it is empty"), why;
  if (upper || under || other) {
    snprintf(why, cap, "it contains %s%s%s%s%s", upper ? "uppercase letters" : "",
             upper && (under || other) ? " and " : "", under ? "'_'" : "", under && other ? " and " : "",
             other ? "other characters" : "");
    if (other && bad > ' ' && bad < 127) {
      size_t l = strlen(why);
      snprintf(why + l, cap - l, " (such as '%c')", bad);
    }
    return why;
  }
  if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
    return snprintf(why, cap, "it must start and end with a letter or digit"), why;
  if (n > 63) return snprintf(why, cap, "it is %zu characters long (at most 63)", n), why;
  return NULL;
}

static const char *label_value_problem(const char *s) {
  size_t n = strlen(s);
  if (n > 63) return "it is longer than 63 characters";
  if (n && (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])))
    return "it must start and end with a letter or digit";
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
      return "only letters, digits, '-', '_' and '.' are allowed";
  return NULL;
}

#define RFC1123                                                                                              \
  "Kubernetes names must be lowercase RFC 1123 labels: a-z, 0-9 and '-', starting and ending with a letter " \
  "or digit"

char *kafu_kube_server_name(const kafu_kube_opts *o, const char *node_id) {
  kafu_buf b = {0};
  if (o && o->instance_id && *o->instance_id) kafu_buf_printf(&b, "%s-", o->instance_id);
  kafu_buf_printf(&b, "kafu-server-%s", node_id);
  return kafu_buf_cstr(&b);
}

char *kafu_kube_configmap_name(const kafu_kube_opts *o) {
  kafu_buf b = {0};
  kafu_buf_printf(&b, "kafu-config");
  if (o && o->instance_id && *o->instance_id) kafu_buf_printf(&b, "-%s", o->instance_id);
  return kafu_buf_cstr(&b);
}

/* As the original: map invalid characters to '-', trim non-alphanumerics at
 * the ends, cap at 63, "default" when nothing is left. */
char *kafu_kube_label_value(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n + 8);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) out[i] = (isalnum((unsigned char)s[i]) || strchr("-_.", s[i])) ? s[i] : '-';
  out[n] = 0;
  size_t a = 0;
  while (a < n && !isalnum((unsigned char)out[a])) a++;
  memmove(out, out + a, n - a + 1);
  n -= a;
  if (n > 63) n = 63;
  while (n > 0 && !isalnum((unsigned char)out[n - 1])) n--;
  out[n] = 0;
  if (n == 0) strcpy(out, "default");
  return out;
}

int kafu_kube_check(const kafu_config *c, const kafu_kube_opts *o, kafu_err *err) {
  char why[160];
  const char *w;
  const char *inst = o && o->instance_id ? o->instance_id : NULL;
  if (inst && (w = label_problem(inst, why, sizeof why)))
    return kafu_err_set(
        err, KAFU_EINVAL,
        "--instance-id \"%s\" is not a valid name prefix: %s; it prefixes Pod and Service names "
        "and is the kafu-instance label, and " RFC1123,
        inst, w);
  if (o && o->ns && (w = label_problem(o->ns, why, sizeof why)))
    return kafu_err_set(err, KAFU_EINVAL, "--namespace \"%s\" is not a valid namespace: %s; " RFC1123, o->ns,
                        w);
  if (o && o->image) {
    bool ok = *o->image != 0;
    for (const char *s = o->image; *s && ok; s++)
      ok = !isspace((unsigned char)*s) && !iscntrl((unsigned char)*s);
    if (!ok) return kafu_err_set(err, KAFU_EINVAL, "--image \"%s\" is not a valid image reference", o->image);
  }
  for (size_t i = 0; i < c->nnodes; i++) {
    const kafu_config_node *n = &c->nodes[i];
    if ((w = label_problem(n->id, why, sizeof why)))
      return kafu_err_set(
          err, KAFU_EINVAL,
          "%s:%d:%d: nodes.%s: node id \"%s\" is not a valid Kubernetes name: %s; Pod and Service "
          "names are kafu-server-<node-id>, and " RFC1123 ". Rename the node (and its KAFU_DEST annotations)",
          c->config_path, n->line, n->col, n->id, n->id, w);
    char *name = kafu_kube_server_name(o, n->id);
    if (!name) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    size_t len = strlen(name);
    if (len > 63) {
      int rc = kafu_err_set(err, KAFU_EINVAL,
                            "%s:%d:%d: nodes.%s: the Service name \"%s\" would be %zu characters; Kubernetes "
                            "allows 63 (Service names are DNS labels). Use a shorter node id%s",
                            c->config_path, n->line, n->col, n->id, name, len, inst ? " or instance id" : "");
      free(name);
      return rc;
    }
    free(name);
    if (n->placement && (w = label_value_problem(n->placement)))
      return kafu_err_set(
          err, KAFU_EINVAL,
          "%s:%d:%d: nodes.%s.placement: \"%s\" is not a valid Kubernetes label value (it becomes "
          "nodeSelector kafu-node=<placement>): %s",
          c->config_path, n->line, n->col, n->id, n->placement, w);
  }
  return 0;
}

/* ---- the config Pods see -------------------------------------------------- */

const char *kafu_kube_image(const kafu_kube_opts *o) {
  if (o && o->image) return o->image;
  return o && o->slim ? KAFU_KUBE_DEFAULT_SLIM_IMAGE : KAFU_KUBE_DEFAULT_IMAGE;
}

kafu_config *kafu_kube_pod_config(const kafu_config *c, const kafu_kube_opts *o, kafu_err *err) {
  kafu_config *p = kafu_config_dup(c);
  if (!p) goto oom;
  for (size_t i = 0; i < p->nnodes; i++) {
    char *name = kafu_kube_server_name(o, p->nodes[i].id);
    if (!name) goto oom;
    free(p->nodes[i].address);
    p->nodes[i].address = name;
    /* a program socket on a Pod's loopback could not be reached through its
     * Service: listen on all of the Pod's addresses instead */
    for (size_t j = 0; j < p->nodes[i].nlisten; j++) {
      kafu_config_listen *l = &p->nodes[i].listen[j];
      if (!kafu_addr_is_loopback(l->host)) continue;
      char *any = strdup(strchr(l->host, ':') ? "::" : "0.0.0.0");
      if (!any) goto oom;
      free(l->host);
      l->host = any;
    }
  }
  if (p->app.path) {
    char *np = kafu_path_join(KAFU_KUBE_APP_DIR, kafu_path_basename(p->app.path));
    if (!np) goto oom;
    free(p->app.path);
    p->app.path = np;
  }
  if (p->app.aot_dir || (o && o->slim)) { /* precompiled code: baked into the image */
    char *na = strdup(KAFU_KUBE_AOT_DIR);
    if (!na) goto oom;
    free(p->app.aot_dir);
    p->app.aot_dir = na;
  }
  if (p->app.preopened_dir) {
    char *nd = strdup(KAFU_KUBE_DATA_DIR);
    if (!nd) goto oom;
    free(p->app.preopened_dir);
    p->app.preopened_dir = nd;
  }
  if (p->tls.cert) { /* cluster.tls: the files of the TLS Secret, mounted */
    char *f[3] = {strdup(KAFU_KUBE_TLS_DIR "/tls.crt"), strdup(KAFU_KUBE_TLS_DIR "/tls.key"),
                  strdup(KAFU_KUBE_TLS_DIR "/ca.crt")};
    free(p->tls.cert), free(p->tls.key), free(p->tls.ca);
    p->tls.cert = f[0], p->tls.key = f[1], p->tls.ca = f[2];
    if (!f[0] || !f[1] || !f[2]) goto oom;
  }
  /* the token is in the Secret; the ConfigMap names only where it is mounted */
  free(p->token);
  free(p->token_file);
  p->token = NULL;
  if (!(p->token_file = strdup(KAFU_KUBE_TOKEN_FILE))) goto oom;
  return p;
oom:
  kafu_config_free(p);
  kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  return NULL;
}

/* ---- objects -------------------------------------------------------------- */

static kafu_ynode *labels(kafu_ynode *parent, const char *key, const char *service, const char *node_id,
                          const kafu_kube_opts *o, bool component) {
  kafu_ynode *l = kafu_y_put(parent, key, kafu_y_map());
  if (component) kafu_y_put_str(l, "component", "kafu-server");
  kafu_y_put_str(l, "kafu-service-name", service);
  if (node_id) kafu_y_put_str(l, "kafu-node-id", node_id);
  if (o->instance_id) kafu_y_put_str(l, "kafu-instance", o->instance_id);
  return l;
}

/* The recommended app.kubernetes.io labels, on every object's metadata (not in
 * selectors, which stay as they were). */
static void app_labels(kafu_ynode *labels_map, const char *service, const kafu_kube_opts *o, bool server) {
  kafu_y_put_str(labels_map, "app.kubernetes.io/name", "kafu");
  kafu_y_put_str(labels_map, "app.kubernetes.io/instance", o->instance_id ? o->instance_id : service);
  kafu_y_put_str(labels_map, "app.kubernetes.io/component", server ? "kafu-server" : "config");
  kafu_y_put_str(labels_map, "app.kubernetes.io/part-of", service);
  kafu_y_put_str(labels_map, "app.kubernetes.io/version", KAFU_VERSION);
  kafu_y_put_str(labels_map, "app.kubernetes.io/managed-by", "kafu");
}

static kafu_ynode *metadata(kafu_ynode *obj, const char *name, const kafu_kube_opts *o) {
  kafu_ynode *m = kafu_y_put(obj, "metadata", kafu_y_map());
  kafu_y_put_str(m, "name", name);
  if (o->ns) kafu_y_put_str(m, "namespace", o->ns);
  return m;
}

static kafu_ynode *configmap(const char *cm_name, const char *service, const char *cfg_yaml,
                             const kafu_kube_opts *o) {
  kafu_ynode *d = kafu_y_map();
  kafu_y_put_str(d, "apiVersion", "v1");
  kafu_y_put_str(d, "kind", "ConfigMap");
  kafu_ynode *m = metadata(d, cm_name, o);
  app_labels(labels(m, "labels", service, NULL, o, false), service, o, false);
  kafu_ynode *data = kafu_y_put(d, "data", kafu_y_map());
  kafu_y_put(data, "kafu-config.yaml", kafu_y_literal(cfg_yaml));
  return d;
}

static kafu_ynode *secret(const char *name, const char *service, const char *token, const kafu_kube_opts *o) {
  kafu_ynode *d = kafu_y_map();
  kafu_y_put_str(d, "apiVersion", "v1");
  kafu_y_put_str(d, "kind", "Secret");
  kafu_ynode *m = metadata(d, name, o);
  app_labels(labels(m, "labels", service, NULL, o, false), service, o, false);
  kafu_y_put_str(d, "type", "Opaque");
  kafu_ynode *data = kafu_y_put(d, "stringData", kafu_y_map());
  kafu_y_put_str(data, KAFU_KUBE_TOKEN_KEY, token);
  return d;
}

char *kafu_kube_secret_name(const kafu_kube_opts *o) {
  kafu_buf b = {0};
  if (o && o->token_secret) return strdup(o->token_secret);
  kafu_buf_printf(&b, "kafu-token");
  if (o && o->instance_id && *o->instance_id) kafu_buf_printf(&b, "-%s", o->instance_id);
  return kafu_buf_cstr(&b);
}

char *kafu_kube_tls_secret_name(const kafu_kube_opts *o) {
  kafu_buf b = {0};
  if (o && o->tls_secret) return strdup(o->tls_secret);
  kafu_buf_printf(&b, "kafu-tls");
  if (o && o->instance_id && *o->instance_id) kafu_buf_printf(&b, "-%s", o->instance_id);
  return kafu_buf_cstr(&b);
}

static kafu_ynode *service(const kafu_config_node *n, const char *name, const char *svc,
                           const kafu_kube_opts *o) {
  kafu_ynode *d = kafu_y_map();
  kafu_y_put_str(d, "apiVersion", "v1");
  kafu_y_put_str(d, "kind", "Service");
  kafu_ynode *m = metadata(d, name, o);
  app_labels(labels(m, "labels", svc, n->id, o, true), svc, o, true);
  kafu_ynode *spec = kafu_y_put(d, "spec", kafu_y_map());
  kafu_y_put_str(spec, "clusterIP", "None");
  kafu_y_put(spec, "publishNotReadyAddresses", kafu_y_bool(true));
  labels(spec, "selector", svc, n->id, o, true);
  kafu_ynode *ports = kafu_y_put(spec, "ports", kafu_y_seq());
  kafu_ynode *p = kafu_y_push(ports, kafu_y_map());
  kafu_y_put_str(p, "name", "kafu");
  kafu_y_put_str(p, "protocol", "TCP");
  kafu_y_put_int(p, "port", n->port);
  kafu_y_put_int(p, "targetPort", n->port);
  for (size_t i = 0; i < n->nlisten; i++) { /* the program's own sockets (nodes.<id>.listen) */
    char pn[32];
    snprintf(pn, sizeof pn, "listen-%zu", i);
    p = kafu_y_push(ports, kafu_y_map());
    kafu_y_put_str(p, "name", pn);
    kafu_y_put_str(p, "protocol", "TCP");
    kafu_y_put_int(p, "port", n->listen[i].port);
    kafu_y_put_int(p, "targetPort", n->listen[i].port);
  }
  return d;
}

static void probe(kafu_ynode *container, const char *key, const char *path, int port, bool https, int initial,
                  int period, int failures) {
  kafu_ynode *pr = kafu_y_put(container, key, kafu_y_map());
  kafu_ynode *g = kafu_y_put(pr, "httpGet", kafu_y_map());
  kafu_y_put_str(g, "path", path);
  kafu_y_put_int(g, "port", port);
  if (https) kafu_y_put_str(g, "scheme", "HTTPS"); /* GETs need no client certificate */
  kafu_y_put_int(pr, "initialDelaySeconds", initial);
  kafu_y_put_int(pr, "periodSeconds", period);
  kafu_y_put_int(pr, "timeoutSeconds", 2);
  kafu_y_put_int(pr, "failureThreshold", failures);
}

static void mount(kafu_ynode *vms, const char *name, const char *path, bool ro) {
  kafu_ynode *vm = kafu_y_push(vms, kafu_y_map());
  kafu_y_put_str(vm, "name", name);
  kafu_y_put_str(vm, "mountPath", path);
  if (ro) kafu_y_put(vm, "readOnly", kafu_y_bool(true));
}

static void empty_dir(kafu_ynode *vols, const char *name) {
  kafu_ynode *v = kafu_y_push(vols, kafu_y_map());
  kafu_y_put_str(v, "name", name);
  kafu_y_put(v, "emptyDir", kafu_y_map());
}

static kafu_ynode *pod(const kafu_config *c, const kafu_config_node *n, const char *name, const char *svc,
                       const char *cm_name, const char *secret_name, const kafu_kube_opts *o) {
  kafu_ynode *d = kafu_y_map();
  kafu_y_put_str(d, "apiVersion", "v1");
  kafu_y_put_str(d, "kind", "Pod");
  kafu_ynode *m = metadata(d, name, o);
  app_labels(labels(m, "labels", svc, n->id, o, true), svc, o, true);
  /* Prometheus' usual scrape convention: GET /metrics on the node's port */
  kafu_ynode *an = kafu_y_put(m, "annotations", kafu_y_map());
  char port[16];
  snprintf(port, sizeof port, "%u", n->port);
  kafu_y_put_str(an, "prometheus.io/scrape", "true");
  kafu_y_put_str(an, "prometheus.io/port", port);
  kafu_y_put_str(an, "prometheus.io/path", "/metrics");
  if (c->tls.cert) kafu_y_put_str(an, "prometheus.io/scheme", "https");
  kafu_ynode *spec = kafu_y_put(d, "spec", kafu_y_map());
  kafu_y_put_str(spec, "restartPolicy", "Never");
  kafu_ynode *psc = kafu_y_put(spec, "securityContext", kafu_y_map());
  kafu_y_put(psc, "runAsNonRoot", kafu_y_bool(true));
  kafu_y_put_int(psc, "runAsUser", KAFU_KUBE_UID);
  kafu_y_put_int(psc, "runAsGroup", KAFU_KUBE_UID);
  kafu_y_put_int(psc, "fsGroup", KAFU_KUBE_UID);
  kafu_ynode *sp = kafu_y_put(psc, "seccompProfile", kafu_y_map());
  kafu_y_put_str(sp, "type", "RuntimeDefault");
  kafu_ynode *sel = kafu_y_put(spec, "nodeSelector", kafu_y_map());
  kafu_y_put_str(sel, "kafu-node", n->placement ? n->placement : n->id);
  kafu_ynode *cs = kafu_y_put(spec, "containers", kafu_y_seq());
  kafu_ynode *ct = kafu_y_push(cs, kafu_y_map());
  kafu_y_put_str(ct, "name", "kafu-server");
  kafu_y_put_str(ct, "image", kafu_kube_image(o));
  kafu_y_put_str(ct, "imagePullPolicy", "IfNotPresent");
  /* nodes.<id>.resources, else cluster.resources */
  kafu_config_resources rs;
  kafu_config_node_resources(c, n, &rs);
  const char *rv[2][2] = {{rs.requests_cpu, rs.requests_memory}, {rs.limits_cpu, rs.limits_memory}};
  kafu_ynode *res = NULL;
  for (int i = 0; i < 2; i++) {
    if (!*rv[i][0] && !*rv[i][1]) continue;
    if (!res) res = kafu_y_put(ct, "resources", kafu_y_map());
    kafu_ynode *x = kafu_y_put(res, i ? "limits" : "requests", kafu_y_map());
    if (*rv[i][0]) kafu_y_put_str(x, "cpu", rv[i][0]);
    if (*rv[i][1]) kafu_y_put_str(x, "memory", rv[i][1]);
  }
  kafu_ynode *csc = kafu_y_put(ct, "securityContext", kafu_y_map());
  kafu_y_put(csc, "allowPrivilegeEscalation", kafu_y_bool(false));
  kafu_y_put(csc, "readOnlyRootFilesystem", kafu_y_bool(true));
  kafu_ynode *caps = kafu_y_put(csc, "capabilities", kafu_y_map());
  kafu_y_push(kafu_y_put(caps, "drop", kafu_y_seq()), kafu_y_str("ALL"));
  kafu_ynode *env = kafu_y_put(ct, "env", kafu_y_seq());
  kafu_ynode *ev = kafu_y_push(env, kafu_y_map());
  kafu_y_put_str(ev, "name", "KAFU_CACHE_DIR");
  kafu_y_put_str(ev, "value", KAFU_KUBE_CACHE_DIR);
  kafu_ynode *cmd = kafu_y_put(ct, "command", kafu_y_seq());
  const char *argv[] = {"kafu", "serve", "--node-id", n->id, KAFU_KUBE_CONFIG_FILE};
  for (size_t i = 0; i < sizeof argv / sizeof *argv; i++) kafu_y_push(cmd, kafu_y_str(argv[i]));
  kafu_ynode *ports = kafu_y_put(ct, "ports", kafu_y_seq());
  kafu_ynode *p = kafu_y_push(ports, kafu_y_map());
  kafu_y_put_str(p, "name", "kafu");
  kafu_y_put_int(p, "containerPort", n->port);
  kafu_y_put_str(p, "protocol", "TCP");
  for (size_t i = 0; i < n->nlisten; i++) {
    char pn[32];
    snprintf(pn, sizeof pn, "listen-%zu", i);
    p = kafu_y_push(ports, kafu_y_map());
    kafu_y_put_str(p, "name", pn);
    kafu_y_put_int(p, "containerPort", n->listen[i].port);
    kafu_y_put_str(p, "protocol", "TCP");
  }
  /* Readiness gates nothing in DNS (publishNotReadyAddresses) but shows in
   * `kubectl get pods` when a node can take migrations. Liveness is lenient:
   * the first start may AOT-compile the module. */
  probe(ct, "readinessProbe", KAFU_KUBE_READY_PATH, n->port, c->tls.cert, 1, 2, 3);
  probe(ct, "livenessProbe", KAFU_KUBE_HEALTH_PATH, n->port, c->tls.cert, 10, 10, 6);
  kafu_ynode *vms = kafu_y_put(ct, "volumeMounts", kafu_y_seq());
  mount(vms, "kafu-config", KAFU_KUBE_CONFIG_DIR, true);
  if (c->app.preopened_dir) mount(vms, "kafu-data", KAFU_KUBE_DATA_DIR, false);
  mount(vms, "kafu-token", KAFU_KUBE_TOKEN_DIR, true);
  if (c->tls.cert) mount(vms, "kafu-tls", KAFU_KUBE_TLS_DIR, true);
  mount(vms, "kafu-cache", KAFU_KUBE_CACHE_DIR, false);
  mount(vms, "tmp", "/tmp", false);
  kafu_ynode *vols = kafu_y_put(spec, "volumes", kafu_y_seq());
  kafu_ynode *v = kafu_y_push(vols, kafu_y_map());
  kafu_y_put_str(v, "name", "kafu-config");
  kafu_ynode *cmv = kafu_y_put(v, "configMap", kafu_y_map());
  kafu_y_put_str(cmv, "name", cm_name);
  if (c->app.preopened_dir) empty_dir(vols, "kafu-data");
  v = kafu_y_push(vols, kafu_y_map());
  kafu_y_put_str(v, "name", "kafu-token");
  kafu_ynode *sv = kafu_y_put(v, "secret", kafu_y_map());
  kafu_y_put_str(sv, "secretName", secret_name);
  kafu_y_put_int(sv, "defaultMode", 0440); /* root:fsGroup, read-only */
  if (c->tls.cert) {
    char *tn = kafu_kube_tls_secret_name(o);
    v = kafu_y_push(vols, kafu_y_map());
    kafu_y_put_str(v, "name", "kafu-tls");
    sv = kafu_y_put(v, "secret", kafu_y_map());
    kafu_y_put_str(sv, "secretName", tn ? tn : "kafu-tls");
    kafu_y_put_int(sv, "defaultMode", 0440);
    free(tn);
  }
  empty_dir(vols, "kafu-cache");
  empty_dir(vols, "tmp");
  return d;
}

/* Build every object: docs[0] = ConfigMap, then Service, Pod per node. */
static int build_all(const kafu_config *c, const kafu_kube_opts *o, kafu_ynode ***docs_out, size_t *ndocs,
                     kafu_err *err) {
  int rc = kafu_kube_check(c, o, err);
  if (rc < 0) return rc;
  kafu_config *pc = kafu_kube_pod_config(c, o, err);
  if (!pc) return KAFU_ENOMEM;
  kafu_buf cfg = {0};
  if ((rc = kafu_config_to_yaml(pc, 0, &cfg, err)) < 0) {
    kafu_config_free(pc);
    return rc;
  }
  char *svc = kafu_kube_label_value(c->name), *cm = kafu_kube_configmap_name(o), *sec = kafu_kube_secret_name(o);
  char token[KAFU_TOKEN_HEX_LEN + 1] = "";
  const char *tok = o->token ? o->token : c->token;
  if (!o->token_secret && !tok) {
    if ((rc = kafu_random_token(token, err)) < 0) {
      free(svc), free(cm), free(sec);
      kafu_buf_free(&cfg);
      kafu_config_free(pc);
      return rc;
    }
    tok = token;
  }
  /* ConfigMap, [Secret], then a Service and a Pod per node */
  size_t first = o->token_secret ? 1 : 2, n = first + 2 * c->nnodes;
  kafu_ynode **docs = calloc(n, sizeof *docs);
  if (!svc || !cm || !sec || !docs || !kafu_buf_cstr(&cfg)) {
    rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  } else {
    docs[0] = configmap(cm, svc, (const char *)cfg.data, o);
    if (!o->token_secret) docs[1] = secret(sec, svc, tok, o);
    for (size_t i = 0; i < c->nnodes; i++) {
      char *name = kafu_kube_server_name(o, c->nodes[i].id);
      if (!name) continue; /* NULL doc -> ENOMEM from emit */
      docs[first + 2 * i] = service(&c->nodes[i], name, svc, o);
      docs[first + 1 + 2 * i] = pod(c, &c->nodes[i], name, svc, cm, sec, o);
      free(name);
    }
  }
  explicit_bzero(token, sizeof token);
  free(svc), free(cm), free(sec);
  kafu_buf_free(&cfg);
  kafu_config_free(pc);
  if (rc < 0) {
    free(docs);
    return rc;
  }
  *docs_out = docs;
  *ndocs = n;
  return 0;
}

static void free_docs(kafu_ynode **docs, size_t n) {
  for (size_t i = 0; i < n; i++) kafu_y_free(docs[i]);
  free(docs);
}

int kafu_kube_build(const kafu_config *c, const kafu_kube_opts *o, kafu_buf *out, kafu_err *err) {
  kafu_kube_opts none = {0};
  if (!o) o = &none;
  kafu_ynode **docs;
  size_t n;
  int rc = build_all(c, o, &docs, &n, err);
  if (rc < 0) return rc;
  rc = kafu_y_emit(docs, n, out, err);
  free_docs(docs, n);
  return rc;
}

static const char header[] =
    "# Generated by `kafu kustomize build -o`. Regenerate instead of editing;\n"
    "# customize with an overlay that lists this directory as a resource.\n";

static int write_yaml(const char *dir, const char *file, kafu_ynode *const *docs, size_t n, kafu_err *err) {
  kafu_buf b = {0};
  int rc =
      kafu_buf_append(&b, header, sizeof header - 1) ? kafu_err_set(err, KAFU_ENOMEM, "out of memory") : 0;
  if (rc == 0) rc = kafu_y_emit(docs, n, &b, err);
  char *path = kafu_path_join(dir, file);
  if (rc == 0 && !path) rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  if (rc == 0) rc = kafu_write_file_atomic(path, b.data, b.len, err);
  free(path);
  kafu_buf_free(&b);
  return rc;
}

int kafu_kube_write_dir(const kafu_config *c, const kafu_kube_opts *o, const char *dir, kafu_err *err) {
  kafu_kube_opts none = {0};
  if (!o) o = &none;
  kafu_ynode **docs;
  size_t n;
  int rc = build_all(c, o, &docs, &n, err);
  if (rc < 0) return rc;
  if ((rc = kafu_mkdirs(dir, 0755, err)) < 0) goto done;
  kafu_ynode *k = kafu_y_map();
  kafu_y_put_str(k, "apiVersion", "kustomize.config.k8s.io/v1beta1");
  kafu_y_put_str(k, "kind", "Kustomization");
  kafu_ynode *res = kafu_y_put(k, "resources", kafu_y_seq());
  kafu_y_push(res, kafu_y_str("configmap.yaml"));
  if ((rc = write_yaml(dir, "configmap.yaml", docs, 1, err)) < 0) goto done_k;
  size_t first = n - 2 * c->nnodes; /* 2 when a Secret follows the ConfigMap */
  if (first == 2) {
    kafu_y_push(res, kafu_y_str("secret.yaml"));
    if ((rc = write_yaml(dir, "secret.yaml", docs + 1, 1, err)) < 0) goto done_k;
  }
  for (size_t i = 0; i < c->nnodes; i++) {
    char file[128];
    snprintf(file, sizeof file, "kafu-server-%s.yaml", c->nodes[i].id);
    kafu_y_push(res, kafu_y_str(file));
    if ((rc = write_yaml(dir, file, docs + first + 2 * i, 2, err)) < 0) goto done_k;
  }
  rc = write_yaml(dir, "kustomization.yaml", &k, 1, err);
done_k:
  kafu_y_free(k);
done:
  free_docs(docs, n);
  return rc;
}

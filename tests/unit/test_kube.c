/* test_kube.c — unit tests for src/kube: golden manifests, the output parsed
 * back with libyaml and checked object by object, the -o DIR base (and
 * `kubectl kustomize` on it when kubectl is installed), and bad input.
 *
 * KAFU_UPDATE_GOLDEN=1 rewrites the files in tests/golden/kustomize/ from the current
 * output (review the diff before committing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "kafu/config.h"
#include "kafu/kube.h"

static char g_dir[64];

static int setup(void **s) {
  strcpy(g_dir, "/tmp/kafu-kube-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  return 0;
}

static int teardown(void **s) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static char *src_path(const char *rel) {
  const char *src = getenv("KAFU_SRC");
  if (!src) src = KAFU_SOURCE_DIR;
  return kafu_path_join(src, rel);
}

static kafu_config *load_data(const char *name) {
  char rel[128];
  snprintf(rel, sizeof rel, "tests/data/config/%s", name);
  char *p = src_path(rel);
  kafu_config *c;
  kafu_err e = {0};
  if (kafu_config_load(p, &c, &e) < 0) fail_msg("%s", e.msg);
  free(p);
  return c;
}

static kafu_config *load_text(const char *text) {
  kafu_config *c;
  kafu_err e = {0};
  if (kafu_config_load_string(text, strlen(text), "kafu-config.yaml", g_dir, &c, &e) < 0)
    fail_msg("%s", e.msg);
  return c;
}

/* ---- a parsed YAML stream -------------------------------------------------- */

typedef struct stream {
  yaml_document_t docs[64];
  size_t n;
} stream;

static void parse_stream(const char *text, size_t len, stream *st) {
  yaml_parser_t p;
  assert_true(yaml_parser_initialize(&p));
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  st->n = 0;
  for (;;) {
    assert_true(st->n < 64);
    if (!yaml_parser_load(&p, &st->docs[st->n])) fail_msg("output is not valid YAML: %s", p.problem);
    if (!yaml_document_get_root_node(&st->docs[st->n])) {
      yaml_document_delete(&st->docs[st->n]);
      break;
    }
    st->n++;
  }
  yaml_parser_delete(&p);
}

static void free_stream(stream *st) {
  for (size_t i = 0; i < st->n; i++) yaml_document_delete(&st->docs[i]);
  st->n = 0;
}

/* Walk "a.b.0.c" (numbers index sequences; keys may contain dots, as in
 * data.kafu-config.yaml). NULL when absent. */
static yaml_node_t *at(yaml_document_t *d, const char *path) {
  yaml_node_t *n = yaml_document_get_root_node(d);
  const char *rest = path;
  while (n && *rest) {
    if (n->type == YAML_SEQUENCE_NODE) {
      char *end;
      long i = strtol(rest, &end, 10);
      long cnt = n->data.sequence.items.top - n->data.sequence.items.start;
      n = (end != rest && i < cnt) ? yaml_document_get_node(d, n->data.sequence.items.start[i]) : NULL;
      rest = *end == '.' ? end + 1 : end;
    } else if (n->type == YAML_MAPPING_NODE) {
      yaml_node_t *found = NULL;
      size_t best = 0;
      for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k->type != YAML_SCALAR_NODE) continue;
        size_t kl = k->data.scalar.length;
        if (kl > best && !strncmp((char *)k->data.scalar.value, rest, kl) && (rest[kl] == '.' || !rest[kl]))
          found = yaml_document_get_node(d, p->value), best = kl;
      }
      n = found;
      rest += best;
      if (*rest == '.') rest++;
    } else {
      n = NULL;
    }
  }
  return n;
}

static const char *str_at(yaml_document_t *d, const char *path) {
  yaml_node_t *n = at(d, path);
  if (!n || n->type != YAML_SCALAR_NODE) fail_msg("no scalar at %s", path);
  return (const char *)n->data.scalar.value;
}

/* An integer must be written plain (a quoted "50051" is a string to k8s). */
static long int_at(yaml_document_t *d, const char *path) {
  yaml_node_t *n = at(d, path);
  if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    fail_msg("no plain integer at %s", path);
  return strtol((char *)n->data.scalar.value, NULL, 10);
}

static size_t count_at(yaml_document_t *d, const char *path) {
  yaml_node_t *n = at(d, path);
  if (!n) return 0;
  if (n->type == YAML_SEQUENCE_NODE)
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (n->type == YAML_MAPPING_NODE) return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  return 1;
}

/* Canonical text of a node: maps with sorted keys, scalars typed (so 'x' and
 * "x" compare equal, 1 and "1" do not). Used to compare with kubectl. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void canon(yaml_document_t *d, yaml_node_t *n, kafu_buf *out) {
  if (n->type == YAML_SCALAR_NODE) {
    const char *v = (const char *)n->data.scalar.value;
    bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    bool num = plain && v[0] && strspn(v, "0123456789-") == strlen(v);
    bool boolean = plain && (!strcmp(v, "true") || !strcmp(v, "false"));
    kafu_buf_printf(out, "%s(%s)", num ? "i" : boolean ? "b" : "s", v);
  } else if (n->type == YAML_SEQUENCE_NODE) {
    kafu_buf_printf(out, "[");
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
      canon(d, yaml_document_get_node(d, *i), out);
      kafu_buf_printf(out, ",");
    }
    kafu_buf_printf(out, "]");
  } else {
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    char **items = calloc(cnt + 1, sizeof(char *));
    for (size_t i = 0; i < cnt; i++) {
      yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
      kafu_buf b = {0};
      canon(d, yaml_document_get_node(d, p->key), &b);
      kafu_buf_printf(&b, ":");
      canon(d, yaml_document_get_node(d, p->value), &b);
      items[i] = kafu_buf_cstr(&b);
    }
    qsort(items, cnt, sizeof *items, cmp_str);
    kafu_buf_printf(out, "{");
    for (size_t i = 0; i < cnt; i++) {
      kafu_buf_printf(out, "%s;", items[i]);
      free(items[i]);
    }
    kafu_buf_printf(out, "}");
    free(items);
  }
}

/* Sorted canonical texts of every document of a stream, joined by newlines. */
static char *canon_stream(stream *st) {
  char **items = calloc(st->n + 1, sizeof(char *));
  for (size_t i = 0; i < st->n; i++) {
    kafu_buf b = {0};
    canon(&st->docs[i], yaml_document_get_root_node(&st->docs[i]), &b);
    items[i] = kafu_buf_cstr(&b);
  }
  qsort(items, st->n, sizeof *items, cmp_str);
  kafu_buf all = {0};
  for (size_t i = 0; i < st->n; i++) {
    kafu_buf_printf(&all, "%s\n", items[i]);
    free(items[i]);
  }
  free(items);
  return kafu_buf_cstr(&all);
}

/* ---- the structural check -------------------------------------------------- */

static void check_labels(yaml_document_t *d, const char *base, const kafu_config *c, const kafu_kube_opts *o,
                         const char *node_id) {
  /* object metadata also has the app.kubernetes.io labels; selectors do not */
  size_t app = strstr(base, "metadata") ? 6 : 0;
  if (app) {
    char q[160];
    snprintf(q, sizeof q, "%s.app.kubernetes.io/name", base);
    assert_string_equal(str_at(d, q), "kafu");
    snprintf(q, sizeof q, "%s.app.kubernetes.io/managed-by", base);
    assert_string_equal(str_at(d, q), "kafu");
  }
  char p[128];
  char *svc = kafu_kube_label_value(c->name);
  snprintf(p, sizeof p, "%s.component", base);
  assert_string_equal(str_at(d, p), "kafu-server");
  snprintf(p, sizeof p, "%s.kafu-service-name", base);
  assert_string_equal(str_at(d, p), svc);
  snprintf(p, sizeof p, "%s.kafu-node-id", base);
  assert_string_equal(str_at(d, p), node_id);
  snprintf(p, sizeof p, "%s.kafu-instance", base);
  if (o->instance_id) {
    assert_string_equal(str_at(d, p), o->instance_id);
    assert_int_equal(count_at(d, base), 4 + app);
  } else {
    assert_null(at(d, p));
    assert_int_equal(count_at(d, base), 3 + app);
  }
  free(svc);
}

static void check_objects(const kafu_config *c, const kafu_kube_opts *o, const char *yaml, size_t len) {
  stream st;
  parse_stream(yaml, len, &st);
  size_t first = o->token_secret ? 1 : 2; /* ConfigMap [, Secret] */
  assert_int_equal(st.n, first + 2 * c->nnodes);
  char *cm = kafu_kube_configmap_name(o), *sec = kafu_kube_secret_name(o);
  /* ConfigMap */
  yaml_document_t *d = &st.docs[0];
  assert_string_equal(str_at(d, "apiVersion"), "v1");
  assert_string_equal(str_at(d, "kind"), "ConfigMap");
  assert_string_equal(str_at(d, "metadata.name"), cm);
  if (o->ns)
    assert_string_equal(str_at(d, "metadata.namespace"), o->ns);
  else
    assert_null(at(d, "metadata.namespace"));
  const char *text = str_at(d, "data.kafu-config.yaml");
  /* the token is never in the ConfigMap, only where the Secret is mounted;
   * that file does not exist here, so the line goes before loading */
  assert_null(strstr(text, "token:"));
  const char *tf = strstr(text, "  token_file: " KAFU_KUBE_TOKEN_FILE "\n");
  assert_non_null(tf);
  char *copy = strdup(text);
  memset(copy + (tf - text), ' ', strlen("  token_file: " KAFU_KUBE_TOKEN_FILE));
  kafu_config *pc;
  kafu_err e = {0};
  if (kafu_config_load_string(copy, strlen(copy), "configmap", "/etc/kafu", &pc, &e) < 0)
    fail_msg("embedded config does not load: %s", e.msg);
  free(copy);
  if (!o->token_secret) {
    yaml_document_t *sd = &st.docs[1];
    assert_string_equal(str_at(sd, "kind"), "Secret");
    assert_string_equal(str_at(sd, "metadata.name"), sec);
    const char *tok = str_at(sd, "stringData.token");
    if (o->token)
      assert_string_equal(tok, o->token);
    else if (c->token)
      assert_string_equal(tok, c->token);
    else
      assert_int_equal(strlen(tok), KAFU_TOKEN_HEX_LEN);
  }
  assert_string_equal(pc->name, c->name);
  assert_int_equal(pc->nnodes, c->nnodes);
  if (c->app.path) {
    char want[256];
    snprintf(want, sizeof want, "/app/%s", kafu_path_basename(c->app.path));
    assert_string_equal(pc->app.path, want);
  } else {
    assert_string_equal(pc->app.url, c->app.url);
  }
  assert_int_equal(pc->app.has_sha256, c->app.has_sha256);
  assert_int_equal(pc->app.nargs, c->app.nargs);
  for (size_t i = 0; i < c->app.nargs; i++) assert_string_equal(pc->app.args[i], c->app.args[i]);
  if (c->app.preopened_dir) assert_string_equal(pc->app.preopened_dir, KAFU_KUBE_DATA_DIR);
  assert_int_equal(pc->migration.compression, c->migration.compression);
  assert_int_equal(pc->heartbeat.interval_ms, c->heartbeat.interval_ms);

  for (size_t i = 0; i < c->nnodes; i++) {
    const kafu_config_node *n = &c->nodes[i];
    char *name = kafu_kube_server_name(o, n->id);
    /* the embedded config: same order, address = this node's Service */
    assert_string_equal(pc->nodes[i].id, n->id);
    assert_string_equal(pc->nodes[i].address, name);
    assert_int_equal(pc->nodes[i].port, n->port);

    yaml_document_t *sv = &st.docs[first + 2 * i], *po = &st.docs[first + 1 + 2 * i];
    assert_string_equal(str_at(sv, "kind"), "Service");
    assert_string_equal(str_at(sv, "metadata.name"), name);
    if (o->ns) assert_string_equal(str_at(sv, "metadata.namespace"), o->ns);
    check_labels(sv, "metadata.labels", c, o, n->id);
    check_labels(sv, "spec.selector", c, o, n->id);
    assert_string_equal(str_at(sv, "spec.clusterIP"), "None");
    assert_string_equal(str_at(sv, "spec.publishNotReadyAddresses"), "true");
    assert_int_equal(count_at(sv, "spec.ports"), 1 + n->nlisten);
    assert_int_equal(int_at(sv, "spec.ports.0.port"), n->port);
    assert_int_equal(int_at(sv, "spec.ports.0.targetPort"), n->port);
    /* the program's listening sockets: a port each on the Service and the Pod,
     * and in the Pod's config on all addresses when they were on loopback */
    assert_int_equal(pc->nodes[i].nlisten, n->nlisten);
    for (size_t k = 0; k < n->nlisten; k++) {
      char p[64], want[32];
      snprintf(want, sizeof want, "listen-%zu", k);
      snprintf(p, sizeof p, "spec.ports.%zu.name", k + 1);
      assert_string_equal(str_at(sv, p), want);
      snprintf(p, sizeof p, "spec.ports.%zu.port", k + 1);
      assert_int_equal(int_at(sv, p), n->listen[k].port);
      snprintf(p, sizeof p, "spec.containers.0.ports.%zu.containerPort", k + 1);
      assert_int_equal(int_at(po, p), n->listen[k].port);
      assert_int_equal(pc->nodes[i].listen[k].port, n->listen[k].port);
      assert_false(kafu_addr_is_loopback(pc->nodes[i].listen[k].host));
    }

    assert_string_equal(str_at(po, "kind"), "Pod");
    assert_string_equal(str_at(po, "metadata.name"), name);
    if (o->ns) assert_string_equal(str_at(po, "metadata.namespace"), o->ns);
    check_labels(po, "metadata.labels", c, o, n->id);
    assert_string_equal(str_at(po, "spec.nodeSelector.kafu-node"), n->placement ? n->placement : n->id);
    assert_int_equal(count_at(po, "spec.nodeSelector"), 1);
    assert_string_equal(str_at(po, "spec.restartPolicy"), "Never");
    assert_int_equal(count_at(po, "spec.containers"), 1);
    assert_string_equal(str_at(po, "spec.containers.0.image"),
                        o->image ? o->image : o->slim ? "kafu-server-slim:latest" : "kafu-server:latest");
    const char *cmd[] = {"kafu", "serve", "--node-id", n->id, "/etc/kafu/kafu-config.yaml"};
    assert_int_equal(count_at(po, "spec.containers.0.command"), 5);
    for (int k = 0; k < 5; k++) {
      char p[64];
      snprintf(p, sizeof p, "spec.containers.0.command.%d", k);
      assert_string_equal(str_at(po, p), cmd[k]);
    }
    assert_int_equal(int_at(po, "spec.containers.0.ports.0.containerPort"), n->port);
    assert_string_equal(str_at(po, "spec.containers.0.readinessProbe.httpGet.path"), "/readyz");
    assert_int_equal(int_at(po, "spec.containers.0.readinessProbe.httpGet.port"), n->port);
    assert_string_equal(str_at(po, "spec.containers.0.livenessProbe.httpGet.path"), "/healthz");
    assert_int_equal(int_at(po, "spec.containers.0.livenessProbe.httpGet.port"), n->port);
    assert_string_equal(str_at(po, "spec.containers.0.volumeMounts.0.name"), "kafu-config");
    assert_string_equal(str_at(po, "spec.containers.0.volumeMounts.0.mountPath"), "/etc/kafu");
    assert_string_equal(str_at(po, "spec.volumes.0.name"), "kafu-config");
    assert_string_equal(str_at(po, "spec.volumes.0.configMap.name"), cm);
    size_t k = 1;
    if (c->app.preopened_dir) {
      assert_string_equal(str_at(po, "spec.containers.0.volumeMounts.1.mountPath"), KAFU_KUBE_DATA_DIR);
      assert_non_null(at(po, "spec.volumes.1.emptyDir"));
      k = 2;
    }
    char q[96];
    snprintf(q, sizeof q, "spec.volumes.%zu.secret.secretName", k);
    assert_string_equal(str_at(po, q), sec);
    snprintf(q, sizeof q, "spec.containers.0.volumeMounts.%zu.mountPath", k);
    assert_string_equal(str_at(po, q), KAFU_KUBE_TOKEN_DIR);
    if (c->tls.cert) { /* cluster.tls: its Secret right after the token's; probes over HTTPS */
      snprintf(q, sizeof q, "spec.volumes.%zu.secret.secretName", k + 1);
      char *tn = kafu_kube_tls_secret_name(o);
      assert_string_equal(str_at(po, q), tn);
      free(tn);
      snprintf(q, sizeof q, "spec.containers.0.volumeMounts.%zu.mountPath", k + 1);
      assert_string_equal(str_at(po, q), KAFU_KUBE_TLS_DIR);
      assert_string_equal(str_at(po, "spec.containers.0.readinessProbe.httpGet.scheme"), "HTTPS");
      assert_string_equal(str_at(po, "spec.containers.0.livenessProbe.httpGet.scheme"), "HTTPS");
      assert_string_equal(str_at(po, "metadata.annotations.prometheus.io/scheme"), "https");
      k++;
    }
    assert_int_equal(count_at(po, "spec.volumes"), k + 3); /* + token, cache, tmp */
    /* locked down: non-root, read-only root fs, no capabilities, seccomp */
    assert_string_equal(str_at(po, "spec.securityContext.runAsNonRoot"), "true");
    assert_string_equal(str_at(po, "spec.securityContext.seccompProfile.type"), "RuntimeDefault");
    assert_string_equal(str_at(po, "spec.containers.0.securityContext.readOnlyRootFilesystem"), "true");
    assert_string_equal(str_at(po, "spec.containers.0.securityContext.allowPrivilegeEscalation"), "false");
    assert_string_equal(str_at(po, "spec.containers.0.securityContext.capabilities.drop.0"), "ALL");
    assert_string_equal(str_at(po, "metadata.annotations.prometheus.io/scrape"), "true");
    free(name);
  }
  kafu_config_free(pc);
  free(cm);
  free(sec);
  free_stream(&st);
}

/* ---- goldens --------------------------------------------------------------- */

/* configs without a token get a random one: the goldens use this instead
 * (tests/shell/kustomize_build.sh passes it with --token-file) */
#define GOLDEN_TOKEN "golden-token-0123456789abcdef"

typedef struct golden {
  const char *config, *golden;
  kafu_kube_opts o;
} golden;

static const golden goldens[] = {
    {"minimal.yaml", "one-node.yaml", {.token = GOLDEN_TOKEN}},
    {"minimal.yaml", "one-node-instance.yaml", {.instance_id = "blue", .token = GOLDEN_TOKEN}},
    {"original.yaml", "two-node-original.yaml", {.token = GOLDEN_TOKEN}},
    {"three.yaml", "three-node.yaml", {0}},
    {"three.yaml",
     "three-node-instance-image.yaml",
     {.instance_id = "demo", .image = "registry.example.com/kafu-pipeline:1.0", .ns = "kafu"}},
    {"url.yaml", "two-node-url.yaml", {.image = "kafu-server:0.1.0", .token = GOLDEN_TOKEN}},
    {"listen.yaml", "two-node-listen.yaml", {.token = GOLDEN_TOKEN}},
    {"resources.yaml", "two-node-resources.yaml", {.token = GOLDEN_TOKEN}},
    {"tls.yaml", "two-node-tls.yaml", {.token = GOLDEN_TOKEN}},
    {"original.yaml", "two-node-slim.yaml", {.slim = true, .token = GOLDEN_TOKEN}},
};

static void test_goldens(void **s) {
  bool update = getenv("KAFU_UPDATE_GOLDEN") && *getenv("KAFU_UPDATE_GOLDEN") == '1';
  for (size_t i = 0; i < sizeof goldens / sizeof *goldens; i++) {
    const golden *g = &goldens[i];
    kafu_config *c = load_data(g->config);
    kafu_buf out = {0};
    kafu_err e = {0};
    if (kafu_kube_build(c, &g->o, &out, &e) < 0) fail_msg("%s: %s", g->golden, e.msg);
    check_objects(c, &g->o, (char *)out.data, out.len);
    char rel[160];
    snprintf(rel, sizeof rel, "tests/golden/kustomize/%s", g->golden);
    char *p = src_path(rel);
    if (update) assert_int_equal(kafu_write_file_atomic(p, out.data, out.len, NULL), 0);
    uint8_t *want;
    size_t wlen;
    if (kafu_read_file(p, &want, &wlen, &e) < 0) fail_msg("%s (set KAFU_UPDATE_GOLDEN=1 to create)", e.msg);
    if (wlen != out.len || memcmp(want, out.data, wlen)) {
      char tmp[128];
      snprintf(tmp, sizeof tmp, "%s/%s", g_dir, g->golden);
      kafu_write_file_atomic(tmp, out.data, out.len, NULL);
      fail_msg("%s differs from the golden; see: diff %s %s", g->golden, p, tmp);
    }
    free(want);
    free(p);
    kafu_buf_free(&out);
    kafu_config_free(c);
  }
}

/* ---- quoting --------------------------------------------------------------- */

static void test_quoting(void **s) {
  /* ids and args that YAML would misread if written plain */
  kafu_config *c = load_text(
      "name: \"my app: v2 # test\"\napp:\n  url: \"https://x.example/a.wasm?x=1&y=2\"\n"
      "  args: [\"--flag\", \"a b\", \"k: v\", \"#x\", \"true\", \"0x10\", \"\", \"- item\", \"{x}\", "
      "\"it's\"]\n"
      "nodes:\n  \"123\":\n    address: h\n    port: 1\n    placement: \"1.5\"\n  \"true\":\n    address: h\n"
      "    port: 2\n  \"0x1f\":\n    address: h\n    port: 3\n");
  kafu_kube_opts o = {.instance_id = "007"};
  kafu_buf out = {0};
  kafu_err e = {0};
  if (kafu_kube_build(c, &o, &out, &e) < 0) fail_msg("%s", e.msg);
  check_objects(c, &o, (char *)out.data, out.len);
  stream st;
  parse_stream((char *)out.data, out.len, &st);
  /* label values that look like numbers/bools must be quoted strings */
  yaml_node_t *n = at(&st.docs[2], "metadata.labels.kafu-node-id");
  assert_string_equal((char *)n->data.scalar.value, "123");
  assert_int_not_equal(n->data.scalar.style, YAML_PLAIN_SCALAR_STYLE);
  n = at(&st.docs[4], "metadata.labels.kafu-node-id");
  assert_string_equal((char *)n->data.scalar.value, "true");
  assert_int_not_equal(n->data.scalar.style, YAML_PLAIN_SCALAR_STYLE);
  n = at(&st.docs[2], "metadata.labels.kafu-instance");
  assert_int_not_equal(n->data.scalar.style, YAML_PLAIN_SCALAR_STYLE);
  n = at(&st.docs[3], "spec.nodeSelector.kafu-node");
  assert_string_equal((char *)n->data.scalar.value, "1.5");
  assert_int_not_equal(n->data.scalar.style, YAML_PLAIN_SCALAR_STYLE);
  /* the service label is sanitized like the original */
  assert_string_equal(str_at(&st.docs[3], "metadata.labels.kafu-service-name"), "my-app--v2---test");
  free_stream(&st);
  kafu_buf_free(&out);
  kafu_config_free(c);

  char *v = kafu_kube_label_value("---");
  assert_string_equal(v, "default");
  free(v);
  char longname[100];
  memset(longname, 'a', 99);
  longname[99] = 0;
  longname[62] = '.';
  v = kafu_kube_label_value(longname);
  assert_string_equal(
      v, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 62, trailing '.' cut */
  free(v);
}

/* ---- -o DIR and kubectl ----------------------------------------------------- */

static void test_write_dir(void **s) {
  kafu_config *c = load_data("three.yaml");
  kafu_kube_opts o = {.instance_id = "demo", .ns = "kafu"};
  char dir[128];
  snprintf(dir, sizeof dir, "%s/base/nested", g_dir);
  kafu_err e = {0};
  if (kafu_kube_write_dir(c, &o, dir, &e) < 0) fail_msg("%s", e.msg);
  /* every file is valid YAML; together they hold the objects kafu_kube_build prints */
  const char *files[] = {"configmap.yaml", "secret.yaml", "kafu-server-edge.yaml", "kafu-server-cloud.yaml",
                         "kafu-server-storage.yaml"};
  kafu_buf all = {0};
  for (size_t i = 0; i < 5; i++) {
    char *p = kafu_path_join(dir, files[i]);
    uint8_t *b;
    size_t len;
    assert_int_equal(kafu_read_file(p, &b, &len, &e), 0);
    assert_true(b[0] == '#'); /* the "generated" header */
    kafu_buf_printf(&all, "%s%s", i ? "---\n" : "", (char *)b);
    free(b), free(p);
  }
  kafu_buf built = {0};
  assert_int_equal(kafu_kube_build(c, &o, &built, &e), 0);
  stream a, b;
  parse_stream((char *)all.data, all.len, &a);
  parse_stream((char *)built.data, built.len, &b);
  char *ca = canon_stream(&a), *cb = canon_stream(&b);
  assert_string_equal(ca, cb);
  free_stream(&a);

  /* kustomization.yaml lists exactly these resources */
  char *kp = kafu_path_join(dir, "kustomization.yaml");
  uint8_t *kb;
  size_t klen;
  assert_int_equal(kafu_read_file(kp, &kb, &klen, &e), 0);
  parse_stream((char *)kb, klen, &a);
  assert_int_equal(a.n, 1);
  assert_string_equal(str_at(&a.docs[0], "kind"), "Kustomization");
  assert_int_equal(count_at(&a.docs[0], "resources"), 5);
  for (int i = 0; i < 5; i++) {
    char p[32];
    snprintf(p, sizeof p, "resources.%d", i);
    assert_string_equal(str_at(&a.docs[0], p), files[i]);
  }
  free_stream(&a);
  free(kb), free(kp);

  /* kubectl kustomize renders the same objects (skipped without kubectl) */
  char *kubectl = kafu_which("kubectl");
  if (!kubectl) {
    fprintf(stderr, "test_write_dir: kubectl not installed; skipping `kubectl kustomize` comparison\n");
  } else {
    char cmd[512], outp[160];
    snprintf(outp, sizeof outp, "%s/kubectl.yaml", g_dir);
    snprintf(cmd, sizeof cmd, "timeout 120 '%s' kustomize '%s' > '%s'", kubectl, dir, outp);
    int rc = system(cmd);
    if (rc != 0) {
      fprintf(stderr, "test_write_dir: `kubectl kustomize` failed (rc=%d)\n", rc);
      fail();
    }
    uint8_t *kout;
    size_t kolen;
    assert_int_equal(kafu_read_file(outp, &kout, &kolen, &e), 0);
    parse_stream((char *)kout, kolen, &a);
    assert_int_equal(a.n, 2 + 2 * c->nnodes);
    char *ck = canon_stream(&a);
    if (strcmp(ck, cb))
      fail_msg("kubectl kustomize renders different objects:\nkubectl:\n%s\nkafu:\n%s", ck, cb);
    fprintf(stderr, "test_write_dir: `kubectl kustomize` renders the same %zu objects\n", a.n);
    free(ck);
    free_stream(&a);
    free(kout);
    free(kubectl);
  }
  free_stream(&b);
  free(ca), free(cb);
  kafu_buf_free(&all), kafu_buf_free(&built);
  kafu_config_free(c);
}

/* ---- bad input --------------------------------------------------------------- */

static void expect_bad(const char *yaml, const kafu_kube_opts *o, const char *const *needles) {
  kafu_config *c = load_text(yaml);
  kafu_buf out = {0};
  kafu_err e = {0};
  int rc = kafu_kube_build(c, o, &out, &e);
  if (rc != KAFU_EINVAL) fail_msg("expected failure for:\n%s", yaml);
  for (; *needles; needles++)
    if (!strstr(e.msg, *needles)) fail_msg("message lacks \"%s\": %s", *needles, e.msg);
  assert_int_equal(out.len, 0);
  kafu_buf_free(&out);
  kafu_config_free(c);
}

#define APP "name: x\napp:\n  path: a.wasm\nnodes:\n"

static void test_bad_input(void **s) {
  kafu_kube_opts none = {0};
  expect_bad(APP "  cloud:\n    address: h\n    port: 1\n  Edge_1:\n    address: h\n    port: 2\n", &none,
             (const char *[]){
                 "kafu-config.yaml:8:3: nodes.Edge_1: node id \"Edge_1\" is not a valid Kubernetes name",
                 "uppercase letters and '_'", "lowercase RFC 1123", NULL});
  expect_bad(APP "  Cloud:\n    address: h\n    port: 1\n", &none,
             (const char *[]){":5:3: nodes.Cloud:", "it contains uppercase letters;", NULL});
  expect_bad(APP "  edge_1:\n    address: h\n    port: 1\n", &none,
             (const char *[]){"nodes.edge_1", "it contains '_'", NULL});
  /* 52 chars: kafu-server-<id> is 64 > 63 */
  expect_bad(APP "  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:\n    address: h\n    port: 1\n",
             &none,
             (const char *[]){"would be 64 characters; Kubernetes allows 63", "Use a shorter node id", NULL});
  /* fits alone, too long with an instance prefix */
  kafu_kube_opts inst = {.instance_id = "instance-one"};
  expect_bad(
      APP "  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:\n    address: h\n    port: 1\n", &inst,
      (const char *[]){"instance-one-kafu-server-aaaa", "would be 64 characters", "or instance id", NULL});
  expect_bad(APP "  e:\n    address: h\n    port: 1\n    placement: \"gpu pool\"\n", &none,
             (const char *[]){"nodes.e.placement: \"gpu pool\" is not a valid Kubernetes label value",
                              "only letters, digits", NULL});
  const char *good = APP "  e:\n    address: h\n    port: 1\n";
  kafu_kube_opts bad_inst[] = {{.instance_id = "Blue"},
                               {.instance_id = "blue_1"},
                               {.instance_id = "-x"},
                               {.instance_id = ""},
                               {.instance_id = "a.b"}};
  for (size_t i = 0; i < 5; i++)
    expect_bad(good, &bad_inst[i], (const char *[]){"--instance-id", "is not a valid name prefix", NULL});
  kafu_kube_opts bad_ns = {.ns = "My-NS"};
  expect_bad(good, &bad_ns, (const char *[]){"--namespace \"My-NS\" is not a valid namespace", NULL});
  kafu_kube_opts bad_img = {.image = "kafu server"};
  expect_bad(good, &bad_img,
             (const char *[]){"--image \"kafu server\" is not a valid image reference", NULL});
  /* write_dir validates before touching the disk */
  kafu_config *c = load_text(APP "  E:\n    address: h\n    port: 1\n");
  char dir[128];
  snprintf(dir, sizeof dir, "%s/never", g_dir);
  kafu_err e;
  assert_int_equal(kafu_kube_write_dir(c, NULL, dir, &e), KAFU_EINVAL);
  assert_false(kafu_file_exists(dir));
  kafu_config_free(c);
}

static void test_names(void **s) {
  kafu_kube_opts o = {.instance_id = "blue"};
  char *n = kafu_kube_server_name(&o, "edge");
  assert_string_equal(n, "blue-kafu-server-edge");
  free(n);
  n = kafu_kube_server_name(NULL, "edge");
  assert_string_equal(n, "kafu-server-edge");
  free(n);
  n = kafu_kube_configmap_name(&o);
  assert_string_equal(n, "kafu-config-blue");
  free(n);
  n = kafu_kube_configmap_name(NULL);
  assert_string_equal(n, "kafu-config");
  free(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_goldens),   cmocka_unit_test(test_quoting), cmocka_unit_test(test_write_dir),
      cmocka_unit_test(test_bad_input), cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

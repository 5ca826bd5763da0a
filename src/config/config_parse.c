/*
 * config_parse.c — kafu-config.yaml → kafu_config, with precise errors.
 *
 * We load the file with libyaml's document API (the whole tree, each node with
 * its start mark) and walk it against a fixed schema. libyaml does not resolve
 * scalar types, so this file does (YAML 1.2 core schema for plain scalars:
 * null, true/false, integers); quoted scalars are always strings. String fields
 * accept any non-null scalar's text, as the original Kafu did (its docs use
 * `args: [960, 540]`).
 *
 * Every message is "file:line:col: key.path: problem", pointing at the key the
 * problem belongs to (for list items, at the item). Missing required keys point
 * at the enclosing mapping's key.
 */
#define KAFU_CONFIG_MAX_NESTING 64
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config_internal.h"
#include "kafu/config.h"

#define MAX_CONFIG_BYTES (16u << 20)

typedef struct parser {
  yaml_document_t *doc;
  const char *file; /* name used in messages */
  kafu_err *err;
  kafu_config *c;
} parser;

/* ---- messages ------------------------------------------------------------- */

static int failv(parser *p, const yaml_node_t *at, const char *key, const char *fmt, va_list ap) {
  char what[768];
  vsnprintf(what, sizeof what, fmt, ap);
  int line = at ? (int)at->start_mark.line + 1 : 1, col = at ? (int)at->start_mark.column + 1 : 1;
  if (key && *key)
    return kafu_err_set(p->err, KAFU_EINVAL, "%s:%d:%d: %s: %s", p->file, line, col, key, what);
  return kafu_err_set(p->err, KAFU_EINVAL, "%s:%d:%d: %s", p->file, line, col, what);
}

static int fail(parser *p, const yaml_node_t *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(parser *p, const yaml_node_t *at, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = failv(p, at, key, fmt, ap);
  va_end(ap);
  return rc;
}

static const char *stext(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static bool is_plain(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_null(const yaml_node_t *n) {
  if (!n) return true;
  if (!is_plain(n)) return false;
  const char *s = stext(n);
  return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* A short description of a value for "got ..." parts of messages. */
static void describe(const yaml_node_t *n, char *out, size_t cap) {
  if (!n || is_null(n)) {
    snprintf(out, cap, "null");
  } else if (n->type == YAML_MAPPING_NODE) {
    snprintf(out, cap, "a mapping");
  } else if (n->type == YAML_SEQUENCE_NODE) {
    snprintf(out, cap, "a list");
  } else {
    const char *s = stext(n);
    size_t len = strlen(s);
    char buf[64];
    size_t j = 0;
    for (size_t i = 0; i < len && j < 40; i++) buf[j++] = (s[i] == '\n' || s[i] == '\t') ? ' ' : s[i];
    buf[j] = 0;
    /* plain numbers and booleans read best unquoted: "got 70000", "got true" */
    bool bare =
        is_plain(n) && len <= 40 && strspn(s, "0123456789+-.xXoabcdefABCDEF") == len &&
        (isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1])));
    bare = bare || (is_plain(n) && (!strcmp(s, "true") || !strcmp(s, "false")));
    if (bare)
      snprintf(out, cap, "%s", s);
    else
      snprintf(out, cap, "\"%s%s\"%s", buf, len > 40 ? "..." : "", is_plain(n) ? "" : " (a quoted string)");
  }
}

/* 0 when n is a list; else the error "KEY must be a list of WHAT, got ..." at `at` */
static int expect_list(parser *p, const yaml_node_t *at, const yaml_node_t *n, const char *key,
                       const char *what) {
  if (n->type == YAML_SEQUENCE_NODE) return 0;
  char d[96];
  describe(n, d, sizeof d);
  return fail(p, at, key, "must be a list of %s, got %s", what, d);
}

/* ---- tree access ---------------------------------------------------------- */

typedef struct field {
  const char *name;
  bool hidden;            /* accepted alias, never suggested */
  const yaml_node_t *key; /* set when present */
  const yaml_node_t *val;
} field;

#define FIELD(n) \
  { n, false, NULL, NULL }
#define ALIAS(n) \
  { n, true, NULL, NULL }

static yaml_node_t *node(parser *p, int idx) { return yaml_document_get_node(p->doc, idx); }

static char *joinkey(const char *parent, const char *k) {
  kafu_buf b = {0};
  if (parent && *parent)
    kafu_buf_printf(&b, "%s.%s", parent, k);
  else
    kafu_buf_printf(&b, "%s", k);
  return kafu_buf_cstr(&b); /* NULL only on ENOMEM; callers treat NULL as "" */
}

/* Every key anywhere in the schema, for "it belongs under ..." hints. */
static const char *const all_keys[] = {
    "name",
    "app",
    "nodes",
    "cluster",
    "app.path",
    "app.url",
    "app.sha256",
    "app.args",
    "app.env",
    "app.preopened_dir",
    "app.allow_root_preopen",
    "app.aot_dir",
    "nodes.<id>.address",
    "nodes.<id>.port",
    "nodes.<id>.placement",
    "nodes.<id>.models",
    "nodes.<id>.standby",
    "cluster.failover",
    "cluster.failover.wait_ms",
    "cluster.failover.checkpoint_memory_mb",
    "nodes.<id>.listen",
    "nodes.<id>.resources",
    "cluster.resources",
    "resources.requests",
    "resources.limits",
    "resources.requests.cpu",
    "resources.requests.memory",
    "resources.limits.cpu",
    "resources.limits.memory",
    "cluster.heartbeat",
    "cluster.migration",
    "cluster.token",
    "cluster.token_file",
    "cluster.tls",
    "cluster.tls.cert",
    "cluster.tls.key",
    "cluster.tls.ca",
    "cluster.startup_timeout_ms",
    "cluster.wasi_nn",
    "cluster.wasi_nn.max_model_bytes",
    "cluster.wasi_nn.max_tensor_bytes",
    "cluster.heartbeat.follower_on_coordinator_lost",
    "cluster.heartbeat.interval_ms",
    "cluster.migration.memory_compression",
    "cluster.migration.memory_migration",
    "cluster.migration.compression",
    NULL,
};

static int unknown_key(parser *p, const yaml_node_t *k, const char *path, const char *name,
                       const field *fields, size_t nf) {
  const char *best = NULL;
  int bestd = INT_MAX;
  for (size_t i = 0; i < nf; i++) {
    if (fields[i].hidden) continue;
    int d = kafu_edit_distance(name, fields[i].name);
    if (d < bestd) bestd = d, best = fields[i].name;
  }
  int limit = (int)strlen(name) / 3 + 1;
  if (limit > 3) limit = 3;
  char hint[256] = "";
  if (best && bestd <= limit) {
    snprintf(hint, sizeof hint, " (did you mean `%s`?)", best);
  } else {
    for (const char *const *a = all_keys; *a; a++) {
      const char *last = strrchr(*a, '.');
      last = last ? last + 1 : *a;
      if (!strcmp(last, name)) {
        snprintf(hint, sizeof hint, " (`%s` belongs at `%s`)", name, *a);
        break;
      }
    }
  }
  kafu_buf allowed = {0};
  for (size_t i = 0; i < nf; i++)
    if (!fields[i].hidden) kafu_buf_printf(&allowed, "%s%s", allowed.len ? ", " : "", fields[i].name);
  char *full = joinkey(path, name);
  int rc = fail(p, k, full ? full : name, "unknown key%s; allowed here: %s", hint,
                allowed.data ? kafu_buf_cstr(&allowed) : "");
  free(full);
  kafu_buf_free(&allowed);
  return rc;
}

/* Scalar text of a mapping key, or an error for non-scalar/null keys. */
static int key_text(parser *p, const yaml_node_t *k, const char *path, const char **out) {
  *out = NULL;
  if (k->type != YAML_SCALAR_NODE || is_null(k)) {
    char d[96];
    describe(k, d, sizeof d);
    return fail(p, k, path, "keys must be plain strings, got %s", d);
  }
  *out = stext(k);
  return 0;
}

/* Check a mapping's keys against `fields` (unknown, duplicate) and fill them. */
static int get_fields(parser *p, const yaml_node_t *map, const char *path, field *fields, size_t nf) {
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
    const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
    const char *name;
    int rc = key_text(p, k, path, &name);
    if (rc < 0) return rc;
    size_t i = 0;
    while (i < nf && strcmp(fields[i].name, name)) i++;
    if (i == nf) return unknown_key(p, k, path, name, fields, nf);
    if (fields[i].key) {
      char *full = joinkey(path, name);
      rc = fail(p, k, full ? full : name, "duplicate key (first defined at line %d, column %d)",
                (int)fields[i].key->start_mark.line + 1, (int)fields[i].key->start_mark.column + 1);
      free(full);
      return rc;
    }
    fields[i].key = k, fields[i].val = v;
  }
  return 0;
}

/* ---- typed values --------------------------------------------------------- */

/* Any non-null scalar's text. `what` describes the expectation in messages. */
static int get_string(parser *p, const yaml_node_t *at, const yaml_node_t *v, const char *key, bool nonempty,
                      char **out) {
  char d[96];
  if (!v || v->type != YAML_SCALAR_NODE || is_null(v)) {
    describe(v, d, sizeof d);
    return fail(p, at, key, "must be a string, got %s", d);
  }
  if (nonempty && !*stext(v)) return fail(p, at, key, "must not be empty");
  *out = strdup(stext(v));
  if (!*out) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
  return 0;
}

/* Plain scalar integer (decimal, 0x hex, 0o octal) within [lo, hi]. */
static int get_int(parser *p, const yaml_node_t *at, const yaml_node_t *v, const char *key, long long lo,
                   long long hi, long long *out) {
  char d[96];
  describe(v, d, sizeof d);
  if (v && is_plain(v) && !is_null(v)) {
    const char *s = stext(v);
    int base = 10;
    const char *digits = s;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, digits = s + 2;
    if (s[0] == '0' && s[1] == 'o') base = 8, digits = s + 2;
    bool ok_start = base == 16  ? isxdigit((unsigned char)*digits)
                    : base == 8 ? (*digits >= '0' && *digits <= '7')
                                : (isdigit((unsigned char)*digits) ||
                                   ((*digits == '-' || *digits == '+') && isdigit((unsigned char)digits[1])));
    if (ok_start) {
      char *end;
      errno = 0;
      long long x = strtoll(digits, &end, base);
      if (!*end && !errno && x >= lo && x <= hi) {
        *out = x;
        return 0;
      }
    }
  }
  return fail(p, at, key, "must be an integer %lld..%lld, got %s", lo, hi, d);
}

static int get_bool(parser *p, const yaml_node_t *at, const yaml_node_t *v, const char *key, bool *out) {
  if (v && is_plain(v)) {
    const char *s = stext(v);
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) return *out = true, 0;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) return *out = false, 0;
  }
  char d[96];
  describe(v, d, sizeof d);
  return fail(p, at, key, "must be true or false, got %s", d);
}

/* One of `names` (a quoted string is fine here, as in the original). */
static int get_enum(parser *p, const yaml_node_t *at, const yaml_node_t *v, const char *key,
                    const char *const *names, int *out) {
  kafu_buf list = {0};
  for (int i = 0; names[i]; i++) kafu_buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
  if (v && v->type == YAML_SCALAR_NODE && !is_null(v)) {
    for (int i = 0; names[i]; i++)
      if (!strcmp(stext(v), names[i])) {
        kafu_buf_free(&list);
        return *out = i, 0;
      }
  }
  char d[96], hint[128] = "";
  describe(v, d, sizeof d);
  if (v && v->type == YAML_SCALAR_NODE) {
    int bestd = INT_MAX, best = -1;
    for (int i = 0; names[i]; i++) {
      int e = kafu_edit_distance(stext(v), names[i]);
      size_t lv = strlen(stext(v));
      if (lv >= 3 && !strncmp(stext(v), names[i], lv)) e = 1; /* a prefix: "shutdown" */
      if (e < bestd) bestd = e, best = i;
    }
    if (best >= 0 && bestd <= 3) snprintf(hint, sizeof hint, " (did you mean `%s`?)", names[best]);
  }
  int rc = fail(p, at, key, "must be one of %s; got %s%s", kafu_buf_cstr(&list), d, hint);
  kafu_buf_free(&list);
  return rc;
}

static int want_mapping(parser *p, const yaml_node_t *at, const yaml_node_t *v, const char *key) {
  if (v && v->type == YAML_MAPPING_NODE) return 0;
  char d[96];
  describe(v, d, sizeof d);
  return fail(p, at, key, "must be a mapping, got %s", d);
}

/* ---- sections ------------------------------------------------------------- */

static int parse_sha256(parser *p, const yaml_node_t *at, const yaml_node_t *v, kafu_config_app *app) {
  char *s = NULL;
  int rc = get_string(p, at, v, "app.sha256", true, &s);
  if (rc < 0) return rc;
  const char *h = s;
  if (!strncasecmp(h, "sha256:", 7)) h += 7;
  bool ok = strlen(h) == 64;
  for (int i = 0; ok && i < 64; i++) ok = isxdigit((unsigned char)h[i]);
  if (!ok) {
    char d[96];
    describe(v, d, sizeof d);
    free(s);
    return fail(p, at, "app.sha256",
                "must be 64 hex digits (a SHA-256 digest, optionally prefixed sha256:), got %s", d);
  }
  for (int i = 0; i < 32; i++) {
    char b[3] = {h[2 * i], h[2 * i + 1], 0};
    app->sha256[i] = (uint8_t)strtoul(b, NULL, 16);
  }
  app->has_sha256 = true;
  free(s);
  return 0;
}

/* app.env: a mapping NAME: value (scalars, taken as their text). */
static int parse_env(parser *p, const yaml_node_t *at, const yaml_node_t *map) {
  int rc = want_mapping(p, at, map, "app.env");
  if (rc < 0) return rc;
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
    const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
    const char *name;
    if ((rc = key_text(p, k, "app.env", &name)) < 0) return rc;
    char *key = joinkey("app.env", name);
    if (!key) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
    char *val = NULL;
    if (!*name || strchr(name, '='))
      rc = fail(p, k, key, "a variable name must be non-empty and contain no '='");
    else
      rc = get_string(p, k, v, key, false, &val);
    for (size_t i = 0; rc == 0 && i < p->c->app.nenv; i++) {
      size_t nl = strlen(name);
      if (!strncmp(p->c->app.env[i], name, nl) && p->c->app.env[i][nl] == '=')
        rc = fail(p, k, key, "duplicate variable");
    }
    kafu_buf kv = {0};
    if (rc == 0 && kafu_buf_printf(&kv, "%s=%s", name, val) < 0)
      rc = kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
    if (rc == 0) rc = kafu_config_add_env(p->c, kafu_buf_cstr(&kv), p->err);
    kafu_buf_free(&kv);
    free(val);
    free(key);
    if (rc < 0) return rc;
  }
  return 0;
}

/* An optional directory (absent or null = leave *out NULL), resolved against
 * the config file's directory. */
static int get_dir(parser *p, const field *f, const char *name, char **out) {
  if (!f->key || is_null(f->val)) return 0;
  char *raw;
  int rc = get_string(p, f->key, f->val, name, true, &raw);
  if (rc < 0) return rc;
  *out = kafu_config_resolve(p->c->config_dir, raw);
  free(raw);
  return *out ? 0 : kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
}

static int parse_app(parser *p, const yaml_node_t *appkey, const yaml_node_t *map) {
  kafu_config *c = p->c;
  int rc = want_mapping(p, appkey, map, "app");
  if (rc < 0) return rc;
  field f[] = {FIELD("path"), FIELD("url"),           FIELD("sha256"),
               FIELD("args"), FIELD("env"),           FIELD("preopened_dir"),
               FIELD("allow_root_preopen"), FIELD("aot_dir")};
  if ((rc = get_fields(p, map, "app", f, 8)) < 0) return rc;
  const field *path = &f[0], *url = &f[1], *sha = &f[2], *args = &f[3], *env = &f[4], *pre = &f[5],
              *root_ok = &f[6], *aot = &f[7];
  bool has_path = path->key && !is_null(path->val), has_url = url->key && !is_null(url->val);
  if (has_path && has_url) {
    const field *second = path->key->start_mark.index > url->key->start_mark.index ? path : url;
    const field *first = second == path ? url : path;
    return fail(p, second->key, second == path ? "app.path" : "app.url",
                "only one of app.path and app.url may be set (app.%s is at line %d)", first->name,
                (int)first->key->start_mark.line + 1);
  }
  if (!has_path && !has_url) return fail(p, appkey, "app", "one of app.path or app.url is required");
  if (has_path) {
    char *raw;
    if ((rc = get_string(p, path->key, path->val, "app.path", true, &raw)) < 0) return rc;
    c->app.path = kafu_config_resolve(c->config_dir, raw);
    free(raw);
    if (!c->app.path) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
  } else {
    if ((rc = get_string(p, url->key, url->val, "app.url", true, &c->app.url)) < 0) return rc;
    const char *u = c->app.url;
    if (strncasecmp(u, "http://", 7) && strncasecmp(u, "https://", 8) && strncasecmp(u, "file://", 7)) {
      char d[96];
      describe(url->val, d, sizeof d);
      return fail(p, url->key, "app.url", "must be an http://, https:// or file:// URL, got %s", d);
    }
  }
  if (sha->key && !is_null(sha->val) && (rc = parse_sha256(p, sha->key, sha->val, &c->app)) < 0) return rc;
  if (args->key && !is_null(args->val)) {
    const yaml_node_t *seq = args->val;
    int lrc = expect_list(p, args->key, seq, "app.args", "strings");
    if (lrc) return lrc;
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    c->app.args = calloc(n + 1, sizeof(char *));
    if (!c->app.args) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
      const yaml_node_t *it = node(p, seq->data.sequence.items.start[i]);
      char key[48];
      snprintf(key, sizeof key, "app.args[%zu]", i);
      if ((rc = get_string(p, it, it, key, false, &c->app.args[i])) < 0) return rc;
      c->app.nargs = i + 1;
    }
  }
  if (env->key && !is_null(env->val) && (rc = parse_env(p, env->key, env->val)) < 0) return rc;
  if ((rc = get_dir(p, pre, "app.preopened_dir", &c->app.preopened_dir)) < 0 ||
      (rc = get_dir(p, aot, "app.aot_dir", &c->app.aot_dir)) < 0)
    return rc;
  if (root_ok->key && !is_null(root_ok->val) &&
      (rc = get_bool(p, root_ok->key, root_ok->val, "app.allow_root_preopen", &c->app.allow_root_preopen)) < 0)
    return rc;
  if (c->app.preopened_dir) {
    /* the host's root as the program's "." is almost surely a mistake */
    char *real = realpath(c->app.preopened_dir, NULL);
    bool root = !strcmp(c->app.preopened_dir, "/") || (real && !strcmp(real, "/"));
    free(real);
    if (root && !c->app.allow_root_preopen)
      return fail(p, pre->key, "app.preopened_dir",
                  "\"%s\" is the host's root directory: the program could read and write every file of "
                  "this machine; name the directory it needs, or set app.allow_root_preopen: true",
                  c->app.preopened_dir);
    if (root) { /* normalized, so the warning and the sandbox see "/" */
      free(c->app.preopened_dir);
      if (!(c->app.preopened_dir = strdup("/"))) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
    }
  }
  return 0;
}

/* nodes.<id>.models: {name: path} — the node's wasi-nn named models. Paths
 * are resolved against the config's directory; whether the file exists is
 * checked by the node that serves them (another machine may hold it). */
static int parse_models(parser *p, const yaml_node_t *mkey, const yaml_node_t *map, const char *path,
                        kafu_config_node *nd) {
  char sub[256];
  snprintf(sub, sizeof sub, "%s.models", path);
  int rc = want_mapping(p, mkey, map, sub);
  if (rc < 0) return rc;
  size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
  if (n == 0) return 0;
  if (!(nd->models = calloc(n, sizeof *nd->models)))
    return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    yaml_node_pair_t *pr = &map->data.mapping.pairs.start[i];
    const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
    const char *name;
    if ((rc = key_text(p, k, sub, &name)) < 0) return rc;
    char key[512];
    snprintf(key, sizeof key, "%s.%s", sub, name ? name : "");
    if (!name[0] || strlen(name) > 255) return fail(p, k, key, "a model name must be 1 to 255 characters");
    for (size_t j = 0; j < i; j++)
      if (!strcmp(nd->models[j].name, name))
        return fail(p, k, key, "duplicate model name (first at line %d)", nd->models[j].line);
    char *raw;
    if (!v || is_null(v)) return fail(p, k, key, "expected the path of an ONNX model file");
    if ((rc = get_string(p, k, v, key, true, &raw)) < 0) return rc;
    kafu_config_model *m = &nd->models[i];
    nd->nmodels = i + 1;
    m->line = (int)k->start_mark.line + 1;
    m->path = kafu_config_resolve(p->c->config_dir, raw);
    free(raw);
    if (!(m->name = strdup(name)) || !m->path) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
  }
  return 0;
}

/* nodes.<id>.standby: a list of node ids (checked against `nodes` once all are read). */
static int parse_standby(parser *p, const yaml_node_t *at, const yaml_node_t *seq, const char *key,
                         kafu_config_node *nd) {
  int lrc = expect_list(p, at, seq, key, "node ids");
  if (lrc) return lrc;
  size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
  nd->standby = calloc(n + 1, sizeof(char *));
  if (!nd->standby) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const yaml_node_t *it = node(p, seq->data.sequence.items.start[i]);
    char sub[200];
    snprintf(sub, sizeof sub, "%s[%zu]", key, i);
    int rc = get_string(p, it, it, sub, true, &nd->standby[i]);
    if (rc < 0) return rc;
    nd->nstandby = i + 1;
  }
  return 0;
}

/* Every standby names another node of `nodes`, at most once per list. */
static int check_standby(parser *p, const yaml_node_t *map) {
  kafu_config *c = p->c;
  for (size_t i = 0; i < c->nnodes; i++) {
    const kafu_config_node *nd = &c->nodes[i];
    if (!nd->nstandby) continue;
    /* the list's YAML node, for the position in messages */
    const yaml_node_t *v = node(p, map->data.mapping.pairs.start[i].value), *at = NULL;
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++)
      if (!strcmp(stext(node(p, pr->key)), "standby")) at = node(p, pr->value);
    for (size_t j = 0; j < nd->nstandby; j++) {
      const yaml_node_t *it = at ? node(p, at->data.sequence.items.start[j]) : v;
      char key[200];
      snprintf(key, sizeof key, "nodes.%s.standby[%zu]", nd->id, j);
      const char *s = nd->standby[j];
      if (!strcmp(s, nd->id)) return fail(p, it, key, "a node cannot be its own standby");
      if (kafu_config_node_index(c, s) < 0) {
        kafu_buf names = {0};
        for (size_t k = 0; k < c->nnodes; k++) kafu_buf_printf(&names, "%s%s", k ? ", " : "", c->nodes[k].id);
        int rc = fail(p, it, key, "\"%s\" is not a node of `nodes` (nodes: %s)", s, kafu_buf_cstr(&names));
        kafu_buf_free(&names);
        return rc;
      }
      for (size_t k = 0; k < j; k++)
        if (!strcmp(nd->standby[k], s)) return fail(p, it, key, "\"%s\" is listed twice", s);
    }
  }
  return 0;
}

/* nodes.<id>.listen: a list of "HOST:PORT" ("[V6]:PORT"), each port once, none
 * the node's own (HTTP) port. */
static int parse_listen(parser *p, const yaml_node_t *at, const yaml_node_t *seq, const char *path,
                        kafu_config_node *nd) {
  int lrc = expect_list(p, at, seq, path, "\"HOST:PORT\" strings");
  if (lrc) return lrc;
  size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
  if (n > KAFU_CONFIG_MAX_LISTEN)
    return fail(p, at, path, "at most %d listening sockets per node, got %zu", KAFU_CONFIG_MAX_LISTEN, n);
  if (n && !(nd->listen = calloc(n, sizeof *nd->listen))) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const yaml_node_t *it = node(p, seq->data.sequence.items.start[i]);
    char key[200], *txt = NULL;
    snprintf(key, sizeof key, "%s[%zu]", path, i);
    int rc = get_string(p, it, it, key, true, &txt);
    if (rc < 0) return rc;
    char *colon = strrchr(txt, ':'), *host = txt, *end = NULL;
    long port = colon && colon[1] ? strtol(colon + 1, &end, 10) : -1;
    if (colon) *colon = 0;
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* [V6] */
      memmove(host, host + 1, hl - 2);
      host[hl - 2] = 0;
    } else if (strchr(host, ':') || strchr(host, '[') || strchr(host, ']')) {
      host = NULL; /* an IPv6 address must be bracketed */
    }
    bool bad_host = !host || !*host;
    for (const char *c = host; !bad_host && *c; c++) bad_host = isspace((unsigned char)*c) || *c == '/';
    if (!colon || bad_host || !end || *end || port < 1 || port > 65535) {
      if (colon) *colon = ':';
      rc = fail(p, it, key, "must be \"HOST:PORT\" (e.g. \"0.0.0.0:8080\", \"[::]:8080\") with a port 1..65535, got \"%s\"",
                txt);
      free(txt);
      return rc;
    }
    for (size_t j = 0; j < i; j++)
      if (nd->listen[j].port == port) {
        free(txt);
        return fail(p, it, key, "port %ld is already in %s[%zu]", port, path, j);
      }
    if (port == nd->port) {
      free(txt);
      return fail(p, it, key, "port %ld is the node's own port (nodes.%s.port)", port, nd->id);
    }
    nd->listen[i].host = strdup(host);
    nd->listen[i].port = (uint16_t)port;
    free(txt);
    if (!nd->listen[i].host) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
    nd->nlisten = i + 1;
  }
  return 0;
}

static int parse_resources(parser *p, const yaml_node_t *key, const yaml_node_t *map, const char *path,
                           kafu_config_resources *out);

static int parse_nodes(parser *p, const yaml_node_t *nkey, const yaml_node_t *map) {
  kafu_config *c = p->c;
  if (!map || is_null(map)) return fail(p, nkey, "nodes", "at least one node is required");
  int rc = want_mapping(p, nkey, map, "nodes");
  if (rc < 0) return rc;
  size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
  if (n == 0) return fail(p, nkey, "nodes", "at least one node is required");
  c->nodes = calloc(n, sizeof *c->nodes);
  if (!c->nodes) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    yaml_node_pair_t *pr = &map->data.mapping.pairs.start[i];
    const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
    const char *id;
    if ((rc = key_text(p, k, "nodes", &id)) < 0) return rc;
    char *path = joinkey("nodes", id);
    if (!path) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
    const char *why;
    if (!kafu_node_id_valid(id, &why)) {
      rc = fail(p, k, path, "invalid node id \"%s\": %s", id, why);
      goto node_done;
    }
    for (size_t j = 0; j < i; j++)
      if (!strcmp(c->nodes[j].id, id)) {
        rc = fail(p, k, path, "duplicate node id (first defined at line %d, column %d)", c->nodes[j].line,
                  c->nodes[j].col);
        goto node_done;
      }
    kafu_config_node *nd = &c->nodes[i];
    c->nnodes = i + 1;
    nd->line = (int)k->start_mark.line + 1, nd->col = (int)k->start_mark.column + 1;
    if (!(nd->id = strdup(id))) {
      rc = kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
      goto node_done;
    }
    if ((rc = want_mapping(p, k, v, path)) < 0) goto node_done;
    field f[] = {FIELD("address"), FIELD("port"),   FIELD("placement"), FIELD("models"),
                 FIELD("standby"), FIELD("listen"), FIELD("resources")};
    if ((rc = get_fields(p, v, path, f, 7)) < 0) goto node_done;
    char sub[160];
    if (!f[0].key || is_null(f[0].val)) {
      rc = fail(p, f[0].key ? f[0].key : k, path, "missing required key `address`");
      goto node_done;
    }
    snprintf(sub, sizeof sub, "%s.address", path);
    if ((rc = get_string(p, f[0].key, f[0].val, sub, true, &nd->address)) < 0) goto node_done;
    for (const char *s = nd->address; *s; s++)
      if (isspace((unsigned char)*s) || *s == '/') {
        rc = fail(p, f[0].key, sub, "must be a host name or IP address (no spaces, no '/'), got \"%s\"",
                  nd->address);
        goto node_done;
      }
    if (!f[1].key) {
      rc = fail(p, k, path, "missing required key `port`");
      goto node_done;
    }
    snprintf(sub, sizeof sub, "%s.port", path);
    long long port;
    if ((rc = get_int(p, f[1].key, f[1].val, sub, 1, 65535, &port)) < 0) goto node_done;
    nd->port = (uint16_t)port;
    if (f[2].key && !is_null(f[2].val)) {
      snprintf(sub, sizeof sub, "%s.placement", path);
      if ((rc = get_string(p, f[2].key, f[2].val, sub, true, &nd->placement)) < 0) goto node_done;
    }
    if (f[3].key && !is_null(f[3].val) && (rc = parse_models(p, f[3].key, f[3].val, path, nd)) < 0)
      goto node_done;
    if (f[4].key && !is_null(f[4].val)) {
      snprintf(sub, sizeof sub, "%s.standby", path);
      if ((rc = parse_standby(p, f[4].key, f[4].val, sub, nd)) < 0) goto node_done;
    }
    if (f[5].key && !is_null(f[5].val)) {
      snprintf(sub, sizeof sub, "%s.listen", path);
      if ((rc = parse_listen(p, f[5].key, f[5].val, sub, nd)) < 0) goto node_done;
    }
    if (f[6].key && !is_null(f[6].val)) {
      snprintf(sub, sizeof sub, "%s.resources", path);
      if ((rc = parse_resources(p, f[6].key, f[6].val, sub, &nd->resources)) < 0) goto node_done;
    }
    for (size_t j = 0; j < i; j++)
      if (!strcmp(c->nodes[j].address, nd->address) && c->nodes[j].port == nd->port) {
        rc = fail(p, k, path, "same address and port as node `%s` (%s:%u, line %d)", c->nodes[j].id,
                  nd->address, nd->port, c->nodes[j].line);
        goto node_done;
      }
  node_done:
    free(path);
    if (rc < 0) return rc;
  }
  return check_standby(p, map);
}

/* nodes.<id>.resources / cluster.resources: {requests, limits} each with
 * cpu and memory, Kubernetes quantities; a request above its limit (in the
 * same mapping) is an error. */
static int parse_resources(parser *p, const yaml_node_t *key, const yaml_node_t *map, const char *path,
                           kafu_config_resources *out) {
  int rc = want_mapping(p, key, map, path);
  if (rc < 0) return rc;
  field rl[] = {FIELD("requests"), FIELD("limits")};
  if ((rc = get_fields(p, map, path, rl, 2)) < 0) return rc;
  char *dst[2][2] = {{out->requests_cpu, out->requests_memory}, {out->limits_cpu, out->limits_memory}};
  double val[2][2] = {{-1, -1}, {-1, -1}};
  const yaml_node_t *at[2][2] = {{NULL, NULL}, {NULL, NULL}};
  for (int i = 0; i < 2; i++) {
    if (!rl[i].key || is_null(rl[i].val)) continue;
    char sub[200];
    snprintf(sub, sizeof sub, "%s.%s", path, rl[i].name);
    if ((rc = want_mapping(p, rl[i].key, rl[i].val, sub)) < 0) return rc;
    field cm[] = {FIELD("cpu"), FIELD("memory")};
    if ((rc = get_fields(p, rl[i].val, sub, cm, 2)) < 0) return rc;
    for (int j = 0; j < 2; j++) {
      if (!cm[j].key) continue;
      char k[240];
      snprintf(k, sizeof k, "%s.%s", sub, cm[j].name);
      char *q;
      if ((rc = get_string(p, cm[j].key, cm[j].val, k, true, &q)) < 0) return rc;
      bool ok = strlen(q) < KAFU_CONFIG_QUANTITY_MAX && kafu_config_quantity(q, &val[i][j]) == 0;
      if (ok) snprintf(dst[i][j], KAFU_CONFIG_QUANTITY_MAX, "%s", q);
      if (!ok)
        rc = fail(p, cm[j].val, k, "`%s` is not a Kubernetes quantity (e.g. %s)", q,
                  j ? "\"256Mi\", \"1Gi\", \"512M\"" : "\"500m\", \"1\", \"2.5\"");
      free(q);
      if (rc < 0) return rc;
      at[i][j] = cm[j].val;
    }
  }
  for (int j = 0; j < 2; j++)
    if (at[0][j] && at[1][j] && val[0][j] > val[1][j]) {
      char k[240];
      snprintf(k, sizeof k, "%s.requests.%s", path, j ? "memory" : "cpu");
      return fail(p, at[0][j], k, "%s is more than the limit %s (line %d)", dst[0][j], dst[1][j],
                  (int)at[1][j]->start_mark.line + 1);
    }
  return 0;
}

/* cluster.tls: cert, key and ca, file paths (relative to the config's
 * directory). Like app.path they are read where they are used (the node's
 * HTTPS server at start, libcurl), with errors naming the file: a config may
 * be checked or turned into manifests away from the files. */
static int parse_tls(parser *p, const yaml_node_t *key, const yaml_node_t *map) {
  kafu_config *c = p->c;
  int rc = want_mapping(p, key, map, "cluster.tls");
  if (rc < 0) return rc;
  field t[] = {FIELD("cert"), FIELD("key"), FIELD("ca")};
  if ((rc = get_fields(p, map, "cluster.tls", t, 3)) < 0) return rc;
  char **dst[] = {&c->tls.cert, &c->tls.key, &c->tls.ca};
  static const char *const what[] = {"this node's certificate (PEM)", "its private key (PEM)",
                                     "the CA certificate (PEM) every node's certificate is signed with"};
  for (int i = 0; i < 3; i++) {
    char k[32];
    snprintf(k, sizeof k, "cluster.tls.%s", t[i].name);
    if (!t[i].key) return fail(p, key, "cluster.tls", "missing `%s`: %s", t[i].name, what[i]);
    char *raw;
    if ((rc = get_string(p, t[i].key, t[i].val, k, true, &raw)) < 0) return rc;
    char *abs = kafu_config_resolve(c->config_dir, raw);
    free(raw);
    if (!abs) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
    *dst[i] = abs;
  }
  return 0;
}

static int parse_cluster(parser *p, const yaml_node_t *ckey, const yaml_node_t *map) {
  kafu_config *c = p->c;
  if (is_null(map)) return 0;
  int rc = want_mapping(p, ckey, map, "cluster");
  if (rc < 0) return rc;
  field f[] = {FIELD("heartbeat"),          FIELD("migration"),  FIELD("token"),
               FIELD("startup_timeout_ms"), FIELD("token_file"), FIELD("wasi_nn"),
               FIELD("failover"),           FIELD("tls"),        FIELD("resources")};
  if ((rc = get_fields(p, map, "cluster", f, 9)) < 0) return rc;
  if (f[8].key && !is_null(f[8].val) &&
      (rc = parse_resources(p, f[8].key, f[8].val, "cluster.resources", &c->resources)) < 0)
    return rc;
  const field *hb = &f[0], *mig = &f[1], *tok = &f[2], *st = &f[3], *tokf = &f[4], *nn = &f[5], *fo = &f[6];
  if (f[7].key && !is_null(f[7].val) && (rc = parse_tls(p, f[7].key, f[7].val)) < 0) return rc;
  long long x;
  if (hb->key && !is_null(hb->val)) {
    if ((rc = want_mapping(p, hb->key, hb->val, "cluster.heartbeat")) < 0) return rc;
    field h[] = {FIELD("follower_on_coordinator_lost"), FIELD("interval_ms")};
    if ((rc = get_fields(p, hb->val, "cluster.heartbeat", h, 2)) < 0) return rc;
    if (h[0].key) {
      static const char *const names[] = {"shutdown_self", "ignore", NULL};
      int e;
      if ((rc = get_enum(p, h[0].key, h[0].val, "cluster.heartbeat.follower_on_coordinator_lost", names,
                         &e)) < 0)
        return rc;
      c->heartbeat.on_coordinator_lost = (kafu_on_coordinator_lost)e;
    }
    if (h[1].key) {
      if ((rc = get_int(p, h[1].key, h[1].val, "cluster.heartbeat.interval_ms", 1, 86400000, &x)) < 0)
        return rc;
      c->heartbeat.interval_ms = (uint32_t)x;
    }
  }
  if (mig->key && !is_null(mig->val)) {
    if ((rc = want_mapping(p, mig->key, mig->val, "cluster.migration")) < 0) return rc;
    /* delta_compression / memroy_compression: aliases the original accepts */
    field m[] = {FIELD("memory_compression"), FIELD("memory_migration"), FIELD("compression"),
                 ALIAS("delta_compression"), ALIAS("memroy_compression")};
    if ((rc = get_fields(p, mig->val, "cluster.migration", m, 5)) < 0) return rc;
    const field *mc = NULL;
    for (int i = 0; i < 5; i++) {
      if (i == 1 || i == 2 || !m[i].key) continue;
      if (mc) {
        const field *second = mc->key->start_mark.index > m[i].key->start_mark.index ? mc : &m[i];
        const field *first = second == mc ? &m[i] : mc;
        char key[96];
        snprintf(key, sizeof key, "cluster.migration.%s", second->name);
        return fail(p, second->key, key, "duplicate key: `%s` and `%s` (line %d) both set memory_compression",
                    second->name, first->name, (int)first->key->start_mark.line + 1);
      }
      mc = &m[i];
    }
    bool mem_comp = true;
    if (mc) {
      char key[96];
      snprintf(key, sizeof key, "cluster.migration.%s", mc->name);
      if ((rc = get_bool(p, mc->key, mc->val, key, &mem_comp)) < 0) return rc;
    }
    if (m[1].key) {
      static const char *const names[] = {"delta", "full", NULL};
      int e;
      if ((rc = get_enum(p, m[1].key, m[1].val, "cluster.migration.memory_migration", names, &e)) < 0)
        return rc;
      c->migration.mode = (kafu_memory_migration)e;
    }
    /* neither key: auto; the original's memory_compression: true keeps meaning LZ4 */
    c->migration.compression = !mc ? KAFU_COMPRESSION_AUTO : mem_comp ? KAFU_COMPRESSION_LZ4 : KAFU_COMPRESSION_NONE;
    if (m[2].key) {
      static const char *const names[] = {"none", "lz4", "zstd", "auto", NULL};
      int e;
      if ((rc = get_enum(p, m[2].key, m[2].val, "cluster.migration.compression", names, &e)) < 0) return rc;
      if (mc && ((!mem_comp && e != KAFU_COMPRESSION_NONE) || (mem_comp && e == KAFU_COMPRESSION_NONE)))
        return fail(p, m[2].key, "cluster.migration.compression",
                    "`%s` conflicts with %s: %s (line %d); remove one of them", names[e], mc->name,
                    mem_comp ? "true" : "false", (int)mc->key->start_mark.line + 1);
      c->migration.compression = (kafu_compression)e;
    }
  }
  bool has_tok = tok->key && !is_null(tok->val), has_tokf = tokf->key && !is_null(tokf->val);
  if (has_tok && has_tokf) {
    const field *second = tok->key->start_mark.index > tokf->key->start_mark.index ? tok : tokf;
    const field *first = second == tok ? tokf : tok;
    return fail(p, second->key, second == tok ? "cluster.token" : "cluster.token_file",
                "only one of cluster.token and cluster.token_file may be set (cluster.%s is at line %d)",
                first->name, (int)first->key->start_mark.line + 1);
  }
  if (has_tok) {
    if ((rc = get_string(p, tok->key, tok->val, "cluster.token", true, &c->token)) < 0) return rc;
    char why[160];
    const char *w = kafu_config_token_problem(c->token, why, sizeof why);
    if (*w) return fail(p, tok->key, "cluster.token", "unusable token: %s", w);
  }
  if (has_tokf) {
    char *raw;
    if ((rc = get_string(p, tokf->key, tokf->val, "cluster.token_file", true, &raw)) < 0) return rc;
    kafu_err e = {0};
    rc = kafu_config_set_token_file(c, raw, &e);
    free(raw);
    if (rc == KAFU_ENOMEM) return kafu_err_set(p->err, KAFU_ENOMEM, "out of memory");
    if (rc < 0) return fail(p, tokf->key, "cluster.token_file", "%s", e.msg);
  }
  if (st->key) {
    if ((rc = get_int(p, st->key, st->val, "cluster.startup_timeout_ms", 1, 86400000, &x)) < 0) return rc;
    c->startup_timeout_ms = (uint32_t)x;
  }
  if (fo->key && !is_null(fo->val)) {
    if ((rc = want_mapping(p, fo->key, fo->val, "cluster.failover")) < 0) return rc;
    field h[] = {FIELD("wait_ms"), FIELD("checkpoint_memory_mb")};
    if ((rc = get_fields(p, fo->val, "cluster.failover", h, 2)) < 0) return rc;
    if (h[0].key) {
      if ((rc = get_int(p, h[0].key, h[0].val, "cluster.failover.wait_ms", 0, 86400000, &x)) < 0) return rc;
      c->failover.wait_ms = (uint32_t)x;
    }
    if (h[1].key) {
      if ((rc = get_int(p, h[1].key, h[1].val, "cluster.failover.checkpoint_memory_mb", 0, 1048576, &x)) < 0)
        return rc;
      c->failover.checkpoint_memory_mb = (uint32_t)x;
    }
  }
  if (nn->key && !is_null(nn->val)) {
    /* extension: limits of the wasi-nn host on every node */
    if ((rc = want_mapping(p, nn->key, nn->val, "cluster.wasi_nn")) < 0) return rc;
    field w[] = {FIELD("max_model_bytes"), FIELD("max_tensor_bytes")};
    if ((rc = get_fields(p, nn->val, "cluster.wasi_nn", w, 2)) < 0) return rc;
    if (w[0].key) {
      if ((rc = get_int(p, w[0].key, w[0].val, "cluster.wasi_nn.max_model_bytes", 1, 1ll << 40, &x)) < 0)
        return rc;
      c->wasi_nn.max_model_bytes = (uint64_t)x;
    }
    if (w[1].key) {
      if ((rc = get_int(p, w[1].key, w[1].val, "cluster.wasi_nn.max_tensor_bytes", 1, 1ll << 40, &x)) < 0)
        return rc;
      c->wasi_nn.max_tensor_bytes = (uint64_t)x;
    }
  }
  return 0;
}

/* A node's requests (its own, else cluster.resources') within its limits
 * (likewise): Kubernetes refuses a Pod otherwise. */
static int check_resources(parser *p, const yaml_node_t *nodes) {
  kafu_config *c = p->c;
  for (size_t i = 0; i < c->nnodes; i++) {
    kafu_config_resources r;
    kafu_config_node_resources(c, &c->nodes[i], &r);
    const char *rq[2] = {r.requests_cpu, r.requests_memory}, *lm[2] = {r.limits_cpu, r.limits_memory};
    for (int j = 0; j < 2; j++) {
      double a, b;
      if (!*rq[j] || !*lm[j] || kafu_config_quantity(rq[j], &a) || kafu_config_quantity(lm[j], &b) || a <= b)
        continue;
      char k[160];
      snprintf(k, sizeof k, "nodes.%s.resources", c->nodes[i].id);
      const yaml_node_t *at = nodes;
      for (yaml_node_pair_t *pr = nodes->data.mapping.pairs.start; pr < nodes->data.mapping.pairs.top; pr++)
        if (!strcmp(stext(node(p, pr->key)), c->nodes[i].id)) at = node(p, pr->key);
      return fail(p, at, k, "requests.%s %s is more than limits.%s %s (one of them from cluster.resources)",
                  j ? "memory" : "cpu", rq[j], j ? "memory" : "cpu", lm[j]);
    }
  }
  return 0;
}

static int parse_root(parser *p, const yaml_node_t *root) {
  kafu_config *c = p->c;
  if (root->type != YAML_MAPPING_NODE) {
    char d[96];
    describe(root, d, sizeof d);
    return fail(p, root, NULL,
                "the config must be a mapping with keys name, app, nodes (and optionally cluster), "
                "got %s",
                d);
  }
  field f[] = {FIELD("name"), FIELD("app"), FIELD("nodes"), FIELD("cluster")};
  int rc = get_fields(p, root, "", f, 4);
  if (rc < 0) return rc;
  if (!f[0].key) return fail(p, root, NULL, "missing required key `name`");
  if ((rc = get_string(p, f[0].key, f[0].val, "name", true, &c->name)) < 0) return rc;
  if (!f[1].key) return fail(p, root, NULL, "missing required key `app`");
  if ((rc = parse_app(p, f[1].key, f[1].val)) < 0) return rc;
  if (!f[2].key) return fail(p, root, NULL, "missing required key `nodes`");
  if ((rc = parse_nodes(p, f[2].key, f[2].val)) < 0) return rc;
  if (f[3].key && (rc = parse_cluster(p, f[3].key, f[3].val)) < 0) return rc;
  return check_resources(p, f[2].val);
}

/* ---- entry points --------------------------------------------------------- */

static int syntax_error(yaml_parser_t *yp, const char *file, kafu_err *err) {
  int line = (int)yp->problem_mark.line + 1, col = (int)yp->problem_mark.column + 1;
  if (yp->context)
    return kafu_err_set(err, KAFU_EFORMAT, "%s:%d:%d: YAML syntax error: %s %s (line %d)", file, line, col,
                        yp->problem ? yp->problem : "invalid YAML", yp->context,
                        (int)yp->context_mark.line + 1);
  return kafu_err_set(err, KAFU_EFORMAT, "%s:%d:%d: YAML syntax error: %s", file, line, col,
                      yp->problem ? yp->problem : "invalid YAML");
}

int kafu_config_load_string(const char *text, size_t len, const char *display_name, const char *base_dir,
                            kafu_config **out, kafu_err *err) {
  *out = NULL;
  const char *file = display_name ? display_name : "<string>";
  if (len > MAX_CONFIG_BYTES)
    return kafu_err_set(err, KAFU_EINVAL, "%s: config is %zu bytes; more than %u is surely not a config",
                        file, len, MAX_CONFIG_BYTES);
  kafu_config *c = calloc(1, sizeof *c);
  if (!c) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  c->heartbeat.interval_ms = KAFU_CONFIG_DEFAULT_INTERVAL_MS;
  c->heartbeat.on_coordinator_lost = KAFU_ON_COORDINATOR_LOST_SHUTDOWN_SELF;
  c->migration.compression = KAFU_COMPRESSION_AUTO;
  c->migration.mode = KAFU_MEMORY_MIGRATION_DELTA;
  c->startup_timeout_ms = KAFU_CONFIG_DEFAULT_STARTUP_TIMEOUT_MS;
  c->failover.wait_ms = KAFU_CONFIG_DEFAULT_FAILOVER_WAIT_MS;
  c->failover.checkpoint_memory_mb = KAFU_CONFIG_DEFAULT_CHECKPOINT_MEMORY_MB;
  c->raw = malloc(len + 1);
  c->config_dir = kafu_config_abs_dir(base_dir);
  c->config_path = strdup(file);
  if (!c->raw || !c->config_dir || !c->config_path) {
    kafu_config_free(c);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  memcpy(c->raw, text, len);
  c->raw[len] = 0;
  c->raw_len = len;

  /* libyaml's loader is quadratic in flow-collection nesting ([[[[...): a
   * 100k-deep line takes seconds. No config nests deeper than a few levels, so
   * refuse absurd depth up front (brackets inside quoted strings count too:
   * harmless at this limit). */
  {
    int depth = 0, line = 1, col = 0;
    for (size_t i = 0; i < len; i++) {
      char ch = text[i];
      col++;
      if (ch == '\n')
        line++, col = 0;
      else if (ch == '[' || ch == '{') {
        if (++depth > KAFU_CONFIG_MAX_NESTING) {
          kafu_config_free(c);
          return kafu_err_set(err, KAFU_EINVAL, "%s:%d:%d: YAML nested deeper than %d levels", file, line,
                              col, KAFU_CONFIG_MAX_NESTING);
        }
      } else if ((ch == ']' || ch == '}') && depth > 0) {
        depth--;
      }
    }
  }

  yaml_parser_t yp;
  yaml_document_t doc, doc2;
  int rc = 0;
  if (!yaml_parser_initialize(&yp)) {
    kafu_config_free(c);
    return kafu_err_set(err, KAFU_ENOMEM, "yaml parser: out of memory");
  }
  yaml_parser_set_input_string(&yp, (const unsigned char *)c->raw, len);
  if (!yaml_parser_load(&yp, &doc)) {
    rc = syntax_error(&yp, file, err);
    yaml_parser_delete(&yp);
    kafu_config_free(c);
    return rc;
  }
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  parser p = {&doc, file, err, c};
  if (!root) {
    rc = kafu_err_set(err, KAFU_EINVAL, "%s:1:1: the config is empty (need name, app, nodes)", file);
  } else if (!yaml_parser_load(&yp, &doc2)) {
    rc = syntax_error(&yp, file, err);
  } else {
    yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
    if (r2) rc = fail(&p, r2, NULL, "a second YAML document; the config must be a single document");
    yaml_document_delete(&doc2);
    if (rc == 0) rc = parse_root(&p, root);
  }
  yaml_document_delete(&doc);
  yaml_parser_delete(&yp);
  if (rc < 0) {
    kafu_config_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int kafu_config_load(const char *path, kafu_config **out, kafu_err *err) {
  *out = NULL;
  uint8_t *text;
  size_t len;
  int rc = kafu_read_file(path, &text, &len, err);
  if (rc < 0) return kafu_err_prefix(err, "cannot read config");
  char *dir = kafu_path_dirname(path);
  if (!dir) {
    free(text);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  rc = kafu_config_load_string((const char *)text, len, path, dir, out, err);
  free(text);
  free(dir);
  if (rc < 0) return rc;
  /* absolute path of the file itself (for logs and kustomize) */
  char *abs = realpath(path, NULL);
  if (abs) {
    free((*out)->config_path);
    (*out)->config_path = abs;
  }
  return 0;
}

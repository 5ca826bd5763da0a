/*
 * config_core.c — lifetime (free, dup), lookups, enum names, path resolution
 * and the KAFU_DEST destination check for kafu_config.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "kafu/config.h"

void kafu_config_free(kafu_config *c) {
  if (!c) return;
  free(c->name);
  free(c->app.path);
  free(c->app.url);
  for (size_t i = 0; i < c->app.nargs; i++) free(c->app.args[i]);
  free(c->app.args);
  for (size_t i = 0; i < c->app.nenv; i++) free(c->app.env[i]);
  free(c->app.env);
  free(c->app.preopened_dir);
  free(c->app.aot_dir);
  for (size_t i = 0; i < c->nnodes; i++) {
    free(c->nodes[i].id);
    free(c->nodes[i].address);
    free(c->nodes[i].placement);
    for (size_t j = 0; j < c->nodes[i].nmodels; j++) {
      free(c->nodes[i].models[j].name);
      free(c->nodes[i].models[j].path);
    }
    free(c->nodes[i].models);
    for (size_t j = 0; j < c->nodes[i].nstandby; j++) free(c->nodes[i].standby[j]);
    free(c->nodes[i].standby);
    for (size_t j = 0; j < c->nodes[i].nlisten; j++) free(c->nodes[i].listen[j].host);
    free(c->nodes[i].listen);
  }
  free(c->nodes);
  free(c->token);
  free(c->token_file);
  free(c->tls.cert), free(c->tls.key), free(c->tls.ca);
  free(c->config_path);
  free(c->config_dir);
  free(c->raw);
  free(c);
}

static bool dup_str(char **dst, const char *src) {
  if (!src) return (*dst = NULL), true;
  return (*dst = strdup(src)) != NULL;
}

kafu_config *kafu_config_dup(const kafu_config *c) {
  kafu_config *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  *d = *c;
  /* clear every owned pointer first so a failure half way frees only ours */
  d->name = d->app.path = d->app.url = d->app.preopened_dir = d->app.aot_dir = d->token = d->token_file = NULL;
  d->config_path = d->config_dir = d->raw = NULL;
  d->tls.cert = d->tls.key = d->tls.ca = NULL;
  d->app.args = NULL, d->app.nargs = 0;
  d->app.env = NULL, d->app.nenv = 0;
  d->nodes = NULL, d->nnodes = 0;
  bool ok = dup_str(&d->name, c->name) && dup_str(&d->app.path, c->app.path) &&
            dup_str(&d->app.url, c->app.url) && dup_str(&d->app.preopened_dir, c->app.preopened_dir) &&
            dup_str(&d->app.aot_dir, c->app.aot_dir) &&
            dup_str(&d->token, c->token) && dup_str(&d->token_file, c->token_file) &&
            dup_str(&d->tls.cert, c->tls.cert) && dup_str(&d->tls.key, c->tls.key) &&
            dup_str(&d->tls.ca, c->tls.ca) && dup_str(&d->config_path, c->config_path) &&
            dup_str(&d->config_dir, c->config_dir);
  if (ok && c->raw) {
    d->raw = malloc(c->raw_len + 1);
    if ((ok = d->raw != NULL)) memcpy(d->raw, c->raw, c->raw_len + 1);
  }
  if (ok && (d->app.args = calloc(c->app.nargs + 1, sizeof(char *))) != NULL) {
    for (size_t i = 0; ok && i < c->app.nargs; i++)
      if ((ok = dup_str(&d->app.args[i], c->app.args[i]))) d->app.nargs = i + 1;
  } else {
    ok = false;
  }
  if (ok && (d->app.env = calloc(c->app.nenv + 1, sizeof(char *))) != NULL) {
    for (size_t i = 0; ok && i < c->app.nenv; i++)
      if ((ok = dup_str(&d->app.env[i], c->app.env[i]))) d->app.nenv = i + 1;
  } else {
    ok = false;
  }
  if (ok && (d->nodes = calloc(c->nnodes ? c->nnodes : 1, sizeof *d->nodes)) != NULL) {
    for (size_t i = 0; ok && i < c->nnodes; i++) {
      d->nodes[i] = c->nodes[i];
      d->nodes[i].id = d->nodes[i].address = d->nodes[i].placement = NULL;
      d->nodes[i].models = NULL;
      d->nodes[i].nmodels = 0;
      d->nodes[i].standby = NULL, d->nodes[i].nstandby = 0;
      d->nodes[i].listen = NULL, d->nodes[i].nlisten = 0;
      d->nnodes = i + 1;
      ok = dup_str(&d->nodes[i].id, c->nodes[i].id) && dup_str(&d->nodes[i].address, c->nodes[i].address) &&
           dup_str(&d->nodes[i].placement, c->nodes[i].placement);
      if (ok && c->nodes[i].nmodels) {
        ok = (d->nodes[i].models = calloc(c->nodes[i].nmodels, sizeof *d->nodes[i].models)) != NULL;
        for (size_t j = 0; ok && j < c->nodes[i].nmodels; j++) {
          d->nodes[i].nmodels = j + 1;
          d->nodes[i].models[j].line = c->nodes[i].models[j].line;
          ok = dup_str(&d->nodes[i].models[j].name, c->nodes[i].models[j].name) &&
               dup_str(&d->nodes[i].models[j].path, c->nodes[i].models[j].path);
        }
      }
      if (ok && c->nodes[i].nstandby) {
        ok = (d->nodes[i].standby = calloc(c->nodes[i].nstandby, sizeof(char *))) != NULL;
        for (size_t j = 0; ok && j < c->nodes[i].nstandby; j++)
          if ((ok = dup_str(&d->nodes[i].standby[j], c->nodes[i].standby[j]))) d->nodes[i].nstandby = j + 1;
      }
      size_t nl = c->nodes[i].nlisten;
      if (ok && nl && (ok = (d->nodes[i].listen = calloc(nl, sizeof *d->nodes[i].listen)) != NULL))
        for (size_t j = 0; ok && j < nl; j++) {
          d->nodes[i].listen[j].port = c->nodes[i].listen[j].port;
          if ((ok = dup_str(&d->nodes[i].listen[j].host, c->nodes[i].listen[j].host))) d->nodes[i].nlisten = j + 1;
        }
    }
  } else {
    ok = false;
  }
  if (!ok) {
    kafu_config_free(d);
    return NULL;
  }
  return d;
}

int kafu_config_node_index(const kafu_config *c, const char *id) {
  for (size_t i = 0; i < c->nnodes; i++)
    if (!strcmp(c->nodes[i].id, id)) return (int)i;
  return -1;
}

const kafu_config_node *kafu_config_node_find(const kafu_config *c, const char *id) {
  int i = kafu_config_node_index(c, id);
  return i < 0 ? NULL : &c->nodes[i];
}

char *kafu_config_node_url(const kafu_config_node *n) {
  kafu_buf b = {0};
  bool v6 = strchr(n->address, ':') && n->address[0] != '[';
  kafu_buf_printf(&b, "http://%s%s%s:%u", v6 ? "[" : "", n->address, v6 ? "]" : "", (unsigned)n->port);
  return kafu_buf_cstr(&b);
}

int kafu_config_quantity(const char *q, double *out) {
  static const struct {
    const char *sfx;
    double mul;
  } sfx[] = {{"Ki", 1024.0},
             {"Mi", 1048576.0},
             {"Gi", 1073741824.0},
             {"Ti", 1099511627776.0},
             {"Pi", 1125899906842624.0},
             {"Ei", 1152921504606846976.0},
             {"m", 1e-3},
             {"k", 1e3},
             {"M", 1e6},
             {"G", 1e9},
             {"T", 1e12},
             {"P", 1e15},
             {"E", 1e18}};
  const char *s = q;
  size_t digits = 0;
  while (*s >= '0' && *s <= '9') s++, digits++;
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9') s++, digits++;
  }
  if (!digits) return KAFU_EINVAL;
  double mul = 1;
  if ((*s == 'e' || *s == 'E') && s[1]) { /* decimal exponent: 1e9, 5E-3 */
    const char *e = s + 1 + (s[1] == '+' || s[1] == '-');
    if (!*e) return KAFU_EINVAL;
    for (const char *x = e; *x; x++)
      if (*x < '0' || *x > '9') return KAFU_EINVAL;
  } else if (*s) {
    size_t i = 0;
    while (i < sizeof sfx / sizeof *sfx && strcmp(s, sfx[i].sfx)) i++;
    if (i == sizeof sfx / sizeof *sfx) return KAFU_EINVAL;
    mul = sfx[i].mul;
  }
  *out = strtod(q, NULL) * mul;
  return 0;
}

void kafu_config_node_resources(const kafu_config *c, const kafu_config_node *n, kafu_config_resources *out) {
  *out = c->resources;
  const kafu_config_resources *r = &n->resources;
  if (r->requests_cpu[0]) memcpy(out->requests_cpu, r->requests_cpu, sizeof out->requests_cpu);
  if (r->requests_memory[0]) memcpy(out->requests_memory, r->requests_memory, sizeof out->requests_memory);
  if (r->limits_cpu[0]) memcpy(out->limits_cpu, r->limits_cpu, sizeof out->limits_cpu);
  if (r->limits_memory[0]) memcpy(out->limits_memory, r->limits_memory, sizeof out->limits_memory);
}

const char *kafu_compression_name(kafu_compression v) {
  switch (v) {
    case KAFU_COMPRESSION_NONE:
      return "none";
    case KAFU_COMPRESSION_LZ4:
      return "lz4";
    case KAFU_COMPRESSION_ZSTD:
      return "zstd";
    case KAFU_COMPRESSION_AUTO:
      return "auto";
  }
  return "?";
}

const char *kafu_memory_migration_name(kafu_memory_migration v) {
  return v == KAFU_MEMORY_MIGRATION_FULL ? "full" : "delta";
}

const char *kafu_on_coordinator_lost_name(kafu_on_coordinator_lost v) {
  return v == KAFU_ON_COORDINATOR_LOST_IGNORE ? "ignore" : "shutdown_self";
}

const char *kafu_config_app_location(const kafu_config *c) { return c->app.path ? c->app.path : c->app.url; }

/* ---- destinations --------------------------------------------------------- */

int kafu_config_check_destinations_fn(const kafu_config *c, const char *const *dests, const char *const *fns,
                                      size_t n, kafu_err *err) {
  kafu_buf msg = {0};
  size_t nbad = 0;
  for (size_t i = 0; i < n; i++) {
    if (kafu_config_node_index(c, dests[i]) >= 0) continue;
    bool seen = false; /* list each unknown name once */
    for (size_t j = 0; j < i && !seen; j++)
      seen = !strcmp(dests[j], dests[i]) && kafu_config_node_index(c, dests[j]) < 0;
    if (seen) continue;
    nbad++;
    kafu_buf_printf(&msg, "%s\"%s\"", nbad > 1 ? ", " : "", dests[i]);
    if (fns && fns[i]) kafu_buf_printf(&msg, " (KAFU_DEST of %s", fns[i]);
    for (size_t j = i + 1; fns && j < n; j++)
      if (!strcmp(dests[j], dests[i]) && fns[j]) kafu_buf_printf(&msg, ", %s", fns[j]);
    if (fns && fns[i]) kafu_buf_printf(&msg, ")");
    const char *best = NULL;
    int bestd = 3;
    for (size_t k = 0; k < c->nnodes; k++) {
      int d = kafu_edit_distance(dests[i], c->nodes[k].id);
      if (d < bestd) bestd = d, best = c->nodes[k].id;
    }
    if (best) kafu_buf_printf(&msg, "; did you mean \"%s\"?", best);
  }
  if (!nbad) {
    kafu_buf_free(&msg);
    return 0;
  }
  kafu_buf nodes = {0};
  for (size_t k = 0; k < c->nnodes; k++) kafu_buf_printf(&nodes, "%s%s", k ? ", " : "", c->nodes[k].id);
  int rc = kafu_err_set(err, KAFU_EINVAL, "%s: the module migrates to %s not in `nodes`: %s (nodes: %s)",
                        c->config_path ? c->config_path : "config", nbad > 1 ? "nodes" : "a node",
                        kafu_buf_cstr(&msg), nodes.data ? kafu_buf_cstr(&nodes) : "");
  kafu_buf_free(&msg);
  kafu_buf_free(&nodes);
  return rc;
}

int kafu_config_check_destinations(const kafu_config *c, const char *const *dests, size_t n, kafu_err *err) {
  return kafu_config_check_destinations_fn(c, dests, NULL, n, err);
}

/* ---- paths ---------------------------------------------------------------- */

/* Lexical normalization of an absolute path: collapse "//", ".", "..". */
static char *normalize(const char *abs) {
  size_t n = strlen(abs);
  char *out = malloc(n + 2);
  if (!out) return NULL;
  size_t o = 0;
  const char *s = abs;
  while (*s) {
    while (*s == '/') s++;
    const char *e = s;
    while (*e && *e != '/') e++;
    size_t len = (size_t)(e - s);
    if (len == 0) break;
    if (len == 1 && s[0] == '.') {
      /* skip */
    } else if (len == 2 && s[0] == '.' && s[1] == '.') {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--; /* drop the slash too */
    } else {
      out[o++] = '/';
      memcpy(out + o, s, len);
      o += len;
    }
    s = e;
  }
  if (o == 0) out[o++] = '/';
  out[o] = 0;
  return out;
}

char *kafu_config_abs_dir(const char *dir) {
  if (!dir || !*dir) dir = ".";
  char *real = realpath(dir, NULL);
  if (real) return real;
  if (dir[0] == '/') return normalize(dir);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return normalize(dir[0] == '/' ? dir : "/");
  char *j = kafu_path_join(cwd, dir);
  if (!j) return NULL;
  char *r = normalize(j);
  free(j);
  return r;
}

char *kafu_config_resolve(const char *dir, const char *p) {
  if (p[0] == '/') return normalize(p);
  char *j = kafu_path_join(dir, p);
  if (!j) return NULL;
  char *r = normalize(j);
  free(j);
  return r;
}

/* ---- the cluster token and unsafe settings -------------------------------------- */

const char *kafu_config_token_problem(const char *t, char *why, size_t cap) {
  size_t n = strlen(t);
  if (!n) return snprintf(why, cap, "it is empty"), why;
  if (n > KAFU_CONFIG_TOKEN_MAX)
    return snprintf(why, cap, "it is %zu bytes long (at most %d)", n, KAFU_CONFIG_TOKEN_MAX), why;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f)
      return snprintf(why, cap,
                      "character %zu (0x%02x) is not visible ASCII (the token travels in an HTTP header)",
                      i + 1, (unsigned char)t[i]),
             why;
  return "";
}

int kafu_config_set_token_file(kafu_config *c, const char *path, kafu_err *err) {
  char *abs = kafu_config_resolve(c->config_dir, path);
  if (!abs) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  int fd = open(abs, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    kafu_err_set(err, e == ENOENT ? KAFU_ENOENT : KAFU_EIO, "token file %s: %s", abs, strerror(e));
    free(abs);
    return err->code;
  }
  /* a token is short: read at most one byte more than the limit (also from a
   * pipe such as /dev/fd/N, which is how `kafu launch` hands its token over) */
  char buf[KAFU_CONFIG_TOKEN_MAX + 2];
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      kafu_err_set(err, KAFU_EIO, "token file %s: %s", abs, strerror(e));
      free(abs);
      return err->code;
    }
    if (r == 0 || (len += (size_t)r) == sizeof buf - 1) break;
  }
  close(fd);
  buf[len] = 0;
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
    buf[--len] = 0;
  char why[160];
  const char *w = kafu_config_token_problem(buf, why, sizeof why);
  if (*w) {
    kafu_err_set(err, KAFU_EINVAL, "token file %s: unusable token: %s", abs, w);
    explicit_bzero(buf, sizeof buf);
    free(abs);
    return err->code;
  }
  char *tok = strdup(buf);
  explicit_bzero(buf, sizeof buf);
  if (!tok) {
    free(abs);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  free(c->token);
  free(c->token_file);
  c->token = tok;
  c->token_file = abs;
  return 0;
}

int kafu_config_warnings(const kafu_config *c, void (*emit)(void *ctx, const char *msg), void *ctx) {
  int n = 0;
  char msg[600];
  if (!c->token && !c->tls.cert) {
    snprintf(msg, sizeof msg,
             "no cluster token (cluster.token_file or cluster.token): any client that can reach a node's port "
             "can send it snapshots or end the run; nodes accept POSTs only from the nodes' own addresses "
             "then. `kafu launch` and `kafu kustomize build` generate a token");
    emit(ctx, msg), n++;
  }
  if (c->token_file && strncmp(c->token_file, "/dev/fd/", 8) && strncmp(c->token_file, "/proc/", 6)) {
    struct stat st;
    if (stat(c->token_file, &st) == 0 && (st.st_mode & 0007)) {
      snprintf(msg, sizeof msg, "token file %s is readable by every user (mode %03o); chmod 600 it",
               c->token_file, (unsigned)(st.st_mode & 0777));
      emit(ctx, msg), n++;
    }
  }
  if (c->app.preopened_dir && !strcmp(c->app.preopened_dir, "/")) {
    snprintf(msg, sizeof msg,
             "app.preopened_dir is / (allowed by app.allow_root_preopen): the program can read and write "
             "every file this process can");
    emit(ctx, msg), n++;
  }
  return n;
}

void kafu_config_listen_str(const kafu_config_listen *l, char *out, size_t cap) {
  bool v6 = strchr(l->host, ':') != NULL;
  snprintf(out, cap, "%s%s%s:%u", v6 ? "[" : "", l->host, v6 ? "]" : "", l->port);
}

/* ---- the program's environment ------------------------------------------------ */

int kafu_config_add_env(kafu_config *c, const char *kv, kafu_err *err) {
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv)
    return kafu_err_set(err, KAFU_EINVAL, "environment variable '%s': expected NAME=VALUE with a non-empty NAME",
                        kv);
  size_t nl = (size_t)(eq - kv) + 1; /* with the '=' */
  char *copy = strdup(kv);
  if (!copy) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  for (size_t i = 0; i < c->app.nenv; i++)
    if (!strncmp(c->app.env[i], kv, nl)) {
      free(c->app.env[i]);
      c->app.env[i] = copy;
      return 0;
    }
  char **v = realloc(c->app.env, (c->app.nenv + 2) * sizeof *v);
  if (!v) {
    free(copy);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  c->app.env = v;
  v[c->app.nenv++] = copy;
  v[c->app.nenv] = NULL;
  return 0;
}

int kafu_config_set_port_base(kafu_config *c, long long base, kafu_err *err) {
  if (base < 1 || base + (long long)c->nnodes - 1 > 65535)
    return kafu_err_set(err, KAFU_EINVAL,
                        "--port-base %lld: the %zu node(s) of %s need ports %lld..%lld, which must lie in "
                        "1..65535",
                        base, c->nnodes, c->config_path, base, base + (long long)c->nnodes - 1);
  for (size_t i = 0; i < c->nnodes; i++) c->nodes[i].port = (uint16_t)(base + (long long)i);
  return 0;
}

/*
 * config_emit.c — kafu_config → normalized YAML (`kafu config check`, and the
 * config kustomize embeds in its ConfigMap). Every default is written out, so
 * the output documents the effective settings; paths are absolute so the
 * output means the same thing wherever it is saved.
 */
#include <stdio.h>
#include <string.h>

#include "kafu/yaml.h"
#include "kafu/config.h"

/* resources: {requests: {cpu, memory}, limits: {...}} under m, only what is set. */
static void emit_resources(kafu_ynode *m, const kafu_config_resources *r) {
  const char *v[2][2] = {{r->requests_cpu, r->requests_memory}, {r->limits_cpu, r->limits_memory}};
  static const char *const rl[2] = {"requests", "limits"}, *const cm[2] = {"cpu", "memory"};
  kafu_ynode *res = NULL;
  for (int i = 0; i < 2; i++) {
    if (!*v[i][0] && !*v[i][1]) continue;
    if (!res) res = kafu_y_put(m, "resources", kafu_y_map());
    kafu_ynode *x = kafu_y_put(res, rl[i], kafu_y_map());
    for (int j = 0; j < 2; j++)
      if (*v[i][j]) kafu_y_put_str(x, cm[j], v[i][j]);
  }
}

int kafu_config_to_yaml(const kafu_config *c, unsigned flags, kafu_buf *out, kafu_err *err) {
  kafu_ynode *root = kafu_y_map();
  kafu_y_put_str(root, "name", c->name);

  kafu_ynode *app = kafu_y_put(root, "app", kafu_y_map());
  if (c->app.path) kafu_y_put_str(app, "path", c->app.path);
  if (c->app.url) kafu_y_put_str(app, "url", c->app.url);
  if (c->app.has_sha256) {
    char hex[2 * KAFU_SHA256_LEN + 1];
    kafu_hex(c->app.sha256, KAFU_SHA256_LEN, hex);
    kafu_y_put_str(app, "sha256", hex);
  }
  kafu_ynode *args = kafu_y_put(app, "args", c->app.nargs ? kafu_y_seq() : kafu_y_flow_seq());
  for (size_t i = 0; i < c->app.nargs; i++) kafu_y_push(args, kafu_y_str(c->app.args[i]));
  if (c->app.nenv) {
    kafu_ynode *env = kafu_y_put(app, "env", kafu_y_map());
    for (size_t i = 0; i < c->app.nenv; i++) {
      const char *eq = strchr(c->app.env[i], '=');
      char name[512];
      snprintf(name, sizeof name, "%.*s", (int)(eq - c->app.env[i]), c->app.env[i]);
      kafu_y_put_str(env, name, eq + 1);
    }
  }
  if (c->app.preopened_dir) kafu_y_put_str(app, "preopened_dir", c->app.preopened_dir);
  if (c->app.allow_root_preopen) kafu_y_put(app, "allow_root_preopen", kafu_y_bool(true));
  if (c->app.aot_dir) kafu_y_put_str(app, "aot_dir", c->app.aot_dir);

  kafu_ynode *nodes = kafu_y_put(root, "nodes", kafu_y_map());
  for (size_t i = 0; i < c->nnodes; i++) {
    kafu_ynode *n = kafu_y_put(nodes, c->nodes[i].id, kafu_y_map());
    kafu_y_put_str(n, "address", c->nodes[i].address);
    kafu_y_put_int(n, "port", c->nodes[i].port);
    if (c->nodes[i].placement) kafu_y_put_str(n, "placement", c->nodes[i].placement);
    if (c->nodes[i].nmodels) {
      kafu_ynode *ms = kafu_y_put(n, "models", kafu_y_map());
      for (size_t j = 0; j < c->nodes[i].nmodels; j++)
        kafu_y_put_str(ms, c->nodes[i].models[j].name, c->nodes[i].models[j].path);
    }
    if (c->nodes[i].nstandby) {
      kafu_ynode *sb = kafu_y_put(n, "standby", kafu_y_flow_seq());
      for (size_t j = 0; j < c->nodes[i].nstandby; j++) kafu_y_push(sb, kafu_y_str(c->nodes[i].standby[j]));
    }
    emit_resources(n, &c->nodes[i].resources);
    if (c->nodes[i].nlisten) {
      kafu_ynode *l = kafu_y_put(n, "listen", kafu_y_seq());
      for (size_t j = 0; j < c->nodes[i].nlisten; j++) {
        char hp[300];
        kafu_config_listen_str(&c->nodes[i].listen[j], hp, sizeof hp);
        kafu_y_push(l, kafu_y_str(hp));
      }
    }
  }

  kafu_ynode *cl = kafu_y_put(root, "cluster", kafu_y_map());
  kafu_ynode *hb = kafu_y_put(cl, "heartbeat", kafu_y_map());
  kafu_y_put_str(hb, "follower_on_coordinator_lost",
                 kafu_on_coordinator_lost_name(c->heartbeat.on_coordinator_lost));
  kafu_y_put_int(hb, "interval_ms", c->heartbeat.interval_ms);
  kafu_ynode *mig = kafu_y_put(cl, "migration", kafu_y_map());
  kafu_y_put(mig, "memory_compression", kafu_y_bool(c->migration.compression != KAFU_COMPRESSION_NONE));
  kafu_y_put_str(mig, "memory_migration", kafu_memory_migration_name(c->migration.mode));
  kafu_y_put_str(mig, "compression", kafu_compression_name(c->migration.compression));
  kafu_ynode *fo = kafu_y_put(cl, "failover", kafu_y_map());
  kafu_y_put_int(fo, "wait_ms", c->failover.wait_ms);
  kafu_y_put_int(fo, "checkpoint_memory_mb", c->failover.checkpoint_memory_mb);
  kafu_y_put_int(cl, "startup_timeout_ms", c->startup_timeout_ms);
  if (c->wasi_nn.max_model_bytes || c->wasi_nn.max_tensor_bytes) {
    kafu_ynode *nn = kafu_y_put(cl, "wasi_nn", kafu_y_map());
    if (c->wasi_nn.max_model_bytes)
      kafu_y_put_int(nn, "max_model_bytes", (long long)c->wasi_nn.max_model_bytes);
    if (c->wasi_nn.max_tensor_bytes)
      kafu_y_put_int(nn, "max_tensor_bytes", (long long)c->wasi_nn.max_tensor_bytes);
  }
  emit_resources(cl, &c->resources);
  if (c->tls.cert) {
    kafu_ynode *t = kafu_y_put(cl, "tls", kafu_y_map());
    kafu_y_put_str(t, "cert", c->tls.cert);
    kafu_y_put_str(t, "key", c->tls.key);
    kafu_y_put_str(t, "ca", c->tls.ca);
  }
  if (c->token_file) /* the file stays the token's one home */
    kafu_y_put_str(cl, "token_file", c->token_file);
  else if (c->token)
    kafu_y_put_str(cl, "token", (flags & KAFU_CONFIG_YAML_REDACT_TOKEN) ? "<redacted>" : c->token);

  int rc = kafu_y_emit(&root, 1, out, err);
  kafu_y_free(root);
  return rc;
}

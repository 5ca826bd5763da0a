/* test_config.c — unit tests for src/config: schema, errors with exact
 * file:line:col and key, defaults, path resolution, order, emit round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafu/config.h"

static char g_dir[64]; /* temp dir: base for relative paths */

static int setup(void **s) {
  strcpy(g_dir, "/tmp/kafu-cfg-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  return 0;
}

static int teardown(void **s) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int load(const char *text, kafu_config **c, kafu_err *e) {
  memset(e, 0, sizeof *e);
  return kafu_config_load_string(text, strlen(text), "kafu-config.yaml", g_dir, c, e);
}

#define NODES "nodes:\n  cloud:\n    address: 10.0.0.1\n    port: 50051\n"
#define GOOD "name: demo\napp:\n  path: main.wasm\n" NODES

/* ---- bad input: exact messages ------------------------------------------- */

typedef struct bad {
  const char *yaml;
  const char *msg; /* exact expected message */
} bad;

static const bad bads[] = {
    /* the brief's example */
    {"name: x\napp:\n  path: a.wasm\nnodes:\n  cloud:\n    address: h\n    port: 1\n  edge:\n    address: h\n"
     "    port: x\n",
     "kafu-config.yaml:10:5: nodes.edge.port: must be an integer 1..65535, got \"x\""},
    {"name: x\napp:\n  path: a.wasm\n  preopen_dir: d\n" NODES,
     "kafu-config.yaml:4:3: app.preopen_dir: unknown key (did you mean `preopened_dir`?); allowed here: "
     "path, url, "
     "sha256, args, env, preopened_dir, allow_root_preopen, aot_dir"},
    {"nmae: x\n",
     "kafu-config.yaml:1:1: nmae: unknown key (did you mean `name`?); allowed here: name, app, nodes, "
     "cluster"},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  interval_ms: 5\n",
     "kafu-config.yaml:9:3: cluster.interval_ms: unknown key (`interval_ms` belongs at "
     "`cluster.heartbeat.interval_ms`); allowed here: heartbeat, migration, token, startup_timeout_ms, "
     "token_file, wasi_nn, failover, tls, resources"},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  heartbeat:\n    intervall_ms: 5\n",
     "kafu-config.yaml:10:5: cluster.heartbeat.intervall_ms: unknown key (did you mean `interval_ms`?); "
     "allowed "
     "here: follower_on_coordinator_lost, interval_ms"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: 1\n    placment: z\n",
     "kafu-config.yaml:8:5: nodes.e.placment: unknown key (did you mean `placement`?); allowed here: "
     "address, port, "
     "placement, models, standby, listen, resources"},
    {"name: x\napp:\n  path: a.wasm\n  url: http://x/a.wasm\n" NODES,
     "kafu-config.yaml:4:3: app.url: only one of app.path and app.url may be set (app.path is at line 3)"},
    {"name: x\napp:\n  args: []\n" NODES,
     "kafu-config.yaml:2:1: app: one of app.path or app.url is required"},
    {"name: x\napp:\n  path: ~\n  url: null\n" NODES,
     "kafu-config.yaml:2:1: app: one of app.path or app.url is required"},
    {"name: x\nname: y\napp:\n  path: a\n" NODES,
     "kafu-config.yaml:2:1: name: duplicate key (first defined at line 1, column 1)"},
    {"name: x\napp:\n  path: a\n  path: b\n" NODES,
     "kafu-config.yaml:4:3: app.path: duplicate key (first defined at line 3, column 3)"},
    {"name: x\napp:\n  path: a\nnodes: {}\n", "kafu-config.yaml:4:1: nodes: at least one node is required"},
    {"name: x\napp:\n  path: a\nnodes:\n", "kafu-config.yaml:4:1: nodes: at least one node is required"},
    {"name: x\napp:\n  path: a\nnodes:\n  - a\n",
     "kafu-config.yaml:4:1: nodes: must be a mapping, got a list"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: 1\n  e:\n    address: g\n    port: "
     "2\n",
     "kafu-config.yaml:8:3: nodes.e: duplicate node id (first defined at line 5, column 3)"},
    {"name: x\napp:\n  path: a\nnodes:\n  \"e 1\":\n    address: h\n    port: 1\n",
     "kafu-config.yaml:5:3: nodes.e 1: invalid node id \"e 1\": may only contain letters, digits, '-' and "
     "'_'"},
    {"name: x\napp:\n  path: a\nnodes:\n  -edge:\n    address: h\n    port: 1\n",
     "kafu-config.yaml:5:3: nodes.-edge: invalid node id \"-edge\": must start and end with a letter or "
     "digit"},
    {"name: x\napp:\n  path: a\nnodes:\n  "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:\n    address: h\n"
     "    port: 1\n",
     "kafu-config.yaml:5:3: nodes.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: invalid "
     "node id "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": is longer than 63 characters"},
    {"name: x\napp:\n  path: a\nnodes:\n  ~:\n    address: h\n    port: 1\n",
     "kafu-config.yaml:5:3: nodes: keys must be plain strings, got null"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: 70000\n",
     "kafu-config.yaml:7:5: nodes.e.port: must be an integer 1..65535, got 70000"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: 0\n",
     "kafu-config.yaml:7:5: nodes.e.port: must be an integer 1..65535, got 0"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: -1\n",
     "kafu-config.yaml:7:5: nodes.e.port: must be an integer 1..65535, got -1"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: \"80\"\n",
     "kafu-config.yaml:7:5: nodes.e.port: must be an integer 1..65535, got \"80\" (a quoted string)"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: 80.5\n",
     "kafu-config.yaml:7:5: nodes.e.port: must be an integer 1..65535, got 80.5"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: 0x 5\n",
     "kafu-config.yaml:7:5: nodes.e.port: must be an integer 1..65535, got \"0x 5\""},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: 0o9\n",
     "kafu-config.yaml:7:5: nodes.e.port: must be an integer 1..65535, got 0o9"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: [80]\n",
     "kafu-config.yaml:7:5: nodes.e.port: must be an integer 1..65535, got a list"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n",
     "kafu-config.yaml:5:3: nodes.e: missing required key `port`"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    port: 80\n",
     "kafu-config.yaml:5:3: nodes.e: missing required key `address`"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: \"\"\n    port: 80\n",
     "kafu-config.yaml:6:5: nodes.e.address: must not be empty"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: \"a b\"\n    port: 80\n",
     "kafu-config.yaml:6:5: nodes.e.address: must be a host name or IP address (no spaces, no '/'), got \"a "
     "b\""},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n",
     "kafu-config.yaml:5:3: nodes.e: must be a mapping, got null"},
    {"name: x\napp:\n  path: a\nnodes:\n  e:\n    address: h\n    port: 80\n  f:\n    address: h\n    port: "
     "80\n",
     "kafu-config.yaml:8:3: nodes.f: same address and port as node `e` (h:80, line 5)"},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  heartbeat:\n    interval_ms: 0\n",
     "kafu-config.yaml:10:5: cluster.heartbeat.interval_ms: must be an integer 1..86400000, got 0"},
    {"name: x\napp:\n  path: a\n" NODES
     "cluster:\n  heartbeat:\n    follower_on_coordinator_lost: shutdown\n",
     "kafu-config.yaml:10:5: cluster.heartbeat.follower_on_coordinator_lost: must be one of shutdown_self, "
     "ignore; "
     "got \"shutdown\" (did you mean `shutdown_self`?)"},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  migration:\n    memory_migration: partial\n",
     "kafu-config.yaml:10:5: cluster.migration.memory_migration: must be one of delta, full; got "
     "\"partial\""},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  migration:\n    compression: lz5\n",
     "kafu-config.yaml:10:5: cluster.migration.compression: must be one of none, lz4, zstd, auto; got "
     "\"lz5\" "
     "(did "
     "you "
     "mean `lz4`?)"},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  migration:\n    memory_compression: yes\n",
     "kafu-config.yaml:10:5: cluster.migration.memory_compression: must be true or false, got \"yes\""},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  migration:\n    memory_compression: \"true\"\n",
     "kafu-config.yaml:10:5: cluster.migration.memory_compression: must be true or false, got \"true\" (a "
     "quoted "
     "string)"},
    {"name: x\napp:\n  path: a\n" NODES
     "cluster:\n  migration:\n    memory_compression: false\n    compression: zstd\n",
     "kafu-config.yaml:11:5: cluster.migration.compression: `zstd` conflicts with memory_compression: false "
     "(line "
     "10); remove one of them"},
    {"name: x\napp:\n  path: a\n" NODES
     "cluster:\n  migration:\n    compression: none\n    memory_compression: true\n",
     "kafu-config.yaml:10:5: cluster.migration.compression: `none` conflicts with memory_compression: true "
     "(line "
     "11); remove one of them"},
    {"name: x\napp:\n  path: a\n" NODES
     "cluster:\n  migration:\n    memory_compression: true\n    delta_compression: false\n",
     "kafu-config.yaml:11:5: cluster.migration.delta_compression: duplicate key: `delta_compression` and "
     "`memory_compression` (line 10) both set memory_compression"},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  token: \"\"\n",
     "kafu-config.yaml:9:3: cluster.token: must not be empty"},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  startup_timeout_ms: soon\n",
     "kafu-config.yaml:9:3: cluster.startup_timeout_ms: must be an integer 1..86400000, got \"soon\""},
    {"name: x\napp:\n  path: a\n" NODES "cluster: [1]\n",
     "kafu-config.yaml:8:1: cluster: must be a mapping, got a list"},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  heartbeat: 5\n",
     "kafu-config.yaml:9:3: cluster.heartbeat: must be a mapping, got 5"},
    {"name: x\napp:\n  path: a\n  args: \"a b\"\n" NODES,
     "kafu-config.yaml:4:3: app.args: must be a list of strings, got \"a b\" (a quoted string)"},
    {"name: x\napp:\n  path: a\n  args: [a, {b: c}]\n" NODES,
     "kafu-config.yaml:4:13: app.args[1]: must be a string, got a mapping"},
    {"name: x\napp:\n  path: a\n  args:\n    - a\n    - ~\n" NODES,
     "kafu-config.yaml:6:7: app.args[1]: must be a string, got null"},
    {"name: x\napp:\n  path: a\n  sha256: abc\n" NODES,
     "kafu-config.yaml:4:3: app.sha256: must be 64 hex digits (a SHA-256 digest, optionally prefixed "
     "sha256:), got "
     "\"abc\""},
    {"name: x\napp:\n  url: ftp://x/a.wasm\n" NODES,
     "kafu-config.yaml:3:3: app.url: must be an http://, https:// or file:// URL, got \"ftp://x/a.wasm\""},
    {"name: x\napp:\n  path: \"\"\n" NODES, "kafu-config.yaml:3:3: app.path: must not be empty"},
    {"name: x\napp:\n  path: [a]\n" NODES, "kafu-config.yaml:3:3: app.path: must be a string, got a list"},
    {"name: x\napp: main.wasm\n" NODES, "kafu-config.yaml:2:1: app: must be a mapping, got \"main.wasm\""},
    {"name: [x]\n", "kafu-config.yaml:1:1: name: must be a string, got a list"},
    {"name: \"\"\n", "kafu-config.yaml:1:1: name: must not be empty"},
    {"name:\napp:\n  path: a\n" NODES, "kafu-config.yaml:1:1: name: must be a string, got null"},
    {"app:\n  path: a\n" NODES, "kafu-config.yaml:1:1: missing required key `name`"},
    {"name: x\n" NODES, "kafu-config.yaml:1:1: missing required key `app`"},
    {"name: x\napp:\n  path: a\n", "kafu-config.yaml:1:1: missing required key `nodes`"},
    {"", "kafu-config.yaml:1:1: the config is empty (need name, app, nodes)"},
    {"# only a comment\n", "kafu-config.yaml:1:1: the config is empty (need name, app, nodes)"},
    {"- a\n",
     "kafu-config.yaml:1:1: the config must be a mapping with keys name, app, nodes (and optionally "
     "cluster), got a list"},
    {"name: x\n---\nname: y\n",
     "kafu-config.yaml:3:1: a second YAML document; the config must be a single document"},
    {"? [a]\n: b\n", "kafu-config.yaml:1:3: keys must be plain strings, got a list"},
    {"name: x\n  bad: indent\n",
     "kafu-config.yaml:2:6: YAML syntax error: mapping values are not allowed in this "
     "context"},
    {"name: \"x\n",
     "kafu-config.yaml:2:1: YAML syntax error: found unexpected end of stream while scanning a "
     "quoted scalar (line 1)"},
    {"name: *nope\n", "kafu-config.yaml:1:7: YAML syntax error: found undefined alias"},
    /* standby nodes and failover (extensions) */
    {"name: x\napp:\n  path: a\n" NODES "    standby: [edge]\n",
     "kafu-config.yaml:8:15: nodes.cloud.standby[0]: \"edge\" is not a node of `nodes` (nodes: cloud)"},
    {"name: x\napp:\n  path: a\n" NODES "    standby: [cloud]\n",
     "kafu-config.yaml:8:15: nodes.cloud.standby[0]: a node cannot be its own standby"},
    {"name: x\napp:\n  path: a\n" NODES "    standby: [b, b]\n  b:\n    address: h\n    port: 2\n",
     "kafu-config.yaml:8:18: nodes.cloud.standby[1]: \"b\" is listed twice"},
    {"name: x\napp:\n  path: a\n" NODES "    standby: b\n",
     "kafu-config.yaml:8:5: nodes.cloud.standby: must be a list of node ids, got \"b\""},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  failover:\n    wait_m: 5\n",
     "kafu-config.yaml:10:5: cluster.failover.wait_m: unknown key (did you mean `wait_ms`?); allowed here: "
     "wait_ms, checkpoint_memory_mb"},
    {"name: x\napp:\n  path: a\n" NODES "cluster:\n  failover:\n    wait_ms: -1\n",
     "kafu-config.yaml:10:5: cluster.failover.wait_ms: must be an integer 0..86400000, got -1"},
};

static void test_bad_inputs(void **s) {
  for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
    kafu_config *c = (kafu_config *)1;
    kafu_err e;
    int rc = load(bads[i].yaml, &c, &e);
    if (rc >= 0 || strcmp(e.msg, bads[i].msg)) {
      fprintf(stderr, "case %zu:\n---\n%s---\nwant: %s\ngot:  %s (rc=%d)\n", i, bads[i].yaml, bads[i].msg,
              e.msg, rc);
      fail();
    }
    assert_null(c);
  }
}

/* Deep flow nesting is refused up front: libyaml's loader is quadratic in it
 * (100k levels took 15 s before the limit; review finding). */
static void test_deep_nesting(void **s) {
  size_t n = 100000;
  char *y = malloc(n * 2 + 16);
  strcpy(y, "name: ");
  memset(y + 6, '[', n);
  memset(y + 6 + n, ']', n);
  strcpy(y + 6 + 2 * n, "\n");
  kafu_config *c = (kafu_config *)1;
  kafu_err e;
  assert_true(load(y, &c, &e) < 0);
  assert_string_equal(e.msg, "kafu-config.yaml:1:71: YAML nested deeper than 64 levels");
  assert_null(c);
  free(y);
}

/* ---- defaults and the original's examples --------------------------------- */

static void test_defaults(void **s) {
  kafu_config *c;
  kafu_err e;
  assert_int_equal(load(GOOD, &c, &e), 0);
  assert_string_equal(c->name, "demo");
  char want[128];
  snprintf(want, sizeof want, "%s/main.wasm", g_dir);
  char *real = realpath(g_dir, NULL);
  snprintf(want, sizeof want, "%s/main.wasm", real);
  assert_string_equal(c->app.path, want);
  assert_null(c->app.url);
  assert_false(c->app.has_sha256);
  assert_int_equal(c->app.nargs, 0);
  assert_null(c->app.preopened_dir);
  assert_int_equal(c->nnodes, 1);
  assert_string_equal(c->nodes[0].id, "cloud");
  assert_string_equal(c->nodes[0].address, "10.0.0.1");
  assert_int_equal(c->nodes[0].port, 50051);
  assert_null(c->nodes[0].placement);
  assert_int_equal(c->nodes[0].line, 5);
  assert_int_equal(c->nodes[0].col, 3);
  assert_int_equal(c->heartbeat.interval_ms, 1000);
  assert_int_equal(c->heartbeat.on_coordinator_lost, KAFU_ON_COORDINATOR_LOST_SHUTDOWN_SELF);
  assert_int_equal(c->migration.compression, KAFU_COMPRESSION_AUTO); /* neither key: auto */
  assert_int_equal(c->migration.mode, KAFU_MEMORY_MIGRATION_DELTA);
  assert_null(c->token);
  assert_int_equal(c->startup_timeout_ms, 30000);
  assert_string_equal(c->config_dir, real);
  assert_string_equal(c->raw, GOOD);
  assert_int_equal(c->raw_len, strlen(GOOD));
  free(real);
  kafu_config_free(c);
}

static char *src_path(const char *rel) {
  const char *src = getenv("KAFU_SRC");
  if (!src) src = KAFU_SOURCE_DIR;
  return kafu_path_join(src, rel);
}

static void test_original_example(void **s) {
  char *p = src_path("tests/data/config/original.yaml");
  kafu_config *c;
  kafu_err e = {0};
  assert_int_equal(kafu_config_load(p, &c, &e), 0);
  char *dir = kafu_path_dirname(p), *rdir = realpath(dir, NULL);
  assert_string_equal(c->config_dir, rdir);
  char want[512];
  snprintf(want, sizeof want, "%s/main.wasm", rdir);
  assert_string_equal(c->app.path, want);          /* "./main.wasm" resolved */
  assert_string_equal(c->app.preopened_dir, rdir); /* "." resolved */
  assert_int_equal(c->app.nargs, 2);               /* args: [960, 540] are strings */
  assert_string_equal(c->app.args[0], "960");
  assert_string_equal(c->app.args[1], "540");
  assert_int_equal(c->nnodes, 2);
  assert_string_equal(c->nodes[0].id, "cloud1");
  assert_string_equal(c->nodes[1].id, "edge1");
  assert_int_equal(c->nodes[1].port, 50052);
  assert_int_equal(kafu_config_node_index(c, "edge1"), 1);
  assert_int_equal(kafu_config_node_index(c, "edge2"), -1);
  assert_ptr_equal(kafu_config_node_find(c, "cloud1"), &c->nodes[0]);
  assert_null(kafu_config_node_find(c, "nope"));
  char *rp = realpath(p, NULL);
  assert_string_equal(c->config_path, rp);
  free(rp), free(dir), free(rdir), free(p);
  kafu_config_free(c);

  /* the original's own test config: quoted strings, preopened_dir: null */
  p = src_path("tests/data/config/test-server.yaml");
  assert_int_equal(kafu_config_load(p, &c, &e), 0);
  assert_null(c->app.preopened_dir);
  assert_int_equal(c->heartbeat.on_coordinator_lost, KAFU_ON_COORDINATOR_LOST_IGNORE);
  assert_string_equal(c->nodes[0].id, "node-1");
  free(p);
  kafu_config_free(c);
}

static void test_every_field(void **s) {
  char *p = src_path("tests/data/config/three.yaml");
  kafu_config *c;
  kafu_err e = {0};
  assert_int_equal(kafu_config_load(p, &c, &e), 0);
  char *dir = kafu_path_dirname(p), *rdir = realpath(dir, NULL), *parent = kafu_path_dirname(rdir);
  char want[512];
  snprintf(want, sizeof want, "%s/bin/pipeline.wasm", parent); /* "../bin/pipeline.wasm" */
  assert_string_equal(c->app.path, want);
  snprintf(want, sizeof want, "%s/data", rdir);
  assert_string_equal(c->app.preopened_dir, want);
  const char *args[] = {"--size", "960x540", "a b: c", "yes", "007"};
  assert_int_equal(c->app.nargs, 5);
  for (int i = 0; i < 5; i++) assert_string_equal(c->app.args[i], args[i]);
  assert_int_equal(c->nnodes, 3);
  assert_string_equal(c->nodes[0].id, "edge");
  assert_string_equal(c->nodes[0].placement, "factory-floor");
  assert_string_equal(c->nodes[1].address, "cloud.example.com");
  assert_int_equal(c->nodes[1].port, 8443);
  assert_null(c->nodes[2].placement);
  assert_int_equal(c->heartbeat.on_coordinator_lost, KAFU_ON_COORDINATOR_LOST_IGNORE);
  assert_int_equal(c->heartbeat.interval_ms, 250);
  assert_int_equal(c->migration.mode, KAFU_MEMORY_MIGRATION_FULL);
  assert_int_equal(c->migration.compression, KAFU_COMPRESSION_ZSTD);
  assert_string_equal(c->token, "s3cret");
  assert_int_equal(c->startup_timeout_ms, 60000);
  free(dir), free(rdir), free(parent), free(p);
  kafu_config_free(c);
}

/* cluster.tls: paths resolved against the config's directory, kept by dup and
 * by the normalized YAML; all three keys required; a missing file named. */
static void test_tls(void **s) {
  (void)s;
  char dir[] = "/tmp/kafu-test-tls.XXXXXX";
  assert_non_null(mkdtemp(dir));
  const char *files[] = {"n.pem", "n.key", "ca.pem"};
  char path[256];
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
  }
  const char *y =
      "name: t\napp: {path: m.wasm}\nnodes:\n  a: {address: 127.0.0.1, port: 5001}\n"
      "cluster:\n  tls: {cert: n.pem, key: n.key, ca: ca.pem}\n";
  kafu_config *c, *d, *r;
  kafu_err e = {0};
  assert_int_equal(kafu_config_load_string(y, strlen(y), "t.yaml", dir, &c, &e), 0);
  snprintf(path, sizeof path, "%s/n.key", dir);
  assert_string_equal(c->tls.key, path);
  assert_non_null(d = kafu_config_dup(c));
  snprintf(path, sizeof path, "%s/ca.pem", dir);
  assert_string_equal(d->tls.ca, path);
  kafu_buf b = {0};
  assert_int_equal(kafu_config_to_yaml(d, 0, &b, &e), 0);
  assert_int_equal(kafu_config_load_string((const char *)b.data, b.len, "n.yaml", "/", &r, &e), 0);
  assert_string_equal(r->tls.cert, c->tls.cert);
  assert_string_equal(r->tls.ca, c->tls.ca);
  kafu_buf_free(&b);
  kafu_config_free(r), kafu_config_free(d), kafu_config_free(c);
  const char *nokey =
      "name: t\napp: {path: m.wasm}\nnodes:\n  a: {address: 127.0.0.1, port: 5001}\n"
      "cluster:\n  tls: {cert: n.pem, ca: ca.pem}\n";
  assert_true(kafu_config_load_string(nokey, strlen(nokey), "t.yaml", dir, &c, &e) < 0);
  assert_non_null(strstr(e.msg, "cluster.tls: missing `key`"));
  const char *gone =
      "name: t\napp: {path: m.wasm}\nnodes:\n  a: {address: 127.0.0.1, port: 5001}\n"
      "cluster:\n  tls: {cert: n.pem, key: n.key, ca: gone.pem}\n";
  /* files are read where they are used (kafu serve names a missing one) */
  assert_int_equal(kafu_config_load_string(gone, strlen(gone), "t.yaml", dir, &c, &e), 0);
  snprintf(path, sizeof path, "%s/gone.pem", dir);
  assert_string_equal(c->tls.ca, path);
  kafu_config_free(c);
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* nodes.<id>.resources / cluster.resources: quantities checked, a node's value
 * overrides the default per value, requests above limits refused (also when
 * one of the two comes from cluster.resources). */
static void test_resources(void **s) {
  (void)s;
  const char *head = "name: t\napp: {path: m.wasm}\nnodes:\n  a:\n    address: h\n    port: 1\n";
  struct {
    const char *tail, *err; /* err NULL: loads */
  } cases[] = {
      {"    resources: {requests: {cpu: 250m, memory: 1Gi}}\ncluster:\n  resources: {limits: {cpu: 2, "
       "memory: "
       "2Gi}, requests: {cpu: 1}}\n",
       NULL},
      {"    resources: {requests: {cpu: lots}}\n",
       "nodes.a.resources.requests.cpu: `lots` is not a Kubernetes quantity"},
      {"    resources: {limits: {memory: 1Gb}}\n",
       "nodes.a.resources.limits.memory: `1Gb` is not a Kubernetes quantity"},
      {"    resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}\n",
       "nodes.a.resources.requests.memory: 2Gi is more than the limit 1Gi"},
      {"    resources: {requests: {cpu: 1500m}}\ncluster:\n  resources: {limits: {cpu: 1}}\n",
       "nodes.a.resources: requests.cpu 1500m is more than limits.cpu 1"},
      {"    resources: {request: {cpu: 1}}\n", "nodes.a.resources.request: unknown key"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char y[512];
    snprintf(y, sizeof y, "%s%s", head, cases[i].tail);
    kafu_config *c = NULL;
    kafu_err e = {0};
    int rc = kafu_config_load_string(y, strlen(y), "t.yaml", "/", &c, &e);
    if (!cases[i].err) {
      if (rc) fail_msg("case %zu: %s", i, e.msg);
      kafu_config_resources r;
      kafu_config_node_resources(c, &c->nodes[0], &r);
      assert_string_equal(r.requests_cpu, "250m");
      assert_string_equal(r.requests_memory, "1Gi");
      assert_string_equal(r.limits_cpu, "2");
      assert_string_equal(r.limits_memory, "2Gi");
      kafu_config_free(c);
    } else if (rc == 0 || !strstr(e.msg, cases[i].err)) {
      fail_msg("case %zu: want '%s', got rc %d '%s'", i, cases[i].err, rc, e.msg);
    }
  }
  double v;
  assert_int_equal(kafu_config_quantity("500m", &v), 0);
  assert_true(v > 0.499 && v < 0.501);
  assert_int_equal(kafu_config_quantity("1e9", &v), 0);
  assert_true(v == 1e9);
  assert_int_equal(kafu_config_quantity("1.5Gi", &v), 0);
  assert_true(v == 1.5 * 1073741824.0);
  assert_true(kafu_config_quantity("", &v) < 0 && kafu_config_quantity("m", &v) < 0 &&
              kafu_config_quantity("1e", &v) < 0 && kafu_config_quantity("-1", &v) < 0);
}

static void test_standby(void **s) {
  char *p = src_path("tests/data/config/standby.yaml");
  kafu_config *c;
  kafu_err e = {0};
  assert_int_equal(kafu_config_load(p, &c, &e), 0);
  assert_int_equal(c->nnodes, 4);
  assert_int_equal(c->nodes[0].nstandby, 1);
  assert_string_equal(c->nodes[0].standby[0], "edge-b");
  assert_int_equal(c->nodes[1].nstandby, 2);
  assert_string_equal(c->nodes[1].standby[0], "cloud-b");
  assert_string_equal(c->nodes[1].standby[1], "edge-b");
  assert_int_equal(c->nodes[2].nstandby, 0);
  assert_int_equal(c->failover.wait_ms, 2500);
  assert_int_equal(c->failover.checkpoint_memory_mb, 64);
  kafu_config_free(c);
  assert_int_equal(load(GOOD, &c, &e), 0);
  assert_int_equal(c->failover.wait_ms, KAFU_CONFIG_DEFAULT_FAILOVER_WAIT_MS);
  assert_int_equal(c->failover.checkpoint_memory_mb, KAFU_CONFIG_DEFAULT_CHECKPOINT_MEMORY_MB);
  kafu_config_free(c);
  free(p);
}

static void test_paths(void **s) {
  kafu_config *c;
  kafu_err e;
  assert_int_equal(
      load("name: x\napp:\n  path: /abs/./m.wasm\n  preopened_dir: sub/../data/\n" NODES, &c, &e), 0);
  assert_string_equal(c->app.path, "/abs/m.wasm");
  char *real = realpath(g_dir, NULL);
  char want[256];
  snprintf(want, sizeof want, "%s/data", real);
  assert_string_equal(c->app.preopened_dir, want);
  kafu_config_free(c);
  /* a config loaded from a relative file name resolves against its directory, not the cwd */
  char sub[128], file[160];
  snprintf(sub, sizeof sub, "%s/conf", g_dir);
  assert_int_equal(kafu_mkdirs(sub, 0755, NULL), 0);
  snprintf(file, sizeof file, "%s/kafu-config.yaml", sub);
  const char *text = "name: x\napp:\n  path: ../m.wasm\n" NODES;
  assert_int_equal(kafu_write_file_atomic(file, text, strlen(text), NULL), 0);
  char cwd[512];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(g_dir), 0);
  assert_int_equal(kafu_config_load("conf/kafu-config.yaml", &c, &e), 0);
  assert_int_equal(chdir(cwd), 0);
  snprintf(want, sizeof want, "%s/m.wasm", real);
  assert_string_equal(c->app.path, want);
  kafu_config_free(c);
  free(real);
}

static void test_ordered_nodes(void **s) {
  const char *t =
      "name: x\napp:\n  path: a\nnodes:\n"
      "  zeta:\n    address: h\n    port: 5\n"
      "  alpha:\n    address: h\n    port: 4\n"
      "  Mid_1:\n    address: h\n    port: 3\n"
      "  b:\n    address: h\n    port: 2\n"
      "  7:\n    address: h\n    port: 1\n";
  kafu_config *c;
  kafu_err e;
  assert_int_equal(load(t, &c, &e), 0);
  const char *want[] = {"zeta", "alpha", "Mid_1", "b", "7"};
  assert_int_equal(c->nnodes, 5);
  for (int i = 0; i < 5; i++) {
    assert_string_equal(c->nodes[i].id, want[i]);
    assert_int_equal(c->nodes[i].port, 5 - i);
    assert_int_equal(kafu_config_node_index(c, want[i]), i);
  }
  kafu_config_free(c);
}

static void test_compression_matrix(void **s) {
  struct {
    const char *mig;
    kafu_compression want;
  } cases[] = {
      {"memory_compression: false", KAFU_COMPRESSION_NONE},
      {"memory_compression: true", KAFU_COMPRESSION_LZ4}, /* explicit: the original's meaning */
      {"memory_migration: delta", KAFU_COMPRESSION_AUTO},  /* neither key: the default */
      {"compression: zstd", KAFU_COMPRESSION_ZSTD},
      {"compression: none", KAFU_COMPRESSION_NONE},
      {"memory_compression: false\n    compression: none", KAFU_COMPRESSION_NONE},
      {"memory_compression: true\n    compression: zstd", KAFU_COMPRESSION_ZSTD},
      {"compression: auto", KAFU_COMPRESSION_AUTO},
      {"memory_compression: true\n    compression: auto", KAFU_COMPRESSION_AUTO},
      {"delta_compression: false", KAFU_COMPRESSION_NONE},  /* the original's alias */
      {"memroy_compression: false", KAFU_COMPRESSION_NONE}, /* the original's typo alias */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char t[512];
    snprintf(t, sizeof t, GOOD "cluster:\n  migration:\n    %s\n", cases[i].mig);
    kafu_config *c;
    kafu_err e;
    if (load(t, &c, &e) < 0) fail_msg("case %zu: %s", i, e.msg);
    assert_int_equal(c->migration.compression, cases[i].want);
    kafu_config_free(c);
  }
  /* null sections mean defaults */
  kafu_config *c;
  kafu_err e;
  assert_int_equal(load(GOOD "cluster:\n  heartbeat:\n  migration: ~\n", &c, &e), 0);
  assert_int_equal(c->migration.compression, KAFU_COMPRESSION_AUTO);
  kafu_config_free(c);
  assert_int_equal(load(GOOD "cluster:\n", &c, &e), 0);
  kafu_config_free(c);
}

static void test_scalars(void **s) {
  kafu_config *c;
  kafu_err e;
  /* hex/octal ports, names that look like numbers, args of every scalar kind */
  const char *t =
      "name: 42\napp:\n  path: a\n  args: [1, true, \"x y\", 'single', -3.5, ~x]\nnodes:\n"
      "  a:\n    address: h\n    port: 0x1F90\n  b:\n    address: h\n    port: 0o17\n";
  assert_int_equal(load(t, &c, &e), 0);
  assert_string_equal(c->name, "42");
  assert_int_equal(c->nodes[0].port, 8080);
  assert_int_equal(c->nodes[1].port, 15);
  const char *args[] = {"1", "true", "x y", "single", "-3.5", "~x"};
  assert_int_equal(c->app.nargs, 6);
  for (int i = 0; i < 6; i++) assert_string_equal(c->app.args[i], args[i]);
  kafu_config_free(c);
  /* anchors and aliases resolve */
  t = "name: x\napp:\n  path: a\nnodes:\n  a:\n    address: &h host\n    port: &p 1\n  b:\n    address: *h\n"
      "    port: 2\n";
  assert_int_equal(load(t, &c, &e), 0);
  assert_string_equal(c->nodes[1].address, "host");
  kafu_config_free(c);
  /* sha256 accepts upper case and a sha256: prefix */
  t = "name: x\napp:\n  url: file:///m.wasm\n  sha256: "
      "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n" NODES;
  assert_int_equal(load(t, &c, &e), 0);
  assert_true(c->app.has_sha256);
  assert_int_equal(c->app.sha256[0], 0xe3);
  assert_int_equal(c->app.sha256[31], 0x55);
  kafu_config_free(c);
}

/* ---- emit / dup ------------------------------------------------------------ */

static void assert_same(const kafu_config *a, const kafu_config *b) {
  assert_string_equal(a->name, b->name);
  if (a->app.path)
    assert_string_equal(a->app.path, b->app.path);
  else
    assert_null(b->app.path);
  if (a->app.url)
    assert_string_equal(a->app.url, b->app.url);
  else
    assert_null(b->app.url);
  assert_int_equal(a->app.has_sha256, b->app.has_sha256);
  assert_memory_equal(a->app.sha256, b->app.sha256, 32);
  assert_int_equal(a->app.nargs, b->app.nargs);
  for (size_t i = 0; i < a->app.nargs; i++) assert_string_equal(a->app.args[i], b->app.args[i]);
  if (a->app.preopened_dir)
    assert_string_equal(a->app.preopened_dir, b->app.preopened_dir);
  else
    assert_null(b->app.preopened_dir);
  assert_int_equal(a->nnodes, b->nnodes);
  for (size_t i = 0; i < a->nnodes; i++) {
    assert_string_equal(a->nodes[i].id, b->nodes[i].id);
    assert_string_equal(a->nodes[i].address, b->nodes[i].address);
    assert_int_equal(a->nodes[i].port, b->nodes[i].port);
    if (a->nodes[i].placement)
      assert_string_equal(a->nodes[i].placement, b->nodes[i].placement);
    else
      assert_null(b->nodes[i].placement);
    assert_int_equal(a->nodes[i].nstandby, b->nodes[i].nstandby);
    for (size_t j = 0; j < a->nodes[i].nstandby; j++)
      assert_string_equal(a->nodes[i].standby[j], b->nodes[i].standby[j]);
  }
  assert_int_equal(a->failover.wait_ms, b->failover.wait_ms);
  assert_int_equal(a->failover.checkpoint_memory_mb, b->failover.checkpoint_memory_mb);
  assert_int_equal(a->heartbeat.interval_ms, b->heartbeat.interval_ms);
  assert_int_equal(a->heartbeat.on_coordinator_lost, b->heartbeat.on_coordinator_lost);
  assert_int_equal(a->migration.compression, b->migration.compression);
  assert_int_equal(a->migration.mode, b->migration.mode);
  if (a->token)
    assert_string_equal(a->token, b->token);
  else
    assert_null(b->token);
  assert_int_equal(a->startup_timeout_ms, b->startup_timeout_ms);
}

static void test_emit_roundtrip(void **s) {
  const char *files[] = {"original.yaml", "three.yaml",       "url.yaml",
                         "minimal.yaml",  "test-server.yaml", "standby.yaml"};
  for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
    char rel[128];
    snprintf(rel, sizeof rel, "tests/data/config/%s", files[f]);
    char *p = src_path(rel);
    kafu_config *a, *b;
    kafu_err e = {0};
    assert_int_equal(kafu_config_load(p, &a, &e), 0);
    kafu_buf y = {0}, y2 = {0};
    assert_int_equal(kafu_config_to_yaml(a, 0, &y, &e), 0);
    /* loaded from another directory: paths are absolute, so nothing changes */
    if (kafu_config_load_string((char *)y.data, y.len, "normalized.yaml", "/", &b, &e) < 0)
      fail_msg("%s: reload failed: %s\n%s", files[f], e.msg, kafu_buf_cstr(&y));
    assert_same(a, b);
    assert_int_equal(kafu_config_to_yaml(b, 0, &y2, &e), 0);
    assert_int_equal(y.len, y2.len);
    assert_memory_equal(y.data, y2.data, y.len); /* normal form is a fixed point */
    kafu_config *d = kafu_config_dup(a);
    assert_non_null(d);
    assert_same(a, d);
    assert_string_equal(d->raw, a->raw);
    assert_string_equal(d->config_dir, a->config_dir);
    kafu_config_free(d);
    kafu_config_free(a), kafu_config_free(b);
    kafu_buf_free(&y), kafu_buf_free(&y2);
    free(p);
  }
}

static void test_emit_exact(void **s) {
  kafu_config *c;
  kafu_err e;
  const char *t =
      "name: \"yes\"\napp:\n  path: /m.wasm\n  args: ['a: b', '#c', '- d', '', 'null', '1:20']\n"
      "nodes:\n  \"1\":\n    address: 10.1.2.3\n    port: 1\n    placement: \"on\"\n"
      "cluster:\n  token: tok\n";
  assert_int_equal(load(t, &c, &e), 0);
  kafu_buf y = {0};
  assert_int_equal(kafu_config_to_yaml(c, KAFU_CONFIG_YAML_REDACT_TOKEN, &y, &e), 0);
  const char *want =
      "name: \"yes\"\n"
      "app:\n"
      "  path: /m.wasm\n"
      "  args:\n"
      "  - 'a: b'\n"
      "  - '#c'\n"
      "  - '- d'\n"
      "  - \"\"\n"
      "  - \"null\"\n"
      "  - \"1:20\"\n"
      "nodes:\n"
      "  \"1\":\n"
      "    address: \"10.1.2.3\"\n"
      "    port: 1\n"
      "    placement: \"on\"\n"
      "cluster:\n"
      "  heartbeat:\n"
      "    follower_on_coordinator_lost: shutdown_self\n"
      "    interval_ms: 1000\n"
      "  migration:\n"
      "    memory_compression: true\n"
      "    memory_migration: delta\n"
      "    compression: auto\n"
      "  failover:\n"
      "    wait_ms: 10000\n"
      "    checkpoint_memory_mb: 1024\n"
      "  startup_timeout_ms: 30000\n"
      "  token: <redacted>\n";
  assert_string_equal(kafu_buf_cstr(&y), want);
  kafu_buf_free(&y);
  kafu_config_free(c);
}

/* ---- files, URLs, digests -------------------------------------------------- */

static void test_unreadable(void **s) {
  kafu_config *c = (kafu_config *)1;
  kafu_err e = {0};
  char p[128];
  snprintf(p, sizeof p, "%s/missing.yaml", g_dir);
  assert_int_equal(kafu_config_load(p, &c, &e), KAFU_ENOENT);
  assert_null(c);
  assert_non_null(strstr(e.msg, "cannot read config"));
  assert_non_null(strstr(e.msg, "missing.yaml"));
  assert_true(kafu_config_load(g_dir, &c, &e) < 0); /* a directory */
  assert_non_null(strstr(e.msg, "is a directory"));
}

static void write_module(const char *path, const char *text) {
  assert_int_equal(kafu_write_file_atomic(path, text, strlen(text), NULL), 0);
}

static void test_load_app(void **s) {
  char mod[128], cfg[512], hex[65];
  snprintf(mod, sizeof mod, "%s/mod.wasm", g_dir);
  write_module(mod, "\0asm-pretend");
  const char *body = "module bytes";
  write_module(mod, body);
  uint8_t d[32];
  kafu_sha256(body, strlen(body), d);
  kafu_hex(d, 32, hex);
  kafu_config *c;
  kafu_err e;
  uint8_t *bytes;
  size_t len;

  /* app.path, no digest */
  assert_int_equal(load("name: x\napp:\n  path: mod.wasm\n" NODES, &c, &e), 0);
  assert_int_equal(kafu_config_load_app(c, &bytes, &len, &e), 0);
  assert_int_equal(len, strlen(body));
  assert_memory_equal(bytes, body, len);
  free(bytes);
  kafu_config_free(c);

  /* app.url file:// with a matching digest */
  snprintf(cfg, sizeof cfg, "name: x\napp:\n  url: file://%s\n  sha256: %s\n" NODES, mod, hex);
  assert_int_equal(load(cfg, &c, &e), 0);
  assert_int_equal(kafu_config_load_app(c, &bytes, &len, &e), 0);
  assert_int_equal(len, strlen(body));
  assert_memory_equal(bytes, body, len);
  free(bytes);
  kafu_config_free(c);

  /* mismatch: both digests in the message, no bytes returned */
  snprintf(cfg, sizeof cfg, "name: x\napp:\n  url: file://%s\n  sha256: %064d\n" NODES, mod, 0);
  assert_int_equal(load(cfg, &c, &e), 0);
  bytes = (uint8_t *)1;
  assert_int_equal(kafu_config_load_app(c, &bytes, &len, &e), KAFU_EINVAL);
  assert_null(bytes);
  assert_non_null(strstr(e.msg, "app.sha256 mismatch"));
  assert_non_null(strstr(e.msg, hex));
  char zeros[200];
  snprintf(zeros, sizeof zeros, "expected %064d, got %s", 0, hex);
  assert_non_null(strstr(e.msg, zeros));
  kafu_config_free(c);

  /* mismatch on app.path too */
  snprintf(cfg, sizeof cfg, "name: x\napp:\n  path: mod.wasm\n  sha256: %064d\n" NODES, 1);
  assert_int_equal(load(cfg, &c, &e), 0);
  assert_int_equal(kafu_config_load_app(c, &bytes, &len, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "mod.wasm"));
  kafu_config_free(c);

  /* missing files */
  snprintf(cfg, sizeof cfg, "name: x\napp:\n  url: file://%s/nope.wasm\n" NODES, g_dir);
  assert_int_equal(load(cfg, &c, &e), 0);
  assert_true(kafu_config_load_app(c, &bytes, &len, &e) < 0);
  assert_non_null(strstr(e.msg, "nope.wasm"));
  kafu_config_free(c);
  assert_int_equal(load("name: x\napp:\n  path: nope.wasm\n" NODES, &c, &e), 0);
  assert_int_equal(kafu_config_load_app(c, &bytes, &len, &e), KAFU_ENOENT);
  assert_non_null(strstr(e.msg, "nope.wasm"));
  kafu_config_free(c);
  /* unsupported scheme at the fetch level */
  assert_int_equal(kafu_config_fetch_url("gopher://x/y", &bytes, &len, &e), KAFU_EINVAL);
}

/* ---- destinations --------------------------------------------------------- */

static void test_destinations(void **s) {
  kafu_config *c;
  kafu_err e;
  assert_int_equal(load("name: x\napp:\n  path: a\nnodes:\n  cloud:\n    address: h\n    port: 1\n"
                        "  edge:\n    address: h\n    port: 2\n",
                        &c, &e),
                   0);
  const char *ok[] = {"cloud", "edge", "cloud"};
  assert_int_equal(kafu_config_check_destinations(c, ok, 3, &e), 0);
  assert_int_equal(kafu_config_check_destinations(c, NULL, 0, &e), 0);
  const char *badd[] = {"cloud", "clod", "gpu", "clod"};
  const char *fns[] = {"a", "detect", "train", "track"};
  assert_int_equal(kafu_config_check_destinations(c, badd, 4, &e), KAFU_EINVAL);
  char want[512];
  snprintf(
      want, sizeof want,
      "%s: the module migrates to nodes not in `nodes`: \"clod\"; did you mean \"cloud\"?, \"gpu\" (nodes: "
      "cloud, edge)",
      c->config_path);
  assert_string_equal(e.msg, want);
  assert_int_equal(kafu_config_check_destinations_fn(c, badd, fns, 4, &e), KAFU_EINVAL);
  snprintf(
      want, sizeof want,
      "%s: the module migrates to nodes not in `nodes`: \"clod\" (KAFU_DEST of detect, track); did you mean "
      "\"cloud\"?, \"gpu\" (KAFU_DEST of train) (nodes: cloud, edge)",
      c->config_path);
  assert_string_equal(e.msg, want);
  const char *one[] = {"edge2"};
  assert_int_equal(kafu_config_check_destinations(c, one, 1, &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "migrates to a node not in `nodes`: \"edge2\"; did you mean \"edge\"?"));
  kafu_config_free(c);
}

static void test_node_url(void **s) {
  kafu_config_node n = {.address = "10.0.0.1", .port = 50051};
  char *u = kafu_config_node_url(&n);
  assert_string_equal(u, "http://10.0.0.1:50051");
  free(u);
  n.address = "::1";
  u = kafu_config_node_url(&n);
  assert_string_equal(u, "http://[::1]:50051");
  free(u);
  n.address = "[fe80::1]";
  u = kafu_config_node_url(&n);
  assert_string_equal(u, "http://[fe80::1]:50051");
  free(u);
}

static void test_names(void **s) {
  assert_string_equal(kafu_compression_name(KAFU_COMPRESSION_NONE), "none");
  assert_string_equal(kafu_compression_name(KAFU_COMPRESSION_LZ4), "lz4");
  assert_string_equal(kafu_compression_name(KAFU_COMPRESSION_ZSTD), "zstd");
  assert_string_equal(kafu_compression_name(KAFU_COMPRESSION_AUTO), "auto");
  assert_string_equal(kafu_memory_migration_name(KAFU_MEMORY_MIGRATION_FULL), "full");
  assert_string_equal(kafu_memory_migration_name(KAFU_MEMORY_MIGRATION_DELTA), "delta");
  assert_string_equal(kafu_on_coordinator_lost_name(KAFU_ON_COORDINATOR_LOST_IGNORE), "ignore");
  assert_string_equal(kafu_on_coordinator_lost_name(KAFU_ON_COORDINATOR_LOST_SHUTDOWN_SELF), "shutdown_self");
}

/* Every prefix and a few byte flips of a full config: no crash, no leak of
 * half-built state (run under ASan in the sanitizer build). */
static void test_truncations(void **s) {
  char *p = src_path("tests/data/config/three.yaml");
  uint8_t *text;
  size_t len;
  assert_int_equal(kafu_read_file(p, &text, &len, NULL), 0);
  for (size_t n = 0; n <= len; n++) {
    kafu_config *c;
    kafu_err e;
    if (kafu_config_load_string((char *)text, n, "t.yaml", g_dir, &c, &e) == 0)
      kafu_config_free(c);
    else
      assert_true(strncmp(e.msg, "t.yaml:", 7) == 0);
  }
  for (size_t i = 0; i < len; i += 7) {
    uint8_t save = text[i];
    text[i] = (uint8_t) "\t:-[{\"'&*!|>%@`\x80\xff"[i % 17];
    kafu_config *c;
    kafu_err e;
    if (kafu_config_load_string((char *)text, len, "t.yaml", g_dir, &c, &e) == 0) kafu_config_free(c);
    text[i] = save;
  }
  free(text);
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_original_example),
      cmocka_unit_test(test_every_field),
      cmocka_unit_test(test_paths),
      cmocka_unit_test(test_standby),
      cmocka_unit_test(test_tls),
      cmocka_unit_test(test_resources),
      cmocka_unit_test(test_ordered_nodes),
      cmocka_unit_test(test_compression_matrix),
      cmocka_unit_test(test_scalars),
      cmocka_unit_test(test_emit_roundtrip),
      cmocka_unit_test(test_emit_exact),
      cmocka_unit_test(test_unreadable),
      cmocka_unit_test(test_load_app),
      cmocka_unit_test(test_destinations),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_node_url),
      cmocka_unit_test(test_truncations),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

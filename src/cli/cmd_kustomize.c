/*
 * cmd_kustomize.c — `kafu kustomize build`: Kubernetes manifests for a config
 * (src/kube). Prints a multi-document YAML stream, or with -o DIR writes a
 * kustomize base that `kubectl kustomize DIR` renders to the same objects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "kafu/config.h"
#include "kafu/kube.h"

void kafu_usage_kustomize(void) {
  printf(
      "Usage: kafu kustomize build [OPTIONS] [CONFIG]\n"
      "\n"
      "Generate Kubernetes manifests for a kafu-config.yaml (default: ./kafu-config.yaml):\n"
      "a ConfigMap with the config, and per node a headless Service and a Pod named\n"
      "kafu-server-<node-id>, scheduled with nodeSelector kafu-node=<placement or node id>.\n"
      "Node addresses in the embedded config are replaced by the Service names.\n"
      "The cluster token goes into a Secret (kafu-token[-ID], mounted at " KAFU_KUBE_TOKEN_DIR
      ";\n"
      "the config names it as cluster.token_file), never into the ConfigMap: the\n"
      "config's token, else a fresh random one. Pods run as a non-root user, with a\n"
      "read-only root file system, no capabilities and seccomp RuntimeDefault.\n"
      "\n"
      "Options:\n"
      "  --image IMAGE        container image (default " KAFU_KUBE_DEFAULT_IMAGE
      ")\n"
      "  --slim               Pods run the slim image (no C compiler; default\n"
      "                       " KAFU_KUBE_DEFAULT_SLIM_IMAGE "): they run precompiled code,\n"
      "                       app.aot_dir becomes " KAFU_KUBE_AOT_DIR " (bake it in with\n"
      "                       kafu aot --target TRIPLE --cache-dir " KAFU_KUBE_AOT_DIR
      "), or fetch\n"
      "                       it from a peer running the full image\n"
      "  --instance-id ID     prefix names with ID- and label objects kafu-instance=ID,\n"
      "                       so several instances of one config run side by side\n"
      "  --namespace NS       set metadata.namespace on every object\n"
      "  --token-file FILE    put the token from FILE into the generated Secret\n"
      "  --token-secret NAME  mount the existing Secret NAME (key \"token\") instead of\n"
      "                       generating one\n"
      "  --tls-secret NAME    with cluster.tls: the existing Secret (keys tls.crt, tls.key,\n"
      "                       ca.crt) to mount at " KAFU_KUBE_TLS_DIR
      " (default kafu-tls[-ID])\n"
      "  -o, --output DIR     write a kustomize base (kustomization.yaml + resources) to DIR\n"
      "                       instead of printing the manifests\n"
      "  --module FILE        a local copy of the module (when app.url is remote, or\n"
      "                       app.path is not on this machine); must match app.sha256\n"
      "  -q, --quiet          only errors on stderr\n"
      "  -h, --help           show this help\n"
      "\n"
      "With app.path the module must be inside the image at " KAFU_KUBE_APP_DIR
      "/<file name>;\n"
      "app.url is fetched by each Pod (and checked against app.sha256).\n"
      "Before writing anything, the module (app.path, a file:// app.url, or --module)\n"
      "is checked as every node checks it at start: a KAFU_DEST destination that is\n"
      "not a node of CONFIG is an error here, not when the Pods start.\n"
      "Example:\n"
      "  kafu kustomize build kafu-config.yaml --image registry.example/kafu-app:1 | kubectl apply -f -\n"
      "See docs/kubernetes.md.\n");
}

static int build(int argc, char **argv) {
  kafu_kube_opts o = {0};
  const char *file = NULL, *outdir = NULL, *token_file = NULL, *module = NULL;
  bool quiet = false;
  kafu_err oerr = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = true;
    } else if ((r = kafu_opt_value(argc, argv, &i, "--image", NULL, &o.image, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--module", NULL, &module, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--instance-id", NULL, &o.instance_id, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--namespace", "-n", &o.ns, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--token-secret", NULL, &o.token_secret, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--token-file", NULL, &token_file, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--tls-secret", NULL, &o.tls_secret, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--output", "-o", &outdir, &oerr))) {
      if (r < 0) return kafu_cli_usage_error("kustomize", "%s", oerr.msg);
    } else if (!strcmp(a, "--slim")) {
      o.slim = true;
    } else if (a[0] == '-' && a[1]) {
      return kafu_cli_usage_error("kustomize", "unknown option '%s'", a);
    } else if (!file) {
      file = a;
    } else {
      fprintf(stderr, "kafu kustomize: too many arguments ('%s'); expected one config file\n", a);
      return KAFU_EXIT_USAGE;
    }
  }
  if (!file) file = KAFU_CONFIG_DEFAULT_FILE;
  kafu_err err = {0};
  kafu_config *c;
  if (kafu_config_load(file, &c, &err) < 0 || (token_file && kafu_config_set_token_file(c, token_file, &err))) {
    fprintf(stderr, "kafu kustomize: error: %s\n", err.msg);
    kafu_config_free(c);
    return 1;
  }
  if (o.token_secret && token_file) {
    kafu_config_free(c);
    return kafu_cli_usage_error("kustomize", "%s", "--token-secret and --token-file exclude each other");
  }
  int rc = kafu_kube_check(c, &o, &err);
  /* pre-flight: the module, where it can be read here */
  bool local = module || (c->app.path && kafu_file_exists(c->app.path)) ||
               (c->app.url && !strncasecmp(c->app.url, "file://", 7));
  if (rc == 0 && local) rc = kafu_cli_check_module(c, module, NULL, NULL, &err);
  if (rc == 0 && !local && !quiet)
    fprintf(stderr,
            "kafu kustomize: warning: the module's KAFU_DEST destinations were not checked against the nodes "
            "(%s %s is not on this machine); name a local copy with --module FILE\n",
            c->app.path ? "app.path" : "app.url", kafu_config_app_location(c));
  if (rc == 0) {
    if (c->app.path && !quiet)
      fprintf(
          stderr,
          "kafu kustomize: warning: app.path is a local file (%s); the Pods read the module from %s/%s, so "
          "it must be inside the image %s at that path (see docs/kubernetes.md), or use app.url\n",
          c->app.path, KAFU_KUBE_APP_DIR, kafu_path_basename(c->app.path), kafu_kube_image(&o));
    if (c->tls.cert && !quiet) {
      char *tn = kafu_kube_tls_secret_name(&o);
      fprintf(
          stderr,
          "kafu kustomize: note: cluster.tls: the Pods mount the Secret %s (keys tls.crt, tls.key, ca.crt; "
          "not generated); its certificate must name every node's Service:",
          tn ? tn : "kafu-tls");
      for (size_t i = 0; i < c->nnodes; i++) {
        char *sn = kafu_kube_server_name(&o, c->nodes[i].id);
        fprintf(stderr, " %s", sn ? sn : c->nodes[i].id);
        free(sn);
      }
      fprintf(stderr, "\n");
      free(tn);
    }
    if ((o.slim || c->app.aot_dir) && !quiet)
      fprintf(stderr,
              "kafu kustomize: note: the Pods look for precompiled code in %s/aot (app.aot_dir); bake it into "
              "the image %s with `kafu aot --target aarch64-linux-gnu --target x86_64-linux-gnu --cache-dir "
              "%s MODULE.wasm`%s\n",
              KAFU_KUBE_AOT_DIR, kafu_kube_image(&o), KAFU_KUBE_AOT_DIR,
              o.slim ? ", or run at least one node on the full image: nodes without a compiler fetch code from "
                       "their peers"
                     : "");
    if (c->app.preopened_dir && !quiet)
      fprintf(
          stderr,
          "kafu kustomize: warning: app.preopened_dir (%s) becomes an empty volume at %s in each Pod; its "
          "local contents are not copied\n",
          c->app.preopened_dir, KAFU_KUBE_DATA_DIR);
    if (outdir) {
      rc = kafu_kube_write_dir(c, &o, outdir, &err);
      if (rc == 0 && !quiet)
        fprintf(stderr, "kafu kustomize: wrote %s (render with `kubectl kustomize %s`)\n", outdir, outdir);
    } else {
      kafu_buf out = {0};
      rc = kafu_kube_build(c, &o, &out, &err);
      if (rc == 0 && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0))
        rc = kafu_err_set(&err, KAFU_EIO, "writing to stdout failed");
      kafu_buf_free(&out);
    }
  }
  if (rc < 0) fprintf(stderr, "kafu kustomize: error: %s\n", err.msg);
  kafu_config_free(c);
  return rc < 0 ? 1 : 0;
}

int kafu_cmd_kustomize(int argc, char **argv) {
  if (argc < 2) {
    fprintf(
        stderr,
        "kafu kustomize: missing subcommand (expected `build`)\nRun `kafu kustomize --help` for usage.\n");
    return KAFU_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "build")) return build(argc - 1, argv + 1);
  fprintf(
      stderr,
      "kafu kustomize: unknown subcommand '%s' (expected `build`)\nRun `kafu kustomize --help` for usage.\n",
      argv[1]);
  return KAFU_EXIT_USAGE;
}

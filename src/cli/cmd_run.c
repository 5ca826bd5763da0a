/*
 * cmd_run.c — `kafu run`: run any wasm32-wasi command module on this machine,
 * like `wasmtime run`. The module gets a WASI context (args, environment,
 * preopened directories, inherited stdio) and runs `_start`; kafu exits with
 * the program's exit code. Migration points of a Snapified module are no-ops
 * (no host hook is installed), so a Snapified module runs like the original.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "commands.h"
#include "kafu/engine.h"
#include "kafu/nn.h"
#include "kafu/util.h"
#include "kafu/wasi.h"

void kafu_usage_run(void) {
  printf(
      "Usage: kafu run [OPTIONS] [--] MODULE.wasm [ARGS...]\n"
      "\n"
      "Run a wasm32-wasi command module on this machine (like `wasmtime run`).\n"
      "The module is compiled to native code once (wasm2c + the system C compiler)\n"
      "and cached; later runs start from the cache. Migration points of a Snapified\n"
      "module are no-ops. The program's argv[0] is MODULE.wasm as given.\n"
      "\n"
      "Options (before MODULE; everything after it goes to the program):\n"
      "  --dir HOST[::GUEST]   give the program host directory HOST, visible as GUEST\n"
      "                        (default: HOST as written); repeatable. The program\n"
      "                        cannot reach outside its preopened directories.\n"
      "  --env NAME=VALUE      set an environment variable for the program; repeatable.\n"
      "                        --env NAME passes kafu's own value of NAME.\n"
      "  --tcplisten HOST:PORT listen on a TCP socket and give it to the program as an\n"
      "                        fd after the preopens (accept() on it); repeatable\n"
      "  --nn-preload NAME:PATH  make the ONNX model at host PATH loadable by the\n"
      "                        program as wasi-nn load_by_name(NAME); repeatable\n"
      "  --nn-max-model-bytes N  refuse wasi-nn models larger than N bytes\n"
      "                        (too_large; default 512 MiB)\n"
      "  --cache-dir DIR       engine cache (default: $KAFU_CACHE_DIR, else\n"
      "                        $XDG_CACHE_HOME/kafu, else ~/.cache/kafu)\n"
      "  -h, --help            show this help\n"
      "\n"
      "Exit status: the program's exit code (main's return value or proc_exit's\n"
      "argument); %d when the program traps (the message names the trap and the wasm\n"
      "function); 1 when kafu cannot run the module; 2 on a usage error.\n"
      "\n"
      "Environment: KAFU_CC (C compiler, default cc), KAFU_AOT_CFLAGS (extra flags),\n"
      "KAFU_LOG=debug (shows cache hits and compiles).\n",
      KAFU_EXIT_TRAP);
}

/* Bind and listen on HOST:PORT (IPv4 or [IPv6]); returns the fd or -1 after a message. */
static int tcp_listen(const char *spec) {
  char host[256];
  const char *colon = strrchr(spec, ':');
  if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= sizeof host) {
    fprintf(stderr, "kafu run: --tcplisten '%s': expected HOST:PORT\n", spec);
    return -1;
  }
  memcpy(host, spec, (size_t)(colon - spec));
  host[colon - spec] = 0;
  if (host[0] == '[' && host[strlen(host) - 1] == ']') {
    memmove(host, host + 1, strlen(host));
    host[strlen(host) - 1] = 0;
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
  int gai = getaddrinfo(host, colon + 1, &hints, &res);
  if (gai) {
    fprintf(stderr, "kafu run: --tcplisten %s: %s\n", spec, gai_strerror(gai));
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64)) {
    fprintf(stderr, "kafu run: error: --tcplisten %s: %s\n", spec, strerror(errno));
    if (fd >= 0) close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

int kafu_cmd_run(int argc, char **argv) {
  kafu_preopen pre[64];
  int npre = 0;
  int lfds[16], nl = 0;
  char **envs = calloc((size_t)argc + 1, sizeof(char *));
  char **owned = calloc((size_t)argc + 1, sizeof(char *));
  int nenv = 0, nowned = 0;
  const char *cache_dir = NULL;
  kafu_nn_named models[64];
  size_t nmodels = 0;
  kafu_nn_host *nn = NULL;
  kafu_nn_limits nnlim;
  kafu_nn_limits_default(&nnlim);
  int i = 1;
  int rc = 1;
  kafu_err oerr = {0};
  for (; i < argc; i++) {
    const char *v;
    int r;
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    }
    if (argv[i][0] != '-' || !argv[i][1]) break;
    if ((r = kafu_opt_value(argc, argv, &i, "--dir", NULL, &v, &oerr)) > 0) {
      if (npre >= (int)(sizeof pre / sizeof pre[0])) {
        fprintf(stderr, "kafu run: too many --dir options (at most 64)\n");
        goto usage;
      }
      const char *sep = strstr(v, "::");
      if (sep) {
        char *host = strndup(v, (size_t)(sep - v));
        owned[nowned++] = host;
        pre[npre].host_path = host;
        pre[npre].guest_path = sep + 2;
        if (!host[0] || !sep[2]) {
          fprintf(stderr, "kafu run: --dir %s: empty host or guest path\n", v);
          goto usage;
        }
      } else {
        pre[npre].host_path = v;
        pre[npre].guest_path = v;
      }
      npre++;
    } else if (!r && (r = kafu_opt_value(argc, argv, &i, "--env", NULL, &v, &oerr)) > 0) {
      char *kv;
      int er = kafu_env_arg(v, &kv, &oerr);
      if (er < 0) {
        fprintf(stderr, "kafu run: %s\n", oerr.msg);
        goto usage;
      }
      if (er > 0) owned[nowned++] = envs[nenv++] = kv;
    } else if (!r && (r = kafu_opt_value(argc, argv, &i, "--tcplisten", NULL, &v, &oerr)) > 0) {
      if (nl >= (int)(sizeof lfds / sizeof lfds[0])) {
        fprintf(stderr, "kafu run: too many --tcplisten options (at most 16)\n");
        goto usage;
      }
      int fd = tcp_listen(v);
      if (fd < 0) goto fail_listen;
      lfds[nl++] = fd;
    } else if (!r && (r = kafu_opt_value(argc, argv, &i, "--nn-preload", NULL, &v, &oerr)) > 0) {
      const char *colon = strchr(v, ':');
      if (!colon || colon == v || !colon[1]) {
        fprintf(stderr, "kafu run: --nn-preload '%s': expected NAME:PATH\n", v);
        goto usage;
      }
      if (nmodels >= sizeof models / sizeof models[0]) {
        fprintf(stderr, "kafu run: too many --nn-preload options (at most 64)\n");
        goto usage;
      }
      char *name = strndup(v, (size_t)(colon - v));
      owned[nowned++] = name;
      for (size_t k = 0; k < nmodels; k++)
        if (!strcmp(models[k].name, name)) {
          fprintf(stderr, "kafu run: --nn-preload: model name '%s' given twice\n", name);
          goto usage;
        }
      if (!kafu_file_exists(colon + 1)) {
        fprintf(stderr, "kafu run: error: --nn-preload %s: %s: no such file\n", v, colon + 1);
        rc = 1;
        goto cleanup;
      }
      models[nmodels].name = name;
      models[nmodels].path = colon + 1;
      nmodels++;
    } else if (!r && (r = kafu_opt_value(argc, argv, &i, "--nn-max-model-bytes", NULL, &v, &oerr)) > 0) {
      char *end;
      unsigned long long n = strtoull(v, &end, 10);
      if (!*v || *end || n == 0) {
        fprintf(stderr, "kafu run: --nn-max-model-bytes '%s': expected a positive number of bytes\n", v);
        goto usage;
      }
      nnlim.max_model_bytes = n;
    } else if (!r && (r = kafu_opt_value(argc, argv, &i, "--cache-dir", NULL, &v, &oerr)) > 0) {
      cache_dir = v;
    } else if (r < 0) {
      fprintf(stderr, "kafu run: %s\n", oerr.msg);
      goto usage;
    } else {
      fprintf(stderr, "kafu run: unknown option '%s'\n", argv[i]);
      goto usage;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "kafu run: missing MODULE.wasm\n");
    goto usage;
  }
  const char *path = argv[i];
  int pargc = argc - i;
  char **pargv = argv + i;

  /* like wasmtime: a closed pipe gives the program EPIPE instead of killing kafu */
  signal(SIGPIPE, SIG_IGN);

  kafu_err err = {0};
  kafu_wasi_config wc = {0};
  wc.argc = pargc;
  wc.argv = pargv;
  wc.envc = nenv;
  wc.envp = envs;
  wc.preopens = pre;
  wc.npreopens = npre;
  wc.listen_fds = lfds;
  wc.nlisten_fds = nl;
  kafu_wasi *wasi = NULL;
  kafu_module *mod = NULL;
  kafu_instance *inst = NULL;
  if (kafu_wasi_new(&wc, &wasi, &err) != 0) {
    fprintf(stderr, "kafu run: error: %s\n", err.msg);
    goto out;
  }
  kafu_engine_opts eo = {.cache_dir = cache_dir, .name = NULL, .progress = -1};
  if (kafu_module_load_file(path, &eo, &mod, &err) != 0) {
    fprintf(stderr, "kafu run: error: %s\n", err.msg);
    goto out;
  }
  kafu_nn_host_opts nno = {.node = NULL, .models = models, .nmodels = nmodels, .limits = &nnlim};
  if (kafu_nn_host_new(&nno, &nn, &err) != 0) {
    fprintf(stderr, "kafu run: error: %s\n", err.msg);
    goto out;
  }
  kafu_host_binding bind[] = {{"wasi_ephemeral_nn", nn}};
  kafu_host host = {.wasi = wasi, .migration_point = NULL, .ctx = NULL, .bindings = bind, .nbindings = 1};
  kafu_outcome oc;
  int r = kafu_instance_new(mod, &host, &inst, &err);
  if (r == 0)
    r = kafu_instance_run_start(inst, &oc, &err);
  else
    oc.status = r, oc.trap = KAFU_TRAP_NONE, oc.backtrace[0] = 0;
  if (r == 0) {
    rc = 0;
  } else if (r == KAFU_EEXIT) {
    rc = (int)(oc.exit_code & 0xff);
    if (oc.exit_code > 255)
      kafu_warn("the program exited with code %u, which the OS truncates to %d", oc.exit_code, rc);
  } else if (r == KAFU_ETRAP) {
    fprintf(stderr, "kafu run: error: %s: %s\n", kafu_path_basename(path), err.msg);
    if (oc.backtrace[0] && strcmp(oc.backtrace, oc.function) != 0)
      fprintf(stderr, "  wasm backtrace: %s\n", oc.backtrace);
    rc = KAFU_EXIT_TRAP;
  } else {
    fprintf(stderr, "kafu run: error: %s\n", err.msg);
    rc = 1;
  }
out:
  kafu_instance_free(inst);
  kafu_module_free(mod);
  kafu_nn_host_free(nn);
  if (wasi) kafu_wasi_free(wasi);
  for (int k = 0; k < nowned; k++) free(owned[k]);
  for (int k = 0; k < nl; k++) close(lfds[k]); /* the WASI host dup'ed them */
  free(owned);
  free(envs);
  return rc;
fail_listen:
  rc = 1;
  goto cleanup;
usage:
  fprintf(stderr, "Run `kafu run --help` for usage.\n");
  rc = KAFU_EXIT_USAGE;
cleanup:
  for (int k = 0; k < nowned; k++) free(owned[k]);
  for (int k = 0; k < nl; k++) close(lfds[k]);
  free(owned);
  free(envs);
  return rc;
}

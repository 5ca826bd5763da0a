/*
 * launch.c — `kafu launch`: every node of a loopback config as a child
 * `kafu serve` process of the same executable.
 *
 * Output. With prefixes, each child's stdout and stderr are pipes; the parent
 * cuts them into lines and writes "[node] line" to its own stdout/stderr,
 * complete lines only, so output of two nodes never mixes within a line. With
 * --no-prefix the children simply inherit the parent's stdout/stderr: the
 * program's output then appears byte for byte and in exactly the order it was
 * written, whichever node wrote it (only one node runs at a time, and
 * buffered guest stdio travels with the snapshot). In prefixed mode two lines
 * written by different nodes within the same poll round may appear swapped.
 *
 * Events. --events FILE is truncated once here; every child appends to it
 * with O_APPEND and one write(2) per event line, so the file is one JSON
 * Lines stream in time order (the appends are serialized by the kernel).
 *
 * Token. Unless the config names one, launch makes a random cluster token for
 * the run and hands it to every child through a pipe (`--token-file
 * /dev/fd/N`): it is never on a command line, in the environment or on disk,
 * and only these nodes can POST to each other.
 *
 * Lifetime. Signals SIGINT/SIGTERM are forwarded to the children (a second
 * one sends SIGKILL). Children die with the parent (PR_SET_PDEATHSIG). The
 * run ends when the node where it ended reports its exit code on a pipe
 * (kafu serve --report-fd), or when the coordinator exits by itself;
 * stragglers get SIGTERM after a grace period, SIGKILL later. A node killed
 * by a signal launch did not send (also the coordinator) does not end the
 * run: the program may go on elsewhere (failover, docs/migration.md). If a
 * follower exits with an error while the coordinator still runs and the
 * coordinator does not end by itself within a grace period (e.g. the
 * follower could not bind its port), the coordinator is stopped and launch
 * exits with KAFU_EXIT_CLUSTER naming the follower.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster_internal.h"

/* ---- line prefixer ------------------------------------------------------------------------ */

void kafu_line_prefixer_init(kafu_line_prefixer *p, const char *prefix, int fd) {
  memset(p, 0, sizeof *p);
  snprintf(p->prefix, sizeof p->prefix, "%s", prefix ? prefix : "");
  p->fd = fd;
}

static int emit(kafu_line_prefixer *p, kafu_buf *out, const uint8_t *line, size_t n, bool add_nl) {
  if (p->keep && !p->keep(p->keep_ctx, p->prefix, line, n && line[n - 1] == '\n' ? n - 1 : n)) return 0;
  if (kafu_buf_append(out, p->prefix, strlen(p->prefix)) || kafu_buf_append(out, line, n) ||
      (add_nl && kafu_buf_putc(out, '\n')))
    return KAFU_ENOMEM;
  return 0;
}

int kafu_line_prefixer_feed(kafu_line_prefixer *p, const void *data, size_t n) {
  if (kafu_buf_append(&p->pending, data, n)) return KAFU_ENOMEM;
  kafu_buf out = {0};
  size_t start = 0;
  int rc = 0;
  for (;;) {
    const uint8_t *s = p->pending.data + start;
    size_t left = p->pending.len - start;
    const uint8_t *nl = memchr(s, '\n', left);
    if (nl) {
      rc = emit(p, &out, s, (size_t)(nl - s) + 1, false);
      start += (size_t)(nl - s) + 1;
    } else if (left >= KAFU_LINE_MAX) {
      rc = emit(p, &out, s, KAFU_LINE_MAX, true);
      start += KAFU_LINE_MAX;
    } else {
      break;
    }
    if (rc) break;
  }
  memmove(p->pending.data, p->pending.data + start, p->pending.len - start);
  p->pending.len -= start;
  if (!rc && out.len) rc = kafu_write_all(p->fd, out.data, out.len);
  kafu_buf_free(&out);
  return rc;
}

int kafu_line_prefixer_flush(kafu_line_prefixer *p) {
  if (!p->pending.len) return 0;
  kafu_buf out = {0};
  int rc = emit(p, &out, p->pending.data, p->pending.len, true);
  if (!rc) rc = kafu_write_all(p->fd, out.data, out.len);
  kafu_buf_free(&out);
  p->pending.len = 0;
  return rc;
}

void kafu_line_prefixer_free(kafu_line_prefixer *p) { kafu_buf_free(&p->pending); }

/* ---- checks ------------------------------------------------------------------------------- */

int kafu_launch_check(const kafu_config *cfg, kafu_err *err) {
  for (size_t i = 0; i < cfg->nnodes; i++) {
    const kafu_config_node *nd = &cfg->nodes[i];
    if (!kafu_addr_is_loopback(nd->address))
      return kafu_err_set(
          err, KAFU_EINVAL,
          "%s:%d: node '%s' has address '%s', but `kafu launch` runs every node on this machine, so "
          "every address must be local (127.0.0.1, localhost or ::1); run `kafu serve --node-id %s "
          "%s` on that machine instead",
          cfg->config_path, nd->line, nd->id, nd->address, nd->id, cfg->config_path);
    for (size_t j = 0; j < i; j++)
      if (cfg->nodes[j].port == nd->port)
        return kafu_err_set(err, KAFU_EINVAL, "%s:%d: nodes '%s' and '%s' both use port %u on this machine",
                            cfg->config_path, nd->line, cfg->nodes[j].id, nd->id, nd->port);
  }
  struct stat st;
  if (cfg->app.preopened_dir && (stat(cfg->app.preopened_dir, &st) || !S_ISDIR(st.st_mode)))
    return kafu_err_set(err, KAFU_EINVAL, "%s: app.preopened_dir %s is not a directory on this machine",
                        cfg->config_path, cfg->app.preopened_dir);
  for (size_t i = 0; i < cfg->nnodes; i++) {
    const kafu_config_node *nd = &cfg->nodes[i];
    int fd = kafu_listen_socket(nd->address, nd->port, NULL, err);
    if (fd < 0) return kafu_err_prefix(err, "node %s", nd->id);
    close(fd);
  }
  /* the program's sockets (nodes.<id>.listen): on one machine, every port once */
  for (size_t i = 0; i < cfg->nnodes; i++)
    for (size_t k = 0; k < cfg->nodes[i].nlisten; k++) {
      const kafu_config_listen *l = &cfg->nodes[i].listen[k];
      for (size_t j = 0; j < cfg->nnodes; j++) {
        if (cfg->nodes[j].port == l->port)
          return kafu_err_set(err, KAFU_EINVAL,
                              "%s:%d: nodes.%s.listen[%zu] uses port %u, the port of node '%s', on this machine",
                              cfg->config_path, cfg->nodes[i].line, cfg->nodes[i].id, k, l->port, cfg->nodes[j].id);
        for (size_t m = 0; j < i && m < cfg->nodes[j].nlisten; m++)
          if (cfg->nodes[j].listen[m].port == l->port)
            return kafu_err_set(err, KAFU_EINVAL,
                                "%s:%d: nodes.%s.listen[%zu] and nodes.%s.listen[%zu] both use port %u on this "
                                "machine",
                                cfg->config_path, cfg->nodes[i].line, cfg->nodes[j].id, m, cfg->nodes[i].id, k,
                                l->port);
      }
      int fd = kafu_listen_socket(l->host, l->port, NULL, err);
      if (fd < 0) return kafu_err_prefix(err, "node %s: nodes.%s.listen[%zu]", cfg->nodes[i].id, cfg->nodes[i].id, k);
      close(fd);
    }
  return 0;
}

/* ---- running ------------------------------------------------------------------------------- */

/* One cause, one line: when several nodes fail at start for the same reason
 * (a compiler missing on this machine, a module that does not compile), each
 * says so as its final "kafu serve: error: ..." line, with its own node name.
 * Launch shows the first and drops the others that say the same thing. */
typedef struct seen_errors {
  const kafu_config *cfg;
  kafu_buf seen; /* normalized messages, each NUL-terminated */
} seen_errors;

#define SERVE_ERROR "kafu serve: error: "

static bool keep_line(void *ctx, const char *prefix, const uint8_t *line, size_t n) {
  (void)prefix;
  seen_errors *se = ctx;
  size_t el = strlen(SERVE_ERROR);
  if (n < el || memcmp(line, SERVE_ERROR, el)) return true;
  /* the message with every node's name replaced by "*" */
  kafu_buf norm = {0};
  for (size_t i = el; i < n;) {
    bool hit = false;
    for (size_t k = 0; k < se->cfg->nnodes && !hit; k++) {
      char pat[80];
      int pl = snprintf(pat, sizeof pat, "node %s", se->cfg->nodes[k].id);
      if (pl > 0 && (size_t)pl <= n - i && !memcmp(line + i, pat, (size_t)pl) &&
          (i + (size_t)pl == n || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
                                          line[i + (size_t)pl]))) {
        kafu_buf_printf(&norm, "node *");
        i += (size_t)pl;
        hit = true;
      }
    }
    if (!hit) kafu_buf_putc(&norm, (char)line[i++]);
  }
  kafu_buf_putc(&norm, 0);
  bool dup = false;
  for (size_t off = 0; off < se->seen.len && !dup; off += strlen((char *)se->seen.data + off) + 1)
    dup = !strcmp((char *)se->seen.data + off, (char *)norm.data);
  if (!dup) kafu_buf_append(&se->seen, norm.data, norm.len);
  kafu_buf_free(&norm);
  return !dup;
}

typedef struct child {
  const char *id;
  pid_t pid;
  bool exited;
  int status; /* exit code, or 128 + signal */
  int fds[2]; /* read ends of stdout/stderr pipes, -1 when closed/unused */
  kafu_line_prefixer pre[2];
} child;

static int g_sig_pipe[2] = {-1, -1};

static void on_signal(int sig) {
  int saved = errno;
  unsigned char c = (unsigned char)sig;
  if (write(g_sig_pipe[1], &c, 1) < 0) { /* full pipe: a wake-up is pending anyway */
  }
  errno = saved;
}

static int exe_path(const kafu_launch_opts *o, char *out, size_t cap, kafu_err *err) {
  if (o->exe) {
    snprintf(out, cap, "%s", o->exe);
    return 0;
  }
  ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n <= 0)
    return kafu_err_set(err, KAFU_EIO, "cannot find the kafu executable (/proc/self/exe): %s",
                        strerror(errno));
  out[n] = 0;
  return 0;
}

static void close_pipes(int p[2][2]) {
  for (int k = 0; k < 2; k++)
    for (int j = 0; j < 2; j++)
      if (p[k][j] >= 0) close(p[k][j]);
}

static int spawn(const kafu_launch_opts *o, const char *exe, size_t idx, child *c, int out_fd, int err_fd,
                 const char *token, int report_fd, kafu_err *err) {
  int p[2][2] = {{-1, -1}, {-1, -1}};
  if (!o->no_prefix)
    for (int k = 0; k < 2; k++)
      if (pipe2(p[k], O_CLOEXEC)) {
        int e = errno;
        close_pipes(p);
        return kafu_err_set(err, KAFU_EIO, "node %s: pipe: %s", c->id, strerror(e));
      }
  /* the token: a pipe holding it, whose read end (only) the child inherits */
  int tp[2] = {-1, -1};
  char token_arg[32] = "";
  if (token) {
    size_t tl = strlen(token);
    if (pipe2(tp, O_CLOEXEC) || write(tp[1], token, tl) != (ssize_t)tl || fcntl(tp[0], F_SETFD, 0)) {
      int e = errno;
      close_pipes(p);
      if (tp[0] >= 0) close(tp[0]), close(tp[1]);
      return kafu_err_set(err, KAFU_EIO, "node %s: handing over the cluster token: %s", c->id, strerror(e));
    }
    close(tp[1]);
    snprintf(token_arg, sizeof token_arg, "/dev/fd/%d", tp[0]);
  }
  char port_base[16];
  snprintf(port_base, sizeof port_base, "%u", o->port_base);
  char **argv = calloc(24 + 2 * o->n_env, sizeof *argv);
  if (!argv) {
    close_pipes(p);
    if (tp[0] >= 0) close(tp[0]);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  int a = 0;
  argv[a++] = (char *)exe;
  argv[a++] = "serve";
  argv[a++] = "--node-id";
  argv[a++] = (char *)c->id;
  if (o->events_path) {
    argv[a++] = "--events";
    argv[a++] = (char *)o->events_path;
  }
  if (token) {
    argv[a++] = "--token-file";
    argv[a++] = token_arg;
  }
  if (o->restore_path && idx == 0) {
    argv[a++] = "--restore";
    argv[a++] = (char *)o->restore_path;
  }
  char report_arg[16];
  if (report_fd > 2) {
    snprintf(report_arg, sizeof report_arg, "%d", report_fd);
    argv[a++] = "--report-fd";
    argv[a++] = report_arg;
  }
  for (size_t k = 0; k < o->n_env; k++) {
    argv[a++] = "--env";
    argv[a++] = o->env[k];
  }
  if (o->port_base) {
    argv[a++] = "--port-base";
    argv[a++] = port_base;
  }
  if (o->quiet) argv[a++] = "-q";
  argv[a++] = "--"; /* a config file named "-x.yaml" is still a file */
  argv[a++] = (char *)o->config_path;
  argv[a] = NULL;
  /* only the coordinator gets the terminal's stdin; every node dies with us */
  kafu_proc_opts po = {.in = {.kind = idx > 0 ? KAFU_IO_NULL : KAFU_IO_INHERIT},
                       .out = {.kind = KAFU_IO_FD, .fd = o->no_prefix ? out_fd : p[0][1]},
                       .err = {.kind = KAFU_IO_FD, .fd = o->no_prefix ? err_fd : p[1][1]},
                       .die_with_parent = true};
  pid_t pid;
  int rc = kafu_proc_spawn(argv, &po, &pid, err);
  free(argv);
  if (tp[0] >= 0) close(tp[0]);
  if (rc) {
    close_pipes(p);
    return kafu_err_prefix(err, "node %s", c->id);
  }
  c->pid = pid;
  for (int k = 0; k < 2; k++) {
    c->fds[k] = p[k][0];
    if (p[k][1] >= 0) close(p[k][1]);
    if (c->fds[k] >= 0) fcntl(c->fds[k], F_SETFL, fcntl(c->fds[k], F_GETFL) | O_NONBLOCK);
  }
  return 0;
}

static void signal_children(child *cs, size_t n, int sig) {
  for (size_t i = 0; i < n; i++)
    if (cs[i].pid > 0 && !cs[i].exited) kill(cs[i].pid, sig);
}

static void drain(child *c, int k) {
  uint8_t buf[65536];
  for (;;) {
    ssize_t r = read(c->fds[k], buf, sizeof buf);
    if (r > 0) {
      kafu_line_prefixer_feed(&c->pre[k], buf, (size_t)r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    kafu_line_prefixer_flush(&c->pre[k]); /* EOF or error */
    close(c->fds[k]);
    c->fds[k] = -1;
    return;
  }
}

int kafu_launch_run(const kafu_launch_opts *o, kafu_err *err) {
  const kafu_config *cfg = o->cfg;
  char exe[4096];
  if (exe_path(o, exe, sizeof exe, err)) return err->code;
  int out_fd = o->out_fd > 0 ? o->out_fd : 1, err_fd = o->err_fd > 0 ? o->err_fd : 2;
  if (o->events_path) {
    int fd = open(o->events_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return kafu_err_set(err, KAFU_EIO, "--events %s: %s", o->events_path, strerror(errno));
    close(fd);
  }
  if (pipe2(g_sig_pipe, O_CLOEXEC | O_NONBLOCK))
    return kafu_err_set(err, KAFU_EIO, "pipe: %s", strerror(errno));
  /* the node that ends the run reports its exit code on this pipe: every
   * node inherits the write end (kafu serve --report-fd) */
  int rep[2] = {-1, -1};
  if (pipe2(rep, O_CLOEXEC | O_NONBLOCK) || fcntl(rep[1], F_SETFD, 0)) {
    if (rep[0] >= 0) close(rep[0]), close(rep[1]);
    rep[0] = rep[1] = -1;
  }
  struct sigaction sa = {0}, old_int, old_term, old_chld, old_pipe;
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGCHLD, &sa, &old_chld);
  struct sigaction ign = {0};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old_pipe);

  size_t n = cfg->nnodes;
  seen_errors seen = {.cfg = cfg};
  child *cs = calloc(n, sizeof *cs);
  struct pollfd *pf = calloc(2 + 2 * n, sizeof *pf);
  child **owner = calloc(2 + 2 * n, sizeof *owner);
  int *kind = calloc(2 + 2 * n, sizeof *kind);
  int rc = 0;
  if (!cs || !pf || !owner || !kind) {
    rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    child *c = &cs[i];
    c->id = cfg->nodes[i].id;
    c->fds[0] = c->fds[1] = -1;
    char prefix[80];
    snprintf(prefix, sizeof prefix, "[%s] ", c->id);
    kafu_line_prefixer_init(&c->pre[0], prefix, out_fd);
    kafu_line_prefixer_init(&c->pre[1], prefix, err_fd);
    c->pre[1].keep = keep_line;
    c->pre[1].keep_ctx = &seen;
  }
  /* a token for this run when the config has none */
  char token[KAFU_TOKEN_HEX_LEN + 1] = "";
  if (!cfg->token && kafu_random_token(token, err)) {
    rc = err->code;
    goto out;
  }
  /* followers first: they are listening by the time the coordinator looks for them */
  for (size_t k = 0; k < n; k++) {
    size_t i = (k + 1) % n;
    if (spawn(o, exe, i, &cs[i], out_fd, err_fd, token[0] ? token : NULL, rep[1], err)) {
      signal_children(cs, n, SIGTERM);
      rc = err->code;
      break;
    }
  }

  if (rep[1] >= 0) close(rep[1]);
  int sigs = 0;
  bool coord_done = rc != 0;
  bool reported = false;
  int run_code = 0;
  kafu_buf rep_buf = {0};
  uint64_t straggler_term = 0, straggler_kill = 0, coord_stop_at = 0;
  char failed_node[128] = "";
  int failed_status = 0;
  bool stopped_coord = false;
  for (;;) {
    /* reap */
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
      for (size_t i = 0; i < n; i++) {
        if (cs[i].pid != pid) continue;
        cs[i].exited = true;
        cs[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        bool killed = WIFSIGNALED(st) && !sigs; /* by someone else: the run may go on elsewhere */
        if (i == 0 && killed && !reported) {
          kafu_warn(
              "kafu launch: the coordinator %s was killed (signal %d); the run goes on if the program is "
              "elsewhere",
              cs[i].id, WTERMSIG(st));
        } else if (i == 0) {
          if (!coord_done) {
            uint64_t now = kafu_now_ns();
            straggler_term = now + 2000ull * 1000000ull;
            straggler_kill = now + 5000ull * 1000000ull;
          }
          coord_done = true;
        } else if (!coord_done && !killed && cs[i].status != 0 && !failed_node[0] && !sigs) {
          snprintf(failed_node, sizeof failed_node, "%s", cs[i].id);
          failed_status = cs[i].status;
          uint64_t grace = 2000 + 4ull * cfg->heartbeat.interval_ms;
          coord_stop_at = kafu_now_ns() + grace * 1000000ull;
        }
      }
    }
    bool all_exited = true, any_fd = false;
    for (size_t i = 0; i < n; i++) {
      all_exited &= cs[i].exited || cs[i].pid <= 0;
      any_fd |= cs[i].fds[0] >= 0 || cs[i].fds[1] >= 0;
    }
    if (all_exited && !any_fd) break;
    uint64_t now = kafu_now_ns();
    if (coord_done && straggler_term && now >= straggler_term) {
      signal_children(cs, n, SIGTERM);
      straggler_term = 0;
    }
    if (coord_done && straggler_kill && now >= straggler_kill) {
      signal_children(cs, n, SIGKILL);
      straggler_kill = 0;
    }
    if (!coord_done && coord_stop_at && now >= coord_stop_at) {
      signal_children(cs, n, SIGTERM);
      stopped_coord = true;
      coord_stop_at = 0;
    }

    nfds_t np = 0;
    pf[np++] = (struct pollfd){.fd = g_sig_pipe[0], .events = POLLIN};
    nfds_t rep_slot = 0;
    if (rep[0] >= 0) {
      rep_slot = np;
      owner[np] = NULL;
      pf[np++] = (struct pollfd){.fd = rep[0], .events = POLLIN};
    }
    for (size_t i = 0; i < n; i++)
      for (int k = 0; k < 2; k++)
        if (cs[i].fds[k] >= 0) {
          owner[np] = &cs[i];
          kind[np] = k;
          pf[np++] = (struct pollfd){.fd = cs[i].fds[k], .events = POLLIN};
        }
    int pr = poll(pf, np, 100);
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    for (nfds_t j = 1; j < np; j++)
      if (pf[j].revents && (!rep_slot || j != rep_slot)) drain(owner[j], kind[j]);
    if (rep_slot && pf[rep_slot].revents) {
      char rb[256];
      ssize_t r = read(rep[0], rb, sizeof rb);
      if (r > 0) kafu_buf_append(&rep_buf, rb, (size_t)r);
      if (r == 0) { /* every writer is gone */
        close(rep[0]);
        rep[0] = -1;
      }
      char *nl;
      while (rep_buf.len && (nl = memchr(rep_buf.data, '\n', rep_buf.len))) {
        int code;
        if (!reported && sscanf((char *)rep_buf.data, "exit %d", &code) == 1) {
          reported = true;
          run_code = code;
          if (!coord_done) { /* the run is over: the others get their grace period */
            uint64_t now = kafu_now_ns();
            straggler_term = now + 2000ull * 1000000ull;
            straggler_kill = now + 5000ull * 1000000ull;
            coord_done = true;
          }
        }
        size_t used = (size_t)(nl - (char *)rep_buf.data) + 1;
        memmove(rep_buf.data, rep_buf.data + used, rep_buf.len - used);
        rep_buf.len -= used;
      }
    }
    if (pf[0].revents) {
      unsigned char sb[64];
      ssize_t r = read(g_sig_pipe[0], sb, sizeof sb);
      for (ssize_t j = 0; j < r; j++) {
        if (sb[j] != SIGINT && sb[j] != SIGTERM) continue;
        sigs++;
        signal_children(cs, n, sigs > 1 ? SIGKILL : sb[j]);
      }
    }
  }
  if (rc == 0) {
    if (stopped_coord) {
      rc = KAFU_EXIT_CLUSTER;
      kafu_err_set(err, KAFU_EIO, "node %s exited with %s %d before the program ended; stopped the cluster",
                   failed_node, failed_status > 128 ? "signal" : "code",
                   failed_status > 128 ? failed_status - 128 : failed_status);
    } else {
      rc = reported ? run_code : cs[0].status;
    }
  }
  kafu_buf_free(&rep_buf);
  if (rep[0] >= 0) close(rep[0]);
out:
  for (size_t i = 0; cs && i < n; i++) {
    for (int k = 0; k < 2; k++) {
      if (cs[i].fds[k] >= 0) close(cs[i].fds[k]);
      kafu_line_prefixer_free(&cs[i].pre[k]);
    }
  }
  free(cs);
  free(pf);
  free(owner);
  free(kind);
  kafu_buf_free(&seen.seen);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGCHLD, &old_chld, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  close(g_sig_pipe[0]);
  close(g_sig_pipe[1]);
  g_sig_pipe[0] = g_sig_pipe[1] = -1;
  return rc;
}

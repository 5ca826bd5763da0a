/*
 * proc.c — child processes: the one place Kafu forks (clang, wasm-ld, wasm2c,
 * the C compiler, addr2line, `kafu serve` nodes, and Snapify's isolated
 * Binaryen runs, which fork without exec).
 *
 * fork + execv rather than posix_spawn because a node child must die with its
 * launcher (PR_SET_PDEATHSIG), which posix_spawn cannot arrange. Everything the
 * child needs (resolved path, opened files, pipes) is prepared in the parent;
 * between fork and exec the child only calls async-signal-safe functions, so
 * this is safe from a multi-threaded process (a node's engine thread compiling
 * a module). An exec failure travels back over a close-on-exec pipe, so the
 * caller gets "cannot run X: <errno>" instead of a child exiting with 127.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kafu/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The parent-side descriptor for one child stream; -1 = leave as is. */
static int open_stream(const kafu_io *io, int target, int capture_w, kafu_err *err) {
  switch (io->kind) {
    case KAFU_IO_INHERIT:
    case KAFU_IO_STDOUT:
      return -1;
    case KAFU_IO_NULL: {
      int fd = open("/dev/null", (target == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
      if (fd < 0) return kafu_err_set(err, KAFU_EIO, "/dev/null: %s", strerror(errno)), -2;
      return fd;
    }
    case KAFU_IO_FD:
      if (io->fd < 0) return kafu_err_set(err, KAFU_EINVAL, "child stream %d: bad descriptor %d", target, io->fd), -2;
      return io->fd;
    case KAFU_IO_FILE: {
      if (!io->path) return kafu_err_set(err, KAFU_EINVAL, "child stream %d: no file name", target), -2;
      int fd = target == 0 ? open(io->path, O_RDONLY | O_CLOEXEC)
                           : open(io->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return kafu_err_set(err, KAFU_EIO, "%s: %s", io->path, strerror(errno)), -2;
      return fd;
    }
    case KAFU_IO_CAPTURE:
      if (target == 0 || capture_w < 0)
        return kafu_err_set(err, KAFU_EINVAL, "child stream %d: capture is for stdout/stderr of kafu_proc_run",
                            target),
               -2;
      return capture_w;
  }
  return kafu_err_set(err, KAFU_EINVAL, "child stream %d: unknown kind %d", target, (int)io->kind), -2;
}

static bool owned_by_us(const kafu_io *io) { return io->kind == KAFU_IO_NULL || io->kind == KAFU_IO_FILE; }

/* In the child: make fd the descriptor `target` (open across exec). */
static void child_dup(int fd, int target) {
  if (fd < 0) return;
  if (fd == target)
    fcntl(fd, F_SETFD, 0);
  else
    dup2(fd, target);
}

/* What the child runs after its streams are set up: a program (argv, path
 * resolved by the parent) or a function. */
typedef struct child_job {
  char *const *argv;
  const char *path;
  int (*fn)(void *ctx);
  void *ctx;
  const char *what; /* for messages: argv[0] or "a child process" */
} child_job;

static int start(const child_job *job, const kafu_proc_opts *o, int capture_w, pid_t *pid, kafu_err *err) {
  static const kafu_proc_opts inherit;
  if (!o) o = &inherit;
  int fds[3] = {-1, -1, -1}, rc = 0;
  const kafu_io *ios[3] = {&o->in, &o->out, &o->err};
  for (int k = 0; k < 3 && !rc; k++) {
    fds[k] = open_stream(ios[k], k, capture_w, err);
    if (fds[k] == -2) rc = err ? err->code : KAFU_EINVAL;
  }
  if (o->in.kind == KAFU_IO_STDOUT || o->out.kind == KAFU_IO_STDOUT)
    rc = rc ? rc : kafu_err_set(err, KAFU_EINVAL, "KAFU_IO_STDOUT is for stderr only");
  int ep[2] = {-1, -1}; /* exec-error pipe */
  if (!rc && job->path && pipe2(ep, O_CLOEXEC) != 0) rc = kafu_err_set(err, KAFU_EIO, "pipe: %s", strerror(errno));
  pid_t parent = getpid(), p = -1;
  if (!rc) {
    fflush(NULL); /* nothing buffered may be written twice */
    p = fork();
    if (p < 0) rc = kafu_err_set(err, KAFU_EIO, "cannot run %s: fork: %s", job->what, strerror(errno));
  }
  if (p == 0) {
    /* child: async-signal-safe calls only until exec */
    if (o->die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(127);
    }
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    static const int sigs[] = {SIGINT, SIGTERM, SIGPIPE, SIGCHLD};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaction(sigs[k], &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    child_dup(fds[0], 0);
    child_dup(fds[1], 1);
    if (o->err.kind == KAFU_IO_STDOUT)
      dup2(1, 2);
    else
      child_dup(fds[2], 2);
    if (job->fn) {
      int code = job->fn(job->ctx);
      fflush(stdout);
      fflush(stderr);
      _exit(code & 0xff);
    }
    execv(job->path, job->argv);
    int e = errno;
    ssize_t w = write(ep[1], &e, sizeof e);
    (void)w;
    _exit(127);
  }
  for (int k = 0; k < 3; k++)
    if (fds[k] >= 0 && owned_by_us(ios[k])) close(fds[k]);
  if (rc) {
    if (ep[0] >= 0) close(ep[0]), close(ep[1]);
    return rc;
  }
  if (job->path) {
    close(ep[1]);
    int e = 0;
    ssize_t r;
    while ((r = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(ep[0]);
    if (r == (ssize_t)sizeof e) { /* exec failed: reap the child, report errno */
      while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
      }
      return kafu_err_set(err, e == ENOENT ? KAFU_ENOENT : KAFU_EIO, "cannot run %s: %s", job->what,
                          strerror(e));
    }
  }
  *pid = p;
  return 0;
}

static int spawn(char *const argv[], const kafu_proc_opts *o, int capture_w, pid_t *pid, kafu_err *err) {
  if (!argv || !argv[0] || !argv[0][0]) return kafu_err_set(err, KAFU_EINVAL, "no program to run");
  char *path = kafu_which(argv[0]);
  if (!path) {
    if (strchr(argv[0], '/'))
      return kafu_err_set(err, KAFU_ENOENT, "cannot run %s: %s", argv[0],
                          access(argv[0], F_OK) == 0 ? "not executable" : "no such file");
    return kafu_err_set(err, KAFU_ENOENT, "cannot run %s: not found in PATH", argv[0]);
  }
  child_job job = {.argv = argv, .path = path, .what = argv[0]};
  int rc = start(&job, o, capture_w, pid, err);
  free(path);
  return rc;
}

int kafu_proc_fork_run(int (*fn)(void *ctx), void *ctx, const kafu_proc_opts *o, kafu_err *err) {
  if (o && (o->out.kind == KAFU_IO_CAPTURE || o->err.kind == KAFU_IO_CAPTURE))
    return kafu_err_set(err, KAFU_EINVAL, "kafu_proc_fork_run: no capture (use KAFU_IO_FD)");
  child_job job = {.fn = fn, .ctx = ctx, .what = "a child process"};
  pid_t pid;
  int rc = start(&job, o, -1, &pid, err);
  if (rc < 0) return rc;
  int status = 0;
  rc = kafu_proc_wait(pid, false, &status, err);
  return rc < 0 ? rc : status;
}

const char *kafu_proc_status_text(int status, char *buf, size_t cap) {
  if (status > 128 && status < 128 + 65)
    snprintf(buf, cap, "was killed by signal %d (%s)", status - 128, strsignal(status - 128));
  else
    snprintf(buf, cap, "exited with status %d", status);
  return buf;
}

int kafu_proc_spawn(char *const argv[], const kafu_proc_opts *o, pid_t *pid, kafu_err *err) {
  return spawn(argv, o, -1, pid, err);
}

int kafu_proc_wait(pid_t pid, bool nohang, int *status, kafu_err *err) {
  int st;
  pid_t r;
  while ((r = waitpid(pid, &st, nohang ? WNOHANG : 0)) < 0 && errno == EINTR) {
  }
  if (r < 0) return kafu_err_set(err, KAFU_EIO, "waitpid %d: %s", (int)pid, strerror(errno));
  if (r == 0) return 1;
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
  return 0;
}

int kafu_proc_run(char *const argv[], const kafu_proc_opts *o, kafu_buf *capture, kafu_err *err) {
  bool cap = o && (o->out.kind == KAFU_IO_CAPTURE || o->err.kind == KAFU_IO_CAPTURE);
  if (cap && !capture) return kafu_err_set(err, KAFU_EINVAL, "kafu_proc_run: capture without a buffer");
  int cp[2] = {-1, -1};
  if (cap && pipe2(cp, O_CLOEXEC) != 0) return kafu_err_set(err, KAFU_EIO, "pipe: %s", strerror(errno));
  pid_t pid;
  int rc = spawn(argv, o, cp[1], &pid, err);
  if (cp[1] >= 0) close(cp[1]);
  if (rc < 0) {
    if (cp[0] >= 0) close(cp[0]);
    return rc;
  }
  if (cap) {
    char tmp[4096];
    ssize_t n;
    while ((n = read(cp[0], tmp, sizeof tmp)) != 0) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      kafu_buf_append(capture, tmp, (size_t)n);
    }
    close(cp[0]);
    kafu_buf_cstr(capture);
  }
  int status = 0;
  rc = kafu_proc_wait(pid, false, &status, err);
  return rc < 0 ? rc : status;
}

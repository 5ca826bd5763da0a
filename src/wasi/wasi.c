/*
 * wasi.c — the WASI preview1 context: creation (stdio, preopens, listening
 * sockets), args/environ, clocks, random, proc_exit/raise, sched_yield, the
 * import table, and helpers shared by the other files (errno mapping, guest
 * path copying, fd lookup with rights checks, filestat encoding).
 *
 * Design notes:
 *  - Engine-independent: memory is a (base, size) view passed on every call;
 *    all guest accesses go through kafu_mem_ok (overflow-safe bounds checks).
 *  - Rights follow WASI preview1: an fd's base rights gate the operations on
 *    it; path_open may only request rights within the directory's inheriting
 *    rights (ENOTCAPABLE otherwise); fd_fdstat_set_rights can only narrow.
 *  - The monotonic clock carries an offset so a migrated guest never sees it
 *    go backwards (kafu_wasi_monotonic_resume).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kafu/hostmod.h"
#include "wasi_internal.h"

/* ---- errno ---------------------------------------------------------------- */

uint32_t kafu_wasi_errno(int e) {
  switch (e) {
    case 0:
      return KAFU_WASI_ESUCCESS;
    case E2BIG:
      return KAFU_WASI_E2BIG;
    case EACCES:
      return KAFU_WASI_EACCES;
    case EADDRINUSE:
      return KAFU_WASI_EADDRINUSE;
    case EADDRNOTAVAIL:
      return KAFU_WASI_EADDRNOTAVAIL;
    case EAFNOSUPPORT:
      return KAFU_WASI_EAFNOSUPPORT;
    case EAGAIN:
      return KAFU_WASI_EAGAIN;
    case EALREADY:
      return KAFU_WASI_EALREADY;
    case EBADF:
      return KAFU_WASI_EBADF;
    case EBADMSG:
      return KAFU_WASI_EBADMSG;
    case EBUSY:
      return KAFU_WASI_EBUSY;
    case ECANCELED:
      return KAFU_WASI_ECANCELED;
    case ECHILD:
      return KAFU_WASI_ECHILD;
    case ECONNABORTED:
      return KAFU_WASI_ECONNABORTED;
    case ECONNREFUSED:
      return KAFU_WASI_ECONNREFUSED;
    case ECONNRESET:
      return KAFU_WASI_ECONNRESET;
    case EDEADLK:
      return KAFU_WASI_EDEADLK;
    case EDESTADDRREQ:
      return KAFU_WASI_EDESTADDRREQ;
    case EDOM:
      return KAFU_WASI_EDOM;
    case EDQUOT:
      return KAFU_WASI_EDQUOT;
    case EEXIST:
      return KAFU_WASI_EEXIST;
    case EFAULT:
      return KAFU_WASI_EFAULT;
    case EFBIG:
      return KAFU_WASI_EFBIG;
    case EHOSTUNREACH:
      return KAFU_WASI_EHOSTUNREACH;
    case EIDRM:
      return KAFU_WASI_EIDRM;
    case EILSEQ:
      return KAFU_WASI_EILSEQ;
    case EINPROGRESS:
      return KAFU_WASI_EINPROGRESS;
    case EINTR:
      return KAFU_WASI_EINTR;
    case EINVAL:
      return KAFU_WASI_EINVAL;
    case EIO:
      return KAFU_WASI_EIO;
    case EISCONN:
      return KAFU_WASI_EISCONN;
    case EISDIR:
      return KAFU_WASI_EISDIR;
    case ELOOP:
      return KAFU_WASI_ELOOP;
    case EMFILE:
      return KAFU_WASI_EMFILE;
    case EMLINK:
      return KAFU_WASI_EMLINK;
    case EMSGSIZE:
      return KAFU_WASI_EMSGSIZE;
    case EMULTIHOP:
      return KAFU_WASI_EMULTIHOP;
    case ENAMETOOLONG:
      return KAFU_WASI_ENAMETOOLONG;
    case ENETDOWN:
      return KAFU_WASI_ENETDOWN;
    case ENETRESET:
      return KAFU_WASI_ENETRESET;
    case ENETUNREACH:
      return KAFU_WASI_ENETUNREACH;
    case ENFILE:
      return KAFU_WASI_ENFILE;
    case ENOBUFS:
      return KAFU_WASI_ENOBUFS;
    case ENODEV:
      return KAFU_WASI_ENODEV;
    case ENOENT:
      return KAFU_WASI_ENOENT;
    case ENOEXEC:
      return KAFU_WASI_ENOEXEC;
    case ENOLCK:
      return KAFU_WASI_ENOLCK;
    case ENOLINK:
      return KAFU_WASI_ENOLINK;
    case ENOMEM:
      return KAFU_WASI_ENOMEM;
    case ENOMSG:
      return KAFU_WASI_ENOMSG;
    case ENOPROTOOPT:
      return KAFU_WASI_ENOPROTOOPT;
    case ENOSPC:
      return KAFU_WASI_ENOSPC;
    case ENOSYS:
      return KAFU_WASI_ENOSYS;
    case ENOTCONN:
      return KAFU_WASI_ENOTCONN;
    case ENOTDIR:
      return KAFU_WASI_ENOTDIR;
    case ENOTEMPTY:
      return KAFU_WASI_ENOTEMPTY;
    case ENOTRECOVERABLE:
      return KAFU_WASI_ENOTRECOVERABLE;
    case ENOTSOCK:
      return KAFU_WASI_ENOTSOCK;
    case ENOTSUP:
      return KAFU_WASI_ENOTSUP; /* == EOPNOTSUPP on Linux */
    case ENOTTY:
      return KAFU_WASI_ENOTTY;
    case ENXIO:
      return KAFU_WASI_ENXIO;
    case EOVERFLOW:
      return KAFU_WASI_EOVERFLOW;
    case EOWNERDEAD:
      return KAFU_WASI_EOWNERDEAD;
    case EPERM:
      return KAFU_WASI_EPERM;
    case EPIPE:
      return KAFU_WASI_EPIPE;
    case EPROTO:
      return KAFU_WASI_EPROTO;
    case EPROTONOSUPPORT:
      return KAFU_WASI_EPROTONOSUPPORT;
    case EPROTOTYPE:
      return KAFU_WASI_EPROTOTYPE;
    case ERANGE:
      return KAFU_WASI_ERANGE;
    case EROFS:
      return KAFU_WASI_EROFS;
    case ESPIPE:
      return KAFU_WASI_ESPIPE;
    case ESRCH:
      return KAFU_WASI_ESRCH;
    case ESTALE:
      return KAFU_WASI_ESTALE;
    case ETIMEDOUT:
      return KAFU_WASI_ETIMEDOUT;
    case ETXTBSY:
      return KAFU_WASI_ETXTBSY;
    case EXDEV:
      return KAFU_WASI_EXDEV;
    default:
      return KAFU_WASI_EIO;
  }
}

/* ---- small helpers -------------------------------------------------------- */

uint32_t kafu_put32(const kafu_mem *m, uint32_t ptr, uint32_t v) {
  if (!kafu_mem_ok(m, ptr, 4)) return KAFU_WASI_EFAULT;
  kafu_st32(m->base + ptr, v);
  return 0;
}

uint32_t kafu_put64(const kafu_mem *m, uint32_t ptr, uint64_t v) {
  if (!kafu_mem_ok(m, ptr, 8)) return KAFU_WASI_EFAULT;
  kafu_st64(m->base + ptr, v);
  return 0;
}

uint32_t kafu_wasi_fd_lookup_any(kafu_wasi *w, uint32_t fd, uint64_t rights, kafu_fdt_entry **out) {
  kafu_fdt_entry *e = kafu_fdtable_get(&w->fds, fd);
  *out = e;
  if (!e) return KAFU_WASI_EBADF;
  if ((e->rights_base & rights) != rights) return KAFU_WASI_ENOTCAPABLE;
  return 0;
}

uint32_t kafu_wasi_fd_lookup(kafu_wasi *w, uint32_t fd, uint64_t rights, kafu_fdt_entry **out) {
  uint32_t rc = kafu_wasi_fd_lookup_any(w, fd, rights, out);
  if (rc) return rc;
  if ((*out)->remote || (*out)->broken) return (*out)->broken ? KAFU_WASI_EIO : KAFU_WASI_ENOTSUP;
  return 0;
}

uint8_t kafu_wasi_filetype_of(int host_fd, mode_t mode) {
  if (S_ISREG(mode)) return KAFU_WASI_FILETYPE_REGULAR_FILE;
  if (S_ISDIR(mode)) return KAFU_WASI_FILETYPE_DIRECTORY;
  if (S_ISCHR(mode)) return KAFU_WASI_FILETYPE_CHARACTER_DEVICE;
  if (S_ISBLK(mode)) return KAFU_WASI_FILETYPE_BLOCK_DEVICE;
  if (S_ISLNK(mode)) return KAFU_WASI_FILETYPE_SYMBOLIC_LINK;
  if (S_ISSOCK(mode)) {
    int type = 0;
    socklen_t len = sizeof type;
    if (host_fd >= 0 && getsockopt(host_fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM)
      return KAFU_WASI_FILETYPE_SOCKET_DGRAM;
    return KAFU_WASI_FILETYPE_SOCKET_STREAM;
  }
  return KAFU_WASI_FILETYPE_UNKNOWN; /* FIFO: WASI has no pipe type */
}

uint64_t kafu_wasi_rights_for(uint8_t filetype, bool is_tty) {
  switch (filetype) {
    case KAFU_WASI_FILETYPE_DIRECTORY:
      return KAFU_RIGHTS_DIR;
    case KAFU_WASI_FILETYPE_REGULAR_FILE:
    case KAFU_WASI_FILETYPE_BLOCK_DEVICE:
      return KAFU_RIGHTS_FILE;
    case KAFU_WASI_FILETYPE_CHARACTER_DEVICE:
      return is_tty ? KAFU_RIGHTS_STREAM : KAFU_RIGHTS_FILE;
    case KAFU_WASI_FILETYPE_SOCKET_STREAM:
    case KAFU_WASI_FILETYPE_SOCKET_DGRAM:
      return KAFU_RIGHTS_SOCKET;
    default:
      return KAFU_RIGHTS_STREAM;
  }
}

static uint64_t ts_ns(struct timespec t) { return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec; }

void kafu_wasi_store_filestat(uint8_t *o, const struct stat *st, uint8_t filetype) {
  memset(o, 0, 64);
  kafu_st64(o + 0, (uint64_t)st->st_dev);
  kafu_st64(o + 8, (uint64_t)st->st_ino);
  o[16] = filetype;
  kafu_st64(o + 24, (uint64_t)st->st_nlink);
  kafu_st64(o + 32, (uint64_t)st->st_size);
  kafu_st64(o + 40, ts_ns(st->st_atim));
  kafu_st64(o + 48, ts_ns(st->st_mtim));
  kafu_st64(o + 56, ts_ns(st->st_ctim));
}

uint32_t kafu_wasi_guest_path(const kafu_mem *m, uint32_t ptr, uint32_t len, char **out) {
  *out = NULL;
  if (!kafu_mem_ok(m, ptr, len)) return KAFU_WASI_EFAULT;
  if (len >= PATH_MAX) return KAFU_WASI_ENAMETOOLONG;
  const uint8_t *p = m->base + ptr;
  if (memchr(p, 0, len)) return KAFU_WASI_EINVAL;
  if (len == 0) return KAFU_WASI_ENOENT;
  if (p[0] == '/') return KAFU_WASI_ENOTCAPABLE;
  char *s = malloc((size_t)len + 1);
  if (!s) return KAFU_WASI_ENOMEM;
  memcpy(s, p, len);
  s[len] = 0;
  *out = s;
  return 0;
}

/* ---- context -------------------------------------------------------------- */

static char **dup_strv(int n, char **v, uint32_t *bytes) {
  char **r = calloc((size_t)n + 1, sizeof *r);
  if (!r) return NULL;
  uint64_t total = 0;
  for (int i = 0; i < n; i++) {
    r[i] = strdup(v[i] ? v[i] : "");
    if (!r[i]) {
      for (int j = 0; j < i; j++) free(r[j]);
      free(r);
      return NULL;
    }
    total += strlen(r[i]) + 1;
  }
  *bytes = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
  return r;
}

static void free_strv(char **v, uint32_t n) {
  if (!v) return;
  for (uint32_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static uint32_t add_stdio(kafu_wasi *w, uint32_t index, int host) {
  if (host < 0) return 0;
  int h = fcntl(host, F_DUPFD_CLOEXEC, 0);
  if (h < 0) return kafu_wasi_errno(errno);
  struct stat sb;
  uint8_t ft = fstat(h, &sb) == 0 ? kafu_wasi_filetype_of(h, sb.st_mode) : KAFU_WASI_FILETYPE_UNKNOWN;
  kafu_fdt_entry *e = kafu_fdt_entry_new(h, KAFU_FD_STDIO, ft);
  if (!e) {
    close(h);
    return KAFU_WASI_ENOMEM;
  }
  e->index = index;
  e->rights_base = kafu_wasi_rights_for(ft, isatty(h));
  int fl = fcntl(h, F_GETFL);
  if (fl >= 0) {
    if (fl & O_APPEND) e->fdflags |= KAFU_WASI_FDFLAG_APPEND;
    if (fl & O_NONBLOCK) e->fdflags |= KAFU_WASI_FDFLAG_NONBLOCK;
  }
  uint32_t rc = kafu_fdtable_insert_at(&w->fds, index, e);
  if (rc) kafu_fdt_entry_free(e);
  return rc;
}

int kafu_wasi_new(const kafu_wasi_config *cfg, kafu_wasi **out, kafu_err *err) {
  static const kafu_wasi_config zero;
  if (!cfg) cfg = &zero;
  *out = NULL;
  kafu_wasi *w = calloc(1, sizeof *w);
  if (!w) return kafu_err_set(err, KAFU_ENOMEM, "WASI: out of memory");
  kafu_fdtable_init(&w->fds);
  w->no_openat2 = kafu_tunables_get()->wasi_no_openat2;
  int rc = 0;
  if (cfg->log) w->log = *cfg->log;
  w->home = cfg->home;
  w->link = cfg->link;
  if (cfg->self && !(w->self = strdup(cfg->self))) goto oom;
  if (cfg->argc < 0 || cfg->envc < 0 || cfg->npreopens < 0 || cfg->nlisten_fds < 0 || cfg->nlistens < 0 ||
      (cfg->argc && !cfg->argv) || (cfg->envc && !cfg->envp) || (cfg->npreopens && !cfg->preopens) ||
      (cfg->nlisten_fds && !cfg->listen_fds) || (cfg->nlistens && (!cfg->listens || !cfg->home))) {
    rc = kafu_err_set(err, KAFU_EINVAL, "WASI: invalid configuration (negative count or missing array)");
    goto fail;
  }
  w->argv = dup_strv(cfg->argc, cfg->argv, &w->args_bytes);
  w->envp = dup_strv(cfg->envc, cfg->envp, &w->env_bytes);
  if (!w->argv || !w->envp) goto oom;
  w->argc = (uint32_t)cfg->argc;
  w->envc = (uint32_t)cfg->envc;
  for (uint32_t i = 0; i < w->envc; i++)
    if (!strchr(w->envp[i], '=')) {
      rc = kafu_err_set(err, KAFU_EINVAL, "WASI: environment entry '%s' is not of the form KEY=VALUE",
                        w->envp[i]);
      goto fail;
    }

  w->stdio_host[0] = cfg->stdin_fd;
  w->stdio_host[1] = cfg->stdout_fd == 0 ? 1 : cfg->stdout_fd;
  w->stdio_host[2] = cfg->stderr_fd == 0 ? 2 : cfg->stderr_fd;
  for (uint32_t i = 0; i < 3; i++) {
    uint32_t e = add_stdio(w, i, w->stdio_host[i]);
    if (e) {
      rc = kafu_err_set(err, KAFU_EIO, "WASI: stdio fd %u (host fd %d) is not usable", i, w->stdio_host[i]);
      goto fail;
    }
  }

  if (cfg->npreopens) {
    w->pre = calloc((size_t)cfg->npreopens, sizeof *w->pre);
    if (!w->pre) goto oom;
  }
  for (int i = 0; i < cfg->npreopens; i++) {
    const kafu_preopen *p = &cfg->preopens[i];
    if (!p->host_path || !p->host_path[0]) {
      rc = kafu_err_set(err, KAFU_EINVAL, "WASI: preopen #%d has no host directory", i);
      goto fail;
    }
    const char *guest = p->guest_path && p->guest_path[0] ? p->guest_path : p->host_path;
    kafu_wasi_preopen *pp = &w->pre[w->npre];
    pp->root_fd = -1;
    pp->host = strdup(p->host_path);
    pp->guest = strdup(guest);
    w->npre++;
    if (!pp->host || !pp->guest) goto oom;
    pp->root_fd = open(p->host_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (pp->root_fd < 0) {
      int e = errno;
      rc = kafu_err_set(err, e == ENOENT ? KAFU_ENOENT : KAFU_EIO, "preopen directory '%s' (guest '%s'): %s",
                        p->host_path, guest,
                        e == ENOENT    ? "no such directory"
                        : e == ENOTDIR ? "not a directory"
                                       : strerror(e));
      goto fail;
    }
    pp->real = realpath(p->host_path, NULL);
    int h = openat(pp->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (h < 0) {
      rc = kafu_err_set(err, KAFU_EIO, "preopen directory '%s' (guest '%s'): %s", p->host_path, guest,
                        strerror(errno));
      goto fail;
    }
    kafu_fdt_entry *e = kafu_fdt_entry_new(h, KAFU_FD_PREOPEN, KAFU_WASI_FILETYPE_DIRECTORY);
    if (!e) {
      close(h);
      goto oom;
    }
    e->preopen = i;
    e->path = strdup(".");
    e->rights_base = KAFU_RIGHTS_DIR;
    e->rights_inheriting = KAFU_RIGHTS_DIR | KAFU_RIGHTS_FILE;
    if (!e->path || kafu_fdtable_insert_at(&w->fds, (uint32_t)(3 + i), e)) {
      kafu_fdt_entry_free(e);
      goto oom;
    }
  }

  if (cfg->nlisten_fds) {
    w->listen = calloc((size_t)cfg->nlisten_fds, sizeof *w->listen);
    if (!w->listen) goto oom;
  }
  for (int i = 0; i < cfg->nlisten_fds; i++) {
    int h = fcntl(cfg->listen_fds[i], F_DUPFD_CLOEXEC, 0);
    struct stat sb;
    if (h < 0 || fstat(h, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
      if (h >= 0) close(h);
      rc = kafu_err_set(err, KAFU_EINVAL, "WASI: listening socket #%d (host fd %d) is not a socket", i,
                        cfg->listen_fds[i]);
      goto fail;
    }
    w->listen[w->nlisten++] = h;
    int h2 = fcntl(h, F_DUPFD_CLOEXEC, 0);
    if (h2 < 0) goto oom;
    kafu_fdt_entry *e = kafu_fdt_entry_new(h2, KAFU_FD_LISTEN, KAFU_WASI_FILETYPE_SOCKET_STREAM);
    if (!e) {
      close(h2);
      goto oom;
    }
    e->index = (uint32_t)i;
    e->rights_base = KAFU_RIGHTS_LISTEN;
    if (kafu_fdtable_insert_at(&w->fds, (uint32_t)(3 + cfg->npreopens + i), e)) {
      kafu_fdt_entry_free(e);
      goto oom;
    }
  }
  for (int i = 0; i < cfg->nlistens; i++) {
    const kafu_wasi_listen_spec *sp = &cfg->listens[i];
    uint32_t fd = (uint32_t)(3 + cfg->npreopens + cfg->nlisten_fds + i);
    int h = -1;
    bool local = kafu_home_serves(w->home, sp->home);
    if (local && (h = kafu_home_fd(w->home, sp->home, 0, KAFU_HOME_HANDLE_LISTEN(sp->index), NULL, NULL)) < 0) {
      rc = kafu_err_set(err, KAFU_EINVAL, "WASI: listening socket #%u of node %s (fd %u) is not open",
                        sp->index, sp->home, fd);
      goto fail;
    }
    kafu_fdt_entry *e = kafu_fdt_entry_new(h, KAFU_FD_LISTEN, KAFU_WASI_FILETYPE_SOCKET_STREAM);
    if (!e || !(e->home = strdup(sp->home))) {
      kafu_fdt_entry_free(e);
      goto oom;
    }
    e->borrowed = local;
    e->remote = !local;
    e->handle = KAFU_HOME_HANDLE_LISTEN(sp->index);
    e->index = sp->index;
    e->rights_base = KAFU_RIGHTS_LISTEN;
    if (kafu_fdtable_insert_at(&w->fds, fd, e)) {
      kafu_fdt_entry_free(e);
      goto oom;
    }
  }
  *out = w;
  return 0;
oom:
  rc = kafu_err_set(err, KAFU_ENOMEM, "WASI: out of memory");
fail:
  kafu_wasi_free(w);
  return rc;
}

void kafu_wasi_free(kafu_wasi *w) {
  if (!w) return;
  kafu_fdtable_free(&w->fds);
  free_strv(w->argv, w->argc);
  free_strv(w->envp, w->envc);
  for (int i = 0; i < w->npre; i++) {
    free(w->pre[i].host);
    free(w->pre[i].guest);
    free(w->pre[i].real);
    if (w->pre[i].root_fd >= 0) close(w->pre[i].root_fd);
  }
  free(w->pre);
  for (int i = 0; i < w->nlisten; i++) close(w->listen[i]);
  free(w->listen);
  free(w->self);
  free(w);
}

void kafu_wasi_set_exit_hook(kafu_wasi *w, void (*hook)(void *ctx, uint32_t code), void *ctx) {
  w->exit_hook = hook;
  w->exit_ctx = ctx;
}

bool kafu_wasi_exited(kafu_wasi *w, uint32_t *code) {
  if (code) *code = w->exit_code;
  return w->exited;
}

/* ---- args / environ ------------------------------------------------------- */

static uint32_t put_strv(const kafu_mem *m, char **v, uint32_t n, uint32_t bytes, uint32_t ptrs,
                         uint32_t buf) {
  if (!kafu_mem_ok(m, ptrs, (uint64_t)n * 4) || !kafu_mem_ok(m, buf, bytes)) return KAFU_WASI_EFAULT;
  uint32_t off = 0;
  for (uint32_t i = 0; i < n; i++) {
    size_t l = strlen(v[i]) + 1;
    kafu_st32(m->base + ptrs + 4ull * i, buf + off);
    memcpy(m->base + buf + off, v[i], l);
    off += (uint32_t)l;
  }
  return 0;
}

uint32_t kafu_wasi_args_get(kafu_wasi *w, const kafu_mem *m, uint32_t argv, uint32_t argv_buf) {
  return put_strv(m, w->argv, w->argc, w->args_bytes, argv, argv_buf);
}

uint32_t kafu_wasi_args_sizes_get(kafu_wasi *w, const kafu_mem *m, uint32_t argc_out, uint32_t bufsize_out) {
  if (!kafu_mem_ok(m, argc_out, 4) || !kafu_mem_ok(m, bufsize_out, 4)) return KAFU_WASI_EFAULT;
  kafu_st32(m->base + argc_out, w->argc);
  kafu_st32(m->base + bufsize_out, w->args_bytes);
  return 0;
}

uint32_t kafu_wasi_environ_get(kafu_wasi *w, const kafu_mem *m, uint32_t environ, uint32_t environ_buf) {
  return put_strv(m, w->envp, w->envc, w->env_bytes, environ, environ_buf);
}

uint32_t kafu_wasi_environ_sizes_get(kafu_wasi *w, const kafu_mem *m, uint32_t count_out,
                                     uint32_t bufsize_out) {
  if (!kafu_mem_ok(m, count_out, 4) || !kafu_mem_ok(m, bufsize_out, 4)) return KAFU_WASI_EFAULT;
  kafu_st32(m->base + count_out, w->envc);
  kafu_st32(m->base + bufsize_out, w->env_bytes);
  return 0;
}

/* ---- clocks --------------------------------------------------------------- */

static bool host_clock(uint32_t id, clockid_t *c) {
  switch (id) {
    case 0:
      *c = CLOCK_REALTIME;
      return true;
    case 1:
      *c = CLOCK_MONOTONIC;
      return true;
    case 2:
      *c = CLOCK_PROCESS_CPUTIME_ID;
      return true;
    case 3:
      *c = CLOCK_THREAD_CPUTIME_ID;
      return true;
    default:
      return false;
  }
}

/* A guest clock that continues across migrations: the host's clock c plus an
 * offset that only ever grows (set from the value a snapshot carried). */
static uint64_t guest_clock_now(clockid_t c, int64_t off) {
  struct timespec t;
  clock_gettime(c, &t);
  return (uint64_t)((int64_t)ts_ns(t) + off);
}

static void guest_clock_resume(clockid_t c, int64_t *off, uint64_t saved_ns) {
  int64_t o = (int64_t)(saved_ns - guest_clock_now(c, 0));
  if (o > *off) *off = o; /* only ever move forward */
}

uint64_t kafu_wasi_monotonic_now(kafu_wasi *w) { return guest_clock_now(CLOCK_MONOTONIC, w->mono_offset); }
void kafu_wasi_monotonic_resume(kafu_wasi *w, uint64_t saved_ns) {
  guest_clock_resume(CLOCK_MONOTONIC, &w->mono_offset, saved_ns);
}
uint64_t kafu_wasi_cputime_now(kafu_wasi *w) { return guest_clock_now(CLOCK_PROCESS_CPUTIME_ID, w->cpu_offset); }
void kafu_wasi_cputime_resume(kafu_wasi *w, uint64_t saved_ns) {
  guest_clock_resume(CLOCK_PROCESS_CPUTIME_ID, &w->cpu_offset, saved_ns);
}

uint32_t kafu_wasi_clock_res_get(kafu_wasi *w, const kafu_mem *m, uint32_t clock_id, uint32_t res_out) {
  clockid_t c;
  if (!host_clock(clock_id, &c)) return KAFU_WASI_EINVAL;
  struct timespec t;
  if (clock_getres(c, &t) < 0) return kafu_wasi_errno(errno);
  return kafu_put64(m, res_out, ts_ns(t));
}

uint32_t kafu_wasi_clock_time_get(kafu_wasi *w, const kafu_mem *m, uint32_t clock_id, uint64_t precision,
                                  uint32_t time_out) {
  clockid_t c;
  if (!host_clock(clock_id, &c)) return KAFU_WASI_EINVAL;
  if (!kafu_mem_ok(m, time_out, 8)) return KAFU_WASI_EFAULT;
  struct timespec t;
  if (clock_gettime(c, &t) < 0) return kafu_wasi_errno(errno);
  uint64_t v = ts_ns(t);
  if (clock_id == 1) v = (uint64_t)((int64_t)v + w->mono_offset);
  if (clock_id == 2) v = (uint64_t)((int64_t)v + w->cpu_offset);
  return kafu_put64(m, time_out, v);
}

/* ---- random, proc, sched -------------------------------------------------- */

uint32_t kafu_wasi_random_get(kafu_wasi *w, const kafu_mem *m, uint32_t buf, uint32_t buf_len) {
  if (!kafu_mem_ok(m, buf, buf_len)) return KAFU_WASI_EFAULT;
  uint8_t *p = m->base + buf;
  size_t left = buf_len;
  while (left > 0) {
    ssize_t n = getrandom(p, left, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return kafu_wasi_errno(errno);
    }
    p += n;
    left -= (size_t)n;
  }
  return 0;
}

int kafu_wasi_stdout_host_fd(const kafu_wasi *w) { return w->stdio_host[1] < 0 ? -1 : w->stdio_host[1]; }

void kafu_wasi_proc_exit(kafu_wasi *w, const kafu_mem *m, uint32_t code) {
  w->exited = true;
  w->exit_code = code;
  if (w->exit_hook) w->exit_hook(w->exit_ctx, code);
}

uint32_t kafu_wasi_proc_raise(kafu_wasi *w, const kafu_mem *m, uint32_t sig) {
  return KAFU_WASI_ENOSYS; /* signals are not part of the sandboxed program's world */
}

uint32_t kafu_wasi_sched_yield(kafu_wasi *w, const kafu_mem *m) {
  sched_yield();
  return 0;
}

/* ---- import table --------------------------------------------------------- */

/* The WASI host as a host module (kafu/hostmod.h). In preview1 only proc_exit
 * has no result, and it never returns to the program. */
#define KAFU_X_FN(name, params, result)                                       \
  {#name, params, (result) == 'v' ? "" : "i", (const void *)kafu_wasi_##name, \
   (result) == 'v' ? KAFU_HOSTFN_EXITS : 0},
static const kafu_hostfn g_fns[] = {KAFU_WASI_FUNCS(KAFU_X_FN)};

const kafu_hostmod kafu_hostmod_wasi = {
    .name = "wasi_snapshot_preview1",
    .summary = "WASI preview1",
    .ctx = KAFU_HOSTCTX_WASI,
    .ctx_required = true,
    .fns = g_fns,
    .nfns = sizeof g_fns / sizeof g_fns[0],
};

/* ---- files by guest path, for host functions --------------------------------------- */

/* Length of guest preopen name g as a prefix of p ("" and "." match any
 * relative path with length 0); -1 when g is not a component prefix of p. */
static int preopen_prefix(const char *g, const char *p) {
  while (g[0] == '.' && g[1] == '/') g += 2;
  while (*g == '/') g++;
  size_t n = strlen(g);
  while (n && g[n - 1] == '/') n--;
  if (n == 1 && g[0] == '.') n = 0;
  if (n == 0) return 0;
  if (strncmp(g, p, n) != 0 || (p[n] && p[n] != '/')) return -1;
  return (int)n;
}

uint32_t kafu_wasi_read_guest_file(kafu_wasi *w, const char *path, size_t path_len, size_t max_len,
                                   uint8_t **data, size_t *len) {
  *data = NULL;
  *len = 0;
  if (!path_len || memchr(path, 0, path_len)) return KAFU_WASI_EINVAL;
  char *p = strndup(path, path_len);
  if (!p) return KAFU_WASI_ENOMEM;
  /* wasi-libc without chdir: leading "/" and "./" name the same root */
  const char *rel = p;
  for (;;) {
    if (*rel == '/')
      rel++;
    else if (rel[0] == '.' && rel[1] == '/')
      rel += 2;
    else
      break;
  }
  int best = -1, best_len = -1;
  for (int i = 0; i < w->npre; i++) {
    int n = preopen_prefix(w->pre[i].guest, rel);
    if (n > best_len) best = i, best_len = n;
  }
  if (best < 0) {
    free(p);
    return KAFU_WASI_ENOTCAPABLE;
  }
  const char *sub = rel + best_len;
  while (*sub == '/') sub++;
  int fd = -1;
  uint32_t e = kafu_sb_open(w, w->pre[best].root_fd, *sub ? sub : ".", O_RDONLY, 0, true, &fd);
  free(p);
  if (e) return e;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return S_ISDIR(st.st_mode) ? KAFU_WASI_EISDIR : KAFU_WASI_EINVAL;
  }
  if ((uint64_t)st.st_size > max_len) {
    close(fd);
    return KAFU_WASI_EFBIG;
  }
  uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf) return KAFU_WASI_ENOMEM;
  if (got != (size_t)st.st_size) {
    free(buf);
    return KAFU_WASI_EIO;
  }
  *data = buf;
  *len = got;
  return KAFU_WASI_ESUCCESS;
}

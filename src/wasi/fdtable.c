/*
 * fdtable.c — the WASI fd table and its snapshot form.
 *
 * The table maps guest fd numbers to entries (host fd, kind, rights, flags,
 * where the file lives). New fds get the lowest free number, like POSIX, so a
 * program that closes and reopens sees the numbers it expects.
 *
 * Export turns the table into plain data (kafu_fd_entry) that a snapshot can
 * carry; restore rebuilds a table from that data on another node:
 *   STDIO    re-bound to this node's stdio stream (the stream index travels,
 *            e.g. a guest fd 7 that was renumbered from stdout stays stdout);
 *            offsets do not travel (a terminal/pipe has none that matters).
 *   PREOPEN  matched by guest path against this node's preopens.
 *   FILE/DIR reopened by path beneath the preopen with the same guest path on
 *            this node (its host directory may differ), same access mode, fd
 *            flags and rights, then seeked to the saved offset. No O_CREAT or
 *            O_TRUNC is ever applied, so a missing file is an error, never a
 *            fresh empty file. A file shorter than the saved offset, or of a
 *            different type (file vs directory), is also an error.
 *   LISTEN   re-bound to this node's configured listening socket of the same
 *            index (like a preopen, it is node configuration).
 *   SOCKET   an accepted connection cannot move between machines: without a
 *            home registry restore refuses it with an error naming the fd.
 *   homed    with a registry (kafu_wasi_config.home), sockets and stdin have a
 *            home node: the first export puts a local one's host fd into the
 *            registry, the entry names it by (home, generation, handle), and
 *            restore makes it local again on its home (borrowing the fd) and
 *            remote elsewhere (wasi_remote.c). Bytes read ahead travel along.
 * Restore is all-or-nothing: on any error the current table stays untouched.
 *
 * Paths: at export the path of every open file is taken from the kernel
 * (/proc/self/fd) relative to the real path of its preopen, so files renamed
 * while open are found under their new name and "a/../b" or symlinked
 * directories yield the canonical path. Without procfs the lexical path
 * recorded at open time is used (renames are then not tracked — documented in
 * docs/wasi.md). A file deleted while open, or moved outside every preopen,
 * makes the export fail with a message naming fd and path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_internal.h"

/* ---- table ---------------------------------------------------------------- */

void kafu_fdtable_init(kafu_fdtable *t) {
  t->slots = NULL;
  t->cap = 0;
}

void kafu_dirent_cache_free(kafu_dirent_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) free(c->items[i].name);
  free(c->items);
  free(c);
}

kafu_fdt_entry *kafu_fdt_entry_new(int host_fd, uint8_t kind, uint8_t filetype) {
  kafu_fdt_entry *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->host_fd = host_fd;
  e->kind = kind;
  e->filetype = filetype;
  e->preopen = -1;
  return e;
}

void kafu_fdt_entry_free(kafu_fdt_entry *e) {
  if (!e) return;
  if (e->host_fd >= 0 && !e->borrowed) close(e->host_fd);
  free(e->home);
  free(e->ra);
  free(e->path);
  kafu_dirent_cache_free(e->dir);
  free(e);
}

void kafu_fdtable_free(kafu_fdtable *t) {
  for (uint32_t i = 0; i < t->cap; i++) kafu_fdt_entry_free(t->slots[i]);
  free(t->slots);
  t->slots = NULL;
  t->cap = 0;
}

static uint32_t grow(kafu_fdtable *t, uint32_t need) {
  if (need <= t->cap) return 0;
  if (need > KAFU_FDTABLE_MAX) return KAFU_WASI_EMFILE;
  uint32_t nc = t->cap ? t->cap : 16;
  while (nc < need) nc *= 2;
  if (nc > KAFU_FDTABLE_MAX) nc = KAFU_FDTABLE_MAX;
  kafu_fdt_entry **ns = realloc(t->slots, nc * sizeof *ns);
  if (!ns) return KAFU_WASI_ENOMEM;
  memset(ns + t->cap, 0, (nc - t->cap) * sizeof *ns);
  t->slots = ns;
  t->cap = nc;
  return 0;
}

uint32_t kafu_fdtable_insert(kafu_fdtable *t, kafu_fdt_entry *e, uint32_t *fd_out) {
  uint32_t fd = 0;
  while (fd < t->cap && t->slots[fd]) fd++;
  uint32_t rc = grow(t, fd + 1);
  if (rc) return rc;
  t->slots[fd] = e;
  *fd_out = fd;
  return 0;
}

uint32_t kafu_fdtable_insert_at(kafu_fdtable *t, uint32_t fd, kafu_fdt_entry *e) {
  if (fd >= KAFU_FDTABLE_MAX) return KAFU_WASI_EBADF;
  uint32_t rc = grow(t, fd + 1);
  if (rc) return rc;
  if (t->slots[fd]) return KAFU_WASI_EBADF;
  t->slots[fd] = e;
  return 0;
}

kafu_fdt_entry *kafu_fdtable_get(const kafu_fdtable *t, uint32_t fd) {
  return fd < t->cap ? t->slots[fd] : NULL;
}

kafu_fdt_entry *kafu_fdtable_take(kafu_fdtable *t, uint32_t fd) {
  if (fd >= t->cap) return NULL;
  kafu_fdt_entry *e = t->slots[fd];
  t->slots[fd] = NULL;
  return e;
}

/* ---- paths ---------------------------------------------------------------- */

char *kafu_wasi_path_normalize(const char *base, const char *rel) {
  size_t bl = base ? strlen(base) : 0, rl = rel ? strlen(rel) : 0;
  char *in = malloc(bl + rl + 2);
  char *out = malloc(bl + rl + 2);
  if (!in || !out) {
    free(in);
    free(out);
    return NULL;
  }
  snprintf(in, bl + rl + 2, "%s/%s", base ? base : "", rel ? rel : "");
  size_t olen = 0;
  char *save = NULL;
  for (char *c = strtok_r(in, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (strcmp(c, ".") == 0) continue;
    if (strcmp(c, "..") == 0) {
      if (olen == 0) { /* climbs above the preopen */
        free(in);
        free(out);
        return NULL;
      }
      while (olen > 0 && out[olen - 1] != '/') olen--;
      if (olen > 0) olen--; /* drop the separator */
      continue;
    }
    if (olen) out[olen++] = '/';
    size_t cl = strlen(c);
    memcpy(out + olen, c, cl);
    olen += cl;
  }
  if (olen == 0) out[olen++] = '.';
  out[olen] = 0;
  free(in);
  return out;
}

char *kafu_wasi_proc_relpath(kafu_wasi *w, int host_fd, int p, bool *outside) {
  *outside = false;
  if (p < 0 || p >= w->npre || !w->pre[p].real) return NULL;
  char link[64], buf[PATH_MAX + 1];
  snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd);
  ssize_t n = readlink(link, buf, sizeof buf - 1);
  if (n <= 0 || buf[0] != '/') return NULL; /* no procfs, or not a path (socket, pipe) */
  buf[n] = 0;
  const char *real = w->pre[p].real;
  size_t rl = strlen(real);
  if (strcmp(real, "/") == 0) return strdup(buf[1] ? buf + 1 : ".");
  if (strncmp(buf, real, rl) == 0 && (buf[rl] == 0 || buf[rl] == '/'))
    return strdup(buf[rl] ? buf + rl + 1 : ".");
  *outside = true;
  return NULL;
}

/* ---- export --------------------------------------------------------------- */

void kafu_fd_entries_free(kafu_fd_entry *e, size_t n) {
  if (!e) return;
  for (size_t i = 0; i < n; i++) {
    free(e[i].preopen);
    free(e[i].path);
    free(e[i].home);
    free(e[i].pending);
  }
  free(e);
}

/* Sockets and stdin have a home when the context has a registry: the first
 * export moves a local one's host fd into it (the entry borrows it from then
 * on), so it stays open here whatever node the program goes to. */
static bool homeable(const kafu_fdt_entry *e) {
  return e->kind == KAFU_FD_SOCKET || e->kind == KAFU_FD_LISTEN || (e->kind == KAFU_FD_STDIO && e->index == 0);
}

static int export_home(kafu_wasi *w, uint32_t fd, kafu_fdt_entry *e, kafu_fd_entry *x, kafu_err *err) {
  if (!e->home && w->home && w->self && homeable(e) && e->host_fd >= 0) {
    uint64_t handle;
    uint32_t rc = kafu_home_register(w->home, w->self, e->host_fd, e->kind, e->filetype, &handle);
    if (rc) return kafu_err_set(err, KAFU_ENOMEM, "WASI fd export: fd %u: cannot register it", fd);
    e->home = strdup(w->self);
    if (!e->home) return kafu_err_set(err, KAFU_ENOMEM, "WASI fd export: out of memory");
    e->borrowed = true;
    e->gen = kafu_home_gen(w->home);
    e->handle = handle;
  }
  if (!e->home) return 0;
  x->home = strdup(e->home);
  if (!x->home) return kafu_err_set(err, KAFU_ENOMEM, "WASI fd export: out of memory");
  x->home_gen = e->gen;
  x->handle = e->handle;
  if (e->ra_len) {
    x->pending = malloc(e->ra_len);
    if (!x->pending) return kafu_err_set(err, KAFU_ENOMEM, "WASI fd export: out of memory");
    memcpy(x->pending, e->ra + e->ra_off, e->ra_len);
    x->npending = e->ra_len;
  }
  return 0;
}

int kafu_wasi_fd_export(kafu_wasi *w, kafu_fd_entry **out, size_t *n, kafu_err *err) {
  *out = NULL;
  *n = 0;
  size_t cnt = 0;
  for (uint32_t fd = 0; fd < w->fds.cap; fd++)
    if (w->fds.slots[fd]) cnt++;
  kafu_fd_entry *v = calloc(cnt ? cnt : 1, sizeof *v);
  if (!v) return kafu_err_set(err, KAFU_ENOMEM, "WASI fd export: out of memory");
  size_t k = 0;
  for (uint32_t fd = 0; fd < w->fds.cap; fd++) {
    kafu_fdt_entry *e = w->fds.slots[fd];
    if (!e) continue;
    kafu_fd_entry *x = &v[k++];
    x->fd = fd;
    x->kind = e->kind;
    x->filetype = e->filetype;
    x->oflags = e->oflags;
    x->rights_base = e->rights_base;
    x->rights_inheriting = e->rights_inheriting;
    x->fdflags = e->fdflags;
    x->index = e->index;
    int hrc = export_home(w, fd, e, x, err);
    if (hrc) {
      kafu_fd_entries_free(v, k);
      return hrc;
    }
    if (e->kind == KAFU_FD_PREOPEN || e->kind == KAFU_FD_FILE || e->kind == KAFU_FD_DIR) {
      if (e->preopen < 0 || e->preopen >= w->npre) {
        kafu_fd_entries_free(v, k);
        return kafu_err_set(err, KAFU_EINVAL, "WASI fd export: fd %u has no preopen", fd);
      }
      x->preopen = strdup(w->pre[e->preopen].guest);
      if (!x->preopen) goto oom;
    }
    if (e->kind == KAFU_FD_PREOPEN) {
      x->path = strdup(".");
      if (!x->path) goto oom;
    } else if (e->kind == KAFU_FD_FILE || e->kind == KAFU_FD_DIR) {
      const char *shown = e->path ? e->path : "?";
      struct stat sb;
      if (fstat(e->host_fd, &sb) == 0 && sb.st_nlink == 0) {
        int rc =
            kafu_err_set(err, KAFU_EINVAL,
                         "WASI fd export: fd %u (%s/%s) was deleted while open; it cannot be reopened on "
                         "another node",
                         fd, w->pre[e->preopen].guest, shown);
        kafu_fd_entries_free(v, k);
        return rc;
      }
      bool outside = false;
      char *rel = kafu_wasi_proc_relpath(w, e->host_fd, e->preopen, &outside);
      if (!rel && outside) {
        int rc = kafu_err_set(err, KAFU_EINVAL,
                              "WASI fd export: fd %u (%s/%s) is no longer inside preopened directory '%s' "
                              "(moved away while open)",
                              fd, w->pre[e->preopen].guest, shown, w->pre[e->preopen].guest);
        kafu_fd_entries_free(v, k);
        return rc;
      }
      if (!rel && !e->path) {
        int rc = kafu_err_set(err, KAFU_EINVAL,
                              "WASI fd export: fd %u: its path inside '%s' is unknown (opened through a "
                              "symlink and no /proc to ask)",
                              fd, w->pre[e->preopen].guest);
        kafu_fd_entries_free(v, k);
        return rc;
      }
      x->path = rel ? rel : strdup(e->path);
      if (!x->path) goto oom;
      if (e->kind == KAFU_FD_FILE) {
        off_t off = lseek(e->host_fd, 0, SEEK_CUR);
        x->offset = off < 0 ? 0 : (uint64_t)off;
      }
    }
  }
  *out = v;
  *n = k;
  return 0;
oom:
  kafu_fd_entries_free(v, k);
  return kafu_err_set(err, KAFU_ENOMEM, "WASI fd export: out of memory");
}

/* ---- restore -------------------------------------------------------------- */

static int find_preopen(kafu_wasi *w, const char *guest) {
  if (!guest) return -1;
  for (int i = 0; i < w->npre; i++)
    if (strcmp(w->pre[i].guest, guest) == 0) return i;
  return -1;
}

int kafu_wasi_access_flags(uint64_t rights) {
  bool rd = rights & (KAFU_WASI_RIGHT_FD_READ | KAFU_WASI_RIGHT_FD_READDIR);
  bool wr = rights & (KAFU_WASI_RIGHT_FD_WRITE | KAFU_WASI_RIGHT_FD_DATASYNC | KAFU_WASI_RIGHT_FD_ALLOCATE |
                      KAFU_WASI_RIGHT_FD_FILESTAT_SET_SIZE);
  return wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
}

static int fdflags_to_host(uint16_t f) {
  int h = 0;
  if (f & KAFU_WASI_FDFLAG_APPEND) h |= O_APPEND;
  if (f & KAFU_WASI_FDFLAG_DSYNC) h |= O_DSYNC;
  if (f & KAFU_WASI_FDFLAG_NONBLOCK) h |= O_NONBLOCK;
  if (f & (KAFU_WASI_FDFLAG_RSYNC | KAFU_WASI_FDFLAG_SYNC)) h |= O_SYNC;
  return h;
}

static const char *kind_name(uint8_t k) {
  switch (k) {
    case KAFU_FD_STDIO:
      return "stdio";
    case KAFU_FD_PREOPEN:
      return "preopen";
    case KAFU_FD_FILE:
      return "file";
    case KAFU_FD_DIR:
      return "directory";
    case KAFU_FD_LISTEN:
      return "listening socket";
    case KAFU_FD_SOCKET:
      return "socket";
    default:
      return "unknown";
  }
}

static const char *wasi_strerror(uint32_t e) {
  switch (e) {
    case KAFU_WASI_ENOENT:
      return "no such file or directory";
    case KAFU_WASI_ENOTCAPABLE:
      return "path escapes the preopened directory";
    case KAFU_WASI_EACCES:
      return "permission denied";
    case KAFU_WASI_ENOTDIR:
      return "not a directory";
    case KAFU_WASI_EISDIR:
      return "is a directory";
    case KAFU_WASI_ELOOP:
      return "too many symbolic links";
    case KAFU_WASI_EMFILE:
      return "too many open files";
    default:
      return "cannot open";
  }
}

/* Make O_APPEND/O_NONBLOCK of a re-bound host fd match the saved fd flags. */
static void set_status_flags(int h, uint16_t fdflags) {
  int fl = fcntl(h, F_GETFL);
  if (fl < 0) return;
  int want = (fl & ~(O_APPEND | O_NONBLOCK)) | ((fdflags & KAFU_WASI_FDFLAG_APPEND) ? O_APPEND : 0) |
             ((fdflags & KAFU_WASI_FDFLAG_NONBLOCK) ? O_NONBLOCK : 0);
  if (want != fl) (void)fcntl(h, F_SETFL, want);
}

/* A homed resource: local again when this context's registry serves its
 * home (the entry borrows the fd), else forwarded there. One that the home no
 * longer has (closed there, or the home restarted) becomes a broken entry: the
 * program gets EIO when it uses it, the run goes on. */
static int restore_homed(kafu_wasi *w, const kafu_fd_entry *x, kafu_fdt_entry **out, kafu_err *err) {
  if (x->kind != KAFU_FD_SOCKET && x->kind != KAFU_FD_LISTEN && x->kind != KAFU_FD_STDIO)
    return kafu_err_set(err, KAFU_EFORMAT, "WASI fd restore: fd %u: a %s cannot have a home node", x->fd,
                        kind_name(x->kind));
  if (!kafu_node_id_valid(x->home, NULL))
    return kafu_err_set(err, KAFU_EFORMAT, "WASI fd restore: fd %u: invalid home node name", x->fd);
  if (x->npending > KAFU_WASI_READAHEAD_MAX || (x->npending && !x->pending))
    return kafu_err_set(err, KAFU_EFORMAT, "WASI fd restore: fd %u: %u read-ahead bytes (at most %u)", x->fd,
                        x->npending, KAFU_WASI_READAHEAD_MAX);
  bool local = kafu_home_serves(w->home, x->home);
  if (!local && !w->link.call)
    return kafu_err_set(err, KAFU_EUNSUP,
                        "WASI fd restore: fd %u (%s) lives on node %s, and this node has no link to it", x->fd,
                        kind_name(x->kind), x->home);
  kafu_fdt_entry *e = kafu_fdt_entry_new(-1, x->kind, x->filetype);
  if (!e || !(e->home = strdup(x->home))) {
    kafu_fdt_entry_free(e);
    return kafu_err_set(err, KAFU_ENOMEM, "WASI fd restore: out of memory");
  }
  e->gen = x->home_gen;
  e->handle = x->handle;
  e->index = x->index;
  e->fdflags = x->fdflags & (KAFU_WASI_FDFLAG_APPEND | KAFU_WASI_FDFLAG_NONBLOCK);
  uint64_t allowed = x->kind == KAFU_FD_SOCKET   ? KAFU_RIGHTS_SOCKET
                     : x->kind == KAFU_FD_LISTEN ? KAFU_RIGHTS_LISTEN
                                                 : KAFU_RIGHTS_FILE;
  e->rights_base = x->rights_base & allowed;
  if (local) {
    uint8_t kind, ft;
    int h = kafu_home_fd(w->home, x->home, x->home_gen, x->handle, &kind, &ft);
    if (h >= 0 && kind == x->kind) {
      e->host_fd = h;
      e->borrowed = true;
      e->filetype = ft;
    } else {
      e->broken = true;
      kafu_warnc(&w->log,
                 "fd %u (%s) is no longer open on this node, its home (closed, or from an earlier run of "
                 "this node); the program gets EIO on it",
                 x->fd, kind_name(x->kind));
    }
  } else {
    e->remote = true;
  }
  if (x->npending) {
    e->ra = malloc(x->npending);
    if (!e->ra) {
      kafu_fdt_entry_free(e);
      return kafu_err_set(err, KAFU_ENOMEM, "WASI fd restore: out of memory");
    }
    memcpy(e->ra, x->pending, x->npending);
    e->ra_len = x->npending;
  }
  *out = e;
  return 0;
}

/* Build one restored entry (or fail with err naming fd and path). */
static int restore_one(kafu_wasi *w, const kafu_fd_entry *x, kafu_fdt_entry **out, kafu_err *err) {
  *out = NULL;
  kafu_fdt_entry *e = NULL;
  const char *path = x->path ? x->path : "";
  if (x->home) return restore_homed(w, x, out, err);
  switch (x->kind) {
    case KAFU_FD_STDIO: {
      if (x->index > 2 || w->stdio_host[x->index] < 0)
        return kafu_err_set(err, KAFU_EINVAL,
                            "WASI fd restore: fd %u: stdio stream %u is not available on this node", x->fd,
                            x->index);
      int h = fcntl(w->stdio_host[x->index], F_DUPFD_CLOEXEC, 0);
      if (h < 0)
        return kafu_err_set(err, KAFU_EIO, "WASI fd restore: fd %u: dup of stdio %u: %s", x->fd, x->index,
                            strerror(errno));
      struct stat sb;
      uint8_t ft = fstat(h, &sb) == 0 ? kafu_wasi_filetype_of(h, sb.st_mode) : KAFU_WASI_FILETYPE_UNKNOWN;
      e = kafu_fdt_entry_new(h, KAFU_FD_STDIO, ft);
      if (!e) {
        close(h);
        goto oom;
      }
      e->index = x->index;
      e->rights_base = x->rights_base & kafu_wasi_rights_for(ft, isatty(h));
      e->rights_inheriting = 0;
      e->fdflags = x->fdflags & (KAFU_WASI_FDFLAG_APPEND | KAFU_WASI_FDFLAG_NONBLOCK);
      set_status_flags(h, e->fdflags); /* what the guest set before migrating (e.g. non-blocking stdin) */
      break;
    }
    case KAFU_FD_PREOPEN:
    case KAFU_FD_FILE:
    case KAFU_FD_DIR: {
      int p = find_preopen(w, x->preopen);
      if (p < 0)
        return kafu_err_set(
            err, KAFU_ENOENT, "WASI fd restore: fd %u (%s %s/%s): no preopened directory '%s' on this node",
            x->fd, kind_name(x->kind), x->preopen ? x->preopen : "?", path, x->preopen ? x->preopen : "?");
      int flags;
      const char *rel;
      if (x->kind == KAFU_FD_FILE) {
        flags = kafu_wasi_access_flags(x->rights_base) | fdflags_to_host(x->fdflags) | O_NOCTTY;
        rel = path;
      } else {
        flags = O_RDONLY | O_DIRECTORY | (x->fdflags & KAFU_WASI_FDFLAG_NONBLOCK ? O_NONBLOCK : 0);
        rel = x->kind == KAFU_FD_PREOPEN ? "." : path;
      }
      if (!rel[0] || rel[0] == '/')
        return kafu_err_set(err, KAFU_EINVAL, "WASI fd restore: fd %u: invalid path '%s'", x->fd, rel);
      int h = -1;
      uint32_t rc = kafu_sb_open(w, w->pre[p].root_fd, rel, flags, 0, true, &h);
      if (rc)
        return kafu_err_set(err, KAFU_ENOENT,
                            "WASI fd restore: fd %u (%s %s/%s): cannot reopen on this node: %s", x->fd,
                            kind_name(x->kind), w->pre[p].guest, rel, wasi_strerror(rc));
      struct stat sb;
      if (fstat(h, &sb) < 0) {
        close(h);
        return kafu_err_set(err, KAFU_EIO, "WASI fd restore: fd %u (%s/%s): stat: %s", x->fd, w->pre[p].guest,
                            rel, strerror(errno));
      }
      uint8_t ft = kafu_wasi_filetype_of(h, sb.st_mode);
      if (ft != x->filetype) {
        close(h);
        return kafu_err_set(err, KAFU_EINVAL,
                            "WASI fd restore: fd %u (%s/%s): file type changed (was %u, now %u): refusing a "
                            "different file",
                            x->fd, w->pre[p].guest, rel, x->filetype, ft);
      }
      if (x->kind == KAFU_FD_FILE && S_ISREG(sb.st_mode)) {
        if ((uint64_t)sb.st_size < x->offset) {
          close(h);
          return kafu_err_set(
              err, KAFU_EINVAL,
              "WASI fd restore: fd %u (%s/%s): file on this node has %lld bytes, less than the "
              "saved offset %llu: refusing a different file",
              x->fd, w->pre[p].guest, rel, (long long)sb.st_size, (unsigned long long)x->offset);
        }
        if (x->offset > (uint64_t)INT64_MAX || lseek(h, (off_t)x->offset, SEEK_SET) < 0) {
          close(h);
          return kafu_err_set(err, KAFU_EIO, "WASI fd restore: fd %u (%s/%s): cannot seek to %llu", x->fd,
                              w->pre[p].guest, rel, (unsigned long long)x->offset);
        }
      }
      e = kafu_fdt_entry_new(h, x->kind, ft);
      if (!e) {
        close(h);
        goto oom;
      }
      e->preopen = p;
      e->path = kafu_wasi_path_normalize(NULL, rel);
      if (!e->path) {
        kafu_fdt_entry_free(e);
        return kafu_err_set(err, KAFU_EINVAL, "WASI fd restore: fd %u: invalid path '%s'", x->fd, rel);
      }
      uint64_t allowed = x->kind == KAFU_FD_FILE ? kafu_wasi_rights_for(ft, false) : KAFU_RIGHTS_DIR;
      e->rights_base = x->rights_base & allowed;
      e->rights_inheriting = x->kind == KAFU_FD_FILE ? 0 : (x->rights_inheriting & KAFU_WASI_RIGHTS_ALL);
      e->fdflags = x->fdflags & 0x1F; /* APPEND|DSYNC|NONBLOCK|RSYNC|SYNC: nothing else exists */
      e->oflags = x->oflags;
      break;
    }
    case KAFU_FD_LISTEN: {
      if ((int)x->index >= w->nlisten || x->index > INT32_MAX)
        return kafu_err_set(err, KAFU_EINVAL,
                            "WASI fd restore: fd %u: listening socket #%u is not configured on this node",
                            x->fd, x->index);
      int h = fcntl(w->listen[x->index], F_DUPFD_CLOEXEC, 0);
      if (h < 0)
        return kafu_err_set(err, KAFU_EIO, "WASI fd restore: fd %u: dup of listening socket: %s", x->fd,
                            strerror(errno));
      e = kafu_fdt_entry_new(h, KAFU_FD_LISTEN, KAFU_WASI_FILETYPE_SOCKET_STREAM);
      if (!e) {
        close(h);
        goto oom;
      }
      e->index = x->index;
      e->rights_base = x->rights_base & KAFU_RIGHTS_LISTEN;
      e->fdflags = x->fdflags & KAFU_WASI_FDFLAG_NONBLOCK;
      set_status_flags(h, e->fdflags);
      break;
    }
    case KAFU_FD_SOCKET:
      return kafu_err_set(err, KAFU_EUNSUP,
                          "WASI fd restore: fd %u is a connected socket without a home node (the program "
                          "ran without a home registry, as under `kafu run`); it cannot move to another node",
                          x->fd);
    default:
      return kafu_err_set(err, KAFU_EFORMAT, "WASI fd restore: fd %u has unknown kind %u", x->fd, x->kind);
  }
  *out = e;
  return 0;
oom:
  return kafu_err_set(err, KAFU_ENOMEM, "WASI fd restore: out of memory");
}

int kafu_wasi_fd_restore(kafu_wasi *w, const kafu_fd_entry *v, size_t n, kafu_err *err) {
  kafu_fdtable nt;
  kafu_fdtable_init(&nt);
  for (size_t i = 0; i < n; i++) {
    if (v[i].fd >= KAFU_FDTABLE_MAX) {
      kafu_fdtable_free(&nt);
      return kafu_err_set(err, KAFU_EFORMAT, "WASI fd restore: fd %u out of range", v[i].fd);
    }
    if (kafu_fdtable_get(&nt, v[i].fd)) {
      kafu_fdtable_free(&nt);
      return kafu_err_set(err, KAFU_EFORMAT, "WASI fd restore: fd %u appears twice", v[i].fd);
    }
    kafu_fdt_entry *e;
    int rc = restore_one(w, &v[i], &e, err);
    if (rc) {
      kafu_fdtable_free(&nt);
      return rc;
    }
    if (kafu_fdtable_insert_at(&nt, v[i].fd, e)) {
      kafu_fdt_entry_free(e);
      kafu_fdtable_free(&nt);
      return kafu_err_set(err, KAFU_ENOMEM, "WASI fd restore: fd %u: cannot insert", v[i].fd);
    }
  }
  kafu_fdtable_free(&w->fds);
  w->fds = nt;
  return 0;
}

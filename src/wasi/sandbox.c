/*
 * sandbox.c — path resolution beneath a directory fd.
 *
 * The guest's only file system is its preopened directories, so every path it
 * passes is resolved relative to one of its directory fds and must never reach
 * outside that directory: not with "..", not with an absolute path, not through
 * a symbolic link (absolute or relative), not through /proc "magic" links.
 *
 * Primary mechanism: openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
 * which makes the kernel enforce all of this atomically (Linux >= 5.6). We call
 * it through syscall(2) because Debian 12's glibc has no wrapper.
 *
 * Fallback (kernel without openat2 -> ENOSYS, or KAFU_WASI_NO_OPENAT2=1 for
 * tests): a component-by-component walk that never lets the kernel interpret
 * ".." or a symlink: each component is opened with O_PATH|O_NOFOLLOW relative to
 * the previous directory fd; ".." pops our own stack of directory fds (and is
 * refused at depth 0); a symlink is read with readlinkat and its (relative)
 * target spliced into the remaining path; absolute targets are refused. The
 * walk is therefore race-free with respect to escapes: a concurrently swapped
 * symlink is at worst reported as ELOOP, never followed by the kernel.
 *
 * Operations other than open (mkdir, unlink, rename, stat, ...) use
 * kafu_sb_resolve: the parent directory is opened beneath dirfd and the last
 * component is passed to the *at() call as a single name, with
 * AT_SYMLINK_NOFOLLOW where the call would otherwise follow it. When the WASI
 * call asks to follow a final symlink we resolve it ourselves (again beneath
 * dirfd), so no kernel call ever follows a symlink we have not checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wasi_internal.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define KAFU_SB_MAX_SYMLINKS 40

static int g_have_openat2 = -1; /* -1 unknown, 0 no, 1 yes */

static long sys_openat2(int dirfd, const char *path, struct open_how *how) {
  return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

bool kafu_sb_have_openat2(void) {
  if (g_have_openat2 < 0) {
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
    long fd = sys_openat2(AT_FDCWD, ".", &how);
    if (fd >= 0) {
      close((int)fd);
      g_have_openat2 = 1;
    } else {
      /* ENOSYS: old kernel; EPERM: a seccomp filter that does not know it. */
      g_have_openat2 = (errno == ENOSYS || errno == EPERM) ? 0 : 1;
    }
  }
  return g_have_openat2 == 1;
}

/* ---- fallback walk -------------------------------------------------------- */

typedef struct walk_stack {
  int fds[PATH_MAX / 2 + 2];
  int n; /* fds[0..n) are owned directory fds below dirfd; depth = n */
} walk_stack;

static int stack_top(const walk_stack *s, int dirfd) { return s->n ? s->fds[s->n - 1] : dirfd; }
static void stack_free(walk_stack *s) {
  while (s->n) close(s->fds[--s->n]);
}

/* Replace the path buffer by target + rest (rest is "" or starts with '/'). */
static uint32_t splice_link(char **buf, const char *target, const char *rest) {
  size_t tl = strlen(target), rl = strlen(rest);
  if (tl + rl + 1 > PATH_MAX * 4) return KAFU_WASI_ENAMETOOLONG;
  char *n = malloc(tl + rl + 1);
  if (!n) return KAFU_WASI_ENOMEM;
  memcpy(n, target, tl);
  memcpy(n + tl, rest, rl + 1);
  free(*buf);
  *buf = n;
  return 0;
}

static uint32_t read_link(int dirfd, const char *name, char *buf, size_t cap, ssize_t *n) {
  *n = readlinkat(dirfd, name, buf, cap - 1);
  if (*n < 0) return kafu_wasi_errno(errno);
  if ((size_t)*n >= cap - 1) return KAFU_WASI_ENAMETOOLONG;
  buf[*n] = 0;
  if (*n == 0) return KAFU_WASI_ENOENT;
  if (buf[0] == '/') return KAFU_WASI_ENOTCAPABLE; /* absolute target: outside the sandbox */
  return 0;
}

static uint32_t walk_open(int dirfd, const char *path, int flags, mode_t mode, bool follow, int *out) {
  walk_stack *st = malloc(sizeof *st);
  if (!st) return KAFU_WASI_ENOMEM;
  st->n = 0;
  char *buf = strdup(path);
  if (!buf) {
    free(st);
    return KAFU_WASI_ENOMEM;
  }
  char *rem = buf;
  int links = 0;
  uint32_t rc = 0;
  char target[PATH_MAX];
  for (;;) {
    while (*rem == '/') rem++;
    int cur = stack_top(st, dirfd);
    if (!*rem) { /* path ended at a directory ("." , "a/..", "dir/") */
      int fd = openat(cur, ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC, mode);
      if (fd < 0)
        rc = kafu_wasi_errno(errno);
      else
        *out = fd;
      break;
    }
    char *end = strchr(rem, '/');
    size_t clen = end ? (size_t)(end - rem) : strlen(rem);
    if (clen > NAME_MAX) {
      rc = KAFU_WASI_ENAMETOOLONG;
      break;
    }
    char comp[NAME_MAX + 1];
    memcpy(comp, rem, clen);
    comp[clen] = 0;
    char *rest = end ? end : rem + clen; /* starts with '/' or is "" */
    bool slash = end != NULL;            /* more text (maybe only slashes) follows */
    const char *p = rest;
    while (*p == '/') p++;
    bool last = *p == 0;

    if (strcmp(comp, ".") == 0) {
      rem = rest;
      continue;
    }
    if (strcmp(comp, "..") == 0) {
      if (st->n == 0) {
        rc = KAFU_WASI_ENOTCAPABLE;
        break;
      }
      close(st->fds[--st->n]);
      rem = rest;
      continue;
    }
    if (!last || slash) { /* must be a directory (or a symlink to one) */
      int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        rc = kafu_wasi_errno(errno);
        break;
      }
      struct stat sb;
      if (fstat(fd, &sb) < 0) {
        rc = kafu_wasi_errno(errno);
        close(fd);
        break;
      }
      if (S_ISLNK(sb.st_mode)) {
        close(fd);
        ssize_t n;
        if (++links > KAFU_SB_MAX_SYMLINKS) {
          rc = KAFU_WASI_ELOOP;
          break;
        }
        if ((rc = read_link(cur, comp, target, sizeof target, &n))) break;
        char *restcopy = strdup(rest);
        if (!restcopy) {
          rc = KAFU_WASI_ENOMEM;
          break;
        }
        rc = splice_link(&buf, target, restcopy);
        free(restcopy);
        if (rc) break;
        rem = buf;
        continue;
      }
      if (!S_ISDIR(sb.st_mode)) {
        close(fd);
        rc = KAFU_WASI_ENOTDIR;
        break;
      }
      if (st->n >= (int)(sizeof st->fds / sizeof st->fds[0])) {
        close(fd);
        rc = KAFU_WASI_ENAMETOOLONG;
        break;
      }
      st->fds[st->n++] = fd;
      rem = rest;
      continue;
    }
    /* last component, no trailing slash */
    if (follow) {
      ssize_t n;
      uint32_t lr = read_link(cur, comp, target, sizeof target, &n);
      if (lr == 0) {
        if (++links > KAFU_SB_MAX_SYMLINKS) {
          rc = KAFU_WASI_ELOOP;
          break;
        }
        rc = splice_link(&buf, target, "");
        if (rc) break;
        rem = buf;
        continue;
      }
      if (lr == KAFU_WASI_ENOTCAPABLE || lr == KAFU_WASI_ENAMETOOLONG) {
        rc = lr;
        break;
      }
      /* EINVAL (not a symlink) / ENOENT: open it */
    }
    int fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
      int e = errno;
      if (follow && e == ELOOP && ++links <= KAFU_SB_MAX_SYMLINKS) continue; /* became a symlink: retry */
      rc = kafu_wasi_errno(e);
      break;
    }
    *out = fd;
    break;
  }
  stack_free(st);
  free(st);
  free(buf);
  return rc;
}

uint32_t kafu_sb_open(kafu_wasi *w, int dirfd, const char *path, int flags, mode_t mode, bool follow,
                      int *out) {
  *out = -1;
  if (!path[0]) return KAFU_WASI_ENOENT;
  if (path[0] == '/') return KAFU_WASI_ENOTCAPABLE;
  if (!(flags & O_CREAT) && (flags & O_TMPFILE) != O_TMPFILE) mode = 0; /* O_TMPFILE includes O_DIRECTORY */
  if (!(w && w->no_openat2) && kafu_sb_have_openat2()) {
    struct open_how how = {0};
    how.flags = (uint64_t)(flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    how.mode = mode;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (int tries = 0; tries < 8; tries++) {
      long fd = sys_openat2(dirfd, path, &how);
      if (fd >= 0) {
        *out = (int)fd;
        return 0;
      }
      if (errno == EAGAIN || errno == EINTR) continue; /* racing rename: the kernel asks to retry */
      if (errno == ENOSYS) break;
      if (errno == EXDEV) return KAFU_WASI_ENOTCAPABLE; /* would escape dirfd */
      return kafu_wasi_errno(errno);
    }
    if (errno != ENOSYS) return kafu_wasi_errno(errno);
    g_have_openat2 = 0;
  }
  return walk_open(dirfd, path, flags, mode, follow, out);
}

/* ---- parent + name resolution -------------------------------------------- */

void kafu_sb_res_close(kafu_sb_res *r) {
  if (r->own && r->parent >= 0) close(r->parent);
  r->parent = -1;
  r->own = false;
  free(r->dirpart);
  r->dirpart = NULL;
}

uint32_t kafu_sb_resolve(kafu_wasi *w, int dirfd, const char *path, int follow, kafu_sb_res *r) {
  memset(r, 0, sizeof *r);
  r->parent = -1;
  if (!path[0]) return KAFU_WASI_ENOENT;
  if (path[0] == '/') return KAFU_WASI_ENOTCAPABLE;
  char *cur = strdup(path);
  if (!cur) return KAFU_WASI_ENOMEM;
  uint32_t rc = 0;
  char target[PATH_MAX];
  for (int hops = 0;; hops++) {
    if (hops > KAFU_SB_MAX_SYMLINKS) {
      rc = KAFU_WASI_ELOOP;
      break;
    }
    size_t len = strlen(cur);
    bool slash = false;
    while (len > 0 && cur[len - 1] == '/') {
      slash = true;
      len--;
    }
    if (len == 0) {
      rc = cur[0] == '/' ? KAFU_WASI_ENOTCAPABLE : KAFU_WASI_ENOENT;
      break;
    }
    cur[len] = 0;
    char *sl = strrchr(cur, '/');
    const char *last = sl ? sl + 1 : cur;
    size_t dlen = sl ? (size_t)(sl - cur) : 0;
    char *dirpart;
    const char *name;
    if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
      dirpart = strdup(cur); /* "a/.." names a directory: operate on "." inside it */
      name = ".";
    } else {
      dirpart = strndup(cur, dlen);
      name = last;
    }
    if (!dirpart) {
      rc = KAFU_WASI_ENOMEM;
      break;
    }
    if (strlen(name) > NAME_MAX) {
      free(dirpart);
      rc = KAFU_WASI_ENAMETOOLONG;
      break;
    }
    int parent = dirfd;
    bool own = false;
    if (dirpart[0]) {
      rc = kafu_sb_open(w, dirfd, dirpart, O_PATH | O_DIRECTORY, 0, true, &parent);
      if (rc) {
        free(dirpart);
        break;
      }
      own = true;
    }
    if ((follow == KAFU_SB_FOLLOW || (follow == KAFU_SB_FOLLOW_IF_SLASH && slash)) &&
        strcmp(name, ".") != 0) {
      ssize_t n = readlinkat(parent, name, target, sizeof target - 1);
      if (n >= (ssize_t)sizeof target - 1) { /* possibly truncated: never follow a shortened target */
        if (own) close(parent);
        free(dirpart);
        rc = KAFU_WASI_ENAMETOOLONG;
        break;
      }
      if (n >= 0) { /* a symlink: continue with its target, relative to the parent */
        target[n] = 0;
        if (own) close(parent);
        if (n == 0) {
          free(dirpart);
          rc = KAFU_WASI_ENOENT;
          break;
        }
        if (target[0] == '/') {
          free(dirpart);
          rc = KAFU_WASI_ENOTCAPABLE;
          break;
        }
        size_t nl = strlen(dirpart) + (size_t)n + 3;
        char *next = malloc(nl);
        if (!next) {
          free(dirpart);
          rc = KAFU_WASI_ENOMEM;
          break;
        }
        snprintf(next, nl, "%s%s%s%s", dirpart, dirpart[0] ? "/" : "", target, slash ? "/" : "");
        free(dirpart);
        free(cur);
        cur = next;
        continue;
      }
    }
    r->parent = parent;
    r->own = own;
    r->slash = slash;
    r->dirpart = dirpart;
    snprintf(r->name, sizeof r->name, "%s", name);
    break;
  }
  free(cur);
  return rc;
}

/*
 * wasi_internal.h — state shared by the files of the WASI host (src/wasi).
 *
 *   wasi.c      context, args/environ, clocks, random, proc_*, import table
 *   fdtable.c   the fd table (guest fd -> host resource) and its export/restore
 *   sandbox.c   path resolution beneath a directory fd (openat2 or a safe walk)
 *   wasi_fd.c   fd_* imports
 *   wasi_path.c path_* imports
 *   wasi_poll.c poll_oneoff and sock_* imports
 *
 * Every import returns a WASI errno (uint32_t); helpers below that return
 * uint32_t also return WASI errnos (0 = success).
 */
#ifndef KAFU_WASI_INTERNAL_H
#define KAFU_WASI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "kafu/wasi.h"

/* ---- rights sets ---------------------------------------------------------- */

/* Rights that make sense on a regular file (and other byte streams). */
#define KAFU_RIGHTS_FILE                                                                     \
  (KAFU_WASI_RIGHT_FD_DATASYNC | KAFU_WASI_RIGHT_FD_READ | KAFU_WASI_RIGHT_FD_SEEK |         \
   KAFU_WASI_RIGHT_FD_FDSTAT_SET_FLAGS | KAFU_WASI_RIGHT_FD_SYNC | KAFU_WASI_RIGHT_FD_TELL | \
   KAFU_WASI_RIGHT_FD_WRITE | KAFU_WASI_RIGHT_FD_ADVISE | KAFU_WASI_RIGHT_FD_ALLOCATE |      \
   KAFU_WASI_RIGHT_FD_FILESTAT_GET | KAFU_WASI_RIGHT_FD_FILESTAT_SET_SIZE |                  \
   KAFU_WASI_RIGHT_FD_FILESTAT_SET_TIMES | KAFU_WASI_RIGHT_POLL_FD_READWRITE)
/* Rights that make sense on a directory (path operations, readdir, stat). */
#define KAFU_RIGHTS_DIR                                                                                     \
  (KAFU_WASI_RIGHT_FD_FDSTAT_SET_FLAGS | KAFU_WASI_RIGHT_FD_SYNC | KAFU_WASI_RIGHT_FD_ADVISE |              \
   KAFU_WASI_RIGHT_PATH_CREATE_DIRECTORY | KAFU_WASI_RIGHT_PATH_CREATE_FILE |                               \
   KAFU_WASI_RIGHT_PATH_LINK_SOURCE | KAFU_WASI_RIGHT_PATH_LINK_TARGET | KAFU_WASI_RIGHT_PATH_OPEN |        \
   KAFU_WASI_RIGHT_FD_READDIR | KAFU_WASI_RIGHT_PATH_READLINK | KAFU_WASI_RIGHT_PATH_RENAME_SOURCE |        \
   KAFU_WASI_RIGHT_PATH_RENAME_TARGET | KAFU_WASI_RIGHT_PATH_FILESTAT_GET |                                 \
   KAFU_WASI_RIGHT_PATH_FILESTAT_SET_SIZE | KAFU_WASI_RIGHT_PATH_FILESTAT_SET_TIMES |                       \
   KAFU_WASI_RIGHT_FD_FILESTAT_GET | KAFU_WASI_RIGHT_FD_FILESTAT_SET_TIMES | KAFU_WASI_RIGHT_PATH_SYMLINK | \
   KAFU_WASI_RIGHT_PATH_UNLINK_FILE | KAFU_WASI_RIGHT_PATH_REMOVE_DIRECTORY |                               \
   KAFU_WASI_RIGHT_POLL_FD_READWRITE)
/* A tty or pipe: a file without seek/tell (wasi-libc's isatty() relies on it). */
#define KAFU_RIGHTS_STREAM (KAFU_RIGHTS_FILE & ~(KAFU_WASI_RIGHT_FD_SEEK | KAFU_WASI_RIGHT_FD_TELL))
/* A connected socket. */
#define KAFU_RIGHTS_SOCKET                                                                    \
  (KAFU_WASI_RIGHT_FD_READ | KAFU_WASI_RIGHT_FD_WRITE | KAFU_WASI_RIGHT_FD_FDSTAT_SET_FLAGS | \
   KAFU_WASI_RIGHT_FD_FILESTAT_GET | KAFU_WASI_RIGHT_POLL_FD_READWRITE | KAFU_WASI_RIGHT_SOCK_SHUTDOWN)
/* A listening socket. */
#define KAFU_RIGHTS_LISTEN                                                 \
  (KAFU_WASI_RIGHT_FD_FDSTAT_SET_FLAGS | KAFU_WASI_RIGHT_FD_FILESTAT_GET | \
   KAFU_WASI_RIGHT_POLL_FD_READWRITE | KAFU_WASI_RIGHT_SOCK_ACCEPT)

/* ---- fd table ------------------------------------------------------------- */

/* Directory listing taken by fd_readdir at cookie 0; cookie n = entry index n,
 * so cookies stay meaningful after a migration (entries are sorted by name). */
typedef struct kafu_dirent_item {
  uint64_t ino;
  uint8_t type;
  uint32_t namlen;
  char *name;
} kafu_dirent_item;
typedef struct kafu_dirent_cache {
  kafu_dirent_item *items;
  size_t n;
} kafu_dirent_cache;

typedef struct kafu_fdt_entry {
  int host_fd;      /* owned */
  uint8_t kind;     /* kafu_fd_kind */
  uint8_t filetype; /* KAFU_WASI_FILETYPE_* */
  uint16_t fdflags; /* KAFU_WASI_FDFLAG_* */
  uint32_t oflags;  /* KAFU_WASI_O_* at open */
  uint64_t rights_base, rights_inheriting;
  int preopen;            /* index into kafu_wasi.pre, -1 if none */
  char *path;             /* path relative to that preopen (normalised), NULL if none */
  uint32_t index;         /* STDIO stream / LISTEN index */
  kafu_dirent_cache *dir; /* fd_readdir listing (directories only) */
} kafu_fdt_entry;

#define KAFU_FDTABLE_MAX 65536u

typedef struct kafu_fdtable {
  kafu_fdt_entry **slots; /* slots[fd] or NULL */
  uint32_t cap;
} kafu_fdtable;

void kafu_fdtable_init(kafu_fdtable *t);
void kafu_fdtable_free(kafu_fdtable *t);
/* Insert e at the lowest free fd; returns WASI errno (EMFILE when full). */
uint32_t kafu_fdtable_insert(kafu_fdtable *t, kafu_fdt_entry *e, uint32_t *fd_out);
/* Insert e at a given (free) fd; returns WASI errno. */
uint32_t kafu_fdtable_insert_at(kafu_fdtable *t, uint32_t fd, kafu_fdt_entry *e);
kafu_fdt_entry *kafu_fdtable_get(const kafu_fdtable *t, uint32_t fd);
/* Remove fd from the table and return its entry (NULL if not open). */
kafu_fdt_entry *kafu_fdtable_take(kafu_fdtable *t, uint32_t fd);
/* Close the host fd and free everything of e. */
void kafu_fdt_entry_free(kafu_fdt_entry *e);
kafu_fdt_entry *kafu_fdt_entry_new(int host_fd, uint8_t kind, uint8_t filetype);
void kafu_dirent_cache_free(kafu_dirent_cache *c);

/* ---- context -------------------------------------------------------------- */

typedef struct kafu_wasi_preopen {
  char *host;  /* as configured */
  char *guest; /* guest-visible name */
  char *real;  /* realpath(host), for mapping open files back to preopen paths */
  int root_fd; /* O_PATH|O_DIRECTORY, kept for restore */
} kafu_wasi_preopen;

struct kafu_wasi {
  char **argv;
  uint32_t argc, args_bytes;
  char **envp;
  uint32_t envc, env_bytes;
  kafu_wasi_preopen *pre;
  int npre;
  int stdio_host[3]; /* configured host fds (not owned), -1 = absent */
  int *listen;       /* dup'ed listening sockets (owned) */
  int nlisten;
  kafu_fdtable fds;
  void (*exit_hook)(void *ctx, uint32_t code);
  void *exit_ctx;
  bool exited;
  uint32_t exit_code;
  int64_t mono_offset; /* guest monotonic = host monotonic + offset */
  bool no_openat2;     /* force the portable path walk (tests, old kernels) */
};

/* ---- helpers -------------------------------------------------------------- */

uint32_t kafu_wasi_errno(int e); /* host errno -> WASI errno */

static inline void kafu_st16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void kafu_st32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void kafu_st64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t kafu_ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t kafu_ld32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t kafu_ld64(const uint8_t *p) {
  return (uint64_t)kafu_ld32(p) | ((uint64_t)kafu_ld32(p + 4) << 32);
}
/* Store a u32/u64 result at a guest address (bounds-checked). */
uint32_t kafu_put32(const kafu_mem *m, uint32_t ptr, uint32_t v);
uint32_t kafu_put64(const kafu_mem *m, uint32_t ptr, uint64_t v);

/* Look up fd and check that it has all of `rights` (EBADF / ENOTCAPABLE). */
uint32_t kafu_wasi_fd_lookup(kafu_wasi *w, uint32_t fd, uint64_t rights, kafu_fdt_entry **out);

/* Host file type -> WASI filetype. */
uint8_t kafu_wasi_filetype_of(int host_fd, mode_t mode);
/* Default rights for an fd of this file type (what the host can offer). */
uint64_t kafu_wasi_rights_for(uint8_t filetype, bool is_tty);
/* Fill a 64-byte WASI filestat from a host stat. */
struct stat;
void kafu_wasi_store_filestat(uint8_t *out, const struct stat *st, uint8_t filetype);

/* WASI fstflags -> utimensat times; EINVAL for contradictory/unknown flags. */
struct timespec;
uint32_t kafu_wasi_make_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]);
/* Host open(2) access mode implied by WASI rights (read/write-ish rights). */
int kafu_wasi_access_flags(uint64_t rights);

/* Copy a guest path into a NUL-terminated malloc'd string. Rejects NUL bytes
 * (EINVAL), absolute paths (ENOTCAPABLE), empty paths (ENOENT), too long. */
uint32_t kafu_wasi_guest_path(const kafu_mem *m, uint32_t ptr, uint32_t len, char **out);

/* Normalise "base/rel" lexically (".", "..", "//"); returns malloc'd path
 * relative to the preopen ("." for the root) or NULL if it climbs above it. */
char *kafu_wasi_path_normalize(const char *base, const char *rel);
/* Path of an open host fd relative to preopen p, from /proc/self/fd; returns
 * malloc'd path, NULL when unknown (no procfs) and sets *outside when the
 * file is known to lie outside that preopen. */
char *kafu_wasi_proc_relpath(kafu_wasi *w, int host_fd, int p, bool *outside);

/* ---- sandbox (sandbox.c) -------------------------------------------------- */

/* Open `path` beneath directory dirfd (never escaping it: "..", absolute
 * symlinks and symlinks climbing out are refused with ENOTCAPABLE). flags are
 * host open flags (O_CLOEXEC added); follow = follow a symlink in the last
 * component. */
uint32_t kafu_sb_open(kafu_wasi *w, int dirfd, const char *path, int flags, mode_t mode, bool follow,
                      int *out);

/* Resolve `path` to (parent directory fd, single last component) beneath dirfd.
 * When following (see KAFU_SB_*), symlinks in the last component are resolved
 * (within the sandbox) so the caller can use *at() calls with AT_SYMLINK_NOFOLLOW
 * safely. Trailing slashes are reported in `slash`, not kept in `name`. */
typedef struct kafu_sb_res {
  int parent; /* directory fd (O_PATH), closed by kafu_sb_res_close if owned */
  bool own;
  bool slash; /* path had trailing slash(es): must name a directory */
  char name[256];
  char *dirpart; /* malloc'd directory part relative to dirfd ("" if none) */
} kafu_sb_res;
enum {
  KAFU_SB_NOFOLLOW = 0,        /* final symlink is the object (unlink, rename, mkdir, ...) */
  KAFU_SB_FOLLOW = 1,          /* final symlinks are resolved (lookupflags SYMLINK_FOLLOW) */
  KAFU_SB_FOLLOW_IF_SLASH = 2, /* resolved only when the path ends in '/' (POSIX: "link/" is the target) */
};
uint32_t kafu_sb_resolve(kafu_wasi *w, int dirfd, const char *path, int follow, kafu_sb_res *r);
void kafu_sb_res_close(kafu_sb_res *r);

/* Does the kernel have openat2? (cached) */
bool kafu_sb_have_openat2(void);

#endif

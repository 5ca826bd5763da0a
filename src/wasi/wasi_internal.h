/*
 * wasi_internal.h — state shared by the files of the WASI host (src/wasi).
 *
 *   wasi.c      context, args/environ, clocks, random, proc_*, import table
 *   fdtable.c   the fd table (guest fd -> host resource) and its export/restore
 *   sandbox.c   path resolution beneath a directory fd (openat2 or a safe walk)
 *   wasi_fd.c   fd_* imports
 *   wasi_path.c path_* imports
 *   wasi_poll.c poll_oneoff and sock_* imports
 *   wasi_home.c the home registry of sockets and stdin, and the answers to
 *               forwarded requests (kafu_wasi_home_handle)
 *   wasi_remote.c forwarded operations on resources homed on another node
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
  int host_fd;      /* owned unless `borrowed`; -1 for a remote entry */
  uint8_t kind;     /* kafu_fd_kind */
  uint8_t filetype; /* KAFU_WASI_FILETYPE_* */
  uint16_t fdflags; /* KAFU_WASI_FDFLAG_* */
  uint32_t oflags;  /* KAFU_WASI_O_* at open */
  uint64_t rights_base, rights_inheriting;
  int preopen;            /* index into kafu_wasi.pre, -1 if none */
  char *path;             /* path relative to that preopen (normalised), NULL if none */
  uint32_t index;         /* STDIO stream / LISTEN index */
  kafu_dirent_cache *dir; /* fd_readdir listing (directories only) */
  /* homed resources (wasi_home.c): home != NULL once the resource is in a
   * registry, here (host_fd borrowed from it) or on node `home` (remote) */
  char *home;
  uint64_t gen, handle;
  bool borrowed; /* host_fd belongs to the home registry: never closed here */
  bool remote;   /* every operation is forwarded to `home` (wasi_remote.c) */
  bool broken;   /* remote home unreachable: operations fail at once (EIO) */
  /* bytes read ahead from a stream and not yet consumed (wasi_remote.c) */
  uint8_t *ra;
  uint32_t ra_off, ra_len;
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
  int64_t cpu_offset;  /* guest process CPU time = host process CPU time + offset */
  bool no_openat2;     /* force the portable path walk (tests, old kernels) */
  kafu_wasi_home *home; /* resources homed in this process (borrowed), or NULL */
  char *self;           /* node name for what this context registers in `home` */
  kafu_wasi_link link;
  kafu_log_ctx log;
  uint64_t poll_seq; /* ids of forwarded polls */
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

/* Look up fd and check that it has all of `rights` (EBADF / ENOTCAPABLE); a
 * remote entry is ENOTSUP (calls that are forwarded use _any). */
uint32_t kafu_wasi_fd_lookup(kafu_wasi *w, uint32_t fd, uint64_t rights, kafu_fdt_entry **out);
uint32_t kafu_wasi_fd_lookup_any(kafu_wasi *w, uint32_t fd, uint64_t rights, kafu_fdt_entry **out);

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

/* ---- homes (wasi_home.c) and forwarding (wasi_remote.c) ------------------- */

/* Handles of a node's configured listening sockets (every node can name them
 * before any contact); registered resources get handles from HOME_HANDLE_DYN. */
#define KAFU_HOME_HANDLE_LISTEN(i) (0x100ull + (i))
#define KAFU_HOME_HANDLE_DYN 0x10000ull

/* The request every forwarded operation is (little-endian):
 *   u16 version (1), u8 op, u8 flags (KAFU_HOP_BLOCK), u32 guest fd (for
 *   messages), u64 gen, u64 handle, u16 len + home node name, then op args.
 * The answer: u8 status (KAFU_HST_*), u8 0, u16 WASI errno, then op results. */
#define KAFU_HOME_PROTO 1
enum {
  KAFU_HOP_READ = 1,     /* u32 max -> u32 n + bytes (read() / recv()) */
  KAFU_HOP_WRITE = 2,    /* u32 n + bytes -> u32 written (write() / send()) */
  KAFU_HOP_ACCEPT = 3,   /* u16 fdflags of the new fd -> u64 gen, u64 handle, u8 filetype */
  KAFU_HOP_SHUTDOWN = 4, /* u8 how (1 rd, 2 wr, 3 both) */
  KAFU_HOP_FDSTAT = 5,   /* -> u8 filetype, u16 fdflags */
  KAFU_HOP_FILESTAT = 6, /* -> 64-byte WASI filestat */
  KAFU_HOP_SETFLAGS = 7, /* u16 fdflags (APPEND, NONBLOCK) */
  KAFU_HOP_CLOSE = 8,
  /* u64 poll id, u64 timeout ns (UINT64_MAX: none), u32 n, n x (u64 gen, u64
   * handle, u8 1 read / 2 write) -> u32 n, n x (u8 ready, u8 0, u16 errno,
   * u16 flags (1 hangup), u64 nbytes); gen/handle of the header unused */
  KAFU_HOP_POLL = 9,
  KAFU_HOP_CANCEL = 10, /* u64 poll id: wake that poll (or make it return at once) */
};
enum { KAFU_HOP_BLOCK = 1 }; /* the guest's fd blocks: wait (for a slice) until ready */
enum {
  KAFU_HST_DONE = 0,  /* errno and results are the answer */
  KAFU_HST_AGAIN = 1, /* blocking call not ready within a slice: ask again */
  KAFU_HST_GONE = 2,  /* no such resource here (closed, or an earlier incarnation's) */
};

/* A little-endian reader over a request or an answer. */
typedef struct kafu_rd {
  const uint8_t *p;
  size_t n, off;
  bool bad;
} kafu_rd;
static inline const uint8_t *kafu_rd_take(kafu_rd *r, size_t n) {
  if (r->bad || n > r->n - r->off) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = r->p + r->off;
  r->off += n;
  return p;
}
static inline uint8_t kafu_rd_u8(kafu_rd *r) {
  const uint8_t *p = kafu_rd_take(r, 1);
  return p ? p[0] : 0;
}
static inline uint16_t kafu_rd_u16(kafu_rd *r) {
  const uint8_t *p = kafu_rd_take(r, 2);
  return p ? kafu_ld16(p) : 0;
}
static inline uint32_t kafu_rd_u32(kafu_rd *r) {
  const uint8_t *p = kafu_rd_take(r, 4);
  return p ? kafu_ld32(p) : 0;
}
static inline uint64_t kafu_rd_u64(kafu_rd *r) {
  const uint8_t *p = kafu_rd_take(r, 8);
  return p ? kafu_ld64(p) : 0;
}
/* Writers (a failed append leaves the buffer short: the reader then finds it bad). */
void kafu_wr_u8(kafu_buf *b, uint8_t v);
void kafu_wr_u16(kafu_buf *b, uint16_t v);
void kafu_wr_u32(kafu_buf *b, uint32_t v);
void kafu_wr_u64(kafu_buf *b, uint64_t v);

bool kafu_home_serves(kafu_wasi_home *h, const char *node);
uint64_t kafu_home_gen(kafu_wasi_home *h);
/* Move host fd into the registry as a resource of node; *handle gets its id.
 * The caller's entry then borrows the fd. WASI errno. */
uint32_t kafu_home_register(kafu_wasi_home *h, const char *node, int fd, uint8_t kind, uint8_t filetype,
                            uint64_t *handle);
/* The host fd of a resource (borrowed), or -1 when there is none (closed, or
 * gen names another incarnation). kind/filetype may be NULL. */
int kafu_home_fd(kafu_wasi_home *h, const char *node, uint64_t gen, uint64_t handle, uint8_t *kind,
                 uint8_t *filetype);
/* Close a resource (the program closed its fd). */
void kafu_home_close(kafu_wasi_home *h, const char *node, uint64_t handle);

/* Forwarded operations on a remote entry e (fd is the guest's number, for
 * messages). WASI errnos; results as the matching import. */
struct iovec;
uint32_t kafu_remote_read(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, const struct iovec *v, int n, bool peek,
                          bool waitall, uint32_t *got);
uint32_t kafu_remote_write(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, const struct iovec *v, int n,
                           uint32_t *put);
uint32_t kafu_remote_accept(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, uint16_t flags, kafu_fdt_entry **out);
uint32_t kafu_remote_simple(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, uint8_t op, uint32_t arg,
                            uint8_t *out, size_t outlen);
/* Read-ahead bytes of e (local or remote) served to a read first: bytes copied. */
uint32_t kafu_ra_take(kafu_fdt_entry *e, const struct iovec *v, int n, bool peek);
/* The program closes fd (entry e, already taken out of the table): at home
 * when the resource is homed. Frees e. WASI errno (EIO when the home is gone;
 * the fd is closed here in any case). */
uint32_t kafu_wasi_close_entry(kafu_wasi *w, uint32_t fd, kafu_fdt_entry *e);
/* A forwarded poll over the subscriptions of one home: subs[i] names entries
 * (gen, handle, type); results into ready/err/flags/nbytes. timeout_ns
 * UINT64_MAX = none; *cancel (may be NULL) is checked between slices. */
typedef struct kafu_rpoll_sub {
  kafu_fdt_entry *e;
  uint32_t fd;
  uint32_t owner; /* the poll_oneoff subscription it answers */
  uint8_t type; /* 1 read, 2 write */
  bool ready;
  uint16_t err, flags;
  uint64_t nbytes;
} kafu_rpoll_sub;
uint32_t kafu_remote_poll(kafu_wasi *w, const char *home, kafu_rpoll_sub *subs, size_t n, uint64_t poll_id,
                          uint64_t deadline_ns, volatile bool *cancel);
void kafu_remote_cancel(kafu_wasi *w, const char *home, uint64_t poll_id);

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

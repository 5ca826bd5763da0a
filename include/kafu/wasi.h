/*
 * wasi.h — the WASI preview1 host ("wasi_snapshot_preview1") of Kafu.
 *
 * Engine-independent: every import sees guest linear memory only as a
 * (base, size) view (kafu_mem) that the engine passes on each call, so memory may
 * move/grow between calls. Every guest pointer/length is bounds-checked against
 * m->size (overflow-safe); an out-of-range access returns KAFU_WASI_EFAULT and
 * never touches memory.
 *
 * The import list is the X-macro in wasi_funcs.h; for each X(name, params, result)
 * the host defines
 *     uint32_t kafu_wasi_<name>(kafu_wasi *w, const kafu_mem *m, ...)
 * with uint32_t for 'i' and uint64_t for 'I' params (proc_exit returns void) and
 * returns a WASI errno (KAFU_WASI_ESUCCESS = 0 ...).
 *
 * Sandbox: the preopened directories are the only file system the guest sees.
 * Every path is resolved beneath its directory fd with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS), or, when the kernel lacks openat2, by a
 * component-by-component walk (O_NOFOLLOW + readlink) that enforces the same rule.
 *
 * The fd table is plain data (kafu_fd_entry) that a snapshot can carry: see
 * kafu_wasi_fd_export / kafu_wasi_fd_restore and docs/wasi.md.
 */
#ifndef KAFU_WASI_H
#define KAFU_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/util.h"
#include "kafu/wasi_funcs.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kafu_wasi kafu_wasi;

/* A view of guest linear memory for one call. */
typedef struct kafu_mem {
  uint8_t *base;
  uint64_t size;
} kafu_mem;

/* true when [ptr, ptr + len) lies inside m (overflow-safe); check every guest
 * pointer with it before touching m->base + ptr. */
static inline bool kafu_mem_ok(const kafu_mem *m, uint64_t ptr, uint64_t len) {
  return m && m->base && ptr <= m->size && len <= m->size - ptr;
}

/* A preopened directory: host directory shown to the guest under guest_path
 * (e.g. {"/srv/data", "/"} or {"./out", "out"}). */
typedef struct kafu_preopen {
  const char *host_path;
  const char *guest_path;
} kafu_preopen;

/* ---- resources with a home ------------------------------------------------
 *
 * A socket (listening or accepted) and stdin live on the node where they were
 * opened: their home. The home keeps the real fd in a kafu_wasi_home registry
 * (one per process, outliving the WASI contexts a migrating program goes
 * through) until the program closes it or the run ends. Elsewhere the guest's
 * fd is a remote entry (home node, generation, handle) and every operation on
 * it is one request to the home through the embedder's link, answered there
 * by kafu_wasi_home_handle. */

typedef struct kafu_wasi_home kafu_wasi_home;

/* A configured listening socket: listening socket `index` of node `home`. */
typedef struct kafu_wasi_listen_spec {
  const char *home;
  uint32_t index;
} kafu_wasi_listen_spec;

/* The embedder's link to other nodes. call() delivers one request (an opaque,
 * versioned byte string the WASI host builds) to node `home`, where it must be
 * passed to kafu_wasi_home_handle, and appends that answer to *resp. Returns 0,
 * or negative + err when the home cannot be reached or refused the request;
 * the operation then fails with EIO and the log names fd, home and err.
 * Thread-safe: poll_oneoff calls it from helper threads when it waits on
 * several nodes at once. */
typedef struct kafu_wasi_link {
  int (*call)(void *ctx, const char *home, const uint8_t *req, size_t len, kafu_buf *resp, kafu_err *err);
  void *ctx;
} kafu_wasi_link;

/* Longest time a home blocks on one forwarded request (a blocking accept,
 * recv or poll is a series of such requests), and the largest read or write
 * one request carries (bigger ones are served short, as sockets may). */
#define KAFU_WASI_HOME_SLICE_MS 1000
#define KAFU_WASI_HOME_IO_MAX (512u * 1024u)
/* Bytes a remote read asks for at least (read-ahead); what the program has
 * not consumed yet stays with the fd and travels in snapshots. */
#define KAFU_WASI_READAHEAD 65536u
#define KAFU_WASI_READAHEAD_MAX (KAFU_WASI_HOME_IO_MAX)

/* A registry for the resources this process is home to. log (borrowed, may be
 * NULL) prefixes its log lines. */
int kafu_wasi_home_new(const kafu_log_ctx *log, kafu_wasi_home **out, kafu_err *err);
/* Closes every resource still open: call it when the run is over. */
void kafu_wasi_home_free(kafu_wasi_home *h);
/* This process is the home of node `node` (a cluster node: itself; `kafu
 * singlenode`: every node). */
int kafu_wasi_home_serve(kafu_wasi_home *h, const char *node, kafu_err *err);
/* Node `node`'s configured listening socket `index` (bound and listening);
 * the registry takes fd. */
int kafu_wasi_home_add_listen(kafu_wasi_home *h, const char *node, uint32_t index, int fd, kafu_err *err);
/* Answer one forwarded request (thread-safe; may block up to
 * KAFU_WASI_HOME_SLICE_MS). Appends the answer to *resp. Negative + err only
 * for a request that is not one (malformed, another version): the caller
 * answers that as a client error. */
int kafu_wasi_home_handle(kafu_wasi_home *h, const uint8_t *req, size_t len, kafu_buf *resp, kafu_err *err);
/* Resources currently open here (tests look for leaks with it). */
size_t kafu_wasi_home_open_count(kafu_wasi_home *h);

/* Zero-initialised config = no args, empty environment, no preopens, no
 * sockets, guest stdio = host fds 0/1/2. */
typedef struct kafu_wasi_config {
  int argc;
  char **argv; /* argv[0] is conventionally the module name */
  int envc;
  char **envp; /* "K=V" */
  const kafu_preopen *preopens;
  int npreopens;
  /* Host fds behind guest fds 0/1/2. 0 in stdout_fd/stderr_fd means the default
   * (1/2); a negative value means "not present" (guest gets EBADF). The host
   * fds are dup'ed, never closed by the WASI host. */
  int stdin_fd, stdout_fd, stderr_fd;
  /* Already-listening host sockets (bound + listen()ed by the embedder), given to
   * the guest as fds right after the preopens, usable with sock_accept. Dup'ed. */
  const int *listen_fds;
  int nlisten_fds;
  /* Resources with a home (docs/migration.md, "Sockets and stdin"): NULL =
   * none, sockets and stdin are plain local fds (`kafu run`). With a home
   * registry, the listening sockets in `listens`, accepted connections and
   * stdin live in the process that opened them (their home node); a snapshot
   * names them by home node + handle, and another node forwards every
   * operation on them through `link`. */
  kafu_wasi_home *home;
  const char *self; /* the node this context runs on (names what it registers in `home`) */
  /* The configured listening sockets of every node (guest fds right after the
   * preopens and listen_fds, in this order): local when `home` serves spec.home,
   * else forwarded there. */
  const kafu_wasi_listen_spec *listens;
  int nlistens;
  kafu_wasi_link link;       /* how forwarded calls reach another node (call NULL = cannot) */
  const kafu_log_ctx *log;   /* prefix of this context's log lines ("node cloud"); NULL = none */
} kafu_wasi_config;

/* Create a WASI context. Opens every preopen directory now (a missing or
 * non-directory preopen -> error naming it). Returns 0 or negative + err. */
int kafu_wasi_new(const kafu_wasi_config *cfg, kafu_wasi **out, kafu_err *err);
void kafu_wasi_free(kafu_wasi *w);

/* proc_exit(code) records the code, then calls hook(ctx, code), which must not
 * return (e.g. longjmp / trap out of the guest). With no hook, proc_exit just
 * records the code and returns (useful in unit tests). */
void kafu_wasi_set_exit_hook(kafu_wasi *w, void (*hook)(void *ctx, uint32_t code), void *ctx);
/* true once proc_exit was called; *code (may be NULL) gets its argument. */
bool kafu_wasi_exited(kafu_wasi *w, uint32_t *code);

/* Monotonic clock continuity across migration: a snapshot records
 * kafu_wasi_monotonic_now(w) at the checkpoint; the receiving node calls
 * kafu_wasi_monotonic_resume(w, saved) so the guest's CLOCK_MONOTONIC continues
 * from that value instead of jumping (possibly backwards) to the new host's clock. */
uint64_t kafu_wasi_monotonic_now(kafu_wasi *w);
void kafu_wasi_monotonic_resume(kafu_wasi *w, uint64_t saved_ns);
/* The same for the guest's process CPU-time clock (clock id 2, what C's clock()
 * reads): each node's process has its own, so without this a program measuring
 * CPU time across a migration would see it jump (or go backwards). */
uint64_t kafu_wasi_cputime_now(kafu_wasi *w);
void kafu_wasi_cputime_resume(kafu_wasi *w, uint64_t saved_ns);

/* ---- the imports (one per X-macro entry) ----------------------------------- */

uint32_t kafu_wasi_args_get(kafu_wasi *w, const kafu_mem *m, uint32_t argv, uint32_t argv_buf);
uint32_t kafu_wasi_args_sizes_get(kafu_wasi *w, const kafu_mem *m, uint32_t argc_out, uint32_t bufsize_out);
uint32_t kafu_wasi_environ_get(kafu_wasi *w, const kafu_mem *m, uint32_t environ, uint32_t environ_buf);
uint32_t kafu_wasi_environ_sizes_get(kafu_wasi *w, const kafu_mem *m, uint32_t count_out,
                                     uint32_t bufsize_out);
uint32_t kafu_wasi_clock_res_get(kafu_wasi *w, const kafu_mem *m, uint32_t clock_id, uint32_t res_out);
uint32_t kafu_wasi_clock_time_get(kafu_wasi *w, const kafu_mem *m, uint32_t clock_id, uint64_t precision,
                                  uint32_t time_out);
uint32_t kafu_wasi_fd_advise(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t offset, uint64_t len,
                             uint32_t advice);
uint32_t kafu_wasi_fd_allocate(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t offset, uint64_t len);
uint32_t kafu_wasi_fd_close(kafu_wasi *w, const kafu_mem *m, uint32_t fd);
uint32_t kafu_wasi_fd_datasync(kafu_wasi *w, const kafu_mem *m, uint32_t fd);
uint32_t kafu_wasi_fd_fdstat_get(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t stat_out);
uint32_t kafu_wasi_fd_fdstat_set_flags(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t flags);
uint32_t kafu_wasi_fd_fdstat_set_rights(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t rights_base,
                                        uint64_t rights_inheriting);
uint32_t kafu_wasi_fd_filestat_get(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t stat_out);
uint32_t kafu_wasi_fd_filestat_set_size(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t size);
uint32_t kafu_wasi_fd_filestat_set_times(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t atim,
                                         uint64_t mtim, uint32_t fst_flags);
uint32_t kafu_wasi_fd_pread(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                            uint64_t offset, uint32_t nread_out);
uint32_t kafu_wasi_fd_prestat_get(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t prestat_out);
uint32_t kafu_wasi_fd_prestat_dir_name(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                       uint32_t path_len);
uint32_t kafu_wasi_fd_pwrite(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                             uint64_t offset, uint32_t nwritten_out);
uint32_t kafu_wasi_fd_read(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                           uint32_t nread_out);
uint32_t kafu_wasi_fd_readdir(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t buf, uint32_t buf_len,
                              uint64_t cookie, uint32_t bufused_out);
uint32_t kafu_wasi_fd_renumber(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t to);
uint32_t kafu_wasi_fd_seek(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t offset, uint32_t whence,
                           uint32_t newoffset_out);
uint32_t kafu_wasi_fd_sync(kafu_wasi *w, const kafu_mem *m, uint32_t fd);
uint32_t kafu_wasi_fd_tell(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t offset_out);
uint32_t kafu_wasi_fd_write(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                            uint32_t nwritten_out);
uint32_t kafu_wasi_path_create_directory(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                         uint32_t path_len);
uint32_t kafu_wasi_path_filestat_get(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t lookupflags,
                                     uint32_t path, uint32_t path_len, uint32_t stat_out);
uint32_t kafu_wasi_path_filestat_set_times(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t lookupflags,
                                           uint32_t path, uint32_t path_len, uint64_t atim, uint64_t mtim,
                                           uint32_t fst_flags);
uint32_t kafu_wasi_path_link(kafu_wasi *w, const kafu_mem *m, uint32_t old_fd, uint32_t old_flags,
                             uint32_t old_path, uint32_t old_path_len, uint32_t new_fd, uint32_t new_path,
                             uint32_t new_path_len);
uint32_t kafu_wasi_path_open(kafu_wasi *w, const kafu_mem *m, uint32_t dirfd, uint32_t dirflags,
                             uint32_t path, uint32_t path_len, uint32_t oflags, uint64_t rights_base,
                             uint64_t rights_inheriting, uint32_t fdflags, uint32_t fd_out);
uint32_t kafu_wasi_path_readlink(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                 uint32_t path_len, uint32_t buf, uint32_t buf_len, uint32_t bufused_out);
uint32_t kafu_wasi_path_remove_directory(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                         uint32_t path_len);
uint32_t kafu_wasi_path_rename(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t old_path,
                               uint32_t old_path_len, uint32_t new_fd, uint32_t new_path,
                               uint32_t new_path_len);
uint32_t kafu_wasi_path_symlink(kafu_wasi *w, const kafu_mem *m, uint32_t old_path, uint32_t old_path_len,
                                uint32_t fd, uint32_t new_path, uint32_t new_path_len);
uint32_t kafu_wasi_path_unlink_file(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                    uint32_t path_len);
uint32_t kafu_wasi_poll_oneoff(kafu_wasi *w, const kafu_mem *m, uint32_t in, uint32_t out,
                               uint32_t nsubscriptions, uint32_t nevents_out);
void kafu_wasi_proc_exit(kafu_wasi *w, const kafu_mem *m, uint32_t code);
uint32_t kafu_wasi_proc_raise(kafu_wasi *w, const kafu_mem *m, uint32_t sig);
uint32_t kafu_wasi_sched_yield(kafu_wasi *w, const kafu_mem *m);
uint32_t kafu_wasi_random_get(kafu_wasi *w, const kafu_mem *m, uint32_t buf, uint32_t buf_len);
uint32_t kafu_wasi_sock_accept(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t flags, uint32_t fd_out);
uint32_t kafu_wasi_sock_recv(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t ri_data,
                             uint32_t ri_data_len, uint32_t ri_flags, uint32_t ro_datalen_out,
                             uint32_t ro_flags_out);
uint32_t kafu_wasi_sock_send(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t si_data,
                             uint32_t si_data_len, uint32_t si_flags, uint32_t so_datalen_out);
uint32_t kafu_wasi_sock_shutdown(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t how);

/* The imports above as a host module for the engine: kafu_hostmod_wasi
 * (kafu/hostmod.h), one entry per KAFU_WASI_FUNCS line. */

/* The host fd behind the guest's stdout as configured (kafu_wasi_config
 * stdout_fd; 1 by default), -1 when the guest has none. For host modules that
 * print on the program's behalf (spectest). */
int kafu_wasi_stdout_host_fd(const kafu_wasi *w);

/* Read a whole file named by a guest path, for host functions that take paths
 * (kafu_helper.image_to_tensor): the path is resolved as wasi-libc resolves
 * the guest's own fopen() (the preopen whose guest name is the longest
 * component prefix; "." / "" preopens take relative paths) and opened beneath
 * that preopen through the sandbox, so it can never reach outside the guest's
 * directories. Files over max_len bytes are refused (EFBIG). Returns 0 (WASI
 * success) and *data (malloc'd) / *len, or a WASI errno (ENOENT, ENOTCAPABLE,
 * EFBIG, ...). */
uint32_t kafu_wasi_read_guest_file(kafu_wasi *w, const char *path, size_t path_len, size_t max_len,
                                   uint8_t **data, size_t *len);

/* ---- WASI constants (preview1) -------------------------------------------- */

enum {
  KAFU_WASI_ESUCCESS = 0,
  KAFU_WASI_E2BIG = 1,
  KAFU_WASI_EACCES = 2,
  KAFU_WASI_EADDRINUSE = 3,
  KAFU_WASI_EADDRNOTAVAIL = 4,
  KAFU_WASI_EAFNOSUPPORT = 5,
  KAFU_WASI_EAGAIN = 6,
  KAFU_WASI_EALREADY = 7,
  KAFU_WASI_EBADF = 8,
  KAFU_WASI_EBADMSG = 9,
  KAFU_WASI_EBUSY = 10,
  KAFU_WASI_ECANCELED = 11,
  KAFU_WASI_ECHILD = 12,
  KAFU_WASI_ECONNABORTED = 13,
  KAFU_WASI_ECONNREFUSED = 14,
  KAFU_WASI_ECONNRESET = 15,
  KAFU_WASI_EDEADLK = 16,
  KAFU_WASI_EDESTADDRREQ = 17,
  KAFU_WASI_EDOM = 18,
  KAFU_WASI_EDQUOT = 19,
  KAFU_WASI_EEXIST = 20,
  KAFU_WASI_EFAULT = 21,
  KAFU_WASI_EFBIG = 22,
  KAFU_WASI_EHOSTUNREACH = 23,
  KAFU_WASI_EIDRM = 24,
  KAFU_WASI_EILSEQ = 25,
  KAFU_WASI_EINPROGRESS = 26,
  KAFU_WASI_EINTR = 27,
  KAFU_WASI_EINVAL = 28,
  KAFU_WASI_EIO = 29,
  KAFU_WASI_EISCONN = 30,
  KAFU_WASI_EISDIR = 31,
  KAFU_WASI_ELOOP = 32,
  KAFU_WASI_EMFILE = 33,
  KAFU_WASI_EMLINK = 34,
  KAFU_WASI_EMSGSIZE = 35,
  KAFU_WASI_EMULTIHOP = 36,
  KAFU_WASI_ENAMETOOLONG = 37,
  KAFU_WASI_ENETDOWN = 38,
  KAFU_WASI_ENETRESET = 39,
  KAFU_WASI_ENETUNREACH = 40,
  KAFU_WASI_ENFILE = 41,
  KAFU_WASI_ENOBUFS = 42,
  KAFU_WASI_ENODEV = 43,
  KAFU_WASI_ENOENT = 44,
  KAFU_WASI_ENOEXEC = 45,
  KAFU_WASI_ENOLCK = 46,
  KAFU_WASI_ENOLINK = 47,
  KAFU_WASI_ENOMEM = 48,
  KAFU_WASI_ENOMSG = 49,
  KAFU_WASI_ENOPROTOOPT = 50,
  KAFU_WASI_ENOSPC = 51,
  KAFU_WASI_ENOSYS = 52,
  KAFU_WASI_ENOTCONN = 53,
  KAFU_WASI_ENOTDIR = 54,
  KAFU_WASI_ENOTEMPTY = 55,
  KAFU_WASI_ENOTRECOVERABLE = 56,
  KAFU_WASI_ENOTSOCK = 57,
  KAFU_WASI_ENOTSUP = 58,
  KAFU_WASI_ENOTTY = 59,
  KAFU_WASI_ENXIO = 60,
  KAFU_WASI_EOVERFLOW = 61,
  KAFU_WASI_EOWNERDEAD = 62,
  KAFU_WASI_EPERM = 63,
  KAFU_WASI_EPIPE = 64,
  KAFU_WASI_EPROTO = 65,
  KAFU_WASI_EPROTONOSUPPORT = 66,
  KAFU_WASI_EPROTOTYPE = 67,
  KAFU_WASI_ERANGE = 68,
  KAFU_WASI_EROFS = 69,
  KAFU_WASI_ESPIPE = 70,
  KAFU_WASI_ESRCH = 71,
  KAFU_WASI_ESTALE = 72,
  KAFU_WASI_ETIMEDOUT = 73,
  KAFU_WASI_ETXTBSY = 74,
  KAFU_WASI_EXDEV = 75,
  KAFU_WASI_ENOTCAPABLE = 76,
};

/* filetype */
enum {
  KAFU_WASI_FILETYPE_UNKNOWN = 0,
  KAFU_WASI_FILETYPE_BLOCK_DEVICE = 1,
  KAFU_WASI_FILETYPE_CHARACTER_DEVICE = 2,
  KAFU_WASI_FILETYPE_DIRECTORY = 3,
  KAFU_WASI_FILETYPE_REGULAR_FILE = 4,
  KAFU_WASI_FILETYPE_SOCKET_DGRAM = 5,
  KAFU_WASI_FILETYPE_SOCKET_STREAM = 6,
  KAFU_WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

/* oflags, fdflags, lookupflags */
enum { KAFU_WASI_O_CREAT = 1, KAFU_WASI_O_DIRECTORY = 2, KAFU_WASI_O_EXCL = 4, KAFU_WASI_O_TRUNC = 8 };
enum {
  KAFU_WASI_FDFLAG_APPEND = 1,
  KAFU_WASI_FDFLAG_DSYNC = 2,
  KAFU_WASI_FDFLAG_NONBLOCK = 4,
  KAFU_WASI_FDFLAG_RSYNC = 8,
  KAFU_WASI_FDFLAG_SYNC = 16,
};
enum { KAFU_WASI_LOOKUP_SYMLINK_FOLLOW = 1 };

/* rights (bit numbers per preview1) */
#define KAFU_WASI_RIGHT_FD_DATASYNC (1ull << 0)
#define KAFU_WASI_RIGHT_FD_READ (1ull << 1)
#define KAFU_WASI_RIGHT_FD_SEEK (1ull << 2)
#define KAFU_WASI_RIGHT_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define KAFU_WASI_RIGHT_FD_SYNC (1ull << 4)
#define KAFU_WASI_RIGHT_FD_TELL (1ull << 5)
#define KAFU_WASI_RIGHT_FD_WRITE (1ull << 6)
#define KAFU_WASI_RIGHT_FD_ADVISE (1ull << 7)
#define KAFU_WASI_RIGHT_FD_ALLOCATE (1ull << 8)
#define KAFU_WASI_RIGHT_PATH_CREATE_DIRECTORY (1ull << 9)
#define KAFU_WASI_RIGHT_PATH_CREATE_FILE (1ull << 10)
#define KAFU_WASI_RIGHT_PATH_LINK_SOURCE (1ull << 11)
#define KAFU_WASI_RIGHT_PATH_LINK_TARGET (1ull << 12)
#define KAFU_WASI_RIGHT_PATH_OPEN (1ull << 13)
#define KAFU_WASI_RIGHT_FD_READDIR (1ull << 14)
#define KAFU_WASI_RIGHT_PATH_READLINK (1ull << 15)
#define KAFU_WASI_RIGHT_PATH_RENAME_SOURCE (1ull << 16)
#define KAFU_WASI_RIGHT_PATH_RENAME_TARGET (1ull << 17)
#define KAFU_WASI_RIGHT_PATH_FILESTAT_GET (1ull << 18)
#define KAFU_WASI_RIGHT_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define KAFU_WASI_RIGHT_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define KAFU_WASI_RIGHT_FD_FILESTAT_GET (1ull << 21)
#define KAFU_WASI_RIGHT_FD_FILESTAT_SET_SIZE (1ull << 22)
#define KAFU_WASI_RIGHT_FD_FILESTAT_SET_TIMES (1ull << 23)
#define KAFU_WASI_RIGHT_PATH_SYMLINK (1ull << 24)
#define KAFU_WASI_RIGHT_PATH_REMOVE_DIRECTORY (1ull << 25)
#define KAFU_WASI_RIGHT_PATH_UNLINK_FILE (1ull << 26)
#define KAFU_WASI_RIGHT_POLL_FD_READWRITE (1ull << 27)
#define KAFU_WASI_RIGHT_SOCK_SHUTDOWN (1ull << 28)
#define KAFU_WASI_RIGHT_SOCK_ACCEPT (1ull << 29)
#define KAFU_WASI_RIGHTS_ALL ((1ull << 30) - 1)

/* ---- fd table export / restore (for snapshots) ----------------------------- */

typedef enum kafu_fd_kind {
  KAFU_FD_STDIO = 0,   /* bound to the node's stdio stream `index` (0/1/2); offset not carried */
  KAFU_FD_PREOPEN = 1, /* a preopened directory, matched by guest path (`preopen`) */
  KAFU_FD_FILE = 2,    /* file opened by the guest: reopened by preopen + path, seeked to offset */
  KAFU_FD_DIR = 3,     /* directory opened by the guest: reopened by preopen + path */
  KAFU_FD_LISTEN = 4,  /* configured listening socket: re-bound to this node's listen_fds[index] */
  KAFU_FD_SOCKET = 5,  /* accepted connection: homed (see kafu_wasi_home), else restore rejects it */
} kafu_fd_kind;

typedef struct kafu_fd_entry {
  uint32_t fd;      /* guest fd number */
  uint8_t kind;     /* kafu_fd_kind */
  uint8_t filetype; /* KAFU_WASI_FILETYPE_* */
  char *preopen;    /* PREOPEN/FILE/DIR: guest path of the preopen it was opened under */
  char *path;       /* FILE/DIR: normalised path relative to that preopen ("." = the preopen itself) */
  uint32_t oflags;  /* KAFU_WASI_O_* used at open (CREAT/EXCL/TRUNC are not re-applied on restore) */
  uint64_t rights_base, rights_inheriting;
  uint16_t fdflags; /* KAFU_WASI_FDFLAG_* */
  uint64_t offset;  /* FILE: current file offset */
  uint32_t index;   /* STDIO: host stream 0/1/2; LISTEN: index into config listen_fds */
  /* Homed resources (sockets, stdin; see kafu_wasi_home): the node holding the
   * real fd, NULL when not homed. */
  char *home;
  uint64_t home_gen; /* that node's registry generation; 0 = a configured listening socket */
  uint64_t handle;   /* the resource's id in that registry */
  uint8_t *pending;  /* bytes read ahead from it, not yet consumed by the program */
  uint32_t npending; /* <= KAFU_WASI_READAHEAD_MAX */
} kafu_fd_entry;

/* Export the whole fd table (sorted by fd). *out is malloc'd; free it with
 * kafu_fd_entries_free. Returns 0 or negative + err. */
int kafu_wasi_fd_export(kafu_wasi *w, kafu_fd_entry **out, size_t *n, kafu_err *err);
/* Replace the fd table of w by the given entries: reopen every file/dir by path
 * under the preopen of THIS context with the same guest path, same flags and
 * rights, seek to the saved offset; a homed resource is local again when w's
 * home registry serves its home, else a remote entry. On any failure (missing
 * preopen/file, an unhomed socket connection, file type changed, ...) returns
 * negative with an error naming the fd and path, and leaves w's table
 * unchanged. */
int kafu_wasi_fd_restore(kafu_wasi *w, const kafu_fd_entry *e, size_t n, kafu_err *err);
void kafu_fd_entries_free(kafu_fd_entry *e, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_WASI_H */

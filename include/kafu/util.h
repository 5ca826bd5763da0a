/*
 * util.h — small shared helpers used by every stage: logging (with a per-object
 * prefix), errors, files, hashing, growable buffers, paths, JSON strings,
 * command-line option values, child processes, node ids and the tuning knobs
 * read once from the environment. Public symbols are prefixed kafu_.
 *
 * Error convention (libuv style): functions return 0 on success and a negative
 * value on failure; a human-readable message goes into a caller-provided
 * kafu_err (so the CLI can print it with file/line/node context).
 */
#ifndef KAFU_UTIL_H
#define KAFU_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KAFU_VERSION "0.1.0"

/* ---- errors --------------------------------------------------------------- */

typedef struct kafu_err {
  int code;        /* negative errno-style or KAFU_E* */
  char msg[1024];  /* full message, no trailing newline */
} kafu_err;

enum {
  KAFU_EINVAL = -22,   /* bad input */
  KAFU_EIO = -5,       /* I/O failure */
  KAFU_ENOMEM = -12,   /* allocation failure */
  KAFU_ENOENT = -2,    /* missing file */
  KAFU_EFORMAT = -1000,/* malformed wasm/snapshot/config */
  KAFU_EUNSUP = -1001, /* unsupported feature */
  KAFU_ETRAP = -1002,  /* guest trapped */
  KAFU_EEXIT = -1003,  /* guest called proc_exit */
};

/* Set err (may be NULL) to a formatted message; returns code for chaining:
 *   return kafu_err_set(err, KAFU_EINVAL, "%s: bad magic", path); */
int kafu_err_set(kafu_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message: "ctx: old message". */
int kafu_err_prefix(kafu_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- logging -------------------------------------------------------------- */

typedef enum { KAFU_LOG_ERROR, KAFU_LOG_WARN, KAFU_LOG_INFO, KAFU_LOG_DEBUG } kafu_log_level;

/* Global log threshold; set from $KAFU_LOG (error|warn|info|debug, see
 * kafu_tunables) or -v/-q flags. Logs go to stderr as
 * "YYYY-mm-ddTHH:MM:SS.mmmZ LEVEL [prefix: ]message", one line per call, whole
 * lines even from several threads. Library code logs only through here (never
 * fprintf(stderr) around the logger). */
void kafu_log_set_level(kafu_log_level lvl);
kafu_log_level kafu_log_get_level(void);
/* Apply $KAFU_LOG (through kafu_tunables()). */
void kafu_log_init_from_env(void);
/* Where log lines go: f, or stderr when f is NULL (tests capture logs this way). */
void kafu_log_set_output(FILE *f);
void kafu_log(kafu_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define kafu_error(...) kafu_log(KAFU_LOG_ERROR, __VA_ARGS__)
#define kafu_warn(...) kafu_log(KAFU_LOG_WARN, __VA_ARGS__)
#define kafu_info(...) kafu_log(KAFU_LOG_INFO, __VA_ARGS__)
#define kafu_debug(...) kafu_log(KAFU_LOG_DEBUG, __VA_ARGS__)

/* Log context: the prefix of one object's log lines and errors, set once when
 * the object is created ("node cloud", "engine", "snapify") and passed to the
 * *c variants instead of writing "node %s: " by hand in every message:
 *
 *   kafu_log_ctx_init(&n->log, "node %s", n->self);
 *   kafu_infoc(&n->log, "listening on %s", addr);   // "... INFO node cloud: listening on ..."
 *   return kafu_err_setc(&n->log, err, KAFU_EIO, "peer %s: %s", peer, why);
 *
 * A zeroed kafu_log_ctx (or NULL) means no prefix. Messages longer than the log
 * line (4 KiB) are cut. */
typedef struct kafu_log_ctx {
  char prefix[96];
} kafu_log_ctx;
void kafu_log_ctx_init(kafu_log_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kafu_logc(const kafu_log_ctx *c, kafu_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kafu_vlogc(const kafu_log_ctx *c, kafu_log_level lvl, const char *fmt, va_list ap);
#define kafu_errorc(c, ...) kafu_logc((c), KAFU_LOG_ERROR, __VA_ARGS__)
#define kafu_warnc(c, ...) kafu_logc((c), KAFU_LOG_WARN, __VA_ARGS__)
#define kafu_infoc(c, ...) kafu_logc((c), KAFU_LOG_INFO, __VA_ARGS__)
#define kafu_debugc(c, ...) kafu_logc((c), KAFU_LOG_DEBUG, __VA_ARGS__)
/* Multi-line text (a child's output, a listing): one log line per line of text,
 * each with c's prefix; a trailing newline adds no empty line. */
void kafu_log_lines(const kafu_log_ctx *c, kafu_log_level lvl, const char *text, size_t len);
/* kafu_err_set with c's prefix: "node cloud: <message>". */
int kafu_err_setc(const kafu_log_ctx *c, kafu_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- growable byte buffer ------------------------------------------------- */

typedef struct kafu_buf {
  uint8_t *data;
  size_t len, cap;
} kafu_buf;

int kafu_buf_reserve(kafu_buf *b, size_t extra);
int kafu_buf_append(kafu_buf *b, const void *p, size_t n);
int kafu_buf_printf(kafu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kafu_buf_putc(kafu_buf *b, char c);
/* NUL-terminate without counting the NUL in len; returns (char*)data. */
char *kafu_buf_cstr(kafu_buf *b);
void kafu_buf_free(kafu_buf *b);

/* ---- files ---------------------------------------------------------------- */

/* Read a whole file. *out is malloc'd (caller frees), NUL-terminated beyond len. */
int kafu_read_file(const char *path, uint8_t **out, size_t *len, kafu_err *err);
/* Write atomically: write to "path.tmp.<pid>.<n>", fsync, rename. */
int kafu_write_file_atomic(const char *path, const void *data, size_t len, kafu_err *err);
/* mkdir -p */
int kafu_mkdirs(const char *path, unsigned mode, kafu_err *err);
bool kafu_file_exists(const char *path);

/* ---- paths ---------------------------------------------------------------- */

/* Directory containing the running kafu executable (from /proc/self/exe). */
const char *kafu_exe_dir(void);
/* Share dir with guest support files: $KAFU_SHARE_DIR, else <exe>/../share/kafu,
 * else the source tree (build-tree runs). Returns a static string. */
const char *kafu_share_dir(void);
/* Include dir that holds kafu.h: <exe>/../include or the source tree. */
const char *kafu_include_dir(void);
/* join a and b with '/', malloc'd */
char *kafu_path_join(const char *a, const char *b);
/* dirname of path, malloc'd ("." if none) */
char *kafu_path_dirname(const char *path);
/* basename pointer into path */
const char *kafu_path_basename(const char *path);

/* ---- hashing -------------------------------------------------------------- */

#define KAFU_SHA256_LEN 32
void kafu_sha256(const void *data, size_t len, uint8_t out[KAFU_SHA256_LEN]);
/* lowercase hex of n bytes into out (2n+1 bytes) */
void kafu_hex(const uint8_t *in, size_t n, char *out);
/* A fresh secret from the kernel's CSPRNG: 32 random bytes as 64 lowercase hex
 * characters (out: KAFU_TOKEN_HEX_LEN + 1 bytes). The cluster token `kafu
 * launch` and `kafu kustomize build` generate. */
#define KAFU_TOKEN_HEX_LEN 64
int kafu_random_token(char *out, kafu_err *err);
/* fast non-cryptographic 64-bit hash (xxh3) */
uint64_t kafu_hash64(const void *data, size_t len);

/* ---- time ----------------------------------------------------------------- */

uint64_t kafu_now_ns(void); /* CLOCK_MONOTONIC */
double kafu_ms_since(uint64_t start_ns);

/* ---- JSON strings ----------------------------------------------------------- */

/* Write s as a JSON string literal: '"' and '\\' escaped, \n \r \t as such,
 * other control characters and DEL as \u00XX, every other byte (UTF-8
 * included) as is. NULL is written as the JSON literal null (a missing value);
 * a caller that wants "" for it passes "". The one escaper of the project:
 * events files, `kafu inspect --json`, the cluster's HTTP bodies.
 * kafu_json_quote returns 0 or KAFU_ENOMEM; kafu_json_fquote 0 or KAFU_EIO. */
int kafu_json_quote(kafu_buf *b, const char *s);
int kafu_json_fquote(FILE *f, const char *s);

/* Reading the little JSON Kafu exchanges (the cluster's HTTP bodies, events
 * lines): look up a top-level key of a JSON object text (nested values are
 * skipped over; nothing is read past len). Returns 0, KAFU_ENOENT (no such
 * key) or KAFU_EFORMAT (not an object / wrong type). Strings are unescaped
 * into out (truncated to cap-1 bytes, always NUL-terminated). */
int kafu_json_get_str(const char *json, size_t len, const char *key, char *out, size_t cap);
int kafu_json_get_int(const char *json, size_t len, const char *key, long long *out);
int kafu_json_get_double(const char *json, size_t len, const char *key, double *out);
int kafu_json_get_bool(const char *json, size_t len, const char *key, bool *out);

/* ---- command-line option values ------------------------------------------- */

/* Is argv[*i] the option `name` (a long option, "--events") or its `alias`
 * (may be NULL; "-o" or another long name), taking a value? Accepted forms:
 *   --name VALUE   --name=VALUE   ALIAS VALUE   and, for a one-letter alias,
 *   -oVALUE; for a long alias, --alias=VALUE.
 * Returns 1 with *value set (and *i moved past a separate VALUE), 0 when argv[*i]
 * is something else (*value untouched), or KAFU_EINVAL when the value is
 * missing, with err set to "option '--name' needs a value" (the spelling the
 * user typed). Commands print that as a usage error and exit 2. A VALUE that
 * starts with '-' is taken as is (like getopt). */
int kafu_opt_value(int argc, char **argv, int *i, const char *name, const char *alias, const char **value,
                   kafu_err *err);

/* The value of `--env NAME=VALUE` / `--env NAME`, as every command takes it:
 * *out = a malloc'd "NAME=VALUE" (NAME alone: kafu's own value of NAME) and
 * 1; 0 when NAME alone is not set here (then nothing is passed, like
 * wasmtime); KAFU_EINVAL for an empty NAME. */
int kafu_env_arg(const char *arg, char **out, kafu_err *err);

/* ---- progress of long steps ---------------------------------------------------- */

/* Say on stderr (at INFO) what a step that takes long is doing: nothing when
 * it ends within $KAFU_PROGRESS_MS (default 2000 when stderr is a terminal,
 * else nothing unless the variable is set; 0 = say it at once), else
 * "<prefix>: <what> ...", "<prefix>: still <what> (N s)" every 10 s, and at
 * the end "<prefix>: <what>: done in N s". A thread does the waiting; end
 * every started step with kafu_progress_end (ok: the step succeeded). NULL
 * (out of memory) is accepted by kafu_progress_end. */
typedef struct kafu_progress kafu_progress;
kafu_progress *kafu_progress_start(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kafu_progress_end(kafu_progress *p, bool ok);

/* ---- child processes -------------------------------------------------------- */

/* Where one standard stream of a child goes. Zero = inherited. */
typedef enum {
  KAFU_IO_INHERIT = 0, /* the parent's stream */
  KAFU_IO_NULL,        /* /dev/null */
  KAFU_IO_FD,          /* the parent's descriptor .fd (not closed) */
  KAFU_IO_FILE,        /* .path: read (stdin), or created/truncated with mode 0644 */
  KAFU_IO_CAPTURE,     /* stdout/stderr, kafu_proc_run only: appended to its kafu_buf */
  KAFU_IO_STDOUT,      /* stderr only: wherever stdout goes (2>&1) */
} kafu_io_kind;

typedef struct kafu_io {
  kafu_io_kind kind;
  int fd;           /* KAFU_IO_FD */
  const char *path; /* KAFU_IO_FILE */
} kafu_io;

typedef struct kafu_proc_opts {
  kafu_io in, out, err;
  bool die_with_parent; /* the child gets SIGTERM when the parent dies (Linux PR_SET_PDEATHSIG) */
} kafu_proc_opts;

/* Start argv[0] with argv (searched in PATH unless it contains a '/'); o may be
 * NULL (all streams inherited). The child starts with an empty signal mask and
 * SIGINT/SIGTERM/SIGPIPE/SIGCHLD at their defaults (so a parent that ignores
 * SIGPIPE does not pass that on). Returns 0 and *pid, or < 0 with err set when
 * it could not start ("cannot run wasm2c: not found in PATH", "... Permission
 * denied"): exec failures are reported here, not as an exit status 127. */
int kafu_proc_spawn(char *const argv[], const kafu_proc_opts *o, pid_t *pid, kafu_err *err);
/* Wait for a child of kafu_proc_spawn. Returns 0 when it ended, with *status =
 * its exit code (0-255) or 128+N when signal N killed it; 1 when nohang and it
 * is still running; < 0 + err when waitpid failed. Retries on EINTR. */
int kafu_proc_wait(pid_t pid, bool nohang, int *status, kafu_err *err);
/* Spawn, read what KAFU_IO_CAPTURE streams write into *capture (appended,
 * NUL-terminated; stdout and stderr interleaved when both are captured), wait.
 * Returns the status as kafu_proc_wait does, or < 0 + err when it could not
 * start. capture may be NULL only when no stream is KAFU_IO_CAPTURE. */
int kafu_proc_run(char *const argv[], const kafu_proc_opts *o, kafu_buf *capture, kafu_err *err);

/* Run fn(ctx) in a forked child without exec, to isolate code that may crash
 * or exit() on its own (Binaryen's fatal errors), with the child's streams set
 * per o (no capture: use KAFU_IO_FD with a pipe or memfd), and wait. stdio is
 * flushed first; the child flushes stdout/stderr and _exits with fn's result
 * (0-255). Returns that status, 128+N when signal N ended the child, or < 0 +
 * err when it could not start. Only for code that does not need the parent's
 * other threads. */
int kafu_proc_fork_run(int (*fn)(void *ctx), void *ctx, const kafu_proc_opts *o, kafu_err *err);
/* "exited with status N" or "was killed by signal N (Aborted)", into buf. */
const char *kafu_proc_status_text(int status, char *buf, size_t cap);

/* ---- node ids ------------------------------------------------------------------ */

/* A node id (the keys of `nodes:` in kafu-config.yaml and the names in
 * KAFU_DEST) is 1-63 characters of A-Z a-z 0-9 '-' '_', starting and ending
 * with a letter or digit. 63 and no '.' because ids become DNS labels and
 * Kubernetes label values (kafu-server-<id> Services, the kafu-node-id label);
 * upper case and '_' stay allowed for configs written for the original Kafu,
 * and `kafu kustomize` additionally requires lowercase without '_' (RFC 1123
 * names). The one rule for config loading and Snapify's annotation check. */
#define KAFU_NODE_ID_MAX 63
/* On false, *why (may be NULL) points to a static reason ("must not be empty"). */
bool kafu_node_id_valid(const char *id, const char **why);

/* true for 127.0.0.0/8, ::1 (optionally bracketed) and "localhost". */
bool kafu_addr_is_loopback(const char *addr);

/* ---- tuning knobs ---------------------------------------------------------------- */

/* Every KAFU_* environment variable the library reads, read once (on the first
 * call of kafu_tunables()) with its default filled in. docs/tunables.md lists
 * each with its default and purpose; keep the two in step. Strings are NULL
 * when unset or empty. A malformed number is reported once (a warning) and the
 * default is used. */
typedef struct kafu_tunables {
  /* logging */
  const char *log;      /* KAFU_LOG: error|warn|info|debug (NULL: info) */
  uint64_t progress_ms; /* KAFU_PROGRESS_MS: a step this long gets progress lines (UINT64_MAX: unset) */
  /* where Kafu finds things */
  const char *share_dir;   /* KAFU_SHARE_DIR: guest support files (NULL: next to the binary) */
  const char *include_dir; /* KAFU_INCLUDE_DIR: the dir holding kafu.h */
  const char *sdk_path;    /* KAFU_SDK_PATH: original-SDK layout root (libexec/kafu_*) for `kafu list` */
  const char *cache_dir;   /* KAFU_CACHE_DIR: engine cache (NULL: $XDG_CACHE_HOME/kafu, ~/.cache/kafu) */
  /* kafu cc: the wasm32-wasi toolchain */
  const char *clang;             /* KAFU_CLANG (NULL: clang, clang-14 in PATH) */
  const char *wasm_ld;           /* KAFU_WASM_LD (NULL: wasm-ld, wasm-ld-14) */
  const char *wasi_sysroot;      /* KAFU_WASI_SYSROOT (default "/usr") */
  const char *clang_rt_builtins; /* KAFU_CLANG_RT_BUILTINS (NULL: found next to clang) */
  /* Snapify */
  bool snapify_inprocess; /* KAFU_SNAPIFY_INPROCESS: run Binaryen in this process (debugging) */
  /* the wasm2c AOT engine */
  const char *cc;              /* KAFU_CC: C compiler (NULL: cc, gcc, clang) */
  const char *wasm2c;          /* KAFU_WASM2C (NULL: wasm2c in PATH) */
  const char *wasm_rt_include; /* KAFU_WASM_RT_INCLUDE: dir of wasm-rt.h */
  const char *aot_cflags;      /* KAFU_AOT_CFLAGS: extra compiler flags */
  int aot_jobs;                /* KAFU_AOT_JOBS: parallel compiles, 1-32 (0: automatic) */
  bool aot_keep;               /* KAFU_AOT_KEEP: keep the build directory */
  bool no_addr2line;           /* KAFU_NO_ADDR2LINE: no addr2line for trap backtraces */
  /* WASI host */
  bool wasi_no_openat2; /* KAFU_WASI_NO_OPENAT2: use the component-walk fallback */
  /* migration: dirty pages (benchmarking) */
  const char *dirty_tracking; /* KAFU_DIRTY_TRACKING: "auto" (default) or "hash" */
  bool wp_release_bulk;       /* KAFU_WP_RELEASE=bulk: the old all-or-nothing release */
  uint32_t wp_gap;            /* KAFU_WP_GAP: pages (default 4) */
  uint32_t wp_min;            /* KAFU_WP_MIN: pages (default 2) */
  /* migration: transport (benchmarking) */
  uint64_t send_buffer_max;  /* KAFU_SEND_BUFFER_MAX: bytes (default 16 MiB; 0: always stream) */
  uint64_t send_stream_rate; /* KAFU_SEND_STREAM_RATE: bytes/ns (default 2; 0: never switch) */
  bool baseline_query;       /* KAFU_BASELINE_QUERY=1: GET /baseline before every send */
  bool engine_inline;        /* KAFU_ENGINE_INLINE (default on; 0: always the mailbox) */
  int http_expect;           /* KAFU_HTTP_EXPECT: -1 automatic (default), 0 off, 1 on */
  /* kafu doctor: probe overrides (testing) */
  const char *binaryen_lib; /* KAFU_BINARYEN_LIB */
  const char *wasm_rt_impl; /* KAFU_WASM_RT_IMPL */
  const char *llvm_ar;      /* KAFU_LLVM_AR */
  const char *node;         /* KAFU_NODE */
} kafu_tunables;

#define KAFU_TUNE_WP_GAP 4u
#define KAFU_TUNE_WP_MIN 2u
#define KAFU_TUNE_SEND_BUFFER_MAX (16ull << 20)
#define KAFU_TUNE_SEND_STREAM_RATE 2ull

/* The process's knobs: read from the environment on the first call
 * (thread-safe), the same pointer afterwards. Never NULL. */
const kafu_tunables *kafu_tunables_get(void);
/* Read the environment again (tests that setenv; not while other threads read
 * the knobs). */
void kafu_tunables_reload(void);
/* Fill t from the environment; malformed numbers are described in warn (may be
 * NULL) and get their default. The strings point into the environment. */
void kafu_tunables_read(kafu_tunables *t, kafu_buf *warn);

/* ---- misc ----------------------------------------------------------------- */

/* Find an executable in PATH; returns malloc'd path or NULL. */
char *kafu_which(const char *name);
/* Levenshtein distance, for "did you mean" hints. */
int kafu_edit_distance(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_UTIL_H */

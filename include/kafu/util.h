/*
 * util.h — small shared helpers used by every stage: logging, errors, files,
 * hashing, growable buffers, paths. Public symbols are prefixed kafu_.
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

/* Global log threshold; set from $KAFU_LOG (error|warn|info|debug) or -v flags.
 * Logs go to stderr as "YYYY-mm-ddTHH:MM:SS.mmmZ LEVEL message". */
void kafu_log_set_level(kafu_log_level lvl);
kafu_log_level kafu_log_get_level(void);
void kafu_log_init_from_env(void);
void kafu_log(kafu_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define kafu_error(...) kafu_log(KAFU_LOG_ERROR, __VA_ARGS__)
#define kafu_warn(...) kafu_log(KAFU_LOG_WARN, __VA_ARGS__)
#define kafu_info(...) kafu_log(KAFU_LOG_INFO, __VA_ARGS__)
#define kafu_debug(...) kafu_log(KAFU_LOG_DEBUG, __VA_ARGS__)

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
/* fast non-cryptographic 64-bit hash (xxh3) */
uint64_t kafu_hash64(const void *data, size_t len);

/* ---- time ----------------------------------------------------------------- */

uint64_t kafu_now_ns(void); /* CLOCK_MONOTONIC */
double kafu_ms_since(uint64_t start_ns);

/* ---- misc ----------------------------------------------------------------- */

/* Run argv (argv[0] searched in PATH), wait; returns exit status, or -1 when it
 * could not start (err set). stdout/stderr are inherited. */
int kafu_run_process(char *const argv[], kafu_err *err);
/* Find an executable in PATH; returns malloc'd path or NULL. */
char *kafu_which(const char *name);
/* Levenshtein distance, for "did you mean" hints. */
int kafu_edit_distance(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_UTIL_H */

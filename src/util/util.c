/*
 * util.c — errors, logging (with per-object prefixes), buffers, files, paths,
 * hashing, node ids. Child processes are in proc.c, JSON strings in json_out.c,
 * option values in opt.c, the environment's knobs in tunables.c.
 * Everything here is small and dependency-light; stages build on it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kafu/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#ifndef KAFU_SOURCE_DIR
#define KAFU_SOURCE_DIR "."
#endif

/* ---- errors --------------------------------------------------------------- */

int kafu_err_set(kafu_err *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

int kafu_err_prefix(kafu_err *err, const char *fmt, ...) {
  if (!err) return 0;
  char pre[256], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pre, sizeof pre, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  snprintf(err->msg, sizeof err->msg, "%.255s: %.760s", pre, old);
  return err->code;
}

/* ---- logging -------------------------------------------------------------- */

static kafu_log_level g_log_level = KAFU_LOG_INFO;
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *g_log_out; /* NULL = stderr */

void kafu_log_set_level(kafu_log_level lvl) { g_log_level = lvl; }
kafu_log_level kafu_log_get_level(void) { return g_log_level; }

void kafu_log_set_output(FILE *f) {
  pthread_mutex_lock(&g_log_mu);
  g_log_out = f;
  pthread_mutex_unlock(&g_log_mu);
}

void kafu_log_init_from_env(void) {
  const char *v = kafu_tunables_get()->log;
  if (!v) return;
  if (!strcmp(v, "error")) g_log_level = KAFU_LOG_ERROR;
  else if (!strcmp(v, "warn")) g_log_level = KAFU_LOG_WARN;
  else if (!strcmp(v, "info")) g_log_level = KAFU_LOG_INFO;
  else if (!strcmp(v, "debug")) g_log_level = KAFU_LOG_DEBUG;
}

/* "TIME LEVEL " into line; returns its length */
static size_t log_head(char *line, size_t cap, kafu_log_level lvl) {
  static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  int n = snprintf(line, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %5s ", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[lvl]);
  return n < 0 ? 0 : (size_t)n;
}

static void log_emit(const char *line) {
  pthread_mutex_lock(&g_log_mu);
  FILE *f = g_log_out ? g_log_out : stderr;
  fprintf(f, "%s\n", line);
  fflush(f);
  pthread_mutex_unlock(&g_log_mu);
}

void kafu_vlogc(const kafu_log_ctx *c, kafu_log_level lvl, const char *fmt, va_list ap) {
  if (lvl > g_log_level) return;
  char line[4096];
  size_t n = log_head(line, sizeof line, lvl);
  if (c && c->prefix[0]) {
    int k = snprintf(line + n, sizeof line - n, "%s: ", c->prefix);
    if (k > 0) n += (size_t)k < sizeof line - n ? (size_t)k : sizeof line - n - 1;
  }
  vsnprintf(line + n, sizeof line - n, fmt, ap);
  log_emit(line);
}

void kafu_log(kafu_log_level lvl, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kafu_vlogc(NULL, lvl, fmt, ap);
  va_end(ap);
}

void kafu_logc(const kafu_log_ctx *c, kafu_log_level lvl, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kafu_vlogc(c, lvl, fmt, ap);
  va_end(ap);
}

void kafu_log_ctx_init(kafu_log_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->prefix, sizeof c->prefix, fmt, ap);
  va_end(ap);
}

void kafu_log_lines(const kafu_log_ctx *c, kafu_log_level lvl, const char *text, size_t len) {
  if (lvl > g_log_level) return;
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    while (j < len && text[j] != '\n') j++;
    size_t l = j - i;
    if (l > 0 && text[j - 1] == '\r') l--;
    kafu_logc(c, lvl, "%.*s", (int)(l > 4000 ? 4000 : l), text + i);
    i = j + 1;
  }
}

int kafu_err_setc(const kafu_log_ctx *c, kafu_err *err, int code, const char *fmt, ...) {
  if (!err) return code;
  size_t n = 0;
  if (c && c->prefix[0]) {
    int k = snprintf(err->msg, sizeof err->msg, "%s: ", c->prefix);
    if (k > 0) n = (size_t)k < sizeof err->msg ? (size_t)k : sizeof err->msg - 1;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
  va_end(ap);
  err->code = code;
  return code;
}

/* ---- buffers -------------------------------------------------------------- */

int kafu_buf_reserve(kafu_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  uint8_t *p = realloc(b->data, cap);
  if (!p) return KAFU_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int kafu_buf_append(kafu_buf *b, const void *p, size_t n) {
  if (kafu_buf_reserve(b, n)) return KAFU_ENOMEM;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
  return 0;
}

int kafu_buf_putc(kafu_buf *b, char c) { return kafu_buf_append(b, &c, 1); }

int kafu_buf_printf(kafu_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || kafu_buf_reserve(b, (size_t)n + 1)) {
    va_end(ap2);
    return KAFU_ENOMEM;
  }
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
  return 0;
}

char *kafu_buf_cstr(kafu_buf *b) {
  if (kafu_buf_reserve(b, 0)) return NULL;
  b->data[b->len] = 0;
  return (char *)b->data;
}

void kafu_buf_free(kafu_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- files ---------------------------------------------------------------- */

int kafu_read_file(const char *path, uint8_t **out, size_t *len, kafu_err *err) {
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return kafu_err_set(err, e == ENOENT ? KAFU_ENOENT : -e, "%s: %s", path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return kafu_err_set(err, KAFU_EINVAL, "%s: is a directory", path);
  }
  kafu_buf b = {0};
  if (st.st_size > 0 && kafu_buf_reserve(&b, (size_t)st.st_size)) {
    close(fd);
    return kafu_err_set(err, KAFU_ENOMEM, "%s: out of memory", path);
  }
  for (;;) {
    if (kafu_buf_reserve(&b, 65536)) {
      close(fd);
      kafu_buf_free(&b);
      return kafu_err_set(err, KAFU_ENOMEM, "%s: out of memory", path);
    }
    ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      kafu_buf_free(&b);
      return kafu_err_set(err, -e, "%s: read: %s", path, strerror(e));
    }
    if (n == 0) break;
    b.len += (size_t)n;
  }
  close(fd);
  b.data[b.len] = 0;
  *out = b.data;
  *len = b.len;
  return 0;
}

int kafu_write_file_atomic(const char *path, const void *data, size_t len, kafu_err *err) {
  static int counter;
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d.%d", path, (int)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return kafu_err_set(err, -errno, "%s: cannot write: %s", path, strerror(errno));
  const uint8_t *p = data;
  size_t left = len;
  while (left) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp);
      return kafu_err_set(err, -e, "%s: write: %s", path, strerror(e));
    }
    p += n;
    left -= (size_t)n;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return kafu_err_set(err, -e, "%s: %s", path, strerror(e));
  }
  return 0;
}

int kafu_mkdirs(const char *path, unsigned mode, kafu_err *err) {
  char buf[PATH_MAX];
  if (strlen(path) >= sizeof buf) return kafu_err_set(err, KAFU_EINVAL, "%s: path too long", path);
  strcpy(buf, path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
      return kafu_err_set(err, -errno, "%s: cannot create directory: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, mode) != 0 && errno != EEXIST)
    return kafu_err_set(err, -errno, "%s: cannot create directory: %s", buf, strerror(errno));
  return 0;
}

bool kafu_file_exists(const char *path) { return access(path, F_OK) == 0; }

/* ---- paths ---------------------------------------------------------------- */

const char *kafu_exe_dir(void) {
  static char dir[PATH_MAX];
  if (!dir[0]) {
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) {
      strcpy(dir, ".");
    } else {
      dir[n] = 0;
      char *slash = strrchr(dir, '/');
      if (slash) *slash = 0;
    }
  }
  return dir;
}

static const char *first_existing(char *slot, size_t cap, const char *e, const char *rel_from_exe,
                                  const char *src_rel, const char *probe) {
  if (slot[0]) return slot;
  if (e && *e) {
    snprintf(slot, cap, "%s", e);
    return slot;
  }
  char cand[PATH_MAX], test[PATH_MAX + 64];
  snprintf(cand, sizeof cand, "%s/%s", kafu_exe_dir(), rel_from_exe);
  snprintf(test, sizeof test, "%s/%s", cand, probe);
  if (access(test, F_OK) == 0) {
    char *r = realpath(cand, NULL);
    snprintf(slot, cap, "%s", r ? r : cand);
    free(r);
    return slot;
  }
  snprintf(slot, cap, "%s/%s", KAFU_SOURCE_DIR, src_rel);
  return slot;
}

const char *kafu_share_dir(void) {
  static char dir[PATH_MAX];
  return first_existing(dir, sizeof dir, kafu_tunables_get()->share_dir, "../share/kafu", ".", "guest");
}

const char *kafu_include_dir(void) {
  static char dir[PATH_MAX];
  return first_existing(dir, sizeof dir, kafu_tunables_get()->include_dir, "../include", "include", "kafu.h");
}

char *kafu_path_join(const char *a, const char *b) {
  if (!a || !*a || b[0] == '/') return strdup(b);
  size_t la = strlen(a);
  char *r = malloc(la + strlen(b) + 2);
  if (!r) return NULL;
  sprintf(r, "%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
  return r;
}

char *kafu_path_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

const char *kafu_path_basename(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* ---- hashing -------------------------------------------------------------- */

void kafu_sha256(const void *data, size_t len, uint8_t out[KAFU_SHA256_LEN]) {
  SHA256(data, len, out);
}

void kafu_hex(const uint8_t *in, size_t n, char *out) {
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hx[in[i] >> 4];
    out[2 * i + 1] = hx[in[i] & 15];
  }
  out[2 * n] = 0;
}

int kafu_random_token(char *out, kafu_err *err) {
  uint8_t b[KAFU_TOKEN_HEX_LEN / 2];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t r = getrandom(b + got, sizeof b - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return kafu_err_set(err, KAFU_EIO, "getrandom: %s", strerror(errno));
    got += (size_t)r;
  }
  kafu_hex(b, sizeof b, out);
  explicit_bzero(b, sizeof b);
  return 0;
}

uint64_t kafu_hash64(const void *data, size_t len) { return XXH3_64bits(data, len); }

/* ---- time ----------------------------------------------------------------- */

uint64_t kafu_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double kafu_ms_since(uint64_t start_ns) { return (double)(kafu_now_ns() - start_ns) / 1e6; }

/* ---- node ids ---------------------------------------------------------------- */

bool kafu_node_id_valid(const char *id, const char **why) {
  const char *w = NULL;
  size_t n = id ? strlen(id) : 0;
  if (n == 0)
    w = "must not be empty";
  else if (n > KAFU_NODE_ID_MAX)
    w = "is longer than 63 characters";
  else if (!isalnum((unsigned char)id[0]) || !isalnum((unsigned char)id[n - 1]))
    w = "must start and end with a letter or digit";
  else
    for (size_t i = 0; i < n && !w; i++)
      if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
        w = "may only contain letters, digits, '-' and '_'";
  if (why) *why = w;
  return w == NULL;
}

/* ---- misc ----------------------------------------------------------------- */

char *kafu_which(const char *name) {
  if (strchr(name, '/')) return access(name, X_OK) == 0 ? strdup(name) : NULL;
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  const char *p = path;
  while (*p) {
    const char *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    char cand[PATH_MAX];
    snprintf(cand, sizeof cand, "%.*s/%s", (int)n, n ? p : ".", name);
    if (access(cand, X_OK) == 0) return strdup(cand);
    if (!colon) break;
    p = colon + 1;
  }
  return NULL;
}

int kafu_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 1000;
  int d[65][65];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      int x = d[i - 1][j] + 1, y = d[i][j - 1] + 1;
      d[i][j] = c < x ? (c < y ? c : y) : (x < y ? x : y);
    }
  return d[la][lb];
}

bool kafu_addr_is_loopback(const char *addr) {
  if (!addr) return false;
  if (!strcasecmp(addr, "localhost") || !strcmp(addr, "::1") || !strcmp(addr, "[::1]")) return true;
  struct in_addr a4;
  if (inet_pton(AF_INET, addr, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  struct in6_addr a6;
  if (inet_pton(AF_INET6, addr, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

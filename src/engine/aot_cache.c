/*
 * aot_cache.c — the wasm2c AOT backend's artifact cache: find a module's
 * compiled shared object by content, build it once (aot_build.c) when it is
 * missing, seal and store it, and load it with dlopen.
 *
 * Layout:  <cache>/aot/<module sha256>/<glue16>-<tool16>.so
 *   glue16  first 16 hex digits of the glue/engine version hash: which engine
 *           ABI and generated code the artifact was built for
 *   tool16  hash of the toolchain identity: C compiler path + `--version`,
 *           `wasm2c --version`, wasm-rt.h contents, compiler flags
 * Every artifact ends with a 24-byte trailer (xxh3 of the bytes before it,
 * their length, magic "KAFUSO01"); ELF loaders ignore trailing bytes. A file
 * whose trailer does not verify, or that dlopen rejects, or whose embedded
 * descriptor names another key/module, is deleted and rebuilt.
 *
 * Concurrency: builds happen in a private directory under <cache>/tmp and are
 * renamed into place (atomic on one file system); a per-entry flock makes a
 * second process wait for the first compile instead of repeating it. Crashed
 * builders leave only a tmp directory and an unlocked lock file.
 *
 * When no C compiler (or wasm2c) exists, an artifact of the same engine ABI
 * built by another toolchain is still used; only a real miss needs the tools.
 * An unwritable cache makes `kafu run` compile into a temporary directory
 * (with a warning) and `kafu aot` fail (opts->require_cache).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "aot_internal.h"

#define TRAILER_MAGIC "KAFUSO01"
#define TRAILER_LEN 24

/* ---- cache directory -------------------------------------------------------- */

int kafu_engine_cache_dir(const kafu_engine_opts *opts, char *buf, size_t cap, kafu_err *err) {
  const char *v;
  int n;
  if (opts && opts->cache_dir && opts->cache_dir[0])
    n = snprintf(buf, cap, "%s", opts->cache_dir);
  else if ((v = kafu_tunables_get()->cache_dir))
    n = snprintf(buf, cap, "%s", v);
  else if ((v = getenv("XDG_CACHE_HOME")) && v[0])
    n = snprintf(buf, cap, "%s/kafu", v);
  else if ((v = getenv("HOME")) && v[0])
    n = snprintf(buf, cap, "%s/.cache/kafu", v);
  else
    return kafu_err_set(err, KAFU_EINVAL,
                        "cannot locate the engine cache: set KAFU_CACHE_DIR (no HOME either)");
  if (n < 0 || (size_t)n >= cap) return kafu_err_set(err, KAFU_EINVAL, "cache directory path too long");
  return 0;
}

/* ---- artifacts ---------------------------------------------------------------- */

static int append_trailer(const char *path, kafu_err *err) {
  uint8_t *d;
  size_t len;
  int rc = kafu_read_file(path, &d, &len, err);
  if (rc) return rc;
  uint64_t h = XXH3_64bits(d, len), l = len;
  free(d);
  uint8_t t[TRAILER_LEN];
  memcpy(t, &h, 8);
  memcpy(t + 8, &l, 8);
  memcpy(t + 16, TRAILER_MAGIC, 8);
  int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return kafu_err_set(err, KAFU_EIO, "%s: %s", path, strerror(errno));
  ssize_t w = write(fd, t, sizeof t);
  int e = errno;
  if (fsync(fd) != 0 && w == (ssize_t)sizeof t) e = errno, w = -1;
  close(fd);
  if (w != (ssize_t)sizeof t) return kafu_err_set(err, KAFU_EIO, "%s: write: %s", path, strerror(e));
  return 0;
}

/* Read an open artifact and check its trailer: 0, or -1 with a reason in why. */
static int verify_trailer(int fd, char *why, size_t cap) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    sfmt(why, cap, "not a regular file");
    return -1;
  }
  size_t len = (size_t)st.st_size, got = 0;
  uint8_t *d = malloc(len ? len : 1);
  if (!d) {
    sfmt(why, cap, "out of memory");
    return -1;
  }
  while (got < len) {
    ssize_t r = pread(fd, d + got, len - got, (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  int rc = -1;
  if (got != len) {
    sfmt(why, cap, "read error");
  } else if (len < TRAILER_LEN || memcmp(d + len - 8, TRAILER_MAGIC, 8) != 0) {
    sfmt(why, cap, "no kafu trailer (truncated or foreign file)");
  } else {
    uint64_t h, l;
    memcpy(&h, d + len - TRAILER_LEN, 8);
    memcpy(&l, d + len - TRAILER_LEN + 8, 8);
    if (l != len - TRAILER_LEN)
      sfmt(why, cap, "length mismatch (%llu recorded, %zu present)", (unsigned long long)l,
           len - TRAILER_LEN);
    else if (XXH3_64bits(d, l) != h)
      sfmt(why, cap, "checksum mismatch (corrupted file)");
    else
      rc = 0;
  }
  free(d);
  return rc;
}

/* A directory we may load code from: owned by us or root, writable by no one
 * else. */
static bool safe_dir(const char *dir, char *why, size_t cap) {
  struct stat st;
  if (stat(dir, &st) != 0) {
    sfmt(why, cap, "%s: %s", dir, strerror(errno));
    return false;
  }
  if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022)) {
    sfmt(why, cap, "%s is owned by uid %u or writable by others (mode %03o), so code in it cannot be trusted",
         dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
    return false;
  }
  return true;
}

/* Open, vet and dlopen an artifact; check its descriptor. key NULL = accept
 * any key with our glue prefix. Code is only loaded from files owned by us (or
 * root) and writable by nobody else, in a directory nobody else can write
 * (checked by the caller, safe_dir()): a shared cache must not let another user
 * inject code, nor swap a file between these checks and dlopen. */
static int open_artifact(const char *path, const char *key, const char *sha_hex, aot_artifact *a, char *why,
                         size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    sfmt(why, cap, "%s", strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || (st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022)) {
    sfmt(why, cap, "owned by uid %u or writable by others (mode %03o): refusing to load code from it",
         (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
    close(fd);
    return -1;
  }
  if (verify_trailer(fd, why, cap) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  dlerror();
  void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    const char *e = dlerror();
    sfmt(why, cap, "dlopen failed: %s", e ? e : "?");
    return -1;
  }
  const kafu_aot_module *mod = dlsym(dl, KAFU_AOT_SYMBOL);
  const char *bad = NULL;
  if (!mod)
    bad = "descriptor symbol missing";
  else if (memcmp(mod->magic, "KAFUAOT", 8) != 0 || mod->abi != KAFU_AOT_ABI)
    bad = "engine ABI mismatch";
  else if (strcmp(mod->module_sha256, sha_hex) != 0)
    bad = "built for another module";
  else if (key ? strcmp(mod->key, key) != 0 : strncmp(mod->key, kafu_aot_glue_version(), 16) != 0)
    bad = "cache key mismatch";
  else if (mod->sizeof_memory != sizeof(wasm_rt_memory_t) ||
           mod->sizeof_funcref_table != sizeof(wasm_rt_funcref_table_t) ||
           mod->offsetof_memory_size != offsetof(wasm_rt_memory_t, size))
    bad = "built against a different wasm-rt.h (wabt version) than this kafu";
  if (bad) {
    sfmt(why, cap, "%s", bad);
    dlclose(dl);
    return -1;
  }
  sfmt(a->path, sizeof a->path, "%s", path);
  a->dl = dl;
  a->mod = mod;
  return 0;
}

static int rm_rf(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char p[PATH_MAX];
      sfmt(p, sizeof p, "%s/%s", path, e->d_name);
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
        rm_rf(p);
      else
        unlink(p);
    }
    closedir(d);
  }
  return rmdir(path);
}

/* A freshly built artifact: its trailer appended, readable by all, writable by us only. */
static int seal(const char *so, kafu_err *err) {
  int rc = append_trailer(so, err);
  if (!rc && chmod(so, 0644) != 0) rc = kafu_err_set(err, KAFU_EIO, "%s: chmod: %s", so, strerror(errno));
  return rc;
}

static int progress_mode(const kafu_engine_opts *opts) {
  int pm = opts ? opts->progress : -1;
  if (pm < 0) return isatty(2) ? 2 : 1;
  return pm ? 1 : 0;
}

/* Build directories of crashed or killed builders: removed after an hour (a
 * live builder touches its directory at least every few seconds). */
static void clean_stale_builds(const char *tmproot) {
  DIR *d = opendir(tmproot);
  if (!d) return;
  struct dirent *e;
  time_t now = time(NULL);
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "build-", 6) != 0) continue;
    char p[PATH_MAX];
    struct stat st;
    sfmt(p, sizeof p, "%s/%s", tmproot, e->d_name);
    if (stat(p, &st) == 0 && now - st.st_mtime > 3600) {
      kafu_debugc(&kafu_engine_log, "removing stale build directory %s", p);
      rm_rf(p);
    }
  }
  closedir(d);
}

/* look for an artifact of our engine ABI built by any toolchain */
static int find_any(const char *moddir, const char *sha_hex, aot_artifact *a) {
  DIR *d = opendir(moddir);
  if (!d) return -1;
  struct dirent *e;
  int rc = -1;
  const char *gv = kafu_aot_glue_version();
  while (rc != 0 && (e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 4 || strcmp(e->d_name + l - 3, ".so") != 0 || strncmp(e->d_name, gv, 16) != 0) continue;
    char p[PATH_MAX], why[256];
    sfmt(p, sizeof p, "%s/%s", moddir, e->d_name);
    rc = open_artifact(p, NULL, sha_hex, a, why, sizeof why);
  }
  closedir(d);
  return rc;
}

int kafu_aot_obtain(const uint8_t *wasm, size_t len, const char *sha_hex, const wasm_info *wi,
                    const kafu_engine_opts *opts, const char *name, aot_artifact *a, kafu_err *err) {
  memset(a, 0, sizeof *a);
  char cache[PATH_MAX - 200];
  int rc = kafu_engine_cache_dir(opts, cache, sizeof cache, err);
  if (rc) return rc;
  char moddir[PATH_MAX];
  sfmt(moddir, sizeof moddir, "%s/aot/%s", cache, sha_hex);
  const aot_toolchain *t = kafu_aot_toolchain();
  bool force = opts && opts->force_compile;
  /* an entry directory someone else can write is never loaded from */
  char dwhy[700] = "";
  bool trusted = !kafu_file_exists(moddir) || safe_dir(moddir, dwhy, sizeof dwhy);
  if (!t->ok) {
    /* no toolchain: any artifact of our ABI will do */
    if (!force && trusted && find_any(moddir, sha_hex, a) == 0) {
      a->in_cache = true;
      kafu_debugc(&kafu_engine_log, "cache hit %s (toolchain unavailable: %s)", a->path, t->why.msg);
      return 0;
    }
    return kafu_err_set(err, t->why.code, "%s", t->why.msg);
  }
  char key[65];
  sfmt(key, sizeof key, "%.16s-%s", kafu_aot_glue_version(), t->ident_hash);
  char path[PATH_MAX], why[512];
  sfmt(path, sizeof path, "%s/%s.so", moddir, key);
  if (!force && trusted && kafu_file_exists(path)) {
    if (open_artifact(path, key, sha_hex, a, why, sizeof why) == 0) {
      a->in_cache = true;
      kafu_debugc(&kafu_engine_log, "cache hit %s", path);
      return 0;
    }
    kafu_warnc(&kafu_engine_log, "cache entry %s is unusable (%s); recompiling", path, why);
    unlink(path);
  }

  int pm = progress_mode(opts);
  /* writable cache? */
  kafu_err merr = {0};
  char tmproot[PATH_MAX];
  sfmt(tmproot, sizeof tmproot, "%s/tmp", cache);
  bool cache_ok = trusted && kafu_mkdirs(moddir, 0755, &merr) == 0 &&
                  kafu_mkdirs(tmproot, 0755, &merr) == 0 && access(moddir, W_OK) == 0 &&
                  access(tmproot, W_OK) == 0;
  if (cache_ok) {
    chmod(moddir, 0755); /* whatever the umask: only we may write where code is loaded from */
    cache_ok = trusted = safe_dir(moddir, dwhy, sizeof dwhy);
  }
  if (!cache_ok) {
    const char *what = trusted ? "not writable" : "not private";
    if (!trusted)
      sfmt(merr.msg, sizeof merr.msg, "%s", dwhy);
    else if (!merr.msg[0])
      sfmt(merr.msg, sizeof merr.msg, "%s: %s", moddir, strerror(EACCES));
    if (opts && opts->require_cache)
      return kafu_err_set(err, KAFU_EIO,
                          "engine cache directory %s is %s (%s); set KAFU_CACHE_DIR to a %s directory", cache,
                          what, merr.msg, trusted ? "writable" : "private");
    kafu_warn(
        "engine cache directory %s is %s (%s); compiling into a temporary directory, the result will not be "
        "cached (set KAFU_CACHE_DIR)",
        cache, what, merr.msg);
    const char *td = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    sfmt(tmpl, sizeof tmpl, "%s/kafu-aot-XXXXXX", td && td[0] ? td : "/tmp");
    if (!mkdtemp(tmpl)) return kafu_err_set(err, KAFU_EIO, "%s: cannot create: %s", tmpl, strerror(errno));
    rc = kafu_aot_build(wasm, len, wi, key, sha_hex, tmpl, name, pm, err);
    char so[PATH_MAX + 16];
    sfmt(so, sizeof so, "%s/out.so", tmpl);
    if (!rc) rc = seal(so, err);
    if (!rc && open_artifact(so, key, sha_hex, a, why, sizeof why) != 0)
      rc = kafu_err_set(err, KAFU_EIO, "freshly compiled %s is unusable: %s", so, why);
    if (rc) {
      rm_rf(tmpl);
      return rc;
    }
    a->compiled = true;
    a->in_cache = false;
    return 0;
  }

  /* one builder per entry at a time; others wait, then find it */
  char lockp[PATH_MAX + 8];
  sfmt(lockp, sizeof lockp, "%s/%s.lock", moddir, key);
  int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) != 0) {
    if (pm) fprintf(stderr, "kafu: waiting for another kafu process compiling %s ...\n", name);
    kafu_debugc(&kafu_engine_log, "waiting for lock %s", lockp);
    while (flock(lfd, LOCK_EX) != 0 && errno == EINTR) {
    }
    if (!force && open_artifact(path, key, sha_hex, a, why, sizeof why) == 0) {
      close(lfd);
      a->in_cache = true;
      kafu_debugc(&kafu_engine_log, "cache hit %s (built by another process)", path);
      return 0;
    }
  }
  clean_stale_builds(tmproot);
  char tmpl[PATH_MAX];
  sfmt(tmpl, sizeof tmpl, "%s/build-XXXXXX", tmproot);
  if (!mkdtemp(tmpl)) {
    rc = kafu_err_set(err, KAFU_EIO, "%s: cannot create: %s", tmpl, strerror(errno));
    goto out;
  }
  rc = kafu_aot_build(wasm, len, wi, key, sha_hex, tmpl, name, pm, err);
  char so[PATH_MAX + 16];
  sfmt(so, sizeof so, "%s/out.so", tmpl);
  if (!rc) rc = seal(so, err);
  if (!rc) {
    if (rename(so, path) != 0)
      rc = kafu_err_set(err, KAFU_EIO, "%s: cannot store: %s", path, strerror(errno));
  }
  if (kafu_tunables_get()->aot_keep)
    kafu_infoc(&kafu_engine_log, "build directory kept: %s", tmpl);
  else
    rm_rf(tmpl);
  if (!rc && open_artifact(path, key, sha_hex, a, why, sizeof why) != 0)
    rc = kafu_err_set(err, KAFU_EIO, "freshly compiled %s is unusable: %s", path, why);
  if (!rc) {
    a->compiled = true;
    a->in_cache = true;
    kafu_debugc(&kafu_engine_log, "compiled and cached %s", path);
  }
out:
  if (lfd >= 0) close(lfd);
  return rc;
}

void kafu_aot_release(aot_artifact *a) {
  if (a->dl) dlclose(a->dl);
  if (!a->in_cache && a->path[0]) {
    char *dir = kafu_path_dirname(a->path);
    rm_rf(dir);
    free(dir);
  }
  memset(a, 0, sizeof *a);
}

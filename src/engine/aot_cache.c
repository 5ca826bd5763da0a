/*
 * aot_cache.c — the wasm2c AOT backend's artifact cache: find a module's
 * compiled shared object by content, build it once (aot_build.c) when it is
 * missing, seal and store it, and load it with dlopen.
 *
 * Layout:  <cache>/aot/<module sha256>/<arch>-<glue16>-<tool16>.so
 *   arch    the machine the code is for (aot_target.c): x86_64, aarch64, ...
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
 * Precompiled code (kafu_aot_load_prebuilt, the loader behind
 * kafu_aot_prebuilt_backend): an artifact for this machine and engine ABI
 * from opts->artifact_dir (app.aot_dir, same layout and trust rules), or, when
 * no C compiler (or wasm2c) exists, one in the cache built by any toolchain.
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

#define TRAILER_MAGIC KAFU_AOT_TRAILER_MAGIC
#define TRAILER_LEN KAFU_AOT_TRAILER_LEN

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

/* Read an open artifact and check it (trailer, ELF machine of target tg): 0,
 * or -1 with a reason in why. */
static int verify_trailer(int fd, const kafu_aot_target *tg, char *why, size_t cap) {
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
  if (got != len)
    sfmt(why, cap, "read error");
  else
    rc = kafu_aot_verify_bytes(d, len, tg, why, cap);
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
  if (verify_trailer(fd, kafu_aot_host_target(), why, cap) != 0) {
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

/* Load (host target) or, for a cross target, only verify an artifact. */
static int use_artifact(const char *path, const char *key, const char *sha_hex, const kafu_aot_target *tg,
                        aot_artifact *a, char *why, size_t cap) {
  if (tg == kafu_aot_host_target()) return open_artifact(path, key, sha_hex, a, why, cap);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    sfmt(why, cap, "%s", strerror(errno));
    return -1;
  }
  int rc = verify_trailer(fd, tg, why, cap);
  close(fd);
  if (!rc) sfmt(a->path, sizeof a->path, "%s", path);
  return rc;
}

/* Look for an artifact for tg of our engine ABI built by any toolchain. A
 * candidate that is refused is reported (warning) with the reason; *why gets
 * the last reason ("" when there was no candidate at all). */
static int find_any(const char *moddir, const char *sha_hex, const kafu_aot_target *tg, aot_artifact *a,
                    char *why, size_t cap) {
  why[0] = 0;
  DIR *d = opendir(moddir);
  if (!d) return -1;
  struct dirent *e;
  int rc = -1;
  size_t al = strlen(tg->arch), nl;
  while (rc != 0 && (e = readdir(d))) {
    if (!kafu_aot_artifact_name_ok(e->d_name, tg)) {
      nl = strlen(e->d_name);
      if (!why[0] && !strncmp(e->d_name, tg->arch, al) && e->d_name[al] == '-' && nl > 3 &&
          !strcmp(e->d_name + nl - 3, ".so"))
        sfmt(why, cap, "%s/%s was built by another kafu version (engine %.16s, this kafu: %.16s)", moddir,
             e->d_name, e->d_name + al + 1, kafu_aot_glue_version());
      continue;
    }
    char p[PATH_MAX], w[512];
    sfmt(p, sizeof p, "%s/%s", moddir, e->d_name);
    rc = use_artifact(p, NULL, sha_hex, tg, a, w, sizeof w);
    if (rc) {
      kafu_warnc(&kafu_engine_log, "artifact %s refused: %s", p, w);
      sfmt(why, cap, "%s: %s", p, w);
    }
  }
  closedir(d);
  return rc;
}

/* The entry directory of a module in a cache-shaped tree (cache or app.aot_dir). */
static void entry_dir(const char *root, const char *sha_hex, char *out, size_t cap) {
  sfmt(out, cap, "%s/aot/%s", root, sha_hex);
}

/* Precompiled code from opts->artifact_dir (app.aot_dir): 0, or -1 with *why
 * saying what was wrong ("" when there simply is none). */
static int use_shipped(const char *root, const char *sha_hex, aot_artifact *a, char *why, size_t cap) {
  char dir[PATH_MAX];
  why[0] = 0;
  entry_dir(root, sha_hex, dir, sizeof dir);
  if (!kafu_file_exists(root)) {
    sfmt(why, cap, "%s does not exist", root);
    kafu_warnc(&kafu_engine_log, "the precompiled artifact directory %s does not exist", root);
    return -1;
  }
  if (!kafu_file_exists(dir)) return -1;
  if (!safe_dir(dir, why, cap)) {
    kafu_warnc(&kafu_engine_log, "precompiled artifacts not used: %s", why);
    return -1;
  }
  if (find_any(dir, sha_hex, kafu_aot_host_target(), a, why, cap) != 0) return -1;
  a->in_cache = true; /* never deleted */
  a->shipped = true;
  kafu_infoc(&kafu_engine_log, "using the precompiled artifact %s", a->path);
  return 0;
}

static const char *artifact_dir_of(const kafu_engine_opts *opts) {
  return opts && opts->artifact_dir && opts->artifact_dir[0] ? opts->artifact_dir : NULL;
}

bool kafu_aot_prebuilt_wanted(const char *sha_hex, const kafu_engine_opts *opts) {
  if (opts && opts->force_compile) return false;
  if (!kafu_aot_toolchain(kafu_aot_host_target())->ok) return true; /* nothing else can work */
  const char *ship = artifact_dir_of(opts);
  if (!ship) return false;
  char dir[PATH_MAX];
  entry_dir(ship, sha_hex, dir, sizeof dir);
  DIR *d = opendir(dir);
  if (!d) return false;
  struct dirent *e;
  bool any = false;
  while (!any && (e = readdir(d))) any = kafu_aot_artifact_name_ok(e->d_name, kafu_aot_host_target());
  closedir(d);
  return any;
}

int kafu_aot_load_prebuilt(const char *sha_hex, const kafu_engine_opts *opts, const char *name,
                           aot_artifact *a, kafu_err *err) {
  memset(a, 0, sizeof *a);
  const kafu_aot_target *tg = kafu_aot_host_target();
  const aot_toolchain *t = kafu_aot_toolchain(tg);
  const char *ship = artifact_dir_of(opts);
  char swhy[700] = "", cwhy[700] = "";
  if (ship && use_shipped(ship, sha_hex, a, swhy, sizeof swhy) == 0) return 0;
  char cache[PATH_MAX - 200], moddir[PATH_MAX], dwhy[700] = "";
  int rc = kafu_engine_cache_dir(opts, cache, sizeof cache, err);
  if (rc) return rc;
  entry_dir(cache, sha_hex, moddir, sizeof moddir);
  bool trusted = !kafu_file_exists(moddir) || safe_dir(moddir, dwhy, sizeof dwhy);
  if (!t->ok && trusted && find_any(moddir, sha_hex, tg, a, cwhy, sizeof cwhy) == 0) {
    a->in_cache = true;
    kafu_debugc(&kafu_engine_log, "cache hit %s (toolchain unavailable: %s)", a->path, t->why.msg);
    return 0;
  }
  if (!trusted) sfmt(cwhy, sizeof cwhy, "%s", dwhy);
  if (t->ok) /* chosen for shipped code, which was refused */
    return kafu_err_set(err, KAFU_EFORMAT, "precompiled code for %s refused (app.aot_dir: %s)", name,
                        swhy[0] ? swhy : "none usable");
  if (t->misconfigured) /* a wrong KAFU_CC is reported, not worked around by asking peers */
    return kafu_err_set(err, t->why.code, "%s", t->why.msg);
  return kafu_err_set(err, KAFU_ENOCODE,
                      "no compiled code for %s on this %s node (none usable in the engine cache %s%s%s%s%s) and "
                      "it cannot be compiled here: %s",
                      name, tg->display, moddir, cwhy[0] ? ": " : "", cwhy, ship ? "; app.aot_dir: " : "",
                      ship ? (swhy[0] ? swhy : "none for this module and architecture") : "", t->why.msg);
}

static int obtain(const uint8_t *wasm, size_t len, const char *sha_hex, const wasm_info *wi,
                  const kafu_engine_opts *opts, const char *name, const kafu_aot_target *tg, aot_artifact *a,
                  kafu_err *err) {
  memset(a, 0, sizeof *a);
  char cache[PATH_MAX - 200];
  int rc = kafu_engine_cache_dir(opts, cache, sizeof cache, err);
  if (rc) return rc;
  char moddir[PATH_MAX];
  entry_dir(cache, sha_hex, moddir, sizeof moddir);
  const aot_toolchain *t = kafu_aot_toolchain(tg);
  bool force = opts && opts->force_compile;
  /* an entry directory someone else can write is never loaded from */
  char dwhy[700] = "";
  bool trusted = !kafu_file_exists(moddir) || safe_dir(moddir, dwhy, sizeof dwhy);
  if (!t->ok) return kafu_err_set(err, t->why.code ? t->why.code : KAFU_ENOENT, "%s", t->why.msg);
  char key[65];
  sfmt(key, sizeof key, "%.16s-%s", kafu_aot_glue_version(), t->ident_hash);
  char path[PATH_MAX], why[512];
  sfmt(path, sizeof path, "%s/%s-%s.so", moddir, tg->arch, key);
  if (!force && trusted && kafu_file_exists(path)) {
    if (use_artifact(path, key, sha_hex, tg, a, why, sizeof why) == 0) {
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
    rc = kafu_aot_build(t, wasm, len, wi, key, sha_hex, tmpl, name, pm, err);
    char so[PATH_MAX + 16];
    sfmt(so, sizeof so, "%s/out.so", tmpl);
    if (!rc) rc = seal(so, err);
    if (!rc && use_artifact(so, key, sha_hex, tg, a, why, sizeof why) != 0)
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
  sfmt(lockp, sizeof lockp, "%s/%s-%s.lock", moddir, tg->arch, key);
  int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) != 0) {
    if (pm) fprintf(stderr, "kafu: waiting for another kafu process compiling %s ...\n", name);
    kafu_debugc(&kafu_engine_log, "waiting for lock %s", lockp);
    while (flock(lfd, LOCK_EX) != 0 && errno == EINTR) {
    }
    if (!force && use_artifact(path, key, sha_hex, tg, a, why, sizeof why) == 0) {
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
  rc = kafu_aot_build(t, wasm, len, wi, key, sha_hex, tmpl, name, pm, err);
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
  if (!rc && use_artifact(path, key, sha_hex, tg, a, why, sizeof why) != 0)
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

int kafu_aot_obtain(const uint8_t *wasm, size_t len, const char *sha_hex, const wasm_info *wi,
                    const kafu_engine_opts *opts, const char *name, aot_artifact *a, kafu_err *err) {
  return obtain(wasm, len, sha_hex, wi, opts, name, kafu_aot_host_target(), a, err);
}

int kafu_aot_obtain_for(const uint8_t *wasm, size_t len, const char *sha_hex, const wasm_info *wi,
                        const kafu_engine_opts *opts, const char *name, const kafu_aot_target *t, aot_artifact *a,
                        kafu_err *err) {
  return obtain(wasm, len, sha_hex, wi, opts, name, t, a, err);
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

/*
 * aot_target.c — which machine an AOT artifact is for, and whether a file is
 * an artifact we may use there (docs/heterogeneous.md).
 *
 *   targets    the architectures kafu builds native code for, by name
 *              (`kafu aot --target aarch64-linux-gnu`, "arm64", ...), with
 *              their GNU triple (cross compiler prefix) and ELF machine
 *   verify     an artifact's bytes: kafu trailer (length + xxh3), then an ELF
 *              64-bit little-endian shared object for the wanted machine, so a
 *              foreign or damaged file is refused with a message that says
 *              which, before anything is mapped
 *   exchange   reading an artifact to hand to a peer, and storing one received
 *              from a peer into the cache (node start-up without a compiler)
 *
 * The cache layout is <cache>/aot/<module sha256>/<arch>-<glue16>-<tool16>.so
 * (aot_cache.c); a shipped artifact directory (app.aot_dir) has the same
 * layout, so `kafu aot --target T --cache-dir DIR` produces one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "aot_internal.h"

#define EM_X86_64_ 62
#define EM_AARCH64_ 183
#define EM_RISCV_ 243

static const kafu_aot_target targets[] = {
    {"x86_64", "x86_64-linux-gnu", EM_X86_64_, "x86-64", {"amd64", "x86-64", "x64"}},
    {"aarch64", "aarch64-linux-gnu", EM_AARCH64_, "aarch64", {"arm64", NULL, NULL}},
    {"riscv64", "riscv64-linux-gnu", EM_RISCV_, "riscv64", {NULL, NULL, NULL}},
};
#define NTARGETS (sizeof targets / sizeof targets[0])

const kafu_aot_target *kafu_aot_host_target(void) {
#if defined(__x86_64__)
  return &targets[0];
#elif defined(__aarch64__) && defined(__AARCH64EL__)
  return &targets[1];
#elif defined(__riscv) && __riscv_xlen == 64
  return &targets[2];
#else
#error "kafu's AOT engine supports x86-64, aarch64 (little-endian) and riscv64 hosts"
#endif
}

int kafu_aot_target_index(const kafu_aot_target *t) { return (int)(t - targets); }

const kafu_aot_target *kafu_aot_target_find(const char *name) {
  if (!name || !*name) return NULL;
  for (size_t i = 0; i < NTARGETS; i++) {
    const kafu_aot_target *t = &targets[i];
    if (!strcmp(name, t->arch) || !strcmp(name, t->triple)) return t;
    for (size_t a = 0; a < 3; a++)
      if (t->aliases[a] && !strcmp(name, t->aliases[a])) return t;
    /* any other vendor/OS spelling of the same CPU: aarch64-unknown-linux-gnu, x86_64-pc-linux-gnu */
    size_t n = strlen(t->arch);
    if (!strncmp(name, t->arch, n) && name[n] == '-' && strstr(name, "linux")) return t;
  }
  return NULL;
}

const kafu_aot_target *kafu_aot_target_of_machine(unsigned machine) {
  for (size_t i = 0; i < NTARGETS; i++)
    if (targets[i].elf_machine == machine) return &targets[i];
  return NULL;
}

const char *kafu_engine_arch(void) { return kafu_aot_host_target()->arch; }
const char *kafu_engine_triple(void) { return kafu_aot_host_target()->triple; }
const char *kafu_engine_target_arch(const char *name) {
  const kafu_aot_target *t = kafu_aot_target_find(name);
  return t ? t->arch : NULL;
}

static __attribute__((format(printf, 3, 4))) int why_set(char *why, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, cap, fmt, ap);
  va_end(ap);
  return -1;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int kafu_aot_verify_bytes(const uint8_t *d, size_t len, const kafu_aot_target *want, char *why, size_t cap) {
  if (len < KAFU_AOT_TRAILER_LEN || memcmp(d + len - 8, KAFU_AOT_TRAILER_MAGIC, 8) != 0)
    return why_set(why, cap, "no kafu trailer (truncated or foreign file)");
  uint64_t h, l;
  memcpy(&h, d + len - KAFU_AOT_TRAILER_LEN, 8);
  memcpy(&l, d + len - KAFU_AOT_TRAILER_LEN + 8, 8);
  if (l != len - KAFU_AOT_TRAILER_LEN)
    return why_set(why, cap, "length mismatch (%llu recorded, %zu present)", (unsigned long long)l,
                   len - KAFU_AOT_TRAILER_LEN);
  if (XXH3_64bits(d, l) != h) return why_set(why, cap, "checksum mismatch (corrupted or modified file)");
  if (l < 64 || memcmp(d, "\177ELF", 4) != 0) return why_set(why, cap, "not an ELF file");
  unsigned machine = le16(d + 18);
  const kafu_aot_target *got = kafu_aot_target_of_machine(machine);
  if (d[4] != 2 || d[5] != 1) /* ELFCLASS64, ELFDATA2LSB */
    return why_set(why, cap, "not a 64-bit little-endian ELF file (class %u, data %u)", d[4], d[5]);
  if (machine != want->elf_machine) {
    if (got)
      return why_set(why, cap, "built for %s, not for %s", got->display, want->display);
    return why_set(why, cap, "built for ELF machine %u, not for %s", machine, want->display);
  }
  if (le16(d + 16) != 3) /* ET_DYN */
    return why_set(why, cap, "not a shared object (ELF type %u)", le16(d + 16));
  return 0;
}

/* <arch>-<16 hex>-<16 hex>.so with our glue version: the names the cache uses */
bool kafu_aot_artifact_name_ok(const char *name, const kafu_aot_target *t) {
  size_t al = strlen(t->arch);
  if (strncmp(name, t->arch, al) != 0 || name[al] != '-') return false;
  const char *k = name + al + 1;
  if (strlen(k) != 16 + 1 + 16 + 3 || strcmp(k + 33, ".so") != 0 || k[16] != '-') return false;
  for (int i = 0; i < 33; i++)
    if (i != 16 && !((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f'))) return false;
  return strncmp(k, kafu_aot_glue_version(), 16) == 0;
}

/* Read a regular file we may trust (owned by us or root, writable by nobody
 * else) in a directory with the same property. */
static int read_trusted(const char *dir, const char *path, uint8_t **d, size_t *len, char *why, size_t cap) {
  struct stat st;
  if (stat(dir, &st) != 0) return why_set(why, cap, "%s: %s", dir, strerror(errno));
  if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022))
    return why_set(why, cap, "%s is owned by uid %u or writable by others (mode %03o)", dir, (unsigned)st.st_uid,
                   (unsigned)(st.st_mode & 0777));
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return why_set(why, cap, "%s: %s", path, strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
      (st.st_mode & 022)) {
    close(fd);
    return why_set(why, cap, "%s: not a regular file owned by us or root and writable by nobody else", path);
  }
  kafu_err e = {0};
  close(fd);
  if (kafu_read_file(path, d, len, &e)) return why_set(why, cap, "%s", e.msg);
  return 0;
}

/* The first valid artifact for (sha, t) under root/aot/<sha>/. */
static int find_in(const char *root, const char *sha_hex, const kafu_aot_target *t, uint8_t **data,
                   size_t *len, char *name, size_t ncap, char *why, size_t cap) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/aot/%s", root, sha_hex);
  DIR *dp = opendir(dir);
  if (!dp) return why_set(why, cap, "%s: %s", dir, strerror(errno));
  struct dirent *e;
  int rc = why_set(why, cap, "no artifact for %s in %s", t->arch, dir);
  while ((e = readdir(dp))) {
    if (!kafu_aot_artifact_name_ok(e->d_name, t)) continue;
    char p[PATH_MAX + 256];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    uint8_t *d;
    size_t l;
    if (read_trusted(dir, p, &d, &l, why, cap)) continue;
    if (kafu_aot_verify_bytes(d, l, t, why, cap)) {
      kafu_warnc(&kafu_engine_log, "%s: %s; not used", p, why);
      free(d);
      continue;
    }
    *data = d;
    *len = l;
    snprintf(name, ncap, "%s", e->d_name);
    rc = 0;
    break;
  }
  closedir(dp);
  return rc;
}

int kafu_engine_artifact_get(const kafu_engine_opts *opts, const char *sha_hex, const char *arch,
                             uint8_t **data, size_t *len, char *name, size_t ncap, kafu_err *err) {
  *data = NULL;
  *len = 0;
  const kafu_aot_target *t = kafu_aot_target_find(arch);
  if (!t) return kafu_err_set(err, KAFU_EINVAL, "unknown architecture '%s'", arch);
  char cache[PATH_MAX - 300], why[600];
  int rc = kafu_engine_cache_dir(opts, cache, sizeof cache, err);
  if (rc) return rc;
  if (find_in(cache, sha_hex, t, data, len, name, ncap, why, sizeof why) == 0) return 0;
  if (opts && opts->artifact_dir && opts->artifact_dir[0] &&
      find_in(opts->artifact_dir, sha_hex, t, data, len, name, ncap, why, sizeof why) == 0)
    return 0;
  return kafu_err_set(err, KAFU_ENOENT, "no compiled code of module %.12s for %s here", sha_hex, t->arch);
}

int kafu_engine_artifact_put(const kafu_engine_opts *opts, const char *sha_hex, const char *name,
                             const uint8_t *data, size_t len, kafu_err *err) {
  const kafu_aot_target *host = kafu_aot_host_target();
  char why[600];
  if (!name || !kafu_aot_artifact_name_ok(name, host))
    return kafu_err_set(err, KAFU_EINVAL,
                        "artifact name '%s' is not one of this engine's (%s-<glue %.16s>-<toolchain>.so)",
                        name ? name : "", host->arch, kafu_aot_glue_version());
  if (kafu_aot_verify_bytes(data, len, host, why, sizeof why))
    return kafu_err_set(err, KAFU_EFORMAT, "artifact %s refused: %s", name, why);
  char cache[PATH_MAX - 300], dir[PATH_MAX], path[PATH_MAX + 64];
  int rc = kafu_engine_cache_dir(opts, cache, sizeof cache, err);
  if (rc) return rc;
  snprintf(dir, sizeof dir, "%s/aot/%s", cache, sha_hex);
  if ((rc = kafu_mkdirs(dir, 0755, err))) return rc;
  chmod(dir, 0755);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if ((rc = kafu_write_file_atomic(path, data, len, err))) return rc;
  if (chmod(path, 0644) != 0) return kafu_err_set(err, KAFU_EIO, "%s: chmod: %s", path, strerror(errno));
  kafu_debugc(&kafu_engine_log, "stored artifact %s (%zu bytes)", path, len);
  return 0;
}

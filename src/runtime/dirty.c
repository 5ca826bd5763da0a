/*
 * dirty.c — which pages of linear memory were written since a point in time,
 * without comparing memory (include/kafu/runtime.h, "dirty-page tracking").
 *
 * The sender of a delta must know which 4 KiB pages changed since the image
 * it last held. Hashing every page finds them but costs a pass over all of
 * memory per migration (~0.9 ms per 16 MiB here). This kernel (>= 6.7) offers
 * a cheaper way: userfaultfd asynchronous write-protection
 * (UFFD_FEATURE_WP_ASYNC) marks pages write-protected; the first write to one
 * takes a minor fault that the kernel resolves by itself (no handler thread,
 * no message) and the page is then "written". The PAGEMAP_SCAN ioctl on
 * /proc/self/pagemap lists written pages and write-protects them again in the
 * same page-table walk (PM_SCAN_WP_MATCHING), so "collect" is atomic: a write
 * racing with it lands either in this set or in the next one.
 *
 * The range registered is the engine's linear-memory reservation (src/engine/
 * runtime.c: 8 GiB of PROT_NONE address space whose base never moves; memory
 * grows in place with mprotect, and the grown part stays registered because
 * it is the same anonymous mapping). Registering PROT_NONE parts is allowed
 * for WP-async-only registrations.
 *
 * Unpopulated pages (never touched) are not write-protected (we do not ask
 * for UFFD_FEATURE_WP_UNPOPULATED, which would build page tables for the whole
 * reservation); a first write to one allocates a page without the protection
 * bit, which PAGEMAP_SCAN reports as written — the set stays a superset of the
 * pages that changed, which is all a delta needs (kafu_mem_image_update still
 * hashes each reported page and drops the ones that did not really change).
 *
 * The newer constants are missing from Debian 12's kernel headers (6.1), so
 * they are defined here; every call fails cleanly on older kernels and the
 * caller falls back to hashing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kafu/runtime.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
struct page_region {
  uint64_t start, end, categories;
};
struct pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
      category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#define PAGE 4096u
#define NREGIONS 512

struct kafu_dirty {
  int uffd, pagemap;
  uint8_t *base;
  uint64_t span;
  struct page_region regs[NREGIONS];
};

const char *kafu_dirty_env_mode(void) { return kafu_tunables_get()->dirty_tracking; }

int kafu_dirty_open(uint8_t *base, uint64_t span, kafu_dirty **out, kafu_err *err) {
  *out = NULL;
  if (!base || !span || (uintptr_t)base % PAGE || span % PAGE)
    return kafu_err_set(err, KAFU_EINVAL, "dirty tracking: bad range %p+%" PRIu64, (void *)base, span);
  kafu_dirty *d = calloc(1, sizeof *d);
  if (!d) return kafu_err_set(err, KAFU_ENOMEM, "dirty tracking: out of memory");
  d->uffd = d->pagemap = -1;
  d->base = base;
  d->span = span;
  /* user-mode-only descriptors are allowed without privileges; async WP faults
   * (from user or kernel mode) never reach a handler anyway */
  d->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (d->uffd < 0 && errno == EINVAL) d->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (d->uffd < 0) {
    kafu_err_set(err, KAFU_EIO, "dirty tracking: userfaultfd: %s", strerror(errno));
    goto fail;
  }
  struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC};
  if (ioctl(d->uffd, UFFDIO_API, &api) < 0) {
    kafu_err_set(err, KAFU_EIO, "dirty tracking: UFFDIO_API (asynchronous write-protect): %s",
                 strerror(errno));
    goto fail;
  }
  struct uffdio_register reg = {.range = {.start = (uintptr_t)base, .len = span},
                                .mode = UFFDIO_REGISTER_MODE_WP};
  if (ioctl(d->uffd, UFFDIO_REGISTER, &reg) < 0) {
    kafu_err_set(err, KAFU_EIO, "dirty tracking: UFFDIO_REGISTER %p+%" PRIu64 ": %s", (void *)base, span,
                 strerror(errno));
    goto fail;
  }
  d->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (d->pagemap < 0) {
    kafu_err_set(err, KAFU_EIO, "dirty tracking: /proc/self/pagemap: %s", strerror(errno));
    goto fail;
  }
  *out = d;
  return 0;
fail:
  kafu_dirty_close(d);
  return err ? err->code : KAFU_EIO;
}

static kafu_err probe_err;
static int probe_rc;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void probe(void) {
  /* four host pages (4 KiB on x86-64; 16 or 64 KiB on some aarch64 kernels) */
  long hp = sysconf(_SC_PAGESIZE);
  if (hp < (long)PAGE || hp > 16 * (long)PAGE) hp = PAGE;
  const uint64_t span = 4 * (uint64_t)hp, per = (uint64_t)hp / PAGE;
  uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    probe_rc = kafu_err_set(&probe_err, KAFU_ENOMEM, "dirty tracking probe: mmap: %s", strerror(errno));
    return;
  }
  memset(m, 1, span); /* populated, so only a real write-protect fault marks a page */
  kafu_dirty *d = NULL;
  uint64_t bits = 0, want = ((1ull << per) - 1) << (2 * per); /* the 4 KiB pages of host page 2 */
  probe_rc = kafu_dirty_open(m, span, &d, &probe_err);
  if (!probe_rc) probe_rc = kafu_dirty_collect(d, span, &bits, &probe_err); /* arms */
  if (!probe_rc) {
    ((volatile uint8_t *)m)[2 * hp + 7] = 2;
    probe_rc = kafu_dirty_collect(d, span, &bits, &probe_err);
  }
  if (!probe_rc && bits != want)
    probe_rc = kafu_err_set(&probe_err, KAFU_EIO,
                            "dirty tracking: userfaultfd write-protection reported 4 KiB pages %#" PRIx64
                            " after a write to host page 2 only (expected %#" PRIx64 ")",
                            bits, want);
  kafu_dirty_close(d);
  munmap(m, span);
}

int kafu_dirty_probe(kafu_err *err) {
  pthread_once(&probe_once, probe);
  if (probe_rc && err) *err = probe_err;
  return probe_rc;
}

void kafu_dirty_close(kafu_dirty *d) {
  if (!d) return;
  if (d->pagemap >= 0) close(d->pagemap);
  if (d->uffd >= 0) close(d->uffd); /* unregisters the range */
  free(d);
}

int kafu_dirty_collect(kafu_dirty *d, uint64_t size, uint64_t *bits, kafu_err *err) {
  if (size > d->span || size % PAGE)
    return kafu_err_set(err, KAFU_EINVAL, "dirty tracking: size %" PRIu64 " outside the tracked range", size);
  uint64_t np = size / PAGE;
  if (bits) memset(bits, 0, (np + 63) / 64 * sizeof(uint64_t));
  if (!size) return 0;
  uint64_t start = (uintptr_t)d->base, end = start + size;
  while (start < end) {
    struct pm_scan_arg a = {.size = sizeof a,
                            .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
                            .start = start,
                            .end = end,
                            .vec = (uintptr_t)d->regs,
                            .vec_len = NREGIONS,
                            .category_mask = PAGE_IS_WRITTEN,
                            .return_mask = PAGE_IS_WRITTEN};
    long n = ioctl(d->pagemap, PAGEMAP_SCAN, &a);
    if (n < 0) return kafu_err_set(err, KAFU_EIO, "dirty tracking: PAGEMAP_SCAN: %s", strerror(errno));
    for (long r = 0; bits && r < n; r++) {
      uint64_t f = (d->regs[r].start - (uintptr_t)d->base) / PAGE;
      uint64_t l = (d->regs[r].end - (uintptr_t)d->base) / PAGE;
      if (l > np) l = np;
      for (uint64_t i = f; i < l;) {
        if (i % 64 == 0 && l - i >= 64) {
          bits[i / 64] = ~0ull;
          i += 64;
        } else {
          bits[i / 64] |= 1ull << (i % 64);
          i++;
        }
      }
    }
    if (a.walk_end <= start) /* no progress: never loop forever */
      return kafu_err_set(err, KAFU_EIO, "dirty tracking: PAGEMAP_SCAN made no progress at %#" PRIx64, start);
    start = a.walk_end;
  }
  return 0;
}

int kafu_dirty_release(kafu_dirty *d, uint64_t size, kafu_err *err) {
  if (size > d->span || size % PAGE)
    return kafu_err_set(err, KAFU_EINVAL, "dirty tracking: size %" PRIu64 " outside the tracked range", size);
  if (!size) return 0;
  struct uffdio_writeprotect wp = {.range = {.start = (uintptr_t)d->base, .len = size}, .mode = 0};
  if (ioctl(d->uffd, UFFDIO_WRITEPROTECT, &wp) < 0)
    return kafu_err_set(err, KAFU_EIO, "dirty tracking: UFFDIO_WRITEPROTECT (clear): %s", strerror(errno));
  return 0;
}

int kafu_dirty_release_range(kafu_dirty *d, uint64_t first, uint64_t npages, kafu_err *err) {
  if (first > d->span / PAGE || npages > d->span / PAGE - first)
    return kafu_err_set(err, KAFU_EINVAL,
                        "dirty tracking: pages %" PRIu64 "+%" PRIu64 " outside the tracked range", first,
                        npages);
  if (!npages) return 0;
  /* whole host pages (16/64 KiB kernels): releasing more than asked only adds
   * pages to the next dirty set, which may be a superset */
  uint64_t hp = (uint64_t)sysconf(_SC_PAGESIZE), start = first * PAGE, end = (first + npages) * PAGE;
  if (hp > PAGE && !(hp & (hp - 1))) {
    start &= ~(hp - 1);
    end = (end + hp - 1) & ~(hp - 1);
    if (end > d->span) end = d->span;
  }
  struct uffdio_writeprotect wp = {.range = {.start = (uintptr_t)d->base + start, .len = end - start},
                                   .mode = 0};
  if (ioctl(d->uffd, UFFDIO_WRITEPROTECT, &wp) < 0)
    return kafu_err_set(err, KAFU_EIO,
                        "dirty tracking: UFFDIO_WRITEPROTECT (clear) of pages %" PRIu64 "+%" PRIu64 ": %s",
                        first, npages, strerror(errno));
  return 0;
}

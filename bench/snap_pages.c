/*
 * snap_pages.c — the bytes one migration carries, for bench/links.sh's floor.
 *
 *   snap_pages -i INDEX -o OUT SNAPSHOT...
 *
 * Replays a chain of snapshots (as written by `kafu serve --save-snapshots`,
 * in the order they were sent: a two-node run alternates, so each delta
 * applies to the memory the previous snapshot left) onto one memory buffer,
 * the way a receiver does (kafu_snap_decoder with a held image), and writes
 * the raw 4 KiB pages that snapshot INDEX (0-based; negative counts from the
 * end) carried to OUT, in page order. Prints
 *   pages=N raw_bytes=R wire_bytes=W delta=0|1
 * for that snapshot. Exit 1 when a snapshot does not decode or apply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/snapshot.h"
#include "kafu/util.h"

typedef struct replay {
  uint8_t *mem;
  uint64_t size;
  uint32_t *runs; /* pairs: first page, count */
  size_t nruns, cap;
} replay;

static uint8_t *on_memory(void *ctx, uint64_t size, kafu_err *err) {
  replay *r = ctx;
  if (size > r->size) {
    uint8_t *m = realloc(r->mem, size);
    if (!m) {
      kafu_err_set(err, KAFU_ENOMEM, "out of memory for %llu bytes", (unsigned long long)size);
      return NULL;
    }
    memset(m + r->size, 0, size - r->size);
    r->mem = m, r->size = size;
  }
  return r->mem;
}

static void on_runs(void *ctx, const uint32_t *runs, uint32_t n) {
  replay *r = ctx;
  if (r->nruns + n > r->cap) {
    size_t cap = (r->nruns + n) * 2;
    uint32_t *p = realloc(r->runs, cap * 2 * sizeof *p);
    if (!p) abort();
    r->runs = p, r->cap = cap;
  }
  memcpy(r->runs + 2 * r->nruns, runs, (size_t)n * 2 * sizeof *runs);
  r->nruns += n;
}

int main(int argc, char **argv) {
  long index = -1;
  const char *out = NULL;
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (!strcmp(argv[i], "-i"))
      index = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "-o"))
      out = argv[i + 1];
    else
      break;
  }
  int nsnap = argc - i;
  if (!out || nsnap < 1) {
    fprintf(stderr, "usage: snap_pages -i INDEX -o OUT SNAPSHOT...\n");
    return 2;
  }
  if (index < 0) index += nsnap;
  if (index < 0 || index >= nsnap) {
    fprintf(stderr, "snap_pages: index out of range (%d snapshots)\n", nsnap);
    return 2;
  }
  replay r = {0};
  kafu_mem_image held;
  kafu_mem_image_init(&held);
  for (long k = 0; k <= index; k++) {
    const char *path = argv[i + k];
    uint8_t *bytes;
    size_t len;
    kafu_err err = {0};
    if (kafu_read_file(path, &bytes, &len, &err)) {
      fprintf(stderr, "snap_pages: %s\n", err.msg);
      return 1;
    }
    r.nruns = 0;
    kafu_snap_decoder_opts o = {
        .memory = on_memory, .memory_ctx = &r, .held = &held, .on_runs = on_runs, .on_runs_ctx = &r};
    kafu_snapshot snap = {0};
    kafu_snap_stats st;
    if (kafu_snap_decode_buf(bytes, len, &o, &snap, &st, &err)) {
      fprintf(stderr, "snap_pages: %s: %s\n", path, err.msg);
      return 1;
    }
    kafu_snapshot_clear(&snap);
    free(bytes);
    if (k < index) continue;
    FILE *f = fopen(out, "wb");
    if (!f) {
      perror(out);
      return 1;
    }
    for (size_t j = 0; j < r.nruns; j++)
      if (fwrite(r.mem + (uint64_t)r.runs[2 * j] * KAFU_SNAP_PAGE, KAFU_SNAP_PAGE, r.runs[2 * j + 1], f) !=
          r.runs[2 * j + 1]) {
        perror(out);
        return 1;
      }
    if (fclose(f)) {
      perror(out);
      return 1;
    }
    printf("pages=%llu raw_bytes=%llu wire_bytes=%llu delta=%d\n", (unsigned long long)st.pages,
           (unsigned long long)st.raw_bytes, (unsigned long long)st.wire_bytes, st.delta ? 1 : 0);
  }
  kafu_mem_image_free(&held);
  free(r.mem);
  free(r.runs);
  return 0;
}

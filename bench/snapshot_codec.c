/*
 * snapshot_codec.c — throughput of the snapshot codec alone (no engine, no
 * network): dirty-page detection, encode, decode, for given memory sizes,
 * dirty fractions and compressions. Run by bench/snapshot-codec.sh.
 *
 * Memory content imitates a program heap: per 4 KiB page, 25 % zero, 30 %
 * small-integer arrays, 20 % text, 25 % random bytes (incompressible). Dirty
 * pages are chosen as runs of 1-16 pages at random places (programs write with
 * some locality) and rewritten with fresh content of the same mix.
 *
 * Per case it reports medians over --reps repetitions of:
 *   update_ms   kafu_mem_image_update hashing every page (no dirty hint)
 *   hint_ms     the same with an exact written-page bitmap (only dirty pages hashed)
 *   encode_ms   kafu_snap_encode into a preallocated sink (the sink's copy stands in for send())
 *   decode_ms   push decoder fed 64 KiB pieces, applying onto the receiver's memory
 *   undo_ms     the same as a node decodes: able to undo (memory_undo), the
 *               receiver's memory equal to its held image, one undo area
 *               reused by every repetition (pages the snapshot carries
 *               unchanged are not written; changed ones are kept aside first)
 *   memcpy_ms   copying the same dirty bytes once (the floor for any transfer)
 * and throughput = raw bytes carried / time. Output: a table on stdout and,
 * with --csv FILE, one CSV row per case appended to FILE (header if new).
 *
 * usage: snapshot_codec [--case SIZE_MIB:DIRTY_PCT]... [--comp none,lz4,zstd]
 *                       [--mode delta,full] [--reps N] [--threads N] [--csv FILE]
 * --threads N: compression threads of the encoder (kafu_snap_encode_opts.threads).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/snapshot.h"

static uint64_t rs = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return rs;
}

static void fill_page(uint8_t *pg) {
  uint64_t k = rnd() % 100;
  if (k < 25) {
    memset(pg, 0, 4096);
  } else if (k < 55) {
    uint32_t v = (uint32_t)(rnd() % 1000), step = (uint32_t)(rnd() % 7);
    for (int i = 0; i < 4096; i += 4, v += step) memcpy(pg + i, &v, 4);
  } else if (k < 75) {
    static const char *words[] = {"migrate ", "frame ", "edge ", "cloud ", "kafu ", "pixel ", "the ", "of "};
    int i = 0;
    while (i < 4096) {
      const char *w = words[rnd() % 8];
      for (; *w && i < 4096; w++) pg[i++] = (uint8_t)*w;
    }
  } else {
    for (int i = 0; i < 4096; i += 8) {
      uint64_t v = rnd();
      memcpy(pg + i, &v, 8);
    }
  }
}

typedef struct sink {
  uint8_t *p;
  size_t len, cap;
} sink;
static int sink_write(void *ctx, const void *p, size_t n) {
  sink *s = ctx;
  if (s->len + n > s->cap) return -1;
  memcpy(s->p + s->len, p, n);
  s->len += n;
  return 0;
}

typedef struct rx {
  uint8_t *mem;
  uint64_t size;
} rx;
static uint8_t *rx_mem(void *ctx, uint64_t size, kafu_err *err) {
  rx *r = ctx;
  return size <= r->size ? r->mem : NULL;
}
static void rx_undo(void *ctx) { (void)ctx; /* the size never changed */ }

/* Decode sk into recv (which holds base, image held); undo-capable with area. */
static double decode_once(const sink *sk, uint8_t *recv, uint64_t size, const uint8_t *base,
                          const kafu_mem_image *base_img, const kafu_mem_image *want, const uint8_t *cur,
                          kafu_snap_undo_area *area);

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAXREPS 15

static void die(const char *what, const kafu_err *e) {
  fprintf(stderr, "snapshot_codec: %s: %s\n", what, e ? e->msg : "");
  exit(1);
}

static int threads;

static void run_case(uint64_t mib, int dirty_pct, const char *comps, const char *modes, int reps, FILE *csv) {
  uint64_t size = mib << 20, np = size / 4096;
  uint8_t *base = malloc(size), *cur = malloc(size), *recv = malloc(size), *copy = malloc(size);
  uint64_t *hint = calloc((np + 63) / 64, 8);
  if (!base || !cur || !recv || !copy || !hint) die("out of memory", NULL);
  rs = 0x2545F4914F6CDD1Dull ^ mib;
  for (uint64_t p = 0; p < np; p++) fill_page(base + p * 4096);
  memcpy(cur, base, size);
  /* dirty runs of 1-16 pages until the target fraction is reached */
  uint64_t want = np * (uint64_t)dirty_pct / 100, got = 0;
  while (got < want) {
    uint64_t p0 = rnd() % np, len = 1 + rnd() % 16;
    for (uint64_t p = p0; p < np && p < p0 + len && got < want; p++) {
      if (hint[p / 64] >> (p % 64) & 1) continue;
      hint[p / 64] |= 1ull << (p % 64);
      do fill_page(cur + p * 4096);
      while (!memcmp(cur + p * 4096, base + p * 4096, 4096));
      got++;
    }
  }
  kafu_err e;
  kafu_mem_image base_img, img;
  kafu_mem_image_init(&base_img);
  kafu_mem_image_init(&img);
  if (kafu_mem_image_compute(&base_img, base, size, &e)) die("image", &e);
  kafu_mem_delta dl = {0};
  double t_upd[MAXREPS], t_hint[MAXREPS];
  for (int r = 0; r < reps; r++) {
    kafu_mem_image_copy(&img, &base_img, NULL);
    uint64_t t0 = kafu_now_ns();
    if (kafu_mem_image_update(&img, cur, size, NULL, &dl, &e)) die("update", &e);
    t_upd[r] = kafu_ms_since(t0);
    kafu_mem_image_copy(&img, &base_img, NULL);
    t0 = kafu_now_ns();
    if (kafu_mem_image_update(&img, cur, size, hint, &dl, &e)) die("update", &e);
    t_hint[r] = kafu_ms_since(t0);
  }
  if (dl.ndirty != got) {
    fprintf(stderr, "dirty pages: found %" PRIu64 ", wrote %" PRIu64 "\n", dl.ndirty, got);
    exit(1);
  }
  double update_ms = median(t_upd, reps), hint_ms = median(t_hint, reps);
  /* the floor: copy the dirty bytes once */
  double t_cp[MAXREPS];
  for (int r = 0; r < reps; r++) {
    uint64_t t0 = kafu_now_ns();
    for (uint64_t p = 0; p < np; p++)
      if (dl.bits[p / 64] >> (p % 64) & 1) memcpy(copy + p * 4096, cur + p * 4096, 4096);
    t_cp[r] = kafu_ms_since(t0);
  }
  double memcpy_ms = median(t_cp, reps);

  sink sk = {.cap = size + size / 8 + (1 << 20)};
  sk.p = malloc(sk.cap);
  kafu_snapshot s = {.target_node = "cloud", .source_node = "edge", .memory = cur, .memory_size = size};
  const char *cnames[] = {"none", "lz4", "zstd"};
  const kafu_snap_comp cval[] = {KAFU_SNAP_COMP_NONE, KAFU_SNAP_COMP_LZ4, KAFU_SNAP_COMP_ZSTD};
  const char *mnames[] = {"delta", "full"};
  for (int mi = 0; mi < 2; mi++) {
    if (!strstr(modes, mnames[mi])) continue;
    bool delta = mi == 0;
    for (int ci = 0; ci < 3; ci++) {
      if (!strstr(comps, cnames[ci])) continue;
      kafu_snap_encode_opts o = {.compression = cval[ci],
                                 .image = &img,
                                 .delta = &dl,
                                 .receiver_image_id = delta ? base_img.id : 0,
                                 .threads = threads};
      double t_enc[MAXREPS], t_dec[MAXREPS], t_undo[MAXREPS];
      kafu_snap_undo_area area = {0};
      kafu_snap_stats st = {0};
      for (int r = 0; r < reps; r++) {
        sk.len = 0;
        uint64_t t0 = kafu_now_ns();
        if (kafu_snap_encode(&s, &o, sink_write, &sk, &st, &e)) die("encode", &e);
        t_enc[r] = kafu_ms_since(t0);
        /* receiver holds the baseline: the image a delta is against, or for a
         * full image the memory it held before */
        t_dec[r] = decode_once(&sk, recv, size, base, &base_img, &img, cur, NULL);
        if (r == 0) decode_once(&sk, recv, size, base, &base_img, &img, cur, &area); /* maps the area */
        t_undo[r] = decode_once(&sk, recv, size, base, &base_img, &img, cur, &area);
      }
      kafu_snap_undo_area_free(&area);
      if (st.delta != delta) die("unexpected transfer mode", NULL);
      double enc = median(t_enc, reps), dec = median(t_dec, reps), undo = median(t_undo, reps);
      double raw_mb = (double)st.raw_bytes / 1e6;
      double ratio = (double)st.raw_bytes / (double)(st.wire_bytes ? st.wire_bytes : 1);
      printf("%5" PRIu64 " MiB %4d%% %-5s %-4s %8" PRIu64
             " %9.2f %6.2f %9.2f %8.2f %9.2f %9.2f %9.2f %9.0f %9.0f %8.2f\n",
             mib, dirty_pct, mnames[mi], cnames[ci], st.pages, (double)st.wire_bytes / 1e6, ratio, update_ms,
             hint_ms, enc, dec, undo, raw_mb / (enc / 1e3), raw_mb / (dec / 1e3), memcpy_ms);
      fflush(stdout);
      if (csv)
        fprintf(csv,
                "%" PRIu64 ",%d,%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%.3f,%.3f,%.3f,%.3f,%.3f,%.0f,%.0f,%.3f,%d,%.3f\n",
                mib, dirty_pct, mnames[mi], cnames[ci], st.pages, st.raw_bytes, st.wire_bytes, ratio,
                update_ms, hint_ms, enc, dec, raw_mb / (enc / 1e3), raw_mb / (dec / 1e3), memcpy_ms, threads,
                undo);
    }
  }
  free(sk.p);
  kafu_mem_delta_free(&dl);
  kafu_mem_image_free(&img);
  kafu_mem_image_free(&base_img);
  free(base), free(cur), free(recv), free(copy), free(hint);
}

static double decode_once(const sink *sk, uint8_t *recv, uint64_t size, const uint8_t *base,
                          const kafu_mem_image *base_img, const kafu_mem_image *want, const uint8_t *cur,
                          kafu_snap_undo_area *area) {
  kafu_err e;
  memcpy(recv, base, size);
  kafu_mem_image held;
  kafu_mem_image_init(&held);
  kafu_mem_image_copy(&held, base_img, NULL);
  rx rcv = {recv, size};
  kafu_snap_decoder_opts dopt = {.memory = rx_mem, .memory_ctx = &rcv, .held = &held};
  if (area) dopt.memory_undo = rx_undo, dopt.undo_area = area;
  kafu_snap_decoder *d;
  uint64_t t0 = kafu_now_ns();
  if (kafu_snap_decoder_new(&d, &dopt, &e)) die("decoder", &e);
  for (size_t pos = 0; pos < sk->len; pos += 65536)
    if (kafu_snap_decoder_feed(d, sk->p + pos, sk->len - pos < 65536 ? sk->len - pos : 65536, &e))
      die("feed", &e);
  if (kafu_snap_decoder_finish(d, NULL, NULL, &e)) die("finish", &e);
  kafu_snap_decoder_free(d);
  double ms = kafu_ms_since(t0);
  if (held.id != want->id || memcmp(recv, cur, size)) die("decoded memory differs", NULL);
  kafu_mem_image_free(&held);
  return ms;
}

int main(int argc, char **argv) {
  const char *comps = "none,lz4,zstd", *modes = "delta,full", *csvpath = NULL;
  int reps = 5, ncases = 0;
  uint64_t sizes[16];
  int dirty[16];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--case") && i + 1 < argc && ncases < 16) {
      unsigned long long m;
      int d;
      if (sscanf(argv[++i], "%llu:%d", &m, &d) != 2 || !m || m > 4095 || d < 1 || d > 100) {
        fprintf(stderr, "snapshot_codec: bad --case %s (want SIZE_MIB:DIRTY_PCT)\n", argv[i]);
        return 2;
      }
      sizes[ncases] = m, dirty[ncases++] = d;
    } else if (!strcmp(argv[i], "--comp") && i + 1 < argc) {
      comps = argv[++i];
    } else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
      modes = argv[++i];
    } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = atoi(argv[++i]);
      if (reps < 1 || reps > MAXREPS) reps = 5;
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--csv") && i + 1 < argc) {
      csvpath = argv[++i];
    } else {
      fprintf(
          stderr,
          "usage: snapshot_codec [--case SIZE_MIB:DIRTY_PCT]... [--comp none,lz4,zstd] [--mode delta,full] "
          "[--reps N] [--threads N] [--csv FILE]\n");
      return strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (!ncases) sizes[0] = 16, dirty[0] = 10, sizes[1] = 256, dirty[1] = 100, ncases = 2;
  FILE *csv = NULL;
  if (csvpath) {
    if (!(csv = fopen(csvpath, "a"))) { /* append: several runs (e.g. thread counts) share one file */
      perror(csvpath);
      return 1;
    }
    if (ftell(csv) == 0)
      fprintf(csv,
              "size_mib,dirty_pct,mode,compression,pages,raw_bytes,wire_bytes,ratio,update_ms,update_hint_ms,"
              "encode_ms,decode_ms,encode_mbps,decode_mbps,memcpy_ms,threads,decode_undo_ms\n");
  }
  printf("%9s %5s %-5s %-4s %8s %9s %6s %9s %8s %9s %9s %9s %9s %9s %8s\n", "memory", "dirty", "mode", "comp",
         "pages", "wire_MB", "ratio", "update_ms", "hint_ms", "encode_ms", "decode_ms", "undo_ms", "enc_MB/s",
         "dec_MB/s", "memcpy");
  for (int c = 0; c < ncases; c++) run_case(sizes[c], dirty[c], comps, modes, reps, csv);
  if (csv) fclose(csv);
  return 0;
}

/*
 * snappatch.c — test helper (host program): rewrite one field of a snapshot's
 * MEMORY section and fix that section's checksum, to build snapshots that are
 * well-formed byte-wise but declare absurd sizes (docs/snapshot-format.md).
 *
 *   snappatch IN OUT size|pages|chunk_size|chunks VALUE [cut]
 *
 * With "cut", OUT ends right after the MEMORY section (no page data, no END).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static uint64_t rd64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static void wr(unsigned char *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

int main(int argc, char **argv) {
  if (argc != 5 && !(argc == 6 && !strcmp(argv[5], "cut"))) {
    fprintf(stderr, "usage: snappatch IN OUT size|pages|chunk_size|chunks VALUE [cut]\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) return perror(argv[1]), 1;
  static unsigned char buf[64 << 20];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  uint64_t value = strtoull(argv[4], NULL, 0);
  size_t off = 24;
  while (off + 16 <= len) {
    uint32_t type = (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8 | (uint32_t)buf[off + 2] << 16 |
                    (uint32_t)buf[off + 3] << 24;
    uint64_t plen = rd64(buf + off + 8);
    if (off + 16 + plen + 8 > len) break;
    if (type == 5) {
      unsigned char *p = buf + off + 16;
      if (!strcmp(argv[3], "size"))
        wr(p, value, 8);
      else if (!strcmp(argv[3], "chunk_size"))
        wr(p + 16, value, 4);
      else if (!strcmp(argv[3], "pages"))
        wr(p + 44, value, 8);
      else if (!strcmp(argv[3], "chunks"))
        wr(p + 52, value, 4);
      else
        return fprintf(stderr, "unknown field %s\n", argv[3]), 2;
      wr(buf + off + 16 + plen, XXH3_64bits(buf + off, 16 + plen), 8);
      if (argc == 6) len = off + 16 + plen + 8;
      f = fopen(argv[2], "wb");
      if (!f || fwrite(buf, 1, len, f) != len) return perror(argv[2]), 1;
      fclose(f);
      return 0;
    }
    off += 16 + plen + 8;
  }
  fprintf(stderr, "no MEMORY section in %s\n", argv[1]);
  return 1;
}

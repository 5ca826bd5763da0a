/* crc32.c — table-driven CRC-32 (IEEE 802.3, reflected) over a buffer, repeated. */
#include "bench.h"

static uint32_t table[256];

BENCH_ENTRY(crc32_buf)
uint32_t crc32_buf(uint32_t crc, const uint8_t *p, uint32_t n) {
  crc = ~crc;
  for (uint32_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

int main(int argc, char **argv) {
  int rounds = bench_arg(argc, argv, 160);
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint32_t len = 1u << 20, s = 99;
  uint8_t *buf = malloc(len);
  for (uint32_t i = 0; i < len; i++) buf[i] = (uint8_t)bench_rand(&s);
  uint32_t crc = 0;
  for (int r = 0; r < rounds; r++) crc = crc32_buf(crc, buf, len);
  printf("crc32 %d MiB: %08x\n", rounds, crc);
  return 0;
}

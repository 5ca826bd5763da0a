/*
 * alternate.c — a camera hub that alternates between workers, for
 * bench/peers.sh: bytes on the wire when the program alternates between two
 * or three peers, against a two-node run of the same program.
 *
 * "edge" captures a 640x480 RGB frame (900 KiB, a moving synthetic scene)
 * and hands it to a worker, which converts it to grayscale, blurs it (3x3)
 * and counts bright pixels (writing 600 KiB of its own buffers); the result
 * goes back to edge. Frame i goes to worker i % WORKERS. The worker names are
 * compile-time: -DW1=\"cloud\" -DW2=\"gpu\" -DW3=\"npu\" (defaults), and a
 * two-node run of the same program maps all of them to one node
 * (-DW2=\"cloud\" -DW3=\"cloud\").
 *
 * usage: alternate FRAMES [WORKERS]   (WORKERS 1..3, default 2)
 * Prints one line per frame (worker index, bright pixels, checksum).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kafu.h"

#ifndef W1
#define W1 "cloud"
#endif
#ifndef W2
#define W2 "gpu"
#endif
#ifndef W3
#define W3 "npu"
#endif

#define W 640
#define H 480

static uint8_t rgb[W * H * 3];
static uint8_t gray[W * H], blur[W * H];

static void capture(int frame) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      uint8_t *p = &rgb[(y * W + x) * 3];
      int cx = (frame * 7) % W, cy = (frame * 5) % H;
      int d = (x - cx) * (x - cx) + (y - cy) * (y - cy);
      p[0] = (uint8_t)(d < 4000 ? 250 : (x + frame) & 0x7f);
      p[1] = (uint8_t)((y * 3 + frame) & 0xff);
      p[2] = (uint8_t)((x ^ y) + frame);
    }
}

static uint32_t work(void) {
  for (int i = 0; i < W * H; i++) gray[i] = (uint8_t)((rgb[i * 3] * 77 + rgb[i * 3 + 1] * 150 + rgb[i * 3 + 2] * 29) >> 8);
  uint32_t bright = 0;
  for (int y = 1; y < H - 1; y++)
    for (int x = 1; x < W - 1; x++) {
      int s = 0;
      for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) s += gray[(y + dy) * W + x + dx];
      blur[y * W + x] = (uint8_t)(s / 9);
      bright += blur[y * W + x] > 200;
    }
  return bright;
}

KAFU_DEST(work1, W1)
KAFU_EXPORT(work1)
uint32_t work1(void) { return work(); }
KAFU_DEST(work2, W2)
KAFU_EXPORT(work2)
uint32_t work2(void) { return work(); }
KAFU_DEST(work3, W3)
KAFU_EXPORT(work3)
uint32_t work3(void) { return work(); }

int main(int argc, char **argv) {
  int frames = argc > 1 ? atoi(argv[1]) : 10, workers = argc > 2 ? atoi(argv[2]) : 2;
  if (workers < 1 || workers > 3) workers = 2;
  for (int f = 0; f < frames; f++) {
    capture(f);
    int k = f % workers;
    uint32_t bright = k == 0 ? work1() : k == 1 ? work2() : work3();
    uint32_t h = 2166136261u;
    for (int i = 0; i < W * H; i += 97) h = (h ^ blur[i]) * 16777619u;
    printf("frame %d worker %d bright %u checksum %08x\n", f, k, bright, h);
  }
  return 0;
}

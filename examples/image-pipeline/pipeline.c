/*
 * pipeline.c — a real-time image pipeline split across two nodes.
 *
 *   edge:  capture a 960x540 RGB frame (deterministic synthetic scene) and
 *          convert it to grayscale (pre-processing)
 *   cloud: heavy processing — 5x5 Gaussian blur, Sobel gradient magnitude,
 *          threshold, connected-component labelling (union-find)
 *   edge:  output one line per frame (objects found, checksum)
 *
 * Each frame migrates edge -> cloud when process_frame() is called and back
 * when it returns. Usage: pipeline [FRAMES] [--timing] (default 30 frames).
 * With --timing each frame also prints the two migration latencies as the
 * program sees them (CLOCK_REALTIME is shared by the nodes of a loopback
 * cluster): "timing <frame> enter_ms <x> exit_ms <y>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu.h"

#define W 960
#define H 540

typedef struct frame {
  uint32_t index;
  uint8_t rgb[W * H * 3];
  uint8_t gray[W * H];
} frame;

typedef struct result {
  uint32_t index;
  uint32_t objects;      /* connected components above the threshold */
  uint32_t edge_pixels;  /* pixels above the threshold */
  uint32_t largest;      /* size of the largest component */
  uint32_t checksum;     /* of the thresholded image */
} result;

static frame g_frame;
static double g_t_call, g_t_enter, g_t_leave;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static uint8_t g_blur[W * H];
static uint8_t g_mag[W * H];
static int32_t g_parent[W * H];
static uint32_t g_size[W * H];

/* ---- edge: capture + pre-processing --------------------------------------- */

static uint32_t rng(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static void capture(frame *f, uint32_t index) {
  f->index = index;
  uint32_t seed = 0x9e3779b9u ^ (index * 2654435761u);
  /* background gradient + moving discs + noise */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      uint8_t *p = &f->rgb[(y * W + x) * 3];
      p[0] = (uint8_t)((x + index * 3) & 0x7f);
      p[1] = (uint8_t)((y + index) & 0x7f);
      p[2] = (uint8_t)(((x ^ y) + index) & 0x3f);
    }
  for (int d = 0; d < 12; d++) {
    int cx = (int)((rng(&seed) % W + index * (d + 1) * 7) % W);
    int cy = (int)((rng(&seed) % H + index * (d + 2) * 3) % H);
    int r = 10 + (int)(rng(&seed) % 40);
    for (int y = cy - r; y <= cy + r; y++)
      for (int x = cx - r; x <= cx + r; x++) {
        if (x < 0 || y < 0 || x >= W || y >= H) continue;
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > r * r) continue;
        uint8_t *p = &f->rgb[(y * W + x) * 3];
        p[0] = 250, p[1] = (uint8_t)(200 + d), p[2] = 240;
      }
  }
  for (int i = 0; i < 2000; i++) {
    uint32_t k = rng(&seed) % (W * H);
    f->rgb[k * 3] ^= 0x40;
  }
}

static void to_gray(frame *f) {
  for (int i = 0; i < W * H; i++) {
    const uint8_t *p = &f->rgb[i * 3];
    f->gray[i] = (uint8_t)((77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8);
  }
}

/* ---- cloud: heavy processing ------------------------------------------------ */

static void blur5(const uint8_t *in, uint8_t *out) {
  static const int k[5] = {1, 4, 6, 4, 1};
  static uint16_t tmp[W * H];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int s = 0;
      for (int i = -2; i <= 2; i++) {
        int xx = x + i < 0 ? 0 : x + i >= W ? W - 1 : x + i;
        s += k[i + 2] * in[y * W + xx];
      }
      tmp[y * W + x] = (uint16_t)s;
    }
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int s = 0;
      for (int i = -2; i <= 2; i++) {
        int yy = y + i < 0 ? 0 : y + i >= H ? H - 1 : y + i;
        s += k[i + 2] * tmp[yy * W + x];
      }
      out[y * W + x] = (uint8_t)(s >> 8);
    }
}

static void sobel(const uint8_t *in, uint8_t *out) {
  memset(out, 0, W * H);
  for (int y = 1; y < H - 1; y++)
    for (int x = 1; x < W - 1; x++) {
      const uint8_t *p = &in[y * W + x];
      int gx = -p[-W - 1] - 2 * p[-1] - p[W - 1] + p[-W + 1] + 2 * p[1] + p[W + 1];
      int gy = -p[-W - 1] - 2 * p[-W] - p[-W + 1] + p[W - 1] + 2 * p[W] + p[W + 1];
      int m = (gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy);
      out[y * W + x] = (uint8_t)(m > 255 ? 255 : m);
    }
}

static int32_t find(int32_t i) {
  while (g_parent[i] != i) {
    g_parent[i] = g_parent[g_parent[i]];
    i = g_parent[i];
  }
  return i;
}

static void unite(int32_t a, int32_t b) {
  a = find(a), b = find(b);
  if (a == b) return;
  if (g_size[a] < g_size[b]) {
    int32_t t = a;
    a = b, b = t;
  }
  g_parent[b] = a;
  g_size[a] += g_size[b];
}

KAFU_DEST(process_frame, "cloud")
KAFU_EXPORT(process_frame)
void process_frame(const frame *f, result *r, uint8_t threshold) {
  g_t_enter = now_ms();
  blur5(f->gray, g_blur);
  sobel(g_blur, g_mag);
  uint32_t sum = 2166136261u, on = 0;
  for (int i = 0; i < W * H; i++) {
    uint8_t b = g_mag[i] >= threshold;
    g_mag[i] = b;
    on += b;
    sum = (sum ^ b) * 16777619u;
    g_parent[i] = i;
    g_size[i] = 1;
  }
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int i = y * W + x;
      if (!g_mag[i]) continue;
      if (x + 1 < W && g_mag[i + 1]) unite(i, i + 1);
      if (y + 1 < H && g_mag[i + W]) unite(i, i + W);
    }
  uint32_t objects = 0, largest = 0;
  for (int i = 0; i < W * H; i++)
    if (g_mag[i] && find(i) == i) {
      if (g_size[i] >= 20) objects++;
      if (g_size[i] > largest) largest = g_size[i];
    }
  r->index = f->index;
  r->objects = objects;
  r->edge_pixels = on;
  r->largest = largest;
  r->checksum = sum;
  g_t_leave = now_ms();
}

/* ---- edge: output --------------------------------------------------------------- */

int main(int argc, char **argv) {
  int frames = argc > 1 ? atoi(argv[1]) : 30;
  int timing = argc > 2 && !strcmp(argv[2], "--timing");
  if (frames <= 0) frames = 1;
  uint32_t all = 0;
  for (int i = 0; i < frames; i++) {
    capture(&g_frame, (uint32_t)i);
    to_gray(&g_frame);
    result r;
    g_t_call = now_ms();
    process_frame(&g_frame, &r, 96);
    double back = now_ms();
    all = all * 31 + r.checksum;
    printf("frame %3u: objects=%u edge_pixels=%u largest=%u checksum=%08x\n", r.index, r.objects, r.edge_pixels,
           r.largest, r.checksum);
    if (timing) printf("timing %u enter_ms %.3f exit_ms %.3f\n", r.index, g_t_enter - g_t_call, back - g_t_leave);
    fflush(stdout);
  }
  printf("done: %d frames, digest %08x\n", frames, all);
  return 0;
}

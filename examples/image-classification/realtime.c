/*
 * realtime.c — real-time classification across the edge and the cloud.
 *
 * Frames are captured on node "edge" (here: the JPEGs of fixture/images in
 * turn, standing in for a camera) and turned into ImageNet tensors there
 * with kafu_helper.image_to_tensor; classify() runs on node "cloud", where
 * the model is loaded once through wasi-nn and reused for every frame (its
 * graph and context follow the program between the nodes); the label comes
 * back to the edge, which prints it.
 *
 *   kafu cc realtime.c -o realtime.wasm -O2
 *   kafu launch realtime.yaml             (app.path: ./realtime.wasm)
 *
 * Usage: realtime [FRAMES] [--timing]  (default 12 frames). With --timing
 * each frame also prints "timing <frame> enter_ms X exit_ms Y infer_ms Z":
 * the two migrations as the program sees them (CLOCK_REALTIME is shared by
 * the nodes of one machine) and the wasi-nn compute on the cloud.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu.h"
#include "kafu_helper.h"
#include "wasi_nn_backend.h"
#include "wasi_nn_types.h"

#define SIDE 224
#define NCLASSES 1000
#define MODEL_PATH "fixture/models/shapes-cnn.onnx"

static const char *const frames[] = {"fixture/images/circle.jpg", "fixture/images/square.jpg",
                                     "fixture/images/triangle.jpg", "fixture/images/cross.jpg"};
static const char *const names[] = {"circle", "square", "triangle", "cross"};

static uint8_t g_tensor[SIDE * SIDE * 3 * 4];
static int g_loaded;
static graph_execution_context g_ctx;
static double g_t_call, g_t_enter, g_t_leave, g_infer_ms;

static double now_ms(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int load_model(void) {
  FILE *f = fopen(MODEL_PATH, "rb");
  if (!f) return -1;
  static uint8_t bytes[1 << 20];
  size_t n = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  graph g;
  graph_builder b = {bytes, (uint32_t)n};
  if (wasi_nn_load(&b, 1, onnx, cpu, &g) != success || wasi_nn_init_execution_context(g, &g_ctx) != success)
    return -1;
  return 0;
}

/* On the cloud: the label index of the tensor in g_tensor, or -1. */
KAFU_DEST(classify, "cloud")
KAFU_EXPORT(classify)
int classify(void) {
  g_t_enter = now_ms(CLOCK_REALTIME);
  if (!g_loaded) {
    if (load_model() != 0) return -1;
    g_loaded = 1;
  }
  uint32_t dims[] = {1, 3, SIDE, SIDE};
  tensor t = {.dimensions = {dims, 4}, .type = fp32, .data = {g_tensor, sizeof g_tensor}};
  static float logits[NCLASSES];
  uint32_t got = 0;
  double t0 = now_ms(CLOCK_MONOTONIC);
  if (wasi_nn_set_input(g_ctx, 0, &t) != success || wasi_nn_compute(g_ctx) != success ||
      wasi_nn_get_output(g_ctx, 0, (uint8_t *)logits, sizeof logits, &got) != success)
    return -1;
  g_infer_ms = now_ms(CLOCK_MONOTONIC) - t0;
  int best = 0;
  for (int i = 1; i < NCLASSES; i++)
    if (logits[i] > logits[best]) best = i;
  g_t_leave = now_ms(CLOCK_REALTIME);
  return best;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 12, timing = argc > 2 && !strcmp(argv[2], "--timing"), right = 0;
  double start = now_ms(CLOCK_MONOTONIC);
  for (int i = 0; i < n; i++) {
    const char *path = frames[i % 4];
    uint32_t nwritten = 0;
    if (image_to_tensor(path, (int)strlen(path), SIDE, SIDE, g_tensor, &nwritten) != kafu_success ||
        nwritten != sizeof g_tensor) {
      printf("frame %d: cannot capture %s\n", i, path);
      return 1;
    }
    g_t_call = now_ms(CLOCK_REALTIME);
    int label = classify();
    double back = now_ms(CLOCK_REALTIME);
    if (label < 0) {
      printf("frame %d: classification failed on the cloud\n", i);
      return 1;
    }
    right += label == i % 4;
    printf("frame %3d: %-8s -> %s\n", i, names[i % 4], label < 4 ? names[label] : "other");
    if (timing)
      printf("timing %d enter_ms %.3f exit_ms %.3f infer_ms %.3f\n", i, g_t_enter - g_t_call,
             back - g_t_leave, g_infer_ms);
    fflush(stdout);
  }
  double secs = (now_ms(CLOCK_MONOTONIC) - start) / 1e3;
  printf("done: %d frames, %d classified right, %.1f frames/s\n", n, right, n / secs);
  return right == n ? 0 : 1;
}

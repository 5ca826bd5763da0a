/*
 * migrate.c — wasi-nn state that follows the program (tests/shell/nn_migrate.sh).
 *
 *   migrate.wasm MODEL IMAGE            graph from the model's bytes
 *   migrate.wasm name:NAME IMAGE        graph by name (each node's own model)
 *
 * On the first node: load the graph, make a context, set the input (the image
 * through kafu_helper.image_to_tensor) — then compute() and get_output() run
 * on node "cloud" with the handles from the first node, twice (two
 * migrations), and once more back home. Each run prints its node and the
 * first outputs exactly (%a), so the caller can compare them with a native
 * run of the same model on the same tensor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"
#include "kafu_helper.h"
#include "wasi_nn_backend.h"
#include "wasi_nn_types.h"

#define SIDE 224
#define NOUT 1000
#define SHOW 8

static void show(const char *where, graph_execution_context ctx) {
  static float out[NOUT];
  uint32_t got = 0;
  wasi_nn_error e = wasi_nn_compute(ctx);
  if (e == success) e = wasi_nn_get_output(ctx, 0, (uint8_t *)out, sizeof out, &got);
  if (e != success) {
    printf("%s: wasi-nn error %d\n", where, e);
    fflush(stdout);
    exit(3);
  }
  printf("%s: %u bytes:", where, got);
  for (int i = 0; i < SHOW; i++) printf(" %a", out[i]);
  printf("\n");
  fflush(stdout);
}

KAFU_DEST(on_cloud, "cloud")
KAFU_EXPORT(on_cloud)
void on_cloud(graph_execution_context ctx, int round) {
  char where[32];
  snprintf(where, sizeof where, "cloud#%d", round);
  show(where, ctx);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    printf("usage: migrate.wasm MODEL|name:NAME IMAGE\n");
    return 2;
  }
  graph g;
  wasi_nn_error e;
  if (!strncmp(argv[1], "name:", 5)) {
    e = wasi_nn_load_by_name(argv[1] + 5, (uint32_t)strlen(argv[1] + 5), &g);
  } else {
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
      printf("cannot open %s\n", argv[1]);
      return 2;
    }
    static uint8_t model[4 << 20];
    size_t n = fread(model, 1, sizeof model, f);
    fclose(f);
    graph_builder b = {model, (uint32_t)n};
    e = wasi_nn_load(&b, 1, onnx, cpu, &g);
    memset(model, 0, n); /* the host keeps what it needs; the guest's copy is gone */
  }
  graph_execution_context ctx;
  if (e == success) e = wasi_nn_init_execution_context(g, &ctx);
  if (e != success) {
    printf("load: wasi-nn error %d\n", e);
    return 1;
  }
  static uint8_t tensor_buf[SIDE * SIDE * 3 * 4];
  uint32_t nwritten = 0;
  kafu_error ke = image_to_tensor(argv[2], (int)strlen(argv[2]), SIDE, SIDE, tensor_buf, &nwritten);
  if (ke != kafu_success || nwritten != sizeof tensor_buf) {
    printf("image_to_tensor: error %d, %u bytes\n", ke, nwritten);
    return 1;
  }
  uint32_t dims[] = {1, 3, SIDE, SIDE};
  tensor t = {.dimensions = {dims, 4}, .type = fp32, .data = {tensor_buf, nwritten}};
  if ((e = wasi_nn_set_input(ctx, 0, &t)) != success) {
    printf("set_input: wasi-nn error %d\n", e);
    return 1;
  }
  memset(tensor_buf, 0, sizeof tensor_buf); /* the input lives in the host now */
  on_cloud(ctx, 1);
  on_cloud(ctx, 2);
  show("home", ctx);
  /* a stale handle is an error code, not a crash */
  printf("stale context: %d\n", wasi_nn_compute(ctx + 100));
  return 0;
}

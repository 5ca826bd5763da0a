/*
 * image-classification — the original Kafu's image-classification program,
 * with this repository's model (make-model.py): run_inference() runs on node
 * "edge" (load the ONNX model through wasi-nn, turn a JPEG into an ImageNet
 * tensor with kafu_helper.image_to_tensor, compute, softmax, arg max), and the
 * label is reported on node "cloud".
 *
 *   kafu cc main.c -o main.wasm -O2
 *   kafu singlenode serve kafu-config.yaml        (or kafu launch kafu-config.yaml)
 *
 * argv[1] may name another image (default fixture/images/circle.jpg).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"
#include "kafu_helper.h"
#include "wasi_nn_backend.h"
#include "wasi_nn_types.h"

#define MODEL_PATH "fixture/models/shapes-cnn.onnx"
#define LABELS_PATH "fixture/labels/shapes-cnn.txt"
#define NCLASSES 1000
#define SIDE 224

static const char *g_image = "fixture/images/circle.jpg";

static uint8_t *read_whole(const char *path, uint32_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = buf ? (uint32_t)n : 0;
  return buf;
}

static wasi_nn_error load_model(graph *g) {
  uint32_t size;
  uint8_t *bytes = read_whole(MODEL_PATH, &size);
  if (!bytes) {
    printf("cannot read %s\n", MODEL_PATH);
    return not_found;
  }
  printf("Read ONNX model, %u bytes\n", size);
  graph_builder b = {.buf = bytes, .size = size};
  wasi_nn_error e = wasi_nn_load(&b, 1, onnx, cpu, g);
  free(bytes); /* the host keeps what it needs */
  return e;
}

static void softmax(const float *in, float *out, int n) {
  float mx = in[0], sum = 0;
  for (int i = 1; i < n; i++) mx = in[i] > mx ? in[i] : mx;
  for (int i = 0; i < n; i++) sum += out[i] = expf(in[i] - mx);
  for (int i = 0; i < n; i++) out[i] /= sum;
}

KAFU_DEST(run_inference, "edge")
KAFU_EXPORT(run_inference)
int run_inference(char **label_out) {
  graph g;
  graph_execution_context ctx;
  wasi_nn_error e = load_model(&g);
  if (e != success) {
    printf("load failed: %d\n", e);
    return 1;
  }
  if ((e = wasi_nn_init_execution_context(g, &ctx)) != success) {
    printf("init_execution_context failed: %d\n", e);
    return 1;
  }
  uint32_t lsize;
  char *labels = (char *)read_whole(LABELS_PATH, &lsize);
  if (!labels) {
    printf("cannot read %s\n", LABELS_PATH);
    return 1;
  }
  labels = realloc(labels, lsize + 1);
  labels[lsize] = 0;

  uint32_t tensor_bytes = SIDE * SIDE * 3 * sizeof(float), nwritten = 0;
  uint8_t *input = malloc(tensor_bytes);
  kafu_error ke = image_to_tensor(g_image, (int)strlen(g_image), SIDE, SIDE, input, &nwritten);
  if (ke != kafu_success || nwritten != tensor_bytes) {
    printf("image_to_tensor(%s) failed: %d\n", g_image, ke);
    return 1;
  }
  uint32_t dims[] = {1, 3, SIDE, SIDE};
  tensor t = {.dimensions = {dims, 4}, .type = fp32, .data = {input, nwritten}};
  if ((e = wasi_nn_set_input(ctx, 0, &t)) != success || (e = wasi_nn_compute(ctx)) != success) {
    printf("inference failed: %d\n", e);
    return 1;
  }
  float *logits = malloc(NCLASSES * sizeof(float)), *prob = malloc(NCLASSES * sizeof(float));
  uint32_t got = 0;
  if ((e = wasi_nn_get_output(ctx, 0, (uint8_t *)logits, NCLASSES * sizeof(float), &got)) != success ||
      got != NCLASSES * sizeof(float)) {
    printf("get_output failed: %d (%u bytes)\n", e, got);
    return 1;
  }
  printf("Executed graph inference\n");
  softmax(logits, prob, NCLASSES);
  int best = 0;
  for (int i = 1; i < NCLASSES; i++)
    if (prob[i] > prob[best]) best = i;
  char *line = labels;
  for (int i = 0; i < best && line; i++) {
    line = strchr(line, '\n');
    if (line) line++;
  }
  char *end = line ? strchr(line, '\n') : NULL;
  if (end) *end = 0;
  char text[128];
  snprintf(text, sizeof text, "%s (%.1f%%)", line ? line : "?", prob[best] * 100);
  *label_out = strdup(text);
  free(labels), free(input), free(logits), free(prob);
  return 0;
}

KAFU_DEST(report_inference_result, "cloud")
KAFU_EXPORT(report_inference_result)
void report_inference_result(char *label) {
  printf("Inference result: %s\n", label);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc > 1) g_image = argv[1];
  printf("Starting Kafu main\n");
  char *label = NULL;
  if (run_inference(&label) != 0) {
    printf("Failed to run inference\n");
    return 1;
  }
  report_inference_result(label);
  free(label);
  return 0;
}

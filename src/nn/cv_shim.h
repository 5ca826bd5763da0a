/*
 * cv_shim.h — the C face of the C++ shim over OpenCV's DNN module
 * (cv_shim.cpp). Internal to src/nn: nn.c validates everything the guest
 * gave before calling in here. Every function catches every C++ exception
 * and returns a kafu_nn_status with a one-line message in msg.
 */
#ifndef KAFU_NN_CV_SHIM_H
#define KAFU_NN_CV_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KAFU_CV_MAX_RANK 16

typedef struct kafu_cv_net kafu_cv_net;

/* A dense float32 tensor crossing the shim. */
typedef struct kafu_cv_blob {
  uint32_t rank;
  int dims[KAFU_CV_MAX_RANK];
  float *data; /* outputs: malloc'd by the shim, freed by the caller with free() */
  size_t count;
} kafu_cv_blob;

/* Build a network from ONNX bytes. */
int kafu_cv_load_onnx(const uint8_t *bytes, size_t len, kafu_cv_net **out, char *msg, size_t msglen);
/* Set inputs by name and compute the named outputs (outs[i].data malloc'd). */
int kafu_cv_forward(kafu_cv_net *net, size_t nin, const char *const *in_names, const kafu_cv_blob *ins,
                    size_t nout, const char *const *out_names, kafu_cv_blob *outs, char *msg, size_t msglen);
void kafu_cv_free(kafu_cv_net *net);
/* "OpenCV 4.6.0" */
const char *kafu_cv_version(void);

#ifdef __cplusplus
}
#endif
#endif

/*
 * kafu_helper.h — helper functions the Kafu host provides to programs
 * (import module "kafu_helper"), as in the original Kafu SDK.
 *
 *   image_to_tensor(path, pathlen, height, width, output, nwritten)
 *     Decodes the JPEG or PNG image at `path` (a path inside the program's
 *     preopened directory; pathlen bytes, no terminating NUL needed), resizes it
 *     to width x height, and writes it to `output` as a 1x3xHxW float32 tensor
 *     (RGB planes, ImageNet mean/std normalisation) in little-endian bytes.
 *     `output` must hold height * width * 3 * 4 bytes; *nwritten receives the
 *     number of bytes written. Returns kafu_success or an error below.
 *
 * Error codes (kafu_error) use the same numbering as wasi-nn's.
 */
#ifndef KAFU_HELPER_H
#define KAFU_HELPER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KAFU_ERROR_NAME(name) kafu_##name
#define KAFU_ERROR_TYPE kafu_error

typedef enum {
  KAFU_ERROR_NAME(success) = 0,
  KAFU_ERROR_NAME(invalid_argument) = 1,
  KAFU_ERROR_NAME(invalid_encoding) = 2,
  KAFU_ERROR_NAME(missing_memory) = 3,
  KAFU_ERROR_NAME(busy) = 4,
  KAFU_ERROR_NAME(runtime_error) = 5,
  KAFU_ERROR_NAME(unsupported_operation) = 6,
  KAFU_ERROR_NAME(too_large) = 7,
  KAFU_ERROR_NAME(not_found) = 8,
} KAFU_ERROR_TYPE;

#if defined(__wasm__)
__attribute__((import_module("kafu_helper"), import_name("image_to_tensor")))
#endif
kafu_error
image_to_tensor(const char *path, int pathlen, uint32_t height, uint32_t width, uint8_t *output,
                uint32_t *nwritten);

#ifdef __cplusplus
}
#endif

#endif /* KAFU_HELPER_H */

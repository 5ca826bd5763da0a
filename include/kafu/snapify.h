/*
 * snapify.h — the Snapify transformation: make a wasm32-wasi module able to
 * checkpoint and resume itself at the entry and exit of KAFU_DEST functions.
 * See docs/abi.md for what the output imports and exports.
 */
#ifndef KAFU_SNAPIFY_H
#define KAFU_SNAPIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KAFU_DEFAULT_ASYNCIFY_BUF_SIZE (1024u * 1024u)

typedef struct kafu_snapify_opts {
  uint32_t asyncify_buf_size; /* bytes; 0 = KAFU_DEFAULT_ASYNCIFY_BUF_SIZE */
  bool verbose;               /* print what was instrumented to stderr */
} kafu_snapify_opts;

/* Transform a module in memory. *out is malloc'd. Returns 0 or negative with err set
 * (message names the function/section at fault). */
int kafu_snapify(const uint8_t *in, size_t in_len, const kafu_snapify_opts *opts, uint8_t **out,
                 size_t *out_len, kafu_err *err);

/* Read in_path, transform, write out_path atomically. */
int kafu_snapify_file(const char *in_path, const char *out_path, const kafu_snapify_opts *opts,
                      kafu_err *err);

#ifdef __cplusplus
}
#endif
#endif

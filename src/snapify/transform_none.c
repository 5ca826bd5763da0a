/*
 * transform_none.c — Snapify's transform in a kafu built without libbinaryen
 * (cmake -DKAFU_WITH_BINARYEN=OFF, the default of the aarch64 cross build:
 * Debian's binaryen is not Multi-Arch). Analysis (plan.c), `kafu inspect` and
 * everything a node does still work; transforming or validating a module with
 * Binaryen fails with a message that says so. Compiled to nothing otherwise.
 */
#include "snapify_internal.h"

#if !KAFU_HAVE_BINARYEN
#define NO_BINARYEN                                                                                  \
  "this kafu was built without libbinaryen (KAFU_WITH_BINARYEN=OFF, a node-only build): Snapify "   \
  "(kafu cc, kafu snapify) is unavailable here; compile and Snapify modules with a full kafu, e.g. " \
  "on an x86-64 machine, and copy the .wasm"

int ks_transform(const uint8_t *in, size_t in_len, const ks_plan *plan, bool verbose, kafu_buf *out,
                 kafu_buf *expect, kafu_err *err) {
  return kafu_err_set(err, KAFU_EUNSUP, NO_BINARYEN);
}

int ks_validate(const uint8_t *in, size_t in_len, uint32_t features, kafu_err *err) {
  return kafu_err_set(err, KAFU_EUNSUP, NO_BINARYEN);
}

char *ks_unescape_name(const char *s) { return NULL; }
char *ks_onlylist_pattern(const char *name) { return NULL; }
#endif

/* snapify.c — placeholder until the Snapify issue lands: reports "unsupported". */
#include "kafu/snapify.h"

int kafu_snapify(const uint8_t *in, size_t in_len, const kafu_snapify_opts *opts, uint8_t **out,
                 size_t *out_len, kafu_err *err) {
  (void)in, (void)in_len, (void)opts, (void)out, (void)out_len;
  return kafu_err_set(err, KAFU_EUNSUP, "snapify is not implemented yet");
}

int kafu_snapify_file(const char *in_path, const char *out_path, const kafu_snapify_opts *opts,
                      kafu_err *err) {
  (void)out_path, (void)opts;
  return kafu_err_set(err, KAFU_EUNSUP, "%s: snapify is not implemented yet", in_path);
}

/*
 * fuzz_config.c — libFuzzer target for the kafu-config.yaml parser and
 * validator (src/config): any bytes must give a config or a clear error,
 * never a crash; a config that loads must also survive normalisation
 * (kafu_config_to_yaml) and load again from that output.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kafu/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kafu_config *c = NULL;
  kafu_err err;
  if (kafu_config_load_string((const char *)data, size, "fuzz.yaml", "/tmp", &c, &err) == 0) {
    kafu_buf out = {0};
    if (kafu_config_to_yaml(c, 0, &out, &err) == 0) {
      kafu_config *again = NULL;
      if (kafu_config_load_string((const char *)out.data, out.len, "normalized.yaml", "/", &again, &err) != 0)
        abort(); /* the normalized form of a valid config must be valid */
      kafu_config_free(again);
    }
    kafu_buf_free(&out);
    kafu_config_free(c);
  }
  return 0;
}

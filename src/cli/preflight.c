/*
 * preflight.c — the checks commands make on a config's module before
 * anything starts (`kafu launch`, `kafu config check --app`, `kafu kustomize
 * build`): the module is read (app.path, app.url, or a local copy named with
 * --module) and checked exactly as every node checks it at start
 * (kafu_runtime_check_module), so a destination that is not a node of the
 * config is found before any node or Pod runs, with the same message.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafu/config.h"
#include "kafu/runtime.h"

int kafu_cli_check_module(const kafu_config *cfg, const char *module_path, uint8_t **out, size_t *out_len,
                          kafu_err *err) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  int rc;
  if (module_path) {
    rc = kafu_read_file(module_path, &bytes, &len, err);
    if (rc == 0 && cfg->app.has_sha256) {
      uint8_t d[KAFU_SHA256_LEN];
      kafu_sha256(bytes, len, d);
      if (memcmp(d, cfg->app.sha256, sizeof d)) {
        char got[2 * KAFU_SHA256_LEN + 1], want[2 * KAFU_SHA256_LEN + 1];
        kafu_hex(d, sizeof d, got);
        kafu_hex(cfg->app.sha256, sizeof d, want);
        rc = kafu_err_set(err, KAFU_EINVAL,
                          "--module %s is not the module of %s: its sha256 is %s, app.sha256 says %s",
                          module_path, cfg->config_path, got, want);
      }
    }
  } else {
    rc = kafu_config_load_app(cfg, &bytes, &len, err);
    if (rc && cfg->app.url)
      kafu_err_prefix(err, "%s", "reading the module to check it (or name a local copy with --module FILE)");
  }
  if (rc == 0) rc = kafu_runtime_check_module(cfg, bytes, len, module_path, err);
  if (rc == 0 && out) {
    *out = bytes;
    *out_len = len;
    return 0;
  }
  free(bytes);
  return rc;
}

/*
 * cmd_inspect.c — `kafu inspect FILE [--json]`: what a module (or, later, a
 * snapshot) holds.
 *
 * Files are dispatched on their first four bytes through `inspectors[]`:
 * "\0asm" is a WebAssembly module; a snapshot inspector is added by
 * appending an entry with the snapshot magic. For a module it shows whether
 * it is Snapified (kafu.meta), the annotated functions with their function
 * ids and destinations, instrumented/total functions, the Asyncify buffer,
 * memory, features, imports with signatures and exports. For an unsnapified
 * module the annotations come from the `.kafu_dest.*` sections through the
 * same analysis Snapify runs, so bad annotations are reported here too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafu/snapify.h"
#include "kafu/snapshot.h"
#include "kafu/util.h"
#include "kafu/wasm.h"

void kafu_usage_inspect(void) {
  printf(
      "Usage: kafu inspect FILE [--json]\n"
      "\n"
      "Show what FILE holds. For a wasm module: whether it is Snapified, its\n"
      "KAFU_DEST functions (function id, destination node), instrumented/total\n"
      "functions, the Asyncify buffer, memory, features, imports and exports.\n"
      "Exits 1 when the module's annotations are invalid (the problem is shown).\n"
      "\n"
      "Options:\n"
      "  --json      machine-readable output on stdout\n"
      "  -h, --help  show this help\n");
}

/* ---- modules ---------------------------------------------------------------------- */

typedef struct {
  const char *path;
  bool json;
} inspect_ctx;

static int64_t global_const(const kafu_wasm_module *m, const char *export_name) {
  const kafu_wasm_export *e = kafu_wasm_find_export(m, export_name, KAFU_WASM_EXT_GLOBAL);
  if (!e || m->globals[e->index].init_kind != KAFU_WASM_INIT_CONST) return -1;
  return (uint32_t)m->globals[e->index].init_value;
}

static int inspect_module(const inspect_ctx *c, const uint8_t *data, size_t len) {
  kafu_err err = {0}, aerr = {0};
  kafu_wasm_module m;
  if (kafu_wasm_parse(data, len, &m, &err) < 0) {
    fprintf(stderr, "kafu inspect: error: %s: %s\n", c->path, err.msg);
    return 1;
  }
  uint32_t features = 0;
  char feat[256];
  if (kafu_wasm_detect_features(&m, &features, &err) < 0) {
    fprintf(stderr, "kafu inspect: error: %s: %s\n", c->path, err.msg);
    kafu_wasm_module_free(&m);
    return 1;
  }
  kafu_wasm_format_features(features, feat, sizeof feat);
  kafu_snapify_info info;
  int arc = kafu_snapify_analyze(data, len, 0, &info, &aerr);
  uint8_t sha[KAFU_SHA256_LEN];
  char hex[2 * KAFU_SHA256_LEN + 1];
  kafu_sha256(data, len, sha);
  kafu_hex(sha, sizeof sha, hex);
  int64_t buf_addr = global_const(&m, "kafu_asyncify_buf_addr");
  uint32_t nmut = 0;
  for (uint32_t i = 0; i < m.nexports; i++)
    nmut += m.exports[i].kind == KAFU_WASM_EXT_GLOBAL && !strncmp(m.exports[i].name, "kafu_global_", 12);
  bool snap = arc == 0 && info.already_snapified;
  uint32_t ndefined = m.nfuncs - m.nfunc_imports;
  char sig[512];

  if (c->json) {
    FILE *f = stdout;
    fprintf(f, "{\"file\":");
    kafu_json_fquote(f, c->path);
    fprintf(f, ",\"kind\":\"wasm-module\",\"size\":%zu,\"sha256\":\"%s\",\"snapified\":%s", len, hex,
            snap ? "true" : "false");
    if (arc < 0) {
      fprintf(f, ",\"error\":");
      kafu_json_fquote(f, aerr.msg);
    } else {
      if (snap)
        fprintf(f,
                ",\"asyncify_buf_size\":%u,\"asyncify_buf_addr\":%lld,\"functions_instrumented\":%u,"
                "\"functions_total\":%u",
                info.buf_size, (long long)buf_addr, info.instrumented, info.total_functions);
      else
        fprintf(f, ",\"functions_reaching_migration_points\":%u,\"functions_total\":%u", info.reaching,
                ndefined);
      fprintf(f, ",\"annotated\":[");
      for (uint32_t i = 0; i < info.nfuncs; i++) {
        fprintf(f, "%s{\"id\":%u,\"function\":", i ? "," : "", i);
        kafu_json_fquote(f, info.funcs[i].name);
        fprintf(f, ",\"destination\":");
        kafu_json_fquote(f, info.funcs[i].dest);
        fprintf(f, "}");
      }
      fprintf(f, "]");
    }
    fprintf(f, ",\"exported_mutable_globals\":%u,\"features\":", nmut);
    kafu_json_fquote(f, feat);
    if (m.nmemories) {
      fprintf(f,
              ",\"memory\":{\"min_pages\":%llu,\"max_pages\":", (unsigned long long)m.memories[0].limits.min);
      if (m.memories[0].limits.has_max)
        fprintf(f, "%llu}", (unsigned long long)m.memories[0].limits.max);
      else
        fprintf(f, "null}");
    }
    fprintf(f, ",\"imports\":[");
    for (uint32_t i = 0; i < m.nimports; i++) {
      const kafu_wasm_import *im = &m.imports[i];
      fprintf(f, "%s{\"module\":", i ? "," : "");
      kafu_json_fquote(f, im->module);
      fprintf(f, ",\"name\":");
      kafu_json_fquote(f, im->name);
      fprintf(f, ",\"kind\":\"%s\"", kafu_wasm_kind_name(im->kind));
      if (im->kind == KAFU_WASM_EXT_FUNC) {
        fprintf(f, ",\"type\":");
        kafu_json_fquote(f, kafu_wasm_format_functype(&m.types[im->type_index], sig, sizeof sig));
      }
      fprintf(f, "}");
    }
    fprintf(f, "],\"exports\":[");
    for (uint32_t i = 0; i < m.nexports; i++) {
      const kafu_wasm_export *e = &m.exports[i];
      fprintf(f, "%s{\"name\":", i ? "," : "");
      kafu_json_fquote(f, e->name);
      fprintf(f, ",\"kind\":\"%s\",\"index\":%u", kafu_wasm_kind_name(e->kind), e->index);
      if (e->kind == KAFU_WASM_EXT_FUNC) {
        fprintf(f, ",\"type\":");
        kafu_json_fquote(f, kafu_wasm_format_functype(kafu_wasm_func_type(&m, e->index), sig, sizeof sig));
      }
      fprintf(f, "}");
    }
    fprintf(f, "]}\n");
  } else {
    printf("file:        %s\n", c->path);
    printf("kind:        WebAssembly module, %zu bytes, sha256 %s\n", len, hex);
    printf("snapified:   %s\n", snap ? "yes (kafu.meta version 1)" : "no");
    if (m.nmemories)
      printf("memory:      %llu pages initial%s\n", (unsigned long long)m.memories[0].limits.min,
             m.memories[0].limits.has_max ? "" : ", no maximum");
    printf("features:    %s\n", feat);
    if (arc == 0) {
      if (snap) {
        printf("functions:   %u defined, %u instrumented by Asyncify\n", info.total_functions,
               info.instrumented);
        if (buf_addr > 0)
          printf("buffer:      %u bytes at 0x%llx (reserved by the guest)\n", info.buf_size,
                 (long long)buf_addr);
        else
          printf("buffer:      %u bytes (allocated by the runtime at the first checkpoint)\n", info.buf_size);
        printf("globals:     %u mutable globals exported as kafu_global_<N>\n", nmut);
      } else {
        printf("functions:   %u defined, %u can be on the stack at a migration point\n", ndefined,
               info.reaching);
      }
      printf("annotated:   %u function%s\n", info.nfuncs, info.nfuncs == 1 ? "" : "s");
      if (info.nfuncs) {
        printf("  %-4s %-24s %s\n", "id", "function", "destination");
        for (uint32_t i = 0; i < info.nfuncs; i++)
          printf("  %-4u %-24s %s\n", i, info.funcs[i].name, info.funcs[i].dest);
      }
    } else {
      printf("annotated:   ? (see the error below)\n");
    }
    printf("imports:     %u\n", m.nimports);
    for (uint32_t i = 0; i < m.nimports; i++) {
      const kafu_wasm_import *im = &m.imports[i];
      printf("  %-6s %s.%s", kafu_wasm_kind_name(im->kind), im->module, im->name);
      if (im->kind == KAFU_WASM_EXT_FUNC)
        printf(" %s", kafu_wasm_format_functype(&m.types[im->type_index], sig, sizeof sig));
      printf("\n");
    }
    printf("exports:     %u\n", m.nexports);
    for (uint32_t i = 0; i < m.nexports; i++) {
      const kafu_wasm_export *e = &m.exports[i];
      printf("  %-6s %s", kafu_wasm_kind_name(e->kind), e->name);
      if (e->kind == KAFU_WASM_EXT_FUNC)
        printf(" %s", kafu_wasm_format_functype(kafu_wasm_func_type(&m, e->index), sig, sizeof sig));
      printf("\n");
    }
  }
  if (arc < 0)
    fprintf(stderr, "kafu inspect: error: %s: %s\n", c->path, aerr.msg);
  else
    kafu_snapify_info_free(&info);
  kafu_wasm_module_free(&m);
  return arc < 0 ? 1 : 0;
}

/* ---- snapshots ------------------------------------------------------------------ */

static int inspect_snapshot(const inspect_ctx *c, const uint8_t *data, size_t len) {
  kafu_buf out = {0};
  kafu_err err = {0};
  int rc = kafu_snap_describe(data, len, &out, c->json, &err);
  if (out.len) fwrite(out.data, 1, out.len, stdout);
  kafu_buf_free(&out);
  if (rc) {
    fprintf(stderr, "kafu inspect: error: %s: invalid snapshot: %s\n", c->path, err.msg);
    return 1;
  }
  return 0;
}

/* ---- dispatch on the file's magic -------------------------------------------- */

typedef struct {
  uint8_t magic[4];
  const char *what;
  int (*inspect)(const inspect_ctx *c, const uint8_t *data, size_t len);
} inspector;

static const inspector inspectors[] = {
    {{0x00, 'a', 's', 'm'}, "WebAssembly module", inspect_module},
    {{'K', 'A', 'F', 'U'}, "Kafu snapshot", inspect_snapshot},
};

int kafu_cmd_inspect(int argc, char **argv) {
  inspect_ctx c = {0};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      c.json = true;
    else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "kafu inspect: unknown option '%s'\nRun `kafu inspect --help` for usage.\n", argv[i]);
      return KAFU_EXIT_USAGE;
    } else if (!c.path)
      c.path = argv[i];
    else {
      fprintf(stderr, "kafu inspect: unexpected argument '%s' (one file at a time)\n", argv[i]);
      return KAFU_EXIT_USAGE;
    }
  }
  if (!c.path) {
    fprintf(stderr, "kafu inspect: missing FILE\nUsage: kafu inspect FILE [--json]\n");
    return KAFU_EXIT_USAGE;
  }
  uint8_t *data;
  size_t len;
  kafu_err err;
  if (kafu_read_file(c.path, &data, &len, &err) < 0) {
    fprintf(stderr, "kafu inspect: error: %s\n", err.msg);
    return 1;
  }
  int rc = -1;
  for (size_t i = 0; i < sizeof inspectors / sizeof inspectors[0]; i++)
    if (len >= 4 && !memcmp(data, inspectors[i].magic, 4)) {
      rc = inspectors[i].inspect(&c, data, len);
      break;
    }
  if (rc < 0) {
    fprintf(stderr,
            "kafu inspect: error: %s: unknown file type (first bytes %02x %02x %02x %02x); expected a wasm "
            "module\n",
            c.path, len > 0 ? data[0] : 0, len > 1 ? data[1] : 0, len > 2 ? data[2] : 0,
            len > 3 ? data[3] : 0);
    rc = 1;
  }
  free(data);
  return rc;
}

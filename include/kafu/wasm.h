/*
 * wasm.h — a small, fuzz-safe reader for WebAssembly binary modules.
 *
 * kafu_wasm_parse() decodes the module structure (types, imports, functions,
 * tables, memories, globals, exports, start, elements, data, custom sections,
 * the "name" section) into flat arrays. It never trusts a length: every count
 * and size is checked against the bytes that remain, so truncated or hostile
 * input yields an error naming the section and file offset, never a crash.
 * Function bodies are not decoded by kafu_wasm_parse; kafu_wasm_scan_code()
 * walks the instructions of one body on demand (Snapify's call graph, thunk
 * resolution, feature detection).
 *
 * Ownership: the module keeps pointers into the input buffer (custom section
 * data, function bodies, signatures), so the buffer must outlive the module.
 * Everything else (arrays, NUL-terminated name copies) is owned by the module
 * and released by kafu_wasm_module_free().
 *
 * Index spaces follow the spec: imported functions/tables/memories/globals
 * come first, so funcs[i] is function index i (and likewise for the others).
 *
 * Also here: the `kafu.meta` custom section codec (docs/abi.md), which every
 * runtime needs and which Snapify writes.
 */
#ifndef KAFU_WASM_H
#define KAFU_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- basic enums ---------------------------------------------------------- */

typedef enum {
  KAFU_WASM_EXT_FUNC = 0,
  KAFU_WASM_EXT_TABLE = 1,
  KAFU_WASM_EXT_MEMORY = 2,
  KAFU_WASM_EXT_GLOBAL = 3,
  KAFU_WASM_EXT_TAG = 4,
} kafu_wasm_extern_kind;

/* value type codes as in the binary format */
enum {
  KAFU_WASM_I32 = 0x7f,
  KAFU_WASM_I64 = 0x7e,
  KAFU_WASM_F32 = 0x7d,
  KAFU_WASM_F64 = 0x7c,
  KAFU_WASM_V128 = 0x7b,
  KAFU_WASM_FUNCREF = 0x70,
  KAFU_WASM_EXTERNREF = 0x6f,
};

/* section ids */
enum {
  KAFU_WASM_SEC_CUSTOM = 0,
  KAFU_WASM_SEC_TYPE = 1,
  KAFU_WASM_SEC_IMPORT = 2,
  KAFU_WASM_SEC_FUNCTION = 3,
  KAFU_WASM_SEC_TABLE = 4,
  KAFU_WASM_SEC_MEMORY = 5,
  KAFU_WASM_SEC_GLOBAL = 6,
  KAFU_WASM_SEC_EXPORT = 7,
  KAFU_WASM_SEC_START = 8,
  KAFU_WASM_SEC_ELEMENT = 9,
  KAFU_WASM_SEC_CODE = 10,
  KAFU_WASM_SEC_DATA = 11,
  KAFU_WASM_SEC_DATACOUNT = 12,
  KAFU_WASM_SEC_TAG = 13,
};

/* Proposals a module uses beyond the MVP (bit set). Filled by
 * kafu_wasm_detect_features(); the reader sets the ones visible from the
 * module structure (shared/64-bit memories, multi-memory, passive data, ...). */
enum {
  KAFU_WASM_FEAT_SIGN_EXT = 1u << 0,
  KAFU_WASM_FEAT_SAT_TRUNC = 1u << 1, /* non-trapping float-to-int */
  KAFU_WASM_FEAT_BULK_MEMORY = 1u << 2,
  KAFU_WASM_FEAT_REFERENCE_TYPES = 1u << 3,
  KAFU_WASM_FEAT_SIMD = 1u << 4,
  KAFU_WASM_FEAT_THREADS = 1u << 5, /* atomics, shared memory */
  KAFU_WASM_FEAT_MULTI_VALUE = 1u << 6,
  KAFU_WASM_FEAT_TAIL_CALL = 1u << 7,
  KAFU_WASM_FEAT_EXCEPTIONS = 1u << 8,
  KAFU_WASM_FEAT_MUTABLE_GLOBALS = 1u << 9, /* imported/exported mutable globals */
  KAFU_WASM_FEAT_MEMORY64 = 1u << 10,
  KAFU_WASM_FEAT_MULTI_MEMORY = 1u << 11,
  KAFU_WASM_FEAT_EXTENDED_CONST = 1u << 12,
};

/* ---- module model --------------------------------------------------------- */

typedef struct kafu_wasm_functype {
  uint32_t nparams, nresults;
  const uint8_t *params;  /* nparams value type codes (points into the input) */
  const uint8_t *results; /* nresults value type codes */
} kafu_wasm_functype;

typedef struct kafu_wasm_limits {
  uint64_t min, max;
  bool has_max, shared, is64;
} kafu_wasm_limits;

typedef struct kafu_wasm_import {
  char *module, *name;
  kafu_wasm_extern_kind kind;
  uint32_t index;          /* index in the kind's index space (function index, global index, ...) */
  uint32_t type_index;     /* FUNC, TAG: type index */
  uint8_t valtype;         /* GLOBAL: value type; TABLE: element reference type */
  bool mutable_;           /* GLOBAL */
  kafu_wasm_limits limits; /* TABLE, MEMORY */
} kafu_wasm_import;

typedef struct kafu_wasm_export {
  char *name;
  kafu_wasm_extern_kind kind;
  uint32_t index;
} kafu_wasm_export;

typedef struct kafu_wasm_func {
  uint32_t type_index;
  bool imported;
  const char *name; /* from the name section, or NULL (owned by the module) */
  /* defined functions: the code entry's body (local declarations + expression) */
  size_t body_offset, body_len;
} kafu_wasm_func;

typedef enum {
  KAFU_WASM_INIT_CONST,  /* value in init_value (i32/i64 sign-extended; f32/f64 raw bits) */
  KAFU_WASM_INIT_GLOBAL, /* global.get init_value */
  KAFU_WASM_INIT_REF,    /* ref.null (init_value = UINT64_MAX) or ref.func init_value */
  KAFU_WASM_INIT_OTHER,  /* anything else (extended const, v128, ...) */
} kafu_wasm_init_kind;

typedef struct kafu_wasm_global {
  uint8_t valtype;
  bool mutable_;
  bool imported;
  kafu_wasm_init_kind init_kind; /* defined globals only */
  uint64_t init_value;
  const char *name; /* from the name section, or NULL */
} kafu_wasm_global;

typedef struct kafu_wasm_table {
  uint8_t elemtype;
  kafu_wasm_limits limits;
  bool imported;
} kafu_wasm_table;

typedef struct kafu_wasm_memory {
  kafu_wasm_limits limits;
  bool imported;
} kafu_wasm_memory;

typedef struct kafu_wasm_data {
  bool passive;
  uint32_t memory;
  bool offset_known; /* active segment with an i32/i64.const offset */
  uint64_t offset;
  const uint8_t *bytes;
  size_t len;
} kafu_wasm_data;

typedef struct kafu_wasm_custom {
  char *name;
  const uint8_t *data; /* payload after the name */
  size_t len;
  size_t section_offset; /* offset of the section id byte in the input */
  size_t section_end;    /* offset just past the section */
} kafu_wasm_custom;

typedef struct kafu_wasm_section {
  uint8_t id;
  size_t offset;         /* of the id byte */
  size_t payload_offset; /* of the first payload byte */
  size_t payload_len;
} kafu_wasm_section;

typedef struct kafu_wasm_module {
  const uint8_t *bytes; /* the input (not owned) */
  size_t len;

  kafu_wasm_section *sections;
  uint32_t nsections;
  kafu_wasm_functype *types;
  uint32_t ntypes;
  kafu_wasm_import *imports;
  uint32_t nimports;
  kafu_wasm_func *funcs; /* imported first, then defined */
  uint32_t nfuncs, nfunc_imports;
  kafu_wasm_table *tables;
  uint32_t ntables;
  kafu_wasm_memory *memories;
  uint32_t nmemories;
  kafu_wasm_global *globals;
  uint32_t nglobals, nglobal_imports;
  uint32_t *tags; /* type index per tag */
  uint32_t ntags;
  kafu_wasm_export *exports;
  uint32_t nexports;
  bool has_start;
  uint32_t start_func;
  /* every function index named by an element segment (duplicates possible) */
  uint32_t *elem_funcs;
  uint32_t nelem_funcs, nelem_segments;
  kafu_wasm_data *data;
  uint32_t ndata;
  kafu_wasm_custom *customs;
  uint32_t ncustoms;
  char *module_name;            /* name section, or NULL */
  bool names_invalid;           /* the name section was malformed and ignored */
  uint32_t structural_features; /* KAFU_WASM_FEAT_* visible without decoding code */
} kafu_wasm_module;

/* Parse bytes into *m (zeroed first). On error returns KAFU_EFORMAT (malformed),
 * KAFU_EUNSUP (a proposal this reader does not model, e.g. GC types) or
 * KAFU_ENOMEM, with err naming the section and offset; *m is then empty. */
int kafu_wasm_parse(const uint8_t *bytes, size_t len, kafu_wasm_module *m, kafu_err *err);
void kafu_wasm_module_free(kafu_wasm_module *m);

/* Lookups. kind < 0 matches any kind. Return NULL when absent. */
const kafu_wasm_export *kafu_wasm_find_export(const kafu_wasm_module *m, const char *name, int kind);
const kafu_wasm_import *kafu_wasm_find_import(const kafu_wasm_module *m, const char *module,
                                              const char *name);
/* First custom section with exactly this name. */
const kafu_wasm_custom *kafu_wasm_find_custom(const kafu_wasm_module *m, const char *name);
/* Signature of function index fi, or NULL when fi is out of range. */
const kafu_wasm_functype *kafu_wasm_func_type(const kafu_wasm_module *m, uint32_t fi);
/* Function index whose name-section name is `name`, or -1. */
int64_t kafu_wasm_find_func_by_name(const kafu_wasm_module *m, const char *name);
/* true when two signatures are structurally equal */
bool kafu_wasm_functype_equal(const kafu_wasm_functype *a, const kafu_wasm_functype *b);

/* Formatting helpers: "i32", "func", "(i32, i64) -> f64". */
const char *kafu_wasm_valtype_name(uint8_t vt);
const char *kafu_wasm_kind_name(kafu_wasm_extern_kind k);
const char *kafu_wasm_section_name(uint8_t id);
/* Writes "(params) -> results" into buf (always NUL-terminated); returns buf. */
char *kafu_wasm_format_functype(const kafu_wasm_functype *t, char *buf, size_t n);

/* ---- code scanning -------------------------------------------------------- */

/* Opcodes of interest. Prefixed opcodes are (prefix << 16) | subopcode, e.g.
 * memory.copy = 0xfc000a, i32x4.add = 0xfd00ae. */
enum {
  KAFU_WASM_OP_UNREACHABLE = 0x00,
  KAFU_WASM_OP_BLOCK = 0x02,
  KAFU_WASM_OP_END = 0x0b,
  KAFU_WASM_OP_CALL = 0x10,
  KAFU_WASM_OP_CALL_INDIRECT = 0x11,
  KAFU_WASM_OP_RETURN_CALL = 0x12,
  KAFU_WASM_OP_RETURN_CALL_INDIRECT = 0x13,
  KAFU_WASM_OP_LOCAL_GET = 0x20,
  KAFU_WASM_OP_GLOBAL_GET = 0x23,
  KAFU_WASM_OP_GLOBAL_SET = 0x24,
  KAFU_WASM_OP_I32_CONST = 0x41,
  KAFU_WASM_OP_REF_FUNC = 0xd2,
};

typedef struct kafu_wasm_instr {
  uint32_t op;    /* opcode, see above */
  uint64_t a, b;  /* first two immediates: call -> a = function; call_indirect -> a = type,
                     b = table; local/global ops -> a = index; ref.func -> a = function;
                     br/br_if -> a = depth; i32/i64.const -> a = value (sign-extended);
                     loads/stores -> a = offset, b = align */
  size_t offset;  /* of the opcode byte in the module */
  uint32_t depth; /* block nesting depth before this instruction (body level = 0) */
} kafu_wasm_instr;

/* Called for every instruction of a body, in order, including the final `end`.
 * Return non-zero to stop early (kafu_wasm_scan_code then returns that value). */
typedef int (*kafu_wasm_instr_fn)(void *ud, const kafu_wasm_instr *ins);

/* Decode the body of defined function fi, calling fn (may be NULL) per
 * instruction. Validates every immediate's encoding and index ranges for
 * functions/types/globals/tables, and that the body ends exactly at its
 * final `end`. *features (may be NULL) is OR-ed with the proposals used.
 * Returns 0, fn's non-zero value, or a negative error naming the function. */
int kafu_wasm_scan_code(const kafu_wasm_module *m, uint32_t fi, kafu_wasm_instr_fn fn, void *ud,
                        uint32_t *features, kafu_err *err);

/* The text name of an opcode ("i32.add", "v128.load", "i32x4.add"), or NULL
 * when this build has no name for it (names come from wabt's opcode table). */
const char *kafu_wasm_opcode_name(uint32_t op);

/* Where a module first uses Wasm SIMD: a 0xfd-prefixed instruction (in
 * function-index order), else the v128 type in a function signature or a
 * global. what = "instruction i32x4.add in function 'dot'",
 * "v128 in the signature of function 'f'", "v128 global #2". */
typedef struct kafu_wasm_simd_use {
  int64_t func;  /* function index, -1 for a global */
  size_t offset; /* of the instruction in the module (0 for types/globals) */
  uint32_t op;   /* 0xfdXXXX, 0 for a type */
  char what[160];
} kafu_wasm_simd_use;
/* 1 and *use when the module uses SIMD, 0 when not, < 0 + err on a decode error. */
int kafu_wasm_find_simd(const kafu_wasm_module *m, kafu_wasm_simd_use *use, kafu_err *err);
/* For kafu cc and the engine: 0 when the module p uses no SIMD, else
 * KAFU_EUNSUP with err = "NAME uses Wasm SIMD (first: ...): Kafu's engine ...
 * cannot compile Wasm SIMD; build without -msimd128 ..." (docs/engine.md), or a
 * decode error. */
int kafu_wasm_refuse_simd(const uint8_t *p, size_t len, const char *name, kafu_err *err);

/* Scan all bodies; *features = structural features | every proposal used. */
int kafu_wasm_detect_features(const kafu_wasm_module *m, uint32_t *features, kafu_err *err);
/* Writes a "sign-ext, bulk-memory" style list of the bits in f into buf; returns buf. */
char *kafu_wasm_format_features(uint32_t f, char *buf, size_t n);

/* ---- kafu.meta (docs/abi.md) ---------------------------------------------- */

#define KAFU_META_SECTION "kafu.meta"
#define KAFU_META_MAGIC 0x5546414bu /* "KAFU" little-endian */
#define KAFU_META_VERSION 1u
#define KAFU_META_FLAG_SNAPIFIED 1u

typedef struct kafu_meta_func {
  uint32_t fn_id;
  char *name;
  char *dest;
} kafu_meta_func;

typedef struct kafu_meta {
  uint32_t version, flags, asyncify_buf_size;
  kafu_meta_func *funcs;
  uint32_t nfuncs;
  uint32_t instrumented_functions, total_functions;
} kafu_meta;

/* Decode a kafu.meta payload. KAFU_EFORMAT on any inconsistency. */
int kafu_meta_parse(const uint8_t *data, size_t len, kafu_meta *out, kafu_err *err);
/* Encode into b (appends the payload only, not the section header). */
int kafu_meta_encode(const kafu_meta *meta, kafu_buf *b);
void kafu_meta_free(kafu_meta *meta);
/* Find and decode the module's kafu.meta: 1 = found, 0 = absent, <0 = malformed. */
int kafu_wasm_read_meta(const kafu_wasm_module *m, kafu_meta *out, kafu_err *err);

/* Append a complete custom section (id 0, size, name, payload) to b. */
int kafu_wasm_append_custom(kafu_buf *b, const char *name, const void *payload, size_t len);

/* ---- relocatable objects ----------------------------------------------------- */

/* Binding of the function `name` a relocatable object (one with a "linking"
 * section, as clang -c writes it) defines: 1 = weak, 0 = global or local;
 * KAFU_ENOENT when it defines no such function (or m is no object),
 * KAFU_EFORMAT for a malformed symbol table. */
int kafu_wasm_object_func_binding(const kafu_wasm_module *m, const char *name, kafu_err *err);

/* ---- LEB128 (exposed for the snapshot and tests) ---------------------------- */

/* Read at *pos within [0, len); advance *pos. Return 0 or KAFU_EFORMAT on
 * truncation/overlong encodings. */
int kafu_leb_u32(const uint8_t *p, size_t len, size_t *pos, uint32_t *out);
int kafu_leb_u64(const uint8_t *p, size_t len, size_t *pos, uint64_t *out);
int kafu_leb_s32(const uint8_t *p, size_t len, size_t *pos, int32_t *out);
int kafu_leb_s64(const uint8_t *p, size_t len, size_t *pos, int64_t *out);
int kafu_leb_put_u32(kafu_buf *b, uint32_t v);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_WASM_H */

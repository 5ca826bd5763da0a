/*
 * opnames.c — text names of opcodes, for messages ("i32x4.add").
 *
 * The names come from wabt's opcode table (<wabt/opcode.def>, an X-macro
 * header installed with Debian's wabt, which Kafu needs anyway for wasm2c).
 * Built without it, kafu_wasm_opcode_name() knows no names and callers print
 * the opcode number instead.
 */
#include <stddef.h>
#include <stdint.h>

#include "kafu/wasm.h"

#if defined(__has_include)
#if __has_include(<wabt/opcode.def>)
#define KAFU_HAVE_WABT_OPCODES 1
#endif
#endif

#ifdef KAFU_HAVE_WABT_OPCODES
static const struct {
  uint32_t op;
  const char *name;
} g_names[] = {
#define WABT_OPCODE(rtype, type1, type2, type3, mem_size, prefix, code, Name, text, decomp) \
  {(uint32_t)(prefix) << 16 | (uint32_t)(code), text},
#include <wabt/opcode.def>
#undef WABT_OPCODE
};
#endif

const char *kafu_wasm_opcode_name(uint32_t op) {
#ifdef KAFU_HAVE_WABT_OPCODES
  for (size_t i = 0; i < sizeof g_names / sizeof g_names[0]; i++)
    if (g_names[i].op == op) return g_names[i].name;
#else
  (void)op;
#endif
  return NULL;
}

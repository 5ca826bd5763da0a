/*
 * linking.c — the symbol table of a relocatable wasm object (the "linking"
 * custom section of tool-conventions/Linking.md), as far as `kafu cc` needs
 * it: is a function this object defines a weak definition?
 */
#include <string.h>

#include "kafu/wasm.h"

#define SUB_SYMBOL_TABLE 8
#define SYM_FUNCTION 0
#define SYM_DATA 1
#define SYM_GLOBAL 2
#define SYM_SECTION 3
#define SYM_TAG 4
#define SYM_TABLE 5
#define FLAG_BINDING_MASK 0x3u
#define FLAG_WEAK 0x1u
#define FLAG_UNDEFINED 0x10u
#define FLAG_EXPLICIT_NAME 0x40u

static int bad(kafu_err *err, size_t at) {
  return kafu_err_set(err, KAFU_EFORMAT, "linking section: malformed symbol table at byte %zu", at);
}

int kafu_wasm_object_func_binding(const kafu_wasm_module *m, const char *name, kafu_err *err) {
  const kafu_wasm_custom *c = kafu_wasm_find_custom(m, "linking");
  if (!c) return KAFU_ENOENT;
  const uint8_t *p = c->data;
  size_t len = c->len, pos = 0;
  uint32_t version;
  if (kafu_leb_u32(p, len, &pos, &version) < 0) return bad(err, pos);
  size_t want = strlen(name);
  while (pos < len) {
    uint8_t type = p[pos++];
    uint32_t sublen;
    if (kafu_leb_u32(p, len, &pos, &sublen) < 0 || sublen > len - pos) return bad(err, pos);
    size_t end = pos + sublen;
    if (type != SUB_SYMBOL_TABLE) {
      pos = end;
      continue;
    }
    uint32_t count;
    if (kafu_leb_u32(p, end, &pos, &count) < 0) return bad(err, pos);
    for (uint32_t i = 0; i < count; i++) {
      if (pos >= end) return bad(err, pos);
      uint8_t kind = p[pos++];
      uint32_t flags, index, nlen = 0, x;
      const uint8_t *nm = NULL;
      if (kafu_leb_u32(p, end, &pos, &flags) < 0) return bad(err, pos);
      bool defined = !(flags & FLAG_UNDEFINED);
      switch (kind) {
        case SYM_FUNCTION:
        case SYM_GLOBAL:
        case SYM_TAG:
        case SYM_TABLE:
          if (kafu_leb_u32(p, end, &pos, &index) < 0) return bad(err, pos);
          if (defined || (flags & FLAG_EXPLICIT_NAME)) {
            if (kafu_leb_u32(p, end, &pos, &nlen) < 0 || nlen > end - pos) return bad(err, pos);
            nm = p + pos;
            pos += nlen;
          }
          break;
        case SYM_DATA:
          if (kafu_leb_u32(p, end, &pos, &nlen) < 0 || nlen > end - pos) return bad(err, pos);
          pos += nlen;
          for (int k = 0; defined && k < 3; k++)
            if (kafu_leb_u32(p, end, &pos, &x) < 0) return bad(err, pos);
          break;
        case SYM_SECTION:
          if (kafu_leb_u32(p, end, &pos, &index) < 0) return bad(err, pos);
          break;
        default:
          return kafu_err_set(err, KAFU_EFORMAT, "linking section: unknown symbol kind %u", kind);
      }
      if (kind == SYM_FUNCTION && defined && nm && nlen == want && !memcmp(nm, name, want))
        return (flags & FLAG_BINDING_MASK) == FLAG_WEAK ? 1 : 0;
    }
    pos = end;
  }
  return KAFU_ENOENT;
}

/*
 * snapshot.c — small shared pieces of the snapshot library: freeing decoded
 * snapshots, compression names and codes, section names, size bounds.
 */
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zstd.h>

#include "snap_internal.h"

void kafu_snapshot_clear(kafu_snapshot *s) {
  if (!s) return;
  free(s->source_node);
  free(s->target_node);
  free(s->sender);
  for (uint32_t i = 0; i < s->nframes; i++) free(s->frames[i].caller_node);
  free(s->frames);
  for (uint32_t i = 0; i < s->nglobals; i++) free(s->globals[i].name);
  free(s->globals);
  kafu_fd_entries_free(s->fds, s->nfds);
  for (uint32_t i = 0; i < s->nhost; i++) free(s->host[i].name), free((void *)s->host[i].data);
  free(s->host);
  memset(s, 0, sizeof *s);
}

const char *kafu_snap_val_name(uint8_t t) {
  static const char *const names[] = {"i32", "i64", "f32", "f64"};
  return t <= KAFU_SNAP_VAL_F64 ? names[t] : "?";
}

const char *kafu_snap_comp_name(kafu_snap_comp c) {
  switch (c) {
    case KAFU_SNAP_COMP_NONE:
      return "none";
    case KAFU_SNAP_COMP_ZSTD:
      return "zstd";
    case KAFU_SNAP_COMP_DEFAULT:
    case KAFU_SNAP_COMP_LZ4:
      return "lz4";
  }
  return "?";
}

int kafu_snap_comp_parse(const char *s, kafu_snap_comp *out) {
  if (!s) return KAFU_EINVAL;
  if (!strcasecmp(s, "none"))
    *out = KAFU_SNAP_COMP_NONE;
  else if (!strcasecmp(s, "lz4"))
    *out = KAFU_SNAP_COMP_LZ4;
  else if (!strcasecmp(s, "zstd"))
    *out = KAFU_SNAP_COMP_ZSTD;
  else
    return KAFU_EINVAL;
  return 0;
}

int kafu_snap_wire_comp(kafu_snap_comp c) {
  switch (c) {
    case KAFU_SNAP_COMP_NONE:
      return WIRE_COMP_NONE;
    case KAFU_SNAP_COMP_ZSTD:
      return WIRE_COMP_ZSTD;
    case KAFU_SNAP_COMP_DEFAULT:
    case KAFU_SNAP_COMP_LZ4:
      return WIRE_COMP_LZ4;
  }
  return -1;
}

kafu_snap_comp kafu_snap_api_comp(int wire) {
  return wire == WIRE_COMP_NONE   ? KAFU_SNAP_COMP_NONE
         : wire == WIRE_COMP_ZSTD ? KAFU_SNAP_COMP_ZSTD
                                  : KAFU_SNAP_COMP_LZ4;
}

const char *kafu_snap_section_name(uint32_t type) {
  switch (type) {
    case SEC_META:
      return "META";
    case SEC_STACK:
      return "STACK";
    case SEC_GLOBALS:
      return "GLOBALS";
    case SEC_FDS:
      return "FDS";
    case SEC_HOST:
      return "HOST";
    case SEC_MEMORY:
      return "MEMORY";
    case SEC_MEMCHUNK:
      return "MEMCHUNK";
    case SEC_RUN:
      return "RUN";
    case SEC_END:
      return "END";
  }
  return "unknown";
}

uint64_t kafu_snap_stored_bound(int wire_comp, uint64_t n) {
  switch (wire_comp) {
    case WIRE_COMP_NONE:
      return n;
    case WIRE_COMP_LZ4:
      return (uint64_t)LZ4_compressBound((int)n);
    case WIRE_COMP_ZSTD:
      return (uint64_t)ZSTD_compressBound((size_t)n);
  }
  return 0;
}

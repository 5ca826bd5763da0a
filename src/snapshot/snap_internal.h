/*
 * snap_internal.h — wire-format constants and little-endian helpers shared by
 * the snapshot encoder, decoder and describer (not a public header). The format
 * itself is specified in docs/snapshot-format.md; keep the two in step.
 */
#ifndef KAFU_SNAP_INTERNAL_H
#define KAFU_SNAP_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "kafu/snapshot.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kafu snapshots assume a little-endian host (page-hash arrays are hashed in place)"
#endif

#define SNAP_MAGIC "KAFUSNAP"
#define SNAP_MAGIC_LEN 8
#define SNAP_FILE_HDR 24 /* magic, u16 major, u16 minor, u32 flags, u64 xxh3 of the first 16 bytes */
#define SNAP_SEC_HDR 16  /* u32 type, u32 flags, u64 payload length */
#define SNAP_TRAILER 8   /* u64 xxh3-64 of header || payload */
#define SNAP_VERSION_MINOR 2 /* 1: the RUN section; 2: fd entries carry home node, generation, handle, read-ahead */

/* section types (ascending order on the wire; MEMCHUNK repeats) */
enum {
  SEC_META = 1,
  SEC_STACK = 2,
  SEC_GLOBALS = 3,
  SEC_FDS = 4,
  SEC_MEMORY = 5,
  SEC_MEMCHUNK = 6,
  SEC_HOST = 7, /* optional, between FDS and MEMORY */
  SEC_RUN = 8,  /* right after META, flagged OPTIONAL (readers of 1.0 skip it) */
  SEC_END = 15,
};
#define SEC_FLAG_OPTIONAL 1u /* an unknown section with this flag is skipped */

/* wire codes of compression and memory mode */
enum { WIRE_COMP_NONE = 0, WIRE_COMP_LZ4 = 1, WIRE_COMP_ZSTD = 2 };
enum { MEM_FULL = 0, MEM_DELTA = 1 };

#define SNAP_MEMORY_PAYLOAD 56            /* fixed size of the MEMORY section payload */
#define SNAP_RUN_ENTRY 12                 /* u32 first_page, u32 npages, u32 stored_len */
#define SNAP_MAX_META_SECTION (64u << 20) /* STACK/GLOBALS/FDS/META payload cap */
#define SNAP_NULL_STR 0xffffffffu         /* string length meaning "absent" (NULL) */

static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t get16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
static inline uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t get64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

const char *kafu_snap_section_name(uint32_t type);
int kafu_snap_wire_comp(kafu_snap_comp c);   /* API enum -> wire code */
kafu_snap_comp kafu_snap_api_comp(int wire); /* wire code -> API enum */
/* Hash of an all-zero 4 KiB page (what grown memory holds). */
uint64_t kafu_snap_zero_page_hash(void);
/* Largest stored (compressed) size of a run of n raw bytes, per wire code. */
uint64_t kafu_snap_stored_bound(int wire_comp, uint64_t n);

/* Partial view of a decoder for kafu_snap_describe (describe.c). */
typedef struct kafu_snap_decoder_view {
  const kafu_snapshot *snap; /* what was parsed so far */
  bool have_meta, have_memory, done;
  int mem_mode, wire_comp;
  uint64_t base_id, base_size, image_id, declared_pages;
  uint32_t declared_chunks, chunk_size;
  bool image_verified; /* the rebuilt image id was checked */
  kafu_snap_stats stats;
  uint64_t offset; /* bytes consumed */
} kafu_snap_decoder_view;
void kafu_snap_decoder_view_get(const kafu_snap_decoder *dec, kafu_snap_decoder_view *v);

#endif

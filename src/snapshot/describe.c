/*
 * describe.c — `kafu inspect snapshot.bin`: validate a snapshot with the same
 * decoder the nodes use (inspection mode: pages are decompressed into scratch
 * and hashed, never applied) and print what it holds, as text or one JSON
 * object. An invalid snapshot still prints everything that was readable before
 * the error, plus the error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "snap_internal.h"

static const char *fd_kind(uint8_t k) {
  static const char *n[] = {"stdio", "preopen", "file", "dir", "listen", "socket"};
  return k < 6 ? n[k] : "?";
}
static const char *comp_name(int wire) {
  return wire == WIRE_COMP_NONE   ? "none"
         : wire == WIRE_COMP_LZ4  ? "lz4"
         : wire == WIRE_COMP_ZSTD ? "zstd"
                                  : "?";
}
static const char *str_or(const char *s, const char *dflt) { return s ? s : dflt; }

static void text(kafu_buf *o, const kafu_snap_decoder_view *v, size_t len, int rc, const kafu_err *e) {
  const kafu_snapshot *s = v->snap;
  char id[17];
  kafu_buf_printf(o, "kafu snapshot (format version %u), %zu bytes: %s%s\n", KAFU_SNAP_VERSION, len,
                  rc ? "INVALID: " : "valid", rc ? e->msg : "");
  if (!v->have_meta) return;
  char sha[65];
  kafu_hex(s->module_sha256, KAFU_SHA256_LEN, sha);
  kafu_buf_printf(o, "  module sha256: %s\n", sha);
  kafu_buf_printf(o, "  from node %s to node %s, resume at fn %u (%s)\n", str_or(s->source_node, "?"),
                  str_or(s->target_node, "?"), s->resume_fn_id, s->resume_kind ? "exit" : "enter");
  if (s->run_id) {
    kafu_mem_image_id_str(s->run_id, id);
    kafu_buf_printf(o,
                    "  run %s, hop %" PRIu64 " (epoch %" PRIu64 ", #%" PRIu64
                    "), sent by %s (incarnation %016" PRIx64 ")\n",
                    id, s->hop, s->hop >> 32, s->hop & 0xffffffffu, str_or(s->sender, "?"),
                    s->sender_incarnation);
  }
  kafu_buf_printf(o, "  migration stack: %u frame%s (bottom first)\n", s->nframes,
                  s->nframes == 1 ? "" : "s");
  for (uint32_t i = 0; i < s->nframes; i++)
    kafu_buf_printf(o, "    #%u fn %u called from %s%s\n", i, s->frames[i].fn_id,
                    str_or(s->frames[i].caller_node, "?"), s->frames[i].migrated ? " (migrated)" : "");
  kafu_buf_printf(o, "  globals: %u\n", s->nglobals);
  for (uint32_t i = 0; i < s->nglobals; i++)
    kafu_buf_printf(o, "    %s %s 0x%" PRIx64 "\n", str_or(s->globals[i].name, "?"),
                    kafu_snap_val_name(s->globals[i].type), s->globals[i].bits);
  kafu_buf_printf(o, "  fds: %u\n", s->nfds);
  for (uint32_t i = 0; i < s->nfds; i++) {
    const kafu_fd_entry *f = &s->fds[i];
    kafu_buf_printf(o, "    fd %u %s", f->fd, fd_kind(f->kind));
    if (f->preopen) kafu_buf_printf(o, " preopen=%s", f->preopen);
    if (f->path) kafu_buf_printf(o, " path=%s", f->path);
    if (f->home)
      kafu_buf_printf(o, " home=%s gen=0x%" PRIx64 " handle=%" PRIu64 " read_ahead=%u", f->home, f->home_gen,
                      f->handle, f->npending);
    kafu_buf_printf(
        o, " offset=%" PRIu64 " oflags=0x%x fdflags=0x%x rights=0x%" PRIx64 "/0x%" PRIx64 " index=%u\n",
        f->offset, f->oflags, f->fdflags, f->rights_base, f->rights_inheriting, f->index);
  }
  if (s->nhost) kafu_buf_printf(o, "  host state: %u\n", s->nhost);
  for (uint32_t i = 0; i < s->nhost; i++)
    kafu_buf_printf(o, "    %s %" PRIu64 " bytes\n", str_or(s->host[i].name, "?"), s->host[i].len);
  if (!v->have_memory) return;
  const kafu_snap_stats *st = &v->stats;
  kafu_buf_printf(o, "  memory: %" PRIu64 " bytes (%" PRIu64 " wasm pages), ", st->memory_size,
                  st->memory_size / KAFU_WASM_PAGE);
  if (v->mem_mode == MEM_DELTA) {
    kafu_mem_image_id_str(v->base_id, id);
    kafu_buf_printf(o, "delta against image %s (%" PRIu64 " bytes)", id, v->base_size);
  } else {
    kafu_buf_printf(o, "full image");
  }
  kafu_buf_printf(o, ", %s, chunks of %u bytes\n", comp_name(v->wire_comp), v->chunk_size);
  kafu_mem_image_id_str(v->image_id, id);
  kafu_buf_printf(o, "    image id %s (%s)\n", id,
                  v->image_verified          ? "verified"
                  : v->mem_mode == MEM_DELTA ? "not verifiable without the baseline"
                                             : "not verified");
  double ratio = st->mem_wire_bytes ? (double)st->raw_bytes / (double)st->mem_wire_bytes : 0;
  kafu_buf_printf(o,
                  "    pages carried: %" PRIu64 " of %" PRIu64 " declared (%" PRIu64
                  " bytes raw) in %u of %u chunks, "
                  "%" PRIu64 " bytes on the wire (ratio %.2f)\n",
                  st->pages, v->declared_pages, st->raw_bytes, st->chunks, v->declared_chunks,
                  st->mem_wire_bytes, ratio);
}

static void json(kafu_buf *o, const kafu_snap_decoder_view *v, size_t len, int rc, const kafu_err *e) {
  const kafu_snapshot *s = v->snap;
  char id[17];
  kafu_buf_printf(o, "{\"valid\":%s,\"error\":", rc ? "false" : "true");
  kafu_json_quote(o, rc ? e->msg : NULL);
  kafu_buf_printf(o, ",\"version\":%u,\"bytes\":%zu", KAFU_SNAP_VERSION, len);
  if (v->have_meta) {
    char sha[65];
    kafu_hex(s->module_sha256, KAFU_SHA256_LEN, sha);
    kafu_buf_printf(o, ",\"module_sha256\":\"%s\",\"source_node\":", sha);
    kafu_json_quote(o, s->source_node);
    kafu_buf_printf(o, ",\"target_node\":");
    kafu_json_quote(o, s->target_node);
    if (s->run_id) {
      kafu_mem_image_id_str(s->run_id, id);
      kafu_buf_printf(o, ",\"run\":{\"id\":\"%s\",\"hop\":%" PRIu64 ",\"sender\":", id, s->hop);
      kafu_json_quote(o, s->sender);
      kafu_buf_printf(o, ",\"sender_incarnation\":\"%016" PRIx64 "\"}", s->sender_incarnation);
    }
    kafu_buf_printf(o, ",\"resume\":{\"fn_id\":%u,\"kind\":\"%s\"},\"stack\":[", s->resume_fn_id,
                    s->resume_kind ? "exit" : "enter");
    for (uint32_t i = 0; i < s->nframes; i++) {
      kafu_buf_printf(o, "%s{\"fn_id\":%u,\"caller_node\":", i ? "," : "", s->frames[i].fn_id);
      kafu_json_quote(o, s->frames[i].caller_node);
      kafu_buf_printf(o, ",\"migrated\":%s}", s->frames[i].migrated ? "true" : "false");
    }
    kafu_buf_printf(o, "],\"globals\":[");
    for (uint32_t i = 0; i < s->nglobals; i++) {
      kafu_buf_printf(o, "%s{\"name\":", i ? "," : "");
      kafu_json_quote(o, s->globals[i].name);
      kafu_buf_printf(o, ",\"type\":\"%s\",\"bits\":%" PRIu64 "}", kafu_snap_val_name(s->globals[i].type),
                      s->globals[i].bits);
    }
    kafu_buf_printf(o, "],\"fds\":[");
    for (uint32_t i = 0; i < s->nfds; i++) {
      const kafu_fd_entry *f = &s->fds[i];
      kafu_buf_printf(o, "%s{\"fd\":%u,\"kind\":\"%s\",\"filetype\":%u,\"preopen\":", i ? "," : "", f->fd,
                      fd_kind(f->kind), f->filetype);
      kafu_json_quote(o, f->preopen);
      kafu_buf_printf(o, ",\"path\":");
      kafu_json_quote(o, f->path);
      kafu_buf_printf(o,
                      ",\"oflags\":%u,\"rights_base\":%" PRIu64 ",\"rights_inheriting\":%" PRIu64
                      ",\"fdflags\":%u,\"offset\":%" PRIu64 ",\"index\":%u",
                      f->oflags, f->rights_base, f->rights_inheriting, f->fdflags, f->offset, f->index);
      if (f->home) {
        kafu_buf_printf(o, ",\"home\":");
        kafu_json_quote(o, f->home);
        kafu_buf_printf(o, ",\"home_gen\":%" PRIu64 ",\"handle\":%" PRIu64 ",\"read_ahead\":%u", f->home_gen,
                        f->handle, f->npending);
      }
      kafu_buf_printf(o, "}");
    }
    kafu_buf_printf(o, "],\"host\":[");
    for (uint32_t i = 0; i < s->nhost; i++) {
      kafu_buf_printf(o, "%s{\"name\":", i ? "," : "");
      kafu_json_quote(o, s->host[i].name);
      kafu_buf_printf(o, ",\"bytes\":%" PRIu64 "}", s->host[i].len);
    }
    kafu_buf_printf(o, "]");
  }
  if (v->have_memory) {
    const kafu_snap_stats *st = &v->stats;
    kafu_buf_printf(
        o, ",\"memory\":{\"size\":%" PRIu64 ",\"mode\":\"%s\",\"compression\":\"%s\",\"chunk_size\":%u",
        st->memory_size, v->mem_mode == MEM_DELTA ? "delta" : "full", comp_name(v->wire_comp), v->chunk_size);
    kafu_mem_image_id_str(v->base_id, id);
    if (v->mem_mode == MEM_DELTA)
      kafu_buf_printf(o, ",\"base_id\":\"%s\",\"base_size\":%" PRIu64, id, v->base_size);
    kafu_mem_image_id_str(v->image_id, id);
    kafu_buf_printf(o,
                    ",\"image_id\":\"%s\",\"image_verified\":%s,\"pages\":%" PRIu64
                    ",\"declared_pages\":%" PRIu64 ",\"raw_bytes\":%" PRIu64
                    ",\"chunks\":%u,\"declared_chunks\":%u,\"wire_bytes\":%" PRIu64 "}",
                    id, v->image_verified ? "true" : "false", st->pages, v->declared_pages, st->raw_bytes,
                    st->chunks, v->declared_chunks, st->mem_wire_bytes);
  }
  kafu_buf_printf(o, "}\n");
}

int kafu_snap_describe(const uint8_t *bytes, size_t len, kafu_buf *out, bool as_json, kafu_err *err) {
  kafu_snap_decoder *d;
  kafu_snap_decoder_opts opts = {0}; /* inspection: no module check, no destination */
  int rc = kafu_snap_decoder_new(&d, &opts, err);
  if (rc) return rc;
  kafu_err e = {0};
  rc = kafu_snap_decoder_feed(d, bytes, len, &e);
  if (!rc) rc = kafu_snap_decoder_finish(d, NULL, NULL, &e);
  kafu_snap_decoder_view v;
  kafu_snap_decoder_view_get(d, &v);
  if (as_json)
    json(out, &v, len, rc, &e);
  else
    text(out, &v, len, rc, &e);
  kafu_snap_decoder_free(d);
  if (rc && err) *err = e;
  return rc;
}

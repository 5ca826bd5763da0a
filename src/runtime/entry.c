/*
 * entry.c — NODE mode: entry checkpoints, kept from the moment the program
 * migrated into an annotated call until that call's return comes back, so
 * that a call whose node died can run again from its entry (failover; the
 * cluster decides when, docs/migration.md "Failover").
 *
 * One entry per nesting level that left this node, outermost first. The
 * newest is live: its memory is the instance memory, which does not change
 * while the program runs elsewhere (runtime_internal.h's invariant), so it
 * costs nothing. When a received snapshot is about to overwrite memory and a
 * live entry stays outstanding (a nested call comes into this node), the
 * entry's memory is copied first: only the pages that differ from the entry
 * before it (found from the page hashes the memory image already has), or the
 * whole memory for the first. Consecutive nesting levels differ in the pages
 * the program wrote in between, so a deep ping-pong costs a few page copies
 * per level, not a copy of memory. The copies are bounded by
 * cluster.failover.checkpoint_memory_mb: above it the outermost are dropped
 * (the innermost are the ones a failure of the current call needs; the next
 * one becomes a whole copy). 0 keeps no copies at all. The buffer of the last
 * whole copy stays allocated when its call returns (with its page hashes),
 * so the next whole copy also costs only the pages that changed.
 */
#include "runtime_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

kafu_snap_frame *rt_frames_dup(const kafu_snap_frame *f, uint32_t n) {
  kafu_snap_frame *d = calloc(n ? n : 1, sizeof *d);
  if (!d) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    d[i] = f[i];
    d[i].caller_node = f[i].caller_node ? strdup(f[i].caller_node) : NULL;
    if (f[i].caller_node && !d[i].caller_node) {
      rt_frames_free(d, i);
      return NULL;
    }
  }
  return d;
}

void rt_frames_free(kafu_snap_frame *f, uint32_t n) {
  for (uint32_t i = 0; f && i < n; i++) free(f[i].caller_node);
  free(f);
}

static void models_unref(kafu_nn_model **m, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) kafu_nn_model_unref(m[i]);
  free(m);
}

static void entry_free(kafu_runtime *rt, rt_entry *e) {
  rt_frames_free(e->frames, e->nframes);
  for (uint32_t i = 0; i < e->nglobals; i++) free(e->globals[i].name);
  free(e->globals);
  kafu_fd_entries_free(e->fds, e->nfds);
  kafu_buf_free(&e->nn_state);
  models_unref(e->models, e->nmodels);
  for (uint32_t i = 0; i < e->nhost; i++) free(e->host[i].name), free((void *)e->host[i].data);
  free(e->host);
  rt_entries *en = &rt->ent;
  if (e->full && e->data && e->hashes && !en->spare) { /* kept for the next whole copy */
    en->spare = e->data, en->spare_size = e->mem_size, en->spare_hashes = e->hashes;
    e->data = NULL, e->hashes = NULL;
  }
  free(e->hashes);
  free(e->data);
  free(e->diff_pages);
  memset(e, 0, sizeof *e);
}

static uint64_t entry_bytes(const rt_entry *e) {
  if (e->live) return 0;
  return e->full ? e->mem_size : (uint64_t)e->ndiff * KAFU_SNAP_PAGE;
}

/* Entry i's whole memory into a fresh buffer (e->mem_size bytes). */
static uint8_t *reconstruct(const kafu_runtime *rt, size_t i) {
  const rt_entry *e = &rt->ent.v[i];
  uint8_t *m = NULL;
  if (e->full) {
    m = malloc(e->mem_size ? e->mem_size : 1);
    if (m) memcpy(m, e->data, e->mem_size);
    return m;
  }
  if (!i) return NULL; /* a diff always follows a copy */
  m = reconstruct(rt, i - 1);
  uint64_t prev = rt->ent.v[i - 1].mem_size;
  if (!m) return NULL;
  if (e->mem_size > prev) { /* memory grew in between: zeros, as memory.grow gives */
    uint8_t *g = realloc(m, e->mem_size);
    if (!g) return free(m), NULL;
    memset(g + prev, 0, e->mem_size - prev);
    m = g;
  }
  for (size_t k = 0; k < e->ndiff; k++)
    memcpy(m + (uint64_t)e->diff_pages[k] * KAFU_SNAP_PAGE, e->data + k * KAFU_SNAP_PAGE, KAFU_SNAP_PAGE);
  return m;
}

/* Entry i becomes a whole copy (before the one it is a diff of goes). */
static int make_full(kafu_runtime *rt, size_t i) {
  rt_entry *e = &rt->ent.v[i];
  if (e->live || e->full) return 0;
  uint8_t *m = reconstruct(rt, i);
  if (!m) return KAFU_ENOMEM;
  free(e->data);
  free(e->diff_pages);
  e->data = m;
  e->diff_pages = NULL;
  e->ndiff = 0;
  e->full = true;
  return 0;
}

/* Drop entry i (0 = outermost), keeping the order and the memory of the
 * others (the one after it may be a diff against it). */
static void entry_remove(kafu_runtime *rt, size_t i) {
  rt_entries *en = &rt->ent;
  if (i + 1 < en->n && make_full(rt, i + 1)) {
    /* out of memory: the ones after it cannot be rebuilt without it */
    kafu_warnc(&rt->log, "out of memory rebuilding entry checkpoints; %zu call(s) cannot fail over", en->n - i - 1);
    while (en->n > i + 1) {
      entry_free(rt, &en->v[en->n - 1]);
      en->n--;
      en->dropped++;
    }
  }
  entry_free(rt, &en->v[i]);
  memmove(&en->v[i], &en->v[i + 1], (en->n - i - 1) * sizeof *en->v);
  en->n--;
}

void rt_entries_free(kafu_runtime *rt) {
  while (rt->ent.n) entry_remove(rt, rt->ent.n - 1);
  free(rt->ent.spare);
  free(rt->ent.spare_hashes);
  rt->ent.spare = NULL, rt->ent.spare_hashes = NULL;
  free(rt->ent.v);
  rt->ent.v = NULL;
  rt->ent.cap = 0;
}

static uint64_t limit_bytes(const kafu_runtime *rt) {
  return (uint64_t)rt->cfg->failover.checkpoint_memory_mb << 20;
}

uint64_t kafu_runtime_entry_bytes(const kafu_runtime *rt) {
  uint64_t b = 0;
  for (size_t i = 0; i < rt->ent.n; i++) b += entry_bytes(&rt->ent.v[i]);
  return b;
}

uint64_t kafu_runtime_entries_dropped(const kafu_runtime *rt) { return rt->ent.dropped; }

/* Above the limit, the outermost copies go first. */
static void enforce_limit(kafu_runtime *rt) {
  uint64_t lim = limit_bytes(rt);
  while (kafu_runtime_entry_bytes(rt) > lim) {
    size_t i = 0;
    while (i < rt->ent.n && rt->ent.v[i].live) i++;
    if (i == rt->ent.n) return;
    rt_entry *e = &rt->ent.v[i];
    kafu_warnc(&rt->log,
               "dropped the entry checkpoint of %s (called from %s, %" PRIu64
               " bytes): entry checkpoints exceed cluster.failover.checkpoint_memory_mb (%u MiB); that call "
               "cannot fail over",
               rt_fn_name(rt, e->fn), e->from, entry_bytes(e), rt->cfg->failover.checkpoint_memory_mb);
    entry_remove(rt, i);
    rt->ent.dropped++;
  }
}

/* The models the program's graphs were loaded from (by bytes: a node finds
 * the ones loaded by name itself), held. */
static int hold_models(kafu_runtime *rt, kafu_nn_model ***out, uint32_t *n) {
  *out = NULL, *n = 0;
  size_t ng = rt->nn ? kafu_nn_host_graph_count(rt->nn) : 0;
  if (!ng) return 0;
  kafu_nn_model **m = calloc(ng, sizeof *m);
  if (!m) return KAFU_ENOMEM;
  for (size_t i = 0; i < ng; i++) {
    bool by_name;
    const kafu_nn_model *g = kafu_nn_host_graph_model(rt->nn, i, &by_name);
    bool dup = by_name || !g;
    for (uint32_t k = 0; k < *n && !dup; k++) dup = m[k] == g;
    if (!dup) m[(*n)++] = kafu_nn_model_ref((kafu_nn_model *)g);
  }
  *out = m;
  return 0;
}

/* A HOST array for the encoder: the wasi-nn state, then every held model's
 * bytes (borrowed from state and models). */
static int host_blobs(const kafu_buf *state, kafu_nn_model **models, uint32_t nmodels, kafu_snap_blob **out,
                      uint32_t *n) {
  *out = NULL, *n = 0;
  if (!state->len) return 0;
  kafu_snap_blob *b = calloc(1 + nmodels, sizeof *b);
  if (!b) return KAFU_ENOMEM;
  b[(*n)++] = (kafu_snap_blob){(char *)"wasi_ephemeral_nn", state->data, state->len};
  for (uint32_t i = 0; i < nmodels; i++)
    b[(*n)++] = (kafu_snap_blob){(char *)"wasi_ephemeral_nn/model", kafu_nn_model_bytes(models[i]),
                                 kafu_nn_model_size(models[i])};
  *out = b;
  return 0;
}

static uint64_t *hashes_dup(const kafu_mem_image *img) {
  uint64_t *h = malloc((img->npages ? img->npages : 1) * sizeof *h);
  if (h && img->npages) memcpy(h, img->hashes, img->npages * sizeof *h);
  return h;
}

int rt_entry_push(kafu_runtime *rt, kafu_err *err) {
  rt_entries *en = &rt->ent;
  if (en->n == en->cap) {
    size_t nc = en->cap ? en->cap * 2 : 4;
    rt_entry *v = realloc(en->v, nc * sizeof *v);
    if (!v) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    en->v = v, en->cap = nc;
  }
  rt_entry *e = &en->v[en->n];
  memset(e, 0, sizeof *e);
  e->hop = rt->pend.hop;
  snprintf(e->target, sizeof e->target, "%s", rt->pend.target);
  snprintf(e->from, sizeof e->from, "%s", rt->pend.from);
  e->fn = rt->pend.fn;
  e->kind = rt->pend.kind;
  if (rt->src.active) { /* sent from scratch memory: it stays a whole copy */
    kafu_snapshot *s = &rt->src.snap;
    kafu_mem_image img;
    kafu_mem_image_init(&img);
    if (kafu_mem_image_compute(&img, rt->src.mem, s->memory_size, err)) return err->code;
    e->hashes = img.hashes; /* taken over */
    e->image_id = img.id;
    e->full = true;
    e->mem_size = s->memory_size;
    e->data = rt->src.mem;
    rt->src.mem = NULL;
    s->memory = NULL;
    e->depth = e->nframes = s->nframes;
    e->frames = s->frames, e->globals = s->globals, e->nglobals = s->nglobals;
    e->fds = s->fds, e->nfds = s->nfds;
    s->frames = NULL, s->nframes = 0, s->globals = NULL, s->nglobals = 0, s->fds = NULL, s->nfds = 0;
    if (rt->src.nhost) { /* a re-armed entry's host state */
      e->nn_state = rt->src.nn_state, e->models = rt->src.models, e->nmodels = rt->src.nmodels;
      rt->src.nn_state = (kafu_buf){0}, rt->src.models = NULL, rt->src.nmodels = 0;
    } else { /* a restored snapshot's HOST entries, as decoded */
      e->host = s->host, e->nhost = s->nhost;
      s->host = NULL, s->nhost = 0;
    }
  } else {
    e->live = true;
    e->image_id = rt->image.id;
    e->mem_size = rt->image.size;
    e->hashes = hashes_dup(&rt->image);
    e->depth = rt->stack.n;
    e->frames = rt_frames_dup(rt->stack.frames, rt->stack.n);
    if (!e->frames || !e->hashes) {
      free(e->hashes);
      rt_frames_free(e->frames, rt->stack.n);
      return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    }
    e->nframes = rt->stack.n;
    e->globals = rt->ckpt.globals, e->nglobals = rt->ckpt.nglobals;
    e->fds = rt->ckpt.fds, e->nfds = rt->ckpt.nfds;
    rt->ckpt.globals = NULL, rt->ckpt.nglobals = 0;
    rt->ckpt.fds = NULL, rt->ckpt.nfds = 0;
    /* wasi-nn state and the models behind it: a re-run may go to a node
     * that never got them (a standby) or lost them (a restart) */
    e->nn_state = rt->ckpt.nn_state;
    rt->ckpt.nn_state = (kafu_buf){0};
    if (rt->ckpt.nmodels) {
      e->models = rt->ckpt.models, e->nmodels = rt->ckpt.nmodels;
      rt->ckpt.models = NULL, rt->ckpt.nmodels = 0;
    } else if (e->nn_state.len && hold_models(rt, &e->models, &e->nmodels)) {
      en->n++;
      return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    }
  }
  en->n++;
  enforce_limit(rt);
  return 0;
}

/* Copy live entry i's memory (the instance's, still its image): the pages
 * that differ from entry i - 1 when that one is a copy, else all of it. */
static int materialize(kafu_runtime *rt, size_t i, kafu_err *err) {
  rt_entry *e = &rt->ent.v[i];
  if (rt->image.id != e->image_id)
    return kafu_err_set(err, KAFU_EIO, "memory no longer holds it (a refused snapshot overwrote it)");
  uint64_t size = 0;
  const uint8_t *mem = kafu_instance_memory(rt->inst, &size);
  if (size != e->mem_size) return kafu_err_set(err, KAFU_EIO, "memory no longer has its size");
  uint64_t np = e->mem_size / KAFU_SNAP_PAGE;
  const rt_entry *p = i ? &rt->ent.v[i - 1] : NULL;
  if (p && !p->live && p->mem_size <= e->mem_size) {
    uint64_t pp = p->mem_size / KAFU_SNAP_PAGE, n = 0;
    for (uint64_t k = 0; k < np; k++) n += k >= pp || p->hashes[k] != e->hashes[k];
    e->diff_pages = malloc((n ? n : 1) * sizeof *e->diff_pages);
    e->data = malloc((n ? n : 1) * KAFU_SNAP_PAGE);
    if (!e->diff_pages || !e->data) {
      free(e->diff_pages), free(e->data);
      e->diff_pages = NULL, e->data = NULL;
      return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    }
    for (uint64_t k = 0; k < np; k++)
      if (k >= pp || p->hashes[k] != e->hashes[k]) {
        e->diff_pages[e->ndiff] = (uint32_t)k;
        memcpy(e->data + e->ndiff * KAFU_SNAP_PAGE, mem + k * KAFU_SNAP_PAGE, KAFU_SNAP_PAGE);
        e->ndiff++;
      }
  } else if (rt->ent.spare) {
    /* the last whole copy's buffer: only the pages that changed since */
    rt_entries *en = &rt->ent;
    uint8_t *d = en->spare;
    uint64_t sp = en->spare_size / KAFU_SNAP_PAGE;
    if (size > en->spare_size && !(d = realloc(d, size)))
      return kafu_err_set(err, KAFU_ENOMEM, "out of memory for a %" PRIu64 "-byte copy", size);
    for (uint64_t k = 0; k < np; k++)
      if (k >= sp || en->spare_hashes[k] != e->hashes[k])
        memcpy(d + k * KAFU_SNAP_PAGE, mem + k * KAFU_SNAP_PAGE, KAFU_SNAP_PAGE);
    free(en->spare_hashes);
    en->spare = NULL, en->spare_hashes = NULL, en->spare_size = 0;
    e->data = d;
    e->full = true;
  } else {
    e->data = malloc(size ? size : 1);
    if (!e->data) return kafu_err_set(err, KAFU_ENOMEM, "out of memory for a %" PRIu64 "-byte copy", size);
    memcpy(e->data, mem, size);
    e->full = true;
  }
  e->live = false;
  return 0;
}

void rt_entries_before_receive(kafu_runtime *rt, const kafu_snapshot *s) {
  for (size_t i = 0; i < rt->ent.n; i++) {
    rt_entry *e = &rt->ent.v[i];
    /* not live, or resolved by this snapshot once it is taken (a receive that
     * fails puts memory back: the decoder's undo) */
    if (!e->live || e->depth > s->nframes) continue;
    if (!limit_bytes(rt)) { /* checkpoint_memory_mb: 0 keeps no copies */
      kafu_debugc(&rt->log, "no copy of the entry checkpoint of %s (cluster.failover.checkpoint_memory_mb: 0)",
                  rt_fn_name(rt, e->fn));
      entry_remove(rt, i--);
      rt->ent.dropped++;
      continue;
    }
    uint64_t t0 = kafu_now_ns();
    kafu_err err = {0};
    if (materialize(rt, i, &err)) {
      kafu_warnc(&rt->log, "cannot keep the entry checkpoint of %s: %s; that call cannot fail over",
                 rt_fn_name(rt, e->fn), err.msg);
      entry_remove(rt, i--);
      rt->ent.dropped++;
      continue;
    }
    kafu_debugc(&rt->log, "kept the entry checkpoint of %s as a %s (%" PRIu64 " bytes, %.2f ms)",
                rt_fn_name(rt, e->fn), e->full ? "copy" : "diff", entry_bytes(e), kafu_ms_since(t0));
  }
  enforce_limit(rt);
}

void rt_entries_after_receive(kafu_runtime *rt, const kafu_snapshot *s) {
  while (rt->ent.n && rt->ent.v[rt->ent.n - 1].depth > s->nframes) entry_remove(rt, rt->ent.n - 1);
}

size_t kafu_runtime_entry_count(const kafu_runtime *rt) { return rt->ent.n; }

void kafu_runtime_entry_get(const kafu_runtime *rt, size_t i, kafu_rt_entry_info *out) {
  const rt_entry *e = &rt->ent.v[i];
  *out = (kafu_rt_entry_info){.hop = e->hop,
                              .target = e->target,
                              .from = e->from,
                              .function = rt_fn_name(rt, e->fn),
                              .fn_id = e->fn,
                              .depth = e->depth,
                              .live = e->live,
                              .bytes = entry_bytes(e),
                              .delivered_to = e->delivered_to[0] ? e->delivered_to : NULL,
                              .delivered_incarnation = e->delivered_inc};
}

void kafu_runtime_entry_note(kafu_runtime *rt, const char *delivered_to, uint64_t incarnation) {
  if (!rt->ent.n) return;
  rt_entry *e = &rt->ent.v[rt->ent.n - 1];
  snprintf(e->delivered_to, sizeof e->delivered_to, "%s", delivered_to ? delivered_to : "");
  e->delivered_inc = incarnation;
}

int kafu_runtime_rearm_entry(kafu_runtime *rt, const char *target, kafu_err *err) {
  if (!rt->ent.n) return kafu_err_setc(&rt->log, err, KAFU_EINVAL, "no entry checkpoint is kept");
  if (rt->ckpt.have || rt->src.active)
    return kafu_err_setc(&rt->log, err, KAFU_EINVAL, "a checkpoint is already pending");
  size_t last = rt->ent.n - 1;
  rt_entry *e = &rt->ent.v[last];
  const char *fn = rt_fn_name(rt, e->fn);
  if (e->live) {
    if (rt->image.id != e->image_id) {
      kafu_err_setc(&rt->log, err, KAFU_EIO,
                    "the entry checkpoint of %s was lost: memory no longer holds it (a refused snapshot "
                    "overwrote it)",
                    fn);
      entry_remove(rt, last);
      return err->code;
    }
    rt_stack_clear(&rt->stack);
    if (rt_stack_reserve(&rt->stack, e->nframes)) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    memcpy(rt->stack.frames, e->frames, e->nframes * sizeof *e->frames); /* strings move along */
    rt->stack.n = e->nframes;
    free(e->frames);
    e->frames = NULL, e->nframes = 0;
    rt->ckpt.globals = e->globals, rt->ckpt.nglobals = e->nglobals;
    rt->ckpt.fds = e->fds, rt->ckpt.nfds = e->nfds;
    e->globals = NULL, e->nglobals = 0, e->fds = NULL, e->nfds = 0;
    rt->ckpt.nn_state = e->nn_state, rt->ckpt.models = e->models, rt->ckpt.nmodels = e->nmodels;
    e->nn_state = (kafu_buf){0}, e->models = NULL, e->nmodels = 0;
    if (host_blobs(&rt->ckpt.nn_state, rt->ckpt.models, rt->ckpt.nmodels, &rt->ckpt.host, &rt->ckpt.nhost))
      return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    rt->ckpt.have = true;
    rt->send.image_fresh = true; /* memory is the image the entry was sent with */
  } else {
    /* the copy (rebuilt along its chain) stands in for the instance */
    uint8_t *m = reconstruct(rt, last);
    if (!m) {
      kafu_err_setc(&rt->log, err, KAFU_ENOMEM, "the entry checkpoint of %s cannot be rebuilt: out of memory",
                    fn);
      entry_remove(rt, last);
      return err->code;
    }
    rt_source_clear(rt);
    kafu_snapshot *s = &rt->src.snap;
    memcpy(s->module_sha256, kafu_module_sha256(rt->mod), KAFU_SHA256_LEN);
    s->version = KAFU_SNAP_VERSION;
    s->source_node = strdup(e->from);
    s->target_node = strdup(target);
    s->resume_fn_id = e->fn;
    s->resume_kind = (uint8_t)e->kind;
    s->frames = e->frames, s->nframes = e->nframes;
    s->globals = e->globals, s->nglobals = e->nglobals;
    s->fds = e->fds, s->nfds = (uint32_t)e->nfds;
    e->frames = NULL, e->nframes = 0, e->globals = NULL, e->nglobals = 0, e->fds = NULL, e->nfds = 0;
    s->host = e->host, s->nhost = e->nhost; /* owned HOST entries (from a restored snapshot) */
    e->host = NULL, e->nhost = 0;
    rt->src.nn_state = e->nn_state, rt->src.models = e->models, rt->src.nmodels = e->nmodels;
    e->nn_state = (kafu_buf){0}, e->models = NULL, e->nmodels = 0;
    if (host_blobs(&rt->src.nn_state, rt->src.models, rt->src.nmodels, &rt->src.host, &rt->src.nhost)) {
      rt_source_clear(rt);
      free(m);
      return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    }
    s->memory = m;
    s->memory_size = e->mem_size;
    rt->src.mem = m;
    rt->src.active = true;
  }
  rt_pending *p = &rt->pend;
  snprintf(p->target, sizeof p->target, "%s", target);
  snprintf(p->from, sizeof p->from, "%s", e->from);
  p->fn = e->fn;
  p->kind = e->kind;
  p->hop = 0;
  p->unwind_ms = 0;
  p->ckpt_only = false;
  entry_remove(rt, last);
  return 0;
}

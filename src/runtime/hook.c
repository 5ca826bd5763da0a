/*
 * hook.c — the migration point (kafu.migration_point, docs/abi.md): keeps the
 * migration stack exact for every annotated call, so nesting and recursion
 * return to the node that made the matching call, and starts an Asyncify
 * unwind when execution must move to another node.
 *
 * ENTER pushes a frame {fn_id, caller node, migrated}; EXIT pops it and, when
 * the call had migrated, goes back to its caller's node. A call seen while
 * rewinding is the one that unwound on the other side: the hook stops the
 * rewind and returns, and the program continues.
 */
#include "runtime_internal.h"

#include <stdlib.h>
#include <string.h>

int rt_stack_reserve(rt_stack *s, uint32_t n) {
  if (n <= s->cap) return 0;
  uint32_t nc = s->cap ? s->cap * 2 : 16;
  while (nc < n) nc *= 2;
  kafu_snap_frame *nf = realloc(s->frames, nc * sizeof *nf);
  if (!nf) return KAFU_ENOMEM;
  s->frames = nf;
  s->cap = nc;
  return 0;
}

void rt_stack_clear(rt_stack *s) {
  for (uint32_t i = 0; i < s->n; i++) free(s->frames[i].caller_node);
  s->n = 0;
}

/* Address of the Asyncify data region; reserves it by growing memory when the
 * module has none (docs/abi.md). Returns 0 on failure (after aborting). */
static uint32_t asyncify_region(kafu_runtime *rt, kafu_instance *inst, uint32_t *size) {
  uint64_t v = 0, sz = 0;
  kafu_err e;
  if (kafu_instance_global_get(inst, "kafu_asyncify_buf_size", &sz, &e) ||
      kafu_instance_global_get(inst, "kafu_asyncify_buf_addr", &v, &e))
    kafu_instance_abort(inst, "%s: module lacks Snapify exports: %s", rt->log.prefix, e.msg);
  if (sz < 64)
    kafu_instance_abort(inst, "%s: Asyncify buffer too small (%u bytes)", rt->log.prefix, (unsigned)sz);
  if (v == 0) {
    uint32_t old = 0;
    uint32_t pages = (uint32_t)((sz + 65535) / 65536);
    if (kafu_instance_memory_grow(inst, pages, &old, &e))
      kafu_instance_abort(inst, "%s: cannot reserve the Asyncify buffer: %s", rt->log.prefix, e.msg);
    v = (uint64_t)old * 65536;
    if (kafu_instance_global_set(inst, "kafu_asyncify_buf_addr", v, &e))
      kafu_instance_abort(inst, "%s: %s", rt->log.prefix, e.msg);
  }
  *size = (uint32_t)sz;
  return (uint32_t)v;
}

/* Resumed: this is the same call that unwound on the other side. */
static void rewound(kafu_runtime *rt, kafu_instance *inst, uint32_t fn_id, uint32_t kind) {
  kafu_instance_asyncify_stop_rewind(inst);
  if (rt->stats.last_rewind_pending) {
    rt->stats.last.rewind_ms = kafu_ms_since(rt->stats.t_rewind);
    rt->stats.last_rewind_pending = false;
  }
  rt_event_restore_done(rt, kafu_ms_since(rt->stats.t_rewind));
  if (rt->ev.pending) {
    rt->ev.stats.rewind_ms = kafu_ms_since(rt->stats.t_rewind);
    rt->ev.pending = false;
    rt_event_migration(rt, rt->ev.from, rt->cur, fn_id, kind, &rt->ev.stats);
  }
}

void rt_on_migration_point(void *ctx, kafu_instance *inst, uint32_t fn_id, uint32_t kind) {
  kafu_runtime *rt = ctx;
  if (kafu_instance_asyncify_state(inst) == ASYNCIFY_REWINDING) {
    rewound(rt, inst, fn_id, kind);
    return;
  }
  const kafu_meta_func *f = rt_meta_func(rt, fn_id);
  if (!f) kafu_instance_abort(inst, "%s: migration point with unknown function id %u", rt->log.prefix, fn_id);
  rt_stack *s = &rt->stack;
  const char *target = NULL;
  if (kind == KAFU_MIG_ENTER) {
    if (rt_stack_reserve(s, s->n + 1))
      kafu_instance_abort(inst, "%s: out of memory (migration stack)", rt->log.prefix);
    bool migrate = strcmp(f->dest, rt->cur) != 0;
    s->frames[s->n++] = (kafu_snap_frame){fn_id, strdup(rt->cur), migrate};
    if (migrate) target = f->dest;
  } else if (kind == KAFU_MIG_EXIT) {
    if (s->n == 0 || s->frames[s->n - 1].fn_id != fn_id)
      kafu_instance_abort(inst, "%s: migration stack mismatch at exit of %s", rt->log.prefix, f->name);
    kafu_snap_frame fr = s->frames[--s->n];
    if (fr.migrated) {
      snprintf(rt->pend.target, sizeof rt->pend.target, "%s", fr.caller_node);
      target = rt->pend.target;
    }
    free(fr.caller_node);
  } else {
    kafu_instance_abort(inst, "%s: migration point with bad kind %u", rt->log.prefix, kind);
  }
  rt_pending *p = &rt->pend;
  p->ckpt_only = false;
  if (!target) {
    /* an on-demand checkpoint is taken at the next migration point, even one
     * that stays here: unwind, capture, rewind (runtime.c) */
    if (!rt_checkpoint_wanted(rt)) return;
    p->ckpt_only = true;
    target = rt->cur;
  } else {
    /* a cluster node logs its migrations itself, at INFO only outside bursts
     * (src/cluster, kafu_metrics_note); singlenode shows each one */
    kafu_log(rt->o.mode == KAFU_RT_NODE ? KAFU_LOG_DEBUG : KAFU_LOG_INFO, "Migration %s -> %s (%s %s)", rt->cur,
             target, kind == KAFU_MIG_ENTER ? "Entering" : "Returning from", f->name);
  }
  if (rt->o.mode == KAFU_RT_EMULATE) {
    rt_event_migration(rt, rt->cur, target, fn_id, kind, NULL);
    rt_set_cur(rt, target);
    return;
  }
  if (target != p->target) snprintf(p->target, sizeof p->target, "%s", target);
  snprintf(p->from, sizeof p->from, "%s", rt->cur);
  p->hop = 0;
  p->active = true;
  p->fn = fn_id;
  p->kind = kind;
  p->t_unwind = kafu_now_ns();
  uint32_t size = 0;
  uint32_t addr = asyncify_region(rt, inst, &size);
  uint64_t msize = 0;
  uint8_t *mem = kafu_instance_memory(inst, &msize);
  if ((uint64_t)addr + size > msize)
    kafu_instance_abort(inst, "%s: Asyncify buffer [%u, +%u) outside memory", rt->log.prefix, addr, size);
  uint32_t hdr[2] = {addr + 8, addr + size};
  memcpy(mem + addr, hdr, sizeof hdr);
  p->asy_addr = addr;
  p->asy_size = size;
  kafu_instance_asyncify_start_unwind(inst, addr);
}

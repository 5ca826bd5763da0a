/*
 * events.c — the runtime's JSON Lines events (--events FILE): one object per
 * line for the program's start and finish, every migration (written by the
 * sending node, with the phase timings and sizes) and every restore on a
 * receiving node (after the rewind), both with the migration's id, so `kafu
 * trace` can join them. The records are documented in docs/migration.md,
 * "Events". The sink is the caller's FILE (kafu_runtime_opts.events); each
 * event is flushed whole, so several nodes can append to one file. Several
 * nodes writing to one file take an exclusive flock(2) on it from before the
 * event's timestamp is read until its line is written, so the file is in
 * time order, not only nearly (two nodes finishing a migration at the same
 * moment — the sender's record and the receiver's — would otherwise append
 * in either order). A sink that cannot be locked (a pipe) is written as is.
 */
#include "runtime_internal.h"

#include <inttypes.h>
#include <sys/file.h>
#include <time.h>

static void event_head_at(kafu_runtime *rt, const char *type, const char *node) {
  flock(fileno(rt->o.events), LOCK_EX); /* until event_end */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  fprintf(rt->o.events, "{\"type\":\"%s\",\"time_ns\":%" PRIu64 ",\"node\":", type,
          (uint64_t)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec));
  kafu_json_fquote(rt->o.events, node);
}

static void event_end(kafu_runtime *rt) {
  fputs("}\n", rt->o.events);
  fflush(rt->o.events);
  flock(fileno(rt->o.events), LOCK_UN);
}

static void event_id(kafu_runtime *rt) {
  if (!rt->ev.mig_id[0]) return;
  fputs(",\"migration_id\":", rt->o.events);
  kafu_json_fquote(rt->o.events, rt->ev.mig_id);
}

void rt_event_migration(kafu_runtime *rt, const char *from, const char *to, uint32_t fn_id, uint32_t kind,
                        const kafu_rt_migration_stats *st) {
  if (rt->o.mode != KAFU_RT_NODE) /* singlenode: the hops are numbered here */
    snprintf(rt->ev.mig_id, sizeof rt->ev.mig_id, "%" PRIu64, ++rt->ev.seq);
  if (!rt->o.events) return;
  event_head_at(rt, "migration", from);
  event_id(rt);
  fputs(",\"from\":", rt->o.events);
  kafu_json_fquote(rt->o.events, from);
  fputs(",\"to\":", rt->o.events);
  kafu_json_fquote(rt->o.events, to);
  fprintf(rt->o.events, ",\"kind\":\"%s\",\"function\":", kind == KAFU_MIG_ENTER ? "enter" : "exit");
  kafu_json_fquote(rt->o.events, rt_fn_name(rt, fn_id));
  fprintf(rt->o.events, ",\"fn_id\":%u", fn_id);
  if (st) {
    fprintf(rt->o.events, ",\"unwind_ms\":%.3f,\"encode_ms\":%.3f,\"transfer_ms\":%.3f", st->unwind_ms,
            st->encode_ms, st->transfer_ms);
    /* a cluster sender does not know the receiver's phases: its restore record has them */
    if (rt->o.mode != KAFU_RT_NODE)
      fprintf(rt->o.events, ",\"decode_ms\":%.3f,\"restore_ms\":%.3f,\"rewind_ms\":%.3f", st->decode_ms,
              st->restore_ms, st->rewind_ms);
    fprintf(rt->o.events,
            ",\"raw_bytes\":%" PRIu64 ",\"wire_bytes\":%" PRIu64 ",\"memory_bytes\":%" PRIu64 ",\"delta\":%s",
            st->raw_bytes, st->wire_bytes, st->memory_size, st->delta ? "true" : "false");
    if (st->compression) fprintf(rt->o.events, ",\"compression\":\"%s\"", st->compression);
  }
  event_end(rt);
}

void rt_event_simple(kafu_runtime *rt, const char *type, const kafu_rt_result *res) {
  if (!rt->o.events) return;
  event_head_at(rt, type, rt_here(rt));
  if (res) {
    static const char *names[] = {"finished", "exited", "trapped", "migrated", "failed"};
    fprintf(rt->o.events, ",\"status\":\"%s\",\"exit_code\":%d", names[res->status], res->exit_code);
    if (res->message[0]) {
      fputs(",\"message\":", rt->o.events);
      kafu_json_fquote(rt->o.events, res->message);
    }
  }
  event_end(rt);
}

void rt_event_restore(kafu_runtime *rt, const char *from, double decode_ms, double restore_ms, double rewind_ms) {
  if (!rt->o.events) return;
  event_head_at(rt, "restore", rt_here(rt));
  event_id(rt);
  fprintf(rt->o.events, ",\"from\":");
  kafu_json_fquote(rt->o.events, from);
  fprintf(rt->o.events, ",\"decode_ms\":%.3f,\"restore_ms\":%.3f", decode_ms, restore_ms);
  if (rewind_ms >= 0) fprintf(rt->o.events, ",\"rewind_ms\":%.3f", rewind_ms);
  event_end(rt);
}

void rt_event_restore_done(kafu_runtime *rt, double rewind_ms) {
  if (!rt->ev.restore_pending) return;
  rt->ev.restore_pending = false;
  rt_event_restore(rt, rt->ev.restore_from, rt->ev.decode_ms, rt->ev.restore_ms, rewind_ms);
}

void kafu_runtime_set_migration_id(kafu_runtime *rt, const char *id) {
  snprintf(rt->ev.mig_id, sizeof rt->ev.mig_id, "%s", id ? id : "");
}

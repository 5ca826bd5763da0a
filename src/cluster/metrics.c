/*
 * metrics.c — counters and per-phase latency histograms of one node, rendered
 * in the Prometheus text exposition format (version 0.0.4) for GET /metrics,
 * with what a Prometheus user expects of any process: kafu_build_info, the
 * standard process_* metrics (CPU, memory, file descriptors, start time) and
 * a gauge saying whether the program is on this node.
 * One mutex: updates happen a few times per migration, never per page.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cluster_internal.h"

/* Bucket upper bounds in seconds: migrations range from ~100 us (tiny delta on
 * loopback) to seconds (hundreds of MiB over a slow link). */
static const double k_buckets[KAFU_HIST_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                    0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   5.0};
static const char *const k_phase[KAFU_PHASE_COUNT] = {"baseline_query", "transfer", "receive", "restore",
                                                      "unwind",         "encode",   "decode",  "rewind"};

void kafu_metrics_init(kafu_metrics *m) {
  memset(m, 0, sizeof *m);
  pthread_mutex_init(&m->mu, NULL);
}

void kafu_metrics_destroy(kafu_metrics *m) { pthread_mutex_destroy(&m->mu); }

void kafu_metrics_observe(kafu_metrics *m, kafu_phase p, double ms) {
  double s = ms / 1000.0;
  pthread_mutex_lock(&m->mu);
  int i = 0;
  while (i < KAFU_HIST_BUCKETS && s > k_buckets[i]) i++;
  m->hist[p][i]++;
  m->hist_sum[p] += s;
  m->hist_count[p]++;
  pthread_mutex_unlock(&m->mu);
}

void kafu_metrics_observe_sender(kafu_metrics *m, const kafu_rt_migration_stats *st) {
  kafu_metrics_observe(m, KAFU_PHASE_UNWIND, st->unwind_ms);
  kafu_metrics_observe(m, KAFU_PHASE_ENCODE, st->encode_ms);
}

void kafu_metrics_observe_decode(kafu_metrics *m, const kafu_rt_migration_stats *st) {
  kafu_metrics_observe(m, KAFU_PHASE_DECODE, st->decode_ms);
}

void kafu_metrics_observe_rewind(kafu_metrics *m, const kafu_rt_migration_stats *st) {
  if (st->rewind_ms > 0) kafu_metrics_observe(m, KAFU_PHASE_REWIND, st->rewind_ms);
}

void kafu_metrics_add(kafu_metrics *m, uint64_t *counter, uint64_t v) {
  pthread_mutex_lock(&m->mu);
  *counter += v;
  pthread_mutex_unlock(&m->mu);
}

void kafu_metrics_render(kafu_metrics *m, const char *node, kafu_buf *o) {
  pthread_mutex_lock(&m->mu);
  kafu_buf_printf(o,
                  "# HELP kafu_migrations_total Migrations completed by this node.\n"
                  "# TYPE kafu_migrations_total counter\n");
  kafu_buf_printf(o, "kafu_migrations_total{node=\"%s\",direction=\"in\"} %" PRIu64 "\n", node,
                  m->migrations_in);
  kafu_buf_printf(o, "kafu_migrations_total{node=\"%s\",direction=\"out\"} %" PRIu64 "\n", node,
                  m->migrations_out);
  kafu_buf_printf(o,
                  "# HELP kafu_migration_bytes_total Bytes of outgoing snapshots: raw memory pages carried, "
                  "and the encoded snapshot on the wire.\n"
                  "# TYPE kafu_migration_bytes_total counter\n");
  kafu_buf_printf(o, "kafu_migration_bytes_total{node=\"%s\",kind=\"raw\"} %" PRIu64 "\n", node,
                  m->raw_bytes);
  kafu_buf_printf(o, "kafu_migration_bytes_total{node=\"%s\",kind=\"wire\"} %" PRIu64 "\n", node,
                  m->wire_bytes);
  kafu_buf_printf(o,
                  "# HELP kafu_heartbeat_failures_total Heartbeats that got no answer.\n"
                  "# TYPE kafu_heartbeat_failures_total counter\n"
                  "kafu_heartbeat_failures_total{node=\"%s\"} %" PRIu64 "\n",
                  node, m->heartbeat_failures);
  kafu_buf_printf(o,
                  "# HELP kafu_migration_rejected_total Incoming snapshots rejected (HTTP 4xx).\n"
                  "# TYPE kafu_migration_rejected_total counter\n"
                  "kafu_migration_rejected_total{node=\"%s\"} %" PRIu64 "\n",
                  node, m->rejected);
  kafu_buf_printf(o,
                  "# HELP kafu_migration_retries_total Snapshot send attempts beyond the first.\n"
                  "# TYPE kafu_migration_retries_total counter\n"
                  "kafu_migration_retries_total{node=\"%s\"} %" PRIu64 "\n",
                  node, m->retries);
  kafu_buf_printf(o,
                  "# HELP kafu_migration_stale_total Incoming snapshots refused (HTTP 409) as a replay, a "
                  "superseded copy or another run.\n"
                  "# TYPE kafu_migration_stale_total counter\n"
                  "kafu_migration_stale_total{node=\"%s\"} %" PRIu64 "\n",
                  node, m->stale);
  kafu_buf_printf(o,
                  "# HELP kafu_entry_checkpoints Entry checkpoints this node keeps (calls that left it and "
                  "have not returned).\n"
                  "# TYPE kafu_entry_checkpoints gauge\n"
                  "kafu_entry_checkpoints{node=\"%s\"} %" PRIu64
                  "\n"
                  "# HELP kafu_entry_checkpoint_bytes Memory the entry checkpoints hold beyond the instance "
                  "(cluster.failover.checkpoint_memory_mb bounds it).\n"
                  "# TYPE kafu_entry_checkpoint_bytes gauge\n"
                  "kafu_entry_checkpoint_bytes{node=\"%s\"} %" PRIu64
                  "\n"
                  "# HELP kafu_entry_checkpoints_dropped_total Entry checkpoints dropped over the limit.\n"
                  "# TYPE kafu_entry_checkpoints_dropped_total counter\n"
                  "kafu_entry_checkpoints_dropped_total{node=\"%s\"} %" PRIu64 "\n",
                  node, m->entries, node, m->entry_bytes, node, m->entries_dropped);
  kafu_buf_printf(o,
                  "# HELP kafu_failover_attempts_total Calls re-run from their entry checkpoint after their "
                  "node was lost.\n"
                  "# TYPE kafu_failover_attempts_total counter\n"
                  "kafu_failover_attempts_total{node=\"%s\"} %" PRIu64
                  "\n"
                  "# HELP kafu_failover_successes_total Re-runs that a node took.\n"
                  "# TYPE kafu_failover_successes_total counter\n"
                  "kafu_failover_successes_total{node=\"%s\"} %" PRIu64
                  "\n"
                  "# HELP kafu_failover_recover_seconds From noticing the loss to the call running again.\n"
                  "# TYPE kafu_failover_recover_seconds summary\n"
                  "kafu_failover_recover_seconds_sum{node=\"%s\"} %.6f\n"
                  "kafu_failover_recover_seconds_count{node=\"%s\"} %" PRIu64 "\n",
                  node, m->failover_attempts, node, m->failover_successes, node, m->failover_recover_sum,
                  node, m->failover_successes);
  kafu_buf_printf(o,
                  "# HELP kafu_forwarded_calls_total Operations on sockets and stdin of another node: sent "
                  "to their home (out), answered here as their home (in).\n"
                  "# TYPE kafu_forwarded_calls_total counter\n"
                  "kafu_forwarded_calls_total{node=\"%s\",direction=\"out\"} %" PRIu64 "\n"
                  "kafu_forwarded_calls_total{node=\"%s\",direction=\"in\"} %" PRIu64 "\n",
                  node, m->io_out, node, m->io_in);
  kafu_buf_printf(o,
                  "# HELP kafu_migration_phase_seconds Migration latency by phase.\n"
                  "# TYPE kafu_migration_phase_seconds histogram\n");
  for (int p = 0; p < KAFU_PHASE_COUNT; p++) {
    uint64_t cum = 0;
    for (int i = 0; i <= KAFU_HIST_BUCKETS; i++) {
      cum += m->hist[p][i];
      if (i < KAFU_HIST_BUCKETS)
        kafu_buf_printf(
            o, "kafu_migration_phase_seconds_bucket{node=\"%s\",phase=\"%s\",le=\"%g\"} %" PRIu64 "\n", node,
            k_phase[p], k_buckets[i], cum);
      else
        kafu_buf_printf(
            o, "kafu_migration_phase_seconds_bucket{node=\"%s\",phase=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
            node, k_phase[p], cum);
    }
    kafu_buf_printf(o, "kafu_migration_phase_seconds_sum{node=\"%s\",phase=\"%s\"} %.9f\n", node, k_phase[p],
                    m->hist_sum[p]);
    kafu_buf_printf(o, "kafu_migration_phase_seconds_count{node=\"%s\",phase=\"%s\"} %" PRIu64 "\n", node,
                    k_phase[p], m->hist_count[p]);
  }
  pthread_mutex_unlock(&m->mu);
}

/* With m->mu held: the INFO line for the migrations of the current window. */
static void summary_locked(kafu_metrics *m, const kafu_log_ctx *log) {
  if (m->win_n > 1)
    kafu_infoc(log,
               "%" PRIu64 " migrations in %.1f s (%" PRIu64 " in, %" PRIu64
               " out), %.1f MiB on the wire; "
               "%" PRIu64 " in, %" PRIu64 " out since start (each one is logged at debug, KAFU_LOG=debug)",
               m->win_n, (double)(m->win_last - m->win_t0) / 1e9, m->win_in, m->win_n - m->win_in,
               (double)m->win_wire / 1048576.0, m->migrations_in, m->migrations_out);
  m->win_n = m->win_in = m->win_wire = 0;
}

bool kafu_metrics_note(kafu_metrics *m, const kafu_log_ctx *log, bool in, uint64_t wire) {
  const uint64_t period = KAFU_LOG_SUMMARY_S * 1000000000ull;
  uint64_t now = kafu_now_ns();
  pthread_mutex_lock(&m->mu);
  if (m->win_n && (now - m->win_last >= period || now - m->win_t0 >= period)) summary_locked(m, log);
  bool first = m->win_n == 0;
  if (first) m->win_t0 = now;
  m->win_n++;
  m->win_in += in;
  m->win_wire += wire;
  m->win_last = now;
  pthread_mutex_unlock(&m->mu);
  return first;
}

void kafu_metrics_note_end(kafu_metrics *m, const kafu_log_ctx *log) {
  pthread_mutex_lock(&m->mu);
  summary_locked(m, log);
  pthread_mutex_unlock(&m->mu);
}

/* ---- the process and the node, as every Prometheus user expects them ---------------- */

/* /proc/self/stat fields 14, 15 (utime, stime, clock ticks), 22 (starttime,
 * ticks after boot), 23 (vsize, bytes), 24 (rss, pages); 0 when unreadable */
static void proc_stat(double *cpu_s, double *start_s, uint64_t *vsize, uint64_t *rss) {
  *cpu_s = *start_s = 0;
  *vsize = *rss = 0;
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  if (!f) return;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p) return;
  unsigned long long v[24] = {0};
  int k = 0;
  for (char *tok = strtok(p + 2, " "); tok && k < 22; tok = strtok(NULL, " "))
    v[k++] = strtoull(tok, NULL, 10);
  if (k < 22) return;
  /* v[0] is field 3 (state): field N is v[N - 3] */
  double hz = (double)sysconf(_SC_CLK_TCK);
  *cpu_s = (double)(v[11] + v[12]) / hz;
  *vsize = v[20];
  *rss = v[21] * (uint64_t)sysconf(_SC_PAGESIZE);
  /* boot time from /proc/stat's btime */
  FILE *s = fopen("/proc/stat", "r");
  if (!s) return;
  char line[256];
  unsigned long long btime = 0;
  while (fgets(line, sizeof line, s))
    if (sscanf(line, "btime %llu", &btime) == 1) break;
  fclose(s);
  *start_s = (double)btime + (double)v[19] / hz;
}

static uint64_t open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 0;
  uint64_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n ? n - 1 : 0; /* the directory stream's own fd */
}

void kafu_metrics_render_process(const char *node, bool program_here, kafu_buf *o) {
  kafu_buf_printf(o,
                  "# HELP kafu_build_info Which kafu this node runs (always 1).\n"
                  "# TYPE kafu_build_info gauge\n"
                  "kafu_build_info{node=\"%s\",version=\"%s\",engine=\"%s\"} 1\n"
                  "# HELP kafu_program_here Whether the program is on this node: 1 while it runs here or its "
                  "checkpoint is being sent from here, else 0.\n"
                  "# TYPE kafu_program_here gauge\n"
                  "kafu_program_here{node=\"%s\"} %d\n",
                  node, KAFU_VERSION, KAFU_ENGINE_VERSION, node, program_here ? 1 : 0);
  double cpu, start;
  uint64_t vsize, rss;
  proc_stat(&cpu, &start, &vsize, &rss);
  struct rlimit rl = {0};
  getrlimit(RLIMIT_NOFILE, &rl);
  kafu_buf_printf(o,
                  "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                  "# TYPE process_cpu_seconds_total counter\n"
                  "process_cpu_seconds_total %.2f\n"
                  "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                  "# TYPE process_resident_memory_bytes gauge\n"
                  "process_resident_memory_bytes %" PRIu64
                  "\n"
                  "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                  "# TYPE process_virtual_memory_bytes gauge\n"
                  "process_virtual_memory_bytes %" PRIu64
                  "\n"
                  "# HELP process_open_fds Number of open file descriptors.\n"
                  "# TYPE process_open_fds gauge\n"
                  "process_open_fds %" PRIu64
                  "\n"
                  "# HELP process_max_fds Maximum number of open file descriptors.\n"
                  "# TYPE process_max_fds gauge\n"
                  "process_max_fds %.0f\n"
                  "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
                  "# TYPE process_start_time_seconds gauge\n"
                  "process_start_time_seconds %.2f\n",
                  cpu, rss, vsize, open_fds(), rl.rlim_cur == RLIM_INFINITY ? -1.0 : (double)rl.rlim_cur,
                  start);
}

/*
 * env_probe.c — does this host give the AOT engine what it relies on?
 * (docs/heterogeneous.md, "Emulation"). Used by `kafu doctor`, the node's
 * start-up log and kafu_module_load.
 *
 * Generated code has no bounds checks: an access outside linear memory lands
 * in the PROT_NONE part of the memory reservation and the fault handler turns
 * the SIGSEGV into a trap; a runaway recursion faults on the stack guard and
 * is caught on the alternate signal stack (aot_rt.c). Under an emulator or a
 * sandbox that does not deliver such faults faithfully, an out-of-bounds access
 * would read or write host memory. So before the first module is loaded the
 * probe faults once on a PROT_NONE page and checks that the handler ran, on
 * the alternate stack, with the faulting address. qemu-user passes; when a
 * host does not, modules are refused with the reason (no code runs unchecked).
 *
 * User-mode emulation is also detected (for the log and `kafu doctor`: it
 * explains slow nodes and the dirty-page tracking fallback): qemu-user keeps
 * its own name as the process's comm, and shows the host's /proc/cpuinfo.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine_internal.h"

#define PROBE_ALT (64 * 1024)

static sigjmp_buf probe_jb;
static void *volatile probe_page;
static char *probe_alt;
static volatile int probe_hit, probe_on_alt;
static void *volatile probe_addr;
static struct sigaction probe_old_segv, probe_old_bus;

static void probe_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  char here;
  if (si->si_addr != probe_page) {
    /* not our fault: restore the previous handler and let the access fault again */
    sigaction(SIGSEGV, &probe_old_segv, NULL);
    sigaction(SIGBUS, &probe_old_bus, NULL);
    return;
  }
  probe_hit = sig;
  probe_addr = si->si_addr;
  probe_on_alt = &here >= probe_alt && &here < probe_alt + PROBE_ALT;
  siglongjmp(probe_jb, 1);
}

static int guard_ok;
static char guard_detail[256];

static void guard_probe(void) {
  long pg = sysconf(_SC_PAGESIZE);
  void *page = mmap(NULL, (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  probe_alt = mmap(NULL, PROBE_ALT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED || probe_alt == MAP_FAILED) {
    snprintf(guard_detail, sizeof guard_detail, "cannot map probe pages");
    if (page != MAP_FAILED) munmap(page, (size_t)pg);
    if (probe_alt != MAP_FAILED) munmap(probe_alt, PROBE_ALT);
    return;
  }
  probe_page = page;
  probe_hit = probe_on_alt = 0;
  probe_addr = NULL;
  stack_t ss = {.ss_sp = probe_alt, .ss_size = PROBE_ALT, .ss_flags = 0}, old_ss;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = probe_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  bool alt_set = sigaltstack(&ss, &old_ss) == 0;
  sigaction(SIGSEGV, &sa, &probe_old_segv);
  sigaction(SIGBUS, &sa, &probe_old_bus);
  if (!sigsetjmp(probe_jb, 1)) {
    volatile char c = *(volatile char *)page;
    (void)c;
  }
  sigaction(SIGSEGV, &probe_old_segv, NULL);
  sigaction(SIGBUS, &probe_old_bus, NULL);
  if (alt_set) sigaltstack(&old_ss, NULL);
  munmap(page, (size_t)pg);
  munmap(probe_alt, PROBE_ALT);
  if (!probe_hit)
    snprintf(guard_detail, sizeof guard_detail, "a read of a PROT_NONE page did not fault");
  else if (probe_addr != page)
    snprintf(guard_detail, sizeof guard_detail, "the fault reported address %p, not %p", probe_addr, page);
  else if (!alt_set || !probe_on_alt)
    snprintf(guard_detail, sizeof guard_detail, "the fault handler did not run on the alternate signal stack");
  else {
    guard_ok = 1;
    snprintf(guard_detail, sizeof guard_detail, "guard pages + %s handler on an alternate stack",
             probe_hit == SIGBUS ? "SIGBUS" : "SIGSEGV");
  }
}

static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

bool kafu_engine_guard_pages_ok(const char **detail) {
  pthread_once(&guard_once, guard_probe);
  if (detail) *detail = guard_detail;
  return guard_ok;
}

void kafu_engine_emulator(char *out, size_t cap) {
  out[0] = 0;
  char line[256];
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "Name:", 5) != 0) continue;
    char *v = line + 5 + strspn(line + 5, " \t");
    v[strcspn(v, "\n")] = 0;
    if (!strncmp(v, "qemu-", 5)) snprintf(out, cap, "%s user-mode emulation", v);
    break;
  }
  if (f) fclose(f);
  if (out[0]) return;
#if !defined(__x86_64__) && !defined(__i386__)
  /* an x86 CPU in /proc/cpuinfo under a non-x86 kafu: emulated by something */
  f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, "vendor_id", 9) && (strstr(line, "GenuineIntel") || strstr(line, "AuthenticAMD"))) {
      snprintf(out, cap, "user-mode emulation on an x86-64 host");
      break;
    }
  }
  if (f) fclose(f);
#endif
}

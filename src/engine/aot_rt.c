/*
 * aot_rt.c — the AOT runtime: what generated code calls back into (kafu_aot_rt) and how
 * execution is entered and left.
 *
 * Traps. Every entry into wasm (kafu_rt_exec) pushes an exec frame with a
 * sigjmp_buf on a thread-local chain. A trap — reported by generated code
 * through wasm_rt_trap, or detected by the SIGSEGV handler — records its kind,
 * the faulting PC and a native backtrace in the innermost frame and
 * siglongjmps there. proc_exit does the same with an exit code. There is no
 * global jmp_buf as in wasm2c's sample runtime, so instances on several
 * threads, and host callbacks calling back into wasm, are all safe.
 *
 * Memory. Each linear memory reserves 8 GiB + 64 KiB of PROT_NONE address
 * space (any i32 address + i32 offset lands inside it) and commits pages with
 * mprotect as it grows, so the generated code needs no bounds checks: an
 * access outside the committed part faults inside the reservation, and the
 * handler turns that into an out-of-bounds trap — when the faulting
 * instruction is the module's own code. Host functions check every guest
 * pointer (kafu_mem_ok), so a host function (or a library it calls, such as
 * OpenCV under wasi-nn) faulting there is a bug in kafu: it goes to the next
 * handler like any other fault instead of unwinding foreign frames as a trap.
 * The base never moves.
 *
 * Stack exhaustion. Runaway recursion in wasm runs the native stack into its
 * guard page; the fault lands near the stack pointer, which the handler
 * (running on an alternate signal stack, set up per thread) recognises.
 * Faults that are neither (a real bug in kafu) are passed on to the previous
 * handler / the default action, so they still crash loudly.
 */
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "aot_internal.h"

#define WASM_PAGE 65536u
#define RESERVATION (((size_t)8 << 30) + WASM_PAGE)
/* wasm_rt_memory_t.size is a u32 in wabt 1.0.32: 65536 pages would not fit */
#define MAX_PAGES 65535u
#define ALTSTACK_SIZE (256 * 1024)
/* where an access through a stack pointer that went below 0 lands */
#define C_STACK_WRAP_LO (((uint64_t)4 << 30) - ((uint64_t)16 << 20))
#define C_STACK_WRAP_HI (((uint64_t)4 << 30) + ((uint64_t)16 << 20))

__thread kafu_exec *kafu_rt_current;

static __attribute__((noreturn)) void leave(kafu_exec *ex, int kind) {
  ex->kind = kind;
  siglongjmp(ex->jb, 1);
}

static __attribute__((noreturn)) void no_frame(const char *what) {
  fprintf(stderr, "kafu: fatal: %s outside of any wasm call\n", what);
  abort();
}

static __attribute__((noreturn)) void rt_trap(uint32_t code, void *pc) {
  (void)pc;
  kafu_exec *ex = kafu_rt_current;
  if (!ex) no_frame("wasm trap");
  ex->trap_code = code;
  ex->pc = NULL; /* return addresses in the backtrace locate it */
  ex->nbt = backtrace(ex->bt, KAFU_BT_MAX);
  leave(ex, 1);
}

static __attribute__((noreturn, format(printf, 1, 2))) void resource_trap(const char *fmt, ...) {
  kafu_exec *ex = kafu_rt_current;
  if (!ex) no_frame("allocation failure");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ex->msg, sizeof ex->msg, fmt, ap);
  va_end(ap);
  ex->trap_code = KAFU_AOT_TRAP_RESOURCE;
  ex->nbt = 0;
  leave(ex, 1);
}

static void rt_alloc_memory(wasm_rt_memory_t *m, uint32_t initial, uint32_t max) {
  if (max > MAX_PAGES) max = MAX_PAGES;
  if (initial > max) resource_trap("linear memory of %u pages exceeds the maximum of %u pages", initial, max);
  void *p = mmap(NULL, RESERVATION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    resource_trap("cannot reserve 8 GiB of address space for linear memory: %s (is `ulimit -v` limited?)",
                  strerror(errno));
  if (initial && mprotect(p, (size_t)initial * WASM_PAGE, PROT_READ | PROT_WRITE) != 0) {
    int e = errno;
    munmap(p, RESERVATION);
    resource_trap("cannot commit %u pages of linear memory: %s", initial, strerror(e));
  }
  m->data = p;
  m->pages = initial;
  m->max_pages = max;
  m->size = initial * WASM_PAGE;
  kafu_exec *ex = kafu_rt_current;
  aot_instance *ai = ex && ex->inst ? aot_inst(ex->inst) : NULL;
  if (ai && ai->nres < KAFU_MAX_MEMORIES) {
    ai->res[ai->nres].base = p;
    ai->res[ai->nres].len = RESERVATION;
    __atomic_store_n(&ai->nres, ai->nres + 1, __ATOMIC_RELEASE);
  }
}

static uint32_t rt_grow_memory(wasm_rt_memory_t *m, uint32_t delta) {
  uint32_t old = m->pages;
  uint64_t n = (uint64_t)old + delta;
  if (n > m->max_pages) return UINT32_MAX;
  if (!delta) return old;
  if (mprotect(m->data + (size_t)old * WASM_PAGE, (size_t)delta * WASM_PAGE, PROT_READ | PROT_WRITE) != 0)
    return UINT32_MAX;
  m->pages = (uint32_t)n;
  m->size = (uint32_t)(n * WASM_PAGE);
  return old;
}

int kafu_rt_shrink_memory(wasm_rt_memory_t *m, uint32_t pages) {
  if (pages >= m->pages) return pages == m->pages ? 0 : -1;
  uint8_t *from = m->data + (size_t)pages * WASM_PAGE;
  size_t len = (size_t)(m->pages - pages) * WASM_PAGE;
  /* drop the contents first (a later grow must yield zeros), then the access */
  if (madvise(from, len, MADV_DONTNEED) != 0 || mprotect(from, len, PROT_NONE) != 0) return -1;
  m->pages = pages;
  m->size = pages * WASM_PAGE;
  return 0;
}

static void rt_free_memory(wasm_rt_memory_t *m) {
  if (m->data) munmap(m->data, RESERVATION);
  m->data = NULL;
  m->size = m->pages = 0;
}

static __attribute__((noreturn)) void rt_exit(void *owner, uint32_t code) {
  (void)owner;
  kafu_exec *ex = kafu_rt_current;
  if (!ex) no_frame("proc_exit");
  ex->exit_code = code;
  leave(ex, 2);
}

void kafu_rt_exit_hook(void *ctx, uint32_t code) { rt_exit(ctx, code); }

static const void *rt_host_fn(const char *module, const char *name) {
  const kafu_hostfn *hf = kafu_hostmod_fn(kafu_engine_hostmod(module), name);
  return hf ? hf->fn : NULL;
}

static kafu_aot_rt runtime;
static pthread_once_t runtime_once = PTHREAD_ONCE_INIT;

static void runtime_init(void) {
  runtime.abi = KAFU_AOT_ABI;
  runtime.host_fn = rt_host_fn;
  runtime.trap = rt_trap;
  runtime.alloc_memory = rt_alloc_memory;
  runtime.grow_memory = rt_grow_memory;
  runtime.free_memory = rt_free_memory;
  runtime.proc_exit_returned = rt_exit;
}

const kafu_aot_rt *kafu_aot_rt_get(void) {
  pthread_once(&runtime_once, runtime_init);
  return &runtime;
}

/* ---- signals --------------------------------------------------------------- */

static struct sigaction old_segv, old_bus;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;
static __thread void *t_altstack;

static uintptr_t uc_sp(void *ucv, uintptr_t *pc) {
  ucontext_t *uc = ucv;
#if defined(__x86_64__)
  *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  *pc = (uintptr_t)uc->uc_mcontext.pc;
  return (uintptr_t)uc->uc_mcontext.sp;
#else
  (void)uc;
  *pc = 0;
  return 0;
#endif
}

static void chain(int sig, siginfo_t *si, void *uc) {
  struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
  if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
    old->sa_sigaction(sig, si, uc);
    return;
  }
  if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN && old->sa_handler) {
    old->sa_handler(sig);
    return;
  }
  /* default action: restore it and return; the faulting instruction re-executes
   * and the process dies with the usual signal (and core dump) */
  signal(sig, SIG_DFL);
}

static void fault_handler(int sig, siginfo_t *si, void *ucv) {
  kafu_exec *ex = kafu_rt_current;
  if (ex && ex->inst) {
    uintptr_t a = (uintptr_t)si->si_addr, pc = 0;
    uintptr_t sp = uc_sp(ucv, &pc);
    uint32_t code = 0;
    aot_instance *ai = aot_inst(ex->inst);
    const aot_module *am = aot_mod(ex->inst->m);
    bool wasm_pc = !am->code_hi || (pc >= am->code_lo && pc < am->code_hi);
    int n = __atomic_load_n(&ai->nres, __ATOMIC_ACQUIRE);
    for (int i = 0; wasm_pc && i < n; i++)
      if (a >= (uintptr_t)ai->res[i].base && a - (uintptr_t)ai->res[i].base < ai->res[i].len) {
        code = WASM_RT_TRAP_OOB;
        ex->fault_off = a - (uintptr_t)ai->res[i].base;
        ex->fault_known = true;
      }
    if (!code && sp && a < sp + 65536 && a + (1u << 20) > sp) code = WASM_RT_TRAP_EXHAUSTION;
    if (code) {
      ex->trap_code = code;
      ex->pc = (void *)pc;
      ex->nbt = backtrace(ex->bt, KAFU_BT_MAX);
      leave(ex, 1);
    }
  }
  chain(sig, si, ucv);
}

static void altstack_free(void *p) {
  stack_t ss = {.ss_flags = SS_DISABLE};
  sigaltstack(&ss, NULL);
  munmap(p, ALTSTACK_SIZE);
}

static pthread_mutex_t handler_mu = PTHREAD_MUTEX_INITIALIZER;

/* (Re)install our handler for sig, keeping whatever was there as the next one
 * in the chain. Called on every entry into wasm: test frameworks (cmocka) and
 * embedders may install their own SIGSEGV handler after us; faults outside wasm
 * still reach theirs. */
static void ensure_handler(int sig, struct sigaction *old) {
  struct sigaction cur;
  if (sigaction(sig, NULL, &cur) != 0) return;
  if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == fault_handler) return;
  pthread_mutex_lock(&handler_mu);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fault_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  struct sigaction prev;
  if (sigaction(sig, &sa, &prev) == 0 &&
      !((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == fault_handler))
    *old = prev;
  pthread_mutex_unlock(&handler_mu);
}

static void install_handler(void) {
  /* load libgcc's unwinder now: backtrace() would otherwise dlopen it (malloc)
   * the first time, inside a signal handler */
  void *tmp[2];
  backtrace(tmp, 2);
  pthread_key_create(&altstack_key, altstack_free);
}

void kafu_rt_prepare_thread(void) {
  pthread_once(&handler_once, install_handler);
  ensure_handler(SIGSEGV, &old_segv);
  ensure_handler(SIGBUS, &old_bus);
  if (t_altstack) return;
  stack_t cur;
  if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) && cur.ss_size >= 65536) {
    t_altstack = cur.ss_sp; /* someone (a sanitizer, the embedder) already set one up */
    return;
  }
  void *p = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return; /* stack exhaustion will then crash instead of trapping */
  stack_t ss = {.ss_sp = p, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) {
    munmap(p, ALTSTACK_SIZE);
    return;
  }
  t_altstack = p;
  pthread_setspecific(altstack_key, p);
}

/* ---- entering wasm ------------------------------------------------------------ */

static kafu_trap_kind classify(uint32_t code) {
  switch (code) {
    case WASM_RT_TRAP_OOB:
      return KAFU_TRAP_OUT_OF_BOUNDS;
    case WASM_RT_TRAP_INT_OVERFLOW:
      return KAFU_TRAP_INT_OVERFLOW;
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return KAFU_TRAP_INT_DIV_BY_ZERO;
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return KAFU_TRAP_INVALID_CONVERSION;
    case WASM_RT_TRAP_UNREACHABLE:
      return KAFU_TRAP_UNREACHABLE;
    case WASM_RT_TRAP_CALL_INDIRECT:
      return KAFU_TRAP_INDIRECT_CALL_TYPE;
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION:
      return KAFU_TRAP_UNCAUGHT_EXCEPTION;
    case WASM_RT_TRAP_EXHAUSTION:
      return KAFU_TRAP_STACK_EXHAUSTED;
    case KAFU_AOT_TRAP_CI_TYPE:
      return KAFU_TRAP_INDIRECT_CALL_TYPE;
    case KAFU_AOT_TRAP_CI_NULL:
      return KAFU_TRAP_INDIRECT_CALL_NULL;
    case KAFU_AOT_TRAP_RESOURCE:
      return KAFU_TRAP_RESOURCE;
    default:
      return KAFU_TRAP_HOST;
  }
}

#define KAFU_TRAP_CODE_HOST 200u

void kafu_rt_abort(kafu_instance *inst, const char *msg) {
  kafu_exec *ex = kafu_rt_current;
  if (!ex || ex->inst != inst) no_frame("kafu_instance_abort");
  snprintf(ex->msg, sizeof ex->msg, "%s", msg);
  ex->trap_code = KAFU_TRAP_CODE_HOST;
  ex->nbt = 0;
  leave(ex, 1);
}

bool kafu_rt_executing(const kafu_instance *inst) {
  for (kafu_exec *e = kafu_rt_current; e; e = e->prev)
    if (e->inst == inst) return true;
  return false;
}

/* Called after an unreachable trap: was the module unwinding (Asyncify)? Then
 * the unwind ran out of buffer (docs/abi.md). */
static bool asyncify_overflowed(kafu_instance *inst, uint32_t *bufsize) {
  if (inst->ex_state < 0) return false;
  const kafu_aot_module *mod = aot_mod(inst->m)->art.mod;
  void *gi = aot_inst(inst)->gi;
  const kafu_aot_export *ex = &mod->exports[inst->ex_state];
  uint64_t r = 0;
  ((kafu_aot_invoke_fn)ex->fn)(gi, NULL, &r);
  *bufsize = 0;
  if (inst->ex_buf_size >= 0) {
    const kafu_aot_export *g = &mod->exports[inst->ex_buf_size];
    if (g->fn) *bufsize = *(uint32_t *)((kafu_aot_global_fn)g->fn)(gi);
  }
  return (uint32_t)r == 1;
}

static int finish(kafu_instance *inst, kafu_exec *e, kafu_outcome *out, const char *what, kafu_err *err);

/* Whether the module's stack pointer is below 0 (wrapped). It is visible when
 * exported: as __stack_pointer, or as Snapify's kafu_global_0 (wasm-ld makes
 * it global 0); otherwise we cannot tell and say nothing. */
static bool stack_pointer_wrapped(kafu_instance *inst) {
  uint64_t sp = 0;
  if (kafu_instance_global_get(inst, "__stack_pointer", &sp, NULL) &&
      kafu_instance_global_get(inst, "kafu_global_0", &sp, NULL))
    return false;
  return (uint32_t)sp >= (uint32_t)C_STACK_WRAP_LO;
}

int kafu_rt_exec(kafu_instance *inst, void (*fn)(void *arg), void *arg, const char *what, kafu_outcome *out,
                 kafu_err *err) {
  kafu_exec *top = kafu_rt_current;
  if (top && top->inst == inst) {
    /* re-entry from a host callback: no new frame, traps go to the outer call */
    fn(arg);
    if (out) out->status = 0;
    return 0;
  }
  kafu_rt_prepare_thread();
  kafu_exec ex;
  ex.prev = top;
  ex.inst = inst;
  ex.kind = 0;
  ex.nbt = 0;
  ex.pc = NULL;
  ex.fault_known = false;
  ex.msg[0] = 0;
  kafu_exec *volatile exp = &ex;
  kafu_outcome *volatile outp = out;
  kafu_instance *volatile instp = inst;
  const char *volatile whatp = what;
  kafu_err *volatile errp = err;
  if (sigsetjmp(ex.jb, 1) == 0) {
    kafu_rt_current = &ex;
    fn(arg);
    kafu_rt_current = ex.prev;
    if (out) {
      out->status = 0;
      out->function[0] = out->backtrace[0] = 0;
    }
    return 0;
  }
  kafu_exec *e = exp;
  kafu_rt_current = e->prev;
  return finish(instp, e, outp, whatp, errp);
}

static int finish(kafu_instance *inst, kafu_exec *e, kafu_outcome *out, const char *what, kafu_err *err) {
  kafu_outcome local;
  if (!out) out = &local;
  memset(out, 0, sizeof *out);
  if (e->kind == 2) {
    out->status = KAFU_EEXIT;
    out->exit_code = e->exit_code;
    kafu_err_set(err, KAFU_EEXIT, "program exited with code %u", e->exit_code);
    return KAFU_EEXIT;
  }
  out->status = KAFU_ETRAP;
  out->trap = classify(e->trap_code);
  uint32_t bufsize = 0;
  /* an unwind that overflows its buffer ends in `unreachable`, or, when the
   * buffer is the last thing in memory, out of bounds past its end */
  if ((out->trap == KAFU_TRAP_UNREACHABLE || out->trap == KAFU_TRAP_OUT_OF_BOUNDS) &&
      asyncify_overflowed(inst, &bufsize))
    out->trap = KAFU_TRAP_ASYNCIFY_OVERFLOW;
  /* the stack pointer went below 0 (the C stack is first in memory): the
   * access lands within a few MiB below 4 GiB (or just above, with an
   * offset), and the stack pointer itself has wrapped (a wild pointer near
   * 4 GiB is no stack overflow) */
  if (out->trap == KAFU_TRAP_OUT_OF_BOUNDS && e->fault_known && e->fault_off >= C_STACK_WRAP_LO &&
      e->fault_off < C_STACK_WRAP_HI && stack_pointer_wrapped(inst))
    out->trap = KAFU_TRAP_C_STACK_OVERFLOW;
  kafu_symbolize(inst->m, e, out);
  char where[400] = "";
  if (out->function[0])
    snprintf(where, sizeof where, " in function '%s'", out->function);
  else if (what)
    snprintf(where, sizeof where, " (while running '%s')", what);
  switch (out->trap) {
    case KAFU_TRAP_HOST:
    case KAFU_TRAP_RESOURCE:
      kafu_err_set(err, KAFU_ETRAP, "%s", e->msg); /* callers add context */
      break;
    case KAFU_TRAP_ASYNCIFY_OVERFLOW:
      kafu_err_set(err, KAFU_ETRAP,
                   "wasm trap: Asyncify buffer overflow (%u bytes)%s: rebuild with --kafu-stack-size=%u",
                   bufsize, where, bufsize ? bufsize * 4 : 4u << 20);
      break;
    case KAFU_TRAP_C_STACK_OVERFLOW:
      kafu_err_set(err, KAFU_ETRAP,
                   "wasm trap: C stack overflow%s: the program's stack in linear memory is exhausted (access "
                   "at 0x%llx, below address 0); give it more with kafu cc --kafu-c-stack-size=BYTES "
                   "(default 1M) or -Wl,-z,stack-size=BYTES",
                   where, (unsigned long long)(e->fault_off & 0xffffffffu));
      break;
    case KAFU_TRAP_INDIRECT_CALL_TYPE:
      kafu_err_set(err, KAFU_ETRAP, "wasm trap: %s%s",
                   e->trap_code == WASM_RT_TRAP_CALL_INDIRECT
                       ? "indirect call failed (undefined element or type mismatch)"
                       : kafu_trap_kind_str(out->trap),
                   where);
      break;
    default:
      kafu_err_set(err, KAFU_ETRAP, "wasm trap: %s%s", kafu_trap_kind_str(out->trap), where);
      break;
  }
  return KAFU_ETRAP;
}

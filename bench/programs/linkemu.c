/*
 * linkemu.c — an emulated network link between two network namespaces, for
 * bench/links.sh. It creates one TUN device in each namespace and moves IP
 * packets between them, shaped like a real link:
 *
 *   - bandwidth: each direction serializes packets at RATE (kbit/s, IP bytes),
 *   - delay: each packet arrives DELAY (us) after its last bit was sent
 *     (one way; the round-trip time is twice that),
 *   - a queue of QUEUE packets (MTU-sized) in front of the bottleneck, tail drop.
 *
 * This is what `tc qdisc ... netem delay D rate R limit Q` does on a veth pair;
 * it is done in user space because this project's benchmark machines run
 * kernels without sch_netem. Packets are delivered by a single thread at their
 * due time (ppoll with nanosecond timeouts, timer slack 1 ns); a loaded machine
 * adds scheduling jitter on top of the configured delay (it asks for
 * SCHED_FIFO priority 10 to keep that small).
 *
 * usage: linkemu NS_A DEV_A NS_B DEV_B RATE_KBIT DELAY_US [QUEUE_PKTS [MTU]]
 *   NS_*: names under /var/run/netns (ip netns add); DEV_*: TUN device names.
 *   RATE_KBIT 0 = unlimited. Prints "ready" on stdout once both devices exist,
 *   runs until SIGTERM/SIGINT, then prints per-direction counters on stderr.
 *   The devices disappear when it exits. Needs CAP_NET_ADMIN and CAP_SYS_ADMIN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 16384 /* packets held per direction (queue + delay line) */

typedef struct pkt {
  uint64_t due_ns;
  uint32_t len;
} pkt;

typedef struct dir {
  int in, out;          /* read from in, deliver to out */
  pkt meta[SLOTS];      /* ring */
  uint8_t *data;        /* SLOTS * mtu bytes */
  uint32_t head, count; /* ring position and fill */
  uint64_t busy_until;  /* when the bottleneck finishes its last accepted packet */
  uint64_t fwd, drop, bytes;
} dir;

static volatile sig_atomic_t g_stop;
static void on_sig(int s) {
  (void)s;
  g_stop = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Create TUN device dev inside namespace ns; returns its fd (non-blocking). */
static int tun_in_ns(const char *ns, const char *dev) {
  char path[512];
  snprintf(path, sizeof path, "/var/run/netns/%s", ns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || self < 0) {
    fprintf(stderr, "linkemu: cannot open namespace %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (setns(nsfd, CLONE_NEWNET)) {
    fprintf(stderr, "linkemu: setns %s: %s\n", ns, strerror(errno));
    return -1;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr)) {
    fprintf(stderr, "linkemu: cannot create TUN device %s in %s: %s\n", dev, ns, strerror(errno));
    return -1;
  }
  if (setns(self, CLONE_NEWNET)) {
    fprintf(stderr, "linkemu: setns back: %s\n", strerror(errno));
    return -1;
  }
  close(nsfd);
  close(self);
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 7 || argc > 9) {
    fprintf(stderr, "usage: linkemu NS_A DEV_A NS_B DEV_B RATE_KBIT DELAY_US [QUEUE_PKTS [MTU]]\n");
    return 2;
  }
  uint64_t rate_kbit = strtoull(argv[5], NULL, 10), delay_ns = strtoull(argv[6], NULL, 10) * 1000;
  uint64_t queue = argc > 7 ? strtoull(argv[7], NULL, 10) : 1000;
  uint32_t mtu = argc > 8 ? (uint32_t)strtoul(argv[8], NULL, 10) : 1500;
  if (mtu < 576 || mtu > 65535 || queue == 0 || queue >= SLOTS) {
    fprintf(stderr, "linkemu: MTU must be 576..65535 and QUEUE_PKTS 1..%d\n", SLOTS - 1);
    return 2;
  }
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  /* A real-time priority keeps a loaded machine from delaying packets (the
   * loop sleeps in ppoll between packets, so it cannot starve anything);
   * without the privilege it runs at normal priority. */
  struct sched_param sp = {.sched_priority = 10};
  if (sched_setscheduler(0, SCHED_FIFO, &sp))
    fprintf(stderr, "linkemu: no real-time priority (%s)\n", strerror(errno));
  int fa = tun_in_ns(argv[1], argv[2]), fb = tun_in_ns(argv[3], argv[4]);
  if (fa < 0 || fb < 0) return 1;
  static dir d[2];
  d[0].in = fa, d[0].out = fb, d[1].in = fb, d[1].out = fa;
  for (int k = 0; k < 2; k++)
    if (!(d[k].data = malloc((size_t)SLOTS * mtu))) {
      fprintf(stderr, "linkemu: out of memory\n");
      return 1;
    }
  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &block, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sig;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);

  /* ns per byte at the bottleneck (rate in kbit/s = bits per ms) */
  double ns_per_byte = rate_kbit ? 8e6 / (double)rate_kbit : 0;
  uint64_t queue_ns = (uint64_t)(ns_per_byte * (double)queue * mtu);
  while (!g_stop) {
    uint64_t now = now_ns(), next = 0;
    for (int k = 0; k < 2; k++) {
      dir *x = &d[k];
      while (x->count && x->meta[x->head].due_ns <= now) {
        pkt *p = &x->meta[x->head];
        if (write(x->out, x->data + (size_t)x->head * mtu, p->len) == (ssize_t)p->len)
          x->fwd++, x->bytes += p->len;
        else
          x->drop++;
        x->head = (x->head + 1) % SLOTS, x->count--;
      }
      if (x->count && (!next || x->meta[x->head].due_ns < next)) next = x->meta[x->head].due_ns;
    }
    struct pollfd pfd[2] = {{.fd = fa, .events = POLLIN}, {.fd = fb, .events = POLLIN}};
    struct timespec ts, *tsp = NULL;
    if (next) {
      uint64_t w = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(w / 1000000000ull), ts.tv_nsec = (long)(w % 1000000000ull);
      tsp = &ts;
    }
    int r = ppoll(pfd, 2, tsp, &empty);
    if (r < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "linkemu: ppoll: %s\n", strerror(errno));
      return 1;
    }
    for (int k = 0; k < 2; k++) {
      if (pfd[k].revents & (POLLERR | POLLHUP | POLLNVAL)) {
        fprintf(stderr, "linkemu: device %s failed\n", k ? argv[4] : argv[2]);
        return 1;
      }
      if (!(pfd[k].revents & POLLIN)) continue;
      dir *x = &d[k];
      for (;;) {
        uint32_t slot = (x->head + x->count) % SLOTS;
        uint8_t scratch[65536];
        int full = x->count >= SLOTS;
        ssize_t n = read(x->in, full ? scratch : x->data + (size_t)slot * mtu, full ? sizeof scratch : mtu);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
          fprintf(stderr, "linkemu: read %s: %s\n", k ? argv[4] : argv[2], strerror(errno));
          return 1;
        }
        if (n <= 0) break;
        uint64_t t = now_ns();
        uint64_t start = x->busy_until > t ? x->busy_until : t;
        if (full || start - t > queue_ns) { /* bottleneck queue full: tail drop */
          x->drop++;
          continue;
        }
        x->busy_until = start + (uint64_t)(ns_per_byte * (double)n);
        x->meta[slot].due_ns = x->busy_until + delay_ns;
        x->meta[slot].len = (uint32_t)n;
        x->count++;
      }
    }
  }
  for (int k = 0; k < 2; k++)
    fprintf(stderr, "linkemu: %s -> %s: %llu packets (%llu bytes) forwarded, %llu dropped\n",
            k ? argv[4] : argv[2], k ? argv[2] : argv[4], (unsigned long long)d[k].fwd,
            (unsigned long long)d[k].bytes, (unsigned long long)d[k].drop);
  return 0;
}

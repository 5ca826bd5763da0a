/*
 * addr.c — node addresses: formatting host:port, parsing --listen, and opening
 * the listening socket ourselves (instead of letting libmicrohttpd do it) so
 * that "port already in use" is reported with the exact address and errno.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster_internal.h"

void kafu_hostport(const char *host, uint16_t port, char *out, size_t cap) {
  if (strchr(host, ':') && host[0] != '[')
    snprintf(out, cap, "[%s]:%u", host, port);
  else
    snprintf(out, cap, "%s:%u", host, port);
}

static int parse_port(const char *s, uint16_t *port, const char *whole, kafu_err *err) {
  char *e;
  errno = 0;
  long v = strtol(s, &e, 10);
  if (!*s || *e || errno || v < 0 || v > 65535)
    return kafu_err_set(err, KAFU_EINVAL, "--listen '%s': port must be 0..65535, got '%s'", whole, s);
  *port = (uint16_t)v;
  return 0;
}

int kafu_parse_listen(const char *s, char *host, size_t cap, uint16_t *port, kafu_err *err) {
  *port = 0;
  host[0] = 0;
  if (!s || !*s) return kafu_err_set(err, KAFU_EINVAL, "--listen: empty address");
  if (s[0] == '[') {
    const char *rb = strchr(s, ']');
    if (!rb) return kafu_err_set(err, KAFU_EINVAL, "--listen '%s': missing ']'", s);
    size_t n = (size_t)(rb - s - 1);
    if (n + 1 > cap) return kafu_err_set(err, KAFU_EINVAL, "--listen '%s': address too long", s);
    memcpy(host, s + 1, n);
    host[n] = 0;
    if (rb[1] == ':') return parse_port(rb + 2, port, s, err);
    if (rb[1]) return kafu_err_set(err, KAFU_EINVAL, "--listen '%s': expected ':PORT' after ']'", s);
    return 0;
  }
  const char *colon = strchr(s, ':');
  if (colon && strchr(colon + 1, ':')) { /* bare IPv6 literal, no port */
    if (strlen(s) + 1 > cap) return kafu_err_set(err, KAFU_EINVAL, "--listen '%s': address too long", s);
    strcpy(host, s);
    return 0;
  }
  size_t n = colon ? (size_t)(colon - s) : strlen(s);
  if (n + 1 > cap) return kafu_err_set(err, KAFU_EINVAL, "--listen '%s': address too long", s);
  memcpy(host, s, n);
  host[n] = 0;
  if (colon) return parse_port(colon + 1, port, s, err);
  return 0;
}

int kafu_listen_socket(const char *host, uint16_t port, uint16_t *bound_port, kafu_err *err) {
  char hp[300];
  kafu_hostport(host && *host ? host : "0.0.0.0", port, hp, sizeof hp);
  /* "localhost" may resolve to ::1 first; peers reach it either way, but a
   * predictable IPv4 bind keeps `ss`/error messages simple. */
  const char *h = host && *host ? host : "::";
  if (!strcasecmp(h, "localhost")) h = "127.0.0.1";
  bool wildcard = !strcmp(h, "::") || !strcmp(h, "0.0.0.0");
  char portstr[8];
  snprintf(portstr, sizeof portstr, "%u", port);
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gai = getaddrinfo(h, portstr, &hints, &res);
  if (gai && !strcmp(h, "::")) { /* no IPv6 on this machine */
    h = "0.0.0.0";
    gai = getaddrinfo(h, portstr, &hints, &res);
  }
  if (gai) return kafu_err_set(err, KAFU_EINVAL, "cannot listen on %s: %s", hp, gai_strerror(gai));
  int fd = -1, last_errno = 0;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6 && wildcard) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) break;
    last_errno = errno;
    close(fd);
    fd = -1;
    if (last_errno == EADDRINUSE) break;
  }
  freeaddrinfo(res);
  if (fd < 0 && wildcard && !strcmp(h, "::") && last_errno == EAFNOSUPPORT)
    return kafu_listen_socket("0.0.0.0", port, bound_port, err);
  if (fd < 0) {
    if (last_errno == EADDRINUSE)
      return kafu_err_set(err, KAFU_EIO,
                          "cannot listen on %s: address already in use (another kafu serve, or another "
                          "program, holds port %u)",
                          hp, port);
    if (last_errno == EADDRNOTAVAIL)
      return kafu_err_set(err, KAFU_EIO,
                          "cannot listen on %s: that address is not on this machine (use --listen)", hp);
    return kafu_err_set(err, KAFU_EIO, "cannot listen on %s: %s", hp, strerror(last_errno));
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (bound_port) {
    *bound_port = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
      *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
  }
  return fd;
}

int kafu_write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The IPv4 address inside a v4-mapped IPv6 one ("::ffff:a.b.c.d"), as the
 * dual-stack listener reports IPv4 clients. */
static void unmap(const struct sockaddr *sa, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
      struct sockaddr_in *s4 = (struct sockaddr_in *)out;
      s4->sin_family = AF_INET;
      memcpy(&s4->sin_addr, s6->sin6_addr.s6_addr + 12, 4);
      return;
    }
    memcpy(out, sa, sizeof *s6);
  } else if (sa->sa_family == AF_INET) {
    memcpy(out, sa, sizeof(struct sockaddr_in));
  }
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr *b) {
  struct sockaddr_storage bb;
  unmap(b, &bb);
  if (a->ss_family != bb.ss_family) return false;
  if (a->ss_family == AF_INET)
    return !memcmp(&((const struct sockaddr_in *)a)->sin_addr, &((struct sockaddr_in *)&bb)->sin_addr, 4);
  if (a->ss_family == AF_INET6)
    return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((struct sockaddr_in6 *)&bb)->sin6_addr, 16);
  return false;
}

bool kafu_addr_is_node(const kafu_config *cfg, const struct sockaddr *client) {
  if (!client || (client->sa_family != AF_INET && client->sa_family != AF_INET6)) return false;
  struct sockaddr_storage c;
  unmap(client, &c);
  for (size_t i = 0; i < cfg->nnodes; i++) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    const char *host = cfg->nodes[i].address;
    char buf[256];
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && hl < sizeof buf && host[hl - 1] == ']') { /* "[::1]" */
      memcpy(buf, host + 1, hl - 2);
      buf[hl - 2] = 0;
      host = buf;
    }
    if (getaddrinfo(host, NULL, &hints, &res) != 0) continue;
    bool hit = false;
    for (struct addrinfo *ai = res; ai && !hit; ai = ai->ai_next) hit = same_ip(&c, ai->ai_addr);
    freeaddrinfo(res);
    if (hit) return true;
  }
  return false;
}

/* echo.c — accepts one connection on the listening socket kafu run --tcplisten
 * passes in (fd 3 when there are no preopens), upper-cases what it receives and
 * sends it back: sock_accept/sock_recv/sock_send/sock_shutdown end to end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int lfd = argc > 1 ? atoi(argv[1]) : 3;
  int c = accept(lfd, NULL, NULL);
  if (c < 0) { perror("accept"); return 1; }
  char buf[256];
  ssize_t n = recv(c, buf, sizeof buf, 0);
  if (n < 0) { perror("recv"); return 1; }
  for (ssize_t i = 0; i < n; i++) if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
  send(c, buf, (size_t)n, 0);
  shutdown(c, SHUT_RDWR);
  printf("served %zd bytes\n", n);
  return 0;
}

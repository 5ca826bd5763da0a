#!/usr/bin/env python3
"""client.py — a client for examples/edge-service (used by its test and by
bench/edge-service.sh). Loopback or any host; standard library only.

  client.py [--host H] PORT wait                 until the service answers GET /
  client.py [--host H] PORT check OUT            a fixed set of requests (keep-alive,
                                                 pipelined, large bodies, HTTP/1.0, 404);
                                                 the raw answers go to OUT, byte for byte
  client.py [--host H] PORT load N [--close] [--body BYTES]
                                                 N sequential POST /count, one connection
                                                 (or a new one per request with --close);
                                                 prints requests/s and latency p50/p99
  client.py [--host H] PORT short N              N connections, one GET / each, answers checked
  client.py [--host H] PORT fault partial|rst|idle [SECONDS]
                                                 a client that breaks off mid-body, resets
                                                 right after sending, or never sends
"""
import socket
import struct
import sys
import time

HOST = "127.0.0.1"
HELP = b"edge-service: POST a text to /count or /upper\n"


def connect(port, timeout=30):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s, buf=b""):
    """One response (headers + Content-Length body) -> (raw bytes, rest)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("connection closed in the headers: %r" % buf[:200])
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            raise EOFError("connection closed in the body")
        rest += d
    return head + b"\r\n\r\n" + rest[:n], rest[n:]


def request(method, path, body=b"", extra=b""):
    return b"%s %s HTTP/1.1\r\nHost: edge\r\nContent-Length: %d\r\n%s\r\n" % (
        method, path, len(body), extra) + body


def text(n, seed):
    words = [b"kafu", b"edge", b"cloud", b"migrates", b"socket", b"home", b"stdin", b"wasm"]
    out, x, size = [], seed, 0
    while size < n:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(words[x % len(words)] + (b"\n" if x % 7 == 0 else b""))
        size += len(out[-1]) + 1
    return b" ".join(out)[:n]


def check(port, out):
    answers = []
    s = connect(port)
    rest = b""
    # keep-alive: several requests on one connection
    for req in (request(b"GET", b"/"),
                request(b"POST", b"/count", text(1000, 1)),
                request(b"POST", b"/upper", text(300000, 2)),
                request(b"GET", b"/nowhere")):
        s.sendall(req)
        r, rest = read_response(s, rest)
        answers.append(r)
    # pipelined: two requests in one write, answers in order
    s.sendall(request(b"POST", b"/count", text(5000, 3)) + request(b"POST", b"/upper", b"two in one"))
    for _ in range(2):
        r, rest = read_response(s, rest)
        answers.append(r)
    # a body sent in pieces, with pauses (the handler waits for it on the cloud)
    body = text(150000, 4)
    s.sendall(b"POST /count HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body))
    for i in range(0, len(body), 40000):
        time.sleep(0.05)
        s.sendall(body[i:i + 40000])
    r, rest = read_response(s, rest)
    answers.append(r)
    # Connection: close ends it
    s.sendall(request(b"GET", b"/", extra=b"Connection: close\r\n"))
    r, rest = read_response(s, rest)
    answers.append(r)
    if s.recv(1) != b"":
        raise SystemExit("connection not closed after Connection: close")
    s.close()
    # HTTP/1.0 and a bad request line, each on its own connection
    for raw in (b"GET / HTTP/1.0\r\n\r\n", b"NONSENSE\r\n\r\n"):
        s = connect(port)
        s.sendall(raw)
        r, _ = read_response(s)
        answers.append(r)
        s.close()
    with open(out, "wb") as f:
        for a in answers:
            f.write(struct.pack("<I", len(a)) + a)
    print("check: %d answers, %d bytes" % (len(answers), sum(len(a) for a in answers)))


def load(port, n, close, nbody):
    body = text(nbody, 5)
    req = request(b"POST", b"/count", body, b"Connection: close\r\n" if close else b"")
    lat = []
    s = None if close else connect(port)
    rest = b""
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        if close:
            s = connect(port)
        s.sendall(req)
        r, rest = read_response(s, rest)
        if b" 200 OK" not in r[:20]:
            raise SystemExit("bad answer: %r" % r[:100])
        if close:
            s.close()
        lat.append(time.perf_counter() - t)
    total = time.perf_counter() - t0
    if not close:
        s.close()
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(round(q * (len(lat) - 1))))] * 1e3
    print("requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f" % (n, total, n / total, pct(0.5), pct(0.99)))


def short(port, n):
    for i in range(n):
        s = connect(port)
        s.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        r, _ = read_response(s)
        if not r.endswith(HELP):
            raise SystemExit("connection %d: bad answer %r" % (i, r[:100]))
        s.close()
    print("short: %d connections answered" % n)


def fault(port, kind, seconds):
    s = connect(port)
    if kind == "partial":  # headers and part of the body, then gone
        s.sendall(b"POST /count HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        time.sleep(seconds)
        s.close()
    elif kind == "rst":  # a whole request, then a reset before the answer
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(request(b"POST", b"/upper", text(20000, 6)))
        s.close()
    elif kind == "idle":  # connects, never sends
        time.sleep(seconds)
        s.close()
    else:
        raise SystemExit("unknown fault " + kind)


def main(argv):
    global HOST
    if len(argv) > 2 and argv[1] == "--host":
        HOST = argv[2]
        argv = argv[:1] + argv[3:]
    if len(argv) < 3:
        raise SystemExit(__doc__)
    port, cmd = int(argv[1]), argv[2]
    if cmd == "wait":
        for _ in range(600):
            try:
                # the node binds the socket at start: a connection may wait in
                # its backlog while the module still compiles
                s = connect(port, 120)
                s.sendall(b"GET / HTTP/1.1\r\n\r\n")
                read_response(s)
                s.close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("service on port %d did not answer" % port)
    if cmd == "check":
        return check(port, argv[3])
    if cmd == "load":
        body = int(argv[argv.index("--body") + 1]) if "--body" in argv else 100
        return load(port, int(argv[3]), "--close" in argv, body)
    if cmd == "short":
        return short(port, int(argv[3]))
    if cmd == "fault":
        return fault(port, argv[3], float(argv[4]) if len(argv) > 4 else 0.5)
    raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

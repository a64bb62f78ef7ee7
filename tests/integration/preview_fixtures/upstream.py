"""A small HTTP upstream for the preview proxy tests (stdlib only; runs inside a sandbox).

usage: python3 upstream.py PORT [DELAY_S]

Sleeps DELAY_S seconds (default 0) before it listens, then serves, one thread per
connection, HTTP/1.1 with keep-alive:
  GET  /fast     200 "fast"
  GET  /slow     sleeps 5 s, then 200 "slow"
  GET  /stream   chunked: "part1\\n", then 3 s later "part2\\n"
  GET  /headers  200 JSON of the request headers as received
  POST /count    reads the whole body (Content-Length or chunked) and answers
                 JSON {"bytes": N, "sha256": HEX}
  POST /slowcount  the same, reading 64 KiB every 20 ms (about 3 MiB/s)
  GET  /bytes?n=N     N random bytes (N <= 64 MiB), Content-Length, header X-Sha256
  GET  /chunks?n=N    N random bytes, chunked in pieces of up to 4000, header X-Sha256
  GET  /status/S      status S (204, 304 or 418) with no body
  GET  /whoami        the contents of ./whoami.txt (which sandbox answered)
  POST /echo          the body back (Content-Length), whatever its framing was
"""
import hashlib
import http.server
import json
import os
import socket
import sys
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/fast":
            self._send(200, b"fast")
        elif self.path == "/slow":
            time.sleep(5)
            self._send(200, b"slow")
        elif self.path == "/stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"part1\n", b"part2\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                if part == b"part1\n":
                    time.sleep(3)
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith(("/bytes?", "/chunks?")):
            n = int(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["n"][0])
            if not 0 <= n <= 64 << 20:
                self._send(400, b"n out of range\n")
                return
            body = os.urandom(n)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("X-Sha256", hashlib.sha256(body).hexdigest())
            if self.path.startswith("/bytes?"):
                self.send_header("Content-Length", str(n))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            out = [b"%x\r\n%s\r\n" % (len(body[i:i + 4000]), body[i:i + 4000])
                   for i in range(0, n, 4000)]
            self.wfile.write(b"".join(out) + b"0\r\n\r\n")
        elif self.path.startswith("/status/") and self.path[8:] in ("204", "304", "418"):
            self.send_response(int(self.path[8:]))
            if self.path[8:] == "418":
                self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/cut":
            # an answer that stops a quarter of the way through: the server goes away
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 25000)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif self.path == "/cuthead":
            # no answer at all: the connection just closes
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif self.path == "/whoami":
            try:
                with open("whoami.txt", "rb") as f:
                    self._send(200, f.read())
            except OSError:
                self._send(404, b"no whoami.txt\n")
        elif self.path == "/headers":
            body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
            self._send(200, body, "application/json")
        else:
            self._send(404, b"no such path\n")

    def do_HEAD(self):
        if self.path == "/fast":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "4")
            self.end_headers()
        else:
            self._send(404, b"")

    def do_POST(self):
        h, n = hashlib.sha256(), 0
        keep = [] if self.path == "/echo" else None
        pause = 0.02 if self.path == "/slowcount" else 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    chunk = self.rfile.read(min(left, 1 << 16))
                    h.update(chunk)
                    n += len(chunk)
                    left -= len(chunk)
                    if keep is not None:
                        keep.append(chunk)
                    time.sleep(pause)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
                left -= len(chunk)
                if keep is not None:
                    keep.append(chunk)
                time.sleep(pause)
        if keep is not None:
            self._send(200, b"".join(keep), "application/octet-stream")
            return
        self._send(200, json.dumps({"bytes": n, "sha256": h.hexdigest()}).encode(),
                   "application/json")


def main():
    port = int(sys.argv[1])
    if len(sys.argv) > 2:
        time.sleep(float(sys.argv[2]))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()

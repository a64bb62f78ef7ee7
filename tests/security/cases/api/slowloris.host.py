# attack: slowloris: 200 connections that trickle their headers (or announce a body and send
#         it a byte at a time) to tie up the daemon's connection slots and threads
# why: connections are cheap threads with a cap of 2048 and an idle cut-off; while they
#      trickle, other clients are still served promptly, including a sandbox exec
# timeout: 120
# expect: exit=0
# stdout-has: SAFE health answered
# stdout-has: SAFE exec answered
import socket
import time

import hostlib
from hostlib import check

socks = []
try:
    for i in range(200):
        s = socket.create_connection(("127.0.0.1", hostlib.PORT), timeout=10)
        if i % 2:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:
            s.sendall(b"POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
                      % hostlib.DAEMON.key.encode())
        socks.append(s)
    c = hostlib.client()
    with hostlib.sandbox(c) as sb:
        for rnd in range(5):
            for s in socks:
                try:
                    s.send(b"a")
                except OSError:
                    pass
            t0 = time.monotonic()
            ok = hostlib.healthy(2.0)
            check(ok, "health answered in %.2f s while 200 connections trickle (round %d)"
                  % (time.monotonic() - t0, rnd))
            t0 = time.monotonic()
            res = hostlib.sh(c, sb, "echo fine")
            dt = time.monotonic() - t0
            check(res["stdout"] == "fine\n" and dt < 3, "exec answered in %.2f s (round %d)"
                  % (dt, rnd), res)
            time.sleep(0.5)
finally:
    for s in socks:
        s.close()
hostlib.done()

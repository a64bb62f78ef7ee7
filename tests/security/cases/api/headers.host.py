# attack: exhaust the daemon with headers: one 100 KiB header, 20000 small headers, a
#         request line of 1 MiB, and a 10 KiB bearer token
# why: request headers are capped at 64 KiB in all (431), paths at 8 KiB (414) and tokens at
#      512 bytes (never authenticate); the connection is refused, the daemon carries on
# timeout: 120
# expect: exit=0
# stdout-has: SAFE one 100 KiB header
# stdout-has: SAFE 20000 headers
# stdout-has: SAFE 1 MiB request line
# stdout-has: SAFE 10 KiB bearer token
# stdout-has: SAFE daemon healthy
import hostlib
from hostlib import check

key = hostlib.DAEMON.key
status, _, _, _ = hostlib.raw(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " +
                              b"a" * (100 << 10) + b"\r\n\r\n")
check(status in (431, 400, None), "one 100 KiB header refused (%r)" % status)
many = b"".join(b"X-H%d: v\r\n" % i for i in range(20000))
status, _, _, closed = hostlib.raw(b"GET /v1/sandboxes HTTP/1.1\r\nHost: x\r\nAuthorization: "
                                   b"Bearer " + key.encode() + b"\r\n" + many + b"\r\n")
check(status in (431, 400) or (status is None and closed),
      "20000 headers refused (%r)" % status)
status, _, _, closed = hostlib.raw(b"GET /v1/" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
check(status in (414, 400, 431) or (status is None and closed),
      "1 MiB request line refused (%r)" % status)
status, _, _, _ = hostlib.raw(b"GET /v1/sandboxes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                              + b"cove_" + b"a" * 10240 + b"\r\n\r\n")
check(status in (401, 431), "10 KiB bearer token refused (%r)" % status)
check(hostlib.healthy(), "daemon healthy")
hostlib.done()

# attack: exhaust the daemon's memory with request bodies: a 25 MiB JSON body (1 MiB over the
#         cap) with Content-Length, the same chunked, a Content-Length of 2^63, and a 5 GiB
#         upload announced to the raw file route
# why: every body has a cap checked before it is buffered (24 MiB JSON, 4 GiB per file): an
#      announced excess is refused at once with 413 without reading it, a chunked excess is
#      cut off at the cap
# timeout: 120
# expect: exit=0
# stdout-has: SAFE 25 MiB JSON body
# stdout-has: SAFE chunked 25 MiB JSON body
# stdout-has: SAFE Content-Length 2^63
# stdout-has: SAFE 5 GiB upload announced
# stdout-has: SAFE daemon healthy
import hostlib
from hostlib import check, check_status, q

c = hostlib.client()
big = b'{"name": "' + b"a" * (25 << 20) + b'"}'
r = c.request("POST", "/v1/sandboxes", raw=big, content_type="application/json")
check_status(r, 413, "25 MiB JSON body refused (%d)" % r.status, "PAYLOAD_TOO_LARGE")
r = c.request("POST", "/v1/sandboxes", raw=iter([big[i:i + (1 << 20)]
                                                 for i in range(0, len(big), 1 << 20)]),
              content_type="application/json", chunked=True)
check_status(r, 413, "chunked 25 MiB JSON body refused (%d)" % r.status)
head = ("POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: 9223372036854775807\r\n\r\n{"
        % hostlib.DAEMON.key).encode()
status, _, _, _ = hostlib.raw(head, 15)
check(status == 413, "Content-Length 2^63 refused (%r)" % status)
with hostlib.sandbox(c) as sb:
    head = ("PUT /v1/sandboxes/%s/files/content?path=big HTTP/1.1\r\nHost: x\r\n"
            "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
            % (sb["id"], hostlib.DAEMON.key, 5 << 30)).encode()
    status, _, _, _ = hostlib.raw(head + b"x" * 65536, 15)
    check(status == 413, "5 GiB upload announced refused (%r)" % status)
check(hostlib.healthy(), "daemon healthy")
hostlib.done()

# attack: malformed multipart uploads: no boundary, a boundary longer than the parser buffer,
#         no closing delimiter, part headers of 100 KiB, a part without Content-Disposition,
#         10000 tiny parts, a body that is not multipart at all, bare LF line ends
# why: the boundary is validated up front, the post processor has a fixed buffer, and every
#      failure is a 4xx with a JSON error; nothing is written outside the target directory,
#      nothing crashes
# timeout: 120
# expect: exit=0
# stdout-has: SAFE no boundary
# stdout-has: SAFE 40 KiB boundary
# stdout-has: SAFE 100 KiB part headers
# stdout-has: SAFE daemon healthy
import hostlib
from hostlib import check, multipart, q

c = hostlib.client()
with hostlib.sandbox(c) as sb:
    url = "/v1/sandboxes/%s/files/upload" % q(sb["id"])

    def up(body, ctype):
        return c.request("POST", url, raw=body, content_type=ctype, query={"dir": "/home/cove/u"})

    good, gtype = multipart([("f", "a.txt", b"hello", None)], boundary="XyZ")
    long_b = "b" * (40 << 10)
    cases = {
        "no boundary": (good, "multipart/form-data"),
        "empty boundary": (good, "multipart/form-data; boundary="),
        "40 KiB boundary": (b"--" + long_b.encode() + b"\r\n", "multipart/form-data; boundary="
                            + long_b),
        "no closing delimiter": (good[:-len(b"--XyZ--\r\n")], gtype),
        "100 KiB part headers": (b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; "
                                 b"filename=\"h.txt\"\r\nX-Pad: " + b"p" * (100 << 10) +
                                 b"\r\n\r\ndata\r\n--XyZ--\r\n", gtype),
        "no Content-Disposition": (b"--XyZ\r\nContent-Type: text/plain\r\n\r\ndata\r\n"
                                   b"--XyZ--\r\n", gtype),
        "not multipart": (b"just bytes", gtype),
        "json content type": (good, "application/json"),
        "bare LF": (good.replace(b"\r\n", b"\n"), gtype),
    }
    for name, (body, ctype) in cases.items():
        r = up(body, ctype)
        check(r.status in (200, 400, 413, 415) and isinstance(r.body, dict),
              "%s -> %d" % (name, r.status), r)
    parts = [("f%d" % i, "p%d" % i, b"x", None) for i in range(10000)]
    body, ctype = multipart(parts)
    r = up(body, ctype)
    check(r.status in (200, 400, 413), "10000 tiny parts -> %d" % r.status, r)
    listing = hostlib.sh(c, sb, "ls -A /home/cove /home/cove/u 2>/dev/null | wc -l")["stdout"]
    print("entries in home and u:", listing.strip())
check(hostlib.healthy(), "daemon healthy")
hostlib.done()

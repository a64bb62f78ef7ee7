# attack: escape the sandbox with path syntax in the file API: "../" chains, absolute host
#         paths, percent-encoded dots, NUL bytes, doubled slashes, very long paths, the kernel
#         trees reached by ".." detours
# why: paths are normalised lexically ("..": at "/" stays at "/"), NUL is refused, /proc,
#      /dev and /sys are refused after normalisation, and the kernel resolves what remains
#      inside the sandbox root only
# timeout: 60
# expect: exit=0
# stdout-has: SAFE ../../../../etc/hostname is the sandbox's
# stdout-has: SAFE NUL in path refused
# stdout-has: SAFE long path refused
import socket

import hostlib
from hostlib import check, check_status, q

c = hostlib.client()
with hostlib.sandbox(c) as sb:
    sid, name = sb["id"], sb["name"]
    for p in ("../../../../etc/hostname", "/../../../etc/hostname", "/home/../../etc/hostname",
              "/sys/../etc/hostname", "./../.././../etc/hostname"):
        r = c.file_get(sid, p)
        check(r.status == 200 and r.raw == (name + "\n").encode() and
              socket.gethostname().encode() not in r.raw,
              "%s is the sandbox's" % p, r)
    raw_path = "/v1/sandboxes/%s/files/content?path=%%2e%%2e%%2f%%2e%%2e%%2fetc%%2fhostname" % sid
    r = c.get(raw_path)
    check(r.status == 200 and r.raw == (name + "\n").encode(), "percent-encoded dots stay "
          "inside", r)
    r = c.get("/v1/sandboxes/%s/files/content?path=/etc/hostname%%00.txt" % sid)
    check_status(r, 400, "NUL in path refused")
    for p in ("/dev/../dev/null", "/etc/../proc/self/environ", "//sys//kernel", "/proc",
              "/home/cove/../../proc/1/environ"):
        check_status(c.file_get(sid, p), 400, "%s refused" % p)
    r = c.file_get(sid, "/" + "a/" * 3000)
    check_status(r, {400, 414}, "long path refused")
    r = c.file_get(sid, "")
    check_status(r, 400, "empty path refused")
hostlib.done()

# attack: ask for negative, zero, fractional, enormous or overflowing limits and timeouts, to
#         get an unlimited sandbox (a wrapped-around integer) or a command without a deadline
# why: each number is checked against its documented range before any conversion (memory
#      16-262144 MiB, disk 64-1048576 MiB, pids 16-32768, cpu 0.01-64, timeout 0 < t <= 86400,
#      max_output_bytes 0-16777216); anything else is a 400 and nothing is created
# timeout: 120
# expect: exit=0
# stdout-has: SAFE memory_mib -1
# stdout-has: SAFE memory_mib 18446744073709551616
# stdout-has: SAFE timeout -1
# stdout-has: SAFE timeout 1e+308
# stdout-has: SAFE nothing was created
import hostlib
from hostlib import check, q

c = hostlib.client()
bad = {
    "memory_mib": [-1, 0, 15, 262145, 1.5, 4294967296, 18446744073709551616, 1e300, -1e300],
    "disk_mib": [-1, 0, 63, 1048577, 2 ** 63, 64.5],
    "pids": [-1, 0, 15, 32769, 2 ** 32 + 64, 1e10],
    "cpu": [-1, 0, 0.001, 64.5, 1e9, -0.0],
    "auto_stop_minutes": [-1, 525601, 2 ** 31, 1.5],
}
before = len(c.get("/v1/sandboxes").body["sandboxes"])
for field, values in bad.items():
    for v in values:
        r = c.post("/v1/sandboxes", {field: v})
        if r.status == 201:
            c.destroy(r.body["id"])
        check(r.status == 400, "%s %r -> %d" % (field, v, r.status), r)
with hostlib.sandbox(c) as sb:
    url = "/v1/sandboxes/%s/exec" % q(sb["id"])
    for v in (-1, 0, -0.0, 86400.001, 86401, 1e308, 2 ** 64, 1e-300):
        r = c.post(url, {"cmd": ["true"], "timeout": v})
        ok = r.status == 400 or (v == 1e-300 and r.status == 200)
        check(ok, "timeout %r -> %d" % (v, r.status), r)
    for v in (-1, 16777217, 2 ** 63, 1.5):
        r = c.post(url, {"cmd": ["true"], "max_output_bytes": v})
        check(r.status == 400, "max_output_bytes %r -> %d" % (v, r.status), r)
after = len(c.get("/v1/sandboxes").body["sandboxes"])
check(after == before, "nothing was created (%d -> %d)" % (before, after))
hostlib.done()

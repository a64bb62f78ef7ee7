# attack: gain trust through request metadata: spoofed Host headers (localhost, the unix
#         socket path, an admin-looking name), X-Forwarded-For / X-Real-IP / Forwarded from
#         127.0.0.1, absolute-form request targets, and HTTP/1.0 without Host
# why: authentication looks at the bearer key only; no header, peer address or transport
#      grants anything, so all of these are 401 without a key
# timeout: 60
# expect: exit=0
# stdout-has: SAFE Host: localhost
# stdout-has: SAFE X-Forwarded-For: 127.0.0.1
# stdout-has: SAFE absolute-form target
import hostlib
from hostlib import check

spoofs = {
    "Host: localhost": {"Host": "localhost"},
    "Host: unix socket": {"Host": hostlib.DAEMON.socket},
    "Host: admin.cove.internal": {"Host": "admin.cove.internal"},
    "X-Forwarded-For: 127.0.0.1": {"X-Forwarded-For": "127.0.0.1"},
    "X-Real-IP: 127.0.0.1": {"X-Real-IP": "127.0.0.1"},
    "Forwarded: for=127.0.0.1": {"Forwarded": "for=127.0.0.1;proto=https"},
    "X-Cove-Org: default": {"X-Cove-Org": "default", "X-Org": "default"},
}
anon = hostlib.client()
anon._key = None
for name, hdrs in spoofs.items():
    r = anon.request("GET", "/v1/sandboxes", headers=hdrs, auth=False)
    check(r.status == 401, "%s -> %d" % (name, r.status), r)
for target, what in (("http://localhost/v1/sandboxes", "absolute-form target"),
                     ("http://127.0.0.1:%d/v1/sandboxes" % hostlib.PORT, "absolute-form target "
                      "with our own address")):
    status, _, _, _ = hostlib.raw(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % target)
                                  .encode())
    check(status in (401, 400, 404), "%s -> %r" % (what, status))
status, _, _, _ = hostlib.raw(b"GET /v1/sandboxes HTTP/1.0\r\n\r\n")
check(status in (401, 400), "HTTP/1.0 without Host -> %r" % status)
hostlib.done()

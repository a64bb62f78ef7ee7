# attack: multipart parts whose filename climbs out of the target directory ("../../x"),
#         is absolute ("/etc/cron.d/x", the host canary's path), is "." or "..", hides a NUL,
#         or is percent-encoded
# why: a part's filename is normalised against ?dir= and must stay strictly below it, else the
#      whole upload is a 400; and it is still resolved inside the sandbox root only
# timeout: 60
# expect: exit=0
# stdout-has: SAFE filename '../../../../../../etc/cron.d/cove'
# stdout-has: SAFE filename '/etc/cron.d/cove'
# stdout-has: SAFE filename '..'
# stdout-has: SAFE host canary intact
import os

import hostlib
from hostlib import CANARY_FILE, check, multipart, q

c = hostlib.client()
names = ["../../../../../../etc/cron.d/cove", "/etc/cron.d/cove", "..", ".", "a/../../b",
         CANARY_FILE, "../" + os.path.basename(CANARY_FILE), "x\0y", "%2e%2e/%2e%2e/z"]
with hostlib.sandbox(c) as sb:
    hostlib.sh(c, sb, "mkdir -p /home/cove/up")
    for name in names:
        body, ctype = multipart([("file", name, b"payload", None)])
        r = c.request("POST", "/v1/sandboxes/%s/files/upload" % q(sb["id"]), raw=body,
                      content_type=ctype, query={"dir": "/home/cove/up"})
        written = []
        if r.status == 200:
            written = [f["path"] for f in r.body.get("files", [])]
        ok = r.status in (400, 403) or (r.status == 200 and all(
            p.startswith("/home/cove/up/") for p in written))
        check(ok, "filename %r (%d %s)" % (name, r.status, written), r)
    check(not os.path.exists("/etc/cron.d/cove"), "host /etc/cron.d untouched")
check(hostlib.canary_intact(), "host canary intact")
hostlib.done()

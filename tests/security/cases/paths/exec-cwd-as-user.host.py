# attack: ask for a working directory the sandbox user may not enter (/root, mode 0700, owned by
#         the sandbox's root) and read what is in it from there
# why: a command must only ever do what its user can do; a cwd the user cannot enter must be
#      refused (403) like the file API refuses paths the user cannot reach
# timeout: 60
# expect: exit=0
# stdout-has: SAFE cwd /root refused
import hostlib
from hostlib import check, q

c = hostlib.client()
with hostlib.sandbox(c) as sb:
    url = "/v1/sandboxes/%s/exec" % q(sb["id"])
    r = c.post(url, {"command": "pwd", "cwd": "/root"}, timeout=60)
    out = r.body.get("stdout", "") if isinstance(r.body, dict) else ""
    check(r.status in (400, 403), "cwd /root refused (%d: %r)" % (r.status, out), r)
hostlib.done()

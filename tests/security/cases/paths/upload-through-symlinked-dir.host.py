# attack: plant symlinked *directories* on the way to an upload target: a link to the host
#         canary directory, to "/", to /proc/self/root and to /proc/1/cwd, then upload below
#         them (PUT creates missing parents; multipart takes the directory as ?dir=)
# why: the links are resolved inside the sandbox root (so the host directory name is just a
#      new directory inside the sandbox), magic links are refused (and the sandbox's /proc has
#      no pid for coved's "self"), and writes act as the sandbox user (so /etc in the sandbox
#      is not writable either)
# timeout: 120
# expect: exit=0
# stdout-has: SAFE PUT below the host-dir link stayed inside
# stdout-has: SAFE PUT below the / link into /etc
# stdout-has: SAFE PUT below /proc/self/root
# stdout-has: SAFE multipart below the host-dir link stayed inside
# stdout-has: SAFE host canary intact
import os

import hostlib
from hostlib import CANARY_DIR, check, check_status, multipart, q

c = hostlib.client()
with hostlib.sandbox(c) as sb:
    hostlib.sh(c, sb, "ln -s '%s' /home/cove/hostdir && ln -s / /home/cove/rootlink && "
                      "ln -s /proc/self/root /home/cove/magic && ln -s /proc/1/cwd "
                      "/home/cove/initcwd" % CANARY_DIR)
    r = c.file_put(sb["id"], "hostdir/planted", b"x")
    inside = hostlib.sh(c, sb, "cat '%s/planted' 2>&1" % CANARY_DIR)["stdout"]
    check(not os.path.exists(os.path.join(CANARY_DIR, "planted")) and
          (r.status != 200 or inside == "x"),
          "PUT below the host-dir link stayed inside (%d)" % r.status, (r, inside))
    r = c.file_put(sb["id"], "rootlink/etc/planted", b"x")
    check_status(r, 403, "PUT below the / link into /etc refused as the sandbox user")
    for link in ("magic", "initcwd"):
        r = c.file_put(sb["id"], link + "/tmp/planted", b"x")
        # 400 (a magic link) or 404 (coved's "self" has no pid in the sandbox's /proc)
        check_status(r, {400, 404}, "PUT below /proc/%s refused" % (
            "self/root" if link == "magic" else "1/cwd"))
    body, ctype = multipart([("file", "m-planted", b"y", None)])
    r = c.request("POST", "/v1/sandboxes/%s/files/upload" % q(sb["id"]), raw=body,
                  content_type=ctype, query={"dir": "/home/cove/hostdir"})
    check(not os.path.exists(os.path.join(CANARY_DIR, "m-planted")),
          "multipart below the host-dir link stayed inside (%d)" % r.status, r)
    r = c.request("POST", "/v1/sandboxes/%s/files/upload" % q(sb["id"]), raw=body,
                  content_type=ctype, query={"dir": "/home/cove/magic/tmp"})
    check_status(r, {400, 404}, "multipart below /proc/self/root refused")
check(hostlib.canary_intact(), "host canary intact")
hostlib.done()

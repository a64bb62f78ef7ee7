# attack: make host-side delete and move follow planted symlinks: a link to the host canary
#         directory deleted recursively, deletes and moves *through* such links, moving a link
#         onto a file and a file onto a link, and paths through /proc/self/root
# why: delete removes the link itself (AT_SYMLINK_NOFOLLOW) and its recursive walk opens every
#      level with O_NOFOLLOW; move renames links, never their targets; both resolve inside the
#      sandbox root and refuse magic links; the host canary stays as it was
# timeout: 120
# expect: exit=0
# stdout-has: SAFE recursive delete of the host-dir link removed only the link
# stdout-has: SAFE delete through the link stayed inside
# stdout-has: SAFE move of the link moved only the link
# stdout-has: SAFE host canary intact
import os

import hostlib
from hostlib import CANARY_DIR, CANARY_FILE, check, check_status

c = hostlib.client()
with hostlib.sandbox(c) as sb:
    sid = sb["id"]
    hostlib.sh(c, sb, "mkdir -p /home/cove/keep && echo kept > /home/cove/keep/f && "
                      "ln -s '{d}' /home/cove/hostdir && ln -s /home/cove/keep /home/cove/keeplink"
                      " && ln -s '{d}' /home/cove/hostdir2 && ln -s '{f}' /home/cove/hostfile"
               .format(d=CANARY_DIR, f=CANARY_FILE))
    r = c.file_delete(sid, "hostdir", recursive=True)
    check(r.status == 200 and os.path.isdir(CANARY_DIR) and hostlib.canary_intact(),
          "recursive delete of the host-dir link removed only the link (%d)" % r.status, r)
    r = c.file_delete(sid, "keeplink", recursive=True)
    left = hostlib.sh(c, sb, "cat /home/cove/keep/f")["stdout"]
    check(r.status == 200 and left == "kept\n", "recursive delete of a link to a sandbox dir "
          "removed only the link", (r, left))
    r = c.file_delete(sid, "hostdir2/secret")
    check(r.status in (400, 404) and hostlib.canary_intact(),
          "delete through the link stayed inside (%d)" % r.status, r)
    r = c.file_delete(sid, "hostdir2/sub", recursive=True)
    check(r.status in (400, 404) and os.path.isdir(os.path.join(CANARY_DIR, "sub")),
          "recursive delete through the link stayed inside (%d)" % r.status, r)
    r = c.file_move(sid, **{"from": "hostfile", "to": "moved"})
    target = hostlib.sh(c, sb, "readlink /home/cove/moved")["stdout"].strip()
    check(r.status == 200 and target == CANARY_FILE and hostlib.canary_intact(),
          "move of the link moved only the link", (r, target))
    r = c.file_move(sid, **{"from": "/proc/self/root/home/cove/moved", "to": "x"})
    check_status(r, 400, "move from /proc/self/root refused")
    r = c.file_move(sid, **{"from": "keep/f", "to": "hostdir2/stolen"})
    check(not os.path.exists(os.path.join(CANARY_DIR, "stolen")),
          "move into the host-dir link stayed inside (%d)" % r.status, r)
    hostlib.sh(c, sb, "echo new > /home/cove/newf")
    r = c.file_move(sid, **{"from": "newf", "to": "hostdir2", "overwrite": True})
    check(hostlib.canary_intact(), "move with overwrite onto the link replaced only the link "
          "(%d)" % r.status, r)
    for p in ("/proc/1/root/home/cove/keep", "/dev/shm/../../proc/self/cwd"):
        check_status(c.file_delete(sid, p, recursive=True), 400, "delete %s refused" % p)
check(hostlib.canary_intact(), "host canary intact")
hostlib.done()

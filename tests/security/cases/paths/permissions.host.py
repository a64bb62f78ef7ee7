# attack: get the daemon to change permissions or contents of a file the sandbox user does
#         not own: hardlink a root-owned file (the image's /etc/passwd) into the home and
#         upload onto it with ?mode=0666, chmod through a symlink, mkdir with a mode over an
#         existing root-owned directory
# why: coved acts as the sandbox user for every file operation, so it can do exactly what that
#      user can: the kernel refuses the hardlink (protected_hardlinks) or the write, and
#      symlinks at the target are refused rather than followed
# timeout: 60
# expect: exit=0
# stdout-has: SAFE /etc/passwd unchanged
# stdout-has: SAFE PUT ?mode=0666 onto a symlink to /etc/passwd refused
import hostlib
from hostlib import check, check_status

c = hostlib.client()
with hostlib.sandbox(c) as sb:
    sid = sb["id"]
    before = hostlib.sh(c, sb, "stat -c '%a %u %s' /etc/passwd; md5sum /etc/passwd")["stdout"]
    hl = hostlib.sh(c, sb, "ln /etc/passwd /home/cove/pw 2>&1; echo rc=$?")["stdout"]
    print("hardlink attempt:", hl.strip().replace("\n", " "))
    if "rc=0" in hl:
        r = c.file_put(sid, "pw", b"root::0:0::/root:/bin/sh\n", mode="0666")
        check_status(r, 403, "PUT ?mode=0666 onto a hardlink of /etc/passwd refused")
    hostlib.sh(c, sb, "ln -s /etc/passwd /home/cove/pwlink")
    r = c.file_put(sid, "pwlink", b"root::0:0::/root:/bin/sh\n", mode="0666")
    check_status(r, 400, "PUT ?mode=0666 onto a symlink to /etc/passwd refused")
    r = c.file_mkdir(sid, path="/etc", mode="777", parents=True)
    after_etc = hostlib.sh(c, sb, "stat -c '%a %u' /etc")["stdout"]
    check("777" not in after_etc, "mkdir -p /etc with mode 777 changed nothing (%d, %s)"
          % (r.status, after_etc.strip()), r)
    r = c.file_put(sid, "/etc/passwd", b"root::0:0::/root:/bin/sh\n")
    check_status(r, 403, "PUT onto /etc/passwd refused as the sandbox user")
    after = hostlib.sh(c, sb, "stat -c '%a %u %s' /etc/passwd; md5sum /etc/passwd")["stdout"]
    check(after == before, "/etc/passwd unchanged", (before, after))
hostlib.done()

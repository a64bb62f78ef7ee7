# attack: booby-trap the sandbox's disk before it is deleted, so that the host-side cleanup
#         (run as host root) follows the traps: symlinks to the host canary directory and to
#         "/" named like the disk's internals, a 300-level deep tree, a directory of mode 000,
#         FIFOs and sockets
# why: the disk is scrubbed through file descriptors only (openat O_NOFOLLOW|O_DIRECTORY,
#      unlinkat), so links are removed and never followed; the host is untouched and the disk
#      is either clean for reuse or destroyed
# timeout: 120
# expect: exit=0
# stdout-has: SAFE host canary intact after the scrub
# stdout-has: SAFE the daemon still serves
import os
import time

import hostlib
from hostlib import CANARY_DIR, check

c = hostlib.client()
TRAP = r'''
set -e
cd /home/cove
for n in upper work mnt root disk victim; do ln -s "$CANARY_DIR" "$n"; ln -s / "$n-root"; done
ln -s "$CANARY_DIR/secret" secretlink
mkdir -p /tmp/t && cd /tmp/t && for n in upper work mnt; do ln -s "$CANARY_DIR" "$n"; done
python3 - <<'PY'
import os
p = "/home/cove/deep"
for i in range(300):
    p = os.path.join(p, "d")
os.makedirs(p)
os.symlink(os.environ["CANARY_DIR"], os.path.join(p, "link"))
os.mkfifo("/home/cove/fifo")
import socket
s = socket.socket(socket.AF_UNIX); s.bind("/home/cove/sock")
os.makedirs("/home/cove/locked/inner"); os.symlink("/", "/home/cove/locked/inner/up")
os.chmod("/home/cove/locked", 0)
PY
echo TRAPPED
'''
sb = hostlib.client().post("/v1/sandboxes", {"name": hostlib.unique("trap")}, timeout=120).body
res = c.post("/v1/sandboxes/%s/exec" % sb["id"],
             {"command": TRAP, "env": {"CANARY_DIR": CANARY_DIR}, "timeout": 60},
             timeout=120).body
print("trap:", res.get("stdout", "").strip(), res.get("stderr", "")[-300:])
check(c.destroy(sb["id"]).status == 200, "delete answered 200")
# The scrub runs in the background: wait until no disk still holds the trap.
disks = os.path.join(hostlib.DAEMON.state, "disks")
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    trapped = [d for d in os.listdir(disks) if os.path.lexists(
        os.path.join(disks, d, "upper", "root", "home", "cove", "secretlink"))]
    if not trapped:
        break
    time.sleep(0.2)
print("disks still trapped after the wait:", trapped)
check(hostlib.canary_intact(), "host canary intact after the scrub")
check(os.path.isdir("/var/tmp") and os.path.isdir("/etc") and os.path.exists("/etc/passwd"),
      "host / intact")
check(hostlib.healthy(), "the daemon still serves")
hostlib.done()

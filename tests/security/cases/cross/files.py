# attack: find files another sandbox wrote: walk the whole filesystem (/, /tmp, /var/tmp,
#         /dev/shm, /run/lock, home) for the neighbour's marker files
# why: each sandbox has its own root overlay on its own disk, and its own /dev/shm tmpfs;
#      nothing a neighbour writes appears in another sandbox
# peer: around
# timeout: 30
# expect: exit=0
# stdout-has: SAFE no foreign file
# peer-expect: exit=0
# peer-stdout-has: PEER WROTE 5
import os
import sys
import time

MARK = "cove-peer-marker-"
if sys.argv[1] == "peer":
    n = 0
    for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/home/cove"):
        with open(os.path.join(d, MARK + os.urandom(4).hex()), "w") as f:
            f.write("secret of the neighbour\n")
        n += 1
    print("PEER WROTE", n)
    open("/tmp/.cove-ready", "w").close()
    time.sleep(3)
    sys.exit(0)

found = []
for top in ("/",):
    for root, dirs, files in os.walk(top):
        if root in ("/proc", "/sys"):
            dirs[:] = []
            continue
        found += [os.path.join(root, f) for f in files if f.startswith(MARK)]
print("ESCAPE neighbour's files visible: %s" % found if found else "SAFE no foreign file")

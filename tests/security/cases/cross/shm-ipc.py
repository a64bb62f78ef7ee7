# attack: share memory or messages with a neighbour sandbox through SysV IPC (a well-known key
#         for shm, message queues and semaphores) and POSIX shared memory (/dev/shm)
# why: each sandbox has its own IPC namespace and its own /dev/shm tmpfs, so the neighbour's
#      objects do not exist here
# peer: around
# timeout: 30
# expect: exit=0
# stdout-has: SAFE shmget
# stdout-has: SAFE msgget
# stdout-has: SAFE semget
# stdout-has: SAFE /dev/shm
# peer-expect: exit=0
# peer-stdout-has: PEER CREATED
import ctypes
import errno
import os
import sys
import time

KEY = 0x0C0FFEE1
IPC_CREAT, IPC_EXCL = 0o1000, 0o2000
libc = ctypes.CDLL(None, use_errno=True)

if sys.argv[1] == "peer":
    ok = [libc.shmget(KEY, 4096, IPC_CREAT | 0o666) >= 0, libc.msgget(KEY, IPC_CREAT | 0o666) >= 0,
          libc.semget(KEY, 1, IPC_CREAT | 0o666) >= 0]
    with open("/dev/shm/cove-peer-shm", "w") as f:
        f.write("neighbour")
    print("PEER CREATED" if all(ok) else "PEER could not create its objects: %s" % ok)
    open("/tmp/.cove-ready", "w").close()
    time.sleep(3)
    sys.exit(0)

for name, fn, args in (("shmget", libc.shmget, (KEY, 0, 0)), ("msgget", libc.msgget, (KEY, 0)),
                       ("semget", libc.semget, (KEY, 0, 0))):
    r = fn(*args)
    e = ctypes.get_errno()
    print(("SAFE %s: %s" % (name, errno.errorcode.get(e))) if r < 0 and e == errno.ENOENT
          else "ESCAPE %s found the neighbour's object (%d)" % (name, r))
listing = os.listdir("/dev/shm")
print("ESCAPE /dev/shm shows %s" % listing if listing else "SAFE /dev/shm is empty")
for f in ("shm", "msg", "sem"):
    rows = open("/proc/sysvipc/%s" % f).read().splitlines()[1:]
    if rows:
        print("ESCAPE /proc/sysvipc/%s lists %d objects" % (f, len(rows)))

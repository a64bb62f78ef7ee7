# attack: use file locks on the device nodes every sandbox has (/dev/null, /dev/zero,
#         /dev/urandom) as a covert channel between sandboxes, or to block a neighbour (or a
#         host process) that locks /dev/null: the peer holds flock, POSIX and OFD locks
# why: locks taken in one sandbox must never be visible in another
# peer: around
# timeout: 30
# expect: exit=0
# stdout-has: SAFE /dev/null
# stdout-has: SAFE /dev/zero
# stdout-has: SAFE /dev/urandom
# peer-expect: exit=0
# peer-stdout-has: PEER LOCKED 3
import fcntl
import os
import struct
import sys
import time

FILES = ("/dev/null", "/dev/zero", "/dev/urandom")
F_OFD_GETLK, F_OFD_SETLK = 36, 37


def lock_struct(kind):
    # struct flock on x86_64: short type, short whence, off_t start, off_t len, pid_t pid
    return struct.pack("hhqqi4x", kind, 0, 0, 0, 0)


if sys.argv[1] == "peer":
    held = []
    for path in FILES:
        a, b = open(path, "rb"), open(path, "rb")
        fcntl.flock(a, fcntl.LOCK_EX)
        fcntl.fcntl(b, fcntl.F_SETLK, lock_struct(fcntl.F_RDLCK))
        c = open(path, "rb")
        fcntl.fcntl(c, F_OFD_SETLK, lock_struct(fcntl.F_RDLCK))
        held += [a, b, c]
    print("PEER LOCKED", len(FILES))
    open("/tmp/.cove-ready", "w").close()
    time.sleep(4)
    sys.exit(0)

for path in FILES:
    seen = []
    f = open(path, "rb")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(f, fcntl.LOCK_UN)
    except OSError:
        seen.append("flock")
    for cmd, name in ((fcntl.F_GETLK, "posix"), (F_OFD_GETLK, "ofd")):
        got = fcntl.fcntl(f, cmd, lock_struct(fcntl.F_WRLCK))
        if struct.unpack("hhqqi4x", got)[0] != fcntl.F_UNLCK:
            seen.append(name)
    print("ESCAPE %s: neighbour's %s locks visible" % (path, seen) if seen
          else "SAFE %s: no foreign lock" % path)

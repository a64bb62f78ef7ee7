# attack: sandboxed code points the paths a client downloads, lists or stats at host files:
#         symlinks to the host canary (absolute, climbing, via /proc/1/root and
#         /proc/self/root), to host directories, and "/proc/self/..." paths in the query
# why: downloads resolve inside the sandbox root only (RESOLVE_IN_ROOT), magic links and the
#      kernel trees /proc, /dev and /sys are refused, so no answer ever carries host data
# timeout: 120
# expect: exit=0
# stdout-has: SAFE no answer carried the host canary
# stdout-has: SAFE GET /proc/self/environ refused
import hostlib
from hostlib import CANARY_DIR, CANARY_FILE, CANARY_TOKEN, check, check_status

c = hostlib.client()
leaks = []
with hostlib.sandbox(c) as sb:
    links = {"abs": CANARY_FILE, "climb": "../../../../../../../.." + CANARY_FILE,
             "magic": "/proc/1/root" + CANARY_FILE, "self": "/proc/self/root" + CANARY_FILE,
             "dir": CANARY_DIR, "fdlink": "/proc/self/fd/0"}
    hostlib.sh(c, sb, " && ".join("ln -s '%s' /home/cove/%s" % (t, n) for n, t in links.items()))
    paths = list(links) + ["dir/secret", CANARY_FILE, "/proc/1/root" + CANARY_FILE,
                           "/proc/self/root" + CANARY_FILE, "../../../../.." + CANARY_FILE]
    for p in paths:
        for r in (c.file_get(sb["id"], p), c.file_stat(sb["id"], p), c.file_list(sb["id"], p)):
            if CANARY_TOKEN.encode() in r.raw or b"secret" in r.raw and b'"name"' in r.raw:
                leaks.append((p, r.method, r.status))
    check(not leaks, "no answer carried the host canary", leaks)
    for p in ("/proc/self/environ", "/proc/1/environ", "/dev/mem", "/sys/kernel", "//proc//1//maps",
              "/./proc/../proc/self/mem"):
        check_status(c.file_get(sb["id"], p), 400, "GET %s refused" % p)
hostlib.done()

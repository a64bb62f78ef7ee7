# attack: race the daemon (TOCTOU): a background process swaps a directory on the upload and
#         download path between a real directory and symlinks to the host canary directory and
#         to "/" thousands of times a second while the client uploads and downloads through it
# why: every request resolves its path once, in the kernel, inside the sandbox root
#      (openat2 RESOLVE_IN_ROOT), then works on file descriptors, so no interleaving of the
#      swaps can send a read or write to the host
# timeout: 120
# expect: exit=0
# stdout-has: SAFE no request reached the host
# stdout-has: SAFE host canary intact
import os
import threading

import hostlib
from hostlib import CANARY_DIR, CANARY_TOKEN, check, q

SWAPPER = r'''
import os, time
os.chdir("/home/cove")
os.makedirs("real", exist_ok=True)
open("real/secret", "w").write("sandbox data\n")
open("/tmp/.cove-ready", "w").close()
end = time.monotonic() + 12
targets = [os.environ["CANARY_DIR"], "/", "/proc/self/root" + os.environ["CANARY_DIR"]]
i = 0
while time.monotonic() < end:
    t = targets[i % 3]
    i += 1
    try:
        os.symlink(t, "tmp-link")
        os.rename("tmp-link", "race")      # race -> link
        os.rename("race", "tmp-dir")
        os.rename("real", "race")          # race -> real directory
        os.rename("race", "real")
    except OSError:
        for n in ("tmp-link", "tmp-dir"):
            try:
                os.unlink(n)
            except OSError:
                pass
print("SWAPS", i)
'''

c = hostlib.client()
leaks = []
with hostlib.sandbox(c) as sb:
    sid = sb["id"]
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", c.post(
        "/v1/sandboxes/%s/exec" % q(sid), {"cmd": ["python3", "-c", SWAPPER], "timeout": 60,
                                           "env": {"CANARY_DIR": CANARY_DIR}}, timeout=120)))
    t.start()
    while c.file_stat(sid, "/tmp/.cove-ready").status != 200 and t.is_alive():
        pass
    statuses = {}
    for i in range(300):
        for r in (c.file_put(sid, "race/planted", b"raced"), c.file_get(sid, "race/secret"),
                  c.file_list(sid, "race"), c.file_delete(sid, "race/sub", recursive=True)):
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if CANARY_TOKEN.encode() in r.raw:
                leaks.append((r.method, r.path, r.status))
        if not t.is_alive():
            break
    t.join(120)
    print("statuses:", statuses, "swapper:", box.get("r").body.get("stdout", "").strip()
          if box.get("r") is not None else None)
check(not leaks and not os.path.exists(os.path.join(CANARY_DIR, "planted")),
      "no request reached the host", leaks)
check(hostlib.canary_intact(), "host canary intact")
hostlib.done()

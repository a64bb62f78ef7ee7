# attack: escape through the exec working directory: "../" chains, /proc/1/root, /proc/self/cwd
#         detours, a NUL byte, absolute host paths
# why: cwd is normalised and entered inside the sandbox (its root and /proc are the
#      sandbox's own) as the sandbox user, so every variant lands inside the sandbox, is a
#      400, or is a 403 because the user may not enter it (/proc/1 belongs to the sandbox's
#      root)
# timeout: 60
# expect: exit=0
# stdout-has: SAFE cwd '../../../..'
# stdout-has: SAFE cwd '/proc/1/root'
# stdout-has: SAFE cwd with NUL refused
import hostlib
from hostlib import CANARY_DIR, check, check_status, q

c = hostlib.client()
with hostlib.sandbox(c) as sb:
    url = "/v1/sandboxes/%s/exec" % q(sb["id"])
    for cwd in ("../../../..", "/proc/1/root", "/proc/self/root/../..", "/proc/1/cwd",
                "/../../../../tmp"):
        r = c.post(url, {"command": "pwd; ls /home", "cwd": cwd}, timeout=60)
        out = r.body.get("stdout", "") if isinstance(r.body, dict) else ""
        check(r.status in (400, 403) or (r.status == 200 and "cove" in out),
              "cwd %r (%d: %s)" % (cwd, r.status, out.split("\n")[0]), r)
    r = c.post(url, {"command": "pwd", "cwd": "/tmp\u0000/etc"}, timeout=60)
    check_status(r, 400, "cwd with NUL refused")
    r = c.post(url, {"command": "cat secret", "cwd": CANARY_DIR}, timeout=60)
    check(r.status == 400 or (isinstance(r.body, dict) and "canary-" not in r.body.get(
        "stdout", "")), "cwd at the host canary's path is not the host directory", r)
hostlib.done()

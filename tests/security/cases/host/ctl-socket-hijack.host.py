# attack: a command uses the control socket it inherited from cove-init (fd 5) to accept the
#         daemon's connection for the *next* command in the same sandbox, steals that command's
#         stdio pipes and answers with a forged result ("FORGED", exit 0)
# why: only cove-init may hold the control socket; every result coved reports must be the
#      real command's output and exit status
# timeout: 120
# expect: exit=0
# stdout-has: SAFE every result was genuine
import threading
import time

import hostlib
from hostlib import check, q

HIJACKER = r'''
import os, select, socket, stat, struct, sys, time
MAGIC, SPAWNED, EXITED = 0x65766f63, 101, 102
def msg(t, pid=0, status=0):
    return struct.pack("<IIIiiiiIII256s", MAGIC, t, 0, pid, status, 0, 0, 0, 0, 0, b"")
try:
    if not stat.S_ISSOCK(os.fstat(5).st_mode):
        raise OSError("fd 5 is not a socket")
    lst = socket.socket(fileno=5)
except OSError as e:
    print("NO CONTROL SOCKET", e)
    open("/tmp/.cove-ready", "w").close()
    sys.exit(0)
open("/tmp/.cove-ready", "w").close()
hijacked, deadline = 0, time.monotonic() + 20
while time.monotonic() < deadline and hijacked < 3:
    r, _, _ = select.select([lst], [], [], 0.5)
    if not r:
        continue
    try:
        conn, _ = lst.accept()
    except OSError:
        continue  # cove-init was faster this time
    conn.setblocking(True)
    data, anc, _, _ = conn.recvmsg(2 << 20, socket.CMSG_SPACE(6 * 4))
    fds = []
    for level, kind, blob in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += list(struct.unpack("%di" % (len(blob) // 4), blob[:len(blob) // 4 * 4]))
    if len(fds) >= 3:
        os.write(fds[1], b"FORGED\n")
    conn.send(msg(SPAWNED, pid=4242))
    conn.send(msg(EXITED, pid=4242, status=0))
    for fd in fds:
        os.close(fd)
    conn.close()
    hijacked += 1
print("HIJACKED", hijacked)
'''

c = hostlib.client()
with hostlib.sandbox(c) as sb:
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", c.post(
        "/v1/sandboxes/%s/exec" % q(sb["id"]),
        {"cmd": ["python3", "-c", HIJACKER], "timeout": 60}, timeout=120)))
    t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and c.file_stat(sb["id"], "/tmp/.cove-ready").status != 200:
        time.sleep(0.05)
    forged = []
    for i in range(30):
        r = c.post("/v1/sandboxes/%s/exec" % q(sb["id"]), {"command": "echo real"}, timeout=60)
        body = r.body if isinstance(r.body, dict) else {}
        if r.status != 200 or body.get("stdout") != "real\n":
            forged.append((r.status, body.get("stdout", body)))
        if len(forged) >= 3:
            break
    t.join(120)
    hijacker = box.get("r")
    print("hijacker:", hijacker.body.get("stdout", "").strip() if hijacker is not None and
          isinstance(hijacker.body, dict) else hijacker)
    check(not forged, "every result was genuine", "results not from the real command: %s"
          % forged)
hostlib.done()

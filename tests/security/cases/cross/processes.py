# attack: see, signal or kill the processes of another sandbox: scan /proc for them, send
#         signals to every pid number, and kill(-1, SIGKILL) (everything this user may signal)
# why: each sandbox has its own PID namespace: the neighbour's processes have no pid here, and
#      the same in-sandbox uid maps to a different host uid range per sandbox
# peer: around
# timeout: 30
# expect: exit=0
# stdout-has: SAFE no foreign process visible
# peer-expect: exit=0
# peer-stdout-has: PEER ALIVE
import os
import signal
import sys
import time

if sys.argv[1] == "peer":
    open("/tmp/.cove-ready", "w").close()
    time.sleep(5)  # the main phase tries to kill us meanwhile
    print("PEER ALIVE")
    sys.exit(0)

foreign = []
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            cmd = open("/proc/%s/cmdline" % d, "rb").read()
        except OSError:
            continue
        if b" peer" in cmd.replace(b"\0", b" ") or b"processes.py\0peer" in cmd:
            foreign.append(d)
print("ESCAPE peer visible as pids %s" % foreign if foreign else "SAFE no foreign process visible")
me, parent = os.getpid(), os.getppid()
hits = 0
for pid in range(2, 32768):
    if pid in (me, parent):
        continue
    try:
        os.kill(pid, signal.SIGKILL)
        hits += 1
    except OSError:
        pass
print("killed %d pids of our own namespace" % hits)
sys.stdout.flush()
try:
    os.kill(-1, signal.SIGKILL)  # everything we may signal, except ourselves
except OSError:
    pass
print("kill(-1, SIGKILL) done")

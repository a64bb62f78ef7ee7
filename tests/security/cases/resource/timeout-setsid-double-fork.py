# attack: escape the timeout with setsid() and a double fork: the grandchild leaves the
#         command's session and process group and is reparented to init
# why: a command's processes stay in its own cgroup whatever session they join; the timeout
#      kills the cgroup, so the grandchild dies with the rest
# timeout: 2
# expect: timed_out=true signal=SIGKILL duration<=5
# after: quiet
import os
import signal
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        fd = os.open("/dev/null", os.O_RDWR)
        for i in (0, 1, 2):
            os.dup2(fd, i)
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
while True:
    time.sleep(1)

# attack: daemonize (setsid, double fork, stdio to /dev/null) and exit 0 at once, leaving a
#         background process to run forever after the exec "finished"
# why: when the command exits, coved kills whatever it left in its cgroup, so no exec leaks
#      a process (and the exec returns promptly: the leftover holds no output pipe)
# timeout: 20
# expect: exit=0 timed_out=false duration<=5
# after: quiet
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        fd = os.open("/dev/null", os.O_RDWR)
        for i in (0, 1, 2):
            os.dup2(fd, i)
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
print("parent done")

# attack: stop or kill the sandbox's PID 1 (cove-init), to break the daemon's control of the
#         sandbox (no more exits reported, no kill on timeout)
# why: user code runs as an unprivileged uid; init runs as uid 0 of the sandbox and cannot be
#      signalled by it
# timeout: 20
# expect: exit=0
# stdout-has: SAFE kill(1, SIGSTOP)
# stdout-has: SAFE kill(1, SIGKILL)
# stdout-has: SAFE init still answers
import errno
import os
import signal

for name, sig in (("SIGSTOP", signal.SIGSTOP), ("SIGKILL", signal.SIGKILL),
                  ("SIGTERM", signal.SIGTERM)):
    try:
        os.kill(1, sig)
        print("ESCAPE kill(1, %s) succeeded" % name)
    except OSError as e:
        print(("SAFE" if e.errno == errno.EPERM else "ESCAPE") + " kill(1, %s): %s"
              % (name, errno.errorcode[e.errno]))
state = open("/proc/1/stat").read().rsplit(")", 1)[1].split()[0]
print(("ESCAPE init is in state %s" if state in "Tt" else "SAFE init still answers (state %s)")
      % state)

# attack: look for descriptors the command inherited from cove-init or coved beyond stdin,
#         stdout and stderr: a leaked control socket lets user code accept the daemon's
#         requests for later commands (their stdio pipes, stdin data, forged exit results)
# why: every descriptor cove-init holds must be close-on-exec, so a command starts with
#      exactly fds 0, 1 and 2
# expect: exit=0
# stdout-has: SAFE only fds 0 1 2
import os
import stat

fds = sorted(int(n) for n in os.listdir("/proc/self/fd"))
extra = []
for fd in fds:
    if fd <= 2:
        continue
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
        if target.startswith("/proc/") and target.endswith("/fd"):
            continue  # the directory listing itself
        kind = "socket" if stat.S_ISSOCK(os.fstat(fd).st_mode) else "file"
        extra.append("%d -> %s (%s)" % (fd, target, kind))
    except OSError:
        continue
if extra:
    print("ESCAPE inherited descriptors: %s" % "; ".join(extra))
else:
    print("SAFE only fds 0 1 2")

# attack: write kernel tunables and triggers through /proc: core_pattern (a classic escape:
#         the kernel runs the pipe handler as host root), modprobe, hostname, drop_caches,
#         sysrq-trigger, binfmt_misc, and init's oom_score_adj
# why: /proc/sys is mounted read-only, sensitive files are masked, and the user is an
#      unprivileged uid with no capabilities: every write fails and nothing changes
# expect: exit=0
# stdout-has: SAFE /proc/sys/kernel/core_pattern
# stdout-has: SAFE /proc/sys/kernel/modprobe
# stdout-has: SAFE /proc/sys/vm/drop_caches
# stdout-has: SAFE /proc/sysrq-trigger
import errno
import os

targets = {
    "/proc/sys/kernel/core_pattern": "|/tmp/pwn %p",
    "/proc/sys/kernel/modprobe": "/tmp/pwn",
    "/proc/sys/kernel/hostname": "pwned",
    "/proc/sys/vm/drop_caches": "3",
    "/proc/sys/kernel/panic": "1",
    "/proc/sys/fs/binfmt_misc/register": ":pwn:M::XX::/tmp/pwn:",
    "/proc/sysrq-trigger": "h",
    "/proc/1/oom_score_adj": "1000",
    "/proc/self/uid_map": "0 0 1",
}
for path, value in targets.items():
    before = None
    try:
        with open(path) as f:
            before = f.read()
    except OSError:
        pass
    try:
        with open(path, "w") as f:
            f.write(value)
        # Writing /dev/null (a masked file) "works" and changes nothing: check by rereading.
        with open(path) as f:
            after = f.read()
        if os.path.exists(path) and after == before:
            print("SAFE %s: write swallowed, content unchanged" % path)
        else:
            print("ESCAPE %s: written" % path)
    except OSError as e:
        print("SAFE %s: %s" % (path, errno.errorcode.get(e.errno, e.errno)))

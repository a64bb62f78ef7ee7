# attack: read kernel memory and secrets through /proc and /sys: /proc/kcore, kallsyms
#         addresses, /proc/keys, timer_list, sched_debug, kmsg, kpageflags, physical frame
#         numbers in pagemap, init's environment and memory, /sys/firmware, /sys/kernel
# why: these are masked (bound to /dev/null or absent), root-only on the host, or never mounted
#      (the sandbox has no sysfs); nothing with kernel addresses or another process's secrets
#      comes back
# expect: exit=0
# stdout-has: SAFE /proc/kcore
# stdout-has: SAFE /proc/kallsyms
# stdout-has: SAFE /proc/1/environ
# stdout-has: SAFE /sys/firmware
import errno
import os
import struct


def read(path, n=4096):
    try:
        with open(path, "rb") as f:
            return f.read(n), None
    except OSError as e:
        return None, errno.errorcode.get(e.errno, str(e.errno))


for path in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/kmsg",
             "/proc/kpageflags", "/proc/kpagecount", "/proc/kpagecgroup", "/proc/1/environ",
             "/proc/1/mem", "/proc/1/maps", "/sys/firmware", "/sys/kernel", "/sys/fs/cgroup",
             "/proc/sys/kernel/random/boot_id_host", "/sys/kernel/debug"):
    data, err = read(path)
    if data:
        print("ESCAPE %s: read %d bytes" % (path, len(data)))
    else:
        print("SAFE %s: %s" % (path, err or "empty"))

data, err = read("/proc/kallsyms", 1 << 20)
addrs = [ln.split()[0] for ln in (data or b"").splitlines()[:2000] if ln.split()]
if any(int(a, 16) for a in addrs):
    print("ESCAPE /proc/kallsyms shows kernel addresses")
else:
    print("SAFE /proc/kallsyms: %s" % (err or "no addresses (%d lines)" % len(addrs)))

# pagemap: physical frame numbers must read as zero for an unprivileged process.
buf = bytearray(4096)
buf[0] = 1
addr = id(buf) & ~0xfff
try:
    with open("/proc/self/pagemap", "rb") as f:
        f.seek((addr // 4096) * 8)
        entry = struct.unpack("<Q", f.read(8))[0]
    pfn = entry & ((1 << 55) - 1)
    print(("ESCAPE pagemap shows pfn %#x" % pfn) if pfn else "SAFE /proc/self/pagemap: no pfns")
except OSError as e:
    print("SAFE /proc/self/pagemap: %s" % errno.errorcode.get(e.errno))

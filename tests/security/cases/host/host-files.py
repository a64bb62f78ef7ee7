# attack: read and write a host file (the canary, whose host path we are told) by its absolute
#         path, by climbing out with "..", and through /proc magic links (/proc/1/root,
#         /proc/self/root, /proc/1/cwd, /proc/<pid>/root of every visible process)
# why: the sandbox's root is an overlay of its own, entered by pivot_root with the old root
#      detached, so no path names a host file; init's /proc entries are closed to the user
# expect: exit=0
# stdout-has: SAFE host canary not readable
# stdout-has: SAFE host canary directory not writable
import os

canary, canary_dir = os.environ["CANARY_FILE"], os.environ["CANARY_DIR"]
token_hint = "canary-"
paths = [canary, "../../../../../../.." + canary, "/proc/1/root" + canary,
         "/proc/self/root" + canary, "/proc/1/cwd/../../../.." + canary,
         "/proc/thread-self/root" + canary]
paths += ["/proc/%s/root%s" % (p, canary) for p in os.listdir("/proc") if p.isdigit()]
leaked = []
for p in paths:
    try:
        with open(p) as f:
            data = f.read(200)
        if data.startswith(token_hint):
            leaked.append(p)
    except OSError:
        pass
if leaked:
    print("ESCAPE read the host canary through %s" % leaked)
else:
    print("SAFE host canary not readable through %d paths" % len(paths))

wrote = []
for d in (canary_dir, "/proc/1/root" + canary_dir, "/proc/self/root" + canary_dir):
    try:
        with open(os.path.join(d, "sandbox-was-here"), "w") as f:
            f.write("x")
        wrote.append(d)
    except OSError:
        pass
# The host directory does not exist in here, so any successful write reached it (the runner
# also checks the canary after every case).
print("ESCAPE wrote next to the host canary via %s" % wrote if wrote else
      "SAFE host canary directory not writable")
for p in ("/etc/shadow", "/root/.bash_history", "/var/lib/cove", "/run/cove"):
    if os.path.exists(p):
        print("ESCAPE host path %s is visible" % p)

# attack: learn the host's layout from inside: /proc/self/mountinfo and /proc/mounts list the
#         mount options of the sandbox's overlays, which name host directories (the daemon's
#         state directory, image and disk paths)
# why: nothing in a sandbox should reveal host paths: they help an attacker aim at the host
#      (the state directory holds every tenant's disks and the key database)
# expect: exit=0
# stdout-has: SAFE no host path in mountinfo
import os

state = os.environ["COVE_STATE_DIR"]
leaks = []
for f in ("/proc/self/mountinfo", "/proc/mounts", "/proc/1/mountinfo"):
    try:
        text = open(f).read()
    except OSError:
        continue
    if state in text or os.path.dirname(state) in text:
        leaks.append(f)
print("ESCAPE host state path %s shown in %s" % (state, leaks) if leaks
      else "SAFE no host path in mountinfo")

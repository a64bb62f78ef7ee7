# attack: a fork bomb (C, dynamically linked, pids limit 4096, which any tenant may ask for) next
#         to a neighbour sandbox whose Python keeps starting processes
# why: another sandbox (and the host) must keep starting processes promptly while one sandbox
#      fork-bombs: here no subprocess start in the neighbour may take longer than 0.5 s
# sandbox: {"pids": 4096}
# peer: inside
# timeout: 8
# expect: timed_out=true signal=SIGKILL
# peer-expect: exit=0
# peer-stdout-has: NEIGHBOUR OK
import os
import subprocess
import sys
import time

BOMB = r"""
#include <unistd.h>
int main(void)
{
    for (;;)
        fork();
}
"""

if sys.argv[1] == "peer":
    start, worst, n = time.monotonic(), 0.0, 0
    while time.monotonic() - start < 5.0:
        t0 = time.monotonic()
        subprocess.run(["/bin/true"])
        worst = max(worst, time.monotonic() - t0)
        n += 1
        sys.stderr.write("%d %.3f\n" % (n, time.monotonic() - t0))
        time.sleep(0.02)
    if worst > 0.5:
        print("ESCAPE neighbour stalled: slowest process start %.3f s of %d" % (worst, n))
    else:
        print("NEIGHBOUR OK slowest process start %.3f s of %d" % (worst, n))
    sys.exit(0)

with open("/tmp/bomb.c", "w") as f:
    f.write(BOMB)
subprocess.run(["gcc", "-O1", "-o", "/tmp/bomb", "/tmp/bomb.c"], check=True)
open("/tmp/.cove-ready", "w").close()
os.execv("/tmp/bomb", ["bomb"])

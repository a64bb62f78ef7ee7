# attack: allocate and touch 512 MiB in a sandbox limited to 64 MiB of memory
# why: the memory cgroup confines the allocation to the sandbox; the kernel's OOM killer ends it
#      and the exec result must say so (oom_killed), not just report a generic exit code
# sandbox: {"memory_mib": 64}
# timeout: 30
# expect: oom_killed=true signal=SIGKILL exit=137 timed_out=false
# stdout-lacks: ALLOCATED
import sys

chunks = []
for _ in range(512):
    chunks.append(bytearray(1 << 20))  # bytearray() touches every page
print("ALLOCATED", len(chunks), "MiB")

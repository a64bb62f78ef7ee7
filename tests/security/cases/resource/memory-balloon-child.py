# attack: a child process balloons past the memory limit while its parent survives and exits 0
# why: the OOM killer strikes inside the sandbox; the result must still report oom_killed
#      although the command itself exited normally (a killed helper is not a clean run)
# sandbox: {"memory_mib": 64}
# timeout: 30
# expect: exit=0 oom_killed=true timed_out=false
# stdout-has: child signal 9
import subprocess
import sys

code = "x = [bytearray(1 << 20) for _ in range(512)]\nprint('ALLOCATED')\n"
p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
print("child signal", -p.returncode if p.returncode < 0 else "none (exit %d)" % p.returncode)
if "ALLOCATED" in p.stdout:
    print("ESCAPE the child allocated 512 MiB under a 64 MiB limit")

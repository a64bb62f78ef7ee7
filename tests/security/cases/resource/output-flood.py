# attack: print forever, as fast as possible
# why: coved keeps at most the output cap (1 MiB per stream by default), reads and drops the
#      rest so the writer never blocks the daemon, flags the truncation, and the timeout ends it
# timeout: 3
# expect: timed_out=true stdout_truncated=true stdout_len<=1048576 duration<=6
import sys

line = "x" * 1023 + "\n"
while True:
    sys.stdout.write(line)

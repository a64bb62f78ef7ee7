# attack: write 20 MiB and exit at once, under a 4 KiB output cap asked for by the client
# why: the per-request cap (max_output_bytes) is honoured exactly, the command is not blocked
#      by a full pipe, and its normal exit is reported
# exec: {"max_output_bytes": 4096}
# timeout: 30
# expect: exit=0 timed_out=false stdout_truncated=true stdout_len<=4096 duration<=10
import os

block = b"y" * (1 << 20)
for _ in range(20):
    os.write(1, block)

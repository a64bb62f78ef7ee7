# attack: flood stdout with bytes that are not UTF-8 (each becomes a 3-byte U+FFFD in JSON)
# why: the cap counts bytes read from the pipe; replacement can at most triple that, so the
#      answer stays bounded (<= 3 MiB for the default 1 MiB cap) and is flagged
# timeout: 3
# expect: timed_out=true stdout_truncated=true stdout_len<=3145728
import os

block = b"\xff\xfe" * (1 << 15)
while True:
    os.write(1, block)

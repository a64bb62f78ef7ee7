# attack: exhaust the inodes of the sandbox disk with empty files (no bytes, only metadata)
# why: inodes belong to the sandbox's own filesystem, so the flood ends in ENOSPC inside it
# sandbox: {"disk_mib": 64}
# timeout: 60
# expect: exit=0
# stdout-has: SAFE inode flood stopped
import errno
import os

os.makedirs("/home/cove/flood", exist_ok=True)
n = 0
try:
    while n < 2000000:
        os.close(os.open("/home/cove/flood/%d" % n, os.O_CREAT | os.O_WRONLY, 0o644))
        n += 1
    print("ESCAPE created %d files without running out of inodes" % n)
except OSError as e:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        print("SAFE inode flood stopped after %d files: %s" % (n, errno.errorcode[e.errno]))
    else:
        print("ESCAPE unexpected error after %d files: %s" % (n, e))

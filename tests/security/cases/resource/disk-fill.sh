# attack: fill the sandbox disk with 200 MiB in a sandbox given 64 MiB, then hold it full
# why: each sandbox's writable layer lives on its own size-capped disk: writes past it fail with
#      ENOSPC inside the sandbox, and a neighbour can still write while this disk is full
# sandbox: {"disk_mib": 64}
# peer: inside
# timeout: 60
# expect: exit=0
# stdout-has: SAFE disk full
# stdout-has: SAFE /tmp full too
# peer-expect: exit=0
# peer-stdout-has: NEIGHBOUR WROTE 104857600
if [ "$1" = peer ]; then
    dd if=/dev/zero of=/home/cove/big bs=1M count=100 conv=fsync 2>/dev/null
    echo "NEIGHBOUR WROTE $(stat -c %s /home/cove/big)"
    exit 0
fi
touch /tmp/.cove-not-ready # renamed once the disk is full: a rename needs no free space
err=$(dd if=/dev/zero of=/home/cove/fill bs=1M count=200 2>&1)
size=$(stat -c %s /home/cove/fill)
case "$err" in
*"No space left"*) echo "SAFE disk full at $size bytes (ENOSPC)" ;;
*) echo "ESCAPE wrote $size bytes without ENOSPC: $err" ;;
esac
[ "$size" -le $((64 << 20)) ] || echo "ESCAPE wrote $size bytes to a 64 MiB disk"
# /tmp lives on the same disk: the last free blocks go, then ENOSPC there too
err=$(dd if=/dev/zero of=/tmp/more bs=4k count=100000 2>&1)
case "$err" in
*"No space left"*) echo "SAFE /tmp full too after $(stat -c %s /tmp/more) more bytes" ;;
*) echo "ESCAPE /tmp took 400 MB more on a full disk" ;;
esac
mv /tmp/.cove-not-ready /tmp/.cove-ready
sleep 4

# attack: fill /dev/shm (a tmpfs, so host memory) with 200 MiB
# why: the sandbox's /dev/shm is its own tmpfs with a 64 MiB size, so it fills up inside the
#      sandbox (ENOSPC) instead of eating host memory
# timeout: 60
# expect: exit=0
# stdout-has: SAFE /dev/shm full
err=$(dd if=/dev/zero of=/dev/shm/fill bs=1M count=200 2>&1)
size=$(stat -c %s /dev/shm/fill)
case "$err" in
*"No space left"*) echo "SAFE /dev/shm full at $size bytes (ENOSPC)" ;;
*) echo "ESCAPE wrote $size bytes to /dev/shm without ENOSPC" ;;
esac
[ "$size" -le $((64 << 20)) ] || echo "ESCAPE /dev/shm took $size bytes (cap 64 MiB)"
rm -f /dev/shm/fill

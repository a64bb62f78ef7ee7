# attack: leave things behind for the next tenant: files in /tmp, /var/tmp, /dev/shm,
#         /run/lock and the home directory, a SysV shared memory segment, and a setsid'd
#         background process; then the sandbox is deleted and a new one gets its name
# why: a new sandbox gets a freshly scrubbed disk, its own tmpfs, IPC and PID namespaces; the
#      old sandbox's processes died with its PID namespace
# peer: fresh
# timeout: 30
# expect: exit=0
# stdout-has: SAFE no residue
# peer-expect: exit=0
# peer-stdout-has: PEER LEFT RESIDUE
if [ "$1" = peer ]; then
    for d in /tmp /var/tmp /dev/shm /run/lock /home/cove; do
        echo "old tenant's data" > "$d/cove-residue"
    done
    python3 -c 'import ctypes; ctypes.CDLL(None).shmget(0x0C0FFEE2, 4096, 0o1666)'
    setsid sh -c 'exec -a cove-residue-sleeper sleep 3600' </dev/null >/dev/null 2>&1 &
    echo "PEER LEFT RESIDUE"
    exit 0
fi
found=""
for d in /tmp /var/tmp /dev/shm /run/lock /home/cove; do
    [ -e "$d/cove-residue" ] && found="$found $d/cove-residue"
done
grep -q -i 'c0ffee2' /proc/sysvipc/shm && found="$found sysv-shm"
for p in /proc/[0-9]*; do
    grep -q cove-residue-sleeper "$p/cmdline" 2>/dev/null && found="$found process:${p#/proc/}"
done
if [ -n "$found" ]; then echo "ESCAPE residue:$found"; else echo "SAFE no residue"; fi

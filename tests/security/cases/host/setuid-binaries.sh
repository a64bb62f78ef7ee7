# attack: gain root through the host's setuid-root programs that the sandbox sees in /usr
#         (mount, su, passwd, ...), and check what host uid "root inside" really is
# why: /usr is mounted nosuid, no_new_privs is set, and uid 0 inside maps to an unprivileged
#      host uid range (never host uid 0), so no program runs with more privilege than the user
# expect: exit=0
# stdout-has: SAFE mount as user
# stdout-has: SAFE uid 0 inside is host uid
# stdout-has: SAFE no_new_privs
n=0
for f in $(find /usr/bin /usr/sbin /usr/lib -perm -4000 -type f 2>/dev/null); do
    n=$((n + 1))
done
echo "setuid files seen: $n"
mkdir -p /tmp/m
if mount -t tmpfs none /tmp/m 2>/dev/null; then
    echo "ESCAPE mount as user worked"
else
    echo "SAFE mount as user refused"
fi
if command -v su >/dev/null && echo | su -c 'id -u' root 2>/dev/null | grep -qx 0; then
    echo "ESCAPE su gave uid 0"
fi
read -r inside outside count < /proc/self/uid_map
if [ "$inside" = 0 ] && [ "$outside" -ge 65536 ]; then
    echo "SAFE uid 0 inside is host uid $outside ($count ids)"
else
    echo "ESCAPE uid map: $inside $outside $count"
fi
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/self/status && echo "SAFE no_new_privs" || echo "ESCAPE no_new_privs unset"
[ "$(id -u)" = 1000 ] || echo "ESCAPE running as uid $(id -u)"

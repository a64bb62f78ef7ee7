# attack: reach host services from the sandbox: coved's own TCP API on the host's loopback,
#         other loopback ports, the host's addresses, and the default gateway
# why: the sandbox has its own network namespace with only `lo`; its 127.0.0.1 is not the
#      host's, and there is no route anywhere else
# timeout: 60
# expect: exit=0
# stdout-has: SAFE coved port
# stdout-has: SAFE only lo
# stdout-has: SAFE loopback scan
import errno
import os
import socket

port = int(os.environ["COVED_PORT"])
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("127.0.0.1", port))
    print("ESCAPE connected to coved's port %d" % port)
except OSError as e:
    print("SAFE coved port %d: %s" % (port, errno.errorcode.get(e.errno, e)))
s.close()

ifaces = [ln.split(":")[0].strip() for ln in open("/proc/net/dev").read().splitlines()[2:]]
print("SAFE only lo" if ifaces == ["lo"] else "ESCAPE interfaces %s" % ifaces)

open_ports = []
for p in list(range(1, 1025)) + [2375, 2376, 3000, 5432, 6379, 8080, 10250]:
    s = socket.socket()
    s.settimeout(0.2)
    if s.connect_ex(("127.0.0.1", p)) == 0:
        open_ports.append(p)
    s.close()
print("ESCAPE open loopback ports %s" % open_ports if open_ports else "SAFE loopback scan")

for host in ("10.0.2.2", "169.254.169.254", "172.17.0.1", "192.168.0.1", "1.1.1.1"):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, 80))
        print("ESCAPE connected to %s:80" % host)
    except OSError as e:
        print("SAFE %s: %s" % (host, errno.errorcode.get(e.errno, e)))
    s.close()

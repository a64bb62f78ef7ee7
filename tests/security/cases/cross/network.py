# attack: reach a neighbour sandbox's listening sockets: TCP and UDP on 127.0.0.1 and ::1, an
#         abstract unix socket, and a unix socket file in /tmp
# why: each sandbox has its own network namespace (its own loopback and abstract socket
#      namespace) and its own /tmp; the neighbour's listeners do not exist here
# peer: around
# timeout: 30
# expect: exit=0
# stdout-has: SAFE tcp 127.0.0.1
# stdout-has: SAFE abstract unix
# peer-expect: exit=0
# peer-stdout-has: NOBODY CAME
import errno
import os
import select
import socket
import sys
import time

PORT = 47123
ABSTRACT = b"\0cove-peer-listener"
if sys.argv[1] == "peer":
    socks = []
    for fam, addr in ((socket.AF_INET, ("127.0.0.1", PORT)), (socket.AF_INET6, ("::1", PORT))):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.bind(addr)
        s.listen(8)
        socks.append(s)
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind(addr)
        socks.append(u)
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    a.bind(ABSTRACT)
    a.listen(8)
    f = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    f.bind("/tmp/cove-peer.sock")
    f.listen(8)
    socks += [a, f]
    open("/tmp/.cove-ready", "w").close()
    r, _, _ = select.select(socks, [], [], 4)
    print("ESCAPE somebody reached us on %s" % [s.getsockname() for s in r] if r
          else "NOBODY CAME")
    sys.exit(0)

def tcp(fam, addr, what):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(addr)
        print("ESCAPE %s: connected" % what)
    except OSError as e:
        print("SAFE %s: %s" % (what, errno.errorcode.get(e.errno, e)))
    s.close()

tcp(socket.AF_INET, ("127.0.0.1", PORT), "tcp 127.0.0.1")
tcp(socket.AF_INET6, ("::1", PORT), "tcp ::1")
tcp(socket.AF_UNIX, ABSTRACT, "abstract unix")
tcp(socket.AF_UNIX, "/tmp/cove-peer.sock", "unix socket file")
for fam, addr in ((socket.AF_INET, ("127.0.0.1", PORT)), (socket.AF_INET6, ("::1", PORT))):
    u = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        u.sendto(b"hello neighbour", addr)
    except OSError:
        pass
    u.close()
print("SAFE udp sent into our own namespace only")

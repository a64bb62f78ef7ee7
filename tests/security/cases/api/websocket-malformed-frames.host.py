# attack: send malformed WebSocket frames on a live terminal connection (the Daytona PTY route):
#         unmasked frames, reserved bits, an unknown opcode, a 2^63-byte length, a frame just
#         over the 1 MiB cap, an oversized or fragmented control frame, a non-minimal length,
#         a truncated header, and a flood of pings
# why: the framing layer (src/http/websocket.c) checks every header before reading a payload;
#      a bad frame ends that connection (close frame or TCP close) without reading or
#      allocating what the header claims, the daemon keeps serving, and the terminal itself
#      survives its client (a new connection still drives the same shell)
# timeout: 120
# expect: exit=0
# stdout-has: SAFE unmasked frame
# stdout-has: SAFE length 2^63
# stdout-has: SAFE just over the 1 MiB cap
# stdout-has: SAFE 10000 pings answered or cut off
# stdout-has: SAFE the shell still answers
# stdout-has: SAFE daemon healthy
import base64
import os
import select
import socket
import struct
import time

import hostlib
from hostlib import check

MASK = b"\x11\x22\x33\x44"


def frame(op, payload=b"", fin=True, masked=True, rsv=0, length=None):
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv | op
    m = 0x80 if masked else 0
    if n < 126:
        hdr = bytes([b0, m | n])
    elif n <= 0xffff:
        hdr = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if masked:
        hdr += MASK
        payload = bytes(c ^ MASK[i % 4] for i, c in enumerate(payload))
    return hdr + payload


def connect(sid):
    s = socket.create_connection(("127.0.0.1", hostlib.PORT), timeout=10)
    s.sendall(("GET /toolbox/%s/process/pty/p1/connect HTTP/1.1\r\nHost: x\r\nAuthorization: "
               "Bearer %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (sid, hostlib.DAEMON.key,
                                                       base64.b64encode(os.urandom(16)).decode()))
              .encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return s, head


def closed_within(s, secs):
    """True when the server closes the connection (or sends a close frame) within secs."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], deadline - time.monotonic())
        if not r:
            continue
        try:
            data = s.recv(65536)
        except (ConnectionResetError, OSError):
            return True
        if not data or b"\x88" in data[:1] or b"\x88" in data:
            return True
    return False


c = hostlib.client()
with hostlib.sandbox(c) as sb:
    sid = sb["id"]
    r = c.post("/toolbox/%s/process/pty" % sid, {"id": "p1"})
    check(r.status in (200, 201), "a PTY to attack (%d)" % r.status, r)
    attacks = {
        "unmasked frame": frame(1, b"echo hi\n", masked=False),
        "reserved bits": frame(1, b"x", rsv=0x40),
        "unknown opcode 3": frame(3, b"x"),
        "length 2^63": bytes([0x82, 0xff]) + b"\x80" + b"\x00" * 7 + MASK,
        "just over the 1 MiB cap": frame(2, length=(1 << 20) + 1)[:14],
        "control frame of 126 bytes": frame(9, b"p" * 126),
        "fragmented ping": frame(9, b"p", fin=False),
        "non-minimal length": bytes([0x81, 0xfe, 0x00, 0x05]) + MASK + b"hello",
    }
    for name, data in attacks.items():
        s, head = connect(sid)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            check(False, "%s: no upgrade to attack" % name, head[:200])
            s.close()
            continue
        try:
            s.sendall(data)
        except OSError:
            pass
        check(closed_within(s, 10), "%s: connection closed" % name)
        s.close()
    s, head = connect(sid)
    s.sendall(b"".join(frame(9, b"x") for _ in range(10000)))
    got, deadline = 0, time.monotonic() + 20
    while time.monotonic() < deadline and got < 10000 * 3:
        r_, _, _ = select.select([s], [], [], 1)
        if r_:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got += chunk.count(b"\x8a\x01x")
    s.close()
    check(hostlib.healthy(), "10000 pings answered or cut off, daemon healthy (%d pongs)" % got)
    s, head = connect(sid)
    s.sendall(frame(1, b"echo cove-still-$((40+2))\n"))
    out, deadline = b"", time.monotonic() + 15
    while time.monotonic() < deadline and b"cove-still-42" not in out:
        r_, _, _ = select.select([s], [], [], 1)
        if r_:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    s.close()
    check(b"cove-still-42" in out, "the shell still answers after the attacks", out[-300:])
check(hostlib.healthy(), "daemon healthy")
hostlib.done()

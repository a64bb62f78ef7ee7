"""A WebSocket echo server for the preview proxy tests (stdlib only; runs inside a sandbox).

usage: python3 ws_echo.py PORT

Accepts RFC 6455 handshakes on any path, greets every client with the text frame
"hello <path>" (so that a frame travels server -> client unprompted; a preview token
header that reached it is named in the greeting), then echoes every
text and binary message back unmasked, answers pings, and returns a close frame for a close.
Fragmented messages are not supported (the tests do not send them).
"""
import base64
import hashlib
import socket
import struct
import sys
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_exact(s, n):
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return bytes(out)


def frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def serve(s):
    try:
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = s.recv(4096)
            if not chunk:
                return
            req += chunk
        lines = req.split(b"\r\n")
        path = lines[0].split(b" ")[1]
        headers = {}
        for line in lines[1:]:
            if b":" in line:
                k, v = line.split(b":", 1)
                headers[k.strip().lower()] = v.strip()
        key = headers.get(b"sec-websocket-key")
        if not key or headers.get(b"upgrade", b"").lower() != b"websocket":
            s.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        greeting = b"hello " + path
        if b"x-daytona-preview-token" in headers:
            greeting += b" (the proxy leaked its token)"
        s.sendall(frame(0x1, greeting))
        while True:
            b0, b1 = read_exact(s, 2)
            opcode, masked, n = b0 & 0x0F, b1 & 0x80, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", read_exact(s, 2))[0]
            elif n == 127:
                n = struct.unpack("!Q", read_exact(s, 8))[0]
            mask = read_exact(s, 4) if masked else b"\0\0\0\0"
            data = bytearray(read_exact(s, n))
            for i in range(n):
                data[i] ^= mask[i % 4]
            if opcode == 0x8:
                s.sendall(frame(0x8, bytes(data[:2])))
                return
            if opcode == 0x9:
                s.sendall(frame(0xA, bytes(data)))
            elif opcode in (0x1, 0x2):
                s.sendall(frame(opcode, bytes(data)))
    except (EOFError, OSError):
        pass
    finally:
        s.close()


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(64)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()

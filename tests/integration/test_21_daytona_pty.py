"""Daytona toolbox PTYs (src/api/daytona-pty.c): the REST routes, the WebSocket protocol as
the Python SDK speaks it (POST /process/pty, then connect with no subprotocol) and as the
TypeScript SDK does (create-connect offering X-Daytona-Pty-Exit-Control and the envs token),
exit notices, kill, resize, reattach, replacement of a client, validation, and clean-up when
the sandbox stops.

The WebSocket client is a few lines over a raw socket, so that the handshake's headers and
every frame (text, binary, Close code and reason) can be checked byte for byte."""
import base64
import json
import os
import re
import socket
import struct
import time

import pytest

from testenv import expect, q

EXIT_CONTROL = "X-Daytona-Pty-Exit-Control"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def tb(sb, suffix=""):
    return "/toolbox/%s%s" % (q(sb), suffix)


def ws_frame(opcode, payload):
    """A masked client frame."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Ws:
    """A WebSocket client; `head` is the handshake answer, `status` its status code."""

    def __init__(self, d, path, protocols=None, timeout=20):
        self.s = socket.create_connection(("127.0.0.1", d.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % d.port,
                 "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: %s" % key,
                 "Sec-WebSocket-Version: 13", "Authorization: Bearer %s" % d.key]
        if protocols:
            lines.append("Sec-WebSocket-Protocol: %s" % ", ".join(protocols))
        self.s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf, self.term = b"", b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        self.head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.status = int(self.head.split(b" ", 2)[1]) if self.head else 0
        m = re.search(rb"(?im)^sec-websocket-protocol:\s*(\S+)", self.head)
        self.protocol = m.group(1).decode() if m else None

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        b0, b1 = self._read(2)
        assert b1 & 0x80 == 0, "server frames must not be masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        return b0 & 0x0F, self._read(n)

    def send(self, data, opcode=BINARY):
        self.s.sendall(ws_frame(opcode, data.encode() if isinstance(data, str) else data))

    def read_until(self, needle, limit_s=20):
        """Terminal output up to and including needle (what follows stays for the next call)."""
        want, deadline = needle.encode(), time.monotonic() + limit_s
        while want not in self.term:
            assert time.monotonic() < deadline, "no %r in %r" % (needle, self.term[-2000:])
            op, data = self.recv()
            assert op in (BINARY, TEXT), (op, data, self.term[-2000:])
            self.term += data
        end = self.term.index(want) + len(want)
        out, self.term = self.term[:end], self.term[end:]
        return out.decode(errors="replace")

    def until_close(self, limit_s=20):
        """Frames up to the server's Close: (output bytes, text frames, close code, reason)."""
        out, texts, deadline = b"", [], time.monotonic() + limit_s
        while True:
            assert time.monotonic() < deadline, "no Close; got %r %r" % (texts, out[-500:])
            op, data = self.recv()
            if op == CLOSE:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                try:
                    self.send(struct.pack("!H", 1000), CLOSE)
                except OSError:
                    pass
                return out, texts, code, data[2:].decode()
            if op == TEXT:
                texts.append(data.decode())
            elif op == BINARY:
                out += data

    def connected(self):
        op, data = self.recv()
        assert (op, json.loads(data)) == (TEXT, {"type": "control", "status": "connected"})

    def close(self):
        try:
            self.send(struct.pack("!H", 1000), CLOSE)
        except OSError:
            pass
        self.s.close()


def connect(daemon, sb, pty, protocols=None):
    ws = Ws(daemon, tb(sb, "/process/pty/%s/connect" % pty), protocols)
    assert ws.status == 101, ws.head
    ws.connected()
    return ws


def create(api, sb, **body):
    r = api.post(tb(sb, "/process/pty"), body)
    assert expect(r, 201) == {"sessionId": body["id"]}, r


def info(api, sb, pty):
    return expect(api.get(tb(sb, "/process/pty/%s" % q(pty))), 200)


def wait_gone(api, sb, pty, limit_s=10):
    deadline = time.monotonic() + limit_s
    while api.get(tb(sb, "/process/pty/%s" % q(pty))).status != 404:
        assert time.monotonic() < deadline, "PTY %s is still listed" % pty
        time.sleep(0.05)


# ---- the Python SDK's way: REST create, then connect with no subprotocol -----------------

def test_python_flow_lazy_create_connect_resize_exit(daemon, api, sandbox):
    sb = sandbox["id"]
    create(api, sb, id="py", cols=100, rows=30, envs={"FOO": "bar"}, lazyStart=True)
    r = expect(api.post(tb(sb, "/process/pty"), {"id": "py"}), 409)
    assert "already exists" in r["message"], r
    i = info(api, sb, "py")
    assert i["active"] is False and i["lazyStart"] is True, i  # not started before connect
    assert (i["id"], i["cwd"], i["cols"], i["rows"]) == ("py", "/home/cove", 100, 30), i
    assert i["envs"] == {"FOO": "bar", "TERM": "xterm-256color"}, i
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", i["createdAt"]), i
    listed = expect(api.get(tb(sb, "/process/pty")), 200)
    assert listed == {"sessions": [i]}, listed

    ws = connect(daemon, sb, "py")
    try:
        assert ws.protocol is None, ws.head  # none offered: none may be answered
        assert info(api, sb, "py")["active"] is True
        ws.send("echo $FOO-$((6*7)) $(id -un) $(tty); stty size\n")
        out = ws.read_until("30 100")
        assert re.search(r"bar-42 cove /dev/pts/\d+", out), out
        i = expect(api.post(tb(sb, "/process/pty/py/resize"), {"cols": 120, "rows": 40}), 200)
        assert (i["cols"], i["rows"], i["active"]) == (120, 40, True), i
        ws.send("stty size\n", TEXT)  # text frames are input too
        ws.read_until("40 120")
        ws.send(b"")  # an empty input frame is harmless
        ws.s.sendall(ws_frame(PING, b"ping!"))
        while True:  # the pong arrives among terminal output
            op, data = ws.recv()
            if op == PONG:
                assert data == b"ping!"
                break
        ws.send("exit 3\n")
        _, texts, code, reason = ws.until_close()
        # No exit-control subprotocol: no "exited" text frame, only the Close.
        assert texts == [], texts
        assert code == 1011 and json.loads(reason) == {"exitCode": 3,
                                                       "exitReason": "non-zero exit"}, reason
    finally:
        ws.close()
    wait_gone(api, sb, "py")  # an exited shell leaves the registry, as in Daytona
    assert expect(api.get(tb(sb, "/process/pty")), 200) == {"sessions": []}


def test_eager_create_reattach_and_delete(daemon, api, sandbox):
    sb = sandbox["id"]
    create(api, sb, id="eager", cwd="/tmp")
    i = info(api, sb, "eager")
    assert (i["active"], i["lazyStart"], i["cwd"], i["cols"], i["rows"]) == \
        (True, False, "/tmp", 80, 24), i
    ws = connect(daemon, sb, "eager")
    ws.send("cd /; export KEEP=kept-$((2+3))\n")
    ws.read_until("\n")
    ws.close()  # the shell outlives its client
    ws = connect(daemon, sb, "eager", [EXIT_CONTROL])
    try:
        assert ws.protocol == EXIT_CONTROL, ws.head
        ws.send("echo $KEEP:$(pwd)\n")
        ws.read_until("kept-5:/")
        r = api.delete(tb(sb, "/process/pty/eager"))
        assert expect(r, 200) == {"message": "PTY session deleted"}
        _, texts, code, reason = ws.until_close()
        assert [json.loads(t) for t in texts] == [
            {"type": "control", "status": "exited", "exitCode": 137, "exitReason": "SIGKILL"}]
        assert code == 1011 and json.loads(reason) == {"exitCode": 137, "exitReason": "SIGKILL"}
    finally:
        ws.close()
    expect(api.get(tb(sb, "/process/pty/eager")), 404)
    expect(api.delete(tb(sb, "/process/pty/eager")), 404)
    # The kill took the whole tree: no shell of the PTY is left in the sandbox.
    deadline = time.monotonic() + 10
    while api.sh(sb, "ps -eo args= | grep -c '^/usr/bin/bash -l$' || true").strip() != "0":
        assert time.monotonic() < deadline, api.sh(sb, "ps -ef")
        time.sleep(0.1)


# ---- the TypeScript SDK's way: create-connect with subprotocols --------------------------

def test_create_connect_with_envs_and_exit_control(daemon, api, sandbox):
    sb = sandbox["id"]
    envs = base64.urlsafe_b64encode(json.dumps({"ZED": "zz top"}).encode()).decode().rstrip("=")
    ws = Ws(daemon, tb(sb, "/process/pty/create-connect?id=ts&cols=90&rows=20&cwd=/tmp"),
            ["X-Daytona-Pty-Envs~" + envs, EXIT_CONTROL])
    try:
        assert ws.status == 101 and ws.protocol == EXIT_CONTROL, ws.head
        ws.connected()
        i = info(api, sb, "ts")
        assert (i["cols"], i["rows"], i["cwd"], i["active"]) == (90, 20, "/tmp", True), i
        assert i["envs"] == {"ZED": "zz top", "TERM": "xterm-256color"}, i
        ws.send("echo \"[$ZED] $TERM $(pwd)\"; stty size\n")
        ws.read_until("[zz top] xterm-256color /tmp")
        ws.read_until("20 90")
        # A second create-connect with the same id is refused before the upgrade.
        dup = Ws(daemon, tb(sb, "/process/pty/create-connect?id=ts"), [EXIT_CONTROL])
        assert dup.status == 409, dup.head
        dup.close()
        ws.send("exit\n")
        _, texts, code, reason = ws.until_close()
        assert [json.loads(t) for t in texts] == [
            {"type": "control", "status": "exited", "exitCode": 0}], texts
        assert code == 1000 and json.loads(reason) == {"exitCode": 0}, reason
    finally:
        ws.close()
    wait_gone(api, sb, "ts")


def test_a_second_client_replaces_the_first(daemon, api, sandbox):
    sb = sandbox["id"]
    create(api, sb, id="two")
    first = connect(daemon, sb, "two", [EXIT_CONTROL])
    second = connect(daemon, sb, "two", [EXIT_CONTROL])
    try:
        _, _, code, reason = first.until_close()
        assert code == 4000 and "error" in json.loads(reason), (code, reason)
        second.send("echo still-$((40+2))\n")
        second.read_until("still-42")
    finally:
        first.close()
        second.close()
    expect(api.delete(tb(sb, "/process/pty/two")), 200)


def test_detached_output_is_drained(daemon, api, sandbox):
    """Nobody attached: output is read and dropped, so a chatty shell does not block."""
    sb = sandbox["id"]
    create(api, sb, id="chatty")
    ws = connect(daemon, sb, "chatty")
    ws.send("sleep 0.5; seq 1 100000; touch /tmp/chatty-done\n")
    ws.close()
    deadline = time.monotonic() + 20
    while api.exec(sb, "test", "-e", "/tmp/chatty-done")["exit_code"] != 0:
        assert time.monotonic() < deadline, "the detached shell blocked on its output"
        time.sleep(0.2)
    assert info(api, sb, "chatty")["active"] is True
    expect(api.delete(tb(sb, "/process/pty/chatty")), 200)


# ---- errors and clean-up -------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {}, {"id": ""}, {"id": 7}, {"id": "a/b"}, {"id": "x" * 129},
    {"id": "v", "cols": 0}, {"id": "v", "rows": 1001}, {"id": "v", "cols": "80"},
    {"id": "v", "envs": {"A=B": "c"}}, {"id": "v", "envs": ["x"]}, {"id": "v", "cwd": 3},
    {"id": "v", "lazyStart": "yes"},
])
def test_create_validation(api, module_sandbox, body):
    r = api.post(tb(module_sandbox["id"], "/process/pty"), body)
    assert r.status == 400, r
    assert r.json()["statusCode"] == 400, r


def test_errors(daemon, api, module_sandbox):
    sb = module_sandbox["id"]
    for method, path, body in [("GET", "/process/pty/nope", None),
                               ("DELETE", "/process/pty/nope", None),
                               ("POST", "/process/pty/nope/resize", {"cols": 10, "rows": 10})]:
        r = api.request(method, tb(sb, path), body=body)
        assert r.status == 404 and "not found" in r.json()["message"], r
    ws = Ws(daemon, tb(sb, "/process/pty/nope/connect"))
    assert ws.status == 404, ws.head
    ws.close()
    for query in ["cols=0", "rows=x", "cols=1001"]:
        ws = Ws(daemon, tb(sb, "/process/pty/create-connect?id=v&" + query), [EXIT_CONTROL])
        assert ws.status == 400, (query, ws.head)
        ws.close()
    ws = Ws(daemon, tb(sb, "/process/pty/create-connect?id=v"), ["X-Daytona-Pty-Envs~%%%"])
    assert ws.status == 400, ws.head
    ws.close()
    # A missing cwd fails the start: 400 for REST, a control error on the WebSocket.
    r = api.post(tb(sb, "/process/pty"), {"id": "nocwd", "cwd": "/no/such/dir"})
    assert r.status == 400 and "/no/such/dir" in r.json()["message"], r
    ws = Ws(daemon, tb(sb, "/process/pty/create-connect?id=nocwd&cwd=/no/such/dir"),
            [EXIT_CONTROL])
    try:
        assert ws.status == 101, ws.head
        op, data = ws.recv()
        msg = json.loads(data)
        assert (op, msg["type"], msg["status"]) == (TEXT, "control", "error"), msg
        assert "/no/such/dir" in msg["error"], msg
        _, _, code, _ = ws.until_close()
        assert code == 1011
    finally:
        ws.close()
    expect(api.get(tb(sb, "/process/pty/nocwd")), 404)
    r = api.post(tb(sb, "/process/pty/x/resize"), {"cols": 10})
    assert r.status == 400, r


def test_stop_drops_the_sandboxs_ptys(daemon, api, sandbox):
    sb = sandbox["id"]
    create(api, sb, id="doomed")
    ws = connect(daemon, sb, "doomed", [EXIT_CONTROL])
    try:
        expect(api.post("/v1/sandboxes/%s/stop" % q(sb)), 200)
        _, texts, code, reason = ws.until_close()
        assert code == 1011 and json.loads(reason)["exitCode"] == 137, reason
    finally:
        ws.close()
    expect(api.post("/v1/sandboxes/%s/start" % q(sb)), 200)
    assert expect(api.get(tb(sb, "/process/pty")), 200) == {"sessions": []}
    create(api, sb, id="doomed")  # the id is free again
    expect(api.delete(tb(sb, "/process/pty/doomed")), 200)

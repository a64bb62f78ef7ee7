"""The preview proxy (issue 5): the reported end-to-end scenario, then auth, readiness,
errors, WebSocket, streaming, large bodies and isolation from a slow upstream.

These tests run a private coved started with --preview-wait 8, so that the configured wait
itself is checked, and so that a port that never listens costs 8 s rather than the default
10 s while a server that starts slowly on a loaded host still makes it in time. Upstreams are the stdlib servers in preview_fixtures/, uploaded into the sandboxes
and started as async session commands. Every preview request goes to 127.0.0.1:<coved port>
with an explicit Host header, as curl --resolve or a browser on *.localhost would send it.
"""
import base64
import hashlib
import http.client
import json
import os
import re
import socket
import struct
import threading
import time

import pytest

from testenv import Client, Daemon, Resp, expect, multipart

WAIT_S = 8
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "preview_fixtures")
TOKEN_HEADER = "X-Daytona-Preview-Token"
SITE = {
    "index.html": b"<!doctype html><title>cove preview</title><h1>It works</h1>\n",
    "css/site.css": b"h1 { color: teal; }\n",
    "js/app.js": b"console.log('cove');\n",
    "about/index.html": b"<!doctype html><p>about page</p>\n",
}


# ---- a private coved ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pd():
    d = Daemon("preview", slot=5, extra_args=["--preview-wait", str(WAIT_S)])
    try:
        d.start()
    except Exception:
        d.kill()
        d.cleanup()
        raise
    yield d
    api = Client(d)
    r = api.get("/v1/sandboxes")
    for sb in (r.body.get("sandboxes", []) if r.status == 200 else []):
        api.destroy(sb["id"])
    rc, killed = d.stop()
    tail = d.log_tail()
    problems = d.cleanup(keep=bool(os.environ.get("COVE_TEST_KEEP")))
    if killed:
        problems.append("private coved ignored SIGTERM for 10 s")
    elif rc != 0:
        problems.append("private coved exited with status %r after SIGTERM" % rc)
    if problems:
        pytest.fail("private daemon teardown: %s\n%s" % ("; ".join(problems), tail),
                    pytrace=False)


@pytest.fixture(scope="module")
def papi(pd):
    return Client(pd)


def _unique(hint):
    return "pv-%s-%s" % (hint, os.urandom(3).hex())


def fixture_bytes(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def start_async(api, sid, command, session="srv"):
    """Run command as an async session command (creating the session); returns its id."""
    r = api.post("/v1/sandboxes/%s/sessions" % sid, {"id": session})
    assert r.status in (201, 409), r
    body = expect(api.post("/v1/sandboxes/%s/sessions/%s/exec" % (sid, session),
                           {"command": command, "async": True}), 202)
    assert body["running"] is True and body["id"], body
    return body["id"]


def command_status(api, sid, cid):
    return expect(api.get("/v1/sandboxes/%s/commands/%s" % (sid, cid)), 200)


def link(api, sid, port):
    return expect(api.get("/v1/sandboxes/%s/preview/%d" % (sid, port)), 200)


# ---- preview requests -------------------------------------------------------------------------

def host_of(d, sid_or_token, port):
    return "%d-%s.localhost:%d" % (port, sid_or_token, d.port)


def preq(d, method, path, host=None, headers=None, body=None, timeout=60, chunked=False,
         limit=None):
    """One request on a fresh connection to coved, closed afterwards. host=None means the
    path form (Host: 127.0.0.1:<port>). Returns a testenv Resp (JSON decoded if JSON)."""
    hdrs = {"Host": host or "127.0.0.1:%d" % d.port}
    hdrs.update(headers or {})
    if chunked:
        hdrs["Transfer-Encoding"] = "chunked"
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs, encode_chunked=chunked)
        resp = conn.getresponse()
        payload = resp.read(limit) if limit is not None else resp.read()
    finally:
        conn.close()
    data = payload
    if "json" in (resp.msg.get("Content-Type") or ""):
        try:
            data = json.loads(payload.decode())
        except ValueError:
            pass
    return Resp(method, "%s%s" % (hdrs["Host"], path), resp.status, data, resp.msg, payload)


def pget(d, sid, port, path="/", token=None, form="host", **kw):
    headers = dict(kw.pop("headers", None) or {})
    if token is not None:
        headers[TOKEN_HEADER] = token
    if form == "host":
        return preq(d, kw.pop("method", "GET"), path, host=host_of(d, sid, port),
                    headers=headers, **kw)
    return preq(d, kw.pop("method", "GET"), "/preview/%s/%d%s" % (sid, port, path),
                headers=headers, **kw)


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return r, time.monotonic() - t0


def coved_mem_kib(d):
    """(VmRSS, VmHWM) of coved in KiB."""
    with open("/proc/%d/status" % d.proc.pid) as f:
        text = f.read()
    return tuple(int(re.search(r"^%s:\s+(\d+) kB" % k, text, re.M).group(1))
                 for k in ("VmRSS", "VmHWM"))


def reset_peak_rss(d):
    with open("/proc/%d/clear_refs" % d.proc.pid, "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


# ---- 1. the reported scenario -----------------------------------------------------------------

@pytest.mark.slow  # sleeps 125 s on purpose: the step 5 ("wait at least 2 minutes")
def test_reported_scenario(pd, papi):
    # 1. create a sandbox
    sb = papi.create(name=_unique("scenario"))
    sid = sb["id"]
    assert sb["state"] == "started"

    # 2. upload index.html (multipart) and a small static site in subdirectories
    body, ctype = multipart([("file", "index.html", SITE["index.html"], "text/html")])
    up = expect(papi.post("/v1/sandboxes/%s/files/upload" % sid, raw=body, content_type=ctype,
                          query={"dir": "/home/cove"}), 200)
    assert up["files"] == [{"path": "/home/cove/index.html", "size": len(SITE["index.html"])}]
    for rel in ("css/site.css", "js/app.js", "about/index.html"):
        expect(papi.file_put(sid, rel, SITE[rel]), 200)

    lk = link(papi, sid, 3000)
    assert lk["url"] == "http://3000-%s.localhost:%d" % (sid, pd.port), lk
    assert lk["path"] == "/preview/%s/3000/" % sid, lk
    assert lk["header"] == TOKEN_HEADER and len(lk["token"]) >= 16, lk
    tok = lk["token"]

    # 3. start the server as an async session command, with no sleep ...
    cid = start_async(papi, sid, "python3 -m http.server 3000", session="web")
    # 4. ... and fetch at once: the readiness wait covers the server's start-up
    r, took = timed(pget, pd, sid, 3000, "/", tok)
    assert r.status == 200, r
    assert r.raw == SITE["index.html"], r
    assert took < WAIT_S, "the first fetch took %.2f s" % took
    r = pget(pd, sid, 3000, "/", tok, form="path")
    assert r.status == 200 and r.raw == SITE["index.html"], r
    for rel, ctype in (("css/site.css", "text/css"), ("js/app.js", "javascript")):
        r = pget(pd, sid, 3000, "/" + rel, tok)
        assert r.status == 200 and r.raw == SITE[rel], r
        assert ctype in r.headers.get("Content-Type", ""), r.headers
    r = pget(pd, sid, 3000, "/about/", tok, form="path")
    assert r.status == 200 and r.raw == SITE["about/index.html"], r

    # 5. every connection above was closed; stay away for more than 2 minutes
    time.sleep(125)
    for form in ("host", "path"):
        r = pget(pd, sid, 3000, "/", tok, form=form)
        assert r.status == 200 and r.raw == SITE["index.html"], "after 125 s idle: %s" % r

    # 6. the command still runs
    st = command_status(papi, sid, cid)
    assert st["running"] is True and st["exit_code"] is None, st

    # 7. kill it: the preview says the process exited, which command it was, and its logs
    expect(papi.post("/v1/sandboxes/%s/commands/%s/signal" % (sid, cid), {"signal": "KILL"}),
           200)
    deadline = time.monotonic() + 10
    while command_status(papi, sid, cid)["running"] and time.monotonic() < deadline:
        time.sleep(0.1)
    st = command_status(papi, sid, cid)
    assert st["running"] is False and st["signal"] == "SIGKILL", st
    logs_url = "/v1/sandboxes/%s/commands/%s/logs" % (sid, cid)
    for form in ("host", "path"):
        r = pget(pd, sid, 3000, "/", tok, form=form)
        body = expect(r, 502, "PROCESS_EXITED")
        assert cid in body["message"] and logs_url in body["message"], body
        assert "port 3000" in body["message"] and "signal 9" in body["message"], body
    logs = expect(papi.get(logs_url), 200)
    assert '"GET / HTTP/1.1" 200' in logs["stderr"], logs
    expect(papi.destroy(sid), 200)


# ---- shared sandboxes for the other tests -----------------------------------------------------

BIG = 50 << 20


@pytest.fixture(scope="module")
def env(pd, papi):
    """Sandbox A runs upstream.py on 8000, ws_echo.py on 8001 and http.server on 8002 (which
    serves a 50 MiB random file); sandbox B runs upstream.py on 8000."""
    a = papi.create(name=_unique("a"))
    b = papi.create(name=_unique("b"))
    for sb in (a, b):
        for name in ("upstream.py", "ws_echo.py"):
            expect(papi.file_put(sb["id"], name, fixture_bytes(name)), 200)
    out = papi.sh(a["id"], "mkdir -p big/sub && head -c %d /dev/urandom > big/blob.bin && "
                  "sha256sum big/blob.bin" % BIG)
    e = {
        "a": a["id"], "b": b["id"],
        "ta": link(papi, a["id"], 8000)["token"],
        "tb": link(papi, b["id"], 8000)["token"],
        "blob_sha": out.split()[0],
    }
    assert e["ta"] != e["tb"]
    e["cmds"] = {
        "a8000": start_async(papi, a["id"], "python3 upstream.py 8000"),
        "a8001": start_async(papi, a["id"], "python3 ws_echo.py 8001"),
        "a8002": start_async(papi, a["id"], "cd big && python3 -m http.server 8002"),
        "b8000": start_async(papi, b["id"], "python3 upstream.py 8000"),
    }
    # the readiness wait makes these the first successful requests
    for sid, tok in ((a["id"], e["ta"]), (b["id"], e["tb"])):
        r = pget(pd, sid, 8000, "/fast", tok)
        assert r.status == 200 and r.raw == b"fast", r
    yield e
    for sid in (a["id"], b["id"]):
        papi.destroy(sid)


# ---- auth ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["host", "path"])
def test_no_token_is_401(pd, env, form):
    r = pget(pd, env["a"], 8000, "/fast", None, form=form)
    body = expect(r, 401, "UNAUTHORIZED")
    assert TOKEN_HEADER in body["message"], body
    assert b"fast" not in r.raw
    r = pget(pd, env["a"], 8000, "/fast", "not-the-token", form=form)
    expect(r, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("form", ["host", "path"])
def test_token_of_a_does_not_open_b(pd, env, form):
    expect(pget(pd, env["b"], 8000, "/fast", env["ta"], form=form), 401, "UNAUTHORIZED")
    expect(pget(pd, env["a"], 8000, "/fast", env["tb"], form=form), 401, "UNAUTHORIZED")
    r = pget(pd, env["b"], 8000, "/fast", env["tb"], form=form)
    assert r.status == 200 and r.raw == b"fast", r


def test_spoofed_host_is_401(pd, env):
    """A's token with a Host naming B, even with A's id in the path: the Host decides."""
    r = preq(pd, "GET", "/preview/%s/8000/fast" % env["a"], host=host_of(pd, env["b"], 8000),
             headers={TOKEN_HEADER: env["ta"]})
    expect(r, 401, "UNAUTHORIZED")
    r = preq(pd, "GET", "/fast", host=host_of(pd, env["b"].upper(), 8000),
             headers={TOKEN_HEADER: env["ta"]})
    expect(r, 401, "UNAUTHORIZED")


def test_token_is_not_forwarded_upstream(pd, env):
    r = pget(pd, env["a"], 8000, "/headers", env["ta"])
    assert r.status == 200, r
    assert TOKEN_HEADER.lower() not in r.body, r.body
    assert r.body["host"] == host_of(pd, env["a"], 8000), r.body


def test_query_token_sets_cookie(pd, env):
    sid, tok = env["a"], env["ta"]
    r = preq(pd, "GET", "/fast?DAYTONA_SANDBOX_AUTH_KEY=%s" % tok, host=host_of(pd, sid, 8000))
    assert r.status == 200, r
    cookie = r.headers.get("Set-Cookie", "")
    name = "daytona-sandbox-auth-%s" % sid
    assert cookie.startswith("%s=%s;" % (name, tok)) and "HttpOnly" in cookie, cookie
    r = preq(pd, "GET", "/fast", host=host_of(pd, sid, 8000),
             headers={"Cookie": "%s=%s" % (name, tok)})
    assert r.status == 200 and r.raw == b"fast", r
    r = preq(pd, "GET", "/preview/%s/8000/fast?token=%s" % (sid, tok))
    assert r.status == 200 and r.raw == b"fast", r
    # A's cookie does not open B, under either cookie name
    for cname in (name, "daytona-sandbox-auth-%s" % env["b"]):
        r = preq(pd, "GET", "/fast", host=host_of(pd, env["b"], 8000),
                 headers={"Cookie": "%s=%s" % (cname, tok)})
        expect(r, 401, "UNAUTHORIZED")


def test_signed_url_works_then_expires(pd, papi, env):
    r = papi.post("/v1/sandboxes/%s/preview/8000/signed" % env["a"], {"expires_in": 2})
    s = expect(r, 201)
    t_made = time.monotonic()
    stok = s["token"]
    assert re.fullmatch(r"[a-z0-9]{16}", stok), s
    assert s["url"] == "http://8000-%s.localhost:%d" % (stok, pd.port), s
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", s["expires_at"]), s
    # no header, no cookie: the host name is the credential
    r = preq(pd, "GET", "/fast", host=host_of(pd, stok, 8000))
    assert r.status == 200 and r.raw == b"fast", r
    # bound to its port
    expect(preq(pd, "GET", "/", host=host_of(pd, stok, 8001)), 403, "FORBIDDEN")
    time.sleep(max(0.0, 3.0 - (time.monotonic() - t_made)))
    r = preq(pd, "GET", "/fast", host=host_of(pd, stok, 8000))
    body = expect(r, 404, "SANDBOX_NOT_FOUND")
    assert "expire" in body["message"], body


def test_signed_url_expires_in_validated(papi, env):
    for bad in (0, -1, 86401, "5", 1.5):
        r = papi.post("/v1/sandboxes/%s/preview/8000/signed" % env["a"], {"expires_in": bad})
        expect(r, 400, "BAD_REQUEST")


# ---- errors and readiness -----------------------------------------------------------------------

def test_stopped_sandbox_is_503(pd, papi):
    sb = papi.create(name=_unique("stopped"))
    tok = link(papi, sb["id"], 8000)["token"]
    expect(papi.post("/v1/sandboxes/%s/stop" % sb["id"]), 200)
    for form in ("host", "path"):
        r, took = timed(pget, pd, sb["id"], 8000, "/", tok, form=form)
        body = expect(r, 503, "SANDBOX_STOPPED")
        assert "stopped" in body["message"] and sb["id"] in body["message"], body
        assert took < 2.0, "a stopped sandbox should answer at once, took %.2f s" % took
    papi.destroy(sb["id"])


def test_port_not_listening_is_502_after_the_wait(pd, env):
    r, took = timed(pget, pd, env["a"], 8999, "/", env["ta"])
    body = expect(r, 502, "PORT_NOT_LISTENING")
    assert "8999" in body["message"] and "waited %d s" % WAIT_S in body["message"], body
    assert WAIT_S - 0.2 <= took < WAIT_S + 3, "answered after %.2f s, --preview-wait %d" % (
        took, WAIT_S)


def test_readiness_wait_covers_a_slow_start(pd, papi, env):
    """A server that listens only 2 s after it starts: the first fetch waits, then 200."""
    start_async(papi, env["a"], "python3 upstream.py 8100 2", session="late")
    r, took = timed(pget, pd, env["a"], 8100, "/fast", env["ta"])
    assert r.status == 200 and r.raw == b"fast", r
    assert 1.5 <= took < WAIT_S, "fetch took %.2f s" % took


# ---- WebSocket ----------------------------------------------------------------------------------

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
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class WsClient:
    def __init__(self, d, path, host, headers):
        self.s = socket.create_connection(("127.0.0.1", d.port), timeout=15)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host, "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: %s" % key,
                 "Sec-WebSocket-Version: 13"]
        lines += ["%s: %s" % kv for kv in headers.items()]
        self.s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        self.head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.accept = base64.b64encode(hashlib.sha1(
            key.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()).decode()

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

    def send(self, opcode, payload):
        self.s.sendall(ws_frame(opcode, payload))

    def close(self):
        self.s.close()


@pytest.mark.parametrize("form", ["host", "path"])
def test_websocket_echo_both_ways(pd, env, form):
    if form == "host":
        ws = WsClient(pd, "/chat?x=1", host_of(pd, env["a"], 8001), {TOKEN_HEADER: env["ta"]})
        greeting = b"hello /chat?x=1"
    else:
        ws = WsClient(pd, "/preview/%s/8001/chat" % env["a"], "127.0.0.1:%d" % pd.port,
                      {TOKEN_HEADER: env["ta"]})
        greeting = b"hello /chat"
    try:
        assert ws.head.startswith(b"HTTP/1.1 101"), ws.head
        m = re.search(rb"(?im)^sec-websocket-accept:\s*(\S+)", ws.head)
        assert m and m.group(1).decode() == ws.accept, ws.head
        # server -> client, unprompted
        assert ws.recv() == (0x1, greeting)
        # client -> server -> client, small, 16-bit and 64-bit lengths
        for op, payload in ((0x1, "héllo ✓".encode()), (0x2, os.urandom(300)),
                            (0x2, os.urandom(200000))):
            ws.send(op, payload)
            assert ws.recv() == (op, payload)
        ws.send(0x9, b"ping!")
        assert ws.recv() == (0xA, b"ping!")
        ws.send(0x8, struct.pack("!H", 1000))
        assert ws.recv() == (0x8, struct.pack("!H", 1000))
    finally:
        ws.close()


def test_websocket_needs_the_token(pd, env):
    ws = WsClient(pd, "/", host_of(pd, env["a"], 8001), {})
    try:
        assert ws.head.startswith(b"HTTP/1.1 401"), ws.head
    finally:
        ws.close()


# ---- streaming, large bodies, slow upstreams ----------------------------------------------------

def test_large_download_streams(pd, env):
    reset_peak_rss(pd)
    rss0, _ = coved_mem_kib(pd)
    conn = http.client.HTTPConnection("127.0.0.1", pd.port, timeout=60)
    try:
        conn.request("GET", "/blob.bin", headers={"Host": host_of(pd, env["a"], 8002),
                                                  TOKEN_HEADER: env["ta"]})
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        assert resp.getheader("Content-Length") == str(BIG), resp.getheaders()
        h, n = hashlib.sha256(), 0
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
    finally:
        conn.close()
    assert n == BIG and h.hexdigest() == env["blob_sha"], (n, h.hexdigest())
    _, hwm = coved_mem_kib(pd)
    assert hwm - rss0 < 16 << 10, "coved's peak RSS grew by %d KiB for a 50 MiB response" % (
        hwm - rss0)


def test_streamed_response_is_not_held_back(pd, env):
    """A chunked upstream answer reaches the client part by part, decoded exactly once."""
    conn = http.client.HTTPConnection("127.0.0.1", pd.port, timeout=30)
    try:
        t0 = time.monotonic()
        conn.request("GET", "/stream", headers={"Host": host_of(pd, env["a"], 8000),
                                                TOKEN_HEADER: env["ta"]})
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader("Transfer-Encoding") == "chunked", resp.getheaders()
        first = resp.read(6)
        t_first = time.monotonic() - t0
        rest = resp.read()
        t_all = time.monotonic() - t0
    finally:
        conn.close()
    assert (first, rest) == (b"part1\n", b"part2\n")
    assert t_first < 2.5 < 3.0 <= t_all, "first part after %.2f s, all after %.2f s" % (
        t_first, t_all)


def test_head_keeps_content_length(pd, env):
    r = pget(pd, env["a"], 8002, "/blob.bin", env["ta"], method="HEAD")
    assert r.status == 200 and r.raw == b"", r
    assert r.headers.get("Content-Length") == str(BIG), r.headers


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_large_upload_streams(pd, env, chunked):
    size = 20 << 20
    data = os.urandom(size)
    body = (data[i:i + (1 << 20)] for i in range(0, size, 1 << 20)) if chunked else data
    reset_peak_rss(pd)
    rss0, _ = coved_mem_kib(pd)
    r = pget(pd, env["a"], 8000, "/count", env["ta"], method="POST", body=body, chunked=chunked,
             headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200, r
    assert r.body == {"bytes": size, "sha256": hashlib.sha256(data).hexdigest()}, r
    _, hwm = coved_mem_kib(pd)
    assert hwm - rss0 < 16 << 10, "coved's peak RSS grew by %d KiB for a 20 MiB upload" % (
        hwm - rss0)


def test_upload_to_a_slow_reader_is_paced_not_buffered(pd, env):
    """8 MiB to an upstream that reads about 3 MiB/s: the proxy holds the client back
    (backpressure) instead of buffering, and the upload completes."""
    size = 8 << 20
    data = os.urandom(size)
    reset_peak_rss(pd)
    rss0, _ = coved_mem_kib(pd)
    r, took = timed(pget, pd, env["a"], 8000, "/slowcount", env["ta"], method="POST", body=data)
    assert r.status == 200, r
    assert r.body == {"bytes": size, "sha256": hashlib.sha256(data).hexdigest()}, r
    assert took >= 2.0, "the upstream needs about 2.6 s to read 8 MiB; took %.2f s" % took
    _, hwm = coved_mem_kib(pd)
    assert hwm - rss0 < 8 << 10, "coved's peak RSS grew by %d KiB" % (hwm - rss0)


def test_slow_upstream_stalls_nothing_else(pd, papi, env):
    done = {}

    def slow():
        done["slow"] = timed(pget, pd, env["a"], 8000, "/slow", env["ta"])

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)  # let the slow request reach its upstream
    try:
        for sid, tok in ((env["a"], env["ta"]), (env["b"], env["tb"])):
            r, took = timed(pget, pd, sid, 8000, "/fast", tok)
            assert r.status == 200 and r.raw == b"fast", r
            assert took < 2.0, "a preview request took %.2f s next to a slow one" % took
        r, took = timed(papi.get, "/v1/health")
        assert r.status == 200 and took < 2.0, (r, took)
        assert "slow" not in done, "the slow request finished too early"
    finally:
        t.join(30)
    r, took = done["slow"]
    assert r.status == 200 and r.raw == b"slow", r
    assert took >= 4.4, took


# ---- path form details --------------------------------------------------------------------------

def test_path_form_without_trailing_slash(pd, env):
    r = preq(pd, "GET", "/preview/%s/8000" % env["a"], headers={TOKEN_HEADER: env["ta"]})
    assert r.status == 404 and r.raw == b"no such path\n", r  # upstream saw "/"
    r = preq(pd, "GET", "/preview/%s/8000?x=1" % env["a"], headers={TOKEN_HEADER: env["ta"]})
    assert r.status == 404, r


def test_path_form_redirect_stays_under_prefix(pd, env):
    """http.server redirects a directory without its slash (/sub -> /sub/); through the path
    form the browser must be sent to /preview/{id}/{port}/sub/, not to coved's /sub/."""
    r = pget(pd, env["a"], 8002, "/sub", env["ta"], form="path")
    assert r.status == 301, r
    assert r.headers.get("Location") == "/preview/%s/8002/sub/" % env["a"], r.headers
    r = pget(pd, env["a"], 8002, "/sub", env["ta"], form="host")
    assert r.status == 301 and r.headers.get("Location") == "/sub/", r.headers


# ---- keep-alive and concurrency -----------------------------------------------------------------

def _ka_request(conn, method, path, host, token, body=None, headers=None, chunked=False):
    hdrs = {"Host": host, TOKEN_HEADER: token}
    hdrs.update(headers or {})
    if chunked:
        hdrs["Transfer-Encoding"] = "chunked"
    conn.request(method, path, body=body, headers=hdrs, encode_chunked=chunked)
    resp = conn.getresponse()
    return resp, resp.read()


def test_one_keepalive_connection_carries_every_kind_of_request(pd, papi, env):
    """Small and large answers, uploads of both framings, HEAD, bodiless statuses, errors and
    a switch of sandbox, one after the other on one client connection: each answer belongs to
    its request and the connection survives all of them."""
    for sid, name in ((env["a"], b"sandbox a"), (env["b"], b"sandbox b")):
        expect(papi.file_put(sid, "whoami.txt", name), 200)
    ha, hb = host_of(pd, env["a"], 8000), host_of(pd, env["b"], 8000)
    conn = http.client.HTTPConnection("127.0.0.1", pd.port, timeout=60)
    try:
        for rnd in range(3):
            resp, data = _ka_request(conn, "GET", "/fast", ha, env["ta"])
            assert (resp.status, data) == (200, b"fast")
            assert resp.getheader("Content-Length") == "4", resp.getheaders()
            for path, n in (("/bytes", 300000), ("/bytes", 0), ("/chunks", 1000),
                            ("/chunks", 300000)):
                resp, data = _ka_request(conn, "GET", "%s?n=%d" % (path, n), ha, env["ta"])
                assert resp.status == 200 and len(data) == n, (path, n, resp.status, len(data))
                assert hashlib.sha256(data).hexdigest() == resp.getheader("X-Sha256"), (path, n)
            up = os.urandom(1 << 20)
            resp, data = _ka_request(conn, "POST", "/echo", ha, env["ta"], body=up)
            assert resp.status == 200 and data == up, (resp.status, len(data))
            pieces = (up[i:i + 65536] for i in range(0, len(up), 65536))
            resp, data = _ka_request(conn, "POST", "/echo", ha, env["ta"], body=pieces,
                                     chunked=True)
            assert resp.status == 200 and data == up, (resp.status, len(data))
            resp, data = _ka_request(conn, "HEAD", "/fast", ha, env["ta"])
            assert (resp.status, data) == (200, b"")
            assert resp.getheader("Content-Length") == "4", resp.getheaders()
            for status in (204, 304, 418):
                resp, data = _ka_request(conn, "GET", "/status/%d" % status, ha, env["ta"])
                assert (resp.status, data) == (status, b""), (status, resp.status, data)
            resp, data = _ka_request(conn, "GET", "/nope", ha, env["ta"])
            assert (resp.status, data) == (404, b"no such path\n")
            # another sandbox on the same connection: its own upstream, its own token
            for host, token, who in ((hb, env["tb"], b"sandbox b"), (ha, env["ta"], b"sandbox a")):
                resp, data = _ka_request(conn, "GET", "/whoami", host, token)
                assert (resp.status, data) == (200, who), (rnd, resp.status, data)
            resp, data = _ka_request(conn, "GET", "/whoami", hb, env["ta"])
            assert resp.status == 401 and b"sandbox b" not in data, (resp.status, data)
    finally:
        conn.close()


def test_many_concurrent_streams_both_ways(pd, env):
    """24 client connections at once, each alternating downloads and echoed uploads of up to
    2 MiB between both sandboxes: every byte arrives where it belongs."""
    results, errors = {}, []

    def client(k):
        sid, tok = (env["a"], env["ta"]) if k % 2 == 0 else (env["b"], env["tb"])
        host = host_of(pd, sid, 8000)
        conn = http.client.HTTPConnection("127.0.0.1", pd.port, timeout=120)
        try:
            for i in range(3):
                n = ((k * 3 + i) * 87383) % (2 << 20)  # 0 .. 2 MiB
                path = "/bytes?n=%d" % n if (k + i) % 2 else "/chunks?n=%d" % n
                resp, data = _ka_request(conn, "GET", path, host, tok)
                if resp.status != 200 or len(data) != n or \
                        hashlib.sha256(data).hexdigest() != resp.getheader("X-Sha256"):
                    errors.append((k, i, path, resp.status, len(data)))
                    return
                up = os.urandom(n // 4)
                resp, data = _ka_request(conn, "POST", "/echo", host, tok, body=up,
                                         chunked=bool(i % 2))
                if resp.status != 200 or data != up:
                    errors.append((k, i, "echo", resp.status, len(data)))
                    return
            results[k] = True
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((k, repr(e)))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(24)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 300
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "clients still running after 300 s"
    assert not errors, errors
    assert len(results) == 24

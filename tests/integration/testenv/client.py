"""A small HTTP/1.1 client for coved over TCP or the Unix socket (stdlib http.client only).

Every call returns a Resp, which unpacks as (status, body, headers): body is the decoded
JSON when the answer says it is JSON, else the raw bytes. Resp also remembers the request,
so that `expect()` can fail with a message naming the request and the whole answer.

One connection per request keeps tests independent of keep-alive behaviour; the raw
protocol tests (test_08) use `raw_exchange()` instead.
"""
import http.client
import json
import os
import re
import select
import socket
import time
import urllib.parse

DEFAULT_TIMEOUT = 90.0
_DEFAULT = object()


class Resp:
    def __init__(self, method, path, status, body, headers, raw):
        self.method, self.path = method, path
        self.status, self.body, self.headers, self.raw = status, body, headers, raw

    def __iter__(self):
        return iter((self.status, self.body, self.headers))

    def json(self):
        assert isinstance(self.body, (dict, list)), "not a JSON answer: %s" % self
        return self.body

    def __repr__(self):
        shown = self.body
        if isinstance(shown, (bytes, bytearray)):
            shown = bytes(shown[:600])
        else:
            shown = json.dumps(shown)[:1500]
        return "%s %s -> %d %s" % (self.method, self.path, self.status, shown)

    __str__ = __repr__


def expect(resp, status, code=None):
    """Assert the status (and the error code); return the body."""
    assert resp.status == status, "expected %d, got: %s" % (status, resp)
    if code is not None:
        assert isinstance(resp.body, dict), "error answer is not JSON: %s" % resp
        if isinstance(code, (set, tuple, list)):
            assert resp.body.get("code") in code, "expected code in %s, got: %s" % (code, resp)
        else:
            assert resp.body.get("code") == code, "expected code %s, got: %s" % (code, resp)
    return resp.body


def check_error_body(resp):
    """Every error is JSON {"statusCode": N, "code": "UPPER_SNAKE", "message": "..."}."""
    assert resp.status >= 400, resp
    ctype = resp.headers.get("Content-Type", "")
    assert "application/json" in ctype, "error without a JSON content type (%r): %s" % (
        ctype, resp)
    b = resp.body
    assert isinstance(b, dict), "error body is not a JSON object: %s" % resp
    assert b.get("statusCode") == resp.status, "statusCode does not match: %s" % resp
    assert isinstance(b.get("code"), str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", b["code"]), \
        "code is not UPPER_SNAKE: %s" % resp
    assert isinstance(b.get("message"), str) and b["message"].strip(), \
        "message missing or empty: %s" % resp
    return b


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Client:
    """Speaks to a Daemon (its port may change across restarts) or a fixed address."""

    def __init__(self, daemon, key=_DEFAULT, unix=False):
        self.daemon = daemon
        self._key = key
        self.unix = unix

    @property
    def key(self):
        return self.daemon.key if self._key is _DEFAULT else self._key

    def with_key(self, key):
        return Client(self.daemon, key=key, unix=self.unix)

    def connection(self, timeout=DEFAULT_TIMEOUT):
        if self.unix:
            return UnixHTTPConnection(self.daemon.socket, timeout)
        return http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=timeout)

    def request(self, method, path, body=None, raw=None, headers=None, query=None,
                content_type=None, chunked=False, timeout=DEFAULT_TIMEOUT, auth=True,
                limit=None):
        """body: JSON-encoded; raw: bytes (or an iterable of bytes with chunked=True).
        limit: read at most this many body bytes (for answers that might never end)."""
        if query:
            path = path + "?" + urllib.parse.urlencode(query, doseq=True, safe="/=")
        hdrs = {}
        if auth and self.key is not None:
            hdrs["Authorization"] = "Bearer %s" % self.key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
            if content_type:
                hdrs["Content-Type"] = content_type
        if content_type and body is not None:
            hdrs["Content-Type"] = content_type
        if chunked:
            hdrs["Transfer-Encoding"] = "chunked"
        hdrs.update(headers or {})
        conn = self.connection(timeout)
        try:
            try:
                conn.request(method, path, body=data, headers=hdrs, encode_chunked=chunked)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer (413, 401) and close before reading the whole
                # body; its answer is still in our receive buffer.
                pass
            resp = conn.getresponse()
            payload = resp.read(limit) if limit is not None else resp.read()
            return _make_resp(method, path, resp.status, resp.msg, payload)
        finally:
            conn.close()

    # ---- conveniences -------------------------------------------------------------------

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, raw=b"", **kw):
        return self.request("PUT", path, raw=raw, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def create(self, **spec):
        r = self.post("/v1/sandboxes", spec, timeout=120)
        return expect(r, 201)

    def sandbox(self, ident):
        return expect(self.get("/v1/sandboxes/%s" % q(ident)), 200)

    def destroy(self, ident):
        return self.delete("/v1/sandboxes/%s" % q(ident), timeout=120)

    def exec_raw(self, ident, timeout_pad=60, **req):
        """POST exec; returns the Resp."""
        t = req.get("timeout", 60)
        t = t if isinstance(t, (int, float)) and 0 < t < 10000 else 60
        return self.post("/v1/sandboxes/%s/exec" % q(ident), req, timeout=t + timeout_pad)

    def exec(self, ident, *cmd, **req):
        """exec(sb, "sh", "-c", "...") or exec(sb, command="..."); asserts 200."""
        if cmd:
            req["cmd"] = list(cmd)
        r = self.exec_raw(ident, **req)
        res = expect(r, 200)
        for field in ("exit_code", "stdout", "stderr", "timed_out", "oom_killed"):
            assert field in res, "exec result lacks %r: %s" % (field, r)
        return res

    def sh(self, ident, command, **req):
        """Run a shell string; assert it exits 0; return stdout."""
        res = self.exec(ident, command=command, **req)
        assert res["exit_code"] == 0, "command %r failed: %s" % (command, json.dumps(res))
        return res["stdout"]

    # files

    def file_put(self, ident, path, data, mode=None, **kw):
        query = {"path": path}
        if mode is not None:
            query["mode"] = mode
        return self.request("PUT", "/v1/sandboxes/%s/files/content" % q(ident), raw=data,
                            query=query, content_type="application/octet-stream", **kw)

    def file_get(self, ident, path, **kw):
        return self.get("/v1/sandboxes/%s/files/content" % q(ident), query={"path": path}, **kw)

    def file_stat(self, ident, path):
        return self.get("/v1/sandboxes/%s/files/stat" % q(ident), query={"path": path})

    def file_list(self, ident, path):
        return self.get("/v1/sandboxes/%s/files" % q(ident), query={"path": path})

    def file_delete(self, ident, path, recursive=None):
        query = {"path": path}
        if recursive is not None:
            query["recursive"] = "true" if recursive else "false"
        return self.delete("/v1/sandboxes/%s/files" % q(ident), query=query)

    def file_mkdir(self, ident, **body):
        return self.post("/v1/sandboxes/%s/files/mkdir" % q(ident), body)

    def file_move(self, ident, **body):
        return self.post("/v1/sandboxes/%s/files/move" % q(ident), body)


def q(s):
    return urllib.parse.quote(s, safe="")


def _make_resp(method, path, status, headers, payload):
    body = payload
    ctype = headers.get("Content-Type", "") or ""
    if "json" in ctype:
        try:
            body = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = payload  # left as bytes: tests that expect JSON then fail visibly
    return Resp(method, path, status, body, headers, payload)


def multipart(parts, boundary=None):
    """parts: [(field, filename or None, bytes, content_type)] -> (body, content type)."""
    boundary = boundary or "----covetest" + os.urandom(12).hex()
    out = bytearray()
    for field, filename, data, ctype in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        disp = 'Content-Disposition: form-data; name="%s"' % field
        if filename is not None:
            disp += '; filename="%s"' % filename
        out += disp.encode() + b"\r\n"
        if ctype:
            out += ("Content-Type: %s\r\n" % ctype).encode()
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return bytes(out), "multipart/form-data; boundary=%s" % boundary


# ---- raw sockets (protocol tests) --------------------------------------------------------

def raw_connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def read_until_close(sock, limit_s=15.0, max_bytes=4 << 20):
    """Read until the peer closes, max_bytes arrive or limit_s passes. Returns
    (data, closed) where closed says the peer closed (or reset) the connection."""
    deadline = time.monotonic() + limit_s
    data = bytearray()
    while len(data) < max_bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(data), False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(data), True
        except socket.timeout:
            continue
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


def read_one_response(sock, limit_s=15.0):
    """Read one HTTP response (status line, headers, Content-Length body) or whatever
    arrives before the peer closes. Returns (status or None, head, body)."""
    return read_response(sock, limit_s)[:3]


def read_response(sock, limit_s=15.0):
    """Like read_one_response, plus `closed`: True if the peer closed (or reset) the
    connection before a complete response, False if it arrived or limit_s passed."""
    deadline = time.monotonic() + limit_s
    data = bytearray()
    state = {"closed": False}

    def more():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return False
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            state["closed"] = True
            return False
        except socket.timeout:
            return False
        if not chunk:
            state["closed"] = True
            return False
        data.extend(chunk)
        return True

    while b"\r\n\r\n" not in data:
        if not more():
            return status_of(bytes(data)), bytes(data), b"", state["closed"]
    head, _, rest = bytes(data).partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    body = bytearray(rest)
    if m:
        n = int(m.group(1))
        while len(body) < n:
            before = len(data)
            if not more():
                break
            body += data[before:]
        body = body[:n]
    return status_of(head), head, bytes(body), state["closed"]


def status_of(data):
    m = re.match(rb"^HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


def send_interleaved(sock, head, body, chunk=65536):
    """Send head, then body in chunks, stopping early (without error) if the server answers
    or closes first. Returns the number of body bytes sent."""
    sock.sendall(head)
    sent = 0
    while sent < len(body):
        r, _, _ = select.select([sock], [], [], 0)
        if r:
            break
        try:
            sent += sock.send(body[sent:sent + chunk])
        except (BrokenPipeError, ConnectionResetError):
            break
    return sent

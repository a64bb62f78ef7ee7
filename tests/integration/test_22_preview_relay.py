"""The preview relay (src/proxy/relay.c): HTTP/1.1 framing and the security properties of the
event-driven path that serves preview hosts on coved's TCP port.

A private coved runs with --preview-head-timeout 500, so that a slow head is cut quickly
(the test only waits for the cut, it never times it). Upstreams are preview_fixtures/
upstream.py (sandboxes A and B, port 8000). Requests are written by hand on raw sockets, so
that pipelining, framing and what comes back on one connection are exactly what we say.
"""
import json
import os
import socket
import threading

import pytest

from testenv import Client, Daemon, expect

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "preview_fixtures")
TOKEN_HEADER = "X-Daytona-Preview-Token"


@pytest.fixture(scope="module")
def rd():
    d = Daemon("relay", slot=7, extra_args=["--preview-wait", "8",
                                            "--preview-head-timeout", "500"])
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
def renv(rd):
    api = Client(rd)
    e = {}
    for name in ("a", "b"):
        sb = api.create(name="relay-%s-%s" % (name, os.urandom(3).hex()))
        sid = sb["id"]
        with open(os.path.join(FIXTURES, "upstream.py"), "rb") as f:
            expect(api.file_put(sid, "upstream.py", f.read()), 200)
        expect(api.file_put(sid, "whoami.txt", b"sandbox " + name.encode()), 200)
        e[name] = sid
        e["t" + name] = expect(api.get("/v1/sandboxes/%s/preview/8000" % sid), 200)["token"]
        r = api.post("/v1/sandboxes/%s/sessions" % sid, {"id": "srv"})
        assert r.status in (201, 409), r
        expect(api.post("/v1/sandboxes/%s/sessions/srv/exec" % sid,
                        {"command": "python3 upstream.py 8000", "async": True}), 202)
    # the readiness wait makes these the first answers
    for name in ("a", "b"):
        s = conn(rd)
        try:
            s.sendall(req(rd, e[name], e["t" + name], "/fast"))
            st, _, body = read_resp(s.makefile("rb"))
            assert (st, body) == (200, b"fast"), (st, body)
        finally:
            s.close()
    yield e


def host(d, sid, port=8000):
    return "%d-%s.localhost:%d" % (port, sid, d.port)


def conn(d):
    return socket.create_connection(("127.0.0.1", d.port), timeout=30)


def req(d, sid, token, path, method="GET", headers=(), body=b"", hostname=None):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % (hostname or host(d, sid))]
    if token is not None:
        lines.append("%s: %s" % (TOKEN_HEADER, token))
    lines += ["%s: %s" % kv for kv in headers]
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_resp(f, head=False):
    """One answer from a buffered reader: (status, {lower name: value}, body); body None
    if the connection ended before the answer did."""
    line = f.readline()
    if not line:
        return None, {}, None
    status = int(line.split()[1])
    hdrs = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode().partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if head or status in (204, 304) or 100 <= status < 200:
        return status, hdrs, b""
    if "chunked" in hdrs.get("transfer-encoding", ""):
        body = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return status, hdrs, body
            body += f.read(size)
            f.readline()
    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        body = f.read(n)
        return status, hdrs, body if len(body) == n else None
    return status, hdrs, f.read()


def json_of(body):
    return json.loads(body.decode())


def at_eof(s):
    s.settimeout(30)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def test_pipelined_requests_in_one_write(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        paths = ["/fast", "/whoami", "/bytes?n=70000", "/fast", "/chunks?n=3000"]
        s.sendall(b"".join(req(rd, renv["a"], renv["ta"], p) for p in paths))
        for p in paths:
            st, h, body = read_resp(f)
            assert st == 200, (p, st, body)
            if p == "/fast":
                assert body == b"fast"
            elif p == "/whoami":
                assert body == b"sandbox a"
            else:
                assert len(body) == int(p.split("=")[1]), (p, len(body))
    finally:
        s.close()


def test_chunked_request_body_reaches_upstream_intact(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        s.sendall(req(rd, renv["a"], renv["ta"], "/count", "POST",
                      [("Transfer-Encoding", "chunked")], body))
        st, _, b = read_resp(f)
        assert st == 200 and json_of(b)["bytes"] == 11, (st, b)
        # and the connection goes on
        s.sendall(req(rd, renv["a"], renv["ta"], "/fast"))
        assert read_resp(f)[2] == b"fast"
    finally:
        s.close()


def test_head_then_get_on_one_connection(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], renv["ta"], "/fast", "HEAD") +
                  req(rd, renv["a"], renv["ta"], "/whoami"))
        st, h, body = read_resp(f, head=True)
        assert (st, h.get("content-length")) == (200, "4"), (st, h)
        st, h, body = read_resp(f)
        assert (st, body) == (200, b"sandbox a"), (st, h, body)
    finally:
        s.close()


def test_expect_100_continue(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], renv["ta"], "/count", "POST",
                      [("Expect", "100-continue"), ("Content-Length", "5")]))
        st, _, _ = read_resp(f)
        assert st == 100, st
        s.sendall(b"12345")
        st, _, b = read_resp(f)
        assert st == 200 and json_of(b)["bytes"] == 5, (st, b)
    finally:
        s.close()


def test_expect_without_token_is_refused_before_the_body(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], None, "/count", "POST",
                      [("Expect", "100-continue"), ("Content-Length", "5")]))
        st, _, b = read_resp(f)
        assert st == 401 and json_of(b)["code"] == "UNAUTHORIZED", (st, b)
        assert at_eof(s)
    finally:
        s.close()


def test_another_sandbox_on_one_connection_is_rerouted_and_checked(rd, renv):
    """A, then B with B's token, then A: each answer comes from its own sandbox. Then B
    without a token, pipelined after A: A answers, B is refused and never reached, and the
    connection ends."""
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], renv["ta"], "/whoami") +
                  req(rd, renv["b"], renv["tb"], "/whoami") +
                  req(rd, renv["a"], renv["ta"], "/whoami"))
        for who in (b"sandbox a", b"sandbox b", b"sandbox a"):
            st, _, body = read_resp(f)
            assert (st, body) == (200, who), (st, body)
        s.sendall(req(rd, renv["a"], renv["ta"], "/whoami") +
                  req(rd, renv["b"], None, "/whoami") +
                  req(rd, renv["b"], renv["tb"], "/whoami"))
        st, _, body = read_resp(f)
        assert (st, body) == (200, b"sandbox a")
        st, h, body = read_resp(f)
        assert st == 401 and json_of(body)["code"] == "UNAUTHORIZED", (st, body)
        assert b"sandbox b" not in body
        assert at_eof(s)
    finally:
        s.close()


def test_a_token_for_a_does_not_open_b_on_a_pinned_connection(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], renv["ta"], "/whoami") +
                  req(rd, renv["b"], renv["ta"], "/whoami"))
        assert read_resp(f)[2] == b"sandbox a"
        st, _, body = read_resp(f)
        assert st == 401, (st, body)
        assert at_eof(s)
    finally:
        s.close()


def test_api_host_on_a_preview_connection_is_misdirected(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], renv["ta"], "/fast") +
                  req(rd, None, None, "/v1/sandboxes",
                      headers=[("Authorization", "Bearer %s" % rd.key)],
                      hostname="127.0.0.1:%d" % rd.port))
        assert read_resp(f)[2] == b"fast"
        st, _, body = read_resp(f)
        assert st == 421 and json_of(body)["code"] == "MISDIRECTED_REQUEST", (st, body)
        assert at_eof(s)
    finally:
        s.close()


def test_non_preview_host_on_the_tcp_port_reaches_the_api(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        for _ in range(2):  # keep-alive through libmicrohttpd
            s.sendall(req(rd, None, None, "/v1/sandboxes",
                          headers=[("Authorization", "Bearer %s" % rd.key)],
                          hostname="127.0.0.1:%d" % rd.port))
            st, _, body = read_resp(f)
            assert st == 200, (st, body)
            ids = {sb["id"] for sb in json_of(body)["sandboxes"]}
            assert {renv["a"], renv["b"]} <= ids
    finally:
        s.close()
    # and a head split into pieces, Host last, still reaches it
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(b"GET /v1/sandboxes HTTP/1.1\r\n")
        s.sendall(("Authorization: Bearer %s\r\n" % rd.key).encode())
        s.sendall(("Host: 127.0.0.1:%d\r\n\r\n" % rd.port).encode())
        assert read_resp(f)[0] == 200
    finally:
        s.close()


def test_head_over_the_cap_is_431(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        big = [("X-Big-%d" % i, "v" * 8000) for i in range(10)]
        try:
            s.sendall(req(rd, renv["a"], renv["ta"], "/fast", headers=big))
        except (BrokenPipeError, ConnectionResetError):
            pass
        st, _, body = read_resp(f)
        assert st == 431 and json_of(body)["code"] == "HEADERS_TOO_LARGE", (st, body)
    finally:
        s.close()


def test_slow_head_is_cut(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(("GET /fast HTTP/1.1\r\nHost: %s\r\n" % host(rd, renv["a"])).encode())
        # the rest never comes; the relay gives up after --preview-head-timeout
        st, _, body = read_resp(f)
        assert st == 408 and json_of(body)["code"] == "REQUEST_TIMEOUT", (st, body)
        assert at_eof(s)
    finally:
        s.close()


def test_content_length_with_transfer_encoding_is_400(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], renv["ta"], "/count", "POST",
                      [("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
                      b"0\r\n\r\nGET /whoami HTTP/1.1\r\n\r\n"))
        st, _, body = read_resp(f)
        assert st == 400 and json_of(body)["code"] == "BAD_REQUEST", (st, body)
        assert at_eof(s)
    finally:
        s.close()


def test_two_host_headers_are_400(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], renv["ta"], "/whoami",
                      headers=[("Host", host(rd, renv["b"]))]))
        st, _, body = read_resp(f)
        assert st == 400, (st, body)
    finally:
        s.close()


def test_websocket_through_the_relay_with_bytes_after_the_handshake(rd, renv):
    """A 101 turns the connection into a byte relay; a non-101 answer to an upgrade keeps
    it HTTP."""
    s = conn(rd)
    try:
        f = s.makefile("rb")
        # upstream.py does not speak WebSocket: it answers 404 and the connection goes on
        s.sendall(req(rd, renv["a"], renv["ta"], "/ws",
                      headers=[("Upgrade", "websocket"), ("Connection", "Upgrade"),
                               ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                               ("Sec-WebSocket-Version", "13")]))
        st, _, _ = read_resp(f)
        assert st == 404, st
        s.sendall(req(rd, renv["a"], renv["ta"], "/fast"))
        assert read_resp(f)[2] == b"fast"
    finally:
        s.close()


def test_upstream_closing_mid_answer(rd, renv):
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], renv["ta"], "/cut"))
        st, h, body = read_resp(f)
        assert st == 200 and body is None, (st, h)  # cut short, then the connection ends
    finally:
        s.close()
    s = conn(rd)
    try:
        f = s.makefile("rb")
        s.sendall(req(rd, renv["a"], renv["ta"], "/cuthead"))
        st, _, body = read_resp(f)
        assert st == 502 and json_of(body)["code"] == "BAD_GATEWAY", (st, body)
    finally:
        s.close()
    s = conn(rd)
    try:
        s.sendall(req(rd, renv["a"], renv["ta"], "/fast"))
        assert read_resp(s.makefile("rb"))[2] == b"fast"
    finally:
        s.close()


def test_client_closing_mid_upload_leaves_coved_healthy(rd, renv):
    for _ in range(5):
        s = conn(rd)
        s.sendall(req(rd, renv["a"], renv["ta"], "/count", "POST",
                      [("Content-Length", str(10 << 20))]))
        s.sendall(os.urandom(1 << 20))
        s.close()
    s = conn(rd)
    try:
        s.sendall(req(rd, renv["a"], renv["ta"], "/fast"))
        assert read_resp(s.makefile("rb"))[2] == b"fast"
    finally:
        s.close()
    expect(Client(rd).get("/v1/sandboxes"), 200)


def test_hundreds_of_keepalive_connections(rd, renv):
    """300 client connections, each with its own upstream connection, all kept alive. The
    first round goes in groups of 25: the stdlib upstream listens with a backlog of 5, and
    connects past it wait for SYN retransmits (seconds), which says nothing of coved. The
    later rounds go out on all 300 at once."""
    n, rounds = 300, 3
    socks = []
    try:
        for _ in range(n):
            socks.append(conn(rd))
        files = [s.makefile("rb") for s in socks]
        errors = []

        def send(i):
            who = "ab"[i % 2]
            socks[i].sendall(req(rd, renv[who], renv["t" + who], "/whoami"))

        def check(rnd, i):
            who = "ab"[i % 2]
            st, _, body = read_resp(files[i])
            if (st, body) != (200, b"sandbox " + who.encode()):
                errors.append((rnd, i, st, body))

        for g in range(0, n, 25):
            for i in range(g, g + 25):
                send(i)
            for i in range(g, g + 25):
                check(0, i)
        for rnd in range(1, rounds):
            for i in range(n):
                send(i)
            for i in range(n):
                check(rnd, i)
        assert not errors, errors[:5]
    finally:
        for s in socks:
            s.close()


def test_concurrent_uploads_and_downloads_stay_intact(rd, renv):
    results = []

    def worker(k):
        s = conn(rd)
        try:
            f = s.makefile("rb")
            data = os.urandom(300000 + k)
            s.sendall(req(rd, renv["a"], renv["ta"], "/echo", "POST", body=data))
            st, _, body = read_resp(f)
            s.sendall(req(rd, renv["a"], renv["ta"], "/bytes?n=200000"))
            st2, _, body2 = read_resp(f)
            results.append(st == 200 and body == data and st2 == 200 and len(body2) == 200000)
        finally:
            s.close()

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert results == [True] * 8, results

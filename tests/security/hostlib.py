"""Helpers for the host-side cases of the attack corpus (cases/*/*.host.py).

A host case is a program that attacks coved's API from the host. test_corpus.py runs it with
the daemon's address in the environment (COVE_URL, COVE_PORT, COVE_KEY, COVE_SOCKET,
COVE_STATE, COVED) and the host canary (CANARY_DIR, CANARY_FILE, CANARY_TOKEN). Every check
prints one line, "SAFE <what>" when cove held or "ESCAPE <what>: <detail>" when the attack
worked; done() exits 1 if any check escaped. The case header then names the SAFE lines it
expects, so a check that silently stops running fails the case too.
"""
import contextlib
import os
import subprocess
import sys
import time

from testenv import Client, expect, q  # noqa: F401  (re-exported for the cases)
from testenv.client import (multipart, raw_connect, read_response,  # noqa: F401
                            read_until_close, status_of)

_failed = []


class _Daemon:
    """The little of testenv.Daemon that Client needs."""

    def __init__(self):
        self.port = int(os.environ["COVE_PORT"])
        self.key = os.environ["COVE_KEY"]
        self.socket = os.environ["COVE_SOCKET"]
        self.state = os.environ["COVE_STATE"]


DAEMON = _Daemon()
PORT = DAEMON.port
CANARY_DIR = os.environ.get("CANARY_DIR", "")
CANARY_FILE = os.environ.get("CANARY_FILE", "")
CANARY_TOKEN = os.environ.get("CANARY_TOKEN", "")


def client(key=None, unix=False):
    """An API client; key None means the admin key of the default organization."""
    if key is None:
        return Client(DAEMON, unix=unix)
    return Client(DAEMON, key=key, unix=unix)


def safe(what):
    print("SAFE %s" % what, flush=True)


def escape(what, detail=""):
    _failed.append(what)
    print("ESCAPE %s: %s" % (what, str(detail)[:600]), flush=True)


def check(cond, what, detail=""):
    if cond:
        safe(what)
    else:
        escape(what, detail)
    return cond


def check_status(resp, status, what, code=None):
    """SAFE when resp has the status (one int or a set) and, if given, the error code."""
    want = status if isinstance(status, (set, tuple, frozenset)) else {status}
    ok = resp.status in want
    if ok and code is not None:
        ok = isinstance(resp.body, dict) and resp.body.get("code") == code
    return check(ok, what, resp)


def done():
    sys.exit(1 if _failed else 0)


def coved(*args, check_rc=True):
    """Run `coved ARGS --state STATE` (offline subcommands)."""
    cp = subprocess.run([os.environ["COVED"]] + list(args) + ["--state", DAEMON.state],
                        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if check_rc and cp.returncode != 0:
        raise RuntimeError("coved %s failed (%d): %s %s" % (" ".join(args), cp.returncode,
                                                          cp.stdout, cp.stderr))
    return cp


def new_key(org, admin=False):
    args = ["keys", "create", "--org", org, "--name", "corpus"] + (["--admin"] if admin else [])
    return coved(*args).stdout.strip().splitlines()[-1]


def revoke(key):
    coved("keys", "revoke", key[:12])


def set_quota(org, **limits):
    """coved org quota ORG --sandboxes N --cpus N --memory-mib N --disk-mib N."""
    args = ["org", "quota", org]
    for k, v in limits.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    return coved(*args)


def unique(hint):
    return "sec-%s-%s" % (hint, os.urandom(3).hex())


@contextlib.contextmanager
def sandbox(c=None, **spec):
    """A sandbox for the duration of the block, deleted afterwards (by the admin key)."""
    c = c or client()
    spec.setdefault("name", unique("h"))
    sb = expect(c.post("/v1/sandboxes", spec, timeout=120), 201)
    try:
        yield sb
    finally:
        c.destroy(sb["id"])


def sh(c, sb, command, timeout=30):
    """Run a shell string in sb; returns the exec result (asserts the call itself is 200)."""
    r = c.post("/v1/sandboxes/%s/exec" % q(sb["id"]), {"command": command, "timeout": timeout},
               timeout=timeout + 60)
    return expect(r, 200)


def healthy(limit_s=5.0):
    t0 = time.monotonic()
    r = client().get("/v1/health", auth=False, timeout=30)
    return r.status == 200 and time.monotonic() - t0 <= limit_s


def canary_intact():
    try:
        with open(CANARY_FILE) as f:
            content = f.read()
    except OSError:
        return False
    return content == CANARY_TOKEN + "\n" and sorted(os.listdir(CANARY_DIR)) == ["secret", "sub"] \
        and os.listdir(os.path.join(CANARY_DIR, "sub")) == []


def raw(data, limit_s=15.0):
    """Send raw bytes on a new TCP connection; returns (status, head, body, closed)."""
    s = raw_connect(PORT, timeout=limit_s)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_response(s, limit_s)
    finally:
        s.close()


def new_org(hint, quota=None):
    """A fresh organization made through the admin API, and a user key of it."""
    org = unique(hint)
    body = {"id": org}
    if quota is not None:
        body["quota"] = quota
    expect(client().post("/v1/admin/orgs", body), 201)
    k = expect(client().post("/v1/admin/orgs/%s/keys" % org, {"name": "corpus"}), 201)
    return org, k["key"]


def serve(c, sb, port, content):
    """Serve content as / on 127.0.0.1:port inside sb (an async session command)."""
    c.post("/v1/sandboxes/%s/files/mkdir" % q(sb["id"]), {"path": "/home/cove/www"})
    r = c.file_put(sb["id"], "/home/cove/www/index.html", content)
    if r.status != 200:
        raise RuntimeError("upload: %r" % r)
    path = "/v1/sandboxes/%s/sessions" % q(sb["id"])
    r = c.post(path, {"id": "www-%d" % port})
    if r.status != 201:
        raise RuntimeError("session: %r" % r)
    r = c.post(path + "/www-%d/exec" % port,
               {"command": "cd /home/cove/www && exec python3 -m http.server %d --bind 127.0.0.1"
                % port, "async": True})
    if r.status not in (200, 202):
        raise RuntimeError("serve: %r" % r)


def preview(host, path="/", headers=None, key=None):
    """A request to coved's TCP listener with the given Host (None: coved's own address);
    no API key unless key is given."""
    c = client(key)
    h = {"Host": host or "127.0.0.1:%d" % PORT}
    h.update(headers or {})
    return c.request("GET", path, headers=h, auth=key is not None, timeout=60)


def preview_host(label, port):
    return "%d-%s.localhost:%d" % (port, label, PORT)

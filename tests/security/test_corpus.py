"""Runs every case of the attack corpus (cases/<class>/*) against a real coved and compares
its verdict with the one stored in the case's header (see corpus.py for the format).

In-sandbox cases (.py, .sh, .c) are uploaded through the file API into a fresh sandbox and run
through the exec API (C is compiled there with gcc first); host cases (.host.py) run on the
host and attack the API itself. A case with a `gap:` line is a strict xfail: it documents a
hole cove has today, with the verdict it must reach once the hole is closed.
"""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

import corpus
from conftest import host_env
from testenv import expect, q

CASES = corpus.load_all()
READY = "/tmp/.cove-ready"
HOME = "/home/cove"
EXEC_PAD = 90  # seconds the HTTP client waits beyond the exec timeout


def _param(c):
    marks = []
    if c.gap:
        marks.append(pytest.mark.xfail(strict=not c.flaky, reason="known gap: " + c.gap))
    return pytest.param(c, id=c.id, marks=marks)


class Run:
    """One case in flight: the sandboxes it made, and helpers over the API."""

    def __init__(self, case, api, canary):
        self.case, self.api, self.canary = case, api, canary
        self.made = []

    def create(self, spec, name=None):
        spec = dict(spec)
        spec["name"] = name or "sec-%s-%s" % (
            self.case.name.replace("_", "-")[:40], os.urandom(3).hex())
        sb = expect(self.api.post("/v1/sandboxes", spec, timeout=120), 201)
        self.made.append(sb["id"])
        return sb

    def delete(self, sb):
        expect(self.api.destroy(sb["id"]), 200)
        self.made.remove(sb["id"])

    def cleanup(self):
        # wait=true: a case's processes must be gone before the next case starts (a dying
        # fork bomb still takes CPU).
        for ident in self.made:
            self.api.delete("/v1/sandboxes/%s?wait=true" % q(ident), timeout=120)
        self.made = []

    def install(self, sb):
        """Upload the case into sb (and compile it); returns the argv prefix that runs it."""
        base = os.path.basename(self.case.path)
        dest = "%s/%s" % (HOME, base)
        with open(self.case.path, "rb") as f:
            expect(self.api.file_put(sb["id"], dest, f.read()), 200)
        if self.case.ext == ".py":
            return ["python3", dest]
        if self.case.ext == ".sh":
            return ["/bin/sh", dest]
        binary = "%s/%s.bin" % (HOME, self.case.name)
        cc = ["gcc", "-O1", "-D_GNU_SOURCE", "-Wall", "-Wno-unused-result",
              "-Werror=implicit-function-declaration", "-o", binary, dest]
        r = self.api.exec_raw(sb["id"], cmd=cc, timeout=120)
        res = expect(r, 200)
        if res["exit_code"] != 0:
            pytest.fail("%s does not compile in the sandbox:\n%s" % (self.case.id,
                                                                      res["stderr"]))
        return [binary]

    def exec(self, sb, argv, phase):
        env = {"CANARY_FILE": self.canary.file, "CANARY_DIR": self.canary.dir,
               "HOST_HOSTNAME": os.uname().nodename, "COVED_PORT": str(self.api.daemon.port),
               "COVE_STATE_DIR": self.api.daemon.state}
        req = {"cmd": argv + [phase], "timeout": self.case.timeout, "env": env}
        req.update(self.case.exec_extra)
        r = self.api.post("/v1/sandboxes/%s/exec" % q(sb["id"]), req,
                          timeout=self.case.timeout + EXEC_PAD)
        res = dict(r.body) if r.status == 200 and isinstance(r.body, dict) else {
            "body": r.body}
        res["status"] = r.status
        return res

    def wait_ready(self, sb, thread, limit=60.0):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.api.file_stat(sb["id"], READY).status == 200:
                return True
            if not thread.is_alive():
                return False
            time.sleep(0.05)
        return False

    def quiet(self, sb):
        """No process but init (and the checker with its ancestors) left in sb; zombies
        awaiting init's reaping are not processes. Retries for two seconds."""
        code = ("import os\n"
                "mine, p = {1}, os.getpid()\n"
                "while p > 1:  # the checker and whatever started it (a per-command reaper)\n"
                "    mine.add(p)\n"
                "    p = int(open('/proc/%d/stat' % p).read().rsplit(')', 1)[1].split()[1])\n"
                "for d in os.listdir('/proc'):\n"
                "    if d.isdigit() and int(d) not in mine:\n"
                "        try:\n"
                "            st = open('/proc/%s/stat' % d).read().rsplit(')', 1)[1].split()[0]\n"
                "        except OSError:\n"
                "            continue\n"
                "        if st != 'Z':\n"
                "            print(d, open('/proc/%s/cmdline' % d, 'rb').read()[:80])\n")
        left = ""
        for _ in range(20):
            res = expect(self.api.exec_raw(sb["id"], cmd=["python3", "-c", code], timeout=30),
                         200)
            left = res["stdout"]
            if not left:
                return ""
            time.sleep(0.1)
        return left


def _bg(fn):
    box = {}

    def target():
        try:
            box["r"] = fn()
        except BaseException as e:  # reported by the caller
            box["e"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def _result(t, box, what, limit):
    t.join(limit)
    if t.is_alive():
        pytest.fail("%s never returned" % what)
    if "e" in box:
        raise box["e"]
    return box["r"]


class Meanwhile:
    """Polls GET /v1/health while the attack runs; records the slowest answer."""

    def __init__(self, api, terms):
        self.api, self.terms = api, terms
        self.worst, self.failures, self.polls = 0.0, [], 0
        self.stop = threading.Event()
        self.thread = None

    def start(self):
        if any(k == "health" for k, _, _ in self.terms):
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()

    def _loop(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                r = self.api.get("/v1/health", auth=False, timeout=30)
                if r.status != 200:
                    self.failures.append("health answered %d" % r.status)
            except OSError as e:
                self.failures.append("health: %s" % e)
            self.worst = max(self.worst, time.monotonic() - t0)
            self.polls += 1
            self.stop.wait(0.2)

    def finish(self):
        self.stop.set()
        if self.thread:
            self.thread.join(60)
        bad = list(self.failures)
        for key, op, want in self.terms:
            if key == "health" and self.worst > float(want):
                bad.append("health answered in %.2f s (want <= %s)" % (self.worst, want))
            if key == "health" and self.polls == 0:
                bad.append("health was never polled while the attack ran")
        return bad


def run_sandbox_case(run):
    c = run.case
    main = run.create(c.sandbox)
    argv = run.install(main)
    peer_res = None
    meanwhile = Meanwhile(run.api, c.meanwhile)
    limit = c.timeout + EXEC_PAD + 30

    if c.peer == "fresh":
        first = run.create(c.peer_sandbox)
        peer_argv = run.install(first)
        peer_res = run.exec(first, peer_argv, "peer")
        run.delete(first)
        # The main sandbox takes over the deleted sandbox's name.
        run.delete(main)
        main = run.create(c.sandbox, name=first["name"])
        argv = run.install(main)
        res = run.exec(main, argv, "main")
    elif c.peer in ("before", "around"):
        peer = run.create(c.peer_sandbox)
        peer_argv = run.install(peer)
        if c.peer == "before":
            peer_res = run.exec(peer, peer_argv, "peer")
            res = run.exec(main, argv, "main")
        else:
            t, box = _bg(lambda: run.exec(peer, peer_argv, "peer"))
            if not run.wait_ready(peer, t):
                pytest.fail("the peer phase never became ready: %s" % box.get("r"))
            meanwhile.start()
            res = run.exec(main, argv, "main")
            peer_res = _result(t, box, "the peer phase", limit)
    elif c.peer == "inside":
        peer = run.create(c.peer_sandbox)
        peer_argv = run.install(peer)
        t, box = _bg(lambda: run.exec(main, argv, "main"))
        if not run.wait_ready(main, t):
            pytest.fail("the main phase never became ready: %s" % box.get("r"))
        meanwhile.start()
        peer_res = run.exec(peer, peer_argv, "peer")
        res = _result(t, box, "the main phase", limit)
    else:
        t, box = _bg(lambda: run.exec(main, argv, "main"))
        if c.ready and not run.wait_ready(main, t):
            pytest.fail("the main phase never became ready: %s" % box.get("r"))
        meanwhile.start()
        res = _result(t, box, "the main phase", limit)

    bad = corpus.judge(c.expect, res, c.meta.get("stdout-has", []),
                       c.meta.get("stdout-lacks", []))
    bad += meanwhile.finish()
    if peer_res is not None:
        bad += ["peer: " + b for b in corpus.judge(c.peer_expect, peer_res,
                                                   c.meta.get("peer-stdout-has", []))]
    if c.compare:
        bad += corpus.judge_compare(c.compare, res, peer_res)
    if "quiet" in c.after and res.get("status") == 200:
        left = run.quiet(main)
        if left:
            bad.append("processes left after the command returned: %s" % left.strip())
    return res, peer_res, bad


def run_host_case(case, daemon, canary):
    t0 = time.monotonic()
    try:
        cp = subprocess.run([sys.executable, case.path], env=host_env(daemon, canary),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=case.timeout)
        res = {"exit_code": cp.returncode, "stdout": cp.stdout, "stderr": cp.stderr}
    except subprocess.TimeoutExpired as e:
        res = {"exit_code": None, "timed_out": True,
               "stdout": (e.stdout or b"").decode("utf-8", "replace")
               if isinstance(e.stdout, bytes) else (e.stdout or ""),
               "stderr": str(e.stderr or "")}
    res["duration_ms"] = (time.monotonic() - t0) * 1000
    res.setdefault("timed_out", False)
    res["status"] = 200
    bad = corpus.judge(case.expect, res, case.meta.get("stdout-has", []),
                       case.meta.get("stdout-lacks", []))
    return res, bad


def _show(res):
    if res is None:
        return "-"
    shown = dict(res)
    for k in ("stdout", "stderr"):
        if isinstance(shown.get(k), str) and len(shown[k]) > 1500:
            shown[k] = shown[k][:1500] + "...(%d bytes)" % len(shown[k])
    return json.dumps(shown, indent=1, default=str)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case, api, daemon, canary, watched):
    if case.host:
        res, bad = run_host_case(case, daemon, canary)
        peer_res = None
    else:
        run = Run(case, api, canary)
        try:
            res, peer_res, bad = run_sandbox_case(run)
        finally:
            run.cleanup()
    if os.environ.get("COVE_CORPUS_VERBOSE"):
        print("\n== %s\n%s\npeer: %s" % (case.id, _show(res), _show(peer_res)))
    if not canary.intact():
        bad.append("the host canary %s changed" % canary.dir)
    if not daemon.running():
        bad.append("coved died")
    else:
        h = api.get("/v1/health", auth=False, timeout=30)
        if h.status != 200:
            bad.append("coved unhealthy after the case: %s" % h)
    assert not bad, "%s: %s\n  attack: %s\n  why it must fail: %s\nresult: %s\npeer: %s" % (
        case.id, "; ".join(bad), case.meta["attack"], case.meta["why"], _show(res),
        _show(peer_res))

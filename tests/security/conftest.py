"""Fixtures of the attack corpus (tests/security): one coved for the whole run, a host canary,
and the corpus counts.

Run as root:  /usr/bin/python3 -m pytest tests/security     (COVE_BUILD=/work/main/build)

The daemon comes from the integration suite's testenv (tests/integration/testenv): a fresh
state directory under /var/tmp, its own cgroup root and uid base, started and awaited on
--ready-fd. The canary is a host directory /var/tmp/cove-canary-XXXX holding a file with a
random token; cases that try to reach host files aim at it, and the session fails if it
changed. At the end the run prints "security corpus: N cases: P passed, F failed, G known
gaps"; with COVE_SECURITY_REPORT=1 (and the whole corpus selected) the same counts replace
the results block of docs/SECURITY.md.
"""
import datetime
import hashlib
import os
import shutil
import socket
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTENV_DIR = os.path.normpath(os.path.join(HERE, "..", "integration"))
sys.path.insert(0, TESTENV_DIR)
sys.path.insert(0, HERE)

from testenv import Client, Daemon, DaemonError, coved_path, init_path  # noqa: E402

import corpus  # noqa: E402

SECURITY_MD = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "SECURITY.md"))
BEGIN, END = "<!-- corpus-results:begin -->", "<!-- corpus-results:end -->"
_STATE = {"results": {}, "daemon": None}


def _preflight():
    if os.geteuid() != 0:
        pytest.skip("the attack corpus needs root (coved runs as root)")
    for path in (coved_path(), init_path()):
        if not os.access(path, os.X_OK):
            pytest.skip("%s is not built (set COVE_BUILD or build with ninja)" % path)


class Canary:
    """A host directory no sandbox and no API call may read, change or add to."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cove-canary-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.token = "canary-" + os.urandom(8).hex()
        self.file = os.path.join(self.dir, "secret")
        with open(self.file, "w") as f:
            f.write(self.token + "\n")
        os.chmod(self.file, 0o644)
        os.mkdir(os.path.join(self.dir, "sub"))
        self.snapshot = self._digest()

    def _digest(self):
        h = hashlib.sha256()
        for root, dirs, files in os.walk(self.dir):
            dirs.sort()
            for name in sorted(dirs + files):
                p = os.path.join(root, name)
                st = os.lstat(p)
                h.update(("%s %o %d %d\n" % (os.path.relpath(p, self.dir), st.st_mode,
                                               st.st_uid, st.st_size)).encode())
                if os.path.isfile(p) and not os.path.islink(p):
                    with open(p, "rb") as f:
                        h.update(f.read())
        return h.hexdigest()

    def intact(self):
        return self._digest() == self.snapshot

    def env(self):
        return {"CANARY_DIR": self.dir, "CANARY_FILE": self.file, "CANARY_TOKEN": self.token}


@pytest.fixture(scope="session")
def canary():
    c = Canary()
    yield c
    ok = c.intact()
    shutil.rmtree(c.dir, ignore_errors=True)
    if not ok:
        pytest.fail("the host canary %s was changed during the run" % c.dir, pytrace=False)


@pytest.fixture(scope="session")
def daemon():
    _preflight()
    d = Daemon("security", slot=11)
    try:
        d.start()
    except DaemonError as e:
        d.kill()
        problems = d.cleanup(keep=bool(os.environ.get("COVE_TEST_KEEP")))
        pytest.fail("coved did not start: %s %s" % (e, problems), pytrace=False)
    _STATE["daemon"] = d
    yield d
    _STATE["daemon"] = None
    if d.running():
        client = Client(d)
        r = client.get("/v1/sandboxes")
        for sb in (r.body.get("sandboxes", []) if r.status == 200 else []):
            client.destroy(sb["id"])
    rc, killed = d.stop()
    tail = d.log_tail()
    problems = d.cleanup(keep=bool(os.environ.get("COVE_TEST_KEEP")))
    if killed or rc not in (0, None) or problems:
        pytest.fail("corpus teardown: coved status %r%s; %s\n%s"
                    % (rc, " (SIGKILLed)" if killed else "", "; ".join(problems), tail),
                    pytrace=False)


@pytest.fixture
def watched(daemon, request):
    """Restart a dead daemon before a case; fail the case during which it died."""
    if not daemon.running():
        daemon.crashes.append(daemon.proc.returncode)
        daemon.start(expect_key_line=False)
    offset = daemon.log_size()
    yield
    if not daemon.running():
        pytest.fail("coved died during this case (exit status %r)\n%s"
                    % (daemon.proc.returncode, daemon.log_since(offset)), pytrace=False)


@pytest.fixture(scope="session")
def api(daemon):
    return Client(daemon)


def host_env(daemon, canary):
    env = dict(os.environ)
    env.update(canary.env())
    env.update({
        "COVE_URL": daemon.url, "COVE_PORT": str(daemon.port), "COVE_KEY": daemon.key,
        "COVE_SOCKET": daemon.socket, "COVE_STATE": daemon.state, "COVED": coved_path(),
        "PYTHONPATH": os.pathsep.join([HERE, TESTENV_DIR, env.get("PYTHONPATH", "")]),
    })
    return env


# ---- counts -------------------------------------------------------------------------------

def pytest_runtest_logreport(report):
    if "test_corpus.py::test_case[" not in report.nodeid:
        return
    cid = report.nodeid.split("[", 1)[1].rstrip("]")
    res = _STATE["results"]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            # a strict xpass is reported as failed; a flaky gap that did not show, as passed
            res[cid] = "gap" if report.skipped else ("gap_unseen" if report.passed else "failed")
        elif report.passed:
            res[cid] = "passed"
        elif report.skipped:
            res[cid] = "skipped"
        else:
            res[cid] = "failed"
    elif report.when == "teardown" and report.failed:
        res[cid] = "failed"


def _counts():
    cases = {c.id: c for c in corpus.load_all()}
    per = {}
    for cid, outcome in _STATE["results"].items():
        cls = cid.split("/", 1)[0]
        row = per.setdefault(cls, {"cases": 0, "passed": 0, "failed": 0, "gap": 0, "skipped": 0})
        row["cases"] += 1
        row["gap" if outcome == "gap_unseen" else outcome] += 1
    return cases, per


def pytest_terminal_summary(terminalreporter):
    if not _STATE["results"]:
        return
    cases, per = _counts()
    tot = {k: sum(r[k] for r in per.values()) for k in ("cases", "passed", "failed", "gap",
                                                           "skipped")}
    line = ("security corpus: %d cases: %d passed, %d failed, %d known gaps"
            % (tot["cases"], tot["passed"], tot["failed"], tot["gap"]))
    if tot["skipped"]:
        line += ", %d skipped" % tot["skipped"]
    terminalreporter.write_sep("=", line)
    if os.environ.get("COVE_SECURITY_REPORT") == "1":
        if tot["cases"] != len(cases):
            terminalreporter.write_line("COVE_SECURITY_REPORT: only %d of %d cases ran; "
                                        "docs/SECURITY.md left alone" % (tot["cases"], len(cases)))
            return
        _write_report(cases, per, tot)
        terminalreporter.write_line("corpus results written to %s" % SECURITY_MD)


def _write_report(cases, per, tot):
    try:
        with open(SECURITY_MD, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return
    if BEGIN not in text or END not in text:
        return
    cg = "v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "v1"
    lines = [BEGIN, "",
             "Last full run: %s UTC on %s (kernel %s, cgroup %s, %d CPUs)." % (
                 datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), socket.gethostname(),
                 os.uname().release, cg, os.cpu_count() or 0),
             "",
             "**%d cases: %d passed, %d failed, %d known gaps.**" % (
                 tot["cases"], tot["passed"], tot["failed"], tot["gap"]),
             "",
             "| class | cases | passed | failed | known gaps |",
             "|---|---|---|---|---|"]
    for cls in sorted(per):
        r = per[cls]
        lines.append("| %s | %d | %d | %d | %d |" % (cls, r["cases"], r["passed"], r["failed"],
                                                   r["gap"]))
    gaps = [c for c in cases.values() if c.gap]
    if gaps:
        lines += ["", "Known gaps (strict xfail, so each must keep failing until fixed, except the "
                  "timing-dependent ones marked flaky):", ""]
        for c in sorted(gaps, key=lambda c: c.id):
            state = _STATE["results"].get(c.id, "?")
            how = {"gap": "fails as recorded", "gap_unseen": "timing dependent, did not show "
                   "this run"}.get(state, state)
            lines.append("- `%s` (%s): %s" % (c.id, how, c.gap))
    lines += ["", END]
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    with open(SECURITY_MD + ".tmp", "w", encoding="utf-8") as f:
        f.write(head + "\n".join(lines) + tail)
    os.replace(SECURITY_MD + ".tmp", SECURITY_MD)

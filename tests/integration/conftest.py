"""Fixtures of the cove integration suite.

Run as root:  /usr/bin/python3 -m pytest tests/integration     (COVE_BUILD=/work/main/build)

One coved serves the whole session: it is started from the build directory on a fresh state
directory under /var/tmp/cove-test-XXXX with a unique cgroup root and uid base, and we wait
for "READY port=N" on its --ready-fd. Tests talk to it with testenv.Client (HTTP/1.1 over
TCP, or over its Unix socket). test_06 and test_16 start private daemons of their own,
because they kill and restart them (test_16 also puts one's state on a small tmpfs). Set COVE_TEST_KEEP=1 to keep the temporary directories (state, logs).

If coved dies during a test, that test errors at teardown with the daemon's log, and the
daemon is restarted on the same state so that the rest of the suite still says something.
"""
import os
import re

import pytest

from testenv import Client, Daemon, DaemonError, cli_path, coved_path, host, init_path

_SESSION = {}


def unique_name(hint):
    """A valid, unique sandbox name derived from hint."""
    base = re.sub(r"[^A-Za-z0-9-]+", "-", hint).strip("-")[:40] or "t"
    return "t-%s-%s" % (base, os.urandom(3).hex())


def require_host_tools(*names):
    """Sandboxes see the host's /usr: skip when a program the test runs is not installed."""
    missing = [n for n in names if not host.have_tool(n)]
    if missing:
        pytest.skip("host /usr lacks %s (needed inside the sandbox)" % ", ".join(missing))


def _preflight():
    if os.geteuid() != 0:
        pytest.skip("the integration tests need root (coved runs as root)")
    for path in (coved_path(), init_path()):
        if not os.access(path, os.X_OK):
            pytest.skip("%s is not built (set COVE_BUILD or build with ninja)" % path)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def daemon():
    _preflight()
    d = Daemon("main", slot=0)
    try:
        d.start()
    except DaemonError as e:
        d.kill()
        problems = d.cleanup(keep=bool(os.environ.get("COVE_TEST_KEEP")))
        pytest.fail("coved did not start: %s %s" % (e, problems), pytrace=False)
    _SESSION["daemon"] = d
    yield d
    _SESSION.pop("daemon", None)
    died = None if d.running() else d.proc.returncode
    if died is None:
        # Sandboxes outlive a SIGTERMed coved by design: delete what the tests left (a test
        # that failed before registering its sandbox), so that what remains after the stop
        # is a leak of coved's, not of ours.
        client = Client(d)
        r = client.get("/v1/sandboxes")
        for sb in (r.body.get("sandboxes", []) if r.status == 200 else []):
            client.destroy(sb["id"])
    rc, killed = d.stop()
    tail = d.log_tail()
    problems = d.cleanup(keep=bool(os.environ.get("COVE_TEST_KEEP")))
    msgs = []
    if died is not None:
        msgs.append("coved had already exited (status %r) at the end of the session" % died)
    if killed:
        msgs.append("coved did not exit within 10 s of SIGTERM; it was SIGKILLed")
    elif died is None and rc != 0:
        msgs.append("coved exited with status %r after SIGTERM (want 0)" % rc)
    msgs.extend(problems)
    if msgs:
        pytest.fail("session teardown: " + "; ".join(msgs) + "\n" + tail, pytrace=False)


@pytest.fixture(autouse=True)
def _watch_daemon(daemon, request):
    """Restart a dead session daemon before a test; fail the test if it died during it."""
    d = daemon
    if not d.running():
        d.crashes.append(d.proc.returncode)
        d.start(expect_key_line=False)
    request.node._cove_log_offset = d.log_size()
    yield
    if not d.running():
        pytest.fail("coved died during this test (exit status %r)\n%s"
                    % (d.proc.returncode, d.log_since(request.node._cove_log_offset)),
                    pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    d = _SESSION.get("daemon")
    if d is None or not rep.failed or call.when != "call":
        return
    offset = getattr(item, "_cove_log_offset", None)
    text = d.log_since(offset).strip() if offset is not None else ""
    if text:
        rep.sections.append(("coved log during this test", text))


@pytest.fixture(scope="session")
def api(daemon):
    return Client(daemon)


@pytest.fixture(scope="session")
def unix_api(daemon):
    return Client(daemon, unix=True)


@pytest.fixture(scope="session")
def cove_cli():
    path = cli_path()
    if not os.access(path, os.X_OK):
        pytest.skip("%s is not built" % path)
    return path


class SandboxFactory:
    def __init__(self, api, hint):
        self.api, self.hint, self.made = api, hint, []

    def __call__(self, **spec):
        spec.setdefault("name", unique_name(self.hint))
        sb = self.api.create(**spec)
        assert sb.get("state") == "started", "new sandbox not started: %r" % sb
        self.made.append(sb["id"])
        return sb

    def cleanup(self):
        bad = []
        for ident in self.made:
            try:
                r = self.api.destroy(ident)
            except OSError as e:
                bad.append("delete %s: %s" % (ident, e))
                continue
            if r.status not in (200, 404):
                bad.append(str(r))
        self.made = []
        if bad:
            pytest.fail("deleting the test's sandboxes failed: %s" % "; ".join(bad),
                        pytrace=False)


@pytest.fixture
def make_sandbox(api, request):
    f = SandboxFactory(api, request.node.name)
    yield f
    f.cleanup()


@pytest.fixture
def sandbox(make_sandbox):
    """A fresh default sandbox for one test, deleted afterwards."""
    return make_sandbox()


@pytest.fixture(scope="module")
def module_sandbox(api, request):
    """One default sandbox shared by the read-only tests of a module."""
    f = SandboxFactory(api, request.module.__name__.replace("test_", "m-"))
    yield f()
    f.cleanup()

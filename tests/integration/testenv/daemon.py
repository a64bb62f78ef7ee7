"""Start, stop, kill and clean up one coved for the integration tests.

A Daemon owns a private directory /var/tmp/cove-test-XXXX (not /tmp, which may be a small
tmpfs) that holds the state directory, the Unix socket and the daemon's log. coved is told
to write "READY port=N" to a pipe (--ready-fd); we wait on that pipe with select() and a
30 s bound, never by sleeping and polling. Its stdout is drained by a thread (coved prints
"api-key: cove_..." there on first start).

Cleanup is defensive because a crashed or buggy daemon must not poison the host: processes
in the daemon's uid range are killed by pid, anything mounted under the directory is
lazily unmounted (the state holds loop-mounted disks), the empty cgroups under our unique
cgroup root are removed, and then the directory itself.
"""
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from . import host

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
KEY_LINE_TIMEOUT = 10.0
# Each sandbox gets 65536 host uids; coved may hold up to 1000 sandboxes (plus slack).
UID_RANGE = 65536 * 1100
UID_FIRST = 3000000000
UID_LAST_BASE = 4294967295 - UID_RANGE


class DaemonError(Exception):
    pass


def build_dir():
    return os.environ.get("COVE_BUILD", "/work/main/build")


def binary(rel):
    return os.path.join(build_dir(), rel)


def coved_path():
    return binary("src/daemon/coved")


def cli_path():
    return binary("src/cli/cove")


def init_path():
    return binary("src/init/cove-init")


def uid_bases_in_use():
    """The --uid-base of every coved running on this host (other test runs included)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"--uid-base" in argv[:-1]:
            try:
                found.append(int(argv[argv.index(b"--uid-base") + 1]))
            except ValueError:
                pass
    return found


def pick_uid_base(slot):
    """A uid base unique to this run (pid-derived) and to slot, inside the allowed window,
    skipping the ranges of coveds that already run: cleanup() kills every process in our
    range, so a range shared with a concurrent test run would kill its sandboxes."""
    n_slots = (UID_LAST_BASE - UID_FIRST) // UID_RANGE
    first = (os.getpid() + slot * 7) % n_slots
    used = uid_bases_in_use()
    for k in range(n_slots):
        base = UID_FIRST + ((first + k) % n_slots) * UID_RANGE
        # Also skip ranges that still hold processes: sandboxes outlive their coved by design,
        # so an interrupted earlier run can leave some behind.
        if not any(b < base + UID_RANGE and base < b + UID_RANGE for b in used) and \
                not host.pids_in_uid_range(base, base + UID_RANGE):
            return base
    return UID_FIRST + first * UID_RANGE


class Daemon:
    def __init__(self, label="main", slot=0, extra_args=()):
        self.label = label
        self.base = tempfile.mkdtemp(prefix="cove-test-", dir="/var/tmp")
        os.chmod(self.base, 0o755)
        self.state = os.path.join(self.base, "state")
        self.socket = os.path.join(self.base, "coved.sock")
        self.log_path = os.path.join(self.base, "coved.log")
        self.cgroup_root = "cove-test-%d-%s" % (os.getpid(), label)
        self.uid_base = pick_uid_base(slot)
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.key = None
        self.stdout_lines = []  # every stdout line of every start, in order
        self.starts = 0
        self.crashes = []  # (when, returncode) of unexpected exits seen by check_alive()
        self._key_event = threading.Event()
        self._reader = None

    # ---- command line -------------------------------------------------------------------

    def argv(self, ready_fd):
        return [
            coved_path(),
            "--state", self.state,
            "--listen", "127.0.0.1:0",
            "--socket", self.socket,
            "--cgroup-root", self.cgroup_root,
            "--uid-base", str(self.uid_base),
            "--init", init_path(),
            "--ready-fd", str(ready_fd),
        ] + self.extra_args

    @property
    def uid_range(self):
        return (self.uid_base, self.uid_base + UID_RANGE)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    # ---- start / stop -------------------------------------------------------------------

    def _drain_stdout(self, pipe):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            m = re.match(r"^api-key: (cove_\S+)$", line)
            if m and self.key is None:
                self.key = m.group(1)
                self._key_event.set()
        pipe.close()

    def start(self, expect_key_line=None):
        """Start coved and wait until it is listening. On a fresh state directory it must
        print its admin key; expect_key_line=None means "only if we have no key yet"."""
        if expect_key_line is None:
            expect_key_line = self.key is None
        rfd, wfd = os.pipe()
        log = open(self.log_path, "ab")
        log.write(("\n==== start #%d: %s\n" % (self.starts + 1, " ".join(self.argv(wfd))))
                  .encode())
        log.flush()
        try:
            self.proc = subprocess.Popen(
                self.argv(wfd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=log, pass_fds=(wfd,), start_new_session=True, close_fds=True)
        finally:
            os.close(wfd)
            log.close()
        self.starts += 1
        self._reader = threading.Thread(target=self._drain_stdout, args=(self.proc.stdout,),
                                        daemon=True)
        self._reader.start()
        try:
            self.port = self._wait_ready(rfd)
        finally:
            os.close(rfd)
        if expect_key_line and not self._key_event.wait(KEY_LINE_TIMEOUT):
            raise DaemonError("coved is READY but printed no 'api-key: cove_...' line on "
                              "stdout within %.0f s; stdout so far: %r"
                              % (KEY_LINE_TIMEOUT, self.stdout_lines))
        return self

    def _wait_ready(self, rfd):
        deadline = time.monotonic() + READY_TIMEOUT
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise DaemonError("coved wrote no READY line within %.0f s (got %r)\n%s"
                                  % (READY_TIMEOUT, buf, self.log_tail()))
            readable, _, _ = select.select([rfd], [], [], left)
            if not readable:
                continue
            chunk = os.read(rfd, 512)
            if not chunk:
                rc = self._reap(5)
                raise DaemonError("coved closed its ready fd before READY (exit status %r, "
                                  "got %r)\n%s" % (rc, buf, self.log_tail()))
            buf += chunk
        m = re.match(rb"^READY port=(\d+)\n$", buf)
        if not m:
            self.kill()
            raise DaemonError("bad ready line %r (want 'READY port=N\\n')" % buf)
        port = int(m.group(1))
        if not 0 < port < 65536:
            self.kill()
            raise DaemonError("READY names an impossible port: %r" % buf)
        return port

    def _reap(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s. Returns (returncode, needed_sigkill)."""
        if self.proc is None:
            return None, False
        if self.proc.poll() is not None:
            rc = self.proc.returncode
            self._join_reader()
            return rc, False
        self.proc.send_signal(signal.SIGTERM)
        rc = self._reap(STOP_TIMEOUT)
        killed = False
        if rc is None:
            killed = True
            self.proc.kill()
            rc = self._reap(STOP_TIMEOUT)
        self._join_reader()
        return rc, killed

    def kill(self):
        """SIGKILL coved (the daemon only: its sandboxes' processes live on)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.kill()
        self._reap(STOP_TIMEOUT)
        self._join_reader()

    def _join_reader(self):
        if self._reader is not None:
            self._reader.join(5)

    # ---- offline subcommands ------------------------------------------------------------

    def keys(self, *args, check=True):
        """Run `coved keys ARGS --state DIR`; returns CompletedProcess (text)."""
        cp = subprocess.run([coved_path(), "keys"] + list(args) + ["--state", self.state],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=30)
        if check and cp.returncode != 0:
            raise AssertionError("coved keys %s failed (%d): stdout=%r stderr=%r"
                                 % (" ".join(args), cp.returncode, cp.stdout, cp.stderr))
        return cp

    # ---- diagnostics and cleanup --------------------------------------------------------

    def log_tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no coved log)"
        return "---- last %d lines of %s ----\n%s" % (n, self.log_path, "\n".join(lines[-n:]))

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset, limit=8000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace")
        return text[-limit:]

    def cleanup(self, keep=False):
        """Best effort: after stop(). Returns a list of problems found (leftovers)."""
        problems = []
        pids = host.pids_in_uid_range(*self.uid_range)
        if pids:
            problems.append("processes left in uid range %d..%d: %s"
                            % (self.uid_range + (host.describe_pids(pids),)))
            host.kill_pids(pids)
        for mnt in host.mounts_under(self.base):
            subprocess.run(["umount", "-l", mnt], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        host.remove_cgroup_tree(self.cgroup_root)
        if not keep:
            shutil.rmtree(self.base, ignore_errors=True)
        return problems


def start_private(label, slot, extra_args=(), before_start=None):
    """A private coved of its own (state, uid range, cgroup root, port by slot), started;
    before_start(d) may prepare its state directory first."""
    d = Daemon(label, slot=slot, extra_args=list(extra_args))
    try:
        if before_start:
            before_start(d)
        d.start()
    except Exception:
        d.kill()
        d.cleanup()
        raise
    return d


def finish_private(d):
    """Stop a private coved and check for leftovers: processes, mounts or cgroups left, or a
    coved that ignored SIGTERM, fail the test (module)."""
    import pytest
    rc, killed = d.stop()
    tail = d.log_tail()
    problems = d.cleanup(keep=bool(os.environ.get("COVE_TEST_KEEP")))
    if killed:
        problems.append("private coved ignored SIGTERM for 10 s")
    if problems:
        pytest.fail("private daemon teardown: %s\n%s" % ("; ".join(problems), tail),
                    pytrace=False)


def private_daemon(label, slot, extra_args=()):
    """Generator for a module-scoped pytest fixture: start_private(), yield, finish_private()."""
    d = start_private(label, slot, extra_args)
    yield d
    finish_private(d)

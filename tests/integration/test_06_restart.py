"""Daemon restarts and leaks. These tests run private coveds (they SIGKILL them), started
with --disk-warm 0 so that every loop-mounted disk under the state directory belongs to a
sandbox and the before/after counts must match exactly."""
import glob
import os
import threading
import time

import pytest

from testenv import Client, expect, host, private_daemon


def loop_backing_files_under(path):
    path = os.path.realpath(path)
    found = []
    for bf in glob.glob("/sys/block/loop*/loop/backing_file"):
        try:
            with open(bf) as f:
                target = f.read().strip()
        except OSError:
            continue
        if target == path or target.startswith(path + "/"):
            found.append(target)
    return sorted(found)


def resources(d):
    """What a daemon's sandboxes hold on the host."""
    return {
        "cgroups": host.cgroup_dirs(d.cgroup_root),
        "loop_mounts": host.loop_mounts_under(d.state),
        "loop_devices": loop_backing_files_under(d.state),
        "processes": host.pids_in_uid_range(*d.uid_range),
    }


def assert_back_to(base, d, limit=10.0):
    """Every count back to base. A delete answers once the sandbox is gone from the API and
    its processes are killed; the rest is released by coved's teardown threads moments
    later, so the counts are polled (bounded) before they are compared."""
    deadline = time.monotonic() + limit
    now = resources(d)
    while now != base and time.monotonic() < deadline:
        time.sleep(0.05)
        now = resources(d)
    for k in base:
        assert now[k] == base[k], "%s leaked after delete: before %r, after %r%s" % (
            k, base[k], now[k],
            (" (" + host.describe_pids(now[k]) + ")") if k == "processes" else "")


@pytest.fixture(scope="module")
def private():
    yield from private_daemon("restart", slot=3, extra_args=["--disk-warm", "0"])


@pytest.fixture(scope="module")
def restarted(private):
    """Two sandboxes with files, then SIGKILL coved and start it again on the same state."""
    d = private
    api = Client(d)
    st = {"base": resources(d)}
    st["sb"] = api.create(name="survivor", labels={"t": "restart"})
    st["other"] = api.create(name="bystander")
    expect(api.file_put("survivor", "data/keep.bin", b"\x00\x01kept\xff"), 200)
    api.sh("survivor", "echo from-exec > /home/cove/exec.txt")
    st["during"] = resources(d)
    d.kill()
    assert not d.running()
    d.start(expect_key_line=False)  # READY within 30 s, on the same state directory
    st["listed"] = expect(api.get("/v1/sandboxes"), 200)["sandboxes"]
    return st


def test_resources_are_visible_while_sandboxes_exist(restarted):
    # Positive control for the leak checks below: the counters do see sandboxes.
    base, during = restarted["base"], restarted["during"]
    assert base["processes"] == [], "processes in our uid range before any sandbox: %s" % (
        host.describe_pids(base["processes"]))
    assert len(during["cgroups"]) > len(base["cgroups"]), during
    assert len(during["loop_mounts"]) >= len(base["loop_mounts"]) + 2, during
    assert len(during["processes"]) >= 2, during  # at least the two inits


def test_restart_prints_no_new_key(private, restarted):
    keylines = [ln for ln in private.stdout_lines if ln.startswith("api-key:")]
    assert len(keylines) == 1, "a restart must not print a new key: %r" % private.stdout_lines


def test_sandboxes_still_listed_after_sigkill(restarted):
    by_name = {s["name"]: s for s in restarted["listed"]}
    assert "survivor" in by_name and "bystander" in by_name, restarted["listed"]
    assert by_name["survivor"]["id"] == restarted["sb"]["id"]
    assert by_name["survivor"]["labels"] == {"t": "restart"}
    assert by_name["bystander"]["id"] == restarted["other"]["id"]


def test_sandbox_still_started_after_sigkill(private, restarted):
    api = Client(private)
    assert api.sandbox("survivor")["state"] == "started"
    assert api.sandbox("bystander")["state"] == "started"


def test_exec_works_after_sigkill(private, restarted):
    api = Client(private)
    res = api.exec("survivor", command="cat /home/cove/exec.txt; hostname; id -u")
    assert res["stdout"] == "from-exec\nsurvivor\n1000\n", res


def test_files_survive_sigkill(private, restarted):
    api = Client(private)
    # Start it if the restart left it stopped (that is reported by the test above): the
    # question here is only whether its disk survived.
    assert expect(api.post("/v1/sandboxes/survivor/start", timeout=120), 200)["state"] == \
        "started"
    assert api.file_get("survivor", "data/keep.bin").raw == b"\x00\x01kept\xff"
    assert api.file_get("survivor", "/home/cove/exec.txt").raw == b"from-exec\n"
    assert api.sh("survivor", "cat /home/cove/exec.txt") == "from-exec\n"


def test_new_sandbox_after_restart(private, restarted):
    api = Client(private)
    fresh = api.create(name="after-restart")
    assert api.exec("after-restart", "echo", "new")["stdout"] == "new\n"
    expect(api.destroy(fresh["id"]), 200)


def test_delete_after_restart_leaks_nothing(private, restarted):
    api = Client(private)
    for ident in (restarted["sb"]["id"], restarted["other"]["id"]):
        assert expect(api.destroy(ident), 200)["state"] == "destroyed"
    assert expect(api.get("/v1/sandboxes"), 200)["sandboxes"] == []
    assert_back_to(restarted["base"], private)


def test_stopped_sandbox_stays_stopped_across_restart(private):
    d = private
    api = Client(d)
    base = resources(d)
    api.create(name="sleeper")
    api.sh("sleeper", "echo zzz > nap.txt")
    assert expect(api.post("/v1/sandboxes/sleeper/stop", timeout=120), 200)["state"] == \
        "stopped"
    rc, killed = d.stop()
    assert not killed and rc == 0, "coved did not shut down cleanly on SIGTERM: %r" % rc
    d.start(expect_key_line=False)
    assert api.sandbox("sleeper")["state"] == "stopped"
    expect(api.exec_raw("sleeper", cmd=["true"]), 409, "INVALID_STATE")
    assert expect(api.post("/v1/sandboxes/sleeper/start", timeout=120), 200)["state"] == \
        "started"
    assert api.sh("sleeper", "cat nap.txt") == "zzz\n"
    expect(api.destroy("sleeper"), 200)
    assert_back_to(base, d)


def _sleepers(d):
    out = []
    for pid in host.pids_in_uid_range(*d.uid_range):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if f.read().split(b"\0")[:2] == [b"sleep", b"1000"]:
                    out.append(pid)
        except OSError:
            pass
    return out


def test_create_delete_cycles_do_not_leak(private):
    d = private
    if not d.running():  # an earlier test may have failed while it was down
        d.start(expect_key_line=False)
    api = Client(d)
    base = resources(d)
    for i in range(3):
        sb = api.create(name="cycle-%d" % i, disk_mib=64 + i)
        assert api.exec(sb["id"], "echo", str(i))["stdout"] == "%d\n" % i
        # A command still running at delete time must not outlive the sandbox.
        box = {}
        t = threading.Thread(target=lambda: box.setdefault(
            "r", api.exec_raw(sb["id"], cmd=["sleep", "1000"], timeout=300)))
        t.start()
        try:
            for _ in range(100):  # bounded: 100 x 0.1 s
                if _sleepers(d):
                    break
                time.sleep(0.1)
            assert _sleepers(d), "the sleep never started"
            expect(api.destroy(sb["id"]), 200)
        finally:
            t.join(120)
        assert not t.is_alive(), "exec did not return after its sandbox was deleted"
        assert _sleepers(d) == []
    assert_back_to(base, d)


def test_delete_with_wait_has_released_everything_when_it_answers(private):
    d = private
    api = Client(d)
    base = resources(d)
    sb = api.create(name="waited")
    api.sh(sb["id"], "for i in 1 2 3 4 5 6 7 8; do sleep 1000 & done; echo started")
    assert len(resources(d)["processes"]) > len(base["processes"])
    r = api.delete("/v1/sandboxes/%s?wait=true" % sb["id"], timeout=120)
    assert expect(r, 200) == {"id": sb["id"], "state": "destroyed"}
    now = resources(d)  # no polling: the answer came after the teardown
    for k in base:
        assert now[k] == base[k], (k, base[k], now[k])
    expect(api.delete("/v1/sandboxes/%s?wait=maybe" % sb["id"]), 400, "BAD_REQUEST")

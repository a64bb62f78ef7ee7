"""Load, faults and nothing lost: concurrent create -> exec -> upload -> download -> delete
cycles leave nothing behind; a kill -9 of coved in the middle of them loses no acknowledged
sandbox or file and leaves nothing half-created; a full state filesystem gives a clear error
and a sound database. Sized for CI: every loop is bounded by a count (and, as a safety net,
by time), and nothing here asserts on time. bench/load runs the same loops at full size.

Each test runs its own coved (they kill it, or put its state on a small filesystem)."""
import hashlib
import os
import subprocess
import time

import pytest

from testenv import Client, check_error_body, expect, finish_private, host, start_private
from testenv import load

CLIENTS = 10
CYCLES = 6


def _start(label, slot, extra=(), before_start=None):
    return start_private(label, slot, extra, before_start)


def _finish(d):
    if d.running():
        api = Client(d)
        r = api.get("/v1/sandboxes")
        for sb in (r.body.get("sandboxes", []) if r.status == 200 else []):
            api.destroy(sb["id"])
    finish_private(d)


@pytest.fixture
def loaded():
    """A private coved with the default warm pools (so the census sees them too)."""
    d = _start("load16", slot=21)
    yield d
    _finish(d)


def _run_clients(d, stats, ledger, gate, cycles, tag):
    deadline = time.monotonic() + 600  # safety net only; the loops end by count
    workers = [load.Worker(i, d, stats, ledger, gate, deadline, cycles, 4096 + i, tag)
               for i in range(CLIENTS)]
    for w in workers:
        w.start()
    return workers


def _join(workers):
    for w in workers:
        w.join(660)
    assert not any(w.is_alive() for w in workers), "clients still running"


def _errors(stats):
    return "\n".join("%s: %s %r" % e for e in stats.errors[:20])


def test_concurrent_cycles_no_errors_no_leaks(loaded):
    d = loaded
    before = load.quiet_census(d)
    assert before["uid_processes"] == [] and before["sandbox_cgroups"] == [], before
    stats, ledger, gate = load.Stats(), load.Ledger(), load.Gate()
    _join(_run_clients(d, stats, ledger, gate, CYCLES, "a"))
    assert stats.errors == [], _errors(stats) + "\n" + d.log_tail()
    assert stats.cycles == CLIENTS * CYCLES
    for step in load.STEPS:
        assert len(stats.lat[step]) == CLIENTS * CYCLES, step
    assert expect(Client(d).get("/v1/sandboxes"), 200)["sandboxes"] == []
    after, leaked = load.settle(d, before)
    assert leaked == [], "leaks after %d cycles: %s" % (stats.cycles, leaked)
    assert load.integrity_check(d) == ["ok"]


def test_census_sees_sandboxes(loaded):
    # Positive control for the leak check above: the census does count a sandbox's parts.
    d = loaded
    before = load.quiet_census(d)
    api = Client(d)
    sb = api.create(name="counted")
    expect(api.file_put(sb["id"], "x.txt", b"x"), 200)
    during = load.census(d)
    assert load.leaks(before, during), "a live sandbox is not seen as a difference"
    assert sb["id"] in during["sandbox_cgroups"]
    # At least: a released disk the pool is still wiping and re-seeding counts as in use too.
    assert len(during["sandbox_disks"]) >= len(before["sandbox_disks"]) + 1
    assert during["uid_processes"], "the sandbox's init is not in the uid range census"
    expect(api.destroy(sb["id"]), 200)
    _, leaked = load.settle(d, before)
    assert leaked == []


def test_kill9_during_concurrent_cycles(loaded):
    d = loaded
    before = load.quiet_census(d)
    stats, ledger, gate = load.Stats(), load.Ledger(), load.Gate()
    # Two acknowledged sandboxes with an acknowledged upload exist whatever the timing of the
    # kill, so the "still there with its files" check always has something to check.
    api = Client(d)
    anchors = []
    for i in range(2):
        name = "ld-anchor-%d" % i
        sb = api.create(name=name, cpu=0.5, memory_mib=256, auto_stop_minutes=0)
        data = os.urandom(4096)
        expect(api.put("/v1/sandboxes/%s/files/content" % sb["id"], data,
                       query={"path": load.FILE_PATH}), 200)
        ledger.set(name, id=sb["id"], acked=True, inflight=None,
                   sha=hashlib.sha256(data).hexdigest())
        anchors.append((name, sb["id"]))
    workers = _run_clients(d, stats, ledger, gate, 8, "k")
    try:
        # Wait (bounded by count: 1200 x 50 ms) until work is under way: acknowledged
        # sandboxes, some holding an acknowledged upload.
        for _ in range(1200):
            snap = ledger.live()
            if len(snap) >= 3 and any(e["sha"] for e in snap.values()) and \
                    stats.cycles >= CLIENTS:
                break
            time.sleep(0.05)
        gate.down = True
        gate.close()
        d.kill()
        assert not d.running()
        d.start(expect_key_line=False)
        # Let the clients whose requests were cut off reach the gate (bounded).
        for _ in range(200):
            if gate.waiting + sum(not w.is_alive() for w in workers) >= CLIENTS:
                break
            time.sleep(0.05)
        problems, facts = load.check_after_restart(d, ledger)
    finally:
        gate.reopen()
        _join(workers)
    assert stats.interrupted, "the kill cut off no request; the test did not test a crash"
    assert problems == [], "after kill -9 and restart: %s\n%s" % (problems, d.log_tail())
    assert facts["acked"] >= 2 and facts["files_checked"] >= 2, facts
    assert stats.errors == [], _errors(stats)
    for name, sid in anchors:
        expect(Client(d).destroy(sid), 200)
        ledger.set(name, deleted=True)
    assert load.resolve_in_doubt(d, ledger) == []
    after, leaked = load.settle(d, before)
    assert leaked == [], "leaks after kill -9, restart and cleanup: %s" % leaked
    assert load.integrity_check(d) == ["ok"]


# ---- a full state filesystem ------------------------------------------------------------

STATE_FS_MIB = 160


def _small_state(d):
    os.makedirs(d.state, mode=0o711)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0711" % STATE_FS_MIB,
                    "cove-test-state", d.state], check=True, timeout=30)


def _fill(path, limit_mib):
    """Write zeros to path until the filesystem is full (bounded by limit_mib)."""
    chunk = b"\0" * (1 << 20)
    written = 0
    with open(path, "wb", buffering=0) as f:
        for _ in range(limit_mib):
            try:
                f.write(chunk)
                written += 1
            except OSError:
                break
        else:
            pytest.fail("wrote %d MiB and the filesystem is still not full" % limit_mib)
    # Top off with small writes so that not even a page is left.
    with open(path + ".tail", "wb", buffering=0) as f:
        for _ in range(1 << 12):
            try:
                f.write(b"\0" * 4096)
            except OSError:
                break
    return written


@pytest.fixture
def small_state():
    d = _start("full16", slot=23, extra=["--disk-warm", "0"], before_start=_small_state)
    yield d
    _finish(d)


def test_full_state_filesystem(small_state):
    d = small_state
    api = Client(d)
    sb = api.create(name="before-full", disk_mib=64)
    victim = api.create(name="deleted-while-full", disk_mib=64)
    expect(api.file_put(sb["id"], "kept.txt", b"kept before the disk filled\n"), 200)
    filler = os.path.join(d.state, "filler")
    _fill(filler, STATE_FS_MIB + 16)
    st = os.statvfs(d.state)
    assert st.f_bavail * st.f_frsize < 1 << 20, "the state filesystem is not full"

    r = api.post("/v1/sandboxes", {"name": "while-full", "disk_mib": 64}, timeout=120)
    assert r.status == 507, r
    b = check_error_body(r)
    assert b["code"] == "INSUFFICIENT_STORAGE", r
    assert "space" in b["message"] or "full" in b["message"], r
    r = api.file_put(sb["id"], "new.bin", os.urandom(256 << 10))
    assert r.status == 507, r
    assert check_error_body(r)["code"] == "INSUFFICIENT_STORAGE", r
    # Reads and existing sandboxes keep working; the daemon is still up.
    assert api.file_get(sb["id"], "kept.txt").raw == b"kept before the disk filled\n"
    assert api.exec(sb["id"], "echo", "still")["stdout"] == "still\n"
    # A delete either happens (SQLite may still have room in its log) or fails cleanly
    # with 507 and leaves the sandbox whole; never a 200 that a restart would undo.
    r = api.destroy(victim["id"])
    assert r.status in (200, 507), r
    gone = r.status == 200
    if not gone:
        assert check_error_body(r)["code"] == "INSUFFICIENT_STORAGE", r
        assert api.exec(victim["id"], "echo", "whole")["stdout"] == "whole\n"
    listed = expect(api.get("/v1/sandboxes"), 200)["sandboxes"]
    assert sorted(s["name"] for s in listed) == sorted(
        ["before-full"] + ([] if gone else ["deleted-while-full"])), listed
    assert d.running()
    assert load.integrity_check(d) == ["ok"]

    os.unlink(filler)
    os.unlink(filler + ".tail")
    if not gone:
        expect(api.destroy(victim["id"]), 200)
    sb2 = api.create(name="after-full", disk_mib=64)
    expect(api.file_put(sb2["id"], "new.bin", b"room again\n"), 200)
    assert api.file_get(sb2["id"], "new.bin").raw == b"room again\n"
    for s in (sb, sb2):
        expect(api.destroy(s["id"]), 200)
    assert expect(api.get("/v1/sandboxes"), 200)["sandboxes"] == []
    rc, killed = d.stop()
    assert rc == 0 and not killed
    assert load.integrity_check(d) == ["ok"]
    d.start(expect_key_line=False)  # and it starts again on that state
    assert expect(api.get("/v1/sandboxes"), 200)["sandboxes"] == []
    assert host.pids_in_uid_range(*d.uid_range) == []

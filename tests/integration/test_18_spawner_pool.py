"""The init spawner (src/sandbox/spawner.h) and the disk pool's private library copies
(src/sandbox/private-libs.h), on a private coved with the default warm pools."""
import os
import signal
import stat
import subprocess
import time

import pytest

from testenv import Client, expect, host, private_daemon

COPIES = ("usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
          "usr/bin/bash", "usr/bin/dash")


@pytest.fixture(scope="module")
def private():
    yield from private_daemon("spawner", slot=7)


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if int(rest[1]) == pid:
            out.append((int(d), comm))
    return out


def spawner_of(d):
    kids = [p for p, comm in children(d.proc.pid) if comm == "coved-spawner"]
    # Pooled inits not yet hatched are clones of the spawner too (same name, coved's
    # children through CLONE_PARENT); the spawner is the oldest.
    return min(kids) if kids else None


def cycle(api, name):
    sb = api.create(name=name)
    r = api.exec(sb["id"], "sh", "-c", "echo ok > /home/cove/f; cat /home/cove/f")
    assert r["exit_code"] == 0 and r["stdout"] == "ok\n", r
    expect(api.delete("/v1/sandboxes/%s" % sb["id"]), 200)


def test_inits_are_coveds_children_and_the_spawner_is_not_in_the_sandbox_range(private):
    d = private
    api = Client(d)
    sb = api.create(name="kin")
    try:
        sp = spawner_of(d)
        assert sp, "no coved-spawner child of coved: %r" % children(d.proc.pid)
        lo, hi = d.uid_range
        st = host.proc_status(sp)
        assert int(st["Uid"].split()[0]) == 0, st["Uid"]
        inits = [p for p, comm in children(d.proc.pid) if comm == "cove-init"]
        assert inits, "no cove-init among coved's children: %r" % children(d.proc.pid)
        for p in inits:
            uid = int(host.proc_status(p)["Uid"].split()[0])
            assert lo <= uid <= hi, (p, uid, d.uid_range)
        # The spawner has no children of its own: every clone went to coved.
        assert children(sp) == [], children(sp)
    finally:
        expect(api.delete("/v1/sandboxes/%s" % sb["id"]), 200)


def test_released_disks_keep_only_immutable_copies(private):
    d = private
    api = Client(d)
    for i in range(4):
        cycle(api, "disk%d" % i)
    disks = os.path.join(d.state, "disks")
    deadline = time.monotonic() + 30
    while True:
        pooled = [m for m in host.loop_mounts_under(disks) if os.stat(m).st_uid == 0]
        if len(pooled) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(pooled) >= 2, "no scrubbed disk in the pool within 30 s: %r" % (
        host.loop_mounts_under(disks),)
    for m in pooled:
        for rel in COPIES:
            host_file = "/" + rel
            if not os.path.exists(host_file):
                continue
            p = os.path.join(m, "upper", rel)
            st = os.lstat(p)
            hs = os.stat(os.path.realpath(host_file))
            assert st.st_uid == 0 and st.st_nlink == 1 and st.st_size == hs.st_size, (p, st)
            attrs = subprocess.run(["lsattr", "-d", p], capture_output=True, text=True,
                                   timeout=30).stdout.split()[0]
            assert "i" in attrs, "%s is not immutable: %s" % (p, attrs)
        # Nothing of the earlier sandbox is left (it wrote /home/cove/f): besides the
        # copies, only empty files, device nodes and directories, all host root's.
        for root, dirs, files in os.walk(m):
            for name in dirs + files:
                p = os.path.join(root, name)
                st = os.lstat(p)
                assert st.st_uid == 0 and st.st_gid == 0, (p, st)
                if stat.S_ISREG(st.st_mode) and not any(p.endswith("/upper/" + c) or
                                                         "libtinfo" in p for c in COPIES):
                    assert st.st_size == 0, "%s kept %d bytes from a sandbox" % (p, st.st_size)
                assert not stat.S_ISLNK(st.st_mode), p
            assert not os.path.exists(os.path.join(m, "upper/root/home/cove/f")), m


def test_a_sandbox_cannot_change_its_copies(private):
    api = Client(private)
    sb = api.create(name="tamper")
    try:
        r = api.exec(sb["id"], "sh", "-c",
                     "echo x >> /usr/bin/bash; echo rc=$?; rm -f /usr/bin/dash; echo rc=$?;"
                     " mv /usr/bin/bash /tmp/b; echo rc=$?; bash -c 'echo still'")
        assert r["exit_code"] == 0, r
        assert r["stdout"].count("rc=0") == 0 and r["stdout"].endswith("still\n"), r
    finally:
        expect(api.delete("/v1/sandboxes/%s" % sb["id"]), 200)


def test_coved_clones_inits_itself_when_the_spawner_is_gone(private):
    d = private
    api = Client(d)
    sp = spawner_of(d)
    assert sp
    before = d.log_size()
    os.kill(sp, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while spawner_of(d) == sp and time.monotonic() < deadline:
        time.sleep(0.05)
    # Enough creates to drain the pre-started inits and clone new ones.
    for i in range(5):
        cycle(api, "after%d" % i)
    assert "the spawner process is gone" in d.log_since(before), d.log_since(before)
    assert d.running()
    sb = api.create(name="afterkin")
    try:
        assert any(c == "cove-init" for _, c in children(d.proc.pid))
    finally:
        expect(api.delete("/v1/sandboxes/%s" % sb["id"]), 200)


def test_the_spawner_dies_with_coved(private):
    d = private
    sp = spawner_of(d)
    if sp is None:  # an earlier test killed it: a restart starts a new one
        d.kill()
        d.start(expect_key_line=False)
        sp = spawner_of(d)
    assert sp
    d.kill()  # SIGKILL: no chance to close anything
    deadline = time.monotonic() + 10
    while os.path.exists("/proc/%d" % sp) and time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % sp) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break  # dead, waiting for its reaper
        except OSError:
            break
        time.sleep(0.05)
    alive = os.path.exists("/proc/%d/stat" % sp)
    if alive:
        with open("/proc/%d/stat" % sp) as f:
            alive = f.read().rsplit(")", 1)[1].split()[0] != "Z"
    assert not alive, "the spawner %d outlived coved" % sp
    d.start(expect_key_line=False)
    assert spawner_of(d) not in (None, sp)
    api = Client(d)
    cycle(api, "reborn")

"""What a sandbox can see and do: user, PID namespace, hostname, filesystem, network,
privileges, and the memory, pids, disk and CPU limits. Every check runs inside through
exec and asserts what the command printed."""
import os
import socket
import threading
import time

import pytest

from conftest import require_host_tools
from testenv import expect

PY = "python3"


def py(api, sb, code, **kw):
    """Run python3 -c code in the sandbox; returns the exec result."""
    return api.exec(sb, PY, "-c", code, **kw)


@pytest.fixture(scope="module")
def sb(module_sandbox):
    return module_sandbox["name"]


@pytest.fixture(scope="module", autouse=True)
def _python_inside():
    require_host_tools(PY)


def test_user_home_and_cwd(api, sb):
    res = api.exec(sb, command='id -u; id -g; id -un; echo "$HOME"; pwd; echo ~; whoami')
    assert res["stdout"] == "1000\n1000\ncove\n/home/cove\n/home/cove\n/home/cove\ncove\n", res
    st = api.sh(sb, "stat -c '%u %g %a' /home/cove")
    assert st.split()[:2] == ["1000", "1000"], st


def test_pid1_is_cove_init_and_only_sandbox_processes_are_visible(api, sb):
    require_host_tools("ps")
    cmdline = py(api, sb, "print(open('/proc/1/cmdline','rb').read().split(b'\\0')[0]"
                          ".decode())")["stdout"].strip()
    assert os.path.basename(cmdline) == "cove-init", cmdline
    res = api.exec(sb, "sh", "-c", "ps -eo pid=,ppid=,comm=")
    rows = [ln.split(None, 2) for ln in res["stdout"].splitlines()]
    pids = {int(r[0]) for r in rows}
    comms = [r[2] for r in rows]
    assert 1 in pids, rows
    assert len(rows) <= 5, "more processes than init + our command: %s" % rows
    assert "sh" in comms and "ps" in comms, rows
    host_names = {"coved", "process_api", "pytest", "python3", "systemd", "sshd"}
    assert not host_names & set(comms), "host processes visible: %s" % rows
    # /proc agrees with ps: only a handful of numeric entries.
    n = py(api, sb, "import os; print(sum(d.isdigit() for d in os.listdir('/proc')))")
    assert int(n["stdout"]) <= 5, n


def test_hostname_is_sandbox_name(api, module_sandbox):
    name = module_sandbox["name"]
    res = api.exec(name, command="hostname; cat /proc/sys/kernel/hostname; cat /etc/hostname")
    lines = res["stdout"].splitlines()
    assert lines[0] == name and lines[1] == name, res
    with open("/etc/hostname") as f:
        host_hostname = f.read().strip()
    assert lines[2:] != [host_hostname] and socket.gethostname() not in lines[2:], lines


def test_host_files_are_invisible(daemon, api, sb):
    host_root = set(os.listdir("/root"))
    # The sandbox's /root is its own empty directory owned by its root.
    assert api.sh(sb, "stat -c '%u %a' /root").strip() == "0 700"
    r = api.file_list(sb, "/root")
    if r.status == 200:
        names = {e["name"] for e in r.body["entries"]}
        assert not names & host_root, "host /root entries visible: %s" % (names & host_root)
    assert api.sh(sb, "ls -A /home") == "cove\n"
    for path in (daemon.base, daemon.state, daemon.socket, "/etc/shadow", "/etc/gshadow",
                 "/work", "/root/.bashrc", "/etc/sudoers", "/etc/ssh"):
        res = api.exec(sb, "sh", "-c", 'test -e "$1" || test -L "$1"', "sh", path)
        assert res["exit_code"] == 1, "%s is visible inside the sandbox" % path
    ls = api.exec(sb, "ls", "-A", "/var/tmp")["stdout"].split()
    assert os.path.basename(daemon.base) not in ls, ls
    passwd = api.sh(sb, "cat /etc/passwd")
    users = {ln.split(":")[0] for ln in passwd.splitlines() if ln}
    assert "cove" in users, passwd
    with open("/etc/passwd") as f:
        host_only = {ln.split(":")[0] for ln in f if ln.strip()} - {"root", "nobody", "cove"}
    assert not users & host_only, "host users in the sandbox passwd: %s" % (users & host_only)


def test_only_loopback_and_coved_unreachable(daemon, api, sb):
    dev = api.sh(sb, "cat /proc/net/dev")
    ifaces = sorted(ln.split(":")[0].strip() for ln in dev.splitlines()[2:] if ":" in ln)
    assert ifaces == ["lo"], dev
    code = (
        "import socket, sys\n"
        "for host, port in [('127.0.0.1', %d), ('1.1.1.1', 53), ('10.0.2.2', 80)]:\n"
        "    s = socket.socket(); s.settimeout(5)\n"
        "    try:\n"
        "        s.connect((host, port)); print(host, 'CONNECTED')\n"
        "    except OSError as e:\n"
        "        print(host, 'failed', e.errno)\n"
    ) % daemon.port
    out = py(api, sb, code, timeout=30)["stdout"]
    assert "CONNECTED" not in out, out
    assert out.count("failed") == 3, out
    # coved's port answers on the host, so the refusal above is the namespace's doing.
    expect(api.get("/v1/health", auth=False), 200)


def test_no_capabilities_no_new_privs_seccomp(api, sb):
    status = api.sh(sb, "cat /proc/self/status")
    fields = dict(ln.split(":\t", 1) for ln in status.splitlines() if ":\t" in ln)
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(fields[cap].strip(), 16) == 0, (cap, fields[cap])
    assert fields["NoNewPrivs"].strip() == "1", fields.get("NoNewPrivs")
    assert fields["Seccomp"].strip() == "2", fields.get("Seccomp")
    uid_line = fields["Uid"].split()
    assert uid_line == ["1000"] * 4, uid_line


def test_mount_unshare_ptrace_denied(api, sb):
    code = (
        "import ctypes, os, signal\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "os.makedirs('/tmp/mnt-target', exist_ok=True)\n"
        "r = libc.mount(b'none', b'/tmp/mnt-target', b'tmpfs', 0, None)\n"
        "print('mount', r, ctypes.get_errno())\n"
        "r = libc.unshare(0x10000000)\n"  # CLONE_NEWUSER
        "print('unshare-user', r, ctypes.get_errno())\n"
        "r = libc.unshare(0x00020000)\n"  # CLONE_NEWNS
        "print('unshare-mnt', r, ctypes.get_errno())\n"
        "r = libc.chroot(b'/tmp')\n"
        "print('chroot', r, ctypes.get_errno())\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    signal.pause(); os._exit(0)\n"
        "r = libc.ptrace(16, pid, None, None)\n"  # PTRACE_ATTACH to our own child
        "print('ptrace', r, ctypes.get_errno())\n"
        "os.kill(pid, 9); os.waitpid(pid, 0)\n"
    )
    out = py(api, sb, code)["stdout"].split("\n")
    got = {ln.split()[0]: (int(ln.split()[1]), int(ln.split()[2])) for ln in out if ln}
    for op in ("mount", "unshare-user", "unshare-mnt", "chroot", "ptrace"):
        assert got[op][0] == -1 and got[op][1] != 0, "%s was allowed: %s" % (op, got)
    assert got["mount"][1] == 1 and got["ptrace"][1] == 1, got  # EPERM
    assert api.sh(sb, "grep -c mnt-target /proc/self/mountinfo || true").strip() == "0"


def test_unshare_tool_fails(api, sb):
    require_host_tools("unshare")
    res = api.exec(sb, "unshare", "-U", "true")
    assert res["exit_code"] != 0, res
    res = api.exec(sb, "unshare", "-r", "id", "-u")
    assert res["exit_code"] != 0 and res["stdout"] == "", res


def test_kernel_interfaces_not_usable(api, sb):
    code = (
        "import os, stat\n"
        "try:\n"
        "    d = open('/proc/kcore','rb').read(64)\n"
        "    print('kcore read', len(d))\n"
        "except OSError as e:\n"
        "    print('kcore denied', e.errno)\n"
        "try:\n"
        "    with open('/proc/sysrq-trigger','w') as f: f.write('h')\n"
        "    st = os.stat('/proc/sysrq-trigger')\n"
        "    print('sysrq written', os.major(st.st_rdev), os.minor(st.st_rdev),\n"
        "          int(stat.S_ISCHR(st.st_mode)))\n"
        "except OSError as e:\n"
        "    print('sysrq denied', e.errno)\n"
        "for p in ('/proc/sys/kernel/hostname', '/proc/sys/vm/drop_caches'):\n"
        "    try:\n"
        "        with open(p,'w') as f: f.write('3')\n"
        "        print('wrote', p)\n"
        "    except OSError as e:\n"
        "        print('denied', p, e.errno)\n"
    )
    out = py(api, sb, code)["stdout"].splitlines()
    kcore = out[0].split()
    assert kcore[1] == "denied" or kcore[2] == "0", out
    sysrq = out[1].split()
    # Either refused, or the path is masked by /dev/null (char 1:3): nothing reaches the kernel.
    assert sysrq[1] == "denied" or sysrq[2:] == ["1", "3", "1"], out
    assert not any(ln.startswith("wrote") for ln in out[2:]), out


def test_memory_limit_oom_killed(api, make_sandbox):
    s = make_sandbox(memory_mib=128)["name"]
    res = py(api, s, "a = b'x' * (256 << 20); print(len(a))", timeout=60)
    assert res["oom_killed"] is True, res
    assert res["exit_code"] == 137 and res["signal"] == "SIGKILL", res
    assert res["stdout"] == ""
    # The sandbox lives on; a modest allocation still works.
    res = py(api, s, "a = b'x' * (32 << 20); print(len(a))")
    assert res["stdout"] == "%d\n" % (32 << 20) and res["oom_killed"] is False, res


def test_pids_limit_counts(api, make_sandbox):
    s = make_sandbox(pids=64)["name"]
    code = (
        "import os, time\n"
        "kids = []\n"
        "err = None\n"
        "while len(kids) < 200:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as e:\n"
        "        err = e.errno; break\n"
        "    if pid == 0:\n"
        "        time.sleep(60); os._exit(0)\n"
        "    kids.append(pid)\n"
        "print(len(kids), err)\n"
        "for k in kids: os.kill(k, 9)\n"
        "for k in kids: os.waitpid(k, 0)\n"
    )
    res = py(api, s, code, timeout=60)
    n, err = res["stdout"].split()
    assert err == "11", res  # EAGAIN
    assert 32 <= int(n) < 64, res


def test_fork_bomb_is_contained(api, make_sandbox):
    bomb = make_sandbox(pids=64, cpu=0.5)["name"]
    other = make_sandbox()["name"]
    code = ("import os\n"
            "while True:\n"
            "    try:\n"
            "        os.fork()\n"
            "    except OSError:\n"
            "        pass\n")
    box = {}
    t = threading.Thread(target=lambda: box.setdefault(
        "r", api.exec_raw(bomb, cmd=[PY, "-c", code], timeout=6)))
    t.start()
    try:
        # While the bomb runs: the daemon answers and another sandbox works.
        assert expect(api.get("/v1/health", auth=False), 200)["status"] == "ok"
        assert api.exec(other, "echo", "fine")["stdout"] == "fine\n"
    finally:
        t.join(120)
    assert not t.is_alive(), "exec of the fork bomb never returned"
    res = expect(box["r"], 200)
    assert res["timed_out"] is True, res
    assert expect(api.get("/v1/health", auth=False), 200)["status"] == "ok"
    assert api.exec(other, "echo", "fine")["stdout"] == "fine\n"
    # Every bomb process is gone and the sandbox works again.
    n = py(api, bomb, "import os; print(sum(d.isdigit() for d in os.listdir('/proc')))")
    assert int(n["stdout"]) <= 4, n


def test_disk_limit(api, make_sandbox):
    small = make_sandbox(disk_mib=128)["name"]
    other = make_sandbox()["name"]
    res = api.exec(small, command="dd if=/dev/zero of=big bs=1M count=400", timeout=120)
    assert res["exit_code"] != 0, res
    assert "No space left" in res["stderr"], res
    size = int(api.sh(small, "stat -c %s big"))
    assert size <= 128 << 20, size
    # The other sandbox can write more than the small one's whole disk.
    res = api.exec(other, command="dd if=/dev/zero of=big bs=1M count=200 && sync && "
                                  "stat -c %s big && rm big", timeout=120)
    assert res["exit_code"] == 0 and res["stdout"].strip() == str(200 << 20), res
    # Freeing space makes the small sandbox usable again.
    assert api.sh(small, "rm big && echo ok > small && cat small") == "ok\n"


def test_cpu_limit(api, make_sandbox):
    s = make_sandbox(cpu=0.5)["name"]
    code = (
        "import os, time\n"
        "t = time.time()\n"
        "while time.time() - t < 2.0:\n"
        "    pass\n"
        "f = open('/proc/self/stat').read().rsplit(')', 1)[1].split()\n"
        "print((int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK'))\n"
    )
    used = float(py(api, s, code, timeout=60)["stdout"])
    # 0.5 cores for ~2 s of wall time: about 1 s of CPU; unlimited would be ~2 s.
    assert 0.1 < used <= 1.2, "CPU seconds used in 2 s at cpu=0.5: %s" % used


def test_sandboxes_do_not_see_each_other(api, make_sandbox):
    require_host_tools("ps", "pkill")
    a = make_sandbox()["name"]
    b = make_sandbox()["name"]
    tag = os.urandom(4).hex()
    api.sh(a, "echo secret > /tmp/marker-%s && echo shm > /dev/shm/marker-%s" % (tag, tag))
    assert api.sh(a, "cat /tmp/marker-%s" % tag) == "secret\n"
    listing = api.sh(b, "ls -A /tmp /dev/shm")
    assert tag not in listing, listing
    box = {}
    t = threading.Thread(target=lambda: box.setdefault(
        "r", api.exec_raw(a, cmd=["sleep", "1238"], timeout=60)))
    t.start()
    try:
        seen_in_a = False
        deadline = time.monotonic() + 20
        for _ in range(100):  # bounded: 100 tries and 20 s
            if "sleep 1238" in api.exec(a, "ps", "-eo", "args")["stdout"]:
                seen_in_a = True
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert seen_in_a, "the long command never showed up in its own sandbox"
        assert "sleep 1238" not in api.exec(b, "ps", "-eo", "args")["stdout"]
    finally:
        api.exec(a, "pkill", "-f", "^sleep 1238")
        t.join(90)
    assert not t.is_alive()
    assert expect(box["r"], 200)["signal"] == "SIGTERM"


def test_deleted_sandbox_leaves_nothing_for_the_next(api, make_sandbox):
    first = make_sandbox()
    tag = os.urandom(4).hex()
    api.sh(first["name"], "echo 1 > /tmp/residue-{t}; echo 2 > /dev/shm/residue-{t}; "
                          "echo 3 > /home/cove/residue-{t}; echo 4 > /var/tmp/residue-{t}"
           .format(t=tag))
    expect(api.destroy(first["id"]), 200)
    second = make_sandbox(name=first["name"])
    out = api.exec(second["name"], command="ls -A /tmp /dev/shm /home/cove /var/tmp")
    assert tag not in out["stdout"], out

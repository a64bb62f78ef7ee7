"""`coved --check` and `cove doctor`: the host check reports each requirement."""
import subprocess

from testenv import daemon as testdaemon


def test_coved_check_passes_on_this_host():
    p = subprocess.run([testdaemon.coved_path(), "--check"], capture_output=True, text=True,
                       timeout=60)
    out = p.stdout
    assert p.returncode == 0, out + p.stderr
    for needle in ("namespaces", "overlayfs", "loop devices", "seccomp", "openat2", "cgroup"):
        assert needle in out, "check does not report %s:\n%s" % (needle, out)
    assert "FAIL" not in out
    assert out.strip().endswith("this host can run cove sandboxes")


def test_coved_check_names_the_cgroup_version():
    out = subprocess.run([testdaemon.coved_path(), "--check"], capture_output=True, text=True,
                         timeout=60).stdout
    with open("/proc/self/mountinfo") as f:
        v2_root = any(l.split()[4] == "/sys/fs/cgroup" and " - cgroup2 " in l for l in f)
    assert ("cgroup: v2" if v2_root else "cgroup: v1") in out, out


def test_cove_doctor_reports_daemon_and_host(daemon):
    import json
    import os
    env = dict(os.environ, COVE_API_URL="http://127.0.0.1:%d" % daemon.port,
               COVE_API_KEY=daemon.key)
    p = subprocess.run([testdaemon.cli_path(), "doctor", "--json"], capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout)
    assert report["daemon"]["status"] == "ok"
    assert report["host"]["ok"] is True

"""The cove CLI against the session daemon (COVE_API_URL / COVE_API_KEY)."""
import json
import os
import subprocess
import tempfile

import pytest

from conftest import require_host_tools, unique_name
from testenv import expect, host


@pytest.fixture(scope="module")
def cli_home():
    with tempfile.TemporaryDirectory(prefix="cove-cli-home-", dir="/var/tmp") as d:
        yield d


@pytest.fixture
def cove(daemon, cove_cli, cli_home):
    def run(*args, stdin=None, url=None, key=None, timeout=120, cwd=None):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": cli_home,  # no stray credentials file
            "COVE_API_URL": url or daemon.url,
            "COVE_API_KEY": daemon.key if key is None else key,
            "LANG": "C.UTF-8",
        }
        return subprocess.run([cove_cli] + [str(a) for a in args], input=stdin,
                              capture_output=True, env=env, timeout=timeout, cwd=cwd)
    return run


def ok(cp):
    assert cp.returncode == 0, "cove %s -> %d\nstdout=%r\nstderr=%r" % (
        " ".join(map(str, cp.args[1:])), cp.returncode, cp.stdout, cp.stderr)
    return cp.stdout


def all_ids(api):
    return sorted(s["id"] for s in expect(api.get("/v1/sandboxes"), 200)["sandboxes"])


@pytest.fixture
def demo(api, cove, make_sandbox):
    name = unique_name("cli-demo")
    out = ok(cove("create", "--name", name)).decode().strip()
    sb = api.sandbox(name)
    make_sandbox.made.append(sb["id"])
    assert out == sb["id"], "create should print the id: %r vs %r" % (out, sb["id"])
    assert sb["state"] == "started"
    return name


def test_create_with_options(api, cove, make_sandbox):
    name = unique_name("cli-opts")
    out = ok(cove("--json", "create", "--name", name, "--cpu", "0.5", "--memory", "256",
                  "-e", "FOO=bar", "-l", "team=cli"))
    sb = json.loads(out)
    make_sandbox.made.append(sb["id"])
    assert sb["name"] == name and sb["cpu"] == 0.5 and sb["memory_mib"] == 256
    assert sb["env"] == {"FOO": "bar"} and sb["labels"] == {"team": "cli"}
    assert api.sandbox(name)["id"] == sb["id"]


def test_exec_passes_exit_code(cove, demo):
    cp = cove("exec", demo, "--", "sh", "-c", "exit 3")
    assert cp.returncode == 3, cp
    assert cove("exec", demo, "--", "true").returncode == 0
    assert cove("exec", demo, "--", "sh", "-c", "kill -9 $$").returncode == 137


def test_exec_prints_output(cove, demo):
    require_host_tools("python3")
    assert ok(cove("exec", demo, "--", "python3", "-c", "print(1+1)")) == b"2\n"
    cp = cove("exec", demo, "--", "sh", "-c", "echo out; echo err >&2; exit 5")
    assert cp.returncode == 5 and cp.stdout == b"out\n" and cp.stderr == b"err\n", cp
    assert ok(cove("exec", demo, "--shell", "echo $((6 * 7))")) == b"42\n"
    assert ok(cove("exec", demo, "-w", "/tmp", "--", "pwd")) == b"/tmp\n"
    assert ok(cove("exec", demo, "-e", "X=y z", "--", "sh", "-c", 'echo "$X"')) == b"y z\n"
    assert ok(cove("exec", demo, "-i", "--", "cat", stdin=b"from stdin\n")) == b"from stdin\n"
    # Options after PROGRAM belong to the program.
    assert ok(cove("exec", demo, "--", "echo", "--json", "-c")) == b"--json -c\n"


def test_exec_timeout_is_124(cove, demo):
    cp = cove("exec", demo, "--timeout", "1", "--", "sleep", "30")
    assert cp.returncode == 124, cp


def test_exec_json_result(cove, demo):
    cp = cove("--json", "exec", demo, "--", "sh", "-c", "echo hi; exit 2")
    assert cp.returncode == 2, cp
    res = json.loads(cp.stdout)
    assert res["exit_code"] == 2 and res["stdout"] == "hi\n", res


def test_upload_download(cove, demo, cli_home, api):
    data = os.urandom(300000) + b"\x00end"
    local = os.path.join(cli_home, "up.bin")
    with open(local, "wb") as f:
        f.write(data)
    ok(cove("upload", demo, local, "cli/up.bin"))
    assert api.file_get(demo, "cli/up.bin").raw == data
    assert ok(cove("download", demo, "cli/up.bin", "-")) == data
    dest = os.path.join(cli_home, "down.bin")
    ok(cove("download", demo, "/home/cove/cli/up.bin", dest))
    with open(dest, "rb") as f:
        assert f.read() == data
    ok(cove("upload", demo, "-", "cli/stdin.txt", stdin=b"piped\n"))
    assert api.file_get(demo, "cli/stdin.txt").raw == b"piped\n"
    cp = cove("download", demo, "cli/missing.bin", "-")
    assert cp.returncode == 1 and cp.stdout == b"", cp


def test_ls_json_and_info(cove, demo, api):
    lst = json.loads(ok(cove("ls", "--json")))
    assert isinstance(lst, list) and demo in [s["name"] for s in lst], lst
    lst2 = json.loads(ok(cove("--json", "ls")))
    assert sorted(s["id"] for s in lst2) == sorted(s["id"] for s in lst)
    table = ok(cove("ls")).decode()
    assert demo in table
    info = ok(cove("info", demo)).decode()
    assert demo in info and "started" in info, info
    obj = json.loads(ok(cove("--json", "info", demo)))
    assert obj["name"] == demo and obj["id"] == api.sandbox(demo)["id"]


def test_stop_start(cove, demo, api):
    ok(cove("stop", demo))
    assert api.sandbox(demo)["state"] == "stopped"
    ok(cove("start", demo))
    assert api.sandbox(demo)["state"] == "started"


def test_rm(cove, api, make_sandbox):
    name = unique_name("cli-rm")
    sid = ok(cove("create", "--name", name)).decode().strip()
    make_sandbox.made.append(sid)
    out = ok(cove("rm", name)).decode()
    assert sid in out, out
    expect(api.get("/v1/sandboxes/%s" % sid), 404, "SANDBOX_NOT_FOUND")
    cp = cove("rm", name)
    assert cp.returncode == 1 and cp.stderr.strip(), cp


def test_rm_wait_answers_after_the_teardown(cove, api, daemon, make_sandbox):
    name = unique_name("cli-rmw")
    sid = ok(cove("create", "--name", name)).decode().strip()
    make_sandbox.made.append(sid)
    assert any(os.path.basename(d) == sid for d in host.cgroup_dirs(daemon.cgroup_root))
    out = ok(cove("rm", "--wait", name)).decode()
    assert sid in out, out
    # No polling: with --wait the answer comes after the cgroups are gone.
    left = [d for d in host.cgroup_dirs(daemon.cgroup_root) if os.path.basename(d) == sid]
    assert left == [], left
    cp = cove("rm", "--wiat", name)
    assert cp.returncode == 2 and b"--wiat" in cp.stderr, cp


def test_run_script(cove, api, cli_home):
    require_host_tools("python3")
    before = all_ids(api)
    script = os.path.join(cli_home, "script.py")
    with open(script, "w") as f:
        f.write("import sys\nprint('sum', sum(range(10)))\nprint('to stderr', file=sys.stderr)\n")
    cp = cove("run", script)
    assert cp.returncode == 0, cp
    assert cp.stdout == b"sum 45\n" and b"to stderr" in cp.stderr, cp
    assert all_ids(api) == before, "cove run left a sandbox behind"
    with open(script, "w") as f:
        f.write("import sys\nprint('bye')\nsys.exit(4)\n")
    cp = cove("run", script)
    assert cp.returncode == 4 and cp.stdout == b"bye\n", cp
    assert all_ids(api) == before, "cove run left a sandbox behind after a failure"


def test_errors_and_exit_codes(cove, daemon):
    cp = cove("exec", "no-such-sandbox-zz", "--", "true")
    assert cp.returncode == 1 and cp.stderr.strip(), cp
    cp = cove("ls", key="cove_" + "0" * 40)
    assert cp.returncode == 1 and cp.stderr.strip(), cp
    cp = cove("ls", url="http://127.0.0.1:1")
    assert cp.returncode == 3, cp
    cp = cove("exec")
    assert cp.returncode == 2, cp
    cp = cove("no-such-verb")
    assert cp.returncode == 2, cp
    cp = cove("create", "--cpu", "lots")
    assert cp.returncode == 2, cp

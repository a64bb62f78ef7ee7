"""POST /v1/sandboxes/{id}/exec: argv and shell forms, exit status, streams, stdin, cwd,
env, timeouts that kill whole process trees, output caps and encoding."""
import hashlib
import re

import pytest

from conftest import require_host_tools
from testenv import check_error_body, expect

LEFTOVER = re.compile(r"\bsleep (1234|1235|1236|1237|1238|1239)\b")


def _leftovers(api, sb):
    """Processes of earlier commands still alive in the sandbox (seen from a new exec)."""
    res = api.exec(sb, "ps", "-eo", "pid,ppid,user,args")
    assert res["exit_code"] == 0, res
    return [ln for ln in res["stdout"].splitlines() if LEFTOVER.search(ln)]


@pytest.fixture(scope="module")
def sb(module_sandbox):
    return module_sandbox["name"]


def test_argv_form(api, sb):
    res = api.exec(sb, "echo", "hello", "two words", "$HOME", "*")
    assert res["exit_code"] == 0 and res["signal"] is None
    assert res["stdout"] == "hello two words $HOME *\n" and res["stderr"] == ""
    assert res["timed_out"] is False and res["oom_killed"] is False
    assert res["stdout_truncated"] is False and res["stderr_truncated"] is False
    assert isinstance(res["duration_ms"], (int, float)) and res["duration_ms"] >= 0


def test_shell_form(api, sb):
    res = api.exec(sb, command="a=4; echo $((a * 10 + 2)) | tr 2 X; echo $0")
    assert res["exit_code"] == 0
    assert res["stdout"] == "4X\n/bin/sh\n" or res["stdout"] == "4X\nsh\n", res


def test_cmd_and_command_are_exclusive(api, sb):
    for req in ({"cmd": ["true"], "command": "true"}, {}, {"cmd": []}, {"cmd": "true"},
                {"cmd": ["echo", 1]}, {"command": ["true"]}, {"cmd": ["true"], "bogus": 1}):
        r = api.post("/v1/sandboxes/%s/exec" % sb, req)
        expect(r, 400)
        check_error_body(r)


@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_exit_code_passthrough(api, sb, code):
    res = api.exec(sb, "sh", "-c", "exit %d" % code)
    assert res["exit_code"] == code and res["signal"] is None, res
    assert res["timed_out"] is False


def test_stderr_is_separate(api, sb):
    res = api.exec(sb, command="echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 7")
    assert res["stdout"] == "out1\nout2\n"
    assert res["stderr"] == "err1\nerr2\n"
    assert res["exit_code"] == 7


@pytest.mark.parametrize("sig,num", [("KILL", 9), ("TERM", 15), ("SEGV", 11), ("INT", 2)])
def test_signal_reporting(api, sb, sig, num):
    res = api.exec(sb, command="kill -%s $$" % sig)
    assert res["exit_code"] == 128 + num, res
    assert res["signal"] == "SIG" + sig, res
    assert res["timed_out"] is False and res["oom_killed"] is False


def test_stdin(api, sb):
    res = api.exec(sb, "cat", stdin="line one\nline two é\n")
    assert res["stdout"] == "line one\nline two é\n"
    big = "0123456789abcdef" * 32768  # 512 KiB: under the 1 MiB JSON body cap
    res = api.exec(sb, "wc", "-c", stdin=big)
    assert res["stdout"].strip() == str(len(big))
    # No stdin given: the command sees EOF at once, it does not hang.
    res = api.exec(sb, "cat", timeout=20)
    assert res["stdout"] == "" and res["timed_out"] is False and res["exit_code"] == 0


def test_stdin_of_4_mib(api, sb):
    # exec stdin is capped at 16 MiB, so a 4 MiB stdin must be accepted.
    big = "0123456789abcdef" * (4 * 65536)
    res = api.exec(sb, "sha256sum", stdin=big, timeout=60)
    assert res["stdout"].split()[0] == hashlib.sha256(big.encode()).hexdigest(), res


def test_cwd(api, sb):
    assert api.exec(sb, "pwd")["stdout"] == "/home/cove\n"
    api.sh(sb, "mkdir -p /home/cove/sub/dir")
    assert api.exec(sb, "pwd", cwd="sub/dir")["stdout"] == "/home/cove/sub/dir\n"
    assert api.exec(sb, "pwd", cwd="/tmp")["stdout"] == "/tmp\n"
    assert api.exec(sb, "pwd", cwd="/")["stdout"] == "/\n"
    for missing in ("/no/such/dir", "no-such-subdir", "/home/cove/sub/dir/nope"):
        r = api.exec_raw(sb, cmd=["pwd"], cwd=missing)
        expect(r, 400)
        check_error_body(r)


def test_cwd_that_is_a_file_is_400(api, sb):
    api.sh(sb, "echo x > /home/cove/plainfile")
    r = api.exec_raw(sb, cmd=["pwd"], cwd="plainfile")
    expect(r, 400)


def test_request_env(api, sb):
    res = api.exec(sb, command='printf "%s|%s" "$FOO" "$WITH_SPACE"',
                   env={"FOO": "bar", "WITH_SPACE": "a b  c"})
    assert res["stdout"] == "bar|a b  c"
    env = api.exec(sb, "env")["stdout"].splitlines()
    assert "HOME=/home/cove" in env and "USER=cove" in env, env
    assert any(ln.startswith("PATH=") and "/usr/bin" in ln for ln in env), env
    assert not any(ln.startswith("FOO=") for ln in env), "request env leaked into next exec"


def test_sandbox_env_and_request_env(api, make_sandbox):
    s = make_sandbox(env={"SBX_A": "one", "SBX_B": "b"})
    res = api.exec(s["name"], command='printf "%s|%s|%s" "$SBX_A" "$SBX_B" "$REQ_C"',
                   env={"REQ_C": "three"})
    assert res["stdout"] == "one|b|three"


@pytest.mark.parametrize("env", [{"A": 1}, ["A=1"], "A=1", {"A": None}],
                         ids=["int", "list", "string", "null"])
def test_env_of_wrong_type_is_400(api, sb, env):
    r = api.exec_raw(sb, cmd=["true"], env=env)
    expect(r, 400)


@pytest.mark.parametrize("env", [{"": "x"}, {"A=B": "x"}, {"A": "x\u0000y"}],
                         ids=["empty-name", "name-with-equals", "nul-in-value"])
def test_env_that_cannot_be_an_environment_entry_is_400(api, sb, env):
    r = api.exec_raw(sb, cmd=["true"], env=env)
    expect(r, 400)


@pytest.mark.parametrize("timeout", [0, -1, 86401, "5", 1e300, [1]])
def test_bad_timeout_is_400(api, sb, timeout):
    r = api.post("/v1/sandboxes/%s/exec" % sb, {"cmd": ["true"], "timeout": timeout})
    expect(r, 400)


def test_fractional_timeout_fires(api, sb):
    res = api.exec(sb, "sleep", "30", timeout=0.5)
    assert res["timed_out"] is True, res
    assert res["exit_code"] != 0


def test_timeout_kills_the_whole_tree(api, make_sandbox):
    require_host_tools("ps", "setsid", "python3")
    s = make_sandbox()["name"]
    script = (
        "setsid sleep 1234 >/dev/null 2>&1 < /dev/null &\n"
        "( sleep 1235 >/dev/null 2>&1 & ) \n"          # double fork: reparented to PID 1
        "( setsid sh -c 'sleep 1236 & exit 0' & ) \n"  # double fork plus new session
        "nohup sleep 1239 >/dev/null 2>&1 &\n"
        "python3 -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "time.sleep(1237)' &\n"
        "trap '' TERM\n"
        "echo started\n"
        "sleep 1238\n"
    )
    res = api.exec(s, command=script, timeout=3)
    assert res["timed_out"] is True, res
    assert res["exit_code"] != 0, res
    assert "started" in res["stdout"], res
    left = _leftovers(api, s)
    assert left == [], "processes survived the timeout: %s" % left


def test_normal_exit_kills_background_leftovers(api, make_sandbox):
    require_host_tools("ps", "setsid")
    s = make_sandbox()["name"]
    res = api.exec(s, command="setsid sleep 1234 & (sleep 1235 &); echo done", timeout=30)
    assert res["stdout"] == "done\n" and res["exit_code"] == 0 and res["timed_out"] is False
    assert _leftovers(api, s) == []


def test_background_child_holding_stdout_does_not_hang(api, sb):
    # The shell exits at once; its background child keeps the stdout pipe open. The exec
    # must end when the command ends (leftovers are killed), not after 1234 s or a timeout.
    res = api.exec(sb, command="sleep 1234 & echo bye", timeout=30)
    assert res["stdout"] == "bye\n" and res["exit_code"] == 0 and res["timed_out"] is False


def test_output_cap_and_truncated_flag(api, sb):
    res = api.exec(sb, command="head -c 5000 /dev/zero | tr '\\0' a; "
                               "head -c 300 /dev/zero | tr '\\0' b >&2",
                   max_output_bytes=1000)
    assert res["stdout"] == "a" * 1000, (len(res["stdout"]), res["stdout"][:50])
    assert res["stdout_truncated"] is True
    assert res["stderr"] == "b" * 300 and res["stderr_truncated"] is False


def test_default_output_cap_is_one_mib(api, sb):
    res = api.exec(sb, command="head -c 1500000 /dev/zero | tr '\\0' z", timeout=60)
    assert res["stdout_truncated"] is True
    assert res["stdout"] == "z" * 1048576, len(res["stdout"])


def test_output_exactly_at_cap_is_not_truncated(api, sb):
    res = api.exec(sb, command="head -c 1000 /dev/zero | tr '\\0' c", max_output_bytes=1000)
    assert res["stdout"] == "c" * 1000 and res["stdout_truncated"] is False


@pytest.mark.parametrize("cap", [-1, 16777217, "10", 1.5])
def test_bad_max_output_bytes_is_400(api, sb, cap):
    r = api.exec_raw(sb, cmd=["true"], max_output_bytes=cap)
    expect(r, 400)


def test_large_output_up_to_16_mib(api, sb):
    n = 16 * 1024 * 1024
    res = api.exec(sb, command="head -c %d /dev/zero | tr '\\0' q" % (n + 10),
                   max_output_bytes=n, timeout=120)
    assert res["stdout_truncated"] is True
    assert len(res["stdout"]) == n and res["stdout"].count("q") == n


def test_non_utf8_output_is_replaced(api, sb):
    res = api.exec(sb, command="printf 'a\\377b\\n'; printf 'x\\376\\375y' >&2")
    assert res["stdout"] == "a\ufffdb\n", ascii(res["stdout"])
    assert res["stderr"].startswith("x\ufffd") and res["stderr"].endswith("\ufffdy"), \
        ascii(res["stderr"])
    assert "\ufffd" in res["stderr"] and set(res["stderr"][1:-1]) == {"\ufffd"}


def test_unicode_output(api, sb):
    text = "héllo wörld — 世界 🎉 \u0394\n"
    res = api.exec(sb, "printf", "%s", text)
    assert res["stdout"] == text
    res = api.exec(sb, "cat", stdin=text)
    assert res["stdout"] == text
    res = api.exec(sb, "sh", "-c", "echo \"$1\"", "sh", "ünï")
    assert res["stdout"] == "ünï\n"


def test_missing_program_is_127(api, sb):
    res = api.exec(sb, "no-such-program-zz", "arg")
    assert res["exit_code"] == 127, res
    assert res["signal"] is None
    assert res["stderr"].strip(), "the reason belongs in stderr: %r" % res
    res = api.exec(sb, "/no/such/path/prog")
    assert res["exit_code"] == 127 and res["stderr"].strip(), res
    res = api.exec(sb, command="no-such-program-zz")
    assert res["exit_code"] == 127 and "no-such-program-zz" in res["stderr"], res


def test_non_executable_file_is_not_a_200_success(api, sb):
    api.sh(sb, "printf '#!/bin/sh\\necho hi\\n' > /home/cove/noexec.sh && chmod 644 noexec.sh")
    res = api.exec(sb, "/home/cove/noexec.sh")
    assert res["exit_code"] in (126, 127) and res["stdout"] == "", res


def test_exec_many_in_a_row(api, sb):
    outs = [api.exec(sb, "echo", str(i))["stdout"] for i in range(20)]
    assert outs == ["%d\n" % i for i in range(20)]


def test_exec_user_ids(api, sb):
    res = api.exec(sb, command="id -u; id -g")
    assert res["stdout"] == "1000\n1000\n"


def test_exec_over_unix_socket(unix_api, sb):
    res = unix_api.exec(sb, "sh", "-c", "echo via-unix; exit 6")
    assert res["stdout"] == "via-unix\n" and res["exit_code"] == 6, res


def test_dev_stdin_stdout_stderr_can_be_reopened(api, sb):
    # Programs reopen their stdio through /dev/stdin (= /proc/self/fd/0) and friends; the
    # pipes coved hands over must belong to the sandbox user for that to work.
    res = api.exec_raw(sb, command="cat /dev/stdin; echo out > /dev/stdout; echo err > /dev/stderr",
                       stdin="from-stdin\n")
    body = expect(res, 200)
    assert body["exit_code"] == 0, body
    assert body["stdout"] == "from-stdin\nout\n", body
    assert body["stderr"] == "err\n", body

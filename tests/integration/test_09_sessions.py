"""Sessions: persistent shells, sync and async commands, logs (whole, from offsets, followed
over SSE), stdin, signals, timeouts, caps, survival across a coved SIGKILL, and auto-stop.

Most tests share one sandbox of the session daemon and use a session of their own. The
restart and auto-stop tests run private daemons (test_06 style), because they kill coved or
shorten auto-stop's minute with the hidden --autostop-unit-ms flag.

Waiting for a command is bounded polling of its status (the daemon has no "wait" route);
waiting for the daemon itself goes through --ready-fd as everywhere else."""
import json
import os
import subprocess
import time

import pytest

from conftest import require_host_tools
from testenv import Client, cli_path, coved_path, expect, q, private_daemon

LOG_CAP = 64 << 20  # CTL_LOG_CAP, per stream per command
MAX_COMMANDS = 1000  # SESSION_MAX_COMMANDS
MAX_SESSIONS = 64  # SESSION_MAX_PER_SANDBOX


# ---- helpers ------------------------------------------------------------------------------

def sb_path(sb, suffix=""):
    return "/v1/sandboxes/%s%s" % (q(sb), suffix)


def new_session(api, sb, sid=None):
    body = {"id": sid} if sid else {}
    s = expect(api.post(sb_path(sb, "/sessions"), body), 201)
    assert s["commands"] == [] and (sid is None or s["id"] == sid), s
    return s["id"]


def sexec_raw(api, sb, sid, command, **kw):
    kw["command"] = command
    if "async_" in kw:
        kw["async"] = kw.pop("async_")
    return api.post(sb_path(sb, "/sessions/%s/exec" % q(sid)), kw, timeout=120)


def run(api, sb, sid, command, **kw):
    """A sync session command; returns the exec result (with its id)."""
    res = expect(sexec_raw(api, sb, sid, command, **kw), 200)
    assert isinstance(res.get("id"), str) and len(res["id"]) == 36, res
    return res


def start(api, sb, sid, command, **kw):
    """An async session command; returns its id."""
    r = sexec_raw(api, sb, sid, command, async_=True, **kw)
    body = expect(r, 202)
    assert body["running"] is True and isinstance(body["id"], str), r
    return body["id"]


def status(api, sb, cid):
    return expect(api.get(sb_path(sb, "/commands/%s" % q(cid))), 200)


def logs(api, sb, cid, **query):
    return expect(api.get(sb_path(sb, "/commands/%s/logs" % q(cid)), query=query or None), 200)


def wait_done(api, sb, cid, limit=30.0):
    deadline = time.monotonic() + limit
    while True:
        st = status(api, sb, cid)
        if not st["running"]:
            return st
        assert time.monotonic() < deadline, "command still running after %.0f s: %r" % (
            limit, st)
        time.sleep(0.05)


def wait_for(pred, limit, what, step=0.1):
    deadline = time.monotonic() + limit
    while not pred():
        assert time.monotonic() < deadline, "timed out after %.0f s waiting for %s" % (
            limit, what)
        time.sleep(step)


def wait_log(api, sb, cid, text, stream="stdout", limit=20.0):
    wait_for(lambda: text in logs(api, sb, cid)[stream], limit,
             "%r in the %s of %s" % (text, stream, cid))


class SSE:
    """An open follow=true stream; events() yields (event, data) as they arrive."""

    def __init__(self, api, sb, cid, timeout=60, **query):
        query["follow"] = "true"
        path = sb_path(sb, "/commands/%s/logs" % q(cid)) + "?" + "&".join(
            "%s=%s" % kv for kv in query.items())
        self.conn = api.connection(timeout)
        self.conn.request("GET", path, headers={"Authorization": "Bearer %s" % api.key})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, (self.resp.status, self.resp.read())
        ctype = self.resp.getheader("Content-Type", "")
        assert ctype.startswith("text/event-stream"), ctype

    def events(self):
        event, data = None, []
        while True:
            line = self.resp.readline()
            if not line:
                return
            line = line.decode("utf-8").rstrip("\n")
            if line == "":
                if event is not None:
                    yield event, json.loads("\n".join(data))
                event, data = None, []
            elif line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
            else:
                raise AssertionError("unexpected SSE line %r" % line)

    def close(self):
        self.conn.close()


def collect(events):
    """(stdout, stderr, exit status, the event names in order)."""
    out, err, ex, names = [], [], None, []
    for ev, data in events:
        names.append(ev)
        assert ex is None, "event %r after the exit event" % ev
        if ev == "stdout":
            out.append(data)
        elif ev == "stderr":
            err.append(data)
        elif ev == "exit":
            ex = data
        else:
            raise AssertionError("unknown event %r" % ev)
    return "".join(out), "".join(err), ex, names


def sandbox_ps(api, sb, sid):
    """The command lines of every process in the sandbox, seen from session sid."""
    return run(api, sb, sid, "ps -eo args")["stdout"]


@pytest.fixture(scope="module")
def box(module_sandbox):
    return module_sandbox["id"]


# ---- shell state --------------------------------------------------------------------------

def test_state_carries_over(api, box):
    sid = new_session(api, box, "state")
    run(api, box, sid, "cd /tmp && mkdir -p here && cd here; export FOO='a b'; PLAIN=1; "
        "greet() { echo \"hi $1\"; }; alias ll='echo aliased'")
    res = run(api, box, sid, 'pwd; echo "$FOO"; echo "plain=$PLAIN"; greet you; ll')
    assert res["stdout"] == "/tmp/here\na b\nplain=\nhi you\naliased\n", res
    # The state belongs to the session: a second session starts afresh, in the home directory.
    other = new_session(api, box)
    res = run(api, box, other, 'pwd; echo "foo=$FOO"; type greet >/dev/null 2>&1 || echo none')
    assert res["stdout"] == "/home/cove\nfoo=\nnone\n", res
    # An explicit exit still saves the state.
    run(api, box, sid, "cd /; export BAR=2; exit 0")
    assert run(api, box, sid, 'pwd; echo "$BAR"')["stdout"] == "/\n2\n"


def test_async_state_reaches_later_commands_and_does_not_clobber(api, box):
    sid = new_session(api, box, "clobber")
    slow = start(api, box, sid, "sleep 1")  # changes nothing
    run(api, box, sid, "cd /tmp; export SEEN=yes")
    assert wait_done(api, box, slow)["exit_code"] == 0
    assert run(api, box, sid, 'pwd; echo "$SEEN"')["stdout"] == "/tmp\nyes\n"
    # An async command's own changes arrive once it has finished.
    changer = start(api, box, sid, "cd /var; export LATE=1; sleep 0.5")
    wait_done(api, box, changer)
    assert run(api, box, sid, 'pwd; echo "$LATE"')["stdout"] == "/var\n1\n"


def test_recreated_session_starts_clean(api, box):
    sid = new_session(api, box, "reborn")
    run(api, box, sid, "cd /tmp; export OLD=1")
    expect(api.delete(sb_path(box, "/sessions/reborn")), 200)
    new_session(api, box, "reborn")
    assert run(api, box, sid, 'pwd; echo "old=$OLD"')["stdout"] == "/home/cove\nold=\n"


# ---- sync and async commands --------------------------------------------------------------

def test_sync_exit_code_and_separate_streams(api, box):
    sid = new_session(api, box)
    res = run(api, box, sid, "echo out; echo err >&2; echo out2; exit 3")
    assert res["exit_code"] == 3 and res["signal"] is None, res
    assert res["stdout"] == "out\nout2\n" and res["stderr"] == "err\n", res
    assert res["timed_out"] is False and res["stdout_truncated"] is False, res
    st = status(api, box, res["id"])
    assert st == {"id": res["id"], "running": False, "lost": False, "stdout_bytes": 9,
                  "stderr_bytes": 4, "exit_code": 3, "timed_out": False, "signal": None}, st
    # max_output_bytes cuts the answer, not the log.
    res = run(api, box, sid, "printf 0123456789", max_output_bytes=4)
    assert res["stdout"] == "0123" and res["stdout_truncated"] is True, res
    assert logs(api, box, res["id"])["stdout"] == "0123456789"
    # The session lists its commands in start order.
    s = expect(api.get(sb_path(box, "/sessions/%s" % sid)), 200)
    assert [c["command"] for c in s["commands"]] == [
        "echo out; echo err >&2; echo out2; exit 3", "printf 0123456789"], s
    assert s["commands"][0]["exit_code"] == 3 and s["commands"][0]["async"] is False


def test_async_keeps_running_then_reports_exit(api, box):
    sid = new_session(api, box)
    t0 = time.monotonic()
    cid = start(api, box, sid, "echo started; read line; echo \"got $line\"; exit 5")
    assert time.monotonic() - t0 < 10
    wait_log(api, box, cid, "started\n")
    # It waits on its stdin for as long as it likes; the request that started it is long gone.
    time.sleep(1)
    st = status(api, box, cid)
    assert st["running"] is True and st["exit_code"] is None and st["lost"] is False, st
    listed = expect(api.get(sb_path(box, "/sessions/%s" % sid)), 200)["commands"]
    assert listed[0]["id"] == cid and listed[0]["running"] is True and listed[0]["async"]
    expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"data": "go\n"}), 200)
    st = wait_done(api, box, cid)
    assert st["exit_code"] == 5 and st["signal"] is None, st
    assert logs(api, box, cid)["stdout"] == "started\ngot go\n"


def test_sync_timeout(api, box):
    sid = new_session(api, box)
    t0 = time.monotonic()
    res = run(api, box, sid, "echo before; sleep 30", timeout=1)
    took = time.monotonic() - t0
    assert res["timed_out"] is True and res["exit_code"] == 137, res
    assert res["signal"] == "SIGKILL" and res["stdout"] == "before\n", res
    assert took < 10, "a 1 s timeout took %.1f s" % took
    st = status(api, box, res["id"])
    assert st["timed_out"] is True and st["exit_code"] == 137, st
    # The session survives its command's timeout.
    assert run(api, box, sid, "echo alive")["stdout"] == "alive\n"


def test_async_timeout(api, box):
    sid = new_session(api, box)
    cid = start(api, box, sid, "sleep 30", timeout=0.5)
    st = wait_done(api, box, cid, limit=15)
    assert st["timed_out"] is True and st["exit_code"] == 137 and st["signal"] == "SIGKILL", st
    # Without a timeout nothing is killed.
    cid = start(api, box, sid, "sleep 1.5; echo slept")
    st = wait_done(api, box, cid)
    assert st["timed_out"] is False and st["exit_code"] == 0, st


# ---- logs ---------------------------------------------------------------------------------

def test_logs_whole_and_from_offsets(api, box):
    sid = new_session(api, box)
    res = run(api, box, sid, "printf 'line1\\nline2\\n'; printf 'E1E2' >&2")
    cid = res["id"]
    whole = logs(api, box, cid)
    assert whole["stdout"] == "line1\nline2\n" and whole["stderr"] == "E1E2", whole
    assert whole["stdout_offset"] == 12 and whole["stderr_offset"] == 4, whole
    assert whole["exit_code"] == 0 and whole["running"] is False, whole
    part = logs(api, box, cid, stdout_offset=6, stderr_offset=2)
    assert part["stdout"] == "line2\n" and part["stderr"] == "E2", part
    assert part["stdout_offset"] == 12 and part["stderr_offset"] == 4, part
    past = logs(api, box, cid, stdout_offset=1000)
    assert past["stdout"] == "" and past["stdout_offset"] == 1000, past


def test_logs_of_running_command_page_on_with_offsets(api, box):
    sid = new_session(api, box)
    cid = start(api, box, sid, "echo one; read x; echo two")
    wait_log(api, box, cid, "one\n")
    first = logs(api, box, cid)
    assert first["stdout"] == "one\n" and first["running"] is True, first
    expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"data": "\n"}), 200)
    wait_done(api, box, cid)
    nxt = logs(api, box, cid, stdout_offset=first["stdout_offset"])
    assert nxt["stdout"] == "two\n", nxt


def test_follow_sse_streams_live_in_order_and_ends_with_exit(api, box):
    sid = new_session(api, box)
    cid = start(api, box, sid, "echo o1; echo e1 >&2; read go; echo o2; echo e2 >&2; "
                "echo o3; exit 7")
    sse = SSE(api, box, cid)
    try:
        ev = sse.events()
        seen = []
        # The first output arrives while the command still waits on its stdin: live.
        while "".join(d for e, d in seen if e == "stdout") != "o1\n" or \
                "".join(d for e, d in seen if e == "stderr") != "e1\n":
            seen.append(next(ev))
            assert seen[-1][0] != "exit", seen
        assert status(api, box, cid)["running"] is True
        expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"data": "x\n"}), 200)
        out, err, ex, names = collect(seen + list(ev))
    finally:
        sse.close()
    assert out == "o1\no2\no3\n" and err == "e1\ne2\n", (out, err)
    assert names[-1] == "exit" and names.count("exit") == 1, names
    assert ex["exit_code"] == 7 and ex["running"] is False and ex["id"] == cid, ex
    assert ex["stdout_bytes"] == 9 and ex["stderr_bytes"] == 6, ex


def test_follow_finished_command_and_offsets(api, box):
    sid = new_session(api, box)
    cid = run(api, box, sid, "echo abc; echo xyz >&2")["id"]
    sse = SSE(api, box, cid)
    try:
        out, err, ex, _ = collect(sse.events())
    finally:
        sse.close()
    assert (out, err, ex["exit_code"]) == ("abc\n", "xyz\n", 0)
    sse = SSE(api, box, cid, stdout_offset=2, stderr_offset=4)
    try:
        out, err, ex, _ = collect(sse.events())
    finally:
        sse.close()
    assert (out, err) == ("c\n", ""), (out, err)


def test_follow_keeps_multibyte_characters_whole(api, box):
    sid = new_session(api, box)
    # 3-byte characters across the stream's 16 KiB reads: none may be split into U+FFFD.
    cid = start(api, box, sid, "for i in $(seq 12000); do printf '\\342\\202\\254'; done")
    sse = SSE(api, box, cid)
    try:
        out, _, ex, _ = collect(sse.events())
    finally:
        sse.close()
    assert ex["exit_code"] == 0 and ex["stdout_bytes"] == 36000, ex
    assert out == "\u20ac" * 12000, "split characters: %d U+FFFD" % out.count("\ufffd")


def test_log_cap_drops_the_rest_without_blocking(api, box):
    sid = new_session(api, box)
    # 64 MiB + 1000 bytes to stdout, then a marker on stderr: the writer must not block.
    res = run(api, box, sid, "head -c %d /dev/zero | tr '\\0' a; echo done >&2" % (
        LOG_CAP + 1000), max_output_bytes=16, timeout=120)
    assert res["exit_code"] == 0 and res["stderr"] == "done\n", res
    assert res["stdout"] == "a" * 16 and res["stdout_truncated"] is True
    st = status(api, box, res["id"])
    assert st["stdout_bytes"] == LOG_CAP and st["stderr_bytes"] == 5, st
    tail = logs(api, box, res["id"], stdout_offset=LOG_CAP - 3)
    assert tail["stdout"] == "aaa" and tail["stdout_offset"] == LOG_CAP, tail
    # Deleting the session deletes its 64 MiB of logs.
    expect(api.delete(sb_path(box, "/sessions/%s" % sid)), 200)


# ---- input and signals --------------------------------------------------------------------

def test_stdin_input_and_eof(api, box):
    sid = new_session(api, box)
    cid = start(api, box, sid, "cat; echo \"[eof]\"")
    r = expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"data": "hello\n"}), 200)
    assert r == {"written": 6}, r
    expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"data": "wörld\n", "eof": True}),
           200)
    st = wait_done(api, box, cid)
    assert st["exit_code"] == 0
    assert logs(api, box, cid)["stdout"] == "hello\nwörld\n[eof]\n"
    expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"data": "late"}), 409,
           "COMMAND_ALREADY_COMPLETED")


def test_eof_alone_and_input_after_eof(api, box):
    sid = new_session(api, box)
    cid = start(api, box, sid, "wc -c; sleep 30")
    expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"eof": True}), 200)
    wait_log(api, box, cid, "0\n")
    expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"data": "x"}), 409,
           "STDIN_CLOSED")
    expect(api.post(sb_path(box, "/commands/%s/signal" % cid), {"signal": "KILL"}), 200)
    wait_done(api, box, cid)


def test_signal_term_then_kill(api, box):
    sid = new_session(api, box)
    cid = start(api, box, sid, "sleep 300")
    r = expect(api.post(sb_path(box, "/commands/%s/signal" % cid), {"signal": "TERM"}), 200)
    assert r == {"id": cid, "signal": 15}, r
    st = wait_done(api, box, cid)
    assert st["exit_code"] == 143 and st["signal"] == "SIGTERM", st

    # A command that ignores TERM keeps running until KILL.
    cid = start(api, box, sid, "trap '' TERM; echo armed; while :; do sleep 0.05; done")
    wait_log(api, box, cid, "armed\n")
    expect(api.post(sb_path(box, "/commands/%s/signal" % cid), {"signal": 15}), 200)
    time.sleep(0.5)
    assert status(api, box, cid)["running"] is True
    r = expect(api.post(sb_path(box, "/commands/%s/signal" % cid), {"signal": "SIGKILL"}), 200)
    assert r["signal"] == 9
    st = wait_done(api, box, cid)
    assert st["exit_code"] == 137 and st["signal"] == "SIGKILL", st
    expect(api.post(sb_path(box, "/commands/%s/signal" % cid), {"signal": "KILL"}), 409,
           "COMMAND_ALREADY_COMPLETED")
    # The default signal is TERM.
    cid = start(api, box, sid, "sleep 300")
    expect(api.post(sb_path(box, "/commands/%s/signal" % cid), {}), 200)
    assert wait_done(api, box, cid)["signal"] == "SIGTERM"


# ---- deleting a session -------------------------------------------------------------------

def test_delete_session_kills_all_its_processes(api, box):
    require_host_tools("ps", "setsid")
    victim, watcher = new_session(api, box), new_session(api, box)
    cid = start(api, box, victim, "sleep 1001 & setsid sleep 1002 & "
                "(setsid sh -c 'sleep 1003 &' &); sleep 1004")
    wait_for(lambda: all("sleep %d" % n in sandbox_ps(api, box, watcher)
                         for n in (1001, 1002, 1003, 1004)), 20, "the four sleeps")
    gone = expect(api.delete(sb_path(box, "/sessions/%s" % victim)), 200)
    assert gone == {"id": victim, "deleted": True}, gone
    ps = sandbox_ps(api, box, watcher)
    for n in (1001, 1002, 1003, 1004):
        assert "sleep %d" % n not in ps, "sleep %d survived its session:\n%s" % (n, ps)
    expect(api.get(sb_path(box, "/sessions/%s" % victim)), 404, "SESSION_NOT_FOUND")
    expect(api.get(sb_path(box, "/commands/%s" % cid)), 404, "COMMAND_NOT_FOUND")
    expect(api.get(sb_path(box, "/commands/%s/logs" % cid)), 404, "COMMAND_NOT_FOUND")
    # The watcher is untouched.
    assert run(api, box, watcher, "echo ok")["stdout"] == "ok\n"


# ---- stop and start -----------------------------------------------------------------------

def test_stop_marks_running_commands_lost_even_after_start(api, sandbox):
    sb = sandbox["id"]
    sid = new_session(api, sb)
    run(api, sb, sid, "cd /tmp; export KEPT=1")
    cid = start(api, sb, sid, "sleep 300")
    expect(api.post(sb_path(sb, "/stop"), timeout=120), 200)
    st = status(api, sb, cid)
    assert st["running"] is False and st["lost"] is True and st["exit_code"] is None, st
    expect(sexec_raw(api, sb, sid, "true"), 409, "INVALID_STATE")
    expect(api.post(sb_path(sb, "/sessions"), {}), 409, "INVALID_STATE")
    expect(api.post(sb_path(sb, "/start"), timeout=120), 200)
    # A new init may reuse the old pid: the old command is still lost, not running, and a
    # signal for it must not reach anything.
    st = status(api, sb, cid)
    assert st["running"] is False and st["lost"] is True, st
    expect(api.post(sb_path(sb, "/commands/%s/signal" % cid), {"signal": "KILL"}), 409,
           "COMMAND_ALREADY_COMPLETED")
    # The session and its shell state (kept on the sandbox's disk) are still there.
    assert run(api, sb, sid, 'pwd; echo "$KEPT"')["stdout"] == "/tmp\n1\n"


# ---- errors and caps ----------------------------------------------------------------------

def test_unknown_ids_are_404(api, box, make_sandbox):
    sid = new_session(api, box)
    cid = run(api, box, sid, "true")["id"]
    for method, path, body, code in [
        ("GET", "/sessions/nope", None, "SESSION_NOT_FOUND"),
        ("DELETE", "/sessions/nope", None, "SESSION_NOT_FOUND"),
        ("POST", "/sessions/nope/exec", {"command": "true"}, "SESSION_NOT_FOUND"),
        ("GET", "/commands/nope", None, "COMMAND_NOT_FOUND"),
        ("GET", "/commands/00000000-0000-4000-8000-000000000000", None, "COMMAND_NOT_FOUND"),
        ("GET", "/commands/nope/logs", None, "COMMAND_NOT_FOUND"),
        ("GET", "/commands/nope/logs?follow=true", None, "COMMAND_NOT_FOUND"),
        ("POST", "/commands/nope/input", {"eof": True}, "COMMAND_NOT_FOUND"),
        ("POST", "/commands/nope/signal", {"signal": "TERM"}, "COMMAND_NOT_FOUND"),
    ]:
        r = api.request(method, sb_path(box, path), body=body)
        expect(r, 404, code)
    expect(api.get("/v1/sandboxes/no-such-box/sessions"), 404, "SANDBOX_NOT_FOUND")
    expect(api.get("/v1/sandboxes/no-such-box/commands/%s" % cid), 404, "SANDBOX_NOT_FOUND")
    # A command id is only found through its own sandbox.
    other = make_sandbox()["id"]
    expect(api.get(sb_path(other, "/commands/%s" % cid)), 404, "COMMAND_NOT_FOUND")
    expect(api.get(sb_path(other, "/sessions/%s" % sid)), 404, "SESSION_NOT_FOUND")


@pytest.mark.parametrize("body", [
    {},
    {"command": ""},
    {"command": 5},
    {"command": ["echo", "x"]},
    {"command": "a\u0000b"},
    {"command": "true", "async": "yes"},
    {"command": "true", "timeout": 0},
    {"command": "true", "timeout": -1},
    {"command": "true", "timeout": 86401},
    {"command": "true", "timeout": "5"},
    {"command": "true", "max_output_bytes": -1},
    {"command": "true", "max_output_bytes": 16777217},
    {"command": "true", "max_output_bytes": 1.5},
    {"command": "true", "bogus": 1},
])
def test_exec_bad_bodies_are_400(api, box, body):
    sid = "bad-bodies"
    r = api.get(sb_path(box, "/sessions/%s" % sid))
    if r.status == 404:
        new_session(api, box, sid)
    r = api.post(sb_path(box, "/sessions/%s/exec" % sid), body)
    expect(r, 400, ("BAD_REQUEST", "UNKNOWN_FIELD"))


def test_other_bad_bodies_are_400(api, box):
    sid = new_session(api, box)
    cid = start(api, box, sid, "sleep 60")
    try:
        for body in ({"id": ""}, {"id": ".hidden"}, {"id": "a/b"}, {"id": "x" * 65}, {"id": 5},
                     {"name": "x"}):
            expect(api.post(sb_path(box, "/sessions"), body), 400,
                   ("BAD_REQUEST", "UNKNOWN_FIELD"))
        expect(api.post(sb_path(box, "/sessions"), raw=b"{not json",
                        content_type="application/json"), 400, "BAD_REQUEST")
        for body in ({}, {"data": 5}, {"eof": "yes"}, {"data": "x", "more": 1}):
            expect(api.post(sb_path(box, "/commands/%s/input" % cid), body), 400,
                   ("BAD_REQUEST", "UNKNOWN_FIELD"))
        for body in ({"signal": "NOPE"}, {"signal": 0}, {"signal": 65}, {"signal": -9},
                     {"signal": "TERM", "x": 1}):
            expect(api.post(sb_path(box, "/commands/%s/signal" % cid), body), 400,
                   ("BAD_REQUEST", "UNKNOWN_FIELD"))
        for query in ({"stdout_offset": "x"}, {"stderr_offset": "-1"}, {"follow": "maybe"}):
            expect(api.get(sb_path(box, "/commands/%s/logs" % cid), query=query), 400,
                   "BAD_REQUEST")
        expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"data": "x" * (2 << 20)}),
               413, "PAYLOAD_TOO_LARGE")
        assert status(api, box, cid)["running"] is True
    finally:
        api.post(sb_path(box, "/commands/%s/signal" % cid), {"signal": "KILL"})


def test_session_ids_and_caps(api, sandbox):
    sb = sandbox["id"]
    new_session(api, sb, "dup")
    expect(api.post(sb_path(sb, "/sessions"), {"id": "dup"}), 409, "SESSION_EXISTS")
    made = {"dup", new_session(api, sb)}
    while len(made) < MAX_SESSIONS:
        made.add(new_session(api, sb, "s%d" % len(made)))
    expect(api.post(sb_path(sb, "/sessions"), {}), 409, "TOO_MANY_SESSIONS")
    listed = expect(api.get(sb_path(sb, "/sessions")), 200)["sessions"]
    assert {s["id"] for s in listed} == made
    expect(api.delete(sb_path(sb, "/sessions/dup")), 200)
    new_session(api, sb, "again")


@pytest.mark.slow
def test_commands_per_session_cap(api, box):
    sid = new_session(api, box)
    for i in range(MAX_COMMANDS):
        r = sexec_raw(api, box, sid, ":", async_=True)
        assert r.status == 202, "command %d: %s" % (i, r)
    expect(sexec_raw(api, box, sid, "true"), 409, "TOO_MANY_COMMANDS")
    assert len(expect(api.get(sb_path(box, "/sessions/%s" % sid)), 200)["commands"]) == \
        MAX_COMMANDS
    # Other sessions are not affected; deleting this one frees its rows and logs.
    other = new_session(api, box)
    assert run(api, box, other, "echo fine")["stdout"] == "fine\n"
    expect(api.delete(sb_path(box, "/sessions/%s" % sid)), 200)


# ---- coved SIGKILL and restart ------------------------------------------------------------

@pytest.fixture(scope="module")
def private():
    yield from private_daemon("sessions", slot=5, extra_args=["--disk-warm", "0"])


def test_sessions_survive_coved_sigkill(private):
    d = private
    api = Client(d)
    sb = api.create(name="persist", auto_stop_minutes=0)["id"]
    try:
        sid = new_session(api, sb, "keep")
        done = run(api, sb, sid, "cd /tmp; export K=v; echo out; echo err >&2; exit 4")
        sleeper = start(api, sb, sid, "echo up; sleep 1000")
        during = start(api, sb, sid, "echo a; sleep 2; echo b >&2; exit 6")
        timed = start(api, sb, sid, "sleep 1000", timeout=3)
        wait_log(api, sb, sleeper, "up\n")

        d.kill()
        assert not d.running()
        d.start(expect_key_line=False)

        s = expect(api.get(sb_path(sb, "/sessions/keep")), 200)
        assert [c["id"] for c in s["commands"]] == [done["id"], sleeper, during, timed], s
        st = status(api, sb, done["id"])
        assert st["exit_code"] == 4 and st["running"] is False, st
        lg = logs(api, sb, done["id"])
        assert lg["stdout"] == "out\n" and lg["stderr"] == "err\n", lg
        st = status(api, sb, sleeper)
        assert st["running"] is True and st["lost"] is False, st
        # Finished (or finishes) while coved was down: status and both logs are complete.
        st = wait_done(api, sb, during)
        assert st["exit_code"] == 6, st
        lg = logs(api, sb, during)
        assert (lg["stdout"], lg["stderr"]) == ("a\n", "b\n"), lg
        # init kept the timeout while coved was gone.
        st = wait_done(api, sb, timed, limit=20)
        assert st["timed_out"] is True and st["exit_code"] == 137, st

        # New sessions and commands after the restart neither disturb the old ones nor
        # share their cgroup (the exec counter restarted at 1).
        fresh = new_session(api, sb)
        for _ in range(3):
            assert run(api, sb, fresh, "echo new")["stdout"] == "new\n"
        expect(api.delete(sb_path(sb, "/sessions/%s" % fresh)), 200)
        assert status(api, sb, sleeper)["running"] is True
        assert run(api, sb, sid, 'pwd; echo "$K"')["stdout"] == "/tmp\nv\n"

        # Following and signalling the pre-restart command work as before.
        sse = SSE(api, sb, sleeper)
        try:
            ev = sse.events()
            assert next(ev) == ("stdout", "up\n")
            expect(api.post(sb_path(sb, "/commands/%s/signal" % sleeper), {"signal": "TERM"}),
                   200)
            _, _, ex, _ = collect(ev)
        finally:
            sse.close()
        assert ex["exit_code"] == 143 and ex["signal"] == "SIGTERM", ex
    finally:
        expect(api.destroy(sb), 200)


# ---- auto-stop ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fast_minutes():
    """A private coved whose auto-stop minute lasts one second (the sweep runs every 2 s)."""
    yield from private_daemon("autostop", slot=6,
                              extra_args=["--disk-warm", "0", "--autostop-unit-ms", "1000"])

def states(api):
    """Sandbox states from the list route, which (unlike any route on one sandbox) does not
    count as activity."""
    return {s["id"]: s["state"] for s in expect(api.get("/v1/sandboxes"), 200)["sandboxes"]}


@pytest.mark.slow
def test_autostop_counts_running_async_command(fast_minutes):
    api = Client(fast_minutes)
    busy = api.create(name="busy", auto_stop_minutes=1)["id"]
    idle = api.create(name="idle", auto_stop_minutes=1)["id"]
    try:
        sid = new_session(api, busy)
        cid = start(api, busy, sid, "sleep 1000")
        # The idle one stops after ~1 "minute" (1 s) plus a sweep (2 s).
        wait_for(lambda: states(api)[idle] == "stopped", 20, "idle sandbox to stop")
        # Several minutes and sweeps later, with no request on it, the busy one still runs
        # its command.
        time.sleep(5)
        assert states(api)[busy] == "started"
        assert status(api, busy, cid)["running"] is True
        # Once the command ends, the busy sandbox is idle too.
        expect(api.post(sb_path(busy, "/commands/%s/signal" % cid), {"signal": "KILL"}), 200)
        wait_for(lambda: states(api)[busy] == "stopped", 20, "busy sandbox to stop")
        assert status(api, busy, cid)["exit_code"] == 137
    finally:
        for ident in (busy, idle):
            api.destroy(ident)


def test_autostop_flag_is_validated():
    for bad in ("0", "99", "60001", "x"):
        cp = subprocess.run([coved_path(), "--autostop-unit-ms", bad, "--check"],
                            capture_output=True, text=True, timeout=30)
        assert cp.returncode == 2 and "--autostop-unit-ms" in cp.stderr, (bad, cp)


# ---- CLI: cove session, cove exec --detach, cove logs, cove kill --------------------------

@pytest.fixture
def cove(daemon, cove_cli, tmp_path):
    def run_cli(*args, timeout=120, stdin=None):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),  # no stray credentials file
            "COVE_API_URL": daemon.url,
            "COVE_API_KEY": daemon.key,
            "LANG": "C.UTF-8",
        }
        return subprocess.run([cove_cli] + [str(a) for a in args], capture_output=True,
                              env=env, timeout=timeout, input=stdin)
    return run_cli


def ok(cp):
    assert cp.returncode == 0, "cove %s -> %d\nstdout=%r\nstderr=%r" % (
        " ".join(map(str, cp.args[1:])), cp.returncode, cp.stdout, cp.stderr)
    return cp.stdout.decode()


def test_cli_session_create_ls_rm(api, cove, box):
    made = ok(cove("session", "create", box)).strip()
    assert len(made) == 36, made
    assert ok(cove("session", "create", box, "cli-named")) == "cli-named\n"
    table = ok(cove("session", "ls", box)).splitlines()
    assert table[0].split() == ["ID", "CREATED", "COMMANDS", "RUNNING"], table
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert made in rows and "cli-named" in rows, table
    assert rows["cli-named"][-2:] == ["0", "0"], rows["cli-named"]
    listed = json.loads(ok(cove("--json", "session", "ls", box)))
    assert {"cli-named", made} <= {s["id"] for s in listed}
    cp = cove("session", "create", box, "cli-named")
    assert cp.returncode == 1 and b"SESSION_EXISTS" in cp.stderr, cp
    assert ok(cove("session", "rm", box, "cli-named", made)) == "cli-named\n%s\n" % made
    expect(api.get(sb_path(box, "/sessions/cli-named")), 404, "SESSION_NOT_FOUND")
    cp = cove("session", "rm", box, "cli-named")
    assert cp.returncode == 1 and b"SESSION_NOT_FOUND" in cp.stderr, cp


def test_cli_session_exec(cove, box):
    ok(cove("session", "create", box, "cli-exec"))
    assert ok(cove("session", "exec", box, "cli-exec", "--", "cd", "/tmp")) == ""
    ok(cove("session", "exec", box, "cli-exec", "--", "export GREETING='hello there'"))
    assert ok(cove("session", "exec", box, "cli-exec", "--", 'pwd; echo "$GREETING"')) == \
        "/tmp\nhello there\n"
    # The words are joined with spaces and run by the shell, as ssh does.
    assert ok(cove("session", "exec", box, "cli-exec", "--", "echo", "$((6", "*", "7))")) == \
        "42\n"
    cp = cove("session", "exec", box, "cli-exec", "--", "echo out; echo err >&2; exit 7")
    assert (cp.returncode, cp.stdout, cp.stderr) == (7, b"out\n", b"err\n"), cp
    cp = cove("session", "exec", box, "cli-exec", "--timeout", "0.5", "--", "sleep 30")
    assert cp.returncode == 124 and b"timed out" in cp.stderr, cp
    # --async prints the id; the command runs on.
    cid = ok(cove("session", "exec", box, "cli-exec", "--async", "--",
                  "echo a; sleep 1; echo b >&2; exit 4")).strip()
    assert len(cid) == 36, cid
    cp = cove("logs", box, cid, "-f")
    assert (cp.returncode, cp.stdout, cp.stderr) == (4, b"a\n", b"b\n"), cp
    ok(cove("session", "rm", box, "cli-exec"))


def test_cli_exec_detach_logs_and_kill(api, cove, make_sandbox):
    sb = make_sandbox()["id"]
    cid = ok(cove("exec", sb, "--detach", "--", "sh", "-c",
                  "echo out; echo err >&2; exit 3")).strip()
    assert len(cid) == 36, cid
    # It ran in the automatically created session "default".
    default = expect(api.get(sb_path(sb, "/sessions/default")), 200)
    assert [c["id"] for c in default["commands"]] == [cid], default
    cp = cove("logs", sb, cid, "-f")
    assert (cp.returncode, cp.stdout, cp.stderr) == (3, b"out\n", b"err\n"), cp
    cp = cove("logs", sb, cid)
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, b"out\n", b"err\n"), cp
    assert json.loads(ok(cove("--json", "logs", sb, cid)))["stdout"] == "out\n"

    # argv is passed through exactly; --cwd and --env apply; the session's state is untouched.
    cid = ok(cove("exec", sb, "--detach", "-w", "/tmp", "-e", "V=it's", "--", "sh", "-c",
                  'printf "%s|" "$(pwd)" "$V" "$0"', "a b")).strip()
    cp = cove("logs", sb, cid, "-f")
    assert cp.returncode == 0 and cp.stdout == b"/tmp|it's|a b|", cp
    assert ok(cove("session", "exec", sb, "default", "--", "pwd")) == "/home/cove\n"
    cid = ok(cove("exec", sb, "--detach", "--shell", "cd /var && echo $((1+2))")).strip()
    assert cove("logs", sb, cid, "-f").stdout == b"3\n"

    # kill: TERM by default, then the exit code says so.
    cid = ok(cove("exec", sb, "--detach", "--", "sleep", "300")).strip()
    assert ok(cove("kill", sb, cid)) == ""
    cp = cove("logs", sb, cid, "-f")
    assert cp.returncode == 143 and b"SIGTERM" in cp.stderr, cp
    cp = cove("kill", sb, cid, "--signal", "KILL")
    assert cp.returncode == 1 and b"COMMAND_ALREADY_COMPLETED" in cp.stderr, cp
    cid = ok(cove("exec", sb, "--detach", "--timeout", "60", "--", "sh", "-c",
                  "trap '' TERM; echo armed; while :; do sleep 0.1; done")).strip()
    wait_log(api, sb, cid, "armed\n")
    ok(cove("kill", sb, cid, "-s", "9"))
    assert cove("logs", sb, cid, "-f").returncode == 137


def test_cli_logs_follow_is_live(api, cove, box):
    sid = new_session(api, box)
    cid = start(api, box, sid, "echo first; read x; echo second")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "COVE_API_URL": api.daemon.url,
           "COVE_API_KEY": api.key}
    p = subprocess.Popen([cli_path(), "logs", box, cid, "-f"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        assert p.stdout.readline() == b"first\n"  # while the command still waits
        assert p.poll() is None
        expect(api.post(sb_path(box, "/commands/%s/input" % cid), {"data": "\n"}), 200)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert (p.returncode, out, err) == (0, b"second\n", b""), (p.returncode, out, err)


def test_cli_usage_errors(cove, box):
    for args in (["session"], ["session", "bogus", box], ["session", "ls"],
                 ["session", "rm", box], ["session", "exec", box],
                 ["session", "exec", box, "s"], ["logs", box], ["logs", box, "a", "b"],
                 ["kill", box], ["exec", box, "--detach", "--stdin", "--", "cat"]):
        cp = cove(*args)
        assert cp.returncode == 2, (args, cp)
    cp = cove("logs", box, "no-such-command")
    assert cp.returncode == 1 and b"COMMAND_NOT_FOUND" in cp.stderr, cp

"""Interpreter contexts (src/exec/context.c, src/api/api-context.c, daytona-interpreter.c):
state that persists between cells in python, javascript and typescript; the value of the last
expression; structured errors; output streamed while a cell runs; matplotlib figures as PNG;
timeouts that interrupt a cell and leave the context alive; contexts whose process died; the
Daytona code-interpreter WebSocket; validation and caps.

Streaming is proven without timing: a cell prints, then waits for a file that the test only
creates after it has received that output."""
import base64
import json
import socket
import struct
import time
import uuid

import pytest

from testenv import expect, q
from test_21_daytona_pty import CLOSE, TEXT, Ws

MAX_CONTEXTS = 16  # CONTEXT_MAX_PER_SANDBOX
MAX_CODE = 1 << 20  # CONTEXT_MAX_CODE


def cpath(sb, suffix=""):
    return "/v1/sandboxes/%s/contexts%s" % (q(sb), suffix)


def new_ctx(api, sb, **body):
    c = expect(api.post(cpath(sb), body, timeout=90), 201)
    assert c["active"] is True and c["cells"] == 0, c
    return c["id"]


def run_raw(api, sb, cid, code, **kw):
    kw["code"] = code
    return api.post(cpath(sb, "/%s/run" % q(cid)), kw, timeout=120)


def run(api, sb, cid, code, **kw):
    return expect(run_raw(api, sb, cid, code, **kw), 200)


def value(res):
    assert res["status"] == "ok", res
    return res["result"]["text/plain"] if res["result"] else None


@pytest.fixture(scope="module")
def sbx(module_sandbox):
    return module_sandbox["id"]


@pytest.fixture(scope="module")
def py(api, sbx):
    cid = new_ctx(api, sbx, language="python")
    yield cid
    api.delete(cpath(sbx, "/" + q(cid)))


# ---- python ---------------------------------------------------------------------------------

def test_python_state_persists(api, sbx, py):
    assert value(run(api, sbx, py, "x = 1")) is None
    assert value(run(api, sbx, py, "x += 1\nx")) == "2"
    run(api, sbx, py, "import math\ndef area(r):\n    return math.pi * r * r")
    assert value(run(api, sbx, py, "round(area(2), 3)")) == "12.566"
    assert value(run(api, sbx, py, "'%s' % x")) == "'2'"
    assert value(run(api, sbx, py, "_")) == "'2'"  # the previous value, as in a notebook


def test_python_output_and_result(api, sbx, py):
    res = run(api, sbx, py, "import sys\nprint('out')\nprint('err', file=sys.stderr)\n"
                             "print('héllo ✓')\n[1, 2]")
    assert res["stdout"] == "out\nhéllo ✓\n" and res["stderr"] == "err\n", res
    assert res["result"] == {"text/plain": "[1, 2]"} and res["error"] is None, res
    # Output of a subprocess goes through the same pipes.
    res = run(api, sbx, py, "import subprocess\nsubprocess.run(['echo', 'from-child'])\nNone")
    assert res["stdout"] == "from-child\n" and res["result"] is None, res


def test_python_runs_as_sandbox_user_in_cwd(api, sbx):
    expect(api.exec_raw(sbx, cmd=["mkdir", "-p", "/home/cove/proj"]), 200)
    api.file_put(sbx, "/home/cove/proj/helper.py", b"def twice(v):\n    return 2 * v\n")
    cid = new_ctx(api, sbx, language="python", cwd="proj")
    try:
        c = expect(api.get(cpath(sbx, "/" + cid)), 200)
        assert c["cwd"] == "/home/cove/proj" and c["language"] == "python", c
        assert value(run(api, sbx, cid, "import os\n(os.getuid(), os.getcwd())")) == \
            "(1000, '/home/cove/proj')"
        assert value(run(api, sbx, cid, "import helper\nhelper.twice(21)")) == "42"
    finally:
        expect(api.delete(cpath(sbx, "/" + cid)), 200)


def test_python_structured_errors(api, sbx, py):
    res = run(api, sbx, py, "def boom():\n    return 1 / 0\n")
    assert res["status"] == "ok"
    res = run(api, sbx, py, "print('before')\nboom()")
    assert res["status"] == "error" and res["stdout"] == "before\n", res
    e = res["error"]
    assert e["name"] == "ZeroDivisionError" and e["value"] == "division by zero", e
    assert "<cell-" in e["traceback"] and "in boom" in e["traceback"], e
    assert "kernel" not in e["traceback"] and "<string>" not in e["traceback"], e
    res = run(api, sbx, py, "def f(:\n  pass")
    assert res["status"] == "error" and res["error"]["name"] == "SyntaxError", res
    assert "ast.py" not in res["error"]["traceback"], res
    # sys.exit is an error of the cell, not the end of the context.
    res = run(api, sbx, py, "import sys\nsys.exit(3)")
    assert res["error"]["name"] == "SystemExit" and res["context_died"] is False, res
    assert value(run(api, sbx, py, "1 + 1")) == "2"


def test_python_env_applies_to_one_cell(api, sbx, py):
    res = run(api, sbx, py, "import os\nos.environ.get('COVE_T')", env={"COVE_T": "v1"})
    assert value(res) == "'v1'"
    assert value(run(api, sbx, py, "repr(os.environ.get('COVE_T'))")) == "'None'"


def test_python_top_level_await(api, sbx, py):
    assert value(run(api, sbx, py, "import asyncio\nawait asyncio.sleep(0)\n7")) == "7"


def test_python_matplotlib_png(api, sbx, py):
    res = run(api, sbx, py, "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\n"
                            "plt.title('t')\nplt.show()")
    assert res["status"] == "ok" and res["stderr"] == "", res
    assert len(res["artifacts"]) == 1, res
    a = res["artifacts"][0]
    assert a["type"] == "image/png"
    png = base64.b64decode(a["data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    # Figures are closed after they are sent: the next cell has none.
    assert run(api, sbx, py, "len(plt.get_fignums())")["result"] == {"text/plain": "0"}


def test_output_cap(api, sbx, py):
    res = run(api, sbx, py, "print('y' * 5000)", max_output_bytes=1000)
    assert res["stdout_truncated"] is True and len(res["stdout"]) == 1000, len(res["stdout"])
    assert res["stderr_truncated"] is False


def test_timeout_interrupts_and_context_survives(api, sbx, py):
    run(api, sbx, py, "survivor = 'yes'")
    res = run(api, sbx, py, "import time\nprint('start', flush=True)\ntime.sleep(60)",
              timeout=1)
    assert res["timed_out"] is True and res["interrupted"] is True, res
    assert res["context_died"] is False and res["status"] == "error", res
    assert res["error"]["name"] == "KeyboardInterrupt" and res["stdout"] == "start\n", res
    assert value(run(api, sbx, py, "survivor")) == "'yes'"


def test_cell_that_ignores_interrupt_kills_its_context(api, sbx):
    cid = new_ctx(api, sbx)
    code = ("import time\nwhile True:\n    try:\n        time.sleep(60)\n"
            "    except KeyboardInterrupt:\n        pass\n")
    res = run(api, sbx, cid, code, timeout=1)
    assert res["timed_out"] is True and res["context_died"] is True, res
    assert res["status"] == "died" and "ignored the interrupt" in res["context_error"], res
    r = run_raw(api, sbx, cid, "1")
    expect(r, 409, "CONTEXT_DEAD")
    assert "ignored the interrupt" in r.body["message"], r
    c = expect(api.get(cpath(sbx, "/" + cid)), 200)
    assert c["active"] is False and "ignored the interrupt" in c["error"], c
    expect(api.delete(cpath(sbx, "/" + cid)), 200)


def test_dead_context_says_so(api, sbx):
    cid = new_ctx(api, sbx)
    run(api, sbx, cid, "state = 1")
    res = run(api, sbx, cid, "import os\nprint('bye', flush=True)\nos._exit(7)")
    assert res["context_died"] is True and res["stdout"] == "bye\n", res
    assert "exited with code 7" in res["context_error"], res
    r = run_raw(api, sbx, cid, "state")
    expect(r, 409, "CONTEXT_DEAD")
    assert "exited with code 7" in r.body["message"] and "state is gone" in r.body["message"]
    expect(api.delete(cpath(sbx, "/" + cid)), 200)


def test_out_of_memory_is_reported(api, make_sandbox):
    sb = make_sandbox(memory_mib=128)["id"]
    cid = new_ctx(api, sb)
    res = run(api, sb, cid, "blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))")
    assert res["context_died"] is True, res
    assert "out-of-memory" in res["context_error"], res
    expect(run_raw(api, sb, cid, "1"), 409, "CONTEXT_DEAD")


def test_streaming_delivers_output_while_the_cell_runs(api, daemon, sbx, py):
    marker = "/tmp/go-" + uuid.uuid4().hex
    code = ("import os, time\nprint('first', flush=True)\n"
            "for _ in range(600):\n"
            "    if os.path.exists(%r):\n        break\n    time.sleep(0.05)\n"
            "print('second')\n'end'" % marker)
    body = json.dumps({"code": code, "stream": True, "timeout": 60}).encode()
    s = socket.create_connection(("127.0.0.1", daemon.port), timeout=60)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % (cpath(sbx, "/%s/run" % q(py)).encode(), daemon.key.encode(), len(body)) + body)
    f = s.makefile("rb")
    status = f.readline()
    assert b" 200 " in status, status
    headers = {}
    while True:
        line = f.readline().strip()
        if not line:
            break
        k, _, v = line.partition(b":")
        headers[k.strip().lower()] = v.strip()
    assert headers[b"content-type"] == b"application/x-ndjson", headers
    assert headers.get(b"transfer-encoding") == b"chunked", headers

    def events():
        pending = b""
        while True:
            size = int(f.readline().strip(), 16)
            if size == 0:
                return
            pending += f.read(size)
            f.readline()
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                yield json.loads(line)

    seen, text = [], ""
    for ev in events():
        seen.append(ev)
        if ev["type"] == "stdout":
            text += ev["text"]
            if text == "first\n":
                # The cell is still waiting for the marker: only now does it appear.
                expect(api.exec_raw(sbx, cmd=["touch", marker]), 200)
    s.close()
    assert text == "first\nsecond\n", seen
    types = [e["type"] for e in seen]
    assert types[-2:] == ["result", "done"] and set(types[:-2]) == {"stdout"}, seen
    assert seen[-2] == {"type": "result", "text": "'end'"}
    done = seen[-1]
    assert done["status"] == "ok" and done["result"] == {"text/plain": "'end'"}, done
    assert "stdout" not in done and done["timed_out"] is False, done


def test_one_cell_at_a_time(api, sbx, py):
    marker = "/tmp/busy-" + uuid.uuid4().hex
    code = ("import os, time\nopen(%r, 'w').close()\nfor _ in range(600):\n"
            "    if os.path.exists(%r):\n        break\n    time.sleep(0.05)\n'free'"
            % (marker + ".started", marker))
    import threading
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", run_raw(api, sbx, py, code)))
    t.start()
    try:
        for _ in range(600):  # until the first cell is running (bounded: 600 polls)
            if api.exec_raw(sbx, cmd=["test", "-e", marker + ".started"]).body["exit_code"] == 0:
                break
            time.sleep(0.05)
        expect(run_raw(api, sbx, py, "1"), 409, "CONTEXT_BUSY")
    finally:
        expect(api.exec_raw(sbx, cmd=["touch", marker]), 200)
        t.join(60)
    assert value(expect(out["r"], 200)) == "'free'"


# ---- javascript and typescript -----------------------------------------------------------------

def test_javascript_context(api, sbx):
    cid = new_ctx(api, sbx, language="javascript")
    try:
        assert value(run(api, sbx, cid, "var x = 1")) is None
        assert value(run(api, sbx, cid, "x += 1")) == "2"
        assert value(run(api, sbx, cid, "let y = 5; const z = 6; y * z")) == "30"
        assert value(run(api, sbx, cid, "y + z + x")) == "13"
        res = run(api, sbx, cid, "console.log('hi'); console.error('oops'); ({a: [1, 2]})")
        assert res["stdout"] == "hi\n" and res["stderr"] == "oops\n", res
        assert res["result"] == {"text/plain": "{ a: [ 1, 2 ] }"}, res
        assert value(run(api, sbx, cid, "const path = require('path'); path.join('a', 'b')")) \
            == "'a/b'"
        assert value(run(api, sbx, cid, "Promise.resolve(41).then(v => v + 1)")) == "42"
        res = run(api, sbx, cid, "function f() { null.x }\nf()")
        e = res["error"]
        assert res["status"] == "error" and e["name"] == "TypeError", res
        assert "<cell-" in e["traceback"] and "[eval]" not in e["traceback"], e
        res = run(api, sbx, cid, "while (true) {}", timeout=1)
        assert res["timed_out"] is True and res["context_died"] is False, res
        res = run(api, sbx, cid, "new Promise(() => {})", timeout=1)
        assert res["timed_out"] is True and res["context_died"] is False, res
        assert value(run(api, sbx, cid, "x")) == "2"
    finally:
        expect(api.delete(cpath(sbx, "/" + cid)), 200)


def test_typescript_context(api, sbx):
    cid = new_ctx(api, sbx, language="typescript")
    try:
        assert value(run(api, sbx, cid, "interface P { a: number }\n"
                                        "const p: P = { a: 40 };\nlet n: number = 2;\np.a + n")) \
            == "42"
        assert value(run(api, sbx, cid, "n * 2")) == "4"
        res = run(api, sbx, cid, "let bad: = 1")
        assert res["status"] == "error" and res["error"]["name"] == "SyntaxError", res
        assert "<cell-" in res["error"]["value"], res
    finally:
        expect(api.delete(cpath(sbx, "/" + cid)), 200)


# ---- registry, lifecycle, validation ----------------------------------------------------------

def kernel_count(api, sb):
    """Context kernels running in the sandbox, counted from its /proc."""
    code = ("import os\nn = 0\nfor p in os.listdir('/proc'):\n    if p.isdigit():\n"
            "        try:\n            c = open('/proc/%s/cmdline' % p, 'rb').read()\n"
            "        except OSError:\n            continue\n"
            "        n += (b'interpreter ' + b'context') in c\nprint(n)")
    return int(api.exec(sb, "python3", "-c", code)["stdout"])


def test_list_get_delete(api, make_sandbox):
    sb = make_sandbox()["id"]
    a = new_ctx(api, sb, id="alpha")
    b = new_ctx(api, sb, language="javascript")
    assert a == "alpha" and len(b) == 36
    got = expect(api.get(cpath(sb)), 200)["contexts"]
    assert sorted(c["id"] for c in got) == sorted([a, b])
    assert kernel_count(api, sb) == 2
    expect(api.post(cpath(sb), {"id": "alpha"}), 409, "CONTEXT_EXISTS")
    expect(api.delete(cpath(sb, "/alpha")), 200)
    expect(api.get(cpath(sb, "/alpha")), 404, "CONTEXT_NOT_FOUND")
    expect(run_raw(api, sb, "alpha", "1"), 404, "CONTEXT_NOT_FOUND")
    expect(api.delete(cpath(sb, "/alpha")), 404, "CONTEXT_NOT_FOUND")
    assert kernel_count(api, sb) == 1
    assert [c["id"] for c in expect(api.get(cpath(sb)), 200)["contexts"]] == [b]


def test_stop_ends_contexts(api, make_sandbox):
    sb = make_sandbox()["id"]
    cid = new_ctx(api, sb)
    expect(api.post("/v1/sandboxes/%s/stop" % q(sb)), 200)
    expect(api.post("/v1/sandboxes/%s/start" % q(sb)), 200)
    expect(api.get(cpath(sb, "/" + cid)), 404, "CONTEXT_NOT_FOUND")
    assert expect(api.get(cpath(sb)), 200)["contexts"] == []
    assert kernel_count(api, sb) == 0


def test_context_cap(api, make_sandbox):
    sb = make_sandbox()["id"]
    for i in range(MAX_CONTEXTS):
        new_ctx(api, sb, id="c%d" % i)
    r = api.post(cpath(sb), {})
    expect(r, 409, "TOO_MANY_CONTEXTS")
    assert str(MAX_CONTEXTS) in r.body["message"]
    expect(api.delete(cpath(sb, "/c0")), 200)
    new_ctx(api, sb)


@pytest.mark.parametrize("body,status,code", [
    ({"language": "cobol"}, 400, "LANGUAGE_UNSUPPORTED"),
    ({"language": 3}, 400, None),
    ({"cwd": "/no/such/dir"}, 400, "CWD_NOT_FOUND"),
    ({"cwd": "a\x00b"}, 400, None),
    ({"id": "../x"}, 400, None),
    ({"id": "x" * 65}, 400, None),
    ({"bogus": 1}, 400, "UNKNOWN_FIELD"),
])
def test_create_validation(api, sbx, body, status, code):
    expect(api.post(cpath(sbx), body), status, code)


@pytest.mark.parametrize("body,status,code", [
    ({}, 400, None),
    ({"code": 5}, 400, None),
    ({"code": "1", "timeout": -1}, 400, None),
    ({"code": "1", "timeout": 1e12}, 400, None),
    ({"code": "1", "timeout": "5"}, 400, None),
    ({"code": "1", "env": {"A": 1}}, 400, None),
    ({"code": "1", "env": []}, 400, None),
    ({"code": "1", "stream": "yes"}, 400, None),
    ({"code": "1", "max_output_bytes": -5}, 400, None),
    ({"code": "1", "what": True}, 400, "UNKNOWN_FIELD"),
    ({"code": "x" * (MAX_CODE + 1)}, 413, None),
])
def test_run_validation(api, sbx, py, body, status, code):
    r = api.post(cpath(sbx, "/%s/run" % q(py)), body)
    expect(r, status, code)
    assert value(run(api, sbx, py, "'still fine'")) == "'still fine'"


def test_stopped_sandbox_refuses(api, make_sandbox):
    sb = make_sandbox()["id"]
    expect(api.post("/v1/sandboxes/%s/stop" % q(sb)), 200)
    expect(api.post(cpath(sb), {}), 409)


# ---- Daytona: /process/interpreter ----------------------------------------------------------

def tb(sb, suffix):
    return "/toolbox/%s%s" % (q(sb), suffix)


def daytona_run(daemon, sb, payload):
    ws = Ws(daemon, tb(sb, "/process/interpreter/execute"))
    assert ws.status == 101, ws.head
    ws.send(json.dumps(payload), TEXT)
    frames = []
    while True:
        op, data = ws.recv()
        if op == CLOSE:
            code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
            ws.close()
            return frames, code, data[2:].decode()
        assert op == TEXT, (op, data)
        frames.append(json.loads(data))


def test_daytona_default_context(api, daemon, make_sandbox):
    sb = make_sandbox()["id"]
    frames, code, _ = daytona_run(daemon, sb, {"code": "x = 10"})
    assert frames == [{"type": "control", "text": "completed"}] and code == 1000, frames
    frames, code, _ = daytona_run(daemon, sb, {"code": "print(x)\nimport sys\n"
                                                       "sys.stderr.write('e')"})
    assert frames[0] == {"type": "stdout", "text": "10\n"}, frames
    assert {"type": "stderr", "text": "e"} in frames and code == 1000, frames
    assert frames[-1] == {"type": "control", "text": "completed"}
    # The default context is not listed.
    assert expect(api.get(tb(sb, "/process/interpreter/context")), 200) == {"contexts": []}
    frames, code, _ = daytona_run(daemon, sb, {"code": "1/0"})
    errs = [f for f in frames if f["type"] == "error"]
    assert errs and errs[0]["name"] == "ZeroDivisionError", frames
    assert frames[-1] == {"type": "control", "text": "completed"} and code == 1000


def test_daytona_contexts_and_timeout(api, daemon, make_sandbox):
    sb = make_sandbox()["id"]
    c = expect(api.post(tb(sb, "/process/interpreter/context"), {"cwd": "/tmp"}), 200)
    assert set(c) == {"id", "cwd", "createdAt", "active", "language"}, c
    assert c["cwd"] == "/tmp" and c["language"] == "python" and c["active"] is True
    listed = expect(api.get(tb(sb, "/process/interpreter/context")), 200)["contexts"]
    assert [x["id"] for x in listed] == [c["id"]]
    frames, code, _ = daytona_run(daemon, sb, {"code": "v = 'kept'", "contextId": c["id"]})
    assert code == 1000
    frames, code, reason = daytona_run(daemon, sb, {"code": "import time\ntime.sleep(60)",
                                                    "contextId": c["id"], "timeout": 1})
    assert code == 4008, (frames, code, reason)
    frames, code, _ = daytona_run(daemon, sb, {"code": "print(v)", "contextId": c["id"],
                                               "envs": {"A": "b"}})
    assert frames[0] == {"type": "stdout", "text": "kept\n"} and code == 1000, frames
    frames, code, reason = daytona_run(daemon, sb, {"code": "1", "contextId": "nope"})
    assert code == 1011 and "no context" in reason, (frames, code, reason)
    expect(api.delete(tb(sb, "/process/interpreter/context/" + c["id"])), 200)
    assert expect(api.get(tb(sb, "/process/interpreter/context")), 200) == {"contexts": []}
    expect(api.delete(tb(sb, "/process/interpreter/context/" + c["id"])), 404)


def test_daytona_dead_default_context_is_replaced(api, daemon, make_sandbox):
    sb = make_sandbox()["id"]
    daytona_run(daemon, sb, {"code": "x = 1"})
    frames, code, reason = daytona_run(daemon, sb, {"code": "import os\nos._exit(0)"})
    assert code == 1011 and "exited with code 0" in reason, (frames, code, reason)
    frames, code, _ = daytona_run(daemon, sb, {"code": "print('x' in globals())"})
    assert frames[0] == {"type": "stdout", "text": "False\n"} and code == 1000, frames


def test_daytona_execute_validation(daemon, make_sandbox):
    sb = make_sandbox()["id"]
    for payload in ({"code": 5}, {"nocode": "1"}, {"code": "1", "timeout": "x"},
                    {"code": "1", "envs": {"A": 5}}):
        frames, code, _ = daytona_run(daemon, sb, payload)
        assert code == 1008 and frames[0]["type"] == "error", (payload, frames, code)


# ---- cove context ---------------------------------------------------------------------------

def test_cli_context(daemon, api, cove_cli, make_sandbox, tmp_path):
    import os
    import subprocess
    sb = make_sandbox()["id"]

    def cove(*args, stdin=None):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
               "COVE_API_URL": daemon.url, "COVE_API_KEY": daemon.key, "LANG": "C.UTF-8"}
        return subprocess.run([cove_cli, "context"] + list(args), capture_output=True, text=True,
                              env=env, input=stdin, timeout=120)

    cp = cove("create", sb, "--id", "nb", "--cwd", "/tmp")
    assert cp.returncode == 0 and cp.stdout == "nb\n", cp
    cp = cove("run", sb, "nb", "x = 20\nprint('side')")
    assert cp.returncode == 0 and cp.stdout == "side\n", cp
    cp = cove("run", sb, "nb", "-", stdin="x + 22\n")
    assert cp.returncode == 0 and cp.stdout == "42\n", cp
    cp = cove("run", sb, "nb", "{}['k']")
    assert cp.returncode == 1 and "KeyError: 'k'" in cp.stderr, cp
    cp = cove("run", sb, "nb", "--timeout", "0.5", "import time; time.sleep(30)")
    assert cp.returncode == 124 and "KeyboardInterrupt" in cp.stderr, cp
    cp = cove("run", sb, "nb", "x")
    assert cp.returncode == 0 and cp.stdout == "20\n", cp
    cp = cove("ls", sb)
    lines = cp.stdout.splitlines()
    assert cp.returncode == 0 and lines[0].split() == ["ID", "LANGUAGE", "ACTIVE", "CELLS", "CWD"]
    assert lines[1].split() == ["nb", "python", "yes", "5", "/tmp"], cp
    cp = cove("run", "--json", sb, "nb", "x")
    assert cp.returncode == 0 and json.loads(cp.stdout)["result"] == {"text/plain": "20"}, cp
    assert cove("run", sb, "nb").returncode == 0  # an empty cell from (empty) stdin
    cp = cove("create", sb, "--language", "cobol")
    assert cp.returncode == 1 and "cobol" in cp.stderr, cp
    cp = cove("ls", sb, "--timeout", "3")
    assert cp.returncode == 2, cp
    cp = cove("rm", sb, "nb")
    assert cp.returncode == 0 and cp.stdout == "nb\n", cp
    assert cove("run", sb, "nb", "1").returncode == 1

#!/usr/bin/python3
"""bench/coderun.py: code-run and validate latency, each against its baseline in the same run.

    sudo bench/coderun.py [-n 40] [--build build] [--java-n 8]

Starts a private coved from the build directory (temporary state under /var/tmp, its own
cgroup root and uid range), creates one sandbox, and measures, interleaving the variants
round by round so that they see the same machine:

  python hello   bare `/usr/bin/python3 -c 'print(1)'` on the host (posix_spawn + wait),
                 the same argv through POST /exec, and `print(1)` through POST /code-run;
  validate       POST /v1/validate with python `print(1)` (sandbox create + run + delete);
  typescript     `tsc main.ts && node main.js` on the host vs code-run (transpile + node);
  java           `javac Main.java && java Main` on the host vs code-run (javac + java).

Every HTTP call goes over one keep-alive connection on the Unix socket and is timed by the
client, so each figure is a full round trip. Prints a Markdown table (p50, p90, min, ms)
and the ratios the targets are stated in (issue 3): code-run python <= 1.3x bare, validate
p50 <= 25 ms.
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from testenv import Daemon  # noqa: E402  (the test suite's daemon launcher)

TS_CODE = 'const greeting: string = "hello";\nconsole.log(greeting);\n'
JAVA_CODE = ('public class Main {\n  public static void main(String[] a) {\n'
             '    System.out.println("hello");\n  }\n}\n')


class Conn:
    """One keep-alive HTTP/1.1 connection over coved's Unix socket."""

    def __init__(self, path, key):
        self.path, self.key, self.c = path, key, None

    def _connect(self):
        c = http.client.HTTPConnection("localhost", timeout=300)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        c.sock = s
        self.c = c

    def post(self, path, body):
        if self.c is None:
            self._connect()
        self.c.request("POST", path, body=json.dumps(body),
                       headers={"Authorization": "Bearer " + self.key,
                                "Content-Type": "application/json"})
        r = self.c.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError("%s -> %d %s" % (path, r.status, data[:300]))
        return json.loads(data)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def stats(xs):
    xs = sorted(xs)
    return {"p50": statistics.median(xs), "p90": xs[min(len(xs) - 1, int(len(xs) * 0.9))],
            "min": xs[0], "n": len(xs)}


def host_run(argv, cwd=None):
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def check(res, want="hello\n"):
    run = res.get("run") or {}
    assert res.get("status") == "success" and run.get("stdout") == want, res
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=40, help="rounds for python and validate")
    ap.add_argument("--java-n", type=int, default=8, help="rounds for java and typescript")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    args = ap.parse_args()
    os.environ["COVE_BUILD"] = os.path.abspath(args.build)

    load_before = open("/proc/loadavg").read().split()[:3]
    d = Daemon("bench", slot=9)
    d.start()
    try:
        conn = Conn(d.socket, d.key)
        sb = conn.post("/v1/sandboxes", {"name": "bench-coderun"})["id"]
        results = run_rounds(conn, sb, args)
    finally:
        d.stop()
        d.cleanup()
    report(results, args)
    print("- load average before / after: %s / %s (%d CPUs)"
          % (" ".join(load_before), " ".join(open("/proc/loadavg").read().split()[:3]),
             os.cpu_count()))


def run_rounds(conn, sb, args):
    r = {k: [] for k in ("bare", "exec", "coderun", "validate", "ts_bare", "ts_coderun",
                         "java_bare", "java_coderun")}
    exec_req = {"cmd": ["/usr/bin/python3", "-c", "print(1)"]}
    cr_req = {"language": "python", "code": "print(1)"}
    base = "/v1/sandboxes/%s" % sb
    # Warm up every path once (page cache, Go/javac caches, the TypeScript code cache).
    for _ in range(3):
        conn.post(base + "/exec", exec_req)
        conn.post(base + "/code-run", cr_req)
        conn.post("/v1/validate", cr_req)
        conn.post(base + "/code-run", {"language": "typescript", "code": TS_CODE})
        conn.post(base + "/code-run", {"language": "java", "code": JAVA_CODE})
    for _ in range(args.n):
        r["bare"].append(timed(lambda: host_run(["/usr/bin/python3", "-c", "print(1)"]))[0])
        t, res = timed(lambda: conn.post(base + "/exec", exec_req))
        assert res["stdout"] == "1\n", res
        r["exec"].append(t)
        t, res = timed(lambda: conn.post(base + "/code-run", cr_req))
        check(res, "1\n")
        r["coderun"].append(t)
        t, res = timed(lambda: conn.post("/v1/validate", cr_req))
        assert res["status"] == "Success" and res["output"] == "1\n", res
        r["validate"].append(t)
    with tempfile.TemporaryDirectory(prefix="cove-bench-") as tmp:
        with open(os.path.join(tmp, "main.ts"), "w") as f:
            f.write(TS_CODE)
        with open(os.path.join(tmp, "Main.java"), "w") as f:
            f.write(JAVA_CODE)
        for _ in range(args.java_n):
            r["ts_bare"].append(timed(lambda: (host_run(["tsc", "main.ts"], tmp),
                                               host_run(["node", "main.js"], tmp)))[0])
            t, res = timed(lambda: conn.post(base + "/code-run",
                                             {"language": "typescript", "code": TS_CODE}))
            check(res)
            r["ts_coderun"].append(t)
            r["java_bare"].append(timed(lambda: (host_run(["javac", "Main.java"], tmp),
                                                 host_run(["java", "Main"], tmp)))[0])
            t, res = timed(lambda: conn.post(base + "/code-run",
                                             {"language": "java", "code": JAVA_CODE}))
            check(res)
            r["java_coderun"].append(t)
    return {k: stats(v) for k, v in r.items()}


def report(s, args):
    rows = [
        ("python: bare `/usr/bin/python3 -c 'print(1)'` on the host", "bare"),
        ("python: same argv through POST /exec", "exec"),
        ("python: `print(1)` through POST /code-run", "coderun"),
        ("validate: python `print(1)` (create + run + delete)", "validate"),
        ("typescript: bare `tsc main.ts && node main.js` on the host", "ts_bare"),
        ("typescript: POST /code-run (transpile + node)", "ts_coderun"),
        ("java: bare `javac Main.java && java Main` on the host", "java_bare"),
        ("java: POST /code-run (javac + java)", "java_coderun"),
    ]
    print("| what | n | p50 ms | p90 ms | min ms |")
    print("|---|---|---|---|---|")
    for label, k in rows:
        x = s[k]
        print("| %s | %d | %.1f | %.1f | %.1f |" % (label, x["n"], x["p50"], x["p90"], x["min"]))
    print()
    ratio = s["coderun"]["p50"] / s["bare"]["p50"]
    print("- code-run python / bare python (p50): %.2fx (target <= 1.3x: %s)"
          % (ratio, "met" if ratio <= 1.3 else "MISSED"))
    print("- code-run python / exec of the same argv (p50): %.2fx"
          % (s["coderun"]["p50"] / s["exec"]["p50"]))
    v = s["validate"]["p50"]
    print("- validate python hello p50: %.1f ms (target <= 25 ms: %s)"
          % (v, "met" if v <= 25 else "MISSED"))
    print("- typescript code-run / bare tsc + node (p50): %.2fx"
          % (s["ts_coderun"]["p50"] / s["ts_bare"]["p50"]))
    print("- java code-run / bare javac + java (p50): %.2fx"
          % (s["java_coderun"]["p50"] / s["java_bare"]["p50"]))


if __name__ == "__main__":
    main()

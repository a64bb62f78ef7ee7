#!/usr/bin/python3
"""bench/context.py: interpreter-context cell latency, against its floor in the same run.

    sudo bench/context.py [-n 500] [--build build]

Starts a private coved from the build directory (as bench/coderun.py does), creates one
sandbox with a python and a javascript context, and measures, round by round so that the
variants see the same machine:

  floor     the same python kernel (src/exec/kernel-python.py) started on the host and
            driven directly over a socketpair: one `x += 1` cell, no HTTP, no sandbox;
  python    `x += 1` through POST /v1/sandboxes/{id}/contexts/{ctx}/run, one keep-alive
            connection on coved's Unix socket, timed by the client (a full round trip);
  js        the same for a javascript context;
  exec      POST /exec of `true` (a new process per call), for scale.

Prints a Markdown table (p50, p90, p99, min, ms), the ratio of the context round trip to
its floor, and the target from the issue: a warm `x += 1` cell p50 <= 2 ms.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
from coderun import Conn, timed  # noqa: E402
from testenv import Daemon  # noqa: E402


def stats(xs):
    xs = sorted(xs)
    q = lambda f: xs[min(len(xs) - 1, int(len(xs) * f))]  # noqa: E731
    return {"p50": statistics.median(xs), "p90": q(0.9), "p99": q(0.99), "min": xs[0],
            "n": len(xs)}


class HostKernel:
    """The python kernel on the host, over a socketpair: the floor a context cannot beat."""

    def __init__(self):
        src = open(os.path.join(HERE, "..", "src", "exec", "kernel-python.py")).read()
        a, b = socket.socketpair()
        self.p = subprocess.Popen(["/usr/bin/python3", "-c", src], stdin=b,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        b.close()
        self.s, self.f = a, a.makefile("rb")
        assert json.loads(self.f.readline())["type"] == "hello"

    def cell(self, code):
        self.s.sendall(json.dumps({"code": code}).encode() + b"\n")
        while json.loads(self.f.readline())["type"] != "done":
            pass

    def close(self):
        self.f.close()
        self.s.close()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    args = ap.parse_args()
    os.environ["COVE_BUILD"] = os.path.abspath(args.build)

    load_before = open("/proc/loadavg").read().split()[:3]
    d = Daemon("bench", slot=9)
    d.start()
    host = HostKernel()
    r = {k: [] for k in ("floor", "python", "js", "exec")}
    try:
        conn = Conn(d.socket, d.key)
        sb = conn.post("/v1/sandboxes", {"name": "bench-context"})["id"]
        base = "/v1/sandboxes/%s" % sb
        py = conn.post(base + "/contexts", {"language": "python"})["id"]
        js = conn.post(base + "/contexts", {"language": "javascript"})["id"]
        conn.post(base + "/contexts/%s/run" % py, {"code": "x = 0"})
        conn.post(base + "/contexts/%s/run" % js, {"code": "var x = 0"})
        host.cell("x = 0")
        for i in range(args.n + 20):
            warm = i < 20
            t, _ = timed(lambda: host.cell("x += 1"))
            warm or r["floor"].append(t)
            t, res = timed(lambda: conn.post(base + "/contexts/%s/run" % py, {"code": "x += 1"}))
            assert res["status"] == "ok", res
            warm or r["python"].append(t)
            t, res = timed(lambda: conn.post(base + "/contexts/%s/run" % js, {"code": "x += 1"}))
            assert res["status"] == "ok", res
            warm or r["js"].append(t)
            if i % 10 == 0:
                t, _ = timed(lambda: conn.post(base + "/exec", {"cmd": ["true"]}))
                warm or r["exec"].append(t)
        res = conn.post(base + "/contexts/%s/run" % py, {"code": "x"})
        assert res["result"]["text/plain"] == str(args.n + 20), res
    finally:
        try:
            host.close()
        finally:
            d.stop()
            d.cleanup()
    s = {k: stats(v) for k, v in r.items()}
    rows = [("floor: python kernel on the host over a socketpair, `x += 1`", "floor"),
            ("python context: `x += 1` through POST .../contexts/{ctx}/run", "python"),
            ("javascript context: `x += 1` through POST .../contexts/{ctx}/run", "js"),
            ("exec `true` through POST /exec (a new process), for scale", "exec")]
    print("| what | n | p50 ms | p90 ms | p99 ms | min ms |")
    print("|---|---|---|---|---|---|")
    for label, k in rows:
        x = s[k]
        print("| %s | %d | %.2f | %.2f | %.2f | %.2f |"
              % (label, x["n"], x["p50"], x["p90"], x["p99"], x["min"]))
    print()
    p = s["python"]["p50"]
    print("- python context cell p50: %.2f ms (target <= 2 ms: %s); %.1fx its floor"
          % (p, "met" if p <= 2 else "MISSED", p / s["floor"]["p50"]))
    print("- javascript context cell p50: %.2f ms" % s["js"]["p50"])
    print("- load average before / after: %s / %s (%d CPUs)"
          % (" ".join(load_before), " ".join(open("/proc/loadavg").read().split()[:3]),
             os.cpu_count()))


if __name__ == "__main__":
    main()

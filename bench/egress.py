#!/usr/bin/python3
"""bench/egress.py: what network access costs a sandbox, against no network, in one run.

    sudo bench/egress.py [-n 20] [-r 3] [--sizes 0,250,1000] [--build build]

1. Starts a private coved from the build directory (temporary state under /var/tmp, its own
   cgroup root, uid range, nftables table and egress subnet, --debug so that it logs the
   time of its nf_tables work) and measures create+delete through the API (POST then
   DELETE over the Unix socket), interleaving round by round:
     off   "network": "none" (the baseline: the namespace keeps only lo);
     on    "network": {"mode": "allow", "allow_cidrs": [4 CIDRs]}: a veth, addresses, a
           route and 5 set elements at create; at delete the veth goes with the sandbox's
           namespace and its elements with the next background rebuild of the table.
   It also reports coved's own timing of each element transaction and of each rebuild.
2. Runs bench/egress-rules.c (libcove_core, no daemon) in its own table and subnet: the
   time to rebuild the table with N sandboxes registered (start-up, and each background
   collection after deletes) and to attach one more sandbox with N present.
Every address is in a private egress subnet and no packet is sent. Prints Markdown.
"""
import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from testenv import Daemon  # noqa: E402  (the test suite's daemon launcher)

CIDRS = ["198.18.0.0/24", "198.18.1.0/24", "203.0.113.0/24", "192.0.2.7/32"]


class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(self.path)


def call(conn, key, method, path, body=None):
    hdrs = {"Authorization": "Bearer " + key}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    t0 = time.perf_counter()
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    payload = r.read()
    dt = (time.perf_counter() - t0) * 1000
    if r.status >= 300:
        raise SystemExit("%s %s -> %d %s" % (method, path, r.status, payload[:300]))
    return json.loads(payload), dt


def cycle(conn, key, network):
    body = {"network": network} if network else {}
    t0 = time.perf_counter()
    sb, _ = call(conn, key, "POST", "/v1/sandboxes", body)
    call(conn, key, "DELETE", "/v1/sandboxes/" + sb["id"])
    return (time.perf_counter() - t0) * 1000


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))]


def nft_times(text):
    """coved's own timings: element adds (ms) and collections (ms, sandboxes)."""
    adds = [int(m.group(1)) / 1000.0
            for m in re.finditer(r"egress: elements add \S+: 0 after (\d+) us", text)]
    colls = [(int(m.group(2)) / 1000.0, int(m.group(1)))
             for m in re.finditer(r"egress: collected (\d+) deleted sandboxes in (\d+) us", text)]
    return adds, colls


def rules_bench(build, sizes, rounds):
    exe = os.path.join(build, "bench", "egress-rules")
    subprocess.run(["ninja", "-C", build, "bench/egress-rules"], check=True,
                   stdout=subprocess.DEVNULL)
    pid = os.getpid()
    table = "cove_rules_%d" % pid
    subnet = "10.%d.0.0/16" % (160 + pid % 20)
    try:
        out = subprocess.run([exe, table, subnet, str(rounds)] + [str(n) for n in sizes],
                             capture_output=True, text=True, timeout=1800, check=True).stdout
    finally:
        subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)
    rows = []
    for line in out.splitlines():
        kv = dict(x.split("=", 1) for x in line.split())
        rows.append(kv)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20, help="cycles per variant per round")
    ap.add_argument("-r", type=int, default=3, help="rounds")
    ap.add_argument("--sizes", default="0,250,1000", help="sandboxes in the table (rules)")
    ap.add_argument("--rules-rounds", type=int, default=10)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    os.environ["COVE_BUILD"] = build
    pid = os.getpid()
    table = "cove_bench_%d" % pid
    subnet = "10.%d.0.0/16" % (120 + pid % 40)
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        forward_before = f.read().strip()
    d = Daemon("bench-egress", slot=13,
               extra_args=["--net-table", table, "--net-subnet", subnet, "--debug"])
    d.start()
    try:
        conn = Unix(d.socket)
        times = {"off": [], "on": []}
        off0 = d.log_size()
        for r in range(a.r):
            for variant in ("off", "on"):
                net = {"mode": "allow", "allow_cidrs": CIDRS} if variant == "on" else None
                for _ in range(a.n):
                    times[variant].append(cycle(conn, d.key, net))
            print("round %d done" % (r + 1), file=sys.stderr)
        time.sleep(3)  # let the last background rebuild run (it waits for 1 s of quiet)
        adds, colls = nft_times(d.log_since(off0, limit=1 << 30))
    finally:
        d.stop()
        d.cleanup()
        subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)
    try:
        rules = rules_bench(build, [int(x) for x in a.sizes.split(",")], a.rules_rounds)
    finally:
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write(forward_before + "\n")

    print("| measured | n | p50 ms | p90 ms | p50 ratio to off |")
    print("|---|---|---|---|---|")
    base = statistics.median(times["off"])
    for variant in ("off", "on"):
        v = times[variant]
        print("| create+delete, network %s | %d | %.1f | %.1f | %.2f |" % (
            variant, len(v), pct(v, 50), pct(v, 90), statistics.median(v) / base))
    if adds:
        print("| in coved: add a sandbox's 5 elements (one nf_tables batch) | %d | %.2f | %.2f | |"
              % (len(adds), pct(adds, 50), pct(adds, 90)))
    if colls:
        ms = [c[0] for c in colls]
        print("| in coved: background rebuild (%d deleted sandboxes collected by %d) | %d | "
              "%.1f | %.1f | |" % (sum(c[1] for c in colls), len(ms), len(ms), pct(ms, 50),
                                   pct(ms, 90)))
    print()
    print("| sandboxes in the table | rounds | rebuild p50 ms | rebuild p90 ms | "
          "attach p50 ms | attach p90 ms |")
    print("|---|---|---|---|---|---|")
    for kv in rules:
        print("| %s | %s | %s | %s | %s | %s |" % (
            kv["sandboxes"], kv["rounds"], kv["rebuild_p50"], kv["rebuild_p90"],
            kv["attach_p50"], kv["attach_p90"]))


if __name__ == "__main__":
    main()

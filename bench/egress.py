#!/usr/bin/python3
"""bench/egress.py: what network access costs a sandbox, against no network, in one run.

    sudo bench/egress.py [-n 20] [-r 3] [--fill 1000] [--build build]

Starts a private coved from the build directory (temporary state under /var/tmp, its own
cgroup root, uid range, nftables table and egress subnet, --debug so that it logs the time
of every nftables transaction), then measures, interleaving the variants round by round so
that they see the same machine:

  create+delete   POST /v1/sandboxes then DELETE, for "network": "none" (the baseline) and
                  "network": {"mode": "allow", "allow_cidrs": [4 CIDRs]} (a veth, addresses,
                  a route and 5 set elements at create; at delete the veth goes with the
                  sandbox's namespace and the elements are removed in the background);
  rules           coved's own timing of the nf_tables transaction that adds a sandbox's
                  elements and of the background one that removes them, from its log;

first with an empty table, then again after --fill sandboxes' worth of elements (one
ifaddr element and 4 allow intervals each, the same shape as a real sandbox's) were
loaded into the table. Every address is in the private egress subnet; no packet is sent.
Prints a Markdown table (p50, p90, ms) and the ratios.
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
    """coved's own timing of each element transaction, by kind."""
    out = {}
    for m in re.finditer(r"egress: elements (add|delete)((?: ifaddr)?(?: allow)?) \S+: 0 after "
                         r"(\d+) us", text):
        out.setdefault(m.group(1) + m.group(2), []).append(int(m.group(3)) / 1000.0)
    return out


def fill(table, subnet, count):
    base = subnet.split("/")[0].split(".")
    first = (int(base[0]) << 24) | (int(base[1]) << 16)
    lines = []
    for i in range(count):
        a = first + (2000 + i) * 4 + 2
        ip = "%d.%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)
        lines.append('add element inet %s ifaddr { "cvfill%09d" . %s }' % (table, i, ip))
        lines.append("add element inet %s allow { %s }" % (
            table, ", ".join("%s . %s" % (ip, c) for c in CIDRS)))
    subprocess.run(["nft", "-f", "-"], input="\n".join(lines) + "\n", text=True, check=True,
                   timeout=300)


def count_elements(table):
    out = subprocess.run(["nft", "-j", "list", "set", "inet", table, "allow"],
                         capture_output=True, text=True, timeout=120).stdout
    for item in json.loads(out)["nftables"]:
        if "set" in item:
            return len(item["set"].get("elem", []))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20, help="cycles per variant per round")
    ap.add_argument("-r", type=int, default=3, help="rounds")
    ap.add_argument("--fill", type=int, default=1000, help="sandboxes' worth of elements")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    a = ap.parse_args()
    os.environ["COVE_BUILD"] = os.path.abspath(a.build)
    pid = os.getpid()
    table = "cove_bench_%d" % pid
    subnet = "10.%d.0.0/16" % (120 + pid % 40)
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        forward_before = f.read().strip()
    d = Daemon("bench-egress", slot=13,
               extra_args=["--net-table", table, "--net-subnet", subnet, "--debug"])
    d.start()
    rows = {}
    try:
        conn = Unix(d.socket)
        for phase in ("empty table", "%d sandboxes in the table" % a.fill):
            if phase != "empty table":
                fill(table, subnet, a.fill)
                print("table holds %d allow elements" % count_elements(table), file=sys.stderr)
            times = {"off": [], "on": []}
            off0 = d.log_size()
            for r in range(a.r):
                for variant in ("off", "on"):
                    net = {"mode": "allow", "allow_cidrs": CIDRS} if variant == "on" else None
                    for _ in range(a.n):
                        times[variant].append(cycle(conn, d.key, net))
                print("%s: round %d done" % (phase, r + 1), file=sys.stderr)
            rows[phase] = (times, nft_times(d.log_since(off0, limit=1 << 30)))
    finally:
        d.stop()
        d.cleanup()
        subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write(forward_before + "\n")

    print("| table | variant | n | p50 ms | p90 ms | p50 ratio to off |")
    print("|---|---|---|---|---|---|")
    for phase, (times, nft) in rows.items():
        base = statistics.median(times["off"])
        for variant in ("off", "on"):
            v = times[variant]
            print("| %s | create+delete, network %s | %d | %.1f | %.1f | %.2f |" % (
                phase, variant, len(v), pct(v, 50), pct(v, 90), statistics.median(v) / base))
        for kind, what in (("add ifaddr allow", "create: add ifaddr + 4 allow elements"),
                           ("delete ifaddr allow",
                            "after delete, in the background: remove all 5")):
            v = nft.get(kind, [])
            if v:
                print("| %s | nft transaction, %s | %d | %.2f | %.2f | |"
                      % (phase, what, len(v), pct(v, 50), pct(v, 90)))


if __name__ == "__main__":
    main()

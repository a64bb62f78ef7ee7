"""Controlled egress: a sandbox reaches only what its network policy allows.

The test builds its own stand-in internet: a network namespace joined to the host by a veth
on 198.18.N.0/24 (the benchmarking range), with a TCP and a UDP echo server on 198.18.N.2
and 198.18.N.3, and 169.254.169.254 (the cloud metadata address) on the same namespace.
A policy-routing rule sends everything the private coved's egress subnet routes off the
host into that namespace, so an "all" sandbox never reaches a real network: every target
of this file is the namespace, the host, or another sandbox. The coved runs with its own
nftables table and subnet, and everything is removed at the end.

Each "unreachable" check has a positive control: the same target answers the host (or the
sandbox that owns it), so a failure to connect is the rules' doing, not a dead server."""
import json
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from testenv import Client, Daemon, cli_path, expect

PID = os.getpid()
N = 100 + PID % 100  # third octet of the stand-in internet
NET = "198.18.%d" % N
NS = "cove-egt-%d" % PID
HOST_IF = "egt%dh" % (PID % 10000000)
PEER_IF = "egt%dp" % (PID % 10000000)
RT_TABLE = 20000 + PID % 10000
TABLE = "cove_egt_%d" % PID
PORT = 7007
METADATA = "169.254.169.254"

SERVER = r"""
import socket, sys, threading
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", %(port)d)); s.listen(64)
    while True:
        c, _ = s.accept()
        def echo(c=c):
            c.settimeout(10)
            try:
                d = c.recv(64)
                c.sendall(d)
            except OSError:
                pass
            c.close()
        threading.Thread(target=echo, daemon=True).start()
def udp(addr):
    # One socket per address, so that a reply leaves from the address the query went to.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, %(port)d))
    while True:
        d, a = s.recvfrom(64)
        s.sendto(d, a)
threading.Thread(target=tcp, daemon=True).start()
for addr in sys.argv[1:]:
    threading.Thread(target=udp, args=(addr,), daemon=True).start()
sys.stdin.read()
""" % {"port": PORT}

DNS_SERVER = r"""
import socket, struct, sys
NAMES = {b"ok.test": sys.argv[2], b"a.wild.test": sys.argv[2], b"wild.test": sys.argv[2],
         b"evil.test": sys.argv[2], b"meta.test": "169.254.169.254"}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, a = s.recvfrom(512)
    off, labels = 12, []
    while q[off]:
        labels.append(q[off + 1:off + 1 + q[off]]); off += 1 + q[off]
    name, qend = b".".join(labels).lower(), off + 5
    ip = NAMES.get(name)
    flags = 0x8180 if ip else 0x8183
    r = q[:2] + struct.pack(">HHHHH", flags, 1, 1 if ip else 0, 0, 0) + q[12:qend]
    if ip:
        r += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)
    s.sendto(r, a)
"""

DNS_QUERY = r"""
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
for part in sys.argv[2].split("."):
    q += bytes([len(part)]) + part.encode()
q += b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
try:
    s.sendto(q, (sys.argv[1], 53)); r = s.recv(512)
    print("rcode=%d answers=%d" % (r[3] & 15, r[6] << 8 | r[7]))
except OSError as e:
    print(type(e).__name__)
"""

PROBE = r"""
import socket, sys, threading
res = {}
def tcp(h, p):
    s = socket.create_connection((h, p), timeout=3)
    s.settimeout(3); s.sendall(b"ping"); d = s.recv(16); s.close()
    return d
def udp(h, p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(b"ping", (h, p)); d = s.recvfrom(16)[0]; s.close()
    return d
def run(spec):
    proto, h, p = spec.split(":")
    try:
        d = (tcp if proto == "tcp" else udp)(h, int(p))
        res[spec] = "ok" if d == b"ping" else "bad"
    except Exception as e:
        res[spec] = type(e).__name__
ts = [threading.Thread(target=run, args=(a,)) for a in sys.argv[1:]]
[t.start() for t in ts]
[t.join(15) for t in ts]
for a in sys.argv[1:]:
    print(a, res.get(a, "hang"))
"""


def sh(cmd, check=True):
    cp = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30)
    if check and cp.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (cmd, cp.returncode, cp.stderr))
    return cp


def nft_available():
    try:
        cp = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                            timeout=30)
    except FileNotFoundError:
        return True  # the kernel may well have it; the daemon does not need the CLI
    return not (cp.returncode != 0 and "not supported" in cp.stderr.lower())


def pick_subnet():
    routes = sh("ip -4 -o route show table all").stdout + sh("ip -4 -o addr").stdout
    for i in range(60):
        second = 180 + (PID + i) % 60
        if not re.search(r"(?<![\d.])10\.%d\." % second, routes):
            return "10.%d.0.0/16" % second
    pytest.skip("no free 10.x.0.0/16 for the egress subnet")


def host_ipv4_addresses():
    out = sh("ip -4 -o addr show scope global").stdout
    return [m.group(1) for m in re.finditer(r"inet (\d+\.\d+\.\d+\.\d+)/", out)]


def tcp_echo_from_host(host, port, source=None):
    s = socket.socket()
    s.settimeout(3)
    try:
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        s.sendall(b"ping")
        return s.recv(16) == b"ping"
    except OSError:
        return False
    finally:
        s.close()


class HostService:
    """A TCP echo server in the test process, on every host address."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            c.settimeout(3)
            try:
                c.sendall(c.recv(16))
            except OSError:
                pass
            c.close()

    def close(self):
        self.stop = True
        self.t.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def world():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not nft_available():
        pytest.skip("this kernel has no nftables (nf_tables), which egress needs")
    subnet = pick_subnet()
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        forward_before = f.read().strip()
    w = {"subnet": subnet, "forward_before": forward_before}
    server = None
    try:
        sh("ip netns add %s" % NS)
        sh("ip link add %s type veth peer name %s netns %s" % (HOST_IF, PEER_IF, NS))
        sh("ip addr add %s.1/24 dev %s && ip link set %s up" % (NET, HOST_IF, HOST_IF))
        for a in ("%s.2/24" % NET, "%s.3/24" % NET, METADATA + "/32"):
            sh("ip -n %s addr add %s dev %s" % (NS, a, PEER_IF))
        sh("ip -n %s link set %s up && ip -n %s link set lo up" % (NS, PEER_IF, NS))
        # Everything the sandboxes (and, for the controls, the host from NET.1) send off the
        # host goes to the namespace; the egress subnet itself is looked up as usual.
        sh("ip route add default via %s.2 dev %s table %d" % (NET, HOST_IF, RT_TABLE))
        sh("ip route add throw %s table %d" % (subnet, RT_TABLE))
        sh("ip rule add from %s lookup %d pref 99" % (subnet, RT_TABLE))
        sh("ip rule add from %s.1 lookup %d pref 99" % (NET, RT_TABLE))
        server = subprocess.Popen(["ip", "netns", "exec", NS, "python3", "-c", SERVER,
                                   "%s.2" % NET, "%s.3" % NET, METADATA],
                                  stdin=subprocess.PIPE)
        w["dns"] = subprocess.Popen(["ip", "netns", "exec", NS, "python3", "-c", DNS_SERVER,
                                     "%s.2" % NET, "%s.3" % NET])
        for _ in range(100):  # bounded: 100 x 0.1 s
            if tcp_echo_from_host("%s.2" % NET, PORT):
                break
            time.sleep(0.1)
        assert tcp_echo_from_host("%s.2" % NET, PORT), "the stand-in internet never answered"
        w["service"] = HostService()
        d = Daemon("egress", slot=11, extra_args=["--disk-warm", "0", "--net-table", TABLE,
                                                  "--net-subnet", subnet,
                                                  "--net-dns", "%s.2" % NET])
        d.start()
        w["daemon"] = d
        yield w
    finally:
        d = w.get("daemon")
        if d is not None:
            if d.running():
                api = Client(d)
                r = api.get("/v1/sandboxes")
                for sb in (r.body.get("sandboxes", []) if r.status == 200 else []):
                    api.destroy(sb["id"])
            d.stop()
            d.cleanup(keep=bool(os.environ.get("COVE_TEST_KEEP")))
        if "service" in w:
            w["service"].close()
        if "dns" in w:
            w["dns"].kill()
            w["dns"].wait(10)
        if server is not None:
            server.stdin.close()
            server.kill()
            server.wait(10)
        sh("nft delete table inet %s" % TABLE, check=False)
        sh("ip rule del from %s lookup %d pref 99" % (subnet, RT_TABLE), check=False)
        sh("ip rule del from %s.1 lookup %d pref 99" % (NET, RT_TABLE), check=False)
        sh("ip route flush table %d" % RT_TABLE, check=False)
        sh("ip link del %s" % HOST_IF, check=False)
        sh("ip netns del %s" % NS, check=False)
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write(forward_before + "\n")


@pytest.fixture(scope="module")
def api(world):
    return Client(world["daemon"])


def probe(api, sb, *targets):
    res = api.exec(sb, "python3", "-c", PROBE, *targets, timeout=60)
    assert res["exit_code"] == 0, res
    out = dict(line.split(" ", 1) for line in res["stdout"].splitlines())
    assert set(out) == set(targets), res
    return out


def sandbox_addr(api, sb):
    out = api.sh(sb, "ip -4 -o addr show dev eth0")
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/30", out)
    assert m, out
    return m.group(1)


def ifaces(api, sb):
    lines = api.sh(sb, "cat /proc/net/dev").splitlines()[2:]
    return sorted(line.split(":", 1)[0].strip() for line in lines)


def host_if_of(sb):
    return "cv" + sb["id"][:13]


def link_exists(name):
    return subprocess.run(["ip", "link", "show", name], capture_output=True,
                          timeout=30).returncode == 0


def set_text(name):
    return sh("nft list set inet %s %s" % (TABLE, name)).stdout


def wait_until(cond, limit_s=30.0):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:  # bounded by limit_s
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def has_addr(text, addr):
    return re.search(r"(?<![\d.])%s(?!\d)" % re.escape(addr), text) is not None


T2, T3 = "%s.2" % NET, "%s.3" % NET


# ---- API ----------------------------------------------------------------------------------

@pytest.mark.parametrize("network,word", [
    ("everything", "must be"),
    (42, "string or an object"),
    ({"mode": "allow"}, "allow_cidrs"),
    ({"mode": "allow", "allow_cidrs": []}, "allow_cidrs"),
    ({"mode": "allow", "allow_cidrs": ["10.0.0.1/8"]}, "host bits"),
    ({"mode": "allow", "allow_cidrs": ["2001:db8::/32"]}, "IPv4"),
    ({"mode": "allow", "allow_cidrs": ["1.2.3.4/33"]}, "prefix"),
    ({"mode": "allow", "allow_cidrs": ["example.com"]}, "not an IPv4"),
    ({"mode": "allow", "allow_cidrs": [7]}, "string"),
    ({"mode": "allow", "allow_cidrs": ["10.%d.0.0/16" % i for i in range(65)]}, "at most 64"),
    ({"mode": "all", "allow_cidrs": ["1.2.3.0/24"]}, "need"),
    ({"mode": "allow", "allow_domains": ["exa mple.com"]}, "domain name"),
    ({"mode": "allow", "allow_domains": ["com"]}, "domain name"),
    ({"mode": "allow", "allow_domains": ["-a.example.com"]}, "label"),
    ({"mode": "allow", "allow_domains": ["a" * 64 + ".com"]}, "label"),
    ({"mode": "allow", "allow_domains": ["d%d.test" % i for i in range(33)]}, "at most 32"),
    ({"mode": "all", "allow_domains": ["example.com"]}, "need"),
    ({"mode": "allow", "allow_hosts": ["example.com"]}, "unknown field"),
])
def test_bad_network_is_a_clear_400(api, network, word):
    r = api.post("/v1/sandboxes", {"network": network})
    body = expect(r, 400)
    assert word in body["message"], body


def test_daytona_bad_allow_list_is_400(api):
    r = api.post("/api/sandbox", {"networkAllowList": "10.0.0.0/8,nonsense"})
    body = expect(r, 400)
    assert "networkAllowList" in body["message"], body


def test_coved_check_reports_nftables(world):
    from testenv import coved_path
    out = subprocess.run([coved_path(), "--check"], capture_output=True, text=True,
                         timeout=60).stdout
    assert "ok   nftables (sandbox network access)" in out, out


# ---- reachability -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def boxes(world, api):
    b = {
        "none": api.create(name="egress-none"),
        "all": api.create(name="egress-all", network="all"),
        "allow": api.create(name="egress-allow",
                            network={"mode": "allow", "allow_cidrs": [T2 + "/32"]}),
        # Allowing what is always blocked does not open it.
        "greedy": api.create(name="egress-greedy", network={"mode": "allow", "allow_cidrs": [
            METADATA + "/32", world["subnet"], "%s.1/32" % NET, "127.0.0.0/8", T2 + "/32"]}),
    }
    return b


def test_default_sandbox_has_only_lo(api, boxes):
    assert ifaces(api, "egress-none") == ["lo"]
    assert not link_exists(host_if_of(boxes["none"]))
    got = probe(api, "egress-none", "tcp:%s:%d" % (T2, PORT), "udp:%s:%d" % (T2, PORT))
    assert "ok" not in got.values(), got
    assert api.sandbox("egress-none")["network"] == "none"


def test_all_reaches_tcp_and_udp(api, boxes):
    assert api.sandbox("egress-all")["network"] == "all"
    got = probe(api, "egress-all", "tcp:%s:%d" % (T2, PORT), "udp:%s:%d" % (T2, PORT),
                "tcp:%s:%d" % (T3, PORT), "udp:%s:%d" % (T3, PORT))
    assert set(got.values()) == {"ok"}, got


def test_allow_list_allows_only_listed(api, boxes):
    sb = api.sandbox("egress-allow")
    assert sb["network"] == "allow" and sb["network_allow_cidrs"] == [T2 + "/32"], sb
    got = probe(api, "egress-allow", "tcp:%s:%d" % (T2, PORT), "udp:%s:%d" % (T2, PORT),
                "tcp:%s:%d" % (T3, PORT), "udp:%s:%d" % (T3, PORT))
    assert got["tcp:%s:%d" % (T2, PORT)] == "ok" and got["udp:%s:%d" % (T2, PORT)] == "ok", got
    assert got["tcp:%s:%d" % (T3, PORT)] != "ok" and got["udp:%s:%d" % (T3, PORT)] != "ok", got


def test_always_blocked_even_with_all(world, api, boxes):
    port = world["service"].port
    # Positive controls: every target answers when the rules are not in the way.
    assert tcp_echo_from_host(METADATA, PORT, source="%s.1" % NET), "metadata stand-in is down"
    for a in ["%s.1" % NET] + host_ipv4_addresses():
        assert tcp_echo_from_host(a, port), "host service does not answer on %s" % a
    other = sandbox_addr(api, "egress-allow")
    expect(api.post("/v1/sandboxes/egress-allow/sessions", {"id": "srv"}), 201)
    expect(api.post("/v1/sandboxes/egress-allow/sessions/srv/exec",
                    {"command": "python3 -m http.server 8080", "async": True, "timeout": 120}),
           202)
    assert "ok" in api.sh("egress-allow", "for i in $(seq 50); do python3 -c \"import socket;"
                          "socket.create_connection(('%s', 8080), 1)\" 2>/dev/null && echo ok "
                          "&& break; sleep 0.1; done" % other)
    targets = ["tcp:%s:%d" % (METADATA, PORT), "udp:%s:%d" % (METADATA, PORT),
               "tcp:%s.1:%d" % (NET, port), "tcp:%s:8080" % other,
               "tcp:127.0.0.1:%d" % port]
    targets += ["tcp:%s:%d" % (a, port) for a in host_ipv4_addresses()]
    for name in ("egress-all", "egress-greedy"):
        a = sandbox_addr(api, name)  # .2 of its /30; the host end is .1
        gw = a.rsplit(".", 1)[0] + "." + str(int(a.rsplit(".", 1)[1]) - 1)
        got = probe(api, name, *(targets + ["tcp:%s:%d" % (gw, port)]))
        assert "ok" not in got.values(), (name, got)
    # ... while what greedy may reach, it reaches (the veth and its rules work).
    assert probe(api, "egress-greedy", "tcp:%s:%d" % (T2, PORT)) == \
        {"tcp:%s:%d" % (T2, PORT): "ok"}


def test_sandbox_cannot_spoof_or_use_ipv6(api, boxes):
    # The sandbox user has no CAP_NET_ADMIN/RAW: it can neither re-address eth0 nor send
    # raw packets, so the anti-spoofing rule is a second line.
    res = api.exec("egress-all", command="ip addr add 10.0.0.9/32 dev eth0")
    assert res["exit_code"] != 0, res
    res = api.exec("egress-all", "python3", "-c",
                   "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)")
    assert res["exit_code"] != 0, res


# ---- persistence --------------------------------------------------------------------------

def test_rules_survive_stop_and_start(api, boxes):
    for verb in ("stop", "start"):
        expect(api.post("/v1/sandboxes/egress-allow/%s" % verb, timeout=120), 200)
    assert link_exists(host_if_of(boxes["allow"]))
    got = probe(api, "egress-allow", "tcp:%s:%d" % (T2, PORT), "tcp:%s:%d" % (T3, PORT))
    assert got == {"tcp:%s:%d" % (T2, PORT): "ok", "tcp:%s:%d" % (T3, PORT): got[
        "tcp:%s:%d" % (T3, PORT)]} and got["tcp:%s:%d" % (T3, PORT)] != "ok", got


def test_stopped_sandbox_holds_no_veth(api, boxes):
    addr = sandbox_addr(api, "egress-all")
    expect(api.post("/v1/sandboxes/egress-all/stop", timeout=120), 200)
    try:
        # The veth goes with the sandbox's network namespace (asynchronously, in the
        # kernel); the elements wait, inert, for the next start.
        assert wait_until(lambda: not link_exists(host_if_of(boxes["all"])))
        assert has_addr(set_text("allow"), addr)
    finally:
        expect(api.post("/v1/sandboxes/egress-all/start", timeout=120), 200)
    assert probe(api, "egress-all", "tcp:%s:%d" % (T3, PORT)) == \
        {"tcp:%s:%d" % (T3, PORT): "ok"}


def test_rules_survive_a_daemon_restart_and_stale_state_is_reconciled(world, api, boxes):
    d = world["daemon"]
    all_addr = sandbox_addr(api, "egress-all")
    allow_addr = sandbox_addr(api, "egress-allow")
    d.kill()
    # While coved is down the rules stay: they live in the kernel ...
    assert has_addr(set_text("allow"), allow_addr)
    # ... then simulate a crash that lost a veth and left a stale element behind.
    sh("ip link del %s" % host_if_of(boxes["all"]))
    sh("nft add element inet %s allow { 10.250.250.250 . 0.0.0.0/0 }" % TABLE)
    d.start(expect_key_line=False)
    text = set_text("allow")
    assert not has_addr(text, "10.250.250.250"), text
    assert has_addr(text, all_addr), text
    assert link_exists(host_if_of(boxes["all"]))
    got = probe(api, "egress-allow", "tcp:%s:%d" % (T2, PORT), "tcp:%s:%d" % (T3, PORT))
    assert got["tcp:%s:%d" % (T2, PORT)] == "ok" and got["tcp:%s:%d" % (T3, PORT)] != "ok", got
    got = probe(api, "egress-all", "udp:%s:%d" % (T3, PORT), "tcp:%s:%d" % (METADATA, PORT))
    assert got["udp:%s:%d" % (T3, PORT)] == "ok", got
    assert got["tcp:%s:%d" % (METADATA, PORT)] != "ok", got
    assert api.sandbox("egress-none")["network"] == "none"
    assert ifaces(api, "egress-none") == ["lo"]


# ---- Daytona ------------------------------------------------------------------------------

def test_daytona_network_fields_map_to_the_policy(api, boxes):
    r = api.post("/api/sandbox", {"networkAllowList": "%s/32, %s/32" % (T3, METADATA)},
                 timeout=120)
    b = expect(r, 200)
    try:
        assert b["networkBlockAll"] is False and b["networkAllowList"], b
        sb = api.sandbox(b["id"])
        assert sb["network"] == "allow"
        assert sb["network_allow_cidrs"] == ["%s/32" % T3, "%s/32" % METADATA]
        got = probe(api, b["id"], "tcp:%s:%d" % (T3, PORT), "tcp:%s:%d" % (T2, PORT),
                    "tcp:%s:%d" % (METADATA, PORT))
        assert got["tcp:%s:%d" % (T3, PORT)] == "ok", got
        assert got["tcp:%s:%d" % (T2, PORT)] != "ok", got
        assert got["tcp:%s:%d" % (METADATA, PORT)] != "ok", got
    finally:
        expect(api.destroy(b["id"]), 200)
    b = expect(api.post("/api/sandbox", {}, timeout=120), 200)
    try:
        assert b["networkBlockAll"] is True, b
        assert api.sandbox(b["id"])["network"] == "none"
    finally:
        expect(api.destroy(b["id"]), 200)


# ---- domain allow list --------------------------------------------------------------------

def dns_query(api, sb, server, name):
    res = api.exec(sb, "python3", "-c", DNS_QUERY, server, name, timeout=60)
    assert res["exit_code"] == 0, res
    return res["stdout"].strip()


def resolve(api, sb, name):
    res = api.exec(sb, "python3", "-c",
                   "import socket, sys\ntry:\n print(socket.gethostbyname(sys.argv[1]))\n"
                   "except OSError as e:\n print(type(e).__name__)", name, timeout=60)
    assert res["exit_code"] == 0, res
    return res["stdout"].strip()


def test_domain_allow_list(world, api, boxes):
    sb = api.create(name="egress-dns", network={
        "mode": "allow", "allow_domains": ["OK.test", "*.wild.test", "meta.test"]})
    try:
        assert sb["network"] == "allow" and sb["network_allow_domains"] == [
            "ok.test", "*.wild.test", "meta.test"], sb
        a = sandbox_addr(api, "egress-dns")
        gw = a.rsplit(".", 1)[0] + "." + str(int(a.rsplit(".", 1)[1]) - 1)
        assert "nameserver %s" % gw in api.sh("egress-dns", "cat /etc/resolv.conf")
        # Positive control: the upstream answers the host directly.
        # Before any answer, nothing is open.
        assert probe(api, "egress-dns", "tcp:%s:%d" % (T3, PORT))["tcp:%s:%d" % (T3, PORT)] != "ok"
        assert dns_query(api, "egress-dns", gw, "ok.test") == "rcode=0 answers=1"
        assert resolve(api, "egress-dns", "ok.test") == T3
        assert probe(api, "egress-dns", "tcp:%s:%d" % (T3, PORT)) == {"tcp:%s:%d" % (T3, PORT): "ok"}
        assert resolve(api, "egress-dns", "a.wild.test") == T3
        for name in ("evil.test", "wild.test"):
            assert resolve(api, "egress-dns", name) != T3, name
            assert dns_query(api, "egress-dns", gw, name) == "rcode=5 answers=0", name
        # An allowed name cannot open an always-blocked address.
        assert resolve(api, "egress-dns", "meta.test") == METADATA
        assert probe(api, "egress-dns", "tcp:%s:%d" % (METADATA, PORT))[
            "tcp:%s:%d" % (METADATA, PORT)] != "ok"
        # The upstream itself is not reachable directly, nor is another sandbox's resolver.
        assert dns_query(api, "egress-dns", T2, "ok.test") == "TimeoutError"
        assert dns_query(api, "egress-all", gw, "ok.test") == "TimeoutError"
        # Malformed queries get no answer and do not stop the resolver.
        api.exec("egress-dns", "python3", "-c",
                 "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                 "for p in [b'', b'x' * 11, b'\\x00' * 12, b'\\x12\\x34\\x01\\x00\\x00\\x01'"
                 " + b'\\x00' * 6 + b'\\xc0\\x0c', b'\\xff' * 511]:\n"
                 " s.sendto(p, ('%s', 53))" % gw)
        assert dns_query(api, "egress-dns", gw, "ok.test") == "rcode=0 answers=1"
    finally:
        expect(api.destroy("egress-dns"), 200)


# ---- CLI ----------------------------------------------------------------------------------

def test_cli_create_with_an_allow_list(world, api, boxes):
    d = world["daemon"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
           "COVE_API_URL": d.url, "COVE_API_KEY": d.key, "LANG": "C.UTF-8"}

    def cove(*args):
        return subprocess.run([cli_path()] + list(args), capture_output=True, text=True,
                              env=env, timeout=120)
    cp = cove("create", "--name", "egress-cli", "--allow", T3 + "/32", "--allow", "192.0.2.0/24",
              "--allow-domain", "ok.test")
    assert cp.returncode == 0, cp
    try:
        sb = api.sandbox("egress-cli")
        assert sb["network_allow_cidrs"] == [T3 + "/32", "192.0.2.0/24"], sb
        assert sb["network_allow_domains"] == ["ok.test"], sb
        assert probe(api, "egress-cli", "tcp:%s:%d" % (T3, PORT)) == {
            "tcp:%s:%d" % (T3, PORT): "ok"}
    finally:
        expect(api.destroy("egress-cli"), 200)
    cp = cove("create", "--allow", "10.0.0.1/8")
    assert cp.returncode != 0 and "host bits" in cp.stderr, cp
    cp = cove("create", "--network", "all", "--allow", "1.2.3.4")
    assert cp.returncode != 0 and "exclude" in cp.stderr, cp


# ---- leaks --------------------------------------------------------------------------------

def test_delete_leaks_no_veth_and_no_elements(api, boxes):
    addrs = {k: sandbox_addr(api, b["id"]) for k, b in boxes.items() if k != "none"}
    for b in boxes.values():
        expect(api.destroy(b["id"]), 200)
    # A deleted sandbox's veth and elements are removed in the background.
    for k, b in boxes.items():
        assert wait_until(lambda: not link_exists(host_if_of(b))), k
    assert wait_until(lambda: "elements" not in set_text("allow") + set_text("ifaddr"))
    for name in ("allow", "ifaddr"):
        text = set_text(name)
        for k, a in addrs.items():
            assert not has_addr(text, a), (k, a, text)
        assert "elements" not in text, text
    left = sh("ip -o link show").stdout
    assert not any(host_if_of(b) in left for b in boxes.values()), left

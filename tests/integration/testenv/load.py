"""Load and fault helpers shared by bench/load and test_16: client loops that cycle
create -> exec -> upload -> download -> delete, a ledger of what coved acknowledged, a
host-side census of everything one coved holds, and the consistency check between its
database and what exists on the host (run after a kill -9 and a restart).

Clients speak HTTP/1.1 to 127.0.0.1 only, one keep-alive connection each. Every loop is
bounded by a cycle count and by a deadline.
"""
import hashlib
import http.client
import json
import os
import re
import socket
import sqlite3
import threading
import time
import urllib.parse

from . import host

STEPS = ("create", "exec", "upload", "download", "delete")
FILE_PATH = "data/load.bin"
REQUEST_TIMEOUT = 120.0
# Errors that mean "the daemon is not there" (it was killed or is restarting).
CONN_ERRORS = (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine,
               socket.timeout, http.client.IncompleteRead, OSError)


class Conn:
    """One keep-alive HTTP/1.1 connection to coved's TCP port on 127.0.0.1."""

    def __init__(self, daemon):
        self.daemon, self.c = daemon, None

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def request(self, method, path, body=None, raw=None, query=None):
        """Returns (status, body bytes). Raises one of CONN_ERRORS when the daemon is gone."""
        if query:
            path += "?" + urllib.parse.urlencode(query)
        hdrs = {"Authorization": "Bearer " + self.daemon.key}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
            hdrs["Content-Type"] = "application/octet-stream"
        elif method in ("PUT", "POST"):
            data = b""
        if self.c is None:
            self.c = http.client.HTTPConnection("127.0.0.1", self.daemon.port,
                                                timeout=REQUEST_TIMEOUT)
        try:
            self.c.request(method, path, body=data, headers=hdrs)
            r = self.c.getresponse()
            payload = r.read()
        except BaseException:
            self.close()
            raise
        if r.getheader("Connection", "").lower() == "close":
            self.close()
        return r.status, payload


def q(s):
    return urllib.parse.quote(s, safe="")


class Ledger:
    """What coved acknowledged, per sandbox name (names are unique to a run).

    entry: {"id", "acked" (create answered 201), "deleted" (delete answered 200), "sha"
    (sha256 of the last acknowledged upload), "inflight" (the step under way, or None)}."""

    def __init__(self):
        self.mu = threading.Lock()
        self.by_name = {}

    def set(self, name, **kw):
        with self.mu:
            e = self.by_name.setdefault(name, {"id": None, "acked": False, "deleted": False,
                                               "sha": None, "inflight": None})
            e.update(kw)

    def snapshot(self):
        with self.mu:
            return {k: dict(v) for k, v in self.by_name.items()}

    def live(self):
        """Sandboxes whose create was acknowledged and whose delete was not."""
        return {k: v for k, v in self.snapshot().items() if v["acked"] and not v["deleted"]}


class Stats:
    def __init__(self):
        self.mu = threading.Lock()
        self.lat = {s: [] for s in STEPS}
        self.errors = []        # (step, status or exception, body)
        self.interrupted = []   # (step, exception) while the daemon was down on purpose
        self.cycles = 0

    def add(self, step, dt):
        with self.mu:
            self.lat[step].append(dt)

    def error(self, step, status, body):
        with self.mu:
            self.errors.append((step, status, body[:600] if isinstance(body, bytes) else body))

    def interrupt(self, step, exc):
        with self.mu:
            self.interrupted.append((step, repr(exc)))

    def cycle(self):
        with self.mu:
            self.cycles += 1


class Gate:
    """Lets a fault injector pause the clients: while closed, a client waits before its next
    request; `down` marks the window in which connection failures are expected."""

    def __init__(self):
        self.open_ev = threading.Event()
        self.open_ev.set()
        self.down = False
        self.mu = threading.Lock()
        self.waiting = 0
        self.epoch = 0  # counts restarts: keep-alive connections do not survive one

    def close(self):
        self.open_ev.clear()

    def reopen(self):
        self.epoch += 1
        self.down = False
        self.open_ev.set()

    def wait(self, limit):
        if self.open_ev.is_set():
            return True
        with self.mu:
            self.waiting += 1
        try:
            return self.open_ev.wait(limit)
        finally:
            with self.mu:
                self.waiting -= 1


class Worker(threading.Thread):
    """One client: loops create -> exec -> upload -> download (verified) -> delete."""

    def __init__(self, idx, daemon, stats, ledger, gate, deadline, max_cycles, payload,
                 run_tag):
        super().__init__(daemon=True, name="load-%d" % idx)
        self.idx, self.d, self.stats, self.ledger, self.gate = idx, daemon, stats, ledger, gate
        self.deadline, self.max_cycles, self.payload = deadline, max_cycles, payload
        self.tag = run_tag
        self.conn = Conn(daemon)
        self.rand = os.urandom
        self.was_interrupted = False
        self.epoch = gate.epoch

    def _call(self, step, name, method, path, ok, **kw):
        """One request. Returns (status, body) on the expected status, else None (error or
        interruption recorded)."""
        if not self.gate.wait(max(0.0, self.deadline - time.monotonic()) + 120):
            self.stats.error(step, "gate", b"the clients were paused for too long")
            return None
        if self.epoch != self.gate.epoch:  # the daemon restarted since we connected
            self.epoch = self.gate.epoch
            self.conn.close()
        self.ledger.set(name, inflight=step)
        t0 = time.perf_counter()
        try:
            status, body = self.conn.request(method, path, **kw)
        except CONN_ERRORS as e:
            if self.gate.down:
                self.stats.interrupt(step, e)
                self.was_interrupted = True
            else:
                self.stats.error(step, type(e).__name__, str(e).encode())
            return None
        dt = time.perf_counter() - t0
        if status != ok:
            self.stats.error(step, status, body)
            self.ledger.set(name, inflight=None)
            return None
        self.stats.add(step, dt)
        if step != "create":  # create: the caller records the id and the acknowledgement
            self.ledger.set(name, inflight=None)
        return status, body

    def one_cycle(self, n):
        name = "ld-%s-%d-%d" % (self.tag, self.idx, n)
        # Small limits so that 50 of them fit any organisation quota and the host.
        spec = {"name": name, "cpu": 0.5, "memory_mib": 256, "auto_stop_minutes": 0}
        r = self._call("create", name, "POST", "/v1/sandboxes", 201, body=spec)
        if r is None:
            return False
        sid = json.loads(r[1])["id"]
        self.ledger.set(name, id=sid, acked=True, inflight=None)
        token = "%s-%d" % (name, n)
        r = self._call("exec", name, "POST", "/v1/sandboxes/%s/exec" % q(sid), 200,
                       body={"cmd": ["echo", token], "timeout": 60})
        if r is None:
            return False
        res = json.loads(r[1])
        if res.get("exit_code") != 0 or res.get("stdout") != token + "\n":
            self.stats.error("exec", 200, r[1])
            return False
        data = self.rand(self.payload)
        sha = hashlib.sha256(data).hexdigest()
        r = self._call("upload", name, "PUT", "/v1/sandboxes/%s/files/content" % q(sid), 200,
                       raw=data, query={"path": FILE_PATH})
        if r is None:
            return False
        self.ledger.set(name, sha=sha)
        r = self._call("download", name, "GET", "/v1/sandboxes/%s/files/content" % q(sid), 200,
                       query={"path": FILE_PATH})
        if r is None:
            return False
        if r[1] != data:
            self.stats.error("download", 200, b"content differs from the upload (%d bytes, "
                             b"want %d)" % (len(r[1]), len(data)))
            return False
        r = self._call("delete", name, "DELETE", "/v1/sandboxes/%s" % q(sid), 200)
        if r is None:
            return False
        self.ledger.set(name, deleted=True, inflight=None)
        return True

    def abandon(self, name):
        """After an interrupted cycle: once the daemon is back, delete the cycle's sandbox
        by name (it may exist or not: the create may have been in flight)."""
        if not self.gate.wait(max(0.0, self.deadline - time.monotonic()) + 120):
            return
        self.epoch = self.gate.epoch
        self.conn.close()
        try:
            status, body = self.conn.request("DELETE", "/v1/sandboxes/%s" % q(name))
        except CONN_ERRORS as e:
            self.stats.error("cleanup", type(e).__name__, str(e).encode())
            return
        if status in (200, 404):
            self.ledger.set(name, deleted=True, inflight=None)
        else:
            self.stats.error("cleanup", status, body)

    def run(self):
        n = 0
        try:
            while n < self.max_cycles and time.monotonic() < self.deadline:
                self.was_interrupted = False
                if self.one_cycle(n):
                    self.stats.cycle()
                elif self.was_interrupted:
                    self.abandon("ld-%s-%d-%d" % (self.tag, self.idx, n))
                n += 1
        finally:
            self.conn.close()


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


# ---- host census --------------------------------------------------------------------------

def coved_pid(d):
    return d.proc.pid if d.proc is not None and d.proc.poll() is None else None


def rss_kib(pid):
    st = host.proc_status(pid)
    try:
        return int(st["VmRSS"].split()[0])
    except (KeyError, ValueError, IndexError):
        return None


def fds_of(pid):
    """coved's open descriptors, by kind (socket, pipe, net namespace, anon inode, file)."""
    kinds = {}
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return {}
    for n in names:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, n))
        except OSError:
            continue
        m = re.match(r"^(\w+):\[", target) or re.match(r"^anon_inode:\[?([\w-]+)", target)
        kind = m.group(1) if m else "file"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def descendants(pid):
    """Every process below pid (children of children...), from /proc/*/stat."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return sorted(out)


def netns_of(pids):
    out = set()
    for p in pids:
        try:
            out.add(os.readlink("/proc/%d/ns/net" % p))
        except OSError:
            pass
    return out


def loop_backing_under(path):
    path = os.path.realpath(path)
    found = []
    for name in sorted(os.listdir("/sys/block")):
        try:
            with open("/sys/block/%s/loop/backing_file" % name) as f:
                target = f.read().strip()
        except OSError:
            continue
        if target.startswith(path + "/"):
            found.append(target)
    return sorted(found)


def _pool_disk(m):
    """A disk the pool prepared and no sandbox holds: still owned by host root (a sandbox's
    create hands the disk to its uid range; the scrub of a released disk hands it back). It
    holds only what the pool lays out ahead of a create: the private copies of the loader,
    libc and shells under upper/usr (src/sandbox/private-libs.c), empty directories, empty
    per-sandbox files and device nodes (lay_out_disk in src/sandbox/sandbox.c)."""
    return os.stat(m).st_uid == 0


def census(d):
    """Everything a coved and its sandboxes hold on the host, split so that the warm pools
    (pre-started inits in cgroups pool-N, formatted unused disks) are told apart from
    sandboxes."""
    pid = coved_pid(d)
    disks_dir = os.path.join(d.state, "disks")
    mounted = host.loop_mounts_under(disks_dir)
    sandbox_disks, pool_disks = [], []
    for m in mounted:
        try:
            (pool_disks if _pool_disk(m) else sandbox_disks).append(m)
        except OSError:
            sandbox_disks.append(m)
    top = []
    for c in host.cgroup_dirs(d.cgroup_root):
        rel = os.path.relpath(c, os.path.realpath(c[:c.index(d.cgroup_root)] + d.cgroup_root))
        if rel != "." and "/" not in rel:
            top.append(rel)
    top = sorted(set(top))
    uid_procs = host.pids_in_uid_range(*d.uid_range)
    below = descendants(pid) if pid else []
    held_ns = set()
    if pid:
        for n in os.listdir("/proc/%d/fd" % pid) if os.path.isdir("/proc/%d/fd" % pid) else []:
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, n))
            except OSError:
                continue
            if t.startswith("net:["):
                held_ns.add(t)
    fds = fds_of(pid) if pid else {}
    return {
        "sandbox_cgroups": [c for c in top if not c.startswith("pool-")],
        "pool_cgroups": [c for c in top if c.startswith("pool-")],
        "cgroup_dirs": len(host.cgroup_dirs(d.cgroup_root)),
        "sandbox_disks": sandbox_disks,
        "pool_disks": pool_disks,
        "mounts": len(host.mounts_under(d.base)),
        "loop_devices": len(loop_backing_under(d.state)),
        "netns": len(netns_of(uid_procs + below) | held_ns),
        "uid_processes": uid_procs,
        "coved_children": below,
        "fds": sum(fds.values()),
        "fd_kinds": fds,
        "sockets_in_run": sorted(os.listdir(os.path.join(d.state, "run")))
        if os.path.isdir(os.path.join(d.state, "run")) else [],
    }


def census_summary(c):
    """The numbers to compare before and after (lists become counts)."""
    return {k: (len(v) if isinstance(v, list) else v) for k, v in c.items() if k != "fd_kinds"}


def leaks(before, after):
    """Differences that are leaks: anything that belongs to sandboxes must be back to its
    count before the load; the pools must be no larger than before (they refill to a target)
    and must hold as many mounts, loop devices and fds as their size explains."""
    b, a = census_summary(before), census_summary(after)
    out = []
    for k in ("sandbox_cgroups", "sandbox_disks", "uid_processes"):
        if a[k] != b[k]:
            out.append("%s: %d before, %d after (%s)" % (k, b[k], a[k], after[k][:10]))
    for k in ("pool_cgroups", "pool_disks"):
        if a[k] > max(b[k], 1) * 2:
            out.append("%s: %d before, %d after" % (k, b[k], a[k]))
    # What the pools explain: one mount and one loop device per disk, one init (cgroup,
    # process, network namespace, pidfd and 3 pipe ends in coved) per pooled init.
    dpool = a["pool_disks"] - b["pool_disks"]
    dinit = a["pool_cgroups"] - b["pool_cgroups"]
    for k, explained in (("mounts", dpool), ("loop_devices", dpool), ("netns", dinit),
                         ("coved_children", dinit), ("fds", 4 * dinit)):
        if a[k] - b[k] != explained:
            out.append("%s: %d before, %d after (the pools explain %+d)" % (
                k, b[k], a[k], explained))
    if a["sockets_in_run"] - a["pool_cgroups"] != b["sockets_in_run"] - b["pool_cgroups"]:
        out.append("control sockets: %r before, %r after" % (before["sockets_in_run"],
                                                            after["sockets_in_run"]))
    return out


def settle(d, before, limit_s=60.0):
    """Take censuses until nothing leaks compared to before (the pools refill and released
    disks are scrubbed in the background) or limit_s passes. Returns (census, leaks)."""
    deadline = time.monotonic() + limit_s
    while True:
        c = census(d)
        bad = leaks(before, c)
        if not bad or time.monotonic() > deadline:
            return c, bad
        time.sleep(0.5)


def quiet_census(d, limit_s=60.0):
    """A census once the pools are full and steady (two equal consecutive samples)."""
    deadline = time.monotonic() + limit_s
    prev = None
    while True:
        c = census(d)
        s = census_summary(c)
        if prev == s or time.monotonic() > deadline:
            return c
        prev = s
        time.sleep(1.0)


# ---- consistency after a crash ------------------------------------------------------------

def db_rows(d):
    """Sandbox rows, read straight from coved's database (read-only)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.state, "cove.db"), uri=True,
                         timeout=10)
    try:
        cur = db.execute("SELECT id, name, state, uid_slot, disk_slot, init_pid FROM sandboxes")
        return [dict(zip(("id", "name", "state", "uid_slot", "disk_slot", "init_pid"), row))
                for row in cur.fetchall()]
    finally:
        db.close()


def integrity_check(d):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.state, "cove.db"), uri=True,
                         timeout=10)
    try:
        return [r[0] for r in db.execute("PRAGMA integrity_check").fetchall()]
    finally:
        db.close()


def backing_problems(d):
    """Rows without their backing, and backing without a row. Empty when consistent."""
    rows = db_rows(d)
    c = census(d)
    out = []
    ids = {r["id"] for r in rows}
    for r in rows:
        if r["state"] not in ("started", "stopped"):
            out.append("row %s (%s) is in state %s" % (r["id"], r["name"], r["state"]))
        mnt = os.path.join(d.state, "disks", str(r["disk_slot"]))
        if r["disk_slot"] < 0 or mnt not in c["sandbox_disks"]:
            out.append("row %s (%s): disk %d is not mounted with content" % (
                r["id"], r["name"], r["disk_slot"]))
        if r["state"] == "started":
            if r["id"] not in c["sandbox_cgroups"]:
                out.append("row %s (%s) is started but has no cgroup" % (r["id"], r["name"]))
            if r["id"] + ".sock" not in c["sockets_in_run"]:
                out.append("row %s (%s) is started but has no control socket" % (
                    r["id"], r["name"]))
            if not r["init_pid"] or not os.path.exists("/proc/%d" % r["init_pid"]):
                out.append("row %s (%s) is started but its init %s is gone" % (
                    r["id"], r["name"], r["init_pid"]))
    slots = {r["disk_slot"] for r in rows}
    for m in c["sandbox_disks"]:
        if int(os.path.basename(m)) not in slots:
            out.append("disk %s holds data but no row names it" % m)
    disks_dir = os.path.join(d.state, "disks")
    mounted = {int(os.path.basename(m)) for m in c["sandbox_disks"] + c["pool_disks"]}
    for f in sorted(os.listdir(disks_dir)) if os.path.isdir(disks_dir) else []:
        m = re.fullmatch(r"(\d+)\.img", f)
        if m and int(m.group(1)) not in mounted:
            out.append("disk image %s is not mounted (left over)" % f)
    for cg in c["sandbox_cgroups"]:
        if cg not in ids:
            out.append("cgroup %s belongs to no row" % cg)
    for s in c["sockets_in_run"]:
        if not s.startswith("pool-") and s[:-len(".sock")] not in ids:
            out.append("control socket %s belongs to no row" % s)
    uslots = {r["uid_slot"] for r in rows}
    for p in c["uid_processes"]:
        st = host.proc_status(p)
        try:
            uid = int(st["Uid"].split()[0])
        except (KeyError, ValueError, IndexError):
            continue
        if (uid - d.uid_base) // 65536 not in uslots:
            out.append("process %s runs in the uid range of no row" % host.describe_pids([p]))
    return out


def settle_backing(d, limit_s=30.0):
    """backing_problems() until empty or limit_s (disks being made or scrubbed by the pool
    show up briefly as unmounted images)."""
    deadline = time.monotonic() + limit_s
    while True:
        bad = backing_problems(d)
        if not bad or time.monotonic() > deadline:
            return bad
        time.sleep(0.5)


def check_after_restart(d, ledger):
    """Invariants after kill -9 and restart, with the clients paused. Returns (problems,
    facts): every acknowledged sandbox is listed, started and holds its last acknowledged
    upload; every listed sandbox was acknowledged or in flight; the database and the host
    agree (backing_problems)."""
    conn = Conn(d)
    problems, facts = [], {"acked": 0, "in_doubt": 0, "files_checked": 0, "in_doubt_present": 0}
    try:
        status, body = conn.request("GET", "/v1/sandboxes")
        if status != 200:
            return ["list after restart: %d %r" % (status, body[:300])], facts
        listed = {s["name"]: s for s in json.loads(body)["sandboxes"]}
        snap = ledger.snapshot()
        for name, e in sorted(snap.items()):
            if e["deleted"]:
                if name in listed:
                    problems.append("%s was deleted (200) but is listed again" % name)
                continue
            doubtful = e["inflight"] in ("create", "delete")
            if not e["acked"] or doubtful:
                facts["in_doubt"] += 1
                if name in listed:
                    facts["in_doubt_present"] += 1
                    problems += usable(conn, listed[name], None)
                continue
            facts["acked"] += 1
            if name not in listed:
                problems.append("%s (%s) was acknowledged but is gone" % (name, e["id"]))
                continue
            if listed[name]["id"] != e["id"]:
                problems.append("%s has id %s, was %s" % (name, listed[name]["id"], e["id"]))
            # An upload in flight at the kill may or may not have landed: then only the
            # earlier acknowledged state is known, which is "no file" for these clients.
            sha = e["sha"] if e["inflight"] != "upload" else None
            if sha:
                facts["files_checked"] += 1
            problems += usable(conn, listed[name], sha)
        for name in listed:
            if name not in snap:
                problems.append("%s is listed but no client created it" % name)
    finally:
        conn.close()
    problems += settle_backing(d)
    ic = integrity_check(d)
    if ic != ["ok"]:
        problems.append("PRAGMA integrity_check: %r" % ic[:5])
    return problems, facts


def usable(conn, sb, sha):
    """A restored sandbox must be started, run a command and (sha) hold its file."""
    out = []
    if sb["state"] != "started":
        return ["%s is %s after the restart (want started)" % (sb["name"], sb["state"])]
    status, body = conn.request("POST", "/v1/sandboxes/%s/exec" % q(sb["id"]),
                                body={"cmd": ["echo", "alive"], "timeout": 30})
    if status != 200 or json.loads(body).get("stdout") != "alive\n":
        out.append("%s: exec after restart: %d %r" % (sb["name"], status, body[:300]))
    if sha:
        status, body = conn.request("GET", "/v1/sandboxes/%s/files/content" % q(sb["id"]),
                                    query={"path": FILE_PATH})
        if status != 200:
            out.append("%s: download after restart: %d %r" % (sb["name"], status, body[:300]))
        elif hashlib.sha256(body).hexdigest() != sha:
            out.append("%s: file after restart differs from the acknowledged upload" % sb["name"])
    return out


def resolve_in_doubt(d, ledger):
    """After a restart: delete every sandbox a client may have left behind (creates and
    deletes that were in flight, cycles cut short). Returns the problems seen."""
    conn = Conn(d)
    out = []
    try:
        status, body = conn.request("GET", "/v1/sandboxes")
        if status != 200:
            return ["list: %d %r" % (status, body[:300])]
        for sb in json.loads(body)["sandboxes"]:
            status, body = conn.request("DELETE", "/v1/sandboxes/%s" % q(sb["id"]))
            if status not in (200, 404):
                out.append("delete %s: %d %r" % (sb["name"], status, body[:300]))
            else:
                ledger.set(sb["name"], deleted=True, inflight=None)
    finally:
        conn.close()
    return out

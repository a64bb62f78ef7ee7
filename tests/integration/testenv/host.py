"""Host-side views used for leak accounting: processes by uid, mounts, cgroups."""
import os
import shutil
import signal

CGROUP_FS = "/sys/fs/cgroup"


def cgroup_version():
    """'v2' when /sys/fs/cgroup is a unified hierarchy, else 'v1'."""
    # cgroup2 has cgroup.controllers at its root; v1 has per-controller directories.
    if os.path.exists(os.path.join(CGROUP_FS, "cgroup.controllers")):
        return "v2"
    return "v1"


def proc_status(pid):
    """Fields of /proc/PID/status as a dict of strings ({} if the process is gone)."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        return {}
    return out


def _proc_uid(pid):
    try:
        return int(proc_status(pid)["Uid"].split()[0])  # real uid
    except (KeyError, ValueError, IndexError):
        return None


def pids_in_uid_range(lo, hi, orphan_zombies=False):
    """PIDs (host view) whose real uid is in [lo, hi).

    Zombies whose parent is the host's PID 1 are left out unless orphan_zombies: they hold
    nothing but a pid, and reaping them is PID 1's job (some container inits are slow at
    it); a zombie whose parent is coved is counted, since then coved is not reaping."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_status(int(name))
        try:
            uid = int(st["Uid"].split()[0])
        except (KeyError, ValueError, IndexError):
            continue
        if not lo <= uid < hi:
            continue
        if not orphan_zombies and st.get("State", "").startswith("Z") and \
                st.get("PPid") == "1":
            continue
        out.append(int(name))
    return sorted(out)


def describe_pids(pids, limit=20):
    parts = []
    for pid in pids[:limit]:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            cmd = "?"
        st = proc_status(pid)
        parts.append("%d(uid %s, state %s, ppid %s: %s)" % (
            pid, st.get("Uid", "?").split()[0] if st else "?", st.get("State", "?"),
            st.get("PPid", "?"), cmd[:80]))
    if len(pids) > limit:
        parts.append("... %d more" % (len(pids) - limit))
    return ", ".join(parts)


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _unescape_mountinfo(s):
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 4 <= len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def mounts():
    """List of (mount_point, fstype, source) from /proc/self/mountinfo."""
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            res.append((_unescape_mountinfo(fields[4]), fields[sep + 1],
                        _unescape_mountinfo(fields[sep + 2])))
    return res


def mounts_under(path):
    """Mount points at or below path, deepest first (the order to unmount them)."""
    path = os.path.realpath(path).rstrip("/")
    found = [m for m, _, _ in mounts() if m == path or m.startswith(path + "/")]
    return sorted(set(found), key=lambda m: (-m.count("/"), m))


def loop_mounts_under(path):
    path = os.path.realpath(path).rstrip("/")
    return sorted(m for m, _, src in mounts()
                  if (m == path or m.startswith(path + "/")) and src.startswith("/dev/loop"))


def cgroup_dirs(root_name):
    """Every cgroup directory at or below <hierarchy>/<root_name>, over all hierarchies
    (v1: one per controller mount, deduplicated through realpath; v2: the one tree)."""
    tops = []
    if cgroup_version() == "v2":
        tops.append(os.path.join(CGROUP_FS, root_name))
    else:
        for ctrl in sorted(os.listdir(CGROUP_FS)):
            tops.append(os.path.join(CGROUP_FS, ctrl, root_name))
    seen, out = set(), []
    for top in tops:
        real = os.path.realpath(top)
        if real in seen or not os.path.isdir(real):
            continue
        seen.add(real)
        for dirpath, _dirnames, _files in os.walk(real):
            out.append(dirpath)
    return sorted(out)


def remove_cgroup_tree(root_name):
    """rmdir every (empty) cgroup below and including root_name, deepest first."""
    for d in sorted(cgroup_dirs(root_name), key=lambda p: -p.count("/")):
        try:
            os.rmdir(d)
        except OSError:
            pass


def have_tool(name):
    """True if the host /usr provides the program (sandboxes see the host's /usr)."""
    return any(os.access(os.path.join(d, name), os.X_OK)
               for d in ("/usr/bin", "/usr/sbin", "/bin", "/sbin"))


def which(name):
    return shutil.which(name)

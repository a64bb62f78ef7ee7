"""The files API: content up/download, multipart upload, list, stat, mkdir, delete, move,
and path confinement (.., absolute paths, planted symlinks, /proc /dev /sys, FIFOs)."""
import hashlib
import os
import posixpath
import re

import pytest

from testenv import check_error_body, expect, multipart

HOME = "/home/cove"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def same_path(got, want_abs):
    """Answers name paths; accept the resolved absolute form or the form we sent when
    it was relative to the home directory."""
    rel = want_abs[len(HOME) + 1:] if want_abs.startswith(HOME + "/") else None
    return got == want_abs or (rel is not None and got == rel)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def inside_sha(api, sb, path):
    res = api.exec(sb, "sha256sum", path)
    assert res["exit_code"] == 0, res
    return res["stdout"].split()[0]


@pytest.fixture(scope="module")
def sb(module_sandbox):
    return module_sandbox["name"]


def check_entry(e):
    for f in ("name", "path", "type", "size", "mode", "mtime", "uid", "gid"):
        assert f in e, "entry lacks %r: %r" % (f, e)
    assert e["type"] in ("file", "dir", "symlink", "other"), e
    assert re.fullmatch(r"0[0-7]{3,4}", e["mode"]), e
    assert ISO.match(e["mtime"]), e
    assert isinstance(e["size"], int) and e["size"] >= 0, e


def test_put_get_roundtrip_binary(api, sb):
    data = bytes(range(256)) * 256 + os.urandom(4099)
    r = api.file_put(sb, "bin.dat", data)
    body = expect(r, 200)
    assert same_path(body["path"], HOME + "/bin.dat"), body
    assert body["size"] == len(data)
    r = api.file_get(sb, "bin.dat")
    expect(r, 200)
    assert r.headers.get("Content-Type", "").startswith("application/octet-stream"), r.headers
    assert r.raw == data
    assert inside_sha(api, sb, HOME + "/bin.dat") == sha(data)
    # The absolute path names the same file.
    assert api.file_get(sb, HOME + "/bin.dat").raw == data


def test_put_empty_file(api, sb):
    body = expect(api.file_put(sb, "empty.dat", b""), 200)
    assert body["size"] == 0
    r = api.file_get(sb, "empty.dat")
    expect(r, 200)
    assert r.raw == b""
    assert api.sh(sb, "stat -c %s empty.dat") == "0\n"


def test_put_5_mib_and_overwrite(api, sb):
    data = os.urandom(5 << 20)
    assert expect(api.file_put(sb, "five.bin", data, timeout=120), 200)["size"] == len(data)
    got = api.file_get(sb, "five.bin", timeout=120)
    assert sha(got.raw) == sha(data) and len(got.raw) == len(data)
    assert inside_sha(api, sb, "five.bin") == sha(data)
    # Overwriting replaces (and truncates) the file.
    assert expect(api.file_put(sb, "five.bin", b"short"), 200)["size"] == 5
    assert api.file_get(sb, "five.bin").raw == b"short"


def test_put_chunked(api, sb):
    pieces = [os.urandom(n) for n in (1, 7, 65536, 3, 100000, 1)]
    r = api.file_put(sb, "chunked.bin", iter(pieces), chunked=True)
    data = b"".join(pieces)
    assert expect(r, 200)["size"] == len(data)
    assert api.file_get(sb, "chunked.bin").raw == data


def test_put_creates_parents_owned_by_user(api, sb):
    expect(api.file_put(sb, "deep/a/b/c.txt", b"deep\n"), 200)
    assert api.sh(sb, "cat /home/cove/deep/a/b/c.txt") == "deep\n"
    own = api.sh(sb, "stat -c '%u:%g' deep deep/a deep/a/b deep/a/b/c.txt").split()
    assert own == ["1000:1000"] * 4, own
    st = expect(api.file_stat(sb, "deep/a"), 200)
    check_entry(st)
    assert st["type"] == "dir" and st["uid"] == 1000 and st["gid"] == 1000, st


def test_put_with_mode(api, sb):
    expect(api.file_put(sb, "run.sh", b"#!/bin/sh\necho ran\n", mode="755"), 200)
    st = expect(api.file_stat(sb, "run.sh"), 200)
    assert st["mode"] == "0755", st
    assert api.exec(sb, HOME + "/run.sh")["stdout"] == "ran\n"
    expect(api.file_put(sb, "priv.txt", b"x", mode="600"), 200)
    assert api.sh(sb, "stat -c %a priv.txt") == "600\n"
    for bad in ("999", "abc", "-1", "77777"):
        r = api.file_put(sb, "badmode.txt", b"x", mode=bad)
        expect(r, 400)


def test_multipart_upload(api, sb):
    a, b = os.urandom(70000), "ünïcode text\n".encode()
    body, ctype = multipart([
        ("file", "a.bin", a, "application/octet-stream"),
        ("note", None, b"not a file", None),
        ("file", "b.txt", b, "text/plain"),
    ])
    r = api.request("POST", "/v1/sandboxes/%s/files/upload" % sb, raw=body,
                    content_type=ctype, query={"dir": "up/load"})
    res = expect(r, 200)
    files = sorted(res["files"], key=lambda f: f["path"])
    assert len(files) == 2, res
    assert same_path(files[0]["path"], HOME + "/up/load/a.bin") and files[0]["size"] == len(a)
    assert same_path(files[1]["path"], HOME + "/up/load/b.txt") and files[1]["size"] == len(b)
    assert api.file_get(sb, "up/load/a.bin").raw == a
    assert api.file_get(sb, HOME + "/up/load/b.txt").raw == b
    assert api.sh(sb, "ls up/load") == "a.bin\nb.txt\n"
    assert api.sh(sb, "stat -c '%u' up up/load up/load/a.bin") == "1000\n1000\n1000\n"


def test_multipart_bad_body_is_400(api, sb):
    r = api.request("POST", "/v1/sandboxes/%s/files/upload" % sb, raw=b"garbage",
                    content_type="multipart/form-data; boundary=xyz", query={"dir": "mp"})
    assert 400 <= r.status < 500, r


def test_list_and_stat(api, make_sandbox):
    s = make_sandbox()["name"]
    api.sh(s, "mkdir -p L/c && printf bb > L/b.txt && printf a > L/a.txt && "
              "ln -s a.txt L/link && chmod 640 L/b.txt")
    r = api.file_list(s, "L")
    body = expect(r, 200)
    assert same_path(body["path"], HOME + "/L"), body
    names = [e["name"] for e in body["entries"]]
    assert names == ["a.txt", "b.txt", "c", "link"], names
    for e in body["entries"]:
        check_entry(e)
        assert same_path(e["path"], HOME + "/L/" + e["name"]), e
        assert e["uid"] == 1000 and e["gid"] == 1000, e
    by = {e["name"]: e for e in body["entries"]}
    assert by["a.txt"]["type"] == "file" and by["a.txt"]["size"] == 1
    assert by["b.txt"]["size"] == 2 and by["b.txt"]["mode"] == "0640"
    assert by["c"]["type"] == "dir"
    assert by["link"]["type"] == "symlink"
    st = expect(api.file_stat(s, "L/b.txt"), 200)
    check_entry(st)
    assert st["name"] == "b.txt" and st["type"] == "file" and st["size"] == 2
    assert expect(api.file_stat(s, "L/link"), 200)["type"] == "symlink"
    assert expect(api.file_stat(s, HOME), 200)["type"] == "dir"
    expect(api.file_list(s, "no-such-dir"), 404, "FILE_NOT_FOUND")
    expect(api.file_stat(s, "no-such-file"), 404, "FILE_NOT_FOUND")
    r = api.file_list(s, "L/a.txt")
    assert r.status in (400, 200), r  # listing a file: an error or just that file
    if r.status == 200:
        assert [e["name"] for e in r.body["entries"]] == ["a.txt"], r


def test_list_root_and_home_default(api, sb):
    names = [e["name"] for e in expect(api.file_list(sb, "/"), 200)["entries"]]
    for n in ("etc", "home", "tmp", "usr"):
        assert n in names, names
    assert names == sorted(names)


def test_mkdir(api, sb):
    e = expect(api.file_mkdir(sb, path="nd/x/y"), 200)
    check_entry(e)
    assert e["type"] == "dir" and e["name"] == "y" and same_path(e["path"], HOME + "/nd/x/y")
    assert e["uid"] == 1000, e
    assert api.sh(sb, "test -d /home/cove/nd/x/y && stat -c '%u' nd nd/x") == "1000\n1000\n"
    e = expect(api.file_mkdir(sb, path="m700", mode="700"), 200)
    assert e["mode"] == "0700", e
    assert api.sh(sb, "stat -c %a m700") == "700\n"
    r = api.file_mkdir(sb, path="nope/deeper", parents=False)
    assert r.status in (400, 404), r
    assert api.exec(sb, "test", "-e", "nope")["exit_code"] == 1
    expect(api.file_put(sb, "afile", b"x"), 200)
    r = api.file_mkdir(sb, path="afile")
    expect(r, 409, "FILE_EXISTS")
    check_error_body(r)
    for bad in ({}, {"path": 5}, {"path": "q", "mode": 755}, {"path": "q", "bogus": 1}):
        expect(api.file_mkdir(sb, **bad), 400)


def test_delete(api, sb):
    expect(api.file_put(sb, "del/one.txt", b"1"), 200)
    expect(api.file_put(sb, "del/sub/two.txt", b"2"), 200)
    expect(api.file_mkdir(sb, path="del/emptydir"), 200)
    body = expect(api.file_delete(sb, "del/one.txt"), 200)
    assert body["deleted"] is True and same_path(body["path"], HOME + "/del/one.txt"), body
    expect(api.file_stat(sb, "del/one.txt"), 404, "FILE_NOT_FOUND")
    r = api.file_delete(sb, "del")
    expect(r, 409)
    check_error_body(r)
    expect(api.file_delete(sb, "del", recursive=False), 409)
    assert api.file_get(sb, "del/sub/two.txt").raw == b"2", "a refused delete removed files"
    expect(api.file_delete(sb, "del/emptydir"), 200)
    expect(api.file_delete(sb, "del", recursive=True), 200)
    assert api.exec(sb, "test", "-e", "/home/cove/del")["exit_code"] == 1
    expect(api.file_delete(sb, "del"), 404, "FILE_NOT_FOUND")


def test_move(api, sb):
    expect(api.file_put(sb, "mv/a.txt", b"AAA"), 200)
    expect(api.file_put(sb, "mv/b.txt", b"BBB"), 200)
    e = expect(api.file_move(sb, **{"from": "mv/a.txt", "to": "mv/c.txt"}), 200)
    check_entry(e)
    assert e["name"] == "c.txt" and same_path(e["path"], HOME + "/mv/c.txt") and e["size"] == 3
    expect(api.file_stat(sb, "mv/a.txt"), 404, "FILE_NOT_FOUND")
    assert api.file_get(sb, "mv/c.txt").raw == b"AAA"
    r = api.file_move(sb, **{"from": "mv/c.txt", "to": "mv/b.txt"})
    expect(r, 409, "FILE_EXISTS")
    check_error_body(r)
    r = api.file_move(sb, **{"from": "mv/c.txt", "to": "mv/b.txt", "overwrite": False})
    expect(r, 409, "FILE_EXISTS")
    assert api.file_get(sb, "mv/b.txt").raw == b"BBB"
    assert api.file_get(sb, "mv/c.txt").raw == b"AAA"
    expect(api.file_move(sb, **{"from": "mv/c.txt", "to": "mv/b.txt", "overwrite": True}), 200)
    assert api.file_get(sb, "mv/b.txt").raw == b"AAA"
    expect(api.file_stat(sb, "mv/c.txt"), 404)
    # Directories move with their contents, to new parents too.
    e = expect(api.file_move(sb, **{"from": "mv", "to": "/tmp/moved-mv"}), 200)
    assert e["type"] == "dir"
    assert api.sh(sb, "cat /tmp/moved-mv/b.txt") == "AAA"
    expect(api.file_move(sb, **{"from": "no-such", "to": "x"}), 404, "FILE_NOT_FOUND")


def test_relative_paths_resolve_against_home(api, sb):
    expect(api.file_put(sb, "rel/x.txt", b"relative"), 200)
    assert api.sh(sb, "cat /home/cove/rel/x.txt") == "relative"
    assert api.file_get(sb, "./rel/../rel/x.txt").raw == b"relative"


def answer_path_ok(got, sent, inside):
    """The answer may name the resolved path, the path as sent, or its lexical
    normalisation against the home directory; where the file lands is checked apart."""
    lexical = posixpath.normpath(posixpath.join(HOME, sent))
    if lexical.startswith("//"):
        lexical = "/" + lexical.lstrip("/")
    return got in (inside, sent, lexical)


def test_dotdot_and_absolute_tricks_stay_inside(daemon, api, sb):
    tag = os.urandom(4).hex()
    cases = [
        ("../../../../tmp/x-" + tag, "/tmp/x-" + tag),
        ("/../../../tmp/y-" + tag, "/tmp/y-" + tag),
        ("/tmp/../../../../../../var/tmp/z-" + tag, "/var/tmp/z-" + tag),
        ("//tmp//./w-" + tag, "/tmp/w-" + tag),
        ("../../../../home/cove/../../../var/tmp/v-" + tag, "/var/tmp/v-" + tag),
    ]
    for sent, inside in cases:
        data = ("%s via %s" % (inside, sent)).encode()
        r = api.file_put(sb, sent, data)
        assert not os.path.exists(inside), "upload of %r landed on the host at %s" % (
            sent, inside)
        body = expect(r, 200)
        assert answer_path_ok(body["path"], sent, inside), (sent, body)
        assert api.sh(sb, "cat %s" % inside) == data.decode()
        assert api.file_get(sb, inside).raw == data
    passwd = api.file_get(sb, "../../../../../etc/passwd")
    expect(passwd, 200)
    assert b"cove:x:1000" in passwd.raw
    with open("/etc/passwd", "rb") as f:
        assert passwd.raw != f.read()


def test_dotdot_upload_to_etc_stays_inside_with_user_permissions(api, sb):
    # ".." never leaves the sandbox root, and file operations act as the sandbox user
    # (API.md), who may not write /etc: 403, and nothing lands anywhere.
    tag = os.urandom(4).hex()
    sent, inside = "../../../../etc/x-" + tag, "/etc/x-" + tag
    r = api.file_put(sb, sent, b"in sandbox etc\n")
    assert not os.path.exists(inside), "upload landed on the host at %s" % inside
    expect(r, 403, "FORBIDDEN")
    assert inside in r.body["message"], r.body
    assert api.sh(sb, "test -e %s && echo yes || echo no" % inside) == "no\n"


@pytest.fixture
def planted(daemon, api, make_sandbox):
    s = make_sandbox()["name"]
    secret = os.path.join(daemon.base, "host-secret-%s.txt" % os.urandom(3).hex())
    with open(secret, "w") as f:
        f.write("HOST-SECRET-CONTENT\n")
    os.chmod(secret, 0o644)
    api.sh(s, "ln -s /etc/passwd leak && ln -s / rootlink && ln -s ../../.. up && "
              "ln -s /etc etclink && ln -s /tmp tmplink && ln -s %s hostlink && ln -s /proc/self pself && "
              "ln -s %s hostdir && ln -s /dev/zero zerolink" % (secret, daemon.base))
    yield s, secret
    os.unlink(secret)


def test_symlink_to_etc_passwd_serves_sandbox_file(api, planted):
    s, _ = planted
    r = api.file_get(s, "leak")
    expect(r, 200)
    assert b"cove:x:1000:1000" in r.raw, r
    with open("/etc/passwd", "rb") as f:
        host = f.read()
    assert r.raw != host
    assert r.raw == api.exec(s, "cat", "/etc/passwd")["stdout"].encode()
    assert api.file_get(s, "rootlink/etc/passwd").raw == r.raw
    assert api.file_get(s, "up/etc/passwd").raw == r.raw


def test_symlink_to_host_path_does_not_reach_host(api, planted):
    s, secret = planted
    for p in ("hostlink", "hostdir/" + os.path.basename(secret)):
        r = api.file_get(s, p)
        assert b"HOST-SECRET" not in r.raw, "host file served through %s: %s" % (p, r)
        expect(r, 404, "FILE_NOT_FOUND")


def test_upload_through_symlinks_stays_inside(daemon, api, planted):
    s, secret = planted
    tag = os.urandom(4).hex()
    for sent, inside in (("rootlink/tmp/through-" + tag, "/tmp/through-" + tag),
                         ("up/var/tmp/up-" + tag, "/var/tmp/up-" + tag),
                         ("tmplink/tl-" + tag, "/tmp/tl-" + tag)):
        r = api.file_put(s, sent, b"inside")
        assert not os.path.exists(inside), "%r was written on the host" % inside
        body = expect(r, 200)
        assert answer_path_ok(body["path"], sent, inside), (sent, body)
        assert api.sh(s, "cat " + inside) == "inside"
    r = api.file_put(s, "hostlink", b"OVERWRITTEN")
    with open(secret) as f:
        assert f.read() == "HOST-SECRET-CONTENT\n", "host file overwritten via symlink: %s" % r
    r = api.file_put(s, "hostdir/planted-" + tag, b"x")
    assert not os.path.exists(os.path.join(daemon.base, "planted-" + tag)), r


def test_delete_symlink_removes_only_the_link(api, planted):
    s, secret = planted
    for link, target in (("leak", "/etc/passwd"), ("rootlink", "/etc/passwd"),
                         ("etclink", "/etc/passwd"), ("hostlink", None)):
        body = expect(api.file_delete(s, link), 200)
        assert body["deleted"] is True
        assert api.exec(s, "test", "-L", "/home/cove/" + link)["exit_code"] == 1, link
        if target:
            assert api.exec(s, "test", "-f", target)["exit_code"] == 0, \
                "deleting %s removed %s" % (link, target)
    assert os.path.exists(secret)
    assert api.exec(s, "test", "-x", "/usr/bin/env")["exit_code"] == 0


@pytest.mark.parametrize("path", [
    "/proc/self/environ", "/proc/1/environ", "/proc/../proc/self/status", "//proc/self/maps",
    "/dev/null", "/dev/zero", "/dev/shm", "/sys/kernel/notes", "/sys",
    "../../../../proc/self/environ",
])
def test_proc_dev_sys_refused(api, sb, path):
    for r in (api.file_get(sb, path, limit=1 << 20, timeout=30), api.file_stat(sb, path),
              api.file_list(sb, path)):
        expect(r, 400, "INVALID_PATH")
        check_error_body(r)
    expect(api.file_put(sb, path, b"x"), 400, "INVALID_PATH")
    expect(api.file_delete(sb, path, recursive=True), 400, "INVALID_PATH")


def test_symlinks_into_proc_and_dev_refused(api, planted):
    s, _ = planted
    for p in ("pself/environ", "pself/status", "zerolink", "rootlink/proc/1/environ"):
        r = api.file_get(s, p, timeout=30, limit=1 << 20)
        assert r.status in (400, 404), "%s served: %s" % (p, r)
        assert b"PATH=" not in r.raw and b"\0\0\0\0" not in r.raw, r


def test_fifo_and_socket_refused(api, sb):
    code = ("import socket, os\n"
            "os.mkfifo('/home/cove/fifo')\n"
            "s = socket.socket(socket.AF_UNIX); s.bind('/home/cove/sock')\n")
    assert api.exec(sb, "python3", "-c", code)["exit_code"] == 0
    for p in ("fifo", "sock"):
        r = api.file_get(sb, p, timeout=30, limit=1 << 20)
        expect(r, 400)
        r = api.file_put(sb, p, b"data", timeout=30)
        expect(r, 400)
        st = api.file_stat(sb, p)
        if st.status == 200:
            assert st.body["type"] == "other", st


def test_missing_and_directory_downloads(api, sb):
    r = api.file_get(sb, "no/such/file.txt")
    expect(r, 404, "FILE_NOT_FOUND")
    check_error_body(r)
    r = api.file_get(sb, HOME)
    expect(r, 400)
    check_error_body(r)


@pytest.mark.parametrize("query", ["", "?path=", "?dir=x"])
def test_missing_path_parameter_is_400(api, sb, query):
    r = api.get("/v1/sandboxes/%s/files/content%s" % (sb, query))
    expect(r, 400)

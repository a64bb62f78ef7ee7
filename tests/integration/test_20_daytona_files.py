"""Daytona-compatible toolbox file routes over raw HTTP (docs/daytona-compat.md, "Files").

Multipart edge cases both SDKs produce (chunked bodies, Python's all-paths-first order,
aiohttp's percent-encoded filenames, non-ASCII names, empty files), the download format the
SDK parsers demand (multipart/form-data in lower case, no preamble, closing delimiter,
per-file error parts, filename echoed exactly, filename* for non-ASCII), and the strict
FileInfo / match / replace shapes of the Python SDK.
"""
import json
import re
import urllib.parse

import pytest

from testenv import expect

PY = {"X-Daytona-Source": "sdk-python", "X-Daytona-SDK-Version": "0.190.0"}


def tb(sb, path):
    return "/toolbox/%s%s" % (sb["id"], path)


def form(parts, boundary="b0undaryXYZ"):
    """parts: [(name, filename or None, bytes)] -> (body, content type)."""
    out = bytearray()
    for name, filename, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        disp = b'Content-Disposition: form-data; name="' + name.encode() + b'"'
        if filename is not None:
            disp += b'; filename="' + filename.encode() + b'"'
        out += disp + b"\r\n"
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return bytes(out), "multipart/form-data; boundary=" + boundary


def upload(api, sb, parts, chunked=False):
    body, ctype = form(parts)
    raw = body
    if chunked:  # arbitrary chunk boundaries, as node's form-data streams
        raw = iter([body[i:i + 7] for i in range(0, len(body), 7)])
    return api.request("POST", tb(sb, "/files/bulk-upload"), raw=raw, content_type=ctype,
                       chunked=chunked, headers=PY)


def download(api, sb, paths):
    r = api.request("POST", tb(sb, "/files/bulk-download"),
                    raw=json.dumps({"paths": paths}).encode(), content_type="application/json",
                    headers=dict(PY, Accept="multipart/form-data"))
    assert r.status == 200, r
    return r


def parse_parts(r):
    """Strict parse of a download answer: [(headers dict, body bytes)]."""
    ctype = r.headers["Content-Type"]
    m = re.fullmatch(r"multipart/form-data; boundary=([A-Za-z0-9'()+_,./:=?-]+)", ctype)
    assert m, "content type %r" % ctype
    delim = b"--" + m.group(1).encode()
    raw = r.raw
    assert raw.startswith(delim + b"\r\n"), "preamble before the first delimiter"
    assert raw.endswith(b"\r\n" + delim + b"--\r\n"), "no closing delimiter"
    parts = []
    for chunk in raw[len(delim) + 2:-(len(delim) + 6)].split(b"\r\n" + delim + b"\r\n"):
        head, _, body = chunk.partition(b"\r\n\r\n")
        hdrs = {}
        for line in head.decode("utf-8").split("\r\n"):
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        parts.append((hdrs, body))
    return parts


def disposition(hdrs):
    d = hdrs["content-disposition"]
    name = re.search(r'name="([^"]*)"', d).group(1)
    star = re.search(r"filename\*=utf-8''([^;]*)", d)
    plain = re.search(r'filename="((?:[^"\\]|\\.)*)"', d).group(1)
    plain = re.sub(r"\\(.)", r"\1", plain)
    # python-multipart >= 0.0.30: the plain filename, UTF-8 decoded, re-encoded as Latin-1
    py_new = plain.encode("latin-1", "replace").decode("utf-8", "replace")
    return name, (urllib.parse.unquote(star.group(1)) if star else plain), py_new


@pytest.mark.parametrize("chunked", [False, True])
def test_bulk_upload_interleaved_and_paths_first(api, module_sandbox, chunked):
    sb = module_sandbox
    tag = "c" if chunked else "p"
    # TypeScript order: path, file, path, file
    r = upload(api, sb, [("files[0].path", None, ("up%s/a.txt" % tag).encode()),
                         ("files[0].file", "ignored-name", b"AAA"),
                         ("files[1].path", None, ("/tmp/up%s/deep/b.bin" % tag).encode()),
                         ("files[1].file", "x", bytes(range(256)) * 40)], chunked=chunked)
    got = expect(r, 200)
    assert [f["path"] for f in got["files"]] == ["/home/cove/up%s/a.txt" % tag,
                                                "/tmp/up%s/deep/b.bin" % tag]
    # Python (httpx) order: every path first, then every file; filename with %22
    r = upload(api, sb, [("files[0].path", None, "  up%s/é 日本.txt ".encode() % tag.encode()),
                         ("files[1].path", None, ("up%s/empty" % tag).encode()),
                         ("files[0].file", "up%22x", "ünï".encode()),
                         ("files[1].file", "%2Fhome%2Fcove%2Fe", b"")], chunked=chunked)
    expect(r, 200)
    parts = parse_parts(download(api, sb, ["up%s/é 日本.txt" % tag, "up%s/empty" % tag,
                                           "/tmp/up%s/deep/b.bin" % tag]))
    assert [p[1] for p in parts] == ["ünï".encode(), b"", bytes(range(256)) * 40]


def test_bulk_upload_failures_are_400_with_errors(api, module_sandbox):
    r = upload(api, module_sandbox, [("files[0].path", None, b"/proc/x"),
                                     ("files[0].file", "x", b"1"),
                                     ("files[1].path", None, b"ok-after-error.txt"),
                                     ("files[1].file", "y", b"2")])
    assert r.status == 400, r
    assert r.body["errors"] and "/proc/x" in r.body["errors"][0]
    assert [f["path"] for f in r.body["files"]] == ["/home/cove/ok-after-error.txt"]
    r = api.request("POST", tb(module_sandbox, "/files/bulk-upload"), raw=b"x",
                    content_type="text/plain", headers=PY)
    assert r.status == 400


def test_bulk_download_parts_names_and_errors(api, module_sandbox):
    sb = module_sandbox
    expect(upload(api, sb, [("files[0].path", None, "dl/héllo wörld.txt".encode()),
                            ("files[0].file", "f", b"hi"),
                            ("files[1].path", None, b'dl/q"uote.txt'),
                            ("files[1].file", "f", b"q")]), 200)
    req = ["dl/héllo wörld.txt", "/home/cove/dl/q\"uote.txt", "dl/missing", "dl", "", "/proc/1"]
    parts = parse_parts(download(api, sb, req))
    assert len(parts) == len(req)
    by_name = {}
    for hdrs, body in parts:
        name, fname, py_new = disposition(hdrs)
        by_name[fname] = (name, hdrs, body, py_new)
    ok = by_name["dl/héllo wörld.txt"]
    assert ok[0] == "file" and ok[2] == b"hi" and ok[1]["content-length"] == "2"
    assert ok[3] == "dl/héllo wörld.txt", "plain filename must decode back for python-multipart"
    assert by_name['/home/cove/dl/q"uote.txt'][2] == b"q"
    for path, status, code in (("dl/missing", 404, "FILE_NOT_FOUND"),
                               ("dl", 400, "INVALID_FILE_PATH"), ("", 400, "INVALID_FILE_PATH"),
                               ("/proc/1", 400, "INVALID_FILE_PATH")):
        name, hdrs, body, _ = by_name[path]
        assert name == "error" and "application/json" in hdrs["content-type"], path
        e = json.loads(body)
        assert (e["statusCode"], e["code"], e["source"]) == (status, code, "DAYTONA_DAEMON")
        assert isinstance(e["message"], str) and e["message"]


def test_single_file_upload_and_download(api, module_sandbox):
    body, ctype = form([("file", "file", b"legacy bytes")])
    r = api.request("POST", tb(module_sandbox, "/toolbox/files/upload"), raw=body,
                    content_type=ctype, query={"path": "legacy/l.txt"}, headers=PY)
    expect(r, 200)
    r = api.request("GET", tb(module_sandbox, "/files/download"),
                    query={"path": "legacy/l.txt"}, headers=PY)
    assert r.status == 200 and r.raw == b"legacy bytes"
    r = api.request("GET", tb(module_sandbox, "/files/download"), query={"path": "nope"},
                    headers=PY)
    assert r.status == 404 and r.body["code"] == "FILE_NOT_FOUND"


FILEINFO = {"name": str, "isDir": bool, "size": int, "mode": str, "permissions": str,
            "owner": str, "group": str, "modTime": str, "modifiedAt": str, "path": str}


def check_fileinfo(f):
    for k, t in FILEINFO.items():
        assert isinstance(f[k], t) and (t is not int or not isinstance(f[k], bool)), (k, f)


def test_fs_routes_status_codes_and_shapes(api, module_sandbox):
    sb = module_sandbox
    assert api.request("POST", tb(sb, "/files/folder"), query={"path": "fs/a/b", "mode": "700"},
                       headers=PY).status == 201
    expect(upload(api, sb, [("files[0].path", None, b"fs/a/b/f.txt"),
                            ("files[0].file", "f", b"line one\nfind me here\n")]), 200)
    lst = expect(api.request("GET", tb(sb, "/files"), query={"path": "fs/a"}, headers=PY), 200)
    assert len(lst) == 1
    check_fileinfo(lst[0])
    assert (lst[0]["mode"], lst[0]["permissions"], lst[0]["isDir"]) == ("drwx------", "0700",
                                                                        True)
    home = expect(api.request("GET", tb(sb, "/files"), headers=PY), 200)
    assert "fs" in [f["name"] for f in home]
    info = expect(api.request("GET", tb(sb, "/files/info"),
                              query={"path": "fs/a/b/f.txt"}, headers=PY), 200)
    check_fileinfo(info)
    assert (info["size"], info["owner"], info["mode"]) == (22, "cove", "-rw-r--r--")
    found = expect(api.request("GET", tb(sb, "/files/find"),
                               query={"path": "/home/cove/fs", "pattern": "find me"},
                               headers=PY), 200)
    assert found == [{"file": "/home/cove/fs/a/b/f.txt", "line": 2, "content": "find me here"}]
    s = expect(api.request("GET", tb(sb, "/files/search"),
                           query={"path": "fs", "pattern": "a/**/*.{txt,md}"}, headers=PY), 200)
    assert s == {"files": ["fs/a/b/f.txt"]}
    rep = expect(api.request("POST", tb(sb, "/files/replace"), body={
        "files": ["fs/a/b/f.txt", "fs/none"], "newValue": "", "pattern": "one"}, headers=PY), 200)
    assert rep[0] == {"file": "fs/a/b/f.txt", "success": True}
    assert rep[1]["success"] is False and isinstance(rep[1]["error"], str)
    r = api.request("POST", tb(sb, "/files/move"),
                    query={"source": "fs/a/b/f.txt", "destination": "fs/g.txt"}, headers=PY)
    assert 200 <= r.status < 300, r
    r = api.request("POST", tb(sb, "/files/permissions"),
                    query={"path": "fs/g.txt", "mode": "600", "owner": "cove"}, headers=PY)
    assert 200 <= r.status < 300, r
    info = expect(api.request("GET", tb(sb, "/files/info"), query={"path": "fs/g.txt"},
                              headers=PY), 200)
    assert (info["permissions"], info["size"]) == ("0600", 19)
    r = api.request("POST", tb(sb, "/files/permissions"),
                    query={"path": "fs/g.txt", "group": "root"}, headers=PY)
    assert r.status == 403 and r.body["code"] == "FILE_ACCESS_DENIED"
    r = api.request("DELETE", tb(sb, "/files"), query={"path": "fs", "recursive": "false"},
                    headers=PY)
    assert r.status == 409, r
    r = api.request("DELETE", tb(sb, "/files"), query={"path": "fs", "recursive": "true"},
                    headers=PY)
    assert r.status == 204, r
    r = api.request("GET", tb(sb, "/files/info"), query={"path": "fs"}, headers=PY)
    assert r.status == 404 and r.body["code"] == "FILE_NOT_FOUND"
    assert r.body["source"] == "DAYTONA_DAEMON"

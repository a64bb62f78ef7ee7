"""Daytona-compatible control plane and process toolbox, over raw HTTP (docs/daytona-compat.md).

The TypeScript SDK runs against coved in tests/compat; these tests pin the wire rules that the
Python SDK (which cannot be installed here) depends on: exact 200s, the strict types of the
Sandbox DTO, error bodies that select the right error classes, the old-client forms (bare
array list, /sandbox/paginated, /config, the /toolbox/{id}/toolbox prefix) and `//`.
"""
import json

import pytest

from conftest import require_host_tools
from testenv import expect, q

PY = {"X-Daytona-Source": "sdk-python", "X-Daytona-SDK-Version": "0.190.0"}
STATES = {"creating", "restoring", "destroyed", "destroying", "started", "stopped", "starting",
          "stopping", "error", "build_failed", "pending_build", "building_snapshot", "unknown",
          "pulling_snapshot", "archived", "archiving"}


def dt(api, method, path, body=None, headers=None, **kw):
    """A request as the Python SDK sends it: compact-less json.dumps, no Content-Type on
    body-less POSTs."""
    h = dict(PY)
    h.update(headers or {})
    raw = None
    if body is not None:
        raw = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    return api.request(method, path, raw=raw, headers=h, **kw)


def check_sandbox_dto(b, full=True):
    """The Python SDK's Sandbox model: required fields, strict JSON types."""
    for k in ("id", "organizationId", "name", "user", "target", "toolboxProxyUrl"):
        assert isinstance(b[k], str) and b[k], (k, b)
    for k in ("public", "networkBlockAll"):
        assert isinstance(b[k], bool), (k, b)
    for k in ("cpu", "gpu", "memory", "disk", "autoStopInterval", "autoArchiveInterval",
              "autoDeleteInterval"):
        assert isinstance(b[k], (int, float)) and not isinstance(b[k], bool), (k, b)
    assert isinstance(b["labels"], dict) and all(isinstance(v, str) for v in b["labels"].values())
    if full:
        assert isinstance(b["env"], dict) and all(isinstance(v, str) for v in b["env"].values())
        assert b["volumes"] == []
    assert b["state"] in STATES
    assert b["desiredState"] in {"destroyed", "started", "stopped", "resized", "archived"}
    assert b["backupState"] in {"None", "Pending", "InProgress", "Completed", "Error"}
    for k, v in b.items():
        assert v is not None, "null field %s: %r" % (k, b)
    assert not b["toolboxProxyUrl"].endswith("/")


def check_daytona_error(r, status, code=None, source=None):
    assert r.status == status, r
    assert "application/json" in r.headers.get("Content-Type", ""), r
    b = r.body
    assert b["statusCode"] == status and isinstance(b["message"], str) and b["message"], r
    assert isinstance(b["error"], str) and isinstance(b["code"], str), r
    if code:
        assert b["code"] == code, r
    if source:
        assert b.get("source") == source, r
    return b


@pytest.fixture
def dsb(api):
    made = []

    def create(**body):
        body.setdefault("labels", {"code-toolbox-language": "python"})
        body.setdefault("env", {})
        body.setdefault("volumes", [])
        r = dt(api, "POST", "/api/sandbox", body, timeout=120)
        b = expect(r, 200)
        made.append(b["id"])
        return b

    yield create
    for i in made:
        api.request("DELETE", "/api/sandbox/%s" % i, timeout=120)


def test_create_is_200_with_a_strict_full_dto(api, dsb):
    b = dsb(env={"A": "1"}, labels={"code-toolbox-language": "python", "t": "x"}, public=True,
            autoStopInterval=20, autoArchiveInterval=30, autoDeleteInterval=-5, cpu=2, memory=2,
            disk=4, networkBlockAll=True, networkAllowList="10.0.0.0/8", target="eu",
            snapshot="base", name="dt-create-strict")
    check_sandbox_dto(b)
    assert b["state"] == "started" and b["name"] == "dt-create-strict"
    assert b["env"] == {"A": "1"} and b["labels"]["t"] == "x"
    assert b["public"] is True and b["target"] == "eu" and b["snapshot"] == "base"
    assert (b["cpu"], b["memory"], b["disk"]) == (2, 2, 4)
    assert (b["autoStopInterval"], b["autoArchiveInterval"], b["autoDeleteInterval"]) == (20, 30, -1)
    assert b["networkAllowList"] == "10.0.0.0/8"
    assert b["toolboxProxyUrl"] == "http://127.0.0.1:%d/toolbox" % api.daemon.port


def test_create_defaults_language_label_and_accepts_daytona_snapshots(api, dsb):
    r = dt(api, "POST", "/api/sandbox", {"snapshot": "daytonaio/sandbox:0.4.3"}, timeout=120)
    b = expect(r, 200)
    api.request("DELETE", "/api/sandbox/%s" % b["id"], timeout=120)
    assert b["labels"] == {"code-toolbox-language": "python"}
    assert b["snapshot"] == "daytonaio/sandbox:0.4.3"


@pytest.mark.parametrize("body,word", [
    ({"buildInfo": {"dockerfileContent": "FROM python:3.12-slim\n"}}, "cannot build images"),
    ({"snapshot": "ubuntu:22.04"}, "snapshot"),
    ({"gpu": 1}, "GPU"),
    ({"volumes": [{"volumeId": "v", "mountPath": "/data"}]}, "volumes"),
    ({"user": "root"}, "user"),
    ({"labels": {"code-toolbox-language": "ruby"}}, "python, javascript or typescript"),
    ({"name": "bad name!"}, "name"),
    ({"memory": "1"}, "memory"),
])
def test_create_refusals_are_clear_400s(api, body, word):
    b = check_daytona_error(dt(api, "POST", "/api/sandbox", body), 400)
    assert word in b["message"], b


def test_lifecycle_calls_answer_200_with_the_dto(api, dsb):
    b = dsb()
    sid = b["id"]
    # Python sends body-less POSTs with Content-Length: 0 and no Content-Type.
    for path, state in (("/stop?force=false", "stopped"), ("/start", "started"),
                        ("/autostop/0", "started"), ("/autoarchive/60", "started"),
                        ("/autodelete/-1", "started"), ("/autopause/0", "started"),
                        ("/ttl/0", "started")):
        r = dt(api, "POST", "/api/sandbox/%s%s" % (sid, path), timeout=120)
        got = expect(r, 200)
        check_sandbox_dto(got)
        assert got["state"] == state, (path, got)
    got = expect(dt(api, "GET", "/api/sandbox/%s" % sid), 200)
    assert (got["autoStopInterval"], got["autoArchiveInterval"]) == (0, 60)
    r = dt(api, "PUT", "/api/sandbox/%s/labels" % sid, {"labels": {"k": "v"}})
    got = expect(r, 200)
    assert got["labels"] == {"k": "v", "code-toolbox-language": "python"}
    r = dt(api, "DELETE", "/api/sandbox/%s" % sid, timeout=120)
    got = expect(r, 200)
    check_sandbox_dto(got)
    assert got["state"] == "destroyed"
    check_daytona_error(dt(api, "GET", "/api/sandbox/%s" % sid), 404)


def test_ephemeral_is_deleted_by_stop(api):
    r = dt(api, "POST", "/api/sandbox", {"autoDeleteInterval": 0}, timeout=120)
    b = expect(r, 200)
    got = expect(dt(api, "POST", "/api/sandbox/%s/stop" % b["id"], timeout=120), 200)
    assert got["state"] == "destroyed"
    check_daytona_error(dt(api, "GET", "/api/sandbox/%s" % b["id"]), 404)


def test_list_forms(api, dsb):
    mine = [dsb(labels={"code-toolbox-language": "python", "grp": "dt-list"})["id"]
            for _ in range(3)]
    # Python sends the labels filter as json.dumps (with spaces).
    flt = json.dumps({"grp": "dt-list"})
    seen, cursor = [], None
    for _ in range(5):
        query = {"labels": flt, "limit": "2"}
        if cursor:
            query["cursor"] = cursor
        b = expect(dt(api, "GET", "/api/sandbox", query=query), 200)
        for it in b["items"]:
            check_sandbox_dto(it, full=False)
            seen.append(it["id"])
        cursor = b["nextCursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(mine)
    # SDKs before 0.108 (and requests that do not say) get a bare array.
    old = expect(dt(api, "GET", "/api/sandbox", query={"labels": flt},
                    headers={"X-Daytona-SDK-Version": "0.101.0"}), 200)
    assert isinstance(old, list) and sorted(s["id"] for s in old) == sorted(mine)
    p = expect(dt(api, "GET", "/api/sandbox/paginated",
                  query={"labels": flt, "page": "2", "limit": "2"}), 200)
    assert (p["total"], p["page"], p["totalPages"], len(p["items"])) == (3, 2, 2, 1)
    check_sandbox_dto(p["items"][0])
    check_daytona_error(dt(api, "GET", "/api/sandbox", query={"labels": "{bad"}), 400)


def test_errors_select_the_sdk_classes(api, module_sandbox):
    b = check_daytona_error(dt(api, "GET", "/api/sandbox/nope"), 404)
    assert "nope" in b["message"]
    r = api.with_key("cove_" + "0" * 40).request("GET", "/api/sandbox", headers=PY)
    assert r.status == 401 and r.body["statusCode"] == 401
    r = dt(api, "GET", "/toolbox/%s/files/info" % module_sandbox["id"],
           query={"path": "/nope.txt"})
    check_daytona_error(r, 404, "FILE_NOT_FOUND", "DAYTONA_DAEMON")


def test_socket_io_is_refused_with_404(api):
    r = api.request("GET", "/api/socket.io/", query={"EIO": "4", "transport": "websocket"},
                    auth=False, headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                         "Sec-WebSocket-Version": "13",
                                         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert r.status == 404


def test_config_and_proxy_url_for_old_clients(api, module_sandbox):
    c = expect(dt(api, "GET", "/api/config"), 200)
    for k in ("version", "proxyTemplateUrl", "proxyToolboxUrl", "defaultSnapshot",
              "dashboardUrl", "environment"):
        assert isinstance(c[k], str), k
    assert isinstance(c["linkedAccountsEnabled"], bool)
    assert isinstance(c["maintananceMode"], bool)
    assert isinstance(c["maxAutoArchiveInterval"], int)
    assert all(isinstance(c["oidc"][k], str) for k in ("issuer", "clientId", "audience"))
    u = expect(dt(api, "GET", "/api/sandbox/%s/toolbox-proxy-url" % module_sandbox["id"]), 200)
    assert u["url"] == c["proxyToolboxUrl"] == "http://127.0.0.1:%d/toolbox" % api.daemon.port


def test_toolbox_prefixes_and_double_slashes(api, module_sandbox):
    sid = module_sandbox["id"]
    for path in ("/toolbox/%s/user-home-dir", "/toolbox/%s//user-home-dir",
                 "/toolbox/%s/toolbox/user-home-dir", "/api/toolbox/%s/toolbox/project-dir",
                 "//toolbox/%s/work-dir"):
        r = dt(api, "GET", path % sid)
        assert expect(r, 200) == {"dir": "/home/cove"}, path
    assert expect(dt(api, "GET", "//api//sandbox/%s" % sid), 200)["id"] == sid
    assert isinstance(expect(dt(api, "GET", "/toolbox/%s/version" % sid), 200)["version"], str)


def test_execute_wire(api, module_sandbox):
    base = "/toolbox/%s/process/execute" % module_sandbox["id"]
    r = expect(dt(api, "POST", base, {"command": "echo out; echo err >&2; exit 7", "envs": {}}),
               200)
    assert r == {"exitCode": 7, "result": "out\nerr\n"}
    r = expect(dt(api, "POST", base, {"command": "echo $X; pwd", "cwd": "/tmp",
                                      "envs": {"X": "\u00e9\U0001F600"}}), 200)
    assert r["result"] == "\u00e9\U0001F600\n/tmp\n"
    b = check_daytona_error(dt(api, "POST", base, {"command": "sleep 20", "timeout": 1}), 408,
                            "PROCESS_EXECUTION_TIMEOUT", "DAYTONA_DAEMON")
    assert "timed out after 1 seconds" in b["message"]
    r = expect(dt(api, "POST", base, {"command": "true", "cwd": "/no/such/dir"}), 200)
    assert r["exitCode"] == -1 and r["result"]
    check_daytona_error(dt(api, "POST", base, {"cwd": "/"}), 400)


def test_code_run_wire_and_strict_charts(api, module_sandbox):
    base = "/toolbox/%s/process/code-run" % module_sandbox["id"]
    r = expect(dt(api, "POST", base, {"code": "import sys; print(sys.argv[1:])",
                                      "language": "python", "argv": ["a"], "envs": {}}), 200)
    assert r == {"exitCode": 0, "result": "['a']\n"}
    code = ("import matplotlib.pyplot as plt\n"
            "plt.bar(['x', 'y'], [1.5, 2]); plt.title('B'); plt.show()\n"
            "plt.pie([1, 3], labels=['p', 'q']); plt.show()\n"
            "f, (a, b) = plt.subplots(1, 2); a.plot([1, 2]); b.plot([3, 1]); plt.show()\n"
            "print('done')\n")
    r = expect(dt(api, "POST", base, {"code": code, "language": "python"}), 200)
    assert r["result"] == "done\n" and r["exitCode"] == 0
    bar, pie, comp = r["artifacts"]["charts"]
    allowed = {"angle", "first_quartile", "group", "label", "max", "median", "min", "outliers",
               "png", "points", "radius", "third_quartile", "title", "type", "value",
               "x_label", "y_label"}
    for c in (bar, pie, comp):
        assert isinstance(c["png"], str) and isinstance(c["elements"], list)
        for e in c["elements"]:
            assert set(e) <= allowed, e
            for k in ("value", "label", "group", "type", "title"):
                assert k not in e or isinstance(e[k], str), e
            for k in ("angle", "radius"):
                assert k not in e or isinstance(e[k], (int, float)), e
        for k in ("x_ticks", "y_ticks"):
            assert all(isinstance(v, (int, float)) for v in c.get(k, [])), c
    assert bar["type"] == "bar" and [e["value"] for e in bar["elements"]] == ["1.5", "2"]
    assert pie["type"] == "pie" and [e["label"] for e in pie["elements"]] == ["p", "q"]
    assert round(sum(e["angle"] for e in pie["elements"])) == 360
    assert comp["type"] == "composite_chart" and [e["type"] for e in comp["elements"]] == [
        "line", "line"]
    check_daytona_error(dt(api, "POST", base, {"code": "1", "language": "ruby"}), 400)


def test_preview_urls_are_strict_strings(api, module_sandbox):
    sid = module_sandbox["id"]
    p = expect(dt(api, "GET", "/api/sandbox/%s/ports/3000/preview-url" % sid), 200)
    assert p["sandboxId"] == sid and isinstance(p["url"], str) and isinstance(p["token"], str)
    assert p["url"].startswith("http://3000-%s." % sid)
    s = expect(dt(api, "GET", "/api/sandbox/%s/ports/3000/signed-preview-url" % sid,
                  query={"expiresInSeconds": "30"}), 200)
    assert s["port"] == 3000 and len(s["token"]) == 16 and s["sandboxId"] == sid
    r = dt(api, "POST", "/api/sandbox/%s/ports/3000/signed-preview-url/%s/expire"
           % (sid, q(s["token"])))
    assert r.status == 200
    check_daytona_error(dt(api, "POST", "/api/sandbox/%s/ports/3000/signed-preview-url/%s/expire"
                           % (sid, s["token"])), 404)
    check_daytona_error(dt(api, "GET", "/api/sandbox/%s/ports/0/preview-url" % sid), 400)
    check_daytona_error(dt(api, "GET", "/api/sandbox/%s/ports/80/signed-preview-url" % sid,
                           query={"expiresInSeconds": "86401"}), 400)


def test_git_wire(api, sandbox):
    require_host_tools("git")
    base = "/toolbox/%s/git" % sandbox["id"]
    expect(dt(api, "POST", base + "/init", {"path": "repo", "initial_branch": "main"}), 200)
    st = expect(dt(api, "GET", base + "/status", query={"path": "repo"}), 200)
    assert st["currentBranch"] == "main" and st["fileStatus"] == []
    api.sh(sandbox["id"], "echo x > repo/f.txt")
    expect(dt(api, "POST", base + "/add", {"path": "repo", "files": ["f.txt"]}), 200)
    c = expect(dt(api, "POST", base + "/commit", {"allow_empty": False, "author": "A",
                                                  "email": "a@b", "message": "m",
                                                  "path": "repo"}), 200)
    assert len(c["hash"]) == 40
    b = expect(dt(api, "GET", base + "/branches", query={"path": "repo"}), 200)
    assert b == {"branches": ["main"], "current": "main"}
    check_daytona_error(dt(api, "POST", base + "/checkout", {"path": "repo", "branch": "nope"}),
                        404, "GIT_BRANCH_NOT_FOUND", "DAYTONA_DAEMON")
    check_daytona_error(dt(api, "POST", base + "/clone", {"url": "/nowhere", "path": "c"}), 404,
                        "GIT_REPO_NOT_FOUND", "DAYTONA_DAEMON")

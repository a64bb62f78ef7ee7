"""Sandbox lifecycle: create (defaults, validation), get, list, stop, start, delete."""
import datetime
import json
import os
import re
import threading

import pytest

from conftest import unique_name
from testenv import check_error_body, expect, raw_connect, read_one_response, send_interleaved

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")


def _parse_time(s):
    assert ISO.match(s), "not an ISO-8601 UTC time: %r" % s
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def test_create_defaults(api, make_sandbox):
    before = datetime.datetime.now(datetime.timezone.utc)
    r = api.post("/v1/sandboxes", {})
    sb = expect(r, 201)
    make_sandbox.made.append(sb["id"])
    assert isinstance(sb["id"], str) and re.fullmatch(r"[A-Za-z0-9._-]{1,63}", sb["id"]), sb
    assert sb["name"] == sb["id"], "the default name is the id: %r" % sb
    assert sb["image"] == "base"
    assert sb["state"] == "started"
    assert sb["labels"] == {} and sb["env"] == {}
    assert sb["cpu"] == 1 and sb["memory_mib"] == 1024 and sb["disk_mib"] == 3072
    assert sb["pids"] == 1024 and sb["auto_stop_minutes"] == 15
    assert sb["network"] == "none" and sb["user"] == "cove" and sb["workdir"] == "/home/cove"
    assert sb["error_reason"] is None
    for f in ("created_at", "updated_at", "last_activity_at"):
        t = _parse_time(sb[f])
        assert abs((t - before).total_seconds()) < 600, (f, sb[f])
    # The answer of create is what GET then says.
    got = api.sandbox(sb["id"])
    for f in ("id", "name", "image", "state", "cpu", "memory_mib", "disk_mib", "pids",
              "labels", "env", "created_at"):
        assert got[f] == sb[f], (f, got, sb)


def test_create_with_everything(api, make_sandbox):
    name = unique_name("full")
    sb = make_sandbox(name=name, labels={"team": "a", "tier": "x y/z"},
                      env={"FOO": "bar", "EMPTY": ""}, cpu=0.5, memory_mib=256, disk_mib=512,
                      pids=100, auto_stop_minutes=0, image="base")
    assert sb["name"] == name and sb["id"] != name
    assert sb["labels"] == {"team": "a", "tier": "x y/z"}
    assert sb["env"] == {"FOO": "bar", "EMPTY": ""}
    assert sb["cpu"] == 0.5 and sb["memory_mib"] == 256 and sb["disk_mib"] == 512
    assert sb["pids"] == 100 and sb["auto_stop_minutes"] == 0
    res = api.exec(name, command='printf "%s|%s|%s" "$FOO" "${EMPTY-unset}" "$(hostname)"')
    assert res["stdout"] == "bar||" + name, res


def test_get_by_id_and_by_name(api, sandbox):
    by_id = api.sandbox(sandbox["id"])
    by_name = api.sandbox(sandbox["name"])
    assert by_id["id"] == by_name["id"] == sandbox["id"]
    assert by_name["name"] == sandbox["name"]


def test_list_with_label_filter(api, make_sandbox):
    run = os.urandom(4).hex()
    a = make_sandbox(labels={"run": run, "team": "a"})
    b = make_sandbox(labels={"run": run, "team": "b"})
    c = make_sandbox(labels={"run": run, "team": "a", "extra": "1"})

    def ids(*labels):
        q = "&".join("label=%s" % lb for lb in labels)
        body = expect(api.get("/v1/sandboxes?" + q), 200)
        for s in body["sandboxes"]:
            for lb in labels:
                k, v = lb.split("=", 1)
                assert s["labels"].get(k) == v, (lb, s)
        return sorted(s["id"] for s in body["sandboxes"])

    assert ids("run=" + run) == sorted([a["id"], b["id"], c["id"]])
    assert ids("run=" + run, "team=a") == sorted([a["id"], c["id"]])
    assert ids("run=" + run, "team=b") == [b["id"]]
    assert ids("run=" + run, "team=a", "extra=1") == [c["id"]]
    assert ids("run=" + run, "team=c") == []
    assert ids("run=" + run + "x") == []
    everything = expect(api.get("/v1/sandboxes"), 200)["sandboxes"]
    assert {a["id"], b["id"], c["id"]} <= {s["id"] for s in everything}


def test_stop_start_keeps_files(api, sandbox):
    name = sandbox["name"]
    api.sh(name, "echo persisted-1 > /home/cove/keep.txt && mkdir -p d && echo 2 > d/f")
    r = api.post("/v1/sandboxes/%s/stop" % name, timeout=120)
    st = expect(r, 200)
    assert st["state"] == "stopped" and st["id"] == sandbox["id"]
    assert api.sandbox(name)["state"] == "stopped"
    r = api.exec_raw(name, cmd=["true"])
    expect(r, 409, "INVALID_STATE")
    check_error_body(r)
    # Stopping a stopped sandbox is a no-op.
    assert expect(api.post("/v1/sandboxes/%s/stop" % name, timeout=120), 200)["state"] == \
        "stopped"
    st = expect(api.post("/v1/sandboxes/%s/start" % name, timeout=120), 200)
    assert st["state"] == "started"
    assert api.sandbox(name)["state"] == "started"
    assert api.sh(name, "cat /home/cove/keep.txt d/f") == "persisted-1\n2\n"
    # Starting a started sandbox is a no-op.
    assert expect(api.post("/v1/sandboxes/%s/start" % name, timeout=120), 200)["state"] == \
        "started"
    assert api.sh(name, "echo still") == "still\n"


def test_stop_kills_running_processes(api, sandbox):
    name = sandbox["name"]
    box = {}
    t = threading.Thread(target=lambda: box.setdefault(
        "r", api.exec_raw(name, command="sleep 300", timeout=200)))
    t.start()
    try:
        expect(api.post("/v1/sandboxes/%s/stop" % name, timeout=120), 200)
    finally:
        t.join(150)
    assert not t.is_alive(), "the exec of a stopped sandbox did not return"
    r = box["r"]
    # Whatever the answer, the command must not have completed normally.
    if r.status == 200:
        assert r.body["exit_code"] != 0, r
    expect(api.post("/v1/sandboxes/%s/start" % name, timeout=120), 200)
    out = api.sh(name, "ps -eo args")
    assert "sleep 300" not in out, out


def test_delete(api, make_sandbox):
    sb = make_sandbox()
    r = api.destroy(sb["id"])
    assert expect(r, 200) == {"id": sb["id"], "state": "destroyed"}
    r = api.get("/v1/sandboxes/%s" % sb["id"])
    expect(r, 404, "SANDBOX_NOT_FOUND")
    check_error_body(r)
    expect(api.get("/v1/sandboxes/%s" % sb["name"]), 404, "SANDBOX_NOT_FOUND")
    expect(api.destroy(sb["id"]), 404, "SANDBOX_NOT_FOUND")
    assert sb["id"] not in [s["id"] for s in api.get("/v1/sandboxes").body["sandboxes"]]
    # The name is free again.
    again = make_sandbox(name=sb["name"])
    assert again["id"] != sb["id"]


def test_a_deleted_name_is_free_at_once(api, make_sandbox):
    # The delete answers before coved has released everything (the rest is background
    # teardown); the name must be free for the very next create all the same.
    name = unique_name("reuse")
    ids = set()
    for _ in range(3):
        sb = expect(api.post("/v1/sandboxes", {"name": name}), 201)
        ids.add(sb["id"])
        assert expect(api.delete("/v1/sandboxes/%s" % name), 200)["state"] == "destroyed"
        expect(api.get("/v1/sandboxes/%s" % sb["id"]), 404, "SANDBOX_NOT_FOUND")
        expect(api.delete("/v1/sandboxes/%s" % sb["id"]), 404, "SANDBOX_NOT_FOUND")
    assert len(ids) == 3


def test_delete_by_name_and_delete_stopped(api, make_sandbox):
    sb = make_sandbox()
    expect(api.post("/v1/sandboxes/%s/stop" % sb["name"], timeout=120), 200)
    assert expect(api.destroy(sb["name"]), 200)["state"] == "destroyed"
    expect(api.get("/v1/sandboxes/%s" % sb["id"]), 404, "SANDBOX_NOT_FOUND")


def test_name_conflict(api, sandbox):
    r = api.post("/v1/sandboxes", {"name": sandbox["name"]})
    expect(r, 409, "NAME_TAKEN")
    check_error_body(r)
    # The existing sandbox is untouched.
    assert api.sandbox(sandbox["name"])["id"] == sandbox["id"]


def test_unknown_field(api):
    r = api.post("/v1/sandboxes", {"name": unique_name("uf"), "memory": 5})
    expect(r, 400, ("UNKNOWN_FIELD", "BAD_REQUEST"))
    check_error_body(r)
    assert "memory" in r.body["message"], "the message should name the field: %s" % r


BAD_SPECS = [
    {"name": 5}, {"name": ""}, {"name": ".hidden"}, {"name": "-dash"}, {"name": "a" * 64},
    {"name": "a b"}, {"name": "a/b"}, {"name": "é"},
    {"image": 1}, {"image": "no-such-image-zz"},
    {"cpu": "1"}, {"cpu": True}, {"cpu": -1}, {"cpu": 0}, {"cpu": 0.001}, {"cpu": 65},
    {"cpu": 1e308},
    {"memory_mib": "1024"}, {"memory_mib": 1.5}, {"memory_mib": -1}, {"memory_mib": 0},
    {"memory_mib": 15}, {"memory_mib": 262145}, {"memory_mib": 2 ** 64},
    {"memory_mib": 2 ** 32 + 1024}, {"memory_mib": 1e30},
    {"disk_mib": 63}, {"disk_mib": -64}, {"disk_mib": 1048577}, {"disk_mib": 2 ** 63},
    {"pids": 15}, {"pids": 32769}, {"pids": -1}, {"pids": True}, {"pids": [64]},
    {"auto_stop_minutes": -1}, {"auto_stop_minutes": 525601}, {"auto_stop_minutes": "15"},
    {"labels": []}, {"labels": "a=b"}, {"labels": {"a": 1}}, {"labels": {"a": None}},
    {"labels": {"k" * 129: "v"}}, {"labels": {"k": "v" * 1025}},
    {"labels": {"k%d" % i: "v" for i in range(65)}},
    {"env": ["A=1"]}, {"env": {"A": 1}}, {"env": {"A": {"B": "c"}}},
]


@pytest.mark.parametrize("spec", BAD_SPECS, ids=[json.dumps(s)[:40] for s in BAD_SPECS])
def test_bad_spec_is_400(api, make_sandbox, spec):
    r = api.post("/v1/sandboxes", spec)
    if r.status == 201:
        make_sandbox.made.append(r.body["id"])
    expect(r, 400)
    check_error_body(r)


@pytest.mark.parametrize("raw", [
    b"{", b"[]", b"null", b"42", b'"str"', b'{"name": "a",}', b"{'name': 'x'}",
    b'{"name": "a"} trailing', b'{"name": "\xff\xfe"}',
], ids=["open-brace", "array", "null", "number", "string", "trailing-comma",
        "single-quotes", "trailing-garbage", "bad-utf8"])
def test_bad_json_is_400(api, make_sandbox, raw):
    r = api.request("POST", "/v1/sandboxes", raw=raw, content_type="application/json")
    if r.status == 201:
        make_sandbox.made.append(r.body["id"])
    expect(r, 400)
    check_error_body(r)


def test_empty_body_creates_with_defaults(api, make_sandbox):
    # Documented in API.md: an empty body is the same as {}.
    r = api.request("POST", "/v1/sandboxes", raw=b"", content_type="application/json")
    sb = expect(r, 201)
    make_sandbox.made.append(sb["id"])
    assert sb["image"] == "base" and sb["memory_mib"] == 1024 and sb["state"] == "started"


def test_unknown_sandbox_is_404(api):
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/stop"), ("POST", "/start"),
                         ("GET", "/files?path=/"), ("GET", "/files/content?path=x")):
        r = api.request(method, "/v1/sandboxes/no-such-sandbox-%s%s" % ("q1", path))
        expect(r, 404, "SANDBOX_NOT_FOUND")
        check_error_body(r)


def test_body_too_large_is_413(daemon, api):
    # 25 MiB of otherwise valid JSON against the 24 MiB cap.
    body = json.dumps({"name": unique_name("big"), "labels": {"k": "x" * (25 << 20)}}).encode()
    head = ("POST /v1/sandboxes HTTP/1.1\r\nHost: localhost\r\n"
            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (daemon.key, len(body))).encode()
    s = raw_connect(daemon.port, timeout=30)
    try:
        send_interleaved(s, head, body)
        status, head_bytes, payload = read_one_response(s, limit_s=30)
    finally:
        s.close()
    assert status == 413, "want 413, got %r %r %r" % (status, head_bytes[:300], payload[:300])
    err = json.loads(payload)
    assert err["statusCode"] == 413 and err["code"] == "PAYLOAD_TOO_LARGE", err
    assert expect(api.get("/v1/health", auth=False), 200)["status"] == "ok"


def test_body_just_under_the_cap_is_accepted_as_json(api, make_sandbox):
    # ~900 KiB of env is over the env cap (64 KiB), but under the body cap: 400, not 413.
    body = {"env": {"K%d" % i: "v" * 900 for i in range(1000)}}
    r = api.post("/v1/sandboxes", body)
    if r.status == 201:
        make_sandbox.made.append(r.body["id"])
    expect(r, 400)

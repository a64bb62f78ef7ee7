"""Tenancy: the /v1/admin API (organizations, keys, quotas), quotas at create and at start,
and tenant against tenant on the native and the Daytona routes.

The session daemon's first key is an admin key of the organization "default". Each test makes
its own organizations with unique ids through the admin API and deletes what it created.
"""
import concurrent.futures
import json
import os
import subprocess

import pytest

from conftest import unique_name
from testenv import check_error_body, expect, q

ADMIN = "/v1/admin"


def uid(hint):
    return "t15-%s-%s" % (hint, os.urandom(3).hex())


@pytest.fixture
def tenants(api):
    """make(quota=None, admin=False) -> (org id, Client with a fresh key of that org)."""
    made, boxes = [], []

    def make(hint="org", quota=None, admin=False):
        org = uid(hint)
        body = {"id": org}
        if quota is not None:
            body["quota"] = quota
        expect(api.post(ADMIN + "/orgs", body), 201)
        made.append(org)
        k = expect(api.post(ADMIN + "/orgs/%s/keys" % org, {"name": "t", "admin": admin}), 201)
        c = api.with_key(k["key"])
        boxes.append(c)
        return org, c

    yield make
    for c in boxes:
        r = c.get("/v1/sandboxes")
        for sb in (r.body.get("sandboxes", []) if r.status == 200 else []):
            c.destroy(sb["id"])
    for org in made:
        r = api.delete(ADMIN + "/orgs/" + org)
        assert r.status in (204, 404), r


def admin_routes(org, key_id):
    return [("GET", ADMIN + "/orgs", None), ("POST", ADMIN + "/orgs", {"id": uid("x")}),
            ("GET", ADMIN + "/orgs/" + org, None), ("DELETE", ADMIN + "/orgs/" + org, None),
            ("GET", ADMIN + "/orgs/%s/quota" % org, None),
            ("PUT", ADMIN + "/orgs/%s/quota" % org, {"max_sandboxes": 1000}),
            ("GET", ADMIN + "/orgs/%s/keys" % org, None),
            ("POST", ADMIN + "/orgs/%s/keys" % org, {"admin": True}),
            ("GET", ADMIN + "/keys/" + key_id, None), ("DELETE", ADMIN + "/keys/" + key_id, None)]


# ---- the admin API ------------------------------------------------------------------------

def test_first_key_is_admin(api):
    body = expect(api.get(ADMIN + "/orgs"), 200)
    assert any(o["id"] == "default" for o in body["orgs"]), body


def test_admin_routes_refuse_user_keys_and_no_key(api, tenants):
    org, user = tenants("user")
    expect(user.get("/v1/sandboxes"), 200)
    kid = expect(api.get(ADMIN + "/orgs/%s/keys" % org), 200)["keys"][0]["id"]
    for method, path, body in admin_routes(org, kid):
        r = user.request(method, path, body=body)
        expect(r, 403, "FORBIDDEN")
        check_error_body(r)
        r = user.request(method, path, body=body, auth=False)
        expect(r, 401, "UNAUTHORIZED")
    # nothing changed: the org and its key are still there and the key still works
    keys = expect(api.get(ADMIN + "/orgs/%s/keys" % org), 200)["keys"]
    assert [k["revoked"] for k in keys] == [False], keys
    expect(user.get("/v1/sandboxes"), 200)


def test_org_create_get_list_delete(api):
    org = uid("crud")
    o = expect(api.post(ADMIN + "/orgs", {"id": org, "name": "Crud Inc",
                                           "quota": {"max_sandboxes": 7, "max_cpu": 2.5}}), 201)
    assert o["id"] == org and o["name"] == "Crud Inc", o
    assert o["quota"]["max_sandboxes"] == 7 and o["quota"]["max_cpu"] == 2.5, o
    assert o["quota"]["max_memory_mib"] == 262144, o  # the default where not given
    assert o["usage"] == {"sandboxes": 0, "cpu": 0, "memory_mib": 0, "disk_mib": 0}, o
    assert expect(api.get(ADMIN + "/orgs/" + org), 200) == o
    assert org in [x["id"] for x in expect(api.get(ADMIN + "/orgs"), 200)["orgs"]]
    expect(api.post(ADMIN + "/orgs", {"id": org}), 409, "ORG_EXISTS")
    r = api.delete(ADMIN + "/orgs/" + org)
    assert r.status == 204, r
    expect(api.get(ADMIN + "/orgs/" + org), 404, "ORG_NOT_FOUND")
    expect(api.delete(ADMIN + "/orgs/" + org), 404, "ORG_NOT_FOUND")
    assert org not in [x["id"] for x in expect(api.get(ADMIN + "/orgs"), 200)["orgs"]]


@pytest.mark.parametrize("body", [
    {}, {"id": ""}, {"id": "x" * 65}, {"id": "a/b"}, {"id": "-lead"}, {"id": "sp ace"},
    {"id": 5}, {"id": None}, {"id": "ok1", "name": ""}, {"id": "ok2", "name": "n" * 65},
    {"id": "ok3", "name": "tab\there"}, {"id": "ok4", "name": 3}, {"id": "ok5", "extra": 1},
    {"id": "ok6", "quota": []}, {"id": "ok7", "quota": {"max_sandboxes": -1}},
    {"id": "ok8", "quota": {"bogus": 1}},
], ids=lambda b: repr(b)[:40])
def test_org_create_bad_input_is_400(api, body):
    r = api.post(ADMIN + "/orgs", body)
    expect(r, 400)
    check_error_body(r)
    if isinstance(body.get("id"), str) and body["id"].startswith("ok"):
        expect(api.get(ADMIN + "/orgs/" + body["id"]), 404)


def test_org_id_of_64_is_the_cap(api):
    org = "c" * 58 + os.urandom(3).hex()
    expect(api.post(ADMIN + "/orgs", {"id": org}), 201)
    assert api.delete(ADMIN + "/orgs/" + org).status == 204


def test_cannot_delete_own_org(api):
    expect(api.delete(ADMIN + "/orgs/default"), 409, "ORG_IN_USE")
    expect(api.get(ADMIN + "/orgs/default"), 200)


def test_delete_org_with_sandboxes_is_409_then_keys_die_with_it(api, tenants):
    org, c = tenants("del")
    sb = c.create(name=unique_name("del"), disk_mib=64, memory_mib=64)
    r = api.delete(ADMIN + "/orgs/" + org)
    body = expect(r, 409, "ORG_NOT_EMPTY")
    assert "sandbox" in body["message"], body
    assert c.sandbox(sb["id"])["state"] == "started"
    assert c.destroy(sb["id"]).status in (200, 204)
    assert api.delete(ADMIN + "/orgs/" + org).status == 204
    expect(c.get("/v1/sandboxes"), 401, "UNAUTHORIZED")


def test_keys_secret_shown_once_list_and_revoke(api, tenants):
    org, first = tenants("keys")
    k = expect(api.post(ADMIN + "/orgs/%s/keys" % org, {"name": "ci"}), 201)
    secret = k["key"]
    assert secret.startswith("cove_") and len(secret) == 45, k
    assert k["org"] == org and k["name"] == "ci" and k["admin"] is False, k
    assert k["revoked"] is False and secret.startswith(k["prefix"]), k
    c = api.with_key(secret)
    expect(c.get("/v1/sandboxes"), 200)

    listing = api.get(ADMIN + "/orgs/%s/keys" % org)
    keys = expect(listing, 200)["keys"]
    assert secret.encode() not in listing.raw and secret[12:].encode() not in listing.raw
    assert all("key" not in x for x in keys), keys
    assert sorted(x["name"] for x in keys) == ["ci", "t"], keys
    got = api.get(ADMIN + "/keys/" + k["id"])
    assert expect(got, 200)["id"] == k["id"] and secret[12:].encode() not in got.raw

    r = api.delete(ADMIN + "/keys/" + k["id"])
    assert expect(r, 200)["revoked"] is True
    # immediately: the very next request is refused
    expect(c.get("/v1/sandboxes"), 401, "UNAUTHORIZED")
    expect(c.with_key(secret).post("/v1/sandboxes", {}), 401, "UNAUTHORIZED")
    assert expect(api.delete(ADMIN + "/keys/" + k["id"]), 200)["revoked"] is True
    assert expect(api.get(ADMIN + "/keys/" + k["id"]), 200)["revoked"] is True
    expect(first.get("/v1/sandboxes"), 200)  # the org's other key is untouched

    for bad in ("0000000000000000", "nothex", k["prefix"], "A" * 16, "0" * 17):
        expect(api.get(ADMIN + "/keys/" + q(bad)), 404, "KEY_NOT_FOUND")
        expect(api.delete(ADMIN + "/keys/" + q(bad)), 404, "KEY_NOT_FOUND")
    expect(api.post(ADMIN + "/orgs/nope-%s/keys" % os.urandom(3).hex(), {}), 404,
           "ORG_NOT_FOUND")
    for body in ({"name": 1}, {"name": "n" * 65}, {"admin": "yes"}, {"org": "default"},
                 {"name": "line\nbreak"}):
        expect(api.post(ADMIN + "/orgs/%s/keys" % org, body), 400)


def test_admin_key_made_through_the_api_administers(api, tenants):
    org, boss = tenants("boss", admin=True)
    other = uid("made-by-boss")
    expect(boss.post(ADMIN + "/orgs", {"id": other}), 201)
    assert boss.delete(ADMIN + "/orgs/" + other).status == 204
    # but, like every key, it sees only its own org's sandboxes
    assert expect(boss.get("/v1/sandboxes"), 200)["sandboxes"] == []


def test_unrevoked_keys_per_org_are_capped(api, tenants):
    org, _ = tenants("cap")  # holds one key already
    made = []
    for i in range(99):
        made.append(expect(api.post(ADMIN + "/orgs/%s/keys" % org, {"name": "k%d" % i}), 201))
    r = api.post(ADMIN + "/orgs/%s/keys" % org, {})
    body = expect(r, 409, "TOO_MANY_KEYS")
    assert "100" in body["message"], body
    expect(api.delete(ADMIN + "/keys/" + made[0]["id"]), 200)
    expect(api.post(ADMIN + "/orgs/%s/keys" % org, {}), 201)


# ---- quotas -------------------------------------------------------------------------------

def test_quota_get_and_set(api, tenants):
    org, _ = tenants("quota")
    path = ADMIN + "/orgs/%s/quota" % org
    got = expect(api.get(path), 200)
    assert got["org"] == org and got["quota"]["max_sandboxes"] == 1000, got
    r = api.request("PUT", path, body={"max_sandboxes": 4, "max_cpu": 1.5})
    got = expect(r, 200)
    assert got["quota"] == {"max_sandboxes": 4, "max_cpu": 1.5, "max_memory_mib": 262144,
                            "max_disk_mib": 4194304}, got
    r = api.request("PUT", path, body={"max_memory_mib": 2048, "max_disk_mib": 1024})
    got = expect(r, 200)["quota"]
    assert got["max_sandboxes"] == 4 and got["max_memory_mib"] == 2048, got
    assert expect(api.get(path), 200)["quota"] == got
    for bad in ({"max_sandboxes": -1}, {"max_sandboxes": 1.5}, {"max_sandboxes": "3"},
                {"max_sandboxes": 100001}, {"max_cpu": -0.5}, {"max_cpu": "1"},
                {"max_cpu": 1e12}, {"max_memory_mib": 2 ** 41}, {"max_disk_mib": None},
                {"sandboxes": 3}):
        r = api.request("PUT", path, body=bad)
        expect(r, 400)
        check_error_body(r)
    assert expect(api.get(path), 200)["quota"] == got
    expect(api.request("PUT", ADMIN + "/orgs/nope-%s/quota" % os.urandom(3).hex(),
                       body={"max_sandboxes": 1}), 404, "ORG_NOT_FOUND")


def test_quota_at_create_names_the_quota(api, tenants):
    org, c = tenants("qc", quota={"max_memory_mib": 256, "max_disk_mib": 256, "max_cpu": 1})
    a = c.create(name=unique_name("qc"), memory_mib=128, disk_mib=128, cpu=0.5)
    for spec, what in (({"memory_mib": 256, "disk_mib": 64, "cpu": 0.25}, "memory"),
                       ({"memory_mib": 64, "disk_mib": 256, "cpu": 0.25}, "disk"),
                       ({"memory_mib": 64, "disk_mib": 64, "cpu": 1}, "cpu")):
        r = c.post("/v1/sandboxes", spec, timeout=120)
        body = expect(r, 403, "QUOTA_EXCEEDED")
        check_error_body(r)
        assert what in body["message"] and org in body["message"], body
        others = {"memory", "disk", "cpu"} - {what}
        assert not any(o + " (" in body["message"] for o in others), body
    usage = expect(api.get(ADMIN + "/orgs/%s/quota" % org), 200)["usage"]
    assert usage == {"sandboxes": 1, "cpu": 0.5, "memory_mib": 128, "disk_mib": 128}, usage
    c.destroy(a["id"])


def test_started_sandboxes_hold_cpu_and_memory_all_hold_count_and_disk(api, tenants):
    org, c = tenants("qs", quota={"max_sandboxes": 2, "max_cpu": 1, "max_memory_mib": 4096})
    a = c.create(name=unique_name("qs-a"), cpu=1, memory_mib=64, disk_mib=64)
    expect(c.post("/v1/sandboxes", {"cpu": 1, "memory_mib": 64, "disk_mib": 64}), 403,
           "QUOTA_EXCEEDED")
    expect(c.post("/v1/sandboxes/%s/stop" % a["id"]), 200)
    usage = expect(api.get(ADMIN + "/orgs/%s/quota" % org), 200)["usage"]
    assert usage == {"sandboxes": 1, "cpu": 0, "memory_mib": 0, "disk_mib": 64}, usage
    b = c.create(name=unique_name("qs-b"), cpu=1, memory_mib=64, disk_mib=64)
    # a stopped sandbox still counts against the number of sandboxes
    body = expect(c.post("/v1/sandboxes", {"cpu": 0.1, "memory_mib": 64, "disk_mib": 64}),
                  403, "QUOTA_EXCEEDED")
    assert "sandboxes (" in body["message"], body
    # starting A would pass the CPU quota: refused on both APIs, and A stays stopped
    r = c.post("/v1/sandboxes/%s/start" % a["id"], timeout=120)
    body = expect(r, 403, "QUOTA_EXCEEDED")
    assert "cpu (" in body["message"], body
    r = c.post("/api/sandbox/%s/start" % a["id"], timeout=120)
    assert r.status == 403 and "quota" in r.raw.decode().lower(), r
    assert c.sandbox(a["id"])["state"] == "stopped"
    expect(c.post("/v1/sandboxes/%s/stop" % b["id"]), 200)
    assert expect(c.post("/v1/sandboxes/%s/start" % a["id"], timeout=120), 200)
    assert c.sandbox(a["id"])["state"] == "started"
    # lowering a quota below usage stops nothing, and refuses the next start
    expect(api.request("PUT", ADMIN + "/orgs/%s/quota" % org, body={"max_memory_mib": 32}), 200)
    assert c.sandbox(a["id"])["state"] == "started"
    body = expect(c.post("/v1/sandboxes/%s/start" % b["id"], timeout=120), 403,
                  "QUOTA_EXCEEDED")
    assert "memory (" in body["message"] and "sandboxes (" not in body["message"], body
    # a start adds no sandbox and no disk: those quotas, even lowered below usage, allow it
    expect(api.request("PUT", ADMIN + "/orgs/%s/quota" % org,
                       body={"max_memory_mib": 4096, "max_cpu": 2, "max_sandboxes": 1,
                             "max_disk_mib": 64}), 200)
    expect(c.post("/v1/sandboxes/%s/start" % b["id"], timeout=120), 200)
    assert c.sandbox(b["id"])["state"] == "started"


def test_a_deleted_sandbox_frees_its_quota_at_once(api, tenants):
    org, c = tenants("qd", quota={"max_sandboxes": 1, "max_cpu": 1, "max_memory_mib": 256})
    for i in range(3):
        sb = c.create(name=unique_name("qd%d" % i), cpu=1, memory_mib=256, disk_mib=64)
        expect(c.destroy(sb["id"]), 200)  # the next create, at once, fits the quota again
    usage = expect(api.get(ADMIN + "/orgs/%s/quota" % org), 200)["usage"]
    assert usage == {"sandboxes": 0, "cpu": 0, "memory_mib": 0, "disk_mib": 0}, usage


def test_burst_of_200_creates_against_a_quota_of_5(api, tenants):
    org, c = tenants("burst", quota={"max_sandboxes": 5})

    def create(i):
        r = c.post("/v1/sandboxes", {"name": "b%d" % i, "memory_mib": 64, "disk_mib": 64},
                   timeout=180)
        return r.status, r.body

    with concurrent.futures.ThreadPoolExecutor(32) as ex:
        results = list(ex.map(create, range(200)))
    made = [b for s, b in results if s == 201]
    assert len(made) == 5, [s for s, _ in results]
    refused = [b for s, b in results if s != 201]
    assert all(b.get("code") == "QUOTA_EXCEEDED" and "sandboxes (" in b.get("message", "")
               for b in refused), [b for b in refused if b.get("code") != "QUOTA_EXCEEDED"][:3]
    assert {s for s, _ in results} == {201, 403}
    assert len(expect(c.get("/v1/sandboxes"), 200)["sandboxes"]) == 5


# ---- tenant against tenant ----------------------------------------------------------------

def _denied(r, what):
    assert r.status == 404, "%s: %s" % (what, r)
    assert b"A-SECRET" not in r.raw, "%s leaked: %s" % (what, r)


def test_cross_tenant_everything_is_404(api, tenants):
    _, a = tenants("ta")
    _, b = tenants("tb")
    name = unique_name("victim")
    sa = a.create(name=name, memory_mib=128, disk_mib=64)
    sid = sa["id"]
    expect(a.post("/v1/sandboxes/%s/files/mkdir" % sid, {"path": "/home/cove/d"}), 200)
    a.file_put(sid, "/home/cove/secret", b"A-SECRET\n")
    expect(a.post("/v1/sandboxes/%s/sessions" % sid, {"id": "s1"}), 201)
    cmd = expect(a.post("/v1/sandboxes/%s/sessions/s1/exec" % sid,
                        {"command": "echo A-SECRET"}, timeout=120), 200)
    cid = cmd.get("cmd_id") or cmd.get("id")
    assert cid, cmd
    expect(a.post("/v1/sandboxes/%s/contexts" % sid, {"id": "k1"}, timeout=90), 201)

    # What a missing sandbox looks like to B, for comparison.
    ghost = b.get("/v1/sandboxes/0123456789abcdef")
    expect(ghost, 404)

    assert sid not in b.get("/v1/sandboxes").raw.decode()
    assert sid not in b.get("/api/sandbox").raw.decode()
    assert sid not in b.get("/api/sandbox/paginated").raw.decode()
    for ident in (sid, name):
        i = q(ident)
        base = "/v1/sandboxes/" + i
        native = [
            ("GET", base, None), ("POST", base + "/exec", {"cmd": ["cat", "/home/cove/secret"]}),
            ("POST", base + "/code-run", {"language": "python", "code": "print(1)"}),
            ("GET", base + "/files/content?path=/home/cove/secret", None),
            ("GET", base + "/files?path=/home/cove", None),
            ("GET", base + "/files/stat?path=/home/cove/secret", None),
            ("POST", base + "/files/mkdir", {"path": "/home/cove/b"}),
            ("POST", base + "/files/move", {"from": "/home/cove/secret", "to": "/tmp/x"}),
            ("DELETE", base + "/files?path=/home/cove/secret", None),
            ("GET", base + "/sessions", None), ("GET", base + "/sessions/s1", None),
            ("POST", base + "/sessions", {"id": "b"}),
            ("POST", base + "/sessions/s1/exec", {"command": "cat /home/cove/secret"}),
            ("DELETE", base + "/sessions/s1", None),
            ("GET", base + "/contexts", None), ("GET", base + "/contexts/k1", None),
            ("POST", base + "/contexts", {"id": "b"}),
            ("POST", base + "/contexts/k1/run", {"code": "open('/home/cove/secret').read()"}),
            ("DELETE", base + "/contexts/k1", None),
            ("GET", base + "/commands/%s" % cid, None),
            ("GET", base + "/commands/%s/logs" % cid, None),
            ("POST", base + "/commands/%s/signal" % cid, {"signal": "KILL"}),
            ("GET", base + "/preview/8000", None),
            ("POST", base + "/preview/8000/signed", {"expires_in": 60}),
            ("POST", base + "/stop", None), ("POST", base + "/start", None),
            ("DELETE", base, None),
        ]
        for method, path, body in native:
            _denied(b.request(method, path, body=body, timeout=120), "%s %s" % (method, path))
        r = b.put(base + "/files/content?path=/home/cove/from-b", b"B")
        _denied(r, "PUT files/content")
        dsb = "/api/sandbox/" + i
        dtn = [("GET", dsb, None), ("POST", dsb + "/stop", None), ("POST", dsb + "/start", None),
               ("PUT", dsb + "/labels", {"labels": {"b": "1"}}),
               ("POST", dsb + "/autostop/5", None), ("GET", dsb + "/toolbox-proxy-url", None),
               ("GET", dsb + "/ports/8000/preview-url", None),
               ("GET", dsb + "/ports/8000/signed-preview-url", None),
               ("DELETE", dsb, None)]
        for tb in ("/toolbox/" + i, "/toolbox/%s/toolbox" % i, "/api/toolbox/%s/toolbox" % i):
            dtn += [("POST", tb + "/process/execute", {"command": "cat /home/cove/secret"}),
                    ("GET", tb + "/files/download?path=/home/cove/secret", None),
                    ("GET", tb + "/files?path=/home/cove", None),
                    ("GET", tb + "/process/session", None),
                    ("GET", tb + "/process/session/s1", None),
                    ("GET", tb + "/process/session/s1/command/%s/logs" % cid, None),
                    ("GET", tb + "/process/interpreter/context", None),
                    ("POST", tb + "/process/interpreter/context", {}),
                    ("DELETE", tb + "/process/interpreter/context/k1", None),
                    ("GET", tb + "/user-home-dir", None)]
        for method, path, body in dtn:
            _denied(b.request(method, path, body=body, timeout=120), "%s %s" % (method, path))

    # A's sandbox, files and session are untouched
    assert a.sandbox(sid)["state"] == "started"
    assert a.file_get(sid, "/home/cove/secret").raw == b"A-SECRET\n"
    expect(a.file_stat(sid, "/home/cove/from-b"), 404)
    expect(a.get("/v1/sandboxes/%s/sessions/s1" % sid), 200)
    ctx = expect(a.post("/v1/sandboxes/%s/contexts/k1/run" % sid, {"code": "1 + 1"}), 200)
    assert ctx["result"] == {"text/plain": "2"}, ctx
    labels = expect(a.get("/api/sandbox/" + sid), 200).get("labels", {})
    assert "b" not in labels, labels
    # the admin key is a tenant of "default" on these routes: it does not see A's sandbox
    _denied(api.get("/v1/sandboxes/" + sid), "admin GET")
    a.destroy(sid)


# ---- cove admin ---------------------------------------------------------------------------

def test_cli_admin(daemon, api, cove_cli, tmp_path):
    def cove(*args, key=None):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
               "COVE_API_URL": daemon.url, "COVE_API_KEY": key or daemon.key, "LANG": "C.UTF-8"}
        return subprocess.run([cove_cli] + list(args), capture_output=True, text=True, env=env,
                              timeout=60)

    org = uid("cli")
    cp = cove("admin", "org", "create", org, "--name", "CLI org", "--sandboxes", "3",
              "--cpus", "1.5", "--memory-mib", "2048")
    assert cp.returncode == 0 and org in cp.stdout, cp
    got = expect(api.get(ADMIN + "/orgs/" + org), 200)
    assert got["name"] == "CLI org" and got["quota"]["max_sandboxes"] == 3, got
    assert got["quota"]["max_cpu"] == 1.5 and got["quota"]["max_memory_mib"] == 2048, got
    cp = cove("admin", "quota", org, "--disk-mib", "4096")
    assert cp.returncode == 0, cp
    got = expect(api.get(ADMIN + "/orgs/%s/quota" % org), 200)["quota"]
    assert got["max_disk_mib"] == 4096 and got["max_sandboxes"] == 3, got
    cp = cove("--json", "admin", "quota", org)
    assert cp.returncode == 0 and json.loads(cp.stdout)["quota"] == got, cp

    cp = cove("admin", "key", "create", org, "--name", "from-cli")
    assert cp.returncode == 0, cp
    key = cp.stdout.strip()
    assert key.startswith("cove_") and len(key) == 45, cp
    expect(api.with_key(key).get("/v1/sandboxes"), 200)
    cp = cove("admin", "key", "ls", org)
    assert cp.returncode == 0 and "from-cli" in cp.stdout and key[12:] not in cp.stdout, cp
    kid = [ln.split()[0] for ln in cp.stdout.splitlines() if "from-cli" in ln][0]

    cp = cove("admin", "org", "ls", key=key)  # a user key
    assert cp.returncode == 1 and "admin" in cp.stderr, cp
    cp = cove("admin", "key", "rm", kid)
    assert cp.returncode == 0 and cp.stdout.strip() == "revoked " + kid, cp
    expect(api.with_key(key).get("/v1/sandboxes"), 401)
    cp = cove("admin", "org", "ls")
    assert cp.returncode == 0 and org in cp.stdout, cp
    for bad in (["admin"], ["admin", "org"], ["admin", "org", "create"],
                ["admin", "org", "info", "a/b"], ["admin", "key", "ls", org, "--admin"],
                ["admin", "quota", org, "--cpus", "-1"], ["admin", "bogus", "x"]):
        cp = cove(*bad)
        assert cp.returncode == 2, (bad, cp)
    cp = cove("admin", "org", "rm", org)
    assert cp.returncode == 0 and cp.stdout.strip() == "deleted " + org, cp
    cp = cove("admin", "org", "info", org)
    assert cp.returncode == 1 and "not found" in cp.stderr, cp

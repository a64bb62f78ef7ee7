"""Health, API keys and the shape of every error answer."""
import re

import pytest

from testenv import check_error_body, expect, host

AUTHED_ROUTE = "/v1/sandboxes"


def test_health_needs_no_key(api):
    r = api.get("/v1/health", auth=False)
    body = expect(r, 200)
    assert "application/json" in r.headers.get("Content-Type", "")
    assert body["status"] == "ok"
    assert isinstance(body["version"], str) and re.fullmatch(r"\d+\.\d+\.\d+.*", body["version"])
    assert body["cgroup"] == host.cgroup_version()


def test_health_over_unix_socket(unix_api):
    body = expect(unix_api.get("/v1/health", auth=False), 200)
    assert body["status"] == "ok"


def test_first_start_printed_exactly_one_key_line(daemon):
    # Session start on a fresh state directory: exactly one line, the admin key.
    first = daemon.stdout_lines[:1]
    assert len(first) == 1 and re.fullmatch(r"api-key: cove_[A-Za-z0-9]+", first[0]), \
        daemon.stdout_lines
    assert daemon.stdout_lines.count(first[0]) == 1
    assert [ln for ln in daemon.stdout_lines if ln.strip()] == first, \
        "coved printed more than the key line on stdout: %r" % daemon.stdout_lines


def test_admin_key_works_over_tcp_and_unix(api, unix_api):
    for client in (api, unix_api):
        body = expect(client.get(AUTHED_ROUTE), 200)
        assert isinstance(body.get("sandboxes"), list), body


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer cove_" + "0" * 40},
    {"Authorization": "Bearer not-a-key"},
    {"Authorization": "Basic Y292ZTpjb3Zl"},
    {"Authorization": "cove_" + "0" * 40},
], ids=["none", "bearer-empty", "bearer-space", "unknown-key", "garbage", "basic", "no-scheme"])
def test_missing_or_bad_key_is_401(api, headers):
    for path, method in ((AUTHED_ROUTE, "GET"), (AUTHED_ROUTE, "POST"),
                         ("/v1/sandboxes/whatever", "GET"),
                         ("/v1/sandboxes/whatever/exec", "POST")):
        r = api.request(method, path, body={} if method == "POST" else None, headers=headers,
                        auth=False)
        expect(r, 401, "UNAUTHORIZED")
        check_error_body(r)


def test_bad_key_over_unix_socket_is_401(unix_api):
    r = unix_api.with_key(None).get(AUTHED_ROUTE)
    expect(r, 401, "UNAUTHORIZED")
    check_error_body(r)


def test_valid_key_with_a_flipped_char_is_401(api):
    key = api.key
    flipped = key[:-1] + ("0" if key[-1] != "0" else "1")
    expect(api.with_key(flipped).get(AUTHED_ROUTE), 401, "UNAUTHORIZED")
    expect(api.with_key(key + "0").get(AUTHED_ROUTE), 401, "UNAUTHORIZED")
    expect(api.with_key(key.upper()).get(AUTHED_ROUTE), 401, "UNAUTHORIZED")


def _created_key(stdout):
    keys = re.findall(r"cove_[A-Za-z0-9]+", stdout)
    assert len(keys) == 1, "coved keys create should print one key: %r" % stdout
    return keys[0]


def _key_id(daemon, name, key):
    """The id of the key called name, as `coved keys list` shows it."""
    listing = daemon.keys("list").stdout
    lines = [ln for ln in listing.splitlines() if name in ln]
    assert len(lines) == 1, "keys list should show key %r once: %r" % (name, listing)
    assert key not in listing, "keys list must not show the secret key: %r" % listing
    ids = re.findall(r"\b[0-9a-f]{16}\b", lines[0])
    assert ids, "no 16-hex id on the line of %r: %r" % (name, lines[0])
    return ids[0]


def test_created_key_works_then_revoked_key_is_401(daemon, api):
    name = "test-revoke-%d" % id(daemon)
    key = _created_key(daemon.keys("create", "--name", name).stdout)
    user = api.with_key(key)
    expect(user.get(AUTHED_ROUTE), 200)
    kid = _key_id(daemon, name, key)
    daemon.keys("revoke", kid)
    r = user.get(AUTHED_ROUTE)
    expect(r, 401, "UNAUTHORIZED")
    check_error_body(r)
    # The admin key is unaffected.
    expect(api.get(AUTHED_ROUTE), 200)


def test_revoking_an_unknown_key_fails(daemon):
    cp = daemon.keys("revoke", "ffffffffffffffff", check=False)
    assert cp.returncode != 0, (cp.stdout, cp.stderr)
    assert cp.stderr.strip(), "a failing 'keys revoke' should say why on stderr"


def test_key_of_another_org_sees_none_of_ours(daemon, api, sandbox):
    key = _created_key(daemon.keys("create", "--name", "other-org",
                                   "--org", "other-org-%d" % id(api)).stdout)
    other = api.with_key(key)
    body = expect(other.get(AUTHED_ROUTE), 200)
    assert sandbox["id"] not in [s["id"] for s in body["sandboxes"]]
    expect(other.get("/v1/sandboxes/%s" % sandbox["id"]), 404, "SANDBOX_NOT_FOUND")
    expect(other.get("/v1/sandboxes/%s" % sandbox["name"]), 404, "SANDBOX_NOT_FOUND")
    r = other.post("/v1/sandboxes/%s/exec" % sandbox["id"], {"cmd": ["true"]})
    expect(r, 404, "SANDBOX_NOT_FOUND")


ERROR_CASES = [
    ("GET", "/v1/no-such-route", None, 404, "NOT_FOUND"),
    ("GET", "/no-such-route", None, 404, "NOT_FOUND"),
    ("GET", "/v1/sandboxes/no-such-sandbox-zz", None, 404, "SANDBOX_NOT_FOUND"),
    ("DELETE", "/v1/sandboxes/no-such-sandbox-zz", None, 404, "SANDBOX_NOT_FOUND"),
    ("POST", "/v1/sandboxes/no-such-sandbox-zz/exec", {"cmd": ["true"]}, 404,
     "SANDBOX_NOT_FOUND"),
    ("PUT", "/v1/sandboxes", None, 405, "METHOD_NOT_ALLOWED"),
    ("DELETE", "/v1/health", None, 405, "METHOD_NOT_ALLOWED"),
    ("POST", "/v1/sandboxes", {"no_such_field": 1}, 400, ("UNKNOWN_FIELD", "BAD_REQUEST")),
    ("POST", "/v1/sandboxes", {"memory_mib": "lots"}, 400, "BAD_REQUEST"),
]


@pytest.mark.parametrize("method,path,body,status,code", ERROR_CASES,
                         ids=["%s %s %d" % (c[0], c[1], c[3]) for c in ERROR_CASES])
def test_error_bodies_have_statuscode_code_message(api, method, path, body, status, code):
    r = api.request(method, path, body=body)
    expect(r, status, code)
    check_error_body(r)


def test_error_body_for_bad_json_and_conflict(api, sandbox):
    r = api.request("POST", "/v1/sandboxes", raw=b"{not json", content_type="application/json")
    expect(r, 400, "BAD_REQUEST")
    check_error_body(r)
    r = api.post("/v1/sandboxes", {"name": sandbox["name"]})
    expect(r, 409, "NAME_TAKEN")
    check_error_body(r)

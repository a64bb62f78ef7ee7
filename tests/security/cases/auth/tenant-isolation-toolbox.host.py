# attack: tenant B reaches tenant A's sandbox through everything but the basic /v1 routes:
#         sessions and their commands and logs, code-run, preview links, and the Daytona
#         control plane and toolbox under all three toolbox prefixes (execute, file download
#         and listing, sessions, command logs, labels, start/stop/delete), by id and by name;
#         and B's listings on both APIs
# why: every one of these routes resolves the sandbox in the caller's organization before it
#      does anything, so for B each answers exactly what a missing sandbox answers (404) and
#      reveals no output, file or token of A's
# timeout: 180
# expect: exit=0
# stdout-has: SAFE B's listings do not show A's sandbox
# stdout-has: SAFE every route by id is 404
# stdout-has: SAFE every route by name is 404
# stdout-has: SAFE A's sandbox untouched
import hostlib
from hostlib import check, expect, q

_, akey = hostlib.new_org("tb-a")
_, bkey = hostlib.new_org("tb-b")
a, b = hostlib.client(akey), hostlib.client(bkey)
name = hostlib.unique("victim")
with hostlib.sandbox(a, name=name) as sa:
    sid = sa["id"]
    expect(a.file_put(sid, "/home/cove/secret", b"A-SECRET\n"), 200)
    expect(a.post("/v1/sandboxes/%s/sessions" % sid, {"id": "s1"}), 201)
    cid = expect(a.post("/v1/sandboxes/%s/sessions/s1/exec" % sid,
                        {"command": "cat /home/cove/secret"}, timeout=60), 200)["id"]
    listings = [b.get("/v1/sandboxes"), b.get("/api/sandbox"), b.get("/api/sandbox/paginated")]
    check(all(r.status == 200 and sid not in r.raw.decode() and name not in r.raw.decode()
              for r in listings), "B's listings do not show A's sandbox",
          [r.status for r in listings])
    for ident, how in ((sid, "id"), (name, "name")):
        i = q(ident)
        v1, dsb = "/v1/sandboxes/" + i, "/api/sandbox/" + i
        routes = [
            ("GET", v1 + "/sessions", None), ("GET", v1 + "/sessions/s1", None),
            ("POST", v1 + "/sessions", {"id": "b"}), ("DELETE", v1 + "/sessions/s1", None),
            ("POST", v1 + "/sessions/s1/exec", {"command": "cat /home/cove/secret"}),
            ("GET", v1 + "/commands/" + cid, None), ("GET", v1 + "/commands/%s/logs" % cid, None),
            ("POST", v1 + "/commands/%s/input" % cid, {"data": "x"}),
            ("POST", v1 + "/commands/%s/signal" % cid, {"signal": "KILL"}),
            ("POST", v1 + "/code-run", {"language": "python", "code": "print(open("
                                        "'/home/cove/secret').read())"}),
            ("GET", v1 + "/preview/8000", None), ("POST", v1 + "/preview/8000/signed", {}),
            ("GET", dsb, None), ("PUT", dsb + "/labels", {"labels": {"b": "1"}}),
            ("POST", dsb + "/stop", None), ("POST", dsb + "/start", None),
            ("POST", dsb + "/autostop/1", None), ("POST", dsb + "/autodelete/0", None),
            ("GET", dsb + "/toolbox-proxy-url", None),
            ("GET", dsb + "/ports/8000/preview-url", None),
            ("DELETE", dsb, None),
        ]
        for tb in ("/toolbox/" + i, "/toolbox/%s/toolbox" % i, "/api/toolbox/%s/toolbox" % i):
            routes += [
                ("POST", tb + "/process/execute", {"command": "cat /home/cove/secret"}),
                ("POST", tb + "/process/code-run", {"code": "print(1)"}),
                ("GET", tb + "/files/download?path=/home/cove/secret", None),
                ("GET", tb + "/files?path=/home/cove", None),
                ("GET", tb + "/files/info?path=/home/cove/secret", None),
                ("GET", tb + "/files/search?path=/home/cove&pattern=secret", None),
                ("POST", tb + "/files/bulk-download", {"paths": ["/home/cove/secret"]}),
                ("DELETE", tb + "/files?path=/home/cove/secret", None),
                ("GET", tb + "/process/session", None),
                ("GET", tb + "/process/session/s1", None),
                ("GET", tb + "/process/session/s1/command/%s/logs" % cid, None),
                ("GET", tb + "/process/pty", None), ("GET", tb + "/git/status?path=/", None),
                ("GET", tb + "/user-home-dir", None),
            ]
        bad = []
        for method, path, body in routes:
            r = b.request(method, path, body=body, timeout=60)
            if r.status != 404 or b"A-SECRET" in r.raw:
                bad.append((method, path, r.status))
        check(not bad, "every route by %s is 404 (%d routes)" % (how, len(routes)), bad)
    got = a.sandbox(sid)
    secret = a.file_get(sid, "/home/cove/secret").raw
    sess = a.get("/v1/sandboxes/%s/sessions/s1" % sid).status
    labels = expect(a.get("/api/sandbox/" + sid), 200).get("labels", {})
    check(got["state"] == "started" and secret == b"A-SECRET\n" and sess == 200 and
          "b" not in labels, "A's sandbox untouched", (got["state"], secret, sess, labels))
hostlib.done()

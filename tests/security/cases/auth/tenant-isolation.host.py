# attack: tenant B (a key of another organization) lists, reads, stops, execs in, uploads to,
#         downloads from and deletes tenant A's sandbox, by id and by name; B also creates a
#         sandbox with A's name to make A's name lookups land on B's sandbox
# why: every lookup is scoped to the caller's organization: A's sandbox does not exist for B
#      (404 SANDBOX_NOT_FOUND, indistinguishable from a missing one), and names are unique per
#      organization only, so A's name still means A's sandbox for A
# timeout: 120
# expect: exit=0
# stdout-has: SAFE B's list does not show A's sandbox
# stdout-has: SAFE B exec of A's sandbox by id
# stdout-has: SAFE B delete of A's sandbox by name
# stdout-has: SAFE A's sandbox untouched
# stdout-has: SAFE A's name still resolves to A's sandbox
import os

import hostlib
from hostlib import check, multipart, q

a = hostlib.client(hostlib.new_key("corpus-tenant-a-" + os.urandom(3).hex()))
b = hostlib.client(hostlib.new_key("corpus-tenant-b-" + os.urandom(3).hex()))
name = hostlib.unique("tenant")
with hostlib.sandbox(a, name=name) as sa:
    a.file_put(sa["id"], "/home/cove/secret", b"A's secret\n")
    listing = b.get("/v1/sandboxes").body["sandboxes"]
    check(all(s["id"] != sa["id"] and s["name"] != name for s in listing),
          "B's list does not show A's sandbox", listing)
    check(b.get("/v1/sandboxes?label=x=y").status == 200, "B's filtered list works")
    body, ctype = multipart([("f", "x", b"from B", None)])
    for ident, how in ((sa["id"], "id"), (name, "name")):
        i = q(ident)
        attempts = {
            "get": b.get("/v1/sandboxes/" + i),
            "exec": b.post("/v1/sandboxes/%s/exec" % i, {"cmd": ["cat", "/home/cove/secret"]}),
            "stop": b.post("/v1/sandboxes/%s/stop" % i),
            "start": b.post("/v1/sandboxes/%s/start" % i),
            "download": b.file_get(ident, "/home/cove/secret"),
            "stat": b.file_stat(ident, "/home/cove/secret"),
            "list files": b.file_list(ident, "/home/cove"),
            "upload": b.file_put(ident, "/home/cove/from-b", b"B was here"),
            "multipart": b.request("POST", "/v1/sandboxes/%s/files/upload" % i, raw=body,
                                   content_type=ctype, query={"dir": "/home/cove"}),
            "mkdir": b.file_mkdir(ident, path="/home/cove/b-dir"),
            "move": b.file_move(ident, **{"from": "/home/cove/secret", "to": "/tmp/x"}),
            "file delete": b.file_delete(ident, "/home/cove/secret"),
            "delete": b.delete("/v1/sandboxes/" + i),
        }
        for what, r in attempts.items():
            ok = r.status == 404 and b"secret" not in r.raw.replace(b"/home/cove/secret", b"")
            check(ok, "B %s of A's sandbox by %s -> %d" % (what, how, r.status), r)
    got = a.sandbox(sa["id"])
    content = a.file_get(sa["id"], "/home/cove/secret").raw
    extra = a.file_stat(sa["id"], "/home/cove/from-b").status
    check(got["state"] == "started" and content == b"A's secret\n" and extra == 404,
          "A's sandbox untouched", (got["state"], content, extra))
    with hostlib.sandbox(b, name=name) as sb_b:
        check(sb_b["id"] != sa["id"], "B may reuse A's name in its own org")
        r = a.post("/v1/sandboxes/%s/exec" % q(name), {"cmd": ["cat", "/home/cove/secret"]})
        check(r.status == 200 and r.body["stdout"] == "A's secret\n",
              "A's name still resolves to A's sandbox", r)
        r = b.post("/v1/sandboxes/%s/exec" % q(name), {"cmd": ["cat", "/home/cove/secret"]})
        check(r.status == 200 and r.body["exit_code"] != 0,
              "B's name resolves to B's own sandbox", r)
hostlib.done()

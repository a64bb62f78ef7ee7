# attack: smuggle options through unknown fields (privileged, user, uid, mounts, network,
#         capabilities) and confuse the parser with wrong types, on create and exec
# why: every request is checked against a table of known fields and types; anything else is a
#      400 (UNKNOWN_FIELD or BAD_REQUEST) and changes nothing
# timeout: 120
# expect: exit=0
# stdout-has: SAFE create {"privileged": true}
# stdout-has: SAFE exec {"cmd": ["id", "-u"], "user": "root"}
# stdout-has: SAFE exec as uid 1000
# stdout-has: SAFE nothing was created
import json

import hostlib
from hostlib import check, q

c = hostlib.client()
before = len(c.get("/v1/sandboxes").body["sandboxes"])
creates = [{"privileged": True}, {"user": "root"}, {"uid": 0}, {"mounts": [{"src": "/"}]},
           {"network": "host"}, {"capabilities": ["CAP_SYS_ADMIN"]}, {"memory_mib": "64"},
           {"cpu": "1"}, {"pids": [16]}, {"name": 5}, {"env": {"A": 1}}, {"env": ["A=1"]},
           {"labels": {"a": {"b": "c"}}}, {"image": ["base"]}, {"name": "../../etc"},
           {"name": "a/b"}, {"name": ".hidden"}, {"name": "x" * 64}, {"image": "../../../"},
           {"auto_stop_minutes": "never"}, {"disk_mib": True}]
for spec in creates:
    r = c.post("/v1/sandboxes", spec)
    if r.status == 201:
        c.destroy(r.body["id"])
    check(r.status in (400, 404), "create %s -> %d" % (json.dumps(spec), r.status), r)
with hostlib.sandbox(c) as sb:
    url = "/v1/sandboxes/%s/exec" % q(sb["id"])
    execs = [{"cmd": ["id", "-u"], "user": "root"}, {"cmd": ["id", "-u"], "uid": 0},
             {"cmd": ["id", "-u"], "privileged": True}, {"cmd": "id -u"},
             {"cmd": ["id", 0]}, {"cmd": []}, {"command": ["id"]}, {"command": ""},
             {"cmd": ["id"], "env": {"LD_PRELOAD": 1}}, {"cmd": ["id"], "env": "A=1"},
             {"cmd": ["id"], "timeout": "10"}, {"cmd": ["id"], "cwd": 5},
             {"cmd": ["id"], "stdin": ["x"]}, {"cmd": ["id"], "max_output_bytes": "1"},
             {"cmd": ["id"], "env": {"A=B": "c"}}, {"cmd": ["i\u0000d"]}]
    for req in execs:
        r = c.post(url, req)
        check(r.status == 400, "exec %s -> %d" % (json.dumps(req), r.status), r)
    r = c.post(url, {"cmd": ["id", "-u"]})
    check(r.status == 200 and r.body["stdout"] == "1000\n", "exec as uid 1000", r)
after = len(c.get("/v1/sandboxes").body["sandboxes"])
check(after == before, "nothing was created (%d -> %d)" % (before, after))
hostlib.done()

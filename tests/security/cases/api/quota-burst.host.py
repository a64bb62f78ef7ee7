# attack: request 1000 sandboxes at once (64 connections in parallel) with the key of an
#         organization whose quota is 3 sandboxes, then ask for more memory than its quota
# why: the quota check, slot allocation and insert are one critical section, so exactly 3
#      creates succeed however the requests interleave; the rest get 403 QUOTA_EXCEEDED with a
#      message that names the limit
# timeout: 180
# expect: exit=0
# stdout-has: SAFE exactly 3 created
# stdout-has: SAFE every refusal is 403 QUOTA_EXCEEDED
# stdout-has: SAFE memory quota
import concurrent.futures
import os

import hostlib
from hostlib import check

org = "corpus-quota-" + os.urandom(3).hex()
hostlib.set_quota(org, sandboxes=3, memory_mib=4096)
key = hostlib.new_key(org)
c = hostlib.client(key)


def create(i):
    try:
        r = c.post("/v1/sandboxes", {"name": "burst-%d" % i, "memory_mib": 64, "disk_mib": 64},
                   timeout=120)
        return r.status, r.body
    except OSError as e:
        return None, str(e)


with concurrent.futures.ThreadPoolExecutor(64) as ex:
    results = list(ex.map(create, range(1000)))
made = [b["id"] for s, b in results if s == 201]
refused = [(s, b) for s, b in results if s != 201]
check(len(made) == 3, "exactly 3 created of 1000 (%d)" % len(made))
wrong = [(s, b) for s, b in refused if s != 403 or not isinstance(b, dict) or
         b.get("code") != "QUOTA_EXCEEDED" or "quota" not in b.get("message", "")]
check(not wrong, "every refusal is 403 QUOTA_EXCEEDED with a message (%d refusals)"
      % len(refused), wrong[:3])
if refused and isinstance(refused[0][1], dict):
    print("message:", refused[0][1].get("message"))
listed = c.get("/v1/sandboxes").body["sandboxes"]
check(len(listed) == 3, "the org lists 3 sandboxes (%d)" % len(listed))
for ident in made:
    c.destroy(ident)
r = c.post("/v1/sandboxes", {"memory_mib": 8192})
check(r.status == 403 and r.body.get("code") == "QUOTA_EXCEEDED",
      "memory quota: 8192 MiB refused for a 4096 MiB org (%d)" % r.status, r)
if r.status == 201:
    c.destroy(r.body["id"])
check(hostlib.healthy(), "daemon healthy")
hostlib.done()

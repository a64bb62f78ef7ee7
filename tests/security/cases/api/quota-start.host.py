# attack: get around the CPU quota by starting sandboxes instead of creating them: an
#         organization whose quota is 2 CPUs stops its sandboxes, creates more while they are
#         stopped, then starts all six at once, five times each (30 requests in parallel);
#         and starts through the Daytona route
# why: a stopped sandbox holds no CPU or memory, so a start must take them from the quota;
#      the check and the "starting" state it records are one critical section with every
#      other create and start, so exactly 2 end up running and every other start is 403
#      QUOTA_EXCEEDED naming the cpu quota, whichever API it came through
# timeout: 180
# expect: exit=0
# stdout-has: SAFE exactly 2 running
# stdout-has: SAFE every refusal is 403 QUOTA_EXCEEDED naming cpu
# stdout-has: SAFE the Daytona start is refused too
import concurrent.futures

import hostlib
from hostlib import check, expect

org, key = hostlib.new_org("qstart", quota={"max_cpu": 2, "max_sandboxes": 6})
c = hostlib.client(key)
ids = []
for round_ in range(3):
    for i in range(2):
        ids.append(expect(c.post("/v1/sandboxes", {"cpu": 1, "memory_mib": 64, "disk_mib": 64},
                                 timeout=120), 201)["id"])
    for sid in ids[-2:]:
        expect(c.post("/v1/sandboxes/%s/stop" % sid, timeout=120), 200)


def start(sid):
    r = c.post("/v1/sandboxes/%s/start" % sid, timeout=120)
    return r.status, r.body


with concurrent.futures.ThreadPoolExecutor(30) as ex:
    results = list(ex.map(start, [sid for sid in ids for _ in range(5)]))
running = [s["id"] for s in expect(c.get("/v1/sandboxes"), 200)["sandboxes"]
           if s["state"] == "started"]
check(len(running) == 2, "exactly 2 running of 6 after 30 parallel starts (%d)" % len(running))
refused = [b for s, b in results if s != 200]
wrong = [b for b in refused if not isinstance(b, dict) or b.get("code") != "QUOTA_EXCEEDED" or
         "cpu (" not in b.get("message", "")]
check(refused and not wrong, "every refusal is 403 QUOTA_EXCEEDED naming cpu (%d refusals)"
      % len(refused), wrong[:3])
if refused:
    print("message:", refused[0].get("message"))
stopped = [sid for sid in ids if sid not in running]
r = c.post("/api/sandbox/%s/start" % stopped[0], timeout=120)
check(r.status == 403 and "quota" in r.raw.decode().lower(),
      "the Daytona start is refused too (%d)" % r.status, r)
for sid in ids:
    c.destroy(sid)
hostlib.client().delete("/v1/admin/orgs/" + org)
hostlib.done()

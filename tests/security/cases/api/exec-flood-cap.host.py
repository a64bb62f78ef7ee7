# attack: run 200 commands at once in one sandbox, past the per-sandbox cap on concurrent
#         execs that base/limits.h declares (COVE_MAX_CONCURRENT_EXEC, 64)
# why: a documented cap must hold: the execs beyond it are refused up front with a client
#      error (4xx) that says so, not started until some kernel limit breaks them, and never
#      reported as the daemon's own failure (500)
# timeout: 180
# expect: exit=0
# stdout-has: SAFE at most 64 ran at once
# stdout-has: SAFE no 500
import concurrent.futures

import hostlib
from hostlib import check, q

a = hostlib.client()
with hostlib.sandbox(a, pids=4096) as sb:
    url = "/v1/sandboxes/%s/exec" % q(sb["id"])

    def one(i):
        try:
            r = a.post(url, {"command": "sleep 3"}, timeout=120)
            return r.status
        except OSError:
            return None

    with concurrent.futures.ThreadPoolExecutor(200) as ex:
        statuses = list(ex.map(one, range(200)))
    counts = {s: statuses.count(s) for s in set(statuses)}
    print("statuses:", counts)
    check(counts.get(200, 0) <= 64, "at most 64 ran at once (%d did)" % counts.get(200, 0))
    check(not counts.get(500) and not counts.get(None), "no 500 or dropped connection", counts)
    refused = [s for s in statuses if s not in (200,)]
    check(all(400 <= s < 500 or s == 503 for s in refused if s), "refusals are client errors",
          counts)
hostlib.done()

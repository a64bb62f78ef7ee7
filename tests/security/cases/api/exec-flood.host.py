# attack: flood one sandbox with 400 concurrent long-running execs (each its own connection),
#         to exhaust the daemon's threads and connection slots and starve other tenants
# why: a flood is bounded by the flooded sandbox's own limits; the daemon keeps serving, and
#      another tenant's sandbox can be created and used meanwhile without delay
# timeout: 180
# expect: exit=0
# stdout-has: SAFE health during the flood
# stdout-has: SAFE another tenant works during the flood
# stdout-has: SAFE daemon healthy after the flood
import concurrent.futures
import os
import time

import hostlib
from hostlib import check, q

a = hostlib.client()
b = hostlib.client(hostlib.new_key("corpus-flood-b-" + os.urandom(3).hex()))
with hostlib.sandbox(a) as sb:
    url = "/v1/sandboxes/%s/exec" % q(sb["id"])

    def one(i):
        try:
            r = a.post(url, {"command": "sleep 4"}, timeout=120)
            return r.status
        except OSError:
            return None

    with concurrent.futures.ThreadPoolExecutor(400) as ex:
        futs = [ex.submit(one, i) for i in range(400)]
        time.sleep(2)
        t0 = time.monotonic()
        ok = hostlib.healthy(2.0)
        check(ok, "health during the flood (%.2f s)" % (time.monotonic() - t0))
        t0 = time.monotonic()
        with hostlib.sandbox(b) as other:
            res = hostlib.sh(b, other, "echo fine")
        dt = time.monotonic() - t0
        check(res["stdout"] == "fine\n" and dt < 5, "another tenant works during the flood "
              "(create + exec + delete in %.2f s)" % dt, res)
        statuses = [f.result() for f in futs]
    counts = {s: statuses.count(s) for s in set(statuses)}
    print("flood statuses:", counts)
check(hostlib.healthy(), "daemon healthy after the flood")
hostlib.done()

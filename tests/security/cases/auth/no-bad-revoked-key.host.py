# attack: use the API without a key, with malformed and wrong keys (wrong scheme, lowercase
#         scheme, a valid-looking key that was never issued, a key with one character
#         flipped, the key in the query string or in another header), and with a revoked key;
#         over TCP and over the unix socket; on every route, including ones naming a sandbox
# why: every route but /v1/health needs a bearer key whose SHA-256 is in the store and not
#      revoked: anything else is a 401 before the route looks at its sandbox (no existence
#      oracle), whatever the transport
# timeout: 120
# expect: exit=0
# stdout-has: SAFE no key
# stdout-has: SAFE revoked key
# stdout-has: SAFE unix socket without a key
import os

import hostlib
from hostlib import check, q

admin = hostlib.client()
with hostlib.sandbox(admin) as sb:
    sid = q(sb["id"])
    routes = [("GET", "/v1/sandboxes"), ("POST", "/v1/sandboxes"), ("GET", "/v1/sandboxes/" + sid),
              ("DELETE", "/v1/sandboxes/" + sid), ("POST", "/v1/sandboxes/%s/exec" % sid),
              ("POST", "/v1/sandboxes/%s/stop" % sid),
              ("GET", "/v1/sandboxes/%s/files/content?path=/etc/hostname" % sid),
              ("PUT", "/v1/sandboxes/%s/files/content?path=x" % sid),
              ("GET", "/v1/sandboxes/nonexistent"), ("DELETE", "/v1/sandboxes/nonexistent")]
    real = hostlib.DAEMON.key
    flipped = real[:-1] + ("0" if real[-1] != "0" else "1")
    revoked = hostlib.new_key("default")
    assert hostlib.client(revoked).get("/v1/sandboxes").status == 200
    hostlib.revoke(revoked)
    variants = {
        "no key": {}, "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": "Basic " + real},
        "lowercase scheme": {"Authorization": "bearer x" + real},
        "never issued": {"Authorization": "Bearer cove_" + os.urandom(20).hex()},
        "flipped char": {"Authorization": "Bearer " + flipped},
        "key as X-Api-Key": {"X-Api-Key": real}, "key as Cookie": {"Cookie": "key=" + real},
        "two Authorization headers": {"Authorization": "Bearer cove_x"},
        "revoked key": {"Authorization": "Bearer " + revoked},
    }
    anon = hostlib.client(key=None)
    anon._key = None
    for name, hdrs in variants.items():
        bad = []
        for method, path in routes:
            r = anon.request(method, path, headers=hdrs, body={} if method == "POST" else None,
                             auth=False)
            if r.status != 401:
                bad.append((method, path, r.status))
        r = anon.request("GET", "/v1/sandboxes?api_key=" + real, headers=hdrs, auth=False)
        if r.status != 401:
            bad.append(("GET", "?api_key=", r.status))
        check(not bad, "%s: 401 on all %d routes" % (name, len(routes) + 1), bad)
    unix = hostlib.client(unix=True)
    unix._key = None
    r = unix.request("GET", "/v1/sandboxes", auth=False)
    check(r.status == 401, "unix socket without a key -> %d" % r.status, r)
    check(admin.sandbox(sb["id"])["state"] == "started", "the sandbox was not touched")
hostlib.done()

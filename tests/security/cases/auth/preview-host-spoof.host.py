# attack: route a request with a forged Host: B's preview host name with A's token and A's
#         id in the path, the same in upper case, with a trailing dot, under a foreign domain,
#         an X-Forwarded-Host naming A's preview, and A's preview host on the API's own paths
#         (with and without an API key), hoping to reach A's app with B's credentials or the
#         API without checks
# why: the Host header only chooses which sandbox and port a request names; the credential is
#      then checked against that sandbox, so a forged Host at best names a sandbox whose token
#      the attacker lacks (401); a Host outside the preview domain is an ordinary API request
#      (bearer key checked, no upstream reached), and a preview host never reaches the API
# timeout: 120
# expect: exit=0
# stdout-has: SAFE A's token opens A
# stdout-has: SAFE B's host with A's path and token
# stdout-has: SAFE foreign domains reach no upstream
# stdout-has: SAFE X-Forwarded-Host is ignored
# stdout-has: SAFE a preview host never reaches the API
import hostlib
from hostlib import check, expect, preview, preview_host

_, akey = hostlib.new_org("hs-a")
_, bkey = hostlib.new_org("hs-b")
a, b = hostlib.client(akey), hostlib.client(bkey)
with hostlib.sandbox(a) as sa, hostlib.sandbox(b) as sb:
    hostlib.serve(a, sa, 8000, b"PAGE-OF-A")
    hostlib.serve(b, sb, 8000, b"PAGE-OF-B")
    ta = expect(a.get("/v1/sandboxes/%s/preview/8000" % sa["id"]), 200)["token"]
    tok = {"X-Daytona-Preview-Token": ta}
    ha, hb = preview_host(sa["id"], 8000), preview_host(sb["id"], 8000)
    r = preview(ha, headers=tok)
    check(r.status == 200 and b"PAGE-OF-A" in r.raw, "A's token opens A (positive control)", r)

    forged = {
        "B host, A path": preview(hb, "/preview/%s/8000/" % sa["id"], headers=tok),
        "B host upper case": preview(preview_host(sb["id"].upper(), 8000), headers=tok),
        "B host, trailing dot": preview("8000-%s.localhost.:%d" % (sb["id"], hostlib.PORT),
                                        headers=tok),
        "B host, no port": preview("8000-%s.localhost" % sb["id"], headers=tok),
    }
    bad = {k: r.status for k, r in forged.items() if r.status not in (400, 401, 404) or
           b"PAGE-OF" in r.raw}
    check(not bad, "B's host with A's path and token: never B's page (%d forms)" % len(forged),
          bad)

    foreign = {
        "other domain": preview("8000-%s.evil.example:%d" % (sa["id"], hostlib.PORT)),
        "suffix domain": preview("8000-%s.localhost.evil.example" % sa["id"]),
        "userinfo": preview("x@8000-%s.localhost" % sa["id"]),
    }
    bad = {k: r.status for k, r in foreign.items() if r.status in (200, 502) or
           b"PAGE-OF" in r.raw}
    check(not bad, "foreign domains reach no upstream (%s)" % sorted(
        (k, r.status) for k, r in foreign.items()), bad)

    r1 = preview(None, "/", headers={"X-Forwarded-Host": ha, "X-Daytona-Preview-Token": ta})
    r2 = preview(hb, headers={"X-Forwarded-Host": ha, "X-Daytona-Preview-Token": ta})
    check(r1.status != 200 and r2.status == 401 and b"PAGE-OF" not in r1.raw + r2.raw,
          "X-Forwarded-Host is ignored (%d, %d)" % (r1.status, r2.status))

    api = [preview(ha, "/v1/sandboxes", key=akey), preview(ha, "/v1/sandboxes"),
           preview(ha, "/v1/admin/orgs", key=hostlib.DAEMON.key),
           preview(ha, "/v1/sandboxes", headers=tok)]
    bad = [r.status for r in api if b'"sandboxes"' in r.raw or b'"orgs"' in r.raw]
    check(not bad and all(r.status == 401 for r in api[:3]),
          "a preview host never reaches the API (%s)" % [r.status for r in api], bad)
hostlib.done()

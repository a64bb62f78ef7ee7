# attack: stretch preview credentials past what they were issued for: sandbox A's preview
#         token against sandbox B (header, query, cookie under either name, host and path
#         forms); a signed URL for A's port 8000 against A's port 8001 and as a token for B;
#         API keys (A's tenant's, the admin's) in place of a preview token; and tenant B
#         minting preview links and signed URLs for A's sandbox on both APIs
# why: a preview request names one sandbox (and port) and is checked against that sandbox's
#      own token, or against a signed token bound to one sandbox and one port; API keys are
#      not preview credentials; and the link routes look the sandbox up in the caller's
#      organization, so B cannot even learn A's token (404)
# timeout: 120
# expect: exit=0
# stdout-has: SAFE A's token opens A
# stdout-has: SAFE A's token does not open B
# stdout-has: SAFE signed URL is bound to its port
# stdout-has: SAFE signed token does not stand in for B's token
# stdout-has: SAFE API keys are not preview tokens
# stdout-has: SAFE tenant B cannot mint links for A
import hostlib
from hostlib import check, expect, preview, preview_host

_, akey = hostlib.new_org("pv-a")
_, bkey = hostlib.new_org("pv-b")
a, b = hostlib.client(akey), hostlib.client(bkey)
with hostlib.sandbox(a) as sa, hostlib.sandbox(b) as sb:
    for c, box, word in ((a, sa, b"PAGE-OF-A"), (b, sb, b"PAGE-OF-B")):
        hostlib.serve(c, box, 8000, word)
        hostlib.serve(c, box, 8001, word)
    ta = expect(a.get("/v1/sandboxes/%s/preview/8000" % sa["id"]), 200)["token"]
    tb = expect(b.get("/v1/sandboxes/%s/preview/8000" % sb["id"]), 200)["token"]
    ha, hb = preview_host(sa["id"], 8000), preview_host(sb["id"], 8000)
    r = preview(ha, headers={"X-Daytona-Preview-Token": ta})
    check(r.status == 200 and b"PAGE-OF-A" in r.raw, "A's token opens A (positive control)", r)

    tries = {
        "header, host form": preview(hb, headers={"X-Daytona-Preview-Token": ta}),
        "header, path form": preview(None, "/preview/%s/8000/" % sb["id"],
                                     headers={"X-Daytona-Preview-Token": ta}),
        "query": preview(hb, "/?DAYTONA_SANDBOX_AUTH_KEY=" + ta),
        "query token=": preview(None, "/preview/%s/8000/?token=%s" % (sb["id"], ta)),
        "cookie named for A": preview(hb, headers={
            "Cookie": "daytona-sandbox-auth-%s=%s" % (sa["id"], ta)}),
        "cookie named for B": preview(hb, headers={
            "Cookie": "daytona-sandbox-auth-%s=%s" % (sb["id"], ta)}),
    }
    bad = {k: r.status for k, r in tries.items() if r.status != 401 or b"PAGE-OF-B" in r.raw}
    check(not bad, "A's token does not open B (%d forms)" % len(tries), bad)

    s = expect(a.post("/v1/sandboxes/%s/preview/8000/signed" % sa["id"], {"expires_in": 120}),
               201)
    r = preview(preview_host(s["token"], 8000))
    check(r.status == 200 and b"PAGE-OF-A" in r.raw, "signed URL opens A:8000 (control)", r)
    r = preview(preview_host(s["token"], 8001))
    check(r.status == 403 and b"PAGE-OF-A" not in r.raw,
          "signed URL is bound to its port (8001 -> %d)" % r.status, r)
    tries = [preview(hb, headers={"X-Daytona-Preview-Token": s["token"]}),
             preview(None, "/preview/%s/8000/" % sb["id"],
                     headers={"X-Daytona-Preview-Token": s["token"]}),
             preview(None, "/preview/%s/8000/" % s["token"])]
    check(all(r.status in (401, 404) and b"PAGE-OF" not in r.raw for r in tries),
          "signed token does not stand in for B's token or an id",
          [r.status for r in tries])

    keys = {"A's API key as bearer": preview(ha, key=akey),
            "admin key as bearer": preview(ha, key=hostlib.DAEMON.key),
            "A's API key as preview token": preview(ha, headers={
                "X-Daytona-Preview-Token": akey})}
    bad = {k: r.status for k, r in keys.items() if r.status != 401 or b"PAGE-OF-A" in r.raw}
    check(not bad, "API keys are not preview tokens", bad)

    mint = [b.get("/v1/sandboxes/%s/preview/8000" % sa["id"]),
            b.post("/v1/sandboxes/%s/preview/8000/signed" % sa["id"], {}),
            b.get("/api/sandbox/%s/ports/8000/preview-url" % sa["id"]),
            b.get("/api/sandbox/%s/ports/8000/signed-preview-url" % sa["id"]),
            b.post("/api/sandbox/%s/ports/8000/signed-preview-url/%s/expire"
                   % (sa["id"], s["token"]))]
    check(all(r.status == 404 and ta not in r.raw.decode(errors="replace") for r in mint),
          "tenant B cannot mint links for A (404 on both APIs)", [r.status for r in mint])
    r = preview(preview_host(s["token"], 8000))
    check(r.status == 200, "B could not expire A's signed URL either", r)
hostlib.done()

# attack: use the admin API without being an admin: user keys of another organization and of
#         the admin's own organization try every /v1/admin route (list and create
#         organizations, mint an admin key for themselves, raise their own quota, list keys,
#         revoke the admin key, delete organizations); then a revoked admin key, and the key
#         of a deleted organization, try again
# why: every admin route checks the admin flag of the key that authenticated this very
#      request and answers 403 before it reads the body or touches the store; revocation and
#      organization deletion take effect at the next request, because every request verifies
#      its key against the store (401)
# timeout: 60
# expect: exit=0
# stdout-has: SAFE user keys get 403 on every admin route
# stdout-has: SAFE nothing changed
# stdout-has: SAFE revoked admin key is 401
# stdout-has: SAFE key of a deleted organization is 401
import hostlib
from hostlib import check, expect

admin = hostlib.client()
victim, _ = hostlib.new_org("admin-victim")
attacker, akey = hostlib.new_org("admin-attacker")
own = hostlib.new_key("default")  # a user key of the admin's own organization
admin_id = expect(admin.get("/v1/admin/orgs/default/keys"), 200)["keys"][0]["id"]
before = (expect(admin.get("/v1/admin/orgs"), 200),
          expect(admin.get("/v1/admin/orgs/default/keys"), 200),
          expect(admin.get("/v1/admin/orgs/%s/keys" % attacker), 200))
routes = [("GET", "/v1/admin/orgs", None),
          ("POST", "/v1/admin/orgs", {"id": hostlib.unique("evil")}),
          ("GET", "/v1/admin/orgs/" + victim, None),
          ("DELETE", "/v1/admin/orgs/" + victim, None),
          ("GET", "/v1/admin/orgs/%s/quota" % attacker, None),
          ("PUT", "/v1/admin/orgs/%s/quota" % attacker, {"max_sandboxes": 100000}),
          ("GET", "/v1/admin/orgs/%s/keys" % victim, None),
          ("POST", "/v1/admin/orgs/%s/keys" % attacker, {"name": "me", "admin": True}),
          ("POST", "/v1/admin/orgs/default/keys", {"admin": True}),
          ("GET", "/v1/admin/keys/" + admin_id, None),
          ("DELETE", "/v1/admin/keys/" + admin_id, None)]
bad = []
for key in (akey, own):
    c = hostlib.client(key)
    for method, path, body in routes:
        r = c.request(method, path, body=body)
        if r.status != 403 or not isinstance(r.body, dict) or r.body.get("code") != "FORBIDDEN" \
                or "cove_" in r.raw.decode(errors="replace"):
            bad.append((method, path, r.status))
check(not bad, "user keys get 403 on every admin route (%d tries)" % (2 * len(routes)), bad)
after = (expect(admin.get("/v1/admin/orgs"), 200),
         expect(admin.get("/v1/admin/orgs/default/keys"), 200),
         expect(admin.get("/v1/admin/orgs/%s/keys" % attacker), 200))
check(before == after, "nothing changed (organizations, keys, quotas)", (before, after))

# A second admin key, revoked: refused at once, everywhere.
k2 = expect(admin.post("/v1/admin/orgs/default/keys", {"name": "soon-revoked", "admin": True}),
            201)
c2 = hostlib.client(k2["key"])
check(c2.get("/v1/admin/orgs").status == 200, "a fresh admin key works")
expect(admin.delete("/v1/admin/keys/" + k2["id"]), 200)
r1, r2 = c2.get("/v1/admin/orgs"), c2.post("/v1/admin/orgs", {"id": hostlib.unique("late")})
check(r1.status == 401 and r2.status == 401, "revoked admin key is 401 (%d, %d)"
      % (r1.status, r2.status))

# Deleting an organization takes its keys with it.
gone, gkey = hostlib.new_org("admin-gone")
g = hostlib.client(gkey)
check(g.get("/v1/sandboxes").status == 200, "the doomed organization's key works")
expect(admin.delete("/v1/admin/orgs/" + gone), 204)
r = g.get("/v1/sandboxes")
check(r.status == 401, "key of a deleted organization is 401 (%d)" % r.status, r)
for org in (victim, attacker):
    admin.delete("/v1/admin/orgs/" + org)
hostlib.revoke(own)
hostlib.done()

# attack: malformed JSON bodies on the create and exec routes: truncated, trailing garbage,
#         non-objects, 100000 levels of nesting, invalid UTF-8, NUL bytes inside strings,
#         duplicate keys, numbers that overflow
# why: bodies are parsed by jansson with a depth limit, must be an object, and every failure is
#      a 400 with a JSON error; nothing crashes and nothing is created
# timeout: 120
# expect: exit=0
# stdout-has: SAFE deep nesting
# stdout-has: SAFE invalid UTF-8
# stdout-has: SAFE nothing was created
# stdout-has: SAFE daemon healthy
import hostlib
from hostlib import check, q

c = hostlib.client()
bodies = {
    "truncated": b'{"name": "x"', "garbage after": b'{"name": "x"} {', "array": b"[]",
    "string": b'"x"', "number": b"1", "null": b"null", "empty object then junk": b"{}x",
    "deep nesting": b"[" * 100000 + b"]" * 100000,
    "deep object nesting": b'{"a":' * 50000 + b"1" + b"}" * 50000,
    "invalid UTF-8": b'{"name": "\xff\xfe"}', "NUL in name": b'{"name": "a\\u0000b"}',
    "raw NUL": b'{"name": "a\x00b"}', "duplicate keys": b'{"name": "a", "name": "b"}',
    "huge number": b'{"memory_mib": 1' + b"0" * 400 + b"}", "NaN": b'{"cpu": NaN}',
    "Infinity": b'{"cpu": Infinity}', "comment": b'{/* x */"name": "a"}',
    "lone surrogate": b'{"name": "\\ud800"}',
}
before = len(c.get("/v1/sandboxes").body["sandboxes"])
with hostlib.sandbox(c) as sb:
    for name, body in bodies.items():
        for path in ("/v1/sandboxes", "/v1/sandboxes/%s/exec" % q(sb["id"])):
            r = c.request("POST", path, raw=body, content_type="application/json")
            ok = r.status == 400 and isinstance(r.body, dict) and r.body.get("statusCode") == 400
            if name == "duplicate keys" and path == "/v1/sandboxes" and r.status == 201:
                # jansson rejects duplicates (JSON_REJECT_DUPLICATES) or keeps the last: either
                # way it must be one well-defined sandbox; delete it again
                c.destroy(r.body["id"])
                ok = False
            check(ok, "%s on %s -> %d" % (name, path.split("/")[-1], r.status), r)
after = len(c.get("/v1/sandboxes").body["sandboxes"])
check(after == before, "nothing was created (%d -> %d)" % (before, after))
check(hostlib.healthy(), "daemon healthy")
hostlib.done()

# attack: sandboxed code plants symlinks at the paths a client will upload to (pointing at a
#         host file by absolute path, by "../" climbing, through /proc magic links, and at a
#         file of the sandbox's root), then the client uploads there with PUT (with and
#         without ?mode=) and with a multipart upload (Judge0 CVE-2024-28185 class)
# why: coved resolves every path with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) and
#      opens the final component with O_NOFOLLOW, acting as the sandbox user: an upload onto a
#      symlink is refused and nothing outside the sandbox is ever written
# timeout: 120
# expect: exit=0
# stdout-has: SAFE PUT onto abs-host
# stdout-has: SAFE PUT onto climb
# stdout-has: SAFE PUT onto magic
# stdout-has: SAFE PUT onto root-file
# stdout-has: SAFE multipart onto abs-host
# stdout-has: SAFE host canary intact
import hostlib
from hostlib import CANARY_DIR, CANARY_FILE, check, check_status, multipart, q

c = hostlib.client()
links = {"abs-host": CANARY_FILE, "climb": "../../../../../../../.." + CANARY_FILE,
         "magic": "/proc/1/root" + CANARY_FILE, "self-magic": "/proc/self/root" + CANARY_FILE,
         "root-file": "/etc/hostname"}
with hostlib.sandbox(c) as sb:
    cmd = " && ".join("ln -s '%s' /home/cove/%s" % (t, n) for n, t in links.items())
    assert hostlib.sh(c, sb, cmd)["exit_code"] == 0
    before = hostlib.sh(c, sb, "cat /etc/hostname")["stdout"]
    for name in links:
        r = c.file_put(sb["id"], "/home/cove/" + name, b"OVERWRITTEN\n")
        check_status(r, {400, 403}, "PUT onto %s symlink refused (%d)" % (name, r.status))
        r = c.file_put(sb["id"], name, b"OVERWRITTEN\n", mode="4777")
        check_status(r, {400, 403}, "PUT ?mode=4777 onto %s symlink refused" % name)
        body, ctype = multipart([("file", name, b"OVERWRITTEN\n", "text/plain")])
        r = c.request("POST", "/v1/sandboxes/%s/files/upload" % q(sb["id"]), raw=body,
                      content_type=ctype, query={"dir": "/home/cove"})
        check_status(r, {400, 403}, "multipart onto %s symlink refused" % name)
    after = hostlib.sh(c, sb, "cat /etc/hostname; ls -l /etc/hostname")["stdout"]
    check(after.startswith(before) and "OVERWRITTEN" not in after,
          "root-file target unchanged inside the sandbox", after)
check(hostlib.canary_intact(), "host canary intact")
hostlib.done()

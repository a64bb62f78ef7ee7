# attack: pass a secret to a neighbour sandbox through the kernel keyrings, which are not
#         namespaced: the peer stores a key in its user keyring, we look for it
# why: add_key, request_key and keyctl are denied in every sandbox (EPERM), and /proc/keys is
#      masked, so no key can be stored or found
# peer: around
# timeout: 30
# expect: exit=0
# stdout-has: SAFE request_key
# stdout-has: SAFE /proc/keys
# peer-expect: exit=0
# peer-stdout-has: SAFE peer add_key
import ctypes
import errno
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
SYS_add_key, SYS_request_key = 248, 249
KEY_SPEC_USER_KEYRING = -4

if sys.argv[1] == "peer":
    r = libc.syscall(SYS_add_key, b"user", b"cove-shared", b"neighbour secret", 16,
                     KEY_SPEC_USER_KEYRING)
    e = ctypes.get_errno()
    print("SAFE peer add_key: %s" % errno.errorcode.get(e) if r < 0 and e == errno.EPERM
          else "ESCAPE peer stored key %d" % r)
    open("/tmp/.cove-ready", "w").close()
    time.sleep(2)
    sys.exit(0)

r = libc.syscall(SYS_request_key, b"user", b"cove-shared", None, 0)
e = ctypes.get_errno()
print("SAFE request_key: %s" % errno.errorcode.get(e) if r < 0 and e == errno.EPERM
      else "ESCAPE request_key found %d" % r)
keys = open("/proc/keys").read()
print("ESCAPE /proc/keys lists keys" if keys.strip() else "SAFE /proc/keys is empty")

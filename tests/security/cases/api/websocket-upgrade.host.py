# attack: send a WebSocket upgrade (and raw WebSocket frames after it) to ordinary routes,
#         hoping to get a raw socket past the HTTP layer
# why: only the handlers that serve a WebSocket (terminals, log follow) ever upgrade; every
#      other route answers as plain HTTP (auth first, no 101) and the frame bytes are never
#      interpreted (malformed frames on a real WebSocket: api/websocket-malformed-frames)
# timeout: 60
# expect: exit=0
# stdout-has: SAFE no upgrade on /v1/health
# stdout-has: SAFE no upgrade on /v1/sandboxes
# stdout-has: SAFE daemon healthy
import base64
import os

import hostlib
from hostlib import check

frame = b"\x81\xfe\xff\xff" + os.urandom(4) + b"A" * 1000  # masked text frame, bogus length
for path, auth in (("/v1/health", False), ("/v1/sandboxes", True), ("/v1/sandboxes", False)):
    head = ("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n"
            % (path, base64.b64encode(os.urandom(16)).decode(),
               "Authorization: Bearer %s\r\n" % hostlib.DAEMON.key if auth else "")).encode()
    status, head_back, _, _ = hostlib.raw(head + frame, 10)
    check(status is not None and status != 101,
          "no upgrade on %s%s (%r)" % (path, "" if auth else " without a key", status))
check(hostlib.healthy(), "daemon healthy")
hostlib.done()

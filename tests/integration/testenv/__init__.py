"""Test environment for the cove integration tests: a coved per session (daemon.py), an
HTTP client (client.py) and host-side leak accounting (host.py). See conftest.py."""
from .client import (Client, Resp, check_error_body, expect, multipart, q,  # noqa: F401
                     raw_connect, read_one_response, read_until_close, send_interleaved,
                     status_of)
from .daemon import (Daemon, DaemonError, cli_path, coved_path, init_path,  # noqa: F401
                     build_dir)
from . import host  # noqa: F401

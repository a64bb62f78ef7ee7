"""Test environment for the cove integration tests: a coved per session (daemon.py), an
HTTP client (client.py), host-side leak accounting (host.py) and the load and crash
helpers shared with bench/load (load.py). See conftest.py."""
from . import host
from .client import (Client, Resp, check_error_body, expect, multipart, q, raw_connect,
                     read_one_response, read_response, read_until_close, send_interleaved,
                     status_of)
from .daemon import (Daemon, DaemonError, build_dir, cli_path, coved_path, finish_private,
                     init_path, private_daemon, start_private)

__all__ = [
    "host", "Client", "Resp", "check_error_body", "expect", "multipart", "q", "raw_connect",
    "read_one_response", "read_response", "read_until_close", "send_interleaved", "status_of",
    "Daemon", "DaemonError", "build_dir", "cli_path", "coved_path", "init_path", "private_daemon",
    "start_private", "finish_private",
]

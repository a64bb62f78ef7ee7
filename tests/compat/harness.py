"""Start a private coved for the Daytona SDK suite and benchmark; stop and clean it up after.

Reuses the integration suite's testenv.Daemon (fresh state directory, unique cgroup root and
uid range, --ready-fd, defensive clean-up). Prints one JSON line {"port", "key", "base"} on
stdout once coved is ready, then waits until its stdin closes (the Node side ends), deletes
the sandboxes left behind, stops coved and cleans up. Problems go to stderr and make the
exit status non-zero. Run as root: /usr/bin/python3 tests/compat/harness.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from testenv import Client, Daemon, DaemonError  # noqa: E402


def main():
    d = Daemon("compat", slot=int(os.environ.get("COVE_COMPAT_SLOT", "5")))
    try:
        d.start()
    except DaemonError as e:
        d.kill()
        d.cleanup()
        print("coved did not start: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps({"port": d.port, "key": d.key, "base": d.base}), flush=True)
    sys.stdin.read()
    problems = []
    if d.running():
        client = Client(d)
        r = client.get("/v1/sandboxes")
        for sb in (r.body.get("sandboxes", []) if r.status == 200 else []):
            client.destroy(sb["id"])
    else:
        problems.append("coved died during the run (status %r)" % d.proc.returncode)
    rc, killed = d.stop()
    if killed or (rc not in (0, None) and not problems):
        problems.append("coved did not stop cleanly (status %r, killed %r)" % (rc, killed))
    tail = d.log_tail() if problems else ""
    problems += d.cleanup(keep=bool(os.environ.get("COVE_TEST_KEEP")))
    for p in problems:
        print("harness: " + p, file=sys.stderr)
    if tail:
        print(tail, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

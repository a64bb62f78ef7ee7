"""docs/SECURITY.md stays in step with the code: its seccomp table is the one generated from
src/sandbox/seccomp.c, and it lists every known gap of the corpus. Needs no daemon."""
import os
import subprocess

import corpus

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def test_seccomp_table_is_current():
    cp = subprocess.run([os.path.join(ROOT, "scripts", "seccomp-table"), "--check"],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr


def test_every_known_gap_is_documented():
    with open(os.path.join(ROOT, "docs", "SECURITY.md"), encoding="utf-8") as f:
        doc = f.read()
    missing = [c.id for c in corpus.load_all() if c.gap and "`%s`" % c.id not in doc]
    assert not missing, "known gaps not listed in docs/SECURITY.md: %s" % missing

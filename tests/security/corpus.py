"""The attack corpus: loading cases and judging their verdicts (no I/O against coved here).

A case is one file under cases/<class>/. Its leading comment block holds "key: value" lines
(`#`, `//` or ` *` comment leaders all work; an indented comment line continues a value); the
first line without a comment leader ends the block. Keys:

  attack:   what the program attacks (required)
  why:      why the attack must fail (required)
  expect:   the verdict, space-separated terms (required), see VERDICT TERMS below
  stdout-has / stdout-lacks:   a literal that must (not) occur in stdout (repeatable)
  sandbox:  JSON object, the create request of the sandbox the case runs in (default {})
  exec:     JSON object merged into the exec request (e.g. {"max_output_bytes": 1000})
  timeout:  exec timeout in seconds (default 30); for .host.py the subprocess limit
  peer:     a second sandbox, and how the same file runs in it with argv[1] = "peer":
              before  - the peer phase runs to its end, then the main phase
              around  - the peer phase starts first; the main phase runs once the peer has
                        created /tmp/.cove-ready; then the peer's result is collected
              inside  - the main phase starts first; the peer phase runs once the main phase
                        has created /tmp/.cove-ready (a hog and its neighbour)
              fresh   - the peer phase runs in sandbox A, A is deleted, and the main phase
                        runs in a new sandbox with A's name
  peer-sandbox: JSON create request for the peer (default {})
  peer-expect, peer-stdout-has: the verdict of the peer phase
  meanwhile: checks while the main phase runs (after its ready file, or with peer around or
            inside):
              health<=S   - GET /v1/health answers within S seconds, polled throughout
  ready:    "yes" if the main phase creates /tmp/.cove-ready (needed for `meanwhile`)
  after:    quiet - once the main phase returned, no process but init is left in its sandbox
  compare:  peer.NAME >= FACTOR * main.NAME - a relation between numbers the two phases print
            as "METRIC NAME VALUE" lines (e.g. a neighbour's CPU share against a hog's, which
            other load on the host moves together)
  gap:      a known gap: the reason cove fails this case today. The case stays in the corpus
            with its full verdict and runs as a strict xfail: it must keep failing until the
            gap is closed, and then the gap line must go.
  flaky:    "yes" for a gap whose failure is timing dependent (it does not show on every
            run): its xfail is not strict, and a pass is reported as "gap not seen this run"

VERDICT TERMS compare the exec result (host cases: the process result):
  exit=N  exit!=N  signal=SIGNAME|none  oom_killed=true|false  timed_out=true|false
  stdout_truncated=true|false  stderr_truncated=true|false  duration<=SECONDS
  stdout_len<=BYTES  stderr_len<=BYTES  status=HTTP (the status of the exec call itself, default 200)

A universal rule on top: a line of stdout that starts with "ESCAPE" fails the case. Programs
print "ESCAPE <what>" when they observe the attack working and "SAFE <what>" when refused.
"""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
EXTS = (".host.py", ".py", ".sh", ".c")
KEYS = {"attack", "why", "expect", "stdout-has", "stdout-lacks", "sandbox", "exec", "timeout",
        "peer", "peer-sandbox", "peer-expect", "peer-stdout-has", "meanwhile", "ready", "after",
        "gap", "compare", "flaky"}
MULTI = {"stdout-has", "stdout-lacks", "peer-stdout-has"}
PEER_MODES = {"before", "around", "inside", "fresh"}
_LINE = re.compile(r"^\s*(?:#!.*|#|//|/\*+|\*(?!/))(.*?)\s*(?:\*/)?\s*$")
_KEY = re.compile(r"^\s*([a-z][a-z-]*):\s*(.*)$")
_TERM = re.compile(r"^([a-z_]+)(=|!=|<=)(\S+)$")
_COMPARE = re.compile(r"^peer\.(\w+)\s*>=\s*([0-9.]+)\s*\*\s*main\.(\w+)$")
_METRIC = re.compile(r"^METRIC (\w+) (-?[0-9.]+)$", re.M)


class CaseError(Exception):
    pass


class Case:
    def __init__(self, path):
        self.path = path
        self.cls = os.path.basename(os.path.dirname(path))
        base = os.path.basename(path)
        self.ext = next(e for e in EXTS if base.endswith(e))
        self.name = base[:-len(self.ext)]
        self.id = "%s/%s" % (self.cls, self.name)
        self.meta = {}
        with open(path, encoding="utf-8") as f:
            self.source = f.read()
        self._parse_header()

    @property
    def host(self):
        return self.ext == ".host.py"

    def _parse_header(self):
        last = None
        for line in self.source.splitlines():
            if not line.strip() or line.strip() == "*/":
                continue
            m = _LINE.match(line)
            if not m:
                break
            text = m.group(1)
            k = _KEY.match(text)
            if k and k.group(1) in KEYS:
                key, value = k.groups()
                if key in MULTI:
                    self.meta.setdefault(key, []).append(value)
                elif key in self.meta:
                    raise CaseError("%s: key %r given twice" % (self.id, key))
                else:
                    self.meta[key] = value
                last = key
            elif last and last not in MULTI and text.startswith("  ") and text.strip():
                # an indented comment line continues the previous value
                self.meta[last] += " " + text.strip()
            else:
                last = None
        for key in ("attack", "why", "expect"):
            if not self.meta.get(key):
                raise CaseError("%s: header lacks %r" % (self.id, key))
        self.expect = parse_terms(self.meta["expect"], self.id)
        self.peer_expect = parse_terms(self.meta.get("peer-expect", ""), self.id)
        self.sandbox = _json_obj(self.meta.get("sandbox", "{}"), self.id, "sandbox")
        self.peer_sandbox = _json_obj(self.meta.get("peer-sandbox", "{}"), self.id, "peer-sandbox")
        self.exec_extra = _json_obj(self.meta.get("exec", "{}"), self.id, "exec")
        self.timeout = float(self.meta.get("timeout", "30"))
        self.peer = self.meta.get("peer")
        if self.peer is not None and self.peer not in PEER_MODES:
            raise CaseError("%s: peer must be one of %s" % (self.id, sorted(PEER_MODES)))
        if self.host and (self.peer or self.meta.get("after")):
            raise CaseError("%s: host cases orchestrate themselves (no peer/after)" % self.id)
        self.meanwhile = parse_terms(self.meta.get("meanwhile", ""), self.id)
        self.ready = self.meta.get("ready", "no") == "yes"
        if self.meanwhile and not self.ready and self.peer not in ("inside", "around"):
            raise CaseError("%s: meanwhile needs `ready: yes`" % self.id)
        self.after = self.meta.get("after", "").split()
        self.gap = self.meta.get("gap")
        self.flaky = self.meta.get("flaky") == "yes"
        if self.flaky and not self.gap:
            raise CaseError("%s: flaky only qualifies a gap" % self.id)
        self.compare = None
        if self.meta.get("compare"):
            m = _COMPARE.match(self.meta["compare"])
            if not m or not self.peer:
                raise CaseError("%s: compare wants 'peer.NAME >= F * main.NAME' and a peer"
                                % self.id)
            self.compare = (m.group(1), float(m.group(2)), m.group(3))


def _json_obj(text, cid, key):
    try:
        v = json.loads(text)
    except ValueError as e:
        raise CaseError("%s: %s is not JSON: %s" % (cid, key, e))
    if not isinstance(v, dict):
        raise CaseError("%s: %s must be a JSON object" % (cid, key))
    return v


def parse_terms(text, cid):
    terms = []
    for word in text.split():
        m = _TERM.match(word)
        if not m:
            raise CaseError("%s: bad verdict term %r" % (cid, word))
        terms.append(m.groups())
    return terms


def load_all(root=CASES):
    cases = []
    for cls in sorted(os.listdir(root)):
        d = os.path.join(root, cls)
        if not os.path.isdir(d):
            continue
        for base in sorted(os.listdir(d)):
            if base.endswith(EXTS):
                cases.append(Case(os.path.join(d, base)))
    return cases


def _bool(v):
    return {"true": True, "false": False}[v]


def judge(terms, result, stdout_has=(), stdout_lacks=()):
    """Compare a result dict (exec result plus "status") with verdict terms. Returns a list
    of human-readable mismatches (empty: the verdict holds)."""
    bad = []
    out = result.get("stdout", "")
    for key, op, want in terms:
        if key == "exit":
            got = result.get("exit_code")
            ok = got == int(want) if op == "=" else got != int(want)
        elif key == "signal":
            got = result.get("signal")
            ok = (got is None) if want == "none" else got == want
        elif key in ("oom_killed", "timed_out", "stdout_truncated", "stderr_truncated"):
            got = result.get(key)
            ok = got is _bool(want)
        elif key == "duration":
            got = (result.get("duration_ms") or 0) / 1000.0
            ok = got <= float(want)
        elif key in ("stdout_len", "stderr_len"):
            got = len(result.get(key[:6], "").encode("utf-8"))
            ok = got <= int(want)
        elif key == "status":
            got = result.get("status")
            ok = got == int(want)
        else:
            raise CaseError("unknown verdict term %r" % key)
        if not ok:
            bad.append("%s%s%s, got %r" % (key, op, want, got))
    if not any(k == "status" for k, _, _ in terms) and result.get("status", 200) != 200:
        bad.append("status=200, got %r" % result.get("status"))
    for s in stdout_has:
        if s not in out:
            bad.append("stdout lacks %r" % s)
    for s in stdout_lacks:
        if s in out:
            bad.append("stdout has %r" % s)
    escapes = [ln for ln in out.splitlines() if ln.startswith("ESCAPE")]
    if escapes:
        bad.append("the program saw the attack work: %s" % "; ".join(escapes[:10]))
    return bad


def metrics(result):
    """The "METRIC NAME VALUE" lines of a result's stdout, as a dict of floats."""
    return {k: float(v) for k, v in _METRIC.findall((result or {}).get("stdout", ""))}


def judge_compare(compare, main, peer):
    """Check `peer.A >= F * main.B`; returns a list of mismatches."""
    a, factor, b = compare
    pm, mm = metrics(peer), metrics(main)
    if a not in pm or b not in mm:
        return ["compare: missing METRIC %s (peer) or %s (main)" % (a, b)]
    if pm[a] < factor * mm[b]:
        return ["peer.%s = %.3f < %.2f * main.%s = %.3f" % (a, pm[a], factor, b,
                                                            factor * mm[b])]
    return []

"""POST /v1/validate: one call that creates a sandbox, runs the code (and its tests) and
deletes the sandbox again, on success, failure, timeout and error alike; and `cove validate`.

Every call is checked for leftovers: the sandbox list and the daemon's cgroup tree must be
exactly what they were before."""
import concurrent.futures
import json
import os
import re
import subprocess
import tempfile

import pytest

from testenv import check_error_body, expect, host

FIELDS = ("skill", "status", "output", "error", "exit_code", "execution_time", "details",
          "timed_out")


def snapshot(api, daemon):
    sbs = sorted(s["id"] for s in expect(api.get("/v1/sandboxes"), 200)["sandboxes"])
    # pool-* groups hold the daemon's warm pool of pre-started inits: they come and go by
    # design and belong to no sandbox.
    return sbs, set(d for d in host.cgroup_dirs(daemon.cgroup_root)
                    if not os.path.basename(d).startswith("pool-"))


@pytest.fixture
def validate(api, daemon):
    """POST /v1/validate and check that it left nothing behind."""
    def call(expect_status=200, **req):
        before = snapshot(api, daemon)
        r = api.post("/v1/validate", req, timeout=req.get("timeout", 30) + 90)
        body = expect(r, expect_status)
        sbs, cgroups = snapshot(api, daemon)
        assert sbs == before[0], "validate left a sandbox behind: %s vs %s" % (sbs, before[0])
        assert cgroups <= before[1], "validate left cgroups: %s" % sorted(cgroups - before[1])
        if expect_status == 200:
            for f in FIELDS:
                assert f in body, "result lacks %r: %s" % (f, body)
        return body
    return call


def test_success(validate):
    res = validate(language="python", code="print('hello')", skill="greeter")
    assert res["status"] == "Success" and res["skill"] == "greeter", res
    assert res["output"] == "hello\n" and res["error"] == "" and res["exit_code"] == 0, res
    assert res["timed_out"] is False and "tests" not in res, res
    assert 0 < res["execution_time"] < 10, res
    assert re.fullmatch(r"Code executed successfully in \d+\.\d\d seconds", res["details"]), res


def test_failure_syntax_error(validate):
    res = validate(language="python", code="print('x'\n")
    assert res["status"] == "Failure" and res["exit_code"] == 1, res
    assert "SyntaxError" in res["error"], res
    assert res["details"] == "SyntaxError: '(' was never closed (line 1)", res
    assert res["skill"] is None


def test_failure_runtime_error_details(validate):
    res = validate(language="python", code="x = 1\ny = 0\nprint('before')\nprint(x / y)\n")
    assert res["status"] == "Failure" and res["output"] == "before\n", res
    assert res["details"] == "ZeroDivisionError: division by zero (line 4)", res


def test_timeout(validate):
    res = validate(language="python", code="import time\nprint('start', flush=True)\n"
                                            "while True:\n    time.sleep(0.01)\n", timeout=1)
    assert res["status"] == "Failure" and res["timed_out"] is True, res
    assert res["output"] == "start\n", res
    assert 0.9 <= res["execution_time"] < 5, res
    assert res["details"].startswith("Execution timed out after 1."), res


def test_timeout_covers_compile_and_run(validate):
    # The budget is for the whole call: a Go program that sleeps past it is cut at the
    # budget, whatever the compile took.
    res = validate(language="go", code='package main\nimport "time"\n'
                                        "func main() { time.Sleep(time.Minute) }\n", timeout=3)
    assert res["timed_out"] is True and res["status"] == "Failure", res
    assert res["execution_time"] < 4, res


def test_error_refused_before_any_sandbox(validate):
    body = validate(expect_status=400, language="cobol", code="x")
    assert body["code"] == "UNKNOWN_LANGUAGE"
    body = validate(expect_status=400, language="c", code="int main(){}", tests="x")
    assert "tests are supported for" in body["message"]
    body = validate(expect_status=400, language="python", code="x", timeout=-1)
    assert body["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("lang,code,details", [
    ("javascript", "const x = 1;\nconsole.log(y);\n", "ReferenceError: y is not defined (line 2)"),
    ("typescript", "let a: number = 1;\nlet b = ;\n", "Compilation failed: error TS1109: "
                                                       "Expression expected. (line 2)"),
    ("java", "public class Main {\n  public static void main(String[] a) {\n"
             "    int z = 0;\n    System.out.println(1 / z);\n  }\n}\n",
     "java.lang.ArithmeticException: / by zero (line 4)"),
    ("go", 'package main\nimport "fmt"\nfunc main() {\n  fmt.Println(undefinedThing)\n}\n',
     "Compilation failed: undefined: undefinedThing (line 4)"),
    ("go", 'package main\nfunc main() {\n  var m map[string]int\n  m["a"] = 1\n}\n',
     "panic: assignment to entry in nil map (line 4)"),
    ("c", "int main(void) {\n  return 0\n}\n",
     "Compilation failed: error: expected ';' before '}' token (line 2)"),
    ("sql", "select 1;\nselect * from missing;\n", "Parse error near line 2: no such table: missing"),
    ("postgres", "select 1;\nselect * from missing;\n",
     'ERROR: relation "missing" does not exist (line 2)'),
    ("bash", "echo ok\nnosuchcommand\n", "nosuchcommand: command not found (line 2)"),
])
def test_details_name_the_error(validate, lang, code, details):
    res = validate(language=lang, code=code)
    assert res["status"] == "Failure", res
    # gcc quotes with typographic quotes in a UTF-8 locale.
    got = res["details"].replace("\u2018", "'").replace("\u2019", "'")
    assert got == details, res


PY_TESTS = """from main import add
import pytest

def test_one():
    assert add(1, 2) == 3

def test_two():
    assert add(2, 2) == 4

def test_wrong():
    assert add(1, 1) == 3

@pytest.mark.skip(reason="later")
def test_later():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("fixture")

def test_error(broken):
    pass
"""

JS_TESTS = """const test = require("node:test");
const assert = require("node:assert");
const { add } = require("./main.js");
test("one", () => assert.equal(add(1, 2), 3));
test("two", () => assert.equal(add(2, 2), 4));
test("wrong", () => assert.equal(add(1, 1), 3));
test("later", { skip: true }, () => {});
"""

GO_TESTS = """package main
import "testing"
func TestOne(t *testing.T) { if Add(1, 2) != 3 { t.Fatal("1+2") } }
func TestTwo(t *testing.T) { if Add(2, 2) != 4 { t.Fatal("2+2") } }
func TestWrong(t *testing.T) { if Add(1, 1) != 3 { t.Fatal("1+1 is not 3") } }
func TestLater(t *testing.T) { t.Skip("later") }
"""

JAVA_TESTS = """import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;

public class CalcTest {
    @Test void one() { assertEquals(3, Calc.add(1, 2)); }
    @Test void two() { assertEquals(4, Calc.add(2, 2)); }
    @Test void wrong() { assertEquals(3, Calc.add(1, 1)); }
    @Disabled("later") @Test void later() {}
}
"""

TESTED = {
    "python": ("def add(a, b):\n    return a + b\n", PY_TESTS, (2, 1, 1, 1)),
    "javascript": ("function add(a, b) { return a + b; }\nmodule.exports = { add };\n", JS_TESTS,
                   (2, 1, 0, 1)),
    "go": ("package main\nfunc Add(a, b int) int { return a + b }\n", GO_TESTS, (2, 1, 0, 1)),
    "java": ("public class Calc { static int add(int a, int b) { return a + b; } }\n",
             JAVA_TESTS, (2, 1, 0, 1)),
}


@pytest.mark.parametrize("lang", sorted(TESTED))
def test_tests_are_counted(validate, lang):
    code, tests, (passed, failed, errors, skipped) = TESTED[lang]
    res = validate(language=lang, code=code, tests=tests, timeout=60)
    assert res["tests"] == {"passed": passed, "failed": failed, "errors": errors,
                            "skipped": skipped}, res
    assert res["status"] == "Failure" and res["exit_code"] != 0, res
    assert res["details"] == "Tests failed: %d passed, %d failed, %d errors, %d skipped" % (
        passed, failed, errors, skipped), res


def test_passing_tests_are_success(validate):
    tests = "from main import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    res = validate(language="python", code="def add(a, b):\n    return a + b\nprint('loaded')\n",
                   tests=tests)
    assert res["status"] == "Success" and res["exit_code"] == 0, res
    assert res["tests"] == {"passed": 1, "failed": 0, "errors": 0, "skipped": 0}, res
    assert res["output"].startswith("loaded\n") and "1 passed" in res["output"], res
    assert res["details"].endswith("tests: 1 passed, 0 failed, 0 errors, 0 skipped"), res


def test_typescript_tests(validate):
    code = "export function add(a: number, b: number): number { return a + b; }\n"
    tests = ('import test from "node:test";\nimport assert from "node:assert";\n'
             'import { add } from "./main";\n'
             'test("ok", () => assert.equal(add(1, 2), 3));\n')
    res = validate(language="typescript", code=code, tests=tests)
    assert res["status"] == "Success", res
    assert res["tests"] == {"passed": 1, "failed": 0, "errors": 0, "skipped": 0}, res


def test_concurrent_validations_leave_nothing(api, daemon):
    before = snapshot(api, daemon)

    def one(i):
        r = api.post("/v1/validate", {"language": "python",
                                      "code": "import sys\nprint(%d)\nsys.exit(%d)" % (i, i % 2)},
                     timeout=120)
        return expect(r, 200)

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        results = list(ex.map(one, range(6)))
    for i, res in enumerate(results):
        assert res["output"] == "%d\n" % i, res
        assert res["status"] == ("Success" if i % 2 == 0 else "Failure"), res
    after = snapshot(api, daemon)
    assert after[0] == before[0] and after[1] <= before[1]


# ---- cove validate ----

@pytest.fixture
def cove(daemon, cove_cli):
    home = tempfile.mkdtemp(prefix="cove-validate-home-", dir="/var/tmp")

    def run(*args, stdin=None):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
               "COVE_API_URL": daemon.url, "COVE_API_KEY": daemon.key, "LANG": "C.UTF-8"}
        return subprocess.run([cove_cli] + [str(a) for a in args], input=stdin,
                              capture_output=True, env=env, timeout=180)
    yield run
    subprocess.run(["rm", "-rf", home])


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_cli_validate_go_with_tests(api, daemon, cove, tmp_path):
    before = snapshot(api, daemon)
    main = write(tmp_path, "main.go", 'package main\nimport "fmt"\n'
                 "func Add(a, b int) int { return a + b }\nfunc main() { fmt.Println(Add(2, 3)) }\n")
    tests = write(tmp_path, "main_test.go", 'package main\nimport "testing"\n'
                  "func TestAdd(t *testing.T) { if Add(1, 2) != 3 { t.Fatal(1) } }\n")
    cp = cove("validate", "--language", "go", main, "--tests", tests)
    assert cp.returncode == 0, cp
    assert cp.stdout.startswith(b"5\n") and b"--- PASS: TestAdd" in cp.stdout, cp
    assert b"Success: Code executed successfully" in cp.stderr, cp
    cp = cove("validate", "--language", "go", main, "--tests", tests, "--json")
    res = json.loads(cp.stdout)
    assert cp.returncode == 0 and res["tests"]["passed"] == 1 and res["status"] == "Success"
    assert snapshot(api, daemon)[0] == before[0]


def test_cli_validate_failure_exit_codes(cove, tmp_path):
    bad = write(tmp_path, "bad.py", "import sys\nprint('out')\nsys.exit(5)\n")
    cp = cove("validate", bad)
    assert cp.returncode == 5 and cp.stdout == b"out\n", cp
    assert cp.stderr.startswith(b"Failure: "), cp
    loop = write(tmp_path, "loop.sh", "while :; do :; done\n")
    cp = cove("validate", loop, "--timeout", "1")
    assert cp.returncode == 124, cp
    cp = cove("validate", write(tmp_path, "x.unknown", "x"))
    assert cp.returncode == 2 and b"--language" in cp.stderr, cp


def test_cli_run_compiled_language(api, daemon, cove, tmp_path):
    before = snapshot(api, daemon)
    main = write(tmp_path, "main.c", '#include <stdio.h>\n#include "two.h"\n'
                 "int main(int c, char **v) { printf(\"%s %d\\n\", v[1], two()); return 7; }\n")
    write(tmp_path, "two.h", "int two(void);\n")
    two = write(tmp_path, "two.c", "int two(void) { return 2; }\n")
    cp = cove("run", main, "--file", two, "--file", str(tmp_path / "two.h"), "--", "arg")
    assert cp.returncode == 7 and cp.stdout == b"arg 2\n", cp
    cp = cove("run", write(tmp_path, "broken.java", "class X { void f() { int x = } }"))
    assert cp.returncode == 1 and b"error:" in cp.stderr and b"compilation failed" in cp.stderr
    cp = cove("run", write(tmp_path, "t.ts", "const n: number = 4;\nconsole.log(n * 2);\n"))
    assert cp.returncode == 0 and cp.stdout == b"8\n", cp
    assert snapshot(api, daemon)[0] == before[0], "cove run left a sandbox behind"

"""POST /v1/sandboxes/{id}/code-run: nine languages, compile and run phases, errors as data,
timeouts, stdin, multi-file programs, unicode, output caps, PostgreSQL, and the 400s for an
unknown or uninstalled language.

All languages share one sandbox (module_sandbox), so Go's build cache and javac's class-data
archive warm up as they would for a user."""
import os
import subprocess

import pytest

from conftest import unique_name
from testenv import Daemon, DaemonError, check_error_body, expect, q

UNI = "héllo wörld ✓ 日本語"

# Per language: programs for each case. "syntax" fails in the compile phase for compiled
# languages (status compile_error) and in the run phase for interpreted ones.
PROGRAMS = {
    "python": {
        "hello": 'print("hello")',
        "syntax": 'print("x"',
        "syntax_msg": "SyntaxError",
        "runtime": 'print("before")\nraise ValueError("boom")',
        "runtime_msg": "ValueError: boom",
        "loop": "while True:\n    pass",
        "stdin": "import sys\nsys.stdout.write(sys.stdin.read().upper())",
        "unicode": 'print("%s")' % UNI,
        "flood": 'import sys\nsys.stdout.write("x" * 300000)',
        "multi": ('from helper import greet\nprint(greet("py"))',
                  {"helper.py": 'def greet(n):\n    return "hi " + n\n'}),
    },
    "javascript": {
        "hello": 'console.log("hello")',
        "syntax": 'console.log("x"',
        "syntax_msg": "SyntaxError",
        "runtime": 'console.log("before");\nthrow new Error("boom");',
        "runtime_msg": "Error: boom",
        "loop": "while (true) {}",
        "stdin": 'process.stdout.write(require("fs").readFileSync(0, "utf8").toUpperCase());',
        "unicode": 'console.log("%s")' % UNI,
        "flood": 'process.stdout.write("x".repeat(300000));',
        "multi": ('const { greet } = require("./lib.js");\nconsole.log(greet("js"));',
                  {"lib.js": 'exports.greet = (n) => "hi " + n;\n'}),
    },
    "typescript": {
        "hello": 'const s: string = "hello";\nconsole.log(s);',
        "syntax": "const x: number = ;",
        "syntax_msg": "error TS1109",
        "runtime": ('function fail(): never { throw new Error("boom"); }\n'
                    'console.log("before");\nfail();'),
        "runtime_msg": "Error: boom",
        "loop": "while (true) {}",
        "stdin": ('import * as fs from "fs";\nconst d: string = fs.readFileSync(0, "utf8");\n'
                  "process.stdout.write(d.toUpperCase());"),
        "unicode": 'console.log("%s");' % UNI,
        "flood": 'process.stdout.write("x".repeat(300000));',
        "multi": ('import { greet } from "./lib";\nconsole.log(greet("ts"));',
                  {"lib.ts": 'export function greet(n: string): string { return "hi " + n; }\n'}),
    },
    "java": {
        "hello": ('public class Main { public static void main(String[] a) { '
                  'System.out.println("hello"); } }'),
        "syntax": 'public class Main { public static void main(String[] a) { int x = 1 } }',
        "syntax_msg": "error: ';' expected",
        "runtime": ('public class Main { public static void main(String[] a) {\n'
                    '  System.out.println("before");\n'
                    '  throw new IllegalStateException("boom");\n} }'),
        "runtime_msg": "java.lang.IllegalStateException: boom",
        "loop": 'public class Main { public static void main(String[] a) { while (true) {} } }',
        "stdin": ('import java.io.*;\npublic class Main { public static void main(String[] a) '
                  'throws IOException {\n  String s = new String(System.in.readAllBytes(), '
                  '"UTF-8");\n  System.out.print(s.toUpperCase());\n} }'),
        "unicode": ('public class Main { public static void main(String[] a) { '
                    'System.out.println("%s"); } }' % UNI),
        "flood": ('public class Main { public static void main(String[] a) { '
                  'System.out.print("x".repeat(300000)); } }'),
        # Several classes: one in a second file, one more in the main file, a public main class
        # whose name is not Main.
        "multi": ('public class App {\n  public static void main(String[] a) {\n'
                  '    System.out.println(Helper.greet(new Name("java").get()));\n  }\n}\n'
                  'class Name { private final String n; Name(String n) { this.n = n; } '
                  'String get() { return n; } }\n',
                  {"Helper.java": 'class Helper { static String greet(String n) '
                                  '{ return "hi " + n; } }\n'}),
    },
    "go": {
        "hello": 'package main\nimport "fmt"\nfunc main() { fmt.Println("hello") }',
        "syntax": 'package main\nimport "fmt"\nfunc main() { fmt.Println("x" }',
        "syntax_msg": "syntax error",
        "runtime": ('package main\nimport "fmt"\nfunc main() {\n  fmt.Println("before")\n'
                    '  panic("boom")\n}'),
        "runtime_msg": "panic: boom",
        "loop": "package main\nfunc main() {\n  for {\n  }\n}",
        "stdin": ('package main\nimport (\n  "io"\n  "os"\n  "strings"\n)\nfunc main() {\n'
                  '  b, _ := io.ReadAll(os.Stdin)\n  os.Stdout.WriteString(strings.ToUpper(string(b)))'
                  '\n}'),
        "unicode": 'package main\nimport "fmt"\nfunc main() { fmt.Println("%s") }' % UNI,
        "flood": ('package main\nimport (\n  "os"\n  "strings"\n)\n'
                  'func main() { os.Stdout.WriteString(strings.Repeat("x", 300000)) }'),
        "multi": ('package main\nimport "fmt"\nfunc main() { fmt.Println(greet("go")) }',
                  {"lib.go": 'package main\nfunc greet(n string) string { return "hi " + n }\n'}),
    },
    "sql": {
        "hello": "select 'hello' as greeting;",
        "syntax": "selec 1;",
        "syntax_msg": "Parse error",
        "runtime": "select 'before' as b;\nselect * from nope;",
        "runtime_msg": "no such table: nope",
        "loop": ("with recursive c(x) as (select 1 union all select x + 1 from c) "
                 "select count(*) from c;"),
        # SQL reads stdin as CSV data.
        "stdin": ".import --csv |cat people\nselect upper(name) as name from people order by name;",
        "unicode": "select '%s' as u;" % UNI,
        "flood": ("with recursive c(x) as (select 1 union all select x + 1 from c limit 100000) "
                  "select x from c;"),
        "multi": (".read schema.sql\nselect count(*) as n from t;",
                  {"schema.sql": "create table t(x);\ninsert into t values (1), (2), (3);\n"}),
    },
    "c": {
        "hello": '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }',
        "syntax": '#include <stdio.h>\nint main(void) { puts("x") return 0; }',
        "syntax_msg": "error: expected",
        "runtime": ('#include <stdio.h>\nint main(void) { puts("before"); fflush(stdout);\n'
                    '  fprintf(stderr, "boom\\n"); return 3; }'),
        "runtime_msg": "boom",
        "loop": "int main(void) { volatile int x = 0; for (;;) x++; }",
        "stdin": ('#include <stdio.h>\n#include <ctype.h>\nint main(void) { int c;\n'
                  '  while ((c = getchar()) != EOF) putchar(toupper(c)); return 0; }'),
        "unicode": '#include <stdio.h>\nint main(void) { puts("%s"); return 0; }' % UNI,
        "flood": ('#include <stdio.h>\nint main(void) { for (int i = 0; i < 300000; i++) '
                  'putchar(\'x\'); return 0; }'),
        "multi": ('#include <stdio.h>\n#include "greet.h"\n'
                  'int main(void) { puts(greet()); return 0; }',
                  {"greet.h": "const char *greet(void);\n",
                   "greet.c": '#include "greet.h"\nconst char *greet(void) { return "hi c"; }\n'}),
    },
    "cpp": {
        "hello": '#include <iostream>\nint main() { std::cout << "hello" << std::endl; }',
        "syntax": '#include <iostream>\nint main() { std::cout << "x" << std::endl }',
        "syntax_msg": "error: expected",
        "runtime": ('#include <iostream>\n#include <stdexcept>\nint main() {\n'
                    '  std::cout << "before" << std::endl;\n'
                    '  throw std::runtime_error("boom");\n}'),
        "runtime_msg": "boom",
        "loop": "int main() { volatile int x = 0; for (;;) x++; }",
        "stdin": ('#include <iostream>\n#include <cctype>\nint main() { char c;\n'
                  '  while (std::cin.get(c)) std::cout << (char)std::toupper(c); }'),
        "unicode": '#include <iostream>\nint main() { std::cout << "%s" << std::endl; }' % UNI,
        "flood": ('#include <iostream>\n#include <string>\n'
                  'int main() { std::cout << std::string(300000, \'x\'); }'),
        "multi": ('#include <iostream>\n#include "greet.hpp"\n'
                  'int main() { std::cout << greet("cpp") << std::endl; }',
                  {"greet.hpp": "#include <string>\nstd::string greet(const std::string &n);\n",
                   "greet.cpp": ('#include "greet.hpp"\n'
                                 'std::string greet(const std::string &n) { return "hi " + n; }\n')}),
    },
    "bash": {
        "hello": "echo hello",
        "syntax": "if then fi",
        "syntax_msg": "syntax error",
        "runtime": "echo before\necho boom >&2\nexit 3",
        "runtime_msg": "boom",
        "loop": "while :; do :; done",
        "stdin": "tr a-z A-Z",
        "unicode": "echo '%s'" % UNI,
        "flood": "head -c 300000 /dev/zero | tr '\\0' x",
        "multi": ('source ./lib.sh\ngreet bash', {"lib.sh": 'greet() { echo "hi $1"; }\n'}),
    },
}

COMPILED = {"typescript", "java", "go", "c", "cpp"}
LANGS = sorted(PROGRAMS)


@pytest.fixture(scope="module")
def sb(module_sandbox):
    return module_sandbox["name"]


def code_run(api, sb, expect_status=200, **req):
    t = req.get("timeout", 60) + req.get("compile_timeout", 120)
    r = api.post("/v1/sandboxes/%s/code-run" % q(sb), req, timeout=t + 60)
    return expect(r, expect_status)


def check_phase(ph):
    for f in ("exit_code", "signal", "stdout", "stderr", "stdout_truncated", "stderr_truncated",
              "duration_ms", "timed_out", "oom_killed"):
        assert f in ph, "phase lacks %r: %r" % (f, ph)


def assert_ok(res, lang):
    assert res["language"] == lang, res
    assert res["status"] == "success" and res["exit_code"] == 0, res
    check_phase(res["run"])
    assert res["run"]["exit_code"] == 0 and res["run"]["timed_out"] is False, res
    if lang in COMPILED:
        check_phase(res["compile"])
        assert res["compile"]["exit_code"] == 0, res
    else:
        assert res["compile"] is None, res


@pytest.mark.parametrize("lang", LANGS)
def test_hello(api, sb, lang):
    res = code_run(api, sb, language=lang, code=PROGRAMS[lang]["hello"])
    assert_ok(res, lang)
    out = res["run"]["stdout"]
    if lang == "sql":
        assert "greeting" in out and "| hello" in out, out  # an ASCII table
    else:
        assert out == "hello\n", res
    assert res["run"]["stderr"] == "", res


@pytest.mark.parametrize("lang", LANGS)
def test_syntax_error(api, sb, lang):
    p = PROGRAMS[lang]
    res = code_run(api, sb, language=lang, code=p["syntax"])
    if lang in COMPILED:
        assert res["status"] == "compile_error", res
        assert res["run"] is None, res
        c = res["compile"]
        assert c["exit_code"] != 0 and c["timed_out"] is False, res
        assert p["syntax_msg"] in c["stderr"] + c["stdout"], res
        assert res["exit_code"] == c["exit_code"]
    else:
        assert res["status"] == "runtime_error" and res["compile"] is None, res
        assert res["run"]["exit_code"] != 0, res
        assert p["syntax_msg"] in res["run"]["stderr"], res


@pytest.mark.parametrize("lang", LANGS)
def test_runtime_error(api, sb, lang):
    p = PROGRAMS[lang]
    res = code_run(api, sb, language=lang, code=p["runtime"])
    assert res["status"] == "runtime_error", res
    run = res["run"]
    assert run["exit_code"] != 0 and run["timed_out"] is False, res
    assert res["exit_code"] == run["exit_code"]
    assert "before" in run["stdout"], res
    assert p["runtime_msg"] in run["stderr"], res
    if lang in COMPILED:
        assert res["compile"]["exit_code"] == 0, res
    expected = {"python": 1, "javascript": 1, "typescript": 1, "java": 1, "go": 2, "sql": 1,
                "c": 3, "bash": 3, "cpp": 134}  # C++: uncaught exception -> abort()
    assert run["exit_code"] == expected[lang], res
    if lang == "cpp":
        assert run["signal"] == "SIGABRT", res


@pytest.mark.parametrize("lang", LANGS)
def test_infinite_loop_times_out(api, sb, lang):
    res = code_run(api, sb, language=lang, code=PROGRAMS[lang]["loop"], timeout=1)
    assert res["status"] == "timeout", res
    run = res["run"]
    assert run["timed_out"] is True and run["exit_code"] == 137 and run["signal"] == "SIGKILL"
    assert 900 <= run["duration_ms"] < 5000, res


@pytest.mark.parametrize("lang", LANGS)
def test_stdin(api, sb, lang):
    data = "name\nalice\nbob\n" if lang == "sql" else "some input\nsecond line é\n"
    res = code_run(api, sb, language=lang, code=PROGRAMS[lang]["stdin"], stdin=data)
    assert_ok(res, lang)
    if lang == "sql":
        assert "| ALICE |" in res["run"]["stdout"] and "| BOB " in res["run"]["stdout"], res
    else:
        # Unicode-aware upper-casing is the language's business; the bytes must pass intact.
        assert res["run"]["stdout"] in ("SOME INPUT\nSECOND LINE é\n",
                                        "SOME INPUT\nSECOND LINE É\n"), res


@pytest.mark.parametrize("lang", LANGS)
def test_multi_file(api, sb, lang):
    code, files = PROGRAMS[lang]["multi"]
    # Both accepted forms of 'files'.
    as_list = [{"path": k, "content": v} for k, v in files.items()]
    res = code_run(api, sb, language=lang, code=code, files=as_list if lang in ("bash", "c", "cpp") else files)
    assert_ok(res, lang)
    want = {"sql": "| 3 |"}.get(lang, "hi %s\n" % {"python": "py", "javascript": "js",
                                                   "typescript": "ts"}.get(lang, lang))
    assert want in res["run"]["stdout"], res


@pytest.mark.parametrize("lang", LANGS)
def test_unicode_output(api, sb, lang):
    res = code_run(api, sb, language=lang, code=PROGRAMS[lang]["unicode"])
    assert_ok(res, lang)
    assert UNI in res["run"]["stdout"], res


@pytest.mark.parametrize("lang", LANGS)
def test_output_flood_is_capped(api, sb, lang):
    res = code_run(api, sb, language=lang, code=PROGRAMS[lang]["flood"], max_output_bytes=4096)
    assert_ok(res, lang)
    run = res["run"]
    assert run["stdout_truncated"] is True, res
    assert len(run["stdout"].encode()) == 4096, len(run["stdout"])
    assert set(run["stdout"]) <= set("x0123456789\n| +-"), run["stdout"][:100]


def test_args_env_and_files_in_subdirs(api, sb):
    code = ("import os, sys\nfrom pkg.mod import VALUE\n"
            "print(sys.argv[1:], os.environ['GREETING'], VALUE, os.path.basename(os.getcwd()))")
    res = code_run(api, sb, language="py", code=code, args=["a b", "-c"],
                   env={"GREETING": "hey"},
                   files={"pkg/__init__.py": "", "pkg/mod.py": "VALUE = 42\n"})
    assert_ok(res, "python")
    out = res["run"]["stdout"]
    assert out.startswith("['a b', '-c'] hey 42 cove-run-"), out


def test_fresh_run_directory_is_removed(api, sb):
    res = code_run(api, sb, language="bash", code="pwd")
    assert_ok(res, "bash")
    d = res["run"]["stdout"].strip()
    assert d.startswith("/tmp/cove-run-"), d
    expect(api.file_stat(sb, d), 404)
    # Two runs never share a directory.
    res2 = code_run(api, sb, language="bash", code="pwd")
    assert res2["run"]["stdout"].strip() != d


def test_given_cwd_is_kept(api, sb):
    d = "work-%s" % os.urandom(3).hex()
    res = code_run(api, sb, language="python", code="open('out.txt', 'w').write('kept')",
                   cwd=d)
    assert_ok(res, "python")
    r = api.file_get(sb, "/home/cove/%s/out.txt" % d)
    assert expect(r, 200) == b"kept"


def test_paths_escaping_the_run_dir_are_refused(api, sb):
    for path in ("../evil.py", "/etc/evil", "a/../../evil", ""):
        r = api.post("/v1/sandboxes/%s/code-run" % q(sb),
                     {"language": "python", "code": "print(1)", "files": {path: "x"}})
        body = check_error_body(r)
        assert r.status == 400 and body["code"] in ("INVALID_PATH", "BAD_REQUEST"), r


def test_main_file_cannot_be_replaced(api, sb):
    r = api.post("/v1/sandboxes/%s/code-run" % q(sb),
                 {"language": "python", "code": "print(1)", "files": {"main.py": "print(2)"}})
    assert check_error_body(r)["code"] == "INVALID_PATH" and r.status == 400


def test_compile_timeout_is_its_own(api, sb):
    # A C++ template explosion that takes far longer than 0.3 s to compile.
    code = ("template<int N> struct F { static const long v = F<N-1>::v + F<N-2>::v; };\n"
            "template<> struct F<1> { static const long v = 1; };\n"
            "template<> struct F<0> { static const long v = 0; };\n"
            "#include <cstdio>\nint main() { std::printf(\"%ld\\n\", F<90>::v); }\n"
            "#include <regex>\n#include <iostream>\n#include <map>\n")
    res = code_run(api, sb, language="cpp", code=code, compile_timeout=0.3, timeout=30)
    assert res["status"] == "timeout", res
    assert res["compile"]["timed_out"] is True and res["run"] is None, res


def test_typescript_transpiles_without_type_check_unless_asked(api, sb):
    code = 'const n: number = "not a number";\nconsole.log(n);'
    res = code_run(api, sb, language="ts", code=code)
    assert_ok(res, "typescript")
    assert res["run"]["stdout"] == "not a number\n"
    res = code_run(api, sb, language="ts", code=code, typecheck=True)
    assert res["status"] == "compile_error", res
    c = res["compile"]
    assert "TS2322" in c["stdout"] + c["stderr"], res


def test_typescript_error_lines_map_to_the_source(api, sb):
    code = "interface P { n: number }\n\nconst p: P = { n: 1 };\nthrow new Error('at line 4');\n"
    res = code_run(api, sb, language="typescript", code=code)
    assert res["status"] == "runtime_error"
    assert "main.ts:4" in res["run"]["stderr"], res


def test_javascript_es_module(api, sb):
    res = code_run(api, sb, language="javascript",
                   code='import { greet } from "./lib.mjs";\nconsole.log(greet());',
                   files={"lib.mjs": 'export const greet = () => "esm";\n'})
    assert_ok(res, "javascript")
    assert res["run"]["stdout"] == "esm\n"


def test_java_package(api, sb):
    code = ("package demo.app;\n\npublic class Tool {\n  public static void main(String[] a) {\n"
            "    System.out.println(Tool.class.getName() + \" \" + a.length);\n  }\n}\n")
    res = code_run(api, sb, language="java", code=code, args=["x", "y"])
    assert_ok(res, "java")
    assert res["run"]["stdout"] == "demo.app.Tool 2\n"


def test_python_has_the_scientific_stack(api, sb):
    code = ("import numpy as np, pandas as pd, matplotlib\nmatplotlib.use('Agg')\n"
            "import matplotlib.pyplot as plt\n"
            "df = pd.DataFrame({'a': np.arange(4)})\nplt.plot(df['a']); plt.savefig('f.png')\n"
            "import pytest\nprint(int(df['a'].sum()), matplotlib.get_backend())")
    res = code_run(api, sb, language="python", code=code, timeout=60)
    assert_ok(res, "python")
    assert res["run"]["stdout"] == "6 agg\n", res


def test_postgres_query(api, sb):
    code = ("create table t (id int primary key, name text);\n"
            "insert into t values (1, 'ünï'), (2, 'bob');\n"
            "select id, name from t order by id;\n")
    res = code_run(api, sb, language="sql", dialect="postgres", code=code, timeout=60)
    assert_ok(res, "sql")
    out = res["run"]["stdout"]
    assert " id | name" in out and "  1 | ünï" in out and "(2 rows)" in out, out
    # A fresh database each run: the table is gone, and the error is PostgreSQL's own.
    res = code_run(api, sb, language="postgres", code="select 1 as one;\nselect * from t;\n",
                   timeout=60)
    assert res["status"] == "runtime_error", res
    assert "one" in res["run"]["stdout"] and "(1 row)" in res["run"]["stdout"]
    assert 'ERROR:  relation "t" does not exist' in res["run"]["stderr"], res
    assert "psql:main.sql:2:" in res["run"]["stderr"], res


def test_postgres_has_no_tcp_listener(api, sb):
    res = code_run(api, sb, language="sql", dialect="postgres",
                   code="select current_setting('listen_addresses') = '' as no_tcp;", timeout=60)
    assert_ok(res, "sql")
    assert " t\n" in res["run"]["stdout"], res


def test_unknown_language(api, sb):
    r = api.post("/v1/sandboxes/%s/code-run" % q(sb), {"language": "cobol", "code": "x"})
    body = check_error_body(r)
    assert r.status == 400 and body["code"] == "UNKNOWN_LANGUAGE", r
    for lang in LANGS:
        assert lang in body["message"], body


@pytest.mark.parametrize("req", [
    {"code": "print(1)"},
    {"language": "python"},
    {"language": "python", "code": 1},
    {"language": "python", "code": "x", "timeout": 0},
    {"language": "python", "code": "x", "args": "a"},
    {"language": "python", "code": "x", "files": [{"path": "a"}]},
    {"language": "python", "code": "x", "dialect": "postgres"},
    {"language": "sql", "code": "x", "dialect": "oracle"},
    {"language": "python", "code": "x", "bogus": 1},
])
def test_bad_requests(api, sb, req):
    r = api.post("/v1/sandboxes/%s/code-run" % q(sb), req)
    check_error_body(r)
    assert r.status == 400, r


def test_unknown_sandbox(api):
    r = api.post("/v1/sandboxes/nope-%s/code-run" % os.urandom(3).hex(),
                 {"language": "python", "code": "print(1)"})
    assert check_error_body(r)["code"] == "SANDBOX_NOT_FOUND" and r.status == 404


class HiddenToolDaemon(Daemon):
    """A private coved in its own mount namespace in which sqlite3 and PostgreSQL are
    missing (bind mounts over them), to see how it reports languages it cannot run."""

    def argv(self, ready_fd):
        inner = " ".join("'%s'" % a for a in super().argv(ready_fd))
        script = ("mount --bind /dev/null /usr/bin/sqlite3 && "
                  "mount -t tmpfs none /usr/lib/postgresql && exec %s" % inner)
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


@pytest.fixture(scope="module")
def hidden():
    if not os.path.exists("/usr/bin/sqlite3") or subprocess.run(
            ["unshare", "--mount", "true"]).returncode != 0:
        pytest.skip("needs sqlite3 and unshare --mount")
    d = Daemon.__new__(HiddenToolDaemon)
    Daemon.__init__(d, "hidden", slot=5, extra_args=["--disk-warm", "0"])
    try:
        d.start()
    except DaemonError as e:
        d.kill()
        d.cleanup()
        pytest.fail("coved (hidden tools) did not start: %s" % e)
    yield d
    d.stop()
    d.cleanup()


def test_language_unavailable(hidden):
    from testenv import Client
    api = Client(hidden)
    for req in ({"language": "sql", "code": "select 1;"},
                {"language": "sql", "dialect": "postgres", "code": "select 1;"}):
        # Refused before the sandbox is even looked up, so no sandbox is needed.
        r = api.post("/v1/sandboxes/any/code-run", req)
        body = check_error_body(r)
        assert r.status == 400 and body["code"] == "LANGUAGE_UNAVAILABLE", r
        assert "installed: " in body["message"] and "python" in body["message"], body
        assert "sql" not in body["message"].split("installed: ")[1], body
        r = api.post("/v1/validate", req)
        assert check_error_body(r)["code"] == "LANGUAGE_UNAVAILABLE" and r.status == 400, r
    assert expect(api.get("/v1/sandboxes"), 200)["sandboxes"] == []

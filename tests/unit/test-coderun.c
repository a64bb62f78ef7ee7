/* Unit tests of the pure parts of code-run: language names and extensions, the source scans
 * (Java class and file names, entry points, ES modules), test-runner output parsing and
 * validate's one-line details, fed with output captured from the real toolchains. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/buf.h"
#include "exec/coderun-internal.h"

static void set_buf(struct buf *b, const char *s)
{
    buf_reset(b);
    buf_append(b, s, strlen(s));
}

Test(coderun, names_and_aliases)
{
    cr_assert_eq(coderun_lang_from_string("python"), LANG_PYTHON);
    cr_assert_eq(coderun_lang_from_string("PY"), LANG_PYTHON);
    cr_assert_eq(coderun_lang_from_string("node"), LANG_JAVASCRIPT);
    cr_assert_eq(coderun_lang_from_string("ts"), LANG_TYPESCRIPT);
    cr_assert_eq(coderun_lang_from_string("golang"), LANG_GO);
    cr_assert_eq(coderun_lang_from_string("c++"), LANG_CPP);
    cr_assert_eq(coderun_lang_from_string("sh"), LANG_BASH);
    cr_assert_eq(coderun_lang_from_string("cobol"), _LANG_INVALID);
    cr_assert_eq(coderun_lang_from_string(NULL), _LANG_INVALID);
    for (int l = 0; l < _LANG_MAX; l++)
        cr_assert_eq(coderun_lang_from_string(coderun_lang_to_string(l)), l);
    cr_assert_null(coderun_lang_to_string(_LANG_MAX));
}

Test(coderun, extensions)
{
    cr_assert_eq(coderun_lang_from_filename("a/b/x.py"), LANG_PYTHON);
    cr_assert_eq(coderun_lang_from_filename("x.mjs"), LANG_JAVASCRIPT);
    cr_assert_eq(coderun_lang_from_filename("Main.java"), LANG_JAVA);
    cr_assert_eq(coderun_lang_from_filename("q.sql"), LANG_SQL);
    cr_assert_eq(coderun_lang_from_filename("x.cc"), LANG_CPP);
    cr_assert_eq(coderun_lang_from_filename("run.bash"), LANG_BASH);
    cr_assert_eq(coderun_lang_from_filename("dir.py/README"), _LANG_INVALID);
    cr_assert_eq(coderun_lang_from_filename("noext"), _LANG_INVALID);
}

Test(coderun, variants)
{
    cr_assert_not_null(coderun_variant_find(LANG_SQL, NULL, false));
    cr_assert_str_eq(coderun_variant_find(LANG_SQL, "postgres", false)->variant, "postgres");
    cr_assert_str_eq(coderun_variant_find(LANG_SQL, "postgresql", false)->variant, "postgres");
    cr_assert_null(coderun_variant_find(LANG_SQL, "oracle", false));
    cr_assert_null(coderun_variant_find(LANG_PYTHON, "postgres", false));
    cr_assert_str_eq(coderun_variant_find(LANG_TYPESCRIPT, NULL, true)->variant, "typecheck");
    cr_assert_null(coderun_variant_find(LANG_TYPESCRIPT, NULL, false)->variant);
}

Test(coderun, java_names)
{
    char cls[256], file[256];
    bool has_main;
    const char *a = "// class Fake\npackage demo.app;\nimport java.util.*;\n"
                    "class Helper { }\n"
                    "public final class Tool {\n  static class Inner { void main() {} }\n"
                    "  public static void main(String[] args) { String s = \"class X\"; }\n}\n";
    const char *b = "class A { }\nclass B { public static void main(String... a) { } }\n";
    const char *c = "public class CalcTest { @Test void ok() { } }";

    cr_assert(coderun_java_names(a, strlen(a), cls, sizeof(cls), file, sizeof(file), &has_main));
    cr_assert_str_eq(cls, "demo.app.Tool");
    cr_assert_str_eq(file, "Tool.java");
    cr_assert(has_main);
    cr_assert(coderun_java_names(b, strlen(b), cls, sizeof(cls), file, sizeof(file), &has_main));
    cr_assert_str_eq(cls, "B");
    cr_assert_str_eq(file, "B.java");
    cr_assert(coderun_java_names(c, strlen(c), cls, sizeof(cls), file, sizeof(file), &has_main));
    cr_assert_str_eq(cls, "CalcTest");
    cr_assert_not(has_main);
    cr_assert_not(coderun_java_names("int x;", 6, cls, sizeof(cls), file, sizeof(file), NULL));
}

Test(coderun, entry_points_and_modules)
{
    const char *go_main = "package main\n\nfunc main() {\n}\n";
    const char *go_lib = "package main\n// func main() in a comment does not count\n"
                         "func Add(a, b int) int { return a + b }\n";
    const char *esm = "// hi\nimport { x } from './x.js';\n";
    const char *cjs = "const x = require('./x');\nconst m = import('./y.mjs');\n";

    cr_assert(coderun_has_entry(LANG_GO, go_main, strlen(go_main)));
    cr_assert_not(coderun_has_entry(LANG_GO, go_lib, strlen(go_lib)));
    cr_assert(coderun_has_entry(LANG_PYTHON, "", 0));
    cr_assert(coderun_js_is_esm(esm, strlen(esm)));
    cr_assert(coderun_js_is_esm("export default 1;", 17));
    cr_assert_not(coderun_js_is_esm(cjs, strlen(cjs)));
}

static void parse(enum coderun_lang l, const char *out, int exit_code, struct coderun_tests *t)
{
    coderun_tests_init(t, 1 << 20);
    set_buf(&t->exec.out, out);
    t->exec.exit_code = exit_code;
    coderun_tests_parse(l, t);
}

Test(coderun, parse_pytest)
{
    struct coderun_tests t;

    parse(LANG_PYTHON,
          "..Fs.E [100%]\n=== short test summary info ===\nFAILED test_main.py::test_wrong\n"
          "ERROR test_main.py::test_error\n1 failed, 3 passed, 1 skipped, 1 error in 0.05s\n",
          1, &t);
    cr_assert(t.parsed);
    cr_assert_eq(t.passed, 3);
    cr_assert_eq(t.failed, 1);
    cr_assert_eq(t.skipped, 1);
    cr_assert_eq(t.errors, 1);
    coderun_tests_done(&t);
    parse(LANG_PYTHON, "\nno tests ran in 0.01s\n", 5, &t);
    cr_assert(t.parsed);
    cr_assert_eq(t.passed + t.failed, 0);
    cr_assert_eq(t.errors, 1); /* a failing runner is never "all fine" */
    coderun_tests_done(&t);
}

Test(coderun, parse_tap_go_junit)
{
    struct coderun_tests t;

    parse(LANG_JAVASCRIPT,
          "TAP version 13\nok 1 - a\nnot ok 2 - b\n1..3\n# tests 3\n# pass 1\n# fail 1\n"
          "# cancelled 0\n# skipped 1\n# todo 0\n",
          1, &t);
    cr_assert(t.parsed && t.passed == 1 && t.failed == 1 && t.skipped == 1 && t.errors == 0);
    coderun_tests_done(&t);
    parse(LANG_GO,
          "=== RUN   TestA\n--- PASS: TestA (0.00s)\n=== RUN   TestB\n    --- PASS: TestB/sub\n"
          "--- FAIL: TestB (0.00s)\n--- SKIP: TestC (0.00s)\nFAIL\nFAIL\tcoverun\t0.01s\n",
          1, &t);
    cr_assert(t.parsed && t.passed == 1 && t.failed == 1 && t.skipped == 1 && t.errors == 0);
    coderun_tests_done(&t);
    parse(LANG_GO, "FAIL\tcoverun [build failed]\nFAIL\n", 2, &t);
    cr_assert(t.errors == 1 && t.passed == 0);
    coderun_tests_done(&t);
    parse(LANG_JAVA,
          "Test run finished after 86 ms\n[         4 containers found      ]\n"
          "[         0 containers failed     ]\n[         4 tests found           ]\n"
          "[         1 tests skipped         ]\n[         0 tests aborted         ]\n"
          "[         2 tests successful      ]\n[         1 tests failed          ]\n",
          1, &t);
    cr_assert(t.parsed && t.passed == 2 && t.failed == 1 && t.skipped == 1 && t.errors == 0);
    coderun_tests_done(&t);
}

/* details for a run that failed with stderr err (run phase, or compile when compiled). */
static void details(enum coderun_lang l, bool compile, int exit_code, const char *err, char *out,
                    size_t cap)
{
    struct coderun_result r;

    coderun_result_init(&r, 1 << 20);
    if (compile) {
        r.compiled = r.compile_failed = true;
        r.compile.exit_code = exit_code;
        set_buf(&r.compile.err, err);
    } else {
        r.ran = true;
        r.run.exit_code = exit_code;
        set_buf(&r.run.err, err);
    }
    coderun_details(l, &r, NULL, 0.5, out, cap);
    coderun_result_done(&r);
}

Test(coderun, details)
{
    char d[512];

    details(LANG_PYTHON, false, 1,
            "  File \"/tmp/cove-run-1/main.py\", line 1\n    print(1\n         ^\n"
            "SyntaxError: '(' was never closed\n",
            d, sizeof(d));
    cr_assert_str_eq(d, "SyntaxError: '(' was never closed (line 1)");
    details(LANG_PYTHON, false, 1,
            "Traceback (most recent call last):\n  File \"/tmp/r/main.py\", line 7, in <module>\n"
            "    f()\n  File \"/tmp/r/main.py\", line 3, in f\n    return 1 / 0\n"
            "  File \"/usr/lib/python3.11/x.py\", line 99, in g\n"
            "ZeroDivisionError: division by zero\n",
            d, sizeof(d));
    cr_assert_str_eq(d, "ZeroDivisionError: division by zero (line 3)");
    details(LANG_JAVASCRIPT, false, 1,
            "/tmp/r/main.js:2\nconsole.log(y);\n            ^\n\nReferenceError: y is not defined\n"
            "    at Object.<anonymous> (/tmp/r/main.js:2:13)\n",
            d, sizeof(d));
    cr_assert_str_eq(d, "ReferenceError: y is not defined (line 2)");
    details(LANG_JAVA, true, 1,
            "Main.java:3: error: ';' expected\n  int x = 1\n           ^\n1 error\n", d, sizeof(d));
    cr_assert_str_eq(d, "Compilation failed: error: ';' expected (line 3)");
    details(
        LANG_JAVA, false, 1,
        "Exception in thread \"main\" java.lang.NumberFormatException: For input string: \"x\"\n"
        "\tat java.base/java.lang.Integer.parseInt(Integer.java:652)\n"
        "\tat Main.main(Main.java:5)\n",
        d, sizeof(d));
    cr_assert_str_eq(d, "java.lang.NumberFormatException: For input string: \"x\" (line 5)");
    details(LANG_GO, false, 2,
            "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n"
            "\t/tmp/cove-run-1/main.go:6 +0x25\nexit status 2\n",
            d, sizeof(d));
    cr_assert_str_eq(d, "panic: boom (line 6)");
    details(LANG_SQL, false, 3,
            "psql:main.sql:4: ERROR:  relation \"nope\" does not exist\nLINE 1: select\n", d,
            sizeof(d));
    cr_assert_str_eq(d, "ERROR: relation \"nope\" does not exist (line 4)");
    details(LANG_CPP, false, 134,
            "terminate called after throwing an instance of 'std::runtime_error'\n"
            "  what():  boom\n",
            d, sizeof(d));
    cr_assert_str_eq(d, "boom");
    details(LANG_C, false, 3, "", d, sizeof(d));
    cr_assert_str_eq(d, "exited with code 3");
    details(LANG_BASH, false, 127, "main.sh: line 2: nosuch: command not found\n", d, sizeof(d));
    cr_assert_str_eq(d, "nosuch: command not found (line 2)");
}

Test(coderun, details_success_timeout_tests)
{
    struct coderun_result r;
    struct coderun_tests t;
    char d[512];

    coderun_result_init(&r, 1024);
    coderun_tests_init(&t, 1024);
    r.ran = true;
    coderun_details(LANG_PYTHON, &r, NULL, 0.234, d, sizeof(d));
    cr_assert_str_eq(d, "Code executed successfully in 0.23 seconds");
    t.ran = t.parsed = true;
    t.passed = 3;
    coderun_details(LANG_PYTHON, &r, &t, 1.5, d, sizeof(d));
    cr_assert_str_eq(
        d, "Code executed successfully in 1.50 seconds; tests: 3 passed, 0 failed, 0 errors, 0 "
           "skipped");
    t.failed = 1;
    coderun_details(LANG_PYTHON, &r, &t, 1.5, d, sizeof(d));
    cr_assert_str_eq(d, "Tests failed: 3 passed, 1 failed, 0 errors, 0 skipped");
    r.run.timed_out = true;
    r.run.exit_code = 137;
    r.run.duration_ms = 2000;
    coderun_details(LANG_PYTHON, &r, &t, 2, d, sizeof(d));
    cr_assert_str_eq(d, "Execution timed out after 2.00 seconds");
    cr_assert_str_eq(coderun_status(&r), "timeout");
    coderun_tests_done(&t);
    coderun_result_done(&r);
}

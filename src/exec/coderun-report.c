/* Reading a run's output for people: the test counts a runner printed, and validate's
 * one-line "details" ("Code executed successfully in 0.23 seconds", "SyntaxError: invalid
 * syntax (line 1)").
 *
 * Each language has its own way of saying what went wrong; a table of POSIX extended regular
 * expressions picks the line that names the error and the line number in the user's code.
 * What no pattern matches falls back to the last line the program wrote to stderr. Pure
 * functions of their input: tests/unit/test-coderun.c feeds them real toolchain output. */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "exec/coderun-internal.h"

#define LINE_MAX_LEN   1024
#define DETAIL_MSG_MAX 300

/* Walk the lines of a buffer: *pos advances; line gets a NUL-terminated copy (truncated). */
static bool next_line(const char *data, size_t len, size_t *pos, char *line, size_t cap)
{
    const char *p, *nl;
    size_t n;

    if (!data || *pos >= len)
        return false;
    p = data + *pos;
    nl = memchr(p, '\n', len - *pos);
    n = nl ? (size_t)(nl - p) : len - *pos;
    *pos += n + 1;
    if (n && p[n - 1] == '\r')
        n--;
    snprintf(line, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    return true;
}

/* Match re against s; on success copy group g (if g > 0) into out. */
static bool rx_match(const char *re, const char *s, int g, char *out, size_t cap)
{
    regex_t rx;
    regmatch_t m[6];
    bool ok;

    if (regcomp(&rx, re, REG_EXTENDED) != 0)
        return false;
    ok = regexec(&rx, s, 6, m, 0) == 0;
    if (ok && g > 0 && out) {
        if (m[g].rm_so < 0)
            out[0] = '\0';
        else
            snprintf(out, cap, "%.*s", (int)(m[g].rm_eo - m[g].rm_so), s + m[g].rm_so);
    }
    regfree(&rx);
    return ok;
}

/* ---- test counts ---- */

static unsigned count_of(const char *line, const char *word)
{
    char re[96], num[24];

    snprintf(re, sizeof(re), "([0-9]+) %s([^a-z]|$)", word);
    return rx_match(re, line, 1, num, sizeof(num)) ? (unsigned)strtoul(num, NULL, 10) : 0;
}

static void parse_pytest(struct coderun_tests *t, const char *out, size_t len)
{
    char line[LINE_MAX_LEN], last[LINE_MAX_LEN] = "";
    size_t pos = 0;

    /* The summary is the last line with a count: "1 failed, 2 passed, 1 skipped in 0.05s". */
    while (next_line(out, len, &pos, line, sizeof(line)))
        if (rx_match("[0-9]+ (passed|failed|errors?|skipped|xfailed|xpassed)", line, 0, NULL, 0) ||
            strstr(line, "no tests ran"))
            snprintf(last, sizeof(last), "%s", line);
    if (!last[0])
        return;
    t->parsed = true;
    t->passed = count_of(last, "passed") + count_of(last, "xpassed");
    t->failed = count_of(last, "failed");
    t->errors = count_of(last, "error") + count_of(last, "errors");
    t->skipped = count_of(last, "skipped") + count_of(last, "xfailed");
}

static void parse_tap(struct coderun_tests *t, const char *out, size_t len)
{
    char line[LINE_MAX_LEN], num[24];
    size_t pos = 0;

    /* node --test's TAP trailer: "# pass 2", "# fail 1", "# skipped 0", "# todo 0", ... */
    while (next_line(out, len, &pos, line, sizeof(line))) {
        unsigned *slot = NULL;
        if (rx_match("^# pass ([0-9]+)$", line, 1, num, sizeof(num)))
            slot = &t->passed;
        else if (rx_match("^# fail ([0-9]+)$", line, 1, num, sizeof(num)))
            slot = &t->failed;
        else if (rx_match("^# (skipped|todo) ([0-9]+)$", line, 2, num, sizeof(num)))
            slot = &t->skipped;
        else if (rx_match("^# cancelled ([0-9]+)$", line, 1, num, sizeof(num)))
            slot = &t->errors;
        if (slot) {
            *slot += (unsigned)strtoul(num, NULL, 10);
            t->parsed = true;
        }
    }
}

static void parse_go(struct coderun_tests *t, const char *out, size_t len)
{
    char line[LINE_MAX_LEN];
    size_t pos = 0;

    /* Top-level tests only ("--- PASS: TestX"); subtests are indented. */
    while (next_line(out, len, &pos, line, sizeof(line))) {
        if (!strncmp(line, "--- PASS: ", 10))
            t->passed++;
        else if (!strncmp(line, "--- FAIL: ", 10))
            t->failed++;
        else if (!strncmp(line, "--- SKIP: ", 10))
            t->skipped++;
        else if (strstr(line, "[build failed]") || strstr(line, "[setup failed]") ||
                 !strncmp(line, "panic: ", 7))
            t->errors++;
        else if (strncmp(line, "ok ", 3) && strncmp(line, "FAIL", 4) && strncmp(line, "PASS", 4))
            continue;
        t->parsed = true;
    }
}

static void parse_junit(struct coderun_tests *t, const char *out, size_t len)
{
    char line[LINE_MAX_LEN], num[24], what[32];
    size_t pos = 0;

    /* "[         3 tests successful      ]", "[ 0 containers failed ]", ... */
    while (next_line(out, len, &pos, line, sizeof(line))) {
        if (!rx_match("^\\[ *([0-9]+) (tests|containers) ([a-z]+) *\\]", line, 1, num, sizeof(num)))
            continue;
        unsigned n = (unsigned)strtoul(num, NULL, 10);
        bool containers = strstr(line, "containers") != NULL;
        rx_match("^\\[ *[0-9]+ [a-z]+ ([a-z]+)", line, 1, what, sizeof(what));
        t->parsed = true;
        if (containers) {
            if (!strcmp(what, "failed"))
                t->errors += n; /* a class that failed to set up */
        } else if (!strcmp(what, "successful")) {
            t->passed = n;
        } else if (!strcmp(what, "failed")) {
            t->failed = n;
        } else if (!strcmp(what, "skipped") || !strcmp(what, "aborted")) {
            t->skipped += n;
        }
    }
}

void coderun_tests_parse(enum coderun_lang l, struct coderun_tests *t)
{
    const char *out = t->exec.out.data;
    size_t len = t->exec.out.len;

    t->parsed = false;
    t->passed = t->failed = t->errors = t->skipped = 0;
    switch (l) {
    case LANG_PYTHON:
        parse_pytest(t, out, len);
        break;
    case LANG_JAVASCRIPT:
    case LANG_TYPESCRIPT:
        parse_tap(t, out, len);
        break;
    case LANG_GO:
        parse_go(t, out, len);
        break;
    case LANG_JAVA:
        parse_junit(t, out, len);
        break;
    default:
        break;
    }
    /* A runner that died before its summary (a syntax error in the tests, a timeout) is one
     * error: the caller must never see "0 failed" for a run that failed. */
    if (t->exec.exit_code != 0 && !t->failed && !t->errors)
        t->errors = 1;
}

/* ---- details ---- */

/* Per language, tried in order: a line that names the error (msg_re; the message is group
 * msg_group, or the whole line for 0; group line_group, if not 0, is the line number), and
 * optionally a separate line that tells where (where_re: group 1 the file, group 2 the line;
 * files under /usr/ and "<frozen ...>" are the runtime's, not the user's). */
struct error_rule {
    const char *msg_re;
    int msg_group;
    int line_group;
    const char *where_re;
};

#define RE_JS_ERROR "^([A-Za-z_$][A-Za-z0-9_$.]*(Error|Exception)(: .*)?)$"
#define RE_JS_WHERE "^(/[^:]*|[^ :]+):([0-9]+)$"

static const struct error_rule rules[_LANG_MAX][3] = {
    [LANG_PYTHON] = {{"^([A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Interrupt|Exit|Warning)(: .*)?)$",
                      1, 0, "^ *File \"([^\"]*)\", line ([0-9]+)"}},
    [LANG_JAVASCRIPT] = {{RE_JS_ERROR, 1, 0, RE_JS_WHERE}},
    [LANG_TYPESCRIPT] = {{"^[^ (]+\\(([0-9]+),[0-9]+\\): (error .*)$", 2, 1, NULL},
                         {RE_JS_ERROR, 1, 0, RE_JS_WHERE}},
    [LANG_JAVA] = {{"^[^ ]+\\.java:([0-9]+): (error: .*)$", 2, 1, NULL},
                   {"^Exception in thread \"[^\"]*\" (.*)$", 1, 0,
                    "^\tat [^(/]*\\(([^:()]*\\.java):([0-9]+)\\)"}},
    [LANG_GO] = {{"^[^ ]+\\.go:([0-9]+):[0-9]+: (.*)$", 2, 1, NULL},
                 {"^((panic|fatal error): .*)$", 1, 0, "^\t(/[^ ]*\\.go):([0-9]+)"}},
    [LANG_SQL] = {{"^psql:[^:]+:([0-9]+): (ERROR: +.*)$", 2, 1, NULL},
                  {"^(Parse|Runtime) error near line [0-9]+: .*$", 0, 0, NULL}},
    [LANG_C] = {{"^[^ ]+:([0-9]+):[0-9]+: ((fatal )?error: .*)$", 2, 1, NULL},
                {"^(.*undefined reference to .*)$", 1, 0, NULL}},
    [LANG_CPP] = {{"^[^ ]+:([0-9]+):[0-9]+: ((fatal )?error: .*)$", 2, 1, NULL},
                  {"^(.*undefined reference to .*)$", 1, 0, NULL},
                  {"^  what\\(\\): +(.*)$", 1, 0, NULL}},
    [LANG_BASH] = {{"^[^ :]+: line ([0-9]+): (.*)$", 2, 1, NULL}},
};

/* Apply one rule to b. Python's message and location are the last ones (the end of the
 * traceback); other languages report the first (the first compiler error is the one that
 * matters). */
static bool apply_rule(enum coderun_lang l, const struct error_rule *ru, const struct buf *b,
                       char *msg, size_t cap, char *where, size_t where_cap)
{
    char line[LINE_MAX_LEN], file[LINE_MAX_LEN], num[24];
    bool last = l == LANG_PYTHON, found = false;
    size_t pos = 0;

    while (next_line(b->data, b->len, &pos, line, sizeof(line))) {
        if (ru->where_re && (last || !where[0]) &&
            rx_match(ru->where_re, line, 2, num, sizeof(num)) &&
            rx_match(ru->where_re, line, 1, file, sizeof(file)) && strncmp(file, "/usr/", 5) != 0 &&
            file[0] != '<')
            snprintf(where, where_cap, "%s", num);
        /* Messages start a line; indented lines are context (unless the rule says so). */
        if ((found && !last) || ((line[0] == ' ' || line[0] == '\t') && ru->msg_re[1] != ' '))
            continue;
        if (!rx_match(ru->msg_re, line, ru->msg_group, msg, cap))
            continue;
        if (ru->msg_group == 0)
            snprintf(msg, cap, "%s", line);
        if (ru->line_group)
            rx_match(ru->msg_re, line, ru->line_group, where, where_cap);
        found = true;
    }
    return found;
}

/* Find the error line in one stream; *line_no is 0 when unknown. */
static bool find_error(enum coderun_lang l, const struct buf *b, char *msg, size_t cap,
                       long *line_no)
{
    char where[24];

    for (size_t k = 0; k < ELEMENTSOF(rules[l]) && rules[l][k].msg_re; k++) {
        where[0] = '\0';
        if (apply_rule(l, &rules[l][k], b, msg, cap, where, sizeof(where))) {
            *line_no = where[0] ? strtol(where, NULL, 10) : 0;
            return true;
        }
    }
    return false;
}

/* The last non-blank line of b, or "" */
static void last_line(const struct buf *b, char *out, size_t cap)
{
    char line[LINE_MAX_LEN];
    size_t pos = 0;

    out[0] = '\0';
    while (next_line(b->data, b->len, &pos, line, sizeof(line))) {
        const char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (*s)
            snprintf(out, cap, "%s", s);
    }
}

/* Squeeze runs of blanks ("ERROR:  relation" -> "ERROR: relation") and cap the length. */
static void tidy(char *s)
{
    char *w = s;

    for (char *r = s; *r; r++)
        if (!(isspace((unsigned char)*r) && (w == s || w[-1] == ' ')))
            *w++ = isspace((unsigned char)*r) ? ' ' : *r;
    while (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
    if (strlen(s) > DETAIL_MSG_MAX)
        memcpy(s + DETAIL_MSG_MAX - 3, "...", 4);
}

/* The error of a failed phase, as "message (line N)". */
static void describe_error(enum coderun_lang l, const struct exec_result *e, char *out, size_t cap)
{
    char msg[LINE_MAX_LEN] = "";
    long line_no = 0;

    if (!find_error(l, &e->err, msg, sizeof(msg), &line_no) &&
        !find_error(l, &e->out, msg, sizeof(msg), &line_no)) {
        last_line(&e->err, msg, sizeof(msg));
        if (!msg[0] && e->signal)
            snprintf(msg, sizeof(msg), "killed by signal %s",
                     sigabbrev_np(e->signal) ? sigabbrev_np(e->signal) : "?");
        if (!msg[0])
            last_line(&e->out, msg, sizeof(msg));
    }
    tidy(msg);
    if (!msg[0])
        snprintf(out, cap, "exited with code %d", e->exit_code);
    else if (line_no > 0)
        snprintf(out, cap, "%s (line %ld)", msg, line_no);
    else
        snprintf(out, cap, "%s", msg);
}

static void test_counts(const struct coderun_tests *t, char *out, size_t cap)
{
    snprintf(out, cap, "%u passed, %u failed, %u errors, %u skipped", t->passed, t->failed,
             t->errors, t->skipped);
}

void coderun_details(enum coderun_lang l, const struct coderun_result *r,
                     const struct coderun_tests *t, double seconds, char *buf, size_t cap)
{
    char what[LINE_MAX_LEN], counts[128];
    const struct exec_result *e = r->ran ? &r->run : &r->compile;

    if (l < 0 || l >= _LANG_MAX)
        l = LANG_BASH;
    if (r->compiled && r->compile.timed_out) {
        snprintf(buf, cap, "Compilation timed out after %.2f seconds",
                 r->compile.duration_ms / 1000);
    } else if (r->compile_failed) {
        describe_error(l, &r->compile, what, sizeof(what));
        snprintf(buf, cap, "Compilation failed: %s", what);
    } else if (r->ran && r->run.timed_out) {
        snprintf(buf, cap, "Execution timed out after %.2f seconds", r->run.duration_ms / 1000);
    } else if ((r->ran || r->compiled) && e->oom_killed) {
        snprintf(buf, cap, "Out of memory: the program was killed by the OOM killer");
    } else if (r->ran && r->run.exit_code != 0) {
        describe_error(l, &r->run, what, sizeof(what));
        snprintf(buf, cap, "%s", what);
    } else if (t && t->ran && t->exec.timed_out) {
        snprintf(buf, cap, "Tests timed out after %.2f seconds", t->exec.duration_ms / 1000);
    } else if (t && t->ran && (t->exec.exit_code != 0 || t->failed || t->errors)) {
        test_counts(t, counts, sizeof(counts));
        /* No test ran at all (the tests did not build or load): the error says more. */
        if (!t->parsed || (!t->passed && !t->failed)) {
            describe_error(l, &t->exec, what, sizeof(what));
            snprintf(buf, cap, "Tests failed: %s", what);
        } else {
            snprintf(buf, cap, "Tests failed: %s", counts);
        }
    } else if (t && t->ran) {
        test_counts(t, counts, sizeof(counts));
        snprintf(buf, cap, "Code executed successfully in %.2f seconds; tests: %s", seconds,
                 counts);
    } else {
        snprintf(buf, cap, "Code executed successfully in %.2f seconds", seconds);
    }
}

/* What code-run needs to know about a program's source before running it: the Java class
 * that holds main() and the file it must live in, whether Go or Java code has an entry point
 * at all (test-only code has none), and whether JavaScript is an ES module.
 *
 * These are lexical scans, not parsers: comments and string literals are skipped so that a
 * "class" in a comment does not count, but anything the compiler would reject is simply
 * passed on to the compiler, whose message is then what the caller sees. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "exec/coderun-internal.h"

#define JAVA_IDENT_MAX 256

struct java_scan {
    const char *p, *end;
    int depth;
    char tok[JAVA_IDENT_MAX]; /* last identifier */
    char prev[JAVA_IDENT_MAX];
};

static bool ident_start(int c)
{
    return isalpha(c) || c == '_' || c == '$' || c >= 0x80;
}

static bool ident_char(int c)
{
    return ident_start(c) || isdigit(c);
}

/* Skip a comment, string, text block or char literal at s->p; true if one was skipped. */
static bool java_skip(struct java_scan *s)
{
    const char *p = s->p, *e = s->end;

    if (p + 1 < e && p[0] == '/' && p[1] == '/') {
        while (p < e && *p != '\n')
            p++;
    } else if (p + 1 < e && p[0] == '/' && p[1] == '*') {
        const char *q = memmem(p + 2, (size_t)(e - p - 2), "*/", 2);
        p = q ? q + 2 : e;
    } else if (p + 2 < e && !memcmp(p, "\"\"\"", 3)) {
        const char *q = memmem(p + 3, (size_t)(e - p - 3), "\"\"\"", 3);
        p = q ? q + 3 : e;
    } else if (*p == '"' || *p == '\'') {
        char quote = *p++;
        while (p < e && *p != quote && *p != '\n')
            p += (*p == '\\' && p + 1 < e) ? 2 : 1;
        p += p < e;
    } else {
        return false;
    }
    s->p = p;
    return true;
}

static bool is_type_keyword(const char *t)
{
    return !strcmp(t, "class") || !strcmp(t, "interface") || !strcmp(t, "enum") ||
           !strcmp(t, "record");
}

bool coderun_java_names(const char *code, size_t len, char *ret_class, size_t class_cap,
                        char *ret_file, size_t file_cap, bool *ret_has_main)
{
    struct java_scan s = {.p = code, .end = code + len};
    char pkg[JAVA_IDENT_MAX] = "", first[JAVA_IDENT_MAX] = "", pub[JAVA_IDENT_MAX] = "";
    char cur[JAVA_IDENT_MAX] = "", with_main[JAVA_IDENT_MAX] = "";
    bool saw_public = false, want_type = false, in_pkg = false;

    while (s.p < s.end) {
        if (java_skip(&s))
            continue;
        int c = (unsigned char)*s.p;
        if (ident_start(c)) {
            const char *b = s.p;
            while (s.p < s.end && ident_char((unsigned char)*s.p))
                s.p++;
            snprintf(s.prev, sizeof(s.prev), "%s", s.tok);
            snprintf(s.tok, sizeof(s.tok), "%.*s", (int)(s.p - b), b);
            if (in_pkg) {
                size_t n = strlen(pkg);
                snprintf(pkg + n, sizeof(pkg) - n, "%s%s", n ? "." : "", s.tok);
            } else if (s.depth == 0 && !strcmp(s.tok, "package")) {
                in_pkg = true;
            } else if (s.depth == 0 && !strcmp(s.tok, "public")) {
                saw_public = true;
            } else if (s.depth == 0 && want_type) {
                snprintf(cur, sizeof(cur), "%s", s.tok);
                if (!first[0])
                    snprintf(first, sizeof(first), "%s", s.tok);
                if (saw_public && !pub[0])
                    snprintf(pub, sizeof(pub), "%s", s.tok);
                want_type = false;
            } else if (s.depth == 0 && is_type_keyword(s.tok)) {
                want_type = true;
            }
            continue;
        }
        if (c == '(' && s.depth >= 1 && !strcmp(s.tok, "main") && !strcmp(s.prev, "void") &&
            !with_main[0])
            snprintf(with_main, sizeof(with_main), "%s", cur);
        if (c == '{')
            s.depth++;
        else if (c == '}' && s.depth > 0)
            s.depth--;
        if (c == ';' || c == '{' || c == '}') {
            in_pkg = false;
            if (s.depth <= 1)
                saw_public = want_type = false;
        }
        if (!isspace(c) && c != '.')
            s.tok[0] = '\0';
        s.p++;
    }
    const char *cls = with_main[0] ? with_main : pub[0] ? pub : first;
    if (!cls[0])
        return false;
    snprintf(ret_class, class_cap, "%s%s%s", pkg, pkg[0] ? "." : "", cls);
    snprintf(ret_file, file_cap, "%s.java", pub[0] ? pub : cls);
    if (ret_has_main)
        *ret_has_main = with_main[0] != '\0';
    return true;
}

/* Does a line (after leading blanks) start with word, followed by one of the chars in next? */
static bool line_starts(const char *line, const char *end, const char *word, const char *next)
{
    size_t n = strlen(word);

    while (line < end && (*line == ' ' || *line == '\t'))
        line++;
    return (size_t)(end - line) > n && !memcmp(line, word, n) && strchr(next, line[n]) &&
           line[n] != '\0';
}

/* Does any line start with word followed by one of next? */
static bool any_line(const char *code, size_t len, const char *word, const char *next)
{
    const char *p = code, *end = code + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (line_starts(p, e, word, next))
            return true;
        p = e + 1;
    }
    return false;
}

bool coderun_has_entry(enum coderun_lang lang, const char *code, size_t len)
{
    char cls[JAVA_IDENT_MAX * 2], file[JAVA_IDENT_MAX + 8];

    switch (lang) {
    case LANG_GO:
        return any_line(code, len, "func main", "( ");
    case LANG_JAVA: {
        bool has_main = false;
        return coderun_java_names(code, len, cls, sizeof(cls), file, sizeof(file), &has_main) &&
               has_main;
    }
    default:
        return true;
    }
}

bool coderun_js_is_esm(const char *code, size_t len)
{
    return any_line(code, len, "import", " {*'\"") || any_line(code, len, "export", " {*");
}

/* Helpers for the commands that send source code to coved (see code.h). The language is
 * guessed from the extension with the daemon's own table (coderun_lang_from_filename, linked
 * from libcove_core), so the CLI and the API never disagree on what .cc or .mjs is; an
 * explicit --language goes to the daemon unchecked, which answers unknown names with the
 * list of the installed ones. */
#include "cli/code.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "exec/coderun.h"

#define CODE_MAX_BYTES (16u << 20) /* a source file; the JSON body cap is 24 MiB */

int cli_code_language(const struct cli_command *cmd, const char *file, const char *want,
                      json_t *body)
{
    enum coderun_lang l;

    if (want) {
        json_t *s = cli_json_string(want, strlen(want));
        if (!s)
            return cli_usage_error(cmd, "--language: '%s' is not valid UTF-8", want);
        json_object_set_new(body, "language", s);
        return CLI_CONTINUE;
    }
    l = coderun_lang_from_filename(file);
    if (l < 0)
        return cli_usage_error(cmd,
                               "cannot tell the language of '%s' from its extension (known: .py "
                               ".js .mjs .cjs .ts .java .go .sql .c .cpp .cc .cxx .sh .bash); "
                               "use --language",
                               file);
    json_object_set_new(body, "language", json_string(coderun_lang_to_string(l)));
    return CLI_CONTINUE;
}

int cli_code_read(const char *file, json_t *body, const char *key)
{
    _cleanup_fclose_ FILE *f = fopen(file, "rbe");
    _cleanup_free_ char *data = NULL;
    size_t len;
    json_t *s;
    int r;

    if (!f) {
        fprintf(stderr, "cove: %s: %s\n", file, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    r = cli_read_all(f, CODE_MAX_BYTES, &data, &len);
    if (r < 0) {
        fprintf(stderr, "cove: %s: %s\n", file,
                r == -E2BIG ? "larger than 16 MiB"
                : r == -EIO ? "read error"
                            : strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    s = cli_json_string(data, len);
    if (!s) {
        fprintf(stderr, "cove: %s is not UTF-8 text\n", file);
        return CLI_EXIT_FAILURE;
    }
    json_object_set_new(body, key, s);
    return CLI_CONTINUE;
}

/* body["files"][basename(file)] = the text of file. Returns CLI_CONTINUE or an exit code. */
static int add_file(const char *file, json_t *body)
{
    _cleanup_(cli_json_unrefp) json_t *tmp = json_object();
    _cleanup_free_ char *copy = strdup(file);
    json_t *files = json_object_get(body, "files");
    int r;

    if (!tmp || !copy)
        return CLI_EXIT_FAILURE;
    r = cli_code_read(file, tmp, "content");
    if (r != CLI_CONTINUE)
        return r;
    if (!files) {
        files = json_object();
        json_object_set_new(body, "files", files);
    }
    json_object_set(files, basename(copy), json_object_get(tmp, "content"));
    return CLI_CONTINUE;
}

static void put(const json_t *phase, const char *stream, FILE *f)
{
    const json_t *s = json_object_get(phase, stream);

    if (json_is_string(s) && json_string_length(s) > 0)
        fwrite(json_string_value(s), 1, json_string_length(s), f);
    fflush(f);
}

/* The exit code a phase stands for, as cli_exec_report() has it. */
static int phase_exit(const json_t *phase)
{
    long long code = cli_json_int(phase, "exit_code", -1);

    if (json_is_true(json_object_get(phase, "timed_out")))
        return CLI_EXIT_TIMEOUT;
    if (json_is_true(json_object_get(phase, "oom_killed")))
        return CLI_EXIT_OOM;
    return code < 0 || code > 255 ? CLI_EXIT_FAILURE : (int)code;
}

/* The exit code follows cli_exec_report() (the run's code, 124, 137); a compile error exits
 * with the compiler's code, which is what `gcc x.c && ./a.out` would give a script. */
int cli_code_report(const json_t *result, double timeout_s)
{
    const json_t *compile = json_object_get(result, "compile");
    const json_t *run = json_object_get(result, "run");

    if (arg_json) {
        cli_print_json(result);
        fflush(stdout);
        return json_is_object(run)       ? phase_exit(run)
               : json_is_object(compile) ? phase_exit(compile)
                                         : CLI_EXIT_FAILURE;
    }
    if (json_is_object(compile)) {
        /* Compilers differ on the stream (tsc uses stdout); it all goes to stderr. */
        put(compile, "stdout", stderr);
        put(compile, "stderr", stderr);
        if (!json_is_object(run)) {
            if (json_is_true(json_object_get(compile, "timed_out")))
                fprintf(stderr, "cove: compilation timed out\n");
            else
                fprintf(stderr, "cove: compilation failed (exit code %lld)\n",
                        cli_json_int(compile, "exit_code", -1));
            return phase_exit(compile);
        }
    }
    if (!json_is_object(run))
        return CLI_EXIT_FAILURE;
    return cli_exec_report(run, timeout_s, COVE_DEFAULT_OUTPUT_CAP);
}

int cli_code_opt_file(const struct cli_command *cmd, const char *arg, struct cli_code_files *f)
{
    if (f->n == ELEMENTSOF(f->v))
        return cli_usage_error(cmd, "at most %zu --file options", ELEMENTSOF(f->v));
    f->v[f->n++] = arg;
    return CLI_CONTINUE;
}

int cli_code_add_files(const struct cli_code_files *f, json_t *body)
{
    int r = CLI_CONTINUE;

    for (size_t i = 0; r == CLI_CONTINUE && i < f->n; i++)
        r = add_file(f->v[i], body);
    return r;
}

/* cove upload: stream a local file into a sandbox with PUT .../files/content?path=REMOTE.
 *
 * The file is never read into memory: curl pulls it through a read callback and sends its
 * size as Content-Length (stdin, "-", goes chunked). The daemon creates missing parent
 * directories. A REMOTE ending in '/' names a directory: the local file name is appended. */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

#include "base/parse.h"
#include "cli/common.h"

enum {
    OPT_MODE = OPT_COMMAND,
};

static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    const char **mode = userdata;
    uint32_t m;

    if (opt != OPT_MODE)
        return cli_usage_error(cmd, "unexpected option");
    if (parse_mode(arg, &m) < 0)
        return cli_usage_error(cmd, "--mode expects an octal mode such as 644, got '%s'", arg);
    *mode = arg;
    return CLI_CONTINUE;
}

/* REMOTE, or REMOTE + basename(LOCAL) when REMOTE ends in '/'. */
static int remote_name(const char *local, const char *remote, char **ret)
{
    _cleanup_free_ char *copy = NULL;
    size_t n = strlen(remote);
    char *p;

    if (n == 0 || remote[n - 1] != '/' || !strcmp(local, "-")) {
        p = strdup(remote);
    } else {
        copy = strdup(local);
        if (!copy)
            return -ENOMEM;
        if (asprintf(&p, "%s%s", remote, basename(copy)) < 0)
            p = NULL;
    }
    if (!p)
        return -ENOMEM;
    *ret = p;
    return 0;
}

/* Open LOCAL ("-": stdin) and find its size (-1: unknown). */
static int open_local(const char *local, FILE **ret, int64_t *ret_size)
{
    struct stat st;
    FILE *f;

    if (!strcmp(local, "-")) {
        *ret = stdin;
        *ret_size = -1;
        return 0;
    }
    f = fopen(local, "rbe");
    if (!f)
        return -errno;
    if (fstat(fileno(f), &st) < 0) {
        int e = errno;
        fclose(f);
        return -e;
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        return -EISDIR;
    }
    *ret = f;
    /* A pipe or device has no meaningful st_size: send it chunked. */
    *ret_size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
    return 0;
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"mode", required_argument, NULL, OPT_MODE},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    _cleanup_free_ char *remote = NULL, *path = NULL;
    const char *mode = NULL, *local, *where;
    FILE *f = NULL;
    int64_t size = -1;
    int idx, r;

    r = cli_parse_options(cmd, argc, argv, "h", options, on_option, &mode, NULL, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (argc - idx != 3)
        return cli_usage_error(cmd, "expected ID LOCAL REMOTE");
    local = argv[idx + 1];
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;

    r = remote_name(local, argv[idx + 2], &remote);
    if (r >= 0)
        r = cli_file_content_path(c, argv[idx], remote, &path);
    if (r >= 0 && mode)
        r = cli_path_add_query(c, &path, "mode", mode);
    if (r < 0)
        return cli_client_report(c, r);
    /* Open only after the path is built, so a usage problem never leaves a file open. */
    r = open_local(local, &f, &size);
    if (r < 0) {
        fprintf(stderr, "cove: %s: %s\n", local, strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    r = cli_client_upload(c, path, f, size, &answer);
    if (f != stdin)
        fclose(f);
    if (r < 0)
        return cli_client_report(c, r);
    if (arg_json)
        return cli_print_json(answer) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    where = json_string_value(json_object_get(answer, "path"));
    printf("%s (%lld bytes)\n", where ? where : remote, cli_json_int(answer, "size", 0));
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_upload = {
    .name = "upload",
    .summary = "copy a local file into a sandbox",
    .usage = "Usage: cove upload [--mode MODE] ID|NAME LOCAL REMOTE\n"
             "\n"
             "Stream the file LOCAL (\"-\": stdin) to REMOTE in the sandbox; relative paths\n"
             "are under the home directory, missing parent directories are created, and a\n"
             "REMOTE ending in '/' gets LOCAL's file name appended. Prints the path and size.\n"
             "\n"
             "Options:\n"
             "      --mode MODE   permissions of the file, octal (e.g. 755)\n",
    .run = run,
};

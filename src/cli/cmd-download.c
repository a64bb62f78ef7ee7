/* cove download: stream a file out of a sandbox with GET .../files/content?path=REMOTE to a
 * local file or, for "-", to stdout.
 *
 * A local file is written under a temporary name next to it and renamed into place only
 * once the whole body arrived, so a failed download never leaves a truncated file or
 * clobbers an existing one. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/common.h"

/* LOCAL, or LOCAL/basename(REMOTE) when LOCAL is a directory. */
static int local_name(const char *remote, const char *local, char **ret)
{
    _cleanup_free_ char *copy = NULL;
    struct stat st;
    char *p;

    if (stat(local, &st) < 0 || !S_ISDIR(st.st_mode)) {
        p = strdup(local);
    } else {
        copy = strdup(remote);
        if (!copy)
            return -ENOMEM;
        if (asprintf(&p, "%s/%s", local, basename(copy)) < 0)
            p = NULL;
    }
    if (!p)
        return -ENOMEM;
    *ret = p;
    return 0;
}

/* Download into a temporary file next to dest, then rename it over dest. */
static int download_to_file(struct cli_client *c, const char *path, const char *dest,
                            int64_t *ret_size)
{
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int fd = -EBADF;
    mode_t mask;
    int r;

    if (asprintf(&tmp, "%s.cove-XXXXXX", dest) < 0) {
        tmp = NULL;
        return cli_client_fail(c, ENOMEM, "out of memory");
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return cli_client_fail(c, errno, "cannot create %s: %s", tmp, strerror(errno));
    r = cli_client_download(c, path, fd, ret_size);
    if (r >= 0) {
        /* mkostemp makes the file 0600; give it the mode open(2) would. */
        mask = umask(0);
        umask(mask);
        if (fchmod(fd, 0666 & ~mask) < 0 || fsync(fd) < 0 || close(TAKE_FD(fd)) < 0)
            r = cli_client_fail(c, errno, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (r >= 0 && rename(tmp, dest) < 0)
        r = cli_client_fail(c, errno, "cannot rename %s to %s: %s", tmp, dest, strerror(errno));
    if (r < 0)
        unlink(tmp);
    return r;
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *j = NULL;
    _cleanup_free_ char *path = NULL, *dest = NULL;
    const char *remote;
    int64_t size = 0;
    int idx, r;

    r = cli_parse_options(cmd, argc, argv, "h", options, NULL, NULL, NULL, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (argc - idx != 3)
        return cli_usage_error(cmd, "expected ID REMOTE LOCAL (LOCAL may be - for stdout)");
    remote = argv[idx + 1];
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    r = cli_file_content_path(c, argv[idx], remote, &path);
    if (r < 0)
        return cli_client_report(c, r);

    if (!strcmp(argv[idx + 2], "-")) {
        /* The body is written to fd 1 directly; nothing buffered in stdout may follow it. */
        fflush(stdout);
        r = cli_client_download(c, path, STDOUT_FILENO, &size);
        /* --json would mix with the data on stdout; the data is the answer. */
        return r < 0 ? cli_client_report(c, r) : CLI_EXIT_OK;
    }
    r = local_name(remote, argv[idx + 2], &dest);
    if (r < 0)
        return cli_client_report(c, r);
    r = download_to_file(c, path, dest, &size);
    if (r < 0)
        return cli_client_report(c, r);
    if (!arg_json)
        return CLI_EXIT_OK;
    j = json_pack("{s:s, s:s, s:I}", "path", remote, "local", dest, "size", (json_int_t)size);
    return j && cli_print_json(j) >= 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

const struct cli_command cli_cmd_download = {
    .name = "download",
    .summary = "copy a file out of a sandbox",
    .usage = "Usage: cove download ID|NAME REMOTE LOCAL|-\n"
             "\n"
             "Stream the sandbox file REMOTE (relative: under the home directory) to LOCAL, or\n"
             "to stdout for \"-\". When LOCAL is a directory the file keeps its name. The file\n"
             "appears only once complete. With --json, print {\"path\", \"local\", \"size\"}.\n",
    .run = run,
};

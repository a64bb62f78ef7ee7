/* Daytona toolbox git routes: init, clone, status, add, commit, branches (list, create,
 * delete), checkout, push and pull.
 *
 * Each route runs the host's git (sandboxes share /usr) inside the sandbox as its user, with
 * `git -C <repo>`, through exec_run: repository paths are sandbox paths and git can touch
 * nothing the sandbox user could not. There is no network in a sandbox, so remotes are local
 * paths or file:// URLs; credentials in the requests are accepted and ignored.
 *
 * A failing git becomes a Daytona error chosen from its message (GIT_REPO_NOT_FOUND,
 * GIT_BRANCH_EXISTS, GIT_BRANCH_NOT_FOUND, GIT_DIRTY_WORKTREE, GIT_PUSH_REJECTED,
 * GIT_MERGE_CONFLICT, with source DAYTONA_DAEMON so the SDK raises its git error classes),
 * else a 400 carrying git's own words. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/daytona.h"
#include "base/limits.h"
#include "exec/exec.h"
#include "sandbox/image.h"

#define GIT_TIMEOUT_MS (10u * 60 * 1000)
#define GIT_MAX_ARGS   64

struct git_call {
    struct http_req *req;
    struct sandbox *sb;
    json_t *body; /* request JSON (POST/DELETE), or NULL */
    char repo[COVE_MAX_PATH];
    struct exec_result res;
};

/* Run git with args (NULL-terminated) in the sandbox. On success res holds the outcome;
 * replies itself when git could not even start. */
static int git_exec(struct git_call *c, const char *const *args)
{
    const char *argv[GIT_MAX_ARGS + 1] = {"git"};
    struct exec_req er = {
        .cwd = SANDBOX_HOME, .timeout_ms = GIT_TIMEOUT_MS, .max_output = COVE_DEFAULT_OUTPUT_CAP};
    struct cove_err err = {0};
    json_t *env = json_pack("{s:s, s:s}", "GIT_TERMINAL_PROMPT", "0", "LC_ALL", "C");
    size_t n = 1;
    int r;

    for (size_t i = 0; args[i] && n < GIT_MAX_ARGS; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    er.argv = (char **)argv;
    er.env = env;
    exec_result_done(&c->res);
    exec_result_init(&c->res, COVE_DEFAULT_OUTPUT_CAP);
    r = exec_run(c->sb, &er, &c->res, &err);
    json_decref(env);
    if (r < 0)
        return dtn_reply_err(c->req, &err, true), r;
    return 0;
}

/* Reply with the Daytona error for a failed git. */
static int git_fail(struct git_call *c)
{
    static const struct {
        const char *needle, *code;
        unsigned status;
    } map[] = {
        {"does not exist", "GIT_REPO_NOT_FOUND", 404},
        {"not a git repository", "GIT_REPO_NOT_FOUND", 404},
        {"Could not read from remote", "GIT_REPO_NOT_FOUND", 404},
        {"already exists", "GIT_BRANCH_EXISTS", 409},
        {"did not match any", "GIT_BRANCH_NOT_FOUND", 404},
        {"invalid reference", "GIT_BRANCH_NOT_FOUND", 404},
        {"not found", "GIT_BRANCH_NOT_FOUND", 404},
        {"would be overwritten", "GIT_DIRTY_WORKTREE", 409},
        {"[rejected]", "GIT_PUSH_REJECTED", 409},
        {"CONFLICT", "GIT_MERGE_CONFLICT", 409},
    };
    const char *out = c->res.err.len ? c->res.err.data : c->res.out.data;
    size_t len = c->res.err.len ? c->res.err.len : c->res.out.len;
    char msg[COVE_ERR_MSG_MAX];

    snprintf(msg, sizeof(msg), "%.*s", (int)len, out ? out : "");
    for (size_t n = strlen(msg); n > 0 && msg[n - 1] == '\n';)
        msg[--n] = '\0';
    if (!msg[0])
        snprintf(msg, sizeof(msg), "git exited with status %d", c->res.exit_code);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strstr(msg, map[i].needle))
            return dtn_reply_error(c->req, map[i].status, map[i].code, DTN_SOURCE_DAEMON, "%s",
                                   msg);
    return dtn_reply_error(c->req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON, "%s", msg);
}

/* Run git and, if it failed, reply. Returns 0 only when git exited 0. */
static int git_ok(struct git_call *c, const char *const *args)
{
    if (git_exec(c, args) < 0)
        return -EIO;
    if (c->res.timed_out || c->res.exit_code != 0) {
        git_fail(c);
        return -EIO;
    }
    return 0;
}

/* A string member of the body, or NULL. */
static const char *str(struct git_call *c, const char *key)
{
    const char *v = json_string_value(json_object_get(c->body, key));
    return v && v[0] ? v : NULL;
}

/* Set up: body (when with_body), repository path (body "path" or query "path"), sandbox. */
static int git_begin(struct http_req *req, struct git_call *c, bool with_body)
{
    memset(c, 0, sizeof(*c));
    c->req = req;
    exec_result_init(&c->res, COVE_DEFAULT_OUTPUT_CAP);
    if (with_body && !(c->body = http_req_json(req)))
        return -EINVAL;
    if (dtn_path(req, "path", with_body ? str(c, "path") : http_req_query(req, "path"), c->repo,
                 sizeof(c->repo)) < 0 ||
        dtn_lookup(req, &c->sb) < 0)
        return -EINVAL;
    return 0;
}

static int git_end(struct git_call *c)
{
    exec_result_done(&c->res);
    json_decref(c->body);
    sandbox_unref(c->sb);
    return 0;
}

static int reply_done(struct git_call *c)
{
    return http_reply_json(c->req, 200, json_object());
}

int dtn_git_clone(struct http_req *req)
{
    struct git_call c;
    const char *url, *branch, *commit;
    char depth[24] = "";
    json_t *d;

    if (git_begin(req, &c, true) < 0)
        return git_end(&c);
    url = str(&c, "url");
    branch = str(&c, "branch");
    commit = str(&c, "commit_id");
    d = json_object_get(c.body, "depth");
    if (json_is_integer(d) && json_integer_value(d) > 0)
        snprintf(depth, sizeof(depth), "--depth=%lld", (long long)json_integer_value(d));
    if (!url) {
        dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON, "url is required");
        return git_end(&c);
    }
    const char *args[12] = {"clone", "-q"};
    size_t n = 2;
    if (branch)
        args[n++] = "--branch", args[n++] = branch;
    if (depth[0])
        args[n++] = depth;
    args[n++] = "--";
    args[n++] = url;
    args[n++] = c.repo;
    if (git_ok(&c, args) == 0 && (!commit || git_ok(&c, (const char *[]){"-C", c.repo, "checkout",
                                                                         "-q", commit, NULL}) == 0))
        reply_done(&c);
    return git_end(&c);
}

int dtn_git_init(struct http_req *req)
{
    struct git_call c;
    const char *args[8] = {"init", "-q"};
    size_t n = 2;

    if (git_begin(req, &c, true) < 0)
        return git_end(&c);
    if (json_is_true(json_object_get(c.body, "bare")))
        args[n++] = "--bare";
    if (str(&c, "initial_branch"))
        args[n++] = "-b", args[n++] = str(&c, "initial_branch");
    args[n++] = c.repo;
    if (git_ok(&c, args) == 0)
        reply_done(&c);
    return git_end(&c);
}

static const char *status_name(char x)
{
    switch (x) {
    case 'M':
        return "Modified";
    case 'A':
        return "Added";
    case 'D':
        return "Deleted";
    case 'R':
        return "Renamed";
    case 'C':
        return "Copied";
    case 'U':
        return "Updated but unmerged";
    case '?':
        return "Untracked";
    default:
        return "Unmodified";
    }
}

/* Parse `git status --porcelain=v2 --branch -z` output into Daytona's GitStatus. */
static json_t *parse_status(const char *out, size_t len)
{
    json_t *files = json_array();
    json_t *o = json_pack("{s:s, s:i, s:i, s:b, s:b}", "currentBranch", "", "ahead", 0, "behind", 0,
                          "branchPublished", 0, "detached", 0);

    for (size_t p = 0; o && files && p < len;) {
        const char *rec = out + p;
        size_t rl = strnlen(rec, len - p);
        char name[COVE_MAX_PATH];
        int a, b;

        p += rl + 1;
        if (!strncmp(rec, "# branch.head ", 14)) {
            bool detached = !strcmp(rec + 14, "(detached)");
            json_object_set_new(o, "currentBranch", json_string_lossy(rec + 14, rl - 14));
            json_object_set_new(o, "detached", json_boolean(detached));
        } else if (!strncmp(rec, "# branch.upstream ", 18)) {
            json_object_set_new(o, "upstream", json_string_lossy(rec + 18, rl - 18));
            json_object_set_new(o, "branchPublished", json_true());
        } else if (sscanf(rec, "# branch.ab +%d -%d", &a, &b) == 2) {
            json_object_set_new(o, "ahead", json_integer(a));
            json_object_set_new(o, "behind", json_integer(b));
        } else if (rec[0] == '?' || ((rec[0] == '1' || rec[0] == '2' || rec[0] == 'u') && rl > 4)) {
            /* path is the last space-separated field; type 2 has the old path after a NUL */
            const char *path = rec[0] == '?' ? rec + 2 : strrchr(rec, ' ') + 1;
            char x = rec[0] == '?' ? '?' : rec[2], y = rec[0] == '?' ? '?' : rec[3];
            if (rec[0] == '2')
                p += strnlen(out + p, len - p) + 1;
            snprintf(name, sizeof(name), "%s", path);
            json_array_append_new(files, json_pack("{s:o, s:s, s:s, s:s}", "name",
                                                   json_string_lossy(name, strlen(name)), "staging",
                                                   status_name(x), "worktree", status_name(y),
                                                   "extra", ""));
        }
    }
    if (o && files)
        json_object_set_new(o, "fileStatus", files);
    else
        json_decref(files);
    return o;
}

int dtn_git_status(struct http_req *req)
{
    struct git_call c;

    if (git_begin(req, &c, false) < 0)
        return git_end(&c);
    if (git_ok(&c, (const char *[]){"-C", c.repo, "status", "--porcelain=v2", "--branch", "-z",
                                    NULL}) == 0)
        http_reply_json(req, 200, parse_status(c.res.out.data, c.res.out.len));
    return git_end(&c);
}

int dtn_git_add(struct http_req *req)
{
    struct git_call c;
    json_t *files, *f;
    const char **args = NULL;
    size_t i, n = 0;

    if (git_begin(req, &c, true) < 0)
        return git_end(&c);
    files = json_object_get(c.body, "files");
    args = calloc(json_array_size(files) + 6, sizeof(char *));
    if (!json_is_array(files) || !args || json_array_size(files) > GIT_MAX_ARGS - 6) {
        dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                        "files must be an array of at most %d paths", GIT_MAX_ARGS - 6);
        free(args);
        return git_end(&c);
    }
    args[n++] = "-C", args[n++] = c.repo, args[n++] = "add", args[n++] = "--";
    json_array_foreach(files, i, f)
    {
        if (json_is_string(f))
            args[n++] = json_string_value(f);
    }
    if (git_ok(&c, args) == 0)
        reply_done(&c);
    free(args);
    return git_end(&c);
}

int dtn_git_commit(struct http_req *req)
{
    struct git_call c;
    char name[512], email[512];
    const char *msg;

    if (git_begin(req, &c, true) < 0)
        return git_end(&c);
    msg = str(&c, "message");
    if (!msg || !str(&c, "author") || !str(&c, "email")) {
        dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                        "message, author and email are required");
        return git_end(&c);
    }
    snprintf(name, sizeof(name), "user.name=%s", str(&c, "author"));
    snprintf(email, sizeof(email), "user.email=%s", str(&c, "email"));
    const char *args[] = {"-C",
                          c.repo,
                          "-c",
                          name,
                          "-c",
                          email,
                          "commit",
                          "-q",
                          "-m",
                          msg,
                          json_is_true(json_object_get(c.body, "allow_empty")) ? "--allow-empty"
                                                                               : NULL,
                          NULL};
    if (git_ok(&c, args) == 0 &&
        git_ok(&c, (const char *[]){"-C", c.repo, "rev-parse", "HEAD", NULL}) == 0) {
        size_t n = c.res.out.len;
        while (n > 0 && c.res.out.data[n - 1] == '\n')
            n--;
        http_reply_json(req, 200, json_pack("{s:o}", "hash", json_string_lossy(c.res.out.data, n)));
    }
    return git_end(&c);
}

int dtn_git_branches(struct http_req *req)
{
    struct git_call c;
    json_t *list;

    if (git_begin(req, &c, false) < 0)
        return git_end(&c);
    if (git_ok(&c, (const char *[]){"-C", c.repo, "branch", "--format=%(refname:short)", NULL}) < 0)
        return git_end(&c);
    list = json_array();
    for (char *line = c.res.out.data, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            nl = line + strlen(line) - 1;
        else
            *nl = '\0';
        if (*line)
            json_array_append_new(list, json_string_lossy(line, strlen(line)));
    }
    json_t *o = json_pack("{s:o}", "branches", list);
    if (git_ok(&c, (const char *[]){"-C", c.repo, "branch", "--show-current", NULL}) == 0) {
        size_t n = c.res.out.len;
        while (n > 0 && c.res.out.data[n - 1] == '\n')
            n--;
        if (n)
            json_object_set_new(o, "current", json_string_lossy(c.res.out.data, n));
        http_reply_json(req, 200, o);
    } else {
        json_decref(o);
    }
    return git_end(&c);
}

/* POST /git/branches {path, name} and DELETE /git/branches {path, name}. */
static int branch_op(struct http_req *req, bool create)
{
    struct git_call c;
    const char *name;

    if (git_begin(req, &c, true) < 0)
        return git_end(&c);
    name = str(&c, "name");
    if (!name || name[0] == '-')
        dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                        "name is required and must not start with '-'");
    else if (git_ok(&c, (const char *[]){"-C", c.repo, "branch", create ? name : "-D",
                                         create ? NULL : name, NULL}) == 0)
        reply_done(&c);
    return git_end(&c);
}

int dtn_git_branch_create(struct http_req *req)
{
    return branch_op(req, true);
}

int dtn_git_branch_delete(struct http_req *req)
{
    return branch_op(req, false);
}

int dtn_git_checkout(struct http_req *req)
{
    struct git_call c;
    const char *branch;

    if (git_begin(req, &c, true) < 0)
        return git_end(&c);
    branch = str(&c, "branch");
    if (!branch || branch[0] == '-')
        dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                        "branch is required and must not start with '-'");
    else if (git_ok(&c, (const char *[]){"-C", c.repo, "checkout", "-q", branch, "--", NULL}) == 0)
        reply_done(&c);
    return git_end(&c);
}

/* POST /git/push and /git/pull {path, remote?, branch?}. */
static int remote_op(struct http_req *req, const char *verb)
{
    struct git_call c;
    const char *args[10] = {"-C", NULL, verb, "-q"};
    size_t n = 4;

    if (git_begin(req, &c, true) < 0)
        return git_end(&c);
    args[1] = c.repo;
    if (!strcmp(verb, "push") && json_is_true(json_object_get(c.body, "set_upstream")))
        args[n++] = "-u";
    if (str(&c, "remote") || str(&c, "branch"))
        args[n++] = str(&c, "remote") ? str(&c, "remote") : "origin";
    if (str(&c, "branch"))
        args[n++] = str(&c, "branch");
    if (git_ok(&c, args) == 0)
        reply_done(&c);
    return git_end(&c);
}

int dtn_git_push(struct http_req *req)
{
    return remote_op(req, "push");
}

int dtn_git_pull(struct http_req *req)
{
    return remote_op(req, "pull");
}

/* Interpreter contexts (context.h): the registry, starting kernels, and running cells.
 *
 * Locking. reg.lock guards the list and every entry's bookkeeping (refs, listed, dead,
 * cells). An entry's descriptors belong to whoever holds its run_lock: a cell, or a short
 * liveness check by get/list/create that only trylocks it. Entries are reference-counted so
 * a delete can unlist an entry whose cell is still running; the descriptors close with the
 * last reference, and closing the spawn connection makes init end the kernel's tree. */
#include "exec/context.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/path.h"
#include "base/uuid.h"
#include "context-kernels.h"
#include "exec/coderun-internal.h"
#include "json/json-util.h"
#include "sandbox/cgroup.h"
#include "sandbox/ctl.h"
#include "sandbox/image.h"

struct ctx {
    unsigned refs;
    bool listed;
    bool hidden;
    char sandbox[65];
    char id[CONTEXT_ID_MAX + 1];
    char language[16];
    char cwd[COVE_MAX_PATH + 1];
    int64_t created_ms;
    uint64_t cells;
    pthread_mutex_t run_lock;
    int sock, out, err, ctl; /* ours: event socket, stdout, stderr, spawn connection */
    pid_t reaper, kernel;    /* pids inside the sandbox */
    struct buf line;         /* a partial event line */
    bool dead;
    char dead_reason[160];
    struct ctx *next;
};

struct context_run {
    struct ctx *c;
    struct sandbox *sb;
    int64_t start_ms, deadline_ms, grace_ms;
    bool finished;
    size_t max_output;
    uint64_t oom_before;
    char carry[2][4]; /* an incomplete UTF-8 sequence at the end of the last read, per stream */
    size_t ncarry[2];
    struct context_result res;
};

static struct {
    pthread_mutex_t lock;
    struct ctx *head;
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- registry ---- */

static void ctx_unref_locked(struct ctx *c)
{
    if (!c || --c->refs > 0)
        return;
    safe_close(c->sock);
    safe_close(c->out);
    safe_close(c->err);
    safe_close(c->ctl);
    buf_free(&c->line);
    pthread_mutex_destroy(&c->run_lock);
    free(c);
}

static void ctx_unref(struct ctx *c)
{
    pthread_mutex_lock(&reg.lock);
    ctx_unref_locked(c);
    pthread_mutex_unlock(&reg.lock);
}

static void unlist_locked(struct ctx *c)
{
    for (struct ctx **pp = &reg.head; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            c->next = NULL;
            c->listed = false;
            ctx_unref_locked(c);
            return;
        }
}

static struct ctx *find_locked(const char *sandbox, const char *id)
{
    for (struct ctx *c = reg.head; c; c = c->next)
        if (!strcmp(c->sandbox, sandbox) && !strcmp(c->id, id))
            return c;
    return NULL;
}

static struct ctx *find_ref(struct sandbox *sb, const char *id)
{
    pthread_mutex_lock(&reg.lock);
    struct ctx *c = find_locked(sandbox_id(sb), id);
    if (c)
        c->refs++;
    pthread_mutex_unlock(&reg.lock);
    return c;
}

static void mark_dead(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mark_dead(struct ctx *c, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&reg.lock);
    if (!c->dead) {
        c->dead = true;
        va_start(ap, fmt);
        vsnprintf(c->dead_reason, sizeof(c->dead_reason), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&reg.lock);
}

static void describe_status(int status, char *out, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(out, cap, "was killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)),
                 WTERMSIG(status) == SIGKILL ? ", for example by the out-of-memory killer" : "");
    else
        snprintf(out, cap, "exited with code %d", WEXITSTATUS(status));
}

/* Has the kernel exited? Reads the spawn connection without waiting; caller owns run_lock. */
static bool check_alive(struct ctx *c)
{
    struct ctl_msg m;
    char how[120];
    int q;

    if (c->dead)
        return false;
    while (c->ctl >= 0 && (q = ctl_recv(c->ctl, &m, 0)) != 0) {
        if (q > 0 && m.type != CTL_EXITED)
            continue;
        if (q > 0) {
            describe_status(m.status, how, sizeof(how));
            mark_dead(c, "the %s process %s; its state is gone", c->language, how);
        } else {
            mark_dead(c, "the sandbox stopped, and the %s process with it", c->language);
        }
        c->ctl = safe_close(c->ctl);
        return false;
    }
    return !c->dead;
}

/* ---- JSON ---- */

static json_t *ctx_json_locked(const struct ctx *c, bool active)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:b, s:I}", "id", c->id, "language", c->language,
                          "cwd", c->cwd, "created_at", json_iso_time(c->created_ms), "active",
                          active, "cells", (json_int_t)c->cells);
    if (o && c->dead)
        json_object_set_new(o, "error", json_string(c->dead_reason));
    return o;
}

/* JSON of c, checking liveness when no cell is running (a running cell means alive). */
static json_t *ctx_json(struct ctx *c)
{
    bool active = true;
    json_t *o;

    if (pthread_mutex_trylock(&c->run_lock) == 0) {
        active = check_alive(c);
        pthread_mutex_unlock(&c->run_lock);
    }
    pthread_mutex_lock(&reg.lock);
    o = ctx_json_locked(c, active && !c->dead);
    pthread_mutex_unlock(&reg.lock);
    return o;
}

json_t *context_get_json(struct sandbox *sb, const char *id, struct cove_err *err)
{
    struct ctx *c = find_ref(sb, id);
    json_t *o;

    if (!c) {
        cove_err_setk(err, -ENOENT, "CONTEXT_NOT_FOUND", "no context '%s' in sandbox '%s'", id,
                      sandbox_id(sb));
        return NULL;
    }
    o = ctx_json(c);
    ctx_unref(c);
    if (!o)
        cove_err_set(err, -ENOMEM, "out of memory");
    return o;
}

json_t *context_list_json(struct sandbox *sb)
{
    struct ctx *v[CONTEXT_MAX_PER_SANDBOX];
    size_t n = 0;
    json_t *a = json_array();

    pthread_mutex_lock(&reg.lock);
    for (struct ctx *c = reg.head; c && n < CONTEXT_MAX_PER_SANDBOX; c = c->next)
        if (!strcmp(c->sandbox, sandbox_id(sb)) && !c->hidden) {
            c->refs++;
            v[n++] = c;
        }
    pthread_mutex_unlock(&reg.lock);
    for (size_t i = 0; i < n; i++) {
        if (a)
            json_array_append_new(a, ctx_json(v[i]));
        ctx_unref(v[i]);
    }
    return a;
}

bool context_exists(struct sandbox *sb, const char *id)
{
    pthread_mutex_lock(&reg.lock);
    bool found = find_locked(sandbox_id(sb), id) != NULL;
    pthread_mutex_unlock(&reg.lock);
    return found;
}

/* ---- starting a kernel ---- */

static bool id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > CONTEXT_ID_MAX || id[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
              (id[i] >= '0' && id[i] <= '9') || strchr("._-", id[i])))
            return false;
    return true;
}

/* argv of the kernel for language, or -ENOTSUP naming what is missing. */
static int kernel_argv(const char *language, const char *argv[7], struct cove_err *err)
{
    const char *py = coderun_tool_path(TOOL_PYTHON), *node = coderun_tool_path(TOOL_NODE);
    const char *tslib = coderun_tool_path(TOOL_TSLIB);

    if (!strcmp(language, "python")) {
        if (!py)
            goto missing;
        argv[0] = py, argv[1] = "-c", argv[2] = kernel_python_src, argv[3] = NULL;
        return 0;
    }
    if (!strcmp(language, "javascript") || !strcmp(language, "typescript")) {
        bool is_ts = language[0] == 't';
        if (!node || (is_ts && !tslib))
            goto missing;
        argv[0] = node, argv[1] = "-e", argv[2] = kernel_node_src, argv[3] = language;
        argv[4] = is_ts ? tslib : NULL, argv[5] = NULL;
        return 0;
    }
    return cove_err_setk(err, -EINVAL, "LANGUAGE_UNSUPPORTED",
                         "contexts exist for python, javascript and typescript, not '%s'",
                         language);
missing:
    return cove_err_setk(err, -EINVAL, "LANGUAGE_UNAVAILABLE",
                         "the %s toolchain is not installed on this host; contexts here: %s%s%s",
                         language, py ? "python" : "", py && node ? ", javascript" : "",
                         node && tslib ? ", typescript" : "");
}

/* Read what a kernel that failed to start wrote on stderr, for the error message. */
static void read_stderr_tail(int fd, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t k;

    while (n + 1 < cap && (k = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n')
            *p = ' ';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
}

/* Wait for the kernel's hello line; returns the kernel's pid or a negative errno. */
static int wait_hello(struct ctx *c, struct cove_err *err)
{
    int64_t end = mono_ms() + CONTEXT_START_TIMEOUT_MS;
    char tail[1024];

    for (;;) {
        char *nl = memchr(c->line.data ? c->line.data : "", '\n', c->line.len);
        if (nl) {
            size_t len = (size_t)(nl - c->line.data);
            json_t *o = json_loadb(c->line.data, len, 0, NULL);
            json_int_t pid = json_integer_value(json_object_get(o, "pid"));
            const char *type = json_string_value(json_object_get(o, "type"));
            bool ok = type && !strcmp(type, "hello") && pid > 1 && pid < INT32_MAX;
            json_decref(o);
            memmove(c->line.data, nl + 1, c->line.len - len - 1);
            c->line.len -= len + 1;
            if (!ok)
                return cove_err_set(err, -EPROTO, "the %s context sent a malformed greeting",
                                    c->language);
            return (int)pid;
        }
        int64_t left = end - mono_ms();
        if (left <= 0)
            return cove_err_set(err, -ETIMEDOUT, "the %s context did not start within %d s",
                                c->language, CONTEXT_START_TIMEOUT_MS / 1000);
        struct pollfd p[2] = {{.fd = c->sock, .events = POLLIN}, {.fd = c->ctl, .events = POLLIN}};
        if (poll(p, 2, (int)left) < 0 && errno != EINTR)
            return cove_err_errno(err, errno, "poll");
        if (p[0].revents) {
            char chunk[4096];
            ssize_t n = read(c->sock, chunk, sizeof(chunk));
            if (n > 0 && buf_append(&c->line, chunk, (size_t)n) < 0)
                return cove_err_set(err, -EPROTO, "the %s context sent an oversized greeting",
                                    c->language);
            if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
                continue;
        } else if (!p[1].revents) {
            continue;
        }
        /* The kernel closed its socket or exited before greeting: say why, from stderr. */
        (void)check_alive(c);
        read_stderr_tail(c->err, tail, sizeof(tail));
        return cove_err_setk(err, -EIO, "CONTEXT_START_FAILED",
                             "the %s context failed to start%s%s", c->language, tail[0] ? ": " : "",
                             tail[0] ? tail : (c->dead ? c->dead_reason : ""));
    }
}

static int spawn_kernel(struct sandbox *sb, struct ctx *c, struct cove_err *err)
{
    struct ctl_msg m = {.type = CTL_SPAWN, .flags = CTL_F_REAPER};
    _cleanup_close_ int child_sock = -EBADF, out_w = -EBADF, err_w = -EBADF;
    _cleanup_free_ char *payload = NULL;
    const char *argv[7];
    int sv[2], po[2], pe[2], r;
    char **envp;
    size_t len;

    r = kernel_argv(c->language, argv, err);
    if (r < 0)
        return r;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return cove_err_errno(err, errno, "socketpair");
    c->sock = sv[0], child_sock = sv[1];
    if (pipe2(po, O_CLOEXEC) < 0)
        return cove_err_errno(err, errno, "pipe");
    c->out = po[0], out_w = po[1];
    if (pipe2(pe, O_CLOEXEC) < 0)
        return cove_err_errno(err, errno, "pipe");
    c->err = pe[0], err_w = pe[1];
    /* The sandbox user owns the kernel's ends, so /dev/stdout and friends reopen. */
    uid_t uid = sandbox_host_uid(sb);
    (void)!fchown(out_w, uid, uid);
    (void)!fchown(err_w, uid, uid);
    (void)fcntl(c->out, F_SETFL, O_NONBLOCK);
    (void)fcntl(c->err, F_SETFL, O_NONBLOCK);
    (void)fcntl(c->sock, F_SETFL, O_NONBLOCK);

    json_t *extra = json_pack("{s:s, s:s}", "MPLBACKEND", "Agg", "PYTHONDONTWRITEBYTECODE", "1");
    envp = sandbox_build_env(sb, extra);
    json_decref(extra);
    if (!envp)
        return cove_err_set(err, -ENOMEM, "out of memory");
    r = ctl_spawn_payload(c->cwd, (char *const *)argv, envp, &payload, &len, &m.argc, &m.envc);
    sandbox_env_free(envp);
    if (r < 0)
        return cove_err_set(err, r, "cannot build the spawn request");
    c->ctl = sandbox_ctl_connect(sb, err);
    if (c->ctl < 0)
        return c->ctl;
    r = ctl_send(c->ctl, &m, payload, len, (int[]){child_sock, out_w, err_w}, 3);
    if (r < 0)
        return cove_err_errno(err, -r, "send the context to the sandbox");
    if (ctl_recv(c->ctl, &m, 30000) <= 0)
        return cove_err_set(err, -EIO, "the sandbox did not answer the spawn request");
    if (m.type == CTL_ERROR && m.stage == CTL_STAGE_CWD)
        return cove_err_setk(err, -EINVAL, "CWD_NOT_FOUND", "cannot use working directory '%s': %s",
                             c->cwd, m.text);
    if (m.type != CTL_SPAWNED)
        return cove_err_set(err, -(m.type == CTL_ERROR && m.err ? m.err : EIO),
                            "cannot start the %s context: %s", c->language, m.text);
    c->reaper = m.pid;
    /* Close our copies of the kernel's ends so EOF means the kernel is gone. */
    child_sock = safe_close(child_sock);
    out_w = safe_close(out_w);
    err_w = safe_close(err_w);
    r = wait_hello(c, err);
    if (r < 0)
        return r;
    c->kernel = r;
    return 0;
}

/* Signal the process group of pid (inside the sandbox) through its init. */
static void send_signal(struct sandbox *sb, pid_t pid, int sig)
{
    struct ctl_msg m = {.type = CTL_SIGNAL, .pid = pid, .status = sig};
    _cleanup_close_ int fd = pid > 1 ? sandbox_ctl_connect(sb, NULL) : -EBADF;

    if (fd >= 0 && ctl_send(fd, &m, NULL, 0, NULL, 0) == 0)
        (void)ctl_recv(fd, &m, 5000);
}

/* SIGTERM to the reaper: it SIGKILLs the kernel's whole tree. */
static void kill_kernel(struct sandbox *sb, pid_t reaper)
{
    send_signal(sb, reaper, SIGTERM);
}

/* Drop the entries of sandboxes that no longer exist (deleted by auto-delete or validate,
 * which do not go through the API's forget calls). */
static void prune_orphans(void)
{
    pthread_mutex_lock(&reg.lock);
    for (struct ctx *c = reg.head, *next; c; c = next) {
        struct sandbox *sb;

        next = c->next;
        if (sandbox_lookup(NULL, c->sandbox, &sb, NULL) < 0)
            unlist_locked(c);
        else
            sandbox_unref(sb);
    }
    pthread_mutex_unlock(&reg.lock);
}

int context_create(struct sandbox *sb, const char *language, const char *cwd, const char *id,
                   bool hidden, json_t **ret_json, struct cove_err *err)
{
    struct ctx *c;
    size_t n = 0;
    int r;

    if (!language)
        language = "python";
    if (strcmp(language, "python") && strcmp(language, "javascript") &&
        strcmp(language, "typescript"))
        return cove_err_setk(err, -EINVAL, "LANGUAGE_UNSUPPORTED",
                             "contexts exist for python, javascript and typescript, not '%.40s'",
                             language);
    if (id && !id_valid(id))
        return cove_err_set(err, -EINVAL,
                            "a context id is 1 to %d characters of A-Z a-z 0-9 . _ - and does "
                            "not start with '.'",
                            CONTEXT_ID_MAX);
    c = calloc(1, sizeof(*c));
    if (!c)
        return cove_err_set(err, -ENOMEM, "out of memory");
    c->refs = 1;
    c->sock = c->out = c->err = c->ctl = -EBADF;
    pthread_mutex_init(&c->run_lock, NULL);
    buf_init(&c->line, CONTEXT_MAX_EVENT);
    c->hidden = hidden;
    snprintf(c->sandbox, sizeof(c->sandbox), "%s", sandbox_id(sb));
    snprintf(c->language, sizeof(c->language), "%s", language);
    if (id)
        snprintf(c->id, sizeof(c->id), "%s", id);
    else
        cove_uuid4(c->id);
    if (!cwd)
        cwd = SANDBOX_HOME;
    if (path_normalize(SANDBOX_HOME, cwd, c->cwd, sizeof(c->cwd)) < 0) {
        r = cove_err_set(err, -EINVAL, "'cwd' must be a valid path");
        goto fail;
    }
    c->created_ms = wall_ms();
    prune_orphans();

    pthread_mutex_lock(&reg.lock);
    for (struct ctx *o = reg.head; o; o = o->next)
        n += !strcmp(o->sandbox, c->sandbox);
    if (find_locked(c->sandbox, c->id)) {
        pthread_mutex_unlock(&reg.lock);
        r = cove_err_setk(err, -EEXIST, "CONTEXT_EXISTS", "context '%s' exists already", c->id);
        goto fail;
    }
    if (n >= CONTEXT_MAX_PER_SANDBOX) {
        pthread_mutex_unlock(&reg.lock);
        r = cove_err_setk(err, -EBUSY, "TOO_MANY_CONTEXTS",
                          "sandbox '%s' has %d contexts, the most it may have; delete one first",
                          c->sandbox, CONTEXT_MAX_PER_SANDBOX);
        goto fail;
    }
    /* Listed while it starts, so the id and the slot are taken; nobody can run a cell in it
     * before we release run_lock. */
    pthread_mutex_lock(&c->run_lock);
    c->refs++;
    c->listed = true;
    c->next = reg.head;
    reg.head = c;
    pthread_mutex_unlock(&reg.lock);

    r = spawn_kernel(sb, c, err);
    if (r < 0) {
        pid_t reaper = c->reaper;
        pthread_mutex_unlock(&c->run_lock);
        kill_kernel(sb, reaper);
        pthread_mutex_lock(&reg.lock);
        if (c->listed)
            unlist_locked(c);
        ctx_unref_locked(c);
        pthread_mutex_unlock(&reg.lock);
        return r;
    }
    pthread_mutex_unlock(&c->run_lock);
    if (ret_json)
        *ret_json = ctx_json(c);
    ctx_unref(c);
    return 0;
fail:
    ctx_unref(c);
    return r;
}

int context_delete(struct sandbox *sb, const char *id, struct cove_err *err)
{
    pid_t reaper;
    struct ctx *c;

    pthread_mutex_lock(&reg.lock);
    c = find_locked(sandbox_id(sb), id);
    if (!c) {
        pthread_mutex_unlock(&reg.lock);
        return cove_err_setk(err, -ENOENT, "CONTEXT_NOT_FOUND", "no context '%s' in sandbox '%s'",
                             id, sandbox_id(sb));
    }
    reaper = c->reaper;
    unlist_locked(c);
    pthread_mutex_unlock(&reg.lock);
    kill_kernel(sb, reaper);
    return 0;
}

void context_forget_sandbox(struct sandbox *sb)
{
    pthread_mutex_lock(&reg.lock);
    for (struct ctx *c = reg.head, *next; c; c = next) {
        next = c->next;
        if (!strcmp(c->sandbox, sandbox_id(sb)))
            unlist_locked(c);
    }
    pthread_mutex_unlock(&reg.lock);
}

/* ---- running a cell ---- */

void context_result_init(struct context_result *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->out, cap);
    buf_init(&r->err, cap);
    r->artifacts = json_array();
}

void context_result_done(struct context_result *r)
{
    json_decref(r->error);
    json_decref(r->result);
    json_decref(r->artifacts);
    buf_free(&r->out);
    buf_free(&r->err);
}

int context_run_begin(struct sandbox *sb, const char *id, const char *code, size_t len, json_t *env,
                      uint64_t timeout_ms, size_t max_output, struct context_run **ret,
                      struct cove_err *err)
{
    struct context_run *run;
    struct ctx *c;
    json_t *req;
    char *line;
    int r;

    if (len > CONTEXT_MAX_CODE)
        return cove_err_set(err, -E2BIG, "a cell is at most %u bytes", CONTEXT_MAX_CODE);
    c = find_ref(sb, id);
    if (!c)
        return cove_err_setk(err, -ENOENT, "CONTEXT_NOT_FOUND", "no context '%s' in sandbox '%s'",
                             id, sandbox_id(sb));
    if (pthread_mutex_trylock(&c->run_lock) != 0) {
        ctx_unref(c);
        return cove_err_setk(err, -EBUSY, "CONTEXT_BUSY",
                             "context '%s' is running a cell; wait for it to finish", id);
    }
    if (!check_alive(c)) {
        r = cove_err_setk(err, -EPIPE, "CONTEXT_DEAD", "context '%s' is gone: %s", id,
                          c->dead_reason);
        goto fail;
    }
    req = json_pack("{s:s%, s:O?}", "code", code, len, "env", env);
    line = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!line) {
        r = cove_err_set(err, -EINVAL, "the cell must be valid UTF-8");
        goto fail;
    }
    run = calloc(1, sizeof(*run));
    if (!run) {
        free(line);
        r = cove_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    run->c = c;
    run->sb = sandbox_ref(sb);
    run->max_output = max_output ? max_output : COVE_DEFAULT_OUTPUT_CAP;
    context_result_init(&run->res, run->max_output);
    run->start_ms = mono_ms();
    run->deadline_ms =
        run->start_ms + (int64_t)(timeout_ms ? timeout_ms : CONTEXT_DEFAULT_TIMEOUT_MS);
    (void)cgroup_ops()->oom_kills(sandbox_id(sb), &run->oom_before);
    /* Output written between cells (a background thread) belongs to nobody: drop it. */
    {
        char junk[65536];
        while (read(c->out, junk, sizeof(junk)) > 0)
            ;
        while (read(c->err, junk, sizeof(junk)) > 0)
            ;
    }
    /* The socket is non-blocking; a request is at most a few MiB, so wait for room. */
    size_t n = strlen(line), off = 0;
    line[n] = '\n'; /* json_dumps' NUL becomes the line end */
    while (off < n + 1) {
        ssize_t k = send(c->sock, line + off, n + 1 - off, MSG_NOSIGNAL);
        if (k > 0) {
            off += (size_t)k;
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = {.fd = c->sock, .events = POLLOUT};
            if (poll(&p, 1, 1000) >= 0 && mono_ms() < run->deadline_ms)
                continue;
        }
        break;
    }
    free(line);
    pthread_mutex_lock(&reg.lock);
    c->cells++;
    pthread_mutex_unlock(&reg.lock);
    if (off < n + 1) {
        mark_dead(c, "the %s process stopped reading cells", c->language);
        run->res.died = true;
        snprintf(run->res.died_reason, sizeof(run->res.died_reason), "%s", c->dead_reason);
        run->finished = true;
    }
    *ret = run;
    return 0;
fail:
    pthread_mutex_unlock(&c->run_lock);
    ctx_unref(c);
    return r;
}

/* Read what is available on one output pipe (all of it when final). */
static void pump_output(struct context_run *run, int fd, int s, bool final,
                        const struct context_sink *sink)
{
    struct context_result *r = &run->res;
    char chunk[65536 + 4];

    for (int rounds = 0; rounds < 64 || final; rounds++) {
        size_t have = run->ncarry[s];
        memcpy(chunk, run->carry[s], have);
        ssize_t k = fd >= 0 ? read(fd, chunk + have, sizeof(chunk) - 4) : 0;
        size_t n = have + (k > 0 ? (size_t)k : 0), send_n;
        if (k <= 0 && !final && have == 0)
            return;
        send_n = (k > 0 && !final) ? json_utf8_whole(chunk, n) : n;
        run->ncarry[s] = n - send_n;
        memcpy(run->carry[s], chunk + send_n, run->ncarry[s]);
        if (send_n > 0) {
            struct buf *b = s ? &r->err : &r->out;
            if (buf_append_upto(b, chunk, send_n) < send_n)
                *(s ? &r->err_truncated : &r->out_truncated) = true;
            if (sink && sink->output && sink->output(sink->ud, s == 1, chunk, send_n) < 0)
                sink = NULL;
        }
        if (k <= 0)
            return;
    }
}

static void finish(struct context_run *run, const struct context_sink *sink)
{
    uint64_t oom_after = 0;

    pump_output(run, run->c->out, 0, true, sink);
    pump_output(run, run->c->err, 1, true, sink);
    run->res.duration_ms = (double)(mono_ms() - run->start_ms);
    run->res.ok = !run->res.error && !run->res.died;
    if (run->res.died && cgroup_ops()->oom_kills(sandbox_id(run->sb), &oom_after) == 0 &&
        oom_after > run->oom_before)
        snprintf(run->res.died_reason, sizeof(run->res.died_reason),
                 "the %s process was killed by the out-of-memory killer (the sandbox's memory "
                 "limit); its state is gone",
                 run->c->language);
    run->finished = true;
}

static void die(struct context_run *run, const struct context_sink *sink)
{
    struct ctx *c = run->c;

    run->res.died = true;
    snprintf(run->res.died_reason, sizeof(run->res.died_reason), "%s", c->dead_reason);
    finish(run, sink);
}

static bool str_field(json_t *o, const char *k, size_t cap, json_t **ret)
{
    json_t *v = json_object_get(o, k);
    const char *s = json_string_value(v);

    if (!s)
        return false;
    size_t n = json_string_length(v);
    *ret = n > cap ? json_string_lossy(s, json_utf8_whole(s, cap)) : json_incref(v);
    return *ret != NULL;
}

/* One event line from the kernel. Returns 1 at done, 0 to go on, -1 on a protocol error. */
static int handle_event(struct context_result *r, const char *line, size_t len,
                        const struct context_sink *sink)
{
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL), *ev = NULL, *a, *b, *c;
    const char *type = json_string_value(json_object_get(o, "type"));
    int ret = 0;

    if (!json_is_object(o) || !type) {
        json_decref(o);
        return -1;
    }
    if (!strcmp(type, "done")) {
        ret = 1;
    } else if (!strcmp(type, "result") && !r->result &&
               str_field(o, "text", CONTEXT_MAX_RESULT_TEXT, &a)) {
        r->result = json_pack("{s:o}", "text/plain", a);
        ev = json_pack("{s:s, s:O}", "type", "result", "text",
                       json_object_get(r->result, "text/plain"));
    } else if (!strcmp(type, "artifact") && json_array_size(r->artifacts) < CONTEXT_MAX_ARTIFACTS &&
               str_field(o, "data", CONTEXT_MAX_EVENT, &a)) {
        json_array_append_new(r->artifacts,
                              json_pack("{s:s, s:o}", "type", "image/png", "data", a));
        ev = json_pack("{s:s, s:s, s:O}", "type", "artifact", "mime", "image/png", "data", a);
    } else if (!strcmp(type, "error") && !r->error && str_field(o, "name", 256, &a)) {
        if (!str_field(o, "value", 65536, &b))
            b = json_string("");
        if (!str_field(o, "traceback", 1u << 20, &c))
            c = json_string("");
        r->error = json_pack("{s:o, s:o, s:o}", "name", a, "value", b, "traceback", c);
        ev = json_pack("{s:s, s:O, s:O, s:O}", "type", "error", "name", a, "value", b, "traceback",
                       c);
    } else if (!strcmp(type, "artifact_error") && str_field(o, "text", 4096, &a)) {
        const char *t = json_string_value(a);
        if (buf_append_upto(&r->err, t, strlen(t)) < strlen(t))
            r->err_truncated = true;
        if (sink && sink->output)
            (void)sink->output(sink->ud, true, t, strlen(t));
        json_decref(a);
    }
    if (ev && sink && sink->event)
        (void)sink->event(sink->ud, ev);
    json_decref(ev);
    json_decref(o);
    return ret;
}

int context_events_feed(struct buf *l, const char *data, size_t len, struct context_result *res,
                        const struct context_sink *sink)
{
    size_t start = 0;
    int r = 0;

    if (buf_append(l, data, len) < 0)
        return -1; /* a line longer than CONTEXT_MAX_EVENT */
    while (r == 0 && start < l->len) {
        char *nl = memchr(l->data + start, '\n', l->len - start);
        if (!nl)
            break;
        r = handle_event(res, l->data + start, (size_t)(nl - (l->data + start)), sink);
        start = (size_t)(nl - l->data) + 1;
    }
    memmove(l->data, l->data + start, l->len - start);
    l->len -= start;
    if (l->data)
        l->data[l->len] = '\0';
    return r;
}

static void interrupt(struct context_run *run, bool timeout)
{
    if (run->grace_ms)
        return;
    run->res.interrupted = true;
    run->res.timed_out = timeout;
    run->grace_ms = mono_ms() + CONTEXT_INTERRUPT_GRACE_MS;
    send_signal(run->sb, run->c->kernel, SIGINT);
}

int context_run_step(struct context_run *run, int wait_ms, const struct context_sink *sink)
{
    struct ctx *c = run->c;
    int64_t now, until;

    if (run->finished)
        return 1;
    now = mono_ms();
    until = wait_ms < 0 ? INT64_MAX : now + wait_ms;
    for (;;) {
        int64_t limit = run->grace_ms ? run->grace_ms : run->deadline_ms;
        if (now >= limit) {
            if (!run->grace_ms) {
                interrupt(run, true);
                now = mono_ms();
                continue;
            }
            /* It ignored the interrupt: the only way to stop it is to end the context. */
            kill_kernel(run->sb, c->reaper);
            mark_dead(c,
                      "the cell ignored the interrupt at its timeout for %d s, so the %s process "
                      "was killed; its state is gone",
                      CONTEXT_INTERRUPT_GRACE_MS / 1000, c->language);
            die(run, sink);
            return 1;
        }
        int64_t t = (until < limit ? until : limit) - now;
        struct pollfd p[4] = {{.fd = c->out, .events = POLLIN},
                              {.fd = c->err, .events = POLLIN},
                              {.fd = c->sock, .events = POLLIN},
                              {.fd = c->ctl, .events = POLLIN}};
        int n = poll(p, 4, (int)(t > 60000 ? 60000 : t));
        if (n < 0 && errno != EINTR)
            return 0;
        if (p[0].revents)
            pump_output(run, c->out, 0, false, sink);
        if (p[1].revents)
            pump_output(run, c->err, 1, false, sink);
        if (p[2].revents) {
            char chunk[65536];
            ssize_t k = read(c->sock, chunk, sizeof(chunk));
            if (k > 0) {
                int d = context_events_feed(&c->line, chunk, (size_t)k, &run->res, sink);
                if (d < 0) {
                    kill_kernel(run->sb, c->reaper);
                    mark_dead(c,
                              "the %s process sent a malformed or oversized event, so it was "
                              "killed; its state is gone",
                              c->language);
                    die(run, sink);
                    return 1;
                }
                if (d > 0) {
                    finish(run, sink);
                    return 1;
                }
            } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                /* The kernel closed its end: it is exiting. Its status follows on ctl. */
                (void)ctl_recv(c->ctl, &(struct ctl_msg){0}, 0);
                for (int i = 0; i < 20 && check_alive(c); i++)
                    usleep(50000);
                if (!c->dead)
                    mark_dead(c, "the %s process closed its connection; its state is gone",
                              c->language);
                die(run, sink);
                return 1;
            }
        }
        if (p[3].revents && !check_alive(c)) {
            die(run, sink);
            return 1;
        }
        now = mono_ms();
        if (now >= until)
            return 0;
    }
}

struct context_result *context_run_result(struct context_run *run)
{
    return &run->res;
}

void context_run_end(struct context_run *run)
{
    struct ctx *c;

    if (!run)
        return;
    c = run->c;
    if (!run->finished) {
        /* The client went away mid-cell: interrupt it and wait (bounded) for the context to
         * settle, so the next cell starts clean. */
        interrupt(run, false);
        while (!run->finished)
            (void)context_run_step(run, -1, NULL);
    }
    context_result_done(&run->res);
    pthread_mutex_unlock(&c->run_lock);
    ctx_unref(c);
    sandbox_unref(run->sb);
    free(run);
}

json_t *context_result_json(const struct context_result *r)
{
    json_t *o = json_pack(
        "{s:s, s:O?, s:O?, s:O, s:o, s:o, s:b, s:b, s:f, s:b, s:b, s:b}", "status",
        r->died    ? "died"
        : r->error ? "error"
                   : "ok",
        "result", r->result, "error", r->error, "artifacts", r->artifacts, "stdout",
        json_string_lossy(r->out.data ? r->out.data : "", r->out.len), "stderr",
        json_string_lossy(r->err.data ? r->err.data : "", r->err.len), "stdout_truncated",
        r->out_truncated, "stderr_truncated", r->err_truncated, "duration_ms", r->duration_ms,
        "timed_out", r->timed_out, "interrupted", r->interrupted, "context_died", r->died);
    if (o && r->died)
        json_object_set_new(o, "context_error", json_string(r->died_reason));
    return o;
}

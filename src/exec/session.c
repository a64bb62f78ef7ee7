/* Sessions (see session.h): commands run by cove-init as logged commands, shell state kept
 * in the sandbox between commands, rows in the store, logs and status in host files. */
#include "exec/session.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/uuid.h"
#include "json/json-util.h"
#include "sandbox/cgroup.h"
#include "sandbox/ctl.h"
#include "sandbox/image.h"
#include "store/store.h"

/* The session shell. The user's command runs through eval in this very shell, so `cd`,
 * `export`, aliases and function definitions take effect; on exit (including an explicit
 * `exit` in the command) the shell writes them back for the next command. Plain variables
 * that are not exported do not carry over. $1 keys the state (see spawn_logged()), $2 is the
 * command.
 *
 * A shell writes the state back only if its command changed it: an async command (a server
 * that runs for hours) would otherwise undo, when it ends, every `cd` and `export` that the
 * commands run meanwhile made.
 *
 * The save runs from an `exit` function (the command's own `exit` in the session's shell,
 * not in a subshell, or the one after eval), not from an EXIT trap: with an EXIT trap bash
 * catches SIGTERM itself, and a TERM that arrived just before bash forked the command's first
 * program was noted but never acted on, so the shell waited for that program forever (about
 * one early signal in sixty). A command ended by a signal keeps the earlier state. */
static const char WRAPPER[] =
    "S=/tmp/.cove/sessions/$1; mkdir -p \"$S\" 2>/dev/null\n"
    "[ -r \"$S/state\" ] && . \"$S/state\" 2>/dev/null\n"
    "__cove_dump() { export -p; declare -f; alias -p; printf 'cd -- %q\\n' \"$PWD\"; }\n"
    "__cove_save() { local s; s=$(__cove_dump); [ \"$s\" = \"$__cove_s0\" ] || "
    "{ printf '%s\\n' \"$s\" > \"$S/state.$$\" && mv -f \"$S/state.$$\" \"$S/state\"; } "
    "2>/dev/null; }\n"
    "exit() { local rc=${1-$?}; [ \"$BASHPID\" = \"$$\" ] && __cove_save; builtin exit $rc; }\n"
    "__cove_s0=$(__cove_dump)\n"
    "shopt -s expand_aliases\n"
    "eval \"$2\"\n"
    "exit $?\n";

static char sessions_dir[512];

void session_init(const char *state_dir)
{
    snprintf(sessions_dir, sizeof(sessions_dir), "%s/sessions", state_dir);
    (void)mkdir(sessions_dir, 0700);
}

static void log_path(const char *sandbox_id, const char *cid, const char *ext, char *buf,
                     size_t cap)
{
    snprintf(buf, cap, "%s/%s/%s.%s", sessions_dir, sandbox_id, cid, ext);
}

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > SESSION_ID_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && !strchr("._-", id[i]))
            return -EINVAL;
    return id[0] == '.' ? -EINVAL : 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct count_ctx {
    unsigned n;
    int64_t max_cgroup_n;
};

static int count_cb(const struct session_rec *r, void *ud)
{
    struct count_ctx *x = ud;
    x->n++;
    if (r->cgroup_n > x->max_cgroup_n)
        x->max_cgroup_n = r->cgroup_n;
    return 0;
}

static int count_cmd_cb(const struct command_rec *c, void *ud)
{
    (*(unsigned *)ud)++;
    return 0;
}

/* Serialises the count-and-insert of session_create(). */
static pthread_mutex_t create_mu = PTHREAD_MUTEX_INITIALIZER;

int session_create(struct sandbox *sb, const char *id, char ret_id[SESSION_ID_MAX + 1],
                   struct cove_err *err)
{
    struct session_rec r = {0};
    struct count_ctx x = {0};
    int k;

    if (sandbox_state(sb) != SANDBOX_STARTED)
        return cove_err_setk(err, -EBUSY, "INVALID_STATE", "sandbox '%s' is not started",
                             sandbox_id(sb));
    if (id && valid_id(id) < 0)
        return cove_err_set(err, -EINVAL,
                            "session id must be 1-64 of [A-Za-z0-9._-], not starting with '.'");
    pthread_mutex_lock(&create_mu);
    store_session_list(sandbox_store(), sandbox_id(sb), count_cb, &x);
    if (x.n >= SESSION_MAX_PER_SANDBOX) {
        pthread_mutex_unlock(&create_mu);
        return cove_err_setk(err, -EBUSY, "TOO_MANY_SESSIONS",
                             "a sandbox may have at most %d sessions", SESSION_MAX_PER_SANDBOX);
    }
    snprintf(r.sandbox_id, sizeof(r.sandbox_id), "%s", sandbox_id(sb));
    if (id)
        snprintf(r.id, sizeof(r.id), "%s", id);
    else
        cove_uuid4(r.id);
    /* The session's cgroup must be no other live session's: the sandbox's exec counter
     * starts again at 1 when coved restarts, the sessions in the store do not. */
    r.cgroup_n = (int64_t)sandbox_next_exec(sb);
    if (r.cgroup_n <= x.max_cgroup_n)
        r.cgroup_n = x.max_cgroup_n + 1;
    r.created_at = now_ms();
    k = store_session_insert(sandbox_store(), &r);
    pthread_mutex_unlock(&create_mu);
    if (k == -EEXIST)
        return cove_err_setk(err, -EEXIST, "SESSION_EXISTS", "session '%s' already exists", r.id);
    if (k < 0)
        return cove_err_errno(err, -k, "save session");
    snprintf(ret_id, SESSION_ID_MAX + 1, "%s", r.id);
    sandbox_touch(sb);
    return 0;
}

static int unlink_logs_cb(const struct command_rec *c, void *ud)
{
    static const char *const exts[] = {"out", "err", "status"};
    char p[700];

    for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
        log_path(c->sandbox_id, c->id, exts[i], p, sizeof(p));
        (void)unlink(p);
    }
    return 0;
}

int session_delete(struct sandbox *sb, const char *id, struct cove_err *err)
{
    struct session_rec r;
    int k = store_session_get(sandbox_store(), sandbox_id(sb), id, &r);

    if (k < 0)
        return cove_err_setk(err, -ENOENT, "SESSION_NOT_FOUND", "session '%s' not found", id);
    /* Every process the session started is in its cgroup, setsid()ed or not. */
    cgroup_ops()->exec_destroy(sandbox_id(sb), (uint64_t)r.cgroup_n);
    store_command_list(sandbox_store(), sandbox_id(sb), id, unlink_logs_cb, NULL);
    store_session_delete(sandbox_store(), sandbox_id(sb), id);
    sandbox_touch(sb);
    return 0;
}

static int forget_cb(const struct session_rec *r, void *ud)
{
    session_delete(ud, r->id, NULL);
    return 0;
}

void session_forget_all(struct sandbox *sb)
{
    char p[700];

    store_session_list(sandbox_store(), sandbox_id(sb), forget_cb, sb);
    snprintf(p, sizeof(p), "%s/%s", sessions_dir, sandbox_id(sb));
    (void)rmdir(p);
}

static int open_log(const char *sandbox_id, const char *cid, const char *ext)
{
    char p[700];

    log_path(sandbox_id, cid, ext, p, sizeof(p));
    return open(p, O_CREAT | O_EXCL | O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* Read a whole log file (capped) into b. */
static void slurp(struct sandbox *sb, const char *cid, enum session_stream s, struct buf *b,
                  bool *trunc)
{
    char chunk[65536];
    uint64_t off = 0;
    long n;

    while ((n = session_log_read(sb, cid, s, off, chunk, sizeof(chunk))) > 0) {
        if (buf_append_upto(b, chunk, (size_t)n) < (size_t)n)
            *trunc = true;
        off += (uint64_t)n;
        if (*trunc)
            break;
    }
}

/* Start command through init. The status file is flock()ed here, before init gets its
 * descriptor: the lock then lives exactly as long as init keeps that file open, which is
 * until it has written the exit status or died with its sandbox (see
 * session_command_status()).
 * timeout_ms (0 = none) is enforced by init, so it holds across coved restarts. */
static int spawn_logged(struct sandbox *sb, const struct session_rec *sr, const char *cid,
                        const char *command, uint64_t timeout_ms, int *ret_ctl, int32_t *ret_pid,
                        struct cove_err *err)
{
    /* The shell state is keyed by the session's creation too: a new session that reuses
     * the id of a deleted one starts afresh. */
    char key[SESSION_ID_MAX + 32];
    char *argv[] = {"/bin/bash", "-c", (char *)WRAPPER, "cove-session", key, (char *)command, NULL};
    _cleanup_close_ int ctl = -EBADF, out = -EBADF, errf = -EBADF, st = -EBADF, procs = -EBADF,
                        devnull = -EBADF;
    struct ctl_msg m = {.type = CTL_SPAWN,
                        .flags = CTL_F_LOG | CTL_F_CGROUP_FD | CTL_F_STDIN_PIPE,
                        .status = (int32_t)timeout_ms};
    _cleanup_free_ char *payload = NULL;
    char dir[600], **envp;
    size_t len;
    int k;

    snprintf(key, sizeof(key), "%s.%lld", sr->id, (long long)sr->created_at);
    snprintf(dir, sizeof(dir), "%s/%s", sessions_dir, sandbox_id(sb));
    (void)mkdir(dir, 0700);
    out = open_log(sandbox_id(sb), cid, "out");
    errf = open_log(sandbox_id(sb), cid, "err");
    st = open_log(sandbox_id(sb), cid, "status");
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || errf < 0 || st < 0 || devnull < 0)
        return cove_err_errno(err, errno, "create command logs in %s", dir);
    if (flock(st, LOCK_EX | LOCK_NB) < 0)
        return cove_err_errno(err, errno, "lock the status file of command %s", cid);
    k = cgroup_ops()->exec_create(sandbox_id(sb), (uint64_t)sr->cgroup_n, &procs);
    if (k < 0)
        return cove_err_errno(err, -k, "session cgroup");
    ctl = sandbox_ctl_connect(sb, err);
    if (ctl < 0)
        return ctl;
    envp = sandbox_build_env(sb, NULL);
    if (!envp)
        return cove_err_set(err, -ENOMEM, "out of memory");
    k = ctl_spawn_payload(SANDBOX_HOME, argv, envp, &payload, &len, &m.argc, &m.envc);
    for (size_t i = 0; envp[i]; i++)
        free(envp[i]);
    free(envp);
    if (k < 0)
        return cove_err_set(err, -E2BIG, "command too long");
    k = ctl_send(ctl, &m, payload, len, (int[]){devnull, out, errf, procs, st}, 5);
    if (k < 0)
        return cove_err_errno(err, -k, "send command to sandbox");
    k = ctl_recv(ctl, &m, 30000);
    if (k <= 0)
        return cove_err_set(err, -EIO, "the sandbox did not answer the spawn request");
    if (m.type == CTL_ERROR && m.err == EAGAIN)
        return cove_err_setk(err, -EBUSY, "TOO_MANY_RUNNING", "cannot start the command: %s",
                             m.text);
    if (m.type == CTL_ERROR)
        return cove_err_set(err, -(m.err ? m.err : EIO), "cannot start the command: %s", m.text);
    *ret_pid = m.pid;
    *ret_ctl = TAKE_FD(ctl);
    return 0;
}

int session_exec(struct sandbox *sb, const char *sid, const char *command, bool async,
                 uint64_t timeout_ms, size_t max_output, char ret_cid[37], struct exec_result *res,
                 struct cove_err *err)
{
    struct session_rec sr;
    struct command_rec cr = {0};
    _cleanup_close_ int ctl = -EBADF;
    struct timespec t0, t1;
    unsigned n = 0;
    int32_t pid = 0;
    int k;

    k = store_session_get(sandbox_store(), sandbox_id(sb), sid, &sr);
    if (k < 0)
        return cove_err_setk(err, -ENOENT, "SESSION_NOT_FOUND", "session '%s' not found", sid);
    if (sandbox_state(sb) != SANDBOX_STARTED)
        return cove_err_setk(err, -EBUSY, "INVALID_STATE", "sandbox '%s' is not started",
                             sandbox_id(sb));
    store_command_list(sandbox_store(), sandbox_id(sb), sid, count_cmd_cb, &n);
    if (n >= SESSION_MAX_COMMANDS)
        return cove_err_setk(err, -EBUSY, "TOO_MANY_COMMANDS",
                             "session '%s' has run %d commands, the most it keeps; delete it and "
                             "create a new one",
                             sid, SESSION_MAX_COMMANDS);
    cove_uuid4(cr.id);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    k = spawn_logged(sb, &sr, cr.id, command, timeout_ms, &ctl, &pid, err);
    snprintf(cr.sandbox_id, sizeof(cr.sandbox_id), "%s", sandbox_id(sb));
    if (k < 0) {
        unlink_logs_cb(&cr, NULL);
        return k;
    }
    snprintf(cr.session_id, sizeof(cr.session_id), "%s", sid);
    cr.command = (char *)command;
    cr.async = async;
    cr.pid = pid;
    cr.started_at = now_ms();
    k = store_command_insert(sandbox_store(), &cr);
    if (k < 0)
        return cove_err_errno(err, -k, "save command");
    snprintf(ret_cid, 37, "%s", cr.id);
    sandbox_touch(sb);
    if (async)
        return 0; /* init keeps it running and logging after this connection closes */

    sandbox_busy(sb, 1);
    struct ctl_msg m;
    /* init kills the command at its deadline; this one only covers an init that did not. */
    if (timeout_ms)
        timeout_ms += SESSION_TIMEOUT_GRACE_MS;
    for (;;) {
        int64_t left = -1;
        if (timeout_ms) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            int64_t el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
            left = (int64_t)timeout_ms - el;
            if (left <= 0) {
                session_signal(sb, cr.id, SIGKILL, NULL);
                res->timed_out = true;
                left = 5000;
                timeout_ms = 0;
            }
        }
        k = ctl_recv(ctl, &m, (int)(left < 0 ? -1 : left));
        if (k < 0 || (k > 0 && m.type == CTL_EXITED))
            break;
    }
    sandbox_busy(sb, -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->duration_ms =
        (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    struct session_cmd_status cs;
    session_command_status(sb, cr.id, &cs, NULL);
    res->exit_code = cs.finished ? cs.exit_code : -1;
    res->signal = cs.signal;
    res->timed_out = res->timed_out || cs.timed_out;
    (void)max_output;
    slurp(sb, cr.id, SESSION_STDOUT, &res->out, &res->out_truncated);
    slurp(sb, cr.id, SESSION_STDERR, &res->err, &res->err_truncated);
    return 0;
}

/* Parse the status file init writes: {"exit_code":N,"signal":S[,"timed_out":true]}. */
static bool read_status(int fd, struct session_cmd_status *ret)
{
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    int ec, sig;

    buf[n > 0 ? n : 0] = '\0';
    if (sscanf(buf, "{\"exit_code\":%d,\"signal\":%d", &ec, &sig) != 2)
        return false;
    ret->finished = true;
    ret->exit_code = ec;
    ret->signal = sig;
    ret->timed_out = strstr(buf, "\"timed_out\":true") != NULL;
    return true;
}

int session_command_status(struct sandbox *sb, const char *cid, struct session_cmd_status *ret,
                           struct cove_err *err)
{
    struct command_rec cr;
    _cleanup_close_ int fd = -EBADF;
    char p[700];
    struct stat st;
    int k;

    memset(ret, 0, sizeof(*ret));
    k = store_command_get(sandbox_store(), sandbox_id(sb), cid, &cr);
    if (k < 0)
        return cove_err_setk(err, -ENOENT, "COMMAND_NOT_FOUND", "command '%s' not found", cid);
    free(cr.command);
    log_path(sandbox_id(sb), cid, "status", p, sizeof(p));
    fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && !read_status(fd, ret)) {
        /* init holds the lock taken in spawn_logged() until it wrote the status or died
         * (sandbox stopped, even if it was started again since). Re-read after getting the
         * lock: the status may have been written in between. */
        if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
            ret->running = true;
        else if (!read_status(fd, ret))
            ret->lost = true;
    } else if (fd < 0) {
        ret->lost = true;
    }
    log_path(sandbox_id(sb), cid, "out", p, sizeof(p));
    if (stat(p, &st) == 0)
        ret->stdout_bytes = (uint64_t)st.st_size;
    log_path(sandbox_id(sb), cid, "err", p, sizeof(p));
    if (stat(p, &st) == 0)
        ret->stderr_bytes = (uint64_t)st.st_size;
    return 0;
}

long session_log_read(struct sandbox *sb, const char *cid, enum session_stream s, uint64_t offset,
                      char *buf, size_t max)
{
    char p[700];
    _cleanup_close_ int fd = -EBADF;
    ssize_t n;

    if (valid_id(cid) < 0)
        return -EINVAL;
    log_path(sandbox_id(sb), cid, s == SESSION_STDOUT ? "out" : "err", p, sizeof(p));
    fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    n = pread(fd, buf, max, (off_t)offset);
    return n < 0 ? -errno : (long)n;
}

static int ctl_simple(struct sandbox *sb, struct ctl_msg *m, const void *payload, size_t len,
                      struct cove_err *err)
{
    _cleanup_close_ int ctl = sandbox_ctl_connect(sb, err);
    int k;

    if (ctl < 0)
        return ctl;
    k = ctl_send(ctl, m, payload, len, NULL, 0);
    if (k >= 0)
        k = ctl_recv(ctl, m, 5000);
    if (k <= 0)
        return cove_err_set(err, -EIO, "the sandbox did not answer");
    if (m->type == CTL_ERROR && m->err == ESRCH)
        return cove_err_setk(err, -EBUSY, "COMMAND_ALREADY_COMPLETED", "%s", m->text);
    if (m->type == CTL_ERROR && m->err == EPIPE)
        return cove_err_setk(err, -EBUSY, "STDIN_CLOSED", "the command's stdin is closed");
    if (m->type == CTL_ERROR)
        return cove_err_setk(err, -(m->err ? m->err : EIO), "CONFLICT", "%s", m->text);
    return m->status;
}

/* The pid of a running command. A command that ended is refused here rather than by init:
 * its pid may belong to another process by now, above all after the sandbox restarted. */
static int command_pid(struct sandbox *sb, const char *cid, int32_t *pid, struct cove_err *err)
{
    struct session_cmd_status st;
    struct command_rec cr;
    int k = session_command_status(sb, cid, &st, err);

    if (k < 0)
        return k;
    if (!st.running)
        return cove_err_setk(err, -EBUSY, "COMMAND_ALREADY_COMPLETED",
                             "command '%s' is no longer running", cid);
    k = store_command_get(sandbox_store(), sandbox_id(sb), cid, &cr);
    if (k < 0)
        return cove_err_setk(err, -ENOENT, "COMMAND_NOT_FOUND", "command '%s' not found", cid);
    free(cr.command);
    *pid = (int32_t)cr.pid;
    return 0;
}

int session_input(struct sandbox *sb, const char *cid, const char *data, size_t len, bool eof,
                  struct cove_err *err)
{
    struct ctl_msg m = {.type = CTL_INPUT, .flags = eof ? CTL_F_EOF : 0};
    int k = command_pid(sb, cid, &m.pid, err);

    if (k < 0)
        return k;
    if (len > CTL_MAX_PAYLOAD)
        return cove_err_set(err, -E2BIG, "input larger than %u bytes", CTL_MAX_PAYLOAD);
    sandbox_touch(sb);
    return ctl_simple(sb, &m, data, len, err);
}

int session_signal(struct sandbox *sb, const char *cid, int sig, struct cove_err *err)
{
    struct ctl_msg m = {.type = CTL_SIGNAL, .status = sig};
    int k = command_pid(sb, cid, &m.pid, err);

    if (k < 0)
        return k;
    sandbox_touch(sb);
    k = ctl_simple(sb, &m, NULL, 0, err);
    return k < 0 ? k : 0;
}

struct json_ctx {
    struct sandbox *sb;
    json_t *arr;
};

static int command_json_cb(const struct command_rec *c, void *ud)
{
    struct json_ctx *x = ud;
    struct session_cmd_status st;
    json_t *o;

    session_command_status(x->sb, c->id, &st, NULL);
    o = json_pack("{s:s, s:s, s:b, s:o, s:b}", "id", c->id, "command", c->command, "async",
                  c->async, "started_at", json_iso_time(c->started_at), "running", st.running);
    json_object_set_new(o, "exit_code", st.finished ? json_integer(st.exit_code) : json_null());
    json_array_append_new(x->arr, o);
    return 0;
}

json_t *session_json(struct sandbox *sb, const char *sid, struct cove_err *err)
{
    struct session_rec sr;
    struct json_ctx x = {.sb = sb, .arr = json_array()};

    if (store_session_get(sandbox_store(), sandbox_id(sb), sid, &sr) < 0) {
        json_decref(x.arr);
        cove_err_setk(err, -ENOENT, "SESSION_NOT_FOUND", "session '%s' not found", sid);
        return NULL;
    }
    store_command_list(sandbox_store(), sandbox_id(sb), sid, command_json_cb, &x);
    return json_pack("{s:s, s:o, s:o}", "id", sr.id, "created_at", json_iso_time(sr.created_at),
                     "commands", x.arr);
}

static int list_cb(const struct session_rec *r, void *ud)
{
    struct json_ctx *x = ud;
    json_t *o = session_json(x->sb, r->id, NULL);
    if (o)
        json_array_append_new(x->arr, o);
    return 0;
}

json_t *session_list_json(struct sandbox *sb)
{
    struct json_ctx x = {.sb = sb, .arr = json_array()};
    store_session_list(sandbox_store(), sandbox_id(sb), list_cb, &x);
    return x.arr;
}

int session_running_count(struct sandbox *sb)
{
    struct ctl_msg m = {.type = CTL_PING};
    return ctl_simple(sb, &m, NULL, 0, NULL);
}

/* Inode of the socket listening on port, from the sandbox's /proc/net/tcp{,6}. */
static unsigned long listen_inode(struct sandbox *sb, unsigned port)
{
    static const char *const files[] = {"net/tcp", "net/tcp6"};

    for (size_t f = 0; f < ELEMENTSOF(files); f++) {
        int fd = sandbox_open_proc(sb, files[f], O_RDONLY, NULL);
        _cleanup_fclose_ FILE *fp = fd >= 0 ? fdopen(fd, "re") : NULL;
        char line[512];

        if (!fp) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        while (fgets(line, sizeof(line), fp)) {
            unsigned lport, st;
            unsigned long inode;
            /* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
            if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*s %*s %*s %*u %*u %lu",
                       &lport, &st, &inode) == 3 &&
                lport == port && st == 0x0A)
                return inode;
        }
    }
    return 0;
}

static bool pid_has_socket(pid_t pid, unsigned long inode)
{
    char dir[64], want[64], link[64], p[128];
    _cleanup_closedir_ DIR *d = NULL;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        ssize_t n = readlink(p, link, sizeof(link) - 1);
        if (n > 0) {
            link[n] = '\0';
            if (!strcmp(link, want))
                return true;
        }
    }
    return false;
}

/* The pid of host pid `pid` inside its own PID namespace, and its host parent. */
static int ns_pid_of(pid_t pid, pid_t *ret_nspid, pid_t *ret_ppid)
{
    char p[64], line[256];
    _cleanup_fclose_ FILE *f = NULL;

    snprintf(p, sizeof(p), "/proc/%d/status", pid);
    f = fopen(p, "re");
    if (!f)
        return -errno;
    *ret_nspid = 0;
    *ret_ppid = 0;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "PPid:", 5))
            *ret_ppid = (pid_t)strtol(line + 5, NULL, 10);
        if (!strncmp(line, "NSpid:", 6)) {
            char *last = strrchr(line, '\t');
            *ret_nspid = (pid_t)strtol(last ? last : line + 6, NULL, 10);
        }
    }
    return 0;
}

struct find_ctx {
    struct sandbox *sb;
    unsigned long inode;
    pid_t owner;
    int64_t cgroup_n;
};

static int find_owner_cb(const struct session_rec *r, void *ud)
{
    struct find_ctx *x = ud;
    pid_t pids[512];
    int n =
        cgroup_ops()->exec_pids(sandbox_id(x->sb), (uint64_t)r->cgroup_n, pids, ELEMENTSOF(pids));

    for (int i = 0; i < n; i++) {
        if (pid_has_socket(pids[i], x->inode)) {
            x->owner = pids[i];
            x->cgroup_n = r->cgroup_n;
            return -1; /* found: stop */
        }
    }
    return 0;
}

struct match_ctx {
    pid_t nspids[64];
    size_t n;
    char cid[37];
};

static int match_cb(const struct command_rec *c, void *ud)
{
    struct match_ctx *m = ud;
    for (size_t i = 0; i < m->n; i++)
        if (c->pid == m->nspids[i])
            snprintf(m->cid, sizeof(m->cid), "%s", c->id);
    return 0;
}

struct sid_ctx {
    int64_t cgroup_n;
    char sid[SESSION_ID_MAX + 1];
};

static int sid_cb(const struct session_rec *r, void *ud)
{
    struct sid_ctx *x = ud;
    if (r->cgroup_n == x->cgroup_n)
        snprintf(x->sid, sizeof(x->sid), "%s", r->id);
    return 0;
}

int session_find_listener(struct sandbox *sb, unsigned port, char ret_cid[37])
{
    struct find_ctx x = {.sb = sb, .inode = listen_inode(sb, port)};
    struct match_ctx m = {0};
    struct sid_ctx s = {0};

    if (!x.inode)
        return -ENOENT;
    store_session_list(sandbox_store(), sandbox_id(sb), find_owner_cb, &x);
    if (!x.owner)
        return -ENOENT;
    /* The command's own pid is the owner or one of its ancestors inside the sandbox. */
    for (pid_t p = x.owner; p > 1 && m.n < ELEMENTSOF(m.nspids);) {
        pid_t nspid = 0, ppid = 0;
        if (ns_pid_of(p, &nspid, &ppid) < 0 || nspid <= 1)
            break;
        m.nspids[m.n++] = nspid;
        p = ppid;
    }
    s.cgroup_n = x.cgroup_n;
    store_session_list(sandbox_store(), sandbox_id(sb), sid_cb, &s);
    if (!s.sid[0])
        return -ENOENT;
    store_command_list(sandbox_store(), sandbox_id(sb), s.sid, match_cb, &m);
    if (!m.cid[0])
        return -ENOENT;
    snprintf(ret_cid, 37, "%s", m.cid);
    return 0;
}

/* Daytona toolbox PTYs (docs/daytona-compat.md): interactive login shells on a terminal,
 * driven over a WebSocket.
 *
 *   GET    /process/pty/create-connect?id=&cols=&rows=[&cwd=]  WebSocket: create, then attach
 *   GET    /process/pty/{pty}/connect                          WebSocket: attach
 *   POST   /process/pty {id,cwd,envs,cols,rows,lazyStart}      201 {sessionId} (Python SDK)
 *   GET    /process/pty, /process/pty/{pty}                    PtySessionInfo
 *   DELETE /process/pty/{pty}                                  kill
 *   POST   /process/pty/{pty}/resize {cols,rows}               PtySessionInfo
 *
 * Theory of operation. A PTY is an entry of an in-memory registry keyed by sandbox and id. Its
 * terminal comes from the sandbox's own devpts instance, so that tty(1) and /dev/pts/N make
 * sense inside: coved opens dev/pts/ptmx under /proc/<init>/root, keeps the master, and hands
 * the slave to cove-init, which starts the user's login shell under a reaper (CTL_F_REAPER)
 * with the slave as its controlling terminal (CTL_F_PTY). The control connection of that spawn
 * stays open in the entry for the life of the shell: the exit status arrives on it (EXITED),
 * and closing it ends the shell's whole tree, because init kills what a closed connection
 * started. The spawn is deliberately not CTL_F_DETACHED: the entry, not a WebSocket, owns the
 * connection, so the shell already outlives its clients, and since the registry lives in
 * memory a detached shell would be unreachable (leaked) after a coved restart. A kill is a
 * SIGTERM to the reaper, which SIGKILLs every process of the tree, so the shell's exit code
 * after a kill is 137, as in Daytona.
 *
 * Readers. Exactly one party reads the master at a time, decided under the registry lock by
 * the entry's attachment generation:
 *  - the attached WebSocket. There is one per PTY: a new connect replaces the previous one,
 *    which is closed with code 4000 and reason {"error":...}. Refusing instead would make a
 *    reconnect fail whenever coved has not yet seen the old client's Close (the SDK's
 *    disconnect() does not wait for it);
 *  - otherwise the drainer thread, which reads and discards the output (Daytona drops output
 *    nobody is attached to), so a detached shell never blocks on a full terminal, and which
 *    notices exits.
 * A shell that has exited leaves the registry, as in Daytona. An attached client first gets
 * the rest of the output, then {"type":"control","status":"exited","exitCode":N} if it offered
 * the X-Daytona-Pty-Exit-Control subprotocol, then a Close (1000 for exit 0, else 1011) whose
 * reason is {"exitCode":N[,"exitReason":...]}.
 *
 * Lifetime. Entries are reference-counted under the registry lock: the registry holds one,
 * and so does every WebSocket attachment, drainer pass and handler that uses an entry outside
 * the lock; the master and the control connection are closed with the last reference. Deleting
 * or stopping a sandbox drops its entries (dtn_pty_forget_sandbox); entries of a sandbox that
 * stopped on its own see their control connection end and are dropped as exited. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "api/daytona.h"
#include "base/cleanup.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/parse.h"
#include "http/websocket.h"
#include "sandbox/ctl.h"
#include "sandbox/image.h"

#define PTY_EXIT_CONTROL   "X-Daytona-Pty-Exit-Control"
#define PTY_ENVS_PREFIX    "X-Daytona-Pty-Envs~"
#define PTY_MAX_DIM        1000
#define PTY_CHUNK          32768
#define PTY_CLOSE_REPLACED 4000
#define PTY_SEND_TIMEOUT_S 60    /* a client that takes no output for this long is gone */
#define PTY_PRUNE_MS       10000 /* how often the drainer looks for entries of lost sandboxes */

struct pty {
    unsigned refs;
    bool listed;
    char sandbox[65];
    char id[COVE_MAX_PTY_ID + 1];
    char cwd[COVE_MAX_PATH + 1];
    json_t *envs; /* object of strings, as reported; TERM added when absent */
    int64_t created_ms;
    unsigned cols, rows;
    bool lazy; /* lazyStart: the shell starts at the first connect */
    pthread_mutex_t start_lock;
    bool started;
    int master, ctl; /* -EBADF until started */
    pid_t pid;       /* the reaper, inside the sandbox */
    bool master_eof;
    bool exited;
    bool gone; /* exited because the sandbox's init went away */
    int exit_code;
    uint64_t gen; /* attachment generation */
    bool attached;
    int kick; /* eventfd of the current attachment, -EBADF when none */
    struct pty *next;
};

static struct {
    pthread_mutex_t lock;
    struct pty *head;
    int wake; /* eventfd: the drainer rebuilds its poll set */
    pthread_once_t once;
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = -EBADF, .once = PTHREAD_ONCE_INIT};

/* ---- registry (reg.lock held) ---- */

static void pty_unref_locked(struct pty *p)
{
    if (!p || --p->refs > 0)
        return;
    safe_close(p->master);
    safe_close(p->ctl);
    json_decref(p->envs);
    pthread_mutex_destroy(&p->start_lock);
    free(p);
}

static void unlist_locked(struct pty *p)
{
    for (struct pty **pp = &reg.head; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            p->next = NULL;
            p->listed = false;
            pty_unref_locked(p);
            return;
        }
    }
}

static struct pty *find_locked(const char *sandbox, const char *id)
{
    for (struct pty *p = reg.head; p; p = p->next)
        if (!strcmp(p->sandbox, sandbox) && !strcmp(p->id, id))
            return p;
    return NULL;
}

static void drainer_wake(void)
{
    if (reg.wake >= 0)
        (void)!eventfd_write(reg.wake, 1);
}

/* Read the spawn connection: EXITED ends the shell; EOF means init is gone (the sandbox was
 * stopped). Only the entry's current reader calls this. */
static void poll_exit_locked(struct pty *p)
{
    struct ctl_msg m;
    int q;

    while (!p->exited && p->ctl >= 0 && (q = ctl_recv(p->ctl, &m, 0)) != 0) {
        if (q > 0 && m.type != CTL_EXITED)
            continue;
        p->exited = true;
        if (q > 0) {
            p->exit_code = WIFSIGNALED(m.status) ? 128 + WTERMSIG(m.status) : WEXITSTATUS(m.status);
        } else {
            p->gone = true;
            p->exit_code = 128 + SIGKILL;
        }
    }
}

/* One read of the master; marks it finished at EIO (every slave closed). Returns bytes read,
 * 0 for none. */
static ssize_t read_master_locked(struct pty *p, char *buf, size_t cap)
{
    ssize_t n;

    if (p->master < 0 || p->master_eof)
        return 0;
    n = read(p->master, buf, cap);
    if (n > 0)
        return n;
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
        p->master_eof = true;
    return 0;
}

/* A detached entry whose shell has exited leaves the registry. */
static void refresh_locked(struct pty *p)
{
    if (p->attached || !p->started)
        return;
    poll_exit_locked(p);
    if (p->exited && p->listed)
        unlist_locked(p);
}

static json_t *info_json_locked(const struct pty *p)
{
    char created[40];

    api_iso_time(p->created_ms, created, sizeof(created));
    return json_pack("{s:s, s:s, s:O, s:I, s:I, s:s, s:b, s:b}", "id", p->id, "cwd", p->cwd, "envs",
                     p->envs, "cols", (json_int_t)p->cols, "rows", (json_int_t)p->rows, "createdAt",
                     created, "active", p->started && !p->exited, "lazyStart", p->lazy);
}

/* ---- the drainer: reads what nobody is attached to ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An entry whose shell never started (lazyStart) has no control connection to notice its
 * sandbox go by; drop those of sandboxes that no longer exist (auto-deleted: deletes through
 * the API drop them at once). */
static void prune_orphans(void)
{
    static int64_t last;
    int64_t now = mono_ms();

    if (now - last < PTY_PRUNE_MS)
        return;
    last = now;
    pthread_mutex_lock(&reg.lock);
    for (struct pty *p = reg.head, *next; p; p = next) {
        struct sandbox *sb;

        next = p->next;
        if (p->started || p->attached)
            continue;
        if (sandbox_lookup(NULL, p->sandbox, &sb, NULL) < 0)
            unlist_locked(p);
        else
            sandbox_unref(sb);
    }
    pthread_mutex_unlock(&reg.lock);
}

static void drain_round(char *chunk)
{
    struct pollfd *pfd = NULL;
    struct pty **v = NULL;
    size_t n = 0, cap = 0;

    pthread_mutex_lock(&reg.lock);
    for (struct pty *p = reg.head; p; p = p->next)
        cap += p->started && !p->attached && !p->exited;
    v = calloc(cap + 1, sizeof(struct pty *));
    pfd = calloc(2 * cap + 1, sizeof(*pfd));
    for (struct pty *p = reg.head; v && pfd && p; p = p->next) {
        if (!p->started || p->attached || p->exited)
            continue;
        p->refs++;
        v[n] = p;
        pfd[1 + 2 * n] = (struct pollfd){.fd = p->master_eof ? -1 : p->master, .events = POLLIN};
        pfd[2 + 2 * n] = (struct pollfd){.fd = p->ctl, .events = POLLIN};
        n++;
    }
    pthread_mutex_unlock(&reg.lock);
    if (!v || !pfd) {
        free(v);
        free(pfd);
        sleep(1);
        return;
    }
    pfd[0] = (struct pollfd){.fd = reg.wake, .events = POLLIN};
    if (poll(pfd, 2 * n + 1, PTY_PRUNE_MS) < 0 && errno != EINTR)
        sleep(1);
    if (pfd[0].revents) {
        eventfd_t x;
        (void)!eventfd_read(reg.wake, &x);
    }
    pthread_mutex_lock(&reg.lock);
    for (size_t i = 0; i < n; i++) {
        struct pty *p = v[i];
        if (!p->attached && !p->exited) {
            /* Bounded, so that one chatty shell cannot starve the others. */
            for (int j = 0; pfd[1 + 2 * i].revents && j < 8; j++)
                if (read_master_locked(p, chunk, PTY_CHUNK) == 0)
                    break;
            if (pfd[2 + 2 * i].revents)
                poll_exit_locked(p);
        }
        if (p->exited && !p->attached && p->listed)
            unlist_locked(p);
        pty_unref_locked(p);
    }
    pthread_mutex_unlock(&reg.lock);
    free(v);
    free(pfd);
    prune_orphans();
}

static void *drainer_main(void *arg)
{
    char *chunk = malloc(PTY_CHUNK);

    (void)arg;
    while (chunk)
        drain_round(chunk);
    log_error("pty drainer: out of memory; detached PTYs stop being read");
    return NULL;
}

static void drainer_start(void)
{
    pthread_attr_t attr;
    pthread_t t;

    reg.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (reg.wake < 0 || pthread_attr_init(&attr) != 0) {
        log_error("pty drainer: %s; detached PTYs will not be read", strerror(errno));
        return;
    }
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, drainer_main, NULL) != 0)
        log_error("pty drainer: cannot start a thread; detached PTYs will not be read");
    pthread_attr_destroy(&attr);
}

/* ---- starting the shell ---- */

static const char *shell_path(void)
{
    /* Sandboxes share the host's /usr. */
    return access("/usr/bin/bash", X_OK) == 0 ? "/usr/bin/bash" : "/bin/sh";
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* A new terminal of the sandbox's devpts instance: the master (non-blocking) and its slave. */
static int open_terminal(struct sandbox *sb, unsigned cols, unsigned rows, int *ret_master,
                         int *ret_slave, struct cove_err *err)
{
    struct open_how how = {.flags = O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    _cleanup_close_ int root = -EBADF, master = -EBADF;
    int unlock = 0, slave;

    root = sandbox_root_fd(sb, err);
    if (root < 0)
        return root;
    master = (int)syscall(SYS_openat2, root, "dev/pts/ptmx", &how, sizeof(how));
    if (master < 0)
        return cove_err_errno(err, errno, "open the sandbox's /dev/pts/ptmx");
    /* The sandbox's /dev is its own: make sure we opened a devpts multiplexer, not a FIFO or
     * file put in its place. */
    struct statfs sf;
    if (fstatfs(master, &sf) < 0 || sf.f_type != DEVPTS_SUPER_MAGIC)
        return cove_err_set(err, -EPERM, "the sandbox's /dev/pts/ptmx is not a devpts device");
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCSWINSZ, &ws) < 0)
        return cove_err_errno(err, errno, "set up the terminal");
    /* TIOCGPTPEER opens the slave of this very master, with no path lookup to race. */
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return cove_err_errno(err, errno, "open the terminal's slave");
    /* devpts made coved's (unmapped) uid its owner; give it to the sandbox user, as login
     * does. The user namespace maps gids as it maps uids. */
    (void)!fchown(slave, sandbox_host_uid(sb), sandbox_host_uid(sb));
    *ret_master = TAKE_FD(master);
    *ret_slave = slave;
    return 0;
}

/* Spawn the login shell on slave; returns the control connection (its owner). */
static int spawn_shell(struct sandbox *sb, const struct pty *p, int slave, pid_t *ret_pid,
                       struct cove_err *err)
{
    struct ctl_msg m = {.type = CTL_SPAWN, .flags = CTL_F_PTY | CTL_F_REAPER};
    char *argv[] = {(char *)shell_path(), "-l", NULL};
    _cleanup_close_ int ctl = -EBADF;
    _cleanup_free_ char *payload = NULL;
    char **envp;
    size_t len;
    int r;

    ctl = sandbox_ctl_connect(sb, err);
    if (ctl < 0)
        return ctl;
    envp = sandbox_build_env(sb, p->envs); /* envs never change after creation */
    if (!envp)
        return cove_err_set(err, -ENOMEM, "out of memory");
    r = ctl_spawn_payload(p->cwd, argv, envp, &payload, &len, &m.argc, &m.envc);
    strv_free(envp);
    if (r < 0)
        return cove_err_set(err, r == -E2BIG ? -E2BIG : r, "the environment exceeds %u bytes",
                            CTL_MAX_PAYLOAD);
    r = ctl_send(ctl, &m, payload, len, (int[]){slave, slave, slave}, 3);
    if (r < 0)
        return cove_err_errno(err, -r, "send the shell to the sandbox");
    if (ctl_recv(ctl, &m, 30000) <= 0)
        return cove_err_set(err, -EIO, "the sandbox did not answer the spawn request");
    if (m.type == CTL_ERROR && m.stage == CTL_STAGE_CWD)
        return cove_err_setk(err, -EINVAL, "CWD_NOT_FOUND", "cannot use working directory '%s': %s",
                             p->cwd, m.text);
    if (m.type != CTL_SPAWNED)
        return cove_err_set(err, -(m.type == CTL_ERROR && m.err ? m.err : EIO),
                            "cannot start the shell: %s", m.text);
    *ret_pid = m.pid;
    return TAKE_FD(ctl);
}

/* Start p's shell unless it runs already. Serialised per entry by start_lock. */
static int ensure_started(struct sandbox *sb, struct pty *p, struct cove_err *err)
{
    _cleanup_close_ int master = -EBADF, slave = -EBADF, ctl = -EBADF;
    struct winsize ws;
    unsigned cols, rows;
    pid_t pid = 0;
    bool started;
    int r = 0;

    pthread_mutex_lock(&p->start_lock);
    pthread_mutex_lock(&reg.lock);
    started = p->started;
    cols = p->cols;
    rows = p->rows;
    pthread_mutex_unlock(&reg.lock);
    if (started)
        goto out;
    r = open_terminal(sb, cols, rows, &master, &slave, err);
    if (r >= 0)
        r = ctl = spawn_shell(sb, p, slave, &pid, err);
    if (r < 0)
        goto out;
    pthread_mutex_lock(&reg.lock);
    p->master = TAKE_FD(master);
    p->ctl = TAKE_FD(ctl);
    p->pid = pid;
    p->started = true;
    /* A resize may have landed while we spawned; the same size again is a no-op. */
    ws = (struct winsize){.ws_row = (unsigned short)p->rows, .ws_col = (unsigned short)p->cols};
    (void)ioctl(p->master, TIOCSWINSZ, &ws);
    pthread_mutex_unlock(&reg.lock);
    r = 0;
out:
    pthread_mutex_unlock(&p->start_lock);
    return r;
}

/* Ask init to end the shell's tree: SIGTERM to the reaper, which SIGKILLs every process below
 * it. Closing the spawn connection, with the entry's last reference, does the same. */
static void kill_shell(struct sandbox *sb, pid_t pid)
{
    struct ctl_msg m = {.type = CTL_SIGNAL, .pid = pid, .status = SIGTERM};
    _cleanup_close_ int ctl = sandbox_ctl_connect(sb, NULL);

    if (ctl < 0)
        return; /* a sandbox that is not running has no shells left */
    if (ctl_send(ctl, &m, NULL, 0, NULL, 0) == 0)
        (void)ctl_recv(ctl, &m, 5000);
}

/* ---- creating entries ---- */

struct pty_params {
    char id[COVE_MAX_PTY_ID + 1];
    char cwd[COVE_MAX_PATH + 1];
    json_t *envs; /* owned */
    unsigned cols, rows;
    bool lazy;
};

/* Create and list an entry; on success *ret holds a reference besides the registry's. */
static int pty_register(struct sandbox *sb, struct pty_params *pp, struct pty **ret,
                        struct cove_err *err)
{
    struct pty *p = calloc(1, sizeof(*p));
    struct timespec ts;
    size_t count = 0;
    int r = 0;

    if (!p)
        return cove_err_set(err, -ENOMEM, "out of memory");
    pthread_once(&reg.once, drainer_start);
    clock_gettime(CLOCK_REALTIME, &ts);
    *p = (struct pty){.refs = 1,
                      .envs = json_incref(pp->envs),
                      .created_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                      .cols = pp->cols,
                      .rows = pp->rows,
                      .lazy = pp->lazy,
                      .master = -EBADF,
                      .ctl = -EBADF,
                      .kick = -EBADF};
    pthread_mutex_init(&p->start_lock, NULL);
    snprintf(p->sandbox, sizeof(p->sandbox), "%s", sandbox_id(sb));
    snprintf(p->id, sizeof(p->id), "%s", pp->id);
    snprintf(p->cwd, sizeof(p->cwd), "%s", pp->cwd);

    pthread_mutex_lock(&reg.lock);
    struct pty **tail = &reg.head;
    for (; *tail; tail = &(*tail)->next)
        count += !strcmp((*tail)->sandbox, p->sandbox);
    if (find_locked(p->sandbox, p->id))
        r = cove_err_set(err, -EEXIST, "PTY session with ID '%s' already exists", p->id);
    else if (count >= COVE_MAX_PTYS)
        r = cove_err_set(err, -EBUSY, "this sandbox has %d PTY sessions already", COVE_MAX_PTYS);
    if (r < 0) {
        pty_unref_locked(p);
    } else {
        *tail = p;
        p->listed = true;
        p->refs++;
        *ret = p;
    }
    pthread_mutex_unlock(&reg.lock);
    return r;
}

static struct pty *get_ref(const char *sandbox, const char *id)
{
    struct pty *p;

    pthread_mutex_lock(&reg.lock);
    p = find_locked(sandbox, id);
    if (p)
        refresh_locked(p);
    p = find_locked(sandbox, id); /* refresh may have dropped it */
    if (p)
        p->refs++;
    pthread_mutex_unlock(&reg.lock);
    return p;
}

static void put_ref(struct pty *p)
{
    pthread_mutex_lock(&reg.lock);
    pty_unref_locked(p);
    pthread_mutex_unlock(&reg.lock);
}

/* ---- request parsing ---- */

static bool id_valid(const char *id)
{
    size_t n = strlen(id);
    json_t *utf8;

    if (n == 0 || n > COVE_MAX_PTY_ID)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f || id[i] == '/')
            return false;
    utf8 = json_string(id); /* NULL unless valid UTF-8 */
    json_decref(utf8);
    return utf8 != NULL;
}

/* envs (may be NULL): validate and copy into pp->envs, adding TERM as Daytona does. */
static int parse_envs(struct http_req *req, json_t *envs, struct pty_params *pp)
{
    struct cove_err err = {0};

    if (envs && !json_is_null(envs) &&
        sandbox_string_map_valid(envs, "env", COVE_MAX_ENV, COVE_MAX_LABEL_KEY, COVE_MAX_ENV_BYTES,
                                 &err) < 0)
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON, "envs: %s", err.msg),
               -EINVAL;
    pp->envs = json_is_object(envs) ? json_deep_copy(envs) : json_object();
    if (!pp->envs)
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory"), -ENOMEM;
    if (!json_object_get(pp->envs, "TERM"))
        json_object_set_new(pp->envs, "TERM", json_string("xterm-256color"));
    return 0;
}

/* id, cwd (default: the work dir), cols and rows (default 80x24, at most 1000) from JSON
 * values or query strings; replies 400 itself. */
static int parse_common(struct http_req *req, const char *id, const char *cwd,
                        struct pty_params *pp)
{
    if (!id || !id_valid(id))
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "session ID is required: 1-%d bytes of UTF-8, no '/' or control "
                               "characters",
                               COVE_MAX_PTY_ID),
               -EINVAL;
    snprintf(pp->id, sizeof(pp->id), "%s", id);
    snprintf(pp->cwd, sizeof(pp->cwd), "%s", SANDBOX_HOME);
    if (cwd && cwd[0] && dtn_path(req, "cwd", cwd, pp->cwd, sizeof(pp->cwd)) < 0)
        return -EINVAL;
    return 0;
}

static int dim_json(struct http_req *req, json_t *body, const char *key, unsigned def,
                    unsigned *ret)
{
    json_t *v = json_object_get(body, key);

    *ret = def;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > PTY_MAX_DIM)
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "%s must be an integer from 1 to %d", key, PTY_MAX_DIM),
               -EINVAL;
    *ret = (unsigned)json_integer_value(v);
    return 0;
}

static int dim_query(struct http_req *req, const char *key, unsigned def, unsigned *ret)
{
    const char *s = http_req_query(req, key);
    uint32_t v;

    *ret = def;
    if (!s || !s[0])
        return 0;
    if (parse_u32_range(s, 1, PTY_MAX_DIM, &v) < 0)
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "%s must be an integer from 1 to %d", key, PTY_MAX_DIM),
               -EINVAL;
    *ret = v;
    return 0;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '-' || c == '+' ? 62 : c == '_' || c == '/' ? 63 : -1;
}

/* Decode base64url (padding optional) into a malloc'd, NUL-terminated buffer. */
static char *b64url_decode(const char *s, size_t n, size_t *ret_len)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t k = 0;
    char *out;

    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1 || !(out = malloc(n / 4 * 3 + 4)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (char)(acc >> bits & 0xff);
        }
    }
    out[k] = '\0';
    *ret_len = k;
    return out;
}

/* What the client offered in Sec-WebSocket-Protocol (every such header line counts). */
struct offers {
    bool exit_control;
    char first[256]; /* the first other token that fits, to echo when exit control is absent */
    char *envs;      /* base64url of the X-Daytona-Pty-Envs~ token (malloc'd) */
    bool envs_too_long;
};

static int offer_cb(const char *name, const char *value, void *ud)
{
    struct offers *o = ud;
    const size_t plen = strlen(PTY_ENVS_PREFIX);

    if (strcasecmp(name, "Sec-WebSocket-Protocol") != 0)
        return 0;
    for (const char *s = value; *s;) {
        size_t n;

        s += strspn(s, " \t,");
        n = strcspn(s, ",");
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == strlen(PTY_EXIT_CONTROL) && !strncmp(s, PTY_EXIT_CONTROL, n)) {
            o->exit_control = true;
        } else if (n > plen && !strncmp(s, PTY_ENVS_PREFIX, plen) && !o->envs) {
            if (n - plen > (size_t)COVE_MAX_ENV_BYTES * 2)
                o->envs_too_long = true;
            else
                o->envs = strndup(s + plen, n - plen);
        }
        if (n > 0 && n < sizeof(o->first) && !o->first[0] &&
            !(n == strlen(PTY_EXIT_CONTROL) && !strncmp(s, PTY_EXIT_CONTROL, n)))
            memcpy(o->first, s, n);
        s += strcspn(s, ",");
    }
    return 0;
}

/* Envs from the X-Daytona-Pty-Envs~ subprotocol token; replies 400 itself. */
static int envs_from_offer(struct http_req *req, const struct offers *o, struct pty_params *pp)
{
    _cleanup_free_ char *raw = NULL;
    json_t *envs = NULL;
    size_t len = 0;
    int r;

    if (o->envs_too_long)
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "the PTY envs subprotocol is too large"),
               -EINVAL;
    if (o->envs) {
        raw = b64url_decode(o->envs, strlen(o->envs), &len);
        envs = raw ? json_loadb(raw, len, 0, NULL) : NULL;
        if (!json_is_object(envs)) {
            json_decref(envs);
            return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                                   "invalid envs subprotocol: want base64url of a JSON object"),
                   -EINVAL;
        }
    }
    r = parse_envs(req, envs, pp);
    json_decref(envs);
    return r;
}

/* ---- the WebSocket side ---- */

struct attach {
    struct sandbox *sb;
    bool create; /* create-connect: make the entry first */
    bool exit_control;
    struct pty_params params;
    struct pty *p; /* once attached: a reference */
    uint64_t gen;
    int kick;
    uint8_t *in; /* client input not yet taken by the terminal */
    size_t in_len, in_off;
    char *out;
};

static void attach_free(void *ctx)
{
    struct attach *a = ctx;
    bool wake = false;

    if (a->p) {
        pthread_mutex_lock(&reg.lock);
        if (a->p->gen == a->gen && a->p->attached) {
            a->p->attached = false;
            a->p->kick = -EBADF;
            wake = true;
        }
        pty_unref_locked(a->p);
        pthread_mutex_unlock(&reg.lock);
        if (wake)
            drainer_wake();
    }
    safe_close(a->kick);
    json_decref(a->params.envs);
    sandbox_unref(a->sb);
    free(a->in);
    free(a->out);
    free(a);
}

/* A text frame of JSON (compact). */
static int send_json(int fd, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int r = s ? ws_send(fd, WS_TEXT, s, strlen(s)) : -ENOMEM;

    free(s);
    json_decref(o);
    return r;
}

/* A Close whose reason is JSON, dropped when it does not fit the 123 bytes a reason may have. */
static void send_close_json(int fd, uint16_t code, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    (void)ws_send_close(fd, code, s && strlen(s) <= 123 ? s : NULL);
    free(s);
    json_decref(o);
}

/* After our Close, wait briefly for the client's, so that closing the socket does not reset a
 * connection whose last frames the client has not read yet. */
static void linger(int fd)
{
    uint8_t buf[256];
    size_t len;

    for (int i = 0; i < 64; i++) {
        int op = ws_recv(fd, buf, sizeof(buf), &len, 2000);
        if (op <= 0 || op == WS_CLOSE)
            return;
    }
}

/* A failure after the upgrade: the control error, then a Close whose reason repeats it if it
 * fits (the SDK keeps the reason's error as the handle's error). */
static void send_error(int fd, const char *msg)
{
    json_t *reason = json_pack("{s:s}", "error", msg);
    char *s = reason ? json_dumps(reason, JSON_COMPACT) : NULL;

    if (!s || strlen(s) > 123)
        json_object_set_new(reason, "error", json_string("PTY session unavailable"));
    free(s);
    send_json(fd, json_pack("{s:s, s:s, s:s}", "type", "control", "status", "error", "error", msg));
    send_close_json(fd, 1011, reason);
    linger(fd);
}

static const char *exit_reason(const struct pty *p, char *buf, size_t cap)
{
    if (p->gone)
        return "sandbox stopped";
    switch (p->exit_code) {
    case 0:
        return NULL;
    case 130:
        return "Ctrl+C";
    case 137:
        return "SIGKILL";
    case 143:
        return "SIGTERM";
    default:
        if (p->exit_code > 128) {
            snprintf(buf, cap, "signal %d", p->exit_code - 128);
            return buf;
        }
        return "non-zero exit";
    }
}

/* The shell has exited: the rest of its output, the exit notice, the Close. */
static void finish_exit(int fd, struct attach *a)
{
    struct pty *p = a->p;
    const char *reason;
    char rbuf[32];
    json_t *o;
    int code;

    for (int i = 0; i < 256; i++) {
        ssize_t n;
        pthread_mutex_lock(&reg.lock);
        n = read_master_locked(p, a->out, PTY_CHUNK);
        pthread_mutex_unlock(&reg.lock);
        if (n <= 0 || ws_send(fd, WS_BINARY, a->out, (size_t)n) < 0)
            break;
    }
    pthread_mutex_lock(&reg.lock);
    code = p->exit_code;
    reason = exit_reason(p, rbuf, sizeof(rbuf));
    if (p->listed)
        unlist_locked(p);
    pthread_mutex_unlock(&reg.lock);
    o = json_pack("{s:I}", "exitCode", (json_int_t)code);
    if (o && reason)
        json_object_set_new(o, "exitReason", json_string(reason));
    if (a->exit_control && o) {
        json_t *c = json_pack("{s:s, s:s}", "type", "control", "status", "exited");
        if (c)
            json_object_update(c, o);
        send_json(fd, c);
    }
    send_close_json(fd, code == 0 ? 1000 : 1011, o);
    linger(fd);
}

/* Hand pending client input to the terminal, as much as it takes now. */
static void write_input(struct attach *a)
{
    ssize_t w = 0;
    int e = 0;

    pthread_mutex_lock(&reg.lock);
    if (a->p->gen == a->gen && a->p->master >= 0) {
        w = write(a->p->master, a->in + a->in_off, a->in_len - a->in_off);
        e = errno;
    }
    pthread_mutex_unlock(&reg.lock);
    if (w > 0)
        a->in_off += (size_t)w;
    else if (w < 0 && e != EAGAIN && e != EINTR)
        a->in_off = a->in_len; /* the terminal is gone: drop it */
    if (a->in_off >= a->in_len)
        a->in_len = a->in_off = 0;
}

/* Frames the client sent right behind its handshake (the HTTP server read them already). */
static int take_extra(struct attach *a, const char *extra, size_t n)
{
    const uint8_t *q = (const uint8_t *)extra;

    while (n > 0) {
        struct ws_header h;
        if (ws_parse_header(q, n, &h) <= 0 || !h.masked || h.len > n - h.header_len ||
            a->in_len + h.len > COVE_MAX_PTY_INPUT)
            return -EPROTO;
        if (h.opcode == WS_CLOSE)
            return -EPIPE;
        for (uint64_t i = 0; h.opcode <= WS_BINARY && i < h.len; i++)
            a->in[a->in_len++] = q[h.header_len + i] ^ h.mask[i & 3];
        q += h.header_len + h.len;
        n -= h.header_len + (size_t)h.len;
    }
    return 0;
}

/* One frame from the client. Returns 1 to go on, 0 when the connection is over. */
static int client_frame(int fd, struct attach *a)
{
    size_t len = 0;
    int op = ws_recv(fd, a->in, COVE_MAX_PTY_INPUT, &len, 30000);

    switch (op) {
    case 0:
        return 1;
    case WS_BINARY:
    case WS_TEXT:
        a->in_len = len;
        a->in_off = 0;
        if (len) {
            write_input(a);
            sandbox_touch(a->sb);
        }
        return 1;
    case WS_CLOSE:
        (void)ws_send_close(fd, 1000, NULL);
        return 0;
    case -EMSGSIZE:
        (void)ws_send_close(fd, 1009, NULL);
        return 0;
    case -EPROTO:
        (void)ws_send_close(fd, 1002, NULL);
        return 0;
    default:
        return op < 0 ? 0 : 1;
    }
}

/* Copy terminal output to the client and client input to the terminal until the shell exits,
 * the client leaves or another client takes over. */
static void relay(int fd, struct attach *a)
{
    struct pty *p = a->p;

    for (;;) {
        struct pollfd pfd[4];
        bool current, exited, eof;
        int master, ctl;

        pthread_mutex_lock(&reg.lock);
        current = p->gen == a->gen;
        exited = p->exited;
        eof = p->master_eof;
        master = p->master;
        ctl = p->ctl;
        pthread_mutex_unlock(&reg.lock);
        if (!current) {
            send_close_json(fd, PTY_CLOSE_REPLACED,
                            json_pack("{s:s}", "error", "another client attached"));
            linger(fd);
            return;
        }
        if (exited) {
            finish_exit(fd, a);
            return;
        }
        /* Pending input holds back further frames: the client feels the terminal's pace. */
        pfd[0] = (struct pollfd){.fd = fd, .events = a->in_len ? 0 : POLLIN};
        pfd[1] = (struct pollfd){.fd = eof ? -1 : master,
                                 .events = (short)(POLLIN | (a->in_len ? POLLOUT : 0))};
        pfd[2] = (struct pollfd){.fd = ctl, .events = POLLIN};
        pfd[3] = (struct pollfd){.fd = a->kick, .events = POLLIN};
        if (poll(pfd, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (pfd[3].revents) {
            eventfd_t x;
            (void)!eventfd_read(a->kick, &x);
        }
        if (pfd[2].revents) {
            pthread_mutex_lock(&reg.lock);
            if (p->gen == a->gen)
                poll_exit_locked(p);
            pthread_mutex_unlock(&reg.lock);
        }
        if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = 0;
            pthread_mutex_lock(&reg.lock);
            if (p->gen == a->gen)
                n = read_master_locked(p, a->out, PTY_CHUNK);
            pthread_mutex_unlock(&reg.lock);
            if (n > 0 && ws_send(fd, WS_BINARY, a->out, (size_t)n) < 0)
                return;
        }
        if (a->in_len && (pfd[1].revents & POLLOUT))
            write_input(a);
        if ((pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) && !(pfd[0].revents & POLLIN))
            return;
        if ((pfd[0].revents & POLLIN) && !a->in_len && client_frame(fd, a) == 0)
            return;
    }
}

static void pty_ws(int fd, const char *extra, size_t extra_len, void *ctx)
{
    struct attach *a = ctx;
    struct timeval tv = {.tv_sec = PTY_SEND_TIMEOUT_S};
    struct cove_err err = {0};
    struct pty *p = NULL;
    int r;

    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    a->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    a->in = malloc(COVE_MAX_PTY_INPUT);
    a->out = malloc(PTY_CHUNK);
    if (a->kick < 0 || !a->in || !a->out) {
        send_error(fd, "out of memory");
        return;
    }
    if (a->create) {
        r = pty_register(a->sb, &a->params, &p, &err);
    } else {
        p = get_ref(sandbox_id(a->sb), a->params.id);
        r = p ? 0 : cove_err_set(&err, -ENOENT, "PTY session %s not found", a->params.id);
    }
    if (r >= 0) {
        pthread_mutex_lock(&reg.lock);
        if (p->attached && p->kick >= 0)
            (void)!eventfd_write(p->kick, 1); /* the previous client goes */
        a->gen = ++p->gen;
        a->p = p;
        p->attached = true;
        p->kick = a->kick;
        pthread_mutex_unlock(&reg.lock);
        r = ensure_started(a->sb, p, &err);
    }
    if (r < 0) {
        if (a->create && p) {
            pthread_mutex_lock(&reg.lock);
            if (p->listed)
                unlist_locked(p);
            pthread_mutex_unlock(&reg.lock);
        }
        send_error(fd, err.msg);
        return;
    }
    sandbox_busy(a->sb, 1);
    r = send_json(fd, json_pack("{s:s, s:s}", "type", "control", "status", "connected"));
    if (r >= 0 && extra_len) {
        r = take_extra(a, extra, extra_len);
        if (a->in_len)
            write_input(a);
        if (r < 0)
            (void)ws_send_close(fd, r == -EPIPE ? 1000 : 1002, NULL);
    }
    if (r >= 0)
        relay(fd, a);
    sandbox_busy(a->sb, -1);
}

/* Upgrade with the subprotocol the client can accept: exit control if offered, else the first
 * token offered, else none (the Python SDK offers none and must get none). */
static int upgrade(struct http_req *req, struct attach *a, const struct offers *o)
{
    const char *echo = o->exit_control ? PTY_EXIT_CONTROL : o->first[0] ? o->first : NULL;

    a->exit_control = o->exit_control;
    a->kick = -EBADF;
    return http_reply_websocket(req, echo, pty_ws, a, attach_free);
}

static int not_found(struct http_req *req, const char *id)
{
    return dtn_reply_error(req, 404, "NOT_FOUND", DTN_SOURCE_DAEMON, "PTY session %s not found",
                           id);
}

static int require_started(struct http_req *req, struct sandbox *sb)
{
    enum sandbox_state s = sandbox_state(sb);

    if (s == SANDBOX_STARTED)
        return 0;
    return dtn_reply_error(req, 409, "INVALID_STATE", NULL, "sandbox '%s' is %s; start it first",
                           sandbox_id(sb), sandbox_state_to_string(s)),
           -EBUSY;
}

/* ---- handlers ---- */

int dtn_pty_create_connect(struct http_req *req)
{
    struct offers o = {0};
    struct attach *a = calloc(1, sizeof(*a));
    struct sandbox *sb = NULL;
    struct pty *p;
    int r = -EINVAL;

    if (!a)
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory");
    a->kick = -EBADF;
    http_req_foreach_header(req, offer_cb, &o);
    if (dtn_lookup(req, &sb) < 0)
        goto fail;
    a->sb = sb;
    a->create = true;
    if (parse_common(req, http_req_query(req, "id"), http_req_query(req, "cwd"), &a->params) < 0 ||
        dim_query(req, "cols", 80, &a->params.cols) < 0 ||
        dim_query(req, "rows", 24, &a->params.rows) < 0 ||
        envs_from_offer(req, &o, &a->params) < 0 || require_started(req, sb) < 0)
        goto fail;
    p = get_ref(sandbox_id(sb), a->params.id);
    if (p) {
        put_ref(p);
        r = dtn_reply_error(req, 409, "CONFLICT", DTN_SOURCE_DAEMON,
                            "PTY session with ID '%s' already exists", a->params.id);
        goto fail;
    }
    free(o.envs);
    return upgrade(req, a, &o);
fail:
    free(o.envs);
    attach_free(a);
    return http_req_replied(req) ? 0 : r;
}

int dtn_pty_connect(struct http_req *req)
{
    const char *id = http_req_param(req, "pty");
    struct offers o = {0};
    struct attach *a;
    struct sandbox *sb;
    struct pty *p;

    http_req_foreach_header(req, offer_cb, &o);
    free(o.envs);
    if (dtn_lookup(req, &sb) < 0)
        return 0;
    p = get_ref(sandbox_id(sb), id);
    if (!p) {
        sandbox_unref(sb);
        return not_found(req, id);
    }
    put_ref(p);
    a = calloc(1, sizeof(*a));
    if (!a) {
        sandbox_unref(sb);
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory");
    }
    a->sb = sb;
    snprintf(a->params.id, sizeof(a->params.id), "%s", id);
    return upgrade(req, a, &o);
}

int dtn_pty_create(struct http_req *req)
{
    struct pty_params pp = {0};
    struct cove_err err = {0};
    struct sandbox *sb = NULL;
    struct pty *p = NULL;
    json_t *body = http_req_json(req), *v;
    int r = 0;

    if (!body)
        return 0;
    v = json_object_get(body, "cwd");
    if (v && !json_is_null(v) && !json_is_string(v)) {
        r = dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON, "cwd must be a string");
        goto out;
    }
    v = json_object_get(body, "lazyStart");
    if (v && !json_is_null(v) && !json_is_boolean(v)) {
        r = dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                            "lazyStart must be a boolean");
        goto out;
    }
    pp.lazy = json_is_true(v);
    if (parse_common(req, json_string_value(json_object_get(body, "id")),
                     json_string_value(json_object_get(body, "cwd")), &pp) < 0 ||
        dim_json(req, body, "cols", 80, &pp.cols) < 0 ||
        dim_json(req, body, "rows", 24, &pp.rows) < 0 ||
        parse_envs(req, json_object_get(body, "envs"), &pp) < 0 || dtn_lookup(req, &sb) < 0 ||
        require_started(req, sb) < 0)
        goto out;
    r = pty_register(sb, &pp, &p, &err);
    if (r >= 0 && !pp.lazy) {
        r = ensure_started(sb, p, &err);
        pthread_mutex_lock(&reg.lock);
        if (r < 0 && p->listed)
            unlist_locked(p);
        pthread_mutex_unlock(&reg.lock);
        drainer_wake();
    }
    if (p)
        put_ref(p);
    r = r < 0 ? dtn_reply_err(req, &err, true)
              : http_reply_json(req, 201, json_pack("{s:s}", "sessionId", pp.id));
out:
    json_decref(pp.envs);
    json_decref(body);
    sandbox_unref(sb);
    return http_req_replied(req) ? 0 : r;
}

int dtn_pty_list(struct http_req *req)
{
    json_t *arr = json_array();
    struct sandbox *sb;

    if (dtn_lookup(req, &sb) < 0) {
        json_decref(arr);
        return 0;
    }
    pthread_mutex_lock(&reg.lock);
    for (struct pty *p = reg.head, *next; p; p = next) {
        next = p->next;
        if (strcmp(p->sandbox, sandbox_id(sb)) != 0)
            continue;
        refresh_locked(p);
        if (p->listed)
            json_array_append_new(arr, info_json_locked(p));
    }
    pthread_mutex_unlock(&reg.lock);
    sandbox_unref(sb);
    return http_reply_json(req, 200, json_pack("{s:o}", "sessions", arr));
}

int dtn_pty_get(struct http_req *req)
{
    const char *id = http_req_param(req, "pty");
    struct sandbox *sb;
    json_t *o = NULL;
    struct pty *p;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    p = get_ref(sandbox_id(sb), id);
    sandbox_unref(sb);
    if (!p)
        return not_found(req, id);
    pthread_mutex_lock(&reg.lock);
    o = info_json_locked(p);
    pty_unref_locked(p);
    pthread_mutex_unlock(&reg.lock);
    return http_reply_json(req, 200, o);
}

int dtn_pty_delete(struct http_req *req)
{
    const char *id = http_req_param(req, "pty");
    bool running = false;
    struct sandbox *sb;
    struct pty *p;
    pid_t pid = 0;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    pthread_mutex_lock(&reg.lock);
    p = find_locked(sandbox_id(sb), id);
    if (p) {
        p->refs++;
        unlist_locked(p);
        running = p->started && !p->exited;
        pid = p->pid;
    }
    pthread_mutex_unlock(&reg.lock);
    if (!p) {
        sandbox_unref(sb);
        return not_found(req, id);
    }
    /* An attached client hears of the exit (137) from its relay. */
    if (running)
        kill_shell(sb, pid);
    put_ref(p);
    sandbox_unref(sb);
    return http_reply_json(req, 200, json_pack("{s:s}", "message", "PTY session deleted"));
}

int dtn_pty_resize(struct http_req *req)
{
    const char *id = http_req_param(req, "pty");
    json_t *body = http_req_json(req), *o = NULL;
    struct sandbox *sb = NULL;
    unsigned cols, rows;
    struct pty *p;
    int r = 0;

    if (!body)
        return 0;
    if (!json_object_get(body, "cols") || !json_object_get(body, "rows")) {
        r = dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                            "cols and rows are required");
        goto out;
    }
    if (dim_json(req, body, "cols", 0, &cols) < 0 || dim_json(req, body, "rows", 0, &rows) < 0 ||
        dtn_lookup(req, &sb) < 0)
        goto out;
    p = get_ref(sandbox_id(sb), id);
    if (!p) {
        r = not_found(req, id);
        goto out;
    }
    pthread_mutex_lock(&reg.lock);
    if (p->exited) {
        r = -ESRCH;
    } else {
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        p->cols = cols;
        p->rows = rows;
        /* Delivers SIGWINCH to the terminal's foreground process group. */
        if (p->master >= 0 && ioctl(p->master, TIOCSWINSZ, &ws) < 0)
            r = -errno;
        o = info_json_locked(p);
    }
    pty_unref_locked(p);
    pthread_mutex_unlock(&reg.lock);
    if (r == -ESRCH)
        r = dtn_reply_error(req, 410, "GONE", DTN_SOURCE_DAEMON,
                            "PTY session '%s' has terminated and cannot be resized", id);
    else if (r < 0)
        r = dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", DTN_SOURCE_DAEMON,
                            "resize PTY session '%s': %s", id, strerror(-r));
    else
        r = http_reply_json(req, 200, TAKE_PTR(o));
out:
    json_decref(o);
    json_decref(body);
    sandbox_unref(sb);
    return http_req_replied(req) ? 0 : r;
}

void dtn_pty_forget_sandbox(struct sandbox *sb)
{
    pthread_mutex_lock(&reg.lock);
    for (struct pty *p = reg.head, *next; p; p = next) {
        next = p->next;
        if (!strcmp(p->sandbox, sandbox_id(sb)))
            unlist_locked(p);
    }
    pthread_mutex_unlock(&reg.lock);
}

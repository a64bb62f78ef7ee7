/* Sandbox registry and lifecycle (see sandbox.h).
 *
 * Invariants:
 *  - a sandbox in the registry always has a store row; state STARTED means init_pid and
 *    pidfd name a live cove-init;
 *  - a sandbox's disk stays mounted on the host for as long as the sandbox exists (stopped
 *    included); its cgroups and control socket exist only while it runs;
 *  - delete releases init, cgroups, socket, disk and row, in that order, and a crash in the
 *    middle is finished by the next start-up (rows left in creating/destroying). */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/log.h"
#include "sandbox/cgroup.h"
#include "sandbox/ctl.h"
#include "sandbox/disk.h"
#include "sandbox/dnsfilter.h"
#include "sandbox/egress.h"
#include "sandbox/image.h"
#include "sandbox/netlink.h"
#include "sandbox/private-libs.h"
#include "sandbox/seccomp.h"
#include "sandbox/spawn.h"

#define UID_RANGE 65536u

struct sandbox {
    atomic_int refs;
    pthread_mutex_t lock;
    struct sandbox_rec rec;   /* guarded by lock */
    struct egress_policy net; /* parsed rec.network_json; fixed at create */
    enum sandbox_state state;
    pid_t init_pid;
    int pidfd;
    bool our_child; /* init was started by this coved (reap it) */
    bool removed;   /* deleted: no longer in the registry */
    bool reattach;  /* restored running without its veth */
    atomic_uint_fast64_t exec_seq;
    atomic_int busy;
    atomic_int execs;
    atomic_llong last_activity;
    struct sandbox *td_next; /* teardown queue */
    char sock[600];
};

static struct {
    char state_dir[512];
    char cgroup_root[128];
    uint32_t uid_base;
    int64_t autostop_unit_ms;
    struct store *st;
    int init_fd;
    int seccomp_fd;
    pthread_mutex_t mu; /* registry */
    pthread_mutex_t create_mu;
    struct sandbox **v;
    size_t n, cap;
    pthread_t reaper;
    bool stopping;
} rt = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .create_mu = PTHREAD_MUTEX_INITIALIZER,
        .init_fd = -1,
        .seccomp_fd = -1};

static const char *const state_names[_SANDBOX_STATE_MAX] = {
    [SANDBOX_CREATING] = "creating",   [SANDBOX_STARTED] = "started",
    [SANDBOX_STOPPING] = "stopping",   [SANDBOX_STOPPED] = "stopped",
    [SANDBOX_STARTING] = "starting",   [SANDBOX_DESTROYING] = "destroying",
    [SANDBOX_DESTROYED] = "destroyed", [SANDBOX_ERROR] = "error",
};

const char *sandbox_state_to_string(enum sandbox_state s)
{
    return s >= 0 && s < _SANDBOX_STATE_MAX ? state_names[s] : "unknown";
}

enum sandbox_state sandbox_state_from_string(const char *s)
{
    for (int i = 0; i < _SANDBOX_STATE_MAX; i++)
        if (!strcmp(s, state_names[i]))
            return (enum sandbox_state)i;
    return _SANDBOX_STATE_INVALID;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct store *sandbox_store(void)
{
    return rt.st;
}

const char *sandbox_id(const struct sandbox *sb)
{
    return sb->rec.id;
}

uid_t sandbox_host_uid(const struct sandbox *sb)
{
    return rt.uid_base + sb->rec.uid_slot * UID_RANGE + 1000;
}

static uint32_t uid_base_of(const struct sandbox *sb)
{
    return rt.uid_base + sb->rec.uid_slot * UID_RANGE;
}

struct sandbox *sandbox_ref(struct sandbox *sb)
{
    atomic_fetch_add(&sb->refs, 1);
    return sb;
}

void sandbox_unref(struct sandbox *sb)
{
    if (!sb || atomic_fetch_sub(&sb->refs, 1) != 1)
        return;
    if (sb->pidfd >= 0)
        close(sb->pidfd);
    store_sandbox_rec_free(&sb->rec);
    pthread_mutex_destroy(&sb->lock);
    free(sb);
}

static struct sandbox *sandbox_new(void)
{
    struct sandbox *sb = calloc(1, sizeof(*sb));
    if (!sb)
        return NULL;
    atomic_init(&sb->refs, 1);
    pthread_mutex_init(&sb->lock, NULL);
    sb->pidfd = -1;
    sb->rec.disk_slot = -1;
    atomic_init(&sb->last_activity, now_ms());
    return sb;
}

static int registry_add(struct sandbox *sb)
{
    pthread_mutex_lock(&rt.mu);
    if (rt.n == rt.cap) {
        size_t nc = rt.cap ? rt.cap * 2 : 64;
        struct sandbox **nv = realloc(rt.v, nc * sizeof(*nv));
        if (!nv) {
            pthread_mutex_unlock(&rt.mu);
            return -ENOMEM;
        }
        rt.v = nv, rt.cap = nc;
    }
    rt.v[rt.n++] = sandbox_ref(sb);
    pthread_mutex_unlock(&rt.mu);
    return 0;
}

static void registry_remove(struct sandbox *sb)
{
    pthread_mutex_lock(&rt.mu);
    for (size_t i = 0; i < rt.n; i++) {
        if (rt.v[i] == sb) {
            memmove(rt.v + i, rt.v + i + 1, (rt.n - i - 1) * sizeof(*rt.v));
            rt.n--;
            sb->removed = true;
            pthread_mutex_unlock(&rt.mu);
            sandbox_unref(sb);
            return;
        }
    }
    pthread_mutex_unlock(&rt.mu);
}

int sandbox_lookup(const char *org, const char *id_or_name, struct sandbox **ret,
                   struct cove_err *err)
{
    struct sandbox *found = NULL;

    pthread_mutex_lock(&rt.mu);
    for (size_t i = 0; i < rt.n && !found; i++) {
        struct sandbox *sb = rt.v[i];
        if (org && strcmp(sb->rec.org, org))
            continue;
        if (!strcmp(sb->rec.id, id_or_name))
            found = sb;
    }
    for (size_t i = 0; i < rt.n && !found; i++) {
        struct sandbox *sb = rt.v[i];
        if (org && strcmp(sb->rec.org, org))
            continue;
        if (!strcmp(sb->rec.name, id_or_name))
            found = sb;
    }
    if (found)
        sandbox_ref(found);
    pthread_mutex_unlock(&rt.mu);
    if (!found)
        return cove_err_setk(err, -ENOENT, "SANDBOX_NOT_FOUND", "sandbox '%s' not found",
                             id_or_name);
    *ret = found;
    return 0;
}

int sandbox_foreach(const char *org, int (*cb)(struct sandbox *sb, void *ud), void *ud)
{
    struct sandbox **copy;
    size_t n = 0;
    int r = 0;

    pthread_mutex_lock(&rt.mu);
    copy = calloc(rt.n + 1, sizeof(*copy));
    if (!copy) {
        pthread_mutex_unlock(&rt.mu);
        return -ENOMEM;
    }
    for (size_t i = 0; i < rt.n; i++)
        if (!org || !strcmp(rt.v[i]->rec.org, org))
            copy[n++] = sandbox_ref(rt.v[i]);
    pthread_mutex_unlock(&rt.mu);
    for (size_t i = 0; i < n; i++) {
        if (r >= 0)
            r = cb(copy[i], ud);
        sandbox_unref(copy[i]);
    }
    free(copy);
    return r < 0 ? r : 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void sandbox_snapshot(struct sandbox *sb, struct sandbox_rec *ret)
{
    pthread_mutex_lock(&sb->lock);
    *ret = sb->rec;
    ret->labels_json = dup_or_null(sb->rec.labels_json);
    ret->env_json = dup_or_null(sb->rec.env_json);
    ret->extra_json = dup_or_null(sb->rec.extra_json);
    ret->error_reason = dup_or_null(sb->rec.error_reason);
    ret->network_json = dup_or_null(sb->rec.network_json);
    snprintf(ret->state, sizeof(ret->state), "%s", sandbox_state_to_string(sb->state));
    ret->last_activity = atomic_load(&sb->last_activity);
    pthread_mutex_unlock(&sb->lock);
}

enum sandbox_state sandbox_state(struct sandbox *sb)
{
    pthread_mutex_lock(&sb->lock);
    enum sandbox_state s = sb->state;
    pthread_mutex_unlock(&sb->lock);
    return s;
}

void sandbox_touch(struct sandbox *sb)
{
    atomic_store(&sb->last_activity, now_ms());
}

void sandbox_busy(struct sandbox *sb, int delta)
{
    atomic_fetch_add(&sb->busy, delta);
    sandbox_touch(sb);
}

int sandbox_exec_enter(struct sandbox *sb, int max)
{
    if (atomic_fetch_add(&sb->execs, 1) >= max) {
        atomic_fetch_sub(&sb->execs, 1);
        return -EBUSY;
    }
    return 0;
}

void sandbox_exec_leave(struct sandbox *sb)
{
    atomic_fetch_sub(&sb->execs, 1);
}

uint64_t sandbox_next_exec(struct sandbox *sb)
{
    return atomic_fetch_add(&sb->exec_seq, 1) + 1;
}

/* Persist state (lock held). Returns the store's result: only a create must not go on when
 * the row cannot say "started" (a restart would delete an acknowledged sandbox). */
static int set_state(struct sandbox *sb, enum sandbox_state s, const char *reason)
{
    int r;

    sb->state = s;
    snprintf(sb->rec.state, sizeof(sb->rec.state), "%s", sandbox_state_to_string(s));
    free(sb->rec.error_reason);
    sb->rec.error_reason = dup_or_null(reason);
    sb->rec.init_pid = s == SANDBOX_STARTED ? sb->init_pid : 0;
    sb->rec.updated_at = now_ms();
    r = store_sandbox_set_state(rt.st, sb->rec.id, sb->rec.state, reason, sb->rec.init_pid);
    if (r < 0)
        log_warn("sandbox %s: cannot persist state %s: %s", sb->rec.id, sb->rec.state,
                 strerror(-r));
    return r;
}

/* ---- live parts ---- */

static int chown_mkdir(int dfd, const char *name, mode_t mode, uid_t uid)
{
    if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST)
        return -errno;
    if (fchownat(dfd, name, uid, uid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(dfd, name, mode, 0) < 0)
        return -errno;
    return 0;
}

static int write_at(int dfd, const char *name, const char *content, uid_t uid)
{
    _cleanup_close_ int fd =
        openat(dfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    size_t n = strlen(content);
    if (fd < 0)
        return -errno;
    if (write(fd, content, n) != (ssize_t)n || fchown(fd, uid, uid) < 0)
        return -errno;
    return 0;
}

/* A sandbox disk's directories: overlay upper/work dirs, the user's home, /etc for the
 * per-sandbox files, and the directories the sandbox writes into, which exist in its own
 * layer owned by its root (a copy-up of the shared skeleton's directory, owned by the
 * unmapped host root, would fail with EOVERFLOW). user: owned by the sandbox user. */
static const struct {
    const char *path;
    mode_t mode;
    bool user;
} disk_dirs[] = {
    {"upper", 0755},
    {"work", 0755},
    {"upper/root", 0755},
    {"upper/usr", 0755},
    {"work/root", 0755},
    {"work/usr", 0755},
    {"mnt", 0755},
    {"upper/root/home", 0755},
    {"upper/root/etc", 0755},
    {"upper/root/home/cove", 0755, true},
    {"upper/root/tmp", 01777},
    {"upper/root/var", 0755},
    {"upper/root/var/tmp", 01777},
    {"upper/root/run", 0755},
    {"upper/root/run/lock", 01777},
    {"upper/root/root", 0700},
};
static const char *const disk_files[] = {"upper/root/etc/hosts", "upper/root/etc/hostname"};

/* The pool's part of a disk's layout (disk.h), before any sandbox has the disk: the private
 * library copies, the directories, empty per-sandbox files and the device nodes, all host
 * root's. Allocating inodes on a just-wiped ext4 without a journal is slow
 * (recently_deleted), so it happens here, off the create path; prepare_disk() then hands
 * what exists to the sandbox's uid range and fills the files. */
static int lay_out_disk(const char *mnt)
{
    _cleanup_close_ int dfd = -EBADF;
    int r = private_libs_seed(mnt, (uid_t)-1);

    if (r < 0)
        log_warn("disk %s: copy the shared libraries: %s", mnt, strerror(-r));
    dfd = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    for (size_t i = 0; i < ELEMENTSOF(disk_dirs); i++)
        if ((r = chown_mkdir(dfd, disk_dirs[i].path, disk_dirs[i].mode, 0)) < 0)
            return r;
    for (size_t i = 0; i < ELEMENTSOF(disk_files); i++)
        if ((r = write_at(dfd, disk_files[i], "", 0)) < 0)
            return r;
    return spawn_make_devices(mnt);
}

/* Lay out the sandbox's disk (mostly done by the pool: lay_out_disk), all owned by the
 * sandbox's uid range, and write its per-sandbox /etc files. */
static int prepare_disk(struct sandbox *sb, struct cove_err *err)
{
    uid_t root = uid_base_of(sb), user = root + SANDBOX_UID;
    char path[600], hosts[256];
    _cleanup_close_ int dfd = -EBADF;
    int r = 0;

    disk_path(sb->rec.disk_slot, path, sizeof(path));
    dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return cove_err_errno(err, errno, "open sandbox disk");
    if (fchown(dfd, root, root) < 0 || fchmod(dfd, 0700) < 0)
        return cove_err_errno(err, errno, "own sandbox disk");
    for (size_t i = 0; i < ELEMENTSOF(disk_dirs) && r >= 0; i++)
        r = chown_mkdir(dfd, disk_dirs[i].path, disk_dirs[i].mode, disk_dirs[i].user ? user : root);
    snprintf(hosts, sizeof(hosts),
             "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n",
             sb->rec.name);
    if (r >= 0)
        r = write_at(dfd, "upper/root/etc/hosts", hosts, root);
    snprintf(hosts, sizeof(hosts), "%s\n", sb->rec.name);
    if (r >= 0)
        r = write_at(dfd, "upper/root/etc/hostname", hosts, root);
    /* The image resolves names from files only; a sandbox with network also asks DNS. */
    if (r >= 0 && sb->net.mode != EGRESS_NONE)
        r = write_at(dfd, "upper/root/etc/nsswitch.conf",
                     "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
                     "networks: files\nprotocols: files\nservices: files\n",
                     root);
    struct egress_link l;
    if (r >= 0 && sb->net.n_domains &&
        egress_link_of(sb->rec.id, sb->rec.net_slot, &l, NULL) >= 0) {
        /* A domain allow list resolves through coved on the gateway (dnsfilter.c). */
        dnsfilter_resolv_conf(l.gateway, hosts, sizeof(hosts));
        r = write_at(dfd, "upper/root/etc/resolv.conf", hosts, root);
    }
    if (r < 0)
        return cove_err_errno(err, -r, "prepare sandbox disk");
    return 0;
}

static void stop_live(struct sandbox *sb);

/* Give a freshly started sandbox the network it opted into (its init runs). */
static int attach_network(struct sandbox *sb, struct cove_err *err)
{
    char p[64];
    _cleanup_close_ int ns = -EBADF;

    snprintf(p, sizeof(p), "/proc/%d/ns/net", sb->init_pid);
    ns = open(p, O_RDONLY | O_CLOEXEC);
    if (ns < 0)
        return cove_err_errno(err, errno, "open the network namespace of sandbox %s", sb->rec.id);
    return egress_attach(sb->rec.id, sb->rec.net_slot, &sb->net, ns, err);
}

static int start_live(struct sandbox *sb, struct cove_err *err)
{
    struct cgroup_limits lim = {.cpu_milli = sb->rec.cpu_milli,
                                .memory_bytes = (uint64_t)sb->rec.memory_mib << 20,
                                .pids = sb->rec.pids};
    char disk[600], lower[600];
    struct spawn_params p = {.id = sb->rec.id,
                             .uid_base = uid_base_of(sb),
                             .sock_path = sb->sock,
                             .disk = disk,
                             .lower = lower,
                             .hostname = sb->rec.name,
                             .shm_mib = 64,
                             .init_fd = rt.init_fd,
                             .seccomp_fd = rt.seccomp_fd,
                             .limits = &lim};
    int r;

    disk_path(sb->rec.disk_slot, disk, sizeof(disk));
    if (image_lower_path(sb->rec.image, lower, sizeof(lower)) < 0)
        return cove_err_setk(err, -ENOENT, "IMAGE_NOT_FOUND", "image '%s' not found",
                             sb->rec.image);
    r = spawn_init(&p, &sb->init_pid, &sb->pidfd, err);
    if (r < 0)
        return r;
    sb->our_child = true;
    if (sb->net.mode != EGRESS_NONE) {
        r = attach_network(sb, err);
        if (r < 0) {
            stop_live(sb);
            return r;
        }
    }
    return 0;
}

/* Kill init (the kernel then kills the whole PID namespace), reap it, drop cgroups. */
static void stop_live(struct sandbox *sb)
{
    /* A sandbox's veth dies with its network namespace, that is with init (and then no
     * process is left to send anything); its set elements stay until delete. */
    if (sb->pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
        struct pollfd pfd = {.fd = sb->pidfd, .events = POLLIN};
        (void)poll(&pfd, 1, 5000);
        if (sb->our_child)
            (void)waitid(P_PIDFD, (id_t)sb->pidfd, NULL, WEXITED | WNOHANG);
        sb->pidfd = safe_close(sb->pidfd);
    }
    sb->init_pid = 0;
    cgroup_ops()->sandbox_destroy(sb->rec.id);
    (void)unlink(sb->sock);
}

static void gen_id(char *out, size_t cap)
{
    uint8_t b[8];
    if (getrandom(b, sizeof(b), 0) != sizeof(b))
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (uint8_t)rand();
    for (size_t i = 0; i < sizeof(b) && 2 * i + 2 < cap; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void sock_path(struct sandbox *sb)
{
    snprintf(sb->sock, sizeof(sb->sock), "%s/run/%s.sock", rt.state_dir, sb->rec.id);
}

static char *json_dump_or(json_t *j, const char *dflt)
{
    return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : strdup(dflt);
}

int sandbox_check_space(uint64_t need, struct cove_err *err)
{
    struct statvfs sv;
    uint64_t avail, want = need + ((uint64_t)COVE_STATE_MIN_FREE_MIB << 20);

    if (!rt.state_dir[0])
        return 0; /* no runtime (unit tests of the file operations) */
    /* The messages reach API clients: they name no host path. */
    if (statvfs(rt.state_dir, &sv) < 0)
        return cove_err_errno(err, errno, "inspect the state filesystem");
    avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (avail >= want)
        return 0;
    return cove_err_setk(err, -ENOSPC, "INSUFFICIENT_STORAGE",
                         "not enough space on the host's state filesystem: %llu MiB free, cove "
                         "keeps %u MiB free for its database and sandbox disks",
                         (unsigned long long)(avail >> 20), COVE_STATE_MIN_FREE_MIB);
}

/* Append "what (N in use + M requested > limit L)" to msg when the request passes limit. A
 * request that adds nothing passes nothing, even when usage is over a lowered limit. */
static void over(char *msg, size_t cap, const char *what, uint64_t used, uint64_t add,
                 uint64_t limit, const char *unit)
{
    size_t n = strlen(msg);

    if (add == 0 || used + add <= limit || n >= cap)
        return;
    snprintf(msg + n, cap - n, "%s%s (%llu%s in use + %llu%s requested > limit %llu%s)",
             n ? "; " : "", what, (unsigned long long)used, unit, (unsigned long long)add, unit,
             (unsigned long long)limit, unit);
}

/* Check that org can take `add` more sandboxes (0 or 1) holding the given resources. The
 * caller holds rt.create_mu and keeps holding it until the store shows what it reserved
 * (the inserted row, or the "starting" state), so checks cannot interleave. */
static int quota_check_locked(const char *org, uint32_t add, uint32_t cpu_milli,
                              uint32_t memory_mib, uint32_t disk_mib, struct cove_err *err)
{
    struct org_quota q;
    uint32_t count;
    uint64_t cpu, mem, disk;
    char msg[400] = "";
    int r;

    r = store_org_get_quota(rt.st, org, &q);
    if (r >= 0)
        r = store_sandbox_usage(rt.st, org, &count, &cpu, &mem, &disk);
    if (r < 0)
        return cove_err_errno(err, -r, "read organization quota");
    over(msg, sizeof(msg), "sandboxes", count, add, q.max_sandboxes, "");
    over(msg, sizeof(msg), "cpu", cpu, cpu_milli, q.max_cpu_milli, " milli-cpus");
    over(msg, sizeof(msg), "memory", mem, memory_mib, q.max_memory_mib, " MiB");
    over(msg, sizeof(msg), "disk", disk, add ? disk_mib : 0, q.max_disk_mib, " MiB");
    if (msg[0])
        return cove_err_setk(err, -EDQUOT, "QUOTA_EXCEEDED",
                             "quota exceeded for organization '%s': %s", org, msg);
    return 0;
}

int sandbox_create(const struct sandbox_spec *spec, const char *org, struct sandbox **ret,
                   struct cove_err *err)
{
    struct sandbox *sb;
    int r;

    if (!image_exists(spec->image))
        return cove_err_setk(err, -EINVAL, "IMAGE_NOT_FOUND",
                             "image '%s' not found (available: base)", spec->image);
    r = sandbox_check_space(0, err);
    if (r < 0)
        return r;
    sb = sandbox_new();
    if (!sb)
        return cove_err_set(err, -ENOMEM, "out of memory");
    gen_id(sb->rec.id, sizeof(sb->rec.id));
    snprintf(sb->rec.org, sizeof(sb->rec.org), "%s", org);
    snprintf(sb->rec.name, sizeof(sb->rec.name), "%s", spec->name[0] ? spec->name : sb->rec.id);
    snprintf(sb->rec.image, sizeof(sb->rec.image), "%s", spec->image);
    sb->rec.labels_json = json_dump_or(spec->labels, "{}");
    sb->rec.env_json = json_dump_or(spec->env, "{}");
    sb->rec.extra_json = spec->extra ? json_dump_or(spec->extra, "{}") : NULL;
    sb->rec.cpu_milli = spec->cpu_milli;
    sb->rec.memory_mib = spec->memory_mib;
    sb->rec.disk_mib = spec->disk_mib;
    sb->rec.pids = spec->pids;
    sb->rec.auto_stop_min = spec->auto_stop_min;
    sb->rec.auto_delete_min = spec->auto_delete_min;
    sb->net = spec->network;
    if (sb->net.mode != EGRESS_NONE) {
        json_t *nj = egress_policy_to_json(&sb->net);
        sb->rec.network_json = nj ? json_dumps(nj, JSON_COMPACT) : NULL;
        json_decref(nj);
        if (!sb->rec.network_json) {
            sandbox_unref(sb);
            return cove_err_set(err, -ENOMEM, "out of memory");
        }
        r = egress_slot_alloc(sb->rec.id, &sb->net, &sb->rec.net_slot, err);
        if (r < 0) {
            sandbox_unref(sb);
            return r;
        }
    }
    sb->rec.created_at = sb->rec.updated_at = sb->rec.last_activity = now_ms();
    sb->state = SANDBOX_CREATING;
    snprintf(sb->rec.state, sizeof(sb->rec.state), "creating");
    sock_path(sb);

    /* Quota check, slot allocation and insert are one critical section, so concurrent
     * creates cannot overshoot a quota or share a uid range. */
    pthread_mutex_lock(&rt.create_mu);
    r = quota_check_locked(org, 1, spec->cpu_milli, spec->memory_mib, spec->disk_mib, err);
    if (r < 0)
        goto fail_locked;
    r = store_alloc_uid_slot(rt.st, &sb->rec.uid_slot);
    if (r < 0) {
        cove_err_errno(err, -r, "allocate a uid range");
        goto fail_locked;
    }
    if ((uint64_t)rt.uid_base + ((uint64_t)sb->rec.uid_slot + 1) * UID_RANGE > 0xfffffffeu) {
        r = cove_err_set(err, -ENOSPC, "no free uid range for another sandbox");
        goto fail_locked;
    }
    r = store_sandbox_insert(rt.st, &sb->rec, err);
    if (r < 0)
        goto fail_locked;
    pthread_mutex_unlock(&rt.create_mu);

    pthread_mutex_lock(&sb->lock);
    r = disk_acquire(spec->disk_mib, &sb->rec.disk_slot, err);
    if (r >= 0 && (r = store_sandbox_update(rt.st, &sb->rec)) < 0)
        store_err(r, err);
    if (r >= 0)
        r = prepare_disk(sb, err);
    if (r >= 0)
        r = start_live(sb, err);
    /* The answer says "started" only once the row does. */
    if (r >= 0 && (r = set_state(sb, SANDBOX_STARTED, NULL)) < 0) {
        store_err(r, err);
        stop_live(sb);
    }
    if (r < 0) {
        pthread_mutex_unlock(&sb->lock);
        egress_release(sb->rec.net_slot);
        if (sb->rec.disk_slot >= 0)
            disk_release(sb->rec.disk_slot);
        store_sandbox_delete(rt.st, sb->rec.id);
        sandbox_unref(sb);
        return r;
    }
    pthread_mutex_unlock(&sb->lock);
    r = registry_add(sb);
    if (r < 0) {
        sandbox_delete(sb, true, NULL);
        sandbox_unref(sb);
        return cove_err_set(err, r, "out of memory");
    }
    *ret = sb;
    return 0;

fail_locked:
    pthread_mutex_unlock(&rt.create_mu);
    egress_release(sb->rec.net_slot);
    sandbox_unref(sb);
    return r;
}

/* Under rt.create_mu, so a create that has read the org's quota inserts its row before the
 * org can go (and then the delete is refused). */
int sandbox_org_delete(const char *org)
{
    int r;

    sandbox_teardown_wait(); /* rows of deleted sandboxes still in teardown */
    pthread_mutex_lock(&rt.create_mu);
    r = store_org_delete(rt.st, org);
    pthread_mutex_unlock(&rt.create_mu);
    return r;
}

int sandbox_start(struct sandbox *sb, struct cove_err *err)
{
    int r = 0;

    pthread_mutex_lock(&sb->lock);
    if (sb->removed)
        r = cove_err_setk(err, -ENOENT, "SANDBOX_NOT_FOUND", "sandbox '%s' was deleted",
                          sb->rec.id);
    else if (sb->state == SANDBOX_STOPPED || sb->state == SANDBOX_ERROR) {
        /* A stopped sandbox holds no CPU or memory: starting it takes them from the quota.
         * The "starting" row is the reservation the next check sees. */
        pthread_mutex_lock(&rt.create_mu);
        r = quota_check_locked(sb->rec.org, 0, sb->rec.cpu_milli, sb->rec.memory_mib, 0, err);
        if (r >= 0)
            set_state(sb, SANDBOX_STARTING, NULL);
        pthread_mutex_unlock(&rt.create_mu);
        if (r < 0) {
            pthread_mutex_unlock(&sb->lock);
            return r;
        }
        r = start_live(sb, err);
        if (r < 0)
            set_state(sb, SANDBOX_ERROR, err ? err->msg : "start failed");
        else
            set_state(sb, SANDBOX_STARTED, NULL);
    } else if (sb->state != SANDBOX_STARTED) {
        r = cove_err_setk(err, -EBUSY, "INVALID_STATE", "sandbox '%s' is %s", sb->rec.id,
                          sandbox_state_to_string(sb->state));
    }
    pthread_mutex_unlock(&sb->lock);
    sandbox_touch(sb);
    return r;
}

int sandbox_stop(struct sandbox *sb, struct cove_err *err)
{
    int r = 0;

    pthread_mutex_lock(&sb->lock);
    if (sb->removed)
        r = cove_err_setk(err, -ENOENT, "SANDBOX_NOT_FOUND", "sandbox '%s' was deleted",
                          sb->rec.id);
    else if (sb->state == SANDBOX_STARTED || sb->state == SANDBOX_ERROR) {
        set_state(sb, SANDBOX_STOPPING, NULL);
        stop_live(sb);
        set_state(sb, SANDBOX_STOPPED, NULL);
    }
    pthread_mutex_unlock(&sb->lock);
    return r;
}

/* Teardown of deleted sandboxes. A delete answers once the sandbox is out of the registry
 * (the API no longer finds it), its row says "destroying" and its init has been sent
 * SIGKILL; waiting for the kernel to tear the init's namespaces down (about 1-2 ms, mostly
 * an RCU grace period and the overlay's flush at unmount) and releasing its cgroups, disk,
 * network slot and row happen here, in the background, in order. Until then the row keeps
 * the sandbox's uid range reserved, so no new sandbox gets the uids of dying processes; its
 * name is freed at once (the row is renamed) and it no longer counts against a quota. A
 * crash in between leaves the row in "destroying", which the next start finishes. */
#define TEARDOWN_THREADS 2
/* Deletes beyond this many queued teardowns wait for their own: a tenant that deletes faster
 * than the kernel tears down cannot pile up dying sandboxes outside its quota. */
#define TEARDOWN_MAX_QUEUED 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv, idle;
    struct sandbox *head, *tail;
    unsigned queued, active;
    bool stop;
    pthread_t th[TEARDOWN_THREADS];
    bool started;
} td = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .cv = PTHREAD_COND_INITIALIZER,
        .idle = PTHREAD_COND_INITIALIZER};

/* Everything a deleted sandbox holds, released; with sb->lock held. */
static void teardown_locked(struct sandbox *sb)
{
    stop_live(sb);
    egress_release(sb->rec.net_slot);
    if (sb->rec.disk_slot >= 0)
        disk_release(sb->rec.disk_slot);
    sb->rec.disk_slot = -1;
    store_sandbox_delete(rt.st, sb->rec.id);
    sb->state = SANDBOX_DESTROYED;
    snprintf(sb->rec.state, sizeof(sb->rec.state), "destroyed");
}

static void *teardown_main(void *arg)
{
    pthread_mutex_lock(&td.mu);
    for (;;) {
        struct sandbox *sb = td.head;
        if (!sb) {
            if (td.stop)
                break;
            pthread_cond_wait(&td.cv, &td.mu);
            continue;
        }
        td.head = sb->td_next;
        if (!td.head)
            td.tail = NULL;
        td.queued--;
        td.active++;
        pthread_mutex_unlock(&td.mu);
        pthread_mutex_lock(&sb->lock);
        teardown_locked(sb);
        pthread_mutex_unlock(&sb->lock);
        sandbox_unref(sb);
        pthread_mutex_lock(&td.mu);
        td.active--;
        if (!td.head && !td.active)
            pthread_cond_broadcast(&td.idle);
    }
    pthread_mutex_unlock(&td.mu);
    return NULL;
}

/* Hand sb (a reference is taken) to the teardown threads; false when they are not running
 * (then the caller tears down itself). */
static bool teardown_queue(struct sandbox *sb)
{
    pthread_mutex_lock(&td.mu);
    if (!td.started || td.stop || td.queued >= TEARDOWN_MAX_QUEUED) {
        pthread_mutex_unlock(&td.mu);
        return false;
    }
    td.queued++;
    sandbox_ref(sb);
    sb->td_next = NULL;
    if (td.tail)
        td.tail->td_next = sb;
    else
        td.head = sb;
    td.tail = sb;
    pthread_cond_signal(&td.cv);
    pthread_mutex_unlock(&td.mu);
    return true;
}

void sandbox_teardown_wait(void)
{
    pthread_mutex_lock(&td.mu);
    while (td.head || td.active)
        pthread_cond_wait(&td.idle, &td.mu);
    pthread_mutex_unlock(&td.mu);
}

static void teardown_start(void)
{
    pthread_mutex_lock(&td.mu);
    td.started = true;
    for (int i = 0; i < TEARDOWN_THREADS; i++)
        pthread_create(&td.th[i], NULL, teardown_main, NULL);
    pthread_mutex_unlock(&td.mu);
}

static void teardown_stop(void)
{
    pthread_mutex_lock(&td.mu);
    bool was = td.started;
    td.stop = true;
    pthread_cond_broadcast(&td.cv);
    pthread_mutex_unlock(&td.mu);
    if (was)
        for (int i = 0; i < TEARDOWN_THREADS; i++)
            pthread_join(td.th[i], NULL);
}

int sandbox_delete(struct sandbox *sb, bool wait, struct cove_err *err)
{
    pthread_mutex_lock(&sb->lock);
    if (sb->removed || sb->state == SANDBOX_DESTROYING || sb->state == SANDBOX_DESTROYED) {
        pthread_mutex_unlock(&sb->lock);
        return cove_err_setk(err, -ENOENT, "SANDBOX_NOT_FOUND", "sandbox '%s' not found",
                             sb->rec.id);
    }
    /* Nothing is taken down before the row says "destroying" (a crash then finishes the
     * delete at the next start). If the database cannot say so, on a full disk, the sandbox
     * stays whole and the client gets the error. */
    int r = store_sandbox_retire(rt.st, sb->rec.id);
    if (r < 0) {
        pthread_mutex_unlock(&sb->lock);
        return store_err(r, err);
    }
    /* For the API the sandbox is gone now ("destroyed", then 404); the row says
     * "destroying" until the teardown is done. */
    sb->state = SANDBOX_DESTROYED;
    snprintf(sb->rec.state, sizeof(sb->rec.state), "%s", sandbox_state_to_string(sb->state));
    if (sb->pidfd >= 0) /* the kernel starts on it now */
        syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
    pthread_mutex_unlock(&sb->lock);
    registry_remove(sb);
    if (!wait && teardown_queue(sb))
        return 0;
    pthread_mutex_lock(&sb->lock);
    teardown_locked(sb);
    pthread_mutex_unlock(&sb->lock);
    return 0;
}

int sandbox_update_settings(struct sandbox *sb, const struct sandbox_rec *rec, struct cove_err *err)
{
    int r;

    pthread_mutex_lock(&sb->lock);
    if (rec->labels_json && rec->labels_json != sb->rec.labels_json) {
        free(sb->rec.labels_json);
        sb->rec.labels_json = strdup(rec->labels_json);
    }
    if (rec->extra_json && rec->extra_json != sb->rec.extra_json) {
        free(sb->rec.extra_json);
        sb->rec.extra_json = strdup(rec->extra_json);
    }
    sb->rec.auto_stop_min = rec->auto_stop_min;
    sb->rec.auto_delete_min = rec->auto_delete_min;
    sb->rec.updated_at = now_ms();
    r = store_sandbox_update(rt.st, &sb->rec);
    pthread_mutex_unlock(&sb->lock);
    if (r < 0)
        return cove_err_errno(err, -r, "save sandbox settings");
    return 0;
}

int sandbox_ctl_connect(struct sandbox *sb, struct cove_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, sz = 4 << 20;

    pthread_mutex_lock(&sb->lock);
    enum sandbox_state s = sb->state;
    pthread_mutex_unlock(&sb->lock);
    if (s != SANDBOX_STARTED)
        return cove_err_setk(err, -EBUSY, "INVALID_STATE", "sandbox '%s' is %s; start it first",
                             sb->rec.id, sandbox_state_to_string(s));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sb->sock);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cove_err_errno(err, errno, "socket");
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return cove_err_errno(err, e, "connect to sandbox '%s'", sb->rec.id);
    }
    return fd;
}

/* Open /proc/<init>/<what> of a started sandbox; the pidfd proves the pid was not recycled
 * between lookup and open. */
static int open_init_path(struct sandbox *sb, const char *what, int flags, struct cove_err *err)
{
    char p[64];
    int fd;

    pthread_mutex_lock(&sb->lock);
    if (sb->state != SANDBOX_STARTED) {
        enum sandbox_state s = sb->state;
        pthread_mutex_unlock(&sb->lock);
        return cove_err_setk(err, -EBUSY, "INVALID_STATE", "sandbox '%s' is %s; start it first",
                             sb->rec.id, sandbox_state_to_string(s));
    }
    snprintf(p, sizeof(p), "/proc/%d/%s", sb->init_pid, what);
    fd = open(p, flags | O_CLOEXEC);
    if (fd >= 0 && syscall(SYS_pidfd_send_signal, sb->pidfd, 0, NULL, 0) < 0) {
        close(fd);
        fd = -1;
        errno = ESRCH;
    }
    pthread_mutex_unlock(&sb->lock);
    if (fd < 0)
        return cove_err_errno(err, errno, "open %s of sandbox '%s'", what, sb->rec.id);
    return fd;
}

pid_t sandbox_init_pid(struct sandbox *sb)
{
    pthread_mutex_lock(&sb->lock);
    pid_t p = sb->state == SANDBOX_STARTED ? sb->init_pid : 0;
    pthread_mutex_unlock(&sb->lock);
    return p;
}

int sandbox_open_proc(struct sandbox *sb, const char *what, int flags, struct cove_err *err)
{
    return open_init_path(sb, what, flags, err);
}

int sandbox_root_fd(struct sandbox *sb, struct cove_err *err)
{
    return open_init_path(sb, "root", O_PATH | O_DIRECTORY, err);
}

int sandbox_netns_fd(struct sandbox *sb, struct cove_err *err)
{
    return open_init_path(sb, "ns/net", O_RDONLY, err);
}

void sandbox_env_free(char **envp)
{
    for (size_t i = 0; envp && envp[i]; i++)
        free(envp[i]);
    free(envp);
}

char **sandbox_build_env(struct sandbox *sb, json_t *extra)
{
    static const char *const base[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=" SANDBOX_HOME,
        "USER=" SANDBOX_USER,
        "LOGNAME=" SANDBOX_USER,
        "LANG=C.UTF-8",
        "SHELL=/bin/bash",
        "TERM=xterm-256color"};
    json_t *senv = NULL, *all = json_object();
    const char *k;
    json_t *v;
    char **out;
    size_t n = 0;

    if (!all)
        return NULL;
    for (size_t i = 0; i < ELEMENTSOF(base); i++) {
        const char *eq = strchr(base[i], '=');
        char key[32];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - base[i]), base[i]);
        json_object_set_new(all, key, json_string(eq + 1));
    }
    pthread_mutex_lock(&sb->lock);
    json_object_set_new(all, "HOSTNAME", json_string(sb->rec.name));
    if (sb->rec.env_json)
        senv = json_loads(sb->rec.env_json, 0, NULL);
    pthread_mutex_unlock(&sb->lock);
    if (senv)
        json_object_update(all, senv);
    json_decref(senv);
    if (extra)
        json_object_update(all, extra);
    out = calloc(json_object_size(all) + 1, sizeof(char *));
    if (!out) {
        json_decref(all);
        return NULL;
    }
    json_object_foreach(all, k, v)
    {
        if (!json_is_string(v) || asprintf(&out[n], "%s=%s", k, json_string_value(v)) < 0)
            continue;
        n++;
    }
    json_decref(all);
    return out;
}

/* ---- restore and background work ---- */

/* Is the init of a sandbox from an earlier run still serving? Returns its pid or 0. */
static pid_t probe_init(const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct ucred cred;
    socklen_t len = sizeof(cred);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return 0;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return 0;
    return cred.pid;
}

/* Sandboxes whose create or delete a crash interrupted, collected by restore_one(). */
struct restore_ctx {
    struct sandbox **v;
    size_t n, cap;
};

static void *finish_one(void *arg)
{
    struct sandbox *sb = arg;

    stop_live(sb); /* kills whatever runs in its cgroups, removes them and the socket */
    store_sandbox_delete(rt.st, sb->rec.id);
    return NULL;
}

/* Finish the interrupted deletes, several at a time: killing a sandbox and waiting for its
 * cgroups to empty takes tens of milliseconds, mostly waiting, and a crash under load leaves
 * one per create in flight. coved serves only after this. */
static void finish_interrupted(struct restore_ctx *ctx)
{
    enum { BATCH = 16 };
    pthread_t th[BATCH];
    bool started[BATCH];

    for (size_t i = 0; i < ctx->n; i += BATCH) {
        size_t k = ctx->n - i < BATCH ? ctx->n - i : BATCH;
        for (size_t j = 0; j < k; j++) {
            started[j] = pthread_create(&th[j], NULL, finish_one, ctx->v[i + j]) == 0;
            if (!started[j])
                finish_one(ctx->v[i + j]);
        }
        for (size_t j = 0; j < k; j++)
            if (started[j])
                pthread_join(th[j], NULL);
    }
    for (size_t i = 0; i < ctx->n; i++)
        sandbox_unref(ctx->v[i]);
    free(ctx->v);
    *ctx = (struct restore_ctx){0};
}

/* Every sandbox with network is registered for the rebuilt table; one that kept running
 * while coved was down but lost its veth (a crash mid-way) gets it back after the rebuild
 * (restore_networks). */
static void restore_network(struct sandbox *sb)
{
    struct egress_link l;

    if (sb->net.mode == EGRESS_NONE)
        return;
    if (egress_restore_add(sb->rec.id, sb->rec.net_slot, &sb->net) < 0 ||
        egress_link_of(sb->rec.id, sb->rec.net_slot, &l, NULL) < 0) {
        log_warn("sandbox %s: bad egress slot %u; it gets no network", sb->rec.id,
                 sb->rec.net_slot);
        sb->net.mode = EGRESS_NONE;
        return;
    }
    sb->reattach = sb->state == SANDBOX_STARTED && nl_link_exists(l.host_if) != 1;
}

static int restore_one(const struct sandbox_rec *r, void *ud)
{
    struct sandbox *sb = sandbox_new();
    struct cove_err err = {0};
    enum sandbox_state s = sandbox_state_from_string(r->state);

    if (!sb)
        return -ENOMEM;
    sb->rec = *r;
    sb->rec.labels_json = dup_or_null(r->labels_json);
    sb->rec.env_json = dup_or_null(r->env_json);
    sb->rec.extra_json = dup_or_null(r->extra_json);
    sb->rec.error_reason = dup_or_null(r->error_reason);
    sb->rec.network_json = dup_or_null(r->network_json);
    if (egress_policy_from_string(r->network_json, &sb->net) < 0)
        log_warn("sandbox %s: unreadable network policy, treating it as none", r->id);
    atomic_store(&sb->last_activity, now_ms());
    sock_path(sb);
    if (s == SANDBOX_CREATING || s == SANDBOX_DESTROYING || s < 0) {
        /* Interrupted create or delete: finish the delete (finish_interrupted). Its disk is
         * not adopted, so disk_pool_sweep() destroys it. */
        log_info("sandbox %s: cleaning up after an interrupted %s", r->id, r->state);
        struct restore_ctx *ctx = ud;
        if (ctx->n == ctx->cap) {
            size_t nc = ctx->cap ? ctx->cap * 2 : 16;
            struct sandbox **nv = realloc(ctx->v, nc * sizeof(*nv));
            if (!nv) {
                sandbox_unref(sb);
                return -ENOMEM;
            }
            ctx->v = nv, ctx->cap = nc;
        }
        ctx->v[ctx->n++] = sb;
        return 0;
    }
    if (r->disk_slot >= 0 && disk_adopt(r->disk_slot, &err) < 0) {
        log_warn("sandbox %s: %s", r->id, err.msg);
        sb->state = SANDBOX_ERROR;
        set_state(sb, SANDBOX_ERROR, err.msg);
    } else if (s == SANDBOX_STARTED || s == SANDBOX_STARTING || s == SANDBOX_STOPPING) {
        /* SO_PEERCRED names whoever called listen() (coved), so trust the recorded pid
         * once the socket answers. */
        pid_t pid = probe_init(sb->sock) ? (pid_t)r->init_pid : 0;
        int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
        if (pidfd >= 0 && s == SANDBOX_STARTED) {
            sb->init_pid = pid;
            sb->pidfd = pidfd;
            sb->state = SANDBOX_STARTED;
            log_info("sandbox %s: still running (init pid %d)", r->id, pid);
        } else {
            if (pidfd >= 0)
                close(pidfd);
            if (pid > 0)
                kill(pid, SIGKILL);
            stop_live(sb);
            set_state(sb, SANDBOX_STOPPED, NULL);
        }
    } else {
        sb->state = s;
    }
    restore_network(sb);
    int k = registry_add(sb);
    sandbox_unref(sb);
    return k;
}

/* Session commands that init still runs (they count as activity). */
static int running_logged(struct sandbox *sb)
{
    struct ctl_msg m = {.type = CTL_PING};
    int fd = sandbox_ctl_connect(sb, NULL), k;

    if (fd < 0)
        return 0;
    k = ctl_send(fd, &m, NULL, 0, NULL, 0);
    if (k >= 0)
        k = ctl_recv(fd, &m, 2000);
    close(fd);
    return k > 0 && m.type == CTL_PONG ? m.status : 0;
}

static void sweep(void)
{
    int64_t now = now_ms();
    struct sandbox **copy;
    size_t n;

    pthread_mutex_lock(&rt.mu);
    n = rt.n;
    copy = calloc(n + 1, sizeof(*copy));
    for (size_t i = 0; copy && i < n; i++)
        copy[i] = sandbox_ref(rt.v[i]);
    pthread_mutex_unlock(&rt.mu);
    for (size_t i = 0; copy && i < n; i++) {
        struct sandbox *sb = copy[i];
        bool died = false, idle = false;

        pthread_mutex_lock(&sb->lock);
        if (sb->state == SANDBOX_STARTED && sb->pidfd >= 0) {
            struct pollfd pfd = {.fd = sb->pidfd, .events = POLLIN};
            died = poll(&pfd, 1, 0) > 0;
            idle = sb->rec.auto_stop_min > 0 && atomic_load(&sb->busy) == 0 &&
                   now - atomic_load(&sb->last_activity) >
                       (int64_t)sb->rec.auto_stop_min * rt.autostop_unit_ms;
        }
        if (died) {
            log_warn("sandbox %s: init exited unexpectedly", sb->rec.id);
            stop_live(sb);
            set_state(sb, SANDBOX_ERROR, "the sandbox's init process exited unexpectedly");
        }
        pthread_mutex_unlock(&sb->lock);
        if (idle && running_logged(sb) > 0) {
            sandbox_touch(sb); /* a session command is still running: that is activity */
            idle = false;
        }
        if (idle) {
            log_info("sandbox %s: idle for %d min, stopping", sb->rec.id, sb->rec.auto_stop_min);
            sandbox_stop(sb, NULL);
        }
        /* Auto-delete (Daytona's autoDeleteInterval): minutes after it stopped; 0 = at once. */
        pthread_mutex_lock(&sb->lock);
        bool expired = sb->state == SANDBOX_STOPPED && !sb->removed &&
                       sb->rec.auto_delete_min >= 0 &&
                       now - sb->rec.updated_at >= (int64_t)sb->rec.auto_delete_min * 60000;
        pthread_mutex_unlock(&sb->lock);
        if (expired) {
            log_info("sandbox %s: stopped for %d min, auto-deleting", sb->rec.id,
                     sb->rec.auto_delete_min);
            sandbox_delete(sb, false, NULL);
            sandbox_unref(sb);
            continue;
        }
        store_sandbox_touch(rt.st, sb->rec.id, atomic_load(&sb->last_activity));
        sandbox_unref(sb);
    }
    free(copy);
}

static void *reaper_main(void *arg)
{
    while (!__atomic_load_n(&rt.stopping, __ATOMIC_RELAXED)) {
        for (int i = 0; i < 20 && !__atomic_load_n(&rt.stopping, __ATOMIC_RELAXED); i++)
            nanosleep(&(struct timespec){0, 100000000}, NULL);
        sweep();
    }
    return NULL;
}

/* cgroup_sweep() callback: does a started sandbox own the group? (Start-up only.) */
static bool runs_in_group(const char *name, void *ud)
{
    bool found = false;

    pthread_mutex_lock(&rt.mu);
    for (size_t i = 0; i < rt.n && !found; i++)
        found = rt.v[i]->state == SANDBOX_STARTED && !strcmp(rt.v[i]->rec.id, name);
    pthread_mutex_unlock(&rt.mu);
    return found;
}

/* Rebuild the egress table for the running sandboxes, then recreate lost veths. */
static void restore_networks(void)
{
    struct cove_err e = {0};

    if (egress_restore_commit(&e) < 0)
        log_warn("egress: cannot rebuild the rules: %s", e.msg);
    pthread_mutex_lock(&rt.mu);
    for (size_t i = 0; i < rt.n; i++) {
        struct sandbox *sb = rt.v[i];
        if (!sb->reattach)
            continue;
        sb->reattach = false;
        if (attach_network(sb, &e) < 0)
            log_warn("sandbox %s: cannot restore its network: %s", sb->rec.id, e.msg);
        else
            log_info("sandbox %s: network restored", sb->rec.id);
    }
    pthread_mutex_unlock(&rt.mu);
}

int sandbox_runtime_init(const struct runtime_config *cfg, struct store *st, struct cove_err *err)
{
    char p[600];
    int r;

    snprintf(rt.state_dir, sizeof(rt.state_dir), "%s", cfg->state_dir);
    rt.uid_base = cfg->uid_base;
    rt.autostop_unit_ms = cfg->autostop_unit_ms ? cfg->autostop_unit_ms : 60000;
    rt.st = st;
    if (chmod(cfg->state_dir, 0711) < 0)
        return cove_err_errno(err, errno, "chmod %s", cfg->state_dir);
    snprintf(p, sizeof(p), "%s/run", cfg->state_dir);
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
        return cove_err_errno(err, errno, "create %s", p);
    rt.init_fd = open(cfg->init_path, O_PATH | O_CLOEXEC);
    if (rt.init_fd < 0)
        return cove_err_errno(err, errno, "cove-init binary %s", cfg->init_path);
    r = cgroup_init(cfg->cgroup_root, err);
    if (r < 0)
        return r;
    r = egress_init(cfg->net_table ? cfg->net_table : "cove",
                    cfg->net_subnet ? cfg->net_subnet : "10.77.0.0/16", st, err);
    if (r >= 0)
        r = dnsfilter_init(cfg->net_dns, err);
    if (r < 0)
        return r;
    r = seccomp_build(&rt.seccomp_fd, err);
    if (r < 0)
        return r;
    r = image_init(cfg->state_dir, err);
    if (r < 0)
        return r;
    r = disk_pool_init(cfg->state_dir, COVE_DEFAULT_DISK_MIB, cfg->disk_warm, lay_out_disk, err);
    if (r < 0)
        return r;
    struct restore_ctx ctx = {0};
    r = store_sandbox_list(st, NULL, NULL, NULL, 0, NULL, 0, restore_one, &ctx);
    finish_interrupted(&ctx);
    if (r < 0)
        return cove_err_errno(err, -r, "restore sandboxes");
    restore_networks();
    disk_pool_sweep();
    /* Groups no running sandbox owns: pre-started inits of the earlier run (pool-N) and
     * whatever a crash in the middle of creating or renaming a group left. */
    r = cgroup_sweep(runs_in_group, NULL);
    if (r > 0)
        log_info("removed %d cgroups left by an earlier run", r);
    snprintf(p, sizeof(p), "%s/run", cfg->state_dir);
    spawn_pool_start(p, cfg->init_warm, rt.init_fd, rt.seccomp_fd);
    teardown_start();
    pthread_create(&rt.reaper, NULL, reaper_main, NULL);
    return 0;
}

void sandbox_runtime_shutdown(void)
{
    __atomic_store_n(&rt.stopping, true, __ATOMIC_RELAXED);
    pthread_join(rt.reaper, NULL);
    teardown_stop(); /* after the reaper, whose auto-deletes queue teardowns */
    spawn_pool_stop();
    disk_pool_stop();
    egress_shutdown();
}

void sandbox_runtime_counts(struct runtime_counts *ret)
{
    memset(ret, 0, sizeof(*ret));
    pthread_mutex_lock(&rt.mu);
    ret->sandboxes = rt.n;
    for (size_t i = 0; i < rt.n; i++)
        ret->running += rt.v[i]->state == SANDBOX_STARTED;
    pthread_mutex_unlock(&rt.mu);
    cgroup_ops()->count_sandboxes(&ret->cgroups);
    ret->disks = disk_count_mounted();
}

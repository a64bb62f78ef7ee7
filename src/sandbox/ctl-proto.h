/* Wire format between coved and cove-init (PID 1 of each sandbox).
 *
 * Transport: a SOCK_SEQPACKET unix socket. coved creates and binds the listening socket at
 * <state>/run/<id>.sock before the sandbox starts and hands it to cove-init, so coved can
 * reconnect after a restart. Each request opens its own connection; one message carries one
 * struct ctl_msg followed by `payload_len` bytes, and file descriptors travel as SCM_RIGHTS.
 *
 * SPAWN   coved -> init  payload: cwd\0 argv[0]\0 ... argv[argc-1]\0 env[0]\0 ... env[envc-1]\0
 *                        fds: stdin, stdout, stderr [, cgroup.procs of the exec cgroup]
 *         init -> coved  SPAWNED {pid} then, when it exits, EXITED {status}
 *                        or ERROR {err = errno, stage} if it could not start.
 * SPAWN with CTL_F_LOG (session commands): fds are stdin, stdout log file, stderr log file,
 *         cgroup.procs, status file. init runs the command on pipes it reads itself, appends
 *         up to CTL_LOG_CAP bytes per stream to the log files (opened by coved on the host),
 *         and writes {"exit_code":N,"signal":S} to the status file when the command exits.
 *         Everything is owned by init, so the command and its logs outlive coved. `status`
 *         is a timeout in ms (0 = none); at it init SIGKILLs the command's process group and
 *         adds "timed_out":true to the status.
 * INPUT   coved -> init  {pid} payload: bytes for the stdin of a CTL_F_STDIN_PIPE command;
 *         CTL_F_EOF closes it. Reply OK {status = bytes taken} or ERROR.
 * SIGNAL  coved -> init  {pid, sig}: kill(-pid (its process group), sig); reply OK/ERROR.
 * PING    coved -> init  reply PONG {pid = init's pid, status = running logged commands}.
 * READY/ERROR are also written once to the status pipe at start-up.
 *
 * Every field is fixed-size so both sides can validate a message with one length check. */
#pragma once

#include <stdint.h>

#define CTL_MAGIC            0x65766f63u /* "cove" */
#define CTL_MAX_PAYLOAD      (COVE_CTL_MAX_PAYLOAD)
#define COVE_CTL_MAX_PAYLOAD (1200u * 1024)
#define CTL_MAX_FDS          6

enum ctl_type {
    CTL_SPAWN = 1,
    CTL_SIGNAL = 2,
    CTL_PING = 3,
    CTL_INPUT = 4,
    CTL_READY = 100,
    CTL_SPAWNED = 101,
    CTL_EXITED = 102,
    CTL_ERROR = 103,
    CTL_PONG = 104,
    CTL_OK = 105,
};

/* SPAWN flags */
#define CTL_F_CGROUP_FD  (1u << 0) /* a 4th fd: cgroup.procs to join before exec */
#define CTL_F_DETACHED   (1u << 1) /* keep running if the connection closes */
#define CTL_F_AS_ROOT    (1u << 2) /* run as uid 0 of the sandbox (never for user code) */
#define CTL_F_PTY        (1u << 3) /* stdin is a pty slave: make it the controlling tty */
#define CTL_F_LOG        (1u << 4) /* init copies output into log files (see above) */
#define CTL_F_STDIN_PIPE (1u << 5) /* with CTL_F_LOG: stdin is a pipe fed by INPUT */
#define CTL_F_EOF        (1u << 6) /* INPUT: close stdin after the data */

/* SPAWN: run the command under a reaper process: a child subreaper that owns the command's
 * whole process tree. When the command exits, or when the reaper gets SIGTERM (a timeout), it
 * kills every remaining descendant, setsid()ed and double-forked ones included, and then
 * exits with the command's own wait status. No cgroup migration is needed for this. */
#define CTL_F_REAPER (1u << 7)

/* Per-stream cap of a logged command's output; beyond it output is read and dropped. */
#define CTL_LOG_CAP (64u << 20)

/* ERROR stages */
enum ctl_stage {
    CTL_STAGE_PROTO = 1,
    CTL_STAGE_FORK,
    CTL_STAGE_CGROUP,
    CTL_STAGE_CWD,
    CTL_STAGE_CREDS,
    CTL_STAGE_EXEC,
    CTL_STAGE_SETUP,
};

struct ctl_msg {
    uint32_t magic;
    uint32_t type;
    uint32_t flags;
    int32_t pid;    /* pid inside the sandbox */
    int32_t status; /* wait status (EXITED) or signal number (SIGNAL) */
    int32_t err;    /* positive errno (ERROR) */
    int32_t stage;  /* enum ctl_stage (ERROR) */
    uint32_t argc;
    uint32_t envc;
    uint32_t payload_len;
    char text[256]; /* human-readable detail for ERROR */
};

/* Start-up configuration, written by coved to a pipe read by cove-init at fd CTL_FD_CONFIG. */
struct ctl_init_config {
    uint32_t magic;
    uint32_t user_uid; /* uid/gid of the sandbox user, inside the sandbox */
    uint32_t user_gid;
    uint32_t shm_mib;
    char hostname[64];
    char lower[512];     /* image skeleton (read-only lower layer of /) */
    char disk[512];      /* mounted sandbox disk: upper/, work/, mnt/ live here */
    char usr_lower[256]; /* host directory providing /usr */
};

/* Where on the sandbox's disk coved puts its device nodes (null, zero, full, random,
 * urandom, tty), which cove-init binds into /dev. */
#define SPAWN_DEVICES_DIR "dev"

/* File descriptors cove-init finds at start. */
#define CTL_FD_CONFIG  3
#define CTL_FD_STATUS  4
#define CTL_FD_LISTEN  5
#define CTL_FD_SECCOMP 6

/* The spawner (`cove-init --spawner PPID`, src/init/init-spawner.c; coved's side is
 * src/sandbox/spawner.c): coved sends a spawner_req with SPAWN_N_FDS descriptors
 * (SCM_RIGHTS, in SPAWN_FD_* order) on a SOCK_SEQPACKET socket at the spawner's fd 3; the
 * spawner clones an init (CLONE_PARENT: coved's child) and answers a spawner_reply with
 * the init's pidfd. The clone finds the descriptors at CTL_FD_CONFIG + SPAWN_FD_*. */
enum {
    SPAWN_FD_CONFIG,
    SPAWN_FD_STATUS,
    SPAWN_FD_CTL,
    SPAWN_FD_SECCOMP,
    SPAWN_FD_GO, /* one byte from coved once the uid map and cgroups are in place */
    SPAWN_FD_INIT,
    SPAWN_N_FDS
};
#define SPAWNER_MAGIC 0x636f7665u /* "cove" */
struct spawner_req {
    uint32_t magic;
    uint64_t flags; /* CLONE_NEW* */
};
struct spawner_reply {
    uint32_t magic;
    int32_t pid; /* or -errno */
};

/* The one SQLite connection behind struct store: opening, pragmas, the lock, statement and
 * transaction helpers, and the mapping from sqlite result codes to -errno and messages.
 *
 * The connection is opened SQLITE_OPEN_NOMUTEX because st->lock already serialises every use
 * of it; sqlite3_errmsg() is only meaningful under that lock for the same reason. SQLite opens
 * its files (database, -wal, -shm) with O_CLOEXEC, and gives -wal/-shm the mode of the main
 * file, which store_open() creates 0600. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/log.h"
#include "store-internal.h"

struct store *store_lock(struct store *st)
{
    pthread_mutex_lock(&st->lock);
    return st;
}

void store_unlockp(struct store **stp)
{
    if (*stp)
        pthread_mutex_unlock(&(*stp)->lock);
}

/* sqlite result -> errno. BUSY is -EAGAIN rather than -EBUSY: -EBUSY means "conflict with the
 * resource's state" to the API layer (409), while a locked database is a server-side fault. */
int db_errno(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return -EEXIST;
    case SQLITE_IOERR_NOMEM:
        return -ENOMEM;
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EUCLEAN;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EAGAIN;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EPERM;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return -EINVAL;
    default:
        return -EIO;
    }
}

int store_err(int r, struct cove_err *err)
{
    switch (-r) {
    case ENOSPC:
        return cove_err_set(err, r, "state database is full (disk full?)");
    case EUCLEAN:
        return cove_err_set(err, r, "state database is corrupt");
    case EAGAIN:
        return cove_err_set(err, r, "state database is busy (locked by another process?)");
    case EROFS:
        return cove_err_set(err, r, "state database is read-only");
    case EIO:
        return cove_err_set(err, r, "state database I/O error");
    default:
        return cove_err_errno(err, r, "state database operation failed");
    }
}

int db_fail(struct store *st, int rc, struct cove_err *err)
{
    int r = db_errno(rc);
    const char *detail = sqlite3_errstr(rc);

    if (r == 0)
        r = -EIO; /* a caller saw an unexpected SQLITE_ROW/DONE: still a failure */
    if (st && st->db && sqlite3_extended_errcode(st->db) == rc)
        detail = sqlite3_errmsg(st->db);
    log_debug("store: sqlite error %d: %s", rc, detail);
    if (r == -ENOSPC || r == -EUCLEAN)
        return store_err(r, err);
    return cove_err_set(err, r, "state database error: %s", detail);
}

int db_prepare(struct store *st, const char *sql, sqlite3_stmt **ret)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, ret, NULL);
    if (rc != SQLITE_OK)
        return db_fail(st, rc, NULL);
    return 0;
}

int db_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
    int rc = text ? sqlite3_bind_text(s, idx, text, -1, SQLITE_STATIC) : sqlite3_bind_null(s, idx);
    return rc == SQLITE_OK ? 0 : db_errno(rc);
}

int db_bind_i64(sqlite3_stmt *s, int idx, int64_t v)
{
    int rc = sqlite3_bind_int64(s, idx, v);
    return rc == SQLITE_OK ? 0 : db_errno(rc);
}

int db_step(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return SQLITE_ROW;
    if (rc == SQLITE_DONE)
        return 0;
    return db_fail(st, rc, NULL);
}

int db_query(struct store *st, const char *sql, const char *a1, const char *a2, sqlite3_stmt **ret)
{
    int r;

    r = db_prepare(st, sql, ret);
    if (r < 0)
        return r;
    if (a1 && (r = db_bind_text(*ret, 1, a1)) < 0)
        return r;
    if (a2 && (r = db_bind_text(*ret, 2, a2)) < 0)
        return r;
    return db_step(st, *ret);
}

int db_query_row(struct store *st, const char *sql, const char *a1, const char *a2,
                 sqlite3_stmt **ret)
{
    int r = db_query(st, sql, a1, a2, ret);

    if (r < 0)
        return r;
    return r == SQLITE_ROW ? 0 : -EIO;
}

int db_collect(struct store *st, const char *sql, const char *a1, const char *a2, size_t elem_size,
               void (*row)(sqlite3_stmt *s, void *elem), void **ret, size_t *ret_n)
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    _cleanup_free_ char *v = NULL;
    size_t n = 0, alloc = 0;
    int r;

    r = db_query(st, sql, a1, a2, &s);
    for (; r == SQLITE_ROW; r = db_step(st, s)) {
        if (n == alloc) {
            size_t na = alloc ? alloc * 2 : 16;
            char *nv = reallocarray(v, na, elem_size);
            if (!nv)
                return -ENOMEM;
            v = nv;
            alloc = na;
        }
        row(s, v + n++ * elem_size);
    }
    if (r < 0)
        return r;
    *ret = TAKE_PTR(v);
    *ret_n = n;
    return 0;
}

int db_exec(struct store *st, const char *sql)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(st, rc, NULL);
    return 0;
}

void db_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(s, col) : 0;

    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

int db_col_strdup(sqlite3_stmt *s, int col, char **ret)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    char *p;

    if (!t) {
        *ret = NULL;
        return 0;
    }
    p = strndup((const char *)t, (size_t)sqlite3_column_bytes(s, col));
    if (!p)
        return -ENOMEM;
    *ret = p;
    return 0;
}

int db_txn_begin(struct store *st, struct store **txn)
{
    int r = db_exec(st, "BEGIN IMMEDIATE");
    if (r < 0)
        return r;
    *txn = st;
    return 0;
}

int db_txn_commit(struct store **txn)
{
    int r = db_exec(*txn, "COMMIT");
    if (r < 0)
        return r;
    *txn = NULL;
    return 0;
}

void db_rollback(struct store *st)
{
    /* Fails harmlessly if SQLite already rolled back on its own (e.g. after SQLITE_FULL). */
    if (!sqlite3_get_autocommit(st->db))
        (void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void db_txn_rollbackp(struct store **stp)
{
    if (*stp)
        db_rollback(*stp);
}

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store_random(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t k = getrandom(p, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

void store_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

bool store_str_fits(const char *s, size_t cap)
{
    return s && s[0] && strnlen(s, cap) < cap;
}

/* Run one pragma; journal_mode reports the resulting mode as a row, which we only log (WAL is
 * refused on some file systems, and rollback journaling is still correct, only slower). */
static int set_pragma(struct store *st, const char *sql, struct cove_err *err)
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int rc;

    rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return db_fail(st, rc, err);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        log_debug("store: %s -> %s", sql, (const char *)sqlite3_column_text(s, 0));
    if (rc != SQLITE_DONE)
        return db_fail(st, rc, err);
    return 0;
}

/* Cheap structural check at startup, so a damaged file is reported once, clearly, instead
 * of surfacing later as random request failures. The state database is small. */
static int quick_check(struct store *st, struct cove_err *err)
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    const char *res;
    int rc;

    rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check(1)", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return db_fail(st, rc, err);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_fail(st, rc, err);
    res = (const char *)sqlite3_column_text(s, 0);
    if (!res || strcmp(res, "ok") != 0) {
        log_debug("store: quick_check: %s", res ? res : "(null)");
        return store_err(-EUCLEAN, err);
    }
    return 0;
}

/* Create the file ourselves so it is born 0600 (SQLite would use 0644 minus umask). An
 * existing file keeps its mode. */
static int create_file(const char *path, struct cove_err *err)
{
    _cleanup_close_ int fd = -EBADF;

    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        return cove_err_errno(err, errno, "cannot open state database %s", path);
    return 0;
}

static int open_db(struct store *st, const char *path, struct cove_err *err)
{
    static const char *const pragmas[] = {
        "PRAGMA busy_timeout=5000", /* first, so the WAL switch below may wait */
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
    };
    int rc, r;

    rc = sqlite3_open_v2(path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (db_errno(rc) == -ENOSPC || db_errno(rc) == -EUCLEAN)
            return store_err(db_errno(rc), err);
        return cove_err_set(err, db_errno(rc), "cannot open state database %s: %s", path,
                            st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
    }
    sqlite3_extended_result_codes(st->db, 1);
    for (size_t i = 0; i < ELEMENTSOF(pragmas); i++) {
        if (st->in_memory && strstr(pragmas[i], "journal_mode"))
            continue;
        r = set_pragma(st, pragmas[i], err);
        if (r < 0)
            return r;
    }
    if (!st->in_memory) {
        r = quick_check(st, err);
        if (r < 0)
            return r;
    }
    return store_migrate(st, err);
}

int store_open(const char *path, struct store **ret, struct cove_err *err)
{
    struct store *st;
    int r;

    if (!path || !ret)
        return cove_err_set(err, -EINVAL, "no state database path");
    st = calloc(1, sizeof(*st));
    if (!st)
        return cove_err_set(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&st->lock, NULL);
    st->in_memory = path[0] == '\0' || strcmp(path, ":memory:") == 0;

    if (!st->in_memory) {
        r = create_file(path, err);
        if (r < 0) {
            store_close(st);
            return r;
        }
    }
    r = open_db(st, path, err);
    if (r < 0) {
        store_close(st);
        return r;
    }
    *ret = st;
    return 0;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    /* All statements are finalised by their scopes, so a plain close cannot be left busy. */
    if (st->db)
        sqlite3_close(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

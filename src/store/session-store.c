/* Sessions and session commands: rows only; output and status are files (exec/session.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-internal.h"

int store_session_insert(struct store *st, const struct session_rec *r)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k = db_prepare(st,
                       "INSERT INTO sessions (sandbox_id, id, cgroup_n, created_at) "
                       "VALUES (?1, ?2, ?3, ?4)",
                       &s);
    if (k < 0)
        return k;
    db_bind_text(s, 1, r->sandbox_id);
    db_bind_text(s, 2, r->id);
    db_bind_i64(s, 3, r->cgroup_n);
    db_bind_i64(s, 4, r->created_at);
    k = db_step(st, s);
    return k == -EEXIST || k == -EADDRINUSE ? -EEXIST : (k < 0 ? k : 0);
}

/* Also a db_collect() row callback. */
static void session_row(sqlite3_stmt *s, void *elem)
{
    struct session_rec *r = elem;

    db_col_copy(s, 0, r->sandbox_id, sizeof(r->sandbox_id));
    db_col_copy(s, 1, r->id, sizeof(r->id));
    r->cgroup_n = sqlite3_column_int64(s, 2);
    r->created_at = sqlite3_column_int64(s, 3);
}

int store_session_get(struct store *st, const char *sandbox_id, const char *id,
                      struct session_rec *ret)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k = db_query(st,
                     "SELECT sandbox_id, id, cgroup_n, created_at FROM sessions "
                     "WHERE sandbox_id = ?1 AND id = ?2",
                     sandbox_id, id, &s);
    if (k < 0)
        return k;
    if (k != SQLITE_ROW)
        return -ENOENT;
    session_row(s, ret);
    return 0;
}

int store_session_list(struct store *st, const char *sandbox_id,
                       int (*cb)(const struct session_rec *r, void *ud), void *ud)
{
    _cleanup_free_ struct session_rec *v = NULL;
    size_t n = 0;
    int k;

    {
        STORE_LOCK(st);
        k = db_collect(st,
                       "SELECT sandbox_id, id, cgroup_n, created_at FROM sessions "
                       "WHERE sandbox_id = ?1 ORDER BY created_at, id",
                       sandbox_id, NULL, sizeof(*v), session_row, (void **)&v, &n);
    }
    for (size_t i = 0; k >= 0 && i < n; i++)
        k = cb(&v[i], ud);
    return k < 0 ? k : 0;
}

int store_session_delete(struct store *st, const char *sandbox_id, const char *id)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *a = NULL, *b = NULL;
    int k = db_query(st, "DELETE FROM session_commands WHERE sandbox_id = ?1 AND session_id = ?2",
                     sandbox_id, id, &a);
    if (k < 0)
        return k;
    k = db_query(st, "DELETE FROM sessions WHERE sandbox_id = ?1 AND id = ?2", sandbox_id, id, &b);
    if (k < 0)
        return k;
    return sqlite3_changes(st->db) ? 0 : -ENOENT;
}

int store_command_insert(struct store *st, const struct command_rec *r)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k = db_prepare(st,
                       "INSERT INTO session_commands (id, sandbox_id, session_id, command, async, "
                       "pid, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       &s);
    if (k < 0)
        return k;
    db_bind_text(s, 1, r->id);
    db_bind_text(s, 2, r->sandbox_id);
    db_bind_text(s, 3, r->session_id);
    db_bind_text(s, 4, r->command);
    db_bind_i64(s, 5, r->async);
    db_bind_i64(s, 6, r->pid);
    db_bind_i64(s, 7, r->started_at);
    k = db_step(st, s);
    return k < 0 ? k : 0;
}

static int command_row(sqlite3_stmt *s, struct command_rec *r)
{
    db_col_copy(s, 0, r->id, sizeof(r->id));
    db_col_copy(s, 1, r->sandbox_id, sizeof(r->sandbox_id));
    db_col_copy(s, 2, r->session_id, sizeof(r->session_id));
    r->async = sqlite3_column_int64(s, 4) != 0;
    r->pid = sqlite3_column_int64(s, 5);
    r->started_at = sqlite3_column_int64(s, 6);
    return db_col_strdup(s, 3, &r->command);
}

#define COMMAND_COLS "id, sandbox_id, session_id, command, async, pid, started_at"

int store_command_get(struct store *st, const char *sandbox_id, const char *id,
                      struct command_rec *ret)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k = db_query(st,
                     "SELECT " COMMAND_COLS " FROM session_commands "
                     "WHERE sandbox_id = ?1 AND id = ?2",
                     sandbox_id, id, &s);
    if (k < 0)
        return k;
    if (k != SQLITE_ROW)
        return -ENOENT;
    return command_row(s, ret);
}

int store_command_list(struct store *st, const char *sandbox_id, const char *session_id,
                       int (*cb)(const struct command_rec *r, void *ud), void *ud)
{
    struct command_rec *v = NULL;
    size_t n = 0;
    int k;

    {
        STORE_LOCK(st);
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        k = db_prepare(st,
                       "SELECT " COMMAND_COLS " FROM session_commands "
                       "WHERE sandbox_id = ?1 AND session_id = ?2 ORDER BY started_at, rowid",
                       &s);
        if (k < 0)
            return k;
        db_bind_text(s, 1, sandbox_id);
        db_bind_text(s, 2, session_id);
        while ((k = db_step(st, s)) == SQLITE_ROW) {
            struct command_rec *nv = realloc(v, (n + 1) * sizeof(*v));
            if (!nv) {
                k = -ENOMEM;
                break;
            }
            v = nv;
            if (command_row(s, &v[n]) < 0) {
                k = -ENOMEM;
                break;
            }
            n++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (k >= 0)
            k = cb(&v[i], ud);
        free(v[i].command);
    }
    free(v);
    return k < 0 ? k : 0;
}

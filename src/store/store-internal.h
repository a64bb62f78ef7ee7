/* Private plumbing shared by the src/store/ files: the connection object, its lock, and thin
 * helpers over the sqlite3 statement API.
 *
 * Locking contract: every public store_* function takes st->lock exactly once (through
 * STORE_LOCK) for the whole of its database work, and never calls another public store_*
 * function while holding it (the mutex is not recursive). Callbacks handed to list functions
 * run after the lock is released, so they may call back into the store.
 *
 * Error contract: db_* helpers return 0 / SQLITE_ROW as documented, or a negative errno made
 * by db_errno() from the sqlite result code (see the table in db.c). */
#pragma once

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/cleanup.h"
#include "base/err.h"
#include "store.h"

struct store {
    sqlite3 *db;
    pthread_mutex_t lock;
    bool in_memory;
};

/* Lock st for the rest of the enclosing scope. Declare before any statement variable so the
 * statement is finalised (cleanups run in reverse order) before the lock is dropped. */
struct store *store_lock(struct store *st);
void store_unlockp(struct store **stp);
#define STORE_LOCK(st)                                                                             \
    _cleanup_(store_unlockp) __attribute__((unused)) struct store *_store_locked_ = store_lock(st)

static inline void sqlite3_finalizep(sqlite3_stmt **s)
{
    if (*s)
        sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* Map a sqlite primary/extended result code to a negative errno. */
int db_errno(int rc);
/* As db_errno(), also filling err (may be NULL) with a message that names the state database;
 * "full" and "corrupt" get fixed, user-facing wording. Logs the sqlite detail at debug. */
int db_fail(struct store *st, int rc, struct cove_err *err);

/* Prepare one statement (the SQL text must be a single statement). */
int db_prepare(struct store *st, const char *sql, sqlite3_stmt **ret);
/* Bind helpers; text NULL binds SQL NULL. Indices start at 1. */
int db_bind_text(sqlite3_stmt *s, int idx, const char *text);
int db_bind_i64(sqlite3_stmt *s, int idx, int64_t v);
/* Step once: SQLITE_ROW (> 0) when a row is available, 0 when done, -errno on failure. */
int db_step(struct store *st, sqlite3_stmt *s);
/* Prepare sql into *ret, bind the text parameters ?1 = a1 and ?2 = a2 (each only when not
 * NULL: a statement with fewer parameters passes NULL) and step once. Returns as db_step():
 * SQLITE_ROW with the row in *ret, 0 when there is none, or -errno. */
int db_query(struct store *st, const char *sql, const char *a1, const char *a2, sqlite3_stmt **ret);
/* As db_query() for a statement that always yields a row (counts, aggregates, pragmas): 0 with
 * the row in *ret; no row at all is -EIO. */
int db_query_row(struct store *st, const char *sql, const char *a1, const char *a2,
                 sqlite3_stmt **ret);
/* Read every row of sql (text parameters ?1 = a1 and ?2 = a2 as with db_query()) into a
 * malloc'd array of elem_size elements, each filled by row(); for listings that hand the rows
 * to a callback after the lock is released. *ret (caller frees) and *ret_n are set on success. */
int db_collect(struct store *st, const char *sql, const char *a1, const char *a2, size_t elem_size,
               void (*row)(sqlite3_stmt *s, void *elem), void **ret, size_t *ret_n);
/* Run SQL (may contain several statements) that returns no rows we care about. */
int db_exec(struct store *st, const char *sql);

/* Copy a text column into a fixed buffer, truncating; NULL becomes "". */
void db_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap);
/* strdup() a text column; *ret is NULL for SQL NULL. -ENOMEM on allocation failure. */
int db_col_strdup(sqlite3_stmt *s, int col, char **ret);

/* Transactions, used as
 *     _cleanup_txn_ struct store *txn = NULL;
 *     r = db_txn_begin(st, &txn);  ...  r = db_txn_commit(&txn);
 * so every early return rolls back. Begin takes the write lock up front (BEGIN IMMEDIATE)
 * so a writer never fails half-way with SQLITE_BUSY on lock upgrade. Commit clears *txn
 * only on success; a failed COMMIT is rolled back by the cleanup. */
int db_txn_begin(struct store *st, struct store **txn);
int db_txn_commit(struct store **txn);
void db_rollback(struct store *st);
void db_txn_rollbackp(struct store **stp);
#define _cleanup_txn_ _cleanup_(db_txn_rollbackp)

/* Wall clock in ms since the epoch. */
int64_t store_now_ms(void);
/* Fill buf with n random bytes from getrandom(2). */
int store_random(void *buf, size_t n);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void store_hex(const unsigned char *in, size_t n, char *out);
/* True if s is non-NULL, non-empty and fits (with its NUL) in cap bytes. */
bool store_str_fits(const char *s, size_t cap);

/* migrate.c: bring the schema to the newest version. */
int store_migrate(struct store *st, struct cove_err *err);

/* org-store.c: INSERT OR IGNORE the org with default quota; caller holds the lock. */
int store_org_ensure_locked(struct store *st, const char *org_id, const struct org_quota *q);

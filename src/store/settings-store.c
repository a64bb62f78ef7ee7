/* Daemon-level key/value settings (the settings table): small strings such as an install id
 * or the bootstrap state, never secrets in clear. */
#include <errno.h>
#include <string.h>

#include "store-internal.h"

/* Copy the value of key into buf (NUL-terminated). Returns its length, -ENOENT if unset, or
 * -ENOBUFS if it does not fit in cap bytes (buf is then left untouched). */
int store_setting_get(struct store *st, const char *key, char *buf, size_t cap)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    const unsigned char *v;
    size_t n;
    int r;

    if (!key || !buf)
        return -EINVAL;
    r = db_query(st, "SELECT value FROM settings WHERE key = ?1", key, NULL, &s);
    if (r < 0)
        return r;
    if (r != SQLITE_ROW)
        return -ENOENT;
    v = sqlite3_column_text(s, 0);
    n = v ? (size_t)sqlite3_column_bytes(s, 0) : 0;
    if (n >= cap || n > INT32_MAX)
        return -ENOBUFS;
    if (n)
        memcpy(buf, v, n);
    buf[n] = '\0';
    return (int)n;
}

/* Insert or replace; value NULL deletes the setting (not an error if it was unset). */
int store_setting_set(struct store *st, const char *key, const char *value)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    if (!key || !key[0])
        return -EINVAL;
    r = db_prepare(st,
                   value ? "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                         : "DELETE FROM settings WHERE key = ?1",
                   &s);
    if (r < 0)
        return r;
    if ((r = db_bind_text(s, 1, key)) < 0 || (value && (r = db_bind_text(s, 2, value)) < 0))
        return r;
    r = db_step(st, s);
    return r < 0 ? r : 0;
}

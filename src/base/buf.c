/* struct buf: a capped, NUL-terminated growable buffer. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap)
{
    b->data = NULL;
    b->len = b->alloc = 0;
    b->cap = cap;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int grow(struct buf *b, size_t need)
{
    size_t want;
    char *p;

    if (need + 1 <= b->alloc)
        return 0;
    want = b->alloc ? b->alloc : 256;
    while (want < need + 1)
        want *= 2;
    if (want > b->cap + 1)
        want = b->cap + 1;
    p = realloc(b->data, want);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->alloc = want;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int r;

    if (n > b->cap - b->len)
        return -E2BIG;
    r = grow(b, b->len + n);
    if (r < 0)
        return r;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

size_t buf_append_upto(struct buf *b, const void *p, size_t n)
{
    size_t room = b->cap - b->len;

    if (n > room)
        n = room;
    if (n == 0 || buf_append(b, p, n) < 0)
        return 0;
    return n;
}

int buf_appendf(struct buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return buf_append(b, small, (size_t)n);

    char *big = malloc((size_t)n + 1);
    if (!big)
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int r = buf_append(b, big, (size_t)n);
    free(big);
    return r;
}

char *buf_steal(struct buf *b, size_t *ret_len)
{
    char *p = b->data;

    if (!p) {
        p = strdup("");
        if (!p)
            return NULL;
    }
    if (ret_len)
        *ret_len = b->len;
    b->data = NULL;
    b->len = b->alloc = 0;
    return p;
}

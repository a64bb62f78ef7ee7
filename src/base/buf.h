/* Growable byte buffer with a hard cap fixed at init. Appends past the cap fail with
 * -E2BIG and leave the buffer unchanged; the data is always NUL-terminated. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap;
};

void buf_init(struct buf *b, size_t cap);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append at most what still fits; returns the number of bytes taken. */
size_t buf_append_upto(struct buf *b, const void *p, size_t n);
/* Detach the data (caller frees); the buffer is left empty. */
char *buf_steal(struct buf *b, size_t *ret_len);

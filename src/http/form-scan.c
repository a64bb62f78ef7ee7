/* Feed splitter for MHD's multipart/form-data post processor.
 *
 * Why: at the start of each part's value MHD's post processor calls its iterator once even
 * when the bytes it holds cannot be decided yet (at most ~boundary length + 4 of them): it then
 * reports a zero-length piece at offset 0, and the data follows at offset 0 again. Our
 * contract (http_part_fn) promises a zero-length piece only for empty parts. So this scanner
 * follows the raw stream (delimiter "\r\n--boundary", then the part headers up to
 * "\r\n\r\n", then the value) and never lets a feed end 1..threshold-1 bytes into a value:
 * those bytes are held back and go out with the next piece. When MHD first looks at a value
 * it therefore holds either at least `threshold` bytes of it or the whole closing delimiter,
 * and a zero-length piece really means an empty part.
 *
 * Invariants: the pieces handed to feed() concatenate to exactly the input; at most
 * threshold - 1 bytes are held between calls; http_form_scan_flush() hands them over at the
 * end of the body. The boundary is parsed exactly as MHD 0.9.75 does. Bodies with bare-LF
 * line ends are passed through unchanged, only without the guarantee. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http-internal.h"

#define FORM_DATA "multipart/form-data"

int http_form_scan_init(struct http_form_scan *s, const char *content_type)
{
    const char *b;
    size_t blen;

    *s = (struct http_form_scan){0};
    if (!content_type || strncasecmp(content_type, FORM_DATA, strlen(FORM_DATA)) != 0)
        return -EINVAL;
    b = strstr(content_type + strlen(FORM_DATA), "boundary=");
    if (!b)
        return -EINVAL;
    b += strlen("boundary=");
    blen = strlen(b);
    if (blen >= 2 && b[0] == '"' && b[blen - 1] == '"') {
        b++;
        blen -= 2;
    }
    if (blen == 0 || blen > HTTP_PP_BUFFER / 2 || strpbrk(b, "\r\n"))
        return -EINVAL;

    s->delim_len = 4 + blen;
    s->threshold = blen + 6;
    s->delim = malloc(s->delim_len);
    s->held = malloc(s->threshold);
    s->stage = malloc(2 * s->threshold);
    if (!s->delim || !s->held || !s->stage) {
        http_form_scan_done(s);
        return -ENOMEM;
    }
    memcpy(s->delim, "\r\n--", 4);
    memcpy(s->delim + 4, b, blen);
    s->delim_pos = 2; /* the body may open with "--boundary", no CRLF before it */
    s->state = HTTP_FORM_OUTSIDE;
    return 0;
}

void http_form_scan_done(struct http_form_scan *s)
{
    free(s->delim);
    free(s->held);
    free(s->stage);
    *s = (struct http_form_scan){0};
}

static bool scan_safe(const struct http_form_scan *s)
{
    return s->state != HTTP_FORM_VALUE || s->value_bytes == 0 || s->value_bytes >= s->threshold;
}

/* Advance the scanner over one byte. The delimiter starts with its only '\r', so falling
 * back to "just saw '\r'" on a mismatch is exact; likewise for "\r\n\r\n". */
static void scan_byte(struct http_form_scan *s, char c)
{
    if (c == s->delim[s->delim_pos]) {
        if (++s->delim_pos == s->delim_len) {
            s->state = HTTP_FORM_HEADERS;
            s->delim_pos = 0;
            s->hdr_pos = 0;
            s->value_bytes = 0;
            return;
        }
    } else {
        s->delim_pos = c == '\r';
    }

    switch (s->state) {
    case HTTP_FORM_HEADERS:
        if (c == "\r\n\r\n"[s->hdr_pos]) {
            if (++s->hdr_pos == 4) {
                s->state = HTTP_FORM_VALUE;
                s->value_bytes = 0;
                s->delim_pos = 0; /* the closing delimiter brings its own CRLF */
            }
        } else {
            s->hdr_pos = c == '\r';
        }
        break;
    case HTTP_FORM_VALUE:
        if (s->value_bytes < s->threshold)
            s->value_bytes++;
        break;
    case HTTP_FORM_OUTSIDE:
    default:
        break;
    }
}

/* Scan p[0..n); return the last position k in 1..n after which a feed may end (0: none) and
 * in *ret_first the first one. */
static size_t scan(struct http_form_scan *s, const char *p, size_t n, size_t *ret_first)
{
    size_t first = 0, last = 0;

    for (size_t i = 0; i < n; i++) {
        /* Fast path through the bulk of a value: nothing changes until the next '\r'. */
        if (s->state == HTTP_FORM_VALUE && s->value_bytes >= s->threshold && s->delim_pos == 0) {
            const char *cr = memchr(p + i, '\r', n - i);
            size_t skip = cr ? (size_t)(cr - (p + i)) : n - i;

            if (skip > 0) {
                i += skip;
                if (!first)
                    first = i;
                last = i;
                if (i == n)
                    break;
            }
        }
        scan_byte(s, p[i]);
        if (scan_safe(s)) {
            if (!first)
                first = i + 1;
            last = i + 1;
        }
    }
    *ret_first = first;
    return last;
}

int http_form_scan_push(struct http_form_scan *s, const char *p, size_t n, http_form_feed_fn feed,
                        void *userdata)
{
    size_t first, last;
    int r;

    last = scan(s, p, n, &first);
    if (s->held_len > 0) {
        if (last == 0) {
            /* Still inside the undecidable window: keep everything (stays < threshold). */
            memcpy(s->held + s->held_len, p, n);
            s->held_len += n;
            return 0;
        }
        /* held + p[0..first) ends at a safe point and is at most 2 * threshold bytes. */
        memcpy(s->stage, s->held, s->held_len);
        memcpy(s->stage + s->held_len, p, first);
        r = feed(userdata, s->stage, s->held_len + first);
        s->held_len = 0;
        if (r < 0)
            return r;
        p += first;
        n -= first;
        last -= first;
    }
    if (last > 0) {
        r = feed(userdata, p, last);
        if (r < 0)
            return r;
    }
    memcpy(s->held, p + last, n - last);
    s->held_len = n - last;
    return 0;
}

int http_form_scan_flush(struct http_form_scan *s, http_form_feed_fn feed, void *userdata)
{
    size_t n = s->held_len;

    s->held_len = 0;
    return n > 0 ? feed(userdata, s->held, n) : 0;
}

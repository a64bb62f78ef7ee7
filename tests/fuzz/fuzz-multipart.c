/* Fuzz target: the multipart feed splitter (src/http/form-scan.c), fed random chunk splits.
 *
 * Input: a boundary (up to the first NUL, at most 80 bytes), then a split seed byte, then the
 * body. The body is pushed in pieces whose sizes come from a small PRNG seeded by the input,
 * as a network would deliver it. Invariants:
 *  - the pieces handed to feed() concatenate to exactly the body (nothing lost, duplicated or
 *    reordered), and at most threshold - 1 bytes are held between pushes;
 *  - differential: every place where a piece ends, except at the very end of the body, is a
 *    safe point according to a plain byte-by-byte reference scanner written from the
 *    contract in form-scan.c (not in the middle of the first `threshold` bytes of a value),
 *    so the optimised scanner with its fast path agrees with the contract. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/http-internal.h"

#define MAX_BODY (1u << 20)

struct sink {
    char *buf;
    size_t len;
    size_t cuts[4096];
    size_t n_cuts;
};

static int feed(void *userdata, const char *p, size_t n)
{
    struct sink *s = userdata;

    FUZZ_CHECK(s->len + n <= MAX_BODY);
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    if (s->n_cuts < sizeof(s->cuts) / sizeof(s->cuts[0]))
        s->cuts[s->n_cuts++] = s->len;
    return 0;
}

/* The reference: safe[i] says whether a piece may end after i bytes of body. */
static void reference(const char *bnd, size_t blen, const char *body, size_t n, bool *safe)
{
    size_t dlen = 4 + blen, threshold = blen + 6, dpos = 2, hpos = 0, value = 0;
    char delim[128];
    enum { OUTSIDE, HEADERS, VALUE } st = OUTSIDE;

    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, bnd, blen);
    safe[0] = true;
    for (size_t i = 0; i < n; i++) {
        char c = body[i];
        bool delim_done = false;

        if (c == delim[dpos]) {
            if (++dpos == dlen) {
                st = HEADERS;
                dpos = 0;
                hpos = 0;
                value = 0;
                delim_done = true;
            }
        } else {
            dpos = c == '\r';
        }
        if (!delim_done) {
            if (st == HEADERS) {
                if (c == "\r\n\r\n"[hpos]) {
                    if (++hpos == 4) {
                        st = VALUE;
                        value = 0;
                        dpos = 0;
                    }
                } else {
                    hpos = c == '\r';
                }
            } else if (st == VALUE && value < threshold) {
                value++;
            }
        }
        safe[i + 1] = st != VALUE || value == 0 || value >= threshold;
    }
}

static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char ctype[256], body[MAX_BODY], out[MAX_BODY];
    static bool safe[MAX_BODY + 1];
    static struct sink sink;
    struct http_form_scan s;
    const uint8_t *nul = memchr(data, 0, size < 81 ? size : 81);
    size_t blen, n, off = 0;
    uint32_t seed;

    if (!nul || (size_t)(nul - data) + 2 > size)
        return 0;
    blen = (size_t)(nul - data);
    seed = 0x9e3779b9u ^ data[blen + 1];
    n = size - blen - 2;
    if (n > MAX_BODY)
        return 0;
    memcpy(body, data + blen + 2, n);
    snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%.*s", (int)blen,
             (const char *)data);
    if (http_form_scan_init(&s, ctype) < 0)
        return 0;
    /* init accepted it, so it is the boundary we scan for (quotes stripped as MHD does). */
    const char *b = strstr(ctype, "boundary=") + strlen("boundary=");
    size_t bl = strlen(b);
    if (bl >= 2 && b[0] == '"' && b[bl - 1] == '"') {
        b++;
        bl -= 2;
    }
    FUZZ_CHECK(s.threshold == bl + 6);

    sink = (struct sink){.buf = out};
    while (off < n) {
        size_t k = 1 + next(&seed) % (next(&seed) % 4 == 0 ? 4096 : 64);
        if (k > n - off)
            k = n - off;
        FUZZ_CHECK(http_form_scan_push(&s, body + off, k, feed, &sink) == 0);
        off += k;
        FUZZ_CHECK(s.held_len < s.threshold);
        FUZZ_CHECK(sink.len + s.held_len == off);
    }
    size_t before_flush = sink.n_cuts;
    FUZZ_CHECK(http_form_scan_flush(&s, feed, &sink) == 0);
    FUZZ_CHECK(sink.len == n && !memcmp(out, body, n));

    reference(b, bl, body, n, safe);
    for (size_t i = 0; i < before_flush && i < sink.n_cuts; i++)
        FUZZ_CHECK(sink.cuts[i] == n || safe[sink.cuts[i]]);
    http_form_scan_done(&s);
    return 0;
}

/* Fuzz target: the DNS parsers of the domain-allow-list resolver (src/sandbox/dnsfilter.c):
 * the question of a query, which a sandbox sends, and the A records of an answer, which the
 * upstream sends and which decide what the sandbox may reach.
 *
 * The first byte picks the parser. Invariants for a question: the name buffer is exactly
 * COVE_MAX_DOMAIN + 1 bytes (so ASan sees any write past it); a success returns an offset
 * within the packet, a non-empty lowercased name of at most COVE_MAX_DOMAIN bytes with no NUL,
 * and that name encoded back into labels is exactly the packet's question (lowercased): no
 * label can hide a dot. For an answer: at most max addresses, a TTL within the clamp, and no
 * read outside the packet (ASan). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sandbox/dnsfilter.h"

static void question(const uint8_t *d, size_t n)
{
    char *name = malloc(COVE_MAX_DOMAIN + 1);
    int off = dnsfilter_parse_question(d, n, name);

    if (off >= 0) {
        size_t len = strlen(name), pos = 12;
        FUZZ_CHECK((size_t)off <= n && len > 0 && len <= COVE_MAX_DOMAIN);
        /* Re-encode: each dot-separated part is one label of the packet. */
        for (const char *p = name;;) {
            const char *dot = strchr(p, '.');
            size_t l = dot ? (size_t)(dot - p) : strlen(p);
            FUZZ_CHECK(l > 0 && pos < n && d[pos] == l);
            for (size_t i = 0; i < l; i++) {
                char c = (char)d[pos + 1 + i];
                FUZZ_CHECK((c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) == p[i]);
            }
            pos += 1 + l;
            if (!dot)
                break;
            p = dot + 1;
        }
        FUZZ_CHECK(d[pos] == 0 && pos + 5 == (size_t)off);
    }
    free(name);
}

static void answer(const uint8_t *d, size_t n)
{
    uint32_t addrs[DNSFILTER_MAX_ADDRS], ttl = 0;
    size_t qend;

    if (n < 14)
        return;
    qend = 12 + d[0] % (n - 12); /* the end of the question, somewhere after the header */
    uint8_t *copy = malloc(n);   /* exact size, so ASan sees a read past the end */
    memcpy(copy, d, n);
    size_t k = dnsfilter_answer_addrs(copy, n, qend, addrs, DNSFILTER_MAX_ADDRS, &ttl);
    FUZZ_CHECK(k <= DNSFILTER_MAX_ADDRS);
    FUZZ_CHECK(ttl >= DNSFILTER_MIN_TTL && ttl <= DNSFILTER_MAX_TTL);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *d = malloc(size - 1 ? size - 1 : 1);
    memcpy(d, data + 1, size - 1);
    if (data[0] & 1)
        answer(d, size - 1);
    else
        question(d, size - 1);
    free(d);
    return 0;
}

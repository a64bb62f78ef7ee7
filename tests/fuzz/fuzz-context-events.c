/* Fuzz target: context_events_feed() (src/exec/context.c), which reads the JSON lines an
 * interpreter context's kernel sends. The kernel runs the sandbox's code in its own process,
 * so every byte is hostile.
 *
 * The input is split into chunks at places chosen by its first byte, as reads would split it.
 * Invariants: no crash or leak; the line buffer never holds more than its cap or a complete
 * line after a call that returned 0; the result stays within its caps (one result of at most
 * CONTEXT_MAX_RESULT_TEXT bytes, at most CONTEXT_MAX_ARTIFACTS artifacts, an error with a
 * name of at most 256 bytes); it always serialises as JSON; and feeding the same bytes in one
 * piece reaches the same verdict as feeding them in chunks. */
#include <jansson.h>
#include <string.h>

#include "exec/context.h"
#include "fuzz.h"

static int feed(const uint8_t *data, size_t size, size_t step, struct context_result *r)
{
    struct buf line;
    int v = 0;

    buf_init(&line, 1u << 20); /* smaller than the daemon's, so the cap is reachable */
    for (size_t off = 0; off < size && v == 0;) {
        size_t n = step && size - off > step ? step : size - off;
        v = context_events_feed(&line, (const char *)data + off, n, r, NULL);
        if (v == 0)
            FUZZ_CHECK(!line.len || !memchr(line.data, '\n', line.len));
        FUZZ_CHECK(line.len <= line.cap);
        off += n;
    }
    buf_free(&line);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct context_result a, b;
    size_t step = size ? (size_t)data[0] % 64 + 1 : 1;
    int va, vb;

    context_result_init(&a, 4096);
    context_result_init(&b, 4096);
    va = feed(data, size, step, &a);
    vb = feed(data, size, 0, &b);
    FUZZ_CHECK(va == vb);
    FUZZ_CHECK(va >= -1 && va <= 1);
    FUZZ_CHECK(json_array_size(a.artifacts) <= CONTEXT_MAX_ARTIFACTS);
    if (a.result) {
        json_t *t = json_object_get(a.result, "text/plain");
        FUZZ_CHECK(json_is_string(t) && json_string_length(t) <= CONTEXT_MAX_RESULT_TEXT);
    }
    if (a.error)
        FUZZ_CHECK(json_string_length(json_object_get(a.error, "name")) <= 256);
    FUZZ_CHECK(json_equal(a.result, b.result) || (!a.result && !b.result));
    json_t *j = context_result_json(&a);
    char *s = j ? json_dumps(j, 0) : NULL;
    FUZZ_CHECK(s != NULL);
    free(s);
    json_decref(j);
    context_result_done(&a);
    context_result_done(&b);
    return 0;
}

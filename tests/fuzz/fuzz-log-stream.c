/* Fuzz target: the framing of a followed command's logs as server-sent events
 * (json_sse_text_event() and json_utf8_whole() in src/json/json-util.c, as used by the
 * /v1 logs follow route in src/api/api-session.c). The bytes are whatever the sandboxed
 * command printed, so they are hostile: they must not be able to end an event early, add a
 * field or forge an "exit" event.
 *
 * The input is cut into reads at places chosen by its first byte; each read keeps back a
 * UTF-8 sequence it cut short (as the route does) and becomes one event. A reference parser
 * written from the SSE specification (lines end at LF, CR or CRLF; a blank line dispatches;
 * "field: value") then reads the stream back. Invariants: exactly one event per non-empty
 * read, each named "stdout" with one data line that is a JSON string; and for valid UTF-8
 * input the strings concatenate to exactly the input. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json/json-util.h"

/* Parse the SSE stream; append every data value (JSON-decoded) to out. Returns the number of
 * events, or -1 when an event breaks the shape above. */
static long parse(const char *s, size_t n, char **out, size_t *out_len)
{
    long events = 0;
    bool have_event = false, have_data = false;
    size_t i = 0;

    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '\n' && s[j] != '\r')
            j++;
        FUZZ_CHECK(j < n); /* every line ends */
        size_t len = j - i;
        const char *line = s + i;
        i = j + 1 + (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n');
        if (len == 0) {
            if (!have_event || !have_data)
                return -1;
            events++;
            have_event = have_data = false;
            continue;
        }
        const char *colon = memchr(line, ':', len);
        if (!colon)
            return -1;
        size_t flen = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vlen = len - flen - 1;
        if (vlen && *v == ' ')
            v++, vlen--;
        if (flen == 5 && !memcmp(line, "event", 5)) {
            if (have_event || vlen != 6 || memcmp(v, "stdout", 6))
                return -1;
            have_event = true;
        } else if (flen == 4 && !memcmp(line, "data", 4)) {
            if (have_data)
                return -1;
            json_t *str = json_loadb(v, vlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            if (!json_is_string(str)) {
                json_decref(str);
                return -1;
            }
            size_t sl = json_string_length(str);
            *out = realloc(*out, *out_len + sl + 1);
            memcpy(*out + *out_len, json_string_value(str), sl);
            *out_len += sl;
            json_decref(str);
            have_data = true;
        } else {
            return -1;
        }
    }
    return have_event || have_data ? -1 : events;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t step = size ? (size_t)data[0] % 32 + 1 : 1, cap = 64 + 3 * size * 6 + 64 * size;
    char *stream = malloc(cap), *back = NULL;
    size_t used = 0, back_len = 0, off = 0, carry = 0;
    long want = 0;

    while (off < size || carry) {
        size_t n = size - off > step ? step : size - off;
        size_t avail = carry + n, whole = json_utf8_whole((const char *)data + off - carry, avail);
        if (off + n == size)
            whole = avail; /* the end of the stream: what is left goes out as it is */
        if (whole > 0) {
            long len = json_sse_text_event(stream + used, cap - used, "stdout",
                                           (const char *)data + off - carry, whole);
            FUZZ_CHECK(len > 0);
            used += (size_t)len;
            want++;
        }
        carry = avail - whole;
        off += n;
        if (off == size && carry == 0)
            break;
    }
    long got = parse(stream, used, &back, &back_len);
    FUZZ_CHECK(got == want);
    json_t *valid = json_stringn((const char *)data, size);
    if (valid)
        FUZZ_CHECK(back_len == size && (!size || !memcmp(back, data, size)));
    json_decref(valid);
    free(back);
    free(stream);
    return 0;
}

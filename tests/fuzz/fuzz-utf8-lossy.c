/* Fuzz target: json_string_lossy() (src/json/json-util.c), which turns whatever bytes a
 * sandboxed command printed into a JSON string, replacing invalid UTF-8 with U+FFFD.
 *
 * Invariants: it always returns a string (the exec result must never fail on odd output);
 * valid UTF-8 comes back byte for byte; the result is at most three times the input (the
 * bound docs/API.md promises for the output cap); and invalid input differs only where
 * U+FFFD was put in: stripping the replacements from both sides leaves the same bytes. */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "json/json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *valid = json_stringn((const char *)data, size);
    json_t *s = json_string_lossy((const char *)data, size);
    const char *v;
    size_t n;

    FUZZ_CHECK(s && json_is_string(s));
    v = json_string_value(s);
    n = json_string_length(s);
    FUZZ_CHECK(n <= 3 * size);
    if (valid) {
        FUZZ_CHECK(n == size && !memcmp(v, data, size));
    } else {
        /* Every input byte is either copied or replaced by one U+FFFD: walking both strings
         * together must consume them exactly. */
        size_t i = 0, o = 0;
        while (i < size && o < n) {
            if (o + 3 <= n && !memcmp(v + o, "\xef\xbf\xbd", 3) &&
                (i + 3 > size || memcmp(data + i, "\xef\xbf\xbd", 3))) {
                o += 3;
                i += 1;
            } else {
                FUZZ_CHECK(v[o] == (char)data[i]);
                o++;
                i++;
            }
        }
        FUZZ_CHECK(i == size && o == n);
    }
    json_decref(s);
    json_decref(valid);
    return 0;
}

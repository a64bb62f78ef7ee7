/* Small helpers over jansson shared by every module that builds JSON. */
#include "json/json-util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *json_string_lossy(const char *data, size_t len)
{
    json_t *s = json_stringn(data, len);
    char *out;
    size_t o = 0;

    if (s || len == 0)
        return s ? s : json_string("");
    out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)data[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = n > 0 && i + n <= len;
        for (size_t j = 1; ok && j < n; j++)
            ok = ((unsigned char)data[i + j] >> 6) == 2;
        if (ok && n > 1) {
            json_t *t = json_stringn(data + i, n); /* rejects overlongs and surrogates */
            ok = t != NULL;
            json_decref(t);
        }
        if (ok && c == 0)
            ok = true;
        if (ok) {
            memcpy(out + o, data + i, n);
            o += n, i += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3, i += 1;
        }
    }
    s = json_stringn(out, o);
    free(out);
    return s;
}

json_t *json_iso_time(int64_t ms)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    char buf[40];

    gmtime_r(&sec, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(buf);
}

size_t json_utf8_whole(const char *data, size_t n)
{
    size_t i = n, cont = 0, need;
    unsigned char lead;

    while (i > 0 && cont < 3 && ((unsigned char)data[i - 1] & 0xC0) == 0x80)
        i--, cont++;
    if (i == 0)
        return n;
    lead = (unsigned char)data[i - 1];
    need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return need > 1 && cont + 1 < need ? i - 1 : n;
}

long json_sse_text_event(char *out, size_t max, const char *name, const char *data, size_t n)
{
    json_t *str = json_string_lossy(data, n);
    char *enc = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
    int len = enc ? snprintf(out, max, "event: %s\ndata: %s\n\n", name, enc) : -1;

    json_decref(str);
    free(enc);
    return len < 0 || (size_t)len >= max ? -1 : len;
}

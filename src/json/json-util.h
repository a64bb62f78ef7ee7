/* Small helpers over jansson. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* A JSON string from bytes, with invalid UTF-8 replaced by U+FFFD (jansson refuses it). */
json_t *json_string_lossy(const char *data, size_t len);
/* The length of data[0..n) without a UTF-8 sequence that the end of a read cut short, so a
 * character split across two reads is not turned into two U+FFFD. */
size_t json_utf8_whole(const char *data, size_t n);
/* One server-sent event "event: NAME\ndata: JSON-STRING\n\n" carrying the bytes as a JSON
 * string (lossy UTF-8), so that no byte of the data can end the line or forge a field. Returns
 * its length, or -1 if it does not fit in out[max]. */
long json_sse_text_event(char *out, size_t max, const char *name, const char *data, size_t n);

#include <stdint.h>
/* ISO-8601 UTC with milliseconds ("2026-11-22T04:00:00.000Z") as a JSON string. */
json_t *json_iso_time(int64_t ms);

/* Small helpers over jansson. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* A JSON string from bytes, with invalid UTF-8 replaced by U+FFFD (jansson refuses it). */
json_t *json_string_lossy(const char *data, size_t len);

#include <stdint.h>
/* ISO-8601 UTC with milliseconds ("2026-11-22T04:00:00.000Z") as a JSON string. */
json_t *json_iso_time(int64_t ms);

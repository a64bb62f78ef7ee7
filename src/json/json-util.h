/* Small helpers over jansson. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* A JSON string from bytes, with invalid UTF-8 replaced by U+FFFD (jansson refuses it). */
json_t *json_string_lossy(const char *data, size_t len);

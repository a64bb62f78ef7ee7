/* Strict number parsing: the whole string must be a number in range; no sign for unsigned,
 * no leading/trailing junk, no overflow. Returns 0 or -EINVAL / -ERANGE. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
int parse_u32_range(const char *s, uint32_t min, uint32_t max, uint32_t *ret);
int parse_bool(const char *s, bool *ret);
/* Octal file mode such as "755" or "0644"; at most 07777. */
int parse_mode(const char *s, uint32_t *ret);

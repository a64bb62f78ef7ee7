/* Random (version 4) UUIDs in their 36-character text form, for ids clients see. */
#pragma once

#define COVE_UUID_LEN 36

/* Write a new random UUID and its NUL into out. */
void cove_uuid4(char out[COVE_UUID_LEN + 1]);

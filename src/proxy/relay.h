/* The preview relay: preview-host connections on coved's TCP port, served by event-loop
 * threads instead of libmicrohttpd's thread per connection (see relay.c). */
#pragma once

struct relay_config {
    unsigned idle_timeout_s;  /* a connection with no traffic this long is closed */
    unsigned head_timeout_ms; /* a request head must be complete this long after its start */
};

int relay_start(const struct relay_config *cfg);
void relay_stop(void);
/* Take a client connection (non-blocking, nothing read yet). Returns 0: fd is ours. */
int relay_adopt(int fd);
/* http_config.divert: preview hosts go to the relay, anything else is left (returns <0). */
int relay_divert(int fd, const char *host, void *userdata);

/* WebSocket framing (RFC 6455) on a socket that http_reply_websocket handed over.
 *
 * The server side only: frames we send are unmasked; frames we receive must be masked.
 * Payloads are capped (WS_MAX_PAYLOAD); fragmented messages are delivered frame by frame.
 * ws_parse_header is pure so it can be fuzzed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_MAX_PAYLOAD (1u << 20)

enum ws_opcode {
    WS_CONT = 0x0,
    WS_TEXT = 0x1,
    WS_BINARY = 0x2,
    WS_CLOSE = 0x8,
    WS_PING = 0x9,
    WS_PONG = 0xA,
};

struct ws_header {
    bool fin;
    uint8_t opcode;
    bool masked;
    uint8_t mask[4];
    uint64_t len;
    size_t header_len; /* bytes of header consumed */
};

/* Parse a frame header from p[0..n). Returns 1 when complete (h filled), 0 when more bytes
 * are needed, -EPROTO for a malformed header (reserved bits, bad opcode, oversized control
 * frame, non-minimal or 63-bit lengths). */
int ws_parse_header(const uint8_t *p, size_t n, struct ws_header *h);

/* Send one complete frame. Returns 0 or -errno. */
int ws_send(int fd, enum ws_opcode op, const void *data, size_t len);
/* Send a close frame with a status code (and reason, may be NULL). */
int ws_send_close(int fd, uint16_t code, const char *reason);

/* Receive one frame with its payload (unmasked) into buf (cap bytes). Pings are answered
 * with pongs and not returned. Returns the opcode, 0 on timeout (timeout_ms >= 0), or
 * -EPIPE (peer closed), -EPROTO (protocol error: unmasked, oversized), -errno. */
int ws_recv(int fd, uint8_t *buf, size_t cap, size_t *ret_len, int timeout_ms);

/* Fuzz target: WebSocket framing (src/http/websocket.c), the header parser and the receive
 * loop as a client's bytes reach it.
 *
 * Input: the bytes a client sends after the upgrade. Invariants:
 *  - ws_parse_header is a pure function of the prefix it is given: a complete header parses
 *    the same from any longer prefix and reports "need more" from any shorter one; what it
 *    accepts re-encodes to exactly the bytes it consumed (minimal lengths, no reserved bits,
 *    small unfragmented control frames);
 *  - ws_recv over a socket holding the input returns only data opcodes and close, with lengths
 *    within the caller's buffer, and ends with a clean error (peer closed, protocol error,
 *    oversized frame), never a hang (the sender's side is shut down). Pings are answered. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "http/websocket.h"

#define MAX_IN (64u << 10)

static void check_header(const uint8_t *p, size_t n)
{
    struct ws_header h, h2;
    uint8_t enc[14];
    size_t e = 0;
    int r = ws_parse_header(p, n, &h);

    if (r <= 0) {
        FUZZ_CHECK(r == 0 || r == -EPROTO);
        /* "need more" must stay so for every shorter prefix (nothing decided too early). */
        for (size_t m = 0; r == 0 && m < n; m++)
            FUZZ_CHECK(ws_parse_header(p, m, &h2) == 0);
        return;
    }
    FUZZ_CHECK(h.header_len >= 2 && h.header_len <= 14 && h.header_len <= n);
    for (size_t m = 0; m < h.header_len; m++)
        FUZZ_CHECK(ws_parse_header(p, m, &h2) == 0);
    FUZZ_CHECK(ws_parse_header(p, h.header_len, &h2) == 1);
    FUZZ_CHECK(h2.len == h.len && h2.opcode == h.opcode && h2.fin == h.fin &&
               h2.masked == h.masked && h2.header_len == h.header_len);
    FUZZ_CHECK(h.opcode <= WS_BINARY || (h.opcode >= WS_CLOSE && h.opcode <= WS_PONG));
    if (h.opcode >= WS_CLOSE)
        FUZZ_CHECK(h.fin && h.len <= 125);
    /* Re-encode: the accepted header is the minimal encoding of what it says. */
    enc[e++] = (uint8_t)((h.fin ? 0x80 : 0) | h.opcode);
    if (h.len < 126) {
        enc[e++] = (uint8_t)((h.masked ? 0x80 : 0) | h.len);
    } else if (h.len <= 0xffff) {
        enc[e++] = (uint8_t)((h.masked ? 0x80 : 0) | 126);
        enc[e++] = (uint8_t)(h.len >> 8);
        enc[e++] = (uint8_t)h.len;
    } else {
        enc[e++] = (uint8_t)((h.masked ? 0x80 : 0) | 127);
        for (int i = 0; i < 8; i++)
            enc[e++] = (uint8_t)(h.len >> (56 - 8 * i));
    }
    if (h.masked) {
        memcpy(enc + e, h.mask, 4);
        e += 4;
    }
    FUZZ_CHECK(e == h.header_len && !memcmp(enc, p, e));
}

static void check_recv(const uint8_t *p, size_t n)
{
    static uint8_t buf[4096];
    int sv[2], big = 4 << 20, r;
    size_t len;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    if (n && write(sv[0], p, n) != (ssize_t)n) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    shutdown(sv[0], SHUT_WR);
    for (int frames = 0; frames < 100000; frames++) {
        len = (size_t)-1;
        r = ws_recv(sv[1], buf, sizeof(buf), &len, 0);
        if (r <= 0)
            break;
        FUZZ_CHECK(r == WS_TEXT || r == WS_BINARY || r == WS_CLOSE);
        FUZZ_CHECK(len <= sizeof(buf));
    }
    FUZZ_CHECK(r == -EPIPE || r == -EPROTO || r == -EMSGSIZE || r == -ETIMEDOUT || r == 0);
    close(sv[0]);
    close(sv[1]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN); /* as coved does: a pong to a closed peer is an error, not death */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_IN)
        return 0;
    check_header(data, size);
    check_recv(data, size);
    return 0;
}

/* bench/preview-upstream.c - the HTTP server that bench/preview.sh runs inside a sandbox.
 *
 * One thread, epoll, HTTP/1.1 keep-alive, pipelining answered in order. It is meant to cost
 * next to nothing per request, so that the benchmark measures the path to it (the preview
 * proxy, or the sandbox's loopback directly) and not the server:
 *   GET /bytes/N   N bytes of 'x' (N up to 1 GiB), Content-Length framed;
 *   anything else  the same 13-byte answer ("Hello, world\n").
 * A request body (Content-Length only; chunked uploads are refused by closing) is read and
 * thrown away, so uploads can be measured too. Replies are written with blocking writes:
 * a large one holds the loop until the reader has taken it, which is what a bandwidth row
 * wants to measure anyway.
 *
 * usage: preview-upstream PORT      (listens on 127.0.0.1:PORT; built -static by the script,
 *                                   so it runs in a sandbox whatever its image holds)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char HELLO[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n"
                            "Content-Type: text/plain\r\n\r\nHello, world\n";
#define HELLO_LEN (sizeof(HELLO) - 1)
#define MAX_FD    65536
#define HEAD_MAX  8192
#define BYTES_MAX (1ull << 30)

struct conn {
    size_t head_len;         /* bytes of the current request head so far */
    unsigned long long skip; /* request body bytes still to throw away */
    char head[HEAD_MAX];
};
static struct conn *conns[MAX_FD];
static char fill[1 << 16];

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* Answer one complete head (NUL-terminated in c->head); set c->skip from Content-Length. */
static int answer(int fd, struct conn *c)
{
    unsigned long long n = 0;
    char hdr[128];
    const char *l;

    for (l = strstr(c->head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
        if (!strncasecmp(l + 2, "content-length:", 15))
            c->skip = strtoull(l + 17, NULL, 10);
        else if (!strncasecmp(l + 2, "transfer-encoding:", 18))
            return -1;
    }
    if (strncmp(c->head, "GET /bytes/", 11))
        return write_all(fd, HELLO, HELLO_LEN);
    n = strtoull(c->head + 11, NULL, 10);
    if (n > BYTES_MAX)
        return -1;
    if (write_all(fd, hdr,
                  (size_t)snprintf(hdr, sizeof(hdr),
                                   "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n"
                                   "Content-Type: application/octet-stream\r\n\r\n",
                                   n)) < 0)
        return -1;
    while (n) {
        size_t k = n < sizeof(fill) ? (size_t)n : sizeof(fill);
        if (write_all(fd, fill, k) < 0)
            return -1;
        n -= k;
    }
    return 0;
}

/* Feed bytes read from fd: heads are collected and answered, bodies skipped. */
static int feed(int fd, struct conn *c, const char *p, size_t n)
{
    while (n) {
        if (c->skip) {
            size_t k = c->skip < n ? (size_t)c->skip : n;
            c->skip -= k, p += k, n -= k;
            continue;
        }
        if (c->head_len == HEAD_MAX - 1)
            return -1;
        c->head[c->head_len++] = *p++, n--;
        if (c->head_len >= 4 && !memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4)) {
            c->head[c->head_len] = '\0';
            c->head_len = 0;
            if (answer(fd, c) < 0)
                return -1;
        }
    }
    return 0;
}

static void drop(int fd)
{
    free(conns[fd]);
    conns[fd] = NULL;
    close(fd); /* also leaves the epoll set */
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct epoll_event ev = {.events = EPOLLIN}, evs[256];
    int one = 1, lfd, ep;

    if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    memset(fill, 'x', sizeof(fill));
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0) {
        perror("listen");
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    fprintf(stderr, "listening on 127.0.0.1:%s\n", argv[1]);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
                    if (c >= MAX_FD || !(conns[c] = calloc(1, sizeof(struct conn)))) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    ev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            char buf[65536];
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r <= 0 || feed(fd, conns[fd], buf, (size_t)r) < 0)
                drop(fd);
        }
    }
}

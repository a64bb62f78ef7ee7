/* The TCP front: coved's own accept loop in front of libmicrohttpd.
 *
 * One thread, one epoll set: the listening socket and the connections whose first request
 * head has not yet shown its Host line. Each new connection is watched edge-triggered, so
 * every arrival of bytes wakes the loop once; it then peeks (MSG_PEEK, nothing consumed) at
 * up to HTTP_FRONT_PEEK bytes. As soon as a complete Host line is in, cfg.divert decides:
 * the connection is taken (the preview relay) or handed to libmicrohttpd unchanged with
 * MHD_add_connection(), where it is parsed from its first byte as if MHD had accepted it.
 * A head that ends without a Host line, that fills the peek window, or that is still not
 * there after HTTP_FRONT_WAIT_MS goes to libmicrohttpd too, which applies its own limits
 * (slow clients, header size). At most HTTP_FRONT_PENDING connections wait here; past that
 * new ones go to libmicrohttpd at once. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "http/http-internal.h"

#define HTTP_FRONT_PEEK    8192
#define HTTP_FRONT_WAIT_MS 5000
#define HTTP_FRONT_PENDING 1024

struct pending {
    struct pending *prev, *next;
    int fd;
    int64_t deadline_ms;
    socklen_t alen;
    struct sockaddr_storage addr;
};

struct http_front {
    struct http_server *srv;
    int listen_fd, ep, stop_fd;
    pthread_t thread;
    bool started;
    struct pending *head;
    size_t n_pending;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unlink_pending(struct http_front *f, struct pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        f->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    f->n_pending--;
    epoll_ctl(f->ep, EPOLL_CTL_DEL, p->fd, NULL);
}

static void to_mhd(struct http_front *f, int fd, const struct sockaddr *a, socklen_t alen)
{
    /* MHD closes the socket itself if it cannot take it */
    if (MHD_add_connection(f->srv->tcp.mhd, fd, a, alen) != MHD_YES)
        log_debug("http: front: libmicrohttpd refused a connection: %s", strerror(errno));
}

/* Find a complete "Host:" line in the peeked head; *ret_end: the head is complete. */
static bool find_host(char *buf, size_t n, char *host, size_t cap, bool *ret_end)
{
    char *line = memchr(buf, '\n', n);

    *ret_end = false;
    while (line && (size_t)(line + 1 - buf) < n) {
        char *l = line + 1, *nl = memchr(l, '\n', n - (size_t)(l - buf));
        if (!nl)
            return false;
        if (l[0] == '\r' || l[0] == '\n') {
            *ret_end = true;
            return false;
        }
        if (nl - l > 5 && !strncasecmp(l, "host:", 5)) {
            char *v = l + 5, *e = nl;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if ((size_t)(e - v) >= cap)
                return false;
            memcpy(host, v, (size_t)(e - v));
            host[e - v] = '\0';
            return true;
        }
        line = nl;
    }
    return false;
}

/* Peek at p's head; decide if it can. */
static void classify(struct http_front *f, struct pending *p, bool expired)
{
    char buf[HTTP_FRONT_PEEK], host[512];
    ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    bool end = false;

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        unlink_pending(f, p);
        close(p->fd);
        free(p);
        return;
    }
    if (n > 0 && find_host(buf, (size_t)n, host, sizeof(host), &end)) {
        unlink_pending(f, p);
        if (f->srv->cfg.divert(p->fd, host, f->srv->cfg.userdata) != 0)
            to_mhd(f, p->fd, (struct sockaddr *)&p->addr, p->alen);
        free(p);
        return;
    }
    if (end || expired || n == (ssize_t)sizeof(buf)) {
        unlink_pending(f, p);
        to_mhd(f, p->fd, (struct sockaddr *)&p->addr, p->alen);
        free(p);
    }
}

static void accept_all(struct http_front *f)
{
    for (;;) {
        struct pending *p = calloc(1, sizeof(*p));
        if (!p)
            return;
        p->alen = sizeof(p->addr);
        p->fd = accept4(f->listen_fd, (struct sockaddr *)&p->addr, &p->alen,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (p->fd < 0) {
            free(p);
            return;
        }
        if (f->n_pending >= HTTP_FRONT_PENDING) {
            to_mhd(f, p->fd, (struct sockaddr *)&p->addr, p->alen);
            free(p);
            continue;
        }
        p->deadline_ms = now_ms() + HTTP_FRONT_WAIT_MS;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.ptr = p};
        if (epoll_ctl(f->ep, EPOLL_CTL_ADD, p->fd, &ev) < 0) {
            to_mhd(f, p->fd, (struct sockaddr *)&p->addr, p->alen);
            free(p);
            continue;
        }
        p->next = f->head;
        if (f->head)
            f->head->prev = p;
        f->head = p;
        f->n_pending++;
        classify(f, p, false); /* the head may be in already */
    }
}

static void *front_main(void *arg)
{
    struct http_front *f = arg;
    struct epoll_event evs[64];

    for (;;) {
        int n = epoll_wait(f->ep, evs, 64, f->head ? 200 : -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &f->stop_fd)
                return NULL;
            if (evs[i].data.ptr == &f->listen_fd)
                accept_all(f);
            else
                classify(f, evs[i].data.ptr, false);
        }
        int64_t now = now_ms();
        for (struct pending *p = f->head, *next; p; p = next) {
            next = p->next;
            if (now >= p->deadline_ms)
                classify(f, p, true);
        }
    }
}

int http_front_start(struct http_server *srv, int listen_fd, struct http_front **ret)
{
    struct http_front *f = calloc(1, sizeof(*f));
    struct epoll_event ev = {.events = EPOLLIN};

    if (!f)
        return -ENOMEM;
    f->srv = srv;
    f->listen_fd = listen_fd;
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (f->ep < 0 || f->stop_fd < 0)
        goto fail;
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
        goto fail;
    ev.data.ptr = &f->listen_fd;
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, listen_fd, &ev) < 0)
        goto fail;
    ev.data.ptr = &f->stop_fd;
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, f->stop_fd, &ev) < 0)
        goto fail;
    if (pthread_create(&f->thread, NULL, front_main, f) != 0)
        goto fail;
    f->started = true;
    *ret = f;
    return 0;
fail:
    http_front_stop(f);
    return -EIO;
}

/* Stop accepting; connections still waiting here are closed. Accepts NULL. */
void http_front_stop(struct http_front *f)
{
    if (!f)
        return;
    if (f->started) {
        (void)!write(f->stop_fd, &(uint64_t){1}, sizeof(uint64_t));
        pthread_join(f->thread, NULL);
    }
    while (f->head) {
        struct pending *p = f->head;
        unlink_pending(f, p);
        close(p->fd);
        free(p);
    }
    if (f->ep >= 0)
        close(f->ep);
    if (f->stop_fd >= 0)
        close(f->stop_fd);
    close(f->listen_fd);
    free(f);
}

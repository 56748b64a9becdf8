/* fake_http.c -- see fake_http.h. */
#include "fake_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake_http {
    int fd;
    int port;
    char url[64];
    fake_handler_fn fn;
    void *ud;
    pthread_t th;
    pthread_mutex_t mu;
    int count;
    volatile int stop;
};

const char *fake_req_header(const struct fake_req *req, const char *name, char *out, size_t cap) {
    const char *p = buf_cstr(&req->headers);
    size_t nl = strlen(name);
    while (*p) {
        const char *e = strstr(p, "\r\n");
        if (!e) e = p + strlen(p);
        if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return out;
        }
        p = *e ? e + 2 : e;
    }
    return NULL;
}

/* Reads one request (headers, then Content-Length bytes); 0 on success. */
static int read_request(int c, struct fake_req *r) {
    struct buf in = BUF_INIT;
    char tmp[8192];
    char *hend = NULL;
    while (!hend) {
        ssize_t n = recv(c, tmp, sizeof(tmp), 0);
        if (n <= 0) {
            buf_free(&in);
            return -1;
        }
        buf_append(&in, tmp, (size_t)n);
        hend = strstr(in.p, "\r\n\r\n");
    }
    size_t hlen = (size_t)(hend - in.p) + 4;
    char *eol = strstr(in.p, "\r\n");
    sscanf(in.p, "%15s %2047s", r->method, r->target);
    buf_append(&r->headers, eol + 2, hlen - (size_t)(eol + 2 - in.p));
    char cl[32];
    size_t want = 0;
    if (fake_req_header(r, "Content-Length", cl, sizeof(cl))) want = (size_t)strtoull(cl, NULL, 10);
    buf_append(&r->body, in.p + hlen, in.len - hlen);
    while (r->body.len < want) {
        ssize_t n = recv(c, tmp, sizeof(tmp), 0);
        if (n <= 0) break;
        buf_append(&r->body, tmp, (size_t)n);
    }
    buf_puts(&r->body, "");
    buf_free(&in);
    return 0;
}

static void send_all(int c, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(c, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void *serve(void *arg) {
    struct fake_http *s = arg;
    while (!s->stop) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0) continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        struct fake_req req;
        memset(&req, 0, sizeof(req));
        buf_init(&req.headers);
        buf_init(&req.body);
        if (read_request(c, &req) == 0) {
            pthread_mutex_lock(&s->mu);
            int n = ++s->count;
            pthread_mutex_unlock(&s->mu);
            struct fake_resp resp = {200, BUF_INIT, BUF_INIT};
            s->fn(&req, &resp, n, s->ud);
            if (resp.status > 0) {
                struct buf out = BUF_INIT;
                buf_printf(&out,
                           "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                           resp.status, resp.body.len, buf_cstr(&resp.headers));
                buf_append(&out, resp.body.p, resp.body.len);
                send_all(c, out.p, out.len);
                buf_free(&out);
            }
            buf_free(&resp.headers);
            buf_free(&resp.body);
        }
        buf_free(&req.headers);
        buf_free(&req.body);
        close(c);
    }
    return NULL;
}

struct fake_http *fake_http_start(fake_handler_fn fn, void *ud) {
    struct fake_http *s = calloc(1, sizeof(*s));
    s->fn = fn;
    s->ud = ud;
    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 16) != 0) {
        perror("fake_http");
        abort();
    }
    socklen_t al = sizeof(a);
    getsockname(s->fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
    pthread_create(&s->th, NULL, serve, s);
    return s;
}

int fake_http_port(const struct fake_http *s) {
    return s->port;
}
const char *fake_http_url(const struct fake_http *s) {
    return s->url;
}

int fake_http_count(struct fake_http *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void fake_http_stop(struct fake_http *s) {
    if (!s) return;
    s->stop = 1;
    pthread_join(s->th, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

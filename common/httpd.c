/* httpd.c -- /healthz, /readyz, /metrics and custom routes on libevent's evhttp,
 * served from a thread of its own so the service's loop may block in Kafka. */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "log.h"
#include "metrics.h"

struct httpd_route {
    char *path;
    httpd_handler_fn fn;
    void *ud;
};

struct httpd {
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev; /* activated from httpd_stop; breaks the loop from inside */
    pthread_t thread;
    int thread_started;
    int port;
    atomic_int ready;
    pthread_mutex_t lock; /* guards routes: they may be added while serving */
    struct httpd_route *routes;
    size_t nroutes;
};

static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;

/* libevent needs locking turned on once, before any base exists, for loopbreak
 * from another thread to be safe. */
static void evthread_setup(void) {
    evthread_use_pthreads();
}

int httpd_parse_addr(const char *addr, char *host, size_t hostsz, int *port, struct bt_err *err) {
    const char *colon, *hs = addr;
    size_t hn;
    if (!addr || !*addr) goto bad;
    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':') goto bad;
        hs = addr + 1;
        hn = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon) goto bad;
        hn = (size_t)(colon - addr);
        if (memchr(addr, ':', hn)) goto bad; /* bare IPv6 needs brackets */
    }
    if (hn == 0) hs = "0.0.0.0", hn = 7;
    if (hn + 1 > hostsz) goto bad;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || p < 0 || p > 65535) goto bad;
    memcpy(host, hs, hn);
    host[hn] = '\0';
    *port = (int)p;
    return 0;
bad:
    return bt_err_set(err, BT_ECONFIG, "BTPIPE_HTTP_ADDR",
                      "BTPIPE_HTTP_ADDR='%.100s' is not host:port (e.g. 127.0.0.1:8080, "
                      "[::1]:0, :9100)",
                      addr ? addr : "");
}

/* Looks a custom route up and copies it out, so the handler runs unlocked. */
static int route_find(struct httpd *h, const char *path, struct httpd_route *out) {
    int found = 0;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->nroutes; i++) {
        if (strcmp(h->routes[i].path, path) == 0) {
            *out = h->routes[i];
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return found;
}

static const char *status_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

static void on_request(struct evhttp_request *req, void *arg) {
    struct httpd *h = arg;
    struct buf body = BUF_INIT;
    const char *ctype = "text/plain; charset=utf-8";
    int status;
    struct evhttp_uri *uri = evhttp_uri_parse(evhttp_request_get_uri(req));
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct httpd_route r;
    if (!path || !*path) path = "/";
    if (!uri) {
        status = 400;
        buf_puts(&body, "bad request uri\n");
    } else if (strcmp(path, "/healthz") == 0) {
        status = 200;
        buf_puts(&body, "ok\n");
    } else if (strcmp(path, "/readyz") == 0) {
        int ready = atomic_load(&h->ready);
        status = ready ? 200 : 503;
        buf_puts(&body, ready ? "ready\n" : "not ready\n");
    } else if (strcmp(path, "/metrics") == 0) {
        status = 200;
        ctype = "text/plain; version=0.0.4; charset=utf-8";
        metrics_render(&body);
    } else if (route_find(h, path, &r)) {
        status = r.fn(path, query, &body, &ctype, r.ud);
        if (!ctype) ctype = "text/plain; charset=utf-8";
    } else {
        status = 404;
        buf_puts(&body, "not found\n");
    }
    struct evbuffer *eb = evbuffer_new();
    if (eb) {
        evbuffer_add(eb, buf_cstr(&body), body.len);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
        evhttp_send_reply(req, status, status_reason(status), eb);
        evbuffer_free(eb);
    } else {
        evhttp_send_error(req, 500, "out of memory");
    }
    if (uri) evhttp_uri_free(uri);
    buf_free(&body);
}

/* Breaking from inside the loop cannot be lost the way a loopbreak sent before
 * dispatch starts would be (event_base_loop clears the break flag on entry). */
static void on_stop(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void *serve(void *arg) {
    struct httpd *h = arg;
    event_base_dispatch(h->base);
    return NULL;
}

/* The port the kernel picked when we asked for port 0. */
static int bound_port(struct evhttp_bound_socket *bs) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

int httpd_start(const struct config *cfg, const char *service, struct httpd **out,
                struct bt_err *err) {
    char host[128];
    int port, rc;
    struct httpd *h = NULL;
    const char *addr = config_get_default(cfg, "BTPIPE_HTTP_ADDR", "127.0.0.1:0");
    (void)service;
    *out = NULL;
    rc = httpd_parse_addr(addr, host, sizeof host, &port, err);
    if (rc) goto fail;
    pthread_once(&evthread_once, evthread_setup);
    h = calloc(1, sizeof *h);
    if (!h) abort();
    pthread_mutex_init(&h->lock, NULL);
    h->base = event_base_new();
    h->http = h->base ? evhttp_new(h->base) : NULL;
    if (!h->http) {
        rc = bt_err_set(err, BT_EINTERNAL, NULL, "httpd: libevent setup failed");
        goto fail;
    }
    h->stop_ev = event_new(h->base, -1, 0, on_stop, h->base);
    if (!h->stop_ev) {
        rc = bt_err_set(err, BT_EINTERNAL, NULL, "httpd: libevent setup failed");
        goto fail;
    }
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(h->http, on_request, h);
    evhttp_set_timeout(h->http, 10);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(h->http, host, (uint16_t)port);
    if (!bs) {
        rc = bt_err_set(err, BT_ECONFIG, "BTPIPE_HTTP_ADDR",
                        "httpd: cannot listen on BTPIPE_HTTP_ADDR=%s (%s)", addr, strerror(errno));
        goto fail;
    }
    h->port = bound_port(bs);
    if (pthread_create(&h->thread, NULL, serve, h) != 0) {
        rc = bt_err_set(err, BT_EINTERNAL, NULL, "httpd: cannot start thread");
        goto fail;
    }
    h->thread_started = 1;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", h->port);
    log_event(LOG_INFO, "http listening", "http_host", host, "http_port", portstr, NULL);
    *out = h;
    return 0;
fail:
    httpd_stop(h);
    return rc;
}

int httpd_port(const struct httpd *h) {
    return h ? h->port : -1;
}

void httpd_set_ready(struct httpd *h, int ready) {
    if (h) atomic_store(&h->ready, ready ? 1 : 0);
}

void httpd_route(struct httpd *h, const char *path, httpd_handler_fn fn, void *ud) {
    if (!h) return;
    pthread_mutex_lock(&h->lock);
    size_t i;
    for (i = 0; i < h->nroutes; i++)
        if (strcmp(h->routes[i].path, path) == 0) break;
    if (i == h->nroutes) {
        struct httpd_route *r = realloc(h->routes, (h->nroutes + 1) * sizeof *r);
        if (!r) abort();
        h->routes = r;
        h->routes[i].path = strdup(path);
        if (!h->routes[i].path) abort();
        h->nroutes++;
    }
    h->routes[i].fn = fn;
    h->routes[i].ud = ud;
    pthread_mutex_unlock(&h->lock);
}

void httpd_stop(struct httpd *h) {
    if (!h) return;
    if (h->thread_started) {
        event_active(h->stop_ev, EV_READ, 0);
        pthread_join(h->thread, NULL);
    }
    if (h->http) evhttp_free(h->http);
    if (h->stop_ev) event_free(h->stop_ev);
    if (h->base) event_base_free(h->base);
    for (size_t i = 0; i < h->nroutes; i++)
        free(h->routes[i].path);
    free(h->routes);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* fake_http.h -- a tiny HTTP/1.1 server on 127.0.0.1 in a thread, for unit
 * tests of our clients (retries, credentials endpoints, request shape).
 *
 * It fakes the remote only: the client code under test is the real one. One
 * connection at a time, one request per connection (it answers with
 * Connection: close), which is all the clients need. */
#ifndef BTPIPE_TESTS_FAKE_HTTP_H
#define BTPIPE_TESTS_FAKE_HTTP_H

#include <stddef.h>

#include "buf.h"

struct fake_req {
    char method[16];
    char target[2048];  /* path and query as sent */
    struct buf headers; /* raw header block, "Name: value\r\n" lines */
    struct buf body;
};

struct fake_resp {
    int status;         /* 0 = close the connection without answering */
    struct buf headers; /* extra "Name: value\r\n" lines */
    struct buf body;
};

/* Called on the server thread for each request; n counts from 1. */
typedef void (*fake_handler_fn)(const struct fake_req *req, struct fake_resp *resp, int n,
                                void *ud);

struct fake_http;

struct fake_http *fake_http_start(fake_handler_fn fn, void *ud);
/* Port it listens on, and "http://127.0.0.1:<port>" for building URLs. */
int fake_http_port(const struct fake_http *s);
const char *fake_http_url(const struct fake_http *s);
/* Requests received so far. */
int fake_http_count(struct fake_http *s);
void fake_http_stop(struct fake_http *s);
/* Value of a header in req (case-insensitive name) into out, or NULL. */
const char *fake_req_header(const struct fake_req *req, const char *name, char *out, size_t cap);

#endif

/* httpd.h -- every service's small HTTP endpoint on libevent.
 *
 * Serves /healthz (the process is alive), /readyz (the service says it is
 * ready, e.g. state rebuilt), /metrics (Prometheus text format 0.0.4) on
 * BTPIPE_HTTP_ADDR (default 127.0.0.1:0 = any free port; the bound port is
 * logged and returned). Runs on its own thread so that a service's main
 * loop may block in Kafka polls. Services may add their own routes. */
#ifndef BTPIPE_HTTPD_H
#define BTPIPE_HTTPD_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct httpd;
struct config;

/* A handler fills body and content type; returns the HTTP status. */
typedef int (*httpd_handler_fn)(const char *path, const char *query, struct buf *body,
                                const char **content_type, void *ud);

int httpd_start(const struct config *cfg, const char *service, struct httpd **out,
                struct bt_err *err);
int httpd_port(const struct httpd *h);
void httpd_set_ready(struct httpd *h, int ready);
/* Register before or after start; thread-safe. */
void httpd_route(struct httpd *h, const char *path, httpd_handler_fn fn, void *ud);
void httpd_stop(struct httpd *h);
/* Splits BTPIPE_HTTP_ADDR ("host:port", "[v6]:port", ":port" = every
 * interface) into host and port; BT_ECONFIG naming the variable otherwise. */
int httpd_parse_addr(const char *addr, char *host, size_t hostsz, int *port, struct bt_err *err);

#endif

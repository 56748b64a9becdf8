/* log.h -- JSON-lines logging to stderr.
 *
 * One line per event: {"ts":"...","level":"info","svc":"planner","msg":"...",
 * ...fields}. Fields are given as alternating key, value C strings ending
 * with NULL so that a log line never needs a format string built at run
 * time. Secrets must never be passed here: the AWS and Kafka adapters
 * redact before they log. */
#ifndef BTPIPE_LOG_H
#define BTPIPE_LOG_H

#include <stddef.h>
#include <stdio.h>

struct buf;

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Service name in every line, and the lowest level printed (BTPIPE_LOG_LEVEL). */
void log_init(const char *service, enum log_level min);
enum log_level log_level_parse(const char *s, int *ok);
/* log_event(LOG_INFO, "planned", "plan_id", id, "tasks", "3", NULL) */
void log_event(enum log_level lvl, const char *msg, ...) __attribute__((sentinel));
/* Same with the fields as an array of 2*npairs strings (a NULL value is JSON null). */
void log_eventv(enum log_level lvl, const char *msg, const char *const *kv, size_t npairs);
/* printf-style message, no extra fields */
void log_msgf(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The service name given to log_init ("btpipe" before it). */
const char *log_service(void);
enum log_level log_min_level(void);
/* Where lines go (stderr unless a test redirects them). */
void log_set_stream(FILE *f);
/* Appends s as a quoted JSON string: escapes quotes, backslashes and control
 * characters, and replaces invalid UTF-8 with U+FFFD so every line parses. */
void log_json_string(struct buf *out, const char *s);

#endif

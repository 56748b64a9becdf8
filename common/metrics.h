/* metrics.h -- process-wide counters and gauges rendered as Prometheus text.
 *
 * Names are registered once (metrics_counter("btpipe_messages_total", "help"))
 * and updated lock-free with atomics; labels are part of the name string
 * ("btpipe_messages_total{topic=\"x\"}") to keep this tiny. */
#ifndef BTPIPE_METRICS_H
#define BTPIPE_METRICS_H

#include "buf.h"

struct metric;

struct metric *metrics_counter(const char *name, const char *help);
struct metric *metrics_gauge(const char *name, const char *help);
void metric_add(struct metric *m, double v);
void metric_set(struct metric *m, double v);
double metric_value(const struct metric *m);
/* Appends every series, grouped by family under one # HELP and # TYPE line. */
void metrics_render(struct buf *out);

#endif

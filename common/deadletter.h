/* deadletter.h -- keeping input a service could not use, whole, with why.
 *
 * A message that does not decode (or is otherwise unusable) goes to
 * <prefix>.deadletter as a btpipe.v1.DeadLetter carrying the raw key and
 * value untouched, the reason, where in the value the problem is, and the
 * source topic/partition/offset; the service then carries on. Key is
 * "<source_topic>/<key>", meta.id "<topic>/<partition>/<offset>", so
 * dead-lettering the same message twice is one fact. */
#ifndef BTPIPE_DEADLETTER_H
#define BTPIPE_DEADLETTER_H

#include "buf.h"
#include "err.h"

struct kafka_producer;
struct kafka_msg;
struct config;

/* Builds the DeadLetter for src into value and its Kafka key into key (both
 * appended to); pure, so it is unit-tested without a broker. */
void deadletter_build(const char *service, const struct kafka_msg *src, const char *reason,
                      const char *where, struct buf *key, struct buf *value);
/* Builds and produces it (queued; flush before committing src's offset). */
int deadletter_send(struct kafka_producer *p, const struct config *cfg, const char *service,
                    const struct kafka_msg *src, const char *reason, const char *where,
                    struct bt_err *err);

#endif

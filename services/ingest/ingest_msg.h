/* ingest_msg.h -- DataIncrement bytes to and from the core's structs.
 * Pure (protobuf-c only), so the unit tests run the same code main.c does. */
#ifndef BTPIPE_INGEST_MSG_H
#define BTPIPE_INGEST_MSG_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "ingest_core.h"

/* Encodes inc as a DataIncrement into out (reset first); key gets
 * "<dataset>/<date>". uri is where the objects live (s3://bucket/<dataset>/daily). */
void ingest_msg_encode(const struct ingest_increment *inc, const char *uri, const char *producer,
                       int64_t now_ms, struct buf *out, struct buf *key);

/* Applies one data.landed message to the state (a tombstone or an increment
 * of another layout is ignored). BT_EINPUT when the bytes do not decode or
 * lack dataset, date or version; err->where names the field. */
int ingest_msg_apply(struct ingest_state *s, const void *value, size_t len, struct bt_err *err);

#endif

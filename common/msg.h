/* msg.h -- helpers every producer of btpipe messages needs.
 *
 * Every message starts with a Meta (stable id, produced-at, producer,
 * schema). Ids are stable so that a fact seen twice is recognised: build
 * them from the fact's own parts, or hash those parts with msg_hash_hex. */
#ifndef BTPIPE_MSG_H
#define BTPIPE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "btpipe/v1/meta.pb-c.h"
#include "buf.h"

#define MSG_SCHEMA 1

/* Wall clock in milliseconds since the epoch. */
int64_t msg_now_ms(void);
/* Fills meta (initialising it) with id, now, producer and schema 1. The
 * strings are not copied: they must live until the message is packed. */
void msg_meta_fill(Btpipe__V1__Meta *meta, const char *id, const char *producer);
/* Appends the packed message to out. */
void msg_pack(const ProtobufCMessage *m, struct buf *out);
/* Lower-case hex SHA-256 of bytes; out holds 65 chars. */
void msg_sha256_hex(const void *data, size_t n, char out[65]);
/* Hex SHA-256 over NULL-terminated string parts, each length-prefixed so that
 * ("ab","c") and ("a","bc") differ; out holds 65 chars. */
void msg_hash_hex(char out[65], const char *part, ...) __attribute__((sentinel));

#endif

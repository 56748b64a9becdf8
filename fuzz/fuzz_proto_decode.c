/* fuzz_proto_decode.c -- every btpipe message type unpacked from arbitrary
 * bytes, as a consumer does with whatever arrives on a topic. Whatever
 * decodes must re-encode, and when that decodes again it must re-encode to
 * the same bytes. The first byte picks the message type so the corpus can
 * target one.
 *
 * Not required: that the re-encoding decodes. protobuf-c 1.4 accepts an
 * unknown field numbered 0 when its tag is a non-minimal varint (0x81 0x00),
 * keeps it, writes it back minimal (0x01) and then refuses that. btpipe never
 * re-encodes foreign bytes (dead letters keep them raw), so this is noted,
 * not fought. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btpipe/v1/aggregated_result.pb-c.h"
#include "btpipe/v1/data_increment.pb-c.h"
#include "btpipe/v1/dead_letter.pb-c.h"
#include "btpipe/v1/factor_spec.pb-c.h"
#include "btpipe/v1/job_completion.pb-c.h"
#include "btpipe/v1/job_record.pb-c.h"
#include "btpipe/v1/strategy_spec.pb-c.h"

static const ProtobufCMessageDescriptor *const types[] = {
    &btpipe__v1__data_increment__descriptor, &btpipe__v1__factor_spec__descriptor,
    &btpipe__v1__strategy_spec__descriptor,  &btpipe__v1__job_record__descriptor,
    &btpipe__v1__job_completion__descriptor, &btpipe__v1__aggregated_result__descriptor,
    &btpipe__v1__dead_letter__descriptor,
};
#define NTYPES (sizeof types / sizeof types[0])

/* Packs m into a fresh allocation; *n gets its size. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *n) {
    *n = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(*n ? *n : 1);
    if (!p) abort();
    if (protobuf_c_message_pack(m, p) != *n) abort();
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const ProtobufCMessageDescriptor *d = types[data[0] % NTYPES];
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
    if (!m) return 0;
    size_t n1, n2;
    uint8_t *b1 = pack(m, &n1);
    ProtobufCMessage *m2 = protobuf_c_message_unpack(d, NULL, n1, b1);
    if (!m2) { /* see the note at the top */
        free(b1);
        protobuf_c_message_free_unpacked(m, NULL);
        return 0;
    }
    uint8_t *b2 = pack(m2, &n2);
    if (n1 != n2 || memcmp(b1, b2, n1) != 0) abort();
    free(b1);
    free(b2);
    protobuf_c_message_free_unpacked(m2, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

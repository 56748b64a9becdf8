/* msg.c -- Meta filling, packing and stable ids for btpipe messages. */
#include "msg.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

int64_t msg_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void msg_meta_fill(Btpipe__V1__Meta *meta, const char *id, const char *producer) {
    btpipe__v1__meta__init(meta);
    meta->id = (char *)(id ? id : "");
    meta->producer = (char *)(producer ? producer : "");
    meta->produced_at_ms = msg_now_ms();
    meta->schema = MSG_SCHEMA;
}

void msg_pack(const ProtobufCMessage *m, struct buf *out) {
    size_t n = protobuf_c_message_get_packed_size(m);
    buf_reserve(out, n);
    protobuf_c_message_pack(m, (uint8_t *)out->p + out->len);
    out->len += n;
    out->p[out->len] = '\0';
}

void msg_sha256_hex(const void *data, size_t n, char out[65]) {
    sigv4_sha256_hex(data, n, out);
}

void msg_hash_hex(char out[65], const char *part, ...) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) abort();
    va_list ap;
    va_start(ap, part);
    for (const char *p = part; p; p = va_arg(ap, const char *)) {
        uint64_t n = strlen(p);
        unsigned char len[8];
        for (int i = 0; i < 8; i++)
            len[i] = (unsigned char)(n >> (56 - 8 * i));
        EVP_DigestUpdate(ctx, len, sizeof len);
        EVP_DigestUpdate(ctx, p, n);
    }
    va_end(ap);
    if (!EVP_DigestFinal_ex(ctx, md, &mdlen)) abort();
    EVP_MD_CTX_free(ctx);
    sigv4_hex(md, mdlen, out);
}

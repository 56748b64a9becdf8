/* data_gzip.c -- inflating .csv.gz objects in memory: libdeflate for the
 * common single-member gzip object (its whole-buffer inflate is 2-3x zlib's),
 * zlib for everything else and for every error message. */
#include <libdeflate.h>
#include <string.h>
#include <zlib.h>

#include "data_rows.h"

#define DATA_GZIP_MAX ((size_t)4 << 30)

int data_is_gzip(const char *name, const void *bytes, size_t len) {
    const unsigned char *b = bytes;
    if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b) return 1;
    size_t n = name ? strlen(name) : 0;
    return n > 3 && !strcmp(name + n - 3, ".gz") && len > 0;
}

/* One gzip member filling the whole object, inflated by libdeflate into the
 * size its trailer (ISIZE) declares. Returns 1 when done; 0 when the object
 * is anything else (several members, trailing bytes, ISIZE wrapped past
 * 4 GiB, corrupt or truncated): zlib then reads it as before, so that what
 * is accepted and every error message stay zlib's. */
static int gunzip_whole(struct libdeflate_decompressor *d, const void *in, size_t len,
                        struct buf *out) {
    const unsigned char *b = in;
    if (len < 18 || b[0] != 0x1f || b[1] != 0x8b) return 0;
    size_t isize = (size_t)b[len - 4] | (size_t)b[len - 3] << 8 | (size_t)b[len - 2] << 16 |
                   (size_t)b[len - 1] << 24;
    /* deflate cannot expand more than 1032:1: a bigger claim is a lie (or a
     * wrapped size) that must not decide an allocation */
    if (isize / 1032 > len) return 0;
    buf_reserve(out, isize + 1);
    size_t in_used = 0, got = 0;
    enum libdeflate_result r =
        libdeflate_gzip_decompress_ex(d, in, len, out->p, isize, &in_used, &got);
    if (r != LIBDEFLATE_SUCCESS || in_used != len || got != isize) return 0;
    out->len = got;
    out->p[got] = 0;
    return 1;
}

/* The inflater is libdeflate's decompressor itself: it keeps no state
 * between calls that could change a result. */
struct data_gz *data_gz_new(void) {
    return (struct data_gz *)libdeflate_alloc_decompressor();
}

void data_gz_free(struct data_gz *z) {
    if (z) libdeflate_free_decompressor((struct libdeflate_decompressor *)z);
}

int data_gunzip(const char *name, const void *in, size_t len, struct buf *out, struct bt_err *err) {
    struct data_gz *z = data_gz_new();
    int rc = data_gunzip_gz(z, name, in, len, out, err);
    data_gz_free(z);
    return rc;
}

int data_gunzip_gz(struct data_gz *gz, const char *name, const void *in, size_t len,
                   struct buf *out, struct bt_err *err) {
    buf_reset(out);
    if (gz && gunzip_whole((struct libdeflate_decompressor *)gz, in, len, out)) return 0;
    buf_reset(out);
    z_stream zs;
    int rc = 0;
    memset(&zs, 0, sizeof zs);
    /* 15 + 32: auto-detect the gzip or zlib header */
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return bt_err_set(err, BT_EINTERNAL, name, "inflateInit2 failed");
    const unsigned char *p = in;
    size_t left = len;
    buf_reserve(out, len * 4 + 4096);
    for (;;) {
        if (out->cap - out->len < 65536) buf_reserve(out, out->cap);
        if (out->len > DATA_GZIP_MAX) {
            rc = bt_err_set(err, BT_ELIMIT, name, "gzip: inflates to more than 4 GiB");
            goto fail;
        }
        uInt in_now = left > (1u << 30) ? (1u << 30) : (uInt)left;
        size_t room = out->cap - out->len - 1;
        uInt out_now = room > (1u << 30) ? (1u << 30) : (uInt)room;
        zs.next_in = (Bytef *)p;
        zs.avail_in = in_now;
        zs.next_out = (Bytef *)out->p + out->len;
        zs.avail_out = out_now;
        int zrc = inflate(&zs, Z_NO_FLUSH);
        size_t used_in = in_now - zs.avail_in;
        p += used_in;
        left -= used_in;
        out->len += out_now - zs.avail_out;
        out->p[out->len] = 0;
        if (zrc == Z_STREAM_END) {
            /* another gzip member may follow (as `cat a.gz b.gz` makes) */
            if (left >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            break;
        }
        if (zrc == Z_BUF_ERROR && left == 0) {
            rc = bt_err_set(err, BT_EINPUT, name, "gzip: truncated stream");
            goto fail;
        }
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            rc = bt_err_set(err, BT_EINPUT, name, "gzip: %s", zs.msg ? zs.msg : "corrupt stream");
            goto fail;
        }
        if (zrc == Z_BUF_ERROR && out_now == zs.avail_out && used_in == 0) {
            rc = bt_err_set(err, BT_EINPUT, name, "gzip: stream makes no progress");
            goto fail;
        }
    }
fail:
    inflateEnd(&zs);
    return rc;
}

/* data_gzip.c -- inflating .csv.gz objects in memory with zlib. */
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

int data_gunzip(const char *name, const void *in, size_t len, struct buf *out, struct bt_err *err) {
    z_stream zs;
    int rc = 0;
    memset(&zs, 0, sizeof zs);
    buf_reset(out);
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

/* ingest_msg.c -- see ingest_msg.h. */
#include "ingest_msg.h"

#include <stdlib.h>
#include <string.h>

#include "btpipe/v1/data_increment.pb-c.h"

void ingest_msg_encode(const struct ingest_increment *inc, const char *uri, const char *producer,
                       int64_t now_ms, struct buf *out, struct buf *key) {
    Btpipe__V1__Meta meta = BTPIPE__V1__META__INIT;
    Btpipe__V1__DataIncrement m = BTPIPE__V1__DATA_INCREMENT__INIT;
    struct buf id = BUF_INIT;
    buf_printf(&id, "%s/%s/%s", inc->dataset, inc->date, inc->data_version);
    meta.id = id.p;
    meta.produced_at_ms = now_ms;
    meta.producer = (char *)producer;
    meta.schema = 1;
    m.meta = &meta;
    m.dataset = inc->dataset;
    m.trading_date = inc->date;
    m.uri = (char *)uri;
    m.data_version = inc->data_version;
    m.detected_at_ms = now_ms;
    m.layout = "daily";
    Btpipe__V1__DataObject *objs = calloc(inc->nobjects ? inc->nobjects : 1, sizeof *objs);
    Btpipe__V1__DataObject **ptrs = calloc(inc->nobjects ? inc->nobjects : 1, sizeof *ptrs);
    if (!objs || !ptrs) abort();
    for (size_t i = 0; i < inc->nobjects; i++) {
        btpipe__v1__data_object__init(&objs[i]);
        objs[i].key = (char *)inc->objects[i].key;
        objs[i].etag = (char *)inc->objects[i].etag;
        objs[i].size = inc->objects[i].size;
        objs[i].last_modified_ms = inc->objects[i].last_modified_ms;
        ptrs[i] = &objs[i];
    }
    m.n_objects = inc->nobjects;
    m.objects = ptrs;
    size_t n = btpipe__v1__data_increment__get_packed_size(&m);
    buf_reset(out);
    buf_reserve(out, n + 1);
    btpipe__v1__data_increment__pack(&m, (uint8_t *)out->p);
    out->len = n;
    out->p[n] = '\0';
    buf_reset(key);
    buf_printf(key, "%s/%s", inc->dataset, inc->date);
    free(ptrs);
    free(objs);
    buf_free(&id);
}

int ingest_msg_apply(struct ingest_state *s, const void *value, size_t len, struct bt_err *err) {
    if (!value) return 0; /* tombstone: nothing to remember */
    Btpipe__V1__DataIncrement *m =
        btpipe__v1__data_increment__unpack(NULL, len, (const uint8_t *)value);
    if (!m)
        return bt_err_set(err, BT_EINPUT, "DataIncrement",
                          "value does not decode as DataIncrement");
    int rc = 0;
    if (!m->dataset || !*m->dataset)
        rc = bt_err_set(err, BT_EINPUT, "DataIncrement.dataset", "dataset is empty");
    else if (!m->trading_date || !*m->trading_date)
        rc = bt_err_set(err, BT_EINPUT, "DataIncrement.trading_date", "trading_date is empty");
    else if (!m->data_version || !*m->data_version)
        rc = bt_err_set(err, BT_EINPUT, "DataIncrement.data_version", "data_version is empty");
    else
        rc = ingest_core_mark_announced(s, m->dataset, m->trading_date, m->data_version, err);
    btpipe__v1__data_increment__free_unpacked(m, NULL);
    return rc;
}

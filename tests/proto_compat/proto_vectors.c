/* proto_vectors.c -- btpipe's side of the wire-compatibility test with
 * Google's protobuf runtime (compat.py is the other side).
 *
 *   proto_vectors write DIR   encodes the canonical instance of every message
 *                             to DIR/c_<name>.bin
 *   proto_vectors check DIR   decodes DIR/py_<name>.bin (and, when present,
 *                             DIR/py_unknown_<name>.bin: the same message with
 *                             fields from a newer schema appended) and checks
 *                             every field against the canonical instance
 *
 * The canonical values are written out independently here and in compat.py;
 * they must agree field by field, so neither side can pass by echoing the
 * other. Values are chosen to exercise the wire format: repeated fields,
 * enums, bytes with every byte value, doubles at the edges of the finite
 * range, int64 beyond 2^53, a negative int32 (ten-byte varint), UTF-8. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btpipe/v1/aggregated_result.pb-c.h"
#include "btpipe/v1/data_increment.pb-c.h"
#include "btpipe/v1/dead_letter.pb-c.h"
#include "btpipe/v1/factor_spec.pb-c.h"
#include "btpipe/v1/job_completion.pb-c.h"
#include "btpipe/v1/job_record.pb-c.h"
#include "btpipe/v1/strategy_spec.pb-c.h"

#define PRODUCED_AT 1767225600123LL
#define PRODUCER "btpipe-test/h\xc3\xb6st-1 \xe2\x9c\x93" /* "btpipe-test/höst-1 ✓" */

static Btpipe__V1__Meta meta_for(const char *id) {
    Btpipe__V1__Meta m = BTPIPE__V1__META__INIT;
    m.id = (char *)id;
    m.produced_at_ms = PRODUCED_AT;
    m.producer = PRODUCER;
    m.schema = 1;
    return m;
}

/* The 17 metric values: distinct, signed, tiny and huge, all finite. */
static Btpipe__V1__Metrics metrics_canonical(void) {
    Btpipe__V1__Metrics m = BTPIPE__V1__METRICS__INIT;
    m.final_value = 1234567.891;
    m.total_return = 0.2345678901234567;
    m.annual_return = -0.125;
    m.annual_volatility = 0.3;
    m.sharpe = 1.7976931348623157e308;
    m.sortino = 5e-324;
    m.max_drawdown = -0.4321;
    m.calmar = 2.5e-10;
    m.win_rate = 0.55;
    m.turnover = 12.75;
    m.ic_mean = 0.0123;
    m.ic_std = 0.1;
    m.ic_ir = 0.123;
    m.rank_ic_mean = -0.0042;
    m.rank_ic_std = 0.09;
    m.rank_ic_ir = -1e-5;
    m.days = 252;
    return m;
}

/* Everything the canonical messages point at lives here, for the duration
 * of one write or check. */
struct canon {
    Btpipe__V1__Meta meta[7];
    Btpipe__V1__DataObject obj[2];
    Btpipe__V1__DataObject *objp[2];
    Btpipe__V1__DataIncrement inc;
    Btpipe__V1__FactorSpec factor;
    Btpipe__V1__Param param[3];
    Btpipe__V1__Param *paramp[3];
    Btpipe__V1__ContainerSpec container;
    char *command[6];
    Btpipe__V1__StrategySpec strategy;
    Btpipe__V1__Task task[2];
    Btpipe__V1__Task *taskp[2];
    Btpipe__V1__JobRecord job;
    Btpipe__V1__Metrics metrics[2];
    Btpipe__V1__DailyPoint point[3];
    Btpipe__V1__DailyPoint *pointp[3];
    Btpipe__V1__JobCompletion completion;
    Btpipe__V1__AggregatedResult result;
    uint8_t all_bytes[256];
    Btpipe__V1__DeadLetter dead;
};

static void canon_build(struct canon *c) {
    memset(c, 0, sizeof *c);
    c->meta[0] = meta_for("sp500/2024-01-02/"
                          "3f1d2a9c8b7e6f5a4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c");
    c->meta[1] = meta_for("mom5@3");
    c->meta[2] = meta_for("lsq@2");
    c->meta[3] = meta_for("plan-7f3a/3/2");
    c->meta[4] = meta_for("lsq@2/mom5@3/sp500/2024-01-02..2024-01-02/3f1d2a9c");
    c->meta[5] = meta_for("lsq/mom5/sp500/2024-01-03/9d8c7b6a");
    c->meta[6] = meta_for("btpipe.factors/-1/9007199254740993");

    for (int i = 0; i < 2; i++) {
        Btpipe__V1__DataObject o = BTPIPE__V1__DATA_OBJECT__INIT;
        c->obj[i] = o;
        c->objp[i] = &c->obj[i];
    }
    c->obj[0].key = "sp500/daily/2024/2024-01-02.csv.gz";
    c->obj[0].etag = "\"9b2cf535f27731c974343645a3985328\"";
    c->obj[0].size = 123456;
    c->obj[0].version_id = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY";
    c->obj[0].last_modified_ms = 1704240000000LL;
    c->obj[1].key = "sp500/daily/2024/_SUCCESS";
    c->obj[1].etag = "\"d41d8cd98f00b204e9800998ecf8427e\"";
    c->obj[1].size = 0;
    c->obj[1].last_modified_ms = 1704240000500LL;
    Btpipe__V1__DataIncrement inc = BTPIPE__V1__DATA_INCREMENT__INIT;
    inc.meta = &c->meta[0];
    inc.dataset = "sp500";
    inc.trading_date = "2024-01-02";
    inc.uri = "s3://btpipe-data/sp500/daily";
    inc.n_objects = 2;
    inc.objects = c->objp;
    inc.rows = 5000000000LL;
    inc.symbols = 503;
    inc.data_version = "3f1d2a9c8b7e6f5a4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c";
    inc.detected_at_ms = 1704240001000LL;
    inc.layout = "daily";
    c->inc = inc;

    Btpipe__V1__FactorSpec f = BTPIPE__V1__FACTOR_SPEC__INIT;
    f.meta = &c->meta[1];
    f.factor_id = "mom5";
    f.version = 3;
    f.expr = "rank(ts_delta(close, 5)) / (1 + abs(ts_mean(volume, 20)))";
    f.description =
        "5-day momentum \xe2\x80\x94 \xd1\x80\xd0\xb0\xd0\xbd\xd0\xb3 \xe6\x97\xa5\xe6\x9c\xac"
        "\nsecond line\t\"quoted\"";
    f.universe = "sp500";
    f.lookback = 25;
    c->factor = f;

    static const char *const pk[3] = {"cash", "commission", "quantiles"};
    static const char *const pv[3] = {"1000000", "0.0005", "5"};
    for (int i = 0; i < 3; i++) {
        Btpipe__V1__Param p = BTPIPE__V1__PARAM__INIT;
        p.key = (char *)pk[i];
        p.value = (char *)pv[i];
        c->param[i] = p;
        c->paramp[i] = &c->param[i];
    }
    static const char *const cmd[6] = {"python", "bt.py", "{data_uri}",
                                       "{from}", "{to}",  "{out_uri}"};
    for (int i = 0; i < 6; i++)
        c->command[i] = (char *)cmd[i];
    Btpipe__V1__ContainerSpec cs = BTPIPE__V1__CONTAINER_SPEC__INIT;
    cs.image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/backtest:1.2";
    cs.n_command = 6;
    cs.command = c->command;
    cs.vcpus = 2;
    cs.memory_mib = 4096;
    c->container = cs;
    Btpipe__V1__StrategySpec s = BTPIPE__V1__STRATEGY_SPEC__INIT;
    s.meta = &c->meta[2];
    s.strategy_id = "lsq";
    s.version = 2;
    s.kind = BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_CONTAINER;
    s.n_params = 3;
    s.params = c->paramp;
    s.container = &c->container;
    s.description = "user container \xf0\x9f\x9a\x80";
    c->strategy = s;

    for (int i = 0; i < 2; i++) {
        Btpipe__V1__Task t = BTPIPE__V1__TASK__INIT;
        c->task[i] = t;
        c->taskp[i] = &c->task[i];
    }
    Btpipe__V1__Task *t = &c->task[0];
    t->task_key = "lsq@2/mom5@3/sp500/2024-01-02..2024-01-02";
    t->strategy_id = "lsq";
    t->strategy_version = 2;
    t->factor_id = "mom5";
    t->factor_version = 3;
    t->dataset = "sp500";
    t->from_date = "2024-01-02";
    t->to_date = "2024-01-02";
    t->warmup_from = "2023-11-24";
    t->data_version = "3f1d2a9c";
    t->expr = "rank(ts_delta(close, 5))";
    t->kind = BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_LONG_SHORT_QUANTILE;
    t->n_params = 2;
    t->params = c->paramp;
    t->data_uri = "s3://btpipe-data/sp500/daily";
    t->state_in_uri = "s3://btpipe-results/state/lsq/mom5/2024-01-01";
    t->state_out_uri = "s3://btpipe-results/state/lsq/mom5/2024-01-02";
    t->series_uri = "s3://btpipe-results/series/lsq/mom5/2024-01-02";
    t->layout = "daily";
    t = &c->task[1];
    t->task_key = "topk@1/mom5@3/sp500/2020-01-01..2023-12-31";
    t->strategy_id = "topk";
    t->strategy_version = 1;
    t->kind = BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_TOPK_DROPOUT;
    Btpipe__V1__JobRecord j = BTPIPE__V1__JOB_RECORD__INIT;
    j.meta = &c->meta[3];
    j.plan_id = "plan-7f3a";
    j.n_tasks = 2;
    j.tasks = c->taskp;
    j.executor = "aws-batch";
    j.external_id = "4c8f2d8e-1b7a-4f0e-9a51-2f1f3b0a8c77";
    j.state = BTPIPE__V1__JOB_STATE__JOB_STATE_RUNNING;
    j.attempts = 2;
    j.planned_at_ms = 1704240002000LL;
    j.submitted_at_ms = 1704240003000LL;
    j.finished_at_ms = 1704240009000LL;
    j.manifest_uri = "s3://btpipe-results/manifests/plan-7f3a";
    j.error = "attempt 1: OutOfMemoryError: Container killed";
    c->job = j;

    c->metrics[0] = metrics_canonical();
    c->metrics[1] = metrics_canonical();
    c->metrics[1].days = 1;
    c->metrics[1].sharpe = -3.25;
    static const char *const pd[3] = {"2024-01-02", "2024-01-03", "2024-01-04"};
    for (int i = 0; i < 3; i++) {
        Btpipe__V1__DailyPoint p = BTPIPE__V1__DAILY_POINT__INIT;
        p.date = (char *)pd[i];
        p.ret = 0.001 * (i + 1) - 0.0025;
        p.value = 1000000.0 * (1 + 0.01 * i);
        p.turnover = 0.5 / (i + 1);
        p.ic = -0.05 + 0.04 * i;
        p.rank_ic = 0.02 * (i + 1);
        c->point[i] = p;
        c->pointp[i] = &c->point[i];
    }
    Btpipe__V1__JobCompletion jc = BTPIPE__V1__JOB_COMPLETION__INIT;
    jc.meta = &c->meta[4];
    jc.task_key = "lsq@2/mom5@3/sp500/2024-01-02..2024-01-04";
    jc.plan_id = "plan-7f3a";
    jc.attempt = 2;
    jc.status = BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_REJECTED_INPUT;
    jc.error = "sp500/daily/2024/2024-01-03.csv.gz:17:4: close is not a number";
    jc.series_uri = "s3://btpipe-results/series/lsq/mom5/2024-01-04";
    jc.metrics = &c->metrics[1];
    jc.data_version = "3f1d2a9c";
    jc.started_at_ms = 1704240004000LL;
    jc.finished_at_ms = 1704240005000LL;
    jc.strategy_id = "lsq";
    jc.factor_id = "mom5";
    jc.dataset = "sp500";
    jc.from_date = "2024-01-02";
    jc.to_date = "2024-01-04";
    jc.n_points = 3;
    jc.points = c->pointp;
    jc.strategy_version = 2;
    jc.factor_version = 3;
    c->completion = jc;

    Btpipe__V1__AggregatedResult r = BTPIPE__V1__AGGREGATED_RESULT__INIT;
    r.meta = &c->meta[5];
    r.pair_id = "lsq/mom5/sp500";
    r.strategy_id = "lsq";
    r.factor_id = "mom5";
    r.dataset = "sp500";
    r.first_date = "2014-01-02";
    r.last_date = "2024-01-03";
    r.days = 2516;
    r.metrics = &c->metrics[0];
    r.status = BTPIPE__V1__RESULT_STATUS__RESULT_STATUS_FAILING;
    r.status_reason = "task lsq@2/mom5@3/sp500/2024-01-04 rejected: bad input";
    r.updated_at_ms = 1704240006000LL;
    r.completions = 42;
    c->result = r;

    for (int i = 0; i < 256; i++)
        c->all_bytes[i] = (uint8_t)i;
    Btpipe__V1__DeadLetter d = BTPIPE__V1__DEAD_LETTER__INIT;
    d.meta = &c->meta[6];
    d.source_topic = "btpipe.factors";
    d.partition = -1;
    d.offset = 9007199254740993LL; /* 2^53 + 1: not a double */
    d.key.data = (uint8_t *)"f\0\xff";
    d.key.len = 3;
    d.value.data = c->all_bytes;
    d.value.len = 256;
    d.reason = "does not decode as FactorSpec: truncated varint";
    d.where = "byte 3";
    d.service = "planner";
    c->dead = d;
}

struct vec {
    const char *name;
    const ProtobufCMessageDescriptor *desc;
    const ProtobufCMessage *(*get)(const struct canon *c);
};

static const ProtobufCMessage *get_inc(const struct canon *c) {
    return &c->inc.base;
}
static const ProtobufCMessage *get_factor(const struct canon *c) {
    return &c->factor.base;
}
static const ProtobufCMessage *get_strategy(const struct canon *c) {
    return &c->strategy.base;
}
static const ProtobufCMessage *get_job(const struct canon *c) {
    return &c->job.base;
}
static const ProtobufCMessage *get_completion(const struct canon *c) {
    return &c->completion.base;
}
static const ProtobufCMessage *get_result(const struct canon *c) {
    return &c->result.base;
}
static const ProtobufCMessage *get_dead(const struct canon *c) {
    return &c->dead.base;
}

static const struct vec vectors[] = {
    {"data_increment", &btpipe__v1__data_increment__descriptor, get_inc},
    {"factor_spec", &btpipe__v1__factor_spec__descriptor, get_factor},
    {"strategy_spec", &btpipe__v1__strategy_spec__descriptor, get_strategy},
    {"job_record", &btpipe__v1__job_record__descriptor, get_job},
    {"job_completion", &btpipe__v1__job_completion__descriptor, get_completion},
    {"aggregated_result", &btpipe__v1__aggregated_result__descriptor, get_result},
    {"dead_letter", &btpipe__v1__dead_letter__descriptor, get_dead},
};
#define NVEC (sizeof vectors / sizeof vectors[0])

/* Bytes one element of a repeated field of this type takes in its array. */
static size_t elem_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static int compare_msg(const ProtobufCMessage *want, const ProtobufCMessage *got, const char *path,
                       int *checked);

/* Compares one value of field f; prints the path on mismatch. */
static int compare_value(const ProtobufCFieldDescriptor *f, const void *w, const void *g,
                         const char *path, int *checked) {
    int ok = 1;
    (*checked)++;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        if (*(const int32_t *)w != *(const int32_t *)g) {
            fprintf(stderr, "%s: want %d, got %d\n", path, *(const int32_t *)w,
                    *(const int32_t *)g);
            ok = 0;
        }
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (*(const uint32_t *)w != *(const uint32_t *)g) {
            fprintf(stderr, "%s: want %u, got %u\n", path, *(const uint32_t *)w,
                    *(const uint32_t *)g);
            ok = 0;
        }
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (*(const int64_t *)w != *(const int64_t *)g) {
            fprintf(stderr, "%s: want %lld, got %lld\n", path, (long long)*(const int64_t *)w,
                    (long long)*(const int64_t *)g);
            ok = 0;
        }
        break;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double a = f->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)w : *(const double *)w;
        double b = f->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)g : *(const double *)g;
        if (memcmp(&a, &b, sizeof a) != 0) { /* bit-exact, not merely close */
            fprintf(stderr, "%s: want %.17g, got %.17g\n", path, a, b);
            ok = 0;
        }
        break;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!*(const protobuf_c_boolean *)w != !*(const protobuf_c_boolean *)g) {
            fprintf(stderr, "%s: bool differs\n", path);
            ok = 0;
        }
        break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *a = *(char *const *)w, *b = *(char *const *)g;
        if (strcmp(a ? a : "", b ? b : "") != 0) {
            fprintf(stderr, "%s: want \"%s\", got \"%s\"\n", path, a ? a : "", b ? b : "");
            ok = 0;
        }
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *a = w, *b = g;
        if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0)) {
            fprintf(stderr, "%s: bytes differ (want %zu bytes, got %zu)\n", path, a->len, b->len);
            ok = 0;
        }
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *a = *(ProtobufCMessage *const *)w;
        const ProtobufCMessage *b = *(ProtobufCMessage *const *)g;
        (*checked)--; /* counted by its fields */
        if (!a && !b) break;
        if (!a || !b) {
            fprintf(stderr, "%s: message %s\n", path, a ? "missing" : "unexpected");
            ok = 0;
            break;
        }
        ok = compare_msg(a, b, path, checked);
        break;
    }
    }
    return ok;
}

/* Field-by-field comparison driven by the descriptors, so that a field added
 * to a .proto is compared without touching this file. */
static int compare_msg(const ProtobufCMessage *want, const ProtobufCMessage *got, const char *path,
                       int *checked) {
    const ProtobufCMessageDescriptor *d = want->descriptor;
    int ok = 1;
    if (got->descriptor != d) {
        fprintf(stderr, "%s: different message types\n", path);
        return 0;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char sub[512];
        snprintf(sub, sizeof sub, "%s.%s", path, f->name);
        const char *wb = (const char *)want + f->offset, *gb = (const char *)got + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t wn = *(const size_t *)((const char *)want + f->quantifier_offset);
            size_t gn = *(const size_t *)((const char *)got + f->quantifier_offset);
            if (wn != gn) {
                fprintf(stderr, "%s: want %zu elements, got %zu\n", sub, wn, gn);
                ok = 0;
                continue;
            }
            const char *wa = *(char *const *)wb, *ga = *(char *const *)gb;
            size_t es = elem_size(f->type);
            for (size_t k = 0; k < wn; k++) {
                char el[540];
                snprintf(el, sizeof el, "%s[%zu]", sub, k);
                ok &= compare_value(f, wa + k * es, ga + k * es, el, checked);
            }
        } else {
            ok &= compare_value(f, wb, gb, sub, checked);
        }
    }
    return ok;
}

static int write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads a whole file; NULL when it does not exist. */
static uint8_t *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *p = malloc(cap);
    size_t r;
    while (p && (r = fread(p + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) p = realloc(p, cap *= 2);
    }
    fclose(f);
    *n = len;
    return p;
}

static int cmd_write(const char *dir, const struct canon *c) {
    for (size_t i = 0; i < NVEC; i++) {
        const ProtobufCMessage *m = vectors[i].get(c);
        size_t n = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = malloc(n ? n : 1);
        protobuf_c_message_pack(m, buf);
        char path[1024];
        snprintf(path, sizeof path, "%s/c_%s.bin", dir, vectors[i].name);
        int rc = write_file(path, buf, n);
        free(buf);
        if (rc) return 1;
        printf("wrote %s (%zu bytes)\n", path, n);
    }
    return 0;
}

/* Decodes one file and compares it; 1 ok, 0 mismatch, -1 file missing. */
static int check_file(const char *path, const struct vec *v, const struct canon *c) {
    size_t n = 0;
    uint8_t *data = read_file(path, &n);
    if (!data) return -1;
    ProtobufCMessage *m = protobuf_c_message_unpack(v->desc, NULL, n, data);
    free(data);
    if (!m) {
        fprintf(stderr, "%s: does not decode as %s\n", path, v->desc->name);
        return 0;
    }
    int checked = 0;
    int ok = compare_msg(v->get(c), m, v->name, &checked);
    protobuf_c_message_free_unpacked(m, NULL);
    printf("%s %s: %d values compared\n", ok ? "ok  " : "FAIL", path, checked);
    return ok;
}

static int cmd_check(const char *dir, const struct canon *c) {
    int failed = 0, unknown_seen = 0;
    for (size_t i = 0; i < NVEC; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/py_%s.bin", dir, vectors[i].name);
        int r = check_file(path, &vectors[i], c);
        if (r < 0) fprintf(stderr, "%s: missing\n", path);
        if (r <= 0) failed++;
        snprintf(path, sizeof path, "%s/py_unknown_%s.bin", dir, vectors[i].name);
        r = check_file(path, &vectors[i], c);
        if (r == 0) failed++;
        if (r >= 0) unknown_seen++;
    }
    if (unknown_seen == 0) {
        fprintf(stderr, "no py_unknown_*.bin in %s: unknown-field tolerance untested\n", dir);
        failed++;
    }
    printf("%s: %d message file(s) failed\n", failed ? "FAIL" : "ok", failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    static struct canon c; /* large; static keeps it off the stack */
    if (argc != 3 || (strcmp(argv[1], "write") && strcmp(argv[1], "check"))) {
        fprintf(stderr, "usage: %s write|check DIR\n", argv[0]);
        return 2;
    }
    canon_build(&c);
    return strcmp(argv[1], "write") == 0 ? cmd_write(argv[2], &c) : cmd_check(argv[2], &c);
}

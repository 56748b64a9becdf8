/* ingest_core.h -- what ingest decides, as a pure function of its inputs.
 *
 * Ingest lists "<dataset>/daily/" in the data bucket, groups the objects by
 * trading date and announces each date whose set of (key, ETag) differs from
 * what it announced last: that is a new date, or a corrected one. The core
 * holds "what was announced" (rebuilt at start from the compacted
 * data.landed topic) and turns a listing into the increments to announce,
 * in date order. It does no I/O: main.c lists S3, produces to Kafka and
 * only then calls ingest_core_mark_announced, so a crash between the two
 * re-announces the same meta.id (a harmless duplicate) and never loses one.
 *
 * Key layout: <dataset>/daily/YYYY/YYYY-MM-DD.csv or .csv.gz, the folder
 * year equal to the date's year. <dataset>/daily/YYYY/_SUCCESS (the optional
 * completeness marker) is skipped silently; any other key is junk and is
 * reported once per (key, ETag) for the life of the state.
 *
 * data_version: lowercase hex SHA-256 over the date's objects sorted by key,
 * each contributing "key\n" "etag\n". Sizes and times do not count: a
 * re-upload of the same bytes (same ETag) is not a correction. */
#ifndef BTPIPE_INGEST_CORE_H
#define BTPIPE_INGEST_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct ingest_state;

/* One listed object, as the S3 listing gave it (the core copies what it keeps). */
struct ingest_object {
    const char *key;
    const char *etag; /* without quotes */
    int64_t size;
    int64_t last_modified_ms;
};

/* One increment to announce. Strings are owned by the result list. */
struct ingest_increment {
    char *dataset;
    char *date;                    /* YYYY-MM-DD */
    char *data_version;            /* 64 hex chars */
    struct ingest_object *objects; /* sorted by key; key/etag owned here */
    size_t nobjects;
};

/* A key that does not fit the layout, with the reason (owned). */
struct ingest_junk {
    char *key;
    char *etag;
    char *reason;
};

struct ingest_result {
    struct ingest_increment *incs; /* ascending date */
    size_t ninc;
    struct ingest_junk *junk; /* newly seen junk only */
    size_t njunk;
};

struct ingest_state *ingest_state_new(void);
void ingest_state_free(struct ingest_state *s);

/* Records that (dataset, date) was announced with data_version: at start for
 * every message of the data.landed topic (later messages override earlier
 * ones, as compaction does), and after each successful produce. */
int ingest_core_mark_announced(struct ingest_state *s, const char *dataset, const char *date,
                               const char *data_version, struct bt_err *err);
/* The version announced for (dataset, date), or NULL. */
const char *ingest_core_announced(const struct ingest_state *s, const char *dataset,
                                  const char *date);
size_t ingest_core_announced_count(const struct ingest_state *s);

/* Turns one dataset's listing (any order) into what to announce. Does not
 * mark anything announced; it does remember junk so that a key is reported
 * once. A date previously announced whose objects all vanished is left
 * alone: deleting history is not an increment. */
int ingest_core_observe(struct ingest_state *s, const char *dataset,
                        const struct ingest_object *listing, size_t n, struct ingest_result *out,
                        struct bt_err *err);
void ingest_result_free(struct ingest_result *r);

/* Hex SHA-256 data version of objects (any order); out holds 65 bytes. */
void ingest_data_version(const struct ingest_object *objs, size_t n, char out[65]);
/* Parses a key of dataset's layout: 0 and date (YYYY-MM-DD) filled; 0 and
 * date "" for the _SUCCESS marker (skip it); BT_EINPUT with a reason otherwise. */
int ingest_parse_key(const char *dataset, const char *key, char date[11], struct bt_err *err);

#endif

/* collector_core.h -- completions in, full-history results out; pure.
 *
 * A pair is strategy x factor x dataset; its id is
 * "<strategy_id>/<factor_id>/<dataset>". Its truth is the daily series the
 * runners report inline in each JobCompletion; the collector merges those
 * points by date and derives every full-history metric from the merged
 * series with the engine's metrics_from_series.
 *
 * Which point wins a date ("the newest data version"): every point carries
 * the order key of the completion it came from,
 *     (strategy_version, factor_version, finished_at_ms, meta.id)
 * compared in that order, and the greatest key wins. The key is part of the
 * message, not of its arrival, so duplicates, replays after a restart and
 * any reordering give the same series bit for bit. A completion of a newer
 * (strategy_version, factor_version) than the pair has seen drops every
 * point of older versions: a re-registered factor starts a new history.
 *
 * Status: FAILING when the latest completion (by the same key) of any task
 * of the pair's current version failed or was rejected, with the reason
 * "task <task_key>: <error>" of the first such task by key; else LAGGING
 * when the dataset has landed a date after the series' last one (the
 * collector reads data.landed for that); else CURRENT.
 *
 * AggregatedResult.meta.id is "<pair_id>/<last_date>/<h>" where h is the
 * first 16 hex digits of SHA-256 over the merged series, the status and
 * the reason: the same content always gets the same id, so a consumer can
 * drop repeats. updated_at_ms is the newest merged finished_at_ms (not the
 * wall clock) for the same reason; meta.produced_at_ms is the wall clock. */
#ifndef BTPIPE_COLLECTOR_CORE_H
#define BTPIPE_COLLECTOR_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "btpipe/v1/aggregated_result.pb-c.h"
#include "btpipe/v1/data_increment.pb-c.h"
#include "btpipe/v1/job_completion.pb-c.h"

struct collector_state;

struct collector_state *collector_new(void);
void collector_free(struct collector_state *s);

/* Merges one completion. On success *pair_id points at the pair's id (owned
 * by the state) and *changed says whether the pair's result (its meta.id)
 * differs from the one last noted as published. BT_EINPUT, with err->where
 * naming the field, when the completion cannot be merged: no strategy,
 * factor or dataset, a '/' inside one of them, a point whose date is not
 * YYYY-MM-DD. The state is unchanged then. */
int collector_apply(struct collector_state *s, const Btpipe__V1__JobCompletion *c,
                    const char **pair_id, int *changed, struct bt_err *err);
/* Same from the bytes of a message: BT_EINPUT when they do not decode as a
 * JobCompletion. A NULL value (tombstone) is ignored (*pair_id NULL). */
int collector_apply_bytes(struct collector_state *s, const void *value, size_t len,
                          const char **pair_id, int *changed, struct bt_err *err);

/* Builds the pair's AggregatedResult, packed into value (reset first), its
 * meta.id into meta_id. BT_ENOTFOUND for an unknown pair. */
int collector_result(struct collector_state *s, const char *pair_id, int64_t now_ms,
                     const char *producer, struct buf *value, struct buf *meta_id,
                     struct bt_err *err);

/* The published meta.id of a pair, as read back from the results topic at
 * start or recorded after a publish; a pair whose current id differs needs
 * publishing. */
void collector_note_published(struct collector_state *s, const char *pair_id, const char *meta_id);
/* Reads one results-topic message and notes its meta.id (BT_EINPUT when it
 * does not decode; a tombstone is ignored). */
int collector_note_published_bytes(struct collector_state *s, const void *value, size_t len,
                                   struct bt_err *err);
/* 1 when the pair's current result id differs from the published one. */
int collector_needs_publish(struct collector_state *s, const char *pair_id);

/* Notes that dataset has landed date (a DataIncrement). Returns 1 when that
 * moved the dataset's last landed date (its pairs may now be LAGGING). */
int collector_note_landed(struct collector_state *s, const char *dataset, const char *date);
/* Same from a data.landed message: *dataset (owned by the state) is set
 * when the last date moved, NULL otherwise; BT_EINPUT when the bytes do not
 * decode as a DataIncrement; a tombstone is ignored. */
int collector_note_landed_bytes(struct collector_state *s, const void *value, size_t len,
                                const char **dataset, struct bt_err *err);

size_t collector_pair_count(const struct collector_state *s);
const char *collector_pair_dataset(const struct collector_state *s, size_t i);
const char *collector_pair_at(const struct collector_state *s, size_t i); /* sorted by id */

#endif

/* storage.h -- one interface over s3:// and file:// URIs.
 *
 * Everything that reads or writes a location by URI (the runner's data and
 * results, the planner's manifests, state files) goes through here and never
 * asks which backend it has. file:// (or a bare path) maps to the local file
 * system, for laptops and tests; s3:// to s3.h. */
#ifndef BTPIPE_STORAGE_H
#define BTPIPE_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct config;
struct storage;

struct storage_entry {
    char *uri;  /* full URI of the object */
    char *etag; /* S3 ETag, or size+mtime for files */
    int64_t size;
};

int storage_new(const struct config *cfg, struct storage **out, struct bt_err *err);
void storage_free(struct storage *st);
int storage_read(struct storage *st, const char *uri, struct buf *out, struct bt_err *err);
/* Atomic for files (write temp + rename); S3 PUT is atomic by itself. */
int storage_write(struct storage *st, const char *uri, const void *data, size_t n,
                  struct bt_err *err);
/* BT_ENOTFOUND when absent. */
int storage_exists(struct storage *st, const char *uri, struct bt_err *err);
/* Every object under a URI prefix, sorted by URI. */
int storage_list(struct storage *st, const char *prefix_uri, struct storage_entry **out, size_t *n,
                 struct bt_err *err);
void storage_entries_free(struct storage_entry *e, size_t n);
/* Splits s3://bucket/key; BT_EINPUT when not an s3 URI. */
int storage_split_s3(const char *uri, char *bucket, size_t bucket_cap, const char **key);

#endif

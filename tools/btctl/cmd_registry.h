/* cmd_registry.h -- what btctl's factor, strategy and results commands share:
 * configuration like the services, publishing one keyed message (or a
 * tombstone) with a flush, and reading a compacted topic's latest value per
 * key. */
#ifndef BTPIPE_CMD_REGISTRY_H
#define BTPIPE_CMD_REGISTRY_H

#include <stddef.h>

#include "config.h"
#include "kafka.h"

/* Loads configuration and quiets logging (BTPIPE_LOG_LEVEL, default warn).
 * Prints the error naming the variable and returns 2 on bad configuration. */
int reg_config(struct config *cfg, const char *cmd);

/* Produces value (NULL: tombstone) under key to topic t and waits for the
 * brokers' acknowledgement. Returns an exit code (0 or 1, error printed). */
int reg_publish(const struct config *cfg, enum topic_id t, const char *key, const void *value,
                size_t len, const char *cmd);

/* The latest value of every key of a compacted topic, as compaction would
 * leave it (tombstones remove the key), sorted by key. */
struct reg_entry {
    char *key;
    void *value;
    size_t len;
};
struct reg_table {
    struct reg_entry *e;
    size_t n;
};
int reg_read_latest(const struct config *cfg, enum topic_id t, struct reg_table *out,
                    const char *cmd);
void reg_table_free(struct reg_table *t);

/* Option parsing: when argv[*i] is name, stores the next argument in *val,
 * advances *i and returns 1; returns -1 (error printed) when the value is
 * missing, 0 when argv[*i] is another option. "--name=value" works too. */
int reg_arg(int argc, char **argv, int *i, const char *name, const char **val, const char *cmd);

#endif

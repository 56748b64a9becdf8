/* cmd_registry.h -- what btctl's factor, strategy and results commands share:
 * configuration like the services, publishing one keyed message (or a
 * tombstone) with a flush, and reading a compacted topic's latest value per
 * key. */
#ifndef BTPIPE_CMD_REGISTRY_H
#define BTPIPE_CMD_REGISTRY_H

#include <stddef.h>

#include "btpipe/v1/meta.pb-c.h"
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

/* 0 when id is 1-128 of [A-Za-z0-9_.-] (ids live inside "a/b/c" pair ids
 * and S3 keys); else prints the error naming --id and returns 2. */
int reg_check_id(const char *id, const char *cmd);

/* --version as a positive 32-bit integer into *v; else prints the error and
 * returns 2. */
int reg_check_version(const char *ver, unsigned long *v, const char *cmd);

/* "register": loads configuration, fills *meta (the one spec->meta points
 * at) with id "ID@V" and publishes the packed spec under key id to topic t.
 * Returns an exit code (error printed). */
int reg_register(enum topic_id t, const char *id, unsigned long v, const ProtobufCMessage *spec,
                 Btpipe__V1__Meta *meta, const char *cmd);

/* "<noun> retire --id ID": publishes a tombstone for ID to topic t. */
int reg_retire(int argc, char **argv, enum topic_id t, const char *noun, const char *usage);

/* "<noun> list": prints the latest value of every key of topic t with print
 * (which writes the header and one row per entry). */
int reg_list(int argc, char **argv, enum topic_id t, const char *noun,
             void (*print)(const struct reg_table *t));

/* One subcommand of a btctl command. */
struct reg_sub {
    const char *name;
    int (*run)(int argc, char **argv);
};

/* "btctl <noun> SUB ...": --help/-h anywhere prints usage (exit 0), no
 * subcommand prints it to stderr (exit 2), else runs the named subcommand
 * with the arguments after it. */
int reg_dispatch(int argc, char **argv, const char *noun, const char *usage,
                 const struct reg_sub *subs, size_t nsubs);

#endif

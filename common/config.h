/* config.h -- configuration from the environment, then an optional file.
 *
 * Every setting has one environment variable (AWS SDK names where AWS has
 * one, BTPIPE_* otherwise); docs/configuration.md lists them all. A file
 * named by BTPIPE_CONFIG_FILE holds `NAME=value` lines with the same names;
 * the environment wins over the file. Missing or malformed values stop a
 * service at start with a message naming the variable. */
#ifndef BTPIPE_CONFIG_H
#define BTPIPE_CONFIG_H

#include "err.h"

struct config_kv {
    char *key;
    char *value;
};

struct config {
    struct config_kv *file_kv; /* from BTPIPE_CONFIG_FILE, may be empty */
    int nfile;
};

int config_load(struct config *c, struct bt_err *err);
void config_free(struct config *c);
/* Looks a name up in the environment, then the file; NULL when unset or empty. */
const char *config_get(const struct config *c, const char *name);
const char *config_get_default(const struct config *c, const char *name, const char *def);
/* Required string: BT_ECONFIG naming the variable when unset. */
int config_require(const struct config *c, const char *name, const char **out, struct bt_err *err);
/* Integer in [min,max]; def when unset; BT_ECONFIG naming the variable when malformed. */
int config_int(const struct config *c, const char *name, long def, long min, long max, long *out,
               struct bt_err *err);
int config_bool(const struct config *c, const char *name, int def, int *out, struct bt_err *err);
/* Calls fn for every name starting with prefix (e.g. "BTPIPE_KAFKA_PROP_"). */
void config_each_prefixed(const struct config *c, const char *prefix,
                          void (*fn)(const char *name, const char *value, void *ud), void *ud);

#endif

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

#include <stddef.h>

struct config_kv {
    char *key;
    char *value;
    int line; /* line in the file, for error messages naming where a value came from */
};

struct config {
    struct config_kv *file_kv; /* from BTPIPE_CONFIG_FILE, may be empty */
    int nfile;
    char *path; /* the file's name, NULL when no file was read */
};

#define CONFIG_INIT                                                                                \
    { NULL, 0, NULL }

/* Reads BTPIPE_CONFIG_FILE when set; a missing file or a malformed line is
 * BT_ECONFIG with err->where "file:line:column". */
int config_load(struct config *c, struct bt_err *err);
/* Parses file text (NAME=value lines, # comments, blank lines, optional
 * "export " prefix and matching quotes around the value) into c, appending
 * to what is there; origin names the text in errors. Exposed for tests and
 * the fuzzer. A later line for the same name wins over an earlier one. */
int config_parse(struct config *c, const char *text, size_t len, const char *origin,
                 struct bt_err *err);
void config_free(struct config *c);
/* Looks a name up in the environment, then the file; NULL when unset or empty. */
const char *config_get(const struct config *c, const char *name);
/* Where config_get's value came from, for error messages: "environment",
 * "<file>:<line>" or "default"; static or thread-local storage. */
const char *config_origin(const struct config *c, const char *name);
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

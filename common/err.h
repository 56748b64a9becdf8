/* err.h -- errors are values.
 *
 * A function that can fail returns an int status (0 ok, else one of the
 * BT_E* codes) and fills a struct bt_err the caller owns. The edge of each
 * service decides what a code means there: a dead letter, a retry or a
 * shutdown. `where` says where in the input the problem is (file:line:col,
 * topic/partition/offset, s3://bucket/key) so an operator can go and look. */
#ifndef BTPIPE_ERR_H
#define BTPIPE_ERR_H

enum bt_code {
    BT_OK = 0,
    BT_EINPUT = 1,    /* bad input: permanent, never worth retrying */
    BT_EIO = 2,       /* local I/O failed */
    BT_ENET = 3,      /* network or remote service failed: transient */
    BT_ENOTFOUND = 4, /* the thing asked for does not exist */
    BT_ECONFIG = 5,   /* missing or malformed configuration */
    BT_EAUTH = 6,     /* credentials missing, expired or refused */
    BT_ELIMIT = 7,    /* a bound was hit (size, depth, count) */
    BT_EINTERNAL = 8, /* a bug: an invariant did not hold */
};

struct bt_err {
    int code;        /* enum bt_code */
    char msg[512];   /* what went wrong, for a person */
    char where[256]; /* where in the input, empty when not about input */
};

#define BT_ERR_INIT                                                                                \
    {                                                                                              \
        0, {0}, {                                                                                  \
            0                                                                                      \
        }                                                                                          \
    }

/* Sets code and message; where may be NULL. Returns code so that callers
 * can write `return bt_err_set(err, BT_EINPUT, where, "...")`. A NULL err
 * is allowed and only returns the code. */
int bt_err_set(struct bt_err *err, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void bt_err_clear(struct bt_err *err);
/* Prefixes the message with more context ("loading x: " + old message). */
void bt_err_prefix(struct bt_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *bt_code_name(int code);

#endif

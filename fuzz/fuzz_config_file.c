/* fuzz_config_file.c -- the BTPIPE_CONFIG_FILE parser on arbitrary bytes:
 * it must return 0 or BT_ECONFIG, never crash or leak, and what it accepted
 * must be readable back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct config c = CONFIG_INIT;
    struct bt_err err = BT_ERR_INIT;
    int rc = config_parse(&c, (const char *)data, size, "fuzz.env", &err);
    if (rc != 0 && rc != BT_ECONFIG) abort();
    if (rc == BT_ECONFIG && err.msg[0] == '\0') abort(); /* an error must say what */
    for (int i = 0; rc == 0 && i < c.nfile; i++) {
        if (!c.file_kv[i].key[0] || strchr(c.file_kv[i].key, '=')) abort();
        long v;
        config_int(&c, c.file_kv[i].key, 0, -1000, 1000, &v, &err);
        int b;
        config_bool(&c, c.file_kv[i].key, 0, &b, &err);
        (void)config_origin(&c, c.file_kv[i].key);
    }
    config_free(&c);
    return 0;
}

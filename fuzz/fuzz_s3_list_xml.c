/* fuzz_s3_list_xml.c -- the ListObjectsV2 response parser and the S3 error
 * parser on arbitrary bytes: no crash, no leak, and a parsed page obeys its
 * own invariants (every item has a key; truncated means a token). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct s3_list_page page;
    struct bt_err err = BT_ERR_INIT;
    if (s3_parse_list_xml((const char *)data, size, &page, &err) == 0) {
        for (size_t i = 0; i < page.items.n; i++)
            if (!page.items.items[i].key || page.items.items[i].size < 0) abort();
        if (page.truncated && (!page.next_token || !*page.next_token)) abort();
        s3_list_page_free(&page);
    } else if (err.msg[0] == '\0') {
        abort(); /* every failure says why */
    }
    char code[64], msg[128];
    s3_parse_error_xml((const char *)data, size, code, sizeof(code), msg, sizeof(msg));
    if (strlen(code) >= sizeof(code) || strlen(msg) >= sizeof(msg)) abort();
    return 0;
}

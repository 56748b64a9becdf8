/* fuzz_batch_json.c -- the DescribeJobs/ListJobs and DescribeJobQueues
 * response parsers and the error parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct batch_job *jobs;
    size_t n;
    char *token;
    struct bt_err err = BT_ERR_INIT;
    if (batch_parse_jobs_json((const char *)data, size, &jobs, &n, &token, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            if (!jobs[i].job_id) abort();
        batch_jobs_free(jobs, n);
        free(token);
    } else if (err.msg[0] == '\0') {
        abort();
    }
    struct batch_queue *q;
    if (batch_parse_queues_json((const char *)data, size, &q, &n, &err) == 0)
        batch_queues_free(q, n);
    char code[64], msg[128];
    batch_parse_error((const char *)data, size, NULL, code, sizeof(code), msg, sizeof(msg));
    return 0;
}

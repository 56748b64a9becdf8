/* test_aws_integration.c -- the S3 and Batch clients against the local stack
 * (moto with SigV4 verification on). Configuration comes from the
 * environment written by deploy/local/stack-up.sh (.stack/env); without it
 * the test reports "skipped" (exit 77) instead of pretending to pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/md5.h>

#include "aws_creds.h"
#include "batch.h"
#include "config.h"
#include "s3.h"
#include "sigv4.h"
#include "storage.h"

static struct config cfg = CONFIG_INIT;
static char bucket[64];

static struct s3_client *new_s3(void) {
    struct s3_client *c;
    struct bt_err err = BT_ERR_INIT;
    int rc = s3_client_new(&cfg, &c, &err);
    if (rc) fail_msg("s3_client_new: %s", err.msg);
    return c;
}

static int setup_bucket(void **state) {
    (void)state;
    snprintf(bucket, sizeof(bucket), "btpipe-it-%ld-%ld", (long)getpid(), (long)time(NULL));
    struct s3_client *c = new_s3();
    struct bt_err err = BT_ERR_INIT;
    int rc = s3_create_bucket(c, bucket, &err);
    if (rc) fprintf(stderr, "create bucket %s: %s\n", bucket, err.msg);
    s3_client_free(c);
    return rc;
}

static void test_create_bucket_idempotent(void **state) {
    (void)state;
    struct s3_client *c = new_s3();
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_create_bucket(c, bucket, &err), 0); /* already ours: fine */
    s3_client_free(c);
}

/* Deterministic bytes so a reader can check what it got without a copy. */
static unsigned char pattern(size_t i) {
    return (unsigned char)((i * 2654435761u) >> 13);
}

struct hash_sink {
    EVP_MD_CTX *md;
    size_t n;
    size_t chunks;
    int mismatch;
};

static int hash_into(const void *data, size_t n, void *ud) {
    struct hash_sink *h = ud;
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(h->n + i)) h->mismatch = 1;
    EVP_DigestUpdate(h->md, data, n);
    h->n += n;
    h->chunks++;
    return 0;
}

static void test_put_head_get_large(void **state) {
    (void)state;
    const size_t size = 6u * 1024 * 1024 + 123;
    unsigned char *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = pattern(i);
    struct s3_client *c = new_s3();
    struct bt_err err = BT_ERR_INIT;
    const char *key = "big/obj.bin";
    assert_int_equal(s3_put_object(c, bucket, key, data, size, NULL, &err), 0);

    struct s3_object_info info;
    assert_int_equal(s3_head_object(c, bucket, key, &info, &err), 0);
    assert_int_equal(info.size, (int64_t)size);
    unsigned char md5[16];
    char md5hex[33];
    EVP_Digest(data, size, md5, NULL, EVP_md5(), NULL);
    for (int i = 0; i < 16; i++)
        sprintf(md5hex + 2 * i, "%02x", md5[i]);
    assert_string_equal(info.etag, md5hex);
    assert_true(info.last_modified_ms > 1600000000000LL);
    s3_object_info_free(&info);

    struct hash_sink h = {EVP_MD_CTX_new(), 0, 0, 0};
    EVP_DigestInit_ex(h.md, EVP_sha256(), NULL);
    assert_int_equal(s3_get_object(c, bucket, key, hash_into, &h, &err), 0);
    unsigned char got[32];
    EVP_DigestFinal_ex(h.md, got, NULL);
    EVP_MD_CTX_free(h.md);
    char gothex[65], wanthex[65];
    for (int i = 0; i < 32; i++)
        sprintf(gothex + 2 * i, "%02x", got[i]);
    sigv4_sha256_hex(data, size, wanthex);
    assert_int_equal(h.n, size);
    assert_false(h.mismatch);
    assert_true(h.chunks > 1); /* it really streamed */
    assert_string_equal(gothex, wanthex);
    s3_client_free(c);
    free(data);
}

static void test_awkward_keys(void **state) {
    (void)state;
    const char *keys[] = {"dir/a b+c%d=e&f.csv", "dir/ünï/çødé", "dir/x~y_z-(1)!*'.txt",
                          "dir//double/slash", "dir/semi;colon,comma:at@dollar$"};
    struct s3_client *c = new_s3();
    struct bt_err err = BT_ERR_INIT;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (s3_put_object(c, bucket, keys[i], keys[i], strlen(keys[i]), "text/plain", &err))
            fail_msg("put %s: %s", keys[i], err.msg);
        struct buf b = BUF_INIT;
        if (s3_get_object_buf(c, bucket, keys[i], &b, &err))
            fail_msg("get %s: %s", keys[i], err.msg);
        assert_string_equal(buf_cstr(&b), keys[i]);
        buf_free(&b);
    }
    struct s3_listing l;
    assert_int_equal(s3_list_objects(c, bucket, "dir/", &l, &err), 0);
    assert_int_equal(l.n, sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int found = 0;
        for (size_t j = 0; j < l.n; j++)
            found |= strcmp(l.items[j].key, keys[i]) == 0;
        if (!found) fail_msg("key %s not listed back", keys[i]);
    }
    s3_listing_free(&l);
    s3_client_free(c);
}

/* Puts n small objects under prefix. */
static void put_many(struct s3_client *c, const char *prefix, int n) {
    struct bt_err err = BT_ERR_INIT;
    for (int i = 0; i < n; i++) {
        char key[128];
        snprintf(key, sizeof(key), "%s%05d", prefix, i);
        if (s3_put_object(c, bucket, key, "x", 1, NULL, &err)) fail_msg("put %s: %s", key, err.msg);
    }
}

static void test_list_pages_max_keys(void **state) {
    (void)state;
    struct s3_client *c = new_s3();
    put_many(c, "small/", 25);
    s3_client_free(c);
    setenv("BTPIPE_S3_LIST_MAX_KEYS", "7", 1); /* forces 4 pages */
    c = new_s3();
    unsetenv("BTPIPE_S3_LIST_MAX_KEYS");
    struct s3_listing l;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_list_objects(c, bucket, "small/", &l, &err), 0);
    assert_int_equal(l.n, 25);
    for (size_t i = 0; i < l.n; i++) {
        char want[64];
        snprintf(want, sizeof(want), "small/%05zu", i);
        assert_string_equal(l.items[i].key, want);
        assert_int_equal(l.items[i].size, 1);
    }
    s3_listing_free(&l);
    s3_client_free(c);
}

static void test_list_over_1000(void **state) {
    (void)state;
    struct s3_client *c = new_s3();
    put_many(c, "many/", 1003);
    struct s3_listing l;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_list_objects(c, bucket, "many/", &l, &err), 0);
    assert_int_equal(l.n, 1003);
    assert_string_equal(l.items[1002].key, "many/01002");
    s3_listing_free(&l);
    s3_client_free(c);
}

static void test_not_found(void **state) {
    (void)state;
    struct s3_client *c = new_s3();
    struct bt_err err = BT_ERR_INIT;
    struct buf b = BUF_INIT;
    assert_int_equal(s3_get_object_buf(c, bucket, "no/such/key.csv", &b, &err), BT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no/such/key.csv"));
    assert_non_null(strstr(err.msg, "HTTP 404 NoSuchKey"));
    assert_non_null(strstr(err.where, "no/such/key.csv"));
    struct s3_object_info info;
    assert_int_equal(s3_head_object(c, bucket, "no/such/key.csv", &info, &err), BT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "s3 HeadObject"));
    assert_int_equal(s3_get_object_buf(c, "btpipe-no-such-bucket-x", "k", &b, &err), BT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "NoSuchBucket"));
    buf_free(&b);
    s3_client_free(c);
}

/* The proof that the endpoint verifies signatures: the same request with
 * the right key id and a wrong secret is refused, and the right one is not. */
static void test_wrong_secret_refused(void **state) {
    (void)state;
    const char *ak = getenv("AWS_ACCESS_KEY_ID");
    assert_non_null(ak);
    struct aws_creds_provider *bad = aws_creds_provider_static(ak, "not-the-secret", NULL);
    struct s3_client *c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(s3_client_new_with_creds(&cfg, bad, &c, &err), 0);
    struct buf b = BUF_INIT;
    assert_int_equal(s3_get_object_buf(c, bucket, "big/obj.bin", &b, &err), BT_EAUTH);
    assert_non_null(strstr(err.msg, "HTTP 403 SignatureDoesNotMatch"));
    assert_int_equal(s3_client_last_attempts(c), 1); /* 403 is not retried */
    assert_int_equal(s3_put_object(c, bucket, "forged", "x", 1, NULL, &err), BT_EAUTH);
    s3_client_free(c);

    struct batch_client *bc;
    assert_int_equal(batch_client_new_with_creds(&cfg, bad, &bc, &err), 0);
    struct batch_queue *q;
    size_t n;
    assert_int_equal(batch_describe_job_queues(bc, NULL, 0, &q, &n, &err), BT_EAUTH);
    assert_non_null(strstr(err.msg, "SignatureDoesNotMatch"));
    batch_client_free(bc);
    aws_creds_provider_free(bad);

    /* Control: the real key reads the same object. */
    c = new_s3();
    struct s3_object_info info;
    assert_int_equal(s3_head_object(c, bucket, "big/obj.bin", &info, &err), 0);
    s3_object_info_free(&info);
    s3_client_free(c);
    buf_free(&b);
}

static void test_storage_s3(void **state) {
    (void)state;
    struct storage *st;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(storage_new(&cfg, &st, &err), 0);
    char uri[256], prefix[256];
    snprintf(uri, sizeof(uri), "s3://%s/state/s1/f1/2024-01-02", bucket);
    snprintf(prefix, sizeof(prefix), "s3://%s/state/s1/", bucket);
    assert_int_equal(storage_exists(st, uri, &err), BT_ENOTFOUND);
    assert_int_equal(storage_write(st, uri, "{\"cash\":1}", 10, &err), 0);
    assert_int_equal(storage_exists(st, uri, &err), 0);
    struct buf b = BUF_INIT;
    assert_int_equal(storage_read(st, uri, &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "{\"cash\":1}");
    struct storage_entry *e;
    size_t n;
    assert_int_equal(storage_list(st, prefix, &e, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].uri, uri);
    assert_int_equal(e[0].size, 10);
    storage_entries_free(e, n);
    buf_free(&b);
    storage_free(st);
}

static void test_batch(void **state) {
    (void)state;
    const char *queue = getenv("BTPIPE_BATCH_JOB_QUEUE");
    const char *jobdef = getenv("BTPIPE_BATCH_JOB_DEFINITION");
    if (!queue || !jobdef)
        fail_msg("BTPIPE_BATCH_JOB_QUEUE and BTPIPE_BATCH_JOB_DEFINITION must be set by the "
                 "stack (.stack/env)");
    struct batch_client *c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(batch_client_new(&cfg, &c, &err), 0);

    struct batch_queue *q;
    size_t nq;
    if (batch_describe_job_queues(c, &queue, 1, &q, &nq, &err))
        fail_msg("DescribeJobQueues: %s", err.msg);
    assert_int_equal(nq, 1);
    assert_string_equal(q[0].name, queue);
    assert_string_equal(q[0].state, "ENABLED");
    batch_queues_free(q, nq);

    struct batch_exit_rule rules[] = {{"EXIT", "65", NULL, NULL}, {"RETRY", "*", NULL, NULL}};
    struct batch_kv tags[] = {{"btpipe:plan", "it"}};
    struct batch_kv env[] = {{"BTPIPE_MANIFEST", "s3://x/manifests/it"}};
    const char *cmd[] = {"btpipe-runner", "job"};
    struct batch_submit s = {.job_name = "btpipe-it-first",
                             .job_queue = queue,
                             .job_definition = jobdef,
                             .retry_attempts = 2,
                             .evaluate_on_exit = rules,
                             .nevaluate_on_exit = 2,
                             .timeout_seconds = 600,
                             .tags = tags,
                             .ntags = 1,
                             .env = env,
                             .nenv = 1,
                             .command = cmd,
                             .ncommand = 2};
    char id1[128], id2[128];
    if (batch_submit_job(c, &s, id1, sizeof(id1), &err)) fail_msg("SubmitJob: %s", err.msg);
    /* An array job that depends on the first. */
    const char *deps[] = {id1};
    s.job_name = "btpipe-it-array";
    s.array_size = 3;
    s.depends_on = deps;
    s.ndepends_on = 1;
    if (batch_submit_job(c, &s, id2, sizeof(id2), &err)) fail_msg("SubmitJob (array): %s", err.msg);
    assert_string_not_equal(id1, id2);

    const char *ids[] = {id1, id2, "no-such-job-id"};
    struct batch_job *j;
    size_t n;
    if (batch_describe_jobs(c, ids, 3, &j, &n, &err)) fail_msg("DescribeJobs: %s", err.msg);
    assert_int_equal(n, 2); /* unknown ids are left out */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(j[i].job_id, id1) == 0) {
            assert_string_equal(j[i].job_name, "btpipe-it-first");
        } else {
            assert_string_equal(j[i].job_id, id2);
            assert_string_equal(j[i].job_name, "btpipe-it-array");
            assert_int_equal(j[i].array_size, 3);
        }
        assert_non_null(j[i].status);
    }
    batch_jobs_free(j, n);

    /* ListJobs in every state finds the first job somewhere. */
    static const char *const states[] = {"SUBMITTED", "PENDING",   "RUNNABLE", "STARTING",
                                         "RUNNING",   "SUCCEEDED", "FAILED"};
    int seen = 0;
    for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
        if (batch_list_jobs(c, queue, states[k], NULL, &j, &n, &err))
            fail_msg("ListJobs %s: %s", states[k], err.msg);
        for (size_t i = 0; i < n; i++)
            seen |= strcmp(j[i].job_id, id1) == 0;
        batch_jobs_free(j, n);
    }
    assert_true(seen);

    assert_int_equal(batch_terminate_job(c, id2, "integration test", &err), 0);

    /* A queue that does not exist is a clear client error. */
    struct batch_submit bad = {
        .job_name = "x", .job_queue = "btpipe-no-such-queue", .job_definition = jobdef};
    assert_int_not_equal(batch_submit_job(c, &bad, id1, sizeof(id1), &err), 0);
    assert_non_null(strstr(err.msg, "batch SubmitJob: HTTP"));
    batch_client_free(c);
}

int main(void) {
    if (!getenv("AWS_ENDPOINT_URL") || !getenv("AWS_ACCESS_KEY_ID")) {
        fprintf(stderr, "test_aws_integration: needs the local stack; run "
                        "deploy/local/stack-up.sh and source .stack/env (skipped)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_bucket_idempotent),
        cmocka_unit_test(test_put_head_get_large),
        cmocka_unit_test(test_awkward_keys),
        cmocka_unit_test(test_list_pages_max_keys),
        cmocka_unit_test(test_list_over_1000),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_wrong_secret_refused),
        cmocka_unit_test(test_storage_s3),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, setup_bucket, NULL);
}

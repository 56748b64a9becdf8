/* batch.c -- AWS Batch calls: POST /v1/<operation> with a JSON body,
 * SigV4-signed as service "batch", retried per http_client.h. */
#include "batch.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_config.h"
#include "aws_creds.h"
#include "buf.h"
#include "config.h"
#include "http_client.h"
#include "sigv4.h"

struct batch_client {
    struct aws_client_base aws;
};

static int client_new(const struct config *cfg, struct aws_creds_provider *creds,
                      struct batch_client **out, struct bt_err *err) {
    struct batch_client *c = calloc(1, sizeof(*c));
    if (!c) abort();
    int rc = aws_client_base_init(&c->aws, cfg, "batch", creds, err);
    if (rc) goto fail;
    *out = c;
    c = NULL;
fail:
    batch_client_free(c);
    return rc;
}

int batch_client_new(const struct config *cfg, struct batch_client **out, struct bt_err *err) {
    return client_new(cfg, NULL, out, err);
}

int batch_client_new_with_creds(const struct config *cfg, struct aws_creds_provider *creds,
                                struct batch_client **out, struct bt_err *err) {
    return client_new(cfg, creds, out, err);
}

void batch_client_free(struct batch_client *c) {
    if (!c) return;
    aws_client_base_free(&c->aws);
    free(c);
}

int batch_client_last_attempts(const struct batch_client *c) {
    return c->aws.last_attempts;
}

/* One Batch call being (re)built per attempt. */
struct batch_call {
    struct batch_client *c;
    const char *op;   /* "SubmitJob", for errors */
    const char *path; /* "/v1/submitjob" */
    const char *body;
};

static int batch_build(void *ud, int attempt, struct http_request *req, struct bt_err *err) {
    (void)attempt;
    struct batch_call *k = ud;
    struct aws_creds cr;
    struct sigv4_result res;
    struct buf path = BUF_INIT;
    int rc;
    memset(&cr, 0, sizeof(cr));
    sigv4_result_init(&res);
    if ((rc = aws_creds_provider_get(k->c->aws.creds, &cr, err))) goto fail;
    buf_printf(&path, "%s%s", k->c->aws.ep.path, k->path);
    struct sigv4_header hdrs[] = {{"Host", k->c->aws.ep.host},
                                  {"Content-Type", "application/json"}};
    struct sigv4_request sr = {.method = "POST",
                               .path = path.p,
                               .headers = hdrs,
                               .nheaders = 2,
                               .body = k->body,
                               .body_len = strlen(k->body)};
    struct sigv4_params sp = {.access_key = cr.access_key_id,
                              .secret_key = cr.secret_access_key,
                              .session_token = cr.session_token,
                              .region = k->c->aws.region,
                              .service = "batch",
                              .now = time(NULL),
                              .normalize_path = 1};
    if ((rc = sigv4_sign(&sr, &sp, &res, err))) goto fail;
    strcpy(req->method, "POST");
    buf_printf(&req->url, "%s://%s%s", k->c->aws.ep.scheme, k->c->aws.ep.host, res.canonical_uri.p);
    http_request_header(req, "Host", k->c->aws.ep.host);
    http_request_header(req, "Content-Type", "application/json");
    http_request_header(req, "X-Amz-Date", res.amz_date);
    if (cr.session_token) http_request_header(req, "X-Amz-Security-Token", cr.session_token);
    http_request_header(req, "Authorization", res.authorization.p);
    req->body = k->body;
    req->body_len = strlen(k->body);
    req->timeout_ms = k->c->aws.pol.timeout_ms;
fail:
    aws_creds_free(&cr);
    sigv4_result_free(&res);
    buf_free(&path);
    return rc;
}

/* Runs a call; 0 on 2xx with the body in resp, else an error naming the
 * operation, the status and Batch's error code. */
static int batch_run(struct batch_client *c, const char *op, const char *path, const char *body,
                     struct http_response *resp, struct bt_err *err) {
    struct batch_call k = {c, op, path, body};
    int rc = http_send(&c->aws.pol, batch_build, &k, resp, &c->aws.last_attempts, err);
    if (rc) {
        bt_err_prefix(err, "batch %s: ", op);
        return rc;
    }
    if (resp->status >= 200 && resp->status < 300) return 0;
    char code[128], msg[384];
    struct buf et = BUF_INIT;
    batch_parse_error(resp->body.p, resp->body.len,
                      http_response_header(resp, "x-amzn-ErrorType", &et), code, sizeof(code), msg,
                      sizeof(msg));
    buf_free(&et);
    int bc = resp->status == 401 || resp->status == 403                                  ? BT_EAUTH
             : resp->status >= 500 || http_is_throttle(resp->status, resp->body.p, code) ? BT_ENET
             : resp->status == 404 ? BT_ENOTFOUND
                                   : BT_EINPUT;
    return bt_err_set(err, bc, op, "batch %s: HTTP %ld %s%s%s", op, resp->status,
                      code[0] ? code : "Error", msg[0] ? ": " : "", msg);
}

int batch_submit_job(struct batch_client *c, const struct batch_submit *s, char *job_id,
                     size_t job_id_cap, struct bt_err *err) {
    char *body = NULL;
    json_t *root = NULL;
    struct http_response resp;
    http_response_init(&resp);
    int rc = batch_submit_json(s, &body, err);
    if (rc) goto fail;
    if ((rc = batch_run(c, "SubmitJob", "/v1/submitjob", body, &resp, err))) goto fail;
    json_error_t je;
    root = json_loadb(resp.body.p, resp.body.len, 0, &je);
    const char *id = json_string_value(json_object_get(root, "jobId"));
    if (!id || strlen(id) >= job_id_cap) {
        rc = bt_err_set(err, BT_EINPUT, "SubmitJob",
                        "batch SubmitJob %s: response has no "
                        "usable jobId",
                        s->job_name);
        goto fail;
    }
    snprintf(job_id, job_id_cap, "%s", id);
fail:
    json_decref(root);
    free(body);
    http_response_free(&resp);
    return rc;
}

/* One DescribeJobs/ListJobs page: runs op with body (freed here) and
 * appends the page's jobs to *all; *token (may be NULL) gets nextToken. */
static int jobs_page(struct batch_client *c, const char *op, const char *path, char *body,
                     struct http_response *resp, struct batch_job **all, size_t *nall, char **token,
                     struct bt_err *err) {
    struct batch_job *page;
    size_t np;
    int rc = batch_run(c, op, path, body, resp, err);
    free(body);
    if (rc) return rc;
    if ((rc = batch_parse_jobs_json(resp->body.p, resp->body.len, &page, &np, token, err))) {
        bt_err_prefix(err, "batch %s: ", op);
        return rc;
    }
    *all = realloc(*all, (*nall + np + 1) * sizeof(**all));
    if (!*all) abort();
    if (np) memcpy(*all + *nall, page, np * sizeof(*page));
    *nall += np;
    free(page);
    return 0;
}

int batch_describe_jobs(struct batch_client *c, const char *const *ids, size_t nids,
                        struct batch_job **out, size_t *nout, struct bt_err *err) {
    int rc = 0;
    struct batch_job *all = NULL;
    size_t nall = 0;
    struct http_response resp;
    http_response_init(&resp);
    *out = NULL;
    *nout = 0;
    for (size_t off = 0; off < nids; off += 100) {
        size_t n = nids - off < 100 ? nids - off : 100;
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_string(ids[off + i]));
        json_t *o = json_pack("{s:o}", "jobs", a);
        char *body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        rc = jobs_page(c, "DescribeJobs", "/v1/describejobs", body, &resp, &all, &nall, NULL, err);
        if (rc) goto fail;
    }
    *out = all;
    *nout = nall;
    all = NULL;
fail:
    if (all) batch_jobs_free(all, nall);
    http_response_free(&resp);
    return rc;
}

int batch_terminate_job(struct batch_client *c, const char *job_id, const char *reason,
                        struct bt_err *err) {
    struct http_response resp;
    http_response_init(&resp);
    json_t *o = json_pack("{s:s,s:s}", "jobId", job_id, "reason", reason ? reason : "btpipe");
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = batch_run(c, "TerminateJob", "/v1/terminatejob", body, &resp, err);
    free(body);
    http_response_free(&resp);
    return rc;
}

int batch_list_jobs(struct batch_client *c, const char *queue, const char *status,
                    const char *array_job_id, struct batch_job **out, size_t *nout,
                    struct bt_err *err) {
    int rc = 0;
    char *token = NULL;
    struct batch_job *all = NULL;
    size_t nall = 0;
    struct http_response resp;
    http_response_init(&resp);
    *out = NULL;
    *nout = 0;
    for (int page_no = 0; page_no < 100000; page_no++) {
        json_t *o = json_object();
        if (array_job_id)
            json_object_set_new(o, "arrayJobId", json_string(array_job_id));
        else if (queue)
            json_object_set_new(o, "jobQueue", json_string(queue));
        if (status) json_object_set_new(o, "jobStatus", json_string(status));
        if (token) json_object_set_new(o, "nextToken", json_string(token));
        char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        free(token); /* in body now; the page names the next one */
        token = NULL;
        rc = jobs_page(c, "ListJobs", "/v1/listjobs", body, &resp, &all, &nall, &token, err);
        if (rc) goto fail;
        if (!token) break;
    }
    *out = all;
    *nout = nall;
    all = NULL;
fail:
    if (all) batch_jobs_free(all, nall);
    free(token);
    http_response_free(&resp);
    return rc;
}

int batch_describe_job_queues(struct batch_client *c, const char *const *names, size_t nnames,
                              struct batch_queue **out, size_t *nout, struct bt_err *err) {
    struct http_response resp;
    http_response_init(&resp);
    json_t *o = json_object();
    if (nnames) {
        json_t *a = json_array();
        for (size_t i = 0; i < nnames; i++)
            json_array_append_new(a, json_string(names[i]));
        json_object_set_new(o, "jobQueues", a);
    }
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = batch_run(c, "DescribeJobQueues", "/v1/describejobqueues", body, &resp, err);
    free(body);
    if (rc == 0) {
        rc = batch_parse_queues_json(resp.body.p, resp.body.len, out, nout, err);
        if (rc) bt_err_prefix(err, "batch DescribeJobQueues: ");
    }
    http_response_free(&resp);
    return rc;
}

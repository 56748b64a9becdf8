/* test_planner_core.c -- the planner core, scenario by scenario.
 *
 * Each test drives the pure core through planner_sim (topics and executor
 * played in memory) with the engine's real expression analysis, and checks
 * the tasks it hands out field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "planner_sim.h"

#define SIGNAL BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_SIGNAL
#define TOPK BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_TOPK_DROPOUT
#define OK_ BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_SUCCEEDED

static const char *const D[] = {"2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05",
                                "2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11"};

/* The plan id of the i-th submission of the last decide. */
static char *sub_plan(struct sim *s, size_t i) {
    const Btpipe__V1__Task *t = sim_sub(s, i);
    assert_non_null(t);
    static char id[33];
    planner_plan_id(t->task_key, t->data_version, id);
    return id;
}

static void register_pair(struct sim *s) {
    assert_int_equal(sim_factor(s, "mom5", 1, "ts_delta(close, 5)", ""), 0);
    assert_int_equal(sim_strategy(s, "sig", 1, SIGNAL, NULL), 0);
}

/* A pair registered before any data: each landed date is one short task,
 * chained through state, with the factor's lookback (+1) as warm-up. */
static void test_daily_chain(void **st) {
    (void)st;
    struct sim s;
    sim_init(&s);
    register_pair(&s);
    assert_int_equal(sim_decide(&s), 0);
    int lb = planner_core_factor_lookback(s.core, "mom5");
    assert_int_equal(lb, 5);

    char prev_state[512] = "";
    for (int i = 0; i < 8; i++) {
        assert_int_equal(sim_increment(&s, "sp", D[i], D[i], 100 + i), 0);
        assert_int_equal(sim_decide(&s), 1);
        const Btpipe__V1__Task *t = sim_sub(&s, 0);
        assert_string_equal(t->from_date, D[i]);
        assert_string_equal(t->to_date, D[i]);
        /* warm-up: lookback + 1 trading days back, clamped to the first date */
        int w = i - (lb + 1) < 0 ? 0 : i - (lb + 1);
        assert_string_equal(t->warmup_from, D[w]);
        assert_string_equal(t->state_in_uri, prev_state);
        assert_string_equal(t->expr, "ts_delta(close, 5)");
        assert_string_equal(t->data_uri, "s3://data/sp/daily");
        assert_true(strncmp(t->state_out_uri, "s3://results/state/sig@1/mom5@1/sp/", 35) == 0);
        assert_true(strncmp(t->series_uri, "s3://results/series/sig@1/mom5@1/sp/", 36) == 0);
        char key[128];
        snprintf(key, sizeof key, "sig@1/mom5@1/sp/%s..%s", D[i], D[i]);
        assert_string_equal(t->task_key, key);
        snprintf(prev_state, sizeof prev_state, "%s", t->state_out_uri);
        assert_int_equal(sim_complete_all(&s), 1);
        assert_int_equal(sim_decide(&s), 0);
    }
    assert_int_equal(s.violations, 0);
    struct planner_stats ps;
    planner_core_stats(s.core, &ps);
    assert_int_equal(ps.pairs, 1);
    assert_int_equal(ps.pairs_current, 1);
    assert_int_equal(ps.tasks_succeeded, 8);
    sim_free(&s);
}

/* Data first, then the registrations: ONE backfill task over everything. */
static void test_backfill_on_register(void **st) {
    (void)st;
    struct sim s;
    sim_init(&s);
    for (int i = 0; i < 5; i++)
        sim_increment(&s, "sp", D[i], D[i], 100 + i);
    assert_int_equal(sim_decide(&s), 0); /* no pair yet */
    assert_int_equal(sim_factor(&s, "mom5", 1, "ts_delta(close, 5)", ""), 0);
    assert_int_equal(sim_decide(&s), 0); /* still no strategy */
    assert_int_equal(sim_strategy(&s, "sig", 1, SIGNAL, NULL), 0);
    assert_int_equal(sim_decide(&s), 1);
    const Btpipe__V1__Task *t = sim_sub(&s, 0);
    assert_string_equal(t->from_date, D[0]);
    assert_string_equal(t->to_date, D[4]);
    assert_string_equal(t->warmup_from, D[0]);
    assert_string_equal(t->state_in_uri, "");
    assert_int_equal(t->kind, SIGNAL);
    char first_state[512];
    snprintf(first_state, sizeof first_state, "%s", t->state_out_uri);
    sim_complete_all(&s);
    assert_int_equal(sim_decide(&s), 0);
    /* a second strategy gets its own backfill; the first pair is untouched */
    const char *p[] = {"k=3", "n=1", NULL};
    assert_int_equal(sim_strategy(&s, "topk", 2, TOPK, p), 0);
    assert_int_equal(sim_decide(&s), 1);
    t = sim_sub(&s, 0);
    assert_string_equal(t->strategy_id, "topk");
    assert_int_equal(t->strategy_version, 2);
    assert_int_equal(t->n_params, 2);
    assert_string_equal(t->params[0]->key, "k");
    assert_string_equal(t->params[1]->value, "1");
    sim_complete_all(&s);
    /* the next date continues the first pair from its backfill's state */
    sim_increment(&s, "sp", D[5], D[5], 200);
    assert_int_equal(sim_decide(&s), 2);
    for (size_t i = 0; i < 2; i++) {
        t = sim_sub(&s, i);
        assert_string_equal(t->from_date, D[5]);
        if (strcmp(t->strategy_id, "sig") == 0) assert_string_equal(t->state_in_uri, first_state);
        assert_string_equal(t->warmup_from, D[0]);
    }
    assert_int_equal(s.violations, 0);
    sim_free(&s);
}

/* The same facts twice change nothing. */
static void test_duplicates(void **st) {
    (void)st;
    struct sim s;
    sim_init(&s);
    register_pair(&s);
    sim_increment(&s, "sp", D[0], "v0", 100);
    assert_int_equal(sim_decide(&s), 1);
    char plan[33];
    snprintf(plan, sizeof plan, "%s", sub_plan(&s, 0));
    /* duplicate registrations and increment while the task runs */
    assert_int_equal(sim_factor(&s, "mom5", 1, "ts_delta(close, 5)", ""), 0);
    assert_int_equal(sim_strategy(&s, "sig", 1, SIGNAL, NULL), 0);
    sim_increment(&s, "sp", D[0], "v0", 100);
    for (size_t i = 0; i < s.nlog; i++)
        sim_redeliver(&s, i); /* every message again */
    assert_int_equal(sim_decide(&s), 0);
    assert_int_equal(s.last_jobs, 0);
    sim_complete(&s, plan, OK_);
    sim_complete(&s, plan, OK_); /* duplicate completion */
    assert_int_equal(sim_decide(&s), 0);
    size_t jobs = s.last_jobs; /* the SUCCEEDED record, once */
    assert_int_equal(jobs, 1);
    assert_int_equal(sim_decide(&s), 0);
    assert_int_equal(s.last_jobs, 0);
    /* an older factor version arriving late is ignored */
    assert_int_equal(sim_factor(&s, "mom5", 0, "close", ""), 0);
    assert_int_equal(sim_decide(&s), 0);
    assert_int_equal(s.violations, 0);
    sim_free(&s);
}

/* Dates landing while a pair's task runs wait for it, then go as one task. */
static void test_stateful_queue(void **st) {
    (void)st;
    struct sim s;
    sim_init(&s);
    register_pair(&s);
    sim_increment(&s, "sp", D[0], "v0", 100);
    assert_int_equal(sim_decide(&s), 1);
    char plan[33];
    snprintf(plan, sizeof plan, "%s", sub_plan(&s, 0));
    char state0[512];
    snprintf(state0, sizeof state0, "%s", sim_sub(&s, 0)->state_out_uri);
    sim_increment(&s, "sp", D[1], "v1", 101);
    assert_int_equal(sim_decide(&s), 0);
    sim_increment(&s, "sp", D[2], "v2", 102);
    assert_int_equal(sim_decide(&s), 0);
    struct planner_stats ps;
    planner_core_stats(s.core, &ps);
    assert_int_equal(ps.pairs_waiting, 1);
    sim_complete(&s, plan, OK_);
    assert_int_equal(sim_decide(&s), 1);
    const Btpipe__V1__Task *t = sim_sub(&s, 0);
    assert_string_equal(t->from_date, D[1]);
    assert_string_equal(t->to_date, D[2]);
    assert_string_equal(t->state_in_uri, state0);
    assert_int_equal(s.violations, 0);
    sim_free(&s);
}

/* A corrected date re-plans that date and every later one, from the state
 * before it; an early date landing late does the same. */
static void test_correction_and_late_date(void **st) {
    (void)st;
    struct sim s;
    sim_init(&s);
    register_pair(&s);
    char states[8][512];
    int order[] = {0, 1, 2, 4, 5}; /* D[3] lands late */
    for (int k = 0; k < 5; k++) {
        int i = order[k];
        sim_increment(&s, "sp", D[i], "v1", 100 + i);
        assert_int_equal(sim_decide(&s), 1);
        snprintf(states[i], sizeof states[i], "%s", sim_sub(&s, 0)->state_out_uri);
        sim_complete_all(&s);
    }
    /* correction of D[2]: one task [D2..D5] reading D1's state */
    sim_increment(&s, "sp", D[2], "v2", 500);
    assert_int_equal(sim_decide(&s), 1);
    const Btpipe__V1__Task *t = sim_sub(&s, 0);
    assert_string_equal(t->from_date, D[2]);
    assert_string_equal(t->to_date, D[5]);
    assert_string_equal(t->state_in_uri, states[1]);
    char corr_dv[64];
    snprintf(corr_dv, sizeof corr_dv, "%s", t->data_version);
    sim_complete_all(&s);
    assert_int_equal(sim_decide(&s), 0);
    /* the same correction again (replay) changes nothing */
    sim_increment(&s, "sp", D[2], "v2", 500);
    /* an older version of D[2] seen late changes nothing either */
    sim_increment(&s, "sp", D[2], "v1", 102);
    assert_int_equal(sim_decide(&s), 0);
    /* D[3] lands late, inside [D2..D5]: that task is stale now, so the walk
     * re-plans from its start, reading the state at D[1] again. */
    sim_increment(&s, "sp", D[3], "v1", 600);
    assert_int_equal(sim_decide(&s), 1);
    t = sim_sub(&s, 0);
    assert_string_equal(t->from_date, D[2]);
    assert_string_equal(t->to_date, D[5]);
    assert_string_equal(t->state_in_uri, states[1]);
    assert_string_not_equal(t->data_version, corr_dv);
    sim_complete_all(&s);
    assert_int_equal(sim_decide(&s), 0);
    assert_int_equal(s.violations, 0);
    sim_free(&s);
}

/* Registrations that cannot be planned are refused with a reason; the
 * previous good registration stays. */
static void test_invalid_specs(void **st) {
    (void)st;
    struct sim s;
    sim_init(&s);
    struct bt_err err = BT_ERR_INIT;
    Btpipe__V1__FactorSpec f = BTPIPE__V1__FACTOR_SPEC__INIT;
    f.factor_id = "f1";
    f.version = 1;
    f.expr = "";
    assert_int_equal(planner_core_on_factor(s.core, "f1", &f, &err), BT_EINPUT);
    assert_string_equal(err.where, "expr");
    assert_non_null(strstr(err.msg, "empty expression"));

    f.expr = "rank(ts_delta(close, 5)";
    assert_int_equal(planner_core_on_factor(s.core, "f1", &f, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "bad expression"));
    assert_true(strncmp(err.where, "expr:", 5) == 0); /* the engine's position */

    f.expr = "nosuchop(close)";
    assert_int_equal(planner_core_on_factor(s.core, "f1", &f, &err), BT_EINPUT);

    f.expr = "close";
    f.factor_id = "bad/id";
    assert_int_equal(planner_core_on_factor(s.core, "bad/id", &f, &err), BT_EINPUT);
    assert_string_equal(err.where, "factor_id");

    f.factor_id = "f1";
    assert_int_equal(planner_core_on_factor(s.core, "other", &f, &err), BT_EINPUT);
    assert_string_equal(err.where, "key");

    assert_int_equal(planner_core_on_factor(s.core, "f1", &f, &err), 0);
    f.expr = "open"; /* same version, other expression */
    assert_int_equal(planner_core_on_factor(s.core, "f1", &f, &err), BT_EINPUT);
    assert_string_equal(err.where, "version");
    assert_int_equal(planner_core_factor_lookback(s.core, "f1"), 0);
    f.expr = "ts_mean(close, 10)";
    f.version = 2;
    assert_int_equal(planner_core_on_factor(s.core, "f1", &f, &err), 0);
    assert_int_equal(planner_core_factor_lookback(s.core, "f1"), 9);
    f.expr = "ts_mean(close,";
    f.version = 3;
    assert_int_equal(planner_core_on_factor(s.core, "f1", &f, &err), BT_EINPUT);
    assert_int_equal(planner_core_factor_lookback(s.core, "f1"), 9); /* v2 kept */

    Btpipe__V1__StrategySpec sp = BTPIPE__V1__STRATEGY_SPEC__INIT;
    sp.strategy_id = "s1";
    sp.version = 1;
    sp.kind = 99;
    assert_int_equal(planner_core_on_strategy(s.core, "s1", &sp, &err), BT_EINPUT);
    assert_string_equal(err.where, "kind");
    assert_non_null(strstr(err.msg, "unknown strategy kind 99"));
    sp.kind = BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_UNSPECIFIED;
    assert_int_equal(planner_core_on_strategy(s.core, "s1", &sp, &err), BT_EINPUT);
    sp.kind = BTPIPE__V1__STRATEGY_KIND__STRATEGY_KIND_CONTAINER;
    assert_int_equal(planner_core_on_strategy(s.core, "s1", &sp, &err), BT_EINPUT);
    assert_non_null(strstr(err.msg, "container"));

    sp.kind = SIGNAL;
    Btpipe__V1__Param p1 = BTPIPE__V1__PARAM__INIT, p2 = BTPIPE__V1__PARAM__INIT;
    Btpipe__V1__Param *pp[2] = {&p1, &p2};
    p1.key = "cash";
    p1.value = "1000";
    p2.key = "cash";
    p2.value = "lots";
    sp.params = pp;
    sp.n_params = 2;
    assert_int_equal(planner_core_on_strategy(s.core, "s1", &sp, &err), BT_EINPUT);
    assert_non_null(strstr(err.where, "params[1]"));
    p2.key = "no_such_param";
    p2.value = "1";
    assert_int_equal(planner_core_on_strategy(s.core, "s1", &sp, &err), BT_EINPUT);
    assert_non_null(strstr(err.where, "no_such_param"));
    sp.n_params = 1;
    assert_int_equal(planner_core_on_strategy(s.core, "s1", &sp, &err), 0);

    Btpipe__V1__DataIncrement inc = BTPIPE__V1__DATA_INCREMENT__INIT;
    inc.dataset = "sp";
    inc.trading_date = "2024-13-01";
    inc.data_version = "v";
    assert_int_equal(planner_core_on_increment(s.core, &inc, &err), BT_EINPUT);
    assert_string_equal(err.where, "trading_date");
    inc.trading_date = "2024-01-02";
    inc.data_version = "";
    assert_int_equal(planner_core_on_increment(s.core, &inc, &err), BT_EINPUT);
    assert_string_equal(err.where, "data_version");
    inc.data_version = "v";
    inc.layout = "yahoo";
    assert_int_equal(planner_core_on_increment(s.core, &inc, &err), BT_EINPUT);
    assert_string_equal(err.where, "layout");

    Btpipe__V1__JobCompletion c = BTPIPE__V1__JOB_COMPLETION__INIT;
    assert_int_equal(planner_core_on_completion(s.core, &c, &err), BT_EINPUT);

    /* nothing planned from all that: the valid pair has no data yet */
    assert_int_equal(sim_decide(&s), 0);
    struct planner_stats ps;
    planner_core_stats(s.core, &ps);
    assert_int_equal(ps.factors, 1);
    assert_int_equal(ps.strategies, 1);
    assert_int_equal(ps.dates, 0);
    sim_free(&s);
}

/* Kill the planner with tasks in flight: a core rebuilt from the topics
 * re-submits exactly those, and nothing that completed. */
static void test_crash_restart(void **st) {
    (void)st;
    for (unsigned rot = 0; rot < 5; rot++) {
        struct sim s;
        sim_init(&s);
        for (int i = 0; i < 4; i++)
            sim_increment(&s, "sp", D[i], "v", 100 + i);
        register_pair(&s);
        assert_int_equal(sim_strategy(&s, "topk", 1, TOPK, NULL), 0);
        assert_int_equal(sim_decide(&s), 2); /* two backfills */
        /* finish one, leave one running */
        const Btpipe__V1__Task *t0 = sim_sub(&s, 0);
        char done[33], left[33];
        planner_plan_id(t0->task_key, t0->data_version, done);
        snprintf(left, sizeof left, "%s", sub_plan(&s, 1));
        sim_complete(&s, done, OK_);
        sim_increment(&s, "sp", D[4], "v", 200);
        assert_int_equal(sim_decide(&s), 1); /* the finished pair's next date */
        char third[33];
        snprintf(third, sizeof third, "%s", sub_plan(&s, 0));
        size_t nsubs = s.nsubs;

        sim_crash(&s, rot);
        assert_int_equal(sim_decide(&s), 2);
        char a[33], b[33];
        snprintf(a, sizeof a, "%s", sub_plan(&s, 0));
        snprintf(b, sizeof b, "%s", sub_plan(&s, 1));
        assert_true((strcmp(a, left) == 0 && strcmp(b, third) == 0) ||
                    (strcmp(a, third) == 0 && strcmp(b, left) == 0));
        assert_int_equal(s.nsubs, nsubs + 2);
        assert_int_equal(sim_decide(&s), 0); /* no duplicate submissions */

        /* and the rebuilt core carries on as the old one would have */
        sim_complete_all(&s);
        assert_int_equal(sim_decide(&s), 1); /* the other pair's D[4] */
        assert_string_equal(sim_sub(&s, 0)->from_date, D[4]);
        sim_complete_all(&s);
        assert_int_equal(sim_decide(&s), 0);
        struct planner_stats ps;
        planner_core_stats(s.core, &ps);
        assert_int_equal(ps.pairs_current, 2);
        assert_int_equal(s.violations, 0);
        sim_free(&s);
    }
}

/* The executor gives up: the planner writes the FAILED completion; the pair
 * stops until its input changes. */
static void test_exec_failure(void **st) {
    (void)st;
    struct sim s;
    sim_init(&s);
    register_pair(&s);
    sim_increment(&s, "sp", D[0], "v", 100);
    assert_int_equal(sim_decide(&s), 1);
    char plan[33];
    snprintf(plan, sizeof plan, "%s", sub_plan(&s, 0));
    struct planner_decisions d = {0};
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(planner_core_on_exec_started(s.core, plan, "4242", 1, 5, &d, &err), 0);
    assert_int_equal(d.njobs, 1);
    assert_int_equal(d.jobs[0].rec->state, BTPIPE__V1__JOB_STATE__JOB_STATE_RUNNING);
    assert_string_equal(d.jobs[0].rec->external_id, "4242");
    planner_decisions_free(&d);
    assert_int_equal(planner_core_on_exec_failed(s.core, plan, 3, 0, "exit 1", 9, &d, &err), 0);
    assert_int_equal(d.ncompletions, 1);
    Btpipe__V1__JobCompletion *c = d.completions[0];
    assert_int_equal(c->status, BTPIPE__V1__COMPLETION_STATUS__COMPLETION_STATUS_FAILED);
    assert_int_equal(c->attempt, 3);
    assert_string_equal(c->error, "exit 1");
    char id[512];
    snprintf(id, sizeof id, "%s/%s", c->task_key, c->data_version);
    assert_string_equal(c->meta->id, id);
    assert_int_equal(d.njobs, 1);
    assert_int_equal(d.jobs[0].rec->state, BTPIPE__V1__JOB_STATE__JOB_STATE_FAILED);
    planner_decisions_free(&d);
    assert_int_equal(planner_core_on_exec_failed(s.core, "nope", 1, 0, "x", 9, &d, &err),
                     BT_ENOTFOUND);
    sim_increment(&s, "sp", D[1], "v", 101);
    assert_int_equal(sim_decide(&s), 0);
    struct planner_stats ps;
    planner_core_stats(s.core, &ps);
    assert_int_equal(ps.pairs_stuck, 1);
    /* a correction of the failed date unblocks the pair */
    sim_increment(&s, "sp", D[0], "v2", 300);
    assert_int_equal(sim_decide(&s), 1);
    assert_string_equal(sim_sub(&s, 0)->from_date, D[0]);
    assert_string_equal(sim_sub(&s, 0)->to_date, D[1]);
    sim_free(&s);
}

/* Universe filters, new versions and retirement. */
static void test_universe_versions_retire(void **st) {
    (void)st;
    struct sim s;
    sim_init(&s);
    assert_int_equal(sim_strategy(&s, "sig", 1, SIGNAL, NULL), 0);
    assert_int_equal(sim_factor(&s, "only_a", 1, "close", "dsa"), 0);
    assert_int_equal(sim_factor(&s, "all", 1, "close", ""), 0);
    sim_increment(&s, "dsa", D[0], "v", 1);
    sim_increment(&s, "dsb", D[0], "v", 1);
    assert_int_equal(sim_decide(&s), 3); /* only_a x dsa, all x dsa, all x dsb */
    for (size_t i = 0; i < 3; i++)
        if (strcmp(sim_sub(&s, i)->factor_id, "only_a") == 0)
            assert_string_equal(sim_sub(&s, i)->dataset, "dsa");
    sim_complete_all(&s);
    /* a new version backfills from scratch under its own key */
    assert_int_equal(sim_factor(&s, "all", 2, "open", ""), 0);
    assert_int_equal(sim_decide(&s), 2);
    assert_int_equal(sim_sub(&s, 0)->factor_version, 2);
    assert_string_equal(sim_sub(&s, 0)->state_in_uri, "");
    sim_complete_all(&s);
    /* retired: nothing more for it */
    assert_int_equal(sim_factor_tombstone(&s, "all"), 0);
    sim_increment(&s, "dsa", D[1], "v", 2);
    sim_increment(&s, "dsb", D[1], "v", 2);
    assert_int_equal(sim_decide(&s), 1);
    assert_string_equal(sim_sub(&s, 0)->factor_id, "only_a");
    assert_int_equal(s.violations, 0);
    sim_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_chain),
        cmocka_unit_test(test_backfill_on_register),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_stateful_queue),
        cmocka_unit_test(test_correction_and_late_date),
        cmocka_unit_test(test_invalid_specs),
        cmocka_unit_test(test_crash_restart),
        cmocka_unit_test(test_exec_failure),
        cmocka_unit_test(test_universe_versions_retire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

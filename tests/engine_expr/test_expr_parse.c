/* test_expr_parse.c -- parse errors with exact positions, bounds, lookback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expr.h"

/* Parses text expecting failure with code, message and where. */
static void expect_error(const char *text, int code, const char *msg, const char *where) {
    struct expr_ast *ast = (struct expr_ast *)1;
    struct bt_err err = BT_ERR_INIT;
    int rc = expr_parse(text, &ast, &err);
    if (rc != code || strcmp(err.msg, msg) != 0 || strcmp(err.where, where) != 0)
        fail_msg("'%s': got %d '%s' at '%s', want %d '%s' at '%s'", text, rc, err.msg, err.where,
                 code, msg, where);
    assert_null(ast);
}

static int lookback_of(const char *text) {
    int lb = -1;
    struct bt_err err = BT_ERR_INIT;
    if (expr_lookback_text(text, &lb, &err)) fail_msg("'%s': %s", text, err.msg);
    return lb;
}

static void test_error_positions(void **state) {
    (void)state;
    expect_error("rank(close) + ts_meen(close, 5)", BT_EINPUT, "1:15: unknown function 'ts_meen'",
                 "expr:1:15");
    expect_error(
        "close +", BT_EINPUT,
        "1:8: unexpected end of expression, expected a number, an input, a function or '('",
        "expr:1:8");
    expect_error("rank(close", BT_EINPUT, "1:11: unexpected end of expression, expected ',' or ')'",
                 "expr:1:11");
    expect_error("ts_mean(close, open)", BT_EINPUT,
                 "1:16: window of ts_mean must be a number literal", "expr:1:16");
    expect_error("ts_mean(close, 0.5)", BT_EINPUT,
                 "1:16: window of ts_mean must be at least 1 (got 0.5)", "expr:1:16");
    expect_error("ts_mean(close, 20000)", BT_ELIMIT,
                 "1:16: window of ts_mean is larger than 10000 (got 20000)", "expr:1:16");
    expect_error("close # 2", BT_EINPUT, "1:7: unexpected character '#'", "expr:1:7");
    expect_error("closes", BT_EINPUT, "1:1: unknown input 'closes'", "expr:1:1");
    expect_error("2 * close(1)", BT_EINPUT, "1:5: 'close' is an input, not a function", "expr:1:5");
    expect_error("rank + 1", BT_EINPUT, "1:1: function 'rank' needs arguments: rank(...)",
                 "expr:1:1");
    expect_error("ts_mean(close)", BT_EINPUT,
                 "1:1: ts_mean takes 2 arguments (x, d), got 1 argument", "expr:1:1");
    expect_error("correlation(close, open)", BT_EINPUT,
                 "1:1: correlation takes 3 arguments (x, y, d), got 2 arguments", "expr:1:1");
    expect_error("close +\n  foo", BT_EINPUT, "2:3: unknown input 'foo'", "expr:2:3");
    expect_error("close = open", BT_EINPUT, "1:7: unexpected '=' (did you mean '=='?)", "expr:1:7");
    expect_error("(close))", BT_EINPUT,
                 "1:8: unexpected ')', expected end of expression (unbalanced ')')", "expr:1:8");
    expect_error("close ? open", BT_EINPUT, "1:13: unexpected end of expression, expected ':'",
                 "expr:1:13");
    expect_error("", BT_EINPUT, "1:1: empty expression", "expr:1:1");
    expect_error("   ", BT_EINPUT, "1:4: empty expression", "expr:1:4");
    expect_error("close open", BT_EINPUT,
                 "1:7: unexpected 'open', expected an operator or end of expression", "expr:1:7");
    expect_error("1.5e", BT_EINPUT, "1:4: unexpected 'e' after a number", "expr:1:4");
    expect_error("scale(close, open)", BT_EINPUT,
                 "1:14: scale's second argument must be a number literal", "expr:1:14");
    expect_error("adv0", BT_ELIMIT, "1:1: window of adv0 must be between 1 and 10000", "expr:1:1");
    expect_error("close\x01", BT_EINPUT, "1:6: unexpected byte 0x01", "expr:1:6");
}

static void test_bounds(void **state) {
    (void)state;
    struct bt_err err = BT_ERR_INIT;
    struct expr_ast *ast;
    /* length */
    size_t n = EXPR_MAX_TEXT + 10;
    char *t = malloc(n + 1);
    memset(t, ' ', n);
    t[n] = '\0';
    memcpy(t, "close", 5);
    assert_int_equal(expr_parse(t, &ast, &err), BT_ELIMIT);
    assert_string_equal(err.msg, "expression longer than 16384 bytes");
    /* nesting by parentheses */
    int depth = 500;
    char *p = t;
    for (int i = 0; i < depth; i++)
        *p++ = '(';
    p += sprintf(p, "close");
    for (int i = 0; i < depth; i++)
        *p++ = ')';
    *p = '\0';
    assert_int_equal(expr_parse(t, &ast, &err), BT_ELIMIT);
    assert_non_null(strstr(err.msg, "nested deeper than 96"));
    /* nesting by unary minus */
    p = t;
    for (int i = 0; i < depth; i++)
        *p++ = '-';
    strcpy(p, "close");
    assert_int_equal(expr_parse(t, &ast, &err), BT_ELIMIT);
    /* nesting by calls */
    p = t;
    for (int i = 0; i < 200; i++)
        p += sprintf(p, "abs(");
    p += sprintf(p, "close");
    for (int i = 0; i < 200; i++)
        *p++ = ')';
    *p = '\0';
    assert_int_equal(expr_parse(t, &ast, &err), BT_ELIMIT);
    /* a moderately deep one is fine */
    p = t;
    for (int i = 0; i < 40; i++)
        *p++ = '(';
    p += sprintf(p, "close");
    for (int i = 0; i < 40; i++)
        *p++ = ')';
    *p = '\0';
    assert_int_equal(expr_parse(t, &ast, &err), 0);
    expr_free(ast);
    /* node count: close+close+... with 2100 terms is 4199 nodes */
    p = t;
    for (int i = 0; i < 2100; i++)
        p += sprintf(p, "%sclose", i ? "+" : "");
    assert_int_equal(expr_parse(t, &ast, &err), BT_ELIMIT);
    assert_non_null(strstr(err.msg, "more than 4096 nodes"));
    /* 1000 terms fit */
    p = t;
    for (int i = 0; i < 1000; i++)
        p += sprintf(p, "%sclose", i ? "+" : "");
    assert_int_equal(expr_parse(t, &ast, &err), 0);
    assert_int_equal(expr_node_count(ast), 1999);
    expr_free(ast);
    /* window bound is inclusive */
    assert_int_equal(expr_parse("ts_sum(close, 10000)", &ast, &err), 0);
    expr_free(ast);
    free(t);
}

static void test_lookback(void **state) {
    (void)state;
    assert_int_equal(lookback_of("close"), 0);
    assert_int_equal(lookback_of("rank(ts_delta(close, 5))"), 5);
    assert_int_equal(lookback_of("rank(delta(close, 5))"), 5);
    assert_int_equal(lookback_of("ts_mean(close, 10)"), 9);
    assert_int_equal(lookback_of("ts_mean(ts_mean(close, 10), 5)"), 13);
    assert_int_equal(lookback_of("delay(close, 3)"), 3);
    assert_int_equal(lookback_of("returns"), 1);
    assert_int_equal(lookback_of("ts_mean(returns, 5)"), 5);
    assert_int_equal(lookback_of("adv20"), 19);
    assert_int_equal(lookback_of("ts_corr(returns, adv20, 10)"), 28);
    assert_int_equal(lookback_of("close > 0 ? delay(close, 7) : ts_sum(open, 3)"), 7);
    assert_int_equal(lookback_of("ts_mean(close, 9.99)"), 8); /* floor */
    assert_int_equal(lookback_of("min(close, 5)"), 4);        /* ts_min */
    assert_int_equal(lookback_of("min(close, 1)"), 0);        /* elementwise */
    assert_int_equal(lookback_of("max(close, 5.0)"), 0);      /* elementwise */
    assert_int_equal(lookback_of("rank(close) - ts_rank(delay(close, 2), 3)"), 4);
}

static void test_syntax_accepted(void **state) {
    (void)state;
    const char *ok[] = {
        "2.",
        ".001",
        "1e-3",
        "1.5E+2",
        "-1 * 1",
        "close^2",
        "2^-1",
        "-close^2",
        "Ts_ArgMax(close, 5)",
        "SignedPower(close, 2)",
        "Log(close)",
        "Sign(close)",
        "ADV20",
        "!close",
        "close != 1 || open == 2 && high >= 3",
    };
    struct bt_err err = BT_ERR_INIT;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int lb;
        if (expr_lookback_text(ok[i], &lb, &err)) fail_msg("'%s': %s", ok[i], err.msg);
    }
    int lb;
    assert_int_equal(expr_lookback_text("((rank(close) < rank(open)) * -1)", &lb, &err), 0);
    assert_int_equal(expr_lookback_text("(a ? b : c)", &lb, &err), BT_EINPUT);
    assert_string_equal(err.msg, "1:2: unknown input 'a'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_lookback),
        cmocka_unit_test(test_syntax_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

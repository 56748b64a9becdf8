/* Configuration: file parsing, environment precedence, typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static int parse(struct config *c, const char *text, struct bt_err *err) {
    *c = (struct config)CONFIG_INIT;
    return config_parse(c, text, strlen(text), "test.env", err);
}

static void test_parse_lines(void **state) {
    (void)state;
    struct config c;
    struct bt_err err = BT_ERR_INIT;
    unsetenv("BTT_A");
    unsetenv("BTT_B");
    unsetenv("BTT_C");
    unsetenv("BTT_D");
    unsetenv("BTT_E");
    const char *text = "# comment\n"
                       "\n"
                       "BTT_A=one\n"
                       "  BTT_B = two words  \r\n"
                       "export BTT_C=\"quoted # not a comment\"\n"
                       "BTT_D='x=y'\n"
                       "BTT_A=later wins\n"
                       "BTT_E=";
    assert_int_equal(parse(&c, text, &err), 0);
    assert_string_equal(config_get(&c, "BTT_A"), "later wins");
    assert_string_equal(config_get(&c, "BTT_B"), "two words");
    assert_string_equal(config_get(&c, "BTT_C"), "quoted # not a comment");
    assert_string_equal(config_get(&c, "BTT_D"), "x=y");
    assert_null(config_get(&c, "BTT_E")); /* empty means unset */
    assert_string_equal(config_get_default(&c, "BTT_E", "dflt"), "dflt");
    assert_string_equal(config_origin(&c, "BTT_A"), "config:7");
    config_free(&c);
}

static void test_parse_errors_name_line(void **state) {
    (void)state;
    struct config c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(parse(&c, "A=1\n\nno equals here\n", &err), BT_ECONFIG);
    assert_string_equal(err.where, "test.env:3:1");
    assert_non_null(strstr(err.msg, "test.env:3:1"));
    config_free(&c);

    assert_int_equal(parse(&c, "OK=1\n  9BAD=1\n", &err), BT_ECONFIG);
    assert_string_equal(err.where, "test.env:2:3");
    assert_non_null(strstr(err.msg, "9BAD"));
    config_free(&c);

    assert_int_equal(parse(&c, "Q=\"open\n", &err), BT_ECONFIG);
    assert_string_equal(err.where, "test.env:1:3");
    assert_non_null(strstr(err.msg, "unterminated quote"));
    config_free(&c);

    struct config c2 = CONFIG_INIT;
    assert_int_equal(config_parse(&c2, "A=1\0B=2", 7, "bin", &err), BT_ECONFIG);
    config_free(&c2);
}

static void test_env_wins_over_file(void **state) {
    (void)state;
    char path[] = "/tmp/btpipe-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "BTT_WIN=file\nBTT_ONLY_FILE=f\nBTT_PROP_x_y=1\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv("BTPIPE_CONFIG_FILE", path, 1);
    setenv("BTT_WIN", "env", 1);
    unsetenv("BTT_ONLY_FILE");
    struct config c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(config_load(&c, &err), 0);
    assert_string_equal(config_get(&c, "BTT_WIN"), "env");
    assert_string_equal(config_origin(&c, "BTT_WIN"), "environment");
    assert_string_equal(config_get(&c, "BTT_ONLY_FILE"), "f");
    char want[300];
    snprintf(want, sizeof want, "%s:2", path);
    assert_string_equal(config_origin(&c, "BTT_ONLY_FILE"), want);
    config_free(&c);

    /* A missing file is an error naming the variable. */
    setenv("BTPIPE_CONFIG_FILE", "/nonexistent/btpipe.env", 1);
    assert_int_equal(config_load(&c, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "BTPIPE_CONFIG_FILE"));
    unsetenv("BTPIPE_CONFIG_FILE");
    unsetenv("BTT_WIN");
    unlink(path);
}

static void test_int_and_bool(void **state) {
    (void)state;
    struct config c;
    struct bt_err err = BT_ERR_INIT;
    long v = 0;
    int b = 0;
    assert_int_equal(parse(&c,
                           "BTT_N=42\nBTT_BAD=4x\nBTT_BIG=99999\nBTT_T=Yes\nBTT_F=off\n"
                           "BTT_NB=maybe\n",
                           &err),
                     0);
    assert_int_equal(config_int(&c, "BTT_N", 1, 0, 100, &v, &err), 0);
    assert_int_equal(v, 42);
    assert_int_equal(config_int(&c, "BTT_UNSET_N", 7, 0, 100, &v, &err), 0);
    assert_int_equal(v, 7);
    assert_int_equal(config_int(&c, "BTT_BAD", 1, 0, 100, &v, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "BTT_BAD"));
    assert_non_null(strstr(err.msg, "'4x'"));
    assert_non_null(strstr(err.msg, "config:2")); /* says where the value came from */
    assert_int_equal(config_int(&c, "BTT_BIG", 1, 0, 100, &v, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "BTT_BIG=99999"));
    assert_non_null(strstr(err.msg, "[0, 100]"));
    setenv("BTT_ENV_N", "-5", 1);
    assert_int_equal(config_int(&c, "BTT_ENV_N", 1, -10, 10, &v, &err), 0);
    assert_int_equal(v, -5);
    setenv("BTT_ENV_N", " 5", 1);
    assert_int_equal(config_int(&c, "BTT_ENV_N", 1, -10, 10, &v, &err), BT_ECONFIG);
    unsetenv("BTT_ENV_N");

    assert_int_equal(config_bool(&c, "BTT_T", 0, &b, &err), 0);
    assert_int_equal(b, 1);
    assert_int_equal(config_bool(&c, "BTT_F", 1, &b, &err), 0);
    assert_int_equal(b, 0);
    assert_int_equal(config_bool(&c, "BTT_UNSET_B", 1, &b, &err), 0);
    assert_int_equal(b, 1);
    assert_int_equal(config_bool(&c, "BTT_NB", 0, &b, &err), BT_ECONFIG);
    assert_non_null(strstr(err.msg, "BTT_NB"));
    assert_non_null(strstr(err.msg, "'maybe'"));

    const char *s = NULL;
    assert_int_equal(config_require(&c, "BTT_MISSING", &s, &err), BT_ECONFIG);
    assert_string_equal(err.where, "BTT_MISSING");
    assert_non_null(strstr(err.msg, "BTT_MISSING"));
    assert_int_equal(config_require(&c, "BTT_N", &s, &err), 0);
    assert_string_equal(s, "42");
    config_free(&c);
}

struct seen {
    char names[16][64];
    char values[16][64];
    int n;
};

static void collect(const char *name, const char *value, void *ud) {
    struct seen *s = ud;
    if (s->n < 16) {
        snprintf(s->names[s->n], 64, "%s", name);
        snprintf(s->values[s->n], 64, "%s", value);
        s->n++;
    }
}

static const char *seen_get(const struct seen *s, const char *name) {
    const char *v = NULL;
    int count = 0;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) v = s->values[i], count++;
    assert_true(count <= 1); /* every name reported once */
    return v;
}

static void test_each_prefixed(void **state) {
    (void)state;
    struct config c;
    struct bt_err err = BT_ERR_INIT;
    assert_int_equal(parse(&c, "BTTP_a=file\nBTTP_b=old\nBTTP_b=new\nOTHER=x\n", &err), 0);
    setenv("BTTP_a", "env", 1);
    setenv("BTTP_c", "envonly", 1);
    struct seen s = {0};
    config_each_prefixed(&c, "BTTP_", collect, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(seen_get(&s, "BTTP_a"), "env");
    assert_string_equal(seen_get(&s, "BTTP_b"), "new");
    assert_string_equal(seen_get(&s, "BTTP_c"), "envonly");
    unsetenv("BTTP_a");
    unsetenv("BTTP_c");
    config_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_lines),        cmocka_unit_test(test_parse_errors_name_line),
        cmocka_unit_test(test_env_wins_over_file), cmocka_unit_test(test_int_and_bool),
        cmocka_unit_test(test_each_prefixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Logging: every line is one JSON object with ts, level, svc, msg, fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "log.h"

/* Runs the logger into a temp file and returns the lines parsed. */
static json_t *capture_begin(FILE **f) {
    *f = tmpfile();
    assert_non_null(*f);
    log_set_stream(*f);
    return NULL;
}

static json_t *read_lines(FILE *f) {
    json_t *arr = json_array();
    char line[8192];
    log_set_stream(NULL);
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        json_error_t je;
        size_t n = strlen(line);
        assert_true(n > 0 && line[n - 1] == '\n'); /* one event per line */
        json_t *o = json_loads(line, 0, &je);
        if (!o) fail_msg("line does not parse as JSON: %s (%s)", line, je.text);
        json_array_append_new(arr, o);
    }
    fclose(f);
    return arr;
}

static void test_fields_and_escaping(void **state) {
    (void)state;
    FILE *f;
    capture_begin(&f);
    log_init("planner", LOG_DEBUG);
    log_event(LOG_INFO, "planned \"x\"\n", "plan_id", "p\\1", "ctl", "a\x01\tb", "utf8",
              "caf\xc3\xa9 \xe2\x82\xac", "bad_utf8", "x\xff\xc3(y", "msg", "shadow", NULL);
    log_msgf(LOG_WARN, "count=%d", 3);
    log_event(LOG_DEBUG, "dbg", NULL);
    json_t *lines = read_lines(f);
    assert_int_equal(json_array_size(lines), 3);
    json_t *o = json_array_get(lines, 0);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "svc")), "planner");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "planned \"x\"\n");
    assert_string_equal(json_string_value(json_object_get(o, "plan_id")), "p\\1");
    assert_string_equal(json_string_value(json_object_get(o, "ctl")), "a\x01\tb");
    assert_string_equal(json_string_value(json_object_get(o, "utf8")), "caf\xc3\xa9 \xe2\x82\xac");
    /* invalid bytes become U+FFFD, valid ones survive */
    assert_string_equal(json_string_value(json_object_get(o, "bad_utf8")),
                        "x\xef\xbf\xbd\xef\xbf\xbd(y");
    /* a field may not replace the line's own keys */
    assert_string_equal(json_string_value(json_object_get(o, "field_msg")), "shadow");
    const char *ts = json_string_value(json_object_get(o, "ts"));
    assert_non_null(ts);
    /* RFC 3339 UTC with milliseconds: 2026-01-02T03:04:05.678Z */
    assert_int_equal(strlen(ts), 24);
    assert_true(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
    o = json_array_get(lines, 1);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "count=3");
    o = json_array_get(lines, 2);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "debug");
    json_decref(lines);
}

static void test_level_filter(void **state) {
    (void)state;
    FILE *f;
    int ok = 0;
    enum log_level l = log_level_parse("WARN", &ok);
    assert_true(ok);
    assert_int_equal(l, LOG_WARN);
    log_level_parse("loud", &ok);
    assert_false(ok);
    assert_int_equal(log_level_parse("error", &ok), LOG_ERROR);
    capture_begin(&f);
    log_init("svc", l);
    log_event(LOG_INFO, "hidden", NULL);
    log_event(LOG_DEBUG, "hidden", NULL);
    log_event(LOG_ERROR, "shown", NULL);
    json_t *lines = read_lines(f);
    assert_int_equal(json_array_size(lines), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 0), "msg")),
                        "shown");
    json_decref(lines);
}

static void test_json_string(void **state) {
    (void)state;
    struct buf b = BUF_INIT;
    log_json_string(&b, "a\"b\\c\x7f\x1f");
    assert_string_equal(b.p, "\"a\\\"b\\\\c\\u007f\\u001f\"");
    buf_reset(&b);
    /* overlong encoding and lone surrogate are not UTF-8 */
    log_json_string(&b, "\xc0\xaf\xed\xa0\x80");
    json_error_t je;
    json_t *v = json_loads(b.p, JSON_DECODE_ANY, &je);
    assert_non_null(v);
    json_decref(v);
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_and_escaping),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_json_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

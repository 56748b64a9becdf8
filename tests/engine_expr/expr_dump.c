/* expr_dump.c -- evaluates expressions over chosen sp500 symbols and
 * writes "expr,date,symbol,value" CSV (value %.17g, empty for NaN), for
 * ref_check.py to compare with pandas.
 * usage: expr_dump DATA_DIR EXPR_FILE SYM... (EXPR_FILE: one per line) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "expr.h"
#include "expr_testdata.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s DATA_DIR EXPR_FILE SYM...\n", argv[0]);
        return 2;
    }
    struct panel p;
    if (td_load_sp500(argv[1], (const char *const *)argv + 3, argc - 3, &p)) return 1;
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    struct expr_prog *pg = expr_prog_new();
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        struct bt_err err = BT_ERR_INIT;
        if (expr_prog_add(pg, line, &err) < 0) {
            fprintf(stderr, "expr %d: %s\n", n, err.msg);
            return 2;
        }
        n++;
    }
    fclose(f);
    struct bt_err err = BT_ERR_INIT;
    if (expr_prog_eval(pg, &p, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("expr,date,symbol,value\n");
    for (int i = 0; i < n; i++) {
        const double *v = expr_prog_result(pg, i);
        for (int d = 0; d < p.ndates; d++)
            for (int s = 0; s < p.nsyms; s++) {
                double x = v[panel_idx(&p, d, s)];
                if (isnan(x))
                    printf("%d,%d,%s,\n", i, p.dates[d], p.syms[s]);
                else
                    printf("%d,%d,%s,%.17g\n", i, p.dates[d], p.syms[s], x);
            }
    }
    expr_prog_free(pg);
    panel_free(&p);
    return 0;
}

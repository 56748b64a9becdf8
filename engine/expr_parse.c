/* expr_parse.c -- text -> AST by recursive descent, with sugar expanded.
 *
 * Precedence, loosest first (C's, plus '^' from the Alpha101 paper):
 *   ?:  (right)   ||   &&   == !=   < <= > >=   + -   * /   unary - + !
 *   ^   (right, binds tighter than unary minus: -x^2 = -(x^2))
 * Every recursion passes through parse_cond or parse_unary, which count
 * depth, so hostile nesting stops at EXPR_MAX_DEPTH instead of the stack. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expr_int.h"
#include "panel.h"

struct parser {
    const char *text;
    struct expr_lexer lx;
    struct expr_token tok; /* current token */
    struct expr_node *nodes;
    int n, cap;
    int depth;
    struct bt_err *err;
};

/* A call argument: either an expression node or a bare number literal
 * (kept apart so window literals never become graph nodes). */
struct arg {
    int node; /* -1 for a bare literal */
    int is_lit;
    int is_int;
    double v;
    size_t off;
};

static int parse_cond(struct parser *ps, int *out);
static int parse_unary(struct parser *ps, int *out);

static int advance(struct parser *ps) {
    return expr_lex_next(&ps->lx, &ps->tok, ps->err);
}

/* Error at the current token naming what was found. */
static int unexpected(struct parser *ps, const char *wanted) {
    const struct expr_token *t = &ps->tok;
    if (t->kind == ET_END)
        return expr_err_at(ps->err, BT_EINPUT, ps->text, t->off, "unexpected end of expression%s%s",
                           wanted ? ", expected " : "", wanted ? wanted : "");
    int len = t->len > 40 ? 40 : (int)t->len;
    return expr_err_at(ps->err, BT_EINPUT, ps->text, t->off, "unexpected '%.*s'%s%s", len,
                       ps->text + t->off, wanted ? ", expected " : "", wanted ? wanted : "");
}

/* Appends a node, computing its lookback from its children. */
static int add_node(struct parser *ps, int op, int nargs, const int *a, int win, double num,
                    size_t off, int *out) {
    if (ps->n >= EXPR_MAX_NODES)
        return expr_err_at(ps->err, BT_ELIMIT, ps->text, off, "expression has more than %d nodes",
                           EXPR_MAX_NODES);
    if (ps->n == ps->cap) {
        int cap = ps->cap ? ps->cap * 2 : 32;
        struct expr_node *nn = realloc(ps->nodes, (size_t)cap * sizeof *nn);
        if (!nn) abort();
        ps->nodes = nn;
        ps->cap = cap;
    }
    struct expr_node *nd = &ps->nodes[ps->n];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->nargs = nargs;
    nd->win = win;
    nd->num = num;
    int lb = 0;
    for (int i = 0; i < nargs; i++) {
        nd->a[i] = a[i];
        if (ps->nodes[a[i]].lookback > lb) lb = ps->nodes[a[i]].lookback;
    }
    if (op == EOP_DELAY || op == EOP_DELTA)
        lb += win;
    else if (expr_op_is_ts(op))
        lb += win - 1;
    nd->lookback = lb;
    *out = ps->n++;
    return 0;
}

static int add1(struct parser *ps, int op, int x, size_t off, int *out) {
    return add_node(ps, op, 1, &x, 0, 0, off, out);
}

static int add2(struct parser *ps, int op, int x, int y, size_t off, int *out) {
    int a[2] = {x, y};
    return add_node(ps, op, 2, a, 0, 0, off, out);
}

static int add_const(struct parser *ps, double v, size_t off, int *out) {
    return add_node(ps, EOP_CONST, 0, NULL, 0, v, off, out);
}

/* returns = close / delay(close, 1) - 1, as pandas pct_change. */
static int add_returns(struct parser *ps, size_t off, int *out) {
    int c, d, q, one, rc;
    if ((rc = add_node(ps, EOP_INPUT, 0, NULL, PF_CLOSE, 0, off, &c))) return rc;
    if ((rc = add_node(ps, EOP_DELAY, 1, &c, 1, 0, off, &d))) return rc;
    if ((rc = add2(ps, EOP_DIV, c, d, off, &q))) return rc;
    if ((rc = add_const(ps, 1.0, off, &one))) return rc;
    return add2(ps, EOP_SUB, q, one, off, out);
}

/* Window literal -> integer days (floor), checked against the bounds. */
static int window_of(struct parser *ps, const char *fname, const struct arg *a, int *win) {
    if (!a->is_lit)
        return expr_err_at(ps->err, BT_EINPUT, ps->text, a->off,
                           "window of %s must be a number literal", fname);
    double f = floor(a->v);
    if (!(f >= 1))
        return expr_err_at(ps->err, BT_EINPUT, ps->text, a->off,
                           "window of %s must be at least 1 (got %g)", fname, a->v);
    if (f > EXPR_MAX_WINDOW)
        return expr_err_at(ps->err, BT_ELIMIT, ps->text, a->off,
                           "window of %s is larger than %d (got %g)", fname, EXPR_MAX_WINDOW, a->v);
    *win = (int)f;
    return 0;
}

/* Turns a bare literal argument into a node when it is used as a value. */
static int arg_node(struct parser *ps, struct arg *a) {
    if (a->node >= 0) return 0;
    return add_const(ps, a->v, a->off, &a->node);
}

/* Peeks whether the current NUM token is the whole argument. */
static int bare_literal_ahead(struct parser *ps) {
    if (ps->tok.kind != ET_NUM) return 0;
    struct expr_lexer copy = ps->lx;
    struct expr_token next;
    if (expr_lex_next(&copy, &next, NULL)) return 0;
    return next.kind == ET_COMMA || next.kind == ET_RPAREN;
}

static int parse_args(struct parser *ps, struct arg *args, int *nargs) {
    int rc;
    *nargs = 0;
    if ((rc = advance(ps))) return rc; /* past '(' */
    if (ps->tok.kind == ET_RPAREN) return advance(ps);
    for (;;) {
        if (*nargs == 4) return unexpected(ps, "')' (too many arguments)");
        struct arg *a = &args[(*nargs)++];
        memset(a, 0, sizeof *a);
        a->off = ps->tok.off;
        a->node = -1;
        if (bare_literal_ahead(ps)) {
            a->is_lit = 1;
            a->is_int = ps->tok.is_int;
            a->v = ps->tok.num;
            if ((rc = advance(ps))) return rc;
        } else if ((rc = parse_cond(ps, &a->node))) {
            return rc;
        }
        if (ps->tok.kind == ET_RPAREN) return advance(ps);
        if (ps->tok.kind != ET_COMMA) return unexpected(ps, "',' or ')'");
        if ((rc = advance(ps))) return rc;
    }
}

static int wrong_arity(struct parser *ps, const struct expr_fn *fn, size_t off, int got,
                       const char *shape) {
    return expr_err_at(ps->err, BT_EINPUT, ps->text, off, "%s takes %s, got %d argument%s",
                       fn->name, shape, got, got == 1 ? "" : "s");
}

static int parse_call(struct parser *ps, const struct expr_fn *fn, size_t off, int *out) {
    struct arg args[4];
    int na, rc, win;
    if ((rc = parse_args(ps, args, &na))) return rc;
    switch (fn->kind) {
    case EFN_ELEM:
        if (na != fn->nargs)
            return wrong_arity(ps, fn, off, na,
                               fn->nargs == 1 ? "1 argument (x)" : "2 arguments (x, y)");
        for (int i = 0; i < na; i++)
            if ((rc = arg_node(ps, &args[i]))) return rc;
        if (na == 1) return add1(ps, fn->op, args[0].node, off, out);
        return add2(ps, fn->op, args[0].node, args[1].node, off, out);
    case EFN_MINMAX:
        if (na != 2) return wrong_arity(ps, fn, off, na, "2 arguments (x, y) or (x, d)");
        if (args[1].is_lit && args[1].is_int && args[1].v >= 2) {
            int op = fn->op == EOP_MIN ? EOP_TS_MIN : EOP_TS_MAX;
            if ((rc = arg_node(ps, &args[0]))) return rc;
            if ((rc = window_of(ps, fn->name, &args[1], &win))) return rc;
            return add_node(ps, op, 1, &args[0].node, win, 0, off, out);
        }
        for (int i = 0; i < na; i++)
            if ((rc = arg_node(ps, &args[i]))) return rc;
        return add2(ps, fn->op, args[0].node, args[1].node, off, out);
    case EFN_TS: {
        if (na != fn->nargs + 1)
            return wrong_arity(ps, fn, off, na,
                               fn->nargs == 1 ? "2 arguments (x, d)" : "3 arguments (x, y, d)");
        if ((rc = window_of(ps, fn->name, &args[na - 1], &win))) return rc;
        int a[2];
        for (int i = 0; i < fn->nargs; i++) {
            if ((rc = arg_node(ps, &args[i]))) return rc;
            a[i] = args[i].node;
        }
        return add_node(ps, fn->op, fn->nargs, a, win, 0, off, out);
    }
    case EFN_CS:
        if (na != 1) return wrong_arity(ps, fn, off, na, "1 argument (x)");
        if ((rc = arg_node(ps, &args[0]))) return rc;
        return add1(ps, fn->op, args[0].node, off, out);
    case EFN_SCALE: {
        if (na != 1 && na != 2) return wrong_arity(ps, fn, off, na, "1 or 2 arguments (x[, a])");
        double a = 1.0;
        if (na == 2) {
            if (!args[1].is_lit)
                return expr_err_at(ps->err, BT_EINPUT, ps->text, args[1].off,
                                   "scale's second argument must be a number literal");
            a = args[1].v;
        }
        if ((rc = arg_node(ps, &args[0]))) return rc;
        return add_node(ps, EOP_SCALE, 1, &args[0].node, 0, a, off, out);
    }
    default: break;
    }
    return expr_err_at(ps->err, BT_EINTERNAL, ps->text, off, "bad function kind");
}

/* adv{d}: ts_mean(volume, d); nonzero when the identifier is one. */
static int is_adv(const char *s, size_t len) {
    if (len < 4 || (s[0] | 0x20) != 'a' || (s[1] | 0x20) != 'd' || (s[2] | 0x20) != 'v') return 0;
    for (size_t i = 3; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int parse_ident(struct parser *ps, int *out) {
    const char *s = ps->text + ps->tok.off;
    size_t len = ps->tok.len, off = ps->tok.off;
    int shown = len > 40 ? 40 : (int)len, rc;
    if ((rc = advance(ps))) return rc;
    int call = ps->tok.kind == ET_LPAREN;
    const struct expr_fn *fn = expr_fn_find(s, len);
    if (call) {
        if (fn) return parse_call(ps, fn, off, out);
        if (expr_input_find(s, len) >= 0 || is_adv(s, len) ||
            (len == 7 && strncasecmp(s, "returns", 7) == 0))
            return expr_err_at(ps->err, BT_EINPUT, ps->text, off,
                               "'%.*s' is an input, not a function", shown, s);
        return expr_err_at(ps->err, BT_EINPUT, ps->text, off, "unknown function '%.*s'", shown, s);
    }
    int f = expr_input_find(s, len);
    if (f >= 0) return add_node(ps, EOP_INPUT, 0, NULL, f, 0, off, out);
    if (len == 7 && strncasecmp(s, "returns", 7) == 0) return add_returns(ps, off, out);
    if (is_adv(s, len)) {
        if (len - 3 > 5 || atoi(s + 3) > EXPR_MAX_WINDOW || atoi(s + 3) < 1)
            return expr_err_at(ps->err, BT_ELIMIT, ps->text, off,
                               "window of %.*s must be between 1 and %d", shown, s,
                               EXPR_MAX_WINDOW);
        int v;
        if ((rc = add_node(ps, EOP_INPUT, 0, NULL, PF_VOLUME, 0, off, &v))) return rc;
        return add_node(ps, EOP_TS_MEAN, 1, &v, atoi(s + 3), 0, off, out);
    }
    if (fn)
        return expr_err_at(ps->err, BT_EINPUT, ps->text, off,
                           "function '%.*s' needs arguments: %.*s(...)", shown, s, shown, s);
    return expr_err_at(ps->err, BT_EINPUT, ps->text, off, "unknown input '%.*s'", shown, s);
}

static int parse_primary(struct parser *ps, int *out) {
    int rc;
    switch (ps->tok.kind) {
    case ET_NUM: {
        size_t off = ps->tok.off;
        double v = ps->tok.num;
        if ((rc = advance(ps))) return rc;
        return add_const(ps, v, off, out);
    }
    case ET_IDENT: return parse_ident(ps, out);
    case ET_LPAREN:
        if ((rc = advance(ps))) return rc;
        if ((rc = parse_cond(ps, out))) return rc;
        if (ps->tok.kind != ET_RPAREN) return unexpected(ps, "')'");
        return advance(ps);
    default: return unexpected(ps, "a number, an input, a function or '('");
    }
}

static int parse_pow(struct parser *ps, int *out) {
    int rc, x, y;
    if ((rc = parse_primary(ps, &x))) return rc;
    if (ps->tok.kind != ET_CARET) {
        *out = x;
        return 0;
    }
    size_t off = ps->tok.off;
    if ((rc = advance(ps))) return rc;
    if ((rc = parse_unary(ps, &y))) return rc;
    return add2(ps, EOP_POW, x, y, off, out);
}

static int parse_unary(struct parser *ps, int *out) {
    int rc, x;
    if (++ps->depth > EXPR_MAX_DEPTH) {
        rc = expr_err_at(ps->err, BT_ELIMIT, ps->text, ps->tok.off,
                         "expression nested deeper than %d", EXPR_MAX_DEPTH);
        goto done;
    }
    int kind = ps->tok.kind;
    if (kind == ET_MINUS || kind == ET_PLUS || kind == ET_NOT) {
        size_t off = ps->tok.off;
        if ((rc = advance(ps))) goto done;
        if ((rc = parse_unary(ps, &x))) goto done;
        if (kind == ET_PLUS)
            *out = x;
        else
            rc = add1(ps, kind == ET_MINUS ? EOP_NEG : EOP_NOT, x, off, out);
        goto done;
    }
    rc = parse_pow(ps, out);
done:
    ps->depth--;
    return rc;
}

/* One left-associative binary level: ops[i] token -> eops[i] operator. */
typedef int (*level_fn)(struct parser *, int *);

static int parse_level(struct parser *ps, level_fn next, const int *toks, const int *eops, int n,
                       int *out) {
    int rc, x, y;
    if ((rc = next(ps, &x))) return rc;
    for (;;) {
        int i;
        for (i = 0; i < n && toks[i] != ps->tok.kind; i++)
            ;
        if (i == n) break;
        size_t off = ps->tok.off;
        if ((rc = advance(ps))) return rc;
        if ((rc = next(ps, &y))) return rc;
        if ((rc = add2(ps, eops[i], x, y, off, &x))) return rc;
    }
    *out = x;
    return 0;
}

static int parse_mul(struct parser *ps, int *out) {
    static const int t[] = {ET_STAR, ET_SLASH}, o[] = {EOP_MUL, EOP_DIV};
    return parse_level(ps, parse_unary, t, o, 2, out);
}

static int parse_add(struct parser *ps, int *out) {
    static const int t[] = {ET_PLUS, ET_MINUS}, o[] = {EOP_ADD, EOP_SUB};
    return parse_level(ps, parse_mul, t, o, 2, out);
}

static int parse_rel(struct parser *ps, int *out) {
    static const int t[] = {ET_LT, ET_LE, ET_GT, ET_GE}, o[] = {EOP_LT, EOP_LE, EOP_GT, EOP_GE};
    return parse_level(ps, parse_add, t, o, 4, out);
}

static int parse_eq(struct parser *ps, int *out) {
    static const int t[] = {ET_EQ, ET_NE}, o[] = {EOP_EQ, EOP_NE};
    return parse_level(ps, parse_rel, t, o, 2, out);
}

static int parse_and(struct parser *ps, int *out) {
    static const int t[] = {ET_AND}, o[] = {EOP_AND};
    return parse_level(ps, parse_eq, t, o, 1, out);
}

static int parse_or(struct parser *ps, int *out) {
    static const int t[] = {ET_OR}, o[] = {EOP_OR};
    return parse_level(ps, parse_and, t, o, 1, out);
}

static int parse_cond(struct parser *ps, int *out) {
    int rc, c, a, b;
    if (++ps->depth > EXPR_MAX_DEPTH) {
        rc = expr_err_at(ps->err, BT_ELIMIT, ps->text, ps->tok.off,
                         "expression nested deeper than %d", EXPR_MAX_DEPTH);
        goto done;
    }
    if ((rc = parse_or(ps, &c))) goto done;
    if (ps->tok.kind != ET_QUEST) {
        *out = c;
        goto done;
    }
    size_t off = ps->tok.off;
    if ((rc = advance(ps))) goto done;
    if ((rc = parse_cond(ps, &a))) goto done;
    if (ps->tok.kind != ET_COLON) {
        rc = unexpected(ps, "':'");
        goto done;
    }
    if ((rc = advance(ps))) goto done;
    if ((rc = parse_cond(ps, &b))) goto done;
    int args[3] = {c, a, b};
    rc = add_node(ps, EOP_COND, 3, args, 0, 0, off, out);
done:
    ps->depth--;
    return rc;
}

int expr_parse(const char *text, struct expr_ast **out, struct bt_err *err) {
    struct parser ps;
    int rc, root;
    *out = NULL;
    memset(&ps, 0, sizeof ps);
    if (!text) return bt_err_set(err, BT_EINPUT, "expr", "no expression given");
    size_t len = strnlen(text, (size_t)EXPR_MAX_TEXT + 1);
    if (len > EXPR_MAX_TEXT)
        return bt_err_set(err, BT_ELIMIT, "expr", "expression longer than %d bytes", EXPR_MAX_TEXT);
    ps.text = text;
    ps.lx.text = text;
    ps.lx.len = len;
    ps.err = err;
    if ((rc = advance(&ps))) goto fail;
    if (ps.tok.kind == ET_END) {
        rc = expr_err_at(err, BT_EINPUT, text, ps.tok.off, "empty expression");
        goto fail;
    }
    if ((rc = parse_cond(&ps, &root))) goto fail;
    if (ps.tok.kind != ET_END) {
        rc = unexpected(&ps, ps.tok.kind == ET_RPAREN ? "end of expression (unbalanced ')')"
                                                      : "an operator or end of expression");
        goto fail;
    }
    struct expr_ast *ast = malloc(sizeof *ast);
    if (!ast) abort();
    ast->nodes = ps.nodes;
    ast->n = ps.n;
    ast->root = root;
    *out = ast;
    return 0;
fail:
    free(ps.nodes);
    return rc;
}

void expr_free(struct expr_ast *ast) {
    if (!ast) return;
    free(ast->nodes);
    free(ast);
}

int expr_lookback(const struct expr_ast *ast) {
    return ast->nodes[ast->root].lookback;
}

int expr_node_count(const struct expr_ast *ast) {
    return ast->n;
}

int expr_lookback_text(const char *text, int *lookback, struct bt_err *err) {
    struct expr_ast *ast;
    int rc = expr_parse(text, &ast, err);
    if (rc) return rc;
    *lookback = expr_lookback(ast);
    expr_free(ast);
    return 0;
}

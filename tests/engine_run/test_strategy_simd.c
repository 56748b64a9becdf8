/* test_strategy_simd.c -- the three strategies' daily steps, bit for bit
 * against the code they replaced (kept below as the reference: branch by
 * branch, symbol by symbol, the held names rescanned every day), on the
 * portable path and on the AVX-512 one, over panels built to hit the edges:
 * ties, -0.0, infinities and NaN in the factor, zero, huge and missing
 * prices, symbol counts that leave partial vector blocks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu.h"
#include "run.h"
#include "strategy.h"

/* ---- the reference: the steps as they were, verbatim but renamed ---- */

/* BackBroker._execute for a market buy filling at price o: cash for the
 * shares, then the commission; refused (Margin) when cash would go negative. */
static double ref_fill_buy(struct run_book *b, int s, double o, double comm) {
    double size = b->pend[s], cash = b->cash_s[s];
    cash -= size * o;
    cash -= size * comm * o;
    if (cash < 0.0) return 0.0;
    b->cash_s[s] = cash;
    b->pos[s] = size;
    b->entry[s] = o;
    return size * o;
}

/* BackBroker._execute closing the long at price o: the position's cost back
 * plus the profit and loss, less the commission at the fill price. */
static double ref_fill_sell(struct run_book *b, int s, double o, double comm) {
    double size = b->pos[s];
    double pnl = size * (o - b->entry[s]) * 1.0;
    double closedvalue = size * b->entry[s];
    b->cash_s[s] += closedvalue + pnl * 1;
    b->cash_s[s] -= size * comm * o;
    b->pos[s] = 0;
    b->entry[s] = 0;
    return size * o;
}

static void ref_signal_step(struct run_book *b, const struct panel *p, const double *factor, int d,
                            const struct run_params *prm, struct run_day *out) {
    const double *open = p->f[PF_OPEN], *close = p->f[PF_CLOSE];
    double comm = prm->commission, traded = 0, value = 0;
    for (int s = 0; s < p->nsyms; s++) {
        size_t i = panel_idx(p, d, s);
        double o = open[i], c = close[i];
        /* no bar: the symbol's feed has no such day; its order waits */
        if (isfinite(o) && isfinite(c)) {
            if (b->pend[s] > 0)
                traded += ref_fill_buy(b, s, o, comm);
            else if (b->pend[s] < 0)
                traded += ref_fill_sell(b, s, o, comm);
            b->pend[s] = 0;
            b->last_close[s] = c;
            double f = factor[i];
            if (b->pos[s] == 0 && f > 0) {
                double size = trunc(b->cash_s[s] / c);
                /* checksubmit pseudo-executes at the order's creation price
                 * (this close) and refuses what cash would not cover */
                double left = b->cash_s[s] - size * c - size * comm * c;
                if (size > 0 && left >= 0.0) b->pend[s] = size;
            } else if (b->pos[s] != 0 && f < 0) {
                b->pend[s] = -b->pos[s];
            }
        }
        double v = b->cash_s[s];
        if (b->pos[s] != 0) v += b->pos[s] * b->last_close[s];
        value += v;
    }
    out->value = value;
    out->traded = traded;
}

static inline double select_bits(int cond, double a, double b) {
    uint64_t ua, ub, m = (uint64_t)0 - (uint64_t)(cond != 0);
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, sizeof a);
    return a;
}

static double ref_mark_list(struct run_book *b, const struct panel *p, int d, const int *list,
                            int n) {
    const double *close = p->f[PF_CLOSE] + panel_idx(p, d, 0);
    double pnl = 0;
    for (int i = 0; i < n; i++) {
        int s = list[i];
        double c = close[s], lc = b->last_close[s], pos = b->pos[s];
        if (!isfinite(c)) continue;
        /* Whether a listed name can be marked (a last close to mark from) is
         * a coin flip the branch predictor would lose, so every name goes
         * through the same arithmetic and one that cannot gains -0.0: adding
         * -0.0 is the exact identity (x + -0.0 == x bit for bit, zeros
         * included), so pnl and pos are untouched. The division of such a
         * name may give inf or NaN: it is dropped. */
        int held = (pos != 0) & (isfinite(lc) != 0) & (lc != 0);
        double r = c / lc - 1.0;
        double gain = select_bits(held, pos * r, -0.0);
        pnl += gain;
        b->pos[s] = pos + gain;
        b->last_close[s] = c;
    }
    return pnl;
}

static int ref_held(const struct run_book *b, int *list) {
    int n = 0;
    for (int s = 0; s < b->nsyms; s++) {
        list[n] = s;
        n += b->pos[s] != 0;
    }
    return n;
}

static double ref_book_sum(const struct run_book *b, const int *list, int n) {
    double v = b->cash;
    for (int i = 0; i < n; i++)
        v += b->pos[list[i]];
    /* the names left out hold +-0.0, whose sum changes nothing unless v
     * is -0.0: then add them the long way */
    if (v == 0 && signbit(v)) {
        v = b->cash;
        for (int s = 0; s < b->nsyms; s++)
            v += b->pos[s];
    }
    return v;
}

static void ref_lsq_step(struct run_book *b, const struct panel *p, const double *factor,
                         const struct run_order *order, int d, const struct run_params *prm,
                         double *scratch, int *iscratch, struct run_day *out) {
    int ns = p->nsyms, n = 0, q = prm->quantiles, nlist = 0;
    double *x = scratch;
    int *sym = iscratch, *bucket = iscratch + ns, *pos = iscratch + 2 * ns,
        *ord = iscratch + 3 * ns, *held = iscratch + 4 * ns;
    const double *frow = factor + panel_idx(p, d, 0), *crow = p->f[PF_CLOSE] + panel_idx(p, d, 0);
    /* only the names with a position move */
    b->value += ref_mark_list(b, p, d, held, ref_held(b, held));
    /* tradable today: a bar and a factor value; every bar is the name's
     * last close, held or not (the mark above kept the held ones') */
    for (int s = 0; s < ns; s++) {
        pos[s] = -1;
        if (isfinite(crow[s])) {
            b->last_close[s] = crow[s];
            if (isfinite(frow[s])) {
                x[n] = frow[s];
                sym[n] = s;
                pos[s] = n++;
            }
        }
    }
    int nlong = 0, nshort = 0, ends = 0;
    double elo = 0, ehi = 0;
    if (n >= 2) {
        /* the same values ascending: the factor's order, filtered alike */
        const int *list = run_order_at(order, d, &nlist);
        int m = 0;
        for (int i = 0; i < nlist; i++)
            if (pos[list[i]] >= 0) ord[m++] = pos[list[i]];
        if (m != n) abort(); /* the order must be this factor's, covering d */
        if (quantile_ends(x, ord, n, q, &elo, &ehi)) {
            /* the two end buckets are the ends of the sorted values */
            ends = 1;
            while (nshort < n && x[ord[nshort]] <= elo)
                nshort++;
            while (nlong < n && x[ord[n - 1 - nlong]] > ehi)
                nlong++;
        } else {
            quantile_buckets_order(x, ord, n, q, bucket);
            for (int k = 0; k < n; k++) {
                nlong += bucket[k] == q - 1;
                nshort += bucket[k] == 0;
            }
        }
    }
    double v = b->value, traded = 0;
    /* the two targets, divided once (the same expressions, so the same bits) */
    int trade = nlong > 0 && nshort > 0;
    double tlong = trade ? 0.5 * v / nlong : 0, tshort = trade ? -0.5 * v / nshort : 0;
    /* the buckets fall in no pattern by symbol: the target is picked, not
     * branched on (without a trade both targets are 0) */
    for (int k = 0; k < n; k++) {
        int s = sym[k];
        int top = ends ? x[k] > ehi : bucket[k] == q - 1,
            bottom = ends ? x[k] <= elo : bucket[k] == 0;
        double target = select_bits(top, tlong, select_bits(bottom, tshort, 0.0));
        traded += fabs(target - b->pos[s]);
        b->pos[s] = target;
    }
    /* names without a bar today cannot trade: they keep their exposure */
    b->value -= traded * prm->cost_bps * 1e-4;
    out->value = b->value;
    out->traded = traded;
}

/* i before j: best score first, NaN last, then symbol order (a total
 * order). */
static inline int ref_topk_before(const double *score, int i, int j) {
    int in = isnan(score[i]), jn = isnan(score[j]);
    if (in != jn) return jn;
    if (!in && score[i] != score[j]) return score[i] > score[j];
    return i < j;
}

/* Turns each run of equal scores in v[0..n) back to ascending symbols: a
 * walk down the ascending (score, symbol) order lists them descending. */
static void ref_reverse_ties(const double *score, int *v, int n) {
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && score[v[j]] == score[v[i]])
            j++;
        for (int a = i, z = j - 1; a < z; a++, z--) {
            int t = v[a];
            v[a] = v[z];
            v[z] = t;
        }
        i = j;
    }
}

/* The held names with a score (nheld of them) into last and the best `want`
 * candidates (not held, a bar today, a finite score) into cand, each in
 * topk_before's order: the factor's ascending (score, symbol) order read
 * backwards, each run of equal scores then turned back to ascending
 * symbols. One walk instead of a sort of the held names; it stops once it
 * has both, though not inside the run of the last candidate's score,
 * since the lowest symbols of that run are the ones wanted. cand needs
 * room for nlist names. Returns how many candidates (fewer than want when
 * the date has fewer). */
static int ref_topk_walk(const struct run_book *b, const double *score, const double *crow,
                         const int *list, int nlist, int nheld, int *last, int want, int *cand) {
    int nc = 0, nl = 0, i = nlist - 1;
    /* past want, candidates still come while the score is the want-th's */
    for (; i >= 0 && (nc < want || nl < nheld); i--) {
        int s = list[i];
        if (b->pos[s] > 0)
            last[nl++] = s;
        else if ((nc < want || (want > 0 && score[s] == score[cand[want - 1]])) &&
                 isfinite(crow[s]) && isfinite(score[s]))
            cand[nc++] = s;
    }
    for (; want > 0 && nc >= want && i >= 0 && score[list[i]] == score[cand[want - 1]]; i--) {
        int s = list[i];
        if (b->pos[s] <= 0 && isfinite(crow[s]) && isfinite(score[s])) cand[nc++] = s;
    }
    ref_reverse_ties(score, last, nl);
    ref_reverse_ties(score, cand, nc);
    return nc < want ? nc : want;
}

static void ref_topk_step(struct run_book *b, const struct panel *p, const double *factor,
                          const struct run_order *order, int d, const struct run_params *prm,
                          int *iscratch, struct run_day *out) {
    const double *close = p->f[PF_CLOSE];
    const double *score = factor + panel_idx(p, d, 0), *crow = close + panel_idx(p, d, 0);
    int ns = p->nsyms, nlast = 0, ncand = 0, k = prm->k, ndrop = prm->n, nlist = 0, nheld = 0;
    int *last = iscratch, *cand = iscratch + ns, *comb = iscratch + 2 * ns;
    double c = prm->cost_bps * 1e-4, traded = 0;
    /* the names with a position, in symbol order (comb is free until the
     * merge): only they move when marked */
    nheld = ref_held(b, comb);
    ref_mark_list(b, p, d, comb, nheld);
    /* held names: about k of them, their scores possibly NaN or infinite */
    int nscored = 0;
    for (int i = 0; i < nheld; i++) {
        int s = comb[i];
        nlast += b->pos[s] > 0;
        nscored += b->pos[s] > 0 && !isnan(score[s]);
    }
    const int *list = run_order_at(order, d, &nlist);
    if (!list) abort(); /* run_pair_shared always passes an order covering d */
    int want = ndrop + k - nlast;
    ncand = ref_topk_walk(b, score, crow, list, nlist, nscored, last, want < 0 ? 0 : want, cand);
    /* then the held names without a score, in symbol order */
    for (int i = 0, m = nscored; i < nheld; i++) {
        int s = comb[i];
        if (b->pos[s] > 0 && isnan(score[s])) last[m++] = s;
    }
    int ntoday = ndrop + k - nlast;
    ntoday = ntoday < 0 ? 0 : ntoday > ncand ? ncand : ntoday;
    /* last and today are each sorted and disjoint: merging them is sorting
     * their union under the same total order */
    int ncomb = 0, il = 0, it = 0;
    while (il < nlast || it < ntoday) {
        if (it == ntoday || (il < nlast && ref_topk_before(score, last[il], cand[it])))
            comb[ncomb++] = last[il++];
        else
            comb[ncomb++] = cand[it++];
    }
    /* sell: held names in the last ndrop of comb (Qlib counts them as sold
     * even when they cannot trade today; they are then simply kept) */
    int nsell = 0;
    for (int i = ncomb - ndrop < 0 ? 0 : ncomb - ndrop; i < ncomb; i++) {
        int s = comb[i];
        if (b->pos[s] <= 0) continue;
        nsell++;
        if (!isfinite(close[panel_idx(p, d, s)])) continue;
        traded += b->pos[s];
        b->cash += b->pos[s] - b->pos[s] * c;
        b->pos[s] = 0;
    }
    int nbuy = nsell + k - nlast;
    nbuy = nbuy < 0 ? 0 : nbuy > ntoday ? ntoday : nbuy;
    if (nbuy > 0 && b->cash > 0) {
        double share = b->cash / nbuy, notional = share / (1.0 + c);
        for (int i = 0; i < nbuy; i++) {
            b->pos[cand[i]] = notional;
            /* bought at this close, which is what a mark would have kept */
            b->last_close[cand[i]] = crow[cand[i]];
            traded += notional;
        }
        b->cash -= share * nbuy;
        if (b->cash < 0) b->cash = 0; /* rounding dust, never a real debt */
    }
    b->value = ref_book_sum(b, comb, ref_held(b, comb));
    out->value = b->value;
    out->traded = traded;
}

/* ---- the comparison ---- */

/* Deterministic pseudo-random numbers in [0, 1), so failures reproduce. */
static double rnd(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* A panel and factor that visit the edges: factor values drawn from a few
 * levels (ties, -0.0 next to 0.0) or continuous, with NaN and +-inf; prices
 * from cents to above a signal sleeve, some bars missing, some closes 0
 * (a mark from 0 is skipped) or infinite (no bar). */
static void make_edge_panel(struct panel *p, double **factor, int nd, int ns, uint64_t seed,
                            int style) {
    static const double levels[] = {-2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0};
    assert_int_equal(panel_alloc(p, nd, ns), 0);
    *factor = malloc(sizeof(double) * (size_t)nd * (size_t)ns);
    assert_non_null(*factor);
    for (int s = 0; s < ns; s++) {
        char name[16];
        snprintf(name, sizeof name, "S%03d", s);
        panel_set_sym(p, s, name);
    }
    for (int d = 0; d < nd; d++)
        p->dates[d] = 20200101 + (d / 28) * 100 + d % 28 + (d / 336) * 8800;
    /* style 1: tied levels; style 2: clean (every bar and value there) */
    int tied = style & 1, clean = (style & 2) != 0;
    for (int s = 0; s < ns; s++) {
        double px = s % 7 == 3 ? 3000 + 5000 * rnd(&seed) : 0.5 + 200 * rnd(&seed);
        for (int d = 0; d < nd; d++) {
            size_t i = panel_idx(p, d, s);
            double u = rnd(&seed), fv;
            if (tied)
                fv = levels[(int)(rnd(&seed) * 7)];
            else
                fv = rnd(&seed) - 0.45;
            if (clean) u = 1;
            if (u < 0.06)
                fv = NAN;
            else if (u < 0.07)
                fv = INFINITY;
            else if (u < 0.08)
                fv = -INFINITY;
            (*factor)[i] = fv;
            double o = px * (1 + 0.03 * (rnd(&seed) - 0.5));
            px = o * (1 + 0.06 * (rnd(&seed) - 0.5));
            double r = clean ? 0.5 : rnd(&seed);
            if (r < 0.04) continue; /* no bar */
            p->f[PF_OPEN][i] = o;
            p->f[PF_CLOSE][i] = r < 0.05 ? 0.0 : r < 0.055 ? INFINITY : px;
            if (r > 0.997) p->f[PF_OPEN][i] = NAN; /* a close without an open */
        }
    }
}

/* Every field of the two books, bit for bit. */
static void books_equal(const struct run_book *a, const struct run_book *b, int ns) {
    size_t n = sizeof(double) * (size_t)ns;
    assert_memory_equal(&a->value, &b->value, sizeof a->value);
    assert_memory_equal(&a->cash, &b->cash, sizeof a->cash);
    assert_memory_equal(a->last_close, b->last_close, n);
    assert_memory_equal(a->pos, b->pos, n);
    assert_memory_equal(a->cash_s, b->cash_s, n);
    assert_memory_equal(a->pend, b->pend, n);
    assert_memory_equal(a->entry, b->entry, n);
}

/* Steps a book with the engine's code and one with the reference through
 * every date, comparing the day and the whole book after each. */
static void steps_match(const struct panel *p, const double *f, enum run_kind kind,
                        const struct run_params *prm) {
    int ns = p->nsyms;
    struct run_book a, r;
    struct run_order o;
    book_init(&a, kind, ns, prm);
    book_init(&r, kind, ns, prm);
    run_order_build(&o, f, ns, 0, p->ndates - 1);
    double *sa = calloc(4 * (size_t)ns, sizeof(double)),
           *sr = calloc(4 * (size_t)ns, sizeof(double));
    int *ia = calloc(5 * (size_t)ns, sizeof(int)), *ir = calloc(5 * (size_t)ns, sizeof(int));
    assert_true(sa && sr && ia && ir);
    for (int d = 0; d < p->ndates; d++) {
        struct run_day da = {0, 0}, dr = {0, 0};
        if (kind == RUN_SIGNAL) {
            strategy_signal_step(&a, p, f, d, prm, &da);
            ref_signal_step(&r, p, f, d, prm, &dr);
        } else if (kind == RUN_LONG_SHORT_QUANTILE) {
            strategy_lsq_step(&a, p, f, &o, d, prm, sa, ia, &da);
            ref_lsq_step(&r, p, f, &o, d, prm, sr, ir, &dr);
        } else {
            strategy_topk_step(&a, p, f, &o, d, prm, ia, &da);
            ref_topk_step(&r, p, f, &o, d, prm, ir, &dr);
        }
        a.value = da.value;
        r.value = dr.value;
        assert_memory_equal(&da, &dr, sizeof da);
        books_equal(&a, &r, ns);
    }
    free(sa);
    free(sr);
    free(ia);
    free(ir);
    run_order_free(&o);
    book_free(&a);
    book_free(&r);
}

/* Each kind over several panels and parameter sets, on one code path. */
static void all_match(void) {
    static const int nss[] = {1, 2, 7, 8, 9, 16, 17, 37, 64, 131};
    for (size_t t = 0; t < sizeof nss / sizeof *nss; t++) {
        int ns = nss[t], nd = 90;
        for (int seed = 1; seed <= 8; seed++) {
            struct panel p;
            double *f;
            make_edge_panel(&p, &f, nd, ns, (uint64_t)(seed * 7919 + ns), seed % 4);
            for (int kind = 0; kind < 3; kind++) {
                struct run_params prm;
                run_params_default(&prm);
                prm.quantiles = 2 + (seed + ns) % 4;
                prm.k = 1 + (seed * 13 + ns) % (ns + 3);
                prm.n = (seed / 2 + ns) % 4;
                if (seed == 5) prm.cash = 1000.0; /* sleeves too small for most prices */
                steps_match(&p, f, (enum run_kind)kind, &prm);
            }
            panel_free(&p);
            free(f);
        }
    }
}

static void test_portable_matches_reference(void **st) {
    (void)st;
    cpu_force_portable(1);
    assert_int_equal(cpu_level(), CPU_PORTABLE);
    all_match();
    cpu_force_portable(0);
}

static void test_simd_matches_reference(void **st) {
    (void)st;
    cpu_force_portable(0);
    if (cpu_level() < CPU_AVX512) {
        print_message("no AVX-512 here: the portable path is the one that runs\n");
        return;
    }
    all_match();
}

/* Whole runs, state files included, the same on both paths (and an
 * incremental run from the other path's state continues the same). */
static void test_runs_match_across_paths(void **st) {
    (void)st;
    static const char *const kinds[] = {"signal", "long_short_quantile", "topk_dropout"};
    const int nd = 120, ns = 53;
    struct panel p;
    double *f;
    make_edge_panel(&p, &f, nd, ns, 42, 0);
    for (int k = 0; k < 3; k++) {
        struct run_params prm;
        struct bt_err err = BT_ERR_INIT;
        struct run_output a, b, half, rest;
        run_params_default(&prm);
        prm.k = 9;
        prm.n = 3;
        cpu_force_portable(1);
        assert_int_equal(run_pair(&p, f, kinds[k], &prm, 0, 0, NULL, 0, &a, &err), 0);
        assert_int_equal(run_pair(&p, f, kinds[k], &prm, 0, p.dates[59], NULL, 0, &half, &err), 0);
        cpu_force_portable(0);
        assert_int_equal(run_pair(&p, f, kinds[k], &prm, 0, 0, NULL, 0, &b, &err), 0);
        assert_int_equal(run_pair(&p, f, kinds[k], &prm, p.dates[60], 0, half.state, half.state_len,
                                  &rest, &err),
                         0);
        size_t bytes = sizeof(double) * (size_t)nd;
        assert_memory_equal(a.series.value, b.series.value, bytes);
        assert_memory_equal(a.series.turnover, b.series.turnover, bytes);
        assert_memory_equal(a.series.ret, b.series.ret, bytes);
        assert_int_equal(a.state_len, b.state_len);
        assert_memory_equal(a.state, b.state, a.state_len);
        assert_memory_equal(a.series.value + 60, rest.series.value, bytes / 2);
        assert_int_equal(rest.state_len, a.state_len);
        assert_memory_equal(rest.state, a.state, a.state_len);
        run_output_free(&a);
        run_output_free(&b);
        run_output_free(&half);
        run_output_free(&rest);
    }
    panel_free(&p);
    free(f);
}

/* Cash that covers an order exactly (left == 0 at the order, 0 after the
 * fill) buys: the comparisons' edges, on both paths, with lanes to spare. */
static void test_signal_exact_cash(void **st) {
    (void)st;
    const int nd = 4, ns = 11;
    struct panel p;
    double *f = malloc(sizeof(double) * nd * ns);
    assert_int_equal(panel_alloc(&p, nd, ns), 0);
    for (int d = 0; d < nd; d++) {
        p.dates[d] = 20200101 + d;
        for (int s = 0; s < ns; s++) {
            size_t i = panel_idx(&p, d, s);
            p.f[PF_OPEN][i] = p.f[PF_CLOSE][i] = 100.0;
            f[i] = 1.0;
        }
    }
    struct run_params prm;
    run_params_default(&prm);
    prm.commission = 0;
    prm.cash = 1000.0 * ns; /* a sleeve of 1000: exactly 10 shares */
    for (int portable = 0; portable < 2; portable++) {
        cpu_force_portable(portable);
        struct run_book b;
        struct run_day day;
        book_init(&b, RUN_SIGNAL, ns, &prm);
        strategy_signal_step(&b, &p, f, 0, &prm, &day);
        for (int s = 0; s < ns; s++)
            assert_true(b.pend[s] == 10.0);
        strategy_signal_step(&b, &p, f, 1, &prm, &day);
        for (int s = 0; s < ns; s++) {
            assert_true(b.pos[s] == 10.0);
            assert_true(b.cash_s[s] == 0.0);
        }
        assert_true(day.traded == 1000.0 * ns);
        book_free(&b);
        steps_match(&p, f, RUN_SIGNAL, &prm);
    }
    cpu_force_portable(0);
    panel_free(&p);
    free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portable_matches_reference),
        cmocka_unit_test(test_simd_matches_reference),
        cmocka_unit_test(test_runs_match_across_paths),
        cmocka_unit_test(test_signal_exact_cash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

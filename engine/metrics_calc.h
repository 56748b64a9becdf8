/* metrics_calc.h -- statistics helpers shared by the run and its tests
 * (engine-internal; the public entry points are in run.h). */
#ifndef BTPIPE_METRICS_CALC_H
#define BTPIPE_METRICS_CALC_H

#include "panel.h"

/* Pearson correlation of n pairs (scipy.stats.pearsonr); NaN when n < 2 or
 * either side is constant. */
double metrics_pearson(const double *x, const double *y, int n);
/* Average ranks (1-based, ties averaged: scipy.stats.rankdata) of x into r.
 * idx is scratch of n ints. */
void metrics_rank_avg(const double *x, int n, double *r, int *idx);
/* Average ranks of x into r, given ord = 0..n-1 in ascending order of x:
 * each run of equal values gets the mean of the ranks it spans. */
void metrics_rank_from_order(const double *x, const int *ord, int n, double *r);
/* IC and rank IC at panel date d (factor dated d-1, returns close d-1 ->
 * close d). xord/nx: the factor's run_order list of date d-1; ro: a
 * run_order_returns order covering d. Scratch: 4*nsyms doubles, 3*nsyms
 * ints. When n_out is non-NULL it gets the number n of valid (factor,
 * return) pairs, which are left in scratch (x: the first nsyms doubles, y:
 * the next nsyms, in symbol order); when n >= 2, iscratch then holds
 * 0..n-1 in ascending order of x. */
struct run_order;
/* pandas.qcut's q + 1 edges (numpy linear quantiles at i/q) of the n values
 * ord lists in ascending order of x; returns whether the inner edges
 * ascend (quantile_buckets_order's walk applies). */
int quantile_edges_order(const double *x, const int *ord, int n, int q, double *edges);
void metrics_ic_day(const struct panel *p, const double *factor, int d, const int *xord, int nx,
                    const struct run_order *ro, double *scratch, int *iscratch, double *ic,
                    double *rank_ic, int *n_out);
/* The factor statistics of a run over rows d0..d1: ic[d - d0] and
 * rank_ic[d - d0] as metrics_ic_day gives them, and into qret[0..q-1] the
 * mean over dates of each factor quantile's mean return (alphalens; NaN
 * for a bucket never filled), over the dates with at least q and 2 pairs.
 * fo: the factor's run_order covering d0-1..d1-1 (from 0); ro: a
 * run_order_returns order covering d0..d1. scratch: 4*nsyms doubles,
 * iscratch: 4*nsyms ints. */
void metrics_factor_stats(const struct panel *p, const double *factor, const struct run_order *fo,
                          const struct run_order *ro, int d0, int d1, int q, double *scratch,
                          int *iscratch, double *ic, double *rank_ic, double *qret);

#endif

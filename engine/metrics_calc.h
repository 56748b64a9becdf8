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
void metrics_ic_day(const struct panel *p, const double *factor, int d, const int *xord, int nx,
                    const struct run_order *ro, double *scratch, int *iscratch, double *ic,
                    double *rank_ic, int *n_out);

#endif

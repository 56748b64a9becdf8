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
/* IC and rank IC at panel date d, with caller scratch: 4*nsyms doubles and
 * nsyms ints. Also returns, through x/y (the first 2*nsyms doubles of
 * scratch), the n valid (factor, return) pairs when n_out is non-NULL; when
 * n >= 2, iscratch then holds the indices 0..n-1 in ascending order of x. */
void metrics_ic_scratch(const struct panel *p, const double *factor, int d, double *scratch,
                        int *iscratch, double *ic, double *rank_ic, int *n_out);

#endif

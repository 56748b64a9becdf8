/* metrics.c -- return metrics (empyrical's definitions) and factor metrics
 * (alphalens' definitions) over a run's daily series. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_calc.h"
#include "run.h"

#define ANN_FACTOR 252.0

void run_series_alloc(struct run_series *s, int n) {
    size_t m = n > 0 ? (size_t)n : 1;
    s->n = n;
    s->date = calloc(m, sizeof *s->date);
    s->ret = calloc(m, sizeof *s->ret);
    s->value = calloc(m, sizeof *s->value);
    s->turnover = calloc(m, sizeof *s->turnover);
    s->ic = calloc(m, sizeof *s->ic);
    s->rank_ic = calloc(m, sizeof *s->rank_ic);
    if (!s->date || !s->ret || !s->value || !s->turnover || !s->ic || !s->rank_ic) abort();
}

void run_series_free(struct run_series *s) {
    free(s->date);
    free(s->ret);
    free(s->value);
    free(s->turnover);
    free(s->ic);
    free(s->rank_ic);
    memset(s, 0, sizeof *s);
}

/* numpy nanmean / nanstd(ddof) over the finite values of x. */
static void nan_mean_std(const double *x, int n, int ddof, double *mean, double *std) {
    double sum = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i])) {
            sum += x[i];
            m++;
        }
    *mean = m ? sum / m : NAN;
    if (m - ddof <= 0) {
        *std = NAN;
        return;
    }
    double ss = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i])) {
            double d = x[i] - *mean;
            ss += d * d;
        }
    *std = sqrt(ss / (m - ddof));
}

/* empyrical.max_drawdown: wealth from 100, running peak, worst relative dip. */
static double max_drawdown(const double *r, int n) {
    if (n < 1) return NAN;
    double cum = 100.0, peak = 100.0, worst = 0.0, acc = 1.0;
    for (int i = 0; i < n; i++) {
        acc *= 1.0 + (isnan(r[i]) ? 0.0 : r[i]);
        cum = acc * 100.0;
        if (cum > peak) peak = cum;
        double dd = (cum - peak) / peak;
        if (dd < worst) worst = dd;
    }
    return worst;
}

void metrics_from_series(const struct run_series *s, double initial_value,
                         struct run_summary *out) {
    int n = s->n;
    memset(out, 0, sizeof *out);
    out->days = n;
    out->final_value = n > 0 ? s->value[n - 1] : initial_value;
    double prod = 1.0;
    for (int i = 0; i < n; i++)
        prod *= 1.0 + (isnan(s->ret[i]) ? 0.0 : s->ret[i]);
    out->total_return = prod - 1.0;
    out->annual_return = n < 1 ? NAN : pow(prod, 1.0 / ((double)n / ANN_FACTOR)) - 1.0;
    double mean, std;
    nan_mean_std(s->ret, n, 1, &mean, &std);
    out->annual_volatility = std * sqrt(ANN_FACTOR);
    out->sharpe = n < 2 ? NAN : mean / std * sqrt(ANN_FACTOR);
    if (n < 2) {
        out->sortino = NAN;
    } else {
        double dsum = 0;
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!isnan(s->ret[i])) {
                double d = s->ret[i] < 0 ? s->ret[i] : 0.0;
                dsum += d * d;
                m++;
            }
        double downside = sqrt(dsum / m) * sqrt(ANN_FACTOR);
        out->sortino = mean * ANN_FACTOR / downside;
    }
    out->max_drawdown = max_drawdown(s->ret, n);
    if (out->max_drawdown < 0) {
        out->calmar = out->annual_return / fabs(out->max_drawdown);
        if (isinf(out->calmar)) out->calmar = NAN;
    } else {
        out->calmar = NAN;
    }
    int pos = 0, nz = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(s->ret[i]) || s->ret[i] == 0) continue;
        nz++;
        pos += s->ret[i] > 0;
    }
    out->win_rate = nz ? (double)pos / nz : NAN;
    double tstd;
    nan_mean_std(s->turnover, n, 1, &out->turnover, &tstd);
    nan_mean_std(s->ic, n, 1, &out->ic_mean, &out->ic_std);
    out->ic_ir = out->ic_mean / out->ic_std;
    nan_mean_std(s->rank_ic, n, 1, &out->rank_ic_mean, &out->rank_ic_std);
    out->rank_ic_ir = out->rank_ic_mean / out->rank_ic_std;
}

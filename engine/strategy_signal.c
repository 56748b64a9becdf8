/* strategy_signal.c -- the per-symbol signal strategy, cent-for-cent the
 * backtrader set-up of the workshop (BackBroker defaults: checksubmit on,
 * market orders fill at the next bar's open, stock-like percentage
 * commission). Each symbol trades its own sleeve, so one symbol is exactly
 * one backtrader run; the cash arithmetic below mirrors BackBroker._execute
 * term for term because the comparison is to the cent over hundreds of
 * trades.
 *
 * Whether a symbol fills, buys or sells on a date is a coin flip per symbol
 * that a branch predictor loses, so with AVX-512 every symbol goes through
 * the same arithmetic (a fill, a buy order and a sell order each computed,
 * then picked by masks): the same double operations on the values kept, so
 * the same bits, 8 symbols at a time. Only the two sums, which must run in
 * symbol order, stay scalar. */
#include <math.h>
#include <stddef.h>

#include "cpu.h"
#include "strategy.h"

/* Symbols per block: the block's values and traded notionals wait in
 * stack arrays for the in-order sums. */
#define SIGNAL_BLOCK 128

/* BackBroker._execute for a market buy filling at price o: cash for the
 * shares, then the commission; refused (Margin) when cash would go negative. */
static double fill_buy(double *pos, double *cash_s, double *pend, double *entry, int s, double o,
                       double comm) {
    double size = pend[s], cash = cash_s[s];
    cash -= size * o;
    cash -= size * comm * o;
    if (cash < 0.0) return 0.0;
    cash_s[s] = cash;
    pos[s] = size;
    entry[s] = o;
    return size * o;
}

/* BackBroker._execute closing the long at price o: the position's cost back
 * plus the profit and loss, less the commission at the fill price. */
static double fill_sell(double *pos, double *cash_s, double *entry, int s, double o, double comm) {
    double size = pos[s];
    double pnl = size * (o - entry[s]) * 1.0;
    double closedvalue = size * entry[s];
    cash_s[s] += closedvalue + pnl * 1;
    cash_s[s] -= size * comm * o;
    pos[s] = 0;
    entry[s] = 0;
    return size * o;
}

/* The portable block: each symbol as backtrader takes it, branch by
 * branch. The vector blocks below do exactly this, lane by lane: every
 * symbol's fill, buy order and sell order computed, then picked by masks
 * (a refused buy trades 0, as fill_buy's 0.0; a symbol without a bar
 * keeps everything, its order waiting). val gets what each symbol adds to
 * the portfolio value, trd its traded notional (0 without a fill). */
static void signal_block_portable(double *pos, double *cash_s, double *pend, double *entry,
                                  double *last_close, const double *open, const double *close,
                                  const double *factor, int n, double comm, double *val,
                                  double *trd) {
    for (int s = 0; s < n; s++) {
        double o = open[s], c = close[s], traded = 0;
        /* no bar: the symbol's feed has no such day; its order waits */
        if (isfinite(o) && isfinite(c)) {
            if (pend[s] > 0)
                traded = fill_buy(pos, cash_s, pend, entry, s, o, comm);
            else if (pend[s] < 0)
                traded = fill_sell(pos, cash_s, entry, s, o, comm);
            pend[s] = 0;
            last_close[s] = c;
            double f = factor[s];
            if (pos[s] == 0 && f > 0) {
                double size = trunc(cash_s[s] / c);
                /* checksubmit pseudo-executes at the order's creation price
                 * (this close) and refuses what cash would not cover */
                double left = cash_s[s] - size * c - size * comm * c;
                if (size > 0 && left >= 0.0) pend[s] = size;
            } else if (pos[s] != 0 && f < 0) {
                pend[s] = -pos[s];
            }
        }
        double v = cash_s[s];
        if (pos[s] != 0) v += pos[s] * last_close[s];
        val[s] = v;
        trd[s] = traded;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The portable block on 8 symbols at a time (AVX-512F/DQ). Comparisons
 * are the quiet forms of C's with the same truth on NaN: > and < and >=
 * false, != true. */
__attribute__((target("avx512f,avx512dq"))) static void
signal_block_avx512(double *pos, double *cash_s, double *pend, double *entry, double *last_close,
                    const double *open, const double *close, const double *factor, int n,
                    double comm, double *val, double *trd) {
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0),
                  nzero = _mm512_set1_pd(-0.0), cm = _mm512_set1_pd(comm);
    for (int i = 0; i < n; i += 8) {
        __mmask8 k = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1);
        __m512d o = _mm512_maskz_loadu_pd(k, open + i), c = _mm512_maskz_loadu_pd(k, close + i),
                f = _mm512_maskz_loadu_pd(k, factor + i), pd = _mm512_maskz_loadu_pd(k, pend + i),
                ps = _mm512_maskz_loadu_pd(k, pos + i), cs = _mm512_maskz_loadu_pd(k, cash_s + i),
                en = _mm512_maskz_loadu_pd(k, entry + i),
                lc = _mm512_maskz_loadu_pd(k, last_close + i);
        /* fpclass 0x99: NaN (quiet, signalling) or an infinity */
        __mmask8 bar =
            (__mmask8)(~_mm512_fpclass_pd_mask(o, 0x99) & ~_mm512_fpclass_pd_mask(c, 0x99) & k);
        /* fill_buy */
        __m512d bought = _mm512_mul_pd(pd, o);
        __m512d bcash = _mm512_sub_pd(cs, bought);
        bcash = _mm512_sub_pd(bcash, _mm512_mul_pd(_mm512_mul_pd(pd, cm), o));
        __mmask8 buy = bar & _mm512_cmp_pd_mask(pd, zero, _CMP_GT_OQ) &
                       (__mmask8)~_mm512_cmp_pd_mask(bcash, zero, _CMP_LT_OQ);
        /* fill_sell */
        __m512d pnl = _mm512_mul_pd(_mm512_mul_pd(ps, _mm512_sub_pd(o, en)), one);
        __m512d closedvalue = _mm512_mul_pd(ps, en);
        __m512d scash = _mm512_add_pd(cs, _mm512_add_pd(closedvalue, _mm512_mul_pd(pnl, one)));
        scash = _mm512_sub_pd(scash, _mm512_mul_pd(_mm512_mul_pd(ps, cm), o));
        __m512d sold = _mm512_mul_pd(ps, o);
        __mmask8 sell = bar & _mm512_cmp_pd_mask(pd, zero, _CMP_LT_OQ);
        __m512d t = _mm512_mask_mov_pd(_mm512_mask_mov_pd(zero, sell, sold), buy, bought);
        __m512d ps1 = _mm512_mask_mov_pd(_mm512_mask_mov_pd(ps, sell, zero), buy, pd);
        __m512d cs1 = _mm512_mask_mov_pd(_mm512_mask_mov_pd(cs, sell, scash), buy, bcash);
        __m512d en1 = _mm512_mask_mov_pd(_mm512_mask_mov_pd(en, sell, zero), buy, o);
        /* the order for the next open */
        __m512d size =
            _mm512_roundscale_pd(_mm512_div_pd(cs1, c), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __m512d left = _mm512_sub_pd(_mm512_sub_pd(cs1, _mm512_mul_pd(size, c)),
                                     _mm512_mul_pd(_mm512_mul_pd(size, cm), c));
        __mmask8 flat = _mm512_cmp_pd_mask(ps1, zero, _CMP_EQ_OQ);
        __mmask8 held = _mm512_cmp_pd_mask(ps1, zero, _CMP_NEQ_UQ);
        __mmask8 open_long = flat & _mm512_cmp_pd_mask(f, zero, _CMP_GT_OQ) &
                             _mm512_cmp_pd_mask(size, zero, _CMP_GT_OQ) &
                             _mm512_cmp_pd_mask(left, zero, _CMP_GE_OQ);
        __mmask8 close_long = held & _mm512_cmp_pd_mask(f, zero, _CMP_LT_OQ);
        __m512d pd1 = _mm512_mask_mov_pd(
            _mm512_mask_mov_pd(zero, close_long, _mm512_xor_pd(ps1, nzero)), open_long, size);
        __m512d lc1 = _mm512_mask_mov_pd(lc, bar, c);
        _mm512_mask_storeu_pd(pend + i, k, _mm512_mask_mov_pd(pd, bar, pd1));
        _mm512_mask_storeu_pd(pos + i, k, ps1);
        _mm512_mask_storeu_pd(cash_s + i, k, cs1);
        _mm512_mask_storeu_pd(entry + i, k, en1);
        _mm512_mask_storeu_pd(last_close + i, k, lc1);
        /* adding -0.0 leaves every double as it was: a flat sleeve's value
         * is its cash, bit for bit */
        __m512d mark = _mm512_mask_mov_pd(nzero, held, _mm512_mul_pd(ps1, lc1));
        _mm512_mask_storeu_pd(val + i, k, _mm512_add_pd(cs1, mark));
        _mm512_mask_storeu_pd(trd + i, k, t);
    }
}
#endif

void strategy_signal_step(struct run_book *b, const struct panel *p, const double *factor, int d,
                          const struct run_params *prm, struct run_day *out) {
    size_t row = panel_idx(p, d, 0);
    const double *open = p->f[PF_OPEN] + row, *close = p->f[PF_CLOSE] + row, *frow = factor + row;
    double comm = prm->commission, traded = 0, value = 0;
    double val[SIGNAL_BLOCK], trd[SIGNAL_BLOCK];
    int level = cpu_level() >= CPU_AVX512;
    for (int s0 = 0; s0 < p->nsyms; s0 += SIGNAL_BLOCK) {
        int n = p->nsyms - s0 < SIGNAL_BLOCK ? p->nsyms - s0 : SIGNAL_BLOCK;
        double *pos = b->pos + s0, *cash_s = b->cash_s + s0, *pend = b->pend + s0,
               *entry = b->entry + s0, *lc = b->last_close + s0;
#if defined(__x86_64__) && defined(__GNUC__)
        if (level == 1)
            signal_block_avx512(pos, cash_s, pend, entry, lc, open + s0, close + s0, frow + s0, n,
                                comm, val, trd);
        else
#endif
            signal_block_portable(pos, cash_s, pend, entry, lc, open + s0, close + s0, frow + s0, n,
                                  comm, val, trd);
        (void)level;
        /* in symbol order, as a walk over the symbols adds them; traded
         * never is -0.0, so adding a no-fill's 0.0 changes nothing */
        for (int i = 0; i < n; i++) {
            value += val[i];
            traded += trd[i];
        }
    }
    out->value = value;
    out->traded = traded;
}

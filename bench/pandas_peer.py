#!/usr/bin/env python3
"""The pandas peer: the benchmark's expressions and strategies, written the
way a quant would write them in pandas (wide date x symbol frames, rolling
windows, one expression at a time), so that btpipe is compared with the tool
it replaces rather than with a straw man.

It produces what `btpipe-runner batch` produces for every pair: the daily
series (date, return, value, turnover, ic, rank_ic) written as
OUT_DIR/<id>/series.csv, and the 17 summary metrics plus the mean return per
factor quantile written as OUT_DIR/<id>/summary.json. The factor columns
(IC, rank IC, quantile returns) are computed once per expression and shared
by its three strategies, as a quant would (and as btpipe does).

Usage: pandas_peer.py --data DIR --exprs FILE --out FILE.json [--out-dir DIR]
                      [--strategies a,b,c]
Prints nothing on success; the JSON holds the time of each phase and the
per-pair final values.
"""
import argparse
import glob
import json
import math
import os
import time
import warnings

import numpy as np
import pandas as pd

ANN = 252.0


def load_yahoo(folder):
    """Adjusted wide frames from the Yahoo layout, with btpipe's cleaning
    rules (docs/data.md): a row is no bar when a price or Adj Close is
    empty or not positive or the volume is empty; zero volume with valid
    prices is a bar; o/h/l/c are scaled by Adj Close / Close; of duplicate
    (date, symbol) bars the last read wins; a date with only no-bar rows
    still joins the date axis."""
    frames = []
    for path in sorted(glob.glob(os.path.join(folder, "*.csv*"))):
        df = pd.read_csv(path)
        if "Name" not in df or df["Name"].isna().all():
            df["Name"] = os.path.basename(path).split("_data")[0]
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    dates = np.sort(df["Date"].unique())
    df = df.dropna(subset=["Open", "High", "Low", "Close", "Adj Close", "Volume"])
    df = df[(df[["Open", "High", "Low", "Close", "Adj Close"]] > 0).all(axis=1)
            & (df["Volume"] >= 0)]
    df = df.drop_duplicates(subset=["Date", "Name"], keep="last")
    k = df["Adj Close"] / df["Close"]
    for col in ("Open", "High", "Low", "Close"):
        df[col] = df[col] * k
    wide = {}
    for col, name in (("Open", "open"), ("High", "high"), ("Low", "low"),
                      ("Close", "close"), ("Volume", "volume")):
        wide[name] = df.pivot(index="Date", columns="Name", values=col).reindex(dates)
    wide["vwap"] = (wide["high"] + wide["low"] + wide["close"]) / 3
    return wide


# ---- operators (pandas) -------------------------------------------------

def _nan_inf(x):
    return x.replace([np.inf, -np.inf], np.nan) if isinstance(x, pd.DataFrame) else x


def delay(x, d): return x.shift(int(d))
def delta(x, d): return x - x.shift(int(d))
ts_delta = delta
def ts_sum(x, d): return x.rolling(int(d)).sum()
def ts_mean(x, d): return x.rolling(int(d)).mean()
def ts_std(x, d): return x.rolling(int(d)).std()
def ts_min(x, d): return x.rolling(int(d)).min()
def ts_max(x, d): return x.rolling(int(d)).max()
# position in the window, 1 = oldest (the factor language's definition)
def ts_argmax(x, d): return x.rolling(int(d)).apply(np.argmax, raw=True) + 1
def ts_argmin(x, d): return x.rolling(int(d)).apply(np.argmin, raw=True) + 1
def ts_rank(x, d): return x.rolling(int(d)).rank(pct=True)
def ts_corr(x, y, d): return _nan_inf(x.rolling(int(d)).corr(y))
def ts_cov(x, y, d): return x.rolling(int(d)).cov(y)
def ts_zscore(x, d):
    return _nan_inf((x - x.rolling(int(d)).mean()) / x.rolling(int(d)).std())


def decay_linear(x, d):
    d = int(d)
    w = np.arange(1, d + 1, dtype=float)
    w /= w.sum()
    return x.rolling(d).apply(lambda a: float(np.dot(a, w)), raw=True)


def rank(x): return x.rank(axis=1, pct=True)
def zscore(x): return _nan_inf(x.sub(x.mean(axis=1), axis=0).div(x.std(axis=1), axis=0))
def demean(x): return x.sub(x.mean(axis=1), axis=0)
def scale(x, a=1.0): return _nan_inf(x.mul(a).div(x.abs().sum(axis=1), axis=0))
def log(x): return np.log(x.where(x > 0))
def sign(x): return np.sign(x)
def abs_(x): return x.abs()


class Namespace(dict):
    """Inputs and operators by name; advN is computed on first use."""

    def __init__(self, wide):
        super().__init__()
        self.update(wide)
        self["returns"] = wide["close"] / wide["close"].shift(1) - 1
        for name in ("delay", "delta", "ts_delta", "ts_sum", "ts_mean", "ts_std",
                     "ts_min", "ts_max", "ts_argmax", "ts_argmin", "ts_rank",
                     "ts_corr", "ts_cov", "ts_zscore", "decay_linear", "rank",
                     "zscore", "demean", "scale", "log", "sign"):
            self[name] = globals()[name]
        self["abs"] = abs_

    def __missing__(self, key):
        if key.startswith("adv") and key[3:].isdigit():
            v = ts_mean(self["volume"], int(key[3:]))
            self[key] = v
            return v
        raise KeyError(key)


def factor(expr, ns):
    """The expression's value; every result finite or NaN, as in btpipe's
    factor language (an infinity, e.g. x / 0, is no value)."""
    return _nan_inf(eval(expr, {"__builtins__": {}}, ns))


# ---- strategies (numpy over symbols, a loop over dates) -----------------
# Each returns (value, turnover) per date: value at the close after that
# close's trades, turnover = traded notional / value.

def run_signal(wide, fac, cash=100000.0, commission=0.0002):
    """backtrader semantics per symbol, each symbol a sleeve of cash/nsyms:
    decide at close, fill at the symbol's next bar's open, buy int(cash/close)
    if that many shares plus commission fit in the cash at the decision
    close (backtrader's checksubmit) and again at the fill."""
    o = wide["open"].to_numpy()
    c = wide["close"].to_numpy()
    f = fac.to_numpy()
    nd, ns = o.shape
    sleeve = np.full(ns, cash / ns)
    shares = np.zeros(ns)
    pend = np.zeros(ns)           # +size buy, -1 sell
    last_close = np.full(ns, np.nan)
    values = np.empty(nd)
    traded = np.empty(nd)
    for t in range(nd):
        bar = ~np.isnan(o[t])
        buy = bar & (pend > 0)
        cost = pend * o[t] * (1 + commission)
        ok = buy & (cost <= sleeve)
        sleeve = np.where(ok, sleeve - cost, sleeve)
        shares = np.where(ok, shares + pend, shares)
        sell = bar & (pend < 0)
        traded[t] = np.nansum(np.where(ok, pend * o[t], 0.0)) + \
            np.nansum(np.where(sell, shares * o[t], 0.0))
        sleeve = np.where(sell, sleeve + shares * o[t] * (1 - commission), sleeve)
        shares = np.where(sell, 0.0, shares)
        pend = np.where(bar, 0.0, pend)
        last_close = np.where(np.isnan(c[t]), last_close, c[t])
        values[t] = np.nansum(sleeve + shares * np.nan_to_num(last_close))
        ft = f[t]
        has = ~np.isnan(c[t]) & ~np.isnan(ft)
        cl = np.where(has, c[t], 1.0)
        size = np.floor(sleeve / cl)
        fits = size * cl * (1 + commission) <= sleeve
        enter = has & (ft > 0) & (shares == 0) & fits
        leave = has & (ft < 0) & (shares > 0)
        pend = np.where(enter, size, pend)
        pend = np.where(leave, -1.0, pend)
    return values, traded / values


def run_long_short_quantile(wide, fac, cash=100000.0, quantiles=5, cost_bps=10.0):
    ret = (wide["close"] / wide["close"].shift(1) - 1).to_numpy()
    pct = fac.rank(axis=1, pct=True).to_numpy()
    bucket = np.ceil(pct * quantiles)
    longs = (bucket == quantiles).astype(float)
    shorts = (bucket == 1).astype(float)
    nl = longs.sum(axis=1, keepdims=True)
    nsh = shorts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.nan_to_num(0.5 * longs / nl) - np.nan_to_num(0.5 * shorts / nsh)
    prev = np.vstack([np.zeros((1, w.shape[1])), w[:-1]])
    gross = np.nansum(prev * np.nan_to_num(ret), axis=1)
    turn = np.abs(w - prev).sum(axis=1)
    daily = gross - turn * cost_bps / 1e4
    return cash * np.cumprod(1 + daily), turn


def run_topk_dropout(wide, fac, cash=100000.0, k=50, n=5, cost_bps=10.0):
    ret = np.nan_to_num((wide["close"] / wide["close"].shift(1) - 1).to_numpy())
    f = fac.to_numpy()
    nd = f.shape[0]
    held = []
    value = cash
    values = np.empty(nd)
    turnover = np.zeros(nd)
    for t in range(nd):
        if held:
            value *= 1 + ret[t, held].mean()
        score = f[t]
        valid = np.flatnonzero(~np.isnan(score))
        order = valid[np.argsort(-score[valid], kind="stable")]
        held_set = set(held)
        cand = [s for s in order if s not in held_set][: n + k - len(held)]
        held_sorted = sorted(held, key=lambda s: -score[s] if not math.isnan(score[s]) else math.inf)
        combined = sorted(held_sorted + cand,
                          key=lambda s: -score[s] if not math.isnan(score[s]) else math.inf)
        bottom = set(combined[-n:]) if n else set()
        sell = [s for s in held_sorted if s in bottom]
        keep = [s for s in held_sorted if s not in bottom]
        buy = cand[: len(sell) + k - len(held)]
        new = keep + buy
        if new != held:
            traded = (len(sell) + len(buy)) / max(len(new), 1)
            value *= 1 - traded * cost_bps / 1e4
            turnover[t] = traded
        held = new
        values[t] = value
    return values, turnover


STRATEGIES = {
    "signal": run_signal,
    "long_short_quantile": run_long_short_quantile,
    "topk_dropout": run_topk_dropout,
}


# ---- factor statistics (vectorised over dates) --------------------------

def _row_pearson(x, y):
    """Pearson per row of x and y (NaN where a pair is not valid, same
    mask on both): demeaned products; NaN with < 2 pairs or a constant side."""
    n = np.sum(~np.isnan(x), axis=1)
    xd = x - np.nanmean(x, axis=1, keepdims=True)
    yd = y - np.nanmean(y, axis=1, keepdims=True)
    sxy = np.nansum(xd * yd, axis=1)
    sxx = np.nansum(xd * xd, axis=1)
    syy = np.nansum(yd * yd, axis=1)
    r = np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0)
    r[(n < 2) | (sxx == 0) | (syy == 0)] = np.nan
    return r


def factor_stats(fac, returns, quantiles=5):
    """IC and rank IC per date t of the factor at close t-1 against the
    return close t-1 -> t (btpipe's dating), and alphalens'
    mean_return_by_quantile over the same pairs: per date, pandas.qcut
    buckets of the factor (numpy linear quantiles), the bucket's mean
    return, then the mean over dates (dates with fewer pairs than
    quantiles skipped)."""
    x = fac.shift(1).to_numpy()
    y = returns.to_numpy()
    valid = np.isfinite(x) & ~np.isnan(y)
    x = np.where(valid, x, np.nan)
    y = np.where(valid, y, np.nan)
    ic = _row_pearson(x, y)
    rx = pd.DataFrame(x).rank(axis=1).to_numpy()
    ry = pd.DataFrame(y).rank(axis=1).to_numpy()
    rank_ic = _row_pearson(rx, ry)

    n = valid.sum(axis=1)
    use = (n >= quantiles) & (n >= 2)
    xs = np.sort(x[use], axis=1)              # NaN last
    m = n[use][:, None].astype(float)
    # numpy's "linear" quantile at p: virtual index (m - 1) * p
    h = (m - 1) * np.linspace(0, 1, quantiles + 1)[None, :]
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, m.astype(int) - 1)
    a = np.take_along_axis(xs, lo, axis=1)
    b = np.take_along_axis(xs, hi, axis=1)
    edges = a + (b - a) * (h - lo)
    # qcut: the first bucket whose upper edge is >= the value
    xu, yu = x[use], y[use]
    bucket = np.zeros(xu.shape, dtype=int)
    for j in range(1, quantiles):
        bucket += xu > edges[:, j:j + 1]
    qret = []
    for q in range(quantiles):
        inq = (bucket == q) & ~np.isnan(xu)
        cnt = inq.sum(axis=1)
        s = np.where(inq, yu, 0.0).sum(axis=1)
        qret.append(float(np.mean(s[cnt > 0] / cnt[cnt > 0])) if (cnt > 0).any() else math.nan)
    return ic, rank_ic, qret


def metrics(ret, value, turnover, ic, rank_ic, cash):
    """The 17 summary metrics, empyrical's definitions for returns,
    alphalens' (ddof 1, NaN rows skipped) for the factor columns."""
    n = len(ret)
    prod = np.prod(1 + ret)
    mean, std = ret.mean(), ret.std(ddof=1)
    downside = np.sqrt(np.mean(np.minimum(ret, 0) ** 2)) * np.sqrt(ANN)
    with np.errstate(divide="ignore", invalid="ignore"):
        annual = prod ** (ANN / n) - 1 if n else math.nan
        wealth = 100 * np.cumprod(1 + ret)
        peak = np.maximum.accumulate(np.concatenate([[100.0], wealth]))[1:]
        mdd = float(np.min((wealth - peak) / peak)) if n else math.nan
        calmar = annual / -mdd if mdd < 0 else math.nan
        nz = np.count_nonzero(ret)
        icv, ricv = ic[~np.isnan(ic)], rank_ic[~np.isnan(rank_ic)]
        ic_mean, ic_std = icv.mean(), icv.std(ddof=1)
        ric_mean, ric_std = ricv.mean(), ricv.std(ddof=1)
        return {
            "final_value": float(value[-1]) if n else cash,
            "total_return": prod - 1,
            "annual_return": annual,
            "annual_volatility": std * np.sqrt(ANN),
            "sharpe": mean / std * np.sqrt(ANN) if n >= 2 else math.nan,
            "sortino": mean * ANN / downside if n >= 2 else math.nan,
            "max_drawdown": mdd,
            "calmar": calmar if np.isfinite(calmar) else math.nan,
            "win_rate": np.count_nonzero(ret > 0) / nz if nz else math.nan,
            "turnover": np.nanmean(turnover),
            "ic_mean": ic_mean, "ic_std": ic_std, "ic_ir": ic_mean / ic_std,
            "rank_ic_mean": ric_mean, "rank_ic_std": ric_std, "rank_ic_ir": ric_mean / ric_std,
            "days": n,
        }


def _json_num(v):
    """summary.json writes non-finite values as null, like btpipe."""
    v = float(v)
    return v if math.isfinite(v) else None


def write_pair(folder, dates, value, ret, turnover, ic, rank_ic, summary, qret):
    os.makedirs(folder, exist_ok=True)
    pd.DataFrame({"date": dates, "return": ret, "value": value, "turnover": turnover,
                  "ic": ic, "rank_ic": rank_ic}).to_csv(
        os.path.join(folder, "series.csv"), index=False, float_format="%.17g")
    out = {k: (v if k == "days" else _json_num(v)) for k, v in summary.items()}
    out["quantile_returns"] = [_json_num(v) for v in qret]
    with open(os.path.join(folder, "summary.json"), "w") as fh:
        json.dump(out, fh, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--exprs", required=True)
    ap.add_argument("--out", required=True, help="timings and final values (JSON)")
    ap.add_argument("--out-dir", help="writes <id>/series.csv and <id>/summary.json here")
    ap.add_argument("--strategies", default="signal,long_short_quantile,topk_dropout")
    a = ap.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN, as intended
    cash = 100000.0
    exprs = [l.strip() for l in open(a.exprs) if l.strip() and not l.startswith("#")]
    t0 = time.perf_counter()
    wide = load_yahoo(a.data)
    ns = Namespace(wide)
    dates = wide["close"].index
    t1 = time.perf_counter()
    finals = {}
    t = {"factors_s": 0.0, "strategies_s": 0.0, "stats_metrics_s": 0.0, "write_s": 0.0}
    for i, e in enumerate(exprs):
        s0 = time.perf_counter()
        fac = factor(e, ns)
        s1 = time.perf_counter()
        ic, rank_ic, qret = factor_stats(fac, ns["returns"])
        t["stats_metrics_s"] += time.perf_counter() - s1
        for name in a.strategies.split(","):
            s2 = time.perf_counter()
            value, turnover = STRATEGIES[name](wide, fac, cash=cash)
            s3 = time.perf_counter()
            ret = value / np.concatenate([[cash], value[:-1]]) - 1
            summary = metrics(ret, value, turnover, ic, rank_ic, cash)
            s4 = time.perf_counter()
            pid = f"f{i:02d}_{name}"
            if a.out_dir:
                write_pair(os.path.join(a.out_dir, pid), dates, value, ret, turnover, ic,
                           rank_ic, summary, qret)
            s5 = time.perf_counter()
            finals[pid] = float(value[-1])
            t["strategies_s"] += s3 - s2
            t["stats_metrics_s"] += s4 - s3
            t["write_s"] += s5 - s4
        t["factors_s"] += s1 - s0
    json.dump({"load_s": t1 - t0, **t, "total_s": time.perf_counter() - t0,
               "finals": finals}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()

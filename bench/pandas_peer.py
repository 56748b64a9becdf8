#!/usr/bin/env python3
"""The pandas peer: the benchmark's expressions and strategies, written the
way a quant would write them in pandas (wide date x symbol frames, rolling
windows, one expression at a time), so that btpipe is compared with the tool
it replaces rather than with a straw man.

Usage: pandas_peer.py --data DIR --exprs FILE --out FILE.json [--strategies a,b,c]
Prints nothing on success; the JSON holds timings and per-pair final values.
"""
import argparse
import glob
import json
import math
import os
import time

import numpy as np
import pandas as pd


def load_yahoo(folder):
    """Adjusted wide frames from the Yahoo layout (o/h/l/c scaled by
    Adj Close / Close, volume as is; empty prices and zero volume: no bar)."""
    frames = []
    for path in sorted(glob.glob(os.path.join(folder, "*.csv*"))):
        df = pd.read_csv(path)
        if "Name" not in df or df["Name"].isna().all():
            df["Name"] = os.path.basename(path).split("_data")[0]
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df = df.dropna(subset=["Open", "High", "Low", "Close", "Adj Close"])
    df = df[(df["Close"] > 0) & (df["Volume"] > 0)]
    df = df.drop_duplicates(subset=["Date", "Name"], keep="last")
    k = df["Adj Close"] / df["Close"]
    for col in ("Open", "High", "Low", "Close"):
        df[col] = df[col] * k
    wide = {}
    for col, name in (("Open", "open"), ("High", "high"), ("Low", "low"),
                      ("Close", "close"), ("Volume", "volume")):
        wide[name] = df.pivot(index="Date", columns="Name", values=col).sort_index()
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
def ts_argmax(x, d): return x.rolling(int(d)).apply(np.argmax, raw=True)
def ts_argmin(x, d): return x.rolling(int(d)).apply(np.argmin, raw=True)
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
def scale(x, a=1.0): return x.mul(a).div(x.abs().sum(axis=1), axis=0)
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


# ---- strategies (numpy over symbols, a loop over dates) -----------------

def run_signal(wide, fac, cash=100000.0, commission=0.0002):
    """backtrader semantics per symbol, each symbol a sleeve of cash/nsyms:
    decide at close, fill at the symbol's next bar's open, buy int(cash/close)."""
    o = wide["open"].to_numpy()
    c = wide["close"].to_numpy()
    f = fac.to_numpy()
    nd, ns = o.shape
    sleeve = np.full(ns, cash / ns)
    shares = np.zeros(ns)
    pend = np.zeros(ns)           # +size buy, -1 sell
    last_close = np.full(ns, np.nan)
    values = np.empty(nd)
    for t in range(nd):
        bar = ~np.isnan(o[t])
        buy = bar & (pend > 0)
        cost = pend * o[t] * (1 + commission)
        ok = buy & (cost <= sleeve)
        sleeve = np.where(ok, sleeve - cost, sleeve)
        shares = np.where(ok, shares + pend, shares)
        sell = bar & (pend < 0)
        sleeve = np.where(sell, sleeve + shares * o[t] * (1 - commission), sleeve)
        shares = np.where(sell, 0.0, shares)
        pend = np.where(bar, 0.0, pend)
        last_close = np.where(np.isnan(c[t]), last_close, c[t])
        values[t] = np.nansum(sleeve + shares * np.nan_to_num(last_close))
        ft = f[t]
        has = ~np.isnan(c[t]) & ~np.isnan(ft)
        enter = has & (ft > 0) & (shares == 0)
        leave = has & (ft < 0) & (shares > 0)
        pend = np.where(enter, np.floor(sleeve / np.where(has, c[t], 1.0)), pend)
        pend = np.where(leave, -1.0, pend)
    return values


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
    return cash * np.cumprod(1 + daily)


def run_topk_dropout(wide, fac, cash=100000.0, k=50, n=5, cost_bps=10.0):
    ret = np.nan_to_num((wide["close"] / wide["close"].shift(1) - 1).to_numpy())
    f = fac.to_numpy()
    nd = f.shape[0]
    held = []
    value = cash
    values = np.empty(nd)
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
        held = new
        values[t] = value
    return values


STRATEGIES = {
    "signal": run_signal,
    "long_short_quantile": run_long_short_quantile,
    "topk_dropout": run_topk_dropout,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--exprs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--strategies", default="signal,long_short_quantile,topk_dropout")
    a = ap.parse_args()
    exprs = [l.strip() for l in open(a.exprs) if l.strip() and not l.startswith("#")]
    t0 = time.perf_counter()
    wide = load_yahoo(a.data)
    t1 = time.perf_counter()
    ns = Namespace(wide)
    finals = {}
    t_fac = t_strat = 0.0
    for i, e in enumerate(exprs):
        s0 = time.perf_counter()
        fac = eval(e, {"__builtins__": {}}, ns)
        s1 = time.perf_counter()
        for name in a.strategies.split(","):
            v = STRATEGIES[name](wide, fac)
            finals[f"f{i:02d}_{name}"] = float(v[-1])
        s2 = time.perf_counter()
        t_fac += s1 - s0
        t_strat += s2 - s1
    json.dump({"load_s": t1 - t0, "factors_s": t_fac, "strategies_s": t_strat,
               "total_s": time.perf_counter() - t0, "finals": finals}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Independent pandas reference for the factor language.

Implements every operator the way docs/factor-language.md pins it, straight
from pandas/numpy (rolling windows, rank(pct=True), ...), evaluates ~40
expressions on a few real sp500 symbols, runs the C engine (expr_dump) on the
same files and expressions, and fails unless every cell agrees: the same NaN
pattern, and values within 1e-9 relative (1e-12 absolute near zero).

usage: ref_check.py --dump PATH/expr_dump --data SHARED/data/sp500-5y
"""
import argparse
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

SYMS = ["AAPL", "MSFT", "AAL", "XOM", "JPM", "GE", "AMZN", "KO", "NFLX", "T", "CHK", "WMT"]
RTOL, ATOL = 1e-9, 1e-12


def load(data_dir):
    """Yahoo files -> dict of date x symbol frames, adjusted like the C side."""
    cols = {}
    for s in SYMS:
        df = pd.read_csv(os.path.join(data_dir, f"{s}_data.csv.gz"))
        df["date"] = pd.to_datetime(df["Date"]).dt.strftime("%Y%m%d").astype(int)
        k = df["Adj Close"] / df["Close"]
        bar = (df[["Open", "High", "Low", "Close", "Volume", "Adj Close"]] > 0).all(axis=1)
        out = pd.DataFrame({"date": df["date"]})
        for name, src in [("open", "Open"), ("high", "High"), ("low", "Low"), ("close", "Close")]:
            out[name] = (df[src] * k).where(bar)
        out["volume"] = df["Volume"].where(bar)
        out = out.drop_duplicates("date", keep="last").set_index("date")
        cols[s] = out
    dates = sorted(set().union(*[set(v.index) for v in cols.values()]))
    f = {}
    for name in ["open", "high", "low", "close", "volume"]:
        f[name] = pd.DataFrame({s: cols[s][name] for s in SYMS}).reindex(dates)[sorted(SYMS)]
    f["vwap"] = (f["high"] + f["low"] + f["close"]) / 3
    return f


def clean(x):
    return x.replace([np.inf, -np.inf], np.nan)


def nan_either(r, x, y):
    return r.astype(float).where(~(pd.isna(x) | pd.isna(y)))


def make_env(f):
    e = dict(f)
    e["returns"] = clean(f["close"] / f["close"].shift(1) - 1)
    for d in (5, 10, 20):
        e[f"adv{d}"] = f["volume"].rolling(d).mean()
    roll = lambda x, d: x.rolling(int(d), min_periods=int(d))
    e.update(
        delay=lambda x, d: x.shift(int(d)),
        delta=lambda x, d: clean(x - x.shift(int(d))),
        ts_sum=lambda x, d: roll(x, d).sum(),
        ts_mean=lambda x, d: roll(x, d).mean(),
        # two-pass (np.std) rather than pandas' online rolling std, which
        # drifts by ~1e-9 on low-priced stocks
        ts_std=lambda x, d: roll(x, d).apply(lambda w: np.std(w, ddof=1), raw=True),
        ts_min=lambda x, d: roll(x, d).min(),
        ts_max=lambda x, d: roll(x, d).max(),
        ts_argmax=lambda x, d: roll(x, d).apply(lambda w: np.argmax(w) + 1, raw=True),
        ts_argmin=lambda x, d: roll(x, d).apply(lambda w: np.argmin(w) + 1, raw=True),
        ts_rank=lambda x, d: roll(x, d).rank(method="average", pct=True),
        ts_product=lambda x, d: roll(x, d).apply(np.prod, raw=True),
        ts_cov=lambda x, y, d: roll(x, d).cov(y, ddof=1),
        ts_corr=lambda x, y, d: clean(roll(x, d).corr(y)),
        decay_linear=lambda x, d: roll(x, d).apply(
            lambda w: np.dot(w, np.arange(1, len(w) + 1)) / (len(w) * (len(w) + 1) / 2), raw=True),
        ewm=lambda x, d: roll(x, d).apply(
            lambda w: np.dot(w, (1 - 2 / (d + 1)) ** np.arange(len(w) - 1, -1, -1))
            / ((1 - 2 / (d + 1)) ** np.arange(len(w))).sum(), raw=True),
        ts_zscore=lambda x, d: clean((x - roll(x, d).mean())
                                     / roll(x, d).apply(lambda w: np.std(w, ddof=1), raw=True)),
        rank=lambda x: x.rank(axis=1, method="average", pct=True),
        zscore=lambda x: clean(x.sub(x.mean(axis=1), axis=0).div(x.std(axis=1, ddof=1), axis=0)),
        demean=lambda x: x.sub(x.mean(axis=1), axis=0),
        scale=lambda x, a=1: clean(x.mul(a).div(x.abs().sum(axis=1), axis=0)),
        abs=lambda x: x.abs(),
        log=lambda x: clean(np.log(x.where(x > 0))),
        sign=np.sign,
        sqrt=lambda x: np.sqrt(x.where(x >= 0)),
        power=lambda x, y: clean(x ** y),
        signedpower=lambda x, y: clean(np.sign(x) * x.abs() ** y),
        lt=lambda x, y: nan_either(x < y, x, y),
        gt=lambda x, y: nan_either(x > y, x, y),
        eq=lambda x, y: nan_either(x == y, x, y),
        cond=lambda c, a, b: pd.DataFrame(np.where(c != 0, a, b), index=c.index,
                                          columns=c.columns).where(c.notna()),
        div=lambda x, y: clean(x / y),
        emin=lambda x, y: np.minimum(x, y),
        emax=lambda x, y: np.maximum(x, y),
    )
    return e


# (engine text, pandas text); the pandas text is the engine text when None.
EXPRS = [
    ("returns", None),
    ("adv20", None),
    ("delay(close, 3)", None),
    ("delta(volume, 2)", None),
    ("ts_sum(returns, 10)", None),
    ("ts_mean(close, 20)", None),
    ("ts_std(returns, 20)", None),
    ("stddev(close, 5)", "ts_std(close, 5)"),
    ("ts_min(low, 7)", None),
    ("ts_max(high, 7)", None),
    ("ts_argmax(close, 10)", None),
    ("ts_argmin(close, 10)", None),
    ("ts_rank(volume, 10)", None),
    ("ts_rank(close, 5)", None),
    ("ts_product(returns + 1, 5)", None),
    ("ts_cov(close, volume, 10)", None),
    ("ts_corr(close, volume, 10)", None),
    ("correlation(rank(open), rank(volume), 10)", "ts_corr(rank(open), rank(volume), 10)"),
    ("decay_linear(returns, 8)", None),
    ("ewm(close, 10)", None),
    ("ts_zscore(close, 15)", None),
    # windows of 32+ days take the engine's block-sum path
    ("ts_sum(returns, 100)", None),
    ("ts_mean(volume, 50)", None),
    ("ts_std(close, 60)", None),
    ("ts_zscore(volume, 45)", None),
    ("ts_cov(high, low, 35)", None),
    ("ts_corr(close, volume, 40)", None),
    ("correlation(vwap, delay(close, 5), 230)", "ts_corr(vwap, delay(close, 5), 230)"),
    ("rank(returns)", None),
    ("zscore(volume)", None),
    ("demean(returns)", None),
    ("scale(returns)", None),
    ("scale(close - open, 3)", "scale(close - open, 3)"),
    ("log(volume) + sqrt(close) - abs(returns)", None),
    ("sign(delta(close, 1)) * -1", None),
    ("signedpower(returns, 2) + power(close, 0.5)", None),
    ("(close - open) / (high - low)", "div(close - open, high - low)"),
    ("close > open ? returns : -returns", "cond(gt(close, open), returns, -returns)"),
    ("min(close, open) + max(high, 5)", "emin(close, open) + ts_max(high, 5)"),
    ("rank(ts_mean(close, 5)) < rank(close)", "lt(rank(ts_mean(close, 5)), rank(close))"),
    ("(rank(Ts_ArgMax(SignedPower(((returns < 0) ? stddev(returns, 20) : close), 2.), 5)) - 0.5)",
     "rank(ts_argmax(signedpower(cond(lt(returns, 0), ts_std(returns, 20), close), 2.), 5)) - 0.5"),
    ("(-1 * correlation(rank(delta(log(volume), 2)), rank(((close - open) / open)), 6))",
     "-1 * ts_corr(rank(delta(log(volume), 2)), rank(div(close - open, open)), 6)"),
    ("((close - open) / ((high - low) + .001))", "div(close - open, (high - low) + .001)"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--data", required=True)
    a = ap.parse_args()
    env = make_env(load(a.data))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as tf:
        tf.write("\n".join(e for e, _ in EXPRS) + "\n")
        path = tf.name
    try:
        out = subprocess.run([a.dump, a.data, path] + SYMS, check=True, capture_output=True,
                             text=True).stdout
    finally:
        os.unlink(path)
    got = pd.read_csv(io.StringIO(out))
    bad = 0
    for i, (text, py) in enumerate(EXPRS):
        want = eval(py or text, {"__builtins__": {}}, env)  # trusted, fixed texts above
        g = got[got["expr"] == i].pivot(index="date", columns="symbol", values="value")
        g = g.reindex(index=want.index, columns=want.columns)
        w, c = want.to_numpy(dtype=float), g.to_numpy(dtype=float)
        nan_w, nan_c = np.isnan(w), np.isnan(c)
        nan_diff = int((nan_w != nan_c).sum())
        both = ~nan_w & ~nan_c
        err = np.abs(c[both] - w[both])
        tol = RTOL * np.abs(w[both]) + ATOL
        nval = int((err > tol).sum())
        worst = float((err / (np.abs(w[both]) + ATOL)).max()) if both.any() else 0.0
        status = "ok" if nan_diff == 0 and nval == 0 else "MISMATCH"
        print(f"{status:8} {text[:60]:60} cells={both.sum():6d} nan_diff={nan_diff} "
              f"value_diff={nval} worst_rel={worst:.2e}")
        if status != "ok":
            bad += 1
            idx = np.argwhere((nan_w != nan_c) | (both & (np.abs(c - w) > RTOL * np.abs(w) + ATOL)))
            for r, k in idx[:5]:
                print(f"    {want.index[r]} {want.columns[k]}: engine={c[r, k]!r} pandas={w[r, k]!r}")
    print(f"{len(EXPRS) - bad}/{len(EXPRS)} expressions match")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Reference for the metrics: empyrical-reloaded and alphalens-reloaded.

Runs `btpipe-runner batch` (all three strategies, two factors) over a slice
of the S&P 500 set, then recomputes every metric from the runner's own
outputs with the reference libraries and fails (exit 1) unless they agree
to 1e-9 relative:
  - return metrics from series.csv's return column: empyrical's
    cum_returns_final, annual_return, annual_volatility, sharpe_ratio,
    sortino_ratio, max_drawdown, calmar_ratio (win rate and turnover by
    their one-line definitions);
  - factor metrics from the factor and close panels that `btpipe-runner
    factor` writes (so the data rules are not under test here): per-date
    rank IC with alphalens.performance.factor_information_coefficient, IC
    with scipy's pearsonr, their mean / std (ddof 1) / IR, and the mean
    next-day return per quantile with alphalens' quantize_factor and
    mean_return_by_quantile(demeaned=False).
The series' row t carries the IC of the factor dated t-1 (known at close t),
so alphalens' IC for date t is compared with row t+1.
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import empyrical as ep
import alphalens as al
from scipy import stats

FACTORS = {"mom5": "-ts_delta(close, 5) / close", "dev10": "close / ts_mean(close, 10) - 1"}
STRATS = [("signal", {}), ("long_short_quantile", {"quantiles": 5, "cost_bps": 5}),
          ("topk_dropout", {"k": 8, "n": 2, "cost_bps": 10})]
RTOL = 1e-9
failures = []


def close_enough(name, got, want):
    if got is None or want is None or (isinstance(want, float) and math.isnan(want)):
        ok = (got is None or (isinstance(got, float) and math.isnan(got))) and \
             (want is None or math.isnan(want))
    else:
        ok = abs(got - want) <= RTOL * max(abs(want), 1e-12)
    if not ok:
        failures.append(f"{name}: btpipe {got!r} reference {want!r}")
    return ok


def factor_reference(fac, close, fwd):
    """alphalens' factor_data for one factor, its per-date rank IC and IC,
    and its mean return per quantile (computed once per factor)."""
    fac = fac.reindex(index=close.index, columns=close.columns)
    fd = pd.DataFrame({"factor": fac.stack(), "1D": fwd.reindex_like(fac).stack()}).dropna()
    fd.index.names = ["date", "asset"]
    fd["factor_quantile"] = al.utils.quantize_factor(fd, quantiles=5)
    ric = al.performance.factor_information_coefficient(fd)["1D"]
    pic = fd.groupby(level="date").apply(
        lambda g: stats.pearsonr(g["factor"], g["1D"])[0] if len(g) >= 2 else np.nan)
    qr, _ = al.performance.mean_return_by_quantile(fd, by_date=False, demeaned=False)
    return fd, ric, pic, qr


def runner_panel(runner, data, expr, tmp, tag):
    out = os.path.join(tmp, tag + ".csv")
    subprocess.run([runner, "factor", "--layout", "yahoo", "--expr", expr, "--out", out, "--data"] + data,
                   check=True)
    df = pd.read_csv(out, parse_dates=["date"])
    return df.pivot(index="date", columns="symbol", values="value")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", required=True)
    ap.add_argument("--runner", required=True)
    ap.add_argument("--symbols", type=int, default=40)
    args = ap.parse_args()
    data = sorted(glob.glob(os.path.join(args.shared, "data", "sp500-5y", "*_data.csv.gz")))[:args.symbols]
    with tempfile.TemporaryDirectory() as tmp:
        pairs = [{"id": f"{f}-{k}", "factor": e, "strategy": k, "params": p}
                 for f, e in FACTORS.items() for k, p in STRATS]
        with open(os.path.join(tmp, "pairs.json"), "w") as f:
            json.dump(pairs, f)
        subprocess.run([args.runner, "batch", "--layout", "yahoo", "--pairs",
                        os.path.join(tmp, "pairs.json"), "--out", os.path.join(tmp, "out"), "--data"] + data,
                       check=True)
        close = runner_panel(args.runner, data, "close", tmp, "close")
        factors = {f: runner_panel(args.runner, data, e, tmp, f) for f, e in FACTORS.items()}
        fwd = close.shift(-1) / close - 1  # consecutive panel dates, NaN when a bar is missing
        factor_refs = {f: factor_reference(v, close, fwd) for f, v in factors.items()}
        for pair in pairs:
            d = os.path.join(tmp, "out", pair["id"])
            with open(os.path.join(d, "summary.json")) as f:
                s = json.load(f)
            ser = pd.read_csv(os.path.join(d, "series.csv"), parse_dates=["date"], index_col="date")
            r = ser["return"]
            pid = pair["id"]
            close_enough(f"{pid} total_return", s["total_return"], ep.cum_returns_final(r))
            close_enough(f"{pid} annual_return", s["annual_return"], ep.annual_return(r))
            close_enough(f"{pid} annual_volatility", s["annual_volatility"], ep.annual_volatility(r))
            close_enough(f"{pid} sharpe", s["sharpe"], ep.sharpe_ratio(r))
            close_enough(f"{pid} sortino", s["sortino"], ep.sortino_ratio(r))
            close_enough(f"{pid} max_drawdown", s["max_drawdown"], ep.max_drawdown(r))
            close_enough(f"{pid} calmar", s["calmar"], ep.calmar_ratio(r))
            nz = r[r != 0]
            close_enough(f"{pid} win_rate", s["win_rate"], float((nz > 0).sum() / len(nz)) if len(nz) else None)
            close_enough(f"{pid} turnover", s["turnover"], float(ser["turnover"].mean()))
            close_enough(f"{pid} final_value", s["final_value"], float(ser["value"].iloc[-1]))
            if s["days"] != len(ser):
                failures.append(f"{pid} days {s['days']} != {len(ser)}")

            fd, ric, pic, qr = factor_refs[pid.split("-")[0]]
            # row t+1 of the series holds the IC of factor date t
            nxt = pd.Series(close.index[1:], index=close.index[:-1])
            mine_r = ser["rank_ic"].reindex(nxt.reindex(ric.index).values).values
            mine_p = ser["ic"].reindex(nxt.reindex(pic.index).values).values
            if not np.allclose(mine_r, ric.values, rtol=RTOL, atol=1e-12, equal_nan=True):
                failures.append(f"{pid} per-date rank IC differs from alphalens")
            if not np.allclose(mine_p, pic.values, rtol=RTOL, atol=1e-12, equal_nan=True):
                failures.append(f"{pid} per-date IC differs from pearsonr")
            close_enough(f"{pid} rank_ic_mean", s["rank_ic_mean"], float(ric.mean()))
            close_enough(f"{pid} rank_ic_std", s["rank_ic_std"], float(ric.std()))
            close_enough(f"{pid} rank_ic_ir", s["rank_ic_ir"], float(ric.mean() / ric.std()))
            close_enough(f"{pid} ic_mean", s["ic_mean"], float(pic.mean()))
            close_enough(f"{pid} ic_std", s["ic_std"], float(pic.std()))
            close_enough(f"{pid} ic_ir", s["ic_ir"], float(pic.mean() / pic.std()))
            if pair["strategy"] == "long_short_quantile":
                for q in range(5):
                    close_enough(f"{pid} quantile_returns[{q}]", s["quantile_returns"][q],
                                 float(qr["1D"].loc[q + 1]))
            print(f"{pid:28s} sharpe {s['sharpe']:+.6f} rank_ic_mean {s['rank_ic_mean']:+.6f} "
                  f"final {s['final_value']:.2f}")
    for f in failures:
        print("MISMATCH", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

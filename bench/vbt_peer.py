#!/usr/bin/env python3
"""The vectorbt peer for the signal strategy: the benchmark's factors in
pandas (pandas_peer's operators), then one Portfolio.from_signals over all
factors x symbols at once (vectorbt at its best: a single numba call).

Entries/exits are decided on a bar's close and filled at the next bar's
open (signals shifted one bar, price = open), commission 0.0002, each
symbol a sleeve of cash / nsyms, like btpipe's signal strategy.

Usage: vbt_peer.py --data DIR --exprs FILE --out FILE.json
"""
import argparse
import json
import time

import numpy as np
import pandas as pd

import pandas_peer as pp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--exprs", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import vectorbt as vbt

    exprs = [l.strip() for l in open(a.exprs) if l.strip() and not l.startswith("#")]
    t0 = time.perf_counter()
    wide = pp.load_yahoo(a.data)
    ns = pp.Namespace(wide)
    t1 = time.perf_counter()
    facs = [pp.factor(e, ns) for e in exprs]
    t2 = time.perf_counter()
    nsym = wide["close"].shape[1]
    keys = [f"f{i:02d}" for i in range(len(facs))]
    close = pd.concat([wide["close"]] * len(facs), axis=1, keys=keys)
    opn = pd.concat([wide["open"]] * len(facs), axis=1, keys=keys)
    entries = pd.concat([(f > 0).shift(1, fill_value=False) for f in facs], axis=1, keys=keys)
    exits = pd.concat([(f < 0).shift(1, fill_value=False) for f in facs], axis=1, keys=keys)
    # Warm the numba JIT on a tiny slice so compile time is not counted.
    vbt.Portfolio.from_signals(close.iloc[:30, :2], entries.iloc[:30, :2], exits.iloc[:30, :2],
                               price=opn.iloc[:30, :2], fees=0.0002, init_cash=100.0)
    t3 = time.perf_counter()
    pf = vbt.Portfolio.from_signals(close.ffill(), entries, exits, price=opn, fees=0.0002,
                                    init_cash=100000.0 / nsym)
    value = pf.value()
    finals = value.iloc[-1].T.groupby(level=0).sum()
    t4 = time.perf_counter()
    json.dump({"load_s": t1 - t0, "factors_s": t2 - t1, "simulate_s": t4 - t3,
               "total_s": (t2 - t0) + (t4 - t3),
               "finals": {f"{k}_signal": float(v) for k, v in finals.items()}},
              open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()

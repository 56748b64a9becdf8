#!/usr/bin/env python3
"""Reference for the `signal` strategy: the AWS workshop's backtrader set-up.

Runs backtrader (the workshop's strategy: buy int(cash / close) shares when
the rule says "in", sell the position when it says "out", market orders
filled at the next bar's open, 100,000 cash, commission 0.02 %) on the
seed A-share files and prints the final portfolio values. With --runner it
also runs `btpipe-runner backtest` on the same case and fails (exit 1)
unless both final values agree to the cent.

Rules:
  sma15       close > SMA(close, 15) in, close < SMA out: the workshop's own
              strategy; our factor is close - ts_mean(close, 15)
  close_open  close > open in, close < open out: a rule without a window,
              used on files with suspended days (a window over a suspension
              is NaN in the factor language but spans it in backtrader, so
              only window-free rules can be compared there)

Prices are adjusted as the workshop did: price * accumadjfactor /
accumadjfactor of the latest row; rows with isopen false are dropped (the
stock has no bar that day). A case's `start` means: data before it is
warm-up only (no orders before it), as `--from` does for the runner.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import backtrader as bt
import pandas as pd

CASES = [
    # name, file, rule, start, end
    ("600519-sma15", "600519.csv", "sma15", None, None),
    ("600559-sma15", "600559.csv", "sma15", None, None),
    # a price under 20: int(cash / close) shares plus commission never fit in
    # the cash at the decision close, so backtrader refuses every buy
    ("600560-sma15-refused", "600560.csv", "sma15", None, None),
    ("600519-sma15-window", "600519.csv", "sma15", "2019-09-02", "2021-03-31"),
    ("600419-close_open-susp", "600419.SH.csv", "close_open", None, None),
    ("600446-close_open-window", "600446.SH.csv", "close_open", "2015-04-01", "2016-03-31"),
    ("600446-close_open-susp", "600446.SH.csv", "close_open", None, None),
    ("600419-close_open-window", "600419.SH.csv", "close_open", "2016-07-01", "2017-12-29"),
]

FACTORS = {"sma15": "close - ts_mean(close, 15)", "close_open": "close - open"}


def load(path, end):
    df = pd.read_csv(path, dtype=str)
    df["tradedate"] = pd.to_datetime(df["tradedate"])
    df = df.sort_values("tradedate")
    adj = df["accumadjfactor"].astype(float)
    scale = adj / adj.iloc[-1]
    out = pd.DataFrame(index=df["tradedate"].values)
    for src, dst in (("openprice", "open"), ("highestprice", "high"),
                     ("lowestprice", "low"), ("closeprice", "close")):
        out[dst] = (df[src].astype(float) * scale).values
    out["volume"] = df["turnovervol"].astype(float).values
    out["openinterest"] = 0.0
    out = out[(df["isopen"].str.lower() == "true").values]
    if end:
        out = out[out.index <= pd.Timestamp(end)]
    return out


class Workshop(bt.Strategy):
    params = (("maperiod", 15), ("rule", "sma15"), ("start", None))

    def __init__(self):
        self.order = None
        self.size = 0
        if self.p.rule == "sma15":
            self.sma = bt.indicators.SimpleMovingAverage(self.datas[0], period=self.p.maperiod)

    def signal(self):
        d = self.datas[0]
        ref = self.sma[0] if self.p.rule == "sma15" else d.open[0]
        return 1 if d.close[0] > ref else -1 if d.close[0] < ref else 0

    def next(self):
        if self.p.start and self.datas[0].datetime.date(0) < self.p.start:
            return
        if self.order:
            return
        sig = self.signal()
        if not self.position:
            if sig > 0:
                self.size = int(self.broker.cash / self.datas[0].close[0])
                self.order = self.buy(size=self.size)
        elif sig < 0:
            self.order = self.sell(size=self.size)

    def notify_order(self, order):
        if order.status in [order.Submitted, order.Accepted]:
            return
        self.order = None


def run_bt(shared, case):
    name, fname, rule, start, end = case
    df = load(os.path.join(shared, "data", "seed-ashare", fname), end)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=df))
    st = pd.Timestamp(start).date() if start else None
    cerebro.addstrategy(Workshop, rule=rule, start=st)
    cerebro.broker.setcash(100000.0)
    cerebro.broker.setcommission(commission=0.0002)
    cerebro.run()
    return cerebro.broker.getvalue()


def run_runner(runner, shared, case):
    name, fname, rule, start, end = case
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [runner, "backtest", "--data", os.path.join(shared, "data", "seed-ashare", fname),
               "--layout", "ashare", "--factor", FACTORS[rule], "--strategy", "signal",
               "--param", "cash=100000", "--param", "commission=0.0002", "--out", tmp]
        if start:
            cmd += ["--from", start]
        if end:
            cmd += ["--to", end]
        subprocess.run(cmd, check=True)
        with open(os.path.join(tmp, "summary.json")) as f:
            return json.load(f)["final_value"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
    ap.add_argument("--runner", help="btpipe-runner to compare with")
    args = ap.parse_args()
    bad = 0
    for case in CASES:
        ref = run_bt(args.shared, case)
        line = f"{case[0]:28s} backtrader {ref:14.2f}"
        if args.runner:
            got = run_runner(args.runner, args.shared, case)
            ok = round(got, 2) == round(ref, 2)
            bad += not ok
            line += f"  btpipe {got:14.2f}  {'ok' if ok else 'MISMATCH'}"
        print(line, flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

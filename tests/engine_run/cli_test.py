#!/usr/bin/env python3
"""btpipe-runner's local command line, end to end on the seed A-share files:
outputs and their columns, incremental runs through --state-out/--state-in
(byte-identical series rows), batch == backtest, the factor command, --help
and the exit codes (2 for bad input)."""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

KEYS = ["final_value", "total_return", "annual_return", "annual_volatility", "sharpe", "sortino",
        "max_drawdown", "calmar", "win_rate", "turnover", "ic_mean", "ic_std", "ic_ir",
        "rank_ic_mean", "rank_ic_std", "rank_ic_ir", "days"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL", what, flush=True)


def run(runner, *args):
    return subprocess.run([runner] + list(args), capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--runner", required=True)
    a = ap.parse_args()
    R = a.runner
    seed = os.path.join(a.shared, "data", "seed-ashare")
    files = [os.path.join(seed, f) for f in ("600519.csv", "600559.csv", "600560.csv")]
    data = []
    for f in files:
        data += ["--data", f]
    common = data + ["--layout", "ashare"]
    fx = "close - ts_mean(close, 15)"
    with tempfile.TemporaryDirectory() as tmp:
        # --help everywhere
        for sub in ([], ["backtest"], ["batch"], ["factor"]):
            p = run(R, *(sub + ["--help"]))
            check(p.returncode == 0 and "usage" in p.stdout, f"{sub} --help")
        # outputs and their shape
        out = os.path.join(tmp, "full")
        p = run(R, "backtest", *common, "--factor", fx, "--strategy", "long_short_quantile",
                "--param", "quantiles=3", "--out", out)
        check(p.returncode == 0, f"backtest ok: {p.stderr}")
        s = json.load(open(os.path.join(out, "summary.json")))
        check(all(k in s for k in KEYS), "summary has every key")
        rows = list(csv.reader(open(os.path.join(out, "series.csv"))))
        check(rows[0] == ["date", "return", "value", "turnover", "ic", "rank_ic"], "series header")
        check(len(rows) - 1 == s["days"] == 608, f"608 rows, got {len(rows) - 1}")
        # incremental: full run == run to D-1 + run from D with the state
        for kind in ("signal", "long_short_quantile", "topk_dropout"):
            params = ["--param", "k=2", "--param", "n=1", "--param", "quantiles=3"]
            full = os.path.join(tmp, "f-" + kind)
            run(R, "backtest", *common, "--factor", fx, "--strategy", kind, *params, "--out", full)
            frows = open(os.path.join(full, "series.csv")).read().splitlines()
            for split in (200, 201, 450):
                d_prev, d = frows[split].split(",")[0], frows[split + 1].split(",")[0]
                st = os.path.join(tmp, f"st-{kind}-{split}")
                a1, a2 = os.path.join(tmp, f"a1-{kind}-{split}"), os.path.join(tmp, f"a2-{kind}-{split}")
                p1 = run(R, "backtest", *common, "--factor", fx, "--strategy", kind, *params,
                         "--to", d_prev, "--state-out", st, "--out", a1)
                p2 = run(R, "backtest", *common, "--factor", fx, "--strategy", kind, *params,
                         "--from", d, "--state-in", st, "--out", a2)
                check(p1.returncode == 0 and p2.returncode == 0, f"{kind} split runs: {p1.stderr}{p2.stderr}")
                r1 = open(os.path.join(a1, "series.csv")).read().splitlines()
                r2 = open(os.path.join(a2, "series.csv")).read().splitlines()
                check(r1 + r2[1:] == frows, f"{kind} split at {d}: rows identical to the full run")
                # the state must be the one for the day before: a gap is refused
                p3 = run(R, "backtest", *common, "--factor", fx, "--strategy", kind, *params,
                         "--from", frows[split + 3].split(",")[0], "--state-in", st, "--out", a2)
                check(p3.returncode == 2, f"{kind}: a state not ending the day before is refused")
        # batch == backtest
        pairs = [{"id": "p1", "factor": fx, "strategy": "signal", "params": {"cash": 50000}},
                 {"id": "p2", "factor": fx, "strategy": "long_short_quantile",
                  "params": {"quantiles": "3"}}]
        pf = os.path.join(tmp, "pairs.json")
        json.dump(pairs, open(pf, "w"))
        p = run(R, "batch", *common, "--pairs", pf, "--out", os.path.join(tmp, "b"))
        check(p.returncode == 0, f"batch ok: {p.stderr}")
        check(open(os.path.join(tmp, "b", "p2", "series.csv")).read() ==
              open(os.path.join(out, "series.csv")).read(), "batch pair == backtest")
        b1 = json.load(open(os.path.join(tmp, "b", "p1", "summary.json")))
        p = run(R, "backtest", *common, "--factor", fx, "--strategy", "signal", "--param",
                "cash=50000", "--out", os.path.join(tmp, "s1"))
        check(b1 == json.load(open(os.path.join(tmp, "s1", "summary.json"))), "batch p1 == backtest")
        # factor command
        ff = os.path.join(tmp, "f.csv")
        p = run(R, "factor", *common, "--expr", "close", "--out", ff)
        fr = list(csv.reader(open(ff)))
        check(p.returncode == 0 and fr[0] == ["date", "symbol", "value"] and len(fr) == 1 + 3 * 608,
              "factor output")
        check(fr[1][0] == "2019-01-02", "factor dates are YYYY-MM-DD")
        # bad input -> 2
        bad = [
            ["backtest", *common, "--factor", fx, "--strategy", "nope", "--out", tmp],
            ["backtest", *common, "--factor", fx, "--strategy", "signal", "--param", "k=0", "--out", tmp],
            ["backtest", *common, "--factor", "ts_mean(close,", "--strategy", "signal", "--out", tmp],
            ["backtest", "--data", "/nonexistent/x.csv", "--layout", "ashare", "--factor", fx,
             "--strategy", "signal", "--out", tmp],
            ["backtest", *common, "--factor", fx, "--strategy", "signal", "--from", "2021-13-01", "--out", tmp],
            ["backtest", "--data", "s3://b/k", "--layout", "ashare", "--factor", fx, "--strategy", "signal",
             "--out", tmp],
            ["backtest", *common, "--factor", fx, "--strategy", "signal", "--from", "2030-01-01", "--out", tmp],
            ["backtest", *common, "--factor", fx, "--strategy", "signal"],
            ["batch", *common, "--pairs", os.path.join(tmp, "none.json"), "--out", tmp],
            ["wat"],
            [],
        ]
        for args in bad:
            p = run(R, *args)
            check(p.returncode == 2, f"exit 2 for {args[:1] + args[-4:]}: got {p.returncode} {p.stderr.strip()}")
            check(p.stderr.strip() != "", f"an error message for {args[:1]}")
        badpairs = os.path.join(tmp, "bad.json")
        open(badpairs, "w").write('[{"id": "x", "factor": 1}]')
        p = run(R, "batch", *common, "--pairs", badpairs, "--out", tmp)
        check(p.returncode == 2 and "pairs[0]" in p.stderr, f"bad pair named: {p.stderr}")
        open(badpairs, "w").write('[{"id": "ok", "factor": "close", "strategy": "signal"},'
                                  ' {"id": "bad", "factor": "close +", "strategy": "signal"}]')
        p = run(R, "batch", *common, "--pairs", badpairs, "--out", os.path.join(tmp, "bb"))
        check(p.returncode == 2 and os.path.exists(os.path.join(tmp, "bb", "ok", "summary.json"))
              and not os.path.exists(os.path.join(tmp, "bb", "bad")), "one bad pair does not stop the others")
    print("cli_test:", "FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

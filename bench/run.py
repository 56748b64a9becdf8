#!/usr/bin/env python3
"""btpipe's benchmark: btpipe and its peers on the same data, in the same run.

    bench/run.sh            (sets up the peers' venv, builds, then runs this)

Measures on the whole sp500-5y set (482 symbols x 1,259 days):
  1. load: btpipe's load of the gzip files, and its CSV parse alone on the
     same bytes decompressed in memory (MB/s); pandas' load for comparison;
  2. 50 expressions x 3 strategies (150 pairs) in one `btpipe-runner batch`,
     wall time and peak memory, against the pandas peer doing the same;
  3. the signal strategy over the 50 expressions, btpipe against vectorbt's
     Portfolio.from_signals (factors computed in pandas, then one vectorbt
     call over every column).
Each figure is the best of --repeat runs. Ratios are peer / btpipe: how many
times faster btpipe is.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STRATEGIES = ("signal", "long_short_quantile", "topk_dropout")


def timed(cmd, env=None):
    """Runs cmd; returns (wall seconds, peak RSS in MiB) of that child alone."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: command failed ({status}): {' '.join(cmd)}")
    return wall, ru.ru_maxrss / 1024.0


def best(n, fn):
    runs = [fn() for _ in range(n)]
    return min(runs, key=lambda r: r[0])


def main():
    ap = argparse.ArgumentParser(description="btpipe benchmark, side by side with its peers")
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "sp500-5y"))
    ap.add_argument("--exprs", default=os.path.join(HERE, "expressions.txt"))
    ap.add_argument("--python", default=sys.executable, help="interpreter with pandas + vectorbt")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-vectorbt", action="store_true")
    a = ap.parse_args()

    data = os.path.abspath(a.data)
    runner = os.path.join(a.build, "services", "runner", "btpipe-runner")
    bench_load = os.path.join(a.build, "bench", "bench_load")
    exprs = [l.strip() for l in open(a.exprs) if l.strip() and not l.startswith("#")]
    work = tempfile.mkdtemp(prefix="btpipe-bench-")
    res = {"exprs": len(exprs), "data": data}

    print(f"bench: load ({a.repeat} repeats)", file=sys.stderr)
    out = subprocess.run([bench_load, "yahoo", data, str(max(a.repeat, 3))],
                         check=True, capture_output=True, text=True).stdout
    res["btpipe_load"] = json.loads(out)

    def pairs_file(name, strategies):
        pairs = [{"id": f"f{i:02d}_{s}", "factor": e, "strategy": s, "params": {}}
                 for i, e in enumerate(exprs) for s in strategies]
        path = os.path.join(work, name)
        json.dump(pairs, open(path, "w"))
        return path, len(pairs)

    all_pairs, n_all = pairs_file("pairs_all.json", STRATEGIES)
    sig_pairs, n_sig = pairs_file("pairs_signal.json", ("signal",))

    print(f"bench: btpipe batch, {n_all} pairs", file=sys.stderr)
    res["btpipe_all"] = best(a.repeat, lambda: timed(
        [runner, "batch", "--data", data, "--layout", "yahoo", "--pairs", all_pairs,
         "--out", os.path.join(work, "bt_all")]))
    print(f"bench: btpipe batch, {n_sig} signal pairs", file=sys.stderr)
    res["btpipe_signal"] = best(a.repeat, lambda: timed(
        [runner, "batch", "--data", data, "--layout", "yahoo", "--pairs", sig_pairs,
         "--out", os.path.join(work, "bt_sig")]))

    print("bench: pandas peer (150 pairs; this takes a while)", file=sys.stderr)
    pd_json = os.path.join(work, "pandas.json")
    res["pandas_all"] = timed([a.python, os.path.join(HERE, "pandas_peer.py"), "--data", data,
                               "--exprs", a.exprs, "--out", pd_json])
    res["pandas_detail"] = {k: v for k, v in json.load(open(pd_json)).items() if k != "finals"}

    if not a.skip_vectorbt:
        print("bench: vectorbt peer (50 signal pairs)", file=sys.stderr)
        vb_json = os.path.join(work, "vbt.json")
        res["vectorbt_signal"] = best(a.repeat, lambda: timed(
            [a.python, os.path.join(HERE, "vbt_peer.py"), "--data", data, "--exprs", a.exprs,
             "--out", vb_json]))
        res["vectorbt_detail"] = {k: v for k, v in json.load(open(vb_json)).items()
                                  if k != "finals"}

    bl = res["btpipe_load"]
    pd_load = res["pandas_detail"]["load_s"]
    rows = [
        ("load sp500-5y (gzip)", f"{bl['load_s']:.3f} s", f"pandas {pd_load:.2f} s",
         f"{pd_load / bl['load_s']:.0f}x"),
        ("CSV parse, uncompressed", f"{bl['mb_per_s']:.0f} MB/s ({bl['mb']:.0f} MB)", "target 500 MB/s",
         f"{bl['mb_per_s'] / 500:.2f}x target"),
        (f"{n_all} pairs (50 exprs x 3 strategies)",
         f"{res['btpipe_all'][0]:.2f} s, {res['btpipe_all'][1]:.0f} MiB",
         f"pandas {res['pandas_all'][0]:.1f} s, {res['pandas_all'][1]:.0f} MiB",
         f"{res['pandas_all'][0] / res['btpipe_all'][0]:.0f}x"),
    ]
    if "vectorbt_signal" in res:
        vd = res["vectorbt_detail"]
        rows.append((f"{n_sig} signal pairs, end to end",
                     f"{res['btpipe_signal'][0]:.2f} s, {res['btpipe_signal'][1]:.0f} MiB",
                     f"pandas+vectorbt {res['vectorbt_signal'][0]:.1f} s, "
                     f"{res['vectorbt_signal'][1]:.0f} MiB",
                     f"{res['vectorbt_signal'][0] / res['btpipe_signal'][0]:.0f}x"))
        rows.append((f"{n_sig} signal pairs, vectorbt simulation only",
                     f"{res['btpipe_signal'][0]:.2f} s (btpipe end to end)",
                     f"vectorbt {vd['simulate_s']:.2f} s",
                     f"{vd['simulate_s'] / res['btpipe_signal'][0]:.1f}x"))
    print("\n| measure | btpipe | peer | btpipe faster by |\n| --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    json.dump(res, open(os.path.join(a.build, "bench-results.json"), "w"), indent=1)
    print(f"\nraw figures: {os.path.join(a.build, 'bench-results.json')}")


if __name__ == "__main__":
    main()

"""End-to-end: a daily bar file lands in S3 -> ingest -> planner -> runner ->
collector -> an AggregatedResult on <prefix>.results, with the real binaries
and the real local stack (started by tests/run.sh; settings from .stack/env).

Each run uses its own topic prefix and its own dataset name, so reruns on the
same stack never see each other's messages or objects. The expected numbers
come from `btpipe-runner backtest` run locally on the very same CSV files
(no Kafka, no S3, no planner, no collector), so the pipeline's merge of
incremental tasks is checked against one plain run over everything: first 7
dates, then 3 more, then one of them corrected (re-uploaded with another
close), every one of the 17 full-history metrics to 1e-9.

Also checked: garbage on <prefix>.factors and <prefix>.completions reaches
<prefix>.deadletter while the good path completes; /healthz and /metrics of
every service; ingest and collector killed with SIGKILL and restarted repeat
nothing; SIGTERM makes every service exit 0 within 5 s.
"""

import argparse
import csv
import gzip
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SYMBOLS = ["AAPL", "MSFT", "JPM", "XOM", "PFE", "KO", "WMT", "INTC"]
FIRST, LAST = "2019-11-01", "2019-11-14"  # 10 trading days
FIRST_BATCH = 7  # dates landed before the first result is awaited
FACTOR_EXPR = "rank(ts_delta(close, 2))"
STRATEGY_KIND = "long_short_quantile"
STRATEGY_PARAMS = ["quantiles=2", "cost_bps=5"]


def log(*a):
    print("e2e:", *a, file=sys.stderr, flush=True)


def fail(msg):
    raise SystemExit("e2e: FAILED: " + msg)


def load_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                line = line[len("export "):]
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            env[k] = v.strip().strip("'\"")
    return env


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def daily_files(shared, out_dir):
    """Canonical daily partitions (symbol,date,open,high,low,close,volume)
    for SYMBOLS between FIRST and LAST, from the shared Yahoo files; prices
    adjusted by Adj Close / Close as the engine's yahoo layout does."""
    rows = {}
    for sym in SYMBOLS:
        with gzip.open(os.path.join(shared, "data", "sp500-5y", f"{sym}_data.csv.gz"), "rt") as f:
            for r in csv.DictReader(f):
                d = r["Date"]
                if not (FIRST <= d <= LAST) or not r["Close"] or not r["Adj Close"]:
                    continue
                k = float(r["Adj Close"]) / float(r["Close"])
                rows.setdefault(d, []).append(
                    (sym, d, float(r["Open"]) * k, float(r["High"]) * k, float(r["Low"]) * k,
                     float(r["Close"]) * k, r["Volume"]))
    paths = []
    for d in sorted(rows):
        p = os.path.join(out_dir, d[:4], f"{d}.csv")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write("symbol,date,open,high,low,close,volume\n")
            for r in sorted(rows[d]):
                f.write("%s,%s,%.6f,%.6f,%.6f,%.6f,%s\n" % r)
        paths.append((d, p))
    return paths


def runner_expected(runner, files, tmp, tag):
    out = os.path.join(tmp, "expected-" + tag)
    cmd = [runner, "backtest", "--layout", "daily", "--factor", FACTOR_EXPR,
           "--strategy", STRATEGY_KIND, "--out", out, "--data"] + files
    for p in STRATEGY_PARAMS:
        cmd[cmd.index("--out"):cmd.index("--out")] = ["--param", p]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail("local runner failed: %s\n%s" % (" ".join(cmd), r.stderr))
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


class Services:
    def __init__(self, env, logdir):
        self.env, self.logdir, self.procs = env, logdir, {}

    def start(self, name, argv, extra):
        port = free_port()
        env = dict(self.env, BTPIPE_HTTP_ADDR=f"127.0.0.1:{port}", **extra)
        logf = open(os.path.join(self.logdir, name + ".log"), "a")
        p = subprocess.Popen(argv, env=env, stdout=logf, stderr=subprocess.STDOUT)
        self.procs[name] = (p, port, logf)
        self.argv = getattr(self, "argv", {})
        self.argv[name] = (argv, extra)
        log(f"started {name} pid {p.pid} http {port}")

    def crash_and_restart(self, name):
        """kill -9, start again, wait until it says it rebuilt its state."""
        p, _, logf = self.procs[name]
        p.kill()
        p.wait()
        logf.close()
        self.start(name, *self.argv[name])
        t0 = time.time()
        while time.time() - t0 < 60:
            self.alive_or_die()
            try:
                if self.http(name, "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        fail(f"{name} not ready 60 s after a restart")

    def alive_or_die(self):
        for name, (p, _, _) in self.procs.items():
            if p.poll() is not None:
                self.dump()
                fail(f"{name} exited early with status {p.returncode}")

    def http(self, name, path):
        port = self.procs[name][1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()

    def log_text(self, name):
        with open(os.path.join(self.logdir, name + ".log")) as f:
            return f.read()

    def dump(self):
        for name in self.procs:
            path = os.path.join(self.logdir, name + ".log")
            with open(path) as f:
                tail = f.read()[-4000:]
            log(f"---- {name} log (last 4000 bytes of {path}) ----\n{tail}")

    def kill_all(self):
        for p, _, logf in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
            logf.close()


def btctl(bins, env, *args, check=True):
    r = subprocess.run([bins["btctl"]] + list(args), env=env, capture_output=True, text=True,
                       timeout=120)
    if check and r.returncode != 0:
        fail("btctl %s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def results(bins, env):
    r = btctl(bins, env, "results", "list", "--json", check=False)
    if r.returncode != 0:
        return []
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def wait_result(bins, env, svcs, pair_id, days, timeout, other_than=None):
    """The pair's latest result once it has `days` days (and another id
    than other_than, when given)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        svcs.alive_or_die()
        for res in results(bins, env):
            if res["pair_id"] == pair_id and res["days"] == days and res["id"] != other_than:
                log(f"result with {days} days after {time.time() - t0:.1f} s: {res['id']}")
                return res
        time.sleep(1)
    svcs.dump()
    fail(f"no result for {pair_id} with {days} days within {timeout} s; have {results(bins, env)}")


def check_result(res, exp, files, n, dataset):
    """res (from btctl) is the pair's result over files[:n] and every metric
    equals the local runner's summary exp."""
    if res["strategy_id"] != "lsq" or res["factor_id"] != "mom2" or res["dataset"] != dataset:
        fail(f"result names the wrong pair: {res}")
    if res["first_date"] != files[0][0] or res["last_date"] != files[n - 1][0]:
        fail(f"dates {res['first_date']}..{res['last_date']}, want "
             f"{files[0][0]}..{files[n - 1][0]}")
    if res["status"] != "current":
        fail(f"status {res['status']}: {res['status_reason']}")
    if exp["days"] != n:
        fail(f"local runner reports {exp['days']} days, want {n}")
    # Every full-history metric the collector derived from the merged
    # series equals the one plain run's (JSON null = not defined).
    m = res["metrics"]
    for k in ("total_return", "final_value", "annual_return", "annual_volatility", "sharpe",
              "sortino", "max_drawdown", "calmar", "win_rate", "turnover", "ic_mean", "ic_std",
              "ic_ir", "rank_ic_mean", "rank_ic_std", "rank_ic_ir", "days"):
        if (m.get(k) is None) != (exp.get(k) is None):
            fail(f"{k} over {n} days: pipeline {m.get(k)!r}, local runner {exp.get(k)!r}")
        if m.get(k) is not None:
            close(m[k], exp[k], f"{k} over {n} days")


def close(a, b, what, rel=1e-9):
    if a is None or b is None or abs(a - b) > rel * max(1.0, abs(a), abs(b)):
        fail(f"{what}: pipeline {a!r} != local runner {b!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--shared-dir", required=True)
    for b in ("ingest", "planner", "collector", "runner", "btctl", "e2e-kafka"):
        ap.add_argument("--" + b, required=True)
    ap.add_argument("--timeout", type=float, default=180)
    a = ap.parse_args()
    bins = {"btctl": a.btctl, "runner": a.runner}

    stack_dir = os.environ.get("BTPIPE_STACK_DIR", os.path.join(a.source_dir, ".stack"))
    env_file = os.path.join(stack_dir, "env")
    if not os.path.exists(env_file):
        fail(f"{env_file} not found: start the stack first (deploy/local/stack-up.sh)")
    stack = load_env(env_file)
    tag = "%d%04d" % (time.time(), random.randrange(10000))
    prefix, dataset = f"e2e{tag}", f"e2e{tag}"
    env = dict(os.environ, **stack)
    # The broker's smallest session timeout: a member killed with SIGKILL
    # leaves the group after 6 s instead of 45 s, which the restart check
    # below waits for.
    env.update(BTPIPE_TOPIC_PREFIX=prefix, BTPIPE_LOG_LEVEL="info",
               BTPIPE_KAFKA_PROP_session_timeout_ms="6000")
    bucket = env.get("BTPIPE_DATA_BUCKET") or fail("BTPIPE_DATA_BUCKET missing in .stack/env")
    log(f"topic prefix {prefix}, dataset {dataset}, bucket {bucket}")

    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env["AWS_ENDPOINT_URL"],
                      region_name=env.get("AWS_REGION", "us-east-1"),
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                      config=Config(s3={"addressing_style": "path"}))

    # Preflight: every service lists "<dataset>/daily/" and writes keys with
    # '@'; an endpoint that mis-verifies such signatures (plain moto, whose
    # check sees the decoded URL) would only show up as a timeout below.
    try:
        s3.put_object(Bucket=bucket, Key=f"{dataset}-preflight/a@1/b.txt", Body=b"x")
        s3.list_objects_v2(Bucket=bucket, Prefix=f"{dataset}-preflight/a@1/")
    except Exception as e:  # noqa: BLE001 -- any failure here is the message
        fail(f"the S3 endpoint refuses correctly signed requests with '/' or '@' in the "
             f"path or query ({e}); start moto through deploy/local/moto_raw_uri.py")

    tmp = tempfile.mkdtemp(prefix="btpipe-e2e-")
    logdir = os.path.join(tmp, "logs")
    os.makedirs(logdir)
    files = daily_files(a.shared_dir, os.path.join(tmp, "daily"))
    if len(files) != 10:
        fail(f"expected 10 trading days between {FIRST} and {LAST}, got {len(files)}")
    exp1 = runner_expected(a.runner, [p for _, p in files[:FIRST_BATCH]], tmp, "first")
    exp2 = runner_expected(a.runner, [p for _, p in files], tmp, "all")

    # Fresh topics need a moment before their leader is elected; services
    # that read them at once must not be what this test is about.
    r = subprocess.run([a.e2e_kafka, "ensure"], env=env, capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        fail(f"creating topics: {r.stderr}")

    svcs = Services(env, logdir)
    try:
        svcs.start("ingest", [a.ingest], {"BTPIPE_DATASETS": dataset,
                                          "BTPIPE_INGEST_POLL_MS": "300"})
        svcs.start("planner", [a.planner], {"BTPIPE_RUNNER_PATH": a.runner,
                                            "BTPIPE_EXECUTOR": "local"})
        svcs.start("collector", [a.collector], {})

        # Garbage first: the good path must still complete after it.
        for topic in ("factors", "completions"):
            # field 1 (meta) says 127 bytes follow, 5 do: cannot decode
            r = subprocess.run([a.e2e_kafka, "produce", topic, "garbage", b"\x0a\x7fshort"],
                               env=env, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                fail(f"producing garbage to {topic}: {r.stderr}")

        btctl(bins, env, "factor", "register", "--id", "mom2", "--expr", FACTOR_EXPR,
              "--universe", dataset)
        sargs = ["strategy", "register", "--id", "lsq", "--kind", STRATEGY_KIND]
        for p in STRATEGY_PARAMS:
            sargs += ["--param", p]
        btctl(bins, env, *sargs)
        # A bad expression is refused locally with its position.
        r = btctl(bins, env, "factor", "register", "--id", "bad", "--expr", "rank(close", check=False)
        if r.returncode != 2 or not re.search(r"\d+:\d+", r.stderr):
            fail(f"bad expression: want exit 2 with a position, got {r.returncode}: {r.stderr}")

        def land(batch):
            for d, p in batch:
                key = f"{dataset}/daily/{d[:4]}/{d}.csv"
                with open(p, "rb") as f:
                    s3.put_object(Bucket=bucket, Key=key, Body=f.read())
            log(f"landed {len(batch)} dates up to {batch[-1][0]}")

        pair = f"lsq/mom2/{dataset}"
        land(files[:FIRST_BATCH])
        res1 = wait_result(bins, env, svcs, pair, FIRST_BATCH, a.timeout)
        land(files[FIRST_BATCH:])
        res2 = wait_result(bins, env, svcs, pair, len(files), a.timeout)

        check_result(res1, exp1, files, FIRST_BATCH, dataset)
        check_result(res2, exp2, files, len(files), dataset)
        if abs(res2["metrics"]["total_return"]) < 1e-12:
            fail("total return is exactly 0: the strategy never traded, the test proves nothing")
        log(f"pipeline total return {res2['metrics']['total_return']:.10f} == local "
            f"{exp2['total_return']:.10f}")

        # A corrected file (same date, other bytes): ingest announces a new
        # data version, the planner re-runs from there, the newest completion
        # wins each date, and the result equals one plain run over the
        # corrected files.
        d_fix, p_fix = files[8]
        with open(p_fix) as f:
            rows = f.read().splitlines()
        cells = rows[1].split(",")
        cells[5] = "%.6f" % (float(cells[5]) * 1.03)  # one close, 3 % higher
        rows[1] = ",".join(cells)
        with open(p_fix, "w") as f:
            f.write("\n".join(rows) + "\n")
        exp3 = runner_expected(a.runner, [p for _, p in files], tmp, "corrected")
        if abs(exp3["total_return"] - exp2["total_return"]) < 1e-9:
            fail("the correction does not change the local result: it proves nothing")
        land([files[8]])
        res3 = wait_result(bins, env, svcs, pair, len(files), a.timeout, other_than=res2["id"])
        check_result(res3, exp3, files, len(files), dataset)
        log(f"corrected {d_fix}: total return {res3['metrics']['total_return']:.10f} == local "
            f"{exp3['total_return']:.10f}")

        # Dead letters for both garbage messages.
        t0 = time.time()
        want = {f"{prefix}.factors", f"{prefix}.completions"}
        while True:
            r = subprocess.run([a.e2e_kafka, "deadletters"], env=env, capture_output=True,
                               text=True, timeout=60)
            seen = {line.split("\t")[0] for line in r.stdout.splitlines()}
            if want <= seen:
                log("dead letters: " + "; ".join(r.stdout.splitlines()))
                break
            if time.time() - t0 > 60:
                svcs.dump()
                fail(f"dead letters for {sorted(want - seen)} missing; have:\n{r.stdout}{r.stderr}")
            time.sleep(1)

        # Every service answers its HTTP endpoints.
        for name in svcs.procs:
            st, body = svcs.http(name, "/healthz")
            if st != 200:
                fail(f"{name} /healthz: {st}")
            st, body = svcs.http(name, "/readyz")
            if st != 200:
                fail(f"{name} /readyz: {st}")
            st, body = svcs.http(name, "/metrics")
            if st != 200 or "# TYPE" not in body:
                fail(f"{name} /metrics: {st} {body[:200]}")
        _, body = svcs.http("ingest", "/metrics")
        if not re.search(r"^btpipe_ingest_increments_total 11$", body, re.M):
            fail("ingest /metrics does not count 10 increments and 1 correction:\n" + body)
        _, body = svcs.http("collector", "/metrics")
        if not re.search(r"^btpipe_collector_deadletters_total 1$", body, re.M):
            fail("collector /metrics does not count the dead letter:\n" + body)

        # kill -9 and restart: state comes back from the compacted topics,
        # so nothing is announced or published again.
        for name in ("ingest", "collector"):
            svcs.crash_and_restart(name)
        time.sleep(3)  # ten ingest polls
        _, body = svcs.http("ingest", "/metrics")
        if not re.search(r"^btpipe_ingest_increments_total 0$", body, re.M) or \
                not re.search(r"^btpipe_ingest_announced_dates 10$", body, re.M):
            fail("restarted ingest announced again or lost its state:\n" + body)
        _, body = svcs.http("collector", "/metrics")
        if not re.search(r"^btpipe_collector_results_published_total 0$", body, re.M):
            fail("restarted collector published again:\n" + body)
        after = [r for r in results(bins, env) if r["pair_id"] == pair]
        if len(after) != 1 or after[0]["id"] != res3["id"]:
            fail(f"result changed across restarts: {after} vs {res3['id']}")
        log("ingest and collector restarted after kill -9: nothing repeated, nothing lost")
        # The killed collector stays a group member until its session times
        # out; the new one is assigned after that. Leaving the group while
        # the join is pending blocks close, so wait for the assignment.
        t0 = time.time()
        while svcs.log_text("collector").count("kafka partitions assigned") < 2:
            if time.time() - t0 > 60:
                fail("restarted collector got no partitions within 60 s")
            time.sleep(0.5)

        # SIGTERM: each exits 0 within 5 s.
        for name, (p, _, _) in svcs.procs.items():
            t0 = time.time()
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                svcs.dump()
                fail(f"{name} still running 5 s after SIGTERM")
            if rc != 0:
                svcs.dump()
                fail(f"{name} exited {rc} after SIGTERM")
            log(f"{name} stopped in {time.time() - t0:.2f} s")
    except BaseException:
        svcs.dump()
        raise
    finally:
        svcs.kill_all()
    log("1 passed, 0 failed")


if __name__ == "__main__":
    main()

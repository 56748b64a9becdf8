#!/usr/bin/env python3
"""Wire compatibility between btpipe's protobuf-c code and Google's protobuf.

1. Generates Python code from the same proto/btpipe/v1/*.proto files
   (grpc_tools' bundled protoc, else the protoc on PATH).
2. Runs `proto_vectors write`, then decodes every C-encoded message with the
   official runtime and checks it field by field against the canonical
   instance written out below (independently of the C tool's copy).
3. Encodes the canonical instances in Python, plus each with fields from a
   "newer schema" appended (unknown-field tolerance), and runs
   `proto_vectors check`, which decodes them in C and checks every field.

Usage: compat.py --tool PATH --proto-dir DIR --work DIR
Ends with a line "N passed, M failed".
"""
import argparse
import importlib
import math
import os
import shutil
import subprocess
import sys

PRODUCED_AT = 1767225600123
PRODUCER = "btpipe-test/höst-1 ✓"
NAMES = ["data_increment", "factor_spec", "strategy_spec", "job_record",
         "job_completion", "aggregated_result", "dead_letter"]


def generate(proto_dir, out_dir):
    """Python modules for btpipe/v1/*.proto into out_dir; returns the protoc used."""
    os.makedirs(out_dir, exist_ok=True)
    protos = sorted(os.path.join("btpipe", "v1", f)
                    for f in os.listdir(os.path.join(proto_dir, "btpipe", "v1"))
                    if f.endswith(".proto"))
    try:
        from grpc_tools import protoc  # noqa: F401  (bundled protoc matches the runtime)
        cmd = [sys.executable, "-m", "grpc_tools.protoc"]
        used = "grpc_tools.protoc"
    except ImportError:
        exe = shutil.which("protoc")
        if not exe:
            sys.exit("compat.py: neither grpc_tools nor protoc is available "
                     "(pip install grpcio-tools into the venv)")
        cmd = [exe]
        used = exe
    subprocess.run(cmd + ["-I", proto_dir, "--python_out=" + out_dir] + protos,
                   check=True, cwd=proto_dir)
    return used


def load_modules(gen_dir):
    sys.path.insert(0, gen_dir)
    mods = {}
    for n in ["meta"] + NAMES:
        mods[n] = importlib.import_module("btpipe.v1.%s_pb2" % n)
    return mods


def canonical(m):
    """The canonical instance of every message, as in proto_vectors.c."""
    meta = m["meta"].Meta

    def mk_meta(i):
        return meta(id=i, produced_at_ms=PRODUCED_AT, producer=PRODUCER, schema=1)

    di = m["data_increment"]
    inc = di.DataIncrement(
        meta=mk_meta("sp500/2024-01-02/"
                     "3f1d2a9c8b7e6f5a4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c"),
        dataset="sp500", trading_date="2024-01-02", uri="s3://btpipe-data/sp500/daily",
        objects=[
            di.DataObject(key="sp500/daily/2024/2024-01-02.csv.gz",
                          etag='"9b2cf535f27731c974343645a3985328"', size=123456,
                          version_id="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
                          last_modified_ms=1704240000000),
            di.DataObject(key="sp500/daily/2024/_SUCCESS",
                          etag='"d41d8cd98f00b204e9800998ecf8427e"', size=0,
                          last_modified_ms=1704240000500),
        ],
        rows=5000000000, symbols=503,
        data_version="3f1d2a9c8b7e6f5a4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c",
        detected_at_ms=1704240001000, layout="daily")

    fs = m["factor_spec"].FactorSpec(
        meta=mk_meta("mom5@3"), factor_id="mom5", version=3,
        expr="rank(ts_delta(close, 5)) / (1 + abs(ts_mean(volume, 20)))",
        description='5-day momentum — ранг 日本\nsecond line\t"quoted"',
        universe="sp500", lookback=25)

    pm = m["meta"].Param
    params = [pm(key="cash", value="1000000"), pm(key="commission", value="0.0005"),
              pm(key="quantiles", value="5")]
    sp = m["strategy_spec"]
    ss = sp.StrategySpec(
        meta=mk_meta("lsq@2"), strategy_id="lsq", version=2,
        kind=sp.STRATEGY_KIND_CONTAINER, params=params,
        container=sp.ContainerSpec(
            image="123456789012.dkr.ecr.us-east-1.amazonaws.com/backtest:1.2",
            command=["python", "bt.py", "{data_uri}", "{from}", "{to}", "{out_uri}"],
            vcpus=2, memory_mib=4096),
        description="user container 🚀")

    jr = m["job_record"]
    t0 = jr.Task(
        task_key="lsq@2/mom5@3/sp500/2024-01-02..2024-01-02", strategy_id="lsq",
        strategy_version=2, factor_id="mom5", factor_version=3, dataset="sp500",
        from_date="2024-01-02", to_date="2024-01-02", warmup_from="2023-11-24",
        data_version="3f1d2a9c", expr="rank(ts_delta(close, 5))",
        kind=sp.STRATEGY_KIND_LONG_SHORT_QUANTILE, params=params[:2],
        data_uri="s3://btpipe-data/sp500/daily",
        state_in_uri="s3://btpipe-results/state/lsq/mom5/2024-01-01",
        state_out_uri="s3://btpipe-results/state/lsq/mom5/2024-01-02",
        series_uri="s3://btpipe-results/series/lsq/mom5/2024-01-02", layout="daily")
    t1 = jr.Task(task_key="topk@1/mom5@3/sp500/2020-01-01..2023-12-31", strategy_id="topk",
                 strategy_version=1, kind=sp.STRATEGY_KIND_TOPK_DROPOUT)
    job = jr.JobRecord(
        meta=mk_meta("plan-7f3a/3/2"), plan_id="plan-7f3a", tasks=[t0, t1],
        executor="aws-batch", external_id="4c8f2d8e-1b7a-4f0e-9a51-2f1f3b0a8c77",
        state=jr.JOB_STATE_RUNNING, attempts=2, planned_at_ms=1704240002000,
        submitted_at_ms=1704240003000, finished_at_ms=1704240009000,
        manifest_uri="s3://btpipe-results/manifests/plan-7f3a",
        error="attempt 1: OutOfMemoryError: Container killed")

    jcm = m["job_completion"]

    def metrics(days, sharpe):
        return jcm.Metrics(
            final_value=1234567.891, total_return=0.2345678901234567, annual_return=-0.125,
            annual_volatility=0.3, sharpe=sharpe, sortino=5e-324, max_drawdown=-0.4321,
            calmar=2.5e-10, win_rate=0.55, turnover=12.75, ic_mean=0.0123, ic_std=0.1,
            ic_ir=0.123, rank_ic_mean=-0.0042, rank_ic_std=0.09, rank_ic_ir=-1e-5, days=days)

    points = [jcm.DailyPoint(date=d, ret=0.001 * (i + 1) - 0.0025,
                             value=1000000.0 * (1 + 0.01 * i), turnover=0.5 / (i + 1),
                             ic=-0.05 + 0.04 * i, rank_ic=0.02 * (i + 1))
              for i, d in enumerate(["2024-01-02", "2024-01-03", "2024-01-04"])]
    jc = jcm.JobCompletion(
        meta=mk_meta("lsq@2/mom5@3/sp500/2024-01-02..2024-01-02/3f1d2a9c"),
        task_key="lsq@2/mom5@3/sp500/2024-01-02..2024-01-04", plan_id="plan-7f3a",
        attempt=2, status=jcm.COMPLETION_STATUS_REJECTED_INPUT,
        error="sp500/daily/2024/2024-01-03.csv.gz:17:4: close is not a number",
        series_uri="s3://btpipe-results/series/lsq/mom5/2024-01-04",
        metrics=metrics(1, -3.25), data_version="3f1d2a9c",
        started_at_ms=1704240004000, finished_at_ms=1704240005000, strategy_id="lsq",
        factor_id="mom5", dataset="sp500", from_date="2024-01-02", to_date="2024-01-04",
        points=points, strategy_version=2, factor_version=3)

    arm = m["aggregated_result"]
    ar = arm.AggregatedResult(
        meta=mk_meta("lsq/mom5/sp500/2024-01-03/9d8c7b6a"), pair_id="lsq/mom5/sp500",
        strategy_id="lsq", factor_id="mom5", dataset="sp500", first_date="2014-01-02",
        last_date="2024-01-03", days=2516, metrics=metrics(252, 1.7976931348623157e308),
        status=arm.RESULT_STATUS_FAILING,
        status_reason="task lsq@2/mom5@3/sp500/2024-01-04 rejected: bad input",
        updated_at_ms=1704240006000, completions=42)

    dl = m["dead_letter"].DeadLetter(
        meta=mk_meta("btpipe.factors/-1/9007199254740993"), source_topic="btpipe.factors",
        partition=-1, offset=9007199254740993, key=b"f\x00\xff", value=bytes(range(256)),
        reason="does not decode as FactorSpec: truncated varint", where="byte 3",
        service="planner")

    return {"data_increment": inc, "factor_spec": fs, "strategy_spec": ss,
            "job_record": job, "job_completion": jc, "aggregated_result": ar,
            "dead_letter": dl}


def unset_fields(msg):
    """Top-level fields left at their default: the canonical instance must set all."""
    out = []
    for f in msg.DESCRIPTOR.fields:
        v = getattr(msg, f.name)
        if f.label == f.LABEL_REPEATED:
            if len(v) == 0:
                out.append(f.name)
        elif f.message_type is not None:
            if not msg.HasField(f.name):
                out.append(f.name)
        elif v == f.default_value:
            out.append(f.name)
    return out


def diff(want, got, path):
    """Field-level differences between two messages, bit-exact for doubles."""
    out = []
    for f in want.DESCRIPTOR.fields:
        p = path + "." + f.name
        a, b = getattr(want, f.name), getattr(got, f.name)
        if f.label == f.LABEL_REPEATED:
            if len(a) != len(b):
                out.append("%s: want %d elements, got %d" % (p, len(a), len(b)))
                continue
            pairs = [("%s[%d]" % (p, i), x, y) for i, (x, y) in enumerate(zip(a, b))]
        else:
            pairs = [(p, a, b)]
        for q, x, y in pairs:
            if f.message_type is not None:
                out.extend(diff(x, y, q))
            elif isinstance(x, float):
                if not (x == y and math.copysign(1, x) == math.copysign(1, y)):
                    out.append("%s: want %r, got %r" % (q, x, y))
            elif x != y:
                out.append("%s: want %r, got %r" % (q, x, y))
    return out


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def with_future_fields(data):
    """The message as a newer writer would send it: fields this schema lacks, of
    every wire type, appended (field numbers far beyond today's)."""
    s = b"from a newer schema"
    inner = varint(1 << 3 | 0) + varint(-7)  # a nested message of a newer type
    return (data
            + varint(1000 << 3 | 0) + varint(123456789)
            + varint(1001 << 3 | 2) + varint(len(s)) + s
            + varint(1002 << 3 | 1) + (0x0102030405060708).to_bytes(8, "little")
            + varint(1003 << 3 | 5) + (0x01020304).to_bytes(4, "little")
            + varint(1004 << 3 | 2) + varint(len(inner)) + inner)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    gen = os.path.join(a.work, "gen")
    vec = os.path.join(a.work, "vectors")
    os.makedirs(vec)
    used = generate(a.proto_dir, gen)
    mods = load_modules(gen)
    from google.protobuf import __version__ as pbver
    print("python protobuf %s, code generated by %s" % (pbver, used))
    canon = canonical(mods)
    passed = failed = 0

    def check(ok, what, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok   " + what)
        else:
            failed += 1
            print("FAIL " + what + (": " + detail if detail else ""))

    for n, msg in canon.items():
        missing = unset_fields(msg)
        check(not missing, "canonical %s sets every field" % n, ", ".join(missing))

    # C -> Python
    r = subprocess.run([a.tool, "write", vec], capture_output=True, text=True)
    check(r.returncode == 0, "proto_vectors write", r.stderr)
    for n, want in canon.items():
        path = os.path.join(vec, "c_%s.bin" % n)
        try:
            data = open(path, "rb").read()
        except OSError as e:
            check(False, "C %s decodes in Python" % n, str(e))
            continue
        got = type(want)()
        try:
            got.ParseFromString(data)
        except Exception as e:  # DecodeError and friends
            check(False, "C %s decodes in Python" % n, repr(e))
            continue
        d = diff(want, got, n)
        check(not d and got == want, "C %s decodes in Python, every field equal" % n,
              "; ".join(d[:10]))
        # Both encoders emit fields in number order; identical bytes are a
        # stronger statement than equal fields.
        check(data == want.SerializeToString(deterministic=True),
              "C %s is byte-identical to Python's encoding" % n)

    # Python -> C, plus unknown-field tolerance
    for n, msg in canon.items():
        data = msg.SerializeToString()
        with open(os.path.join(vec, "py_%s.bin" % n), "wb") as f:
            f.write(data)
        future = with_future_fields(data)
        again = type(msg)()
        again.ParseFromString(future)
        d = diff(msg, again, n)  # == would also compare the kept unknown fields
        check(not d, "Python ignores future fields of %s too" % n, "; ".join(d[:10]))
        with open(os.path.join(vec, "py_unknown_%s.bin" % n), "wb") as f:
            f.write(future)
    r = subprocess.run([a.tool, "check", vec], capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    check(r.returncode == 0, "Python-encoded messages (and newer-schema ones) decode in C, "
          "every field equal", r.stderr.strip()[:2000])
    ok_lines = [l for l in r.stdout.splitlines() if l.startswith("ok   ")]
    check(len(ok_lines) == 2 * len(NAMES),
          "C checked %d files (want %d)" % (len(ok_lines), 2 * len(NAMES)))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: from a SIMULATED activity log of 10^6 and 10^7 users to a fitted BG/BB model.

Usage::

    python benchmarks/bench_bgbb.py --users 1e6,1e7 --repeats 3
    python benchmarks/bench_bgbb.py --panel --users ""   # only the holdout on the panel

For each size a Parquet log is simulated into a temporary directory (deleted at the end)
from the BG/BB process itself: users are born uniformly over the first 28 days of a
56-day window (2025-01-01 .. 2025-02-25); each has an activity probability
p ~ Beta(1.2, 0.8) and a daily dropout probability theta ~ Beta(0.4, 4.0); alive in
period 0, a living user dies at the start of each later day with probability theta and,
while alive, is active that day with probability p (about 14 events per user; one row
per active user-day, ``user_id`` int32, ``event_date`` DATE). The data are SIMULATED:
no real user is in them.

Then it times, separately,

- *prep*: :func:`analysis.data.activity.activity_patterns` (DuckDB: the log -> per-user
  (frequency, recency, n_periods) -> patterns with weights), daily periods;
- *fit*: :meth:`analysis.models.bgbb.BetaGeometricBetaBinomial.fit` on the patterns
  (maximum likelihood from three starting values, then the numerical Hessian).

Wall times are medians over ``--repeats`` runs for sizes up to 10^6 users and a single
run above (``--repeats-large``). Prints the figures, the number of patterns and the
estimates next to the simulation's truth; no assertions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.data.activity import activity_patterns
from analysis.models.bgbb import BetaGeometricBetaBinomial

TRUTH = {"alpha": 1.2, "beta": 0.8, "gamma": 0.4, "delta": 4.0}
START = np.datetime64("2025-01-01", "D")
WINDOW_DAYS = 56
BIRTH_DAYS = 28
END = str(START + WINDOW_DAYS - 1)


def simulate_log(path: Path, n_users: int, seed: int = 0, block: int = 1_000_000) -> int:
    """Write a SIMULATED BG/BB activity log of ``n_users`` users; returns the row count."""
    a, b, g, d = TRUTH.values()
    schema = pa.schema([("user_id", pa.int32()), ("event_date", pa.date32())])
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as w:
        for lo in range(0, n_users, block):
            m = min(block, n_users - lo)
            rng = np.random.default_rng([seed, lo])
            p = rng.beta(a, b, m)
            theta = np.clip(rng.beta(g, d, m), 1e-12, 1.0)
            birth = rng.integers(0, BIRTH_DAYS, m)
            # last day alive (age), cut at the window's end; alive on the birth day
            last = np.minimum(rng.geometric(theta) - 1, WINDOW_DAYS - 1 - birth)
            reps = last + 1
            uid = np.repeat(np.arange(m), reps)
            age = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
            act = (age == 0) | (rng.random(age.size) < p[uid])
            uid, age = uid[act], age[act]
            day = START + (birth[uid] + age).astype("timedelta64[D]")
            w.write_table(
                pa.table({"user_id": (uid + lo).astype(np.int32), "event_date": day}, schema=schema)
            )
            rows += int(uid.size)
    return rows


def _time(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def panel_holdout(cohort_start="2025-01-13", cohort_end="2025-01-19", holdout_days=14):
    """The BG/BB's holdout error against the curve families on the default SIMULATED panel
    (params/01_retention.yaml's cohorts and holdout), with the fit times."""
    from analysis.notebooks import retention as rr
    from analysis.simulation.panel import Panel

    panel = Panel.load(0.01, 20250119, "US")
    arrivals = rr.arrival_cohorts(panel, cohort_start, cohort_end, "unbounded")
    t0 = time.perf_counter()
    compare = rr.compare_families(arrivals.events, arrivals.as_of, "unbounded", holdout_days)
    curves_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    row = rr.bgbb_holdout(arrivals, holdout_days)
    bgbb_s = time.perf_counter() - t0
    table = rr.bgbb_compare(compare, row)
    print(f"SIMULATED panel, cohorts {cohort_start}..{cohort_end} ({arrivals.n_users:,} panel "
          f"users), holdout {holdout_days} days: fits before the cutoff, scored on the same "
          f"{row['holdout_rows']} held-out (cohort, day) rows")
    print(table[["n_params", "holdout_mae", "holdout_mape", "likelihood"]].round(3).to_string())
    print(f"time: all curve families {curves_s:.1f} s; BG/BB (patterns + fit + scoring) "
          f"{bgbb_s:.1f} s\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", default="1e6,1e7", help="comma-separated user counts")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size up to 10^6 users")
    ap.add_argument("--repeats-large", type=int, default=1, help="runs per larger size")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory limit (default 2GB)")
    ap.add_argument("--panel", action="store_true",
                    help="also score the BG/BB against the retention curves on the default "
                         "SIMULATED panel (notebook 01's cohorts and holdout)")
    args = ap.parse_args(argv)
    if args.panel:
        panel_holdout()
    sizes = [int(float(s)) for s in args.users.split(",") if s]
    print("SIMULATED activity logs (BG/BB process, daily periods, 56-day window)")
    print(f"truth: {TRUTH}")
    with tempfile.TemporaryDirectory(prefix="bench_bgbb_") as tmp:
        for n in sizes:
            path = Path(tmp) / f"simulated_events_{n}.parquet"
            t0 = time.perf_counter()
            rows = simulate_log(path, n)
            gen = time.perf_counter() - t0
            size_mb = path.stat().st_size / 1e6
            print(
                f"\n== {n:,} users: {rows:,} SIMULATED events, {size_mb:.0f} MB Parquet "
                f"(simulated in {gen:.1f} s)"
            )
            reps = args.repeats if n <= 1_000_000 else args.repeats_large
            prep, prep_all, pats = _time(
                lambda p=path: activity_patterns(p, "day", end=END, memory_limit=args.memory_limit),
                reps,
            )
            x, tx, nn, w = (
                pats[c].to_numpy() for c in ("frequency", "recency", "n_periods", "weights")
            )
            fit, fit_all, model = _time(
                lambda x=x, tx=tx, nn=nn, w=w: BetaGeometricBetaBinomial().fit(x, tx, nn, w), reps
            )
            label = "median of " + str(reps) if reps > 1 else "one run"
            print(f"prep (log -> {len(pats):,} patterns): {prep:6.2f} s  ({label}: "
                  f"{', '.join(f'{t:.2f}' for t in prep_all)})")  # fmt: skip
            print(f"fit  (patterns -> model):        {fit:6.2f} s  ({label}: "
                  f"{', '.join(f'{t:.2f}' for t in fit_all)})")  # fmt: skip
            print(f"total:                           {prep + fit:6.2f} s")
            s = model.summary(0.95)
            s.insert(0, "truth", [TRUTH[k] for k in s.index])
            print(s.round(4).to_string())
            path.unlink()
    sys.stdout.flush()


if __name__ == "__main__":
    main()

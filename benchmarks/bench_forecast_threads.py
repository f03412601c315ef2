"""The BLAS thread limit of the statistical forecasters, measured as a user runs them.

Usage::

    python benchmarks/bench_forecast_threads.py [--repeats 3] [--busy 2]

Each measurement is a fresh Python process in the user's environment (no thread
variables set by this script), timing -- after the imports -- a fit of the default
forecaster plus the rolling-origin cross-validation of Prophet's Peyton Manning protocol
(``initial="730 days", period="180 days", horizon="365 days"``) on
``data/raw/reference/prophet_example_wp_log_peyton_manning.csv``. Two settings side by
side: the package's default (``ANALYSIS_BLAS_THREADS`` unset: one BLAS thread inside the
fits) and ``ANALYSIS_BLAS_THREADS=0`` (the thread pools as the BLAS library sets them,
the behaviour before the limit); each on a quiet machine and on a busy one (``--busy``
processes spinning on the CPU meanwhile). Prints medians and the ratio; no assertions.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys

WORK = r"""
import time
import pandas as pd
from analysis.config import REFERENCE_DIR
from analysis.models import forecast
df = pd.read_csv(REFERENCE_DIR / "prophet_example_wp_log_peyton_manning.csv",
                 parse_dates=["ds"])
t0 = time.perf_counter()
m = forecast.default_forecaster(log=False).fit(df)
m.predict(365)
cv = forecast.cross_validation(df, initial="730 days", period="180 days",
                               horizon="365 days", model=forecast.default_forecaster(log=False))
print(time.perf_counter() - t0, cv["cutoff"].nunique())
"""


def _spin(stop) -> None:
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1000003


def run_once(setting: str | None) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k != "ANALYSIS_BLAS_THREADS"}
    if setting is not None:
        env["ANALYSIS_BLAS_THREADS"] = setting
    out = subprocess.run([sys.executable, "-c", WORK], capture_output=True, text=True,
                         env=env, check=True)
    seconds, cutoffs = out.stdout.split()
    return float(seconds), int(cutoffs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per cell")
    ap.add_argument("--busy", type=int, default=2, help="spinning processes when busy")
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.busy < 0:
        ap.error("--repeats must be >= 1 and --busy >= 0")
    settings = {"limit 1 (default)": None, "no limit (ANALYSIS_BLAS_THREADS=0)": "0"}
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    table = {}
    for load in ("quiet", "busy"):
        stop = mp.Event()
        spinners = [mp.Process(target=_spin, args=(stop,)) for _ in
                    range(args.busy if load == "busy" else 0)]
        for p in spinners:
            p.start()
        try:
            for name, setting in settings.items():
                runs = [run_once(setting) for _ in range(args.repeats)]
                table[load, name] = statistics.median(r[0] for r in runs)
                print(f"  {load:5s} {name:36s} median {table[load, name]:6.2f} s over "
                      f"{args.repeats} processes ({runs[0][1]} cutoffs)", flush=True)
        finally:
            stop.set()
            for p in spinners:
                p.join()
    print("\nfit + 365-day forecast + cross-validation, median wall time (s):")
    for load in ("quiet", "busy"):
        a, b = (table[load, n] for n in settings)
        print(f"  {load:5s}  limit 1: {a:6.2f}   no limit: {b:6.2f}   no limit / limit: "
              f"{b / a:4.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

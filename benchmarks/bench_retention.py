"""Benchmark of :mod:`analysis.models.retention`: fit times and Fader-Hardie holdout accuracy.

Run with ``python benchmarks/bench_retention.py``.  Prints figures only (no assertions):

* median wall time (``time.perf_counter``, 20 repeats) of fitting one 13-point cohort
  (Fader & Hardie 2007 "regular" customers, years 0..12) with the sBG and the BdW;
* median wall time of a joint fit over 100 simulated daily cohorts x 90 days
  (ages 0..90, 9,100 rows; goal: under 1 s), for unbounded (survivor likelihood) and
  classic (binomial likelihood, cluster-robust covariance) retention;
* median wall time of ``sample_survival`` (500 parameter draws x 365 ages, what
  ``CohortForecaster`` asks for per forecast);
* the holdout MAPE / MAE of every family on Fader & Hardie's years 8-12 after fitting on
  years 0..7, and whether the best family reaches the sBG's ~1.5 % MAPE.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np
import pandas as pd

from analysis.config import REFERENCE_DIR
from analysis.models import retention as r

REPEATS = 20
SEED = 20250119


def median_time(fn, repeats: int = REPEATS) -> tuple[float, list[str]]:
    """Median wall time of ``fn()`` and the distinct RetentionFitWarnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", r.RetentionFitWarning)
        fn()  # warm-up (imports, caches)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    notes = list(dict.fromkeys(str(w.message) for w in caught))
    return statistics.median(times), notes


def fader_hardie_alive() -> np.ndarray:
    df = pd.read_csv(REFERENCE_DIR / "fader_hardie_2007_regular.csv")
    return np.round(10 * df["pct_surviving"].to_numpy()).astype(int)


def simulated_table(n_cohorts: int = 100, max_age: int = 90, classic: bool = False):
    """Daily cohorts drawn from a BdW(alpha=0.5, beta=3, c=0.8) population, ages 0..max_age.

    ``classic=True``: users alive at ``t`` are active on day ``t`` with an individual
    propensity ~ Beta(2, 2) (day-N retention, not monotone).
    """
    rng = np.random.default_rng(SEED)
    ages = np.arange(max_age + 1)
    frames = []
    for i in range(n_cohorts):
        n = int(rng.integers(1_000, 20_000))
        theta = rng.beta(0.5, 3.0, n)
        churn = np.floor((np.log(rng.random(n)) / np.log1p(-theta)) ** (1 / 0.8)) + 1
        alive = churn[None, :] > ages[:, None]
        if classic:
            alive = alive & (rng.random(alive.shape) < rng.beta(2, 2, n)[None, :])
            alive[0] = True
        frames.append(
            pd.DataFrame(
                {
                    "cohort_date": pd.Timestamp("2025-01-13") + pd.Timedelta(days=i),
                    "age_days": ages,
                    "active_users": alive.sum(axis=1),
                    "cohort_size": n,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    alive = fader_hardie_alive()
    unbounded = simulated_table()
    classic = simulated_table(classic=True)

    timing = [
        ("sBG, one cohort, 13 points", lambda: r.ShiftedBetaGeometric().fit(alive)),
        ("BdW, one cohort, 13 points", lambda: r.BetaDiscreteWeibull().fit(alive)),
        (
            "sBG, 100 cohorts x 90 days, unbounded",
            lambda: r.ShiftedBetaGeometric().fit_cohorts(unbounded),
        ),
        (
            "BdW, 100 cohorts x 90 days, unbounded",
            lambda: r.BetaDiscreteWeibull().fit_cohorts(unbounded),
        ),
        (
            "sBG, 100 cohorts x 90 days, classic (cluster SE)",
            lambda: r.ShiftedBetaGeometric().fit_cohorts(classic, retention="classic"),
        ),
        (
            "BdW, 100 cohorts x 90 days, classic (cluster SE)",
            lambda: r.BetaDiscreteWeibull().fit_cohorts(classic, retention="classic"),
        ),
    ]
    print(f"analysis.models.retention benchmark (median of {REPEATS} runs, time.perf_counter)")
    users = unbounded.groupby("cohort_date")["cohort_size"].first().sum()
    print(f"joint-fit tables: {len(unbounded):,} rows, {users:,} users")
    print()
    print(f"{'fit':<52}{'median (ms)':>12}")
    notes = {}
    for name, fn in timing:
        seconds, caught = median_time(fn)
        print(f"{name:<52}{1000 * seconds:>12.1f}")
        if caught:
            notes[name] = caught
    m = r.ShiftedBetaGeometric().fit(alive)
    t_delta, _ = median_time(lambda: m.survival_interval([30, 90, 180, 365]))
    t_boot, _ = median_time(
        lambda: m.survival_interval(
            [30, 90, 180, 365], method="bootstrap", n_boot=200, random_state=0
        ),
        repeats=3,
    )
    t_draws, _ = median_time(lambda: m.sample_survival(np.arange(365), 500, random_state=0))
    print(f"{'sBG delta-method interval, 4 horizons':<52}{1000 * t_delta:>12.1f}")
    print(f"{'sBG sample_survival, 500 draws x 365 ages':<52}{1000 * t_draws:>12.1f}")
    print(f"{'sBG parametric bootstrap, 200 refits (3 runs)':<52}{1000 * t_boot:>12.1f}")
    for name, caught in notes.items():
        for message in caught:
            print(f"warning [{name}]: {message}")

    joint = r.BetaDiscreteWeibull().fit_cohorts(unbounded)
    print()
    print("BdW joint fit on the simulated cohorts (truth alpha=0.5, beta=3, c=0.8):")
    print(joint.summary.round(4).to_string())

    print()
    print("Fader & Hardie (2007) 'regular' customers: fit years 0..7, project years 8..12")
    table = r.compare_models(alive, holdout=5)
    shown = table[["n_params", "log_likelihood", "aic", "bic", "holdout_mape", "holdout_mae"]]
    print(shown.round(3).to_string())
    params = table.loc["sBG", "params"]
    print(f"sBG: alpha = {params['alpha']:.3f}, beta = {params['beta']:.3f} (paper: 0.704, 1.182)")
    published = r.sbg_survival(0.704, 1.182, np.arange(8, 13))
    observed = alive[8:] / 1000
    print(
        f"MAPE with the published parameters: "
        f"{np.mean(np.abs(published - observed) / observed) * 100:.3f} %"
    )
    best = table["holdout_mape"].idxmin()
    verdict = (
        "reaches"
        if table.loc[best, "holdout_mape"] <= table.loc["sBG", "holdout_mape"]
        else "misses"
    )
    print(
        f"best holdout MAPE: {best} {table.loc[best, 'holdout_mape']:.3f} % "
        f"({verdict} the goal of <= sBG {table.loc['sBG', 'holdout_mape']:.3f} %)"
    )
    notes = table["note"][table["note"] != ""]
    for model, note in notes.items():
        print(f"note [{model}]: {note}")


if __name__ == "__main__":
    main()

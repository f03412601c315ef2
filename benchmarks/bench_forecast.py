"""Forecasting benchmark: the default chosen by leave-one-series-out, Prophet and statsforecast.

Run with ``python benchmarks/bench_forecast.py`` (about 10 min on 2 shared cores;
``--quick`` uses fewer cutoffs, ``--no-timing`` skips the fresh-process timings, and
``--cache DIR`` keeps the peers' cross-validations between runs). Prints figures only
(no assertions). This is the script whose output chose
``analysis.models.forecast.DEFAULT_RULE`` (see that module's docstring).

Benchmark set (``benchmarks/_series.py``; sources in data/raw/reference/SOURCE_README.md):
eight real daily series used for the selection, and checks that take no part in it: two
of Prophet's examples (the pedestrians COVID shock; Peyton Manning, the old tuning
series) and the SIMULATED RedNote US DAU of notebook 02 (the January 2025 shock; the
notebook's backtest protocol, 60 / 7 / 28 days, so only the 1-30 bucket; the package's
naive and seasonal-naive forecasters, which the notebook also backtests, are scored
beside the peers there).

Protocol: Prophet's rolling-origin cross-validation on every series (initial, period,
horizon per series, cutoffs by Prophet's rule); every model, ours and the peers, is
scored on the same cutoffs and rows: MAPE by horizon bucket (1-30 / 31-90 / 91-180 /
181-365 days, as far as the horizon reaches), their mean, the coverage of the 80 %
interval, and the bias (median of y / yhat - 1 over the rows: positive when the
forecasts sit below the data).

Selection (``analysis.models.forecast.select_rule``): among the package's candidate
rules (``CANDIDATES``; the same with the interval calibrated by inner cross-validation,
refitting at every inner cutoff ``+cal`` or with the ARIMA parameters held at the
whole-history fit ``+fastcal``; ``auto+cal``, ``auto_y365+fastcal``, ``auto_y365+cal``
and ``auto_ma+fastcal``, the rule chosen per series among a pool of ``AUTO_POOLS`` by
inner cross-validation on the training window; and the forecast combinations of
``COMBINATIONS`` with ``+fastcal``, the mean of several rules' forecasts), the lowest
geometric mean over series of the mean bucket MAPE among those whose mean coverage lies
in 0.75-0.85, 1 % counting as a tie, then the fastest (total warm time), then coverage
closest to 0.80. Leave-one-series-out: the figures printed for a selection series are
those of the rule chosen on the *other* seven; the checks get the rule chosen
on all eight, which is the shipped default. A run whose ``--series`` holds no selection
series selects nothing: its checks get ``DEFAULT_RULE``.

Peers: Prophet (default settings) and statsforecast's AutoARIMA (season 7, on the last
730 days of each training window: it is too slow on 15-year windows), AutoETS (season
7), MSTL (seasons 7 and 365) and SeasonalNaive (7 and 365), see ``_forecast_peers.py``.

Speed: in-process warm time of each model's cross-validation per series, and, in fresh
processes (``_forecast_timed.py``: interpreter start and imports included, environment
as the caller's: this script sets no thread variables), "fit + 11-cutoff
cross-validation" on Peyton Manning for the chosen default, Prophet and statsforecast;
``--busy N`` runs N spinning processes meanwhile (another job loading the cores);
``--ours-python`` runs the package's timings with another interpreter (the environment
of ``make install``, without the bench extras Prophet and statsforecast need).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _forecast_peers as peers  # noqa: E402
import _series  # noqa: E402

from analysis.models import forecast as F  # noqa: E402

GOALS = (
    "goals (issue 15): on every series mean bucket MAPE below Prophet's and below the best "
    "statsforecast model's; mean coverage 0.75-0.85; whole process <= 1/3 of Prophet's "
    "time, warm >= 10x faster"
)


def our_rules(quick: bool) -> list[str]:
    """The package's rules scored here: every fixed candidate, every ARIMA candidate
    with the fast interval calibration (``+fastcal``), some with the refitting one
    (``+cal``), and the automatic choices (``auto+cal``, ``auto_y365+fastcal``)."""
    rules = list(F.CANDIDATES)
    rules += [f"{k}+fastcal" for k, (cls, _) in F.CANDIDATES.items() if cls == "ARIMAForecaster"]
    rules += ["arima111_w730+cal", "arima111_w365_y4_h1095+cal", "ets_damped_w365+cal"]
    if not quick:
        rules += ["arima111_w365+cal", "arima111_w730_diff_drift+cal", "arima111_w730_trend+cal",
                  "arima111_w365_y10_h1095+cal"]
    # the forecast combination (mean of the default's model and its MA-free twin) and
    # the per-series choice between the two
    rules += [f"{k}+fastcal" for k in F.COMBINATIONS] + ["auto_ma+fastcal"]
    rules += ["auto_y365+fastcal", "auto+cal"]
    if not quick:
        rules.append("auto_y365+cal")
    return rules


def summarize(cv: pd.DataFrame, horizon: int) -> dict[str, float]:
    h = (cv["ds"] - cv["cutoff"]).dt.days.to_numpy()
    y, yhat = cv["y"].to_numpy(float), cv["yhat"].to_numpy(float)
    row: dict[str, float] = {}
    mapes = []
    for lo, hi in F.BUCKETS:
        if lo > horizon:
            row[f"{lo}-{hi}"] = np.nan
            continue
        sel = (h >= lo) & (h <= hi) & (np.abs(y) > 1e-8)
        m = float(np.mean(np.abs((y[sel] - yhat[sel]) / y[sel]))) if sel.any() else np.nan
        row[f"{lo}-{hi}"] = m
        mapes.append(m)
    row["mape"] = float(np.mean(mapes)) if mapes and np.isfinite(mapes).all() else np.nan
    covered = (cv["y"] >= cv["yhat_lower"]) & (cv["y"] <= cv["yhat_upper"])
    row["coverage"] = float(covered.mean())
    # median of y / yhat - 1 over the rows: > 0 when the forecasts sit below the data
    # (issue 15: "on rising series its forecasts sit a near-constant few percent low")
    ok = (y > 0) & (yhat > 0)
    row["bias"] = float(np.median(y[ok] / yhat[ok]) - 1.0) if ok.any() else np.nan
    return row


def run_ours(rule: str, df: pd.DataFrame, cuts: list, horizon: int) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    cv = F.cross_validation(df, horizon=f"{horizon} days", cutoffs=cuts,
                            model=F.make_candidate(rule))
    return cv, time.perf_counter() - t0


def run_peer(name: str, runner, df: pd.DataFrame, cuts: list, horizon: int,
             cache: Path | None, key: str) -> tuple[pd.DataFrame | None, float]:
    path = None
    if cache is not None:
        safe = "".join(ch if ch.isalnum() else "_" for ch in f"{key}__{name}")
        path = cache / f"{safe}.pkl"
        if path.exists():
            cv, seconds = pd.read_pickle(path)
            print(f"    {name}: from the cache {path} (written "
                  f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(path.stat().st_mtime))})",
                  flush=True)
            return cv, seconds
    t0 = time.perf_counter()
    try:
        cv = runner(df, cuts, horizon)
    except ValueError as exc:  # e.g. SeasonalNaive(365) on less than a year
        print(f"    {name}: n/a ({exc})", flush=True)
        cv = None
    seconds = time.perf_counter() - t0
    if path is not None:
        pd.to_pickle((cv, seconds), path)
    return cv, seconds


def fmt(x: float, w: int = 7, d: int = 4) -> str:
    return f"{'n/a':>{w}s}" if x is None or not np.isfinite(x) else f"{x:{w}.{d}f}"


def timed(args: list[str], repeats: int, python: str | None = None) -> dict[str, float]:
    """Median over fresh processes of whole-process, import, first and warm times
    (``python``: the interpreter to run, default this one)."""
    runs = []
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run([python or sys.executable, str(HERE / "_forecast_timed.py"), *args],
                             capture_output=True, text=True, env=env, check=True)
        whole = time.perf_counter() - t0
        rec = json.loads(out.stdout.strip().splitlines()[-1])
        # "whole" = one user session: interpreter + imports + one fit + cross-validation;
        # the second (warm) run inside the process is not part of it
        rec["whole_s"] = whole - rec["warm_s"]
        runs.append(rec)
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _spin(stop) -> None:  # noqa: ANN001
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1000003


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer cutoffs (each series' quick_period), fewer candidates")
    ap.add_argument("--series", nargs="*",
                    help="only these series (names in _series.py): "
                    + "; ".join(f"'{n}'" for n in _series.by_name()))
    ap.add_argument("--no-peers", action="store_true", help="our candidates only")
    ap.add_argument("--no-timing", action="store_true", help="skip fresh-process timings")
    ap.add_argument("--timing-repeats", type=int, default=3)
    ap.add_argument("--busy", type=int, default=0,
                    help="spinning processes during the fresh-process timings")
    ap.add_argument("--cache", type=Path, help="directory keeping the peers' results")
    ap.add_argument("--csv", type=Path, help="write every (series, model) row to this CSV")
    ap.add_argument("--timing-sf", nargs="*", default=["sf MSTL(7, 365)"],
                    help="statsforecast runners timed in fresh processes with --timing-only")
    ap.add_argument("--timing-only", metavar="RULE",
                    help="only the fresh-process timings, of RULE against the peers")
    ap.add_argument("--ours-python", metavar="PYTHON",
                    help="run the package's fresh-process timings (and the imports floor) "
                    "with this interpreter, e.g. the .venv/bin/python of a clone after "
                    "`make install`: the environment a user has, without the bench extras "
                    "(with polars installed, statsmodels imports it: about 0.08 s)")
    args = ap.parse_args()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")

    series = list(_series.SELECTION + _series.CHECKS)
    if args.series:
        unknown = sorted(set(args.series) - set(_series.by_name()))
        if unknown:
            ap.error(f"unknown series {unknown}; known: {list(_series.by_name())}")
        series = [s for s in series if s.name in set(args.series)]
    rules = our_rules(args.quick)
    prophet_run, note = (None, "peers skipped") if args.no_peers else peers.prophet_runner()
    sf_runs, sf_note = ({}, "") if args.no_peers else peers.statsforecast_runners()
    print(note, "|", sf_note, "|", GOALS)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')!r} (not set by this "
          f"script); package BLAS limit ${F.BLAS_THREADS_ENV}="
          f"{os.environ.get(F.BLAS_THREADS_ENV)!r} (unset = 1 thread inside the fits)")

    if args.timing_only:
        return fresh_processes(args, args.timing_only, prophet_run is not None,
                               [n for n in args.timing_sf if n in sf_runs])

    if not series:
        ap.error("--series given without a name: no series to run")
    # warm-up (imports, numba, caches) on a short series, not timed: the last cutoff of
    # the first series, with a 30-day horizon (or its own, if shorter) and at least 200
    # days of history (or its own initial window, if the series is shorter)
    wu = series[0].load()
    wh = min(30, series[0].horizon)
    winit = min(200, series[0].initial)
    wcut = F.generate_cutoffs(wu["ds"], pd.Timedelta(days=wh), pd.Timedelta(days=winit),
                              pd.Timedelta(days=60))[-1:]
    F.cross_validation(wu, horizon=f"{wh} days", cutoffs=wcut)
    for runner in ([] if prophet_run is None else [prophet_run]) + list(sf_runs.values()):
        try:
            runner(wu, wcut, wh)
        except ValueError:
            pass

    rows = []
    t_all = time.perf_counter()
    for s in series:
        df = s.load()
        period = s.quick_period if args.quick else s.period
        cuts = F.generate_cutoffs(df["ds"], pd.Timedelta(days=s.horizon),
                                  pd.Timedelta(days=s.initial), pd.Timedelta(days=period))
        role = "selection" if s in _series.SELECTION else "check"
        print(f"\n[{s.name}] {role}, {len(df)} days, {len(cuts)} cutoffs "
              f"(initial {s.initial}, period {period}, horizon {s.horizon})", flush=True)
        if isinstance(s, _series.SimulatedPanelSeries):
            print(f"    SIMULATED data: {s.what}; {df['ds'].min():%Y-%m-%d} to "
                  f"{df['ds'].max():%Y-%m-%d}; cutoffs {cuts[0]:%Y-%m-%d} to "
                  f"{cuts[-1]:%Y-%m-%d}", flush=True)
        base = {"series": s.name, "role": role, "cutoffs": len(cuts), "horizon": s.horizon}
        for rule in rules:
            cv, sec = run_ours(rule, df, cuts, s.horizon)
            rows.append({**base, "model": rule, "ours": True, "time_s": sec,
                         **summarize(cv, s.horizon)})
            print(f"    {rule:32s} mean MAPE {rows[-1]['mape']:.4f} cover "
                  f"{rows[-1]['coverage']:.3f} {sec:6.1f} s", flush=True)
        peer_runs = {} if prophet_run is None else {"Prophet": prophet_run}
        peer_runs.update(sf_runs)
        if getattr(s, "notebook_baselines", False):
            for label, model in (("package naive (notebook 02)", F.NaiveForecaster()),
                                 ("package seasonal naive (notebook 02)",
                                  F.SeasonalNaiveForecaster())):
                t0 = time.perf_counter()
                cv = F.cross_validation(df, horizon=f"{s.horizon} days", cutoffs=cuts,
                                        model=model)
                sec = time.perf_counter() - t0
                rows.append({**base, "model": label, "ours": False, "time_s": sec,
                             **summarize(cv, s.horizon)})
                print(f"    {label:32s} mean MAPE {rows[-1]['mape']:.4f} cover "
                      f"{rows[-1]['coverage']:.3f} {sec:6.1f} s", flush=True)
        key = f"{s.name}_{period}_{s.horizon}_{s.initial}"
        for name, runner in peer_runs.items():
            cv, sec = run_peer(name, runner, df, cuts, s.horizon, args.cache, key)
            if cv is None:
                continue
            rows.append({**base, "model": name, "ours": False, "time_s": sec,
                         **summarize(cv, s.horizon)})
            print(f"    {name:32s} mean MAPE {rows[-1]['mape']:.4f} cover "
                  f"{rows[-1]['coverage']:.3f} {sec:6.1f} s", flush=True)
    table = pd.DataFrame(rows)
    print(f"\ncross-validations done in {time.perf_counter() - t_all:.0f} s")

    # ---------------------------------------------------------------- selection
    ours = table[table["ours"] & (table["role"] == "selection")]
    scores = ours.rename(columns={"model": "candidate"})[
        ["series", "candidate", "mape", "coverage", "time_s"]]
    loso = F.leave_one_series_out(scores) if scores["series"].nunique() > 1 else {}
    if scores.empty:
        chosen_all = F.DEFAULT_RULE
        print(f"\nno selection series in this run: nothing is selected; the checks get "
              f"DEFAULT_RULE = {F.DEFAULT_RULE} (chosen by the full run)")
        sel_names = []
    else:
        chosen_all = F.select_rule(scores)
        print("\n=== candidates on the selection series: mean bucket MAPE (coverage) ===")
        sel_names = list(dict.fromkeys(ours["series"]))
        print(f"{'rule':32s} " + " ".join(f"{n[:14]:>14s}" for n in sel_names)
              + f" {'geo-mean':>8s} {'cover':>6s} {'time s':>7s}")
    for rule in rules if sel_names else []:
        r = ours[ours["model"] == rule].set_index("series")
        cells = " ".join(f"{r.loc[n, 'mape']:7.4f}({r.loc[n, 'coverage']:4.2f})"
                         for n in sel_names)
        gm = float(np.exp(np.log(r["mape"]).mean()))
        print(f"{rule:32s} {cells} {gm:8.4f} {r['coverage'].mean():6.3f} "
              f"{r['time_s'].sum():7.1f}")
    if sel_names:
        print("\nleave-one-series-out choices: "
              + "; ".join(f"{k}: {v}" for k, v in loso.items()))
        print(f"rule chosen on all {len(sel_names)} selection series (the shipped default): "
              f"{chosen_all} (DEFAULT_RULE in the package now: {F.DEFAULT_RULE})")

    # ---------------------------------------------------------------- the LOSO table
    rule_for = {**loso, **{s.name: chosen_all for s in series if s.name not in loso}}
    print("\n=== per series: the package (LOSO rule) against the peers, same cutoffs ===")
    buckets = [f"{lo}-{hi}" for lo, hi in F.BUCKETS]
    summary = []
    for s in series:
        sub = table[table["series"] == s.name]
        if sub.empty:
            continue
        pk = sub[sub["model"] == rule_for[s.name]].iloc[0]
        print(f"\n{s.name} ({pk['cutoffs']} cutoffs, horizon {s.horizon}; "
              f"package rule: {rule_for[s.name]})")
        print(f"  {'model':32s} " + " ".join(f"{b:>7s}" for b in buckets)
              + f" {'mean':>7s} {'cover':>6s} {'bias':>6s} {'time s':>7s} {'MAPE/pkg':>8s}")
        shown = [pk] + [r for _, r in sub[~sub["ours"]].iterrows()]
        for r in shown:
            label = f"package: {r['model']}" if r["ours"] else r["model"]
            print(f"  {label:32s} " + " ".join(fmt(r[b]) for b in buckets)
                  + f" {fmt(r['mape'])} {r['coverage']:6.3f} {fmt(100 * r['bias'], 5, 1)}%"
                  + f" {r['time_s']:7.1f}"
                  + f" {r['mape'] / pk['mape']:8.2f}")
        sf = sub[sub["model"].str.startswith("sf ")]
        best_sf = sf.loc[sf["mape"].idxmin()] if len(sf) else None
        pr = sub[sub["model"] == "Prophet"]
        pr = pr.iloc[0] if len(pr) else None
        summary.append({
            "series": s.name, "role": pk["role"], "rule": rule_for[s.name],
            "pkg": pk["mape"], "pkg_cov": pk["coverage"], "pkg_t": pk["time_s"],
            "prophet": np.nan if pr is None else pr["mape"],
            "prophet_cov": np.nan if pr is None else pr["coverage"],
            "prophet_t": np.nan if pr is None else pr["time_s"],
            "best_sf": "" if best_sf is None else best_sf["model"],
            "sf": np.nan if best_sf is None else best_sf["mape"],
            "sf_cov": np.nan if best_sf is None else best_sf["coverage"],
        })
    sm = pd.DataFrame(summary)
    print("\n=== summary (mean bucket MAPE; 80 % coverage; warm in-process time of the "
          "cross-validation) ===")
    print(f"{'series':28s} {'role':9s} {'package rule':28s} {'pkg':>7s} {'cov':>5s} "
          f"{'Prophet':>7s} {'cov':>5s} {'best statsforecast':>24s} {'sf':>7s} {'cov':>5s} "
          f"{'pkg/Pr':>6s} {'pkg/sf':>6s} {'Pr t/pkg t':>10s}")
    for r in sm.itertuples():
        print(f"{r.series:28s} {r.role:9s} {r.rule:28s} {fmt(r.pkg)} {r.pkg_cov:5.2f} "
              f"{fmt(r.prophet)} {fmt(r.prophet_cov, 5, 2)} {r.best_sf:>24s} {fmt(r.sf)} "
              f"{fmt(r.sf_cov, 5, 2)} {fmt(r.pkg / r.prophet, 6, 2)} {fmt(r.pkg / r.sf, 6, 2)} "
              f"{fmt(r.prophet_t / r.pkg_t, 10, 1)}")
    sel = sm[sm["role"] == "selection"]
    if len(sel):
        print(f"selection series: median pkg/Prophet {np.nanmedian(sel.pkg / sel.prophet):.2f}, "
              f"median pkg/best-sf {np.nanmedian(sel.pkg / sel.sf):.2f}; package lower than "
              f"Prophet on {int((sel.pkg < sel.prophet).sum())}/{len(sel)}, lower than the best "
              f"statsforecast model on {int((sel.pkg < sel.sf).sum())}/{len(sel)}; mean "
              f"coverage package {sel.pkg_cov.mean():.3f} (median {sel.pkg_cov.median():.3f}), "
              f"Prophet {sel.prophet_cov.mean():.3f}; median warm-time ratio Prophet/package "
              f"{np.nanmedian(sel.prophet_t / sel.pkg_t):.1f}x")
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")

    if args.no_timing:
        return
    best_counts = sm["best_sf"].value_counts()
    fresh_processes(args, chosen_all, prophet_run is not None,
                    [n for n in best_counts.index[:2] if n])


def fresh_processes(args: argparse.Namespace, rule: str, prophet: bool, sf: list[str]) -> None:
    """Whole-process and warm times in fresh processes (``_forecast_timed.py``)."""
    print(f"\n=== fresh processes (median of {args.timing_repeats}; Peyton Manning, fit + "
          f"11-cutoff cross-validation; default environment; {args.busy} spinning "
          f"processes; load average {os.getloadavg()[0]:.2f}) ===")
    stop = mp.Event()
    spinners = [mp.Process(target=_spin, args=(stop,)) for _ in range(args.busy)]
    for p in spinners:
        p.start()
    try:
        # the floor: the same fresh process doing nothing but the package's imports
        # (pandas, statsmodels' SARIMAX and deterministic terms, threadpoolctl) and the
        # CSV read: no forecaster built on statsmodels can take less
        cases = {"imports only (floor)": ["imports"], f"package {rule}": ["ours", rule]}
        if rule != "arima111_w730":
            cases["package arima111_w730 (former default)"] = ["ours", "arima111_w730"]
        if prophet:
            cases["Prophet"] = ["prophet"]
        for name in sf:
            cases[name] = ["sf", name]
        res = {}
        ours_env = "this interpreter" if not args.ours_python else args.ours_python
        print(f"  package and floor run by {ours_env}; Prophet and statsforecast by "
              f"{sys.executable}")
        for label, cmd in cases.items():
            reps = args.timing_repeats if cmd[0] != "sf" else 1
            python = args.ours_python if cmd[0] in ("ours", "imports") else None
            res[label] = timed(cmd, reps, python)
            r = res[label]
            print(f"  {label:40s} whole process {r['whole_s']:6.2f} s (imports "
                  f"{r['import_s']:5.2f}, first run {r['first_s']:6.2f}), warm "
                  f"{r['warm_s']:6.2f} s", flush=True)
    finally:
        stop.set()
        for p in spinners:
            p.join()
    if "Prophet" in res:
        p = res["Prophet"]
        floor = res["imports only (floor)"]["whole_s"]
        print(f"  Prophet whole process / the imports floor: {p['whole_s'] / floor:.1f}x (the "
              f"highest whole-process ratio a statsmodels-based forecaster could reach here)")
        for label, r in res.items():
            if label not in ("Prophet", "imports only (floor)"):
                print(f"  Prophet / {label}: whole process {p['whole_s'] / r['whole_s']:.1f}x, "
                      f"warm {p['warm_s'] / r['warm_s']:.1f}x")


if __name__ == "__main__":
    main()

r"""Helpers of the DAU-forecasting notebook (``02_dau_forecast``): decomposition,
scenarios, cohort forecasts, scoring, share of RedNote's total, plots.

The notebook asks where RedNote's US daily active users will be 30, 90 and 180 days
after a forecast origin, under which scenarios, and how far the forecast can be trusted.
It runs on the SIMULATED panel of :mod:`analysis.simulation.panel` (no RedNote logs are public), so
every DAU series here is simulated; the published figures enter only as calibration
anchors and as the denominators of the share of RedNote's total.

The cohort forecast
-------------------
:class:`analysis.models.forecast.CohortForecaster` writes

.. math:: \mathrm{DAU}(t) = B(t) + \sum_{d \le t} I(d)\, r(t - d),

with :math:`B` the DAU of the users who were already there before the influx (the
*organic baseline*), :math:`I(d)` the installs on day :math:`d` (observed up to the
origin, then a scenario) and :math:`r(k)` the share of a cohort active on day :math:`k`
after installing (*classic* retention, :math:`r(0) = 1`: every user is active on the
install day). Here :math:`r` is a retention model of :mod:`analysis.models.retention` fitted to
the classic retention of the influx cohorts (binomial likelihood, cluster-robust
covariance by cohort), so its ``covariance_`` carries the parameter uncertainty into the
forecast interval; :math:`B` is the default statistical forecaster's point forecast of
the baseline component. The interval therefore reflects retention uncertainty only.

Scenarios (:func:`scenario_assumptions`, :func:`scenario_installs`) are read off the
installs history: the organic *floor* is the median of the daily installs before the
influx; *fading* continues the excess over the floor from its level in the last week
before the origin, halving every ``half_life`` days (estimated by a log-linear fit of
the excess after the published peak day); *renewed_shock* adds to it a pulse as large
as the largest daily excess observed, fading as fast, ``shock_delay`` days after the
first forecast day; *no_influx* keeps only the floor. With the same floor, baseline and retention
curve the three are ordered no_influx <= fading <= renewed_shock on every day.

Functions
---------
The notebook reads parameters -> load -> fit -> show -> say; so does this module:

:func:`forecast_timeline`      the days that matter (:class:`Timeline`: origin, milestones)
:func:`arrival_groups`, :func:`decompose_dau`   DAU by install-date group (sums to the
                               total DAU of the :class:`~analysis.simulation.panel.Panel`)
:func:`daily_installs`         users per install day (the cohort sizes)
:func:`fit_classic_retention`  the retention curve of the cohort forecast
:func:`scenario_assumptions`, :func:`scenario_installs`, :func:`describe_scenarios`
:func:`baseline_path`          observed baseline + its statistical forecast
:func:`organic_baseline`       the baseline group's DAU and its forecast
:func:`cohort_forecast`        one scenario's cohort forecast (a ``CohortForecaster``)
:func:`cohort_forecasts`, :func:`after_origin`   every scenario's cohort forecast
:func:`statistical_forecasters`, :func:`statistical_forecasts`
:func:`milestone_forecasts`    the milestone table of the forecasts the report compares
:func:`milestone_table`        DAU on given days after the origin, per forecast
:func:`score_forecasts`        forecasts against what happened (MAPE, bias, coverage)
:func:`backtest`               rolling-origin backtest of several forecasters
:func:`published_total`, :func:`share_table`   share of RedNote's total DAU / MAU
:func:`milestone_numbers`, :func:`score_numbers`, :func:`backtest_numbers`,
:func:`share_numbers`          the named numbers of a table
:func:`history_findings`, :func:`decomposition_findings`, :func:`scenario_findings`,
:func:`headline_findings`, :func:`out_of_sample_findings`, :func:`backtest_findings`,
:func:`share_findings`         the numbers the notebook's sentences state
:func:`plot_decomposition`, :func:`plot_scenarios`, :func:`plot_comparison`
:func:`observed_dau`, :func:`observed_findings`   an analyst's own log (``source`` set):
                               its DAU, the origin and the statistical forecasts only

Nothing here comes from notebook 01's helpers: what both notebooks need is in
:mod:`analysis.simulation.panel` (the panel, the anchor check) and
:mod:`analysis.notebooks.common` (cohort tables, fitting retention families, the anchor
figure and its description).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import cohorts, sources
from analysis.data.events import EventLog
from analysis.models import forecast, retention
from analysis.notebooks import common
from analysis.notebooks.common import approximate_day, axes_or_new, fmt_pct
from analysis.simulation.panel import Panel

__all__ = [
    "share_bias_sentence",
    "BACKTEST",
    "BUCKETS",
    "MILESTONES",
    "N_DRAWS",
    "RETENTION_FAMILIES",
    "SCENARIOS",
    "SCENARIO_COLOURS",
    "SCENARIO_TEXT",
    "TABLE_LABELS",
    "BacktestFindings",
    "ObservedDAU",
    "ObservedFindings",
    "observed_dau",
    "observed_findings",
    "observed_backtest_protocol",
    "forecast_numbers",
    "DecompositionFindings",
    "HeadlineFindings",
    "HistoryFindings",
    "OutOfSampleFindings",
    "ScenarioFindings",
    "ShareFindings",
    "Timeline",
    "actual_after_origin",
    "after_origin",
    "arrival_groups",
    "assumptions_table",
    "backtest",
    "backtest_findings",
    "backtest_sentence",
    "backtest_numbers",
    "baseline_path",
    "cohort_forecast",
    "cohort_forecasts",
    "daily_installs",
    "decompose_dau",
    "decomposition_findings",
    "describe_scenarios",
    "display_backtest",
    "display_milestones",
    "display_scores",
    "display_share",
    "expected_path",
    "fit_classic_retention",
    "forecast_labels",
    "forecast_phrase",
    "forecast_timeline",
    "headline_findings",
    "history_findings",
    "mark_origin",
    "milestone_forecasts",
    "milestone_numbers",
    "milestone_table",
    "organic_baseline",
    "out_of_sample_findings",
    "plot_comparison",
    "plot_decomposition",
    "plot_scenarios",
    "published_total",
    "published_totals",
    "scenario_assumptions",
    "scenario_findings",
    "scenario_installs",
    "scenario_shares",
    "score_forecasts",
    "score_numbers",
    "series_frame",
    "share_findings",
    "share_numbers",
    "share_table",
    "statistical_forecasters",
    "statistical_forecasts",
]

#: The scenarios of :func:`analysis.models.forecast.install_scenario`, lowest first.
SCENARIOS = ("no_influx", "fading", "renewed_shock")

#: Colours of the scenarios (and of the statistical forecasters) in every figure.
SCENARIO_COLOURS = {
    "no_influx": "#2ca02c",
    "fading": "#1f77b4",
    "renewed_shock": "#d62728",
    "default (ARIMA)": "#9467bd",
    "naive": "#8c564b",
    "seasonal naive": "#e377c2",
}

#: Short labels of the cohort forecasts (sBG retention) for report tables.
TABLE_LABELS = {
    "no_influx": "sBG, no influx",
    "fading": "sBG, fading",
    "renewed_shock": "sBG, renewed shock",
}

#: The scenarios in words.
SCENARIO_TEXT = {
    "no_influx": "no influx: only organic installs",
    "fading": "fading: the influx keeps fading",
    "renewed_shock": "renewed shock: a second wave",
}

#: Days after the origin the question asks about (those within the horizon are shown).
MILESTONES = (30, 90, 180)
#: Rolling-origin protocol of the backtest (Prophet's, shortened to a series of months).
BACKTEST = {"initial": "60 days", "period": "7 days", "horizon": "28 days"}
#: Horizon buckets of the backtest (days).
BUCKETS = ((1, 7), (8, 14), (15, 28))
#: Retention-parameter draws behind each cohort-forecast interval.
N_DRAWS = 500
#: The retention families of the cohort forecast: the sBG, and the BdW as a check.
RETENTION_FAMILIES = (retention.ShiftedBetaGeometric, retention.BetaDiscreteWeibull)


def _ts(x) -> pd.Timestamp:
    return pd.Timestamp(x).normalize()


# ----------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class Timeline:
    """The days of a forecast (:func:`forecast_timeline`)."""

    surge: pd.Timestamp  # first day of the influx (the simulation's surge_start)
    first_forecast: pd.Timestamp  # forecast_start: the first day the models do not see
    origin: pd.Timestamp  # the last day the models see (first_forecast - 1 day)
    horizon_days: int
    horizon_end: pd.Timestamp  # origin + horizon_days
    days_ahead: list  # the milestones within the horizon (days after the origin)
    milestone_dates: list  # ... as dates
    peak_day: pd.Timestamp  # the published peak day (Sensor Tower)
    show_from: pd.Timestamp  # the scenario figure starts two weeks before the surge
    compare_from: pd.Timestamp  # the comparison figure, a week before the published peak


def forecast_timeline(panel: Panel, forecast_start, horizon_days: int,
                      milestones: Sequence[int] = MILESTONES) -> Timeline:
    """The origin, horizon and milestone days of a forecast from ``forecast_start`` on
    ``panel``. The origin must leave four weeks of the influx to fit to and lie inside
    the panel (``ValueError`` otherwise)."""
    surge = pd.Timestamp(panel.truth.surge_start)
    first_forecast = pd.Timestamp(forecast_start)
    origin = first_forecast - pd.Timedelta(days=1)
    if not surge + pd.Timedelta(days=28) <= origin < panel.end:
        raise ValueError(
            f"forecast_start must lie between {(surge + pd.Timedelta(days=29)).date()} and "
            f"{panel.end.date()} (the simulated panel's last day)")
    days_ahead = [h for h in milestones if h <= horizon_days] or [horizon_days]
    peak_day = sources.peak_day(panel.metrics, "RedNote", panel.market, "Sensor Tower")
    return Timeline(
        surge=surge, first_forecast=first_forecast, origin=origin,
        horizon_days=horizon_days, horizon_end=origin + pd.Timedelta(days=horizon_days),
        days_ahead=days_ahead,
        milestone_dates=[origin + pd.Timedelta(days=h) for h in days_ahead],
        peak_day=peak_day, show_from=surge - pd.Timedelta(days=14),
        compare_from=peak_day - pd.Timedelta(days=7))


# ------------------------------------------------------------------------ decomposition


def arrival_groups(surge) -> tuple[list[pd.Timestamp], list[str]]:
    """Edges and labels of :func:`decompose_dau` for the influx starting on ``surge``:
    the users from before it (the organic baseline), the arrivals of its month, the
    later arrivals."""
    surge = _ts(surge)
    next_month = surge + pd.offsets.MonthBegin(1)
    labels = [f"installed before {surge:%-d %b} (organic baseline)",
              f"January arrivals ({surge:%-d}-{next_month - pd.Timedelta(days=1):%-d %b})",
              f"later arrivals (from {next_month:%-d %b})"]
    return [surge, next_month], labels


def decompose_dau(panel: Panel, edges: Sequence, labels: Sequence[str]) -> pd.DataFrame:
    """The panel market's daily active users split by the day the users installed,
    scaled up to the full user base.

    ``labels[i]`` counts the users with ``edges[i-1] <= install_date < edges[i]`` (the
    first group everything before ``edges[0]``, the last everything from
    ``edges[-1]``); counts are divided by the panel's scale.

    Returns ``date``, one column per label and ``total`` (their sum: distinct active
    users per day, every user being in exactly one group), one row per day from the first
    to the last event (zeros included). Raises ``ValueError`` if the total differs from
    the panel's DAU (:attr:`~analysis.simulation.panel.Panel.scaled_dau`).
    """
    cuts = [_ts(e) for e in edges]
    if len(labels) != len(cuts) + 1:
        raise ValueError(f"{len(cuts)} edge(s) need {len(cuts) + 1} labels, got {len(labels)}")
    if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        raise ValueError("edges must be increasing")
    ev = panel.events(["user_id", "event_date", "install_date"])
    ev = ev.drop_duplicates(["user_id", "event_date"])
    group = np.searchsorted(np.asarray(cuts, dtype="datetime64[ns]"),
                            ev["install_date"].to_numpy(), side="right")
    counts = (pd.crosstab(ev["event_date"].to_numpy(), group)
              .reindex(columns=range(len(labels)), fill_value=0))
    days = pd.date_range(ev["event_date"].min(), ev["event_date"].max(), freq="D")
    counts = panel.scale_up(counts.reindex(days, fill_value=0).astype(float))
    counts.columns = list(labels)
    out = counts.rename_axis("date").reset_index()
    out["total"] = out[list(labels)].sum(axis=1)
    if not np.allclose(out["total"].to_numpy(),
                       panel.scaled_dau.reindex(out["date"]).to_numpy()):
        raise ValueError("the groups do not add up to the panel's DAU")
    return out


def daily_installs(panel: Panel, start, end) -> pd.Series:
    """Users of the panel's market installing on each day from ``start`` to ``end``
    (zeros included), scaled up: the cohort sizes. Every user is active on the install
    day, so a panel window that contains ``start .. end`` holds all of them."""
    ev = panel.events(["user_id", "install_date"])
    first = ev.drop_duplicates("user_id")
    counts = first.groupby("install_date").size()
    days = pd.date_range(_ts(start), _ts(end), freq="D")
    return panel.scale_up(counts.reindex(days, fill_value=0).astype(float)).rename("installs")


# ---------------------------------------------------------------------------- scenarios


def scenario_assumptions(installs: pd.Series, origin, surge_start, peak_day,
                         shock_delay: int = 30, recent_days: int = 7,
                         noise_share: float = 0.5) -> dict:
    """The scenario inputs, estimated from the installs history.

    ``installs`` daily installs (:func:`daily_installs`) up to ``origin`` (the last
    observed day), starting before ``surge_start``. Returns a dict:

    * ``floor``: median daily installs before ``surge_start`` (organic installs);
    * ``initial``: mean installs of the last ``recent_days`` days up to the origin, minus
      the floor (at least 0): the excess the *fading* scenario starts from;
    * ``half_life``: days for the excess to halve, from a least-squares line through
      log(excess) on the days after ``peak_day`` until the excess first falls below
      ``noise_share`` times the floor (below that, sampling noise dominates);
    * ``shock_date`` (the first forecast day, origin + 1, plus ``shock_delay`` days, as
      :func:`analysis.models.forecast.install_scenario` by default), ``shock_size`` (the largest daily
      excess observed) and ``shock_half_life`` (= ``half_life``) for *renewed_shock*;
    * ``fit_start``, ``fit_end``, ``fit_days``: the days of the half-life fit.
    """
    s = installs.astype(float).sort_index()
    s.index = pd.DatetimeIndex(s.index)
    origin, surge, peak = _ts(origin), _ts(surge_start), _ts(peak_day)
    s = s.loc[:origin]
    pre = s.loc[: surge - pd.Timedelta(days=1)]
    if len(pre) < 7:
        raise ValueError("need at least 7 days of installs before surge_start for the floor")
    floor = float(pre.median())
    recent = s.iloc[-recent_days:]
    initial = max(float(recent.mean()) - floor, 0.0)
    excess = s.loc[peak + pd.Timedelta(days=1):] - floor
    below = np.flatnonzero(excess.to_numpy() < noise_share * max(floor, 1.0))
    fit = excess.iloc[: below[0]] if below.size else excess
    if len(fit) < 3:
        raise ValueError("fewer than 3 days after peak_day with a clear excess of installs; "
                         "cannot estimate the half-life")
    t = np.arange(len(fit), dtype=float)
    slope = float(np.polyfit(t, np.log(fit.to_numpy()), 1)[0])
    if slope >= 0:
        raise ValueError("the installs after peak_day do not decline; no half-life")
    half_life = float(np.log(2) / -slope)
    return {
        "floor": floor,
        "initial": initial,
        "half_life": half_life,
        "shock_date": origin + pd.Timedelta(days=1 + shock_delay),
        "shock_size": float((s - floor).max()),
        "shock_half_life": half_life,
        "fit_start": fit.index[0],
        "fit_end": fit.index[-1],
        "fit_days": len(fit),
        "recent_days": recent_days,
        "origin": origin,
    }


def scenario_installs(name: str, assumptions: Mapping, horizon: int) -> pd.Series:
    """Daily installs from the day after the origin for ``horizon`` days under a scenario
    (:func:`analysis.models.forecast.install_scenario` with :func:`scenario_assumptions`)."""
    a = assumptions
    start = _ts(a["origin"]) + pd.Timedelta(days=1)
    kw: dict[str, Any] = {"floor": a["floor"]}
    if name in ("fading", "renewed_shock"):
        # the excess of the last week is centred recent_days/2 days before the start
        kw |= {"initial": a["initial"] * 0.5 ** ((a["recent_days"] + 1) / 2 / a["half_life"]),
               "half_life": a["half_life"]}
    if name == "renewed_shock":
        kw |= {"shock_date": a["shock_date"], "shock_size": a["shock_size"],
               "shock_half_life": a["shock_half_life"]}
    return forecast.install_scenario(name, start, horizon, **kw)


def describe_scenarios(assumptions: Mapping) -> str:
    """The scenarios as a Markdown bullet list, with their estimated inputs."""
    a = assumptions
    return "\n".join([
        f"- **no_influx**: only organic installs, {a['floor']:,.0f} a day (the median "
        "before the influx).",
        f"- **fading**: organic installs plus the excess of the last {a['recent_days']} "
        f"days ({a['initial']:,.0f} a day), halving every {a['half_life']:.1f} days as "
        f"after the peak ({a['fit_start']:%-d %b} to {a['fit_end']:%-d %b}).",
        f"- **renewed_shock**: *fading* plus a second wave on {a['shock_date']:%-d %B %Y} "
        f"as large as the largest daily excess observed ({a['shock_size']:,.0f} installs), "
        f"halving every {a['shock_half_life']:.1f} days.",
    ])


# ---------------------------------------------------------------------- cohort forecast


def baseline_path(history: pd.Series, horizon: int, level: float = 0.8,
                  model=None) -> tuple[pd.Series, pd.DataFrame]:
    """The organic baseline: observed ``history`` (Series by date) followed by a
    statistical forecast for ``horizon`` days (``model``, default
    :func:`analysis.models.forecast.default_forecaster`). Returns ``(path, prediction)``:
    the Series over history and forecast days (point forecast), and the forecaster's
    prediction frame."""
    m = model if model is not None else forecast.default_forecaster(level=level)
    df = pd.DataFrame({"ds": pd.DatetimeIndex(history.index), "y": history.to_numpy(float)})
    pred = m.fit(df).predict(int(horizon))
    path = pd.concat([pd.Series(df["y"].to_numpy(), index=df["ds"]),
                      pd.Series(pred["yhat"].to_numpy(), index=pred["ds"])])
    return path.rename("baseline"), pred


def cohort_forecast(retention_model, baseline: pd.Series, installs_history: pd.Series,
                    future_installs: pd.Series, dates, level: float = 0.8,
                    n_draws: int = 500, random_state: int | None = 0) -> pd.DataFrame:
    """DAU at ``dates`` by :class:`analysis.models.forecast.CohortForecaster`: ``baseline``
    (covering ``dates``) plus the cohorts of ``installs_history`` (observed, up to the
    origin) and ``future_installs`` (a scenario), through ``retention_model`` (fitted
    to classic retention; its covariance gives the ``level`` interval).

    Returns ``ds, yhat, yhat_lower, yhat_upper, baseline, cohorts`` (``cohorts`` = yhat
    minus the baseline).
    """
    hist = installs_history.astype(float)
    if len(future_installs) and hist.index.max() >= future_installs.index.min():
        raise ValueError("future_installs must start after the installs history")
    installs = pd.concat([hist, future_installs.astype(float)])
    model = forecast.CohortForecaster(retention_model, baseline=baseline, installs=installs,
                                      level=level, n_draws=n_draws,
                                      random_state=random_state)
    origin = pd.DataFrame({"ds": [hist.index.max()], "y": [1.0]})
    pred = model.fit(origin).predict(pd.DatetimeIndex(pd.to_datetime(list(dates))))
    base = baseline.reindex(pd.DatetimeIndex(pred["ds"])).to_numpy(float)
    return pred.assign(baseline=base, cohorts=pred["yhat"] - base)


def milestone_table(forecasts: Mapping[str, pd.DataFrame], origin, days: Iterable[int],
                    truth: pd.Series | None = None) -> pd.DataFrame:
    """DAU ``days`` after ``origin`` (day h = origin + h days) in each forecast frame
    (``ds, yhat, yhat_lower, yhat_upper``). ``truth`` an optional Series by date (the
    simulation's expected DAU) adds ``truth`` and ``error_percent`` (forecast vs truth).

    Returns ``forecast, day, date, dau, lower, upper[, truth, error_percent]``.
    """
    origin = _ts(origin)
    rows = []
    for name, pred in forecasts.items():
        p = pred.set_index(pd.DatetimeIndex(pred["ds"]))
        for h in days:
            d = origin + pd.Timedelta(days=int(h))
            if d not in p.index:
                raise ValueError(f"forecast {name!r} has no value on day {h} ({d.date()})")
            r = p.loc[d]
            row = {"forecast": name, "day": int(h), "date": d, "dau": float(r["yhat"]),
                   "lower": float(r["yhat_lower"]), "upper": float(r["yhat_upper"])}
            if truth is not None:
                tv = float(truth.loc[d])
                row |= {"truth": tv, "error_percent": 100 * (row["dau"] / tv - 1)}
            rows.append(row)
    return pd.DataFrame(rows)


def score_forecasts(forecasts: Mapping[str, pd.DataFrame], actual: pd.Series) -> pd.DataFrame:
    """Each forecast against what happened on the days both cover.

    ``actual`` a Series by date. Returns one row per forecast: ``forecast, days, first,
    last, mape`` (mean absolute percentage error, share), ``bias`` (mean percentage
    error, share; positive = forecast too high), ``coverage`` (share of days inside the
    interval), ``last_error`` (percentage error on the last day, share).
    """
    act = actual.astype(float)
    act.index = pd.DatetimeIndex(act.index)
    rows = []
    for name, pred in forecasts.items():
        p = pred.set_index(pd.DatetimeIndex(pred["ds"]))
        common = p.index.intersection(act.index)
        if common.empty:
            raise ValueError(f"forecast {name!r} shares no day with the actual series")
        y, f = act.loc[common].to_numpy(), p.loc[common, "yhat"].to_numpy(float)
        lo = p.loc[common, "yhat_lower"].to_numpy(float)
        hi = p.loc[common, "yhat_upper"].to_numpy(float)
        pe = (f - y) / y
        rows.append({"forecast": name, "days": len(common), "first": common.min(),
                     "last": common.max(), "mape": float(np.mean(np.abs(pe))),
                     "bias": float(np.mean(pe)),
                     "coverage": float(np.mean((y >= lo) & (y <= hi))),
                     "last_error": float(pe[-1])})
    return pd.DataFrame(rows)


def backtest(df: pd.DataFrame, models: Mapping[str, Any], initial, period, horizon,
             buckets: Sequence[tuple[int, int]]) -> tuple[pd.DataFrame, dict]:
    """Rolling-origin backtest (:func:`analysis.models.forecast.cross_validation`, Prophet's
    cutoff rule) of every model on ``df`` (``ds, y``), summarized by horizon bucket.

    Returns ``(summary, cvs)``: one row per model with ``model, cutoffs, first_cutoff,
    last_cutoff``, ``mape_<lo>_<hi>`` per bucket, ``mape_all`` and ``coverage_all``; and
    the cross-validation frames by model name.
    """
    rows, cvs = [], {}
    for name, model in models.items():
        cv = forecast.cross_validation(df, initial=initial, period=period, horizon=horizon,
                                       model=model)
        cvs[name] = cv
        b = forecast.horizon_buckets(cv, buckets)
        cut = pd.to_datetime(cv["cutoff"])
        row = {"model": name, "cutoffs": int(cut.nunique()), "first_cutoff": cut.min(),
               "last_cutoff": cut.max()}
        for r in b.itertuples(index=False):
            row[f"mape_{r.bucket.replace('-', '_')}"] = float(r.mape)
        y = cv["y"].to_numpy(float)
        row["mape_all"] = float(np.mean(np.abs((cv["yhat"].to_numpy(float) - y) / y)))
        row["coverage_all"] = float(np.mean((y >= cv["yhat_lower"]) & (y <= cv["yhat_upper"])))
        rows.append(row)
    return pd.DataFrame(rows), cvs


# ------------------------------------------------------- the forecasts of the notebook


def fit_classic_retention(panel: Panel, timeline: Timeline,
                          families: Sequence = RETENTION_FAMILIES) -> tuple:
    """The retention curve of the cohort forecast: ``families`` fitted
    (:func:`analysis.notebooks.common.fit_families`) to the classic retention of the
    daily cohorts that installed from the surge to the origin, observed to the origin.
    Returns ``(rows, models, notes)``."""
    events = panel.cohort_events(timeline.surge, timeline.origin)
    rows = cohorts.retention_table(common.build_cohort_table(events, timeline.origin),
                                   "classic")
    models, notes = common.fit_families(rows, "classic", list(families))
    return rows, models, notes


def organic_baseline(decomp: pd.DataFrame, label: str, timeline: Timeline,
                     level: float = 0.8) -> pd.Series:
    """The DAU of the users from before the influx (column ``label`` of
    :func:`decompose_dau`) up to the origin, followed by its statistical forecast to the
    end of the horizon (:func:`baseline_path`)."""
    history = decomp.set_index("date").loc[: timeline.origin, label]
    path, _ = baseline_path(history, timeline.horizon_days, level)
    return path


def cohort_forecasts(retention_model, baseline: pd.Series, installs: pd.Series,
                     assumptions: Mapping, timeline: Timeline,
                     scenarios: Sequence[str] = SCENARIOS, level: float = 0.8,
                     random_state: int | None = 0) -> dict[str, pd.DataFrame]:
    """:func:`cohort_forecast` of each scenario from the surge to the end of the horizon:
    the observed ``installs`` (:func:`daily_installs`) from the surge, then the
    scenario's (:func:`scenario_installs`), through ``retention_model``, with
    :data:`N_DRAWS` parameter draws. Scenario name -> forecast frame."""
    dates = pd.date_range(timeline.surge, timeline.horizon_end, freq="D")
    return {s: cohort_forecast(retention_model, baseline, installs.loc[timeline.surge:],
                               scenario_installs(s, assumptions, timeline.horizon_days),
                               dates, level, N_DRAWS, random_state)
            for s in scenarios}


# ---------------------------------------------- the cohort forecast driven by the BG/BB
# DAU = baseline + sum over install days of installs x P(active at that age), with the
# BG/BB's expected_active(age) (Fader, Hardie & Shang 2010) as the activity curve. Its
# intervals add the day-to-day noise of the panel around the model (the residuals of its
# own fit before the origin) to the uncertainty of the parameters.

BGBB_LABEL = "BG/BB cohort"


class BGBBActiveCurve:
    """The BG/BB's share of a cohort active at each age, in the form
    :class:`analysis.models.forecast.CohortForecaster` takes: ``survival(age)`` =
    ``expected_active(age)`` (1 on the install day) and ``sample_survival`` from draws of
    the parameters (the asymptotic normal of the fit on the log scale)."""

    def __init__(self, model):
        self.model = model

    def survival(self, t):
        return self.model.expected_active(np.asarray(t, dtype=np.int64))

    def sample_survival(self, t, n_draws: int, random_state=None) -> np.ndarray:
        from analysis.models.bgbb import bgbb_expected_active

        ages = np.asarray(t, dtype=np.int64)
        draws = self.model.sample_params(n_draws, random_state=random_state)
        return np.array([bgbb_expected_active(*p, ages) for p in draws.itertuples(index=False)])


def fit_bgbb_activity(panel: Panel, timeline: Timeline) -> common.BGBBFit:
    """The BG/BB of the cohorts that installed from the surge to the origin, on their
    activity up to the origin (the data of :func:`fit_classic_retention`)."""
    events = panel.cohort_events(timeline.surge, timeline.origin)
    return common.fit_bgbb(events, timeline.surge, timeline.origin, timeline.origin)


def with_daily_noise(pred: pd.DataFrame, actual: pd.Series, fit_from, origin,
                     level: float = 0.8) -> tuple[pd.DataFrame, dict]:
    """A cohort forecast (``ds, yhat, yhat_lower, yhat_upper`` from before the origin)
    with the day-to-day noise around it.

    On the days ``fit_from .. origin`` the log residuals ``log(actual / yhat)`` give a
    weekday effect (their mean by day of week, which the model does not have) and the
    noise left after it (their standard deviation, ``sd``). After the origin the point
    forecast is multiplied by the weekday effect and the interval combines, on the log
    scale, the parameter interval (read as normal: half-width / z) with the noise:
    ``log yhat +- z sqrt(sd_param^2 + sd^2)``. Columns ``param_lower, param_upper`` keep
    the parameter-only interval. Returns ``(frame, noise)``, ``noise`` =
    ``{"weekday": {...}, "sd": ..., "days": ...}``.
    """
    from scipy import stats

    p = pred.set_index(pd.DatetimeIndex(pred["ds"]))
    act = actual.astype(float)
    act.index = pd.DatetimeIndex(act.index)
    days = p.index[(p.index >= _ts(fit_from)) & (p.index <= _ts(origin))].intersection(act.index)
    if len(days) < 14:
        raise ValueError(f"the noise needs >= 14 days before the origin; got {len(days)}")
    resid = np.log(act.loc[days].to_numpy()) - np.log(p.loc[days, "yhat"].to_numpy(float))
    dow = pd.Series(resid, index=days).groupby(days.day_of_week).mean()
    eps = resid - dow.reindex(days.day_of_week).to_numpy()
    sd = float(np.std(eps, ddof=1))
    z = stats.norm.ppf(0.5 + level / 2)
    out = p[p.index > _ts(origin)].copy()
    effect = dow.reindex(out.index.day_of_week).fillna(0.0).to_numpy()
    log_y = np.log(out["yhat"].to_numpy(float))
    sd_param = (np.log(out["yhat_upper"].to_numpy(float))
                - np.log(out["yhat_lower"].to_numpy(float))) / (2 * z)
    half = z * np.sqrt(sd_param ** 2 + sd ** 2)
    out = out.assign(param_lower=out["yhat_lower"], param_upper=out["yhat_upper"])
    out["yhat"] = np.exp(log_y + effect)
    out["yhat_lower"] = np.exp(log_y + effect - half)
    out["yhat_upper"] = np.exp(log_y + effect + half)
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    noise = {"weekday": {names[k]: float(v) for k, v in dow.items()}, "sd": sd,
             "days": int(len(days))}
    return out.reset_index(drop=True), noise


def bgbb_forecast(fit: common.BGBBFit, baseline: pd.Series, installs: pd.Series,
                  assumptions: Mapping, timeline: Timeline, scenario: str, actual: pd.Series,
                  level: float = 0.8, random_state: int | None = 0) -> tuple[pd.DataFrame,
                                                                             pd.DataFrame, dict]:
    """The cohort forecast of ``scenario`` through the BG/BB's activity curve
    (:class:`BGBBActiveCurve`, :func:`cohort_forecast`), from the surge to the end of the
    horizon; then :func:`with_daily_noise` fitted on ``actual`` (the panel's DAU) from the
    day after the published peak to the origin. Returns ``(in_sample, ahead, noise)``:
    the forecast from the surge (parameter intervals), the days after the origin with
    noise-inclusive intervals, and the noise model."""
    dates = pd.date_range(timeline.surge, timeline.horizon_end, freq="D")
    full = cohort_forecast(BGBBActiveCurve(fit.model), baseline, installs.loc[timeline.surge:],
                           scenario_installs(scenario, assumptions, timeline.horizon_days),
                           dates, level, N_DRAWS, random_state)
    ahead, noise = with_daily_noise(full, actual, timeline.peak_day + pd.Timedelta(days=1),
                                    timeline.origin, level)
    return full, ahead, noise


def bgbb_scores(scores: pd.DataFrame, ahead: pd.DataFrame, actual: pd.Series,
                scenario: str) -> pd.DataFrame:
    """Out-of-sample scores (:func:`score_forecasts`) of the BG/BB cohort forecast with
    its two intervals (parameters only; with the day-to-day noise) next to the sBG cohort
    forecast of the same scenario and the default statistical forecaster (rows of
    ``scores``)."""
    param_only = ahead.assign(yhat_lower=ahead["param_lower"], yhat_upper=ahead["param_upper"])
    ours = score_forecasts({f"{BGBB_LABEL} (parameters only)": param_only,
                            BGBB_LABEL: ahead}, actual)
    keep = scores[scores["forecast"].isin([scenario, "default (ARIMA)"])]
    return pd.concat([keep, ours], ignore_index=True)


@dataclass(frozen=True)
class BGBBForecastFindings:
    """What the BG/BB forecast paragraph of notebook 02 states."""

    params: dict
    mape: dict
    coverage: dict
    noise_sd: float
    noise_days: int
    weekday_range: tuple[str, float, str, float]
    best: str


def bgbb_forecast_findings(fit: common.BGBBFit, table: pd.DataFrame,
                           noise: Mapping) -> BGBBForecastFindings:
    sc = table.set_index("forecast")
    wk = pd.Series(noise["weekday"])
    return BGBBForecastFindings(
        params={k: float(v) for k, v in fit.model.params_.items()},
        mape=sc["mape"].to_dict(), coverage=sc["coverage"].to_dict(),
        noise_sd=float(noise["sd"]), noise_days=int(noise["days"]),
        weekday_range=(wk.idxmin(), float(wk.min()), wk.idxmax(), float(wk.max())),
        best=sc["mape"].idxmin())


def bgbb_forecast_sentence(f: BGBBForecastFindings, scenario: str, level: float,
                           labels: Mapping[str, str]) -> str:
    """The paragraph under the BG/BB forecast table of notebook 02."""
    p = f.params
    lo_day, lo, hi_day, hi = f.weekday_range
    name = labels.get(scenario, scenario)
    return (
        f"The BG/BB fitted to the **simulated** cohorts from the surge to the origin puts "
        f"the mean daily dropout at {100 * p['gamma'] / (p['gamma'] + p['delta']):.1f} % and "
        f"the mean activity of the living at {100 * p['alpha'] / (p['alpha'] + p['beta']):.0f} % "
        f"of days. Its residuals before the origin ({f.noise_days} days) show a weekday "
        f"pattern the model has not ({lo_day} {100 * lo:+.1f} % to {hi_day} {100 * hi:+.1f} %) "
        f"and a day-to-day noise of {100 * f.noise_sd:.1f} % (standard deviation on the log "
        f"scale). After the origin the BG/BB cohort forecast misses the simulated panel by "
        f"{100 * f.mape[BGBB_LABEL]:.1f} % on average ({name}: "
        f"{100 * f.mape[scenario]:.1f} %, default statistical forecaster: "
        f"{100 * f.mape['default (ARIMA)']:.1f} %). Its {100 * level:.0f} % interval from the "
        f"parameters alone covers {100 * f.coverage[BGBB_LABEL + ' (parameters only)']:.0f} % "
        f"of the days; with the day-to-day noise added, "
        f"{100 * f.coverage[BGBB_LABEL]:.0f} % (the sBG cohort forecast's: "
        f"{100 * f.coverage[scenario]:.0f} %)."
    )


def after_origin(forecasts: Mapping[str, pd.DataFrame], origin) -> dict[str, pd.DataFrame]:
    """The days after ``origin`` of each forecast frame (``ds, ...``)."""
    origin = _ts(origin)
    return {name: f[f["ds"] > origin].reset_index(drop=True) for name, f in forecasts.items()}


def expected_path(panel: Panel, timeline: Timeline) -> pd.Series:
    """The simulation's expected DAU (full scale) from the panel's first day to the end
    of the horizon, by date: what the simulated world does after the panel ends."""
    return panel.expected_dau(end=timeline.horizon_end).set_index("date")["dau"]


def statistical_forecasters(level: float = 0.8) -> dict[str, Any]:
    """The statistical forecasters compared with the cohort model (unfitted): the
    package's default, the naive and the seasonal naive forecast."""
    return {
        "default (ARIMA)": forecast.default_forecaster(level=level),
        "naive": forecast.NaiveForecaster(level=level),
        "seasonal naive": forecast.SeasonalNaiveForecaster(level=level),
    }


def series_frame(series: pd.Series) -> pd.DataFrame:
    """A Series by date as the forecasters' ``ds, y`` frame."""
    return pd.DataFrame({"ds": series.index, "y": series.to_numpy()})


def statistical_forecasts(models: Mapping[str, Any], history: pd.Series,
                          horizon: int) -> dict[str, pd.DataFrame]:
    """Each of ``models`` (cloned) fitted to ``history`` (Series by date, up to the
    origin) and projected ``horizon`` days."""
    train = series_frame(history)
    return {name: m.clone().fit(train).predict(horizon) for name, m in models.items()}


def forecast_labels(scenario: str) -> dict[str, str]:
    """Table labels of every forecast of the notebook (``scenario``: the headline)."""
    return {**TABLE_LABELS, "BdW": f"BdW, {scenario.replace('_', ' ')}",
            "truth": "simulation's expected DAU"}


def milestone_forecasts(ahead: Mapping[str, pd.DataFrame], bdw: pd.DataFrame,
                        default: pd.DataFrame, truth: pd.Series,
                        timeline: Timeline) -> pd.DataFrame:
    """:func:`milestone_table` of the scenarios (``ahead``), the BdW check (``bdw``), the
    default statistical forecaster (``default``) and the simulation's expected DAU
    (``truth``, Series by date; also the reference of ``error_percent``)."""
    after = truth.loc[timeline.first_forecast:]
    truth_frame = pd.DataFrame({"ds": after.index, "yhat": after.to_numpy()})
    truth_frame["yhat_lower"] = truth_frame["yhat_upper"] = truth_frame["yhat"]
    return milestone_table({**ahead, "BdW": bdw, "default (ARIMA)": default,
                            "truth": truth_frame}, timeline.origin, timeline.days_ahead,
                           truth=truth)


def actual_after_origin(panel: Panel, timeline: Timeline) -> pd.Series:
    """The panel's DAU (full scale) from the first forecast day to the end of the panel
    or of the horizon, whichever comes first: what the forecasts are scored on."""
    return panel.scaled_dau.loc[timeline.first_forecast:min(panel.end, timeline.horizon_end)]


def assumptions_table(assumptions: Mapping) -> pd.DataFrame:
    """:func:`scenario_assumptions` as a one-row table (for the results file)."""
    return pd.DataFrame([dict(assumptions)])


# ---------------------------------------------------------------------- share of total


def published_total(metrics: pd.DataFrame, metric: str, provider: str,
                    entity: str = "RedNote", exclude_market: str = "US") -> dict:
    """The latest published figure of ``entity``'s ``metric`` (``dau`` or ``mau``, unit
    users, not a forecast) by ``provider`` outside ``exclude_market``: ``id, provider,
    metric, market, date, value, qualifier`` and ``day_note``: what the figure's note
    says of its day (the closing parenthesis of ``note_en``, e.g. a holiday; "" if none)."""
    m = metrics[(metrics["entity"] == entity) & (metrics["metric"] == metric)
                & (metrics["provider"] == provider) & (metrics["unit"] == "users")
                & (metrics["market"] != exclude_market) & (metrics["qualifier"] != "forecast")]
    if m.empty:
        raise LookupError(f"no published {metric} of {entity} by {provider}")
    r = m.sort_values("period_start").iloc[-1]
    return {"id": r["id"], "provider": provider, "metric": metric, "market": r["market"],
            "date": pd.Timestamp(r["period_start"]), "value": float(r["value"]),
            "qualifier": r["qualifier"], "day_note": _day_note(r.get("note_en", ""))}


def _day_note(note) -> str:
    """The closing parenthesis of a note ("... on 9 Feb 2024 (Spring Festival Eve)." ->
    "Spring Festival Eve"), or ""."""
    import re

    found = re.search(r"\(([^()]*)\)\.?\s*$", str(note) if isinstance(note, str) else "")
    return found.group(1) if found else ""


def share_bias_sentence(total: Mapping, months_old: int, growth_value: float,
                        growth_provider: str, growth_id: str) -> str:
    """Which way the stale denominator pulls the shares: growth since the total was
    measured makes them too high; a special day (a holiday the figure's note names)
    that lifted the total makes them too low, so then the direction is not known."""
    text = (f"The published total is {months_old} months older than the figure of Sensor "
            f"Tower, and RedNote was growing then ({growth_value:+g} % year on year, "
            f"{growth_provider}, {growth_id}), which makes these shares too high")
    if total.get("day_note"):
        return text + (f"; but it was measured on a special day ({total['day_note']}, "
                       f"{total['id']}), when the total may stand above an ordinary day's, "
                       f"which makes them too low: the net direction of the error is not "
                       f"known.")
    return text + ": if anything, they are too high."


def published_totals(metrics: pd.DataFrame) -> dict[str, dict]:
    """The denominators of the share of RedNote's total: QuestMobile's total DAU
    (``"dau"``) and Aurora Mobile's total MAU (``"mau"``), :func:`published_total`."""
    return {"dau": published_total(metrics, "dau", "QuestMobile"),
            "mau": published_total(metrics, "mau", "Aurora Mobile")}


def share_table(milestones: pd.DataFrame, totals: Mapping[str, Mapping]) -> pd.DataFrame:
    """US DAU as a share of RedNote's total: ``milestones`` (:func:`milestone_table`) with
    one column ``share_<key>`` (and ``_lower``/``_upper``) per published total in
    ``totals`` (key -> :func:`published_total`): DAU / total."""
    out = milestones.copy()
    for key, tot in totals.items():
        v = float(tot["value"])
        if not v > 0:
            raise ValueError(f"total {key!r} must be positive")
        for src, suffix in (("dau", ""), ("lower", "_lower"), ("upper", "_upper")):
            out[f"share_{key}{suffix}"] = out[src] / v
    return out


def scenario_shares(milestones: pd.DataFrame, totals: Mapping[str, Mapping]) -> pd.DataFrame:
    """:func:`share_table` of the scenarios' rows of ``milestones``."""
    return share_table(milestones[milestones["forecast"].isin(SCENARIOS)], totals)


# ------------------------------------------------------------- named numbers of a table


def _key(name: str) -> str:
    return name.replace(" ", "_").replace("(", "").replace(")", "").replace("/", "")


def milestone_numbers(milestones: pd.DataFrame) -> list[dict]:
    """The results numbers of :func:`milestone_table` (``Results.number`` keywords): the
    scenarios' DAU on each milestone day, ``dau_day<h>_<scenario>`` with bounds."""
    out = []
    for r in milestones[milestones["forecast"].isin(SCENARIOS)].itertuples():
        out += [
            dict(name=f"dau_day{r.day}_{r.forecast}", value=r.dau,
                 description=f"cohort forecast, {r.forecast}, day {r.day} (simulated)",
                 unit="users"),
            dict(name=f"dau_day{r.day}_{r.forecast}_lower", value=r.lower,
                 description="lower bound", unit="users"),
            dict(name=f"dau_day{r.day}_{r.forecast}_upper", value=r.upper,
                 description="upper bound", unit="users"),
        ]
    return out


def forecast_numbers(milestones: pd.DataFrame, data: str = "observed") -> list[dict]:
    """The results numbers of a :func:`milestone_table` of statistical forecasts:
    ``dau_day<h>_<forecast>`` with bounds (``data`` in the description)."""
    out = []
    for r in milestones.itertuples():
        key = f"dau_day{r.day}_{_key(r.forecast)}"
        out += [
            dict(name=key, value=r.dau, description=f"{r.forecast} forecast, day {r.day} "
                 f"({data})", unit="users"),
            dict(name=f"{key}_lower", value=r.lower, description="lower bound", unit="users"),
            dict(name=f"{key}_upper", value=r.upper, description="upper bound", unit="users"),
        ]
    return out


def score_numbers(scores: pd.DataFrame, data: str = "simulated") -> list[dict]:
    """The results numbers of :func:`score_forecasts`: ``oos_mape_<forecast>`` and
    ``oos_coverage_<forecast>`` (``data``: "simulated" or "observed", in the description)."""
    out = []
    for r in scores.itertuples():
        out += [
            dict(name=f"oos_mape_{_key(r.forecast)}", value=r.mape,
                 description=f"out-of-sample MAPE, {r.forecast} ({data})", unit="share"),
            dict(name=f"oos_coverage_{_key(r.forecast)}", value=r.coverage,
                 description=f"out-of-sample interval coverage, {r.forecast}", unit="share"),
        ]
    return out


def backtest_numbers(summary: pd.DataFrame, data: str = "simulated") -> list[dict]:
    """The results numbers of :func:`backtest`: ``backtest_mape_<model>`` and
    ``backtest_coverage_<model>`` (``data`` as in :func:`score_numbers`)."""
    out = []
    for r in summary.itertuples():
        out += [
            dict(name=f"backtest_mape_{_key(r.model)}", value=r.mape_all,
                 description=f"backtest MAPE, {r.model} ({data})", unit="share"),
            dict(name=f"backtest_coverage_{_key(r.model)}", value=r.coverage_all,
                 description=f"backtest coverage, {r.model}", unit="share"),
        ]
    return out


def share_numbers(shares: pd.DataFrame) -> list[dict]:
    """The results numbers of :func:`share_table`: ``share_dau_day<h>_<forecast>`` (percent)."""
    return [dict(name=f"share_dau_day{r.day}_{r.forecast}", value=100 * r.share_dau,
                 description=f"simulated US DAU / published total DAU, {r.forecast}, "
                             f"day {r.day}", unit="percent")
            for r in shares.itertuples()]


# -------------------------------------------------------------- what the sentences say


@dataclass(frozen=True)
class HistoryFindings:
    """The simulated history against the published figures (:func:`history_findings`);
    DAU at full scale."""

    similarweb_date: pd.Timestamp  # Similarweb's pre-surge level: its day,
    similarweb_panel: float  # the panel's DAU that day,
    similarweb_published: float  # and the published value,
    similarweb_range: tuple  # (low, high) its hedge stands for
    peak_dau: float  # the panel's peak
    peak_day: pd.Timestamp
    published_peak_day: pd.Timestamp  # Sensor Tower
    published_level_date: pd.Timestamp  # Sensor Tower's post-peak level: its day,
    published_level: float  # value,
    published_share_percent: float  # share of the peak,
    published_level_range: tuple  # (low, high) of the level and
    published_share_range: tuple  # of the share (percent) their hedges stand for
    published_implied_peak: float  # and the peak it implies
    published_implied_peak_range: tuple  # (low, high) the hedged inputs allow
    origin_dau: float  # the panel's DAU on the origin


def history_findings(panel: Panel, check: pd.DataFrame, timeline: Timeline) -> HistoryFindings:
    """The panel's DAU before the surge, at its peak and on the origin, with the published
    figures (``check``: :meth:`~analysis.simulation.panel.Panel.anchor_check`)."""
    st = sources.implied_peak_dau(panel.metrics, "RedNote", panel.market, "Sensor Tower")
    sw = check[(check["provider"] == "Similarweb") & (check["kind"] == "level")].iloc[0]
    dau = panel.scaled_dau
    day = approximate_day(sw)  # the published day (the middle of an approximate day's window)
    return HistoryFindings(
        similarweb_date=day, similarweb_panel=dau.loc[day],
        similarweb_published=sw["published"], similarweb_range=(sw["low"], sw["high"]),
        published_level_range=(st["level_low"], st["level_high"]),
        published_share_range=(st["share_low"], st["share_high"]),
        peak_dau=dau.max(), peak_day=dau.idxmax(),
        published_peak_day=timeline.peak_day, published_level_date=st["date"],
        published_level=st["level"], published_share_percent=st["share_percent"],
        published_implied_peak=st["implied_peak"],
        published_implied_peak_range=(st["implied_peak_low"], st["implied_peak_high"]), origin_dau=dau.loc[timeline.origin])


@dataclass(frozen=True)
class DecompositionFindings:
    """Who the daily users are (:func:`decomposition_findings`); DAU at full scale,
    shares in percent of the day's total."""

    peak_day: pd.Timestamp  # the panel's peak
    peak_january_percent: float  # January arrivals at the peak
    origin_baseline: float  # on the origin: users from before the influx,
    origin_january: float  # January arrivals,
    origin_later: float  # later arrivals
    origin_baseline_percent: float
    origin_january_percent: float
    baseline_mean_before: float  # mean DAU of the baseline group before the surge


def decomposition_findings(decomp: pd.DataFrame, labels: Sequence[str], panel: Panel,
                           timeline: Timeline) -> DecompositionFindings:
    """The groups of :func:`decompose_dau` (``labels``: baseline, January, later; from
    :func:`arrival_groups`) at the panel's peak, on the origin and before the surge."""
    base, january, later = labels
    d_at = decomp.set_index("date")
    peak_day = panel.scaled_dau.idxmax()
    at_origin, at_peak = d_at.loc[timeline.origin], d_at.loc[peak_day]
    return DecompositionFindings(
        peak_day=peak_day, peak_january_percent=100 * at_peak[january] / at_peak["total"],
        origin_baseline=at_origin[base], origin_january=at_origin[january],
        origin_later=at_origin[later],
        origin_baseline_percent=100 * at_origin[base] / at_origin["total"],
        origin_january_percent=100 * at_origin[january] / at_origin["total"],
        baseline_mean_before=d_at.loc[:timeline.surge - pd.Timedelta(days=1), base].mean())


@dataclass(frozen=True)
class ScenarioFindings:
    """The retention curve of the cohort forecast and its fit to the history
    (:func:`scenario_findings`)."""

    n_cohorts: int  # daily cohorts fitted
    alpha: float  # the sBG's parameters
    beta: float
    in_sample_start: pd.Timestamp  # the day after the published peak
    in_sample_mape: float  # mean absolute error of the forecast to the origin (share)


def scenario_findings(rows: pd.DataFrame, models: Mapping, forecast_frame: pd.DataFrame,
                      panel: Panel, timeline: Timeline) -> ScenarioFindings:
    """The sBG of :func:`fit_classic_retention` (``rows``, ``models``) and how closely a
    cohort forecast (``forecast_frame``, from the surge) reproduces the panel's DAU from
    the day after the published peak to the origin."""
    start = timeline.peak_day + pd.Timedelta(days=1)
    in_sample = forecast_frame.set_index("ds").loc[start:timeline.origin]
    mape = float(np.mean(np.abs(in_sample["yhat"] / panel.scaled_dau.loc[in_sample.index] - 1)))
    sbg = models["sBG"].params_
    return ScenarioFindings(n_cohorts=rows["cohort_date"].nunique(), alpha=sbg["alpha"],
                            beta=sbg["beta"], in_sample_start=start, in_sample_mape=mape)


@dataclass(frozen=True)
class HeadlineFindings:
    """The headline forecast on the milestone days (:func:`headline_findings`)."""

    milestones: dict  # day -> the headline scenario's row: date, dau, lower, upper, ...
    day: int  # the last milestone
    origin_dau: float  # the panel's DAU on the origin
    low: str  # the lowest and highest scenarios and their DAU on the last milestone
    low_dau: float
    high: str
    high_dau: float
    width: float  # width of the headline's interval on the last milestone
    scenario_matters_more: bool  # high_dau - low_dau > width
    truth_dau: float  # the simulation's expected DAU on the last milestone
    error_percent: float  # the headline forecast against it
    truth_inside: bool  # ... inside the headline's interval
    bdw_error_percent: float
    default_error_percent: float


def headline_findings(milestones: pd.DataFrame, scenario: str, panel: Panel,
                      timeline: Timeline) -> HeadlineFindings:
    """The ``scenario`` forecast on every milestone day of :func:`milestone_forecasts`, the
    range of the scenarios and the errors against the simulation's expected DAU on the
    last milestone."""
    ms = milestones.set_index(["forecast", "day"])
    last = timeline.days_ahead[-1]
    low, high = SCENARIOS[0], SCENARIOS[-1]
    head = ms.loc[(scenario, last)]
    truth = ms.loc[("truth", last), "dau"]
    return HeadlineFindings(
        milestones={h: ms.loc[(scenario, h)] for h in timeline.days_ahead}, day=last,
        origin_dau=panel.scaled_dau.loc[timeline.origin], low=low,
        low_dau=ms.loc[(low, last), "dau"], high=high, high_dau=ms.loc[(high, last), "dau"],
        width=head["upper"] - head["lower"],
        scenario_matters_more=bool(ms.loc[(high, last), "dau"] - ms.loc[(low, last), "dau"]
                                   > head["upper"] - head["lower"]),
        truth_dau=truth, error_percent=head["error_percent"],
        truth_inside=bool(head["lower"] <= truth <= head["upper"]),
        bdw_error_percent=ms.loc[("BdW", last), "error_percent"],
        default_error_percent=ms.loc[("default (ARIMA)", last), "error_percent"])


def forecast_phrase(name: str, scenario: str) -> str:
    """A forecast of the out-of-sample table in words (``scenario``: the headline)."""
    names = {**{s: f"the cohort forecast under *{s}*" for s in SCENARIOS},
             "BdW": f"the cohort forecast with beta-discrete-Weibull retention (*{scenario}*)",
             "default (ARIMA)": "the default statistical forecaster",
             "naive": "the naive forecast", "seasonal naive": "the seasonal naive forecast"}
    return names[name]


@dataclass(frozen=True)
class OutOfSampleFindings:
    """The forecasts against the panel after the origin (:func:`out_of_sample_findings`);
    errors and coverage as shares."""

    n_days: int  # days scored
    first: pd.Timestamp
    last: pd.Timestamp
    mape: dict  # forecast -> mean absolute percentage error
    best: str  # the forecast with the smallest MAPE
    best_phrase: str  # ... in words (forecast_phrase)
    default_bias: float  # mean percentage error of the default statistical forecaster
    default_coverage: float
    scenario_coverage: float  # coverage of the headline cohort forecast


def out_of_sample_findings(scores: pd.DataFrame, actual: pd.Series,
                           scenario: str) -> OutOfSampleFindings:
    """:func:`score_forecasts` of the forecasts on ``actual``
    (:func:`actual_after_origin`): errors, the best forecast, bias and coverage."""
    sc = scores.set_index("forecast")
    best = sc["mape"].idxmin()
    return OutOfSampleFindings(
        n_days=len(actual), first=actual.index.min(), last=actual.index.max(),
        mape=sc["mape"].to_dict(), best=best, best_phrase=forecast_phrase(best, scenario),
        default_bias=sc.loc["default (ARIMA)", "bias"],
        default_coverage=sc.loc["default (ARIMA)", "coverage"],
        scenario_coverage=sc.loc[scenario, "coverage"])


@dataclass(frozen=True)
class BacktestFindings:
    """The rolling-origin backtest (:func:`backtest_findings`); errors as shares."""

    series_start: pd.Timestamp  # the series backtested
    series_end: pd.Timestamp
    cutoffs: int  # cutoffs of the default forecaster, first and last
    first_cutoff: pd.Timestamp
    last_cutoff: pd.Timestamp
    default_first_bucket: float  # MAPE of the default forecaster, first horizon bucket
    default_last_bucket: float  # ... last horizon bucket
    naive_last_bucket: float
    seasonal_naive_last_bucket: float


def backtest_findings(summary: pd.DataFrame, series: pd.DataFrame,
                      buckets: Sequence[tuple[int, int]] = BUCKETS) -> BacktestFindings:
    """:func:`backtest` of ``series`` (``ds, y``): the cutoffs and how the errors grow
    from the first to the last horizon bucket of ``buckets``."""
    bt = summary.set_index("model")
    first = f"mape_{buckets[0][0]}_{buckets[0][1]}"
    last = f"mape_{buckets[-1][0]}_{buckets[-1][1]}"
    return BacktestFindings(
        series_start=series["ds"].min(), series_end=series["ds"].max(),
        cutoffs=bt.loc["default (ARIMA)", "cutoffs"],
        first_cutoff=bt.loc["default (ARIMA)", "first_cutoff"],
        last_cutoff=bt.loc["default (ARIMA)", "last_cutoff"],
        default_first_bucket=bt.loc["default (ARIMA)", first],
        default_last_bucket=bt.loc["default (ARIMA)", last],
        naive_last_bucket=bt.loc["naive", last],
        seasonal_naive_last_bucket=bt.loc["seasonal naive", last])


def backtest_sentence(b: BacktestFindings, protocol: Mapping[str, str], last_day: int,
                      observed: bool = False) -> str:
    """The protocol and result of a rolling-origin backtest (:func:`backtest_findings`
    ``b``, with its ``protocol``: initial, period, horizon) in words; ``last_day`` is the
    last milestone, which the backtest's horizon does not reach. ``observed``: the series
    is an observed log's (else the simulated panel's)."""
    cut = "%-d %B %Y" if observed else "%-d %B"
    return (
        f"Protocol: rolling origin on the {'observed' if observed else 'simulated'} series "
        f"from {b.series_start:%-d %B %Y} to "
        f"{b.series_end:%-d %B %Y}, at least {protocol['initial']} of history before the "
        f"first cutoff, a cutoff every {protocol['period']} and forecasts up to "
        f"{protocol['horizon']} ahead: {b.cutoffs} cutoffs, from {b.first_cutoff.strftime(cut)} to "
        f"{b.last_cutoff.strftime(cut)} (Prophet's cutoff rule, "
        f"`analysis.models.forecast.cross_validation`). The default forecaster's error grows from "
        f"{100 * b.default_first_bucket:.1f} % in the first week to "
        f"{100 * b.default_last_bucket:.1f} % in days {BUCKETS[-1][0]}-{BUCKETS[-1][1]}, against "
        f"{100 * b.naive_last_bucket:.1f} % for the naive and "
        f"{100 * b.seasonal_naive_last_bucket:.1f} % for the seasonal naive forecast. "
        + (f"A horizon of {protocol['horizon']} says nothing directly about day {last_day}. "
           "Observed data." if observed else
           f"{b.cutoffs} cutoffs on one simulated series, all after the peak, cannot rank "
           f"models firmly; a horizon of {protocol['horizon']} says nothing directly about "
           f"day {last_day}.")
    )


@dataclass(frozen=True)
class ShareFindings:
    """US DAU as a share of RedNote's published total (:func:`share_findings`)."""

    share_day: pd.Timestamp  # the day of Sensor Tower's share of the total
    panel_share: float  # the panel's DAU that day over the total DAU (share)
    published_word: str  # "under", "over", "about" (the figure's qualifier)
    published_value: float  # Sensor Tower's share, percent
    published_id: str
    scenario_share_dau: dict  # day -> the headline scenario's share of the total DAU
    scenario_share_mau_last: float  # ... of the total MAU on the last milestone
    shock_day: pd.Timestamp  # the top of the second wave (the last scenario)
    shock_dau: float
    shock_share_percent: float  # shock_dau over the total DAU, percent
    months_old: int  # months between the published total and Sensor Tower's figure
    growth_value: float  # RedNote's DAU growth then, percent year on year
    growth_provider: str
    growth_id: str


def share_findings(panel: Panel, shares: pd.DataFrame, ahead: Mapping[str, pd.DataFrame],
                   totals: Mapping[str, Mapping], scenario: str,
                   timeline: Timeline) -> ShareFindings:
    """The panel's and the scenarios' share of RedNote's total (``shares``:
    :func:`scenario_shares`; ``totals``: :func:`published_totals`), Sensor Tower's share
    for comparison, the top of the second wave (``ahead``: the scenarios after the
    origin) and how old and how fast-growing the published total was."""
    metrics = panel.metrics
    st_share = metrics[(metrics["entity"] == "RedNote") & (metrics["market"] == panel.market)
                       & (metrics["metric"] == "dau_share_of_total")].iloc[0]
    share_day = pd.Timestamp(st_share["period_start"])
    total_dau = totals["dau"]["value"]
    sh = shares.set_index(["forecast", "day"])
    wave = ahead[SCENARIOS[-1]]
    shock_top = wave.loc[wave["yhat"].idxmax()]
    total_date = totals["dau"]["date"]
    growth = metrics[(metrics["entity"] == "RedNote") & (metrics["metric"] == "dau_growth_yoy")
                     & (metrics["period_start"] == total_date)].iloc[0]
    word = {"at_most": "under", "at_least": "over", "approximate": "about"}
    return ShareFindings(
        share_day=share_day, panel_share=panel.scaled_dau.loc[share_day] / total_dau,
        published_word=word.get(st_share["qualifier"], ""),
        published_value=st_share["value"], published_id=st_share["id"],
        scenario_share_dau={h: sh.loc[(scenario, h), "share_dau"]
                            for h in timeline.days_ahead},
        scenario_share_mau_last=sh.loc[(scenario, timeline.days_ahead[-1]), "share_mau"],
        shock_day=shock_top["ds"], shock_dau=shock_top["yhat"],
        shock_share_percent=100 * shock_top["yhat"] / total_dau,
        months_old=(share_day.year - total_date.year) * 12 + share_day.month
        - total_date.month,
        growth_value=growth["value"], growth_provider=growth["provider"],
        growth_id=growth["id"])


# ----------------------------------------------------------------------------- display


def _int(v) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:,.0f}"


def _interval(est, lo, hi, thousands: bool = True) -> str:
    """``743 k [736-750]`` in thousands, or ``48 [21-94]`` in users when ``thousands`` is
    false (the bounds dropped when they equal the estimate)."""
    div, unit = (1e3, " k") if thousands else (1.0, "")
    if np.isclose(lo, hi) and np.isclose(lo, est):
        return f"{est / div:,.0f}{unit}"
    return f"{est / div:,.0f}{unit} [{lo / div:,.0f}\u2013{hi / div:,.0f}]"


def display_milestones(table: pd.DataFrame, labels: Mapping[str, str] | None = None,
                       level: float = 0.8) -> pd.DataFrame:
    """:func:`milestone_table` as a wide report table: one row per forecast, one column
    per day, DAU with the interval -- in thousands (``743 k [736-750]``) when the largest
    value reaches 10,000, else in users (``48 [21-94]``)."""
    labels = {**TABLE_LABELS, **(labels or {})}
    thousands = bool(table["dau"].abs().max() >= 1e4)
    rows = []
    for name, g in table.groupby("forecast", sort=False):
        row = {"forecast": labels.get(name, name)}
        for r in g.itertuples(index=False):
            row[f"day {r.day}, {r.date:%-d %b}"] = _interval(r.dau, r.lower, r.upper, thousands)
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["level"] = level
    return out


def display_scores(scores: pd.DataFrame, labels: Mapping[str, str] | None = None,
                   level: float = 0.8) -> pd.DataFrame:
    """:func:`score_forecasts` formatted for a report table."""
    labels = {**TABLE_LABELS, **(labels or {})}
    return pd.DataFrame({
        "forecast": [labels.get(n, n) for n in scores["forecast"]],
        "days": scores["days"].to_numpy(),
        "MAPE": [fmt_pct(v) for v in scores["mape"]],
        "bias": [f"{100 * v:+.1f} %" for v in scores["bias"]],
        f"{100 * level:.0f} % coverage": [fmt_pct(v, 0) for v in scores["coverage"]],
        "last-day error": [f"{100 * v:+.1f} %" for v in scores["last_error"]],
    })


def display_backtest(summary: pd.DataFrame, buckets: Sequence[tuple[int, int]],
                     level: float = 0.8) -> pd.DataFrame:
    """:func:`backtest` summary formatted for a report table."""
    out = pd.DataFrame({"model": summary["model"], "cutoffs": summary["cutoffs"]})
    for lo, hi in buckets:
        out[f"MAPE {lo}-{hi} d"] = [fmt_pct(v) for v in summary[f"mape_{lo}_{hi}"]]
    out["MAPE all"] = [fmt_pct(v) for v in summary["mape_all"]]
    out[f"{100 * level:.0f} % coverage"] = [fmt_pct(v, 0) for v in summary["coverage_all"]]
    return out


def display_share(shares: pd.DataFrame, totals: Mapping[str, Mapping],
                  labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """:func:`share_table` formatted: one row per (forecast, day), the DAU (thousands)
    and its share of each published total (``0.76 % [0.75-0.77]``)."""
    labels = {**TABLE_LABELS, **(labels or {})}
    out = pd.DataFrame({
        "forecast": [labels.get(n, n) for n in shares["forecast"]],
        "day": [f"{d}, {t:%-d %b}" for d, t in zip(shares["day"], shares["date"],
                                                  strict=True)],
        "US DAU": [f"{v / 1e3:,.0f} k" for v in shares["dau"]],
    })
    for key, tot in totals.items():
        head = f"of {tot['metric'].upper()} ({tot['provider']})"
        out[head] = [
            f"{fmt_pct(e, 2)} [{100 * lo:.2f}\u2013{100 * hi:.2f}]" if not np.isclose(lo, hi)
            else fmt_pct(e, 2)
            for e, lo, hi in zip(shares[f"share_{key}"], shares[f"share_{key}_lower"],
                                 shares[f"share_{key}_upper"], strict=True)]
    return out


# ----------------------------------------------------------------------------- plotting


def _millions(ax, log: bool = False):
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _):
        if v == 0:
            return "0"
        if v >= 1e6:
            return f"{v / 1e6:g} M"
        return f"{v / 1e3:g} k"

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))
    if log:
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))


def mark_origin(ax, origin, text: str = "forecast origin"):
    """A dashed vertical line at ``origin`` (the first forecast day), labelled. Returns
    the axes."""
    if origin is None:
        return ax
    ax.axvline(_ts(origin), color="#555555", lw=0.9, ls="--", zorder=1)
    ax.annotate(text, (_ts(origin), 0.0), xycoords=("data", "axes fraction"), fontsize=7,
                rotation=90, ha="right", va="bottom", color="#555555", xytext=(-2, 3),
                textcoords="offset points")
    return ax


def plot_decomposition(decomp: pd.DataFrame, labels: Sequence[str], ax=None, *,
                       origin=None, colours: Sequence[str] | None = None):
    """Stacked areas of the DAU of each install-date group (:func:`decompose_dau`), the
    total as a line, and the forecast origin. Returns the axes."""
    ax = axes_or_new(ax)
    colours = list(colours or ["#7f7f7f", "#1f77b4", "#aec7e8", "#ff7f0e"])
    d = pd.to_datetime(decomp["date"])
    ax.stackplot(d, *[decomp[label].to_numpy(float) for label in labels], labels=list(labels),
                 colors=colours[: len(labels)], alpha=0.85, lw=0)
    ax.plot(d, decomp["total"], color="black", lw=0.9, label="total")
    mark_origin(ax, origin)
    _millions(ax)
    ax.set_ylim(bottom=0)
    ax.set_xlim(d.min(), d.max())
    ax.set_ylabel("US daily active users")
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.9))
    return ax


#: Line styles of the scenarios (no_influx dashed: it often lies on top of fading).
SCENARIO_STYLES = {"no_influx": (0, (5, 2)), "fading": "-", "renewed_shock": "-"}


def _band(ax, pred, colour, label, lw=1.8, ls="-", alpha=0.2):
    d = pd.to_datetime(pred["ds"])
    ax.plot(d, pred["yhat"], color=colour, lw=lw, ls=ls, label=label, zorder=3)
    if not np.allclose(pred["yhat_lower"], pred["yhat_upper"]):
        ax.fill_between(d, pred["yhat_lower"], pred["yhat_upper"], color=colour, alpha=alpha,
                        lw=0, zorder=2)


def plot_scenarios(history: pd.Series, forecasts: Mapping[str, pd.DataFrame], ax=None, *,
                   truth: pd.Series | None = None, origin=None,
                   labels: Mapping[str, str] | None = None, log: bool = False,
                   milestones: Sequence | None = None):
    """Observed DAU (``history``, Series by date), each scenario's forecast with its
    interval (``forecasts``: name -> ``ds, yhat, yhat_lower, yhat_upper``), optionally
    the simulation's expected DAU (``truth``), the origin and milestone days (dates,
    dotted). Linear scale unless ``log``. Returns the axes."""
    ax = axes_or_new(ax)
    labels = labels or {}
    ax.plot(pd.DatetimeIndex(history.index), history.to_numpy(float), color="black", lw=1.1,
            label="simulated panel DAU (scaled up)", zorder=4)
    if truth is not None:
        ax.plot(pd.DatetimeIndex(truth.index), truth.to_numpy(float), color="#444444", lw=1.1,
                ls=(0, (4, 2)), label="expected DAU of the simulation", zorder=5)
    # the second wave first, the dashed no_influx last: the lower paths stay visible
    rank = {"renewed_shock": 0, "fading": 1, "no_influx": 2}
    order = sorted(forecasts, key=lambda n: rank.get(n, 1))
    for name in order:
        _band(ax, forecasts[name], SCENARIO_COLOURS.get(name, None), labels.get(name, name),
              ls=SCENARIO_STYLES.get(name, "-"))
    for m in milestones or []:
        ax.axvline(_ts(m), color="#999999", lw=0.7, ls=":", zorder=0)
    mark_origin(ax, origin)
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    _millions(ax, log)
    ax.set_ylabel("US daily active users")
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.9))
    return ax


def plot_comparison(history: pd.Series, forecasts: Mapping[str, pd.DataFrame], ax=None, *,
                    actual: pd.Series | None = None, origin=None,
                    labels: Mapping[str, str] | None = None,
                    bands: Sequence[str] | None = None, data: str = "simulated panel",
                    ylabel: str = "US daily active users"):
    """Forecasts of different models from one origin (``forecasts``; intervals drawn for
    the names in ``bands``, default all) against the history and, after the origin, what
    happened (``actual``, points); ``data`` names the series in the legend ("simulated
    panel", "observed"). Returns the axes."""
    ax = axes_or_new(ax)
    labels = labels or {}
    ax.plot(pd.DatetimeIndex(history.index), history.to_numpy(float), color="black", lw=1.1,
            label=f"{data} DAU, before the origin", zorder=4)
    if actual is not None:
        ax.plot(pd.DatetimeIndex(actual.index), actual.to_numpy(float), "o", color="black",
                ms=2.5, label=f"{data} DAU, after the origin (not used)", zorder=6)
    styles = ["-", "--", "-.", ":"]
    for k, (name, pred) in enumerate(forecasts.items()):
        colour = SCENARIO_COLOURS.get(name, None)
        if bands is None or name in bands:
            _band(ax, pred, colour, labels.get(name, name), ls=styles[k % len(styles)])
        else:
            ax.plot(pd.to_datetime(pred["ds"]), pred["yhat"], color=colour, lw=1.4,
                    ls=styles[k % len(styles)], label=labels.get(name, name), zorder=3)
    mark_origin(ax, origin)
    _millions(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.9))
    return ax


# ----------------------------------------------------------------- an observed log


@dataclass(frozen=True)
class ObservedDAU:
    """An analyst's own log (:func:`observed_dau`): its DAU and the forecast's days."""

    log: EventLog
    market: str | None  # the market counted (None: every event)
    dau: pd.Series  # distinct active users per calendar day (dense, zeros kept), observed
    first_forecast: pd.Timestamp  # forecast_start: the first day the models do not see
    origin: pd.Timestamp  # the last day the models see
    horizon_end: pd.Timestamp  # origin + horizon_days
    days_ahead: list  # the milestones within the horizon (days after the origin)
    milestone_dates: list

    @property
    def history(self) -> pd.Series:
        """The DAU up to the origin: what the models see."""
        return self.dau.loc[: self.origin]

    @property
    def after(self) -> pd.Series:
        """The observed DAU after the origin, up to the horizon (the out-of-sample days;
        empty when the log ends at the origin)."""
        return self.dau.loc[self.first_forecast: self.horizon_end]


#: Days of history the statistical forecasters need before the origin (four weeks: the
#: weekly dummies and the seasonal naive forecast need several weeks of each weekday).
MIN_HISTORY_DAYS = 28


@dataclass(frozen=True, eq=False)
class SparkLog:
    """An observed log that lives in a Spark session (``engine: spark``): a catalog table
    or a path Spark reads, with the engine's column names (``frame``, a Spark DataFrame;
    :func:`analysis.data._spark.read_log`). Its rows stay in Spark: only the daily counts
    reach the notebook, and no checksum is computed (``sha256`` says so)."""

    source: str
    frame: Any
    where: str
    user_column: str
    time_column: str
    market_column: str | None
    n_rows: int
    first_day: Any
    last_day: Any
    kind: str = "spark"
    table: str | None = None
    time_format: str | None = None
    timezone: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.source,)

    @property
    def sha256(self) -> dict:
        return {self.source: "not computed (Spark source)"}


def spark_log(source: str, user_column: str = "user_id", time_column: str = "event_date",
              market_column: str | None = None) -> SparkLog:
    """:class:`SparkLog` of ``source`` in the session ``SparkSession.builder.getOrCreate()``
    gives (so a user's cluster settings apply)."""
    from analysis.data import _spark

    frame, where, summary = _spark.read_log(source, user_column, time_column, market_column)
    return SparkLog(source=source, frame=frame, where=where, user_column=user_column,
                    time_column=time_column, market_column=market_column,
                    n_rows=summary["rows"], first_day=summary["first_day"],
                    last_day=summary["last_day"])


def read_observed_log(source: str, engine: str = "duckdb", **mapping):
    """The observed log of notebook 02: :func:`analysis.data.events.read_event_log` for
    ``engine='duckdb'``, :func:`spark_log` for ``'spark'`` (``mapping``: the column
    parameters; those Spark does not take must be None, as the parameter schema checks)."""
    if engine == "spark":
        extra = {k: v for k, v in mapping.items()
                 if k not in ("user_column", "time_column", "market_column", "as_of")
                 and v is not None}
        if extra:
            raise ValueError(f"{', '.join(extra)} not supported with engine 'spark'")
        return spark_log(source, mapping.get("user_column", "user_id"),
                         mapping.get("time_column", "event_date"), mapping.get("market_column"))
    from analysis.data.events import read_event_log

    return read_event_log(source, **mapping)


def observed_dau(log: EventLog, forecast_start, horizon_days: int, *,
                 market: str | None = None, as_of=None,
                 milestones: Sequence[int] = MILESTONES) -> ObservedDAU:
    """The daily active users of an observed log
    (:func:`analysis.data.events.read_event_log`) by the cohort engine, with the origin
    and milestones of a forecast from ``forecast_start``.

    With ``market`` (and a log with ``market_column``) only that market's users count.
    ``forecast_start`` must leave :data:`MIN_HISTORY_DAYS` of history and lie no later
    than the day after the log's last day (``ValueError`` naming the parameter otherwise).
    """
    if market is not None and not log.market_column:
        raise ValueError(f"market {market!r}: the log has no market_column{log.where}")
    if isinstance(log, SparkLog):
        dau = cohorts.daily_active_users(log.frame, by_market=market is not None, as_of=as_of,
                                         engine="spark")
    else:
        dau = cohorts.daily_active_users(log, by_market=market is not None, as_of=as_of)
    if market is not None:
        known = sorted(dau["market"].unique())
        if market not in known:
            raise ValueError(f"market {market!r} is not in the log{log.where} "
                             f"(markets: {', '.join(known)})")
        dau = dau[dau["market"] == market]
    series = dau.set_index("date")["dau"].astype(float)
    series.index = pd.DatetimeIndex(series.index, freq="D")
    first_forecast = _ts(forecast_start)
    origin = first_forecast - pd.Timedelta(days=1)
    earliest = series.index[0] + pd.Timedelta(days=MIN_HISTORY_DAYS)
    latest = series.index[-1] + pd.Timedelta(days=1)
    if not earliest <= first_forecast <= latest:
        raise ValueError(
            f"forecast_start {first_forecast.date()} must lie between {earliest.date()} "
            f"({MIN_HISTORY_DAYS} days after the log's first day {series.index[0].date()}) and "
            f"{latest.date()} (the day after its last day){log.where}; set forecast_start "
            "in the parameter file")
    if float(series.loc[:origin].min()) <= 0:
        zero = series.loc[:origin][series.loc[:origin] <= 0].index[0]
        raise ValueError(
            f"the log{log.where} has no active user on {zero.date()}, before the origin "
            f"{origin.date()}: the forecasters model log DAU and need at least one user "
            "every day; start the log later or fill the gap")
    days_ahead = [h for h in milestones if h <= horizon_days] or [horizon_days]
    return ObservedDAU(
        log=log, market=market, dau=series, first_forecast=first_forecast, origin=origin,
        horizon_end=origin + pd.Timedelta(days=horizon_days), days_ahead=days_ahead,
        milestone_dates=[origin + pd.Timedelta(days=h) for h in days_ahead])


@dataclass(frozen=True)
class ObservedFindings:
    """What the observed-data sentences of notebook 02 state (:func:`observed_findings`)."""

    first_day: pd.Timestamp  # the log's first and last day
    last_day: pd.Timestamp
    peak_dau: float  # the largest DAU and its day
    peak_day: pd.Timestamp
    origin_dau: float  # the DAU on the origin
    mean_last_week: float  # mean DAU of the 7 days to the origin
    default: dict  # milestone day -> the default forecaster's row (dau, lower, upper, date)
    n_after: int  # observed days after the origin (scored)


def observed_findings(obs: ObservedDAU, milestones: pd.DataFrame) -> ObservedFindings:
    """The numbers the observed-data sentences state: the series' span, peak and level
    at the origin, and the default forecaster's milestones (:func:`milestone_table`)."""
    hist = obs.history
    default = milestones[milestones["forecast"] == "default (ARIMA)"]
    return ObservedFindings(
        first_day=obs.dau.index[0], last_day=obs.dau.index[-1],
        peak_dau=float(obs.dau.max()), peak_day=obs.dau.idxmax(),
        origin_dau=float(hist.iloc[-1]), mean_last_week=float(hist.iloc[-7:].mean()),
        default={int(r.day): {"date": r.date, "dau": r.dau, "lower": r.lower,
                              "upper": r.upper} for r in default.itertuples(index=False)},
        n_after=len(obs.after))


def observed_backtest_protocol(n_days: int, max_cutoffs: int = 11) -> dict | None:
    """The rolling-origin protocol for an observed series of ``n_days`` days: the
    notebook's :data:`BACKTEST` window and horizon, with the period between cutoffs
    widened (in whole weeks) so that at most ``max_cutoffs`` cutoffs are made (Prophet's
    example has 11). ``None`` when the series is shorter than the window plus the
    horizon."""
    initial = pd.Timedelta(BACKTEST["initial"]).days
    horizon = pd.Timedelta(BACKTEST["horizon"]).days
    span = n_days - initial - horizon
    if span < 0:
        return None
    weeks = max(1, -(-span // (7 * max_cutoffs)))  # ceiling: at most max_cutoffs
    while span // (7 * weeks) + 1 > max_cutoffs:
        weeks += 1
    return {**BACKTEST, "period": f"{7 * weeks} days"}

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
:func:`decompose_dau`          DAU by install-date group (sums to the total DAU)
:func:`daily_installs`         users per install day (the cohort sizes)
:func:`scenario_assumptions`, :func:`scenario_installs`, :func:`describe_scenarios`
:func:`baseline_path`          observed baseline + its statistical forecast
:func:`cohort_forecast`        one scenario's cohort forecast (a ``CohortForecaster``)
:func:`milestone_table`        DAU on given days after the origin, per forecast
:func:`score_forecasts`        forecasts against what happened (MAPE, bias, coverage)
:func:`backtest`               rolling-origin backtest of several forecasters
:func:`published_total`, :func:`share_table`   share of RedNote's total DAU / MAU
:func:`plot_decomposition`, :func:`plot_scenarios`, :func:`plot_comparison`
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.models import forecast
from analysis.notebooks.common import axes_or_new

__all__ = [
    "SCENARIOS",
    "SCENARIO_COLOURS",
    "SCENARIO_TEXT",
    "TABLE_LABELS",
    "backtest",
    "baseline_path",
    "cohort_forecast",
    "daily_installs",
    "decompose_dau",
    "describe_scenarios",
    "display_backtest",
    "display_milestones",
    "display_scores",
    "display_share",
    "mark_origin",
    "milestone_table",
    "plot_comparison",
    "plot_decomposition",
    "plot_scenarios",
    "published_total",
    "scenario_assumptions",
    "scenario_installs",
    "score_forecasts",
    "share_table",
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


def _ts(x) -> pd.Timestamp:
    return pd.Timestamp(x).normalize()


def _events(source, columns: Sequence[str], market: str | None) -> pd.DataFrame:
    """Columns of an activity log given as a DataFrame or a Parquet path."""
    cols = list(dict.fromkeys([*columns, *(["market"] if market is not None else [])]))
    if isinstance(source, pd.DataFrame):
        missing = sorted(set(cols) - set(source.columns))
        if missing:
            raise ValueError(f"the activity log lacks column(s) {missing}")
        frame = source[cols].copy()
    else:
        import pyarrow.dataset as pads

        dataset = pads.dataset(str(Path(source)))
        flt = (pads.field("market") == market) if market is not None else None
        frame = dataset.to_table(columns=cols, filter=flt).to_pandas()
    if market is not None:
        frame = frame[frame["market"] == market]
    if frame.empty:
        raise ValueError("the activity log holds no event"
                         + (f" in market {market!r}" if market is not None else ""))
    for c in ("event_date", "install_date"):
        if c in frame.columns:
            frame[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
    return frame


# ------------------------------------------------------------------------ decomposition


def decompose_dau(source, edges: Sequence, labels: Sequence[str], market: str | None = None,
                  scale: float = 1.0) -> pd.DataFrame:
    """Daily active users split by the day the users installed.

    ``source`` is the activity log (``user_id, event_date, install_date[, market]``; one
    row per active user-day, as the simulated panel), a DataFrame or a Parquet path.
    ``labels[i]`` counts the users with ``edges[i-1] <= install_date < edges[i]`` (the
    first group everything before ``edges[0]``, the last everything from
    ``edges[-1]``). Counts are divided by ``scale`` (the panel's sampling fraction).

    Returns ``date``, one column per label and ``total`` (their sum: distinct active
    users per day, every user being in exactly one group), one row per day from the first
    to the last event (zeros included).
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    cuts = [_ts(e) for e in edges]
    if len(labels) != len(cuts) + 1:
        raise ValueError(f"{len(cuts)} edge(s) need {len(cuts) + 1} labels, got {len(labels)}")
    if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        raise ValueError("edges must be increasing")
    ev = _events(source, ["user_id", "event_date", "install_date"], market)
    ev = ev.drop_duplicates(["user_id", "event_date"])
    group = np.searchsorted(np.asarray(cuts, dtype="datetime64[ns]"),
                            ev["install_date"].to_numpy(), side="right")
    counts = (pd.crosstab(ev["event_date"].to_numpy(), group)
              .reindex(columns=range(len(labels)), fill_value=0))
    days = pd.date_range(ev["event_date"].min(), ev["event_date"].max(), freq="D")
    counts = counts.reindex(days, fill_value=0).astype(float) / scale
    counts.columns = list(labels)
    out = counts.rename_axis("date").reset_index()
    out["total"] = out[list(labels)].sum(axis=1)
    return out


def daily_installs(source, start, end, market: str | None = None,
                   scale: float = 1.0) -> pd.Series:
    """Users installing on each day from ``start`` to ``end`` (zeros included), divided
    by ``scale``: the cohort sizes. Every user is active on the install day, so a panel
    window that contains ``start .. end`` holds all of them."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    ev = _events(source, ["user_id", "install_date"], market)
    first = ev.drop_duplicates("user_id")
    counts = first.groupby("install_date").size()
    days = pd.date_range(_ts(start), _ts(end), freq="D")
    return (counts.reindex(days, fill_value=0).astype(float) / scale).rename("installs")


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


# ---------------------------------------------------------------------- share of total


def published_total(metrics: pd.DataFrame, metric: str, provider: str,
                    entity: str = "RedNote", exclude_market: str = "US") -> dict:
    """The latest published figure of ``entity``'s ``metric`` (``dau`` or ``mau``, unit
    users, not a forecast) by ``provider`` outside ``exclude_market``: ``id, provider,
    metric, market, date, value, qualifier``."""
    m = metrics[(metrics["entity"] == entity) & (metrics["metric"] == metric)
                & (metrics["provider"] == provider) & (metrics["unit"] == "users")
                & (metrics["market"] != exclude_market) & (metrics["qualifier"] != "forecast")]
    if m.empty:
        raise LookupError(f"no published {metric} of {entity} by {provider}")
    r = m.sort_values("period_start").iloc[-1]
    return {"id": r["id"], "provider": provider, "metric": metric, "market": r["market"],
            "date": pd.Timestamp(r["period_start"]), "value": float(r["value"]),
            "qualifier": r["qualifier"]}


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


# ----------------------------------------------------------------------------- display


def _int(v) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:,.0f}"


def _pct(v, digits: int = 1) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.{digits}f} %"


def _interval(est, lo, hi) -> str:
    """``743 k [736-750]`` (thousands; the bounds dropped when they equal the estimate)."""
    if np.isclose(lo, hi) and np.isclose(lo, est):
        return f"{est / 1e3:,.0f} k"
    return f"{est / 1e3:,.0f} k [{lo / 1e3:,.0f}\u2013{hi / 1e3:,.0f}]"


def display_milestones(table: pd.DataFrame, labels: Mapping[str, str] | None = None,
                       level: float = 0.8) -> pd.DataFrame:
    """:func:`milestone_table` as a wide report table: one row per forecast, one column
    per day, DAU in thousands with the interval (``743 k [736-750]``)."""
    labels = {**TABLE_LABELS, **(labels or {})}
    rows = []
    for name, g in table.groupby("forecast", sort=False):
        row = {"forecast": labels.get(name, name)}
        for r in g.itertuples(index=False):
            row[f"day {r.day}, {r.date:%-d %b}"] = _interval(r.dau, r.lower, r.upper)
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
        "MAPE": [_pct(v) for v in scores["mape"]],
        "bias": [f"{100 * v:+.1f} %" for v in scores["bias"]],
        f"{100 * level:.0f} % coverage": [_pct(v, 0) for v in scores["coverage"]],
        "last-day error": [f"{100 * v:+.1f} %" for v in scores["last_error"]],
    })


def display_backtest(summary: pd.DataFrame, buckets: Sequence[tuple[int, int]],
                     level: float = 0.8) -> pd.DataFrame:
    """:func:`backtest` summary formatted for a report table."""
    out = pd.DataFrame({"model": summary["model"], "cutoffs": summary["cutoffs"]})
    for lo, hi in buckets:
        out[f"MAPE {lo}-{hi} d"] = [_pct(v) for v in summary[f"mape_{lo}_{hi}"]]
    out["MAPE all"] = [_pct(v) for v in summary["mape_all"]]
    out[f"{100 * level:.0f} % coverage"] = [_pct(v, 0) for v in summary["coverage_all"]]
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
            f"{_pct(e, 2)} [{100 * lo:.2f}\u2013{100 * hi:.2f}]" if not np.isclose(lo, hi)
            else _pct(e, 2)
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
                    bands: Sequence[str] | None = None):
    """Forecasts of different models from one origin (``forecasts``; intervals drawn for
    the names in ``bands``, default all) against the history and, after the origin, what
    happened (``actual``, points). Returns the axes."""
    ax = axes_or_new(ax)
    labels = labels or {}
    ax.plot(pd.DatetimeIndex(history.index), history.to_numpy(float), color="black", lw=1.1,
            label="simulated panel DAU, before the origin", zorder=4)
    if actual is not None:
        ax.plot(pd.DatetimeIndex(actual.index), actual.to_numpy(float), "o", color="black",
                ms=2.5, label="simulated panel DAU, after the origin (not used)", zorder=6)
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
    ax.set_ylabel("US daily active users")
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.9))
    return ax

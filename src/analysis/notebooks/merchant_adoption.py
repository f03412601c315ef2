r"""Helpers of the merchant-adoption notebook (``03_merchant_adoption``): the diffusion
fits to the SIMULATED merchants, the model comparison, the ad scenario, the report
tables, the findings behind every sentence, and the plots.

The notebook asks how fast merchants take up RedNote's cross-border programme, who
innovates and who imitates, when adoption peaks and what stopping the ads would do.
No adoption figure for the programme has been published, so every merchant series here
comes from :mod:`analysis.simulation.merchants` (SIMULATED, calibrated to published
figures); only the growth comparison with TikTok Shop (:func:`growth_comparison`) is
derived from published multiples alone. Frames built from simulated data carry a
``simulated`` column and ``attrs["simulated"] = True``.

Models (:mod:`analysis.models.adoption`): the Bass model fitted by non-linear least
squares (Srinivasan & Mason 1986) with a residual bootstrap, and the Generalized Bass
model (Bass, Krishnan & Jain 1994) with the simulated ad-placement index as its effort;
the rolling-origin comparison adds Bass OLS (Bass 1969), logistic and Gompertz curves.
Every interval has coverage :data:`INTERVAL_LEVEL`.

Functions
---------
Fitting and scenario
    :func:`fit_markets`, :func:`estimates_by_market`, :func:`forecast_origins`,
    :func:`compare_by_market`, :func:`compare_summary`, :func:`ad_scenario`
Tables (published-derived or summaries of the simulation)
    :func:`growth_comparison`, :func:`implied_monthly_growth`, :func:`calibration_table`
Report tables (strings)
    :func:`display_calibration`, :func:`display_funnel`, :func:`display_growth`,
    :func:`format_estimates`, :func:`compare_pivot`, :func:`format_scenario`
Findings behind the sentences (numbers and phrase choices; the notebook keeps the
sentence templates)
    :func:`calibration_facts`, :func:`growth_facts`, :func:`pq_facts`,
    :func:`peak_facts`, :func:`scenario_facts`, :func:`compare_facts`
Plots (draw, stamp simulated data as such, return the axes; no ``savefig``)
    :func:`plot_growth`, :func:`plot_market_fits`, :func:`plot_scenario`
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.sources import load_published_metrics, value_interval, with_intervals
from analysis.models import adoption
from analysis.notebooks.common import interval_text, label_observed, label_simulated
from analysis.simulation.merchants import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    MARKETS,
    Calibration,
    MerchantSimulation,
    PublishedTarget,
    adoption_series,
    funnel_table,
    mark_simulated,
    months_between,
    period_days,
    select_market,
)

__all__ = [
    "INTERVAL_LEVEL",
    "MODEL_NAMES",
    "SCENARIO_NAMES",
    "SCENARIO_PHRASES",
    "SFL_MEAN_P",
    "SFL_MEAN_Q",
    "CalibrationFacts",
    "CompareFacts",
    "GrowthFacts",
    "MarketFit",
    "PeakFacts",
    "PqFacts",
    "ScenarioFacts",
    "ScenarioResult",
    "ad_scenario",
    "calibration_facts",
    "calibration_table",
    "compare_by_market",
    "compare_facts",
    "compare_pivot",
    "compare_summary",
    "comparison_markets",
    "display_calibration",
    "display_funnel",
    "display_growth",
    "estimates_by_market",
    "fit_markets",
    "forecast_origins",
    "format_estimates",
    "format_scenario",
    "growth_comparison",
    "growth_facts",
    "growth_readings",
    "display_growth_readings",
    "display_inputs",
    "readings_facts",
    "ReadingsFacts",
    "implied_monthly_growth",
    "join_words",
    "describe_opt_ins",
    "display_observed_series",
    "mark_observed",
    "market_rows",
    "markets_for",
    "observed_markets",
    "gbm_notes",
    "observed_compare_sentence",
    "observed_peak_sentence",
    "observed_pq_sentence",
    "observed_series",
    "more_or_fewer",
    "peak_facts",
    "plot_growth",
    "plot_market_fits",
    "plot_scenario",
    "pq_facts",
    "scenario_facts",
]

#: Sultan, Farley & Lehmann (1990, J. Marketing Research 27(1), 70-77), meta-analysis of
#: 213 Bass applications (annual data, mostly consumer durables): mean p and mean q.
SFL_MEAN_P = 0.03
SFL_MEAN_Q = 0.38

#: Coverage of every interval this module reports (bootstrap percentiles and Wald).
INTERVAL_LEVEL = 0.95
_TAILS = 1 - INTERVAL_LEVEL
_QUANTILES = (_TAILS / 2, 1 - _TAILS / 2)

#: Merchant-growth multiples set against each other by :func:`growth_comparison`:
#: (entity, metric, short label, segment as a sentence names it).
_GROWTH_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("RedNote", "merchant_count_growth", "RedNote, all", "all merchants"),
    ("RedNote", "merchant_count_growth_sales_50m_cny", "RedNote, CNY 50 M sellers",
     "merchants with annual sales of CNY 50 M"),
    ("RedNote", "merchant_count_growth_sales_over_100m_cny", "RedNote, CNY 100 M+ sellers",
     "merchants with annual sales over CNY 100 M"),
    ("TikTok Shop", "merchant_count_growth", "TikTok Shop US", "US merchants"),
)

MODEL_NAMES = {"bass_ols": "Bass (OLS)", "bass_nls": "Bass (NLS)",
               "generalized_bass": "Generalized Bass", "logistic": "logistic",
               "gompertz": "Gompertz"}

SCENARIO_NAMES = {"stop_ads": "ads stopped", "continue": "ads continued"}
#: How sentences describe each ad path: (as the world's path, as a counterfactual).
SCENARIO_PHRASES = {
    "stop_ads": ("the ads stop within weeks, as RedNote's January US campaign did",
                 "had the ads stopped within weeks"),
    "continue": ("the ads continue at their peak level", "had the ads continued at their "
                 "peak level"),
}


def markets_for(market: str) -> list[str]:
    """The markets a run covers: all three for ``"all"``, else the one named."""
    if market == "all":
        return list(MARKETS)
    if market not in MARKETS:
        raise ValueError(f"market must be 'all' or one of {MARKETS}, got {market!r}")
    return [market]


def comparison_markets(markets: Sequence[str]) -> list[str]:
    """The markets the model comparison scores: ``markets``, plus ``all`` (their sum)
    when there are several."""
    return [*markets, "all"] if len(markets) > 1 else list(markets)


# ---------------------------------------------------------------------------------------
# Published-derived growth comparison
# ---------------------------------------------------------------------------------------


def implied_monthly_growth(multiple: float, start: Any, end: Any) -> float:
    """Constant monthly growth rate implied by growing ``multiple``-fold over a period.

    ``(1 + g)^months = multiple`` with ``months`` the length of ``[start, end]`` (both
    days included) in months of 365.25/12 days. Returns ``g`` as a fraction.
    """
    try:
        value = float(multiple)
    except (TypeError, ValueError):
        raise ValueError(f"multiple must be a number, got {multiple!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"multiple must be finite and > 0; got {multiple!r}")
    months = months_between(start, end)
    if months <= 0:
        raise ValueError(f"the period {start} .. {end} is empty")
    return value ** (1.0 / months) - 1.0


def growth_comparison(metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """RedNote's 2024 merchant growth set against TikTok Shop's (published-derived).

    One row per published multiple (RedNote: all merchants, CNY 50 M and over-100 M
    sellers, calendar 2024; TikTok Shop US: the 3x and 5x bounds, April - 6 December
    2024; ``series`` a short label, ``segment`` a phrase for sentences) with the period
    length in months, the implied constant monthly growth
    (percent) and the implied doubling time (months). Not simulated
    (``attrs["simulated"] = False``).
    """
    metrics = load_published_metrics() if metrics is None else metrics
    rows = []
    for entity, metric, label, segment in _GROWTH_ROWS:
        hits = metrics[(metrics["entity"] == entity) & (metrics["metric"] == metric)]
        if hits.empty:
            raise LookupError(f"no published figure for {entity} {metric}")
        for r in hits.sort_values("value").itertuples():
            g = implied_monthly_growth(r.value, r.period_start, r.period_end)
            bound = {"at_least": ", low", "at_most": ", high"}.get(r.qualifier, "")
            rows.append({
                "series": label + bound, "segment": segment, "entity": entity,
                "market": r.market, "id": r.id,
                "period_start": r.period_start, "period_end": r.period_end,
                "months": months_between(r.period_start, r.period_end), "multiple": r.value,
                "qualifier": r.qualifier, "monthly_growth_percent": 100 * g,
                "doubling_months": math.log(2) / math.log1p(g),
            })
    out = pd.DataFrame(rows)
    out.attrs["simulated"] = False
    return out


#: Readings of a "grew N-fold" figure: growth *to* N times the start, or *by* N times
#: (to N + 1 times), as the Chinese "zengzhang le N bei" allows both.
READINGS = {"to": "grew to", "by": "grew by"}


def _bounds(metrics: pd.DataFrame) -> pd.DataFrame:
    """``metrics`` with ``value_low`` / ``value_high`` (computed when not stored)."""
    return metrics if "value_low" in metrics else with_intervals(metrics)


def growth_readings(metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """The TikTok Shop comparison under each reading of its figure (published-derived).

    TikTok Shop US's merchants "zengzhang le 3-5 bei" from April to 6 December 2024
    (the ``value_low`` of its lower-bound row and the ``value_high`` of its upper-bound
    row): read as growth *to* 3-5x or *by* 3-5x (to 4-6x), from the first or the last
    day of April (the text names the month only). RedNote's all-merchant multiple
    (calendar 2024; its own interval) is read *to* and *by* as well. One row per
    TikTok reading and start day: the TikTok range in %/month, RedNote's rate under each
    of its readings and where it falls (``inside``, ``above``, ``below``). Not
    simulated (``attrs["simulated"] = False``).
    """
    metrics = _bounds(load_published_metrics() if metrics is None else metrics)
    tts = metrics[(metrics["entity"] == "TikTok Shop")
                  & (metrics["metric"] == "merchant_count_growth")]
    red = metrics[(metrics["entity"] == "RedNote")
                  & (metrics["metric"] == "merchant_count_growth")]
    if tts.empty or len(red) != 1:
        raise LookupError("expected TikTok Shop and one RedNote merchant_count_growth figure")
    lo_row = tts.loc[tts["value_low"].idxmin()] if tts["value_low"].notna().any() else None
    hi_row = tts.loc[tts["value_high"].idxmax()] if tts["value_high"].notna().any() else None
    if lo_row is None or hi_row is None:
        raise LookupError("TikTok Shop's merchant growth needs a lower and an upper bound")
    low, high = float(lo_row["value_low"]), float(hi_row["value_high"])
    end = pd.Timestamp(lo_row["period_end"])
    month = pd.Timestamp(lo_row["period_start"])
    starts = (month, month + pd.offsets.MonthEnd(0))
    r = red.iloc[0]
    r_lo, r_hi = float(r["value_low"]), float(r["value_high"])
    rate = {}
    for reading, add in (("to", 0.0), ("by", 1.0)):
        rate[reading] = (100 * implied_monthly_growth(r_lo + add, r["period_start"], r["period_end"]),
                         100 * implied_monthly_growth(r_hi + add, r["period_start"], r["period_end"]))
    rows = []
    for reading, add in (("to", 0.0), ("by", 1.0)):
        for start in starts:
            g_lo = 100 * implied_monthly_growth(low + add, start, end)
            g_hi = 100 * implied_monthly_growth(high + add, start, end)
            row = {"tiktok_reading": reading, "start": start, "end": end,
                   "months": months_between(start, end), "multiple_low": low + add,
                   "multiple_high": high + add, "tiktok_low_percent": g_lo,
                   "tiktok_high_percent": g_hi, "ids": f"{lo_row['id']}, {hi_row['id']}"}
            for red_reading, (a, b) in rate.items():
                row[f"rednote_{red_reading}_percent"] = a
                row[f"rednote_{red_reading}_high_percent"] = b
                row[f"rednote_{red_reading}_position"] = (
                    "inside" if g_lo <= a and b <= g_hi else "above" if a > g_hi
                    else "below" if b < g_lo else "overlapping")
            rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["simulated"] = False
    out.attrs["rednote_id"] = r["id"]
    out.attrs["rednote_multiple"] = r_lo
    return out


def _reading_phrase(reading: str, low: float, high: float) -> str:
    """("by", 4, 6) -> "grew by 3-5x (to 4-6x)"; ("to", 3, 5) -> "grew to 3-5x"."""
    if reading == "by":
        return f"grew by {low - 1:g}-{high - 1:g}x (to {low:g}-{high:g}x)"
    return f"grew to {low:g}-{high:g}x"


def display_growth_readings(readings: pd.DataFrame) -> pd.DataFrame:
    """:func:`growth_readings` as the report shows it."""
    return pd.DataFrame({
        "TikTok Shop read as": [_reading_phrase(v, lo, hi)
                                for v, lo, hi in zip(readings["tiktok_reading"],
                                                     readings["multiple_low"],
                                                     readings["multiple_high"], strict=True)],
        "from": [f"{d.day} {d:%B %Y}" for d in readings["start"]],
        "months": [f"{v:.1f}" for v in readings["months"]],
        "TikTok Shop %/month": [f"{a:.1f}-{b:.1f}" for a, b in
                                zip(readings["tiktok_low_percent"],
                                    readings["tiktok_high_percent"], strict=True)],
        "RedNote read 'to' (%/month)": [f"{a:.1f}: {p}" for a, p in
                                        zip(readings["rednote_to_percent"],
                                            readings["rednote_to_position"], strict=True)],
        "RedNote read 'by' (%/month)": [f"{a:.1f}: {p}" for a, p in
                                        zip(readings["rednote_by_percent"],
                                            readings["rednote_by_position"], strict=True)],
    })


#: Short names of the simulation's inputs for the report's table (narrow first column).
_INPUT_LABELS = {"merchant_growth": "growth", "opt_in_share": "opt-in share",
                 "success_share": "success share", "programme_launch": "launch",
                 "ad_peak": "ad peak", "ad_nearly_stopped": "ads stop",
                 "base_start": "base size", "invite_share": "invited share",
                 "p_week": "p per week", "q_week": "q per week", "ad_beta": "ad beta",
                 "nearly_stopped_level": "stop level", "ad_ramp_start": "ads start",
                 "readiness_success_slope": "readiness slope",
                 "order_lag_mean_days": "order lag", "order_lag_shape": "lag shape",
                 "horizon_days": "horizon"}


def _short_dates(text: str) -> str:
    """ISO dates in ``text`` as "1 Mar 2025" (breakable in a narrow table column)."""
    import re

    return re.sub(r"\b(\d{4})-(\d{2})-(\d{2})\b",
                  lambda m: f"{int(m[3])} {pd.Timestamp(m[0]):%b} {m[1]}", text)


def display_inputs(inputs: pd.DataFrame) -> pd.DataFrame:
    """:func:`analysis.simulation.merchants.inputs_table` as the report shows it: one row
    per input (the per-market assumptions on one row), the value used and its range."""
    rows = []
    for name, g in inputs.groupby("input", sort=False):
        first = g.iloc[0]
        if len(g) > 1:  # one value per market
            used = ", ".join(f"{r.market} {r.used}" for r in g.itertuples())
            rng = "none (points)"
        else:
            used = first["used"]
            rng = ("none (a point)" if first["kind"] == "assumed"
                   else f"{first['low']} to {first['high']}")
        rows.append({"input": _INPUT_LABELS.get(name, name.replace("_", " ")),
                     "whose figure, what it measures": (f"{first['id']}: " if first["id"]
                                                        else "") + first["source"],
                     "used in the simulation as": first["used_as"],
                     "value used": _short_dates(used), "range": _short_dates(rng)})
    return pd.DataFrame(rows)


def calibration_table(sim: MerchantSimulation) -> pd.DataFrame:
    """Published targets against the calibrated model and this simulated run.

    Columns: ``target``, ``id``, ``published`` (value), ``qualifier``, ``unit``,
    ``calibrated`` (model-implied, exact), ``simulated_run`` (realised in this run),
    ``parameter`` (the fitted parameter) and ``fitted_value``; ``simulated`` (True:
    the last columns describe the simulation).
    """
    cal = sim.calibration
    t = cal.targets
    base = sim.base
    f = funnel_table(sim)
    allm = f[f["market"] == "all"].iloc[0]
    realised = {"merchant_growth": float(base["multiple"].iloc[-1]),
                "opt_in_share": float(allm["opt_in_percent"]),
                "success_share": float(allm["success_percent"])}
    labels = {
        "merchant_growth": ("merchant growth, 2024 (x)", "growth % a month",
                            100 * cal.monthly_growth),
        "opt_in_share": ("aim for results (%)", "opt-in threshold",
                         cal.opt_in_threshold),
        "success_share": ("results if tried (%)", "success intercept",
                          cal.success_intercept),
    }
    rows = []
    for name, (label, param, value) in labels.items():
        rows.append({"target": label, "id": t[name].id, "published": t[name].value,
                     "qualifier": t[name].qualifier, "unit": t[name].unit,
                     "calibrated": cal.expected[name], "simulated_run": realised[name],
                     "parameter": param, "fitted_value": value})
    return mark_simulated(pd.DataFrame(rows))


# ---------------------------------------------------------------------------------------
# Observed data: an analyst's own table of adoptions (analysis.data.adoptions)
# ---------------------------------------------------------------------------------------


def mark_observed(frame: pd.DataFrame) -> pd.DataFrame:
    """Label ``frame`` (in place; returned) as OBSERVED data: a ``simulated`` column, all
    False, and ``attrs["simulated"] = False`` (the counterpart of
    :func:`analysis.simulation.merchants.mark_simulated`)."""
    frame["simulated"] = False
    frame.attrs["simulated"] = False
    return frame


def _mark_like(template: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Mark ``frame`` simulated or observed as ``template`` is."""
    if template.attrs.get("simulated", True):
        return mark_simulated(frame)
    return mark_observed(frame)


def market_rows(series: pd.DataFrame, market: str) -> pd.DataFrame:
    """The rows of one market of an adoption series (simulated or observed), in period
    order; ``ValueError`` naming the markets present when ``market`` is absent."""
    out = series[series["market"] == market].sort_values("period")
    if out.empty:
        raise ValueError(f"no series for market {market!r}; markets present: "
                         f"{', '.join(map(str, series['market'].unique()))}")
    return out


def observed_markets(opt_ins, market: str) -> list[str]:
    """The markets a run on observed data fits: every market of the table for ``"all"``
    (a table without ``market_column`` has the one market ``"all"``), else the one
    named, which must be in the table (``ValueError`` listing those found)."""
    found = opt_ins.markets
    if market == "all":
        return found
    if market not in found:
        raise ValueError(f"market={market!r} is not in column {opt_ins.market_column!r} of "
                         f"the opt-in table{opt_ins.log.where}; found: {', '.join(found)}")
    return [market]


def observed_series(opt_ins, period_unit: str, as_of=None, effort=None) -> pd.DataFrame:
    """Per-period adoptions of an observed table (:func:`analysis.data.adoptions.read_opt_ins`).

    Periods have the lengths of the simulated ones (:func:`period_days`: 7 days, or
    365.25/12 days for ``"month"``) and start on the first adoption day; the series ends
    with the last *complete* period up to ``as_of`` (default: the last adoption day), so
    the adoptions of a last, partial period are left out (``attrs["n_left_out"]``
    counts them). Long format like :func:`analysis.simulation.merchants.adoption_series`:
    ``market``, ``period``, ``period_start``, ``period_end`` (last day), ``opt_ins``,
    ``cum_opt_ins``, ``effort_total`` (the effort series summed over the period, in its
    own units), ``effort`` (the same as a share of its largest period, peak = 1, like the
    simulation's ad index: the Generalized Bass beta is then the speed-up of the
    diffusion clock in the period of most effort; NaN without an effort series) and
    ``simulated`` (False); with several markets an ``all`` market sums them.
    """
    L = period_days(period_unit)
    a = opt_ins.adoptions
    start = a["adoption_date"].min()
    end = pd.Timestamp(as_of) if as_of is not None else a["adoption_date"].max()
    T = int(math.floor(((end - start).days + 1) / L + 1e-9))
    if T < 1:
        raise ValueError(f"the adoptions from {start:%Y-%m-%d} to {end:%Y-%m-%d} do not fill "
                         f"one {period_unit}")
    edges = L * np.arange(T + 1)
    day = (a["adoption_date"] - start).dt.days.to_numpy(dtype=float)
    starts = (start + pd.to_timedelta(np.ceil(edges - 1e-9), unit="D"))
    e_total = (np.full(T, np.nan) if effort is None
               else effort.per_period(pd.DatetimeIndex(starts)))
    if effort is not None and not e_total.max() > 0:
        raise ValueError(f"the effort series{effort.log.where} has no positive effort in the "
                         f"{T} {period_unit}s of adoptions")
    e = e_total / e_total.max() if effort is not None else e_total
    markets = opt_ins.markets
    groups = [(k, (a["market"] == k).to_numpy()) for k in markets]
    if len(markets) > 1:
        groups.append(("all", np.ones(len(a), bool)))
    frames = []
    for k, sel in groups:
        idx = np.searchsorted(edges, day[sel], side="right") - 1  # [edge_i, edge_i+1)
        o = np.bincount(idx[idx < T], minlength=T)
        frames.append(pd.DataFrame({
            "market": k, "period": np.arange(1, T + 1), "period_start": starts[:-1],
            "period_end": starts[1:] - pd.Timedelta(days=1), "opt_ins": o,
            "cum_opt_ins": np.cumsum(o), "effort_total": e_total, "effort": e}))
    out = pd.concat(frames, ignore_index=True)
    out.attrs["period_unit"] = period_unit
    mark_observed(out)
    out.attrs["n_left_out"] = int((day >= edges[-1]).sum())
    out.attrs["start"], out.attrs["end"] = start, end
    return out


def display_observed_series(series: pd.DataFrame, markets: Sequence[str]) -> pd.DataFrame:
    """The observed per-period adoptions as a report table: one row per period, one
    column of adoptions per market (and their cumulative sum for a single market)."""
    s = series[series["market"].isin(markets)]
    wide = s.pivot(index="period", columns="market", values="opt_ins")[list(markets)]
    first = s[s["market"] == markets[0]].set_index("period")
    out = pd.DataFrame({"period": wide.index,
                        "from": first["period_start"].dt.strftime("%d %b %Y").to_numpy(),
                        "to": first["period_end"].dt.strftime("%d %b %Y").to_numpy()})
    for k in markets:
        out[f"adoptions, {k}" if len(markets) > 1 else "adoptions"] = wide[k].to_numpy()
    if len(markets) == 1:
        out["cumulative"] = first["cum_opt_ins"].to_numpy()
    if first["effort"].notna().any():
        out["effort"] = first["effort_total"].to_numpy()
        out["effort (peak = 1)"] = first["effort"].round(3).to_numpy()
    return out


def describe_opt_ins(opt_ins, series: pd.DataFrame, label: str) -> str:
    """A paragraph naming the observed table (file, SHA-256, columns), what an adoption
    is, the adoptions counted and the periods they fill."""
    log = opt_ins.log
    files = (f"`{log.paths[0].rsplit('/', 1)[-1]}`" if len(log.paths) == 1
             else f"{len(log.paths)} files (`{log.paths[0].rsplit('/', 1)[-1]}`, ...)")
    unit = series.attrs["period_unit"]
    T = int(series["period"].max())
    markets = opt_ins.markets
    left = series.attrs["n_left_out"]
    per = f" per market (column `{opt_ins.market_column}`)" if opt_ins.market_column else ""
    return (
        f"The data are **observed**: {files}"
        f"{f', table `{log.table}`' if log.table else ''} (SHA-256 `{log.checksum[:12]}`), "
        f"{log.n_rows:,} rows, merchant column `{opt_ins.merchant_column}`, time column "
        f"`{opt_ins.time_column}`"
        + (f" (format `{log.time_format}`)" if log.time_format else "")
        + (f", calendar days in {log.timezone}" if log.timezone else "")
        + f". The adoption events are {label}: each id's earliest row{per} counts as its "
        f"adoption"
        + (f", and the {opt_ins.n_repeat_rows:,} later rows are not used" if
           opt_ins.n_repeat_rows else "")
        + f". That gives **{opt_ins.n_adoptions:,}** adoptions from "
        f"{opt_ins.first_day:%-d %B %Y} to {opt_ins.last_day:%-d %B %Y}"
        + (f" in {len(markets)} markets ({join_words(markets)})" if len(markets) > 1 else "")
        + f", counted in {T} {_plural(T, unit)} of {period_days(unit):g} days from the first "
        f"adoption day to {series['period_end'].max():%-d %B %Y}"
        + (f"; the {left:,} adoptions of the last, incomplete {unit} are left out" if left
           else "")
        + ".")


def observed_pq_sentence(estimates: pd.DataFrame, markets: Sequence[str], unit: str,
                         label: str, counted: Mapping[str, int], notes: str = "") -> str:
    """The p/q/m sentence for observed data: each market's Bass p, q (intervals), q/p and
    m (interval) against the adoptions counted, read against the mean coefficients of
    Sultan, Farley & Lehmann (1990); ``counted``: market -> adoptions in the series;
    ``notes`` (:func:`gbm_notes`) closes the paragraph."""
    bass = _by_estimator(estimates, "Bass (NLS)")
    lvl = f"{INTERVAL_LEVEL:.0%}"
    parts = []
    for k in markets:
        r = bass.loc[k]
        where = "" if k == "all" and len(markets) == 1 else f"in {k}, "
        parts.append(
            f"{where}p = {r['p']:.4f} ({r['p_lower']:.4f} to {r['p_upper']:.4f}) and "
            f"q = {r['q']:.3f} ({r['q_lower']:.3f} to {r['q_upper']:.3f}) per {unit}, "
            f"q/p = {r['q_over_p']:.1f}, and a market potential m of {r['m']:,.0f} "
            f"({r['m_lower']:,.0f} to {r['m_upper']:,.0f}) against the {counted[k]:,} "
            "adoptions counted")
    sfl_ratio = SFL_MEAN_Q / SFL_MEAN_P
    above = [k for k in markets if bass.loc[k, "q_over_p"] > sfl_ratio]
    below = [k for k in markets if k not in above]
    imitation = [k for k in markets if bass.loc[k, "q"] > bass.loc[k, "p"]]
    if len(markets) == 1:
        versus = "above" if above else "below"
        imitates = "outweighs" if imitation else "does not outweigh"
    else:
        versus = "; ".join(part for part in (
            f"above it in {join_words(above)}" if above else "",
            f"below it in {join_words(below)}" if below else "") if part)
        imitates = (f"outweighs innovation (q > p) in {len(imitation)} of {len(markets)} "
                    "markets")
    speed = (bass.loc[list(markets), "p_year"] + bass.loc[list(markets), "q_year"]) / (
        SFL_MEAN_P + SFL_MEAN_Q)
    kind = bass.loc[list(markets), "interval"].iloc[0]
    return (
        f"Fitted to the observed {unit}ly adoptions ({label}), the Bass model (NLS) gives "
        + "; ".join(parts)
        + f" ({lvl} {kind} intervals). "
        + (f"Imitation {imitates} innovation, and q/p is {versus} the {sfl_ratio:.1f} of "
           if len(markets) == 1 else
           f"Imitation {imitates}; q/p against the {sfl_ratio:.1f} of ")
        + f"the mean coefficients of Sultan, Farley and Lehmann's meta-analysis "
        f"(p = {SFL_MEAN_P:g}, q = {SFL_MEAN_Q:g} a year)"
        + ("" if len(markets) == 1 else ": " + versus.replace("; ", ", "))
        + ". Annualised, p + q is "
        + (f"{speed.min():.0f}" if round(speed.min()) == round(speed.max())
           else f"{speed.min():.0f}-{speed.max():.0f}")
        + " times the meta-analysis mean." + notes)


def observed_peak_sentence(estimates: pd.DataFrame, markets: Sequence[str], unit: str,
                           series: pd.DataFrame, counted: Mapping[str, int]) -> str:
    """The peak sentence for observed data: the Bass peak per market (interval from the
    bootstrap) and the share of the fitted m already counted; ``series`` is
    :func:`observed_series` output (periods count from its first day)."""
    start = series.attrs["start"]
    bass = _by_estimator(estimates, "Bass (NLS)")
    level = f"{INTERVAL_LEVEL:.0%}"
    parts = []
    for k in bass.loc[list(markets)].sort_values("peak_period").index:
        r = bass.loc[k]
        band = (f", {level} interval {r['peak_lower']:.1f}-{r['peak_upper']:.1f} {unit}s"
                if np.isfinite(r["peak_lower"]) else "")
        when = (f"{r['peak_date'].day} {r['peak_date']:%B %Y}" if pd.notna(r["peak_date"])
                else "no finite date")
        share = 100 * counted[k] / r["m"]
        where = "" if len(markets) == 1 else f"in {k} "
        parts.append(f"{where}after {r['peak_period']:.1f} {unit}s ({when}{band}), with "
                     f"{share:.0f} % of the fitted m adopted by the end of the series")
    return ("The fitted adoption rate of the observed data peaks "
            + "; ".join(parts)
            + f", counting {unit}s from the first adoption day, {start.day} {start:%B %Y}.")


def observed_compare_sentence(facts, summary: pd.DataFrame, markets: Sequence[str],
                              unit: str, holdout: int, label: str, effort=None) -> str:
    """The model-comparison sentence for observed data (``facts`` from
    :func:`compare_facts`; ``effort`` the effort series, if any); a single series is
    named as such, not as pooled markets."""
    if len(markets) == 1:
        best = summary[summary["best"]]
        winners = join_words([MODEL_NAMES[m] for m in best["model"]])
    else:
        winners = facts.winners
    return (f"Forecasting the observed adoptions ({label}) {holdout} {unit}s ahead "
            f"{facts.origins}the lowest {facts.pooled}error comes from {winners}."
            f"{facts.coincide}"
            + (" The Generalized Bass model is given the observed effort over the held-out "
               "periods too: a conditional forecast." if effort is not None else "")
            + facts.failures)


def gbm_notes(fits: Mapping[str, MarketFit]) -> str:
    """Why a Generalized Bass model is missing, as sentences ("" when every market has one)."""
    notes = {k: f.gbm_note for k, f in fits.items() if f.gbm_note}
    if not notes:
        return ""
    if len(set(notes.values())) == 1 and len(notes) == len(fits):
        text = next(iter(notes.values()))
        return " " + text[0].upper() + text[1:] + "."
    return "".join(f" {k}: {text}." for k, text in notes.items())


# ---------------------------------------------------------------------------------------
# Fitting, comparison, scenario
# ---------------------------------------------------------------------------------------


@dataclass
class MarketFit:
    """Fits to one market's per-period opt-ins (SIMULATED data).

    ``model``: Bass NLS on all periods; ``gbm``: Generalized Bass on all periods with the
    world's ad index as effort (None, with the reason in ``gbm_note``, when it cannot be
    fitted); ``bootstrap`` / ``gbm_bootstrap``: their residual bootstraps (None when not
    run).
    """

    market: str
    adoptions: np.ndarray
    effort: np.ndarray
    model: adoption.BassDiffusion
    bootstrap: adoption.BootstrapResult | None
    gbm: adoption.GeneralizedBass | None
    gbm_bootstrap: adoption.BootstrapResult | None
    gbm_note: str = ""


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def fit_markets(series: pd.DataFrame, markets: Sequence[str], bootstrap_draws: int,
                seed: int) -> dict[str, MarketFit]:
    """Bass NLS (Srinivasan & Mason 1986) and Generalized Bass fits per market.

    With ``bootstrap_draws >= 2`` residual bootstraps of both fits give intervals of
    coverage :data:`INTERVAL_LEVEL` (seeded from ``seed`` and the market's position);
    with fewer, intervals are the Wald intervals of the fits and scenario effects get
    none.
    """
    draws = _check_count("bootstrap_draws", bootstrap_draws)
    seed = _check_count("seed", seed)
    out = {}
    for i, k in enumerate(markets):
        s = market_rows(series, k)
        y = s["opt_ins"].to_numpy(dtype=float)
        e = s["effort"].to_numpy(dtype=float)
        model = adoption.BassDiffusion(method="nls").fit(y)
        boot = gboot = gbm = None
        note = ""
        if draws >= 2:
            boot = _quiet(model.bootstrap, draws, np.random.SeedSequence([seed, i, 0]),
                          level=INTERVAL_LEVEL)
        if np.isnan(e).all():  # observed data without an effort series
            note = "no effort series was given, so the Generalized Bass model is not fitted"
        else:
            try:
                gbm = _quiet(adoption.GeneralizedBass(baseline=0.0).fit, y, e)
                if draws >= 2:
                    gboot = _quiet(gbm.bootstrap, draws, np.random.SeedSequence([seed, i, 1]),
                                   level=INTERVAL_LEVEL)
            except (adoption.ConvergenceError, ValueError) as exc:
                note = f"the Generalized Bass model could not be fitted: {exc}"
        out[k] = MarketFit(k, y, e, model, boot, gbm, gboot, note)
    return out


def estimates_by_market(fits: Mapping[str, MarketFit], truth: pd.DataFrame | None,
                        period_unit: str, launch: pd.Timestamp) -> pd.DataFrame:
    """p, q (intervals of coverage :data:`INTERVAL_LEVEL`), q/p, annualised p, q and time
    to peak, per market and estimator: ``Bass (NLS)``, ``Generalized Bass`` and
    ``simulation truth``. SIMULATED.

    ``truth`` is :func:`analysis.simulation.merchants.true_parameters` output. Intervals
    are bootstrap percentiles when a bootstrap was run (``interval`` = ``bootstrap``),
    Wald otherwise. ``p_year``/``q_year`` rescale per-period values to a year
    (continuous-time Bass coefficients scale with the time unit), comparable with
    annual meta-analyses such as Sultan, Farley & Lehmann (1990). ``peak_period`` is the
    time of the adoption-rate peak in periods since launch (for the GBM and the truth:
    on the calendar, ads included); its interval comes from the Bass bootstrap.

    On observed data (``truth`` None) there is no truth row, the rows also carry the
    interval of m (``m_lower``, ``m_upper``) and the frame is marked observed
    (``simulated`` False).
    """
    L = period_days(period_unit)
    per_year = DAYS_PER_YEAR / L
    nan = float("nan")
    rows = []

    def row(k, estimator, m, p, q, iv, peak, pk, kind):
        return {"market": k, "estimator": estimator, "m": m, "p": p, "p_lower": iv[0],
                "p_upper": iv[1], "q": q, "q_lower": iv[2], "q_upper": iv[3],
                "q_over_p": q / p, "p_year": p * per_year, "q_year": q * per_year,
                "peak_period": peak, "peak_lower": pk[0], "peak_upper": pk[1],
                "peak_date": (launch + pd.Timedelta(days=peak * L)).floor("D")
                if math.isfinite(peak) else pd.NaT, "interval": kind}

    def intervals(model, boot):
        summ = model.summary(level=INTERVAL_LEVEL) if boot is None else boot.intervals
        return ([summ.loc[n, b] for n in ("p", "q") for b in ("lower", "upper")],
                "Wald" if boot is None else "bootstrap")

    def m_interval(model, boot):
        summ = model.summary(level=INTERVAL_LEVEL) if boot is None else boot.intervals
        return {"m_lower": summ.loc["m", "lower"], "m_upper": summ.loc["m", "upper"]}

    for k, fit in fits.items():
        mdl = fit.model
        iv, kind = intervals(mdl, fit.bootstrap)
        pk = (nan, nan)
        if fit.bootstrap is not None:
            P = fit.bootstrap.params
            peaks = adoption.bass_peak_time(P["p"].to_numpy(), P["q"].to_numpy())
            pk = tuple(float(v) for v in np.quantile(peaks, _QUANTILES))
        rows.append(row(k, "Bass (NLS)", mdl.params_["m"], mdl.params_["p"], mdl.params_["q"],
                        iv, mdl.peak_time_, pk, kind))
        if truth is None:
            rows[-1].update(m_interval(mdl, fit.bootstrap))
        if fit.gbm is not None:
            g = fit.gbm
            iv, kind = intervals(g, fit.gbm_bootstrap)
            rows.append(row(k, "Generalized Bass", g.params_["m"], g.params_["p"],
                            g.params_["q"], iv, g.peak_time_, (nan, nan), kind))
            if truth is None:
                summ = (g.summary(level=INTERVAL_LEVEL) if fit.gbm_bootstrap is None
                        else fit.gbm_bootstrap.intervals)
                rows[-1].update(m_interval(g, fit.gbm_bootstrap),
                                beta=summ.loc["beta", "estimate"],
                                beta_lower=summ.loc["beta", "lower"],
                                beta_upper=summ.loc["beta", "upper"])
        if truth is None:
            continue
        tr = truth[truth["market"] == k].iloc[0]
        rows.append(row(k, "simulation truth", float(tr["m"]), tr["p"], tr["q"],
                        [nan] * 4, tr["peak_period"], (nan, nan), "assumed"))
    if truth is None:
        return mark_observed(pd.DataFrame(rows))
    return mark_simulated(pd.DataFrame(rows))


def forecast_origins(n_periods: int, holdout: int) -> list[int]:
    """Training lengths of the rolling-origin comparison.

    From a quarter of the series (at least 6 periods) to ``n_periods - holdout``, in
    steps of ``holdout`` (non-overlapping holdout windows), always ending with the last
    possible origin; a single origin when the holdout leaves less. Raises ``ValueError``
    when fewer than 5 training periods remain (the Generalized Bass model needs 5).
    """
    holdout = _check_count("holdout", holdout)
    if holdout < 1:
        raise ValueError("holdout must be at least 1 period")
    last = n_periods - holdout
    if last < 5:
        raise ValueError(f"holdout={holdout} leaves no forecast origin: a series of "
                         f"{n_periods} periods keeps {last} training periods, and the "
                         "models need at least 5")
    first = min(max(6, math.ceil(n_periods / 4)), last)
    origins = list(range(first, last + 1, holdout))
    return origins if origins[-1] == last else [*origins, last]


def compare_by_market(series: pd.DataFrame, markets: Sequence[str], holdout: int
                      ) -> pd.DataFrame:
    """Rolling-origin model comparison per market (SIMULATED data).

    At each origin of :func:`forecast_origins`, :func:`analysis.models.adoption.compare_models`
    fits every model on the periods up to the origin and scores its forecast of the next
    ``holdout`` periods of opt-ins (the Generalized Bass model gets the world's ad
    index, holdout periods included: a conditional forecast). Long format: one row per
    market, origin and model, with ``origin`` (training periods), ``holdout_rmse``,
    ``holdout_mape``, ``aic`` and ``note`` (why a model could not be fitted).

    ``compare_models``' wall-clock ``fit_seconds`` is dropped: the table is recorded in
    the notebook's results, which must be the same on every run.
    """
    frames = []
    for k in markets:
        s = market_rows(series, k)
        y = s["opt_ins"].to_numpy(dtype=float)
        e = s["effort"].to_numpy(dtype=float)
        no_effort = bool(np.isnan(e).all())  # observed data without an effort series
        for origin in forecast_origins(y.size, holdout):
            end = origin + holdout
            try:
                c = _quiet(adoption.compare_models, y[:end], holdout=holdout,
                           effort=None if no_effort else e[:end])
            except ValueError as exc:  # e.g. no adoptions yet in the training window
                c = pd.DataFrame({"note": str(exc)}, index=pd.Index(list(MODEL_NAMES),
                                                                     name="model"))
            frames.append(c.drop(columns="fit_seconds", errors="ignore").reset_index()
                          .assign(market=k, origin=origin))
    out = pd.concat(frames, ignore_index=True)
    return _mark_like(series, out[["market", "origin", "model",
                                   *[c for c in out.columns
                                     if c not in ("market", "origin", "model")]]])


def compare_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per market and model: holdout RMSE pooled over origins (root of the mean squared
    error), origins scored, origins where the model could not be fitted, and whether it
    is the best (lowest RMSE) in its market. SIMULATED."""
    c = comparison.copy()
    c["sq"] = c["holdout_rmse"] ** 2
    g = c.groupby(["market", "model"], sort=False)
    out = pd.DataFrame({"holdout_rmse": np.sqrt(g["sq"].mean()),
                        "origins": g["origin"].nunique(),
                        "failed": g["holdout_rmse"].apply(lambda v: int(v.isna().sum()))}
                       ).reset_index()
    out["best"] = out["holdout_rmse"] == out.groupby("market")["holdout_rmse"].transform("min")
    return _mark_like(comparison, out)


@dataclass
class ScenarioResult:
    """The ad scenario: GBM projections under both ad paths, and the simulated truth.

    ``paths`` (long, per market and period; ``all`` = sum of the markets when several):
    ``effort_<path>``, ``observed`` (cumulative opt-ins of the simulated world),
    ``gbm_<path>`` (the market's GBM, fitted to all periods, projected under each ad
    path) and ``true_<alternative>`` (the simulation's exact counterfactual).
    ``summary``: per market, the effect of switching to the alternative path at the
    checkpoint (about a quarter after launch) and at the horizon -- simulated
    (``true_effect``) and estimated (``estimated_effect`` with a bootstrap interval of
    coverage :data:`INTERVAL_LEVEL`, NaN without a bootstrap) -- and the fitted ``beta``
    with its interval.
    """

    observed_path: str
    alternative: str
    paths: pd.DataFrame
    summary: pd.DataFrame
    notes: dict[str, str]


def _gbm_cum(theta: np.ndarray, effort: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cumulative GBM adoptions at periods ``t`` for parameters (m, p, q, beta);
    NaN when the effort path makes ``x(t) <= 0``."""
    m, p, q, beta = theta
    x = 1.0 + beta * effort
    if np.any(x <= 0):
        return np.full(t.shape, np.nan)
    X = np.concatenate([[0.0], np.cumsum(x)])
    return m * adoption.bass_cdf(p, q, X[t.astype(int)])


def ad_scenario(sim: MerchantSimulation, fits: Mapping[str, MarketFit],
                period_unit: str) -> ScenarioResult:
    """What switching the ad path does, estimated by the GBMs and known from the simulation.

    Each market's Generalized Bass model (Bass, Krishnan & Jain 1994; effort = ad index,
    baseline 0; from :func:`fit_markets`) is projected over all periods under both ad
    paths; with several markets ``all`` sums them (bootstrap replicates are paired
    across markets, whose bootstraps are independent). The simulation's counterfactual
    (the same merchants under the other ad path) is the truth to judge them against.
    """
    if not fits:
        raise ValueError("fits must hold at least one market")
    obs, alt = sim.effort_scenario, sim.alternative
    alt_series = adoption_series(sim, period_unit, alt)
    L = period_days(period_unit)
    frames, notes, draws = [], {}, {}
    for k, fit in fits.items():
        a_s = select_market(alt_series, k)
        e_obs, e_alt = fit.effort, a_s["effort"].to_numpy(dtype=float)
        T = fit.adoptions.size
        t = np.arange(1, T + 1)
        f = pd.DataFrame({"market": k, "period": t, "period_start": a_s["period_start"].to_numpy(),
                          f"effort_{obs}": e_obs, f"effort_{alt}": e_alt,
                          "observed": np.cumsum(fit.adoptions),
                          f"true_{alt}": a_s["cum_opt_ins"].to_numpy(dtype=float)})
        f[f"gbm_{obs}"] = f[f"gbm_{alt}"] = np.nan
        notes[k] = fit.gbm_note
        if fit.gbm is not None:
            th = fit.gbm.result_.estimates
            f[f"gbm_{obs}"] = _gbm_cum(th, e_obs, t)
            f[f"gbm_{alt}"] = _gbm_cum(th, e_alt, t)
            if f[f"gbm_{alt}"].isna().any():
                notes[k] = "the fitted beta makes x(t) <= 0 on the other ad path"
            if fit.gbm_bootstrap is not None:
                P = fit.gbm_bootstrap.params[["m", "p", "q", "beta"]].to_numpy()
                draws[k] = np.array([_gbm_cum(th_b, e_alt, t) - _gbm_cum(th_b, e_obs, t)
                                     for th_b in P])
        frames.append(f)
    paths = pd.concat(frames, ignore_index=True)
    markets = list(fits)
    if len(markets) > 1:
        cols = ["observed", f"true_{alt}", f"gbm_{obs}", f"gbm_{alt}"]
        total = paths.groupby("period", sort=True).agg(
            {"period_start": "first", f"effort_{obs}": "first", f"effort_{alt}": "first",
             **{c: (lambda v: v.sum(min_count=len(markets))) for c in cols}})
        paths = pd.concat([paths, total.reset_index().assign(market="all")], ignore_index=True)
        if len(draws) == len(markets):
            n = min(d.shape[0] for d in draws.values())
            draws["all"] = sum(d[:n] for d in draws.values())
    T = int(paths["period"].max())
    checkpoint = min(T, max(1, round(DAYS_PER_YEAR / 4 / L)))
    rows = []
    nan = float("nan")
    for k in paths["market"].unique():
        g = paths[paths["market"] == k].set_index("period")
        fit = fits.get(k)
        beta = pd.Series({"estimate": nan, "lower": nan, "upper": nan})
        if fit is not None and fit.gbm is not None:
            beta = (fit.gbm.summary(level=INTERVAL_LEVEL) if fit.gbm_bootstrap is None
                    else fit.gbm_bootstrap.intervals).loc["beta"]
        for label, i in (("checkpoint", checkpoint), ("horizon", T)):
            r = g.loc[i]
            lo = hi = nan
            if k in draws:
                d = draws[k][:, i - 1]
                d = d[np.isfinite(d)]
                if d.size >= 2:
                    lo, hi = (float(v) for v in np.quantile(d, _QUANTILES))
            rows.append({
                "market": k, "at": label, "period": i,
                "period_end": (sim.launch + pd.Timedelta(days=i * L)).floor("D"),
                "observed": r["observed"], f"true_{alt}": r[f"true_{alt}"],
                "true_effect": r[f"true_{alt}"] - r["observed"],
                f"gbm_{obs}": r[f"gbm_{obs}"], f"gbm_{alt}": r[f"gbm_{alt}"],
                "estimated_effect": r[f"gbm_{alt}"] - r[f"gbm_{obs}"],
                "effect_lower": lo, "effect_upper": hi,
                "beta": beta["estimate"], "beta_lower": beta["lower"],
                "beta_upper": beta["upper"],
                "true_beta": sim.calibration.assumptions.ad_beta if k != "all" else nan})
    return ScenarioResult(obs, alt, mark_simulated(paths), mark_simulated(pd.DataFrame(rows)),
                          notes)


# ---------------------------------------------------------------------------------------
# Report tables (strings)
# ---------------------------------------------------------------------------------------


def _fmt(v: float, digits: int = 3) -> str:
    return "" if not math.isfinite(v) else f"{v:.{digits}f}"


def _signed(v: float) -> str:
    return f"{round(v):+,d}" if math.isfinite(v) else ""


def _day_month_year(day: pd.Timestamp) -> str:
    """2025-05-31 -> '31 May 2025' (the day without a leading zero)."""
    return f"{day.day} {day:%B %Y}"


def display_calibration(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`calibration_table` as the report shows it: each published figure as the
    source prints it and the interval its qualifier stands for
    (:func:`analysis.data.sources.value_interval`); the model's values to 3 significant
    figures."""
    out = table[["target", "id", "published", "qualifier", "calibrated", "simulated_run",
                 "parameter", "fitted_value"]].copy()
    out.insert(3, "interval", [
        interval_text(*value_interval(v, q, u), fmt=lambda x: f"{x:g}")
        for v, q, u in zip(table["published"], table["qualifier"], table["unit"], strict=True)])
    out["published"] = [f"{v:g}" for v in table["published"]]
    for c in ("calibrated", "simulated_run", "fitted_value"):
        out[c] = [f"{v:.3g}" for v in table[c]]
    return out.rename(columns={"simulated_run": "simulated run", "fitted_value": "fitted"})


def display_funnel(funnel: pd.DataFrame) -> pd.DataFrame:
    """:func:`analysis.simulation.merchants.funnel_table` as the report shows it."""
    return funnel.drop(columns="simulated").rename(columns={
        "eventual_opt_ins": "eventual opt-ins", "opted_in": "opted in",
        "first_orders": "first orders", "opt_in_percent": "opt-in %",
        "success_percent": "success %", "first_order_percent": "first order % (horizon)"})


def display_growth(growth: pd.DataFrame) -> pd.DataFrame:
    """:func:`growth_comparison` as the report shows it (the period as one string)."""
    shown = growth.assign(
        period=growth["period_start"].dt.strftime("%d %b") + " - "
        + growth["period_end"].dt.strftime("%d %b %Y"))
    return shown[["series", "id", "period", "months", "multiple", "monthly_growth_percent",
                  "doubling_months"]].rename(columns={
        "monthly_growth_percent": "%/month", "doubling_months": "doubles in"})


def format_estimates(est: pd.DataFrame) -> pd.DataFrame:
    """:func:`estimates_by_market` as strings for a report table (p, q with intervals)."""
    def ci(r, name):
        lo, hi = r[f"{name}_lower"], r[f"{name}_upper"]
        core = _fmt(r[name])
        return core if not math.isfinite(lo) else f"{core} ({_fmt(lo)} to {_fmt(hi)})"

    out = pd.DataFrame({
        "market": est["market"], "estimator": est["estimator"],
        f"p ({INTERVAL_LEVEL:.0%} interval)": [ci(r, "p") for _, r in est.iterrows()],
        f"q ({INTERVAL_LEVEL:.0%} interval)": [ci(r, "q") for _, r in est.iterrows()],
        "q/p": [_fmt(v, 1) for v in est["q_over_p"]],
        "peak": [d.strftime("%d %b %Y") if pd.notna(d) else "" for d in est["peak_date"]],
        "m": [f"{v:,.0f}" for v in est["m"]],
    })
    if "m_lower" in est:  # observed data: m and beta with their intervals
        out["m"] = [f"{r['m']:,.0f}" + (f" ({r['m_lower']:,.0f} to {r['m_upper']:,.0f})"
                                        if math.isfinite(r["m_lower"]) else "")
                    for _, r in est.iterrows()]
        if "beta" in est:
            out["beta"] = [("" if not math.isfinite(r["beta"]) else
                            f"{r['beta']:.2f} ({r['beta_lower']:.2f} to {r['beta_upper']:.2f})")
                           for _, r in est.fillna({"beta": np.nan}).iterrows()]
    return out


def compare_pivot(summary: pd.DataFrame) -> pd.DataFrame:
    """Models (rows) by market (columns) of the pooled holdout RMSE, as strings: the
    best per market in bold, "(k failed)" when a model could not be fitted at k
    origins, "not fitted" when it never could."""
    present = list(dict.fromkeys(summary["market"]))
    markets = ([m for m in MARKETS if m in present]
               + [m for m in present if m not in (*MARKETS, "all")]
               + (["all"] if "all" in present else []))
    out = pd.DataFrame(index=pd.Index([MODEL_NAMES[m] for m in MODEL_NAMES
                                       if m in set(summary["model"])], name="model"))
    for k in markets:
        s = summary[summary["market"] == k].set_index("model")
        col = []
        for m in MODEL_NAMES:
            if m not in s.index:
                continue
            r = s.loc[m]
            if not np.isfinite(r["holdout_rmse"]):
                col.append("not fitted")
                continue
            v = f"**{r['holdout_rmse']:,.2f}**" if r["best"] else f"{r['holdout_rmse']:,.2f}"
            col.append(v + (f" ({r['failed']} failed)" if r["failed"] else ""))
        out[k] = col
    return out


def format_scenario(summary: pd.DataFrame, period_unit: str = "week") -> pd.DataFrame:
    """:attr:`ScenarioResult.summary` as a report table: one column per market, rows for
    the effect a quarter after launch (simulated, GBM, GBM interval) and at the horizon
    (simulated, GBM), and the fitted beta with its interval against the true one."""
    lvl = f"{INTERVAL_LEVEL:.0%}"
    cols = {}
    labels: list[str] = []
    for k, g in summary.groupby("market", sort=False):
        g = g.set_index("at")
        c, h = g.loc["checkpoint"], g.loc["horizon"]
        when_c = f"by {period_unit} {c['period']} ({c['period_end'].day} {c['period_end']:%b %Y})"
        when_h = f"by {period_unit} {h['period']} ({h['period_end'].day} {h['period_end']:%b %Y})"
        col = {
            f"effect {when_c}, simulated": _signed(c["true_effect"]),
            f"effect {when_c}, GBM": _signed(c["estimated_effect"]),
            f"effect {when_c}, GBM {lvl} interval":
                (f"{_signed(c['effect_lower'])} to {_signed(c['effect_upper'])}"
                 if math.isfinite(c["effect_lower"]) else ""),
            f"effect {when_h}, simulated": _signed(h["true_effect"]),
            f"effect {when_h}, GBM": _signed(h["estimated_effect"]),
            "beta, GBM": _fmt(c["beta"], 2),
            f"beta, GBM {lvl} interval": (f"{c['beta_lower']:.2f} to {c['beta_upper']:.2f}"
                                          if math.isfinite(c["beta_lower"]) else ""),
            "beta, simulation truth": _fmt(c["true_beta"], 2),
        }
        labels = list(col)
        cols[k] = list(col.values())
    return pd.DataFrame(cols, index=pd.Index(labels, name=""))


# ---------------------------------------------------------------------------------------
# Findings behind the sentences: each returns the numbers a sentence states and the
# phrase choices that depend on them; the notebook keeps the sentence template.
# ---------------------------------------------------------------------------------------


def join_words(items: Sequence[str]) -> str:
    """["US", "HK", "MO"] -> "US, HK and MO" (for sentences)."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def more_or_fewer(value: float, noun: str = "opt-ins") -> str:
    """+469 -> "469 more opt-ins"; -23 -> "23 fewer opt-ins" (rounded)."""
    n = round(value)
    return f"{abs(n):,} {'more' if n >= 0 else 'fewer'} {noun}"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


@dataclass(frozen=True)
class CalibrationFacts:
    """What the calibration sentence states: the fitted parameters, the published
    targets (``growth``, ``opt_in``, ``success``) and the values realised in the run."""

    months: int
    monthly_growth_percent: float
    opt_in_threshold: float
    success_intercept: float
    growth: PublishedTarget
    opt_in: PublishedTarget
    success: PublishedTarget
    run_growth: float
    run_opt_in_percent: float
    run_success_percent: float


def calibration_facts(calibration: Calibration, table: pd.DataFrame) -> CalibrationFacts:
    """The calibration sentence's numbers; ``table`` is :func:`calibration_table` output."""
    t = calibration.targets
    growth, opt_in, success = t["merchant_growth"], t["opt_in_share"], t["success_share"]
    run = table.set_index("id")["simulated_run"]
    return CalibrationFacts(
        months=calibration.months_2024,
        monthly_growth_percent=100 * calibration.monthly_growth,
        opt_in_threshold=calibration.opt_in_threshold,
        success_intercept=calibration.success_intercept,
        growth=growth, opt_in=opt_in, success=success,
        run_growth=run[growth.id], run_opt_in_percent=run[opt_in.id],
        run_success_percent=run[success.id])


@dataclass(frozen=True)
class GrowthFacts:
    """RedNote's all-merchant multiple (``multiple``, ``monthly_growth_percent``,
    ``doubling_months``) against TikTok Shop US's range (``tts_*``, low and high bound);
    ``position``: "inside", "above" or "below" that range; ``large_sellers``: the
    large-seller segments with their monthly rates, as a phrase; ``monthly_growth``:
    every published multiple's implied monthly growth, id -> (percent, series label)."""

    monthly_growth: dict[str, tuple[float, str]]
    multiple: float
    monthly_growth_percent: float
    doubling_months: float
    position: str
    tts_low_percent: float
    tts_high_percent: float
    tts_low_multiple: float
    tts_high_multiple: float
    tts_months: float
    tts_start: pd.Timestamp
    tts_end: pd.Timestamp
    large_sellers: str


def growth_facts(growth: pd.DataFrame, calibration: Calibration) -> GrowthFacts:
    """The growth sentence's numbers; ``growth`` is :func:`growth_comparison` output and
    the all-merchant row is the one the simulation is calibrated to."""
    growth_id = calibration.targets["merchant_growth"].id
    red = growth[growth["entity"] == "RedNote"]
    red_all = red[red["id"] == growth_id].iloc[0]
    red_big = red[red["id"] != growth_id].sort_values("monthly_growth_percent")
    tts = growth[growth["entity"] == "TikTok Shop"].sort_values("multiple")
    lo, hi = tts["monthly_growth_percent"].iloc[0], tts["monthly_growth_percent"].iloc[-1]
    rate = red_all["monthly_growth_percent"]
    position = "inside" if lo <= rate <= hi else "above" if rate > hi else "below"
    return GrowthFacts(
        monthly_growth={r.id: (r.monthly_growth_percent, r.series) for r in growth.itertuples()},
        multiple=red_all["multiple"], monthly_growth_percent=rate,
        doubling_months=red_all["doubling_months"], position=position,
        tts_low_percent=lo, tts_high_percent=hi,
        tts_low_multiple=tts["multiple"].iloc[0], tts_high_multiple=tts["multiple"].iloc[-1],
        tts_months=tts["months"].iloc[0], tts_start=tts["period_start"].iloc[0],
        tts_end=tts["period_end"].iloc[0],
        large_sellers=join_words([f"{r.segment} by {r.monthly_growth_percent:.1f} %"
                                  for r in red_big.itertuples()]))


@dataclass(frozen=True)
class ReadingsFacts:
    """What the readings sentence states: ``numbers`` to record (name -> (value,
    description)); ``default`` (the reading the table above uses), ``readings`` (one
    clause per TikTok reading: its range from the first and the last day of April and
    where RedNote falls), ``verdict`` (whether the comparison's conclusion holds under
    every reading) and ``ids``."""

    numbers: dict[str, tuple[float, str]]
    default: str
    readings: str
    verdict: str
    ids: str


def _crossing_day(multiple: float, rate_percent: float, end: pd.Timestamp) -> pd.Timestamp:
    """The start day from which growing ``multiple``-fold by ``end`` implies exactly
    ``rate_percent`` a month (a later start implies more)."""
    months = math.log(multiple) / math.log1p(rate_percent / 100)
    return (end + pd.Timedelta(days=1) - pd.Timedelta(days=months * DAYS_PER_MONTH)).floor("D")


def readings_facts(readings: pd.DataFrame) -> ReadingsFacts:
    """The readings sentence's numbers; ``readings`` is :func:`growth_readings` output."""
    numbers = {}
    clauses = []
    holds = True
    default = readings.iloc[0]
    for reading, g in readings.groupby("tiktok_reading", sort=False):
        first, last = g.iloc[0], g.iloc[-1]
        phrase = _reading_phrase(reading, first["multiple_low"], first["multiple_high"])
        parts = []
        for red in ("to", "by"):
            pos_first, pos_last = first[f"rednote_{red}_position"], last[f"rednote_{red}_position"]
            rate = first[f"rednote_{red}_percent"]
            if pos_first != default["rednote_to_position"] or pos_last != pos_first:
                holds = False
            if pos_first == pos_last:
                where = f"{pos_first} it whatever the day in April"
            else:
                bound = ("multiple_low" if "below" in (pos_first, pos_last) else "multiple_high")
                day = _crossing_day(first[bound], rate, first["end"])
                later = pos_last
                where = (f"{pos_first} it for a start on 1 April but {later} it for a start "
                         f"after {day.day} {day:%B}")
            parts.append(f"RedNote's {rate:.1f} % ({READINGS[red]} "
                         f"{_red_multiple(readings, red) - (red == 'by'):g}x) falls {where}")
        for row in g.itertuples():
            key = f"tiktok_{reading}_{row.start:%d%b}".lower()
            numbers[f"{key}_low_percent"] = (row.tiktok_low_percent,
                                             f"TikTok Shop US monthly growth, low, {phrase}, "
                                             f"from {row.start.day} {row.start:%B}")
            numbers[f"{key}_high_percent"] = (row.tiktok_high_percent,
                                              f"TikTok Shop US monthly growth, high, {phrase}, "
                                              f"from {row.start.day} {row.start:%B}")
        clauses.append(
            f"read as {phrase}, TikTok Shop's range is "
            f"{first['tiktok_low_percent']:.1f}-{first['tiktok_high_percent']:.1f} % a month "
            f"from 1 April and {last['tiktok_low_percent']:.1f}-"
            f"{last['tiktok_high_percent']:.1f} % from {last['start'].day} April, and "
            + ", and ".join(parts))
    numbers["rednote_by_percent"] = (float(default["rednote_by_percent"]),
                                     "RedNote monthly merchant growth, 8.1x read as grew by")
    return ReadingsFacts(
        numbers=numbers,
        default=(f"growth to {default['multiple_low']:g}-{default['multiple_high']:g}x from "
                 f"{default['start'].day} {default['start']:%B}"),
        readings="; ".join(clauses),
        verdict=("The conclusion holds under every reading." if holds else
                 "So whether RedNote's merchant base grew as fast as TikTok Shop's depends "
                 "on how the TikTok figure is read: within its range under the reading the "
                 "table uses, below it under others."),
        ids=default["ids"])


def _red_multiple(readings: pd.DataFrame, reading: str) -> float:
    """RedNote's multiple under a reading (the 'to' multiple, plus 1 for 'by')."""
    base = readings.attrs.get("rednote_multiple", float("nan"))
    return base + (1.0 if reading == "by" else 0.0)


def _by_estimator(estimates: pd.DataFrame, estimator: str) -> pd.DataFrame:
    return estimates[estimates["estimator"] == estimator].set_index("market")


@dataclass(frozen=True)
class PqFacts:
    """What the p/q sentence states.

    Per market (dicts keyed by market): the Bass ``p``, ``q`` and ``q_over_p``. Phrases:
    ``ratios`` ("8.3 in US, ..."), ``versus_meta`` (above/below the meta-analysis
    ratio, by market), ``speed`` (annualised p + q over the meta-analysis mean, a number
    or a range), ``market_word`` ("market"/"markets") and ``overstated_p`` (the closing
    clause: where the plain Bass fit overstates p, or just the full stop). Counts:
    ``n_markets``, ``n_imitation`` (q > p), ``n_inside_bass`` / ``n_inside_gbm`` (true
    p and q both inside the intervals).
    """

    p: dict[str, float]
    q: dict[str, float]
    q_over_p: dict[str, float]
    sfl_p: float
    sfl_q: float
    sfl_ratio: float
    ratios: str
    versus_meta: str
    n_markets: int
    market_word: str
    n_imitation: int
    speed: str
    n_inside_bass: int
    n_inside_gbm: int
    overstated_p: str


def pq_facts(estimates: pd.DataFrame, markets: Sequence[str]) -> PqFacts:
    """The p/q sentence's numbers; ``estimates`` is :func:`estimates_by_market` output.

    Reads the Bass fits against the mean coefficients of Sultan, Farley & Lehmann (1990)
    and the fitted intervals against the simulation's assumed p and q.
    """
    bass = _by_estimator(estimates, "Bass (NLS)")
    gbm = _by_estimator(estimates, "Generalized Bass")
    truth = _by_estimator(estimates, "simulation truth")
    sfl_ratio = SFL_MEAN_Q / SFL_MEAN_P
    above = [k for k in markets if bass.loc[k, "q_over_p"] > sfl_ratio]
    below = [k for k in markets if k not in above]
    imitation = [k for k in markets if bass.loc[k, "q"] > bass.loc[k, "p"]]
    speed = (bass["p_year"] + bass["q_year"]) / (SFL_MEAN_P + SFL_MEAN_Q)
    speed_text = (f"{speed.min():.0f}" if round(speed.min()) == round(speed.max())
                  else f"{speed.min():.0f}-{speed.max():.0f}")

    def covering(table: pd.DataFrame) -> list[str]:
        return [k for k in markets if k in table.index
                and table.loc[k, "p_lower"] <= truth.loc[k, "p"] <= table.loc[k, "p_upper"]
                and table.loc[k, "q_lower"] <= truth.loc[k, "q"] <= table.loc[k, "q_upper"]]

    inside_bass, inside_gbm = covering(bass), covering(gbm)
    over_p = [k for k in markets
              if k not in inside_bass and bass.loc[k, "p"] > truth.loc[k, "p"]]
    versus = "; ".join(part for part in (
        f"above it in {join_words(above)}" if above else "",
        f"below it in {join_words(below)}" if below else "") if part)
    return PqFacts(
        p={k: bass.loc[k, "p"] for k in markets}, q={k: bass.loc[k, "q"] for k in markets},
        q_over_p={k: bass.loc[k, "q_over_p"] for k in markets},
        sfl_p=SFL_MEAN_P, sfl_q=SFL_MEAN_Q, sfl_ratio=sfl_ratio,
        ratios=", ".join(f"{bass.loc[k, 'q_over_p']:.1f} in {k}" for k in markets),
        versus_meta=versus, n_markets=len(markets),
        market_word=_plural(len(markets), "market"), n_imitation=len(imitation),
        speed=speed_text, n_inside_bass=len(inside_bass), n_inside_gbm=len(inside_gbm),
        overstated_p=(f"; in {join_words(over_p)} the plain Bass fit overstates p, counting "
                      "the adoptions the ads brought forward as innovation." if over_p
                      else "."))


@dataclass(frozen=True)
class PeakFacts:
    """What the peak sentence states: per market the Bass and true peak times
    (``bass_peak``, ``true_peak``, in periods since launch); ``opening`` (the sentence
    start, which names the first market to peak when there are several), ``peaks`` (each
    market's peak with its interval, earliest first), ``launch``, ``done_percent`` (share
    of the eventual adopters opted in by the horizon) and ``where``."""

    bass_peak: dict[str, float]
    true_peak: dict[str, float]
    opening: str
    peaks: str
    launch: pd.Timestamp
    done_percent: float
    where: str


def peak_facts(estimates: pd.DataFrame, funnel: pd.DataFrame, markets: Sequence[str],
               focus: str, period_unit: str, launch: pd.Timestamp) -> PeakFacts:
    """The peak sentence's numbers; ``estimates`` from :func:`estimates_by_market`,
    ``funnel`` from :func:`analysis.simulation.merchants.funnel_table`, ``focus`` the
    market the horizon share is given for (``all``: every market)."""
    bass = _by_estimator(estimates, "Bass (NLS)")
    truth = _by_estimator(estimates, "simulation truth")
    unit, level = period_unit, f"{INTERVAL_LEVEL:.0%}"
    order = bass.loc[list(markets)].sort_values("peak_period")
    parts = []
    for k, r in order.iterrows():
        band = (f", {level} interval {r['peak_lower']:.1f}-{r['peak_upper']:.1f} {unit}s"
                if np.isfinite(r["peak_lower"]) else "")
        parts.append(f"{k} after {r['peak_period']:.1f} {unit}s ({r['peak_date'].day} "
                     f"{r['peak_date']:%B}{band}; "
                     f"simulation truth {truth.loc[k, 'peak_period']:.1f})")
    done = funnel.set_index("market").loc[focus]
    opening = (f"The simulated adoption rate peaks first in {order.index[0]}. The Bass fits "
               "place the peak in " if len(markets) > 1
               else "The Bass fit places the peak of the simulated adoption rate in ")
    return PeakFacts(
        bass_peak={k: bass.loc[k, "peak_period"] for k in markets},
        true_peak={k: truth.loc[k, "peak_period"] for k in markets},
        opening=opening, peaks="; ".join(parts), launch=launch,
        done_percent=100 * done["opted_in"] / done["eventual_opt_ins"],
        where="across the markets" if focus == "all" else "in " + focus)


@dataclass(frozen=True)
class ScenarioFacts:
    """What the ad-scenario sentence states.

    ``numbers``: the finite effects to record, name -> (value, description) (a missing
    GBM or bootstrap leaves some out). Phrases: ``world`` (the world's ad path),
    ``counterfactual`` (the other path, capitalised), ``where``, ``true_effect`` and
    ``horizon_effect`` ("469 more opt-ins"), ``estimate`` (the GBM's estimate, or why
    there is none), ``interval``, ``verdict`` (whether the interval contains the
    simulated effect), ``campaign`` (why beta is loosely identified) and ``reading``.
    Numbers: ``share`` (the simulated effect as a percentage of the opt-ins), ``period``
    and ``checkpoint_day`` (the end of the checkpoint period).
    """

    numbers: dict[str, tuple[float, str]]
    world: str
    counterfactual: str
    where: str
    true_effect: str
    share: float
    period: int
    checkpoint_day: str
    horizon_effect: str
    estimate: str
    interval: str
    verdict: str
    campaign: str
    reading: str


def scenario_facts(scenario: ScenarioResult, focus: str) -> ScenarioFacts:
    """The ad-scenario sentence's numbers for market ``focus`` (``all``: the markets
    summed), at the checkpoint about a quarter after launch and at the horizon."""
    summary, alt, obs = scenario.summary, scenario.alternative, scenario.observed_path
    row = summary[(summary["market"] == focus) & (summary["at"] == "checkpoint")].iloc[0]
    end = summary[(summary["market"] == focus) & (summary["at"] == "horizon")].iloc[0]
    context = f"({focus}, {alt} instead of {obs}; SIMULATED)"
    candidates = [
        ("scenario_true_effect", row["true_effect"], "simulated effect at the checkpoint"),
        ("scenario_estimated_effect", row["estimated_effect"], "GBM effect at the checkpoint"),
        ("scenario_effect_lower", row["effect_lower"], "lower bound of the GBM effect"),
        ("scenario_effect_upper", row["effect_upper"], "upper bound of the GBM effect"),
        ("scenario_true_effect_horizon", end["true_effect"], "simulated effect at the horizon")]
    has_estimate = bool(np.isfinite(row["estimated_effect"]))
    has_interval = bool(np.isfinite(row["effect_lower"]))
    covers = has_interval and row["effect_lower"] <= row["true_effect"] <= row["effect_upper"]
    return ScenarioFacts(
        numbers={name: (value, f"{desc} {context}") for name, value, desc in candidates
                 if np.isfinite(value)},
        world=SCENARIO_PHRASES[obs][0],
        counterfactual=SCENARIO_PHRASES[alt][1].capitalize(),
        where="across the three markets" if focus == "all" else f"in {focus}",
        true_effect=more_or_fewer(row["true_effect"]),
        share=100 * row["true_effect"] / row["observed"],
        period=row["period"],
        checkpoint_day=_day_month_year(row["period_end"]),
        horizon_effect=more_or_fewer(end["true_effect"]),
        estimate=(f"The Generalized Bass model fitted to the simulated world estimates "
                  f"{more_or_fewer(row['estimated_effect'])}" if has_estimate
                  else "The Generalized Bass model could not be fitted or projected, so it "
                  "offers no estimate"),
        interval=(f" ({INTERVAL_LEVEL:.0%} bootstrap interval {round(row['effect_lower']):+,d} "
                  f"to {round(row['effect_upper']):+,d})" if has_interval else ""),
        verdict=(", an interval that contains the simulated effect" if covers
                 else ", an interval that misses the simulated effect" if has_interval
                 else ""),
        campaign=(". The campaign lasts a few weeks, " if obs == "stop_ads"
                  else ". Placements barely change once the campaign has peaked, "),
        reading=": read the interval, not the point estimate." if has_interval else ".")


@dataclass(frozen=True)
class CompareFacts:
    """What the model-comparison sentence states: ``best_rmse`` (market -> the lowest
    pooled holdout RMSE); phrases ``origins`` (the forecast origins), ``pooled``
    ("pooled " with several origins), ``winners`` (the best model per market),
    ``coincide`` (the Bass NLS / logistic identity, when the fits tie) and ``failures``
    (how many fits failed, and up to which origin)."""

    best_rmse: dict[str, float]
    origins: str
    pooled: str
    winners: str
    coincide: str
    failures: str


def compare_facts(comparison: pd.DataFrame, summary: pd.DataFrame,
                  period_unit: str) -> CompareFacts:
    """The comparison sentence's numbers; ``comparison`` from :func:`compare_by_market`,
    ``summary`` from :func:`compare_summary`."""
    unit = period_unit
    origins = sorted(int(o) for o in comparison["origin"].unique())
    best = summary[summary["best"]]
    winners = best.groupby("model", sort=False)["market"].apply(list)
    winner_text = join_words([
        f"{MODEL_NAMES[m]} in " + join_words(["all markets pooled" if k == "all" else k
                                              for k in ks]) for m, ks in winners.items()])
    failed = comparison[comparison["holdout_rmse"].isna()]
    wide = summary.pivot(index="market", columns="model", values="holdout_rmse")
    tie = bool(np.allclose(wide["bass_nls"], wide["logistic"], equal_nan=True))
    return CompareFacts(
        best_rmse={r.market: r.holdout_rmse for r in best.itertuples()},
        origins=(f"from {len(origins)} forecast origins ({unit}s {origins[0]} to "
                 f"{origins[-1]}), " if len(origins) > 1
                 else f"from the end of {unit} {origins[0]}, "),
        pooled="pooled " if len(origins) > 1 else "",
        winners=winner_text,
        coincide=(" The Bass (NLS) and logistic fits coincide, as they must (the Bass curve "
                  "is a truncated logistic)." if tie else ""),
        failures=(f" {len(failed)} fits out of {len(comparison)} failed, all at origins up to "
                  f"{unit} {int(failed['origin'].max())}, when the series does not yet "
                  "identify the model." if len(failed) else ""))


# ---------------------------------------------------------------------------------------
# Plots (draw; stamp simulated data as such; return the axes; no savefig/show)
# ---------------------------------------------------------------------------------------


def plot_growth(growth: pd.DataFrame, base: pd.DataFrame | None = None, ax=None):
    """Implied constant-growth paths of the published multiples (index = 1 at each start).

    ``growth`` is :func:`growth_comparison` output; ``base``, if given, is the simulated
    monthly merchant base (points; the axes are then stamped as showing simulated data).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.4))
    colours = {"RedNote": "#c1121f", "TikTok Shop": "#222222"}
    styles = ["-", "--", ":"]
    seen: dict[str, int] = {}
    for r in growth.itertuples():
        days = np.arange(0, (r.period_end - r.period_start).days + 2)
        dates = r.period_start + pd.to_timedelta(days, unit="D")
        path = (1 + r.monthly_growth_percent / 100) ** (days / DAYS_PER_MONTH)
        i = seen.get(r.entity, 0)
        seen[r.entity] = i + 1
        ax.plot(dates, path, styles[i % len(styles)], color=colours.get(r.entity, "#555555"),
                lw=1.6, label=f"{r.series}: {r.multiple:g}x")
    if base is not None:
        ax.plot(base["date"], base["multiple"], "o", color="#c1121f", ms=4,
                label="simulated monthly merchant base (calibrated)")
    ax.set_yscale("log")
    top = float(growth["multiple"].max())
    ax.set_ylim(0.9, top * 1.7)  # head room for the legend and the simulated stamp
    ax.yaxis.set_major_locator(FixedLocator([v for v in (1, 2, 3, 4, 6, 8, 12, 16)
                                             if v <= top * 1.7]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.set_ylabel("merchants, multiple of the period's start")
    ax.legend(fontsize=7, loc="upper left")
    ax.figure.autofmt_xdate()
    if base is not None:
        label_simulated(ax)
    return ax


def plot_market_fits(fits: Mapping[str, MarketFit], period_unit: str, axes=None, *,
                     observed: bool = False):
    """One panel per market (stacked, shared x axis): simulated opt-ins (``observed``:
    the observed adoptions, stamped as observed data), the Bass fit and its bootstrap
    band. Returns the axes."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, grid = plt.subplots(len(fits), 1, figsize=(8, 2.5 * len(fits) + 0.8),
                               sharex=True, squeeze=False)
        axes = grid[:, 0]
    axes = np.atleast_1d(axes)
    for ax, (k, fit) in zip(axes, fits.items(), strict=False):
        adoption.plot_adoption(fit.model, fit.adoptions, ax=ax,
                               interval=fit.bootstrap, label="Bass (NLS) fit")
        ax.set_title(k)
        ax.set_xlabel(f"{period_unit}s since launch")
        ax.set_ylabel(f"opt-ins per {period_unit}")
        handles, labels = ax.get_legend_handles_labels()
        data = "observed adoptions" if observed else "simulated opt-ins"
        labels = [data if lab == "observed" else lab for lab in labels]
        ax.legend(handles, labels, fontsize=7, loc="center right")
        if observed:
            ax.set_ylabel(f"adoptions per {period_unit}")
    for ax in axes:
        (label_observed if observed else label_simulated)(ax)
    for ax in axes[:-1]:
        ax.set_xlabel("")  # the shared x axis is labelled once, at the bottom
    return axes


def plot_scenario(result: ScenarioResult, market: str, period_unit: str, axes=None):
    """Two panels for ``market``: ad placements under both paths; cumulative opt-ins
    (simulated world, simulated counterfactual, GBM fit and projection). Returns the
    two axes."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(8, 5.6), sharex=True,
                               gridspec_kw={"height_ratios": [1, 2.4]})
    top, bottom = axes
    p = result.paths[result.paths["market"] == market]
    if p.empty:
        raise ValueError(f"no scenario paths for market {market!r}")
    obs, alt = result.observed_path, result.alternative
    names = SCENARIO_NAMES
    top.step(p["period"], p[f"effort_{obs}"], where="mid", color="#1f77b4", label=names[obs])
    top.step(p["period"], p[f"effort_{alt}"], where="mid", color="#ff7f0e", ls="--",
             label=names[alt])
    top.set_ylabel("ad placements\n(peak = 1)")
    top.set_ylim(-0.05, 1.5)
    top.legend(fontsize=7, loc="center right")
    bottom.plot(p["period"], p["observed"], "o", ms=3, color="black",
                label=f"simulated opt-ins ({names[obs]})")
    bottom.plot(p["period"], p[f"true_{alt}"], "o", ms=3, mfc="none", color="#ff7f0e",
                label=f"simulated counterfactual ({names[alt]})")
    if p[f"gbm_{obs}"].notna().all():
        bottom.plot(p["period"], p[f"gbm_{obs}"], color="#1f77b4", lw=2,
                    label=f"GBM fit, {names[obs]}")
        bottom.plot(p["period"], p[f"gbm_{alt}"], color="#ff7f0e", lw=2, ls="--",
                    label=f"GBM projection, {names[alt]}")
    bottom.set_ylabel("cumulative opt-ins")
    lo, hi = bottom.get_ylim()
    bottom.set_ylim(lo, hi + 0.12 * (hi - lo))
    bottom.legend(fontsize=7, loc="lower right")
    bottom.set_xlabel(f"{period_unit}s since launch "
                      f"({'all markets' if market == 'all' else market})")
    label_simulated(top)
    label_simulated(bottom)
    return axes

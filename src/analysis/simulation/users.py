r"""A simulated user-level activity panel of RedNote's January 2025 US influx.

**Everything this module writes is SIMULATED data, not observed RedNote data.** The
panel is a stand-in with the right aggregate shape, calibrated to the figures that
third-party panels published (Sensor Tower, Similarweb); it exists so that the cohort,
retention and forecasting code can be exercised on a realistic user-level log. Each
output carries ``"simulated": true`` and the label :data:`LABEL` (in ``params.json`` and
in the Parquet file's metadata).

Generative model
----------------
Calendar days :math:`t`; :math:`w(t)` is a fixed day-of-week multiplier
(:data:`WEEKLY`, largest value 1, weekend highest); :math:`\bar w` its weekly mean.
Three dates anchor the news: :math:`t_s` = 13 Jan 2025 (RedNote #1 free app in the US
App Store that evening: the surge), :math:`t_d` = 19 Jan 2025 (the TikTok ban deadline;
the reprieve came on 19-20 Jan), and :math:`t_0` = 1 Aug 2024 (start of the organic
installs, a burn-in well before any panel window).

*Installs* (expected new US users per day, at scale 1):

.. math::

    I(t) = i_0\,\mathbb 1[t \ge t_0]
         + A\,e^{-\rho (t_d - t)}\,\mathbb 1[t_s \le t \le t_d]
         + A\,\kappa\, e^{-(t - t_d - 1)/\tau}\,\mathbb 1[t > t_d]

-- an organic level :math:`i_0`, news-driven installs from the surge to the deadline
that grow by a factor :math:`e^\rho` a day up to :math:`A` on the deadline day, and
after the reprieve a drop to a fraction :math:`\kappa` of :math:`A` that fades with time
constant :math:`\tau` days. (The first calibrations had a flat week, :math:`\rho = 0`;
with the new-user and download figures among the targets a flat week cannot meet them,
see :func:`calibrate`'s ``flat_surge`` report.) The number of users installing on day
:math:`s` is :math:`N_s \sim \mathrm{Poisson}(\mathrm{scale}\cdot I(s))`.

*Churn* (shifted-beta-geometric, heterogeneous): user :math:`i` has a daily churn
probability :math:`\theta_i \sim \mathrm{Beta}(a, b)` and is still "alive" at age
:math:`k` (days since install) with probability :math:`(1-\theta_i)^k`, so over users

.. math:: S(k) = P(\text{alive at age } k) = \frac{B(a, b + k)}{B(a, b)}.

*Activity and reactivation*: each user has an activity propensity
:math:`\pi_i \sim \mathrm{Beta}(\mu\phi, (1-\mu)\phi)`, independent of :math:`\theta_i`.
A user is active on the install day, and on each later day :math:`s + k` while alive with
probability :math:`\pi_i\,w(s+k)`. Users skip days and come back (reactivation at the
user level), so classic day-N retention is not monotone; once churned a user never
returns.

*Organic baseline*: a pool of :math:`N_B \sim \mathrm{Poisson}(\mathrm{scale}\cdot
B/(\bar w \mu_B))` existing users (installed before the burn-in) with propensities
:math:`\pi_j \sim \mathrm{Beta}(\mu_B\phi_B, (1-\mu_B)\phi_B)`, active on day :math:`t`
with probability :math:`\pi_j w(t)`; they do not churn within the window.

*Expected DAU* (exact, no simulation -- what the calibration fits):

.. math::

    \mathrm E[\mathrm{DAU}(t)] = B\,\frac{w(t)}{\bar w} + I(t)
        + \mu\, w(t) \sum_{s < t} I(s)\, S(t - s).

Free parameters (fitted): :math:`B` (``baseline_dau``), :math:`A` (``surge_installs``),
:math:`\rho` (``surge_growth``), :math:`\kappa` (``reprieve_share``), :math:`\tau`
(``fade_days``), :math:`a, b` (``churn_a``, ``churn_b``), :math:`i_0`
(``organic_installs``). Fixed by assumption (documented in :class:`PanelParams`):
:math:`\mu = 0.7, \phi = 5, \mu_B = 0.5, \phi_B = 3`, the weekly multipliers and the dates.

Calibration
-----------
Every published figure is an interval or a bound (``analysis.data.sources.value_interval``:
"about 900,000" is 850,000-950,000, "about 30 %" 27.5-32.5 %, "under" an upper bound,
"more than" a lower bound). :func:`calibrate` fits the free parameters with
``scipy.optimize.least_squares`` (log parameters) to a loss that is **zero inside each
interval** and rises steeply outside it (a hinge on the log value, tightened in steps to
0.1 %); weak log-normal priors (log-sd 2) and a tie-break toward the middle of two-sided
intervals choose among the parameter values that satisfy every figure. The anchors of
:func:`anchors_from_published`:

=======================  ====================================================  ==============
provider                 anchor                                                interval
=======================  ====================================================  ==============
Sensor Tower             US DAU peaks on 19 Jan 2025                           exact day
Sensor Tower             18 Feb DAU about 0.9 M                                0.85-0.95 M
Sensor Tower             18 Feb DAU about 30 % of the peak                     27.5-32.5 %
Sensor Tower             mean DAU 20-22 Jan about 17 % below 13-19 Jan         16.5-17.5 %
Sensor Tower             US downloads 8-14 Jan more than 20x the 7 days before >= 20x
Similarweb               about 300,000 DAU about 6 Jan: every day of 3-9 Jan   250-350 k
Similarweb               under 700,000 DAU on 12 Jan                           upper bound
Reuters (no provider)    about 700,000 new users 13-14 Jan, all markets        US <= 750 k
=======================  ====================================================  ==============

The day of Similarweb's pre-surge figure is approximate too ("about Jan 6"): a day given
as "about" is read as that day +- ``analysis.data.sources.APPROXIMATE_DATE_DAYS`` (3; an
assumption about the word), and the model must lie inside the interval on every day of
that window (the hinge acts on its worst day, the tie-break on the window's mean).

The new-user count covers all markets and the panel is the US: a part is at most the
whole, so only the count's upper end is used; no source gives the US share of those two
days' arrivals. Downloads are read as new users (the model has no re-installs). The
report gives, per figure, the model's value, whether it is inside and whether it binds
(sits at an end); ``conflicts`` lists the figures the fit cannot meet.

*Where the providers disagree* the calibration **follows Sensor Tower** for the shape
and level after the surge, and uses **Similarweb only for the pre-surge baseline**
(which Sensor Tower does not publish). Similarweb's 3.4 M US DAU on 13 Jan (and its
blog's 32.5 M / 14.9 M on 19/20 Jan, an order of magnitude above its own figure) is not
fitted; ``params.json`` (``calibration.comparisons``) reports how far the fit lands
from it.

Output
------
:func:`simulate_panel` writes ``activity.parquet`` (``user_id`` int64, ``event_date``
date32, ``market`` "US", ``install_date`` date32; one row per active user-day, sorted by
user, written in row groups so memory stays bounded) and ``params.json`` (the true
parameters, seed, scale, calibration targets and residuals, file checksum, label), each
written to a temporary file and renamed. The output is a deterministic function of the
parameters, seed, scale and window. ``scale`` is the fraction of the real user base:
1.0 gives ~10^8 rows for Dec 2024 - Mar 2025, 0.01 about a million.

CLI: ``python -m analysis.simulation.users --scale 0.01 --seed 20250119 --out DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.optimize import least_squares
from scipy.special import betaln, roots_jacobi

from analysis import config
from analysis._io import as_date, write_json_atomic

__all__ = [
    "LABEL",
    "WEEKLY",
    "PanelParams",
    "Calibration",
    "anchors_from_published",
    "load_anchors",
    "install_curve",
    "expected_dau",
    "expected_cohort_curves",
    "calibrate",
    "simulate_panel",
    "main",
]

LABEL = "SIMULATED data — not observed RedNote data; calibrated to published figures"
DEFAULT_SEED = 20250119
DEFAULT_START = dt.date(2024, 12, 1)
DEFAULT_END = dt.date(2025, 3, 31)
ACTIVITY_FILE = "activity.parquet"
PARAMS_FILE = "params.json"
#: Day-of-week multipliers on activity, Monday first (largest = 1: weekend).
WEEKLY = (0.95, 0.94, 0.94, 0.95, 0.97, 1.0, 1.0)
_FREE = ("baseline_dau", "surge_installs", "surge_growth", "reprieve_share", "fade_days",
         "churn_a", "churn_b", "organic_installs")
#: Weak priors (median, log-sd) on the shape parameters the anchors leave flat.
PRIORS = {"surge_growth": (0.1, 2.0), "reprieve_share": (0.3, 2.0), "fade_days": (5.0, 2.0),
          "churn_a": (0.5, 2.0), "churn_b": (1.0, 2.0),
          "organic_installs": (10_000.0, 2.0)}  # fmt: skip
_BLOCK = 100_000  # users per generation block
_ROW_GROUP = 1_000_000


@dataclasses.dataclass(frozen=True)
class PanelParams:
    """Parameters of the generative model (US, at scale 1); see the module docstring.

    The first eight are fitted by :func:`calibrate` (``_FREE``); the rest are fixed
    assumptions. The defaults are the calibration's starting values.
    """

    baseline_dau: float = 225_000.0  # B: organic pool's mean DAU
    surge_installs: float = 1_200_000.0  # A: installs on the deadline day (19 Jan)
    surge_growth: float = 0.1  # rho: daily growth rate of installs over 13-19 Jan
    reprieve_share: float = 0.2  # kappa: installs after the reprieve, share of A
    fade_days: float = 6.5  # tau: fade of installs after the reprieve (days)
    churn_a: float = 0.5  # a of Beta(a, b) for the daily churn probability
    churn_b: float = 0.5  # b
    organic_installs: float = 10_000.0  # i0: installs per day from organic_start
    activity_mean: float = 0.7  # mu: mean propensity of new users while alive
    activity_concentration: float = 5.0  # phi
    pool_activity_mean: float = 0.5  # mu_B
    pool_activity_concentration: float = 3.0  # phi_B
    weekly: tuple[float, ...] = WEEKLY
    organic_start: str = "2024-08-01"  # t0
    surge_start: str = "2025-01-13"  # t_s
    deadline: str = "2025-01-19"  # t_d
    market: str = "US"

    def __post_init__(self):
        for name in (*_FREE, "activity_concentration", "pool_activity_concentration"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"PanelParams.{name} must be positive and finite, not {v!r}")
        for name in ("activity_mean", "pool_activity_mean"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"PanelParams.{name} must be in (0, 1)")
        if len(self.weekly) != 7 or not all(0 < x <= 1 for x in self.weekly):
            raise ValueError("PanelParams.weekly must be 7 multipliers in (0, 1]")
        if not as_date(self.organic_start) < as_date(self.surge_start) <= as_date(self.deadline):
            raise ValueError("need organic_start < surge_start <= deadline")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["weekly"] = list(self.weekly)
        return d

    def replace(self, **kw) -> PanelParams:
        return dataclasses.replace(self, **kw)


@dataclasses.dataclass
class Calibration:
    """Result of :func:`calibrate`: fitted parameters and a JSON-able report."""

    params: PanelParams
    report: dict

    @property
    def ok(self) -> bool:
        return bool(self.report["all_inside"])


# ------------------------------------------------------------------------------ anchors

#: Sensor Tower's peak-day statement covers "the past two months" to 18 Feb 2025.
_PEAK_WINDOW = ("2024-12-18", "2025-02-18")
_ANCHOR_COLUMNS = [
    "id", "kind", "date", "end", "ref_start", "ref_end", "value", "low", "high", "weight",
    "provider", "note",
]  # fmt: skip
NAN = float("nan")
#: Kinds of anchor the calibration knows (see :func:`anchors_from_published`).
ANCHOR_KINDS = ("level", "upper_bound", "share_of_peak", "ratio_of_means", "peak_day",
                "new_users", "installs_ratio")
#: Softness of an interval's edges: log-units of excess per unit of residual, tightened
#: in steps (a continuation: a steep hinge from the start stalls the optimizer); the
#: last step, 0.1 %, is the one reported.
_EDGES = (3e-2, 1e-2, 3e-3, 1e-3)
#: Weight of the tie-break toward an interval's middle (see :func:`calibrate`).
_MIDDLE_WEIGHT = 1.0
#: Slack when judging a fitted value inside its interval: 0.2 %, far below the rounding
#: step of any printed figure.
INSIDE_SLACK = 2e-3


def _hedge(qualifier: str) -> str:
    return {"approximate": "about ", "estimate": "about ", "at_least": "over ",
            "at_most": "under "}.get(qualifier, "")


def _approximate_day(r) -> bool:
    """Whether the figure's *day* is approximate: ``analysis.data.sources.date_basis`` is
    ``"approximate"`` (a quoted table row whose date cell starts with "about", e.g.
    ``| about Jan 6 | ...``). Rows without a ``source_quote`` are taken as dated."""
    from analysis.data.sources import date_basis

    quote = getattr(r, "source_quote", None)
    if not isinstance(quote, str):
        return False
    return date_basis(r.period_start, r.period_end, getattr(r, "source", ""),
                      quote) == "approximate"


def _anchor(id, kind, date, value, low, high, weight, provider, note, end=None,
            ref_start=None, ref_end=None) -> dict:  # fmt: skip
    return {
        "id": id, "kind": kind, "date": pd.Timestamp(date),
        "end": pd.Timestamp(end if end is not None else date),
        "ref_start": pd.Timestamp(ref_start) if ref_start is not None else pd.NaT,
        "ref_end": pd.Timestamp(ref_end) if ref_end is not None else pd.NaT,
        "value": float(value), "low": float(low), "high": float(high),
        "weight": float(weight), "provider": provider, "note": note,
    }  # fmt: skip


def inside(value: float, low: float, high: float, slack: float = INSIDE_SLACK) -> bool:
    """Whether ``value`` lies in ``[low, high]`` (NaN = open side), with a relative
    ``slack`` (default :data:`INSIDE_SLACK`)."""
    ok = True
    if np.isfinite(low):
        ok &= value >= low * (1 - slack) if low > 0 else value >= low - slack
    if np.isfinite(high):
        ok &= value <= high * (1 + slack) if high > 0 else value <= high + slack
    return bool(ok)


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=_ANCHOR_COLUMNS)
    for c in ("date", "end", "ref_start", "ref_end"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    return df


def anchors_from_published(metrics: pd.DataFrame) -> pd.DataFrame:
    """Calibration anchors selected from the curated published figures, as intervals.

    Parameters
    ----------
    metrics : DataFrame
        ``data/raw/published_metrics.csv`` as read by ``pd.read_csv`` or by
        ``analysis.data.sources.load_published_metrics`` (columns ``id, entity, market,
        metric, period_start, period_end, value, unit, qualifier, provider, ...``; the
        interval columns ``value_low, value_high`` are derived here by
        :func:`analysis.data.sources.value_interval` when absent).

    Returns
    -------
    DataFrame
        One row per anchor: ``id`` (the figure's id), ``kind`` (see below), ``date``,
        ``end``, ``ref_start``, ``ref_end``, ``value`` (the printed figure, on the
        anchor's scale), ``low`` and ``high`` (the interval the figure stands for; NaN for
        an open side: a bound), ``weight`` (0 = reported, not fitted), ``provider``,
        ``note``.

    Kinds: ``peak_day`` (the day of the largest DAU over ``ref_start..end``),
    ``level`` (DAU on ``date``), ``upper_bound`` (a level with only ``high``),
    ``share_of_peak`` (DAU on ``date`` over the largest DAU before it),
    ``ratio_of_means`` (mean DAU over ``date..end`` over the mean over
    ``ref_start..ref_end``), ``new_users`` (installs summed over ``date..end``) and
    ``installs_ratio`` (installs over ``date..end`` over installs over
    ``ref_start..ref_end``).

    Selection (entity RedNote): Sensor Tower US ``dau_peak_day``, ``dau``,
    ``dau_share_of_peak``, ``dau_avg_change`` (whose reference period, the 7 days
    before, is stated in the figure's note, not in its columns) and ``downloads_growth``
    (the 7 days before, "presumably" per its note; downloads are read as new users: the
    model has no re-installs); Similarweb US pre-surge ``dau`` (before 13 Jan) as levels
    or, with qualifier ``at_most``, upper bounds; other Similarweb ``dau`` figures with
    weight 0 (reported only: the calibration follows Sensor Tower after the surge); and
    the new-user count ``new_users`` (Reuters, PM129). That count covers **all
    markets** (``Global``); the panel is one market's, so only its upper end bounds the
    panel's new users (a market's arrivals are part of all markets'); its lower end is
    not used, since no source gives the market's share of those two days' arrivals.
    """
    from analysis.data.sources import APPROXIMATE_DATE_DAYS, value_interval

    m = metrics.copy()
    m["period_start"] = pd.to_datetime(m["period_start"])
    m["period_end"] = pd.to_datetime(m["period_end"])
    if "value_low" not in m or "value_high" not in m:
        bounds = [value_interval(v, q, u)
                  for v, q, u in zip(m["value"], m["qualifier"], m["unit"], strict=True)]
        m["value_low"] = [b[0] for b in bounds]
        m["value_high"] = [b[1] for b in bounds]
    m = m[m["entity"] == "RedNote"]
    surge = pd.Timestamp(PanelParams.surge_start)
    week = pd.Timedelta(days=7)
    rows = []
    for r in m.itertuples(index=False):
        prov, metric, d0, d1 = r.provider, r.metric, r.period_start, r.period_end
        lo, hi = float(r.value_low), float(r.value_high)
        if r.market == "US" and prov == "Sensor Tower":
            if metric == "dau_peak_day":
                rows.append(_anchor(r.id, "peak_day", d0, 1, NAN, NAN, 1, prov,
                                    "US DAU peak day over the two months to 18 Feb",
                                    end=_PEAK_WINDOW[1], ref_start=_PEAK_WINDOW[0]))
            elif metric == "dau" and r.unit == "users":
                rows.append(_anchor(r.id, "level", d0, r.value, lo, hi, 1, prov,
                                    f"US DAU {_hedge(r.qualifier)}{r.value:,.0f} on {d0.date()}"))
            elif metric == "dau_share_of_peak":
                rows.append(_anchor(r.id, "share_of_peak", d0, r.value / 100, lo / 100,
                                    hi / 100, 1, prov,
                                    f"DAU on {d0.date()} {_hedge(r.qualifier)}{r.value:g} % "
                                    "of the peak"))
            elif metric == "dau_avg_change":
                rows.append(_anchor(r.id, "ratio_of_means", d0, 1 + r.value / 100,
                                    1 + lo / 100, 1 + hi / 100, 1, prov,
                                    f"mean DAU {d0.date()}..{d1.date()} "
                                    f"{_hedge(r.qualifier)}{r.value:+g} % vs the 7 days before",
                                    end=d1, ref_start=d0 - week, ref_end=d0 - pd.Timedelta(days=1)))
            elif metric == "downloads_growth" and r.unit == "multiple":
                rows.append(_anchor(r.id, "installs_ratio", d0, r.value, lo, hi, 1, prov,
                                    f"US downloads {d0.date()}..{d1.date()} "
                                    f"{_hedge(r.qualifier)}{r.value:g}x the 7 days before "
                                    "(read as new users)",
                                    end=d1, ref_start=d0 - week, ref_end=d0 - pd.Timedelta(days=1)))
        elif r.market == "US" and prov == "Similarweb" and metric == "dau" and r.unit == "users":
            if d0 < surge and r.qualifier == "at_most":
                rows.append(_anchor(r.id, "upper_bound", d0, r.value, NAN, hi, 1, prov,
                                    f"US DAU under {r.value:,.0f} on {d0.date()}"))
            elif d0 < surge:
                if _approximate_day(r):
                    days = pd.Timedelta(days=APPROXIMATE_DATE_DAYS)
                    a, b = d0 - days, min(d0 + days, surge - pd.Timedelta(days=1))
                    rows.append(_anchor(
                        r.id, "level", a, r.value, lo, hi, 1, prov,
                        f"pre-surge US DAU {_hedge(r.qualifier)}{r.value:,.0f} on a day "
                        f"about {d0:%d %b} (every day of {a:%d}-{b:%d %b} inside)", end=b))
                else:
                    rows.append(_anchor(r.id, "level", d0, r.value, lo, hi, 1, prov,
                                        f"pre-surge US DAU {_hedge(r.qualifier)}{r.value:,.0f}"))
            else:
                rows.append(_anchor(r.id, "level", d0, r.value, lo, hi, 0, prov,
                                    f"US DAU {r.value:,.0f} on {d0.date()}: not fitted "
                                    "(the calibration follows Sensor Tower after the surge)"))
        elif metric == "new_users" and r.unit == "users" and r.market in ("US", "Global"):
            everywhere = r.market == "Global"
            rows.append(_anchor(
                r.id, "new_users", d0, r.value, NAN if everywhere else lo, hi, 1, prov,
                f"new users {d0.date()}..{d1.date()} {_hedge(r.qualifier)}{r.value:,.0f}"
                + (" in all markets: the US arrivals are at most its upper end" if everywhere
                   else " in the US"),
                end=d1))
    out = _frame(rows)
    need = {"peak_day", "level", "share_of_peak", "ratio_of_means"}
    kinds = set(out.loc[out["weight"] > 0, "kind"])
    if not need <= kinds:
        raise ValueError(
            f"the published metrics lack anchor(s) of kind {sorted(need - kinds)} for "
            "RedNote US (Sensor Tower dau_peak_day / dau / dau_share_of_peak / "
            "dau_avg_change)"
        )
    return out.sort_values(["weight", "date", "id"], ascending=[False, True, True]).reset_index(
        drop=True
    )


def load_anchors(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Anchors from ``config.PUBLISHED_METRICS_CSV``, validated by
    :func:`analysis.data.sources.load_published_metrics` (the published figures live in that
    file only; there is no hard-coded copy)."""
    from analysis.data.sources import load_published_metrics

    return anchors_from_published(load_published_metrics(path))


# ---------------------------------------------------------------------- the model curves


def _calendar(params: PanelParams, end) -> pd.DatetimeIndex:
    return pd.date_range(params.organic_start, as_date(end), freq="D")


def _weekly(params: PanelParams, days: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(params.weekly, dtype=float)[days.day_of_week]


def _installs_np(params: PanelParams, days: pd.DatetimeIndex) -> np.ndarray:
    t = np.arange(days.size)
    ts = (pd.Timestamp(params.surge_start) - days[0]).days
    td = (pd.Timestamp(params.deadline) - days[0]).days
    inst = np.full(days.size, params.organic_installs, dtype=float)
    surge = (t >= ts) & (t <= td)
    inst[surge] += params.surge_installs * np.exp(-params.surge_growth * (td - t[surge]))
    after = t > td
    inst[after] += (
        params.surge_installs
        * params.reprieve_share
        * np.exp(-(t[after] - td - 1) / params.fade_days)
    )
    return inst


def install_curve(params: PanelParams, end=DEFAULT_END) -> pd.DataFrame:
    """Expected installs per day at scale 1 (``date, installs``) from ``organic_start``."""
    days = _calendar(params, end)
    return pd.DataFrame({"date": days.astype("datetime64[ns]"),
                         "installs": _installs_np(params, days)})  # fmt: skip


def _survival(a: float, b: float, k: np.ndarray) -> np.ndarray:
    """sBG survivor function S(k) = B(a, b + k) / B(a, b)."""
    return np.exp(betaln(a, b + k) - betaln(a, b))


def _dau_np(params: PanelParams, days: pd.DatetimeIndex, w: np.ndarray):
    """(baseline, installs, returning) arrays over ``days`` (from organic_start)."""
    inst = _installs_np(params, days)
    surv = _survival(params.churn_a, params.churn_b, np.arange(days.size, dtype=float))
    conv = np.convolve(inst, surv)[: days.size] - inst * surv[0]  # sum_{s<t} I(s) S(t-s)
    baseline = params.baseline_dau * w / np.mean(params.weekly)
    return baseline, inst, params.activity_mean * w * conv


def expected_dau(params: PanelParams, start=None, end=DEFAULT_END) -> pd.DataFrame:
    """Exact expected DAU at scale 1 (no simulation), with its components.

    Returns ``date, dau, baseline, installs, returning`` for ``start .. end`` (default
    start: ``organic_start``), where ``dau = baseline + installs + returning``.
    """
    days = _calendar(params, end)
    baseline, inst, returning = _dau_np(params, days, _weekly(params, days))
    out = pd.DataFrame({
        "date": days.astype("datetime64[ns]"),
        "dau": baseline + inst + returning,
        "baseline": baseline,
        "installs": inst,
        "returning": returning,
    })  # fmt: skip
    if start is not None:
        out = out[out["date"] >= pd.Timestamp(start)].reset_index(drop=True)
    return out


def _beta_quadrature(mean: float, conc: float, n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E[f(pi)], pi ~ Beta(mean*conc, (1-mean)*conc)."""
    alpha, beta = mean * conc, (1 - mean) * conc
    x, wts = roots_jacobi(n, beta - 1, alpha - 1)
    return (x + 1) / 2, wts / wts.sum()


def expected_cohort_curves(params: PanelParams, cohort_date, end=DEFAULT_END) -> pd.DataFrame:
    """Exact expected retention of the users installing on ``cohort_date``.

    Returns ``age_days`` 0 .. ``end - cohort_date`` with ``classic`` (share active on
    day N: 1 at age 0, else :math:`\\mu w S(N)`), ``unbounded`` (share active on day N or
    later *within the window*, which accounts for days skipped while alive and for the
    window's end) and ``survival`` (:math:`S(N)`, share not churned). ``unbounded`` is

    .. math::

        P(L \\ge N) = \\sum_{m=N}^{H} P(M=m)\\,(1 - E_\\pi Q_N(m)) + P(M > H)(1 - E_\\pi
        Q_N(H)),\\quad Q_N(m) = \\prod_{k=N}^{m} (1 - \\pi w(s+k)),

    with :math:`M` the last alive age, :math:`P(M = m) = B(a+1, b+m)/B(a, b)`, :math:`H`
    the last observed age, and :math:`E_\\pi` by Gauss-Jacobi quadrature.
    """
    s = pd.Timestamp(cohort_date)
    H = (pd.Timestamp(as_date(end)) - s).days
    if H < 0:
        raise ValueError(f"cohort_date {s.date()} is after end {end}")
    a, b = params.churn_a, params.churn_b
    ages = np.arange(H + 1)
    days = pd.date_range(s, periods=H + 1, freq="D")
    w = _weekly(params, days)
    surv = _survival(a, b, ages.astype(float))
    classic = params.activity_mean * w * surv
    classic[0] = 1.0
    p_m = np.exp(betaln(a + 1, b + ages) - betaln(a, b))  # P(M = m), m = 0..H
    p_tail = float(_survival(a, b, np.array([H + 1.0]))[0])  # P(M > H)
    pis, pw = _beta_quadrature(params.activity_mean, params.activity_concentration)
    # C[j, k] = sum_{i=1..k} log(1 - pi_j w_i), C[:, 0] = 0
    logq = np.log1p(-pis[:, None] * w[None, 1:])
    C = np.concatenate([np.zeros((pis.size, 1)), np.cumsum(logq, axis=1)], axis=1)
    # EQ[N, m] = E_pi prod_{k=N}^{m} (1 - pi w_k) = E_pi exp(C[m] - C[N-1]), N >= 1, m >= N
    Nn = np.arange(1, H + 1)
    Q = np.exp(C[:, None, :] - C[:, Nn - 1][:, :, None])  # (q, N, m)
    EQ = np.tensordot(pw, Q, axes=1)  # (N, m) over m = 0..H
    mask = ages[None, :] >= Nn[:, None]
    hit = np.where(mask, 1.0 - EQ, 0.0)
    unb = np.ones(H + 1)
    unb[1:] = hit @ p_m + p_tail * (1.0 - EQ[:, H])
    return pd.DataFrame({
        "age_days": ages, "classic": classic, "unbounded": unb, "survival": surv,
    })  # fmt: skip


# ---------------------------------------------------------------------------- calibration


def _compile(anchors: pd.DataFrame, days: pd.DatetimeIndex) -> list[tuple]:
    """Anchors as (kind, weight, low, high, i, j, r0, r1) day indices."""
    d0 = days[0]

    def ix(x) -> int:
        if pd.isna(x):
            return -1
        i = (pd.Timestamp(x) - d0).days
        if not 0 <= i < days.size:
            raise ValueError(f"anchor date {pd.Timestamp(x).date()} outside the model calendar "
                             f"{d0.date()}..{days[-1].date()}")  # fmt: skip
        return i

    out = []
    for r in anchors.itertuples(index=False):
        if r.kind not in ANCHOR_KINDS:
            raise ValueError(f"unknown anchor kind {r.kind!r} (anchor {r.id}); "
                             f"known: {', '.join(ANCHOR_KINDS)}")
        if r.kind != "peak_day" and not (np.isfinite(r.low) or np.isfinite(r.high)):
            raise ValueError(f"anchor {r.id} ({r.kind}) has neither a low nor a high end")
        out.append((r.kind, float(r.weight), float(r.low), float(r.high),
                    ix(r.date), ix(r.end), ix(r.ref_start), ix(r.ref_end)))  # fmt: skip
    return out


def _value(dau: np.ndarray, inst: np.ndarray, a: tuple):
    """The model's value of anchor ``a`` (for ``peak_day``: the day index of the peak)."""
    kind, _, low, high, i, j, r0, r1 = a
    if kind in ("level", "upper_bound") and j > i:  # a day in i..j: the worst day
        return _worst_day(dau[i : j + 1], low, high)
    if kind in ("level", "upper_bound"):
        return dau[i]
    if kind == "share_of_peak":
        return dau[i] / dau[: i + 1].max()
    if kind == "ratio_of_means":
        return dau[i : j + 1].mean() / dau[r0 : r1 + 1].mean()
    if kind == "new_users":
        return inst[i : j + 1].sum()
    if kind == "installs_ratio":
        return inst[i : j + 1].sum() / inst[r0 : r1 + 1].sum()
    return r0 + int(np.argmax(dau[r0 : j + 1]))  # peak_day: index of the window's maximum


def _worst_day(values: np.ndarray, low: float, high: float) -> float:
    """Of a window's values, the one farthest outside ``[low, high]`` (log scale); if
    all lie inside, the one farthest from the interval's middle (its geometric mean, or
    the finite end of a bound)."""
    lv = np.log(values)
    lo = np.log(low) if np.isfinite(low) else -np.inf
    hi = np.log(high) if np.isfinite(high) else np.inf
    excess = np.maximum(lo - lv, 0.0) + np.maximum(lv - hi, 0.0)
    if excess.max() > 0:
        return float(values[int(np.argmax(excess))])
    ends = [e for e in (lo, hi) if np.isfinite(e)]
    mid = np.mean(ends) if ends else lv.mean()
    return float(values[int(np.argmax(np.abs(lv - mid)))])


def _residuals(dau: np.ndarray, inst: np.ndarray, compiled: list[tuple],
               edge: float = _EDGES[-1]) -> np.ndarray:
    """Per fitted anchor: the log excess outside its interval / ``edge`` (zero inside:
    the figure says nothing about where in its interval the truth lies), then the
    tie-break toward each two-sided interval's middle (see :func:`calibrate`)."""
    out, middle = [], []
    for a in compiled:
        kind, weight, low, high, i, j, r0, _ = a
        if weight <= 0:
            continue
        sw = np.sqrt(weight)
        if kind == "peak_day":  # every other day of the window at least 0.5 % below day i
            lw = np.log(dau[r0 : j + 1])
            gap = np.maximum(0.0, lw - lw[i - r0] + 0.005)
            gap[i - r0] = 0.0
            out.append(sw * np.sqrt(np.sum(gap**2)) / 0.005)
            continue
        lv = np.log(_value(dau, inst, a))
        # a level on a day of a window: the hinge on its worst day, the tie-break on the
        # window's geometric mean (the middle of the days it may be)
        lm = (np.log(dau[i : j + 1]).mean() if kind in ("level", "upper_bound") and j > i
              else lv)
        excess = 0.0
        if np.isfinite(low):
            excess += max(0.0, np.log(low) - lv)
        if np.isfinite(high):
            excess += max(0.0, lv - np.log(high))
        out.append(sw * excess / edge)
        if np.isfinite(low) and np.isfinite(high) and high > low:
            mid, half = (np.log(high) + np.log(low)) / 2, (np.log(high) - np.log(low)) / 2
            middle.append(_MIDDLE_WEIGHT * sw * (lm - mid) / half)
    return np.asarray(out + middle, dtype=float)


def _with(params: PanelParams, x: np.ndarray, free: tuple[str, ...] = _FREE) -> PanelParams:
    return params.replace(**{k: float(v) for k, v in zip(free, np.exp(x), strict=True)})


def _prior_residuals(x: np.ndarray, free: tuple[str, ...] = _FREE) -> np.ndarray:
    return np.array([
        (x[free.index(k)] - np.log(med)) / sd for k, (med, sd) in PRIORS.items() if k in free
    ])  # fmt: skip


def _interval_text(low: float, high: float, scale: float = 1.0, fmt: str = "{:,.0f}") -> str:
    if np.isfinite(low) and np.isfinite(high):
        return f"{fmt.format(scale * low)} .. {fmt.format(scale * high)}"
    if np.isfinite(low):
        return f">= {fmt.format(scale * low)}"
    return f"<= {fmt.format(scale * high)}"


def calibrate(
    anchors: pd.DataFrame | None = None,
    initial: PanelParams | None = None,
    *,
    free: tuple[str, ...] = _FREE,
    compare_flat_surge: bool = True,
) -> Calibration:
    """Fit the free parameters to the anchors' intervals (see the module docstring).

    The fit is flat inside each figure's interval: a figure adds nothing to the loss
    while the model lies inside it, and a steep penalty per log-unit outside (1 per 0.1 %
    of excess, reached by tightening the edge in steps, ``_EDGES``).
    Where several parameter values satisfy every figure, the figures cannot choose
    among them; the weak priors and a tie-break toward the middle of each two-sided
    interval (weight ``_MIDDLE_WEIGHT``, a residual of 1 at an interval's end) pick one
    that does not sit on an edge by accident. A figure the fit cannot satisfy is
    reported ``inside: false`` with its excess; ``conflicts`` names them.

    Parameters
    ----------
    anchors : DataFrame, optional
        As returned by :func:`anchors_from_published` (default: :func:`load_anchors`).
        Rows with ``weight == 0`` are reported, not fitted.
    initial : PanelParams, optional
        Starting values and the fixed parameters (default ``PanelParams()``).
    free : tuple of str
        The parameters fitted (default all of ``_FREE``); the others keep ``initial``'s.
    compare_flat_surge : bool
        Also fit the model with flat installs over the surge week (``surge_growth``
        fixed at 0, as the first calibrations had) and report which figures it cannot
        meet (``report["flat_surge"]``): the evidence for the growth parameter.

    Returns
    -------
    Calibration
        ``params`` (fitted) and ``report``: per anchor the published figure, its
        interval, the fitted value, whether it lies inside and whether it binds (lies
        at an end); the provider policy; the comparisons with unfitted figures;
        conflicts; optimizer diagnostics.
    """
    anchors = load_anchors() if anchors is None else anchors
    initial = initial or PanelParams()
    end = max(pd.Timestamp(anchors[c].max()) for c in ("date", "end") if anchors[c].notna().any())
    end = max(end, pd.Timestamp(DEFAULT_END))

    days = _calendar(initial, end)
    w = _weekly(initial, days)
    compiled = _compile(anchors, days)

    def fun(x, edge):
        base, inst, ret = _dau_np(_with(initial, x, free), days, w)
        return np.concatenate([_residuals(base + inst + ret, inst, compiled, edge),
                               _prior_residuals(x, free)])  # fmt: skip

    best = None
    x_init = np.log([getattr(initial, k) for k in free])
    for shift in (0.0, -0.5, 0.5):  # a few starts in the churn parameters
        x0 = x_init.copy()
        x0[free.index("churn_a")] += shift
        x0[free.index("churn_b")] += shift
        for edge in _EDGES:
            res = least_squares(fun, x0, args=(edge,), method="trf", x_scale=1.0,
                                max_nfev=2000)
            x0 = res.x
        if best is None or res.cost < best.cost:
            best = res
    fitted = _with(initial, best.x, free)
    curve = expected_dau(fitted, end=end)
    dau = curve["dau"].to_numpy()
    inst = curve["installs"].to_numpy()
    rows = []
    for r, a in zip(anchors.itertuples(index=False), compiled, strict=True):
        v = _value(dau, inst, a)
        row = {
            "id": r.id, "provider": r.provider, "kind": r.kind, "note": r.note,
            "date": str(r.date.date()), "fitted": bool(r.weight > 0),
        }  # fmt: skip
        if r.kind == "peak_day":
            peak = days[v]
            row |= {"target": str(r.date.date()), "model": str(peak.date()),
                    "interval": "exact day", "inside": bool(peak == r.date), "binds": False}
        else:
            pct = r.kind in ("share_of_peak", "ratio_of_means")
            row |= {
                "target": r.value, "low": r.low, "high": r.high, "model": float(v),
                "interval": _interval_text(r.low, r.high, *((100, "{:.1f} %") if pct
                                                            else (1, "{:,.0f}" if r.value > 100
                                                                  else "{:g}"))),
                "inside": inside(v, r.low, r.high),
                "binds": any(np.isfinite(e) and abs(np.log(v / e)) <= INSIDE_SLACK
                             for e in (r.low, r.high)),
                "relative_difference": float(v / r.value - 1),
            }
            if r.kind in ("level", "upper_bound") and r.end > r.date:  # a day in a window
                span = dau[a[4] : a[5] + 1]
                row |= {"end": str(r.end.date()), "model_low": float(span.min()),
                        "model_high": float(span.max())}
        if not row["fitted"]:  # a comparison: how far, not pass/fail
            row.pop("inside", None)
            row.pop("binds", None)
        rows.append(row)
    fitted_rows = [r for r in rows if r["fitted"]]
    daily = curve.set_index("date")
    peak_date = daily.loc[_PEAK_WINDOW[0] : _PEAK_WINDOW[1], "dau"].idxmax()
    report = {
        "method": "scipy.optimize.least_squares (trf), log parameters: zero loss inside "
        "each published figure's interval, a steep penalty per log-unit outside it, a "
        "tie-break toward the middle of two-sided intervals, weak log-normal priors",
        "provider_policy": "Sensor Tower for the shape and level after the surge (peak day, "
        "18 Feb level and share of peak, 20-22 vs 13-19 Jan change, the 8-14 Jan downloads "
        "multiple); Similarweb only for the pre-surge baseline (about 6 Jan; under 700k on "
        "12 Jan); Reuters' all-markets count of new users on 13-14 Jan as an upper bound "
        "on the US arrivals. Similarweb's surge figures are reported as comparisons, not "
        "fitted.",
        "free_parameters": {k: getattr(fitted, k) for k in free},
        "priors": {k: {"median": m, "log_sd": s} for k, (m, s) in PRIORS.items() if k in free},
        "prior_residuals": dict(zip([k for k in PRIORS if k in free],
                                    _prior_residuals(best.x, free).tolist(), strict=True)),
        "anchors": fitted_rows,
        "comparisons": [r for r in rows if not r["fitted"]],
        "conflicts": [r["id"] for r in fitted_rows if not r["inside"]],
        "binding": [r["id"] for r in fitted_rows if r["binds"]],
        "peak": {"date": str(peak_date.date()), "dau": float(daily.loc[peak_date, "dau"])},
        "all_inside": all(r["inside"] for r in fitted_rows),
        "cost": float(best.cost),
        "optimizer": {"status": int(best.status), "message": best.message,
                      "nfev": int(best.nfev)},
    }  # fmt: skip
    if compare_flat_surge and "surge_growth" in free:
        flat = calibrate(anchors, initial.replace(surge_growth=1e-12),
                         free=tuple(k for k in free if k != "surge_growth"),
                         compare_flat_surge=False).report
        report["flat_surge"] = {
            "note": "the same fit with installs flat over 13-19 Jan (surge_growth 0)",
            "conflicts": flat["conflicts"],
            "outside": [{"id": a["id"], "interval": a["interval"], "model": a["model"]}
                        for a in flat["anchors"] if not a["inside"]],
        }
    return Calibration(params=fitted, report=_jsonable(report))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, pd.Timestamp | dt.date):
        return str(obj.date() if isinstance(obj, pd.Timestamp) else obj)
    return obj


# ---------------------------------------------------------------------------- simulation

_SCHEMA = pa.schema([
    ("user_id", pa.int64()),
    ("event_date", pa.date32()),
    ("market", pa.string()),
    ("install_date", pa.date32()),
])  # fmt: skip


def _epoch(d) -> int:
    return (as_date(d) - dt.date(1970, 1, 1)).days


def _beta(rng, mean, conc, n):
    return rng.beta(mean * conc, (1 - mean) * conc, n)


def _generate(params: PanelParams, scale: float, seed: int, start: dt.date, end: dt.date,
              progress) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:  # fmt: skip
    """Yield blocks (user_id, event_day, install_day) as epoch day numbers."""
    days = _calendar(params, end)
    w_all = _weekly(params, days)
    t_start = (pd.Timestamp(start) - days[0]).days
    e0 = _epoch(days[0])
    n_days = days.size
    next_id = 0
    # organic pool: existing users, installed in the year before organic_start
    rng = np.random.default_rng([seed, 0])
    mu_b = params.pool_activity_mean
    n_pool = int(rng.poisson(scale * params.baseline_dau / (np.mean(params.weekly) * mu_b)))
    win = np.arange(t_start, n_days)
    for b, lo in enumerate(range(0, n_pool, _BLOCK // 4)):
        n = min(_BLOCK // 4, n_pool - lo)
        r = np.random.default_rng([seed, 0, 0, b])
        pi = _beta(r, mu_b, params.pool_activity_concentration, n)
        inst = e0 - r.integers(1, 366, n)
        act = r.random((n, win.size)) < pi[:, None] * w_all[win][None, :]
        u, k = np.nonzero(act)
        yield next_id + lo + u, e0 + win[k], inst[u]
    next_id += n_pool
    # installs
    inst_curve = install_curve(params, end)["installs"].to_numpy()
    for s in range(n_days):
        r_day = np.random.default_rng([seed, 1, s])
        n_s = int(r_day.poisson(scale * inst_curve[s]))
        horizon = n_days - 1 - s
        for b, lo in enumerate(range(0, n_s, _BLOCK)):
            n = min(_BLOCK, n_s - lo)
            r = np.random.default_rng([seed, 1, s, b + 1])
            theta = np.clip(r.beta(params.churn_a, params.churn_b, n), 1e-12, 1.0)
            pi = _beta(r, params.activity_mean, params.activity_concentration, n)
            last_alive = np.minimum(r.geometric(theta) - 1, horizon)  # M, cut at the window
            reps = last_alive + 1
            uid = np.repeat(np.arange(n), reps)
            age = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
            t = s + age
            active = (age == 0) | (r.random(age.size) < pi[uid] * w_all[t])
            keep = active & (t >= t_start)
            yield next_id + lo + uid[keep], e0 + t[keep], np.full(keep.sum(), e0 + s)
        next_id += n_s
        progress.update(1)


def _progress(total: int, enabled: bool | None):
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, disable=not enabled, desc="simulating", unit="day")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def simulate_panel(
    params: PanelParams | Calibration | None = None,
    scale: float = 0.01,
    seed: int = DEFAULT_SEED,
    start=DEFAULT_START,
    end=DEFAULT_END,
    out_dir: str | os.PathLike | None = None,
    *,
    progress: bool | None = None,
) -> Path:
    """Simulate the activity panel and write it with its ``params.json``.

    Parameters
    ----------
    params : PanelParams or Calibration, optional
        True parameters; a :class:`Calibration` also puts its report in ``params.json``.
        Default: :func:`calibrate` on :func:`load_anchors`.
    scale : float
        Fraction of the real user base, in (0, 1].
    seed : int
        Seed of the random streams; the output is a deterministic function of
        (params, scale, seed, start, end).
    start, end : date-like
        Window of the written events (users who installed before ``start`` are
        simulated from their install and appear when active inside the window).
    out_dir : path, optional
        Default ``config.GENERATED_DATA_DIR / "panel"``.
    progress : bool, optional
        tqdm progress bar; default: only when stderr is a terminal.

    Returns
    -------
    Path
        ``out_dir / "activity.parquet"``.
    """
    if isinstance(params, Calibration):
        calibration, params = params.report, params.params
    elif params is None:
        cal = calibrate()
        calibration, params = cal.report, cal.params
    elif isinstance(params, PanelParams):
        calibration = None
    else:
        raise TypeError(f"params must be PanelParams or Calibration, not {type(params).__name__}")
    if not (isinstance(scale, int | float) and 0 < scale <= 1 and np.isfinite(scale)):
        raise ValueError(f"scale must be in (0, 1], not {scale!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    start, end = as_date(start), as_date(end)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    if start < as_date(params.organic_start):
        raise ValueError(
            f"start {start} is before the model's organic_start {params.organic_start}"
        )
    out_dir = Path(out_dir) if out_dir is not None else config.GENERATED_DATA_DIR / "panel"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / ACTIVITY_FILE
    tmp = out_dir / f".{ACTIVITY_FILE}.tmp-{os.getpid()}"
    meta = {
        "simulated": "true",
        "label": LABEL,
        "generator": "analysis.simulation.users",
        "seed": str(int(seed)),
        "scale": repr(float(scale)),
        "params": json.dumps(params.to_dict(), sort_keys=True),
    }
    schema = _SCHEMA.with_metadata(meta)
    n_rows = 0
    n_users = 0
    days = _calendar(params, end)
    try:
        with (
            _progress(days.size, progress) as bar,
            pq.ParquetWriter(tmp, schema, compression="zstd") as writer,
        ):
            buf: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
            buffered = 0

            def flush():
                nonlocal buf, buffered, n_rows
                if not buf:
                    return
                uid = np.concatenate([x[0] for x in buf]).astype(np.int64)
                ev = np.concatenate([x[1] for x in buf]).astype(np.int32)
                ins = np.concatenate([x[2] for x in buf]).astype(np.int32)
                table = pa.Table.from_arrays(
                    [
                        pa.array(uid, pa.int64()),
                        pa.array(ev, pa.int32()).cast(pa.date32()),
                        pa.array(np.full(uid.size, params.market, dtype=object), pa.string()),
                        pa.array(ins, pa.int32()).cast(pa.date32()),
                    ],
                    schema=schema,
                )
                writer.write_table(table, row_group_size=_ROW_GROUP)
                n_rows += uid.size
                buf, buffered = [], 0

            last_uid = -1
            for uid, ev, ins in _generate(params, float(scale), int(seed), start, end, bar):
                if uid.size:
                    buf.append((uid, ev, ins))
                    buffered += uid.size
                    n_users += int(np.count_nonzero(np.diff(uid, prepend=last_uid)))
                    last_uid = int(uid[-1])
                if buffered >= _ROW_GROUP:
                    flush()
            flush()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    info = {
        "simulated": True,
        "label": LABEL,
        "generator": "analysis.simulation.users",
        "seed": int(seed),
        "scale": float(scale),
        "start": str(start),
        "end": str(end),
        "market": params.market,
        "params": params.to_dict(),
        "calibration": calibration,
        "files": {
            ACTIVITY_FILE: {
                "rows": int(n_rows),
                "active_users": int(n_users),
                "sha256": _sha256(target),
            },
        },  # fmt: skip
    }
    write_json_atomic(out_dir / PARAMS_FILE, _jsonable(info))
    return target


# -------------------------------------------------------------------------------------- CLI


def _parse_scale(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not (np.isfinite(v) and 0 < v <= 1):
        raise argparse.ArgumentTypeError(f"scale must be in (0, 1], got {s}")
    return v


def _parse_seed(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"seed must be >= 0, got {s}")
    return v


def _parse_date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {s!r}") from None


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.simulation.users``: calibrate, simulate, write; 0 on success."""
    ap = argparse.ArgumentParser(
        prog="python -m analysis.simulation.users",
        description=f"Write a simulated RedNote US activity panel ({LABEL}).",
    )
    ap.add_argument(
        "--scale",
        type=_parse_scale,
        default=0.01,
        help="fraction of the real user base, in (0, 1] (default 0.01)",
    )
    ap.add_argument(
        "--seed",
        type=_parse_seed,
        default=DEFAULT_SEED,
        help=f"random seed (default {DEFAULT_SEED})",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=config.GENERATED_DATA_DIR / "panel",
        help="output directory (default: GENERATED_DATA_DIR/panel)",
    )
    ap.add_argument("--start", type=_parse_date, default=DEFAULT_START)
    ap.add_argument("--end", type=_parse_date, default=DEFAULT_END)
    ap.add_argument(
        "--metrics",
        type=Path,
        default=None,
        help="published metrics CSV (default: config.PUBLISHED_METRICS_CSV)",
    )
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)  # fmt: skip
    if args.start > args.end:
        ap.error(f"--start {args.start} is after --end {args.end}")
    if args.start < as_date(PanelParams.organic_start):
        ap.error(f"--start must be on or after {PanelParams.organic_start}")
    if args.metrics is not None and not args.metrics.is_file():
        ap.error(f"--metrics: no such file: {args.metrics}")
    if args.out.exists() and not args.out.is_dir():
        ap.error(f"--out exists and is not a directory: {args.out}")
    try:
        cal = calibrate(load_anchors(args.metrics))
        path = simulate_panel(cal, scale=args.scale, seed=args.seed, start=args.start,
                              end=args.end, out_dir=args.out,
                              progress=False if args.no_progress else None)  # fmt: skip
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    info = json.loads((path.parent / PARAMS_FILE).read_text())
    f = info["files"][ACTIVITY_FILE]
    print(f"{LABEL}\nwrote {path} ({f['rows']:,} rows, {f['active_users']:,} users) and "
          f"{path.parent / PARAMS_FILE}; calibrated model inside every published "
          f"figure's interval: {cal.report['all_inside']}"
          + (f" (outside: {', '.join(cal.report['conflicts'])})" if cal.report["conflicts"]
             else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

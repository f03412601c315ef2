r"""Simulated merchant adoption of RedNote's cross-border programme, by market.

**Everything this module generates is SIMULATED, not observed RedNote data.** RedNote
has published no merchant-level or weekly figures on its cross-border programme (the
"出海领航计划", which invited merchants from early March 2025 for the US, Hong Kong
and Macau). This module builds a stand-in with the right *published* aggregates, so that
the diffusion models of :mod:`analysis.models.adoption` can be exercised, their estimates
checked against a known truth, and "what if" questions on advertising asked. Every
simulated DataFrame has a boolean column ``simulated`` (all True) and
``attrs["simulated"] = True``; tables derived only from published figures carry
``attrs["simulated"] = False``.

Generative model
----------------
1. **Monthly merchant base, 2024.** :math:`M_0` merchants on 1 January 2024 (an
   ASSUMPTION: RedNote publishes no count; it sets the simulation's scale). In month
   :math:`j = 1..J` (:math:`J` = the months of the published 2024 growth figure),
   :math:`E_j \sim \mathrm{Poisson}(g\,M_{j-1})` merchants join and none leave (net
   growth), so :math:`\mathrm E[M_J]/M_0 = (1+g)^J`.
2. **Invitations.** At launch (the first day of the published "early March" window,
   1 March 2025) each merchant of the end-of-2024 base is invited to at most one market
   :math:`k \in \{US, HK, MO\}` with probability :math:`s_k` (invited shares: ASSUMPTIONS,
   :data:`DEFAULT_MARKETS`): the invited pools are multinomial draws.
3. **Readiness and opt-in.** Invited merchant :math:`i` has a readiness
   :math:`z_i \sim N(0, 1)`; it eventually opts in to the programme iff
   :math:`z_i > c` (so the Bass market potential of market :math:`k` is the number of
   invited merchants above the threshold).
4. **Opt-in time: a Generalized Bass hazard.** Among eventual adopters the hazard of
   opting in at calendar time :math:`t` (days since launch) is

   .. math:: \frac{f(t)}{1 - F(t)} = \bigl(p_k + q_k F(t)\bigr)\,x(t),
             \qquad x(t) = 1 + \beta\,e(t)

   (Bass 1969; Bass, Krishnan & Jain 1994), with market-specific innovation
   :math:`p_k` and imitation :math:`q_k` (ASSUMPTIONS, stated per week) and the ad-effort
   multiplier :math:`x(t)`. Hence :math:`F(t) = F_{Bass}(X(t))`, :math:`X(t) = \int_0^t x`,
   and each adopter's time is drawn by inversion: :math:`u \sim U(0,1)`, Bass-clock time
   :math:`\tau = \ln\frac{1 + (q/p)u}{1-u} / (p+q)`, calendar time :math:`X^{-1}(\tau)`.
   The imitation term uses the expected adopted share :math:`F(t)` (the mean-field
   reading of the Bass model as a distribution of adoption times; with hundreds of
   adopters the realised share differs from it by a few points at most), which makes
   the simulation's true :math:`(m_k, p_k, q_k, \beta)` exact targets for the
   estimators. Drawing :math:`\tau` once per merchant also gives exact counterfactuals:
   the same merchant's opt-in time under another ad path is :math:`X_{alt}^{-1}(\tau)`.
5. **Ad effort.** :math:`e(t)` is a daily ad-placement index (peak = 1) whose *shape*
   comes from the published AppGrowing dates of RedNote's January 2025 US campaign:
   placements rose from the start of the US surge (13 January, ASSUMPTION) to their
   peak on 22 January (published), then fell until they had "nearly stopped" on
   20 February (published; "nearly stopped" read as :math:`\varepsilon` = 5 % of the
   peak, an ASSUMPTION -- no volume is published): a linear rise over the ramp days,
   then an exponential decay reaching :math:`\varepsilon` after the published
   peak-to-halt interval. That campaign had ended before the programme's invitations,
   so the simulation ASSUMES RedNote backs the programme with a US campaign of the same
   shape starting on launch day (the shape is transposed, the calendar is not).
   Scenarios: ``"stop_ads"`` -- the campaign stops as the January one did;
   ``"continue"`` -- placements stay at the peak level once reached.
   ``effort_scenario`` names the path the simulated world follows; the other path is
   its counterfactual. :math:`\beta` (ASSUMPTION) is the proportional speed-up of the
   diffusion clock at peak placements.
6. **First overseas order.** An opted-in merchant gets a first overseas order with
   probability :math:`\mathrm{expit}(\gamma_0 + \gamma_1 z_i)` (readier merchants do
   better; slope :math:`\gamma_1` an ASSUMPTION), after a Gamma-distributed lag from
   opt-in (mean and shape ASSUMPTIONS).

Calibration (fitted with ``scipy.optimize``, never hand-tuned)
--------------------------------------------------------------
The free parameters are fitted to published figures selected from
``data/raw/published_metrics.csv`` by entity and metric (:func:`published_targets`):

=================================  ========================================  ======
parameter                          published target                          fit
=================================  ========================================  ======
monthly net growth :math:`g`       RedNote merchants grew 8.1x in 2024       brentq
opt-in threshold :math:`c`         about 20 % of merchants aim for results   least
                                   on RedNote (read: eventual opt-in share)  squares
success intercept :math:`\gamma_0`  under a quarter of those who try get      (joint)
                                   results (read: share of opted-in
                                   merchants with a first overseas order)
=================================  ========================================  ======

The model-implied values are computed exactly (the growth multiple in closed form, the
funnel shares by numerical integration over the readiness distribution) and matched to
the targets (:data:`CALIBRATION_TOLERANCE`, relative); a realised simulation then
matches them up to sampling noise. "Under a quarter" is an upper bound; the simulation
is calibrated *to* the bound, i.e. it is the optimistic edge of what was published.
The readings are themselves assumptions: the 20 % and the quarter come from one
founder's account of apparel merchants (January 2025), not from the programme.

What is *not* calibrated: :math:`p_k, q_k`, the invited shares, :math:`M_0`,
:math:`\beta`, the ad-path shape parameters and the order lag. No published series of
programme adoption exists, so these are the simulation's stated ground truth
(:class:`Assumptions`); fitted diffusion curves can only show how well the estimators
recover them (and with how much uncertainty), not anything about the real programme.

Units. :math:`p, q` are stated per week; per period they scale with the period length
(``p_period = p_week * days / 7``; a "month" is 365.25/12 days, so periods are equal).
Periods start at launch: week 1 is 1-7 March 2025.

Also here: :func:`growth_comparison` -- RedNote's 2024 merchant growth set against
TikTok Shop's US merchant growth (April - 6 December 2024) as implied constant monthly
rates, from the published multiples and their periods (published-derived, not
simulated); and the per-market fitting, model-comparison and ad-scenario helpers the
merchant-adoption notebook calls.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from analysis.models import adoption
from analysis.data.sources import load_published_metrics

__all__ = [
    "Assumptions",
    "Calibration",
    "MarketAssumptions",
    "MarketFit",
    "MerchantSimulation",
    "PublishedTarget",
    "ScenarioResult",
    "ad_scenario",
    "adoption_series",
    "calibrate",
    "calibration_table",
    "campaign_days",
    "compare_by_market",
    "compare_pivot",
    "compare_summary",
    "effort_paths",
    "estimates_by_market",
    "fit_markets",
    "forecast_origins",
    "format_estimates",
    "format_scenario",
    "funnel_table",
    "growth_comparison",
    "implied_monthly_growth",
    "join_words",
    "jsonable",
    "more_or_fewer",
    "period_days",
    "plot_growth",
    "plot_market_fits",
    "plot_scenario",
    "published_dates",
    "published_targets",
    "simulate_merchants",
    "true_parameters",
    "with_assumptions",
]

MARKETS: tuple[str, ...] = ("US", "HK", "MO")
SCENARIOS: tuple[str, ...] = ("stop_ads", "continue")
PERIOD_UNITS: tuple[str, ...] = ("week", "month")
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

#: Sultan, Farley & Lehmann (1990, J. Marketing Research 27(1), 70-77), meta-analysis of
#: 213 Bass applications (annual data, mostly consumer durables): mean p and mean q.
SFL_MEAN_P = 0.03
SFL_MEAN_Q = 0.38

#: Level of every interval this module reports (bootstrap percentiles and Wald).
INTERVAL_LEVEL = 0.95
_ALPHA = 1 - INTERVAL_LEVEL
_QUANTILES = (_ALPHA / 2, 1 - _ALPHA / 2)

#: Relative tolerance within which the calibrated model reproduces each target.
CALIBRATION_TOLERANCE = 1e-6

#: Published figures the simulation is calibrated to or shaped by:
#: name -> (entity, market, metric, qualifier). Selected by these fields, never by value.
_SELECTORS: dict[str, tuple[str, str, str, str | None]] = {
    "merchant_growth": ("RedNote", "CN", "merchant_count_growth", None),
    "opt_in_share": ("RedNote", "CN", "merchant_share_seeking_results", None),
    "success_share": ("RedNote", "CN", "merchant_success_rate", None),
    "programme_launch": ("RedNote", "US+HK+MO", "programme_launch", None),
    "pilot_markets": ("RedNote", "US+HK+MO", "pilot_markets_count", None),
    "ad_peak": ("RedNote", "US", "ad_placements_peak", None),
    "ad_nearly_stopped": ("RedNote", "US", "ad_placements_nearly_stopped", None),
}

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


# ---------------------------------------------------------------------------------------
# Assumptions
# ---------------------------------------------------------------------------------------


def _positive(name: str, value: Any, *, upper: float | None = None, allow_zero=False) -> None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if upper is not None:
        ok = ok and v <= upper
    if not ok:
        rel = ">= 0" if allow_zero else "> 0"
        extra = f" and <= {upper}" if upper is not None else ""
        raise ValueError(f"{name} must be finite, {rel}{extra}; got {value!r}")


@dataclass(frozen=True)
class MarketAssumptions:
    """ASSUMED inputs of one market (nothing published pins them down).

    ``invite_share``: share of the end-2024 merchant base invited in this market;
    ``p_week``, ``q_week``: the simulation's true Bass innovation and imitation
    coefficients per week (organic, i.e. without ad effort).
    """

    invite_share: float
    p_week: float
    q_week: float

    def __post_init__(self):
        _positive("invite_share", self.invite_share, upper=1.0)
        _positive("p_week", self.p_week, upper=1.0)
        _positive("q_week", self.q_week, upper=5.0, allow_zero=True)


#: Default per-market assumptions. The US pool is the largest; Hong Kong and Macau are
#: assumed to imitate faster (denser merchant networks, q/p = 20 against 8 in the US).
DEFAULT_MARKETS: dict[str, MarketAssumptions] = {
    "US": MarketAssumptions(invite_share=0.025, p_week=0.012, q_week=0.10),
    "HK": MarketAssumptions(invite_share=0.015, p_week=0.010, q_week=0.20),
    "MO": MarketAssumptions(invite_share=0.006, p_week=0.008, q_week=0.16),
}


@dataclass(frozen=True)
class Assumptions:
    """Every ASSUMED input of the simulation (see the module docstring).

    base_start : merchants on RedNote on 1 January 2024 (sets the scale).
    markets : per-market :class:`MarketAssumptions`.
    ad_beta : speed-up of the diffusion clock at peak ad placements (``x = 1 + beta e``).
    nearly_stopped_level : ad placements on the "nearly stopped" day, share of the peak.
    ad_ramp_start : first day of the January campaign's placements (the start of the US
        surge); with the published peak day it sets the length of the campaign's rise.
    readiness_success_slope : gamma_1, effect of readiness on first-order success.
    order_lag_mean_days, order_lag_shape : Gamma lag from opt-in to first overseas order.
    horizon_days : days simulated from launch.
    """

    base_start: int = 20_000
    markets: Mapping[str, MarketAssumptions] = field(
        default_factory=lambda: dict(DEFAULT_MARKETS))
    ad_beta: float = 1.0
    nearly_stopped_level: float = 0.05
    ad_ramp_start: str = "2025-01-13"
    readiness_success_slope: float = 1.0
    order_lag_mean_days: float = 21.0
    order_lag_shape: float = 2.0
    horizon_days: float = 366.0

    def __post_init__(self):
        if int(self.base_start) != self.base_start or self.base_start < 1:
            raise ValueError(f"base_start must be a positive integer, got {self.base_start!r}")
        if set(self.markets) != set(MARKETS):
            raise ValueError(f"markets must give assumptions for exactly {MARKETS}, "
                             f"got {sorted(self.markets)}")
        for name, mk in self.markets.items():
            if not isinstance(mk, MarketAssumptions):
                raise ValueError(f"markets[{name!r}] must be a MarketAssumptions")
        total = sum(mk.invite_share for mk in self.markets.values())
        if total > 1:
            raise ValueError(f"invite shares sum to {total:g} > 1")
        _positive("ad_beta", self.ad_beta, allow_zero=True)
        _positive("nearly_stopped_level", self.nearly_stopped_level)
        if self.nearly_stopped_level >= 1:
            raise ValueError("nearly_stopped_level must be below 1 (a share of the peak)")
        _positive("readiness_success_slope", self.readiness_success_slope, allow_zero=True)
        _positive("order_lag_mean_days", self.order_lag_mean_days)
        _positive("order_lag_shape", self.order_lag_shape)
        _positive("horizon_days", self.horizon_days)
        if self.horizon_days < 8 * DAYS_PER_MONTH:
            raise ValueError("horizon_days must cover at least 8 months")
        try:
            pd.Timestamp(self.ad_ramp_start)
        except ValueError:
            raise ValueError(f"ad_ramp_start must be a date, got {self.ad_ramp_start!r}") from None


# ---------------------------------------------------------------------------------------
# Published figures
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedTarget:
    """One published figure (a row of published_metrics.csv) used by the simulation."""

    name: str
    id: str
    entity: str
    market: str
    metric: str
    value: float
    unit: str
    qualifier: str
    period_start: pd.Timestamp
    period_end: pd.Timestamp
    note: str


def _select(metrics: pd.DataFrame, name: str) -> PublishedTarget:
    entity, market, metric, qualifier = _SELECTORS[name]
    rows = metrics[(metrics["entity"] == entity) & (metrics["market"] == market)
                   & (metrics["metric"] == metric)]
    if qualifier is not None:
        rows = rows[rows["qualifier"] == qualifier]
    if len(rows) != 1:
        raise LookupError(f"expected one published figure for {name} ({entity}, {market}, "
                          f"{metric}); found {len(rows)}")
    r = rows.iloc[0]
    return PublishedTarget(name, r["id"], entity, market, metric, float(r["value"]), r["unit"],
                           r["qualifier"], pd.Timestamp(r["period_start"]),
                           pd.Timestamp(r["period_end"]), r["note_en"])


def published_targets(metrics: pd.DataFrame | None = None) -> dict[str, PublishedTarget]:
    """The published figures the simulation is calibrated to (or shaped by), by name.

    Keys: ``merchant_growth`` (8.1x, 2024), ``opt_in_share`` (about 20 %),
    ``success_share`` (under 25 %), ``programme_launch``, ``pilot_markets``,
    ``ad_peak``, ``ad_nearly_stopped``. Each is selected by entity, market and metric.
    """
    metrics = load_published_metrics() if metrics is None else metrics
    out = {name: _select(metrics, name) for name in _SELECTORS}
    if int(out["pilot_markets"].value) != len(MARKETS):
        raise LookupError(f"the programme's first phase has {out['pilot_markets'].value:g} "
                          f"markets in the published figures; the simulation models {MARKETS}")
    for name, unit in (("opt_in_share", "percent"), ("success_share", "percent"),
                       ("merchant_growth", "multiple")):
        if out[name].unit != unit:
            raise LookupError(f"{name}: expected unit {unit}, found {out[name].unit}")
    return out


def published_dates(metrics: pd.DataFrame | None = None) -> dict[str, pd.Timestamp]:
    """Launch (first day of the "early March" window), ad peak and ad near-halt days."""
    t = published_targets(metrics)
    return {"launch": t["programme_launch"].period_start,
            "ad_peak": t["ad_peak"].period_start,
            "ad_nearly_stopped": t["ad_nearly_stopped"].period_start}


def _months(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Length of a published period ``[start, end]`` (both days included) in months."""
    return ((pd.Timestamp(end) - pd.Timestamp(start)).days + 1) / DAYS_PER_MONTH


def implied_monthly_growth(multiple: float, start: Any, end: Any) -> float:
    """Constant monthly growth rate implied by growing ``multiple``-fold over a period.

    ``(1 + g)^months = multiple`` with ``months`` the length of ``[start, end]`` (both
    days included) in months of 365.25/12 days. Returns ``g`` as a fraction.
    """
    _positive("multiple", multiple)
    months = _months(start, end)
    if months <= 0:
        raise ValueError(f"the period {start} .. {end} is empty")
    return float(multiple) ** (1.0 / months) - 1.0


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
                "months": _months(r.period_start, r.period_end), "multiple": r.value,
                "qualifier": r.qualifier, "monthly_growth_percent": 100 * g,
                "doubling_months": math.log(2) / math.log1p(g),
            })
    out = pd.DataFrame(rows)
    out.attrs["simulated"] = False
    return out


# ---------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------


def _funnel_moments(threshold: float, intercept: float, slope: float) -> tuple[float, float]:
    """Exact opt-in share ``P(z > c)`` and success share ``E[expit(g0 + g1 z) | z > c]``."""
    share = float(stats.norm.sf(threshold))
    num, _ = integrate.quad(lambda z: special.expit(intercept + slope * z) * stats.norm.pdf(z),
                            threshold, np.inf, epsabs=1e-13, epsrel=1e-11)
    return share, num / share


@dataclass(frozen=True)
class Calibration:
    """Fitted parameters, the targets they were fitted to, and the model-implied values.

    ``expected`` holds the model-implied value of each target at the fitted parameters
    (same units as the published value: a multiple, percentages).
    """

    assumptions: Assumptions
    targets: dict[str, PublishedTarget]
    months_2024: int
    monthly_growth: float
    opt_in_threshold: float
    success_intercept: float
    expected: dict[str, float]

    @property
    def dates(self) -> dict[str, pd.Timestamp]:
        t = self.targets
        return {"launch": t["programme_launch"].period_start,
                "ad_peak": t["ad_peak"].period_start,
                "ad_nearly_stopped": t["ad_nearly_stopped"].period_start}


def calibrate(metrics: pd.DataFrame | None = None,
              assumptions: Assumptions | None = None) -> Calibration:
    """Fit the free parameters to the published figures (see the module docstring).

    * monthly net growth ``g``: ``scipy.optimize.brentq`` on ``(1+g)^J = multiple``,
      ``J`` = whole months of the published 2024 period;
    * opt-in threshold ``c`` and success intercept ``gamma_0``: jointly by
      ``scipy.optimize.least_squares`` on the relative errors of the exact funnel shares.

    Raises ``ValueError`` when a target is outside what the model can reach (a share not
    in (0, 100) percent, a multiple not above 1) or the fit misses a target by more than
    :data:`CALIBRATION_TOLERANCE`.
    """
    assumptions = Assumptions() if assumptions is None else assumptions
    targets = published_targets(metrics)
    growth = targets["merchant_growth"]
    if not growth.value > 1:
        raise ValueError(f"merchant growth multiple must exceed 1, got {growth.value}")
    months = round(_months(growth.period_start, growth.period_end))
    if months < 1:
        raise ValueError("the merchant-growth period is shorter than a month")
    g = optimize.brentq(lambda x: (1 + x) ** months - growth.value, 0.0, growth.value,
                        xtol=1e-14, rtol=1e-14)

    opt_in = targets["opt_in_share"].value / 100
    success = targets["success_share"].value / 100
    for name, v in (("opt_in_share", opt_in), ("success_share", success)):
        if not 0 < v < 1:
            raise ValueError(f"{name} must be strictly between 0 and 100 percent, got {100 * v}")
    slope = float(assumptions.readiness_success_slope)

    def resid(theta):
        share, succ = _funnel_moments(theta[0], theta[1], slope)
        return [share / opt_in - 1, succ / success - 1]

    start = [stats.norm.isf(opt_in), special.logit(success) - slope]
    fit = optimize.least_squares(resid, start, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    c, g0 = (float(v) for v in fit.x)
    share, succ = _funnel_moments(c, g0, slope)
    expected = {"merchant_growth": (1 + g) ** months,
                "opt_in_share": 100 * share, "success_share": 100 * succ}
    for name, value in expected.items():
        if abs(value / targets[name].value - 1) > CALIBRATION_TOLERANCE:
            raise ValueError(f"calibration missed {name}: model {value:.6g} vs published "
                             f"{targets[name].value:.6g}")
    return Calibration(assumptions, targets, months, float(g), c, g0, expected)


# ---------------------------------------------------------------------------------------
# Ad effort
# ---------------------------------------------------------------------------------------


def _check_scenario(scenario: str) -> str:
    if scenario not in SCENARIOS:
        raise ValueError(f"effort scenario must be one of {SCENARIOS}, got {scenario!r}")
    return scenario


def period_days(period_unit: str) -> float:
    """Length of a period in days: 7 for ``"week"``, 365.25/12 for ``"month"``."""
    if period_unit == "week":
        return 7.0
    if period_unit == "month":
        return DAYS_PER_MONTH
    raise ValueError(f"period_unit must be one of {PERIOD_UNITS}, got {period_unit!r}")


def campaign_days(cal: Calibration) -> dict[str, int]:
    """Lengths of the January campaign's phases: ``ramp`` (start to peak) and ``decay``
    (peak to "nearly stopped", published), in days."""
    a = cal.assumptions
    start = pd.Timestamp(a.ad_ramp_start)
    peak, stop = cal.dates["ad_peak"], cal.dates["ad_nearly_stopped"]
    ramp, decay = (peak - start).days, (stop - peak).days
    if ramp < 1 or decay < 1:
        raise ValueError("ad dates must be ordered: ramp start < peak < nearly stopped")
    return {"ramp": ramp, "decay": decay}


def _ad_index(days: np.ndarray, cal: Calibration, scenario: str) -> np.ndarray:
    """Daily ad-placement index (peak = 1) on ``days`` (days since launch)."""
    ph = campaign_days(cal)
    rate = math.log(1.0 / cal.assumptions.nearly_stopped_level) / ph["decay"]
    after = (np.ones_like(days, dtype=float) if scenario == "continue"
             else np.exp(-rate * (days - ph["ramp"])))
    return np.where(days < 0, 0.0, np.where(days <= ph["ramp"], days / ph["ramp"], after))


def effort_paths(cal: Calibration) -> pd.DataFrame:
    """Daily ad-placement index (peak = 1) under both scenarios, from launch day.

    Columns: ``day`` (days since launch, 0..horizon), ``date``, ``ads_stop_ads``,
    ``ads_continue``, ``simulated`` (the index is constructed, not observed: AppGrowing
    published dates only, and the campaign is transposed to the programme's launch).
    Day ``d`` stands for the interval ``[d, d + 1)``.
    """
    launch = cal.dates["launch"]
    days = np.arange(0, int(math.ceil(cal.assumptions.horizon_days)) + 1)
    out = pd.DataFrame({"day": days, "date": launch + pd.to_timedelta(days, unit="D")})
    for sc in SCENARIOS:
        out[f"ads_{sc}"] = _ad_index(days, cal, sc)
    out["simulated"] = True
    out.attrs["simulated"] = True
    return out


def _clock(effort: pd.DataFrame, beta: float, scenario: str) -> tuple[np.ndarray, np.ndarray]:
    """Knots (days since launch, 0..D) and the GBM clock X at the knots, in days."""
    e = effort[f"ads_{scenario}"].to_numpy()[:-1]  # day d covers [d, d + 1)
    knots = effort["day"].to_numpy(dtype=float)
    return knots, np.concatenate([[0.0], np.cumsum(1.0 + beta * e)])


# ---------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantSimulation:
    """A simulated world (SIMULATED data; every frame has ``simulated = True``).

    ``base``: the monthly merchant base of 2024; ``merchants``: one row per invited
    merchant; ``effort``: daily ad-placement index (both scenarios);
    ``effort_scenario``: the ad path this world follows.
    """

    calibration: Calibration
    seed: int
    effort_scenario: str
    base: pd.DataFrame
    merchants: pd.DataFrame
    effort: pd.DataFrame

    @property
    def launch(self) -> pd.Timestamp:
        return self.calibration.dates["launch"]

    @property
    def alternative(self) -> str:
        """The counterfactual ad path (the scenario this world does not follow)."""
        return next(s for s in SCENARIOS if s != self.effort_scenario)

    def opt_in_days(self, scenario: str | None = None) -> np.ndarray:
        """Opt-in day (days since launch) of every merchant under an ad path.

        NaN for merchants who never opt in or who would opt in after the horizon. For
        the world's own path this is ``merchants["opt_in_day"]``; for the other path it
        is the exact counterfactual of the same merchants (same Bass-clock times).
        """
        scenario = self.effort_scenario if scenario is None else _check_scenario(scenario)
        knots, X = _clock(self.effort, self.calibration.assumptions.ad_beta, scenario)
        tau = self.merchants["bass_clock_days"].to_numpy()
        out = np.full(tau.shape, np.nan)
        ok = np.isfinite(tau) & (tau <= X[-1])
        out[ok] = np.interp(tau[ok], X, knots)
        return out


def _label(frame: pd.DataFrame) -> pd.DataFrame:
    frame["simulated"] = True
    frame.attrs["simulated"] = True
    return frame


def simulate_merchants(calibration: Calibration, seed: int,
                       effort_scenario: str = "stop_ads") -> MerchantSimulation:
    """Simulate the merchant base, the invitations, opt-ins and first overseas orders.

    Deterministic for a seed: independent random streams (``numpy.random.SeedSequence``
    spawned from ``seed``) feed the base, the invitations, readiness, Bass-clock times,
    success and order lags. Raises ``ValueError`` for a negative or non-integer seed or an
    unknown scenario.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(calibration, Calibration):
        raise ValueError("calibration must come from merchants.calibrate()")
    _check_scenario(effort_scenario)
    cal, a = calibration, calibration.assumptions
    rng_base, rng_pool, rng_ready, rng_time, rng_success, rng_lag = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6))

    # 1. monthly merchant base
    start = cal.targets["merchant_growth"].period_start
    counts, expected = [a.base_start], [float(a.base_start)]
    for _ in range(cal.months_2024):
        counts.append(counts[-1] + int(rng_base.poisson(cal.monthly_growth * counts[-1])))
        expected.append(expected[-1] * (1 + cal.monthly_growth))
    base = pd.DataFrame({
        "month": np.arange(cal.months_2024 + 1),
        "date": [start + pd.DateOffset(months=j) for j in range(cal.months_2024 + 1)],
        "merchants": counts, "expected": expected})
    base["multiple"] = base["merchants"] / a.base_start
    _label(base)

    # 2. invitations
    shares = [a.markets[k].invite_share for k in MARKETS]
    pools = rng_pool.multinomial(counts[-1], [*shares, 1 - sum(shares)])[: len(MARKETS)]
    market = np.repeat(np.array(MARKETS), pools)
    n = market.size

    # 3. readiness, eventual opt-in
    z = rng_ready.standard_normal(n)
    opts_in = z > cal.opt_in_threshold

    # 4. Bass-clock opt-in times (in days) by inversion, per market
    u = rng_time.random(n)
    tau = np.full(n, np.nan)
    for k in MARKETS:
        sel = opts_in & (market == k)
        p, q = a.markets[k].p_week / 7, a.markets[k].q_week / 7
        tau[sel] = np.log((1 + (q / p) * u[sel]) / (1 - u[sel])) / (p + q)

    # 6. first overseas order (step 5, the ad clock, enters through opt_in_days below)
    prob = special.expit(cal.success_intercept + a.readiness_success_slope * z)
    succeeds = opts_in & (rng_success.random(n) < prob)
    lag = rng_lag.gamma(a.order_lag_shape, a.order_lag_mean_days / a.order_lag_shape, n)

    merchants = pd.DataFrame({
        "merchant_id": np.arange(1, n + 1), "market": market, "readiness": z,
        "opts_in": opts_in, "bass_clock_days": tau, "succeeds": succeeds,
        "order_lag_days": np.where(succeeds, lag, np.nan)})
    effort = effort_paths(cal)
    sim = MerchantSimulation(cal, int(seed), effort_scenario, _label(base),
                             _label(merchants), effort)
    opt_day = sim.opt_in_days()
    merchants["opt_in_day"] = opt_day
    order_day = opt_day + merchants["order_lag_days"].to_numpy()
    merchants["first_order_day"] = np.where(order_day <= a.horizon_days, order_day, np.nan)
    merchants.insert(len(merchants.columns) - 1, "simulated", merchants.pop("simulated"))
    return sim


# ---------------------------------------------------------------------------------------
# Series and truth
# ---------------------------------------------------------------------------------------


def _n_periods(sim: MerchantSimulation, period_unit: str) -> int:
    return int(math.floor(sim.calibration.assumptions.horizon_days / period_days(period_unit)
                          + 1e-9))


def adoption_series(sim: MerchantSimulation, period_unit: str = "week",
                    scenario: str | None = None) -> pd.DataFrame:
    """Per-period adoption by market (US, HK, MO and ``all``), SIMULATED.

    Long format, one row per market and period ``1..T`` (complete periods within the
    horizon; week 1 starts on launch day). Columns: ``market``, ``period``,
    ``period_start``, ``invited``, ``opt_ins`` (the Bass adoption event),
    ``first_orders``, ``cum_opt_ins``, ``cum_first_orders``, ``effort`` (mean ad
    placements over the period under the path used, peak = 1), ``scenario``, ``simulated``.
    ``scenario`` defaults to the world's own ad path; the other path gives the exact
    counterfactual (first orders keep each merchant's lag).
    """
    scenario = sim.effort_scenario if scenario is None else _check_scenario(scenario)
    L = period_days(period_unit)
    T = _n_periods(sim, period_unit)
    edges = L * np.arange(T + 1)
    m = sim.merchants
    opt = sim.opt_in_days(scenario)
    order = opt + m["order_lag_days"].to_numpy()
    # mean ad index per period: integrate the daily step function exactly
    e = sim.effort[f"ads_{scenario}"].to_numpy()[:-1]
    cum_e = np.concatenate([[0.0], np.cumsum(e)])
    knots = sim.effort["day"].to_numpy(dtype=float)
    effort = np.diff(np.interp(edges, knots, cum_e)) / L
    rows = []
    for k in (*MARKETS, "all"):
        sel = np.ones(len(m), bool) if k == "all" else (m["market"] == k).to_numpy()
        o = np.histogram(opt[sel][np.isfinite(opt[sel])], bins=edges)[0]
        f = np.histogram(order[sel][np.isfinite(order[sel])], bins=edges)[0]
        rows.append(pd.DataFrame({
            "market": k, "period": np.arange(1, T + 1),
            "period_start": (sim.launch + pd.to_timedelta(edges[:-1], unit="D")).floor("D"),
            "invited": int(sel.sum()), "opt_ins": o, "first_orders": f,
            "cum_opt_ins": np.cumsum(o), "cum_first_orders": np.cumsum(f),
            "effort": effort, "scenario": scenario}))
    out = pd.concat(rows, ignore_index=True)
    out.attrs["period_unit"] = period_unit
    return _label(out)


def _select_market(series: pd.DataFrame, market: str) -> pd.DataFrame:
    if market not in (*MARKETS, "all"):
        raise ValueError(f"market must be one of {(*MARKETS, 'all')}, got {market!r}")
    out = series[series["market"] == market].sort_values("period")
    if out.empty:
        raise ValueError(f"no series for market {market!r}")
    return out


def _peak_day(p: float, q: float, knots: np.ndarray, X: np.ndarray) -> float:
    """Calendar day at which the GBM clock reaches the Bass peak ``ln(q/p)/(p+q)``."""
    target = float(adoption.bass_peak_time(p, q))
    if target > X[-1]:
        return float("nan")
    return float(np.interp(target, X, knots))


def true_parameters(sim: MerchantSimulation, period_unit: str = "week") -> pd.DataFrame:
    """The simulation's ground truth per market, in units of ``period_unit``.

    Columns: ``market``, ``m`` (eventual opt-ins: invited merchants above the readiness
    threshold), ``p``, ``q`` (organic, per period), ``beta``, ``q_over_p``,
    ``peak_period`` (periods since launch at which the adoption rate peaks under the
    world's ad path), ``peak_date``, ``simulated``.
    """
    L = period_days(period_unit)
    a = sim.calibration.assumptions
    knots, X = _clock(sim.effort, a.ad_beta, sim.effort_scenario)
    rows = []
    for k in MARKETS:
        mk = a.markets[k]
        p_d, q_d = mk.p_week / 7, mk.q_week / 7
        day = _peak_day(p_d, q_d, knots, X)
        rows.append({
            "market": k,
            "m": int((sim.merchants["opts_in"] & (sim.merchants["market"] == k)).sum()),
            "p": p_d * L, "q": q_d * L, "beta": a.ad_beta, "q_over_p": mk.q_week / mk.p_week,
            "peak_period": day / L,
            "peak_date": (sim.launch + pd.Timedelta(days=day)).floor("D")
            if math.isfinite(day) else pd.NaT})
    return _label(pd.DataFrame(rows))


def funnel_table(sim: MerchantSimulation) -> pd.DataFrame:
    """Invited -> opt-in -> first overseas order by market (SIMULATED, within horizon).

    Columns: ``market``, ``invited``, ``eventual_opt_ins`` (latent), ``opted_in``,
    ``first_orders`` (within the horizon), ``opt_in_percent`` (eventual opt-ins /
    invited), ``success_percent`` (eventual successes / eventual opt-ins, the calibrated
    quantity), ``first_order_percent`` (first orders within the horizon / opted in),
    ``simulated``.
    """
    m = sim.merchants
    rows = []
    for k in (*MARKETS, "all"):
        g = m if k == "all" else m[m["market"] == k]
        n, eventual = len(g), int(g["opts_in"].sum())
        opted = int(g["opt_in_day"].notna().sum())
        orders = int(g["first_order_day"].notna().sum())
        rows.append({
            "market": k, "invited": n, "eventual_opt_ins": eventual, "opted_in": opted,
            "first_orders": orders,
            "opt_in_percent": 100 * eventual / n if n else float("nan"),
            "success_percent": 100 * g["succeeds"].sum() / eventual if eventual else float("nan"),
            "first_order_percent": 100 * orders / opted if opted else float("nan")})
    return _label(pd.DataFrame(rows))


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
    return _label(pd.DataFrame(rows))


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

    With ``bootstrap_draws >= 2`` residual bootstraps of both fits give intervals (:data:`INTERVAL_LEVEL`)
    (seeded from ``seed`` and the market's position); with fewer, intervals are the
    Wald intervals of the fits and scenario effects get none.
    """
    draws = _check_count("bootstrap_draws", bootstrap_draws)
    seed = _check_count("seed", seed)
    out = {}
    for i, k in enumerate(markets):
        s = _select_market(series, k)
        y = s["opt_ins"].to_numpy(dtype=float)
        e = s["effort"].to_numpy(dtype=float)
        model = adoption.BassDiffusion(method="nls").fit(y)
        boot = gboot = gbm = None
        note = ""
        if draws >= 2:
            boot = _quiet(model.bootstrap, draws, np.random.SeedSequence([seed, i, 0]),
                          alpha=_ALPHA)
        try:
            gbm = _quiet(adoption.GeneralizedBass(baseline=0.0).fit, y, e)
            if draws >= 2:
                gboot = _quiet(gbm.bootstrap, draws, np.random.SeedSequence([seed, i, 1]),
                               alpha=_ALPHA)
        except (adoption.ConvergenceError, ValueError) as exc:
            note = f"the Generalized Bass model could not be fitted: {exc}"
        out[k] = MarketFit(k, y, e, model, boot, gbm, gboot, note)
    return out


def estimates_by_market(fits: Mapping[str, MarketFit], truth: pd.DataFrame,
                        period_unit: str, launch: pd.Timestamp) -> pd.DataFrame:
    """p, q (intervals (:data:`INTERVAL_LEVEL`)), q/p, annualised p, q and time to peak, per market and
    estimator: ``Bass (NLS)``, ``Generalized Bass`` and ``simulation truth``. SIMULATED.

    ``truth`` is :func:`true_parameters` output. Intervals are bootstrap percentiles
    when a bootstrap was run (``interval`` = ``bootstrap``), Wald otherwise.
    ``p_year``/``q_year`` rescale per-period values to a year (continuous-time Bass
    coefficients scale with the time unit), comparable with annual meta-analyses such
    as Sultan, Farley & Lehmann (1990). ``peak_period`` is the time of the adoption-rate
    peak in periods since launch (for the GBM and the truth: on the calendar, ads
    included); its interval comes from the Bass bootstrap.
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
        summ = model.summary(alpha=_ALPHA) if boot is None else boot.intervals
        return ([summ.loc[n, b] for n in ("p", "q") for b in ("lower", "upper")],
                "Wald" if boot is None else "bootstrap")

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
        if fit.gbm is not None:
            g = fit.gbm
            iv, kind = intervals(g, fit.gbm_bootstrap)
            rows.append(row(k, "Generalized Bass", g.params_["m"], g.params_["p"],
                            g.params_["q"], iv, g.peak_time_, (nan, nan), kind))
        tr = truth[truth["market"] == k].iloc[0]
        rows.append(row(k, "simulation truth", float(tr["m"]), tr["p"], tr["q"],
                        [nan] * 4, tr["peak_period"], (nan, nan), "assumed"))
    return _label(pd.DataFrame(rows))


def _fmt(v: float, digits: int = 3) -> str:
    return "" if not math.isfinite(v) else f"{v:.{digits}f}"


def format_estimates(est: pd.DataFrame) -> pd.DataFrame:
    """:func:`estimates_by_market` as strings for a report table (p, q with intervals)."""
    def ci(r, name):
        lo, hi = r[f"{name}_lower"], r[f"{name}_upper"]
        core = _fmt(r[name])
        return core if not math.isfinite(lo) else f"{core} ({_fmt(lo)} to {_fmt(hi)})"

    return pd.DataFrame({
        "market": est["market"], "estimator": est["estimator"],
        f"p ({INTERVAL_LEVEL:.0%} interval)": [ci(r, "p") for _, r in est.iterrows()],
        f"q ({INTERVAL_LEVEL:.0%} interval)": [ci(r, "q") for _, r in est.iterrows()],
        "q/p": [_fmt(v, 1) for v in est["q_over_p"]],
        "peak": [d.strftime("%d %b %Y") if pd.notna(d) else "" for d in est["peak_date"]],
        "m": [f"{v:,.0f}" for v in est["m"]],
    })


MODEL_NAMES = {"bass_ols": "Bass (OLS)", "bass_nls": "Bass (NLS)",
               "generalized_bass": "Generalized Bass", "logistic": "logistic",
               "gompertz": "Gompertz"}


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
    """
    frames = []
    for k in markets:
        s = _select_market(series, k)
        y = s["opt_ins"].to_numpy(dtype=float)
        e = s["effort"].to_numpy(dtype=float)
        for origin in forecast_origins(y.size, holdout):
            end = origin + holdout
            try:
                c = _quiet(adoption.compare_models, y[:end], holdout=holdout, effort=e[:end])
            except ValueError as exc:  # e.g. no adoptions yet in the training window
                c = pd.DataFrame({"note": str(exc)}, index=pd.Index(list(MODEL_NAMES),
                                                                     name="model"))
            frames.append(c.reset_index().assign(market=k, origin=origin))
    out = pd.concat(frames, ignore_index=True)
    return _label(out[["market", "origin", "model",
                       *[c for c in out.columns if c not in ("market", "origin", "model")]]])


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
    return _label(out)


def compare_pivot(summary: pd.DataFrame) -> pd.DataFrame:
    """Models (rows) by market (columns) of the pooled holdout RMSE, as strings: the
    best per market in bold, "(k failed)" when a model could not be fitted at k
    origins, "not fitted" when it never could."""
    markets = [m for m in (*MARKETS, "all") if m in set(summary["market"])]
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


@dataclass
class ScenarioResult:
    """The ad scenario: GBM projections under both ad paths, and the simulated truth.

    ``paths`` (long, per market and period; ``all`` = sum of the markets when several):
    ``effort_<path>``, ``observed`` (cumulative opt-ins of the simulated world),
    ``gbm_<path>`` (the market's GBM, fitted to all periods, projected under each ad
    path) and ``true_<alternative>`` (the simulation's exact counterfactual).
    ``summary``: per market, the effect of switching to the alternative path at the
    checkpoint (about a quarter after launch) and at the horizon -- simulated
    (``true_effect``) and estimated (``estimated_effect`` with a bootstrap (:data:`INTERVAL_LEVEL`)
    interval, NaN without a bootstrap) -- and the fitted ``beta`` with its interval.
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
        a_s = _select_market(alt_series, k)
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
            beta = (fit.gbm.summary(alpha=_ALPHA) if fit.gbm_bootstrap is None
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
    return ScenarioResult(obs, alt, _label(paths), _label(pd.DataFrame(rows)), notes)


def _signed(v: float) -> str:
    return f"{round(v):+,d}" if math.isfinite(v) else ""


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
    out = pd.DataFrame(cols, index=pd.Index(labels, name=""))
    return out


def join_words(items: Sequence[str]) -> str:
    """["US", "HK", "MO"] -> "US, HK and MO" (for sentences)."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def more_or_fewer(value: float, noun: str = "opt-ins") -> str:
    """+469 -> "469 more opt-ins"; -23 -> "23 fewer opt-ins" (rounded)."""
    n = round(value)
    return f"{abs(n):,} {'more' if n >= 0 else 'fewer'} {noun}"


def jsonable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with missing values (NaN, NaT) as None, for :meth:`Results.table`, which
    refuses non-finite numbers. ``attrs`` are kept."""
    out = frame.astype(object).where(frame.notna(), None)
    out.attrs.update(frame.attrs)
    return out


# ---------------------------------------------------------------------------------------
# Plots (draw on given axes; no savefig/show). Callers stamp simulated figures with
# analysis.plotting.label_simulated.
# ---------------------------------------------------------------------------------------

SCENARIO_NAMES = {"stop_ads": "ads stopped", "continue": "ads continued"}
#: How sentences describe each ad path: (as the world's path, as a counterfactual).
SCENARIO_PHRASES = {
    "stop_ads": ("the ads stop within weeks, as RedNote's January US campaign did",
                 "had the ads stopped within weeks"),
    "continue": ("the ads continue at their peak level", "had the ads continued at their "
                 "peak level"),
}


def plot_growth(growth: pd.DataFrame, base: pd.DataFrame | None = None, ax=None):
    """Implied constant-growth paths of the published multiples (index = 1 at each start).

    ``growth`` is :func:`growth_comparison` output; ``base``, if given, is the simulated
    monthly merchant base (points).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
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
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

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
    return ax


def plot_market_fits(fits: Mapping[str, MarketFit], axes, period_unit: str):
    """One panel per market: simulated opt-ins, the Bass fit and its bootstrap band."""
    for ax, (k, fit) in zip(np.atleast_1d(axes), fits.items(), strict=False):
        adoption.plot_adoption(fit.model, fit.adoptions, ax=ax,
                               interval=fit.bootstrap, label="Bass (NLS) fit")
        ax.set_title(k)
        ax.set_xlabel(f"{period_unit}s since launch")
        ax.set_ylabel(f"opt-ins per {period_unit}")
        handles, labels = ax.get_legend_handles_labels()
        labels = ["simulated opt-ins" if lab == "observed" else lab for lab in labels]
        ax.legend(handles, labels, fontsize=7, loc="center right")
    return axes


def plot_scenario(result: ScenarioResult, market: str, axes):
    """Two panels for ``market``: ad placements under both paths; cumulative opt-ins
    (simulated world, simulated counterfactual, GBM fit and projection)."""
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
    return axes


def with_assumptions(**changes: Any) -> Assumptions:
    """Default :class:`Assumptions` with some fields replaced (validated)."""
    return replace(Assumptions(), **changes)

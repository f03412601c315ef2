r"""Simulated merchant adoption of RedNote's cross-border programme, by market.

**Everything this module generates is SIMULATED, not observed RedNote data.** RedNote
has published no merchant-level or weekly figures on its cross-border programme (the
"出海领航计划", which invited merchants from early March 2025 for the US, Hong Kong
and Macau). This module builds a stand-in with the right *published* aggregates, so that
the diffusion models of :mod:`analysis.models.adoption` can be exercised, their estimates
checked against a known truth, and "what if" questions on advertising asked. Every
simulated DataFrame has a boolean column ``simulated`` (all True) and
``attrs["simulated"] = True`` (:func:`mark_simulated`); tables derived only from
published figures (the growth comparison of :mod:`analysis.notebooks.merchant_adoption`)
carry ``attrs["simulated"] = False``.

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
The readings are themselves assumptions: the 20 % and the quarter are one interviewee's
impression -- Xueyan, founder of the YANN BOUTIQUE apparel brand, quoted in a January
2025 article -- of the *domestic* physical-apparel merchants she knows: about 20 % hope
to achieve something on RedNote (used here as the share of invited merchants who opt in
to the *cross-border* programme), and under a quarter of those who try achieve
"considerable results" (used here as the chance of a *first overseas order*, which is
not what she described). Neither figure is about the programme. :data:`INPUT_NOTES`
says, for every input, whose figure or assumption it is, what it measures and how the
simulation uses it; :func:`inputs_table` adds the value used and the range the source
supports (``value_low`` / ``value_high`` of ``published_metrics.csv``).

What is *not* calibrated: :math:`p_k, q_k`, the invited shares, :math:`M_0`,
:math:`\beta`, the ad-path shape parameters and the order lag. No published series of
programme adoption exists, so these are the simulation's stated ground truth
(:class:`Assumptions`); fitted diffusion curves can only show how well the estimators
recover them (and with how much uncertainty), not anything about the real programme.

Units. :math:`p, q` are stated per week; per period they scale with the period length
(``p_period = p_week * days / 7``; a "month" is 365.25/12 days, so periods are equal).
Periods start at launch: week 1 is 1-7 March 2025.

The notebook side -- fitting the diffusion models to these series, comparing them,
the ad scenario, the tables, sentences and plots of notebook 03 -- lives in
:mod:`analysis.notebooks.merchant_adoption`; this module only invents the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from analysis.data.sources import load_published_metrics
from analysis.models import adoption

__all__ = [
    "Assumptions",
    "CALIBRATION_TOLERANCE",
    "Calibration",
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "DEFAULT_MARKETS",
    "MARKETS",
    "MarketAssumptions",
    "MerchantSimulation",
    "PERIOD_UNITS",
    "PublishedTarget",
    "SCENARIOS",
    "adoption_series",
    "calibrate",
    "campaign_days",
    "effort_paths",
    "INPUT_NOTES",
    "funnel_table",
    "inputs_table",
    "mark_simulated",
    "months_between",
    "period_days",
    "published_dates",
    "published_targets",
    "select_market",
    "simulate_merchants",
    "true_parameters",
    "with_assumptions",
]

MARKETS: tuple[str, ...] = ("US", "HK", "MO")
SCENARIOS: tuple[str, ...] = ("stop_ads", "continue")
PERIOD_UNITS: tuple[str, ...] = ("week", "month")
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

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


#: Every input of the simulation: name -> (whose figure or assumption it is and what it
#: measures, what the simulation uses it as). Published inputs are named after their
#: :data:`_SELECTORS` key; the rest are fields of :class:`Assumptions`.
INPUT_NOTES: dict[str, tuple[str, str]] = {
    "merchant_growth": (
        "published, unattributed (article 004): all merchants on RedNote in 2024, "
        "\"an 8.1-fold surge\" (read as to 8.1x; 9.1x if by 8.1x)",
        "monthly growth of the merchant base (fitted)"),
    "opt_in_share": (
        "one interviewee's impression (Xueyan, founder of the YANN BOUTIQUE apparel "
        "brand): about 20 % of the domestic apparel merchants she knows hope to achieve "
        "something on RedNote",
        "share of invited merchants who opt in to the cross-border programme (fitted)"),
    "success_share": (
        "the same interviewee: under a quarter of the merchants who try RedNote achieve "
        "considerable results (an upper bound)",
        "chance of a first overseas order, set at the bound (fitted)"),
    "programme_launch": (
        "published (article 003): invitations from \"early March\" 2025, encoded as "
        "1-10 March",
        "launch day: the window's first day"),
    "ad_peak": (
        "AppGrowing: US ad placements peaked on 22 January 2025 (no volume published)",
        "peak of the transposed campaign (shape only)"),
    "ad_nearly_stopped": (
        "AppGrowing: US placements almost stopped by 20 February 2025 (no count)",
        "day the campaign falls to nearly_stopped_level"),
    "base_start": ("assumed: RedNote publishes no merchant count",
                   "merchants on 1 January 2024 (scale only)"),
    "invite_share": ("assumed: nothing published on who was invited",
                     "share of the merchant base invited, per market"),
    "p_week": ("assumed: no adoption series of the programme is published",
               "true Bass innovation per week, per market"),
    "q_week": ("assumed: no adoption series of the programme is published",
               "true Bass imitation per week, per market"),
    "ad_beta": ("assumed: no ad volume or ad effect is published",
                "speed-up of the diffusion clock at peak ads"),
    "nearly_stopped_level": ("assumed: \"almost stopped\" gives no number",
                             "placements on the nearly-stopped day, share of peak"),
    "ad_ramp_start": ("assumed: the campaign's first day is not published (the US surge's)",
                      "first day of the campaign's rise"),
    "readiness_success_slope": ("assumed",
                                "effect of readiness on a first overseas order"),
    "order_lag_mean_days": ("assumed", "mean days from opt-in to a first overseas order"),
    "order_lag_shape": ("assumed", "shape of the Gamma delay to a first order"),
    "horizon_days": ("choice of the analysis", "days simulated from launch"),
}


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


def months_between(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Length of a published period ``[start, end]`` (both days included) in months."""
    return ((pd.Timestamp(end) - pd.Timestamp(start)).days + 1) / DAYS_PER_MONTH


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
    months = round(months_between(growth.period_start, growth.period_end))
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


def mark_simulated(frame: pd.DataFrame) -> pd.DataFrame:
    """Label ``frame`` (in place; returned) as SIMULATED: a ``simulated`` column, all True,
    and ``attrs["simulated"] = True``. Every frame built from simulated data carries both."""
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
    mark_simulated(base)

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
    sim = MerchantSimulation(cal, int(seed), effort_scenario, mark_simulated(base),
                             mark_simulated(merchants), effort)
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
    return mark_simulated(out)


def select_market(series: pd.DataFrame, market: str) -> pd.DataFrame:
    """The rows of one market (``US``, ``HK``, ``MO`` or ``all``) of :func:`adoption_series`
    output, in period order; ``ValueError`` for an unknown or absent market."""
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
    return mark_simulated(pd.DataFrame(rows))


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
    return mark_simulated(pd.DataFrame(rows))



def inputs_table(calibration: Calibration, metrics: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """Every input of the simulation: what it is, whose it is, how it is used, the value
    used and the range its source supports.

    One row per input (per market for the market assumptions), columns ``input``,
    ``market`` ("" when not per market), ``id`` (the published row, "" for an
    assumption), ``source`` and ``used_as`` (:data:`INPUT_NOTES`), ``used`` (the value
    the simulation uses, as text), ``low`` and ``high`` (as text: the published
    ``value_low`` / ``value_high`` of the figure -- "not stated" for the open side of a
    bound -- or, for a date window, its first and last day; for an assumption the point
    itself, nothing published bounding it) and ``kind`` (``calibrated``, ``shaping`` or
    ``assumed``). The table describes the simulation (``simulated`` True).
    """
    from analysis.data.sources import with_intervals

    metrics = load_published_metrics() if metrics is None else metrics
    if "value_low" not in metrics:
        metrics = with_intervals(metrics)
    bounds = metrics.set_index("id")[["value_low", "value_high"]]
    t, a = calibration.targets, calibration.assumptions

    def num(v: float, unit: str) -> str:
        if not math.isfinite(v):
            return "not stated"
        return f"{v:g} %" if unit == "percent" else f"{v:g}x" if unit == "multiple" else f"{v:g}"

    rows = []
    for name, kind in (("merchant_growth", "calibrated"), ("opt_in_share", "calibrated"),
                       ("success_share", "calibrated")):
        tg = t[name]
        lo, hi = (float(x) for x in bounds.loc[tg.id])
        rows.append({"input": name, "market": "", "id": tg.id, "used": num(tg.value, tg.unit),
                     "low": num(lo, tg.unit), "high": num(hi, tg.unit), "kind": kind})
    launch = t["programme_launch"]
    rows.append({"input": "programme_launch", "market": "", "id": launch.id,
                 "used": f"{calibration.dates['launch']:%Y-%m-%d}",
                 "low": f"{launch.period_start:%Y-%m-%d}",
                 "high": f"{launch.period_end:%Y-%m-%d}", "kind": "shaping"})
    for name in ("ad_peak", "ad_nearly_stopped"):
        tg = t[name]
        rows.append({"input": name, "market": "", "id": tg.id,
                     "used": f"{tg.period_start:%Y-%m-%d}", "low": f"{tg.period_start:%Y-%m-%d}",
                     "high": f"{tg.period_end:%Y-%m-%d}", "kind": "shaping"})
    point = {"base_start": f"{a.base_start:,}", "ad_beta": f"{a.ad_beta:g}",
             "nearly_stopped_level": f"{a.nearly_stopped_level:g}",
             "ad_ramp_start": str(a.ad_ramp_start),
             "readiness_success_slope": f"{a.readiness_success_slope:g}",
             "order_lag_mean_days": f"{a.order_lag_mean_days:g}",
             "order_lag_shape": f"{a.order_lag_shape:g}", "horizon_days": f"{a.horizon_days:g}"}
    for name in ("base_start",):
        rows.append({"input": name, "market": "", "id": "", "used": point[name],
                     "low": point[name], "high": point[name], "kind": "assumed"})
    for field_name in ("invite_share", "p_week", "q_week"):
        for k in MARKETS:
            v = f"{getattr(a.markets[k], field_name):g}"
            rows.append({"input": field_name, "market": k, "id": "", "used": v, "low": v,
                         "high": v, "kind": "assumed"})
    for name in ("ad_beta", "nearly_stopped_level", "ad_ramp_start", "readiness_success_slope",
                 "order_lag_mean_days", "order_lag_shape", "horizon_days"):
        rows.append({"input": name, "market": "", "id": "", "used": point[name],
                     "low": point[name], "high": point[name], "kind": "assumed"})
    out = pd.DataFrame(rows)
    out.insert(3, "source", [INPUT_NOTES[n][0] for n in out["input"]])
    out.insert(4, "used_as", [INPUT_NOTES[n][1] for n in out["input"]])
    return mark_simulated(out)


def with_assumptions(**changes: Any) -> Assumptions:
    """Default :class:`Assumptions` with some fields replaced (validated)."""
    return replace(Assumptions(), **changes)

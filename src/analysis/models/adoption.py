r"""Merchant adoption curves: the Bass diffusion model and its relatives.

Question for this module: how fast do merchants adopt cross-border selling on RedNote
(the 2025 "出海领航计划" programme, which invited merchants from early March 2025 for
the US, Hong Kong and Macau) -- who innovates, who imitates, when adoption peaks, and
how much advertising / programme effort matters.

The Bass model (Bass 1969)
--------------------------
A population of ``m`` eventual adopters. The hazard of adopting at time ``t`` among
those who have not yet adopted rises linearly with the share who already have::

    f(t) / (1 - F(t)) = p + q F(t)                                         (1)

``p`` is the coefficient of innovation (external influence: adoption independent of
others, e.g. driven by the platform's own outreach), ``q`` the coefficient of imitation
(internal influence: word of mouth, merchants copying merchants). With ``F(0) = 0``::

    F(t) = (1 - exp(-(p+q) t)) / (1 + (q/p) exp(-(p+q) t))                 (2)
    f(t) = ((p+q)^2 / p) exp(-(p+q) t) / (1 + (q/p) exp(-(p+q) t))^2        (3)
    N(t) = m F(t)                     (installed base, cumulative adopters)
    S(t) = m [F(t) - F(t-1)]          (adoptions in period t, t = 1, 2, ...) (4)

If ``q > p`` the adoption rate peaks at::

    t* = ln(q/p) / (p + q),   F(t*) = 1/2 - p/(2q)                          (5)

otherwise it is highest at launch (``t* = 0``).

Typical values. ``p`` and ``q`` are rates per period, so they scale with the period
length; on annual data for consumer durables ``p`` is typically 0.01-0.03 and ``q``
0.3-0.5. The meta-analysis of Sultan, Farley & Lehmann (1990, Journal of Marketing
Research 27(1), 70-77; 213 published applications) gives mean ``p ~ 0.03`` and mean
``q ~ 0.38``. For weekly or monthly merchant data expect proportionally smaller values;
the ratio ``q/p`` (imitation vs innovation) and the peak time in calendar units are the
comparable quantities.

Estimation
----------
* ``"ols"`` -- Bass (1969): the discrete analogue of (1),
  ``S_t = a + b Y_{t-1} + c Y_{t-1}^2`` with ``Y_{t-1}`` the cumulative adoptions
  before period ``t`` (``Y_0 = 0``), so that ``a = p m``, ``b = q - p``, ``c = -q/m``.
  ``m`` is the positive root of ``c m^2 + b m + a = 0``, then ``p = a/m``, ``q = -c m``.
  Standard errors of ``(m, p, q)`` come from the OLS covariance of ``(a, b, c)`` by the
  delta method. Known weaknesses: time-interval bias, and ``Y_{t-1}`` and ``Y_{t-1}^2``
  are nearly collinear.
* ``"nls"`` -- Srinivasan & Mason (1986, Marketing Science 5(2), 169-178): non-linear
  least squares of ``S_t`` on (4), ``t = 1..T``. Starting values come from a grid over
  the shape parameters with ``m`` concentrated out (for fixed shape the optimal ``m`` is
  linear least squares), plus the OLS solution when it exists. Standard errors come from
  the Jacobian: ``cov = s^2 (J'J)^{-1}``, ``s^2 = SSE/(T - k)``; intervals use the
  Student-t quantile with ``T - k`` degrees of freedom. A residual bootstrap is
  available on every estimator (``bootstrap``).

Relatives
---------
* Generalized Bass Model (Bass, Krishnan & Jain 1994, Marketing Science 13(3),
  203-223): time runs on the clock of cumulative marketing effort,
  ``f(t)/(1-F(t)) = (p + q F(t)) x(t)``, whence::

      F(t) = (1 - exp(-(p+q) X(t))) / (1 + (q/p) exp(-(p+q) X(t))),
      X(t) = integral_0^t x(s) ds = sum_{tau=1}^{t} x(tau)                 (6)

  (the sum is exact because ``x`` is taken constant within each period). Bass,
  Krishnan & Jain use ``x(t) = 1 + beta1 dPr(t)/Pr(t) + beta2 dAdv(t)/Adv(t)`` -- effort
  enters through its percentage *changes*, so steady effort gives ``x = 1``. Here one
  supplied effort index enters as::

      x(t) = 1 + beta (effort(t) - baseline)                                (7)

  With the default ``baseline = 0`` and an index that is 0 when there is no campaign,
  ``(p, q)`` are the organic (no-effort) Bass coefficients and ``beta`` the proportional
  speed-up of the diffusion clock per unit of effort; ``baseline="mean"`` centres the
  index (BKJ-style), so that ``(p, q)`` are the coefficients at average effort and are
  comparable with a plain Bass fit. ``x = 1`` everywhere reduces (6) to (2) exactly.
  ``x(t)`` must stay positive (otherwise cumulative adoption would fall); the fit bounds
  ``beta`` accordingly and scenarios that violate it are refused. ``beta`` is identified
  only if the effort index varies.
* Logistic (Mansfield 1961; Fisher & Pry 1971): the pure-imitation limit ``p -> 0``,
  ``F(t) = 1 / (1 + exp(-q (t - t0)))``, symmetric around the inflection ``t0``.
* Gompertz (Gompertz 1825): ``F(t) = exp(-exp(-c (t - t0)))``, right-skewed, inflection
  at ``t0`` where ``F = 1/e``.
  Both have ``F(0) > 0``: ``m`` counts all adopters including the mass ``m F(0)`` that
  the curve places before period 1; per-period adoptions are still ``m [F(t) - F(t-1)]``.

  Note: equation (2) *is* a logistic in ``t`` with rate ``p + q`` and inflection
  ``t* = ln(q/p)/(p+q)``, truncated at launch and renormalised:
  ``F_Bass(t) = (G(t) - G(0)) / (1 - G(0))``. Fitted to per-period adoptions with a free
  ``t0``, the logistic therefore reproduces the Bass NLS fit exactly (``q_L = p + q``,
  ``t0 = t*``, ``m_L (1 - G(0)) = m``); the two differ only in reading ``m`` -- the
  logistic one includes adopters before the series starts, which is the right reading
  when the data begin mid-diffusion (e.g. merchants already selling abroad before the
  programme). Gompertz is the genuinely different, asymmetric alternative.

Uncertainty. Wald intervals (``summary``) and the residual bootstrap assume errors of
constant variance. With count noise whose variance follows the level (Poisson) they come
out somewhat narrow for ``m`` (and, for the GBM, ``p``): in simulation checks run while
writing this module (Poisson noise, 60-200 replicates) the nominal 95 % intervals on
``m`` covered roughly 75-90 %; with Gaussian noise coverage was about 90-94 %.
Every interval is named by its coverage, ``level`` (0.95 means a 95 % interval), in
``summary``, ``bootstrap`` and :class:`BootstrapResult` alike.

Input. Adoptions are per-period counts for periods ``1..T``, read by position: an array,
or a Series. A Series indexed by dates (``DatetimeIndex`` or ``PeriodIndex``) must
therefore be sorted, without duplicated dates and without gaps (a fixed step of days or
of calendar months); otherwise the fit raises ``ValueError`` naming the first offending
date instead of fitting the wrong curve. A constant series carries no diffusion signal
and is refused too (left alone, the fit would end on the edge of the parameter box).

Layout (after pymc-marketing ``bass/model.py``): pure curve functions, then fit
functions returning :class:`FitResult`, then thin estimator classes following
scikit-learn conventions (hyper-parameters in ``__init__``, ``fit`` returns ``self``,
fitted attributes end in ``_``, refitting forgets the previous fit), then
:func:`compare_models` and :func:`plot_adoption`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, special, stats

from analysis.models._estimator import Estimator, NotFittedError, check_level

__all__ = [
    "BassDiffusion",
    "BootstrapResult",
    "ConvergenceError",
    "FitResult",
    "GeneralizedBass",
    "GompertzDiffusion",
    "LogisticDiffusion",
    "NotFittedError",
    "bass_adoptions",
    "bass_cdf",
    "bass_pdf",
    "bass_peak_time",
    "compare_models",
    "cumulative_effort",
    "fit_bass_nls",
    "fit_bass_ols",
    "fit_generalized_bass",
    "fit_gompertz",
    "fit_logistic",
    "gbm_adoptions",
    "gbm_cdf",
    "gbm_effort_multiplier",
    "gompertz_adoptions",
    "gompertz_cdf",
    "logistic_adoptions",
    "logistic_cdf",
    "plot_adoption",
    "stop_effort",
]


class ConvergenceError(RuntimeError):
    """A fit did not converge to a finite, interior optimum (no NaN parameters returned)."""


# NotFittedError is the one of analysis.models._estimator, re-exported here so that
# ``from analysis.models.adoption import NotFittedError`` keeps working.


# ---------------------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------------------


def _check_positive(name: str, value: Any, *, allow_zero: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bad = arr < 0 if allow_zero else arr <= 0
    if np.any(bad):
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {rel}, got {value!r}")
    return arr


def _as_time(t: Any) -> np.ndarray:
    arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError("t must be finite")
    return arr


def _scalar_or_array(out: np.ndarray) -> Any:
    return float(out) if np.ndim(out) == 0 else out


def _bass_F(p: Any, q: Any, t: Any) -> np.ndarray:
    """Equation (2) without input checks; broadcasts; ``F = 0`` for ``t <= 0``."""
    t = np.maximum(t, 0.0)
    e = np.exp(-(p + q) * t)
    return (1.0 - e) / (1.0 + (q / p) * e)


def bass_cdf(p: Any, q: Any, t: Any) -> Any:
    """Bass cumulative adoption share, equation (2).

    ``F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})``, with ``F(t) = 0`` for
    ``t <= 0`` (launch at ``t = 0``). Broadcasts over ``p``, ``q`` and ``t``.
    Requires ``p > 0`` and ``q >= 0``.
    """
    p_ = _check_positive("p", p)
    q_ = _check_positive("q", q, allow_zero=True)
    return _scalar_or_array(_bass_F(p_, q_, _as_time(t)))


def bass_pdf(p: Any, q: Any, t: Any) -> Any:
    """Bass adoption-time density, equation (3).

    ``f(t) = ((p+q)^2/p) e^{-(p+q)t} / (1 + (q/p) e^{-(p+q)t})^2`` for ``t >= 0``
    and 0 before launch; ``f = dF/dt`` and ``f = (p + qF)(1 - F)`` (equation 1).
    """
    p_ = _check_positive("p", p)
    q_ = _check_positive("q", q, allow_zero=True)
    t_ = _as_time(t)
    tt = np.maximum(t_, 0.0)
    e = np.exp(-(p_ + q_) * tt)
    f = ((p_ + q_) ** 2 / p_) * e / (1.0 + (q_ / p_) * e) ** 2
    return _scalar_or_array(np.where(t_ < 0, 0.0, f))


def bass_peak_time(p: Any, q: Any) -> Any:
    """Time of the adoption-rate peak, equation (5): ``t* = ln(q/p) / (p+q)``.

    Returns 0 when ``q <= p`` (the density is then decreasing from launch).
    """
    p_ = _check_positive("p", p)
    q_ = _check_positive("q", q, allow_zero=True)
    ratio = np.maximum(q_ / p_, 1.0)
    return _scalar_or_array(np.log(ratio) / (p_ + q_))


def bass_adoptions(m: Any, p: Any, q: Any, t: Any) -> Any:
    """Per-period Bass adoptions, equation (4): ``S(t) = m [F(t) - F(t-1)]``.

    Period ``t`` covers ``(t-1, t]``; ``t = 1`` is the first period after launch.
    """
    m_ = _check_positive("m", m)
    p_ = _check_positive("p", p)
    q_ = _check_positive("q", q, allow_zero=True)
    t_ = _as_time(t)
    return _scalar_or_array(m_ * (_bass_F(p_, q_, t_) - _bass_F(p_, q_, t_ - 1.0)))


def gbm_effort_multiplier(effort: Any, beta: float, baseline: float = 0.0) -> np.ndarray:
    """Effort multiplier of the Generalized Bass Model, equation (7).

    ``x(t) = 1 + beta (effort(t) - baseline)``. Bass, Krishnan & Jain (1994) use
    percentage changes of price and advertising; this is the one-index simplification.
    """
    e = np.asarray(effort, dtype=float)
    if e.ndim != 1 or not np.all(np.isfinite(e)):
        raise ValueError("effort must be a finite 1-D series")
    if not (math.isfinite(float(beta)) and math.isfinite(float(baseline))):
        raise ValueError("beta and baseline must be finite")
    return 1.0 + float(beta) * (e - float(baseline))


def _check_multiplier(x: Any) -> np.ndarray:
    x_ = np.asarray(x, dtype=float)
    if x_.ndim != 1 or x_.size == 0:
        raise ValueError("x (effort multiplier) must be a non-empty 1-D series x(1..n)")
    if not np.all(np.isfinite(x_)):
        i = int(np.flatnonzero(~np.isfinite(x_))[0])
        raise ValueError(f"x[{i}] = {x_[i]} (period {i + 1}) is not finite")
    if np.any(x_ <= 0):
        i = int(np.flatnonzero(x_ <= 0)[0])
        raise ValueError(
            f"x[{i}] = {x_[i]:.6g} (period {i + 1}) is not positive; the GBM needs "
            "x(t) > 0 (otherwise cumulative adoption would decrease)"
        )
    return x_


def _effort_clock(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    n = x.size
    if np.any(t > n + 1e-9):
        raise ValueError(
            f"t = {float(np.max(t)):g} is beyond the effort path, which covers periods 1..{n}; "
            "supply an effort series that covers every period to be predicted"
        )
    knots = np.arange(n + 1, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(x)])
    return np.interp(np.clip(t, 0.0, n), knots, cum)


def cumulative_effort(x: Any, t: Any) -> Any:
    """Cumulative effort ``X(t) = sum_{tau<=t} x(tau)``, equation (6).

    ``x`` holds ``x(1..n)`` and is constant within each period ``(tau-1, tau]``, so for
    non-integer ``t`` the integral is interpolated linearly. ``X(t) = 0`` for ``t <= 0``.
    """
    return _scalar_or_array(_effort_clock(_check_multiplier(x), _as_time(t)))


def gbm_cdf(p: Any, q: Any, t: Any, x: Any) -> Any:
    """Generalized Bass cumulative share, equation (6): equation (2) evaluated at ``X(t)``.

    ``x`` is the multiplier ``x(1..n)`` (e.g. from :func:`gbm_effort_multiplier`);
    ``x = 1`` everywhere gives ``X(t) = t`` and reduces to :func:`bass_cdf`.
    """
    p_ = float(_check_positive("p", p))
    q_ = float(_check_positive("q", q, allow_zero=True))
    X = _effort_clock(_check_multiplier(x), _as_time(t))
    return _scalar_or_array(_bass_F(p_, q_, X))


def gbm_adoptions(m: Any, p: Any, q: Any, t: Any, x: Any) -> Any:
    """Per-period Generalized Bass adoptions ``m [F(X(t)) - F(X(t-1))]``."""
    m_ = float(_check_positive("m", m))
    p_ = float(_check_positive("p", p))
    q_ = float(_check_positive("q", q, allow_zero=True))
    x_ = _check_multiplier(x)
    t_ = _as_time(t)
    hi = _bass_F(p_, q_, _effort_clock(x_, t_))
    lo = _bass_F(p_, q_, _effort_clock(x_, t_ - 1.0))
    return _scalar_or_array(m_ * (hi - lo))


def stop_effort(effort: Any, at_period: int, level: float = 0.0) -> np.ndarray:
    """Scenario helper: a copy of ``effort`` set to ``level`` from period ``at_period`` on.

    Periods are 1-based (``effort[0]`` is period 1), so ``stop_effort(e, 6)`` keeps
    periods 1..5 and stops the campaign from period 6. Use with
    ``GeneralizedBass.predict(t, effort=...)``.
    """
    e = np.array(effort, dtype=float)
    if e.ndim != 1:
        raise ValueError("effort must be 1-D")
    if int(at_period) != at_period or at_period < 1:
        raise ValueError(f"at_period must be a positive integer (1-based), got {at_period!r}")
    e[int(at_period) - 1 :] = float(level)
    return e


def _logistic_F(q: Any, t0: Any, t: Any) -> np.ndarray:
    return special.expit(q * (t - t0))


def _gompertz_F(c: Any, t0: Any, t: Any) -> np.ndarray:
    return np.exp(-np.exp(np.minimum(-c * (t - t0), 700.0)))


def logistic_cdf(q: Any, t0: Any, t: Any) -> Any:
    """Logistic cumulative share ``F(t) = 1 / (1 + e^{-q (t - t0)})`` (pure imitation)."""
    q_ = _check_positive("q", q)
    t0_ = _as_time(t0)
    return _scalar_or_array(_logistic_F(q_, t0_, _as_time(t)))


def logistic_adoptions(m: Any, q: Any, t0: Any, t: Any) -> Any:
    """Per-period logistic adoptions ``m [F(t) - F(t-1)]``."""
    m_ = _check_positive("m", m)
    q_ = _check_positive("q", q)
    t0_, t_ = _as_time(t0), _as_time(t)
    return _scalar_or_array(m_ * (_logistic_F(q_, t0_, t_) - _logistic_F(q_, t0_, t_ - 1.0)))


def gompertz_cdf(c: Any, t0: Any, t: Any) -> Any:
    """Gompertz cumulative share ``F(t) = exp(-e^{-c (t - t0)})``; inflection at ``t0``."""
    c_ = _check_positive("c", c)
    t0_ = _as_time(t0)
    return _scalar_or_array(_gompertz_F(c_, t0_, _as_time(t)))


def gompertz_adoptions(m: Any, c: Any, t0: Any, t: Any) -> Any:
    """Per-period Gompertz adoptions ``m [F(t) - F(t-1)]``."""
    m_ = _check_positive("m", m)
    c_ = _check_positive("c", c)
    t0_, t_ = _as_time(t0), _as_time(t)
    return _scalar_or_array(m_ * (_gompertz_F(c_, t0_, t_) - _gompertz_F(c_, t0_, t_ - 1.0)))


# ---------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------


def _date_index(series: Any) -> pd.DatetimeIndex | pd.PeriodIndex | None:
    """The index of a date-indexed Series (``DatetimeIndex`` or ``PeriodIndex``), else None."""
    if isinstance(series, pd.Series) and isinstance(series.index, (pd.DatetimeIndex, pd.PeriodIndex)):
        return series.index
    return None


def _check_date_index(index: pd.DatetimeIndex | pd.PeriodIndex, name: str) -> None:
    """Refuse dates that cannot be read as consecutive periods ``1..T``.

    The fits use a series by position (period ``t`` is the ``t``-th value), so the dates
    of a date-indexed Series must be sorted, unique and without gaps -- otherwise the
    model would silently fit the wrong curve (e.g. shuffled weeks). Regular steps are
    either a fixed number of days (daily, weekly data) or a fixed number of calendar
    months (monthly, quarterly, yearly data).
    """
    if index.size < 2:
        return
    if index.hasnans:
        i = int(np.flatnonzero(index.isna())[0])
        raise ValueError(f"{name} has a missing date (NaT) at position {i}; every period "
                         "needs its date")

    def day(i: int) -> str:
        return str(index[i].date()) if isinstance(index, pd.DatetimeIndex) else str(index[i])

    if isinstance(index, pd.PeriodIndex):
        steps = np.diff(index.asi8).astype(float)  # in units of the index's frequency
        months = steps
    else:
        naive = index.tz_localize(None) if index.tz is not None else index
        steps = np.diff((naive - naive[0]) / pd.Timedelta(days=1))
        months = np.diff(naive.year * 12 + naive.month).astype(float)
    back = np.flatnonzero(steps < 0)
    if back.size:
        i = int(back[0]) + 1
        raise ValueError(
            f"{name} dates are not sorted: {day(i)} (position {i}) comes after {day(i - 1)}; "
            "periods are read in order, so sort the series by date first (sort_index())"
        )
    dup = np.flatnonzero(steps == 0)
    if dup.size:
        i = int(dup[0]) + 1
        raise ValueError(
            f"{name} has a duplicated date: {day(i)} appears more than once (first repeat at "
            f"position {i}); each period must appear once -- sum or drop the duplicates"
        )
    if isinstance(index, pd.PeriodIndex):
        if np.all(steps == 1):
            return
        gaps, step, unit = steps, 1.0, f"{index.freqstr} period"
    elif np.allclose(steps, steps[0], rtol=0, atol=1e-9):
        return
    elif np.all(months == months[0]) and months[0] > 0:
        return  # calendar months, quarters or years (their lengths in days vary)
    elif np.allclose(steps / steps.min(), np.round(steps / steps.min()), rtol=0, atol=1e-9):
        gaps, step, unit = steps, float(steps.min()), "day"
    elif np.min(months) > 0 and np.all(months % np.min(months) == 0):
        gaps, step, unit = months, float(np.min(months)), "month"
    else:
        i = int(np.flatnonzero(~np.isclose(steps, steps[0], rtol=0, atol=1e-9))[0]) + 1
        raise ValueError(
            f"{name} dates are irregularly spaced: {day(i - 1)} to {day(i)} is "
            f"{steps[i - 1]:g} days where the series starts with steps of {steps[0]:g}; "
            "periods must be of equal length"
        )
    i = int(np.flatnonzero(gaps > step + 1e-9)[0]) + 1
    if isinstance(index, pd.PeriodIndex):
        first_missing = str(index[i - 1] + 1)
    elif unit == "day":
        first_missing = str((index[i - 1] + pd.Timedelta(days=step)).date())
    else:
        first_missing = str((index[i - 1] + pd.DateOffset(months=int(step))).date())
    missing = int(round(gaps[i - 1] / step)) - 1
    raise ValueError(
        f"{name} has a gap in its dates: {missing} period{'s' if missing > 1 else ''} "
        f"missing between {day(i - 1)} and {day(i)}, the first on {first_missing} (the "
        f"series steps by {step:g} {unit}{'s' if step != 1 else ''} elsewhere); periods "
        "are counted by position, so add the missing periods (with 0 adoptions if there "
        "were none)"
    )


def _check_adoptions(adoptions: Any, min_periods: int, n_params: int) -> np.ndarray:
    labels = adoptions.index if isinstance(adoptions, pd.Series) else None
    dates = _date_index(adoptions)
    if dates is not None:
        _check_date_index(dates, "adoptions")
    try:
        y = np.asarray(adoptions, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"adoptions must be numeric: {exc}") from exc
    if y.ndim != 1:
        raise ValueError(
            f"adoptions must be a 1-D series of per-period counts, got shape {y.shape}"
        )

    def where(i: int) -> str:
        lab = f" (label {labels[i]})" if labels is not None else ""
        return f"adoptions[{i}]{lab}"

    nonfinite = np.flatnonzero(~np.isfinite(y))
    if nonfinite.size:
        i = int(nonfinite[0])
        raise ValueError(f"{where(i)} = {y[i]} is not finite; adoptions must be finite counts")
    negative = np.flatnonzero(y < 0)
    if negative.size:
        i = int(negative[0])
        raise ValueError(
            f"{where(i)} = {y[i]:g} is negative; adoptions must be non-negative per-period counts"
        )
    if y.size < min_periods:
        raise ValueError(
            f"adoptions has {y.size} periods; at least {min_periods} are needed to identify "
            f"{n_params} parameters"
        )
    if not np.any(y > 0):
        raise ValueError("adoptions are all zero; there is no diffusion to fit")
    if np.all(y == y[0]):
        # Left alone the fit ends on the edge of the parameter box (p = q ~ 1e-5 with
        # standard errors ~ 1e-9): a flat series shows no acceleration or slowing.
        raise ValueError(
            f"adoptions are constant ({y[0]:g} in every period): the series carries no "
            "diffusion signal (no acceleration or slowing), so the market size and the "
            "innovation and imitation coefficients are not identified"
        )
    return y


def _check_effort(effort: Any, n: int, dates: Any = None) -> np.ndarray:
    """``effort`` as a finite 1-D array of ``n`` values. A date-indexed effort Series is
    checked like the adoptions and, when ``dates`` (the adoptions' date index) is given,
    must carry the same dates."""
    if effort is None:
        raise ValueError("GeneralizedBass needs an effort series (one value per period)")
    effort_dates = _date_index(effort)
    if effort_dates is not None:
        _check_date_index(effort_dates, "effort")
        if dates is not None and not effort_dates.equals(dates):
            if effort_dates.size != dates.size:
                raise ValueError(f"effort has {effort_dates.size} periods but adoptions has "
                                 f"{dates.size}; they must match")
            i = int(np.flatnonzero(np.asarray(effort_dates != dates))[0])
            raise ValueError(f"effort and adoptions have different dates (first at position "
                             f"{i}: {effort_dates[i]} against {dates[i]}); align them first")
    e = np.asarray(effort, dtype=float)
    if e.ndim != 1:
        raise ValueError(f"effort must be 1-D, got shape {e.shape}")
    if e.size != n:
        raise ValueError(f"effort has {e.size} periods but adoptions has {n}; they must match")
    bad = np.flatnonzero(~np.isfinite(e))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"effort[{i}] = {e[i]} is not finite")
    return e


# ---------------------------------------------------------------------------------------
# Fit functions
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitResult:
    """Outcome of one fit: estimates, covariance and per-period fitted values.

    ``fitted`` is always the model curve ``m [F(t) - F(t-1)]`` at the estimates, for
    ``t = 1..T`` -- also for the OLS method, so that SSE and AIC compare like with like.
    """

    method: str
    names: tuple[str, ...]
    estimates: np.ndarray
    cov: np.ndarray
    adoptions: np.ndarray
    fitted: np.ndarray
    nfev: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.estimates, strict=True)}

    @property
    def n_params(self) -> int:
        return len(self.names)

    @property
    def residuals(self) -> np.ndarray:
        return self.adoptions - self.fitted

    @property
    def sse(self) -> float:
        return float(np.sum(self.residuals**2))

    @property
    def rmse(self) -> float:
        return math.sqrt(self.sse / self.adoptions.size)

    @property
    def aic(self) -> float:
        """Gaussian AIC, ``n ln(2 pi SSE/n) + n + 2 (k + 1)`` (``+1`` for the variance)."""
        n = self.adoptions.size
        sse = max(self.sse, 1e-300)
        return float(n * math.log(2 * math.pi * sse / n) + n + 2 * (self.n_params + 1))

    @property
    def standard_errors(self) -> dict[str, float]:
        se = np.sqrt(np.clip(np.diag(self.cov), 0.0, None))
        return {n: float(s) for n, s in zip(self.names, se, strict=True)}


def _at_bound(value: float, bound: float) -> bool:
    return math.isfinite(bound) and abs(value - bound) <= 1e-8 + 1e-6 * abs(bound)


def _jacobian(fun: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian with relative steps."""
    cols = []
    for i, v in enumerate(theta):
        h = 1e-6 * max(abs(v), 1e-6)
        up, dn = theta.copy(), theta.copy()
        up[i] += h
        dn[i] -= h
        cols.append((fun(up) - fun(dn)) / (2 * h))
    return np.column_stack(cols)


def _nls_cov(
    fun: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """``s^2 (J'J)^{-1}``, computed on the column-scaled Jacobian for conditioning."""
    J = _jacobian(fun, theta)
    d = np.where(np.abs(theta) > 0, np.abs(theta), 1.0)
    Js = J * d
    dof = y.size - theta.size
    s2 = float(np.sum((y - fun(theta)) ** 2)) / dof
    try:
        inv = np.linalg.inv(Js.T @ Js)
    except np.linalg.LinAlgError:
        warnings.warn(
            "J'J is singular: parameters are not separately identified; "
            "standard errors use a pseudo-inverse",
            RuntimeWarning,
            stacklevel=3,
        )
        inv = np.linalg.pinv(Js.T @ Js)
    return s2 * inv * np.outer(d, d)


def _grid_starts(
    shape_fn: Callable[..., np.ndarray],
    grids: Sequence[np.ndarray],
    y: np.ndarray,
    n_best: int = 3,
) -> list[np.ndarray]:
    """Best grid points with ``m`` concentrated out (``m = <g, y> / <g, g>``).

    ``shape_fn(*shape_params)`` maps broadcast shape parameters (each ``(G, 1)``) to
    per-period shares ``g`` of shape ``(G, T)``.
    """
    mesh = [a.ravel()[:, None] for a in np.meshgrid(*grids, indexing="ij")]
    with np.errstate(all="ignore"):
        g = shape_fn(*mesh)
        gg = np.sum(g * g, axis=1)
        m = np.sum(g * y, axis=1) / gg
        sse = np.sum((y - m[:, None] * g) ** 2, axis=1)
    ok = np.isfinite(sse) & np.isfinite(m) & (m > 0) & (gg > 0)
    if not np.any(ok):
        return []
    idx = np.flatnonzero(ok)[np.argsort(sse[ok])][:n_best]
    return [np.array([m[i], *(a[i, 0] for a in mesh)]) for i in idx]


def _nls(
    per_period: Callable[[np.ndarray], np.ndarray],
    y: np.ndarray,
    names: tuple[str, ...],
    starts: list[np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_nfev: int | None,
    label: str,
    free_bounds: Collection[tuple[str, str]] = (),
) -> tuple[np.ndarray, np.ndarray, int]:
    """Multi-start bounded least squares on ``per_period(theta) - y``.

    ``theta[0]`` is ``m``; it is optimised in units of ``sum|y|`` for conditioning.
    Returns ``(theta, cov, nfev)``; raises :class:`ConvergenceError` when no start
    converges or the optimum sits on a bound (the parameter is then not identified).
    """
    scale = float(np.sum(np.abs(y)))
    if not scale > 0:
        raise ConvergenceError(f"{label}: did not converge (the series has no positive mass)")
    d = np.ones(len(names))
    d[0] = scale
    lo, hi = lower / d, upper / d

    def resid(ts: np.ndarray) -> np.ndarray:
        return (per_period(ts * d) - y) / scale

    best = stalled = None
    nfev = 0
    statuses: list[int] = []
    for s in starts:
        s_ = np.clip(np.asarray(s, dtype=float) / d, lo, hi)
        # keep strictly inside the box
        span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
        s_ = np.clip(s_, lo + 1e-9 * span, hi - 1e-9 * span)
        if not np.all(np.isfinite(s_)):
            continue
        with np.errstate(all="ignore"):
            try:
                r = optimize.least_squares(
                    resid,
                    s_,
                    bounds=(lo, hi),
                    method="trf",
                    x_scale="jac",
                    ftol=1e-12,
                    xtol=1e-12,
                    gtol=1e-12,
                    max_nfev=max_nfev,
                )
            except ValueError:
                continue
        nfev += int(r.nfev)
        statuses.append(int(r.status))
        if r.status <= 0 or not (np.all(np.isfinite(r.x)) and np.isfinite(r.cost)):
            if np.all(np.isfinite(r.x)) and (stalled is None or r.cost < stalled.cost):
                stalled = r
            continue
        if best is None or r.cost < best.cost:
            best = r
    if best is None:
        limit = "the default limit" if max_nfev is None else f"max_nfev={max_nfev}"
        why = (
            f"every start hit the function-evaluation limit ({limit})"
            if statuses and all(s == 0 for s in statuses)
            else "no start gave a finite optimum"
        )
        if stalled is not None:
            last = ", ".join(f"{nm} = {v:.6g}" for nm, v in zip(names, stalled.x * d, strict=True))
            why += f"; best iterate {last}"
        raise ConvergenceError(f"{label}: the fit did not converge ({why})")
    theta = best.x * d
    for i, name in enumerate(names):
        for side, bound in (("lower", lower[i]), ("upper", upper[i])):
            if (name, side) in free_bounds:
                continue
            if _at_bound(theta[i], bound):
                raise ConvergenceError(
                    f"{label}: the fit did not converge to an interior optimum -- "
                    f"{name} = {theta[i]:.6g} ran to its {side} bound {bound:.6g}; the series "
                    "does not identify the model (e.g. still in its early, accelerating phase)"
                )
    with np.errstate(all="ignore"):
        cov = _nls_cov(per_period, theta, y)
    return theta, cov, nfev


_T_CACHE: dict[int, np.ndarray] = {}


def _periods(n: int) -> np.ndarray:
    if n not in _T_CACHE:
        _T_CACHE[n] = np.arange(1, n + 1, dtype=float)
    return _T_CACHE[n]


def _bass_curve(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    m, p, q = theta
    return m * (_bass_F(p, q, t) - _bass_F(p, q, t - 1.0))


_M_UPPER = 1e4  # times sum|adoptions|
_P_GRID = np.logspace(-5, -0.3, 24)
_Q_GRID = np.concatenate([[0.0], np.logspace(-3, 1, 24)])


def _ols_to_bass(
    a: float, b: float, c: float, scale: float = 0.0
) -> tuple[float, float, float]:
    """Map Bass (1969) regression coefficients to ``(m, p, q)``; raise if impossible.

    ``scale`` is the largest cumulative count in the regression: when ``c * scale**2``
    is round-off next to ``a + b * scale`` the quadratic term is zero in all but sign,
    the series shows no slowing and ``m`` is not identified (whatever sign round-off
    gave ``c``).
    """
    if c == 0 or abs(c) * scale**2 <= 1e-12 * (abs(a) + abs(b) * scale):
        raise ValueError(
            f"Bass OLS: c = {c:.3g} is essentially zero (a={a:.6g}, b={b:.6g}), so the "
            "series shows no slowing and m is not identified; use method='nls'"
        )
    disc = b * b - 4 * a * c
    if disc < 0:
        raise ValueError(
            f"Bass OLS: c*m^2 + b*m + a = 0 has no real positive root for m "
            f"(a={a:.6g}, b={b:.6g}, c={c:.6g}, discriminant {disc:.6g} < 0); "
            "the series does not show the Bass shape -- use method='nls'"
        )
    sq = math.sqrt(disc)
    roots = [r for r in ((-b - sq) / (2 * c), (-b + sq) / (2 * c)) if r > 0]
    if not roots:
        raise ValueError(
            f"Bass OLS: c*m^2 + b*m + a = 0 has no real positive root for m "
            f"(a={a:.6g}, b={b:.6g}, c={c:.6g}); use method='nls'"
        )
    valid = [(r, a / r, -c * r) for r in roots if a / r > 0 and -c * r >= 0]
    if not valid:
        m = max(roots)
        raise ValueError(
            f"Bass OLS: the positive root m = {m:.6g} implies p = {a / m:.6g}, "
            f"q = {-c * m:.6g}, outside the Bass model (p > 0, q >= 0) "
            f"(a={a:.6g}, b={b:.6g}, c={c:.6g}); use method='nls'"
        )
    return max(valid)


def _fit_bass_ols_core(y: np.ndarray) -> FitResult:
    Y = np.concatenate([[0.0], np.cumsum(y)[:-1]])
    X = np.column_stack([np.ones_like(Y), Y, Y**2])
    res = sm.OLS(y, X).fit()
    a, b, c = (float(v) for v in res.params)
    scale = float(np.max(np.abs(Y)))
    theta = np.array(_ols_to_bass(a, b, c, scale))
    total = float(np.sum(np.abs(y)))
    if theta[0] > _M_UPPER * total:
        raise ValueError(
            f"Bass OLS: the root m = {theta[0]:.6g} is more than {_M_UPPER:g} times the "
            f"observed total ({total:.6g}); c = {c:.3g} is essentially zero, the series shows "
            "no slowing and m is not identified"
        )

    def mapping(abc: np.ndarray) -> np.ndarray:
        return np.array(_ols_to_bass(*abc, scale))

    try:
        G = _jacobian(mapping, np.array([a, b, c]))
        cov = G @ np.asarray(res.cov_params()) @ G.T
    except ValueError:  # a finite-difference step crossed into the invalid region
        cov = np.full((3, 3), np.nan)
    fitted = _bass_curve(theta, _periods(y.size))
    return FitResult("ols", ("m", "p", "q"), theta, cov, y, fitted, 0, {"ols_results": res})


def fit_bass_ols(adoptions: Any) -> FitResult:
    """Bass (1969) OLS: ``S_t = a + b Y_{t-1} + c Y_{t-1}^2``, ``m`` from the root.

    ``extra["ols_results"]`` holds the statsmodels results object. Standard errors of
    ``(m, p, q)`` by the delta method. Raises ``ValueError`` when the quadratic has no
    real positive root or the root implies ``p <= 0`` or ``q < 0``.
    """
    return _fit_bass_ols_core(_check_adoptions(adoptions, 4, 3))


def _fit_bass_nls_core(
    y: np.ndarray,
    start: Sequence[float] | None = None,
    max_nfev: int | None = None,
    grid: bool = True,
) -> FitResult:
    t = _periods(y.size)
    starts: list[np.ndarray] = []
    if start is not None:
        starts.append(np.asarray(start, dtype=float))
    if grid:
        try:
            starts.append(_fit_bass_ols_core(y).estimates)
        except (ValueError, np.linalg.LinAlgError):
            pass
        starts += _grid_starts(
            lambda p, q: _bass_F(p, q, t) - _bass_F(p, q, t - 1.0), [_P_GRID, _Q_GRID], y
        )
    scale = float(np.sum(np.abs(y)))
    lower = np.array([1e-6 * scale, 1e-9, 0.0])
    upper = np.array([_M_UPPER * scale, 1.0, 20.0])
    theta, cov, nfev = _nls(
        lambda th: _bass_curve(th, t),
        y,
        ("m", "p", "q"),
        starts,
        lower,
        upper,
        max_nfev=max_nfev,
        label="Bass NLS",
        free_bounds={("q", "lower")},
    )
    return FitResult("nls", ("m", "p", "q"), theta, cov, y, _bass_curve(theta, t), nfev)


def fit_bass_nls(
    adoptions: Any, *, start: Sequence[float] | None = None, max_nfev: int | None = None
) -> FitResult:
    """Srinivasan & Mason (1986) NLS of ``S_t`` on ``m [F(t) - F(t-1)]``, ``t = 1..T``.

    ``start`` = ``(m, p, q)`` is tried alongside the OLS solution and a grid with ``m``
    concentrated out. Covariance ``s^2 (J'J)^{-1}``. Raises :class:`ConvergenceError`
    if no start converges or ``m``/``p``/``q`` ends on a bound.
    """
    return _fit_bass_nls_core(_check_adoptions(adoptions, 4, 3), start, max_nfev)


def _beta_bounds(d: np.ndarray) -> tuple[float, float]:
    """Bounds keeping ``x = 1 + beta d > 0`` (with a small margin)."""
    lo = -1.0 / float(np.max(d)) if np.max(d) > 0 else -np.inf
    hi = 1.0 / float(-np.min(d)) if np.min(d) < 0 else np.inf
    return 0.999 * lo, 0.999 * hi


def _resolve_baseline(baseline: Any, effort: np.ndarray) -> float:
    if isinstance(baseline, str):
        if baseline == "mean":
            return float(np.mean(effort))
        if baseline == "first":
            return float(effort[0])
        raise ValueError(f"baseline must be a number, 'mean' or 'first', got {baseline!r}")
    b = float(baseline)
    if not math.isfinite(b):
        raise ValueError(f"baseline must be finite, got {baseline!r}")
    return b


def _fit_gbm_core(
    y: np.ndarray,
    effort: np.ndarray,
    baseline: float,
    start: Sequence[float] | None = None,
    max_nfev: int | None = None,
    grid: bool = True,
) -> FitResult:
    d = effort - baseline
    if np.ptp(d) == 0:
        raise ValueError(
            "effort is constant, so the effort coefficient beta is not identified "
            "(a constant x(t) only rescales time); use BassDiffusion instead"
        )
    blo, bhi = _beta_bounds(d)
    starts: list[np.ndarray] = []
    if start is not None:
        starts.append(np.asarray(start, dtype=float))
    if grid:
        unit = 1.0 / float(np.max(np.abs(d)))
        betas = unit * np.array([-8, -4, -2, -1, -0.5, 0, 0.5, 1, 2, 4, 8, 16])
        betas = betas[(betas > 0.95 * blo) & (betas < 0.95 * bhi)]

        def shape(p: np.ndarray, q: np.ndarray, beta: np.ndarray) -> np.ndarray:
            X = np.concatenate([np.zeros_like(beta), np.cumsum(1.0 + beta * d, axis=1)], axis=1)
            return np.diff(_bass_F(p, q, X), axis=1)

        starts += _grid_starts(shape, [_P_GRID, _Q_GRID, betas], y, n_best=4)
    scale = float(np.sum(np.abs(y)))
    lower = np.array([1e-6 * scale, 1e-9, 0.0, blo])
    upper = np.array([_M_UPPER * scale, 1.0, 20.0, bhi])

    def curve(th: np.ndarray) -> np.ndarray:
        m, p, q, beta = th
        X = np.concatenate([[0.0], np.cumsum(1.0 + beta * d)])
        return m * np.diff(_bass_F(p, q, X))

    names = ("m", "p", "q", "beta")
    theta, cov, nfev = _nls(
        curve,
        y,
        names,
        starts,
        lower,
        upper,
        max_nfev=max_nfev,
        label="Generalized Bass NLS",
        free_bounds={("q", "lower")},
    )
    return FitResult(
        "nls",
        names,
        theta,
        cov,
        y,
        curve(theta),
        nfev,
        {"effort": effort.copy(), "baseline": baseline},
    )


def fit_generalized_bass(
    adoptions: Any,
    effort: Any,
    *,
    baseline: Any = 0.0,
    start: Sequence[float] | None = None,
    max_nfev: int | None = None,
) -> FitResult:
    """Generalized Bass Model (Bass, Krishnan & Jain 1994) by NLS, equations (6)-(7).

    ``x(t) = 1 + beta (effort(t) - baseline)``; ``baseline`` is a number (default 0),
    ``"mean"`` or ``"first"`` (resolved on the fitting window). Parameters
    ``(m, p, q, beta)``; ``beta`` is bounded so that ``x(t) > 0``.
    """
    y = _check_adoptions(adoptions, 5, 4)
    e = _check_effort(effort, y.size, _date_index(adoptions))
    return _fit_gbm_core(y, e, _resolve_baseline(baseline, e), start, max_nfev)


def _logistic_curve(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    m, q, t0 = theta
    return m * (_logistic_F(q, t0, t) - _logistic_F(q, t0, t - 1.0))


def _gompertz_curve(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    m, c, t0 = theta
    return m * (_gompertz_F(c, t0, t) - _gompertz_F(c, t0, t - 1.0))


def _fit_sigmoid_core(
    kind: str,
    y: np.ndarray,
    start: Sequence[float] | None = None,
    max_nfev: int | None = None,
    grid: bool = True,
) -> FitResult:
    T = y.size
    t = _periods(T)
    if kind == "logistic":
        F, curve_fn, names, label = _logistic_F, _logistic_curve, ("m", "q", "t0"), "Logistic NLS"
    else:
        F, curve_fn, names, label = _gompertz_F, _gompertz_curve, ("m", "c", "t0"), "Gompertz NLS"
    starts: list[np.ndarray] = []
    if start is not None:
        starts.append(np.asarray(start, dtype=float))
    if grid:
        starts += _grid_starts(
            lambda r, t0: F(r, t0, t) - F(r, t0, t - 1.0),
            [np.logspace(-3, 1, 30), np.linspace(-T, 3 * T, 41)],
            y,
        )
    scale = float(np.sum(np.abs(y)))
    lower = np.array([1e-6 * scale, 1e-6, -5.0 * T])
    upper = np.array([_M_UPPER * scale, 20.0, 5.0 * T])
    theta, cov, nfev = _nls(
        lambda th: curve_fn(th, t),
        y,
        names,
        starts,
        lower,
        upper,
        max_nfev=max_nfev,
        label=label,
    )
    return FitResult("nls", names, theta, cov, y, curve_fn(theta, t), nfev)


def fit_logistic(
    adoptions: Any, *, start: Sequence[float] | None = None, max_nfev: int | None = None
) -> FitResult:
    """Logistic diffusion ``m [F(t) - F(t-1)]``, ``F = 1/(1+e^{-q(t-t0)})``, by NLS."""
    return _fit_sigmoid_core("logistic", _check_adoptions(adoptions, 4, 3), start, max_nfev)


def fit_gompertz(
    adoptions: Any, *, start: Sequence[float] | None = None, max_nfev: int | None = None
) -> FitResult:
    """Gompertz diffusion ``m [F(t) - F(t-1)]``, ``F = exp(-e^{-c(t-t0)})``, by NLS."""
    return _fit_sigmoid_core("gompertz", _check_adoptions(adoptions, 4, 3), start, max_nfev)


# ---------------------------------------------------------------------------------------
# Estimator classes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BootstrapResult:
    """Residual-bootstrap output.

    ``params``: one row per successful replicate. ``intervals``: estimate, bootstrap se
    and percentile interval per parameter. ``t``, ``curves`` (per-period adoptions) and
    ``cumulative_curves`` per replicate, with percentile bands ``curve_lower`` /
    ``curve_upper`` (a confidence band for the mean curve, not a prediction band).
    ``level`` is the coverage of every interval and band (0.95 means 95 %).
    """

    params: pd.DataFrame
    intervals: pd.DataFrame
    t: np.ndarray
    curves: np.ndarray
    cumulative_curves: np.ndarray
    curve_lower: np.ndarray
    curve_upper: np.ndarray
    cumulative_lower: np.ndarray
    cumulative_upper: np.ndarray
    level: float
    n_failed: int


class _DiffusionModel(Estimator):
    """Shared machinery; subclasses define ``fit``, ``_refit``, ``_curve``, ``_cdf``, ``_peak_time``.

    Settings handling (``get_params``, ``set_params``, ``clone``, ``repr``), forgetting a
    previous fit and the not-fitted check come from :class:`Estimator`.
    """

    _n_params = 3

    def _store(self, res: FitResult) -> None:
        self.result_ = res
        self.params_ = res.params
        self.n_periods_ = int(res.adoptions.size)
        self.adoptions_ = res.adoptions.copy()
        self.fitted_ = res.fitted.copy()
        self.residuals_ = res.residuals
        self.sse_ = res.sse
        self.rmse_ = res.rmse
        self.aic_ = res.aic
        self.nfev_ = res.nfev
        self.standard_errors_ = res.standard_errors
        self.cov_ = pd.DataFrame(res.cov, index=list(res.names), columns=list(res.names))
        self.peak_time_ = float(self._peak_time(res.estimates))
        self.peak_period_ = int(np.argmax(res.fitted)) + 1

    @property
    def _theta(self) -> np.ndarray:
        return self.result_.estimates

    def _default_t(self, t: Any) -> np.ndarray:
        return _periods(self.n_periods_) if t is None else _as_time(t)

    # -- prediction ------------------------------------------------------------------------
    def predict(self, t: Any = None) -> Any:
        """Per-period adoptions ``m [F(t) - F(t-1)]`` at ``t`` (default: periods 1..T)."""
        self._check_fitted()
        return _scalar_or_array(self._curve(self._theta, self._default_t(t)))

    def cumulative(self, t: Any = None) -> Any:
        """Installed base ``m F(t)`` at ``t`` (default: periods 1..T)."""
        self._check_fitted()
        return _scalar_or_array(self._theta[0] * self._cdf(self._theta, self._default_t(t)))

    def summary(self, level: float = 0.95, interval: str = "wald") -> pd.DataFrame:
        """Estimates with standard errors and intervals of coverage ``level`` (0.95: 95 %).

        ``interval="wald"``: estimate +/- t_{T-k, (1+level)/2} se (Jacobian covariance
        for NLS, delta method for OLS). ``interval="bootstrap"``: the percentile
        intervals and bootstrap standard deviations of the last :meth:`bootstrap` call,
        at the level that call was given.
        """
        self._check_fitted()
        level = check_level(level)
        if interval == "bootstrap":
            if not hasattr(self, "bootstrap_"):
                raise ValueError("no bootstrap yet: call bootstrap() first")
            return self.bootstrap_.intervals.copy()
        if interval != "wald":
            raise ValueError(f"interval must be 'wald' or 'bootstrap', got {interval!r}")
        alpha = 1.0 - level  # the two tails together
        names = list(self.params_)
        est = np.array([self.params_[n] for n in names])
        se = np.array([self.standard_errors_[n] for n in names])
        crit = stats.t.ppf(1 - alpha / 2, self.n_periods_ - len(names))
        return pd.DataFrame(
            {"estimate": est, "se": se, "lower": est - crit * se, "upper": est + crit * se},
            index=pd.Index(names, name="param"),
        )

    def bootstrap(
        self,
        n: int = 500,
        random_state: Any = None,
        *,
        t: Any = None,
        level: float = 0.95,
    ) -> BootstrapResult:
        """Residual bootstrap: refit on ``fitted + resampled residuals`` ``n`` times.

        Residuals are centred, inflated by ``sqrt(T/(T-k))`` and resampled with
        replacement (this assumes homoskedastic errors; with count noise whose variance
        follows the level, intervals on ``m`` come out somewhat narrow -- in a
        60-replicate check with Poisson noise, T = 20, the 95 % interval on ``m`` covered
        about 83 %). Pseudo-series are refit with the same method, started from the
        estimates. Replicates that fail to fit are dropped and counted in ``n_failed`` (a
        warning is issued above 10 %). Percentile intervals for the parameters and for
        the per-period and cumulative curves at ``t`` (default: periods 1..T), of
        coverage ``level`` (0.95: the 2.5 and 97.5 percentiles). Stored as
        ``bootstrap_`` and returned. For ``method="ols"`` pseudo-series are built around
        the Bass curve at the OLS estimates, so the intervals also show the OLS
        estimator's bias (they need not be centred on the estimate).
        """
        self._check_fitted()
        if int(n) != n or n < 2:
            raise ValueError(f"n must be an integer >= 2, got {n!r}")
        level = check_level(level)
        alpha = 1.0 - level  # the two tails together
        rng = np.random.default_rng(random_state)
        tt = self._default_t(t)
        T, k = self.n_periods_, len(self.params_)
        resid = (self.residuals_ - self.residuals_.mean()) * math.sqrt(T / (T - k))
        rows, curves, cums = [], [], []
        n_failed = 0
        for _ in range(int(n)):
            yb = self.fitted_ + rng.choice(resid, size=T, replace=True)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    res = self._refit(yb)
            except (ConvergenceError, ValueError, np.linalg.LinAlgError):
                n_failed += 1
                continue
            th = res.estimates
            rows.append(th)
            curves.append(self._curve(th, tt))
            cums.append(th[0] * self._cdf(th, tt))
        if len(rows) < 2:
            raise ConvergenceError(
                f"bootstrap did not converge: {n_failed} of {n} replicates failed to fit"
            )
        if n_failed > 0.1 * n:
            warnings.warn(
                f"{n_failed} of {n} bootstrap replicates failed to fit and were dropped; "
                "the intervals may be too narrow",
                RuntimeWarning,
                stacklevel=2,
            )
        names = list(self.params_)
        P = pd.DataFrame(np.array(rows), columns=names)
        lo_q, hi_q = alpha / 2, 1 - alpha / 2
        intervals = pd.DataFrame(
            {
                "estimate": [self.params_[nm] for nm in names],
                "se": P.std(ddof=1).to_numpy(),
                "lower": P.quantile(lo_q).to_numpy(),
                "upper": P.quantile(hi_q).to_numpy(),
            },
            index=pd.Index(names, name="param"),
        )
        C, CC = np.array(curves), np.array(cums)
        out = BootstrapResult(
            params=P,
            intervals=intervals,
            t=np.asarray(tt, dtype=float),
            curves=C,
            cumulative_curves=CC,
            curve_lower=np.quantile(C, lo_q, axis=0),
            curve_upper=np.quantile(C, hi_q, axis=0),
            cumulative_lower=np.quantile(CC, lo_q, axis=0),
            cumulative_upper=np.quantile(CC, hi_q, axis=0),
            level=level,
            n_failed=n_failed,
        )
        self.bootstrap_ = out
        return out

    # -- to override -------------------------------------------------------------------------
    def _curve(self, theta: np.ndarray, t: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _cdf(self, theta: np.ndarray, t: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _refit(self, y: np.ndarray) -> FitResult:  # pragma: no cover
        raise NotImplementedError

    def _peak_time(self, theta: np.ndarray) -> float:  # pragma: no cover
        raise NotImplementedError


class BassDiffusion(_DiffusionModel):
    """Bass (1969) diffusion model, equations (1)-(5).

    Parameters
    ----------
    method : ``"nls"`` (Srinivasan & Mason 1986, default) or ``"ols"`` (Bass 1969).
    max_nfev : optional cap on function evaluations per NLS start.

    Attributes after ``fit``: ``params_`` (``{"m", "p", "q"}``), ``standard_errors_``,
    ``cov_``, ``peak_time_`` (equation 5, in periods since launch), ``peak_period_``
    (period with the largest fitted adoptions), ``fitted_``, ``residuals_``, ``sse_``,
    ``rmse_``, ``aic_``, ``n_periods_``, ``result_`` (:class:`FitResult`) and, for
    ``method="ols"``, ``ols_results_`` (statsmodels results of the regression).
    """

    def __init__(self, method: str = "nls", max_nfev: int | None = None) -> None:
        self.method = method
        self.max_nfev = max_nfev

    def fit(self, adoptions: Any) -> BassDiffusion:
        """Fit to per-period adoptions for periods ``1..T`` (``T >= 4``); returns ``self``."""
        self._reset()
        if self.method not in ("ols", "nls"):
            raise ValueError(f"method must be 'ols' or 'nls', got {self.method!r}")
        y = _check_adoptions(adoptions, 4, 3)
        if self.method == "ols":
            res = _fit_bass_ols_core(y)
            self.ols_results_ = res.extra["ols_results"]
        else:
            res = _fit_bass_nls_core(y, None, self.max_nfev)
        self._store(res)
        return self

    def _refit(self, y: np.ndarray) -> FitResult:
        if self.method == "ols":
            return _fit_bass_ols_core(y)
        return _fit_bass_nls_core(y, self._theta, self.max_nfev, grid=False)

    def _curve(self, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _bass_curve(theta, t)

    def _cdf(self, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _bass_F(theta[1], theta[2], t)

    def _peak_time(self, theta: np.ndarray) -> float:
        return float(bass_peak_time(theta[1], theta[2]))


class GeneralizedBass(_DiffusionModel):
    """Generalized Bass Model (Bass, Krishnan & Jain 1994), equations (6)-(7).

    ``x(t) = 1 + beta (effort(t) - baseline)``; ``baseline`` is a number (default 0:
    ``p``, ``q`` are the no-effort coefficients), ``"mean"`` or ``"first"``.

    ``fit(adoptions, effort)``; ``predict(t, effort=None)`` and ``cumulative(t,
    effort=None)`` use the fitted effort path unless a scenario path is given (it must
    cover periods ``1..max(t)``; see :func:`stop_effort`). ``peak_time_`` is the calendar
    time at which the effort clock ``X(t)`` reaches ``ln(q/p)/(p+q)``, extrapolating with
    the last period's effort when that lies beyond the data.
    """

    _n_params = 4

    def __init__(self, baseline: Any = 0.0, max_nfev: int | None = None) -> None:
        self.baseline = baseline
        self.max_nfev = max_nfev

    def fit(self, adoptions: Any, effort: Any) -> GeneralizedBass:
        """Fit to per-period adoptions and an effort index of the same length (``T >= 5``)."""
        self._reset()
        y = _check_adoptions(adoptions, 5, 4)
        e = _check_effort(effort, y.size, _date_index(adoptions))
        b = _resolve_baseline(self.baseline, e)
        self.effort_ = e.copy()
        self.baseline_ = b
        try:
            self._store(_fit_gbm_core(y, e, b, None, self.max_nfev))
        except Exception:
            self._reset()  # no half-fitted state
            raise
        return self

    def _multiplier(self, theta: np.ndarray, effort: Any = None) -> np.ndarray:
        e = self.effort_ if effort is None else np.asarray(effort, dtype=float)
        if e.ndim != 1 or not np.all(np.isfinite(e)):
            raise ValueError("effort must be a finite 1-D series covering periods 1..n")
        return _check_multiplier(1.0 + theta[3] * (e - self.baseline_))

    def _refit(self, y: np.ndarray) -> FitResult:
        return _fit_gbm_core(
            y, self.effort_, self.baseline_, self._theta, self.max_nfev, grid=False
        )

    def _curve(self, theta: np.ndarray, t: np.ndarray, effort: Any = None) -> np.ndarray:
        m, p, q, _ = theta
        x = self._multiplier(theta, effort)
        return m * (_bass_F(p, q, _effort_clock(x, t)) - _bass_F(p, q, _effort_clock(x, t - 1.0)))

    def _cdf(self, theta: np.ndarray, t: np.ndarray, effort: Any = None) -> np.ndarray:
        x = self._multiplier(theta, effort)
        return _bass_F(theta[1], theta[2], _effort_clock(x, t))

    def predict(self, t: Any = None, effort: Any = None) -> Any:
        """Per-period adoptions; ``effort`` gives an alternative (scenario) effort path."""
        self._check_fitted()
        return _scalar_or_array(self._curve(self._theta, self._default_t(t), effort))

    def cumulative(self, t: Any = None, effort: Any = None) -> Any:
        """Installed base ``m F(X(t))``; ``effort`` gives an alternative effort path."""
        self._check_fitted()
        th = self._theta
        return _scalar_or_array(th[0] * self._cdf(th, self._default_t(t), effort))

    def _peak_time(self, theta: np.ndarray) -> float:
        m, p, q, _ = theta
        target = float(bass_peak_time(p, q))
        x = self._multiplier(theta)
        cum = np.concatenate([[0.0], np.cumsum(x)])
        if target <= cum[-1]:
            return float(np.interp(target, cum, np.arange(cum.size, dtype=float)))
        return float(x.size + (target - cum[-1]) / x[-1])


class LogisticDiffusion(_DiffusionModel):
    """Logistic (pure imitation) diffusion: ``F = 1/(1 + e^{-q(t - t0)})``; params m, q, t0.

    ``peak_time_ = t0`` (the inflection of the cumulative curve).
    """

    def __init__(self, max_nfev: int | None = None) -> None:
        self.max_nfev = max_nfev

    def fit(self, adoptions: Any) -> LogisticDiffusion:
        """Fit to per-period adoptions for periods ``1..T`` (``T >= 4``); returns ``self``."""
        self._reset()
        self._store(
            _fit_sigmoid_core("logistic", _check_adoptions(adoptions, 4, 3), None, self.max_nfev)
        )
        return self

    def _refit(self, y: np.ndarray) -> FitResult:
        return _fit_sigmoid_core("logistic", y, self._theta, self.max_nfev, grid=False)

    def _curve(self, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _logistic_curve(theta, t)

    def _cdf(self, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _logistic_F(theta[1], theta[2], t)

    def _peak_time(self, theta: np.ndarray) -> float:
        return float(theta[2])


class GompertzDiffusion(_DiffusionModel):
    """Gompertz diffusion: ``F = exp(-e^{-c(t - t0)})``; params m, c, t0.

    ``peak_time_ = t0`` (the inflection, where ``F = 1/e``).
    """

    def __init__(self, max_nfev: int | None = None) -> None:
        self.max_nfev = max_nfev

    def fit(self, adoptions: Any) -> GompertzDiffusion:
        """Fit to per-period adoptions for periods ``1..T`` (``T >= 4``); returns ``self``."""
        self._reset()
        self._store(
            _fit_sigmoid_core("gompertz", _check_adoptions(adoptions, 4, 3), None, self.max_nfev)
        )
        return self

    def _refit(self, y: np.ndarray) -> FitResult:
        return _fit_sigmoid_core("gompertz", y, self._theta, self.max_nfev, grid=False)

    def _curve(self, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _gompertz_curve(theta, t)

    def _cdf(self, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _gompertz_F(theta[1], theta[2], t)

    def _peak_time(self, theta: np.ndarray) -> float:
        return float(theta[2])


# ---------------------------------------------------------------------------------------
# Model comparison and plotting
# ---------------------------------------------------------------------------------------


def compare_models(
    adoptions: Any,
    holdout: int = 0,
    effort: Any = None,
    *,
    baseline: Any = 0.0,
) -> pd.DataFrame:
    """Fit every model on the first ``T - holdout`` periods and score it.

    Models: Bass OLS, Bass NLS, Generalized Bass (only if ``effort`` is given; the full
    effort series, including the holdout periods, drives its forecast -- a conditional
    forecast), logistic, Gompertz. One row per model (index ``model``) with columns
    ``n_params``, ``n_train``, in-sample ``sse``, ``rmse``, ``aic`` (Gaussian, see
    :attr:`FitResult.aic`), ``holdout_mape`` (percent, over holdout periods with
    non-zero adoptions) and ``holdout_rmse`` of per-period adoptions over the last
    ``holdout`` periods (NaN when ``holdout = 0``), ``fit_seconds`` and ``note``. A model
    that cannot be fitted keeps its row, with NaN metrics and the reason in ``note``.
    """
    y_all = _check_adoptions(adoptions, 4, 3)
    if int(holdout) != holdout or holdout < 0:
        raise ValueError(f"holdout must be a non-negative integer, got {holdout!r}")
    holdout = int(holdout)
    n_train = y_all.size - holdout
    if n_train < 4:
        raise ValueError(
            f"holdout={holdout} leaves {n_train} training periods; at least 4 are needed"
        )
    y_train = _check_adoptions(y_all[:n_train], 4, 3)
    y_test = y_all[n_train:]
    t_test = np.arange(n_train + 1, y_all.size + 1, dtype=float)
    e_all = None if effort is None else _check_effort(effort, y_all.size, _date_index(adoptions))

    candidates: list[tuple[str, _DiffusionModel]] = [
        ("bass_ols", BassDiffusion(method="ols")),
        ("bass_nls", BassDiffusion(method="nls")),
    ]
    if e_all is not None:
        candidates.append(("generalized_bass", GeneralizedBass(baseline=baseline)))
    candidates += [("logistic", LogisticDiffusion()), ("gompertz", GompertzDiffusion())]

    rows = []
    for name, model in candidates:
        row: dict[str, Any] = {"model": name, "n_params": model._n_params, "n_train": n_train}
        nan_metrics = dict.fromkeys(("sse", "rmse", "aic", "holdout_mape", "holdout_rmse"), np.nan)
        try:
            t0 = time.perf_counter()
            if isinstance(model, GeneralizedBass):
                model.fit(y_train, e_all[:n_train])  # type: ignore[index]
            else:
                model.fit(y_train)
            row["fit_seconds"] = time.perf_counter() - t0
            row.update(sse=model.sse_, rmse=model.rmse_, aic=model.aic_)
            if holdout:
                if isinstance(model, GeneralizedBass):
                    pred = model.predict(t_test, effort=e_all)
                else:
                    pred = model.predict(t_test)
                err = y_test - pred
                nz = y_test != 0
                row["holdout_mape"] = (
                    float(100 * np.mean(np.abs(err[nz]) / y_test[nz])) if nz.any() else np.nan
                )
                row["holdout_rmse"] = float(np.sqrt(np.mean(err**2)))
            else:
                row.update(holdout_mape=np.nan, holdout_rmse=np.nan)
            row["note"] = ""
        except (ConvergenceError, ValueError) as exc:
            row.update(nan_metrics, fit_seconds=np.nan, note=str(exc))
        rows.append(row)
    cols = [
        "n_params",
        "n_train",
        "sse",
        "rmse",
        "aic",
        "holdout_mape",
        "holdout_rmse",
        "fit_seconds",
        "note",
    ]
    return pd.DataFrame(rows).set_index("model")[cols]


def plot_adoption(
    model: _DiffusionModel,
    adoptions: Any,
    ax: Any = None,
    interval: Any = None,
    *,
    effort: Any = None,
    cumulative: bool = False,
    label: str | None = None,
) -> Any:
    """Observed per-period (or cumulative) adoptions with the fitted curve; returns ``ax``.

    ``interval``: ``None``, ``"bootstrap"`` (use ``model.bootstrap_``) or a
    :class:`BootstrapResult`, drawn as a band. Periods beyond the fit window are
    forecasts (marked by a dotted line). For a :class:`GeneralizedBass`, ``effort``
    (covering every plotted period) is needed beyond its fit window. No ``savefig``,
    ``show`` or global style changes.
    """
    model._check_fitted()
    y = np.asarray(adoptions, dtype=float)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    n = max(y.size, model.n_periods_)
    t_obs = np.arange(1, y.size + 1)
    t_grid = np.arange(1, n + 1, dtype=float)
    kwargs = {"effort": effort} if isinstance(model, GeneralizedBass) else {}
    if cumulative:
        ax.plot(t_obs, np.cumsum(y), "o", color="black", label="observed")
        curve = model.cumulative(t_grid, **kwargs)
    else:
        ax.bar(t_obs, y, color="0.8", label="observed")
        curve = model.predict(t_grid, **kwargs)
    ax.plot(t_grid, curve, "-", lw=2, label=label or type(model).__name__)
    if interval is not None:
        br = model.bootstrap_ if isinstance(interval, str) and interval == "bootstrap" else interval
        if not isinstance(br, BootstrapResult):
            raise ValueError("interval must be None, 'bootstrap' or a BootstrapResult")
        lo, hi = (
            (br.cumulative_lower, br.cumulative_upper)
            if cumulative
            else (br.curve_lower, br.curve_upper)
        )
        ax.fill_between(br.t, lo, hi, alpha=0.3, label=f"{br.level:.0%} bootstrap band")
    if n > model.n_periods_:
        ax.axvline(model.n_periods_ + 0.5, ls=":", color="0.4")
    ax.set_xlabel("period")
    ax.set_ylabel("cumulative adopters" if cumulative else "adoptions per period")
    ax.legend()
    return ax

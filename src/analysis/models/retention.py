r"""Retention curves for user cohorts: sBG, beta-discrete-Weibull and simple curves.

The question this module answers: of the users who arrived in a cohort (for the RedNote
"TikTok refugee" influx, January 2025), what share is still active after 30, 90, 180 or
365 days, and how sure are we?

Models
------
Every model describes :math:`T`, the period (day, month, year...) in which a member of a
cohort churns, :math:`T = 1, 2, \dots`, through its survivor function
:math:`S(t) = P(T > t)` with :math:`S(0) = 1`.  ``t`` is "periods since the cohort
started"; the unit is whatever the counts are indexed by (days for ``age_days``).

``ShiftedBetaGeometric`` (sBG; Fader & Hardie 2007)
    Each user churns at the end of every period with a constant probability
    :math:`\theta` (geometric, F&H 2007 eq. (1)-(2)); :math:`\theta` varies across users as
    :math:`\mathrm{Beta}(\alpha, \beta)` (eq. (3)).  Then

    .. math::
        P(T = t) = \frac{B(\alpha + 1, \beta + t - 1)}{B(\alpha, \beta)}, \qquad
        S(t) = \frac{B(\alpha, \beta + t)}{B(\alpha, \beta)}

    (eq. (4) and (5)), with retention rate
    :math:`r_t = S(t)/S(t-1) = (\beta + t - 1)/(\alpha + \beta + t - 1)` (eq. (8)), which
    rises with :math:`t` purely through sorting (heterogeneity), not because any user
    becomes more loyal.  Mean first-period churn is :math:`\alpha/(\alpha + \beta)`.

``BetaDiscreteWeibull`` (BdW; Fader, Hardie, Liu, Davin & Steenburgh 2018)
    Each user's churn time is discrete Weibull, :math:`S(t \mid \theta, c) =
    (1 - \theta)^{t^c}`, with :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)`:

    .. math:: S(t) = \frac{B(\alpha, \beta + t^c)}{B(\alpha, \beta)}.

    :math:`c < 1`: each user's hazard falls with tenure (negative duration dependence,
    habits form); :math:`c > 1`: it rises; :math:`c = 1` is the sBG.

``GeometricRetention``
    Constant churn for everybody: :math:`S(t) = (1 - \theta)^t`, the discrete
    counterpart of the exponential :math:`e^{-\lambda t}` with
    :math:`\lambda = -\ln(1 - \theta)`.

``PowerLawRetention``
    The curve often fitted to app "day-N retention":
    :math:`S(t) = \min(1, a\,t^{-b})` (so :math:`S(0) = 1`, :math:`S(1) = a`).
    A curve, not a model of individual churn (Fader & Hardie's note "How Not to Project
    Customer Retention" warns against projecting with such curves); a benchmark.

``WeibullRetention``
    Homogeneous discrete Weibull (Nakagawa & Osaki 1975):
    :math:`S(t) = (1 - \theta)^{t^c}` -- the BdW without heterogeneity.

Likelihoods and which retention definition each fit assumes
-----------------------------------------------------------
*Survivor likelihood* (``fit(alive)`` and ``fit_cohorts(table, retention="unbounded")``).
The counts are survivors: ``alive[t]`` users have not churned by period ``t``, so the
series is non-increasing.  Users lost between observed ages :math:`a_{k-1}` and
:math:`a_k` contribute :math:`\ln[S(a_{k-1}) - S(a_k)]` (for consecutive periods this is
:math:`\ln P(T = t)`), users still alive at the last observed age :math:`a_K` contribute
:math:`\ln S(a_K)` (right-censoring):

.. math::
    LL = \sum_k n_k \ln[S(a_{k-1}) - S(a_k)] + n_{a_K} \ln S(a_K)

-- Fader & Hardie (2007) eq. (7), generalised to unequal gaps, and summed over cohorts of
different ages for a joint fit (the youngest cohorts are censored earliest).  It is
exact for *unbounded* retention: "active on day N **or later**", which is monotone and
is a survivor count (a user who is never seen again after day N has churned at N).

*Binomial likelihood* (``fit_cohorts(table, retention="classic")``).  Classic day-N
retention ("active **on** day N") is not monotone -- users lapse and come back -- so it is
not a survivor count and the survivor likelihood does not apply.  Here the curve is read
as the probability that a cohort member is active on day N:
``active_users ~ Binomial(cohort_size, S(age_days))``, independently across ages.  The
same users are counted at every age, so this is a composite (pseudo-) likelihood: point
estimates are consistent for the activity curve, but Hessian standard errors are too
small.  By default the covariance is therefore the cluster-robust sandwich with cohorts as
clusters (needs many cohorts; see ``fit_cohorts``).  The fitted curve is an *activity*
curve, not a survival curve, and should be labelled as such.

Log-likelihoods omit the multinomial/binomial constants, as in Fader & Hardie's
eq. (7) (the "regular" customers' maximum over years 0..7 is -1,680.27).
``n_obs_`` (used in BIC) is the number of users (sum of cohort sizes).

Estimation and uncertainty
--------------------------
Maximum likelihood with :func:`scipy.optimize.minimize` (BFGS with central-difference
gradients inside a box of +-20 on the transformed scale, Nelder-Mead polishing if needed)
on the log scale of positive parameters and the logit scale of probabilities, from
several starting values.  A fit that does not
reach a stationary point raises :class:`RetentionFitError`; an optimum on the edge of the
search range (e.g. an sBG collapsing to a geometric because there is no detectable
heterogeneity) or a Hessian that is not negative definite issues a
:class:`RetentionFitWarning`.  Standard errors come from the inverse of the numerical
Hessian (:func:`statsmodels.tools.numdiff.approx_hess3`) of the log-likelihood in the
transformed parameters, mapped to the natural scale by the delta method; the 95 %
intervals in ``summary`` are computed on the transformed scale and mapped back (so they
stay positive / inside (0, 1)).  ``survival_interval`` gives intervals for projected
retention either by the delta method on the logit of :math:`S(t)` with respect to the
transformed parameters (default, fast) or by a bootstrap (parametric -- simulate the
observed data from the fitted model, refit, take percentiles -- for survivor fits; whole
cohorts resampled for classic-retention fits).

Typical parameter values
------------------------
Fader & Hardie's (2007) yearly "regular" customers: :math:`\alpha = 0.704`,
:math:`\beta = 1.182`.  :math:`\alpha, \beta < 1` means a U-shaped (polarised) churn propensity: many users who
leave almost at once and a loyal core.  As a rule of thumb, estimates with both
:math:`\alpha` and :math:`\beta` above ~1e4 signal no detectable heterogeneity (a
:class:`RetentionFitWarning` says so; use the geometric / discrete Weibull), and BdW estimates of :math:`c` far outside roughly 0.2-5 usually signal a
weakly identified fit rather than strong duration dependence.  For the power law,
:math:`b` of a few tenths is common for day-N app retention.  These are orientation
values, not constraints.

Examples
--------
>>> from analysis.models.retention import ShiftedBetaGeometric
>>> m = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
>>> print(m.params_.round(3).to_dict())
{'alpha': 0.704, 'beta': 1.182}
>>> m.survival_interval([30, 90, 180, 365])  # doctest: +SKIP

Layout
------
This module holds the pure functions (``sbg_survival``, ``bdw_survival`` ...) and the
thin family classes, each 15-30 lines: parameter names, transforms, :math:`\ln S(t)` and
starting values. :class:`RetentionModel` combines two private modules:
:mod:`analysis.models._retention_likelihood` (transforms, log-likelihood, optimisation,
covariance; the data checks and containers are in :mod:`analysis.models._retention_data`)
and :mod:`analysis.models._retention_intervals` (curves, standard errors, summaries,
delta-method and bootstrap intervals, parameter draws).

References
----------
Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. *Journal of
Interactive Marketing* 21(1), 76-90.
Fader, P. S., Hardie, B. G. S., Liu, Y., Davin, J. & Steenburgh, T. (2018). "How to
project customer retention" revisited: the role of duration dependence. *Journal of
Interactive Marketing* 43, 1-16.
Nakagawa, T. & Osaki, S. (1975). The discrete Weibull distribution. *IEEE Transactions
on Reliability* R-24(5), 300-301.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from analysis.models._estimator import NotFittedError
from analysis.models._retention_data import (
    _alive_values,
    _BinomialData,
    _check_t,
    _log1mexp,
    _out,
    _SurvivorData,
)
from analysis.models._retention_intervals import RetentionIntervals
from analysis.models._retention_likelihood import (
    RetentionFitError,
    RetentionFitWarning,
    RetentionLikelihood,
)

__all__ = [
    "COHORT_COLUMNS",
    "DEFAULT_MODELS",
    "BetaDiscreteWeibull",
    "GeometricRetention",
    "NotFittedError",
    "PowerLawRetention",
    "RetentionFitError",
    "RetentionFitWarning",
    "RetentionModel",
    "ShiftedBetaGeometric",
    "WeibullRetention",
    "bdw_churn_probability",
    "bdw_survival",
    "compare_models",
    "exponential_survival",
    "geometric_survival",
    "plot_retention",
    "power_law_survival",
    "sbg_churn_probability",
    "sbg_retention_rate",
    "sbg_survival",
    "weibull_survival",
]

#: Columns of ``analysis.data.cohorts.cohort_table``.
COHORT_COLUMNS = ("cohort_date", "age_days", "active_users", "cohort_size")


# --------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------


def _check_positive(name: str, value: Any) -> np.ndarray:
    v = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"{name} must be positive and finite; got {value!r}")
    return v


def _check_probability(name: str, value: Any, *, upper_closed: bool = False) -> np.ndarray:
    v = np.asarray(value, dtype=float)
    ok = np.isfinite(v) & (v > 0) & ((v <= 1) if upper_closed else (v < 1))
    if not np.all(ok):
        interval = "(0, 1]" if upper_closed else "(0, 1)"
        raise ValueError(f"{name} must lie in {interval}; got {value!r}")
    return v


def _log_sbg(alpha: Any, beta: Any, t: np.ndarray) -> np.ndarray:
    return special.betaln(alpha, beta + t) - special.betaln(alpha, beta)


def _log_bdw(alpha: Any, beta: Any, c: Any, t: np.ndarray) -> np.ndarray:
    return special.betaln(alpha, beta + np.power(t, c)) - special.betaln(alpha, beta)


def _log_geometric(theta: Any, t: np.ndarray) -> np.ndarray:
    return t * np.log1p(-theta)


def _log_power_law(a: Any, b: Any, t: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.minimum(0.0, np.log(a) - b * np.log(t))


def _log_weibull(theta: Any, c: Any, t: np.ndarray) -> np.ndarray:
    return np.power(t, c) * np.log1p(-theta)


def sbg_survival(alpha: float, beta: float, t: Any) -> float | np.ndarray:
    r"""Shifted-beta-geometric survivor function :math:`S(t) = B(\alpha, \beta+t)/B(\alpha, \beta)`.

    Equation (5) of Fader & Hardie (2007), computed as
    ``exp(betaln(alpha, beta + t) - betaln(alpha, beta))`` for numerical stability.

    Parameters
    ----------
    alpha, beta : float
        Parameters (> 0) of the beta distribution of churn probabilities.
    t : float or array_like
        Periods since the start (>= 0); vectorised.

    Returns
    -------
    float or ndarray
        Share of the cohort still alive at ``t`` (scalar for scalar ``t``).
    """
    a, b = _check_positive("alpha", alpha), _check_positive("beta", beta)
    return _out(np.exp(_log_sbg(a, b, _check_t(t))))


def sbg_churn_probability(alpha: float, beta: float, t: Any) -> float | np.ndarray:
    r"""sBG probability of churning in period ``t``: :math:`P(T = t) = B(\alpha+1, \beta+t-1)/B(\alpha, \beta)`.

    Equation (4) of Fader & Hardie (2007); ``t`` must be whole periods.  ``P(T = 0) = 0``
    (nobody churns before the first renewal), so ``sum(P(T = s), s = 1..t) + S(t) = 1``.
    """
    a, b = _check_positive("alpha", alpha), _check_positive("beta", beta)
    tt = _check_t(t, integer=True)
    with np.errstate(invalid="ignore"):
        logp = special.betaln(a + 1.0, b + np.maximum(tt, 1.0) - 1.0) - special.betaln(a, b)
    return _out(np.where(tt >= 1, np.exp(logp), 0.0))


def sbg_retention_rate(alpha: float, beta: float, t: Any) -> float | np.ndarray:
    r"""sBG period-``t`` retention rate :math:`r_t = S(t)/S(t-1) = (\beta+t-1)/(\alpha+\beta+t-1)`.

    Equation (8) of Fader & Hardie (2007); defined for ``t >= 1``.
    """
    a, b = _check_positive("alpha", alpha), _check_positive("beta", beta)
    tt = _check_t(t)
    if np.any(tt < 1):
        raise ValueError("the retention rate r_t = S(t)/S(t-1) is defined for t >= 1")
    return _out((b + tt - 1.0) / (a + b + tt - 1.0))


def bdw_survival(alpha: float, beta: float, c: float, t: Any) -> float | np.ndarray:
    r"""Beta-discrete-Weibull survivor function :math:`S(t) = B(\alpha, \beta + t^c)/B(\alpha, \beta)`.

    Fader, Hardie, Liu, Davin & Steenburgh (2018).  ``c = 1`` gives :func:`sbg_survival`.
    Vectorised in ``t``; computed with ``scipy.special.betaln``.
    """
    a, b = _check_positive("alpha", alpha), _check_positive("beta", beta)
    cc = _check_positive("c", c)
    return _out(np.exp(_log_bdw(a, b, cc, _check_t(t))))


def bdw_churn_probability(alpha: float, beta: float, c: float, t: Any) -> float | np.ndarray:
    """BdW probability of churning in period ``t``: ``S(t-1) - S(t)`` (0 at ``t = 0``)."""
    a, b = _check_positive("alpha", alpha), _check_positive("beta", beta)
    cc = _check_positive("c", c)
    tt = _check_t(t, integer=True)
    prev = np.maximum(tt - 1.0, 0.0)
    ls_prev, ls = _log_bdw(a, b, cc, prev), _log_bdw(a, b, cc, tt)
    p = np.exp(ls_prev + _log1mexp(ls - ls_prev))
    return _out(np.where(tt >= 1, p, 0.0))


def geometric_survival(theta: float, t: Any) -> float | np.ndarray:
    r"""Geometric (constant churn) survivor function :math:`S(t) = (1 - \theta)^t`.

    Fader & Hardie (2007) eq. (2) for a single user; here applied to the whole cohort.
    """
    th = _check_probability("theta", theta)
    return _out(np.exp(_log_geometric(th, _check_t(t))))


def exponential_survival(rate: float, t: Any) -> float | np.ndarray:
    r"""Exponential survivor function :math:`S(t) = e^{-\lambda t}` (continuous geometric).

    Identical to :func:`geometric_survival` with :math:`\theta = 1 - e^{-\lambda}`.
    """
    lam = _check_positive("rate", rate)
    return _out(np.exp(-lam * _check_t(t)))


def power_law_survival(a: float, b: float, t: Any) -> float | np.ndarray:
    r"""Power-law retention curve :math:`S(t) = \min(1, a\,t^{-b})`, so ``S(0) = 1`` and ``S(1) = a``."""
    aa = _check_probability("a", a, upper_closed=True)
    bb = _check_positive("b", b)
    return _out(np.exp(_log_power_law(aa, bb, _check_t(t))))


def weibull_survival(theta: float, c: float, t: Any) -> float | np.ndarray:
    r"""Discrete Weibull survivor function :math:`S(t) = (1 - \theta)^{t^c}` (Nakagawa & Osaki 1975)."""
    th = _check_probability("theta", theta)
    cc = _check_positive("c", c)
    return _out(np.exp(_log_weibull(th, cc, _check_t(t))))


# --------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------


class RetentionModel(RetentionIntervals, RetentionLikelihood):
    """Base class: maximum-likelihood retention curve fitted to survivor counts.

    Subclasses define ``param_names``, the transform of each parameter (``"log"`` for
    positive parameters, ``"logit"`` for probabilities), ``_log_survival`` and starting
    values.  The constructor only stores settings (scikit-learn convention); everything
    learned by ``fit`` ends in ``_`` and a new ``fit`` discards the previous one.

    Fitting (``fit``, ``fit_cohorts``) comes from
    :class:`~analysis.models._retention_likelihood.RetentionLikelihood`; curves and
    uncertainty (``survival``, ``summary``, ``survival_interval``, ``sample_survival``
    ...) from :class:`~analysis.models._retention_intervals.RetentionIntervals`; settings
    (``get_params``, ``set_params``, ``clone``) from
    :class:`~analysis.models._estimator.Estimator`.

    Parameters
    ----------
    init : dict, optional
        Starting values on the natural scale, e.g. ``{"alpha": 1.0, "beta": 2.0}``; tried
        before the built-in starting values.
    max_iter : int, default 2000
        Iteration limit passed to the optimiser.

    Attributes
    ----------
    params_ : pandas.Series
        Maximum-likelihood estimates, indexed by parameter name.
    standard_errors_ : pandas.Series
        Delta-method standard errors (natural scale).
    covariance_ : pandas.DataFrame
        Estimated covariance of ``params_`` (natural scale, delta method).
    log_likelihood_, aic_, bic_ : float
        Maximised log-likelihood (without the multinomial constant), AIC and BIC.
    n_obs_ : float
        Number of users (sum of cohort sizes), the ``n`` of the BIC.
    n_cohorts_, n_periods_ : int
        Cohorts in the fit and the largest age observed.
    retention_ : str
        ``"unbounded"`` (survivor likelihood) or ``"classic"`` (binomial likelihood).
    cov_type_ : str
        ``"hessian"`` or ``"cluster"`` (cluster-robust by cohort).
    optimizer_result_ : scipy.optimize.OptimizeResult
        The accepted optimiser run (on the transformed scale).  Runs are accepted when the
        central-difference gradient of the per-user log-likelihood vanishes (< 1e-5 on the
        free parameters), even if scipy reports an abnormal line-search termination.
    """

    # ``analysis.notebooks.retention`` still calls the old private name; ``clone`` is the API.
    def _clone(self) -> RetentionModel:
        return self.clone()


def _first_share(data: _SurvivorData | _BinomialData) -> tuple[float, float]:
    """(age, share) at the first observed age > 0, clipped into (0, 1)."""
    ages, share = data.reference_curve()
    pos = ages > 0
    a, s = float(ages[pos][0]), float(share[pos][0])
    return a, float(np.clip(s, 1e-4, 1 - 1e-4))


def _geometric_start(data: _SurvivorData | _BinomialData) -> float:
    ages, share = data.reference_curve()
    pos = (ages > 0) & (share > 0)
    if not pos.any():
        return 0.5
    rate = np.mean(-np.log(np.clip(share[pos], 1e-12, 1 - 1e-12)) / ages[pos])
    return float(np.clip(-np.expm1(-rate), 1e-4, 0.99))


#: alpha and beta both above this: the beta mixing distribution is nearly a point mass.
_DEGENERATE_BETA = 1e4


def _heterogeneity_warning(alpha: float, beta: float, simpler: str) -> list[str]:
    if min(alpha, beta) <= _DEGENERATE_BETA:
        return []
    return [
        f"alpha={alpha:.4g} and beta={beta:.4g} both exceed {_DEGENERATE_BETA:g}: the beta "
        f"distribution of churn probabilities is nearly a point mass (no detectable "
        f"heterogeneity). The curve equals the {simpler} model's and alpha, beta are only "
        f"identified through alpha/(alpha+beta); prefer the simpler model."
    ]


class ShiftedBetaGeometric(RetentionModel):
    r"""Shifted-beta-geometric (sBG) retention model of Fader & Hardie (2007).

    :math:`S(t) = B(\alpha, \beta + t)/B(\alpha, \beta)` (eq. (5)); fitted by maximising
    eq. (7).  ``params_``: ``alpha``, ``beta`` (both > 0, estimated on the log scale).

    Examples
    --------
    >>> m = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> m.summary  # doctest: +SKIP
    >>> m.survival(12)  # doctest: +SKIP
    """

    family = "sBG"
    param_names = ("alpha", "beta")
    _transforms = ("log", "log")

    def _diagnose(self, p: np.ndarray) -> list[str]:
        return _heterogeneity_warning(p[0], p[1], "geometric")

    def _log_survival(self, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _log_sbg(p[0], p[1], t)

    def _starts(self, data: _SurvivorData | _BinomialData) -> list[np.ndarray]:
        theta = _geometric_start(data)
        return [np.array([1.0, 1.0]), np.array([0.5, 0.5 * (1 - theta) / theta])]


class BetaDiscreteWeibull(RetentionModel):
    r"""Beta-discrete-Weibull (BdW) retention model (Fader, Hardie, Liu, Davin & Steenburgh 2018).

    :math:`S(t) = B(\alpha, \beta + t^c)/B(\alpha, \beta)`; ``params_``: ``alpha``,
    ``beta``, ``c`` (all > 0, log scale).  ``c = 1`` is the sBG; the fit starts from the sBG
    estimate, so its log-likelihood is never below the sBG's.
    """

    family = "BdW"
    param_names = ("alpha", "beta", "c")
    _transforms = ("log", "log", "log")

    def _diagnose(self, p: np.ndarray) -> list[str]:
        return _heterogeneity_warning(p[0], p[1], "homogeneous discrete Weibull")

    def _log_survival(self, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _log_bdw(p[0], p[1], p[2], t)

    def _starts(self, data: _SurvivorData | _BinomialData) -> list[np.ndarray]:
        starts = []
        try:
            res = ShiftedBetaGeometric()._optimize(data)
            a, b = np.exp(res.x)
            starts.append(np.array([a, b, 1.0]))
        except RetentionFitError:
            pass
        theta = _geometric_start(data)
        starts += [np.array([1.0, 1.0, 1.0]), np.array([1.0, (1 - theta) / theta, 0.5])]
        return starts


class GeometricRetention(RetentionModel):
    r"""Constant churn for everybody: :math:`S(t) = (1 - \theta)^t` (``params_``: ``theta``, logit scale).

    The discrete exponential; the homogeneous special case of the sBG (F&H 2007 eq. (2)).
    """

    family = "geometric"
    param_names = ("theta",)
    _transforms = ("logit",)

    def _log_survival(self, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _log_geometric(p[0], t)

    def _starts(self, data: _SurvivorData | _BinomialData) -> list[np.ndarray]:
        return [np.array([_geometric_start(data)]), np.array([0.2])]


class PowerLawRetention(RetentionModel):
    r"""Power-law curve :math:`S(t) = \min(1, a\,t^{-b})` (``params_``: ``a`` in (0, 1) logit scale, ``b`` > 0 log scale).

    ``a`` is the share retained after the first period; ``b`` the decay exponent.
    """

    family = "power law"
    param_names = ("a", "b")
    _transforms = ("logit", "log")

    def _log_survival(self, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _log_power_law(p[0], p[1], t)

    def _starts(self, data: _SurvivorData | _BinomialData) -> list[np.ndarray]:
        ages, share = data.reference_curve()
        pos = (ages > 0) & (share > 0)
        starts = []
        if pos.sum() >= 2:
            slope, intercept = np.polyfit(np.log(ages[pos]), np.log(share[pos]), 1)
            starts.append(
                np.array([np.clip(np.exp(intercept), 1e-3, 0.999), np.clip(-slope, 1e-3, 10.0)])
            )
        _, s1 = _first_share(data)
        starts.append(np.array([s1, 0.5]))
        return starts


class WeibullRetention(RetentionModel):
    r"""Homogeneous discrete Weibull :math:`S(t) = (1 - \theta)^{t^c}` (``params_``: ``theta`` logit, ``c`` log).

    Nakagawa & Osaki (1975); the BdW without heterogeneity, the geometric when ``c = 1``.
    """

    family = "Weibull"
    param_names = ("theta", "c")
    _transforms = ("logit", "log")

    def _log_survival(self, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        return _log_weibull(p[0], p[1], t)

    def _starts(self, data: _SurvivorData | _BinomialData) -> list[np.ndarray]:
        a1, s1 = _first_share(data)
        theta1 = float(np.clip(1 - s1 ** (1 / a1), 1e-4, 0.99))
        return [np.array([theta1, 0.5]), np.array([_geometric_start(data), 1.0])]


#: The families compared by default, in order of :func:`compare_models` rows.
DEFAULT_MODELS: tuple[type[RetentionModel], ...] = (
    ShiftedBetaGeometric,
    BetaDiscreteWeibull,
    GeometricRetention,
    PowerLawRetention,
    WeibullRetention,
)


# --------------------------------------------------------------------------------------
# Model comparison and plots
# --------------------------------------------------------------------------------------


def compare_models(
    alive: Sequence[float] | np.ndarray | pd.Series,
    holdout: int = 0,
    models: Sequence[RetentionModel | type[RetentionModel]] | None = None,
) -> pd.DataFrame:
    """Fit every family to the calibration periods and score the projection on the holdout.

    Parameters
    ----------
    alive : sequence of float
        One cohort's survivor counts at periods ``0..T`` (as for ``fit``).
    holdout : int
        The last ``holdout`` periods are held out: models are fitted on
        ``alive[:len(alive) - holdout]`` and project the rest.  ``0``: in-sample comparison
        only (holdout columns are NaN).
    models : sequence of estimators or classes, optional
        Default: sBG, BdW, geometric, power law, Weibull.  Instances are cloned (their
        settings are kept, they are not modified).

    Returns
    -------
    DataFrame
        One row per family (index ``model``): ``n_params``, ``log_likelihood``, ``aic``,
        ``bic`` (calibration part), ``holdout_mape`` (mean absolute percentage error of the
        projected share alive, in percent, over holdout periods with a non-zero observed
        share), ``holdout_mae`` (mean absolute error in percentage points of the cohort),
        ``params`` (dict) and ``note`` (warnings or the error of a fit that failed; its
        figures are then NaN).
    """
    arr = np.asarray(_alive_values(alive) if isinstance(alive, pd.Series) else alive, dtype=float)
    if isinstance(holdout, bool) or not isinstance(holdout, (int, np.integer)) or holdout < 0:
        raise ValueError(f"holdout must be a non-negative integer; got {holdout!r}")
    if arr.ndim == 1 and arr.size - holdout < 3:
        raise ValueError(
            f"holdout={holdout} leaves {arr.size - holdout} calibration period(s) of "
            f"{arr.size}; need at least three (periods 0, 1, 2)"
        )
    calib = arr[: arr.size - holdout] if arr.ndim == 1 else arr
    specs = list(DEFAULT_MODELS) if models is None else list(models)
    rows, names = [], []
    for spec in specs:
        model = spec() if isinstance(spec, type) else spec.clone()
        name = model.family
        while name in names:
            name += "'"
        names.append(name)
        row: dict[str, Any] = {"n_params": model.n_params}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RetentionFitWarning)
            try:
                model.fit(calib)
            except RetentionFitError as exc:
                row.update(
                    log_likelihood=np.nan,
                    aic=np.nan,
                    bic=np.nan,
                    holdout_mape=np.nan,
                    holdout_mae=np.nan,
                    params={},
                    note=f"fit failed: {exc}",
                )
                warnings.warn(
                    f"compare_models: {name} {row['note']}", RetentionFitWarning, stacklevel=2
                )
                rows.append(row)
                continue
        note = "; ".join(
            str(w.message) for w in caught if issubclass(w.category, RetentionFitWarning)
        )
        row.update(
            log_likelihood=model.log_likelihood_,
            aic=model.aic_,
            bic=model.bic_,
            params={k: float(v) for k, v in model.params_.items()},
        )
        if holdout:
            t = np.arange(arr.size - holdout, arr.size, dtype=float)
            observed = arr[arr.size - holdout :] / arr[0]
            projected = np.asarray(model.survival(t))
            nz = observed > 0
            row["holdout_mape"] = (
                float(np.mean(np.abs(projected[nz] - observed[nz]) / observed[nz]) * 100)
                if nz.any()
                else np.nan
            )
            row["holdout_mae"] = float(np.mean(np.abs(projected - observed)) * 100)
        else:
            row["holdout_mape"] = row["holdout_mae"] = np.nan
        row["note"] = note
        rows.append(row)
    cols = [
        "n_params",
        "log_likelihood",
        "aic",
        "bic",
        "holdout_mape",
        "holdout_mae",
        "params",
        "note",
    ]
    return pd.DataFrame(rows, index=pd.Index(names, name="model"))[cols]


def plot_retention(
    model: RetentionModel,
    alive: Sequence[float] | np.ndarray | pd.Series | pd.DataFrame | None = None,
    ax: Any = None,
    *,
    horizon: float | None = None,
    level: float | None = 0.95,
    label: str | None = None,
    retention_col: tuple[str, str, str] = ("age_days", "active_users", "cohort_size"),
):
    """Plot the observed share retained and the fitted curve with its interval band.

    Parameters
    ----------
    model : fitted RetentionModel
    alive : sequence or DataFrame, optional
        One cohort's survivor counts (plotted as ``alive / alive[0]`` at periods 0..T), or a
        ``cohort_table`` DataFrame (plotted as the pooled share ``sum(active) / sum(size)``
        at each age over the cohorts observed at that age).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created if omitted.
    horizon : float, optional
        Last period of the curve (default: the last observed period).
    level : float or None
        Delta-method interval band (``None``: no band, or when no covariance is available).
    label : str, optional
        Legend label of the curve (default: the family name).
    retention_col : (age, active, size) column names for a DataFrame ``alive``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes (no ``savefig``, no ``show``, no global style changes).
    """
    model._check_fitted()
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    obs_t = obs_s = None
    xlabel = "period"
    if isinstance(alive, pd.DataFrame):
        age_col, act_col, size_col = retention_col
        pooled = alive.groupby(age_col)[[act_col, size_col]].sum()
        obs_t = pooled.index.to_numpy(dtype=float)
        obs_s = (pooled[act_col] / pooled[size_col]).to_numpy()
        xlabel = "age (days)"
    elif alive is not None:
        a = np.asarray(_alive_values(alive) if isinstance(alive, pd.Series) else alive, dtype=float)
        obs_t, obs_s = np.arange(a.size, dtype=float), a / a[0]
    last = float(obs_t.max()) if obs_t is not None else float(model.n_periods_)
    horizon = max(last, float(model.n_periods_)) if horizon is None else float(horizon)
    grid = np.linspace(0.0, horizon, 200) if horizon > 60 else np.arange(0.0, horizon + 1)
    curve_label = label or f"{model.family} fit"
    line = ax.plot(grid, np.asarray(model.survival(grid)), label=curve_label)[0]
    if level is not None and np.all(np.isfinite(model.covariance_.to_numpy())):
        band = model.survival_interval(grid, level)
        ax.fill_between(
            grid,
            band["lower"],
            band["upper"],
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
            label=f"{level:.0%} interval (delta method)",
        )
    if obs_t is not None:
        ax.plot(obs_t, obs_s, "o", color="black", markersize=3, label="observed")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(
        "share active on day t" if model.retention_ == "classic" else "share of cohort retained"
    )
    ax.set_ylim(0, 1.02)
    ax.legend()
    return ax

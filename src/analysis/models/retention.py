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

import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from statsmodels.tools.numdiff import approx_hess3

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

_LN2 = math.log(2.0)
#: Cap on log-probability gaps inside likelihoods: ``log(1 - exp(x))`` with ``x`` capped at
#: ``-1e-300`` is at worst about -690 instead of -inf, which keeps the objective finite
#: (and the finite-difference gradients usable) where a curve is numerically flat.
_XCAP = -1e-300
#: Search range of the transformed (log / logit) parameters.
_BOUND = 20.0
#: Largest central-difference gradient of the per-user negative log-likelihood accepted
#: as a stationary point.
_GTOL = 1e-5
#: Columns of ``analysis.data.cohorts.cohort_table``.
COHORT_COLUMNS = ("cohort_date", "age_days", "active_users", "cohort_size")


class RetentionFitError(RuntimeError):
    """The maximum-likelihood fit did not converge (no stationary point was found)."""


class RetentionFitWarning(UserWarning):
    """The fit converged but its uncertainty is unreliable (boundary, flat likelihood)."""


class NotFittedError(ValueError, AttributeError):
    """A fitted attribute or method was used before ``fit`` (as in scikit-learn)."""


# --------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------


def _out(x: np.ndarray) -> float | np.ndarray:
    """Scalar in, scalar out: 0-d results become Python floats."""
    return float(x) if np.ndim(x) == 0 else x


def _check_t(t: Any, *, integer: bool = False, name: str = "t") -> np.ndarray:
    try:
        arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number or an array of numbers; got {t!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf); got {t!r}")
    if np.any(arr < 0):
        raise ValueError(
            f"{name} must be >= 0 (periods since the cohort started); got min {arr.min():g}"
        )
    if integer and np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold whole periods (integers); got {t!r}")
    return arr


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


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate at both ends (Maechler 2012)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(x > -_LN2, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


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
# Data containers (sufficient statistics for the two likelihoods)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SurvivorData:
    """Survivor counts of one or more cohorts, aggregated into interval/censoring counts."""

    cohort_ages: tuple[np.ndarray, ...]
    cohort_counts: tuple[np.ndarray, ...]
    ages: np.ndarray  # distinct ages at which S is evaluated
    i_lo: np.ndarray  # interval start (index into ages)
    i_hi: np.ndarray  # interval end
    deaths: np.ndarray  # users lost in the interval, summed over cohorts
    i_cens: np.ndarray  # last observed age of a cohort
    censored: np.ndarray  # users alive at that age, summed over cohorts
    n_users: float

    likelihood: ClassVar[str] = "survivor"

    @classmethod
    def build(
        cls, cohort_ages: Sequence[np.ndarray], cohort_counts: Sequence[np.ndarray]
    ) -> _SurvivorData:
        lo = np.concatenate([a[:-1] for a in cohort_ages])
        hi = np.concatenate([a[1:] for a in cohort_ages])
        d = np.concatenate([-np.diff(c) for c in cohort_counts])
        cens_age = np.array([a[-1] for a in cohort_ages], dtype=float)
        cens_n = np.array([c[-1] for c in cohort_counts], dtype=float)
        keep, keep_c = d > 0, cens_n > 0
        lo, hi, d = lo[keep], hi[keep], d[keep]
        cens_age, cens_n = cens_age[keep_c], cens_n[keep_c]
        ages = np.unique(np.concatenate([[0.0], lo, hi, cens_age]))
        n = len(ages)
        key = np.searchsorted(ages, lo) * n + np.searchsorted(ages, hi)
        ukey, inv = np.unique(key, return_inverse=True)
        deaths = np.bincount(inv, weights=d, minlength=len(ukey))
        icens = np.searchsorted(ages, cens_age)
        ucens, invc = np.unique(icens, return_inverse=True)
        censored = np.bincount(invc, weights=cens_n, minlength=len(ucens))
        return cls(
            cohort_ages=tuple(cohort_ages),
            cohort_counts=tuple(cohort_counts),
            ages=ages,
            i_lo=ukey // n,
            i_hi=ukey % n,
            deaths=deaths,
            i_cens=ucens,
            censored=censored,
            n_users=float(sum(c[0] for c in cohort_counts)),
        )

    @property
    def n_cohorts(self) -> int:
        return len(self.cohort_ages)

    @property
    def max_age(self) -> float:
        return float(max(a[-1] for a in self.cohort_ages))

    def loglik(self, log_s: np.ndarray) -> float:
        llo, lhi = log_s[self.i_lo], log_s[self.i_hi]
        with np.errstate(invalid="ignore"):
            return float(
                self.deaths @ (llo + _log1mexp(np.minimum(lhi - llo, _XCAP)))
                + self.censored @ log_s[self.i_cens]
            )

    def reference_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Observed share alive of the longest-observed cohort (for starting values)."""
        k = int(np.argmax([a[-1] for a in self.cohort_ages]))
        a, c = self.cohort_ages[k], self.cohort_counts[k]
        return a, c / c[0]

    def simulate(self, log_survival: Callable[[np.ndarray], np.ndarray], rng) -> _SurvivorData:
        """Parametric bootstrap sample: multinomial churn intervals per cohort."""
        ages_out, counts_out = [], []
        for a, c in zip(self.cohort_ages, self.cohort_counts, strict=True):
            s = np.exp(log_survival(a))
            probs = np.append(-np.diff(s), s[-1])
            probs = np.clip(probs, 0.0, None)
            probs /= probs.sum()
            lost = rng.multinomial(int(round(c[0])), probs)[:-1]
            counts_out.append(float(round(c[0])) - np.concatenate([[0.0], np.cumsum(lost)]))
            ages_out.append(a)
        return _SurvivorData.build(ages_out, counts_out)


@dataclass(frozen=True)
class _BinomialData:
    """Classic day-N retention: ``active ~ Binomial(size, S(age))`` per cohort and age."""

    age: np.ndarray
    active: np.ndarray
    size: np.ndarray
    cohort: np.ndarray  # integer code 0..n_cohorts-1 of the cohort of each row
    cohort_sizes: np.ndarray  # size of each cohort (also those without rows after day 0)
    ages: np.ndarray
    i_age: np.ndarray

    likelihood: ClassVar[str] = "binomial"

    @classmethod
    def build(
        cls,
        age: np.ndarray,
        active: np.ndarray,
        size: np.ndarray,
        cohort: np.ndarray,
        cohort_sizes: np.ndarray,
    ) -> _BinomialData:
        ages, i_age = np.unique(age, return_inverse=True)
        return cls(
            age=age,
            active=active,
            size=size,
            cohort=cohort,
            cohort_sizes=np.asarray(cohort_sizes, dtype=float),
            ages=ages,
            i_age=i_age,
        )

    @property
    def n_cohorts(self) -> int:
        return len(self.cohort_sizes)

    @property
    def n_users(self) -> float:
        return float(self.cohort_sizes.sum())

    @property
    def max_age(self) -> float:
        return float(self.age.max())

    def _terms(self, log_s: np.ndarray) -> np.ndarray:
        ls = log_s[self.i_age]
        lost = self.size - self.active
        with np.errstate(invalid="ignore"):
            return np.where(self.active > 0, self.active * ls, 0.0) + np.where(
                lost > 0, lost * _log1mexp(np.minimum(ls, _XCAP)), 0.0
            )

    def loglik(self, log_s: np.ndarray) -> float:
        return float(self._terms(log_s).sum())

    def loglik_by_cohort(self, log_s: np.ndarray) -> np.ndarray:
        return np.bincount(self.cohort, weights=self._terms(log_s), minlength=self.n_cohorts)

    def reference_curve(self) -> tuple[np.ndarray, np.ndarray]:
        act = np.bincount(self.i_age, weights=self.active)
        size = np.bincount(self.i_age, weights=self.size)
        return np.concatenate([[0.0], self.ages]), np.concatenate([[1.0], act / size])

    def simulate(self, log_survival: Callable[[np.ndarray], np.ndarray], rng) -> _BinomialData:
        """Cohort (cluster) bootstrap sample: whole cohorts drawn with replacement.

        The binomial model's independence across ages is not believable for classic
        retention (the same users are counted at every age), so instead of simulating from
        it, cohorts are resampled; ``log_survival`` is unused.
        """
        pick = rng.integers(0, self.n_cohorts, self.n_cohorts)
        rows_of = np.split(
            np.argsort(self.cohort, kind="stable"),
            np.cumsum(np.bincount(self.cohort, minlength=self.n_cohorts))[:-1],
        )
        idx = np.concatenate([rows_of[g] for g in pick])
        new_code = np.concatenate([np.full(len(rows_of[g]), j) for j, g in enumerate(pick)])
        return _BinomialData.build(
            self.age[idx],
            self.active[idx],
            self.size[idx],
            new_code.astype(np.int64),
            self.cohort_sizes[pick],
        )


# --------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _validate_alive(alive: Any, model: RetentionModel) -> np.ndarray:
    """Check one cohort's survivor counts; raise ValueError saying exactly what is wrong."""
    if alive is None or isinstance(alive, (str, bytes, dict)):
        raise ValueError(
            f"alive must be a sequence of survivor counts (period 0 = cohort size); "
            f"got {type(alive).__name__}"
        )
    if isinstance(alive, (pd.Series, pd.Index)):
        alive = alive.to_numpy()
    try:
        arr = np.asarray(alive, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"alive must be a sequence of numbers (survivor counts); got {alive!r}"
        ) from exc
    if arr.ndim != 1:
        raise ValueError(
            f"alive must be one-dimensional (one cohort's survivor counts at periods 0..T); "
            f"got shape {arr.shape}. For several cohorts use fit_cohorts(table)."
        )
    if arr.size < 3:
        raise ValueError(
            f"alive has {arr.size} value(s); need at least three periods (0, 1, 2): period 0 "
            f"is the cohort size and at least two later periods are needed to fit a curve"
        )
    for i, v in enumerate(arr):
        if not np.isfinite(v):
            raise ValueError(f"alive[{i}] is {v}: survivor counts must be finite numbers")
    for i, v in enumerate(arr):
        if v < 0:
            raise ValueError(f"alive[{i}]={_fmt(v)} is negative: survivor counts must be >= 0")
    if arr[0] == 0:
        raise ValueError(
            "alive[0]=0: the cohort is empty; period 0 must hold the cohort size (> 0)"
        )
    for i in range(1, arr.size):
        if arr[i] > arr[i - 1]:
            raise ValueError(
                f"alive[{i}]={_fmt(arr[i])} is larger than alive[{i - 1}]={_fmt(arr[i - 1])}: "
                f"survivor counts must be non-increasing (users active on period t or later). "
                f"Classic day-N retention can rise; fit it with "
                f"fit_cohorts(table, retention='classic')."
            )
    if arr[-1] == arr[0]:
        raise ValueError(
            f"alive is constant at {_fmt(arr[0])}: the cohort lost nobody, so no retention "
            f"curve can be estimated"
        )
    k = model.n_params
    if arr.size - 1 < k:
        raise ValueError(
            f"{type(model).__name__} has {k} parameters but alive has only {arr.size - 1} "
            f"periods after period 0; need at least {k}"
        )
    return arr


def _cohort_label(v: Any) -> str:
    if isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "strftime"):
        ts = pd.Timestamp(v)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else str(ts)
    return str(v)


def _prepare_table(
    model: RetentionModel,
    table: pd.DataFrame,
    *,
    retention: str,
    cohort_col: str,
    age_col: str,
    active_col: str,
    size_col: str,
) -> _SurvivorData | _BinomialData:
    if retention not in ("unbounded", "classic"):
        raise ValueError(f"retention must be 'unbounded' or 'classic'; got {retention!r}")
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame; got {type(table).__name__}")
    cols = [cohort_col, age_col, active_col, size_col]
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ValueError(
            f"table is missing column(s) {missing}; expected {cols} "
            f"(the format of analysis.data.cohorts.cohort_table)"
        )
    if table.empty:
        raise ValueError("table has no rows")
    df = table[cols]
    for c in cols:
        bad = df[c].isna().to_numpy()
        if bad.any():
            raise ValueError(
                f"table column {c!r} has {int(bad.sum())} missing value(s) "
                f"(first at row {df.index[np.argmax(bad)]!r})"
            )
    num = {}
    for c in (age_col, active_col, size_col):
        try:
            num[c] = pd.to_numeric(df[c], errors="raise").to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"table column {c!r} must be numeric") from exc
        if not np.all(np.isfinite(num[c])):
            raise ValueError(f"table column {c!r} has infinite values")
        if np.any(num[c] < 0):
            i = int(np.argmax(num[c] < 0))
            raise ValueError(
                f"table column {c!r} has a negative value {num[c][i]:g} "
                f"(cohort {_cohort_label(df[cohort_col].iloc[i])}); counts and ages must be >= 0"
            )
    age, active, size = num[age_col], num[active_col], num[size_col]
    if np.any(age != np.round(age)):
        raise ValueError(f"table column {age_col!r} must hold whole days (integers)")
    codes, uniques = pd.factorize(df[cohort_col], sort=True)
    order = np.lexsort((age, codes))
    codes, age, active, size = codes[order], age[order], active[order], size[order]
    labels = [_cohort_label(u) for u in uniques]
    dup = (np.diff(codes) == 0) & (np.diff(age) == 0)
    if dup.any():
        i = int(np.argmax(dup))
        raise ValueError(
            f"cohort {labels[codes[i]]}: {age_col}={_fmt(age[i])} appears more than once"
        )
    starts = np.flatnonzero(np.r_[True, np.diff(codes) != 0])
    bounds = np.r_[starts, len(codes)]
    sizes = np.empty(len(starts))
    for g, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        sz = size[s:e]
        if np.any(sz != sz[0]):
            raise ValueError(
                f"cohort {labels[g]}: {size_col} is not constant ({_fmt(sz.min())} to "
                f"{_fmt(sz.max())}); it must be the size of the cohort on every row"
            )
        if sz[0] == 0:
            raise ValueError(
                f"cohort {labels[g]}: {size_col} is 0 (an empty cohort); drop it before fitting"
            )
        over = active[s:e] > sz[0]
        if over.any():
            j = s + int(np.argmax(over))
            raise ValueError(
                f"cohort {labels[g]}: {active_col}={_fmt(active[j])} at {age_col}={_fmt(age[j])} "
                f"exceeds {size_col}={_fmt(sz[0])}"
            )
        sizes[g] = sz[0]
    k = model.n_params

    if retention == "classic":
        keep = age > 0
        n_ages = len(np.unique(age[keep]))
        if n_ages < max(2, k):
            raise ValueError(
                f"classic retention is observed at {n_ages} distinct age(s) after day 0; "
                f"{type(model).__name__} needs at least {max(2, k)} (three periods including 0)"
            )
        return _BinomialData.build(age[keep], active[keep], size[keep], codes[keep], sizes)

    cohort_ages, cohort_counts = [], []
    for g, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        a, c = age[s:e], active[s:e]
        if a[0] != 0:
            a, c = np.r_[0.0, a], np.r_[sizes[g], c]
        elif c[0] != sizes[g]:
            raise ValueError(
                f"cohort {labels[g]}: {active_col}={_fmt(c[0])} at {age_col}=0 differs from "
                f"{size_col}={_fmt(sizes[g])}; unbounded retention at age 0 is the whole cohort"
            )
        up = np.flatnonzero(np.diff(c) > 0)
        if up.size:
            j = int(up[0]) + 1
            raise ValueError(
                f"cohort {labels[g]}: {active_col}={_fmt(c[j])} at {age_col}={_fmt(a[j])} is "
                f"larger than {_fmt(c[j - 1])} at {age_col}={_fmt(a[j - 1])}: survivor counts "
                f"(unbounded retention, active on day N or later) must be non-increasing. "
                f"Classic day-N retention is not monotone; fit it with retention='classic'."
            )
        cohort_ages.append(a)
        cohort_counts.append(c)
    n_ages = len(np.unique(np.concatenate(cohort_ages)))
    if n_ages < max(3, k + 1):
        raise ValueError(
            f"the cohorts are observed at {n_ages} distinct age(s) including 0; "
            f"{type(model).__name__} needs at least {max(3, k + 1)}"
        )
    if all(c[-1] == c[0] for c in cohort_counts):
        raise ValueError("no cohort lost any user: no retention curve can be estimated")
    return _SurvivorData.build(cohort_ages, cohort_counts)


# --------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------


def _central_gradient(f: Callable[[np.ndarray], Any], u: np.ndarray) -> np.ndarray:
    """Central differences; ``f`` may return a scalar or a vector (rows = outputs)."""
    cols = []
    for j in range(len(u)):
        h = 1e-5 * max(1.0, abs(u[j]))
        up, dn = u.copy(), u.copy()
        up[j] += h
        dn[j] -= h
        cols.append((np.asarray(f(up)) - np.asarray(f(dn))) / (2 * h))
    return np.stack(cols, axis=-1)


class RetentionModel:
    """Base class: maximum-likelihood retention curve fitted to survivor counts.

    Subclasses define ``param_names``, the transform of each parameter (``"log"`` for
    positive parameters, ``"logit"`` for probabilities), ``_log_survival`` and starting
    values.  The constructor only stores settings (scikit-learn convention); everything
    learned by ``fit`` ends in ``_`` and a new ``fit`` discards the previous one.

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

    family: ClassVar[str] = "base"
    param_names: ClassVar[tuple[str, ...]] = ()
    _transforms: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, init: dict[str, float] | None = None, max_iter: int = 2000):
        self.init = init
        self.max_iter = max_iter

    # ---- scikit-learn plumbing -------------------------------------------------------

    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor settings (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> RetentionModel:
        """Change constructor settings; returns self."""
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid setting {key!r} for {type(self).__name__}")
            setattr(self, key, value)
        return self

    def _clone(self) -> RetentionModel:
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self"
        }
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults.get(k)]
        return f"{type(self).__name__}({', '.join(changed)})"

    @property
    def n_params(self) -> int:
        """Number of free parameters of the family."""
        return len(self.param_names)

    # ---- parameter transforms --------------------------------------------------------

    @property
    def _is_log(self) -> np.ndarray:
        return np.array([tr == "log" for tr in self._transforms])

    def _to_natural(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        with np.errstate(over="ignore"):
            return np.where(self._is_log, np.exp(u), special.expit(u))

    def _to_unconstrained(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self._is_log, np.log(p), special.logit(p))

    def _dnatural_du(self, p: np.ndarray) -> np.ndarray:
        return np.where(self._is_log, p, p * (1.0 - p))

    # ---- model-specific pieces -------------------------------------------------------

    def _log_survival(self, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _starts(self, data: _SurvivorData | _BinomialData) -> list[np.ndarray]:
        raise NotImplementedError

    def _diagnose(self, p: np.ndarray) -> list[str]:
        """Warnings about a converged but questionable estimate (none by default)."""
        return []

    # ---- fitting ---------------------------------------------------------------------

    def _loglik_u(self, u: np.ndarray, data: _SurvivorData | _BinomialData) -> float:
        return data.loglik(self._log_survival(self._to_natural(u), data.ages))

    def _reset(self) -> None:
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, key)
        for key in ("_data", "_u_hat", "_cov_u"):
            self.__dict__.pop(key, None)

    def _user_start(self) -> list[np.ndarray]:
        if self.init is None:
            return []
        if not isinstance(self.init, dict) or set(self.init) != set(self.param_names):
            raise ValueError(
                f"init must be a dict with keys {list(self.param_names)}; got {self.init!r}"
            )
        return [np.array([float(self.init[n]) for n in self.param_names])]

    def _optimize(self, data: _SurvivorData | _BinomialData) -> optimize.OptimizeResult:
        """Multi-start maximum likelihood on the transformed scale; raise if nothing converges.

        BFGS (central-difference gradients) on the per-user negative log-likelihood, with
        the transformed parameters kept in ``[-_BOUND, _BOUND]`` by evaluating the
        likelihood at the clipped point plus a quadratic penalty outside the box.  (BFGS
        rather than L-BFGS-B: with multithreaded OpenBLAS on a busy machine L-BFGS-B was
        measured ~20x slower on these 1-3 parameter problems.)  Runs that do not end at a
        stationary point are polished with Nelder-Mead and BFGS again.
        """
        scale = max(data.n_users, 1.0)

        def objective(u: np.ndarray) -> float:
            uc = np.clip(u, -_BOUND, _BOUND)
            ll = self._loglik_u(uc, data)
            if not np.isfinite(ll):
                return np.inf
            return -ll / scale + 0.5 * float(np.sum((u - uc) ** 2))

        k = self.n_params
        bounds = [(-_BOUND, _BOUND)] * k

        def bfgs(u0: np.ndarray) -> optimize.OptimizeResult:
            with np.errstate(invalid="ignore", over="ignore"):
                return optimize.minimize(
                    objective,
                    u0,
                    method="BFGS",
                    jac="3-point",
                    options={"maxiter": self.max_iter, "gtol": 1e-7},
                )

        def stationary(res: optimize.OptimizeResult) -> bool:
            if not np.isfinite(res.fun):
                return False
            g = _central_gradient(objective, res.x)
            free = np.abs(res.x) < _BOUND - 1e-6
            return bool(np.all(np.isfinite(g[free])) and np.all(np.abs(g[free]) < _GTOL))

        results, messages = [], []
        user = self._user_start()
        quick = bool(user) and getattr(self, "_quick_start", False)

        def candidates():
            yield from user
            if quick and results:
                return  # bootstrap refits: the original estimate is a good enough start
            yield from self._starts(data)

        for p0 in candidates():
            u0 = np.clip(self._to_unconstrained(p0), -_BOUND + 1, _BOUND - 1)
            if not np.all(np.isfinite(u0)) or not np.isfinite(objective(u0)):
                continue
            res = bfgs(u0)
            if not stationary(res):
                nm = optimize.minimize(
                    objective,
                    np.clip(res.x, -_BOUND, _BOUND) if np.isfinite(res.fun) else u0,
                    method="Nelder-Mead",
                    bounds=bounds,
                    options={"maxiter": self.max_iter, "xatol": 1e-10, "fatol": 1e-14},
                )
                res = bfgs(nm.x)
                if not (nm.fun >= res.fun):
                    res = nm
            if stationary(res):
                results.append(res)
            else:
                at = ", ".join(
                    f"{n}={v:.6g}"
                    for n, v in zip(self.param_names, self._to_natural(res.x), strict=True)
                )
                messages.append(f"{res.message} at {at}")
        if not results:
            detail = "; ".join(str(m) for m in messages) or "no finite starting value"
            raise RetentionFitError(
                f"{type(self).__name__} fit did not converge to a stationary point of the "
                f"likelihood ({detail}). Try other starting values with init=..., or a "
                f"simpler model."
            )
        return min(results, key=lambda r: r.fun)

    def _fit_data(
        self,
        data: _SurvivorData | _BinomialData,
        *,
        retention: str,
        cov_type: str,
    ) -> RetentionModel:
        self._reset()
        res = self._optimize(data)
        u_hat = np.clip(np.asarray(res.x, dtype=float), -_BOUND, _BOUND)
        p_hat = self._to_natural(u_hat)
        ll = self._loglik_u(u_hat, data)
        names = list(self.param_names)

        at_edge = np.abs(u_hat) > _BOUND - 0.5
        if cov_type == "none":
            cov_u = np.full((self.n_params, self.n_params), np.nan)
        else:
            cov_u = self._covariance(u_hat, data, cov_type)
            if at_edge.any():
                which = ", ".join(
                    f"{n}={v:.3g}" for n, v, e in zip(names, p_hat, at_edge, strict=True) if e
                )
                warnings.warn(
                    f"{type(self).__name__}: {which} is at the edge of the search range: the "
                    f"likelihood is maximised on the boundary (for sBG/BdW: no detectable "
                    f"heterogeneity, the model collapses towards a homogeneous curve). "
                    f"Standard errors are unreliable; prefer the simpler model.",
                    RetentionFitWarning,
                    stacklevel=3,
                )

        if cov_type != "none":
            for message in self._diagnose(p_hat):
                warnings.warn(
                    f"{type(self).__name__}: {message}", RetentionFitWarning, stacklevel=3
                )
        jac = self._dnatural_du(p_hat)
        cov_p = cov_u * np.outer(jac, jac)
        self._data = data
        self._u_hat = u_hat
        self._cov_u = cov_u
        self.params_ = pd.Series(p_hat, index=pd.Index(names, name="parameter"), name="estimate")
        self.covariance_ = pd.DataFrame(cov_p, index=names, columns=names)
        self.standard_errors_ = pd.Series(
            np.sqrt(np.diag(cov_p)), index=pd.Index(names, name="parameter"), name="se"
        )
        self.log_likelihood_ = ll
        self.n_obs_ = data.n_users
        self.aic_ = 2.0 * self.n_params - 2.0 * ll
        self.bic_ = self.n_params * math.log(data.n_users) - 2.0 * ll
        self.n_cohorts_ = int(data.n_cohorts)
        self.n_periods_ = int(data.max_age)
        self.retention_ = retention
        self.cov_type_ = cov_type
        self.optimizer_result_ = res
        return self

    def _covariance(
        self, u_hat: np.ndarray, data: _SurvivorData | _BinomialData, cov_type: str
    ) -> np.ndarray:
        k = self.n_params
        hess = approx_hess3(u_hat, lambda u: self._loglik_u(u, data))
        neg_h = -0.5 * (hess + hess.T)
        eig = np.linalg.eigvalsh(neg_h) if np.all(np.isfinite(neg_h)) else np.array([np.nan])
        if not np.all(np.isfinite(eig)) or eig.min() <= 1e-12 * max(1.0, abs(eig).max()):
            warnings.warn(
                f"{type(self).__name__}: the Hessian of the log-likelihood is not negative "
                f"definite at the estimate (flat or boundary likelihood); standard errors and "
                f"delta-method intervals are unavailable (NaN). Use "
                f"survival_interval(method='bootstrap') or a simpler model.",
                RetentionFitWarning,
                stacklevel=4,
            )
            return np.full((k, k), np.nan)
        cov_u = np.linalg.inv(neg_h)
        if cov_type == "cluster":

            def per_cohort(u: np.ndarray) -> np.ndarray:
                return data.loglik_by_cohort(self._log_survival(self._to_natural(u), data.ages))

            scores = _central_gradient(per_cohort, u_hat)  # (n_cohorts, k)
            g = scores.shape[0]
            meat = scores.T @ scores * g / (g - 1)
            cov_u = cov_u @ meat @ cov_u
        return 0.5 * (cov_u + cov_u.T)

    def fit(self, alive: Sequence[float] | np.ndarray | pd.Series | pd.DataFrame, y: None = None):
        """Fit to one cohort's survivor counts by maximum likelihood (F&H 2007 eq. (7)).

        Parameters
        ----------
        alive : sequence of float
            Users of ONE cohort still alive (not churned) at periods ``0..T``; ``alive[0]``
            is the cohort size.  Counts, not percentages: the likelihood and the standard
            errors scale with the cohort size.  Must be non-increasing (survivors / unbounded
            retention).  A DataFrame in the ``cohort_table`` format is passed on to
            :meth:`fit_cohorts` with its defaults.
        y : None
            Ignored (scikit-learn signature).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Increasing, negative, NaN counts, fewer than three periods, an empty cohort, no
            churn at all, or fewer periods than parameters.
        RetentionFitError
            If the optimiser finds no stationary point.
        """
        self._reset()  # a failed fit must not leave the previous results behind
        if isinstance(alive, pd.DataFrame):
            return self.fit_cohorts(alive)
        counts = _validate_alive(alive, self)
        ages = np.arange(counts.size, dtype=float)
        return self._fit_data(
            _SurvivorData.build([ages], [counts]), retention="unbounded", cov_type="hessian"
        )

    def fit_cohorts(
        self,
        table: pd.DataFrame,
        *,
        retention: str = "unbounded",
        cov_type: str | None = None,
        cohort_col: str = "cohort_date",
        age_col: str = "age_days",
        active_col: str = "active_users",
        size_col: str = "cohort_size",
    ):
        """Joint fit across cohorts of different ages (right-censored), one curve for all.

        Parameters
        ----------
        table : DataFrame
            Columns ``cohort_date, age_days, active_users, cohort_size`` (the format of
            ``analysis.data.cohorts.cohort_table``): one row per cohort and age.  Ages need not be
            contiguous (e.g. days 1, 7, 30): the survivor likelihood then uses the interval
            probabilities ``S(a_{k-1}) - S(a_k)``.  Younger cohorts simply have fewer ages.
        retention : {"unbounded", "classic"}
            Meaning of ``active_users``.

            * ``"unbounded"`` (default): users active on day ``age_days`` *or later*, a
              survivor count; must be non-increasing within each cohort and equal to
              ``cohort_size`` at age 0 (the age-0 row may be omitted).  Survivor likelihood
              (F&H 2007 eq. (7)) summed over cohorts.
            * ``"classic"``: users active *on* day ``age_days`` (may rise again through
              reactivation).  Binomial likelihood with the curve as the activity
              probability, ``active_users ~ Binomial(cohort_size, S(age_days))``; age-0 rows
              are ignored.  The fitted curve is an activity curve, not a survival curve.
        cov_type : {"hessian", "cluster"}, optional
            ``"hessian"``: inverse Hessian (correct for the survivor likelihood).
            ``"cluster"``: sandwich estimator with cohorts as clusters, which allows for the
            same users being counted at every age in classic retention.  Default:
            ``"hessian"`` for unbounded and ``"cluster"`` for classic; with fewer than 2
            cohorts the cluster estimator is impossible and ``"hessian"`` is used with a
            warning (its standard errors are then too small).  With fewer than ~20 cohorts
            the cluster estimator is itself noisy.
        cohort_col, age_col, active_col, size_col : str
            Column names, if they differ from the ``cohort_table`` defaults.

        Returns
        -------
        self
        """
        self._reset()
        data = _prepare_table(
            self,
            table,
            retention=retention,
            cohort_col=cohort_col,
            age_col=age_col,
            active_col=active_col,
            size_col=size_col,
        )
        if cov_type is None:
            cov_type = "hessian" if retention == "unbounded" else "cluster"
        if cov_type not in ("hessian", "cluster"):
            raise ValueError(f"cov_type must be 'hessian' or 'cluster'; got {cov_type!r}")
        if cov_type == "cluster":
            if retention == "unbounded":
                raise ValueError(
                    "cov_type='cluster' is for retention='classic'; the survivor likelihood "
                    "of unbounded retention is a proper likelihood (use 'hessian')"
                )
            if data.n_cohorts < 2:
                warnings.warn(
                    "classic retention with a single cohort: the cluster-robust covariance "
                    "needs several cohorts, falling back to the Hessian, whose standard errors "
                    "ignore that the same users are counted at every age (too small).",
                    RetentionFitWarning,
                    stacklevel=2,
                )
                cov_type = "hessian"
        return self._fit_data(data, retention=retention, cov_type=cov_type)

    # ---- fitted quantities -----------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(alive) first."
            )

    def survival(self, t: Any) -> float | np.ndarray:
        """Share of the cohort alive at period(s) ``t`` (scalar in, scalar out).

        For a ``retention="classic"`` fit this is the probability of being active on day
        ``t``.
        """
        self._check_fitted()
        tt = _check_t(t)
        return _out(np.exp(self._log_survival(self.params_.to_numpy(), tt)))

    def churn_probability(self, t: Any) -> float | np.ndarray:
        """Probability of churning in period ``t``, ``S(t-1) - S(t)`` (0 at ``t = 0``)."""
        self._check_fitted()
        tt = _check_t(t, integer=True)
        p = self.params_.to_numpy()
        prev = np.maximum(tt - 1.0, 0.0)
        ls_prev, ls = self._log_survival(p, prev), self._log_survival(p, tt)
        out = np.exp(ls_prev + _log1mexp(ls - ls_prev))
        return _out(np.where(tt >= 1, out, 0.0))

    def retention_rate(self, t: Any) -> float | np.ndarray:
        """Period-``t`` retention rate ``S(t)/S(t-1)`` for ``t >= 1`` (F&H 2007 eq. (8) for the sBG)."""
        self._check_fitted()
        tt = _check_t(t)
        if np.any(tt < 1):
            raise ValueError("the retention rate r_t = S(t)/S(t-1) is defined for t >= 1")
        p = self.params_.to_numpy()
        return _out(np.exp(self._log_survival(p, tt) - self._log_survival(p, tt - 1.0)))

    def summary_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates, standard errors and ``level`` confidence intervals.

        Intervals are Wald intervals on the transformed (log / logit) scale mapped back to
        the natural scale, so they respect positivity; ``se`` is the delta-method standard
        error on the natural scale.
        """
        self._check_fitted()
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1); got {level!r}")
        z = stats.norm.ppf(0.5 + level / 2)
        se_u = np.sqrt(np.diag(self._cov_u))
        return pd.DataFrame(
            {
                "estimate": self.params_.to_numpy(),
                "se": self.standard_errors_.to_numpy(),
                "lower": self._to_natural(self._u_hat - z * se_u),
                "upper": self._to_natural(self._u_hat + z * se_u),
            },
            index=pd.Index(list(self.param_names), name="parameter"),
        )

    @property
    def summary(self) -> pd.DataFrame:
        """Table with columns estimate, se, lower, upper (95 % CI), indexed by parameter."""
        return self.summary_frame(0.95)

    def survival_interval(
        self,
        t: Any,
        level: float = 0.95,
        *,
        method: str = "delta",
        n_boot: int = 200,
        random_state: int | np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Point estimate and ``level`` interval of the projected share alive at ``t``.

        Parameters
        ----------
        t : float or array_like
            Periods (e.g. ``[30, 90, 180, 365]`` days).
        level : float
            Coverage of the interval.
        method : {"delta", "bootstrap"}
            ``"delta"``: delta method for ``logit S(t)`` with respect to the transformed
            (log / logit) parameters, using their inverse-Hessian (or cluster) covariance;
            the Wald interval is mapped back through the logistic function, so it lies in
            (0, 1).  ``"bootstrap"``: percentile intervals over ``n_boot`` refits.  For
            survivor fits (``fit`` and ``retention="unbounded"``) a *parametric* bootstrap:
            data sets of the same shape (same cohorts, sizes and observed ages) are
            simulated from the fitted model (multinomial churn intervals).  For
            ``retention="classic"`` fits a *cohort bootstrap*: whole cohorts are resampled
            with replacement, because the binomial model's independence across ages is not
            believable.  All intervals reflect sampling uncertainty of the parameters only
            (the model is assumed right); none knows about structural change after the last
            observed period, which dominates long projections.
        n_boot, random_state
            Bootstrap replications and seed (``"bootstrap"`` only).

        Returns
        -------
        DataFrame
            Index ``t``; columns ``estimate``, ``se``, ``lower``, ``upper``.
        """
        self._check_fitted()
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1); got {level!r}")
        tt = np.atleast_1d(_check_t(t)).astype(float)
        p = self.params_.to_numpy()
        est = np.exp(self._log_survival(p, tt))
        alpha_tail = (1 - level) / 2
        if method == "delta":
            if not np.all(np.isfinite(self._cov_u)):
                raise RetentionFitError(
                    f"{type(self).__name__}: no covariance matrix (the Hessian was not negative "
                    f"definite at the estimate); use method='bootstrap'"
                )

            def logit_s(u: np.ndarray) -> np.ndarray:
                ls = self._log_survival(self._to_natural(u), tt)
                return ls - _log1mexp(ls)

            with np.errstate(divide="ignore", invalid="ignore"):
                center = logit_s(self._u_hat)
                grad = _central_gradient(logit_s, self._u_hat)  # (len(t), k)
                se_logit = np.sqrt(np.einsum("ij,jk,ik->i", grad, self._cov_u, grad))
            z = stats.norm.ppf(1 - alpha_tail)
            certain = ~np.isfinite(center)  # S(t) = 1 (t = 0) or S(t) = 0
            se_logit = np.where(certain, 0.0, se_logit)
            lower = np.where(certain, est, special.expit(center - z * se_logit))
            upper = np.where(certain, est, special.expit(center + z * se_logit))
            se = est * (1 - est) * se_logit
        elif method == "bootstrap":
            draws = self._bootstrap_survival(tt, n_boot, random_state)
            lower = np.quantile(draws, alpha_tail, axis=0)
            upper = np.quantile(draws, 1 - alpha_tail, axis=0)
            se = draws.std(axis=0, ddof=1)
        else:
            raise ValueError(f"method must be 'delta' or 'bootstrap'; got {method!r}")
        return pd.DataFrame(
            {"estimate": est, "se": se, "lower": lower, "upper": upper},
            index=pd.Index(tt, name="t"),
        )

    def predict_interval(self, t: Any, level: float = 0.95, **kwargs: Any) -> pd.DataFrame:
        """Alias of :meth:`survival_interval`."""
        return self.survival_interval(t, level, **kwargs)

    def _bootstrap_survival(
        self, tt: np.ndarray, n_boot: int, random_state: int | np.random.Generator | None
    ) -> np.ndarray:
        if n_boot < 2:
            raise ValueError(f"n_boot must be >= 2; got {n_boot}")
        rng = np.random.default_rng(random_state)
        p = self.params_.to_numpy()
        draws, failed = [], 0
        for _ in range(n_boot):
            sim = self._data.simulate(lambda a: self._log_survival(p, a), rng)
            model = self._clone().set_params(init=dict(self.params_))
            model._quick_start = True
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RetentionFitWarning)
                    model._fit_data(sim, retention=self.retention_, cov_type="none")
            except (RetentionFitError, ValueError):
                failed += 1
                continue
            draws.append(np.exp(model._log_survival(model.params_.to_numpy(), tt)))
        if len(draws) < 2:
            raise RetentionFitError(f"the bootstrap failed: {failed} of {n_boot} refits failed")
        if failed > 0.1 * n_boot:
            warnings.warn(
                f"{failed} of {n_boot} bootstrap refits failed and were dropped; the interval "
                f"may be too narrow",
                RetentionFitWarning,
                stacklevel=3,
            )
        return np.vstack(draws)


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
    arr = np.asarray(alive.to_numpy() if isinstance(alive, pd.Series) else alive, dtype=float)
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
        model = spec() if isinstance(spec, type) else spec._clone()
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
        a = np.asarray(alive.to_numpy() if isinstance(alive, pd.Series) else alive, dtype=float)
        obs_t, obs_s = np.arange(a.size, dtype=float), a / a[0]
    last = float(obs_t.max()) if obs_t is not None else float(model.n_periods_)
    horizon = max(last, float(model.n_periods_)) if horizon is None else float(horizon)
    grid = np.linspace(0.0, horizon, 200) if horizon > 60 else np.arange(0.0, horizon + 1)
    curve_label = label or f"{model.family} fit"
    line = ax.plot(grid, np.asarray(model.survival(grid)), label=curve_label)[0]
    if level is not None and np.all(np.isfinite(model._cov_u)):
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

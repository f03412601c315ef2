r"""Retention of users who never cancel: the beta-geometric/beta-Bernoulli (BG/BB) model.

The question this module answers: users of an app do not cancel, they stop showing up.
Of the users who arrived in some period, how many are still "alive" (would come back),
how many active periods will each one have next, and how many of a new cohort are
active in period ``t``?  The model is that of Fader, Hardie & Shang (2010), the
discrete-time analogue of the Pareto/NBD, built for exactly this "alive x active" process.

Model (Fader, Hardie & Shang 2010, section 2)
----------------------------------------------
Time is cut into periods (days, weeks, months...). A user's first active period is
period 0 (the "birth"); periods ``1, 2, ...`` are *transaction opportunities*.

* While alive, a user is active in each period with probability :math:`p`, independently
  across periods (Bernoulli).
* A user alive in period :math:`t - 1` is still alive in period :math:`t` with
  probability :math:`1 - \theta` ("dies" at the start of a period with probability
  :math:`\theta`), so :math:`P(\text{alive in period } t \mid \theta) = (1 - \theta)^t`.
  Death is unobserved and permanent.
* Across users, :math:`p \sim \mathrm{Beta}(\alpha, \beta)` and
  :math:`\theta \sim \mathrm{Beta}(\gamma, \delta)`, independently.

A user's history over periods ``1..n`` is summarised, without loss, by
:math:`(x, t_x, n)`: :math:`x` = number of active periods (``frequency``), :math:`t_x` =
the last of them (``recency``, 0 when :math:`x = 0`) and :math:`n` (``n_periods``).  Users
with the same pattern are pooled with ``weights``.

Parameters and typical values
-----------------------------
``alpha, beta`` (> 0)
    The Beta distribution of the per-period activity probability while alive; mean
    :math:`\alpha/(\alpha + \beta)`, polarisation :math:`1/(\alpha + \beta + 1)`.
``gamma, delta`` (> 0)
    The Beta distribution of the per-period dropout probability; mean
    :math:`\gamma/(\gamma + \delta)`.  The implied survival curve
    :math:`B(\gamma, \delta + t)/B(\gamma, \delta)` is the shifted-beta-geometric one of
    Fader & Hardie (2007) (:mod:`analysis.models.retention`).
In the paper's yearly donations (11,104 first-time donors, 6 opportunities):
:math:`\alpha = 1.204, \beta = 0.750, \gamma = 0.657, \delta = 2.783` (mean activity 0.62,
mean yearly dropout 0.19).  For daily app activity expect a high mean activity among the
alive (``alpha / (alpha + beta)`` 0.3-0.8) and a small mean daily dropout with strong
heterogeneity (``gamma`` and ``delta`` below ~1, i.e. a U-shaped dropout distribution:
many users leave at once, a loyal core stays).  Values of a pair both above ~1e3 mean no
detectable heterogeneity in that process; they are then identified only through their
mean, and the intervals are wide on the log scale.  These are orientation values, not
constraints.

Pure functions (equation numbers of Fader, Hardie & Shang 2010)
----------------------------------------------------------------
:func:`bgbb_log_likelihood`
    :math:`\ln L(\alpha, \beta, \gamma, \delta \mid x, t_x, n)`, eq. (5).
:func:`bgbb_frequency_distribution`
    :math:`P(X(n) = x)`, eq. (7).
:func:`bgbb_unconditional_expected_transactions`
    :math:`E[X(n)]`, eq. (8).
:func:`bgbb_expected_active`
    :math:`P(\text{active in period } t) = E[X(t)] - E[X(t - 1)]` for a new user.
:func:`bgbb_survival`
    :math:`P(\text{alive in period } t) = B(\gamma, \delta + t)/B(\gamma, \delta)`.
:func:`bgbb_probability_alive`
    :math:`P(\text{alive in period } n + m \mid x, t_x, n)`, eq. (11) for :math:`m = 1`.
:func:`bgbb_conditional_expected_transactions`
    :math:`E[X(n, n + n^*) \mid x, t_x, n]`, eq. (13).
:func:`bgbb_probability_alive_at`
    :math:`P(\text{alive in period } t \mid x, t_x, n)` for any :math:`t`, from the terms
    of eq. (5) (eq. (11) beyond :math:`n`).
:func:`bgbb_probability_active_between`
    P(a new user is active in some period :math:`a .. A`): unbounded retention.

Everything is computed in logs with :func:`scipy.special.betaln` and
:func:`scipy.special.gammaln`.  The paper's closed forms (8) and (13) contain
:math:`\delta/(\gamma - 1)` and a difference of gamma-function ratios that cancel
catastrophically near :math:`\gamma = 1`; here they are evaluated as the finite sums they
are equal to (:math:`\sum_t B(\gamma, \delta + t)/B(\gamma, \delta)`), whose terms decrease,
added from the smallest up (reverse cumulative ``logaddexp``), so the relative error stays
near machine precision for every :math:`\gamma`.  The same device evaluates the sum in
eq. (5) for all patterns at once: per frequency :math:`x` the terms in :math:`j = t_x + i`
do not depend on :math:`t_x` or :math:`n`, so one pass over a (frequencies x periods) grid
serves every pattern.

Estimation and uncertainty
--------------------------
Maximum likelihood (:meth:`BetaGeometricBetaBinomial.fit`) with
:func:`scipy.optimize.minimize` (L-BFGS-B with central-difference gradients) on the log of
the four parameters, within +-15 on that scale, from several starting values, then Newton
steps on the total log-likelihood until the Newton decrement is below 1e-9 (a quasi-Newton
tolerance on the per-user objective would leave the answer up to a standard error from
the maximum at 10^7 users; a fit that ends with a decrement above 1e-6 warns).  Standard
errors come from the inverse of the numerical Hessian
(:func:`statsmodels.tools.numdiff.approx_hess3`) of the weighted log-likelihood on the
log scale, mapped to the natural scale by the delta method; ``summary`` intervals are Wald
intervals on the log scale mapped back (so they stay positive), as for the other families
of the package.  ``weights`` are numbers of users: the standard errors assume them.

References
----------
Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). Customer-base analysis in a
discrete-time noncontractual setting. *Marketing Science* 29(6), 1086-1108.
Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. *Journal of
Interactive Marketing* 21(1), 76-90.

Examples
--------
>>> import pandas as pd
>>> from analysis.models.bgbb import BetaGeometricBetaBinomial
>>> d = pd.read_csv("data/raw/reference/fader_hardie_shang_2010_donations.csv")  # doctest: +SKIP
>>> m = BetaGeometricBetaBinomial().fit(d.frequency, d.recency, d.periods, d.weights)  # doctest: +SKIP
>>> m.params_.round(3).to_dict()  # doctest: +SKIP
{'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from statsmodels.tools.numdiff import approx_hess3

from analysis.models._estimator import Estimator, NotFittedError, check_level

__all__ = [
    "PARAM_NAMES",
    "BGBBFitError",
    "BGBBFitWarning",
    "BetaGeometricBetaBinomial",
    "NotFittedError",
    "bgbb_conditional_expected_transactions",
    "bgbb_expected_active",
    "bgbb_frequency_distribution",
    "bgbb_log_likelihood",
    "bgbb_probability_active_between",
    "bgbb_probability_alive",
    "bgbb_probability_alive_at",
    "bgbb_survival",
    "bgbb_unconditional_expected_transactions",
]

PARAM_NAMES = ("alpha", "beta", "gamma", "delta")
#: The optimiser's box on the log scale: exp(15) ~ 3.3e6.
_LOG_BOUND = 15.0


class BGBBFitError(RuntimeError):
    """The maximum-likelihood search failed (no finite optimum found)."""


class BGBBFitWarning(UserWarning):
    """The fit is usable but suspect: an estimate on the edge of the search box, or a
    Hessian that is not negative definite (no standard errors)."""


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------


def _positive_params(alpha: Any, beta: Any, gamma: Any, delta: Any) -> tuple[float, ...]:
    out = []
    for name, value in zip(PARAM_NAMES, (alpha, beta, gamma, delta), strict=True):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a positive number; got {value!r}") from None
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be positive and finite; got {value!r}")
        out.append(v)
    return tuple(out)


def _counts(name: str, value: Any, *, minimum: int = 0) -> np.ndarray:
    """``value`` as an int64 array of whole numbers >= ``minimum``, else ValueError naming it."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric; got {type(value).__name__}") from None
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or one-dimensional; got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (arr < minimum)
    if bad.any():
        first = arr.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]]
        kind = "non-negative" if minimum == 0 else f">= {minimum}"
        raise ValueError(
            f"{name} must hold {kind} whole numbers (counts of periods); "
            f"{int(bad.sum())} value(s) are not, e.g. {first!r}"
        )
    return arr.astype(np.int64)


def _patterns(
    frequency: Any, recency: Any, n_periods: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked, broadcast (x, t_x, n) as int64 arrays of equal shape."""
    x = _counts("frequency", frequency)
    tx = _counts("recency", recency)
    n = _counts("n_periods", n_periods)
    try:
        x, tx, n = np.broadcast_arrays(x, tx, n)
    except ValueError:
        raise ValueError(
            f"frequency, recency and n_periods must have the same length; got "
            f"{x.size}, {tx.size} and {n.size}"
        ) from None
    if np.any(x > tx):
        k = int(np.sum(x > tx))
        raise ValueError(
            f"frequency must not exceed recency (x active periods end at period t_x >= x); "
            f"{k} pattern(s) have frequency > recency"
        )
    if np.any(tx > n):
        k = int(np.sum(tx > n))
        raise ValueError(
            f"recency must not exceed n_periods; {k} pattern(s) have recency > n_periods"
        )
    if np.any((x == 0) != (tx == 0)):
        k = int(np.sum((x == 0) != (tx == 0)))
        raise ValueError(
            "frequency is 0 exactly when recency is 0 (recency is the last active period "
            f"after the birth, 0 if there is none); {k} pattern(s) break this"
        )
    return x, tx, n


def _weights(weights: Any, size: int) -> np.ndarray:
    if weights is None:
        return np.ones(size)
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"weights must be numeric; got {type(weights).__name__}") from None
    if w.ndim > 1:
        raise ValueError(f"weights must be one-dimensional; got shape {w.shape}")
    w = np.broadcast_to(w, (size,)) if w.ndim == 0 else w
    if w.size != size:
        raise ValueError(f"weights must have one value per pattern ({size}); got {w.size}")
    if not np.all(np.isfinite(w) & (w > 0)):
        raise ValueError("weights must be positive and finite (numbers of users per pattern)")
    return w


def _out(value: np.ndarray, *inputs: Any) -> float | np.ndarray:
    """A float when every input is a scalar, else the array."""
    if all(np.ndim(v) == 0 for v in inputs) and np.size(value) == 1:
        return float(np.reshape(value, ()))
    return value


# --------------------------------------------------------------------------------------
# Kernels (no checks; used by the pure functions and the optimiser)
# --------------------------------------------------------------------------------------


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """log(1 - exp(a)) for a <= 0, accurate near 0 and for large |a| (Maechler 2012)."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > -np.log(2.0), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def _reverse_logcumsum(logterms: np.ndarray) -> np.ndarray:
    """``out[..., j] = log sum_{k >= j} exp(logterms[..., k])``, with a -inf column appended.

    For non-increasing terms this adds the smallest first, so the window sums taken from
    it by :func:`_log_window` keep a relative error of about (number of terms) x eps.
    """
    rev = np.logaddexp.accumulate(logterms[..., ::-1], axis=-1)[..., ::-1]
    pad = np.full(rev.shape[:-1] + (1,), -np.inf)
    return np.concatenate([rev, pad], axis=-1)


def _log_window(tail: np.ndarray, lo: np.ndarray, hi: np.ndarray, rows: Any = None) -> np.ndarray:
    """``log sum_{lo <= k < hi} exp(terms[k])`` from ``tail = _reverse_logcumsum(terms)``."""
    if rows is None:
        t_lo, t_hi = tail[lo], tail[hi]
    else:
        t_lo, t_hi = tail[rows, lo], tail[rows, hi]
    with np.errstate(invalid="ignore"):
        out = t_lo + _log1mexp(t_hi - t_lo)
    return np.where(hi > lo, out, -np.inf)


def _log_survival(gamma: float, delta: float, t: np.ndarray) -> np.ndarray:
    r"""ln P(alive in period t) = ln B(gamma, delta + t) - ln B(gamma, delta)."""
    return special.betaln(gamma, delta + t) - special.betaln(gamma, delta)


def _log_survival_sum(gamma: float, delta: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    r"""``ln sum_{t = lo+1}^{hi} B(gamma, delta + t)/B(gamma, delta)`` (the sums in (8), (13)).

    Equals the closed form :math:`\frac{\delta}{\gamma - 1}\frac{\Gamma(\gamma + \delta)}
    {\Gamma(1 + \delta)}\left[\frac{\Gamma(1 + \delta + lo)}{\Gamma(\gamma + \delta + lo)} -
    \frac{\Gamma(1 + \delta + hi)}{\Gamma(\gamma + \delta + hi)}\right]` of eq. (13) without
    its singularity at gamma = 1.
    """
    top = int(np.max(hi)) if np.size(hi) else 0
    terms = _log_survival(gamma, delta, np.arange(1, top + 1, dtype=float))  # t = 1..top
    tail = _reverse_logcumsum(terms)  # tail[k] = sum over t >= k + 1
    return _log_window(tail, lo, hi)


class _Patterns:
    """(x, t_x, n) with the index arrays the likelihood kernel needs, computed once per fit."""

    def __init__(self, x: np.ndarray, tx: np.ndarray, n: np.ndarray):
        self.shape = x.shape
        self.x, self.tx, self.n = x.reshape(-1), tx.reshape(-1), n.reshape(-1)
        self.top = int(self.n.max()) if self.n.size else 0
        self.ux, self.row = np.unique(self.x, return_inverse=True)
        self.row = self.row.reshape(-1)
        self.un, self.n_idx = np.unique(self.n, return_inverse=True)
        self.n_idx = self.n_idx.reshape(-1)


def _loglik_patterns(
    alpha: float, beta: float, gamma: float, delta: float, d: _Patterns
) -> np.ndarray:
    r"""Eq. (5) of Fader, Hardie & Shang (2010), for every pattern of ``d`` (flat).

    .. math::
        L = \frac{B(\alpha + x, \beta + n - x)}{B(\alpha, \beta)}
            \frac{B(\gamma, \delta + n)}{B(\gamma, \delta)}
          + \sum_{i=0}^{n - t_x - 1} \frac{B(\alpha + x, \beta + t_x - x + i)}{B(\alpha, \beta)}
            \frac{B(\gamma + 1, \delta + t_x + i)}{B(\gamma, \delta)}

    The first term: alive through period n; the sum: died at the start of period
    t_x + i + 1 (alive through t_x + i, inactive after t_x).  With j = t_x + i every beta
    function depends on (x, j) or on n only, so they are tabulated on a (distinct x) x
    (periods) grid and looked up; the cost per pattern is a few array lookups.
    """
    lab, lgd = special.betaln(alpha, beta), special.betaln(gamma, delta)
    xx = d.ux[:, None].astype(float)
    m = np.arange(d.top + 1, dtype=float)[None, :]
    # A[r, m] = ln B(alpha + x_r, beta + m) - ln B(alpha, beta), m = 0..top
    a_tab = special.betaln(alpha + xx, beta + m) - lab
    g_n = special.betaln(gamma, delta + d.un.astype(float)) - lgd
    first = a_tab[d.row, d.n - d.x] + g_n[d.n_idx]
    if d.top == 0:
        return first
    j = np.arange(d.top)[None, :]
    shift = j - d.ux[:, None]
    valid = shift >= 0  # j >= t_x >= x in every window used
    b_j = special.betaln(gamma + 1.0, delta + j.astype(float)) - lgd
    terms = np.where(valid, np.take_along_axis(a_tab, np.maximum(shift, 0), axis=1) + b_j, -np.inf)
    tail = _reverse_logcumsum(terms)
    rest = _log_window(tail, d.tx, d.n, rows=d.row)
    return np.logaddexp(first, rest)


def _loglik(alpha, beta, gamma, delta, x, tx, n) -> np.ndarray:
    """:func:`_loglik_patterns` for arrays of any (equal) shape."""
    d = _Patterns(x, tx, n)
    return _loglik_patterns(alpha, beta, gamma, delta, d).reshape(d.shape)


def _loglik_u(u: np.ndarray, d: _Patterns, w: np.ndarray) -> float:
    """Weighted log-likelihood at log-parameters ``u`` (-inf where not finite)."""
    a, b, g, dd = np.exp(u)
    # Not np.dot: a BLAS call here costs more in thread start-up than the sum itself.
    total = float(np.sum(w * _loglik_patterns(a, b, g, dd, d)))
    return total if np.isfinite(total) else -np.inf


# --------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------


def bgbb_log_likelihood(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    frequency: Any,
    recency: Any,
    n_periods: Any,
) -> float | np.ndarray:
    r"""Log-likelihood of each pattern :math:`(x, t_x, n)`: eq. (5) of Fader, Hardie & Shang (2010).

    .. math::
        L(\alpha, \beta, \gamma, \delta \mid x, t_x, n)
          = \frac{B(\alpha + x, \beta + n - x)}{B(\alpha, \beta)}
            \frac{B(\gamma, \delta + n)}{B(\gamma, \delta)}
          + \sum_{i=0}^{n - t_x - 1}
            \frac{B(\alpha + x, \beta + t_x - x + i)}{B(\alpha, \beta)}
            \frac{B(\gamma + 1, \delta + t_x + i)}{B(\gamma, \delta)}

    This is the probability of one particular activity sequence with that summary (no
    binomial coefficient), so the sample log-likelihood is ``sum(weights * ll)``.

    Parameters
    ----------
    alpha, beta, gamma, delta : float
        Model parameters (> 0).
    frequency, recency, n_periods : int or array_like
        :math:`x`, :math:`t_x`, :math:`n` (broadcast together); see the module docstring.

    Returns
    -------
    float or ndarray
        :math:`\ln L` per pattern (<= 0).
    """
    a, b, g, d = _positive_params(alpha, beta, gamma, delta)
    x, tx, n = _patterns(frequency, recency, n_periods)
    return _out(_loglik(a, b, g, d, x, tx, n), frequency, recency, n_periods)


def bgbb_probability_alive(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    frequency: Any,
    recency: Any,
    n_periods: Any,
    ahead: int = 1,
) -> float | np.ndarray:
    r"""P(alive in period :math:`n + m` | :math:`x, t_x, n`), eq. (11) of Fader, Hardie & Shang (2010) for m = 1.

    .. math::
        P(\text{alive in } n + m \mid x, t_x, n) =
          \frac{B(\alpha + x, \beta + n - x)}{B(\alpha, \beta)}
          \frac{B(\gamma, \delta + n + m)}{B(\gamma, \delta)}
          \Big/ L(\alpha, \beta, \gamma, \delta \mid x, t_x, n)

    (the numerator is the likelihood of the history jointly with survival to
    :math:`n + m`).  ``ahead`` = :math:`m` >= 0; ``ahead=0`` is the probability of being
    alive in the last observed period ``n``.
    """
    a, b, g, d = _positive_params(alpha, beta, gamma, delta)
    x, tx, n = _patterns(frequency, recency, n_periods)
    m = _counts("ahead", ahead)
    num = (
        special.betaln(a + x, b + n - x)
        - special.betaln(a, b)
        + _log_survival(g, d, (n + m).astype(float))
    )
    return _out(np.exp(num - _loglik(a, b, g, d, x, tx, n)), frequency, recency, n_periods, ahead)


def bgbb_probability_alive_at(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    frequency: Any,
    recency: Any,
    n_periods: Any,
    t: Any,
) -> float | np.ndarray:
    r"""P(alive in period ``t`` | :math:`x, t_x, n`), for any period ``t`` >= 0 of a user's history.

    Eq. (5) of Fader, Hardie & Shang (2010) writes the likelihood as the term of a user
    alive through period :math:`n` plus one term per period :math:`t_x + i` in which the
    user was last alive (:math:`i = 0 .. n - t_x - 1`). Being alive in period :math:`t`
    keeps the terms with :math:`t_x + i \ge t`:

    .. math::
        P(\text{alive in } t \mid x, t_x, n) = \begin{cases}
          1 & t \le t_x \\
          \Big[\frac{B(\alpha + x, \beta + n - x)}{B(\alpha, \beta)}
            \frac{B(\gamma, \delta + n)}{B(\gamma, \delta)}
          + \sum_{i = t - t_x}^{n - t_x - 1} \frac{B(\alpha + x, \beta + t_x - x + i)}{B(\alpha, \beta)}
            \frac{B(\gamma + 1, \delta + t_x + i)}{B(\gamma, \delta)}\Big] \Big/ L
          & t_x < t \le n \\
          \text{eq. (11) with } m = t - n & t > n.
        \end{cases}

    Summed over a cohort's users (times their ``weights``) it is the expected number of
    them still alive at age ``t``. ``t`` may have one more (last) axis than the patterns:
    several periods for each pattern at once (the likelihood is then computed once).
    """
    a, b, g, d = _positive_params(alpha, beta, gamma, delta)
    x, tx, n = _patterns(frequency, recency, n_periods)
    tt = _counts("t", np.ravel(t)).reshape(np.shape(t))
    if tt.ndim == x.ndim + 1 and tt.shape[:-1] == x.shape:  # several periods per pattern
        shape, t2 = tt.shape, tt.reshape(x.size, -1)
        x, tx, n = x.ravel(), tx.ravel(), n.ravel()
    else:
        x, tx, n, tt = np.broadcast_arrays(x, tx, n, tt)
        shape, t2 = tt.shape, tt.reshape(-1, 1)
        x, tx, n = x.ravel(), tx.ravel(), n.ravel()
    xf, txf, nf = (v.astype(float)[:, None] for v in (x, tx, n))
    lab, lgd = special.betaln(a, b), special.betaln(g, d)
    lead = special.betaln(a + xf, b + nf - xf) - lab
    loglik = _loglik(a, b, g, d, x, tx, n)[:, None]
    beyond = np.exp(lead + _log_survival(g, d, np.maximum(t2, n[:, None]).astype(float))
                    - loglik)
    out = np.where(t2 > n[:, None], beyond, 1.0)
    inside = (t2 > tx[:, None]) & (t2 <= n[:, None])
    if inside.any():
        # the full-survival term plus the terms last alive in t_x + i >= t, i < n - t_x:
        # one (patterns x i) grid of decreasing terms, summed from the top
        span = int(np.max(n - tx))
        i = np.arange(span, dtype=float)[None, :]
        terms = (special.betaln(a + xf, b + txf - xf + i) - lab
                 + special.betaln(g + 1.0, d + txf + i) - lgd)
        terms = np.where(i <= nf - txf - 1.0, terms, -np.inf)
        tail = _reverse_logcumsum(terms)
        k = np.clip(t2 - tx[:, None], 0, span)
        within = np.logaddexp(lead + _log_survival(g, d, nf), np.take_along_axis(tail, k, 1))
        out = np.where(inside, np.exp(within - loglik), out)
    out = np.minimum(out, 1.0).reshape(shape)
    return _out(out, frequency, recency, n_periods, t)


def bgbb_probability_active_between(
    alpha: float, beta: float, gamma: float, delta: float, first: Any, last: Any
) -> float | np.ndarray:
    r"""Probability that a new user is active in at least one of the periods ``first .. last``.

    With :math:`S(t) = B(\gamma, \delta + t)/B(\gamma, \delta)` (alive in period
    :math:`t`) and :math:`B_p(k) = B(\alpha, \beta + k)/B(\alpha, \beta)` (inactive in
    :math:`k` given periods while alive), summing over the period :math:`d` in which the
    user is first dead (Fader, Hardie & Shang 2010, section 2; :math:`a` = ``first``,
    :math:`A` = ``last``):

    .. math::
        P(\text{no activity in } a..A) = 1 - S(a)
          + \sum_{d = a + 1}^{A} [S(d - 1) - S(d)]\, B_p(d - a) + S(A)\, B_p(A - a + 1).

    This is what *unbounded* retention measures (the share of a cohort active on day
    ``first`` or later, seen until day ``last``), so the BG/BB can be scored on the same
    cohort rows as the retention curves of :mod:`analysis.models.retention`. With
    ``first == last`` it is :func:`bgbb_expected_active`; ``first = 0`` (the birth
    period) gives 1.
    """
    a, b, g, d = _positive_params(alpha, beta, gamma, delta)
    lo, hi = np.broadcast_arrays(_counts("first", first), _counts("last", last))
    if np.any(hi < lo):
        raise ValueError("last must be >= first")
    lab = special.betaln(a, b)
    lo_f, hi_f = lo.astype(float), hi.astype(float)
    surv = lambda k: np.exp(_log_survival(g, d, k))  # noqa: E731
    none = 1.0 - surv(lo_f) + surv(hi_f) * np.exp(special.betaln(a, b + hi_f - lo_f + 1.0) - lab)
    span = int(np.max(hi - lo)) if hi.size else 0
    for k in range(1, span + 1):
        dead_at = lo_f + k
        term = (surv(dead_at - 1.0) - surv(dead_at)) * np.exp(special.betaln(a, b + k) - lab)
        none = none + np.where(k <= hi - lo, term, 0.0)
    out = np.where(lo == 0, 1.0, np.clip(1.0 - none, 0.0, 1.0))
    return _out(out, first, last)


def bgbb_conditional_expected_transactions(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    ahead: Any,
    frequency: Any,
    recency: Any,
    n_periods: Any,
) -> float | np.ndarray:
    r"""Expected active periods in :math:`n+1 .. n+n^*` given :math:`(x, t_x, n)`: eq. (13) of Fader, Hardie & Shang (2010).

    .. math::
        E[X(n, n + n^*) \mid x, t_x, n] =
          \frac{B(\alpha + x + 1, \beta + n - x)}{B(\alpha, \beta)\, L(\cdot \mid x, t_x, n)}
          \sum_{t = n+1}^{n + n^*} \frac{B(\gamma, \delta + t)}{B(\gamma, \delta)},

    the sum being eq. (13)'s ratio-of-gamma-functions closed form (evaluated as the sum,
    which is exact at gamma = 1 too).  ``ahead`` = :math:`n^*` >= 0.
    """
    a, b, g, d = _positive_params(alpha, beta, gamma, delta)
    x, tx, n = _patterns(frequency, recency, n_periods)
    m = _counts("ahead", ahead)
    x, tx, n, m = np.broadcast_arrays(x, tx, n, m)
    lead = special.betaln(a + x + 1.0, b + n - x) - special.betaln(a, b)
    ls = _log_survival_sum(g, d, n, n + m)
    out = np.exp(lead + ls - _loglik(a, b, g, d, x, tx, n))
    return _out(np.where(m > 0, out, 0.0), frequency, recency, n_periods, ahead)


def bgbb_survival(gamma: float, delta: float, t: Any) -> float | np.ndarray:
    r"""Share of a new cohort still alive in period ``t``: :math:`B(\gamma, \delta + t)/B(\gamma, \delta)`.

    The dropout process alone (Fader, Hardie & Shang 2010, section 2; the
    shifted-beta-geometric survivor function of Fader & Hardie 2007, eq. (5)).
    """
    _, _, g, d = _positive_params(1.0, 1.0, gamma, delta)
    tt = _counts("t", t)
    return _out(np.exp(_log_survival(g, d, tt.astype(float))), t)


def bgbb_expected_active(
    alpha: float, beta: float, gamma: float, delta: float, t: Any
) -> float | np.ndarray:
    r"""Probability that a new user is active in period ``t`` (1 in the birth period ``t = 0``).

    .. math::
        P(\text{active in } t) = \frac{\alpha}{\alpha + \beta}
          \frac{B(\gamma, \delta + t)}{B(\gamma, \delta)}, \quad t \ge 1,

    the increment :math:`E[X(t)] - E[X(t-1)]` of eq. (8) of Fader, Hardie & Shang (2010).
    The expected number of active users from a cohort of ``N`` in period ``t`` is
    ``N * bgbb_expected_active(..., t)``.
    """
    a, b, g, d = _positive_params(alpha, beta, gamma, delta)
    tt = _counts("t", t)
    val = np.exp(np.log(a / (a + b)) + _log_survival(g, d, tt.astype(float)))
    return _out(np.where(tt == 0, 1.0, val), t)


def bgbb_unconditional_expected_transactions(
    alpha: float, beta: float, gamma: float, delta: float, n: Any
) -> float | np.ndarray:
    r"""Expected active periods of a new user in periods ``1..n``: eq. (8) of Fader, Hardie & Shang (2010).

    .. math::
        E[X(n)] = \frac{\alpha}{\alpha + \beta} \frac{\delta}{\gamma - 1}
          \left[1 - \frac{\Gamma(\gamma + \delta)}{\Gamma(\gamma + \delta + n)}
          \frac{\Gamma(1 + \delta + n)}{\Gamma(1 + \delta)}\right]
          = \frac{\alpha}{\alpha + \beta} \sum_{t=1}^{n} \frac{B(\gamma, \delta + t)}{B(\gamma, \delta)}

    (evaluated as the sum). The birth period is not counted.
    """
    a, b, g, d = _positive_params(alpha, beta, gamma, delta)
    nn = _counts("n", n)
    ls = _log_survival_sum(g, d, np.zeros_like(nn), nn)
    return _out(np.where(nn > 0, a / (a + b) * np.exp(ls), 0.0), n)


def bgbb_frequency_distribution(
    alpha: float, beta: float, gamma: float, delta: float, n_periods: int
) -> np.ndarray:
    r""":math:`P(X(n) = x)` for :math:`x = 0..n`: eq. (7) of Fader, Hardie & Shang (2010).

    .. math::
        P(X(n) = x) = \binom{n}{x} \frac{B(\alpha + x, \beta + n - x)}{B(\alpha, \beta)}
          \frac{B(\gamma, \delta + n)}{B(\gamma, \delta)}
        + \sum_{i=x}^{n-1} \binom{i}{x} \frac{B(\alpha + x, \beta + i - x)}{B(\alpha, \beta)}
          \frac{B(\gamma + 1, \delta + i)}{B(\gamma, \delta)}

    Returns an array of length ``n_periods + 1`` that sums to 1.
    """
    a, b, g, d = _positive_params(alpha, beta, gamma, delta)
    n = int(_counts("n_periods", n_periods))
    if np.ndim(n_periods) != 0:
        raise ValueError(f"n_periods must be a single whole number; got {n_periods!r}")
    x = np.arange(n + 1, dtype=float)
    lab, lgd = special.betaln(a, b), special.betaln(g, d)

    def log_binom(top: Any, k: Any) -> Any:
        return (
            special.gammaln(top + 1.0) - special.gammaln(k + 1.0) - special.gammaln(top - k + 1.0)
        )

    first = (
        log_binom(n, x) + special.betaln(a + x, b + n - x) - lab + special.betaln(g, d + n) - lgd
    )
    if n == 0:
        return np.exp(first)
    i = np.arange(n, dtype=float)[None, :]
    xx = x[:, None]
    ok = i >= xx
    ii = np.where(ok, i, xx)  # keep the masked cells finite
    terms = (
        log_binom(ii, xx)
        + special.betaln(a + xx, b + ii - xx)
        - lab
        + special.betaln(g + 1.0, d + ii)
        - lgd
    )
    rest = special.logsumexp(np.where(ok, terms, -np.inf), axis=1)
    return np.exp(np.logaddexp(first, rest))


def _central_gradient(f, u: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``u``."""
    g = np.empty_like(u)
    for i in range(u.size):
        e = np.zeros_like(u)
        e[i] = h
        g[i] = (f(u + e) - f(u - e)) / (2 * h)
    return g


def _newton_polish(u: np.ndarray, loglik, max_steps: int = 8):
    """Newton steps on the total log-likelihood from the optimiser's answer.

    Quasi-Newton tolerances are set on the per-user objective; with 10^7 users the
    standard errors are ~300 times smaller than with 100, so a point that satisfies them
    can sit a standard error or more from the maximum. Newton steps with the numerical
    Hessian (needed for the standard errors anyway) converge quadratically from there.
    Returns ``(u, hessian at u, Newton decrement g' (-H)^-1 g / 2 at u)``; the decrement
    is NaN when the Hessian is not negative definite (then ``u`` is left as it was).
    """
    f0 = loglik(u)
    with np.errstate(all="ignore"):
        hess = approx_hess3(u, loglik)
    decrement = np.nan
    for i in range(max_steps + 1):
        if not np.all(np.isfinite(hess)):
            return u, hess, np.nan
        neg = -0.5 * (hess + hess.T)
        try:
            np.linalg.cholesky(neg)
        except np.linalg.LinAlgError:
            return u, hess, np.nan
        with np.errstate(all="ignore"):
            g = _central_gradient(loglik, u)
        if not np.all(np.isfinite(g)):
            return u, hess, np.nan
        step = np.linalg.solve(neg, g)
        decrement = 0.5 * float(g @ step)  # (at u)
        if decrement < 1e-9 or i == max_steps:
            break
        for t in (1.0, 0.5, 0.25, 0.125):  # backtracking: never accept a worse point
            cand = np.clip(u + t * step, -_LOG_BOUND, _LOG_BOUND)
            f1 = loglik(cand)
            if np.isfinite(f1) and f1 >= f0:
                break
        else:
            break
        u, f0 = cand, f1
        with np.errstate(all="ignore"):
            hess = approx_hess3(u, loglik)
    return u, hess, decrement


# --------------------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------------------


class BetaGeometricBetaBinomial(Estimator):
    r"""The BG/BB model of Fader, Hardie & Shang (2010), fitted by maximum likelihood.

    ``fit(frequency, recency, n_periods, weights)`` maximises the sum of
    ``weights * ln L`` (eq. (5)) over :math:`\ln(\alpha, \beta, \gamma, \delta)`; the
    predictive methods wrap the pure functions of this module at ``params_``.

    Parameters
    ----------
    init : dict, optional
        Starting values on the natural scale, e.g. ``{"alpha": 1, "beta": 1, "gamma": 0.5,
        "delta": 2}``; tried before the built-in starting values.
    max_iter : int, default 1000
        Iteration limit of each optimiser run.

    Attributes
    ----------
    params_ : pandas.Series
        Estimates of ``alpha, beta, gamma, delta``.
    standard_errors_ : pandas.Series
        Delta-method standard errors (natural scale); NaN if the Hessian is not negative
        definite.
    covariance_ : pandas.DataFrame
        Covariance of ``params_`` (natural scale, delta method).
    log_likelihood_, aic_, bic_ : float
        Maximised ``sum(weights * ln L)``, AIC = 2k - 2 LL and BIC = k ln(n_obs) - 2 LL.
    n_obs_ : float
        Number of users (sum of the weights).
    n_patterns_ : int
        Number of (frequency, recency, n_periods) rows given to ``fit``.
    optimizer_result_ : scipy.optimize.OptimizeResult
        The accepted optimiser run (on the log scale).
    """

    param_names = PARAM_NAMES

    def __init__(self, init: dict[str, float] | None = None, max_iter: int = 1000):
        self.init = init
        self.max_iter = max_iter

    # ---- fitting ---------------------------------------------------------------------

    def fit(
        self,
        frequency: Any,
        recency: Any,
        n_periods: Any,
        weights: Any = None,
    ) -> BetaGeometricBetaBinomial:
        """Maximum-likelihood fit to patterns (or single users, with ``weights=None``).

        Parameters
        ----------
        frequency, recency, n_periods : array_like of whole numbers
            Per pattern: active periods after the birth :math:`x`, the last of them
            :math:`t_x` (0 if none) and the periods observed after the birth :math:`n`;
            ``frequency <= recency <= n_periods`` and ``frequency == 0`` exactly when
            ``recency == 0``. ``n_periods`` may differ between patterns (cohorts of
            different ages).
        weights : array_like, optional
            Number of users with each pattern (default 1 each).

        Returns
        -------
        self
        """
        self._reset()
        x, tx, n = _patterns(frequency, recency, n_periods)
        x, tx, n = x.reshape(-1), tx.reshape(-1), n.reshape(-1)
        if x.size == 0:
            raise ValueError("no patterns to fit (frequency is empty)")
        w = _weights(weights, x.size)
        if not (isinstance(self.max_iter, int | np.integer) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be a positive integer; got {self.max_iter!r}")
        if not np.any(n > 0):
            raise ValueError("every pattern has n_periods == 0: nothing to learn from")

        total = float(w.sum())
        data = _Patterns(x, tx, n)

        def objective(u: np.ndarray) -> float:
            # Per-user mean, so that tolerances mean the same for 10^2 and 10^7 users.
            val = _loglik_u(u, data, w)
            return -val / total if np.isfinite(val) else 1e300

        best = None
        for u0 in self._starts():
            with np.errstate(all="ignore"):
                res = optimize.minimize(
                    objective,
                    u0,
                    method="L-BFGS-B",
                    jac="3-point",
                    bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4,
                    options={"maxiter": int(self.max_iter), "ftol": 1e-15, "gtol": 1e-10},
                )
            if np.isfinite(res.fun) and res.fun < 1e299 and (best is None or res.fun < best.fun):
                best = res
        if best is None:
            raise BGBBFitError("the log-likelihood is not finite at any starting value")

        def loglik(u: np.ndarray) -> float:
            return _loglik_u(u, data, w)

        u_hat, hess, decrement = _newton_polish(np.asarray(best.x, dtype=float), loglik)
        notes = []
        edge = np.abs(u_hat) > _LOG_BOUND - 1e-3
        if edge.any():
            names = [p for p, e in zip(PARAM_NAMES, edge, strict=True) if e]
            notes.append(
                f"{', '.join(names)} on the edge of the search range (exp(+-{_LOG_BOUND:g})): "
                "that process shows no detectable heterogeneity (or no information); "
                "the estimates of that pair are identified only through their mean"
            )
        cov_u = np.full((4, 4), np.nan)
        if np.all(np.isfinite(hess)):
            neg = -0.5 * (hess + hess.T)
            try:
                np.linalg.cholesky(neg)
                cov_u = np.linalg.inv(neg)
            except np.linalg.LinAlgError:
                notes.append("the Hessian is not negative definite: no standard errors")
        else:
            notes.append("the Hessian is not finite: no standard errors")
        # Converged means: the log-likelihood is within 1e-6 of the local quadratic maximum
        # (Newton decrement), a criterion that, unlike a gradient tolerance, does not
        # loosen relative to the standard errors as the number of users grows.
        if not edge.any() and not (np.isfinite(decrement) and decrement < 1e-6):
            notes.append(
                f"the optimiser stopped before a stationary point ({best.message}; Newton "
                f"decrement {decrement:.3g}); try other starting values (init=...)"
            )
        for note in notes:
            warnings.warn(f"BetaGeometricBetaBinomial: {note}", BGBBFitWarning, stacklevel=2)

        p_hat = np.exp(u_hat)
        jac = np.diag(p_hat)
        index = pd.Index(list(PARAM_NAMES), name="parameter")
        ll = loglik(u_hat)
        self._u_hat = u_hat
        self._cov_u = cov_u
        self.params_ = pd.Series(p_hat, index=index, name="coef")
        self.covariance_ = pd.DataFrame(jac @ cov_u @ jac, index=index, columns=index)
        self.standard_errors_ = pd.Series(
            np.sqrt(np.diag(self.covariance_.to_numpy())), index=index, name="se"
        )
        self.log_likelihood_ = ll
        self.n_obs_ = total
        self.n_patterns_ = int(x.size)
        self.aic_ = 2 * 4 - 2 * ll
        self.bic_ = 4 * np.log(total) - 2 * ll
        self.optimizer_result_ = best
        return self

    def _starts(self) -> list[np.ndarray]:
        starts = []
        if self.init is not None:
            missing = set(PARAM_NAMES) - set(self.init)
            if missing:
                raise ValueError(f"init must give all of {PARAM_NAMES}; missing {sorted(missing)}")
            vals = _positive_params(*(self.init[k] for k in PARAM_NAMES))
            starts.append(np.log(vals))
        # Neutral (uniform p and theta), then a polarised dropout with high activity -- the
        # shape daily app data usually has -- and a low-activity, low-dropout one.
        starts += [np.log([1.0, 1.0, 1.0, 1.0]), np.log([2.0, 1.0, 0.5, 5.0]),
                   np.log([0.5, 2.0, 0.3, 10.0])]  # fmt: skip
        return starts

    # ---- parameters and uncertainty ----------------------------------------------------

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates, standard errors and ``level`` intervals (columns coef, se, lower, upper).

        Intervals are Wald intervals on the log scale mapped back (so they are positive and
        asymmetric); ``se`` is the delta-method standard error on the natural scale.
        """
        self._check_fitted()
        level = check_level(level)
        z = stats.norm.ppf(0.5 + level / 2)
        se_u = np.sqrt(np.diag(self._cov_u))
        return pd.DataFrame(
            {
                "coef": self.params_.to_numpy(),
                "se": self.standard_errors_.to_numpy(),
                "lower": np.exp(self._u_hat - z * se_u),
                "upper": np.exp(self._u_hat + z * se_u),
            },
            index=self.params_.index.copy(),
        )

    def sample_params(self, size: int = 1000, random_state: Any = None) -> pd.DataFrame:
        """Draws of the parameters from the estimate's asymptotic normal on the log scale.

        For intervals of any derived quantity: evaluate it at each row and take
        percentiles. Reflects the sampling uncertainty of the parameters only.
        """
        self._check_fitted()
        if not np.all(np.isfinite(self._cov_u)):
            raise BGBBFitError("no covariance matrix (the Hessian was not negative definite)")
        rng = np.random.default_rng(random_state)
        u = rng.multivariate_normal(self._u_hat, self._cov_u, size=int(size))
        return pd.DataFrame(np.exp(u), columns=list(PARAM_NAMES))

    # ---- predictions ---------------------------------------------------------------------

    def _p(self) -> tuple[float, float, float, float]:
        self._check_fitted()
        return tuple(float(v) for v in self.params_.to_numpy())  # type: ignore[return-value]

    def probability_alive(
        self, frequency: Any, recency: Any, n_periods: Any, ahead: int = 1
    ) -> float | np.ndarray:
        """P(alive in period ``n_periods + ahead`` | history): eq. (11) (see :func:`bgbb_probability_alive`)."""
        return bgbb_probability_alive(*self._p(), frequency, recency, n_periods, ahead)

    def probability_alive_at(
        self, frequency: Any, recency: Any, n_periods: Any, t: Any
    ) -> float | np.ndarray:
        """P(alive in period ``t`` | history), any ``t`` >= 0 (:func:`bgbb_probability_alive_at`)."""
        return bgbb_probability_alive_at(*self._p(), frequency, recency, n_periods, t)

    def probability_active_between(self, first: Any, last: Any) -> float | np.ndarray:
        """P(a new user is active in some period ``first .. last``): unbounded retention.

        See :func:`bgbb_probability_active_between`.
        """
        return bgbb_probability_active_between(*self._p(), first, last)

    def expected_transactions(
        self, ahead: Any, frequency: Any, recency: Any, n_periods: Any
    ) -> float | np.ndarray:
        """Expected active periods in the next ``ahead`` periods | history: eq. (13).

        See :func:`bgbb_conditional_expected_transactions`.
        """
        return bgbb_conditional_expected_transactions(
            *self._p(), ahead, frequency, recency, n_periods
        )

    def expected_active(self, t: Any) -> float | np.ndarray:
        """Probability that a new user is active in period ``t`` (1 at ``t = 0``).

        See :func:`bgbb_expected_active`; multiply by a cohort's size for expected actives.
        """
        return bgbb_expected_active(*self._p(), t)

    def survival(self, t: Any) -> float | np.ndarray:
        """Share of a new cohort still alive in period ``t`` (:func:`bgbb_survival`)."""
        _, _, g, d = self._p()
        return bgbb_survival(g, d, t)

    def expected_repeat_transactions(self, n: Any) -> float | np.ndarray:
        """Expected active periods of a new user in periods ``1..n``: eq. (8)."""
        return bgbb_unconditional_expected_transactions(*self._p(), n)

    def frequency_distribution(self, n_periods: int) -> pd.Series:
        """P(X(n) = x) for x = 0..n_periods: eq. (7) (:func:`bgbb_frequency_distribution`).

        Multiply by the number of users observed for ``n_periods`` periods for the
        expected histogram of ``frequency`` (the paper's Figure 3).
        """
        probs = bgbb_frequency_distribution(*self._p(), n_periods)
        return pd.Series(
            probs, index=pd.RangeIndex(probs.size, name="frequency"), name="probability"
        )

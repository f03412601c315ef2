r"""What a fitted retention model says: projected curves, standard errors, intervals, draws.

Part of :mod:`analysis.models.retention`. :class:`RetentionIntervals` is a mixin for the
likelihood engine (:class:`analysis.models._retention_likelihood.RetentionLikelihood`),
whose fit leaves behind what is used here:

* ``params_`` (natural scale) and ``covariance_`` (its delta-method covariance);
* ``_u_hat`` and ``_cov_u``: the estimate and its inverse-Hessian (or cluster-robust)
  covariance on the transformed (log / logit) scale, where the likelihood is close to
  quadratic and Wald intervals respect the parameter ranges;
* ``_log_survival(p, t)``, ``_to_natural(u)`` and ``_transforms`` of the family;
* ``_data`` and ``_fit_data`` (the bootstrap refits simulated data sets).

Everything here is computed from those: nothing is estimated again except in the
bootstrap. Delta-method bands work on :math:`\operatorname{logit} S(t)`, so they stay in
(0, 1); parameter intervals are Wald intervals on the transformed scale mapped back.
All of them reflect the sampling uncertainty of the parameters only (the model is taken
as right); none knows about structural change after the last observed period.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from analysis.models._estimator import check_level
from analysis.models._retention_data import _check_t, _log1mexp, _out
from analysis.models._retention_likelihood import (
    RetentionFitError,
    RetentionFitWarning,
    _central_gradient,
)


def _positive_int(value: Any, name: str) -> int:
    """``value`` as an int >= 1 (a whole float such as 500.0 is accepted), else ValueError."""
    try:
        whole = not isinstance(value, bool) and int(value) == value
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or value < 1:
        raise ValueError(f"{name} must be a positive whole number; got {value!r}")
    return int(value)


class RetentionIntervals:
    """Projections and uncertainty of a fitted retention model (see the module docstring)."""

    # The engine's pieces this mixin relies on (declared for readers and type checkers).
    params_: pd.Series
    covariance_: pd.DataFrame
    retention_: str
    _u_hat: np.ndarray
    _cov_u: np.ndarray
    _transforms: tuple[str, ...]
    param_names: tuple[str, ...]

    # ---- point projections -----------------------------------------------------------

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

    # ---- parameter uncertainty -------------------------------------------------------

    @property
    def standard_errors_(self) -> pd.Series:
        """Delta-method standard errors of ``params_`` (natural scale): the square roots of
        the diagonal of ``covariance_``."""
        self._check_fitted()
        names = pd.Index(list(self.param_names), name="parameter")
        return pd.Series(np.sqrt(np.diag(self.covariance_.to_numpy())), index=names, name="se")

    def summary_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates, standard errors and ``level`` confidence intervals.

        Intervals are Wald intervals on the transformed (log / logit) scale mapped back to
        the natural scale, so they respect positivity; ``se`` is the delta-method standard
        error on the natural scale.
        """
        self._check_fitted()
        level = check_level(level)
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
        level = check_level(level)
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

    # ---- parameter draws -------------------------------------------------------------

    def sample_survival(
        self,
        t: Any,
        n_draws: int,
        random_state: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        r"""Survival curves at ``t`` for parameters drawn from the fit's asymptotic normal.

        The draws are normal on the model's own transformed scale :math:`u = g(p)` (log for
        positive parameters, logit for probabilities, as in the fit), so every draw is a
        valid parameter vector:

        .. math:: u^{(i)} \sim N\big(g(\hat p),\; J \hat\Sigma J^\top\big), \qquad
                  J = \mathrm{diag}\big(g'(\hat p)\big),

        where :math:`\hat\Sigma` is ``covariance_`` (natural scale, delta method). This
        is the inverse-Hessian (or cluster-robust) covariance of the transformed estimate
        mapped to the natural scale and back, i.e. :math:`N(\hat u, \hat\Sigma_u)` up to
        rounding; it is computed in this order so that the draws are bit-identical to
        those :class:`analysis.models.forecast.CohortForecaster` has always made. Each
        draw :math:`p^{(i)} = g^{-1}(u^{(i)})` gives the curve :math:`S(t \mid p^{(i)})`.
        Like every interval here, the draws carry the sampling uncertainty of the
        parameters only.

        Parameters
        ----------
        t : float or array_like
            Periods (ages) at which to evaluate each curve (>= 0); a scalar counts as one
            period.
        n_draws : int
            Number of parameter draws (>= 1).
        random_state : int, numpy Generator or None
            Seed (``numpy.random.default_rng``); a Generator is used, and advanced, as is.

        Returns
        -------
        ndarray of shape (n_draws, len(t))
            Row ``i`` is the survival curve of draw ``i`` at ``t``.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        RetentionFitError
            When the fit has no covariance (its Hessian was not negative definite).
        """
        self._check_fitted()
        n = _positive_int(n_draws, "n_draws")
        tt = np.atleast_1d(_check_t(t)).astype(float)
        theta = self.params_.to_numpy(dtype=float)
        cov = self.covariance_.to_numpy(dtype=float)
        if not np.all(np.isfinite(cov)):
            raise RetentionFitError(
                f"{type(self).__name__}: no covariance matrix (the Hessian was not negative "
                f"definite at the estimate), so parameters cannot be drawn"
            )
        mean, jac = [], []
        for tr, th in zip(self._transforms, theta, strict=True):
            # Python floats and this exact arithmetic: the draws must not change by a bit.
            if tr == "log":
                mean.append(math.log(th))
                jac.append(1.0 / th)
            else:  # "logit"
                mean.append(math.log(th / (1.0 - th)))
                jac.append(1.0 / (th * (1.0 - th)))
        J = np.diag(jac)
        rng = np.random.default_rng(random_state)
        u = rng.multivariate_normal(np.asarray(mean), J @ cov @ J, size=n)
        for k, tr in enumerate(self._transforms):
            u[:, k] = np.exp(u[:, k]) if tr == "log" else 1.0 / (1.0 + np.exp(-u[:, k]))
        return np.stack([np.exp(self._log_survival(row, tt)) for row in u])

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
            model = self.clone().set_params(init=dict(self.params_))
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

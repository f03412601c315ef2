r"""The likelihood engine of the retention models: transforms, optimisation, covariance.

Part of :mod:`analysis.models.retention` (its module docstring states the models and
both likelihoods). :class:`RetentionLikelihood` holds what every family shares between
"the data have been checked" (:mod:`analysis.models._retention_data`) and "here are the
estimates": the log / logit transforms of the parameters, the log-likelihood on the
transformed scale (Fader & Hardie 2007 eq. (7) for survivor counts, the binomial
pseudo-likelihood for classic retention), the multi-start maximum-likelihood search and
the covariance of the estimate (inverse Hessian, or the cluster-robust sandwich).

A family supplies four things: ``param_names``, ``_transforms`` (``"log"`` for positive
parameters, ``"logit"`` for probabilities), ``_log_survival(p, t)`` (:math:`\ln S(t)` at
natural-scale parameters ``p``) and ``_starts(data)`` (starting values); ``_diagnose``
optionally adds warnings about a converged but questionable estimate. What is done with
a fit (curves, standard errors, intervals, draws) is in
:mod:`analysis.models._retention_intervals`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import optimize, special
from statsmodels.tools.numdiff import approx_hess3

from analysis.models._estimator import Estimator
from analysis.models._retention_data import (
    _BinomialData,
    _prepare_table,
    _SurvivorData,
    _validate_alive,
)

#: Search range of the transformed (log / logit) parameters.
_BOUND = 20.0
#: A run that ends with transformed parameters beyond this (e.g. alpha, beta > 2e4 for the
#: sBG/BdW: a Beta distribution that is all but a point mass) without reaching a
#: stationary point is taken as a likelihood maximised in the limit (the homogeneous
#: model), not as a failure.
_RIDGE = 10.0
#: Largest central-difference gradient of the per-user negative log-likelihood accepted
#: as a stationary point.
_GTOL = 1e-5


class RetentionFitError(RuntimeError):
    """The maximum-likelihood fit did not converge (no stationary point was found)."""


class RetentionFitWarning(UserWarning):
    """The fit converged but its uncertainty is unreliable (boundary, flat likelihood)."""


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


class RetentionLikelihood(Estimator):
    """Maximum-likelihood engine shared by the retention families (see the module docstring).

    The constructor only stores settings; ``fit`` / ``fit_cohorts`` check the data, find
    the maximum-likelihood estimate and its covariance, and store everything learned under
    names ending in ``_`` (the transformed-scale estimate and covariance as ``_u_hat`` and
    ``_cov_u``, the data as ``_data``); a new fit first forgets the previous one.
    """

    family: ClassVar[str] = "base"
    param_names: ClassVar[tuple[str, ...]] = ()
    _transforms: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, init: dict[str, float] | None = None, max_iter: int = 2000):
        self.init = init
        self.max_iter = max_iter

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

    # ---- fitting ---------------------------------------------------------------------

    def _loglik_u(self, u: np.ndarray, data: _SurvivorData | _BinomialData) -> float:
        return data.loglik(self._log_survival(self._to_natural(u), data.ages))

    def _reset(self) -> None:
        super()._reset()
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

        results, messages, failed = [], [], []
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
                failed.append(res)
                at = ", ".join(
                    f"{n}={v:.6g}"
                    for n, v in zip(self.param_names, self._to_natural(res.x), strict=True)
                )
                messages.append(f"{res.message} at {at}")
        ridge = [r for r in failed if np.isfinite(r.fun) and np.any(np.abs(r.x) > _RIDGE)]
        if not results and ridge:
            best = min(ridge, key=lambda r: r.fun)
            at = ", ".join(
                f"{n}={v:.3g}"
                for n, v, u in zip(self.param_names, self._to_natural(best.x), best.x, strict=True)
                if abs(u) > _RIDGE
            )
            warnings.warn(
                f"{type(self).__name__}: the likelihood keeps rising as {at} run off "
                f"without bound: it is maximised on the boundary (for sBG/BdW: no detectable "
                f"heterogeneity, the model collapses towards a homogeneous curve). The fit "
                f"stops at the best point found; standard errors are unreliable; prefer the "
                f"simpler model.",
                RetentionFitWarning,
                stacklevel=4,
            )
            best["ridge"] = True  # no curvature to invert: _fit_data reports no errors
            return best
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
    ) -> Self:
        r"""Fit to checked data; store the estimate and its covariance on both scales.

        ``covariance_`` (natural scale) is the delta-method image of the transformed-scale
        covariance ``_cov_u``: :math:`J\,\Sigma_u J^\top` with
        :math:`J = \mathrm{diag}(\partial p / \partial u)`. ``cov_type="none"`` skips
        the covariance (NaN; the bootstrap refits need only the estimate).
        """
        self._reset()
        res = self._optimize(data)
        u_hat = np.clip(np.asarray(res.x, dtype=float), -_BOUND, _BOUND)
        p_hat = self._to_natural(u_hat)
        ll = self._loglik_u(u_hat, data)
        names = list(self.param_names)

        at_edge = np.abs(u_hat) > _BOUND - 0.5
        if cov_type == "none" or res.get("ridge", False):
            # (a ridge: the likelihood still rises along it, so the Hessian at the point
            # where the search stopped says nothing about the uncertainty)
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
        r"""Covariance of the transformed estimate: the inverse of the negative Hessian
        (``"hessian"``), or the sandwich :math:`H^{-1} (\frac{G}{G-1}\sum_g s_g s_g^\top)
        H^{-1}` with the per-cohort scores :math:`s_g` (``"cluster"``)."""
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

    def fit(
        self, alive: Sequence[float] | np.ndarray | pd.Series | pd.DataFrame, y: None = None
    ) -> Self:
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
    ) -> Self:
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

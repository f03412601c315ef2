"""Tests of :mod:`analysis.models.retention`.

Validation sources named in the test names:

* ``fader_hardie_2007`` -- Fader & Hardie (2007), "How to Project Customer Retention",
  J. Interactive Marketing 21(1):76-90, "regular" customers (REFERENCE_DIR).
* ``recovery`` -- simulation from known parameters (individual-level draws with a fixed
  numpy Generator, independent of the module's own simulation code).
* ``independent`` -- pure functions against an independent computation (recursions of
  F&H 2007 eq. (6)/(8), numerical integration over the beta mixing distribution).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from analysis.config import REFERENCE_DIR
from analysis.models import retention as r
from analysis.models.retention import (
    BetaDiscreteWeibull,
    GeometricRetention,
    NotFittedError,
    PowerLawRetention,
    RetentionFitError,
    RetentionFitWarning,
    ShiftedBetaGeometric,
    WeibullRetention,
    compare_models,
)

FAMILIES = [
    ShiftedBetaGeometric,
    BetaDiscreteWeibull,
    GeometricRetention,
    PowerLawRetention,
    WeibullRetention,
]
SEED = 20250119  # US DAU peak of the RedNote influx


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fh_alive() -> np.ndarray:
    """F&H 2007 'regular' customers as counts of a 1,000-customer cohort, years 0..12."""
    df = pd.read_csv(REFERENCE_DIR / "fader_hardie_2007_regular.csv")
    assert df["year"].tolist() == list(range(13))
    return np.round(10 * df["pct_surviving"].to_numpy()).astype(int)


def draw_churn_times(rng, n, alpha, beta, c=1.0):
    """Individual churn periods T: theta ~ Beta(alpha, beta), P(T > t | theta) = (1-theta)^(t^c)."""
    theta = rng.beta(alpha, beta, n)
    x = np.log(rng.random(n)) / np.log1p(-theta)  # (1-theta)^x = U
    return np.floor(x ** (1.0 / c)) + 1.0


def survivors(times, ages):
    return np.array([(times > a).sum() for a in ages], dtype=float)


def cohort_table(rng, alpha, beta, c=1.0, n_cohorts=30, max_age=45, size=(2000, 6000)):
    """Right-censored cohorts: cohort i is observed at ages 0..max_age - i (unbounded)."""
    rows = []
    for i in range(n_cohorts):
        n = int(rng.integers(*size))
        times = draw_churn_times(rng, n, alpha, beta, c)
        ages = np.arange(0, max(max_age - i, 2) + 1)
        for a, k in zip(ages, survivors(times, ages), strict=True):
            rows.append((pd.Timestamp("2025-01-01") + pd.Timedelta(days=i), int(a), int(k), n))
    return pd.DataFrame(rows, columns=list(r.COHORT_COLUMNS))


def mape(pred, obs):
    pred, obs = np.asarray(pred, float), np.asarray(obs, float)
    return float(np.mean(np.abs(pred - obs) / obs) * 100)


# --------------------------------------------------------------------------------------
# Fader & Hardie (2007) reproduction
# --------------------------------------------------------------------------------------


def test_fader_hardie_2007_regular_sbg_parameters(fh_alive):
    """F&H 2007: sBG fitted on years 0..7 gives alpha = 0.704, beta = 1.182 (not 0.688)."""
    m = ShiftedBetaGeometric().fit(fh_alive[:8])
    assert round(m.params_["alpha"], 3) == 0.704
    assert round(m.params_["beta"], 3) == 1.182
    assert abs(m.params_["alpha"] - 0.688) > 0.01  # the widely copied wrong value

    # The maximised log-likelihood equals eq. (7) evaluated independently at the estimate
    # and is at least as high as at the published (rounded) parameters.
    def ll(a, b):
        t = np.arange(1, 8)
        lost = -np.diff(fh_alive[:8])
        p = r.sbg_churn_probability(a, b, t)
        return float(lost @ np.log(p) + fh_alive[7] * np.log(r.sbg_survival(a, b, 7)))

    a, b = m.params_["alpha"], m.params_["beta"]
    assert m.log_likelihood_ == pytest.approx(ll(a, b), abs=1e-8)
    assert 0 <= m.log_likelihood_ - ll(0.704, 1.182) < 1e-3
    assert m.log_likelihood_ == pytest.approx(-1680.265, abs=1e-3)
    assert m.aic_ == pytest.approx(4 - 2 * m.log_likelihood_)
    assert m.bic_ == pytest.approx(2 * np.log(1000) - 2 * m.log_likelihood_)
    assert m.n_obs_ == 1000


def test_fader_hardie_2007_regular_projection_mape(fh_alive):
    """F&H 2007: projecting years 8-12 from the years 0..7 fit gives a MAPE of about 1.5 %."""
    observed = fh_alive[8:] / 1000
    # From the published parameters (a figure derived from the paper, asserted exactly).
    published = mape(r.sbg_survival(0.704, 1.182, np.arange(8, 13)), observed)
    assert published == pytest.approx(1.4731, abs=1e-3)
    # From our own fit (full-precision estimates): rounds consistently to ~1.5 %.
    m = ShiftedBetaGeometric().fit(fh_alive[:8])
    ours = mape(m.survival(np.arange(8, 13)), observed)
    assert 1.0 <= ours <= 2.0
    assert round(ours, 1) == 1.5


def test_fader_hardie_2007_compare_models_all_families(fh_alive):
    """F&H 2007 holdout years 8-12: every family reported, sBG at its ~1.5 % figure.

    The issue's goal (best model at or below the sBG's holdout error) is reported, not
    asserted: see benchmarks/bench_retention.py for every family's figure.
    """
    table = compare_models(fh_alive, holdout=5)
    assert list(table.index) == ["sBG", "BdW", "geometric", "power law", "Weibull"]
    numeric = table[["n_params", "log_likelihood", "aic", "bic", "holdout_mape", "holdout_mae"]]
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    assert table.loc["sBG", "holdout_mape"] == pytest.approx(
        mape(
            ShiftedBetaGeometric().fit(fh_alive[:8]).survival(np.arange(8, 13)), fh_alive[8:] / 1000
        )
    )
    assert 1.0 <= table.loc["sBG", "holdout_mape"] <= 2.0
    assert table.loc["sBG", "params"]["alpha"] == pytest.approx(0.704, abs=5e-4)
    # BdW nests the sBG (c = 1): its calibration log-likelihood cannot be lower.
    assert table.loc["BdW", "log_likelihood"] >= table.loc["sBG", "log_likelihood"] - 1e-6
    assert table.loc["sBG", "aic"] < table.loc["geometric", "aic"]
    print("\n", table[["log_likelihood", "aic", "holdout_mape", "holdout_mae"]].round(3))


def test_compare_models_custom_models_and_holdout_zero(fh_alive):
    table = compare_models(fh_alive[:8], models=[ShiftedBetaGeometric(), GeometricRetention])
    assert list(table.index) == ["sBG", "geometric"]
    assert table["holdout_mape"].isna().all()
    with pytest.raises(ValueError, match="leaves 2 calibration period"):
        compare_models(fh_alive, holdout=11)
    with pytest.raises(ValueError, match="holdout must be a non-negative integer"):
        compare_models(fh_alive, holdout=-1)


# --------------------------------------------------------------------------------------
# Pure functions against independent computations
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "beta"), [(0.704, 1.182), (0.668, 3.806), (5.0, 0.3)])
def test_independent_sbg_survival_recursion(alpha, beta):
    """F&H 2007 eq. (8): S(t) = S(t-1) (beta + t - 1) / (alpha + beta + t - 1), S(0) = 1."""
    t = np.arange(0, 60)
    s = [1.0]
    for k in t[1:]:
        s.append(s[-1] * (beta + k - 1) / (alpha + beta + k - 1))
    np.testing.assert_allclose(r.sbg_survival(alpha, beta, t), s, rtol=1e-10)
    np.testing.assert_allclose(
        r.sbg_retention_rate(alpha, beta, t[1:]), np.array(s[1:]) / np.array(s[:-1]), rtol=1e-10
    )


@pytest.mark.parametrize(("alpha", "beta"), [(0.704, 1.182), (2.0, 7.0)])
def test_independent_sbg_churn_recursion_and_sum(alpha, beta):
    """F&H 2007 eq. (6): P(T=1) = a/(a+b), P(T=t) = P(T=t-1)(b+t-2)/(a+b+t-1); sum + S = 1."""
    t = np.arange(1, 40)
    p = [alpha / (alpha + beta)]
    for k in t[1:]:
        p.append(p[-1] * (beta + k - 2) / (alpha + beta + k - 1))
    np.testing.assert_allclose(r.sbg_churn_probability(alpha, beta, t), p, rtol=1e-10)
    np.testing.assert_allclose(np.cumsum(p) + r.sbg_survival(alpha, beta, t), 1.0, rtol=1e-12)
    assert r.sbg_churn_probability(alpha, beta, 0) == 0.0


@pytest.mark.parametrize(("alpha", "beta", "c"), [(0.6, 1.5, 0.7), (1.3, 4.0, 1.6)])
def test_independent_bdw_survival_by_integration(alpha, beta, c):
    """BdW (Fader et al. 2018): S(t) = E[(1 - theta)^(t^c)], theta ~ Beta(alpha, beta)."""
    dist = stats.beta(alpha, beta)
    for t in [1, 2, 5, 12, 30]:
        expected, _ = integrate.quad(
            lambda th, t=t: (1 - th) ** (t**c) * dist.pdf(th), 0, 1, limit=200
        )
        assert r.bdw_survival(alpha, beta, c, t) == pytest.approx(expected, rel=1e-6)
    t = np.arange(0, 30)
    churn = r.bdw_churn_probability(alpha, beta, c, t)
    np.testing.assert_allclose(
        np.cumsum(churn) + r.bdw_survival(alpha, beta, c, t), 1.0, rtol=1e-12
    )


def test_independent_special_cases_and_simple_curves():
    t = np.arange(0, 25)
    # BdW with c = 1 is the sBG; homogeneous Weibull with c = 1 is the geometric.
    np.testing.assert_allclose(r.bdw_survival(0.7, 1.2, 1.0, t), r.sbg_survival(0.7, 1.2, t))
    np.testing.assert_allclose(r.weibull_survival(0.2, 1.0, t), 0.8**t)
    np.testing.assert_allclose(r.geometric_survival(0.2, t), 0.8**t)
    np.testing.assert_allclose(r.exponential_survival(-np.log(0.8), t), 0.8**t)
    np.testing.assert_allclose(r.weibull_survival(0.2, 0.5, t), 0.8 ** np.sqrt(t))
    s = r.power_law_survival(0.4, 0.3, t)
    assert s[0] == 1.0 and s[1] == pytest.approx(0.4)
    np.testing.assert_allclose(s[1:], 0.4 * t[1:] ** -0.3)
    # sBG: large alpha, beta with fixed mean churn approaches the geometric.
    np.testing.assert_allclose(r.sbg_survival(2e5, 8e5, t), 0.8**t, rtol=1e-3)


def test_independent_scalar_in_scalar_out_and_vectorised():
    assert isinstance(r.sbg_survival(0.7, 1.2, 3), float)
    assert isinstance(r.bdw_survival(0.7, 1.2, 0.8, 3.0), float)
    out = r.sbg_survival(0.7, 1.2, [1, 2, 3])
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    assert r.sbg_survival(0.7, 1.2, np.arange(6).reshape(2, 3)).shape == (2, 3)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: r.sbg_survival(-1, 1, 2), "alpha must be positive"),
        (lambda: r.sbg_survival(1, 0, 2), "beta must be positive"),
        (lambda: r.bdw_survival(1, 1, -0.5, 2), "c must be positive"),
        (lambda: r.sbg_survival(1, 1, -1), "t must be >= 0"),
        (lambda: r.sbg_survival(1, 1, np.nan), "t must be finite"),
        (lambda: r.sbg_churn_probability(1, 1, 1.5), "whole periods"),
        (lambda: r.geometric_survival(1.2, 3), r"theta must lie in \(0, 1\)"),
        (lambda: r.power_law_survival(1.5, 0.3, 3), r"a must lie in \(0, 1\]"),
        (lambda: r.sbg_retention_rate(1, 1, 0), "defined for t >= 1"),
    ],
)
def test_pure_function_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------------------
# Parameter recovery from simulated cohorts
# --------------------------------------------------------------------------------------


def test_recovery_sbg_single_cohort_within_95pct_interval():
    rng = np.random.default_rng(SEED)
    times = draw_churn_times(rng, 100_000, 0.8, 2.5)
    m = ShiftedBetaGeometric().fit(survivors(times, range(13)))
    s = m.summary
    assert list(s.columns) == ["estimate", "se", "lower", "upper"]
    assert list(s.index) == ["alpha", "beta"]
    for name, true in [("alpha", 0.8), ("beta", 2.5)]:
        assert s.loc[name, "lower"] <= true <= s.loc[name, "upper"]
        assert abs(s.loc[name, "estimate"] - true) < 3 * s.loc[name, "se"]


def test_recovery_bdw_single_cohort_within_three_se():
    rng = np.random.default_rng(SEED + 1)
    true = {"alpha": 0.6, "beta": 1.5, "c": 0.7}
    times = draw_churn_times(rng, 200_000, **true)
    m = BetaDiscreteWeibull().fit(survivors(times, range(25)))
    assert list(m.params_.index) == ["alpha", "beta", "c"]
    for name, value in true.items():
        assert abs(m.params_[name] - value) < 3 * m.standard_errors_[name], name
        assert m.summary.loc[name, "lower"] < m.params_[name] < m.summary.loc[name, "upper"]
    # The sBG (c fixed at 1) is rejected by the likelihood-ratio test on these data.
    sbg = ShiftedBetaGeometric().fit(survivors(times, range(25)))
    assert 2 * (m.log_likelihood_ - sbg.log_likelihood_) > stats.chi2.ppf(0.999, 1)


@pytest.mark.parametrize(
    ("model", "true"),
    [
        (ShiftedBetaGeometric, {"alpha": 0.5, "beta": 3.0}),
        (BetaDiscreteWeibull, {"alpha": 0.6, "beta": 1.5, "c": 0.7}),
    ],
)
def test_recovery_joint_right_censored_cohorts(model, true):
    """30 daily cohorts observed for 45 .. 16 days: one joint survivor likelihood."""
    rng = np.random.default_rng(SEED + 2)
    table = cohort_table(rng, true["alpha"], true["beta"], true.get("c", 1.0))
    m = model().fit_cohorts(table)
    assert m.n_cohorts_ == 30 and m.n_periods_ == 45
    assert m.retention_ == "unbounded" and m.cov_type_ == "hessian"
    for name, value in true.items():
        assert abs(m.params_[name] - value) < 3 * m.standard_errors_[name], name
    # fit(DataFrame) is fit_cohorts with its defaults.
    m2 = model().fit(table)
    pd.testing.assert_series_equal(m.params_, m2.params_)


def test_joint_fit_of_one_cohort_equals_single_fit(fh_alive):
    table = pd.DataFrame(
        {
            "cohort_date": pd.Timestamp("2025-01-15"),
            "age_days": np.arange(1, 8),  # the age-0 row may be omitted
            "active_users": fh_alive[1:8],
            "cohort_size": 1000,
        }
    ).sample(frac=1.0, random_state=0)  # row order does not matter
    joint = ShiftedBetaGeometric().fit_cohorts(table)
    single = ShiftedBetaGeometric().fit(fh_alive[:8])
    np.testing.assert_allclose(joint.params_, single.params_, rtol=1e-6)
    assert joint.log_likelihood_ == pytest.approx(single.log_likelihood_)


def test_joint_fit_with_gaps_in_observed_ages():
    """Ages 0, 1, 3, 7, 14, 30 only: interval-censored survivor likelihood still recovers."""
    rng = np.random.default_rng(SEED + 3)
    ages = [0, 1, 3, 7, 14, 30]
    rows = []
    for i in range(10):
        times = draw_churn_times(rng, 20_000, 0.5, 3.0)
        for a, k in zip(ages, survivors(times, ages), strict=True):
            rows.append((f"c{i}", a, k, 20_000))
    table = pd.DataFrame(rows, columns=list(r.COHORT_COLUMNS))
    m = ShiftedBetaGeometric().fit_cohorts(table)
    for name, value in {"alpha": 0.5, "beta": 3.0}.items():
        assert abs(m.params_[name] - value) < 3 * m.standard_errors_[name], name


def test_classic_retention_binomial_fit_and_cluster_errors():
    """Classic day-N retention with reactivation: not monotone, fitted as an activity curve.

    Users alive at t are active on day t with probability 0.6 independently of the day, so
    day-N counts go up and down; the survivor likelihood refuses them, the binomial one
    fits 0.6 * S(t)-like curves, and the cohort-clustered standard errors exceed the naive
    Hessian ones because the same users are counted at every age.
    """
    rng = np.random.default_rng(SEED + 4)
    rows = []
    for i in range(25):
        n = int(rng.integers(2000, 4000))
        times = draw_churn_times(rng, n, 0.5, 3.0)
        propensity = rng.beta(2, 2, n)  # user-level activity: correlation across days
        ages = np.arange(0, 40 - i // 2)
        for a in ages:
            k = n if a == 0 else int(((times > a) & (rng.random(n) < propensity)).sum())
            rows.append((i, int(a), k, n))
    table = pd.DataFrame(rows, columns=list(r.COHORT_COLUMNS))
    with pytest.raises(ValueError, match="retention='classic'"):
        ShiftedBetaGeometric().fit_cohorts(table)
    cluster = ShiftedBetaGeometric().fit_cohorts(table, retention="classic")
    naive = ShiftedBetaGeometric().fit_cohorts(table, retention="classic", cov_type="hessian")
    assert cluster.retention_ == "classic" and cluster.cov_type_ == "cluster"
    pd.testing.assert_series_equal(cluster.params_, naive.params_)
    assert (cluster.standard_errors_ > naive.standard_errors_).all()
    # Fitted activity on day 10 is close to the observed pooled share.
    day10 = table[table.age_days == 10]
    observed = day10.active_users.sum() / day10.cohort_size.sum()
    assert cluster.survival(10) == pytest.approx(observed, abs=0.02)
    iv = cluster.survival_interval([30, 90], method="bootstrap", n_boot=40, random_state=1)
    assert (iv["lower"] <= iv["estimate"]).all() and (iv["estimate"] <= iv["upper"]).all()


# --------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["delta", "bootstrap"])
def test_intervals_contain_estimate_and_shrink_with_cohort_size(method):
    """Expected sBG survivors for cohorts of 1,000 and 100,000 users."""
    t_obs = np.arange(0, 15)
    share = r.sbg_survival(0.6, 2.0, t_obs)
    widths = []
    for n in (1_000, 100_000):
        m = ShiftedBetaGeometric().fit(np.round(n * share))
        iv = m.predict_interval(
            [30, 90, 180, 365], level=0.95, method=method, n_boot=60, random_state=7
        )
        assert list(iv.columns) == ["estimate", "se", "lower", "upper"]
        assert list(iv.index) == [30.0, 90.0, 180.0, 365.0]
        assert ((iv["lower"] < iv["estimate"]) & (iv["estimate"] < iv["upper"])).all()
        assert ((iv["lower"] > 0) & (iv["upper"] < 1)).all()
        np.testing.assert_allclose(iv["estimate"], m.survival([30, 90, 180, 365]))
        widths.append((iv["upper"] - iv["lower"]).to_numpy())
    assert (widths[1] < widths[0] / 5).all()  # ~ 1/sqrt(100) of the width


def test_interval_level_and_t0(fh_alive):
    m = ShiftedBetaGeometric().fit(fh_alive[:8])
    iv90 = m.survival_interval([0, 5, 10], level=0.90)
    iv99 = m.survival_interval([0, 5, 10], level=0.99)
    assert iv90.loc[0.0, "lower"] == iv90.loc[0.0, "upper"] == 1.0
    assert (iv99["upper"] - iv99["lower"] >= iv90["upper"] - iv90["lower"]).all()
    s80 = m.summary_frame(0.80)
    assert (s80["upper"] - s80["lower"] < m.summary["upper"] - m.summary["lower"]).all()
    with pytest.raises(ValueError, match="method must be"):
        m.survival_interval(5, method="jackknife")


# --------------------------------------------------------------------------------------
# Estimator conventions
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", FAMILIES)
def test_estimator_conventions(model, fh_alive):
    est = model()
    assert vars(est) == {"init": None, "max_iter": 2000}  # constructor only stores settings
    with pytest.raises(NotFittedError, match="not fitted"):
        est.survival(3)
    assert est.fit(fh_alive[:8]) is est
    for attr in (
        "params_",
        "standard_errors_",
        "covariance_",
        "log_likelihood_",
        "aic_",
        "bic_",
        "n_obs_",
    ):
        assert hasattr(est, attr)
    assert list(est.params_.index) == list(model.param_names)
    assert np.isfinite(est.params_).all() and np.isfinite(est.standard_errors_).all()
    assert isinstance(est.survival(3), float)
    s = est.survival(np.arange(0, 13))
    assert s[0] == 1.0 and (np.diff(s) <= 0).all()
    np.testing.assert_allclose(est.churn_probability(np.arange(1, 13)), -np.diff(s), atol=1e-12)
    assert repr(model(max_iter=50)) == f"{model.__name__}(max_iter=50)"
    assert est.get_params() == {"init": None, "max_iter": 2000}


def test_second_fit_forgets_the_first(fh_alive):
    m = ShiftedBetaGeometric().fit(fh_alive[:8])
    first = m.params_.copy()
    other = np.round(3000 * r.sbg_survival(2.0, 5.0, np.arange(6)))
    m.fit(other)
    fresh = ShiftedBetaGeometric().fit(other)
    pd.testing.assert_series_equal(m.params_, fresh.params_)
    assert m.n_obs_ == 3000 and m.n_periods_ == 5
    assert not np.allclose(first, m.params_)
    # A failed refit leaves no stale results behind.
    with pytest.raises(ValueError):
        m.fit([1000, 900, 950])
    assert not hasattr(m, "params_")


def test_non_convergence_raises_clear_error(fh_alive):
    m = BetaDiscreteWeibull(max_iter=1)
    with pytest.raises(RetentionFitError, match="did not converge"):
        m.fit(fh_alive)
    assert not hasattr(m, "params_")


def test_init_setting_is_used_and_validated(fh_alive):
    m = ShiftedBetaGeometric(init={"alpha": 0.7, "beta": 1.2}).fit(fh_alive[:8])
    assert round(m.params_["alpha"], 3) == 0.704
    with pytest.raises(ValueError, match="init must be a dict with keys"):
        ShiftedBetaGeometric(init={"a": 1.0}).fit(fh_alive[:8])


def test_boundary_fit_warns():
    """Geometric data have no heterogeneity: the sBG optimum runs to the edge (warned)."""
    alive = np.round(100_000 * 0.7 ** np.arange(10))
    with pytest.warns(r.RetentionFitWarning):
        m = ShiftedBetaGeometric().fit(alive)
    assert m.survival(5) == pytest.approx(0.7**5, rel=1e-3)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alive", "match"),
    [
        (
            [1000, 800, 600, 620, 500],
            r"alive\[3\]=620 is larger than alive\[2\]=600: survivor counts must be non-increasing",
        ),
        ([1000, 800, -5, 0], r"alive\[2\]=-5 is negative"),
        ([1000, 800, np.nan, 500], r"alive\[2\] is nan: survivor counts must be finite"),
        ([1000, 800], "need at least three periods"),
        ([0, 0, 0, 0], r"alive\[0\]=0: the cohort is empty"),
        ([500, 500, 500], "the cohort lost nobody"),
        ([[1000, 800, 600]], "one-dimensional"),
        (["a", "b", "c"], "sequence of numbers"),
        ("1000", "sequence of survivor counts"),
    ],
)
def test_bad_alive_raises_value_error(alive, match):
    with pytest.raises(ValueError, match=match):
        ShiftedBetaGeometric().fit(alive)


def test_too_few_periods_for_the_number_of_parameters():
    with pytest.raises(
        ValueError, match="BetaDiscreteWeibull has 3 parameters but alive has only 2"
    ):
        BetaDiscreteWeibull().fit([1000, 600, 450])


def _table(**changes):
    base = pd.DataFrame(
        {
            "cohort_date": ["2025-01-13"] * 4 + ["2025-01-14"] * 3,
            "age_days": [0, 1, 2, 3, 0, 1, 2],
            "active_users": [1000, 600, 450, 380, 800, 500, 400],
            "cohort_size": [1000] * 4 + [800] * 3,
        }
    )
    for col, (row, value) in changes.items():
        base.loc[row, col] = value
    return base


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (
            _table(active_users=(3, 470)),
            "cohort 2025-01-13: active_users=470 at age_days=3 is larger than 450 at "
            "age_days=2: survivor counts",
        ),
        (_table(cohort_size=(4, 0)), "cohort_size is not constant"),
        (_table(active_users=(5, 900)), "active_users=900 at age_days=1 exceeds cohort_size=800"),
        (_table(active_users=(2, -3)), "negative value -3"),
        (_table(active_users=(2, np.nan)), "'active_users' has 1 missing value"),
        (_table(age_days=(3, 2)), "age_days=2 appears more than once"),
        (_table(active_users=(0, 990)), "at age_days=0 differs from cohort_size=1000"),
        (_table().drop(columns="cohort_size"), r"missing column\(s\) \['cohort_size'\]"),
        (_table().iloc[[0, 1, 4, 5]], "needs at least 3"),
    ],
)
def test_bad_cohort_table_raises_value_error(table, match):
    with pytest.raises(ValueError, match=match):
        ShiftedBetaGeometric().fit_cohorts(table)


def test_empty_cohort_and_bad_options_raise():
    empty = pd.DataFrame(
        {
            "cohort_date": ["x"] * 3 + ["y"] * 3,
            "age_days": [0, 1, 2] * 2,
            "active_users": [100, 60, 50, 0, 0, 0],
            "cohort_size": [100] * 3 + [0] * 3,
        }
    )
    with pytest.raises(ValueError, match="cohort y: cohort_size is 0"):
        ShiftedBetaGeometric().fit_cohorts(empty)
    with pytest.raises(ValueError, match="retention must be 'unbounded' or 'classic'"):
        ShiftedBetaGeometric().fit_cohorts(_table(), retention="day-n")
    with pytest.raises(ValueError, match="cov_type='cluster' is for retention='classic'"):
        ShiftedBetaGeometric().fit_cohorts(_table(), cov_type="cluster")


# --------------------------------------------------------------------------------------
# Parameter draws (sample_survival)
# --------------------------------------------------------------------------------------


def _reference_draws(model, t, n_draws, seed):
    """Slow, obvious reference: the algorithm CohortForecaster used before
    ``sample_survival`` existed -- parameters drawn on the log / logit scale from
    N(g(p), J C J'), C = covariance_, J = diag(g'(p)), each draw written into
    ``params_`` of a shallow copy whose ``survival`` gives the curve."""
    import copy
    import math

    theta = np.asarray(model.params_, dtype=float)
    cov = np.asarray(model.covariance_, dtype=float)
    mean, jac = [], []
    for tr, th in zip(model._transforms, theta, strict=True):
        if tr == "log":
            mean.append(math.log(th))
            jac.append(1.0 / th)
        else:
            mean.append(math.log(th / (1.0 - th)))
            jac.append(1.0 / (th * (1.0 - th)))
    J = np.diag(jac)
    u = np.random.default_rng(seed).multivariate_normal(np.asarray(mean), J @ cov @ J, size=n_draws)
    for k, tr in enumerate(model._transforms):
        u[:, k] = np.exp(u[:, k]) if tr == "log" else 1.0 / (1.0 + np.exp(-u[:, k]))
    curves = []
    for row in u:
        twin = copy.copy(model)
        twin.params_ = pd.Series(row, index=model.params_.index)
        curves.append(twin.survival(np.asarray(t)))
    return np.stack(curves)


@pytest.mark.parametrize("model", FAMILIES)
def test_sample_survival_shape_and_fixed_seed(model, fh_alive):
    m = model().fit(fh_alive[:8])
    t = np.arange(0, 40)
    draws = m.sample_survival(t, 25, random_state=SEED)
    assert draws.shape == (25, t.size)
    assert np.all((draws > 0) & (draws <= 1)) and np.all(draws[:, 0] == 1.0)
    assert np.all(np.diff(draws, axis=1) <= 0)  # each draw is a survival curve
    np.testing.assert_array_equal(draws, m.sample_survival(t, 25, random_state=SEED))
    assert not np.array_equal(draws, m.sample_survival(t, 25, random_state=SEED + 1))
    # a Generator is used as is (and advanced)
    rng = np.random.default_rng(SEED)
    np.testing.assert_array_equal(m.sample_survival(t, 25, random_state=rng), draws)
    assert not np.array_equal(m.sample_survival(t, 25, random_state=rng), draws)
    assert m.sample_survival(12, 3, random_state=0).shape == (3, 1)


@pytest.mark.parametrize("model", FAMILIES)
def test_sample_survival_equals_the_reference_algorithm_bit_for_bit(model, fh_alive):
    """The draws of notebook 02 must not move: same RNG stream, same arithmetic."""
    m = model().fit(fh_alive[:8])
    t = np.arange(0, 200)
    np.testing.assert_array_equal(
        m.sample_survival(t, 50, random_state=0), _reference_draws(m, t, 50, 0)
    )


def test_sample_survival_mean_and_spread_match_the_fit(fh_alive):
    """Many draws: mean ~ S(t) at the MLE, sd ~ the delta-method standard error.

    A cohort of 100,000 (F&H 2007 shares x 100) makes the parameter uncertainty small, so
    that the second-order (Jensen) gap between E[S(t; p)] and S(t; p_hat) is below the
    Monte Carlo error.
    """
    m = ShiftedBetaGeometric().fit(np.round(100 * fh_alive[:8]))
    t = np.array([1, 3, 7, 12, 30])
    n = 20_000
    draws = m.sample_survival(t, n, random_state=SEED)
    sd = draws.std(axis=0, ddof=1)
    assert np.all(np.abs(draws.mean(axis=0) - m.survival(t)) < 4 * sd / np.sqrt(n) + 1e-5)
    np.testing.assert_allclose(sd, m.survival_interval(t)["se"], rtol=0.05)


def test_sample_survival_errors(fh_alive):
    with pytest.raises(NotFittedError, match="not fitted"):
        ShiftedBetaGeometric().sample_survival([1, 2], 10)
    m = ShiftedBetaGeometric().fit(fh_alive[:8])
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n_draws"):
            m.sample_survival([1, 2], bad)
    with pytest.raises(ValueError, match="t must be >= 0"):
        m.sample_survival([-1, 2], 10)
    assert m.sample_survival([1, 2], 10.0, random_state=0).shape == (10, 2)
    alive = np.round(100_000 * 0.7 ** np.arange(10))  # geometric data: boundary fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", r.RetentionFitWarning)
        flat = ShiftedBetaGeometric().fit(alive)
    if not np.isfinite(flat.covariance_.to_numpy()).all():
        with pytest.raises(RetentionFitError, match="no covariance"):
            flat.sample_survival([1, 2], 10)


# --------------------------------------------------------------------------------------
# Date-indexed survivor counts (a Series is never read by position blindly)
# --------------------------------------------------------------------------------------


def _dated(values, freq="D", start="2025-01-13"):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=freq))


@pytest.mark.parametrize("freq", ["D", "7D", "MS", "ME", "YS"])
def test_evenly_spaced_date_index_fits_like_the_plain_counts(fh_alive, freq):
    plain = ShiftedBetaGeometric().fit(fh_alive[:8])
    dated = ShiftedBetaGeometric().fit(_dated(fh_alive[:8], freq))
    pd.testing.assert_series_equal(dated.params_, plain.params_)


def test_unsorted_date_index_is_sorted(fh_alive):
    s = _dated(fh_alive[:8])
    shuffled = s.iloc[[3, 0, 7, 1, 5, 2, 6, 4]]
    plain = ShiftedBetaGeometric().fit(fh_alive[:8])
    pd.testing.assert_series_equal(ShiftedBetaGeometric().fit(shuffled).params_, plain.params_)
    table = compare_models(shuffled, holdout=2, models=[ShiftedBetaGeometric])
    expected = compare_models(fh_alive[:8], holdout=2, models=[ShiftedBetaGeometric])
    pd.testing.assert_frame_equal(table, expected)


def test_period_and_date_object_indexes_are_dates(fh_alive):
    s = pd.Series(fh_alive[:8], index=pd.period_range("2000", periods=8, freq="Y"))
    plain = ShiftedBetaGeometric().fit(fh_alive[:8])
    pd.testing.assert_series_equal(ShiftedBetaGeometric().fit(s).params_, plain.params_)
    days = _dated(fh_alive[:8])
    as_objects = pd.Series(days.to_numpy(), index=pd.Index(list(days.index.date), dtype=object))
    with pytest.raises(ValueError, match="duplicated dates"):
        ShiftedBetaGeometric().fit(as_objects.iloc[[0, 1, 1, 2, 3]])


def test_duplicated_dates_raise(fh_alive):
    s = _dated(fh_alive[:8])
    dup = pd.concat([s.iloc[:4], s.iloc[[3]], s.iloc[4:]])
    with pytest.raises(ValueError, match=r"duplicated dates in its index \(1, first 2025-01-16\)"):
        ShiftedBetaGeometric().fit(dup)
    with pytest.raises(ValueError, match="duplicated dates"):
        compare_models(dup)


def test_gap_in_a_daily_index_raises(fh_alive):
    s = _dated(fh_alive[:8]).drop(pd.Timestamp("2025-01-16"))
    with pytest.raises(
        ValueError, match="not evenly spaced: a gap between 2025-01-15 and 2025-01-17"
    ):
        ShiftedBetaGeometric().fit(s)
    with pytest.raises(ValueError, match="gap"):
        compare_models(s, holdout=2)
    with pytest.raises(ValueError, match="missing date"):
        ShiftedBetaGeometric().fit(
            pd.Series(fh_alive[:3], index=pd.DatetimeIndex(["2025-01-01", None, "2025-01-03"]))
        )


def test_non_date_index_is_used_as_is(fh_alive):
    s = pd.Series(fh_alive[:8], index=np.arange(10, 18))
    plain = ShiftedBetaGeometric().fit(fh_alive[:8])
    pd.testing.assert_series_equal(ShiftedBetaGeometric().fit(s).params_, plain.params_)


# --------------------------------------------------------------------------------------
# Plot helper
# --------------------------------------------------------------------------------------


def test_plot_retention_returns_axes(fh_alive):
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    m = ShiftedBetaGeometric().fit(fh_alive[:8])
    fig = Figure()
    ax = fig.subplots()
    style_before = dict(matplotlib.rcParams)
    out = r.plot_retention(m, fh_alive, ax=ax, horizon=20)
    assert out is ax
    assert len(ax.lines) == 2 and len(ax.collections) == 1  # curve, observed, band
    assert dict(matplotlib.rcParams) == style_before
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax2 = r.plot_retention(m, _table(), level=None)
    assert ax2.get_xlabel() == "age (days)"
    plt.close(ax2.figure)


# ------------------------------------------------ monthly cohorts of a real log (issue 14)


def _homogeneous_monthly_table(label: str = "timestamp") -> pd.DataFrame:
    """Three monthly cohorts of 10,000 users whose survivors follow one discrete Weibull
    curve exactly (no heterogeneity): S(t) = (1 - theta)^(t^c), theta 0.5, c 0.4 -- the
    shape of the CDNOW purchase log's monthly cohorts, where the BdW's alpha and beta run
    off together."""
    rows = []
    for k, start in enumerate(pd.date_range("1997-01-01", periods=3, freq="MS")):
        ages = np.arange(0, 18 - k)
        alive = np.round(10_000 * (1 - 0.5) ** (ages.astype(float) ** 0.4)).astype(int)
        rows.append(pd.DataFrame({"cohort_date": start, "age_months": ages,
                                  "active_on_or_after": alive, "cohort_size": 10_000}))
    out = pd.concat(rows, ignore_index=True)
    if label == "period":
        out["cohort_date"] = pd.PeriodIndex(out["cohort_date"], freq="M")
    return out


def test_joint_fit_accepts_period_cohort_labels():
    """A pd.Period label (monthly cohorts built with pandas) crashed the joint fit."""
    kw = dict(age_col="age_months", active_col="active_on_or_after")
    by_date = ShiftedBetaGeometric().fit_cohorts(_homogeneous_monthly_table(), **kw)
    by_period = ShiftedBetaGeometric().fit_cohorts(_homogeneous_monthly_table("period"), **kw)
    assert by_period.params_.to_numpy() == pytest.approx(by_date.params_.to_numpy())


def _cdnow_monthly_table() -> pd.DataFrame:
    """Unbounded monthly retention of the CDNOW purchase log (Lifetimes 0.11.3,
    data/raw/reference/SOURCE_README.md), counted with pandas: cohort = month of the first
    purchase, survivors at age k = customers whose last purchase is k or more months
    later; the log covers January 1997 to June 1998 (18 whole months)."""
    log = pd.read_csv(REFERENCE_DIR / "cdnow_master_purchases.csv")
    month = pd.to_datetime(log["date"].astype(str), format="%Y%m%d").dt.to_period("M")
    span = month.groupby(log["customer_id"]).agg(["min", "max"])
    last_month = pd.Period("1998-06", "M")
    rows = []
    for cohort, g in span.groupby("min"):
        lived = (g["max"] - cohort).map(lambda d: d.n)
        for k in range((last_month - cohort).n + 1):
            rows.append({"cohort_date": cohort.to_timestamp(), "age_months": k,
                         "active_on_or_after": int((lived >= k).sum()),
                         "cohort_size": len(g)})
    return pd.DataFrame(rows)


def test_bdw_on_cdnow_monthly_cohorts_warns_of_the_boundary_instead_of_raising():
    """On the CDNOW log's three monthly cohorts the BdW's alpha and beta run off together
    (no detectable heterogeneity). The module's docs promise a boundary warning; the
    joint monthly fit raised RetentionFitError instead. The curve must be the homogeneous
    limit, i.e. the discrete Weibull fitted to the same table."""
    table = _cdnow_monthly_table()
    kw = dict(age_col="age_months", active_col="active_on_or_after")
    with pytest.warns(RetentionFitWarning, match="no detectable heterogeneity"):
        m = BetaDiscreteWeibull().fit_cohorts(table, **kw)
    weibull = WeibullRetention().fit_cohorts(table, **kw)
    t = np.arange(18)
    assert m.survival(t) == pytest.approx(weibull.survival(t), abs=1e-3)
    assert m.log_likelihood_ >= weibull.log_likelihood_ - 1e-3
    # no curvature along the ridge: no standard errors rather than meaningless ones
    assert m.covariance_.isna().all().all()

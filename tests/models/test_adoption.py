"""Tests of :mod:`analysis.models.adoption` (Bass diffusion and relatives).

Reference case: annual US sales of room air conditioners 1949-1961 (thousands), the
series of Bass (1969), Management Science 15(5), re-estimated by Srinivasan & Mason
(1986), Marketing Science 5(2). Published optima (data/raw/reference/SOURCE_README.md):
OLS m ~ 17,091, p ~ 0.01699, q ~ 0.4050; NLS m ~ 18,713, p ~ 0.00944, q ~ 0.3748.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.regression.linear_model as smlm
from matplotlib.figure import Figure
from scipy import integrate, optimize

from analysis.config import REFERENCE_DIR
from analysis.models import adoption as A

AC_CSV = REFERENCE_DIR / "bass_room_air_conditioners.csv"


@pytest.fixture(scope="module")
def air_conditioners() -> pd.Series:
    df = pd.read_csv(AC_CSV)
    return df.set_index("year")["sales_thousands"].astype(float)


@pytest.fixture(scope="module")
def ac_nls(air_conditioners):
    return A.BassDiffusion(method="nls").fit(air_conditioners)


@pytest.fixture(scope="module")
def ac_ols(air_conditioners):
    return A.BassDiffusion(method="ols").fit(air_conditioners)


# ---------------------------------------------------------------------------------------
# Published optima: Bass (1969) OLS and Srinivasan & Mason (1986) NLS
# ---------------------------------------------------------------------------------------


def test_bass1969_ols_room_air_conditioners_reproduces_published_estimates(
    air_conditioners, ac_ols
):
    """Bass (1969) OLS on room air conditioners 1949-1961: m 17,091, p 0.01699, q 0.4050.

    Tolerances at the printed precision: m to +/-1 (thousand units), p to half a unit in
    the 5th decimal; q to one unit in the 4th decimal (the optimum is 0.404946, which the
    reference prints as 0.4050).
    """
    assert len(air_conditioners) == 13
    est = ac_ols.params_
    assert est["m"] == pytest.approx(17_091, abs=1.0)
    assert est["p"] == pytest.approx(0.01699, abs=5e-6)
    assert est["q"] == pytest.approx(0.4050, abs=1e-4)
    assert ac_ols.peak_time_ == pytest.approx(np.log(est["q"] / est["p"]) / (est["p"] + est["q"]))


def test_bass1969_ols_keeps_statsmodels_results_and_coefficients_map_to_m_p_q(ac_ols):
    """Bass (1969): a = p m, b = q - p, c = -q/m in S_t = a + b Y_{t-1} + c Y_{t-1}^2."""
    res = ac_ols.ols_results_
    assert isinstance(res, smlm.RegressionResultsWrapper)
    a, b, c = res.params
    m, p, q = (ac_ols.params_[k] for k in "mpq")
    assert a == pytest.approx(p * m, rel=1e-10)
    assert b == pytest.approx(q - p, rel=1e-10)
    assert c == pytest.approx(-q / m, rel=1e-10)
    s = ac_ols.summary()
    assert list(s.columns) == ["estimate", "se", "lower", "upper"]
    assert np.all(s["se"] > 0) and np.all(s["lower"] < s["estimate"])


def test_srinivasan_mason1986_nls_room_air_conditioners_reproduces_published_estimates(ac_nls):
    """Srinivasan & Mason (1986) NLS on room air conditioners: m 18,713, p 0.00944, q 0.3748."""
    est = ac_nls.params_
    assert est["m"] == pytest.approx(18_713, abs=1.0)
    assert est["m"] == pytest.approx(18_713, rel=1e-3)
    assert est["p"] == pytest.approx(0.00944, abs=5e-6)
    assert est["q"] == pytest.approx(0.3748, abs=5e-5)
    assert all(np.isfinite(v) for v in est.values())


def test_srinivasan_mason1986_nls_is_the_least_squares_optimum(air_conditioners, ac_nls, ac_ols):
    """Srinivasan & Mason (1986): the NLS SSE is below the SSE of the Bass (1969) OLS
    parameters on the same per-period curve, and no local perturbation improves it."""
    assert ac_nls.sse_ < ac_ols.sse_
    y = air_conditioners.to_numpy()
    t = np.arange(1, 14)
    base = ac_nls.sse_
    m, p, q = (ac_nls.params_[k] for k in "mpq")
    for dm, dp, dq in [(1.001, 1, 1), (0.999, 1, 1), (1, 1.001, 1), (1, 0.999, 1), (1, 1, 1.001)]:
        sse = np.sum((y - A.bass_adoptions(m * dm, p * dp, q * dq, t)) ** 2)
        assert sse >= base


def test_srinivasan_mason1986_nls_summary_and_jacobian_standard_errors(ac_nls):
    """Srinivasan & Mason (1986) report asymptotic standard errors from the Jacobian;
    the summary has estimate, se, lower, upper with lower < estimate < upper."""
    s = ac_nls.summary()
    assert list(s.columns) == ["estimate", "se", "lower", "upper"]
    assert list(s.index) == ["m", "p", "q"]
    assert np.all(np.isfinite(s.to_numpy()))
    assert np.all(s["se"] > 0)
    assert np.all((s["lower"] < s["estimate"]) & (s["estimate"] < s["upper"]))
    assert set(ac_nls.standard_errors_) == {"m", "p", "q"}
    assert ac_nls.cov_.shape == (3, 3)


def test_room_air_conditioners_residual_bootstrap_intervals():
    """Residual bootstrap on the Bass (1969) air-conditioner series: percentile intervals
    on (m, p, q) and a band on the predicted per-period curve."""
    y = pd.read_csv(AC_CSV)["sales_thousands"].to_numpy(float)
    model = A.BassDiffusion().fit(y)
    t = np.arange(1, 19)
    boot = model.bootstrap(n=150, random_state=np.random.default_rng(11), t=t)
    assert model.bootstrap_ is boot
    assert boot.params.shape[1] == 3 and len(boot.params) + boot.n_failed == 150
    iv = boot.intervals
    assert np.all((iv["lower"] <= iv["estimate"]) & (iv["estimate"] <= iv["upper"]))
    assert boot.curves.shape == (len(boot.params), t.size)
    assert np.all(boot.curve_lower <= boot.curve_upper)
    pred = model.predict(t)
    assert np.mean((boot.curve_lower <= pred) & (pred <= boot.curve_upper)) > 0.9
    pd.testing.assert_frame_equal(model.summary(interval="bootstrap"), iv)
    # same seed, same result
    again = A.BassDiffusion().fit(y).bootstrap(n=150, random_state=np.random.default_rng(11), t=t)
    pd.testing.assert_frame_equal(again.intervals, iv)


def test_room_air_conditioners_logistic_is_left_truncated_bass(air_conditioners, ac_nls):
    """Bass (1969) F(t) is a logistic with rate p + q and inflection ln(q/p)/(p+q),
    truncated at launch; fitted on per-period adoptions (Srinivasan & Mason 1986) with a
    free inflection the two models coincide: q_L = p + q, t0 = t*, same fitted values."""
    lg = A.LogisticDiffusion().fit(air_conditioners)
    p, q = ac_nls.params_["p"], ac_nls.params_["q"]
    assert lg.params_["q"] == pytest.approx(p + q, rel=1e-4)
    assert lg.params_["t0"] == pytest.approx(ac_nls.peak_time_, rel=1e-4)
    np.testing.assert_allclose(lg.fitted_, ac_nls.fitted_, rtol=1e-4)
    # logistic m also counts the mass the curve puts before period 1
    g0 = A.logistic_cdf(lg.params_["q"], lg.params_["t0"], 0.0)
    assert lg.params_["m"] * (1 - g0) == pytest.approx(ac_nls.params_["m"], rel=1e-4)


def test_room_air_conditioners_holdout_fit_8_years_predict_5_every_model(air_conditioners):
    """Forecast check on Bass (1969) data: fit 1949-1956, predict 1957-1961."""
    table = A.compare_models(air_conditioners, holdout=5)
    assert list(table.index) == ["bass_ols", "bass_nls", "logistic", "gompertz"]
    metrics = ["sse", "rmse", "aic", "holdout_mape", "holdout_rmse"]
    assert np.all(np.isfinite(table[metrics].to_numpy(dtype=float)))
    assert (table["n_train"] == 8).all()
    assert (table["note"] == "").all()
    # direct check of one row
    y = air_conditioners.to_numpy()
    model = A.BassDiffusion("nls").fit(y[:8])
    err = y[8:] - model.predict(np.arange(9, 14))
    assert table.loc["bass_nls", "holdout_rmse"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert table.loc["bass_nls", "holdout_mape"] == pytest.approx(
        100 * np.mean(np.abs(err) / y[8:])
    )


def test_room_air_conditioners_logistic_and_gompertz_fit(air_conditioners):
    """Logistic and Gompertz relatives converge on the Bass (1969) series, finite params."""
    for model, names in [
        (A.LogisticDiffusion(), ["m", "q", "t0"]),
        (A.GompertzDiffusion(), ["m", "c", "t0"]),
    ]:
        model.fit(air_conditioners)
        assert list(model.params_) == names
        assert all(np.isfinite(v) for v in model.params_.values())
        assert model.peak_time_ == model.params_["t0"]
        assert model.cumulative(13) == pytest.approx(
            model.params_["m"]
            * (
                A.logistic_cdf(model.params_["q"], model.params_["t0"], 13.0)
                if names[1] == "q"
                else A.gompertz_cdf(model.params_["c"], model.params_["t0"], 13.0)
            )
        )


# ---------------------------------------------------------------------------------------
# Parameter recovery on simulated adoption
# ---------------------------------------------------------------------------------------


def test_simulated_bass_poisson_recovery_true_values_in_95pct_intervals():
    """Simulated Bass adoption (m 10,000, p 0.02, q 0.4, 20 periods, Poisson noise,
    Srinivasan & Mason 1986 NLS): true values inside the 95 % Wald intervals."""
    truth = {"m": 10_000.0, "p": 0.02, "q": 0.4}
    t = np.arange(1, 21)
    y = np.random.default_rng(2025).poisson(A.bass_adoptions(truth["m"], truth["p"], truth["q"], t))
    model = A.BassDiffusion().fit(y)
    s = model.summary(level=0.95)
    for k, v in truth.items():
        assert s.loc[k, "lower"] <= v <= s.loc[k, "upper"], k
    assert model.peak_time_ == pytest.approx(A.bass_peak_time(0.02, 0.4), rel=0.05)
    # Bass (1969) OLS on the same data shows its time-interval bias: p overstated
    ols = A.BassDiffusion(method="ols").fit(y)
    assert ols.params_["p"] > s.loc["p", "upper"]


def test_simulated_bass_gaussian_recovery_for_short_annual_series():
    """Simulated Bass with Sultan, Farley & Lehmann (1990) mean values p 0.03, q 0.38,
    15 periods, Gaussian noise: true values inside the 95 % Wald and residual-bootstrap
    intervals, and inside the bootstrap band of the curve."""
    truth = {"m": 2_000.0, "p": 0.03, "q": 0.38}
    t = np.arange(1, 16)
    mu = A.bass_adoptions(truth["m"], truth["p"], truth["q"], t)
    y = np.clip(mu + np.random.default_rng(1990).normal(0, 15, t.size), 0, None)
    model = A.BassDiffusion().fit(y)
    s = model.summary()
    boot = model.bootstrap(n=200, random_state=3)
    for k, v in truth.items():
        assert s.loc[k, "lower"] <= v <= s.loc[k, "upper"], k
        assert boot.intervals.loc[k, "lower"] <= v <= boot.intervals.loc[k, "upper"], k
    assert np.mean((boot.curve_lower <= mu) & (mu <= boot.curve_upper)) >= 0.8


def _gbm_simulation(seed: int = 1994):
    T = 30
    effort = np.zeros(T)
    effort[3:8] = 1.0  # two campaigns
    effort[14:19] = 1.0
    x = A.gbm_effort_multiplier(effort, beta=1.0)
    mu = A.gbm_adoptions(5_000, 0.01, 0.35, np.arange(1, T + 1), x)
    y = np.clip(mu + np.random.default_rng(seed).normal(0, 20, T), 0, None)
    return y, effort


def test_simulated_generalized_bass_recovers_effort_coefficient():
    """Bass, Krishnan & Jain (1994) GBM with x(t) = 1 + beta effort(t): simulated with
    beta 1.0, two campaigns, Gaussian noise; beta and (m, p, q) inside 95 % intervals."""
    y, effort = _gbm_simulation()
    model = A.GeneralizedBass().fit(y, effort)
    assert list(model.params_) == ["m", "p", "q", "beta"]
    s = model.summary()
    for k, v in {"m": 5_000, "p": 0.01, "q": 0.35, "beta": 1.0}.items():
        assert s.loc[k, "lower"] <= v <= s.loc[k, "upper"], k
    assert model.params_["beta"] == pytest.approx(1.0, abs=0.3)
    boot = model.bootstrap(n=100, random_state=5)
    assert boot.intervals.loc["beta", "lower"] <= 1.0 <= boot.intervals.loc["beta", "upper"]


def test_generalized_bass_mean_baseline_is_a_reparametrisation():
    """Bass, Krishnan & Jain (1994) centre effort so steady effort gives x = 1; with
    baseline 'mean' the fit is the same curve, with (p, q) rescaled by 1 - beta_b * mean."""
    y, effort = _gbm_simulation()
    zero = A.GeneralizedBass(baseline=0.0).fit(y, effort)
    mean = A.GeneralizedBass(baseline="mean").fit(y, effort)
    assert mean.baseline_ == pytest.approx(effort.mean())
    assert mean.sse_ == pytest.approx(zero.sse_, rel=1e-6)
    k = 1 - mean.params_["beta"] * mean.baseline_
    assert zero.params_["p"] == pytest.approx(k * mean.params_["p"], rel=1e-3)
    assert zero.params_["q"] == pytest.approx(k * mean.params_["q"], rel=1e-3)
    assert zero.params_["beta"] == pytest.approx(mean.params_["beta"] / k, rel=1e-3)


def test_generalized_bass_scenario_ads_stopped_at_period_s():
    """GBM scenario (Bass, Krishnan & Jain 1994): stopping the second campaign at period
    15 leaves periods 1-14 unchanged and slows adoption afterwards."""
    y, effort = _gbm_simulation()
    model = A.GeneralizedBass().fit(y, effort)
    t = np.arange(1, 31)
    base = model.predict(t)
    stopped = A.stop_effort(effort, 15)
    assert np.all(stopped[14:] == 0) and np.all(stopped[:14] == effort[:14])
    alt = model.predict(t, effort=stopped)
    np.testing.assert_allclose(alt[:14], base[:14])
    assert model.cumulative(20, effort=stopped) < model.cumulative(20)
    # longer horizon with an explicit path; without one the model refuses to extrapolate
    longer = np.concatenate([effort, np.zeros(10)])
    assert model.predict(np.arange(1, 41), effort=longer).shape == (40,)
    with pytest.raises(ValueError, match="beyond the effort path"):
        model.predict(35)
    assert model.peak_time_ > 0 and 1 <= model.peak_period_ <= 30


def test_compare_models_with_effort_includes_generalized_bass():
    """compare_models adds the Bass, Krishnan & Jain (1994) GBM row when effort is given."""
    y, effort = _gbm_simulation()
    table = A.compare_models(y, holdout=5, effort=effort)
    assert list(table.index) == ["bass_ols", "bass_nls", "generalized_bass", "logistic", "gompertz"]
    assert table.loc["generalized_bass", "n_params"] == 4
    assert np.isfinite(table.loc["generalized_bass", "holdout_rmse"])


# ---------------------------------------------------------------------------------------
# Pure functions (Bass 1969 equations; GBM reduction)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("p,q", [(0.03, 0.38), (0.01, 0.5), (0.2, 0.05)])
def test_bass1969_cdf_equals_integral_of_pdf(p, q):
    """Bass (1969): F(t) = integral_0^t f(s) ds."""
    for t in [0.5, 3.0, 10.0, 40.0]:
        val, _ = integrate.quad(lambda s: A.bass_pdf(p, q, s), 0, t)
        assert A.bass_cdf(p, q, t) == pytest.approx(val, rel=1e-8, abs=1e-12)


def test_bass1969_pdf_satisfies_hazard_equation():
    """Bass (1969) equation: f / (1 - F) = p + q F."""
    t = np.linspace(0, 30, 61)
    p, q = 0.03, 0.38
    F, f = A.bass_cdf(p, q, t), A.bass_pdf(p, q, t)
    np.testing.assert_allclose(f, (p + q * F) * (1 - F), rtol=1e-10)
    assert A.bass_cdf(p, q, -1.0) == 0.0 and A.bass_pdf(p, q, -1.0) == 0.0


@pytest.mark.parametrize("p,q", [(0.03, 0.38), (0.00944, 0.3748), (0.01, 1.2)])
def test_bass1969_peak_time_is_argmax_of_pdf(p, q):
    """Bass (1969): t* = ln(q/p)/(p+q) maximises f; F(t*) = 1/2 - p/(2q)."""
    res = optimize.minimize_scalar(
        lambda t: -A.bass_pdf(p, q, t), bounds=(0, 100), method="bounded", options={"xatol": 1e-10}
    )
    assert A.bass_peak_time(p, q) == pytest.approx(res.x, abs=1e-5)
    assert A.bass_cdf(p, q, A.bass_peak_time(p, q)) == pytest.approx(0.5 - p / (2 * q))


def test_bass_peak_time_is_launch_when_innovation_dominates():
    """Bass (1969): with q <= p the density decreases from launch, t* = 0."""
    assert A.bass_peak_time(0.3, 0.1) == 0.0
    assert A.bass_peak_time(0.1, 0.0) == 0.0


def test_bass_adoptions_sum_to_installed_base():
    """Per-period adoptions m[F(t) - F(t-1)] telescope to m F(T)."""
    t = np.arange(1, 26)
    assert A.bass_adoptions(1000, 0.02, 0.4, t).sum() == pytest.approx(
        1000 * A.bass_cdf(0.02, 0.4, 25)
    )


def test_generalized_bass_with_unit_effort_equals_bass():
    """Bass, Krishnan & Jain (1994): x(t) = 1 gives X(t) = t and the Bass model."""
    x = np.ones(20)
    t = np.array([0.0, 0.5, 1.0, 2.5, 7.0, 19.3, 20.0])
    np.testing.assert_allclose(A.gbm_cdf(0.02, 0.4, t, x), A.bass_cdf(0.02, 0.4, t), rtol=1e-14)
    ti = np.arange(1, 21)
    np.testing.assert_allclose(
        A.gbm_adoptions(500, 0.02, 0.4, ti, x), A.bass_adoptions(500, 0.02, 0.4, ti), rtol=1e-12
    )
    np.testing.assert_allclose(A.gbm_effort_multiplier(np.full(20, 3.0), 0.7, baseline=3.0), x)


def test_cumulative_effort_is_piecewise_linear_sum():
    """GBM clock X(t) = sum of x over completed periods, linear within a period."""
    x = np.array([1.0, 2.0, 0.5])
    assert A.cumulative_effort(x, 2) == pytest.approx(3.0)
    assert A.cumulative_effort(x, 2.5) == pytest.approx(3.25)
    assert A.cumulative_effort(x, 0) == 0.0


def test_logistic_and_gompertz_cdf_at_inflection():
    """Logistic: F(t0) = 1/2 (Fisher & Pry 1971); Gompertz: F(t0) = 1/e."""
    assert A.logistic_cdf(0.5, 4.0, 4.0) == pytest.approx(0.5)
    assert A.gompertz_cdf(0.5, 4.0, 4.0) == pytest.approx(np.exp(-1))
    t = np.arange(1, 30)
    assert np.all(np.diff(A.logistic_cdf(0.5, 4.0, t)) > 0)
    assert np.all(np.diff(A.gompertz_cdf(0.5, 4.0, t)) > 0)
    assert A.logistic_adoptions(100, 0.5, 4.0, t).sum() == pytest.approx(
        100 * (A.logistic_cdf(0.5, 4.0, 29) - A.logistic_cdf(0.5, 4.0, 0))
    )
    assert A.gompertz_adoptions(100, 0.5, 4.0, 5.0) > 0


# ---------------------------------------------------------------------------------------
# Estimator conventions
# ---------------------------------------------------------------------------------------


def test_second_fit_forgets_the_first(air_conditioners):
    """scikit-learn convention: refitting replaces every fitted attribute."""
    model = A.BassDiffusion(method="ols").fit(air_conditioners)
    model.bootstrap(n=20, random_state=0)
    assert hasattr(model, "ols_results_") and hasattr(model, "bootstrap_")
    model.set_params(method="nls").fit(air_conditioners.to_numpy()[:10])
    assert not hasattr(model, "ols_results_") and not hasattr(model, "bootstrap_")
    assert model.n_periods_ == 10 and model.fitted_.shape == (10,)
    assert model.params_ == A.BassDiffusion().fit(air_conditioners.to_numpy()[:10]).params_
    y, effort = _gbm_simulation()
    gbm = A.GeneralizedBass().fit(y, effort)
    gbm.fit(y[:20], effort[:20])
    assert gbm.effort_.shape == (20,) and gbm.n_periods_ == 20


def test_get_params_set_params_and_repr():
    """scikit-learn convention: hyper-parameters round-trip through get/set_params."""
    model = A.BassDiffusion(method="ols")
    assert model.get_params() == {"method": "ols", "max_nfev": None}
    assert "BassDiffusion(method='ols'" in repr(model)
    with pytest.raises(ValueError, match="invalid parameter 'foo'"):
        model.set_params(foo=1)
    assert A.GeneralizedBass(baseline="mean").get_params()["baseline"] == "mean"


def test_estimators_follow_the_one_protocol_of_models_estimator():
    """Every diffusion model is an analysis.models._estimator.Estimator: one NotFittedError
    (re-exported here), clone() is an unfitted copy, repr shows non-default settings."""
    from analysis.models import _estimator

    assert A.NotFittedError is _estimator.NotFittedError
    for cls in (A.BassDiffusion, A.GeneralizedBass, A.LogisticDiffusion, A.GompertzDiffusion):
        assert issubclass(cls, _estimator.Estimator)
        assert repr(cls()) == f"{cls.__name__}()"
    model = A.BassDiffusion(method="ols", max_nfev=50)
    copy = model.clone()
    assert copy is not model and copy.get_params() == model.get_params()
    assert not hasattr(copy, "params_")
    with pytest.raises(A.NotFittedError, match="BassDiffusion is not fitted yet"):
        copy.summary()


def test_interval_keyword_is_level_coverage(ac_nls):
    """summary(level=...) and bootstrap(level=...) take the coverage (0.95 = 95 %): a
    wider level gives a wider interval, the bootstrap records it, bad levels are refused."""
    s90, s99 = ac_nls.summary(level=0.90), ac_nls.summary(level=0.99)
    assert (s99["lower"] < s90["lower"]).all() and (s90["upper"] < s99["upper"]).all()
    boot = ac_nls.bootstrap(n=40, random_state=0, level=0.8)
    assert boot.level == 0.8
    q = boot.params.quantile([0.1, 0.9])
    np.testing.assert_allclose(boot.intervals["lower"], q.iloc[0])
    np.testing.assert_allclose(boot.intervals["upper"], q.iloc[1])
    pd.testing.assert_frame_equal(ac_nls.summary(interval="bootstrap"), boot.intervals)
    for bad in (0.0, 1.0, 95, "high"):
        with pytest.raises(ValueError, match="level must"):
            ac_nls.summary(level=bad)
        with pytest.raises(ValueError, match="level must"):
            ac_nls.bootstrap(n=5, level=bad)
    with pytest.raises(TypeError):
        ac_nls.summary(alpha=0.05)  # the old keyword is gone


def test_predict_and_cumulative_defaults(ac_nls):
    """predict() gives per-period adoptions on periods 1..T; cumulative() the installed base."""
    np.testing.assert_allclose(ac_nls.predict(), ac_nls.fitted_)
    np.testing.assert_allclose(np.cumsum(ac_nls.predict()), ac_nls.cumulative(), rtol=1e-10)
    assert isinstance(ac_nls.predict(3), float)
    assert ac_nls.peak_period_ == int(np.argmax(ac_nls.fitted_)) + 1


# ---------------------------------------------------------------------------------------
# Bad inputs raise with a helpful message
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "series, match",
    [
        ([10, 20, -5, 30, 40], r"adoptions\[2\] = -5 is negative"),
        ([10, np.nan, 5, 30, 40], r"adoptions\[1\] = nan is not finite"),
        ([10, 20, 5, np.inf, 40], r"adoptions\[3\] = inf is not finite"),
        (
            pd.Series([1.0, 2.0, -1.0, 4.0], index=[2021, 2022, 2023, 2024]),
            r"adoptions\[2\] \(label 2023\) = -1 is negative",
        ),
        ([10, 20, 30], r"3 periods; at least 4 are needed"),
        ([0, 0, 0, 0, 0], "all zero"),
        ([[1, 2], [3, 4]], "1-D"),
        (["a", "b", "c", "d"], "numeric"),
    ],
)
@pytest.mark.parametrize("cls", [A.BassDiffusion, A.LogisticDiffusion, A.GompertzDiffusion])
def test_bad_adoptions_raise_helpful_value_errors(cls, series, match):
    """Every estimator refuses negative, non-finite, too-short and all-zero series."""
    with pytest.raises(ValueError, match=match):
        cls().fit(series)


def _dated(y, freq: str = "7D", start: str = "2025-03-01") -> pd.Series:
    return pd.Series(np.asarray(y, dtype=float),
                     index=pd.date_range(start, periods=len(y), freq=freq))


@pytest.fixture(scope="module")
def simulated_weekly() -> pd.Series:
    """Weekly Bass adoptions (m 10,000, p 0.02, q 0.4, Poisson noise), dated by week."""
    t = np.arange(1, 21)
    return _dated(np.random.default_rng(2025).poisson(A.bass_adoptions(10_000, 0.02, 0.4, t)))


def test_dated_series_in_order_fit_like_the_array(simulated_weekly):
    """A date-indexed Series in date order fits exactly like its values (weekly, monthly,
    month-end, yearly dates and a PeriodIndex are all regular)."""
    ref = A.BassDiffusion().fit(simulated_weekly.to_numpy()).params_
    y = simulated_weekly.to_numpy()
    for index in (pd.date_range("2020-01-01", periods=20, freq="MS"),
                  pd.date_range("2020-01-31", periods=20, freq="ME"),
                  pd.date_range("2000-12-31", periods=20, freq="YE"),
                  pd.date_range("2025-03-01", periods=20, freq="7D", tz="America/New_York"),
                  pd.period_range("2020-01", periods=20, freq="M")):
        assert A.BassDiffusion().fit(pd.Series(y, index=index)).params_ == ref
    assert A.BassDiffusion().fit(simulated_weekly).params_ == ref


@pytest.mark.parametrize("cls", [A.BassDiffusion, A.LogisticDiffusion, A.GompertzDiffusion])
def test_unsorted_dated_series_is_refused(cls, simulated_weekly):
    """Shuffled weeks used to be fitted by position (q = 0.000 instead of ~0.4)."""
    shuffled = simulated_weekly.sample(frac=1, random_state=0)
    first_bad = next(i for i in range(1, 20) if shuffled.index[i] < shuffled.index[i - 1])
    with pytest.raises(ValueError, match=(r"adoptions dates are not sorted: "
                                          f"{shuffled.index[first_bad].date()}.*sort_index")):
        cls().fit(shuffled)
    assert A.BassDiffusion().fit(shuffled.sort_index()).params_["q"] == pytest.approx(0.4, rel=0.1)


def test_duplicated_dated_series_is_refused(simulated_weekly):
    dup = pd.concat([simulated_weekly.iloc[:6], simulated_weekly.iloc[5:]])
    with pytest.raises(ValueError, match="duplicated date: 2025-04-05 appears more than once"):
        A.BassDiffusion().fit(dup)
    with pytest.raises(ValueError, match="duplicated date"):
        A.fit_bass_nls(dup)


@pytest.mark.parametrize("series, match", [
    (_dated(np.arange(1, 11)).drop(pd.Timestamp("2025-03-22")),
     r"gap in its dates: 1 period missing between 2025-03-15 and 2025-03-29, the first on "
     r"2025-03-22 \(the series steps by 7 days"),
    (_dated(np.arange(1, 11), "MS", "2024-01-01").drop(pd.to_datetime(["2024-04-01",
                                                                       "2024-05-01"])),
     r"2 periods missing between 2024-03-01 and 2024-06-01, the first on 2024-04-01 "
     r"\(the series steps by 1 month"),
    (pd.Series(np.arange(1.0, 9.0), index=pd.period_range("2024-01", periods=9, freq="M")
               .delete(3)), r"1 period missing between 2024-03 and 2024-05, the first on 2024-04"),
    (pd.Series(np.arange(1.0, 7.0), index=pd.to_datetime(
        ["2025-01-01", "2025-01-08", "2025-01-18", "2025-01-25", "2025-02-01", "2025-02-08"])),
     "irregularly spaced: 2025-01-08 to 2025-01-18 is 10 days"),
    (pd.Series(np.arange(1.0, 6.0), index=pd.DatetimeIndex(
        ["2025-01-01", "NaT", "2025-01-15", "2025-01-22", "2025-01-29"])),
     r"missing date \(NaT\) at position 1"),
])
def test_gapped_or_irregular_dated_series_is_refused(series, match):
    with pytest.raises(ValueError, match=match):
        A.BassDiffusion().fit(series)


def test_dated_effort_must_match_the_adoption_dates():
    """GBM and compare_models: a dated effort Series is checked like the adoptions and
    must carry the same dates."""
    y, effort = _gbm_simulation()
    ys, es = _dated(y), _dated(effort)
    ref = A.GeneralizedBass().fit(y, effort).params_
    assert A.GeneralizedBass().fit(ys, es).params_ == ref
    with pytest.raises(ValueError, match="effort and adoptions have different dates"):
        A.GeneralizedBass().fit(ys, _dated(effort, start="2025-03-08"))
    with pytest.raises(ValueError, match="effort dates are not sorted"):
        A.GeneralizedBass().fit(y, es.iloc[::-1])
    with pytest.raises(ValueError, match="effort and adoptions have different dates"):
        A.compare_models(ys, holdout=5, effort=_dated(effort, start="2025-03-08"))
    with pytest.raises(ValueError, match="adoptions dates are not sorted"):
        A.compare_models(ys.iloc[::-1], holdout=5)


@pytest.mark.parametrize("cls", [A.BassDiffusion, A.LogisticDiffusion, A.GompertzDiffusion])
def test_constant_series_is_refused_as_carrying_no_diffusion_signal(cls):
    """A flat series used to end on the edge of the box (p = q = 1e-5, se 2e-9)."""
    with pytest.raises(ValueError, match=r"constant \(5 in every period\).*no diffusion signal"):
        cls().fit([5.0] * 12)
    with pytest.raises(ValueError, match="constant"):
        A.GeneralizedBass().fit(np.full(30, 7.0), _gbm_simulation()[1])
    with pytest.raises(ValueError, match="constant"):
        A.fit_bass_ols(np.full(10, 3.0))


def test_bad_inputs_generalized_bass():
    """GBM: at least 5 periods (4 parameters); effort must match, be finite and vary."""
    y, effort = _gbm_simulation()
    with pytest.raises(ValueError, match="4 periods; at least 5 are needed to identify 4"):
        A.GeneralizedBass().fit(y[:4], effort[:4])
    with pytest.raises(ValueError, match="effort has 29 periods but adoptions has 30"):
        A.GeneralizedBass().fit(y, effort[:-1])
    bad = effort.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match=r"effort\[7\] = nan is not finite"):
        A.GeneralizedBass().fit(y, bad)
    with pytest.raises(ValueError, match="effort is constant.*not identified"):
        A.GeneralizedBass().fit(y, np.ones_like(y))
    with pytest.raises(ValueError, match="needs an effort series"):
        A.GeneralizedBass().fit(y, None)
    with pytest.raises(ValueError, match="baseline must be"):
        A.GeneralizedBass(baseline="median").fit(y, effort)
    model = A.GeneralizedBass().fit(y, effort)
    with pytest.raises(ValueError, match=r"x\[3\] = .* \(period 4\) is not positive"):
        model.predict(np.arange(1, 31), effort=np.where(np.arange(30) == 3, -1e6, effort))


def test_bass1969_ols_without_real_positive_root_raises():
    """Bass (1969) OLS: when c m^2 + b m + a = 0 has no admissible root, say so."""
    with pytest.raises(ValueError, match="no real positive root for m"):
        A.BassDiffusion(method="ols").fit([100, 50, 20, 40, 80, 200])
    with pytest.raises(ValueError, match=r"outside the Bass model \(p > 0, q >= 0\)"):
        A.BassDiffusion(method="ols").fit([10, 5, 3, 2, 1.5, 1.2])
    with pytest.raises(ValueError, match="m is not identified"):
        A.BassDiffusion(method="ols").fit([1, 2, 4, 8, 16, 32, 64])


def test_nls_that_does_not_converge_raises_convergence_error():
    """No NaN parameters: a fit that stops early or runs to a bound raises."""
    assert issubclass(A.ConvergenceError, RuntimeError)
    y = pd.read_csv(AC_CSV)["sales_thousands"].to_numpy(float)
    with pytest.raises(A.ConvergenceError, match="did not converge.*function-evaluation limit"):
        A.BassDiffusion(max_nfev=1).fit(y)
    # still accelerating (doubling every period): the market size is not identified
    with pytest.raises(A.ConvergenceError, match="did not converge.*best iterate m ="):
        A.BassDiffusion().fit([1, 2, 4, 8, 16, 32, 64])
    with pytest.raises(A.ConvergenceError, match="did not converge"):
        A.LogisticDiffusion().fit([1, 2, 4, 8, 16, 32, 64])
    with pytest.raises(A.ConvergenceError, match="did not converge to an interior optimum.*t0"):
        A.GompertzDiffusion().fit([1, 2, 4, 8, 16, 32, 64])


def test_misuse_raises_helpful_errors(ac_nls):
    """Unfitted models, bad methods, bad pure-function arguments, bad holdout."""
    with pytest.raises(A.NotFittedError, match="not fitted yet"):
        A.BassDiffusion().predict([1, 2])
    with pytest.raises(ValueError, match="method must be 'ols' or 'nls'"):
        A.BassDiffusion(method="mle").fit([1, 5, 9, 6, 3])
    with pytest.raises(ValueError, match="p must be > 0"):
        A.bass_cdf(0.0, 0.4, 1.0)
    with pytest.raises(ValueError, match="q must be >= 0"):
        A.bass_pdf(0.03, -0.1, 1.0)
    with pytest.raises(ValueError, match="m must be > 0"):
        A.bass_adoptions(-1, 0.03, 0.4, 1.0)
    with pytest.raises(ValueError, match="t must be finite"):
        A.bass_cdf(0.03, 0.4, np.nan)
    with pytest.raises(ValueError, match=r"x\[1\] = 0 \(period 2\) is not positive"):
        A.gbm_cdf(0.03, 0.4, 2.0, [1.0, 0.0])
    with pytest.raises(ValueError, match="at_period must be a positive integer"):
        A.stop_effort(np.ones(5), 0)
    with pytest.raises(ValueError, match="leaves 3 training periods; at least 4"):
        A.compare_models([1, 3, 6, 9, 7, 4], holdout=3)
    with pytest.raises(ValueError, match="holdout must be a non-negative integer"):
        A.compare_models([1, 3, 6, 9, 7, 4], holdout=-1)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        ac_nls.bootstrap(n=1)
    with pytest.raises(ValueError, match="interval must be 'wald' or 'bootstrap'"):
        ac_nls.summary(interval="profile")


def test_compare_models_keeps_row_of_model_that_fails():
    """A model that cannot be fitted keeps its row with NaN metrics and the reason."""
    table = A.compare_models([1, 2, 4, 8, 16, 32, 64, 128], holdout=2)
    assert len(table) == 4
    assert table.loc["bass_ols", "note"] != ""
    assert np.isnan(table.loc["bass_ols", "sse"])


# ---------------------------------------------------------------------------------------
# Plot helper
# ---------------------------------------------------------------------------------------


def test_plot_adoption_returns_axes_without_global_style_changes(air_conditioners):
    """plot_adoption draws observed, fitted curve and bootstrap band on the given axes."""
    before = dict(matplotlib.rcParams)
    y = air_conditioners.to_numpy()
    model = A.BassDiffusion().fit(y[:8])
    model.bootstrap(n=30, random_state=1, t=np.arange(1, 14))
    ax = Figure().subplots()
    out = A.plot_adoption(model, y, ax=ax, interval="bootstrap")
    assert out is ax
    assert len(ax.lines) >= 2 and len(ax.collections) == 1
    ax2 = Figure().subplots()
    A.plot_adoption(model, y, ax=ax2, interval=model.bootstrap_, cumulative=True)
    assert ax2.get_ylabel() == "cumulative adopters"
    yy, effort = _gbm_simulation()
    gbm = A.GeneralizedBass().fit(yy, effort)
    A.plot_adoption(gbm, yy, ax=Figure().subplots())
    with pytest.raises(ValueError, match="interval must be None"):
        A.plot_adoption(model, y, ax=Figure().subplots(), interval=(1, 2))
    assert dict(matplotlib.rcParams) == before

"""Tests of :mod:`analysis.models.bgbb`: the BG/BB model of Fader, Hardie & Shang (2010).

Sources of the reference values:

* Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). "Customer-Base Analysis in a
  Discrete-Time Noncontractual Setting." Marketing Science 29(6), 1086-1108: the 1995
  cohort of a US non-profit's first-time donors (11,104 people, 6 yearly opportunities,
  ``data/raw/reference/fader_hardie_shang_2010_donations.csv``) and the published
  maximum-likelihood estimates alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783.
* Everything else is checked against slow, obvious computations written here: the
  probability of every activity sequence of length <= 5 by the forward recursion of the
  alive/dead chain, integrated over Beta(alpha, beta) x Beta(gamma, delta) by
  Gauss-Jacobi quadrature (exact: the integrands are polynomials in p and theta), and a
  user-by-user, period-by-period simulation of the "alive x active" process.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special

from analysis import config
from analysis.models import bgbb
from analysis.models._estimator import NotFittedError
from analysis.models.bgbb import BetaGeometricBetaBinomial

DONATIONS = config.REFERENCE_DIR / "fader_hardie_shang_2010_donations.csv"
PARAMS = (1.3, 0.7, 0.6, 2.5)  # alpha, beta, gamma, delta for the exact checks


# ----------------------------------------------------------------- slow references


def _beta_nodes(a: float, b: float, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with sum(w * f(nodes)) = E[f(p)], p ~ Beta(a, b) (exact for
    polynomials of degree <= 2k - 1)."""
    x, w = special.roots_jacobi(k, b - 1.0, a - 1.0)  # weight (1 - x)^(b-1) (1 + x)^(a-1)
    return (1.0 + x) / 2.0, w / w.sum()


def _forward(seq: tuple[int, ...], p: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """P(activity sequence seq, alive in its last period | p, theta) and P(seq | p, theta).

    The chain: alive in period 0; at the start of each period a living user dies with
    probability theta; a living user is active with probability p; the dead are inactive.
    """
    alive = np.ones_like(p)  # P(history so far, alive now)
    dead = np.zeros_like(p)  # P(history so far, dead now)
    for y in seq:
        still = alive * (1 - theta)
        died = alive * theta
        alive = still * (p if y else 1 - p)
        dead = (dead + died) * (0.0 if y else 1.0)
    return alive, alive + dead


def _summary(seq: tuple[int, ...]) -> tuple[int, int, int]:
    active = [t + 1 for t, y in enumerate(seq) if y]
    return len(active), (active[-1] if active else 0), len(seq)


def _quadrature(params=PARAMS):
    a, b, g, d = params
    pn, pw = _beta_nodes(a, b)
    tn, tw = _beta_nodes(g, d)
    p, theta = np.meshgrid(pn, tn, indexing="ij")
    weight = np.outer(pw, tw)
    return p, theta, weight


def _simulate(n_users, n_periods, params, seed):
    """Slow, obvious simulator: one user at a time, one period at a time.

    Returns (frequency, recency, n_periods) per user; ``n_periods`` may be an array (users
    of different ages).
    """
    a, b, g, d = params
    rng = np.random.default_rng(seed)
    ages = np.broadcast_to(np.asarray(n_periods), (n_users,))
    out = np.zeros((n_users, 3), dtype=np.int64)
    for i in range(n_users):
        p, theta = rng.beta(a, b), rng.beta(g, d)
        alive, x, tx = True, 0, 0
        for t in range(1, int(ages[i]) + 1):
            if alive and rng.random() < theta:
                alive = False
            if alive and rng.random() < p:
                x, tx = x + 1, t
        out[i] = (x, tx, ages[i])
    return out


def _patterns(users: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(users, columns=["frequency", "recency", "n_periods"])
    return df.value_counts().rename("weights").reset_index()


# ----------------------------------------------------------------- reference case


def test_bgbb_matches_fader_hardie_shang_2010_donations():
    # Fader, Hardie & Shang (2010), Marketing Science 29(6): the donations data and the
    # published maximum-likelihood estimates (section 3, "Model Estimation").
    d = pd.read_csv(DONATIONS)
    assert d["weights"].sum() == 11104
    m = BetaGeometricBetaBinomial().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    assert m.params_.round(3).to_dict() == published
    # The maximised log-likelihood the paper reports: -33,225.6.
    assert m.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)
    s = m.summary()
    assert list(s.columns) == ["coef", "se", "lower", "upper"]
    assert (s["lower"] < s["coef"]).all() and (s["coef"] < s["upper"]).all()
    assert (s["se"] > 0).all() and (s["se"] < 0.5).all()
    # The model reproduces the calibration histogram of repeat donations (the paper's
    # Figure 3 fits closely): within 3 % of the cohort in every cell.
    expected = m.frequency_distribution(6) * d["weights"].sum()
    observed = d.groupby("frequency")["weights"].sum()
    assert np.max(np.abs(expected - observed)) < 0.03 * 11104


def test_summary_level_and_intervals_on_the_log_scale():
    d = pd.read_csv(DONATIONS)
    m = BetaGeometricBetaBinomial().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    s80, s95 = m.summary(0.8), m.summary(0.95)
    assert (s80["upper"] < s95["upper"]).all() and (s80["lower"] > s95["lower"]).all()
    # Wald on log(param) mapped back: the geometric mean of the bounds is the estimate.
    assert np.allclose(np.sqrt(s95["lower"] * s95["upper"]), s95["coef"])
    with pytest.raises(ValueError, match="level"):
        m.summary(95)
    assert m.aic_ == pytest.approx(8 - 2 * m.log_likelihood_)
    assert m.n_obs_ == 11104 and m.n_patterns_ == 22
    draws = m.sample_params(4000, random_state=1)
    assert list(draws.columns) == ["alpha", "beta", "gamma", "delta"]
    assert np.allclose(np.log(draws).std(), np.sqrt(np.diag(m._cov_u)), rtol=0.05)


# ----------------------------------------------------------------- exact checks


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_likelihood_matches_enumeration_of_sequences(n):
    p, theta, weight = _quadrature()
    seqs = list(itertools.product([0, 1], repeat=n))
    brute = np.array([np.sum(weight * _forward(s, p, theta)[1]) for s in seqs])
    x, tx, nn = np.array([_summary(s) for s in seqs]).T
    ll = bgbb.bgbb_log_likelihood(*PARAMS, x, tx, nn)
    assert np.allclose(np.exp(ll), brute, rtol=1e-10, atol=0)
    assert np.sum(np.exp(ll)) == pytest.approx(1.0, abs=1e-12)  # a distribution over sequences
    # Frequency distribution, eq. (7): sum over the sequences with x active periods.
    freq = np.bincount(x, weights=brute, minlength=n + 1)
    assert np.allclose(bgbb.bgbb_frequency_distribution(*PARAMS, n), freq, rtol=1e-10)


@pytest.mark.parametrize("ahead", [0, 1, 4])
def test_probability_alive_and_expected_transactions_match_enumeration(ahead):
    p, theta, weight = _quadrature()
    for s in itertools.product([0, 1], repeat=4):
        joint_alive, total = _forward(s, p, theta)
        den = np.sum(weight * total)
        x, tx, n = _summary(s)
        alive = np.sum(weight * joint_alive * (1 - theta) ** ahead) / den
        exp_tx = sum(
            np.sum(weight * joint_alive * (1 - theta) ** t * p) for t in range(1, ahead + 1)
        )
        assert bgbb.bgbb_probability_alive(*PARAMS, x, tx, n, ahead) == pytest.approx(
            alive, rel=1e-10
        )
        assert bgbb.bgbb_conditional_expected_transactions(
            *PARAMS, ahead, x, tx, n
        ) == pytest.approx(exp_tx / den, rel=1e-10, abs=1e-15)


def _forward_alive_at(seq: tuple[int, ...], t: int, p: np.ndarray, theta: np.ndarray):
    """P(activity sequence seq and alive in period t | p, theta), t <= len(seq)."""
    alive = np.ones_like(p)
    dead_after = np.zeros_like(p)  # died after period t: was alive in t
    dead_before = np.zeros_like(p)
    for k, y in enumerate(seq, start=1):
        died = alive * theta
        alive = alive * (1 - theta)
        if k <= t:
            dead_before = dead_before + died
        else:
            dead_after = dead_after + died
        alive = alive * (p if y else 1 - p)
        dead_after, dead_before = (dead_after * (0.0 if y else 1.0),
                                   dead_before * (0.0 if y else 1.0))
    return alive + dead_after


def test_probability_alive_at_any_period_matches_enumeration():
    """Within the window, P(alive in t | x, t_x, n) by the alive/dead chain, integrated
    exactly; beyond it, eq. (11)."""
    p, theta, weight = _quadrature()
    for s in itertools.product([0, 1], repeat=5):
        x, tx, n = _summary(s)
        den = np.sum(weight * _forward(s, p, theta)[1])
        for t in range(0, n + 1):
            want = np.sum(weight * _forward_alive_at(s, t, p, theta)) / den
            got = bgbb.bgbb_probability_alive_at(*PARAMS, x, tx, n, t)
            assert got == pytest.approx(want, rel=1e-10), (s, t)
        for m in (1, 3):
            assert bgbb.bgbb_probability_alive_at(*PARAMS, x, tx, n, n + m) == pytest.approx(
                bgbb.bgbb_probability_alive(*PARAMS, x, tx, n, m), rel=1e-12)
    # vectorised over users and periods at once
    got = bgbb.bgbb_probability_alive_at(*PARAMS, [0, 2, 2], [0, 3, 5], [5, 5, 5], [2, 4, 7])
    want = [bgbb.bgbb_probability_alive_at(*PARAMS, a, b, 5, t)
            for a, b, t in [(0, 0, 2), (2, 3, 4), (2, 5, 7)]]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # several periods per pattern (a trailing axis): the same values
    grid = bgbb.bgbb_probability_alive_at(*PARAMS, [0, 2], [0, 3], [5, 5], [[1, 6], [4, 9]])
    np.testing.assert_allclose(grid, [[bgbb.bgbb_probability_alive_at(*PARAMS, 0, 0, 5, t)
                                       for t in (1, 6)],
                                      [bgbb.bgbb_probability_alive_at(*PARAMS, 2, 3, 5, t)
                                       for t in (4, 9)]], rtol=1e-12)


def test_probability_active_between_matches_enumeration():
    """P(some activity in periods a..A) of a new user: the sum of P(sequence) over the
    sequences of length A that are not all zero in a..A."""
    p, theta, weight = _quadrature()
    for last in range(1, 6):
        for first in range(1, last + 1):
            none = sum(np.sum(weight * _forward(s, p, theta)[1])
                       for s in itertools.product([0, 1], repeat=last)
                       if not any(s[first - 1:last]))
            assert bgbb.bgbb_probability_active_between(*PARAMS, first, last) == pytest.approx(
                1 - none, rel=1e-10)
        assert bgbb.bgbb_probability_active_between(*PARAMS, last, last) == pytest.approx(
            bgbb.bgbb_expected_active(*PARAMS, last), rel=1e-12)
    assert bgbb.bgbb_probability_active_between(*PARAMS, 0, 4) == 1.0
    with pytest.raises(ValueError, match="last must be >= first"):
        bgbb.bgbb_probability_active_between(*PARAMS, 3, 2)


def test_unconditional_quantities_match_quadrature():
    a, b, g, d = PARAMS
    p, theta, weight = _quadrature()
    t = np.arange(0, 30)
    active = [1.0] + [np.sum(weight * p * (1 - theta) ** k) for k in t[1:]]
    assert np.allclose(bgbb.bgbb_expected_active(*PARAMS, t), active, rtol=1e-10)
    alive = [np.sum(weight * (1 - theta) ** k) for k in t]
    assert np.allclose(bgbb.bgbb_survival(g, d, t), alive, rtol=1e-10)
    cum = np.cumsum(active) - 1.0  # periods 1..n
    assert np.allclose(bgbb.bgbb_unconditional_expected_transactions(*PARAMS, t), cum, rtol=1e-10)


def test_closed_forms_of_the_paper_agree_with_the_sums():
    # Eq. (8) and eq. (13) as printed (with delta / (gamma - 1)), away from gamma = 1.
    a, b, g, d = PARAMS
    n = np.arange(1, 40)
    eq8 = a / (a + b) * d / (g - 1) * (
        1 - np.exp(special.gammaln(g + d) - special.gammaln(g + d + n)
                   + special.gammaln(1 + d + n) - special.gammaln(1 + d))
    )  # fmt: skip
    assert np.allclose(bgbb.bgbb_unconditional_expected_transactions(*PARAMS, n), eq8, rtol=1e-10)
    x, tx, nn, ahead = 3, 5, 6, 5
    ll = bgbb.bgbb_log_likelihood(*PARAMS, x, tx, nn)
    eq13 = (
        np.exp(special.betaln(a + x + 1, b + nn - x) - special.betaln(a, b) - ll)
        * d / (g - 1) * np.exp(special.gammaln(g + d) - special.gammaln(1 + d))
        * (np.exp(special.gammaln(1 + d + nn) - special.gammaln(g + d + nn))
           - np.exp(special.gammaln(1 + d + nn + ahead) - special.gammaln(g + d + nn + ahead)))
    )  # fmt: skip
    got = bgbb.bgbb_conditional_expected_transactions(*PARAMS, ahead, x, tx, nn)
    assert got == pytest.approx(eq13, rel=1e-10)
    # At gamma = 1 the printed forms are 0/0; the sums are finite and continuous there.
    near = [bgbb.bgbb_conditional_expected_transactions(a, b, 1 + e, d, ahead, x, tx, nn)
            for e in (-1e-7, 0.0, 1e-7)]  # fmt: skip
    assert np.all(np.isfinite(near)) and np.ptp(near) < 1e-6


def test_long_histories_stay_finite():
    # 3 years of days: every pattern's likelihood and predictions are finite and sane.
    x, tx, n = np.array([0, 1, 500, 1000]), np.array([0, 1000, 900, 1000]), np.full(4, 1000)
    ll = bgbb.bgbb_log_likelihood(0.3, 0.2, 0.05, 0.4, x, tx, n)
    assert np.all(np.isfinite(ll)) and np.all(ll < 0)
    pa = bgbb.bgbb_probability_alive(0.3, 0.2, 0.05, 0.4, x, tx, n)
    assert np.all((pa > 0) & (pa <= 1))
    assert pa[1] > 0.9  # active on the last day: almost surely alive
    assert pa[2] < 1e-6  # 100 silent days after 500 active ones: gone


def test_predictions_match_simulation():
    # The slow simulator, 20,000 users over 12 periods: in-sample frequency histogram,
    # P(active in period t) and the holdout transactions of the users with a given
    # history agree with the model at the true parameters within Monte Carlo error.
    params = (1.0, 1.5, 0.5, 3.0)
    users = _simulate(20000, 12, params, seed=11)
    hist = np.bincount(users[:, 0], minlength=13) / len(users)
    model = bgbb.bgbb_frequency_distribution(*params, 12)
    se = np.sqrt(model * (1 - model) / len(users))
    assert np.all(np.abs(hist - model) < 4 * se + 1e-12)
    # expected_active: simulate with the period-by-period record kept.
    rng = np.random.default_rng(5)
    a, b, g, d = params
    active = np.zeros(13)
    n_sim = 20000
    for _ in range(n_sim):
        p, theta, alive = rng.beta(a, b), rng.beta(g, d), True
        active[0] += 1
        for t in range(1, 13):
            alive = alive and rng.random() >= theta
            active[t] += alive and rng.random() < p
    share = active / n_sim
    model = bgbb.bgbb_expected_active(*params, np.arange(13))
    se = np.sqrt(model * (1 - model) / n_sim)
    assert np.all(np.abs(share - model) <= 4 * se + 1e-12)


def test_conditional_expectation_matches_simulated_holdout():
    params = (1.0, 1.5, 0.5, 3.0)
    a, b, g, d = params
    rng = np.random.default_rng(21)
    rows = []
    for _ in range(30000):
        p, theta, alive = rng.beta(a, b), rng.beta(g, d), True
        seq = []
        for _t in range(1, 11):  # 6 calibration + 4 holdout periods
            alive = alive and rng.random() >= theta
            seq.append(int(alive and rng.random() < p))
        x, tx, n = _summary(tuple(seq[:6]))
        rows.append((x, tx, n, sum(seq[6:])))
    df = pd.DataFrame(rows, columns=["x", "tx", "n", "future"])
    g_ = df.groupby(["x", "tx", "n"])["future"].agg(["mean", "std", "size"]).reset_index()
    g_ = g_[g_["size"] >= 200]
    pred = bgbb.bgbb_conditional_expected_transactions(*params, 4, g_["x"], g_["tx"], g_["n"])
    z = (g_["mean"] - pred) / (g_["std"] / np.sqrt(g_["size"]))
    assert len(g_) >= 10 and np.all(np.abs(z) < 4)


# ----------------------------------------------------------------- parameter recovery


def test_parameter_recovery_large_sample():
    # 40,000 simulated users of cohorts aged 4..15 periods; the 99 % intervals cover the
    # truth (99 % rather than 95 % so that one fixed seed tests four parameters without
    # a ~19 % chance of a false alarm) and the estimates are within 10 %.
    truth = {"alpha": 1.2, "beta": 0.8, "gamma": 0.4, "delta": 4.0}
    ages = np.random.default_rng(3).integers(4, 16, 40000)
    users = _simulate(40000, ages, tuple(truth.values()), seed=2024)
    pat = _patterns(users)
    m = BetaGeometricBetaBinomial().fit(pat.frequency, pat.recency, pat.n_periods, pat.weights)
    s = m.summary(0.99)
    t = pd.Series(truth)
    assert ((s["lower"] <= t) & (t <= s["upper"])).all(), s
    assert np.all(np.abs(s["coef"] / t - 1) < 0.10)
    # Pooling users into patterns changes nothing: a per-user fit gives the same answer.
    per_user = BetaGeometricBetaBinomial().fit(users[:, 0], users[:, 1], users[:, 2])
    assert np.allclose(per_user.params_, m.params_, rtol=1e-4)
    assert per_user.log_likelihood_ == pytest.approx(m.log_likelihood_, rel=1e-10)


def test_interval_coverage_over_replications():
    # 40 replications of 1,500 users (10 periods): the 95 % intervals cover each true
    # parameter in at least 33 of 40 (P(<= 32 | coverage 0.95) ~ 0.001).
    truth = np.array([0.9, 1.1, 0.7, 2.0])
    hits = np.zeros(4)
    for r in range(40):
        pat = _patterns(_simulate(1500, 10, tuple(truth), seed=[7, r]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bgbb.BGBBFitWarning)
            m = BetaGeometricBetaBinomial().fit(
                pat.frequency, pat.recency, pat.n_periods, pat.weights
            )
        s = m.summary(0.95)
        hits += (s["lower"].to_numpy() <= truth) & (truth <= s["upper"].to_numpy())
    assert np.all(hits >= 33), hits


# ----------------------------------------------------------------- protocol and checks


def test_not_fitted_and_estimator_protocol():
    m = BetaGeometricBetaBinomial(max_iter=200)
    for call in (
        lambda: m.summary(),
        lambda: m.probability_alive(1, 1, 2),
        lambda: m.expected_transactions(3, 1, 1, 2),
        lambda: m.expected_active(3),
        lambda: m.frequency_distribution(3),
        lambda: m.sample_params(10),
    ):
        with pytest.raises(NotFittedError):
            call()
    assert not hasattr(m, "params_")  # estimated values exist only after fit
    assert m.get_params() == {"init": None, "max_iter": 200}
    assert repr(m) == "BetaGeometricBetaBinomial(max_iter=200)"
    d = pd.read_csv(DONATIONS)
    m.fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    c = m.clone()
    assert c.get_params() == m.get_params() and not hasattr(c, "params_")
    assert c.set_params(init=dict(m.params_)) is c
    c.fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    assert np.allclose(c.params_, m.params_, rtol=1e-5)
    with pytest.raises(ValueError, match="invalid parameter"):
        m.set_params(bogus=1)
    # A second fit forgets the first.
    pat = _patterns(_simulate(2000, 8, PARAMS, seed=1))
    m.fit(pat.frequency, pat.recency, pat.n_periods, pat.weights)
    assert m.n_patterns_ == len(pat) and m.n_obs_ == 2000


def test_predictive_methods_wrap_the_pure_functions():
    d = pd.read_csv(DONATIONS)
    m = BetaGeometricBetaBinomial().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    p = tuple(m.params_)
    x, tx, n = d["frequency"], d["recency"], d["periods"]
    assert np.allclose(m.probability_alive(x, tx, n, ahead=2),
                       bgbb.bgbb_probability_alive(*p, x, tx, n, 2))  # fmt: skip
    assert np.allclose(m.expected_transactions(5, x, tx, n),
                       bgbb.bgbb_conditional_expected_transactions(*p, 5, x, tx, n))  # fmt: skip
    assert m.expected_active(0) == 1.0 and isinstance(m.expected_active(3), float)
    assert m.expected_active([1, 2]).shape == (2,)
    fd = m.frequency_distribution(6)
    assert fd.index.name == "frequency" and fd.sum() == pytest.approx(1.0)
    assert np.allclose(m.survival([0, 5]), bgbb.bgbb_survival(p[2], p[3], [0, 5]))
    # The more recent the last donation, the likelier alive (Fader et al. 2010, Table 3).
    alive = m.probability_alive([3, 3, 3, 3], [3, 4, 5, 6], 6)
    assert np.all(np.diff(alive) > 0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1], [0], [3]), "frequency must not exceed recency"),
        (([2], [1], [3]), "frequency must not exceed recency"),
        (([1], [4], [3]), "recency must not exceed n_periods"),
        (([0], [2], [3]), "frequency is 0 exactly when recency is 0"),
        (([-1], [0], [3]), "frequency must hold non-negative whole numbers"),
        (([1.5], [2], [3]), "frequency must hold non-negative"),
        (([1], [2], [np.nan]), "n_periods must hold"),
        (([1, 2], [2, 2, 3], [3]), "same length"),
    ],
)
def test_input_checks_name_the_argument(args, match):
    with pytest.raises(ValueError, match=match):
        BetaGeometricBetaBinomial().fit(*args)
    with pytest.raises(ValueError, match=match):
        bgbb.bgbb_log_likelihood(*PARAMS, *args)


def test_weight_and_parameter_checks():
    with pytest.raises(ValueError, match="weights must be positive"):
        BetaGeometricBetaBinomial().fit([0, 1], [0, 1], [2, 2], [1, 0])
    with pytest.raises(ValueError, match="one value per pattern"):
        BetaGeometricBetaBinomial().fit([0, 1], [0, 1], [2, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="gamma must be positive"):
        bgbb.bgbb_expected_active(1, 1, -1, 1, 3)
    with pytest.raises(ValueError, match="ahead must hold"):
        bgbb.bgbb_probability_alive(*PARAMS, 1, 1, 2, ahead=-1)
    with pytest.raises(ValueError, match="t must hold"):
        bgbb.bgbb_expected_active(*PARAMS, 0.5)
    with pytest.raises(ValueError, match="init must give"):
        BetaGeometricBetaBinomial(init={"alpha": 1}).fit([0, 1], [0, 1], [2, 2])
    with pytest.raises(ValueError, match="n_periods == 0"):
        BetaGeometricBetaBinomial().fit([0], [0], [0])


def test_degenerate_data_warn_and_still_predict():
    # Every user active in every period: p -> 1 and theta -> 0, so the estimates run to
    # infinity (no interior optimum); the fit warns, and its predictions are still right.
    with pytest.warns(bgbb.BGBBFitWarning, match="edge|stationary point"):
        m = BetaGeometricBetaBinomial().fit([5], [5], [5], [1000])
    assert m.probability_alive(5, 5, 5) == pytest.approx(1.0, abs=1e-3)
    assert m.expected_active(3) == pytest.approx(1.0, abs=1e-2)

"""Tests of :mod:`analysis.simulation.merchants` (SIMULATED merchant adoption of the cross-border
programme).

* ``calibration`` -- the fitted parameters reproduce the published figures they are
  calibrated to, checked against independent computations (closed form, Monte Carlo).
* ``recovery`` -- parameter recovery: :class:`analysis.models.adoption.BassDiffusion` (and the
  Generalized Bass model) fitted to the simulated series recover the simulation's true
  coefficients.
* determinism, labels (every simulated frame says so) and input validation.

The fitting, comparison, scenario and report helpers of notebook 03 are tested in
``tests/notebooks/test_merchant_adoption.py``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from analysis.data.sources import load_published_metrics
from analysis.models import adoption
from analysis.simulation import merchants as M

SEED = 20250301  # the programme's invitations began in early March 2025


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    return load_published_metrics()


@pytest.fixture(scope="module")
def cal(metrics) -> M.Calibration:
    return M.calibrate(metrics)


@pytest.fixture(scope="module")
def sim(cal) -> M.MerchantSimulation:
    return M.simulate_merchants(cal, SEED)


@pytest.fixture(scope="module")
def weekly(sim) -> pd.DataFrame:
    return M.adoption_series(sim, "week")


def _row(metrics, entity, metric):
    rows = metrics[(metrics["entity"] == entity) & (metrics["metric"] == metric)]
    assert len(rows) == 1
    return rows.iloc[0]


# ---------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------


def test_calibration_targets_are_the_published_rows(cal, metrics):
    """Targets are selected by entity and metric, with the published values."""
    t = cal.targets
    assert t["merchant_growth"].id == _row(metrics, "RedNote", "merchant_count_growth")["id"]
    assert t["merchant_growth"].value == 8.1
    assert t["opt_in_share"].value == 20 and t["opt_in_share"].qualifier == "approximate"
    assert t["success_share"].value == 25 and t["success_share"].qualifier == "at_most"
    assert cal.dates["launch"] == pd.Timestamp("2025-03-01")
    assert cal.dates["ad_peak"] == pd.Timestamp("2025-01-22")
    assert cal.dates["ad_nearly_stopped"] == pd.Timestamp("2025-02-20")


def test_calibration_hits_published_targets_exactly(cal):
    """Model-implied values equal the targets to CALIBRATION_TOLERANCE (relative)."""
    for name in ("merchant_growth", "opt_in_share", "success_share"):
        assert cal.expected[name] == pytest.approx(cal.targets[name].value,
                                                   rel=M.CALIBRATION_TOLERANCE)


def test_calibration_independent_check(cal):
    """Growth by closed form; funnel shares by Monte Carlo (2 M draws, +-0.1 point)."""
    assert cal.months_2024 == 12
    assert cal.monthly_growth == pytest.approx(8.1 ** (1 / 12) - 1, rel=1e-10)
    assert cal.opt_in_threshold == pytest.approx(stats.norm.isf(0.20), abs=1e-8)
    z = np.random.default_rng(0).standard_normal(2_000_000)
    sel = z > cal.opt_in_threshold
    slope = cal.assumptions.readiness_success_slope
    success = special.expit(cal.success_intercept + slope * z[sel]).mean()
    assert 100 * sel.mean() == pytest.approx(20.0, abs=0.1)
    assert 100 * success == pytest.approx(25.0, abs=0.1)


def test_simulated_run_matches_targets_within_sampling_tolerance(sim):
    """The realised run: 2024 growth within 2 %, funnel shares within 3 binomial SE."""
    growth = sim.base["multiple"].iloc[-1]
    assert growth == pytest.approx(8.1, rel=0.02)
    f = M.funnel_table(sim).set_index("market").loc["all"]
    se_opt = 100 * math.sqrt(0.2 * 0.8 / f["invited"])
    se_succ = 100 * math.sqrt(0.25 * 0.75 / f["eventual_opt_ins"])
    assert abs(f["opt_in_percent"] - 20) < 3 * se_opt
    assert abs(f["success_percent"] - 25) < 3 * se_succ


def test_calibration_refuses_impossible_targets(metrics):
    bad = metrics.copy()
    bad.loc[bad["metric"] == "merchant_success_rate", "value"] = 0.0
    with pytest.raises(ValueError, match="success_share"):
        M.calibrate(bad)
    bad = metrics.copy()
    bad.loc[(bad["entity"] == "RedNote") & (bad["metric"] == "merchant_count_growth"),
            "value"] = 0.5
    with pytest.raises(ValueError, match="exceed 1"):
        M.calibrate(bad)


# ---------------------------------------------------------------------------------------
# Simulation: determinism, structure, labels
# ---------------------------------------------------------------------------------------


def test_deterministic_for_a_seed(cal, sim, weekly):
    again = M.simulate_merchants(cal, SEED)
    pd.testing.assert_frame_equal(again.merchants, sim.merchants)
    pd.testing.assert_frame_equal(again.base, sim.base)
    pd.testing.assert_frame_equal(M.adoption_series(again, "week"), weekly)
    other = M.simulate_merchants(cal, SEED + 1)
    assert not other.merchants["readiness"].equals(sim.merchants["readiness"])


def test_series_add_up(sim, weekly):
    by_market = weekly[weekly["market"] != "all"].groupby("period")[
        ["opt_ins", "first_orders"]].sum()
    total = weekly[weekly["market"] == "all"].set_index("period")[["opt_ins", "first_orders"]]
    pd.testing.assert_frame_equal(by_market, total)
    assert weekly["period"].max() == 52 and M.adoption_series(sim, "month")["period"].max() == 12
    for _, g in weekly.groupby("market"):
        assert (g["cum_first_orders"] <= g["cum_opt_ins"]).all()
    m = sim.merchants
    assert m.loc[m["opt_in_day"].notna(), "opts_in"].all()
    assert not m.loc[~m["opts_in"], "succeeds"].any()
    # months aggregate the same opt-ins (52 weeks = 364 days < 12 months = 365.25 days)
    monthly = M.adoption_series(sim, "month")
    assert (monthly.groupby("market")["opt_ins"].sum()
            >= weekly.groupby("market")["opt_ins"].sum()).all()


def test_ad_index_follows_the_published_dates(cal, sim):
    days = M.campaign_days(cal)
    assert days == {"ramp": 9, "decay": 29}  # 13 -> 22 Jan (assumed start); 22 Jan -> 20 Feb
    e = sim.effort.set_index("day")
    assert e.loc[days["ramp"], "ads_stop_ads"] == pytest.approx(1.0)
    assert e.loc[days["ramp"] + days["decay"], "ads_stop_ads"] == pytest.approx(
        cal.assumptions.nearly_stopped_level)
    assert (e.loc[days["ramp"]:, "ads_continue"] == 1).all()
    assert e["ads_stop_ads"].max() == pytest.approx(1.0)


def test_counterfactual_moves_the_same_merchants(sim):
    """Continuing the ads speeds every merchant's clock: nobody opts in later."""
    stop, cont = sim.opt_in_days("stop_ads"), sim.opt_in_days("continue")
    both = np.isfinite(stop) & np.isfinite(cont)
    assert (cont[both] <= stop[both] + 1e-9).all()
    assert np.isfinite(cont).sum() >= np.isfinite(stop).sum()
    assert np.array_equal(np.isfinite(cont) | np.isfinite(stop), sim.merchants["opts_in"])


def test_every_simulated_output_is_labelled(cal, sim, weekly):
    frames = {
        "base": sim.base, "merchants": sim.merchants, "effort": sim.effort,
        "series": weekly, "truth": M.true_parameters(sim, "week"),
        "funnel": M.funnel_table(sim),
        "counterfactual": M.adoption_series(sim, "month", "continue"),
    }
    for name, frame in frames.items():
        assert frame.attrs.get("simulated") is True, name
        assert frame["simulated"].astype(bool).all(), name
    assert "SIMULATED" in M.__doc__
    marked = M.mark_simulated(pd.DataFrame({"x": [1, 2]}))
    assert marked.attrs["simulated"] is True and marked["simulated"].all()


def test_select_market_returns_one_market_in_period_order(weekly):
    shuffled = weekly.sample(frac=1, random_state=0)
    hk = M.select_market(shuffled, "HK")
    assert set(hk["market"]) == {"HK"}
    assert hk["period"].tolist() == list(range(1, 53))
    with pytest.raises(ValueError, match="market must be one of"):
        M.select_market(weekly, "CN")
    with pytest.raises(ValueError, match="no series for market 'MO'"):
        M.select_market(weekly[weekly["market"] != "MO"], "MO")


def test_months_between_counts_both_days():
    """2024 is a leap year: 366 days of 365.25/12."""
    assert M.months_between("2024-01-01", "2024-12-31") == pytest.approx(366 / (365.25 / 12))
    assert M.months_between("2024-01-01", "2024-01-01") == pytest.approx(12 / 365.25)


# ---------------------------------------------------------------------------------------
# Parameter recovery
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_no_ads(metrics):
    """Five times the default pools, ads switched off: opt-ins are exactly Bass."""
    c = M.calibrate(metrics, M.with_assumptions(ad_beta=0.0, base_start=100_000))
    return M.simulate_merchants(c, SEED)


@pytest.mark.parametrize("unit", ["week", "month"])
def test_parameter_recovery_bass(large_no_ads, unit):
    """BassDiffusion (NLS) on the simulated series recovers the true p, q and m: the truth
    lies in the 99 % Wald interval, and p within 20 %, q within 10 %, m within 3 %."""
    series = M.adoption_series(large_no_ads, unit)
    truth = M.true_parameters(large_no_ads, unit).set_index("market")
    for k in M.MARKETS:
        y = series[series["market"] == k]["opt_ins"].to_numpy(float)
        fit = adoption.BassDiffusion(method="nls").fit(y)
        ci = fit.summary(level=0.99)
        for name, rel in (("p", 0.20), ("q", 0.10), ("m", 0.03)):
            true = truth.loc[k, name]
            assert ci.loc[name, "lower"] <= true <= ci.loc[name, "upper"], (k, name)
            assert fit.params_[name] == pytest.approx(true, rel=rel), (k, name)


def test_parameter_recovery_generalized_bass(metrics):
    """With the ad effect on, the GBM given the ad index recovers p, q and beta (the
    truth in its 99 % Wald interval, p and q within 25 %)."""
    c = M.calibrate(metrics, M.with_assumptions(base_start=100_000))
    s = M.simulate_merchants(c, SEED)
    series = M.adoption_series(s, "week")
    truth = M.true_parameters(s, "week").set_index("market")
    y = series[series["market"] == "US"]["opt_ins"].to_numpy(float)
    e = series[series["market"] == "US"]["effort"].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = adoption.GeneralizedBass(baseline=0.0).fit(y, e)
    ci = fit.summary(level=0.99)
    for name in ("p", "q", "beta"):
        true = c.assumptions.ad_beta if name == "beta" else truth.loc["US", name]
        assert ci.loc[name, "lower"] <= true <= ci.loc[name, "upper"], name
    assert fit.params_["p"] == pytest.approx(truth.loc["US", "p"], rel=0.25)
    assert fit.params_["q"] == pytest.approx(truth.loc["US", "q"], rel=0.25)


def test_true_peak_matches_bass_formula_without_ads(large_no_ads):
    truth = M.true_parameters(large_no_ads, "week").set_index("market")
    for k in M.MARKETS:
        p, q = truth.loc[k, "p"], truth.loc[k, "q"]
        assert truth.loc[k, "peak_period"] == pytest.approx(math.log(q / p) / (p + q))


# ---------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [
    {"base_start": 0}, {"base_start": 10.5}, {"ad_beta": -1.0}, {"ad_beta": float("nan")},
    {"nearly_stopped_level": 0.0}, {"nearly_stopped_level": 1.0},
    {"horizon_days": 30.0}, {"order_lag_mean_days": 0.0}, {"ad_ramp_start": "not a date"},
    {"markets": {"US": M.DEFAULT_MARKETS["US"]}},
    {"markets": {k: M.MarketAssumptions(0.5, 0.01, 0.1) for k in M.MARKETS}},
])
def test_bad_assumptions_raise_value_error(changes):
    with pytest.raises(ValueError):
        M.with_assumptions(**changes)


@pytest.mark.parametrize("args", [(0.0, 0.01, 0.1), (0.1, 0.0, 0.1), (0.1, 0.01, -0.1),
                                  (1.5, 0.01, 0.1), (0.1, float("inf"), 0.1)])
def test_bad_market_assumptions_raise_value_error(args):
    with pytest.raises(ValueError):
        M.MarketAssumptions(*args)


def test_bad_arguments_raise_value_error(cal, sim, weekly):
    with pytest.raises(ValueError, match="seed"):
        M.simulate_merchants(cal, -1)
    with pytest.raises(ValueError, match="seed"):
        M.simulate_merchants(cal, 1.5)
    with pytest.raises(ValueError, match="scenario"):
        M.simulate_merchants(cal, 1, "pause")
    with pytest.raises(ValueError, match="period_unit"):
        M.adoption_series(sim, "day")
    with pytest.raises(ValueError, match="scenario"):
        M.adoption_series(sim, "week", "pause")
    with pytest.raises(ValueError, match="calibrate"):
        M.simulate_merchants("not a calibration", 1)
    with pytest.raises(ValueError, match="scenario"):
        sim.opt_in_days("pause")

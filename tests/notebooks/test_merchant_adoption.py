"""Tests of :mod:`analysis.notebooks.merchant_adoption` (the helpers of notebook
03_merchant_adoption).

Sources named in the test names:

* ``published`` -- ``data/raw/published_metrics.csv``: RedNote's 8.1x merchant growth
  in 2024, TikTok Shop US's 3x-5x (April - 6 December 2024).
* ``simulation`` -- the SIMULATED merchants of :mod:`analysis.simulation.merchants`
  (seed 20250301), whose truth the helpers are judged against.
* ``synthetic`` -- small tables written here by hand, so that every phrase choice of
  the ``*_facts`` functions is reached (several or one market, intervals that contain
  or miss the truth, fits that tie or fail).

The last test reads the notebook itself: its ``txt-*`` cells keep only a sentence
template and ``res.number`` calls, every computation lives in this module.
"""

from __future__ import annotations

import ast
import math
import re

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from analysis import config
from analysis.data.sources import load_published_metrics
from analysis.notebooks import merchant_adoption as ma
from analysis.notebooks.common import SIMULATED_LABEL
from analysis.simulation import merchants as M

matplotlib.use("Agg")

SEED = 20250301  # the programme's invitations began in early March 2025
LAUNCH = pd.Timestamp("2025-03-01")


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


@pytest.fixture(scope="module")
def fits(weekly) -> dict[str, ma.MarketFit]:
    """All three markets, no bootstrap (Wald intervals, no scenario interval)."""
    return ma.fit_markets(weekly, list(M.MARKETS), 0, SEED)


@pytest.fixture(scope="module")
def fits_boot(weekly) -> dict[str, ma.MarketFit]:
    """Hong Kong with a small bootstrap (percentile intervals)."""
    return ma.fit_markets(weekly, ["HK"], 20, SEED)


@pytest.fixture(scope="module")
def estimates(sim, fits) -> pd.DataFrame:
    return ma.estimates_by_market(fits, M.true_parameters(sim, "week"), "week", sim.launch)


# ---------------------------------------------------------------------------------------
# Published-derived growth comparison
# ---------------------------------------------------------------------------------------


def _row(metrics, entity, metric):
    rows = metrics[(metrics["entity"] == entity) & (metrics["metric"] == metric)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_growth_comparison_published_implied_monthly_rates(metrics):
    g = ma.growth_comparison(metrics)
    assert g.attrs["simulated"] is False and "simulated" not in g.columns
    red = g[g["id"] == _row(metrics, "RedNote", "merchant_count_growth")["id"]].iloc[0]
    months = 366 / (365.25 / 12)  # 2024 is a leap year
    assert red["months"] == pytest.approx(months)
    assert red["monthly_growth_percent"] == pytest.approx(100 * (8.1 ** (1 / months) - 1))
    tts = g[g["entity"] == "TikTok Shop"].sort_values("multiple")
    assert tts["multiple"].tolist() == [3.0, 5.0]
    tts_months = (pd.Timestamp("2024-12-06") - pd.Timestamp("2024-04-01")).days + 1
    tts_months /= 365.25 / 12
    assert tts["monthly_growth_percent"].tolist() == pytest.approx(
        [100 * (3 ** (1 / tts_months) - 1), 100 * (5 ** (1 / tts_months) - 1)])
    assert (1 + red["monthly_growth_percent"] / 100) ** red["doubling_months"] == pytest.approx(2)
    assert ma.implied_monthly_growth(2, "2024-01-01", "2024-01-31") == pytest.approx(
        2 ** (365.25 / 12 / 31) - 1)


def test_growth_facts_published_rednote_inside_tiktok_shop_range(metrics, cal):
    """8.1x in 2024 is 19.0 % a month, inside the 14.4-21.6 % a month of TikTok Shop US's
    3x-5x over the 8.2 months from 1 April to 6 December 2024."""
    g = ma.growth_comparison(metrics)
    f = ma.growth_facts(g, cal)
    assert f.multiple == 8.1
    assert f.monthly_growth_percent == pytest.approx(100 * (8.1 ** (1 / (366 / (365.25 / 12)))
                                                            - 1))
    assert f.tts_low_multiple == 3 and f.tts_high_multiple == 5
    assert f.tts_low_percent < f.monthly_growth_percent < f.tts_high_percent
    assert f.position == "inside"
    assert f.monthly_growth == {r.id: (r.monthly_growth_percent, r.series)
                                for r in g.itertuples()}
    assert f.tts_end == pd.Timestamp("2024-12-06")
    assert f.large_sellers.count(" by ") == 2 and " and " in f.large_sellers


@pytest.mark.parametrize("rate, position", [(1.0, "below"), (20.0, "inside"), (99.0, "above")])
def test_growth_facts_synthetic_position_against_the_range(metrics, cal, rate, position):
    g = ma.growth_comparison(metrics)
    g.loc[g["id"] == cal.targets["merchant_growth"].id, "monthly_growth_percent"] = rate
    tts = g["entity"] == "TikTok Shop"
    g.loc[tts, "monthly_growth_percent"] = [10.0, 30.0]
    assert ma.growth_facts(g, cal).position == position


def test_implied_monthly_growth_refuses_bad_input():
    with pytest.raises(ValueError, match="multiple"):
        ma.implied_monthly_growth(-2, "2024-01-01", "2024-12-31")
    with pytest.raises(ValueError, match="multiple"):
        ma.implied_monthly_growth("x", "2024-01-01", "2024-12-31")
    with pytest.raises(ValueError, match="empty"):
        ma.implied_monthly_growth(2, "2024-12-31", "2024-01-01")


# ---------------------------------------------------------------------------------------
# Calibration table and its sentence
# ---------------------------------------------------------------------------------------


def test_calibration_table_and_facts_simulation_match_the_run(cal, sim):
    table = ma.calibration_table(sim)
    assert table.attrs["simulated"] is True
    run = table.set_index("id")["simulated_run"]
    growth = cal.targets["merchant_growth"]
    assert run[growth.id] == sim.base["multiple"].iloc[-1]
    f = ma.calibration_facts(cal, table)
    assert f.monthly_growth_percent == 100 * cal.monthly_growth
    assert f.months == 12 and f.growth is growth
    assert f.run_growth == run[growth.id]
    funnel = M.funnel_table(sim).set_index("market").loc["all"]
    assert f.run_opt_in_percent == funnel["opt_in_percent"]
    assert f.run_success_percent == funnel["success_percent"]
    shown = ma.display_calibration(table)
    assert list(shown.columns) == ["target", "id", "published", "interval", "qualifier",
                                   "calibrated", "simulated run", "parameter", "fitted"]
    by_id = shown.set_index("id")
    # 002: "大约20%的商家" (about 20 %) -> 17.5-22.5; "不到四分之一" (under a quarter) -> <= 25;
    # 004: "8.1倍" (a ratio) -> the figure itself, printed as the source prints it
    assert by_id.loc["PM087", ["published", "interval"]].tolist() == ["20", "17.5–22.5"]
    assert by_id.loc["PM088", "interval"] == "≤ 25"
    assert by_id.loc["PM115", ["published", "interval"]].tolist() == ["8.1", "8.1"]


def test_display_tables_simulation_columns(sim, metrics):
    funnel = ma.display_funnel(M.funnel_table(sim))
    assert "simulated" not in funnel.columns and "opt-in %" in funnel.columns
    growth = ma.display_growth(ma.growth_comparison(metrics))
    assert list(growth.columns) == ["series", "id", "period", "months", "multiple",
                                    "%/month", "doubles in"]
    assert growth["period"].iloc[0] == "01 Jan - 31 Dec 2024"


# ---------------------------------------------------------------------------------------
# Fits, estimates and the p/q and peak sentences
# ---------------------------------------------------------------------------------------


def test_markets_for_and_comparison_markets():
    assert ma.markets_for("all") == ["US", "HK", "MO"]
    assert ma.markets_for("HK") == ["HK"]
    with pytest.raises(ValueError, match="market must be 'all' or one of"):
        ma.markets_for("CN")
    assert ma.comparison_markets(["US", "HK", "MO"]) == ["US", "HK", "MO", "all"]
    assert ma.comparison_markets(["HK"]) == ["HK"]


def test_every_output_of_simulated_data_is_labelled(sim, fits, estimates, weekly):
    comparison = ma.compare_by_market(weekly, ["HK"], 26)
    frames = {
        "calibration": ma.calibration_table(sim), "estimates": estimates,
        "scenario": ma.ad_scenario(sim, fits, "week").summary,
        "paths": ma.ad_scenario(sim, fits, "week").paths,
        "comparison": comparison, "summary": ma.compare_summary(comparison),
    }
    for name, frame in frames.items():
        assert frame.attrs.get("simulated") is True, name
        assert frame["simulated"].astype(bool).all(), name


def test_estimates_simulation_intervals_wald_and_bootstrap(sim, estimates, fits_boot):
    """Without a bootstrap the intervals are Wald ones; with one, percentile ones (and
    a peak interval from the Bass bootstrap)."""
    bass = estimates[estimates["estimator"] == "Bass (NLS)"].set_index("market")
    assert (bass["interval"] == "Wald").all()
    assert (bass["p_lower"] < bass["p"]).all() and (bass["p"] < bass["p_upper"]).all()
    assert bass["peak_lower"].isna().all()
    truth = estimates[estimates["estimator"] == "simulation truth"]
    assert (truth["interval"] == "assumed").all() and truth["p_lower"].isna().all()
    boot = ma.estimates_by_market(fits_boot, M.true_parameters(sim, "week"), "week",
                                  sim.launch).set_index(["market", "estimator"])
    hk = boot.loc[("HK", "Bass (NLS)")]
    assert hk["interval"] == "bootstrap"
    assert hk["peak_lower"] <= hk["peak_period"] <= hk["peak_upper"]
    table = ma.format_estimates(boot.reset_index())
    assert table.columns[2] == "p (95% interval)"
    assert re.fullmatch(r"\d\.\d{3} \(\d\.\d{3} to \d\.\d{3}\)", table.iloc[0, 2])


def test_pq_facts_simulation_matches_the_estimates(estimates):
    f = ma.pq_facts(estimates, list(M.MARKETS))
    bass = estimates[estimates["estimator"] == "Bass (NLS)"].set_index("market")
    assert f.p == {k: bass.loc[k, "p"] for k in M.MARKETS}
    assert f.sfl_ratio == pytest.approx(0.38 / 0.03)
    assert f.n_markets == 3 and f.market_word == "markets"
    assert f.ratios == ", ".join(f"{bass.loc[k, 'q_over_p']:.1f} in {k}" for k in M.MARKETS)
    assert 0 <= f.n_inside_bass <= 3 and 0 <= f.n_inside_gbm <= 3


def _synthetic_estimates(rows: list[dict]) -> pd.DataFrame:
    """Estimates in the layout of estimates_by_market: per market a Bass row (with
    intervals), a GBM row and a truth row; p_year/q_year per year of 52 weeks."""
    out = []
    for r in rows:
        for estimator, p, q, (plo, phi), (qlo, qhi) in (
                ("Bass (NLS)", r["p"], r["q"], r["p_iv"], r["q_iv"]),
                ("Generalized Bass", r["true_p"], r["true_q"], r["gbm_p_iv"], r["gbm_q_iv"]),
                ("simulation truth", r["true_p"], r["true_q"], (np.nan,) * 2, (np.nan,) * 2)):
            out.append({"market": r["market"], "estimator": estimator, "m": 100.0, "p": p,
                        "p_lower": plo, "p_upper": phi, "q": q, "q_lower": qlo,
                        "q_upper": qhi, "q_over_p": q / p, "p_year": 52 * p,
                        "q_year": 52 * q, "peak_period": r.get("peak", 10.0),
                        "peak_lower": r.get("peak_iv", (np.nan,) * 2)[0],
                        "peak_upper": r.get("peak_iv", (np.nan,) * 2)[1],
                        "peak_date": LAUNCH + pd.Timedelta(days=7 * r.get("peak", 10.0)),
                        "interval": "Wald"})
    return pd.DataFrame(out)


def test_pq_facts_synthetic_phrase_choices():
    """US: q/p = 5 (below 12.7), Bass p overstated, truth outside the Bass interval but
    inside the GBM one; HK: q/p = 20 (above), truth inside both."""
    est = _synthetic_estimates([
        {"market": "US", "p": 0.02, "q": 0.10, "p_iv": (0.015, 0.025), "q_iv": (0.08, 0.12),
         "true_p": 0.01, "true_q": 0.10, "gbm_p_iv": (0.005, 0.02), "gbm_q_iv": (0.05, 0.2)},
        {"market": "HK", "p": 0.01, "q": 0.20, "p_iv": (0.005, 0.02), "q_iv": (0.1, 0.3),
         "true_p": 0.01, "true_q": 0.20, "gbm_p_iv": (0.005, 0.02), "gbm_q_iv": (0.1, 0.3)},
    ])
    f = ma.pq_facts(est, ["US", "HK"])
    assert f.versus_meta == "above it in HK; below it in US"
    assert f.n_imitation == 2 and f.n_inside_bass == 1 and f.n_inside_gbm == 2
    assert f.overstated_p.startswith("; in US the plain Bass fit overstates p")
    # annualised p + q over the meta-analysis mean (0.41): 52*0.12/0.41 and 52*0.21/0.41
    assert f.speed == f"{52 * 0.12 / 0.41:.0f}-{52 * 0.21 / 0.41:.0f}"
    one = ma.pq_facts(est, ["HK"])
    assert one.market_word == "market" and one.overstated_p == "."
    assert one.versus_meta == "above it in HK"


def test_peak_facts_synthetic_order_opening_and_bands():
    est = _synthetic_estimates([
        {"market": "US", "p": 0.02, "q": 0.1, "p_iv": (0.01, 0.03), "q_iv": (0.05, 0.2),
         "true_p": 0.01, "true_q": 0.1, "gbm_p_iv": (0.01, 0.03), "gbm_q_iv": (0.05, 0.2),
         "peak": 14.0, "peak_iv": (12.0, 16.5)},
        {"market": "HK", "p": 0.01, "q": 0.2, "p_iv": (0.01, 0.03), "q_iv": (0.05, 0.3),
         "true_p": 0.01, "true_q": 0.2, "gbm_p_iv": (0.01, 0.03), "gbm_q_iv": (0.05, 0.3),
         "peak": 12.0},
    ])
    funnel = pd.DataFrame({"market": ["US", "HK", "all"], "opted_in": [90, 45, 135],
                           "eventual_opt_ins": [100, 50, 150]})
    f = ma.peak_facts(est, funnel, ["US", "HK"], "all", "week", LAUNCH)
    assert f.opening.startswith("The simulated adoption rate peaks first in HK.")
    assert f.peaks.index("HK after 12.0 weeks") < f.peaks.index("US after 14.0 weeks")
    assert "95% interval 12.0-16.5 weeks" in f.peaks and f.peaks.count("interval") == 1
    assert f.done_percent == pytest.approx(90.0) and f.where == "across the markets"
    assert f.bass_peak == {"US": 14.0, "HK": 12.0}
    one = ma.peak_facts(est, funnel, ["US"], "US", "week", LAUNCH)
    assert one.opening == "The Bass fit places the peak of the simulated adoption rate in "
    assert one.where == "in US" and one.done_percent == pytest.approx(90.0)


# ---------------------------------------------------------------------------------------
# The ad scenario
# ---------------------------------------------------------------------------------------


def test_scenario_truth_is_the_simulation_counterfactual_series(sim, fits):
    result = ma.ad_scenario(sim, fits, "week")
    alt = M.adoption_series(sim, "week", "continue")
    s = result.summary.set_index(["market", "at"])
    for k in (*M.MARKETS, "all"):
        period = int(s.loc[(k, "checkpoint"), "period"])
        cum = alt[(alt["market"] == k) & (alt["period"] == period)]["cum_opt_ins"].item()
        assert s.loc[(k, "checkpoint"), f"true_{result.alternative}"] == cum
    assert period == 13  # a quarter after launch, in weeks
    assert s.loc[("all", "checkpoint"), "true_effect"] > 0  # continuing speeds adoption
    assert np.isnan(s["effect_lower"]).all()  # no bootstrap, no interval
    table = ma.format_scenario(result.summary, "week")
    assert list(table.columns) == [*M.MARKETS, "all"]
    assert table.index[0] == "effect by week 13 (31 May 2025), simulated"


def test_scenario_facts_simulation_without_bootstrap(sim, fits):
    result = ma.ad_scenario(sim, fits, "week")
    f = ma.scenario_facts(result, "all")
    row = result.summary.set_index(["market", "at"]).loc[("all", "checkpoint")]
    assert set(f.numbers) == {"scenario_true_effect", "scenario_estimated_effect",
                              "scenario_true_effect_horizon"}
    assert f.numbers["scenario_true_effect"][0] == row["true_effect"]
    assert "(all, continue instead of stop_ads; SIMULATED)" in f.numbers[
        "scenario_true_effect"][1]
    assert f.true_effect == ma.more_or_fewer(row["true_effect"])
    assert f.checkpoint_day == "31 May 2025" and f.period == 13
    assert f.world.startswith("the ads stop within weeks")
    assert f.counterfactual == "Had the ads continued at their peak level"
    assert f.interval == "" and f.verdict == "" and f.reading == "."
    assert f.campaign == ". The campaign lasts a few weeks, "


def _scenario(effects: dict[str, float], observed: str = "stop_ads") -> ma.ScenarioResult:
    alt = "continue" if observed == "stop_ads" else "stop_ads"
    rows = []
    for at, period in (("checkpoint", 13), ("horizon", 52)):
        rows.append({"market": "HK", "at": at, "period": period,
                     "period_end": LAUNCH + pd.Timedelta(days=7 * period),
                     "observed": 200.0, "true_effect": effects["true"],
                     "estimated_effect": effects["estimate"],
                     "effect_lower": effects["lower"], "effect_upper": effects["upper"]})
    return ma.ScenarioResult(observed, alt, pd.DataFrame(), pd.DataFrame(rows), {})


@pytest.mark.parametrize("effects, verdict", [
    ({"true": 50.0, "estimate": 40.0, "lower": 10.0, "upper": 70.0},
     ", an interval that contains the simulated effect"),
    ({"true": 50.0, "estimate": 10.0, "lower": 1.0, "upper": 20.0},
     ", an interval that misses the simulated effect"),
])
def test_scenario_facts_synthetic_interval_verdict(effects, verdict):
    f = ma.scenario_facts(_scenario(effects), "HK")
    assert f.verdict == verdict
    assert f.interval.startswith(" (95% bootstrap interval +")
    assert f.reading == ": read the interval, not the point estimate."
    assert f.share == pytest.approx(25.0) and f.where == "in HK"
    assert len(f.numbers) == 5


def test_scenario_facts_synthetic_no_gbm_and_the_other_world():
    nan = float("nan")
    f = ma.scenario_facts(_scenario({"true": -23.0, "estimate": nan, "lower": nan,
                                     "upper": nan}, observed="continue"), "HK")
    assert f.estimate.startswith("The Generalized Bass model could not be fitted")
    assert f.true_effect == "23 fewer opt-ins"
    assert f.campaign == ". Placements barely change once the campaign has peaked, "
    assert f.world == "the ads continue at their peak level"
    assert set(f.numbers) == {"scenario_true_effect", "scenario_true_effect_horizon"}


# ---------------------------------------------------------------------------------------
# Model comparison
# ---------------------------------------------------------------------------------------


def test_forecast_origins_and_simulation_comparison(weekly):
    assert ma.forecast_origins(52, 4) == [13, 17, 21, 25, 29, 33, 37, 41, 45, 48]
    assert ma.forecast_origins(12, 4) == [6, 8]
    comp = ma.compare_by_market(weekly, ["HK"], 4)
    summary = ma.compare_summary(comp)
    assert set(summary["model"]) == set(ma.MODEL_NAMES)
    assert summary["best"].sum() >= 1
    pivot = ma.compare_pivot(summary)
    assert list(pivot.columns) == ["HK"] and pivot["HK"].str.contains(r"\*\*").any()


def test_comparison_records_no_wall_clock_time(weekly):
    """The comparison is recorded in the results: it must be the same on every run."""
    first = ma.compare_by_market(weekly, ["MO"], 13)
    assert "fit_seconds" not in first.columns
    assert list(first.columns[:3]) == ["market", "origin", "model"]
    pd.testing.assert_frame_equal(first, ma.compare_by_market(weekly, ["MO"], 13))


def _comparison(origins: list[int], rmse: dict[str, list[float]]) -> pd.DataFrame:
    rows = [{"market": "HK", "origin": o, "model": m, "holdout_rmse": v[i]}
            for i, o in enumerate(origins) for m, v in rmse.items()]
    return pd.DataFrame(rows)


def test_compare_facts_synthetic_origins_tie_and_failures():
    nan = float("nan")
    comp = _comparison([6, 10, 14], {"bass_nls": [nan, 2.0, 1.0], "logistic": [nan, 2.0, 1.0],
                                     "gompertz": [3.0, 3.0, 3.0]})
    f = ma.compare_facts(comp, ma.compare_summary(comp), "week")
    assert f.origins == "from 3 forecast origins (weeks 6 to 14), " and f.pooled == "pooled "
    assert f.winners == "Bass (NLS) in HK and logistic in HK"
    assert f.coincide.startswith(" The Bass (NLS) and logistic fits coincide")
    assert f.failures == (" 2 fits out of 9 failed, all at origins up to week 6, when the "
                          "series does not yet identify the model.")
    assert f.best_rmse == {"HK": pytest.approx(math.sqrt(2.5))}
    one = _comparison([8], {"bass_nls": [1.0], "logistic": [2.0], "gompertz": [0.5]})
    g = ma.compare_facts(one, ma.compare_summary(one), "month")
    assert g.origins == "from the end of month 8, " and g.pooled == ""
    assert g.winners == "Gompertz in HK" and g.coincide == "" and g.failures == ""


def test_compare_facts_names_the_pooled_market():
    comp = pd.concat([_comparison([6], {"bass_nls": [1.0], "logistic": [1.0]}),
                      _comparison([6], {"bass_nls": [2.0], "logistic": [3.0]})
                      .assign(market="all")])
    f = ma.compare_facts(comp, ma.compare_summary(comp), "week")
    assert f.winners == "Bass (NLS) in HK and all markets pooled and logistic in HK"


# ---------------------------------------------------------------------------------------
# Sentence helpers, input checks, plots
# ---------------------------------------------------------------------------------------


def test_sentence_helpers():
    assert ma.join_words(["US"]) == "US"
    assert ma.join_words(["US", "HK", "MO"]) == "US, HK and MO"
    assert ma.more_or_fewer(469.4) == "469 more opt-ins"
    assert ma.more_or_fewer(-1234.6, "merchants") == "1,235 fewer merchants"


def test_bad_arguments_raise_value_error(weekly, sim):
    with pytest.raises(ValueError, match="market"):
        ma.fit_markets(weekly, ["CN"], 0, 1)
    with pytest.raises(ValueError, match="bootstrap_draws"):
        ma.fit_markets(weekly, ["HK"], -1, 1)
    with pytest.raises(ValueError, match="seed"):
        ma.fit_markets(weekly, ["HK"], 0, 1.5)
    with pytest.raises(ValueError, match="holdout"):
        ma.forecast_origins(52, 0)
    with pytest.raises(ValueError, match="holdout"):
        ma.forecast_origins(12, 8)
    with pytest.raises(ValueError, match="at least one market"):
        ma.ad_scenario(sim, {}, "week")


def _stamped(ax) -> bool:
    return any(t.get_text() == SIMULATED_LABEL for t in ax.texts)


def test_plots_return_axes_stamped_as_simulated(sim, fits, fits_boot, metrics):
    before = dict(matplotlib.rcParams)
    axes = ma.plot_market_fits(fits, "week", axes=Figure().subplots(3, 1, sharex=True))
    assert len(axes) == 3 and all(_stamped(ax) for ax in axes)
    assert [ax.get_xlabel() for ax in axes] == ["", "", "weeks since launch"]
    one = ma.plot_market_fits(fits_boot, "week", axes=[Figure().subplots()])
    assert len(one[0].collections) == 1  # the bootstrap band
    top, bottom = ma.plot_scenario(ma.ad_scenario(sim, fits, "week"), "all", "week",
                                   axes=Figure().subplots(2, 1))
    assert _stamped(top) and _stamped(bottom)
    assert bottom.get_xlabel() == "weeks since launch (all markets)"
    with pytest.raises(ValueError, match="no scenario paths"):
        ma.plot_scenario(ma.ad_scenario(sim, fits, "week"), "CN", "week",
                         axes=Figure().subplots(2, 1))
    growth = ma.growth_comparison(metrics)
    ax = ma.plot_growth(growth, sim.base, ax=Figure().subplots())
    assert _stamped(ax) and len(ax.lines) == len(growth) + 1
    assert not _stamped(ma.plot_growth(growth, ax=Figure().subplots()))  # published only
    assert dict(matplotlib.rcParams) == before


# ---------------------------------------------------------------------------------------
# The notebook keeps only templates in its text cells
# ---------------------------------------------------------------------------------------

_LOGIC = (ast.If, ast.IfExp, ast.Compare, ast.BoolOp, ast.BinOp, ast.ListComp, ast.DictComp,
          ast.SetComp, ast.GeneratorExp, ast.Lambda)


def _unguarded(body: list[ast.stmt]) -> list[ast.stmt]:
    """``body`` with each ``if observed:`` / ``if not observed:`` guard (no else)
    replaced by the statements it guards."""
    out = []
    for stmt in body:
        if (isinstance(stmt, ast.If) and not stmt.orelse
                and ast.unparse(stmt.test) in ("observed", "not observed")):
            out += stmt.body
        else:
            out.append(stmt)
    return out


def _md_call(stmt: ast.stmt) -> ast.Call | None:
    """The ``md(...)`` of a statement ``md(...)`` or ``display(md(...))``, else None."""
    if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
        return None
    call = stmt.value
    if ast.unparse(call.func) == "display" and len(call.args) == 1:
        call = call.args[0]
    return call if isinstance(call, ast.Call) and ast.unparse(call.func) == "md" else None


def test_notebook_text_cells_keep_only_templates_and_res_number():
    """Every ``txt-*`` cell of notebook 03 is, inside its ``if observed`` / ``if not
    observed`` guard: one ``f = ma.<name>_facts(...)``, loops or calls of ``res.number``
    only, and one ``md(...)`` (or ``display(md(...))``) -- or, for the observed-data
    cells, one ``md(ma.<sentence>(...))``; no other branch, comparison, arithmetic or
    indexing beyond a per-market look-up ``f.<field>[k]`` (the computations live in
    analysis.notebooks.merchant_adoption)."""
    nb = nbformat.read(config.NOTEBOOKS_DIR / "03_merchant_adoption.ipynb", 4)
    cells = [c for c in nb.cells if c.cell_type == "code"
             and re.search(r"^#\| label: txt-", c.source, re.M)]
    labels = [re.search(r"^#\| label: (\S+)", c.source, re.M).group(1) for c in cells]
    assert len(cells) == 11 and sum("-obs-" in lab for lab in labels) == 4, labels
    for cell, label in zip(cells, labels, strict=True):
        body = _unguarded(ast.parse(cell.source).body)
        first, *middle, last = [None, *body] if len(body) == 1 else body
        call = _md_call(last)
        assert call is not None, label
        if first is None:  # a sentence built by one helper of the module
            assert "-obs-" in label and len(call.args) == 1, label
            assert ast.unparse(call.args[0].func).startswith("ma."), label
        else:
            assert (isinstance(first, ast.Assign)
                    and ast.unparse(first.value).startswith("ma.")), label
        for stmt in middle:
            if isinstance(stmt, ast.For):  # over the markets or over a field of the facts
                source = ast.unparse(stmt.iter)
                assert source == "markets" or source.startswith("f."), (label, source)
                inner = stmt.body
            else:
                inner = [stmt]
            calls = [n for b in inner for n in ast.walk(b) if isinstance(n, ast.Call)]
            assert calls and all(ast.unparse(n.func) == "res.number" for n in calls), label
        for stmt in body:
            for node in ast.walk(stmt):
                assert not isinstance(node, _LOGIC), (label, ast.unparse(node))
                if isinstance(node, ast.Subscript):
                    assert re.fullmatch(r"f\.\w+\[\w+\]", ast.unparse(node)), (
                        label, ast.unparse(node))


def test_source_notebook_is_committed_without_outputs():
    nb = nbformat.read(config.NOTEBOOKS_DIR / "03_merchant_adoption.ipynb", 4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


# ---------------------------------------------------------------------------------------
# Observed data (issue 14): an analyst's own table of opt-ins
# ---------------------------------------------------------------------------------------


def _opt_in_csv(tmp_path, rows, name="opt_ins.csv"):
    path = tmp_path / name
    pd.DataFrame(rows, columns=["shop", "joined", "country"]).to_csv(path, index=False)
    return path


def test_observed_series_counts_complete_periods_like_pandas(tmp_path):
    """synthetic: weekly counts from the first adoption day, per market and summed; the
    adoptions of the last, incomplete week are left out and counted."""
    from analysis.data.adoptions import read_opt_ins

    rng = np.random.default_rng(3)
    days = rng.integers(0, 40, size=60)  # 40 days: 5 complete weeks + 5 days
    rows = [(f"s{i}", (pd.Timestamp("2025-03-01") + pd.Timedelta(days=int(d))).date(),
             "FR" if i % 3 else "DE") for i, d in enumerate(days)]
    rows.append(rows[0])  # a second row of the same merchant: not a second adoption
    t = read_opt_ins(_opt_in_csv(tmp_path, rows), merchant_column="shop",
                     time_column="joined", market_column="country")
    s = ma.observed_series(t, "week")
    assert t.n_repeat_rows == 1
    first = pd.Timestamp("2025-03-01") + pd.Timedelta(days=int(days.min()))
    last = pd.Timestamp("2025-03-01") + pd.Timedelta(days=int(days.max()))
    n_weeks = ((last - first).days + 1) // 7
    assert int(s["period"].max()) == n_weeks
    assert set(s["market"]) == {"DE", "FR", "all"} and not s["simulated"].any()
    ref = pd.DataFrame(rows[:-1], columns=["shop", "joined", "country"])
    week = (pd.to_datetime(ref["joined"]) - first).dt.days // 7 + 1
    for k in ("DE", "FR", "all"):
        sel = week[(ref["country"] == k) | (k == "all")]
        want = sel[sel <= n_weeks].value_counts().reindex(range(1, n_weeks + 1), fill_value=0)
        assert ma.market_rows(s, k)["opt_ins"].tolist() == want.tolist(), k
    assert s.attrs["n_left_out"] == int((week > n_weeks).sum())
    assert ma.observed_markets(t, "all") == ["DE", "FR"]
    assert ma.observed_markets(t, "FR") == ["FR"]
    with pytest.raises(ValueError, match=r"market='US' is not in column 'country'.*found: DE, FR"):
        ma.observed_markets(t, "US")


def test_observed_series_effort_scaled_to_its_peak(tmp_path):
    """synthetic: effort summed per week, then divided by its largest week."""
    from analysis.data.adoptions import read_effort, read_opt_ins

    rows = [(f"s{i}", (pd.Timestamp("2025-03-01") + pd.Timedelta(days=i)).date(), "FR")
            for i in range(21)]
    t = read_opt_ins(_opt_in_csv(tmp_path, rows), merchant_column="shop", time_column="joined")
    (tmp_path / "spend.csv").write_text("day,spend\n2025-03-01,10\n2025-03-03,30\n"
                                        "2025-03-09,20\n")
    e = read_effort(tmp_path / "spend.csv", time_column="day", effort_column="spend")
    s = ma.observed_series(t, "week", effort=e)
    assert s["effort_total"].tolist() == [40.0, 20.0, 0.0]
    assert s["effort"].tolist() == [1.0, 0.5, 0.0]
    (tmp_path / "none.csv").write_text("day,spend\n2025-03-01,0\n")
    with pytest.raises(ValueError, match="no positive effort"):
        ma.observed_series(t, "week", effort=read_effort(
            tmp_path / "none.csv", time_column="day", effort_column="spend"))


def test_adoption_params_keep_observed_and_simulated_options_apart():
    from analysis.pipeline.params import ParameterError, validate_params

    nb = "03_merchant_adoption"
    assert not validate_params({}, nb).observed
    for bad, words in (({"time_column": "t"}, "time_column only apply to an observed"),
                       ({"effort_source": "s.csv"}, "effort_source only apply"),
                       ({"market": "FR"}, "the simulated markets are"),
                       ({"merchant_source": "a.csv", "effort_scenario": "continue"},
                        "effort_scenario only applies to the simulated merchants"),
                       ({"merchant_source": "a.csv", "effort_column": "spend"},
                        "only apply to an effort series")):
        with pytest.raises(ParameterError, match=words):
            validate_params(bad, nb)
    p = validate_params({"merchant_source": "a.csv", "market": "FR", "effort_source": "s.csv",
                         "effort_column": "spend"}, nb)
    assert p.observed and p.market == "FR"


def _run_notebook(tmp_path, params: str):
    import os
    import subprocess
    import sys

    path = tmp_path / "params.yaml"
    path.write_text(params)
    out = tmp_path / "build" / "notebooks" / "03_merchant_adoption.ipynb"
    env = {**os.environ, "ANALYSIS_BUILD_DIR": str(tmp_path / "build")}
    run = subprocess.run([sys.executable, "-m", "analysis.pipeline.runner",
                          str(config.NOTEBOOKS_DIR / "03_merchant_adoption.ipynb"),
                          "--params", str(path), "--output", str(out), "--quiet"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    results = tmp_path / "build" / "results" / "03_merchant_adoption.json"
    return run, out, results


def _text_outputs(out) -> str:
    import json

    nb = nbformat.read(out, as_version=4)
    return json.dumps([o.get("data", {}).get("text/markdown", "") for c in nb.cells
                       if c.cell_type == "code" for o in c.get("outputs", [])])


@pytest.mark.slow
def test_notebook_03_on_cdnow_first_purchases(tmp_path):
    """Notebook 03 end to end on a real, public log nobody here made (the CDNOW purchase
    log, Lifetimes 0.11.3): first purchases as adoption events. Weekly counts against a
    direct pandas count; observed labels only; no simulated section."""
    import json

    cdnow = config.PROJ_ROOT / "data" / "raw" / "reference" / "cdnow_master_purchases.csv"
    run, out, results = _run_notebook(
        tmp_path, f"merchant_source: {cdnow}\nmerchant_column: customer_id\n"
        "time_column: date\ntime_format: '%Y%m%d'\nholdout_periods: 2\nbootstrap_draws: 20\n"
        "adoption_label: first purchases of CDNOW customers, used as adoption events\n")
    assert run.returncode == 0, run.stderr[-3000:]
    r = json.loads(results.read_text())
    table = pd.DataFrame(r["tables"]["adoptions"]["rows"])
    log = pd.read_csv(cdnow)
    first = pd.to_datetime(log.groupby("customer_id")["date"].min().astype(str), format="%Y%m%d")
    week = (first - first.min()).dt.days // 7 + 1
    want = week.value_counts().sort_index()
    assert table["opt_ins"].tolist() == want.tolist() and len(want) == 12
    assert r["numbers"]["n_adoptions"]["value"] == log["customer_id"].nunique()
    src = r["tables"]["source"]["rows"][0]
    assert src["sha256"] == _sha256(cdnow) and src["path"].endswith("cdnow_master_purchases.csv")
    assert any(k.endswith("cdnow_master_purchases.csv") for k in r["provenance"]["files_read"])
    for name in ("calibration", "truth", "funnel", "growth", "scenario", "series"):
        assert name not in r["tables"], name
    bass = pd.DataFrame(r["tables"]["estimates"]["rows"])
    assert set(bass["estimator"]) == {"Bass (NLS)"}  # no effort: no GBM; no truth row
    b = bass.iloc[0]
    assert b["m_lower"] <= b["m"] <= b["m_upper"] and b["p_lower"] <= b["p"] <= b["p_upper"]
    assert r["numbers"]["bass_m_all"]["value"] == pytest.approx(b["m"])
    text = _text_outputs(out)
    assert "observed" in text and "SIMULATED" not in text and "simulated" not in text
    assert "first purchases of CDNOW customers" in text


def _sha256(path) -> str:
    from analysis._io import sha256

    return sha256(path)


@pytest.mark.slow
def test_notebook_03_on_a_duckdb_table_with_markets_and_effort(tmp_path):
    """synthetic: a DuckDB table of opt-ins in two markets and a CSV of daily ad spend:
    the Generalized Bass model is fitted with the effort (beta reported), the comparison
    covers each market and their sum; then a bad row stops the run, naming it."""
    import json

    import duckdb

    rng = np.random.default_rng(11)
    rows = []
    for k, n, p, q in (("FR", 400, 0.03, 0.3), ("DE", 300, 0.04, 0.2)):
        u = rng.random(n)
        weeks = np.log((1 + (q / p) * u) / (1 - u)) / (p + q)
        rows += [(f"{k}{i}", pd.Timestamp("2025-03-01") + pd.Timedelta(days=float(7 * w)), k)
                 for i, w in enumerate(weeks) if w < 24]
    df = pd.DataFrame(rows, columns=["shop", "joined", "country"])  # noqa: F841 - read by DuckDB
    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE opt_ins AS SELECT * FROM df")
    con.close()
    days = pd.date_range("2025-03-01", periods=170)
    pd.DataFrame({"day": days.strftime("%Y-%m-%d"),
                  "spend": np.where(np.arange(170) < 30, 100.0, 5.0)}).to_csv(
        tmp_path / "spend.csv", index=False)
    params = (f"merchant_source: {db}\ntable: opt_ins\nmerchant_column: shop\n"
              "time_column: joined\nmarket_column: country\n"
              f"effort_source: {tmp_path / 'spend.csv'}\neffort_time_column: day\n"
              "effort_column: spend\nbootstrap_draws: 10\n")
    run, out, results = _run_notebook(tmp_path, params)
    assert run.returncode == 0, run.stderr[-3000:]
    r = json.loads(results.read_text())
    est = pd.DataFrame(r["tables"]["estimates"]["rows"])
    gbm = est[est["estimator"] == "Generalized Bass"]
    assert set(gbm["market"]) == {"DE", "FR"} and gbm["beta"].notna().all()
    assert set(pd.DataFrame(r["tables"]["compare"]["rows"])["market"]) == {"DE", "FR", "all"}
    assert len(r["tables"]["effort_source"]["rows"]) == 1
    assert "SIMULATED" not in _text_outputs(out)

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "opt_ins.csv").write_text("shop,joined\na,2025-03-01\nb,2025-02-30\n")
    run, _, results = _run_notebook(bad, f"merchant_source: {bad / 'opt_ins.csv'}\n"
                                         "merchant_column: shop\ntime_column: joined\n")
    assert run.returncode != 0 and not results.exists()
    assert "'2025-02-30'" in run.stderr and "opt_ins.csv, row 2 (line 3)" in run.stderr


# ---------------------------------------------------------------------------------------
# Section 4 under each reading of its sources (issue 13)
# ---------------------------------------------------------------------------------------


def _monthly(multiple: float, start: str, end: str) -> float:
    days = (pd.Timestamp(end) - pd.Timestamp(start)).days + 1
    return 100 * (multiple ** (1 / (days / (365.25 / 12))) - 1)


def test_growth_readings_published_to_and_by_from_either_end_of_april(metrics):
    """published: TikTok Shop US 'zengzhang le 3-5 bei', April - 6 December 2024
    (PM023 value_low 3, PM024 value_high 5), read to 3-5x and by 3-5x (to 4-6x), from
    1 or 30 April; RedNote 8.1x over 2024, read to and by. Rates by the formula."""
    r = ma.growth_readings(metrics)
    assert list(zip(r["tiktok_reading"], r["start"].dt.day, strict=True)) == [
        ("to", 1), ("to", 30), ("by", 1), ("by", 30)]
    assert r["multiple_low"].tolist() == [3, 3, 4, 4] and r["multiple_high"].tolist() == [5, 5, 6, 6]
    for row in r.itertuples():
        assert row.tiktok_low_percent == pytest.approx(
            _monthly(row.multiple_low, row.start, "2024-12-06"))
        assert row.tiktok_high_percent == pytest.approx(
            _monthly(row.multiple_high, row.start, "2024-12-06"))
        assert row.rednote_to_percent == pytest.approx(_monthly(8.1, "2024-01-01", "2024-12-31"))
        assert row.rednote_by_percent == pytest.approx(_monthly(9.1, "2024-01-01", "2024-12-31"))
        for red in ("to", "by"):
            rate = getattr(row, f"rednote_{red}_percent")
            want = ("inside" if row.tiktok_low_percent <= rate <= row.tiktok_high_percent
                    else "below" if rate < row.tiktok_low_percent else "above")
            assert getattr(row, f"rednote_{red}_position") == want
    # the default reading is the one growth_comparison uses
    g = ma.growth_comparison(metrics)
    tts = g[g["entity"] == "TikTok Shop"]["monthly_growth_percent"]
    assert r.iloc[0]["tiktok_low_percent"] == pytest.approx(tts.min())
    assert r.iloc[0]["tiktok_high_percent"] == pytest.approx(tts.max())
    # the audit (published-metrics-2026-12.md, section 4, item 14): read "by" from the
    # law's signing on 24 April, TikTok's range is 20.5-27.3 %/month (it counts 226 days,
    # the end day excluded; both days included here: 20.4-27.2); 24 April lies between
    # the table's two start days, and so does that range
    assert _monthly(4, "2024-04-24", "2024-12-06") == pytest.approx(20.5, abs=0.15)
    assert _monthly(6, "2024-04-24", "2024-12-06") == pytest.approx(27.3, abs=0.15)
    by = r[r["tiktok_reading"] == "by"]
    assert by["tiktok_low_percent"].iloc[0] < 20.5 < by["tiktok_low_percent"].iloc[1]


def test_readings_facts_published_crossing_day_and_verdict(metrics):
    """published: under 'by' the conclusion changes within April; the day named is the
    last start day for which RedNote's rate is still inside TikTok's range."""
    r = ma.growth_readings(metrics)
    f = ma.readings_facts(r)
    m = re.search(r"below it for a start after (\d+) April", f.readings)
    assert m, f.readings
    day = int(m.group(1))
    rate = r.iloc[0]["rednote_to_percent"]
    assert _monthly(4, f"2024-04-{day:02d}", "2024-12-06") <= rate
    assert _monthly(4, f"2024-04-{day + 1:02d}", "2024-12-06") > rate
    assert "depends on how the TikTok figure is read" in f.verdict
    assert f.default == "growth to 3-5x from 1 April" and f.ids == "PM023, PM024"
    assert set(f.numbers) >= {"tiktok_by_30apr_low_percent", "rednote_by_percent"}


def test_readings_facts_synthetic_conclusion_that_holds_everywhere(metrics):
    """synthetic: TikTok bounds of 2x-20x put RedNote inside under every reading."""
    m = metrics.copy()
    tts = (m["entity"] == "TikTok Shop") & (m["metric"] == "merchant_count_growth")
    m.loc[tts & (m["qualifier"] == "at_least"), "value_low"] = 2.0
    m.loc[tts & (m["qualifier"] == "at_most"), "value_high"] = 20.0
    f = ma.readings_facts(ma.growth_readings(m))
    assert f.verdict == "The conclusion holds under every reading."
    assert "whatever the day in April" in f.readings and "after" not in f.readings


def test_inputs_table_simulation_names_every_input_and_its_range(cal, metrics):
    """simulation: every field of Assumptions (per market for the market ones) and every
    published figure used has a row saying whose it is and what it is used as; the
    published ranges are the rows' value_low / value_high."""
    t = M.inputs_table(cal, metrics)
    assert t["simulated"].all() and t.attrs["simulated"]
    fields = {f for f in M.Assumptions.__dataclass_fields__ if f != "markets"}
    fields |= set(M.MarketAssumptions.__dataclass_fields__)
    assert fields <= set(t["input"]) and set(t["input"]) <= set(M.INPUT_NOTES)
    assert (t["source"] != "").all() and (t["used_as"] != "").all()
    pm = metrics.set_index("id")
    opt = t[t["input"] == "opt_in_share"].iloc[0]
    assert opt["id"] == cal.targets["opt_in_share"].id
    assert opt["low"] == f"{pm.loc[opt['id'], 'value_low']:g} %"
    assert opt["high"] == f"{pm.loc[opt['id'], 'value_high']:g} %"
    assert "interviewee" in opt["source"] and "cross-border" in opt["used_as"]
    success = t[t["input"] == "success_share"].iloc[0]
    assert success["low"] == "not stated" and "first overseas order" in success["used_as"]
    assert len(t[t["input"] == "p_week"]) == len(M.MARKETS)
    shown = ma.display_inputs(t)
    assert len(shown) == len(t["input"].unique())
    assert shown.loc[shown["input"] == "launch", "range"].iloc[0] == "1 Mar 2025 to 10 Mar 2025"

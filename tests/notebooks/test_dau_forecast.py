"""Tests of :mod:`analysis.notebooks.dau_forecast` (the helpers of notebook 02_dau_forecast).

Sources named in the test names:

* ``synthetic`` -- activity logs and install series built here with numpy from known
  inputs (group sizes, floors, half-lives), independent of ``analysis.simulation.users``.
* ``fader_hardie`` -- ``data/raw/reference/fader_hardie_2007_regular.csv`` (Fader &
  Hardie 2007, "regular" cohort), to which a real sBG is fitted so that the cohort
  forecasts carry a real parameter covariance.
* ``csv`` -- ``data/raw/published_metrics.csv`` read here with ``pd.read_csv`` (every
  cell as text), not through the package's loader: QuestMobile's RedNote DAU of
  97.81 M (PM077), Aurora Mobile's MAU of 330 M (PM074), Sensor Tower's 900,000 US DAU
  on 18 Feb 2025 (PM003).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from analysis.data import cohorts, sources
from analysis import config
from analysis.models import forecast, retention
from analysis.notebooks import dau_forecast as fr

matplotlib.use("Agg")

ORIGIN = pd.Timestamp("2025-02-28")
SURGE = pd.Timestamp("2025-01-13")
PEAK = pd.Timestamp("2025-01-19")


def synthetic_log(seed: int = 1) -> pd.DataFrame:
    """Users with install dates before, during and after the surge, each active on a
    random subset of days from the install day on (always on the install day)."""
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp("2024-12-01"), pd.Timestamp("2025-03-10")
    installs = pd.to_datetime(rng.choice(pd.date_range("2024-10-01", end).to_numpy(), 600))
    frames = []
    for uid, inst in enumerate(installs):
        days = pd.date_range(max(inst, start), end)
        keep = rng.random(len(days)) < 0.3
        if inst >= start:
            keep[0] = True
        frames.append(pd.DataFrame({"user_id": uid, "event_date": days[keep], "market": "US",
                                    "install_date": inst}))
    return pd.concat(frames, ignore_index=True)


def synthetic_installs(floor=1000.0, excess=50_000.0, half_life=4.0, seed=2) -> pd.Series:
    """Organic floor before the surge, a plateau to the peak day, then an excess halving
    every ``half_life`` days; Poisson noise."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-12-01", ORIGIN)
    t = (days - PEAK).days.to_numpy()
    mean = np.full(len(days), float(floor))
    mean[(days >= SURGE) & (days <= PEAK)] += 4 * excess
    after = t >= 1
    mean[after] += excess * 0.5 ** ((t[after] - 1) / half_life)
    return pd.Series(rng.poisson(mean).astype(float), index=days)


@pytest.fixture(scope="module")
def sbg_fader_hardie():
    ref = pd.read_csv(config.REFERENCE_DIR / "fader_hardie_2007_regular.csv")
    alive = ref["pct_surviving"].to_numpy(float)[:8] * 10  # 1000 customers, years 0-7
    return retention.ShiftedBetaGeometric().fit(alive)


def test_decomposition_sums_to_total_dau_synthetic():
    log = synthetic_log()
    labels = ["before", "surge", "after"]
    dec = fr.decompose_dau(log, [SURGE, pd.Timestamp("2025-02-01")], labels, "US", scale=0.5)
    dau = cohorts.daily_active_users(log)
    assert np.allclose(dec[labels].sum(axis=1), dec["total"])
    assert np.allclose(dec["total"].to_numpy(), dau["dau"].to_numpy() / 0.5)
    # by hand: users installed before the surge active on one day
    day = pd.Timestamp("2025-01-20")
    hand = log[(log["event_date"] == day) & (log["install_date"] < SURGE)]["user_id"].nunique()
    assert dec.set_index("date").loc[day, "before"] == hand / 0.5
    # nobody installed after 1 Feb is active before it
    assert (dec.set_index("date").loc[:"2025-01-31", "after"] == 0).all()


def test_decomposition_reads_parquet_like_the_frame_synthetic(tmp_path):
    log = synthetic_log()
    path = tmp_path / "activity.parquet"
    log.assign(event_date=log["event_date"].dt.date,
               install_date=log["install_date"].dt.date).to_parquet(path)
    a = fr.decompose_dau(path, [SURGE], ["pre", "post"], "US")
    b = fr.decompose_dau(log, [SURGE], ["pre", "post"], "US")
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="labels"):
        fr.decompose_dau(log, [SURGE], ["one"])


def test_daily_installs_counts_users_by_install_day_synthetic():
    log = synthetic_log()
    s = fr.daily_installs(log, "2024-12-01", "2025-03-10", "US", scale=0.1)
    users = log.drop_duplicates("user_id")
    users = users[users["install_date"] >= "2024-12-01"]
    assert s.sum() == pytest.approx(len(users) / 0.1)
    assert len(s) == (pd.Timestamp("2025-03-10") - pd.Timestamp("2024-12-01")).days + 1


def test_scenario_assumptions_recover_floor_and_half_life_synthetic():
    inst = synthetic_installs(floor=1000, excess=50_000, half_life=4.0)
    a = fr.scenario_assumptions(inst, ORIGIN, SURGE, PEAK)
    assert a["floor"] == pytest.approx(1000, rel=0.05)
    assert a["half_life"] == pytest.approx(4.0, rel=0.1)
    assert a["shock_date"] == ORIGIN + pd.Timedelta(days=31)
    assert a["shock_size"] == pytest.approx(4 * 50_000, rel=0.05)  # the plateau
    assert a["fit_start"] == PEAK + pd.Timedelta(days=1)
    assert a["initial"] >= 0


def test_scenario_installs_are_ordered_and_shaped_synthetic():
    a = fr.scenario_assumptions(synthetic_installs(), ORIGIN, SURGE, PEAK)
    s = {n: fr.scenario_installs(n, a, 120) for n in fr.SCENARIOS}
    assert (s["no_influx"] == a["floor"]).all()
    assert (s["no_influx"] <= s["fading"] + 1e-9).all()
    assert (s["fading"] <= s["renewed_shock"] + 1e-9).all()
    jump = (s["renewed_shock"] - s["fading"])
    assert jump.idxmax() == a["shock_date"]
    assert jump.max() == pytest.approx(a["shock_size"])
    assert s["fading"].index[0] == ORIGIN + pd.Timedelta(days=1)
    assert "second wave" in fr.describe_scenarios(a)


def test_cohort_forecast_scenarios_ordered_fader_hardie(sbg_fader_hardie):
    inst = synthetic_installs()
    a = fr.scenario_assumptions(inst, ORIGIN, SURGE, PEAK)
    horizon = 90
    dates = pd.date_range(SURGE, ORIGIN + pd.Timedelta(days=horizon))
    baseline = pd.Series(20_000.0, index=dates)
    out = {n: fr.cohort_forecast(sbg_fader_hardie, baseline, inst.loc[SURGE:],
                                 fr.scenario_installs(n, a, horizon), dates, 0.8, n_draws=200)
           for n in fr.SCENARIOS}
    lo, mid, hi = (out[n]["yhat"].to_numpy() for n in fr.SCENARIOS)
    assert (lo <= mid + 1e-6).all() and (mid <= hi + 1e-6).all()
    # identical up to the origin: the scenarios differ only after it
    before = (out["fading"]["ds"] <= ORIGIN).to_numpy()
    assert np.allclose(lo[before], hi[before])
    f = out["fading"]
    assert (f["yhat_lower"] <= f["yhat"]).all() and (f["yhat"] <= f["yhat_upper"]).all()
    assert (f["yhat_upper"] > f["yhat_lower"]).any()  # the covariance gives an interval
    assert np.allclose(f["baseline"] + f["cohorts"], f["yhat"])
    # by hand on one day: baseline + sum of installs x survival at the age
    day = ORIGIN + pd.Timedelta(days=10)
    all_inst = pd.concat([inst.loc[SURGE:], fr.scenario_installs("fading", a, horizon)])
    ages = (day - all_inst.loc[:day].index).days.to_numpy()
    hand = 20_000 + float(np.sum(all_inst.loc[:day].to_numpy()
                                 * sbg_fader_hardie.survival(ages.astype(float))))
    assert f.set_index("ds").loc[day, "yhat"] == pytest.approx(hand, rel=1e-9)


def test_baseline_path_continues_history_synthetic():
    days = pd.date_range("2024-12-01", ORIGIN)
    rng = np.random.default_rng(3)
    hist = pd.Series(1000 + rng.normal(0, 10, len(days)), index=days)
    path, pred = fr.baseline_path(hist, 30)
    assert len(path) == len(days) + 30
    assert path.index[len(days)] == ORIGIN + pd.Timedelta(days=1)
    assert path.iloc[-1] == pytest.approx(1000, rel=0.05)


def test_milestones_scores_by_hand_synthetic():
    ds = pd.date_range("2025-03-01", periods=5)
    pred = pd.DataFrame({"ds": ds, "yhat": [110.0, 90, 100, 100, 120],
                         "yhat_lower": [100.0, 80, 95, 101, 100],
                         "yhat_upper": [120.0, 95, 105, 110, 130]})
    actual = pd.Series([100.0, 100, 100, 100, 100], index=ds)
    sc = fr.score_forecasts({"m": pred}, actual).iloc[0]
    assert sc["mape"] == pytest.approx((0.1 + 0.1 + 0 + 0 + 0.2) / 5)
    assert sc["bias"] == pytest.approx((0.1 - 0.1 + 0.2) / 5)
    assert sc["coverage"] == pytest.approx(3 / 5)
    assert sc["last_error"] == pytest.approx(0.2)
    ms = fr.milestone_table({"m": pred}, "2025-02-28", [1, 5], truth=actual)
    assert ms["dau"].tolist() == [110.0, 120.0]
    assert ms["error_percent"].tolist() == pytest.approx([10.0, 20.0])
    with pytest.raises(ValueError, match="no value on day 6"):
        fr.milestone_table({"m": pred}, "2025-02-28", [6])
    shown = fr.display_milestones(ms)
    assert list(shown.columns) == ["forecast", "day 1, 1 Mar", "day 5, 5 Mar"]
    assert shown.iloc[0, 1] == "0 k [0\u20130]"  # thousands


def test_backtest_uses_prophet_cutoffs_synthetic():
    ds = pd.date_range("2024-12-01", "2025-03-31")
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"ds": ds, "y": 1000 * np.exp(np.cumsum(rng.normal(0, 0.02, len(ds))))})
    buckets = ((1, 7), (8, 14), (15, 28))
    summary, cvs = fr.backtest(df, {"naive": forecast.NaiveForecaster(),
                                    "seasonal naive": forecast.SeasonalNaiveForecaster()},
                               "60 days", "7 days", "28 days", buckets)
    cut = forecast.generate_cutoffs(df["ds"], pd.Timedelta("28 days"), pd.Timedelta("60 days"),
                                    pd.Timedelta("7 days"))
    assert (summary["cutoffs"] == len(cut)).all()
    assert summary.loc[0, "first_cutoff"] == cut[0]
    cv = cvs["naive"]
    assert summary.loc[0, "mape_all"] == pytest.approx(
        np.mean(np.abs(cv["yhat"] - cv["y"]) / cv["y"]))
    shown = fr.display_backtest(summary, buckets)
    assert "MAPE 15-28 d" in shown.columns


def test_share_of_total_against_the_csv_by_hand():
    raw = pd.read_csv(config.PUBLISHED_METRICS_CSV, dtype=str, keep_default_na=False)
    qm = raw[raw["id"] == "PM077"].iloc[0]
    am = raw[raw["id"] == "PM074"].iloc[0]
    st = raw[raw["id"] == "PM003"].iloc[0]
    assert (qm["provider"], qm["metric"]) == ("QuestMobile", "dau")
    assert (am["provider"], am["metric"]) == ("Aurora Mobile", "mau")
    metrics = sources.load_published_metrics()
    totals = {"dau": fr.published_total(metrics, "dau", "QuestMobile"),
              "mau": fr.published_total(metrics, "mau", "Aurora Mobile")}
    assert totals["dau"]["id"] == "PM077" and totals["mau"]["id"] == "PM074"
    us = float(st["value"])
    ms = pd.DataFrame({"forecast": ["x"], "day": [0], "date": [pd.Timestamp("2025-02-18")],
                       "dau": [us], "lower": [us * 0.9], "upper": [us * 1.1]})
    out = fr.share_table(ms, totals).iloc[0]
    assert out["share_dau"] == pytest.approx(900_000 / 97_810_000)
    assert out["share_dau"] == pytest.approx(us / float(qm["value"]))
    assert out["share_mau"] == pytest.approx(us / float(am["value"]))
    assert out["share_dau_upper"] == pytest.approx(1.1 * us / float(qm["value"]))
    # Sensor Tower: "under 1 %" of the total DAU on 18 Feb -- consistent with QuestMobile
    assert out["share_dau"] < float(raw[raw["id"] == "PM004"].iloc[0]["value"]) / 100
    shown = fr.display_share(out.to_frame().T, totals)
    assert any("QuestMobile" in c for c in shown.columns)
    with pytest.raises(LookupError):
        fr.published_total(metrics, "dau", "Gartner")


def test_plots_return_axes_synthetic(sbg_fader_hardie):
    import matplotlib.pyplot as plt

    log = synthetic_log()
    labels = ["before", "after"]
    dec = fr.decompose_dau(log, [SURGE], labels)
    assert fr.plot_decomposition(dec, labels, origin=ORIGIN) is not None
    ds = pd.date_range("2025-03-01", periods=10)
    pred = pd.DataFrame({"ds": ds, "yhat": 100.0, "yhat_lower": 90.0, "yhat_upper": 110.0})
    hist = pd.Series(100.0, index=pd.date_range("2025-02-01", ORIGIN))
    fig, ax = plt.subplots()
    assert fr.plot_scenarios(hist, {"fading": pred, "no_influx": pred}, ax=ax,
                             truth=hist, origin=ORIGIN, milestones=[ds[5]]) is ax
    assert fr.plot_comparison(hist, {"naive": pred}, actual=hist, origin=ORIGIN) is not None
    plt.close("all")

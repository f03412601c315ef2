"""Tests of :mod:`analysis.notebooks.dau_forecast` (the helpers of notebook 02_dau_forecast).

Sources named in the test names:

* ``synthetic`` -- activity logs and install series built here with numpy from known
  inputs (group sizes, floors, half-lives), independent of ``analysis.simulation.users``;
  a log is written to Parquet and wrapped in a :class:`analysis.simulation.panel.Panel`
  (:func:`synthetic_panel`) for the helpers that read a panel.
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

from analysis import config
from analysis.data import cohorts, sources
from analysis.models import forecast, retention
from analysis.notebooks import dau_forecast as fr
from analysis.simulation import users as simulate
from analysis.simulation.panel import Panel

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


def synthetic_panel(tmp_path, log: pd.DataFrame, scale: float = 1.0) -> Panel:
    """``log`` as the activity log of a Panel (Parquet, dates as dates) of ``scale``."""
    path = tmp_path / "activity.parquet"
    log.assign(event_date=log["event_date"].dt.date,
               install_date=log["install_date"].dt.date).to_parquet(path)
    metrics = sources.load_published_metrics()
    meta = {"simulated": True, "label": "SIMULATED test log", "start": "2024-12-01",
            "end": "2025-03-10", "scale": scale, "seed": 1}
    return Panel(path=path, metadata=meta, truth=simulate.PanelParams(), scale=scale, seed=1,
                 market="US", metrics=metrics, anchors=simulate.anchors_from_published(metrics))


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


def test_decomposition_sums_to_total_dau_synthetic(tmp_path):
    log = synthetic_log()
    labels = ["before", "surge", "after"]
    panel = synthetic_panel(tmp_path, log, scale=0.5)
    dec = fr.decompose_dau(panel, [SURGE, pd.Timestamp("2025-02-01")], labels)
    dau = cohorts.daily_active_users(log)
    assert np.allclose(dec[labels].sum(axis=1), dec["total"])
    assert np.allclose(dec["total"].to_numpy(), dau["dau"].to_numpy() / 0.5)
    # by hand: users installed before the surge active on one day
    day = pd.Timestamp("2025-01-20")
    hand = log[(log["event_date"] == day) & (log["install_date"] < SURGE)]["user_id"].nunique()
    assert dec.set_index("date").loc[day, "before"] == hand / 0.5
    # nobody installed after 1 Feb is active before it
    assert (dec.set_index("date").loc[:"2025-01-31", "after"] == 0).all()


def test_decomposition_refuses_bad_groups_synthetic(tmp_path):
    panel = synthetic_panel(tmp_path, synthetic_log())
    with pytest.raises(ValueError, match="labels"):
        fr.decompose_dau(panel, [SURGE], ["one"])
    with pytest.raises(ValueError, match="increasing"):
        fr.decompose_dau(panel, [SURGE, SURGE], ["a", "b", "c"])


def test_arrival_groups():
    edges, labels = fr.arrival_groups("2025-01-13")
    assert edges == [SURGE, pd.Timestamp("2025-02-01")]
    assert labels == ["installed before 13 Jan (organic baseline)",
                      "January arrivals (13-31 Jan)", "later arrivals (from 1 Feb)"]


def test_daily_installs_counts_users_by_install_day_synthetic(tmp_path):
    log = synthetic_log()
    s = fr.daily_installs(synthetic_panel(tmp_path, log, scale=0.1), "2024-12-01", "2025-03-10")
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
    assert shown.iloc[0, 1] == "110 [100\u2013120]"  # below 10,000: users, not "0 k"
    big = ms.assign(dau=ms["dau"] * 1000, lower=ms["lower"] * 1000, upper=ms["upper"] * 1000)
    assert fr.display_milestones(big).iloc[0, 1] == "110 k [100\u2013120]"  # thousands


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


def test_plots_return_axes_synthetic(sbg_fader_hardie, tmp_path):
    import matplotlib.pyplot as plt

    labels = ["before", "after"]
    dec = fr.decompose_dau(synthetic_panel(tmp_path, synthetic_log()), [SURGE], labels)
    assert fr.plot_decomposition(dec, labels, origin=ORIGIN) is not None
    ds = pd.date_range("2025-03-01", periods=10)
    pred = pd.DataFrame({"ds": ds, "yhat": 100.0, "yhat_lower": 90.0, "yhat_upper": 110.0})
    hist = pd.Series(100.0, index=pd.date_range("2025-02-01", ORIGIN))
    fig, ax = plt.subplots()
    assert fr.plot_scenarios(hist, {"fading": pred, "no_influx": pred}, ax=ax,
                             truth=hist, origin=ORIGIN, milestones=[ds[5]]) is ax
    assert fr.plot_comparison(hist, {"naive": pred}, actual=hist, origin=ORIGIN) is not None
    plt.close("all")


# ------------------------------------------------- the notebook's load, fit and findings


@pytest.fixture
def panel(tmp_path):
    return synthetic_panel(tmp_path, synthetic_log(), scale=0.5)


@pytest.fixture(scope="module")
def sim_panel(tmp_path_factory):
    path = simulate.simulate_panel(simulate.PanelParams(), scale=0.001, seed=7,
                                   out_dir=tmp_path_factory.mktemp("panel"), progress=False)
    return Panel.open(path, "US")


def test_forecast_timeline_synthetic(panel):
    tl = fr.forecast_timeline(panel, "2025-03-01", 180)
    assert tl.origin == ORIGIN and tl.first_forecast == pd.Timestamp("2025-03-01")
    assert tl.surge == SURGE and tl.peak_day == PEAK  # Sensor Tower's peak day
    assert tl.horizon_end == ORIGIN + pd.Timedelta(days=180) and tl.horizon_days == 180
    assert tl.days_ahead == [30, 90, 180]
    assert tl.milestone_dates == [ORIGIN + pd.Timedelta(days=h) for h in (30, 90, 180)]
    assert tl.show_from == SURGE - pd.Timedelta(days=14)
    assert tl.compare_from == PEAK - pd.Timedelta(days=7)
    assert fr.forecast_timeline(panel, "2025-03-01", 60).days_ahead == [30]
    assert fr.forecast_timeline(panel, "2025-03-01", 20).days_ahead == [20]
    with pytest.raises(ValueError, match="between 2025-02-11 and 2025-03-10"):
        fr.forecast_timeline(panel, "2025-02-01", 90)  # too little of the influx
    with pytest.raises(ValueError, match="forecast_start"):
        fr.forecast_timeline(panel, "2025-03-11", 90)  # the origin is the panel's last day


def test_fit_classic_retention_panel(sim_panel):
    tl = fr.forecast_timeline(sim_panel, "2025-03-01", 90)
    rows, models, notes = fr.fit_classic_retention(sim_panel, tl)
    events = sim_panel.cohort_events(SURGE, ORIGIN)
    want = cohorts.retention_table(
        cohorts.cohort_table(events[events["event_date"] <= ORIGIN], cohort="install",
                             as_of=ORIGIN), "classic")
    pd.testing.assert_frame_equal(rows, want)
    assert rows["cohort_date"].nunique() == (ORIGIN - SURGE).days + 1
    assert set(models) == {"sBG", "BdW"} and set(notes) == {"sBG", "BdW"}


def test_baseline_and_cohort_forecasts_fader_hardie(panel, sbg_fader_hardie):
    tl = fr.forecast_timeline(panel, "2025-03-01", 60)
    dec = fr.decompose_dau(panel, [SURGE], ["before", "after"])
    base = fr.organic_baseline(dec, "before", tl)
    hist = dec.set_index("date").loc[:ORIGIN, "before"]
    pd.testing.assert_series_equal(base, fr.baseline_path(hist, 60)[0])
    inst = synthetic_installs()
    a = fr.scenario_assumptions(inst, ORIGIN, SURGE, PEAK)
    out = fr.cohort_forecasts(sbg_fader_hardie, base, inst, a, tl, level=0.8, random_state=3)
    assert list(out) == list(fr.SCENARIOS)
    dates = pd.date_range(SURGE, tl.horizon_end)
    one = fr.cohort_forecast(sbg_fader_hardie, base, inst.loc[SURGE:],
                             fr.scenario_installs("fading", a, 60), dates, 0.8, fr.N_DRAWS, 3)
    pd.testing.assert_frame_equal(out["fading"], one)
    ahead = fr.after_origin(out, ORIGIN)
    assert ahead["fading"]["ds"].min() == ORIGIN + pd.Timedelta(days=1)
    assert len(ahead["fading"]) == 60 and ahead["fading"].index[0] == 0


def test_statistical_forecasts_and_milestones_synthetic(panel):
    tl = fr.forecast_timeline(panel, "2025-03-01", 60)
    history = panel.scaled_dau.loc[:ORIGIN]
    frame = fr.series_frame(history)
    assert frame["ds"].tolist() == list(history.index) and frame["y"].tolist() == list(history)
    models = fr.statistical_forecasters(0.8)
    assert list(models) == ["default (ARIMA)", "naive", "seasonal naive"]
    fc = fr.statistical_forecasts({"naive": models["naive"]}, history, 60)
    assert len(fc["naive"]) == 60 and (fc["naive"]["yhat"] == history.iloc[-1]).all()
    truth = pd.Series(1000.0, index=pd.date_range("2024-12-01", tl.horizon_end))
    ms = fr.milestone_forecasts({"fading": fc["naive"]}, fc["naive"], fc["naive"], truth, tl)
    assert ms["forecast"].unique().tolist() == ["fading", "BdW", "default (ARIMA)", "truth"]
    t = ms[ms["forecast"] == "truth"]
    assert (t["dau"] == 1000).all() and (t["error_percent"] == 0).all()
    assert fr.milestone_numbers(ms)[0]["name"] == "dau_day30_fading"
    assert len(fr.milestone_numbers(ms)) == 3  # the scenarios only
    assert fr.forecast_labels("renewed_shock")["BdW"] == "BdW, renewed shock"
    assert fr.forecast_phrase("BdW", "fading") == (
        "the cohort forecast with beta-discrete-Weibull retention (*fading*)")


def test_panel_paths_synthetic(panel):
    tl = fr.forecast_timeline(panel, "2025-03-01", 60)
    actual = fr.actual_after_origin(panel, tl)
    assert actual.index.min() == tl.first_forecast and actual.index.max() == panel.end
    assert fr.actual_after_origin(panel, fr.forecast_timeline(panel, "2025-03-01", 5)
                                  ).index.max() == ORIGIN + pd.Timedelta(days=5)
    path = fr.expected_path(panel, tl)
    assert path.index.min() == panel.start and path.index.max() == tl.horizon_end


def test_findings_of_the_history_synthetic(panel):
    tl = fr.forecast_timeline(panel, "2025-03-01", 90)
    check = panel.anchor_check()
    h = fr.history_findings(panel, check, tl)
    dau = panel.scaled_dau
    assert h.peak_dau == dau.max() and h.peak_day == dau.idxmax()
    assert h.origin_dau == dau.loc[ORIGIN] and h.published_peak_day == PEAK
    sw = check[(check["provider"] == "Similarweb") & (check["kind"] == "level")].iloc[0]
    # press_figures.md "| about Jan 6 |": the published day, the middle of its window
    assert sw["date"] < pd.Timestamp("2025-01-06") < sw["end"]
    day = pd.Timestamp("2025-01-06")
    assert h.similarweb_date == day and h.similarweb_panel == dau.loc[day]
    assert h.published_level == 900_000 and h.published_share_percent == 30
    # 000: "约90万" -> 850,000-950,000; "30%左右" -> 27.5-32.5 % (data/raw/README.md rule)
    assert h.published_level_range == (850_000, 950_000)
    assert h.published_share_range == (27.5, 32.5)
    assert h.similarweb_range == (sw["low"], sw["high"]) == (250_000, 350_000)
    edges, labels = fr.arrival_groups(SURGE)
    dec = fr.decompose_dau(panel, edges, labels)
    d = fr.decomposition_findings(dec, labels, panel, tl)
    at = dec.set_index("date").loc[ORIGIN]
    assert d.origin_baseline + d.origin_january + d.origin_later == pytest.approx(at["total"])
    assert d.origin_january_percent == pytest.approx(100 * at[labels[1]] / at["total"])
    before = dec.set_index("date").loc[: SURGE - pd.Timedelta(days=1), labels[0]]
    assert d.baseline_mean_before == pytest.approx(before.mean())


def test_scenario_findings_by_hand(panel, sbg_fader_hardie):
    tl = fr.forecast_timeline(panel, "2025-03-01", 30)
    dau = panel.scaled_dau
    days = pd.date_range(SURGE, ORIGIN)
    frame = pd.DataFrame({"ds": days, "yhat": dau.loc[days].to_numpy() * 1.1})
    rows = pd.DataFrame({"cohort_date": [SURGE, SURGE, PEAK]})
    s = fr.scenario_findings(rows, {"sBG": sbg_fader_hardie}, frame, panel, tl)
    assert s.n_cohorts == 2 and s.in_sample_start == PEAK + pd.Timedelta(days=1)
    assert s.in_sample_mape == pytest.approx(0.1)
    assert (s.alpha, s.beta) == tuple(sbg_fader_hardie.params_)
    a = fr.scenario_assumptions(synthetic_installs(), ORIGIN, SURGE, PEAK)
    table = fr.assumptions_table(a)
    assert len(table) == 1 and table.loc[0, "floor"] == a["floor"]


def test_headline_findings_by_hand(panel):
    tl = fr.forecast_timeline(panel, "2025-03-01", 90)
    rows = []
    for name, dau in [("no_influx", 100.0), ("fading", 200.0), ("renewed_shock", 400.0),
                      ("BdW", 210.0), ("default (ARIMA)", 300.0), ("truth", 250.0)]:
        for h in (30, 90):
            rows.append({"forecast": name, "day": h, "date": ORIGIN + pd.Timedelta(days=h),
                         "dau": dau, "lower": dau - 20, "upper": dau + 20, "truth": 250.0,
                         "error_percent": 100 * (dau / 250 - 1)})
    h = fr.headline_findings(pd.DataFrame(rows), "fading", panel, tl)
    assert h.day == 90 and list(h.milestones) == [30, 90] and h.milestones[30]["dau"] == 200
    assert (h.low, h.low_dau, h.high, h.high_dau) == ("no_influx", 100, "renewed_shock", 400)
    assert h.width == 40 and h.scenario_matters_more
    assert h.truth_dau == 250 and h.error_percent == pytest.approx(-20)
    assert not h.truth_inside
    assert h.bdw_error_percent == pytest.approx(-16)
    assert h.default_error_percent == pytest.approx(20)
    assert h.origin_dau == panel.scaled_dau.loc[ORIGIN]


def test_out_of_sample_and_backtest_findings_by_hand():
    scores = pd.DataFrame({"forecast": ["fading", "default (ARIMA)", "naive", "seasonal naive"],
                           "mape": [0.05, 0.2, 0.3, 0.25], "bias": [0.0, 0.15, 0.2, 0.1],
                           "coverage": [0.3, 0.9, 0.5, 0.6]})
    actual = pd.Series(1.0, index=pd.date_range("2025-03-01", "2025-03-31"))
    o = fr.out_of_sample_findings(scores, actual, "fading")
    assert (o.n_days, o.first, o.last) == (31, actual.index[0], actual.index[-1])
    assert o.best == "fading" and o.best_phrase == "the cohort forecast under *fading*"
    assert o.mape["naive"] == 0.3 and o.default_bias == 0.15
    assert (o.default_coverage, o.scenario_coverage) == (0.9, 0.3)
    assert [n["name"] for n in fr.score_numbers(scores)][2:4] == [
        "oos_mape_default_ARIMA", "oos_coverage_default_ARIMA"]
    summary = pd.DataFrame({"model": ["default (ARIMA)", "naive", "seasonal naive"],
                            "cutoffs": [5, 5, 5],
                            "first_cutoff": [pd.Timestamp("2025-02-01")] * 3,
                            "last_cutoff": [pd.Timestamp("2025-03-01")] * 3,
                            "mape_1_7": [0.01, 0.02, 0.03], "mape_8_14": [0.1] * 3,
                            "mape_15_28": [0.04, 0.05, 0.06], "mape_all": [0.1] * 3,
                            "coverage_all": [0.8] * 3})
    series = pd.DataFrame({"ds": pd.date_range("2024-12-01", "2025-03-31"), "y": 1.0})
    b = fr.backtest_findings(summary, series)
    assert (b.series_start, b.series_end) == (series["ds"].iloc[0], series["ds"].iloc[-1])
    assert (b.cutoffs, b.default_first_bucket, b.default_last_bucket) == (5, 0.01, 0.04)
    assert (b.naive_last_bucket, b.seasonal_naive_last_bucket) == (0.05, 0.06)
    assert fr.backtest_numbers(summary)[0] == {
        "name": "backtest_mape_default_ARIMA", "value": 0.1,
        "description": "backtest MAPE, default (ARIMA) (simulated)", "unit": "share"}


def test_share_findings_against_the_csv_by_hand(panel):
    raw = pd.read_csv(config.PUBLISHED_METRICS_CSV, dtype=str, keep_default_na=False)
    tl = fr.forecast_timeline(panel, "2025-03-01", 90)
    totals = fr.published_totals(panel.metrics)
    assert (totals["dau"]["id"], totals["mau"]["id"]) == ("PM077", "PM074")
    rows = [{"forecast": s, "day": h, "date": ORIGIN + pd.Timedelta(days=h), "dau": 1e6 * k,
             "lower": 0.9e6 * k, "upper": 1.1e6 * k}
            for k, s in enumerate(fr.SCENARIOS, start=1) for h in (30, 90)]
    ms = pd.DataFrame(rows + [{**rows[0], "forecast": "truth"}])
    shares = fr.scenario_shares(ms, totals)
    assert set(shares["forecast"]) == set(fr.SCENARIOS)
    assert fr.share_numbers(shares)[0]["value"] == pytest.approx(100 * 1e6 / 97_810_000)
    wave = pd.DataFrame({"ds": pd.date_range("2025-03-01", periods=3),
                         "yhat": [1.0e6, 2.0e6, 1.5e6]})
    s = fr.share_findings(panel, shares, {"renewed_shock": wave}, totals, "fading", tl)
    st = raw[raw["id"] == "PM004"].iloc[0]  # Sensor Tower: US under 1 % of the total DAU
    assert s.share_day == pd.Timestamp(st["period_start"]) and s.published_id == "PM004"
    assert s.published_value == float(st["value"]) and s.published_word == "under"
    assert s.panel_share == pytest.approx(panel.scaled_dau.loc[s.share_day] / 97_810_000)
    assert s.scenario_share_dau == pytest.approx({30: 2e6 / 97_810_000, 90: 2e6 / 97_810_000})
    assert s.scenario_share_mau_last == pytest.approx(2e6 / 330e6)
    assert (s.shock_day, s.shock_dau) == (pd.Timestamp("2025-03-02"), 2.0e6)
    assert s.shock_share_percent == pytest.approx(100 * 2e6 / 97_810_000)
    qm = pd.Timestamp(raw[raw["id"] == "PM077"].iloc[0]["period_start"])
    assert s.months_old == (s.share_day.year - qm.year) * 12 + s.share_day.month - qm.month
    growth = raw[(raw["metric"] == "dau_growth_yoy") & (raw["period_start"] == str(qm.date()))]
    assert s.growth_id == growth.iloc[0]["id"]


# ------------------------------------------------------------------ an observed log


def _log_file(tmp_path, rows: str):
    from analysis.data.events import read_event_log

    path = tmp_path / "log.csv"
    path.write_text("user,day,market\n" + rows)
    return read_event_log(path, user_column="user", time_column="day", market_column="market")


def _daily_rows(days: int, start="2024-01-01", gap: int | None = None) -> str:
    out = []
    for d in pd.date_range(start, periods=days):
        if gap is not None and d == pd.Timestamp(start) + pd.Timedelta(days=gap):
            continue
        out += [f"{u},{d.date()},{'US' if u % 2 else 'UK'}" for u in range(2 + d.day % 3)]
    return "\n".join(out) + "\n"


def test_observed_dau_counts_distinct_users_and_sets_the_origin(tmp_path):
    log = _log_file(tmp_path, _daily_rows(60))
    obs = fr.observed_dau(log, "2024-02-20", 30)
    assert obs.origin == pd.Timestamp("2024-02-19")
    assert obs.dau.loc["2024-01-05"] == 2 + 5 % 3
    assert obs.history.index[-1] == obs.origin and obs.after.index[0] == obs.first_forecast
    assert obs.days_ahead == [30]
    us = fr.observed_dau(log, "2024-02-20", 30, market="US")
    assert us.dau.loc["2024-01-05"] == 2  # users 1 and 3 (odd ids are US)


def test_observed_dau_refuses_bad_origins_markets_and_empty_days(tmp_path):
    log = _log_file(tmp_path, _daily_rows(60))
    with pytest.raises(ValueError, match=r"forecast_start 2024-01-10 must lie between 2024-01-29"):
        fr.observed_dau(log, "2024-01-10", 30)
    with pytest.raises(ValueError, match=r"forecast_start 2024-03-05 .* and 2024-03-01"):
        fr.observed_dau(log, "2024-03-05", 30)
    with pytest.raises(ValueError, match=r"market 'FR' is not in the log .*US, UK|UK, US"):
        fr.observed_dau(log, "2024-02-20", 30, market="FR")
    gap = _log_file(tmp_path, _daily_rows(60, gap=40))
    with pytest.raises(ValueError, match=r"no active user on 2024-02-10.*log DAU"):
        fr.observed_dau(gap, "2024-02-20", 30)


def test_observed_backtest_protocol_caps_the_cutoffs():
    """Prophet's cutoff rule: one cutoff per period back from (end - horizon) while the
    window fits; the period widens in whole weeks until at most 11 cutoffs remain."""
    assert fr.observed_backtest_protocol(60 + 28 - 1) is None
    for n in (88, 120, 400, 546, 3000):
        p = fr.observed_backtest_protocol(n)
        period = pd.Timedelta(p["period"]).days
        assert period % 7 == 0
        assert (n - 60 - 28) // period + 1 <= 11
        assert period == 7 or (n - 60 - 28) // (period - 7) + 1 > 11


# ------------------------------------------------------- the BG/BB forecast (issue 11)

def test_with_daily_noise_recovers_weekday_effect_and_noise_synthetic():
    """A forecast equal to the truth without its weekday pattern and noise: the helper
    finds the pattern (mean log residual by weekday) and the noise's sd, and its interval
    covers about the nominal share of new days drawn from the same process."""
    rng = np.random.default_rng(3)
    days = pd.date_range("2025-01-01", "2025-06-30", freq="D")
    level_ = 1e5 * np.exp(-np.arange(days.size) / 200)
    week = np.log([0.97, 0.98, 0.99, 1.0, 1.01, 1.03, 1.02])[days.day_of_week]
    actual = pd.Series(level_ * np.exp(week + rng.normal(0, 0.03, days.size)), index=days)
    pred = pd.DataFrame({"ds": days, "yhat": level_, "yhat_lower": level_ * 0.999,
                         "yhat_upper": level_ * 1.001})
    origin = pd.Timestamp("2025-03-31")
    out, noise = fr.with_daily_noise(pred, actual, "2025-01-01", origin, level=0.8)
    assert out["ds"].min() == origin + pd.Timedelta(days=1)
    assert noise["days"] == (origin - pd.Timestamp("2025-01-01")).days + 1
    assert noise["sd"] == pytest.approx(0.03, rel=0.15)
    assert noise["weekday"]["Sat"] == pytest.approx(np.log(1.03), abs=0.012)
    assert noise["weekday"]["Mon"] == pytest.approx(np.log(0.97), abs=0.012)
    after = actual.loc[out["ds"]].to_numpy()
    covered = np.mean((after >= out["yhat_lower"]) & (after <= out["yhat_upper"]))
    assert 0.7 <= covered <= 0.9
    # the parameter-only interval is kept
    np.testing.assert_allclose(out["param_lower"], pred.set_index("ds").loc[out["ds"],
                                                                            "yhat_lower"])
    with pytest.raises(ValueError, match=">= 14 days"):
        fr.with_daily_noise(pred, actual, origin - pd.Timedelta(days=5), origin)


def test_bgbb_active_curve_and_forecast_panel(sim_panel):
    from analysis.models.bgbb import bgbb_expected_active

    tl = fr.forecast_timeline(sim_panel, "2025-03-01", 60)
    fit = fr.fit_bgbb_activity(sim_panel, tl)
    assert fit.model is not None
    curve = fr.BGBBActiveCurve(fit.model)
    ages = np.arange(5)
    np.testing.assert_allclose(curve.survival(ages), bgbb_expected_active(
        *fit.model.params_.to_numpy(), ages))
    assert curve.survival(0) == 1.0
    draws = curve.sample_survival(ages, 50, random_state=1)
    assert draws.shape == (50, 5) and np.all(draws[:, 0] == 1.0)
    np.testing.assert_array_equal(draws, curve.sample_survival(ages, 50, random_state=1))

    installs = fr.daily_installs(sim_panel, sim_panel.start, tl.origin)
    assumptions = fr.scenario_assumptions(installs, tl.origin, tl.surge, tl.peak_day)
    dec = fr.decompose_dau(sim_panel, *fr.arrival_groups(tl.surge))
    baseline = fr.organic_baseline(dec, fr.arrival_groups(tl.surge)[1][0], tl)
    full, ahead, noise = fr.bgbb_forecast(fit, baseline, installs, assumptions, tl, "fading",
                                          sim_panel.scaled_dau, 0.8, 0)
    assert full["ds"].min() == tl.surge and ahead["ds"].min() == tl.first_forecast
    assert (ahead["yhat_lower"] <= ahead["param_lower"] * np.exp(
        max(noise["weekday"].values()))).all()
    assert ((ahead["yhat_upper"] - ahead["yhat_lower"])
            >= (ahead["param_upper"] - ahead["param_lower"]) * 0.9).all()
    actual = fr.actual_after_origin(sim_panel, tl)
    base_scores = fr.score_forecasts({"fading": ahead, "default (ARIMA)": ahead}, actual)
    table = fr.bgbb_scores(base_scores, ahead, actual, "fading")
    assert list(table["forecast"]) == ["fading", "default (ARIMA)",
                                       "BG/BB cohort (parameters only)", "BG/BB cohort"]
    f = fr.bgbb_forecast_findings(fit, table, noise)
    text = fr.bgbb_forecast_sentence(f, "fading", 0.8, fr.forecast_labels("fading"))
    assert f"{100 * f.coverage['BG/BB cohort']:.0f} %" in text and "**simulated**" in text
    names = [n["name"] for n in fr.score_numbers(table.iloc[2:])]
    assert names == ["oos_mape_BGBB_cohort_parameters_only",
                     "oos_coverage_BGBB_cohort_parameters_only",
                     "oos_mape_BGBB_cohort", "oos_coverage_BGBB_cohort"]


def test_share_denominator_day_note_csv():
    """QuestMobile's 97.81 M total DAU (PM077, data/raw/published_metrics.csv) was
    measured on Spring Festival Eve (its note): the stale denominator pulls the shares
    both ways, and the sentence says the direction is not known; without such a note it
    says the shares are too high."""
    from analysis.data import sources

    total = fr.published_totals(sources.load_published_metrics())["dau"]
    assert total["id"] == "PM077" and total["day_note"] == "Spring Festival Eve"
    text = fr.share_bias_sentence(total, 12, 43.8, "QuestMobile", "PM078")
    assert "Spring Festival Eve" in text and "not known" in text and "too low" in text
    plain = fr.share_bias_sentence({**total, "day_note": ""}, 12, 43.8, "QuestMobile", "PM078")
    assert plain.endswith("if anything, they are too high.")
    assert fr._day_note("RedNote DAU on 9 Feb 2024 (Spring Festival Eve).") == "Spring Festival Eve"
    assert fr._day_note("no parenthesis here") == ""

"""Tests of :mod:`analysis.notebooks.retention` (the helpers of notebook 01_retention).

Sources named in the test names:

* ``synthetic`` -- an activity log drawn here with numpy from known sBG parameters
  (``theta ~ Beta(a, b)``, geometric lifetimes, users active on *every* day alive, so
  unbounded retention equals survival exactly); independent of ``analysis.simulation.users``.
* ``expected_curves`` -- :func:`analysis.simulation.users.expected_cohort_curves`, the exact
  expectation of the simulated panel (a separate implementation from the helpers').
* ``brief_anchors`` -- :func:`analysis.simulation.users.load_anchors`, the published figures
  selected from data/raw/published_metrics.csv (Sensor Tower peak on 19 Jan 2025, about
  0.9 M = about 30 % of the peak on 18 Feb, -17 % on 20-22 Jan vs 13-19 Jan; Similarweb
  pre-surge level).
* ``panel`` -- a small panel written by :func:`analysis.simulation.users.simulate_panel`
  (default parameters, scale 0.001, seed 7), opened as a
  :class:`analysis.simulation.panel.Panel` and counted independently with pandas.
"""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis.data import cohorts
from analysis.models import retention
from analysis.notebooks import common
from analysis.notebooks import retention as rr
from analysis.pipeline.results import Results
from analysis.simulation import users as simulate
from analysis.simulation.panel import Panel, dau_anchor_check

matplotlib.use("Agg")

SEED = 20250119
TRUE_A, TRUE_B = 0.6, 0.9
C0 = pd.Timestamp("2025-01-13")
END = pd.Timestamp("2025-03-14")  # 60 days after the first cohort


def synthetic_events(n_per_cohort=3000, n_cohorts=5, a=TRUE_A, b=TRUE_B, end=END,
                     seed=SEED) -> pd.DataFrame:
    """Users active every day from install until churn (or the end of the window)."""
    rng = np.random.default_rng(seed)
    frames, next_id = [], 0
    for k in range(n_cohorts):
        c = C0 + pd.Timedelta(days=k)
        horizon = (end - c).days
        theta = rng.beta(a, b, n_per_cohort)
        last = np.minimum(rng.geometric(theta) - 1, horizon)  # last day alive (age)
        uid = np.repeat(np.arange(n_per_cohort) + next_id, last + 1)
        age = np.concatenate([np.arange(m + 1) for m in last])
        frames.append(pd.DataFrame({
            "user_id": uid.astype(np.int64),
            "event_date": c + pd.to_timedelta(age, unit="D"),
            "market": "US",
            "install_date": c,
        }))
        next_id += n_per_cohort
    return pd.concat(frames, ignore_index=True)


def always_active() -> simulate.PanelParams:
    """The synthetic log's truth as simulation parameters: users (almost surely) active
    on every day alive, every weekday alike."""
    return simulate.PanelParams(churn_a=TRUE_A, churn_b=TRUE_B, activity_mean=1 - 1e-6,
                                activity_concentration=5.0, weekly=(1.0,) * 7)


@pytest.fixture(scope="module")
def events():
    return synthetic_events()


@pytest.fixture(scope="module")
def table(events):
    return common.build_cohort_table(events, END)


@pytest.fixture(scope="module")
def fitted(table):
    rows = rr.fitting_rows(table, "unbounded", END)
    models, notes = common.fit_families(rows, "unbounded")
    return rows, models, notes


# ------------------------------------------------------------------------------ cohorts


def test_build_cohort_table_ignores_events_after_as_of_synthetic(events):
    cutoff = END - pd.Timedelta(days=20)
    t = common.build_cohort_table(events, cutoff)
    assert t["cohort_date"].nunique() == 5
    last = (cutoff - t["cohort_date"]).dt.days
    assert (t["age_days"] <= last).all()
    # unbounded counts as of the cutoff: a user counts at age N only if seen on a day
    # in [N, cutoff] -- recomputed here directly from the events
    c = C0
    users = events[(events["install_date"] == c) & (events["event_date"] <= cutoff)]
    last_day = users.groupby("user_id")["event_date"].max()
    age = 10
    expected = int((last_day >= c + pd.Timedelta(days=age)).sum())
    got = t[(t["cohort_date"] == c) & (t["age_days"] == age)]["active_on_or_after"].item()
    assert got == expected


def test_fitting_rows_guard_synthetic(table):
    rows = rr.fitting_rows(table, "unbounded", END)
    last = rows.groupby("cohort_date")["age_days"].max()
    expected = (END - last.index.to_series()).dt.days - rr.END_GUARD_DAYS
    assert (last.to_numpy() == expected.to_numpy()).all()
    classic = rr.fitting_rows(table, "classic", END)  # no guard for classic retention
    assert classic["age_days"].max() == (END - C0).days
    assert set(rows.columns) >= {"cohort_date", "age_days", "cohort_size", "retained_users"}


def test_fitting_rows_refuses_too_short_observation_synthetic(events):
    short = common.build_cohort_table(events, C0 + pd.Timedelta(days=15))
    with pytest.raises(ValueError, match="fewer than three ages"):
        rr.fitting_rows(short, "unbounded", C0 + pd.Timedelta(days=15))


# ------------------------------------------------------------------------------ fitting


def test_sbg_recovers_truth_when_everybody_is_active_synthetic(fitted):
    """Activity on every day alive: unbounded retention is survival, the sBG is right."""
    _, models, notes = fitted
    s = models["sBG"].summary
    assert s.loc["alpha", "lower"] <= TRUE_A <= s.loc["alpha", "upper"]
    assert s.loc["beta", "lower"] <= TRUE_B <= s.loc["beta", "upper"]
    assert set(models) == {"sBG", "BdW", "geometric", "power law", "Weibull"}
    assert all(isinstance(n, str) for n in notes.values())


def test_compare_families_holdout_synthetic(events):
    cmp = rr.compare_families(events, END, "unbounded", holdout_days=10)
    assert list(cmp.index) == ["sBG", "BdW", "geometric", "power law", "Weibull"]
    assert cmp["holdout_rows"].nunique() == 1 and cmp["holdout_rows"].iloc[0] == 5 * 10
    assert cmp["delta_aic"].min() == 0 and cmp["delta_bic"].min() == 0
    # the generating family projects the held-out days within a fraction of a point; the
    # constant-churn model, wrong for heterogeneous users, is far off
    assert cmp.loc["sBG", "holdout_mae"] < 0.5
    assert cmp.loc["geometric", "holdout_mae"] > 5 * cmp.loc["sBG", "holdout_mae"]
    assert cmp.loc["geometric", "aic"] == cmp["aic"].max()
    assert cmp.attrs["cutoff"] == END - pd.Timedelta(days=10)
    with pytest.raises(ValueError, match="holdout_days"):
        rr.compare_families(events, END, "unbounded", holdout_days=0)


def test_compare_families_classic_synthetic(events):
    cmp = rr.compare_families(events, END, "classic", holdout_days=7,
                              families=[retention.ShiftedBetaGeometric,
                                        retention.GeometricRetention])
    assert list(cmp.index) == ["sBG", "geometric"]
    assert (cmp["holdout_rows"] == 5 * 7).all()


def test_projection_table_scales_users_synthetic(fitted):
    _, models, _ = fitted
    proj = rr.projection_table({"sBG": models["sBG"]}, [30, 365], n_arrivals=15000 / 0.01)
    assert list(proj["horizon_days"]) == [30, 365]
    np.testing.assert_allclose(proj["users"], proj["retention"] * 15000 / 0.01)
    assert (proj["lower"] < proj["retention"]).all() and (proj["retention"] < proj["upper"]).all()
    np.testing.assert_allclose(proj["retention"],
                               retention.sbg_survival(*models["sBG"].params_, [30, 365]))
    with pytest.raises(ValueError, match="n_arrivals"):
        rr.projection_table({"sBG": models["sBG"]}, [30], -1)


# ------------------------------------------------------------------------ the simulation


def test_true_retention_matches_expected_curves():
    p = simulate.PanelParams()
    ages = np.arange(0, 40)
    np.testing.assert_allclose(rr.true_retention(p, ages, "unbounded"),
                               retention.sbg_survival(p.churn_a, p.churn_b, ages))
    dates = pd.date_range("2025-01-13", "2025-01-19")
    got = rr.true_retention(p, ages, "classic", dates)
    want = np.mean([simulate.expected_cohort_curves(p, d, d + pd.Timedelta(days=39))["classic"]
                    for d in dates], axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_expected_rows_expected_curves(table):
    p = simulate.PanelParams()
    rows = rr.fitting_rows(table, "unbounded", END)
    exp = rr.expected_rows(p, rows, "unbounded", END)
    assert exp[["cohort_date", "age_days"]].equals(rows[["cohort_date", "age_days"]])
    c = C0 + pd.Timedelta(days=2)
    curve = simulate.expected_cohort_curves(p, c, END).set_index("age_days")["unbounded"]
    sub = exp[exp["cohort_date"] == c]
    np.testing.assert_allclose(sub["retention"], curve.loc[sub["age_days"]].to_numpy())
    np.testing.assert_allclose(sub["retained_users"], sub["retention"] * sub["cohort_size"])


def test_pseudo_true_is_truth_without_activity_gaps_expected_curves(table):
    """Users (almost) always active while alive: the target is the true Beta(a, b); with
    the default activity propensity it is not (the measurement bias the notebook shows)."""
    rows = rr.fitting_rows(table, "unbounded", END)
    always = always_active()
    with np.errstate(over="ignore"):  # exp overflow in masked-out cells of the quadrature
        target = rr.pseudo_true_fit(retention.ShiftedBetaGeometric, always, rows,
                                    "unbounded", END)
    np.testing.assert_allclose(target.params_, [TRUE_A, TRUE_B], rtol=1e-3)
    lagged = always.replace(activity_mean=0.7, activity_concentration=5.0)
    target = rr.pseudo_true_fit(retention.ShiftedBetaGeometric, lagged, rows, "unbounded", END)
    assert target.params_["alpha"] < TRUE_A and target.params_["beta"] < TRUE_B


def test_recovery_table_synthetic(fitted, table):
    rows, models, _ = fitted
    p = always_active()
    with np.errstate(over="ignore"):
        target = rr.pseudo_true_fit(retention.ShiftedBetaGeometric, p, rows, "unbounded", END)
    rec = rr.recovery_table(models["sBG"], target, p, [30, 365], "unbounded")
    assert list(rec["quantity"]) == ["alpha", "beta", "alpha/(alpha+beta)",
                                     "survival at day 30", "survival at day 365"]
    assert rec["truth_in_interval"].all() and rec["target_in_interval"].all()
    assert (rec["lower"] <= rec["estimate"]).all() and (rec["estimate"] <= rec["upper"]).all()
    r = rec.set_index("quantity")
    assert r.loc["alpha/(alpha+beta)", "truth"] == pytest.approx(TRUE_A / (TRUE_A + TRUE_B))
    a, b = models["sBG"].params_
    assert r.loc["alpha/(alpha+beta)", "estimate"] == pytest.approx(a / (a + b))
    assert r.loc["survival at day 365", "truth"] == pytest.approx(
        retention.sbg_survival(TRUE_A, TRUE_B, 365))
    assert np.abs(rec["bias_percent"]).max() < 0.5
    shown = rr.display_recovery(rec)
    assert shown["interval covers"].eq("truth and target").all()
    assert shown.columns[3] == "estimate [95 % interval]"


# ------------------------------------------------------------------- published figures


def brief_dau() -> pd.DataFrame:
    """A DAU series (at scale 1, ``date, dau``) built by hand to satisfy the brief's
    anchors (the anchor check itself is tested in tests/simulation/test_panel.py)."""
    days = pd.date_range("2024-12-01", "2025-03-31")
    dau = pd.Series(300_000.0, index=days)
    surge = pd.date_range("2025-01-13", "2025-01-19")
    dau[surge] = np.linspace(1.6e6, 3.0e6, surge.size)  # mean 2.3 M, peak on 19 Jan
    after = pd.date_range("2025-01-20", "2025-03-31")
    dau[after] = np.maximum(3.0e6 * np.exp(-np.arange(after.size) / 12.0), 900_000.0)
    dau[pd.date_range("2025-01-20", "2025-01-22")] = 0.83 * 2.3e6
    dau[pd.Timestamp("2025-02-18")] = 900_000.0
    return pd.DataFrame({"date": days, "dau": dau.to_numpy()})


def brief_installs() -> pd.Series:
    """New users per day (scale 1) by hand: 5,000 a day, 350,000 on each of 13-14 Jan."""
    days = pd.date_range("2024-12-01", "2025-03-31")
    new = pd.Series(5_000.0, index=days)
    new[pd.date_range("2025-01-13", "2025-01-14")] = 350_000.0
    return new


def brief_check() -> pd.DataFrame:
    dau = brief_dau()
    return dau_anchor_check(dau.set_index("date")["dau"], simulate.load_anchors(),
                            brief_installs())


def test_describe_and_display_dau_check_brief_anchors():
    check = brief_check()
    text = common.describe_anchors(check)
    assert "US DAU peaked on 19 January 2025" in text
    assert "about 30 % of the peak on 18 February 2025" in text
    assert "17 % below 13-19 Jan" in text
    assert "about 700,000 new users over 13-14 Jan in all markets" in text
    assert "more than 20x" in text
    shown = rr.display_dau_check(check)
    assert shown["inside"].eq("yes").all()
    assert not shown.astype(str).apply(lambda s: s.str.contains("nan")).any().any()
    by_id = shown.set_index("id")
    # each hedged figure with the interval of data/raw/README.md's rule
    assert by_id.loc["PM003", "interval"] == "850,000–950,000"
    assert by_id.loc["PM002", "interval"] == "27.5–32.5 %"
    assert by_id.loc["PM134", "interval"] == "-17.5 to -16.5 %"
    assert by_id.loc["PM123", "interval"] == "≤ 700,000"
    assert by_id.loc["PM129", "interval"] == "≤ 750,000"
    assert by_id.loc["PM130", "interval"] == "≥ 20x"
    calibration = {"anchors": [{"id": "PM003", "model": 901_234.4}]}
    with_model = rr.display_dau_check(check, calibration).set_index("id")
    assert with_model.loc["PM003", "calibrated model"] == "901,234"
    assert with_model.loc["PM002", "calibrated model"] == "n/a"
    # a figure the panel misses is named with its distance in sampling s.d.
    miss = check.copy()
    k = miss.index[miss["id"] == "PM003"][0]
    miss.loc[k, ["panel", "sampling_error", "inside"]] = [800_000.0, 0.01, False]
    text = rr.panel_outside_text(miss)
    assert "PM003 (800,000 against 850,000–950,000" in text
    assert f"{np.log(850_000 / 800_000) / 0.01:.1f} sampling s.d." in text
    assert rr.panel_outside_text(check) == ""


# ------------------------------------------------------------------ formatting, results


def test_format_interval_and_results_safe():
    assert rr.format_interval(0.0919, 0.0902, 0.0937, digits=2) == "9.19 % [9.02, 9.37]"
    assert rr.format_interval(0.5, np.nan, np.nan) == "50.0 % [n/a]"
    assert rr.format_interval(0.4645, 0.458, 0.471, percent=False, digits=3) == \
        "0.465 [0.458, 0.471]"
    frame = pd.DataFrame({"x": [1.0, np.nan], "d": [pd.Timestamp("2025-01-19"), pd.NaT]})
    safe = common.for_results(frame)
    assert safe.loc[1, "x"] is None and safe.loc[1, "d"] is None
    res = Results("test")
    res.table("t", safe)  # would raise on NaN
    with pytest.raises(ValueError, match="non-finite"):
        res.table("t", frame[["x"]])


def test_coverage_phrase():
    assert rr.coverage_phrase(True, True) == "inside both intervals"
    assert rr.coverage_phrase(False, False) == "outside both intervals"
    assert rr.coverage_phrase(False, True) == \
        "inside the interval of beta but outside that of alpha"


def test_display_tables_synthetic(fitted, table, events):
    rows, models, _ = fitted
    summary = rr.cohort_summary(table, "unbounded", scale=0.01, ages=(1, 7, 90))
    assert summary["users_scaled"].tolist() == (summary["users"] / 0.01).tolist()
    assert summary["day_90"].isna().all()  # not observed yet
    shown = rr.display_cohorts(summary)
    assert shown["day 90"].eq("n/a").all()
    cmp = rr.compare_families(events, END, "unbounded", holdout_days=10)
    at = {m: float(models[m].survival(365)) for m in models}
    dc = rr.display_compare(cmp, at, 365)
    assert list(dc.columns)[-1] == "day 365" and len(dc) == 5
    proj = rr.projection_table({"sBG": models["sBG"]}, [30, 365], 15000 / 0.01)
    dp = rr.display_projection(proj, {30: 0.1, 365: 0.0}, users_label="users")
    assert list(dp.columns) == ["model", "day", "retention [interval]", "users [interval]",
                                "simulation truth", "truth covered"]
    assert dp["truth covered"].tolist() == ["no", "no"]
    params = rr.display_params(models)
    assert len(params) == sum(m.n_params for m in models.values())


# ----------------------------------------------------------------------------- plotting


def test_plots_return_axes_synthetic(fitted, table):
    import matplotlib.pyplot as plt

    rows, models, _ = fitted
    all_rows = cohorts.retention_table(table, "unbounded")
    guarded = all_rows[all_rows["age_days"] > all_rows["cohort_date"].map(
        rows.groupby("cohort_date")["age_days"].max())]
    ages = np.arange(0, 61)
    truths = {"truth": (ages, retention.sbg_survival(TRUE_A, TRUE_B, ages))}
    fig, ax = plt.subplots()
    out = rr.plot_cohort_curves(rows, {"sBG": models["sBG"]}, ax=ax, guarded=guarded,
                                truths=truths)
    assert out is ax and ax.get_yscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert {"sBG fit", "truth", "observed, one line per cohort",
            "not fitted (end of window)"} <= set(labels)
    plt.close(fig)
    ax = rr.plot_projection(models, [30, 365], observed=rr.pooled_share(rows), truths=truths)
    low, high = ax.get_ylim()
    assert 0 < low < retention.sbg_survival(TRUE_A, TRUE_B, 365) and high > 1
    assert [t.get_text() for t in ax.texts] == ["day 30", "day 365"]
    plt.close(ax.figure)
    check = brief_check()
    ax = common.plot_dau_check(brief_dau().set_index("date")["dau"], check)
    labels = ax.get_legend_handles_labels()[1]
    assert "Sensor Tower: implied peak (level / share)" in labels
    plt.close(ax.figure)


# ------------------------------------------------- the notebook's load, fit and findings


@pytest.fixture(scope="module")
def sim_panel(tmp_path_factory):
    path = simulate.simulate_panel(simulate.PanelParams(), scale=0.001, seed=7,
                                   out_dir=tmp_path_factory.mktemp("panel"), progress=False)
    return Panel.open(path, "US")


@pytest.fixture(scope="module")
def arrivals(sim_panel):
    return rr.arrival_cohorts(sim_panel, "2025-01-13", "2025-01-15", "unbounded")


@pytest.fixture(scope="module")
def sim_fit(arrivals):
    models, _ = common.fit_families(arrivals.rows, "unbounded",
                                    [retention.ShiftedBetaGeometric,
                                     retention.GeometricRetention])
    return models


def test_arrival_cohorts_panel(sim_panel, arrivals):
    raw = pq.read_table(sim_panel.path, columns=["user_id", "install_date"]).to_pandas()
    inst = pd.to_datetime(raw["install_date"])
    users = raw[(inst >= "2025-01-13") & (inst <= "2025-01-15")]["user_id"].nunique()
    assert arrivals.n_users == users and arrivals.n_arrivals == users / 0.001
    assert arrivals.cohort_dates == list(pd.date_range("2025-01-13", "2025-01-15"))
    assert arrivals.n_cohorts == 3 and arrivals.as_of == sim_panel.end
    assert arrivals.start == pd.Timestamp("2025-01-13")
    assert arrivals.end == pd.Timestamp("2025-01-15")
    pd.testing.assert_frame_equal(arrivals.rows,
                                  rr.fitting_rows(arrivals.table, "unbounded", sim_panel.end))
    # the guarded rows are the last END_GUARD_DAYS ages of every cohort
    assert len(arrivals.guarded) == 3 * rr.END_GUARD_DAYS
    assert len(arrivals.rows) + len(arrivals.guarded) == len(arrivals.all_rows)
    assert arrivals.summary["users"].sum() == users
    assert arrivals.min_days_observed == (sim_panel.end - pd.Timestamp("2025-01-15")).days
    assert arrivals.max_days_observed == (sim_panel.end - pd.Timestamp("2025-01-13")).days


def test_best_and_shown_families_by_hand():
    compare = pd.DataFrame({"holdout_mae": [0.3, 0.1, 2.0]},
                           index=pd.Index(["sBG", "BdW", "geometric"], name="model"))
    assert rr.best_family(compare) == "BdW"
    models = {"sBG": "a", "BdW": "b", "geometric": "c"}
    assert rr.shown_families(models, "BdW") == {"sBG": "a", "BdW": "b"}
    assert rr.shown_families(models, "sBG") == {"sBG": "a"}


def test_retention_at_and_compare_findings_synthetic(events, fitted):
    _, models, _ = fitted
    at = rr.retention_at(models, 365)
    assert at["sBG"] == pytest.approx(float(retention.sbg_survival(*models["sBG"].params_, 365)))
    cmp = rr.compare_families(events, END, "unbounded", holdout_days=10)
    with_at = rr.compare_with_projection(cmp, at, 365)
    assert with_at["retention_day365"].to_dict() == at
    c = rr.compare_findings(cmp, models, at, 365)
    assert c.best == cmp["holdout_mae"].idxmin() and c.cutoff == END - pd.Timedelta(days=10)
    assert c.best_mae == cmp.loc[c.best, "holdout_mae"]
    assert c.aic_best == cmp["aic"].idxmin() and c.bic_best == cmp["bic"].idxmin()
    assert c.geometric_worst  # the constant-churn model, wrong for these users
    top = cmp.nsmallest(3, "holdout_mae").index
    assert c.n_top == 3 and {c.low, c.high} <= set(top)
    assert c.low_value == min(at[m] for m in top) and c.high_value == max(at[m] for m in top)
    assert c.spread == pytest.approx(c.high_value - c.low_value)
    band = rr.survival_band(models["sBG"], [365]).iloc[0]
    assert c.sbg_width == pytest.approx(band["upper"] - band["lower"])
    assert c.model_matters_more == (c.spread > c.sbg_width)


def test_truth_curves_and_horizons_panel(arrivals):
    truth = arrivals.panel.truth
    expected = rr.expected_retention(arrivals)
    assert expected["age_days"].tolist() == sorted(arrivals.all_rows["age_days"].unique())
    curves = rr.truth_curves(arrivals, expected)
    (ages, surv), (exp_ages, _) = curves.values()
    np.testing.assert_allclose(surv, retention.sbg_survival(truth.churn_a, truth.churn_b, ages))
    assert list(curves)[1] == "expected unbounded retention (simulation)"
    assert exp_ages.equals(expected["age_days"])
    assert list(rr.projection_truths(arrivals, 90)) == ["true survival S(t) (simulation)"]
    classic = rr.projection_truths(dataclasses.replace(arrivals, definition="classic"), 90)
    assert len(classic) == 2 and len(classic["true share active on day t (simulation)"][0]) == 91
    at = rr.true_at_horizons(arrivals, [30, 90])
    assert list(at) == [30, 90]
    assert at[90] == pytest.approx(rr.true_retention(truth, [90], "unbounded")[0])


def test_projection_findings_and_numbers_panel(arrivals, sim_fit):
    proj = rr.projection_table(sim_fit, [30, 90], arrivals.n_arrivals)
    truth = rr.true_at_horizons(arrivals, [30, 90])
    assert rr.with_truth(proj, truth)["truth"].tolist() == [truth[30], truth[90]] * 2
    p = rr.projection_findings(proj, arrivals, "geometric", truth)
    sbg = proj[proj["model"] == "sBG"].set_index("horizon_days")
    geo = proj[proj["model"] == "geometric"].set_index("horizon_days")
    assert p.horizon == 90 and list(p.sbg_retention) == [30, 90]
    assert p.sbg_retention[30] == sbg.loc[30, "retention"]
    assert (p.sbg_users, p.sbg_users_lower) == (sbg.loc[90, "users"], sbg.loc[90, "users_lower"])
    assert p.best_users == geo.loc[90, "users"]
    assert p.truth_users == pytest.approx(truth[90] * arrivals.n_arrivals)
    assert p.beyond_days == 90 - arrivals.rows["age_days"].max()
    assert rr.projection_findings(proj, arrivals, "sBG", truth).best_users is None
    numbers = rr.projection_numbers(proj)
    assert [n["name"] for n in numbers[:4]] == ["retention_sBG_day30", "retention_sBG_day30_lower",
                                                "retention_sBG_day30_upper", "users_sBG_day30"]
    assert len(numbers) == 4 * len(proj) and numbers[3]["value"] == sbg.loc[30, "users"]
    res = Results("test")
    for n in numbers:
        res.number(**n)  # the keywords Results.number takes


def test_parameter_recovery_findings_and_numbers_panel(arrivals, sim_fit):
    truth = arrivals.panel.truth
    rec = rr.parameter_recovery(sim_fit["sBG"], arrivals, [30, 90])
    target = rr.pseudo_true_fit(retention.ShiftedBetaGeometric, truth, arrivals.rows,
                                "unbounded", arrivals.as_of)
    pd.testing.assert_frame_equal(rec, rr.recovery_table(sim_fit["sBG"], target, truth,
                                                         [30, 90], "unbounded",
                                                         arrivals.cohort_dates))
    expected = rr.expected_retention(arrivals)
    r = rr.recovery_findings(rec, arrivals, expected, 90)
    row = rec.set_index("quantity")
    assert r.alpha["estimate"] == row.loc["alpha", "estimate"]
    assert r.params_covered == bool(row.loc[["alpha", "beta"], "truth_in_interval"].all())
    assert r.target_covered == bool(row.loc[["alpha", "beta"], "target_in_interval"].all())
    assert r.bias_not_noise == (r.target_covered and not r.params_covered)
    assert r.horizon.name == "survival at day 90"
    assert r.projects_too == ("much" if row.loc["survival at day 90", "bias_percent"] > 0
                              else "little")
    below = [row.loc[q, "target"] < row.loc[q, "truth"] for q in ("alpha", "beta")]
    word = ["below" if b else "above" for b in below]
    assert r.target_vs_truth == (f"alpha and beta both {word[0]}" if below[0] == below[1]
                                 else f"alpha {word[0]} and beta {word[1]}")
    assert r.day1_survival == pytest.approx(truth.churn_b / (truth.churn_a + truth.churn_b))
    assert r.day1_measured == expected.set_index("age_days").loc[1, "retention"]
    numbers = rr.recovery_numbers(rec, 0.95)
    assert [n["name"] for n in numbers] == [f"{k}_{q}{s}" for q in ("alpha", "beta")
                                            for k, s in (("sbg", ""), ("sbg", "_lower"),
                                                         ("sbg", "_upper"), ("true", ""),
                                                         ("target", ""))]


def test_dau_check_findings_panel(sim_panel):
    check = sim_panel.anchor_check()
    d = rr.dau_check_findings(sim_panel, check)
    dau = sim_panel.scaled_dau
    assert d.level_day == pd.Timestamp("2025-02-18")  # Sensor Tower's 0.9 M (PM003)
    assert d.panel_level == dau.loc[d.level_day]
    assert d.panel_peak_day == dau.loc[:d.level_day].idxmax()
    assert d.panel_share == pytest.approx(d.panel_level / dau.loc[:d.level_day].max())
    assert d.published_level == 900_000 and d.published_share_percent == 30
    # 000: "约90万" -> 850,000-950,000; "30%左右" -> 27.5-32.5 % (data/raw/README.md rule)
    assert d.published_level_range == (850_000, 950_000)
    assert d.published_share_range == (27.5, 32.5)
    assert d.published_implied_peak == pytest.approx(3.0e6)
    assert d.published_peak_day == pd.Timestamp("2025-01-19")
    assert (d.n_within, d.n_checked) == (int(check["inside"].sum()), len(check))


# ------------------------------------------------------------------- BG/BB (issue 11)
# ``bgbb_synthetic``: an activity log drawn here with numpy from known BG/BB parameters
# (theta ~ Beta(gamma, delta) daily dropout, p ~ Beta(alpha, beta) daily activity while
# alive, active on the install day), independent of analysis.simulation.users.

BGBB_TRUTH = {"alpha": 2.0, "beta": 1.0, "gamma": 0.5, "delta": 3.0}


def bgbb_events(n_per_cohort=4000, n_cohorts=3, end=END, seed=11, truth=BGBB_TRUTH):
    rng = np.random.default_rng(seed)
    frames, next_id = [], 0
    for k in range(n_cohorts):
        c = C0 + pd.Timedelta(days=k)
        horizon = (end - c).days
        p = rng.beta(truth["alpha"], truth["beta"], n_per_cohort)
        theta = rng.beta(truth["gamma"], truth["delta"], n_per_cohort)
        first_dead = rng.geometric(theta)  # alive in periods 0 .. first_dead - 1
        ages = np.arange(horizon + 1)
        active = (rng.random((n_per_cohort, ages.size)) < p[:, None]) \
            & (ages[None, :] < first_dead[:, None])
        active[:, 0] = True
        u, a = np.nonzero(active)
        frames.append(pd.DataFrame({"user_id": (u + next_id).astype(np.int64),
                                    "event_date": c + pd.to_timedelta(a, unit="D"),
                                    "market": "US", "install_date": c}))
        next_id += n_per_cohort
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def bg_events():
    return bgbb_events()


def test_fit_bgbb_recovers_the_truth_bgbb_synthetic(bg_events):
    fit = rr.fit_bgbb(bg_events, C0, END, C0 + pd.Timedelta(days=2))
    assert fit.model is not None and fit.note == ""
    assert fit.n_users == 12000
    summ = fit.model.summary(0.999)
    for name, true in BGBB_TRUTH.items():
        assert summ.loc[name, "lower"] <= true <= summ.loc[name, "upper"], name


def test_bgbb_retention_matches_measured_unbounded_retention_bgbb_synthetic(bg_events):
    """The model's unbounded retention, computed from the true parameters, against the
    cohort engine's measured retention of 12,000 users drawn from them."""
    from analysis.models.bgbb import BetaGeometricBetaBinomial

    model = BetaGeometricBetaBinomial()
    model.params_ = pd.Series(BGBB_TRUTH)
    rows = cohorts.retention_table(common.build_cohort_table(bg_events, END), "unbounded")
    last = (END - rows["cohort_date"]).dt.days.to_numpy()
    for definition in ("unbounded", "classic"):
        rows = cohorts.retention_table(common.build_cohort_table(bg_events, END), definition)
        pred = rr.bgbb_retention(model, rows["age_days"], last, definition)
        err = np.abs(pred - rows["retention"].to_numpy())
        # binomial noise of a 4,000-user cohort: sd <= 0.8 points
        assert err.mean() < 0.006 and err.max() < 0.035, definition
    # near the end of the window unbounded retention falls towards the classic share
    unb = rr.bgbb_retention(model, [10, 59], [59, 59], "unbounded")
    assert unb[1] == pytest.approx(float(rr.bgbb_retention(model, [59], [59], "classic")[0]))
    assert unb[0] > unb[1]


def test_bgbb_holdout_and_compare_bgbb_synthetic(bg_events):
    arr = rr._cohorts_of(bg_events, C0, C0 + pd.Timedelta(days=2), END, "unbounded", 1.0,
                         panel=None)
    compare = rr.compare_families(bg_events, END, "unbounded", 14)
    row = rr.bgbb_holdout(arr, 14)
    assert row["holdout_rows"] == compare["holdout_rows"].iloc[0]
    # the model that generated the data projects the held-out days best
    assert row["holdout_mae"] < compare["holdout_mae"].min()
    table = rr.bgbb_compare(compare, row)
    assert list(table.index) == [*compare.index, rr.BGBB]
    assert table.loc[rr.BGBB, "likelihood"] == "per-user patterns"
    shown = rr.display_bgbb_compare(table)
    assert shown.loc[shown["model"].str.contains("BG/BB"), "model"].item() == "**BG/BB**"


def test_bgbb_recovery_and_alive_panel(sim_panel, arrivals, sim_fit):
    fit = rr.fit_bgbb_arrivals(arrivals)
    sbg = rr.parameter_recovery(sim_fit["sBG"], arrivals, [30, 90])
    rec = rr.bgbb_recovery(fit, sbg, sim_panel.truth, [30, 90])
    row = rec.set_index("quantity")
    truth = sim_panel.truth
    assert row["truth"].iloc[0] == truth.churn_a and row["truth"].iloc[1] == truth.churn_b
    assert row.loc["activity alpha", "comparable"] == False  # noqa: E712 (numpy bool)
    assert pd.isna(row.loc["activity alpha", "truth_in_interval"])
    assert row.loc["alive at day 90", "sbg_estimate"] == \
        sbg.set_index("quantity").loc["survival at day 90", "estimate"]
    assert (rec["lower"] <= rec["estimate"]).all() and (rec["estimate"] <= rec["upper"]).all()

    alive = rr.bgbb_alive(fit, [30, 90], sim_panel.scale_up, 0.95, truth=truth)
    assert alive["when"].iloc[0].startswith("day after the window (ages ")
    assert list(alive["when"].iloc[1:]) == ["day 30", "day 90"]
    assert (alive["share_lower"] <= alive["share"]).all()
    assert (alive["share"] <= alive["share_upper"]).all()
    assert alive["share"].iloc[1] > alive["share"].iloc[2]  # fewer alive later
    n = fit.n_users
    assert alive["users"].iloc[2] == pytest.approx(sim_panel.scale_up(alive["share"].iloc[2] * n))
    # beyond the window the conditional share comes from eq. (11): check one by hand
    p = fit.patterns
    by_hand = np.sum(p["weights"] * fit.model.probability_alive(
        p["frequency"], p["recency"], p["n_periods"], 90 - p["n_periods"])) / n
    assert alive["share"].iloc[2] == pytest.approx(by_hand, rel=1e-10)

    table = rr.bgbb_compare(rr.compare_families(arrivals.events, arrivals.as_of, "unbounded",
                                                7, [retention.ShiftedBetaGeometric]),
                            rr.bgbb_holdout(arrivals, 7))
    f = rr.bgbb_findings(table, fit, alive, rec)
    text = rr.bgbb_sentence(f, 0.95)
    assert f"{f.bgbb_mae:.2f} points" in text and "**simulated**" in text
    assert f"{100 * alive['share'].iloc[-1]:.2f} %" in text
    assert ("inside the BG/BB's intervals" in text) == f.recovery["dropout_covered"]
    observed_text = rr.bgbb_sentence(rr.bgbb_findings(table, fit, alive), 0.95, observed=True)
    assert "simulat" not in observed_text.lower()


def test_new_user_check_against_reuters_count_csv_panel(sim_panel):
    """Reuters' about 700,000 new users on 13-14 Jan 2025, all markets
    (press_figures.md -> PM129 in data/raw/published_metrics.csv, read here with
    pandas), against the panel's US installs on those days counted from its Parquet."""
    from analysis import config

    raw = pd.read_csv(config.PUBLISHED_METRICS_CSV, dtype=str).set_index("id")
    assert raw.loc["PM129", "metric"] == "new_users" and raw.loc["PM129", "value"] == "700000"
    log = pq.read_table(sim_panel.path).to_pandas()
    inst = pd.to_datetime(log["install_date"])
    users = log.loc[(log["market"] == "US") & (inst >= "2025-01-13") & (inst <= "2025-01-14"),
                    "user_id"].nunique()
    check = sim_panel.anchor_check()
    c = rr.new_user_check(sim_panel, check)
    assert c.simulated == pytest.approx(users / sim_panel.scale)
    assert (c.published_low, c.published_high) == (650_000, 750_000)
    row = check.set_index("id").loc["PM129"]
    assert c.inside == row["inside"]
    assert c.inside == (c.simulated <= 750_000 * (1 + simulate.INSIDE_SLACK
                                                  + 2 * row["sampling_error"]))
    assert np.isnan(c.calibrated)  # this panel was simulated from uncalibrated parameters
    fit = rr.CalibrationFit(n_figures=8, n_inside=8, conflicts=(), binding=("PM129",),
                            binding_text=(), surge_growth_percent=10.0, flat_conflicts=(),
                            first_two_days=750_000, published_low=650_000,
                            published_high=750_000)
    c = dataclasses.replace(c, calibrated=750_000.0, share_of_low=750_000 / 650_000)
    text = rr.new_user_sentence(c, fit, "US")
    assert "PM129" in text and "all markets" in text and "**simulated**" in text
    assert "upper end as a bound" in text and "The bound binds" in text
    assert "nothing for any other market" in text and "115 %" in text
    unbound = rr.new_user_sentence(c, dataclasses.replace(fit, binding=()), "US")
    assert "binds" not in unbound


def test_calibration_readings_brief_anchors():
    """Each reading of the published figures recalibrates the model: 'as fitted' is
    :func:`analysis.simulation.users.calibrate` on the anchors as selected; leaving a
    figure out fits one figure fewer; reading Reuters' count as US-only bounds the US
    arrivals from below by its lower end (650,000 under the "about" rule); the survival
    columns are the calibrated Beta(a, b)'s B(a, b + k) / B(a, b)."""
    import types

    from scipy.special import betaln

    anchors = simulate.load_anchors()
    table = rr.calibration_readings(types.SimpleNamespace(anchors=anchors),
                                    "2025-01-13", "2025-01-19").set_index("reading")
    assert list(table.index) == [r for r, _ in rr.READINGS]
    p = simulate.calibrate(anchors, compare_flat_surge=False).params
    base = table.loc["as fitted"]
    assert base["survival_day365"] == pytest.approx(
        np.exp(betaln(p.churn_a, p.churn_b + 365) - betaln(p.churn_a, p.churn_b)))
    inst = simulate.install_curve(p, end="2025-01-19").set_index("date")["installs"]
    assert base["arrivals"] == pytest.approx(inst["2025-01-13":].sum())
    n = int((anchors["weight"] > 0).sum())
    assert base["figures"] == n
    assert table.loc["without the new-user count", "figures"] == n - 1
    assert "PM129" not in table.loc["without the new-user count", "binding"]
    assert table.loc["without the downloads multiple", "figures"] == n - 1
    us = rr._read(anchors, "new-user count as US").set_index("id")
    assert us.loc["PM129", "low"] == 650_000 and us.loc["PM129", "high"] == 750_000
    with pytest.raises(ValueError, match="unknown reading"):
        rr._read(anchors, "by the moon")
    text = rr.readings_sentence(table.reset_index(), "2025-01-13", "2025-01-19")
    assert f"{100 * table['survival_day365'].min():.1f} %" in text
    shown = rr.display_readings(table.reset_index())
    assert "not churned at day 365" in shown.columns


def test_period_helpers_and_bounds():
    """Ages, guards and holdout cutoffs in the cohort period's unit; cohort windows of
    whole periods (weeks from Monday, calendar months)."""
    assert rr.guard_periods("unbounded", "day") == rr.END_GUARD_DAYS
    assert rr.guard_periods("unbounded", "week") == 2  # 14 days
    assert rr.guard_periods("unbounded", "month") == 1
    assert rr.guard_periods("classic", "month") == 0
    assert rr.periods_before("1998-06-30", 3, "month") == pd.Timestamp("1998-03-30")
    assert rr.periods_before("1998-06-30", 2, "week") == pd.Timestamp("1998-06-16")
    assert rr.periods_before("1998-06-30", 5, "day") == pd.Timestamp("1998-06-25")
    rr._check_period_bounds(pd.Timestamp("2025-01-06"), pd.Timestamp("2025-01-19"), "week")
    rr._check_period_bounds(pd.Timestamp("1997-01-01"), pd.Timestamp("1997-03-31"), "month")
    with pytest.raises(ValueError, match="week's first day.*2025-01-06 .. 2025-01-19"):
        rr._check_period_bounds(pd.Timestamp("2025-01-08"), pd.Timestamp("2025-01-19"), "week")
    with pytest.raises(ValueError, match="month's last day"):
        rr._check_period_bounds(pd.Timestamp("1997-01-01"), pd.Timestamp("1997-03-30"), "month")
    table = pd.DataFrame({"cohort_date": [pd.Timestamp("1997-01-01")], "age_months": [0]})
    assert rr.age_of(table) == "age_months" and rr.period_of(table) == "month"
    with pytest.raises(ValueError, match="no age column"):
        rr.age_of(pd.DataFrame({"cohort_date": []}))
    assert rr.definition_text("classic", "week") == "the share of a cohort active *in* week N"

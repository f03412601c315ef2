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
* ``panel`` -- a small panel written by :func:`analysis.simulation.users.simulate_panel` and
  counted independently with pyarrow.
"""

from __future__ import annotations

import datetime as dt

import matplotlib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from analysis.data import cohorts
from analysis.models import retention
from analysis.simulation import users as simulate
from analysis.notebooks import retention as rr
from analysis.pipeline.results import Results

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
    return rr.build_cohort_table(events, END)


@pytest.fixture(scope="module")
def fitted(table):
    rows = rr.fitting_rows(table, "unbounded", END)
    models, notes = rr.fit_families(rows, "unbounded")
    return rows, models, notes


# ------------------------------------------------------------------------------ cohorts


def test_build_cohort_table_ignores_events_after_as_of_synthetic(events):
    cutoff = END - pd.Timedelta(days=20)
    t = rr.build_cohort_table(events, cutoff)
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
    short = rr.build_cohort_table(events, C0 + pd.Timedelta(days=15))
    with pytest.raises(ValueError, match="fewer than three ages"):
        rr.fitting_rows(short, "unbounded", C0 + pd.Timedelta(days=15))


def test_cohort_events_reads_only_the_window_panel(tmp_path):
    path = simulate.simulate_panel(simulate.PanelParams(), scale=0.0005, seed=7,
                                   start="2025-01-01", end="2025-02-15", out_dir=tmp_path,
                                   progress=False)
    ev = rr.cohort_events(path, "2025-01-13", "2025-01-15", market="US")
    raw = pq.read_table(path)
    inst = raw["install_date"]
    mask = pc.and_(pc.greater_equal(inst, pa.scalar(dt.date(2025, 1, 13))),
                   pc.less_equal(inst, pa.scalar(dt.date(2025, 1, 15))))
    want = raw.filter(mask)
    assert len(ev) == want.num_rows
    assert ev["user_id"].nunique() == len(pc.unique(want["user_id"]))
    t = rr.build_cohort_table(ev, "2025-02-15")
    sizes = t.groupby("cohort_date")["cohort_size"].first()
    assert sizes.sum() == ev["user_id"].nunique()
    with pytest.raises(ValueError, match="no user"):
        rr.cohort_events(path, "2025-01-13", "2025-01-15", market="HK")
    with pytest.raises(ValueError, match="left-truncated"):
        rr.cohort_events(path, "2024-12-20", "2025-01-15")


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
    proj = rr.projection_table({"sBG": models["sBG"]}, [30, 365], n_users=15000, scale=0.01)
    assert list(proj["horizon_days"]) == [30, 365]
    np.testing.assert_allclose(proj["users"], proj["retention"] * 15000 / 0.01)
    assert (proj["lower"] < proj["retention"]).all() and (proj["retention"] < proj["upper"]).all()
    np.testing.assert_allclose(proj["retention"],
                               retention.sbg_survival(*models["sBG"].params_, [30, 365]))
    with pytest.raises(ValueError, match="scale"):
        rr.projection_table({"sBG": models["sBG"]}, [30], 1, scale=0)


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
    """A DAU series (at scale 1) built by hand to satisfy the brief's anchors."""
    days = pd.date_range("2024-12-01", "2025-03-31")
    dau = pd.Series(300_000.0, index=days)
    surge = pd.date_range("2025-01-13", "2025-01-19")
    dau[surge] = np.linspace(1.6e6, 3.0e6, surge.size)  # mean 2.3 M, peak on 19 Jan
    after = pd.date_range("2025-01-20", "2025-03-31")
    dau[after] = np.maximum(3.0e6 * np.exp(-np.arange(after.size) / 12.0), 900_000.0)
    dau[pd.date_range("2025-01-20", "2025-01-22")] = 0.83 * 2.3e6
    dau[pd.Timestamp("2025-02-18")] = 900_000.0
    return pd.DataFrame({"date": days, "dau": dau.to_numpy()})


def test_dau_anchor_check_brief_anchors():
    scale = 0.01
    dau = brief_dau().assign(dau=lambda d: d["dau"] * scale)  # a panel at 1 %
    check = rr.dau_anchor_check(dau, simulate.load_anchors(), scale)
    assert len(check) == (simulate.load_anchors()["weight"] > 0).sum()  # fitted only
    assert check["within"].all(), check
    c = check.set_index("kind")
    assert c.loc["share_of_peak", "panel"] == pytest.approx(0.30)
    assert c.loc["ratio_of_means", "panel"] == pytest.approx(0.83)
    assert c.loc["peak_day", "panel_date"] == pd.Timestamp("2025-01-19")
    # move the peak: the peak-day figure is no longer matched, and the share of peak drops
    moved = dau.copy()
    moved.loc[moved["date"] == "2025-01-25", "dau"] = 4.0e6 * scale
    bad = rr.dau_anchor_check(moved, simulate.load_anchors(), scale).set_index("kind")
    assert not bad.loc["peak_day", "within"]
    assert not bad.loc["share_of_peak", "within"]
    text = rr.describe_anchors(check)
    assert "US DAU peaked on 19 January 2025" in text
    assert "about 30 % of the peak on 18 February 2025" in text
    assert "17 % below 13-19 Jan" in text
    shown = rr.display_dau_check(check)
    assert shown["within"].eq("yes").all()
    assert not shown.astype(str).apply(lambda s: s.str.contains("nan")).any().any()


def test_dau_anchor_check_missing_day_brief_anchors():
    dau = brief_dau()
    dau = dau[dau["date"] != "2025-02-18"]
    with pytest.raises(ValueError, match="2025-02-18"):
        rr.dau_anchor_check(dau, simulate.load_anchors(), 1.0)


# ------------------------------------------------------------------ formatting, results


def test_format_interval_and_results_safe():
    assert rr.format_interval(0.0919, 0.0902, 0.0937, digits=2) == "9.19 % [9.02, 9.37]"
    assert rr.format_interval(0.5, np.nan, np.nan) == "50.0 % [n/a]"
    assert rr.format_interval(0.4645, 0.458, 0.471, percent=False, digits=3) == \
        "0.465 [0.458, 0.471]"
    frame = pd.DataFrame({"x": [1.0, np.nan], "d": [pd.Timestamp("2025-01-19"), pd.NaT]})
    safe = rr.for_results(frame)
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
    proj = rr.projection_table({"sBG": models["sBG"]}, [30, 365], 15000, 0.01)
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
    dau = brief_dau()
    check = rr.dau_anchor_check(dau, simulate.load_anchors(), 1.0)
    ax = rr.plot_dau_check(dau, check, 1.0)
    labels = ax.get_legend_handles_labels()[1]
    assert "Sensor Tower: implied peak (level / share)" in labels
    plt.close(ax.figure)

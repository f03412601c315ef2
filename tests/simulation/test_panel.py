"""Tests of :mod:`analysis.simulation.panel`: the :class:`Panel` value and the anchor check.

Sources named in the test names:

* ``panel`` -- a small panel written here by :func:`analysis.simulation.users.simulate_panel`
  (default parameters, scale 0.001, seed 7) and counted independently with pyarrow.
* ``brief_anchors`` -- :func:`analysis.simulation.users.load_anchors`, the published figures
  selected from data/raw/published_metrics.csv (Sensor Tower peak on 19 Jan 2025, about
  0.9 M = about 30 % of the peak on 18 Feb, -17 % on 20-22 Jan vs 13-19 Jan; Similarweb
  pre-surge level), against a DAU series built here by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from analysis.simulation import panel as panel_mod
from analysis.simulation import users as simulate
from analysis.simulation.panel import Panel, dau_anchor_check, true_params

SCALE, SEED = 0.001, 7


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return simulate.simulate_panel(simulate.PanelParams(), scale=SCALE, seed=SEED,
                                   out_dir=tmp_path_factory.mktemp("panel"), progress=False)


@pytest.fixture(scope="module")
def panel(path):
    return Panel.open(path, "US")


# ------------------------------------------------------------------------------ the value


def test_open_reads_params_json_panel(panel, path):
    meta = json.loads((path.parent / "params.json").read_text())
    assert panel.path == path and panel.market == "US"
    assert panel.metadata == meta and panel.label == meta["label"]
    assert (panel.scale, panel.seed) == (SCALE, SEED)
    assert panel.truth == simulate.PanelParams()
    assert panel.start == pd.Timestamp(meta["start"]) and panel.end == pd.Timestamp(meta["end"])
    assert panel.scale_up(3) == 3 / SCALE
    # the anchors are those of the published figures the panel carries
    pd.testing.assert_frame_equal(panel.anchors, simulate.anchors_from_published(panel.metrics))


def test_true_params_round_trip():
    p = simulate.PanelParams(churn_a=0.61, weekly=(0.9,) * 7)
    back = true_params({"params": json.loads(json.dumps(p.to_dict()))})
    assert back == p and isinstance(back.weekly, tuple)


def test_panel_is_frozen_and_checked(panel):
    with pytest.raises(dataclasses.FrozenInstanceError):
        panel.scale = 0.5
    with pytest.raises(ValueError, match="simulated"):
        dataclasses.replace(panel, metadata={**panel.metadata, "simulated": False})
    with pytest.raises(ValueError, match="scale"):
        dataclasses.replace(panel, scale=0.0)


def test_load_builds_through_ensure_panel(monkeypatch, path):
    calls = []

    def fake_ensure(scale, seed, progress=None):
        calls.append((scale, seed, progress))
        return path

    monkeypatch.setattr(panel_mod, "ensure_panel", fake_ensure)
    p = Panel.load(SCALE, SEED, "US")
    assert calls == [(SCALE, SEED, None)]
    assert p.path == path and p.scale == SCALE and p.market == "US"


# -------------------------------------------------------------------------------- reads


def test_events_are_the_markets_rows_panel(panel, path):
    ev = panel.events(["user_id", "event_date"])
    raw = pq.read_table(path)
    assert len(ev) == raw.num_rows  # a US-only panel
    assert list(ev.columns) == ["user_id", "event_date", "market"]
    assert ev["event_date"].dtype == "datetime64[ns]"
    with pytest.raises(ValueError, match="no event in market 'HK'"):
        dataclasses.replace(panel, market="HK").events()


def test_cohort_events_reads_only_the_window_panel(panel, path):
    ev = panel.cohort_events("2025-01-13", "2025-01-15")
    raw = pq.read_table(path)
    inst = raw["install_date"]
    mask = pc.and_(pc.greater_equal(inst, pa.scalar(dt.date(2025, 1, 13))),
                   pc.less_equal(inst, pa.scalar(dt.date(2025, 1, 15))))
    want = raw.filter(mask)
    assert len(ev) == want.num_rows
    assert ev["user_id"].nunique() == len(pc.unique(want["user_id"]))
    with pytest.raises(ValueError, match="no user"):
        dataclasses.replace(panel, market="HK").cohort_events("2025-01-13", "2025-01-15")
    with pytest.raises(ValueError, match="left-truncated"):
        panel.cohort_events("2024-11-20", "2025-01-15")
    with pytest.raises(ValueError, match="before cohort_start"):
        panel.cohort_events("2025-01-15", "2025-01-13")


def test_dau_counted_once_and_scaled_panel(panel, path):
    raw = pq.read_table(path, columns=["user_id", "event_date"]).to_pandas()
    by_hand = raw.drop_duplicates().groupby("event_date").size()
    dau = panel.dau
    assert list(dau.columns) == ["date", "dau"]
    np.testing.assert_array_equal(dau["dau"].to_numpy(), by_hand.to_numpy())
    assert panel.dau is dau  # cached
    np.testing.assert_allclose(panel.scaled_dau.to_numpy(), dau["dau"].to_numpy() / SCALE)
    assert panel.scaled_dau.index.equals(pd.DatetimeIndex(dau["date"]))


def test_expected_dau_defaults_to_the_window(panel):
    e = panel.expected_dau()
    assert e["date"].min() == panel.start and e["date"].max() == panel.end
    pd.testing.assert_frame_equal(
        e, simulate.expected_dau(panel.truth, start=panel.start, end=panel.end))
    assert panel.expected_dau(end="2025-06-30")["date"].max() == pd.Timestamp("2025-06-30")


def test_installs_counted_by_install_day_panel(panel, path):
    raw = pq.read_table(path, columns=["user_id", "install_date"]).to_pandas()
    raw["install_date"] = pd.to_datetime(raw["install_date"])
    new = raw[raw["install_date"] >= panel.start].drop_duplicates("user_id")
    by_hand = new.groupby("install_date").size()
    got = panel.installs
    assert got.index.equals(pd.date_range(panel.start, panel.end, freq="D"))
    np.testing.assert_array_equal(got[by_hand.index].to_numpy(), by_hand.to_numpy())
    assert got.drop(by_hand.index).eq(0).all()
    np.testing.assert_allclose(panel.scaled_installs.to_numpy(), got.to_numpy() / SCALE)


def test_anchor_check_is_the_scaled_dau_against_the_anchors_panel(panel):
    pd.testing.assert_frame_equal(
        panel.anchor_check(),
        dau_anchor_check(panel.scaled_dau, panel.anchors, panel.scaled_installs, scale=SCALE))


# ------------------------------------------------------------------------ anchor check


def brief_installs() -> pd.Series:
    """New users per day (full scale) built by hand: 5,000 a day, 700,000 on 13-14 Jan,
    so 8-14 Jan holds (25,000 + 700,000) / 35,000 = 20.7x the week before."""
    days = pd.date_range("2024-12-01", "2025-03-31")
    new = pd.Series(5_000.0, index=days)
    new[pd.date_range("2025-01-13", "2025-01-14")] = 350_000.0
    return new


def brief_dau() -> pd.Series:
    """A DAU series (full scale) built by hand to satisfy the brief's anchors."""
    days = pd.date_range("2024-12-01", "2025-03-31")
    dau = pd.Series(300_000.0, index=days)
    surge = pd.date_range("2025-01-13", "2025-01-19")
    dau[surge] = np.linspace(1.6e6, 3.0e6, surge.size)  # mean 2.3 M, peak on 19 Jan
    after = pd.date_range("2025-01-20", "2025-03-31")
    dau[after] = np.maximum(3.0e6 * np.exp(-np.arange(after.size) / 12.0), 900_000.0)
    dau[pd.date_range("2025-01-20", "2025-01-22")] = 0.83 * 2.3e6
    dau[pd.Timestamp("2025-02-18")] = 900_000.0
    return dau


def test_dau_anchor_check_brief_anchors():
    anchors = simulate.load_anchors()
    check = dau_anchor_check(brief_dau(), anchors, brief_installs())
    assert len(check) == (anchors["weight"] > 0).sum()  # fitted anchors only
    assert check["inside"].all(), check
    c = check.set_index("kind")
    assert c.loc["share_of_peak", "panel"] == pytest.approx(0.30)
    assert c.loc["ratio_of_means", "panel"] == pytest.approx(0.83)
    assert c.loc["peak_day", "panel_date"] == pd.Timestamp("2025-01-19")
    # move the peak: the peak-day figure is no longer matched, and the share of peak drops
    moved = brief_dau()
    moved[pd.Timestamp("2025-01-25")] = 4.0e6
    bad = dau_anchor_check(moved, anchors, brief_installs()).set_index("kind")
    assert not bad.loc["peak_day", "inside"]
    assert not bad.loc["share_of_peak", "inside"]
    # more new users than Reuters' all-market count allows: outside its bound
    many = brief_installs()
    many[pd.Timestamp("2025-01-14")] = 500_000.0
    c = dau_anchor_check(brief_dau(), anchors, many).set_index("kind")
    assert c.loc["new_users", "panel"] == 850_000 and not c.loc["new_users", "inside"]
    with pytest.raises(ValueError, match="new users per day"):
        dau_anchor_check(brief_dau(), anchors)


def test_dau_anchor_check_allows_sampling_error_brief_anchors():
    """At scale 0.001 the 18 Feb level (about 900 panel users) has a relative Poisson
    s.d. of 1/sqrt(900) = 3.3 %: 3 % below the interval's lower end is inside with the
    allowance (2 s.d.) and outside without it."""
    anchors = simulate.load_anchors()
    dau = brief_dau()
    dau[pd.Timestamp("2025-02-18")] = 850_000 * 0.97
    exact = dau_anchor_check(dau, anchors, brief_installs()).set_index("id")
    sampled = dau_anchor_check(dau, anchors, brief_installs(), scale=0.001).set_index("id")
    assert not exact.loc["PM003", "inside"] and exact.loc["PM003", "sampling_error"] == 0
    assert sampled.loc["PM003", "inside"]
    assert sampled.loc["PM003", "sampling_error"] == pytest.approx(1 / np.sqrt(824.5), rel=1e-3)


def test_dau_anchor_check_missing_day_brief_anchors():
    dau = brief_dau().drop(pd.Timestamp("2025-02-18"))
    with pytest.raises(ValueError, match="2025-02-18"):
        dau_anchor_check(dau, simulate.load_anchors(), brief_installs())

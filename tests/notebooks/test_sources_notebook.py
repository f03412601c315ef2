"""Helpers of notebook 00 (analysis.notebooks.sources): the timeline draws each date as it
was arrived at (issue 13, audit item 9: "late January" was a line on 21 January, an
undated status an event on its article's date)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.data import sources  # noqa: E402
from analysis.notebooks import sources as helpers  # noqa: E402

DAY = pd.Timedelta(days=1)


def _timeline(rows):
    frame = pd.DataFrame(rows, columns=["id", "period_start", "period_end", "kind", "metric",
                                        "value", "qualifier", "provider", "date_basis"])
    for col in ("period_start", "period_end"):
        frame[col] = pd.to_datetime(frame[col])
    frame["date_text"] = [sources.date_text(a, b, k) for a, b, k in zip(
        frame["period_start"], frame["period_end"], frame["date_basis"], strict=True)]
    frame["unit"] = np.where(frame["kind"] == "dau", "users", "events")
    return frame


SYNTHETIC = _timeline([
    ("X1", "2025-01-06", "2025-01-06", "dau", "dau", 3e5, "approximate", "Similarweb",
     "approximate"),
    ("X2", "2025-01-13", "2025-01-13", "dau", "dau", 3.4e6, "approximate", "Similarweb", "day"),
    ("X3", "2025-01-21", "2025-01-31", "ads", "ad_campaign_launch", 1, "exact", "none",
     "period"),
    ("X4", "2025-01-22", "2025-01-22", "rank", "ad_placements_peak", 1, "rank", "AppGrowing",
     "day"),
    ("X5", "2025-02-20", "2025-02-20", "event", "app_store_overall_chart_exit", 1, "exact",
     "Qimai", "as_of"),
])


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _vertical_lines_at(ax, date) -> list:
    x = mdates.date2num(pd.Timestamp(date))
    return [ln for ln in ax.lines
            if len(ln.get_xdata()) == 2 and np.allclose(mdates.date2num(ln.get_xdata()), x)
            and ln.get_transform().contains_branch_seperately(ax.transData)[0]
            and ln.get_ydata()[0] != ln.get_ydata()[1]]


def _by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def _span_x(patch) -> tuple[float, float]:
    xs = patch.get_path().transformed(patch.get_patch_transform()).vertices[:, 0] \
        if hasattr(patch, "get_patch_transform") else patch.get_xy()[:, 0]
    return float(np.min(xs)), float(np.max(xs))


def test_a_period_is_a_span_not_a_line_at_its_start(ax):
    helpers.plot_timeline(SYNTHETIC, ax=ax)
    spans = _by_gid(ax, "period:X3")
    assert len(spans) == 1
    assert _span_x(spans[0]) == pytest.approx(
        (mdates.date2num(pd.Timestamp("2025-01-21")), mdates.date2num(pd.Timestamp("2025-02-01"))))
    assert _vertical_lines_at(ax, "2025-01-21") == []
    assert any("21-31 Jan 2025" in t.get_text() for t in ax.texts)


def test_a_stated_day_is_a_dashed_line(ax):
    helpers.plot_timeline(SYNTHETIC, ax=ax)
    (line,) = _by_gid(ax, "day:X4")
    assert np.allclose(mdates.date2num(line.get_xdata()), mdates.date2num(pd.Timestamp("2025-01-22")))
    assert line.get_linestyle() == "--"
    assert _vertical_lines_at(ax, "2025-01-22") == [line]  # the check sees such a line


def test_an_as_of_status_points_back_from_its_date_and_says_by(ax):
    helpers.plot_timeline(SYNTHETIC, ax=ax)
    (marker,) = _by_gid(ax, "as_of:X5")
    date = mdates.date2num(pd.Timestamp("2025-02-20"))
    assert np.allclose(mdates.date2num(marker.get_xdata()), date)
    assert _vertical_lines_at(ax, "2025-02-20") == []
    labels = [t for t in ax.texts if t.get_text().startswith("by 20 Feb 2025")]
    assert len(labels) == 1
    arrows = [t for t in ax.texts if t.arrow_patch is not None and t.get_text() == ""]
    (arrow,) = arrows
    tip, tail = mdates.date2num(arrow.xy[0]), mdates.date2num(arrow.xyann[0])
    assert tip < tail == pytest.approx(date)  # the head is on the left


def test_an_approximate_date_gets_its_assumed_window_in_the_legend(ax):
    helpers.plot_timeline(SYNTHETIC, ax=ax)
    x = mdates.date2num(pd.Timestamp("2025-01-06"))
    half = helpers.APPROXIMATE_DATE_DAYS
    bars = [seg for c in ax.collections if hasattr(c, "get_segments")
            for seg in c.get_segments()
            if len(seg) == 2 and np.isclose(seg[0][1], 3e5) and np.isclose(seg[1][1], 3e5)]
    assert [(s[0][0], s[1][0]) for s in bars] == [pytest.approx((x - half, x + half))]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("date approximate" in t and str(half) in t for t in legend)
    # a DAU figure of a stated day gets no window
    x2 = mdates.date2num(pd.Timestamp("2025-01-13"))
    assert not [seg for c in ax.collections if hasattr(c, "get_segments")
                for seg in c.get_segments() if np.isclose(seg[0][0], x2 - half)]


def test_the_real_timeline_draws_late_january_as_a_span(ax):
    timeline = sources.episode_timeline(sources.load_published_metrics())
    helpers.plot_timeline(timeline, ax=ax)
    pm005 = timeline.set_index("id").loc["PM005"]
    (span,) = _by_gid(ax, "period:PM005")
    assert _span_x(span) == pytest.approx((mdates.date2num(pm005["period_start"]),
                                           mdates.date2num(pm005["period_end"] + DAY)))
    assert not _by_gid(ax, "day:PM005")
    assert _vertical_lines_at(ax, pm005["period_start"]) == []
    assert _by_gid(ax, "as_of:PM008")
    assert _by_gid(ax, "day:PM006")


def test_timeline_date_findings_list_what_the_figure_draws_as_spans_and_by_dates():
    d = helpers.timeline_date_findings(SYNTHETIC)
    assert list(d["spans"]["id"]) == ["X3"]
    assert list(d["as_of"]["id"]) == ["X5"]
    assert list(d["approximate"]["id"]) == ["X1"]
    assert d["counts"] == {"day": 2, "period": 1, "as_of": 1, "approximate": 1}
    assert sum(d["counts"].values()) == len(SYNTHETIC)


def test_the_figure_draws_the_window_the_calibration_assumes():
    """Notebook 00 draws "about Jan 6" over the same +- days that the calibration reads it
    as (analysis.data.sources.APPROXIMATE_DATE_DAYS): one assumption, not two."""
    from analysis.simulation import users

    a = users.load_anchors().set_index("id").loc["PM122"]
    half = pd.Timedelta(days=helpers.APPROXIMATE_DATE_DAYS)
    assert helpers.APPROXIMATE_DATE_DAYS == sources.APPROXIMATE_DATE_DAYS
    assert (a["date"], a["end"]) == (pd.Timestamp("2025-01-06") - half,
                                     pd.Timestamp("2025-01-06") + half)


def test_the_calibration_and_the_timeline_find_the_same_approximate_days():
    from analysis.simulation import users

    metrics = sources.with_date_basis(sources.load_published_metrics())
    calibration = {r.id for r in metrics.itertuples() if users._approximate_day(r)}
    assert calibration == set(metrics.loc[metrics["date_basis"] == "approximate", "id"])
    assert calibration == {"PM122"}

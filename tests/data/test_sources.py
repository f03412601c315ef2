"""The published-figures loader: schema errors name file, row and column.

Reference values are the published figures themselves (Sensor Tower via the seed article
data/raw/seeds/000_77cca1003b724cc9.txt: about 0.9 M US DAU on 18 February 2025, about
30 % of the 19 January peak).
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import config
from analysis.data import sources
from analysis.data.sources import DataValidationError


@pytest.fixture(scope="module")
def metrics():
    return sources.load_published_metrics()


@pytest.fixture
def raw_rows():
    return pd.read_csv(config.PUBLISHED_METRICS_CSV, dtype=str, keep_default_na=False)


def write(frame: pd.DataFrame, tmp_path):
    path = tmp_path / "published_metrics.csv"
    frame.to_csv(path, index=False)
    return path


def test_loads_with_typed_columns(metrics):
    assert len(metrics) >= 50
    assert pd.api.types.is_datetime64_any_dtype(metrics["period_start"])
    assert pd.api.types.is_float_dtype(metrics["value"])
    assert list(metrics.columns) == list(sources.COLUMNS)


def test_missing_column_is_named(raw_rows, tmp_path):
    path = write(raw_rows.drop(columns="unit"), tmp_path)
    with pytest.raises(DataValidationError, match=r"column 'unit'.*missing"):
        sources.load_published_metrics(path)


def test_non_numeric_value_names_row_and_column(raw_rows, tmp_path):
    raw_rows.loc[4, "value"] = "about 3 million"
    path = write(raw_rows, tmp_path)
    with pytest.raises(DataValidationError) as err:
        sources.load_published_metrics(path)
    message = str(err.value)
    assert "published_metrics.csv" in message
    assert "row 5 (line 6), column 'value'" in message
    assert "about 3 million" in message
    assert err.value.problems[0]["row"] == 5


def test_unknown_unit_lists_allowed_units(raw_rows, tmp_path):
    raw_rows.loc[0, "unit"] = "furlongs"
    with pytest.raises(DataValidationError, match=r"row 1 \(line 2\), column 'unit'.*"
                                                   r"furlongs.*one of users"):
        sources.load_published_metrics(write(raw_rows, tmp_path))


def test_bad_date_is_named(raw_rows, tmp_path):
    raw_rows.loc[2, "period_start"] = "2025-02-30"
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), column 'period_start'"):
        sources.load_published_metrics(write(raw_rows, tmp_path))


def test_duplicate_id_is_named(raw_rows, tmp_path):
    raw_rows.loc[7, "id"] = raw_rows.loc[6, "id"]
    with pytest.raises(DataValidationError) as err:
        sources.load_published_metrics(write(raw_rows, tmp_path))
    rows = {(p["row"], p["column"]) for p in err.value.problems}
    assert {(7, "id"), (8, "id")} <= rows
    assert "unique id" in str(err.value)


def test_unknown_column_and_unknown_source(raw_rows, tmp_path):
    raw_rows["colour"] = "red"
    raw_rows.loc[3, "source"] = "nowhere.txt"
    with pytest.raises(DataValidationError) as err:
        sources.load_published_metrics(write(raw_rows, tmp_path))
    text = str(err.value)
    assert "column 'colour'" in text and "no such column" in text
    assert "row 4 (line 5), column 'source'" in text


def test_every_problem_is_reported_at_once(raw_rows, tmp_path):
    raw_rows.loc[0, "value"] = "x"
    raw_rows.loc[1, "qualifier"] = "roughly"
    with pytest.raises(DataValidationError) as err:
        sources.load_published_metrics(write(raw_rows, tmp_path))
    assert len(err.value.problems) == 2


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        sources.load_published_metrics(tmp_path / "absent.csv")


def test_raw_file_is_not_modified_by_loading():
    before = config.PUBLISHED_METRICS_CSV.read_bytes()
    sources.load_published_metrics()
    assert config.PUBLISHED_METRICS_CSV.read_bytes() == before


def test_implied_peak_from_sensor_tower(metrics):
    """0.9 M on 18 Feb 2025 is about 30 % of the peak (seed 000, Sensor Tower)."""
    peak = sources.implied_peak_dau(metrics)
    assert peak["level"] == 900_000
    assert peak["share_percent"] == 30
    assert peak["implied_peak"] == pytest.approx(900_000 / 0.30)
    assert sources.peak_day(metrics) == pd.Timestamp("2025-01-19")


def test_provider_disagreement_ratios(metrics):
    """Similarweb's 3.4 M on 13 Jan (Reuters, 16 Jan 2025) against the 3.0 M implied peak."""
    gap = sources.provider_disagreement(metrics)
    row = gap[gap["date"] == pd.Timestamp("2025-01-13")].iloc[0]
    assert row["ratio"] == pytest.approx(3.4e6 / 3.0e6)
    assert row["phase"] == "surge"
    assert set(gap.loc[gap["date"] < pd.Timestamp("2025-01-13"), "phase"]) == {"pre-surge"}


def test_timeline_is_sorted_and_classified(metrics):
    timeline = sources.episode_timeline(metrics)
    assert timeline["period_start"].is_monotonic_increasing
    assert {"dau", "ads", "rank"} <= set(timeline["kind"])
    assert (timeline["period_start"] >= pd.Timestamp("2025-01-01")).all()


def test_figures_by_provider_totals(metrics):
    table = sources.figures_by_provider(metrics)
    assert table.loc["total", "total"] == len(metrics)
    assert sources.short_source("000_77cca1003b724cc9.txt") == "seed 000"
    assert sources.short_source("press_figures.md") == "press"

"""The published-figures loader: schema errors name file, row and column.

Reference values are the published figures themselves (Sensor Tower via the seed article
data/raw/seeds/000_77cca1003b724cc9.txt: about 0.9 M US DAU on 18 February 2025, about
30 % of the 19 January peak). The malformed files below are the cases of issue 16
("published_metrics.csv: an empty file gives a bare pandas EmptyDataError; a non-UTF-8
byte a bare UnicodeDecodeError ...; a dd/mm/yyyy date names the column but not the row
or value; a truncated last line yields 14 problems ...; an invalid date leaks an internal
TypeError"), each made from a copy of the real file; data/raw/ is only read.
"""

from __future__ import annotations

import csv
import io

import numpy as np
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
    expected = list(sources.COLUMNS)
    at = expected.index("value") + 1
    expected[at:at] = ["value_low", "value_high"]  # derived: hedges as intervals
    assert list(metrics.columns) == expected


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


def lines_of_raw() -> list[str]:
    return config.PUBLISHED_METRICS_CSV.read_text(encoding="utf-8").splitlines(keepends=True)


def with_field(lines: list[str], row: int, column: str, value: str) -> list[str]:
    """The lines with one cell of data row ``row`` (1-based) replaced, CSV-quoted."""
    header = lines[0].rstrip("\n").split(",")
    fields = next(csv.reader([lines[row]]))
    fields[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return [*lines[:row], out.getvalue(), *lines[row + 1:]]


def write_bytes(data: bytes, tmp_path):
    path = tmp_path / "published_metrics.csv"
    path.write_bytes(data)
    return path


def only_problem(path) -> dict:
    with pytest.raises(DataValidationError) as err:
        sources.load_published_metrics(path)
    assert len(err.value.problems) == 1, str(err.value)
    problem = err.value.problems[0]
    assert problem["file"] == path
    return problem | {"message": str(err.value)}


@pytest.mark.parametrize("data", [b"", b"\n\n", b"   \r\n"], ids=["empty", "newlines", "blank"])
def test_empty_file_is_a_validation_error(tmp_path, data):
    """Issue 16: an empty file gave a bare pandas EmptyDataError."""
    path = write_bytes(data, tmp_path)
    p = only_problem(path)
    assert (p["row"], p["line"]) == (None, 1)
    assert "(the file is empty)" in p["message"]
    assert f"{path}, line 1; expected a header line (id,entity," in p["message"]


def test_header_only_is_a_validation_error(tmp_path):
    p = only_problem(write_bytes(lines_of_raw()[0].encode(), tmp_path))
    assert p["line"] == 2 and "at least one data row" in p["expected"]


def test_non_utf8_byte_names_row_column_and_value(tmp_path):
    """Issue 16: a non-UTF-8 byte gave a bare UnicodeDecodeError with no file or line."""
    lines = lines_of_raw()
    fields = lines[4].split(",")
    fields[1] = "Red\udcffNote"  # a lone 0xFF byte in the entity of data row 4
    data = "".join([*lines[:4], ",".join(fields), *lines[5:]]).encode("utf-8", "surrogateescape")
    path = write_bytes(data, tmp_path)
    p = only_problem(path)
    assert (p["row"], p["line"], p["column"], p["value"]) == (4, 5, "entity", "Red\\xffNote")
    assert "byte 0xFF is not UTF-8" in p["expected"]
    assert f"{path}, row 4 (line 5), column 'entity': got 'Red\\\\xffNote'" in p["message"]


def test_non_utf8_byte_in_the_header(tmp_path):
    lines = lines_of_raw()
    data = ("".join(lines)).encode().replace(b"note_en", b"note_\xe9n", 1)
    p = only_problem(write_bytes(data, tmp_path))
    assert (p["row"], p["line"], p["column"]) == (None, 1, "note_\\xe9n")


@pytest.mark.parametrize("value", ["18/02/2025", "02/18/2025", "18.02.2025", "20250218",
                                   "2025-2-18", "Feb 18 2025", "2025-02-18T00:00"])
def test_date_not_written_yyyy_mm_dd_names_row_and_value(tmp_path, value):
    """Issue 16: a dd/mm/yyyy date named the column but not the row or the value."""
    path = write_bytes("".join(with_field(lines_of_raw(), 3, "period_start", value)).encode(),
                       tmp_path)
    p = only_problem(path)
    assert (p["row"], p["line"], p["column"], p["value"]) == (3, 4, "period_start", value)
    assert f"row 3 (line 4), column 'period_start': got '{value}'; expected a date " \
           "YYYY-MM-DD" in p["message"]


@pytest.mark.parametrize("value", ["2025-02-30", "2025-13-01", "2025-00-10", "soon"])
def test_invalid_date_is_one_problem_without_internal_errors(tmp_path, value):
    """Issue 16: an invalid date also leaked an internal TypeError as a second problem."""
    for column in ("period_start", "period_end"):
        path = write_bytes(
            "".join(with_field(lines_of_raw(), 3, column, value)).encode(), tmp_path)
        p = only_problem(path)
        assert (p["row"], p["column"], p["value"]) == (3, column, value)
        assert "TypeError" not in p["message"]


def test_period_end_before_start_names_the_row(tmp_path):
    lines = with_field(lines_of_raw(), 3, "period_end", "2024-01-01")
    p = only_problem(write_bytes("".join(lines).encode(), tmp_path))
    assert (p["row"], p["line"], p["column"], p["value"]) == (3, 4, "period_end", "2024-01-01")
    assert "on or after period_start (2025-" in p["expected"]


@pytest.mark.parametrize("keep", [5, 60, 120, -40])
def test_truncated_last_line_is_one_problem_explained(tmp_path, keep):
    """Issue 16: a truncated last line yielded 14 problems with wrong explanations."""
    raw = config.PUBLISHED_METRICS_CSV.read_bytes()
    last_start = raw.rstrip(b"\n").rfind(b"\n") + 1
    n_rows = raw.count(b"\n") - 1
    path = write_bytes(raw[: last_start + keep] if keep > 0 else raw[:keep], tmp_path)
    p = only_problem(path)
    assert (p["row"], p["line"]) == (n_rows, n_rows + 1)
    assert p["column"] in sources.COLUMNS and p["value"]
    assert ("13 fields, one per column; found" in p["expected"]
            or "the file ends in the middle of this row" in p["expected"]
            or "never closed" in p["expected"])


def test_truncated_last_line_message(tmp_path):
    raw = config.PUBLISHED_METRICS_CSV.read_bytes()
    last_start = raw.rstrip(b"\n").rfind(b"\n") + 1
    # cut two bytes into the 'qualifier' field (the 9th; the fields before it are unquoted)
    at = last_start
    for _ in range(8):
        at = raw.index(b",", at) + 1
    qualifier = raw[at: raw.index(b",", at)].decode()
    path = write_bytes(raw[: at + 2], tmp_path)
    p = only_problem(path)
    assert p["column"] == "qualifier" and p["value"] == qualifier[:2]
    assert p["expected"].startswith("13 fields, one per column; found 9, so 'provider', "
                                    "'source', 'source_quote', 'note_en' got none")


def test_missing_final_line_break_is_reported(tmp_path):
    raw = config.PUBLISHED_METRICS_CSV.read_bytes()
    p = only_problem(write_bytes(raw.rstrip(b"\n"), tmp_path))
    assert p["column"] == "note_en" and "is it truncated?" in p["expected"]


def test_row_with_an_extra_field(tmp_path):
    lines = with_field(lines_of_raw(), 6, "qualifier", "x")
    lines[6] = lines[6].replace(",x,", ",x,y,", 1)
    p = only_problem(write_bytes("".join(lines).encode(), tmp_path))
    assert (p["row"], p["line"]) == (6, 7)
    assert "found 14: 1 more than the header has" in p["expected"]


def test_broken_quoting_names_row_and_column(tmp_path):
    lines = lines_of_raw()
    fields = lines[7].split(",")
    fields[3] = '"metric"x'  # text after a closing quote
    lines[7] = ",".join(fields)
    p = only_problem(write_bytes("".join(lines).encode(), tmp_path))
    assert (p["row"], p["line"], p["column"], p["value"]) == (7, 8, "metric", '"metric"x')
    assert "the rows from here on could not be read" in p["expected"]


def test_unclosed_quote_names_where_it_opens(tmp_path):
    lines = lines_of_raw()
    source = next(csv.reader([lines[-1]]))[10]  # the 'source' field, before source_quote
    head, rest = lines[-1].split(f",{source},", 1)
    # a quote opens source_quote and nothing after it closes it
    lines[-1] = f'{head},{source},"' + rest.replace('"', "")[:150]
    p = only_problem(write_bytes("".join(lines).encode(), tmp_path))
    assert p["row"] == len(lines) - 1 and p["column"] == "source_quote"
    assert "never closed" in p["expected"]


def test_duplicate_column_in_header(tmp_path):
    lines = lines_of_raw()
    lines[0] = lines[0].replace("note_en", "unit")
    p = only_problem(write_bytes("".join(lines).encode(), tmp_path))
    assert (p["line"], p["column"]) == (1, "unit") and "appears twice" in p["expected"]


def test_line_numbers_follow_multi_line_cells_and_blank_lines(tmp_path):
    """A quoted cell with a line break and a blank line shift the lines after them."""
    lines = with_field(lines_of_raw(), 2, "note_en", "two\nlines")
    lines.insert(5, "\n")
    lines = with_field(lines, 9, "unit", "furlongs")  # data row 8 now: blank line above
    p = only_problem(write_bytes("".join(lines).encode(), tmp_path))
    assert (p["row"], p["line"], p["value"]) == (8, 11, "furlongs")


@pytest.mark.parametrize("transform", [
    lambda b: b.replace(b"\n", b"\r\n"),
    lambda b: b"\xef\xbb\xbf" + b,
], ids=["crlf", "bom"])
def test_windows_line_ends_and_bom_read_the_same(tmp_path, transform, metrics):
    path = write_bytes(transform(config.PUBLISHED_METRICS_CSV.read_bytes()), tmp_path)
    pd.testing.assert_frame_equal(sources.load_published_metrics(path), metrics)


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


def test_provider_disagreement_is_like_for_like_with_intervals(metrics):
    """Sensor Tower (seed 000): about 0.9 M on 18 Feb = about 30 % of the 19 Jan peak, so
    the peak is 0.85-0.95 M over 27.5-32.5 %. Similarweb: 3.4 M on 13 Jan (Reuters,
    about) and 32.5 M on 19 Jan (its blog) (press_figures.md). Only 19 Jan is the same
    day; on 13 Jan Sensor Tower is only known to be at most its peak."""
    gap = sources.provider_disagreement(metrics).set_index("date")
    lo_peak, hi_peak = 850_000 / 0.325, 950_000 / 0.275
    same = gap.loc[pd.Timestamp("2025-01-19")]
    assert same["comparison"].startswith("same day")
    assert same["ratio_low"] == pytest.approx(32.5e6 / hi_peak)
    assert same["ratio_high"] == pytest.approx(32.5e6 / lo_peak)
    jan13 = gap.loc[pd.Timestamp("2025-01-13")]
    assert jan13["Similarweb low"] == pytest.approx(3.35e6)
    assert jan13["ratio_low"] == pytest.approx(3.35e6 / hi_peak)
    assert np.isnan(jan13["ratio_high"])  # no upper bound: no Sensor Tower level that day
    assert set(gap.loc[gap.index < pd.Timestamp("2025-01-13"), "phase"]) == {"pre-surge"}
    assert gap.loc[gap["phase"] == "pre-surge", "ratio_low"].isna().all()


@pytest.mark.parametrize(("value", "qualifier", "unit", "want"), [
    (900_000, "approximate", "users", (850_000, 950_000)),   # 约90万 -> 85-95万 (issue 13)
    (30, "approximate", "percent", (27.5, 32.5)),            # 30%左右 -> 27.5-32.5 %
    (3_400_000, "approximate", "users", (3_350_000, 3_450_000)),
    (8.1, "estimate", "multiple", (8.05, 8.15)),
    (17, "approximate", "percent", (16.5, 17.5)),
    (700_000, "at_most", "users", (np.nan, 700_000)),         # 不足 / under: upper bound
    (20, "at_least", "multiple", (20, np.nan)),               # 超过 / more than: lower bound
    (97_810_000, "exact", "users", (97_810_000, 97_810_000)),
])
def test_hedges_become_intervals(value, qualifier, unit, want):
    got = sources.value_interval(value, qualifier, unit)
    np.testing.assert_allclose(got, want)


def test_loaded_rows_carry_their_interval(metrics):
    assert list(metrics.columns[metrics.columns.get_loc("value"):][:3]) == \
        ["value", "value_low", "value_high"]
    exact = metrics[metrics["qualifier"] == "exact"]
    assert (exact["value_low"] == exact["value"]).all()
    assert (exact["value_high"] == exact["value"]).all()
    # (an approximate zero, "几乎停滞" = almost halted, has no rounding step: it stays 0)
    hedged = metrics[metrics["qualifier"].isin(sources.HEDGED) & (metrics["value"] != 0)]
    assert ((hedged["value_low"] < hedged["value"])
            & (hedged["value"] < hedged["value_high"])).all()
    assert metrics.loc[metrics["qualifier"] == "at_least", "value_high"].isna().all()
    assert metrics.loc[metrics["qualifier"] == "at_most", "value_low"].isna().all()
    peak = sources.implied_peak_dau(metrics)
    assert (peak["implied_peak_low"], peak["implied_peak_high"]) == pytest.approx(
        (850_000 / 0.325, 950_000 / 0.275))


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


# --- vocabulary and event kinds (issue 13: providers, markets, entities, metrics are closed sets)

def _row_of(metric: str) -> int:
    """1-based data row of the first row with ``metric``."""
    frame = pd.read_csv(config.PUBLISHED_METRICS_CSV, dtype=str, keep_default_na=False)
    return int(frame.index[frame["metric"] == metric][0]) + 1


@pytest.mark.parametrize("column, value", [
    ("provider", "Sensortower"), ("market", "USA"), ("entity", "Xiaohongshu"),
    ("metric", "daily_actives"),
])
def test_a_name_outside_the_vocabulary_names_row_and_column(tmp_path, column, value):
    lines = with_field(lines_of_raw(), 4, column, value)
    p = only_problem(write_bytes("".join(lines).encode(), tmp_path))
    assert (p["row"], p["column"], p["value"]) == (4, column, value)
    assert "one of" in p["expected"] or "vocabulary" in p["expected"]


@pytest.mark.parametrize("metric, column, value, starts, says", [
    # an event kind with another unit; an event kind counts one event; unit events on
    # a metric that is no event kind
    ("policy_event", "unit", "count", "unit 'events'", "event kind"),
    ("company_event", "value", "3", "value 1", "event kind"),
    ("dau", "unit", "events", "a unit other than 'events'", "not an event kind"),
])
def test_event_kinds_are_checked_with_row_and_column(tmp_path, metric, column, value,
                                                     starts, says):
    row = _row_of(metric)
    lines = with_field(lines_of_raw(), row, column, value)
    p = only_problem(write_bytes("".join(lines).encode(), tmp_path))
    assert (p["row"], p["column"], p["value"]) == (row, column, value)
    assert p["expected"].startswith(starts) and says in p["expected"]


def test_readme_lists_every_metric_of_the_vocabulary():
    import re

    readme = (config.RAW_DIR / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`([a-z0-9_]+)`", readme))
    assert set(sources.METRICS) <= listed, sorted(set(sources.METRICS) - listed)
    assert set(sources.EVENT_METRICS) <= set(sources.METRICS)

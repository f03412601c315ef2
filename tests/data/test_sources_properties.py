"""Property-based tests of the published-figures loader: corrupt a copy of the real file
at random and the loader always answers with a DataValidationError naming the file and
the row that was damaged, never another exception (issue 16, "Add property-based tests
(hypothesis) ... for the CSV loader").

The valid file is ``data/raw/published_metrics.csv`` itself (read, never written); the
four corruptions are those issue 16 lists: a deleted field, a bad date, a stray byte, a
truncated line. Deterministic (``derandomize=True``) and small enough for ``make test``.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import config
from analysis.data import sources
from analysis.data.sources import DataValidationError

RAW = config.PUBLISHED_METRICS_CSV.read_bytes()
LINES = RAW.decode("utf-8").splitlines(keepends=True)
HEADER = next(csv.reader([LINES[0]]))
N_ROWS = len(LINES) - 1  # the file has no multi-line cells: data row r is on line r + 1
ROWS = st.integers(1, N_ROWS)
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return tmp_path_factory.mktemp("corrupt") / "published_metrics.csv"


def problems_of(path, data: bytes) -> list[dict]:
    path.write_bytes(data)
    with pytest.raises(DataValidationError) as err:  # any other exception fails the test
        sources.load_published_metrics(path)
    problems = err.value.problems
    assert problems and all(p["file"] == path for p in problems)
    assert str(path) in str(err.value)
    return problems


def csv_line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue()


def with_row(row: int, fields: list[str]) -> bytes:
    return "".join([*LINES[:row], csv_line(fields), *LINES[row + 1:]]).encode("utf-8")


def fields_of(row: int) -> list[str]:
    return next(csv.reader([LINES[row]]))


@PROPERTY
@given(row=ROWS, column=st.sampled_from(HEADER))
def test_a_deleted_field_is_named_at_its_row(target, row, column):
    fields = fields_of(row)
    del fields[HEADER.index(column)]
    problems = problems_of(target, with_row(row, fields))
    assert [(p["row"], p["line"]) for p in problems] == [(row, row + 1)]
    assert f"found {len(HEADER) - 1}" in problems[0]["expected"]


def impossible_days():
    """YYYY-MM-DD strings that are no calendar day (2025-02-30, 2024-13-01, ...)."""
    def day_after_month_end(year_month):
        year, month = year_month
        last = calendar.monthrange(year, month)[1]
        return st.integers(last + 1, 99).map(lambda d: f"{year:04d}-{month:02d}-{d:02d}")
    return st.one_of(
        st.tuples(st.integers(1900, 2100), st.integers(1, 12)).flatmap(day_after_month_end),
        st.tuples(st.integers(1900, 2100), st.integers(13, 99), st.integers(1, 28)).map(
            lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"),
    )


DAYS = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))
BAD_DATES = st.one_of(
    DAYS.map(lambda d: d.strftime("%d/%m/%Y")),   # the dd/mm/yyyy case of issue 16
    DAYS.map(lambda d: d.strftime("%m/%d/%Y")),
    DAYS.map(lambda d: d.strftime("%Y%m%d")),
    DAYS.map(lambda d: d.strftime("%d %b %Y")),
    impossible_days(),
    st.text(min_size=1, max_size=12).filter(lambda s: not _is_iso_day(s)),
)


def _is_iso_day(s: str) -> bool:
    try:
        return len(s) == 10 and dt.date.fromisoformat(s).isoformat() == s
    except ValueError:
        return False


@PROPERTY
@given(row=ROWS, column=st.sampled_from(["period_start", "period_end"]), value=BAD_DATES)
def test_a_bad_date_is_one_problem_naming_row_column_and_value(target, row, column, value):
    fields = fields_of(row)
    fields[HEADER.index(column)] = value
    problems = problems_of(target, with_row(row, fields))
    assert len(problems) == 1, problems
    p = problems[0]
    assert (p["row"], p["line"], p["column"]) == (row, row + 1, column)
    if value.strip():  # a blank cell is reported as empty, without a value
        assert p["value"] == value


#: Bytes that make any UTF-8 text invalid wherever they are inserted: a continuation
#: byte without its lead byte, or a byte UTF-8 never uses.
STRAY = st.one_of(st.integers(0x80, 0xBF), st.integers(0xF8, 0xFF))
BODY = len(LINES[0].encode())  # first byte after the header line


@PROPERTY
@given(position=st.integers(BODY, len(RAW) - 1), byte=STRAY)
def test_a_stray_byte_is_named_at_its_row(target, position, byte):
    row = RAW.count(b"\n", 0, position)  # the row whose line holds the byte
    problems = problems_of(target, RAW[:position] + bytes([byte]) + RAW[position:])
    assert [(p["row"], p["line"]) for p in problems] == [(row, row + 1)]
    p = problems[0]
    if p["column"] is not None and p["value"] is not None:
        assert p["column"] in HEADER


@PROPERTY
@given(row=ROWS, data=st.data())
def test_a_truncated_line_is_named_at_its_row(target, row, data):
    """The file cut short inside the line of ``row`` (a partial download or copy)."""
    start = sum(len(line.encode()) for line in LINES[:row])
    length = len(LINES[row].encode())  # the line break included
    keep = data.draw(st.integers(1, length - 1), label="bytes kept of the line")
    problems = problems_of(target, RAW[: start + keep])
    assert {(p["row"], p["line"]) for p in problems} == {(row, row + 1)}


def test_the_raw_file_is_untouched_by_the_properties():
    assert config.PUBLISHED_METRICS_CSV.read_bytes() == RAW

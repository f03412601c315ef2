"""read_event_log: an analyst's own log, mapped and checked (issue 14).

Expected frames come from the pandas references of :mod:`analysis.data.cohorts` on the
same log built in memory; the error cases name the file, the column and the row.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from analysis import _io
from analysis.data import cohorts as C
from analysis.data.activity import user_activity
from analysis.data.events import read_event_log


def _log() -> pd.DataFrame:
    return pd.DataFrame({
        "customer": [10, 10, 11, 12, 12, 12, 13],
        "day": [19970101, 19970102, 19970101, 19970103, 19970110, 19970201, 19970105],
        "country": ["US", "US", "CA", "US", "US", "US", "CA"],
    })  # fmt: skip


def _standard(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"user_id": df["customer"],
                         "event_date": pd.to_datetime(df["day"].astype(str), format="%Y%m%d"),
                         "market": df["country"]})


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet", "duckdb"])
def test_formats_with_integer_dates_match_reference(tmp_path, fmt):
    df = _log()
    path = tmp_path / f"log.{fmt}"
    if fmt == "parquet":
        df.to_parquet(path)
    elif fmt == "duckdb":
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE purchases AS SELECT * FROM df")
        con.close()
    else:
        df.to_csv(path, index=False, compression="gzip" if fmt.endswith("gz") else None)
    log = read_event_log(path, user_column="customer", time_column="day", market_column="country",
                         time_format="%Y%m%d", table="purchases" if fmt == "duckdb" else None)
    assert (log.n_rows, log.first_day, log.last_day) == (7, dt.date(1997, 1, 1), dt.date(1997, 2, 1))
    assert log.sha256 == {str(path.resolve()): _io.sha256(path)}
    assert _io.relative(path.resolve()) in _io.files_read()  # the .d file names it
    want = _standard(df)
    for by_market in (False, True):
        pd.testing.assert_frame_equal(C.cohort_table(log, by_market=by_market),
                                      C._reference_cohort_table(want, by_market=by_market))
        pd.testing.assert_frame_equal(C.daily_active_users(log, by_market=by_market),
                                      C._reference_daily_active_users(want, by_market=by_market))
    pd.testing.assert_frame_equal(
        C.cohort_table(log, cohort_period="week"),
        C._reference_cohort_table(want, cohort_period="week"))
    assert len(user_activity(log, "week")) == 4


def test_glob_and_directory_of_csv(tmp_path):
    df = _log()
    (tmp_path / "d").mkdir()
    df.iloc[:3].to_csv(tmp_path / "d" / "a.csv", index=False)
    df.iloc[3:].to_csv(tmp_path / "d" / "b.csv", index=False)
    want = C._reference_cohort_table(_standard(df))
    for src in (tmp_path / "d", str(tmp_path / "d" / "*.csv")):
        log = read_event_log(src, user_column="customer", time_column="day", time_format="%Y%m%d")
        assert len(log.paths) == 2 and len(log.checksum) == 64
        pd.testing.assert_frame_equal(C.cohort_table(log), want)


def test_time_zone_aware_times_count_in_the_given_zone(tmp_path):
    # 23:30 in New York on 13 January is 04:30 UTC on the 14th: it stays on the 13th
    p = tmp_path / "tz.csv"
    p.write_text("uid,ts\na,2025-01-13T23:30:00-05:00\nb,2025-01-14T04:30:00Z\n"
                 "c,2025-01-14 09:00:00\n")
    with pytest.raises(C.CohortInputError, match=r"time-zone-aware.*set timezone"):
        read_event_log(p, user_column="uid", time_column="ts")
    log = read_event_log(p, user_column="uid", time_column="ts", timezone="America/New_York")
    days = log.to_pandas().set_index("user_id")["event_date"].astype(str).to_dict()
    assert days == {"a": "2025-01-13", "b": "2025-01-13", "c": "2025-01-14"}
    utc = read_event_log(p, user_column="uid", time_column="ts", timezone="UTC")
    assert utc.to_pandas().set_index("user_id")["event_date"].astype(str)["a"] == "2025-01-14"


def test_aware_parquet_and_dataframe(tmp_path):
    df = pd.DataFrame({"user_id": [1, 2], "event_date": pd.to_datetime(
        ["2025-01-14 04:30", "2025-01-14 15:00"]).tz_localize("UTC")})
    df.to_parquet(tmp_path / "a.parquet")
    log = read_event_log(tmp_path / "a.parquet", timezone="America/New_York")
    assert C.daily_active_users(log)["dau"].tolist() == [1, 1]  # the 13th and the 14th
    with pytest.raises(C.CohortInputError, match="time-zone-aware"):
        C.daily_active_users(df)  # never silently grouped by UTC day


def test_epoch_seconds(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("u,t\n1,1736829000\n2,1736848800\n")  # 2025-01-14 04:30 and 10:00 UTC
    log = read_event_log(p, user_column="u", time_column="t", time_format="epoch_seconds",
                         timezone="America/Los_Angeles")
    assert log.to_pandas()["event_date"].astype(str).tolist() == ["2025-01-13", "2025-01-14"]


def _write(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_errors_name_file_column_and_row(tmp_path):
    p = _write(tmp_path, "customer,day\n1,19970101\n2,19970102\n3,1997-13-45\n4,19970104\n")
    with pytest.raises(C.CohortInputError) as e:
        read_event_log(p, user_column="customer", time_column="day", time_format="%Y%m%d")
    msg = str(e.value)
    assert "bad.csv" in msg and "'day'" in msg and "'1997-13-45'" in msg and "row 3 (line 4)" in msg
    with pytest.raises(C.CohortInputError, match=r"set time_format"):
        read_event_log(_write(tmp_path, "c,d\n1,19970101\n", "int.csv"), user_column="c",
                       time_column="d")
    with pytest.raises(C.CohortInputError, match=r"missing column.*'user' \(user_column\).*found: customer, day"):
        read_event_log(p, user_column="user", time_column="day")
    q = _write(tmp_path, "customer,day\n1,2025-01-01\n,2025-01-02\n", "nulls.csv")
    with pytest.raises(C.CohortInputError, match=r"1 of 2 rows have a null user id .*nulls.csv, row 2"):
        read_event_log(q, user_column="customer", time_column="day")
    with pytest.raises(C.CohortInputError, match=r"empty activity log \(0 bytes\).*empty.csv"):
        read_event_log(_write(tmp_path, "", "empty.csv"))
    with pytest.raises(C.CohortInputError, match=r"empty activity log \(0 rows\)"):
        read_event_log(_write(tmp_path, "user_id,event_date\n", "header.csv"))
    late = _write(tmp_path, "customer,day\n1,2025-01-01\n2,2025-01-02\n", "late.csv")
    with pytest.raises(C.CohortInputError, match=r"after as_of=2025-01-01.*'2025-01-02'.*row 2"):
        read_event_log(late, user_column="customer", time_column="day", as_of="2025-01-01")
    with pytest.raises(C.CohortInputError, match="does not exist"):
        read_event_log(tmp_path / "nope.csv")
    with pytest.raises(C.CohortInputError, match="no file matches"):
        read_event_log(str(tmp_path / "*.parquet"))
    with pytest.raises(ValueError, match="timezone must be an IANA zone"):
        read_event_log(q, timezone="Mars/Olympus")


def test_parquet_bad_value_row(tmp_path):
    pd.DataFrame({"user_id": [1, 2, 3], "event_date": ["2025-01-01", "2025-01-02", "soon"]}
                 ).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(C.CohortInputError, match=r"'soon' at .*p.parquet, row 3"):
        read_event_log(tmp_path / "p.parquet")


def test_cohort_period_guard_drops_incomplete_last_period():
    df = pd.DataFrame({"user_id": [1, 1, 2], "event_date": pd.to_datetime(
        ["2025-01-06", "2025-02-03", "2025-02-20"])})
    t = C.cohort_table(df, cohort_period="month", as_of="2025-02-27")
    assert t["cohort_date"].astype(str).unique().tolist() == ["2025-01-01"]  # February is not over
    full = C.cohort_table(df, cohort_period="month", as_of="2025-02-28")
    assert full["age_months"].tolist() == [0, 1, 0]
    with pytest.raises(C.CohortInputError, match="no event falls in a complete week"):
        C.cohort_table(df.iloc[2:], cohort_period="week")
    with pytest.raises(ValueError, match="cohort_period must be one of"):
        C.cohort_table(df, cohort_period="quarter")

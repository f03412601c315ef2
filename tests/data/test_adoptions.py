"""read_opt_ins and read_effort: an analyst's own adoption table and effort series (issue 14).

Expected frames are computed here with pandas from the same small tables (first row per
merchant and market; effort summed per day); the error cases name the file, the column
(with its parameter) and the row.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis import _io
from analysis.data.adoptions import read_effort, read_opt_ins
from analysis.data.cohorts import CohortInputError


def _opt_ins() -> pd.DataFrame:
    # shop s2 has a second, later row in FR and a row in DE: two adoptions, one repeat
    return pd.DataFrame({
        "shop": ["s1", "s2", "s3", "s2", "s2", "s4"],
        "joined": [20250303, 20250301, 20250310, 20250320, 20250305, 20250302],
        "country": ["FR", "FR", "DE", "FR", "DE", "DE"],
    })  # fmt: skip


def _reference(df: pd.DataFrame, by_market: bool) -> pd.DataFrame:
    d = df.assign(adoption_date=pd.to_datetime(df["joined"].astype(str), format="%Y%m%d"),
                  market=df["country"] if by_market else "all")
    first = d.groupby(["shop", "market"])["adoption_date"].min().reset_index()
    return (first.rename(columns={"shop": "merchant_id"})
            .sort_values(["adoption_date", "market", "merchant_id"])
            .reset_index(drop=True)[["merchant_id", "market", "adoption_date"]])


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
@pytest.mark.parametrize("by_market", [False, True])
def test_first_row_per_merchant_and_market_matches_pandas(tmp_path, fmt, by_market):
    df = _opt_ins()
    path = tmp_path / f"opt_ins.{fmt}"
    if fmt == "parquet":
        df.to_parquet(path)
    elif fmt == "duckdb":
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE opt_ins AS SELECT * FROM df")
        con.close()
    else:
        df.to_csv(path, index=False)
    t = read_opt_ins(path, merchant_column="shop", time_column="joined",
                     market_column="country" if by_market else None, time_format="%Y%m%d",
                     table="opt_ins" if fmt == "duckdb" else None)
    want = _reference(df, by_market)
    got = t.adoptions.assign(adoption_date=lambda f: f["adoption_date"].astype("datetime64[ns]"))
    pd.testing.assert_frame_equal(got, want.assign(
        adoption_date=lambda f: f["adoption_date"].astype("datetime64[ns]")),
        check_dtype=False)
    assert t.n_rows == 6 and t.n_repeat_rows == 6 - len(want)
    assert t.markets == (["DE", "FR"] if by_market else ["all"])
    assert t.log.sha256 == {str(path.resolve()): _io.sha256(path)}
    assert _io.relative(path.resolve()) in _io.files_read()  # the .d file names it


def _write(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, kwargs, pieces", [
    ("shop,joined\n", {}, ["empty opt-in table (0 rows)", "bad.csv"]),
    ("shop,joined\na,2025-03-01\n,2025-03-02\n", {},
     ["null merchant id", "'shop'", "bad.csv, row 2 (line 3)"]),
    ("shop,joined\na,2025-03-01\nb,2025-13-45\n", {},
     ["'joined'", "'2025-13-45'", "bad.csv, row 2 (line 3)", "time_format"]),
    ("shop,when\na,2025-03-01\n", {},
     ["missing column(s) 'joined' (time_column)", "bad.csv", "found: shop, when"]),
    ("id,joined\na,2025-03-01\n", {},
     ["missing column(s) 'shop' (merchant_column)", "found: id, joined"]),
    ("shop,joined,country\na,2025-03-01,FR\nb,2025-03-02,\n", {"market_column": "country"},
     ["no market", "'country', market_column", "bad.csv, row 2 (line 3)"]),
    ("shop,joined\na,2025-03-01\nb,2025-04-02\n", {"as_of": "2025-03-31"},
     ["after as_of=2025-03-31", "'2025-04-02'", "bad.csv, row 2 (line 3)"]),
])
def test_bad_opt_in_tables_name_file_column_and_row(tmp_path, text, kwargs, pieces):
    p = _write(tmp_path, text)
    with pytest.raises(CohortInputError) as e:
        read_opt_ins(p, merchant_column="shop", time_column="joined", **kwargs)
    msg = str(e.value)
    for piece in pieces:
        assert piece in msg, (piece, msg)
    assert "activity log" not in msg and "user id" not in msg


def test_missing_and_zero_byte_files(tmp_path):
    with pytest.raises(CohortInputError, match="opt-in table not found"):
        read_opt_ins(tmp_path / "nope.csv")
    (tmp_path / "zero.csv").write_bytes(b"")
    with pytest.raises(CohortInputError, match=r"empty opt-in table \(0 bytes\) in .*zero.csv"):
        read_opt_ins(tmp_path / "zero.csv")


def test_effort_summed_per_day_and_per_period(tmp_path):
    p = _write(tmp_path, "day,spend\n2025-03-01,5\n2025-03-01,2.5\n2025-03-08,4\n2025-03-20,1\n",
               "spend.csv")
    e = read_effort(p, time_column="day", effort_column="spend")
    assert e.daily["effort"].tolist() == [7.5, 4.0, 1.0]
    edges = pd.DatetimeIndex(pd.to_datetime(["2025-03-01", "2025-03-08", "2025-03-15"]))
    # the row of 20 March lies after the last period and is not counted
    assert np.array_equal(e.per_period(edges), [7.5, 4.0])
    assert _io.relative(p.resolve()) in _io.files_read()


@pytest.mark.parametrize("text, pieces", [
    ("day,spend\n2025-03-01,5\n2025-03-02,abc\n",
     ["'spend' (effort_column)", "are not numbers", "'abc'", "row 2 (line 3)"]),
    ("day,spend\n2025-03-01,5\n2025-03-02,-3\n",
     ["'spend' (effort_column)", "are negative", "'-3'", "row 2 (line 3)"]),
    ("day,spend\n2025-03-01,5\n2025-03-02,\n",
     ["null effort value", "'spend'", "row 2 (line 3)"]),
    ("date,cost\n2025-03-01,5\n",
     ["'spend' (effort_column)", "'day' (effort_time_column)", "found: date, cost"]),
])
def test_bad_effort_series_name_file_column_and_row(tmp_path, text, pieces):
    p = _write(tmp_path, text, "spend.csv")
    with pytest.raises(CohortInputError) as e:
        read_effort(p, time_column="day", effort_column="spend")
    for piece in pieces:
        assert piece in str(e.value), (piece, str(e.value))

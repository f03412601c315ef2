"""The cohort engine on Apache Spark (``engine="spark"``) against the DuckDB engine (issue 10).

The cases of tests/data/test_cohorts.py (its random logs, hand example, window, chunk
and install-before-start cases, input types and Parquet layouts) run on both engines and
must give identical frames (``assert_frame_equal``: values, dtypes, column order and
index); Spark-only sources (catalog tables, Spark DataFrames, CSV) are compared with the
DuckDB frame of the same log; bad input must fail on Spark with the DuckDB engine's
messages. One SparkSession in ``local[2]`` for the module (4 shuffle partitions, no UI).

Without pyspark or Java the module skips, naming what to install. Marked ``slow``: about
100 Spark jobs of ~0.5-1 s each in local mode take 60-140 s here (2 cores), so `make
test-fast` leaves them out; `make test` and CI run them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from data.test_cohorts import _random_log  # the DuckDB tests' log generator

from analysis.data import cohorts as C

_SKIP = None
if importlib.util.find_spec("pyspark") is None:
    _SKIP = ("pyspark is not installed: pip install -e '.[spark]' (pinned: pip install -c "
             "requirements/lock.txt -e '.[spark]') and a Java runtime (Debian: apt-get install "
             "openjdk-17-jre-headless)")
elif not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    _SKIP = ("no Java runtime for Spark (java not on PATH, JAVA_HOME unset): apt-get install "
             "openjdk-17-jre-headless, and pip install -e '.[spark]'")
if _SKIP:
    pytest.skip(_SKIP, allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("analysis-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.default.parallelism", "2")
               .config("spark.sql.adaptive.enabled", "false")  # small jobs: less planning
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.memory", "1g")
               .config("spark.ui.showConsoleProgress", "false")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return _random_log()


def both(fn, source, spark_source=None, **kw):
    """``fn`` on DuckDB and on Spark (same source unless ``spark_source``); asserts the
    frames are identical and returns the DuckDB one."""
    want = fn(source, **kw)
    got = fn(source if spark_source is None else spark_source, engine="spark", **kw)
    pd.testing.assert_frame_equal(got, want)
    return want


# ------------------------------------------------------------------ equality with DuckDB


@pytest.mark.parametrize("period", ["day", "week", "month"])
@pytest.mark.parametrize("by_market", [False, True])
@pytest.mark.parametrize("cohort", ["first_active", "install"])
def test_cohort_table_same_on_both(spark, log, cohort, by_market, period):
    want = both(C.cohort_table, log, cohort=cohort, by_market=by_market, cohort_period=period)
    pd.testing.assert_frame_equal(want, C._reference_cohort_table(
        log, cohort=cohort, by_market=by_market, cohort_period=period))


@pytest.mark.parametrize("by_market", [False, True])
def test_dau_same_on_both(spark, log, by_market):
    both(C.daily_active_users, log, by_market=by_market)


def test_hand_computed_example(spark):
    df = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3], "event_date": pd.to_datetime(
        ["2025-01-01", "2025-01-01", "2025-01-03", "2025-01-02", "2025-01-05", "2025-01-02"])})
    dau = C.daily_active_users(df, engine="spark")
    assert dau["dau"].tolist() == [1, 2, 1, 0, 1]
    t = C.cohort_table(df, engine="spark")
    c2 = t[t["cohort_date"] == "2025-01-02"]
    assert c2["active_users"].tolist() == [2, 0, 0, 1]
    assert c2["active_on_or_after"].tolist() == [2, 1, 1, 1]
    both(C.cohort_table, df)
    both(C.daily_active_users, df)


def test_as_of_extends_window_with_zeros(spark, log):
    end = log["event_date"].max() + pd.Timedelta(days=3)
    both(C.cohort_table, log, as_of=end)
    dau = both(C.daily_active_users, log, as_of=end.date(), by_market=True)
    assert dau["dau"].iloc[-3:].tolist() == [0, 0, 0]
    for period in ("week", "month"):  # as_of on or just before a period's last day
        for extra in (0, 1, 2):
            both(C.cohort_table, log, cohort="install", cohort_period=period,
                 as_of=dt.date(2025, 3, 31) + dt.timedelta(days=extra))


@pytest.mark.parametrize("n_days", [1, 65, 600])
def test_word_and_chunk_boundaries(spark, n_days):
    df = _random_log(seed=n_days, n_users=12, n_days=n_days)
    for cohort in ("first_active", "install"):
        both(C.cohort_table, df, cohort=cohort, by_market=True)
    both(C.daily_active_users, df)


def test_install_cohorts_before_log_start(spark):
    df = pd.DataFrame({
        "user_id": [1, 1, 2],
        "event_date": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-02"]),
        "install_date": pd.to_datetime(["2024-12-25", "2024-12-25", "2025-01-02"]),
    })
    t = both(C.cohort_table, df, cohort="install")
    assert t[t["cohort_date"] == "2024-12-25"]["age_days"].tolist() == [7, 8, 9]
    long = _random_log(seed=5, n_users=30, n_days=120)
    long = long.assign(install_date=long["install_date"] - pd.Timedelta(days=40))
    for period in ("week", "month"):
        both(C.cohort_table, long, cohort="install", cohort_period=period, by_market=True)


@pytest.mark.parametrize("convert", [
    lambda s: s.dt.date,  # python dates (object)
    lambda s: s.dt.strftime("%Y-%m-%d"),  # ISO strings
    lambda s: s.dt.strftime("%Y-%m-%d %H:%M:%S"),  # ISO strings with a time
    lambda s: s + pd.Timedelta(hours=13),  # timestamps within the day
    lambda s: (s - pd.Timestamp("1970-01-01")).dt.days.astype("int32"),  # day numbers
], ids=["date", "iso", "iso-time", "timestamp", "day-number"])
def test_event_date_types(spark, log, convert):
    both(C.cohort_table, log.assign(event_date=convert(log["event_date"])))


def test_string_and_categorical_ids(spark, log):
    df = log.assign(user_id="u" + log["user_id"].astype(str),
                    market=log["market"].astype("category"))
    both(C.cohort_table, df, by_market=True)


def test_naive_days_do_not_move_with_the_session_time_zone(spark, log, tmp_path):
    """A naive 23:30 stays on its day whatever spark.sql.session.timeZone is (the pandas
    and Parquet sources), and a Spark TIMESTAMP (an instant) counts on its day in the
    session's zone."""
    late = log.assign(event_date=log["event_date"] + pd.Timedelta(hours=23, minutes=30),
                      install_date=log["install_date"] + pd.Timedelta(hours=1))
    p = tmp_path / "late.parquet"
    late.to_parquet(p, index=False)
    want = C.cohort_table(log, cohort="install")
    old = spark.conf.get("spark.sql.session.timeZone")
    try:
        spark.conf.set("spark.sql.session.timeZone", "Asia/Shanghai")
        for src in (late, p):
            pd.testing.assert_frame_equal(C.cohort_table(src, cohort="install", engine="spark"),
                                          want)
        # an instant: 23:30 in New York is the next day in UTC
        ny = late.assign(event_date=late["event_date"].dt.tz_localize("America/New_York"))
        sdf = spark.createDataFrame(ny[["user_id", "event_date"]])
        assert dict(sdf.dtypes)["event_date"] == "timestamp"
        spark.conf.set("spark.sql.session.timeZone", "America/New_York")
        pd.testing.assert_frame_equal(C.cohort_table(sdf, engine="spark"), C.cohort_table(log))
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        shifted = C.cohort_table(log.assign(event_date=log["event_date"] + pd.Timedelta(days=1)))
        pd.testing.assert_frame_equal(C.cohort_table(sdf, engine="spark"), shifted)
    finally:
        spark.conf.set("spark.sql.session.timeZone", old)
    with pytest.raises(ValueError, match="time-zone-aware"):  # pandas: the DuckDB rule
        C.cohort_table(ny, engine="spark")
    with pytest.raises(ValueError, match="time-zone-aware"):
        C.cohort_table(ny)


# ------------------------------------------------------------------------------ sources


def test_parquet_path_str_and_path(spark, log, tmp_path):
    p = tmp_path / "log.parquet"
    log.to_parquet(p, index=False)
    for src in (p, str(p), f"file://{p}"):
        both(C.cohort_table, p, spark_source=src, cohort="install", by_market=True)
        both(C.daily_active_users, p, spark_source=src)


def test_parquet_date32_small_row_groups(spark, log, tmp_path):
    tbl = pa.Table.from_pandas(
        log.assign(event_date=log["event_date"].dt.date, install_date=log["install_date"].dt.date),
        preserve_index=False)
    p = tmp_path / "log32.parquet"
    pq.write_table(tbl, p, row_group_size=17)
    both(C.cohort_table, p, cohort="install", cohort_period="week")


def test_glob_directory_and_list_of_files(spark, log, tmp_path):
    ds.write_dataset(pa.Table.from_pandas(log, preserve_index=False), tmp_path / "events",
                     format="parquet", partitioning=["market"], partitioning_flavor="hive",
                     max_rows_per_file=50, max_rows_per_group=50)
    for src in (str(tmp_path / "events" / "*" / "*.parquet"), tmp_path / "events"):
        both(C.cohort_table, src, by_market=True)
    paths = []
    cuts = [0, len(log) // 3, 2 * len(log) // 3, len(log)]
    for i in range(3):
        paths.append(tmp_path / f"chunk{i}.parquet")
        log.iloc[cuts[i]: cuts[i + 1]].to_parquet(paths[-1], index=False)
    both(C.cohort_table, paths)
    both(C.daily_active_users, str(tmp_path / "chunk*.parquet"), by_market=True)


def test_catalog_table_spark_dataframe_and_csv(spark, log, tmp_path):
    p = tmp_path / "log.parquet"
    log.to_parquet(p, index=False)
    want = C.cohort_table(log, cohort="install", by_market=True)
    sdf = spark.read.parquet(str(p))
    sdf.createOrReplaceTempView("events_for_test")
    for src in (sdf, "events_for_test"):
        pd.testing.assert_frame_equal(
            C.cohort_table(src, cohort="install", by_market=True, engine="spark"), want)
    pd.testing.assert_frame_equal(C.daily_active_users("events_for_test", engine="spark"),
                                  C.daily_active_users(log))
    csv = tmp_path / "log.csv"
    log.to_csv(csv, index=False)  # every column text on Spark: ids and ISO timestamps
    pd.testing.assert_frame_equal(
        C.cohort_table(str(csv), cohort="install", by_market=True, engine="spark"), want)
    with pytest.raises(ValueError, match="no such table or view"):
        C.cohort_table("no_such_table", engine="spark")


def test_retention_table_same_on_both(spark, log):
    for period in ("day", "week"):
        t_duck = C.cohort_table(log, cohort_period=period)
        t_spark = C.cohort_table(log, cohort_period=period, engine="spark")
        for definition in ("classic", "unbounded"):
            for kw in ({}, {"pooled": True}, {"end_guard": 2}):
                pd.testing.assert_frame_equal(C.retention_table(t_spark, definition, **kw),
                                              C.retention_table(t_duck, definition, **kw))


# ---------------------------------------------------------------------------- bad input


def _both_raise(fn, source, match, **kw):
    for engine in ("duckdb", "spark"):
        with pytest.raises(ValueError, match=match):
            fn(source, engine=engine, **kw)


def test_empty_missing_and_null(spark, log, tmp_path):
    _both_raise(C.cohort_table, log.iloc[:0], "empty")
    p = tmp_path / "empty.parquet"
    log.iloc[:0].to_parquet(p, index=False)
    _both_raise(C.daily_active_users, p, r"empty.*empty\.parquet")
    p = tmp_path / "nouser.parquet"
    log.drop(columns=["user_id"]).to_parquet(p, index=False)
    _both_raise(C.cohort_table, p, r"missing required column\(s\) 'user_id'.*nouser\.parquet")
    _both_raise(C.daily_active_users, log[["market"]], "'user_id', 'event_date'")
    _both_raise(C.cohort_table, log.drop(columns="install_date"), "'install_date'",
                cohort="install")
    _both_raise(C.daily_active_users, log.drop(columns="market"), "'market'", by_market=True)
    df = log.astype({"user_id": "float64"})
    df.loc[[0, 3, 5], "user_id"] = np.nan
    _both_raise(C.cohort_table, df, f"3 of {len(df)} events have a null user_id")
    df = log.copy()
    df.loc[[1, 2], "event_date"] = pd.NaT
    _both_raise(C.cohort_table, df, "2 of .* null event_date")
    df = log.copy()
    df.loc[[4], "market"] = None
    _both_raise(C.cohort_table, df, "1 of .* null market", by_market=True)
    both(C.cohort_table, df)  # market not used: fine


def test_future_and_as_of(spark, log):
    end = log["event_date"].max()
    _both_raise(C.cohort_table, log, r"dated after as_of=.*latest event_date",
                as_of=end - pd.Timedelta(days=2))
    future = pd.Timestamp(dt.date.today() + dt.timedelta(days=3))
    df = pd.concat([log, log.iloc[:2].assign(event_date=future)], ignore_index=True)
    _both_raise(C.daily_active_users, df, "2 event.*in the future")
    both(C.daily_active_users, df, as_of=future)  # explicitly allowed
    for as_of in ("15/13/2025", 1735689600, pd.NaT):
        with pytest.raises(ValueError, match=r"^as_of must be a calendar day"):
            C.cohort_table(log, as_of=as_of, engine="spark")


def test_install_date_problems(spark, log, tmp_path):
    df = log.copy()
    df.loc[df["user_id"] == 3, "install_date"] = df["event_date"].max() + pd.Timedelta(days=1)
    n_ev = int((df["event_date"] < df["install_date"]).sum())
    _both_raise(C.cohort_table, df, f"{n_ev} event.*before install_date", cohort="install")
    _both_raise(C.daily_active_users, df, f"{n_ev} event.*before install_date")
    df = log.copy()
    i = df.index[df["user_id"] == 5]
    assert len(i) > 1
    df.loc[i[:1], "install_date"] = df.loc[i[:1], "install_date"] - pd.Timedelta(days=1)
    _both_raise(C.cohort_table, df, "1 user.*more than one install_date", cohort="install")
    df = log.copy()
    df.loc[[0], "install_date"] = pd.NaT
    _both_raise(C.cohort_table, df, "1 of .* null install_date", cohort="install")
    both(C.cohort_table, df)  # first-active cohorts tolerate unknown install dates


def test_bad_paths_dates_and_arguments(spark, log, tmp_path):
    _both_raise(C.cohort_table, tmp_path / "nope.parquet", r"not found.*nope\.parquet")
    _both_raise(C.daily_active_users, str(tmp_path / "none-*.parquet"), "no Parquet file matches")
    _both_raise(C.daily_active_users, tmp_path, r"no \*.parquet file under")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    _both_raise(C.cohort_table, bad, r"cannot read .*bad\.parquet")
    _both_raise(C.cohort_table, 42, "source must be")
    one = pd.DataFrame({"user_id": [1], "event_date": ["2025-01-01"]})
    _both_raise(C.cohort_table, one, "cohort must be", cohort="x")
    _both_raise(C.cohort_table, one, "cohort_period must be", cohort_period="year")
    for text in ("yesterday", "2025-01", "20250101"):
        df = pd.DataFrame({"user_id": [1, 2], "event_date": ["2025-01-01", text]})
        _both_raise(C.cohort_table, df, "unparsable date")
    monthly = pd.DataFrame({"user_id": [1, 2], "event_date": ["2025-01-01", "2025-01-10"]})
    _both_raise(C.cohort_table, monthly, "no event falls in a complete month",
                cohort_period="month")
    for kw in ({"memory_limit": "4GB"}, {"threads": 2}):
        name = next(iter(kw))
        with pytest.raises(ValueError, match=f"^{name} is a DuckDB setting; with engine='spark'"):
            C.cohort_table(log, engine="spark", **kw)

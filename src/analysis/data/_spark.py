"""The cohort engine on Apache Spark (PySpark): the same tables for logs in a cluster.

:func:`daily_active_users` and :func:`cohort_table` here return exactly the frames of
their namesakes in :mod:`analysis.data.cohorts` (same columns, dtypes, order and
definitions: dense table with observed zeros, ``active_on_or_after``, install vs
first-active cohorts, markets, ``as_of``, ``cohort_period``); read that module's
docstring for the definitions. They are what ``engine="spark"`` runs; call them through
:func:`analysis.data.cohorts.cohort_table` (``engine="spark"``). PySpark is an optional
dependency (``pip install -e '.[spark]'`` and a Java 17+ runtime); this module imports
it only when called, so importing it never fails.

Sources
-------
- the name of a table or view in the session's catalog (``"events"``,
  ``"warehouse.events"``);
- a path Spark can read: Parquet (a file, a directory -- hive partitions such as
  ``market=US/`` become columns --, a glob, or a list of them) or CSV with a header line
  (names ending in ``.csv``, optionally compressed), local or on ``s3a://``,
  ``hdfs://``, ``abfss://``, ... (the cluster needs the filesystem's connector and
  credentials);
- a Spark DataFrame (e.g. ``spark.table("events").where(...)``);
- a pandas DataFrame (sent to Spark through Arrow: for tests and small logs).

The session is ``SparkSession.builder.getOrCreate()``: inside ``spark-submit``,
``pyspark`` or a notebook attached to a cluster it is the running one, and
``spark-defaults.conf``, ``SPARK_REMOTE`` (Spark Connect) and the like apply unchanged.
Nothing here changes the session's settings.

Plan
----
Pass 0 is one global aggregate of the events (row and null counts, first and last day:
map-side partial aggregates, one row to the driver) for the checks, which give the
DuckDB engine's error messages. Pass 1 is the one shuffle of the events, keyed by user
(``GROUP BY [market,] user_id``, the map side already collapsing a user's repeat
events): per user the first and last active day, the install date's min and max (for
the checks) and the set of active periods (``collect_set``: at most one entry per day,
week or month). Pass 2 explodes those sets and counts, per (cohort, period), the users
active in it and the users whose *last* active period it is (a user's last period is in
the set, so one aggregation gives both). Only these counts -- at most markets x cohorts x
periods rows -- come to the driver, which turns the "last period" histogram into
``active_on_or_after`` (a reverse cumulative sum) and the cohort sizes. No event comes
to the driver and nothing sorts the log. DuckDB's day bitmaps are not used: Spark has no
cheap per-bit counting, and the set of active periods is exact for logs of any length.

Calendar days
-------------
A DATE column is taken as it is; an integer column as days since 1970-01-01; a string
as an ISO date (``YYYY-MM-DD``, a time after it ignored; other text is an unparsable
date); a time-zone-less timestamp (``TIMESTAMP_NTZ``, e.g. Parquet written from naive
pandas datetimes) by its calendar day. A Spark ``TIMESTAMP`` is an instant: it is counted
on its calendar day in the session's time zone (``spark.sql.session.timeZone``), Spark's
own rule -- set that to the zone in which days are counted. A pandas DataFrame follows the
DuckDB engine's rules exactly: naive datetimes by their day, time-zone-aware ones refused.
"""

from __future__ import annotations

import datetime as dt
import glob as _glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analysis.data.cohorts import (
    PERIODS,
    CohortInputError,
    _check_as_of,
    _cohort_frame,
    _frame_by_key,
    _refuse_empty_or_null,
)

__all__ = ["cohort_table", "daily_active_users", "get_session", "INSTALL_HINT"]

INSTALL_HINT = (
    "engine='spark' needs PySpark and a Java 17+ runtime: pip install -e '.[spark]' "
    "(pinned: pip install -c requirements/lock.txt -e '.[spark]') and a Java runtime, "
    "on Debian/Ubuntu apt-get install openjdk-17-jre-headless"
)
_EPOCH = dt.date(1970, 1, 1)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_CSV = re.compile(r"\.csv(\.(gz|bz2|zst|lz4|snappy|deflate))?$", re.IGNORECASE)
_GLOB = set("*?[{")
# ISO day, optionally followed by a time ('T' or a space): what DuckDB's CAST accepts
# (Spark's cast alone would also take "2025" and "2025-01").
_ISO_TEXT = r"^\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ].*)?$"


def _pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import functions as F
        from pyspark.sql import types as T
    except ImportError as e:
        raise ImportError(f"{INSTALL_HINT} ({e})") from e
    return F, T


def get_session():
    """The active Spark session, or a new one from the environment's settings
    (``SparkSession.builder.getOrCreate()``)."""
    _pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    try:
        return SparkSession.builder.getOrCreate()
    except Exception as e:  # no Java, bad master URL, unreachable Spark Connect server
        raise RuntimeError(f"cannot start a Spark session ({_first_line(e)}); {INSTALL_HINT}") from e


def _is_spark_df(x) -> bool:
    try:
        from pyspark.sql import DataFrame
    except ImportError:  # pragma: no cover - checked by _pyspark first
        return False
    if isinstance(x, DataFrame):
        return True
    try:  # Spark Connect DataFrames
        from pyspark.sql.connect.dataframe import DataFrame as ConnectDF
    except Exception:
        return False
    return isinstance(x, ConnectDF)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


# ---------------------------------------------------------------------------- sources


@dataclass
class _Src:
    df: object  # a Spark DataFrame
    where: str  # " in <path>", appended to error messages
    types: dict[str, object]  # column name -> Spark DataType


def _looks_like_path(s: str) -> bool:
    return bool(
        _SCHEME.match(s)
        or os.sep in s
        or "/" in s
        or s.startswith((".", "~"))
        or s.lower().endswith((".parquet", ".pq"))
        or _CSV.search(s)
        or _GLOB & set(s)
        or os.path.exists(s)
    )


def _check_local(s: str) -> None:
    """The DuckDB engine's messages for local paths that hold no Parquet file."""
    if _SCHEME.match(s) and not s.startswith("file://"):
        return  # a remote filesystem: Spark reports what is missing
    p = os.path.expanduser(s[len("file://"):] if s.startswith("file://") else s)
    if _GLOB & set(p):
        if not _glob.glob(p, recursive=True):
            raise CohortInputError(f"no Parquet file matches the glob {s!r}")
    elif os.path.isdir(p):
        if not _CSV.search(p.rstrip("/")) and not _glob.glob(
                os.path.join(p, "**", "*.parquet"), recursive=True):
            raise CohortInputError(f"no *.parquet file under the directory {s!r}")
    elif not os.path.exists(p):
        raise CohortInputError(f"activity log not found: {s!r} does not exist")


def _base_path(s: str) -> str | None:
    """The directory above a glob's first wildcard (so that hive partitions below it
    stay columns, as DuckDB reads them)."""
    parts = s.split("/")
    for i, part in enumerate(parts):
        if _GLOB & set(part):
            return "/".join(parts[:i]) or "/"
    return None


def _from_pandas(spark, df: pd.DataFrame, need: Sequence[str]):
    """The needed columns of a pandas log as a Spark DataFrame, days as the DuckDB
    engine reads them (naive datetimes by their day; aware ones refused)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = [c for c in ("user_id", "event_date", "market", "install_date") if c in df.columns]
    try:
        tbl = pa.Table.from_pandas(df[cols], preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
        raise CohortInputError(f"cannot convert the DataFrame for Spark: {e}") from e
    arrays, names = [], []
    for name, col in zip(tbl.column_names, tbl.columns, strict=True):
        t = col.type
        if pa.types.is_dictionary(t):
            col, t = col.cast(t.value_type), t.value_type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            col = col.cast(pa.string())
        elif pa.types.is_timestamp(t) and name in ("event_date", "install_date"):
            if t.tz is not None:
                # the DuckDB engine's message (cohorts._date_sql)
                raise CohortInputError(
                    f"column {name!r} in the DataFrame holds time-zone-aware timestamps, "
                    "which have no calendar day until a zone is chosen; read the log with "
                    "analysis.data.events.read_event_log(..., timezone='America/New_York') "
                    "(or convert: df[col].dt.tz_convert(zone).dt.tz_localize(None))")
            col = pc.cast(pc.floor_temporal(col, unit="day"), pa.date32())
        elif pa.types.is_timestamp(t):
            col = col.cast(pa.timestamp("us", t.tz), safe=False)
        elif pa.types.is_null(t):  # an all-null column
            col = col.cast(pa.string())
        arrays.append(col)
        names.append(name)
    tbl = pa.Table.from_arrays(arrays, names=names)
    try:
        return spark.createDataFrame(tbl)  # Spark >= 4.0 takes an Arrow table
    except (TypeError, ValueError):  # pragma: no cover - older Spark
        return spark.createDataFrame(tbl.to_pandas())


def _open(spark, source, need: Sequence[str]) -> _Src:
    from pyspark.errors import PySparkException

    if _is_spark_df(source):
        df, where = source, " in the Spark DataFrame"
    elif isinstance(source, pd.DataFrame):
        df, where = _from_pandas(spark, source, need), " in the DataFrame"
    elif isinstance(source, str) and not _looks_like_path(source):
        where = f" in the table {source!r}"
        try:
            df = spark.table(source)
        except (PySparkException, Exception) as e:
            raise CohortInputError(
                f"cannot read the activity log{where}: no such table or view in the Spark "
                f"session's catalog, nor a file of that name ({_first_line(e)})") from e
    else:
        if isinstance(source, str | os.PathLike):
            paths = [os.fspath(source)]
        elif (isinstance(source, Sequence) and not isinstance(source, str) and source
              and all(isinstance(p, str | os.PathLike) for p in source)):
            paths = [os.fspath(p) for p in source]
        else:
            raise CohortInputError(
                "source must be a Spark table name, a path (Parquet or CSV: str or Path, "
                "local or s3a://, hdfs://, ...) or a list of them, a Spark DataFrame or a "
                f"pandas DataFrame; got {type(source).__name__}")
        where = f" in {paths[0]}" if len(paths) == 1 else f" in {paths}"
        for p in paths:
            _check_local(p)
        reader = spark.read
        bases = {_base_path(p) for p in paths}
        if len(bases) == 1 and None not in bases:
            reader = reader.option("basePath", bases.pop())
        try:
            if all(_CSV.search(p.rstrip("/")) for p in paths):
                df = reader.option("header", True).csv(paths)
            else:
                df = reader.parquet(*paths)
            df.schema  # noqa: B018  (resolves the files now, not in the first job)
        except Exception as e:
            hint = ""
            if "NANOS" in str(e):
                hint = ("; Spark cannot read nanosecond timestamps: write the file with "
                        "microseconds (pandas: df.to_parquet(..., coerce_timestamps='us'))")
            raise CohortInputError(f"cannot read the activity log{where}: "
                                   f"{_first_line(e)}{hint}") from e
    try:
        types = {f.name: f.dataType for f in df.schema.fields}
    except Exception as e:
        raise CohortInputError(f"cannot read the activity log{where}: {_first_line(e)}") from e
    return _Src(df=df, where=where, types=types)


def _check_columns(src: _Src, need: Sequence[str]) -> None:
    missing = [c for c in need if c not in src.types]
    if missing:
        raise CohortInputError(
            f"missing required column(s) {', '.join(repr(c) for c in missing)}{src.where}; "
            f"found: {', '.join(src.types) or 'no columns'}")


def _day_number(col: str, typ, where: str):
    """(Column of days since 1970-01-01 as INT, whether it is parsed from text)."""
    F, T = _pyspark()
    c = F.col(f"`{col}`")
    if isinstance(typ, T.DateType):
        return F.unix_date(c), False
    if isinstance(typ, T.TimestampNTZType | T.TimestampType):  # LTZ: session time zone
        return F.unix_date(F.to_date(c)), False
    if isinstance(typ, T.StringType):
        parsed = F.expr(f"try_cast(`{col}` AS DATE)")
        return F.unix_date(F.when(c.rlike(_ISO_TEXT), parsed)), True
    if isinstance(typ, T.ByteType | T.ShortType | T.IntegerType | T.LongType):
        return c.cast("int"), False
    raise CohortInputError(
        f"column {col!r}{where} has type {typ.simpleString().upper()}; expected a DATE, a "
        "timestamp, an ISO date string or an integer day number")


def _period_of(day, period: str):
    """A Column: the period number of day number ``day`` (weeks start on Monday)."""
    F, _ = _pyspark()
    if period == "day":
        return day
    if period == "week":  # 1970-01-01 was a Thursday: Monday 1969-12-29 starts week 0
        return F.floor((day + 3) / 7).cast("int")
    d = F.date_from_unix_date(day)
    return ((F.year(d) - 1970) * 12 + F.month(d) - 1).cast("int")


def _period_number(day: dt.date, period: str) -> int:
    n = (day - _EPOCH).days
    if period == "day":
        return n
    if period == "week":
        return (n + 3) // 7
    return (day.year - 1970) * 12 + day.month - 1


def _period_start(p: np.ndarray, period: str) -> np.ndarray:
    """datetime64[ns] first days of period numbers ``p``."""
    p = np.asarray(p, dtype=np.int64)
    if period == "day":
        days = p.astype("datetime64[D]")
    elif period == "week":
        days = (7 * p - 3).astype("datetime64[D]")
    else:
        days = p.astype("datetime64[M]").astype("datetime64[D]")
    return days.astype("datetime64[ns]")


# ----------------------------------------------------------------------------- engine


@dataclass
class _Counts:
    active: np.ndarray  # (n_cohorts, n_periods); DAU: (1, n_periods)
    cohorts: np.ndarray | None = None  # cohort period numbers, relative to the start
    on_or_after: np.ndarray | None = None
    sizes: np.ndarray | None = None


@dataclass
class _Result:
    start: int  # first period number of the window
    n_periods: int
    by_key: dict[object, _Counts]


def _fetch(df) -> dict[str, np.ndarray]:
    """A small Spark result as numpy columns."""
    if hasattr(df, "toArrow"):
        tbl = df.toArrow()
        return {n: tbl.column(n).to_numpy(zero_copy_only=False) for n in tbl.column_names}
    rows = df.collect()  # pragma: no cover - Spark < 4.0
    return {n: np.array([r[n] for r in rows], dtype=object) for n in df.columns}


def _run(source, *, want: Literal["dau", "cohorts"], cohort: str = "first_active",  # noqa: C901
         by_market: bool = False, as_of=None, period: str = "day") -> _Result:
    if cohort not in ("first_active", "install"):
        raise ValueError(f"cohort must be 'first_active' or 'install', not {cohort!r}")
    if period not in PERIODS:
        raise ValueError(f"cohort_period must be one of {PERIODS}, not {period!r}")
    as_of = _check_as_of(as_of)
    F, T = _pyspark()
    need = ["user_id", "event_date"]
    if by_market:
        need.append("market")
    if want == "cohorts" and cohort == "install":
        need.append("install_date")
    spark = get_session()
    src = _open(spark, source, need)
    where = src.where
    _check_columns(src, need)
    has_install = "install_date" in src.types
    ev, ev_text = _day_number("event_date", src.types["event_date"], where)
    inst, inst_text = (_day_number("install_date", src.types["install_date"], where)
                       if has_install else (None, False))

    def q(df):
        try:
            return _fetch(df)
        except (CohortInputError, ValueError):
            raise
        except Exception as e:
            raise CohortInputError(
                f"Spark failed on the activity log{where}: {_first_line(e)}") from e

    def count(df) -> int:
        return int(q(df.agg(F.count(F.lit(1)).alias("n")))["n"][0])

    # Pass 0: one global aggregate (partial aggregates map-side): counts and day range.
    lit0 = F.lit(0)
    aggs = [
        F.count(F.lit(1)).alias("n_rows"),
        F.count(F.col("`user_id`")).alias("n_user"),
        F.count(F.col("`event_date`")).alias("n_date_raw"),
        F.count(ev).alias("n_date"),
        F.min(ev).alias("lo"),
        F.max(ev).alias("hi"),
        (F.count(F.col("`market`")) if by_market else lit0).alias("n_market"),
        (F.count(F.col("`install_date`")) if has_install else lit0).alias("n_inst_raw"),
        (F.count(inst) if has_install else lit0).alias("n_inst"),
    ]
    s = {k: v[0] for k, v in q(src.df.agg(*aggs)).items()}
    n_rows = int(s["n_rows"])
    if n_rows == 0:
        _refuse_empty_or_null(0, 0, 0, "event_date", where)
    for text, name, raw, parsed in ((ev_text, "event_date", "n_date_raw", "n_date"),
                                    (inst_text, "install_date", "n_inst_raw", "n_inst")):
        if text and s[raw] > s[parsed]:
            c = F.col(f"`{name}`")
            bad = src.df.filter(c.isNotNull() & (_day_number(name, src.types[name], where)[0]
                                                 .isNull()))
            example = q(bad.select(c.alias("v")).limit(1))["v"][0]
            raise CohortInputError(
                f"unparsable date{where}: {int(s[raw] - s[parsed])} value(s) of {name} are not "
                f"ISO dates (YYYY-MM-DD), for example {example!r}")
    _refuse_empty_or_null(n_rows, int(s["n_user"]), int(s["n_date"]), "event_date", where)
    if by_market and s["n_market"] < n_rows:
        raise CohortInputError(
            f"{n_rows - int(s['n_market'])} of {n_rows} events have a null market{where}")
    if has_install and want == "cohorts" and cohort == "install" and s["n_inst"] < n_rows:
        raise CohortInputError(
            f"{n_rows - int(s['n_inst'])} of {n_rows} events have a null install_date{where}; "
            "install cohorts need it for every user")
    lo = _EPOCH + dt.timedelta(days=int(s["lo"]))
    hi = _EPOCH + dt.timedelta(days=int(s["hi"]))
    if as_of is not None:
        end = as_of
        if hi > end:
            n_after = count(src.df.filter(ev > (end - _EPOCH).days))
            raise CohortInputError(
                f"{n_after} event(s) are dated after as_of={end} (latest event_date {hi}){where}")
    else:
        end = hi
        today = dt.date.today()
        if hi > today:
            n_after = count(src.df.filter(ev > (today - _EPOCH).days))
            raise CohortInputError(
                f"{n_after} event(s) are dated in the future (after today, {today}; latest "
                f"event_date {hi}){where}")
    p_lo, p_end = _period_number(lo, period), _period_number(end, period)
    cols = [(F.col("`market`") if by_market else F.lit("")).alias("mk"),
            F.col("`user_id`").alias("uid"), ev.alias("d")]
    if has_install:
        cols.append(inst.alias("i"))
    events = src.df.select(*cols)
    if period != "day":
        # only complete periods: the one holding the window's end is left out unless
        # that day is its last (a half-observed month would read as a drop)
        if _period_number(end + dt.timedelta(days=1), period) == p_end:
            p_end -= 1
        if p_lo > p_end:
            raise CohortInputError(
                f"no event falls in a complete {period} (the window ends {end}, inside the "
                f"only {period} with events){where}")
        events = events.filter(_period_of(F.col("d"), period) <= p_end)
    n_periods = p_end - p_lo + 1

    # Pass 1: the one shuffle of the events, keyed by user.
    per_user = [F.min("d").alias("f"), F.max("d").alias("l"),
                F.collect_set(_period_of(F.col("d"), period)).alias("ps")]
    if has_install:
        per_user += [F.min("i").alias("imin"), F.max("i").alias("imax")]
    users = events.groupBy("mk", "uid").agg(*per_user)
    if has_install:
        multi = F.coalesce((F.col("imin") != F.col("imax")).cast("int"), lit0)
        before = F.coalesce((F.col("f") < F.col("imin")).cast("int"), lit0)
    else:
        multi = before = lit0
    if want == "dau":
        c = lit0
    else:
        c = _period_of(F.col("imin") if cohort == "install" else F.col("f"), period)
    users = users.select("mk", c.alias("c"), _period_of(F.col("l"), period).alias("lp"),
                         multi.alias("multi"), before.alias("before"),
                         F.explode("ps").alias("p"))
    # Pass 2: per (cohort, period) the users active in it and those whose last active
    # period it is (with the per-user install checks, counted once per user there).
    is_last = F.col("p") == F.col("lp")
    counts = users.groupBy("mk", "c", "p").agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(is_last.cast("long")).alias("n_last"),
        F.sum(F.when(is_last, F.col("multi")).otherwise(0).cast("long")).alias("multi"),
        F.sum(F.when(is_last, F.col("before")).otherwise(0).cast("long")).alias("before"),
    )
    rows = q(counts)

    mk = np.asarray(rows["mk"], dtype=object)
    c = np.asarray(rows["c"], dtype=np.int64)
    p = np.asarray(rows["p"], dtype=np.int64) - p_lo
    n = np.asarray(rows["n"], dtype=np.int64)
    n_last = np.asarray(rows["n_last"], dtype=np.int64)
    n_multi = int(np.asarray(rows["multi"], dtype=np.int64).sum())
    n_before = int(np.asarray(rows["before"], dtype=np.int64).sum())
    if n_multi:
        raise CohortInputError(
            f"{n_multi} user(s) have more than one install_date{where}; install_date "
            "must be a per-user attribute")
    if n_before:
        n_ev = count(src.df.filter(ev < inst))
        raise CohortInputError(
            f"{n_ev} event(s) of {n_before} user(s) have event_date before install_date{where}")

    by_key: dict[object, _Counts] = {}
    for key in sorted(set(mk.tolist()), key=lambda x: (x is None, str(x))):
        sel = mk == key
        if want == "dau":
            acc = np.zeros((1, n_periods), np.int64)
            np.add.at(acc, (np.zeros(sel.sum(), np.int64), p[sel]), n[sel])
            by_key[key] = _Counts(active=acc)
            continue
        cohorts = np.unique(c[sel])
        ci = np.searchsorted(cohorts, c[sel])
        acc = np.zeros((cohorts.size, n_periods), np.int64)
        np.add.at(acc, (ci, p[sel]), n[sel])
        hist = np.zeros((cohorts.size, n_periods), np.int64)
        np.add.at(hist, (ci, p[sel]), n_last[sel])
        # on_or_after[c, q] = users of cohort c whose last active period is >= q
        on_or_after = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
        by_key[key] = _Counts(active=acc, cohorts=cohorts - p_lo, on_or_after=on_or_after,
                              sizes=hist.sum(axis=1))
    return _Result(start=p_lo, n_periods=n_periods, by_key=by_key)


# ----------------------------------------------------------------------------- public


def daily_active_users(source, by_market: bool = False, *, as_of=None) -> pd.DataFrame:
    """:func:`analysis.data.cohorts.daily_active_users` computed by Spark.

    ``source``: a table name in the session's catalog, a Parquet/CSV path or glob (or a
    list), a Spark DataFrame or a pandas DataFrame. Returns ``[market,] date, dau``
    (datetime64[ns], int64), dense from the first event to the end of the window.
    """
    res = _run(source, want="dau", by_market=by_market, as_of=as_of)
    dates = _period_start(np.arange(res.n_periods) + res.start, "day")
    return _frame_by_key(res.by_key, by_market,
                        lambda cnt: {"date": dates, "dau": cnt.active[0].astype(np.int64)})


def cohort_table(
    source,
    cohort: Literal["first_active", "install"] = "first_active",
    by_market: bool = False,
    *,
    as_of=None,
    cohort_period: Literal["day", "week", "month"] = "day",
) -> pd.DataFrame:
    """:func:`analysis.data.cohorts.cohort_table` computed by Spark.

    Same arguments but DuckDB's ``memory_limit``/``threads`` (Spark's resources are the
    session's) and the same frame: ``[market,] cohort_date, age_days, active_users,
    active_on_or_after, cohort_size``, dense, sorted; ``age_weeks``/``age_months`` for
    coarser cohorts.
    """
    from analysis.data.cohorts import age_column

    res = _run(source, want="cohorts", cohort=cohort, by_market=by_market, as_of=as_of,
               period=cohort_period)
    out = _cohort_frame(res.by_key, by_market, res.n_periods,
                        lambda c: _period_start(c + res.start, cohort_period))
    if cohort_period != "day":
        out = out.rename(columns={"age_days": age_column(cohort_period)})
    return out


def read_log(source, user_column: str = "user_id", time_column: str = "event_date",
             market_column: str | None = None):
    """An activity log in the session as a Spark DataFrame with the engine's column names.

    ``source`` as for :func:`daily_active_users`; its columns ``user_column``,
    ``time_column`` (DATE, TIMESTAMP or ISO date strings) and optional ``market_column``
    are renamed ``user_id``, ``event_date`` and ``market`` (nothing is collected). Returns
    ``(frame, where, summary)``: ``where`` names the source for messages, ``summary`` =
    ``{"rows": ..., "first_day": date, "last_day": date}`` (one aggregation job).
    Raises :class:`~analysis.data.cohorts.CohortInputError` naming a missing column.
    """
    F, _ = _pyspark()
    spark = get_session()
    need = [user_column, time_column] + ([market_column] if market_column else [])
    src = _open(spark, source, need)
    _check_columns(src, need)
    cols = [F.col(user_column).alias("user_id"), F.col(time_column).alias("event_date")]
    if market_column:
        cols.append(F.col(market_column).alias("market"))
    frame = src.df.select(*cols)
    row = frame.agg(F.count(F.lit(1)).alias("rows"),
                    F.min(F.to_date("event_date")).alias("first"),
                    F.max(F.to_date("event_date")).alias("last")).collect()[0]
    if not row["rows"]:
        raise CohortInputError(f"the activity log{src.where} is empty")
    return frame, src.where, {"rows": int(row["rows"]), "first_day": row["first"],
                              "last_day": row["last"]}

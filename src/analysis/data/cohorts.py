"""DAU and cohort tables from activity logs, computed by DuckDB in process.

An *activity log* has one row per event (or per user-day) with at least the columns

- ``user_id``    -- any hashable scalar type (integers are fastest), never null;
- ``event_date`` -- a DATE (or a timestamp, an ISO string, or an integer number of
  days since 1970-01-01, all reduced to a calendar day);

and optionally ``market`` (e.g. ``"US"``) and ``install_date``. A *source* is a
pandas DataFrame, a Parquet file (``str`` or :class:`~pathlib.Path`), a glob of Parquet
files (``"panel/*.parquet"``, ``"events/market=*/*.parquet"``) or a directory, read as
``<dir>/**/*.parquet`` with hive partitioning.

Functions
---------
:func:`daily_active_users`
    ``date, dau`` (plus ``market``): distinct users per calendar day.
:func:`cohort_table`
    ``cohort_date, age_days, active_users, active_on_or_after, cohort_size`` (plus
    ``market``), one row per (cohort, age).
:func:`retention_table`
    classic ("active on day N") or unbounded ("active on day N or later") retention
    from a cohort table.

Definitions
-----------
*Observation window.* The log covers the days ``start .. end`` where ``start`` is the
earliest ``event_date`` and ``end`` is ``as_of`` when given, else the latest
``event_date``. A day inside the window with no event is an observed zero.

*Cohorts.* With ``cohort="first_active"`` a user's cohort is the first day the user
is active in the log (so users who were already active before the log began are
lumped into its first days: left-censoring that the caller should keep in mind). With
``cohort="install"`` it is the user's ``install_date`` (which must be single-valued per
user, non-null, and never after any of the user's events). With ``by_market=True`` a
"user" is a ``(market, user_id)`` pair: a user active in two markets belongs to a
cohort in each.

*Dense table, explicit right-censoring.* :func:`cohort_table` emits every
``(cohort, age)`` with ``cohort_date + age`` inside the observation window, **including
rows with zero active users**. A cohort therefore has rows for ages
``0 .. end - cohort_date`` and none beyond: a missing row means "not observed yet"
(right-censored), a row with ``active_users == 0`` means "observed, nobody active".
For install cohorts that began before ``start`` the ages before ``start`` are not
observed either and are left out. :func:`daily_active_users` is dense in the same
sense (``dau == 0`` on an observed day without events; per market over the common
window).

*Columns of the cohort table.*
``active_users`` -- distinct users of the cohort active on day ``cohort_date + age``;
``active_on_or_after`` -- users of the cohort active on that day *or any later day of
the window*; ``cohort_size`` -- distinct users in the cohort.

Retention definitions and the models they fit
---------------------------------------------
*Classic* day-N retention ``active_users / cohort_size`` counts the users active on day
N. It is **not** monotone: users skip days and come back (reactivation), and a weekly
rhythm makes it oscillate. Model it as an activity process (a survival curve times a
probability of being active while alive, e.g. the BG/BB or "alive x active" models,
or a Beta-discrete-Weibull curve fitted as a descriptive curve).

*Unbounded* day-N retention ``active_on_or_after / cohort_size`` counts the users seen
on day N or later. It is monotone non-increasing in N, like a survival function, and is
the natural input to survival models such as the shifted-beta-geometric (sBG) model
of Fader & Hardie. Caveat: near the end of the window it is biased downward (a user
who will come back after ``end`` is not seen yet), so fit it on ages well inside the
window or model the censoring.

Implementation
--------------
Every call opens its own in-memory DuckDB connection with a memory limit
(``DEFAULT_MEMORY_LIMIT``), a spill directory under ``config.BUILD_DIR`` and ``threads``
= the usable cores, and streams the source with ``read_parquet`` (projection push-down:
only the needed columns are read), so logs larger than memory are fine. Three steps:

0. counts, null counts and the date range -- answered from the Parquet footers'
   statistics when the columns are plain (no scan);
1. **the only pass over the events**: ``GROUP BY user`` (and, for logs longer than 256
   days, a 256-day chunk) keeping per user a bitmap of active days in up to four
   64-bit words (``bit_or(1 << day)``: repeat events on a day collapse for free). With
   dense integer user ids DuckDB runs this as a perfect-hash aggregate. A user's first
   and last active days are read off the bitmap (lowest / highest set bit);
2. a small aggregation over users that counts, per cohort (and chunk), how many users
   have each bit set -- 16 sums per 64-bit word, each adding four 16-bit lanes
   ``(bits >> i) & 0x0001000100010001`` at once, over buckets of <= 32767 users so
   that no lane overflows -- and a histogram of (cohort, last active day) that gives
   ``active_on_or_after`` by a reverse cumulative sum.

The result equals ``count(DISTINCT user_id)`` per (cohort, day) but avoids hashing all
distinct user-days, which is several times slower and needs GBs at 10^8 events (see
``benchmarks/bench_cohorts.py``). ``_reference_cohort_table`` and
``_reference_daily_active_users`` are slow, direct pandas implementations used by the
tests to check this one.

``engine="spark"`` computes the same tables on Apache Spark (:mod:`analysis.data._spark`:
per-user aggregation, then per-cohort counts) for logs that live in a cluster; the tests
run the same cases on both engines and require identical frames.
"""

from __future__ import annotations

import datetime as dt
import glob as _glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from analysis import config
from analysis._io import as_date
from analysis.data.events import EventLog

__all__ = [
    "CohortInputError",
    "cohort_table",
    "daily_active_users",
    "retention_table",
    "DEFAULT_MEMORY_LIMIT",
]

REQUIRED_COLUMNS = ("user_id", "event_date")
DEFAULT_MEMORY_LIMIT = "2GB"
_WORD = 64  # bits per bitmap word
_LANE_BITS, _N_LANES = 16, 4  # lanes of a word in the per-bit counting sums
_LANE_MAX = (1 << (_LANE_BITS - 1)) - 1  # users per lane-sum group (32767)
_MAX_WORDS = 4  # words per (user, chunk) row: chunks of 256 days
_EPOCH = dt.date(1970, 1, 1)
# DuckDB uses a perfect hash table for GROUP BY on integer keys whose range fits in this
# many bits (default 12). 22 bits = 4M ids: ~0.3 GB per thread for the bitmap payload.
_PERFECT_HT_BITS = 22


class CohortInputError(ValueError):
    """The activity log is unusable (empty, missing columns, nulls, bad dates, no file)."""


# ------------------------------------------------------------------------- arguments

_MEMORY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", re.IGNORECASE)
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")
_UNIT_BYTES = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
#: Below this DuckDB cannot hold even the small buffers of one query.
_MIN_MEMORY = 16 * 2**20
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ][0-9:.+\-Z]*)?")


def _check_as_of(as_of) -> dt.date | None:
    """``as_of`` as a calendar day, or a ValueError naming it.

    Only unambiguous forms are taken: a date, datetime, Timestamp or numpy datetime64,
    or an ISO string "YYYY-MM-DD" (a time after it is ignored). "01/02/2025" could be
    either of two days and a number could be any epoch, so both are refused.
    """
    if as_of is None:
        return None
    if isinstance(as_of, str) and not _ISO_DAY.fullmatch(as_of.strip()):
        day = None
    elif isinstance(as_of, (str, dt.date, np.datetime64)):
        try:
            day = as_date(as_of.strip() if isinstance(as_of, str) else as_of)
        except (ValueError, TypeError, OverflowError):
            day = None
    else:
        day = None
    if day is None or pd.isna(day):
        raise ValueError(
            f"as_of must be a calendar day: a datetime.date, a pandas Timestamp or an ISO "
            f"string 'YYYY-MM-DD' (for example '2025-02-28'), not {as_of!r}"
        )
    return day


def _check_memory_limit(memory_limit) -> str | None:
    """``memory_limit`` in DuckDB's form, or a ValueError naming it."""
    if memory_limit is None:
        return None
    accepted = (
        "memory_limit must be an amount of memory such as '4GB' or '512MB' (a number and "
        "one of the units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB) or a share of the "
        "machine's memory such as '50%'"
    )
    if not isinstance(memory_limit, str):
        raise ValueError(f"{accepted}; not {memory_limit!r} (of type {type(memory_limit).__name__})")
    amount, percent = _MEMORY.fullmatch(memory_limit), _PERCENT.fullmatch(memory_limit)
    if percent:
        if not 0 < float(percent.group(1)) <= 100:
            raise ValueError(f"{accepted}; not {memory_limit!r} (a share is above 0 and at "
                             f"most 100%)")
        return memory_limit
    if not amount:
        raise ValueError(f"{accepted}; not {memory_limit!r}")
    if float(amount.group(1)) * _UNIT_BYTES[amount.group(2).lower()] < _MIN_MEMORY:
        raise ValueError(f"{accepted}, of at least 16MiB; not {memory_limit!r} (too little "
                         f"for DuckDB to run a query)")
    return memory_limit


def _check_threads(threads) -> int | None:
    """``threads`` as a positive int, or a ValueError naming it."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(
            f"threads must be a whole number of at least 1 (or None for the usable cores, "
            f"{_threads()} here); not {threads!r}"
        )
    return int(threads)


# ----------------------------------------------------------------------------- DuckDB


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _connect(memory_limit: str | None = None, threads: int | None = None):
    """An in-memory DuckDB connection with bounded memory and a spill directory."""
    spill = config.DUCKDB_SPILL_DIR
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        ":memory:",
        config={
            "memory_limit": memory_limit or DEFAULT_MEMORY_LIMIT,
            "threads": int(threads or _threads()),
            "temp_directory": str(spill),
            "preserve_insertion_order": False,
        },
    )
    con.execute(f"SET perfect_ht_threshold = {_PERFECT_HT_BITS}")
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:
        # Inside a Jupyter kernel without ipywidgets DuckDB refuses to change the setting
        # at all; there the bar is already off, so nothing is lost.
        pass
    try:
        con.execute("SET TimeZone = 'UTC'")
    except duckdb.Error:  # pragma: no cover - ICU not available
        pass
    return con


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclass
class _Src:
    """A registered source: the SQL to select from, a label for messages, its columns."""

    sql: str
    where: str  # " in <path>" / " in the DataFrame", appended to error messages
    columns: dict[str, str]  # name -> DuckDB type


def _open(con, source) -> _Src:
    if isinstance(source, EventLog):
        if not source._types:
            raise CohortInputError("an EventLog must come from analysis.data.events.read_event_log")
        sql, where = source.select_sql(con), source.where
        columns = {"user_id": source._types[source.user_column], "event_date": "DATE"}
        if source.market_column:
            columns["market"] = "VARCHAR"
        if source.install_column:
            columns["install_date"] = "DATE"
        return _Src(sql=sql, where=where, columns=columns)
    if isinstance(source, pd.DataFrame):
        con.register("_events_df", source)
        where = " in the DataFrame"
        sql = "_events_df"
    else:
        if isinstance(source, str | os.PathLike):
            paths = [source]
        elif (
            isinstance(source, Sequence)
            and source
            and all(isinstance(p, str | os.PathLike) for p in source)
        ):
            paths = list(source)
        else:
            raise CohortInputError(
                "source must be a pandas DataFrame, a Parquet path or glob (str or Path), "
                f"or a list of them; got {type(source).__name__}"
            )
        patterns = []
        for p in paths:
            s = os.fspath(p)
            if any(ch in s for ch in "*?["):
                if not _glob.glob(s, recursive=True):
                    raise CohortInputError(f"no Parquet file matches the glob {s!r}")
                patterns.append(s)
            elif os.path.isdir(s):
                pat = os.path.join(s, "**", "*.parquet")
                if not _glob.glob(pat, recursive=True):
                    raise CohortInputError(f"no *.parquet file under the directory {s!r}")
                patterns.append(pat)
            elif os.path.exists(s):
                patterns.append(s)
            else:
                raise CohortInputError(f"activity log not found: {s!r} does not exist")
        where = f" in {paths[0]!s}" if len(paths) == 1 else f" in {[os.fspath(p) for p in paths]}"
        lst = "[" + ", ".join(_sql_str(p) for p in patterns) + "]"
        sql = f"read_parquet({lst}, union_by_name = true)"
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()
    except duckdb.Error as e:
        raise CohortInputError(f"cannot read the activity log{where}: {e}") from e
    return _Src(sql=sql, where=where, columns={r[0]: str(r[1]).upper() for r in desc})


def _date_sql(col: str, typ: str, where: str) -> str:
    """SQL that turns column ``col`` of DuckDB type ``typ`` into a DATE."""
    q = f'"{col}"'
    if typ == "DATE":
        return q
    if typ == "TIMESTAMP WITH TIME ZONE":
        raise CohortInputError(
            f"column {col!r}{where} holds time-zone-aware timestamps, which have no calendar "
            "day until a zone is chosen; read the log with "
            "analysis.data.events.read_event_log(..., timezone='America/New_York') (or "
            "convert: df[col].dt.tz_convert(zone).dt.tz_localize(None))"
        )
    if typ.startswith("TIMESTAMP") or typ in ("VARCHAR", "STRING"):
        return f"CAST({q} AS DATE)"
    if typ in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"):
        return f"(DATE '1970-01-01' + CAST({q} AS INTEGER))"
    raise CohortInputError(
        f"column {col!r}{where} has type {typ}; expected a DATE, a timestamp, an ISO date "
        "string or an integer day number"
    )


def _check_columns(src: _Src, need: Sequence[str]) -> None:
    missing = [c for c in need if c not in src.columns]
    if missing:
        raise CohortInputError(
            f"missing required column(s) {', '.join(repr(c) for c in missing)}{src.where}; "
            f"found: {', '.join(src.columns) or 'no columns'}"
        )


# --------------------------------------------------------------------------- engine


@dataclass
class _Counts:
    """Aggregated counts of one market (or of the whole log)."""

    active: np.ndarray  # (n_cohorts, n_days) active users; DAU: (1, n_days)
    cohorts: np.ndarray | None = None  # cohort day numbers (relative to start)
    on_or_after: np.ndarray | None = None  # (n_cohorts, n_days)
    sizes: np.ndarray | None = None  # (n_cohorts,)


@dataclass
class _Result:
    start: dt.date
    n_days: int  # days start .. end inclusive
    by_key: dict[object, _Counts]



def _refuse_empty_or_null(n_rows: int, n_user: int, n_date: int, date_column: str,
                          where: str) -> None:
    """CohortInputError for an empty log or events with a null user id or date."""
    if n_rows == 0:
        raise CohortInputError(f"empty activity log (0 rows){where}")
    if n_user < n_rows:
        raise CohortInputError(f"{n_rows - n_user} of {n_rows} events have a null user_id{where}")
    if n_date < n_rows:
        raise CohortInputError(
            f"{n_rows - n_date} of {n_rows} events have a null {date_column}{where}"
        )

def _run(
    source,
    *,
    want: Literal["dau", "cohorts"],
    cohort: str = "first_active",
    by_market: bool = False,
    as_of=None,
    memory_limit: str | None = None,
    threads: int | None = None,
    period: str = "day",
) -> _Result:
    if cohort not in ("first_active", "install"):
        raise ValueError(f"cohort must be 'first_active' or 'install', not {cohort!r}")
    if period not in PERIODS:
        raise ValueError(f"cohort_period must be one of {PERIODS}, not {period!r}")
    # Arguments are checked before DuckDB sees them, so that a mistake names the argument
    # (DuckDB would raise its own ParserException, pandas a DateParseError).
    as_of = _check_as_of(as_of)
    con = _connect(_check_memory_limit(memory_limit), _check_threads(threads))
    try:
        src = _open(con, source)
        if period != "day":
            src, as_of = _in_periods(con, src, period, as_of)
        return _run_on(con, src, want, cohort, by_market, as_of)
    finally:
        con.close()


# ---------------------------------------------------------------------------- periods
#
# Weekly and monthly cohorts reuse the daily engine on period numbers: every date is
# replaced by the period it falls in (weeks start on Monday), written as the day
# 1970-01-01 + period index, so that "day" n of the engine is period n. The last period
# counted is the last one that is complete on the window's end (a half-observed month
# would read as a drop in retention), and the results are mapped back to each period's
# first day.

PERIODS = ("day", "week", "month")
_MONDAY = dt.date(1970, 1, 5)  # week 0 starts on the first Monday after the epoch


def _period_index_sql(d: str, period: str) -> str:
    if period == "week":
        x = f"CAST({d} - DATE '{_MONDAY}' AS BIGINT)"
        return f"(({x} - ((({x}) % 7) + 7) % 7) // 7)"  # floor division for days < 1970-01-05
    return f"(CAST(year({d}) AS BIGINT) * 12 + month({d}) - 1)"


def _period_index(day: dt.date, period: str) -> int:
    if period == "week":
        return (day - _MONDAY).days // 7
    return day.year * 12 + day.month - 1


def _period_start(index: np.ndarray, period: str) -> np.ndarray:
    """First day (datetime64[ns]) of each period index."""
    index = np.asarray(index, dtype=np.int64)
    if period == "week":
        return (np.datetime64(_MONDAY, "D") + (7 * index).astype("timedelta64[D]")).astype(
            "datetime64[ns]")
    months = (index - 1970 * 12).astype("timedelta64[M]")
    return (np.datetime64("1970-01", "M") + months).astype("datetime64[D]").astype("datetime64[ns]")


def _in_periods(con, src: _Src, period: str, as_of):
    """``src`` with dates replaced by period numbers, and the matching ``as_of``."""
    ev = _date_sql("event_date", src.columns["event_date"], src.where)
    try:
        hi = con.execute(f"SELECT max({ev}) FROM {src.sql}").fetchone()[0]
    except duckdb.Error as e:
        raise CohortInputError(f"cannot read the activity log{src.where}: {e}") from e
    if hi is None:
        raise CohortInputError(f"empty activity log (0 rows){src.where}")
    hi = as_date(hi)
    if as_of is not None and hi > as_of:
        n_after = con.execute(f"SELECT count(*) FROM {src.sql} WHERE {ev} > DATE '{as_of}'").fetchone()[0]
        raise CohortInputError(
            f"{n_after} event(s) are dated after as_of={as_of} (latest event_date {hi}){src.where}")
    end = as_of or hi
    if end > dt.date.today():
        raise CohortInputError(f"events are dated in the future (latest event_date {hi}){src.where}")
    last = _period_index(end, period)
    if _period_index(end + dt.timedelta(days=1), period) == last:
        last -= 1  # the period holding `end` is not complete yet
    cols = [f"DATE '{_EPOCH}' + CAST({_period_index_sql(ev, period)} AS INTEGER) AS event_date"]
    if "install_date" in src.columns:
        inst = _date_sql("install_date", src.columns["install_date"], src.where)
        cols.append(f"DATE '{_EPOCH}' + CAST({_period_index_sql(inst, period)} AS INTEGER) "
                    "AS install_date")
    names = [c for c in ("event_date", "install_date") if c in src.columns]
    n_whole = con.execute(f"SELECT count(*) FROM {src.sql} WHERE "
                          f"{_period_index_sql(ev, period)} <= {last}").fetchone()[0]
    if n_whole == 0:
        raise CohortInputError(
            f"no event falls in a complete {period} (the window ends {end}, inside the only "
            f"{period} with events){src.where}")
    sql = (f"(SELECT * REPLACE ({', '.join(cols)}) FROM {src.sql} "
           f"WHERE {_period_index_sql(ev, period)} <= {last})")
    columns = {**src.columns, **{c: "DATE" for c in names}}
    return _Src(sql=sql, where=src.where, columns=columns), _EPOCH + dt.timedelta(days=last)


def _spark_engine(memory_limit=None, threads=None):
    """:mod:`analysis.data._spark` (which imports pyspark only when called: without it
    the call raises an ImportError naming what to install)."""
    for name, value in (("memory_limit", memory_limit), ("threads", threads)):
        if value is not None:
            raise ValueError(
                f"{name} is a DuckDB setting; with engine='spark' the Spark session's "
                f"resources apply (spark.driver.memory, spark.executor.memory, "
                f"spark.executor.cores, ... in spark-defaults.conf or spark-submit); "
                f"not {name}={value!r}")
    from analysis.data import _spark

    return _spark


def _check_engine(engine: str) -> str:
    if engine not in ("duckdb", "spark"):
        raise ValueError(f"engine must be 'duckdb' or 'spark', not {engine!r}")
    return engine


def _ctz_sql(x: str) -> str:
    """Index of the lowest set bit of UBIGINT ``x`` (NULL when x = 0)."""
    return f"(CASE WHEN {x} = 0 THEN NULL ELSE {_popcount_sql(f'xor({x}, {x} - 1)')} - 1 END)"


def _popcount_sql(x: str) -> str:
    """Set bits of UBIGINT ``x`` as an INTEGER.

    DuckDB types ``bit_count`` by its argument's width (TINYINT in 1.x, SMALLINT in 2.x)
    and a small literal added to it as the same type, so ``64 + bit_count(x)`` overflowed
    INT8 whenever ``x`` had all 64 bits set (a user whose last day is bit 63 of word 1:
    issue 14). Casting here keeps every offset arithmetic in INTEGER.
    """
    return f"CAST(bit_count({x}) AS INTEGER)"


def _run_on(con, source, want, cohort, by_market, as_of) -> _Result:  # noqa: C901
    src = source if isinstance(source, _Src) else _open(con, source)
    need = list(REQUIRED_COLUMNS)
    if by_market:
        need.append("market")
    if want == "cohorts" and cohort == "install":
        need.append("install_date")
    _check_columns(src, need)
    has_install = "install_date" in src.columns
    where = src.where
    ev = _date_sql("event_date", src.columns["event_date"], where)
    inst = _date_sql("install_date", src.columns["install_date"], where) if has_install else None

    def q(sql: str):
        try:
            return con.execute(sql)
        except duckdb.ConversionException as e:
            raise CohortInputError(f"unparsable date{where}: {e}") from e
        except duckdb.Error as e:
            raise CohortInputError(f"DuckDB failed on the activity log{where}: {e}") from e

    # Pass 0: counts and date range (served from Parquet statistics when possible).
    n_rows, n_user, n_date, lo, hi, n_market, n_inst = q(
        f'SELECT count(*), count("user_id"), count({ev}), min({ev}), max({ev}), '
        + ('count("market"), ' if by_market else "0, ")
        + (f"count({inst}) " if has_install else "0 ")
        + f"FROM {src.sql}"
    ).fetchone()
    _refuse_empty_or_null(n_rows, n_user, n_date, "event_date", where)
    if by_market and n_market < n_rows:
        raise CohortInputError(f"{n_rows - n_market} of {n_rows} events have a null market{where}")
    if has_install and want == "cohorts" and cohort == "install" and n_inst < n_rows:
        raise CohortInputError(
            f"{n_rows - n_inst} of {n_rows} events have a null install_date{where}; "
            "install cohorts need it for every user"
        )
    lo, hi = as_date(lo), as_date(hi)
    if as_of is not None:
        end = as_date(as_of)
        if hi > end:
            n_after = q(f"SELECT count(*) FROM {src.sql} WHERE {ev} > DATE '{end}'").fetchone()[0]
            raise CohortInputError(
                f"{n_after} event(s) are dated after as_of={end} (latest event_date {hi}){where}"
            )
    else:
        end = hi
        today = dt.date.today()
        if hi > today:
            n_after = q(f"SELECT count(*) FROM {src.sql} WHERE {ev} > DATE '{today}'").fetchone()[0]
            raise CohortInputError(
                f"{n_after} event(s) are dated in the future (after today, {today}; latest "
                f"event_date {hi}){where}"
            )
    n_days = (end - lo).days + 1
    n_words = -(-((hi - lo).days + 1) // _WORD)
    k = min(n_words, _MAX_WORDS)  # words per row
    span = k * _WORD  # days per chunk
    chunked = n_words > _MAX_WORDS

    keys = ['"market"', '"user_id"'] if by_market else ['"user_id"']
    key_list = ", ".join(keys)
    # day number r (within the chunk) as UBIGINT: shifts need no casts
    if chunked:
        inner = [*keys, f"CAST(({ev} - DATE '{lo}') // {span} AS INTEGER) AS ch",
                 f"CAST(({ev} - DATE '{lo}') % {span} AS UBIGINT) AS r"]  # fmt: skip
    else:
        inner = [*keys, f"CAST({ev} - DATE '{lo}' AS UBIGINT) AS r"]
    if has_install:
        inner.append(f"({inst} - DATE '{lo}') AS inst")
    one = "CAST(1 AS UBIGINT)"
    words = []
    for j in range(k):
        if k == 1:
            words.append(f"bit_or({one} << r) AS b0")
            continue
        cond = []
        if j > 0:
            cond.append(f"r >= {j * _WORD}")
        if j < k - 1:
            cond.append(f"r < {(j + 1) * _WORD}")
        shift = "r" if j == 0 else f"(r - {j * _WORD})"
        words.append(
            f"bit_or(CASE WHEN {' AND '.join(cond)} THEN {one} << {shift} "
            f"ELSE CAST(0 AS UBIGINT) END) AS b{j}"
        )
    aggs = list(words)
    if has_install:
        aggs += ["min(inst) AS imin", "max(inst) AS imax"]
    group = key_list + (", ch" if chunked else "")
    # Pass 1: the only pass over the events.
    q(
        f"CREATE TEMP TABLE agg AS SELECT {group}{'' if chunked else ', 0 AS ch'}, "
        f"{', '.join(aggs)} FROM (SELECT {', '.join(inner)} FROM {src.sql}) GROUP BY {group}"
    )

    if want == "cohorts" or has_install:
        # first (f) and last (l) active day of each row, from its bitmap
        first = " ".join(f"WHEN b{j} <> 0 THEN {j * _WORD} + {_ctz_sql(f'b{j}')}" for j in range(k))
        smear = [f"b{j} AS s{j}" for j in range(k)]
        sub = f"SELECT *, {', '.join(smear)} FROM agg"
        for sh in (1, 2, 4, 8, 16, 32):  # s = b | b >> 1 | b >> 2 | ...: ones up to the msb
            cols = ", ".join(f"s{j} | (s{j} >> {sh}) AS s{j}" for j in range(k))
            sub = f"SELECT * REPLACE ({cols}) FROM ({sub})"
        last = " ".join(
            f"WHEN s{j} <> 0 THEN {j * _WORD} + {_popcount_sql(f's{j}')} - 1" for j in reversed(range(k))
        )
        q(
            f"CREATE TEMP TABLE agg2 AS SELECT * EXCLUDE ({', '.join(f's{j}' for j in range(k))}), "
            f"ch * {span} + (CASE {first} END) AS f, ch * {span} + (CASE {last} END) AS l "
            f"FROM ({sub})"
        )
        q("DROP TABLE agg")
        q("ALTER TABLE agg2 RENAME TO agg")
        if chunked:
            ucols = f"min(f) AS f, max(l) AS l{', min(imin) AS imin, max(imax) AS imax' if has_install else ''}"
            q(f"CREATE TEMP TABLE users AS SELECT {key_list}, {ucols} FROM agg GROUP BY {key_list}")
            users_tbl = "users"
        else:
            users_tbl = "agg"

    if has_install:
        n_multi, n_before = q(
            "SELECT count(*) FILTER (WHERE imin <> imax), count(*) FILTER (WHERE f < imin) "
            f"FROM {users_tbl}"
        ).fetchone()
        if n_multi:
            raise CohortInputError(
                f"{n_multi} user(s) have more than one install_date{where}; install_date "
                "must be a per-user attribute"
            )
        if n_before:
            n_ev = q(f"SELECT count(*) FROM {src.sql} WHERE {ev} < {inst}").fetchone()[0]
            raise CohortInputError(
                f"{n_ev} event(s) of {n_before} user(s) have event_date before install_date{where}"
            )

    mkey = '"market"' if by_market else "''"
    # Pass 2: per-bit counts. Four 16-bit lanes per sum: (b >> i) & LANES picks bits i,
    # i+16, i+32, i+48 into separate lanes, so 16 sums count a 64-bit word. A lane holds
    # at most 32767 users (the top lane must stay below 2**63), hence the row buckets.
    n_agg = q("SELECT count(*) FROM agg").fetchone()[0]
    n_buckets = max(1, -(-n_agg // _LANE_MAX))
    lanes = sum(1 << (_LANE_BITS * L) for L in range(_N_LANES))
    lane_sums = ", ".join(
        f"CAST(sum(CAST((b{j} >> {i}) & {lanes} AS BIGINT)) AS BIGINT) AS s{j}_{i}"
        for j in range(k)
        for i in range(_LANE_BITS)
    )
    if want == "dau":
        rows = q(
            f"SELECT {mkey} AS mk, ch, rowid % {n_buckets} AS bk, {lane_sums} FROM agg GROUP BY ALL"
        ).fetchnumpy()
        users = None
    else:
        cexpr = "imin" if cohort == "install" else "f"
        if chunked:
            rows = q(
                f"SELECT {mkey} AS mk, u.{cexpr} AS c, a.ch, a.rowid % {n_buckets} AS bk, "
                + lane_sums.replace("CAST((b", "CAST((a.b")
                + f" FROM agg a JOIN users u USING ({key_list}) GROUP BY ALL"
            ).fetchnumpy()
        else:
            rows = q(
                f"SELECT {mkey} AS mk, {cexpr} AS c, ch, rowid % {n_buckets} AS bk, "
                f"{lane_sums} FROM agg GROUP BY ALL"
            ).fetchnumpy()
        users = q(
            f"SELECT {mkey} AS mk, {cexpr} AS c, l, count(*) AS n FROM {users_tbl} GROUP BY ALL"
        ).fetchnumpy()

    # ---- to dense numpy matrices, one per market key
    n_out = len(rows["ch"])
    bits = np.empty((n_out, k * _WORD), dtype=np.int64)
    for j in range(k):
        for i in range(_LANE_BITS):
            v = np.asarray(rows[f"s{j}_{i}"], dtype=np.int64)
            for L in range(_N_LANES):
                bits[:, j * _WORD + i + _LANE_BITS * L] = (v >> (_LANE_BITS * L)) & 0xFFFF
    ch = np.asarray(rows["ch"], dtype=np.int64)
    mk = np.asarray(rows["mk"], dtype=object)
    n_cols = max(n_days, (int(ch.max()) + 1) * span if ch.size else n_days)
    by_key: dict[object, _Counts] = {}
    mkeys = sorted(set(mk.tolist()), key=lambda x: (x is None, str(x)))
    day_idx = ch[:, None] * span + np.arange(span)[None, :]
    for key in mkeys:
        sel = mk == key
        if want == "dau":
            acc = np.zeros((1, n_cols), np.int64)
            np.add.at(acc, (np.zeros((sel.sum(), 1), np.int64), day_idx[sel]), bits[sel])
            by_key[key] = _Counts(active=acc[:, :n_days])
            continue
        c = np.asarray(rows["c"], dtype=np.int64)[sel]
        u_sel = np.asarray(users["mk"], dtype=object) == key
        uc = np.asarray(users["c"], dtype=np.int64)[u_sel]
        ul = np.asarray(users["l"], dtype=np.int64)[u_sel]
        un = np.asarray(users["n"], dtype=np.int64)[u_sel]
        cohorts = np.unique(uc)
        acc = np.zeros((cohorts.size, n_cols), np.int64)
        ci = np.searchsorted(cohorts, c)
        np.add.at(acc, (ci[:, None], day_idx[sel]), bits[sel])
        last = np.zeros((cohorts.size, n_days + 1), np.int64)
        np.add.at(last, (np.searchsorted(cohorts, uc), ul), un)
        # on_or_after[c, d] = number of users of cohort c whose last active day >= d
        on_or_after = np.cumsum(last[:, ::-1], axis=1)[:, ::-1][:, :n_days]
        by_key[key] = _Counts(
            active=acc[:, :n_days],
            cohorts=cohorts,
            on_or_after=on_or_after,
            sizes=last.sum(axis=1),
        )
    return _Result(start=lo, n_days=n_days, by_key=by_key)


# ----------------------------------------------------------------------------- public


def daily_active_users(
    source,
    by_market: bool = False,
    *,
    as_of=None,
    memory_limit: str | None = None,
    threads: int | None = None,
    engine: Literal["duckdb", "spark"] = "duckdb",
) -> pd.DataFrame:
    """Distinct active users per calendar day.

    Parameters
    ----------
    source : DataFrame, str, Path, glob or list of paths
        The activity log (columns ``user_id``, ``event_date``; ``market`` if
        ``by_market``).
    by_market : bool
        One series per ``market`` (a user active in two markets counts in both).
    as_of : date, datetime, Timestamp, datetime64 or ISO string "YYYY-MM-DD", optional
        End of the observation window. Events after it are an error; days after the
        last event up to ``as_of`` get ``dau == 0``. Default: the latest event_date (and
        events after today are an error). Other forms ("01/02/2025", a number) are a
        ValueError naming ``as_of``.
    memory_limit : str, optional
        DuckDB's memory limit, an amount such as ``"4GB"``/``"512MiB"`` (at least 16 MiB)
        or a share of the machine's memory such as ``"50%"``; default
        ``DEFAULT_MEMORY_LIMIT``.
    threads : int, optional
        DuckDB threads, at least 1; default the usable cores.
    engine : {"duckdb", "spark"}
        ``"duckdb"`` (default): in process, as described above. ``"spark"``: the same
        definitions computed by Apache Spark (:mod:`analysis.data._spark`) in the session
        ``SparkSession.builder.getOrCreate()`` returns (a cluster's, or local mode);
        ``source`` may then also be a table name in the session's catalog, a Parquet/CSV
        path Spark can read (``s3a://``, ``hdfs://``, ...) or a Spark DataFrame. Needs
        ``pip install -e '.[spark]'`` and Java 17+; ``memory_limit`` and ``threads``
        are DuckDB's and refused with it. Same frame from both engines.

    Returns
    -------
    DataFrame
        ``[market,] date, dau``: ``date`` datetime64[ns], ``dau`` int64, one row per day
        from the first event to the end of the window (dense, zeros included), sorted.

    Raises
    ------
    CohortInputError (a ValueError)
        Empty log, missing columns, null user ids / dates / markets, events after
        ``as_of`` or in the future, events before ``install_date``, no such file.
    ValueError
        An ``as_of``, ``memory_limit`` or ``threads`` of the wrong form, named.
    """
    if _check_engine(engine) == "spark":
        return _spark_engine(memory_limit, threads).daily_active_users(
            source, by_market, as_of=_check_as_of(as_of))
    res = _run(
        source,
        want="dau",
        by_market=by_market,
        as_of=as_of,
        memory_limit=memory_limit,
        threads=threads,
    )
    dates = pd.date_range(res.start, periods=res.n_days, freq="D").astype("datetime64[ns]")
    return _frame_by_key(res.by_key, by_market,
                        lambda cnt: {"date": dates, "dau": cnt.active[0].astype(np.int64)})


def _frame_by_key(by_key, by_market: bool, columns_of) -> pd.DataFrame:
    """The result frame of an engine's counts (both engines assemble it here): one part
    per key (market) from ``columns_of(counts)``, a ``market`` column first when
    ``by_market``, concatenated."""
    frames = []
    for key, cnt in by_key.items():
        part = columns_of(cnt)
        if by_market:
            n = len(next(iter(part.values())))
            part = {"market": np.full(n, key, dtype=object), **part}
        frames.append(pd.DataFrame(part))
    out = pd.concat(frames, ignore_index=True)
    if by_market:
        out["market"] = out["market"].astype(str)
    return out


def _cohort_frame(by_key, by_market: bool, n_periods: int, cohort_date) -> pd.DataFrame:
    """The dense cohort table of an engine's counts (both engines build it here):
    ``cohort_date`` maps cohort numbers to their first days; ages in the table's period
    (named ``age_days`` here, renamed by the caller for weeks and months)."""

    def columns_of(cnt):
        ci, q, c = _dense_grid(cnt.cohorts, n_periods)
        return {
            "cohort_date": cohort_date(c),
            "age_days": (q - c).astype(np.int64),
            "active_users": cnt.active[ci, q].astype(np.int64),
            "active_on_or_after": cnt.on_or_after[ci, q].astype(np.int64),
            "cohort_size": cnt.sizes[ci].astype(np.int64),
        }

    return _frame_by_key(by_key, by_market, columns_of)


def _dense_grid(cohorts: np.ndarray, n_periods: int):
    """Every (cohort, period) row of a dense cohort table: ``(ci, period, cohort)`` with
    ``ci`` the cohort's index, from the cohort's first period (0 for an install cohort
    that began before the log) to the last period of the window."""
    first = np.maximum(cohorts, 0)  # install cohorts may begin before the log
    lengths = n_periods - first
    ci = np.repeat(np.arange(cohorts.size), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return ci, first[ci] + offsets, cohorts[ci]


def cohort_table(
    source,
    cohort: Literal["first_active", "install"] = "first_active",
    by_market: bool = False,
    *,
    as_of=None,
    memory_limit: str | None = None,
    threads: int | None = None,
    cohort_period: Literal["day", "week", "month"] = "day",
    engine: Literal["duckdb", "spark"] = "duckdb",
) -> pd.DataFrame:
    """Dense cohort x age table of active users.

    Parameters
    ----------
    source : DataFrame, str, Path, glob or list of paths
        The activity log (``user_id``, ``event_date``; ``install_date`` for install
        cohorts; ``market`` if ``by_market``).
    cohort : {"first_active", "install"}
        The day that defines a user's cohort: the first active day in the log, or
        ``install_date``.
    by_market : bool
        Cohorts per market (a user is a ``(market, user_id)`` pair).
    as_of, memory_limit, threads, engine
        As in :func:`daily_active_users`.
    cohort_period : {"day", "week", "month"}
        The unit of cohorts and ages. With ``"week"`` (weeks start on Monday) or
        ``"month"`` a cohort is the period of the user's first activity (or install),
        ``active_users`` counts the users active on any day of the period, the age
        column is ``age_weeks`` / ``age_months`` and ``cohort_date`` is the period's
        first day. Only complete periods are counted: the period holding the window's
        end (``as_of``, else the latest event) is left out unless that day is its last.

    Returns
    -------
    DataFrame
        ``[market,] cohort_date, age_days, active_users, active_on_or_after,
        cohort_size`` sorted by (market,) cohort_date, age_days. One row for every age
        whose day ``cohort_date + age_days`` lies in the observation window -- rows with
        ``active_users == 0`` included, rows after the window's end absent (right
        censoring is explicit). ``cohort_date`` is datetime64[ns], counts are int64.
        See the module docstring for the definitions.

    Raises
    ------
    CohortInputError (a ValueError)
        As :func:`daily_active_users`; also for install cohorts: missing, null or
        multi-valued ``install_date``.
    """
    if _check_engine(engine) == "spark":
        return _spark_engine(memory_limit, threads).cohort_table(
            source, cohort, by_market, as_of=_check_as_of(as_of), cohort_period=cohort_period)
    res = _run(
        source,
        want="cohorts",
        cohort=cohort,
        by_market=by_market,
        as_of=as_of,
        memory_limit=memory_limit,
        threads=threads,
        period=cohort_period,
    )
    out = _cohort_frame(res.by_key, by_market, res.n_days, lambda c: (
        np.datetime64(res.start, "D") + c.astype("timedelta64[D]")).astype("datetime64[ns]"))
    if cohort_period != "day":
        index = (out["cohort_date"].to_numpy() - np.datetime64(_EPOCH, "ns")) // np.timedelta64(1, "D")
        out["cohort_date"] = _period_start(index, cohort_period)
        out = out.rename(columns={"age_days": age_column(cohort_period)})
    return out


def age_column(cohort_period: str = "day") -> str:
    """The age column of a cohort table in ``cohort_period`` units: ``age_days``,
    ``age_weeks`` or ``age_months``."""
    if cohort_period not in PERIODS:
        raise ValueError(f"cohort_period must be one of {PERIODS}, not {cohort_period!r}")
    return f"age_{cohort_period}s"


def retention_table(
    table: pd.DataFrame,
    definition: Literal["classic", "unbounded"] = "classic",
    *,
    pooled: bool = False,
    end_guard: int = 0,
) -> pd.DataFrame:
    """Retention rates from a :func:`cohort_table`.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`cohort_table`.
    definition : {"classic", "unbounded"}
        ``"classic"``: share of the cohort active on day N (``active_users``); not
        monotone (reactivation, weekly rhythm) -- for activity models.
        ``"unbounded"``: share active on day N or later (``active_on_or_after``);
        monotone non-increasing -- for survival models such as sBG; biased low near the
        end of the window (see the module docstring).
    pooled : bool
        If true, pool the cohorts: per (market,) age, the sum of retained users over the
        sum of cohort sizes *of the cohorts observed at that age* (the dense table makes
        this exact under right-censoring), plus ``n_cohorts``.
    end_guard : int
        Drop the last ``end_guard`` ages (in the table's unit) of every cohort, the
        periods just before the end of the window. Unbounded retention counts a user as
        retained until their last active period *seen*, so its last periods are biased
        low (a user who comes back after the window is not seen yet); fitting a survival
        model to them biases its projections down. Choose a guard at least as long as
        the typical gap between a user's active periods; the projections depend on it
        (measured on the CDNOW purchase log's 31 daily cohorts of January 1997, observed
        515-545 days: the sBG's retention at day 365 is 0.157 with no guard, 0.167 with
        14 days, 0.182 with 30 and 0.216 with 90). Default 0 (every age kept); classic
        retention needs no guard. Applied before pooling.

    The table is a small pandas frame whichever engine made it (``engine="duckdb"`` or
    ``"spark"``), so this step runs in process for both.

    Returns
    -------
    DataFrame
        ``[market,] cohort_date, age_days, cohort_size, retained_users, retention``
        (without ``cohort_date`` and with ``n_cohorts`` when pooled); the age column
        is the table's (``age_weeks``, ``age_months`` for coarser cohorts).
    """
    col = {"classic": "active_users", "unbounded": "active_on_or_after"}.get(definition)
    if col is None:
        raise ValueError(f"definition must be 'classic' or 'unbounded', not {definition!r}")
    ages = [c for c in map(age_column, PERIODS) if c in table.columns]
    age = ages[0] if len(ages) == 1 else "age_days"
    need = {"cohort_date", age, "cohort_size", col}
    missing = sorted(need - set(table.columns))
    if missing:
        raise ValueError(f"not a cohort table: missing column(s) {missing}")
    keys = ["market"] if "market" in table.columns else []
    out = table[[*keys, "cohort_date", age, "cohort_size", col]].rename(
        columns={col: "retained_users"}
    )
    if isinstance(end_guard, bool) or not isinstance(end_guard, (int, np.integer)) \
            or end_guard < 0:
        raise ValueError(f"end_guard must be an integer >= 0, not {end_guard!r}")
    if end_guard:
        last = out.groupby([*keys, "cohort_date"])[age].transform("max")
        out = out[out[age] <= last - end_guard]
    if pooled:
        out = (
            out.groupby([*keys, age], sort=True)
            .agg(
                cohort_size=("cohort_size", "sum"),
                retained_users=("retained_users", "sum"),
                n_cohorts=("cohort_date", "size"),
            )
            .reset_index()
        )
    out = out.reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["retention"] = out["retained_users"] / out["cohort_size"]
    return out


# ------------------------------------------------------------ reference (for testing)


def _reference_frame(source) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    return pd.read_parquet(source)


def _reference_daily_active_users(source, by_market: bool = False, as_of=None) -> pd.DataFrame:
    """Slow, direct implementation for testing: ``nunique`` of users per day.

    Same output as :func:`daily_active_users` on valid input (no validation).
    """
    df = _reference_frame(source)
    df["event_date"] = pd.to_datetime(df["event_date"]).dt.normalize()
    end = pd.Timestamp(as_of) if as_of is not None else df["event_date"].max()
    days = pd.date_range(df["event_date"].min(), end, freq="D")
    keys = ["market"] if by_market else []
    counts = df.groupby([*keys, "event_date"])["user_id"].nunique()
    rows = []
    markets = sorted(df["market"].astype(str).unique()) if by_market else [None]
    for m in markets:
        for d in days:
            idx = (m, d) if by_market else d
            n = int(counts.get(idx, 0))
            rows.append(({"market": m} if by_market else {}) | {"date": d, "dau": n})
    out = pd.DataFrame(rows)
    out["date"] = out["date"].astype("datetime64[ns]")
    out["dau"] = out["dau"].astype(np.int64)
    if by_market:
        out["market"] = out["market"].astype(str)
    return out


def _reference_cohort_table(
    source, cohort: str = "first_active", by_market: bool = False, as_of=None,
    cohort_period: str = "day",
) -> pd.DataFrame:
    """Slow, direct implementation for testing.

    Loops over cohorts and days with plain pandas: dedupe user-days, assign each user
    to a cohort, count the users active on each day and those active on that day or
    later. Same output as :func:`cohort_table` on valid input (no validation). Weeks
    and months are pandas Periods (``W-SUN``: Monday to Sunday; ``M``), each written
    as its first day; only periods complete at the window's end are kept.
    """
    df = _reference_frame(source)
    df["event_date"] = pd.to_datetime(df["event_date"]).dt.normalize()
    if cohort == "install":
        df["install_date"] = pd.to_datetime(df["install_date"]).dt.normalize()
    end = pd.Timestamp(as_of) if as_of is not None else df["event_date"].max()
    step = pd.Timedelta(days=1)
    if cohort_period != "day":
        freq = {"week": "W-SUN", "month": "M"}[cohort_period]
        last = end.to_period(freq)
        if (end + pd.Timedelta(days=1)).to_period(freq) == last:
            last -= 1

        def first_day(col):
            return col.dt.to_period(freq).dt.start_time

        df = df[df["event_date"].dt.to_period(freq) <= last].copy()
        df["event_date"] = first_day(df["event_date"])
        if cohort == "install":
            df["install_date"] = first_day(df["install_date"])
        end = last.start_time
        step = pd.DateOffset(weeks=1) if cohort_period == "week" else pd.DateOffset(months=1)
    start = df["event_date"].min()
    ukey = ["market", "user_id"] if by_market else ["user_id"]
    if by_market:
        df["market"] = df["market"].astype(str)
    days_active = df[[*ukey, "event_date"]].drop_duplicates()
    users = days_active.groupby(ukey)["event_date"].agg(first="min", last="max").reset_index()
    if cohort == "install":
        inst = df.groupby(ukey)["install_date"].min().rename("cohort").reset_index()
        users = users.merge(inst, on=ukey)
    else:
        users["cohort"] = users["first"]
    days_active = days_active.merge(users[[*ukey, "cohort"]], on=ukey)
    rows = []
    markets = sorted(users["market"].unique()) if by_market else [None]
    for m in markets:
        um = users[users["market"] == m] if by_market else users
        am = days_active[days_active["market"] == m] if by_market else days_active
        for c in sorted(um["cohort"].unique()):
            members = um[um["cohort"] == c]
            acts = am[am["cohort"] == c]
            d = max(c, start)
            while d <= end:
                age = (d - c).days if cohort_period == "day" else (
                    (d - c).days // 7 if cohort_period == "week"
                    else (d.year - c.year) * 12 + d.month - c.month)
                rows.append(
                    ({"market": m} if by_market else {})
                    | {
                        "cohort_date": c,
                        "age_days": age,
                        "active_users": int((acts["event_date"] == d).sum()),
                        "active_on_or_after": int((members["last"] >= d).sum()),
                        "cohort_size": len(members),
                    }
                )
                d += step
    out = pd.DataFrame(rows)
    out["cohort_date"] = out["cohort_date"].astype("datetime64[ns]")
    for col in ("age_days", "active_users", "active_on_or_after", "cohort_size"):
        out[col] = out[col].astype(np.int64)
    if by_market:
        out["market"] = out["market"].astype(str)
    return out.reset_index(drop=True).rename(columns={"age_days": age_column(cohort_period)})

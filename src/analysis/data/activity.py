r"""Per-user activity summaries for the BG/BB model, computed by DuckDB from an activity log.

The beta-geometric/beta-Bernoulli model (:mod:`analysis.models.bgbb`) needs, per user,
``(frequency, recency, n_periods)`` over a calibration window; users with the same
triple are pooled with a weight, so 10^7 users reduce to a few thousand patterns.

Input
-----
An *activity log* as for the cohort engine (:mod:`analysis.data.cohorts`): a pandas
DataFrame, a Parquet file, a glob of Parquet files or a directory of them, with the columns

- ``user_id`` -- any non-null scalar (integers are fastest);
- a date column (``date_column``, default ``event_date``) -- a DATE, a timestamp (reduced to
  its UTC calendar day), an ISO date string or an integer number of days since 1970-01-01.

Repeat events within a period count once.

Definitions
-----------
*Periods.* ``cohort_period`` cuts the calendar into ``"day"``\s, ``"week"``\s (Monday to
Sunday, ISO weeks) or calendar ``"month"``\s, numbered consecutively.

*Window.* The calibration window covers the events dated ``start .. end`` (both
inclusive; defaults: the earliest and the latest event date). Only **whole** periods are
used after the birth: the last calibration period is :math:`E`, the period of ``end`` if
``end`` is its last day, else the period before it. Events before ``start`` are ignored
(so a user active before ``start`` is taken as born in the window: left-censoring, as with
the cohort engine's ``first_active`` cohorts; choose ``start`` where the app or the log
begins). Events after the end of period :math:`E` are ignored, except in the holdout.

*Per user* (for every user with an event in ``start`` .. the end of period :math:`E`):

- ``birth`` -- the user's first active period :math:`b` in the window (its first day);
  it is period 0 of the user's history and is not a transaction opportunity;
- ``n_periods`` = :math:`n = E - b`, the whole periods observed after the birth
  (0 for a user born in period :math:`E`);
- ``frequency`` = :math:`x`, the number of periods :math:`b+1 .. E` with at least one event;
- ``recency`` = :math:`t_x`, the last such period minus :math:`b` (0 when :math:`x = 0`).

So ``0 <= frequency <= recency <= n_periods`` and ``frequency == 0`` iff ``recency == 0``.
Users whose first event in the window falls after period :math:`E` (in a partial last
period) are not counted.

*Holdout* (optional, ``holdout_end``): the whole periods :math:`E+1 .. H` after the
calibration, :math:`H` the last whole period ending on or before ``holdout_end``;
``holdout_frequency`` = the number of those periods in which the user is active (the
quantity whose expectation is :meth:`BetaGeometricBetaBinomial.expected_transactions` with
``ahead = H - E``, given in the column ``holdout_periods``).

*Patterns* (:func:`activity_patterns`): users grouped by ``(birth, frequency, recency,
n_periods)``, ``weights`` = number of users, ``holdout_frequency`` summed over them.
With a common window end, ``birth`` and ``n_periods`` determine each other, so a cohort
(e.g. the January arrivals) is a filter on either column.

Implementation
--------------
Connection settings (memory limit, spill directory, threads) and the reading of sources
are the cohort engine's (:mod:`analysis.data.cohorts`), so both read logs the same way.
One pass over the events groups them by user and keeps, per user, the first active
period (``min``), the last calibration period (``max`` with a filter) and a bitmap of
active periods relative to the window start in 64-bit words (``bit_or(1 << r)``: repeat
events in a period collapse for free, much cheaper than ``count(DISTINCT ...)``);
``frequency`` is a ``bit_count`` of the calibration bits. A second, small aggregation over
users gives the patterns. Nothing is looped over in Python. The test suite checks both
functions against a slow, direct pandas implementation on random logs.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from analysis._io import as_date

# The cohort engine's connection and source readers: private there, but the one place
# that decides how this package opens DuckDB and reads an activity log (memory limit,
# spill directory, globs and directories, date coercion, error messages). Reusing them
# keeps the two summaries of the same log consistent.
from analysis.data.cohorts import (
    _MONDAY,
    PERIODS,
    CohortInputError,
    _check_columns,
    _connect,
    _date_sql,
    _open,
    _period_index,
    _period_index_sql,
    _popcount_sql,
    _refuse_empty_or_null,
)

__all__ = [
    "CohortInputError",
    "PERIODS",
    "activity_patterns",
    "user_activity",
]

_EPOCH = dt.date(1970, 1, 1)
_WORD = 64
PATTERN_COLUMNS = ("birth", "frequency", "recency", "n_periods", "weights")


# ----------------------------------------------------------------------------- periods


def _check_period(cohort_period: str) -> str:
    if cohort_period not in PERIODS:
        raise ValueError(f"cohort_period must be one of {PERIODS}; got {cohort_period!r}")
    return cohort_period


def _period_of(day: dt.date, period: str) -> int:
    """Index of the period containing ``day`` (the SQL of :func:`_period_sql`, in Python)."""
    if period == "day":
        return (day - _EPOCH).days
    return _period_index(day, period)


def _last_whole_period(day: dt.date, period: str) -> int:
    """The last period that ends on or before ``day``."""
    p = _period_of(day, period)
    return p if _period_of(day + dt.timedelta(days=1), period) > p else p - 1


def _period_sql(d: str, period: str) -> str:
    """SQL for the period index (BIGINT) of the DATE expression ``d``."""
    if period == "day":
        return f"CAST({d} - DATE '{_EPOCH}' AS BIGINT)"
    return _period_index_sql(d, period)


def _period_start_sql(p: str, period: str) -> str:
    """SQL for the first day (DATE) of period index ``p``."""
    if period == "day":
        return f"CAST(DATE '{_EPOCH}' + CAST({p} AS INTEGER) AS DATE)"
    if period == "week":
        return f"CAST(DATE '{_MONDAY}' + CAST(7 * {p} AS INTEGER) AS DATE)"
    return f"make_date(CAST({p} // 12 AS INTEGER), CAST({p} % 12 + 1 AS INTEGER), 1)"


# ----------------------------------------------------------------------------- engine


def _users_sql(
    con,
    source,
    cohort_period: str,
    start,
    end,
    holdout_end,
    date_column: str,
) -> tuple[str, dict[str, int]]:
    """Create the temp table ``bgbb_users`` (one row per user) and return its SELECT list.

    Returns the SQL expressions for the per-user columns and the window's period indices.
    """
    period = _check_period(cohort_period)
    src = _open(con, source)
    _check_columns(src, ["user_id", date_column])
    where = src.where
    d = _date_sql(date_column, src.columns[date_column], where)

    def q(sql: str):
        try:
            return con.execute(sql)
        except duckdb.ConversionException as e:
            raise CohortInputError(f"unparsable date{where}: {e}") from e
        except duckdb.Error as e:
            raise CohortInputError(f"DuckDB failed on the activity log{where}: {e}") from e

    n_rows, n_user, n_date, lo, hi = q(
        f'SELECT count(*), count("user_id"), count({d}), min({d}), max({d}) FROM {src.sql}'
    ).fetchone()
    _refuse_empty_or_null(n_rows, n_user, n_date, date_column, where)
    first = as_date(start) if start is not None else as_date(lo)
    last = as_date(end) if end is not None else as_date(hi)
    if last < first:
        raise ValueError(f"end ({last}) is before start ({first})")
    p0 = _period_of(first, period)
    e = _last_whole_period(last, period)
    if holdout_end is not None:
        if end is None:
            raise ValueError("holdout_end needs an explicit end (the calibration window's end)")
        h_day = as_date(holdout_end)
        h = _last_whole_period(h_day, period)
        if h <= e:
            raise ValueError(
                f"holdout_end={h_day} leaves no whole {period} after the calibration window "
                f"(which ends with the {period} of {last})"
            )
    else:
        h = e
    top = max(h, p0)  # bits 0 .. top - p0
    n_words = (top - p0) // _WORD + 1

    one = "CAST(1 AS UBIGINT)"
    if n_words == 1:
        words = [f"bit_or({one} << CAST(r AS UBIGINT)) AS w0"]
    else:
        words = [
            f"bit_or(CASE WHEN r >= {j * _WORD} AND r < {(j + 1) * _WORD} "
            f"THEN {one} << CAST(r - {j * _WORD} AS UBIGINT) ELSE CAST(0 AS UBIGINT) END) AS w{j}"
            for j in range(n_words)
        ]
    q(
        "CREATE TEMP TABLE bgbb_users AS SELECT user_id, min(r) AS b, "
        f"max(r) FILTER (WHERE r <= {e - p0}) AS l, {', '.join(words)} FROM ("
        f'SELECT "user_id" AS user_id, {_period_sql(d, period)} - {p0} AS r FROM {src.sql} '
        f"WHERE {d} >= DATE '{first}') WHERE r <= {h - p0} GROUP BY user_id"
    )

    def popcount(lo_bit: int, hi_bit: int) -> str:
        """Active periods with relative index in [lo_bit, hi_bit) (a bit_count sum)."""
        parts = []
        for j in range(n_words):
            a, b = max(lo_bit - j * _WORD, 0), min(hi_bit - j * _WORD, _WORD)
            if a >= b:
                continue
            mask = ((1 << b) - 1) ^ ((1 << a) - 1)
            parts.append(_popcount_sql(f"w{j} & CAST({mask} AS UBIGINT)"))
        return " + ".join(parts) if parts else "0"

    cal = e - p0  # relative index of the last calibration period
    # Active calibration periods after the birth: all calibration bits minus the birth's.
    k = f"({popcount(0, cal + 1)} - 1)"
    cols = {
        "birth": _period_start_sql(f"(b + {p0})", period),
        "frequency": k,
        "recency": "(CASE WHEN l > b THEN l - b ELSE 0 END)",
        "n_periods": f"({cal} - b)",
    }
    if holdout_end is not None:
        cols["holdout_frequency"] = popcount(cal + 1, h - p0 + 1)
    info = {"p0": p0, "e": e, "h": h}
    return cols, info


def _run(source, cohort_period, start, end, holdout_end, date_column, memory_limit, threads,
         build):  # fmt: skip
    con = _connect(memory_limit, threads)
    try:
        cols, info = _users_sql(con, source, cohort_period, start, end, holdout_end, date_column)
        return build(con, cols, info)
    finally:
        con.close()


def _finish(df: pd.DataFrame, holdout: bool, info: dict[str, int]) -> pd.DataFrame:
    df["birth"] = pd.to_datetime(df["birth"]).astype("datetime64[ns]")
    for c in ("frequency", "recency", "n_periods", "weights", "holdout_frequency"):
        if c in df.columns:
            df[c] = df[c].astype(np.int64)
    if holdout:
        df["holdout_periods"] = np.int64(info["h"] - info["e"])
    return df


# ----------------------------------------------------------------------------- public


def user_activity(
    source,
    cohort_period: Literal["day", "week", "month"] = "day",
    *,
    start=None,
    end=None,
    holdout_end=None,
    date_column: str = "event_date",
    memory_limit: str | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """One row per user: ``user_id, birth, frequency, recency, n_periods``.

    Parameters
    ----------
    source : DataFrame, str, Path, glob or list of paths
        The activity log (``user_id`` and ``date_column``).
    cohort_period : {"day", "week", "month"}
        The period of the BG/BB model (weeks run Monday to Sunday).
    start, end : date-like, optional
        The calibration window (inclusive; default: the log's first and last event date).
        Only whole periods up to ``end`` count after a user's birth.
    holdout_end : date-like, optional
        Adds ``holdout_frequency`` (active periods among the whole periods after the
        calibration up to ``holdout_end``) and ``holdout_periods``. Needs ``end``.
    date_column : str
        Name of the date or timestamp column.
    memory_limit, threads
        DuckDB settings (as in :mod:`analysis.data.cohorts`).

    Returns
    -------
    DataFrame
        Sorted by ``user_id``; ``birth`` datetime64[ns] (first day of the birth period),
        counts int64. See the module docstring for the definitions.

    Raises
    ------
    CohortInputError (a ValueError)
        Empty log, missing columns, null user ids or dates, unreadable source.
    ValueError
        Unknown ``cohort_period``, ``end`` before ``start``, an empty holdout.
    """

    def build(con, cols, info):
        sel = ", ".join(f"{v} AS {k}" for k, v in cols.items())
        df = con.execute(
            f"SELECT user_id, {sel} FROM bgbb_users WHERE b <= {info['e'] - info['p0']} "
            "ORDER BY user_id"
        ).df()
        return _finish(df, holdout_end is not None, info)

    return _run(source, cohort_period, start, end, holdout_end, date_column, memory_limit,
                threads, build)  # fmt: skip


def activity_patterns(
    source,
    cohort_period: Literal["day", "week", "month"] = "day",
    *,
    start=None,
    end=None,
    holdout_end=None,
    date_column: str = "event_date",
    memory_limit: str | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Users pooled by pattern: ``birth, frequency, recency, n_periods, weights``.

    The input of :meth:`analysis.models.bgbb.BetaGeometricBetaBinomial.fit`::

        p = activity_patterns("events.parquet", "day", end="2025-03-31")
        BetaGeometricBetaBinomial().fit(p.frequency, p.recency, p.n_periods, p.weights)

    Parameters are those of :func:`user_activity`. With ``holdout_end``,
    ``holdout_frequency`` is the *sum* over the pattern's users (divide by ``weights`` for
    the mean, which :meth:`expected_transactions` predicts) and ``holdout_periods`` the
    holdout length.

    Returns
    -------
    DataFrame
        One row per distinct (birth, frequency, recency, n_periods), sorted by them;
        ``weights`` = number of users (int64, > 0); ``weights.sum()`` = number of users.
    """

    def build(con, cols, info):
        keys = ", ".join(
            f"{cols[k]} AS {k}" for k in ("birth", "frequency", "recency", "n_periods")
        )
        extra = ", sum(holdout) AS holdout_frequency" if holdout_end is not None else ""
        inner = f", {cols['holdout_frequency']} AS holdout" if holdout_end is not None else ""
        df = con.execute(
            f"SELECT birth, frequency, recency, n_periods, count(*) AS weights{extra} FROM ("
            f"SELECT {keys}{inner} FROM bgbb_users WHERE b <= {info['e'] - info['p0']}) "
            "GROUP BY ALL ORDER BY birth, frequency, recency"
        ).df()
        return _finish(df, holdout_end is not None, info)

    return _run(source, cohort_period, start, end, holdout_end, date_column, memory_limit,
                threads, build)  # fmt: skip

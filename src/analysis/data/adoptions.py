"""An analyst's own adoption table: one row per merchant opt-in, and an effort series.

Notebook 03 (merchant adoption) fits diffusion models to per-period adoption counts. On
observed data those counts come from a table of adoption events -- one row per merchant
opt-in (merchant id, time, optionally market) -- read by :func:`read_opt_ins`, and,
optionally, from an effort series (ad spend or placements per day or period) read by
:func:`read_effort` for the Generalized Bass model.

Both readers reuse :func:`analysis.data.events.read_event_log` for everything that is
not specific to adoptions: the sources it accepts (a path, glob or directory of Parquet
or CSV files, or a DuckDB database file with ``table``), the ``time_format`` and
``timezone`` rules for turning times into calendar days, and its checks (missing file,
empty file, missing column, null ids, unparsable times with the first bad value and its
row, times after ``as_of``). Its messages are reworded here to name the table read (an
"opt-in table" or an "effort series") and the parameter of the column at fault
(``merchant_column``, ``effort_column``). Every file read is recorded
(:func:`analysis._io.record_read`), so the runner's ``.d`` file lists it and ``make``
re-executes the notebook when the data change; the SHA-256 of each file is kept.

Adoption events. A merchant's adoption is its *earliest* row (per market, when
``market_column`` is given): a table with several rows per merchant -- a purchase log,
say, whose first purchase per customer is taken as the adoption event -- is reduced to
first times, and the number of later rows left out is reported (``n_repeat_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._io import relative
from analysis.data.events import EventLog, read_event_log

__all__ = ["EffortSeries", "OptInTable", "read_effort", "read_opt_ins"]


def _reworded(err: Exception, what: str, id_words: str, id_param: str,
              time_param: str = "time_column") -> Exception:
    """``err`` (a CohortInputError of read_event_log) with its wording for this table."""
    text = str(err).replace("(time_column)", f"({time_param})")
    for old, new in (("activity log not found", f"{what} not found"),
                     ("empty activity log", f"empty {what}"),
                     ("the activity log", f"the {what}"),
                     ("activity log", what),
                     ("null user id", f"null {id_words}"),
                     ("(user_column)", f"({id_param})")):
        text = text.replace(old, new)
    return type(err)(text)


def _missing_csv_columns(source, what: str, params: dict[str, str]) -> str | None:
    """The "missing column" message for CSV files lacking a mapped column, or None.

    read_event_log reads CSV time columns as text through DuckDB's ``types`` option, and
    DuckDB refuses a missing column there with a binder error before the column check
    could name it; the header is read here instead.
    """
    from analysis.data.cohorts import _connect
    from analysis.data.events import _expand

    con = _connect()
    try:
        for path in _expand(source):
            found = [r[0] for r in con.execute(
                f"DESCRIBE SELECT * FROM read_csv('{path.replace(chr(39), chr(39) * 2)}', "
                "header = true)").fetchall()]
            missing = [c for c in params if c not in found]
            if missing:
                return (f"missing column(s) "
                        f"{', '.join(f'{c!r} ({params[c]})' for c in missing)} in the {what} "
                        f"{relative(path)}; found: {', '.join(found) or 'no columns'}")
    except Exception:  # noqa: BLE001 - fall back to the reader's own message
        return None
    finally:
        con.close()
    return None


def _read(source, what: str, id_words: str, id_param: str, params: dict[str, str],
          **kwargs) -> EventLog:
    from analysis.data.cohorts import CohortInputError

    try:
        return read_event_log(source, **kwargs)
    except CohortInputError as err:
        if "do not exist in the CSV File" in str(err):
            message = _missing_csv_columns(source, what, params)
            if message:
                raise CohortInputError(message) from None
        raise _reworded(err, what, id_words, id_param,
                        params.get(kwargs["time_column"], "time_column")) from None
    except ValueError as err:
        if "user_column" in str(err):
            raise ValueError(str(err).replace("user_column", id_param)) from None
        raise


def _first_bad(log: EventLog, predicate: str, column: str) -> tuple[str, str]:
    from analysis.data.cohorts import _connect

    con = _connect()
    try:
        return log._first_bad(con, predicate, column)
    finally:
        con.close()


def _count(log: EventLog, expression: str) -> int:
    from analysis.data.cohorts import _connect

    con = _connect()
    try:
        return int(con.execute(f"SELECT count(*) FILTER (WHERE {expression}) "
                               f"FROM {log.raw_sql(con)}").fetchone()[0])
    finally:
        con.close()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class OptInTable:
    """A checked table of adoption events (:func:`read_opt_ins`).

    ``log``: the source as read (files, SHA-256, rows, first and last day; accepted by
    :func:`analysis.notebooks.common.source_table`); ``adoptions``: one row per merchant
    (per market with ``market_column``) with ``merchant_id``, ``market`` (``"all"``
    without a market column) and ``adoption_date`` (its earliest day, a Timestamp);
    ``n_repeat_rows``: rows left out because they are not a merchant's first.
    """

    log: EventLog
    merchant_column: str
    time_column: str
    market_column: str | None
    adoptions: pd.DataFrame
    n_repeat_rows: int

    @property
    def n_rows(self) -> int:
        return self.log.n_rows

    @property
    def n_adoptions(self) -> int:
        return len(self.adoptions)

    @property
    def markets(self) -> list[str]:
        return sorted(self.adoptions["market"].unique())

    @property
    def first_day(self) -> pd.Timestamp:
        return self.adoptions["adoption_date"].min()

    @property
    def last_day(self) -> pd.Timestamp:
        return self.adoptions["adoption_date"].max()


def read_opt_ins(source, *, merchant_column: str = "merchant_id",
                 time_column: str = "opt_in_date", market_column: str | None = None,
                 time_format: str | None = None, timezone: str | None = None,
                 table: str | None = None, as_of=None) -> OptInTable:
    """Read and check a table of merchant opt-ins (see the module docstring).

    ``source``, ``time_format``, ``timezone``, ``table`` and ``as_of`` are those of
    :func:`analysis.data.events.read_event_log`; ``merchant_column`` holds the merchant
    id, ``time_column`` the time of the opt-in, ``market_column`` (optional) its market.

    Raises
    ------
    analysis.data.cohorts.CohortInputError
        For a bad source: the message names the file, the column and, for values, the
        first bad value and its row (null merchant ids or markets, unparsable times,
        times after ``as_of``, an empty table, a missing column).
    """
    params = {merchant_column: "merchant_column", time_column: "time_column",
              **({market_column: "market_column"} if market_column else {})}
    log = _read(source, "opt-in table", "merchant id", "merchant_column", params,
                user_column=merchant_column, time_column=time_column,
                market_column=market_column, time_format=time_format, timezone=timezone,
                table=table, as_of=as_of)
    if market_column is not None:
        n_null = _count(log, f"{_q(market_column)} IS NULL")
        if n_null:
            from analysis.data.cohorts import CohortInputError

            at, _ = _first_bad(log, f"{_q(market_column)} IS NULL", market_column)
            raise CohortInputError(f"{n_null} of {log.n_rows} rows have no market (column "
                                   f"{market_column!r}, market_column); the first: {at}")
    rows = log.to_pandas().rename(columns={"user_id": "merchant_id",
                                           "event_date": "adoption_date"})
    if "market" not in rows:
        rows["market"] = "all"
    rows["adoption_date"] = pd.to_datetime(rows["adoption_date"])
    first = (rows.groupby(["merchant_id", "market"], sort=True, dropna=False)
             ["adoption_date"].min().reset_index()
             .sort_values(["adoption_date", "market", "merchant_id"], kind="stable")
             .reset_index(drop=True))
    return OptInTable(log, merchant_column, time_column, market_column,
                      first[["merchant_id", "market", "adoption_date"]],
                      int(len(rows) - len(first)))


@dataclass(frozen=True)
class EffortSeries:
    """A checked effort series (:func:`read_effort`): ``log`` the source as read;
    ``daily``: ``date`` (Timestamp) and ``effort`` (float, summed over the rows of each
    day), sorted by date."""

    log: EventLog
    time_column: str
    effort_column: str
    daily: pd.DataFrame

    def per_period(self, edges: pd.DatetimeIndex) -> np.ndarray:
        """Effort summed over each period ``[edges[i], edges[i+1])``; a period without a
        row of the series counts as no effort (0)."""
        d = self.daily
        idx = np.searchsorted(edges.values, d["date"].values, side="right") - 1
        out = np.zeros(len(edges) - 1)
        ok = (idx >= 0) & (idx < len(out))
        np.add.at(out, idx[ok], d["effort"].to_numpy(dtype=float)[ok])
        return out


def read_effort(source, *, time_column: str = "date", effort_column: str = "effort",
                time_format: str | None = None, timezone: str | None = None,
                table: str | None = None, as_of=None) -> EffortSeries:
    """Read and check an effort series (ad spend or placements per day or period).

    One row per day or period: ``time_column`` (its first day) and ``effort_column``
    (a non-negative number). Checks as :func:`read_opt_ins`, and: effort values that
    are not numbers, or negative, are refused with the first bad value and its row.
    """
    from analysis.data.cohorts import CohortInputError

    params = {effort_column: "effort_column", time_column: "effort_time_column"}
    log = _read(source, "effort series", "effort value", "effort_column", params,
                user_column=effort_column, time_column=time_column,
                time_format=time_format, timezone=timezone, table=table, as_of=as_of)
    c = _q(effort_column)
    number = f"TRY_CAST({c} AS DOUBLE)"
    for predicate, problem in ((f"{number} IS NULL", "are not numbers"),
                               (f"{number} < 0", "are negative"),
                               (f"NOT isfinite({number})", "are not finite")):
        n_bad = _count(log, f"{c} IS NOT NULL AND ({predicate})")
        if n_bad:
            at, value = _first_bad(log, f"{c} IS NOT NULL AND ({predicate})", effort_column)
            raise CohortInputError(
                f"{n_bad} of {log.n_rows} values of column {effort_column!r} "
                f"(effort_column){log.where} {problem}; the first: {value!r} at {at}")
    rows = log.to_pandas()
    daily = (pd.DataFrame({"date": pd.to_datetime(rows["event_date"]),
                           "effort": pd.to_numeric(rows["user_id"]).astype(float)})
             .groupby("date", sort=True)["effort"].sum().reset_index())
    return EffortSeries(log, time_column, effort_column, daily)


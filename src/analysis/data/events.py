"""An analyst's own activity log: files on disk, their columns mapped to the engine's.

The cohort engine (:mod:`analysis.data.cohorts`, :mod:`analysis.data.activity`) reads
logs with the columns ``user_id`` and ``event_date`` (a calendar day), and optionally
``market`` and ``install_date``. Real logs rarely look like that: the user column is
``customer_id`` or ``device_hash``, the time is a text or integer date (``19970101``),
a local timestamp, or a time-zone-aware timestamp. :func:`read_event_log` describes
such a log once -- where it is and which column is which -- and checks it; the
resulting :class:`EventLog` is accepted as ``source`` by
:func:`~analysis.data.cohorts.daily_active_users`,
:func:`~analysis.data.cohorts.cohort_table`,
:func:`~analysis.data.activity.user_activity` and
:func:`~analysis.data.activity.activity_patterns`. Nothing is copied: every engine call
streams the files again through DuckDB with the mapping applied in SQL.

Sources
-------
A path, a glob or a directory of Parquet (``*.parquet``, ``*.pq``) or CSV files
(``*.csv``, ``*.tsv``, ``*.txt``, optionally ``.gz``), a list of them, or a DuckDB
database file (``*.duckdb``, ``*.db``) with ``table=``. A directory is read as all the
Parquet files under it (hive partitions allowed), else all the CSV files.

Calendar days
-------------
``time_column`` may hold

- DATEs, or ISO text dates (``2025-01-13``): taken as they are;
- naive timestamps (``2025-01-13 23:30``), as values or text: local clock times, whose
  date is the calendar day (``timezone`` does not move them);
- time-zone-aware timestamps (``TIMESTAMP WITH TIME ZONE`` columns, text with an
  offset such as ``...-05:00`` or ``Z``, or a ``time_format`` with ``%z``): instants,
  counted on the calendar day of ``timezone`` (e.g. ``"America/New_York"``: 23:30 in
  New York stays on its day). ``timezone`` is then required: grouping instants by UTC
  day silently moved evening events to the next day;
- text or integers in a ``time_format`` of :func:`strptime` codes (``"%Y%m%d"`` for
  ``19970101``, ``"%d/%m/%Y %H:%M"``), or one of :data:`EPOCH_FORMATS`: integer days,
  seconds or milliseconds since 1970-01-01 (seconds and milliseconds are UTC instants
  and need ``timezone``).

Checks
------
:func:`read_event_log` refuses, with a :class:`~analysis.data.cohorts.CohortInputError`
naming the file, the column and (for values) the row: a missing file or no file
matching, an empty file, missing columns (listing those found), null user ids,
unparsable times (with the first bad value and its row), time-zone-aware times without
``timezone``, an unknown zone, and events after ``as_of``. Rows are numbered from 1 in
file order, without the header line.

Every file read is recorded (:func:`analysis._io.record_read`), so the runner's ``.d``
file names it and ``make`` re-executes a notebook when the data changes; ``sha256``
holds the checksums the results and the provenance appendix cite.
"""

from __future__ import annotations

import csv
import glob as _glob
import gzip
import hashlib
import os
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analysis._io import as_date, record_read, relative, sha256

__all__ = ["EPOCH_FORMATS", "EventLog", "read_event_log"]

#: ``time_format`` values for integer times since 1970-01-01 (seconds and milliseconds
#: are UTC instants).
EPOCH_FORMATS = ("epoch_days", "epoch_seconds", "epoch_milliseconds")
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".tsv", ".txt")
_DUCKDB = (".duckdb", ".db", ".ddb")
_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT")
# a time of day followed by a UTC offset or Z ("...23:30:00-05:00", "...04:30Z")
_OFFSET = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)? ?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_ALIAS = "_event_log_db"


def _error(message: str):
    from analysis.data.cohorts import CohortInputError  # the data layer's input error

    return CohortInputError(message)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _s(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _kind(path: str) -> str:
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffixes, kind in ((_PARQUET, "parquet"), (_CSV, "csv"), (_DUCKDB, "duckdb")):
        if name.endswith(suffixes):
            return kind
    raise _error(
        f"{path}: unknown file type; expected Parquet (.parquet, .pq), CSV (.csv, .tsv, "
        f".txt, optionally .gz) or a DuckDB database (.duckdb, .db) with table="
    )


def _expand(source) -> list[str]:
    """The files of ``source`` (path, glob, directory or a list of them), sorted."""
    items = [source] if isinstance(source, str | os.PathLike) else source
    if not isinstance(items, Sequence) or not items or not all(
            isinstance(p, str | os.PathLike) for p in items):
        raise _error(f"source must be a path, glob or directory (or a list of them); "
                     f"got {source!r}")
    files: list[str] = []
    for item in items:
        s = os.fspath(item)
        if any(ch in s for ch in "*?["):
            hits = sorted(p for p in _glob.glob(s, recursive=True) if os.path.isfile(p))
            if not hits:
                raise _error(f"no file matches the glob {s!r}")
            files += hits
        elif os.path.isdir(s):
            for suffixes in (_PARQUET, _CSV):
                hits = sorted(p for p in _glob.glob(os.path.join(s, "**", "*"), recursive=True)
                              if os.path.isfile(p)
                              and p.lower().removesuffix(".gz").endswith(suffixes))
                if hits:
                    files += hits
                    break
            else:
                raise _error(f"no Parquet or CSV file under the directory {s!r}")
        elif os.path.isfile(s):
            files.append(s)
        else:
            raise _error(f"activity log not found: {s!r} does not exist")
    kinds = {_kind(p) for p in files}
    if len(kinds) > 1:
        raise _error(f"source mixes file types ({', '.join(sorted(kinds))}): {files[:4]}")
    return files


@dataclass(frozen=True)
class EventLog:
    """An activity log on disk with its column mapping (see :func:`read_event_log`).

    ``paths``: the files; ``kind``: ``"parquet"``, ``"csv"`` or ``"duckdb"``; ``table``:
    the table of a DuckDB database; the ``*_column`` names and ``time_format`` /
    ``timezone`` as given; ``sha256``: path -> SHA-256 of each file; ``n_rows``,
    ``first_day``, ``last_day``: what the check found.
    """

    paths: tuple[str, ...]
    kind: str
    user_column: str
    time_column: str
    market_column: str | None = None
    install_column: str | None = None
    time_format: str | None = None
    timezone: str | None = None
    table: str | None = None
    sha256: dict[str, str] = field(default_factory=dict, compare=False)
    n_rows: int = 0
    first_day: object = None
    last_day: object = None
    _types: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    # -- what the engine reads ---------------------------------------------------------

    @property
    def where(self) -> str:
        """`` in <file>`` for error messages."""
        shown = relative(self.paths[0]) if len(self.paths) == 1 else (
            f"{relative(self.paths[0])} (+{len(self.paths) - 1} more files)")
        return f" in {shown}" + (f", table {self.table}" if self.table else "")

    @property
    def checksum(self) -> str:
        """One SHA-256 for the whole source (of the files' checksums, in path order)."""
        if len(self.sha256) == 1:
            return next(iter(self.sha256.values()))
        h = hashlib.sha256()
        for p in sorted(self.sha256):
            h.update(f"{relative(p)}\0{self.sha256[p]}\n".encode())
        return h.hexdigest()

    def raw_sql(self, con, *, row_numbers: bool = False) -> str:
        """The files as one relation, columns as stored (time columns as text for CSV)."""
        files = "[" + ", ".join(_s(p) for p in self.paths) + "]"
        if self.kind == "duckdb":
            attached = {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
            if _ALIAS not in attached:
                con.execute(f"ATTACH {_s(self.paths[0])} AS {_ALIAS} (READ_ONLY)")
            rel = f"{_ALIAS}.{self.table}"
            return (f"(SELECT *, row_number() OVER () AS _row FROM {rel})" if row_numbers
                    else rel)
        if self.kind == "parquet":
            extra = ", file_row_number = true, filename = true" if row_numbers else ""
            return f"read_parquet({files}, union_by_name = true{extra})"
        text = [c for c in (self.time_column, self.install_column) if c]
        types = "{" + ", ".join(f"{_s(c)}: 'VARCHAR'" for c in text) + "}"
        extra = ", filename = true" if row_numbers else ""
        return f"read_csv({files}, header = true, union_by_name = true, types = {types}{extra})"

    def _day_sql(self, col: str) -> str:
        """SQL turning column ``col`` into a DATE (NULL where it does not parse)."""
        typ, c, tz = self._types[col], _q(col), self.timezone
        fmt = self.time_format
        local = (lambda x: f"timezone({_s(tz)}, {x})") if tz else (lambda x: x)
        if fmt in EPOCH_FORMATS:
            n = f"TRY_CAST({c} AS BIGINT)"
            if fmt == "epoch_days":
                return f"(DATE '1970-01-01' + CAST({n} AS INTEGER))"
            ts = f"to_timestamp({n}{' / 1000.0' if fmt == 'epoch_milliseconds' else ''})"
            return f"CAST({local(ts)} AS DATE)"
        if fmt:
            ts = f"try_strptime(CAST({c} AS VARCHAR), {_s(fmt)})"
            return f"CAST({local(ts) if '%z' in fmt or '%Z' in fmt else ts} AS DATE)"
        if typ == "DATE":
            return c
        if typ == "TIMESTAMP WITH TIME ZONE":
            return f"CAST({local(c)} AS DATE)"
        if typ.startswith("TIMESTAMP"):
            return f"CAST({c} AS DATE)"
        if typ in ("VARCHAR", "STRING"):
            aware = local(f"TRY_CAST(trim({c}) AS TIMESTAMPTZ)")
            return (f"(CASE WHEN regexp_matches(trim({c}), {_s(_OFFSET)}) THEN CAST({aware} AS DATE) "
                    f"ELSE CAST(TRY_CAST(trim({c}) AS TIMESTAMP) AS DATE) END)")
        raise _error(
            f"column {col!r}{self.where} has type {typ}; for integer or other encoded times "
            f"set time_format (strptime codes such as '%Y%m%d', or one of {EPOCH_FORMATS})"
        )

    def select_sql(self, con) -> str:
        """``SELECT user_id, event_date[, market][, install_date]`` over the files."""
        cols = [f"{_q(self.user_column)} AS user_id",
                f"{self._day_sql(self.time_column)} AS event_date"]
        if self.market_column:
            cols.append(f"CAST({_q(self.market_column)} AS VARCHAR) AS market")
        if self.install_column:
            cols.append(f"{self._day_sql(self.install_column)} AS install_date")
        return f"(SELECT {', '.join(cols)} FROM {self.raw_sql(con)})"

    def to_pandas(self):
        """The mapped log as a pandas DataFrame (small logs; the engine streams)."""
        from analysis.data.cohorts import _connect

        con = _connect()
        try:
            df = con.execute(f"SELECT * FROM {self.select_sql(con)}").df()
        finally:
            con.close()
        return df

    # -- checks ------------------------------------------------------------------------

    def _first_bad(self, con, predicate: str, col: str) -> tuple[str, str]:
        """(location, value) of the first row where ``predicate`` holds."""
        raw = self.raw_sql(con, row_numbers=True)
        if self.kind == "parquet":
            r = con.execute(f"SELECT filename, file_row_number, CAST({_q(col)} AS VARCHAR) FROM {raw} "
                            f"WHERE {predicate} ORDER BY filename, file_row_number LIMIT 1").fetchone()
            return f"{relative(r[0])}, row {r[1] + 1}", r[2]
        if self.kind == "duckdb":
            r = con.execute(f"SELECT _row, CAST({_q(col)} AS VARCHAR) FROM {raw} "
                            f"WHERE {predicate} ORDER BY _row LIMIT 1").fetchone()
            return f"{relative(self.paths[0])}, table {self.table}, row {r[0]}", r[1]
        # CSV: DuckDB numbers no CSV rows; find the first bad value, then its row by reading
        # the file in order (only up to that row).
        r = con.execute(f"SELECT filename, CAST({_q(col)} AS VARCHAR) FROM {raw} WHERE {predicate} "
                        f"LIMIT 1").fetchone()
        path, value = r
        opener = gzip.open if path.lower().endswith(".gz") else open
        delimiter = "\t" if path.lower().removesuffix(".gz").endswith(".tsv") else ","
        with opener(path, "rt", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh, delimiter=delimiter), start=1):
                cell = row.get(col)
                if (cell in ("", None) and value is None) or cell == value:
                    return f"{relative(path)}, row {i} (line {i + 1})", value
        return relative(path), value  # pragma: no cover - DuckDB and csv disagree

    def check(self, con, as_of=None) -> EventLog:
        """Check the log (see the module docstring); return it with counts filled in."""
        cols = [self.user_column, self.time_column, self.market_column, self.install_column]
        names = [c for c in cols if c]
        try:
            desc = con.execute(f"DESCRIBE SELECT * FROM {self.raw_sql(con)}").fetchall()
        except duckdb.Error as e:
            raise _error(f"cannot read the activity log{self.where}: {e}") from e
        types = {r[0]: str(r[1]).upper() for r in desc}
        missing = [c for c in names if c not in types]
        if missing:
            which = {self.user_column: "user_column", self.time_column: "time_column",
                     self.market_column: "market_column", self.install_column: "install_column"}
            raise _error(
                f"missing column(s) {', '.join(f'{c!r} ({which[c]})' for c in missing)}"
                f"{self.where}; found: {', '.join(types) or 'no columns'}")
        log = EventLog(**{**self.__dict__, "_types": types})
        days = {c: log._day_sql(c) for c in (self.time_column, self.install_column) if c}
        try:
            stats = con.execute(
                "SELECT count(*), count(" + _q(self.user_column) + "), "
                + ", ".join(f"count({_q(c)}), count({d}), min({d}), max({d})" for c, d in days.items())
                + (f", count(*) FILTER (WHERE regexp_matches(trim(CAST({_q(self.time_column)} AS VARCHAR)), "
                   f"{_s(_OFFSET)}))" if types[self.time_column] in ("VARCHAR", "STRING")
                   and not self.time_format else ", 0")
                + f" FROM {log.raw_sql(con)}").fetchone()
        except duckdb.Error as e:
            raise _error(f"cannot read the activity log{self.where}: {e}") from e
        n, n_user = stats[0], stats[1]
        if n == 0:
            raise _error(f"empty activity log (0 rows){self.where}")
        if n_user < n:
            at, _ = log._first_bad(con, f"{_q(self.user_column)} IS NULL", self.user_column)
            raise _error(f"{n - n_user} of {n} rows have a null user id (column "
                         f"{self.user_column!r}); the first: {at}")
        aware = stats[-1] or types[self.time_column] == "TIMESTAMP WITH TIME ZONE" or (
            self.time_format and ("%z" in self.time_format or self.time_format in EPOCH_FORMATS[1:]))
        if aware and not self.timezone:
            raise _error(
                f"column {self.time_column!r}{self.where} holds time-zone-aware times; set "
                f"timezone (e.g. 'America/New_York', or 'UTC') to say in which zone calendar "
                f"days are counted")
        lo = hi = None
        for i, (c, d) in enumerate(days.items()):
            n_raw, n_day, d_lo, d_hi = stats[2 + 4 * i: 6 + 4 * i]
            if c == self.time_column and n_raw < n:
                at, _ = log._first_bad(con, f"{_q(c)} IS NULL", c)
                raise _error(f"{n - n_raw} of {n} rows have no time (column {c!r}); the first: {at}")
            if n_day < n_raw:
                at, value = log._first_bad(con, f"{_q(c)} IS NOT NULL AND {d} IS NULL", c)
                hint = (f"time_format={self.time_format!r} does not match it" if self.time_format
                        else "set time_format (strptime codes such as '%Y%m%d' for 19970101, "
                             f"or one of {EPOCH_FORMATS})")
                raise _error(f"{n_raw - n_day} of {n_raw} values of column {c!r} are not "
                             f"dates or times; the first: {value!r} at {at}; {hint}")
            if c == self.time_column:
                lo, hi = as_date(d_lo), as_date(d_hi)
        if as_of is not None and hi > as_date(as_of):
            d = days[self.time_column]
            at, value = log._first_bad(con, f"{d} > DATE '{as_date(as_of)}'", self.time_column)
            raise _error(f"column {self.time_column!r} has events after as_of={as_date(as_of)} "
                         f"(latest {hi}); the first: {value!r} at {at}")
        return EventLog(**{**log.__dict__, "n_rows": int(n), "first_day": lo, "last_day": hi})


def read_event_log(source, *, user_column: str = "user_id", time_column: str = "event_date",
                   market_column: str | None = None, install_column: str | None = None,
                   time_format: str | None = None, timezone: str | None = None,
                   table: str | None = None, as_of=None) -> EventLog:
    """Describe and check an activity log on disk (see the module docstring).

    Parameters
    ----------
    source : path, glob, directory, or a list of them
        Parquet or CSV files, or one DuckDB database file (then ``table`` is required).
    user_column, time_column, market_column, install_column : str
        The columns holding the user id, the event time, the market (optional) and the
        install time (optional).
    time_format : str, optional
        strptime codes for text or integer times (``"%Y%m%d"``), or one of
        :data:`EPOCH_FORMATS`.
    timezone : str, optional
        IANA zone in which calendar days are counted (required for time-zone-aware
        times).
    as_of : date-like, optional
        Refuse events after this day.

    Returns
    -------
    EventLog
        Accepted as ``source`` by the cohort engine; ``sha256`` holds the files'
        checksums, recorded as read.

    Raises
    ------
    analysis.data.cohorts.CohortInputError
        For a bad source; the message names the file, the column and the row.
    """
    from analysis.data.cohorts import _connect

    for name, value in (("user_column", user_column), ("time_column", time_column)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a column name, not {value!r}")
    if timezone is not None:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"timezone must be an IANA zone such as 'America/New_York' or "
                             f"'UTC', not {timezone!r}") from None
    files = _expand(source)
    kind = _kind(files[0])
    if kind == "duckdb":
        if len(files) != 1 or not table:
            raise _error(f"a DuckDB database source is one file and needs table=; got "
                         f"{len(files)} file(s), table={table!r}")
    elif table:
        raise ValueError(f"table= is for DuckDB database files, not {kind} files")
    for p in files:
        if os.path.getsize(p) == 0:
            raise _error(f"empty activity log (0 bytes) in {relative(p)}")
    log = EventLog(paths=tuple(str(Path(p).resolve()) for p in files), kind=kind,
                   user_column=user_column, time_column=time_column,
                   market_column=market_column, install_column=install_column,
                   time_format=time_format, timezone=timezone, table=table)
    con = _connect()
    try:
        log = log.check(con, as_of)
    finally:
        con.close()
    for p in log.paths:
        record_read(p)
    return EventLog(**{**log.__dict__, "sha256": {p: sha256(p) for p in log.paths}})

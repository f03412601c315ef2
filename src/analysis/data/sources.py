"""The curated published figures (``data/raw/published_metrics.csv``) and what they say.

Every quantitative claim in the five seed articles and in ``press_figures.md`` is one row
of the CSV (see ``data/raw/README.md`` for the data dictionary). This module

- validates the file against a pandera schema and, when it is malformed, raises
  :class:`DataValidationError` naming the file, the data row, the column and what was
  expected -- never a bare pandas traceback;
- derives the tables the sources notebook shows: figures by provider, the timeline of
  the RedNote US episode, and where providers disagree.

Derived figures (for example the peak implied by "0.9 M is about 30 % of the peak") are
computed here from the rows, so that no number in a report is typed by hand.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # pandera imports pyspark when it is installed (the optional `spark` extra), and
    # pyspark warns about pandas 3 at import; nothing here uses pyspark through pandera.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    import pandera.pandas as pa

from analysis import config
from analysis._io import record_read

#: Units a value may carry (data dictionary: data/raw/README.md).
UNITS = (
    "users", "downloads", "views", "count", "orders", "items", "links", "merchants",
    "percent", "multiple", "rank", "usd", "cny", "square_feet", "square_metres",
    "hours", "days", "years", "people", "events", "sessions",
)
#: How the source states the figure.
QUALIFIERS = (
    "exact", "approximate", "at_least", "at_most", "ratio", "rank", "estimate", "forecast",
)
#: Who measured or stated the figure (data/raw/README.md, "Providers").
PROVIDERS = (
    "Sensor Tower", "Similarweb", "QuestMobile", "AppGrowing", "Qimai", "Aurora Mobile",
    "Xinhong Data", "GF Securities", "Financial Times", "36Kr", "China Entrepreneur",
    "Tech Planet", "Securities Star", "company", "none",
)
#: Where the figure applies (data/raw/README.md, column ``market``).
MARKETS = ("US", "CN", "HK", "AU", "UK", "NL", "DE", "Global", "US+HK+MO")
#: The firm or product the figure is about (data/raw/README.md, column ``entity``).
ENTITIES = (
    "RedNote", "TikTok", "TikTok Shop", "Lemon8", "Taobao", "Cainiao", "Douyin E-commerce",
    "Kuaishou", "JD.com", "1688", "US retail (unnamed)",
)
#: Metric names (data/raw/README.md, "Metric vocabulary"; a test keeps the two equal).
METRICS = (
    "dau", "mau", "new_users", "dau_peak_day", "dau_share_of_peak", "dau_share_of_total",
    "dau_avg_change", "dau_change_dod", "dau_change_wow", "dau_change_recent",
    "dau_growth_yoy", "dau_target", "downloads_growth", "downloads_growth_yoy",
    "downloads_share_of_total", "app_store_rank_free", "app_store_overall_chart_exit",
    "markets_ranked_first_downloads", "topic_views", "topic_discussions", "posts_per_user",
    "notes_count", "newcomer_share_described_very_low", "ad_campaign_launch",
    "ad_placements_peak", "ad_placements_nearly_stopped", "gmv", "gmv_daily", "gmv_rank",
    "gmv_growth", "gmv_growth_yoy", "gmv_daily_growth_yoy", "gmv_share_self_operated",
    "commercial_scale", "net_profit", "revenue_share_advertising", "merchant_count_growth",
    "merchant_count_growth_sales_over_100m_cny", "merchant_count_growth_sales_50m_cny",
    "participating_merchants", "merchant_share_seeking_results", "merchant_success_rate",
    "merchant_entry_min_turnover", "merchant_entry_min_turnover_removed",
    "merchant_entry_channels_added", "merchant_incentive_price_threshold",
    "merchant_wait_since_invitation", "merchant_orders_received", "merchant_listed_products",
    "cluster_merchants_in_top5_store_livestreams", "industrial_cluster_partnerships",
    "industrial_cluster_target", "cluster_products_count", "orders_from_clusters",
    "orders_from_clusters_growth_yoy", "units_sold", "units_sold_cumulative",
    "sales_window_length", "livestream_sales_rank", "livestream_interactions",
    "livestreams_planned", "short_dramas_free", "offline_creator_events", "price_quoted",
    "price_quoted_incl_shipping", "price_quoted_after_sellout", "referral_reward",
    "referral_reward_max", "reactivation_reward_max", "reactivation_inactivity_threshold",
    "service_fee_rate_cross_border_vas", "service_fee_rate_base",
    "traffic_share_ordinary_users", "comment_links_daily", "subsidy_budget",
    "governance_measures", "algorithm_departments_merged", "partnership_consecutive_years",
    "partnership_duration", "user_share_age_18_24", "user_share_age_25_34", "office_size",
    "job_postings", "trainee_time_share_rotation", "trainee_time_share_mentoring",
    "trainee_time_share_training", "pilot_markets_count", "oral_argument_duration",
    "policy_event", "company_event", "programme_launch", "market_entry",
)
#: Event kinds: metrics whose row records that something happened (or was said) in the
#: period and carries no other number -- unit ``events``, value 1 (README, "Units").
EVENT_METRICS = (
    "policy_event", "company_event", "programme_launch", "market_entry",
    "ad_campaign_launch", "app_store_overall_chart_exit",
    "newcomer_share_described_very_low",
)
COLUMNS = (
    "id", "entity", "market", "metric", "period_start", "period_end", "value", "unit",
    "qualifier", "provider", "source", "source_quote", "note_en",
)
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


class DataValidationError(ValueError):
    """A raw data file does not match its schema.

    ``problems`` holds one dict per problem with keys ``file``, ``row`` (1-based data
    row, the header excluded; ``None`` for file-level problems), ``line`` (the line of
    the file where the row starts, as an editor shows it), ``column``, ``value`` and
    ``expected``.
    """

    def __init__(self, path: Path, problems: list[dict]):
        self.path = Path(path)
        self.problems = problems
        shown = "\n".join(f"  - {_describe(p)}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"{_display_path(self.path)}: {len(problems)} problem(s) found\n{shown}{more}"
        )


def _display_path(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(config.PROJ_ROOT))
    except ValueError:
        return str(path)


def _describe(p: dict) -> str:
    where = f"{_display_path(p['file'])}"
    if p.get("row") is not None:
        where += f", row {p['row']} (line {p['line']})"
    elif p.get("line") is not None:
        where += f", line {p['line']}"
    if p.get("column"):
        where += f", column '{p['column']}'"
    value = "" if p.get("value") is None else f": got {_clip(p['value'])}"
    return f"{where}{value}; expected {p['expected']}"


def _clip(value, width: int = 80) -> str:
    shown = repr(value)
    return shown if len(shown) <= width else shown[: width - 5] + "…" + shown[-1]


def _problem(path: Path, expected: str, row=None, line=None, column=None, value=None) -> dict:
    return dict(file=path, row=row, line=line, column=column, value=value, expected=expected)


_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _iso_dates(s: pd.Series) -> pd.Series:
    """Cells that are real calendar days written YYYY-MM-DD as datetime64; else NaT.

    Nothing else is accepted: ``15/01/2025`` is ambiguous and ``2025-02-30`` no day.
    """
    text = s.astype("str")
    parsed = pd.to_datetime(text.where(text.str.match(_DATE)), format="%Y-%m-%d",
                            errors="coerce")
    return parsed.astype("datetime64[ns]")


def _schema(source_files: tuple[str, ...]) -> pa.DataFrameSchema:
    text = pa.Column(str, pa.Check.str_length(min_value=1), nullable=False)
    no_cjk = pa.Check(
        lambda s: ~s.str.contains(_CJK), element_wise=False,
        error="English/pinyin only (Chinese text belongs in source_quote)",
    )
    # Dates stay text here and are checked one cell at a time, so that a bad date is a
    # problem of its row; pandera's datetime coercion fails whole columns at once.
    iso_date = pa.Check(lambda s: _iso_dates(s).notna(), error="a date YYYY-MM-DD")
    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, pa.Check.str_matches(r"^PM\d{3,}$"), unique=True),
            "entity": pa.Column(str, pa.Check.isin(ENTITIES)),
            "market": pa.Column(str, pa.Check.isin(MARKETS)),
            "metric": pa.Column(str, pa.Check.isin(METRICS)),
            "period_start": pa.Column(str, iso_date, nullable=False),
            "period_end": pa.Column(str, iso_date, nullable=False),
            # to_numeric first: when coercion failed pandera still runs the check on text.
            "value": pa.Column(float, pa.Check(
                lambda s: np.isfinite(pd.to_numeric(s, errors="coerce")),
                error="finite number"), coerce=True, nullable=False),
            "unit": pa.Column(str, pa.Check.isin(UNITS)),
            "qualifier": pa.Column(str, pa.Check.isin(QUALIFIERS)),
            "provider": pa.Column(str, pa.Check.isin(PROVIDERS)),
            "source": pa.Column(str, pa.Check.isin(source_files)),
            "source_quote": text,
            "note_en": pa.Column(str, no_cjk, nullable=False),
        },
        strict=True,
        ordered=False,
    )


_EXPECTED = {
    "id": "a unique id like PM001",
    "entity": "one of " + ", ".join(ENTITIES),
    "market": "one of " + ", ".join(MARKETS),
    "metric": ("a metric name of the vocabulary (data/raw/README.md, 'Metric vocabulary'; "
               "analysis.data.sources.METRICS)"),
    "provider": "one of " + ", ".join(PROVIDERS),
    "period_start": "a date YYYY-MM-DD (a real calendar day)",
    "period_end": "a date YYYY-MM-DD (a real calendar day) on or after period_start",
    "value": "a finite number (no units or text)",
    "unit": "one of " + ", ".join(UNITS),
    "qualifier": "one of " + ", ".join(QUALIFIERS),
}


def _problems_from(err: pa.errors.SchemaErrors, path: Path, source_files,
                   lines: dict[int, int]) -> list[dict]:
    problems, seen = [], set()
    for case in err.failure_cases.itertuples(index=False):
        column = case.column
        check = str(case.check)
        if case.schema_context == "DataFrameSchema" and check == "column_in_dataframe":
            problems.append(_problem(path, "the column to be present (missing)", line=1,
                                     column=case.failure_case))
            continue
        if check == "column_in_schema":
            problems.append(_problem(path, "no such column: allowed columns are "
                                     + ", ".join(COLUMNS), line=1, column=case.failure_case))
            continue
        index = None if pd.isna(case.index) else int(case.index)
        key = (index, column)
        if key in seen:  # pandera reports a failed coercion twice (coerce, then dtype)
            continue
        seen.add(key)
        if check == "field_uniqueness":
            expected = "a unique id (this id appears more than once)"
        elif column == "source":
            expected = "the file name of a seed in data/raw/seeds/: " + ", ".join(source_files)
        elif check.startswith("not_nullable"):
            expected = "a value (the cell is empty)"
        elif column in _EXPECTED:
            expected = _EXPECTED[column]
        else:
            expected = check
        row = None if index is None else index + 1
        line = None if index is None else lines.get(index)
        value = None if pd.isna(case.failure_case) else case.failure_case
        problems.append(_problem(path, expected, row=row, line=line, column=column,
                                 value=value))
    return problems


def _shown(field: str) -> str:
    """A cell as read, with undecodable bytes shown as ``\\xff`` escapes."""
    return field.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


_BAD_BYTE = re.compile(r"[\udc80-\udcff]")


def _quoting_fault(text: str, line: int) -> tuple[int, str, bool]:
    """Where the CSV quoting of the record starting on ``line`` breaks.

    Returns the 0-based field index, the field's text up to the fault, and whether the
    fault is a quote never closed (else: text after a closing quote).
    """
    rest = "".join(text.splitlines(keepends=True)[line - 1:])
    field, begin, state = 0, 0, "start"
    for i, ch in enumerate(rest):
        if state == "quoted":
            if ch == '"':
                state = "quote"
        elif state == "quote":  # just after a quote inside a quoted value
            if ch == '"':
                state = "quoted"
            elif ch == ",":
                field, begin, state = field + 1, i + 1, "start"
            elif ch in "\r\n":
                break
            else:
                return field, _shown(rest[begin:i + 1]), False
        elif ch == ",":
            field, begin, state = field + 1, i + 1, "start"
        elif ch in "\r\n":
            break
        elif state == "start":
            state = "quoted" if ch == '"' else "plain"
    return field, _shown(rest[begin:]), state == "quoted"


def _read_table(path: Path) -> tuple[pd.DataFrame, dict[int, int], list[dict], set]:
    """Split the file into rows with the ``csv`` module, checking what pandas would not.

    Returns the rows as text (index = data row - 1), the line each row starts on, the
    problems of the file's structure (empty file, bytes that are not UTF-8, broken
    quoting, rows with too few or too many fields, a last line cut short) and the
    ``(row, column)`` cells already reported, so the schema does not report them again.
    Rows with the wrong number of fields are left out of the table: their fields cannot
    be matched to columns.
    """
    data = path.read_bytes()
    if not data.strip():
        return pd.DataFrame(), {}, [_problem(
            path, "a header line (" + ",".join(COLUMNS) + ") and at least one data row "
            "(the file is empty)", line=1)], set()
    # surrogateescape keeps every byte: a byte that is not UTF-8 is reported in its cell.
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[dict] = []
    reported: set = set()
    header: list[str] | None = None
    rows: list[list[str]] = []
    index: list[int] = []
    lines: dict[int, int] = {}
    n_rows, last_line, broken = 0, 0, False
    while True:
        start = last_line + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # A quote is opened and never closed, or a quoted value has stray text after
            # its closing quote. Nothing after this point can be split reliably.
            field_no, value, unclosed = _quoting_fault(text, start)
            names = header if header is not None else []
            column = names[field_no] if field_no < len(names) else None
            why = ("a quoted value closed by a double quote (this one is never closed: "
                   "the file ends inside it)" if unclosed else
                   "a closing double quote followed by a comma or the end of the line (a "
                   'quote inside a quoted value is written twice, "")')
            problems.append(_problem(
                path, why + "; the rows from here on could not be read",
                row=n_rows + 1 if header is not None else None, line=start,
                column=column, value=value))
            broken = True
            break
        last_line = reader.line_num
        if not fields:  # a blank line, skipped as pandas does
            continue
        if header is None:
            header = fields
            for i, name in enumerate(fields):
                if _BAD_BYTE.search(name):
                    problems.append(_problem(
                        path, "UTF-8 text (a byte of this column name is not UTF-8; "
                        "save the file as UTF-8)", line=start, column=_shown(name)))
                elif name in fields[:i]:
                    problems.append(_problem(
                        path, "each column once in the header (this name appears twice)",
                        line=start, column=name))
            continue
        n_rows += 1
        row = n_rows
        lines[row - 1] = start
        if len(fields) != len(header):
            if len(fields) < len(header):
                missing = ", ".join(f"'{name}'" for name in header[len(fields):])
                why = (f"{len(header)} fields, one per column; found {len(fields)}, so "
                       f"{missing} got none (a line cut short, or a field missing earlier "
                       f"in the row; shown: the last field, which fell under this column)")
                column, value = header[len(fields) - 1], _shown(fields[-1])
            else:
                why = (f"{len(header)} fields, one per column; found {len(fields)}: "
                       f"{len(fields) - len(header)} more than the header has (shown: "
                       f"the first extra field; a value that contains a comma must be "
                       f"enclosed in double quotes)")
                column, value = None, _shown(fields[len(header)])
            problems.append(_problem(path, why, row=row, line=start, column=column,
                                     value=value))
            continue
        for name, field in zip(header, fields, strict=True):
            if _BAD_BYTE.search(field):
                byte = ord(_BAD_BYTE.search(field).group()) - 0xDC00
                problems.append(_problem(
                    path, f"UTF-8 text (byte 0x{byte:02X} is not UTF-8; save the file "
                    "as UTF-8)", row=row, line=start, column=name, value=_shown(field)))
                reported.add((row, name))
        rows.append([_shown(f) for f in fields])
        index.append(row - 1)
    if header is None:
        return pd.DataFrame(), {}, problems or [_problem(
            path, "a header line (" + ",".join(COLUMNS) + ") and at least one data row "
            "(the file is empty)", line=1)], set()
    if not broken and text[-1] not in "\r\n" and rows and index[-1] == n_rows - 1:
        # A file cut short usually stops in the middle of its last line, which may still
        # have every field; a complete file ends with a line break.
        problems.append(_problem(
            path, "a complete last line ending with a line break (the file ends in the "
            "middle of this row: is it truncated?)", row=n_rows, line=lines[n_rows - 1],
            column=header[-1], value=rows[-1][-1]))
    if n_rows == 0 and not problems:
        problems.append(_problem(path, "at least one data row (only a header was found)",
                                 line=last_line + 1))
    if any(p["row"] is None for p in problems):  # the header itself is unusable
        return pd.DataFrame(), lines, problems, reported
    frame = pd.DataFrame(rows, columns=[_shown(h) for h in header], index=index, dtype="str")
    # Empty cells are missing values, as read_csv(keep_default_na=False, na_values=[""]).
    frame = frame.mask(frame == "")
    return frame, lines, problems, reported


def _event_problems(raw: pd.DataFrame, path: Path, lines: dict[int, int]) -> list[dict]:
    """Rows of an event kind (:data:`EVENT_METRICS`) carry unit ``events`` and value 1;
    unit ``events`` belongs to an event kind only. Cells the schema already rejects (an
    unknown unit, a value that is no number) are not reported again."""
    problems = []
    for i in raw.index:
        metric, unit, value = raw.at[i, "metric"], raw.at[i, "unit"], raw.at[i, "value"]
        number = pd.to_numeric(value, errors="coerce")
        if metric in EVENT_METRICS:
            if unit != "events" and unit in UNITS:
                problems.append(_problem(
                    path, f"unit 'events' (metric '{metric}' is an event kind)", row=i + 1,
                    line=lines.get(i), column="unit", value=unit))
            if np.isfinite(number) and number != 1:
                problems.append(_problem(
                    path, f"value 1 (metric '{metric}' is an event kind: one event)",
                    row=i + 1, line=lines.get(i), column="value", value=value))
        elif unit == "events" and metric in METRICS:
            problems.append(_problem(
                path, "a unit other than 'events' (metric '" + metric + "' is not an event "
                "kind; event kinds: " + ", ".join(EVENT_METRICS) + ")", row=i + 1,
                line=lines.get(i), column="unit", value=unit))
    return problems


def _order(problems: list[dict], header: list[str]) -> list[dict]:
    position = {name: i for i, name in enumerate(header)}
    return sorted(problems, key=lambda p: (p["row"] is not None, p["row"] or 0,
                                           position.get(p["column"], len(position))))


def load_published_metrics(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate the curated published figures.

    Parameters
    ----------
    path : path-like, optional
        Defaults to ``config.PUBLISHED_METRICS_CSV``.

    Returns
    -------
    DataFrame with the columns of the data dictionary; dates as datetime64, ``value`` as
    float.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataValidationError
        An empty file, bytes that are not UTF-8, broken quoting, a row with too few or
        too many fields, a last line cut short, a missing or unknown column, a
        non-numeric value, an unknown unit or qualifier, a date that is not a real day
        written YYYY-MM-DD, a duplicate id, ... -- every problem, each with the file, the
        row (and the line it starts on), the column and the value found. The file is
        only read.
    """
    path = Path(path) if path is not None else config.PUBLISHED_METRICS_CSV
    if not path.is_file():
        raise FileNotFoundError(f"{_display_path(path)}: no such file")
    # Split rows with the csv module and keep every cell as text so that the checks
    # here and pandera's, not the CSV parser, judge each cell and name its row.
    raw, lines, problems, reported = _read_table(path)
    record_read(path)
    if raw.columns.empty:
        raise DataValidationError(path, problems)
    source_files = tuple(sorted(p.name for p in config.SEEDS_DIR.iterdir() if p.is_file()))
    df = None
    try:
        df = _schema(source_files).validate(raw, lazy=True)
    except pa.errors.SchemaErrors as err:
        problems += [p for p in _problems_from(err, path, source_files, lines)
                     if (p["row"], p["column"]) not in reported]
    if {"period_start", "period_end"} <= set(raw.columns):
        start, end = _iso_dates(raw["period_start"]), _iso_dates(raw["period_end"])
        for i in raw.index[(end < start).to_numpy()]:  # NaT (a bad date) compares False
            problems.append(_problem(
                path, f"a date on or after period_start ({raw.at[i, 'period_start']})",
                row=i + 1, line=lines[i], column="period_end", value=raw.at[i, "period_end"]))
    if {"metric", "unit", "value"} <= set(raw.columns):
        problems += _event_problems(raw, path, lines)
    if problems:
        raise DataValidationError(path, _order(problems, list(raw.columns)))
    df = df.assign(period_start=_iso_dates(df["period_start"]),
                   period_end=_iso_dates(df["period_end"]))
    df = df.loc[:, list(COLUMNS)].reset_index(drop=True)
    return with_intervals(df)


# --- Hedges as intervals ----------------------------------------------------------------

#: Qualifiers whose value is a hedged point: an interval around it (:func:`value_interval`).
HEDGED = ("approximate", "estimate", "forecast")


def rounding_step(value: float, unit: str = "") -> float:
    """The rounding unit a printed figure implies: the place of its last non-zero digit
    (900,000 -> 100,000; 3.4 -> 0.1; 8.15 -> 0.01), except that a percentage whose last
    non-zero digit is in the tens (10, 20, 30 ... %) is taken as rounded to the nearest 5
    points (shares are commonly quoted in steps of 5: "30 % or so" covers 28 and 32).
    Zero has no rounding step (0): an approximate zero ("almost halted") stays a point."""
    if value == 0 or not np.isfinite(value):
        return 0.0
    text = np.format_float_positional(abs(float(value)), trim="-")
    whole, _, frac = text.partition(".")
    if frac:
        step = 10.0 ** -len(frac)
    else:
        step = 10.0 ** (len(whole) - len(whole.rstrip("0")))
    if unit == "percent" and not frac and step == 10.0:
        step = 5.0
    return step


def value_interval(value: float, qualifier: str, unit: str = "") -> tuple[float, float]:
    """``(value_low, value_high)`` of a published figure, by its qualifier.

    - ``exact``, ``ratio``, ``rank``: the figure itself (``low == high``);
    - ``approximate``, ``estimate``, ``forecast`` (约, 左右, 近, 估计, 有望): the figure
      +- half its rounding step (:func:`rounding_step`): 约90万 -> 85-95万, 30%左右 ->
      27.5-32.5 %, about 3.4 M -> 3.35-3.45 M;
    - ``at_least`` (超过, 突破, 多, more than): a lower bound, ``high`` = NaN (none stated);
    - ``at_most`` (不足, 不到, 最高, under): an upper bound, ``low`` = NaN.

    Anything derived from such figures (a quotient, a growth rate) is an interval too:
    compute it from these bounds (e.g. :func:`implied_peak_dau`).
    """
    v = float(value)
    if qualifier in HEDGED:
        half = rounding_step(v, unit) / 2
        return v - half, v + half
    if qualifier == "at_least":
        return v, float("nan")
    if qualifier == "at_most":
        return float("nan"), v
    return v, v


def with_intervals(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``value_low`` and ``value_high`` (:func:`value_interval`) after
    ``value``: the range each figure stands for under the documented rule
    (``data/raw/README.md``, "Hedges as intervals")."""
    bounds = [value_interval(v, q, u) for v, q, u in
              zip(df["value"], df["qualifier"], df["unit"], strict=True)]
    out = df.copy()
    at = list(out.columns).index("value") + 1
    out.insert(at, "value_low", [b[0] for b in bounds])
    out.insert(at + 1, "value_high", [b[1] for b in bounds])
    return out


# --- What the figures say ---------------------------------------------------------------

def figures_by_provider(df: pd.DataFrame) -> pd.DataFrame:
    """Count of curated figures by provider and source document (a cross-tab).

    Columns are short source names (:func:`short_source`) so the table fits a page.
    """
    table = pd.crosstab(df["provider"], df["source"].map(short_source), margins=True,
                        margins_name="total")
    table.columns.name = "source"
    return table.sort_values("total", ascending=False)


def short_source(name: str) -> str:
    """``000_77cca1003b724cc9.txt`` → ``seed 000``; ``press_figures.md`` → ``press``."""
    match = re.match(r"^(\d{3})_", name)
    return f"seed {match.group(1)}" if match else Path(name).stem.split("_")[0]


#: The date of each seed article, keyed by the seed's number (the file name's first
#: three digits): data/raw/README.md, "Dates" -- "a figure the article does not date gets
#: the article's date": 001 and 002 are dated 2025-01-16; 000 is undated and uses
#: 2025-02-20 (the latest date it cites); 003 is undated and uses 2025-03-15 (an
#: estimate); 004 is a forum repost stamped 2025-05-17. ``press_figures.md`` has no
#: article date: each of its rows carries its own date cell. A test keeps this constant
#: equal to the README text.
ARTICLE_DATES = {
    "000": pd.Timestamp("2025-02-20"),
    "001": pd.Timestamp("2025-01-16"),
    "002": pd.Timestamp("2025-01-16"),
    "003": pd.Timestamp("2025-03-15"),
    "004": pd.Timestamp("2025-05-17"),
}

#: How a row's date was arrived at (:func:`date_basis`).
DATE_BASES = ("day", "period", "as_of", "approximate")
#: A date the source gives as "about" (``date_basis == "approximate"``, "about Jan 6") is
#: read as that day +- this many days: an assumption about the word, not a published
#: range. The calibration requires a level on such a day to hold on every day of the
#: window (``analysis.simulation.users``); the timeline draws the window.
APPROXIMATE_DATE_DAYS = 3

#: A date written out in a quote: a digit followed by 月 or 日 (1月底, 1月22日, 14日), a
#: numeric date (2025-01-16, 2025/1/16), or an English month name or its abbreviation.
_EXPLICIT_DATE = re.compile(
    r"[0-9\uff10-\uff19]\s*[\u6708\u65e5]"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b"
)
#: A table row's date cell that hedges the date ("about Jan 6", "c. Jan 6", "~Jan 6").
_APPROXIMATE_DATE = re.compile(r"^(?:about|around|approximately|approx\.|c\.|ca\.|~)",
                               re.IGNORECASE)


def article_date(source: str) -> pd.Timestamp | None:
    """The date a seed article's undated figures carry (:data:`ARTICLE_DATES`), or None
    for a source that is not a seed article (``press_figures.md``)."""
    match = re.match(r"^(\d{3})_", str(source))
    return ARTICLE_DATES.get(match.group(1)) if match else None


def states_a_date(quote: str) -> bool:
    """Whether ``quote`` writes out a date: a digit followed by 月 (month) or 日 (day), a
    numeric date such as 2025-01-16, or an English month name."""
    return bool(_EXPLICIT_DATE.search(str(quote)))


def table_date_cell(quote: str) -> str | None:
    """The first cell of a Markdown table row (``| about Jan 6 | ... |`` -> ``about Jan
    6``), the date column of ``press_figures.md``; None when ``quote`` is not a table row."""
    text = str(quote).strip()
    if not text.startswith("|"):
        return None
    return text.strip("|").split("|")[0].strip()


def date_basis(period_start, period_end, source: str, quote: str) -> str:
    """How the row's date was arrived at, one of :data:`DATE_BASES`:

    - ``"approximate"``: the date cell of a quoted table row (``press_figures.md``) hedges
      the date: it starts with about, around, approximately, c. or ~ ("about Jan 6");
    - ``"period"``: ``period_end > period_start``, the figure covers a span, stated
      ("Jan 8-14", "January") or made concrete by the README convention ("late January"
      -> 21-31 January);
    - ``"as_of"``: the row carries its article's date by the README convention ("a figure
      the article does not date gets the article's date"): a one-day period on the
      article's date (:data:`ARTICLE_DATES`) and a quote that writes out no date
      (:func:`states_a_date`). The status held by that date; the event happened on or
      before it;
    - ``"day"``: otherwise, the source states the day.
    """
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    cell = table_date_cell(quote)
    if cell is not None and _APPROXIMATE_DATE.match(cell):
        return "approximate"
    if end > start:
        return "period"
    if start == article_date(source) and not states_a_date(quote):
        return "as_of"
    return "day"


def _day(d: pd.Timestamp) -> str:
    return f"{d.day} {d:%b %Y}"


def date_text(period_start, period_end, basis: str) -> str:
    """The date as a reader should take it: ``"19 Jan 2025"`` (a day), ``"21-31 Jan
    2025"`` (a span; ``"28 Jan-4 Feb 2025"`` across months), ``"Jan 2025"`` (a whole
    month; ``"Jan-Mar 2025"`` whole months, ``"2024"`` a whole year), ``"by 20 Feb
    2025"`` (an as-of status) and ``"about 6 Jan 2025"`` (an approximate date). Date
    spans take a hyphen, as elsewhere in the report
    (:func:`analysis.notebooks.common.date_span`)."""
    if basis not in DATE_BASES:
        raise ValueError(f"date basis {basis!r} is not one of {DATE_BASES}")
    a, b = pd.Timestamp(period_start), pd.Timestamp(period_end)
    if b < a:
        raise ValueError(f"period ends ({b.date()}) before it starts ({a.date()})")
    if a == b:
        text = _day(a)
    elif a == a.replace(month=1, day=1) and b == b.replace(month=12, day=31) \
            and a.year == b.year:
        text = f"{a.year}"
    elif a.day == 1 and b.is_month_end:
        first = f"{a:%b}" if a.year == b.year else f"{a:%b %Y}"
        text = f"{b:%b %Y}" if (a.year, a.month) == (b.year, b.month) else f"{first}-{b:%b %Y}"
    elif (a.year, a.month) == (b.year, b.month):
        text = f"{a.day}-{_day(b)}"
    elif a.year == b.year:
        text = f"{a.day} {a:%b}-{_day(b)}"
    else:
        text = f"{_day(a)}-{_day(b)}"
    return {"as_of": f"by {text}", "approximate": f"about {text}"}.get(basis, text)


def with_date_basis(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``date_basis`` (:func:`date_basis`) and ``date_text``
    (:func:`date_text`) from its ``period_start``, ``period_end``, ``source`` and
    ``source_quote``."""
    out = df.copy()
    out["date_basis"] = [date_basis(a, b, s, q) for a, b, s, q in zip(
        out["period_start"], out["period_end"], out["source"], out["source_quote"],
        strict=True)]
    out["date_text"] = [date_text(a, b, k) for a, b, k in zip(
        out["period_start"], out["period_end"], out["date_basis"], strict=True)]
    return out


def episode_timeline(
    df: pd.DataFrame,
    entity: str = "RedNote",
    market: str = "US",
    start: str | pd.Timestamp = "2025-01-01",
    end: str | pd.Timestamp = "2025-03-31",
) -> pd.DataFrame:
    """Dated figures for one entity and market within a window, oldest first.

    Each row keeps the metric, value, unit, qualifier and provider, and a ``kind`` column
    grouping metrics for the timeline chart: ``dau`` (daily-active estimates in users),
    ``rank`` (app-store ranks), ``ads`` (ad-placement dates), ``event`` (the other event
    kinds of :data:`EVENT_METRICS`, such as leaving the overall chart), ``other``.

    ``date_basis`` says how the date was arrived at (:func:`date_basis`: ``day``,
    ``period``, ``as_of``, ``approximate``) and ``date_text`` gives it as a reader should
    take it (:func:`date_text`: "21-31 Jan 2025", "by 20 Feb 2025"): a date the README
    convention derives ("late January" -> 21-31 January; an undated status -> the
    article's date) is not an event date.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    rows = df[(df["entity"] == entity) & (df["market"] == market)
              & (df["period_start"] >= start) & (df["period_start"] <= end)].copy()
    rows["kind"] = np.select(
        [
            rows["metric"].str.startswith("dau") & (rows["unit"] == "users"),
            rows["unit"] == "rank",
            rows["metric"].str.startswith("ad_"),
            rows["metric"].isin(EVENT_METRICS),
        ],
        ["dau", "rank", "ads", "event"],
        default="other",
    )
    rows = with_date_basis(rows)
    cols = ["id", "period_start", "period_end", "date_text", "date_basis", "kind", "metric",
            "value", "unit", "qualifier", "provider", "note_en"]
    return rows.sort_values(["period_start", "id"]).loc[:, cols].reset_index(drop=True)


def _one(df: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(df), dtype=bool)
    for key, value in where.items():
        mask &= (df[key] == value).to_numpy()
    hits = df[mask]
    if len(hits) != 1:
        conditions = ", ".join(f"{k}={v!r}" for k, v in where.items())
        raise LookupError(f"expected exactly one published figure with {conditions}; "
                          f"found {len(hits)}")
    return hits.iloc[0]


def implied_peak_dau(df: pd.DataFrame, entity: str = "RedNote", market: str = "US",
                     provider: str = "Sensor Tower") -> dict:
    """The peak DAU implied by a provider's post-peak level and its share of the peak.

    Sensor Tower publishes no peak value, only that on 18 February DAU was about 0.9 M,
    about 30 % of the 19 January peak; the implied peak is 0.9 M / 0.30. Both figures are
    hedged (约90万, 30%左右), so the peak is the interval ``implied_peak_low ..
    implied_peak_high`` (85-95万 over 27.5-32.5 %: about 2.6-3.5 M); ``implied_peak`` is
    its central value, not a published figure.
    """
    share = _one(df, entity=entity, market=market, provider=provider,
                 metric="dau_share_of_peak")
    level = _one(df, entity=entity, market=market, provider=provider, metric="dau",
                 period_start=share["period_start"])
    lo_level, hi_level = value_interval(level["value"], level["qualifier"], level["unit"])
    lo_share, hi_share = value_interval(share["value"], share["qualifier"], share["unit"])
    return {
        "date": level["period_start"],
        "level": float(level["value"]),
        "share_percent": float(share["value"]),
        "implied_peak": float(level["value"]) / (float(share["value"]) / 100.0),
        # the quotient of two hedged figures is an interval: low level / high share ...
        "implied_peak_low": lo_level / (hi_share / 100.0),
        "implied_peak_high": hi_level / (lo_share / 100.0),
        "level_low": lo_level, "level_high": hi_level,
        "share_low": lo_share, "share_high": hi_share,
        "ids": [level["id"], share["id"]],
    }


def peak_day(df: pd.DataFrame, entity: str = "RedNote", market: str = "US",
             provider: str = "Sensor Tower") -> pd.Timestamp:
    """The day a provider names as the DAU peak (metric ``dau_peak_day``)."""
    return _one(df, entity=entity, market=market, provider=provider,
                metric="dau_peak_day")["period_start"]


def provider_disagreement(
    df: pd.DataFrame,
    entity: str = "RedNote",
    market: str = "US",
    reference: str = "Sensor Tower",
    other: str = "Similarweb",
    surge_start: str | pd.Timestamp = "2025-01-13",
) -> pd.DataFrame:
    """How far one provider's DAU figures sit from another's, like for like.

    Each DAU figure of ``other`` is compared with what ``reference`` says of the *same
    day*, both as intervals (:func:`value_interval`). The reference publishes no level on
    most days: on its peak day it is the implied peak (:func:`implied_peak_dau`, itself
    an interval); on any other day of the surge only that it is at most the peak, which
    bounds the ratio from below. So the ratio ``other / reference`` is an interval
    ``ratio_low .. ratio_high`` (NaN: no bound on that side) and ``comparison`` says which
    case holds. Figures dated before ``surge_start`` (the app-store surge began on 13
    January 2025) are organic baselines, not surge levels (``phase``); the reference's
    peak does not bound them usefully and they get no ratio.

    Returns ``id, date, <other> DAU, <other> low, <other> high, qualifier, <reference> low,
    <reference> high, comparison, ratio_low, ratio_high, phase``.
    """
    peak = implied_peak_dau(df, entity, market, reference)
    top = peak_day(df, entity, market, reference)
    rows = df[(df["entity"] == entity) & (df["market"] == market)
              & (df["provider"] == other) & (df["metric"] == "dau")
              & (df["unit"] == "users")].sort_values("period_start")
    out = []
    for r in rows.itertuples(index=False):
        lo, hi = value_interval(r.value, r.qualifier, r.unit)
        phase = "surge" if r.period_start >= pd.Timestamp(surge_start) else "pre-surge"
        if phase == "pre-surge":
            ref_lo = ref_hi = ratio_lo = ratio_hi = np.nan
            comparison = "before the surge: not compared"
        elif r.period_start == top:
            ref_lo, ref_hi = peak["implied_peak_low"], peak["implied_peak_high"]
            ratio_lo, ratio_hi = lo / ref_hi, hi / ref_lo
            comparison = "same day: the reference's implied peak"
        else:
            ref_lo, ref_hi = np.nan, peak["implied_peak_high"]  # at most its peak
            ratio_lo, ratio_hi = lo / ref_hi, np.nan
            comparison = "no reference figure that day: at most its peak"
        out.append({"id": r.id, "date": r.period_start, f"{other} DAU": float(r.value),
                    f"{other} low": lo, f"{other} high": hi, "qualifier": r.qualifier,
                    f"{reference} low": ref_lo, f"{reference} high": ref_hi,
                    "comparison": comparison, "ratio_low": ratio_lo, "ratio_high": ratio_hi,
                    "phase": phase})
    return pd.DataFrame(out)

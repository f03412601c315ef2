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

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis import config
from analysis._io import record_read

#: Units a value may carry (data dictionary: data/raw/README.md).
UNITS = (
    "users", "downloads", "views", "count", "orders", "items", "links", "merchants",
    "percent", "multiple", "rank", "usd", "cny", "square_feet", "square_metres",
    "hours", "days", "people", "events", "sessions",
)
#: How the source states the figure.
QUALIFIERS = (
    "exact", "approximate", "at_least", "at_most", "ratio", "rank", "estimate", "forecast",
)
COLUMNS = (
    "id", "entity", "market", "metric", "period_start", "period_end", "value", "unit",
    "qualifier", "provider", "source", "source_quote", "note_en",
)
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


class DataValidationError(ValueError):
    """A raw data file does not match its schema.

    ``problems`` holds one dict per problem with keys ``file``, ``row`` (1-based data
    row, the header excluded; ``None`` for file-level problems), ``line`` (line in the
    file), ``column``, ``value`` and ``expected``.
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
    if p.get("column"):
        where += f", column '{p['column']}'"
    value = "" if p.get("value") is None else f": got {p['value']!r}"
    return f"{where}{value}; expected {p['expected']}"


def _schema(source_files: tuple[str, ...]) -> pa.DataFrameSchema:
    text = pa.Column(str, pa.Check.str_length(min_value=1), nullable=False)
    no_cjk = pa.Check(
        lambda s: ~s.str.contains(_CJK), element_wise=False,
        error="English/pinyin only (Chinese text belongs in source_quote)",
    )
    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, pa.Check.str_matches(r"^PM\d{3,}$"), unique=True),
            "entity": pa.Column(str, [pa.Check.str_length(min_value=1), no_cjk]),
            "market": pa.Column(str, [pa.Check.str_length(min_value=1), no_cjk]),
            "metric": pa.Column(str, pa.Check.str_matches(r"^[a-z][a-z0-9_]*$")),
            "period_start": pa.Column("datetime64[ns]", coerce=True, nullable=False),
            "period_end": pa.Column("datetime64[ns]", coerce=True, nullable=False),
            # to_numeric first: when coercion failed pandera still runs the check on text.
            "value": pa.Column(float, pa.Check(
                lambda s: np.isfinite(pd.to_numeric(s, errors="coerce")),
                error="finite number"), coerce=True, nullable=False),
            "unit": pa.Column(str, pa.Check.isin(UNITS)),
            "qualifier": pa.Column(str, pa.Check.isin(QUALIFIERS)),
            "provider": pa.Column(str, [pa.Check.str_length(min_value=1), no_cjk]),
            "source": pa.Column(str, pa.Check.isin(source_files)),
            "source_quote": text,
            "note_en": pa.Column(str, no_cjk, nullable=False),
        },
        checks=[
            pa.Check(lambda df: df["period_end"] >= df["period_start"],
                     error="period_end on or after period_start"),
        ],
        strict=True,
        ordered=False,
    )


_EXPECTED = {
    "id": "a unique id like PM001",
    "metric": "a snake_case metric name",
    "period_start": "a date YYYY-MM-DD",
    "period_end": "a date YYYY-MM-DD on or after period_start",
    "value": "a finite number (no units or text)",
    "unit": "one of " + ", ".join(UNITS),
    "qualifier": "one of " + ", ".join(QUALIFIERS),
}


def _problems_from(err: pa.errors.SchemaErrors, path: Path, source_files) -> list[dict]:
    problems, seen = [], set()
    for case in err.failure_cases.itertuples(index=False):
        column = case.column
        check = str(case.check)
        if case.schema_context == "DataFrameSchema" and check == "column_in_dataframe":
            problems.append(dict(file=path, row=None, line=None, column=case.failure_case,
                                 value=None, expected="the column to be present (missing)"))
            continue
        if check == "column_in_schema":
            problems.append(dict(file=path, row=None, line=None, column=case.failure_case,
                                 value=None, expected="no such column: allowed columns are "
                                 + ", ".join(COLUMNS)))
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
        line = None if index is None else index + 2
        value = None if pd.isna(case.failure_case) else case.failure_case
        problems.append(dict(file=path, row=row, line=line, column=column, value=value,
                             expected=expected))
    return sorted(problems, key=lambda p: (p["row"] is not None, p["row"] or 0))


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
        A missing or unknown column, a non-numeric value, an unknown unit or qualifier,
        a bad date, a duplicate id, ... -- every problem, each with file, row and column.
    """
    path = Path(path) if path is not None else config.PUBLISHED_METRICS_CSV
    if not path.is_file():
        raise FileNotFoundError(f"{_display_path(path)}: no such file")
    # Read everything as text so that pandera, not the CSV parser, judges each cell and
    # can say which row and column is wrong.
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    record_read(path)
    source_files = tuple(sorted(p.name for p in config.SEEDS_DIR.iterdir() if p.is_file()))
    if raw.empty:
        raise DataValidationError(path, [dict(file=path, row=None, line=None, column=None,
                                              value=None, expected="at least one data row")])
    try:
        df = _schema(source_files).validate(raw, lazy=True)
    except pa.errors.SchemaErrors as err:
        raise DataValidationError(path, _problems_from(err, path, source_files)) from None
    return df.loc[:, list(COLUMNS)].reset_index(drop=True)


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
    ``rank`` (app-store ranks), ``ads`` (ad-placement dates), ``other``.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    rows = df[(df["entity"] == entity) & (df["market"] == market)
              & (df["period_start"] >= start) & (df["period_start"] <= end)].copy()
    rows["kind"] = np.select(
        [
            rows["metric"].str.startswith("dau") & (rows["unit"] == "users"),
            rows["unit"] == "rank",
            rows["metric"].str.startswith("ad_"),
        ],
        ["dau", "rank", "ads"],
        default="other",
    )
    cols = ["id", "period_start", "period_end", "kind", "metric", "value", "unit",
            "qualifier", "provider", "note_en"]
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
    about 30 % of the 19 January peak; the implied peak is 0.9 M / 0.30.
    """
    share = _one(df, entity=entity, market=market, provider=provider,
                 metric="dau_share_of_peak")
    level = _one(df, entity=entity, market=market, provider=provider, metric="dau",
                 period_start=share["period_start"])
    return {
        "date": level["period_start"],
        "level": float(level["value"]),
        "share_percent": float(share["value"]),
        "implied_peak": float(level["value"]) / (float(share["value"]) / 100.0),
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
    """How far one provider's DAU figures sit from another's, figure by figure.

    The reference provider's level is its implied peak (:func:`implied_peak_dau`); each
    DAU figure of the other provider dated within the surge (on or after the first
    reference-provider date minus 10 days) is set against it as a ratio and a
    percentage difference. Figures dated before ``surge_start`` (the app-store surge
    began on 13 January 2025) are organic baselines, not surge levels; the ``phase``
    column says which is which.
    """
    peak = implied_peak_dau(df, entity, market, reference)
    rows = df[(df["entity"] == entity) & (df["market"] == market)
              & (df["provider"] == other) & (df["metric"] == "dau")
              & (df["unit"] == "users")].sort_values("period_start")
    out = pd.DataFrame({
        "id": rows["id"].to_numpy(),
        "date": rows["period_start"].to_numpy(),
        f"{other} DAU": rows["value"].to_numpy(),
        "qualifier": rows["qualifier"].to_numpy(),
    })
    out[f"{reference} implied peak"] = peak["implied_peak"]
    out["ratio"] = out[f"{other} DAU"] / peak["implied_peak"]
    out["difference_percent"] = 100.0 * (out["ratio"] - 1.0)
    out["phase"] = np.where(out["date"] >= pd.Timestamp(surge_start), "surge", "pre-surge")
    return out

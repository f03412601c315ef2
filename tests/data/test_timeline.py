"""How the timeline's dates were arrived at (issue 13, audit item 9).

The README convention (data/raw/README.md, "Dates") turns "late January" into 21-31
January and gives an undated figure its article's date; such a date is a span or an
as-of status, not an event date. Synthetic rows below are one of each kind; the real
rows are those the audit names (PM005 "1月底" = late January, PM008 an undated status of
article 000, PM132 a January share, PM122 "about Jan 6") and PM006 (the source states
"1月22日").
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis import config
from analysis.data import sources

SEED_000 = "000_77cca1003b724cc9.txt"
PRESS = "press_figures.md"


def _row(start, end, source, quote):
    return sources.date_basis(pd.Timestamp(start), pd.Timestamp(end), source, quote)


def test_article_dates_equal_the_readme_convention():
    text = (config.PUBLISHED_METRICS_CSV.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("### Dates", 1)[1].split("\n### ", 1)[0]
    bullet = next(b for b in section.split("\n- ")
                  if b.startswith("A figure the article does not date"))
    found = {}
    for clause in bullet.split(":", 1)[1].split(";"):
        dates = re.findall(r"\d{4}-\d{2}-\d{2}", clause)
        for seed in re.findall(r"\b(\d{3})\b", clause.split(dates[0])[0]):
            found[seed] = pd.Timestamp(dates[0])
    assert found == sources.ARTICLE_DATES
    seeds = {p.name[:3] for p in (config.PUBLISHED_METRICS_CSV.parent / "seeds").glob("0*_*")}
    assert seeds == set(sources.ARTICLE_DATES)


@pytest.mark.parametrize("start, end, source, quote, basis", [
    # the source states the day
    ("2025-01-22", "2025-01-22", SEED_000, "高峰期是1月22日", "day"),
    ("2025-01-14", "2025-01-14", "001_x.txt", "在14日冲到了", "day"),
    # a span, stated or made concrete by the convention
    ("2025-01-21", "2025-01-31", SEED_000, "1月底,投放广告", "period"),
    ("2025-01-01", "2025-01-31", PRESS, "| January | a January share | X |", "period"),
    # the article's date, no date in the quote: a status held by then
    ("2025-02-20", "2025-02-20", SEED_000, "已掉出App Store总榜榜单", "as_of"),
    ("2025-01-16", "2025-01-16", "002_x.txt", "目前日活仍在下降", "as_of"),
    # the article's date but the quote writes a date: the day
    ("2025-02-20", "2025-02-20", SEED_000, "到2月20日几乎停滞", "day"),
    ("2025-02-20", "2025-02-20", SEED_000, "as of 2025-02-20 it left", "day"),
    ("2025-02-20", "2025-02-20", SEED_000, "on February 20 it left", "day"),
    # an undated quote on another day than the article's: not the convention
    ("2025-02-19", "2025-02-19", SEED_000, "已掉出总榜", "day"),
    # press rows have no article date
    ("2025-01-13", "2025-01-13", PRESS, "| Jan 13 | DAU about 3.4 million | X |", "day"),
    # a hedged date cell
    ("2025-01-06", "2025-01-06", PRESS, "| about Jan 6 | DAU about 300,000 | X |",
     "approximate"),
    ("2025-01-06", "2025-01-06", PRESS, "| ~Jan 6 | DAU | X |", "approximate"),
    ("2025-01-06", "2025-01-06", PRESS, "| c. Jan 6 | DAU | X |", "approximate"),
    ("2025-01-06", "2025-01-12", PRESS, "| around Jan 6-12 | DAU | X |", "approximate"),
    # "about" in another cell hedges the value, not the date
    ("2025-01-13", "2025-01-13", PRESS, "| Jan 13 | about 3.4 million | X |", "day"),
])
def test_date_basis_of_synthetic_rows(start, end, source, quote, basis):
    assert _row(start, end, source, quote) == basis


@pytest.mark.parametrize("start, end, basis, text", [
    ("2025-01-19", "2025-01-19", "day", "19 Jan 2025"),
    ("2025-01-21", "2025-01-31", "period", "21-31 Jan 2025"),
    ("2025-01-01", "2025-01-31", "period", "Jan 2025"),
    ("2025-01-01", "2025-03-31", "period", "Jan-Mar 2025"),
    ("2024-01-01", "2024-12-31", "period", "2024"),
    ("2025-01-28", "2025-02-04", "period", "28 Jan-4 Feb 2025"),
    ("2024-12-30", "2025-01-02", "period", "30 Dec 2024-2 Jan 2025"),
    ("2025-02-20", "2025-02-20", "as_of", "by 20 Feb 2025"),
    ("2025-01-06", "2025-01-06", "approximate", "about 6 Jan 2025"),
])
def test_date_text(start, end, basis, text):
    assert sources.date_text(pd.Timestamp(start), pd.Timestamp(end), basis) == text


def test_date_text_refuses_an_unknown_basis_and_a_reversed_period():
    with pytest.raises(ValueError, match="date basis"):
        sources.date_text(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-01"), "exact")
    with pytest.raises(ValueError, match="before it starts"):
        sources.date_text(pd.Timestamp("2025-01-02"), pd.Timestamp("2025-01-01"), "period")


@pytest.fixture(scope="module")
def timeline():
    return sources.episode_timeline(sources.load_published_metrics()).set_index("id")


@pytest.mark.parametrize("row, basis, text", [
    ("PM005", "period", "21-31 Jan 2025"),
    ("PM008", "as_of", "by 20 Feb 2025"),
    ("PM006", "day", "22 Jan 2025"),
    ("PM122", "approximate", "about 6 Jan 2025"),
    ("PM132", "period", "Jan 2025"),
    ("PM007", "day", "20 Feb 2025"),
])
def test_date_basis_of_the_rows_the_audit_names(timeline, row, basis, text):
    assert (timeline.loc[row, "date_basis"], timeline.loc[row, "date_text"]) == (basis, text)


def test_every_timeline_row_has_a_basis_and_a_text(timeline):
    assert set(timeline["date_basis"]) <= set(sources.DATE_BASES)
    assert timeline["date_text"].str.len().gt(0).all()
    one_day = timeline["period_start"] == timeline["period_end"]
    assert (timeline.loc[~one_day, "date_basis"].isin(["period", "approximate"])).all()
    assert timeline.loc["PM008", "kind"] == "event"

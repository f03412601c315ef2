"""Shared notebook helpers (analysis.notebooks.common): tables for readers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.notebooks.common import md_table


def test_md_table_shows_words_and_whole_numbers_without_decimals():
    frame = pd.DataFrame({"period_start": pd.to_datetime(["2025-01-06", "2025-01-13"]),
                          "users_scaled_up": [300000.0, 3400000.0],
                          "ratio": [0.1, 1.13], "cohorts": [3, 12], "name": ["a_b", "c"]})
    lines = md_table(frame).data.splitlines()
    assert lines[0].split("|")[1:-1] == [" period start   ", "   users scaled up ",
                                         "   ratio ", "   cohorts ", " name   "]
    assert lines[1] == "|:---------------|------------------:|--------:|----------:|:-------|"
    assert lines[2] == "| 2025-01-06     |           300,000 |    0.10 |         3 | a_b    |"
    assert lines[3] == "| 2025-01-13     |         3,400,000 |    1.13 |        12 | c      |"


def test_md_table_keeps_decimals_when_any_value_has_them_and_blanks_missing_counts():
    frame = pd.DataFrame({"share": [2.0, 2.5], "users": [10.0, np.nan]})
    text = md_table(frame, floatfmt=".1f").data
    assert "2.0" in text and "2.5" in text
    assert text.splitlines()[2].endswith("|      10 |")
    assert "nan" not in text


def test_interval_texts_carry_the_precision_the_sources_support():
    from analysis.notebooks.common import interval_millions, interval_text, sig

    assert interval_millions(850_000 / 0.325, 950_000 / 0.275) == "2.6–3.5 M"
    assert interval_millions(3.35e6, 3.45e6, 3) == "3.35–3.45 M"
    assert interval_millions(32.5e6, 32.5e6, 3) == "32.5 M"
    assert interval_millions(np.nan, 7e5) == "≤ 0.7 M"
    assert interval_text(0.9697, np.nan, sig, "×") == "≥ 0.97×"
    assert interval_text(np.nan, np.nan) == "—"
    assert sig(12.426) == "12" and sig(9.4079) == "9.4"

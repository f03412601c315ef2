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

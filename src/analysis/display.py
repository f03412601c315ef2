"""Notebook outputs that reports embed: Markdown tables and sentences.

Reports pull tables and key sentences out of executed notebooks by cell label. Both
renderers (Quarto, and the pandoc + typst fallback) take a ``text/markdown`` output as
Markdown, so tables and sentences are displayed as Markdown rather than as HTML, which a
PDF renderer would drop.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown


def fmt_int(value) -> str:
    """12345.0 -> '12,345'."""
    return f"{round(float(value)):,}"


def fmt_millions(value, digits: int = 1) -> str:
    """3000000 -> '3.0 M'."""
    return f"{float(value) / 1e6:.{digits}f} M"


def md_table(frame: pd.DataFrame, index: bool = False, floatfmt: str = ",.2f") -> Markdown:
    """A DataFrame as a Markdown pipe table (dates shown as YYYY-MM-DD)."""
    frame = frame.copy()
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    return Markdown(frame.to_markdown(index=index, floatfmt=floatfmt))


def md(text: str) -> Markdown:
    """A sentence or paragraph of Markdown computed in the notebook."""
    return Markdown(text)

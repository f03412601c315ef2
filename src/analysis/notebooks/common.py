"""Shared by every notebook's helper module: Markdown outputs, number formats, the theme.

Reports pull tables and key sentences out of executed notebooks by cell label. Both
renderers (Quarto, and the pandoc + typst fallback) take a ``text/markdown`` output as
Markdown, so tables and sentences are displayed as Markdown rather than as HTML, which a
PDF renderer would drop (and which makes Quarto pull requirejs and jQuery from a CDN).

Plot functions elsewhere take data or fitted objects and ``ax=None``, draw, and return
the axes; none calls ``savefig`` or ``show`` (pymc-marketing ``bass/plotting.py``). The
theme is set here, once.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown


#: One colour per measurement provider, used by every figure.
PROVIDER_COLOURS = {
    "Sensor Tower": "#1f77b4",
    "Similarweb": "#d62728",
    "AppGrowing": "#2ca02c",
    "QuestMobile": "#9467bd",
    "company": "#7f7f7f",
    "none": "#8c564b",
}

SIMULATED_LABEL = "SIMULATED data - not observed"


def set_theme(dpi: int = 150) -> None:
    """The project's figure style (call once at the top of a notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="deep")
    plt.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "figure.figsize": (8, 4.2),
                         "axes.titleweight": "bold", "figure.autolayout": True})


def axes_or_new(ax):
    """``ax``, or the axes of a new figure when ``ax`` is None."""
    if ax is None:
        _, ax = plt.subplots()
    return ax


def label_simulated(ax, text: str = SIMULATED_LABEL):
    """Stamp an axes as showing simulated data (every figure of simulated data has it)."""
    ax.text(0.99, 0.98, text, transform=ax.transAxes, ha="right", va="top", fontsize=9,
            color="#b00020", fontweight="bold",
            bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="#b00020", alpha=0.9))
    return ax


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

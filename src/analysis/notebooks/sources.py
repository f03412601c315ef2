"""Helpers of notebook ``00_sources``: the published figures, drawn.

The tables come from :mod:`analysis.data.sources`; this module draws them.
"""

from __future__ import annotations

import pandas as pd

from analysis.notebooks.common import PROVIDER_COLOURS, axes_or_new


def plot_figures_by_provider(counts: pd.DataFrame, ax=None):
    """Horizontal bars: number of curated figures per provider, stacked by article.

    ``counts`` is :func:`analysis.data.sources.figures_by_provider` output.
    """
    ax = axes_or_new(ax)
    table = counts.drop(index="total", errors="ignore").drop(columns="total", errors="ignore")
    table = table.loc[table.sum(axis=1).sort_values().index]
    table.plot.barh(stacked=True, ax=ax, width=0.75, colormap="tab10")
    ax.set_xlabel("number of published figures")
    ax.set_ylabel("")
    ax.legend(title="source article", fontsize=8, title_fontsize=8, loc="lower right")
    return ax


def plot_timeline(timeline: pd.DataFrame, ax=None, log=True, derived=None):
    """DAU estimates by provider over time, with dated events as labelled lines.

    ``timeline`` is :func:`analysis.data.sources.episode_timeline` output: rows of kind
    ``dau`` become points (one colour per provider; open markers for bounds such as
    "under 700,000"), rows of kind ``rank`` and ``ads`` become vertical lines.
    ``derived`` is an optional list of ``(date, value, provider, label)`` for figures
    computed from published ones (drawn as stars), such as an implied peak.
    """
    ax = axes_or_new(ax)
    for date, value, provider, label in derived or []:
        ax.scatter([date], [value], marker="*", s=140, zorder=4,
                   color=PROVIDER_COLOURS.get(provider, "#333333"), label=label)
    dau = timeline[timeline["kind"] == "dau"]
    for provider, rows in dau.groupby("provider"):
        colour = PROVIDER_COLOURS.get(provider, "#333333")
        exact = rows[~rows["qualifier"].isin(["at_most", "at_least"])]
        bound = rows[rows["qualifier"].isin(["at_most", "at_least"])]
        ax.scatter(exact["period_start"], exact["value"], color=colour, s=40, zorder=3,
                   label=f"{provider} DAU estimate")
        if len(bound):
            ax.scatter(bound["period_start"], bound["value"], facecolors="none",
                       edgecolors=colour, s=40, zorder=3, label=f"{provider} bound")
    events = timeline[timeline["kind"].isin(["rank", "ads"])]
    for i, row in enumerate(events.itertuples()):
        colour = "#2ca02c" if row.kind == "ads" else "#555555"
        ax.axvline(row.period_start, color=colour, lw=0.8, ls="--", zorder=1)
        ax.annotate(row.metric.replace("_", " "), (row.period_start, 1.0),
                    xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                    ha="right", va="top", color=colour, xytext=(-2, -2 - 40 * (i % 2)),
                    textcoords="offset points")
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("US daily active users")
    ax.set_xlabel("")
    ax.legend(fontsize=8, loc="lower left")
    ax.figure.autofmt_xdate()
    return ax


def plot_provider_gap(gap: pd.DataFrame, other: str, reference: str, ax=None):
    """Each of ``other``'s DAU figures as a multiple of ``reference``'s implied peak."""
    ax = axes_or_new(ax)
    colours = ["#999999" if p == "pre-surge" else PROVIDER_COLOURS.get(other, "#d62728")
               for p in gap["phase"]]
    labels = [f"{d:%d %b}\n{i}" for d, i in zip(gap["date"], gap["id"], strict=True)]
    ax.bar(labels, gap["ratio"], color=colours)
    ax.axhline(1.0, color=PROVIDER_COLOURS.get(reference, "#1f77b4"), lw=1.2,
               label=f"{reference} implied peak = 1")
    ax.set_yscale("log")
    ax.set_ylabel(f"{other} DAU / {reference} implied peak")
    ax.legend(fontsize=8)
    return ax


# ------------------------------------------------------------------ findings for the text


#: Providers that are not third-party measurement firms.
NOT_THIRD_PARTY = ("none", "company")


def third_party_figures(metrics: pd.DataFrame) -> dict:
    """How many figures a named third party is credited with, and which parties.

    Returns ``{"count": int, "providers": sorted list of names}``.
    """
    third = metrics[~metrics["provider"].isin(NOT_THIRD_PARTY)]
    return {"count": len(third), "providers": sorted(third["provider"].unique())}


def surge_gap_extremes(gap: pd.DataFrame) -> dict:
    """The other provider's surge figures farthest from and closest to the implied peak.

    ``gap`` is :func:`analysis.data.sources.provider_disagreement` output. Returns
    ``{"largest": row, "closest": row}``: the row with the largest ratio, and the row whose
    ratio is nearest 1.
    """
    surge = gap[gap["phase"] == "surge"]
    if surge.empty:
        raise ValueError("no figure of the other provider falls in the surge phase")
    return {"largest": surge.loc[surge["ratio"].idxmax()],
            "closest": surge.loc[(surge["ratio"] - 1).abs().idxmin()]}

"""Helpers of notebook ``00_sources``: the published figures, drawn.

The tables come from :mod:`analysis.data.sources`; this module draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.notebooks.common import (
    PROVIDER_COLOURS,
    axes_or_new,
    interval_millions,
    interval_text,
    sig,
)


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
    ``derived`` is an optional list of ``(date, low, high, provider, label)`` for figures
    computed from published ones, such as an implied peak: drawn as a vertical bar over
    the interval the hedged inputs allow, with a star at its middle.
    """
    ax = axes_or_new(ax)
    for date, low, high, provider, label in derived or []:
        colour = PROVIDER_COLOURS.get(provider, "#333333")
        ax.plot([date, date], [low, high], color=colour, lw=3, zorder=4)
        ax.scatter([date], [np.sqrt(low * high)], marker="*", s=140, zorder=4, color=colour,
                   label=label)
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
    """Each of ``other``'s surge DAU figures over ``reference``'s DAU on the same day, as
    an interval (a bar from ``ratio_low`` to ``ratio_high``) or a lower bound (an arrow
    up from ``ratio_low``)."""
    ax = axes_or_new(ax)
    surge = gap[gap["phase"] == "surge"].reset_index(drop=True)
    colour = PROVIDER_COLOURS.get(other, "#d62728")
    for k, r in surge.iterrows():
        if np.isfinite(r["ratio_high"]):
            ax.plot([k, k], [r["ratio_low"], r["ratio_high"]], color=colour, lw=6,
                    solid_capstyle="butt")
        else:
            ax.annotate("", xy=(k, r["ratio_low"] * 3), xytext=(k, r["ratio_low"]),
                        arrowprops=dict(arrowstyle="-|>", color=colour, lw=2))
            ax.plot([k - 0.15, k + 0.15], [r["ratio_low"]] * 2, color=colour, lw=2)
    ax.set_xticks(range(len(surge)),
                  [f"{d:%d %b}\n{i}" for d, i in zip(surge["date"], surge["id"], strict=True)])
    ax.set_xlim(-0.6, len(surge) - 0.4)
    ax.axhline(1.0, color=PROVIDER_COLOURS.get(reference, "#1f77b4"), lw=1.2,
               label=f"same as {reference}")
    ax.set_yscale("log")
    ax.set_ylabel(f"{other} DAU / {reference} DAU, same day")
    ax.legend(fontsize=8)
    return ax


def display_provider_gap(gap: pd.DataFrame, other: str, reference: str) -> pd.DataFrame:
    """:func:`analysis.data.sources.provider_disagreement` for a report table: every
    figure as the range its hedge allows; published figures to three significant figures,
    derived ones (the implied peak, the ratios) to two."""
    return pd.DataFrame({
        "id": gap["id"], "date": gap["date"].dt.strftime("%Y-%m-%d"),
        f"{other} DAU": [interval_millions(lo, hi, 3) for lo, hi in
                         zip(gap[f"{other} low"], gap[f"{other} high"], strict=True)],
        f"{reference}, same day": [
            interval_millions(lo, hi) + (" (implied peak)" if np.isfinite(lo) else
                                         " (at most its peak)" if np.isfinite(hi) else "")
            for lo, hi in zip(gap[f"{reference} low"], gap[f"{reference} high"], strict=True)],
        "ratio": [interval_text(lo, hi, sig, "×") for lo, hi in
                  zip(gap["ratio_low"], gap["ratio_high"], strict=True)],
        "phase": gap["phase"],
    })


# ------------------------------------------------------------------ findings for the text


#: Providers that are not third-party measurement firms.
NOT_THIRD_PARTY = ("none", "company")


def third_party_figures(metrics: pd.DataFrame) -> dict:
    """How many figures a named third party is credited with, and which parties.

    Returns ``{"count": int, "providers": sorted list of names}``.
    """
    third = metrics[~metrics["provider"].isin(NOT_THIRD_PARTY)]
    return {"count": len(third), "providers": sorted(third["provider"].unique())}


def gap_findings(gap: pd.DataFrame, peak: dict) -> dict:
    """What the provider-gap sentence states: the implied peak as an interval, the
    same-day comparisons (ratio intervals) and the days with a lower bound only.

    ``gap``: :func:`analysis.data.sources.provider_disagreement`; ``peak``:
    :func:`analysis.data.sources.implied_peak_dau`. Returns ``{"same_day": rows,
    "bounded": rows}`` (surge rows, DataFrames) plus the peak's figures.
    """
    surge = gap[gap["phase"] == "surge"]
    if surge.empty:
        raise ValueError("no figure of the other provider falls in the surge phase")
    same = surge[surge["ratio_high"].notna()]
    return {"same_day": same, "bounded": surge[surge["ratio_high"].isna()], **peak}

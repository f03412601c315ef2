"""Helpers of notebook ``00_sources``: the published figures, drawn.

The tables come from :mod:`analysis.data.sources`; this module draws them.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

from analysis.data import sources as sources_data
from analysis.notebooks.common import (
    PROVIDER_COLOURS,
    axes_or_new,
    fmt_int,
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


#: The window drawn around a date the source gives as "about": +- this many days
#: (:data:`analysis.data.sources.APPROXIMATE_DATE_DAYS`; the figure's legend states it).
APPROXIMATE_DATE_DAYS = sources_data.APPROXIMATE_DATE_DAYS

#: Event kinds drawn on the timeline (rows of other kinds are in its table only).
EVENT_KINDS = ("rank", "ads", "event")
_EVENT_COLOURS = {"ads": "#2ca02c", "rank": "#555555", "event": "#9467bd"}
_DAY = pd.Timedelta(days=1)
#: Length of the arrow of an as-of status (it points back from the date).
_AS_OF_ARROW = pd.Timedelta(days=4)


def plot_timeline(timeline: pd.DataFrame, ax=None, log=True, derived=None):
    """DAU estimates by provider over time, with the dated events, each drawn as its date
    was arrived at (``date_basis`` of :func:`analysis.data.sources.episode_timeline`).

    Rows of kind ``dau`` become points (one colour per provider; open markers for bounds
    such as "under 700,000"). A DAU figure whose date is ``approximate`` ("about Jan 6")
    gets a horizontal bar of +- :data:`APPROXIMATE_DATE_DAYS` days, an assumed window
    stated in the legend; a DAU figure over a ``period`` a horizontal bar over its days.
    Rows of kind ``rank``, ``ads`` and ``event`` are events:

    - a day the source states (``day``, or ``approximate``): a dashed vertical line;
    - a ``period`` ("late January" -> 21-31 January by the README convention): a light
      shaded span from its first day to the end of its last day, labelled with its
      dates -- no line at its start, which the source does not give;
    - an ``as_of`` status (an undated figure given its article's date): a marker on that
      date with an arrow pointing left (it held by then, it happened on or before) and
      the label "by <date>".

    ``derived`` is an optional list of ``(date, low, high, provider, label)`` for figures
    computed from published ones, such as an implied peak: drawn as a vertical bar over
    the interval the hedged inputs allow, with a star at its middle.

    Each event artist has the gid ``"<date_basis>:<id>"`` (a test finds them by it).
    """
    ax = axes_or_new(ax)
    for date, low, high, provider, label in derived or []:
        colour = PROVIDER_COLOURS.get(provider, "#333333")
        ax.plot([date, date], [low, high], color=colour, lw=3, zorder=4)
        ax.scatter([date], [np.sqrt(low * high)], marker="*", s=140, zorder=4, color=colour,
                   label=label)
    _plot_dau(ax, timeline[timeline["kind"] == "dau"])
    events = timeline[timeline["kind"].isin(EVENT_KINDS)]
    lines = events[events["date_basis"].isin(["day", "approximate"])]
    for i, row in enumerate(lines.itertuples()):
        colour = _EVENT_COLOURS[row.kind]
        ax.axvline(row.period_start, color=colour, lw=0.8, ls="--", zorder=1,
                   gid=f"{row.date_basis}:{row.id}")
        ax.annotate(_label(row), (row.period_start, 1.0),
                    xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                    ha="right", va="top", color=colour, xytext=(-2, -2 - 40 * (i % 2)),
                    textcoords="offset points")
    for row in events[events["date_basis"] == "period"].itertuples():
        colour = _EVENT_COLOURS[row.kind]
        ax.axvspan(row.period_start, row.period_end + _DAY, color=colour, alpha=0.12,
                   lw=0, zorder=0, gid=f"period:{row.id}")
        ax.annotate(f"{_label(row)}\n{row.date_text}", (row.period_end + _DAY, 0.0),
                    xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                    ha="right", va="bottom", color=colour, xytext=(-2, 3),
                    textcoords="offset points")
    for k, row in enumerate(events[events["date_basis"] == "as_of"].itertuples()):
        colour = _EVENT_COLOURS[row.kind]
        y = 0.45 - 0.08 * k  # below the rotated labels of the day lines
        ax.plot([row.period_start], [y], marker="o", ms=4, color=colour,
                transform=ax.get_xaxis_transform(), zorder=3, gid=f"as_of:{row.id}")
        tip = row.period_start - _AS_OF_ARROW
        ax.annotate("", xy=(tip, y), xytext=(row.period_start, y),
                    xycoords=("data", "axes fraction"), textcoords=("data", "axes fraction"),
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.2, shrinkA=3,
                                    shrinkB=0))
        ax.annotate(f"{row.date_text}: {_label(row)}", (tip, y),
                    xycoords=("data", "axes fraction"), xytext=(-3, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=7,
                    color=colour)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("US daily active users")
    ax.set_xlabel("")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b"))
    # below the axes: inside it would hide the early-January figures
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2,
              frameon=False)
    return ax


def _label(row) -> str:
    return row.metric.replace("_", " ")


def _plot_dau(ax, dau: pd.DataFrame):
    """DAU points by provider; bars along time for approximate dates and periods."""
    window = pd.Timedelta(days=APPROXIMATE_DATE_DAYS)
    approx_labelled = False
    for provider, rows in dau.groupby("provider"):
        colour = PROVIDER_COLOURS.get(provider, "#333333")
        bounded = rows["qualifier"].isin(["at_most", "at_least"])
        exact, bound = rows[~bounded], rows[bounded]
        ax.scatter(exact["period_start"], exact["value"], color=colour, s=40, zorder=3,
                   label=f"{provider} DAU estimate")
        if len(bound):
            ax.scatter(bound["period_start"], bound["value"], facecolors="none",
                       edgecolors=colour, s=40, zorder=3, label=f"{provider} bound")
        for r in rows[rows["date_basis"] == "approximate"].itertuples():
            ax.errorbar([r.period_start], [r.value], xerr=[[window], [window]], fmt="none",
                        ecolor=colour, elinewidth=1.2, capsize=3, zorder=3,
                        gid=f"approximate:{r.id}",
                        label=None if approx_labelled else
                        f"date approximate (assumed \u00b1{APPROXIMATE_DATE_DAYS} days)")
            approx_labelled = True
        for r in rows[rows["date_basis"] == "period"].itertuples():
            ax.plot([r.period_start, r.period_end + _DAY], [r.value, r.value], color=colour,
                    lw=2, zorder=3, gid=f"period:{r.id}")


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


def timeline_date_findings(timeline: pd.DataFrame) -> dict:
    """What the timeline's dates sentence states: the events the figure draws as spans
    (``period``) and as "by" statuses (``as_of``), the figures with an ``approximate``
    date, and the number of timeline rows of each date basis.

    ``timeline``: :func:`analysis.data.sources.episode_timeline`. Returns ``{"spans":
    rows, "as_of": rows, "approximate": rows, "counts": {basis: n}}`` (rows: DataFrames
    of events of :data:`EVENT_KINDS`, or of any kind for ``approximate``).
    """
    events = timeline[timeline["kind"].isin(EVENT_KINDS)]
    counts = timeline["date_basis"].value_counts()
    return {"spans": events[events["date_basis"] == "period"],
            "as_of": events[events["date_basis"] == "as_of"],
            "approximate": timeline[timeline["date_basis"] == "approximate"],
            "counts": {b: int(counts.get(b, 0)) for b in ("day", "period", "as_of",
                                                          "approximate")}}


def _listed(rows: pd.DataFrame) -> str:
    return "; ".join(f"{r.id}, {r.metric.replace('_', ' ').replace('dau', 'DAU')}, "
                     f"{r.date_text}" for r in rows.itertuples())


def timeline_dates_sentence(d: dict, n_rows: int) -> str:
    """The sentence saying how the timeline draws its dates (``d``:
    :func:`timeline_date_findings`; ``n_rows``: the rows of the timeline table)."""
    c = d["counts"]
    return (
        (f"In @fig-timeline a period is a shaded span over its days ({_listed(d['spans'])}). "
         if len(d["spans"]) else "")
        + (f"An undated status is drawn as held by its article's date, with an arrow pointing "
           f"back ({_listed(d['as_of'])}): it happened on or before that day. "
           if len(d["as_of"]) else "")
        + (f"A date the source gives as \"about\" ({_listed(d['approximate'])}) is drawn with "
           f"a window of ±{APPROXIMATE_DATE_DAYS} days, an assumption about the word, not a "
           f"published range. " if len(d["approximate"]) else "")
        + f"Of the {fmt_int(n_rows)} rows of @tbl-timeline, {fmt_int(c['day'])} are days the "
        f"source states, {fmt_int(c['period'])} periods, {fmt_int(c['as_of'])} statuses held "
        f"by their article's date and {fmt_int(c['approximate'])} approximate."
    )


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

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

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown

from analysis._io import relative

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


def set_theme(dpi: int = 150, figure_format: str = "svg") -> None:
    """The project's figure style (call once at the top of a notebook).

    In a notebook, figures are output as ``figure_format``: SVG by default (vector: sharp
    in the PDF and when a reviewer zooms into the HTML; text is drawn as paths, so it
    looks the same without the fonts), ``"png"`` for plots with so many points that a
    vector file would be heavy. ``dpi`` sets the resolution of PNG output.
    """
    sns.set_theme(context="notebook", style="whitegrid", palette="deep")
    plt.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "figure.figsize": (8, 4.2),
                         "axes.titleweight": "bold", "figure.autolayout": True,
                         "svg.fonttype": "path", "svg.hashsalt": "analysis"})
    from IPython import get_ipython

    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        # no creation date in the SVG: two runs give the same bytes
        extra = {"metadata": {"Date": None}} if figure_format == "svg" else {}
        set_matplotlib_formats(figure_format, **extra)


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


OBSERVED_LABEL = "OBSERVED data"


def label_observed(ax, text: str = OBSERVED_LABEL):
    """Stamp an axes as showing an analyst's observed log (never the simulation's label)."""
    ax.text(0.99, 0.98, text, transform=ax.transAxes, ha="right", va="top", fontsize=9,
            color="#00539b", fontweight="bold",
            bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="#00539b", alpha=0.9))
    return ax


def fmt_int(value) -> str:
    """12345.0 -> '12,345'."""
    return f"{round(float(value)):,}"


def fmt_millions(value, digits: int = 1) -> str:
    """3000000 -> '3.0 M'."""
    return f"{float(value) / 1e6:.{digits}f} M"


def md_table(frame: pd.DataFrame, index: bool = False, floatfmt: str = ",.2f") -> Markdown:
    """A DataFrame as a Markdown pipe table for a reader, not a program.

    Dates are shown as YYYY-MM-DD; column names as words (``period_start`` -> "period
    start"); a float column whose values are all whole numbers (counts stored as floats,
    users scaled up) is shown as integers with a thousands separator rather than with
    ``floatfmt``'s decimals, which would claim a precision a count does not have. The
    results file keeps the frame as it is.
    """
    frame = frame.copy()
    align = []
    for col in frame.columns:
        values = frame[col]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        align.append("right" if numeric else "left")
        if pd.api.types.is_datetime64_any_dtype(values):
            frame[col] = values.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(values):
            finite = values[np.isfinite(values)]
            if len(finite) and (finite == finite.round()).all():
                frame[col] = [f"{v:,.0f}" if np.isfinite(v) else "" for v in values]
    frame.columns = [str(c).replace("_", " ") for c in frame.columns]
    if index:
        align.insert(0, "left")
        if frame.index.name:
            frame.index.name = str(frame.index.name).replace("_", " ")
    return Markdown(frame.to_markdown(index=index, floatfmt=floatfmt, colalign=align))


def md(text: str) -> Markdown:
    """A sentence or paragraph of Markdown computed in the notebook."""
    return Markdown(text)


# ------------------------------------------ shared by the notebooks on the simulated panel
# (01_retention, 02_dau_forecast). The project modules they need are imported inside the
# functions, so that a notebook that does not call them does not depend on them.


def fmt_pct(value, digits: int = 1) -> str:
    """0.1234 -> '12.3 %'; 'n/a' for None or a non-finite value."""
    return "n/a" if value is None or not np.isfinite(value) else f"{100 * value:.{digits}f} %"


# Figures with the precision their sources support: a hedged figure is a range.

def sig(value: float, digits: int = 2) -> str:
    """``value`` to ``digits`` significant figures, as plain text (2.615e6 -> '2600000')."""
    return np.format_float_positional(float(value), precision=digits, unique=False,
                                      fractional=False, trim="-")


def millions(value: float, digits: int = 2) -> str:
    """2_615_385 -> '2.6 M' (``digits`` significant figures)."""
    return f"{sig(value / 1e6, digits)} M"


def interval_text(low: float, high: float, fmt=sig, unit: str = "") -> str:
    """'2.6–3.5' + unit, '≥ 0.97' + unit, '≤ 0.7' + unit, one value when low == high,
    '—' when neither bound is known (``fmt`` formats each end)."""
    lo_ok, hi_ok = np.isfinite(low), np.isfinite(high)
    if lo_ok and hi_ok:
        return f"{fmt(low)}{unit}" if low == high else f"{fmt(low)}–{fmt(high)}{unit}"
    if lo_ok:
        return f"≥ {fmt(low)}{unit}"
    if hi_ok:
        return f"≤ {fmt(high)}{unit}"
    return "—"


def interval_millions(low: float, high: float, digits: int = 2) -> str:
    """:func:`interval_text` of user counts in millions: '2.6–3.5 M'."""
    return interval_text(low / 1e6, high / 1e6, lambda v: sig(v, digits), " M")


def date_span(start, end) -> str:
    """'13-19 Jan' within a month, '28 Jan-03 Feb' across months."""
    a, b = pd.Timestamp(start), pd.Timestamp(end)
    return f"{a:%d}-{b:%d %b}" if a.month == b.month else f"{a:%d %b}-{b:%d %b}"


def for_results(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy safe for :meth:`analysis.pipeline.results.Results.table`: NaN/NaT become None."""
    out = frame.copy().astype(object)
    return out.where(pd.notna(out), None)


def fit_warnings(notes: Mapping[str, str], none: str):
    """The non-empty notes of :func:`fit_families` by family, or ``none`` if all are empty
    (a notebook shows it under its fits)."""
    return {name: note for name, note in notes.items() if note} or none


def build_cohort_table(events: pd.DataFrame, as_of, cohort_period: str = "day") -> pd.DataFrame:
    """Install-cohort table (:func:`analysis.data.cohorts.cohort_table`) of the events up to
    ``as_of``, as if the log ended that day (later events are dropped, so "active on day
    N or later" uses no information from after ``as_of``); ``cohort_period`` ``week`` or
    ``month`` groups the cohorts and counts the ages in that unit."""
    from analysis.data import cohorts

    end = pd.Timestamp(as_of)
    upto = events[events["event_date"] <= end]
    if upto.empty:
        raise ValueError(f"no event on or before {end.date()}")
    return cohorts.cohort_table(upto, cohort="install", as_of=end, cohort_period=cohort_period)


def fit_families(rows: pd.DataFrame, definition: str,
                 families: Sequence | None = None) -> tuple[dict, dict]:
    """Fit every retention family (default :data:`analysis.models.retention.DEFAULT_MODELS`)
    jointly to the cohorts of ``rows`` (``cohort_date, age_days, cohort_size,
    retained_users``), for ``definition`` ``"classic"`` or ``"unbounded"``.

    Returns ``(models, notes)``: fitted models by family name (families whose fit failed,
    or whose likelihood has no maximum but keeps rising along a boundary ridge, are left
    out) and, by family name, the text of any ``RetentionFitWarning`` or the
    error of a failed fit ("" if none). Warnings are caught, not shown.
    """
    from analysis.models import retention

    models, notes = {}, {}
    for spec in families or retention.DEFAULT_MODELS:
        model = spec() if isinstance(spec, type) else spec._clone()
        name = model.family
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", retention.RetentionFitWarning)
            try:
                model.fit_cohorts(rows, retention=definition, active_col="retained_users",
                                  age_col=next(c for c in ("age_days", "age_weeks", "age_months")
                                               if c in rows.columns))
            except retention.RetentionFitError as exc:
                notes[name] = f"fit failed: {exc}"
                continue
        said = "; ".join(str(w.message) for w in caught
                         if issubclass(w.category, retention.RetentionFitWarning))
        if model.optimizer_result_.get("ridge", False):
            # the likelihood still rises at the end of the search (the family tends to a
            # simpler one, which is fitted too): no estimate to report or project with
            notes[name] = f"no maximum: {said}"
            continue
        models[name] = model
        notes[name] = said
    return models, notes


def approximate_day(r) -> pd.Timestamp:
    """The day a figure gives for a level anchor whose day is approximate (a window
    ``date..end`` of :func:`analysis.simulation.users.anchors_from_published`): the
    window's middle, or ``date`` for an exact day."""
    start, end = pd.Timestamp(r.date), pd.Timestamp(r.end)
    if end <= start:
        return start
    return start + pd.Timedelta(days=(end - start).days // 2)


def describe_anchors(check: pd.DataFrame) -> str:
    """A Markdown bullet list of the published figures of an anchor check
    (:func:`analysis.simulation.panel.dau_anchor_check`), by provider, in words and with
    their published values (for a report's callout)."""
    lines = []
    kind_order = {"peak_day": 0, "ratio_of_means": 1, "level": 2, "upper_bound": 3,
                  "share_of_peak": 4, "new_users": 5, "installs_ratio": 6}
    counts = check["provider"].value_counts()
    providers = sorted(counts.index, key=lambda p: (-counts[p], p))  # most figures first
    for provider in providers:
        g = check[check["provider"] == provider]
        g = g.assign(_k=g["kind"].map(kind_order)).sort_values(["date", "_k"])
        items = []
        for r in g.itertuples(index=False):
            if r.kind == "peak_day":
                items.append(f"US DAU peaked on {r.date:%-d %B %Y}")
            elif r.kind == "level" and pd.Timestamp(r.end) > pd.Timestamp(r.date):
                items.append(f"US DAU about {r.published:,.0f} on a day about "
                             f"{approximate_day(r):%-d %B %Y} (the day itself approximate)")
            elif r.kind == "level":
                items.append(f"US DAU about {r.published:,.0f} on {r.date:%-d %B %Y}")
            elif r.kind == "upper_bound":
                items.append(f"US DAU under {r.published:,.0f} on {r.date:%-d %B %Y}")
            elif r.kind == "share_of_peak":
                items.append(f"about {100 * r.published:.0f} % of the peak on "
                             f"{r.date:%-d %B %Y}")
            elif r.kind == "ratio_of_means":
                items.append(f"mean DAU over {date_span(r.date, r.end)} about "
                             f"{100 * abs(r.published - 1):.0f} % "
                             f"{'below' if r.published < 1 else 'above'} "
                             f"{date_span(r.ref_start, r.ref_end)}")
            elif r.kind == "new_users":
                items.append(f"about {r.published:,.0f} new users over "
                             f"{date_span(r.date, r.end)} in all markets (at most that many "
                             "in the US)")
            elif r.kind == "installs_ratio":
                items.append(f"US downloads over {date_span(r.date, r.end)} more than "
                             f"{r.published:g}x those of {date_span(r.ref_start, r.ref_end)}")
        name = "No measurement provider (press report)" if provider == "none" else provider
        lines.append(f"- **{name}**: " + "; ".join(items) + ".")
    return "\n".join(lines)


def plot_dau_check(dau: pd.Series, check: pd.DataFrame, ax=None, *,
                   expected: pd.DataFrame | None = None):
    """A panel's DAU at full scale (``dau``, by date:
    :attr:`analysis.simulation.panel.Panel.scaled_dau`) with the published anchors it is
    calibrated to (``check``, :func:`analysis.simulation.panel.dau_anchor_check`):
    levels as points, bounds as open points, the peak implied by a share of the peak as
    a star on the published peak day; each level's vertical bar is the interval the
    hedged figure stands for. Figures about new users are not DAU and are not drawn.

    ``expected`` an optional ``date, dau`` frame (the model's expected DAU at scale 1).
    Returns the axes.
    """
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    ax = axes_or_new(ax)
    ax.plot(pd.DatetimeIndex(dau.index), dau.to_numpy(float), color="#444444", lw=1.2,
            label="simulated panel DAU (scaled up)")
    if expected is not None:
        ax.plot(pd.to_datetime(expected["date"]), expected["dau"], color="#999999", lw=1,
                ls="--", label="expected DAU of the simulation")
    peak_day = check.loc[check["kind"] == "peak_day", "date"]
    for r in check.itertuples(index=False):
        colour = PROVIDER_COLOURS.get(r.provider, "#333333")
        if r.kind == "level":
            window = pd.Timestamp(r.end) > pd.Timestamp(r.date)  # an approximate day
            day = approximate_day(r) if window else r.date
            xerr = ([[day - pd.Timestamp(r.date)], [pd.Timestamp(r.end) - day]] if window
                    else None)
            ax.errorbar([day], [r.published], yerr=[[r.published - r.low],
                                                     [r.high - r.published]], xerr=xerr,
                        fmt="o", color=colour, ms=6, capsize=3, zorder=4,
                        label=f"{r.provider}: level (interval"
                              + ("; day approximate)" if window else ")"))
        elif r.kind == "upper_bound":
            ax.scatter([r.date], [r.published], facecolors="none", edgecolors=colour, s=45,
                       zorder=4, label=f"{r.provider}: upper bound")
        elif r.kind == "share_of_peak" and len(peak_day):
            level = check[(check["kind"] == "level") & (check["date"] == r.date)
                          & (check["provider"] == r.provider)]
            if len(level):
                lv = level.iloc[0]
                mid = float(lv["published"]) / r.published
                lo, hi = float(lv["low"]) / r.high, float(lv["high"]) / r.low
                ax.errorbar([peak_day.iloc[0]], [mid], yerr=[[mid - lo], [hi - mid]],
                            fmt="*", ms=12, color=colour, capsize=3, zorder=4,
                            label=f"{r.provider}: implied peak (level / share)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:.1f} M"))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("US daily active users")
    ax.set_xlabel("")
    handles, labels = ax.get_legend_handles_labels()
    seen = dict(zip(labels, handles, strict=True))
    # right, below the "simulated" stamp: after the peak the curve stays low
    ax.legend(seen.values(), seen.keys(), fontsize=8, loc="upper right",
              bbox_to_anchor=(1.0, 0.9))
    return ax


# ------------------------------------------------------------------ observed sources


def source_table(log) -> pd.DataFrame:
    """An observed log's files (:class:`analysis.data.events.EventLog`) with their
    SHA-256, rows and days (the results table ``source``; the provenance appendix lists
    it)."""
    if log.kind == "spark":  # a table or path of a Spark session: rows stay in Spark
        return pd.DataFrame({"path": list(log.paths), "sha256": "not computed (Spark source)",
                             "kind": "spark", "table": "", "rows": log.n_rows,
                             "first_day": str(log.first_day), "last_day": str(log.last_day)})
    return pd.DataFrame({"path": [relative(p) for p in log.paths],
                         "sha256": [log.sha256[p] for p in log.paths],
                         "kind": log.kind, "table": log.table or "",
                         "rows": log.n_rows, "first_day": str(log.first_day),
                         "last_day": str(log.last_day)})


def describe_source(log) -> str:
    """A sentence naming an observed log: file(s), checksum, rows, days, column mapping."""
    if log.kind == "spark":
        return (
            f"The data are **observed**: the Spark source `{log.source}` (read in the Spark "
            f"session, so no checksum is taken), {log.n_rows:,} rows from "
            f"{log.first_day:%-d %B %Y} to {log.last_day:%-d %B %Y}, user column "
            f"`{log.user_column}`, time column `{log.time_column}`; the daily active users "
            "are counted by Spark.")
    files = (f"`{Path(log.paths[0]).name}`" if len(log.paths) == 1
             else f"{len(log.paths)} files (`{Path(log.paths[0]).name}`, ...)")
    return (
        f"The data are **observed**: {files}{f', table `{log.table}`' if log.table else ''} "
        f"(SHA-256 `{log.checksum[:12]}`), {log.n_rows:,} rows from {log.first_day:%-d %B %Y} "
        f"to {log.last_day:%-d %B %Y}, user column `{log.user_column}`, time column "
        f"`{log.time_column}`"
        + (f" (format `{log.time_format}`)" if log.time_format else "")
        + (f", calendar days in {log.timezone}" if log.timezone else "")
        + "."
    )


# ------------------------------------------------- the BG/BB of a set of cohorts (01, 02)


@dataclass(frozen=True, eq=False)
class BGBBFit:
    """A BG/BB fitted to the arrivals' activity up to ``end`` (``model`` None if the fit
    failed; ``note`` says why, or names the warning of a fit that ended on a boundary)."""

    model: object | None
    patterns: pd.DataFrame
    end: pd.Timestamp
    note: str = ""

    @property
    def n_users(self) -> int:
        return int(self.patterns["weights"].sum())


def bgbb_patterns(events: pd.DataFrame, start, end, cohort_end) -> pd.DataFrame:
    """Per-user ``(frequency, recency, n_periods)`` of the users born (first active) from
    ``start`` to ``cohort_end``, over the days to ``end``, pooled into patterns
    (:func:`analysis.data.activity.activity_patterns`, daily periods)."""
    from analysis.data.activity import activity_patterns

    pats = activity_patterns(events[["user_id", "event_date"]], "day",
                             start=pd.Timestamp(start).date(), end=pd.Timestamp(end).date())
    return pats[pats["birth"] <= pd.Timestamp(cohort_end)].reset_index(drop=True)


def fit_bgbb(events: pd.DataFrame, start, end, cohort_end) -> BGBBFit:
    """:class:`BGBBFit` of the users born in ``start .. cohort_end``, seen until ``end``."""
    from analysis.models.bgbb import BetaGeometricBetaBinomial, BGBBFitError

    pats = bgbb_patterns(events, start, end, cohort_end)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = BetaGeometricBetaBinomial().fit(pats["frequency"], pats["recency"],
                                                    pats["n_periods"], pats["weights"])
        except (BGBBFitError, ValueError) as err:
            return BGBBFit(None, pats, pd.Timestamp(end), f"fit failed: {err}")
    note = "; ".join(dict.fromkeys(str(w.message).split("\n")[0] for w in caught))
    return BGBBFit(model, pats, pd.Timestamp(end), note)
